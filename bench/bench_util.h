/* bench_util.h — the timing helpers every bench program uses (one copy).
   Included by bench/<component>/bench_*.c as "../bench_util.h". */
#ifndef VPAR_BENCH_UTIL_H
#define VPAR_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Monotonic wall clock in seconds. */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n >= 1); sorts v in place. */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
