/* Allocation failures in vpar/rank.h: every allocation is made to fail in
   turn (through the VPAR_MALLOC/VPAR_REALLOC hooks); each call must return
   VPAR_ERR_NOMEM with a message and leave in-place data unchanged, until
   the run that needs no failure succeeds with the right result. */
#include <stdatomic.h>
#include <stdlib.h>

static atomic_long t_count, t_fail_at = -1;
static void *t_malloc(size_t n) {
    long c = atomic_fetch_add_explicit(&t_count, 1, memory_order_relaxed);
    return c == atomic_load_explicit(&t_fail_at, memory_order_relaxed) ? NULL : malloc(n);
}
static void *t_realloc(void *p, size_t n) {
    long c = atomic_fetch_add_explicit(&t_count, 1, memory_order_relaxed);
    return c == atomic_load_explicit(&t_fail_at, memory_order_relaxed) ? NULL : realloc(p, n);
}
#define VPAR_MALLOC(sz) t_malloc(sz)
#define VPAR_REALLOC(p, sz) t_realloc((p), (sz))
#define VPAR_FREE(p) free(p)
#define VPAR_RANK_LEAF 64
#define VPAR_RANK_NEST_MIN 512
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar_check.h"
#include "test_rank_ref.h"

static void arm(long k) {
    atomic_store(&t_count, 0);
    atomic_store(&t_fail_at, k);
}

START_TEST(test_standardize_survives_every_failed_allocation) {
    vpar_pool *pool2;
    vpar_pool_desc d = {2, 0};
    ck_assert_int_eq(vpar_pool_create(&pool2, &d), VPAR_OK);
    vpar_pool *pools[2] = {NULL, pool2};
    size_t N = 61, n = N * N;
    double *x = (double *)malloc(n * sizeof *x), *y = (double *)malloc(n * sizeof *y);
    double *want = (double *)malloc(n * sizeof *want);
    ref_fill(x, n, 2, 9);  /* dense cluster: sub-levels allocate too */
    for (size_t r = 0; r < N; r++)
        for (size_t c = 0; c < r; c++) x[r * N + c] = x[c * N + r];
    for (int layout = 0; layout <= 2; layout++)
        for (int p = 0; p < 2; p++) {
            ref_standardize(x, N, N, layout, want);
            long k = 0;
            for (;; k++) {
                memcpy(y, x, n * sizeof *y);
                arm(k);
                vpar_status st = vpar_rank_standardize(y, VPAR_DTYPE_F64, N, N, (vpar_rank_layout)layout, pools[p]);
                arm(-1);
                if (st == VPAR_OK) break;
                ck_assert_msg(st == VPAR_ERR_NOMEM, "layout %d, failing allocation %ld: status %d", layout, k, st);
                ck_assert_msg(strstr(vpar_last_error(), "out of memory"), "%s", vpar_last_error());
                ck_assert_msg(memcmp(x, y, n * sizeof *y) == 0, "layout %d: data changed after failure %ld", layout, k);
            }
            ck_assert_msg(k >= 3, "expected several allocations, saw %ld", k);
            for (size_t i = 0; i < n; i++)
                if (!ref_eq(y[i], want[i])) ck_abort_msg("layout %d [%zu]: %.17g vs %.17g", layout, i, y[i], want[i]);
        }
    vpar_pool_destroy(pool2);
    free(x); free(y); free(want);
}
END_TEST

START_TEST(test_rankdata_and_argsort_report_failed_allocations) {
    size_t n = 3001;
    double *x = (double *)malloc(n * sizeof *x), *r = (double *)malloc(n * sizeof *r);
    size_t *perm = (size_t *)malloc(n * sizeof *perm);
    double *want_r = (double *)malloc(n * sizeof *want_r);
    ref_fill(x, n, 2, 3);
    for (int method = 0; method <= 4; method++) {
        vpar_rank_desc d = {(vpar_rank_method)method, VPAR_RANK_NAN_OMIT};
        long k = 0;
        for (;; k++) {
            arm(k);
            vpar_status st = vpar_rankdata_f64(x, n, r, &d, NULL);
            arm(-1);
            if (st == VPAR_OK) break;
            ck_assert_int_eq(st, VPAR_ERR_NOMEM);
        }
        ck_assert_int_ge(k, 2);
        /* After the failures, the successful call ranks right: compared
           with the qsort reference (test_rank_ref.h). */
        ref_rankdata(x, n, want_r, method, VPAR_RANK_NAN_OMIT);
        for (size_t i = 0; i < n; i++)
            if (!ref_eq(r[i], want_r[i]))
                ck_abort_msg("method %d [%zu]: %.17g vs %.17g", method, i, r[i], want_r[i]);
    }
    long k = 0;
    for (;; k++) {
        arm(k);
        vpar_status st = vpar_argsort_f64(x, n, perm, NULL);
        arm(-1);
        if (st == VPAR_OK) break;
        ck_assert_int_eq(st, VPAR_ERR_NOMEM);
    }
    ck_assert_int_ge(k, 2);
    size_t *want = (size_t *)malloc(n * sizeof *want);
    ref_argsort(x, n, want);
    ck_assert(memcmp(perm, want, n * sizeof *perm) == 0);
    arm(0);
    ck_assert_int_eq(vpar_rank_check_symmetric(x, VPAR_DTYPE_F64, 50, NULL, NULL, NULL), VPAR_ERR_NOMEM);
    arm(-1);
    free(x); free(r); free(perm); free(want); free(want_r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("rank_nomem");
    TCase *tc = tcase_create("nomem");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_standardize_survives_every_failed_allocation);
    tcase_add_test(tc, test_rankdata_and_argsort_report_failed_allocations);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
