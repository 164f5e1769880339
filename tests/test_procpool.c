/* Tests for vpar/procpool.h: map correctness against the serial loop,
   crash/timeout/retry semantics, the shared-memory map under concurrent
   writers and dead lock holders, named maps, SIGINT cleanup, and no leaked
   processes or /dev/shm entries after every test.

   Tasks that crash on purpose use raise()/kill() rather than real faults
   so that sanitizers do not print reports for them. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar_check.h"
#include "vpar_test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Stress scale: VPAR_TEST_SCALE=4 for longer runs. Sanitized builds run
   a quarter (fork and atomics are much slower there). */
static size_t scale(size_t n) {
    const char *s = getenv("VPAR_TEST_SCALE");
    long k = s ? strtol(s, NULL, 10) : 1;
    if (k > 1) n *= (size_t)k;
    return VPAR_TEST_SANITIZED ? (n + 3) / 4 : n;
}

/* ---- leak checks --------------------------------------------------------- */

/* Number of processes whose parent is us (zombies included). */
static int count_children(void) {
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int n = 0;
    pid_t me = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = '\0';
        char *p = strrchr(buf, ')');
        int ppid = 0;
        char state;
        if (p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 && ppid == me) n++;
    }
    closedir(d);
    return n;
}

/* Shared mappings of this process: anonymous shared memory shows up in
   /proc/self/maps as "/dev/zero (deleted)", the pool's task region as
   "/memfd:vpar-procpool", named maps as "/dev/shm/...". Anonymous maps
   never appear in /dev/shm, so this (not vpar_test_count_shm) is what shows that a
   destroyed pool or anonymous map left no segment behind. */
static int count_shared_maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "/dev/zero") || strstr(line, "memfd:") || strstr(line, "/dev/shm/")) n++;
    fclose(f);
    return n;
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static char shm_prefix[64];
static int base_maps, base_fds;  /* taken by setup() */

static void assert_no_leaks(void) {
    ck_assert_int_eq(count_children(), 0);
    ck_assert_int_eq(vpar_test_count_shm(shm_prefix + 1), 0);
    ck_assert_int_eq(count_shared_maps(), base_maps);  /* pools' and maps' segments unmapped */
    ck_assert_int_eq(count_fds(), base_fds);           /* memfd, eventfd, pidfds closed */
}

static int pid_exists(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Anonymous shared scratch created before any pool, so workers see it. */
typedef struct scratch {
    _Atomic int attempts[256];
    _Atomic int victim_pid;
    _Atomic int init_calls;
    _Atomic int fails;
    _Atomic int init_exits;
} scratch;
static scratch *shared;

static void setup(void) {
    snprintf(shm_prefix, sizeof shm_prefix, "/vpar-test-%d-", (int)getpid());
    void *p = mmap(NULL, sizeof(scratch), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(p != MAP_FAILED);
    shared = (scratch *)p;
    memset(shared, 0, sizeof *shared);
    base_maps = count_shared_maps();
    base_fds = count_fds();
    ck_assert_int_ge(base_maps, 1);  /* `shared` itself: the count works */
}

static void teardown(void) {
    munmap(shared, sizeof(scratch));
    shared = NULL;
}

/* ---- map correctness ------------------------------------------------------ */

typedef struct rec { uint64_t idx, sq; double root; } rec;

static void serial_rec(size_t i, rec *r) {
    r->idx = i;
    r->sq = vpar_test_mix(i) * 3u + (uint64_t)i * i;
    r->root = (double)i * 0.5 + 1.0 / (double)(i + 1);
}

static int rec_task(void *user, size_t i, void *result) {
    const uint64_t *salt = (const uint64_t *)user;
    rec *r = (rec *)result;
    serial_rec(i, r);
    r->sq += *salt;
    return 0;
}

START_TEST(test_map_matches_serial) {
    static const size_t ns[] = {1, 2, 7, 100, 5000};
    static const size_t chunks[] = {0, 1, 3, 64, 100000};
    static const int workers[] = {1, 2, 3};
    uint64_t salt = 12345;  /* loaded before the pool: shared copy-on-write */
    for (size_t wi = 0; wi < 3; wi++) {
        vpar_procpool *pp;
        vpar_procpool_desc d = {0};
        d.workers = workers[wi];
        ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
        ck_assert_int_eq(vpar_procpool_size(pp), workers[wi]);
        for (size_t ci = 0; ci < 5; ci++) {
            vpar_procpool_set_chunk(pp, chunks[ci]);
            for (size_t ni = 0; ni < 5; ni++) {
                size_t n = ns[ni];
                rec *got = (rec *)calloc(n, sizeof *got);
                vpar_procpool_status *st = (vpar_procpool_status *)calloc(n, sizeof *st);
                ck_assert_int_eq(vpar_procpool_map(pp, n, rec_task, &salt, got, sizeof *got, st), VPAR_OK);
                for (size_t i = 0; i < n; i++) {
                    rec want;
                    serial_rec(i, &want);
                    want.sq += salt;
                    ck_assert_mem_eq(&got[i], &want, sizeof want);
                    ck_assert_int_eq(st[i].state, VPAR_TASK_OK);
                    ck_assert_int_eq(st[i].attempts, 1);
                    ck_assert_int_ge(st[i].worker, 0);
                    ck_assert_int_lt(st[i].worker, workers[wi]);
                }
                free(got);
                free(st);
            }
        }
        vpar_procpool_destroy(pp);
        assert_no_leaks();
    }
}
END_TEST

/* Many tasks, more than the completion rings hold, results checked. */
START_TEST(test_map_many_tasks) {
    size_t n = scale(200000);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.chunk = 1;  /* worst case for the claim path */
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    uint64_t *got = (uint64_t *)malloc(n * sizeof *got);
    for (int rep = 0; rep < 3; rep++) {
        memset(got, 0xff, n * sizeof *got);
        ck_assert_int_eq(vpar_procpool_map(pp, n, vpar_test_sq_task, NULL, got, sizeof *got, NULL), VPAR_OK);
        for (size_t i = 0; i < n; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    }
    /* n == 0 and NULL results are fine. */
    ck_assert_int_eq(vpar_procpool_map(pp, 0, vpar_test_sq_task, NULL, NULL, 0, NULL), VPAR_OK);
    ck_assert_int_eq(vpar_procpool_map(pp, 10, vpar_test_sq_task, NULL, NULL, 8, NULL), VPAR_OK);
    free(got);
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

typedef struct unordered_acc {
    size_t n, calls;
    unsigned char *seen;
    int bad;
} unordered_acc;

static int on_result(void *user, size_t i, const void *result, const vpar_procpool_status *st) {
    unordered_acc *a = (unordered_acc *)user;
    a->calls++;
    if (i >= a->n || a->seen[i] || st->state != VPAR_TASK_OK || *(const uint64_t *)result != vpar_test_mix(i))
        a->bad++;
    else
        a->seen[i] = 1;
    return 0;
}

START_TEST(test_map_unordered) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 3;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    size_t n = scale(30000);
    unordered_acc a = {n, 0, (unsigned char *)calloc(n, 1), 0};
    ck_assert_int_eq(vpar_procpool_map_unordered(pp, n, vpar_test_sq_task, NULL, sizeof(uint64_t), on_result, &a), VPAR_OK);
    ck_assert_uint_eq(a.calls, n);
    ck_assert_int_eq(a.bad, 0);
    free(a.seen);
    ck_assert_int_eq(vpar_procpool_map_unordered(pp, 5, vpar_test_sq_task, NULL, 8, NULL, NULL), VPAR_ERR_INVALID);
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

/* Data loaded after the pool is invisible until restart. */
static int late_value = 1;
static int late_task(void *user, size_t i, void *result) {
    (void)user; (void)i;
    *(int *)result = late_value;
    return 0;
}

START_TEST(test_copy_on_write_and_restart) {
    late_value = 1;
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    late_value = 2;  /* after fork: workers still see 1 */
    int got[8];
    ck_assert_int_eq(vpar_procpool_map(pp, 8, late_task, NULL, got, sizeof got[0], NULL), VPAR_OK);
    for (int i = 0; i < 8; i++) ck_assert_int_eq(got[i], 1);
    ck_assert_int_eq(vpar_procpool_restart(pp), VPAR_OK);
    ck_assert_int_eq(vpar_procpool_map(pp, 8, late_task, NULL, got, sizeof got[0], NULL), VPAR_OK);
    for (int i = 0; i < 8; i++) ck_assert_int_eq(got[i], 2);
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

/* ---- failures -------------------------------------------------------------- */

enum { T_SEGV = 3, T_ABRT = 5, T_EXIT = 8, T_HANG = 13, T_VICTIM = 17, T_KILLER = 18,
       T_ERR = 21, T_NTASKS = 40 };

/* user == NULL: crash mode (segfault, abort, _exit, hang, error);
   user != NULL: kill mode (one task is killed by another). */
static int crash_task(void *user, size_t i, void *result) {
    if (user && i != T_VICTIM && i != T_KILLER) i += 1000;  /* plain task */
    if (!user && (i == T_VICTIM || i == T_KILLER)) i += 1000;
    switch (i) {
    case T_SEGV: vpar_test_die_by(SIGSEGV); break;
    case T_ABRT: vpar_test_die_by(SIGABRT); break;
    case T_EXIT: _exit(7);
    case T_HANG: for (;;) pause();
    case T_VICTIM:
        atomic_store(&shared->victim_pid, (int)getpid());
        for (;;) pause();
    case T_KILLER: {
        /* Kills the victim from another process (bounded wait). */
        for (int k = 0; k < 20000 && atomic_load(&shared->victim_pid) == 0; k++) {
            struct timespec ts = {0, 500000};
            nanosleep(&ts, NULL);
        }
        int v = atomic_load(&shared->victim_pid);
        if (v <= 0) return 99;
        kill((pid_t)v, SIGKILL);
        break;
    }
    case T_ERR: return vpar_fail(VPAR_ERR_IO, "task %zu: cannot read network file", i);
    default: break;
    }
    *(uint64_t *)result = vpar_test_mix(i % 1000);
    return 0;
}

START_TEST(test_crashes_timeouts_errors) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 3;
    d.chunk = 1;
    /* Only T_HANG may time out. The limit is generous because the other
       tasks are trivial but run under ASan on 2 loaded cores (a 500 ms
       limit once timed out a trivial task there); the mechanism is what is
       checked: the hung task is killed, reported as TIMEOUT with SIGKILL,
       and its worker replaced. */
    d.timeout_ms = 3000;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    for (int rep = 0; rep < 2; rep++) {
        atomic_store(&shared->victim_pid, 0);
        uint64_t got[T_NTASKS];
        vpar_procpool_status st[T_NTASKS];
        memset(got, 0xff, sizeof got);
        vpar_status s = vpar_procpool_map(pp, T_NTASKS, crash_task, NULL, got, sizeof got[0], st);
        /* First failure in index order is the SIGSEGV task. */
        ck_assert_int_eq(s, VPAR_ERR_CRASHED);
        ck_assert_msg(strstr(vpar_last_error(), "task 3") && strstr(vpar_last_error(), "signal 11"),
                      "message: %s", vpar_last_error());
        for (size_t i = 0; i < T_NTASKS; i++) {
            switch (i) {
            case T_SEGV: ck_assert_int_eq(st[i].state, VPAR_TASK_SIGNAL); ck_assert_int_eq(st[i].code, SIGSEGV); break;
            case T_ABRT: ck_assert_int_eq(st[i].state, VPAR_TASK_SIGNAL); ck_assert_int_eq(st[i].code, SIGABRT); break;
            case T_EXIT: ck_assert_int_eq(st[i].state, VPAR_TASK_EXIT); ck_assert_int_eq(st[i].code, 7); break;
            case T_HANG: ck_assert_int_eq(st[i].state, VPAR_TASK_TIMEOUT); ck_assert_int_eq(st[i].code, SIGKILL); break;
            case T_ERR: ck_assert_int_eq(st[i].state, VPAR_TASK_ERROR); ck_assert_int_eq(st[i].code, VPAR_ERR_IO); break;
            default:
                ck_assert_msg(st[i].state == VPAR_TASK_OK, "task %zu state %d code %d", i, st[i].state, st[i].code);
                ck_assert_uint_eq(got[i], vpar_test_mix(i));
                continue;
            }
            ck_assert_uint_eq(got[i], 0);  /* failed tasks leave zeros */
            ck_assert_int_eq(st[i].attempts, 1);
        }
        /* The pool keeps working after the crashes. */
        uint64_t ok[64];
        ck_assert_int_eq(vpar_procpool_map(pp, 64, vpar_test_sq_task, NULL, ok, sizeof ok[0], NULL), VPAR_OK);
        for (size_t i = 0; i < 64; i++) ck_assert_uint_eq(ok[i], vpar_test_mix(i));
    }
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST


/* A worker killed from outside (by another process) while running a task. */
START_TEST(test_worker_killed_from_outside) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 3;
    d.chunk = 1;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    static int kill_mode = 1;  /* non-NULL user: victim and killer tasks active */
    atomic_store(&shared->victim_pid, 0);
    uint64_t got[T_NTASKS];
    vpar_procpool_status st[T_NTASKS];
    vpar_status s = vpar_procpool_map(pp, T_NTASKS, crash_task, &kill_mode, got, sizeof got[0], st);
    ck_assert_int_eq(s, VPAR_ERR_CRASHED);
    ck_assert_int_eq(st[T_VICTIM].state, VPAR_TASK_SIGNAL);
    ck_assert_int_eq(st[T_VICTIM].code, SIGKILL);
    ck_assert_int_eq(st[T_KILLER].state, VPAR_TASK_OK);
    ck_assert_uint_eq(got[T_KILLER], vpar_test_mix(T_KILLER));
    for (size_t i = 0; i < T_NTASKS; i++) {
        if (i == T_VICTIM) continue;
        ck_assert_msg(st[i].state == VPAR_TASK_OK, "task %zu state %d code %d", i, st[i].state, st[i].code);
        ck_assert_uint_eq(got[i], vpar_test_mix(i));
    }
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

static int err_only_task(void *user, size_t i, void *result) {
    (void)user; (void)result;
    if (i == 6) return vpar_fail(VPAR_ERR_FORMAT, "net_%02zu.npy: bad magic", i);
    if (i == 9) return 1000;  /* not a vpar_status */
    return 0;
}

START_TEST(test_task_errors) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    vpar_procpool_status st[12];
    ck_assert_int_eq(vpar_procpool_map(pp, 12, err_only_task, NULL, NULL, 0, st), VPAR_ERR_FORMAT);
    ck_assert_msg(strstr(vpar_last_error(), "task 6") && strstr(vpar_last_error(), "net_06.npy: bad magic") &&
                  strstr(vpar_last_error(), "2 of 12"), "message: %s", vpar_last_error());
    ck_assert_int_eq(st[6].state, VPAR_TASK_ERROR);
    ck_assert_int_eq(st[9].state, VPAR_TASK_ERROR);
    ck_assert_int_eq(st[9].code, 1000);
    ck_assert_int_eq(st[0].state, VPAR_TASK_OK);
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

/* Crashes on the first `fails` attempts of a task. */
static int flaky_task(void *user, size_t i, void *result) {
    (void)user;  /* set after the pool was created: must come through shared memory */
    int fails = atomic_load(&shared->fails);
    int a = atomic_fetch_add(&shared->attempts[i], 1);
    if ((i % 3) == 0 && a < fails) vpar_test_die_by(SIGSEGV);
    if ((i % 3) == 1 && a < fails) return 17;
    *(uint64_t *)result = vpar_test_mix(i);
    return 0;
}

START_TEST(test_retries) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.retries = 2;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    for (int fails = 2; fails <= 3; fails++) {
        for (int i = 0; i < 256; i++) atomic_store(&shared->attempts[i], 0);
        atomic_store(&shared->fails, fails);
        uint64_t got[12];
        vpar_procpool_status st[12];
        vpar_status s = vpar_procpool_map(pp, 12, flaky_task, NULL, got, 8, st);
        ck_assert_int_eq(s, fails == 2 ? VPAR_OK : VPAR_ERR_CRASHED);
        for (size_t i = 0; i < 12; i++) {
            if (i % 3 == 2) {
                ck_assert_int_eq(st[i].state, VPAR_TASK_OK);
                ck_assert_int_eq(st[i].attempts, 1);
            } else if (fails == 2) {
                ck_assert_msg(st[i].state == VPAR_TASK_OK && st[i].attempts == 3,
                              "task %zu: state %d code %d attempts %d", i, st[i].state, st[i].code, st[i].attempts);
                ck_assert_int_eq(st[i].attempts, 3);
                ck_assert_uint_eq(got[i], vpar_test_mix(i));
            } else {
                ck_assert_int_eq(st[i].state, i % 3 == 0 ? VPAR_TASK_SIGNAL : VPAR_TASK_ERROR);
                ck_assert_int_eq(st[i].code, i % 3 == 0 ? SIGSEGV : 17);
                ck_assert_int_eq(st[i].attempts, 3);
                ck_assert_int_eq(atomic_load(&shared->attempts[i]), 3);
            }
        }
    }
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

static int pid_task(void *user, size_t i, void *result) {
    (void)user; (void)i;
    *(int *)result = (int)getpid();
    return 0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

START_TEST(test_max_tasks_per_child) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.chunk = 2;
    d.max_tasks_per_child = 3;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    int pids[30];
    vpar_procpool_status st[30];
    ck_assert_int_eq(vpar_procpool_map(pp, 30, pid_task, NULL, pids, sizeof pids[0], st), VPAR_OK);
    qsort(pids, 30, sizeof pids[0], cmp_int);
    int distinct = 0, run = 0;
    for (int i = 0; i < 30; i++) {
        ck_assert_int_gt(pids[i], 0);
        ck_assert_int_ne(pids[i], (int)getpid());
        if (i == 0 || pids[i] != pids[i - 1]) { distinct++; run = 0; }
        run++;
        ck_assert_int_le(run, 3);
    }
    ck_assert_int_ge(distinct, 10);
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

static int worker_tag;  /* set by the initializer in each worker */
static int init_fn(void *user, int worker) {
    int *fail_on = (int *)user;
    atomic_fetch_add(&shared->init_calls, 1);
    if (fail_on && worker == *fail_on) return VPAR_ERR_UNSUPPORTED;
    worker_tag = 1000 + worker;
    return 0;
}

static int tag_task(void *user, size_t i, void *result) {
    (void)user; (void)i;
    *(int *)result = worker_tag;
    if (vpar_procpool_worker_index() != worker_tag - 1000) return 1;
    return 0;
}

START_TEST(test_initializer) {
    worker_tag = -1;
    atomic_store(&shared->init_calls, 0);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 3;
    d.init = init_fn;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    ck_assert_int_eq(atomic_load(&shared->init_calls), 3);
    int tags[50];
    ck_assert_int_eq(vpar_procpool_map(pp, 50, tag_task, NULL, tags, sizeof tags[0], NULL), VPAR_OK);
    for (int i = 0; i < 50; i++) ck_assert(tags[i] >= 1000 && tags[i] < 1003);
    ck_assert_int_eq(atomic_load(&shared->init_calls), 3);  /* once per worker, not per task */
    ck_assert_int_eq(vpar_procpool_worker_index(), -1);
    vpar_procpool_destroy(pp);
    assert_no_leaks();

    /* A failing initializer fails creation and leaves nothing behind. */
    int fail_on = 1;
    d.init_user = &fail_on;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_ERR_UNSUPPORTED);
    ck_assert_ptr_null(pp);
    ck_assert_msg(strstr(vpar_last_error(), "initializer failed in worker 1"), "%s", vpar_last_error());
    assert_no_leaks();
}
END_TEST


static int exiting_init(void *user, int worker) {
    (void)user; (void)worker;
    if (atomic_load(&shared->init_exits)) _exit(3);
    return 0;
}

/* Replacement workers that die before any task stop the map instead of
   being re-forked forever. */
START_TEST(test_workers_dying_outside_tasks) {
    atomic_store(&shared->init_exits, 0);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 1;
    d.init = exiting_init;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    atomic_store(&shared->init_exits, 1);
    pid_t w0 = vpar_procpool_worker_pid(pp, 0);
    ck_assert_int_eq(kill(w0, SIGKILL), 0);
    vpar_procpool_status st[5];
    ck_assert_int_eq(vpar_procpool_map(pp, 5, vpar_test_sq_task, NULL, NULL, 0, st), VPAR_ERR_CRASHED);
    ck_assert_msg(strstr(vpar_last_error(), "died outside any task"), "%s", vpar_last_error());
    for (int i = 0; i < 5; i++) ck_assert_int_eq(st[i].state, VPAR_TASK_NOT_RUN);
    ck_assert_int_eq(count_children(), 0);
    atomic_store(&shared->init_exits, 0);
    uint64_t got[5];
    ck_assert_int_eq(vpar_procpool_map(pp, 5, vpar_test_sq_task, NULL, got, 8, NULL), VPAR_OK);
    for (size_t i = 0; i < 5; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

static int stop_after(void *user, size_t i, const void *result, const vpar_procpool_status *st) {
    (void)i; (void)result; (void)st;
    size_t *calls = (size_t *)user;
    return ++*calls == 10;
}

static int slow_task(void *user, size_t i, void *result) {
    (void)user;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    *(uint64_t *)result = vpar_test_mix(i);
    return 0;
}

START_TEST(test_stop_from_callback) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.chunk = 1;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    size_t calls = 0;
    ck_assert_int_eq(vpar_procpool_map_unordered(pp, 5000, slow_task, NULL, 8, stop_after, &calls),
                     VPAR_ERR_INTERRUPTED);
    ck_assert_uint_eq(calls, 5000);  /* every task reported once, the rest as NOT_RUN */
    ck_assert_int_eq(count_children(), 0);  /* stopped workers are reaped */
    uint64_t got[100];
    ck_assert_int_eq(vpar_procpool_map(pp, 100, vpar_test_sq_task, NULL, got, 8, NULL), VPAR_OK);
    for (size_t i = 0; i < 100; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

/* A program's own signal handler stops the map with vpar_procpool_interrupt. */
static vpar_procpool *usr1_pool;
static void on_usr1(int sig) { (void)sig; vpar_procpool_interrupt(usr1_pool); }

static int poke_parent_task(void *user, size_t i, void *result) {
    (void)result; (void)user;
    if (i == 1) kill(getppid(), SIGUSR1);
    for (;;) pause();
    return 0;
}

START_TEST(test_interrupt_from_handler) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.chunk = 1;
    d.timeout_ms = 20000;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    usr1_pool = pp;
    vpar_procpool_status st[20];
    ck_assert_int_eq(vpar_procpool_map(pp, 20, poke_parent_task, NULL, NULL, 0, st), VPAR_ERR_INTERRUPTED);
    for (int i = 0; i < 20; i++) ck_assert_int_eq(st[i].state, VPAR_TASK_NOT_RUN);
    ck_assert_int_eq(count_children(), 0);
    sigaction(SIGUSR1, &old, NULL);
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

static int nested_task(void *user, size_t i, void *result) {
    (void)i;
    vpar_procpool *pp = (vpar_procpool *)user;
    *(int *)result = (int)vpar_procpool_map(pp, 3, vpar_test_sq_task, NULL, NULL, 0, NULL);
    return 0;
}

START_TEST(test_bad_arguments) {
    vpar_procpool *pp = NULL;
    vpar_procpool_desc d = {0};
    d.workers = -1;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_ERR_INVALID);
    ck_assert_msg(strstr(vpar_last_error(), "workers -1"), "%s", vpar_last_error());
    d.workers = 0;
    d.timeout_ms = -5;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_procpool_create(NULL, NULL), VPAR_ERR_INVALID);
    d.timeout_ms = 0;
    d.workers = 1000;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_ERR_INVALID);
    ck_assert_msg(strstr(vpar_last_error(), "VPAR_PROCPOOL_MAX_WORKERS (256)"), "%s", vpar_last_error());
    /* VPAR_NUM_WORKERS is parsed as strictly as VPAR_NUM_THREADS. */
    static const char *bad_env[] = {"abc", "0", "-2", "3x", "2.5", "257", "99999999999999999999", " "};
    for (size_t k = 0; k < sizeof bad_env / sizeof bad_env[0]; k++) {
        setenv("VPAR_NUM_WORKERS", bad_env[k], 1);
        pp = (vpar_procpool *)&d;  /* must be reset to NULL */
        ck_assert_msg(vpar_procpool_create(&pp, NULL) == VPAR_ERR_INVALID, "VPAR_NUM_WORKERS='%s' accepted", bad_env[k]);
        ck_assert_ptr_null(pp);
        ck_assert_msg(strstr(vpar_last_error(), "VPAR_NUM_WORKERS='") && strstr(vpar_last_error(), "from 1 to 256"),
                      "%s", vpar_last_error());
    }
    setenv("VPAR_NUM_WORKERS", "3 ", 1);  /* trailing blank allowed, as for VPAR_NUM_THREADS */
    ck_assert_int_eq(vpar_procpool_create(&pp, NULL), VPAR_OK);
    ck_assert_int_eq(vpar_procpool_size(pp), 3);
    vpar_procpool_destroy(pp);
    d.workers = 1;  /* an explicit count wins over the variable */
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    ck_assert_int_eq(vpar_procpool_size(pp), 1);
    vpar_procpool_destroy(pp);
    d.workers = 0;
    setenv("VPAR_NUM_WORKERS", "2", 1);
    ck_assert_int_eq(vpar_procpool_create(&pp, NULL), VPAR_OK);
    unsetenv("VPAR_NUM_WORKERS");
    ck_assert_int_eq(vpar_procpool_size(pp), 2);
    ck_assert_int_eq(vpar_procpool_size(NULL), 0);
    ck_assert_int_eq(vpar_procpool_map(pp, 5, NULL, NULL, NULL, 0, NULL), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_procpool_map(NULL, 5, vpar_test_sq_task, NULL, NULL, 0, NULL), VPAR_ERR_INVALID);
    int codes[4];
    ck_assert_int_eq(vpar_procpool_map(pp, 4, nested_task, pp, codes, sizeof codes[0], NULL), VPAR_OK);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(codes[i], VPAR_ERR_STATE);
    ck_assert_int_eq(vpar_procpool_worker_pid(pp, 5), 0);
    ck_assert_int_gt(vpar_procpool_worker_pid(pp, 1), 0);
    vpar_procpool_destroy(pp);
    vpar_procpool_destroy(NULL);
    assert_no_leaks();
}
END_TEST

/* ---- shared map ------------------------------------------------------------ */

typedef struct acc4 { uint64_t a, b, c, d; } acc4;

static int add_one(void *user, void *value, int existed) {
    (void)user; (void)existed;
    acc4 *v = (acc4 *)value;
    v->a++; v->b++; v->c++; v->d++;
    return 0;
}

static int refuse(void *user, void *value, int existed) {
    (void)user; (void)existed;
    *(double *)value = -1;
    return 1;
}

typedef struct visit_acc { size_t n; double sum; int bad; } visit_acc;
static int visit(void *user, const char *key, const void *value, size_t size) {
    visit_acc *a = (visit_acc *)user;
    double v;
    memcpy(&v, value, sizeof v);
    int k = atoi(key + 1);
    if (size != sizeof(double) || key[0] != 'k' || v != k * 0.5) a->bad++;
    a->n++;
    a->sum += v;
    return 0;
}

START_TEST(test_shmap_basic) {
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_ERR_INVALID);  /* capacity 0 */
    md.capacity = 100;
    md.key_max = 8;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    ck_assert_uint_eq(vpar_shmap_capacity(m), 100);
    ck_assert_uint_eq(vpar_shmap_value_size(m), sizeof(double));
    double v = 0;
    ck_assert_int_eq(vpar_shmap_get_double(m, "k1", &v), VPAR_ERR_NOT_FOUND);
    for (int k = 0; k < 100; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        ck_assert_int_eq(vpar_shmap_put_double(m, key, -1.0), VPAR_OK);
        ck_assert_int_eq(vpar_shmap_put_double(m, key, k * 0.5), VPAR_OK);  /* overwrite */
    }
    ck_assert_uint_eq(vpar_shmap_count(m), 100);
    /* Full: new keys fail, existing keys still update. */
    ck_assert_int_eq(vpar_shmap_put_double(m, "new", 1.0), VPAR_ERR_FULL);
    ck_assert_msg(strstr(vpar_last_error(), "capacity 100"), "%s", vpar_last_error());
    ck_assert_int_eq(vpar_shmap_get_double(m, "new", &v), VPAR_ERR_NOT_FOUND);
    ck_assert_int_eq(vpar_shmap_put_double(m, "k7", 3.5), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_get_double(m, "k7", &v), VPAR_OK);
    ck_assert_double_eq(v, 3.5);
    double inc = 0.25;
    ck_assert_int_eq(vpar_shmap_update(m, "k7", vpar_test_add_double, &inc), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_update(m, "k7", refuse, NULL), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_get_double(m, "k7", &v), VPAR_OK);
    ck_assert_double_eq(v, 3.75);
    ck_assert_int_eq(vpar_shmap_put_double(m, "k7", 3.5), VPAR_OK);
    visit_acc a = {0, 0, 0};
    ck_assert_int_eq(vpar_shmap_foreach(m, visit, &a), 0);
    ck_assert_uint_eq(a.n, 100);
    ck_assert_int_eq(a.bad, 0);
    ck_assert_double_eq(a.sum, 0.5 * 99 * 100 / 2);
    /* Over-long key, NULL key, oversized value: clear errors, nothing written. */
    ck_assert_int_eq(vpar_shmap_put_double(m, "k12345678", 1.0), VPAR_ERR_INVALID);
    ck_assert_msg(strstr(vpar_last_error(), "longer than") && strstr(vpar_last_error(), "8 bytes"),
                  "%s", vpar_last_error());
    ck_assert_int_eq(vpar_shmap_get_double(m, "k12345678", &v), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_shmap_put_double(m, NULL, 1.0), VPAR_ERR_INVALID);
    char big[16] = {0};
    ck_assert_int_eq(vpar_shmap_put(m, "k1", big, sizeof big), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_shmap_get_double(m, "k1", &v), VPAR_OK);
    ck_assert_double_eq(v, 0.5);
    ck_assert_uint_eq(vpar_shmap_count(m), 100);
    vpar_shmap_destroy(m);
    vpar_shmap_destroy(NULL);

    /* Records: short writes are zero-padded; an exactly-key_max key works. */
    md.capacity = 4;
    md.value_size = sizeof(acc4);
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    uint64_t two[2] = {11, 22};
    ck_assert_int_eq(vpar_shmap_put(m, "12345678", two, sizeof two), VPAR_OK);
    acc4 r;
    memset(&r, 0xff, sizeof r);
    ck_assert_int_eq(vpar_shmap_get(m, "12345678", &r, sizeof r), VPAR_OK);
    ck_assert_uint_eq(r.a, 11); ck_assert_uint_eq(r.b, 22);
    ck_assert_uint_eq(r.c, 0); ck_assert_uint_eq(r.d, 0);
    ck_assert_int_eq(vpar_shmap_get_double(m, "12345678", &v), VPAR_OK);  /* prefix read */
    vpar_shmap_destroy(m);
    md.value_size = 4;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_get_double(m, "x", &v), VPAR_ERR_INVALID);
    vpar_shmap_destroy(m);
    md.value_size = SIZE_MAX / 2;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_ERR_OVERFLOW);
    assert_no_leaks();
}
END_TEST

/* Concurrent writers: overwrites of shared keys plus atomic updates. */
typedef struct conc_job {
    vpar_shmap *vals, *counts;
    size_t nkeys, ncounters;
} conc_job;

static int conc_task(void *user, size_t i, void *result) {
    (void)result;
    const conc_job *j = (const conc_job *)user;
    char key[32];
    snprintf(key, sizeof key, "gene-%zu", i % j->nkeys);
    acc4 v = {i, i * 2, i * 3, i * 4};
    vpar_status s = vpar_shmap_put(j->vals, key, &v, sizeof v);
    if (s != VPAR_OK) return (int)s;
    snprintf(key, sizeof key, "c%zu", i % j->ncounters);
    return (int)vpar_shmap_update(j->counts, key, add_one, NULL);
}

START_TEST(test_shmap_concurrent_writers) {
    conc_job j;
    j.nkeys = scale(3000);
    j.ncounters = 37;
    size_t n = 4 * j.nkeys;
    vpar_shmap_desc md = {0};
    md.capacity = j.nkeys;
    md.value_size = sizeof(acc4);
    ck_assert_int_eq(vpar_shmap_create(&j.vals, &md), VPAR_OK);
    md.capacity = j.ncounters;
    ck_assert_int_eq(vpar_shmap_create(&j.counts, &md), VPAR_OK);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 4;
    d.chunk = 7;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);  /* after the maps */
    vpar_procpool_status *st = (vpar_procpool_status *)calloc(n, sizeof *st);
    ck_assert_int_eq(vpar_procpool_map(pp, n, conc_task, &j, NULL, 0, st), VPAR_OK);
    ck_assert_uint_eq(vpar_shmap_count(j.vals), j.nkeys);
    for (size_t k = 0; k < j.nkeys; k++) {
        char key[32];
        snprintf(key, sizeof key, "gene-%zu", k);
        acc4 v;
        ck_assert_int_eq(vpar_shmap_get(j.vals, key, &v, sizeof v), VPAR_OK);
        /* One of the four writers' records, never a vpar_test_mix of two. */
        ck_assert_uint_eq(v.a % j.nkeys, k);
        ck_assert_uint_eq(v.b, v.a * 2);
        ck_assert_uint_eq(v.c, v.a * 3);
        ck_assert_uint_eq(v.d, v.a * 4);
    }
    ck_assert_uint_eq(vpar_shmap_count(j.counts), j.ncounters);
    for (size_t c = 0; c < j.ncounters; c++) {
        char key[32];
        snprintf(key, sizeof key, "c%zu", c);
        acc4 v;
        ck_assert_int_eq(vpar_shmap_get(j.counts, key, &v, sizeof v), VPAR_OK);
        size_t want = n / j.ncounters + (c < n % j.ncounters);
        ck_assert_uint_eq(v.a, want);
        ck_assert_uint_eq(v.d, want);
    }
    free(st);
    vpar_procpool_destroy(pp);
    vpar_shmap_destroy(j.vals);
    vpar_shmap_destroy(j.counts);
    assert_no_leaks();
}
END_TEST

/* Workers killed while holding a key's write lock (inside update). */
static int die_inside(void *user, void *value, int existed) {
    (void)user; (void)existed;
    acc4 *v = (acc4 *)value;
    v->a += 1000;  /* half-written update that must never become visible */
    v->b += 1000;
    kill(getpid(), SIGKILL);
    return 0;
}

static int mid_update_task(void *user, size_t i, void *result) {
    (void)result;
    vpar_shmap *m = (vpar_shmap *)user;
    if (i % 10 == 4) return (int)vpar_shmap_update(m, "shared", die_inside, NULL);
    return (int)vpar_shmap_update(m, "shared", add_one, NULL);
}

START_TEST(test_shmap_writer_killed_mid_update) {
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 2;
    md.value_size = sizeof(acc4);
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 3;
    d.chunk = 1;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    size_t n = VPAR_TEST_SANITIZED ? 60 : 200;
    vpar_procpool_status *st = (vpar_procpool_status *)calloc(n, sizeof *st);
    ck_assert_int_eq(vpar_procpool_map(pp, n, mid_update_task, m, NULL, 0, st), VPAR_ERR_CRASHED);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 10 == 4) {
            ck_assert_int_eq(st[i].state, VPAR_TASK_SIGNAL);
            ck_assert_int_eq(st[i].code, SIGKILL);
        } else {
            ck_assert_int_eq(st[i].state, VPAR_TASK_OK);
            ok++;
        }
    }
    acc4 v;
    ck_assert_int_eq(vpar_shmap_get(m, "shared", &v, sizeof v), VPAR_OK);
    ck_assert_uint_eq(v.a, ok);  /* no lost update, no torn one */
    ck_assert_uint_eq(v.b, ok);
    ck_assert_uint_eq(v.c, ok);
    ck_assert_uint_eq(v.d, ok);
    free(st);
    vpar_procpool_destroy(pp);
    vpar_shmap_destroy(m);
    assert_no_leaks();
}
END_TEST

static pid_t dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

/* White-box: a slot left CLAIMING by a dead process, and a value lock held
   by a dead process, must not block anyone. */
START_TEST(test_shmap_dead_claimer_and_lock) {
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 8;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    pid_t gone = dead_pid();
    const char *key = "GO:0008150";
    uint64_t hash = vpar__shm_hash(key, strlen(key));
    vpar__shm_slot *s = vpar__shm_slot_at(m, hash & (m->h->nslots - 1));
    atomic_store(&s->state, VPAR__S_WORD(VPAR__S_CLAIMING, vpar__owner_id(gone, 0)));
    atomic_fetch_add(&m->h->reserved, 1);  /* as the dead claimer did */
    ck_assert_int_eq(vpar_shmap_put_double(m, key, 2.5), VPAR_OK);
    double v = 0;
    ck_assert_int_eq(vpar_shmap_get_double(m, key, &v), VPAR_OK);
    ck_assert_double_eq(v, 2.5);
    ck_assert_uint_eq(VPAR__S_KIND(atomic_load(&s->state)), VPAR__S_DEAD);
    /* Lock held by the dead pid: the committed value survives, writers go on. */
    vpar__shm_slot *slot;
    ck_assert_int_eq(vpar__shm_find(m, key, strlen(key), 0, &slot, "test"), VPAR_OK);
    vpar__shm_test_hold_lock(m, key, gone, 0);
    ck_assert_uint_ne(atomic_load(&slot->lock), 0);
    ck_assert_int_eq(vpar_shmap_get_double(m, key, &v), VPAR_OK);
    ck_assert_double_eq(v, 2.5);
    double inc = 1.0;
    ck_assert_int_eq(vpar_shmap_update(m, key, vpar_test_add_double, &inc), VPAR_OK);
    ck_assert_int_eq(vpar_shmap_get_double(m, key, &v), VPAR_OK);
    ck_assert_double_eq(v, 3.5);
    /* The map holds 8 keys: the key above and the dead claimer's reservation
       (its slot is lost, and so is its unit of capacity) use two, so six
       more fit. */
    int added = 0;
    for (int k = 0; k < 20; k++) {
        char kk[16];
        snprintf(kk, sizeof kk, "x%d", k);
        if (vpar_shmap_put_double(m, kk, k) == VPAR_OK) added++;
    }
    ck_assert_int_eq(added, 6);
    vpar_shmap_destroy(m);
    assert_no_leaks();
}
END_TEST

START_TEST(test_shmap_named) {
    char name[96], bad[96];
    snprintf(name, sizeof name, "%snamed", shm_prefix);
    snprintf(bad, sizeof bad, "%snotvpar", shm_prefix);
    vpar_shmap *m, *again, *other;
    vpar_shmap_desc md = {0};
    md.capacity = 500;
    md.name = name;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    ck_assert_int_eq(vpar_test_count_shm(shm_prefix + 1), 1);
    ck_assert_int_eq(vpar_shmap_create(&again, &md), VPAR_ERR_STATE);  /* exists */
    /* An unrelated process (fork + open by name) writes; we read. */
    pid_t p = fork();
    if (p == 0) {
        vpar_shmap *c;
        if (vpar_shmap_open(&c, name) != VPAR_OK) _exit(1);
        for (int k = 0; k < 500; k++) {
            char key[16];
            snprintf(key, sizeof key, "n%d", k);
            if (vpar_shmap_put_double(c, key, k * 2.0) != VPAR_OK) _exit(2);
        }
        vpar_shmap_destroy(c);  /* an opener never unlinks */
        _exit(0);
    }
    int wst = 0;
    ck_assert_int_eq(waitpid(p, &wst, 0), p);
    ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    ck_assert_int_eq(vpar_test_count_shm(shm_prefix + 1), 1);
    ck_assert_int_eq(vpar_shmap_open(&other, name), VPAR_OK);
    ck_assert_uint_eq(vpar_shmap_count(other), 500);
    for (int k = 0; k < 500; k++) {
        char key[16];
        double v;
        snprintf(key, sizeof key, "n%d", k);
        ck_assert_int_eq(vpar_shmap_get_double(m, key, &v), VPAR_OK);
        ck_assert_double_eq(v, k * 2.0);
    }
    vpar_shmap_destroy(other);
    vpar_shmap_destroy(m);
    ck_assert_int_eq(vpar_test_count_shm(shm_prefix + 1), 0);  /* unlinked by the creator */
    ck_assert_int_eq(vpar_shmap_open(&other, name), VPAR_ERR_NOT_FOUND);
    /* Not a vpar map / bad names. */
    int fd = shm_open(bad, O_CREAT | O_RDWR, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    ck_assert_int_eq(write(fd, "garbage!", 8), 8);
    close(fd);
    ck_assert_int_eq(vpar_shmap_open(&other, bad), VPAR_ERR_FORMAT);
    shm_unlink(bad);
    md.name = "no-slash";
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_ERR_INVALID);
    md.name = "/a/b";
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_shmap_open(&other, "x"), VPAR_ERR_INVALID);
    /* A failure after shm_open (sizing beyond RLIMIT_FSIZE, in a child
       that holds the limit: EFBIG, reported as VPAR_ERR_NOSPACE) unlinks
       the name again. */
    pid_t c = fork();
    if (c == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {4096, 4096};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        vpar_shmap_desc big = {0};
        big.capacity = 10000;
        big.name = name;
        vpar_shmap *bm;
        vpar_status bs = vpar_shmap_create(&bm, &big);
        _exit(bs == VPAR_ERR_NOSPACE && strstr(vpar_last_error(), name) ? 0 : 4);
    }
    ck_assert_int_eq(waitpid(c, &wst, 0), c);
    ck_assert_msg(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "child status 0x%x", wst);
    ck_assert_int_eq(vpar_test_count_shm(shm_prefix + 1), 0);
    assert_no_leaks();
}
END_TEST


/* Jobs that only know the map's name (as under a command runner). */
static char named_for_tasks[96];
static int named_task(void *user, size_t i, void *result) {
    (void)user; (void)result;
    vpar_shmap *m;
    vpar_status s = vpar_shmap_open(&m, named_for_tasks);
    if (s != VPAR_OK) return (int)s;
    char key[32];
    snprintf(key, sizeof key, "net-%zu", i);
    s = vpar_shmap_put_double(m, key, 1.0 / (double)(i + 1));
    vpar_shmap_destroy(m);
    if (i == 5) vpar_test_die_by(SIGSEGV);  /* after its write: the write stays */
    return (int)s;
}

START_TEST(test_shmap_named_from_tasks) {
    snprintf(named_for_tasks, sizeof named_for_tasks, "%sjobs", shm_prefix);
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 64;
    md.name = named_for_tasks;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    d.chunk = 1;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    vpar_procpool_status st[52];
    ck_assert_int_eq(vpar_procpool_map(pp, 52, named_task, NULL, NULL, 0, st), VPAR_ERR_CRASHED);
    for (size_t i = 0; i < 52; i++) {
        ck_assert_int_eq(st[i].state, i == 5 ? VPAR_TASK_SIGNAL : VPAR_TASK_OK);
        char key[32];
        double v;
        snprintf(key, sizeof key, "net-%zu", i);
        ck_assert_int_eq(vpar_shmap_get_double(m, key, &v), VPAR_OK);
        ck_assert_double_eq(v, 1.0 / (double)(i + 1));
    }
    ck_assert_uint_eq(vpar_shmap_count(m), 52);
    vpar_procpool_destroy(pp);
    vpar_shmap_destroy(m);
    assert_no_leaks();
}
END_TEST

typedef struct crash_acc { size_t calls, ok, segv; int bad; } crash_acc;
static int on_crash_result(void *user, size_t i, const void *result, const vpar_procpool_status *st) {
    crash_acc *a = (crash_acc *)user;
    a->calls++;
    if (i % 50 == 7) {
        if (st->state == VPAR_TASK_SIGNAL && st->code == SIGSEGV) a->segv++;
        else a->bad++;
    } else if (st->state == VPAR_TASK_OK && *(const uint64_t *)result == vpar_test_mix(i)) {
        a->ok++;
    } else {
        a->bad++;
    }
    return 0;
}

static int sometimes_segv(void *user, size_t i, void *result) {
    if (i % 50 == 7) vpar_test_die_by(SIGSEGV);
    return vpar_test_sq_task(user, i, result);
}

START_TEST(test_unordered_with_crashes) {
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 3;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    crash_acc a = {0, 0, 0, 0};
    size_t n = VPAR_TEST_SANITIZED ? 300 : 1000, nsegv = 0;
    for (size_t i = 0; i < n; i++) nsegv += i % 50 == 7;
    ck_assert_int_eq(vpar_procpool_map_unordered(pp, n, sometimes_segv, NULL, 8, on_crash_result, &a),
                     VPAR_ERR_CRASHED);
    ck_assert_uint_eq(a.calls, n);
    ck_assert_uint_eq(a.segv, nsegv);
    ck_assert_uint_eq(a.ok, n - nsegv);
    ck_assert_int_eq(a.bad, 0);
    vpar_procpool_destroy(pp);
    assert_no_leaks();
}
END_TEST

/* ---- SIGINT ---------------------------------------------------------------- */

static void run_sigint_helper(const char *mode) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
#if VPAR_TEST_TSAN
    /* SIGCHLD blocked from before the fork, so that its wait below
       (sigtimedwait) cannot miss the helper's exit; the helper itself
       runs with the mask it would have had. */
    sigset_t chld, oldmask;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &chld, &oldmask), 0);
#endif
    pid_t p = fork();
    if (p == 0) {
#if VPAR_TEST_TSAN
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
#endif
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        signal(SIGINT, SIG_DFL);
        execl(VPAR_PROCPOOL_SIGINT_HELPER, VPAR_PROCPOOL_SIGINT_HELPER, mode, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[256];
    size_t len = 0;
    while (len < sizeof line - 1) {
        ssize_t r = read(fds[0], line + len, 1);
        if (r <= 0 || line[len] == '\n') break;
        len++;
    }
    line[len] = '\0';
    close(fds[0]);
    char name[128];
    int w0 = 0, w1 = 0;
    ck_assert_msg(sscanf(line, "%127s %d %d", name, &w0, &w1) == 3, "helper said: '%s'", line);
    ck_assert(pid_exists(w0) && pid_exists(w1));
    char path[160];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    /* "map" may still be starting its map when the signal lands; both
       paths must clean up, and "idle" covers the no-map case for sure. */
    ck_assert_int_eq(kill(p, SIGINT), 0);
    int wst = 0;
#if VPAR_TEST_TSAN
    /* ThreadSanitizer's runtime takes every signal itself and hands it to
       the program's handler later, at an intercepted call; now and then
       it never does: about 1 helper in 40-120 under TSan slept on in its
       map's poll() loop with its workers and map intact, SIGINT neither
       pending nor handled, and a second SIGINT then ended it cleanly (no
       such case in 150 runs of the plain build). Here, and only here, a
       helper that has not exited 5 s after a Ctrl-C (no SIGCHLD within
       5 s) gets Ctrl-C again, at most twice; everything below is still
       checked. Other builds wait for the first. */
    for (int resent = 0;;) {
        pid_t r = waitpid(p, &wst, WNOHANG);
        ck_assert_int_ne(r, -1);
        if (r == p) break;
        struct timespec five = {5, 0};
        if (sigtimedwait(&chld, NULL, &five) < 0 && errno == EAGAIN && resent < 2) {
            ck_assert_int_eq(kill(p, SIGINT), 0);
            resent++;
        }
    }
    ck_assert_int_eq(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
#else
    ck_assert_int_eq(waitpid(p, &wst, 0), p);
#endif
    ck_assert_msg(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGINT, "helper status 0x%x", wst);
    ck_assert_msg(!pid_exists(w0) && !pid_exists(w1), "worker processes left behind");
    ck_assert_msg(stat(path, &sb) != 0, "%s left behind", path);
}

START_TEST(test_sigint_leaves_nothing) {
    /* repeated: the signal lands at a different point each time (under
       TSan the helper's old pause() loop lost it in ~1 run of 4) */
    for (int r = 0; r < 10; r++) {
        run_sigint_helper("map");
        run_sigint_helper("idle");
    }
    assert_no_leaks();
}
END_TEST


/* A child the program forks itself inherits the cleanup handler; Ctrl-C in
   it must not touch the parent's workers or named maps. */
START_TEST(test_sigint_in_forked_child_spares_parent) {
    /* Check's fork mode has its own SIGINT handler (it kills the test's
       process group): start from the default action so that ours is put
       in place, as in a plain program. */
    struct sigaction dfl, saved;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ck_assert_int_eq(sigaction(SIGINT, &dfl, &saved), 0);
    char name[96];
    snprintf(name, sizeof name, "%sparent", shm_prefix);
    vpar_shmap *m;
    vpar_shmap_desc md = {0};
    md.capacity = 4;
    md.name = name;
    ck_assert_int_eq(vpar_shmap_create(&m, &md), VPAR_OK);
    vpar_procpool *pp;
    vpar_procpool_desc d = {0};
    d.workers = 2;
    ck_assert_int_eq(vpar_procpool_create(&pp, &d), VPAR_OK);
    pid_t w0 = vpar_procpool_worker_pid(pp, 0);
    struct sigaction cur;
    ck_assert_int_eq(sigaction(SIGINT, NULL, &cur), 0);
    ck_assert(cur.sa_handler == vpar__on_fatal_signal);
    pid_t p = fork();
    if (p == 0) {
        raise(SIGINT);
        _exit(0);
    }
    int wst = 0;
    ck_assert_int_eq(waitpid(p, &wst, 0), p);
    ck_assert(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGINT);
    ck_assert(pid_exists(w0));
    ck_assert_int_eq(vpar_procpool_worker_pid(pp, 0), w0);
    ck_assert_int_eq(vpar_test_count_shm(shm_prefix + 1), 1);
    uint64_t got[16];
    ck_assert_int_eq(vpar_procpool_map(pp, 16, vpar_test_sq_task, NULL, got, 8, NULL), VPAR_OK);
    for (size_t i = 0; i < 16; i++) ck_assert_uint_eq(got[i], vpar_test_mix(i));
    vpar_procpool_destroy(pp);
    vpar_shmap_destroy(m);
    sigaction(SIGINT, &saved, NULL);
    assert_no_leaks();
}
END_TEST

int main(void) {
    Suite *s = suite_create("procpool");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_map_matches_serial);
    tcase_add_test(tc, test_map_many_tasks);
    tcase_add_test(tc, test_map_unordered);
    tcase_add_test(tc, test_copy_on_write_and_restart);
    tcase_add_test(tc, test_crashes_timeouts_errors);
    tcase_add_test(tc, test_worker_killed_from_outside);
    tcase_add_test(tc, test_task_errors);
    tcase_add_test(tc, test_retries);
    tcase_add_test(tc, test_max_tasks_per_child);
    tcase_add_test(tc, test_initializer);
    tcase_add_test(tc, test_workers_dying_outside_tasks);
    tcase_add_test(tc, test_stop_from_callback);
    tcase_add_test(tc, test_interrupt_from_handler);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_shmap_basic);
    tcase_add_test(tc, test_shmap_concurrent_writers);
    tcase_add_test(tc, test_shmap_writer_killed_mid_update);
    tcase_add_test(tc, test_shmap_dead_claimer_and_lock);
    tcase_add_test(tc, test_shmap_named);
    tcase_add_test(tc, test_shmap_named_from_tasks);
    tcase_add_test(tc, test_unordered_with_crashes);
    tcase_add_test(tc, test_sigint_leaves_nothing);
    tcase_add_test(tc, test_sigint_in_forked_child_spares_parent);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
