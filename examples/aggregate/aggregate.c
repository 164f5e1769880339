/* examples/aggregate/aggregate.c — the aggregation engine (see aggregate.h):
   networks mapped once, one EGAD plan, two N x N float64 buffers. */
#include "aggregate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct vpar_agg {
    size_t n, k;
    vpar_npy *nets;              /* k mapped networks (zeroed for HDF5 ones) */
    unsigned char *is_h5;        /* k flags: read per step from pandas HDF5 */
    char **paths;                /* k copies of the paths as given */
    char **genes;                /* n gene IDs (HDF5 label checks) */
    char *nw_key;
    vpar_egad_plan *plan;
    vpar_egad_term_result *results;
    double *sum;                 /* running aggregate, n * n */
    double *work;                /* the ranked copy EGAD reads, n * n */
    int symmetric;               /* every network is exactly symmetric */
};

size_t vpar_agg_genes(const vpar_agg *agg) { return agg->n; }
size_t vpar_agg_datasets(const vpar_agg *agg) { return agg->k; }
size_t vpar_agg_terms(const vpar_agg *agg) { return vpar_egad_plan_nterms(agg->plan); }
const char *const *vpar_agg_names(const vpar_agg *agg) { return (const char *const *)agg->paths; }
int vpar_agg_symmetric(const vpar_agg *agg) { return agg->symmetric; }

/* Reads one pandas HDF5 network and checks it against the genes. On
   success *values is VPAR_MALLOC'd n x n float32/float64 (*dtype). When
   genes is NULL, *labels receives the row labels (caller frees). */
static vpar_status vpar__agg_read_h5(const char *path, const char *key, size_t n,
                                     const char *const *genes, void **values, vpar_dtype *dtype,
                                     size_t *rows_out, char ***labels) {
    size_t rows = 0, cols = 0;
    char **rn = NULL, **cn = NULL;
    *values = NULL;
    vpar_status st = vpar_egad_hdf5_read_frame(path, key, values, dtype, &rows, &cols, &rn, &cn);
    if (st != VPAR_OK) return st;
    if (rows != cols)
        st = vpar_fail(VPAR_ERR_SHAPE, "%s: network is %zu x %zu, not square", path, rows, cols);
    else if (*dtype != VPAR_DTYPE_F32 && *dtype != VPAR_DTYPE_F64)
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: network values must be float32 or float64", path);
    else if (genes && rows != n)
        st = vpar_fail(VPAR_ERR_SHAPE, "%s: network has %zu genes, the other inputs %zu", path, rows, n);
    for (size_t i = 0; st == VPAR_OK && i < rows; i++) {
        if (strcmp(rn[i], cn[i]) != 0)
            st = vpar_fail(VPAR_ERR_FORMAT, "%s: row and column labels differ at %zu ('%s' vs '%s')",
                           path, i, rn[i], cn[i]);
        else if (genes && strcmp(rn[i], genes[i]) != 0)
            st = vpar_fail(VPAR_ERR_FORMAT,
                           "%s: gene %zu is '%s' but '%s' in the other inputs: aggregated "
                           "networks must list the same genes in the same order", path, i, rn[i],
                           genes[i]);
    }
    VPAR_FREE(cn);
    if (st == VPAR_OK && labels) {
        *labels = rn;
        rn = NULL;
    }
    VPAR_FREE(rn);
    if (st != VPAR_OK) {
        VPAR_FREE(*values);
        *values = NULL;
    }
    *rows_out = rows;
    return st;
}

/* Symmetry as the ranker defines it (NaN equals NaN, -0 equals +0): sums
   of such matrices, added in the same order, are again symmetric in that
   sense, so the ranker's half-work symmetric layout applies to every
   aggregate. Checked once per network (tiled, on the caller's pool). */
static int vpar__agg_is_symmetric(const vpar_npy *a, vpar_pool *pool) {
    return vpar_rank_check_symmetric(a->data, a->dtype, a->shape[0], pool, NULL, NULL) == VPAR_OK;
}

void vpar_agg_destroy(vpar_agg *agg) {
    if (!agg) return;
    if (agg->nets)
        for (size_t i = 0; i < agg->k; i++) vpar_npy_close(&agg->nets[i]);
    VPAR_FREE(agg->nets);
    VPAR_FREE(agg->is_h5);
    VPAR_FREE(agg->paths);
    VPAR_FREE(agg->genes);
    VPAR_FREE(agg->nw_key);
    vpar_egad_plan_destroy(agg->plan);
    VPAR_FREE(agg->results);
    VPAR_FREE(agg->sum);
    VPAR_FREE(agg->work);
    VPAR_FREE(agg);
}

vpar_status vpar_agg_create(vpar_agg **out, const vpar_egad_annotations *ann,
                            const char *const *genes, size_t n,
                            const char *const *paths, size_t k,
                            const vpar_agg_desc *desc) {
    *out = NULL;
    if (k == 0) return vpar_fail(VPAR_ERR_INVALID, "no networks given");
    vpar_status st = vpar_agg_check_names(paths, k);
    if (st != VPAR_OK) return st;
    vpar_agg *a = (vpar_agg *)VPAR_MALLOC(sizeof *a);
    if (!a) return vpar_fail(VPAR_ERR_NOMEM, "out of memory");
    memset(a, 0, sizeof *a);
    a->k = k;
    a->symmetric = 1;
    const char *key = desc && desc->nw_key ? desc->nw_key : "nw";
    a->nets = (vpar_npy *)VPAR_MALLOC(k * sizeof *a->nets);
    a->is_h5 = (unsigned char *)VPAR_MALLOC(k);
    a->paths = vpar_ex_strings_copy(paths, k);
    a->nw_key = (char *)VPAR_MALLOC(strlen(key) + 1);
    if (!a->nets || !a->is_h5 || !a->paths || !a->nw_key) {
        st = vpar_fail(VPAR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(a->nw_key, key, strlen(key) + 1);
    memset(a->nets, 0, k * sizeof *a->nets);
    for (size_t i = 0; i < k; i++) a->is_h5[i] = (unsigned char)vpar_ex_is_hdf5_name(paths[i]);

    /* Genes: given, or the labels of the first network when it is HDF5. */
    if (genes) {
        if (n == 0) {
            st = vpar_fail(VPAR_ERR_INVALID, "the genes file lists no genes");
            goto fail;
        }
        a->genes = vpar_ex_strings_copy(genes, n);
        if (!a->genes) { st = vpar_fail(VPAR_ERR_NOMEM, "out of memory"); goto fail; }
        a->n = n;
    } else if (a->is_h5[0]) {
        void *vals;
        vpar_dtype dt;
        st = vpar__agg_read_h5(paths[0], a->nw_key, 0, NULL, &vals, &dt, &a->n, &a->genes);
        if (st != VPAR_OK) goto fail;
        VPAR_FREE(vals);
    } else {
        st = vpar_fail(VPAR_ERR_INVALID, "%s: .npy networks need a genes file (--genes)", paths[0]);
        goto fail;
    }

    for (size_t i = 0; i < k; i++) {
        if (a->is_h5[i]) {
            /* Checked when read (once per permutation); symmetry unknown. */
            if (!vpar_egad_have_hdf5()) {
                st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: this build has no HDF5 support "
                               "(install libhdf5-dev and rebuild, or convert to .npy)", paths[i]);
                goto fail;
            }
            a->symmetric = 0;
            continue;
        }
        st = vpar_npy_open(&a->nets[i], paths[i], 0);
        if (st != VPAR_OK) goto fail;
        const vpar_npy *w = &a->nets[i];
        if (w->dtype != VPAR_DTYPE_F32 && w->dtype != VPAR_DTYPE_F64)
            st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: dtype %s: networks must be float32 or float64",
                           paths[i], vpar_dtype_descr(w->dtype));
        else if (w->ndim != 2 || w->shape[0] != w->shape[1])
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: network is %zu x %zu, not square", paths[i],
                           w->shape[0], w->ndim == 2 ? w->shape[1] : (size_t)1);
        else if (w->shape[0] != a->n)
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: network has %zu genes but the genes file lists %zu",
                           paths[i], w->shape[0], a->n);
        if (st != VPAR_OK) goto fail;
        if (a->symmetric) a->symmetric = vpar__agg_is_symmetric(w, desc ? desc->pool : NULL);
    }
    /* After rank standardization no entry is NaN, so no gene is dropped
       and one plan serves every step (drop = NULL). */
    st = vpar_egad_plan_create(&a->plan, ann, (const char *const *)a->genes, a->n, NULL,
                               desc ? &desc->egad : NULL, paths[0]);
    if (st != VPAR_OK) goto fail;
    size_t nt = vpar_egad_plan_nterms(a->plan);
    a->results = (vpar_egad_term_result *)VPAR_MALLOC((nt ? nt : 1) * sizeof *a->results);
    if (!a->results) { st = vpar_fail(VPAR_ERR_NOMEM, "out of memory"); goto fail; }
    *out = a;
    return VPAR_OK;
fail:
    vpar_agg_destroy(a);
    return st;
}

/* Rank standardization exactly like vpar-rank (rank.h): average ranks of
   the finite entries, (rank - 1) / max(rank - 1), NaN and inf -> 0.5. When
   every network is symmetric, so is the aggregate (the same additions in
   the same order on both sides of the diagonal), and the symmetric layout
   gives the full-matrix result bit for bit with about half the work. */
static vpar_status vpar__agg_rank_standardize(double *x, size_t n, int symmetric, vpar_pool *pool) {
    return vpar_rank_standardize(x, VPAR_DTYPE_F64, n, n,
                                 symmetric ? VPAR_RANK_SYMMETRIC : VPAR_RANK_FULL, pool);
}

/* One pass over the matrix: sum += w (float64; w converts exactly) and
   work = sum, split by rows on the pool. The first step copies instead of
   adding so the buffers need no zeroing. */
typedef struct vpar__agg_add {
    double *sum, *work;
    const void *w;
    vpar_dtype dtype;
    size_t n;
    int first;
} vpar__agg_add;

static void vpar__agg_add_rows(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    const vpar__agg_add *t = (const vpar__agg_add *)user;
    size_t lo = begin * t->n, hi = end * t->n;
    double *sum = t->sum, *work = t->work;
    if (t->dtype == VPAR_DTYPE_F32) {
        const float *w = (const float *)t->w;
        if (t->first)
            for (size_t i = lo; i < hi; i++) work[i] = sum[i] = (double)w[i];
        else
            for (size_t i = lo; i < hi; i++) work[i] = sum[i] = sum[i] + (double)w[i];
    } else {
        const double *w = (const double *)t->w;
        if (t->first)
            for (size_t i = lo; i < hi; i++) work[i] = sum[i] = w[i];
        else
            for (size_t i = lo; i < hi; i++) work[i] = sum[i] = sum[i] + w[i];
    }
}

vpar_status vpar_agg_run(vpar_agg *agg, const size_t *order, vpar_pool *pool,
                         const vpar_agg_hooks *hooks, double *mean_auc) {
    size_t nn;
    if (!vpar__mul_size(agg->n, agg->n, &nn) || nn > SIZE_MAX / sizeof(double))
        return vpar_fail(VPAR_ERR_OVERFLOW, "%zu genes: the aggregate does not fit in memory", agg->n);
    if (!agg->sum) agg->sum = (double *)VPAR_MALLOC(nn * sizeof(double));
    if (!agg->work) agg->work = (double *)VPAR_MALLOC(nn * sizeof(double));
    if (!agg->sum || !agg->work)
        return vpar_fail(VPAR_ERR_NOMEM, "out of memory for two %zu x %zu float64 matrices "
                         "(%.1f GB)", agg->n, agg->n, 2.0 * (double)nn * 8 / 1e9);
    for (size_t i = 0; i < agg->k; i++)
        if (order[i] >= agg->k)
            return vpar_fail(VPAR_ERR_INVALID, "order[%zu] = %zu is not a dataset index (< %zu)", i,
                             order[i], agg->k);
    for (size_t s = 0; s < agg->k; s++) {
        if (hooks && hooks->cancel && atomic_load_explicit(hooks->cancel, memory_order_relaxed))
            return vpar_fail(VPAR_ERR_INTERRUPTED, "interrupted after %zu of %zu steps", s, agg->k);
        const char *path = agg->paths[order[s]];
        vpar__agg_add add = {agg->sum, agg->work, NULL, VPAR_DTYPE_F64, agg->n, s == 0};
        void *owned = NULL;
        vpar_status st;
        if (agg->is_h5[order[s]]) {
            size_t rows;
            st = vpar__agg_read_h5(path, agg->nw_key, agg->n, (const char *const *)agg->genes,
                                   &owned, &add.dtype, &rows, NULL);
            if (st != VPAR_OK) return st;
            add.w = owned;
        } else {
            add.w = agg->nets[order[s]].data;
            add.dtype = agg->nets[order[s]].dtype;
        }
        st = vpar_parallel_for(pool, 0, agg->n, 0, vpar__agg_add_rows, &add);
        VPAR_FREE(owned);
        if (st != VPAR_OK) return st;
        st = vpar__agg_rank_standardize(agg->work, agg->n, agg->symmetric, pool);
        if (st != VPAR_OK) return st;
        st = vpar_egad_run(agg->plan, agg->work, VPAR_DTYPE_F64, pool, agg->results,
                           &mean_auc[s], path);
        if (st != VPAR_OK) return st;
        if (hooks && hooks->step_fn) hooks->step_fn(hooks->user);
    }
    return VPAR_OK;
}
