/* vpar/simd.h — numpy/bottleneck-style reductions that run at memory speed.

   WHAT
     Whole-array reductions of float and double arrays (sum, mean, min, max,
     argmin, argmax, dot, sum of squares, var/std with ddof, count of finite
     values, and the NaN-skipping family nansum, nanmean, nanmin, nanmax,
     nanargmin, nanargmax, nanvar, nanstd, and the range of the values on
     each side of 0 that the ranker's first pass needs), and axis reductions of 2-D
     row-major arrays with a leading dimension (numpy axis=1: one value per
     row, the seed's rowSums; axis=0: one value per column, computed by
     streaming whole rows, never by walking down columns). Semantics follow
     numpy/bottleneck; docs/simd.md maps every numpy/bottleneck call to its
     vpar function.

     Four code paths: scalar (the specification, always compiled), AVX2+FMA,
     AVX-512 (F+DQ) and NEON (aarch64). One enum names them; one table per
     path holds its kernels; the table is chosen in one place: at compile
     time by the target (x86 vector paths are compiled with per-function
     `target` attributes, so a generic x86-64 binary still uses AVX2/AVX-512
     where the CPU has them) and, on x86, at run time by
     __builtin_cpu_supports. The choice is made once, race-free (a C11
     atomic pointer). VPAR_SIMD=scalar|avx2|avx512|neon|auto in the
     environment forces a path; one the CPU or the build lacks is an error.

   EXAMPLE
       #define VPAR_IMPLEMENTATION            // in exactly one .c file
       #include "vpar.h"

       if (vpar_simd_init() != VPAR_OK) {     // honours $VPAR_SIMD
           fprintf(stderr, "%s\n", vpar_last_error());
           return 2;
       }
       double total = vpar_sum_f64(x, n);                 // np.sum(x)
       double m;
       if (vpar_nanmax_f64(x, n, &m) != VPAR_OK) ...      // empty: error
       double rs[1000];                                   // a.sum(axis=1)
       vpar_reduce_axis_f64(VPAR_AXIS_SUM, 1, a, 1000, 1000, 1000, rs, NULL);

   RETURN CONVENTION
     A function returns its result directly when every input has a defined
     result (numpy returns a value, possibly NaN, possibly with a
     RuntimeWarning): sum, mean, nan*, dot, sumsq, var, std, count_finite.
     Its pointer arguments may be NULL only when n == 0 (checked with
     VPAR_ASSERT). A function returns vpar_status and writes its result
     through an out-parameter when numpy raises for some input (min/max/
     argmin/argmax of an empty array, nanargmin/nanargmax of an all-NaN
     one) or when it can fail for other reasons (axis reductions: shapes;
     parallel versions: the pool). On failure the out-parameter is not
     written and vpar_last_error() says what was wrong.

   ACCURACY AND DETERMINISM
     Sums of doubles are pairwise: the input is cut into blocks of 256
     elements from its start; each block is summed in 32 interleaved lanes
     (element i of a block goes to lane i mod 32; each lane adds its 8
     elements in order), the lanes are combined by a fixed binary tree and
     the block sums by a binary-counter pairwise tree. For n elements the
     computed sum s^ of s = sum x_i satisfies, to first order in u,
         |s^ - s| <= (14 + ceil(log2(ceil(n / 256)))) * u * sum |x_i|,
     u = 2^-53, which is below numpy's pairwise bound
     (19 + ceil(log2(n / 128))) * u * sum |x_i|. Float inputs are converted
     to double exactly and summed the same way, so float sums have the
     double bound (numpy sums float32 in float32, u = 2^-24).
     The order is fixed by the input alone: sum, nansum, mean, nanmean,
     min, max and their nan/arg variants, count_finite, range_by_sign, the axis
     reductions and the accumulate kernels (vpar_acc_*: see their
     summation order below) give BIT-IDENTICAL results on every path and for every
     thread count (the parallel versions cut at power-of-two multiples of
     256 elements, so they rebuild exactly the serial tree). dot, sumsq,
     var/std and nanvar/nanstd use fused multiply-add on the vector paths,
     so they may differ from the scalar path in the last bits (within the
     bound above); they are deterministic for a given path.
     Signed zeros: a sum of only -0.0 returns +0.0 (as numpy); the sign of
     a zero min/max is unspecified.

   CONFIGURATION MACROS
     VPAR_NO_SIMD     compile only the scalar path
     VPAR_NO_AVX2     compile out the AVX2+FMA path
     VPAR_NO_AVX512   compile out the AVX-512 path
     VPAR_NO_NEON     compile out the NEON path
     The implementation TU must not be compiled with -ffast-math /
     -ffinite-math-only (NaN tests would be optimized away; it refuses).

   CALLING CONTEXTS
     Every function may be called from any thread, concurrently, and from
     inside thread-pool tasks. vpar_simd_set_path/vpar_simd_init switch the
     process-wide path atomically; a reduction already running finishes on
     the path it started with.
*/
#ifndef VPAR__SIMD_TEMPLATE

#ifndef VPAR_SIMD_H
#define VPAR_SIMD_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The code paths. VPAR_SIMD_AUTO asks for the best one available. */
typedef enum vpar_simd_path {
    VPAR_SIMD_AUTO = 0,
    VPAR_SIMD_SCALAR,
    VPAR_SIMD_AVX2,
    VPAR_SIMD_AVX512,
    VPAR_SIMD_NEON,
    VPAR_SIMD_PATH_COUNT
} vpar_simd_path;

/* Chooses the path from $VPAR_SIMD (unset, empty or "auto": the best
   available) and makes it the process-wide path. Returns VPAR_ERR_INVALID
   for an unknown name and VPAR_ERR_CPU for a path this CPU or build lacks;
   the scalar path is then active. Without this call the same choice is
   made on first use, and a bad $VPAR_SIMD is reported once on stderr.
   Programs call it first in main (before pools or forks) and treat a
   failure as a usage error: print "<program>: <vpar_last_error()>" and
   exit 2 (docs/simd.md). Any thread. */
VPAR_API vpar_status vpar_simd_init(void);

/* Makes `path` the process-wide path (VPAR_SIMD_AUTO: the best one).
   VPAR_ERR_CPU (nothing changed) if it is not available. Any thread. */
VPAR_API vpar_status vpar_simd_set_path(vpar_simd_path path);

/* The active path (choosing it first if nothing has yet). Any thread. */
VPAR_API vpar_simd_path vpar_simd_active(void);

/* 1 if `path` is compiled in and this CPU runs it, else 0. AUTO: 1.
   Any thread. */
VPAR_API int vpar_simd_available(vpar_simd_path path);

/* The best available path (what AUTO selects): avx2, else avx512, else
   neon, else scalar (avx2 before avx512: see docs/simd.md). On a CPU with
   both, AUTO's avx2 path runs the uint32 accumulate kernels
   (vpar_acc_u32_f64, vpar_acc_rows_u32_f64) of avx512, measured faster
   there; vpar_simd_active() still says avx2. Any thread. */
VPAR_API vpar_simd_path vpar_simd_best(void);

/* "auto", "scalar", "avx2", "avx512", "neon"; "unknown" otherwise.
   Any thread. */
VPAR_API const char *vpar_simd_path_name(vpar_simd_path path);

/* Parses a path name (as vpar_simd_path_name writes it, case-insensitive).
   VPAR_ERR_INVALID naming the string if unknown. Any thread. */
VPAR_API vpar_status vpar_simd_path_parse(const char *name, vpar_simd_path *out);

/* ---- whole-array reductions: double -------------------------------------
   All: any thread. x may be NULL only when n == 0. */

/* np.sum(x). Empty: 0. NaN anywhere: NaN; +inf and -inf: NaN. */
VPAR_API double vpar_sum_f64(const double *x, size_t n);
/* np.mean(x). Empty: NaN. */
VPAR_API double vpar_mean_f64(const double *x, size_t n);
/* np.nansum / bn.nansum: NaN counted as 0. Empty or all-NaN: 0. */
VPAR_API double vpar_nansum_f64(const double *x, size_t n);
/* np.nanmean / bn.nanmean. No non-NaN value: NaN. */
VPAR_API double vpar_nanmean_f64(const double *x, size_t n);
/* np.dot(x, y) of two vectors. Empty: 0. */
VPAR_API double vpar_dot_f64(const double *x, const double *y, size_t n);
/* np.sum(x * x). Empty: 0. */
VPAR_API double vpar_sumsq_f64(const double *x, size_t n);
/* np.var(x, ddof=ddof): sum((x - mean)^2) / max(n - ddof, 0), two-pass.
   Empty: NaN; n <= ddof: NaN if every deviation is 0, else +inf (numpy). */
VPAR_API double vpar_var_f64(const double *x, size_t n, int ddof);
/* np.std(x, ddof=ddof) = sqrt(var). */
VPAR_API double vpar_std_f64(const double *x, size_t n, int ddof);
/* np.nanvar / bn.nanvar over the non-NaN values; NaN if their count is
   <= ddof. */
VPAR_API double vpar_nanvar_f64(const double *x, size_t n, int ddof);
/* np.nanstd / bn.nanstd = sqrt(nanvar). */
VPAR_API double vpar_nanstd_f64(const double *x, size_t n, int ddof);
/* np.count_nonzero(np.isfinite(x)). */
VPAR_API size_t vpar_count_finite_f64(const double *x, size_t n);
/* The range of x on each side of 0, NaN skipped (the ranker's first pass,
   rank.h): mm[0], mm[1] take the min and max of the values below 0,
   mm[2], mm[3] those of the others (zeros of either sign, positives,
   +inf); *nan grows by the number of NaN. mm is updated, not overwritten:
   start from {+inf, -inf, +inf, -inf}, call once per piece of the data; a
   side with no value keeps min > max. The sign of a zero extreme is
   unspecified. */
VPAR_API void vpar_range_by_sign_f64(const double *x, size_t n, double mm[4], size_t *nan);

/* np.min / np.max: NaN if any element is NaN. Empty: VPAR_ERR_INVALID. */
VPAR_API vpar_status vpar_min_f64(const double *x, size_t n, double *out);
VPAR_API vpar_status vpar_max_f64(const double *x, size_t n, double *out);
/* np.nanmin / bn.nanmin: NaN skipped; all-NaN: NaN (VPAR_OK).
   Empty: VPAR_ERR_INVALID. */
VPAR_API vpar_status vpar_nanmin_f64(const double *x, size_t n, double *out);
VPAR_API vpar_status vpar_nanmax_f64(const double *x, size_t n, double *out);
/* np.argmin / np.argmax: index of the first extreme value; NaN counts as
   extreme (the index of the first NaN). Empty: VPAR_ERR_INVALID. */
VPAR_API vpar_status vpar_argmin_f64(const double *x, size_t n, size_t *out);
VPAR_API vpar_status vpar_argmax_f64(const double *x, size_t n, size_t *out);
/* np.nanargmin / bn.nanargmin: NaN skipped; first index on ties. Empty or
   all-NaN: VPAR_ERR_INVALID. */
VPAR_API vpar_status vpar_nanargmin_f64(const double *x, size_t n, size_t *out);
VPAR_API vpar_status vpar_nanargmax_f64(const double *x, size_t n, size_t *out);

/* ---- whole-array reductions: float --------------------------------------
   Same semantics as the double versions. Sums, means, dot products and
   variances are computed and returned in double (inputs are widened
   exactly); min/max return float. */
VPAR_API double vpar_sum_f32(const float *x, size_t n);
VPAR_API double vpar_mean_f32(const float *x, size_t n);
VPAR_API double vpar_nansum_f32(const float *x, size_t n);
VPAR_API double vpar_nanmean_f32(const float *x, size_t n);
VPAR_API double vpar_dot_f32(const float *x, const float *y, size_t n);
VPAR_API double vpar_sumsq_f32(const float *x, size_t n);
VPAR_API double vpar_var_f32(const float *x, size_t n, int ddof);
VPAR_API double vpar_std_f32(const float *x, size_t n, int ddof);
VPAR_API double vpar_nanvar_f32(const float *x, size_t n, int ddof);
VPAR_API double vpar_nanstd_f32(const float *x, size_t n, int ddof);
VPAR_API size_t vpar_count_finite_f32(const float *x, size_t n);
VPAR_API void vpar_range_by_sign_f32(const float *x, size_t n, double mm[4], size_t *nan);
VPAR_API vpar_status vpar_min_f32(const float *x, size_t n, float *out);
VPAR_API vpar_status vpar_max_f32(const float *x, size_t n, float *out);
VPAR_API vpar_status vpar_nanmin_f32(const float *x, size_t n, float *out);
VPAR_API vpar_status vpar_nanmax_f32(const float *x, size_t n, float *out);
VPAR_API vpar_status vpar_argmin_f32(const float *x, size_t n, size_t *out);
VPAR_API vpar_status vpar_argmax_f32(const float *x, size_t n, size_t *out);
VPAR_API vpar_status vpar_nanargmin_f32(const float *x, size_t n, size_t *out);
VPAR_API vpar_status vpar_nanargmax_f32(const float *x, size_t n, size_t *out);

/* ---- parallel whole-array sums ------------------------------------------
   The same results as vpar_sum / vpar_nansum / vpar_dot, bit for bit, for
   every pool size: the input is cut at multiples of 2^k * 256 elements
   (k >= 6, depending only on n), i.e. along subtrees of the serial
   pairwise tree. pool NULL (or n too small to split): the calling thread
   alone. Errors: VPAR_ERR_INVALID (out NULL; x or y NULL with n > 0), a pool
   failure (*out untouched). Any thread, including inside a pool task. */
typedef struct vpar_pool vpar_pool;
VPAR_API vpar_status vpar_sum_f64_par(vpar_pool *pool, const double *x, size_t n, double *out);
VPAR_API vpar_status vpar_nansum_f64_par(vpar_pool *pool, const double *x, size_t n, double *out);
VPAR_API vpar_status vpar_dot_f64_par(vpar_pool *pool, const double *x, const double *y,
                                      size_t n, double *out);
VPAR_API vpar_status vpar_sum_f32_par(vpar_pool *pool, const float *x, size_t n, double *out);
VPAR_API vpar_status vpar_nansum_f32_par(vpar_pool *pool, const float *x, size_t n, double *out);
VPAR_API vpar_status vpar_dot_f32_par(vpar_pool *pool, const float *x, const float *y,
                                      size_t n, double *out);

/* ---- axis reductions of 2-D row-major arrays ----------------------------- */

typedef enum vpar_axis_op {
    VPAR_AXIS_SUM = 0,  /* np.sum(a, axis)      empty axis: 0            */
    VPAR_AXIS_MEAN,     /* np.mean(a, axis)     empty axis: NaN          */
    VPAR_AXIS_MIN,      /* np.min(a, axis)      NaN propagates           */
    VPAR_AXIS_MAX,      /* np.max(a, axis)      empty axis: error        */
    VPAR_AXIS_NANSUM,   /* np.nansum / bn.nansum(a, axis)                */
    VPAR_AXIS_NANMEAN,  /* np.nanmean / bn.nanmean(a, axis)  no value: NaN */
    VPAR_AXIS_OP_COUNT
} vpar_axis_op;

/* Reduces the nrows x ncols array whose element (i, j) is a[i*ld + j]
   (ld >= ncols; the row stride in elements) along `axis`: axis 1 gives
   nrows values (one per row, numpy axis=1), axis 0 gives ncols values (one
   per column, numpy axis=0), written to out (caller-owned). Each row and
   each column is reduced exactly as the whole-array function of the same
   name would reduce it (row sums are bit-identical to vpar_sum_f64 of the
   row; column sums add rows in order within blocks of 128 rows and the
   block sums in order: error <= (128 + nrows/128) u sum |a_ij|).
   pool: NULL runs on the calling thread; otherwise rows (axis 1) or
   column tiles (axis 0) are spread over the pool, with bit-identical
   results for every thread count.
   Errors: VPAR_ERR_INVALID for a bad op/axis, NULL a or out with a
   non-empty shape, ld < ncols (nrows > 1), min/max over an empty axis
   (numpy raises); VPAR_ERR_OVERFLOW if the extent overflows size_t; a
   pool failure. Any thread, including inside a pool task. */
VPAR_API vpar_status vpar_reduce_axis_f64(vpar_axis_op op, int axis,
        const double *a, size_t nrows, size_t ncols, size_t ld,
        double *out, vpar_pool *pool);
/* The same for float input; results in double. */
VPAR_API vpar_status vpar_reduce_axis_f32(vpar_axis_op op, int axis,
        const float *a, size_t nrows, size_t ncols, size_t ld,
        double *out, vpar_pool *pool);

/* The seed's rowSums / colSums: vpar_reduce_axis_f64 with VPAR_AXIS_SUM
   and axis 1 / axis 0, serial. Any thread. */
VPAR_API vpar_status vpar_rowsums_f64(const double *a, size_t nrows,
        size_t ncols, size_t ld, double *out);
VPAR_API vpar_status vpar_colsums_f64(const double *a, size_t nrows,
        size_t ncols, size_t ld, double *out);

/* ---- accumulate kernels (EGAD fold sums, aggregation) --------------------
   Element-wise additions into a double accumulator, one kernel per path
   behind the same dispatch as the reductions.

   SUMMATION ORDER (the contract; the same on every path, bit for bit):
   the listed rows are taken in order in groups of 4 (r0, r1, r2, r3) and
   each group is added as  acc = acc + ((r0 + r1) + (r2 + r3)); after the
   last full group a remaining pair is added as acc = acc + (r0 + r1) and a
   remaining single row as acc = acc + r0 (3 left over: a pair, then a
   single). float input is widened to double exactly before any addition
   (so every partial sum of up to 4 float32 values is exact in double).
   There are only additions (no multiply, so nothing to contract into an
   FMA), and vectors change nothing per column: every path gives results
   bit-identical to the scalar path, NaN payloads aside (any NaN in a
   column's inputs gives NaN there; +inf and -inf together give NaN).
   This is the order of the row-add kernels EGAD used before they moved
   here, so EGAD's results are unchanged.

   Columns are processed in tiles of 2048 (all row groups of one tile,
   then the next tile) so that the accumulator tile stays in L1; tiling
   does not change the per-column order, so callers need not tile.
   acc must not overlap x or the rows read. Pointers may be NULL only
   when nothing is read through them (n == 0; for the row versions,
   nrows == 0 or c1 <= c0), checked with VPAR_ASSERT. Any thread, concurrently on disjoint accumulators, including
   inside pool tasks. */

/* acc[i] += x[i] for i in [0, n). */
VPAR_API void vpar_acc_f64(double *acc, const double *x, size_t n);
/* acc[i] += (double)x[i] for i in [0, n). */
VPAR_API void vpar_acc_f32_f64(double *acc, const float *x, size_t n);
/* acc[j - c0] += sum over r < nrows of m[rows[r] * ld + j], for j in
   [c0, c1), in the order above. m is row-major with a row stride of ld
   elements; rows may repeat and need not be sorted (their order is the
   summation order). c1 < c0 is treated as an empty range. */
VPAR_API void vpar_acc_rows_f64(double *acc, const double *m, size_t ld,
        const uint32_t *rows, size_t nrows, size_t c0, size_t c1);
/* The same for float32 m, widened to double. */
VPAR_API void vpar_acc_rows_f32_f64(double *acc, const float *m, size_t ld,
        const uint32_t *rows, size_t nrows, size_t c0, size_t c1);
/* acc[i] += (double)x[i] for uint32 x (every value converts exactly; the
   rank codes of rank.h's vpar_rank_codes_into_ws are such a matrix). As
   long as every partial sum stays below 2^53 (integers: exact), every
   order of additions gives the same result. */
VPAR_API void vpar_acc_u32_f64(double *acc, const uint32_t *x, size_t n);
/* vpar_acc_rows_f64 for a uint32 matrix m, widened to double. Every sum
   is an exact integer (while below 2^53), so the grouping of the rows does
   not change it: they are added 16 at a time in 64-bit integer lanes,
   then in the order above. */
VPAR_API void vpar_acc_rows_u32_f64(double *acc, const uint32_t *m, size_t ld,
        const uint32_t *rows, size_t nrows, size_t c0, size_t c1);

/* ---- block transpose ------------------------------------------------------
   dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols: the rows x
   cols block at src (row stride lds elements) written transposed, cols x
   rows, at dst (row stride ldd). 32-bit elements copied as bits (uint32,
   float, rank codes); the blocks must not overlap. The ranker's mirror of
   a symmetric result (rank.h). AVX2 (and AVX-512 CPUs): 8 x 8 blocks in
   registers; elsewhere element by element. */
VPAR_API void vpar_transpose_u32(uint32_t *dst, size_t ldd, const uint32_t *src, size_t lds,
        size_t rows, size_t cols);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_SIMD_H */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if defined(VPAR_IMPLEMENTATION) && !defined(VPAR_SIMD_IMPLEMENTED)
#define VPAR_SIMD_IMPLEMENTED

#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__
#  error "vpar/simd.h: the implementation needs IEEE NaN/inf semantics; compile the VPAR_IMPLEMENTATION file without -ffast-math / -ffinite-math-only"
#endif

#include "pool.h"

#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* ---- which vector paths are compiled in ---------------------------------- */
#if !defined(VPAR_NO_SIMD)
#  if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#    ifndef VPAR_NO_AVX2
#      define VPAR__HAVE_AVX2 1
#    endif
#    ifndef VPAR_NO_AVX512
#      define VPAR__HAVE_AVX512 1
#    endif
#  endif
#  if defined(__aarch64__) && defined(__ARM_NEON) && !defined(VPAR_NO_NEON)
#    define VPAR__HAVE_NEON 1
#  endif
#endif
#if defined(VPAR__HAVE_AVX2) || defined(VPAR__HAVE_AVX512)
#  include <immintrin.h>
#endif
#if defined(VPAR__HAVE_NEON)
#  include <arm_neon.h>
#endif

#define VPAR__CAT3_(a, b, c) a##b##c
#define VPAR__CAT3(a, b, c) VPAR__CAT3_(a, b, c)
#define VPAR__STR_(x) #x
#define VPAR__STR(x) VPAR__STR_(x)
#define VPAR__CAT4_(a, b, c, d) a##b##c##d
#define VPAR__CAT4(a, b, c, d) VPAR__CAT4_(a, b, c, d)

#if defined(__clang__)
#  define VPAR__NO_UNROLL _Pragma("nounroll")
#  define VPAR__UNROLL _Pragma("unroll")
#  define VPAR__INLINE __attribute__((always_inline)) inline
#elif defined(__GNUC__)
#  define VPAR__NO_UNROLL _Pragma("GCC unroll 1")
#  define VPAR__UNROLL _Pragma("GCC unroll 32")
#  define VPAR__INLINE __attribute__((always_inline)) inline
#else
#  define VPAR__NO_UNROLL
#  define VPAR__UNROLL
#  define VPAR__INLINE inline
#endif

/* Logical lanes and block length of the pairwise sums (see ACCURACY). */
#define VPAR__LANES 32
#define VPAR__BLOCK 256
/* Rows per block in column sums; columns per tile in column reductions. */
#define VPAR__COLBLOCK 128
#define VPAR__COLTILE 1024
/* Elements per block of the argmin/argmax scan (fits L1/L2 for the rescan). */
#define VPAR__ARGBLOCK 4096

/* NANSUM_NC: nansum without the count of non-NaN values (the wrappers
   pick it when the caller passes no count: fewer live registers). */
enum { VPAR__OP_SUM, VPAR__OP_NANSUM, VPAR__OP_DOT, VPAR__OP_SSD, VPAR__OP_NANSSD,
       VPAR__OP_NANSUM_NC };

/* Binary-counter pairwise summation of block sums: pushing leaves merges
   equal-sized subtrees (older + newer); finishing folds the rest right to
   left. Any contiguous run of 2^k leaves starting at a multiple of 2^k
   becomes one complete subtree, which is what lets the parallel versions
   rebuild the serial tree exactly. */
typedef struct vpar__pw {
    double v[64];
    unsigned char level[64];
    int top;
} vpar__pw;

static inline void vpar__pw_init(vpar__pw *s) { s->top = 0; }

static inline void vpar__pw_push(vpar__pw *s, double x) {
    int t = s->top;
    s->v[t] = x;
    s->level[t] = 0;
    t++;
    while (t >= 2 && s->level[t - 1] == s->level[t - 2]) {
        s->v[t - 2] = s->v[t - 2] + s->v[t - 1];
        s->level[t - 2]++;
        t--;
    }
    s->top = t;
}

static inline double vpar__pw_finish(const vpar__pw *s) {
    if (s->top == 0) return 0.0;
    double r = s->v[s->top - 1];
    for (int i = s->top - 2; i >= 0; i--) r = s->v[i] + r;
    return r;
}

/* The fixed lane tree: lane L += lane L + m/2, m = m0, m0/2, ..., 2. */
static inline double vpar__tree_add(double *lanes, int m) {
    for (; m > 1; m /= 2)
        for (int l = 0; l < m / 2; l++) lanes[l] = lanes[l] + lanes[l + m / 2];
    return lanes[0];
}

static inline double vpar__tree_ext(double *lanes, int m, int want_max) {
    for (; m > 1; m /= 2)
        for (int l = 0; l < m / 2; l++) {
            double hi = lanes[l + m / 2], lo = lanes[l];
            lanes[l] = want_max ? (hi > lo ? hi : lo) : (hi < lo ? hi : lo);
        }
    return lanes[0];
}

/* Result of a min/max kernel: the extreme of the non-NaN values (+-inf if
   none) and whether NaN / non-NaN values were seen. */
typedef struct vpar__ext {
    double v;
    int has_nan, has_num;
} vpar__ext;

/* One path's kernels. */
typedef struct vpar__simd_ops {
    vpar_simd_path path;
    double (*pw_f64)(int op, const double *x, const double *y, size_t n, double c, size_t *count);
    double (*pw_f32)(int op, const float *x, const float *y, size_t n, double c, size_t *count);
    void (*ext_f64)(int want_max, const double *x, size_t n, vpar__ext *r);
    void (*ext_f32)(int want_max, const float *x, size_t n, vpar__ext *r);
    size_t (*count_finite_f64)(const double *x, size_t n);
    size_t (*count_finite_f32)(const float *x, size_t n);
    void (*signrange_f64)(const double *x, size_t n, double *mm, size_t *nan);
    void (*signrange_f32)(const float *x, size_t n, double *mm, size_t *nan);
    void (*colsum_f64)(double *acc, const double *x, size_t ld, int nr, size_t n);
    void (*colsum_f32)(double *acc, const float *x, size_t ld, int nr, size_t n);
    void (*colnansum_f64)(double *acc, double *cnt, const double *x, size_t ld, int nr, size_t n);
    void (*colnansum_f32)(double *acc, double *cnt, const float *x, size_t ld, int nr, size_t n);
    void (*colext_f64)(int want_max, double *acc, const double *x, size_t ld, int nr, size_t n);
    void (*colext_f32)(int want_max, double *acc, const float *x, size_t ld, int nr, size_t n);
    void (*addk_f64)(double *acc, const double *const *rows, int k, size_t n);
    void (*addk_f32)(double *acc, const float *const *rows, int k, size_t n);
    void (*accrows_f64)(double *acc, const double *m, size_t ld, const uint32_t *rows, size_t nrows,
                        size_t c0, size_t len);
    void (*accrows_f32)(double *acc, const float *m, size_t ld, const uint32_t *rows, size_t nrows,
                        size_t c0, size_t len);
    void (*addk_u32)(double *acc, const uint32_t *const *rows, int k, size_t n);
    void (*accrows_u32)(double *acc, const uint32_t *m, size_t ld, const uint32_t *rows, size_t nrows,
                        size_t c0, size_t len);
    void (*transpose_u32)(uint32_t *dst, size_t ldd, const uint32_t *src, size_t lds, size_t rows,
                          size_t cols);
} vpar__simd_ops;

/* ---- scalar primitives (the specification) -------------------------------
   Every path implements the same primitive semantics; the kernels below are
   written once against them. minsel(x, a) is `x < a ? x : a` (x86 MINPD). */
typedef double vpar__scalar_vd;
typedef int vpar__scalar_vm;
typedef size_t vpar__scalar_vc;
static inline double vpar__scalar_ld_f64(const double *p) { return *p; }
static inline double vpar__scalar_ld_f32(const float *p) { return (double)*p; }
static inline double vpar__scalar_ld_u32(const uint32_t *p) { return (double)*p; }
/* uint32 rows are summed in 64-bit integer lanes (exact), then converted
   once: q64 lanes, q64 load of uint32, q64 add, q64 (< 2^52) to double. */
typedef uint64_t vpar__scalar_vq;
static inline uint64_t vpar__scalar_ldq_u32(const uint32_t *p) { return *p; }
static inline uint64_t vpar__scalar_addq(uint64_t a, uint64_t b) { return a + b; }
static inline double vpar__scalar_cvtq(uint64_t q) { return (double)q; }
static inline void vpar__scalar_st(double *p, double v) { *p = v; }
static inline double vpar__scalar_set1(double v) { return v; }
static inline double vpar__scalar_add(double a, double b) { return a + b; }
static inline double vpar__scalar_sub(double a, double b) { return a - b; }
static inline double vpar__scalar_fma(double a, double b, double c) { return a * b + c; }
static inline double vpar__scalar_sfma(double a, double b, double c) { return a * b + c; }
static inline double vpar__scalar_minsel(double x, double a) { return x < a ? x : a; }
static inline double vpar__scalar_maxsel(double x, double a) { return x > a ? x : a; }
static inline int vpar__scalar_lt(double a, double b) { return a < b; }
static inline int vpar__scalar_gt(double a, double b) { return a > b; }
static inline int vpar__scalar_isnan(double a) { return a != a; }
static inline int vpar__scalar_isnum(double a) { return a == a; }
static inline double vpar__scalar_sel(int m, double a, double b) { return m ? a : b; }
static inline int vpar__scalar_mzero(void) { return 0; }
static inline int vpar__scalar_mor(int a, int b) { return a | b; }
static inline int vpar__scalar_many(int m) { return m; }
static inline double vpar__scalar_znan(double a) { return a == a ? a : 0.0; }
static inline size_t vpar__scalar_czero(void) { return 0; }
static inline size_t vpar__scalar_cadd(size_t c, int m) { return c + (size_t)m; }
static inline size_t vpar__scalar_ctotal(size_t c) { return c; }

#define VPAR__TARGET
#define VPAR__B scalar
#define VPAR__W 1
#define VPAR__SIMD_TEMPLATE 1
#define VPAR__T double
#define VPAR__SFX f64
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#define VPAR__T float
#define VPAR__SFX f32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
/* uint32 rows: only the accumulate kernels */
#define VPAR__ACC_ONLY 1
#define VPAR__T uint32_t
#define VPAR__SFX u32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#undef VPAR__ACC_ONLY
#undef VPAR__SIMD_TEMPLATE
#undef VPAR__W
#undef VPAR__B
#undef VPAR__TARGET
/* vpar_transpose_u32, the specification: 8 rows at a time, so that each
   destination row is written in runs of 8 (a cache line holds 16). */
static void vpar__scalar_transpose_u32(uint32_t *dst, size_t ldd, const uint32_t *src, size_t lds,
                                       size_t rows, size_t cols) {
    for (size_t r0 = 0; r0 < rows; r0 += 8) {
        size_t r1 = r0 + 8 < rows ? r0 + 8 : rows;
        for (size_t c = 0; c < cols; c++)
            for (size_t r = r0; r < r1; r++) dst[c * ldd + r] = src[r * lds + c];
    }
}

/* ---- AVX2 + FMA ------------------------------------------------------------ */
#ifdef VPAR__HAVE_AVX2
#define VPAR__AVX2_T __attribute__((target("avx2,fma")))
typedef __m256d vpar__avx2_vd;
typedef __m256d vpar__avx2_vm;
typedef __m256i vpar__avx2_vc;
static inline VPAR__AVX2_T __m256d vpar__avx2_ld_f64(const double *p) { return _mm256_loadu_pd(p); }
static inline VPAR__AVX2_T __m256d vpar__avx2_ld_f32(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
/* AVX2 converts only signed int32: flip the top bit (u - 2^31 as int32),
   convert, add 2^31 back; every step is exact. */
static inline VPAR__AVX2_T __m256d vpar__avx2_ld_u32(const uint32_t *p) {
    __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)p), _mm_set1_epi32(INT32_MIN));
    return _mm256_add_pd(_mm256_cvtepi32_pd(v), _mm256_set1_pd(2147483648.0));
}
typedef __m256i vpar__avx2_vq;
static inline VPAR__AVX2_T __m256i vpar__avx2_ldq_u32(const uint32_t *p) {
    return _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(const void *)p));
}
static inline VPAR__AVX2_T __m256i vpar__avx2_addq(__m256i a, __m256i b) { return _mm256_add_epi64(a, b); }
/* no int64 -> double in AVX2: for q < 2^52, the bits of 2^52 + q minus 2^52 */
static inline VPAR__AVX2_T __m256d vpar__avx2_cvtq(__m256i q) {
    const __m256i magic = _mm256_set1_epi64x(0x4330000000000000LL);
    return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(q, magic)), _mm256_set1_pd(4503599627370496.0));
}
static inline VPAR__AVX2_T void vpar__avx2_st(double *p, __m256d v) { _mm256_storeu_pd(p, v); }
static inline VPAR__AVX2_T __m256d vpar__avx2_set1(double v) { return _mm256_set1_pd(v); }
static inline VPAR__AVX2_T __m256d vpar__avx2_add(__m256d a, __m256d b) { return _mm256_add_pd(a, b); }
static inline VPAR__AVX2_T __m256d vpar__avx2_sub(__m256d a, __m256d b) { return _mm256_sub_pd(a, b); }
static inline VPAR__AVX2_T __m256d vpar__avx2_fma(__m256d a, __m256d b, __m256d c) { return _mm256_fmadd_pd(a, b, c); }
static inline VPAR__AVX2_T double vpar__avx2_sfma(double a, double b, double c) { return fma(a, b, c); }
static inline VPAR__AVX2_T __m256d vpar__avx2_minsel(__m256d x, __m256d a) { return _mm256_min_pd(x, a); }
static inline VPAR__AVX2_T __m256d vpar__avx2_maxsel(__m256d x, __m256d a) { return _mm256_max_pd(x, a); }
static inline VPAR__AVX2_T __m256d vpar__avx2_lt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
static inline VPAR__AVX2_T __m256d vpar__avx2_gt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
static inline VPAR__AVX2_T __m256d vpar__avx2_isnan(__m256d a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
static inline VPAR__AVX2_T __m256d vpar__avx2_isnum(__m256d a) { return _mm256_cmp_pd(a, a, _CMP_ORD_Q); }
static inline VPAR__AVX2_T __m256d vpar__avx2_sel(__m256d m, __m256d a, __m256d b) { return _mm256_blendv_pd(b, a, m); }
static inline VPAR__AVX2_T __m256d vpar__avx2_mzero(void) { return _mm256_setzero_pd(); }
static inline VPAR__AVX2_T __m256d vpar__avx2_mor(__m256d a, __m256d b) { return _mm256_or_pd(a, b); }
static inline VPAR__AVX2_T int vpar__avx2_many(__m256d m) { return _mm256_movemask_pd(m) != 0; }
static inline VPAR__AVX2_T __m256d vpar__avx2_znan(__m256d a) { return _mm256_and_pd(a, _mm256_cmp_pd(a, a, _CMP_ORD_Q)); }
static inline VPAR__AVX2_T __m256i vpar__avx2_czero(void) { return _mm256_setzero_si256(); }
/* A true mask lane is all ones, i.e. -1 as int64: subtracting counts it. */
static inline VPAR__AVX2_T __m256i vpar__avx2_cadd(__m256i c, __m256d m) { return _mm256_sub_epi64(c, _mm256_castpd_si256(m)); }
static inline VPAR__AVX2_T size_t vpar__avx2_ctotal(__m256i c) {
    long long t[4];
    _mm256_storeu_si256((__m256i *)(void *)t, c);
    return (size_t)(t[0] + t[1] + t[2] + t[3]);
}
#define VPAR__TARGET VPAR__AVX2_T
#define VPAR__B avx2
#define VPAR__W 4
#define VPAR__SIMD_TEMPLATE 1
#define VPAR__T double
#define VPAR__SFX f64
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#define VPAR__T float
#define VPAR__SFX f32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
/* uint32 rows: only the accumulate kernels */
#define VPAR__ACC_ONLY 1
#define VPAR__T uint32_t
#define VPAR__SFX u32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#undef VPAR__ACC_ONLY
#undef VPAR__SIMD_TEMPLATE
#undef VPAR__W
#undef VPAR__B
#undef VPAR__TARGET
/* vpar_transpose_u32: 8 x 8 blocks through registers (two rounds of
   unpack, one of 128-bit lane swaps), the edges element by element. The
   mirror of a full-size aggregation step's rank codes (148 M entries, 2
   threads) took 0.12-0.14 s element by element, 0.04-0.045 s so
   (bench/RESULTS.md, 2026-12-03). */
static inline VPAR__AVX2_T void vpar__avx2_t8x8(uint32_t *dst, size_t ldd, const uint32_t *src, size_t lds) {
    __m256i r[8], t[8], u[8];
    for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_si256((const __m256i *)(const void *)(src + (size_t)k * lds));
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_epi32(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_epi32(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_unpacklo_epi64(t[k], t[k + 2]);
        u[k + 1] = _mm256_unpackhi_epi64(t[k], t[k + 2]);
        u[k + 2] = _mm256_unpacklo_epi64(t[k + 1], t[k + 3]);
        u[k + 3] = _mm256_unpackhi_epi64(t[k + 1], t[k + 3]);
    }
    for (int k = 0; k < 4; k++) {
        _mm256_storeu_si256((__m256i *)(void *)(dst + (size_t)k * ldd), _mm256_permute2x128_si256(u[k], u[k + 4], 0x20));
        _mm256_storeu_si256((__m256i *)(void *)(dst + (size_t)(k + 4) * ldd), _mm256_permute2x128_si256(u[k], u[k + 4], 0x31));
    }
}
static VPAR__AVX2_T void vpar__avx2_transpose_u32(uint32_t *dst, size_t ldd, const uint32_t *src, size_t lds,
                                                 size_t rows, size_t cols) {
    size_t r8 = rows / 8 * 8, c8 = cols / 8 * 8;
    for (size_t r = 0; r < r8; r += 8)
        for (size_t c = 0; c < c8; c += 8) vpar__avx2_t8x8(dst + c * ldd + r, ldd, src + r * lds + c, lds);
    if (c8 < cols) vpar__scalar_transpose_u32(dst + c8 * ldd, ldd, src + c8, lds, rows, cols - c8);
    if (r8 < rows) vpar__scalar_transpose_u32(dst + r8, ldd, src + r8 * lds, lds, rows - r8, c8);
}
#endif /* VPAR__HAVE_AVX2 */

/* ---- AVX-512 F + DQ ------------------------------------------------------- */
#ifdef VPAR__HAVE_AVX512
#define VPAR__AVX512_T __attribute__((target("avx512f,avx512dq,fma")))
typedef __m512d vpar__avx512_vd;
typedef __mmask8 vpar__avx512_vm;
typedef size_t vpar__avx512_vc;
static inline VPAR__AVX512_T __m512d vpar__avx512_ld_f64(const double *p) { return _mm512_loadu_pd(p); }
static inline VPAR__AVX512_T __m512d vpar__avx512_ld_f32(const float *p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
static inline VPAR__AVX512_T __m512d vpar__avx512_ld_u32(const uint32_t *p) {
    return _mm512_cvtepu32_pd(_mm256_loadu_si256((const __m256i *)(const void *)p));
}
typedef __m512i vpar__avx512_vq;
static inline VPAR__AVX512_T __m512i vpar__avx512_ldq_u32(const uint32_t *p) {
    return _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(const void *)p));
}
static inline VPAR__AVX512_T __m512i vpar__avx512_addq(__m512i a, __m512i b) { return _mm512_add_epi64(a, b); }
static inline VPAR__AVX512_T __m512d vpar__avx512_cvtq(__m512i q) { return _mm512_cvtepu64_pd(q); }
static inline VPAR__AVX512_T void vpar__avx512_st(double *p, __m512d v) { _mm512_storeu_pd(p, v); }
static inline VPAR__AVX512_T __m512d vpar__avx512_set1(double v) { return _mm512_set1_pd(v); }
static inline VPAR__AVX512_T __m512d vpar__avx512_add(__m512d a, __m512d b) { return _mm512_add_pd(a, b); }
static inline VPAR__AVX512_T __m512d vpar__avx512_sub(__m512d a, __m512d b) { return _mm512_sub_pd(a, b); }
static inline VPAR__AVX512_T __m512d vpar__avx512_fma(__m512d a, __m512d b, __m512d c) { return _mm512_fmadd_pd(a, b, c); }
static inline VPAR__AVX512_T double vpar__avx512_sfma(double a, double b, double c) { return fma(a, b, c); }
static inline VPAR__AVX512_T __m512d vpar__avx512_minsel(__m512d x, __m512d a) { return _mm512_min_pd(x, a); }
static inline VPAR__AVX512_T __m512d vpar__avx512_maxsel(__m512d x, __m512d a) { return _mm512_max_pd(x, a); }
static inline VPAR__AVX512_T __mmask8 vpar__avx512_lt(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline VPAR__AVX512_T __mmask8 vpar__avx512_gt(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
static inline VPAR__AVX512_T __mmask8 vpar__avx512_isnan(__m512d a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q); }
static inline VPAR__AVX512_T __mmask8 vpar__avx512_isnum(__m512d a) { return _mm512_cmp_pd_mask(a, a, _CMP_ORD_Q); }
static inline VPAR__AVX512_T __m512d vpar__avx512_sel(__mmask8 m, __m512d a, __m512d b) { return _mm512_mask_blend_pd(m, b, a); }
static inline VPAR__AVX512_T __mmask8 vpar__avx512_mzero(void) { return 0; }
static inline VPAR__AVX512_T __mmask8 vpar__avx512_mor(__mmask8 a, __mmask8 b) { return (__mmask8)(a | b); }
static inline VPAR__AVX512_T int vpar__avx512_many(__mmask8 m) { return m != 0; }
static inline VPAR__AVX512_T __m512d vpar__avx512_znan(__m512d a) { return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(a, a, _CMP_ORD_Q), a); }
static inline VPAR__AVX512_T size_t vpar__avx512_czero(void) { return 0; }
static inline VPAR__AVX512_T size_t vpar__avx512_cadd(size_t c, __mmask8 m) { return c + (size_t)__builtin_popcount((unsigned)m); }
static inline VPAR__AVX512_T size_t vpar__avx512_ctotal(size_t c) { return c; }
#define VPAR__TARGET VPAR__AVX512_T
#define VPAR__B avx512
#define VPAR__W 8
#define VPAR__SIMD_TEMPLATE 1
#define VPAR__T double
#define VPAR__SFX f64
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#define VPAR__T float
#define VPAR__SFX f32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
/* uint32 rows: only the accumulate kernels */
#define VPAR__ACC_ONLY 1
#define VPAR__T uint32_t
#define VPAR__SFX u32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#undef VPAR__ACC_ONLY
#undef VPAR__SIMD_TEMPLATE
#undef VPAR__W
#undef VPAR__B
#undef VPAR__TARGET
#endif /* VPAR__HAVE_AVX512 */

/* ---- NEON (aarch64: Advanced SIMD is part of the base ISA) ---------------- */
#ifdef VPAR__HAVE_NEON
typedef float64x2_t vpar__neon_vd;
typedef uint64x2_t vpar__neon_vm;
typedef int64x2_t vpar__neon_vc;
static inline float64x2_t vpar__neon_ld_f64(const double *p) { return vld1q_f64(p); }
static inline float64x2_t vpar__neon_ld_f32(const float *p) { return vcvt_f64_f32(vld1_f32(p)); }
static inline float64x2_t vpar__neon_ld_u32(const uint32_t *p) { return vcvtq_f64_u64(vmovl_u32(vld1_u32(p))); }
typedef uint64x2_t vpar__neon_vq;
static inline uint64x2_t vpar__neon_ldq_u32(const uint32_t *p) { return vmovl_u32(vld1_u32(p)); }
static inline uint64x2_t vpar__neon_addq(uint64x2_t a, uint64x2_t b) { return vaddq_u64(a, b); }
static inline float64x2_t vpar__neon_cvtq(uint64x2_t q) { return vcvtq_f64_u64(q); }
static inline void vpar__neon_st(double *p, float64x2_t v) { vst1q_f64(p, v); }
static inline float64x2_t vpar__neon_set1(double v) { return vdupq_n_f64(v); }
static inline float64x2_t vpar__neon_add(float64x2_t a, float64x2_t b) { return vaddq_f64(a, b); }
static inline float64x2_t vpar__neon_sub(float64x2_t a, float64x2_t b) { return vsubq_f64(a, b); }
static inline float64x2_t vpar__neon_fma(float64x2_t a, float64x2_t b, float64x2_t c) { return vfmaq_f64(c, a, b); }
static inline double vpar__neon_sfma(double a, double b, double c) { return fma(a, b, c); }
static inline uint64x2_t vpar__neon_lt(float64x2_t a, float64x2_t b) { return vcltq_f64(a, b); }
static inline uint64x2_t vpar__neon_gt(float64x2_t a, float64x2_t b) { return vcgtq_f64(a, b); }
/* vminq/vminnmq differ from the specification on NaN and signed zeros. */
static inline float64x2_t vpar__neon_minsel(float64x2_t x, float64x2_t a) { return vbslq_f64(vcltq_f64(x, a), x, a); }
static inline float64x2_t vpar__neon_maxsel(float64x2_t x, float64x2_t a) { return vbslq_f64(vcgtq_f64(x, a), x, a); }
static inline uint64x2_t vpar__neon_isnum(float64x2_t a) { return vceqq_f64(a, a); }
static inline uint64x2_t vpar__neon_isnan(float64x2_t a) { return veorq_u64(vceqq_f64(a, a), vdupq_n_u64(~(uint64_t)0)); }
static inline float64x2_t vpar__neon_sel(uint64x2_t m, float64x2_t a, float64x2_t b) { return vbslq_f64(m, a, b); }
static inline uint64x2_t vpar__neon_mzero(void) { return vdupq_n_u64(0); }
static inline uint64x2_t vpar__neon_mor(uint64x2_t a, uint64x2_t b) { return vorrq_u64(a, b); }
static inline int vpar__neon_many(uint64x2_t m) { return (vgetq_lane_u64(m, 0) | vgetq_lane_u64(m, 1)) != 0; }
static inline float64x2_t vpar__neon_znan(float64x2_t a) {
    return vreinterpretq_f64_u64(vandq_u64(vreinterpretq_u64_f64(a), vceqq_f64(a, a)));
}
static inline int64x2_t vpar__neon_czero(void) { return vdupq_n_s64(0); }
static inline int64x2_t vpar__neon_cadd(int64x2_t c, uint64x2_t m) { return vsubq_s64(c, vreinterpretq_s64_u64(m)); }
static inline size_t vpar__neon_ctotal(int64x2_t c) { return (size_t)(vgetq_lane_s64(c, 0) + vgetq_lane_s64(c, 1)); }
#define VPAR__TARGET
#define VPAR__B neon
#define VPAR__W 2
#define VPAR__SIMD_TEMPLATE 1
#define VPAR__T double
#define VPAR__SFX f64
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#define VPAR__T float
#define VPAR__SFX f32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
/* uint32 rows: only the accumulate kernels */
#define VPAR__ACC_ONLY 1
#define VPAR__T uint32_t
#define VPAR__SFX u32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#undef VPAR__ACC_ONLY
#undef VPAR__SIMD_TEMPLATE
#undef VPAR__W
#undef VPAR__B
#undef VPAR__TARGET
#endif /* VPAR__HAVE_NEON */

/* ---- the tables and the one place that chooses between them -------------- */
/* B: the backend of every kernel but the uint32 accumulate ones (U). */
#define VPAR__OPS_TABLE(B, PATH) VPAR__OPS_TABLE_U(B, B, PATH)
#define VPAR__OPS_TABLE_U(B, U, PATH)                                         \
    { PATH, vpar__##B##_pw_f64, vpar__##B##_pw_f32,                           \
      vpar__##B##_ext_f64, vpar__##B##_ext_f32,                               \
      vpar__##B##_count_finite_f64, vpar__##B##_count_finite_f32,             \
      vpar__##B##_signrange_f64, vpar__##B##_signrange_f32,                   \
      vpar__##B##_colsum_f64, vpar__##B##_colsum_f32,                         \
      vpar__##B##_colnansum_f64, vpar__##B##_colnansum_f32,                   \
      vpar__##B##_colext_f64, vpar__##B##_colext_f32,                         \
      vpar__##B##_addk_f64, vpar__##B##_addk_f32,                             \
      vpar__##B##_accrows_f64, vpar__##B##_accrows_f32,                       \
      vpar__##U##_addk_u32, vpar__##U##_accrows_u32, vpar__##B##_transpose_u32 }
/* AVX-512 CPUs run the AVX2 transpose; NEON: element by element. */
#ifdef VPAR__HAVE_AVX2
#  define vpar__avx512_transpose_u32 vpar__avx2_transpose_u32
#else
#  define vpar__avx512_transpose_u32 vpar__scalar_transpose_u32
#endif
#define vpar__neon_transpose_u32 vpar__scalar_transpose_u32

static const vpar__simd_ops vpar__ops_scalar = VPAR__OPS_TABLE(scalar, VPAR_SIMD_SCALAR);
#ifdef VPAR__HAVE_AVX2
static const vpar__simd_ops vpar__ops_avx2 = VPAR__OPS_TABLE(avx2, VPAR_SIMD_AVX2);
#endif
#ifdef VPAR__HAVE_AVX512
static const vpar__simd_ops vpar__ops_avx512 = VPAR__OPS_TABLE(avx512, VPAR_SIMD_AVX512);
#endif
#ifdef VPAR__HAVE_NEON
static const vpar__simd_ops vpar__ops_neon = VPAR__OPS_TABLE(neon, VPAR_SIMD_NEON);
#endif
#if defined(VPAR__HAVE_AVX2) && defined(VPAR__HAVE_AVX512)
/* What AUTO runs on a CPU with AVX-512: the AVX2 table (see
   vpar_simd_best) except the uint32 accumulate kernels, measured faster
   with 512-bit vectors while the float32 ones were slower (docs/simd.md,
   bench/RESULTS.md 2026-12-03). Results are the same on every path;
   VPAR_SIMD=avx2 selects the plain AVX2 table. */
static const vpar__simd_ops vpar__ops_avx2_u512 = VPAR__OPS_TABLE_U(avx2, avx512, VPAR_SIMD_AVX2);
#endif

/* Compiled-in table of a path, or NULL. */
static const vpar__simd_ops *vpar__simd_table(vpar_simd_path p) {
    switch (p) {
    case VPAR_SIMD_SCALAR: return &vpar__ops_scalar;
#ifdef VPAR__HAVE_AVX2
    case VPAR_SIMD_AVX2: return &vpar__ops_avx2;
#endif
#ifdef VPAR__HAVE_AVX512
    case VPAR_SIMD_AVX512: return &vpar__ops_avx512;
#endif
#ifdef VPAR__HAVE_NEON
    case VPAR_SIMD_NEON: return &vpar__ops_neon;
#endif
    default: return NULL;
    }
}

static int vpar__simd_cpu_has(vpar_simd_path p) {
    switch (p) {
    case VPAR_SIMD_SCALAR: return 1;
#if defined(VPAR__HAVE_AVX2) || defined(VPAR__HAVE_AVX512)
    /* __builtin_cpu_supports also checks that the OS saves the wide
       registers (XGETBV), so a feature it reports is usable. */
    case VPAR_SIMD_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case VPAR_SIMD_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("fma");
#endif
#ifdef VPAR__HAVE_NEON
    case VPAR_SIMD_NEON: return 1;
#endif
    default: return 0;
    }
}

/* The process-wide choice. NULL until first use; set with release order so
   that a reader that sees the pointer sees a fully chosen path. */
static _Atomic(const vpar__simd_ops *) vpar__simd_current;

VPAR_API int vpar_simd_available(vpar_simd_path path) {
    if (path == VPAR_SIMD_AUTO) return 1;
    return vpar__simd_table(path) != NULL && vpar__simd_cpu_has(path);
}

VPAR_API vpar_simd_path vpar_simd_best(void) {
    /* AVX2 before AVX-512: these reductions are bound by memory bandwidth,
       which 512-bit vectors do not raise, while on unaligned data every
       64-byte load splits two cache lines (measured slower from DRAM on the
       development machine) and some CPUs lower their clock for 512-bit
       code. VPAR_SIMD=avx512 or vpar_simd_set_path selects it. */
    static const vpar_simd_path order[] = {VPAR_SIMD_AVX2, VPAR_SIMD_AVX512, VPAR_SIMD_NEON};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (vpar_simd_available(order[i])) return order[i];
    return VPAR_SIMD_SCALAR;
}

/* The table AUTO selects: the best path's, with the exception above. */
static const vpar__simd_ops *vpar__simd_auto_table(void) {
    vpar_simd_path p = vpar_simd_best();
#if defined(VPAR__HAVE_AVX2) && defined(VPAR__HAVE_AVX512)
    if (p == VPAR_SIMD_AVX2 && vpar_simd_available(VPAR_SIMD_AVX512)) return &vpar__ops_avx2_u512;
#endif
    return vpar__simd_table(p);
}

VPAR_API const char *vpar_simd_path_name(vpar_simd_path path) {
    switch (path) {
    case VPAR_SIMD_AUTO: return "auto";
    case VPAR_SIMD_SCALAR: return "scalar";
    case VPAR_SIMD_AVX2: return "avx2";
    case VPAR_SIMD_AVX512: return "avx512";
    case VPAR_SIMD_NEON: return "neon";
    default: return "unknown";
    }
}

VPAR_API vpar_status vpar_simd_path_parse(const char *name, vpar_simd_path *out) {
    if (!name || !out) return vpar_fail(VPAR_ERR_INVALID, "vpar_simd_path_parse: NULL argument");
    for (int p = 0; p < VPAR_SIMD_PATH_COUNT; p++) {
        const char *s = vpar_simd_path_name((vpar_simd_path)p), *t = name;
        while (*s && *t && tolower((unsigned char)*t) == *s) { s++; t++; }
        if (!*s && !*t) {
            *out = (vpar_simd_path)p;
            return VPAR_OK;
        }
    }
    return vpar_fail(VPAR_ERR_INVALID,
                     "unknown SIMD path '%s' (expected scalar, avx2, avx512, neon or auto)", name);
}

/* Why `path` is unavailable, as an error. */
static vpar_status vpar__simd_unavailable(const char *what, vpar_simd_path path) {
    const char *why;
    if (vpar__simd_table(path) == NULL) {
        switch (path) {
        case VPAR_SIMD_NEON: why = "this build has no NEON path (not an aarch64 target, or VPAR_NO_NEON/VPAR_NO_SIMD)"; break;
        case VPAR_SIMD_AVX2: why = "this build has no AVX2 path (not an x86 GCC/clang target, or VPAR_NO_AVX2/VPAR_NO_SIMD)"; break;
        case VPAR_SIMD_AVX512: why = "this build has no AVX-512 path (not an x86 GCC/clang target, or VPAR_NO_AVX512/VPAR_NO_SIMD)"; break;
        default: why = "no such path"; break;
        }
    } else {
        why = path == VPAR_SIMD_AVX2 ? "this CPU lacks AVX2 or FMA"
            : path == VPAR_SIMD_AVX512 ? "this CPU lacks AVX-512F, AVX-512DQ or FMA"
            : "this CPU lacks it";
    }
    return vpar_fail(VPAR_ERR_CPU, "%s%s: %s", what, vpar_simd_path_name(path), why);
}

/* The table of a requested path (AUTO: vpar__simd_auto_table), or an
   error naming `what` when this build or CPU lacks it (*out unchanged). */
static vpar_status vpar__simd_pick(vpar_simd_path p, const char *what, const vpar__simd_ops **out) {
    if (p == VPAR_SIMD_AUTO) {
        *out = vpar__simd_auto_table();
        return VPAR_OK;
    }
    if (!vpar_simd_available(p)) return vpar__simd_unavailable(what, p);
    *out = vpar__simd_table(p);
    return VPAR_OK;
}

/* Reads $VPAR_SIMD. On error *out is the scalar table. */
static vpar_status vpar__simd_from_env(const vpar__simd_ops **out) {
    *out = &vpar__ops_scalar;
    const char *env = getenv("VPAR_SIMD");
    vpar_simd_path p = VPAR_SIMD_AUTO;
    if (env && *env) {
        vpar_status st = vpar_simd_path_parse(env, &p);
        if (st != VPAR_OK)
            return vpar_fail(st, "VPAR_SIMD='%s': unknown path (expected scalar, avx2, avx512, neon or auto)", env);
    }
    return vpar__simd_pick(p, "VPAR_SIMD=", out);
}

static const vpar__simd_ops *vpar__simd_resolve(void) {
    const vpar__simd_ops *t;
    vpar_status st = vpar__simd_from_env(&t);
    const vpar__simd_ops *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&vpar__simd_current, &expected, t,
                                                memory_order_acq_rel, memory_order_acquire)) {
        /* Only the thread that made the choice reports a bad request. */
        if (st != VPAR_OK)
            fprintf(stderr, "vpar: %s; using the scalar path\n", vpar_last_error());
        return t;
    }
    return expected;
}

static inline const vpar__simd_ops *vpar__simd_get(void) {
    const vpar__simd_ops *t = atomic_load_explicit(&vpar__simd_current, memory_order_acquire);
    return t ? t : vpar__simd_resolve();
}

VPAR_API vpar_status vpar_simd_init(void) {
    const vpar__simd_ops *t;
    vpar_status st = vpar__simd_from_env(&t);
    atomic_store_explicit(&vpar__simd_current, t, memory_order_release);
    return st;
}

VPAR_API vpar_status vpar_simd_set_path(vpar_simd_path path) {
    if ((int)path < 0 || path >= VPAR_SIMD_PATH_COUNT)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_simd_set_path: no path numbered %d", (int)path);
    const vpar__simd_ops *t;
    vpar_status st = vpar__simd_pick(path, "vpar_simd_set_path: ", &t);
    if (st != VPAR_OK) return st;
    atomic_store_explicit(&vpar__simd_current, t, memory_order_release);
    return VPAR_OK;
}

VPAR_API vpar_simd_path vpar_simd_active(void) { return vpar__simd_get()->path; }

/* ---- the public functions, once per element type -------------------------- */
#define VPAR__SIMD_TEMPLATE 2
#define VPAR__T double
#define VPAR__SFX f64
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#define VPAR__T float
#define VPAR__SFX f32
#include "simd.h"
#undef VPAR__T
#undef VPAR__SFX
#undef VPAR__SIMD_TEMPLATE

VPAR_API vpar_status vpar_rowsums_f64(const double *a, size_t nrows, size_t ncols,
                                      size_t ld, double *out) {
    return vpar_reduce_axis_f64(VPAR_AXIS_SUM, 1, a, nrows, ncols, ld, out, NULL);
}

VPAR_API vpar_status vpar_colsums_f64(const double *a, size_t nrows, size_t ncols,
                                      size_t ld, double *out) {
    return vpar_reduce_axis_f64(VPAR_AXIS_SUM, 0, a, nrows, ncols, ld, out, NULL);
}

/* ---- accumulate kernels ----------------------------------------------------
   Columns per tile of the row versions: 2048 doubles (16 KiB) of
   accumulator stay in L1 while the row groups stream past. */
#ifndef VPAR__ACCTILE
#  define VPAR__ACCTILE 2048
#endif

VPAR_API void vpar_acc_f64(double *acc, const double *x, size_t n) {
    if (n == 0) return;
    VPAR_ASSERT(acc && x);
    vpar__simd_get()->addk_f64(acc, &x, 1, n);
}

VPAR_API void vpar_acc_f32_f64(double *acc, const float *x, size_t n) {
    if (n == 0) return;
    VPAR_ASSERT(acc && x);
    vpar__simd_get()->addk_f32(acc, &x, 1, n);
}

/* Rows in groups of 4, then a pair, then a single (the documented order),
   tile by tile. */
#define VPAR__ACC_ROWS_BODY(KERNEL)                                                  \
    if (nrows == 0 || c1 <= c0) return;                                              \
    VPAR_ASSERT(acc && m && rows);                                                   \
    const vpar__simd_ops *ops = vpar__simd_get();                                   \
    for (size_t t0 = c0; t0 < c1; t0 += VPAR__ACCTILE) {                            \
        size_t len = c1 - t0 < VPAR__ACCTILE ? c1 - t0 : VPAR__ACCTILE;             \
        ops->KERNEL(acc + (t0 - c0), m, ld, rows, nrows, t0, len);                   \
    }

VPAR_API void vpar_acc_rows_f64(double *acc, const double *m, size_t ld, const uint32_t *rows,
                                size_t nrows, size_t c0, size_t c1) {
    VPAR__ACC_ROWS_BODY(accrows_f64)
}

VPAR_API void vpar_acc_rows_f32_f64(double *acc, const float *m, size_t ld, const uint32_t *rows,
                                    size_t nrows, size_t c0, size_t c1) {
    VPAR__ACC_ROWS_BODY(accrows_f32)
}

VPAR_API void vpar_acc_u32_f64(double *acc, const uint32_t *x, size_t n) {
    if (n == 0) return;
    VPAR_ASSERT(acc && x);
    vpar__simd_get()->addk_u32(acc, &x, 1, n);
}

VPAR_API void vpar_acc_rows_u32_f64(double *acc, const uint32_t *m, size_t ld, const uint32_t *rows,
                                    size_t nrows, size_t c0, size_t c1) {
    VPAR__ACC_ROWS_BODY(accrows_u32)
}

VPAR_API void vpar_transpose_u32(uint32_t *dst, size_t ldd, const uint32_t *src, size_t lds,
                                 size_t rows, size_t cols) {
    if (rows == 0 || cols == 0) return;
    VPAR_ASSERT(dst && src);
    vpar__simd_get()->transpose_u32(dst, ldd, src, lds, rows, cols);
}
#undef VPAR__ACC_ROWS_BODY

#endif /* VPAR_IMPLEMENTATION */

#elif VPAR__SIMD_TEMPLATE == 1
/* ======================================================================== */
/* Kernels of one path (VPAR__B, VPAR__W lanes per vector, VPAR__TARGET)     */
/* for one element type (VPAR__T, suffix VPAR__SFX). Included by the         */
/* implementation above; never include this part directly.                   */
/* ======================================================================== */
#define VPAR__P(op) VPAR__CAT3(vpar__, VPAR__B, op)
#define VPAR__K(op) VPAR__CAT4(vpar__, VPAR__B, op, VPAR__SFX)
#define VPAR__VD VPAR__P(_vd)
#define VPAR__VM VPAR__P(_vm)
#define VPAR__VC VPAR__P(_vc)
#define VPAR__LD(p) VPAR__CAT4(vpar__, VPAR__B, _ld_, VPAR__SFX)(p)
#define VPAR__NACC (VPAR__LANES / VPAR__W)

#ifndef VPAR__ACC_ONLY   /* uint32: only the accumulate kernels below */
/* Pairwise sum of op(x[i]) (see ACCURACY): op selects sum, nansum (with
   the count of non-NaN values), dot, sum of squared deviations from c,
   and the same skipping NaN. `op` is a constant at every call site, so
   each wrapper below compiles to one specialised loop. */
static VPAR__INLINE VPAR__TARGET double VPAR__K(_pwi_)(int op, const VPAR__T *x,
        const VPAR__T *y, size_t n, double c, size_t *count) {
    vpar__pw pw;
    vpar__pw_init(&pw);
    VPAR__VC cnt = VPAR__P(_czero)();
    size_t tailcnt = 0;
    const VPAR__VD vc = VPAR__P(_set1)(c);
    for (size_t i = 0; i < n; i += VPAR__BLOCK) {
        size_t len = n - i < VPAR__BLOCK ? n - i : VPAR__BLOCK;
        const VPAR__T *p = x + i;
        const VPAR__T *q = op == VPAR__OP_DOT ? y + i : p;
        VPAR__VD acc[VPAR__NACC];
        VPAR__UNROLL
        for (int k = 0; k < VPAR__NACC; k++) acc[k] = VPAR__P(_set1)(0.0);
        size_t g = 0;
        /* Not unrolled: GCC would unroll this (at most 8 trips) completely,
           and the straight-line block streams ~15% slower from memory. */
        VPAR__NO_UNROLL
        for (; g + VPAR__LANES <= len; g += VPAR__LANES) {
            VPAR__UNROLL
            for (int k = 0; k < VPAR__NACC; k++) {
                VPAR__VD v = VPAR__LD(p + g + (size_t)k * VPAR__W);
                if (op == VPAR__OP_SUM) {
                    acc[k] = VPAR__P(_add)(acc[k], v);
                } else if (op == VPAR__OP_NANSUM || op == VPAR__OP_NANSUM_NC) {
                    if (op == VPAR__OP_NANSUM) cnt = VPAR__P(_cadd)(cnt, VPAR__P(_isnum)(v));
                    acc[k] = VPAR__P(_add)(acc[k], VPAR__P(_znan)(v));
                } else if (op == VPAR__OP_DOT) {
                    acc[k] = VPAR__P(_fma)(v, VPAR__LD(q + g + (size_t)k * VPAR__W), acc[k]);
                } else {
                    VPAR__VD d = VPAR__P(_sub)(v, vc);
                    /* Skip NaN x, but keep the NaN of an x - c with c NaN. */
                    if (op == VPAR__OP_NANSSD) d = VPAR__P(_sel)(VPAR__P(_isnum)(v), d, VPAR__P(_set1)(0.0));
                    acc[k] = VPAR__P(_fma)(d, d, acc[k]);
                }
            }
        }
        double leaf;
        if (g == len) {
            /* Lane L of register k is logical lane k*W + L: combining
               registers k and k + h adds logical lanes L and L + h*W, the
               first levels of the same tree vpar__tree_add builds. */
            for (int h = VPAR__NACC / 2; h >= 1; h /= 2)
                for (int k = 0; k < h; k++) acc[k] = VPAR__P(_add)(acc[k], acc[k + h]);
            double lanes[VPAR__W];
            VPAR__P(_st)(lanes, acc[0]);
            leaf = vpar__tree_add(lanes, VPAR__W);
        } else {
            double lanes[VPAR__LANES];
            for (int k = 0; k < VPAR__NACC; k++) VPAR__P(_st)(lanes + k * VPAR__W, acc[k]);
            for (size_t o = 0; g + o < len; o++) {
                double v = (double)p[g + o];
                if (op == VPAR__OP_SUM) {
                    lanes[o] += v;
                } else if (op == VPAR__OP_NANSUM || op == VPAR__OP_NANSUM_NC) {
                    tailcnt += v == v;
                    lanes[o] += v == v ? v : 0.0;
                } else if (op == VPAR__OP_DOT) {
                    lanes[o] = VPAR__P(_sfma)(v, (double)q[g + o], lanes[o]);
                } else {
                    double d = v - c;
                    if (op == VPAR__OP_NANSSD && v != v) d = 0.0;
                    lanes[o] = VPAR__P(_sfma)(d, d, lanes[o]);
                }
            }
            leaf = vpar__tree_add(lanes, VPAR__LANES);
        }
        vpar__pw_push(&pw, leaf);
    }
    if (count) *count = VPAR__P(_ctotal)(cnt) + tailcnt;
    return vpar__pw_finish(&pw);
}

static VPAR__TARGET double VPAR__K(_pw_)(int op, const VPAR__T *x, const VPAR__T *y,
                                         size_t n, double c, size_t *count) {
    switch (op) {
    case VPAR__OP_SUM: return VPAR__K(_pwi_)(VPAR__OP_SUM, x, y, n, c, count);
    case VPAR__OP_NANSUM:
        if (!count) return VPAR__K(_pwi_)(VPAR__OP_NANSUM_NC, x, y, n, c, NULL);
        return VPAR__K(_pwi_)(VPAR__OP_NANSUM, x, y, n, c, count);
    case VPAR__OP_DOT: return VPAR__K(_pwi_)(VPAR__OP_DOT, x, y, n, c, count);
    case VPAR__OP_SSD: return VPAR__K(_pwi_)(VPAR__OP_SSD, x, y, n, c, count);
    default: return VPAR__K(_pwi_)(VPAR__OP_NANSSD, x, y, n, c, count);
    }
}

/* Min or max of the non-NaN values in the same 32-lane layout (so that
   even the sign of a zero result is the same on every path), plus flags. */
static VPAR__INLINE VPAR__TARGET void VPAR__K(_exti_)(int want_max, const VPAR__T *x,
                                                     size_t n, vpar__ext *r) {
    VPAR__VD acc[VPAR__NACC];
    const double init = want_max ? -INFINITY : INFINITY;
    VPAR__UNROLL
    for (int k = 0; k < VPAR__NACC; k++) acc[k] = VPAR__P(_set1)(init);
    VPAR__VM fnan = VPAR__P(_mzero)(), fnum = VPAR__P(_mzero)();
    size_t g = 0;
    for (; g + VPAR__LANES <= n; g += VPAR__LANES) {
        VPAR__UNROLL
        for (int k = 0; k < VPAR__NACC; k++) {
            VPAR__VD v = VPAR__LD(x + g + (size_t)k * VPAR__W);
            fnan = VPAR__P(_mor)(fnan, VPAR__P(_isnan)(v));
            fnum = VPAR__P(_mor)(fnum, VPAR__P(_isnum)(v));
            acc[k] = want_max ? VPAR__P(_maxsel)(v, acc[k]) : VPAR__P(_minsel)(v, acc[k]);
        }
    }
    double lanes[VPAR__LANES];
    for (int k = 0; k < VPAR__NACC; k++) VPAR__P(_st)(lanes + k * VPAR__W, acc[k]);
    int has_nan = VPAR__P(_many)(fnan), has_num = VPAR__P(_many)(fnum);
    for (size_t o = 0; g + o < n; o++) {
        double v = (double)x[g + o];
        if (v != v) {
            has_nan = 1;
        } else {
            has_num = 1;
            lanes[o] = want_max ? (v > lanes[o] ? v : lanes[o]) : (v < lanes[o] ? v : lanes[o]);
        }
    }
    r->v = vpar__tree_ext(lanes, VPAR__LANES, want_max);
    r->has_nan = has_nan;
    r->has_num = has_num;
}

static VPAR__TARGET void VPAR__K(_ext_)(int want_max, const VPAR__T *x, size_t n, vpar__ext *r) {
    if (want_max) VPAR__K(_exti_)(1, x, n, r);
    else VPAR__K(_exti_)(0, x, n, r);
}

static VPAR__TARGET size_t VPAR__K(_count_finite_)(const VPAR__T *x, size_t n) {
    VPAR__VC c = VPAR__P(_czero)();
    size_t i = 0;
    /* x - x is 0 for finite x and NaN for +-inf and NaN. */
    for (; i + VPAR__W <= n; i += VPAR__W) {
        VPAR__VD v = VPAR__LD(x + i);
        c = VPAR__P(_cadd)(c, VPAR__P(_isnum)(VPAR__P(_sub)(v, v)));
    }
    size_t t = VPAR__P(_ctotal)(c);
    for (; i < n; i++) {
        double v = (double)x[i];
        t += (v - v) == 0.0;
    }
    return t;
}

/* vpar_range_by_sign_*: per lane, v < 0 goes to the first pair, the rest
   to the second; NaN compares false everywhere, so as the first operand
   of minsel/maxsel it leaves the accumulator as it was. */
static VPAR__TARGET void VPAR__K(_signrange_)(const VPAR__T *x, size_t n, double *mm, size_t *nan) {
    const VPAR__VD pinf = VPAR__P(_set1)(INFINITY), ninf = VPAR__P(_set1)(-INFINITY);
    const VPAR__VD zero = VPAR__P(_set1)(0.0);
    VPAR__VD mn0 = pinf, mx0 = ninf, mn1 = pinf, mx1 = ninf;
    VPAR__VC c = VPAR__P(_czero)();
    size_t i = 0;
    for (; i + VPAR__W <= n; i += VPAR__W) {
        VPAR__VD v = VPAR__LD(x + i);
        VPAR__VM neg = VPAR__P(_lt)(v, zero);
        c = VPAR__P(_cadd)(c, VPAR__P(_isnan)(v));
        mn0 = VPAR__P(_minsel)(VPAR__P(_sel)(neg, v, pinf), mn0);
        mx0 = VPAR__P(_maxsel)(VPAR__P(_sel)(neg, v, ninf), mx0);
        mn1 = VPAR__P(_minsel)(VPAR__P(_sel)(neg, pinf, v), mn1);
        mx1 = VPAR__P(_maxsel)(VPAR__P(_sel)(neg, ninf, v), mx1);
    }
    double l[4][VPAR__W];
    VPAR__P(_st)(l[0], mn0);
    VPAR__P(_st)(l[1], mx0);
    VPAR__P(_st)(l[2], mn1);
    VPAR__P(_st)(l[3], mx1);
    for (int k = 0; k < VPAR__W; k++) {
        mm[0] = l[0][k] < mm[0] ? l[0][k] : mm[0];
        mm[1] = l[1][k] > mm[1] ? l[1][k] : mm[1];
        mm[2] = l[2][k] < mm[2] ? l[2][k] : mm[2];
        mm[3] = l[3][k] > mm[3] ? l[3][k] : mm[3];
    }
    size_t bad = VPAR__P(_ctotal)(c);
    for (; i < n; i++) {
        double v = (double)x[i];
        if (v != v) {
            bad++;
        } else if (v < 0) {
            mm[0] = v < mm[0] ? v : mm[0];
            mm[1] = v > mm[1] ? v : mm[1];
        } else {
            mm[2] = v < mm[2] ? v : mm[2];
            mm[3] = v > mm[3] ? v : mm[3];
        }
    }
    *nan += bad;
}

#endif /* !VPAR__ACC_ONLY */
#define VPAR__LDACC(p) VPAR__CAT3(vpar__, VPAR__B, _ld_f64)(p)
#ifndef VPAR__ACC_ONLY

/* Column kernels: add (or min/max) nr <= 4 consecutive rows x, x + ld, ...
   into the accumulators acc[0..n), in row order: acc = ((acc + r0) + r1)
   + ... exactly as one row at a time, but with one load and one store of
   acc per 4 rows. `nr` is a constant in every specialisation. */

static VPAR__INLINE VPAR__TARGET void VPAR__K(_colsumi_)(double *acc, const VPAR__T *x, size_t ld,
                                                        int nr, size_t n) {
    size_t j = 0;
    for (; j + VPAR__W <= n; j += VPAR__W) {
        VPAR__VD a = VPAR__LDACC(acc + j);
        for (int r = 0; r < nr; r++) a = VPAR__P(_add)(a, VPAR__LD(x + (size_t)r * ld + j));
        VPAR__P(_st)(acc + j, a);
    }
    for (; j < n; j++)
        for (int r = 0; r < nr; r++) acc[j] += (double)x[(size_t)r * ld + j];
}

static VPAR__TARGET void VPAR__K(_colsum_)(double *acc, const VPAR__T *x, size_t ld, int nr, size_t n) {
    switch (nr) {
    case 4: VPAR__K(_colsumi_)(acc, x, ld, 4, n); break;
    case 3: VPAR__K(_colsumi_)(acc, x, ld, 3, n); break;
    case 2: VPAR__K(_colsumi_)(acc, x, ld, 2, n); break;
    default: VPAR__K(_colsumi_)(acc, x, ld, 1, n); break;
    }
}

static VPAR__INLINE VPAR__TARGET void VPAR__K(_colnansumi_)(double *acc, double *cnt, const VPAR__T *x,
                                                           size_t ld, int nr, size_t n) {
    size_t j = 0;
    const VPAR__VD one = VPAR__P(_set1)(1.0), zero = VPAR__P(_set1)(0.0);
    for (; j + VPAR__W <= n; j += VPAR__W) {
        VPAR__VD a = VPAR__LDACC(acc + j);
        VPAR__VD c = cnt ? VPAR__LDACC(cnt + j) : zero;
        for (int r = 0; r < nr; r++) {
            VPAR__VD v = VPAR__LD(x + (size_t)r * ld + j);
            a = VPAR__P(_add)(a, VPAR__P(_znan)(v));
            if (cnt) c = VPAR__P(_add)(c, VPAR__P(_sel)(VPAR__P(_isnum)(v), one, zero));
        }
        VPAR__P(_st)(acc + j, a);
        if (cnt) VPAR__P(_st)(cnt + j, c);
    }
    for (; j < n; j++)
        for (int r = 0; r < nr; r++) {
            double v = (double)x[(size_t)r * ld + j];
            acc[j] += v == v ? v : 0.0;
            if (cnt) cnt[j] += v == v ? 1.0 : 0.0;
        }
}

static VPAR__TARGET void VPAR__K(_colnansum_)(double *acc, double *cnt, const VPAR__T *x, size_t ld,
                                              int nr, size_t n) {
    switch (nr) {
    case 4: VPAR__K(_colnansumi_)(acc, cnt, x, ld, 4, n); break;
    case 3: VPAR__K(_colnansumi_)(acc, cnt, x, ld, 3, n); break;
    case 2: VPAR__K(_colnansumi_)(acc, cnt, x, ld, 2, n); break;
    default: VPAR__K(_colnansumi_)(acc, cnt, x, ld, 1, n); break;
    }
}

/* acc[j] = min/max(acc[j], x[j]) with NaN propagation: a NaN in x
   replaces acc[j], and a NaN acc[j] is never replaced. */
static VPAR__INLINE VPAR__TARGET void VPAR__K(_colexti_)(int want_max, double *acc, const VPAR__T *x,
                                                        size_t ld, int nr, size_t n) {
    size_t j = 0;
    for (; j + VPAR__W <= n; j += VPAR__W) {
        VPAR__VD a = VPAR__LDACC(acc + j);
        for (int r = 0; r < nr; r++) {
            VPAR__VD v = VPAR__LD(x + (size_t)r * ld + j);
            VPAR__VM m = want_max ? VPAR__P(_gt)(v, a) : VPAR__P(_lt)(v, a);
            m = VPAR__P(_mor)(m, VPAR__P(_isnan)(v));
            a = VPAR__P(_sel)(m, v, a);
        }
        VPAR__P(_st)(acc + j, a);
    }
    for (; j < n; j++)
        for (int r = 0; r < nr; r++) {
            double a = acc[j], v = (double)x[(size_t)r * ld + j];
            if ((want_max ? v > a : v < a) || v != v) acc[j] = v;
        }
}

static VPAR__TARGET void VPAR__K(_colext_)(int want_max, double *acc, const VPAR__T *x, size_t ld,
                                           int nr, size_t n) {
    if (want_max) {
        if (nr == 4) VPAR__K(_colexti_)(1, acc, x, ld, 4, n);
        else VPAR__K(_colexti_)(1, acc, x, ld, 1, n);
    } else {
        if (nr == 4) VPAR__K(_colexti_)(0, acc, x, ld, 4, n);
        else VPAR__K(_colexti_)(0, acc, x, ld, 1, n);
    }
}
#endif /* !VPAR__ACC_ONLY */
/* Accumulate kernel (see "accumulate kernels" above): with k rows r,
   acc[i] = acc[i] + ((r0[i] + r1[i]) + (r2[i] + r3[i])) for k == 4,
   acc[i] + (r0[i] + r1[i]) for k == 2, acc[i] + r0[i] for k == 1; the
   vector body and the scalar tail compute the same expression. `k` is a
   constant in every specialisation. */
static VPAR__INLINE VPAR__TARGET void VPAR__K(_addki_)(double *acc, const VPAR__T *const *r, int k,
                                                      size_t n) {
    size_t i = 0;
#ifdef VPAR__ACC_ONLY
    /* uint32 rows: the k values are added in 64-bit integer lanes (exact:
       below 2^34) and converted once; for integers below 2^53 this is the
       value of the floating-point expression above, bit for bit */
#  define VPAR__LDQ(p) VPAR__P(_ldq_u32)(p)
    if (k == 4) {
        const VPAR__T *a = r[0], *b = r[1], *c = r[2], *d = r[3];
        for (; i + VPAR__W <= n; i += VPAR__W) {
            VPAR__P(_vq) q = VPAR__P(_addq)(VPAR__P(_addq)(VPAR__LDQ(a + i), VPAR__LDQ(b + i)),
                                            VPAR__P(_addq)(VPAR__LDQ(c + i), VPAR__LDQ(d + i)));
            VPAR__P(_st)(acc + i, VPAR__P(_add)(VPAR__LDACC(acc + i), VPAR__P(_cvtq)(q)));
        }
        for (; i < n; i++) acc[i] = acc[i] + (double)((uint64_t)a[i] + b[i] + c[i] + d[i]);
    } else if (k == 2) {
        const VPAR__T *a = r[0], *b = r[1];
        for (; i + VPAR__W <= n; i += VPAR__W)
            VPAR__P(_st)(acc + i, VPAR__P(_add)(VPAR__LDACC(acc + i),
                                                VPAR__P(_cvtq)(VPAR__P(_addq)(VPAR__LDQ(a + i), VPAR__LDQ(b + i)))));
        for (; i < n; i++) acc[i] = acc[i] + (double)((uint64_t)a[i] + b[i]);
    } else {
        const VPAR__T *a = r[0];
        for (; i + VPAR__W <= n; i += VPAR__W)
            VPAR__P(_st)(acc + i, VPAR__P(_add)(VPAR__LDACC(acc + i), VPAR__P(_cvtq)(VPAR__LDQ(a + i))));
        for (; i < n; i++) acc[i] = acc[i] + (double)a[i];
    }
#  undef VPAR__LDQ
#else
    if (k == 4) {
        const VPAR__T *a = r[0], *b = r[1], *c = r[2], *d = r[3];
        for (; i + VPAR__W <= n; i += VPAR__W) {
            VPAR__VD s = VPAR__P(_add)(VPAR__P(_add)(VPAR__LD(a + i), VPAR__LD(b + i)),
                                       VPAR__P(_add)(VPAR__LD(c + i), VPAR__LD(d + i)));
            VPAR__P(_st)(acc + i, VPAR__P(_add)(VPAR__LDACC(acc + i), s));
        }
        for (; i < n; i++)
            acc[i] = acc[i] + (((double)a[i] + (double)b[i]) + ((double)c[i] + (double)d[i]));
    } else if (k == 2) {
        const VPAR__T *a = r[0], *b = r[1];
        for (; i + VPAR__W <= n; i += VPAR__W)
            VPAR__P(_st)(acc + i, VPAR__P(_add)(VPAR__LDACC(acc + i),
                                                VPAR__P(_add)(VPAR__LD(a + i), VPAR__LD(b + i))));
        for (; i < n; i++) acc[i] = acc[i] + ((double)a[i] + (double)b[i]);
    } else {
        const VPAR__T *a = r[0];
        for (; i + VPAR__W <= n; i += VPAR__W)
            VPAR__P(_st)(acc + i, VPAR__P(_add)(VPAR__LDACC(acc + i), VPAR__LD(a + i)));
        for (; i < n; i++) acc[i] = acc[i] + (double)a[i];
    }
#endif
}

static VPAR__TARGET void VPAR__K(_addk_)(double *acc, const VPAR__T *const *r, int k, size_t n) {
    switch (k) {
    case 4: VPAR__K(_addki_)(acc, r, 4, n); break;
    case 2: VPAR__K(_addki_)(acc, r, 2, n); break;
    default: VPAR__K(_addki_)(acc, r, 1, n); break;
    }
}

/* The rows of vpar_acc_rows_* over one column tile: acc[0..len) += the
   columns [c0, c0 + len) of the listed rows of m, in groups of 4, then a
   pair, then a single (the documented order; the first rows in blocks
   of 16: uint32 summed in any order, floats as four groups of 4 in
   order), with the kernel above inlined: one call per tile instead of
   one per row group. */
static VPAR__TARGET void VPAR__K(_accrows_)(double *acc, const VPAR__T *m, size_t ld,
                                            const uint32_t *rows, size_t nrows, size_t c0,
                                            size_t len) {
    const VPAR__T *r[4];
    size_t q = 0;
    /* The first rows 16 at a time: one load and one store of acc per 16
       rows. uint32 rows: their sums are exact integers, the same in any
       order (vpar_acc_rows_u32_f64), summed in 64-bit lanes: EGAD's fold
       sums of a full-size aggregation step's rank codes took 0.94-0.98 s
       in groups of 4, 0.84-0.86 s in groups of 16. Float rows: four
       groups of 4, each summed and added to acc in the documented order,
       acc held in a register between them: the same operations on the
       same values as four calls of the group-of-4 kernel, so the same
       bits (vpar-egad's terms phase at 2,500 genes 70.9 -> 66.3 ms).
       bench/RESULTS.md, 2026-12-03. */
    for (; q + 16 <= nrows; q += 16) {
        const VPAR__T *a[16];
        for (int x = 0; x < 16; x++) a[x] = m + (size_t)rows[q + (size_t)x] * ld + c0;
        size_t i = 0;
#ifdef VPAR__ACC_ONLY
        for (; i + VPAR__W <= len; i += VPAR__W) {
            VPAR__P(_vq) t[4];
            for (int x = 0; x < 4; x++)
                t[x] = VPAR__P(_addq)(VPAR__P(_addq)(VPAR__P(_ldq_u32)(a[4 * x] + i),
                                                     VPAR__P(_ldq_u32)(a[4 * x + 1] + i)),
                                      VPAR__P(_addq)(VPAR__P(_ldq_u32)(a[4 * x + 2] + i),
                                                     VPAR__P(_ldq_u32)(a[4 * x + 3] + i)));
            VPAR__P(_vq) u = VPAR__P(_addq)(VPAR__P(_addq)(t[0], t[1]), VPAR__P(_addq)(t[2], t[3]));
            VPAR__P(_st)(acc + i, VPAR__P(_add)(VPAR__LDACC(acc + i), VPAR__P(_cvtq)(u)));
        }
        for (; i < len; i++) {
            uint64_t u = 0;
            for (int x = 0; x < 16; x++) u += a[x][i];
            acc[i] = acc[i] + (double)u;
        }
#else
        for (; i + VPAR__W <= len; i += VPAR__W) {
            VPAR__VD s = VPAR__LDACC(acc + i);
            for (int x = 0; x < 4; x++)
                s = VPAR__P(_add)(s, VPAR__P(_add)(VPAR__P(_add)(VPAR__LD(a[4 * x] + i),
                                                                 VPAR__LD(a[4 * x + 1] + i)),
                                                   VPAR__P(_add)(VPAR__LD(a[4 * x + 2] + i),
                                                                 VPAR__LD(a[4 * x + 3] + i))));
            VPAR__P(_st)(acc + i, s);
        }
        for (; i < len; i++) {
            double s = acc[i];
            for (int x = 0; x < 4; x++)
                s = s + (((double)a[4 * x][i] + (double)a[4 * x + 1][i]) +
                         ((double)a[4 * x + 2][i] + (double)a[4 * x + 3][i]));
            acc[i] = s;
        }
#endif
    }
    for (; q + 4 <= nrows; q += 4) {
        for (int x = 0; x < 4; x++) r[x] = m + (size_t)rows[q + (size_t)x] * ld + c0;
        VPAR__K(_addki_)(acc, r, 4, len);
    }
    if (nrows - q >= 2) {
        r[0] = m + (size_t)rows[q] * ld + c0;
        r[1] = m + (size_t)rows[q + 1] * ld + c0;
        VPAR__K(_addki_)(acc, r, 2, len);
        q += 2;
    }
    if (q < nrows) {
        r[0] = m + (size_t)rows[q] * ld + c0;
        VPAR__K(_addki_)(acc, r, 1, len);
    }
}
#undef VPAR__LDACC

#undef VPAR__P
#undef VPAR__K
#undef VPAR__VD
#undef VPAR__VM
#undef VPAR__VC
#undef VPAR__LD
#undef VPAR__NACC

#elif VPAR__SIMD_TEMPLATE == 2
/* ======================================================================== */
/* Public functions for one element type (VPAR__T, suffix VPAR__SFX).        */
/* ======================================================================== */
#define VPAR__F(name) VPAR__CAT3(vpar_, name, VPAR__SFX)
#define VPAR__FP(name) VPAR__CAT4(vpar_, name, VPAR__SFX, _par)
#define VPAR__I(name) VPAR__CAT3(vpar__, name, VPAR__SFX)
#define VPAR__OPF(field) VPAR__CAT3(field, _, VPAR__SFX)
#define VPAR__NAME(name) #name "_" VPAR__STR(VPAR__SFX)

static inline double VPAR__I(pw_)(int op, const VPAR__T *x, const VPAR__T *y, size_t n,
                                  double c, size_t *count) {
    if (n == 0) {
        if (count) *count = 0;
        return 0.0;
    }
    return vpar__simd_get()->VPAR__OPF(pw)(op, x, y, n, c, count);
}

VPAR_API double VPAR__F(sum_)(const VPAR__T *x, size_t n) {
    VPAR_ASSERT(x || n == 0);
    return VPAR__I(pw_)(VPAR__OP_SUM, x, NULL, n, 0.0, NULL);
}

VPAR_API double VPAR__F(mean_)(const VPAR__T *x, size_t n) {
    VPAR_ASSERT(x || n == 0);
    if (n == 0) return NAN;
    return VPAR__I(pw_)(VPAR__OP_SUM, x, NULL, n, 0.0, NULL) / (double)n;
}

VPAR_API double VPAR__F(nansum_)(const VPAR__T *x, size_t n) {
    VPAR_ASSERT(x || n == 0);
    return VPAR__I(pw_)(VPAR__OP_NANSUM, x, NULL, n, 0.0, NULL);
}

VPAR_API double VPAR__F(nanmean_)(const VPAR__T *x, size_t n) {
    VPAR_ASSERT(x || n == 0);
    size_t cnt;
    double s = VPAR__I(pw_)(VPAR__OP_NANSUM, x, NULL, n, 0.0, &cnt);
    return cnt ? s / (double)cnt : NAN;
}

VPAR_API double VPAR__F(dot_)(const VPAR__T *x, const VPAR__T *y, size_t n) {
    VPAR_ASSERT((x && y) || n == 0);
    return VPAR__I(pw_)(VPAR__OP_DOT, x, y, n, 0.0, NULL);
}

VPAR_API double VPAR__F(sumsq_)(const VPAR__T *x, size_t n) {
    VPAR_ASSERT(x || n == 0);
    return VPAR__I(pw_)(VPAR__OP_SSD, x, NULL, n, 0.0, NULL);
}

VPAR_API double VPAR__F(var_)(const VPAR__T *x, size_t n, int ddof) {
    VPAR_ASSERT(x || n == 0);
    if (n == 0) return NAN;
    double mean = VPAR__I(pw_)(VPAR__OP_SUM, x, NULL, n, 0.0, NULL) / (double)n;
    double ssd = VPAR__I(pw_)(VPAR__OP_SSD, x, NULL, n, mean, NULL);
    double dof = (double)n - (double)ddof;
    return ssd / (dof > 0.0 ? dof : 0.0);
}

VPAR_API double VPAR__F(std_)(const VPAR__T *x, size_t n, int ddof) {
    return sqrt(VPAR__F(var_)(x, n, ddof));
}

VPAR_API double VPAR__F(nanvar_)(const VPAR__T *x, size_t n, int ddof) {
    VPAR_ASSERT(x || n == 0);
    size_t cnt;
    double s = VPAR__I(pw_)(VPAR__OP_NANSUM, x, NULL, n, 0.0, &cnt);
    double dof = (double)cnt - (double)ddof;
    if (cnt == 0 || dof <= 0.0) return NAN;
    double ssd = VPAR__I(pw_)(VPAR__OP_NANSSD, x, NULL, n, s / (double)cnt, NULL);
    return ssd / dof;
}

VPAR_API double VPAR__F(nanstd_)(const VPAR__T *x, size_t n, int ddof) {
    return sqrt(VPAR__F(nanvar_)(x, n, ddof));
}

VPAR_API size_t VPAR__F(count_finite_)(const VPAR__T *x, size_t n) {
    VPAR_ASSERT(x || n == 0);
    if (n == 0) return 0;
    return vpar__simd_get()->VPAR__OPF(count_finite)(x, n);
}

VPAR_API void VPAR__F(range_by_sign_)(const VPAR__T *x, size_t n, double mm[4], size_t *nan) {
    VPAR_ASSERT((x || n == 0) && mm && nan);
    if (n == 0) return;
    vpar__simd_get()->VPAR__OPF(signrange)(x, n, mm, nan);
}

/* Shared argument checks of the status-returning reductions. */
static vpar_status VPAR__I(check_)(const char *fn, const VPAR__T *x, size_t n, const void *out) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "%s: out is NULL", fn);
    if (n == 0)
        return vpar_fail(VPAR_ERR_INVALID,
                         "%s: empty input (n == 0) has no %s (numpy raises ValueError)", fn,
                         strstr(fn, "max") ? "maximum" : "minimum");
    if (!x) return vpar_fail(VPAR_ERR_INVALID, "%s: x is NULL but n = %zu", fn, n);
    return VPAR_OK;
}

static vpar_status VPAR__I(ext_)(const char *fn, int want_max, int skipnan, const VPAR__T *x,
                                 size_t n, VPAR__T *out) {
    vpar_status st = VPAR__I(check_)(fn, x, n, out);
    if (st != VPAR_OK) return st;
    vpar__ext r;
    vpar__simd_get()->VPAR__OPF(ext)(want_max, x, n, &r);
    if (skipnan) *out = r.has_num ? (VPAR__T)r.v : (VPAR__T)NAN;
    else *out = r.has_nan ? (VPAR__T)NAN : (VPAR__T)r.v;
    return VPAR_OK;
}

VPAR_API vpar_status VPAR__F(min_)(const VPAR__T *x, size_t n, VPAR__T *out) {
    return VPAR__I(ext_)(VPAR__NAME(vpar_min), 0, 0, x, n, out);
}
VPAR_API vpar_status VPAR__F(max_)(const VPAR__T *x, size_t n, VPAR__T *out) {
    return VPAR__I(ext_)(VPAR__NAME(vpar_max), 1, 0, x, n, out);
}
VPAR_API vpar_status VPAR__F(nanmin_)(const VPAR__T *x, size_t n, VPAR__T *out) {
    return VPAR__I(ext_)(VPAR__NAME(vpar_nanmin), 0, 1, x, n, out);
}
VPAR_API vpar_status VPAR__F(nanmax_)(const VPAR__T *x, size_t n, VPAR__T *out) {
    return VPAR__I(ext_)(VPAR__NAME(vpar_nanmax), 1, 1, x, n, out);
}

/* One pass from memory: each block's extreme comes from the vector kernel
   while the block is in cache; only the winning block is rescanned. */
static vpar_status VPAR__I(arg_)(const char *fn, int want_max, int skipnan, const VPAR__T *x,
                                 size_t n, size_t *out) {
    vpar_status st = VPAR__I(check_)(fn, x, n, out);
    if (st != VPAR_OK) return st;
    const vpar__simd_ops *ops = vpar__simd_get();
    size_t best_blk = SIZE_MAX;
    double best = 0.0;
    for (size_t b = 0; b < n; b += VPAR__ARGBLOCK) {
        size_t len = n - b < VPAR__ARGBLOCK ? n - b : VPAR__ARGBLOCK;
        vpar__ext r;
        ops->VPAR__OPF(ext)(want_max, x + b, len, &r);
        if (r.has_nan && !skipnan) {
            for (size_t i = b; i < b + len; i++)
                if (x[i] != x[i]) {
                    *out = i;
                    return VPAR_OK;
                }
        }
        if (!r.has_num) continue;
        if (best_blk == SIZE_MAX || (want_max ? r.v > best : r.v < best)) {
            best = r.v;
            best_blk = b;
        }
    }
    if (best_blk == SIZE_MAX)
        return vpar_fail(VPAR_ERR_INVALID,
                         "%s: all %zu values are NaN (numpy raises ValueError: All-NaN slice)", fn, n);
    for (size_t i = best_blk;; i++)
        if ((double)x[i] == best) {
            *out = i;
            return VPAR_OK;
        }
}

VPAR_API vpar_status VPAR__F(argmin_)(const VPAR__T *x, size_t n, size_t *out) {
    return VPAR__I(arg_)(VPAR__NAME(vpar_argmin), 0, 0, x, n, out);
}
VPAR_API vpar_status VPAR__F(argmax_)(const VPAR__T *x, size_t n, size_t *out) {
    return VPAR__I(arg_)(VPAR__NAME(vpar_argmax), 1, 0, x, n, out);
}
VPAR_API vpar_status VPAR__F(nanargmin_)(const VPAR__T *x, size_t n, size_t *out) {
    return VPAR__I(arg_)(VPAR__NAME(vpar_nanargmin), 0, 1, x, n, out);
}
VPAR_API vpar_status VPAR__F(nanargmax_)(const VPAR__T *x, size_t n, size_t *out) {
    return VPAR__I(arg_)(VPAR__NAME(vpar_nanargmax), 1, 1, x, n, out);
}

/* ---- axis reductions ---- */
typedef struct VPAR__I(axis_job_) {
    const vpar__simd_ops *ops;
    vpar_axis_op op;
    const VPAR__T *a;
    size_t nrows, ncols, ld, tile;
    double *out;
} VPAR__I(axis_job_);

/* Rows [r0, r1): each is a whole-array reduction of its ncols values. */
static void VPAR__I(axis_rows_)(const VPAR__I(axis_job_) *J, size_t r0, size_t r1) {
    for (size_t i = r0; i < r1; i++) {
        const VPAR__T *row = J->a + i * J->ld;
        size_t cnt = 0;
        double v;
        vpar__ext e;
        switch (J->op) {
        case VPAR_AXIS_SUM:
        case VPAR_AXIS_MEAN:
            v = J->ncols ? J->ops->VPAR__OPF(pw)(VPAR__OP_SUM, row, NULL, J->ncols, 0.0, NULL) : 0.0;
            if (J->op == VPAR_AXIS_MEAN) v = J->ncols ? v / (double)J->ncols : NAN;
            break;
        case VPAR_AXIS_NANSUM:
        case VPAR_AXIS_NANMEAN:
            v = J->ncols ? J->ops->VPAR__OPF(pw)(VPAR__OP_NANSUM, row, NULL, J->ncols, 0.0, &cnt) : 0.0;
            if (J->op == VPAR_AXIS_NANMEAN) v = cnt ? v / (double)cnt : NAN;
            break;
        default: /* MIN, MAX: ncols > 0 was checked */
            J->ops->VPAR__OPF(ext)(J->op == VPAR_AXIS_MAX, row, J->ncols, &e);
            v = e.has_nan ? NAN : e.v;
            break;
        }
        J->out[i] = v;
    }
}

/* Columns [c0, c1) (at most VPAR__COLTILE of them), streaming every row:
   the accumulators stay in L1 while rows are read front to back. */
static void VPAR__I(axis_cols_)(const VPAR__I(axis_job_) *J, size_t c0, size_t c1) {
    double tmp[VPAR__COLTILE], cnt[VPAR__COLTILE];
    const size_t w = c1 - c0, nr = J->nrows;
    double *out = J->out + c0;
    const VPAR__T *a = J->a + c0;
    vpar_axis_op op = J->op;
    if (op == VPAR_AXIS_MIN || op == VPAR_AXIS_MAX) {
        for (size_t j = 0; j < w; j++) out[j] = (double)a[j];
        for (size_t i = 1; i < nr;) {
            int k = nr - i >= 4 ? 4 : 1;
            J->ops->VPAR__OPF(colext)(op == VPAR_AXIS_MAX, out, a + i * J->ld, J->ld, k, w);
            i += (size_t)k;
        }
        return;
    }
    int nan = op == VPAR_AXIS_NANSUM || op == VPAR_AXIS_NANMEAN;
    for (size_t j = 0; j < w; j++) {
        out[j] = 0.0;
        cnt[j] = 0.0;
    }
    /* Rows are added in order within blocks of VPAR__COLBLOCK rows, and the
       block sums in order: error (COLBLOCK + nrows / COLBLOCK) u sum|a|. */
    for (size_t i0 = 0; i0 < nr; i0 += VPAR__COLBLOCK) {
        size_t i1 = nr - i0 < VPAR__COLBLOCK ? nr : i0 + VPAR__COLBLOCK;
        for (size_t j = 0; j < w; j++) tmp[j] = 0.0;
        for (size_t i = i0; i < i1;) {
            int k = i1 - i >= 4 ? 4 : (int)(i1 - i);
            if (nan) J->ops->VPAR__OPF(colnansum)(tmp, op == VPAR_AXIS_NANMEAN ? cnt : NULL, a + i * J->ld, J->ld, k, w);
            else J->ops->VPAR__OPF(colsum)(tmp, a + i * J->ld, J->ld, k, w);
            i += (size_t)k;
        }
        for (size_t j = 0; j < w; j++) out[j] += tmp[j];
    }
    if (op == VPAR_AXIS_MEAN)
        for (size_t j = 0; j < w; j++) out[j] = nr ? out[j] / (double)nr : NAN;
    else if (op == VPAR_AXIS_NANMEAN)
        for (size_t j = 0; j < w; j++) out[j] = cnt[j] > 0.0 ? out[j] / cnt[j] : NAN;
}

static void VPAR__I(axis_range_)(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    const VPAR__I(axis_job_) *J = (const VPAR__I(axis_job_) *)user;
    if (J->tile == 0) {
        VPAR__I(axis_rows_)(J, begin, end);
    } else {
        for (size_t t = begin; t < end; t++) {
            size_t c0 = t * J->tile, c1 = c0 + J->tile < J->ncols ? c0 + J->tile : J->ncols;
            VPAR__I(axis_cols_)(J, c0, c1);
        }
    }
}

/* Below this many elements a pool costs more than it saves. */
#ifndef VPAR_SIMD_PAR_MIN
#  define VPAR_SIMD_PAR_MIN 32768
#endif

static vpar_status VPAR__I(axis_run_)(vpar_pool *pool, size_t count, size_t grain,
                                      VPAR__I(axis_job_) *J) {
    if (!pool || count < 2 || J->nrows * J->ncols < VPAR_SIMD_PAR_MIN || vpar_pool_size(pool) < 2) {
        VPAR__I(axis_range_)(J, 0, count, 0);
        return VPAR_OK;
    }
    return vpar_parallel_for(pool, 0, count, grain, VPAR__I(axis_range_), J);
}

VPAR_API vpar_status VPAR__F(reduce_axis_)(vpar_axis_op op, int axis, const VPAR__T *a,
        size_t nrows, size_t ncols, size_t ld, double *out, vpar_pool *pool) {
    const char *fn = VPAR__NAME(vpar_reduce_axis);
    if ((int)op < 0 || op >= VPAR_AXIS_OP_COUNT)
        return vpar_fail(VPAR_ERR_INVALID, "%s: unknown op %d", fn, (int)op);
    if (axis != 0 && axis != 1)
        return vpar_fail(VPAR_ERR_INVALID, "%s: axis must be 0 (per column) or 1 (per row), got %d", fn, axis);
    size_t nout = axis == 1 ? nrows : ncols, nred = axis == 1 ? ncols : nrows;
    if (nrows > 1 && ld < ncols)
        return vpar_fail(VPAR_ERR_INVALID, "%s: ld (%zu) is smaller than ncols (%zu)", fn, ld, ncols);
    size_t extent = 0;
    if (nrows > 0 && ncols > 0) {
        if (!vpar__mul_size(nrows - 1, ld, &extent) || !vpar__add_size(extent, ncols, &extent))
            return vpar_fail(VPAR_ERR_OVERFLOW, "%s: %zu rows with ld %zu overflow size_t", fn, nrows, ld);
    }
    if (nout == 0) return VPAR_OK;
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "%s: out is NULL", fn);
    if (nred == 0 && (op == VPAR_AXIS_MIN || op == VPAR_AXIS_MAX))
        return vpar_fail(VPAR_ERR_INVALID,
                         "%s: %s over an empty axis (%zu x %zu, axis %d) is undefined (numpy raises ValueError)",
                         fn, op == VPAR_AXIS_MIN ? "min" : "max", nrows, ncols, axis);
    if (nred == 0) {
        for (size_t k = 0; k < nout; k++)
            out[k] = op == VPAR_AXIS_SUM || op == VPAR_AXIS_NANSUM ? 0.0 : NAN;
        return VPAR_OK;
    }
    if (!a) return vpar_fail(VPAR_ERR_INVALID, "%s: a is NULL but the shape is %zu x %zu", fn, nrows, ncols);
    VPAR__I(axis_job_) J;
    J.ops = vpar__simd_get();
    J.op = op;
    J.a = a;
    J.nrows = nrows;
    J.ncols = ncols;
    J.ld = ld;
    J.out = out;
    if (axis == 1) {
        /* Chunks of >= ~16K elements: long enough to stream, enough of them
           to balance. */
        J.tile = 0;
        size_t grain = (16384 + ncols - 1) / ncols;
        return VPAR__I(axis_run_)(pool, nrows, grain, &J);
    }
    /* Column tiles; each column's result does not depend on the tiling, so
       narrower tiles for more threads change nothing but the speed. */
    J.tile = VPAR__COLTILE;
    int nt = pool ? vpar_pool_size(pool) : 1;
    if (nt > 1) {
        size_t t = (ncols + 4 * (size_t)nt - 1) / (4 * (size_t)nt);
        t = (t + 7) / 8 * 8;
        J.tile = t < 64 ? 64 : t > VPAR__COLTILE ? VPAR__COLTILE : t;
    }
    return VPAR__I(axis_run_)(pool, (ncols + J.tile - 1) / J.tile, 1, &J);
}

/* ---- parallel whole-array sums ----
   Chunks of 2^k blocks of 256 (k >= 6, at most VPAR__PAR_MAXCHUNKS chunks),
   each a complete subtree of the serial pairwise tree; pushing the chunk
   sums in order through the same binary counter rebuilds the serial result
   bit for bit, for any thread count. */
#ifndef VPAR__PAR_MAXCHUNKS
#  define VPAR__PAR_MAXCHUNKS 1024
#endif
typedef struct VPAR__I(par_job_) {
    const vpar__simd_ops *ops;
    int op;
    const VPAR__T *x, *y;
    size_t n, chunk;
    double *part;
    size_t *cnt;
} VPAR__I(par_job_);

static void VPAR__I(par_range_)(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    const VPAR__I(par_job_) *J = (const VPAR__I(par_job_) *)user;
    for (size_t k = begin; k < end; k++) {
        size_t i0 = k * J->chunk, len = J->n - i0 < J->chunk ? J->n - i0 : J->chunk;
        J->part[k] = J->ops->VPAR__OPF(pw)(J->op, J->x + i0, J->op == VPAR__OP_DOT ? J->y + i0 : NULL,
                                           len, 0.0, &J->cnt[k]);
    }
}

static vpar_status VPAR__I(pw_par_)(const char *fn, vpar_pool *pool, int op, const VPAR__T *x,
                                    const VPAR__T *y, size_t n, double *out) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "%s: out is NULL", fn);
    if (n > 0 && (!x || (op == VPAR__OP_DOT && !y)))
        return vpar_fail(VPAR_ERR_INVALID, "%s: %s is NULL but n = %zu", fn, !x ? "x" : "y", n);
    if (n == 0) {
        *out = 0.0;
        return VPAR_OK;
    }
    size_t chunk = (size_t)VPAR__BLOCK << 6;
    while ((n - 1) / chunk + 1 > VPAR__PAR_MAXCHUNKS) chunk *= 2;
    size_t nch = (n - 1) / chunk + 1;
    const vpar__simd_ops *ops = vpar__simd_get();
    if (!pool || nch < 2 || vpar_pool_size(pool) < 2) {
        size_t cnt;
        *out = ops->VPAR__OPF(pw)(op, x, y, n, 0.0, &cnt);
        return VPAR_OK;
    }
    double part[VPAR__PAR_MAXCHUNKS];
    size_t cnt[VPAR__PAR_MAXCHUNKS];
    VPAR__I(par_job_) J;
    J.ops = ops;
    J.op = op;
    J.x = x;
    J.y = y;
    J.n = n;
    J.chunk = chunk;
    J.part = part;
    J.cnt = cnt;
    vpar_status st = vpar_parallel_for(pool, 0, nch, 1, VPAR__I(par_range_), &J);
    if (st != VPAR_OK) return st;
    vpar__pw pw;
    vpar__pw_init(&pw);
    for (size_t k = 0; k < nch; k++) vpar__pw_push(&pw, part[k]);
    *out = vpar__pw_finish(&pw);
    return VPAR_OK;
}

VPAR_API vpar_status VPAR__FP(sum_)(vpar_pool *pool, const VPAR__T *x, size_t n, double *out) {
    return VPAR__I(pw_par_)(VPAR__NAME(vpar_sum) "_par", pool, VPAR__OP_SUM, x, NULL, n, out);
}
VPAR_API vpar_status VPAR__FP(nansum_)(vpar_pool *pool, const VPAR__T *x, size_t n, double *out) {
    return VPAR__I(pw_par_)(VPAR__NAME(vpar_nansum) "_par", pool, VPAR__OP_NANSUM, x, NULL, n, out);
}
VPAR_API vpar_status VPAR__FP(dot_)(vpar_pool *pool, const VPAR__T *x, const VPAR__T *y,
                                            size_t n, double *out) {
    return VPAR__I(pw_par_)(VPAR__NAME(vpar_dot) "_par", pool, VPAR__OP_DOT, x, y, n, out);
}

#undef VPAR__F
#undef VPAR__FP
#undef VPAR__I
#undef VPAR__OPF
#undef VPAR__NAME
#endif /* VPAR__SIMD_TEMPLATE */
