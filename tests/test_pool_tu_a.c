/* Two translation units, one pool: this TU holds the implementation, TU b
   (test_pool_tu_b.c) includes vpar/pool.h plainly. The default pool and the
   "current worker" state must be the same objects from both TUs: TU b's
   tasks spawn inside a region that TU a started. Small and fast: also run
   under qemu-aarch64 (label cross). */
#define VPAR_IMPLEMENTATION
#include "vpar/pool.h"
#include "vpar_check.h"

vpar_pool *tu_b_default_pool(void);
void tu_b_fib(void *user, int tid);
long tu_b_fib_arg_result(void *arg);
void *tu_b_fib_arg_new(int n);
int tu_b_spawned_on_pool(void);

static long fib_iter(int n) {
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) { long c = a + b; a = b; b = c; }
    return a;
}

START_TEST(test_default_pool_shared_across_tus) {
    vpar_pool *a = vpar_pool_default();
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(tu_b_default_pool(), a);
}
END_TEST

START_TEST(test_tasks_from_other_tu) {
    vpar_pool *p = NULL;
    vpar_pool_desc d = {3, 0};
    ck_assert_int_eq(vpar_pool_create(&p, &d), VPAR_OK);
    void *arg = tu_b_fib_arg_new(18);
    ck_assert_ptr_nonnull(arg);
    ck_assert_int_eq(vpar_pool_run(p, tu_b_fib, arg), VPAR_OK);
    ck_assert_int_eq(tu_b_fib_arg_result(arg), fib_iter(18));
    /* TU b saw itself inside the pool (its spawns were queued, not inline). */
    ck_assert(tu_b_spawned_on_pool());
    free(arg);
    vpar_pool_destroy(p);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pool_two_tu");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_default_pool_shared_across_tus);
    tcase_add_test(tc, test_tasks_from_other_tu);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
