/* Randomized stress of vpar/pool.h: several outside threads drive four
   pools (NULL, 1, 2 and 4 tids, the 4-tid one without spinning) with a
   random mix of loops, reductions, fork-join trees, submit/wait and
   cross-pool nesting, and check every result against a value derived here
   (closed forms, a serial recursion, exact counts).

   Length: VPAR_POOL_STRESS_SECONDS (default 2: the ctest run; `make
   stress` runs it for STRESS_SECONDS, default 300). Seed:
   VPAR_POOL_STRESS_SEED (default: from the clock; printed, so that a
   failure can be replayed). A watchdog fails the run when no operation
   finished for 60 s (a deadlock).

   Nesting only goes from a lower pool index to a higher one, plus the
   deliberate call back into the pool whose region started the chain (which
   must fail with VPAR_ERR_STATE at once): two outside threads nesting in
   opposite orders would be a lock-order cycle, which pool.h documents as
   the caller's responsibility. */
#define VPAR_IMPLEMENTATION
#include "vpar/pool.h"
#include "vpar_test_util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { NPOOLS = 4, NDRIVERS = 3 };
static vpar_pool *pools[NPOOLS];     /* [0] = NULL (serial) */
static _Atomic long ops_done, failures;
static _Atomic int stop_all;


static uint64_t rnd(uint64_t *s) {  /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#define FAIL(...)                                   \
    do {                                            \
        fprintf(stderr, "stress: " __VA_ARGS__);    \
        fprintf(stderr, "\n");                      \
        atomic_fetch_add(&failures, 1);             \
    } while (0)

/* ---- loops: every index exactly once, ranges within grain and tids valid */

typedef struct cover {
    size_t begin, grain;
    int nthreads;
    unsigned char *hits;
    _Atomic int bad;
} cover;

static void cover_body(void *u, size_t b, size_t e, int tid) {
    cover *c = (cover *)u;
    if (tid < 0 || tid >= c->nthreads || b >= e || b < c->begin || (c->grain && e - b > c->grain))
        atomic_fetch_add(&c->bad, 1);
    /* Distinct indices: plain bytes, a duplicate shows up as 2. */
    for (size_t i = b; i < e; i++) c->hits[i - c->begin]++;
}

static void op_for(int pi, uint64_t *s) {
    vpar_pool *p = pools[pi];
    size_t n = (size_t)(rnd(s) % 5000);
    size_t begin = rnd(s) % 4 == 0 ? SIZE_MAX - n - (size_t)(rnd(s) % 3) : (size_t)(rnd(s) % 100000);
    size_t grains[] = {0, 1, 3, 64, 1000, SIZE_MAX};
    size_t grain = grains[rnd(s) % 6];
    cover c;
    c.begin = begin;
    c.grain = grain;
    c.nthreads = p ? vpar_pool_size(p) : 1;
    c.hits = (unsigned char *)calloc(n ? n : 1, 1);
    atomic_init(&c.bad, 0);
    if (!c.hits) { FAIL("out of memory"); return; }
    vpar_status st = vpar_parallel_for(p, begin, begin + n, grain, cover_body, &c);
    if (st != VPAR_OK) FAIL("parallel_for pool %d: %s", pi, vpar_last_error());
    if (atomic_load(&c.bad)) FAIL("parallel_for pool %d: bad range or tid", pi);
    for (size_t i = 0; i < n; i++)
        if (c.hits[i] != 1) {
            FAIL("parallel_for pool %d [%zu,+%zu) grain %zu: index %zu hit %d times", pi, begin, n,
                 grain, begin + i, c.hits[i]);
            break;
        }
    free(c.hits);
}

/* ---- reductions: sum of i over [b, e) in exact integers, chunk order ---- */

typedef struct isum { uint64_t sum; size_t first, last; int ok, any; } isum;
static void isum_init(void *u, void *p) {
    (void)u;
    isum *x = (isum *)p;
    x->sum = 0; x->first = 0; x->last = 0; x->ok = 1; x->any = 0;
}
static void isum_reduce(void *u, size_t b, size_t e, void *p) {
    (void)u;
    isum *x = (isum *)p;
    if (x->any) x->ok = 0;  /* one chunk per partial */
    x->any = 1;
    x->first = b;
    x->last = e;
    uint64_t s = 0;
    for (size_t i = b; i < e && e - b <= 100000; i++) s += i;
    x->sum = s;
}
static void isum_combine(void *u, void *into, const void *from) {
    (void)u;
    isum *a = (isum *)into;
    const isum *b = (const isum *)from;
    if (!b->ok) a->ok = 0;
    if (!a->any) a->first = b->first;
    else if (a->last != b->first) a->ok = 0;  /* out of order or a gap */
    a->any = 1;
    a->last = b->last;
    a->sum += b->sum;
}

static void op_reduce(int pi, uint64_t *s) {
    vpar_pool *p = pools[pi];
    size_t n = (size_t)(rnd(s) % 20000);
    size_t begin = (size_t)(rnd(s) % 1000000);
    size_t grains[] = {0, 1, 7, 100, 4096};
    size_t grain = grains[rnd(s) % 5];
    isum r;
    vpar_status st = vpar_parallel_reduce(p, begin, begin + n, grain, sizeof r, isum_init,
                                          isum_reduce, isum_combine, NULL, &r);
    /* sum_{i=b}^{e-1} i = n*b + n(n-1)/2, exact in 64 bits here */
    uint64_t expect = (uint64_t)n * begin + (uint64_t)n * (n ? n - 1 : 0) / 2;
    if (st != VPAR_OK) FAIL("reduce pool %d: %s", pi, vpar_last_error());
    else if (!r.ok || r.sum != expect || (n && (r.first != begin || r.last != begin + n)))
        FAIL("reduce pool %d [%zu,+%zu) grain %zu: sum %" PRIu64 " expected %" PRIu64 " ok %d",
             pi, begin, n, grain, r.sum, expect, r.ok);
}

/* ---- fork-join ------------------------------------------------------------ */


static void op_fib(int pi, uint64_t *s) {
    vpar_test_fib_arg a = {8 + (int)(rnd(s) % 11), -1};
    vpar_status st = vpar_pool_run(pools[pi], vpar_test_fib_task, &a);
    if (st != VPAR_OK || a.r != vpar_test_fib_iter(a.n))
        FAIL("fib(%d) on pool %d: %ld (%s)", a.n, pi, a.r, st ? vpar_last_error() : "ok");
}

/* ---- submit + wait -------------------------------------------------------- */

typedef struct sub { vpar_pool *p; _Atomic long n; } sub;
typedef struct sub_node { sub *s; int depth; } sub_node;
static void sub_task(void *u, int tid) {
    (void)tid;
    sub *s = (sub *)u;
    atomic_fetch_add(&s->n, 1);
}
/* A task that submits one more (depth times): wait must cover those too. */
static void sub_chain(void *u, int tid) {
    (void)tid;
    sub_node *c = (sub_node *)u;
    atomic_fetch_add(&c->s->n, 1);
    if (c->depth > 0) {
        c->depth--;
        if (vpar_pool_submit(c->s->p, sub_chain, c) != VPAR_OK) atomic_fetch_add(&c->s->n, 1000000);
    }
}

static void op_submit(int pi, uint64_t *s) {
    if (pi == 0) pi = 1 + (int)(rnd(s) % (NPOOLS - 1));
    sub x;
    x.p = pools[pi];
    atomic_init(&x.n, 0);
    long k = 1 + (long)(rnd(s) % 200);
    sub_node chain = {&x, (int)(rnd(s) % 20)};
    long expect = k + chain.depth + 1;
    for (long i = 0; i < k; i++)
        if (vpar_pool_submit(x.p, sub_task, &x) != VPAR_OK) FAIL("submit: %s", vpar_last_error());
    if (vpar_pool_submit(x.p, sub_chain, &chain) != VPAR_OK) FAIL("submit: %s", vpar_last_error());
    if (vpar_pool_wait(x.p) != VPAR_OK) FAIL("wait pool %d: %s", pi, vpar_last_error());
    if (atomic_load(&x.n) != expect)
        FAIL("submit/wait pool %d: %ld of %ld tasks ran before wait returned", pi,
             atomic_load(&x.n), expect);
}

/* ---- cross-pool nesting ------------------------------------------------- */

typedef struct xn {
    int a, b;            /* pool indices, a < b */
    _Atomic int refused, wrong;
} xn;

static void never_body(void *u, size_t b, size_t e, int tid) {
    (void)u; (void)b; (void)e; (void)tid;
    atomic_fetch_add(&failures, 1);  /* the refused loop must not run */
}

static void xn_body(void *u, size_t lo, size_t hi, int tid) {
    (void)tid;
    xn *x = (xn *)u;
    for (size_t i = lo; i < hi; i++) {
        /* Back into a: refused at once. */
        vpar_status st = vpar_parallel_for(pools[x->a], 0, 10, 0, never_body, NULL);
        if (st == VPAR_ERR_STATE) atomic_fetch_add(&x->refused, 1);
        else atomic_fetch_add(&x->wrong, 1);
        /* Further up (a pool above b, outside the chain): works. */
        if (x->b + 1 < NPOOLS) {
            vpar_test_fib_arg f = {9, 0};
            if (vpar_pool_run(pools[x->b + 1], vpar_test_fib_task, &f) != VPAR_OK || f.r != vpar_test_fib_iter(9))
                atomic_fetch_add(&x->wrong, 1);
        }
    }
}
static void xn_task(void *u, int tid) {
    (void)tid;
    xn *x = (xn *)u;
    if (vpar_parallel_for(pools[x->b], 0, 16, 1, xn_body, x) != VPAR_OK)
        atomic_fetch_add(&x->wrong, 100);
}

static void op_nest(uint64_t *s) {
    xn x;
    x.a = 1 + (int)(rnd(s) % (NPOOLS - 2));                    /* 1 or 2 */
    x.b = x.a + 1 + (int)(rnd(s) % (unsigned)(NPOOLS - 1 - x.a)); /* above a */
    atomic_init(&x.refused, 0);
    atomic_init(&x.wrong, 0);
    vpar_status st = vpar_pool_run(pools[x.a], xn_task, &x);
    if (st != VPAR_OK || atomic_load(&x.wrong) || atomic_load(&x.refused) != 16)
        FAIL("nesting %d -> %d -> %d: status %d, %d refused of 16, %d wrong", x.a, x.b, x.a, st,
             atomic_load(&x.refused), atomic_load(&x.wrong));
}

/* ---- drivers -------------------------------------------------------------- */

typedef struct driver { uint64_t seed; double until; long ops; } driver;

static void *driver_main(void *arg) {
    driver *d = (driver *)arg;
    uint64_t s = d->seed;
    while (!atomic_load(&stop_all) && vpar_test_now_s() < d->until) {
        int pi = (int)(rnd(&s) % NPOOLS);
        switch (rnd(&s) % 9) {
        case 0: case 1: op_for(pi, &s); break;
        case 2: case 3: op_reduce(pi, &s); break;
        case 4: case 5: op_fib(pi, &s); break;
        case 6: case 7: op_submit(pi, &s); break;
        default: op_nest(&s); break;
        }
        d->ops++;
        atomic_fetch_add(&ops_done, 1);
        if (atomic_load(&failures) > 20) break;
    }
    return NULL;
}

int main(void) {
    double seconds = 2;
    const char *e = getenv("VPAR_POOL_STRESS_SECONDS");
    if (e && *e) seconds = atof(e);
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    e = getenv("VPAR_POOL_STRESS_SEED");
    if (e && *e) seed = strtoull(e, NULL, 0);
    printf("pool stress: %.0f s, seed %" PRIu64 " (VPAR_POOL_STRESS_SEED=%" PRIu64 " repeats each driver's sequence of operations)\n",
           seconds, seed, seed);
    fflush(stdout);

    int sizes[NPOOLS] = {0, 1, 2, 4};
    int spins[NPOOLS] = {0, 0, 0, -1};
    for (int i = 1; i < NPOOLS; i++) {
        vpar_pool_desc dsc = {sizes[i], spins[i]};
        if (vpar_pool_create(&pools[i], &dsc) != VPAR_OK) {
            fprintf(stderr, "stress: cannot create pool %d: %s\n", i, vpar_last_error());
            return 1;
        }
    }
    double t0 = vpar_test_now_s();
    pthread_t th[NDRIVERS];
    driver d[NDRIVERS];
    for (int i = 0; i < NDRIVERS; i++) {
        d[i].seed = seed + 0x1000193u * (uint64_t)(i + 1);
        d[i].until = t0 + seconds;
        d[i].ops = 0;
        if (pthread_create(&th[i], NULL, driver_main, &d[i]) != 0) {
            fprintf(stderr, "stress: pthread_create failed\n");
            return 1;
        }
    }
    /* Watchdog: progress at least every 60 s. */
    int joined[NDRIVERS] = {0};
    long last = -1;
    double last_t = vpar_test_now_s();
    for (;;) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
        long now_ops = atomic_load(&ops_done);
        if (now_ops != last) { last = now_ops; last_t = vpar_test_now_s(); }
        if (vpar_test_now_s() - last_t > 60) {
            fprintf(stderr, "stress: no operation finished for 60 s (deadlock); seed %" PRIu64 "\n",
                    seed);
            _exit(1);
        }
        if (vpar_test_now_s() > t0 + seconds) {
            /* the drivers finish their current operation and return */
            int all = 1;
            for (int i = 0; i < NDRIVERS; i++) {
                if (!joined[i] && pthread_tryjoin_np(th[i], NULL) == 0) joined[i] = 1;
                all &= joined[i];
            }
            if (all) break;
        }
    }
    for (int i = 1; i < NPOOLS; i++) vpar_pool_destroy(pools[i]);
    long total = atomic_load(&ops_done);
    printf("pool stress: %ld operations in %.1f s, %ld failures\n", total, vpar_test_now_s() - t0,
           atomic_load(&failures));
    return atomic_load(&failures) == 0 && total > 0 ? 0 : 1;
}
