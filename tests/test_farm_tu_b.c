/* tests/test_farm_tu_b.c — see test_farm_tu_a.c. Runs a map with a NULL
   desc (all defaults) and checks the results on rank 0. */
#define VPAR_FARM_IMPLEMENTATION
#include "vpar/farm.h"

#include <stdio.h>

static int plus_one(void *user, size_t i, void *r) {
    (void)user;
    *(size_t *)r = i + 1;
    return 0;
}

int main(int argc, char **argv) {
    int provided, rank, bad = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    size_t out[100];
    vpar_farm_status st[100];
    vpar_status s = vpar_farm_map(100, plus_one, NULL, rank ? NULL : out, sizeof out[0],
                                  rank ? NULL : st, NULL);
    if (s != VPAR_OK) { fprintf(stderr, "FAIL: %s\n", vpar_last_error()); bad = 1; }
    for (size_t i = 0; rank == 0 && !bad && i < 100; i++)
        if (out[i] != i + 1 || st[i].state != VPAR_TASK_OK) {
            fprintf(stderr, "FAIL: task %zu: %zu state %d\n", i, out[i], st[i].state);
            bad = 1;
        }
    MPI_Finalize();
    return bad;
}
