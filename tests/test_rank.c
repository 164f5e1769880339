/* vpar/rank.h against the reference implementations in test_rank_ref.h.
   Built with tiny VPAR_RANK_LEAF / VPAR_RANK_NEST_MIN so that small arrays
   go through every path: leaves, out-of-cache sub-levels, nested parallel
   sub-levels. test_rank_golden.c covers the default configuration. */
#define VPAR_RANK_LEAF 64
#define VPAR_RANK_NEST_MIN 512
/* above 4000 ranked entries the large-input bucket rule (512 top-level
   buckets, each split again by the sub-level; 2^25 by default) */
#define VPAR__RK_BIG 4000
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar_check.h"
#include "test_rank_ref.h"

#include <math.h>
#include <pthread.h>

static const int pool_sizes[] = {0, 1, 2, 4, 7};  /* 0: pool == NULL */
#define NPOOLS (sizeof pool_sizes / sizeof pool_sizes[0])
static vpar_pool *pools[NPOOLS];

static void make_pools(void) {
    for (size_t p = 0; p < NPOOLS; p++) {
        pools[p] = NULL;
        if (pool_sizes[p] == 0) continue;
        vpar_pool_desc d;
        memset(&d, 0, sizeof d);
        d.num_threads = pool_sizes[p];
        ck_assert_int_eq(vpar_pool_create(&pools[p], &d), VPAR_OK);
    }
}
static void free_pools(void) {
    for (size_t p = 0; p < NPOOLS; p++) vpar_pool_destroy(pools[p]);
}

static int same_array(const double *a, const double *b, size_t n, size_t *where) {
    for (size_t i = 0; i < n; i++)
        if (!ref_eq(a[i], b[i])) { *where = i; return 0; }
    return 1;
}

/* ---- keys and plans ------------------------------------------------------ */

START_TEST(test_keys_are_order_preserving) {
    const double v[] = {-INFINITY, -1e308, -1.5, -1e-310, -0.0, 0.0, 1e-320, 1e-300,
                        1.0, 1.0000000000000002, 3e38, 1e308, INFINITY};
    size_t n = sizeof v / sizeof v[0];
    for (size_t i = 0; i + 1 < n; i++) {
        uint64_t a, b, ka, kb;
        memcpy(&a, &v[i], 8); memcpy(&b, &v[i + 1], 8);
        ka = vpar__rk_key64(a); kb = vpar__rk_key64(b);
        if (v[i] == v[i + 1]) ck_assert_msg(ka == kb, "%g and %g must tie", v[i], v[i + 1]);
        else ck_assert_msg(ka < kb, "key(%g) < key(%g)", v[i], v[i + 1]);
        float fa = (float)v[i], fb = (float)v[i + 1];
        uint32_t ua, ub;
        memcpy(&ua, &fa, 4); memcpy(&ub, &fb, 4);
        if (fa == fb) ck_assert(vpar__rk_key32(ua) == vpar__rk_key32(ub));
        else ck_assert(vpar__rk_key32(ua) < vpar__rk_key32(ub));
    }
    /* NaN (either sign, any payload) is the largest key, or skipped */
    uint64_t k, nanbits = 0xfff8000000000001ull, infbits;
    double inf = INFINITY;
    memcpy(&infbits, &inf, 8);
    ck_assert(vpar__rk_k_f64(nanbits, VPAR__RK_KEEP_ALL, &k) && k == UINT64_MAX);
    ck_assert(!vpar__rk_k_f64(nanbits, VPAR__RK_SKIP_NAN, &k));
    ck_assert(vpar__rk_k_f64(infbits, VPAR__RK_SKIP_NAN, &k) && k < UINT64_MAX);
    ck_assert(!vpar__rk_k_f64(infbits, VPAR__RK_SKIP_NONFINITE, &k));
    ck_assert(vpar__rk_k_f32(0xffc00000u, VPAR__RK_KEEP_ALL, &k) && k == 0xffffffffu);
    ck_assert(!vpar__rk_k_f32(0x7f800000u, VPAR__RK_SKIP_NONFINITE, &k));
}
END_TEST

/* Chunk plans use size_t arithmetic throughout: check them at sizes beyond
   2^32 entries (no allocation of the data itself). */
START_TEST(test_plan_chunks_beyond_2_32) {
    vpar__rk_chunk ck[300];
    size_t sizes[] = {1, 2, 255, 256, 257, ((size_t)1 << 32) + 3, ((size_t)1 << 40) + 12345};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        size_t c = vpar__rk_plan_chunks(0, n, 256, ck);
        ck_assert_uint_ge(c, 1);
        ck_assert_uint_le(c, 256);
        size_t at = 0;
        for (size_t i = 0; i < c; i++) {
            ck_assert_int_eq(ck[i].kind, VPAR__RK_FLAT);
            ck_assert_uint_eq(ck[i].a, at);
            ck_assert_uint_gt(ck[i].b, ck[i].a);
            at = ck[i].b;
        }
        ck_assert_uint_eq(at, n);
    }
    /* upper: N x N with N(N-1)/2 > 2^32 */
    size_t Ns[] = {1, 2, 3, 10, 17198, 100000, 3000000};
    for (size_t s = 0; s < sizeof Ns / sizeof Ns[0]; s++) {
        size_t N = Ns[s];
        size_t c = vpar__rk_plan_chunks(1, N, 64, ck);
        ck_assert_uint_ge(c, 1);
        ck_assert_int_eq(ck[0].kind, VPAR__RK_DIAG);
        ck_assert_uint_eq(vpar__rk_chunk_count(&ck[0], N), N);
        size_t r = 0, total = 0, biggest = 0;
        for (size_t i = 1; i < c; i++) {
            ck_assert_int_eq(ck[i].kind, VPAR__RK_ROWS);
            ck_assert_uint_eq(ck[i].a, r);
            ck_assert_uint_gt(ck[i].b, ck[i].a);
            r = ck[i].b;
            size_t cnt = vpar__rk_chunk_count(&ck[i], N);
            /* the closed form against a plain sum for small chunks */
            if (ck[i].b - ck[i].a < 100000) {
                size_t sum = 0;
                for (size_t q = ck[i].a; q < ck[i].b; q++) sum += N - 1 - q;
                ck_assert_uint_eq(cnt, sum);
            }
            total += cnt;
            biggest = cnt > biggest ? cnt : biggest;
        }
        ck_assert_uint_eq(r, N > 1 ? N - 1 : 0);
        ck_assert_uint_eq(total, N * (N - 1) / 2);
        if (N >= 100000) {
            ck_assert_uint_eq(c, 65);
            ck_assert_msg(biggest <= total / 64 + 2 * N, "balanced chunks: biggest %zu of %zu", biggest, total);
        }
    }
}
END_TEST

START_TEST(test_rank_value_is_exact_beyond_2_32) {
    /* cl + (ce - 1) / 2 with cl, ce > 2^32: exact half-integers */
    uint64_t cl = ((uint64_t)1 << 33) + 7, ce = ((uint64_t)1 << 32) + 2;
    ck_assert(vpar__rk_avg0(cl, ce) == (double)cl + ((double)ce - 1) / 2);
    ck_assert(vpar__rk_avg0(0, 1) == 0.0);
    ck_assert(vpar__rk_avg0(5, 2) == 5.5);
}
END_TEST

/* ---- rankdata / argsort vs reference -------------------------------------- */

static const size_t sizes[] = {0, 1, 2, 3, 7, 31, 64, 65, 101, 1001, 4099, 20011};
#define NSIZES (sizeof sizes / sizeof sizes[0])

START_TEST(test_rankdata_matches_reference) {
    make_pools();
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        if (n > 5000) continue;  /* argsort covers the largest size */
        double *x = (double *)malloc((n + 1) * sizeof *x);
        float *xf = (float *)malloc((n + 1) * sizeof *xf);
        double *xd = (double *)malloc((n + 1) * sizeof *xd);  /* xf widened */
        double *want = (double *)malloc((n + 1) * sizeof *want);
        double *got = (double *)malloc((n + 1) * sizeof *got);
        for (int fl = 0; fl < 4; fl++) {
            ref_fill(x, n, fl, n * 31 + (size_t)fl);
            for (size_t i = 0; i < n; i++) { xf[i] = (float)x[i]; xd[i] = xf[i]; }
            for (int method = 0; method <= 4; method++)
                for (int pol = 0; pol <= 2; pol++) {
                    vpar_rank_desc d = {(vpar_rank_method)method, (vpar_rank_nan_policy)pol};
                    for (int f32 = 0; f32 <= 1; f32++) {
                        ref_rankdata(f32 ? xd : x, n, want, method, pol);
                        for (size_t p = 0; p < NPOOLS; p++) {
                            if (n > 500 && p % 2 == 1) continue;  /* keep the suite fast */
                            for (size_t i = 0; i < n; i++) got[i] = -1;
                            vpar_status st = f32 ? vpar_rankdata_f32(xf, n, got, &d, pools[p])
                                                 : vpar_rankdata_f64(x, n, got, &d, pools[p]);
                            ck_assert_int_eq(st, VPAR_OK);
                            size_t w = 0;
                            if (!same_array(got, want, n, &w)) ck_abort_msg(
                                "rankdata n=%zu flavour=%d method=%d policy=%d f32=%d threads=%d: "
                                "[%zu] got %.17g want %.17g (x=%.17g)", n, fl, method, pol, f32,
                                pool_sizes[p], w, got[w], want[w], f32 ? xd[w] : x[w]);
                        }
                    }
                }
        }
        free(x); free(xf); free(xd); free(want); free(got);
    }
    free_pools();
}
END_TEST

START_TEST(test_argsort_matches_reference) {
    make_pools();
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        double *x = (double *)malloc((n + 1) * sizeof *x);
        double *xd = (double *)malloc((n + 1) * sizeof *xd);
        float *xf = (float *)malloc((n + 1) * sizeof *xf);
        size_t *want = (size_t *)malloc((n + 1) * sizeof *want);
        size_t *got = (size_t *)malloc((n + 1) * sizeof *got);
        for (int fl = 0; fl < 4; fl++) {
            ref_fill(x, n, fl, n * 7 + (size_t)fl);
            for (size_t i = 0; i < n; i++) { xf[i] = (float)x[i]; xd[i] = xf[i]; }
            for (int f32 = 0; f32 <= 1; f32++) {
                ref_argsort(f32 ? xd : x, n, want);
                for (size_t p = 0; p < NPOOLS; p++) {
                    vpar_status st = f32 ? vpar_argsort_f32(xf, n, got, pools[p])
                                         : vpar_argsort_f64(x, n, got, pools[p]);
                    ck_assert_int_eq(st, VPAR_OK);
                    for (size_t j = 0; j < n; j++)
                        if (got[j] != want[j]) ck_abort_msg("argsort n=%zu flavour=%d f32=%d threads=%d: "
                                      "perm[%zu] = %zu, want %zu", n, fl, f32, pool_sizes[p], j, got[j], want[j]);
                }
            }
        }
        free(x); free(xd); free(xf); free(want); free(got);
    }
    free_pools();
}
END_TEST

/* ---- standardization ------------------------------------------------------- */

static void check_standardize(size_t rows, size_t cols, int layout, int fl, uint64_t seed) {
    size_t n = rows * cols;
    double *x = (double *)malloc((n + 1) * sizeof *x);
    double *xd = (double *)malloc((n + 1) * sizeof *xd);
    double *want = (double *)malloc((n + 1) * sizeof *want);
    double *got = (double *)malloc((n + 1) * sizeof *got);
    float *gf = (float *)malloc((n + 1) * sizeof *gf);
    ref_fill(x, n, fl, seed);
    if (layout == VPAR_RANK_SYMMETRIC)   /* symmetric input, lower from upper */
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < r; c++) x[r * cols + c] = x[c * cols + r];
    for (int f32 = 0; f32 <= 1; f32++) {
        for (size_t i = 0; i < n; i++) xd[i] = f32 ? (double)(float)x[i] : x[i];
        ref_standardize(xd, rows, cols, layout, want);
        for (size_t p = 0; p < NPOOLS; p++) {
            vpar_status st;
            if (f32) {
                for (size_t i = 0; i < n; i++) gf[i] = (float)xd[i];
                st = vpar_rank_standardize(gf, VPAR_DTYPE_F32, rows, cols, (vpar_rank_layout)layout, pools[p]);
            } else {
                memcpy(got, xd, n * sizeof *got);
                st = vpar_rank_standardize(got, VPAR_DTYPE_F64, rows, cols, (vpar_rank_layout)layout, pools[p]);
            }
            ck_assert_msg(st == VPAR_OK, "%s", vpar_last_error());
            for (size_t i = 0; i < n; i++) {
                double g = f32 ? (double)gf[i] : got[i];
                double w = f32 ? (double)(float)want[i] : want[i];
                if (!ref_eq(g, w)) ck_abort_msg(
                    "standardize %zux%zu layout=%d flavour=%d f32=%d threads=%d: [%zu] got %.17g want %.17g",
                    rows, cols, layout, fl, f32, pool_sizes[p], i, g, w);
            }
        }
    }
    free(x); free(xd); free(want); free(got); free(gf);
}

START_TEST(test_standardize_matches_reference) {
    make_pools();
    const size_t dims[][2] = {{0, 0}, {1, 1}, {1, 2}, {2, 2}, {3, 3}, {5, 5}, {7, 3},
                              {17, 17}, {64, 64}, {131, 131}, {150, 303}};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int layout = 0; layout <= 2; layout++) {
            if (layout && dims[d][0] != dims[d][1]) continue;
            for (int fl = 0; fl < 4; fl++)
                check_standardize(dims[d][0], dims[d][1], layout, fl, d * 100 + (size_t)fl);
        }
    free_pools();
}
END_TEST

START_TEST(test_symmetric_equals_full_bit_for_bit) {
    make_pools();
    const size_t Ns[] = {1, 2, 3, 33, 100, 257};
    for (size_t k = 0; k < sizeof Ns / sizeof Ns[0]; k++) {
        size_t N = Ns[k], n = N * N;
        double *x = (double *)malloc(n * sizeof *x);
        double *a = (double *)malloc(n * sizeof *a), *b = (double *)malloc(n * sizeof *b);
        float *fa = (float *)malloc(n * sizeof *fa), *fb = (float *)malloc(n * sizeof *fb);
        for (int fl = 0; fl < 4; fl++) {
            ref_fill(x, n, fl, 1000 + N * 4 + (size_t)fl);
            for (size_t r = 0; r < N; r++)
                for (size_t c = 0; c < r; c++) x[r * N + c] = x[c * N + r];
            for (size_t p = 0; p < NPOOLS; p++) {
                memcpy(a, x, n * sizeof *a); memcpy(b, x, n * sizeof *b);
                for (size_t i = 0; i < n; i++) fa[i] = fb[i] = (float)x[i];
                ck_assert_int_eq(vpar_rank_standardize(a, VPAR_DTYPE_F64, N, N, VPAR_RANK_FULL, pools[p]), VPAR_OK);
                ck_assert_int_eq(vpar_rank_standardize(b, VPAR_DTYPE_F64, N, N, VPAR_RANK_SYMMETRIC, pools[p]), VPAR_OK);
                ck_assert_int_eq(vpar_rank_standardize(fa, VPAR_DTYPE_F32, N, N, VPAR_RANK_FULL, pools[p]), VPAR_OK);
                ck_assert_int_eq(vpar_rank_standardize(fb, VPAR_DTYPE_F32, N, N, VPAR_RANK_SYMMETRIC, pools[p]), VPAR_OK);
                ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "f64 N=%zu flavour=%d threads=%d", N, fl, pool_sizes[p]);
                ck_assert_msg(memcmp(fa, fb, n * sizeof *fa) == 0, "f32 N=%zu flavour=%d threads=%d", N, fl, pool_sizes[p]);
            }
        }
        free(x); free(a); free(b); free(fa); free(fb);
    }
    free_pools();
}
END_TEST

/* The workspace path equals the plain path bit for bit, with one
   workspace reused across sizes (growing and shrinking: stale keys and
   scratch from a larger call stay in the buffers), dtypes, layouts and
   pools; 400 x 400 float64 keys (1.28 MB) take vpar_alloc_large's mmap
   path. */
START_TEST(test_workspace_equals_plain) {
    make_pools();
    vpar_rank_workspace *ws = NULL;
    ck_assert_int_eq(vpar_rank_workspace_create(&ws), VPAR_OK);
    ck_assert_uint_eq(vpar_rank_workspace_bytes(ws), 0);
    const size_t Ns[] = {400, 3, 131, 1, 257, 400, 64};
    size_t maxn = 400 * 400;
    double *x = (double *)malloc(maxn * sizeof *x);
    double *a = (double *)malloc(maxn * sizeof *a), *b = (double *)malloc(maxn * sizeof *b);
    float *fa = (float *)malloc(maxn * sizeof *fa), *fb = (float *)malloc(maxn * sizeof *fb);
    for (size_t k = 0; k < sizeof Ns / sizeof Ns[0]; k++) {
        size_t N = Ns[k], n = N * N;
        int fl = (int)(k % 4);
        ref_fill(x, n, fl, 7000 + k);
        for (size_t r = 0; r < N; r++)
            for (size_t c = 0; c < r; c++) x[r * N + c] = x[c * N + r];
        for (int layout = 0; layout <= 2; layout++)
            for (size_t p = 0; p < NPOOLS; p++) {
                vpar_rank_layout L = (vpar_rank_layout)layout;
                memcpy(a, x, n * sizeof *a); memcpy(b, x, n * sizeof *b);
                for (size_t i = 0; i < n; i++) fa[i] = fb[i] = (float)x[i];
                ck_assert_int_eq(vpar_rank_standardize(a, VPAR_DTYPE_F64, N, N, L, pools[p]), VPAR_OK);
                ck_assert_msg(vpar_rank_standardize_ws(ws, b, VPAR_DTYPE_F64, N, N, L, pools[p]) == VPAR_OK,
                              "%s", vpar_last_error());
                ck_assert_int_eq(vpar_rank_standardize(fa, VPAR_DTYPE_F32, N, N, L, pools[p]), VPAR_OK);
                ck_assert_int_eq(vpar_rank_standardize_ws(ws, fb, VPAR_DTYPE_F32, N, N, L, pools[p]), VPAR_OK);
                ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "f64 N=%zu layout=%d threads=%d", N, layout, pool_sizes[p]);
                ck_assert_msg(memcmp(fa, fb, n * sizeof *fa) == 0, "f32 N=%zu layout=%d threads=%d", N, layout, pool_sizes[p]);
            }
        /* flat variants */
        memcpy(a, x, n * sizeof *a); memcpy(b, x, n * sizeof *b);
        for (size_t i = 0; i < n; i++) fa[i] = fb[i] = (float)x[i];
        ck_assert_int_eq(vpar_rank_standardize_f64(a, n, pools[2]), VPAR_OK);
        ck_assert_int_eq(vpar_rank_standardize_f64_ws(ws, b, n, pools[2]), VPAR_OK);
        ck_assert_int_eq(vpar_rank_standardize_f32(fa, n, pools[2]), VPAR_OK);
        ck_assert_int_eq(vpar_rank_standardize_f32_ws(ws, fb, n, pools[2]), VPAR_OK);
        ck_assert(memcmp(a, b, n * sizeof *a) == 0);
        ck_assert(memcmp(fa, fb, n * sizeof *fa) == 0);
    }
    /* grown to the largest call (400 x 400 float64 keys), never shrunk */
    ck_assert_uint_ge(vpar_rank_workspace_bytes(ws), maxn * 8);
    /* NULL workspace: the plain function */
    memcpy(a, x, 64 * sizeof *a); memcpy(b, x, 64 * sizeof *b);
    ck_assert_int_eq(vpar_rank_standardize_f64(a, 64, NULL), VPAR_OK);
    ck_assert_int_eq(vpar_rank_standardize_f64_ws(NULL, b, 64, NULL), VPAR_OK);
    ck_assert(memcmp(a, b, 64 * sizeof *a) == 0);
    ck_assert_int_eq(vpar_rank_workspace_create(NULL), VPAR_ERR_INVALID);
    vpar_rank_workspace_destroy(ws);
    vpar_rank_workspace_destroy(NULL);
    free(x); free(a); free(b); free(fa); free(fb);
    free_pools();
}
END_TEST

/* vpar_rank_standardize_into_ws: the in-place result written elsewhere;
   the source unchanged; SYMMETRIC never reads the source's strict lower
   triangle; UPPER leaves the output's strict lower triangle alone. */
START_TEST(test_standardize_into) {
    make_pools();
    vpar_rank_workspace *ws;
    ck_assert_int_eq(vpar_rank_workspace_create(&ws), VPAR_OK);
    const size_t Ns[] = {1, 2, 33, 150};
    for (size_t k = 0; k < sizeof Ns / sizeof Ns[0]; k++) {
        size_t N = Ns[k], n = N * N;
        double *x = (double *)malloc(n * sizeof *x), *a = (double *)malloc(n * sizeof *a);
        double *src = (double *)malloc(n * sizeof *src), *out = (double *)malloc(n * sizeof *out);
        float *fx = (float *)malloc(n * sizeof *fx), *fa = (float *)malloc(n * sizeof *fa);
        float *fout = (float *)malloc(n * sizeof *fout);
        ref_fill(x, n, (int)(k % 3), 9100 + k);
        for (size_t r = 0; r < N; r++)
            for (size_t c = 0; c < r; c++) x[r * N + c] = x[c * N + r];
        for (int layout = 0; layout <= 2; layout++)
            for (size_t p = 0; p < NPOOLS; p++) {
                vpar_rank_layout L = (vpar_rank_layout)layout;
                memcpy(a, x, n * sizeof *a);
                ck_assert_int_eq(vpar_rank_standardize(a, VPAR_DTYPE_F64, N, N, L, pools[p]), VPAR_OK);
                memcpy(src, x, n * sizeof *src);
                if (L != VPAR_RANK_FULL)   /* poison what must not be read */
                    for (size_t r = 0; r < N; r++)
                        for (size_t c = 0; c < r; c++) src[r * N + c] = (double)(r * N + c) - 1e300;
                for (size_t i = 0; i < n; i++) out[i] = 123.0;
                ck_assert_msg(vpar_rank_standardize_into_ws(p ? ws : NULL, src, out, VPAR_DTYPE_F64, N, N,
                                                            L, pools[p]) == VPAR_OK, "%s", vpar_last_error());
                for (size_t r = 0; r < N; r++)
                    for (size_t c = 0; c < N; c++) {
                        size_t i = r * N + c;
                        double want = L == VPAR_RANK_UPPER && c < r ? 123.0 : a[i];
                        if (!(out[i] == want || (isnan(out[i]) && isnan(want))))
                            ck_abort_msg("into f64 N=%zu layout=%d threads=%d [%zu] = %.17g, want %.17g",
                                         N, layout, pool_sizes[p], i, out[i], want);
                        double sw = L != VPAR_RANK_FULL && c < r ? (double)i - 1e300 : x[i];
                        ck_assert(memcmp(&src[i], &sw, sizeof sw) == 0);
                    }
                /* float32, symmetric only */
                for (size_t i = 0; i < n; i++) fx[i] = fa[i] = (float)x[i];
                ck_assert_int_eq(vpar_rank_standardize(fa, VPAR_DTYPE_F32, N, N, L, pools[p]), VPAR_OK);
                for (size_t i = 0; i < n; i++) fout[i] = 7.0f;
                ck_assert_int_eq(vpar_rank_standardize_into_ws(ws, fx, fout, VPAR_DTYPE_F32, N, N, L, pools[p]),
                                 VPAR_OK);
                for (size_t r = 0; r < N; r++)
                    for (size_t c = 0; c < N; c++) {
                        float want = L == VPAR_RANK_UPPER && c < r ? 7.0f : fa[r * N + c];
                        ck_assert(memcmp(&fout[r * N + c], &want, sizeof want) == 0);
                    }
            }
        /* out == x: in place */
        memcpy(a, x, n * sizeof *a); memcpy(out, x, n * sizeof *out);
        ck_assert_int_eq(vpar_rank_standardize_f64(a, n, NULL), VPAR_OK);
        ck_assert_int_eq(vpar_rank_standardize_into_ws(ws, out, out, VPAR_DTYPE_F64, n, 1,
                                                       VPAR_RANK_FULL, NULL), VPAR_OK);
        ck_assert(memcmp(a, out, n * sizeof *a) == 0);
        free(x); free(a); free(src); free(out); free(fx); free(fa); free(fout);
    }
    /* overlapping output: refused, nothing written */
    double ov[8] = {5, 4, 3, 2, 1, 0, -1, -2};
    ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, ov, ov + 1, VPAR_DTYPE_F64, 4, 1,
                                                   VPAR_RANK_FULL, NULL), VPAR_ERR_INVALID);
    ck_assert(strstr(vpar_last_error(), "overlaps") != NULL);
    ck_assert(ov[1] == 4 && ov[4] == 1);
    ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, ov, NULL, VPAR_DTYPE_F64, 4, 1,
                                                   VPAR_RANK_FULL, NULL), VPAR_ERR_INVALID);
    vpar_rank_workspace_destroy(ws);
    free_pools();
}
END_TEST

/* Brute-force rank codes of the entries selected by `upper` (i <= j) or all
   entries: 4 * (number smaller) + 2 * (number equal - 1) among the finite
   ones (each compared as double; -0 == +0), non-finite entries half the
   scale 4 * max; counted directly, O(n^2), independent of the ranker. */
static void brute_codes(const double *x, size_t N, int upper, uint32_t *codes, uint32_t *scale) {
    size_t n = N * N;
    uint64_t maxc = 0;
    size_t fin = 0;
    for (size_t i = 0; i < n; i++) {
        if (upper && i / N > i % N) continue;
        if (!isfinite(x[i])) continue;
        fin++;
        uint64_t lt = 0, eq = 0;
        for (size_t j = 0; j < n; j++) {
            if (upper && j / N > j % N) continue;
            if (!isfinite(x[j])) continue;
            lt += x[j] < x[i];
            eq += x[j] == x[i];
        }
        uint64_t c = 4 * lt + 2 * (eq - 1);
        codes[i] = (uint32_t)c;
        maxc = c > maxc ? c : maxc;
    }
    *scale = maxc > 0 ? (uint32_t)maxc : 2;
    for (size_t i = 0; i < n; i++) {
        if (upper && i / N > i % N) continue;
        if (!isfinite(x[i])) codes[i] = *scale / 2;
        else if (maxc == 0) codes[i] = 1;  /* one finite entry: 0.5 */
    }
    (void)fin;
}

/* vpar_rank_codes_into_ws: the codes and the scale equal the brute-force
   count above for every layout and dtype (pools: none, 2 and 7 threads,
   one with a workspace), and code / scale equals
   the standardized float64 value exactly (one correctly rounded division
   of the same integers); UPPER leaves the strict lower triangle alone;
   the source is never written; errors. */
START_TEST(test_rank_codes) {
    make_pools();
    vpar_rank_workspace *ws;
    ck_assert_int_eq(vpar_rank_workspace_create(&ws), VPAR_OK);
    /* the brute force is O(N^4): up to N = 40; N = 97 is checked against
       the float64 standardization only */
    const size_t Ns[] = {1, 2, 3, 17, 40, 97};
    for (size_t k = 0; k < sizeof Ns / sizeof Ns[0]; k++)
        for (int fl = 0; fl < 4; fl++) {
            size_t N = Ns[k], n = N * N;
            int brute = N <= 40;
            double *x = (double *)malloc(n * sizeof *x), *std = (double *)malloc(n * sizeof *std);
            float *fx = (float *)malloc(n * sizeof *fx);
            double *xf = (double *)malloc(n * sizeof *xf);
            uint32_t *want = (uint32_t *)malloc(n * sizeof *want), *got = (uint32_t *)malloc(n * sizeof *got);
            ref_fill(x, n, fl, 7700 + k * 10 + (size_t)fl);
            for (size_t r = 0; r < N; r++)
                for (size_t c = 0; c < r; c++) x[r * N + c] = x[c * N + r];
            for (size_t i = 0; i < n; i++) { fx[i] = (float)x[i]; xf[i] = (double)fx[i]; }
            for (int layout = 0; layout <= 2; layout++)
                for (int f32 = 0; f32 <= 1; f32++) {
                    vpar_rank_layout L = (vpar_rank_layout)layout;
                    uint32_t wscale = 0;
                    memset(want, 0xee, n * sizeof *want);
                    if (brute) brute_codes(f32 ? xf : x, N, L == VPAR_RANK_UPPER, want, &wscale);
                    for (size_t p = 0; p < NPOOLS; p += 2) {   /* NULL, 2 and 7 threads */
                        uint32_t gscale = 0;
                        for (size_t i = 0; i < n; i++) got[i] = 0xeeeeeeeeu;
                        vpar_status st = vpar_rank_codes_into_ws(p == 2 ? ws : NULL, f32 ? (const void *)fx
                                                                 : (const void *)x,
                                                                 f32 ? VPAR_DTYPE_F32 : VPAR_DTYPE_F64, N, N,
                                                                 L, got, &gscale, pools[p]);
                        ck_assert_msg(st == VPAR_OK, "%s", vpar_last_error());
                        ck_assert_msg(!brute || gscale == wscale, "N=%zu fl=%d layout=%d f32=%d: scale %u, want %u",
                                      N, fl, layout, f32, gscale, wscale);
                        for (size_t i = 0; i < n && brute; i++)
                            if (got[i] != want[i])
                                ck_abort_msg("codes N=%zu fl=%d layout=%d f32=%d threads=%d [%zu] = %u, want %u",
                                             N, fl, layout, f32, pool_sizes[p], i, got[i], want[i]);
                        if (!f32) {   /* code / scale is the standardized value */
                            for (size_t i = 0; i < n; i++) std[i] = 5.0;
                            ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, x, std, VPAR_DTYPE_F64, N, N,
                                                                           L, pools[p]), VPAR_OK);
                            for (size_t i = 0; i < n; i++) {
                                if (L == VPAR_RANK_UPPER && i / N > i % N) continue;
                                ck_assert_msg((double)got[i] / (double)gscale == std[i],
                                              "N=%zu [%zu]: %u / %u != %.17g", N, i, got[i], gscale, std[i]);
                            }
                        }
                    }
                }
            free(x); free(std); free(fx); free(xf); free(want); free(got);
        }
    /* errors, before anything is read or written */
    double ov[4] = {1, 2, 3, 4};
    uint32_t sc, cd[4] = {9, 9, 9, 9};
    ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, ov, VPAR_DTYPE_F64, 4, 1, VPAR_RANK_FULL, cd, NULL, NULL),
                     VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, ov, VPAR_DTYPE_F64, 4, 1, VPAR_RANK_FULL, NULL, &sc, NULL),
                     VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, ov, VPAR_DTYPE_F64, 4, 1, VPAR_RANK_FULL,
                                             (uint32_t *)(void *)(ov + 1), &sc, NULL), VPAR_ERR_INVALID);
    ck_assert(strstr(vpar_last_error(), "overlaps") != NULL);
    /* 2^15 x (2^15 + 1) entries: codes up to 2^32 + ... do not fit; refused
       by the size alone (the pointers are never used) */
    ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, ov, VPAR_DTYPE_F64, (size_t)1 << 15, ((size_t)1 << 15) + 1,
                                             VPAR_RANK_FULL, cd, &sc, NULL), VPAR_ERR_OVERFLOW);
    ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, ov, VPAR_DTYPE_I32, 4, 1, VPAR_RANK_FULL, cd, &sc, NULL),
                     VPAR_ERR_UNSUPPORTED);
    ck_assert(cd[0] == 9 && cd[3] == 9 && ov[1] == 2);
    ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, NULL, VPAR_DTYPE_F64, 0, 0, VPAR_RANK_FULL, NULL, &sc, NULL),
                     VPAR_OK);
    vpar_rank_workspace_destroy(ws);
    free_pools();
}
END_TEST

/* VPAR_RANK_SYMMETRIC_PACKED: the upper triangle stored row after row
   gives, bit for bit, SYMMETRIC's output from the full matrix (float64 and
   float32 values, and rank codes), for every thread count; the packed
   source is never written; in place, non-square and overlapping calls are
   refused before anything is written. */
START_TEST(test_symmetric_packed) {
    make_pools();
    const size_t Ns[] = {1, 2, 3, 17, 64, 131};
    for (size_t k = 0; k < sizeof Ns / sizeof Ns[0]; k++)
        for (int fl = 0; fl < 4; fl++) {
            size_t N = Ns[k], n = N * N, np = N * (N + 1) / 2;
            double *x = (double *)malloc(n * sizeof *x), *pk = (double *)malloc(np * sizeof *pk);
            double *pk0 = (double *)malloc(np * sizeof *pk0);
            double *a = (double *)malloc(n * sizeof *a), *b = (double *)malloc(n * sizeof *b);
            float *fx = (float *)malloc(n * sizeof *fx), *fpk = (float *)malloc(np * sizeof *fpk);
            float *fa = (float *)malloc(n * sizeof *fa), *fb = (float *)malloc(n * sizeof *fb);
            uint32_t *ca = (uint32_t *)malloc(n * sizeof *ca), *cb = (uint32_t *)malloc(n * sizeof *cb);
            ref_fill(x, n, fl, 5100 + k * 10 + (size_t)fl);
            size_t q = 0;
            for (size_t r = 0; r < N; r++)
                for (size_t c = 0; c < N; c++) {
                    if (c < r) x[r * N + c] = x[c * N + r];
                    else { pk[q] = x[r * N + c]; fpk[q] = (float)pk[q]; q++; }
                    fx[r * N + c] = (float)x[r * N + c];
                }
            ck_assert_uint_eq(q, np);
            memcpy(pk0, pk, np * sizeof *pk);
            for (size_t p = 0; p < NPOOLS; p += 2) {   /* NULL, 2 and 7 threads */
                ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, x, a, VPAR_DTYPE_F64, N, N,
                                                               VPAR_RANK_SYMMETRIC, pools[p]), VPAR_OK);
                for (size_t i = 0; i < n; i++) b[i] = 77.0;
                ck_assert_msg(vpar_rank_standardize_into_ws(NULL, pk, b, VPAR_DTYPE_F64, N, N,
                                                            VPAR_RANK_SYMMETRIC_PACKED, pools[p]) == VPAR_OK,
                              "%s", vpar_last_error());
                ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "packed f64 N=%zu fl=%d threads=%d", N, fl,
                              pool_sizes[p]);
                ck_assert(memcmp(pk, pk0, np * sizeof *pk) == 0);
                ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, fx, fa, VPAR_DTYPE_F32, N, N,
                                                               VPAR_RANK_SYMMETRIC, pools[p]), VPAR_OK);
                ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, fpk, fb, VPAR_DTYPE_F32, N, N,
                                                               VPAR_RANK_SYMMETRIC_PACKED, pools[p]), VPAR_OK);
                ck_assert_msg(memcmp(fa, fb, n * sizeof *fa) == 0, "packed f32 N=%zu fl=%d", N, fl);
                uint32_t sa = 0, sb = 1;
                ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, x, VPAR_DTYPE_F64, N, N, VPAR_RANK_SYMMETRIC, ca,
                                                         &sa, pools[p]), VPAR_OK);
                ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, pk, VPAR_DTYPE_F64, N, N,
                                                         VPAR_RANK_SYMMETRIC_PACKED, cb, &sb, pools[p]), VPAR_OK);
                ck_assert_msg(sa == sb && memcmp(ca, cb, n * sizeof *ca) == 0, "packed codes N=%zu fl=%d", N, fl);
            }
            free(x); free(pk); free(pk0); free(a); free(b); free(fx); free(fpk); free(fa); free(fb);
            free(ca); free(cb);
        }
    /* refusals, nothing written */
    double v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, o[16];
    for (int i = 0; i < 16; i++) o[i] = -1;
    ck_assert_int_eq(vpar_rank_standardize(v, VPAR_DTYPE_F64, 4, 4, VPAR_RANK_SYMMETRIC_PACKED, NULL),
                     VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, v, o, VPAR_DTYPE_F64, 4, 3,
                                                   VPAR_RANK_SYMMETRIC_PACKED, NULL), VPAR_ERR_SHAPE);
    /* the packed source of N = 4 is 10 doubles: an output starting at its
       last one overlaps */
    ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, v, v + 9, VPAR_DTYPE_F64, 4, 4,
                                                   VPAR_RANK_SYMMETRIC_PACKED, NULL), VPAR_ERR_INVALID);
    ck_assert(v[9] == 10 && o[0] == -1);
    free_pools();
}
END_TEST

START_TEST(test_standardize_edge_cases) {
    /* one finite entry: max(rank - 1) == 0, so the reference computes
       0/0 = NaN for it and then turns every NaN into 0.5 (ref_step.py's
       rank(): r = (r - 1) / (nanmax(r) - 1); r[isnan(r)] = 0.5) */
    double x1[] = {NAN, 4.0, INFINITY};
    ck_assert_int_eq(vpar_rank_standardize_f64(x1, 3, NULL), VPAR_OK);
    ck_assert(x1[0] == 0.5 && x1[1] == 0.5 && x1[2] == 0.5);
    float x1f[] = {-3.0f};
    ck_assert_int_eq(vpar_rank_standardize_f32(x1f, 1, NULL), VPAR_OK);
    ck_assert(x1f[0] == 0.5f);
    /* symmetric: only the diagonal entry [1, 1] is finite (weight 1) */
    double s1[] = {NAN, NAN, NAN, 2.0};
    ck_assert_int_eq(vpar_rank_standardize(s1, VPAR_DTYPE_F64, 2, 2, VPAR_RANK_SYMMETRIC, NULL), VPAR_OK);
    for (int i = 0; i < 4; i++) ck_assert(s1[i] == 0.5);
    /* one off-diagonal pair is two tied entries: (1.5 - 1) / (1.5 - 1) */
    float s2[] = {NAN, 5.0f, 5.0f, INFINITY};
    ck_assert_int_eq(vpar_rank_standardize(s2, VPAR_DTYPE_F32, 2, 2, VPAR_RANK_SYMMETRIC, NULL), VPAR_OK);
    ck_assert(s2[0] == 0.5f && s2[1] == 1.0f && s2[2] == 1.0f && s2[3] == 0.5f);
    /* no finite entry: every entry 0.5 */
    float x2[] = {NAN, -INFINITY, INFINITY, NAN};
    ck_assert_int_eq(vpar_rank_standardize_f32(x2, 4, NULL), VPAR_OK);
    for (int i = 0; i < 4; i++) ck_assert(x2[i] == 0.5f);
    /* all equal: all ranks are the maximum */
    double x3[] = {2, 2, 2};
    ck_assert_int_eq(vpar_rank_standardize_f64(x3, 3, NULL), VPAR_OK);
    ck_assert(x3[0] == 1.0 && x3[1] == 1.0 && x3[2] == 1.0);
    /* empty */
    ck_assert_int_eq(vpar_rank_standardize_f64(NULL, 0, NULL), VPAR_OK);
    ck_assert_int_eq(vpar_rank_standardize(NULL, VPAR_DTYPE_F32, 0, 0, VPAR_RANK_SYMMETRIC, NULL), VPAR_OK);
    /* -0.0 ties with +0.0 */
    double x4[] = {0.0, -0.0, 1.0};
    ck_assert_int_eq(vpar_rank_standardize_f64(x4, 3, NULL), VPAR_OK);
    ck_assert(x4[0] == 0.25 && x4[1] == 0.25 && x4[2] == 1.0);
    /* upper layout leaves the strict lower triangle alone */
    double u[] = {1, 2, 99, 3};
    ck_assert_int_eq(vpar_rank_standardize(u, VPAR_DTYPE_F64, 2, 2, VPAR_RANK_UPPER, NULL), VPAR_OK);
    ck_assert(u[0] == 0.0 && u[1] == 0.5 && u[2] == 99 && u[3] == 1.0);
}
END_TEST

START_TEST(test_errors) {
    double x[4] = {1, 2, 3, 4};
    int32_t xi[4] = {0};
    ck_assert_int_eq(vpar_rank_standardize_f64(NULL, 3, NULL), VPAR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "NULL"));
    ck_assert_int_eq(vpar_rank_standardize(xi, VPAR_DTYPE_I32, 2, 2, VPAR_RANK_FULL, NULL), VPAR_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "<i4"));
    ck_assert_int_eq(vpar_rank_standardize(x, VPAR_DTYPE_F64, 1, 4, VPAR_RANK_SYMMETRIC, NULL), VPAR_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "1 x 4"));
    ck_assert_int_eq(vpar_rank_standardize(x, VPAR_DTYPE_F64, 2, 2, (vpar_rank_layout)7, NULL), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_rank_standardize(x, VPAR_DTYPE_F64, SIZE_MAX / 2, 3, VPAR_RANK_FULL, NULL), VPAR_ERR_OVERFLOW);
    for (int i = 0; i < 4; i++) ck_assert(x[i] == i + 1);  /* untouched */
    double r[4];
    vpar_rank_desc bad = {(vpar_rank_method)9, VPAR_RANK_NAN_OMIT};
    ck_assert_int_eq(vpar_rankdata_f64(x, 4, r, &bad, NULL), VPAR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "method"));
    vpar_rank_desc bad2 = {VPAR_RANK_MIN, (vpar_rank_nan_policy)5};
    ck_assert_int_eq(vpar_rankdata_f64(x, 4, r, &bad2, NULL), VPAR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "nan_policy"));
    ck_assert_int_eq(vpar_rankdata_f64(x, 4, NULL, NULL, NULL), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_rankdata_f32(NULL, 4, r, NULL, NULL), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_argsort_f64(x, 4, NULL, NULL), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_argsort_f32(NULL, 4, (size_t *)r, NULL), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_rank_check_symmetric(xi, VPAR_DTYPE_I32, 2, NULL, NULL, NULL), VPAR_ERR_UNSUPPORTED);
    ck_assert_int_eq(vpar_rank_check_symmetric(NULL, VPAR_DTYPE_F64, 2, NULL, NULL, NULL), VPAR_ERR_INVALID);
}
END_TEST

START_TEST(test_check_symmetric) {
    make_pools();
    size_t N = 150;
    double *x = (double *)malloc(N * N * sizeof *x);
    float *xf = (float *)malloc(N * N * sizeof *xf);
    ref_fill(x, N * N, 0, 5);
    for (size_t r = 0; r < N; r++)
        for (size_t c = 0; c < r; c++) x[r * N + c] = x[c * N + r];
    for (size_t i = 0; i < N * N; i++) xf[i] = (float)x[i];
    for (size_t p = 0; p < NPOOLS; p++) {
        size_t row = 77, col = 77;
        ck_assert_int_eq(vpar_rank_check_symmetric(x, VPAR_DTYPE_F64, N, pools[p], &row, &col), VPAR_OK);
        ck_assert_int_eq(vpar_rank_check_symmetric(xf, VPAR_DTYPE_F32, N, pools[p], NULL, NULL), VPAR_OK);
        ck_assert_uint_eq(row, 77);
        x[140 * N + 3] = 1e9;    /* lower entry differs: the pair is (3, 140) */
        x[100 * N + 120] = -7;   /* upper entry differs, later in row order */
        ck_assert_int_eq(vpar_rank_check_symmetric(x, VPAR_DTYPE_F64, N, pools[p], &row, &col), VPAR_ERR_INVALID);
        ck_assert_uint_eq(row, 3);
        ck_assert_uint_eq(col, 140);
        ck_assert_msg(strstr(vpar_last_error(), "[3, 140]") && strstr(vpar_last_error(), "not symmetric"),
                      "%s", vpar_last_error());
        x[140 * N + 3] = x[3 * N + 140];
        ck_assert_int_eq(vpar_rank_check_symmetric(x, VPAR_DTYPE_F64, N, pools[p], &row, &col), VPAR_ERR_INVALID);
        ck_assert_uint_eq(row, 100);
        ck_assert_uint_eq(col, 120);
        x[100 * N + 120] = x[120 * N + 100];
    }
    free(x); free(xf);
    free_pools();
}
END_TEST

/* The same pools used from many concurrent callers (each its own data). */
typedef struct { vpar_pool *pool; int id; int ok; } conc_arg;
static void *conc_main(void *p) {
    conc_arg *a = (conc_arg *)p;
    size_t n = 3001;
    double *x = (double *)malloc(n * sizeof *x), *want = (double *)malloc(n * sizeof *want);
    double *got = (double *)malloc(n * sizeof *got);
    a->ok = 1;
    for (int it = 0; it < 5 && a->ok; it++) {
        ref_fill(x, n, (a->id + it) % 3, (uint64_t)(a->id * 100 + it));
        ref_standardize(x, n, 1, 0, want);
        memcpy(got, x, n * sizeof *got);
        if (vpar_rank_standardize_f64(got, n, a->pool) != VPAR_OK) a->ok = 0;
        size_t w;
        if (!same_array(got, want, n, &w)) a->ok = 0;
    }
    free(x); free(want); free(got);
    return NULL;
}

START_TEST(test_concurrent_callers_share_a_pool) {
    make_pools();
    pthread_t th[4];
    conc_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].pool = pools[3];
        args[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, conc_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(args[i].ok, "caller %d got a wrong result", i);
    }
    free_pools();
}
END_TEST

int main(void) {
    Suite *s = suite_create("rank");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_keys_are_order_preserving);
    tcase_add_test(tc, test_plan_chunks_beyond_2_32);
    tcase_add_test(tc, test_rank_value_is_exact_beyond_2_32);
    tcase_add_test(tc, test_rankdata_matches_reference);
    tcase_add_test(tc, test_argsort_matches_reference);
    tcase_add_test(tc, test_standardize_matches_reference);
    tcase_add_test(tc, test_symmetric_equals_full_bit_for_bit);
    tcase_add_test(tc, test_workspace_equals_plain);
    tcase_add_test(tc, test_standardize_edge_cases);
    tcase_add_test(tc, test_standardize_into);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_rank_codes);
    tcase_add_test(tc, test_symmetric_packed);
    tcase_add_test(tc, test_check_symmetric);
    tcase_add_test(tc, test_concurrent_callers_share_a_pool);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
