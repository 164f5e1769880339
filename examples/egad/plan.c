/* examples/egad/plan.c — the EGAD plan of one network's gene list:
   universe, kept terms, cross-validation folds (egad.h). */
#include "egad_internal.h"

#include <math.h>
#include <string.h>

/* Scratch of vpar_egad_plan_create: freed when the plan is built. */
typedef struct vpar__egad_build {
    const vpar_egad_annotations *ann;
    const char *name;
    uint32_t *ugene;   /* annotation gene of universe gene u */
    uint32_t *count;   /* universe genes of each annotation term */
    long *kept;        /* plan term index of each annotation term, or -1 */
} vpar__egad_build;

/* Defaults filled in and checked. */
static vpar_status vpar__egad_plan_desc(const vpar_egad_desc *desc, size_t n, const char *name,
                                        vpar_egad_desc *out) {
    vpar_egad_desc d = {0, 0, 0, 0};
    if (desc) d = *desc;
    if (d.nfold == 0) d.nfold = 3;
    if (d.min_genes == 0) d.min_genes = 20;
    if (d.max_genes == 0) d.max_genes = 1000;
    if (d.nfold < 1 || d.nfold > 255)
        return vpar_fail(VPAR_ERR_INVALID, "%s: nfold must be in 1..255 (got %d)", name, d.nfold);
    if (d.min_genes < 0 || d.max_genes < 0 || d.max_genes <= d.min_genes + 1)
        return vpar_fail(VPAR_ERR_INVALID,
                         "%s: term size filter min=%d max=%d keeps nothing (kept: min < size < max)",
                         name, d.min_genes, d.max_genes);
    if (n > 0xfffffff0u)
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: network of %zu genes is too large", name, n);
    *out = d;
    return VPAR_OK;
}

/* Universe: network genes not dropped, annotated, first occurrence of an
   ID, in network order. */
static vpar_status vpar__egad_plan_universe(vpar_egad_plan *p, vpar__egad_build *b,
                                            const char *const *genes, const unsigned char *drop) {
    const vpar_egad_annotations *ann = b->ann;
    size_t ng = vpar_egad_annotations_ngenes(ann), n = p->n;
    unsigned char *used = (unsigned char *)vpar__egad_zalloc(ng, 1);
    p->univ = (uint32_t *)vpar__egad_alloc(n, sizeof *p->univ);
    if (!used || !p->univ) {
        VPAR_FREE(used);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", b->name);
    }
    for (size_t i = 0; i < n; i++) {
        if (drop && drop[i]) continue;
        if (!genes[i]) continue;
        long g = vpar_egad_annotations_find_gene(ann, genes[i]);
        if (g < 0 || used[g]) continue; /* unannotated, or a repeated ID (first kept) */
        used[g] = 1;
        p->univ[p->nu] = (uint32_t)i;
        b->ugene[p->nu] = (uint32_t)g;
        p->nu++;
    }
    VPAR_FREE(used);
    if (p->nu > 0) return VPAR_OK;
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) nd += drop && drop[i];
    return vpar_fail(VPAR_ERR_NOT_FOUND,
                     "%s: no gene of the network (%zu genes, %zu dropped as all-NaN; first: '%s') "
                     "occurs in the annotations (%zu genes; first: '%s')",
                     b->name, n, nd, n ? genes[0] : "", ng, ng ? vpar_egad_annotations_gene(ann, 0) : "");
}

/* Kept terms: more than min_genes and fewer than max_genes universe genes;
   their names copied in annotation order, pos_ptr sized. */
static vpar_status vpar__egad_plan_terms(vpar_egad_plan *p, vpar__egad_build *b) {
    const vpar_egad_annotations *ann = b->ann;
    const vpar_egad_desc *d = &p->desc;
    size_t nt = vpar_egad_annotations_nterms(ann);
    for (size_t u = 0; u < p->nu; u++) {
        size_t cnt;
        const uint32_t *terms = vpar_egad_annotations_gene_terms(ann, b->ugene[u], &cnt);
        for (size_t k = 0; k < cnt; k++) b->count[terms[k]]++;
    }
    size_t names_bytes = 0;
    for (size_t t = 0; t < nt; t++) {
        if (b->count[t] > (uint32_t)d->min_genes && b->count[t] < (uint32_t)d->max_genes) {
            b->kept[t] = (long)p->nterms++;
            names_bytes += strlen(vpar_egad_annotations_term(ann, t)) + 1;
            if (b->count[t] > p->max_pos) p->max_pos = b->count[t];
        } else {
            b->kept[t] = -1;
        }
    }
    if (p->nterms == 0)
        return vpar_fail(VPAR_ERR_NOT_FOUND,
                         "%s: no term has more than %d and fewer than %d genes among the %zu "
                         "annotated network genes (%zu terms in the annotations)",
                         b->name, d->min_genes, d->max_genes, p->nu, nt);
    p->term_names = (char **)vpar__egad_alloc(1, p->nterms * sizeof(char *) + names_bytes);
    p->pos_ptr = (size_t *)vpar__egad_zalloc(p->nterms + 1, sizeof *p->pos_ptr);
    if (!p->term_names || !p->pos_ptr) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", b->name);
    char *s = (char *)(p->term_names + p->nterms);
    for (size_t t = 0; t < nt; t++) {
        if (b->kept[t] < 0) continue;
        const char *tn = vpar_egad_annotations_term(ann, t);
        size_t l = strlen(tn) + 1;
        memcpy(s, tn, l);
        p->term_names[b->kept[t]] = s;
        s += l;
        p->pos_ptr[b->kept[t] + 1] = b->count[t];
    }
    for (size_t t = 0; t < p->nterms; t++) p->pos_ptr[t + 1] += p->pos_ptr[t];
    return VPAR_OK;
}

/* Positives of each kept term (universe order) and their folds: fold k mod
   nfold for the k-th positive, gene by gene in universe order, terms in
   term order within a gene (gene_terms is sorted). */
static vpar_status vpar__egad_plan_folds(vpar_egad_plan *p, vpar__egad_build *b) {
    size_t npos = p->pos_ptr[p->nterms];
    p->pos_net = (uint32_t *)vpar__egad_alloc(npos, sizeof *p->pos_net);
    p->pos_univ = (uint32_t *)vpar__egad_alloc(npos, sizeof *p->pos_univ);
    p->pos_fold = (unsigned char *)vpar__egad_alloc(npos, 1);
    size_t *fill = (size_t *)vpar__egad_alloc(p->nterms, sizeof *fill);
    if (!p->pos_net || !p->pos_univ || !p->pos_fold || !fill) {
        VPAR_FREE(fill);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", b->name);
    }
    memcpy(fill, p->pos_ptr, p->nterms * sizeof *fill);
    size_t k = 0;
    for (size_t u = 0; u < p->nu; u++) {
        size_t cnt;
        const uint32_t *terms = vpar_egad_annotations_gene_terms(b->ann, b->ugene[u], &cnt);
        for (size_t j = 0; j < cnt; j++) {
            long t = b->kept[terms[j]];
            if (t < 0) continue;
            size_t at = fill[t]++;
            p->pos_net[at] = p->univ[u];
            p->pos_univ[at] = (uint32_t)u;
            p->pos_fold[at] = (unsigned char)(k % (size_t)p->desc.nfold);
            k++;
        }
    }
    VPAR_FREE(fill);
    return VPAR_OK;
}

/* Term groups for the driver's tiled fold sums (egad_internal.h). Greedy:
   a group starts with the largest term left and grows by the term left
   that adds the fewest genes not yet in the group (ties: the lower term
   index), among the (first 4,096) terms sharing a gene with it (none: the
   largest left). Small networks (vpar__egad_tune.greedy_min_bytes) keep plan order.
   Deterministic; the results do not depend on it (each term's sums
   keep their order), only the memory traffic does. Tiles are at least
   1,024 columns (a 4 KiB row segment of rank codes or float32): on a
   512 KiB-L2 Zen 3 the 64-column minimum left most full-size tiles at
   64 columns (256-byte segments, each a new stream for the hardware
   prefetcher) and the fold sums of a full-size step took 1.6-2.0 s against
   1.2-1.8 s with 1,024 (the tile then lives in L3; bench/RESULTS.md,
   2026-12-03 12:40 section); on the 1 MiB-L2 Zen 5 wider tiles measured
   within noise. */
vpar__egad_tuning vpar__egad_tune = {(size_t)32 << 20, (size_t)384 << 10, 1024, VPAR__EGAD_GROUP};

static vpar_status vpar__egad_plan_groups(vpar_egad_plan *p, const char *name) {
    const size_t nt = p->nterms, nu = p->nu, npos = p->pos_ptr[nt];
    size_t *gptr = (size_t *)vpar__egad_zalloc(nu + 1, sizeof *gptr);
    uint32_t *gterm = (uint32_t *)vpar__egad_alloc(npos, sizeof *gterm);
    uint32_t *cov = (uint32_t *)vpar__egad_zalloc(nt, sizeof *cov);
    uint32_t *inU = (uint32_t *)vpar__egad_zalloc(nu, sizeof *inU);
    uint32_t *touched = (uint32_t *)vpar__egad_alloc(nt, sizeof *touched);
    unsigned char *left = (unsigned char *)vpar__egad_alloc(nt, 1);
    p->order = (uint32_t *)vpar__egad_alloc(nt, sizeof *p->order);
    p->grp_ptr = (size_t *)vpar__egad_alloc(nt + 1, sizeof *p->grp_ptr);
    p->grp_union = (uint32_t *)vpar__egad_alloc(nt, sizeof *p->grp_union);
    vpar_status st = VPAR_OK;
    if (!gptr || !gterm || !cov || !inU || !touched || !left || !p->order || !p->grp_ptr || !p->grp_union) {
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory grouping terms", name);
        goto done;
    }
    size_t gmax = (size_t)vpar__egad_tune.group;
    if (vpar__egad_tune.group < 1 || gmax > VPAR__EGAD_GROUP) gmax = VPAR__EGAD_GROUP;
    /* A network that fits in the last-level cache gains nothing from the
       greedy search: consecutive terms, the union counted. */
    if ((double)p->n * (double)p->n * 4.0 <= (double)vpar__egad_tune.greedy_min_bytes) {
        size_t ng = 0;
        uint32_t stamp = 0;
        p->grp_pos_max = 0;
        for (size_t t0 = 0; t0 < nt; t0 += gmax) {
            size_t t1 = t0 + gmax < nt ? t0 + gmax : nt, uni = 0;
            stamp++;
            p->grp_ptr[ng] = t0;
            for (size_t t = t0; t < t1; t++) {
                p->order[t] = (uint32_t)t;
                for (size_t i = p->pos_ptr[t]; i < p->pos_ptr[t + 1]; i++)
                    if (inU[p->pos_univ[i]] != stamp) { inU[p->pos_univ[i]] = stamp; uni++; }
            }
            p->grp_union[ng] = (uint32_t)uni;
            if (p->pos_ptr[t1] - p->pos_ptr[t0] > p->grp_pos_max) p->grp_pos_max = p->pos_ptr[t1] - p->pos_ptr[t0];
            ng++;
        }
        p->grp_ptr[ng] = nt;
        p->ngroups = ng;
        goto done;
    }
    /* Terms of each universe gene (CSR). */
    for (size_t i = 0; i < npos; i++) gptr[p->pos_univ[i] + 1]++;
    for (size_t u = 0; u < nu; u++) gptr[u + 1] += gptr[u];
    for (size_t t = 0; t < nt; t++)
        for (size_t i = p->pos_ptr[t]; i < p->pos_ptr[t + 1]; i++) gterm[gptr[p->pos_univ[i]]++] = (uint32_t)t;
    for (size_t u = nu; u > 0; u--) gptr[u] = gptr[u - 1];
    gptr[0] = 0;
    memset(left, 1, nt);
    size_t done_terms = 0, ng = 0, first = 0; /* first: the lowest term index left */
    uint32_t stamp = 0;
    p->grp_pos_max = 0;
    while (done_terms < nt) {
        stamp++;
        p->grp_ptr[ng] = done_terms;
        size_t ntouch = 0, uni = 0, gpos = 0;
        while (first < nt && !left[first]) first++;
        size_t s = first; /* the largest left (a scan: terms are few) */
        for (size_t t = first; t < nt; t++)
            if (left[t] && p->pos_ptr[t + 1] - p->pos_ptr[t] > p->pos_ptr[s + 1] - p->pos_ptr[s]) s = t;
        for (size_t g = 0; g < gmax; g++) {
            left[s] = 0;
            p->order[done_terms++] = (uint32_t)s;
            gpos += p->pos_ptr[s + 1] - p->pos_ptr[s];
            for (size_t i = p->pos_ptr[s]; i < p->pos_ptr[s + 1]; i++) {
                uint32_t u = p->pos_univ[i];
                if (inU[u] == stamp) continue;
                inU[u] = stamp;
                uni++;
                for (size_t q = gptr[u]; q < gptr[u + 1]; q++) {
                    uint32_t t = gterm[q];
                    if (cov[t] == 0 && left[t]) touched[ntouch++] = t;
                    cov[t]++;
                }
            }
            if (done_terms == nt) break;
            size_t best = (size_t)-1, best_new = (size_t)-1;
            /* At most 4096 candidates, the first to share a gene: bounded
               cost with tens of thousands of terms. */
            size_t lim = ntouch < 4096 ? ntouch : 4096;
            for (size_t q = 0; q < lim; q++) {
                uint32_t t = touched[q];
                if (!left[t]) continue;
                size_t add = p->pos_ptr[t + 1] - p->pos_ptr[t] - cov[t];
                if (add < best_new || (add == best_new && t < best)) { best_new = add; best = t; }
            }
            if (best == (size_t)-1) {
                while (first < nt && !left[first]) first++;
                best = first;
                for (size_t t = first; t < nt; t++)
                    if (left[t] && p->pos_ptr[t + 1] - p->pos_ptr[t] > p->pos_ptr[best + 1] - p->pos_ptr[best])
                        best = t;
            }
            s = best;
        }
        for (size_t q = 0; q < ntouch; q++) cov[touched[q]] = 0;
        p->grp_union[ng] = (uint32_t)uni;
        if (gpos > p->grp_pos_max) p->grp_pos_max = gpos;
        ng++;
    }
    p->grp_ptr[ng] = nt;
    p->ngroups = ng;
done:
    VPAR_FREE(gptr);
    VPAR_FREE(gterm);
    VPAR_FREE(cov);
    VPAR_FREE(inU);
    VPAR_FREE(touched);
    VPAR_FREE(left);
    return st;
}

vpar_status vpar_egad_plan_create(vpar_egad_plan **out,
        const vpar_egad_annotations *ann, const char *const *genes, size_t n,
        const unsigned char *drop, const vpar_egad_desc *desc, const char *name) {
    if (!name) name = "network";
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_plan_create: out is NULL", name);
    *out = NULL;
    if (!ann || (!genes && n))
        return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_plan_create: annotations or genes is NULL", name);
    vpar_egad_desc d;
    vpar_status st = vpar__egad_plan_desc(desc, n, name, &d);
    if (st != VPAR_OK) return st;

    size_t nt = vpar_egad_annotations_nterms(ann);
    vpar_egad_plan *p = (vpar_egad_plan *)vpar__egad_zalloc(1, sizeof *p);
    vpar__egad_build b = {ann, name, NULL, NULL, NULL};
    b.ugene = (uint32_t *)vpar__egad_alloc(n, sizeof *b.ugene);
    b.count = (uint32_t *)vpar__egad_zalloc(nt, sizeof *b.count);
    b.kept = (long *)vpar__egad_alloc(nt, sizeof *b.kept);
    if (!p || !b.ugene || !b.count || !b.kept) {
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory building the plan", name);
    } else {
        p->n = n;
        p->desc = d;
        st = vpar__egad_plan_universe(p, &b, genes, drop);
        if (st == VPAR_OK) st = vpar__egad_plan_terms(p, &b);
        if (st == VPAR_OK) st = vpar__egad_plan_folds(p, &b);
        if (st == VPAR_OK) st = vpar__egad_plan_groups(p, name);
    }
    VPAR_FREE(b.ugene);
    VPAR_FREE(b.count);
    VPAR_FREE(b.kept);
    if (st != VPAR_OK) { vpar_egad_plan_destroy(p); return st; }
    *out = p;
    return VPAR_OK;
}

void vpar_egad_plan_destroy(vpar_egad_plan *plan) {
    if (!plan) return;
    VPAR_FREE(plan->univ);
    VPAR_FREE(plan->term_names);
    VPAR_FREE(plan->pos_ptr);
    VPAR_FREE(plan->pos_net);
    VPAR_FREE(plan->pos_univ);
    VPAR_FREE(plan->pos_fold);
    VPAR_FREE(plan->order);
    VPAR_FREE(plan->grp_ptr);
    VPAR_FREE(plan->grp_union);
    VPAR_FREE(plan);
}

size_t vpar_egad_plan_nterms(const vpar_egad_plan *plan) { return plan ? plan->nterms : 0; }
const char *vpar_egad_plan_term(const vpar_egad_plan *plan, size_t t) {
    return plan && t < plan->nterms ? plan->term_names[t] : NULL;
}
size_t vpar_egad_plan_universe_size(const vpar_egad_plan *plan) { return plan ? plan->nu : 0; }
size_t vpar_egad_plan_network_size(const vpar_egad_plan *plan) { return plan ? plan->n : 0; }
size_t vpar_egad_plan_term_size(const vpar_egad_plan *plan, size_t t) {
    return plan && t < plan->nterms ? plan->pos_ptr[t + 1] - plan->pos_ptr[t] : 0;
}
size_t vpar_egad_plan_universe_index(const vpar_egad_plan *plan, size_t u) {
    return plan && u < plan->nu ? plan->univ[u] : (size_t)-1;
}
const uint32_t *vpar_egad_plan_term_members(const vpar_egad_plan *plan, size_t t,
                                                     size_t *count) {
    if (!plan || t >= plan->nterms) { if (count) *count = 0; return NULL; }
    if (count) *count = plan->pos_ptr[t + 1] - plan->pos_ptr[t];
    return plan->pos_univ + plan->pos_ptr[t];
}

typedef struct vpar__egad_nanscan {
    const void *w;
    vpar_dtype dtype;
    size_t n;
    unsigned char *drop;
} vpar__egad_nanscan;

static void vpar__egad_nanscan_range(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    const vpar__egad_nanscan *a = (const vpar__egad_nanscan *)user;
    const size_t n = a->n;
    for (size_t i = begin; i < end; i++) {
        size_t j = 0;
        if (a->dtype == VPAR_DTYPE_F32) {
            const float *r = (const float *)a->w + i * n;
            while (j < n && isnan(r[j])) j++;
        } else {
            const double *r = (const double *)a->w + i * n;
            while (j < n && isnan(r[j])) j++;
        }
        if (j == n && n) a->drop[i] = 1;
    }
}

vpar_status vpar_egad_find_all_nan_rows_pool(const void *w, vpar_dtype dtype, size_t n,
                                             unsigned char *drop, vpar_pool *pool) {
    if ((!w || !drop) && n)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_find_all_nan_rows: NULL argument");
    if (dtype != VPAR_DTYPE_F32 && dtype != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "vpar_egad_find_all_nan_rows: network must be float32 or float64 (got %s)",
                         vpar_dtype_descr(dtype));
    vpar__egad_nanscan a = {w, dtype, n, drop};
    /* Usually one element per row, but the first access to each row of a
       mapped network is a page fault (and, in some VMs, a costly shadow
       page-table fill): rows in parallel spread that cost. */
    return vpar_parallel_for(pool, 0, n, 256, vpar__egad_nanscan_range, &a);
}

vpar_status vpar_egad_find_all_nan_rows(const void *w, vpar_dtype dtype, size_t n,
                                                 unsigned char *drop) {
    return vpar_egad_find_all_nan_rows_pool(w, dtype, n, drop, NULL);
}
