/* tests/test_farm.c — the MPI task farm (include/vpar/farm.h), run under
   mpirun with 1..4 ranks and two MPIs by tests/farm_test.sh:

     test_farm basic             results = serial reference, every option
     test_farm failures          retries, messages, max_failures
     test_farm journal J         a run with a journal (the script kills it
                                 with VPAR_FARM_TEST_CRASH=<rank>:<k>)
     test_farm resume J          appends a torn record, resumes: only the
                                 tasks not journaled run, results = reference
     test_farm signal J          SIGUSR1 on rank 0 / SIGTERM on the last
                                 rank mid-run: interrupted, journal complete;
                                 then a resume completes the job
     test_farm journal_unit J    torn tail / damaged record / mismatch rules
     test_farm early             vpar_farm_interrupt before a map (a signal
                                 during MPI_Init): the map starts interrupted
     test_farm startup           early, then threads (one launch: CI time)
     test_farm threads           vpar_farm_local_threads: the ranks of a node
                                 (same host name) split their CPUs

   An MPI program cannot run under Check's forking runner: failures print
   "FAIL file:line: what" and exit 1 (via MPI_Abort, so no rank hangs). */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar/farm.h"

#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_rank, g_size;
static struct sigaction g_usr1_before;
static _Atomic long g_calls;            /* fn invocations on this rank */

#define CHECK(cond, ...) do {                                                 \
    if (!(cond)) {                                                            \
        fprintf(stderr, "FAIL %s:%d (rank %d): %s: ", __FILE__, __LINE__,     \
                g_rank, #cond);                                               \
        fprintf(stderr, __VA_ARGS__);                                         \
        fprintf(stderr, "\n");                                                \
        fflush(stderr);                                                       \
        MPI_Abort(MPI_COMM_WORLD, 1);                                         \
    }                                                                         \
} while (0)

typedef struct res { uint64_t idx; double v; } res;

/* The task's definition; the serial reference calls it directly. */
static void compute(size_t i, res *r) {
    double v = 0;
    for (int k = 0; k < 50; k++) v += sin((double)i * 0.001 + k);
    r->idx = i * 2654435761u;
    r->v = v;
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0) {}
}

typedef struct job { long sleep_us; int mode; } job;

static int task_plain(void *user, size_t i, void *out) {
    const job *j = (const job *)user;
    atomic_fetch_add(&g_calls, 1);
    if (j && j->sleep_us) sleep_us(j->sleep_us);
    compute(i, (res *)out);
    return 0;
}

static long total_calls(void) {
    long mine = atomic_load(&g_calls), sum = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    return sum;
}

static void reset_calls(void) {
    MPI_Barrier(MPI_COMM_WORLD);
    atomic_store(&g_calls, 0);
    MPI_Barrier(MPI_COMM_WORLD);
}

static void check_reference(const res *out, const vpar_farm_status *st, size_t n,
                            int want_all_ok) {
    for (size_t i = 0; i < n; i++) {
        if (want_all_ok) CHECK(st[i].state == VPAR_TASK_OK, "task %zu state %d", i, st[i].state);
        res ref;
        if (st[i].state == VPAR_TASK_OK) compute(i, &ref);
        else memset(&ref, 0, sizeof ref);
        CHECK(memcmp(&ref, &out[i], sizeof ref) == 0, "task %zu result differs from the "
              "serial reference (state %d)", i, st[i].state);
    }
}

static uint64_t fnv(const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ULL; }
    return h;
}

/* ---- basic -------------------------------------------------------------- */

static void mode_basic(void) {
    size_t sizes[] = {0, 1, 7, 1000};
    uint64_t sum = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        for (int variant = 0; variant < 6; variant++) {
            vpar_farm_desc d = {0};
            double *cost = NULL;
            d.threads = 1 + variant % 2;
            if (variant == 2) d.prefetch = -1;
            if (variant == 3) d.prefetch = 5;
            if (variant == 4) {           /* costs: largest first */
                cost = malloc((n ? n : 1) * sizeof *cost);
                for (size_t i = 0; i < n; i++) cost[i] = (double)((i * 7919) % 101);
                d.cost = cost;
            }
            if (variant == 5) d.dispatcher_only = 1;
            res *out = g_rank == 0 ? malloc((n ? n : 1) * sizeof *out) : NULL;
            vpar_farm_status *st = g_rank == 0 ? malloc((n ? n : 1) * sizeof *st) : NULL;
            if (out) memset(out, 0xAB, (n ? n : 1) * sizeof *out);
            reset_calls();
            vpar_farm_report rep;
            vpar_status s = vpar_farm_map_report(n, task_plain, NULL, out, sizeof(res), st, &d, &rep);
            CHECK(s == VPAR_OK, "n=%zu variant %d: %s", n, variant, vpar_last_error());
            long calls = total_calls();
            CHECK(calls == (long)n, "n=%zu variant %d: %ld calls", n, variant, calls);
            if (g_rank == 0) {
                check_reference(out, st, n, 1);
                for (size_t i = 0; i < n; i++) {
                    CHECK(st[i].attempts == 1, "task %zu attempts %d", i, st[i].attempts);
                    CHECK(st[i].rank >= 0 && st[i].rank < g_size, "task %zu rank %d", i, st[i].rank);
                    if (variant == 5 && g_size > 1)
                        CHECK(st[i].rank != 0, "dispatcher_only: task %zu ran on rank 0", i);
                }
                CHECK(rep.ok == n && rep.failed == 0 && rep.not_run == 0 && rep.attempts == n,
                      "report ok=%zu failed=%zu not_run=%zu attempts=%zu", rep.ok, rep.failed,
                      rep.not_run, rep.attempts);
                CHECK(rep.ranks == g_size, "report ranks %d", rep.ranks);
                sum = sum * 31 + fnv(out, n * sizeof *out);
            }
            free(out); free(st); free(cost);
        }
    }
    /* A caller-owned pool and no result buffer on rank 0. */
    {
        vpar_pool *pool;
        vpar_pool_desc pd = {0};
        pd.num_threads = 3;
        CHECK(vpar_pool_create(&pool, &pd) == VPAR_OK, "%s", vpar_last_error());
        vpar_farm_desc d = {0};
        d.pool = pool;
        reset_calls();
        CHECK(vpar_farm_map(100, task_plain, NULL, NULL, sizeof(res), NULL, &d) == VPAR_OK,
              "%s", vpar_last_error());
        CHECK(total_calls() == 100, "calls");
        vpar_pool_destroy(pool);
    }
    /* Every rank returns the same status, also for argument errors. */
    {
        vpar_farm_desc d = {0};
        d.threads = 1;
        size_t n = g_rank == g_size - 1 && g_size > 1 ? 5 : 6;
        vpar_status s = vpar_farm_map(n, task_plain, NULL, NULL, sizeof(res), NULL, &d);
        if (g_size > 1) CHECK(s == VPAR_ERR_INVALID, "mismatched n: %d", (int)s);
        else CHECK(s == VPAR_OK, "%s", vpar_last_error());
    }
    if (g_rank == 0) printf("CHECKSUM basic %016llx\n", (unsigned long long)sum);
}

/* ---- failures ------------------------------------------------------------ */

static int task_flaky(void *user, size_t i, void *out) {
    (void)user;
    atomic_fetch_add(&g_calls, 1);
    CHECK(vpar_farm_task_index() == i, "task index %zu != %zu", vpar_farm_task_index(), i);
    if (i % 7 == 3 && vpar_farm_task_attempt() == 1)
        return vpar_fail(VPAR_ERR_FORMAT, "net%zu.npy: bad header (attempt %d)", i,
                         vpar_farm_task_attempt());
    compute(i, (res *)out);
    return 0;
}

static int task_bad(void *user, size_t i, void *out) {
    (void)user;
    atomic_fetch_add(&g_calls, 1);
    sleep_us(1000);
    if (i % 5 == 0) { ((res *)out)->v = 99; return 1000; }   /* not a vpar_status */
    compute(i, (res *)out);
    return 0;
}

static void mode_failures(void) {
    size_t n = 100;
    res *out = g_rank == 0 ? malloc(200 * sizeof *out) : NULL;
    vpar_farm_status *st = g_rank == 0 ? malloc(200 * sizeof *st) : NULL;
    vpar_farm_report rep;
    /* retries = 1: every flaky task succeeds on its second attempt */
    vpar_farm_desc d = {0};
    d.threads = 2;
    d.retries = 1;
    reset_calls();
    vpar_status s = vpar_farm_map_report(n, task_flaky, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_OK, "%s", vpar_last_error());
    size_t flaky = 0;
    for (size_t i = 0; i < n; i++) flaky += i % 7 == 3;
    CHECK(total_calls() == (long)(n + flaky), "calls");
    if (g_rank == 0) {
        check_reference(out, st, n, 1);
        for (size_t i = 0; i < n; i++)
            CHECK(st[i].attempts == (i % 7 == 3 ? 2 : 1), "task %zu attempts %d", i, st[i].attempts);
        CHECK(rep.attempts == n + flaky, "report attempts %zu", rep.attempts);
    }
    /* retries = 0: they fail with their code and message; the others run */
    d.retries = 0;
    reset_calls();
    s = vpar_farm_map_report(n, task_flaky, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_ERR_FORMAT, "status %d (%s)", (int)s, vpar_last_error());
    CHECK(total_calls() == (long)n, "calls");
    if (g_rank == 0) {
        CHECK(strstr(vpar_last_error(), "task 3 failed") != NULL, "message: %s", vpar_last_error());
        check_reference(out, st, n, 0);
        for (size_t i = 0; i < n; i++) {
            if (i % 7 == 3) {
                char want[64];
                snprintf(want, sizeof want, "net%zu.npy: bad header (attempt 1)", i);
                CHECK(st[i].state == VPAR_TASK_ERROR && st[i].code == VPAR_ERR_FORMAT &&
                      st[i].attempts == 1 && strcmp(st[i].message, want) == 0,
                      "task %zu: state %d code %d msg '%s'", i, st[i].state, st[i].code,
                      st[i].message);
            } else {
                CHECK(st[i].state == VPAR_TASK_OK, "task %zu state %d", i, st[i].state);
            }
        }
        CHECK(rep.failed == flaky && rep.ok == n - flaky, "report failed %zu", rep.failed);
    }
    /* max_failures = 2, retries = 1: the farm stops handing out work */
    n = 200;
    d.retries = 1;
    d.max_failures = 2;
    d.threads = 1;
    d.prefetch = -1;
    reset_calls();
    s = vpar_farm_map_report(n, task_bad, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_ERR_INVALID, "status %d (%s)", (int)s, vpar_last_error());
    long calls = total_calls();
    if (g_rank == 0) {
        size_t err = 0, err2 = 0, ok = 0, nr = 0;
        check_reference(out, st, n, 0);
        for (size_t i = 0; i < n; i++) {
            if (st[i].state == VPAR_TASK_ERROR) {
                /* the failures that reached max_failures used both attempts;
                   a first attempt that fails after the stop is not retried */
                err++;
                err2 += st[i].attempts == 2;
                CHECK(i % 5 == 0 && st[i].code == 1000 &&
                      (st[i].attempts == 2 || st[i].attempts == 1),
                      "task %zu code %d attempts %d", i, st[i].code, st[i].attempts);
                CHECK(strcmp(st[i].message, "") != 0, "empty message");
            } else if (st[i].state == VPAR_TASK_OK) ok++;
            else { nr++; CHECK(st[i].state == VPAR_TASK_NOT_RUN, "state %d", st[i].state); }
        }
        CHECK(err >= 2 && err2 >= 2, "%zu failed tasks, %zu after 2 attempts", err, err2);
        CHECK(err <= 2 + (size_t)g_size, "%zu failed tasks with %d ranks", err, g_size);
        CHECK(nr > 0 && ok + err + nr == n, "ok %zu err %zu not_run %zu", ok, err, nr);
        CHECK(rep.attempts == (size_t)calls, "report attempts %zu, calls %ld", rep.attempts, calls);
        CHECK(strstr(vpar_last_error(), "max_failures") != NULL, "%s", vpar_last_error());
    }
    free(out); free(st);
    CHECK(vpar_farm_exit_code(VPAR_OK) == 0 && vpar_farm_exit_code(VPAR_ERR_INTERRUPTED) == 75 &&
          vpar_farm_exit_code(VPAR_ERR_IO) == 1, "exit codes");
    if (g_rank == 0) printf("failures ok\n");
}

/* ---- journal, crash, resume ---------------------------------------------- */

typedef struct jcount { size_t ok, records; unsigned char *seen; size_t n; int bad; } jcount;
static int count_rec(void *u, const vpar_farm_record *r) {
    jcount *c = (jcount *)u;
    c->records++;
    if (r->task >= c->n) { c->bad = 1; return 0; }
    if (r->state == VPAR_TASK_OK) {
        res ref;
        compute((size_t)r->task, &ref);
        if (r->result_size != sizeof ref || memcmp(&ref, r->result, sizeof ref) != 0) c->bad = 1;
        if (!c->seen[r->task]) c->ok++;
        c->seen[r->task] = 1;
    }
    if (r->host[0] == '\0' || r->end < r->start || r->attempt < 1) c->bad = 1;
    return 0;
}

#define JN 300
#define JKEY 0x5eedULL

static void mode_journal(const char *path) {
    vpar_farm_desc d = {0};
    d.threads = 2;
    d.journal = path;
    d.resume = 1;
    d.journal_key = JKEY;
    job j = {2000, 0};
    res *out = g_rank == 0 ? malloc(JN * sizeof *out) : NULL;
    vpar_farm_status *st = g_rank == 0 ? malloc(JN * sizeof *st) : NULL;
    vpar_status s = vpar_farm_map(JN, task_plain, &j, out, sizeof(res), st, &d);
    /* Reached only without the crash hook. */
    CHECK(s == VPAR_OK, "%s", vpar_last_error());
    if (g_rank == 0) check_reference(out, st, JN, 1);
    free(out); free(st);
}

/* strict: the crash must have stopped the run midway (rank 0's crash hook
   fires at a known record; a worker's crash is noticed by mpirun a little
   later, and a short run may finish first). */
static void mode_resume(const char *path, int strict) {
    unsigned char seen[JN] = {0};
    jcount c = {0, 0, seen, JN, 0};
    uint64_t n = 0, rs = 0, key = 0, torn = 0;
    if (g_rank == 0) {
        vpar_status s = vpar_farm_journal_read(path, &n, &rs, &key, count_rec, &c, &torn);
        CHECK(s == VPAR_OK, "%s", vpar_last_error());
        CHECK(n == JN && rs == sizeof(res) && key == JKEY && !c.bad, "header/records");
        CHECK(c.ok > 0 && (c.ok < JN || !strict), "journal holds %zu of %d tasks: the crash hook did not "
              "stop the run midway", c.ok, JN);
        /* A torn last record: a valid start whose length runs past EOF. */
        FILE *f = fopen(path, "ab");
        CHECK(f != NULL, "open %s", path);
        unsigned char part[40] = {0};
        uint32_t magic = 0x4A524656u, len = 200;
        memcpy(part, &magic, 4); memcpy(part + 4, &len, 4);
        CHECK(fwrite(part, 1, sizeof part, f) == sizeof part && fclose(f) == 0, "write");
        uint64_t torn2 = 0;
        jcount c2 = {0, 0, calloc(JN, 1), JN, 0};
        CHECK(vpar_farm_journal_read(path, NULL, NULL, NULL, count_rec, &c2, &torn2) == VPAR_OK,
              "%s", vpar_last_error());
        CHECK(torn2 == torn + sizeof part && c2.records == c.records, "torn %llu records %zu",
              (unsigned long long)torn2, c2.records);
        free(c2.seen);
        printf("journal holds %zu of %d tasks (%zu records, torn tail %llu bytes)\n", c.ok, JN,
               c.records, (unsigned long long)torn2);
    }
    long want;
    { long ok = (long)c.ok; MPI_Bcast(&ok, 1, MPI_LONG, 0, MPI_COMM_WORLD); want = JN - ok; }
    vpar_farm_desc d = {0};
    d.threads = 2;
    d.journal = path;
    d.resume = 1;
    d.journal_key = JKEY;
    res *out = g_rank == 0 ? malloc(JN * sizeof *out) : NULL;
    vpar_farm_status *st = g_rank == 0 ? malloc(JN * sizeof *st) : NULL;
    vpar_farm_report rep;
    reset_calls();
    vpar_status s = vpar_farm_map_report(JN, task_plain, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_OK, "%s", vpar_last_error());
    long calls = total_calls();
    CHECK(calls == want, "resume ran %ld tasks, %ld were not journaled", calls, want);
    if (g_rank == 0) {
        check_reference(out, st, JN, 1);
        CHECK(rep.restored == c.ok, "restored %zu", rep.restored);
        /* the journal now holds every task, and no torn tail */
        memset(seen, 0, sizeof seen);
        jcount c3 = {0, 0, seen, JN, 0};
        uint64_t torn3 = 1;
        CHECK(vpar_farm_journal_read(path, NULL, NULL, NULL, count_rec, &c3, &torn3) == VPAR_OK,
              "%s", vpar_last_error());
        CHECK(c3.ok == JN && torn3 == 0 && !c3.bad, "after resume: %zu ok, torn %llu", c3.ok,
              (unsigned long long)torn3);
        printf("resume ran %ld tasks\n", calls);
    }
    /* A third run restores everything and runs nothing. */
    reset_calls();
    s = vpar_farm_map_report(JN, task_plain, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_OK && total_calls() == 0, "third run: %s", vpar_last_error());
    if (g_rank == 0) check_reference(out, st, JN, 1);
    free(out); free(st);
}

static void mode_journal_unit(const char *path) {
    /* Only rank 0 touches files; all ranks take part in the maps. */
    size_t n = 20;
    res out[20];
    vpar_farm_status st[20];
    vpar_farm_desc d = {0};
    d.threads = 1;
    d.journal = path;
    d.journal_key = 7;
    if (g_rank == 0) unlink(path);
    CHECK(vpar_farm_map(n, task_plain, NULL, out, sizeof(res), st, &d) == VPAR_OK, "%s",
          vpar_last_error());
    /* exists, no resume: refused on every rank */
    vpar_status s = vpar_farm_map(n, task_plain, NULL, out, sizeof(res), st, &d);
    CHECK(s == VPAR_ERR_STATE, "existing journal without resume: %d", (int)s);
    if (g_rank == 0) CHECK(strstr(vpar_last_error(), path) != NULL, "%s", vpar_last_error());
    /* a different key: refused */
    d.resume = 1;
    d.journal_key = 8;
    s = vpar_farm_map(n, task_plain, NULL, out, sizeof(res), st, &d);
    CHECK(s == VPAR_ERR_STATE, "key mismatch: %d", (int)s);
    d.journal_key = 7;
    long size = 0, last_len = 0;
    if (g_rank == 0) {
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL, "open");
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        /* length of the last record: walk the records */
        unsigned char *buf = malloc((size_t)size);
        fseek(f, 0, SEEK_SET);
        CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size, "read");
        fclose(f);
        long off = 64, prev = 64;
        while (off < size) { uint32_t tl; memcpy(&tl, buf + off + 4, 4); prev = off; off += tl; }
        CHECK(off == size, "records end at %ld of %ld", off, size);
        last_len = size - prev;
        /* (a) the last record written halfway: cut it 10 bytes short */
        CHECK(truncate(path, size - 10) == 0, "truncate");
        uint64_t torn = 0;
        unsigned char seen[20] = {0};
        jcount c = {0, 0, seen, n, 0};
        CHECK(vpar_farm_journal_read(path, NULL, NULL, NULL, count_rec, &c, &torn) == VPAR_OK,
              "%s", vpar_last_error());
        CHECK(c.records == n - 1 && torn == (uint64_t)(last_len - 10), "records %zu torn %llu",
              c.records, (unsigned long long)torn);
        /* (b) a flipped byte inside an earlier record: damage, not a torn tail */
        FILE *g = fopen(path, "r+b");
        CHECK(g != NULL, "open");
        fseek(g, 64 + 70, SEEK_SET);
        int ch = fgetc(g);
        fseek(g, 64 + 70, SEEK_SET);
        fputc(ch ^ 0x55, g);
        fclose(g);
        s = vpar_farm_journal_read(path, NULL, NULL, NULL, NULL, NULL, NULL);
        CHECK(s == VPAR_ERR_FORMAT, "damage: %d", (int)s);
        g = fopen(path, "r+b");
        fseek(g, 64 + 70, SEEK_SET);
        fputc(ch, g);
        fclose(g);
        free(buf);
    }
    /* (c) resume after the torn record: exactly that one task runs again */
    reset_calls();
    vpar_farm_report rep;
    s = vpar_farm_map_report(n, task_plain, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_OK, "%s", vpar_last_error());
    CHECK(total_calls() == 1, "resume after a torn record ran %ld tasks", total_calls());
    if (g_rank == 0) {
        check_reference(out, st, n, 1);
        CHECK(rep.restored == n - 1, "restored %zu", rep.restored);
        uint64_t torn = 1;
        CHECK(vpar_farm_journal_read(path, NULL, NULL, NULL, NULL, NULL, &torn) == VPAR_OK &&
              torn == 0, "torn tail cut off before appending");
        /* not a journal at all */
        FILE *f = fopen(path, "wb");
        fputs("hello, this is not a journal, not at all, no.......................\n", f);
        fclose(f);
    }
    s = vpar_farm_map(n, task_plain, NULL, out, sizeof(res), st, &d);
    CHECK(s == VPAR_ERR_FORMAT, "not a journal: %d", (int)s);
    if (g_rank == 0) {
        unlink(path);
        printf("journal_unit ok\n");
    }
}

/* ---- signals -------------------------------------------------------------- */

typedef struct sigjob { int raised; } sigjob;
static int on_result_sig(void *user, size_t i, const void *r, const vpar_farm_status *st) {
    (void)i; (void)r; (void)st;
    sigjob *sj = (sigjob *)user;
    if (++sj->raised == 30) raise(SIGUSR1);    /* a real signal, as Slurm sends */
    return 0;
}

static _Atomic int g_term_sent;
static int task_sigterm(void *user, size_t i, void *out) {
    (void)user;
    atomic_fetch_add(&g_calls, 1);
    sleep_us(3000);
    if (g_rank == g_size - 1 && i >= 40 && !atomic_exchange(&g_term_sent, 1)) kill(getpid(), SIGTERM);  /* process-directed, like scancel */
    compute(i, (res *)out);
    return 0;
}

static int task_grace(void *user, size_t i, void *out) {
    (void)user;
    atomic_fetch_add(&g_calls, 1);
    if (i == 0) kill(getpid(), SIGUSR1);
    sleep_us(1500000);
    compute(i, (res *)out);
    return 0;
}

static void check_interrupted_journal(const char *path, const res *out,
                                      const vpar_farm_status *st, size_t n,
                                      const vpar_farm_report *rep) {
    check_reference(out, st, n, 0);
    size_t ok = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        ok += st[i].state == VPAR_TASK_OK;
        nr += st[i].state == VPAR_TASK_NOT_RUN;
    }
    CHECK(ok + nr == n && nr > 0 && ok > 0, "ok %zu not run %zu", ok, nr);
    CHECK(rep->interrupted && rep->ok == ok && !rep->grace_expired, "report");
    unsigned char *seen = calloc(n, 1);
    jcount c = {0, 0, seen, n, 0};
    CHECK(vpar_farm_journal_read(path, NULL, NULL, NULL, count_rec, &c, NULL) == VPAR_OK, "%s",
          vpar_last_error());
    for (size_t i = 0; i < n; i++)
        CHECK(seen[i] == (st[i].state == VPAR_TASK_OK), "task %zu: journaled %d, state %d", i,
              seen[i], st[i].state);
    free(seen);
}

static void mode_signal(const char *path) {
    size_t n = 400;
    res *out = g_rank == 0 ? malloc(n * sizeof *out) : NULL;
    vpar_farm_status *st = g_rank == 0 ? malloc(n * sizeof *st) : NULL;
    vpar_farm_report rep;
    sigjob sj = {0};
    job j = {3000, 0};
    vpar_farm_desc d = {0};
    d.threads = 2;
    d.journal = path;
    d.resume = 1;
    d.on_result = on_result_sig;
    d.on_result_user = &sj;
    if (g_rank == 0) unlink(path);
    reset_calls();
    vpar_status s = vpar_farm_map_report(n, task_plain, &j, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_ERR_INTERRUPTED, "SIGUSR1: status %d (%s)", (int)s, vpar_last_error());
    long calls = total_calls();
    if (g_rank == 0) {
        check_interrupted_journal(path, out, st, n, &rep);
        CHECK((long)rep.attempts == calls, "attempts %zu calls %ld", rep.attempts, calls);
        printf("SIGUSR1 on rank 0: %zu of %zu done\n", rep.ok, n);
    }
    /* The handler is gone after the map: SIGUSR1 is as before (MPICH has
       its own handler, OpenMPI leaves the default). */
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    CHECK(cur.sa_handler == g_usr1_before.sa_handler, "SIGUSR1 handler left installed");
    /* Resume completes the job and recomputes nothing journaled. */
    long done = g_rank == 0 ? (long)rep.ok : 0;
    MPI_Bcast(&done, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    d.on_result = NULL;
    reset_calls();
    s = vpar_farm_map_report(n, task_plain, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_OK, "%s", vpar_last_error());
    CHECK(total_calls() == (long)n - done, "resume ran %ld, %ld left", total_calls(), (long)n - done);
    if (g_rank == 0) check_reference(out, st, n, 1);

    /* SIGTERM arriving at the last rank only (rank 0 with one rank). */
    if (g_rank == 0) unlink(path);
    reset_calls();
    s = vpar_farm_map_report(n, task_sigterm, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_ERR_INTERRUPTED, "SIGTERM: status %d (%s)", (int)s, vpar_last_error());
    calls = total_calls();
    if (g_rank == 0) {
        check_interrupted_journal(path, out, st, n, &rep);
        printf("SIGTERM on rank %d: %zu of %zu done\n", g_size - 1, rep.ok, n);
    }
    done = g_rank == 0 ? (long)rep.ok : 0;
    MPI_Bcast(&done, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    reset_calls();
    s = vpar_farm_map_report(n, task_plain, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_OK && total_calls() == (long)n - done, "resume: %s", vpar_last_error());
    if (g_rank == 0) { check_reference(out, st, n, 1); unlink(path); }

    /* Grace period: every task runs 1.5 s; the one with index 0 signals its
       own process (whichever rank runs it) right away; grace is 0.2 s, so
       rank 0 gives up on the running tasks, journals nothing and says so. */
    d.threads = g_size == 1 ? 2 : 1;   /* one rank, one thread: runs inline */
    d.prefetch = -1;
    d.grace_s = 0.2;
    size_t gn = 2 * (size_t)g_size;
    reset_calls();
    s = vpar_farm_map_report(gn, task_grace, NULL, out, sizeof(res), st, &d, &rep);
    CHECK(s == VPAR_ERR_INTERRUPTED, "grace: status %d (%s)", (int)s, vpar_last_error());
    if (g_rank == 0) {
        CHECK(rep.grace_expired == 1 && rep.interrupted == 1 && rep.ok == 0 &&
              rep.not_run == gn, "grace: expired %d ok %zu not_run %zu", rep.grace_expired,
              rep.ok, rep.not_run);
        CHECK(strstr(vpar_last_error(), "grace period expired") != NULL, "%s", vpar_last_error());
        jcount c = {0, 0, calloc(gn, 1), gn, 0};
        CHECK(vpar_farm_journal_read(path, NULL, NULL, NULL, count_rec, &c, NULL) == VPAR_OK &&
              c.records == 0, "grace: %zu records journaled", c.records);
        free(c.seen);
        unlink(path);
        printf("grace period expired as expected\n");
    }
    free(out); free(st);
}

/* An interrupt requested before the map (a program's own handler during
   MPI_Init): on every rank, no task runs; on the last rank only, the map
   is still interrupted everywhere; then a map runs normally (the request
   does not outlive the map it stopped). */
static void mode_early(void) {
    res *out = g_rank == 0 ? calloc(200, sizeof *out) : NULL;
    vpar_farm_status *st = g_rank == 0 ? calloc(200, sizeof *st) : NULL;
    vpar_farm_desc d = {0};
    d.threads = 2;
    job j = {1000, 0};
    reset_calls();
    vpar_farm_interrupt();
    vpar_status s = vpar_farm_map(200, task_plain, &j, out, sizeof *out, st, &d);
    CHECK(s == VPAR_ERR_INTERRUPTED, "all ranks interrupted before the map: %s",
          vpar_status_str(s));
    long calls = total_calls();
    CHECK(calls == 0, "%ld tasks ran after an interrupt before the map", calls);
    for (int i = 0; g_rank == 0 && i < 200; i++)
        CHECK(st[i].state == VPAR_TASK_NOT_RUN, "task %d state %d", i, st[i].state);
    reset_calls();
    if (g_rank == g_size - 1) vpar_farm_interrupt();
    s = vpar_farm_map(200, task_plain, &j, out, sizeof *out, st, &d);
    CHECK(s == VPAR_ERR_INTERRUPTED, "last rank interrupted before the map: %s",
          vpar_status_str(s));
    calls = total_calls();
    CHECK(calls < 200, "all %ld tasks ran after an interrupt before the map", calls);
    reset_calls();
    s = vpar_farm_map(200, task_plain, NULL, out, sizeof *out, st, &d);
    CHECK(s == VPAR_OK, "the next map: %s", vpar_last_error());
    for (size_t i = 0; g_rank == 0 && i < 200; i++) {
        res ref;
        compute(i, &ref);
        CHECK(memcmp(&ref, &out[i], sizeof ref) == 0, "task %zu", i);
    }
    free(out); free(st);
}

/* vpar_farm_local_threads against its contract, with the node found by
   host name (not MPI_Comm_split_type) and the masks read here: ranks
   whose affinity masks are identical and overlap no other rank's split
   those CPUs (sum = CPUs, each gets floor or ceil; 1 each when there are
   more ranks than CPUs); a rank whose mask overlaps nobody else's gets all
   of its CPUs; any rank gets 1..CPUs. $VPAR_NUM_THREADS wins. */
static void mode_threads(void) {
    unsetenv("VPAR_NUM_THREADS");
    int t = vpar_farm_local_threads(MPI_COMM_WORLD);
    setenv("VPAR_NUM_THREADS", "3", 1);
    int t3 = vpar_farm_local_threads(MPI_COMM_WORLD);
    unsetenv("VPAR_NUM_THREADS");
    CHECK(t3 == 3, "VPAR_NUM_THREADS=3 gave %d", t3);
    cpu_set_t mask;
    CPU_ZERO(&mask);
    CHECK(sched_getaffinity(0, sizeof mask, &mask) == 0, "sched_getaffinity");
    struct { char host[64]; cpu_set_t mask; int t; } me, *all = NULL;
    memset(&me, 0, sizeof me);
    gethostname(me.host, sizeof me.host - 1);
    me.mask = mask;
    me.t = t;
    if (g_rank == 0) all = calloc((size_t)g_size, sizeof *all);
    MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (g_rank == 0) {
        for (int r = 0; r < g_size; r++) {
            int cpus = CPU_COUNT(&all[r].mask), same = 0, overlap = 0, sum = 0;
            for (int q = 0; q < g_size; q++) {
                if (strcmp(all[q].host, all[r].host) != 0) continue;
                cpu_set_t x;
                CPU_AND(&x, &all[q].mask, &all[r].mask);
                if (CPU_COUNT(&x) == 0) continue;
                overlap++;
                if (CPU_EQUAL(&all[q].mask, &all[r].mask)) { same++; sum += all[q].t; }
            }
            CHECK(all[r].t >= 1 && all[r].t <= cpus, "rank %d: %d threads, %d CPUs", r,
                  all[r].t, cpus);
            if (overlap == 1) CHECK(all[r].t == cpus, "rank %d alone on %d CPUs got %d", r, cpus,
                                    all[r].t);
            if (overlap == same && same <= cpus) {
                CHECK(sum == cpus, "ranks sharing %d CPUs (%d of them) got %d threads in all",
                      cpus, same, sum);
                CHECK(all[r].t == cpus / same || all[r].t == cpus / same + 1,
                      "rank %d: %d threads, %d CPUs / %d ranks", r, all[r].t, cpus, same);
            }
            if (overlap == same && same > cpus) CHECK(all[r].t == 1, "rank %d: %d", r, all[r].t);
            printf("rank %d: %d threads (%d CPUs in its mask, shared by %d ranks)\n", r,
                   all[r].t, cpus, overlap);
        }
        free(all);
    }
    /* a map with the default threads runs on them */
    vpar_farm_desc d = {0};
    res *out = g_rank == 0 ? calloc(64, sizeof *out) : NULL;
    vpar_status st = vpar_farm_map(64, task_plain, &(job){0, 0}, out, sizeof *out, NULL, &d);
    CHECK(st == VPAR_OK, "map with default threads: %s", vpar_last_error());
    for (size_t i = 0; g_rank == 0 && i < 64; i++) {
        res ref;
        compute(i, &ref);
        CHECK(memcmp(&ref, &out[i], sizeof ref) == 0, "task %zu", i);
    }
    free(out);
}

int main(int argc, char **argv) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigaction(SIGUSR1, NULL, &g_usr1_before);
    const char *mode = argc > 1 ? argv[1] : "basic";
    const char *path = argc > 2 ? argv[2] : NULL;
    if (strcmp(mode, "basic") == 0) mode_basic();
    else if (strcmp(mode, "failures") == 0) mode_failures();
    else if (strcmp(mode, "journal") == 0 && path) mode_journal(path);
    else if (strcmp(mode, "resume") == 0 && path)
        mode_resume(path, !(argc > 3 && strcmp(argv[3], "lenient") == 0));
    else if (strcmp(mode, "journal_unit") == 0 && path) mode_journal_unit(path);
    else if (strcmp(mode, "signal") == 0 && path) mode_signal(path);
    else if (strcmp(mode, "threads") == 0) mode_threads();
    else if (strcmp(mode, "early") == 0) mode_early();
    else if (strcmp(mode, "startup") == 0) { mode_early(); mode_threads(); }
    else {
        if (g_rank == 0) fprintf(stderr, "usage: test_farm basic|failures|journal J|resume J|"
                                          "journal_unit J|signal J|threads|early|startup\n");
        MPI_Finalize();
        return 2;
    }
    MPI_Finalize();
    return 0;
}
