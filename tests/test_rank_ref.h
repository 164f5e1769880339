/* Simple reference implementations for the rank tests: qsort on
   (value, index) with the numpy/scipy conventions spelled out directly
   (NaN last, -0.0 == +0.0, ties by index), so the fast paths in
   vpar/rank.h are checked against independent code. */
#ifndef VPAR_TEST_RANK_REF_H
#define VPAR_TEST_RANK_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_item { double v; size_t i; uint64_t w; } ref_item;

static inline int ref_cmp(const void *a, const void *b) {
    const ref_item *x = (const ref_item *)a, *y = (const ref_item *)b;
    int xn = isnan(x->v), yn = isnan(y->v);
    if (xn != yn) return xn - yn;
    if (!xn && x->v < y->v) return -1;
    if (!xn && x->v > y->v) return 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static inline int ref_eq(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* ranks[i] for all i (method as vpar_rank_method, policy as
   vpar_rank_nan_policy), 1-based. */
static inline void ref_rankdata(const double *x, size_t n, double *ranks, int method, int policy) {
    size_t m = 0, nn = 0;
    for (size_t i = 0; i < n; i++) nn += isnan(x[i]) != 0;
    if (policy == 0 && nn) { for (size_t i = 0; i < n; i++) ranks[i] = NAN; return; }
    ref_item *it = (ref_item *)malloc((n ? n : 1) * sizeof *it);
    for (size_t i = 0; i < n; i++) {
        if (policy == 1 && isnan(x[i])) { ranks[i] = NAN; continue; }
        it[m].v = x[i]; it[m].i = i; it[m].w = 1; m++;
    }
    qsort(it, m, sizeof *it, ref_cmp);
    double dense = 0;
    for (size_t g = 0; g < m;) {
        size_t e = g;
        while (e < m && ref_eq(it[e].v, it[g].v)) e++;
        dense += 1;
        for (size_t j = g; j < e; j++) {
            double r;
            switch (method) {
            case 0: r = (double)(g + 1 + e) / 2.0; break;
            case 1: r = (double)(g + 1); break;
            case 2: r = (double)e; break;
            case 3: r = dense; break;
            default: r = (double)(j + 1); break;
            }
            ranks[it[j].i] = r;
        }
        g = e;
    }
    free(it);
}

static inline void ref_argsort(const double *x, size_t n, size_t *perm) {
    ref_item *it = (ref_item *)malloc((n ? n : 1) * sizeof *it);
    for (size_t i = 0; i < n; i++) { it[i].v = x[i]; it[i].i = i; it[i].w = 1; }
    qsort(it, n, sizeof *it, ref_cmp);
    for (size_t j = 0; j < n; j++) perm[j] = it[j].i;
    free(it);
}

/* The workflow's rank() over the entries of a rows x cols matrix chosen by
   layout (0 full, 1 symmetric = full ranking of the mirrored matrix, 2
   upper incl. diagonal). Writes out[] (doubles) for every entry: ranked
   ones get (r - 1) / max(r - 1) (NaN -> 0.5), others 0.5 (or x's own value for the
   untouched lower triangle in layout 2). Average ranks come from integer
   positions exactly as bottleneck does: sum of positions / count. */
static inline void ref_standardize(const double *x, size_t rows, size_t cols, int layout, double *out) {
    size_t n = rows * cols, m = 0;
    ref_item *it = (ref_item *)malloc((n ? n : 1) * sizeof *it);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t i = r * cols + c;
            double v = layout == 1 && c < r ? x[c * cols + r] : x[i];
            out[i] = layout == 2 && c < r ? x[i] : 0.5;
            if (layout == 2 && c < r) continue;
            if (!isfinite(v)) continue;
            it[m].v = v; it[m].i = i; it[m].w = 1; m++;
        }
    qsort(it, m, sizeof *it, ref_cmp);
    double *r0 = (double *)malloc((m ? m : 1) * sizeof *r0);
    for (size_t g = 0; g < m;) {
        size_t e = g;
        double sum = 0;
        while (e < m && it[e].v == it[g].v) { sum += (double)e; e++; }
        for (size_t j = g; j < e; j++) r0[j] = sum / (double)(e - g);
        g = e;
    }
    double mx = 0;
    for (size_t j = 0; j < m; j++) mx = r0[j] > mx ? r0[j] : mx;
    /* the workflow then turns every NaN into 0.5: with a single ranked
       entry 0 / 0 = NaN becomes 0.5 too */
    for (size_t j = 0; j < m; j++) {
        double v = r0[j] / mx;
        out[it[j].i] = isnan(v) ? 0.5 : v;
    }
    free(r0);
    free(it);
}

/* xorshift64* */
static inline uint64_t ref_rng(uint64_t *s) {
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Test data of several flavours: 0 heavy ties with NaN/inf/-0; 1 random bit
   patterns (all exponents, signs, NaN payloads); 2 a dense cluster plus far
   outliers (one huge bucket: forces the sub-level splits); 3 all equal. */
static inline void ref_fill(double *x, size_t n, int flavour, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ref_rng(&s);
        double v;
        switch (flavour) {
        case 0:
            switch (r % 23) {
            case 0: v = NAN; break;
            case 1: v = INFINITY; break;
            case 2: v = -INFINITY; break;
            case 3: v = -0.0; break;
            case 4: v = 0.0; break;
            default: v = (double)((int)((r >> 8) % 17) - 8) * 0.25;
            }
            break;
        case 1: {
            uint64_t b = ref_rng(&s);
            memcpy(&v, &b, 8);
            if (r % 7 == 0) v = (double)(float)v;    /* finite in float too, sometimes */
            if (r % 11 == 0) v = -v;
            break;
        }
        case 2:
            v = 1.0 + (double)((r >> 4) % 5000) * 1e-9;
            if (r % 97 == 0) v = 1e30;
            if (r % 89 == 0) v = -1e-30;
            if (r % 83 == 0) v = NAN;
            break;
        default:
            v = 3.5;
        }
        x[i] = v;
    }
}

#endif
