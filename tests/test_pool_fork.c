/* fork() and vpar/pool.h (moved out of test_pool.c for issue 18): pools
   created before fork() refuse calls in the child, the default pool is
   recreated there, a child forked from inside a task runs spawns serially,
   and the parent's pools are untouched.

   ThreadSanitizer does not support starting threads in the child of a
   multi-threaded fork(), so this used to return early (and pass) in the
   tsan tree. Now tests/pool.cmake builds this program without
   -fsanitize=thread in the tsan tree, so it runs there too (as plain
   code); should it ever be compiled with TSan anyway it reports SKIP (exit
   77) instead of passing. */
#define VPAR_IMPLEMENTATION
#include "vpar/pool.h"
#include "vpar_check.h"
#include "vpar_test_util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Returns once every worker thread of `p` has run user code, that is, has
   finished starting: n-1 submitted tasks (submissions are shared FIFO
   work, one per worker thread) each hold their worker until all n-1 run.
   Why: a thread still starting can hold a lock of the allocator, and a
   fork() at that moment copies the lock held into the child. glibc's
   malloc takes its locks around fork(); GCC 12's AddressSanitizer
   allocator does not (LLVM 17's does), so under ASan the child's first
   threads then block forever (seen in CI: ASan's thread start frees the
   pthread_getattr_np buffer, the quarantine allocates, the region lock was
   copied held). A program that forks under ASan must fork from a quiet
   process too. */
typedef struct all_started { _Atomic int arrived; int n; } all_started;
static void arrive_and_wait(void *u, int tid) {
    (void)tid;
    all_started *a = (all_started *)u;
    atomic_fetch_add(&a->arrived, 1);
    while (atomic_load(&a->arrived) < a->n) { /* the ctest timeout catches a hang */ }
}
static void wait_all_started(vpar_pool *p) {
    all_started a;
    a.n = vpar_pool_size(p) - 1;
    atomic_init(&a.arrived, 0);
    for (int i = 0; i < a.n; i++) ck_assert_int_eq(vpar_pool_submit(p, arrive_and_wait, &a), VPAR_OK);
    ck_assert_int_eq(vpar_pool_wait(p), VPAR_OK);
    ck_assert_int_eq(atomic_load(&a.arrived), a.n);
}


static void fork_inside(void *u, int tid) {
    (void)tid;
    int *status = (int *)u;
    pid_t pid = fork();
    if (pid == 0) {
        /* Child of a thread that was inside a region: spawns run serially. */
        vpar_test_fib_arg a = {15, 0};
        vpar_test_fib_task(&a, 0);
        _exit(a.r == vpar_test_fib_iter(15) ? 0 : 3);
    }
    if (pid < 0 || waitpid(pid, status, 0) != pid) *status = -1;
}

START_TEST(test_fork) {
    vpar_pool *mine = vpar_test_pool(3);
    vpar_pool *d = vpar_pool_default();
    ck_assert_ptr_nonnull(d);
    vpar_test_check_cover(d, 0, 1000, 0);
    vpar_test_check_cover(mine, 0, 1000, 0);
    wait_all_started(d);
    wait_all_started(mine);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int code = 0;
        vpar_pool *d2 = vpar_pool_default();
        if (!d2 || d2 == d) code = 1;
        else {
            size_t n = 5000;
            _Atomic int *hits = calloc(n, sizeof *hits);
            vpar_test_cover c = {hits, 0, 0, vpar_pool_size(d2), 0};
            if (!hits || vpar_parallel_for(d2, 0, n, 0, vpar_test_cover_body, &c) != VPAR_OK) code = 2;
            for (size_t i = 0; i < n && !code; i++) if (atomic_load(&hits[i]) != 1) code = 3;
            free(hits);
        }
        if (!code && vpar_parallel_for(mine, 0, 10, 0, vpar_test_noop_range, NULL) != VPAR_ERR_STATE) code = 4;
        if (!code && !strstr(vpar_last_error(), "fork")) code = 5;
        if (!code && vpar_pool_submit(mine, vpar_test_noop_task, NULL) != VPAR_ERR_STATE) code = 6;
        vpar_pool *fresh = NULL;
        vpar_pool_desc desc = {2, 0};
        if (!code && vpar_pool_create(&fresh, &desc) != VPAR_OK) code = 7;
        vpar_test_fib_arg a = {16, 0};
        if (!code && (vpar_pool_run(fresh, vpar_test_fib_task, &a) != VPAR_OK || a.r != vpar_test_fib_iter(16))) code = 8;
        vpar_pool_destroy(fresh);
        vpar_pool_destroy(mine);  /* memory only */
        _exit(code);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* The parent's pools are untouched. */
    vpar_test_check_cover(d, 0, 1000, 0);
    status = 1;
    ck_assert_int_eq(vpar_pool_run(mine, fork_inside, &status), VPAR_OK);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    vpar_pool_destroy(mine);
}
END_TEST

int main(void) {
#if VPAR_TEST_TSAN
    printf("SKIP: test_pool_fork compiled with ThreadSanitizer, which does not support "
           "threads in the child of a multi-threaded fork(); tests/pool.cmake builds it "
           "without TSan\n");
    return 77;
#endif
    Suite *s = suite_create("pool_fork");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fork);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
