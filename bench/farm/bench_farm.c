/* bench/farm/bench_farm.c — per-task cost of the MPI task farm.
   mpirun -np K bench_farm N REPS THREADS DISPATCHER_ONLY
   Runs vpar_farm_map over N trivial tasks (result = 2 i) REPS times after
   one warm-up and prints, on rank 0, the median seconds per task.
   mpirun -np K bench_farm idle SECONDS TASKS_PER_RANK
   The MPI thread's cost while tasks are long: each task burns SECONDS of
   its own thread's CPU time (one thread per rank); rank 0 prints, for
   every rank, the CPU time its MPI thread (the one in vpar_farm_map) used
   during the map, as a share of the map's wall time, and its voluntary
   context switches (wake-ups) per second. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar/farm.h"
#include "../bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int burn(void *user, size_t i, void *out) {
    double until = thread_cpu() + *(const double *)user;
    volatile double x = (double)i;
    while (thread_cpu() < until)
        for (int k = 0; k < 1000; k++) x = x * 1.0000001 + 1e-9;
    *(double *)out = (double)i;
    return 0;
}

static int idle_mode(int argc, char **argv, int rank, int size) {
    double secs = argc > 2 ? atof(argv[2]) : 0.5;
    size_t n = (size_t)(argc > 3 ? atoi(argv[3]) : 4) * (size_t)size;
    vpar_farm_desc d = {0};
    d.threads = 1;
    d.prefetch = -1;
    double *out = rank == 0 ? malloc(n * sizeof *out) : NULL;
    struct rusage r0, r1;
    MPI_Barrier(MPI_COMM_WORLD);
    getrusage(RUSAGE_THREAD, &r0);
    double c0 = thread_cpu(), t0 = bench_now();
    vpar_status s = vpar_farm_map(n, burn, &secs, out, sizeof *out, NULL, &d);
    double wall = bench_now() - t0, cpu = thread_cpu() - c0;
    getrusage(RUSAGE_THREAD, &r1);
    if (s != VPAR_OK) {
        fprintf(stderr, "bench_farm: %s\n", vpar_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double mine[3] = {cpu, wall, (double)(r1.ru_nvcsw - r0.ru_nvcsw)};
    double *all = rank == 0 ? malloc(3 * (size_t)size * sizeof *all) : NULL;
    MPI_Gather(mine, 3, MPI_DOUBLE, all, 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        for (int r = 0; r < size; r++)
            printf("rank %d: MPI thread %.4f s CPU in a %.3f s map (%.2f%%), %.0f wake-ups/s "
                   "(%zu tasks of %g s CPU, 1 thread per rank)\n", r, all[3 * r],
                   all[3 * r + 1], 100 * all[3 * r] / all[3 * r + 1],
                   all[3 * r + 2] / all[3 * r + 1], n, secs);
        for (size_t i = 0; i < n; i++)
            if (out[i] != (double)i) { fprintf(stderr, "bench_farm: wrong result\n"); return 1; }
    }
    free(all); free(out);
    return 0;
}

static int trivial(void *user, size_t i, void *out) {
    (void)user;
    *(long *)out = 2 * (long)i;
    return 0;
}

int main(int argc, char **argv) {
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (argc > 1 && strcmp(argv[1], "idle") == 0) {
        int size, rc;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        rc = idle_mode(argc, argv, rank, size);
        MPI_Finalize();
        return rc;
    }
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
