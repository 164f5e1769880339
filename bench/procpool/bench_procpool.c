/* bench_procpool — vpar side of the procpool benchmarks.

   bench_procpool task_overhead [ntasks] [reps] [workers] [chunk]
       median seconds per trivial task of vpar_procpool_map; every result
       is checked (out[i] == i*i) and the line carries the sum of the
       results, which the runner compares with the Python baseline's
   bench_procpool startup [reps] [workers]
       median seconds of vpar_procpool_create + vpar_procpool_destroy; an
       untimed first pool is checked to have `workers` live worker processes
   Prints one line: "<median seconds> <checksum or live workers>". */
#include <signal.h>
#define VPAR_IMPLEMENTATION
#include "vpar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench_util.h"


/* The same trivial work as the Python baseline's `def f(x): return x * x`. */
static int square(void *user, size_t i, void *result) {
    (void)user;
    *(long long *)result = (long long)i * (long long)i;
    return 0;
}

static long arg(int argc, char **argv, int k, long def) {
    return argc > k ? strtol(argv[k], NULL, 10) : def;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: %s task_overhead [ntasks reps workers chunk] | startup [reps workers]\n", argv[0]);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "task_overhead")) {
        size_t n = (size_t)arg(argc, argv, 2, 200000);
        int reps = (int)arg(argc, argv, 3, 7);
        vpar_procpool_desc d = {0};
        d.workers = (int)arg(argc, argv, 4, 2);
        d.chunk = (size_t)arg(argc, argv, 5, 1);
        vpar_procpool *pp;
        if (vpar_procpool_create(&pp, &d) != VPAR_OK) {
            fprintf(stderr, "bench_procpool: %s\n", vpar_last_error());
            return 1;
        }
        long long *out = (long long *)malloc(n * sizeof *out);
        double t[64];
        if (reps > 64) reps = 64;
        /* Warm-up: grows the shared region and faults its pages in. */
        vpar_procpool_map(pp, n, square, NULL, out, sizeof *out, NULL);
        unsigned long long sum = 0;
        for (int r = 0; r < reps; r++) {
            memset(out, 0xff, n * sizeof *out);  /* stale results cannot pass */
            double t0 = bench_now();
            vpar_status s = vpar_procpool_map(pp, n, square, NULL, out, sizeof *out, NULL);
            t[r] = (bench_now() - t0) / (double)n;
            if (s != VPAR_OK) {
                fprintf(stderr, "bench_procpool: map failed: %s\n", vpar_last_error());
                return 1;
            }
            sum = 0;
            for (size_t i = 0; i < n; i++) {
                if (out[i] != (long long)i * (long long)i) {
                    fprintf(stderr, "bench_procpool: wrong result at %zu: %lld\n", i, out[i]);
                    return 1;
                }
                sum += (unsigned long long)out[i];
            }
        }
        printf("%.6g %llu\n", bench_median(t, reps), sum);
        free(out);
        vpar_procpool_destroy(pp);
        return 0;
    }
    if (!strcmp(argv[1], "startup")) {
        int reps = (int)arg(argc, argv, 2, 21);
        vpar_procpool_desc d = {0};
        d.workers = (int)arg(argc, argv, 3, 2);
        double t[256];
        if (reps > 256) reps = 256;
        /* Untimed check: the pool really starts `workers` live processes. */
        int live = 0;
        {
            vpar_procpool *pp;
            if (vpar_procpool_create(&pp, &d) != VPAR_OK) {
                fprintf(stderr, "bench_procpool: %s\n", vpar_last_error());
                return 1;
            }
            for (int w = 0; w < vpar_procpool_size(pp); w++) {
                pid_t pid = vpar_procpool_worker_pid(pp, w);
                live += pid > 0 && kill(pid, 0) == 0;
            }
            vpar_procpool_destroy(pp);
        }
        for (int r = 0; r < reps; r++) {
            double t0 = bench_now();
            vpar_procpool *pp;
            if (vpar_procpool_create(&pp, &d) != VPAR_OK) {
                fprintf(stderr, "bench_procpool: %s\n", vpar_last_error());
                return 1;
            }
            vpar_procpool_destroy(pp);
            t[r] = bench_now() - t0;
        }
        printf("%.6g %d\n", bench_median(t, reps), live);
        return 0;
    }
    fprintf(stderr, "bench_procpool: unknown benchmark '%s' (task_overhead, startup)\n", argv[1]);
    return 2;
}
