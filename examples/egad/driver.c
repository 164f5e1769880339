/* examples/egad/driver.c — vpar_egad_run: node degrees, then each term on
   the pool (fold sums, training scores, held-out ranks, AUROC, P value,
   degree-null AUROC). The loops over rows and scores are in kernels.c. */
#include "egad_internal.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct vpar__egad_ctx {
    const vpar_egad_plan *plan;
    const void *w;
    vpar_dtype dt;             /* float32, float64 or VPAR__EGAD_DT_U32 (rank codes) */
    double one;                /* the diagonal's value: 1, or the codes' scale */
    int clean;                 /* NaN/inf count as 0 (slow path) */
    int ident;                 /* universe == all network genes, in order */
    double *degree;            /* n, valid at universe columns */
    double *du;                /* nu: degree in universe order */
    double *drank;             /* nu: rank of degree among the universe */
    vpar_egad_term_result *res;
    unsigned char *scratch;    /* per tid, scratch_stride bytes */
    size_t scratch_stride;
    size_t scratch_bytes;      /* nthreads * scratch_stride (vpar_alloc_large) */
} vpar__egad_ctx;

static void vpar__egad_degree_range(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    vpar__egad_ctx *c = (vpar__egad_ctx *)user;
    const vpar_egad_plan *p = c->plan;
    double acc[512];
    for (size_t blk = begin; blk < end; blk++) {
        size_t c0 = blk * 512, c1 = c0 + 512 < p->n ? c0 + 512 : p->n;
        memset(acc, 0, sizeof acc);
        if (c->dt == VPAR__EGAD_DT_U32 && !c->clean) {
            /* rank codes: every partial sum is an exact integer, so the
               order does not matter: the universe rows four at a time in
               integer lanes (simd.h), then each universe diagonal entry
               in this block swapped for `one` */
            const uint32_t *m = (const uint32_t *)c->w;
            vpar_acc_rows_u32_f64(acc, m, p->n, p->univ, p->nu, c0, c1);
            for (size_t u = 0; u < p->nu; u++) {
                size_t j = p->univ[u];
                if (j >= c0 && j < c1) acc[j - c0] = acc[j - c0] - (double)m[j * p->n + j] + c->one;
            }
        } else {
            for (size_t u = 0; u < p->nu; u++)
                vpar__egad_add_row(acc, c->w, c->dt, p->n, p->univ[u], c0, c1, c->clean, c->one);
        }
        memcpy(c->degree + c0, acc, (c1 - c0) * sizeof *acc);
    }
}

#ifndef VPAR__EGAD_SMALL_K
#  define VPAR__EGAD_SMALL_K 64
#endif
/* Held-out folds larger than this are counted through the bucket table
   (vpar__egad_count_table) when their scores allow it; smaller ones by
   one vector pass per score. The two kernels alone cross at 16-24 scores
   (2,500 and 17,198 candidates); 10, 20 and 32 here measured the same in
   the whole term phase (bench/RESULTS.md, 2026-12-02 evening). */
#ifndef VPAR__EGAD_TABLE_K
#  define VPAR__EGAD_TABLE_K 20
#endif

static int vpar__egad_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts the k held-out scores of a fold ascending: insertion sort up to
   VPAR__EGAD_SMALL_K scores without NaN (the usual case: a few dozen per
   fold, thousands of folds; qsort's calls through a comparison function
   cost more than the sort), qsort otherwise. Without NaN both give the
   same array (a sorted array of doubles is unique, and |score| is never
   -0.0), so the counts do not depend on the choice. */
static void vpar__egad_sort_held(double *h, size_t k) {
    int nan = 0;
    for (size_t i = 0; i < k; i++) nan |= isnan(h[i]);
    if (nan || k > VPAR__EGAD_SMALL_K) {
        qsort(h, k, sizeof *h, vpar__egad_cmp_double);
        return;
    }
    for (size_t i = 1; i < k; i++) {
        double x = h[i];
        size_t j = i;
        for (; j > 0 && h[j - 1] > x; j--) h[j] = h[j - 1];
        h[j] = x;
    }
}

/* Scratch of one thread: the fold sums of a group, F (group x nfold x n
   doubles), then T (nu), v (nu), held (max_pos), the count table's
   thresholds (tb = vpar__egad_count_table_buckets(max_pos)) and the
   held-out scores it sorts (max_pos) doubles, then
   the group's fold offsets (group x (nfold + 1) size_t), its positives by
   term and fold (uint32, grp_pos_max) and the count table's bucket
   offsets (tb uint32). */
static size_t vpar__egad_scratch_bytes(const vpar_egad_plan *p) {
    size_t nf = (size_t)p->desc.nfold, tb = vpar__egad_count_table_buckets(p->max_pos);
    size_t bytes = ((size_t)VPAR__EGAD_GROUP * nf * p->n + 2 * p->nu + 2 * p->max_pos + tb) * sizeof(double) +
                   (size_t)VPAR__EGAD_GROUP * (nf + 1) * sizeof(size_t) +
                   (p->grp_pos_max + tb) * sizeof(uint32_t);
    return (bytes + VPAR_CACHE_LINE - 1) / VPAR_CACHE_LINE * VPAR_CACHE_LINE;
}

/* The rows of fold sum acc (rows[q0 .. qe)) carried their own diagonal
   W_jj into column j: swap it for 1 (the scale for rank codes; exact for
   float32 and codes: all these sums are exact in double); a non-finite
   diagonal entry poisoned the sum, so that column is recomputed without
   it. */
static void vpar__egad_fix_diagonal(const vpar__egad_ctx *c, double *acc, const uint32_t *rows,
                                    size_t q0, size_t qe) {
    const size_t n = c->plan->n;
    for (size_t a = q0; a < qe; a++) {
        size_t j = rows[a];
        double wjj = vpar__egad_wval(c->w, c->dt, j * n + j);
        if (isfinite(wjj)) {
            acc[j] = acc[j] - wjj + c->one;
            continue;
        }
        double s = 0;
        for (size_t b = q0; b < qe; b++) {
            size_t r = rows[b];
            s += r == j ? c->one : vpar__egad_wval(c->w, c->dt, r * n + j);
        }
        acc[j] = s;
    }
}

/* Fold sums of one term with NaN/inf as 0 (the slow path): F_f = sum of
   the rows of fold f's positives, full width, a row at a time. */
static void vpar__egad_fold_sums_clean(const vpar__egad_ctx *c, double *F, const uint32_t *rows,
                                       const size_t *hoff) {
    const size_t n = c->plan->n;
    const int nf = c->plan->desc.nfold;
    memset(F, 0, (size_t)nf * n * sizeof *F);
    for (int f = 0; f < nf; f++)
        for (size_t q = hoff[f]; q < hoff[f + 1]; q++)
            vpar__egad_add_row(F + (size_t)f * n, c->w, c->dt, n, rows[q], 0, n, 1, c->one);
}

/* Fold sums of a group of gn terms: F + i x nfold x n holds term i's, its
   positives are rows + roff[i] with fold offsets hoff + i x (nfold + 1).
   Column tile by column tile (the tile of the group's `uni` distinct rows
   stays in cache while every term of the group adds it: 384 KiB where the
   group is small, else tiles of vpar__egad_tune.min_tile columns, whose
   row segments the hardware prefetcher can stream), each fold's rows in
   simd.h's order (vpar_acc_rows_*: groups of 4, then a pair, then a
   single): per column the same sums, bit for bit, as one term at a time
   over the full width. */
static void vpar__egad_group_sums(const vpar__egad_ctx *c, double *F, const uint32_t *rows,
                                  const size_t *roff, const size_t *hoff, size_t gn, size_t uni) {
    const vpar_egad_plan *p = c->plan;
    const size_t n = p->n, nf = (size_t)p->desc.nfold;
    if (c->clean) {
        for (size_t i = 0; i < gn; i++)
            vpar__egad_fold_sums_clean(c, F + i * nf * n, rows + roff[i], hoff + i * (nf + 1));
        return;
    }
    size_t es = c->dt == VPAR_DTYPE_F64 ? sizeof(double) : 4;
    size_t cw = vpar__egad_tune.tile_bytes / ((uni ? uni : 1) * es) / 16 * 16;
    if (cw < vpar__egad_tune.min_tile) cw = vpar__egad_tune.min_tile;
    if (cw < 1) cw = 1;
    if (cw > n) cw = n;
    for (size_t c0 = 0; c0 < n; c0 += cw) {
        size_t c1 = c0 + cw < n ? c0 + cw : n;
        for (size_t i = 0; i < gn; i++) {
            const uint32_t *r = rows + roff[i];
            const size_t *h = hoff + i * (nf + 1);
            for (size_t f = 0; f < nf; f++) {
                double *acc = F + (i * nf + f) * n + c0;
                memset(acc, 0, (c1 - c0) * sizeof *acc);
                if (c->dt == VPAR_DTYPE_F32)
                    vpar_acc_rows_f32_f64(acc, (const float *)c->w, n, r + h[f], h[f + 1] - h[f], c0, c1);
                else if (c->dt == VPAR__EGAD_DT_U32)
                    vpar_acc_rows_u32_f64(acc, (const uint32_t *)c->w, n, r + h[f], h[f + 1] - h[f], c0, c1);
                else
                    vpar_acc_rows_f64(acc, (const double *)c->w, n, r + h[f], h[f + 1] - h[f], c0, c1);
            }
        }
    }
    for (size_t i = 0; i < gn; i++) {
        const size_t *h = hoff + i * (nf + 1);
        for (size_t f = 0; f < nf; f++)
            vpar__egad_fix_diagonal(c, F + (i * nf + f) * n, rows + roff[i], h[f], h[f + 1]);
    }
}

/* One thread's view of the current term, carved from its scratch block
   (vpar__egad_scratch_bytes). */
typedef struct vpar__egad_work {
    double *F;             /* nfold x n: fold sums */
    double *T;             /* nu: total over folds, universe order */
    double *v;             /* nu: training scores of the current fold */
    double *held;          /* max_pos: held-out scores */
    double *ct_t;          /* count table (vpar__egad_count_table) */
    double *ct_hs;         /* max_pos: the held-out scores it sorts */
    uint32_t *ct_lo;
    const size_t *hoff;    /* nfold + 1: fold f's positives are [hoff[f], hoff[f + 1]) */
} vpar__egad_work;

/* Positives of term t grouped by fold (universe order within a fold) into
   rows, fold offsets into hoff (nfold + 1). */
static void vpar__egad_group_folds(const vpar_egad_plan *p, size_t t, uint32_t *rows, size_t *hoff) {
    const int nf = p->desc.nfold;
    size_t b = p->pos_ptr[t], e = p->pos_ptr[t + 1], fill[256];
    for (int f = 0; f <= nf; f++) hoff[f] = 0;
    for (size_t i = b; i < e; i++) hoff[p->pos_fold[i] + 1]++;
    for (int f = 0; f < nf; f++) hoff[f + 1] += hoff[f];
    for (int f = 0; f < nf; f++) fill[f] = hoff[f];
    for (size_t i = b; i < e; i++) rows[fill[p->pos_fold[i]]++] = p->pos_net[i];
}

/* T = total over folds, in universe order. */
static void vpar__egad_totals(const vpar__egad_ctx *c, vpar__egad_work *w) {
    const vpar_egad_plan *p = c->plan;
    const size_t n = p->n, nu = p->nu;
    const int nf = p->desc.nfold;
    if (c->ident) {
        memcpy(w->T, w->F, nu * sizeof *w->T);
        for (int f = 1; f < nf; f++) {
            const double *Ff = w->F + (size_t)f * n;
            for (size_t u = 0; u < nu; u++) w->T[u] += Ff[u];
        }
    } else {
        for (size_t u = 0; u < nu; u++) {
            size_t j = p->univ[u];
            double s = w->F[j];
            for (int f = 1; f < nf; f++) s += w->F[(size_t)f * n + j];
            w->T[u] = s;
        }
    }
}

/* Held-out fold f of term t: its AUROC and Mann-Whitney z. Returns 0 for
   a fold without positives or a term covering the universe (NaN fold). */
static int vpar__egad_fold_auc(const vpar__egad_ctx *c, vpar__egad_work *w, size_t t, int f,
                               double *auc_out, double *z_out) {
    const vpar_egad_plan *p = c->plan;
    const size_t nu = p->nu, b = p->pos_ptr[t], e = p->pos_ptr[t + 1], np_all = e - b;
    size_t k = w->hoff[f + 1] - w->hoff[f];
    if (k == 0 || nu == np_all) return 0;
    const double *Ff = w->F + (size_t)f * p->n, *du = c->du;
    double *v = w->v, *held = w->held;
    /* Training score of fold f = (total - held-out fold) / degree. */
    if (c->ident) {
        vpar__egad_scores(v, w->T, Ff, du, nu);
    } else {
        for (size_t u = 0; u < nu; u++) v[u] = fabs((w->T[u] - Ff[p->univ[u]]) / du[u]);
    }
    size_t h = 0;
    for (size_t i = b; i < e; i++) {
        if (p->pos_fold[i] == f) held[h++] = v[p->pos_univ[i]];
    }
    /* Training positives are no candidates: a sentinel below every
       |score| makes each count as 2k in acc2, removed below. */
    for (size_t i = b; i < e; i++)
        if (p->pos_fold[i] != f) v[p->pos_univ[i]] = -1.0;
    /* acc2 = sum over candidates of 2 x (held-out scores above it)
       + (held-out scores equal to it) = 2 x rank sum - k. The table sorts
       the held-out scores itself; the other two ways need them sorted. */
    long long acc2;
    if (k > VPAR__EGAD_TABLE_K && vpar__egad_count_table_ok(held, k)) {
        acc2 = vpar__egad_count_table(v, nu, held, k, w->ct_lo, w->ct_t, w->ct_hs);
    } else {
        vpar__egad_sort_held(held, k);
        acc2 = k <= VPAR__EGAD_SMALL_K ? vpar__egad_count_small(v, nu, held, k)
                                       : vpar__egad_count_search(v, nu, held, k);
    }
    acc2 -= 2LL * (long long)k * (long long)(np_all - k);
    double nn = (double)(nu - np_all), npf = (double)k;
    double psum = ((double)k + (double)acc2) / 2.0;
    double auc = (psum / npf - (npf + 1.0) / 2.0) / nn;
    double U = auc * npf * nn;
    *z_out = fabs(U - npf * nn / 2.0) / sqrt(npf * nn * (npf + nn + 1.0) / 12.0);
    *auc_out = auc;
    return 1;
}

/* AVG_NODE_DEGREE and DEGREE_NULL_AUC of term t. */
static void vpar__egad_degree_null(const vpar__egad_ctx *c, size_t t, vpar_egad_term_result *r) {
    const vpar_egad_plan *p = c->plan;
    size_t b = p->pos_ptr[t], e = p->pos_ptr[t + 1], np_all = e - b;
    double dsum = 0, rsum = 0;
    for (size_t i = b; i < e; i++) {
        dsum += c->du[p->pos_univ[i]];
        rsum += c->drank[p->pos_univ[i]];
    }
    /* in the network's units (rank codes: divided by their scale) */
    r->avg_node_degree = dsum / (double)np_all / c->one;
    if (p->nu == np_all) {
        r->degree_null_auc = NAN;
    } else {
        double npd = (double)np_all, nn = (double)(p->nu - np_all);
        r->degree_null_auc = (rsum / npd - (npd + 1.0) / 2.0) / nn;
    }
}

/* Groups [begin, end) of the plan: fold sums of the group, then each
   term's AUROCs, P value and degree-null AUROC. */
static void vpar__egad_terms_range(void *user, size_t begin, size_t end, int tid) {
    vpar__egad_ctx *c = (vpar__egad_ctx *)user;
    const vpar_egad_plan *p = c->plan;
    const int nf = p->desc.nfold;
    const size_t fstride = (size_t)nf * p->n;
    double *Fg = (double *)(c->scratch + (size_t)tid * c->scratch_stride);
    vpar__egad_work w;
    w.T = Fg + (size_t)VPAR__EGAD_GROUP * fstride;
    w.v = w.T + p->nu;
    w.held = w.v + p->nu;
    const size_t tb = vpar__egad_count_table_buckets(p->max_pos);
    w.ct_t = w.held + p->max_pos;
    w.ct_hs = w.ct_t + tb;
    size_t *hoffs = (size_t *)(w.ct_hs + p->max_pos);
    uint32_t *rows = (uint32_t *)(hoffs + (size_t)VPAR__EGAD_GROUP * (size_t)(nf + 1));
    w.ct_lo = rows + p->grp_pos_max;
    size_t roff[VPAR__EGAD_GROUP];
    for (size_t g = begin; g < end; g++) {
        const uint32_t *terms = p->order + p->grp_ptr[g];
        size_t gn = p->grp_ptr[g + 1] - p->grp_ptr[g], at = 0;
        for (size_t i = 0; i < gn; i++) {
            roff[i] = at;
            vpar__egad_group_folds(p, terms[i], rows + at, hoffs + i * (size_t)(nf + 1));
            at += p->pos_ptr[terms[i] + 1] - p->pos_ptr[terms[i]];
        }
        vpar__egad_group_sums(c, Fg, rows, roff, hoffs, gn, p->grp_union[g]);
        for (size_t i = 0; i < gn; i++) {
            size_t t = terms[i];
            w.F = Fg + i * fstride;
            w.hoff = hoffs + i * (size_t)(nf + 1);
            vpar__egad_totals(c, &w);
            double auc_sum = 0, z_sum = 0;
            int auc_cnt = 0;
            for (int f = 0; f < nf; f++) {
                double auc, z;
                if (!vpar__egad_fold_auc(c, &w, t, f, &auc, &z)) continue;
                auc_sum += auc;
                z_sum += z;
                auc_cnt++;
            }
            vpar_egad_term_result *r = &c->res[t];
            r->auc = auc_cnt ? auc_sum / auc_cnt : NAN;
            double zz = z_sum / sqrt((double)nf);
            r->p_value = 0.5 * erfc(zz / sqrt(2.0));
            vpar__egad_degree_null(c, t, r);
        }
    }
}

/* Runs fn over [0, count) on the pool (serially without one). Term groups are
   handed out one at a time (grain 1): their cost varies with their sizes. */
static vpar_status vpar__egad_for(vpar_pool *pool, size_t count, size_t grain,
                                  vpar_range_fn fn, void *user) {
    return vpar_parallel_for(pool, 0, count, grain, fn, user);
}

/* Locates the first non-finite element of the universe sub-matrix. */
static vpar_status vpar__egad_nonfinite_error(const vpar_egad_plan *p, const void *w,
                                              vpar_dtype dt, const char *name) {
    for (size_t a = 0; a < p->nu; a++) {
        size_t i = p->univ[a];
        for (size_t b = 0; b < p->nu; b++) {
            size_t j = p->univ[b];
            if (i == j) continue;
            double v = vpar__egad_wval(w, dt, i * p->n + j);
            if (!isfinite(v))
                return vpar_fail(VPAR_ERR_FORMAT,
                                 "%s: %s at row %zu, column %zu (0-based) in a row that is not all-NaN; "
                                 "EGAD needs finite weights (option: treat non-finite as 0)",
                                 name, isnan(v) ? "NaN" : "infinite value", i, j);
        }
    }
    return vpar_fail(VPAR_ERR_FORMAT, "%s: node degrees overflow to infinity", name);
}

/* Whole network: vpar's column sums, then the diagonal taken as 1 (a
   non-finite diagonal entry: that column again). */
static vpar_status vpar__egad_column_degrees(vpar__egad_ctx *c, vpar_pool *pool) {
    const size_t n = c->plan->n;
    const void *w = c->w;
    const vpar_dtype dt = c->dt;
    vpar_status st = dt == VPAR_DTYPE_F32
                         ? vpar_reduce_axis_f32(VPAR_AXIS_SUM, 0, (const float *)w, n, n, n, c->degree, pool)
                         : vpar_reduce_axis_f64(VPAR_AXIS_SUM, 0, (const double *)w, n, n, n, c->degree, pool);
    if (st != VPAR_OK) return st;
    for (size_t j = 0; j < n; j++) {
        double wjj = vpar__egad_wval(w, dt, j * n + j);
        if (isfinite(wjj)) {
            c->degree[j] = c->degree[j] - wjj + 1.0;
        } else {
            double s = 0;
            for (size_t i = 0; i < n; i++) s += i == j ? 1.0 : vpar__egad_wval(w, dt, i * n + j);
            c->degree[j] = s;
        }
    }
    return VPAR_OK;
}

/* Node degrees in universe order (c->du); with nonfinite_as_zero a second
   pass treats NaN/inf as 0, else a non-finite degree is an error. */
static vpar_status vpar__egad_degrees(vpar__egad_ctx *c, vpar_pool *pool, const char *name) {
    const vpar_egad_plan *p = c->plan;
    size_t nblocks = (p->n + 511) / 512;
    for (int pass = 0; pass < 2; pass++) {
        /* column sums need a float matrix; rank codes' degrees are exact
           integer sums in any order: added by rows */
        vpar_status st = c->ident && !c->clean && c->dt != VPAR__EGAD_DT_U32
                             ? vpar__egad_column_degrees(c, pool)
                             : vpar__egad_for(pool, nblocks, 1, vpar__egad_degree_range, c);
        if (st != VPAR_OK) return st;
        int bad = 0;
        for (size_t u = 0; u < p->nu; u++) {
            c->du[u] = c->degree[p->univ[u]];
            if (!isfinite(c->du[u])) bad = 1;
        }
        if (!bad) return VPAR_OK;
        if (!p->desc.nonfinite_as_zero || c->clean) break;
        c->clean = 1; /* second pass with NaN/inf as 0 */
    }
    return vpar__egad_nonfinite_error(p, c->w, c->dt, name);
}

/* Every term on the pool, each thread in its own scratch block. */
static vpar_status vpar__egad_all_terms(vpar__egad_ctx *c, vpar_pool *pool, const char *name) {
    int nt = vpar_pool_size(pool);
    if (nt < 1) nt = 1;
    size_t bytes = vpar__egad_scratch_bytes(c->plan);
    c->scratch_stride = bytes;
    /* nthreads x (nfold x n doubles + ...): megabytes at full size; in
       2 MiB pages (vpar_alloc_large), so every step faults a few huge
       pages instead of hundreds of small ones */
    c->scratch = vpar__mul_size((size_t)nt, bytes, &c->scratch_bytes)
                     ? (unsigned char *)vpar_alloc_large(c->scratch_bytes) : NULL;
    if (!c->scratch)
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %d x %zu bytes of scratch", name, nt, bytes);
    return vpar__egad_for(pool, c->plan->ngroups, 1, vpar__egad_terms_range, c);
}

static vpar_status vpar__egad_run(const vpar_egad_plan *p, const void *w, vpar_dtype dt, double one,
        vpar_pool *pool, vpar_egad_term_result *results, double *mean_auc, const char *name) {
    vpar__egad_ctx c;
    memset(&c, 0, sizeof c);
    c.plan = p;
    c.w = w;
    c.dt = dt;
    c.one = one;
    c.res = results;
    c.ident = p->nu == p->n;
    c.degree = (double *)vpar__egad_alloc(p->n, sizeof *c.degree);
    c.drank = (double *)vpar__egad_alloc(p->nu, sizeof *c.drank);
    double *ud = (double *)vpar__egad_alloc(p->nu, sizeof *ud);
    c.du = ud;
    vpar_status st = VPAR_OK;
    if (!c.degree || !c.drank || !ud) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name);
    vpar__egad_phase("run: allocations");
    if (st == VPAR_OK) st = vpar__egad_degrees(&c, pool, name);
    vpar__egad_phase("run: node degrees");
    /* Degree ranks (average ties) for DEGREE_NULL_AUC: the vpar ranker. */
    if (st == VPAR_OK) st = vpar_rankdata_f64(ud, p->nu, c.drank, NULL, pool);
    vpar__egad_phase("run: degree ranks");
    if (st == VPAR_OK) st = vpar__egad_all_terms(&c, pool, name);
    vpar__egad_phase("run: terms");
    if (st == VPAR_OK && mean_auc) {
        double s = 0;
        size_t k = 0;
        for (size_t t = 0; t < p->nterms; t++)
            if (!isnan(results[t].auc)) { s += results[t].auc; k++; }
        *mean_auc = k ? s / (double)k : NAN;
    }
    VPAR_FREE(c.degree);
    VPAR_FREE(c.drank);
    vpar_free_large(c.scratch, c.scratch_bytes);
    VPAR_FREE(ud);
    return st;
}

vpar_status vpar_egad_run(const vpar_egad_plan *p, const void *w, vpar_dtype dt,
        vpar_pool *pool, vpar_egad_term_result *results, double *mean_auc, const char *name) {
    if (!name) name = "network";
    if (!p || !w || !results)
        return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_run: plan, network or results is NULL", name);
    if (dt != VPAR_DTYPE_F32 && dt != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: network dtype %s; EGAD needs float32 or float64",
                         name, vpar_dtype_descr(dt));
    return vpar__egad_run(p, w, dt, 1.0, pool, results, mean_auc, name);
}

vpar_status vpar_egad_run_codes(const vpar_egad_plan *p, const uint32_t *codes, uint32_t scale,
        vpar_pool *pool, vpar_egad_term_result *results, double *mean_auc, const char *name) {
    if (!name) name = "network";
    if (!p || !codes || !results)
        return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_run_codes: plan, codes or results is NULL", name);
    if (scale == 0)
        return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_run_codes: scale is 0", name);
    return vpar__egad_run(p, codes, VPAR__EGAD_DT_U32, (double)scale, pool, results, mean_auc, name);
}

/* ---- phase timers (egad.h: vpar__egad_phase) ---- */

void vpar__egad_phase(const char *what) {
    static int on = -1;
    static double last_wall = -1, last_user, last_sys;
    static long last_flt;
    static long last_pid;
    if (on < 0) {
        const char *e = getenv("VPAR_EGAD_PHASES");
        on = e && *e && strcmp(e, "0") != 0;
    }
    if (!on) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double wall = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
    double sys = (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    if (last_wall >= 0 && (long)getpid() != last_pid) { /* a forked worker: its usage starts at 0 */
        last_user = last_sys = 0;
        last_flt = 0;
    }
    last_pid = (long)getpid();
    if (last_wall < 0)
        fprintf(stderr, "vpar-egad: phase %s: wall ? s, cpu %.4f s (user %.4f, sys %.4f), minor faults %ld\n",
                what, user + sys, user, sys, ru.ru_minflt);
    else
        fprintf(stderr, "vpar-egad: phase %s: wall %.4f s, cpu %.4f s (user %.4f, sys %.4f), minor faults %ld\n",
                what, wall - last_wall, user - last_user + sys - last_sys, user - last_user,
                sys - last_sys, ru.ru_minflt - last_flt);
    last_wall = wall;
    last_user = user;
    last_sys = sys;
    last_flt = ru.ru_minflt;
}
