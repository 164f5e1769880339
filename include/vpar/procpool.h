/* vpar/procpool.h — a pool of forked worker processes, and shared-memory
   result maps (multiprocessing.Pool.map and Manager().dict(), done right).

   WHAT
     vpar_procpool: N worker processes forked from the caller. A map runs
     `fn(user, i, result)` for every task index i in [0, n) in the workers
     and hands each task's fixed-size result (written into shared memory,
     never pickled) and its status back to the parent: in task order into a
     caller array (vpar_procpool_map), or through a callback in the parent
     as tasks finish (vpar_procpool_map_unordered).

     Workers pull chunks of task indices from a shared counter (lock-free,
     no parent round trip per task); chunk size defaults to Python's
     ceil(n / (4 x workers)). A worker that dies (segfault, abort, SIGKILL,
     OOM killer, _exit) marks the task it was running failed with the signal
     or exit status, is replaced, and the map goes on; the caller gets one
     vpar_procpool_status per task. Optional: per-task timeout (the worker
     is killed and replaced), retries, max tasks per child, an initializer
     run once in every worker.

     vpar_shmap: a hash map in shared memory from string keys (at most
     key_max bytes) to fixed-size values (a double, or a record of
     value_size bytes), with a capacity fixed at creation. Any number of
     processes insert, overwrite, update (read-modify-write) and read
     concurrently; the parent looks up and iterates. Anonymous maps are
     inherited by workers forked after their creation; named maps
     (shm_open) can be opened by unrelated processes, e.g. jobs of a command
     runner, and are unlinked by their creator on destroy, on any failure
     and when the process ends by exit() or a fatal signal (see SIGNALS).

   WHEN TO CREATE THE POOL (copy-on-write)
     Workers are fork()ed by vpar_procpool_create. They see the parent's
     memory as it was at that moment, shared copy-on-write with no copying:
     load the big inputs (GO matrix, annotations, the list of network files)
     and create the anonymous vpar_shmap FIRST, then create the pool, then
     map. `user` and everything a task reads through it must already exist
     at pool creation: memory allocated or changed in the parent afterwards
     is invisible to the workers (they would read their stale copy). After
     loading new data, call vpar_procpool_restart() (re-forks the workers).
     Workers replaced mid-map (after a crash) are forked from the parent as
     it is then; the parent must not change task inputs during a map.

   EXAMPLE
       static int score(void *user, size_t i, void *result) {
           const struct job *job = user;          // loaded before the pool
           double auc;
           if (run_egad(job->files[i], &auc) != VPAR_OK) return 1;
           vpar_shmap_put_double(job->aucs, job->files[i], auc);
           *(double *)result = auc;
           return 0;                               // non-zero = task error
       }
       // ... load job (files, annotations), vpar_shmap_create(&job.aucs, ...)
       vpar_procpool *pp;
       vpar_procpool_desc d = {0};                 // workers = CPUs
       d.timeout_ms = 600000;                      // kill a task after 10 min
       if (vpar_procpool_create(&pp, &d) != VPAR_OK) die(vpar_last_error());
       double *auc = malloc(nfiles * sizeof *auc);
       vpar_procpool_status *st = malloc(nfiles * sizeof *st);
       vpar_status s = vpar_procpool_map(pp, nfiles, score, &job,
                                         auc, sizeof *auc, st);
       // s != VPAR_OK: some task failed; st[i].state says which and how
       vpar_procpool_destroy(pp);

   FAILURE SEMANTICS (vpar_procpool_status.state / .code)
     VPAR_TASK_OK       fn returned 0; the result is valid.
     VPAR_TASK_ERROR    fn returned non-zero (code = that value) after all
                        attempts; the worker lives on.
     VPAR_TASK_SIGNAL   the worker died from signal `code` while running the
                        task (SIGSEGV, SIGABRT, SIGKILL from outside or from
                        the OOM killer, ...); the worker is replaced.
     VPAR_TASK_EXIT     the worker called exit/_exit(code) inside the task.
     VPAR_TASK_TIMEOUT  the task ran longer than timeout_ms; its worker was
                        killed with SIGKILL and replaced (code = SIGKILL).
     VPAR_TASK_NOT_RUN  the map stopped before the task finished (interrupt,
                        a worker initializer failed or ran past timeout_ms,
                        fork failed, or replacement workers kept dying
                        outside any task).
     VPAR_TASK_LOST     the worker died during the task but its exit status
                        was lost: the process ignores SIGCHLD, so the kernel
                        reaped the worker (code = 0). Counts as a crash.
     With retries = r, a failed task (any kind but NOT_RUN) runs up to
     1 + r times; `attempts` counts them; every attempt starts from zeroed
     result bytes (a crashed attempt's partial output is wiped). Results of
     failed tasks are left zero in the caller's array. Every map returns;
     every task gets one final status; after vpar_procpool_destroy (or exit,
     or a fatal signal, see SIGNALS) no worker process and no /dev/shm
     entry is left. The map itself returns VPAR_OK only when
     every task is OK; otherwise the status of the first failing task in
     index order: a task's own non-zero return value when it is a
     vpar_status (VPAR_ERR_INVALID otherwise), VPAR_ERR_CRASHED for a
     signal, exit or lost worker, VPAR_ERR_TIMEOUT, or why the map stopped
     (VPAR_ERR_INTERRUPTED, VPAR_ERR_SYSTEM for a failed fork, ...); and
     vpar_last_error() names the task, the worker and what happened (with
     the worker's own vpar_last_error() text for the first task error).

   SIGNALS
     Workers ignore SIGINT: the parent owns the decision; they start with an
     empty signal mask whatever the creating thread blocks. When SIGINT,
     SIGTERM, SIGHUP, SIGABRT, SIGPIPE or SIGQUIT has its default
     disposition at the time a pool or a named map is created (and
     keep_signals is 0), vpar installs a handler that, on the signal,
     SIGKILLs and reaps (at most ~2 s) every live worker, unlinks every named
     map this process created, restores the default disposition and
     re-raises: the process dies from the signal as it would have (exit
     status 130 for Ctrl-C) and leaves no processes and no /dev/shm entries
     behind. The same cleanup runs at exit() (atexit; also with
     keep_signals). Programs with their own SIGINT handler keep it; they
     call vpar_procpool_interrupt() (async-signal-safe) from it, and the
     running map stops its workers and returns VPAR_ERR_INTERRUPTED.
     Workers also get PR_SET_PDEATHSIG(SIGKILL), so they never outlive a
     parent killed by SIGKILL; Linux sends it when the forking THREAD exits,
     so if the thread that created the pool exits, its workers die and the
     next map forks new ones (init runs again).

   SHARED MAP ROBUSTNESS (lock-free slots, no mutexes)
     Each slot has a state word (EMPTY / CLAIMING by owner / READY / DEAD)
     claimed by CAS during open addressing, a lock word (writer's owner id)
     and a value word (63-bit version, active buffer). An owner id is pid +
     process start time, so a reused pid is not mistaken for the dead owner.
     A value has two buffers: a writer takes the lock with CAS, writes the
     inactive buffer, commits by flipping the active bit and bumping the
     version in one store (wrapping to 1, never 0) and releases the lock.
     Readers never wait: they copy the active buffer and retry if the value
     word changed (a seqlock). A writer that dies mid-update leaves the
     previous committed value intact; the next writer that finds the lock
     held by a dead owner (ESRCH, exited child, zombie, or another start
     time in /proc) takes it over; without a readable /proc an owner kill()
     still finds counts as alive (never two writers at once). A process that
     dies while claiming a new slot leaves it DEAD (skipped; costs one slot
     of capacity). No operation can deadlock on a dead process. Processes
     sharing a named map must share a pid namespace.

   CONFIGURATION
     VPAR_PROCPOOL_MAX_WORKERS most workers per pool, also the limit for
                               $VPAR_NUM_WORKERS (256; <= MAX_PIDS)
     VPAR_PROCPOOL_RING        completion-ring entries per worker (1024)
     VPAR_PROCPOOL_MAX_PIDS    workers tracked for signal cleanup (1024)
     VPAR_SHMAP_MAX_NAMED      named maps tracked for signal cleanup (64)
     VPAR_PROCPOOL_ACK_MS      wait for workers to leave a finished map
                               before they are killed and replaced (10000)
     VPAR_PROCPOOL_NO_PIDFD    (defined) never use pidfds: the fallback that
                               kernels < 5.3 and seccomp filters get (tests)
     Environment: VPAR_NUM_WORKERS, an integer from 1 to
     VPAR_PROCPOOL_MAX_WORKERS (anything else: VPAR_ERR_INVALID).

   CALLING CONTEXTS
     A vpar_procpool is driven by one thread of the process that created
     it (create, map, restart, destroy: parent process only, not inside a
     task, not concurrently). vpar_procpool_interrupt: any thread or signal
     handler. vpar_procpool_worker_index: anywhere. vpar_shmap_put/update/
     get/foreach: any process or thread that has the map (workers inside
     tasks, the parent, processes that opened it by name), concurrently.
     Tasks run single-threaded in the worker (threads of the parent are not
     copied by fork; do not rely on locks other parent threads may hold).
     Linux only (fork, futex, memfd, pidfd).

   DETERMINISM
     Results and statuses are indexed by task and independent of the number
     of workers, chunk size and scheduling (for deterministic tasks). Only
     the order of vpar_procpool_map_unordered callbacks and of
     vpar_shmap_foreach (hash-slot order) varies.
*/
#ifndef VPAR_PROCPOOL_H
#define VPAR_PROCPOOL_H

#include "common.h"

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- process pool ------------------------------------------------------ */

typedef struct vpar_procpool vpar_procpool;

typedef enum vpar_task_state {
    VPAR_TASK_OK = 0,
    VPAR_TASK_ERROR,
    VPAR_TASK_SIGNAL,
    VPAR_TASK_EXIT,
    VPAR_TASK_TIMEOUT,
    VPAR_TASK_NOT_RUN,
    VPAR_TASK_LOST
} vpar_task_state;

typedef struct vpar_procpool_status {
    vpar_task_state state;
    int code;      /* ERROR: fn's value; SIGNAL/TIMEOUT: signal; EXIT: status */
    int attempts;  /* times the task was started (0 if never) */
    int worker;    /* worker slot of the last attempt, -1 if never run */
} vpar_procpool_status;

/* Runs task `index` in a worker. `result` points to result_size zeroed
   bytes in shared memory (NULL when result_size is 0). Returns 0 on
   success, any other value is the task's error code. Runs in a worker
   process. */
typedef int (*vpar_procpool_task_fn)(void *user, size_t index, void *result);

/* Runs once in each worker right after it is forked, before any task.
   `worker` is the slot in [0, workers). Non-zero = failure: pool creation
   (or the running map, for a replacement worker) fails with that code. */
typedef int (*vpar_procpool_init_fn)(void *user, int worker);

/* Called in the parent, on the thread that runs the map, as each task
   reaches its final status, in completion order. `result` (result_size
   bytes, valid during the call) holds the task's result when
   status->state == VPAR_TASK_OK. Return 0 to go on; non-zero stops the map
   (workers are stopped, remaining tasks VPAR_TASK_NOT_RUN, the map returns
   VPAR_ERR_INTERRUPTED). */
typedef int (*vpar_procpool_result_fn)(void *user, size_t index,
                                       const void *result,
                                       const vpar_procpool_status *status);

typedef struct vpar_procpool_desc {
    int workers;               /* 0: $VPAR_NUM_WORKERS if set, else online CPUs
                                  (at most VPAR_PROCPOOL_MAX_WORKERS) */
    size_t chunk;              /* tasks per claim; 0: ceil(n / (4 x workers)) */
    int timeout_ms;            /* per-task limit, also bounds `init`; 0: none */
    int retries;               /* extra attempts of a failed task; 0: none */
    int max_tasks_per_child;   /* retire a worker after this many tasks; 0: never */
    vpar_procpool_init_fn init;/* run once per worker; NULL: none */
    void *init_user;
    int keep_signals;          /* 1: never install the SIGINT/SIGTERM cleanup handler */
} vpar_procpool_desc;

/* Forks the workers; with desc->init, waits until it has run in each.
   desc NULL = defaults. Errors: VPAR_ERR_INVALID (negative fields, more
   than VPAR_PROCPOOL_MAX_WORKERS, a bad $VPAR_NUM_WORKERS), VPAR_ERR_SYSTEM
   (fork, mmap, ...), VPAR_ERR_CRASHED (a worker died while starting),
   VPAR_ERR_TIMEOUT (an initializer ran past timeout_ms), or the
   initializer's code (see FAILURE SEMANTICS), with no worker left behind.
   *out is NULL on failure. Any thread of the process; the pool is then
   driven from one thread (see CALLING CONTEXTS). */
VPAR_API vpar_status vpar_procpool_create(vpar_procpool **out,
                                          const vpar_procpool_desc *desc);

/* Stops and reaps every worker and frees the pool. NULL is a no-op.
   Parent process only, not during a map. */
VPAR_API void vpar_procpool_destroy(vpar_procpool *pp);

/* Sets the chunk size of later maps (0: ceil(n / (4 x workers))), like
   the chunksize argument of Pool.map. Parent process only, not during a
   map. */
VPAR_API void vpar_procpool_set_chunk(vpar_procpool *pp, size_t chunk);

/* Number of worker slots; 0 for NULL. Any thread. */
VPAR_API int vpar_procpool_size(const vpar_procpool *pp);

/* Pid of the worker in slot `worker` (0 if none is running). Parent. */
VPAR_API pid_t vpar_procpool_worker_pid(const vpar_procpool *pp, int worker);

/* Worker slot of the calling process: [0, workers) inside a worker, -1 in
   any other process. Anywhere. */
VPAR_API int vpar_procpool_worker_index(void);

/* Runs fn over [0, n). Results go, in task order, to `results` (n x
   result_size bytes, caller-owned; may be NULL, then results are dropped)
   and statuses to `status` (n entries or NULL). Returns VPAR_OK when every
   task succeeded (see FAILURE SEMANTICS otherwise; results and statuses
   are filled for every task either way). n == 0 returns VPAR_OK at once.
   Parent process only, not inside a task. */
VPAR_API vpar_status vpar_procpool_map(vpar_procpool *pp, size_t n,
                                       vpar_procpool_task_fn fn, void *user,
                                       void *results, size_t result_size,
                                       vpar_procpool_status *status);

/* Like vpar_procpool_map, but delivers each task to on_result in the
   parent as it finishes (completion order, with at most one chunk of
   delay). Parent process only. */
VPAR_API vpar_status vpar_procpool_map_unordered(vpar_procpool *pp, size_t n,
        vpar_procpool_task_fn fn, void *user, size_t result_size,
        vpar_procpool_result_fn on_result, void *on_result_user);

/* Stops and re-forks every worker, so that they see the parent's memory as
   it is now (after loading new data). Parent process only, not during a
   map. */
VPAR_API vpar_status vpar_procpool_restart(vpar_procpool *pp);

/* Asks the running map of `pp` to stop: workers are killed, unfinished
   tasks become VPAR_TASK_NOT_RUN and the map returns VPAR_ERR_INTERRUPTED.
   Async-signal-safe: call it from your own SIGINT handler. A request made
   while no map runs stops the next map at once. */
VPAR_API void vpar_procpool_interrupt(vpar_procpool *pp);

/* ---- shared-memory result map ------------------------------------------ */

typedef struct vpar_shmap vpar_shmap;

typedef struct vpar_shmap_desc {
    size_t capacity;     /* maximum number of keys (required, > 0) */
    size_t key_max;      /* longest key in bytes, excluding NUL; 0: 63 */
    size_t value_size;   /* bytes per value; 0: sizeof(double) */
    const char *name;    /* NULL: anonymous (inherited by fork); else a
                            POSIX shm name "/name" (see vpar_shmap_open) */
    int keep_signals;    /* 1: no SIGINT/SIGTERM cleanup handler */
} vpar_shmap_desc;

/* Creates an empty map. Named maps fail with VPAR_ERR_STATE if the name
   exists (O_EXCL), reserve their pages up front (posix_fallocate) and are
   unlinked again on any failure. Errors: VPAR_ERR_INVALID (capacity 0,
   bad name), VPAR_ERR_OVERFLOW (capacity or size too large),
   VPAR_ERR_NOSPACE (a named map does not fit in /dev/shm, or exceeds
   RLIMIT_FSIZE), VPAR_ERR_SYSTEM/VPAR_ERR_NOMEM. Any thread. */
VPAR_API vpar_status vpar_shmap_create(vpar_shmap **out,
                                       const vpar_shmap_desc *desc);

/* Attaches to a named map created by another process. VPAR_ERR_NOT_FOUND
   if there is no such name, VPAR_ERR_FORMAT if it is not a vpar map.
   Any thread. */
VPAR_API vpar_status vpar_shmap_open(vpar_shmap **out, const char *name);

/* Unmaps the map; its creator also unlinks the name of a named map.
   Workers' inherited copies of an anonymous map need no destroy. NULL is
   a no-op. Any thread, once no other thread of this process uses it. */
VPAR_API void vpar_shmap_destroy(vpar_shmap *m);

/* Inserts key or overwrites its value with `size` bytes (size <=
   value_size; the rest of the record is zeroed). VPAR_ERR_FULL when the
   key is new and the map holds `capacity` keys; VPAR_ERR_INVALID for a
   NULL/over-long key or size > value_size. Any process, concurrently. */
VPAR_API vpar_status vpar_shmap_put(vpar_shmap *m, const char *key,
                                    const void *value, size_t size);
VPAR_API vpar_status vpar_shmap_put_double(vpar_shmap *m, const char *key,
                                           double value);

/* Atomic read-modify-write of key's record: fn gets a value_size buffer
   holding the current value (zeros and existed == 0 for a new key) and
   modifies it in place; return 0 to commit it, non-zero to drop the
   change (the value stays as it was; vpar_shmap_update still returns
   VPAR_OK). Errors as for vpar_shmap_put. Concurrent
   updates of one key serialise; e.g. `*(double *)v += x` never loses an
   addition. fn runs with the key's write lock held: keep it short and
   never touch the same map inside it. Any process, concurrently. */
typedef int (*vpar_shmap_update_fn)(void *user, void *value, int existed);
VPAR_API vpar_status vpar_shmap_update(vpar_shmap *m, const char *key,
                                       vpar_shmap_update_fn fn, void *user);

/* Copies key's value (min(size, value_size) bytes) into `value`.
   VPAR_ERR_NOT_FOUND when absent. Never blocks on writers. Any process. */
VPAR_API vpar_status vpar_shmap_get(const vpar_shmap *m, const char *key,
                                    void *value, size_t size);
VPAR_API vpar_status vpar_shmap_get_double(const vpar_shmap *m,
                                           const char *key, double *value);

/* Number of keys with a committed value. Any process. */
VPAR_API size_t vpar_shmap_count(const vpar_shmap *m);
VPAR_API size_t vpar_shmap_capacity(const vpar_shmap *m);
VPAR_API size_t vpar_shmap_value_size(const vpar_shmap *m);

/* Calls fn(user, key, value, value_size) for every key with a committed
   value, in slot order, with a consistent copy of each value. A non-zero
   return stops the walk and is returned (VPAR_OK otherwise). Keys written
   concurrently may or may not be visited. Any process. */
typedef int (*vpar_shmap_visit_fn)(void *user, const char *key,
                                   const void *value, size_t size);
VPAR_API int vpar_shmap_foreach(const vpar_shmap *m, vpar_shmap_visit_fn fn,
                                void *user);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_PROCPOOL_H */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if defined(VPAR_IMPLEMENTATION) && !defined(VPAR_PROCPOOL_IMPLEMENTED)
#define VPAR_PROCPOOL_IMPLEMENTED

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef VPAR_PROCPOOL_RING
#  define VPAR_PROCPOOL_RING 1024
#endif
#ifndef VPAR_PROCPOOL_MAX_PIDS
#  define VPAR_PROCPOOL_MAX_PIDS 1024
#endif
#ifndef VPAR_SHMAP_MAX_NAMED
#  define VPAR_SHMAP_MAX_NAMED 64
#endif
#ifndef VPAR_PROCPOOL_MAX_WORKERS
#  define VPAR_PROCPOOL_MAX_WORKERS 256
#endif
#ifndef VPAR_PROCPOOL_ACK_MS
#  define VPAR_PROCPOOL_ACK_MS 10000
#endif
_Static_assert(VPAR_PROCPOOL_MAX_WORKERS >= 1 && VPAR_PROCPOOL_MAX_WORKERS <= VPAR_PROCPOOL_MAX_PIDS,
               "every worker must fit in the signal-cleanup registry (VPAR_PROCPOOL_MAX_PIDS)");

/* ---- small helpers ------------------------------------------------------ */

static int vpar__pp_self = -1;  /* worker slot in a worker, -1 elsewhere */

static void vpar__futex_wait(_Atomic uint32_t *addr, uint32_t val,
                             const struct timespec *ts) {
    /* Not FUTEX_PRIVATE: the word lives in memory shared between processes. */
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, val, ts, NULL, 0);
}

static void vpar__futex_wake(_Atomic uint32_t *addr) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void vpar__copy_str(char *dst, size_t cap, const char *src) {
    size_t l = strnlen(src, cap - 1);
    memcpy(dst, src, l);
    dst[l] = '\0';
}

static int64_t vpar__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void vpar__cpu_relax(unsigned spins) {
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
    } else {
        sched_yield();
    }
}

/* ---- process identity ---------------------------------------------------- */
/* A lock or a claimed slot names its owner by pid AND start time (clock
   ticks since boot, /proc/<pid>/stat field 22), so that a dead owner whose
   pid was reused is recognised, and by nothing else: when /proc cannot be
   read (not mounted, hidepid) the start time is 0 ("unknown") and a pid
   that kill() still finds counts as alive. An owner id is 62 bits: pid in
   bits 0-21 (Linux pids are < 2^22), the low 40 bits of the start time in
   bits 22-61. */
#define VPAR__ID_PID_BITS 22
#define VPAR__ID_PID_MASK ((UINT64_C(1) << VPAR__ID_PID_BITS) - 1)
#define VPAR__ID_START_MASK ((UINT64_C(1) << 40) - 1)

/* Start time of `pid` in clock ticks and its state letter; 0 when /proc
   cannot tell. */
static uint64_t vpar__proc_stat(pid_t pid, char *state) {
    char path[64], buf[1024];
    if (state) *state = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) return 0;
    buf[len] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || p[2] == '\0') return 0;
    if (state) *state = p[2];
    p += 2;  /* field 3, the state */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) return 0;
        p++;
    }
    return strtoull(p, NULL, 10);
}

static uint64_t vpar__proc_start_ticks(pid_t pid) { return vpar__proc_stat(pid, NULL); }

static uint64_t vpar__owner_id(pid_t pid, uint64_t start) {
    return ((start & VPAR__ID_START_MASK) << VPAR__ID_PID_BITS) | ((uint64_t)pid & VPAR__ID_PID_MASK);
}

/* This process's owner id (cached; recomputed after fork). */
static _Atomic uint64_t vpar__self_id_cache;
static uint64_t vpar__self_id(void) {
    pid_t me = getpid();
    uint64_t id = atomic_load_explicit(&vpar__self_id_cache, memory_order_relaxed);
    if (id && (id & VPAR__ID_PID_MASK) == ((uint64_t)me & VPAR__ID_PID_MASK)) return id;
    id = vpar__owner_id(me, vpar__proc_start_ticks(me));
    atomic_store_explicit(&vpar__self_id_cache, id, memory_order_relaxed);
    return id;
}

/* 1 when the owner `id` is gone, a zombie, or its pid now belongs to a
   later process: a lock it holds will never be released. */
static int vpar__owner_dead(uint64_t id) {
    pid_t pid = (pid_t)(id & VPAR__ID_PID_MASK);
    uint64_t start = (id >> VPAR__ID_PID_BITS) & VPAR__ID_START_MASK;
    if (pid == 0) return 1;
    if (kill(pid, 0) != 0 && errno == ESRCH) return 1;
    /* Our own child that died and is not reaped yet (works without /proc). */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) return 1;
    char state;
    uint64_t now = vpar__proc_stat(pid, &state);
    if (state == 'Z' || state == 'X') return 1;
    if (now == 0) return 0;  /* /proc cannot tell: kill() found it, so alive */
    return start != 0 && (now & VPAR__ID_START_MASK) != start;
}

/* ---- signal cleanup registry ------------------------------------------- */
/* Fixed arrays of atomics so that the handler can walk them without locks. */

/* Entries carry the registering process: a child forked by the program
   (not a worker) inherits these arrays and the handler, and must not kill
   its parent's workers or unlink its parent's maps. */
static _Atomic uint64_t vpar__pp_pid_reg[VPAR_PROCPOOL_MAX_PIDS];  /* owner << 32 | pid */
typedef struct vpar__shm_reg_entry {
    _Atomic int state;  /* 0 free, 1 being written, 2 holds a name */
    int owner;
    char name[256];
    char path[272];     /* "/dev/shm/name": the handler calls unlink(), which is
                           async-signal-safe (shm_unlink is not listed as such) */
} vpar__shm_reg_entry;
static vpar__shm_reg_entry vpar__shm_reg[VPAR_SHMAP_MAX_NAMED];

static uint64_t vpar__pp_reg_word(pid_t pid) {
    return ((uint64_t)(uint32_t)getpid() << 32) | (uint32_t)pid;
}

static void vpar__pp_register_pid(pid_t pid) {
    uint64_t want = vpar__pp_reg_word(pid);
    for (int i = 0; i < VPAR_PROCPOOL_MAX_PIDS; i++) {
        uint64_t cur = atomic_load_explicit(&vpar__pp_pid_reg[i], memory_order_relaxed);
        /* Free, or a stale entry inherited from the process that forked us. */
        if (cur != 0 && (uint32_t)(cur >> 32) == (uint32_t)getpid()) continue;
        if (atomic_compare_exchange_strong_explicit(&vpar__pp_pid_reg[i], &cur, want,
                memory_order_acq_rel, memory_order_relaxed))
            return;
    }
}

static void vpar__pp_unregister_pid(pid_t pid) {
    uint64_t want = vpar__pp_reg_word(pid);
    for (int i = 0; i < VPAR_PROCPOOL_MAX_PIDS; i++) {
        uint64_t cur = want;
        if (atomic_compare_exchange_strong_explicit(&vpar__pp_pid_reg[i], &cur, 0,
                memory_order_acq_rel, memory_order_relaxed))
            return;
    }
}

static void vpar__shm_register(const char *name) {
    for (int i = 0; i < VPAR_SHMAP_MAX_NAMED; i++) {
        int cur = atomic_load_explicit(&vpar__shm_reg[i].state, memory_order_acquire);
        /* Free, or a stale entry inherited from the process that forked us. */
        if (cur != 0 && !(cur == 2 && vpar__shm_reg[i].owner != (int)getpid())) continue;
        if (atomic_compare_exchange_strong_explicit(&vpar__shm_reg[i].state, &cur, 1,
                memory_order_acq_rel, memory_order_relaxed)) {
            vpar__shm_reg[i].owner = (int)getpid();
            vpar__copy_str(vpar__shm_reg[i].name, sizeof vpar__shm_reg[i].name, name);
            snprintf(vpar__shm_reg[i].path, sizeof vpar__shm_reg[i].path, "/dev/shm%s", name);
            atomic_store_explicit(&vpar__shm_reg[i].state, 2, memory_order_release);
            return;
        }
    }
}

static void vpar__shm_unregister(const char *name) {
    for (int i = 0; i < VPAR_SHMAP_MAX_NAMED; i++) {
        if (atomic_load_explicit(&vpar__shm_reg[i].state, memory_order_acquire) == 2 &&
            vpar__shm_reg[i].owner == (int)getpid() && strcmp(vpar__shm_reg[i].name, name) == 0) {
            atomic_store_explicit(&vpar__shm_reg[i].state, 0, memory_order_release);
            return;
        }
    }
}

/* Kills this process's workers, reaps them (for at most about 2 s in all:
   a worker stuck in uninterruptible sleep must not hold the caller, and
   init reaps what is left once we are gone) and unlinks the named maps
   this process created. Only async-signal-safe calls (kill, waitpid,
   nanosleep, unlink). Runs from the fatal-signal handler and at exit(). */
static void vpar__cleanup_process(void) {
    uint32_t self = (uint32_t)getpid();
    if (vpar__pp_self >= 0) return;  /* a worker: the parent owns cleanup */
    for (int i = 0; i < VPAR_PROCPOOL_MAX_PIDS; i++) {
        uint64_t e = atomic_load_explicit(&vpar__pp_pid_reg[i], memory_order_acquire);
        if (e && (uint32_t)(e >> 32) == self) kill((pid_t)(uint32_t)e, SIGKILL);
    }
    int budget_ms = 2000;
    for (int i = 0; i < VPAR_PROCPOOL_MAX_PIDS; i++) {
        uint64_t e = atomic_load_explicit(&vpar__pp_pid_reg[i], memory_order_acquire);
        if (!e || (uint32_t)(e >> 32) != self) continue;
        atomic_store_explicit(&vpar__pp_pid_reg[i], 0, memory_order_release);
        for (;;) {
            pid_t r = waitpid((pid_t)(uint32_t)e, NULL, WNOHANG);
            if (r != 0 && !(r < 0 && errno == EINTR)) break;  /* reaped, or not ours (ECHILD) */
            if (budget_ms <= 0) break;
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            budget_ms--;
        }
    }
    for (int i = 0; i < VPAR_SHMAP_MAX_NAMED; i++)
        if (atomic_load_explicit(&vpar__shm_reg[i].state, memory_order_acquire) == 2 &&
            vpar__shm_reg[i].owner == (int)self) {
            unlink(vpar__shm_reg[i].path);
            atomic_store_explicit(&vpar__shm_reg[i].state, 0, memory_order_release);
        }
}

static void vpar__on_fatal_signal(int sig) {
    int saved = errno;
    vpar__cleanup_process();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    raise(sig);  /* pending until the handler returns, then fatal */
    errno = saved;
}

/* Signals whose default action ends the process and that a program
   commonly receives: Ctrl-C, kill, a closed terminal, abort() (assert), a
   closed pipe, Ctrl-\. */
static const int vpar__cleanup_sigs[6] = {SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGPIPE, SIGQUIT};

static void vpar__at_exit(void) { vpar__cleanup_process(); }

/* exit() without destroy: the same cleanup, once per process. */
static void vpar__install_exit_cleanup(void) {
    static _Atomic int installed;
    int expected = 0;
    if (atomic_compare_exchange_strong(&installed, &expected, 1)) atexit(vpar__at_exit);
}

/* Checked at every pool/named-map creation, as documented: a disposition
   reset to SIG_DFL since an earlier creation gets the handler again. */
static void vpar__install_signal_cleanup(void) {
    const int *sigs = vpar__cleanup_sigs;
    for (int k = 0; k < 6; k++) {
        struct sigaction old;
        if (sigaction(sigs[k], NULL, &old) != 0) continue;
        if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = vpar__on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[k], &sa, NULL);
    }
}

/* ---- process pool: shared layout ---------------------------------------- */

enum { VPAR__CMD_IDLE = 0, VPAR__CMD_RUN = 1, VPAR__CMD_EXIT = 2 };
enum { VPAR__W_STARTING = 0, VPAR__W_READY, VPAR__W_INIT_FAILED, VPAR__W_RETIRED };
/* Task state word: kind in the low byte, owning worker slot above it. */
enum { VPAR__T_PENDING = 0, VPAR__T_RUNNING = 1, VPAR__T_DONE = 2, VPAR__T_FAILED = 3 };
#define VPAR__T_KIND(s) ((s) & 0xffu)
#define VPAR__T_OWNER(s) ((int)((s) >> 8))
#define VPAR__NEXT_TAG_SHIFT 48
#define VPAR__NEXT_IDX_MASK ((UINT64_C(1) << VPAR__NEXT_TAG_SHIFT) - 1)

typedef struct vpar__pp_task {
    _Atomic uint32_t state;
    int32_t code;   /* fn's return value of the last attempt (owner writes) */
    int32_t tries;  /* attempts started so far */
    int32_t pad;
} vpar__pp_task;

typedef struct vpar__pp_worker {
    /* written by the worker */
    _Alignas(VPAR_CACHE_LINE) _Atomic uint64_t tail;  /* ring entries published */
    _Atomic uint64_t cur;         /* task index + 1 being run, 0 when none */
    _Atomic int64_t cur_start;    /* monotonic ns at which cur started */
    _Atomic uint32_t state;       /* VPAR__W_* */
    _Atomic int32_t init_code;
    _Atomic uint32_t ack;         /* last map id this worker has left */
    _Atomic uint32_t ring_wait;   /* 1 while blocked on a full ring */
    _Atomic uint32_t idle;        /* 1 while out of work in the running map */
    _Atomic int64_t err_task;     /* lowest failed task of this map, -1 */
    char err_msg[256];            /* its vpar_last_error() text */
    /* written by the parent */
    _Alignas(VPAR_CACHE_LINE) _Atomic uint64_t head;
    _Atomic uint32_t head_futex;  /* bumped when head moves and the worker waits */
    _Alignas(VPAR_CACHE_LINE) uint64_t ring[VPAR_PROCPOOL_RING];
} vpar__pp_worker;

typedef struct vpar__pp_mapinfo {
    vpar_procpool_task_fn fn;
    void *user;
    uint64_t n, chunk, result_size, results_off, region_bytes;
    uint32_t start_epoch;
    int32_t retries, max_tasks, timed, unordered;
} vpar__pp_mapinfo;

typedef struct vpar__pp_shared {
    _Alignas(VPAR_CACHE_LINE) _Atomic uint64_t next;  /* map tag << 48 | next index */
    _Alignas(VPAR_CACHE_LINE) _Atomic uint32_t epoch; /* futex: workers sleep here */
    _Atomic uint32_t run;        /* map id << 2 | VPAR__CMD_* */
    vpar__pp_mapinfo map;        /* published by the release store of `run` */
    _Alignas(VPAR_CACHE_LINE) _Atomic uint32_t parent_sleeping;
} vpar__pp_shared;

_Static_assert(sizeof(vpar__pp_worker) % VPAR_CACHE_LINE == 0,
               "per-worker blocks must not share cache lines");

struct vpar_procpool {
    vpar_procpool_desc desc;
    int nworkers;
    pid_t parent_pid;
    vpar__pp_shared *sh;
    vpar__pp_worker *w;
    size_t sh_bytes;
    int memfd;              /* per-map region: task states + results */
    unsigned char *region;
    size_t region_bytes;
    int efd;                /* workers write here to wake the parent */
    pid_t *pids;
    int *pidfds;
    int *killed;            /* 1: parent SIGKILLed this worker for a timeout */
    uint64_t *kill_task;    /* the task it was killed for; UINT64_MAX: its initializer */
    struct pollfd *pfds;    /* nworkers + 1 entries for vpar__pp_sleep */
    uint32_t map_id;        /* id of the last map started */
    _Atomic int interrupt;
};

static vpar__pp_task *vpar__pp_tasks(unsigned char *region) {
    return (vpar__pp_task *)(void *)region;
}

/* ---- worker side -------------------------------------------------------- */

static void vpar__pp_wake_parent(vpar_procpool *pp) {
    if (atomic_exchange_explicit(&pp->sh->parent_sleeping, 0, memory_order_seq_cst)) {
        uint64_t one = 1;
        ssize_t r = write(pp->efd, &one, sizeof one);
        (void)r;  /* EAGAIN: the counter is already non-zero, the parent wakes */
    }
}

static void vpar__pp_push(vpar_procpool *pp, vpar__pp_worker *me, uint64_t index) {
    uint64_t t = atomic_load_explicit(&me->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&me->head, memory_order_acquire);
    while (t - h >= VPAR_PROCPOOL_RING) {
        /* Full: wait for the parent to drain (Dekker with the parent's
           seq_cst head store and ring_wait load). */
        atomic_store_explicit(&me->ring_wait, 1, memory_order_seq_cst);
        uint32_t hf = atomic_load_explicit(&me->head_futex, memory_order_seq_cst);
        h = atomic_load_explicit(&me->head, memory_order_seq_cst);
        if (t - h >= VPAR_PROCPOOL_RING) {
            vpar__pp_wake_parent(pp);
            vpar__futex_wait(&me->head_futex, hf, NULL);
            h = atomic_load_explicit(&me->head, memory_order_acquire);
        }
        atomic_store_explicit(&me->ring_wait, 0, memory_order_relaxed);
    }
    me->ring[t % VPAR_PROCPOOL_RING] = index;
    atomic_store_explicit(&me->tail, t + 1, memory_order_seq_cst);
    if (t + 1 - h >= VPAR_PROCPOOL_RING / 2) vpar__pp_wake_parent(pp);
}

/* Runs task i, already claimed (state RUNNING|w). */
static void vpar__pp_run_task(vpar_procpool *pp, int w, const vpar__pp_mapinfo *mi,
                              unsigned char *region, uint64_t i) {
    vpar__pp_worker *me = &pp->w[w];
    vpar__pp_task *t = &vpar__pp_tasks(region)[i];
    unsigned char *res = mi->result_size
        ? region + mi->results_off + i * mi->result_size : NULL;
    int rc;
    for (;;) {
        t->tries++;
        if (mi->timed)
            atomic_store_explicit(&me->cur_start, vpar__now_ns(), memory_order_relaxed);
        atomic_store_explicit(&me->cur, i + 1, memory_order_release);
        vpar_clear_error();  /* a failing task's detail must be its own */
        rc = mi->fn(mi->user, (size_t)i, res);
        if (rc == 0 || t->tries > mi->retries) break;
        if (res) memset(res, 0, mi->result_size);
    }
    t->code = rc;
    if (rc != 0) {
        /* Keep the detail of this worker's lowest failed task: the map
           reports the lowest failed index. */
        int64_t prev = atomic_load_explicit(&me->err_task, memory_order_relaxed);
        if (prev < 0 || (uint64_t)prev > i) {
            atomic_store_explicit(&me->err_task, -1, memory_order_relaxed);
            vpar__copy_str(me->err_msg, sizeof me->err_msg, vpar_last_error());
            atomic_store_explicit(&me->err_task, (int64_t)i, memory_order_release);
        }
    }
    atomic_store_explicit(&t->state,
        (uint32_t)(rc == 0 ? VPAR__T_DONE : VPAR__T_FAILED) | ((uint32_t)w << 8),
        memory_order_release);
    atomic_store_explicit(&me->cur, 0, memory_order_relaxed);
    vpar__pp_push(pp, me, i);
}

/* Claims task i by CAS and runs it. Returns 1 if it ran. */
static int vpar__pp_try_task(vpar_procpool *pp, int w, const vpar__pp_mapinfo *mi,
                             unsigned char *region, uint64_t i) {
    vpar__pp_task *t = &vpar__pp_tasks(region)[i];
    uint32_t pending = VPAR__T_PENDING;
    if (!atomic_compare_exchange_strong_explicit(&t->state, &pending,
            (uint32_t)VPAR__T_RUNNING | ((uint32_t)w << 8),
            memory_order_acq_rel, memory_order_relaxed))
        return 0;
    vpar__pp_run_task(pp, w, mi, region, i);
    return 1;
}

__attribute__((noreturn))
static void vpar__pp_retire(vpar_procpool *pp, int w) {
    atomic_store_explicit(&pp->w[w].state, VPAR__W_RETIRED, memory_order_release);
    vpar__pp_wake_parent(pp);
    _exit(0);
}

/* Worker start, part 1: signal dispositions and mask, parent-death signal,
   and none of the parent's pidfds. */
static void vpar__pp_worker_setup(vpar_procpool *pp) {
    /* The parent owns Ctrl-C; our cleanup handler must never run here. */
    signal(SIGINT, SIG_IGN);
    for (int k = 0; k < 6; k++) {
        struct sigaction old;
        if (sigaction(vpar__cleanup_sigs[k], NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
            old.sa_handler == vpar__on_fatal_signal)
            signal(vpar__cleanup_sigs[k], SIG_DFL);
    }
    /* A pool created on a thread that blocks signals (e.g. inside a
       vpar_pool task, whose threads block everything) must not hand that
       mask to its workers: they would ignore SIGTERM and friends. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != pp->parent_pid) _exit(0);  /* parent died before prctl */
    for (int k = 0; k < pp->nworkers; k++)
        if (pp->pidfds[k] >= 0) { close(pp->pidfds[k]); pp->pidfds[k] = -1; }
}

/* Worker start, part 2: runs the initializer (exits if it fails) and
   reports READY. */
static void vpar__pp_worker_init(vpar_procpool *pp, int w) {
    vpar__pp_worker *me = &pp->w[w];
    if (pp->desc.init) {
        /* The initializer's clock starts here, not at fork: a slow fork
           (big parent, sanitizers, a loaded machine) is not its fault. */
        atomic_store_explicit(&me->cur_start, vpar__now_ns(), memory_order_release);
        int rc = pp->desc.init(pp->desc.init_user, w);
        if (rc != 0) {
            atomic_store_explicit(&me->init_code, rc, memory_order_relaxed);
            atomic_store_explicit(&me->state, VPAR__W_INIT_FAILED, memory_order_release);
            vpar__pp_wake_parent(pp);
            _exit(1);
        }
    }
    atomic_store_explicit(&me->state, VPAR__W_READY, memory_order_seq_cst);  /* see vpar__pp_owes_ack */
    vpar__pp_wake_parent(pp);
}

/* A new map (id m, described by *mi): maps a grown task region, then runs
   chunks claimed from the shared counter until none is left. *ran counts
   the tasks this worker ran (max_tasks). */
static void vpar__pp_worker_run_chunks(vpar_procpool *pp, int w, uint32_t m,
                                       const vpar__pp_mapinfo *mi, long *ran) {
    vpar__pp_shared *sh = pp->sh;
    if (mi->region_bytes > pp->region_bytes) {
        void *p = mmap(NULL, mi->region_bytes, PROT_READ | PROT_WRITE,
                       MAP_SHARED, pp->memfd, 0);
        if (p == MAP_FAILED) _exit(120);  /* reported as a crash */
        if (pp->region) munmap(pp->region, pp->region_bytes);
        pp->region = (unsigned char *)p;
        pp->region_bytes = mi->region_bytes;
    }
    /* Chunks from the shared counter; the tag guards against a
       stale claim landing in a later map. */
    uint64_t tag = (uint64_t)(m & 0xffffu) << VPAR__NEXT_TAG_SHIFT;
    uint64_t v = atomic_load_explicit(&sh->next, memory_order_relaxed);
    for (;;) {
        if ((v & ~VPAR__NEXT_IDX_MASK) != tag) break;
        uint64_t b = v & VPAR__NEXT_IDX_MASK;
        if (b >= mi->n) break;
        uint64_t end = mi->n - b > mi->chunk ? b + mi->chunk : mi->n;
        if (!atomic_compare_exchange_weak_explicit(&sh->next, &v, tag | end,
                memory_order_acq_rel, memory_order_relaxed))
            continue;
        for (uint64_t i = b; i < end; i++) {
            if (mi->max_tasks > 0 && *ran >= mi->max_tasks) vpar__pp_retire(pp, w);
            *ran += vpar__pp_try_task(pp, w, mi, pp->region, i);
        }
        if (mi->unordered) vpar__pp_wake_parent(pp);
        v = atomic_load_explicit(&sh->next, memory_order_relaxed);
    }
}

/* Something was requeued (a worker died or retired): picks up every task
   of the current map still pending. */
static void vpar__pp_worker_rescan(vpar_procpool *pp, int w, const vpar__pp_mapinfo *mi,
                                   long *ran) {
    for (uint64_t i = 0; i < mi->n; i++) {
        if (atomic_load_explicit(&vpar__pp_tasks(pp->region)[i].state,
                                 memory_order_relaxed) != VPAR__T_PENDING)
            continue;
        if (mi->max_tasks > 0 && *ran >= mi->max_tasks) vpar__pp_retire(pp, w);
        if (vpar__pp_try_task(pp, w, mi, pp->region, i)) {
            (*ran)++;
            if (mi->unordered) vpar__pp_wake_parent(pp);
        }
    }
}

__attribute__((noreturn))
static void vpar__pp_worker_main(vpar_procpool *pp, int w) {
    vpar__pp_shared *sh = pp->sh;
    vpar__pp_worker *me = &pp->w[w];
    vpar__pp_self = w;
    vpar__pp_worker_setup(pp);
    vpar__pp_worker_init(pp, w);

    uint32_t cur_map = 0, scanned = 0;
    int in_map = 0;
    long ran = 0;
    vpar__pp_mapinfo mi;
    memset(&mi, 0, sizeof mi);
    for (;;) {
        uint32_t e = atomic_load_explicit(&sh->epoch, memory_order_acquire);
        uint32_t r = atomic_load_explicit(&sh->run, memory_order_seq_cst);
        uint32_t cmd = r & 3u, m = r >> 2;
        if (cmd == VPAR__CMD_EXIT) _exit(0);
        if (cmd == VPAR__CMD_RUN) {
            if (!in_map || m != cur_map || e != scanned)
                atomic_store_explicit(&me->idle, 0, memory_order_relaxed);
            if (!in_map || m != cur_map) {
                in_map = 1;
                cur_map = m;
                mi = sh->map;
                scanned = mi.start_epoch;
                vpar__pp_worker_run_chunks(pp, w, m, &mi, &ran);
                continue;
            }
            if (e != scanned) {
                scanned = e;
                vpar__pp_worker_rescan(pp, w, &mi, &ran);
                continue;
            }
            /* Idle in this map: the parent may now collect our last results. */
            atomic_store_explicit(&me->idle, 1, memory_order_seq_cst);
            vpar__pp_wake_parent(pp);
        } else {
            in_map = 0;
            if (atomic_load_explicit(&me->ack, memory_order_relaxed) != m) {
                atomic_store_explicit(&me->ack, m, memory_order_release);
                vpar__pp_wake_parent(pp);
            }
        }
        vpar__futex_wait(&sh->epoch, e, NULL);
    }
}

/* ---- parent side -------------------------------------------------------- */

static void vpar__pp_bump_epoch(vpar_procpool *pp) {
    atomic_fetch_add_explicit(&pp->sh->epoch, 1, memory_order_acq_rel);
    vpar__futex_wake(&pp->sh->epoch);
}

static vpar_status vpar__pp_spawn(vpar_procpool *pp, int w, const char *who) {
    vpar__pp_worker *me = &pp->w[w];
    atomic_store_explicit(&me->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&me->head, 0, memory_order_relaxed);
    atomic_store_explicit(&me->cur, 0, memory_order_relaxed);
    atomic_store_explicit(&me->cur_start, 0, memory_order_relaxed);
    atomic_store_explicit(&me->ring_wait, 0, memory_order_relaxed);
    atomic_store_explicit(&me->idle, 0, memory_order_relaxed);
    atomic_store_explicit(&me->init_code, 0, memory_order_relaxed);
    atomic_store_explicit(&me->ack, pp->map_id - 1u, memory_order_relaxed);
    atomic_store_explicit(&me->err_task, -1, memory_order_relaxed);
    atomic_store_explicit(&me->state, VPAR__W_STARTING, memory_order_release);
    pp->killed[w] = 0;
    pid_t pid = fork();
    if (pid < 0) return vpar_fail_errno(VPAR_ERR_SYSTEM, errno, "%s: fork of worker %d failed", who, w);
    if (pid == 0) vpar__pp_worker_main(pp, w);
    pp->pids[w] = pid;
    vpar__pp_register_pid(pid);
#if defined(SYS_pidfd_open) && !defined(VPAR_PROCPOOL_NO_PIDFD)
    pp->pidfds[w] = (int)syscall(SYS_pidfd_open, pid, 0);
#else
    pp->pidfds[w] = -1;
#endif
    return VPAR_OK;
}

/* Sleeps until a worker writes the eventfd, a worker dies, or timeout_ms. */
static void vpar__pp_sleep(vpar_procpool *pp, int timeout_ms) {
    struct pollfd *fds = pp->pfds;
    int nf = 0, all_pidfds = 1;
    fds[nf].fd = pp->efd;
    fds[nf].events = POLLIN;
    nf++;
    for (int k = 0; k < pp->nworkers; k++) {
        if (pp->pids[k] <= 0) continue;
        if (pp->pidfds[k] < 0) { all_pidfds = 0; continue; }
        fds[nf].fd = pp->pidfds[k];
        fds[nf].events = POLLIN;
        nf++;
    }
    /* Without pidfds a death is noticed by polling waitpid. */
    int cap = all_pidfds ? 1000 : 10;
    if (timeout_ms < 0 || timeout_ms > cap) timeout_ms = cap;
    poll(fds, (nfds_t)nf, timeout_ms);
    uint64_t v;
    ssize_t r = read(pp->efd, &v, sizeof v);
    (void)r;
}

/* Blocks until `pred(pp, arg)` holds, reaping dead workers via `on_death`. */
typedef struct vpar__pp_mapctx vpar__pp_mapctx;
static void vpar__pp_on_death(vpar_procpool *pp, vpar__pp_mapctx *ctx, int w, int wstatus);

/* Wait status of a worker whose status could not be collected: the
   process ignores SIGCHLD (or sets SA_NOCLDWAIT), so the kernel reaped it
   and waitpid says ECHILD. Not a value waitpid can produce. */
#define VPAR__WST_LOST (-1)

static int vpar__pp_reap(vpar_procpool *pp, vpar__pp_mapctx *ctx) {
    int any = 0;
    for (int k = 0; k < pp->nworkers; k++) {
        if (pp->pids[k] <= 0) continue;
        int st = 0;
        pid_t r = waitpid(pp->pids[k], &st, WNOHANG);
        if (r == 0) continue;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) st = VPAR__WST_LOST;  /* ECHILD: the kernel reaped it (SIGCHLD ignored) */
        vpar__pp_on_death(pp, ctx, k, st);
        any = 1;
    }
    return any;
}

static void vpar__pp_forget(vpar_procpool *pp, int w) {
    vpar__pp_unregister_pid(pp->pids[w]);
    pp->pids[w] = 0;
    if (pp->pidfds[w] >= 0) close(pp->pidfds[w]);
    pp->pidfds[w] = -1;
}

/* Stops workers without a map running: EXIT, then SIGKILL stragglers. */
static void vpar__pp_stop_all(vpar_procpool *pp, int force) {
    atomic_store_explicit(&pp->sh->run, (pp->map_id << 2) | VPAR__CMD_EXIT, memory_order_release);
    vpar__pp_bump_epoch(pp);
    for (int k = 0; k < pp->nworkers; k++) {
        if (pp->pids[k] <= 0) continue;
        if (force) {
            kill(pp->pids[k], SIGKILL);
        } else if (pp->pidfds[k] >= 0) {
            struct pollfd pf = {pp->pidfds[k], POLLIN, 0};
            if (poll(&pf, 1, 2000) == 0) kill(pp->pids[k], SIGKILL);
        } else {
            /* No pidfd (kernel < 5.3, seccomp): poll waitpid for the same
               2 s, then SIGKILL, so that a stuck worker never hangs us. */
            int64_t end = vpar__now_ns() + INT64_C(2000000000);
            for (;;) {
                pid_t r = waitpid(pp->pids[k], NULL, WNOHANG);
                if (r == pp->pids[k] || (r < 0 && errno != EINTR)) break;
                if (vpar__now_ns() > end) { kill(pp->pids[k], SIGKILL); break; }
                struct timespec ts = {0, 2000000};
                nanosleep(&ts, NULL);
            }
        }
        /* ECHILD (already reaped above, or SIGCHLD ignored) ends the wait. */
        while (waitpid(pp->pids[k], NULL, 0) < 0 && errno == EINTR) {}
        vpar__pp_forget(pp, k);
    }
    atomic_store_explicit(&pp->sh->run, (pp->map_id << 2) | VPAR__CMD_IDLE, memory_order_release);
}

/* Forks every missing worker and waits until all are ready (each
   initializer bounded by timeout_ms when that is set). */
static vpar_status vpar__pp_start_all(vpar_procpool *pp, const char *who) {
    for (int k = 0; k < pp->nworkers; k++) {
        if (pp->pids[k] > 0) continue;
        vpar_status s = vpar__pp_spawn(pp, k, who);
        if (s != VPAR_OK) { vpar__pp_stop_all(pp, 1); return s; }
    }
    /* Without an initializer nothing can fail before the first task, and a
       worker that dies anyway is replaced by the map: do not wait. */
    if (!pp->desc.init) return VPAR_OK;
    for (;;) {
        int waiting = 0;
        for (int k = 0; k < pp->nworkers; k++) {
            uint32_t st = atomic_load_explicit(&pp->w[k].state, memory_order_acquire);
            if (st == VPAR__W_INIT_FAILED) {
                int code = atomic_load_explicit(&pp->w[k].init_code, memory_order_relaxed);
                vpar__pp_stop_all(pp, 1);
                vpar_status s = (code > 0 && code < VPAR_STATUS_COUNT) ? (vpar_status)code
                                                                       : VPAR_ERR_STATE;
                return vpar_fail(s, "%s: initializer failed in worker %d with code %d", who, k, code);
            }
            if (st == VPAR__W_STARTING) {
                int wst = 0;
                pid_t r = waitpid(pp->pids[k], &wst, WNOHANG);
                if (r == pp->pids[k] || (r < 0 && errno == ECHILD)) {
                    vpar__pp_forget(pp, k);
                    vpar__pp_stop_all(pp, 1);
                    if (r < 0)
                        return vpar_fail(VPAR_ERR_CRASHED, "%s: worker %d died while starting (exit status "
                                         "lost: this process ignores SIGCHLD)", who, k);
                    if (WIFSIGNALED(wst))
                        return vpar_fail(VPAR_ERR_CRASHED, "%s: worker %d died from signal %d (%s) while starting",
                                         who, k, WTERMSIG(wst), strsignal(WTERMSIG(wst)));
                    return vpar_fail(VPAR_ERR_CRASHED, "%s: worker %d exited with status %d while starting",
                                     who, k, WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
                }
                int64_t init_start = atomic_load_explicit(&pp->w[k].cur_start, memory_order_acquire);
                if (pp->desc.timeout_ms > 0 && init_start != 0 &&
                    vpar__now_ns() - init_start > (int64_t)pp->desc.timeout_ms * 1000000) {
                    vpar__pp_stop_all(pp, 1);
                    return vpar_fail(VPAR_ERR_TIMEOUT, "%s: initializer of worker %d ran longer than %d ms (timeout_ms)",
                                     who, k, pp->desc.timeout_ms);
                }
                waiting = 1;
            } else if (pp->pids[k] > 0) {
                /* Ready, then killed from outside while others still start:
                   forget it (the next map replaces it); its readable pidfd
                   would otherwise turn the sleep below into a busy loop. */
                pid_t r = waitpid(pp->pids[k], NULL, WNOHANG);
                if (r == pp->pids[k] || (r < 0 && errno == ECHILD)) vpar__pp_forget(pp, k);
            }
        }
        if (!waiting) return VPAR_OK;
        atomic_store_explicit(&pp->sh->parent_sleeping, 1, memory_order_seq_cst);
        int still = 0;
        for (int k = 0; k < pp->nworkers; k++)
            if (atomic_load_explicit(&pp->w[k].state, memory_order_seq_cst) == VPAR__W_STARTING) still = 1;
        if (still) vpar__pp_sleep(pp, 100);
        atomic_store_explicit(&pp->sh->parent_sleeping, 0, memory_order_seq_cst);
    }
}

VPAR_API int vpar_procpool_worker_index(void) { return vpar__pp_self; }

VPAR_API int vpar_procpool_size(const vpar_procpool *pp) { return pp ? pp->nworkers : 0; }

VPAR_API void vpar_procpool_set_chunk(vpar_procpool *pp, size_t chunk) {
    if (pp) pp->desc.chunk = chunk;
}

VPAR_API pid_t vpar_procpool_worker_pid(const vpar_procpool *pp, int worker) {
    if (!pp || worker < 0 || worker >= pp->nworkers) return 0;
    return pp->pids[worker] > 0 ? pp->pids[worker] : 0;
}

VPAR_API void vpar_procpool_interrupt(vpar_procpool *pp) {
    if (!pp) return;
    int saved = errno;
    atomic_store_explicit(&pp->interrupt, 1, memory_order_release);
    uint64_t one = 1;
    ssize_t r = write(pp->efd, &one, sizeof one);
    (void)r;
    errno = saved;
}

VPAR_API void vpar_procpool_destroy(vpar_procpool *pp) {
    if (!pp) return;
    if (getpid() == pp->parent_pid) {
        vpar__pp_stop_all(pp, 0);
        if (pp->region) munmap(pp->region, pp->region_bytes);
        if (pp->memfd >= 0) close(pp->memfd);
        if (pp->efd >= 0) close(pp->efd);
        if (pp->sh) munmap(pp->sh, pp->sh_bytes);
    }
    VPAR_FREE(pp->pids);
    VPAR_FREE(pp->pidfds);
    VPAR_FREE(pp->killed);
    VPAR_FREE(pp->kill_task);
    VPAR_FREE(pp->pfds);
    VPAR_FREE(pp);
}

/* Resolves the worker count: explicit, $VPAR_NUM_WORKERS (parsed as
   strictly as pool.h parses $VPAR_NUM_THREADS), or online CPUs, at most
   VPAR_PROCPOOL_MAX_WORKERS. */
static vpar_status vpar__pp_resolve_workers(int *workers) {
    if (*workers > VPAR_PROCPOOL_MAX_WORKERS)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_procpool_create: %d workers requested, at most "
                         "VPAR_PROCPOOL_MAX_WORKERS (%d)", *workers, VPAR_PROCPOOL_MAX_WORKERS);
    if (*workers > 0) return VPAR_OK;
    const char *env = getenv("VPAR_NUM_WORKERS");
    if (env && *env) {
        char *endp = NULL;
        errno = 0;
        long v = strtol(env, &endp, 10);
        while (endp && (*endp == ' ' || *endp == '\t' || *endp == '\n')) endp++;
        if (errno != 0 || !endp || *endp != '\0' || v < 1 || v > VPAR_PROCPOOL_MAX_WORKERS)
            return vpar_fail(VPAR_ERR_INVALID, "VPAR_NUM_WORKERS='%s': expected an integer "
                             "from 1 to %d", env, VPAR_PROCPOOL_MAX_WORKERS);
        *workers = (int)v;
        return VPAR_OK;
    }
    int c = vpar_cpu_count(); /* the affinity mask, like the thread pool */
    *workers = c > VPAR_PROCPOOL_MAX_WORKERS ? VPAR_PROCPOOL_MAX_WORKERS : c;
    return VPAR_OK;
}

VPAR_API vpar_status vpar_procpool_create(vpar_procpool **out, const vpar_procpool_desc *desc) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_procpool_create: out is NULL");
    *out = NULL;
    vpar_procpool_desc d;
    memset(&d, 0, sizeof d);
    if (desc) d = *desc;
    if (d.workers < 0 || d.timeout_ms < 0 || d.retries < 0 || d.max_tasks_per_child < 0)
        return vpar_fail(VPAR_ERR_INVALID,
            "vpar_procpool_create: negative field in desc (workers %d, timeout_ms %d, retries %d, max_tasks_per_child %d)",
            d.workers, d.timeout_ms, d.retries, d.max_tasks_per_child);
    vpar_status s = vpar__pp_resolve_workers(&d.workers);
    if (s != VPAR_OK) return s;
    vpar_procpool *pp = (vpar_procpool *)VPAR_MALLOC(sizeof *pp);
    if (!pp) return vpar_fail(VPAR_ERR_NOMEM, "vpar_procpool_create: out of memory");
    memset(pp, 0, sizeof *pp);
    pp->desc = d;
    pp->nworkers = d.workers;
    pp->parent_pid = getpid();
    pp->memfd = -1;
    pp->efd = -1;
    pp->pids = (pid_t *)VPAR_MALLOC(sizeof(pid_t) * (size_t)d.workers);
    pp->pidfds = (int *)VPAR_MALLOC(sizeof(int) * (size_t)d.workers);
    pp->killed = (int *)VPAR_MALLOC(sizeof(int) * (size_t)d.workers);
    pp->kill_task = (uint64_t *)VPAR_MALLOC(sizeof(uint64_t) * (size_t)d.workers);
    pp->pfds = (struct pollfd *)VPAR_MALLOC(sizeof(struct pollfd) * ((size_t)d.workers + 1));
    if (!pp->pids || !pp->pidfds || !pp->killed || !pp->kill_task || !pp->pfds) {
        vpar_procpool_destroy(pp);
        return vpar_fail(VPAR_ERR_NOMEM, "vpar_procpool_create: out of memory");
    }
    for (int k = 0; k < d.workers; k++) { pp->pids[k] = 0; pp->pidfds[k] = -1; pp->killed[k] = 0; }
    pp->sh_bytes = sizeof(vpar__pp_shared) + sizeof(vpar__pp_worker) * (size_t)d.workers;
    void *sh = mmap(NULL, pp->sh_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        int err = errno;
        pp->sh = NULL;
        vpar_procpool_destroy(pp);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_procpool_create: mmap of %zu shared bytes", pp->sh_bytes);
    }
    pp->sh = (vpar__pp_shared *)sh;
    pp->w = (vpar__pp_worker *)(void *)((unsigned char *)sh + sizeof(vpar__pp_shared));
    pp->memfd = memfd_create("vpar-procpool", MFD_CLOEXEC);
    if (pp->memfd < 0) {
        int err = errno;
        vpar_procpool_destroy(pp);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_procpool_create: memfd_create");
    }
    pp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pp->efd < 0) {
        int err = errno;
        vpar_procpool_destroy(pp);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_procpool_create: eventfd");
    }
    if (!d.keep_signals) vpar__install_signal_cleanup();
    vpar__install_exit_cleanup();
    s = vpar__pp_start_all(pp, "vpar_procpool_create");
    if (s != VPAR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", vpar_last_error());
        vpar_procpool_destroy(pp);
        return vpar_fail(s, "%s", msg);
    }
    *out = pp;
    return VPAR_OK;
}

VPAR_API vpar_status vpar_procpool_restart(vpar_procpool *pp) {
    if (!pp) return vpar_fail(VPAR_ERR_INVALID, "vpar_procpool_restart: pool is NULL");
    if (getpid() != pp->parent_pid)
        return vpar_fail(VPAR_ERR_STATE, "vpar_procpool_restart: called outside the process that created the pool");
    vpar__pp_stop_all(pp, 0);
    return vpar__pp_start_all(pp, "vpar_procpool_restart");
}

/* ---- map ----------------------------------------------------------------- */

struct vpar__pp_mapctx {
    const char *who;            /* public function name for messages */
    size_t n, result_size;
    vpar_procpool_task_fn fn;
    void *results;
    vpar_procpool_status *status;
    vpar_procpool_result_fn on_result;
    void *cb_user;
    unsigned char *seen;
    size_t nseen;
    size_t first_fail;          /* lowest failed index, n if none */
    vpar_procpool_status first_st;
    size_t nfailed;
    int stopping;               /* no requeue/respawn: the map is being stopped */
    int idle_deaths;            /* workers lost outside any task since the last delivery */
    vpar_status stop_status;    /* why it stopped (VPAR_OK: it did not) */
    char stop_msg[320];
};

static void vpar__pp_deliver(vpar_procpool *pp, vpar__pp_mapctx *c, size_t i,
                             const vpar_procpool_status *st) {
    if (c->seen[i]) return;
    c->seen[i] = 1;
    c->nseen++;
    c->idle_deaths = 0;
    const unsigned char *res = c->result_size
        ? pp->region + pp->sh->map.results_off + i * c->result_size : NULL;
    if (st->state != VPAR_TASK_OK) {
        c->nfailed++;
        if (i < c->first_fail) { c->first_fail = i; c->first_st = *st; }
    }
    if (c->on_result) {
        if (c->on_result(c->cb_user, i, res, st) != 0 && !c->stopping &&
            c->stop_status == VPAR_OK) {
            c->stop_status = VPAR_ERR_INTERRUPTED;
            snprintf(c->stop_msg, sizeof c->stop_msg,
                     "%s: map stopped by the result callback at task %zu", c->who, i);
        }
        return;
    }
    if (c->results && c->result_size) {
        unsigned char *dst = (unsigned char *)c->results + i * c->result_size;
        if (st->state == VPAR_TASK_OK) memcpy(dst, res, c->result_size);
        else memset(dst, 0, c->result_size);
    }
    if (c->status) c->status[i] = *st;
}

/* Delivers a task that a worker finished (DONE or FAILED state word). */
static void vpar__pp_deliver_finished(vpar_procpool *pp, vpar__pp_mapctx *c, size_t i, uint32_t s) {
    vpar__pp_task *t = &vpar__pp_tasks(pp->region)[i];
    vpar_procpool_status st;
    st.state = VPAR__T_KIND(s) == VPAR__T_DONE ? VPAR_TASK_OK : VPAR_TASK_ERROR;
    st.code = st.state == VPAR_TASK_OK ? 0 : t->code;
    st.attempts = t->tries;
    st.worker = VPAR__T_OWNER(s);
    vpar__pp_deliver(pp, c, i, &st);
}

static int vpar__pp_drain(vpar_procpool *pp, vpar__pp_mapctx *c, int w) {
    vpar__pp_worker *me = &pp->w[w];
    uint64_t h = atomic_load_explicit(&me->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&me->tail, memory_order_acquire);
    if (h == t) return 0;
    for (; h != t; h++) {
        uint64_t i = me->ring[h % VPAR_PROCPOOL_RING];
        if (i >= c->n) continue;  /* defensive: never trust a crashed writer */
        uint32_t s = atomic_load_explicit(&vpar__pp_tasks(pp->region)[i].state, memory_order_acquire);
        uint32_t k = VPAR__T_KIND(s);
        if (k == VPAR__T_DONE || k == VPAR__T_FAILED) vpar__pp_deliver_finished(pp, c, (size_t)i, s);
    }
    atomic_store_explicit(&me->head, t, memory_order_seq_cst);
    if (atomic_load_explicit(&me->ring_wait, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&me->head_futex, 1, memory_order_seq_cst);
        vpar__futex_wake(&me->head_futex);
    }
    return 1;
}

/* Status of task i, RUNNING on worker w when w died with wstatus. Returns
   0 if the attempt does not count (the worker was killed for another
   task's timeout, or during its start), 1 otherwise. */
static int vpar__pp_death_status(const vpar_procpool *pp, int w, int wstatus, size_t i,
                                 int32_t tries, vpar_procpool_status *st) {
    st->attempts = tries;
    st->worker = w;
    if (pp->killed[w]) {
        if (pp->kill_task[w] == i) { st->state = VPAR_TASK_TIMEOUT; st->code = SIGKILL; return 1; }
        st->state = VPAR_TASK_NOT_RUN; st->code = 0;
        return 0;
    }
    if (wstatus == VPAR__WST_LOST) {
        st->state = VPAR_TASK_LOST; st->code = 0;
    } else if (WIFSIGNALED(wstatus)) {
        st->state = VPAR_TASK_SIGNAL; st->code = WTERMSIG(wstatus);
    } else {
        st->state = VPAR_TASK_EXIT; st->code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    }
    return 1;
}

/* Settles the tasks dead worker w owned: finished ones are delivered, the
   one it died in is requeued (retries left, or the attempt does not count)
   or delivered as failed. Returns 1 if w died inside a task. */
static int vpar__pp_settle_dead_tasks(vpar_procpool *pp, vpar__pp_mapctx *c, int w, int wstatus) {
    int in_task = 0;
    vpar__pp_drain(pp, c, w);
    vpar__pp_task *tasks = vpar__pp_tasks(pp->region);
    for (size_t i = 0; i < c->n; i++) {
        uint32_t s = atomic_load_explicit(&tasks[i].state, memory_order_acquire);
        if (VPAR__T_OWNER(s) != w || VPAR__T_KIND(s) == VPAR__T_PENDING) continue;
        uint32_t k = VPAR__T_KIND(s);
        if (k == VPAR__T_DONE || k == VPAR__T_FAILED) {
            vpar__pp_deliver_finished(pp, c, i, s);
            continue;
        }
        /* RUNNING: the task this worker died in. */
        in_task = 1;
        vpar_procpool_status st;
        int counts = vpar__pp_death_status(pp, w, wstatus, i, tasks[i].tries, &st);
        if (c->stopping) {
            st.state = VPAR_TASK_NOT_RUN;
            st.code = 0;
            vpar__pp_deliver(pp, c, i, &st);
        } else if (!counts || tasks[i].tries <= pp->desc.retries) {
            /* Requeue with a clean slate: the next attempt must find
               result_size zeroed bytes, not the dead attempt's output. */
            if (!counts) tasks[i].tries--;
            if (c->result_size)
                memset(pp->region + pp->sh->map.results_off + i * c->result_size, 0, c->result_size);
            atomic_store_explicit(&tasks[i].state, VPAR__T_PENDING, memory_order_release);
        } else {
            vpar__pp_deliver(pp, c, i, &st);
        }
    }
    return in_task;
}

/* Decides whether the death of worker w (state wstate before it died)
   stops the map: its replacement's initializer failed or timed out, or
   workers keep dying outside tasks (they would be re-forked forever).
   Sets c->stop_status/stop_msg and returns 1 if so. */
static int vpar__pp_death_stops_map(const vpar_procpool *pp, vpar__pp_mapctx *c, int w,
                                    uint32_t wstate, int wstatus, int in_task) {
    if (c->stopping || c->stop_status != VPAR_OK) return 1;
    if (wstate == VPAR__W_INIT_FAILED) {
        int code = atomic_load_explicit(&pp->w[w].init_code, memory_order_relaxed);
        c->stop_status = (code > 0 && code < VPAR_STATUS_COUNT) ? (vpar_status)code : VPAR_ERR_STATE;
        snprintf(c->stop_msg, sizeof c->stop_msg,
                 "%s: initializer of replacement worker %d failed with code %d", c->who, w, code);
        return 1;
    }
    if (wstate == VPAR__W_STARTING && pp->killed[w] && pp->kill_task[w] == UINT64_MAX) {
        c->stop_status = VPAR_ERR_TIMEOUT;
        snprintf(c->stop_msg, sizeof c->stop_msg,
                 "%s: initializer of replacement worker %d ran longer than %d ms (timeout_ms)",
                 c->who, w, pp->desc.timeout_ms);
        return 1;
    }
    if (!in_task && wstate != VPAR__W_RETIRED && ++c->idle_deaths > 2 * pp->nworkers + 8) {
        c->stop_status = VPAR_ERR_CRASHED;
        if (wstatus == VPAR__WST_LOST)
            snprintf(c->stop_msg, sizeof c->stop_msg,
                     "%s: %d workers in a row died outside any task (last: worker %d, exit status lost: "
                     "this process ignores SIGCHLD)", c->who, c->idle_deaths, w);
        else
            snprintf(c->stop_msg, sizeof c->stop_msg,
                     "%s: %d workers in a row died outside any task (last: worker %d, %s %d)",
                     c->who, c->idle_deaths, w, WIFSIGNALED(wstatus) ? "signal" : "exit status",
                     WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
        return 1;
    }
    return 0;
}

/* Worker w died with wstatus (reaped). c is the running map, or NULL
   outside a map: settles its tasks, forgets it, and (unless the map must
   stop) wakes the others to rescan and forks a replacement if tasks are
   still outstanding. */
static void vpar__pp_on_death(vpar_procpool *pp, vpar__pp_mapctx *c, int w, int wstatus) {
    uint32_t wstate = atomic_load_explicit(&pp->w[w].state, memory_order_acquire);
    int in_task = c ? vpar__pp_settle_dead_tasks(pp, c, w, wstatus) : 0;
    vpar__pp_forget(pp, w);
    if (!c) return;
    if (vpar__pp_death_stops_map(pp, c, w, wstate, wstatus, in_task)) return;
    vpar__pp_bump_epoch(pp);  /* requeued or orphaned tasks: workers rescan */
    if (c->nseen < c->n) {
        vpar_status s = vpar__pp_spawn(pp, w, c->who);
        if (s != VPAR_OK && c->stop_status == VPAR_OK) {
            c->stop_status = s;
            vpar__copy_str(c->stop_msg, sizeof c->stop_msg, vpar_last_error());
        }
    }
}

/* Kills workers whose task (or, with an initializer, whose start) has run
   past timeout_ms; lowers *sleep_ms to the next deadline. 1 if it killed. */
static int vpar__pp_check_timeouts(vpar_procpool *pp, int *sleep_ms) {
    if (pp->desc.timeout_ms <= 0) return 0;
    int64_t now = vpar__now_ns(), limit = (int64_t)pp->desc.timeout_ms * 1000000;
    int64_t next = limit;
    int killed = 0;
    for (int k = 0; k < pp->nworkers; k++) {
        if (pp->pids[k] <= 0 || pp->killed[k]) continue;
        uint64_t cur = atomic_load_explicit(&pp->w[k].cur, memory_order_acquire);
        uint64_t victim = cur ? cur - 1 : UINT64_MAX;
        int64_t started;
        if (cur) {
            started = atomic_load_explicit(&pp->w[k].cur_start, memory_order_relaxed);
        } else if (pp->desc.init &&
                   atomic_load_explicit(&pp->w[k].state, memory_order_acquire) == VPAR__W_STARTING) {
            started = atomic_load_explicit(&pp->w[k].cur_start, memory_order_acquire);
            if (started == 0) continue;  /* not in its initializer yet */
        } else {
            continue;
        }
        int64_t left = started + limit - now;
        if (left <= 0) {
            pp->killed[k] = 1;
            pp->kill_task[k] = victim;
            kill(pp->pids[k], SIGKILL);
            killed = 1;
        } else if (left < next) {
            next = left;
        }
    }
    int ms = (int)(next / 1000000) + 1;
    if (*sleep_ms < 0 || ms < *sleep_ms) *sleep_ms = ms;
    return killed;
}

/* 1 when results wait that nobody will wake us for: an idle worker's
   last entries, a ring past half, or anything in unordered mode. Workers
   wake the parent for exactly these, so sleeping otherwise loses nothing
   and keeps the parent off the CPU while tasks are short. */
static int vpar__pp_must_drain(vpar_procpool *pp, int unordered) {
    for (int k = 0; k < pp->nworkers; k++) {
        uint64_t t = atomic_load_explicit(&pp->w[k].tail, memory_order_seq_cst);
        uint64_t h = atomic_load_explicit(&pp->w[k].head, memory_order_relaxed);
        if (t == h) continue;
        if (unordered || t - h >= VPAR_PROCPOOL_RING / 2 ||
            atomic_load_explicit(&pp->w[k].idle, memory_order_seq_cst))
            return 1;
    }
    return 0;
}

/* 1 while worker k is alive, past its initializer and not yet out of the
   last map. A worker still in its initializer has never seen that map
   (it stores READY, seq_cst, before it first reads `run`, seq_cst, and
   `run` was set to IDLE before this check), so it needs no ack. */
static int vpar__pp_owes_ack(vpar_procpool *pp, int k) {
    return pp->pids[k] > 0 &&
           atomic_load_explicit(&pp->w[k].state, memory_order_seq_cst) != VPAR__W_STARTING &&
           atomic_load_explicit(&pp->w[k].ack, memory_order_seq_cst) != pp->map_id;
}

/* Waits until every live worker has left the last map. Workers that do
   not within VPAR_PROCPOOL_ACK_MS (they cannot be busy: the map ended)
   are killed and reaped; the next map replaces them. */
static void vpar__pp_wait_acks(vpar_procpool *pp) {
    int64_t deadline = vpar__now_ns() + (int64_t)VPAR_PROCPOOL_ACK_MS * 1000000;
    for (;;) {
        vpar__pp_reap(pp, NULL);
        int waiting = 0;
        for (int k = 0; k < pp->nworkers; k++) waiting |= vpar__pp_owes_ack(pp, k);
        if (!waiting) return;
        if (vpar__now_ns() > deadline) {
            for (int k = 0; k < pp->nworkers; k++) {
                if (!vpar__pp_owes_ack(pp, k)) continue;
                kill(pp->pids[k], SIGKILL);
                while (waitpid(pp->pids[k], NULL, 0) < 0 && errno == EINTR) {}
                vpar__pp_forget(pp, k);
            }
            return;
        }
        atomic_store_explicit(&pp->sh->parent_sleeping, 1, memory_order_seq_cst);
        waiting = 0;
        for (int k = 0; k < pp->nworkers; k++) waiting |= vpar__pp_owes_ack(pp, k);
        if (waiting) vpar__pp_sleep(pp, 100);
        atomic_store_explicit(&pp->sh->parent_sleeping, 0, memory_order_seq_cst);
    }
}

/* Map step 1: checks the arguments and sizes the shared region (task
   words, then results aligned to a cache line) and the context. */
static vpar_status vpar__pp_map_prepare(vpar_procpool *pp, vpar__pp_mapctx *c, size_t *results_off) {
    size_t n = c->n, tasks_bytes, res_bytes, need;
    if (n >= (VPAR__NEXT_IDX_MASK >> 2))
        return vpar_fail(VPAR_ERR_INVALID, "%s: %zu tasks, too many", c->who, n);
    if (!vpar__mul_size(n, sizeof(vpar__pp_task), &tasks_bytes) ||
        !vpar__mul_size(n, c->result_size, &res_bytes) ||
        !vpar__add_size((tasks_bytes + 63) & ~(size_t)63, res_bytes, &need) ||
        need > ((size_t)1 << 46))
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: %zu tasks x %zu result bytes is too large",
                         c->who, n, c->result_size);
    *results_off = (tasks_bytes + 63) & ~(size_t)63;
    c->seen = (unsigned char *)VPAR_MALLOC(n);
    if (!c->seen) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu task flags", c->who, n);
    memset(c->seen, 0, n);

    /* Workers that died while idle (killed from outside) are replaced. */
    vpar__pp_wait_acks(pp);
    if (need > pp->region_bytes) {
        size_t bytes = pp->region_bytes ? pp->region_bytes : 65536;
        while (bytes < need) bytes *= 2;
        if (ftruncate(pp->memfd, (off_t)bytes) != 0)
            return vpar_fail_errno(VPAR_ERR_SYSTEM, errno, "%s: growing the shared task region to %zu bytes",
                                   c->who, bytes);
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, pp->memfd, 0);
        if (p == MAP_FAILED)
            return vpar_fail_errno(VPAR_ERR_SYSTEM, errno, "%s: mapping the shared task region (%zu bytes)",
                                   c->who, bytes);
        if (pp->region) munmap(pp->region, pp->region_bytes);
        pp->region = (unsigned char *)p;
        pp->region_bytes = bytes;
    }
    memset(pp->region, 0, need);
    return VPAR_OK;
}

/* Map step 2: publishes the map to the workers, wakes them and forks the
   missing ones. */
static void vpar__pp_map_publish(vpar_procpool *pp, vpar__pp_mapctx *c, void *user, size_t results_off) {
    vpar__pp_shared *sh = pp->sh;
    size_t n = c->n, chunk = pp->desc.chunk;
    if (chunk == 0) {
        size_t div = 4 * (size_t)pp->nworkers;
        chunk = n / div + (n % div != 0);
        if (chunk == 0) chunk = 1;
    }
    pp->map_id = (pp->map_id + 1) & 0x3fffffffu;
    if (pp->map_id == 0) pp->map_id = 1;
    uint32_t e = atomic_load_explicit(&sh->epoch, memory_order_relaxed);
    sh->map.fn = c->fn;
    sh->map.user = user;
    sh->map.n = n;
    sh->map.chunk = chunk;
    sh->map.result_size = c->result_size;
    sh->map.results_off = results_off;
    sh->map.region_bytes = pp->region_bytes;
    sh->map.start_epoch = e + 1;
    sh->map.retries = pp->desc.retries;
    sh->map.max_tasks = pp->desc.max_tasks_per_child;
    sh->map.timed = pp->desc.timeout_ms > 0;
    sh->map.unordered = c->on_result != NULL;
    for (int k = 0; k < pp->nworkers; k++)
        atomic_store_explicit(&pp->w[k].err_task, -1, memory_order_relaxed);
    atomic_store_explicit(&sh->next, (uint64_t)(pp->map_id & 0xffffu) << VPAR__NEXT_TAG_SHIFT,
                          memory_order_relaxed);
    atomic_store_explicit(&sh->run, (pp->map_id << 2) | VPAR__CMD_RUN, memory_order_seq_cst);
    vpar__pp_bump_epoch(pp);
    for (int k = 0; k < pp->nworkers && c->stop_status == VPAR_OK; k++) {
        if (pp->pids[k] > 0) continue;
        vpar_status s = vpar__pp_spawn(pp, k, c->who);
        if (s != VPAR_OK) {
            c->stop_status = s;
            vpar__copy_str(c->stop_msg, sizeof c->stop_msg, vpar_last_error());
        }
    }
}

/* Map step 3: collects results, reaps and replaces dead workers, enforces
   timeouts, until every task is delivered or the map must stop. */
static void vpar__pp_map_collect(vpar_procpool *pp, vpar__pp_mapctx *c) {
    vpar__pp_shared *sh = pp->sh;
    int slept = 1;
    while (c->nseen < c->n && c->stop_status == VPAR_OK) {
        int progress = 0;
        for (int k = 0; k < pp->nworkers; k++) vpar__pp_drain(pp, c, k);
        if (c->nseen >= c->n || c->stop_status != VPAR_OK) break;
        /* Deaths wake us through the pidfds, so reaping after a sleep
           suffices. */
        if (slept) progress |= vpar__pp_reap(pp, c);
        slept = 0;
        if (c->nseen >= c->n || c->stop_status != VPAR_OK) break;
        if (atomic_exchange_explicit(&pp->interrupt, 0, memory_order_acq_rel)) {
            c->stop_status = VPAR_ERR_INTERRUPTED;
            snprintf(c->stop_msg, sizeof c->stop_msg, "%s: map interrupted (vpar_procpool_interrupt)", c->who);
            break;
        }
        int sleep_ms = -1;
        if (vpar__pp_check_timeouts(pp, &sleep_ms)) progress = 1;
        if (progress) continue;
        atomic_store_explicit(&sh->parent_sleeping, 1, memory_order_seq_cst);
        if (!vpar__pp_must_drain(pp, c->on_result != NULL)) {
            vpar__pp_sleep(pp, sleep_ms);
            slept = 1;
        }
        atomic_store_explicit(&sh->parent_sleeping, 0, memory_order_seq_cst);
    }
}

/* Map step 4 (only when the map must stop): kills every worker, keeps what
   finished and delivers the rest as NOT_RUN. */
static void vpar__pp_map_stop(vpar_procpool *pp, vpar__pp_mapctx *c) {
    c->stopping = 1;
    for (int k = 0; k < pp->nworkers; k++)
        if (pp->pids[k] > 0) kill(pp->pids[k], SIGKILL);
    for (int k = 0; k < pp->nworkers; k++) {
        if (pp->pids[k] <= 0) continue;
        int st = 0;
        pid_t r;
        while ((r = waitpid(pp->pids[k], &st, 0)) < 0 && errno == EINTR) {}
        vpar__pp_on_death(pp, c, k, r < 0 ? VPAR__WST_LOST : st);
    }
    for (int k = 0; k < pp->nworkers; k++) vpar__pp_drain(pp, c, k);
    vpar__pp_task *tasks = vpar__pp_tasks(pp->region);
    for (size_t i = 0; i < c->n; i++) {
        if (c->seen[i]) continue;
        uint32_t s = atomic_load_explicit(&tasks[i].state, memory_order_acquire);
        if (VPAR__T_KIND(s) == VPAR__T_DONE || VPAR__T_KIND(s) == VPAR__T_FAILED) {
            vpar__pp_deliver_finished(pp, c, i, s);
        } else {
            vpar_procpool_status st = {VPAR_TASK_NOT_RUN, 0, tasks[i].tries,
                                       tasks[i].tries ? VPAR__T_OWNER(s) : -1};
            vpar__pp_deliver(pp, c, i, &st);
        }
    }
}

/* Map step 5: the map's status and vpar_last_error() text. */
static vpar_status vpar__pp_map_report(vpar_procpool *pp, vpar__pp_mapctx *c) {
    size_t n = c->n;
    if (c->stop_status != VPAR_OK)
        return vpar_fail(c->stop_status, "%s (%zu of %zu tasks did not succeed)", c->stop_msg, c->nfailed, n);
    if (!c->nfailed) return VPAR_OK;
    size_t i = c->first_fail;
    const vpar_procpool_status *st = &c->first_st;
    const char *who = c->who;
    switch (st->state) {
    case VPAR_TASK_ERROR: {
        vpar_status ret = (st->code > 0 && st->code < VPAR_STATUS_COUNT) ? (vpar_status)st->code : VPAR_ERR_INVALID;
        const char *detail = "";
        if (st->worker >= 0 && st->worker < pp->nworkers &&
            atomic_load_explicit(&pp->w[st->worker].err_task, memory_order_acquire) == (int64_t)i)
            detail = pp->w[st->worker].err_msg;
        return vpar_fail(ret, "%s: %zu of %zu tasks failed; first: task %zu returned %d in worker %d%s%s",
                         who, c->nfailed, n, i, st->code, st->worker, *detail ? ": " : "", detail);
    }
    case VPAR_TASK_SIGNAL:
        return vpar_fail(VPAR_ERR_CRASHED, "%s: %zu of %zu tasks failed; first: task %zu: worker %d killed by signal %d (%s)",
                         who, c->nfailed, n, i, st->worker, st->code, strsignal(st->code));
    case VPAR_TASK_EXIT:
        return vpar_fail(VPAR_ERR_CRASHED, "%s: %zu of %zu tasks failed; first: task %zu: worker %d exited with status %d during the task",
                         who, c->nfailed, n, i, st->worker, st->code);
    case VPAR_TASK_LOST:
        return vpar_fail(VPAR_ERR_CRASHED, "%s: %zu of %zu tasks failed; first: task %zu: worker %d died during the task "
                         "(exit status lost: this process ignores SIGCHLD, so the kernel reaped the worker)",
                         who, c->nfailed, n, i, st->worker);
    case VPAR_TASK_TIMEOUT:
        return vpar_fail(VPAR_ERR_TIMEOUT, "%s: %zu of %zu tasks failed; first: task %zu ran longer than %d ms (worker %d killed)",
                         who, c->nfailed, n, i, pp->desc.timeout_ms, st->worker);
    default:
        return vpar_fail(VPAR_ERR_STATE, "%s: %zu of %zu tasks failed; first: task %zu did not run", who, c->nfailed, n, i);
    }
}

static vpar_status vpar__pp_map(vpar_procpool *pp, size_t n, vpar_procpool_task_fn fn,
                                void *user, void *results, size_t result_size,
                                vpar_procpool_status *status,
                                vpar_procpool_result_fn on_result, void *cb_user,
                                const char *who) {
    if (!pp) return vpar_fail(VPAR_ERR_INVALID, "%s: pool is NULL", who);
    if (!fn) return vpar_fail(VPAR_ERR_INVALID, "%s: task function is NULL", who);
    if (getpid() != pp->parent_pid || vpar__pp_self >= 0)
        return vpar_fail(VPAR_ERR_STATE, "%s: called outside the process that created the pool (inside a task?)", who);
    if (n == 0) return VPAR_OK;

    vpar__pp_mapctx c;
    memset(&c, 0, sizeof c);
    c.who = who;
    c.n = n;
    c.fn = fn;
    c.result_size = result_size;
    c.results = results;
    c.status = status;
    c.on_result = on_result;
    c.cb_user = cb_user;
    c.first_fail = n;
    size_t results_off = 0;
    vpar_status s = vpar__pp_map_prepare(pp, &c, &results_off);
    if (s != VPAR_OK) { VPAR_FREE(c.seen); return s; }

    if (atomic_exchange_explicit(&pp->interrupt, 0, memory_order_acq_rel)) {
        /* Interrupted before the map began: nothing runs. */
        c.stop_status = VPAR_ERR_INTERRUPTED;
        snprintf(c.stop_msg, sizeof c.stop_msg, "%s: map interrupted before it started (vpar_procpool_interrupt)", who);
        vpar_procpool_status st = {VPAR_TASK_NOT_RUN, 0, 0, -1};
        for (size_t i = 0; i < n; i++) vpar__pp_deliver(pp, &c, i, &st);
    } else {
        vpar__pp_map_publish(pp, &c, user, results_off);
        vpar__pp_map_collect(pp, &c);
        if (c.stop_status != VPAR_OK) vpar__pp_map_stop(pp, &c);
        atomic_store_explicit(&pp->sh->run, (pp->map_id << 2) | VPAR__CMD_IDLE, memory_order_seq_cst);
        vpar__pp_bump_epoch(pp);
    }
    vpar_status ret = vpar__pp_map_report(pp, &c);
    VPAR_FREE(c.seen);
    return ret;
}

VPAR_API vpar_status vpar_procpool_map(vpar_procpool *pp, size_t n, vpar_procpool_task_fn fn,
                                       void *user, void *results, size_t result_size,
                                       vpar_procpool_status *status) {
    return vpar__pp_map(pp, n, fn, user, results, result_size, status, NULL, NULL,
                        "vpar_procpool_map");
}

VPAR_API vpar_status vpar_procpool_map_unordered(vpar_procpool *pp, size_t n,
        vpar_procpool_task_fn fn, void *user, size_t result_size,
        vpar_procpool_result_fn on_result, void *on_result_user) {
    if (!on_result)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_procpool_map_unordered: on_result is NULL");
    return vpar__pp_map(pp, n, fn, user, NULL, result_size, NULL, on_result, on_result_user,
                        "vpar_procpool_map_unordered");
}

/* ---- shared-memory map -------------------------------------------------- */

#define VPAR__SHM_MAGIC UINT64_C(0x324d485352415056) /* "VPARSHM2" */
enum { VPAR__S_EMPTY = 0, VPAR__S_CLAIMING = 1, VPAR__S_READY = 2, VPAR__S_DEAD = 3 };
#define VPAR__S_KIND(st) ((uint32_t)((st) >> 62))
#define VPAR__S_WORD(kind, id) (((uint64_t)(kind) << 62) | (id))
/* Committed versions run 1..VPAR__SHM_VERSION_MAX and then wrap to 1
   (0 means "never committed"). */
#define VPAR__SHM_VERSION_MAX ((UINT64_C(1) << 63) - 1)

typedef struct vpar__shm_header {
    _Atomic uint64_t magic;   /* stored last by the creator */
    uint64_t total_bytes, capacity, nslots, key_max, value_size;
    uint64_t slot_bytes, key_off, val_off, val_stride, slots_off;
    int64_t creator_pid;
    _Alignas(VPAR_CACHE_LINE) _Atomic uint64_t reserved;  /* keys claimed (capacity) */
} vpar__shm_header;

/* Slot: state word, write lock, value word, hash, key, two value buffers. */
typedef struct vpar__shm_slot {
    _Atomic uint64_t state;  /* kind << 62 | claimer's owner id */
    _Atomic uint64_t lock;   /* writer's owner id, 0 when free */
    _Atomic uint64_t vctl;   /* version << 1 | active buffer */
    uint64_t hash;
} vpar__shm_slot;

struct vpar_shmap {
    vpar__shm_header *h;
    size_t bytes;
    pid_t creator;  /* pid that unlinks a named map, 0 for opened/anonymous */
    char name[256];
};

static size_t vpar__round8(size_t x) { return (x + 7) & ~(size_t)7; }

static uint64_t vpar__shm_hash(const char *key, size_t len) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < len; i++) { h ^= (unsigned char)key[i]; h *= UINT64_C(1099511628211); }
    h ^= h >> 33; h *= UINT64_C(0xff51afd7ed558ccd); h ^= h >> 33;
    return h;
}

static vpar__shm_slot *vpar__shm_slot_at(const vpar_shmap *m, uint64_t i) {
    return (vpar__shm_slot *)(void *)((unsigned char *)m->h + m->h->slots_off + i * m->h->slot_bytes);
}
static char *vpar__shm_key(vpar__shm_slot *s, const vpar_shmap *m) {
    return (char *)s + m->h->key_off;
}
static unsigned char *vpar__shm_val(vpar__shm_slot *s, const vpar_shmap *m, unsigned which) {
    return (unsigned char *)s + m->h->val_off + which * m->h->val_stride;
}

static vpar_status vpar__shm_check_key(const vpar_shmap *m, const char *key, size_t *len,
                                       const char *who) {
    if (!m) return vpar_fail(VPAR_ERR_INVALID, "%s: map is NULL", who);
    if (!key) return vpar_fail(VPAR_ERR_INVALID, "%s: key is NULL", who);
    size_t l = strnlen(key, (size_t)m->h->key_max + 1);
    *len = 0;
    if (l > m->h->key_max)
        return vpar_fail(VPAR_ERR_INVALID,
                         "%s: key \"%.40s...\" is longer than the map's limit of %llu bytes (vpar_shmap_desc.key_max)",
                         who, key, (unsigned long long)m->h->key_max);
    *len = l;
    return VPAR_OK;
}

/* Finds key's slot, claiming an empty one when `create`. */
static vpar_status vpar__shm_find(const vpar_shmap *m, const char *key, size_t len,
                                  int create, vpar__shm_slot **out, const char *who) {
    vpar__shm_header *h = m->h;
    uint64_t hash = vpar__shm_hash(key, len), mask = h->nslots - 1;
    uint64_t me = create ? vpar__self_id() : 0;
    uint64_t i = hash & mask;
    for (uint64_t probe = 0; probe < h->nslots; probe++, i = (i + 1) & mask) {
        vpar__shm_slot *s = vpar__shm_slot_at(m, i);
        for (unsigned spins = 0;; spins++) {
            uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
            uint32_t kind = VPAR__S_KIND(st);
            if (kind == VPAR__S_READY) {
                if (s->hash == hash && memcmp(vpar__shm_key(s, m), key, len + 1) == 0) {
                    *out = s;
                    return VPAR_OK;
                }
                break;
            }
            if (kind == VPAR__S_DEAD) break;
            if (kind == VPAR__S_EMPTY) {
                if (!create) return VPAR_ERR_NOT_FOUND;
                uint64_t empty = 0;
                if (!atomic_compare_exchange_strong_explicit(&s->state, &empty,
                        VPAR__S_WORD(VPAR__S_CLAIMING, me),
                        memory_order_acq_rel, memory_order_acquire))
                    continue;  /* someone claimed it first: look again */
                /* Count the key only once the slot is ours, so that racing
                   inserts of one key never reserve capacity twice. Giving
                   the slot back is safe: nobody probes past a CLAIMING slot. */
                if (atomic_fetch_add_explicit(&h->reserved, 1, memory_order_acq_rel) >= h->capacity) {
                    atomic_fetch_sub_explicit(&h->reserved, 1, memory_order_acq_rel);
                    atomic_store_explicit(&s->state, 0, memory_order_release);
                    return vpar_fail(VPAR_ERR_FULL, "%s: map is full (capacity %llu keys); cannot add \"%s\"",
                                     who, (unsigned long long)h->capacity, key);
                }
                s->hash = hash;
                memcpy(vpar__shm_key(s, m), key, len + 1);
                atomic_store_explicit(&s->state, VPAR__S_WORD(VPAR__S_READY, 0), memory_order_release);
                *out = s;
                return VPAR_OK;
            }
            /* CLAIMING: the key is being written; its claimer may have died. */
            if (spins >= 256 && (spins & 255) == 0 &&
                vpar__owner_dead(st & ~VPAR__S_WORD(3, 0))) {
                atomic_compare_exchange_strong_explicit(&s->state, &st,
                        VPAR__S_WORD(VPAR__S_DEAD, 0), memory_order_acq_rel, memory_order_relaxed);
                continue;
            }
            vpar__cpu_relax(spins);
        }
    }
    if (!create) return VPAR_ERR_NOT_FOUND;
    return vpar_fail(VPAR_ERR_FULL, "%s: map is full (capacity %llu keys); cannot add \"%s\"",
                     who, (unsigned long long)h->capacity, key);
}

/* Takes the slot's write lock (taking it over from a dead holder) and
   returns the value word as of the lock: the caller writes buffer
   (vctl & 1) ^ 1. */
static uint64_t vpar__shm_lock(vpar__shm_slot *s) {
    uint64_t me = vpar__self_id();
    for (unsigned spins = 0;; spins++) {
        uint64_t owner = atomic_load_explicit(&s->lock, memory_order_acquire);
        if (owner == 0 || (spins >= 256 && (spins & 255) == 0 && owner != me && vpar__owner_dead(owner))) {
            if (atomic_compare_exchange_weak_explicit(&s->lock, &owner, me,
                    memory_order_acq_rel, memory_order_relaxed)) {
                /* Orders our buffer writes after the lock for seqlock readers. */
                atomic_thread_fence(memory_order_release);
                return atomic_load_explicit(&s->vctl, memory_order_acquire);
            }
            continue;
        }
        vpar__cpu_relax(spins);
    }
}

/* Publishes the buffer written under the lock (a new version, wrapping
   from VPAR__SHM_VERSION_MAX to 1, never to 0) and releases the lock. */
static void vpar__shm_commit(vpar__shm_slot *s, uint64_t locked) {
    uint64_t ver = locked >> 1, active = locked & 1u;
    uint64_t next = ver >= VPAR__SHM_VERSION_MAX ? 1 : ver + 1;
    atomic_store_explicit(&s->vctl, (next << 1) | (active ^ 1u), memory_order_release);
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

static void vpar__shm_unlock(vpar__shm_slot *s, uint64_t locked) {
    (void)locked;
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Consistent copy of the committed value; 0 if none was ever committed. */
static int vpar__shm_read(const vpar_shmap *m, vpar__shm_slot *s, void *out, size_t size) {
    for (;;) {
        uint64_t v1 = atomic_load_explicit(&s->vctl, memory_order_acquire);
        if ((v1 >> 1) == 0) return 0;
        memcpy(out, vpar__shm_val(s, m, (unsigned)(v1 & 1u)), size);
        atomic_thread_fence(memory_order_acquire);
        uint64_t v2 = atomic_load_explicit(&s->vctl, memory_order_relaxed);
        if (v2 == v1) return 1;
    }
}

/* Test hooks (white-box tests only): set key's version; make key's lock
   look held by process `pid` started at `start` ticks. */
static inline void vpar__shm_test_set_version(vpar_shmap *m, const char *key, uint64_t ver) {
    vpar__shm_slot *s;
    if (vpar__shm_find(m, key, strlen(key), 0, &s, "vpar__shm_test_set_version") != VPAR_OK) return;
    uint64_t v = atomic_load_explicit(&s->vctl, memory_order_relaxed);
    atomic_store_explicit(&s->vctl, (ver << 1) | (v & 1u), memory_order_release);
}
static inline void vpar__shm_test_hold_lock(vpar_shmap *m, const char *key, pid_t pid, uint64_t start) {
    vpar__shm_slot *s;
    if (vpar__shm_find(m, key, strlen(key), 0, &s, "vpar__shm_test_hold_lock") != VPAR_OK) return;
    atomic_store_explicit(&s->lock, vpar__owner_id(pid, start), memory_order_release);
}

static vpar_status vpar__shm_validate_desc(const vpar_shmap_desc *d, size_t *key_max,
                                           size_t *value_size) {
    if (!d) return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_create: desc is NULL");
    if (d->capacity == 0) return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_create: capacity is 0");
    *key_max = d->key_max ? d->key_max : 63;
    *value_size = d->value_size ? d->value_size : sizeof(double);
    if (d->name) {
        size_t l = strlen(d->name);
        if (l < 2 || l > 250 || d->name[0] != '/' || strchr(d->name + 1, '/'))
            return vpar_fail(VPAR_ERR_INVALID,
                             "vpar_shmap_create: bad shared-memory name \"%s\" (want \"/name\", 1-249 characters, no other '/')",
                             d->name);
    }
    return VPAR_OK;
}

/* Sizes of a map's segment, derived from its desc. */
typedef struct vpar__shm_layout {
    size_t cap, nslots, key_max, value_size, key_bytes, val_stride, slot_bytes, hdr, total;
} vpar__shm_layout;

/* Validates desc and computes the layout; every sum and product is
   checked (VPAR_ERR_OVERFLOW), not wrapped. */
static vpar_status vpar__shm_plan_layout(const vpar_shmap_desc *desc, vpar__shm_layout *L) {
    vpar_status s = vpar__shm_validate_desc(desc, &L->key_max, &L->value_size);
    if (s != VPAR_OK) return s;
    size_t cap = desc->capacity, nslots = 8, want_slots, slots_bytes;
    /* Slots for a load factor of at most 3/4; the sum is checked, not
       wrapped (a wrapped sum once gave 8 slots for any capacity). */
    if (!vpar__add_size(cap, cap / 3 + 1, &want_slots))
        return vpar_fail(VPAR_ERR_OVERFLOW, "vpar_shmap_create: capacity %zu is too large", cap);
    while (nslots < want_slots) {
        if (nslots > SIZE_MAX / 4) return vpar_fail(VPAR_ERR_OVERFLOW, "vpar_shmap_create: capacity %zu is too large", cap);
        nslots *= 2;
    }
    if (!vpar__add_size(L->key_max, 8, &L->key_bytes) || !vpar__add_size(L->value_size, 8, &L->val_stride))
        return vpar_fail(VPAR_ERR_OVERFLOW, "vpar_shmap_create: key_max/value_size too large");
    L->cap = cap;
    L->nslots = nslots;
    L->key_bytes = vpar__round8(L->key_max + 1);
    L->val_stride = vpar__round8(L->value_size);
    L->hdr = vpar__round8(sizeof(vpar__shm_header) + VPAR_CACHE_LINE);
    if (!vpar__add_size(sizeof(vpar__shm_slot) + L->key_bytes, 2 * L->val_stride, &L->slot_bytes) ||
        L->val_stride > SIZE_MAX / 4 ||
        !vpar__mul_size(nslots, L->slot_bytes, &slots_bytes) ||
        !vpar__add_size(L->hdr, slots_bytes, &L->total) || L->total > ((size_t)1 << 46))
        return vpar_fail(VPAR_ERR_OVERFLOW,
                         "vpar_shmap_create: capacity %zu x (key %zu + value %zu bytes) is too large",
                         cap, L->key_max, L->value_size);
    return VPAR_OK;
}

/* Creates the named segment `name` (O_EXCL), reserves `total` bytes in it
   and maps it into *p. On failure nothing is left behind. */
static vpar_status vpar__shm_map_named(const char *name, int keep_signals, size_t total, void **p) {
    if (!keep_signals) vpar__install_signal_cleanup();
    vpar__install_exit_cleanup();
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        int err = errno;
        return vpar_fail_errno(err == EEXIST ? VPAR_ERR_STATE : VPAR_ERR_SYSTEM, err,
                               "vpar_shmap_create: shm_open(\"%s\")", name);
    }
    vpar__shm_register(name);
    /* Reserve the pages now: ftruncate alone reserves nothing on tmpfs,
       and a full /dev/shm would show up later as SIGBUS on first touch. */
    int err = posix_fallocate(fd, 0, (off_t)total);
    if (err == EOPNOTSUPP || err == EINVAL || err == ENOSYS)
        err = ftruncate(fd, (off_t)total) == 0 ? 0 : errno;
    if (err != 0) {
        close(fd);
        shm_unlink(name);
        vpar__shm_unregister(name);
        if (err == ENOSPC || err == EFBIG || err == ENOMEM)
            return vpar_fail_errno(VPAR_ERR_NOSPACE, err,
                                   "vpar_shmap_create: \"%s\": %zu bytes do not fit in /dev/shm", name, total);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_shmap_create: sizing \"%s\" to %zu bytes",
                               name, total);
    }
    *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    err = errno;
    close(fd);
    if (*p == MAP_FAILED) {
        shm_unlink(name);
        vpar__shm_unregister(name);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_shmap_create: mapping \"%s\" (%zu bytes)",
                               name, total);
    }
    return VPAR_OK;
}

/* Writes the header of a fresh segment; the magic last, released. */
static void vpar__shm_init_header(vpar__shm_header *h, const vpar__shm_layout *L) {
    h->total_bytes = L->total;
    h->capacity = L->cap;
    h->nslots = L->nslots;
    h->key_max = L->key_max;
    h->value_size = L->value_size;
    h->slot_bytes = L->slot_bytes;
    h->key_off = sizeof(vpar__shm_slot);
    h->val_off = sizeof(vpar__shm_slot) + L->key_bytes;
    h->val_stride = L->val_stride;
    h->slots_off = L->hdr;
    h->creator_pid = getpid();
    atomic_store_explicit(&h->reserved, 0, memory_order_relaxed);
    atomic_store_explicit(&h->magic, VPAR__SHM_MAGIC, memory_order_release);
}

VPAR_API vpar_status vpar_shmap_create(vpar_shmap **out, const vpar_shmap_desc *desc) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_create: out is NULL");
    *out = NULL;
    vpar__shm_layout L;
    memset(&L, 0, sizeof L);
    vpar_status s = vpar__shm_plan_layout(desc, &L);
    if (s != VPAR_OK) return s;

    vpar_shmap *m = (vpar_shmap *)VPAR_MALLOC(sizeof *m);
    if (!m) return vpar_fail(VPAR_ERR_NOMEM, "vpar_shmap_create: out of memory");
    memset(m, 0, sizeof *m);
    void *p;
    if (desc->name) {
        s = vpar__shm_map_named(desc->name, desc->keep_signals, L.total, &p);
        if (s != VPAR_OK) {
            VPAR_FREE(m);
            return s;
        }
        snprintf(m->name, sizeof m->name, "%s", desc->name);
        m->creator = getpid();
    } else {
        p = mmap(NULL, L.total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            VPAR_FREE(m);
            return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_shmap_create: mmap of %zu shared bytes", L.total);
        }
    }
    m->h = (vpar__shm_header *)p;
    m->bytes = L.total;
    vpar__shm_init_header(m->h, &L);
    *out = m;
    return VPAR_OK;
}

VPAR_API vpar_status vpar_shmap_open(vpar_shmap **out, const char *name) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_open: out is NULL");
    *out = NULL;
    if (!name || name[0] != '/')
        return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_open: bad name \"%s\" (want \"/name\")", name ? name : "(null)");
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        int err = errno;
        return vpar_fail_errno(err == ENOENT ? VPAR_ERR_NOT_FOUND : VPAR_ERR_SYSTEM, err,
                               "vpar_shmap_open: shm_open(\"%s\")", name);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_shmap_open: fstat(\"%s\")", name);
    }
    size_t size = (size_t)sb.st_size;
    if (size < sizeof(vpar__shm_header)) {
        close(fd);
        return vpar_fail(VPAR_ERR_FORMAT, "vpar_shmap_open: \"%s\" is %zu bytes, too small for a vpar map", name, size);
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED)
        return vpar_fail_errno(VPAR_ERR_SYSTEM, err, "vpar_shmap_open: mapping \"%s\"", name);
    vpar__shm_header *h = (vpar__shm_header *)p;
    /* The creator sizes the segment before it writes the header. */
    for (int tries = 0; atomic_load_explicit(&h->magic, memory_order_acquire) != VPAR__SHM_MAGIC; tries++) {
        if (tries >= 200 || atomic_load_explicit(&h->magic, memory_order_relaxed) != 0) {
            munmap(p, size);
            return vpar_fail(VPAR_ERR_FORMAT, "vpar_shmap_open: \"%s\" is not a vpar map", name);
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (h->total_bytes != size || h->nslots == 0 || (h->nslots & (h->nslots - 1)) ||
        h->slots_off + h->nslots * h->slot_bytes != size) {
        munmap(p, size);
        return vpar_fail(VPAR_ERR_FORMAT, "vpar_shmap_open: \"%s\" has an inconsistent header", name);
    }
    vpar_shmap *m = (vpar_shmap *)VPAR_MALLOC(sizeof *m);
    if (!m) {
        munmap(p, size);
        return vpar_fail(VPAR_ERR_NOMEM, "vpar_shmap_open: out of memory");
    }
    memset(m, 0, sizeof *m);
    m->h = h;
    m->bytes = size;
    snprintf(m->name, sizeof m->name, "%s", name);
    *out = m;
    return VPAR_OK;
}

VPAR_API void vpar_shmap_destroy(vpar_shmap *m) {
    if (!m) return;
    munmap(m->h, m->bytes);
    if (m->creator && m->creator == getpid()) {
        shm_unlink(m->name);
        vpar__shm_unregister(m->name);
    }
    VPAR_FREE(m);
}

VPAR_API vpar_status vpar_shmap_put(vpar_shmap *m, const char *key, const void *value, size_t size) {
    size_t len;
    vpar_status s = vpar__shm_check_key(m, key, &len, "vpar_shmap_put");
    if (s != VPAR_OK) return s;
    if (size > m->h->value_size || (size && !value))
        return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_put: value of %zu bytes for \"%s\" (%s; the map holds %llu-byte values)",
                         size, key, value ? "too large" : "NULL", (unsigned long long)m->h->value_size);
    vpar__shm_slot *slot;
    s = vpar__shm_find(m, key, len, 1, &slot, "vpar_shmap_put");
    if (s != VPAR_OK) return s;
    uint64_t v = vpar__shm_lock(slot);
    unsigned char *dst = vpar__shm_val(slot, m, (unsigned)((v & 1u) ^ 1u));
    if (size) memcpy(dst, value, size);
    memset(dst + size, 0, (size_t)m->h->value_size - size);
    vpar__shm_commit(slot, v);
    return VPAR_OK;
}

VPAR_API vpar_status vpar_shmap_put_double(vpar_shmap *m, const char *key, double value) {
    return vpar_shmap_put(m, key, &value, sizeof value);
}

VPAR_API vpar_status vpar_shmap_update(vpar_shmap *m, const char *key,
                                       vpar_shmap_update_fn fn, void *user) {
    size_t len;
    vpar_status s = vpar__shm_check_key(m, key, &len, "vpar_shmap_update");
    if (s != VPAR_OK) return s;
    if (!fn) return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_update: fn is NULL");
    vpar__shm_slot *slot;
    s = vpar__shm_find(m, key, len, 1, &slot, "vpar_shmap_update");
    if (s != VPAR_OK) return s;
    uint64_t v = vpar__shm_lock(slot);
    unsigned a = (unsigned)(v & 1u);
    unsigned char *dst = vpar__shm_val(slot, m, a ^ 1u);
    int existed = (v >> 1) != 0;
    if (existed) memcpy(dst, vpar__shm_val(slot, m, a), (size_t)m->h->value_size);
    else memset(dst, 0, (size_t)m->h->value_size);
    if (fn(user, dst, existed) == 0) vpar__shm_commit(slot, v);
    else vpar__shm_unlock(slot, v);
    return VPAR_OK;
}

VPAR_API vpar_status vpar_shmap_get(const vpar_shmap *m, const char *key, void *value, size_t size) {
    size_t len;
    vpar_status s = vpar__shm_check_key(m, key, &len, "vpar_shmap_get");
    if (s != VPAR_OK) return s;
    if (size && !value) return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_get: value is NULL");
    if (size > m->h->value_size) size = (size_t)m->h->value_size;
    vpar__shm_slot *slot;
    s = vpar__shm_find(m, key, len, 0, &slot, "vpar_shmap_get");
    if (s == VPAR_OK && vpar__shm_read(m, slot, value, size)) return VPAR_OK;
    if (s != VPAR_OK && s != VPAR_ERR_NOT_FOUND) return s;
    return vpar_fail(VPAR_ERR_NOT_FOUND, "vpar_shmap_get: no key \"%s\"", key);
}

VPAR_API vpar_status vpar_shmap_get_double(const vpar_shmap *m, const char *key, double *value) {
    if (m && m->h->value_size < sizeof(double))
        return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_get_double: the map holds %llu-byte values",
                         (unsigned long long)m->h->value_size);
    return vpar_shmap_get(m, key, value, sizeof *value);
}

VPAR_API size_t vpar_shmap_capacity(const vpar_shmap *m) { return m ? (size_t)m->h->capacity : 0; }
VPAR_API size_t vpar_shmap_value_size(const vpar_shmap *m) { return m ? (size_t)m->h->value_size : 0; }

VPAR_API size_t vpar_shmap_count(const vpar_shmap *m) {
    if (!m) return 0;
    size_t n = 0;
    for (uint64_t i = 0; i < m->h->nslots; i++) {
        vpar__shm_slot *s = vpar__shm_slot_at(m, i);
        if (VPAR__S_KIND(atomic_load_explicit(&s->state, memory_order_acquire)) == VPAR__S_READY &&
            (atomic_load_explicit(&s->vctl, memory_order_acquire) >> 1) != 0)
            n++;
    }
    return n;
}

VPAR_API int vpar_shmap_foreach(const vpar_shmap *m, vpar_shmap_visit_fn fn, void *user) {
    if (!m || !fn) return vpar_fail(VPAR_ERR_INVALID, "vpar_shmap_foreach: %s is NULL", m ? "fn" : "map");
    size_t vs = (size_t)m->h->value_size;
    unsigned char small[64];
    unsigned char *buf = vs <= sizeof small ? small : (unsigned char *)VPAR_MALLOC(vs);
    if (!buf) return vpar_fail(VPAR_ERR_NOMEM, "vpar_shmap_foreach: out of memory");
    int rc = 0;
    for (uint64_t i = 0; i < m->h->nslots && rc == 0; i++) {
        vpar__shm_slot *s = vpar__shm_slot_at(m, i);
        if (VPAR__S_KIND(atomic_load_explicit(&s->state, memory_order_acquire)) != VPAR__S_READY) continue;
        if (!vpar__shm_read(m, s, buf, vs)) continue;
        rc = fn(user, vpar__shm_key(s, m), buf, vs);
    }
    if (buf != small) VPAR_FREE(buf);
    return rc;
}

#endif /* VPAR_PROCPOOL_IMPLEMENTATION */
