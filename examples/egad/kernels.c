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


/* ---- counting through a bucket table (larger k) ----

   The same sum as vpar__egad_count_small, in O(len + k) instead of
   O(len x k) or O(len log k), and without sorting h first (the table
   sorts it by buckets). Held-out scores are positive doubles, whose bit
   patterns order like their values; the bit-pattern range
   [bits(min h), bits(max h)] is cut into nb buckets (a power of two, ~16k:
   equal slices of each binade, so the buckets follow the scores' long
   upper tail as well as their dense middle), bucket(x) = (bits(x) -
   bits(h[0])) >> sh. A threshold in a lower bucket than x is below x, one
   in a higher bucket above it: only the thresholds in x's own bucket need
   a comparison, and most buckets hold none or one. The table keeps, per
   bucket, the number of thresholds below it (lo) and its first threshold
   (t, +inf when none); a bucket holding two or more is marked in lo's top
   bit and its thresholds, sorted into hs by bucket (an insertion sort
   within the bucket), compared one by one. Exact: the result equals
   vpar__egad_count_small's for every input (NaN candidates count 0,
   candidates below h[0] 2k). On x86-64 the AVX2 loop below runs when
   simd.h's active path has AVX2 (avx2, avx512); the scalar loop is its
   specification (tests/test_egad.c compares both with the plain count). */

#define VPAR__EGAD_CT_MULTI 0x80000000u
#define VPAR__EGAD_CT_MAX_BUCKETS ((size_t)1 << 15)

size_t vpar__egad_count_table_buckets(size_t k) {
    size_t b = 64;
    while (b < 16 * k && b < VPAR__EGAD_CT_MAX_BUCKETS) b <<= 1;
    return b;
}

int vpar__egad_count_table_ok(const double *h, size_t k) {
    if (k < 2 || k >= (size_t)(VPAR__EGAD_CT_MULTI / 2)) return 0;
    int ok = 1;
    for (size_t q = 0; q < k; q++) ok &= h[q] > 0 && h[q] < INFINITY; /* false for NaN */
    return ok;
}

static inline uint64_t vpar__egad_bits(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* Thresholds h[lo & ~MULTI ..] of x's bucket that are <= x: the count of
   candidate x without the table's one-threshold shortcut. */
static inline long long vpar__egad_ct_slow(const double *h, size_t k, uint32_t l, double x) {
    long long c = 2 * (long long)k - 2 * (long long)(l & ~VPAR__EGAD_CT_MULTI);
    for (size_t q = l & ~VPAR__EGAD_CT_MULTI; q < k && h[q] <= x; q++) c -= 1 + (h[q] < x);
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(VPAR_NO_SIMD) && \
    !defined(VPAR_NO_AVX2)
#  include <immintrin.h>
#  define VPAR__EGAD_CT_AVX2 1
/* Four candidates per step: two gathers from the table, compares as -1
   masks; a lane whose bucket holds several thresholds is redone with the
   scalar rule. Returns the sum over v[0 .. len / 4 * 4). */
__attribute__((target("avx2"))) static long long
vpar__egad_ct_avx2(const double *v, size_t len, const double *h, size_t k, const uint32_t *lo,
                   const double *t, uint64_t b0, int sh) {
    const __m256d vh0 = _mm256_set1_pd(h[0]), vhk = _mm256_set1_pd(h[k - 1]);
    const __m256i vb0 = _mm256_set1_epi64x((long long)b0), v2k = _mm256_set1_epi64x(2 * (long long)k);
    const __m128i vsh = _mm_cvtsi32_si128(sh), low31 = _mm_set1_epi32(0x7fffffff);
    __m256i acc = _mm256_setzero_si256();
    for (size_t i = 0; i + 4 <= len; i += 4) {
        __m256d x = _mm256_loadu_pd(v + i);
        __m256d below = _mm256_cmp_pd(x, vh0, _CMP_LT_OQ);
        __m256d inside = _mm256_and_pd(_mm256_cmp_pd(x, vh0, _CMP_GE_OQ), _mm256_cmp_pd(x, vhk, _CMP_LE_OQ));
        /* outside lanes read bucket 0 (in bounds), then are masked */
        __m256i idx = _mm256_srl_epi64(_mm256_sub_epi64(_mm256_castpd_si256(x), vb0), vsh);
        idx = _mm256_and_si256(idx, _mm256_castpd_si256(inside));
        __m128i l = _mm256_i64gather_epi32((const int *)lo, idx, 4);
        __m256d tv = _mm256_i64gather_pd(t, idx, 8);
        __m256i l64 = _mm256_cvtepu32_epi64(_mm_and_si128(l, low31));
        __m256i c = _mm256_sub_epi64(v2k, _mm256_add_epi64(l64, l64));
        c = _mm256_add_epi64(c, _mm256_castpd_si256(_mm256_cmp_pd(tv, x, _CMP_LE_OQ)));
        c = _mm256_add_epi64(c, _mm256_castpd_si256(_mm256_cmp_pd(tv, x, _CMP_LT_OQ)));
        c = _mm256_and_si256(c, _mm256_castpd_si256(inside));
        c = _mm256_or_si256(c, _mm256_and_si256(v2k, _mm256_castpd_si256(below)));
        int multi = _mm_movemask_ps(_mm_castsi128_ps(l)) & _mm256_movemask_pd(inside);
        if (multi) {
            long long cc[4];
            uint32_t ll[4];
            _mm256_storeu_si256((__m256i *)(void *)cc, c);
            _mm_storeu_si128((__m128i *)(void *)ll, l);
            for (int z = 0; z < 4; z++)
                if (multi >> z & 1) cc[z] = vpar__egad_ct_slow(h, k, ll[z], v[i + (size_t)z]);
            c = _mm256_loadu_si256((const __m256i *)(const void *)cc);
        }
        acc = _mm256_add_epi64(acc, c);
    }
    long long a[4];
    _mm256_storeu_si256((__m256i *)(void *)a, acc);
    return a[0] + a[1] + a[2] + a[3];
}
#endif

long long vpar__egad_count_table(const double *restrict v, size_t len, const double *hin, size_t k,
                                 uint32_t *restrict lo, double *restrict t, double *restrict h) {
    const size_t nb = vpar__egad_count_table_buckets(k);
    double h0 = hin[0], hk = hin[0];
    for (size_t q = 1; q < k; q++) {
        h0 = hin[q] < h0 ? hin[q] : h0;
        hk = hin[q] > hk ? hin[q] : hk;
    }
    const uint64_t b0 = vpar__egad_bits(h0), bk = vpar__egad_bits(hk);
    int sh = 0;
    while (((bk - b0) >> sh) >= nb) sh++;
    /* counting sort of the thresholds by bucket into h: lo holds the
       counts, then the starts, then (after the scatter) the ends */
    memset(lo, 0, nb * sizeof *lo);
    for (size_t q = 0; q < k; q++) lo[(vpar__egad_bits(hin[q]) - b0) >> sh]++;
    uint32_t pos = 0;
    for (size_t b = 0; b < nb; b++) {
        uint32_t c = lo[b];
        lo[b] = pos;
        pos += c;
    }
    for (size_t q = 0; q < k; q++) h[lo[(vpar__egad_bits(hin[q]) - b0) >> sh]++] = hin[q];
    /* from the top down (bucket b - 1's end is b's start): sort each
       bucket, note its first threshold, lo = its start | several */
    for (size_t b = nb; b-- > 0;) {
        uint32_t s0 = b ? lo[b - 1] : 0, e = lo[b];
        for (uint32_t i = s0 + 1; i < e; i++) {
            double x = h[i];
            uint32_t j = i;
            for (; j > s0 && h[j - 1] > x; j--) h[j] = h[j - 1];
            h[j] = x;
        }
        t[b] = e > s0 ? h[s0] : INFINITY;
        lo[b] = s0 | (e - s0 > 1 ? VPAR__EGAD_CT_MULTI : 0u);
    }
    const long long twok = 2 * (long long)k;
    long long total = 0;
    size_t i = 0;
#ifdef VPAR__EGAD_CT_AVX2
    vpar_simd_path path = vpar_simd_active();
    if (path == VPAR_SIMD_AVX2 || path == VPAR_SIMD_AVX512) {
        total = vpar__egad_ct_avx2(v, len, h, k, lo, t, b0, sh);
        i = len / 4 * 4;
    }
#endif
    for (; i < len; i++) {
        const double x = v[i];
        if (x < h0) { total += twok; continue; }
        if (!(x <= hk)) continue; /* above every threshold, or NaN */
        size_t b = (size_t)((vpar__egad_bits(x) - b0) >> sh);
        uint32_t l = lo[b];
        total += (l & VPAR__EGAD_CT_MULTI) ? vpar__egad_ct_slow(h, k, l, x)
                                           : twok - 2 * (long long)l - (t[b] <= x) - (t[b] < x);
    }
    return total;
}
