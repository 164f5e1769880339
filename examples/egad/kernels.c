/* examples/egad/kernels.c — the inner loops of vpar_egad_run (declared in
   egad_internal.h): row accumulation, the training scores, and the two
   ways of counting held-out scores above each candidate. */
#include "egad_internal.h"

#include <math.h>
#include <string.h>

/* acc[0..len) += row[0..len) in double with NaN/inf as 0 (the plain sums
   are simd.h's vpar_acc_f32_f64 / vpar_acc_f64). */
static void vpar__egad_add_clean(double *restrict acc, const void *row, vpar_dtype dt, size_t len) {
    for (size_t i = 0; i < len; i++) {
        double v = vpar__egad_wval(row, dt, i);
        if (isfinite(v)) acc[i] += v;
    }
}

/* acc[c - c0] += W[j, c] for c in [c0, c1), with W[j, j] taken as `one`
   (uint32 rank codes: simd.h's vpar_acc_u32_f64, exact). */
void vpar__egad_add_row(double *acc, const void *w, vpar_dtype dt, size_t n, size_t j,
                               size_t c0, size_t c1, int clean, double one) {
    size_t es = dt == VPAR_DTYPE_F64 ? 8 : 4;
    const char *row = (const char *)w + (j * n) * es;
    size_t cut[3] = {c0, c1, c1};
    int diag = j >= c0 && j < c1;
    if (diag) { cut[1] = j; cut[2] = j + 1; }
    size_t segs[2][2] = {{cut[0], cut[1]}, {cut[2], c1}};
    for (int s = 0; s < (diag ? 2 : 1); s++) {
        size_t b = segs[s][0], e = segs[s][1];
        if (e <= b) continue;
        if (clean) vpar__egad_add_clean(acc + (b - c0), row + b * es, dt, e - b);
        else if (dt == VPAR_DTYPE_F32) vpar_acc_f32_f64(acc + (b - c0), (const float *)row + b, e - b);
        else if (dt == VPAR__EGAD_DT_U32) vpar_acc_u32_f64(acc + (b - c0), (const uint32_t *)row + b, e - b);
        else vpar_acc_f64(acc + (b - c0), (const double *)row + b, e - b);
    }
    if (diag) acc[j - c0] += one;
}

/* The fold sums (rows added four at a time) are simd.h's
   vpar_acc_rows_f64 / vpar_acc_rows_f32_f64, behind its dispatch. The two
   kernels below are written with GCC/Clang vector extensions (gcc -O2
   does not vectorize the plain loops); on x86-64 GCC also builds an AVX2
   clone chosen at load time (define VPAR_NO_SIMD or VPAR_NO_AVX2 to keep
   the baseline only). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(VPAR_NO_SIMD)
#  define VPAR__EGAD_VEC 1
/* Unaligned vector loads/stores as plain expressions (no helper
   functions: passing 32-byte vectors by value would change the ABI without
   AVX). */
typedef double vpar__egad_d4 __attribute__((vector_size(32)));
typedef double vpar__egad_d4u __attribute__((vector_size(32), aligned(8), may_alias));
#  define vpar__egad_ld4d(p) (*(const vpar__egad_d4u *)(const void *)(p))
#  define vpar__egad_st4d(p, v) (*(vpar__egad_d4u *)(void *)(p) = (v))
#endif
/* No clones under sanitizers: an ifunc resolver runs before the sanitizer
   runtime is initialised (TSan crashes in it). */
#if defined(VPAR__EGAD_VEC) && defined(__x86_64__) && !defined(__clang__) && !defined(VPAR_NO_AVX2) && \
    defined(__GLIBC__) && !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#  define VPAR__EGAD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#  define VPAR__EGAD_CLONES
#endif

/* v[u] = |(T[u] - F[u]) / d[u]| */
VPAR__EGAD_CLONES
void vpar__egad_scores(double *restrict v, const double *restrict T, const double *restrict F,
                              const double *restrict d, size_t len) {
    size_t i = 0;
#ifdef VPAR__EGAD_VEC
    for (; i + 4 <= len; i += 4) {
        typedef unsigned long long vpar__egad_u4 __attribute__((vector_size(32)));
        const vpar__egad_u4 mask = {~(1ull << 63), ~(1ull << 63), ~(1ull << 63), ~(1ull << 63)};
        vpar__egad_d4 x = (vpar__egad_ld4d(T + i) - vpar__egad_ld4d(F + i)) / vpar__egad_ld4d(d + i);
        vpar__egad_st4d(v + i, (vpar__egad_d4)((vpar__egad_u4)x & mask)); /* fabs */
    }
#endif
    for (; i < len; i++) v[i] = fabs((T[i] - F[i]) / d[i]);
}

/* Sum over u of 2 x (values of h[0..k) above v[u]) + (values equal to it),
   for small k: k vector passes beat a search per candidate. */
/* Number of entries of sorted x[0..k) (k >= 1) that are < v: branch-free
   lower bound (the comparison outcome is unpredictable). */
static inline size_t vpar__egad_lower(const double *x, size_t k, double v) {
    const double *base = x;
    size_t len = k;
    while (len > 1) {
        size_t half = len >> 1;
        base = base[half] < v ? base + half : base;
        len -= half;
    }
    return (size_t)(base - x) + (*base < v);
}

VPAR__EGAD_CLONES
long long vpar__egad_count_small(const double *restrict v, size_t len, const double *h, size_t k) {
    long long total = 0;
    size_t q = 0;
#ifdef VPAR__EGAD_VEC
    typedef long long vpar__egad_l4 __attribute__((vector_size(32)));
    /* Four thresholds per pass over v; comparison masks are -1 for true. */
    for (; q + 4 <= k; q += 4) {
        const vpar__egad_d4 h0 = {h[q], h[q], h[q], h[q]}, h1 = {h[q + 1], h[q + 1], h[q + 1], h[q + 1]},
                            h2 = {h[q + 2], h[q + 2], h[q + 2], h[q + 2]},
                            h3 = {h[q + 3], h[q + 3], h[q + 3], h[q + 3]};
        vpar__egad_l4 a = {0, 0, 0, 0}, e = {0, 0, 0, 0};
        size_t i = 0;
        for (; i + 4 <= len; i += 4) {
            vpar__egad_d4 x = vpar__egad_ld4d(v + i);
            a += ((vpar__egad_l4)(x < h0) + (vpar__egad_l4)(x < h1)) + ((vpar__egad_l4)(x < h2) + (vpar__egad_l4)(x < h3));
            e += ((vpar__egad_l4)(x == h0) + (vpar__egad_l4)(x == h1)) + ((vpar__egad_l4)(x == h2) + (vpar__egad_l4)(x == h3));
        }
        long long lt = -(a[0] + a[1] + a[2] + a[3]), eq = -(e[0] + e[1] + e[2] + e[3]);
        for (; i < len; i++)
            for (int z = 0; z < 4; z++) {
                lt += v[i] < h[q + (size_t)z];
                eq += v[i] == h[q + (size_t)z];
            }
        total += 2 * lt + eq;
    }
#endif
    for (; q < k; q++) {
        const double hq = h[q];
        long long lt = 0, eq = 0;
        for (size_t i = 0; i < len; i++) {
            lt += v[i] < hq;
            eq += v[i] == hq;
        }
        total += 2 * lt + eq;
    }
    return total;
}

/* The same sum for larger k: a branch-free lower bound per candidate,
   eight candidates interleaved so that their dependency chains overlap. */
long long vpar__egad_count_search(const double *restrict v, size_t len, const double *h, size_t k) {
    long long total = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        const double *base[8];
        double x[8];
        for (int z = 0; z < 8; z++) { base[z] = h; x[z] = v[i + (size_t)z]; }
        size_t n = k;
        while (n > 1) {
            size_t half = n >> 1;
            for (int z = 0; z < 8; z++) base[z] = base[z][half] < x[z] ? base[z] + half : base[z];
            n -= half;
        }
        for (int z = 0; z < 8; z++) {
            size_t lt = (size_t)(base[z] - h) + (*base[z] < x[z]), le = lt;
            while (le < k && h[le] == x[z]) le++;
            total += (long long)(2 * (k - le) + (le - lt));
        }
    }
    for (; i < len; i++) {
        size_t lt = vpar__egad_lower(h, k, v[i]), le = lt;
        while (le < k && h[le] == v[i]) le++;
        total += (long long)(2 * (k - le) + (le - lt));
    }
    return total;
}

