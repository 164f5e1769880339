/* Thread-pool benchmarks against GCC's OpenMP runtime (libgomp), both sides
   in the same process, alternating rounds, medians. Usage:
     bench_pool fib30_vs_omp_2t | empty_for64_vs_omp | for_compute_speedup_2t
                | scaling [max_threads]
   Environment: VPAR_BENCH_REPS (rounds, default 7). Each comparison prints
   one `BENCH name baseline=... baseline_s=... vpar_s=... ratio=...` line;
   context lines start with '#'. */
#define VPAR_IMPLEMENTATION
#include "vpar/pool.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench_util.h"

/* Lets the other runtime's spinning threads fall asleep between phases so
   that each side is measured on quiet cores. */
static void settle(void) {
    struct timespec ts = {0, 30 * 1000000L};
    nanosleep(&ts, NULL);
}


static int reps(void) {
    const char *e = getenv("VPAR_BENCH_REPS");
    int r = e ? atoi(e) : 0;
    return r > 0 ? r : 9;
}

static vpar_pool *make_pool(int n) {
    vpar_pool *p = NULL;
    vpar_pool_desc d = {n, 0};
    if (vpar_pool_create(&p, &d) != VPAR_OK) {
        fprintf(stderr, "bench_pool: %s\n", vpar_last_error());
        exit(1);
    }
    return p;
}

static void line(const char *name, const char *what, double b, double v) {
    printf("BENCH %s baseline=%s baseline_s=%.6g vpar_s=%.6g ratio=%.3f\n", name, what, b, v,
           b / v);
    fflush(stdout);
}

/* ---- fib(30), one spawn per call ------------------------------------------ */

__attribute__((noinline, noipa)) static long fib_seq(int n) {
    return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

static long fib_omp(int n) {
    if (n < 2) return n;
    long x, y;
#pragma omp task shared(x) firstprivate(n)
    x = fib_omp(n - 1);
    y = fib_omp(n - 2);
#pragma omp taskwait
    return x + y;
}

typedef struct fib_arg { int n; long r; } fib_arg;
static void fib_vpar(void *u, int tid) {
    fib_arg *a = (fib_arg *)u;
    if (a->n < 2) { a->r = a->n; return; }
    fib_arg x = {a->n - 1, 0}, y = {a->n - 2, 0};
    vpar_task t;
    vpar_spawn(&t, fib_vpar, &x);
    fib_vpar(&y, tid);
    vpar_sync(&t);
    a->r = x.r + y.r;
}

static int bench_fib(void) {
    const int n = 30, R = reps();
    vpar_pool *pool = make_pool(2);
    double *to = malloc(sizeof(double) * (size_t)R), *tv = malloc(sizeof(double) * (size_t)R),
           *ts = malloc(sizeof(double) * (size_t)R);
    long expect = fib_seq(n);
    for (int r = 0; r < R; r++) {
        double t0 = bench_now();
        long res = fib_seq(n);
        ts[r] = bench_now() - t0;
        if (res != expect) return 1;
        settle();
        t0 = bench_now();
#pragma omp parallel num_threads(2)
#pragma omp single
        res = fib_omp(n);
        to[r] = bench_now() - t0;
        if (res != expect) return 1;
        settle();
        fib_arg a = {n, 0};
        t0 = bench_now();
        vpar_pool_run(pool, fib_vpar, &a);
        tv[r] = bench_now() - t0;
        if (a.r != expect) { fprintf(stderr, "fib: wrong result\n"); return 1; }
        settle();
    }
    double mo = bench_median(to, R), mv = bench_median(tv, R), ms = bench_median(ts, R);
    line("fib30_vs_omp_2t", "libgomp_tasks_2t", mo, mv);
    printf("# fib30: sequential %.4f s, vpar 2t %.4f s = %.2fx the sequential time "
           "(target <= 10x); libgomp tasks %.4f s\n", ms, mv, mv / ms, mo);
    vpar_pool_destroy(pool);
    free(to); free(tv); free(ts);
    return 0;
}

/* ---- empty parallel_for of 64 iterations ------------------------------------ */

__attribute__((noinline)) static void empty_body(void *u, size_t b, size_t e, int tid) {
    (void)tid;
    __asm__ __volatile__("" : : "r"(u), "r"(b), "r"(e) : "memory");
}

static int bench_empty(void) {
    const int R = reps(), K = 20000, T = 2;
    vpar_pool *pool = make_pool(T);
    double *to = malloc(sizeof(double) * (size_t)R), *tv = malloc(sizeof(double) * (size_t)R);
    for (int r = 0; r < R; r++) {
        double t0 = bench_now();
        for (int k = 0; k < K; k++) {
#pragma omp parallel for num_threads(T)
            for (int i = 0; i < 64; i++) empty_body(NULL, (size_t)i, (size_t)i + 1, 0);
        }
        to[r] = (bench_now() - t0) / K;
        settle();
        t0 = bench_now();
        for (int k = 0; k < K; k++) vpar_parallel_for(pool, 0, 64, 0, empty_body, NULL);
        tv[r] = (bench_now() - t0) / K;
        settle();
    }
    double mo = bench_median(to, R), mv = bench_median(tv, R);
    line("empty_for64_vs_omp", "libgomp_parallel_for_2t", mo, mv);
    printf("# empty_for64: per call libgomp %.3f us, vpar %.3f us on %d threads "
           "(target: vpar <= 2x libgomp, ratio >= 0.5)\n", mo * 1e6, mv * 1e6, T);
    vpar_pool_destroy(pool);
    free(to); free(tv);
    return 0;
}

/* ---- compute-bound loop, 1 vs 2 threads -------------------------------------- */

#define COMPUTE_N 1000000
#define COMPUTE_STEPS 50   /* 2 flops each: 1e8 flops in total */

static void compute_body(void *u, size_t b, size_t e, int tid) {
    (void)tid;
    double *out = (double *)u;
    for (size_t i = b; i < e; i++) {
        double v = (double)i * 1e-6, a = 0.999999 - (double)(i & 7) * 1e-9;
        for (int k = 0; k < COMPUTE_STEPS; k++) v = v * a + 0.5;
        out[i] = v;
    }
}

static double run_compute(vpar_pool *pool, double *out) {
    double t0 = bench_now();
    vpar_parallel_for(pool, 0, COMPUTE_N, 0, compute_body, out);
    return bench_now() - t0;
}

static int bench_compute(void) {
    const int R = reps();
    vpar_pool *p1 = make_pool(1), *p2 = make_pool(2);
    double *o1 = malloc(sizeof(double) * COMPUTE_N), *o2 = malloc(sizeof(double) * COMPUTE_N);
    double *t1 = malloc(sizeof(double) * (size_t)R), *t2 = malloc(sizeof(double) * (size_t)R);
    run_compute(p2, o2); /* warm the pages */
    run_compute(p1, o1);
    for (int r = 0; r < R; r++) { /* alternate the order: frequency drift hits both */
        if (r % 2) {
            t1[r] = run_compute(p1, o1);
            t2[r] = run_compute(p2, o2);
        } else {
            t2[r] = run_compute(p2, o2);
            t1[r] = run_compute(p1, o1);
        }
    }
    if (memcmp(o1, o2, sizeof(double) * COMPUTE_N) != 0) {
        fprintf(stderr, "for_compute: results differ between 1 and 2 threads\n");
        return 1;
    }
    double m1 = bench_median(t1, R), m2 = bench_median(t2, R);
    line("for_compute_speedup_2t", "vpar_1_thread", m1, m2);
    printf("# for_compute: 1e8 flops, 1 thread %.4f s (%.2f Gflop/s), 2 threads %.4f s, "
           "speed-up %.2fx (target >= 1.85)\n", m1, 1e8 / m1 * 1e-9, m2, m1 / m2);
    vpar_pool_destroy(p1);
    vpar_pool_destroy(p2);
    free(o1); free(o2); free(t1); free(t2);
    return 0;
}

/* ---- scaling curve (not a BENCH line) ------------------------------------------ */

static int bench_scaling(int maxt) {
    const int R = reps();
    double *o = malloc(sizeof(double) * COMPUTE_N), *t = malloc(sizeof(double) * (size_t)R);
    double base = 0, fbase = 0;
    printf("# scaling: threads  for_compute_s  speedup  fib30_s  speedup\n");
    for (int n = 1; n <= maxt; n++) {
        vpar_pool *p = make_pool(n);
        run_compute(p, o);
        for (int r = 0; r < R; r++) t[r] = run_compute(p, o);
        double m = bench_median(t, R);
        for (int r = 0; r < R; r++) {
            fib_arg a = {30, 0};
            double t0 = bench_now();
            vpar_pool_run(p, fib_vpar, &a);
            t[r] = bench_now() - t0;
        }
        double f = bench_median(t, R);
        if (n == 1) { base = m; fbase = f; }
        printf("# scaling: %2d  %.5f  %.2f  %.5f  %.2f\n", n, m, base / m, f, fbase / f);
        vpar_pool_destroy(p);
    }
    free(o); free(t);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: bench_pool fib30_vs_omp_2t | empty_for64_vs_omp | "
                "for_compute_speedup_2t | scaling [max_threads]\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "fib30_vs_omp_2t")) return bench_fib();
    if (!strcmp(argv[1], "empty_for64_vs_omp")) return bench_empty();
    if (!strcmp(argv[1], "for_compute_speedup_2t")) return bench_compute();
    if (!strcmp(argv[1], "scaling")) return bench_scaling(argc > 2 ? atoi(argv[2]) : 16);
    fprintf(stderr, "bench_pool: unknown benchmark '%s' (try --help)\n", argv[1]);
    return 2;
}
