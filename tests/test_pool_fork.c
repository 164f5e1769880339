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

#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#  define TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define TSAN 1
#  endif
#endif

static vpar_pool *make_pool(int n) {
    vpar_pool *p = NULL;
    vpar_pool_desc d = {n, 0};
    vpar_status st = vpar_pool_create(&p, &d);
    ck_assert_msg(st == VPAR_OK, "create(%d): %s", n, vpar_last_error());
    ck_assert_int_eq(vpar_pool_size(p), n);
    return p;
}

static void noop_range(void *u, size_t b, size_t e, int tid) { (void)u; (void)b; (void)e; (void)tid; }
static void noop_task(void *u, int tid) { (void)u; (void)tid; }

typedef struct cover {
    _Atomic int *hits;
    size_t begin, grain;
    int nthreads;
    _Atomic int bad;
} cover;

static void cover_body(void *u, size_t b, size_t e, int tid) {
    cover *c = (cover *)u;
    if (tid < 0 || tid >= c->nthreads || b >= e || b < c->begin ||
        (c->grain && e - b > c->grain))
        atomic_fetch_add(&c->bad, 1);
    for (size_t i = b; i < e; i++) atomic_fetch_add_explicit(&c->hits[i - c->begin], 1, memory_order_relaxed);
}

static void check_cover(vpar_pool *p, size_t begin, size_t end, size_t grain) {
    size_t n = end - begin;
    cover c;
    c.hits = (_Atomic int *)calloc(n ? n : 1, sizeof *c.hits);
    ck_assert_ptr_nonnull(c.hits);
    c.begin = begin;
    c.grain = grain;
    c.nthreads = p ? vpar_pool_size(p) : 1;
    atomic_init(&c.bad, 0);
    ck_assert_int_eq(vpar_parallel_for(p, begin, end, grain, cover_body, &c), VPAR_OK);
    ck_assert_int_eq(atomic_load(&c.bad), 0);
    size_t i = 0;
    while (i < n && atomic_load(&c.hits[i]) == 1) i++;
    ck_assert_msg(i == n, "[%zu,%zu) grain %zu: index %zu hit %d times", begin, end, grain,
                  begin + i, i < n ? atomic_load(&c.hits[i]) : 1);
    free(c.hits);
}

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

typedef struct fib_arg { int n; long r; } fib_arg;
static void fib_task(void *u, int tid) {
    fib_arg *a = (fib_arg *)u;
    if (a->n < 2) { a->r = a->n; return; }
    fib_arg x = {a->n - 1, 0}, y = {a->n - 2, 0};
    vpar_task t;
    vpar_spawn(&t, fib_task, &x);
    fib_task(&y, tid);
    vpar_sync(&t);
    a->r = x.r + y.r;
}
static long fib_iter(int n) {
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) { long c = a + b; a = b; b = c; }
    return a;
}

static void fork_inside(void *u, int tid) {
    (void)tid;
    int *status = (int *)u;
    pid_t pid = fork();
    if (pid == 0) {
        /* Child of a thread that was inside a region: spawns run serially. */
        fib_arg a = {15, 0};
        fib_task(&a, 0);
        _exit(a.r == fib_iter(15) ? 0 : 3);
    }
    if (pid < 0 || waitpid(pid, status, 0) != pid) *status = -1;
}

START_TEST(test_fork) {
    vpar_pool *mine = make_pool(3);
    vpar_pool *d = vpar_pool_default();
    ck_assert_ptr_nonnull(d);
    check_cover(d, 0, 1000, 0);
    check_cover(mine, 0, 1000, 0);
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
            cover c = {hits, 0, 0, vpar_pool_size(d2), 0};
            if (!hits || vpar_parallel_for(d2, 0, n, 0, cover_body, &c) != VPAR_OK) code = 2;
            for (size_t i = 0; i < n && !code; i++) if (atomic_load(&hits[i]) != 1) code = 3;
            free(hits);
        }
        if (!code && vpar_parallel_for(mine, 0, 10, 0, noop_range, NULL) != VPAR_ERR_STATE) code = 4;
        if (!code && !strstr(vpar_last_error(), "fork")) code = 5;
        if (!code && vpar_pool_submit(mine, noop_task, NULL) != VPAR_ERR_STATE) code = 6;
        vpar_pool *fresh = NULL;
        vpar_pool_desc desc = {2, 0};
        if (!code && vpar_pool_create(&fresh, &desc) != VPAR_OK) code = 7;
        fib_arg a = {16, 0};
        if (!code && (vpar_pool_run(fresh, fib_task, &a) != VPAR_OK || a.r != fib_iter(16))) code = 8;
        vpar_pool_destroy(fresh);
        vpar_pool_destroy(mine);  /* memory only */
        _exit(code);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* The parent's pools are untouched. */
    check_cover(d, 0, 1000, 0);
    status = 1;
    ck_assert_int_eq(vpar_pool_run(mine, fork_inside, &status), VPAR_OK);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    vpar_pool_destroy(mine);
}
END_TEST

int main(void) {
#ifdef TSAN
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
