/* vpar/pool.h — a work-stealing thread pool: parallel loops, deterministic
   reductions and fork-join tasks.

   WHAT
     A pool of N "tids" (thread ids 0..N-1): N-1 worker threads plus slot 0,
     which the calling thread occupies while it runs a parallel region. Each
     tid owns a Chase-Lev deque of tasks; an idle tid steals the oldest task
     of a random victim. Loops are split lazily (a piece is halved only when
     the executing thread's deque is empty and some thread is hungry or
     asleep), so a loop costs little when the pool is busy elsewhere and
     spreads at once when it is not. Idle workers spin for `spin_us`, then sleep on a futex
     (a condition variable off Linux): an idle pool uses no CPU.

   EXAMPLE (numpy: out = np.sqrt(x) * 2)
       static void body(void *user, size_t b, size_t e, int tid) {
           struct job *j = user;           // tid < vpar_pool_size(): index
           (void)tid;                      // per-thread scratch without atomics
           for (size_t i = b; i < e; i++) j->out[i] = sqrt(j->x[i]) * 2.0;
       }
       vpar_pool *pool;
       if (vpar_pool_create(&pool, NULL) != VPAR_OK) { ... vpar_last_error() ... }
       struct job j = {x, out};
       vpar_parallel_for(pool, 0, n, 0, body, &j);     // grain 0 = automatic
       vpar_pool_destroy(pool);
     Or use vpar_pool_default(), created on first use and shared process-wide.
     Fork-join tasks (divide and conquer) are shown at vpar_spawn.

   MODEL
     - Help-first (child stealing): vpar_spawn pushes the child and the
       parent continues; vpar_sync runs the child itself when nobody stole
       it, otherwise it helps (steals from the thief first, then anyone)
       until the child is done. A thread never blocks while it has work it
       could do, so nested parallelism (a loop inside a loop, a task that
       spawns) cannot deadlock and never adds threads: everything runs on
       the pool's N threads.
     - A thread outside the pool that starts a region (vpar_parallel_for,
       vpar_parallel_reduce, vpar_pool_run) becomes tid 0 for its duration.
       Outside threads are serialized: a second one waits (blocking) until
       the first region ends. Inside a region the same calls are nested and
       take no lock.
     - Cross-pool cycles are refused: when a task of pool A runs a loop on
       pool B whose body calls A again, that inner call on A would wait
       for A's region, which waits for it. It returns VPAR_ERR_STATE at
       once instead (deterministically, whichever thread runs the body).
       Chains of distinct pools (A -> B -> C) work. Two unrelated outside
       threads nesting A -> B and B -> A are a lock-order cycle that vpar
       cannot see: nest pools in one fixed order.
     - vpar_pool_submit queues fire-and-forget work from any thread; it runs
       on worker threads (on a 1-thread pool, in vpar_pool_wait).
       vpar_pool_wait waits for all of it; vpar_pool_destroy first finishes
       everything queued (nothing is dropped), then stops the workers.
     - fork(): only the forking thread exists in the child. Pools created
       before the fork cannot be used there (calls fail with VPAR_ERR_STATE;
       vpar_pool_destroy only frees their memory); the child can create new
       pools, and vpar_pool_default() in the child creates a fresh one.

   CONFIGURATION MACROS
     VPAR_POOL_SPIN_US      default spin before sleeping, microseconds (100)
     VPAR_POOL_DEQUE_SIZE   tasks per deque, a power of two (4096); a spawn
                            into a full deque runs the child at once
     VPAR_POOL_MAX_THREADS  upper limit on the pool size (1024)
     Environment: VPAR_NUM_THREADS=<n> sets the size when num_threads is 0.

   CALLING CONTEXTS
     Stated at each function. "Inside a task" means inside a range or task
     function running on this pool (on any of its tids).

   DETERMINISM
     vpar_parallel_reduce cuts [begin,end) into fixed chunks of `grain`
     elements (grain 0: a count that depends only on the pool size), folds
     each chunk into its own partial and combines the partials left to right
     in chunk order: the result is bit-identical for a given grain and pool
     size whatever the scheduling. Which tid runs which chunk is not
     deterministic.
*/
#ifndef VPAR_POOL_H
#define VPAR_POOL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vpar_pool vpar_pool;

typedef struct vpar_pool_desc {
    int num_threads;   /* 0: $VPAR_NUM_THREADS if set, else vpar_cpu_count() */
    int spin_us;       /* 0: default spin before sleeping; < 0: no spin */
} vpar_pool_desc;

/* Creates a pool of desc->num_threads tids (N-1 worker threads are started;
   the caller's thread is tid 0 during the regions it starts). desc NULL or
   zeroed = defaults. Errors: VPAR_ERR_INVALID (bad size or bad
   VPAR_NUM_THREADS), VPAR_ERR_NOMEM, VPAR_ERR_SYSTEM (thread creation);
   *out is NULL then. Any thread, including inside a task of another pool. */
VPAR_API vpar_status vpar_pool_create(vpar_pool **out, const vpar_pool_desc *desc /* NULL = defaults */);

/* Finishes all submitted work, stops and joins the workers, frees the pool.
   NULL is a no-op. Not inside a task of this pool, and not while another
   thread still uses the pool. In a forked child with a pool created before
   fork(): frees the memory only. */
VPAR_API void vpar_pool_destroy(vpar_pool *pool);

/* Number of tids (worker threads + 1). NULL -> 0 (no pool; the NULL-pool
   calls run serially with tid 0: size scratch by `n > 0 ? n : 1`). Same
   rule as vpar_procpool_size. Any thread. */
VPAR_API int vpar_pool_size(const vpar_pool *pool);

/* Range task: [begin, end) with tid in [0, vpar_pool_size(pool)). */
typedef void (*vpar_range_fn)(void *user, size_t begin, size_t end, int tid);

/* Runs fn over [begin, end) split into chunks of `grain` (0 = automatic:
   16 chunks per tid; fn never sees a range longer than a non-zero
   grain). Any range, [0, SIZE_MAX) included. Blocks until all chunks are
   done. Callable from outside the pool and from inside a task (nested: no
   deadlock, no oversubscription). pool == NULL runs serially on the
   calling thread with tid 0. Errors: VPAR_ERR_INVALID (end < begin, fn
   NULL), VPAR_ERR_STATE (pool from before fork(); a cross-pool cycle, see
   MODEL). Any thread. */
VPAR_API vpar_status vpar_parallel_for(vpar_pool *pool, size_t begin, size_t end,
                                       size_t grain, vpar_range_fn fn, void *user);

/* Deterministic reduction: [begin,end) is cut into chunks of `grain`
   (0 = automatic, then the cut depends on the thread count); each chunk is
   folded into its own partial (partial_size bytes, initialised by init),
   and partials are combined left to right in chunk order into *result.
   Precisely: init(result); then for k = 0, 1, ...: combine(result, p_k).
   An empty range leaves *result = init. Partials are cache-line aligned and
   padded (no false sharing); at most ~1 MiB of them exist at once (long
   chunk lists are processed in windows, same result). Errors:
   VPAR_ERR_INVALID (end < begin, partial_size 0, a NULL function or result),
   VPAR_ERR_NOMEM, VPAR_ERR_STATE (as vpar_parallel_for). Any thread, also
   inside a task. */
typedef void (*vpar_reduce_init_fn)(void *user, void *partial);
typedef void (*vpar_reduce_fn)(void *user, size_t begin, size_t end, void *partial);
typedef void (*vpar_combine_fn)(void *user, void *into, const void *from);
VPAR_API vpar_status vpar_parallel_reduce(vpar_pool *pool, size_t begin, size_t end,
        size_t grain, size_t partial_size, vpar_reduce_init_fn init,
        vpar_reduce_fn reduce, vpar_combine_fn combine, void *user, void *result);

/* Process-wide default pool, created on first use (size from
   VPAR_NUM_THREADS or vpar_cpu_count()); NULL if it cannot be created (callers
   then run serially). Safe in a forked child (recreated there). Never
   destroy it. Any thread. */
VPAR_API vpar_pool *vpar_pool_default(void);

/* ---- fork-join tasks ---------------------------------------------------- */

typedef void (*vpar_task_fn)(void *user, int tid);

#ifdef __cplusplus
#  define VPAR__ATOMIC_INT int /* layout placeholder; only C code touches it */
#else
#  define VPAR__ATOMIC_INT _Atomic int
#endif
/* A spawned task: caller-owned (usually on the stack of the spawning
   function), must stay alive until vpar_sync returns. Fields are private. */
typedef struct vpar_task {
    vpar_task_fn vpar__fn;
    void *vpar__user;
    void *vpar__owner;            /* spawning worker, NULL when run inline */
    VPAR__ATOMIC_INT vpar__done;  /* 0 queued/running, 1 done by a thief, 2 ran inline */
    VPAR__ATOMIC_INT vpar__thief; /* tid that stole it (leapfrogging hint) */
    const void *vpar__ctx;        /* regions it belongs to (nesting check) */
} vpar_task;

/* Spawns fn(user, tid) as a child of the current task: it may run on any
   tid of the pool, now or later, until vpar_sync(task). Divide and conquer:
       static void fib(void *u, int tid) {
           struct fa *a = u;
           if (a->n < 2) { a->r = a->n; return; }
           struct fa x = {a->n - 1}, y = {a->n - 2};
           vpar_task t;
           vpar_spawn(&t, fib, &x);   // x may be stolen
           fib(&y, tid);              // the parent continues
           vpar_sync(&t);             // runs x here, or helps until it is done
           a->r = x.r + y.r;
       }
       vpar_pool_run(pool, fib, &root);
   Inside a task or range function of a pool: the task goes to this thread's
   deque. Anywhere else (no pool): fn runs at once on the calling thread
   with tid 0 (serial elision), so the same code runs without a pool. */
VPAR_API void vpar_spawn(vpar_task *task, vpar_task_fn fn, void *user);

/* Returns when the task is finished; everything it wrote is visible. Call
   exactly once per spawn, on the thread that spawned it, before the
   spawning function returns. Syncing in reverse spawn order is cheapest;
   any order is correct (a sync also runs later-spawned children that are
   still queued). */
VPAR_API void vpar_sync(vpar_task *task);

/* Runs fn(user, 0) as the root task of a region on `pool` and returns when
   it has returned (fn syncs its own spawns). pool NULL: fn(user, 0) on the
   calling thread. Inside a task of this pool: a plain call with the
   current tid. Errors: VPAR_ERR_INVALID (fn NULL), VPAR_ERR_STATE (pool
   from before fork(); a cross-pool cycle, see MODEL), VPAR_ERR_SYSTEM. Any
   thread. */
VPAR_API vpar_status vpar_pool_run(vpar_pool *pool, vpar_task_fn fn, void *user);

/* ---- submitting from outside --------------------------------------------- */

/* Queues fn(user, tid) to run once on a worker thread, fire-and-forget (the
   callee may spawn, loop in parallel, submit more). FIFO start order among
   submissions. pool NULL: runs fn(user, 0) now. Errors: VPAR_ERR_INVALID,
   VPAR_ERR_NOMEM, VPAR_ERR_STATE (pool from before fork()). Any thread,
   including inside a task. */
VPAR_API vpar_status vpar_pool_submit(vpar_pool *pool, vpar_task_fn fn, void *user);

/* Blocks (sleeping, not spinning) until every task submitted so far and any
   they submitted have finished (precisely: until no submitted task is
   queued or running). On a 1-tid pool the caller runs them, including
   those other threads submit meanwhile.
   Errors: VPAR_ERR_STATE when called inside a task of this pool (it would
   wait for itself) or on a pool from before fork(). Any other thread. */
VPAR_API vpar_status vpar_pool_wait(vpar_pool *pool);

/* ---- introspection --------------------------------------------------------- */

typedef struct vpar_pool_stats {
    uint64_t steals;       /* tasks taken from another tid's deque */
    uint64_t sleeps;       /* times a worker went to sleep */
    int idle_sleeping;     /* workers asleep with no work in the pool (no timeout) */
    double worker_cpu_s;   /* CPU time used by the worker threads so far */
} vpar_pool_stats;

/* Counters for tests and tuning; values are a racy snapshot. Errors:
   VPAR_ERR_INVALID (NULL), VPAR_ERR_STATE (pool from before fork()),
   VPAR_ERR_SYSTEM (CPU clock unavailable). Any thread. */
VPAR_API vpar_status vpar_pool_get_stats(const vpar_pool *pool, vpar_pool_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_POOL_H */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if defined(VPAR_IMPLEMENTATION) && !defined(VPAR_POOL_IMPLEMENTED)
#define VPAR_POOL_IMPLEMENTED

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#if defined(__linux__) && defined(_GNU_SOURCE)
#  include <linux/futex.h>
#  include <sys/syscall.h>
#  define VPAR__POOL_FUTEX 1
#endif

#ifndef VPAR_POOL_SPIN_US
#  define VPAR_POOL_SPIN_US 100
#endif
#ifndef VPAR_POOL_DEQUE_SIZE
#  define VPAR_POOL_DEQUE_SIZE 4096
#endif
#ifndef VPAR_POOL_MAX_THREADS
#  define VPAR_POOL_MAX_THREADS 1024
#endif
#if (VPAR_POOL_DEQUE_SIZE & (VPAR_POOL_DEQUE_SIZE - 1)) != 0 || VPAR_POOL_DEQUE_SIZE < 2
#  error "VPAR_POOL_DEQUE_SIZE must be a power of two >= 2"
#endif

#define VPAR__RLX memory_order_relaxed
#define VPAR__ACQ memory_order_acquire
#define VPAR__REL memory_order_release
#define VPAR__SC memory_order_seq_cst

/* Sleeping workers re-check every millisecond while regions or submitted
   tasks are in flight: a spawn wakes sleepers with a cheap relaxed check
   (no store-load fence on the hot path), which can miss a worker that is
   just falling asleep; the timeout bounds that loss of parallelism. With no
   work in flight, sleep has no timeout (no CPU at all). */
#define VPAR__POOL_BUSY_SLEEP_NS 1000000L
#define VPAR__POOL_PATIENCE_NS 2000L

typedef struct vpar__inject {
    struct vpar__inject *next;
    vpar_task_fn fn;
    void *user;
} vpar__inject;

typedef struct vpar__worker {
    /* Written by thieves (CAS): its own cache line. */
    _Alignas(VPAR_CACHE_LINE) _Atomic int64_t top;
    char vpar__pad0[VPAR_CACHE_LINE - sizeof(_Atomic int64_t)];
    /* Written by the owner. */
    _Alignas(VPAR_CACHE_LINE) _Atomic int64_t bottom;
    int64_t pbottom;  /* owner-only: end of the private part */
    _Atomic(vpar_task *) *buf;
    struct vpar_pool *pool;
    int id;
    uint64_t rng;
    _Atomic uint64_t steals, sleeps;
    /* Futex word: 1 while asleep; a waker claims it by CAS 1 -> 0. */
    _Atomic uint32_t sleep;
    _Atomic int idle;  /* asleep without timeout (stats) */
    pthread_t thread;
    int started;
    /* Owner-only: the regions the task running on this tid belongs to. */
    const struct vpar__ctx *ctx;
#if !defined(VPAR__POOL_FUTEX)
    pthread_mutex_t mu;
    pthread_cond_t cv;
#endif
} vpar__worker;
_Static_assert(sizeof(vpar__worker) % VPAR_CACHE_LINE == 0,
               "per-worker state must be padded to whole cache lines");

struct vpar_pool {
    /* Read-only after creation. */
    vpar__worker *workers;          /* n entries, 64-aligned */
    void *workers_mem, *self_mem;
    _Atomic(vpar_task *) *bufs;
    int n;
    long spin_ns;
    unsigned long gen;              /* fork generation at creation */
    /* Read by every spinning worker on each round: rarely written. */
    _Alignas(VPAR_CACHE_LINE) _Atomic int stop;
    _Atomic size_t ninject;         /* queued submissions (hint) */
    /* Written at each outside region start/end: kept off the spinners' line. */
    _Alignas(VPAR_CACHE_LINE) _Atomic int busy;  /* regions + submitted tasks in flight */
    _Atomic uint64_t epoch;         /* bumped when work is published */
    /* Written by workers falling asleep, read at each publication. */
    _Alignas(VPAR_CACHE_LINE) _Atomic int nsleeping;
    /* Threads looking for work (idle spinners, syncs waiting on a thief).
       Loops split only while this or nsleeping is non-zero: same line,
       changed at idle/busy transitions only, read once per loop chunk. */
    _Atomic int nthieves;
    _Alignas(VPAR_CACHE_LINE) pthread_mutex_t master_mu;  /* slot 0 for outside threads */
    pthread_mutex_t inject_mu;      /* guards the queue and pending */
    pthread_cond_t done_cv;
    vpar__inject *head, *tail;
    size_t pending;                 /* submitted, not finished (under inject_mu) */
    _Atomic size_t pending_hint;
};

/* Cross-pool nesting check. A region entered by an outside thread holds
   its pool's slot 0 (master_mu) until every task of the region is done.
   Each such entry is a node naming the pool; it links to the regions the
   entering task belonged to (parent_task) and to the regions the entering
   thread already held (parent_held). Tasks carry the node chain of the
   task that spawned them. A thread about to wait for slot 0 of pool P
   while P appears among the regions of its own task or of its held ones
   would wait for a region that waits for it: that call fails instead. */
typedef struct vpar__ctx {
    const vpar_pool *pool;
    const struct vpar__ctx *parent_task, *parent_held;
} vpar__ctx;

/* The worker (tid slot) the calling thread is running for, or NULL. */
static _Thread_local vpar__worker *vpar__pool_tls;
/* Innermost region this thread entered from outside and still holds. */
static _Thread_local const vpar__ctx *vpar__pool_held;
static _Atomic unsigned long vpar__pool_fork_gen;
static _Atomic(vpar_pool *) vpar__pool_default_ptr;
/* Default pools orphaned by fork(): kept reachable (leak checkers). */
static _Atomic(vpar_pool *) vpar__pool_default_stale;
static pthread_once_t vpar__pool_once = PTHREAD_ONCE_INIT;

static void vpar__pool_atfork_child(void) {
    vpar_pool *p = atomic_exchange_explicit(&vpar__pool_default_ptr, NULL, VPAR__SC);
    if (p) atomic_store_explicit(&vpar__pool_default_stale, p, VPAR__RLX);
    atomic_fetch_add_explicit(&vpar__pool_fork_gen, 1, VPAR__SC);
    /* The forking thread may have been inside a region: it is not in the
       child's copy of that pool. */
    vpar__pool_tls = NULL;
    vpar__pool_held = NULL;
}
static void vpar__pool_init_once(void) {
    (void)pthread_atfork(NULL, NULL, vpar__pool_atfork_child);
}

static inline void vpar__pool_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint64_t vpar__pool_rand(vpar__worker *w) {
    uint64_t x = w->rng; /* xorshift64: owner-only state */
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    w->rng = x;
    return x;
}

static long vpar__pool_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* ---- Chase-Lev deque (Le, Pop, Cohen, Nardelli 2013), fence-free form:
   the store-load ordering of take/steal comes from seq_cst operations on
   top and bottom themselves, which ThreadSanitizer models exactly.

   Split in two as in Lace (van Dijk and van de Pol 2014): slots
   [top, bottom) are public (thieves may take them), [bottom, pbottom) are
   private to the owner and cost no atomic read-modify-write to push or pop.
   The owner publishes the older half of its private tasks whenever the
   public part is empty (at spawn and at sync), so thieves always find the
   oldest, largest work while the hot LIFO end stays private. */
#define VPAR__DQ_MASK ((int64_t)VPAR_POOL_DEQUE_SIZE - 1)

static void vpar__pool_wake_cheap(vpar__worker *w);

/* Owner: make the older half of the private tasks public. */
static inline void vpar__dq_publish(vpar__worker *w, int64_t b) {
    int64_t nb = b + (w->pbottom - b + 1) / 2;
    atomic_store_explicit(&w->bottom, nb, VPAR__REL);
    vpar__pool_wake_cheap(w);
}

static inline int vpar__dq_push(vpar__worker *w, vpar_task *t) {
    int64_t pb = w->pbottom;
    int64_t tp = atomic_load_explicit(&w->top, VPAR__ACQ);
    if (pb - tp >= (int64_t)VPAR_POOL_DEQUE_SIZE) return 0;
    atomic_store_explicit(&w->buf[pb & VPAR__DQ_MASK], t, VPAR__REL);
    w->pbottom = pb + 1;
    int64_t b = atomic_load_explicit(&w->bottom, VPAR__RLX);
    if (tp >= b) vpar__dq_publish(w, b); /* nothing public: thieves are hungry */
    return 1;
}

static inline vpar_task *vpar__dq_take(vpar__worker *w) {
    int64_t b = atomic_load_explicit(&w->bottom, VPAR__RLX);
    int64_t pb = w->pbottom;
    if (pb > b) {
        /* Private: nobody else can see this slot. */
        pb--;
        w->pbottom = pb;
        vpar_task *x = atomic_load_explicit(&w->buf[pb & VPAR__DQ_MASK], VPAR__RLX);
        if (pb > b && atomic_load_explicit(&w->top, VPAR__RLX) >= b) vpar__dq_publish(w, b);
        return x;
    }
    b--;
    atomic_store_explicit(&w->bottom, b, VPAR__SC);
    int64_t t = atomic_load_explicit(&w->top, VPAR__SC);
    if (t > b) {
        atomic_store_explicit(&w->bottom, b + 1, VPAR__REL);
        w->pbottom = b + 1;
        return NULL;
    }
    vpar_task *x = atomic_load_explicit(&w->buf[b & VPAR__DQ_MASK], VPAR__RLX);
    w->pbottom = b;
    if (t == b) {
        if (!atomic_compare_exchange_strong_explicit(&w->top, &t, t + 1, VPAR__SC, VPAR__RLX))
            x = NULL;
        atomic_store_explicit(&w->bottom, b + 1, VPAR__REL);
        w->pbottom = b + 1;
    }
    return x;
}

static inline vpar_task *vpar__dq_steal(vpar__worker *w) {
    int64_t t = atomic_load_explicit(&w->top, VPAR__SC);
    int64_t b = atomic_load_explicit(&w->bottom, VPAR__SC);
    if (t >= b) return NULL;
    /* May read a slot being reused; only dereferenced if the CAS wins. */
    vpar_task *x = atomic_load_explicit(&w->buf[t & VPAR__DQ_MASK], VPAR__ACQ);
    if (!atomic_compare_exchange_strong_explicit(&w->top, &t, t + 1, VPAR__SC, VPAR__RLX))
        return NULL;
    return x;
}

/* Anything a thief could take now (public part). */
static inline int vpar__dq_nonempty(vpar__worker *w) {
    return atomic_load_explicit(&w->top, VPAR__ACQ) <
           atomic_load_explicit(&w->bottom, VPAR__ACQ);
}

/* ---- sleeping and waking ------------------------------------------------- */

static void vpar__pool_futex_wait(vpar__worker *w, const struct timespec *timeout) {
#if defined(VPAR__POOL_FUTEX)
    /* EINTR/EAGAIN/ETIMEDOUT are all "re-check": the caller loops. */
    (void)syscall(SYS_futex, (void *)&w->sleep, FUTEX_WAIT_PRIVATE, 1u, timeout, NULL, 0);
#else
    if (pthread_mutex_lock(&w->mu) != 0) return;
    if (atomic_load_explicit(&w->sleep, VPAR__ACQ) == 1) {
        if (timeout) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += timeout->tv_nsec;
            ts.tv_sec += timeout->tv_sec + ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            (void)pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        } else {
            (void)pthread_cond_wait(&w->cv, &w->mu);
        }
    }
    (void)pthread_mutex_unlock(&w->mu);
#endif
}

static void vpar__pool_futex_wake(vpar__worker *w) {
#if defined(VPAR__POOL_FUTEX)
    (void)syscall(SYS_futex, (void *)&w->sleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#else
    if (pthread_mutex_lock(&w->mu) != 0) return;
    (void)pthread_cond_signal(&w->cv);
    (void)pthread_mutex_unlock(&w->mu);
#endif
}

/* Wakes up to `count` sleeping workers; returns how many. */
static int vpar__pool_wake(vpar_pool *pool, int count, int skip) {
    int woke = 0;
    for (int i = 1; i < pool->n && woke < count; i++) {
        int v = 1 + (skip + i) % (pool->n - 1);  /* spread the scan start */
        vpar__worker *w = &pool->workers[v];
        uint32_t one = 1;
        if (atomic_load_explicit(&w->sleep, VPAR__SC) == 1 &&
            atomic_compare_exchange_strong_explicit(&w->sleep, &one, 0, VPAR__SC, VPAR__RLX)) {
            /* The claimed worker counts as hungry from now on (it takes
               over this increment), so loop owners split for it even
               before it runs. */
            atomic_fetch_add_explicit(&pool->nthieves, 1, VPAR__RLX);
            atomic_fetch_sub_explicit(&pool->nsleeping, 1, VPAR__SC);
            vpar__pool_futex_wake(w);
            woke++;
        }
    }
    return woke;
}

/* Publishes work that sleepers must not miss (region start, submission):
   a Dekker pair with vpar__pool_sleep on (epoch, nsleeping). */
static void vpar__pool_publish(vpar_pool *pool, int count) {
    atomic_fetch_add_explicit(&pool->epoch, 1, VPAR__SC);
    if (atomic_load_explicit(&pool->nsleeping, VPAR__SC) > 0)
        vpar__pool_wake(pool, count, (int)(atomic_load_explicit(&pool->epoch, VPAR__RLX) & 0xffff));
}

static int vpar__pool_work_visible(vpar_pool *pool) {
    if (atomic_load_explicit(&pool->ninject, VPAR__SC) > 0) return 1;
    for (int i = 0; i < pool->n; i++)
        if (vpar__dq_nonempty(&pool->workers[i])) return 1;
    return 0;
}

/* Returns 2 if claimed by a waker (which counted us in nthieves), 1 if the
   sleep was cancelled because work showed up, 0 on timeout. `hungry`: the
   caller is counted in nthieves; it leaves that count only once it is in
   nsleeping, so that loop owners never see it in neither (and skip a split
   it needs). */
static int vpar__pool_sleep(vpar__worker *me, int hungry) {
    vpar_pool *pool = me->pool;
    uint64_t e = atomic_load_explicit(&pool->epoch, VPAR__SC);
    atomic_store_explicit(&me->sleep, 1, VPAR__SC);
    atomic_fetch_add_explicit(&pool->nsleeping, 1, VPAR__SC);
    if (hungry) atomic_fetch_sub_explicit(&pool->nthieves, 1, VPAR__RLX);
    int woken = 1;
    if (!atomic_load_explicit(&pool->stop, VPAR__SC) && !vpar__pool_work_visible(pool) &&
        atomic_load_explicit(&pool->epoch, VPAR__SC) == e) {
        int timed = atomic_load_explicit(&pool->busy, VPAR__SC) > 0;
        struct timespec ts = {0, VPAR__POOL_BUSY_SLEEP_NS};
        atomic_fetch_add_explicit(&me->sleeps, 1, VPAR__RLX);
        if (!timed) atomic_store_explicit(&me->idle, 1, VPAR__RLX);
        vpar__pool_futex_wait(me, timed ? &ts : NULL);
        atomic_store_explicit(&me->idle, 0, VPAR__RLX);
        woken = 0;
    }
    uint32_t one = 1;
    if (atomic_compare_exchange_strong_explicit(&me->sleep, &one, 0, VPAR__SC, VPAR__RLX))
        atomic_fetch_sub_explicit(&pool->nsleeping, 1, VPAR__SC);
    else
        woken = 2; /* a waker claimed us and already fixed the counters */
    return woken;
}

/* ---- running tasks ------------------------------------------------------- */

static inline void vpar__pool_run_stolen(vpar__worker *me, vpar_task *t) {
    atomic_store_explicit(&t->vpar__thief, me->id, VPAR__RLX);
    vpar_task_fn fn = t->vpar__fn;
    void *user = t->vpar__user;
    const vpar__ctx *saved = me->ctx;
    me->ctx = (const vpar__ctx *)t->vpar__ctx;
    fn(user, me->id);
    me->ctx = saved;
    /* Last touch of *t: the owner may return and reuse the memory. */
    atomic_store_explicit(&t->vpar__done, 1, VPAR__REL);
}

static vpar_task *vpar__pool_steal_any(vpar__worker *me) {
    vpar_pool *pool = me->pool;
    int n = pool->n;
    if (n < 2) return NULL;
    int start = (int)(vpar__pool_rand(me) % (uint64_t)n);
    for (int i = 0; i < n; i++) {
        int v = start + i;
        if (v >= n) v -= n;
        if (v == me->id) continue;
        vpar_task *t = vpar__dq_steal(&pool->workers[v]);
        if (t) {
            atomic_fetch_add_explicit(&me->steals, 1, VPAR__RLX);
            return t;
        }
    }
    return NULL;
}

static void vpar__pool_finish_submitted(vpar_pool *pool) {
    if (pthread_mutex_lock(&pool->inject_mu) == 0) {
        pool->pending--;
        atomic_store_explicit(&pool->pending_hint, pool->pending, VPAR__RLX);
        if (pool->pending == 0) (void)pthread_cond_broadcast(&pool->done_cv);
        (void)pthread_mutex_unlock(&pool->inject_mu);
    }
    atomic_fetch_sub_explicit(&pool->busy, 1, VPAR__SC);
}

/* Runs one submitted task if any; returns 1 if it did. */
static int vpar__pool_run_injected(vpar__worker *me) {
    vpar_pool *pool = me->pool;
    if (atomic_load_explicit(&pool->ninject, VPAR__ACQ) == 0) return 0;
    if (pthread_mutex_lock(&pool->inject_mu) != 0) return 0;
    vpar__inject *job = pool->head;
    if (job) {
        pool->head = job->next;
        if (!pool->head) pool->tail = NULL;
        atomic_fetch_sub_explicit(&pool->ninject, 1, VPAR__REL);
    }
    (void)pthread_mutex_unlock(&pool->inject_mu);
    if (!job) return 0;
    vpar_task_fn fn = job->fn;
    void *user = job->user;
    VPAR_FREE(job);
    fn(user, me->id);
    vpar__pool_finish_submitted(pool);
    return 1;
}

static void *vpar__pool_worker_main(void *arg) {
    vpar__worker *me = (vpar__worker *)arg;
    vpar_pool *pool = me->pool;
    vpar__pool_tls = me;
    long idle_since = 0;
    int may_spin = 1, hungry = 0;
    for (;;) {
        vpar_task *t = vpar__pool_steal_any(me);
        if (t) {
            if (hungry) atomic_fetch_sub_explicit(&pool->nthieves, 1, VPAR__RLX);
            hungry = 0;
            vpar__pool_run_stolen(me, t);
            idle_since = 0;
            may_spin = 1;
            continue;
        }
        if (hungry == 0 && atomic_load_explicit(&pool->ninject, VPAR__RLX) == 0) {
            atomic_fetch_add_explicit(&pool->nthieves, 1, VPAR__RLX);
            hungry = 1;
        }
        if (vpar__pool_run_injected(me)) {
            if (hungry) atomic_fetch_sub_explicit(&pool->nthieves, 1, VPAR__RLX);
            hungry = 0;
            idle_since = 0;
            may_spin = 1;
            continue;
        }
        if (atomic_load_explicit(&pool->stop, VPAR__ACQ)) break;
        if (may_spin && pool->spin_ns > 0) {
            long now = vpar__pool_now_ns();
            if (idle_since == 0) idle_since = now;
            if (now - idle_since < pool->spin_ns) {
                vpar__pool_pause();
                continue;
            }
        }
        idle_since = 0;
        may_spin = vpar__pool_sleep(me, hungry);
        hungry = may_spin == 2;
    }
    if (hungry) atomic_fetch_sub_explicit(&pool->nthieves, 1, VPAR__RLX);
    return NULL;
}

/* ---- spawn / sync ----------------------------------------------------------- */

static inline void vpar__pool_spawn_on(vpar__worker *w, vpar_task *task, vpar_task_fn fn,
                                       void *user) {
    task->vpar__fn = fn;
    task->vpar__user = user;
    task->vpar__owner = w;
    task->vpar__ctx = w->ctx;
    atomic_store_explicit(&task->vpar__done, 0, VPAR__RLX);
    atomic_store_explicit(&task->vpar__thief, -1, VPAR__RLX);
    if (!vpar__dq_push(w, task)) {
        /* Deque full: run the child now; sync sees "ran inline". */
        task->vpar__owner = NULL;
        fn(user, w->id);
        atomic_store_explicit(&task->vpar__done, 2, VPAR__RLX);
    }
}

/* After publishing tasks. Cheap check: a worker that is just falling asleep
   may be missed, see VPAR__POOL_BUSY_SLEEP_NS. */
static void vpar__pool_wake_cheap(vpar__worker *w) {
    vpar_pool *pool = w->pool;
    if (atomic_load_explicit(&pool->nsleeping, VPAR__RLX) > 0)
        vpar__pool_wake(pool, 1, w->id);
}

VPAR_API void vpar_spawn(vpar_task *task, vpar_task_fn fn, void *user) {
    vpar__worker *w = vpar__pool_tls;
    if (!w) {
        task->vpar__fn = fn;
        task->vpar__user = user;
        task->vpar__owner = NULL;
        atomic_store_explicit(&task->vpar__thief, -1, VPAR__RLX);
        fn(user, 0);
        atomic_store_explicit(&task->vpar__done, 2, VPAR__RLX);
        return;
    }
    vpar__pool_spawn_on(w, task, fn, user);
}

/* Waits for a stolen task, doing other work meanwhile. */
static void vpar__pool_wait_stolen(vpar__worker *me, vpar_task *task) {
    vpar_pool *pool = me->pool;
    unsigned fails = 0, backoff = 1;
    /* Patience first: a stolen piece is often about to finish; stealing
       back or asking the thief to split (nthieves) would cost more cache
       misses than the piece itself. After VPAR__POOL_PATIENCE_NS we help. */
    long t0 = 0;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&task->vpar__done, VPAR__ACQ)) return;
        vpar__pool_pause();
        if ((i & 7) == 0) {
            long now = vpar__pool_now_ns();
            if (t0 == 0) t0 = now;
            else if (now - t0 > VPAR__POOL_PATIENCE_NS) break;
        }
    }
    atomic_fetch_add_explicit(&pool->nthieves, 1, VPAR__RLX);
    while (!atomic_load_explicit(&task->vpar__done, VPAR__ACQ)) {
        /* Leapfrogging: the thief's deque holds descendants of our child. */
        vpar_task *t = NULL;
        int thief = atomic_load_explicit(&task->vpar__thief, VPAR__RLX);
        if (thief >= 0 && thief < pool->n && thief != me->id) {
            t = vpar__dq_steal(&pool->workers[thief]);
            if (t) atomic_fetch_add_explicit(&me->steals, 1, VPAR__RLX);
        }
        if (!t) t = vpar__pool_steal_any(me);
        if (t) {
            vpar__pool_run_stolen(me, t);
            fails = 0;
            backoff = 1;
            continue;
        }
        /* Nothing to take: back off exponentially, watching only our own
           flag, so that probing does not steal the cache lines of the
           thief's deque while it splits and pops (tiny pieces are cheaper
           for it to run than for us to steal); yield when the thief may be
           descheduled (more runnable threads than cores). */
        if (++fails < 256) {
            for (unsigned i = 0; i < backoff; i++) {
                if (atomic_load_explicit(&task->vpar__done, VPAR__RLX)) break;
                vpar__pool_pause();
            }
            if (backoff < 64) backoff *= 2;
        } else {
            sched_yield();
        }
    }
    atomic_fetch_sub_explicit(&pool->nthieves, 1, VPAR__RLX);
}

static inline void vpar__pool_sync_on(vpar__worker *me, vpar_task *task) {
    if (atomic_load_explicit(&task->vpar__done, VPAR__ACQ)) return;
    for (;;) {
        vpar_task *t = vpar__dq_take(me);
        if (!t) break;
        /* Later-spawned children still queued run first (any sync order). */
        t->vpar__owner = NULL;
        t->vpar__fn(t->vpar__user, me->id);
        atomic_store_explicit(&t->vpar__done, 2, VPAR__RLX);
        if (t == task) return;
    }
    vpar__pool_wait_stolen(me, task);
}

VPAR_API void vpar_sync(vpar_task *task) {
    if (atomic_load_explicit(&task->vpar__done, VPAR__ACQ)) return;
    vpar__worker *me = (vpar__worker *)task->vpar__owner;
    VPAR_ASSERT(me && me == vpar__pool_tls); /* sync on the spawning thread */
    vpar__pool_sync_on(me, task);
}

/* ---- regions: outside threads take slot 0 --------------------------------- */

typedef struct vpar__region {
    vpar__worker *w;
    vpar__worker *saved;
    int outside;
    vpar__ctx node;               /* outside entries: this region */
    const vpar__ctx *saved_ctx;   /* slot 0's ctx before the entry */
} vpar__region;

/* 1 if `pool` is among the regions reachable from c (see vpar__ctx). */
static int vpar__pool_ctx_has(const vpar__ctx *c, const vpar_pool *pool) {
    for (; c; c = c->parent_task) {
        if (c->pool == pool) return 1;
        if (c->parent_held && vpar__pool_ctx_has(c->parent_held, pool)) return 1;
    }
    return 0;
}

static vpar_status vpar__pool_check_gen(const vpar_pool *pool, const char *fname) {
    if (pool->gen != atomic_load_explicit(&vpar__pool_fork_gen, VPAR__ACQ))
        return vpar_fail(VPAR_ERR_STATE,
                         "%s: the pool was created before fork(); create a new pool "
                         "in the child (or use vpar_pool_default())", fname);
    return VPAR_OK;
}

static vpar_status vpar__pool_enter(vpar_pool *pool, vpar__region *r, const char *fname) {
    vpar_status st = vpar__pool_check_gen(pool, fname);
    if (st != VPAR_OK) return st;
    vpar__worker *cur = vpar__pool_tls;
    if (cur && cur->pool == pool) {
        r->w = cur;
        r->saved = cur;
        r->outside = 0;
        return VPAR_OK;
    }
    const vpar__ctx *task_ctx = cur ? cur->ctx : NULL;
    if (vpar__pool_ctx_has(task_ctx, pool) || vpar__pool_ctx_has(vpar__pool_held, pool))
        return vpar_fail(VPAR_ERR_STATE,
                         "%s: called through another pool from inside a region of this pool "
                         "(a task of this pool runs a loop on a second pool whose body calls "
                         "this pool again); waiting for this pool would deadlock", fname);
    int e = pthread_mutex_lock(&pool->master_mu);
    if (e != 0) return vpar_fail_errno(VPAR_ERR_SYSTEM, e, "%s: locking the pool", fname);
    r->saved = cur;
    r->w = &pool->workers[0];
    r->outside = 1;
    r->node.pool = pool;
    r->node.parent_task = task_ctx;
    r->node.parent_held = vpar__pool_held;
    r->saved_ctx = r->w->ctx;
    r->w->ctx = &r->node;
    vpar__pool_held = &r->node;
    vpar__pool_tls = r->w;
    atomic_fetch_add_explicit(&pool->busy, 1, VPAR__SC);
    return VPAR_OK;
}

static void vpar__pool_leave(vpar_pool *pool, vpar__region *r) {
    if (!r->outside) return;
    atomic_fetch_sub_explicit(&pool->busy, 1, VPAR__SC);
    r->w->ctx = r->saved_ctx;
    vpar__pool_held = r->node.parent_held;
    vpar__pool_tls = r->saved;
    (void)pthread_mutex_unlock(&pool->master_mu);
}

/* ---- loops ----------------------------------------------------------------- */

typedef struct vpar__loop {
    vpar_pool *pool;
    size_t begin, end, grain;
    void (*chunk)(struct vpar__loop *, size_t k, int tid);
    /* parallel_for */
    vpar_range_fn fn;
    void *user;
    /* parallel_reduce */
    vpar_reduce_init_fn init;
    vpar_reduce_fn reduce;
    unsigned char *partials;
    size_t stride, first;  /* partial of chunk k: partials + (k - first) * stride */
} vpar__loop;

typedef struct vpar__piece {
    vpar_task task;
    vpar__loop *loop;
    size_t lo, hi;
} vpar__piece;

static void vpar__pool_piece_run(vpar__loop *loop, size_t lo, size_t hi, vpar__worker *w,
                                 int publish);

static void vpar__pool_piece_fn(void *user, int tid) {
    vpar__piece *p = (vpar__piece *)user;
    vpar__pool_piece_run(p->loop, p->lo, p->hi, &p->loop->pool->workers[tid], 0);
}

/* Lazy binary splitting: halve the remaining chunks only while this
   thread's deque is empty (thieves took what was there) and some thread
   is hungry or asleep (a split wakes a sleeper: that is how an idle pool
   spreads). The first split of an outside region is unconditional.
   publish: 0 stolen piece, 1 nested loop, 2 outside region. */
static void vpar__pool_piece_run(vpar__loop *loop, size_t lo, size_t hi, vpar__worker *w,
                                 int publish) {
    vpar__piece kids[64];
    int nk = 0;
    vpar_pool *pool = w->pool;
    while (lo < hi) {
        if (hi - lo > 1 && nk < 64 && !vpar__dq_nonempty(w) &&
            (publish == 2 || atomic_load_explicit(&pool->nthieves, VPAR__RLX) > 0 ||
             atomic_load_explicit(&pool->nsleeping, VPAR__RLX) > 0)) {
            size_t mid = lo + (hi - lo) / 2;
            vpar__piece *k = &kids[nk++];
            k->loop = loop;
            k->lo = mid;
            k->hi = hi;
            hi = mid;
            vpar__pool_spawn_on(w, &k->task, vpar__pool_piece_fn, k);
            if (publish) {
                vpar__pool_publish(loop->pool, 1);
                publish = 0;
            }
            continue;
        }
        loop->chunk(loop, lo, w->id);
        lo++;
    }
    while (nk > 0) vpar__pool_sync_on(w, &kids[--nk].task);
}

static inline void vpar__pool_chunk_bounds(const vpar__loop *loop, size_t k, size_t *b,
                                           size_t *e) {
    *b = loop->begin + k * loop->grain;
    size_t left = loop->end - *b;
    *e = *b + (left < loop->grain ? left : loop->grain);
}

static void vpar__pool_for_chunk(vpar__loop *loop, size_t k, int tid) {
    size_t b, e;
    vpar__pool_chunk_bounds(loop, k, &b, &e);
    loop->fn(loop->user, b, e, tid);
}

static void vpar__pool_reduce_chunk(vpar__loop *loop, size_t k, int tid) {
    (void)tid;
    size_t b, e;
    vpar__pool_chunk_bounds(loop, k, &b, &e);
    void *p = loop->partials + (k - loop->first) * loop->stride;
    loop->init(loop->user, p);
    loop->reduce(loop->user, b, e, p);
}

static size_t vpar__pool_auto_grain(size_t n, int nthreads) {
    if (nthreads <= 1 || n == 0) return n ? n : 1;
    size_t chunks = (size_t)nthreads * 16;
    if (chunks > n) chunks = n;
    /* ceil(n / chunks) without forming n + chunks - 1 (wraps near SIZE_MAX) */
    return n / chunks + (n % chunks != 0);
}

/* Runs chunks [k0, k1) of loop on the region's worker (or serially). */
static void vpar__pool_run_chunks(vpar__loop *loop, vpar__worker *w, int outside,
                                  size_t k0, size_t k1) {
    if (!w || loop->pool->n == 1) {
        for (size_t k = k0; k < k1; k++) loop->chunk(loop, k, w ? w->id : 0);
        return;
    }
    vpar__pool_piece_run(loop, k0, k1, w, outside ? 2 : 1);
}

VPAR_API vpar_status vpar_parallel_for(vpar_pool *pool, size_t begin, size_t end, size_t grain,
                                       vpar_range_fn fn, void *user) {
    if (!fn) return vpar_fail(VPAR_ERR_INVALID, "vpar_parallel_for: fn is NULL");
    if (end < begin)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_parallel_for: end (%zu) < begin (%zu)", end,
                         begin);
    size_t n = end - begin;
    if (n == 0) return VPAR_OK;
    if (!pool) {
        if (grain == 0 || grain >= n) {
            fn(user, begin, end, 0);
        } else {
            for (size_t b = begin; b < end; b += (end - b < grain ? end - b : grain))
                fn(user, b, b + (end - b < grain ? end - b : grain), 0);
        }
        return VPAR_OK;
    }
    vpar__region r;
    memset(&r, 0, sizeof r);
    vpar_status st = vpar__pool_enter(pool, &r, "vpar_parallel_for");
    if (st != VPAR_OK) return st;
    vpar__loop loop;
    memset(&loop, 0, sizeof loop);
    loop.pool = pool;
    loop.begin = begin;
    loop.end = end;
    loop.grain = grain ? grain : vpar__pool_auto_grain(n, pool->n);
    loop.chunk = vpar__pool_for_chunk;
    loop.fn = fn;
    loop.user = user;
    size_t nchunks = n / loop.grain + (n % loop.grain != 0);
    vpar__pool_run_chunks(&loop, r.w, r.outside, 0, nchunks);
    vpar__pool_leave(pool, &r);
    return VPAR_OK;
}

VPAR_API vpar_status vpar_parallel_reduce(vpar_pool *pool, size_t begin, size_t end,
        size_t grain, size_t partial_size, vpar_reduce_init_fn init,
        vpar_reduce_fn reduce, vpar_combine_fn combine, void *user, void *result) {
    if (!init || !reduce || !combine)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_parallel_reduce: %s is NULL",
                         !init ? "init" : !reduce ? "reduce" : "combine");
    if (!result) return vpar_fail(VPAR_ERR_INVALID, "vpar_parallel_reduce: result is NULL");
    if (partial_size == 0)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_parallel_reduce: partial_size is 0");
    if (end < begin)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_parallel_reduce: end (%zu) < begin (%zu)", end,
                         begin);
    size_t n = end - begin;
    init(user, result);
    if (n == 0) return VPAR_OK;

    size_t stride = (partial_size + VPAR_CACHE_LINE - 1) / VPAR_CACHE_LINE * VPAR_CACHE_LINE;
    if (stride < partial_size)
        return vpar_fail(VPAR_ERR_OVERFLOW, "vpar_parallel_reduce: partial_size %zu too large",
                         partial_size);
    int nthreads = pool ? pool->n : 1;
    if (grain == 0) grain = vpar__pool_auto_grain(n, nthreads);
    size_t nchunks = n / grain + (n % grain != 0);
    /* Window of chunks whose partials exist at once: ~1 MiB, but at least
       16 per tid so that a window still balances. */
    size_t window = ((size_t)1 << 20) / stride;
    if (window < (size_t)nthreads * 16) window = (size_t)nthreads * 16;
    if (window > nchunks) window = nchunks;
    size_t bytes;
    if (!vpar__mul_size(window, stride, &bytes) ||
        !vpar__add_size(bytes, VPAR_CACHE_LINE, &bytes))
        return vpar_fail(VPAR_ERR_OVERFLOW, "vpar_parallel_reduce: %zu partials of %zu bytes",
                         window, partial_size);
    unsigned char *mem = (unsigned char *)VPAR_MALLOC(bytes);
    if (!mem)
        return vpar_fail(VPAR_ERR_NOMEM, "vpar_parallel_reduce: cannot allocate %zu bytes of "
                         "partials", bytes);
    unsigned char *partials =
        mem + (VPAR_CACHE_LINE - (uintptr_t)mem % VPAR_CACHE_LINE) % VPAR_CACHE_LINE;

    vpar__region r;
    memset(&r, 0, sizeof r);
    if (pool) {
        vpar_status st = vpar__pool_enter(pool, &r, "vpar_parallel_reduce");
        if (st != VPAR_OK) {
            VPAR_FREE(mem);
            return st;
        }
    }
    vpar__loop loop;
    memset(&loop, 0, sizeof loop);
    loop.pool = pool;
    loop.begin = begin;
    loop.end = end;
    loop.grain = grain;
    loop.chunk = vpar__pool_reduce_chunk;
    loop.user = user;
    loop.init = init;
    loop.reduce = reduce;
    loop.partials = partials;
    loop.stride = stride;
    for (size_t k0 = 0; k0 < nchunks; k0 += window) {
        size_t k1 = nchunks - k0 < window ? nchunks : k0 + window;
        loop.first = k0;
        vpar__pool_run_chunks(&loop, r.w, r.outside, k0, k1);
        for (size_t k = k0; k < k1; k++) combine(user, result, partials + (k - k0) * stride);
    }
    if (pool) vpar__pool_leave(pool, &r);
    VPAR_FREE(mem);
    return VPAR_OK;
}

VPAR_API vpar_status vpar_pool_run(vpar_pool *pool, vpar_task_fn fn, void *user) {
    if (!fn) return vpar_fail(VPAR_ERR_INVALID, "vpar_pool_run: fn is NULL");
    if (!pool) {
        vpar__worker *saved = vpar__pool_tls;
        vpar__pool_tls = NULL; /* spawns inside run serially */
        fn(user, 0);
        vpar__pool_tls = saved;
        return VPAR_OK;
    }
    vpar__region r;
    memset(&r, 0, sizeof r);
    vpar_status st = vpar__pool_enter(pool, &r, "vpar_pool_run");
    if (st != VPAR_OK) return st;
    if (r.outside) vpar__pool_publish(pool, 1);
    fn(user, r.w->id);
    vpar__pool_leave(pool, &r);
    return VPAR_OK;
}

/* ---- submission ---------------------------------------------------------- */

VPAR_API vpar_status vpar_pool_submit(vpar_pool *pool, vpar_task_fn fn, void *user) {
    if (!fn) return vpar_fail(VPAR_ERR_INVALID, "vpar_pool_submit: fn is NULL");
    if (!pool) {
        fn(user, 0);
        return VPAR_OK;
    }
    vpar_status st = vpar__pool_check_gen(pool, "vpar_pool_submit");
    if (st != VPAR_OK) return st;
    vpar__inject *job = (vpar__inject *)VPAR_MALLOC(sizeof *job);
    if (!job) return vpar_fail(VPAR_ERR_NOMEM, "vpar_pool_submit: out of memory");
    job->next = NULL;
    job->fn = fn;
    job->user = user;
    int e = pthread_mutex_lock(&pool->inject_mu);
    if (e != 0) {
        VPAR_FREE(job);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, e, "vpar_pool_submit: locking the queue");
    }
    atomic_fetch_add_explicit(&pool->busy, 1, VPAR__SC);
    if (pool->tail) pool->tail->next = job;
    else pool->head = job;
    pool->tail = job;
    pool->pending++;
    atomic_store_explicit(&pool->pending_hint, pool->pending, VPAR__RLX);
    atomic_fetch_add_explicit(&pool->ninject, 1, VPAR__SC);
    (void)pthread_mutex_unlock(&pool->inject_mu);
    vpar__pool_publish(pool, 1);
    return VPAR_OK;
}

VPAR_API vpar_status vpar_pool_wait(vpar_pool *pool) {
    if (!pool) return VPAR_OK;
    vpar_status st = vpar__pool_check_gen(pool, "vpar_pool_wait");
    if (st != VPAR_OK) return st;
    vpar__worker *cur = vpar__pool_tls;
    if (cur && cur->pool == pool)
        return vpar_fail(VPAR_ERR_STATE, "vpar_pool_wait: called inside a task of the same "
                         "pool (it would wait for itself)");
    int e = 0;
    for (;;) {
        if (pool->n == 1) {
            /* No workers: the caller runs the queue as tid 0. */
            vpar__region r;
            st = vpar__pool_enter(pool, &r, "vpar_pool_wait");
            if (st != VPAR_OK) return st;
            while (vpar__pool_run_injected(r.w)) {}
            vpar__pool_leave(pool, &r);
        }
        e = pthread_mutex_lock(&pool->inject_mu);
        if (e != 0) return vpar_fail_errno(VPAR_ERR_SYSTEM, e, "vpar_pool_wait: locking the queue");
        /* On a 1-tid pool a task queued after the drain above (by another
           thread) has nobody else to run it: drain again. A pending task
           that is no longer queued is running in another waiter's drain,
           which loops the same way and broadcasts when pending reaches 0. */
        while (pool->pending > 0 && !(pool->n == 1 && pool->head)) {
            e = pthread_cond_wait(&pool->done_cv, &pool->inject_mu);
            if (e != 0) break;
        }
        int again = e == 0 && pool->pending > 0;
        (void)pthread_mutex_unlock(&pool->inject_mu);
        if (!again) break;
    }
    if (e != 0) return vpar_fail_errno(VPAR_ERR_SYSTEM, e, "vpar_pool_wait: waiting");
    return VPAR_OK;
}

/* ---- creation -------------------------------------------------------------- */

/* Resolves the pool size: explicit, $VPAR_NUM_THREADS, or vpar_cpu_count(). */
static vpar_status vpar__pool_resolve_size(int requested, int *out) {
    if (requested < 0)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_pool_create: num_threads = %d is negative",
                         requested);
    if (requested > 0) {
        if (requested > VPAR_POOL_MAX_THREADS)
            return vpar_fail(VPAR_ERR_INVALID, "vpar_pool_create: num_threads = %d exceeds "
                             "VPAR_POOL_MAX_THREADS (%d)", requested, VPAR_POOL_MAX_THREADS);
        *out = requested;
        return VPAR_OK;
    }
    const char *env = getenv("VPAR_NUM_THREADS");
    if (env && *env) {
        char *endp = NULL;
        errno = 0;
        long v = strtol(env, &endp, 10);
        while (endp && (*endp == ' ' || *endp == '\t' || *endp == '\n')) endp++;
        if (errno != 0 || !endp || *endp != '\0' || v < 1 || v > VPAR_POOL_MAX_THREADS)
            return vpar_fail(VPAR_ERR_INVALID, "vpar_pool_create: VPAR_NUM_THREADS='%s': "
                             "expected an integer from 1 to %d", env, VPAR_POOL_MAX_THREADS);
        *out = (int)v;
        return VPAR_OK;
    }
    int c = vpar_cpu_count();
    *out = c > VPAR_POOL_MAX_THREADS ? VPAR_POOL_MAX_THREADS : c;
    return VPAR_OK;
}

static void vpar__pool_stop_workers(vpar_pool *pool) {
    atomic_store_explicit(&pool->stop, 1, VPAR__SC);
    atomic_fetch_add_explicit(&pool->epoch, 1, VPAR__SC);
    for (int i = 1; i < pool->n; i++) {
        vpar__worker *w = &pool->workers[i];
        if (!w->started) continue;
        /* Claim-or-miss is fine: a worker not yet asleep sees stop (seq_cst
           store above / seq_cst load in vpar__pool_sleep). */
        vpar__pool_wake(pool, pool->n, 0);
        (void)pthread_join(w->thread, NULL);
        w->started = 0;
    }
}

static void vpar__pool_free(vpar_pool *pool, int destroy_sync) {
    if (destroy_sync) {
#if !defined(VPAR__POOL_FUTEX)
        for (int i = 0; i < pool->n; i++) {
            (void)pthread_mutex_destroy(&pool->workers[i].mu);
            (void)pthread_cond_destroy(&pool->workers[i].cv);
        }
#endif
        (void)pthread_mutex_destroy(&pool->master_mu);
        (void)pthread_mutex_destroy(&pool->inject_mu);
        (void)pthread_cond_destroy(&pool->done_cv);
        while (pool->head) {
            vpar__inject *j = pool->head;
            pool->head = j->next;
            VPAR_FREE(j);
        }
    }
    VPAR_FREE(pool->bufs);
    VPAR_FREE(pool->workers_mem);
    VPAR_FREE(pool->self_mem);
}

/* vpar_pool_create, step 1: the pool and its worker/deque arrays, cache-line
   aligned by hand (malloc guarantees only 16 bytes), atomics initialised.
   NULL (error set) when out of memory. */
static vpar_pool *vpar__pool_alloc(int n, const vpar_pool_desc *d) {
    unsigned char *pm = (unsigned char *)VPAR_MALLOC(sizeof(vpar_pool) + VPAR_CACHE_LINE);
    if (!pm) {
        vpar_fail(VPAR_ERR_NOMEM, "vpar_pool_create: out of memory");
        return NULL;
    }
    vpar_pool *pool =
        (vpar_pool *)(pm + (VPAR_CACHE_LINE - (uintptr_t)pm % VPAR_CACHE_LINE) % VPAR_CACHE_LINE);
    memset(pool, 0, sizeof *pool);
    pool->self_mem = pm;
    pool->n = n;
    pool->spin_ns = d->spin_us < 0 ? 0 : (long)(d->spin_us ? d->spin_us : VPAR_POOL_SPIN_US) * 1000L;
    pool->gen = atomic_load_explicit(&vpar__pool_fork_gen, VPAR__ACQ);
    atomic_init(&pool->nsleeping, 0);
    atomic_init(&pool->nthieves, 0);
    atomic_init(&pool->epoch, 0);
    atomic_init(&pool->busy, 0);
    atomic_init(&pool->stop, 0);
    atomic_init(&pool->ninject, 0);
    atomic_init(&pool->pending_hint, 0);

    size_t wbytes = (size_t)n * sizeof(vpar__worker) + VPAR_CACHE_LINE;
    size_t bbytes = (size_t)n * VPAR_POOL_DEQUE_SIZE * sizeof(_Atomic(vpar_task *));
    pool->workers_mem = VPAR_MALLOC(wbytes);
    pool->bufs = (_Atomic(vpar_task *) *)VPAR_MALLOC(bbytes);
    if (!pool->workers_mem || !pool->bufs) {
        vpar__pool_free(pool, 0);
        vpar_fail(VPAR_ERR_NOMEM, "vpar_pool_create: out of memory for %d threads", n);
        return NULL;
    }
    unsigned char *wm = (unsigned char *)pool->workers_mem;
    pool->workers = (vpar__worker *)(wm + (VPAR_CACHE_LINE - (uintptr_t)wm % VPAR_CACHE_LINE) %
                                              VPAR_CACHE_LINE);
    memset(pool->workers, 0, (size_t)n * sizeof(vpar__worker));
    for (size_t i = 0; i < (size_t)n * VPAR_POOL_DEQUE_SIZE; i++) atomic_init(&pool->bufs[i], NULL);
    return pool;
}

/* Step 2: the pool's mutexes and condition variable; on failure none is
   left initialised. 0 or the pthread error. */
static int vpar__pool_init_sync(vpar_pool *pool) {
    int e = pthread_mutex_init(&pool->master_mu, NULL);
    if (e == 0) {
        e = pthread_mutex_init(&pool->inject_mu, NULL);
        if (e != 0) (void)pthread_mutex_destroy(&pool->master_mu);
    }
    if (e == 0) {
        e = pthread_cond_init(&pool->done_cv, NULL);
        if (e != 0) {
            (void)pthread_mutex_destroy(&pool->master_mu);
            (void)pthread_mutex_destroy(&pool->inject_mu);
        }
    }
    return e;
}

/* Step 3: each worker's deque, id and random state. */
static void vpar__pool_init_workers(vpar_pool *pool) {
    for (int i = 0; i < pool->n; i++) {
        vpar__worker *w = &pool->workers[i];
        atomic_init(&w->top, 0);
        atomic_init(&w->bottom, 0);
        w->pbottom = 0;
        w->buf = pool->bufs + (size_t)i * VPAR_POOL_DEQUE_SIZE;
        w->pool = pool;
        w->id = i;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) | 1u;
        atomic_init(&w->steals, 0);
        atomic_init(&w->sleeps, 0);
        atomic_init(&w->sleep, 0);
        atomic_init(&w->idle, 0);
#if !defined(VPAR__POOL_FUTEX)
        (void)pthread_mutex_init(&w->mu, NULL);
        (void)pthread_cond_init(&w->cv, NULL);
#endif
    }
}

/* Step 4: threads for workers 1..n-1 (worker 0 is the caller's slot),
   started with every signal blocked: asynchronous signals go to the
   program's own threads. 0, or the pthread error of the first that could
   not start (those before it are running, marked started). */
static int vpar__pool_start_threads(vpar_pool *pool) {
    sigset_t all, old;
    sigfillset(&all);
    int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
    int e = 0;
    for (int i = 1; i < pool->n; i++) {
        vpar__worker *w = &pool->workers[i];
        e = pthread_create(&w->thread, NULL, vpar__pool_worker_main, w);
        if (e != 0) break;
        w->started = 1;
#if defined(__linux__) && defined(__GLIBC__) && defined(_GNU_SOURCE)
        char name[32];
        snprintf(name, sizeof name, "vpar-w%d", i);
        name[15] = '\0'; /* the kernel keeps 15 characters */
        (void)pthread_setname_np(w->thread, name);
#endif
    }
    if (masked) (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

VPAR_API vpar_status vpar_pool_create(vpar_pool **out, const vpar_pool_desc *desc) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_pool_create: out is NULL");
    *out = NULL;
    vpar_pool_desc d = {0, 0};
    if (desc) d = *desc;
    int n = 1;
    vpar_status st = vpar__pool_resolve_size(d.num_threads, &n);
    if (st != VPAR_OK) return st;
    (void)pthread_once(&vpar__pool_once, vpar__pool_init_once);

    vpar_pool *pool = vpar__pool_alloc(n, &d);
    if (!pool) return VPAR_ERR_NOMEM;
    int e = vpar__pool_init_sync(pool);
    if (e != 0) {
        vpar__pool_free(pool, 0);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, e, "vpar_pool_create: mutex init");
    }
    vpar__pool_init_workers(pool);
    e = vpar__pool_start_threads(pool);
    if (e != 0) {
        vpar__pool_stop_workers(pool);
        vpar__pool_free(pool, 1);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, e, "vpar_pool_create: starting %d threads", n - 1);
    }
    *out = pool;
    return VPAR_OK;
}

VPAR_API void vpar_pool_destroy(vpar_pool *pool) {
    if (!pool) return;
    if (pool->gen != atomic_load_explicit(&vpar__pool_fork_gen, VPAR__ACQ)) {
        /* Forked child: the threads do not exist here and the locks may be
           in any state; release the memory only. */
        vpar__pool_free(pool, 0);
        return;
    }
    VPAR_ASSERT(!(vpar__pool_tls && vpar__pool_tls->pool == pool));
    (void)vpar_pool_wait(pool);
    vpar__pool_stop_workers(pool);
    vpar__pool_free(pool, 1);
}

VPAR_API int vpar_pool_size(const vpar_pool *pool) { return pool ? pool->n : 0; }

VPAR_API vpar_pool *vpar_pool_default(void) {
    vpar_pool *p = atomic_load_explicit(&vpar__pool_default_ptr, VPAR__ACQ);
    if (p) return p;
    vpar_pool *mine = NULL;
    if (vpar_pool_create(&mine, NULL) != VPAR_OK) return NULL;
    vpar_pool *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&vpar__pool_default_ptr, &expected, mine,
                                                memory_order_acq_rel, VPAR__ACQ))
        return mine;
    vpar_pool_destroy(mine); /* another thread won the race */
    return expected;
}

VPAR_API vpar_status vpar_pool_get_stats(const vpar_pool *pool, vpar_pool_stats *out) {
    if (!pool || !out)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_pool_get_stats: %s is NULL",
                         !pool ? "pool" : "out");
    vpar_status st = vpar__pool_check_gen(pool, "vpar_pool_get_stats");
    if (st != VPAR_OK) return st;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < pool->n; i++) {
        vpar__worker *w = &pool->workers[i];
        out->steals += atomic_load_explicit(&w->steals, VPAR__RLX);
        out->sleeps += atomic_load_explicit(&w->sleeps, VPAR__RLX);
        out->idle_sleeping += atomic_load_explicit(&w->idle, VPAR__RLX);
        if (i == 0) continue;
        clockid_t cid;
        struct timespec ts;
        int e = pthread_getcpuclockid(w->thread, &cid);
        if (e != 0)
            return vpar_fail_errno(VPAR_ERR_SYSTEM, e, "vpar_pool_get_stats: CPU clock of worker %d", i);
        if (clock_gettime(cid, &ts) != 0)
            return vpar_fail_errno(VPAR_ERR_SYSTEM, errno, "vpar_pool_get_stats: reading the CPU clock of worker %d", i);
        out->worker_cpu_s += (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    }
    return VPAR_OK;
}

#endif /* VPAR_IMPLEMENTATION */
