/* vpar-parallel: running median (see par_median.h). */
#include "par_median.h"

#include <stdlib.h>
#include <string.h>

#include "par_util.h"

static int heap_before(const par_heap *h, double a, double b) { return h->max ? a > b : a < b; }

static void heap_push(par_heap *h, double x) {
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->v = par_xrealloc(h->v, h->cap * sizeof *h->v);
    }
    size_t i = h->n++;
    h->v[i] = x;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_before(h, h->v[i], h->v[p])) break;
        double t = h->v[i]; h->v[i] = h->v[p]; h->v[p] = t;
        i = p;
    }
}

static double heap_pop(par_heap *h) {
    double top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_before(h, h->v[l], h->v[m])) m = l;
        if (r < h->n && heap_before(h, h->v[r], h->v[m])) m = r;
        if (m == i) break;
        double t = h->v[i]; h->v[i] = h->v[m]; h->v[m] = t;
        i = m;
    }
    return top;
}

void par_median_init(par_median *m) {
    memset(m, 0, sizeof *m);
    m->lo.max = 1;
}

void par_median_add(par_median *m, double x) {
    if (m->lo.n == 0 || x <= m->lo.v[0]) heap_push(&m->lo, x);
    else heap_push(&m->hi, x);
    if (m->lo.n > m->hi.n + 1) heap_push(&m->hi, heap_pop(&m->lo));
    else if (m->hi.n > m->lo.n) heap_push(&m->lo, heap_pop(&m->hi));
}

int par_median_get(const par_median *m, double *out) {
    if (m->lo.n == 0) return 0;
    *out = m->lo.n > m->hi.n ? m->lo.v[0] : (m->lo.v[0] + m->hi.v[0]) / 2;
    return 1;
}

void par_median_free(par_median *m) {
    free(m->lo.v);
    free(m->hi.v);
    par_median_init(m);
}
