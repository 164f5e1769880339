/* bench/farm/bench_farm.c — per-task cost of the MPI task farm.
   mpirun -np K bench_farm N REPS THREADS DISPATCHER_ONLY
   Runs vpar_farm_map over N trivial tasks (result = 2 i) REPS times after
   one warm-up and prints, on rank 0, the median seconds per task. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar/farm.h"
#include "../bench_util.h"

#include <stdio.h>
#include <stdlib.h>

static int trivial(void *user, size_t i, void *out) {
    (void)user;
    *(long *)out = 2 * (long)i;
    return 0;
}

int main(int argc, char **argv) {
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 10000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    vpar_farm_desc d = {0};
    d.threads = argc > 3 ? atoi(argv[3]) : 1;
    d.dispatcher_only = argc > 4 ? atoi(argv[4]) : 0;
    long *out = rank == 0 ? malloc(n * sizeof *out) : NULL;
    double *t = malloc((size_t)(reps + 1) * sizeof *t);
    for (int r = 0; r <= reps; r++) {     /* rep 0: warm-up */
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = bench_now();
        vpar_status s = vpar_farm_map(n, trivial, NULL, out, sizeof *out, NULL, &d);
        t[r] = (bench_now() - t0) / (double)n;
        if (s != VPAR_OK) {
            if (rank == 0) fprintf(stderr, "bench_farm: %s\n", vpar_last_error());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (rank == 0)
            for (size_t i = 0; i < n; i++)
                if (out[i] != 2 * (long)i) {
                    fprintf(stderr, "bench_farm: wrong result %zu\n", i);
                    MPI_Abort(MPI_COMM_WORLD, 1);
                }
    }
    if (rank == 0) printf("%.6g\n", bench_median(t + 1, reps));
    free(t); free(out);
    MPI_Finalize();
    return 0;
}
