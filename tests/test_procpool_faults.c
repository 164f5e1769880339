/* Fault injection and regression tests for vpar/procpool.h (issue 14):
   retries after crashes and timeouts, SIGCHLD ignored, fork failing in the
   middle of a map, hanging initializers, tasks finishing at their timeout,
   shmap under 64 processes, dead/reused/invisible lock owners, version
   wrap, a full /dev/shm, and /dev/shm cleanup on SIGHUP/abort()/exit().

   Run without arguments: the Check suite. Run with one argument, a
   scenario that needs a private mount namespace (exit 0 pass, 1 fail, 77
   skip when the namespace cannot be made):
     noproc    shmap lock owners with /proc hidden (tmpfs over /proc)
     smallshm  a named shmap larger than a 256 KiB /dev/shm
   Every scenario that changes process-wide state (signal dispositions,
   rlimits, uid, namespaces) runs in a child process of its own. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar_check.h"
#include "vpar_test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Waits for `pid` at most `ms`; returns its wait status, or -1 after
   SIGKILLing it when it did not finish in time (a hang). */
static int wait_bounded(pid_t pid, int ms) {
    int64_t end = vpar_test_now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -2;
        if (vpar_test_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        vpar_test_sleep_ms(5);
    }
}

/* Gone or a zombie that nobody will run again. */
static int pid_gone(pid_t pid) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return 1;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 1;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) return 1;
    buf[len] = '\0';
    char *p = strrchr(buf, ')');
    return p && (p[2] == 'Z' || p[2] == 'X');
}

/* Shared scratch, created before any pool so that workers see it. */
typedef struct scratch {
    _Atomic int attempts[4096];
    _Atomic uint64_t seen[4096];   /* what a retried attempt found in its result */
    _Atomic int init_calls;
    _Atomic int release;           /* lets a hanging initializer go */
    _Atomic int phase;
    _Atomic int pids[64];
} scratch;
static scratch *shared;
static char shm_prefix[64];

static void setup(void) {
    snprintf(shm_prefix, sizeof shm_prefix, "/vpar-ft-%d-", (int)getpid());
    void *p = mmap(NULL, sizeof(scratch), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(p != MAP_FAILED);
    shared = (scratch *)p;
    memset(shared, 0, sizeof *shared);
}

static void teardown(void) {
    munmap(shared, sizeof(scratch));
    shared = NULL;
}

/* ---- 1. a retry never sees the failed attempt's partial result ----------- */

enum { RETRY_CRASH, RETRY_HANG };
static int partial_then_fail(void *user, size_t i, void *result) {
    int mode = *(const int *)user;
    int a = atomic_fetch_add(&shared->attempts[i], 1);
    uint64_t *r = (uint64_t *)result;
    if (a == 0) {
        *r = 7;  /* half-written result of the failing attempt */
        if (mode == RETRY_CRASH) vpar_test_die_by(SIGKILL);
        for (;;) pause();
    }
    atomic_store(&shared->seen[i], *r);
    *r += vpar_test_mix(i);
    return 0;
}

START_TEST(test_retry_result_rezeroed) {
    for (int mode = RETRY_CRASH; mode <= RETRY_HANG; mode++) {
        for (int i = 0; i < 8; i++) { atomic_store(&shared->attempts[i], 0); atomic_store(&shared->seen[i], 99); }
        vpar_procpool *pp;
        vpar_procpool_desc d = {0};
        d.workers = 2;
        d.chunk = 1;
        d.retries = 1;
        d.timeout_ms = mode == RETRY_HANG ? 300 : 0;
        ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
        uint64_t got[8];
        vpar_procpool_status st[8];
        ck_assert_int_eq(vpar_procpool_map(pp, 8, partial_then_fail, &mode, got, sizeof got[0], st), VPAR_OK);
        for (size_t i = 0; i < 8; i++) {
            ck_assert_int_eq(st[i].state, VPAR_TASK_OK);
            ck_assert_int_eq(st[i].attempts, 2);
            ck_assert_msg(atomic_load(&shared->seen[i]) == 0, "mode %d task %zu: retry found %llu in its result",
                          mode, i, (unsigned long long)atomic_load(&shared->seen[i]));
            ck_assert_uint_eq(got[i], vpar_test_mix(i));
        }
        vpar_procpool_destroy(pp);
    }
}
END_TEST

/* ---- 2. SIGCHLD ignored ----------------------------------------------------- */

static int segv_every_third(void *user, size_t i, void *result) {
    (void)user;
    if (i % 3 == 0) vpar_test_die_by(SIGSEGV);
    *(uint64_t *)result = vpar_test_mix(i);
    return 0;
}

static int registered_pids(void) {
    int n = 0;
    for (int i = 0; i < VPAR_PROCPOOL_MAX_PIDS; i++) {
        uint64_t e = atomic_load(&vpar__pp_pid_reg[i]);
        if (e && (uint32_t)(e >> 32) == (uint32_t)getpid()) n++;
    }
    return n;
}

START_TEST(test_sigchld_ignored) {
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        signal(SIGCHLD, SIG_IGN);
        vpar_procpool *pp;
        vpar_procpool_desc d = {0};
        d.workers = 2;
        d.chunk = 1;
        if (vpar_procpool_create(&pp, &d) != VPAR_OK) _exit(10);
        uint64_t got[12];
        vpar_procpool_status st[12];
        vpar_status s = vpar_procpool_map(pp, 12, segv_every_third, NULL, got, sizeof got[0], st);
        if (s != VPAR_ERR_CRASHED) { fprintf(stderr, "map: %d %s\n", s, vpar_last_error()); _exit(11); }
        for (size_t i = 0; i < 12; i++) {
            if (i % 3 == 0) {
                /* The exit status is gone (the kernel reaped the worker): the
                   task must be reported as lost, never as "exit status 0". */
                if (st[i].state != VPAR_TASK_LOST) {
                    fprintf(stderr, "task %zu: state %d code %d\n", i, st[i].state, st[i].code);
                    _exit(12);
                }
            } else if (st[i].state != VPAR_TASK_OK || got[i] != vpar_test_mix(i)) {
                _exit(13);
            }
        }
        if (!strstr(vpar_last_error(), "SIGCHLD")) { fprintf(stderr, "message: %s\n", vpar_last_error()); _exit(14); }
        /* Only live workers stay registered, and they are the pool's. */
        int live = 0;
        for (int k = 0; k < 2; k++) {
            pid_t p = vpar_procpool_worker_pid(pp, k);
            if (p > 0) { if (kill(p, 0) != 0) _exit(15); live++; }
        }
        if (registered_pids() != live) { fprintf(stderr, "%d registered, %d live\n", registered_pids(), live); _exit(16); }
        if (vpar_procpool_map(pp, 12, segv_every_third, NULL, got, sizeof got[0], st) != VPAR_ERR_CRASHED) _exit(18);
        vpar_procpool_destroy(pp);
        if (registered_pids() != 0) _exit(17);
        _exit(0);
    }
    int st = wait_bounded(child, 60000);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}
END_TEST

/* ---- 3. signal mask and the forking thread ---------------------------------- */

static int mask_task(void *user, size_t i, void *result) {
    (void)user; (void)i;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    *(int *)result = sigismember(&cur, SIGTERM) + 2 * sigismember(&cur, SIGUSR1) +
                     4 * sigismember(&cur, SIGCHLD);
    return 0;
}

static void *blocked_creator(void *arg) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);  /* as in a vpar_pool task */
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    int *out = (int *)arg;
    if (vpar_procpool_create(&pp, &d) != VPAR_OK) { out[0] = -1; return NULL; }
    int got[4] = {9, 9, 9, 9};
    out[0] = vpar_procpool_map(pp, 4, mask_task, NULL, got, sizeof got[0], NULL);
    for (int i = 0; i < 4; i++) out[1] |= got[i];
    vpar_procpool_destroy(pp);
    return NULL;
}

START_TEST(test_workers_unblocked_mask) {
    int out[2] = {0, 0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, blocked_creator, out), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(out[0], VPAR_OK);
    ck_assert_msg(out[1] == 0, "workers inherited blocked signals (mask bits %d)", out[1]);
}
END_TEST

static int count_init(void *user, int worker) {
    (void)user; (void)worker;
    atomic_fetch_add(&shared->init_calls, 1);
    return 0;
}

static void *create_and_exit(void *arg) {
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.init = count_init;
    if (vpar_procpool_create((vpar_procpool **)arg, &d) != VPAR_OK) *(vpar_procpool **)arg = NULL;
    return NULL;
}

/* PR_SET_PDEATHSIG fires when the forking THREAD exits: the documented
   behaviour is that the next map replaces the killed workers. */
START_TEST(test_creating_thread_exits) {
    atomic_store(&shared->init_calls, 0);
    vpar_procpool *pp = NULL;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, create_and_exit, &pp), 0);
    pthread_join(t, NULL);
    ck_assert_ptr_nonnull(pp);
    uint64_t got[64];
    ck_assert_int_eq(vpar_procpool_map(pp, 64, vpar_test_sq_task, NULL, got, sizeof got[0], NULL), VPAR_OK);
    for (size_t i = 0; i < 64; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    ck_assert_int_eq(vpar_procpool_map(pp, 64, vpar_test_sq_task, NULL, got, sizeof got[0], NULL), VPAR_OK);
    ck_assert_int_ge(atomic_load(&shared->init_calls), 2);
    vpar_procpool_destroy(pp);
}
END_TEST

/* ---- 4. fork failing in the middle of a map ---------------------------------- */

static int crash_first(void *user, size_t i, void *result) {
    (void)user;
    if (i == 0) vpar_test_die_by(SIGSEGV);
    vpar_test_sleep_ms(2);
    *(uint64_t *)result = vpar_test_mix(i);
    return 0;
}

START_TEST(test_fork_fails_mid_map) {
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* RLIMIT_NPROC binds only without CAP_SYS_RESOURCE: drop root. */
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(77);
        vpar_procpool *pp;
        vpar_procpool_desc d = {0};
        d.workers = 2;
        d.chunk = 1;
        if (vpar_procpool_create(&pp, &d) != VPAR_OK) _exit(10);
        struct rlimit rl = {1, 1};  /* from now on every fork fails with EAGAIN */
        if (setrlimit(RLIMIT_NPROC, &rl) != 0) _exit(77);
        uint64_t got[40];
        vpar_procpool_status st[40];
        vpar_status s = vpar_procpool_map(pp, 40, crash_first, NULL, got, sizeof got[0], st);
        if (s != VPAR_ERR_SYSTEM || !strstr(vpar_last_error(), "fork")) {
            fprintf(stderr, "map: %d %s\n", s, vpar_last_error());
            _exit(11);
        }
        if (st[0].state != VPAR_TASK_SIGNAL || st[0].code != SIGSEGV) _exit(12);
        for (size_t i = 1; i < 40; i++) {
            if (st[i].state == VPAR_TASK_OK && got[i] == vpar_test_mix(i)) continue;
            if (st[i].state == VPAR_TASK_NOT_RUN && got[i] == 0) continue;
            _exit(13);
        }
        for (int k = 0; k < 2; k++)
            if (vpar_procpool_worker_pid(pp, k) != 0) _exit(14);  /* all stopped and reaped */
        vpar_procpool_destroy(pp);
        if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) _exit(15);
        _exit(0);
    }
    int st = wait_bounded(child, 60000);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        fprintf(stderr, "test_fork_fails_mid_map: cannot drop to uid 65534 or set RLIMIT_NPROC: not run\n");
        return;
    }
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}
END_TEST

/* ---- 5. hanging initializer in a replacement worker -------------------------- */

static int hang_replacements(void *user, int worker) {
    int nworkers = *(const int *)user;
    (void)worker;
    if (atomic_fetch_add(&shared->init_calls, 1) >= nworkers)
        while (!atomic_load(&shared->release)) vpar_test_sleep_ms(5);
    return 0;
}

static int crash_task0_once(void *user, size_t i, void *result) {
    (void)user;
    if (i == 0 && atomic_fetch_add(&shared->attempts[0], 1) == 0) vpar_test_die_by(SIGSEGV);
    *(uint64_t *)result = vpar_test_mix(i);
    return 0;
}

START_TEST(test_hanging_replacement_init) {
    /* One worker, a timeout: the replacement's initializer is bounded by
       timeout_ms and the map stops instead of hanging. */
    atomic_store(&shared->init_calls, 0);
    atomic_store(&shared->release, 0);
    atomic_store(&shared->attempts[0], 0);
    int nw = 1;
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 1;
    d.init = hang_replacements;
    d.init_user = &nw;
    d.timeout_ms = 1000;  /* an initializer that returns at once never comes near it */
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    uint64_t got[10];
    vpar_procpool_status st[10];
    int64_t t0 = vpar_test_now_ms();
    ck_assert_int_eq(vpar_procpool_map(pp, 10, crash_task0_once, NULL, got, sizeof got[0], st), VPAR_ERR_TIMEOUT);
    ck_assert_msg(strstr(vpar_last_error(), "initializer"), "%s", vpar_last_error());
    ck_assert_int_lt(vpar_test_now_ms() - t0, 30000);
    ck_assert_int_eq(st[0].state, VPAR_TASK_SIGNAL);
    for (int i = 1; i < 10; i++) ck_assert_int_eq(st[i].state, VPAR_TASK_NOT_RUN);
    atomic_store(&shared->release, 1);
    ck_assert_int_eq(vpar_procpool_map(pp, 10, vpar_test_sq_task, NULL, got, sizeof got[0], st), VPAR_OK);
    vpar_procpool_destroy(pp);

    /* Two workers, no timeout: the healthy worker finishes the map, and the
       next map does not wait for the worker still in its initializer. */
    atomic_store(&shared->init_calls, 0);
    atomic_store(&shared->release, 0);
    atomic_store(&shared->attempts[0], 0);
    nw = 2;
    d.workers = 2;
    d.timeout_ms = 0;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    ck_assert_int_eq(vpar_procpool_map(pp, 10, crash_task0_once, NULL, got, sizeof got[0], st), VPAR_ERR_CRASHED);
    for (int i = 1; i < 10; i++) ck_assert_int_eq(st[i].state, VPAR_TASK_OK);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* Watchdog: lets the initializer go after 20 s so that a hang shows
           up as a slow test rather than a stuck one. */
        vpar_test_sleep_ms(20000);
        atomic_store(&shared->release, 1);
        _exit(0);
    }
    t0 = vpar_test_now_ms();
    ck_assert_int_eq(vpar_procpool_map(pp, 10, vpar_test_sq_task, NULL, got, sizeof got[0], st), VPAR_OK);
    int64_t took = vpar_test_now_ms() - t0;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_msg(took < 10000, "second map waited %lld ms for a worker in its initializer", (long long)took);
    for (size_t i = 0; i < 10; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    t0 = vpar_test_now_ms();
    vpar_procpool_destroy(pp);  /* the stuck initializer is killed, not waited for */
    ck_assert_int_lt(vpar_test_now_ms() - t0, 10000);
    atomic_store(&shared->release, 1);
}
END_TEST

/* A worker killed from outside after its initializer, while another
   worker is still initializing: creation must sleep, not spin on the dead
   worker's readable pidfd (parent CPU time stays small). */
static int kill_sibling_init(void *user, int worker) {
    (void)user;
    if (worker == 0) { atomic_store(&shared->pids[0], (int)getpid()); return 0; }
    while (!atomic_load(&shared->pids[0])) vpar_test_sleep_ms(1);
    vpar_test_sleep_ms(50);
    kill((pid_t)atomic_load(&shared->pids[0]), SIGKILL);
    vpar_test_sleep_ms(1500);
    return 0;
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e-6;
}

START_TEST(test_create_no_spin_on_dead_worker) {
    atomic_store(&shared->pids[0], 0);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.init = kill_sibling_init;
    double c0 = self_cpu_s();
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    double used = self_cpu_s() - c0;
    ck_assert_msg(used < 0.1, "creation used %.3f s of CPU while waiting 1.5 s", used);
    uint64_t got[20];
    ck_assert_int_eq(vpar_procpool_map(pp, 20, vpar_test_sq_task, NULL, got, sizeof got[0], NULL), VPAR_OK);
    for (size_t i = 0; i < 20; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    vpar_procpool_destroy(pp);
}
END_TEST

/* ---- 6. tasks finishing right at their timeout, thousands of times ---------- */

static int spin_to_timeout(void *user, size_t i, void *result) {
    int ms = *(const int *)user;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    /* Alternate just under, at and just over the limit. */
    int64_t target = (int64_t)ms * 1000000 + ((int64_t)(i % 3) - 1) * 50000;
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec) < target);
    *(uint64_t *)result = vpar_test_mix(i) | 1u;
    return 0;
}

typedef struct unord_acc { unsigned char *count; size_t bad; } unord_acc;
static int count_result(void *user, size_t i, const void *result, const vpar_procpool_status *st) {
    unord_acc *a = (unord_acc *)user;
    a->count[i]++;
    uint64_t r;
    memcpy(&r, result, sizeof r);
    if (st->state == VPAR_TASK_OK && r != (vpar_test_mix(i) | 1u)) a->bad++;
    if (st->state != VPAR_TASK_OK && st->state != VPAR_TASK_TIMEOUT) a->bad++;
    return 0;
}

START_TEST(test_finish_at_timeout) {
    /* About 2000 attempts in all (each kill costs a fork: slow on a loaded
       machine); VPAR_TEST_SCALE=k runs k times more. */
    const char *sc = getenv("VPAR_TEST_SCALE");
    size_t n = (VPAR_TEST_SANITIZED ? 200 : 1000) * (size_t)(sc && atoi(sc) > 1 ? atoi(sc) : 1);
    int ms = 2;
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.chunk = 1;
    d.timeout_ms = ms;
    for (int retries = 0; retries <= 1; retries++) {
        d.retries = retries;
        if (retries) n /= 2;
        ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
        uint64_t *got = (uint64_t *)calloc(n, sizeof *got);
        vpar_procpool_status *st = (vpar_procpool_status *)calloc(n, sizeof *st);
        for (size_t i = 0; i < n; i++) st[i].state = -1;
        vpar_status s = vpar_procpool_map(pp, n, spin_to_timeout, &ms, got, sizeof *got, st);
        size_t ok = 0, timed = 0;
        for (size_t i = 0; i < n; i++) {
            if (st[i].state == VPAR_TASK_OK) {
                ok++;
                ck_assert_uint_eq(got[i], vpar_test_mix(i) | 1u);
            } else {
                ck_assert_msg(st[i].state == VPAR_TASK_TIMEOUT && st[i].code == SIGKILL,
                              "task %zu: state %d code %d", i, st[i].state, st[i].code);
                ck_assert_uint_eq(got[i], 0);
                timed++;
            }
            ck_assert_int_ge(st[i].attempts, 1);
            ck_assert_int_le(st[i].attempts, 1 + retries);
        }
        ck_assert_int_eq(s, timed ? VPAR_ERR_TIMEOUT : VPAR_OK);
        ck_assert_uint_eq(ok + timed, n);
        unord_acc a = {(unsigned char *)calloc(n, 1), 0};
        vpar_procpool_map_unordered(pp, n / 3, spin_to_timeout, &ms, sizeof(uint64_t), count_result, &a);
        for (size_t i = 0; i < n / 3; i++) ck_assert_int_eq(a.count[i], 1);
        ck_assert_uint_eq(a.bad, 0);
        free(a.count);
        free(got);
        free(st);
        vpar_procpool_destroy(pp);
    }
}
END_TEST

/* ---- 7. interrupt before a map ------------------------------------------------ */

START_TEST(test_interrupt_before_map) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    vpar_procpool_interrupt(pp);
    uint64_t got[50];
    vpar_procpool_status st[50];
    memset(got, 0xff, sizeof got);
    ck_assert_int_eq(vpar_procpool_map(pp, 50, vpar_test_sq_task, NULL, got, sizeof got[0], st), VPAR_ERR_INTERRUPTED);
    for (int i = 0; i < 50; i++) {  /* stopped before any task started */
        ck_assert_int_eq(st[i].state, VPAR_TASK_NOT_RUN);
        ck_assert_int_eq(st[i].attempts, 0);
        ck_assert_int_eq(st[i].worker, -1);
        ck_assert_uint_eq(got[i], 0);
    }
    /* The request is used up: the next map runs normally. */
    ck_assert_int_eq(vpar_procpool_map(pp, 50, vpar_test_sq_task, NULL, got, sizeof got[0], st), VPAR_OK);
    for (size_t i = 0; i < 50; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    vpar_procpool_destroy(pp);
}
END_TEST

/* ---- 8. keep_signals ------------------------------------------------------------ */

static int handler_is_vpar(int sig) {
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == vpar__on_fatal_signal;
}

static void user_handler(int sig) { (void)sig; }

START_TEST(test_keep_signals) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGABRT};
    for (int which = 0; which < 4; which++) {
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            for (int k = 0; k < 4; k++) signal(sigs[k], SIG_DFL);
            signal(SIGQUIT, user_handler);  /* the program's own: never replaced */
            int keep = which & 1, use_pool = which < 2;
            vpar_procpool *pp = NULL;
            vpar_shmap *m = NULL;
            if (use_pool) {
                vpar_procpool_desc d = {0};
                d.workers = 1;
                d.keep_signals = keep;
                if (vpar_procpool_create(&pp, &d) != VPAR_OK) _exit(10);
            } else {
                char name[96];
                snprintf(name, sizeof name, "%skeep%d", shm_prefix, which);
                vpar_shmap_desc md = {0};
                md.capacity = 4;
                md.name = name;
                md.keep_signals = keep;
                if (vpar_shmap_create(&m, &md) != VPAR_OK) _exit(10);
            }
            for (int k = 0; k < 4; k++) {
                if (handler_is_vpar(sigs[k]) == keep) {
                    fprintf(stderr, "%s keep_signals=%d: signal %d handler %s\n", use_pool ? "pool" : "shmap",
                            keep, sigs[k], keep ? "installed" : "missing");
                    _exit(11);
                }
            }
            struct sigaction q;
            sigaction(SIGQUIT, NULL, &q);
            if (q.sa_handler != user_handler) { fprintf(stderr, "SIGQUIT handler replaced\n"); _exit(12); }
            vpar_procpool_destroy(pp);
            vpar_shmap_destroy(m);
            _exit(0);
        }
        int st = wait_bounded(child, 30000);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "case %d: child status %d", which, st);
    }
    ck_assert_int_eq(vpar_test_count_shm(shm_prefix + 1), 0);
}
END_TEST

/* ---- 9. /dev/shm cleanup on SIGHUP, abort() and exit() -------------------------- */

enum { END_HUP, END_ABRT, END_EXIT, END_TERM, END_PIPE, END_COUNT };
/* Still reachable at exit(): LeakSanitizer must not count the pool and map
   the child deliberately leaves undestroyed. */
static vpar_procpool *left_pool;
static vpar_shmap *left_map;

START_TEST(test_named_cleanup_on_exit_paths) {
    for (int how = 0; how < END_COUNT; how++) {
        atomic_store(&shared->pids[0], 0);
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            signal(SIGHUP, SIG_DFL);
            signal(SIGABRT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGPIPE, SIG_DFL);
            char name[96];
            snprintf(name, sizeof name, "%send%d", shm_prefix, how);
            vpar_shmap *m;
            vpar_shmap_desc md = {0};
            md.capacity = 16;
            md.name = name;
            if (vpar_shmap_create(&m, &md) != VPAR_OK) _exit(10);
            vpar_procpool *pp;
            vpar_procpool_desc d = {0};
            d.workers = 2;
            if (vpar_procpool_create(&pp, &d) != VPAR_OK) _exit(10);
            left_pool = pp;
            left_map = m;
            atomic_store(&shared->pids[0], (int)vpar_procpool_worker_pid(pp, 0));
            atomic_store(&shared->pids[1], (int)vpar_procpool_worker_pid(pp, 1));
            if (vpar_test_count_shm(shm_prefix + 1) != 1) _exit(11);
            switch (how) {
            case END_HUP: raise(SIGHUP); break;
            case END_ABRT: abort();
            case END_EXIT: exit(3);  /* no destroy */
            case END_TERM: raise(SIGTERM); break;
            case END_PIPE: {
                int fds[2];
                if (pipe(fds) != 0) _exit(12);
                close(fds[0]);
                ssize_t r = write(fds[1], "x", 1);
                (void)r;
                break;
            }
            }
            _exit(13);
        }
        int st = wait_bounded(child, 30000);
        static const int want_sig[END_COUNT] = {SIGHUP, SIGABRT, 0, SIGTERM, SIGPIPE};
        if (how == END_EXIT) ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "exit: status %d", st);
        else ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == want_sig[how], "case %d: status %d", how, st);
        ck_assert_msg(vpar_test_count_shm(shm_prefix + 1) == 0, "case %d left a /dev/shm entry", how);
        for (int k = 0; k < 2; k++) {
            pid_t w = atomic_load(&shared->pids[k]);
            ck_assert_int_gt(w, 0);
            int64_t end = vpar_test_now_ms() + 5000;
            while (!pid_gone(w) && vpar_test_now_ms() < end) vpar_test_sleep_ms(5);
            ck_assert_msg(pid_gone(w), "case %d: worker %d still running", how, (int)w);
        }
    }
}
END_TEST

/* ---- 10. shmap: huge capacity, version wrap, 64 processes, foreach stop ------ */

START_TEST(test_shmap_huge_capacity) {
    static const size_t caps[] = {(size_t)3 << 62, SIZE_MAX, SIZE_MAX / 4 * 3 + 2, SIZE_MAX / 2};
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        vpar_shmap *m = NULL;
        vpar_shmap_desc md = {0};
        md.capacity = caps[k];
        vpar_status s = vpar_shmap_create(&m, &md);
        ck_assert_msg(s == VPAR_ERR_OVERFLOW, "capacity %zu: status %d (%zu slots)", caps[k], s,
                      m ? (size_t)m->h->nslots : 0);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(vpar_last_error(), "vpar_shmap_create"), "%s", vpar_last_error());
    }
}
END_TEST

START_TEST(test_shmap_version_wrap) {
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 4;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_put_double(m, "counter", 1.0), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_put_double(m, "other", 5.0), VPAR_OK);
    /* As if "counter" had been committed almost 2^63 (formerly 2^31) times. */
    vpar__shm_test_set_version(m, "counter", VPAR__SHM_VERSION_MAX - 2);
    double one = 1.0, v = 0;
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(vpar_shmap_update(m, "counter", vpar_test_add_double, &one), VPAR_OK);
        ck_assert_msg(vpar_shmap_get_double(m, "counter", &v) == VPAR_OK, "key lost after update %d", k);
        ck_assert_double_eq(v, 2.0 + k);
        ck_assert_uint_eq(vpar_shmap_count(m), 2);
    }
    vpar_shmap_destroy(m);
}
END_TEST

static int add_u64(void *user, void *value, int existed) {
    (void)existed;
    *(uint64_t *)value += *(const uint64_t *)user;
    return 0;
}

START_TEST(test_shmap_64_process_sum) {
    enum { NPROC = 64, NKEYS = 3 };
    int iters = VPAR_TEST_SANITIZED ? 300 : 2000;
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = NKEYS;
    md.value_size = sizeof(uint64_t);
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    pid_t kids[NPROC];
    for (int p = 0; p < NPROC; p++) {
        kids[p] = fork();
        ck_assert_int_ge(kids[p], 0);
        if (kids[p] == 0) {
            for (int it = 0; it < iters; it++) {
                char key[16];
                snprintf(key, sizeof key, "k%d", (p + it) % NKEYS);
                uint64_t add = (uint64_t)p + 1;
                if (vpar_shmap_update(m, key, add_u64, &add) != VPAR_OK) _exit(1);
            }
            _exit(0);
        }
    }
    for (int p = 0; p < NPROC; p++) {
        int st = wait_bounded(kids[p], 120000);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d: status %d", p, st);
    }
    /* Expected sums derived here: process p adds p+1 to key (p+it) % 3. */
    uint64_t want[NKEYS] = {0, 0, 0};
    for (int p = 0; p < NPROC; p++)
        for (int it = 0; it < iters; it++) want[(p + it) % NKEYS] += (uint64_t)p + 1;
    for (int k = 0; k < NKEYS; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        uint64_t got = 0;
        ck_assert_int_eq(vpar_shmap_get(m, key, &got, sizeof got), VPAR_OK);
        ck_assert_uint_eq(got, want[k]);
    }
    ck_assert_uint_eq(vpar_shmap_count(m), NKEYS);
    vpar_shmap_destroy(m);
}
END_TEST

static int stop_at_third(void *user, const char *key, const void *value, size_t size) {
    (void)key; (void)value; (void)size;
    int *calls = (int *)user;
    return ++*calls == 3 ? 42 : 0;
}

START_TEST(test_shmap_foreach_early_stop) {
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 10;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    for (int k = 0; k < 10; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        ck_assert_int_eq(vpar_shmap_put_double(m, key, k), VPAR_OK);
    }
    int calls = 0;
    ck_assert_int_eq(vpar_shmap_foreach(m, stop_at_third, &calls), 42);
    ck_assert_int_eq(calls, 3);  /* no visit after the stop */
    vpar_shmap_destroy(m);
}
END_TEST

/* A lock held by a dead process whose pid now belongs to a live process
   (pid reuse) must still be taken over. */
START_TEST(test_shmap_reused_pid) {
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 4;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_put_double(m, "x", 1.0), VPAR_OK);
    pid_t sleeper = fork();
    ck_assert_int_ge(sleeper, 0);
    if (sleeper == 0) { for (;;) pause(); }
    /* The lock names `sleeper`'s pid with another process's start time. */
    uint64_t start = vpar__proc_start_ticks(sleeper);
    ck_assert_msg(start > 0, "no start time for pid %d", (int)sleeper);
    vpar__shm_test_hold_lock(m, "x", sleeper, start + 12345);
    pid_t writer = fork();
    ck_assert_int_ge(writer, 0);
    if (writer == 0) {
        double one = 1.0;
        _exit(vpar_shmap_update(m, "x", vpar_test_add_double, &one) == VPAR_OK ? 0 : 1);
    }
    int st = wait_bounded(writer, 10000);
    kill(sleeper, SIGKILL);
    waitpid(sleeper, NULL, 0);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "update never took the lock over from the reused pid (status %d)", st);
    double v = 0;
    ck_assert_int_eq(vpar_shmap_get_double(m, "x", &v), VPAR_OK);
    ck_assert_double_eq(v, 2.0);
    /* The genuine owner (right start time) is respected. */
    pid_t owner = fork();
    ck_assert_int_ge(owner, 0);
    if (owner == 0) { for (;;) pause(); }
    vpar__shm_test_hold_lock(m, "x", owner, vpar__proc_start_ticks(owner));
    writer = fork();
    if (writer == 0) {
        double one = 1.0;
        _exit(vpar_shmap_update(m, "x", vpar_test_add_double, &one) == VPAR_OK ? 0 : 1);
    }
    vpar_test_sleep_ms(300);
    ck_assert_int_eq(waitpid(writer, NULL, WNOHANG), 0);  /* still waiting for the live owner */
    kill(owner, SIGKILL);
    waitpid(owner, NULL, 0);
    st = wait_bounded(writer, 10000);  /* owner dead: taken over */
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    ck_assert_int_eq(vpar_shmap_get_double(m, "x", &v), VPAR_OK);
    ck_assert_double_eq(v, 3.0);
    vpar_shmap_destroy(m);
}
END_TEST

/* ---- 11. vpar_pool spin_us > 0 (issue 18 lists it with these library knobs) -- */

static void sum_body(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    _Atomic uint64_t *acc = (_Atomic uint64_t *)user;
    uint64_t local = 0;
    for (size_t i = begin; i < end; i++) local += i;
    atomic_fetch_add(acc, local);
}

/* Idle workers spin for spin_us before they sleep: right after a region a
   long spin keeps the worker awake (and burning CPU); it is asleep once the
   spin has run out. Checked through the pool's own counters, not a clock. */
START_TEST(test_pool_spin_us) {
    vpar_pool *pool;
    vpar_pool_desc pd = {2, 1500000};  /* 1.5 s spin */
    ck_assert_int_eq(vpar_pool_create(&pool, &pd), VPAR_OK);
    _Atomic uint64_t acc = 0;
    size_t n = 100000;
    ck_assert_int_eq(vpar_parallel_for(pool, 0, n, 1000, sum_body, (void *)&acc), VPAR_OK);
    ck_assert_uint_eq(atomic_load(&acc), (uint64_t)n * (n - 1) / 2);
    vpar_test_sleep_ms(100);
    vpar_pool_stats a, b;
    ck_assert_int_eq(vpar_pool_get_stats(pool, &a), VPAR_OK);
    ck_assert_int_eq(a.idle_sleeping, 0);  /* still spinning 100 ms after the region */
    int64_t end = vpar_test_now_ms() + 30000;
    do {
        vpar_test_sleep_ms(20);
        ck_assert_int_eq(vpar_pool_get_stats(pool, &b), VPAR_OK);
    } while (b.idle_sleeping == 0 && vpar_test_now_ms() < end);
    ck_assert_int_eq(b.idle_sleeping, 1);   /* the spin ran out: asleep */
    ck_assert(b.worker_cpu_s > a.worker_cpu_s);  /* the spin used CPU */
    vpar_pool_destroy(pool);
}
END_TEST

/* ---- namespace scenarios (run as `test_procpool_faults <name>`) --------------- */

/* Private mount namespace with a fresh tmpfs over `dir`. 0: ready; 77: not
   permitted here. */
static int private_tmpfs(const char *dir, const char *opts) {
    if (unshare(CLONE_NEWNS) != 0) {
        fprintf(stderr, "SKIP: unshare(CLONE_NEWNS): %s (needs root or CAP_SYS_ADMIN)\n", strerror(errno));
        return 77;
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        fprintf(stderr, "SKIP: cannot mount a private tmpfs on %s: %s\n", dir, strerror(errno));
        return 77;
    }
    return 0;
}

typedef struct lockstep { _Atomic int holder_in, contender_trying; } lockstep;

static int slow_increment(void *user, void *value, int existed) {
    (void)existed;
    lockstep *ls = (lockstep *)user;
    double old = *(double *)value;  /* read now, written back later */
    atomic_store(&ls->holder_in, 1);
    while (!atomic_load(&ls->contender_trying)) vpar_test_sleep_ms(1);
    vpar_test_sleep_ms(300);  /* the contender spins past its dead-owner checks meanwhile */
    *(double *)value = old + 1.0;
    return 0;
}

static int scenario_noproc(void) {
    int rc = private_tmpfs("/proc", "size=16k");
    if (rc) return rc;
    if (access("/proc/self/stat", F_OK) == 0) { fprintf(stderr, "/proc still visible\n"); return 1; }
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 4;
    if (vpar_shmap_create(&m, &md) != VPAR_OK) return 1;
    lockstep *ls = (lockstep *)mmap(NULL, sizeof *ls, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ls == MAP_FAILED) return 1;
    memset(ls, 0, sizeof *ls);
    int failures = 0;
    for (int round = 0; round < 3; round++) {
        atomic_store(&ls->holder_in, 0);
        atomic_store(&ls->contender_trying, 0);
        pid_t holder = fork();
        if (holder == 0) _exit(vpar_shmap_update(m, "n", slow_increment, ls) == VPAR_OK ? 0 : 1);
        while (!atomic_load(&ls->holder_in)) vpar_test_sleep_ms(1);
        pid_t contender = fork();
        if (contender == 0) {
            double one = 1.0;
            atomic_store(&ls->contender_trying, 1);
            _exit(vpar_shmap_update(m, "n", vpar_test_add_double, &one) == VPAR_OK ? 0 : 1);
        }
        int s1 = wait_bounded(holder, 20000), s2 = wait_bounded(contender, 20000);
        if (!(WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) && WEXITSTATUS(s2) == 0)) {
            fprintf(stderr, "round %d: holder %d contender %d\n", round, s1, s2);
            failures++;
        }
    }
    double v = 0;
    vpar_shmap_get_double(m, "n", &v);
    if (v != 6.0) {
        fprintf(stderr, "FAIL noproc: 3 rounds of two serialized increments gave %g, want 6 "
                        "(a live holder's lock was taken over)\n", v);
        failures++;
    }
    /* A dead holder is still taken over without /proc (kill() says ESRCH). */
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    waitpid(gone, NULL, 0);
    vpar__shm_test_hold_lock(m, "n", gone, 0);
    pid_t w = fork();
    if (w == 0) {
        double one = 1.0;
        _exit(vpar_shmap_update(m, "n", vpar_test_add_double, &one) == VPAR_OK ? 0 : 1);
    }
    int s = wait_bounded(w, 20000);
    vpar_shmap_get_double(m, "n", &v);
    if (s != 0 || v != 7.0) { fprintf(stderr, "FAIL noproc: dead holder not taken over (%d, %g)\n", s, v); failures++; }
    vpar_shmap_destroy(m);
    if (!failures) { printf("noproc: ok\n"); fflush(stdout); }
    return failures ? 1 : 0;
}

static int scenario_smallshm(void) {
    int rc = private_tmpfs("/dev/shm", "size=256k");
    if (rc) return rc;
    int failures = 0;
    vpar_shmap *m = NULL;
    vpar_shmap_desc md = {0};
    md.capacity = 20000;  /* about 2.5 MB of slots */
    md.name = "/vpar-ft-small";
    vpar_status s = vpar_shmap_create(&m, &md);
    if (s != VPAR_ERR_NOSPACE) {
        fprintf(stderr, "FAIL smallshm: create gave %d (%s), want VPAR_ERR_NOSPACE\n", s, vpar_last_error());
        failures++;
        if (m) {
            /* Show what users saw: SIGBUS while filling the map. */
            pid_t p = fork();
            if (p == 0) {
                for (int k = 0; k < 20000; k++) {
                    char key[16];
                    snprintf(key, sizeof key, "k%d", k);
                    vpar_shmap_put_double(m, key, k);
                }
                _exit(0);
            }
            int st = 0;
            waitpid(p, &st, 0);
            if (WIFSIGNALED(st)) fprintf(stderr, "  filling it died from signal %d\n", WTERMSIG(st));
            vpar_shmap_destroy(m);
        }
    } else if (!strstr(vpar_last_error(), "/vpar-ft-small")) {
        fprintf(stderr, "FAIL smallshm: message does not name the map: %s\n", vpar_last_error());
        failures++;
    }
    if (vpar_test_count_shm("vpar-ft-small") != 0) { fprintf(stderr, "FAIL smallshm: segment left behind\n"); failures++; }
    /* A map that fits works and can be filled. */
    md.capacity = 200;
    if (vpar_shmap_create(&m, &md) != VPAR_OK) { fprintf(stderr, "FAIL: small map: %s\n", vpar_last_error()); return 1; }
    for (int k = 0; k < 200; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        if (vpar_shmap_put_double(m, key, k) != VPAR_OK) failures++;
    }
    vpar_shmap_destroy(m);
    if (vpar_test_count_shm("vpar-ft-small") != 0) failures++;
    if (!failures) { printf("smallshm: ok\n"); fflush(stdout); }
    return failures ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        pid_t p = fork();  /* the namespace and mounts stay in the child */
        if (p < 0) return 1;
        if (p == 0) {
            if (strcmp(argv[1], "noproc") == 0) _exit(scenario_noproc());
            if (strcmp(argv[1], "smallshm") == 0) _exit(scenario_smallshm());
            fprintf(stderr, "unknown scenario %s\n", argv[1]);
            _exit(2);
        }
        int st = wait_bounded(p, 120000);
        if (st < 0) { fprintf(stderr, "FAIL %s: hung\n", argv[1]); return 1; }
        if (WIFSIGNALED(st)) { fprintf(stderr, "FAIL %s: died from signal %d\n", argv[1], WTERMSIG(st)); return 1; }
        return WEXITSTATUS(st);
    }
    Suite *s = suite_create("procpool_faults");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    /* PROCPOOL_FAULTS_ONLY=<name>[,<name>...]: run only these tests (Check
       filters only by case). */
    const char *only = getenv("PROCPOOL_FAULTS_ONLY");
    char only_list[1024];
    snprintf(only_list, sizeof only_list, ",%s,", only ? only : "");
#define ADD(t) do { if (!only || strstr(only_list, "," #t ",")) tcase_add_test(tc, t); } while (0)
    ADD(test_retry_result_rezeroed);
    ADD(test_sigchld_ignored);
    ADD(test_workers_unblocked_mask);
    ADD(test_creating_thread_exits);
    ADD(test_fork_fails_mid_map);
    ADD(test_hanging_replacement_init);
    ADD(test_create_no_spin_on_dead_worker);
    ADD(test_finish_at_timeout);
    ADD(test_interrupt_before_map);
    ADD(test_keep_signals);
    ADD(test_named_cleanup_on_exit_paths);
    ADD(test_shmap_huge_capacity);
    ADD(test_shmap_version_wrap);
    ADD(test_shmap_64_process_sum);
    ADD(test_shmap_foreach_early_stop);
    ADD(test_shmap_reused_pid);
    ADD(test_pool_spin_us);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
