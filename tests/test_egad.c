/* EGAD core API (examples/egad/egad.h): golden fixtures egad_small,
   egad_ties and hdf5 with 0/1/2 threads, a brute-force reference
   implementation on random networks with ties, and every error path. */
#ifdef VPAR_EGAD_TEST_NO_ZLIB
/* The fallback that spawns `gzip -dc` (builds without zlib). */
#  undef VPAR_EGAD_WITH_ZLIB
#endif
#include "vpar.h"
#include "egad.h"
#include "egad_internal.h" /* vpar__egad_tune, the plan's term groups */

#include "egad_common.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct loaded {
    vpar_egad_annotations *ann;
    char **genes;
    size_t n;
    vpar_npy npy;
} loaded;

static void load_case(const char *name, loaded *L) {
    char p[256];
    memset(L, 0, sizeof *L);
    snprintf(p, sizeof p, "fixtures/%s/go.tsv", name);
    ck_assert_msg(vpar_egad_annotations_load(&L->ann, vpar_test_data(p), NULL) == VPAR_OK, "%s", vpar_last_error());
    snprintf(p, sizeof p, "fixtures/%s/genes.txt", name);
    ck_assert_msg(vpar_egad_read_genes(vpar_test_data(p), &L->genes, &L->n) == VPAR_OK, "%s", vpar_last_error());
    snprintf(p, sizeof p, "fixtures/%s/nw_00.npy", name);
    ck_assert_msg(vpar_npy_open(&L->npy, vpar_test_data(p), 0) == VPAR_OK, "%s", vpar_last_error());
    ck_assert_uint_eq(L->npy.shape[0], L->n);
}

static void free_case(loaded *L) {
    vpar_egad_annotations_destroy(L->ann);
    free(L->genes);
    vpar_npy_close(&L->npy);
}

/* Runs the case through the API and returns the result as a table. */
static vpar_status run_api(const vpar_egad_annotations *ann, const char *const *genes, size_t n, const void *w,
                           vpar_dtype dt, const vpar_egad_desc *desc, vpar_pool *pool, egad_table *out,
                           double *mean) {
    unsigned char *drop = (unsigned char *)calloc(n, 1);
    ck_assert_int_eq(vpar_egad_find_all_nan_rows_pool(w, dt, n, drop, pool), VPAR_OK);
    vpar_egad_plan *plan = NULL;
    vpar_status st = vpar_egad_plan_create(&plan, ann, genes, n, drop, desc, "test-network");
    free(drop);
    if (st != VPAR_OK) return st;
    size_t nt = vpar_egad_plan_nterms(plan);
    vpar_egad_term_result *r = (vpar_egad_term_result *)calloc(nt, sizeof *r);
    st = vpar_egad_run(plan, w, dt, pool, r, mean, "test-network");
    if (st == VPAR_OK) {
        out->n = nt;
        out->term = (char **)malloc(nt * sizeof *out->term);
        out->v = (double (*)[4])malloc(nt * sizeof *out->v);
        for (size_t t = 0; t < nt; t++) {
            out->term[t] = strdup(vpar_egad_plan_term(plan, t));
            out->v[t][0] = r[t].auc;
            out->v[t][1] = r[t].avg_node_degree;
            out->v[t][2] = r[t].degree_null_auc;
            out->v[t][3] = r[t].p_value;
        }
    }
    free(r);
    vpar_egad_plan_destroy(plan);
    return st;
}

static void golden(const char *name, int threads) {
    loaded L;
    load_case(name, &L);
    vpar_pool *pool = NULL;
    if (threads > 0) {
        vpar_pool_desc pd = {threads, 0};
        ck_assert_int_eq(vpar_pool_create(&pool, &pd), VPAR_OK);
    }
    egad_table got, want;
    double mean = 0;
    ck_assert_msg(run_api(L.ann, (const char *const *)L.genes, L.n, L.npy.data, L.npy.dtype, NULL, pool, &got,
                          &mean) == VPAR_OK, "%s", vpar_last_error());
    char p[256];
    snprintf(p, sizeof p, "fixtures/%s/expected.csv", name);
    ck_assert(egad_table_read(vpar_test_data(p), &want));
    char what[128];
    snprintf(what, sizeof what, "%s (%d threads)", name, threads);
    egad_assert_tables(&want, &got, what);
    /* Mean AUC skips NaN terms (the fixtures have one: GO:0008150). */
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; i < want.n; i++)
        if (!isnan(want.v[i][0])) { s += want.v[i][0]; k++; }
    ck_assert_double_eq_tol(mean, s / (double)k, 1e-12);
    ck_assert_uint_lt(k, want.n);
    egad_table_free(&got);
    egad_table_free(&want);
    vpar_pool_destroy(pool);
    free_case(&L);
}

START_TEST(test_golden_small) { golden("egad_small", _i); } END_TEST
START_TEST(test_golden_ties) { golden("egad_ties", _i); } END_TEST

START_TEST(test_golden_hdf5) {
    if (!vpar_egad_have_hdf5()) {
        vpar_egad_annotations *a = NULL;
        ck_assert_int_eq(vpar_egad_annotations_load_hdf5(&a, vpar_test_data("fixtures/hdf5/go.h5"), NULL),
                         VPAR_ERR_UNSUPPORTED);
        return;
    }
    vpar_egad_annotations *ann = NULL;
    ck_assert_msg(vpar_egad_annotations_load_hdf5(&ann, vpar_test_data("fixtures/hdf5/go.h5"), NULL) == VPAR_OK, "%s",
                  vpar_last_error());
    void *vals = NULL;
    vpar_dtype dt;
    size_t rows, cols;
    char **rn = NULL, **cn = NULL;
    ck_assert_msg(vpar_egad_hdf5_read_frame(vpar_test_data("fixtures/hdf5/nw.h5"), "nw", &vals, &dt, &rows, &cols,
                                            &rn, &cn) == VPAR_OK, "%s", vpar_last_error());
    ck_assert_uint_eq(rows, cols);
    ck_assert_int_eq(dt, VPAR_DTYPE_F32);
    /* The HDF5 case holds the egad_ties network and annotations. */
    egad_table got, want;
    vpar_pool_desc pd = {_i, 0};
    vpar_pool *pool = NULL;
    ck_assert_int_eq(vpar_pool_create(&pool, &pd), VPAR_OK);
    ck_assert_msg(run_api(ann, (const char *const *)rn, rows, vals, dt, NULL, pool, &got, NULL) == VPAR_OK, "%s",
                  vpar_last_error());
    ck_assert(egad_table_read(vpar_test_data("fixtures/egad_ties/expected.csv"), &want));
    egad_assert_tables(&want, &got, "hdf5");
    /* Wrong key: a clear error naming the file. */
    void *v2 = NULL;
    char **r2 = NULL, **c2 = NULL;
    ck_assert_int_ne(vpar_egad_hdf5_read_frame(vpar_test_data("fixtures/hdf5/nw.h5"), "nope", &v2, &dt, &rows, &cols,
                                               &r2, &c2), VPAR_OK);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "nw.h5"));
    ck_assert_int_ne(vpar_egad_hdf5_read_frame(vpar_test_data("fixtures/egad_ties/genes.txt"), "nw", &v2, &dt, &rows,
                                               &cols, &r2, &c2), VPAR_OK);
    vpar_pool_destroy(pool);
    egad_table_free(&got);
    egad_table_free(&want);
    free(vals);
    free(rn);
    free(cn);
    vpar_egad_annotations_destroy(ann);
}
END_TEST

/* ---- brute-force reference -------------------------------------------------
   Dense, direct from the definition: training sums formed row by row, all
   candidates sorted, average ranks. Shares no code with egad.h. */

typedef struct ref_pair { int gene, term; } ref_pair;

static void ref_avg_ranks(const double *x, const int *use, int n, double *rank) {
    for (int i = 0; i < n; i++) {
        if (!use[i]) continue;
        int lt = 0, eq = 0;
        for (int j = 0; j < n; j++) {
            if (!use[j]) continue;
            if (x[j] < x[i]) lt++;
            else if (x[j] == x[i]) eq++;
        }
        rank[i] = lt + (eq + 1) / 2.0;
    }
}

/* W: n x n doubles (NaN rows allowed); labels: gene id per row (ints,
   repeats allowed); pairs: (gene id, term id) in file order. */
static double ref_diag = 1.0;   /* the diagonal's value in ref_egad */
static int ref_egad(const double *W, const int *labels, int n, const ref_pair *pairs, int npairs, int nterms_all,
                    int nfold, int mn, int mx, char names[][16], double (*out)[4]) {
    int *uidx = (int *)malloc(sizeof(int) * (size_t)n), nu = 0;
    int maxlab = 0;
    for (int i = 0; i < n; i++) if (labels[i] > maxlab) maxlab = labels[i];
    for (int p = 0; p < npairs; p++) if (pairs[p].gene > maxlab) maxlab = pairs[p].gene;
    int *seen = (int *)calloc((size_t)maxlab + 1, sizeof(int));
    int *annotated = (int *)calloc((size_t)maxlab + 1, sizeof(int));
    for (int p = 0; p < npairs; p++) annotated[pairs[p].gene] = 1;
    for (int i = 0; i < n; i++) {
        int allnan = 1;
        for (int j = 0; j < n; j++) if (!isnan(W[i * n + j])) allnan = 0;
        if (allnan || seen[labels[i]] || !annotated[labels[i]]) continue;
        seen[labels[i]] = 1;
        uidx[nu++] = i;
    }
    /* Term order: first appearance. */
    int *order = (int *)malloc(sizeof(int) * (size_t)nterms_all), nord = 0;
    int *appeared = (int *)calloc((size_t)nterms_all, sizeof(int));
    for (int p = 0; p < npairs; p++)
        if (!appeared[pairs[p].term]) { appeared[pairs[p].term] = 1; order[nord++] = pairs[p].term; }
    /* Membership matrix universe x term (by term id). */
    unsigned char *M = (unsigned char *)calloc((size_t)nu * (size_t)nterms_all, 1);
    for (int u = 0; u < nu; u++)
        for (int p = 0; p < npairs; p++)
            if (pairs[p].gene == labels[uidx[u]]) M[u * nterms_all + pairs[p].term] = 1;
    int *kept = (int *)malloc(sizeof(int) * (size_t)nterms_all), nk = 0;
    for (int o = 0; o < nord; o++) {
        int t = order[o], c = 0;
        for (int u = 0; u < nu; u++) c += M[u * nterms_all + t];
        if (c > mn && c < mx) kept[nk++] = t;
    }
    /* Folds: gene by gene, kept terms in term order. */
    int *fold = (int *)malloc(sizeof(int) * (size_t)nu * (size_t)(nk ? nk : 1));
    int k = 0;
    for (int u = 0; u < nu; u++)
        for (int q = 0; q < nk; q++)
            if (M[u * nterms_all + kept[q]]) fold[u * nk + q] = k++ % nfold;
    /* Network with diagonal 1 (ref_diag: the scale of rank codes). */
    double *A = (double *)malloc(sizeof(double) * (size_t)nu * (size_t)nu);
    for (int a = 0; a < nu; a++)
        for (int b = 0; b < nu; b++) A[a * nu + b] = a == b ? ref_diag : W[uidx[a] * n + uidx[b]];
    double *deg = (double *)calloc((size_t)nu, sizeof(double));
    for (int i = 0; i < nu; i++)
        for (int j = 0; j < nu; j++) deg[i] += A[j * nu + i];
    double *s = (double *)malloc(sizeof(double) * (size_t)nu), *rk = (double *)malloc(sizeof(double) * (size_t)nu);
    int *use = (int *)malloc(sizeof(int) * (size_t)nu);
    for (int q = 0; q < nk; q++) {
        int t = kept[q], npos = 0;
        for (int u = 0; u < nu; u++) npos += M[u * nterms_all + t];
        double aucs = 0, zs = 0;
        int na = 0;
        for (int f = 0; f < nfold; f++) {
            int np_ = 0;
            for (int i = 0; i < nu; i++) {
                int pos = M[i * nterms_all + t];
                int train = pos && fold[i * nk + q] != f;
                use[i] = !train;
                np_ += pos && !train;
                double sum = 0;
                for (int j = 0; j < nu; j++)
                    if (M[j * nterms_all + t] && fold[j * nk + q] != f) sum += A[j * nu + i];
                s[i] = fabs(sum / deg[i]);
            }
            int nn = nu - npos;
            if (np_ == 0 || nn == 0) continue;
            ref_avg_ranks(s, use, nu, rk);
            double p = 0;
            for (int i = 0; i < nu; i++)
                if (M[i * nterms_all + t] && fold[i * nk + q] == f) p += rk[i];
            double auc = (p / np_ - (np_ + 1) / 2.0) / nn;
            double U = auc * np_ * nn;
            zs += fabs(U - np_ * (double)nn / 2) / sqrt(np_ * (double)nn * (np_ + nn + 1) / 12.0);
            aucs += auc;
            na++;
        }
        out[q][0] = na ? aucs / na : NAN;
        out[q][3] = 0.5 * erfc(zs / sqrt((double)nfold) / sqrt(2.0));
        double ds = 0;
        for (int u = 0; u < nu; u++) if (M[u * nterms_all + t]) ds += deg[u];
        out[q][1] = ds / npos;
        for (int u = 0; u < nu; u++) use[u] = 1;
        ref_avg_ranks(deg, use, nu, rk);
        double p = 0;
        for (int u = 0; u < nu; u++) if (M[u * nterms_all + t]) p += rk[u];
        int nn = nu - npos;
        out[q][2] = nn ? (p / npos - (npos + 1) / 2.0) / nn : NAN;
        snprintf(names[q], 16, "T%d", t);
    }
    free(uidx); free(seen); free(annotated); free(order); free(appeared); free(M); free(kept);
    free(fold); free(A); free(deg); free(s); free(rk); free(use);
    return nk;
}

static double urand(unsigned *state) {
    *state = *state * 1103515245u + 12345u;
    return (double)((*state >> 8) & 0xffffff) / 16777216.0;
}

START_TEST(test_reference_random) {
    unsigned seed = 12345u + (unsigned)_i * 7919u;
    int n = 60 + (int)(urand(&seed) * 60);
    int nfold = 2 + (int)(urand(&seed) * 4);
    int use_f32 = _i % 2;
    int nterms = 25;
    double *W = (double *)malloc(sizeof(double) * (size_t)n * (size_t)n);
    float *W32 = (float *)malloc(sizeof(float) * (size_t)n * (size_t)n);
    for (int i = 0; i < n * n; i++) {
        /* Rounded to 0.1 (float32) or 1/8 (float64): many ties in the network
           and the scores. Both make every sum exact in double, so ties do not
           depend on the summation order (with inexact float64 sums no two
           implementations agree on which scores tie). */
        double x = urand(&seed) * 2 - 0.6;
        double v = use_f32 ? round(x * 10) / 10 : round(x * 8) / 8;
        W32[i] = (float)v;
        W[i] = use_f32 ? (double)W32[i] : v;
    }
    /* Cases 12 and up cut a quarter of the genes off (weight 0 to every
       other gene): their scores are exactly 0 in every fold, so folds of
       more than 20 held-out genes that hold one are counted by the
       driver's fallback (sorted scores, a binary search per candidate:
       the count table takes positive finite scores only). */
    if (_i >= 12)
        for (int i = 0; i < n; i += 4)
            for (int j = 0; j < n; j++)
                if (j != i) W[i * n + j] = W[j * n + i] = W32[i * n + j] = W32[j * n + i] = 0;
    /* Every third case keeps all genes (universe == network: the column-sum
       fast path); the others drop an all-NaN gene, repeats and unannotated
       genes. */
    int full = _i % 3 == 2;
    int dead = (int)(urand(&seed) * n);
    for (int j = 0; j < n && !full; j++) { W[dead * n + j] = NAN; W32[dead * n + j] = NAN; }
    int *labels = (int *)malloc(sizeof(int) * (size_t)n);
    char **gn = (char **)malloc(sizeof(char *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        labels[i] = (!full && i > 3 && urand(&seed) < 0.05) ? labels[i - 2] : 1000 + i; /* some repeats */
        gn[i] = (char *)malloc(16);
        snprintf(gn[i], 16, "G%d", labels[i]);
    }
    ref_pair *pairs = (ref_pair *)malloc(sizeof(ref_pair) * (size_t)(n * nterms + 1));
    int np = 0;
    const char **pg = (const char **)malloc(sizeof(char *) * (size_t)(n * nterms + 1));
    const char **pt = (const char **)malloc(sizeof(char *) * (size_t)(n * nterms + 1));
    char (*tn)[16] = (char (*)[16])malloc(16 * (size_t)nterms);
    for (int t = 0; t < nterms; t++) snprintf(tn[t], 16, "T%d", t);
    /* Genes in random order, each with random terms (term 0 on every gene:
       the all-positive case gives NaN AUC and P = 0.5). */
    for (int i = n - 1; i >= 0; i--) {
        if (!full && urand(&seed) < 0.1) continue; /* unannotated gene */
        for (int t = 0; t < nterms; t++) {
            double pr = t == 0 ? 1.0 : 0.05 + 0.6 * t / nterms;
            if (urand(&seed) < pr) {
                pairs[np].gene = labels[i];
                pairs[np].term = (t * 7) % nterms; /* term ids not in order of appearance */
                pg[np] = gn[i];
                pt[np] = tn[pairs[np].term];
                np++;
            }
        }
    }
    int mn = 3, mx = n - 5;
    char names[64][16];
    double (*want)[4] = (double (*)[4])malloc(sizeof(double[4]) * 64);
    int nk = ref_egad(W, labels, n, pairs, np, nterms, nfold, mn, mx, names, want);
    ck_assert_int_gt(nk, 5);

    vpar_egad_annotations *ann;
    ck_assert_int_eq(vpar_egad_annotations_create(&ann, pg, pt, (size_t)np, "random"), VPAR_OK);
    vpar_egad_desc d = {nfold, mn, mx, 0};
    vpar_pool_desc pd = {2, 0};
    vpar_pool *pool;
    ck_assert_int_eq(vpar_pool_create(&pool, &pd), VPAR_OK);
    egad_table got;
    ck_assert_msg(run_api(ann, (const char *const *)gn, (size_t)n, use_f32 ? (const void *)W32 : (const void *)W,
                          use_f32 ? VPAR_DTYPE_F32 : VPAR_DTYPE_F64, &d, pool, &got, NULL) == VPAR_OK,
                  "%s", vpar_last_error());
    ck_assert_int_eq((int)got.n, nk);
    for (int q = 0; q < nk; q++) {
        ck_assert_str_eq(got.term[q], names[q]);
        for (int k = 0; k < 4; k++) {
            double a = want[q][k], b = got.v[q][k];
            ck_assert_msg((isnan(a) && isnan(b)) || fabs(a - b) <= 1e-12 * (1 + fabs(a)),
                          "iter %d term %s col %d: %.17g vs reference %.17g", _i, names[q], k, b, a);
        }
    }
    /* The large-network path on the same input: greedy term groups of 3,
       16-column tiles (vpar__egad_tune). Each term's sums keep their
       order, so the results are bit-identical to the default path's. */
    vpar__egad_tuning keep = vpar__egad_tune;
    vpar__egad_tune.greedy_min_bytes = 0;
    vpar__egad_tune.tile_bytes = 1;
    vpar__egad_tune.min_tile = 16;
    vpar__egad_tune.group = 3;
    egad_table got2;
    vpar_status st2 = run_api(ann, (const char *const *)gn, (size_t)n,
                              use_f32 ? (const void *)W32 : (const void *)W,
                              use_f32 ? VPAR_DTYPE_F32 : VPAR_DTYPE_F64, &d, pool, &got2, NULL);
    vpar__egad_tune = keep;
    ck_assert_msg(st2 == VPAR_OK, "%s", vpar_last_error());
    ck_assert_int_eq((int)got2.n, nk);
    for (int q = 0; q < nk; q++)
        for (int k = 0; k < 4; k++) {
            double a = got.v[q][k], b = got2.v[q][k];
            ck_assert_msg((isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b)),
                          "iter %d term %s col %d: grouped %.17g vs %.17g", _i, names[q], k, b, a);
        }
    egad_table_free(&got2);
    egad_table_free(&got);
    vpar_pool_destroy(pool);
    vpar_egad_annotations_destroy(ann);
    for (int i = 0; i < n; i++) free(gn[i]);
    free(gn); free(labels); free(pairs); free(pg); free(pt); free(tn); free(want); free(W); free(W32);
}
END_TEST

/* vpar_egad_run_codes on rank codes (rank.h's vpar_rank_codes_into_ws of a
   random symmetric network with ties): the reference above run on the
   codes as doubles (integers: every sum exact in any order, so ties agree)
   with the diagonal at the codes' scale gives the same AUROC, degree-null
   AUROC and P value, and AVG_NODE_DEGREE times the scale; and the AUROCs
   agree with vpar_egad_run on the float64 standardized matrix. The last
   two iterations take more than 512 genes (several column blocks of the
   node degrees) and leave every 7th gene unannotated (outside the
   universe), the last with a gene of the universe at each block edge. */
START_TEST(test_codes_match_reference) {
    unsigned seed = 777u + (unsigned)_i * 104729u;
    int big = _i >= 6;
    int n = big ? (_i == 6 ? 700 : 1025) : 50 + (int)(urand(&seed) * 70), nfold = 3, nterms = 20;
    size_t nn = (size_t)n * (size_t)n;
    double *raw = (double *)malloc(nn * sizeof *raw), *std = (double *)malloc(nn * sizeof *std);
    double *cw = (double *)malloc(nn * sizeof *cw);
    uint32_t *codes = (uint32_t *)malloc(nn * sizeof *codes), scale = 0;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++)
            raw[i * n + j] = raw[j * n + i] = round((urand(&seed) * 2 - 1) * 6) / 4;   /* ties */
    vpar_pool_desc pd = {2, 0};
    vpar_pool *pool;
    ck_assert_int_eq(vpar_pool_create(&pool, &pd), VPAR_OK);
    ck_assert_int_eq(vpar_rank_codes_into_ws(NULL, raw, VPAR_DTYPE_F64, (size_t)n, (size_t)n,
                                             VPAR_RANK_SYMMETRIC, codes, &scale, pool), VPAR_OK);
    ck_assert_int_eq(vpar_rank_standardize_into_ws(NULL, raw, std, VPAR_DTYPE_F64, (size_t)n, (size_t)n,
                                                   VPAR_RANK_SYMMETRIC, pool), VPAR_OK);
    for (size_t i = 0; i < nn; i++) cw[i] = (double)codes[i];
    int *labels = (int *)malloc(sizeof(int) * (size_t)n);
    char **gn = (char **)malloc(sizeof(char *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        labels[i] = 500 + i;
        gn[i] = (char *)malloc(16);
        snprintf(gn[i], 16, "G%d", labels[i]);
    }
    ref_pair *pairs = (ref_pair *)malloc(sizeof(ref_pair) * (size_t)(n * nterms + 1));
    const char **pg = (const char **)malloc(sizeof(char *) * (size_t)(n * nterms + 1));
    const char **pt = (const char **)malloc(sizeof(char *) * (size_t)(n * nterms + 1));
    char (*tn)[16] = (char (*)[16])malloc(16 * (size_t)nterms);
    for (int t = 0; t < nterms; t++) snprintf(tn[t], 16, "T%d", t);
    int np = 0;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < nterms; t++)
            if ((!big || i % 7 != 3) && urand(&seed) < 0.05 + 0.5 * t / nterms) {
                pairs[np].gene = labels[i];
                pairs[np].term = t;
                pg[np] = gn[i];
                pt[np] = tn[t];
                np++;
            }
    int mn = 3, mx = n - 3;
    char names[64][16];
    double (*want)[4] = (double (*)[4])malloc(sizeof(double[4]) * 64);
    ref_diag = (double)scale;
    int nk = ref_egad(cw, labels, n, pairs, np, nterms, nfold, mn, mx, names, want);
    ref_diag = 1.0;
    ck_assert_int_gt(nk, 5);
    vpar_egad_annotations *ann;
    ck_assert_int_eq(vpar_egad_annotations_create(&ann, pg, pt, (size_t)np, "codes"), VPAR_OK);
    vpar_egad_desc d = {nfold, mn, mx, 0};
    vpar_egad_plan *plan;
    ck_assert_int_eq(vpar_egad_plan_create(&plan, ann, (const char *const *)gn, (size_t)n, NULL, &d, "codes"),
                     VPAR_OK);
    size_t nt = vpar_egad_plan_nterms(plan);
    ck_assert_int_eq((int)nt, nk);
    vpar_egad_term_result *r = (vpar_egad_term_result *)calloc(nt, sizeof *r);
    vpar_egad_term_result *rs = (vpar_egad_term_result *)calloc(nt, sizeof *rs);
    double mean = 0, means = 0;
    ck_assert_msg(vpar_egad_run_codes(plan, codes, scale, pool, r, &mean, "codes") == VPAR_OK, "%s",
                  vpar_last_error());
    ck_assert_int_eq(vpar_egad_run(plan, std, VPAR_DTYPE_F64, pool, rs, &means, "std"), VPAR_OK);
    for (size_t q = 0; q < nt; q++) {
        ck_assert_str_eq(vpar_egad_plan_term(plan, q), names[q]);
        double got[4] = {r[q].auc, r[q].avg_node_degree * scale, r[q].degree_null_auc, r[q].p_value};
        for (int k = 0; k < 4; k++) {
            double a = want[q][k], b = got[k];
            ck_assert_msg((isnan(a) && isnan(b)) || fabs(a - b) <= 1e-12 * (1 + fabs(a)),
                          "iter %d term %s col %d: %.17g vs reference %.17g", _i, names[q], k, b, a);
        }
        /* the float64 standardized matrix: the same to its rounding */
        ck_assert_msg(fabs(r[q].auc - rs[q].auc) <= 1e-9 && fabs(r[q].avg_node_degree - rs[q].avg_node_degree)
                          <= 1e-9 * rs[q].avg_node_degree,
                      "term %s: codes %.17g / %.17g, float64 %.17g / %.17g", names[q], r[q].auc,
                      r[q].avg_node_degree, rs[q].auc, rs[q].avg_node_degree);
    }
    ck_assert(fabs(mean - means) <= 1e-9);
    ck_assert_int_eq(vpar_egad_run_codes(plan, codes, 0, pool, r, NULL, "codes"), VPAR_ERR_INVALID);
    ck_assert_int_eq(vpar_egad_run_codes(plan, NULL, scale, pool, r, NULL, "codes"), VPAR_ERR_INVALID);
    free(r); free(rs);
    vpar_egad_plan_destroy(plan);
    vpar_egad_annotations_destroy(ann);
    vpar_pool_destroy(pool);
    for (int i = 0; i < n; i++) free(gn[i]);
    free(gn); free(labels); free(pairs); free(pg); free(pt); free(tn); free(want);
    free(raw); free(std); free(cw); free(codes);
}
END_TEST

/* The plan's term groups (plan.c): every kept term exactly once, groups of
   at most `group` terms, each group's distinct-gene count and the largest
   group's positives as counted here, and the greedy rule: a group starts
   with a largest term left and each next term adds no more new genes than
   any other term left that shares a gene with the group. */
START_TEST(test_plan_groups) {
    unsigned seed = 777u + (unsigned)_i;
    const int n = 150, nterms = 40;
    char **gn = (char **)malloc(sizeof(char *) * (size_t)n);
    const char **pg = (const char **)malloc(sizeof(char *) * (size_t)(n * nterms));
    const char **pt = (const char **)malloc(sizeof(char *) * (size_t)(n * nterms));
    char (*tn)[16] = (char (*)[16])malloc(16 * (size_t)nterms);
    for (int t = 0; t < nterms; t++) snprintf(tn[t], 16, "T%d", t);
    size_t np = 0;
    for (int i = 0; i < n; i++) {
        gn[i] = (char *)malloc(16);
        snprintf(gn[i], 16, "G%d", i);
        for (int t = 0; t < nterms; t++)
            if (urand(&seed) < 0.04 + 0.3 * t / nterms) { pg[np] = gn[i]; pt[np] = tn[t]; np++; }
    }
    vpar_egad_annotations *ann;
    ck_assert_int_eq(vpar_egad_annotations_create(&ann, pg, pt, np, "groups"), VPAR_OK);
    vpar__egad_tuning keep = vpar__egad_tune;
    vpar__egad_tune.greedy_min_bytes = _i == 0 ? 0 : keep.greedy_min_bytes; /* 0: greedy, 1: plan order */
    vpar__egad_tune.group = 5;
    vpar_egad_desc d = {3, 4, 140, 0};
    vpar_egad_plan *p = NULL;
    vpar_status st = vpar_egad_plan_create(&p, ann, (const char *const *)gn, (size_t)n, NULL, &d, "groups");
    vpar__egad_tune = keep;
    ck_assert_msg(st == VPAR_OK, "%s", vpar_last_error());
    size_t nt = p->nterms;
    ck_assert_uint_gt(nt, 10);
    unsigned char *seen = (unsigned char *)calloc(nt, 1), *left = (unsigned char *)malloc(nt);
    unsigned char *in = (unsigned char *)malloc(p->nu);
    memset(left, 1, nt);
    ck_assert_uint_eq(p->grp_ptr[0], 0);
    ck_assert_uint_eq(p->grp_ptr[p->ngroups], nt);
    size_t posmax = 0;
    for (size_t g = 0; g < p->ngroups; g++) {
        size_t b = p->grp_ptr[g], e = p->grp_ptr[g + 1], uni = 0, pos = 0;
        ck_assert(e > b && e - b <= 5);
        ck_assert(e - b == 5 || g + 1 == p->ngroups);
        memset(in, 0, p->nu);
        for (size_t k = b; k < e; k++) {
            size_t t = p->order[k];
            ck_assert_uint_lt(t, nt);
            ck_assert(!seen[t]);
            seen[t] = 1;
            size_t cnt;
            const uint32_t *m = vpar_egad_plan_term_members(p, t, &cnt);
            if (_i == 1) {
                ck_assert_uint_eq(t, k); /* small network: plan order */
            } else if (k == b) {
                for (size_t o = 0; o < nt; o++)
                    if (left[o]) ck_assert_uint_ge(cnt, vpar_egad_plan_term_size(p, o));
            } else {
                /* new genes of t <= new genes of any term left sharing a gene */
                size_t add_t = 0;
                for (size_t q = 0; q < cnt; q++) add_t += !in[m[q]];
                for (size_t o = 0; o < nt; o++) {
                    if (!left[o] || o == t) continue;
                    size_t co;
                    const uint32_t *mo = vpar_egad_plan_term_members(p, o, &co);
                    size_t add_o = 0, shared = 0;
                    for (size_t q = 0; q < co; q++) { add_o += !in[mo[q]]; shared += in[mo[q]]; }
                    if (shared) ck_assert_msg(add_t < add_o || (add_t == add_o && t < o),
                                              "group %zu: term %zu adds %zu, term %zu adds %zu", g, t, add_t, o, add_o);
                }
            }
            left[t] = 0;
            for (size_t q = 0; q < cnt; q++) { uni += !in[m[q]]; in[m[q]] = 1; }
            pos += cnt;
        }
        ck_assert_uint_eq(p->grp_union[g], uni);
        if (pos > posmax) posmax = pos;
    }
    ck_assert_uint_eq(p->grp_pos_max, posmax);
    for (size_t t = 0; t < nt; t++) ck_assert(seen[t]);
    free(seen); free(left); free(in);
    vpar_egad_plan_destroy(p);
    vpar_egad_annotations_destroy(ann);
    for (int i = 0; i < n; i++) free(gn[i]);
    free(gn); free(pg); free(pt); free(tn);
}
END_TEST

/* ---- annotation parsing -------------------------------------------------- */

START_TEST(test_annotations_formats) {
    char *dir = egad_tmpdir();
    vpar_egad_annotations *a;
    /* Header auto-detected, CRLF, comments, blank lines, repeated pairs. */
    egad_write_file(egad_path(dir, "a.tsv"), "gene\tterm\r\n! comment\r\nA\tT1\r\n\r\nB\tT1\r\nA\tT2\r\nA\tT1\r\n");
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "a.tsv"), NULL), VPAR_OK);
    ck_assert_uint_eq(vpar_egad_annotations_ngenes(a), 2);
    ck_assert_uint_eq(vpar_egad_annotations_nterms(a), 2);
    ck_assert_uint_eq(vpar_egad_annotations_npairs(a), 3);
    ck_assert_str_eq(vpar_egad_annotations_term(a, 0), "T1");
    ck_assert_int_eq(vpar_egad_annotations_find_gene(a, "gene"), -1);
    ck_assert_int_eq(vpar_egad_annotations_find_gene(a, "B"), 1);
    vpar_egad_annotations_destroy(a);
    /* No header, forced: the first line is data. */
    egad_write_file(egad_path(dir, "b.tsv"), "X\tT9\nY\tT9\n");
    vpar_egad_annot_desc none = {0, 0, -1, 0, 0, 0, NULL};
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "b.tsv"), &none), VPAR_OK);
    ck_assert_uint_eq(vpar_egad_annotations_ngenes(a), 2);
    vpar_egad_annotations_destroy(a);
    vpar_egad_annot_desc hdr = {0, 0, 1, 0, 0, 0, NULL};
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "b.tsv"), &hdr), VPAR_OK);
    ck_assert_uint_eq(vpar_egad_annotations_ngenes(a), 1);
    vpar_egad_annotations_destroy(a);
    /* GAF columns (DB object ID = column 2, GO ID = column 5). */
    egad_write_file(egad_path(dir, "c.gaf"),
                    "!gaf-version: 2.2\nUniProtKB\tP1\tSYM1\tinvolved_in\tGO:1\tPMID:1\tIDA\t\tP\n"
                    "UniProtKB\tP2\tSYM2\tinvolved_in\tGO:1\tPMID:1\tIDA\t\tP\n");
    vpar_egad_annot_desc gaf = {1, 4, 0, 1, 1, 0, NULL};
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "c.gaf"), &gaf), VPAR_OK);
    ck_assert_str_eq(vpar_egad_annotations_gene(a, 1), "P2");
    ck_assert_str_eq(vpar_egad_annotations_term(a, 0), "GO:1");
    vpar_egad_annotations_destroy(a);
    egad_rmtree(dir);
    free(dir);
}
END_TEST

/* The parser against a reference written here from docs/egad.md's format
   (lines split at LF, one CR before it dropped; empty, '!'/'#' and
   all-blank lines skipped; fields split at TAB; genes and terms numbered
   in order of first appearance; each gene's terms distinct): random
   files with IDs of 1 to 19 bytes (across the parser's 8-byte steps),
   CRLF and LF lines, comments, blank and white-space lines, IDs that
   start with a space, repeated pairs, extra columns, genes grouped or
   not, with and without a final newline, columns (0, 1) and (2, 0). */
typedef struct ref_ann {
    char names[2][64][24]; /* [gene/term][index] */
    int n[2];
    unsigned char has[64][64]; /* [gene][term] */
} ref_ann;

static int ref_intern(ref_ann *r, int kind, const char *s) {
    for (int i = 0; i < r->n[kind]; i++)
        if (strcmp(r->names[kind][i], s) == 0) return i;
    snprintf(r->names[kind][r->n[kind]], 24, "%s", s);
    return r->n[kind]++;
}

static void rand_id(char *out, unsigned *seed, char kind, int pool) {
    /* IDs from a small pool so that they repeat; lengths 1..19 */
    int k = (int)(rand_r(seed) % (unsigned)pool);
    int len = 1 + (k * 7) % 19;
    for (int i = 0; i < len; i++) out[i] = (char)('a' + (k + i * 3) % 26);
    out[0] = kind;
    if (k % 11 == 5) out[0] = ' ';          /* starts with a space: not blank */
    out[len] = '\0';
    if (len > 2 && k % 13 == 7) out[len / 2] = kind == 'G' ? ':' : '.';
}

START_TEST(test_annotations_random) {
    for (int round = 0; round < 300; round++) {
        unsigned seed = 1234u + (unsigned)round;
        int gcol = round % 2 ? 2 : 0, tcol = round % 2 ? 0 : 1, ncol = round % 2 ? 3 : 2;
        int grouped = round % 3 != 0, lines = 1 + (int)(rand_r(&seed) % 60);
        ref_ann *ref = (ref_ann *)calloc(1, sizeof *ref);
        char *text = (char *)calloc(1, 65536);
        size_t len = 0;
        char gene[24] = "";
        for (int l = 0; l < lines; l++) {
            unsigned what = rand_r(&seed) % 16;
            const char *eol = rand_r(&seed) % 3 == 0 ? "\r\n" : "\n";
            if (what == 0) { len += (size_t)sprintf(text + len, "! comment\t%d%s", l, eol); continue; }
            if (what == 1) { len += (size_t)sprintf(text + len, "#x%s", eol); continue; }
            if (what == 2) { len += (size_t)sprintf(text + len, "%s", eol); continue; }
            if (what == 3) { len += (size_t)sprintf(text + len, " \t %s", eol); continue; }
            if (!grouped || !gene[0] || rand_r(&seed) % 5 == 0) rand_id(gene, &seed, 'G', 20);
            char term[24];
            rand_id(term, &seed, 'T', 40);
            char cols[4][32];
            for (int c = 0; c < ncol; c++) snprintf(cols[c], sizeof cols[c], "x%d", c);
            snprintf(cols[gcol], sizeof cols[gcol], "%s", gene);
            snprintf(cols[tcol], sizeof cols[tcol], "%s", term);
            int extra = what == 4; /* a column after the last one read */
            for (int c = 0; c < ncol; c++)
                len += (size_t)sprintf(text + len, "%s%s", cols[c], c + 1 < ncol ? "\t" : "");
            if (extra) len += (size_t)sprintf(text + len, "\textra\r");
            int last = l + 1 == lines;
            if (!(last && round % 4 == 1)) len += (size_t)sprintf(text + len, "%s", eol);
            else if (eol[0] == '\r' && !extra) len += (size_t)sprintf(text + len, "\r");
            int g = ref_intern(ref, 0, gene), t = ref_intern(ref, 1, term);
            ref->has[g][t] = 1;
        }
        vpar_egad_annotations *a = NULL;
        vpar_status st = vpar__egad_annotations_parse2(&a, text, len, gcol, tcol, -1, 1, 0, "r.tsv");
        if (ref->n[0] == 0) {
            ck_assert_int_eq(st, VPAR_ERR_FORMAT);
        } else {
            ck_assert_msg(st == VPAR_OK, "round %d: %s", round, vpar_last_error());
            ck_assert_uint_eq(vpar_egad_annotations_ngenes(a), (size_t)ref->n[0]);
            ck_assert_uint_eq(vpar_egad_annotations_nterms(a), (size_t)ref->n[1]);
            size_t pairs = 0;
            for (int g = 0; g < ref->n[0]; g++) {
                ck_assert_str_eq(vpar_egad_annotations_gene(a, (size_t)g), ref->names[0][g]);
                size_t cnt, k = 0;
                const uint32_t *tl = vpar_egad_annotations_gene_terms(a, (size_t)g, &cnt);
                for (int t = 0; t < ref->n[1]; t++) {
                    if (!ref->has[g][t]) continue;
                    ck_assert_msg(k < cnt && tl[k] == (uint32_t)t, "round %d gene %d", round, g);
                    k++;
                }
                ck_assert_uint_eq(k, cnt);
                pairs += cnt;
            }
            for (int t = 0; t < ref->n[1]; t++)
                ck_assert_str_eq(vpar_egad_annotations_term(a, (size_t)t), ref->names[1][t]);
            ck_assert_uint_eq(vpar_egad_annotations_npairs(a), pairs);
        }
        vpar_egad_annotations_destroy(a);
        free(text);
        free(ref);
    }
}
END_TEST

/* A gene's terms spread over a wide range (sorted, not marked) and
   many terms per gene (marked): both give them ascending and distinct. */
START_TEST(test_annotations_sort_paths) {
    size_t nt = 5000, n = 0;
    const char **gs = (const char **)malloc(20000 * sizeof *gs), **ts = (const char **)malloc(20000 * sizeof *ts);
    char (*tn)[16] = malloc(nt * sizeof *tn);
    for (size_t t = 0; t < nt; t++) snprintf(tn[t], sizeof tn[t], "T%zu", t);
    /* gene A: every term in reverse, twice (marked: k large); gene B: 30
       terms far apart, descending, with repeats (sorted); gene C: 3 */
    for (size_t t = nt; t-- > 0;) { gs[n] = "A"; ts[n++] = tn[t]; }
    for (size_t t = nt; t-- > 0;) { gs[n] = "A"; ts[n++] = tn[t]; }
    for (size_t i = 30; i-- > 0;) { gs[n] = "B"; ts[n++] = tn[(i * 163) % nt]; gs[n] = "B"; ts[n++] = tn[(i * 163) % nt]; }
    gs[n] = "C"; ts[n++] = tn[4999]; gs[n] = "C"; ts[n++] = tn[0]; gs[n] = "C"; ts[n++] = tn[2500];
    gs[n] = "A"; ts[n++] = tn[7]; /* A again: not grouped any more */
    vpar_egad_annotations *a;
    ck_assert_int_eq(vpar_egad_annotations_create(&a, gs, ts, n, "x"), VPAR_OK);
    for (size_t g = 0; g < 3; g++) {
        size_t cnt;
        const uint32_t *tl = vpar_egad_annotations_gene_terms(a, g, &cnt);
        ck_assert_uint_eq(cnt, g == 0 ? nt : g == 1 ? 30 : 3);
        for (size_t k = 0; k < cnt; k++) {
            const char *name = vpar_egad_annotations_term(a, tl[k]);
            ck_assert(k == 0 || tl[k] > tl[k - 1]);
            if (g == 0) ck_assert_str_eq(name, tn[nt - 1 - k]); /* numbered first seen: reversed */
        }
    }
    ck_assert_uint_eq(vpar_egad_annotations_npairs(a), nt + 30 + 3);
    vpar_egad_annotations_destroy(a);
    free(gs); free(ts); free(tn);
}
END_TEST

START_TEST(test_annotations_gzip) {
#ifdef VPAR_EGAD_TEST_NO_ZLIB
    ck_assert_int_eq(vpar_egad_have_zlib(), 0);
#endif
    char *dir = egad_tmpdir();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", vpar_test_data("fixtures/egad_small/go.tsv"),
             egad_path(dir, "go.tsv.gz"));
    ck_assert_int_eq(system(cmd), 0);
    vpar_egad_annotations *a, *b;
    ck_assert_int_eq(vpar_egad_annotations_load(&a, vpar_test_data("fixtures/egad_small/go.tsv"), NULL), VPAR_OK);
    ck_assert_msg(vpar_egad_annotations_load(&b, egad_path(dir, "go.tsv.gz"), NULL) == VPAR_OK, "%s",
                  vpar_last_error());
    ck_assert_uint_eq(vpar_egad_annotations_npairs(a), vpar_egad_annotations_npairs(b));
    ck_assert_uint_eq(vpar_egad_annotations_nterms(a), vpar_egad_annotations_nterms(b));
    for (size_t t = 0; t < vpar_egad_annotations_nterms(a); t++)
        ck_assert_str_eq(vpar_egad_annotations_term(a, t), vpar_egad_annotations_term(b, t));
    vpar_egad_annotations_destroy(a);
    vpar_egad_annotations_destroy(b);
    /* Truncated gzip stream: an error naming the file, nothing loaded. */
    snprintf(cmd, sizeof cmd, "head -c 2000 '%s' > '%s'", egad_path(dir, "go.tsv.gz"), egad_path(dir, "cut.tsv.gz"));
    ck_assert_int_eq(system(cmd), 0);
    b = (vpar_egad_annotations *)1;
    ck_assert_int_eq(vpar_egad_annotations_load(&b, egad_path(dir, "cut.tsv.gz"), NULL), VPAR_ERR_FORMAT);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "cut.tsv.gz"));
    egad_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- bad input ------------------------------------------------------------- */

START_TEST(test_bad_annotations) {
    char *dir = egad_tmpdir();
    vpar_egad_annotations *a = NULL;
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "missing.tsv"), NULL), VPAR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "missing.tsv"));
    /* Too few columns on line 4. */
    egad_write_file(egad_path(dir, "m1.tsv"), "gene\tterm\nA\tT1\nB\tT1\nC\n");
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "m1.tsv"), NULL), VPAR_ERR_FORMAT);
    ck_assert_msg(strstr(vpar_last_error(), "m1.tsv:4:") != NULL, "%s", vpar_last_error());
    /* Empty term field on line 2. */
    egad_write_file(egad_path(dir, "m2.tsv"), "A\tT1\nB\t\n");
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "m2.tsv"), NULL), VPAR_ERR_FORMAT);
    ck_assert_msg(strstr(vpar_last_error(), "m2.tsv:2:") && strstr(vpar_last_error(), "term"), "%s",
                  vpar_last_error());
    /* GAF columns on a 2-column file. */
    vpar_egad_annot_desc gaf = {1, 4, 0, 1, 1, 0, NULL};
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "m2.tsv"), &gaf), VPAR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "m2.tsv:1:"));
    /* Only a header. */
    egad_write_file(egad_path(dir, "m3.tsv"), "gene\tterm\n");
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "m3.tsv"), NULL), VPAR_ERR_FORMAT);
    vpar_egad_annot_desc same = {2, 2, 0, 1, 0, 0, NULL};
    ck_assert_int_eq(vpar_egad_annotations_load(&a, egad_path(dir, "m2.tsv"), &same), VPAR_ERR_INVALID);
    ck_assert_ptr_null(a);
    egad_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_bad_genes_file) {
    char *dir = egad_tmpdir();
    char **g = NULL;
    size_t n = 0;
    ck_assert_int_eq(vpar_egad_read_genes(egad_path(dir, "none.txt"), &g, &n), VPAR_ERR_IO);
    egad_write_file(egad_path(dir, "g.txt"), "a\n\nb\n");
    ck_assert_int_eq(vpar_egad_read_genes(egad_path(dir, "g.txt"), &g, &n), VPAR_ERR_FORMAT);
    ck_assert_msg(strstr(vpar_last_error(), "g.txt:2:") != NULL, "%s", vpar_last_error());
    egad_write_file(egad_path(dir, "ok.txt"), "a\r\nb\n\n");
    ck_assert_int_eq(vpar_egad_read_genes(egad_path(dir, "ok.txt"), &g, &n), VPAR_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(g[1], "b");
    free(g);
    egad_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_bad_network) {
    loaded L;
    load_case("egad_ties", &L);
    size_t n = L.n;
    const char *const *genes = (const char *const *)L.genes;
    vpar_egad_plan *plan = NULL;
    /* No overlap between network genes and annotations. */
    char **other = (char **)malloc(n * sizeof *other);
    for (size_t i = 0; i < n; i++) other[i] = (char *)"not-a-gene";
    ck_assert_int_eq(vpar_egad_plan_create(&plan, L.ann, (const char *const *)other, n, NULL, NULL, "nw_x.npy"),
                     VPAR_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "nw_x.npy"));
    ck_assert_ptr_null(plan);
    free(other);
    /* No term passes the filter. */
    vpar_egad_desc strict = {3, 700, 1000, 0};
    ck_assert_int_eq(vpar_egad_plan_create(&plan, L.ann, genes, n, NULL, &strict, "nw_y.npy"), VPAR_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "nw_y.npy"));
    vpar_egad_desc bad = {3, 50, 51, 0};
    ck_assert_int_eq(vpar_egad_plan_create(&plan, L.ann, genes, n, NULL, &bad, "nw"), VPAR_ERR_INVALID);
    vpar_egad_desc badfold = {-1, 0, 0, 0};
    ck_assert_int_eq(vpar_egad_plan_create(&plan, L.ann, genes, n, NULL, &badfold, "nw"), VPAR_ERR_INVALID);

    /* NaN outside all-NaN rows: error naming the network; with
       nonfinite_as_zero the same as a 0 there. */
    float *w = (float *)malloc(n * n * sizeof *w);
    memcpy(w, L.npy.data, n * n * sizeof *w);
    ck_assert_int_eq(vpar_egad_plan_create(&plan, L.ann, genes, n, NULL, NULL, "nw_nan.npy"), VPAR_OK);
    size_t u0 = vpar_egad_plan_universe_index(plan, 3), u1 = vpar_egad_plan_universe_index(plan, 9);
    if (u0 >= n || u1 >= n) ck_abort_msg("universe index out of range");
    w[u0 * n + u1] = NAN;
    vpar_egad_term_result *r = (vpar_egad_term_result *)calloc(vpar_egad_plan_nterms(plan), sizeof *r);
    ck_assert_int_eq(vpar_egad_run(plan, w, VPAR_DTYPE_F32, NULL, r, NULL, "nw_nan.npy"), VPAR_ERR_FORMAT);
    ck_assert_msg(strstr(vpar_last_error(), "nw_nan.npy") && strstr(vpar_last_error(), "NaN"), "%s",
                  vpar_last_error());
    w[u0 * n + u1] = INFINITY;
    ck_assert_int_eq(vpar_egad_run(plan, w, VPAR_DTYPE_F32, NULL, r, NULL, "nw_inf.npy"), VPAR_ERR_FORMAT);
    vpar_egad_plan_destroy(plan);
    w[u0 * n + u1] = NAN;
    vpar_egad_desc zero = {0, 0, 0, 1};
    egad_table a, b;
    ck_assert_int_eq(run_api(L.ann, genes, n, w, VPAR_DTYPE_F32, &zero, NULL, &a, NULL), VPAR_OK);
    w[u0 * n + u1] = 0.0f;
    ck_assert_int_eq(run_api(L.ann, genes, n, w, VPAR_DTYPE_F32, NULL, NULL, &b, NULL), VPAR_OK);
    egad_assert_tables(&b, &a, "nonfinite_as_zero");
    egad_table_free(&a);
    egad_table_free(&b);
    /* A NaN on the diagonal is no error: the diagonal counts as 1. */
    memcpy(w, L.npy.data, n * n * sizeof *w);
    w[u0 * n + u0] = NAN;
    ck_assert_int_eq(run_api(L.ann, genes, n, w, VPAR_DTYPE_F32, NULL, NULL, &a, NULL), VPAR_OK);
    ck_assert(egad_table_read(vpar_test_data("fixtures/egad_ties/expected.csv"), &b));
    egad_assert_tables(&b, &a, "NaN diagonal");
    egad_table_free(&a);
    egad_table_free(&b);
    /* Unsupported dtype. */
    ck_assert_int_eq(vpar_egad_plan_create(&plan, L.ann, genes, n, NULL, NULL, "nw"), VPAR_OK);
    ck_assert_int_eq(vpar_egad_run(plan, w, VPAR_DTYPE_I32, NULL, r, NULL, "nw_int.npy"), VPAR_ERR_UNSUPPORTED);
    ck_assert_int_eq(vpar_egad_find_all_nan_rows(w, VPAR_DTYPE_U8, n, (unsigned char *)r), VPAR_ERR_UNSUPPORTED);
    vpar_egad_plan_destroy(plan);
    free(r);
    free(w);
    free_case(&L);
}
END_TEST

/* The CSV writer: NaN as `NaN`, 17 significant digits, round trip. */
START_TEST(test_write_csv) {
    loaded L;
    load_case("egad_small", &L);
    unsigned char *drop = (unsigned char *)calloc(L.n, 1);
    vpar_egad_find_all_nan_rows(L.npy.data, L.npy.dtype, L.n, drop);
    size_t ndrop = 0;
    for (size_t i = 0; i < L.n; i++) ndrop += drop[i];
    ck_assert_uint_eq(ndrop, 2); /* the fixture has 2 all-NaN genes */
    vpar_egad_plan *plan;
    ck_assert_int_eq(vpar_egad_plan_create(&plan, L.ann, (const char *const *)L.genes, L.n, drop, NULL, "s"), VPAR_OK);
    vpar_egad_term_result *r = (vpar_egad_term_result *)calloc(vpar_egad_plan_nterms(plan), sizeof *r);
    ck_assert_int_eq(vpar_egad_run(plan, L.npy.data, L.npy.dtype, NULL, r, NULL, "s"), VPAR_OK);
    char *dir = egad_tmpdir();
    ck_assert_int_eq(vpar_egad_write_csv(egad_path(dir, "s.csv"), plan, r), VPAR_OK);
    egad_table got, want;
    ck_assert(egad_table_read(egad_path(dir, "s.csv"), &got));
    ck_assert(egad_table_read(vpar_test_data("fixtures/egad_small/expected.csv"), &want));
    egad_assert_tables(&want, &got, "csv");
    for (size_t t = 0; t < got.n; t++)
        for (int k = 0; k < 4; k++) {
            double v = k == 0 ? r[t].auc : k == 1 ? r[t].avg_node_degree : k == 2 ? r[t].degree_null_auc : r[t].p_value;
            ck_assert((isnan(v) && isnan(got.v[t][k])) || v == got.v[t][k]); /* exact round trip */
        }
    ck_assert_int_eq(vpar_egad_write_csv(egad_path(dir, "no/such/dir.csv"), plan, r), VPAR_ERR_IO);
    egad_table_free(&got);
    egad_table_free(&want);
    egad_rmtree(dir);
    free(dir);
    free(r);
    free(drop);
    vpar_egad_plan_destroy(plan);
    free_case(&L);
}
END_TEST

/* ---- the held-out count through a bucket table (kernels.c) -------------- */

/* The definition: sum over candidates of 2 x (thresholds above) + (equal). */
static long long count_brute(const double *v, size_t len, const double *h, size_t k) {
    long long c = 0;
    for (size_t i = 0; i < len; i++)
        for (size_t q = 0; q < k; q++) c += 2 * (h[q] > v[i]) + (h[q] == v[i]);
    return c;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every SIMD path this CPU runs (scalar, and AVX2 / AVX-512 on x86-64: the
   table's vector loop) against the definition, on thresholds that crowd
   buckets (ties, a dense cluster, more thresholds than buckets), span
   hundreds of binades, and candidates equal to thresholds, below, above,
   NaN, infinite and the -1 sentinel, at lengths that leave a tail. */
START_TEST(test_count_table) {
    static const size_t ks[] = {2, 3, 21, 64, 100, 333, 2500, 5000};
    static const vpar_simd_path paths[] = {VPAR_SIMD_SCALAR, VPAR_SIMD_AVX2, VPAR_SIMD_AVX512, VPAR_SIMD_NEON};
    vpar_simd_path keep = vpar_simd_active();
    unsigned rs = 12345;
    double *h = (double *)malloc(5000 * sizeof *h), *v = (double *)malloc(3003 * sizeof *v);
    double *hu = (double *)malloc(5000 * sizeof *hu), *hs = (double *)malloc(5000 * sizeof *hs);
    size_t tb = vpar__egad_count_table_buckets(5000);
    uint32_t *lo = (uint32_t *)malloc(tb * sizeof *lo);
    double *t = (double *)malloc(tb * sizeof *t);
    ck_assert(h && v && lo && t && hu && hs);
    int runs = 0;
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
        for (int shape = 0; shape < 4; shape++) {
            size_t k = ks[ki], len = shape == 3 ? 3003 : 1001 + (size_t)shape;
            for (size_t q = 0; q < k; q++) {
                double u = urand(&rs);
                switch (shape) {
                case 0: h[q] = 0.01 + u; break;                          /* even */
                case 1: h[q] = 0.1 * exp(8 * u * u * u); break;           /* long upper tail */
                case 2: h[q] = (double)(1 + (int)(u * 5)) / 7; break;     /* heavy ties */
                default: h[q] = pow(10.0, -300 + 600 * u); break;         /* 600 binades */
                }
            }
            if (shape == 1 && k > 3) h[1] = nextafter(h[0], INFINITY); /* adjacent doubles */
            qsort(h, k, sizeof *h, cmp_dbl);
            /* the table takes them in any order: shuffled */
            memcpy(hu, h, k * sizeof *h);
            for (size_t q = k - 1; q > 0; q--) {
                size_t r = (size_t)(urand(&rs) * (double)(q + 1)) % (q + 1);
                double x = hu[q]; hu[q] = hu[r]; hu[r] = x;
            }
            ck_assert(vpar__egad_count_table_ok(hu, k));
            for (size_t i = 0; i < len; i++) {
                double u = urand(&rs);
                size_t q = (size_t)(urand(&rs) * (double)k) % k;
                switch (i % 8) {
                case 0: v[i] = h[q]; break;                               /* a tie */
                case 1: v[i] = -1.0; break;                               /* training positive */
                case 2: v[i] = h[0] * u; break;                           /* below */
                case 3: v[i] = h[k - 1] * (1 + u); break;                 /* above */
                case 4: v[i] = i % 16 == 4 ? NAN : (i % 32 == 12 ? INFINITY : 0.0); break;
                case 5: v[i] = nextafter(h[q], i % 16 == 5 ? INFINITY : 0.0); break;
                default: v[i] = h[0] + (h[k - 1] - h[0]) * u; break;       /* inside */
                }
            }
            long long want = count_brute(v, len, h, k);
            for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
                if (!vpar_simd_available(paths[p])) continue;
                ck_assert_int_eq(vpar_simd_set_path(paths[p]), VPAR_OK);
                long long got = vpar__egad_count_table(v, len, hu, k, lo, t, hs);
                ck_assert_msg(got == want, "k %zu shape %d path %s: %lld, want %lld", k, shape,
                              vpar_simd_path_name(paths[p]), got, want);
                ck_assert_msg(memcmp(hs, h, k * sizeof *h) == 0, "k %zu shape %d: not sorted", k, shape);
                runs++;
            }
            ck_assert_int_eq(vpar__egad_count_small(v, len, h, k), want);
        }
    ck_assert_int_ge(runs, 32);
    ck_assert_int_eq(vpar_simd_set_path(keep), VPAR_OK);
    /* what the table cannot take: a score of 0 (or below), an infinite or
       NaN one (anywhere), a single threshold */
    double z[3] = {1.0, 0.0, 2.0}, inf[3] = {1.0, INFINITY, 2.0}, nan[3] = {1.0, NAN, 2.0}, one[1] = {1.0};
    ck_assert(!vpar__egad_count_table_ok(z, 3));
    double ok2[2] = {2.0, 1.0};
    ck_assert(vpar__egad_count_table_ok(ok2, 2));
    ck_assert(!vpar__egad_count_table_ok(inf, 3));
    ck_assert(!vpar__egad_count_table_ok(nan, 3));
    ck_assert(!vpar__egad_count_table_ok(one, 1));
    free(h); free(v); free(lo); free(t); free(hu); free(hs);
}
END_TEST

int main(void) {
    Suite *s = suite_create("egad");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_golden_small, 0, 3);
    tcase_add_loop_test(tc, test_golden_ties, 0, 3);
    tcase_add_loop_test(tc, test_golden_hdf5, 1, 3);
    tcase_add_loop_test(tc, test_reference_random, 0, 16);
    tcase_add_loop_test(tc, test_codes_match_reference, 0, 8);
    tcase_add_loop_test(tc, test_plan_groups, 0, 2);
    tcase_add_test(tc, test_annotations_formats);
    tcase_add_test(tc, test_annotations_random);
    tcase_add_test(tc, test_annotations_sort_paths);
    tcase_add_test(tc, test_annotations_gzip);
    tcase_add_test(tc, test_bad_annotations);
    tcase_add_test(tc, test_bad_genes_file);
    tcase_add_test(tc, test_bad_network);
    tcase_add_test(tc, test_write_csv);
    tcase_add_test(tc, test_count_table);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
