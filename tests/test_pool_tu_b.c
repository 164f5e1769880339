/* The declarations-only side of test_pool_tu_a.c. */
#include "vpar/pool.h"

#include <stdatomic.h>
#include <stdlib.h>

typedef struct fib_arg { int n; long r; } fib_arg;

static atomic_int queued_spawn_seen;

vpar_pool *tu_b_default_pool(void) { return vpar_pool_default(); }

void *tu_b_fib_arg_new(int n) {
    fib_arg *a = malloc(sizeof *a);
    if (a) { a->n = n; a->r = -1; }
    return a;
}
long tu_b_fib_arg_result(void *arg) { return ((fib_arg *)arg)->r; }
int tu_b_spawned_on_pool(void) { return atomic_load(&queued_spawn_seen); }

void tu_b_fib(void *user, int tid) {
    fib_arg *a = (fib_arg *)user;
    if (a->n < 2) { a->r = a->n; return; }
    fib_arg x = {a->n - 1, 0}, y = {a->n - 2, 0};
    vpar_task t;
    vpar_spawn(&t, tu_b_fib, &x);
    /* Inside a pool the child is queued (owner set); serial elision would
       have run it already. */
    if (t.vpar__owner != NULL) atomic_store(&queued_spawn_seen, 1);
    tu_b_fib(&y, tid);
    vpar_sync(&t);
    a->r = x.r + y.r;
}
