/* examples/aggregate/aggregate.c — the aggregation engine (see aggregate.h):
   networks mapped once, one EGAD plan, the float64 running sum (its upper
   triangle only, packed, when the networks are symmetric) and its ranks
   (N x N uint32 rank codes; float64 beyond 2^30 entries). */
#include "aggregate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#  include <sys/mman.h>
#endif

struct vpar_agg {
    size_t n, k;
    vpar_egad_network *nets;     /* k opened .npy networks (zeroed for HDF5 ones) */
    unsigned char *is_h5;        /* k flags: read per step from pandas HDF5 */
    char **paths;                /* k copies of the paths as given */
    char **genes;                /* n gene IDs (HDF5 label checks) */
    char *nw_key;
    vpar_egad_plan *plan;
    vpar_egad_term_result *results;
    double *sum;                 /* running aggregate: n * n, or symmetric: the upper
                                    triangle packed row after row, n (n + 1) / 2 */
    void *work;                  /* the ranks EGAD reads, n * n: uint32 codes, or
                                    float64 values when n * n > 2^30 */
    int codes;                   /* work holds rank codes (vpar_rank_codes_into_ws) */
    size_t mat_bytes;            /* bytes of sum (vpar_alloc_large) */
    size_t work_bytes;           /* bytes of work */
    vpar_rank_workspace *rank_ws; /* rank keys and scratch, reused every step */
    int symmetric;               /* every network is exactly symmetric */
    int symmetric_checked;       /* every network checked here (desc->check) is */
};

size_t vpar_agg_genes(const vpar_agg *agg) { return agg->n; }
size_t vpar_agg_datasets(const vpar_agg *agg) { return agg->k; }
size_t vpar_agg_terms(const vpar_agg *agg) { return vpar_egad_plan_nterms(agg->plan); }
const char *const *vpar_agg_names(const vpar_agg *agg) { return (const char *const *)agg->paths; }
int vpar_agg_symmetric(const vpar_agg *agg) { return agg->symmetric; }
int vpar_agg_symmetric_checked(const vpar_agg *agg) { return agg->symmetric_checked; }
void vpar_agg_set_symmetric(vpar_agg *agg, int symmetric) { agg->symmetric = symmetric != 0; }

/* Symmetry as the ranker defines it (NaN equals NaN, -0 equals +0): sums
   of such matrices, added in the same order, are again symmetric in that
   sense, so the ranker's half-work symmetric layout applies to every
   aggregate. Checked once per network (tiled, on the caller's pool). */
static int vpar__agg_is_symmetric(const vpar_egad_network *a, vpar_pool *pool) {
    return vpar_rank_check_symmetric(a->w, a->dtype, a->n, pool, NULL, NULL) == VPAR_OK;
}

void vpar_agg_destroy(vpar_agg *agg) {
    if (!agg) return;
    if (agg->nets)
        for (size_t i = 0; i < agg->k; i++) vpar_egad_network_close(&agg->nets[i]);
    VPAR_FREE(agg->nets);
    VPAR_FREE(agg->is_h5);
    VPAR_FREE(agg->paths);
    VPAR_FREE(agg->genes);
    VPAR_FREE(agg->nw_key);
    vpar_egad_plan_destroy(agg->plan);
    VPAR_FREE(agg->results);
    vpar_free_large(agg->sum, agg->mat_bytes);
    vpar_free_large(agg->work, agg->work_bytes);
    vpar_rank_workspace_destroy(agg->rank_ws);
    VPAR_FREE(agg);
}

/* Genes: given, or the labels of the first network when it is HDF5. */
static vpar_status vpar__agg_genes(vpar_agg *a, const char *const *genes, size_t n,
                                   const char *first) {
    if (genes) {
        if (n == 0) return vpar_fail(VPAR_ERR_INVALID, "the genes file lists no genes");
        a->genes = vpar_ex_strings_copy(genes, n);
        if (!a->genes) return vpar_fail(VPAR_ERR_NOMEM, "out of memory");
        a->n = n;
        return VPAR_OK;
    }
    if (!a->is_h5[0])
        return vpar_fail(VPAR_ERR_INVALID, "%s: .npy networks need a genes file (--genes)", first);
    vpar_egad_network net;
    vpar_status st = vpar_egad_network_open(&net, first, a->nw_key, NULL, 0);
    if (st == VPAR_OK) {
        a->genes = vpar_ex_strings_copy(net.genes, net.n);
        a->n = net.n;
        if (!a->genes) st = vpar_fail(VPAR_ERR_NOMEM, "out of memory");
    }
    vpar_egad_network_close(&net);
    return st;
}

/* Opens network i: .npy files are mapped and checked now (and, when
   `check`, their symmetry), HDF5 ones when read (once per permutation).
   a->symmetric: every network checked so far is symmetric. */
static vpar_status vpar__agg_open(vpar_agg *a, size_t i, const char *path, vpar_pool *pool,
                                  const char *genes_file, int check) {
    if (a->is_h5[i]) {
        if (!vpar_egad_have_hdf5())
            return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: this build has no HDF5 support "
                             "(install libhdf5-dev and rebuild, or convert to .npy)", path);
        a->symmetric = 0;
        /* Labels, gene order and layout now, the values once per step
           (where the labels are checked again: a network another process
           checked is never used unchecked). */
        if (!check) return VPAR_OK;
        return vpar_egad_network_check(path, a->nw_key, (const char *const *)a->genes, a->n, NULL);
    }
    vpar_status st = vpar_egad_network_check(path, a->nw_key, (const char *const *)a->genes, a->n,
                                             genes_file);
    if (st != VPAR_OK) return st;
    st = vpar_egad_network_open(&a->nets[i], path, a->nw_key,
                                            (const char *const *)a->genes, a->n);
    if (st != VPAR_OK) return st;
    if (!check) return VPAR_OK;   /* symmetry: another process's part */
    if (a->symmetric) a->symmetric = vpar__agg_is_symmetric(&a->nets[i], pool);
    /* the check read every page: the page cache keeps them, our resident
       set need not (full size: 1.2 GB per float32 network) */
    vpar_npy_release_pages(&a->nets[i].npy);
    return VPAR_OK;
}

vpar_status vpar_agg_create(vpar_agg **out, const vpar_egad_annotations *ann,
                            const char *const *genes, size_t n,
                            const char *const *paths, size_t k,
                            const vpar_agg_desc *desc) {
    *out = NULL;
    size_t at = 0;   /* desc->failed_at */
    vpar_status st = k == 0 ? vpar_fail(VPAR_ERR_INVALID, "no networks given")
                            : vpar_agg_check_names(paths, k);
    vpar_agg *a = st == VPAR_OK ? (vpar_agg *)VPAR_MALLOC(sizeof *a) : NULL;
    if (st == VPAR_OK && !a) st = vpar_fail(VPAR_ERR_NOMEM, "out of memory");
    if (!a) {
        if (desc && desc->failed_at) *desc->failed_at = 0;
        return st;
    }
    memset(a, 0, sizeof *a);
    a->k = k;
    a->symmetric = 1;
    const char *key = desc && desc->nw_key ? desc->nw_key : "nw";
    a->nets = (vpar_egad_network *)VPAR_MALLOC(k * sizeof *a->nets);
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
    st = vpar__agg_genes(a, genes, n, paths[0]);
    int all_checked = 1;
    for (size_t i = 0; i < k && st == VPAR_OK; i++) {
        int check = !desc || !desc->check || desc->check[i];
        all_checked &= check;
        at = 1 + i;
        st = vpar__agg_open(a, i, paths[i], desc ? desc->pool : NULL,
                            desc ? desc->genes_file : NULL, check);
    }
    if (st != VPAR_OK) goto fail;
    at = k + 1;
    /* A network left to another process may not be symmetric: until
       vpar_agg_set_symmetric says so, the full-matrix ranker. */
    a->symmetric_checked = a->symmetric;
    if (!all_checked) a->symmetric = 0;
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
    if (desc && desc->failed_at) *desc->failed_at = at;
    vpar_agg_destroy(a);
    return st;
}

/* Rank standardization exactly like vpar-rank (rank.h): average ranks of
   the finite entries, (rank - 1) / max(rank - 1), NaN and inf -> 0.5. When
   every network is symmetric, so is the aggregate (the same additions in
   the same order on both sides of the diagonal; only its upper triangle
   is summed, see vpar__agg_add_rows, and kept packed: half the memory),
   and the packed symmetric layout gives the full-matrix result bit for bit
   with about half the work.
   The ranker reads the running sum and writes the ranks straight into
   `work` (out of place: no copy of the sum first), as exact uint32 rank
   codes 4 (rank - 1) with their scale (half the bytes of float64 values
   to write, fault and read; EGAD reads them directly, its scores being
   ratios of exact integer sums), or as float64 values when the matrix
   has more than 2^30 entries (N > 32768). */
static vpar_status vpar__agg_rank_standardize(vpar_rank_workspace *ws, const double *sum,
                                              void *work, int codes, uint32_t *scale, size_t n,
                                              int symmetric, vpar_pool *pool) {
    vpar_rank_layout L = symmetric ? VPAR_RANK_SYMMETRIC_PACKED : VPAR_RANK_FULL;
    if (codes) return vpar_rank_codes_into_ws(ws, sum, VPAR_DTYPE_F64, n, n, L, (uint32_t *)work, scale, pool);
    return vpar_rank_standardize_into_ws(ws, sum, work, VPAR_DTYPE_F64, n, n, L, pool);
}

/* Asks the kernel to start reading a mapped .npy network now (read-ahead
   of the next step's network while this step ranks and runs EGAD); a
   hint only, errors ignored. */
static void vpar__agg_will_need(const vpar_egad_network *net) {
#if defined(__unix__) || defined(__APPLE__)
    if (!net->w || !net->n) return;
    size_t bytes = net->n * net->n * vpar_dtype_size(net->dtype);
    uintptr_t a = (uintptr_t)net->w & ~(uintptr_t)4095;
    (void)posix_madvise((void *)a, bytes + ((uintptr_t)net->w - a), POSIX_MADV_WILLNEED);
#else
    (void)net;
#endif
}

/* One pass over the matrix: sum += w (float64; w converts exactly), split
   by rows on the pool. The first step copies instead of adding so the
   buffer needs no zeroing (and is first touched by the threads that use
   it). */
typedef struct vpar__agg_add {
    double *sum;
    const void *w;
    vpar_npy *npy;   /* w's mapping, released row block by row block (NULL: HDF5) */
    vpar_dtype dtype;
    size_t n;
    int first;
    int upper;     /* only entries i <= j (symmetric aggregate) */
} vpar__agg_add;

/* sum[so, so + len) (+)= w[wo, wo + len) */
static void vpar__agg_add_span(const vpar__agg_add *t, size_t so, size_t wo, size_t len) {
    double *sum = t->sum + so;
    if (t->dtype == VPAR_DTYPE_F32) {
        const float *w = (const float *)t->w + wo;
        if (t->first)
            for (size_t i = 0; i < len; i++) sum[i] = (double)w[i];
        else
            vpar_acc_f32_f64(sum, w, len);  /* simd.h: sum[i] += (double)w[i] */
    } else {
        const double *w = (const double *)t->w + wo;
        if (t->first) memcpy(sum, w, len * sizeof *sum);
        else vpar_acc_f64(sum, w, len);
    }
}

static void vpar__agg_add_rows(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    const vpar__agg_add *t = (const vpar__agg_add *)user;
    size_t n = t->n;
    /* these rows' pages mapped in one call, not a fault per few pages
       (symmetric: from the first row's diagonal on) */
    if (t->npy) {
        size_t first = begin * n + (t->upper ? begin : 0);
        vpar_npy_populate_range(t->npy, first, end * n - first);
    }
    if (!t->upper) {
        vpar__agg_add_span(t, begin * n, begin * n, (end - begin) * n);
    } else {
        /* symmetric networks: the ranker reads only entries i <= j of the
           sum (VPAR_RANK_SYMMETRIC_PACKED), so only those are summed and
           kept, packed (row r at r n - r (r - 1) / 2); half the reads of
           the network, half the writes, half the memory. */
        for (size_t r = begin; r < end; r++)
            vpar__agg_add_span(t, r * n - r * (r - 1) / 2, r * n + r, n - r);
    }
    /* these rows of the network are read for this step: out of the
       resident set now (the page cache keeps them), so that at most a few
       row blocks are resident at once, not the whole file (0.9 GiB at
       17,198 genes, mapped in by fault-around) */
    if (t->npy) vpar_npy_release_range(t->npy, begin * n, (end - begin) * n);
}

/* Rows per task of the add: 64 rows of 17,198 float32 are 4.4 MB. */
#define VPAR__AGG_ADD_GRAIN 64
/* The largest matrix (entries) ranked into uint32 codes: the ranker's limit
   (vpar_rank_codes_into_ws, 2^30 entries: N <= 32768); larger aggregates
   rank into float64 values. The tests compile this file a second time with
   0 here (test_aggregate_f64work) so that the float64 path runs the same
   golden and reference checks at sizes a test can afford. */
#ifndef VPAR_AGG_CODES_MAX
#define VPAR_AGG_CODES_MAX ((size_t)UINT32_MAX >> 2)
#endif

vpar_status vpar_agg_run(vpar_agg *agg, const size_t *order, vpar_pool *pool,
                         const vpar_agg_hooks *hooks, double *mean_auc) {
    size_t nn;
    if (!vpar__mul_size(agg->n, agg->n, &nn) || nn > SIZE_MAX / sizeof(double))
        return vpar_fail(VPAR_ERR_OVERFLOW, "%zu genes: the aggregate does not fit in memory", agg->n);
    /* Allocated once per engine and reused by every step and permutation:
       2 MiB aligned with huge pages advised (fewer, cheaper first-touch
       faults); the rank workspace keeps the ranker's keys mapped too. */
    /* symmetric: the packed upper triangle, n (n + 1) / 2 entries (the
       layout follows the flag, which vpar_agg_set_symmetric may change
       between runs) */
    size_t want = (agg->symmetric ? nn / 2 + (agg->n + 1) / 2 : nn) * sizeof(double);
    if (agg->sum && agg->mat_bytes != want) {
        vpar_free_large(agg->sum, agg->mat_bytes);
        agg->sum = NULL;
    }
    agg->mat_bytes = want;
    if (!agg->sum) agg->sum = (double *)vpar_alloc_large(agg->mat_bytes);
    if (!agg->work) {
        agg->codes = nn <= VPAR_AGG_CODES_MAX;
        agg->work_bytes = nn * (agg->codes ? sizeof(uint32_t) : sizeof(double));
        agg->work = vpar_alloc_large(agg->work_bytes);
    }
    if (!agg->rank_ws && vpar_rank_workspace_create(&agg->rank_ws) != VPAR_OK)
        return vpar_fail(VPAR_ERR_NOMEM, "out of memory");
    if (!agg->sum || !agg->work)
        return vpar_fail(VPAR_ERR_NOMEM, "out of memory for the %zu x %zu float64 aggregate and its "
                         "ranks (%.1f GB)", agg->n, agg->n, (double)(agg->mat_bytes + nn * 4) / 1e9);
    for (size_t i = 0; i < agg->k; i++)
        if (order[i] >= agg->k)
            return vpar_fail(VPAR_ERR_INVALID, "order[%zu] = %zu is not a dataset index (< %zu)", i,
                             order[i], agg->k);
    for (size_t s = 0; s < agg->k; s++) {
        if (hooks && hooks->cancel && atomic_load_explicit(hooks->cancel, memory_order_relaxed))
            return vpar_fail(VPAR_ERR_INTERRUPTED, "interrupted after %zu of %zu steps", s, agg->k);
        const char *path = agg->paths[order[s]];
        vpar__agg_add add = {agg->sum, NULL, NULL, VPAR_DTYPE_F64, agg->n, s == 0, agg->symmetric};
        vpar_egad_network h5;
        const vpar_egad_network *net = &agg->nets[order[s]];
        vpar_status st = VPAR_OK;
        if (agg->is_h5[order[s]]) {
            st = vpar_egad_network_open(&h5, path, agg->nw_key, (const char *const *)agg->genes, agg->n);
            net = &h5;
        }
        if (st == VPAR_OK) {
            add.w = net->w;
            add.dtype = net->dtype;
            if (!agg->is_h5[order[s]]) add.npy = &agg->nets[order[s]].npy;
            st = vpar_parallel_for(pool, 0, agg->n, VPAR__AGG_ADD_GRAIN, vpar__agg_add_rows, &add);
        }
        if (agg->is_h5[order[s]]) vpar_egad_network_close(&h5);
        else vpar_npy_release_pages(&agg->nets[order[s]].npy);  /* read once per step */
        if (st != VPAR_OK) return st;
        vpar__egad_phase("step: add");
        if (s + 1 < agg->k && !agg->is_h5[order[s + 1]]) vpar__agg_will_need(&agg->nets[order[s + 1]]);
        uint32_t scale = 0;
        st = vpar__agg_rank_standardize(agg->rank_ws, agg->sum, agg->work, agg->codes, &scale,
                                        agg->n, agg->symmetric, pool);
        if (st != VPAR_OK) return st;
        vpar__egad_phase("step: rank");
        st = agg->codes ? vpar_egad_run_codes(agg->plan, (const uint32_t *)agg->work, scale, pool,
                                              agg->results, &mean_auc[s], path)
                        : vpar_egad_run(agg->plan, agg->work, VPAR_DTYPE_F64, pool, agg->results,
                                        &mean_auc[s], path);
        if (st != VPAR_OK) return st;
        if (hooks && hooks->step_fn) hooks->step_fn(hooks->user);
    }
    return VPAR_OK;
}
