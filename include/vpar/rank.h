/* vpar/rank.h — parallel ranking: stable argsort, scipy-style rankdata, and
   the aggregation workflow's rank standardization (full, symmetric, upper).

   WHAT
     vpar_rank_standardize_f32/_f64   the workflow's rank(): in place, rank
         every finite entry of the flattened array with average ties, store
         (rank - 1) / max(rank - 1) in [0, 1]; NaN and +-inf become 0.5.
     vpar_rank_standardize            the same for a rows x cols matrix with a
         layout: VPAR_RANK_FULL (every entry), VPAR_RANK_SYMMETRIC (N x N
         symmetric: reads only the upper triangle, about half the work, and
         writes both triangles bit for bit equal to FULL) or VPAR_RANK_UPPER
         (ranks the entries i <= j once each; the strict lower triangle is
         left untouched).
     vpar_rank_standardize_ws (and _f32_ws/_f64_ws) the same with a
         caller-owned vpar_rank_workspace that keeps the big buffers
         between calls (loops: no fresh page faults per call).
     vpar_rank_codes_into_ws          the same ranks as exact uint32 codes
         4 * (rank - 1) with their scale: half the bytes of float64
         values, read by EGAD directly (the aggregation loop).
     vpar_rankdata_f32/_f64           scipy.stats.rankdata(x) on the
         flattened array: methods average (default), min, max, dense,
         ordinal; NaN policies propagate (default, as scipy), omit (NaN
         entries get NaN, the rest are ranked among themselves) and last
         (NaN ranks above +inf, all NaN tied with each other, like pandas
         na_option='bottom').
     vpar_argsort_f32/_f64            stable argsort, NaN last (np.argsort
         with kind='stable'); -0.0 and +0.0 tie.
     vpar_rank_check_symmetric        finds the first asymmetric pair.

   EXAMPLE
       #define VPAR_IMPLEMENTATION
       #include "vpar.h"
       vpar_npy a;
       if (vpar_npy_open(&a, "net.npy", VPAR_NPY_WRITABLE) != VPAR_OK) ...
       vpar_status st = vpar_rank_standardize(a.data, a.dtype, a.shape[0],
               a.shape[1], VPAR_RANK_SYMMETRIC, vpar_pool_default());
       if (st != VPAR_OK) fprintf(stderr, "%s\n", vpar_last_error());
       else vpar_npy_write("ranked.npy", a.data, a.dtype, 2, a.shape);
       vpar_npy_close(&a);

   ALGORITHM (docs/rank.md has the measurements)
     Values map to order-preserving unsigned keys (sign flip; -0.0 -> +0.0;
     NaN -> the largest key). A min/max pass sizes an MSD radix partition
     of the key range; per-chunk histograms and prefix sums give every
     bucket its start and its weighted count of smaller entries (= the rank
     base); a stable scatter copies only the keys into one buffer; every
     bucket is then sorted in cache (packed (key - low) << idbits | local
     index words: one counting pass at ~1 word per digit and one insertion
     pass; MSD radix on separate (key, index) arrays when the key range is
     too wide to pack; buckets larger than the cache recurse with another
     out-of-cache level), and its rank values overwrite its keys; finally a
     replay of the scatter gathers each entry's value back to its position
     (the scatter and the replay prefetch ahead in each bucket's stream).
     Ties are always inside one bucket, so no cross-bucket fix-up exists.

   MEMORY (peak beyond the caller's array)
     standardize: one key per ranked entry (4 bytes for float32, 8 for
     float64) = one copy of the ranked entries (half a copy in
     VPAR_RANK_SYMMETRIC), plus per thread 24 * VPAR_RANK_LEAF bytes + 64 KiB
     of cache-sized scratch and small histograms. A bucket larger than
     VPAR_RANK_LEAF entries borrows one more key buffer of its own size while
     it is sorted; with realistic data those are small, in the worst case
     (nearly all entries in one bucket) it adds another copy.
     rankdata: 8 bytes per entry (+ 8 more for dense); argsort: 16.

   CONFIGURATION MACROS
     VPAR_RANK_LEAF      largest bucket sorted in cache (default 32768 entries)
     VPAR_RANK_NEST_MIN  buckets at least this large are split in parallel
                         (default 2^20 entries); both exist for tuning and
                         for tests that force every code path on small data

   CALLING CONTEXTS
     All functions: any thread, from outside the pool or inside a pool task
     (the pool runs nested work without deadlock). pool == NULL runs on the
     calling thread only. Inputs must not be modified concurrently.

   DETERMINISM
     Results are exact and independent of the thread count and the pool:
     ranks are integers or half-integers (exact in double up to 2^53), and a
     standardized value is one correctly rounded division (then one rounding
     to float for float32), the same operations as numpy/bottleneck.
*/
#ifndef VPAR_RANK_H
#define VPAR_RANK_H

#include "common.h"
#include "npy.h"
#include "pool.h"
#include "simd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* scipy.stats.rankdata's `method`. */
typedef enum vpar_rank_method {
    VPAR_RANK_AVERAGE = 0,  /* tied entries get the mean of their ranks */
    VPAR_RANK_MIN,          /* ... the lowest of their ranks */
    VPAR_RANK_MAX,          /* ... the highest */
    VPAR_RANK_DENSE,        /* 1 + number of distinct smaller values */
    VPAR_RANK_ORDINAL       /* distinct ranks, ties in order of appearance */
} vpar_rank_method;

/* What rankdata does with NaN entries. */
typedef enum vpar_rank_nan_policy {
    VPAR_RANK_NAN_PROPAGATE = 0, /* any NaN makes every rank NaN (scipy default) */
    VPAR_RANK_NAN_OMIT,          /* NaN entries get NaN; the rest are ranked alone */
    VPAR_RANK_NAN_LAST           /* NaN ranks above +inf, NaNs tied together */
} vpar_rank_nan_policy;

/* Options for vpar_rankdata_*; a zeroed struct (or NULL) means scipy's
   defaults: average ties, NaN propagates. */
typedef struct vpar_rank_desc {
    vpar_rank_method method;
    vpar_rank_nan_policy nan_policy;
} vpar_rank_desc;

/* Which entries of a matrix vpar_rank_standardize ranks. */
typedef enum vpar_rank_layout {
    VPAR_RANK_FULL = 0,   /* every entry of the flattened array */
    VPAR_RANK_SYMMETRIC,  /* N x N symmetric: reads entries i <= j, counts each
                             off-diagonal value twice, writes both triangles;
                             result identical to FULL on a symmetric matrix */
    VPAR_RANK_UPPER,      /* entries i <= j, each once; strict lower triangle
                             left as it was */
    VPAR_RANK_SYMMETRIC_PACKED /* SYMMETRIC from a packed source: x holds only
                             the upper triangle, row by row (row r: entries
                             (r, r..N-1), starting at r N - r (r - 1) / 2;
                             N (N + 1) / 2 entries in all); the output is the
                             full N x N matrix, as SYMMETRIC writes it.
                             Out of place only (vpar_rank_*_into_ws) */
} vpar_rank_layout;

/* Rank standardization in place over n entries (the workflow's rank()).
   A single finite entry becomes 0.5 like the reference (whose 0/0 = NaN
   it then turns into 0.5); no finite entry leaves every entry 0.5. Errors: VPAR_ERR_INVALID (x NULL with
   n > 0), VPAR_ERR_NOMEM (x unchanged). Any thread; see CALLING CONTEXTS. */
VPAR_API vpar_status vpar_rank_standardize_f64(double *x, size_t n, vpar_pool *pool);
VPAR_API vpar_status vpar_rank_standardize_f32(float *x, size_t n, vpar_pool *pool);

/* Rank standardization of a C-order rows x cols matrix of `dtype`
   (VPAR_DTYPE_F32 or _F64) in place. SYMMETRIC and UPPER need rows == cols
   (VPAR_ERR_SHAPE otherwise); SYMMETRIC trusts that the matrix is
   symmetric (check with vpar_rank_check_symmetric) and never reads the
   strict lower triangle. Errors: VPAR_ERR_INVALID, VPAR_ERR_UNSUPPORTED
   (dtype), VPAR_ERR_SHAPE, VPAR_ERR_NOMEM (x unchanged). Any thread. */
VPAR_API vpar_status vpar_rank_standardize(void *x, vpar_dtype dtype, size_t rows,
                                           size_t cols, vpar_rank_layout layout,
                                           vpar_pool *pool);

/* A caller-owned workspace for repeated rank standardizations (a loop
   that ranks one matrix per step): it keeps the key buffer (one slot per
   ranked entry: 8 bytes for float64, 4 for float32) and the per-thread
   leaf scratch between calls, so that later calls reuse memory that is
   already mapped instead of faulting fresh pages every time. Buffers grow
   to the largest call so far (allocated with vpar_alloc_large: 2 MiB
   aligned, transparent huge pages advised) and are released by
   vpar_rank_workspace_destroy. Results are bit for bit those of the plain
   functions. One workspace serves one call at a time (a caller that ranks
   on several threads at once needs one workspace each).
   create: Errors: VPAR_ERR_INVALID (out NULL), VPAR_ERR_NOMEM. Any
   thread. destroy: NULL is ignored; not while a call uses it. */
typedef struct vpar_rank_workspace vpar_rank_workspace;
VPAR_API vpar_status vpar_rank_workspace_create(vpar_rank_workspace **out);
VPAR_API void vpar_rank_workspace_destroy(vpar_rank_workspace *ws);

/* Bytes the workspace holds now (0 after create). Any thread. */
VPAR_API size_t vpar_rank_workspace_bytes(const vpar_rank_workspace *ws);

/* vpar_rank_standardize / _f64 / _f32 with a workspace (ws NULL: exactly
   the plain function). Same results, errors and calling contexts; the
   workspace must not be used by another call at the same time. */
VPAR_API vpar_status vpar_rank_standardize_ws(vpar_rank_workspace *ws, void *x,
                                              vpar_dtype dtype, size_t rows, size_t cols,
                                              vpar_rank_layout layout, vpar_pool *pool);
VPAR_API vpar_status vpar_rank_standardize_f64_ws(vpar_rank_workspace *ws, double *x,
                                                  size_t n, vpar_pool *pool);
VPAR_API vpar_status vpar_rank_standardize_f32_ws(vpar_rank_workspace *ws, float *x,
                                                  size_t n, vpar_pool *pool);

/* Out of place: vpar_rank_standardize_ws of x written into out (same
   dtype and shape); x is only read. out == x is the in-place function;
   otherwise the two must not overlap (VPAR_ERR_INVALID). With
   VPAR_RANK_SYMMETRIC every entry of out is written (x's strict lower
   triangle is never read); with VPAR_RANK_UPPER out's strict lower
   triangle is left as it was. Saves the caller a copy when the source must
   be kept (the aggregation loop ranks its running sum into the matrix
   EGAD reads). ws may be NULL. Same results, errors and calling contexts
   as vpar_rank_standardize_ws. */
VPAR_API vpar_status vpar_rank_standardize_into_ws(vpar_rank_workspace *ws, const void *x,
                                                   void *out, vpar_dtype dtype, size_t rows,
                                                   size_t cols, vpar_rank_layout layout,
                                                   vpar_pool *pool);

/* Rank codes: the standardization above as exact integers, 4 bytes per
   entry. codes[i] = 4 * (rank_i - 1) (average ranks are integers or
   half-integers, so this is an integer), non-finite entries get half the
   scale, and *scale = 4 * max(rank - 1): codes[i] / *scale is the value
   vpar_rank_standardize_into_ws would store, up to that division's
   rounding (when max(rank - 1) == 0 every code is 1 and the scale 2:
   0.5, as there). Half the bytes of float64 values, no rounding at all:
   sums of codes are exact integers (below 2^53), so a consumer whose
   result is a ratio of sums (EGAD's scores) or that divides by the scale
   once loses nothing. codes is a uint32 array laid out like x (rows x
   cols; with VPAR_RANK_SYMMETRIC both triangles are written, with
   VPAR_RANK_UPPER the strict lower triangle is left as it was) and must
   not overlap x. Errors: as vpar_rank_standardize_into_ws, plus
   VPAR_ERR_OVERFLOW when rows * cols > 2^30 (the codes would not fit in
   32 bits) and VPAR_ERR_INVALID for a NULL scale. Any thread; see
   CALLING CONTEXTS. ws may be NULL. */
VPAR_API vpar_status vpar_rank_codes_into_ws(vpar_rank_workspace *ws, const void *x,
                                             vpar_dtype dtype, size_t rows, size_t cols,
                                             vpar_rank_layout layout, uint32_t *codes,
                                             uint32_t *scale, vpar_pool *pool);

/* Checks that the n x n matrix equals its transpose (NaN equals NaN,
   -0.0 equals +0.0). VPAR_OK if so; otherwise VPAR_ERR_INVALID with the
   first offending pair in row-major order stored in *row, *col (either
   may be NULL) and named in vpar_last_error(). Reads the whole matrix in
   cache-sized tiles, in parallel. Any thread. */
VPAR_API vpar_status vpar_rank_check_symmetric(const void *x, vpar_dtype dtype,
                                               size_t n, vpar_pool *pool,
                                               size_t *row, size_t *col);

/* scipy.stats.rankdata(x, method, nan_policy) over n entries into
   ranks[n] (1-based, double; caller-owned, must not alias x). desc may be
   NULL. Errors: VPAR_ERR_INVALID, VPAR_ERR_NOMEM. Any thread. */
VPAR_API vpar_status vpar_rankdata_f64(const double *x, size_t n, double *ranks,
                                       const vpar_rank_desc *desc, vpar_pool *pool);
VPAR_API vpar_status vpar_rankdata_f32(const float *x, size_t n, double *ranks,
                                       const vpar_rank_desc *desc, vpar_pool *pool);

/* Stable argsort: perm[0..n) such that x[perm[0]] <= x[perm[1]] <= ...,
   equal values in index order, NaN last (as np.argsort(x, kind='stable')).
   Errors: VPAR_ERR_INVALID, VPAR_ERR_NOMEM. Any thread. */
VPAR_API vpar_status vpar_argsort_f64(const double *x, size_t n, size_t *perm, vpar_pool *pool);
VPAR_API vpar_status vpar_argsort_f32(const float *x, size_t n, size_t *perm, vpar_pool *pool);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_RANK_H */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if defined(VPAR_IMPLEMENTATION) && !defined(VPAR_RANK_IMPLEMENTED)
#define VPAR_RANK_IMPLEMENTED

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#if defined(__linux__)
#  include <sys/mman.h>
#endif

#ifndef VPAR_RANK_LEAF
#  define VPAR_RANK_LEAF 32768
#endif
/* Buckets at least this large are split with nested parallel passes. */
#ifndef VPAR_RANK_NEST_MIN
#  define VPAR_RANK_NEST_MIN ((size_t)1 << 20)
#endif

/* ---- keys ---------------------------------------------------------------- */

/* Order-preserving key of a float's bits; -0.0 maps to +0.0's key. NaN is
   handled by the callers (skipped, or mapped to the largest key). */
static inline uint32_t vpar__rk_key32(uint32_t u) {
    if ((u << 1) == 0) u = 0;
    uint32_t m = (uint32_t)((int32_t)u >> 31);
    return u ^ (m | 0x80000000u);
}
static inline uint64_t vpar__rk_key64(uint64_t u) {
    if ((u << 1) == 0) u = 0;
    uint64_t m = (uint64_t)((int64_t)u >> 63);
    return u ^ (m | 0x8000000000000000ull);
}

/* Which entries are ranked: all (NaN gets the largest key), all but NaN, or
   only finite ones. */
enum { VPAR__RK_KEEP_ALL = 0, VPAR__RK_SKIP_NAN = 1, VPAR__RK_SKIP_NONFINITE = 2 };

/* 1 and the key in *k when the f32 bit pattern u is ranked under `skip`. */
static inline int vpar__rk_k_f32(uint32_t u, int skip, uint64_t *k) {
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) {                       /* inf or NaN */
        if (skip == VPAR__RK_SKIP_NONFINITE) return 0;
        if (a > 0x7f800000u) {                    /* NaN */
            if (skip == VPAR__RK_SKIP_NAN) return 0;
            *k = 0xffffffffu;
            return 1;
        }
    }
    *k = vpar__rk_key32(u);
    return 1;
}
static inline int vpar__rk_k_f64(uint64_t u, int skip, uint64_t *k) {
    uint64_t a = u & 0x7fffffffffffffffull;
    if (a >= 0x7ff0000000000000ull) {
        if (skip == VPAR__RK_SKIP_NONFINITE) return 0;
        if (a > 0x7ff0000000000000ull) {
            if (skip == VPAR__RK_SKIP_NAN) return 0;
            *k = UINT64_MAX;
            return 1;
        }
    }
    *k = vpar__rk_key64(u);
    return 1;
}

static inline int vpar__rk_bitlen(uint64_t v) {
    return v ? 64 - __builtin_clzll(v) : 0;
}

/* ---- plan: chunks of the source ------------------------------------------ */

enum { VPAR__RK_FLAT = 0, VPAR__RK_DIAG = 1, VPAR__RK_ROWS = 2 };

typedef struct vpar__rk_chunk {
    int kind;      /* FLAT: flat indices [a, b); DIAG: x[r][r] for r < n;
                      ROWS: x[r][c] for a <= r < b, c > r */
    size_t a, b;
} vpar__rk_chunk;

/* Cuts the source into at most `want` chunks of similar entry counts and
   stores them in out[] (capacity want + 1); returns the count. Pure
   arithmetic in size_t, tested with sizes beyond 2^32 without allocating.
   flat: n entries; upper: the diagonal chunk first (stable order puts the
   diagonal entries first in every bucket), then row ranges of the strict
   upper triangle of an n x n matrix. */
static size_t vpar__rk_plan_chunks(int upper, size_t n, size_t want,
                                   vpar__rk_chunk *out) {
    size_t c = 0;
    if (want < 1) want = 1;
    if (!upper) {
        if (n == 0) return 0;
        if (want > n) want = n;
        for (size_t i = 0; i < want; i++) {
            /* i * n may overflow for n > 2^32 and want > 2^32: split in two */
            size_t a = (n / want) * i + (n % want) * i / want;
            size_t b = (n / want) * (i + 1) + (n % want) * (i + 1) / want;
            if (b > a) { out[c].kind = VPAR__RK_FLAT; out[c].a = a; out[c].b = b; c++; }
        }
        return c;
    }
    if (n == 0) return 0;
    out[c].kind = VPAR__RK_DIAG; out[c].a = 0; out[c].b = n; c++;
    /* strict upper entries of rows [0, r): r * n - r * (r + 1) / 2 */
    double total = (double)n * (double)(n - 1) / 2.0;
    size_t r = 0;
    for (size_t i = 1; i <= want && r + 1 < n; i++) {
        size_t e;
        if (i == want) e = n - 1;
        else {
            /* smallest e with entries(e) >= total * i / want: solve the
               quadratic, then fix rounding by stepping. */
            double t = total * (double)i / (double)want;
            double nn = (double)n - 0.5;
            double disc = nn * nn - 2.0 * t;
            double ed = nn - sqrt(disc > 0 ? disc : 0);
            e = ed <= 0 ? 0 : (size_t)ed;
            if (e > n - 1) e = n - 1;
        }
        if (e <= r) continue;
        out[c].kind = VPAR__RK_ROWS; out[c].a = r; out[c].b = e; c++;
        r = e;
    }
    return c;
}

/* Entries of a chunk, in scatter order. */
static inline size_t vpar__rk_chunk_count(const vpar__rk_chunk *ck, size_t n) {
    if (ck->kind == VPAR__RK_FLAT) return ck->b - ck->a;
    if (ck->kind == VPAR__RK_DIAG) return n;
    /* rows a..b-1, each n - 1 - r entries */
    size_t rows = ck->b - ck->a;
    size_t first = n - 1 - ck->a, last = n - ck->b;  /* counts of rows a and b-1 */
    return (first + last) % 2 == 0 ? (first + last) / 2 * rows : rows / 2 * (first + last);
}

/* The rank value (0-based, averaged) of a tie group of weighted size ce
   above cl weighted smaller entries: cl + (ce - 1) / 2, exact. */
static inline double vpar__rk_avg0(uint64_t cl, uint64_t ce) {
    return (double)(2 * cl + ce - 1) * 0.5;
}

/* The standardized value (rank - 1) / max(rank - 1) of a tie group. When
   max(rank - 1) == 0 (exactly one ranked entry of weight 1) the reference
   computes 0/0 = NaN and then turns every NaN into 0.5, the fill value of
   the non-finite entries (vpar__rk_standardize): so 0.5 here too. */
static inline double vpar__rk_std(double maxr, uint64_t cl, uint64_t ce) {
    return maxr > 0 ? vpar__rk_avg0(cl, ce) / maxr : 0.5;
}

/* The rank code of a tie group: 4 * (rank - 1) = 4 cl + 2 (ce - 1), an
   exact integer (average ranks are integers or half-integers); its
   standardized value is code / (4 max(rank - 1)). When max(rank - 1) == 0
   every value is 0.5 (see vpar__rk_std): code 1 on the scale 2. */
static inline uint64_t vpar__rk_code(double maxr, uint64_t cl, uint64_t ce) {
    return maxr > 0 ? 4 * cl + 2 * (ce - 1) : 1;
}

/* ---- engine --------------------------------------------------------------- */

enum {
    VPAR__RK_STD = 0,   /* standardized value, float (slot32) or double */
    VPAR__RK_CODE,      /* rank code 4 * (rank - 1) as an integer (any slot) */
    VPAR__RK_ORD0,      /* 0-based stable position, uint64 */
    VPAR__RK_AVG,       /* 1-based ranks as double */
    VPAR__RK_MIN,
    VPAR__RK_MAX,
    VPAR__RK_ORD1
};

/* A per-thread buffer reused by serial sub-levels (fresh mallocs of a few
   MB would page-fault every time). Only the owning tid touches it. */
typedef struct vpar__rk_tbuf {
    void *p;
    size_t cap;
    int busy;
    char pad[VPAR_CACHE_LINE];
} vpar__rk_tbuf;

typedef struct vpar__rk {
    vpar_pool *pool;
    const char *fname;    /* public function, for error messages */
    int nthreads;
    const void *x;        /* source values */
    int src_f64;
    int upper;            /* chunks are DIAG + ROWS of an n x n matrix */
    int packed;           /* ... read from a packed upper triangle (VPAR__RK_FOREACH) */
    size_t n;             /* flat count, or N */
    int skip;
    int slot64;           /* keys / values are uint64 (else uint32) */
    int mode;
    uint64_t wmain;       /* weight of non-diagonal entries (2: symmetric) */
    double maxr;          /* STD: max(rank - 1) */
    uint64_t fill;        /* slot bits written for skipped entries */
    void *dst;            /* replay target, slot-sized elements, same indexing as x */
    int dst32;            /* ... except: uint32 elements from 64-bit slots (CODE) */
    unsigned char *scratch;   /* per tid, leaf buffers */
    struct vpar__rk_tbuf *tbuf;   /* per tid, reusable sub-level key buffer */
    size_t scratch_stride;
    struct vpar_rank_workspace *ws;   /* caller's buffers, or NULL */
    size_t keys_bytes, scratch_bytes; /* sizes of the buffers owned by this run */
    atomic_int err;       /* first vpar_status from inside a task */
} vpar__rk;

struct vpar_rank_workspace {
    void *keys;
    size_t keys_cap;
    void *scratch;
    size_t scratch_cap;
};

/* A buffer of at least `bytes` from the workspace slot (*p, *cap), grown
   (not preserved) when too small. */
static void *vpar__rk_ws_take(void **p, size_t *cap, size_t bytes) {
    if (*p && *cap >= bytes) return *p;
    vpar_free_large(*p, *cap);
    *p = vpar_alloc_large(bytes);
    *cap = *p ? bytes : 0;
    return *p;
}

/* One partition level: chunks x buckets of counts, turned into offsets. */
typedef struct vpar__rk_level {
    vpar__rk *rk;
    size_t nchunks, nb;
    const vpar__rk_chunk *chunks;  /* level 1 */
    size_t sub_n, sub_nd;          /* sub-level: source region size, diagonal prefix */
    void *src;                     /* sub-level: slots of the bucket being split */
    void *keys;                    /* destination of the scatter */
    uint64_t lo;
    int shift;
    size_t *cnt;                   /* nchunks * nb */
    size_t *off;                   /* nchunks * nb, running during scatter/replay */
    size_t *start;                 /* nb + 1 */
    size_t *nd;                    /* nb: diagonal entries per bucket */
    uint64_t *base;                /* nb: weighted count of smaller entries */
    size_t ordbase;
    int tid;                       /* sub-level run serially: caller's tid */
    /* level 1 only: fine bins merged into buckets of similar size */
    const uint32_t *map;           /* fine bin -> bucket */
    uint64_t *blo;                 /* nb: lowest key of each bucket */
    unsigned char *bbits;          /* nb: keys of bucket b lie in [blo, blo + 2^bbits) */
} vpar__rk_level;

static void vpar__rk_set_err(vpar__rk *rk, vpar_status st) {
    int expect = 0;
    atomic_compare_exchange_strong_explicit(&rk->err, &expect, (int)st,
                                            memory_order_relaxed, memory_order_relaxed);
}

/* Runs fn over [0, n) on the pool, or directly on the calling worker (keeping
   its tid, which owns the per-thread scratch) when pool is NULL. */
static vpar_status vpar__rk_for(vpar_pool *pool, size_t n, vpar_range_fn fn,
                                void *user, int tid) {
    if (n == 0) return VPAR_OK;
    if (!pool) { fn(user, 0, n, tid); return VPAR_OK; }
    return vpar_parallel_for(pool, 0, n, 1, fn, user);
}

static void *vpar__rk_big_alloc(size_t bytes) {
    void *p = VPAR_MALLOC(bytes ? bytes : 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* Random-ish scatter over GBs: huge pages cut TLB misses a lot. */
    if (p && bytes >= ((size_t)64 << 20)) {
        uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
        if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    }
#endif
    return p;
}

/* Writes the values of a sorted tie group: sorted positions [g0, g1) of the
   leaf with local ids sid[], weighted counts cl (smaller) and ce (equal). */
static void vpar__rk_emit(const vpar__rk *rk, void *slots, const uint32_t *sid,
                          size_t g0, size_t g1, uint64_t cl, uint64_t ce,
                          size_t ordbase) {
    switch (rk->mode) {
    case VPAR__RK_CODE: {
        uint64_t c = vpar__rk_code(rk->maxr, cl, ce);
        if (rk->slot64) {
            uint64_t *s = (uint64_t *)slots;
            for (size_t j = g0; j < g1; j++) s[sid[j]] = c;
        } else {
            uint32_t *s = (uint32_t *)slots;
            for (size_t j = g0; j < g1; j++) s[sid[j]] = (uint32_t)c;
        }
        return;
    }
    case VPAR__RK_STD: {
        double v = vpar__rk_std(rk->maxr, cl, ce);
        if (rk->slot64) {
            uint64_t *s = (uint64_t *)slots, b;
            memcpy(&b, &v, 8);
            for (size_t j = g0; j < g1; j++) s[sid[j]] = b;
        } else {
            float f = (float)v;
            uint32_t *s = (uint32_t *)slots, b;
            memcpy(&b, &f, 4);
            for (size_t j = g0; j < g1; j++) s[sid[j]] = b;
        }
        return;
    }
    case VPAR__RK_ORD0: {
        uint64_t *s = (uint64_t *)slots;
        for (size_t j = g0; j < g1; j++) s[sid[j]] = (uint64_t)(ordbase + j);
        return;
    }
    default: {
        uint64_t *s = (uint64_t *)slots, b;
        double v = 0;
        if (rk->mode == VPAR__RK_AVG) v = vpar__rk_avg0(cl, ce) + 1.0;
        else if (rk->mode == VPAR__RK_MIN) v = (double)(cl + 1);
        else if (rk->mode == VPAR__RK_MAX) v = (double)(cl + ce);
        if (rk->mode == VPAR__RK_ORD1) {
            for (size_t j = g0; j < g1; j++) {
                v = (double)(ordbase + j + 1);
                memcpy(&b, &v, 8);
                s[sid[j]] = b;
            }
            return;
        }
        memcpy(&b, &v, 8);
        for (size_t j = g0; j < g1; j++) s[sid[j]] = b;
    }
    }
}

/* Stable in-cache sort of (k, id) by k: MSD radix over the actual key
   range (`dbits`-bit digits), insertion sort below 32 entries. tk/tid:
   scratch of n. The first call uses up to 11-bit digits (one pass splits a
   leaf into runs of a few entries), recursive calls 8-bit ones. */
static void vpar__rk_msd(uint64_t *k, uint32_t *id, uint64_t *tk, uint32_t *tid, size_t n,
                         int top) {
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            uint64_t kv = k[i];
            uint32_t iv = id[i];
            size_t j = i;
            while (j > 0 && k[j - 1] > kv) { k[j] = k[j - 1]; id[j] = id[j - 1]; j--; }
            k[j] = kv; id[j] = iv;
        }
        return;
    }
    uint64_t mn = k[0], mx = k[0];
    for (size_t i = 1; i < n; i++) {
        mn = k[i] < mn ? k[i] : mn;
        mx = k[i] > mx ? k[i] : mx;
    }
    if (mn == mx) return;
    int dbits = 8;
    if (top) {
        dbits = vpar__rk_bitlen((uint64_t)n) - 3;
        if (dbits > 11) dbits = 11;
        if (dbits < 8) dbits = 8;
    }
    int bits = vpar__rk_bitlen(mx - mn);
    int sh = bits > dbits ? bits - dbits : 0;
    size_t nd = (size_t)((mx - mn) >> sh) + 1;
    uint32_t cnt[2049], pos[2048];
    memset(cnt, 0, (nd + 1) * sizeof cnt[0]);
    for (size_t i = 0; i < n; i++) cnt[((k[i] - mn) >> sh) + 1]++;
    for (size_t d = 0; d < nd; d++) cnt[d + 1] += cnt[d];
    memcpy(pos, cnt, nd * sizeof pos[0]);
    for (size_t i = 0; i < n; i++) {
        size_t d = (size_t)((k[i] - mn) >> sh);
        uint32_t p = pos[d]++;
        tk[p] = k[i];
        tid[p] = id[i];
    }
    memcpy(k, tk, n * sizeof *k);
    memcpy(id, tid, n * sizeof *id);
    if (sh == 0) return;  /* each digit is one key */
    for (size_t d = 0; d < nd; d++) {
        size_t a = cnt[d], b = cnt[d + 1];
        if (b - a > 1) vpar__rk_msd(k + a, id + a, tk, tid, b - a, 0);
    }
}

/* Smallest and largest key among s slots (s >= 1). */
static void vpar__rk_slot_range(const vpar__rk *rk, const void *slots, size_t s,
                                uint64_t *mn_out, uint64_t *mx_out) {
    uint64_t mn = UINT64_MAX, mx = 0;
    if (rk->slot64) {
        const uint64_t *v = (const uint64_t *)slots;
        for (size_t j = 0; j < s; j++) { mn = v[j] < mn ? v[j] : mn; mx = v[j] > mx ? v[j] : mx; }
    } else {
        const uint32_t *v = (const uint32_t *)slots;
        for (size_t j = 0; j < s; j++) { mn = v[j] < mn ? v[j] : mn; mx = v[j] > mx ? v[j] : mx; }
    }
    *mn_out = mn;
    *mx_out = mx;
}

/* The packed form of the same sort: w = (key - min) << idbits | local
   index, all distinct, so sorting the words alone is a stable sort of the
   keys, and there is one array to move instead of two. Sorts w in place
   (tw: scratch of n). */
static void vpar__rk_msd_packed(uint64_t *w, uint64_t *tw, size_t n) {
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            uint64_t v = w[i];
            size_t j = i;
            while (j > 0 && w[j - 1] > v) { w[j] = w[j - 1]; j--; }
            w[j] = v;
        }
        return;
    }
    uint64_t mn = w[0], mx = w[0];
    for (size_t i = 1; i < n; i++) {
        mn = w[i] < mn ? w[i] : mn;
        mx = w[i] > mx ? w[i] : mx;
    }
    int bits = vpar__rk_bitlen(mx - mn);
    int sh = bits > 8 ? bits - 8 : 0;
    size_t nd = (size_t)((mx - mn) >> sh) + 1;
    uint32_t cnt[257];
    memset(cnt, 0, (nd + 1) * sizeof cnt[0]);
    for (size_t i = 0; i < n; i++) cnt[((w[i] - mn) >> sh) + 1]++;
    for (size_t d = 0; d < nd; d++) cnt[d + 1] += cnt[d];
    for (size_t i = 0; i < n; i++) tw[cnt[(w[i] - mn) >> sh]++] = w[i];
    memcpy(w, tw, n * sizeof *w);
    if (sh == 0) return;  /* words are distinct: each digit holds one */
    size_t a = 0;
    for (size_t d = 0; d < nd; d++) {   /* cnt[d] is now the end of digit d */
        if (cnt[d] - a > 1) vpar__rk_msd_packed(w + a, tw, cnt[d] - a);
        a = cnt[d];
    }
}

/* Digit table of the first packed pass: up to 2^14 digits (64 KB, L2). */
#define VPAR__RK_TOP_DIGITS 14

/* Sorts the n distinct packed words w[] with values in [mn, mx]. One
   counting pass into ~1 word per digit, then one insertion pass over the
   whole array (moves stay inside a digit); digits the data crowds (more
   than 32 words) are sorted on their own first. tw: scratch of n; cnt:
   2^VPAR__RK_TOP_DIGITS + 1 counters. Returns the sorted array, w or tw. */
static uint64_t *vpar__rk_sort_packed(uint64_t *w, uint64_t *tw, uint32_t *cnt,
                                      size_t n, uint64_t mn, uint64_t mx) {
    if (n <= 32) {
        vpar__rk_msd_packed(w, tw, n);
        return w;
    }
    int dbits = vpar__rk_bitlen((uint64_t)n);
    if (dbits > VPAR__RK_TOP_DIGITS) dbits = VPAR__RK_TOP_DIGITS;
    int bits = vpar__rk_bitlen(mx - mn);
    int sh = bits > dbits ? bits - dbits : 0;
    size_t nd = (size_t)((mx - mn) >> sh) + 1;
    memset(cnt, 0, (nd + 1) * sizeof cnt[0]);
    for (size_t i = 0; i < n; i++) cnt[((w[i] - mn) >> sh) + 1]++;
    uint32_t big = 0;
    for (size_t d = 0; d < nd; d++) {
        big |= cnt[d + 1] > 32;
        cnt[d + 1] += cnt[d];
    }
    for (size_t i = 0; i < n; i++) tw[cnt[(w[i] - mn) >> sh]++] = w[i];
    if (sh == 0) return tw;
    if (big) {
        size_t a = 0;
        for (size_t d = 0; d < nd; d++) {
            if (cnt[d] - a > 32) vpar__rk_msd_packed(tw + a, w, cnt[d] - a);
            a = cnt[d];
        }
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t v = tw[i];
        if (tw[i - 1] <= v) continue;
        size_t j = i;
        do { tw[j] = tw[j - 1]; j--; } while (j > 0 && tw[j - 1] > v);
        tw[j] = v;
    }
    return tw;
}

static void vpar__rk_bucket(vpar__rk *rk, void *slots, size_t s, size_t nd,
                            uint64_t base, size_t ordbase, uint64_t lo, int shift,
                            int tid, int may_nest);

/* A leaf whose key range and local index fit one 64-bit word together
   (keys - lo < 2^kbits): pack, sort the words, walk the tie groups, write
   the values over the keys. */
static void vpar__rk_leaf_packed(vpar__rk *rk, void *slots, size_t s, size_t nd,
                                 uint64_t base, size_t ordbase, uint64_t lo,
                                 int idbits, int tid) {
    unsigned char *sc = rk->scratch + (size_t)tid * rk->scratch_stride;
    uint64_t *w = (uint64_t *)sc;
    uint64_t *tw = w + VPAR_RANK_LEAF;
    uint32_t *id = (uint32_t *)(tw + VPAR_RANK_LEAF);
    uint32_t *cnt = id + VPAR_RANK_LEAF;
    uint64_t mn = UINT64_MAX, mx = 0;
    if (rk->slot64) {
        const uint64_t *sl = (const uint64_t *)slots;
        for (size_t j = 0; j < s; j++) {
            uint64_t v = (sl[j] - lo) << idbits | j;
            w[j] = v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    } else {
        const uint32_t *sl = (const uint32_t *)slots;
        for (size_t j = 0; j < s; j++) {
            uint64_t v = ((uint64_t)sl[j] - lo) << idbits | j;
            w[j] = v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    }
    const uint64_t *sw = vpar__rk_sort_packed(w, tw, cnt, s, mn, mx);
    const uint64_t idmask = ((uint64_t)1 << idbits) - 1;
    if ((rk->mode == VPAR__RK_STD || rk->mode == VPAR__RK_CODE) && nd == 0) {
        /* the hot case (FULL and the off-diagonal part of SYMMETRIC
           buckets have nd == 0), written straight through the local index.
           Every entry weighs wm, so a tie group [g0, g1) has
           2 cl + ce = 2 base + wm (g0 + g1). Found without a branch per
           group: a forward pass records each entry's g0 (and counts the
           groups), a backward pass its g1; with no tie at all one plain
           pass. Where ties are frequent and irregular (sums of quantized
           networks: 69% of the entries of the full-size step's aggregate
           are in a tie), the loop over groups mispredicted about once per
           group: 4.4-4.8 ns an entry against 2.2 now, 1.25 against 1.48
           with no tie (bench/RESULTS.md, 2026-12-02 23:00). The masks keep
           the compiler from turning the selections back into branches.
           Rank codes only: a standardized value costs a division, once per
           group below but once per entry in the branch-free walk, which
           made the standardization of a 17,198^2 float32 network 9%
           slower (3.26 -> 3.57 s). */
        uint64_t cl = base, wm = rk->wmain;
        double maxr = rk->maxr;
        if (rk->mode == VPAR__RK_CODE && maxr > 0 && s <= UINT32_MAX) {
            uint32_t *g0s = id;   /* free in this case: each entry's g0 */
            uint64_t prev = UINT64_MAX;
            uint32_t g = 0, starts = 0;
            for (size_t j = 0; j < s; j++) {
                uint64_t key = sw[j] >> idbits;
                uint32_t m = (uint32_t)0 - (uint32_t)(key != prev);
                g = (g & ~m) | ((uint32_t)j & m);
                starts -= m;   /* m is 0 or all ones */
                g0s[j] = g;
                prev = key;
            }
            const uint64_t t2 = 2 * base;
#define VPAR__RK_PUT(at, twice)   /* vpar__rk_code: 4 cl + 2 (ce - 1) */    \
            do {                                                               \
                uint64_t c_ = 2 * (twice) - 2;                                 \
                if (rk->slot64) ((uint64_t *)slots)[at] = c_;                  \
                else ((uint32_t *)slots)[at] = (uint32_t)c_;                   \
            } while (0)
            if (starts == s) {   /* no tie: g0 = j, g1 = j + 1 */
                for (size_t j = 0; j < s; j++)
                    VPAR__RK_PUT((size_t)(sw[j] & idmask), t2 + wm * (2 * (uint64_t)j + 1));
            } else {
                uint64_t next = UINT64_MAX, g1 = s;
                for (size_t j = s; j-- > 0;) {
                    uint64_t key = sw[j] >> idbits;
                    uint64_t m = (uint64_t)0 - (uint64_t)(key != next);
                    g1 = (g1 & ~m) | ((uint64_t)(j + 1) & m);
                    next = key;
                    VPAR__RK_PUT((size_t)(sw[j] & idmask), t2 + wm * ((uint64_t)g0s[j] + g1));
                }
            }
#undef VPAR__RK_PUT
            return;
        }
        size_t g0 = 0;
        while (g0 < s) {
            uint64_t key = sw[g0] >> idbits;
            size_t g1 = g0 + 1;
            while (g1 < s && sw[g1] >> idbits == key) g1++;
            uint64_t ce = (uint64_t)(g1 - g0) * wm;
            if (rk->mode == VPAR__RK_CODE) {
                uint64_t c = vpar__rk_code(maxr, cl, ce);
                if (rk->slot64)
                    for (size_t j = g0; j < g1; j++) ((uint64_t *)slots)[sw[j] & idmask] = c;
                else
                    for (size_t j = g0; j < g1; j++) ((uint32_t *)slots)[sw[j] & idmask] = (uint32_t)c;
                cl += ce;
                g0 = g1;
                continue;
            }
            double v = vpar__rk_std(maxr, cl, ce);
            if (rk->slot64) {
                uint64_t bits;
                memcpy(&bits, &v, 8);
                for (size_t j = g0; j < g1; j++) ((uint64_t *)slots)[sw[j] & idmask] = bits;
            } else {
                float f = (float)v;
                uint32_t bits;
                memcpy(&bits, &f, 4);
                for (size_t j = g0; j < g1; j++) ((uint32_t *)slots)[sw[j] & idmask] = bits;
            }
            cl += ce;
            g0 = g1;
        }
        return;
    }
    for (size_t j = 0; j < s; j++) id[j] = (uint32_t)(sw[j] & idmask);
    uint64_t cl = base;
    size_t g0 = 0;
    while (g0 < s) {
        uint64_t key = sw[g0] >> idbits;
        size_t g1 = g0 + 1;
        uint64_t ce;
        if (nd == 0) {
            while (g1 < s && sw[g1] >> idbits == key) g1++;
            ce = (uint64_t)(g1 - g0) * rk->wmain;
        } else {
            ce = id[g0] < nd ? 1 : rk->wmain;
            while (g1 < s && sw[g1] >> idbits == key) {
                ce += id[g1] < nd ? 1 : rk->wmain;
                g1++;
            }
        }
        vpar__rk_emit(rk, slots, id, g0, g1, cl, ce, ordbase);
        cl += ce;
        g0 = g1;
    }
}

/* A bucket small enough for the cache: sort (key, local index), walk the tie
   groups, write the values over the keys. */
static void vpar__rk_leaf(vpar__rk *rk, void *slots, size_t s, size_t nd,
                          uint64_t base, size_t ordbase, uint64_t lo, int kbits,
                          int tid) {
    unsigned char *sc = rk->scratch + (size_t)tid * rk->scratch_stride;
    uint64_t *k = (uint64_t *)sc;
    uint64_t *tk = k + VPAR_RANK_LEAF;
    uint32_t *id = (uint32_t *)(tk + VPAR_RANK_LEAF);
    uint32_t *tid2 = id + VPAR_RANK_LEAF;
    int idbits = vpar__rk_bitlen((uint64_t)(s - 1));
    if (kbits + idbits > 64) {
        /* the bucket's bounds are loose: try its actual key range */
        uint64_t mn, mx;
        vpar__rk_slot_range(rk, slots, s, &mn, &mx);
        lo = mn;
        kbits = vpar__rk_bitlen(mx - mn);
    }
    if (kbits + idbits <= 64) {
        vpar__rk_leaf_packed(rk, slots, s, nd, base, ordbase, lo, idbits, tid);
        return;
    }
    if (rk->slot64) {
        const uint64_t *sl = (const uint64_t *)slots;
        for (size_t j = 0; j < s; j++) { k[j] = sl[j]; id[j] = (uint32_t)j; }
    } else {
        const uint32_t *sl = (const uint32_t *)slots;
        for (size_t j = 0; j < s; j++) { k[j] = sl[j]; id[j] = (uint32_t)j; }
    }
    vpar__rk_msd(k, id, tk, tid2, s, 1);
    uint64_t cl = base;
    size_t g0 = 0;
    while (g0 < s) {
        size_t g1 = g0;
        uint64_t ce = 0;
        if (nd == 0) {
            while (g1 < s && k[g1] == k[g0]) g1++;
            ce = (uint64_t)(g1 - g0) * rk->wmain;
        } else {
            while (g1 < s && k[g1] == k[g0]) {
                ce += id[g1] < nd ? 1 : rk->wmain;
                g1++;
            }
        }
        vpar__rk_emit(rk, slots, id, g0, g1, cl, ce, ordbase);
        cl += ce;
        g0 = g1;
    }
}

/* ---- sub-level: split one large bucket of slots out of cache ------------- */

#define VPAR__RK_SUB_PASSES(SUF, SLOT)                                         \
static void vpar__rk_sub_count_##SUF(void *user, size_t b0, size_t b1, int tid) { \
    vpar__rk_level *L = (vpar__rk_level *)user;                                \
    (void)tid;                                                                 \
    const SLOT *src = (const SLOT *)L->src;                                    \
    for (size_t c = b0; c < b1; c++) {                                         \
        size_t *cnt = L->cnt + c * L->nb;                                      \
        size_t a = L->chunks[c].a, e = L->chunks[c].b;                         \
        for (size_t j = a; j < e; j++)                                         \
            cnt[(size_t)(((uint64_t)src[j] - L->lo) >> L->shift)]++;           \
    }                                                                          \
}                                                                              \
static void vpar__rk_sub_scatter_##SUF(void *user, size_t b0, size_t b1, int tid) { \
    vpar__rk_level *L = (vpar__rk_level *)user;                                \
    (void)tid;                                                                 \
    const SLOT *src = (const SLOT *)L->src;                                    \
    SLOT *dst = (SLOT *)L->keys;                                               \
    for (size_t c = b0; c < b1; c++) {                                         \
        size_t *off = L->off + c * L->nb;                                      \
        size_t a = L->chunks[c].a, e = L->chunks[c].b;                         \
        for (size_t j = a; j < e; j++) {                                       \
            SLOT v = src[j];                                                   \
            dst[off[(size_t)(((uint64_t)v - L->lo) >> L->shift)]++] = v;       \
        }                                                                      \
    }                                                                          \
}                                                                              \
static void vpar__rk_sub_replay_##SUF(void *user, size_t b0, size_t b1, int tid) { \
    vpar__rk_level *L = (vpar__rk_level *)user;                                \
    (void)tid;                                                                 \
    SLOT *src = (SLOT *)L->src;                                                \
    const SLOT *val = (const SLOT *)L->keys;                                   \
    for (size_t c = b0; c < b1; c++) {                                         \
        size_t *off = L->off + c * L->nb;                                      \
        size_t a = L->chunks[c].a, e = L->chunks[c].b;                         \
        for (size_t j = a; j < e; j++)                                         \
            src[j] = val[off[(size_t)(((uint64_t)src[j] - L->lo) >> L->shift)]++]; \
    }                                                                          \
}
VPAR__RK_SUB_PASSES(32, uint32_t)
VPAR__RK_SUB_PASSES(64, uint64_t)

/* Counts -> per-chunk offsets (into L->off), bucket starts, diagonal counts
   (chunk 0 holds the diagonal when has_diag) and weighted rank bases. */
static void vpar__rk_offsets(vpar__rk_level *L, int has_diag, uint64_t base0) {
    size_t pos = 0;
    uint64_t base = base0;
    for (size_t b = 0; b < L->nb; b++) {
        L->start[b] = pos;
        L->base[b] = base;
        size_t nd = has_diag ? L->cnt[b] : 0, tot = 0;
        for (size_t c = 0; c < L->nchunks; c++) {
            L->off[c * L->nb + b] = pos + tot;
            tot += L->cnt[c * L->nb + b];
        }
        L->nd[b] = nd;
        pos += tot;
        base += (uint64_t)(tot - nd) * L->rk->wmain + nd;
    }
    L->start[L->nb] = pos;
}

static void vpar__rk_reset_offsets(vpar__rk_level *L, int has_diag) {
    (void)has_diag;
    for (size_t b = 0; b < L->nb; b++) {
        size_t pos = L->start[b];
        for (size_t c = 0; c < L->nchunks; c++) {
            L->off[c * L->nb + b] = pos;
            pos += L->cnt[c * L->nb + b];
        }
    }
}

static void vpar__rk_level_buckets(void *user, size_t b0, size_t b1, int tid) {
    vpar__rk_level *L = (vpar__rk_level *)user;
    size_t sz = L->rk->slot64 ? 8 : 4;
    for (size_t b = b0; b < b1; b++) {
        size_t s = L->start[b + 1] - L->start[b];
        if (s == 0) continue;
        uint64_t lo = L->map ? L->blo[b] : L->lo + ((uint64_t)b << L->shift);
        int bits = L->map ? L->bbits[b] : L->shift;
        vpar__rk_bucket(L->rk, (unsigned char *)L->keys + L->start[b] * sz, s,
                        L->nd[b], L->base[b], L->ordbase + L->start[b],
                        lo, bits, L->tid >= 0 ? L->tid : tid, L->tid < 0);
    }
}

static void vpar__rk_level_free(vpar__rk_level *L) {
    VPAR_FREE(L->cnt); VPAR_FREE(L->off); VPAR_FREE(L->start);
    VPAR_FREE(L->nd); VPAR_FREE(L->base);
}

static int vpar__rk_level_alloc(vpar__rk_level *L) {
    size_t cells;
    if (!vpar__mul_size(L->nchunks, L->nb, &cells)) return 0;
    L->cnt = (size_t *)VPAR_MALLOC(cells * sizeof(size_t));
    L->off = (size_t *)VPAR_MALLOC(cells * sizeof(size_t));
    L->start = (size_t *)VPAR_MALLOC((L->nb + 1) * sizeof(size_t));
    L->nd = (size_t *)VPAR_MALLOC(L->nb * sizeof(size_t));
    L->base = (uint64_t *)VPAR_MALLOC(L->nb * sizeof(uint64_t));
    if (!L->cnt || !L->off || !L->start || !L->nd || !L->base) {
        vpar__rk_level_free(L);
        L->cnt = L->off = L->start = L->nd = NULL; L->base = NULL;
        return 0;
    }
    memset(L->cnt, 0, cells * sizeof(size_t));
    return 1;
}

/* Splits a bucket larger than the cache with one more partition level
   (keys only, into a temporary buffer of its size), ranks the sub-buckets
   and gathers their values back. Nested on the pool when large. */
static void vpar__rk_sublevel(vpar__rk *rk, void *slots, size_t s, size_t nd,
                              uint64_t base, size_t ordbase, uint64_t lo, int shift,
                              int tid, int may_nest) {
    size_t sz = rk->slot64 ? 8 : 4;
    vpar__rk_level L;
    memset(&L, 0, sizeof L);
    L.rk = rk;
    /* Tighten the range to the bucket's actual keys: a dense cluster inside
       one wide bucket is then split in one level, not in several levels
       that would each borrow a buffer of the bucket's size. */
    {
        uint64_t mn, mx;
        vpar__rk_slot_range(rk, slots, s, &mn, &mx);
        lo = mn;
        shift = vpar__rk_bitlen(mx - mn);
        if (shift == 0) {  /* one key after all: one tie group */
            vpar__rk_bucket(rk, slots, s, nd, base, ordbase, lo, 0, tid, 0);
            return;
        }
    }
    /* ~64 entries per sub-bucket on average, at most 2^10 sub-buckets:
       fewer scatter streams, leaves still in L1. Against ~16 and 2^11, the
       whole ranking of a 17,198-gene packed aggregate (148 M entries, 512
       top buckets of ~290 k) measured 3-6% faster, 1.83 -> 1.72 s median
       of 12 alternating runs (128 / 2^9 1.76 s, 256 / 2^8 1.85 s;
       bench/RESULTS.md, 2026-12-02 23:30) */
    int bits = vpar__rk_bitlen((uint64_t)(s / 64));
    if (bits > 10) bits = 10;
    if (bits < 1) bits = 1;
    if (bits > shift) bits = shift;
    L.shift = shift - bits;
    L.nb = (size_t)1 << bits;
    L.lo = lo;
    L.src = slots;
    L.sub_n = s;
    L.sub_nd = nd;
    L.ordbase = ordbase;
    int nest = may_nest && rk->pool && rk->nthreads > 1 && s >= (size_t)VPAR_RANK_NEST_MIN;
    L.tid = nest ? -1 : tid;
    vpar_pool *pool = nest ? rk->pool : NULL;
    size_t want = nest ? (size_t)rk->nthreads * 4 : 1;
    vpar__rk_chunk ck[1 + 64];
    if (want > 64) want = 64;
    size_t nc = 0;
    ck[nc].kind = VPAR__RK_FLAT; ck[nc].a = 0; ck[nc].b = nd; nc++;
    for (size_t i = 0; i < want; i++) {
        size_t rest = s - nd;
        ck[nc].kind = VPAR__RK_FLAT;
        ck[nc].a = nd + rest / want * i + rest % want * i / want;
        ck[nc].b = nd + rest / want * (i + 1) + rest % want * (i + 1) / want;
        nc++;
    }
    L.chunks = ck;
    L.nchunks = nc;
    if (!vpar__rk_level_alloc(&L)) { vpar__rk_set_err(rk, VPAR_ERR_NOMEM); return; }
    vpar__rk_tbuf *tb = nest ? NULL : &rk->tbuf[tid];
    if (tb && !tb->busy) {
        if (tb->cap < s * sz) {
            void *np = VPAR_REALLOC(tb->p, s * sz);
            if (np) { tb->p = np; tb->cap = s * sz; }
        }
        if (tb->cap >= s * sz) { L.keys = tb->p; tb->busy = 1; }
        else tb = NULL;
    } else tb = NULL;
    if (!tb) L.keys = vpar__rk_big_alloc(s * sz);
    if (!L.keys) { vpar__rk_level_free(&L); vpar__rk_set_err(rk, VPAR_ERR_NOMEM); return; }
    vpar_range_fn count = rk->slot64 ? vpar__rk_sub_count_64 : vpar__rk_sub_count_32;
    vpar_range_fn scatter = rk->slot64 ? vpar__rk_sub_scatter_64 : vpar__rk_sub_scatter_32;
    vpar_range_fn replay = rk->slot64 ? vpar__rk_sub_replay_64 : vpar__rk_sub_replay_32;
    vpar_status st = vpar__rk_for(pool, nc, count, &L, tid);
    if (st == VPAR_OK) {
        vpar__rk_offsets(&L, 1, base);
        st = vpar__rk_for(pool, nc, scatter, &L, tid);
    }
    if (st == VPAR_OK) st = vpar__rk_for(pool, L.nb, vpar__rk_level_buckets, &L, tid);
    if (st == VPAR_OK) {
        vpar__rk_reset_offsets(&L, 1);
        st = vpar__rk_for(pool, nc, replay, &L, tid);
    }
    if (st != VPAR_OK) vpar__rk_set_err(rk, st);
    if (tb) tb->busy = 0;
    else VPAR_FREE(L.keys);
    vpar__rk_level_free(&L);
}

static void vpar__rk_bucket(vpar__rk *rk, void *slots, size_t s, size_t nd,
                            uint64_t base, size_t ordbase, uint64_t lo, int shift,
                            int tid, int may_nest) {
    if (s == 0) return;
    if (shift == 0 || s == 1) {
        /* one key: the whole bucket is one tie group, in stable order */
        uint64_t ce = (uint64_t)(s - nd) * rk->wmain + nd;
        if (rk->mode == VPAR__RK_ORD0 || rk->mode == VPAR__RK_ORD1) {
            /* ordinal values differ per entry: identity ids */
            uint32_t idbuf[256];
            for (size_t g = 0; g < s; g += 256) {
                size_t e = s - g < 256 ? s : g + 256;
                for (size_t j = g; j < e; j++) idbuf[j - g] = (uint32_t)(j - g);
                size_t sz = rk->slot64 ? 8 : 4;
                vpar__rk_emit(rk, (unsigned char *)slots + g * sz, idbuf, 0, e - g,
                              base, ce, ordbase + g);
            }
            return;
        }
        /* constant value: emit through a one-entry id table, then copy */
        uint32_t zero = 0;
        vpar__rk_emit(rk, slots, &zero, 0, 1, base, ce, ordbase);
        if (rk->slot64) {
            uint64_t *sl = (uint64_t *)slots;
            for (size_t j = 1; j < s; j++) sl[j] = sl[0];
        } else {
            uint32_t *sl = (uint32_t *)slots;
            for (size_t j = 1; j < s; j++) sl[j] = sl[0];
        }
        return;
    }
    if (s <= VPAR_RANK_LEAF) {
        vpar__rk_leaf(rk, slots, s, nd, base, ordbase, lo, shift, tid);
        return;
    }
    vpar__rk_sublevel(rk, slots, s, nd, base, ordbase, lo, shift, tid, may_nest);
}

/* ---- level 1: from the float source --------------------------------------- */

/* Iterates the entries of chunk ck (flat index i) in scatter order. */
/* i: the entry's index in the (full) output; xi: in the source, the same
   unless the source is packed (PK: rows of the upper triangle stored one
   after the other, row r starting at r N - r (r - 1) / 2, so entry (r, c)
   of the full matrix is at i - r (r + 1) / 2). */
#define VPAR__RK_FOREACH(ck, N, PK, i, xi, BODY)                               \
    do {                                                                       \
        if ((ck)->kind == VPAR__RK_FLAT) {                                     \
            for (size_t i = (ck)->a; i < (ck)->b; ++i) { size_t xi = i; BODY } \
        } else if ((ck)->kind == VPAR__RK_DIAG) {                              \
            for (size_t r_ = 0; r_ < (N); ++r_) {                              \
                size_t i = r_ * (N) + r_;                                      \
                size_t xi = (PK) ? i - r_ * (r_ + 1) / 2 : i;                  \
                BODY                                                           \
            }                                                                  \
        } else {                                                               \
            for (size_t r_ = (ck)->a; r_ < (ck)->b; ++r_) {                    \
                size_t e_ = (r_ + 1) * (N);                                    \
                size_t sh_ = (PK) ? r_ * (r_ + 1) / 2 : 0;                     \
                for (size_t i = r_ * (N) + r_ + 1; i < e_; ++i) {              \
                    size_t xi = i - sh_;                                       \
                    BODY                                                       \
                }                                                              \
            }                                                                  \
        }                                                                      \
    } while (0)

typedef struct vpar__rk_cstat {
    uint64_t mn0, mx0, mn1, mx1;   /* keys below / at or above the sign split */
    size_t kept, maxeq, nan;
    char pad[VPAR_CACHE_LINE];
} vpar__rk_cstat;

typedef struct vpar__rk_top {
    vpar__rk *rk;
    vpar__rk_level L;
    vpar__rk_cstat *st;
    size_t nfine;
    size_t *cntf;         /* nchunks * nfine */
    uint64_t kmax;
    /* fine bins: two segments, negative and positive keys, each with its
       own range, so the empty key space of tiny magnitudes between them
       (-1e-8 .. 1e-8 spans ~2000 binades) does not waste the bins */
    uint64_t split, lo0, lo1;
    int sh0, sh1;
    size_t nf0;
} vpar__rk_top;

/* Branch-free: the segment comes from the key's top bit (signs are
   random in typical data, a branch would mispredict half the time). */
#define VPAR__RK_BIN(k)                                                        \
    (bbase_[(k) >> splitbit] + (size_t)(((k) - blo_[(k) >> splitbit]) >> bsh_[(k) >> splitbit]))
#define VPAR__RK_BIN_LOCALS                                                    \
    const int splitbit = T->split == ((uint64_t)1 << 63) ? 63 : 31;            \
    const uint64_t blo_[2] = {T->lo0, T->lo1};                                 \
    const int bsh_[2] = {T->sh0, T->sh1};                                      \
    const size_t bbase_[2] = {0, T->nf0};

/* The scatter and the replay walk ~one stream per bucket (thousands):
   too many for the hardware prefetcher, so each access asks for the next
   cache line of its own stream. The address is formed as an integer: past
   the end of the buffer it is never dereferenced, and a prefetch does not
   fault. */
#define VPAR__RK_NEXT_LINE(p) ((const void *)((uintptr_t)(p) + 64))
#if defined(__GNUC__)
#  define VPAR__RK_PREFETCH_R(p) __builtin_prefetch(VPAR__RK_NEXT_LINE(p), 0, 3)
#  define VPAR__RK_PREFETCH_W(p) __builtin_prefetch(VPAR__RK_NEXT_LINE(p), 1, 3)
#else
#  define VPAR__RK_PREFETCH_R(p) ((void)0)
#  define VPAR__RK_PREFETCH_W(p) ((void)0)
#endif

/* The replay: every ranked entry takes its value back from its slot, in
   the scatter's order; DST is the output element (SLOT, or uint32 for the
   rank codes of a float64 source). */
#define VPAR__RK_REPLAY(SUF, BITS, UINT, SLOT, DST)                            \
static void vpar__rk_replay_##SUF(void *user, size_t c0, size_t c1, int tid) { \
    vpar__rk_top *T = (vpar__rk_top *)user;                                    \
    const vpar__rk *rk = T->rk;                                                \
    const UINT *x = (const UINT *)rk->x;                                       \
    const SLOT *val = (const SLOT *)T->L.keys;                                 \
    DST *dst = (DST *)rk->dst;                                                 \
    DST fill = (DST)rk->fill;                                                  \
    const uint32_t *map = T->L.map;                                            \
    size_t N = rk->n;                                                          \
    const int pk = rk->packed;                                                 \
    int skip = rk->skip;                                                       \
    uint64_t k;                                                                \
    VPAR__RK_BIN_LOCALS                                                        \
    (void)tid;                                                                 \
    for (size_t c = c0; c < c1; c++) {                                         \
        const vpar__rk_chunk *ck = &T->L.chunks[c];                            \
        size_t *off = T->L.off + c * T->L.nb;                                  \
        VPAR__RK_FOREACH(ck, N, pk, i, xi, {                                           \
            if (!vpar__rk_k_f##BITS(x[xi], skip, &k)) { dst[i] = fill; continue; } \
            size_t o_ = off[map[VPAR__RK_BIN(k)]]++;                           \
            VPAR__RK_PREFETCH_R(&val[o_]);                                     \
            dst[i] = (DST)val[o_];                                             \
        });                                                                    \
    }                                                                          \
}

/* The key of a float held exactly in a double. */
static inline uint64_t vpar__rk_key_of(double v, int f64) {
    if (f64) {
        uint64_t u;
        memcpy(&u, &v, 8);
        return vpar__rk_key64(u);
    }
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    return vpar__rk_key32(u);
}

/* The stats pass of one chunk in simd.h's vector kernel
   (vpar_range_by_sign_*): a key grows with the value and -0 shares +0's,
   so the key range of each segment is the keys of its value range. The
   scalar pass below stays for the diagonal (strided) and for a chunk with
   infinities where they are not ranked: returns 0 then. Measured on the
   full-size aggregation step (148 M float64 entries, 2 threads): 0.15 ->
   0.03 s (bench/RESULTS.md, 2026-12-03). */
static int vpar__rk_stat_fast(const vpar__rk *rk, const vpar__rk_chunk *ck, vpar__rk_cstat *st) {
    if (ck->kind == VPAR__RK_DIAG) return 0;
    const int f64 = rk->src_f64;
    const size_t N = rk->n, es = f64 ? 8 : 4;
    const unsigned char *x = (const unsigned char *)rk->x;
    double mm[4] = {INFINITY, -INFINITY, INFINITY, -INFINITY};
    size_t nan = 0, total = 0;
    if (ck->kind == VPAR__RK_FLAT) {
        total = ck->b - ck->a;
        if (f64) vpar_range_by_sign_f64((const double *)(const void *)(x + ck->a * es), total, mm, &nan);
        else vpar_range_by_sign_f32((const float *)(const void *)(x + ck->a * es), total, mm, &nan);
    } else {
        for (size_t r = ck->a; r < ck->b; r++) {   /* row r: columns r + 1 .. N - 1 */
            size_t i0 = r * N + r + 1, len = N - r - 1;
            size_t xi = rk->packed ? i0 - r * (r + 1) / 2 : i0;
            if (f64) vpar_range_by_sign_f64((const double *)(const void *)(x + xi * es), len, mm, &nan);
            else vpar_range_by_sign_f32((const float *)(const void *)(x + xi * es), len, mm, &nan);
            total += len;
        }
    }
    if (rk->skip == VPAR__RK_SKIP_NONFINITE && (mm[0] == -INFINITY || mm[3] == INFINITY)) return 0;
    uint64_t mn0 = UINT64_MAX, mx0 = 0, mn1 = UINT64_MAX, mx1 = 0;
    if (mm[0] <= mm[1]) { mn0 = vpar__rk_key_of(mm[0], f64); mx0 = vpar__rk_key_of(mm[1], f64); }
    if (mm[2] <= mm[3]) { mn1 = vpar__rk_key_of(mm[2], f64); mx1 = vpar__rk_key_of(mm[3], f64); }
    size_t kept = total - nan;
    if (rk->skip == VPAR__RK_KEEP_ALL && nan) {   /* NaN ranked, with the largest key */
        uint64_t top = f64 ? UINT64_MAX : 0xffffffffu;
        mx1 = top;
        if (mn1 > top) mn1 = top;
        kept = total;
        nan = 0;
    }
    st->mn0 = mn0; st->mx0 = mx0; st->mn1 = mn1; st->mx1 = mx1;
    st->kept = kept; st->nan = nan;
    return 1;
}

#define VPAR__RK_TOP_PASSES(SUF, BITS, UINT, SLOT)                             \
static void vpar__rk_stat_##SUF(void *user, size_t c0, size_t c1, int tid) {   \
    vpar__rk_top *T = (vpar__rk_top *)user;                                    \
    const vpar__rk *rk = T->rk;                                                \
    const UINT *x = (const UINT *)rk->x;                                       \
    size_t N = rk->n;                                                          \
    const int pk = rk->packed;                                                 \
    int skip = rk->skip;                                                       \
    (void)tid;                                                                 \
    for (size_t c = c0; c < c1; c++) {                                         \
        const vpar__rk_chunk *ck = &T->L.chunks[c];                            \
        if (vpar__rk_stat_fast(rk, ck, &T->st[c])) continue;                   \
        uint64_t mn0 = UINT64_MAX, mx0 = 0, mn1 = UINT64_MAX, mx1 = 0, k;      \
        size_t kept = 0, nan = 0;                                              \
        VPAR__RK_FOREACH(ck, N, pk, i, xi, {                                           \
            UINT u = x[xi];                                                     \
            if (!vpar__rk_k_f##BITS(u, skip, &k)) {                            \
                nan += (u & ~((UINT)1 << (BITS - 1))) > VPAR__RK_INF##BITS;    \
                continue;                                                      \
            }                                                                  \
            kept++;                                                            \
            {   /* branch-free: m is all ones for the upper segment */         \
                uint64_t m = (uint64_t)0 - (k >> (BITS - 1));                  \
                uint64_t a0 = k | m; uint64_t b0 = k & ~m;                     \
                uint64_t a1 = k | ~m; uint64_t b1 = k & m;                     \
                mn0 = a0 < mn0 ? a0 : mn0; mx0 = b0 > mx0 ? b0 : mx0;          \
                mn1 = a1 < mn1 ? a1 : mn1; mx1 = b1 > mx1 ? b1 : mx1;          \
            }                                                                  \
        });                                                                    \
        T->st[c].mn0 = mn0; T->st[c].mx0 = mx0;                                \
        T->st[c].mn1 = mn1; T->st[c].mx1 = mx1;                                \
        T->st[c].kept = kept; T->st[c].nan = nan;                              \
    }                                                                          \
}                                                                              \
static void vpar__rk_count_##SUF(void *user, size_t c0, size_t c1, int tid) {  \
    vpar__rk_top *T = (vpar__rk_top *)user;                                    \
    const vpar__rk *rk = T->rk;                                                \
    const UINT *x = (const UINT *)rk->x;                                       \
    size_t N = rk->n;                                                          \
    const int pk = rk->packed;                                                 \
    int skip = rk->skip;                                                       \
    uint64_t kmax = T->kmax, k;                                                \
    VPAR__RK_BIN_LOCALS                                                        \
    (void)tid;                                                                 \
    for (size_t c = c0; c < c1; c++) {                                         \
        const vpar__rk_chunk *ck = &T->L.chunks[c];                            \
        size_t *cnt = T->cntf + c * T->nfine, maxeq = 0;                       \
        VPAR__RK_FOREACH(ck, N, pk, i, xi, {                                           \
            if (!vpar__rk_k_f##BITS(x[xi], skip, &k)) continue;                 \
            cnt[VPAR__RK_BIN(k)]++;                                            \
            maxeq += k == kmax;                                                \
        });                                                                    \
        T->st[c].maxeq = maxeq;                                                \
    }                                                                          \
}                                                                              \
static void vpar__rk_scatter_##SUF(void *user, size_t c0, size_t c1, int tid) { \
    vpar__rk_top *T = (vpar__rk_top *)user;                                    \
    const vpar__rk *rk = T->rk;                                                \
    const UINT *x = (const UINT *)rk->x;                                       \
    SLOT *keys = (SLOT *)T->L.keys;                                            \
    const uint32_t *map = T->L.map;                                            \
    size_t N = rk->n;                                                          \
    const int pk = rk->packed;                                                 \
    int skip = rk->skip;                                                       \
    uint64_t k;                                                                \
    VPAR__RK_BIN_LOCALS                                                        \
    (void)tid;                                                                 \
    for (size_t c = c0; c < c1; c++) {                                         \
        const vpar__rk_chunk *ck = &T->L.chunks[c];                            \
        size_t *off = T->L.off + c * T->L.nb;                                  \
        VPAR__RK_FOREACH(ck, N, pk, i, xi, {                                           \
            if (!vpar__rk_k_f##BITS(x[xi], skip, &k)) continue;                 \
            size_t o_ = off[map[VPAR__RK_BIN(k)]]++;                           \
            VPAR__RK_PREFETCH_W(&keys[o_]);                                    \
            keys[o_] = (SLOT)k;                                                \
        });                                                                    \
    }                                                                          \
}                                                                              \
VPAR__RK_REPLAY(SUF, BITS, UINT, SLOT, SLOT)

#define VPAR__RK_INF32 0x7f800000u
#define VPAR__RK_INF64 0x7ff0000000000000ull
VPAR__RK_TOP_PASSES(f32s32, 32, uint32_t, uint32_t)
VPAR__RK_TOP_PASSES(f32s64, 32, uint32_t, uint64_t)
VPAR__RK_TOP_PASSES(f64s64, 64, uint64_t, uint64_t)
VPAR__RK_REPLAY(f64s64d32, 64, uint64_t, uint64_t, uint32_t)

#ifndef VPAR__RK_PT
#  define VPAR__RK_PT(i) ((void)0)
#endif
/* vpar__rk_run, in named steps. The state they share: the top level T
   (chunks, their stats, fine bins, the bucket level) and, for the fine
   bins, the key range of each sign segment (vpar__rk_segs). */
typedef struct vpar__rk_fns {
    vpar_range_fn stat, count, scatter, replay;
} vpar__rk_fns;

typedef struct vpar__rk_totals {
    uint64_t mn0, mx0, mn1, mx1;   /* key range below / at or above the split */
    uint64_t wtot;                 /* weighted count of kept entries */
    size_t kept, nan;
    int has0, has1;
} vpar__rk_totals;

typedef struct vpar__rk_segs {
    uint64_t lo[2], hi[2];
    int sh[2];
} vpar__rk_segs;

/* The pass kernels for the source type and slot width. */
static vpar__rk_fns vpar__rk_pick_fns(const vpar__rk *rk) {
    vpar__rk_fns f;
    if (rk->src_f64) {
        f.stat = vpar__rk_stat_f64s64; f.count = vpar__rk_count_f64s64;
        f.scatter = vpar__rk_scatter_f64s64;
        f.replay = rk->dst32 ? vpar__rk_replay_f64s64d32 : vpar__rk_replay_f64s64;
    } else if (rk->slot64) {
        f.stat = vpar__rk_stat_f32s64; f.count = vpar__rk_count_f32s64;
        f.scatter = vpar__rk_scatter_f32s64; f.replay = vpar__rk_replay_f32s64;
    } else {
        f.stat = vpar__rk_stat_f32s32; f.count = vpar__rk_count_f32s32;
        f.scatter = vpar__rk_scatter_f32s32; f.replay = vpar__rk_replay_f32s32;
    }
    return f;
}

/* Cuts the `total` entries into chunks (about 8 per tid, at most 256) and
   allocates their per-chunk stats. */
static vpar_status vpar__rk_plan_top(vpar__rk *rk, vpar__rk_top *T, size_t total) {
    size_t want = total / 32768;
    size_t cap = (size_t)rk->nthreads * 8;
    if (cap > 256) cap = 256;
    if (want > cap) want = cap;
    if (want < 1) want = 1;
    vpar__rk_chunk *chunks = (vpar__rk_chunk *)VPAR_MALLOC((want + 2) * sizeof *chunks);
    vpar__rk_cstat *st = (vpar__rk_cstat *)VPAR_MALLOC((want + 2) * sizeof *st);
    if (!chunks || !st) {
        VPAR_FREE(chunks); VPAR_FREE(st);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu chunks", rk->fname, want);
    }
    T->rk = rk;
    T->L.chunks = chunks;
    T->L.nchunks = vpar__rk_plan_chunks(rk->upper, rk->n, want, chunks);
    T->L.rk = rk;
    T->L.tid = -1;
    T->st = st;
    return VPAR_OK;
}

/* Combines the chunk stats in chunk order. */
static void vpar__rk_sum_stats(const vpar__rk *rk, const vpar__rk_top *T, vpar__rk_totals *a) {
    const vpar__rk_chunk *chunks = T->L.chunks;
    const vpar__rk_cstat *st = T->st;
    uint64_t mn0 = UINT64_MAX, mx0 = 0, mn1 = UINT64_MAX, mx1 = 0, wtot = 0;
    size_t kept = 0, nan = 0;
    for (size_t c = 0; c < T->L.nchunks; c++) {
        uint64_t w = chunks[c].kind == VPAR__RK_DIAG ? 1 : rk->wmain;
        nan += st[c].nan;
        if (!st[c].kept) continue;
        kept += st[c].kept;
        wtot += st[c].kept * w;
        mn0 = st[c].mn0 < mn0 ? st[c].mn0 : mn0;
        mx0 = st[c].mx0 > mx0 ? st[c].mx0 : mx0;
        mn1 = st[c].mn1 < mn1 ? st[c].mn1 : mn1;
        mx1 = st[c].mx1 > mx1 ? st[c].mx1 : mx1;
    }
    a->mn0 = mn0; a->mx0 = mx0; a->mn1 = mn1; a->mx1 = mx1;
    a->wtot = wtot;
    a->kept = kept;
    a->nan = nan;
    a->has0 = mn0 <= mx0;
    a->has1 = mn1 <= mx1;
}

/* Nothing ranked: every entry gets the fill value. */
static vpar_status vpar__rk_fill_all(vpar__rk *rk, vpar__rk_top *T, const vpar__rk_fns *f) {
    T->L.nb = 1; T->L.lo = 0; T->L.shift = 63;
    if (!vpar__rk_level_alloc(&T->L)) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", rk->fname);
    vpar__rk_offsets(&T->L, 0, 0);
    return vpar__rk_for(rk->pool, T->L.nchunks, f->replay, T, 0);
}

/* Fine bins: up to 2^16 equal slices of the key range, split between the
   negative and the positive segment. Allocates the per-chunk fine
   histograms (T->cntf) and the fine-bin -> bucket map (*map). */
static vpar_status vpar__rk_fine_bins(vpar__rk *rk, vpar__rk_top *T, const vpar__rk_totals *a,
                                      vpar__rk_segs *g, uint32_t **map) {
    int fmax = vpar__rk_bitlen((uint64_t)(a->kept / 4));
    int fcap = a->has0 && a->has1 ? 15 : 16;
    if (fmax > fcap) fmax = fcap;
    if (fmax < 1) fmax = 1;
    size_t nf[2] = {0, 0};
    g->lo[0] = a->mn0; g->lo[1] = a->mn1; g->hi[0] = a->mx0; g->hi[1] = a->mx1;
    g->sh[0] = g->sh[1] = 0;
    for (int k = 0; k < 2; k++) {
        if (!(k ? a->has1 : a->has0)) continue;
        int rb = vpar__rk_bitlen(g->hi[k] - g->lo[k]);
        int fb = fmax < rb ? fmax : rb;
        g->sh[k] = rb - fb;
        nf[k] = (size_t)((g->hi[k] - g->lo[k]) >> g->sh[k]) + 1;
    }
    T->split = rk->src_f64 ? (uint64_t)1 << 63 : (uint64_t)1 << 31;
    T->lo0 = a->mn0; T->lo1 = a->mn1; T->sh0 = g->sh[0]; T->sh1 = g->sh[1];
    T->nf0 = nf[0];
    T->nfine = nf[0] + nf[1];
    T->cntf = (size_t *)VPAR_MALLOC(T->nfine * T->L.nchunks * sizeof(size_t));
    *map = (uint32_t *)VPAR_MALLOC(T->nfine * sizeof(uint32_t));
    if (!T->cntf || !*map)
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for histograms", rk->fname);
    memset(T->cntf, 0, T->nfine * T->L.nchunks * sizeof(size_t));
    return VPAR_OK;
}

/* The scattered keys (one slot per kept entry) and the per-tid leaf
   scratch and sub-level buffers. */
static vpar_status vpar__rk_alloc_keys(vpar__rk *rk, vpar__rk_top *T, size_t kept) {
    size_t sz = rk->slot64 ? 8 : 4, bytes;
    if (!vpar__mul_size(kept, sz, &bytes))
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: size overflow", rk->fname);
    rk->scratch_stride = (size_t)VPAR_RANK_LEAF * 24 +
                         (((size_t)1 << VPAR__RK_TOP_DIGITS) + 1) * 4 + 60;
    size_t sbytes = rk->scratch_stride * (size_t)rk->nthreads;
    if (rk->ws) {
        T->L.keys = vpar__rk_ws_take(&rk->ws->keys, &rk->ws->keys_cap, bytes);
        rk->scratch = (unsigned char *)vpar__rk_ws_take(&rk->ws->scratch,
                                                         &rk->ws->scratch_cap, sbytes);
    } else {
        T->L.keys = vpar_alloc_large(bytes);
        if (T->L.keys) rk->keys_bytes = bytes;
        rk->scratch = (unsigned char *)vpar_alloc_large(sbytes);
        if (rk->scratch) rk->scratch_bytes = sbytes;
    }
    rk->tbuf = (vpar__rk_tbuf *)VPAR_MALLOC(sizeof(vpar__rk_tbuf) * (size_t)rk->nthreads);
    if (rk->tbuf) memset(rk->tbuf, 0, sizeof(vpar__rk_tbuf) * (size_t)rk->nthreads);
    if (!T->L.keys || !rk->scratch || !rk->tbuf)
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu keys (%zu bytes)", rk->fname,
                         kept, bytes);
    return VPAR_OK;
}

/* max(rank - 1) = average rank of the top tie group, known before any
   sorting: all entries but the top group are smaller. */
static void vpar__rk_set_maxr(vpar__rk *rk, const vpar__rk_top *T, uint64_t wtot) {
    uint64_t wmax = 0;
    for (size_t c = 0; c < T->L.nchunks; c++)
        wmax += (uint64_t)T->st[c].maxeq * (T->L.chunks[c].kind == VPAR__RK_DIAG ? 1 : rk->wmain);
    rk->maxr = vpar__rk_avg0(wtot - wmax, wmax);
    /* CODE: non-finite entries get 0.5 = half the scale 4 max(rank - 1) */
    if (rk->mode == VPAR__RK_CODE) rk->fill = rk->maxr > 0 ? (uint64_t)(2.0 * rk->maxr) : 1;
}

/* Top-level bucket count. Up to VPAR__RK_BIG ranked entries ~4096 buckets
   (of at least half a leaf), each sorted in cache. Beyond, 512 larger ones,
   each split once more in cache by the sub-level: the scatter and the
   replay then stream into and out of 512 places instead of thousands
   (every stream a cache line and a TLB entry in use), which measured 10-30%
   faster over the whole ranking from 64 M to 300 M entries and 8-10%
   slower at 25 M (bench/RESULTS.md, 2026-12-02). */
#ifndef VPAR__RK_BIG
#  define VPAR__RK_BIG ((size_t)1 << 25)
#endif
#define VPAR__RK_BUCKETS 4096
#define VPAR__RK_BIG_BUCKETS 512

/* Merges consecutive fine bins into buckets of about `target` entries:
   buckets follow the data's density, so most fit the cache-sized leaf
   sort even for skewed distributions. Fills the bucket level (counts per
   chunk, lower key and key width of each bucket). */
static vpar_status vpar__rk_make_buckets(vpar__rk *rk, vpar__rk_top *T, const vpar__rk_segs *g,
                                         uint32_t *map, size_t kept) {
    size_t target = kept / (kept > VPAR__RK_BIG ? VPAR__RK_BIG_BUCKETS : VPAR__RK_BUCKETS);
    if (target < VPAR_RANK_LEAF / 2) target = VPAR_RANK_LEAF / 2;
    size_t nb = 0, acc = 0;
    for (size_t f = 0; f < T->nfine; f++) {
        size_t tot = 0;
        for (size_t c = 0; c < T->L.nchunks; c++) tot += T->cntf[c * T->nfine + f];
        /* a bucket never spans the two segments (nor their gap) */
        if (acc > 0 && (acc + tot > target || f == T->nf0)) { nb++; acc = 0; }
        map[f] = (uint32_t)nb;
        acc += tot;
    }
    T->L.nb = nb + 1;
    T->L.map = map;
    if (!vpar__rk_level_alloc(&T->L))
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for histograms", rk->fname);
    T->L.blo = (uint64_t *)VPAR_MALLOC(T->L.nb * sizeof(uint64_t));
    T->L.bbits = (unsigned char *)VPAR_MALLOC(T->L.nb);
    if (!T->L.blo || !T->L.bbits)
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for histograms", rk->fname);
    for (size_t f = 0; f < T->nfine; f++) {
        size_t b = map[f];
        int k = f >= T->nf0;
        size_t fi = k ? f - T->nf0 : f;
        uint64_t flo = g->lo[k] + ((uint64_t)fi << g->sh[k]);
        uint64_t fhi = g->hi[k] - flo < ((uint64_t)1 << g->sh[k]) - 1 ? g->hi[k]
                                                                   : flo + (((uint64_t)1 << g->sh[k]) - 1);
        if (f == 0 || map[f - 1] != b) T->L.blo[b] = flo;
        /* keys of bucket b lie in [blo, fhi]: width bits */
        T->L.bbits[b] = (unsigned char)vpar__rk_bitlen(fhi - T->L.blo[b]);
        for (size_t c = 0; c < T->L.nchunks; c++) T->L.cnt[c * T->L.nb + b] += T->cntf[c * T->nfine + f];
    }
    return VPAR_OK;
}

/* Scatter the keys into their buckets, sort every bucket, then replay the
   results into rk->dst in the source's order. */
static vpar_status vpar__rk_sort_replay(vpar__rk *rk, vpar__rk_top *T, const vpar__rk_fns *f) {
    vpar__rk_offsets(&T->L, rk->upper, 0);
    VPAR__RK_PT(4);
    vpar_status s = vpar__rk_for(rk->pool, T->L.nchunks, f->scatter, T, 0);
    VPAR__RK_PT(5);
    if (s != VPAR_OK) return s;
    s = vpar__rk_for(rk->pool, T->L.nb, vpar__rk_level_buckets, &T->L, 0);
    VPAR__RK_PT(6);
    if (s != VPAR_OK) return s;
    if (atomic_load_explicit(&rk->err, memory_order_relaxed))
        return vpar_fail((vpar_status)atomic_load_explicit(&rk->err, memory_order_relaxed),
                         "%s: out of memory while sorting a large bucket", rk->fname);
    vpar__rk_reset_offsets(&T->L, rk->upper);
    VPAR__RK_PT(7);
    s = vpar__rk_for(rk->pool, T->L.nchunks, f->replay, T, 0);
    VPAR__RK_PT(8);
    return s;
}

/* Frees everything the steps above allocated (any of it may be NULL). */
static void vpar__rk_release(vpar__rk *rk, vpar__rk_top *T, uint32_t *map) {
    if (!rk->ws) {   /* a workspace keeps its keys and scratch */
        vpar_free_large(T->L.keys, rk->keys_bytes);
        vpar_free_large(rk->scratch, rk->scratch_bytes);
    }
    T->L.keys = NULL;
    rk->keys_bytes = rk->scratch_bytes = 0;
    VPAR_FREE(T->cntf);
    VPAR_FREE(map);
    VPAR_FREE(T->L.blo);
    VPAR_FREE(T->L.bbits);
    if (rk->tbuf)
        for (int t = 0; t < rk->nthreads; t++) VPAR_FREE(rk->tbuf[t].p);
    VPAR_FREE(rk->tbuf);
    rk->tbuf = NULL;
    rk->scratch = NULL;
    vpar__rk_level_free(&T->L);
    VPAR_FREE((void *)T->L.chunks);
    VPAR_FREE(T->st);
}

/* Ranks the source described by rk into rk->dst (slot-sized entries,
   indexed like x). For STD, rk->maxr is computed here. *nan_out: number of
   NaN entries skipped (for the propagate policy, checked by the caller
   before anything is written when rk->mode requests it: pass
   stop_on_nan = 1). Steps: stats pass (key range, counts), fine
   histogram pass, buckets from the histogram, scatter + bucket sorts +
   replay. */
static vpar_status vpar__rk_run(vpar__rk *rk, int stop_on_nan, size_t *nan_out) {
    vpar__rk_fns f = vpar__rk_pick_fns(rk);
    if (nan_out) *nan_out = 0;
    if (!rk->fname) rk->fname = "vpar_rank";
    rk->nthreads = rk->pool ? vpar_pool_size(rk->pool) : 1;
    atomic_store_explicit(&rk->err, 0, memory_order_relaxed);
    size_t total = rk->upper ? rk->n * rk->n : rk->n;   /* caller checked overflow */
    if (total == 0) return VPAR_OK;

    vpar__rk_top T;
    memset(&T, 0, sizeof T);
    vpar_status s = vpar__rk_plan_top(rk, &T, total);
    if (s != VPAR_OK) return s;
    uint32_t *map = NULL;
    vpar__rk_totals a;
    vpar__rk_segs g;
    VPAR__RK_PT(0);
    s = vpar__rk_for(rk->pool, T.L.nchunks, f.stat, &T, 0);
    VPAR__RK_PT(1);
    if (s != VPAR_OK) goto done;
    vpar__rk_sum_stats(rk, &T, &a);
    T.kmax = a.has1 ? a.mx1 : a.mx0;
    if (nan_out) *nan_out = a.nan;
    if (stop_on_nan && a.nan) goto done;
    if (a.kept == 0) {
        s = vpar__rk_fill_all(rk, &T, &f);
        goto done;
    }
    s = vpar__rk_fine_bins(rk, &T, &a, &g, &map);
    if (s == VPAR_OK) s = vpar__rk_alloc_keys(rk, &T, a.kept);
    if (s != VPAR_OK) goto done;
    VPAR__RK_PT(2);
    s = vpar__rk_for(rk->pool, T.L.nchunks, f.count, &T, 0);
    VPAR__RK_PT(3);
    if (s != VPAR_OK) goto done;
    vpar__rk_set_maxr(rk, &T, a.wtot);
    s = vpar__rk_make_buckets(rk, &T, &g, map, a.kept);
    if (s == VPAR_OK) s = vpar__rk_sort_replay(rk, &T, &f);
done:
    vpar__rk_release(rk, &T, map);
    return s;
}

/* ---- symmetric helpers ----------------------------------------------------- */

typedef struct vpar__rk_mirror {
    void *x;
    size_t n, tile;
    int f64;
    size_t *bad;      /* per tile row: first bad flat index, or SIZE_MAX */
} vpar__rk_mirror;

/* Copies the upper triangle onto the lower, tile row by tile row; 32-bit
   tiles off the diagonal through simd.h's vpar_transpose_u32. */
static void vpar__rk_mirror_fn(void *user, size_t b0, size_t b1, int tid) {
    vpar__rk_mirror *M = (vpar__rk_mirror *)user;
    size_t n = M->n, T = M->tile;
    (void)tid;
    for (size_t bi = b0; bi < b1; bi++) {
        size_t i0 = bi * T, i1 = i0 + T < n ? i0 + T : n;
        for (size_t j0 = 0; j0 < i1; j0 += T) {
            size_t j1 = j0 + T < n ? j0 + T : n;
            if (!M->f64 && j1 <= i0) {   /* rows [j0, j1) x columns [i0, i1), transposed */
                uint32_t *x = (uint32_t *)M->x;
                vpar_transpose_u32(x + i0 * n + j0, n, x + j0 * n + i0, n, j1 - j0, i1 - i0);
                continue;
            }
            for (size_t i = i0; i < i1; i++) {
                size_t je = j1 < i ? j1 : i;
                /* bit copies: values, or rank codes */
                if (M->f64) {
                    uint64_t *x = (uint64_t *)M->x;
                    for (size_t j = j0; j < je; j++) x[i * n + j] = x[j * n + i];
                } else {
                    uint32_t *x = (uint32_t *)M->x;
                    for (size_t j = j0; j < je; j++) x[i * n + j] = x[j * n + i];
                }
            }
        }
    }
}

static inline int vpar__rk_same(double a, double b) {
    return a == b || (a != a && b != b);
}

static void vpar__rk_check_fn(void *user, size_t b0, size_t b1, int tid) {
    vpar__rk_mirror *M = (vpar__rk_mirror *)user;
    size_t n = M->n, T = M->tile;
    (void)tid;
    for (size_t bi = b0; bi < b1; bi++) {
        size_t i0 = bi * T, i1 = i0 + T < n ? i0 + T : n, bad = SIZE_MAX;
        for (size_t j0 = 0; j0 < i1; j0 += T) {
            size_t j1 = j0 + T < n ? j0 + T : n;
            for (size_t i = i0; i < i1; i++) {
                size_t je = j1 < i ? j1 : i;
                for (size_t j = j0; j < je; j++) {
                    int ok = M->f64
                        ? vpar__rk_same(((const double *)M->x)[i * n + j], ((const double *)M->x)[j * n + i])
                        : vpar__rk_same(((const float *)M->x)[i * n + j], ((const float *)M->x)[j * n + i]);
                    /* lower (i, j) mismatching upper (j, i): the row-major
                       first offender is the upper entry (j, i) */
                    if (!ok && j * n + i < bad) bad = j * n + i;
                }
            }
        }
        M->bad[bi] = bad;
    }
}

VPAR_API vpar_status vpar_rank_check_symmetric(const void *x, vpar_dtype dtype,
                                               size_t n, vpar_pool *pool,
                                               size_t *row, size_t *col) {
    if (dtype != VPAR_DTYPE_F32 && dtype != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "vpar_rank_check_symmetric: dtype %s is not "
                         "float32 or float64", vpar_dtype_descr(dtype));
    if (!x && n) return vpar_fail(VPAR_ERR_INVALID, "vpar_rank_check_symmetric: matrix pointer is NULL");
    if (n && n > SIZE_MAX / n)
        return vpar_fail(VPAR_ERR_OVERFLOW, "vpar_rank_check_symmetric: %zu x %zu overflows", n, n);
    vpar__rk_mirror M;
    M.x = (void *)(uintptr_t)x; M.n = n; M.tile = 64; M.f64 = dtype == VPAR_DTYPE_F64;
    size_t nt = (n + M.tile - 1) / M.tile;
    M.bad = (size_t *)VPAR_MALLOC((nt ? nt : 1) * sizeof(size_t));
    if (!M.bad) return vpar_fail(VPAR_ERR_NOMEM, "vpar_rank_check_symmetric: out of memory");
    vpar_status st = nt ? (pool ? vpar_parallel_for(pool, 0, nt, 1, vpar__rk_check_fn, &M)
                                : (vpar__rk_check_fn(&M, 0, nt, 0), VPAR_OK))
                        : VPAR_OK;
    size_t bad = SIZE_MAX;
    for (size_t i = 0; i < nt; i++) bad = M.bad[i] < bad ? M.bad[i] : bad;
    VPAR_FREE(M.bad);
    if (st != VPAR_OK) return st;
    if (bad == SIZE_MAX) return VPAR_OK;
    size_t r = bad / n, c = bad % n;
    if (row) *row = r;
    if (col) *col = c;
    double a = M.f64 ? ((const double *)x)[r * n + c] : ((const float *)x)[r * n + c];
    double b = M.f64 ? ((const double *)x)[c * n + r] : ((const float *)x)[c * n + r];
    return vpar_fail(VPAR_ERR_INVALID, "vpar_rank_check_symmetric: matrix is not symmetric: "
                     "[%zu, %zu] = %.17g but [%zu, %zu] = %.17g", r, c, a, c, r, b);
}

/* ---- public entry points ---------------------------------------------------- */

/* codes == NULL: standardized values into out (dtype); else rank codes
   into the uint32 array codes and their scale into *scale. */
static vpar_status vpar__rk_standardize(const char *fname, vpar_rank_workspace *ws,
                                       const void *x, void *out,
                                       vpar_dtype dtype, size_t rows, size_t cols,
                                       vpar_rank_layout layout, vpar_pool *pool,
                                       uint32_t *codes, uint32_t *scale) {
    if (dtype != VPAR_DTYPE_F32 && dtype != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED,
                         "%s: dtype %s is not float32 or float64", fname, vpar_dtype_descr(dtype));
    if ((int)layout < 0 || layout > VPAR_RANK_SYMMETRIC_PACKED)
        return vpar_fail(VPAR_ERR_INVALID, "%s: unknown layout %d", fname, (int)layout);
    size_t n;
    if (!vpar__mul_size(rows, cols, &n) || n > SIZE_MAX / 8)
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: %zu x %zu entries overflow", fname, rows, cols);
    if (codes) {
        out = codes;
        if (!scale) return vpar_fail(VPAR_ERR_INVALID, "%s: scale pointer is NULL", fname);
        /* 4 (rank - 1) < 4 n must fit in uint32 */
        if (n > ((size_t)UINT32_MAX >> 2))
            return vpar_fail(VPAR_ERR_OVERFLOW, "%s: %zu x %zu entries: rank codes need at most "
                             "2^30 entries (use vpar_rank_standardize_into_ws)", fname, rows, cols);
    }
    if ((!x || !out) && n) return vpar_fail(VPAR_ERR_INVALID, "%s: data pointer is NULL", fname);
    const int packed = layout == VPAR_RANK_SYMMETRIC_PACKED;
    if (packed && rows != cols)
        return vpar_fail(VPAR_ERR_SHAPE, "%s: packed symmetric layout needs a square matrix, got %zu x %zu",
                         fname, rows, cols);
    if (packed && out == x && n)
        return vpar_fail(VPAR_ERR_INVALID, "%s: the packed layout ranks out of place only", fname);
    if (out != x && n) {
        size_t es = dtype == VPAR_DTYPE_F64 ? 8 : 4;
        /* packed: N (N + 1) / 2 entries (no overflow: N (N + 1) / 2 < N * N + 1) */
        size_t bytes = (packed ? rows / 2 * (rows + 1) + (rows % 2) * ((rows + 1) / 2) : n) * es;
        size_t obytes = codes ? n * 4 : n * es;
        uintptr_t a = (uintptr_t)x, b = (uintptr_t)out;
        if (a < b + obytes && b < a + bytes)
            return vpar_fail(VPAR_ERR_INVALID, "%s: the output overlaps the input", fname);
    }
    if ((layout == VPAR_RANK_SYMMETRIC || layout == VPAR_RANK_UPPER) && rows != cols)
        return vpar_fail(VPAR_ERR_SHAPE, "%s: %s layout needs a square matrix, got %zu x %zu",
                         fname, layout == VPAR_RANK_SYMMETRIC ? "symmetric" : "upper", rows, cols);
    vpar__rk rk;
    memset(&rk, 0, sizeof rk);
    rk.fname = fname;
    rk.ws = ws;
    rk.pool = pool;
    rk.x = x;
    rk.dst = out;
    rk.src_f64 = dtype == VPAR_DTYPE_F64;
    rk.slot64 = rk.src_f64;
    rk.upper = layout != VPAR_RANK_FULL;
    rk.packed = packed;
    rk.n = rk.upper ? rows : n;
    rk.skip = VPAR__RK_SKIP_NONFINITE;
    rk.mode = codes ? VPAR__RK_CODE : VPAR__RK_STD;
    rk.dst32 = codes && rk.slot64;
    rk.wmain = layout == VPAR_RANK_SYMMETRIC || packed ? 2 : 1;
    if (codes) rk.fill = 1;   /* nothing ranked: 0.5 on the scale 2 (vpar__rk_set_maxr) */
    else if (rk.src_f64) { double h = 0.5; memcpy(&rk.fill, &h, 8); }
    else { float h = 0.5f; uint32_t b; memcpy(&b, &h, 4); rk.fill = b; }
    vpar_status st = vpar__rk_run(&rk, 0, NULL);
    if (st == VPAR_OK && codes) *scale = rk.maxr > 0 ? (uint32_t)(4.0 * rk.maxr) : 2;
    if (st == VPAR_OK && (layout == VPAR_RANK_SYMMETRIC || packed) && rows > 1) {
        vpar__rk_mirror M;
        M.x = out; M.n = rows; M.tile = 64; M.f64 = !codes && rk.src_f64; M.bad = NULL;
        size_t nt = (rows + M.tile - 1) / M.tile;
        st = vpar__rk_for(pool, nt, vpar__rk_mirror_fn, &M, 0);
    }
    return st;
}

VPAR_API vpar_status vpar_rank_standardize(void *x, vpar_dtype dtype, size_t rows,
                                           size_t cols, vpar_rank_layout layout,
                                           vpar_pool *pool) {
    return vpar__rk_standardize("vpar_rank_standardize", NULL, x, x, dtype, rows, cols, layout, pool, NULL, NULL);
}
VPAR_API vpar_status vpar_rank_standardize_f64(double *x, size_t n, vpar_pool *pool) {
    return vpar__rk_standardize("vpar_rank_standardize_f64", NULL, x, x, VPAR_DTYPE_F64, n, 1,
                                VPAR_RANK_FULL, pool, NULL, NULL);
}
VPAR_API vpar_status vpar_rank_standardize_f32(float *x, size_t n, vpar_pool *pool) {
    return vpar__rk_standardize("vpar_rank_standardize_f32", NULL, x, x, VPAR_DTYPE_F32, n, 1,
                                VPAR_RANK_FULL, pool, NULL, NULL);
}

VPAR_API vpar_status vpar_rank_workspace_create(vpar_rank_workspace **out) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_rank_workspace_create: out is NULL");
    *out = (vpar_rank_workspace *)VPAR_MALLOC(sizeof **out);
    if (!*out) return vpar_fail(VPAR_ERR_NOMEM, "vpar_rank_workspace_create: out of memory");
    memset(*out, 0, sizeof **out);
    return VPAR_OK;
}
VPAR_API void vpar_rank_workspace_destroy(vpar_rank_workspace *ws) {
    if (!ws) return;
    vpar_free_large(ws->keys, ws->keys_cap);
    vpar_free_large(ws->scratch, ws->scratch_cap);
    VPAR_FREE(ws);
}
VPAR_API size_t vpar_rank_workspace_bytes(const vpar_rank_workspace *ws) {
    return ws ? ws->keys_cap + ws->scratch_cap : 0;
}
VPAR_API vpar_status vpar_rank_standardize_ws(vpar_rank_workspace *ws, void *x,
                                              vpar_dtype dtype, size_t rows, size_t cols,
                                              vpar_rank_layout layout, vpar_pool *pool) {
    return vpar__rk_standardize("vpar_rank_standardize_ws", ws, x, x, dtype, rows, cols, layout, pool, NULL, NULL);
}
VPAR_API vpar_status vpar_rank_standardize_into_ws(vpar_rank_workspace *ws, const void *x,
                                                   void *out, vpar_dtype dtype, size_t rows,
                                                   size_t cols, vpar_rank_layout layout,
                                                   vpar_pool *pool) {
    return vpar__rk_standardize("vpar_rank_standardize_into_ws", ws, x, out, dtype, rows, cols,
                                layout, pool, NULL, NULL);
}
VPAR_API vpar_status vpar_rank_codes_into_ws(vpar_rank_workspace *ws, const void *x,
                                             vpar_dtype dtype, size_t rows, size_t cols,
                                             vpar_rank_layout layout, uint32_t *codes,
                                             uint32_t *scale, vpar_pool *pool) {
    static uint32_t none;   /* stands for codes when there are no entries */
    if (!codes) {
        if (rows && cols) return vpar_fail(VPAR_ERR_INVALID, "vpar_rank_codes_into_ws: codes is NULL");
        codes = &none;
    }
    return vpar__rk_standardize("vpar_rank_codes_into_ws", ws, x, NULL, dtype, rows, cols, layout,
                                pool, codes, scale);
}
VPAR_API vpar_status vpar_rank_standardize_f64_ws(vpar_rank_workspace *ws, double *x,
                                                  size_t n, vpar_pool *pool) {
    return vpar__rk_standardize("vpar_rank_standardize_f64_ws", ws, x, x, VPAR_DTYPE_F64, n, 1,
                                VPAR_RANK_FULL, pool, NULL, NULL);
}
VPAR_API vpar_status vpar_rank_standardize_f32_ws(vpar_rank_workspace *ws, float *x,
                                                  size_t n, vpar_pool *pool) {
    return vpar__rk_standardize("vpar_rank_standardize_f32_ws", ws, x, x, VPAR_DTYPE_F32, n, 1,
                                VPAR_RANK_FULL, pool, NULL, NULL);
}

typedef struct vpar__rk_inv {
    const uint64_t *ord;
    size_t *perm;
} vpar__rk_inv;

static void vpar__rk_invert_fn(void *user, size_t b, size_t e, int tid) {
    vpar__rk_inv *I = (vpar__rk_inv *)user;
    (void)tid;
    for (size_t i = b; i < e; i++) I->perm[I->ord[i]] = i;
}

static vpar_status vpar__rk_argsort(const char *fname, const void *x, int f64, size_t n,
                                    size_t *perm, vpar_pool *pool) {
    if (n && (!x || !perm)) return vpar_fail(VPAR_ERR_INVALID, "%s: NULL %s", fname, x ? "perm" : "x");
    if (n > SIZE_MAX / 8) return vpar_fail(VPAR_ERR_OVERFLOW, "%s: %zu entries overflow", fname, n);
    if (n == 0) return VPAR_OK;
    uint64_t *ord = (uint64_t *)vpar__rk_big_alloc(n * 8);
    if (!ord) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu entries", fname, n);
    vpar__rk rk;
    memset(&rk, 0, sizeof rk);
    rk.fname = fname;
    rk.pool = pool; rk.x = x; rk.dst = ord; rk.src_f64 = f64; rk.slot64 = 1;
    rk.n = n; rk.skip = VPAR__RK_KEEP_ALL; rk.mode = VPAR__RK_ORD0; rk.wmain = 1;
    vpar_status st = vpar__rk_run(&rk, 0, NULL);
    if (st == VPAR_OK) {
        vpar__rk_inv I = {ord, perm};
        st = pool ? vpar_parallel_for(pool, 0, n, 1 << 16, vpar__rk_invert_fn, &I)
                  : (vpar__rk_invert_fn(&I, 0, n, 0), VPAR_OK);
    }
    VPAR_FREE(ord);
    return st;
}

VPAR_API vpar_status vpar_argsort_f64(const double *x, size_t n, size_t *perm, vpar_pool *pool) {
    return vpar__rk_argsort("vpar_argsort_f64", x, 1, n, perm, pool);
}
VPAR_API vpar_status vpar_argsort_f32(const float *x, size_t n, size_t *perm, vpar_pool *pool) {
    return vpar__rk_argsort("vpar_argsort_f32", x, 0, n, perm, pool);
}

/* Dense ranks from a stable order: one serial walk over the sorted keys. */
static vpar_status vpar__rk_dense(const char *fname, const void *x, int f64, size_t n,
                                  double *ranks, int skip_nan, vpar_pool *pool) {
    size_t *perm = (size_t *)vpar__rk_big_alloc(n * sizeof(size_t));
    if (!perm) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu entries", fname, n);
    vpar_status st = vpar__rk_argsort(fname, x, f64, n, perm, pool);
    if (st == VPAR_OK) {
        double d = 0;
        uint64_t prev = 0, k = 0;
        for (size_t j = 0; j < n; j++) {
            size_t i = perm[j];
            int keep;
            if (f64) { uint64_t u; memcpy(&u, (const double *)x + i, 8);
                       keep = vpar__rk_k_f64(u, skip_nan ? VPAR__RK_SKIP_NAN : 0, &k); }
            else { uint32_t u; memcpy(&u, (const float *)x + i, 4);
                   keep = vpar__rk_k_f32(u, skip_nan ? VPAR__RK_SKIP_NAN : 0, &k); }
            if (!keep) { ranks[i] = NAN; continue; }
            if (j == 0 || k != prev) d += 1;
            prev = k;
            ranks[i] = d;
        }
    }
    VPAR_FREE(perm);
    return st;
}

static vpar_status vpar__rk_rankdata(const char *fname, const void *x, int f64, size_t n,
                                     double *ranks, const vpar_rank_desc *desc, vpar_pool *pool) {
    vpar_rank_desc d = {VPAR_RANK_AVERAGE, VPAR_RANK_NAN_PROPAGATE};
    if (desc) d = *desc;
    if ((int)d.method < 0 || d.method > VPAR_RANK_ORDINAL)
        return vpar_fail(VPAR_ERR_INVALID, "%s: unknown method %d", fname, (int)d.method);
    if ((int)d.nan_policy < 0 || d.nan_policy > VPAR_RANK_NAN_LAST)
        return vpar_fail(VPAR_ERR_INVALID, "%s: unknown nan_policy %d", fname, (int)d.nan_policy);
    if (n && (!x || !ranks)) return vpar_fail(VPAR_ERR_INVALID, "%s: NULL %s", fname, x ? "ranks" : "x");
    if (n > SIZE_MAX / 8) return vpar_fail(VPAR_ERR_OVERFLOW, "%s: %zu entries overflow", fname, n);
    if (n == 0) return VPAR_OK;
    if (d.nan_policy == VPAR_RANK_NAN_PROPAGATE) {
        size_t i = 0;
        if (f64) { const double *v = (const double *)x; while (i < n && v[i] == v[i]) i++; }
        else { const float *v = (const float *)x; while (i < n && v[i] == v[i]) i++; }
        if (i < n) {
            for (size_t j = 0; j < n; j++) ranks[j] = NAN;
            return VPAR_OK;
        }
    }
    int skip_nan = d.nan_policy == VPAR_RANK_NAN_OMIT;
    if (d.method == VPAR_RANK_DENSE) return vpar__rk_dense(fname, x, f64, n, ranks, skip_nan, pool);
    vpar__rk rk;
    memset(&rk, 0, sizeof rk);
    rk.fname = fname;
    rk.pool = pool; rk.x = x; rk.dst = ranks; rk.src_f64 = f64; rk.slot64 = 1;
    rk.n = n; rk.skip = skip_nan ? VPAR__RK_SKIP_NAN : VPAR__RK_KEEP_ALL; rk.wmain = 1;
    rk.mode = d.method == VPAR_RANK_AVERAGE ? VPAR__RK_AVG
            : d.method == VPAR_RANK_MIN ? VPAR__RK_MIN
            : d.method == VPAR_RANK_MAX ? VPAR__RK_MAX : VPAR__RK_ORD1;
    double nanv = NAN;
    memcpy(&rk.fill, &nanv, 8);
    return vpar__rk_run(&rk, 0, NULL);
}

VPAR_API vpar_status vpar_rankdata_f64(const double *x, size_t n, double *ranks,
                                       const vpar_rank_desc *desc, vpar_pool *pool) {
    return vpar__rk_rankdata("vpar_rankdata_f64", x, 1, n, ranks, desc, pool);
}
VPAR_API vpar_status vpar_rankdata_f32(const float *x, size_t n, double *ranks,
                                       const vpar_rank_desc *desc, vpar_pool *pool) {
    return vpar__rk_rankdata("vpar_rankdata_f32", x, 0, n, ranks, desc, pool);
}

#endif /* VPAR_IMPLEMENTATION */
