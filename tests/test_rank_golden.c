/* vpar/rank.h with its default configuration: the golden rank fixtures
   (computed by the reference Python rank()) through the library, and a
   medium random array against the reference implementation. */
#include "vpar.h"
#include "vpar_check.h"
#include "test_rank_ref.h"

#include <math.h>

static char *fixture(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/rank/%s", VPAR_TEST_DATA_DIR, name);
    return path;
}

/* f64: 1e-9 absolute; f32: 1e-6 relative (shared/data/README.md). */
static void compare_to_golden(const vpar_npy *got_arr, const void *got, const char *case_name) {
    char name[256];
    snprintf(name, sizeof name, "%s.ranked.npy", case_name);
    vpar_npy want;
    ck_assert_msg(vpar_npy_open(&want, fixture(name), 0) == VPAR_OK, "%s", vpar_last_error());
    ck_assert_int_eq(want.dtype, got_arr->dtype);
    ck_assert_uint_eq(want.count, got_arr->count);
    for (size_t i = 0; i < want.count; i++) {
        double w, g;
        if (want.dtype == VPAR_DTYPE_F64) { w = ((double *)want.data)[i]; g = ((const double *)got)[i]; }
        else { w = ((float *)want.data)[i]; g = ((const float *)got)[i]; }
        double tol = want.dtype == VPAR_DTYPE_F64 ? 1e-9 : 1e-6 * fabs(w);
        if (!(fabs(g - w) <= tol)) ck_abort_msg("%s[%zu]: got %.17g want %.17g", case_name, i, g, w);
    }
    vpar_npy_close(&want);
}

static void run_case(const char *case_name, vpar_rank_layout layout, int threads) {
    char name[256];
    snprintf(name, sizeof name, "%s.npy", case_name);
    vpar_npy a;
    ck_assert_msg(vpar_npy_open(&a, fixture(name), VPAR_NPY_WRITABLE) == VPAR_OK, "%s", vpar_last_error());
    vpar_pool *pool = NULL;
    if (threads) {
        vpar_pool_desc d = {threads, 0};
        ck_assert_int_eq(vpar_pool_create(&pool, &d), VPAR_OK);
    }
    vpar_status st = vpar_rank_standardize(a.data, a.dtype, a.shape[0], a.shape[1], layout, pool);
    ck_assert_msg(st == VPAR_OK, "%s", vpar_last_error());
    compare_to_golden(&a, a.data, case_name);
    vpar_pool_destroy(pool);
    vpar_npy_close(&a);
}

START_TEST(test_golden_full) {
    const char *cases[] = {"sym_f32", "sym_f64", "rect_f64"};
    for (int t = 0; t <= 3; t++)
        for (int c = 0; c < 3; c++) run_case(cases[c], VPAR_RANK_FULL, t);
}
END_TEST

/* The sym_* fixtures are symmetric except for 76 NaNs placed in one
   triangle only: the check finds them, and SYMMETRIC mode (which trusts
   the upper triangle) must equal FULL ranking of the matrix symmetrized
   from its upper triangle bit for bit. */
START_TEST(test_golden_symmetric) {
    const char *cases[] = {"sym_f32.npy", "sym_f64.npy"};
    for (int c = 0; c < 2; c++) {
        vpar_npy a;
        ck_assert_int_eq(vpar_npy_open(&a, fixture(cases[c]), VPAR_NPY_WRITABLE), VPAR_OK);
        size_t N = a.shape[0], row = 0, col = 0, esz = vpar_dtype_size(a.dtype);
        ck_assert_int_eq(vpar_rank_check_symmetric(a.data, a.dtype, N, NULL, &row, &col), VPAR_ERR_INVALID);
        /* numpy: np.argwhere((a != a.T) & ~(isnan(a) & isnan(a.T)))[0] == (0, 274) */
        ck_assert_uint_eq(row, 0);
        ck_assert_uint_eq(col, 274);
        unsigned char *x = (unsigned char *)a.data;
        for (size_t r = 0; r < N; r++)
            for (size_t q = 0; q < r; q++) memcpy(x + (r * N + q) * esz, x + (q * N + r) * esz, esz);
        ck_assert_int_eq(vpar_rank_check_symmetric(a.data, a.dtype, N, NULL, NULL, NULL), VPAR_OK);
        unsigned char *full = (unsigned char *)malloc(a.nbytes);
        memcpy(full, a.data, a.nbytes);
        ck_assert_int_eq(vpar_rank_standardize(full, a.dtype, N, N, VPAR_RANK_FULL, NULL), VPAR_OK);
        for (int t = 0; t <= 3; t++) {
            vpar_pool *pool = NULL;
            if (t) { vpar_pool_desc d = {t, 0}; ck_assert_int_eq(vpar_pool_create(&pool, &d), VPAR_OK); }
            unsigned char *sym = (unsigned char *)malloc(a.nbytes);
            memcpy(sym, a.data, a.nbytes);
            ck_assert_int_eq(vpar_rank_standardize(sym, a.dtype, N, N, VPAR_RANK_SYMMETRIC, pool), VPAR_OK);
            ck_assert_msg(memcmp(sym, full, a.nbytes) == 0, "%s threads=%d", cases[c], t);
            free(sym);
            vpar_pool_destroy(pool);
        }
        free(full);
        vpar_npy_close(&a);
    }
}
END_TEST

START_TEST(test_golden_rect_is_not_square) {
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, fixture("rect_f64.npy"), VPAR_NPY_WRITABLE), VPAR_OK);
    ck_assert_int_eq(vpar_rank_standardize(a.data, a.dtype, a.shape[0], a.shape[1],
                                           VPAR_RANK_SYMMETRIC, NULL), VPAR_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "150 x 303"));
    vpar_npy_close(&a);
}
END_TEST

/* Large enough for several level-1 buckets above the default leaf size
   and a nested parallel split, still quick. */
START_TEST(test_default_config_large_random) {
    size_t nmax = (size_t)1 << 21;
    double *x = (double *)malloc(nmax * sizeof *x), *want = (double *)malloc(nmax * sizeof *want);
    double *got = (double *)malloc(nmax * sizeof *got);
    vpar_pool *pool;
    vpar_pool_desc d = {3, 0};
    ck_assert_int_eq(vpar_pool_create(&pool, &d), VPAR_OK);
    for (int fl = 0; fl < 3; fl++) {
        /* flavour 2 puts ~97% of the entries in one bucket: at 2^21 that is
           above VPAR_RANK_NEST_MIN, so the nested parallel split runs */
        size_t n = fl == 2 ? nmax : nmax / 8;
        ref_fill(x, n, fl, 42 + (uint64_t)fl);
        ref_standardize(x, n, 1, 0, want);
        memcpy(got, x, n * sizeof *got);
        ck_assert_int_eq(vpar_rank_standardize_f64(got, n, pool), VPAR_OK);
        for (size_t i = 0; i < n; i++)
            if (!ref_eq(got[i], want[i])) ck_abort_msg("flavour %d [%zu]: got %.17g want %.17g", fl, i, got[i], want[i]);
    }
    vpar_pool_destroy(pool);
    free(x); free(want); free(got);
}
END_TEST

int main(void) {
    Suite *s = suite_create("rank_golden");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_golden_full);
    tcase_add_test(tc, test_golden_symmetric);
    tcase_add_test(tc, test_golden_rect_is_not_square);
    tcase_add_test(tc, test_default_config_large_random);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
