/* vpar/farm.h — an MPI task farm with the process pool's contract: n tasks,
   fixed-size result slots and a status per task, gathered on rank 0, with a
   durable journal so that an interrupted or crashed job resumes where it
   stopped.

   WHAT
     vpar_farm_map runs `fn(user, i, result)` for every task index i in
     [0, n) on the ranks of an MPI communicator and collects, on rank 0,
     each task's result (result_size bytes) and its status (ok, or failed
     with a code and a message) in task order. Every rank runs its tasks on
     its own thread pool (vpar_pool); only the thread that called
     vpar_farm_map (the MPI main thread) ever calls MPI, so MPI needs only
     MPI_THREAD_FUNNELED.

     Rank 0 assigns tasks dynamically: each rank holds at most
     threads + prefetch tasks, and gets more as it returns results (the
     default prefetch adapts to the measured task time so that short tasks
     travel in batches of about 2 ms of work per thread; near the end only
     idle threads get work, so no task waits in a queue while a rank
     idles). With a cost estimate (desc.cost) tasks go out largest first
     (ties in index order), otherwise in index order. Rank 0 also
     computes: its main thread dispatches (polling MPI with MPI_Iprobe
     between waits on its own completion queue: every 20-160 us while
     events come fast, backing off to VPAR_FARM_POLL_MAX, 1 ms, while
     every handed-out task is long, so that on a fully subscribed node the
     MPI threads cost about 1% of a core, not 3-5%) while its pool's worker
     threads run tasks; measured, this beats a dedicated dispatcher by
     about 4x per task (docs/farm.md), and a dispatcher would idle a whole
     node (desc.dispatcher_only = 1 keeps rank 0's pool idle). Results and
     statuses never depend on the number of ranks, threads or the schedule
     (for deterministic tasks); only which rank ran what does.

   EXAMPLE
       #define VPAR_IMPLEMENTATION
       #include "vpar/farm.h"      // needs <mpi.h>; not part of vpar.h
       static int score(void *user, size_t i, void *res) {
           return score_file(((char **)user)[i], (double *)res); // vpar_status
       }
       int provided, rank;
       MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
       MPI_Comm_rank(MPI_COMM_WORLD, &rank);
       vpar_farm_desc d = {0};
       d.journal = "scores.journal"; d.resume = 1; d.retries = 1;
       double *auc = rank ? NULL : malloc(n * sizeof *auc);
       vpar_farm_status *st = rank ? NULL : malloc(n * sizeof *st);
       vpar_status s = vpar_farm_map(n, score, files, auc, sizeof *auc, st, &d);
       if (rank == 0 && s != VPAR_OK) fprintf(stderr, "%s\n", vpar_last_error());
       MPI_Finalize();
       return vpar_farm_exit_code(s);   // 0, 1 or VPAR_FARM_EXIT_INTERRUPTED

   FAILURE SEMANTICS (vpar_farm_status.state, the procpool's vpar_task_state)
     VPAR_TASK_OK       fn returned 0; the result is valid.
     VPAR_TASK_ERROR    fn returned non-zero (code) on every attempt;
                        message holds the task thread's vpar_last_error()
                        (or "task returned <code>"). Its result is zeros.
     VPAR_TASK_NOT_RUN  the farm stopped before the task finished
                        (interrupt, max_failures reached, an error).
     A failed task is retried (desc.retries extra attempts, on any rank).
     Failures never abort the farm; after desc.max_failures tasks have
     failed for good, no more tasks are handed out, running ones finish,
     and the rest are NOT_RUN. The map returns, on every rank: VPAR_OK when
     every task is OK; VPAR_ERR_INTERRUPTED after a signal or
     vpar_farm_interrupt (even if some tasks failed too); else the status
     of the first failing task in index order (its code when it is a
     vpar_status, VPAR_ERR_INVALID otherwise); or the error that stopped
     the farm (VPAR_ERR_IO for a journal write, ...).
     A rank that dies (segfault, OOM killer, node failure) is not a task
     failure: MPI aborts the whole job. The journal is how nothing that
     finished is lost: rerun the same command with resume.

   JOURNAL (desc.journal: a file written by rank 0 only)
     Append-only: a 64-byte header (n, result_size, desc.journal_key), then
     one record per finished attempt (task, attempt, rank, host, start and
     end time, state, code, message, result bytes, length and FNV-1a-64
     checksum), fdatasync'ed after each batch of results and before the
     map returns. With desc.resume, tasks with an OK record are not run
     again: their results and statuses are restored from the journal
     (failed tasks run again). A torn last record (the job was killed
     mid-write) is detected by its length and checksum, ignored and cut
     off; damage before the last record is VPAR_ERR_FORMAT. The layout is
     in docs/farm.md; vpar_farm_journal_read reads it.

   SIGNALS
     During a map, SIGTERM and SIGUSR1 (Slurm --signal, Grid Engine s_rt /
     notify warnings) interrupt the farm (desc.keep_signals = 0): vpar
     installs a handler for the map's duration that records the request
     and then calls the handler that was there before, if any (MPICH
     installs its own SIGUSR1 handler; a program's handler keeps running);
     the previous disposition is restored when the map returns. With
     keep_signals = 1, call vpar_farm_interrupt() (async-signal-safe) from
     your own handler. Signals must be process-directed (kill, scancel,
     mpirun forwarding): vpar pool threads block signals. On any rank, an
     interrupt: no task is handed out or started any more, running tasks
     finish within desc.grace_s (default 60 s), their results are
     journaled, the journal is synced and every rank returns
     VPAR_ERR_INTERRUPTED. Programs then exit with
     VPAR_FARM_EXIT_INTERRUPTED (75, EX_TEMPFAIL: "rerun with --resume").
     Tasks still running when the grace period ends are reported NOT_RUN
     and not journaled (report.grace_expired = 1); the journal is synced
     at that moment. Every rank still waits for its own running tasks
     before returning (they use the caller's memory) and drops their
     results; a rank 0 that sees grace_expired should call
     MPI_Abort(comm, VPAR_FARM_EXIT_INTERRUPTED) at once rather than wait
     in MPI_Finalize for busy ranks.

   TEST HOOK
     VPAR_FARM_TEST_CRASH=<rank>:<k> makes that rank kill itself with
     SIGKILL after k results have been journaled (rank 0) or sent (other
     ranks): a rank crash for the cluster and resume tests.

   CONFIGURATION
     VPAR_FARM_MESSAGE_MAX   bytes of a failure message, with NUL (256)
     VPAR_FARM_HOST_MAX      bytes of a host name, with NUL (64)
     VPAR_FARM_MAX_QUEUE     most tasks queued on a rank beyond its threads
                             with the adaptive prefetch (1024)
     VPAR_FARM_POLL_MAX      longest sleep of an idle MPI thread between
                             two MPI probes, seconds (1e-3); a remote
                             result waits at most this long, or 1/64 of
                             the quiet time before it
     The implementation is compiled where VPAR_IMPLEMENTATION or
     VPAR_FARM_IMPLEMENTATION is defined (the latter compiles only the
     farm: the rest of vpar comes from the TU with VPAR_IMPLEMENTATION).
     CMake: link vpar::farm (vpar::vpar + MPI::MPI_C), present when
     VPAR_WITH_MPI found MPI.

   CALLING CONTEXTS
     vpar_farm_map: collective over desc.comm: every rank calls it with the
     same n, result_size, fn semantics and desc fields, from the thread
     that initialised MPI (MPI_THREAD_FUNNELED or higher), not inside a
     task, one map at a time. fn runs on pool threads of every rank; it
     must not call MPI. vpar_farm_task_attempt/_index: inside fn.
     vpar_farm_interrupt: anywhere, also signal handlers.
     vpar_farm_local_threads: collective over its comm, MPI main thread.
     vpar_farm_journal_read, vpar_farm_exit_code: any thread, no MPI needed.
     on_result (rank 0): on the MPI main thread, must not call MPI.

   DETERMINISM
     Results and statuses are indexed by task; they do not depend on the
     rank count, thread counts, prefetch, cost order, retries placement or
     resume (restored results are the journaled bytes). Journal record
     order and the rank/host fields do.
*/
#ifndef VPAR_FARM_H
#define VPAR_FARM_H

#include <mpi.h>

#include "common.h"
#include "pool.h"
#include "procpool.h"   /* vpar_task_state */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VPAR_FARM_MESSAGE_MAX
#  define VPAR_FARM_MESSAGE_MAX 256
#endif
#ifndef VPAR_FARM_HOST_MAX
#  define VPAR_FARM_HOST_MAX 64
#endif
#ifndef VPAR_FARM_MAX_QUEUE
#  define VPAR_FARM_MAX_QUEUE 1024
#endif
#ifndef VPAR_FARM_POLL_MAX
#  define VPAR_FARM_POLL_MAX 1e-3   /* seconds: longest idle MPI poll period */
#endif

/* Exit status of a program whose farm was interrupted (EX_TEMPFAIL). */
#define VPAR_FARM_EXIT_INTERRUPTED 75

typedef struct vpar_farm_status {
    int state;        /* vpar_task_state: OK, ERROR or NOT_RUN */
    int code;         /* ERROR: fn's return value */
    int attempts;     /* attempts started (0: never run) */
    int rank;         /* rank of the last attempt, -1 if never run */
    double seconds;   /* run time of the last attempt */
    char message[VPAR_FARM_MESSAGE_MAX]; /* ERROR: what went wrong */
} vpar_farm_status;

/* Runs task `index`; `result` points to result_size zeroed bytes (NULL
   when result_size is 0). Returns 0 on success, any other value is the
   task's error code (return a vpar_status and describe it with vpar_fail:
   the text becomes the status message). Runs on a pool thread of some
   rank; must not call MPI. */
typedef int (*vpar_farm_task_fn)(void *user, size_t index, void *result);

/* Rank 0, on the MPI thread, as each task reaches its final status (also
   for restored ones, first, in index order). Return non-zero to interrupt
   the farm. Must not call MPI. */
typedef int (*vpar_farm_result_fn)(void *user, size_t index, const void *result,
                                   const vpar_farm_status *status);

typedef struct vpar_farm_desc {
    MPI_Comm comm;           /* 0: MPI_COMM_WORLD */
    vpar_pool *pool;         /* this rank's pool; NULL: one is created with
                                `threads` worker threads for the map */
    int threads;             /* 0 (with pool NULL): vpar_farm_local_threads(comm),
                                i.e. $VPAR_NUM_THREADS if set, else this rank's
                                share of its node's CPUs; the ranks must agree
                                on 0 (it is a collective call) */
    int prefetch;            /* tasks queued per rank beyond its threads;
                                0: adaptive (about 2 ms of work per thread,
                                at least one task per thread); < 0: none */
    const double *cost;      /* n estimates (rank 0): largest first; NULL:
                                index order */
    int retries;             /* extra attempts of a failed task */
    int max_failures;        /* stop handing out after this many failed
                                tasks; 0: never */
    const char *journal;     /* rank 0: journal path; NULL: none */
    int resume;              /* 1: restore OK tasks from the journal (a
                                missing journal is created) */
    uint64_t journal_key;    /* hash of inputs/options; must match on resume */
    double grace_s;          /* after an interrupt; 0: 60 s; < 0: none */
    int keep_signals;        /* 1: never install the SIGTERM/SIGUSR1 handler */
    int dispatcher_only;     /* 1: rank 0 runs no tasks (when size > 1) */
    vpar_farm_result_fn on_result; /* rank 0; NULL: none */
    void *on_result_user;
} vpar_farm_desc;

typedef struct vpar_farm_report {   /* rank 0's account of one map */
    size_t ok, failed, not_run;     /* final states */
    size_t restored;                /* OK tasks taken from the journal */
    size_t attempts;                /* attempts run in this map, all ranks */
    int interrupted;                /* 1: a signal or vpar_farm_interrupt */
    int grace_expired;              /* 1: rank 0 gave up on running tasks */
    int ranks;                      /* communicator size */
} vpar_farm_report;

/* Runs fn over [0, n) on all ranks of desc->comm (see the top of this
   file). Rank 0 receives results (n x result_size bytes, or NULL) and
   statuses (n entries, or NULL) in task order; other ranks pass NULL. The
   same status is returned on every rank. report (rank 0, may be NULL).
   Errors: VPAR_ERR_STATE (MPI not initialised, thread level below
   FUNNELED, not the main thread, a journal that exists without resume or
   does not match), VPAR_ERR_FORMAT (damaged journal), VPAR_ERR_IO,
   VPAR_ERR_NOMEM, VPAR_ERR_INVALID (arguments differ between ranks, fn
   NULL), and the task and interrupt statuses of FAILURE SEMANTICS.
   Collective; MPI main thread, not inside a task. */
VPAR_API vpar_status vpar_farm_map(size_t n, vpar_farm_task_fn fn, void *user,
                                   void *results, size_t result_size,
                                   vpar_farm_status *status,
                                   const vpar_farm_desc *desc);
VPAR_API vpar_status vpar_farm_map_report(size_t n, vpar_farm_task_fn fn, void *user,
                                          void *results, size_t result_size,
                                          vpar_farm_status *status,
                                          const vpar_farm_desc *desc,
                                          vpar_farm_report *report);

/* Asks the running map (or the next one) of this process to stop as on
   SIGTERM. Async-signal-safe; any thread. */
VPAR_API void vpar_farm_interrupt(void);

/* Inside fn: the attempt (1-based) / task index being run; 0 elsewhere. */
VPAR_API int vpar_farm_task_attempt(void);
VPAR_API size_t vpar_farm_task_index(void);

/* Threads for this rank when ranks share a node: $VPAR_NUM_THREADS when
   set (> 0); else the CPUs this process may run on (its affinity mask, as
   vpar_cpu_count) shared among the ranks of comm (0: MPI_COMM_WORLD) on
   the same node (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED) whose
   affinity masks overlap this one, the remainder going to the lowest
   ranks; at least 1. So 2 unbound ranks on a 16-CPU node get 8 each, ranks
   bound to one core each (OpenMPI's default for 2 ranks) get 1, and ranks
   bound 2 per socket get half a socket each. Collective over comm; the MPI
   main thread. */
VPAR_API int vpar_farm_local_threads(MPI_Comm comm);

/* 0 for VPAR_OK, VPAR_FARM_EXIT_INTERRUPTED for VPAR_ERR_INTERRUPTED, 1
   otherwise. Pure. */
VPAR_API int vpar_farm_exit_code(vpar_status s);

/* One journal record as read back. host, message and result point into
   memory valid during the callback. */
typedef struct vpar_farm_record {
    uint64_t task;
    uint32_t attempt;
    int32_t rank, state, code;
    double start, end;            /* seconds since the Unix epoch */
    const char *host, *message;   /* NUL-terminated */
    const void *result;           /* result_size bytes (state OK) */
    uint64_t result_size;
} vpar_farm_record;
typedef int (*vpar_farm_record_fn)(void *user, const vpar_farm_record *rec);

/* Reads a journal: *n_tasks, *result_size and *key from its header (any
   may be NULL), then fn for every complete record in file order (fn may be
   NULL; non-zero stops the walk and is returned). A torn last record is
   skipped and counted in *torn_bytes (may be NULL). Errors:
   VPAR_ERR_NOT_FOUND, VPAR_ERR_IO, VPAR_ERR_FORMAT (not a journal, damage
   before the last record). Any thread; no MPI call. */
VPAR_API vpar_status vpar_farm_journal_read(const char *path, uint64_t *n_tasks,
                                            uint64_t *result_size, uint64_t *key,
                                            vpar_farm_record_fn fn, void *user,
                                            uint64_t *torn_bytes);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_FARM_H */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if (defined(VPAR_IMPLEMENTATION) || defined(VPAR_FARM_IMPLEMENTATION)) && \
    !defined(VPAR_FARM_IMPLEMENTED)
#define VPAR_FARM_IMPLEMENTED

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

/* ---- process-wide state -------------------------------------------------- */

static _Atomic int vpar__farm_stop_req;           /* interrupt requested */
static _Thread_local int vpar__farm_cur_attempt;
static _Thread_local size_t vpar__farm_cur_index;

VPAR_API void vpar_farm_interrupt(void) {
    atomic_store_explicit(&vpar__farm_stop_req, 1, memory_order_relaxed);
}
VPAR_API int vpar_farm_task_attempt(void) { return vpar__farm_cur_attempt; }
VPAR_API size_t vpar_farm_task_index(void) { return vpar__farm_cur_index; }

VPAR_API int vpar_farm_exit_code(vpar_status s) {
    if (s == VPAR_OK) return 0;
    if (s == VPAR_ERR_INTERRUPTED) return VPAR_FARM_EXIT_INTERRUPTED;
    return 1;
}

/* Dispositions replaced during a map; a previous handler (e.g. MPICH's own
   SIGUSR1 handler) is called after ours. */
static struct sigaction vpar__farm_prev_term, vpar__farm_prev_usr1;

static void vpar__farm_on_signal(int sig, siginfo_t *info, void *uctx) {
    vpar_farm_interrupt();
    const struct sigaction *p = sig == SIGTERM ? &vpar__farm_prev_term : &vpar__farm_prev_usr1;
    if (p->sa_flags & SA_SIGINFO) {
        if (p->sa_sigaction) p->sa_sigaction(sig, info, uctx);
    } else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN && p->sa_handler) {
        p->sa_handler(sig);
    }
}

static double vpar__farm_wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double vpar__farm_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t vpar__farm_fnv(uint64_t h, const void *p, size_t len) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < len; i++) { h ^= b[i]; h *= 0x100000001b3ULL; }
    return h;
}
#define VPAR__FARM_FNV0 0xcbf29ce484222325ULL

/* ---- journal format ------------------------------------------------------ */

#define VPAR__FARM_JMAGIC "VPARFJ01"
#define VPAR__FARM_RMAGIC 0x4A524656u   /* "VFRJ" little-endian */
#define VPAR__FARM_HDR 64
#define VPAR__FARM_RFIX 64              /* fixed part of a record */

typedef struct vpar__farm_rhdr {        /* 64 bytes, host byte order */
    uint32_t magic, total_len;
    uint64_t task;
    uint32_t attempt;
    int32_t rank, state, code;
    double start, end;
    uint16_t host_len, msg_len;
    uint32_t reserved;
    uint64_t result_len;
} vpar__farm_rhdr;
_Static_assert(sizeof(vpar__farm_rhdr) == VPAR__FARM_RFIX, "journal record header is 64 bytes");

static void vpar__farm_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t vpar__farm_get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void vpar__farm_header(unsigned char h[VPAR__FARM_HDR], uint64_t n,
                              uint64_t rsize, uint64_t key) {
    memset(h, 0, VPAR__FARM_HDR);
    memcpy(h, VPAR__FARM_JMAGIC, 8);
    uint32_t ver = 1, hs = VPAR__FARM_HDR;
    memcpy(h + 8, &ver, 4);
    memcpy(h + 12, &hs, 4);
    vpar__farm_put64(h + 16, n);
    vpar__farm_put64(h + 24, rsize);
    vpar__farm_put64(h + 32, key);
    vpar__farm_put64(h + 56, vpar__farm_fnv(VPAR__FARM_FNV0, h, 56));
}

static vpar_status vpar__farm_read_all(const char *path, unsigned char **out, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return vpar_fail(VPAR_ERR_NOT_FOUND, "%s: no such journal", path);
        return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot open journal", path);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno; close(fd);
        return vpar_fail_errno(VPAR_ERR_IO, e, "%s: cannot stat journal", path);
    }
    size_t sz = (size_t)sb.st_size, got = 0;
    unsigned char *buf = (unsigned char *)VPAR_MALLOC(sz ? sz : 1);
    if (!buf) { close(fd); return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); }
    while (got < sz) {
        ssize_t r = read(fd, buf + got, sz - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            VPAR_FREE(buf); close(fd);
            return vpar_fail_errno(VPAR_ERR_IO, e, "%s: cannot read journal", path);
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = sz;
    return VPAR_OK;
}

/* Parses buf; *good_len = bytes up to the end of the last complete record. */
static vpar_status vpar__farm_parse(const char *path, const unsigned char *buf, size_t len,
                                    uint64_t *n, uint64_t *rsize, uint64_t *key,
                                    vpar_farm_record_fn fn, void *user,
                                    size_t *good_len, int *stopped) {
    *stopped = 0;
    if (len < VPAR__FARM_HDR || memcmp(buf, VPAR__FARM_JMAGIC, 8) != 0)
        return vpar_fail(VPAR_ERR_FORMAT, "%s: not a vpar farm journal (bad header)", path);
    if (vpar__farm_get64(buf + 56) != vpar__farm_fnv(VPAR__FARM_FNV0, buf, 56))
        return vpar_fail(VPAR_ERR_FORMAT, "%s: journal header checksum mismatch", path);
    if (n) *n = vpar__farm_get64(buf + 16);
    if (rsize) *rsize = vpar__farm_get64(buf + 24);
    if (key) *key = vpar__farm_get64(buf + 32);
    size_t off = VPAR__FARM_HDR;
    char host[VPAR_FARM_HOST_MAX + 1], msg[VPAR_FARM_MESSAGE_MAX + 1];
    while (off < len) {
        size_t left = len - off;
        vpar__farm_rhdr h;
        int ok = left >= VPAR__FARM_RFIX + 8;
        size_t total = 0;
        if (ok) {
            memcpy(&h, buf + off, sizeof h);
            total = h.total_len;
            ok = h.magic == VPAR__FARM_RMAGIC && total >= VPAR__FARM_RFIX + 8 &&
                 (uint64_t)VPAR__FARM_RFIX + h.host_len + h.msg_len + h.result_len + 8 == total &&
                 total <= left &&
                 vpar__farm_get64(buf + off + total - 8) ==
                     vpar__farm_fnv(VPAR__FARM_FNV0, buf + off, total - 8) &&
                 h.host_len <= VPAR_FARM_HOST_MAX && h.msg_len <= VPAR_FARM_MESSAGE_MAX;
        }
        if (!ok) {
            /* A torn tail: the record runs past the end of the file, or it is
               the last thing in the file. Anything followed by more bytes
               that form a record boundary is real damage. */
            int tail = left < VPAR__FARM_RFIX + 8 || total < VPAR__FARM_RFIX + 8 ||
                       total >= left || h.magic != VPAR__FARM_RMAGIC;
            if (!tail)
                return vpar_fail(VPAR_ERR_FORMAT,
                                 "%s: damaged journal record at byte %zu (checksum mismatch "
                                 "before the last record)", path, off);
            if (h.magic != VPAR__FARM_RMAGIC && left >= VPAR__FARM_RFIX + 8) {
                /* Garbage with no record magic: torn only if nothing after it
                   looks like a record either (it is the tail). */
                for (size_t p = off + 1; p + 4 <= len; p++) {
                    uint32_t m; memcpy(&m, buf + p, 4);
                    if (m == VPAR__FARM_RMAGIC)
                        return vpar_fail(VPAR_ERR_FORMAT,
                                         "%s: damaged journal record at byte %zu", path, off);
                }
            }
            break;
        }
        const unsigned char *p = buf + off + VPAR__FARM_RFIX;
        memcpy(host, p, h.host_len); host[h.host_len] = '\0'; p += h.host_len;
        memcpy(msg, p, h.msg_len); msg[h.msg_len] = '\0'; p += h.msg_len;
        vpar_farm_record r;
        r.task = h.task; r.attempt = h.attempt; r.rank = h.rank; r.state = h.state;
        r.code = h.code; r.start = h.start; r.end = h.end;
        r.host = host; r.message = msg; r.result = p; r.result_size = h.result_len;
        off += total;
        if (fn) {
            int rc = fn(user, &r);
            if (rc) { *good_len = off; *stopped = rc; return VPAR_OK; }
        }
    }
    *good_len = off < len ? off : len;
    return VPAR_OK;
}

VPAR_API vpar_status vpar_farm_journal_read(const char *path, uint64_t *n_tasks,
                                            uint64_t *result_size, uint64_t *key,
                                            vpar_farm_record_fn fn, void *user,
                                            uint64_t *torn_bytes) {
    unsigned char *buf;
    size_t len, good = 0;
    int stopped = 0;
    vpar_status s = vpar__farm_read_all(path, &buf, &len);
    if (s != VPAR_OK) return s;
    s = vpar__farm_parse(path, buf, len, n_tasks, result_size, key, fn, user, &good, &stopped);
    VPAR_FREE(buf);
    if (s != VPAR_OK) return s;
    if (torn_bytes) *torn_bytes = stopped ? 0 : (uint64_t)(len - good);
    return stopped ? (vpar_status)stopped : VPAR_OK;
}

static vpar_status vpar__farm_write_full(int fd, const char *path, const void *p, size_t len) {
    const unsigned char *b = (const unsigned char *)p;
    while (len) {
        ssize_t w = write(fd, b, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot write journal", path);
        b += w; len -= (size_t)w;
    }
    return VPAR_OK;
}

static vpar_status vpar__farm_sync_dir(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) { dir[0] = '.'; dir[1] = '\0'; }
    else {
        size_t l = (size_t)(slash - path);
        if (l == 0) l = 1;
        if (l >= sizeof dir) return VPAR_OK;
        memcpy(dir, path, l); dir[l] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return VPAR_OK;
    fsync(fd);
    close(fd);
    return VPAR_OK;
}

/* ---- the map ------------------------------------------------------------- */

enum { VPAR__FARM_TAG_ASSIGN = 1, VPAR__FARM_TAG_RESULT = 2,
       VPAR__FARM_TAG_INTR = 3, VPAR__FARM_TAG_STOP = 4, VPAR__FARM_TAG_DONE = 5 };

typedef struct vpar__farm_assign { uint64_t index; int32_t attempt, pad; } vpar__farm_assign;

typedef struct vpar__farm_item {        /* one finished attempt on the wire */
    uint64_t index;
    int32_t attempt, state, code, msg_len;
    double start, end;
} vpar__farm_item;                      /* then msg_len bytes, result_size bytes */

struct vpar__farm_ctx;
typedef struct vpar__farm_slot {
    struct vpar__farm_ctx *ctx;
    uint64_t index;
    int attempt, state, code;
    double start, end;
    char msg[VPAR_FARM_MESSAGE_MAX];
    unsigned char *result;
    int next_done;                      /* completion list link */
} vpar__farm_slot;

typedef struct vpar__farm_ctx {
    vpar_farm_task_fn fn;
    void *user;
    size_t result_size;
    vpar__farm_slot *slots;
    int nslots, *free_slots, nfree;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done_head, done_tail;           /* FIFO of finished slots */
    int inflight;                       /* slots submitted, not yet collected */
    vpar_pool *pool;
    int inline_mode;                    /* pool of 1: the MPI thread runs tasks */
    int *pending, npending;             /* inline mode: slots to run */
    unsigned char *rbuf;                /* result buffers of all slots */
} vpar__farm_ctx;

static void vpar__farm_run_slot(void *u, int tid) {
    (void)tid;
    vpar__farm_slot *s = (vpar__farm_slot *)u;
    vpar__farm_ctx *c = s->ctx;
    if (c->result_size) memset(s->result, 0, c->result_size);
    s->msg[0] = '\0';
    s->code = 0;
    if (atomic_load_explicit(&vpar__farm_stop_req, memory_order_relaxed)) {
        s->state = VPAR_TASK_NOT_RUN;
        s->start = s->end = 0;
    } else {
        vpar__farm_cur_attempt = s->attempt;
        vpar__farm_cur_index = (size_t)s->index;
        vpar_clear_error();
        s->start = vpar__farm_wall();
        int rc = c->fn(c->user, (size_t)s->index, c->result_size ? s->result : NULL);
        s->end = vpar__farm_wall();
        vpar__farm_cur_attempt = 0;
        if (rc == 0) s->state = VPAR_TASK_OK;
        else {
            s->state = VPAR_TASK_ERROR;
            s->code = rc;
            const char *e = vpar_last_error();
            if (e && e[0]) {
                size_t l = strnlen(e, sizeof s->msg - 1);
                memcpy(s->msg, e, l);
                s->msg[l] = '\0';
            }
            else snprintf(s->msg, sizeof s->msg, "task %llu returned %d",
                          (unsigned long long)s->index, rc);
            if (c->result_size) memset(s->result, 0, c->result_size);
        }
    }
    int id = (int)(s - c->slots);
    pthread_mutex_lock(&c->mu);
    s->next_done = -1;
    if (c->done_tail < 0) c->done_head = id;
    else c->slots[c->done_tail].next_done = id;
    c->done_tail = id;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Starts attempt `attempt` of `index` on this rank (a free slot exists). */
static vpar_status vpar__farm_start(vpar__farm_ctx *c, uint64_t index, int attempt) {
    VPAR_ASSERT(c->nfree > 0);
    int id = c->free_slots[--c->nfree];
    vpar__farm_slot *s = &c->slots[id];
    s->index = index;
    s->attempt = attempt;
    c->inflight++;
    if (c->inline_mode) { c->pending[c->npending++] = id; return VPAR_OK; }
    vpar_status st = vpar_pool_submit(c->pool, vpar__farm_run_slot, s);
    if (st != VPAR_OK) { c->inflight--; c->free_slots[c->nfree++] = id; }
    return st;
}

/* Takes the finished slots (FIFO); waits up to wait_s when none is ready
   (inline mode: runs one pending task instead). Returns the list head. */
static int vpar__farm_collect(vpar__farm_ctx *c, double wait_s) {
    if (c->inline_mode && c->npending > 0) {
        int id = c->pending[0];
        memmove(c->pending, c->pending + 1, (size_t)(c->npending - 1) * sizeof *c->pending);
        c->npending--;
        vpar__farm_run_slot(&c->slots[id], 0);
    }
    pthread_mutex_lock(&c->mu);
    if (c->done_head < 0 && wait_s > 0 && !c->inline_mode) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + (long)(wait_s * 1e9);
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    int head = c->done_head;
    c->done_head = c->done_tail = -1;
    pthread_mutex_unlock(&c->mu);
    return head;
}

static void vpar__farm_release(vpar__farm_ctx *c, int id) {
    c->free_slots[c->nfree++] = id;
    c->inflight--;
}

/* Test hook: VPAR_FARM_TEST_CRASH=<rank>:<k>. */
static long vpar__farm_crash_after(int rank) {
    const char *e = getenv("VPAR_FARM_TEST_CRASH");
    if (!e) return -1;
    int r; long k;
    if (sscanf(e, "%d:%ld", &r, &k) != 2 || r != rank) return -1;
    return k;
}

/* Rank 0 state. */
typedef struct vpar__farm_master {
    const vpar_farm_desc *d;
    size_t n, result_size;
    unsigned char *results;
    vpar_farm_status *status;           /* n (caller's or ours) */
    uint64_t *order; size_t order_len, order_pos;
    uint64_t *retry; int *retry_att; size_t retry_head, retry_len, retry_cap;
    int *attempts;                      /* per task: attempts started */
    int size;
    int *threads, *cap, *maxcap, *outstanding;   /* per rank */
    double task_s; size_t task_n;       /* measured attempt times */
    char (*hosts)[VPAR_FARM_HOST_MAX];
    vpar__farm_assign **abuf; MPI_Request *areq;
    int jfd; const char *jpath;
    unsigned char *jbuf; size_t jlen, jcap;
    size_t finals, failed;
    int stopping;                       /* no more handing out */
    vpar_status error;                  /* first farm-level error */
    long crash_after, journaled;
    vpar_farm_report rep;
} vpar__farm_master;

static vpar_status vpar__farm_jappend(vpar__farm_master *m, const void *p, size_t len) {
    if (m->jlen + len > m->jcap) {
        size_t nc = m->jcap ? m->jcap * 2 : 65536;
        while (nc < m->jlen + len) nc *= 2;
        unsigned char *nb = (unsigned char *)VPAR_REALLOC(m->jbuf, nc);
        if (!nb) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", m->jpath);
        m->jbuf = nb; m->jcap = nc;
    }
    memcpy(m->jbuf + m->jlen, p, len);
    m->jlen += len;
    return VPAR_OK;
}

static vpar_status vpar__farm_jrecord(vpar__farm_master *m, uint64_t index, int attempt,
                                      int rank, int state, int code, double start,
                                      double end, const char *msg, const void *result) {
    if (m->jfd < 0) return VPAR_OK;
    vpar__farm_rhdr h;
    memset(&h, 0, sizeof h);
    const char *host = m->hosts[rank];
    size_t hl = strnlen(host, VPAR_FARM_HOST_MAX - 1);
    size_t ml = msg ? strnlen(msg, VPAR_FARM_MESSAGE_MAX - 1) : 0;
    size_t rl = state == VPAR_TASK_OK ? m->result_size : 0;
    h.magic = VPAR__FARM_RMAGIC;
    h.total_len = (uint32_t)(VPAR__FARM_RFIX + hl + ml + rl + 8);
    h.task = index; h.attempt = (uint32_t)attempt; h.rank = rank; h.state = state;
    h.code = code; h.start = start; h.end = end;
    h.host_len = (uint16_t)hl; h.msg_len = (uint16_t)ml; h.result_len = rl;
    size_t at = m->jlen;
    vpar_status s;
    if ((s = vpar__farm_jappend(m, &h, sizeof h)) != VPAR_OK) return s;
    if ((s = vpar__farm_jappend(m, host, hl)) != VPAR_OK) return s;
    if (ml && (s = vpar__farm_jappend(m, msg, ml)) != VPAR_OK) return s;
    if (rl && (s = vpar__farm_jappend(m, result, rl)) != VPAR_OK) return s;
    unsigned char ck[8];
    vpar__farm_put64(ck, vpar__farm_fnv(VPAR__FARM_FNV0, m->jbuf + at, m->jlen - at));
    return vpar__farm_jappend(m, ck, 8);
}

/* Writes the buffered records and syncs them. */
static vpar_status vpar__farm_jflush(vpar__farm_master *m) {
    if (m->jfd < 0 || m->jlen == 0) return VPAR_OK;
    vpar_status s = vpar__farm_write_full(m->jfd, m->jpath, m->jbuf, m->jlen);
    size_t nrec = 0;
    if (s == VPAR_OK && fdatasync(m->jfd) != 0)
        s = vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot sync journal", m->jpath);
    if (s == VPAR_OK && m->crash_after >= 0) {
        /* count records just written */
        size_t off = 0;
        while (off < m->jlen) { uint32_t tl; memcpy(&tl, m->jbuf + off + 4, 4); off += tl; nrec++; }
        m->journaled += (long)nrec;
        if (m->journaled >= m->crash_after) raise(SIGKILL);
    }
    m->jlen = 0;
    return s;
}

static void vpar__farm_final(vpar__farm_master *m, uint64_t index, int state, int code,
                             int rank, double secs, const char *msg, const void *result) {
    vpar_farm_status *st = &m->status[index];
    st->state = state; st->code = code; st->rank = rank; st->seconds = secs;
    st->attempts = m->attempts[index];
    st->message[0] = '\0';
    if (msg && state != VPAR_TASK_OK) snprintf(st->message, sizeof st->message, "%s", msg);
    if (m->results && m->result_size) {
        unsigned char *dst = m->results + index * m->result_size;
        if (state == VPAR_TASK_OK && result) memcpy(dst, result, m->result_size);
        else memset(dst, 0, m->result_size);
    }
    m->finals++;
    if (state == VPAR_TASK_OK) m->rep.ok++;
    else if (state == VPAR_TASK_ERROR) m->rep.failed++;
    else m->rep.not_run++;
    if (m->d->on_result &&
        m->d->on_result(m->d->on_result_user, (size_t)index,
                        state == VPAR_TASK_OK ? result : NULL, st) != 0) {
        m->rep.interrupted = 1;
        m->stopping = 1;
    }
}

/* One finished attempt, from any rank (rank 0's own included). */
static void vpar__farm_handle(vpar__farm_master *m, int rank, uint64_t index, int attempt,
                              int state, int code, double start, double end,
                              const char *msg, const void *result) {
    m->outstanding[rank]--;
    if (index >= m->n) return;
    double secs = end > start ? end - start : 0;
    if (state == VPAR_TASK_NOT_RUN) {
        m->rep.interrupted = 1;
        m->stopping = 1;
        vpar__farm_final(m, index, VPAR_TASK_NOT_RUN, 0, -1, 0, NULL, NULL);
        m->status[index].attempts = attempt - 1;
        return;
    }
    m->rep.attempts++;
    m->task_s += secs;
    m->task_n++;
    if (m->error == VPAR_OK) {
        vpar_status s = vpar__farm_jrecord(m, index, attempt, rank, state, code, start, end,
                                           msg, result);
        if (s != VPAR_OK) { m->error = s; m->stopping = 1; }
    }
    if (state == VPAR_TASK_OK) {
        vpar__farm_final(m, index, state, 0, rank, secs, NULL, result);
        return;
    }
    if (attempt < 1 + m->d->retries && !m->stopping) {
        if (m->retry_len == m->retry_cap) {    /* cannot happen: cap = n */
            vpar__farm_final(m, index, state, code, rank, secs, msg, NULL);
            m->failed++;
            return;
        }
        size_t at = (m->retry_head + m->retry_len) % m->retry_cap;
        m->retry[at] = index; m->retry_att[at] = attempt + 1;
        m->retry_len++;
        return;
    }
    vpar__farm_final(m, index, state, code, rank, secs, msg, NULL);
    m->failed++;
    if (m->d->max_failures > 0 && m->failed >= (size_t)m->d->max_failures) m->stopping = 1;
}

static int vpar__farm_next(vpar__farm_master *m, uint64_t *index, int *attempt) {
    if (m->stopping) return 0;
    if (m->retry_len) {
        *index = m->retry[m->retry_head];
        *attempt = m->retry_att[m->retry_head];
        m->retry_head = (m->retry_head + 1) % m->retry_cap;
        m->retry_len--;
        return 1;
    }
    if (m->order_pos < m->order_len) {
        *index = m->order[m->order_pos++];
        *attempt = 1;
        return 1;
    }
    return 0;
}

static size_t vpar__farm_left(const vpar__farm_master *m) {
    return m->stopping ? 0 : m->retry_len + (m->order_len - m->order_pos);
}

/* Sorting by cost, largest first, ties by index. */
static const double *vpar__farm_sort_cost;
static int vpar__farm_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    double cx = vpar__farm_sort_cost[x], cy = vpar__farm_sort_cost[y];
    if (cx > cy) return -1;
    if (cx < cy) return 1;
    return x < y ? -1 : x > y;
}

typedef struct vpar__farm_restore { vpar__farm_master *m; unsigned char *seen; } vpar__farm_restore;
static int vpar__farm_restore_rec(void *u, const vpar_farm_record *r) {
    vpar__farm_restore *rs = (vpar__farm_restore *)u;
    vpar__farm_master *m = rs->m;
    if (r->task >= m->n) return 0;
    if (r->state == VPAR_TASK_OK && r->result_size == m->result_size) {
        vpar_farm_status *st = &m->status[r->task];
        st->state = VPAR_TASK_OK; st->code = 0; st->attempts = (int)r->attempt;
        st->rank = r->rank; st->seconds = r->end > r->start ? r->end - r->start : 0;
        st->message[0] = '\0';
        if (m->results && m->result_size)
            memcpy(m->results + r->task * m->result_size, r->result, m->result_size);
        rs->seen[r->task] = 1;
    }
    return 0;
}

static vpar_status vpar__farm_open_journal(vpar__farm_master *m, unsigned char *done) {
    const vpar_farm_desc *d = m->d;
    const char *path = d->journal;
    m->jpath = path;
    unsigned char *buf = NULL;
    size_t len = 0;
    vpar_status s = vpar__farm_read_all(path, &buf, &len);
    if (s == VPAR_OK && len > 0) {
        if (!d->resume) {
            VPAR_FREE(buf);
            return vpar_fail(VPAR_ERR_STATE, "%s: journal exists; resume from it or remove it",
                             path);
        }
        uint64_t jn, jr, jk;
        size_t good = 0;
        int stopped;
        vpar__farm_restore rs = {m, done};
        s = vpar__farm_parse(path, buf, len, &jn, &jr, &jk, NULL, NULL, &good, &stopped);
        if (s == VPAR_OK && (jn != m->n || jr != m->result_size || jk != d->journal_key))
            s = vpar_fail(VPAR_ERR_STATE,
                          "%s: journal made for %llu tasks of %llu bytes (key %016llx), this "
                          "run has %zu tasks of %zu bytes (key %016llx)", path,
                          (unsigned long long)jn, (unsigned long long)jr,
                          (unsigned long long)jk, m->n, m->result_size,
                          (unsigned long long)d->journal_key);
        if (s == VPAR_OK)
            s = vpar__farm_parse(path, buf, len, NULL, NULL, NULL, vpar__farm_restore_rec, &rs,
                                 &good, &stopped);
        VPAR_FREE(buf);
        if (s != VPAR_OK) return s;
        m->jfd = open(path, O_WRONLY | O_CLOEXEC);
        if (m->jfd < 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot open journal", path);
        if (good < len) {   /* cut the torn tail off before appending */
            if (ftruncate(m->jfd, (off_t)good) != 0 || fdatasync(m->jfd) != 0)
                return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot truncate torn tail", path);
        }
        if (lseek(m->jfd, 0, SEEK_END) < 0)
            return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot seek journal", path);
        return VPAR_OK;
    }
    VPAR_FREE(buf);
    if (s != VPAR_OK && s != VPAR_ERR_NOT_FOUND) return s;
    vpar_clear_error();
    m->jfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (m->jfd < 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot create journal", path);
    unsigned char h[VPAR__FARM_HDR];
    vpar__farm_header(h, m->n, m->result_size, d->journal_key);
    s = vpar__farm_write_full(m->jfd, path, h, sizeof h);
    if (s == VPAR_OK && fsync(m->jfd) != 0)
        s = vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot sync journal", path);
    if (s == VPAR_OK) s = vpar__farm_sync_dir(path);
    return s;
}

/* Fills rank r (r > 0) up to its capacity with one ASSIGN message. */
static void vpar__farm_fill_remote(vpar__farm_master *m, MPI_Comm comm, int r, size_t total_cap) {
    if (m->stopping || m->cap[r] == 0) return;
    int flag = 1;
    if (m->areq[r] != MPI_REQUEST_NULL) {
        MPI_Test(&m->areq[r], &flag, MPI_STATUS_IGNORE);
        if (!flag) return;
    }
    int want = m->cap[r] - m->outstanding[r];
    /* Tail: when fewer tasks remain than all ranks can hold, only idle
       threads get work (no task waits in one queue while another rank
       idles). */
    if (vpar__farm_left(m) < total_cap) want = m->threads[r] - m->outstanding[r];
    int k = 0;
    uint64_t idx; int att;
    while (k < want && vpar__farm_next(m, &idx, &att)) {
        m->abuf[r][k].index = idx; m->abuf[r][k].attempt = att; m->abuf[r][k].pad = 0;
        m->attempts[idx] = att;
        k++;
    }
    if (k == 0) return;
    m->outstanding[r] += k;
    MPI_Isend(m->abuf[r], (int)(k * sizeof(vpar__farm_assign)), MPI_BYTE, r,
              VPAR__FARM_TAG_ASSIGN, comm, &m->areq[r]);
}

/* Most tasks queued beyond the threads (slots a rank allocates). */
static int vpar__farm_max_pre(const vpar_farm_desc *d, int threads) {
    if (d->prefetch < 0) return 0;
    if (d->prefetch > 0) return d->prefetch;
    return VPAR_FARM_MAX_QUEUE > threads ? VPAR_FARM_MAX_QUEUE : threads;
}

/* Adaptive prefetch: about 2 ms of work queued per thread. */
static size_t vpar__farm_update_caps(vpar__farm_master *m) {
    size_t total = 0;
    for (int r = 0; r < m->size; r++) {
        int t = m->threads[r];
        if (t && m->d->prefetch == 0 && m->task_n > 0) {
            double mean = m->task_s / (double)m->task_n;
            if (mean < 1e-8) mean = 1e-8;
            double pre = (double)t * 2e-3 / mean;
            int maxpre = m->maxcap[r] - t;
            int p = pre > (double)maxpre ? maxpre : pre < (double)t ? t : (int)pre;
            m->cap[r] = t + p;
        }
        total += (size_t)m->cap[r];
    }
    return total;
}

VPAR_API int vpar_farm_local_threads(MPI_Comm comm) {
    int cpus = vpar_cpu_count(), sharing = 1, before = 0;
    MPI_Comm node;
    if (MPI_Comm_split_type(comm ? comm : MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0,
                            MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        int local = 1, me = 0;
        MPI_Comm_size(node, &local);
        MPI_Comm_rank(node, &me);
        sharing = local; before = me;
#if defined(__linux__) && defined(CPU_COUNT) && defined(CPU_AND)
        cpu_set_t mine;
        CPU_ZERO(&mine);
        cpu_set_t *sets = (cpu_set_t *)VPAR_MALLOC((size_t)local * sizeof *sets);
        int ok = sets && sched_getaffinity(0, sizeof mine, &mine) == 0, all_ok = 0;
        MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, node);
        if (all_ok) {   /* masks known everywhere (not cut at CPU_SETSIZE) */
            MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, sets, (int)sizeof mine, MPI_BYTE, node);
            sharing = 0; before = 0;
            for (int r = 0; r < local; r++) {
                cpu_set_t x;
                CPU_AND(&x, &mine, &sets[r]);
                if (CPU_COUNT(&x) == 0) continue;
                sharing++;
                if (r < me) before++;
            }
            if (CPU_COUNT(&mine) > 0) cpus = CPU_COUNT(&mine);
        }
        VPAR_FREE(sets);
#endif
        MPI_Comm_free(&node);
    }
    const char *e = getenv("VPAR_NUM_THREADS");
    if (e && atoi(e) > 0) return atoi(e);
    if (sharing < 1) sharing = 1;
    int t = cpus / sharing + (before < cpus % sharing);
    return t > 0 ? t : 1;
}

static int vpar__farm_threads(const vpar_farm_desc *d, MPI_Comm comm) {
    if (d->pool) return vpar_pool_size(d->pool) > 1 ? vpar_pool_size(d->pool) - 1 : 1;
    if (d->threads > 0) return d->threads;
    return vpar_farm_local_threads(comm);
}

/* The MPI thread's idle poll (both loops). After an event (a message, a
   result, work handed out) it spins with sched_yield for up to
   VPAR__FARM_SPIN_S, then sleeps on its completion queue (woken at once by
   its own finished tasks) for a period that doubles from 20 us up to
   quiet / 64 (quiet: the time since the last event), at least 160 us and at
   most VPAR_FARM_POLL_MAX. Short tasks keep the 20-160 us poll (events come
   all the time); while every handed-out task is long, the thread wakes about
   once per VPAR_FARM_POLL_MAX to probe MPI, and a remote result waits at most
   that long, or 1/64 of the quiet time before it, whichever is less. */
#define VPAR__FARM_SPIN_S 200e-6
static double vpar__farm_backoff(double wait, double quiet) {
    double cap = quiet / 64;
    if (cap > VPAR_FARM_POLL_MAX) cap = VPAR_FARM_POLL_MAX;
    if (cap < 160e-6) cap = 160e-6;
    wait *= 2;
    return wait < cap ? wait : cap;
}

VPAR_API vpar_status vpar_farm_map(size_t n, vpar_farm_task_fn fn, void *user,
                                   void *results, size_t result_size,
                                   vpar_farm_status *status,
                                   const vpar_farm_desc *desc) {
    return vpar_farm_map_report(n, fn, user, results, result_size, status, desc, NULL);
}

VPAR_API vpar_status vpar_farm_map_report(size_t n, vpar_farm_task_fn fn, void *user,
                                          void *results, size_t result_size,
                                          vpar_farm_status *status,
                                          const vpar_farm_desc *desc,
                                          vpar_farm_report *report) {
    vpar_farm_desc dd;
    if (desc) dd = *desc; else memset(&dd, 0, sizeof dd);
    const vpar_farm_desc *d = &dd;
    int inited = 0, level = 0, is_main = 0;
    MPI_Initialized(&inited);
    if (!inited) return vpar_fail(VPAR_ERR_STATE, "vpar_farm_map: MPI is not initialised");
    MPI_Query_thread(&level);
    MPI_Is_thread_main(&is_main);
    if (level < MPI_THREAD_FUNNELED)
        return vpar_fail(VPAR_ERR_STATE, "vpar_farm_map: MPI thread level below "
                         "MPI_THREAD_FUNNELED (use MPI_Init_thread)");
    if (!is_main)
        return vpar_fail(VPAR_ERR_STATE, "vpar_farm_map: not called on the MPI main thread");
    MPI_Comm comm;
    MPI_Comm_dup(dd.comm ? dd.comm : MPI_COMM_WORLD, &comm);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);

    /* Installs the interrupt handler where SIGTERM/SIGUSR1 are default. */
    int have_term = 0, have_usr1 = 0;
    if (!d->keep_signals) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = vpar__farm_on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGTERM, &sa, &vpar__farm_prev_term) == 0) have_term = 1;
        if (sigaction(SIGUSR1, &sa, &vpar__farm_prev_usr1) == 0) have_usr1 = 1;
    }

    /* Agreement on the arguments and per-rank threads. */
    int nthreads = vpar__farm_threads(d, comm);
    int computes = !(d->dispatcher_only && size > 1 && rank == 0);
    long long mine[4] = {(long long)n, (long long)result_size, computes ? nthreads : 0,
                         fn != NULL};
    long long *all = NULL;
    vpar__farm_master M;
    memset(&M, 0, sizeof M);
    M.jfd = -1;
    M.error = VPAR_OK;
    vpar_status st = VPAR_OK;
    char host[VPAR_FARM_HOST_MAX];
    memset(host, 0, sizeof host);
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "?");
    char *hosts = NULL;
    if (rank == 0) {
        all = (long long *)VPAR_MALLOC(sizeof(long long) * 4 * (size_t)size);
        hosts = (char *)VPAR_MALLOC((size_t)VPAR_FARM_HOST_MAX * (size_t)size);
    }
    MPI_Gather(mine, 4, MPI_LONG_LONG, all, 4, MPI_LONG_LONG, 0, comm);
    MPI_Gather(host, VPAR_FARM_HOST_MAX, MPI_CHAR, hosts, VPAR_FARM_HOST_MAX, MPI_CHAR, 0, comm);

    vpar__farm_ctx C;
    memset(&C, 0, sizeof C);
    C.done_head = C.done_tail = -1;
    int own_pool = 0, mu_init = 0;
    vpar_farm_status *own_status = NULL;
    unsigned char *done = NULL;
    int ok_flag = 1;
    long crash_after = vpar__farm_crash_after(rank);

    if (rank == 0) {
        M.d = d; M.n = n; M.result_size = result_size; M.size = size;
        M.results = (unsigned char *)results;
        M.crash_after = crash_after;
        M.rep.ranks = size;
        if (!all || !hosts) st = vpar_fail(VPAR_ERR_NOMEM, "vpar_farm_map: out of memory");
        for (int r = 0; st == VPAR_OK && r < size; r++) {
            if (all[4 * r] != (long long)n || all[4 * r + 1] != (long long)result_size ||
                !all[4 * r + 3])
                st = vpar_fail(VPAR_ERR_INVALID, "vpar_farm_map: rank %d passed n=%lld "
                               "result_size=%lld%s, rank 0 n=%zu result_size=%zu", r,
                               all[4 * r], all[4 * r + 1], all[4 * r + 3] ? "" : " fn=NULL",
                               n, result_size);
        }
        if (st == VPAR_OK) {
            size_t nn = n ? n : 1;
            M.status = status ? status
                              : (own_status = (vpar_farm_status *)VPAR_MALLOC(nn * sizeof *own_status));
            M.order = (uint64_t *)VPAR_MALLOC(nn * sizeof *M.order);
            M.retry = (uint64_t *)VPAR_MALLOC(nn * sizeof *M.retry);
            M.retry_att = (int *)VPAR_MALLOC(nn * sizeof *M.retry_att);
            M.retry_cap = nn;
            M.attempts = (int *)calloc(nn, sizeof *M.attempts);
            M.threads = (int *)calloc((size_t)size, sizeof(int));
            M.cap = (int *)calloc((size_t)size, sizeof(int));
            M.maxcap = (int *)calloc((size_t)size, sizeof(int));
            M.outstanding = (int *)calloc((size_t)size, sizeof(int));
            M.hosts = (char (*)[VPAR_FARM_HOST_MAX])hosts;
            M.abuf = (vpar__farm_assign **)calloc((size_t)size, sizeof *M.abuf);
            M.areq = (MPI_Request *)VPAR_MALLOC((size_t)size * sizeof *M.areq);
            done = (unsigned char *)calloc(nn, 1);
            if (!M.status || !M.order || !M.retry || !M.retry_att || !M.attempts ||
                !M.threads || !M.cap || !M.maxcap || !M.outstanding || !M.abuf || !M.areq || !done)
                st = vpar_fail(VPAR_ERR_NOMEM, "vpar_farm_map: out of memory");
        }
        if (st == VPAR_OK) {
            for (size_t i = 0; i < n; i++) {
                vpar_farm_status *s = &M.status[i];
                memset(s, 0, sizeof *s);
                s->state = VPAR_TASK_NOT_RUN; s->rank = -1;
            }
            if (M.results && result_size) memset(M.results, 0, n * result_size);
            for (int r = 0; r < size; r++) {
                M.areq[r] = MPI_REQUEST_NULL;
                M.threads[r] = (int)all[4 * r + 2];
                int pre = d->prefetch == 0 ? M.threads[r] : d->prefetch < 0 ? 0 : d->prefetch;
                M.cap[r] = M.threads[r] ? M.threads[r] + pre : 0;
                M.maxcap[r] = M.threads[r] ? M.threads[r] + vpar__farm_max_pre(d, M.threads[r]) : 0;
                if (r > 0 && M.cap[r]) {
                    M.abuf[r] = (vpar__farm_assign *)VPAR_MALLOC((size_t)M.maxcap[r] * sizeof **M.abuf);
                    if (!M.abuf[r]) st = vpar_fail(VPAR_ERR_NOMEM, "vpar_farm_map: out of memory");
                }
            }
        }
        if (st == VPAR_OK && d->journal) st = vpar__farm_open_journal(&M, done);
        if (st == VPAR_OK) {
            for (size_t i = 0; i < n; i++) {
                if (done[i]) { M.rep.restored++; continue; }
                M.order[M.order_len++] = i;
            }
            if (d->cost && M.order_len > 1) {
                vpar__farm_sort_cost = d->cost;
                qsort(M.order, M.order_len, sizeof *M.order, vpar__farm_cmp);
            }
        }
        ok_flag = st == VPAR_OK ? 0 : (int)st;
    }
    MPI_Bcast(&ok_flag, 1, MPI_INT, 0, comm);
    if (ok_flag != 0 && st == VPAR_OK)
        st = vpar_fail((vpar_status)ok_flag, "vpar_farm_map: rank 0 failed to start the farm "
                       "(%s)", vpar_status_str((vpar_status)ok_flag));

    /* This rank's executor. */
    int slots = 0;
    if (st == VPAR_OK && computes) {
        slots = nthreads + vpar__farm_max_pre(d, nthreads);
        if (d->pool) C.pool = d->pool;
        else if (nthreads > 1 || size > 1) {
            vpar_pool_desc pd = {0};
            pd.num_threads = nthreads + 1;    /* tid 0 is the MPI thread's slot */
            st = vpar_pool_create(&C.pool, &pd);
            own_pool = st == VPAR_OK;
        }
        C.inline_mode = !C.pool || vpar_pool_size(C.pool) == 1;
    }
    if (st == VPAR_OK) {
        C.fn = fn; C.user = user; C.result_size = result_size; C.nslots = slots;
        C.slots = (vpar__farm_slot *)calloc((size_t)(slots ? slots : 1), sizeof *C.slots);
        C.free_slots = (int *)VPAR_MALLOC(sizeof(int) * (size_t)(slots ? slots : 1));
        C.pending = (int *)VPAR_MALLOC(sizeof(int) * (size_t)(slots ? slots : 1));
        unsigned char *rb = (unsigned char *)calloc((size_t)(slots ? slots : 1),
                                                    result_size ? result_size : 1);
        C.rbuf = rb;
        if (!C.slots || !C.free_slots || !C.pending || !rb)
            st = vpar_fail(VPAR_ERR_NOMEM, "vpar_farm_map: out of memory");
        for (int i = 0; st == VPAR_OK && i < slots; i++) {
            C.slots[i].ctx = &C;
            C.slots[i].result = rb + (size_t)i * result_size;
            C.free_slots[C.nfree++] = slots - 1 - i;
        }
        pthread_mutex_init(&C.mu, NULL);
        pthread_cond_init(&C.cv, NULL);
        mu_init = 1;
    }
    /* Message buffer: the largest batch a worker can send. */
    size_t item_size = sizeof(vpar__farm_item) + VPAR_FARM_MESSAGE_MAX + result_size; /* at most */
    unsigned char *msgbuf = NULL;
    size_t msgcap = 0;
    if (st == VPAR_OK) {
        msgcap = item_size * (size_t)(slots > 0 ? slots : 1);
        if (rank == 0) {
            for (int r = 1; r < size; r++)
                if ((size_t)M.maxcap[r] * item_size > msgcap) msgcap = (size_t)M.maxcap[r] * item_size;
        }
        msgbuf = (unsigned char *)VPAR_MALLOC(msgcap);
        if (!msgbuf) st = vpar_fail(VPAR_ERR_NOMEM, "vpar_farm_map: out of memory");
    }
    /* A local setup failure after the agreement cannot be hidden from the
       others: every rank learns it here, and all return it. */
    int local_bad = st != VPAR_OK ? (int)st : 0, any_bad = 0;
    MPI_Allreduce(&local_bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
    if (any_bad && st == VPAR_OK)
        st = vpar_fail((vpar_status)any_bad, "vpar_farm_map: another rank failed to start the "
                       "farm (%s)", vpar_status_str((vpar_status)any_bad));

    vpar_status final = st;
    if (st == VPAR_OK && rank == 0) {
        /* Restored tasks are reported first, in index order. */
        if (d->on_result)
            for (size_t i = 0; i < n; i++)
                if (done[i])
                    d->on_result(d->on_result_user, i,
                                 M.results ? M.results + i * result_size : NULL, &M.status[i]);
        M.finals = M.rep.restored;
        M.rep.ok = M.rep.restored;
        size_t total_cap = vpar__farm_update_caps(&M);
        double wait = 20e-6, t_intr = 0, t_event = vpar__farm_mono();
        int idle = 0;
        double grace = d->grace_s == 0 ? 60.0 : d->grace_s < 0 ? 0 : d->grace_s;
        int sent_intr = 0;
        for (;;) {
            int busy = 0;
            if (!M.stopping && atomic_load_explicit(&vpar__farm_stop_req, memory_order_relaxed)) {
                M.stopping = 1; M.rep.interrupted = 1;
            }
            if (M.rep.interrupted && !sent_intr) {
                sent_intr = 1;
                t_intr = vpar__farm_mono();
                atomic_store_explicit(&vpar__farm_stop_req, 1, memory_order_relaxed);
                for (int r = 1; r < size; r++)
                    MPI_Send(NULL, 0, MPI_BYTE, r, VPAR__FARM_TAG_INTR, comm);
            }
            /* a rank that got the signal itself says so at once */
            for (;;) {
                int flag = 0;
                MPI_Status ms;
                MPI_Iprobe(MPI_ANY_SOURCE, VPAR__FARM_TAG_INTR, comm, &flag, &ms);
                if (!flag) break;
                MPI_Recv(NULL, 0, MPI_BYTE, ms.MPI_SOURCE, VPAR__FARM_TAG_INTR, comm,
                         MPI_STATUS_IGNORE);
                if (!M.stopping || !M.rep.interrupted) { M.stopping = 1; M.rep.interrupted = 1; }
            }
            /* results from other ranks */
            for (;;) {
                int flag = 0;
                MPI_Status ms;
                MPI_Iprobe(MPI_ANY_SOURCE, VPAR__FARM_TAG_RESULT, comm, &flag, &ms);
                if (!flag) break;
                int bytes = 0;
                MPI_Get_count(&ms, MPI_BYTE, &bytes);
                if ((size_t)bytes > msgcap) {
                    unsigned char *nb = (unsigned char *)VPAR_REALLOC(msgbuf, (size_t)bytes);
                    if (!nb) { M.error = vpar_fail(VPAR_ERR_NOMEM, "vpar_farm_map: out of memory");
                               M.stopping = 1; break; }
                    msgbuf = nb; msgcap = (size_t)bytes;
                }
                MPI_Recv(msgbuf, bytes, MPI_BYTE, ms.MPI_SOURCE, VPAR__FARM_TAG_RESULT, comm,
                         MPI_STATUS_IGNORE);
                for (size_t off = 0; off + sizeof(vpar__farm_item) <= (size_t)bytes;) {
                    vpar__farm_item it;
                    char msg[VPAR_FARM_MESSAGE_MAX];
                    memcpy(&it, msgbuf + off, sizeof it);
                    off += sizeof it;
                    size_t ml = it.msg_len > 0 && it.msg_len < VPAR_FARM_MESSAGE_MAX
                                    ? (size_t)it.msg_len : 0;
                    if (off + ml + result_size > (size_t)bytes) break;
                    memcpy(msg, msgbuf + off, ml);
                    msg[ml] = '\0';
                    off += ml;
                    vpar__farm_handle(&M, ms.MPI_SOURCE, it.index, it.attempt, it.state, it.code,
                                      it.start, it.end, msg, msgbuf + off);
                    off += result_size;
                }
                busy = 1;
            }
            /* own results */
            if (computes) {
                int id = vpar__farm_collect(&C, 0);
                while (id >= 0) {
                    vpar__farm_slot *s = &C.slots[id];
                    int nx = s->next_done;
                    vpar__farm_handle(&M, 0, s->index, s->attempt, s->state, s->code, s->start,
                                      s->end, s->msg, s->result);
                    vpar__farm_release(&C, id);
                    id = nx;
                    busy = 1;
                }
            }
            if (M.error == VPAR_OK) {
                vpar_status js = vpar__farm_jflush(&M);
                if (js != VPAR_OK) { M.error = js; M.stopping = 1; }
            }
            /* hand out work */
            total_cap = vpar__farm_update_caps(&M);
            if (!M.stopping) {
                for (int r = 1; r < size; r++) vpar__farm_fill_remote(&M, comm, r, total_cap);
                if (computes) {
                    int want = M.cap[0] - C.inflight;
                    if (vpar__farm_left(&M) < total_cap) want = M.threads[0] - C.inflight;
                    uint64_t idx; int att;
                    while (want-- > 0 && vpar__farm_next(&M, &idx, &att)) {
                        M.attempts[idx] = att;
                        M.outstanding[0]++;
                        vpar_status ss = vpar__farm_start(&C, idx, att);
                        if (ss != VPAR_OK) {
                            M.outstanding[0]--;
                            M.error = ss; M.stopping = 1;
                            break;
                        }
                        busy = 1;
                    }
                }
            }
            int out = 0;
            for (int r = 0; r < size; r++) out += M.outstanding[r];
            if (out == 0 && (M.stopping || vpar__farm_left(&M) == 0)) break;
            if (M.rep.interrupted && sent_intr && vpar__farm_mono() - t_intr > grace) {
                M.rep.grace_expired = 1;
                break;
            }
            double now = vpar__farm_mono();
            if (busy) { wait = 20e-6; idle = 0; t_event = now; }
            else if (++idle < 64 && now - t_event < VPAR__FARM_SPIN_S)
                sched_yield();   /* a short spin before sleeping, only right after an event */
            else {
                if (computes && C.inline_mode && C.npending) {
                    /* the next collect runs a pending task */
                } else if (computes) {
                    /* sleep on our completion queue, bounded by the poll period */
                    pthread_mutex_lock(&C.mu);
                    if (C.done_head < 0) {
                        struct timespec ts;
                        clock_gettime(CLOCK_REALTIME, &ts);
                        long ns = ts.tv_nsec + (long)(wait * 1e9);
                        ts.tv_sec += ns / 1000000000L; ts.tv_nsec = ns % 1000000000L;
                        pthread_cond_timedwait(&C.cv, &C.mu, &ts);
                    }
                    pthread_mutex_unlock(&C.mu);
                } else {
                    struct timespec ts = {0, (long)(wait * 1e9)};
                    nanosleep(&ts, NULL);
                }
                wait = vpar__farm_backoff(wait, vpar__farm_mono() - t_event);
            }
        }
        /* Everything not final now is NOT_RUN. */
        for (size_t i = 0; i < n; i++) {
            if (M.status[i].state == VPAR_TASK_NOT_RUN && M.status[i].rank == -1 &&
                !done[i] && M.status[i].attempts == 0) M.status[i].attempts = M.attempts[i];
        }
        M.rep.not_run = 0;
        for (size_t i = 0; i < n; i++)
            if (M.status[i].state == VPAR_TASK_NOT_RUN) M.rep.not_run++;
        vpar_status js = vpar__farm_jflush(&M);
        if (M.error == VPAR_OK && js != VPAR_OK) M.error = js;
        if (M.jfd >= 0) {
            if (fsync(M.jfd) != 0 && M.error == VPAR_OK)
                M.error = vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot sync journal", M.jpath);
            close(M.jfd);
            M.jfd = -1;
        }
        /* The map's status. */
        if (M.error != VPAR_OK) final = M.error;
        else if (M.rep.interrupted) {
            final = vpar_fail(VPAR_ERR_INTERRUPTED, "vpar_farm_map: interrupted: %zu of %zu tasks "
                              "done, %zu not run%s", M.rep.ok, n, M.rep.not_run,
                              M.rep.grace_expired ? " (grace period expired with tasks running)"
                                                  : "");
        } else {
            final = VPAR_OK;
            size_t first = n;
            for (size_t i = 0; i < n && first == n; i++)
                if (M.status[i].state == VPAR_TASK_ERROR) first = i;
            if (first < n) {
                const vpar_farm_status *s = &M.status[first];
                final = s->code > 0 && s->code < VPAR_STATUS_COUNT ? (vpar_status)s->code
                                                                     : VPAR_ERR_INVALID;
                vpar_fail(final, "task %zu failed on rank %d after %d attempt%s (code %d): %s "
                          "(%zu of %zu tasks failed%s)", first, s->rank, s->attempts,
                          s->attempts == 1 ? "" : "s", s->code, s->message, M.rep.failed, n,
                          M.rep.not_run ? "; max_failures reached, the rest not run" : "");
            } else if (M.rep.not_run) {
                final = vpar_fail(VPAR_ERR_STATE, "vpar_farm_map: %zu tasks not run", M.rep.not_run);
            }
        }
        int code = (int)final;
        for (int r = 1; r < size; r++) {
            if (M.areq[r] != MPI_REQUEST_NULL) MPI_Wait(&M.areq[r], MPI_STATUS_IGNORE);
            MPI_Send(&code, 1, MPI_INT, r, VPAR__FARM_TAG_STOP, comm);
        }
        /* Drain: every worker answers STOP with DONE, its last message;
           messages between two ranks do not overtake each other, so after
           DONE nothing of this map is left in flight (a late INTR or result
           would otherwise match in the next map's communicator, which may
           reuse this one's context id). */
        for (int r = 1; r < size; r++) {
            for (;;) {
                MPI_Status ms;
                int bytes = 0;
                MPI_Probe(r, MPI_ANY_TAG, comm, &ms);
                MPI_Get_count(&ms, MPI_BYTE, &bytes);
                /* msgcap holds the largest message a worker can send */
                MPI_Recv(msgbuf, bytes, MPI_BYTE, r, ms.MPI_TAG, comm, MPI_STATUS_IGNORE);
                if (ms.MPI_TAG == VPAR__FARM_TAG_DONE) break;
            }
        }
        if (report) *report = M.rep;
    } else if (st == VPAR_OK) {
        /* Worker rank: run what rank 0 assigns, send results back. */
        int code = VPAR_OK, stop = 0;
        long sent = 0;
        double wait = 20e-6, t_event = vpar__farm_mono();
        int idle = 0;
        vpar__farm_assign *ab = (vpar__farm_assign *)VPAR_MALLOC(
            sizeof(vpar__farm_assign) * (size_t)(slots ? slots : 1));
        if (!ab) code = vpar_fail(VPAR_ERR_NOMEM, "vpar_farm_map: out of memory");
        int told = 0;
        while (!stop) {
            int busy = 0, flag = 0;
            MPI_Status ms;
            if (!told && atomic_load_explicit(&vpar__farm_stop_req, memory_order_relaxed)) {
                /* our own signal (or rank 0's INTR): rank 0 must know even
                   while all our tasks are still running */
                told = 1;
                MPI_Send(NULL, 0, MPI_BYTE, 0, VPAR__FARM_TAG_INTR, comm);
            }
            MPI_Iprobe(0, MPI_ANY_TAG, comm, &flag, &ms);
            if (flag) {
                busy = 1;
                if (ms.MPI_TAG == VPAR__FARM_TAG_ASSIGN) {
                    int bytes = 0;
                    MPI_Get_count(&ms, MPI_BYTE, &bytes);
                    MPI_Recv(ab, bytes, MPI_BYTE, 0, VPAR__FARM_TAG_ASSIGN, comm, MPI_STATUS_IGNORE);
                    int k = bytes / (int)sizeof *ab;
                    for (int i = 0; i < k; i++) {
                        if (vpar__farm_start(&C, ab[i].index, ab[i].attempt) != VPAR_OK) {
                            /* cannot submit: report it as not run */
                            int id = C.free_slots[--C.nfree];
                            C.inflight++;
                            C.slots[id].index = ab[i].index; C.slots[id].attempt = ab[i].attempt;
                            atomic_store(&vpar__farm_stop_req, 1);
                            vpar__farm_run_slot(&C.slots[id], 0);
                        }
                    }
                } else if (ms.MPI_TAG == VPAR__FARM_TAG_INTR) {
                    MPI_Recv(NULL, 0, MPI_BYTE, 0, VPAR__FARM_TAG_INTR, comm, MPI_STATUS_IGNORE);
                    atomic_store_explicit(&vpar__farm_stop_req, 1, memory_order_relaxed);
                } else {
                    MPI_Recv(&code, 1, MPI_INT, 0, VPAR__FARM_TAG_STOP, comm, MPI_STATUS_IGNORE);
                    MPI_Send(NULL, 0, MPI_BYTE, 0, VPAR__FARM_TAG_DONE, comm);
                    stop = 1;
                    break;
                }
            }
            int id = vpar__farm_collect(&C, 0);
            if (id >= 0) {
                size_t bytes = 0;
                while (id >= 0) {
                    vpar__farm_slot *s = &C.slots[id];
                    int nx = s->next_done;
                    vpar__farm_item it;
                    memset(&it, 0, sizeof it);
                    it.index = s->index; it.attempt = s->attempt; it.state = s->state;
                    it.code = s->code; it.start = s->start; it.end = s->end;
                    size_t ml = s->state == VPAR_TASK_OK ? 0 : strnlen(s->msg, sizeof s->msg - 1);
                    it.msg_len = (int32_t)ml;
                    memcpy(msgbuf + bytes, &it, sizeof it);
                    bytes += sizeof it;
                    memcpy(msgbuf + bytes, s->msg, ml);
                    bytes += ml;
                    if (result_size) memcpy(msgbuf + bytes, s->result, result_size);
                    bytes += result_size;
                    vpar__farm_release(&C, id);
                    id = nx;
                    sent++;
                }
                MPI_Send(msgbuf, (int)bytes, MPI_BYTE, 0, VPAR__FARM_TAG_RESULT, comm);
                if (crash_after >= 0 && sent >= crash_after) raise(SIGKILL);
                busy = 1;
            }
            double now = vpar__farm_mono();
            if (busy) { wait = 20e-6; idle = 0; t_event = now; }
            else if (++idle < 64 && now - t_event < VPAR__FARM_SPIN_S)
                sched_yield();   /* a short spin before sleeping, only right after an event */
            else {
                if (!C.inline_mode || C.npending == 0) {
                    pthread_mutex_lock(&C.mu);
                    if (C.done_head < 0) {
                        struct timespec ts;
                        clock_gettime(CLOCK_REALTIME, &ts);
                        long ns = ts.tv_nsec + (long)(wait * 1e9);
                        ts.tv_sec += ns / 1000000000L; ts.tv_nsec = ns % 1000000000L;
                        pthread_cond_timedwait(&C.cv, &C.mu, &ts);
                    }
                    pthread_mutex_unlock(&C.mu);
                }
                wait = vpar__farm_backoff(wait, vpar__farm_mono() - t_event);
            }
        }
        VPAR_FREE(ab);
        /* Running tasks (only after a grace expiry or an error) finish
           before this rank returns: they use the caller's memory. */
        if (C.inflight > 0 && C.pool && !C.inline_mode) vpar_pool_wait(C.pool);
        final = (vpar_status)code;
        if (final != VPAR_OK)
            vpar_fail(final, "vpar_farm_map: the farm stopped on rank 0 (%s)%s",
                      vpar_status_str(final),
                      final == VPAR_ERR_INTERRUPTED ? ": interrupted" : "");
    }

    /* Rank 0 after a grace expiry: its own running tasks finish first too. */
    if (rank == 0 && C.inflight > 0 && C.pool && !C.inline_mode) {
        vpar_pool_wait(C.pool);
    }
    if (own_pool) vpar_pool_destroy(C.pool);
    if (mu_init) { pthread_mutex_destroy(&C.mu); pthread_cond_destroy(&C.cv); }
    free(C.rbuf);
    free(C.slots);
    VPAR_FREE(C.free_slots);
    VPAR_FREE(C.pending);
    VPAR_FREE(msgbuf);
    if (rank == 0) {
        if (M.jfd >= 0) close(M.jfd);
        for (int r = 0; M.abuf && r < size; r++) VPAR_FREE(M.abuf[r]);
        free(M.abuf);
        VPAR_FREE(M.areq);
        VPAR_FREE(M.order); VPAR_FREE(M.retry); VPAR_FREE(M.retry_att);
        free(M.attempts); free(M.threads); free(M.cap); free(M.maxcap); free(M.outstanding);
        VPAR_FREE(M.jbuf);
        VPAR_FREE(own_status);
        free(done);
        VPAR_FREE(all);
        VPAR_FREE(hosts);
    }
    MPI_Comm_free(&comm);
    if (have_term) sigaction(SIGTERM, &vpar__farm_prev_term, NULL);
    if (have_usr1) sigaction(SIGUSR1, &vpar__farm_prev_usr1, NULL);
    atomic_store_explicit(&vpar__farm_stop_req, 0, memory_order_relaxed);
    return final;
}

#endif /* VPAR_FARM_IMPLEMENTATION */
