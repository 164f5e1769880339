/* vpar-parallel: the running median of the successful jobs' runtimes, for
   --timeout N% (two heaps; O(log n) per value). Pure. */
#ifndef PAR_MEDIAN_H
#define PAR_MEDIAN_H

#include <stddef.h>

typedef struct par_heap {
    double *v;
    size_t n, cap;
    int max; /* 1: max-heap */
} par_heap;

typedef struct par_median {
    par_heap lo, hi; /* lo: max-heap of the lower half; hi: min-heap */
} par_median;

void par_median_init(par_median *m);
void par_median_add(par_median *m, double x);
/* 1 and *out = the median (the mean of the middle two for an even count),
   or 0 when no value was added. */
int par_median_get(const par_median *m, double *out);
void par_median_free(par_median *m);

#endif
