/* vpar-simnet — synthetic co-expression networks with GO-driven modules.

     vpar-simnet --annotations data/go_bp_human.tsv.gz --genes 5000 \
                 --networks 3 --seed 7 --out nets/

   Picks N annotated genes (seeded), chooses a fraction of the GO terms that
   pass EGAD's size filter as "active modules", simulates expression
   (genes x samples): every gene gets a shared latent factor per active
   module it belongs to, plus independent noise, and writes the Pearson
   correlation networks nets/nw_00.npy ... (float32 by default), the row
   labels nets/genes.txt and the annotations restricted to those genes
   nets/go.tsv. Each network draws new latent factors and noise, so the
   networks differ but share the module structure. Output is a pure
   function of the options (seed included) and does not depend on the
   thread count.

   The correlation is a GEMM (N x S times S x N): computed in blocks of the
   upper triangle, mirrored, rows in parallel on the thread pool.
*/
/* vpar.h's implementation: examples/common/vpar_impl.c (target vpar_impl) */
#include "vpar.h"
#include "egad.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- seeded RNG: examples/common's xoshiro256**, one stream per network -- */
typedef vpar_ex_rng rng;
static void rng_seed(rng *r, uint64_t seed, uint64_t stream) {
    vpar_ex_rng_seed(r, seed * 0x9e3779b97f4a7c15ull ^ (stream + 1) * 0xd1b54a32d192ed03ull);
}
static double rng_norm(rng *r) {
    /* Box-Muller, one value per call (simple and reproducible). */
    double u1 = vpar_ex_rng_unif(r), u2 = vpar_ex_rng_unif(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

typedef struct opts {
    const char *annotations, *out, *dtype;
    size_t ngenes;
    int samples, networks, threads, quiet;
    uint64_t seed;
    double module_frac, strength;
} opts;

static void usage(FILE *f) {
    fputs(
"usage: vpar-simnet --annotations FILE [options]\n"
"\n"
"Synthetic gene co-expression networks whose modules follow GO terms, for\n"
"testing and benchmarking EGAD (vpar-egad).\n"
"\n"
"  --annotations FILE  gene<TAB>term TSV (.gz ok), e.g. data/go_bp_human.tsv.gz\n"
"  --genes N           number of genes to pick (default 2000; 0 = all)\n"
"  --samples S         simulated samples per network (default 100)\n"
"  --networks K        number of networks (default 1)\n"
"  --seed X            random seed (default 1)\n"
"  --module-frac F     fraction of filtered terms (21..999 genes) that are\n"
"                      active modules (default 0.2)\n"
"  --strength A        module loading scale (default 0.6)\n"
"  --dtype f32|f64     network element type (default f32)\n"
"  --out DIR           output directory (default .): nw_00.npy ... nw_<K-1>.npy,\n"
"                      genes.txt, go.tsv (annotations of the chosen genes)\n"
"  -t, --threads N     threads (default: all CPUs)\n"
"  -q, --quiet         no progress messages\n"
"  -h, --help          this help\n"
"      --version\n", f);
}

typedef struct gemm_ctx {
    const float *x;  /* n x s, rows standardised (mean 0, norm 1) */
    size_t n, s;
    float *c32;      /* n x n outputs (one of them) */
    double *c64;
} gemm_ctx;

#define SIM_BI 4
#define SIM_BJ 64

/* Correlations of rows [i0, i0+4) with rows [j0, j0+64): 4 x 64 dots. */
static void sim_tile(const gemm_ctx *g, size_t i0, size_t ni, size_t j0, size_t nj, float out[SIM_BI][SIM_BJ]) {
    float acc[SIM_BI][SIM_BJ];
    memset(acc, 0, sizeof acc);
    const size_t S = g->s;
    for (size_t jj = 0; jj < nj; jj++) {
        const float *b = g->x + (j0 + jj) * S;
        for (size_t ii = 0; ii < ni; ii++) {
            const float *a = g->x + (i0 + ii) * S;
            float sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            size_t k = 0;
            for (; k + 8 <= S; k += 8)
                for (int l = 0; l < 8; l++) sum[l] += a[k + l] * b[k + l];
            float tot = 0;
            for (; k < S; k++) tot += a[k] * b[k];
            acc[ii][jj] = tot + ((sum[0] + sum[4]) + (sum[1] + sum[5])) + ((sum[2] + sum[6]) + (sum[3] + sum[7]));
        }
    }
    memcpy(out, acc, sizeof acc);
}

static void sim_rows(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    gemm_ctx *g = (gemm_ctx *)user;
    const size_t n = g->n;
    float tile[SIM_BI][SIM_BJ];
    for (size_t blk = begin; blk < end; blk++) {
        size_t i0 = blk * SIM_BI, ni = i0 + SIM_BI <= n ? SIM_BI : n - i0;
        /* Upper triangle (j >= i0) computed here, mirrored below the diagonal. */
        for (size_t j0 = i0; j0 < n; j0 += SIM_BJ) {
            size_t nj = j0 + SIM_BJ <= n ? SIM_BJ : n - j0;
            sim_tile(g, i0, ni, j0, nj, tile);
            for (size_t ii = 0; ii < ni; ii++)
                for (size_t jj = 0; jj < nj; jj++) {
                    size_t i = i0 + ii, j = j0 + jj;
                    if (j < i) continue;
                    float v = i == j ? 1.0f : tile[ii][jj];
                    if (g->c32) { g->c32[i * n + j] = v; g->c32[j * n + i] = v; }
                    else { g->c64[i * n + j] = v; g->c64[j * n + i] = v; }
                }
        }
    }
}

/* genes.txt and go.tsv (all pairs of the chosen genes, gene by gene),
   each written atomically. */
static int write_text(const opts *o, const char **names, size_t n, const vpar_egad_annotations *ann) {
    char path[4096];
    vpar_ex_buf b = {0};
    for (size_t i = 0; i < n; i++) vpar_ex_buf_printf(&b, "%s\n", names[i]);
    vpar_status st = vpar_ex_path(path, sizeof path, "%s/genes.txt", o->out)
                         ? vpar_ex_buf_write_atomic(path, &b)
                         : vpar_fail(VPAR_ERR_INVALID, "%s/genes.txt: path too long", o->out);
    vpar_ex_buf_free(&b);
    vpar_ex_buf_printf(&b, "gene\tterm\n");
    for (size_t i = 0; i < n && st == VPAR_OK; i++) {
        long gi = vpar_egad_annotations_find_gene(ann, names[i]);
        size_t cnt;
        const uint32_t *terms = vpar_egad_annotations_gene_terms(ann, (size_t)gi, &cnt);
        for (size_t k = 0; k < cnt; k++)
            vpar_ex_buf_printf(&b, "%s\t%s\n", names[i], vpar_egad_annotations_term(ann, terms[k]));
    }
    if (st == VPAR_OK)
        st = vpar_ex_path(path, sizeof path, "%s/go.tsv", o->out)
                 ? vpar_ex_buf_write_atomic(path, &b)
                 : vpar_fail(VPAR_ERR_INVALID, "%s/go.tsv: path too long", o->out);
    vpar_ex_buf_free(&b);
    if (st != VPAR_OK) fprintf(stderr, "vpar-simnet: %s\n", vpar_last_error());
    return st == VPAR_OK;
}

static int parse_size(const char *opt, const char *s, double lo, double hi, double *out) {
    return vpar_ex_opt_double("vpar-simnet", opt, s, lo, hi, out);
}

/* Returns 0 to go on, else the exit status + 1 (--help: 1). */
static int parse_options(int argc, char **argv, opts *o, int *f64) {
    static const struct option longs[] = {
        {"annotations", required_argument, 0, 'a'}, {"genes", required_argument, 0, 'g'},
        {"samples", required_argument, 0, 's'}, {"networks", required_argument, 0, 'k'},
        {"seed", required_argument, 0, 'S'}, {"module-frac", required_argument, 0, 'm'},
        {"strength", required_argument, 0, 'A'}, {"dtype", required_argument, 0, 'd'},
        {"out", required_argument, 0, 'o'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    int c;
    double v;
    while ((c = vpar_ex_getopt("vpar-simnet", argc, argv, "t:qh", longs)) != -1) {
        switch (c) {
        case 'a': o->annotations = optarg; break;
        case 'g': if (!parse_size("--genes", optarg, 0, 1e9, &v)) return 3; o->ngenes = (size_t)v; break;
        case 's': if (!parse_size("--samples", optarg, 3, 1e6, &v)) return 3; o->samples = (int)v; break;
        case 'k': if (!parse_size("--networks", optarg, 1, 100000, &v)) return 3; o->networks = (int)v; break;
        case 'S': if (!parse_size("--seed", optarg, 0, 1e18, &v)) return 3; o->seed = (uint64_t)v; break;
        case 'm': if (!parse_size("--module-frac", optarg, 0, 1, &o->module_frac)) return 3; break;
        case 'A': if (!parse_size("--strength", optarg, 0, 100, &o->strength)) return 3; break;
        case 'd': o->dtype = optarg; break;
        case 'o': o->out = optarg; break;
        case 't': if (!parse_size("--threads", optarg, 1, 4096, &v)) return 3; o->threads = (int)v; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 1;
        case 'V': vpar_ex_print_version("vpar-simnet"); return 1;
        default: return 3; /* printed by vpar_ex_getopt */
        }
    }
    if (!o->annotations) { fputs("vpar-simnet: --annotations FILE is required (try --help)\n", stderr); return 3; }
    if (optind < argc) { fprintf(stderr, "vpar-simnet: unexpected argument '%s' (try --help)\n", argv[optind]); return 3; }
    if (!vpar_ex_check_threads_env("vpar-simnet", "-t")) return 3;
    if (o->threads) {
        char what[32];
        snprintf(what, sizeof what, "-t %d", o->threads);
        vpar_ex_warn_threads("vpar-simnet", what, o->threads);
    }
    *f64 = 0;
    if (strcmp(o->dtype, "f64") == 0 || strcmp(o->dtype, "float64") == 0) *f64 = 1;
    else if (strcmp(o->dtype, "f32") != 0 && strcmp(o->dtype, "float32") != 0) {
        fprintf(stderr, "vpar-simnet: --dtype: expected f32 or f64, got '%s'\n", o->dtype);
        return 3;
    }
    return 0;
}

/* The simulation: chosen genes, the EGAD plan of their terms, the active
   modules, and the buffers of one network. */
typedef struct sim {
    const opts *o;
    int f64;
    vpar_egad_annotations *ann;
    size_t n, S, nterms;
    const char **names;        /* n chosen genes, annotation order */
    vpar_egad_plan *plan;      /* terms passing EGAD's default filter */
    double *load;              /* nterms: module loading, 0 = inactive */
    double *gscale;            /* n: 1/sqrt(active modules of the gene) */
    double *z, *xd;            /* nterms x S latent factors, n x S expression */
    float *x;                  /* n x S standardised rows */
    void *net;                 /* n x n output */
    vpar_ex_rng r;
} sim;

/* Seeded choice of n genes (partial Fisher-Yates on stream 0), kept in
   annotation order; then their plan. */
static int sim_genes(sim *m) {
    size_t total = vpar_egad_annotations_ngenes(m->ann);
    m->n = m->o->ngenes == 0 || m->o->ngenes > total ? total : m->o->ngenes;
    if (m->o->ngenes > total) fprintf(stderr, "vpar-simnet: only %zu annotated genes; using all\n", total);
    rng_seed(&m->r, m->o->seed, 0);
    size_t *perm = (size_t *)malloc(total * sizeof *perm);
    unsigned char *chosen = (unsigned char *)calloc(total, 1);
    m->names = (const char **)malloc(m->n * sizeof *m->names);
    int ok = perm && chosen && m->names;
    if (!ok) fputs("vpar-simnet: out of memory\n", stderr);
    for (size_t i = 0; ok && i < total; i++) perm[i] = i;
    for (size_t i = 0; ok && i < m->n; i++) {
        size_t j = i + (size_t)(vpar_ex_rng_unif(&m->r) * (double)(total - i));
        if (j >= total) j = total - 1;
        size_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
        chosen[perm[i]] = 1;
    }
    for (size_t i = 0, k = 0; ok && i < total; i++)
        if (chosen[i]) m->names[k++] = vpar_egad_annotations_gene(m->ann, i);
    free(perm);
    free(chosen);
    if (ok && vpar_egad_plan_create(&m->plan, m->ann, m->names, m->n, NULL, NULL, m->o->annotations) != VPAR_OK) {
        fprintf(stderr, "vpar-simnet: %s\n", vpar_last_error());
        ok = 0;
    }
    return ok;
}

/* Active modules and their loadings (chosen once, shared by all
   networks); each gene's loadings are scaled by 1/sqrt(its active
   modules) so that genes in many (nested) GO terms do not get an ever
   larger signal. Allocates the per-network buffers. */
static int sim_modules(sim *m) {
    const size_t n = m->n, S = m->S, nterms = m->nterms = vpar_egad_plan_nterms(m->plan);
    m->load = (double *)calloc(nterms, sizeof *m->load);
    m->z = (double *)malloc(nterms * S * sizeof *m->z);
    m->x = (float *)malloc(n * S * sizeof *m->x);
    size_t nbytes = n * n * (m->f64 ? sizeof(double) : sizeof(float));
    m->net = malloc(nbytes ? nbytes : 1);
    m->gscale = (double *)calloc(n, sizeof *m->gscale);
    m->xd = (double *)malloc(n * S * sizeof *m->xd);
    if (!m->load || !m->z || !m->x || !m->net || !m->gscale || !m->xd) {
        fputs("vpar-simnet: out of memory\n", stderr);
        return 0;
    }
    size_t active = 0;
    for (size_t t = 0; t < nterms; t++)
        if (vpar_ex_rng_unif(&m->r) < m->o->module_frac) {
            m->load[t] = m->o->strength * (0.5 + vpar_ex_rng_unif(&m->r));
            active++;
        }
    for (size_t t = 0; t < nterms; t++) {
        if (m->load[t] == 0) continue;
        size_t cnt;
        const uint32_t *mem = vpar_egad_plan_term_members(m->plan, t, &cnt);
        for (size_t i = 0; i < cnt; i++) m->gscale[mem[i]] += 1;
    }
    for (size_t g = 0; g < n; g++) m->gscale[g] = m->gscale[g] > 0 ? 1.0 / sqrt(m->gscale[g]) : 0;
    if (!m->o->quiet)
        fprintf(stderr, "vpar-simnet: %zu genes, %zu samples, %zu filtered terms, %zu active modules\n",
                n, S, nterms, active);
    return 1;
}

/* Expression of network k (stream k + 1): latent factors of the active
   modules, noise, loadings; rows standardised (correlation = dot product
   of unit vectors) into x. */
static void sim_expression(sim *m, int k) {
    const size_t n = m->n, S = m->S, nterms = m->nterms;
    rng_seed(&m->r, m->o->seed, (uint64_t)k + 1);
    for (size_t i = 0; i < nterms * S; i++) m->z[i] = m->load[i / S] != 0 ? rng_norm(&m->r) : 0.0;
    for (size_t i = 0; i < n * S; i++) m->xd[i] = rng_norm(&m->r);
    for (size_t t = 0; t < nterms; t++) {
        if (m->load[t] == 0) continue;
        size_t cnt;
        const uint32_t *mem = vpar_egad_plan_term_members(m->plan, t, &cnt);
        for (size_t i = 0; i < cnt; i++) {
            double *row = m->xd + (size_t)mem[i] * S, a = m->load[t] * m->gscale[mem[i]];
            const double *zt = m->z + t * S;
            for (size_t s = 0; s < S; s++) row[s] += a * zt[s];
        }
    }
    for (size_t i = 0; i < n; i++) {
        double *row = m->xd + i * S, mean = 0, ss = 0;
        for (size_t s = 0; s < S; s++) mean += row[s];
        mean /= (double)S;
        for (size_t s = 0; s < S; s++) ss += (row[s] - mean) * (row[s] - mean);
        double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
        for (size_t s = 0; s < S; s++) m->x[i * S + s] = (float)((row[s] - mean) * inv);
    }
}

/* Every network: expression, correlations on the pool, nw_XX.npy. */
static int sim_networks(sim *m) {
    vpar_pool *pool = NULL;
    vpar_pool_desc pd = {m->o->threads, 0};
    if (vpar_pool_create(&pool, &pd) != VPAR_OK) {
        fprintf(stderr, "vpar-simnet: %s\n", vpar_last_error());
        return 0;
    }
    gemm_ctx g = {m->x, m->n, m->S, m->f64 ? NULL : (float *)m->net, m->f64 ? (double *)m->net : NULL};
    int ok = 1;
    for (int k = 0; k < m->o->networks && ok; k++) {
        sim_expression(m, k);
        size_t nblk = (m->n + SIM_BI - 1) / SIM_BI;
        char path[4096];
        snprintf(path, sizeof path, "%s/nw_%02d.npy", m->o->out, k);
        size_t shape[2] = {m->n, m->n};
        ok = vpar_parallel_for(pool, 0, nblk, 1, sim_rows, &g) == VPAR_OK &&
             vpar_npy_write(path, m->net, m->f64 ? VPAR_DTYPE_F64 : VPAR_DTYPE_F32, 2, shape) == VPAR_OK;
        if (!ok) fprintf(stderr, "vpar-simnet: %s\n", vpar_last_error());
        else if (!m->o->quiet) fprintf(stderr, "vpar-simnet: wrote %s\n", path);
    }
    vpar_pool_destroy(pool);
    return ok;
}

int main(int argc, char **argv) {
    if (vpar_simd_init() != VPAR_OK) { /* $VPAR_SIMD names no usable path */
        fprintf(stderr, "%s: %s\n", "vpar-simnet", vpar_last_error());
        return 2;
    }
    opts o = {NULL, ".", "f32", 2000, 100, 1, 0, 0, 1, 0.2, 0.6};
    sim m;
    memset(&m, 0, sizeof m);
    m.o = &o;
    int rc = parse_options(argc, argv, &o, &m.f64);
    if (rc) return rc - 1;
    if (vpar_ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "vpar-simnet: --out %s: %s\n", o.out, strerror(errno));
        return 2;
    }
    if (vpar_egad_annotations_load(&m.ann, o.annotations, NULL) != VPAR_OK) {
        fprintf(stderr, "vpar-simnet: %s\n", vpar_last_error());
        return 2;
    }
    m.S = (size_t)o.samples;
    int ok = sim_genes(&m) && sim_modules(&m) && sim_networks(&m) && write_text(&o, m.names, m.n, m.ann);
    vpar_egad_plan_destroy(m.plan);
    vpar_egad_annotations_destroy(m.ann);
    free(m.names);
    free(m.x);
    free(m.net);
    free(m.z);
    free(m.xd);
    free(m.gscale);
    free(m.load);
    return ok ? 0 : 2;
}
