/* vpar-egad — EGAD neighbor voting of GO terms over many co-expression
   networks (see docs/egad.md).

     vpar-egad --annotations go.tsv --genes genes.txt nw_00.npy nw_01.npy ...

   Annotations are loaded once, before any worker starts; networks run in
   parallel on the process pool (-j), terms of one network on the thread
   pool (-t); each worker puts its network's summary into the pool's
   shared-memory result map, so a network that fails or whose worker dies
   is reported while the others complete.

   Test hook (documented in docs/egad.md): VPAR_EGAD_TEST_CRASH=NAME[:SIG]
   makes the worker that processes network NAME (file name without
   extension) die by signal SIG (KILL or SEGV, default KILL) before it
   computes anything. The test suite uses it to prove crash isolation.
*/
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "egad.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct options {
    const char *annotations, *genes, *out, *nw_key, *go_key;
    int jobs, threads, quiet;
    vpar_egad_annot_desc adesc;
    vpar_egad_desc desc;
    char **networks;
    int nnet;
} options;

/* What one network's worker reports back (fixed size: it lives in the
   shared result map). */
typedef struct net_result {
    int status;        /* 0 ok, else a vpar_status */
    int nterms;
    double mean_auc;
    double seconds;
    char message[480];
} net_result;

static void usage(FILE *f) {
    fputs(
"usage: vpar-egad --annotations FILE [--genes FILE] [options] NETWORK...\n"
"\n"
"EGAD neighbor voting: for every GO term, how well a co-expression network\n"
"predicts its genes (3-fold cross-validated AUROC), for one or many networks.\n"
"\n"
"inputs\n"
"  --annotations FILE  gene<TAB>term TSV (header optional, .gz ok), or a pandas\n"
"                      HDF5 file (.h5/.hdf5) with a dense genes x terms frame\n"
"  --genes FILE        gene IDs, one per line: the rows/columns of every .npy\n"
"                      network (needed for .npy, not for HDF5 networks)\n"
"  NETWORK...          N x N .npy (float32/float64), or pandas HDF5 frames\n"
"  --gaf               annotation columns as in GAF (gene col 2, term col 5)\n"
"  --gene-col N        1-based column of gene IDs (default 1)\n"
"  --term-col N        1-based column of terms (default 2)\n"
"  --header | --no-header   the annotation file has / has no header line\n"
"                      (default: detected from the first line)\n"
"  --nw-key KEY        HDF5 key of networks (default nw)\n"
"  --go-key KEY        HDF5 key of the annotation frame (default go)\n"
"\n"
"EGAD parameters\n"
"  --nfold N           cross-validation folds (default 3)\n"
"  --min N             keep terms with more than N genes (default 20)\n"
"  --max N             keep terms with fewer than N genes (default 1000)\n"
"  --nonfinite-as-zero treat NaN/inf outside all-NaN rows as 0 (default: error)\n"
"\n"
"output and parallelism\n"
"  --out DIR           write DIR/<network>.csv and DIR/summary.csv (default .)\n"
"  -j, --jobs N        networks in parallel, one worker process each (default 1)\n"
"  -t, --threads N     threads per network (default: CPUs / jobs)\n"
"  -q, --quiet         no progress line\n"
"  -h, --help          this help\n"
"\n"
"Per-network CSV columns: term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value.\n"
"summary.csv: network,status,terms,mean_auc,seconds (status ok|error|crashed).\n"
"Exit status: 0 all networks ok, 1 some network failed, 2 bad usage or input\n"
"shared by all networks (annotations, genes file, output directory).\n", f);
}

#define PROG "vpar-egad"

static int parse_int(const char *opt, const char *s, int lo, int *out) {
    return vpar_ex_opt_int(PROG, opt, s, lo, INT_MAX, out);
}

/* Network name: file name without directory and extension. */
static void network_name(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", vpar_ex_basename(path));
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

/* Shared, read-only after fork. */
typedef struct shared_in {
    const options *opt;
    vpar_egad_annotations *ann;
    char **genes;
    size_t ngenes;
} shared_in;

static void test_crash_hook(const char *name) {
    const char *h = getenv("VPAR_EGAD_TEST_CRASH");
    if (!h || !*h) return;
    char want[256];
    snprintf(want, sizeof want, "%s", h);
    int sig = SIGKILL;
    char *colon = strchr(want, ':');
    if (colon) {
        *colon = '\0';
        if (strcmp(colon + 1, "SEGV") == 0) sig = SIGSEGV;
    }
    if (strcmp(want, name) == 0) {
        fflush(NULL);
        if (sig == SIGSEGV) signal(SIGSEGV, SIG_DFL);
        raise(sig);
    }
}

/* Loads, runs and writes one network; fills *r. */
static void run_network(const shared_in *in, int idx, vpar_pool *pool, net_result *r) {
    const options *o = in->opt;
    const char *path = o->networks[idx];
    char name[256];
    network_name(path, name, sizeof name);
    memset(r, 0, sizeof *r);
    r->mean_auc = NAN;
    double t0 = vpar_ex_now();
    test_crash_hook(name);

    vpar_npy npy;
    memset(&npy, 0, sizeof npy);
    void *owned = NULL;
    char **h5rows = NULL, **h5cols = NULL;
    const void *w = NULL;
    vpar_dtype dt = VPAR_DTYPE_F64;
    size_t n = 0;
    const char *const *genes = NULL;
    unsigned char *drop = NULL;
    vpar_egad_plan *plan = NULL;
    vpar_egad_term_result *res = NULL;
    vpar_status st = VPAR_OK;

    if (vpar_ex_is_hdf5_name(path)) {
        size_t rows = 0, cols = 0;
        st = vpar_egad_hdf5_read_frame(path, o->nw_key, &owned, &dt, &rows, &cols, &h5rows, &h5cols);
        if (st != VPAR_OK) goto out;
        if (rows != cols) {
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: network is %zu x %zu, not square", path, rows, cols);
            goto out;
        }
        if (dt != VPAR_DTYPE_F32 && dt != VPAR_DTYPE_F64) {
            st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: network values must be float32 or float64", path);
            goto out;
        }
        for (size_t i = 0; i < rows; i++)
            if (strcmp(h5rows[i], h5cols[i]) != 0) {
                st = vpar_fail(VPAR_ERR_FORMAT, "%s: row and column labels differ at %zu ('%s' vs '%s')",
                               path, i, h5rows[i], h5cols[i]);
                goto out;
            }
        w = owned;
        n = rows;
        genes = (const char *const *)h5rows;
    } else {
        if (!in->genes) {
            st = vpar_fail(VPAR_ERR_INVALID, "%s: .npy networks need --genes FILE", path);
            goto out;
        }
        st = vpar_npy_open(&npy, path, 0);
        if (st != VPAR_OK) goto out;
        if (npy.ndim != 2 || npy.shape[0] != npy.shape[1]) {
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: network is %zu x %zu, not square", path,
                           npy.shape[0], npy.ndim == 2 ? npy.shape[1] : (size_t)1);
            goto out;
        }
        if (npy.dtype != VPAR_DTYPE_F32 && npy.dtype != VPAR_DTYPE_F64) {
            st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: network dtype %s; EGAD needs float32 or float64",
                           path, vpar_dtype_descr(npy.dtype));
            goto out;
        }
        if (npy.shape[0] != in->ngenes) {
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: network has %zu rows but %s lists %zu genes", path,
                           npy.shape[0], o->genes, in->ngenes);
            goto out;
        }
        w = npy.data;
        dt = npy.dtype;
        n = npy.shape[0];
        genes = (const char *const *)in->genes;
    }
    drop = (unsigned char *)calloc(n ? n : 1, 1);
    if (!drop) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    st = vpar_egad_find_all_nan_rows(w, dt, n, drop);
    if (st != VPAR_OK) goto out;
    st = vpar_egad_plan_create(&plan, in->ann, genes, n, drop, &o->desc, path);
    if (st != VPAR_OK) goto out;
    res = (vpar_egad_term_result *)calloc(vpar_egad_plan_nterms(plan), sizeof *res);
    if (!res) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    st = vpar_egad_run(plan, w, dt, pool, res, &r->mean_auc, path);
    if (st != VPAR_OK) goto out;
    {
        char csv[4096];
        if (!vpar_ex_path(csv, sizeof csv, "%s/%s.csv", o->out, name))
            st = vpar_fail(VPAR_ERR_INVALID, "%s/%s.csv: path too long", o->out, name);
        else
            st = vpar_egad_write_csv(csv, plan, res);
        if (st != VPAR_OK) goto out;
    }
    r->nterms = (int)vpar_egad_plan_nterms(plan);
out:
    r->status = (int)st;
    if (st != VPAR_OK) {
        snprintf(r->message, sizeof r->message, "%.479s", vpar_last_error());
        r->mean_auc = NAN;
    }
    r->seconds = vpar_ex_now() - t0;
    free(res);
    vpar_egad_plan_destroy(plan);
    free(drop);
    vpar_npy_close(&npy);
    free(owned);
    free(h5rows);
    free(h5cols);
}

/* State shared by the parent and (copy-on-write) the workers. */
typedef struct run_state {
    const shared_in *in;
    vpar_shmap *map;       /* index -> net_result, written by workers */
    int threads;           /* per worker; 0 = vpar default */
    int tty, total, done;
    int *crashed;          /* parent only */
    int *crash_code;       /* parent only: signal (> 0) or -exit status */
} run_state;

/* The thread pool of this worker process (created after the fork). */
static vpar_pool *worker_pool;

static int worker_init(void *user, int worker) {
    (void)worker;
    run_state *rs = (run_state *)user;
    vpar_pool_desc d = {rs->threads, 0};
    if (vpar_pool_create(&worker_pool, &d) != VPAR_OK) return (int)VPAR_ERR_SYSTEM;
    return 0;
}

static int worker_task(void *user, size_t index, void *result) {
    (void)result;
    run_state *rs = (run_state *)user;
    net_result r;
    run_network(rs->in, (int)index, worker_pool, &r);
    char key[32];
    snprintf(key, sizeof key, "%zu", index);
    if (vpar_shmap_put(rs->map, key, &r, sizeof r) != VPAR_OK) return (int)VPAR_ERR_FULL;
    return 0;
}

/* Parent: progress, and which tasks died without a record. */
static int on_done(void *user, size_t index, const void *result, const vpar_procpool_status *st) {
    (void)result;
    run_state *rs = (run_state *)user;
    rs->done++;
    if (st->state == VPAR_TASK_SIGNAL || st->state == VPAR_TASK_TIMEOUT) {
        rs->crashed[index] = 1;
        rs->crash_code[index] = st->code;
    } else if (st->state == VPAR_TASK_EXIT) {
        rs->crashed[index] = 1;
        rs->crash_code[index] = -st->code;
    } else if (st->state == VPAR_TASK_NOT_RUN) {
        rs->crashed[index] = 1;
    }
    if (rs->tty) {
        char name[256];
        network_name(rs->in->opt->networks[index], name, sizeof name);
        vpar_ex_status_line(2, "vpar-egad: %d/%d networks done (last: %s)", rs->done, rs->total, name);
    }
    return 0;
}

static int write_summary(const options *o, const net_result *rs, const int *crashed) {
    char path[4096];
    if (!vpar_ex_path(path, sizeof path, "%s/summary.csv", o->out)) {
        fprintf(stderr, "vpar-egad: --out %s: path too long\n", o->out);
        return 0;
    }
    vpar_ex_buf b = {0};
    vpar_ex_buf_printf(&b, "network,status,terms,mean_auc,seconds\n");
    for (int i = 0; i < o->nnet; i++) {
        char name[256];
        network_name(o->networks[i], name, sizeof name);
        const net_result *r = &rs[i];
        const char *status = crashed[i] ? "crashed" : r->status ? "error" : "ok";
        vpar_ex_buf_printf(&b, "%s,%s,%d,", name, status, r->nterms);
        vpar_ex_buf_num(&b, r->mean_auc);
        vpar_ex_buf_printf(&b, ",%.3f\n", r->seconds);
    }
    /* One atomic write: never a partial summary. */
    vpar_status st = vpar_ex_buf_write_atomic(path, &b);
    vpar_ex_buf_free(&b);
    if (st != VPAR_OK) {
        fprintf(stderr, "vpar-egad: %s\n", vpar_last_error());
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    options o;
    memset(&o, 0, sizeof o);
    o.out = ".";
    o.nw_key = "nw";
    o.go_key = "go";
    o.jobs = 1;
    enum { O_ANN = 256, O_GENES, O_OUT, O_NFOLD, O_MIN, O_MAX, O_GAF, O_GCOL, O_TCOL,
           O_HDR, O_NOHDR, O_NWKEY, O_GOKEY, O_NONFIN };
    static const struct option longs[] = {
        {"annotations", required_argument, 0, O_ANN}, {"genes", required_argument, 0, O_GENES},
        {"out", required_argument, 0, O_OUT}, {"nfold", required_argument, 0, O_NFOLD},
        {"min", required_argument, 0, O_MIN}, {"max", required_argument, 0, O_MAX},
        {"gaf", no_argument, 0, O_GAF}, {"gene-col", required_argument, 0, O_GCOL},
        {"term-col", required_argument, 0, O_TCOL}, {"header", no_argument, 0, O_HDR},
        {"no-header", no_argument, 0, O_NOHDR}, {"nw-key", required_argument, 0, O_NWKEY},
        {"go-key", required_argument, 0, O_GOKEY}, {"nonfinite-as-zero", no_argument, 0, O_NONFIN},
        {"jobs", required_argument, 0, 'j'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int gcol = 1, tcol = 2, c;
    while ((c = getopt_long(argc, argv, "j:t:qh", longs, NULL)) != -1) {
        switch (c) {
        case O_ANN: o.annotations = optarg; break;
        case O_GENES: o.genes = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_NFOLD: if (!parse_int("--nfold", optarg, 1, &o.desc.nfold)) return 2; break;
        case O_MIN: if (!parse_int("--min", optarg, 1, &o.desc.min_genes)) return 2; break;
        case O_MAX: if (!parse_int("--max", optarg, 1, &o.desc.max_genes)) return 2; break;
        case O_GAF: gcol = 2; tcol = 5; break;
        case O_GCOL: if (!parse_int("--gene-col", optarg, 1, &gcol)) return 2; break;
        case O_TCOL: if (!parse_int("--term-col", optarg, 1, &tcol)) return 2; break;
        case O_HDR: o.adesc.header = 1; break;
        case O_NOHDR: o.adesc.header = -1; break;
        case O_NWKEY: o.nw_key = optarg; break;
        case O_GOKEY: o.go_key = optarg; break;
        case O_NONFIN: o.desc.nonfinite_as_zero = 1; break;
        case 'j': if (!parse_int("--jobs", optarg, 1, &o.jobs)) return 2; break;
        case 't': if (!parse_int("--threads", optarg, 1, &o.threads)) return 2; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: fputs("Try 'vpar-egad --help'.\n", stderr); return 2;
        }
    }
    if (!o.annotations) {
        fputs("vpar-egad: --annotations FILE is required (try --help)\n", stderr);
        return 2;
    }
    if (optind >= argc) {
        fputs("vpar-egad: no network given (try --help)\n", stderr);
        return 2;
    }
    if (gcol == tcol) {
        fputs("vpar-egad: --gene-col and --term-col must differ\n", stderr);
        return 2;
    }
    o.adesc.gene_col = gcol - 1;
    o.adesc.term_col = tcol - 1;
    o.networks = argv + optind;
    o.nnet = argc - optind;
    if (o.desc.max_genes && o.desc.max_genes <= (o.desc.min_genes ? o.desc.min_genes : 20) + 1) {
        fprintf(stderr, "vpar-egad: --min %d --max %d keeps no term (kept: min < genes < max)\n",
                o.desc.min_genes ? o.desc.min_genes : 20, o.desc.max_genes);
        return 2;
    }
    if (vpar_ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "vpar-egad: --out %s: cannot create directory: %s\n", o.out, strerror(errno));
        return 2;
    }

    shared_in in;
    memset(&in, 0, sizeof in);
    in.opt = &o;
    vpar_status st = vpar_ex_is_hdf5_name(o.annotations)
                         ? vpar_egad_annotations_load_hdf5(&in.ann, o.annotations, o.go_key)
                         : vpar_egad_annotations_load(&in.ann, o.annotations, &o.adesc);
    if (st != VPAR_OK) {
        fprintf(stderr, "vpar-egad: %s\n", vpar_last_error());
        return 2;
    }
    if (o.genes) {
        st = vpar_egad_read_genes(o.genes, &in.genes, &in.ngenes);
        if (st != VPAR_OK) {
            fprintf(stderr, "vpar-egad: %s\n", vpar_last_error());
            vpar_egad_annotations_destroy(in.ann);
            return 2;
        }
    }

    net_result *rs = (net_result *)calloc((size_t)o.nnet, sizeof *rs);
    int *crashed = (int *)calloc((size_t)o.nnet, sizeof *crashed);
    if (!rs || !crashed) {
        fputs("vpar-egad: out of memory\n", stderr);
        return 2;
    }
    /* Output names must be distinct: DIR/<name>.csv per network. */
    for (int i = 0; i < o.nnet; i++)
        for (int j = 0; j < i; j++) {
            char a[256], b[256];
            network_name(o.networks[i], a, sizeof a);
            network_name(o.networks[j], b, sizeof b);
            if (strcmp(a, b) == 0) {
                fprintf(stderr, "vpar-egad: %s and %s would both write %s/%s.csv; rename one\n",
                        o.networks[j], o.networks[i], o.out, a);
                return 2;
            }
        }

    /* Shared-memory result map (created before the workers are forked, so
       they inherit it), then the process pool. */
    run_state rsd;
    memset(&rsd, 0, sizeof rsd);
    rsd.in = &in;
    rsd.tty = !o.quiet && isatty(2);
    rsd.total = o.nnet;
    rsd.crashed = crashed;
    rsd.crash_code = (int *)calloc((size_t)o.nnet, sizeof(int));
    rsd.threads = o.threads;
    if (rsd.threads == 0 && !getenv("VPAR_NUM_THREADS")) {
        rsd.threads = vpar_ex_cpu_count() / o.jobs;
        if (rsd.threads < 1) rsd.threads = 1;
    }
    vpar_shmap_desc md;
    memset(&md, 0, sizeof md);
    md.capacity = (size_t)o.nnet;
    md.key_max = 31;
    md.value_size = sizeof(net_result);
    vpar_procpool *pp = NULL;
    int jobs = o.jobs < o.nnet ? o.jobs : o.nnet;
    vpar_procpool_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.workers = jobs;
    pd.chunk = 1; /* networks take seconds each: hand them out one by one */
    pd.init = worker_init;
    pd.init_user = &rsd;
    if (!rsd.crash_code || vpar_shmap_create(&rsd.map, &md) != VPAR_OK ||
        vpar_procpool_create(&pp, &pd) != VPAR_OK) {
        fprintf(stderr, "vpar-egad: %s\n", rsd.crash_code ? vpar_last_error() : "out of memory");
        vpar_shmap_destroy(rsd.map);
        return 2;
    }
    vpar_status mst = vpar_procpool_map_unordered(pp, (size_t)o.nnet, worker_task, &rsd, 0, on_done, &rsd);
    if (rsd.tty) fputc('\n', stderr);
    vpar_procpool_destroy(pp);
    if (mst == VPAR_ERR_INTERRUPTED) fprintf(stderr, "vpar-egad: interrupted\n");

    int failed = 0;
    for (int i = 0; i < o.nnet; i++) {
        char key[32];
        snprintf(key, sizeof key, "%d", i);
        if (!crashed[i] && vpar_shmap_get(rsd.map, key, &rs[i], sizeof rs[i]) != VPAR_OK) {
            crashed[i] = 1; /* no record: the worker died before writing one */
        }
        if (crashed[i]) {
            rs[i].mean_auc = NAN;
            rs[i].nterms = 0;
            rs[i].status = VPAR_ERR_CRASHED;
        }
        if (crashed[i] || rs[i].status) {
            failed++;
            char why[96];
            if (!crashed[i]) snprintf(why, sizeof why, "failed");
            else if (rsd.crash_code[i] > 0) snprintf(why, sizeof why, "worker died (%s)", strsignal(rsd.crash_code[i]));
            else if (rsd.crash_code[i] < 0) snprintf(why, sizeof why, "worker exited with status %d", -rsd.crash_code[i]);
            else snprintf(why, sizeof why, "not run");
            fprintf(stderr, "vpar-egad: %s: %s\n", o.networks[i], crashed[i] ? why : rs[i].message);
        }
    }
    vpar_shmap_destroy(rsd.map);
    free(rsd.crash_code);
    int ok = write_summary(&o, rs, crashed);
    free(rs);
    free(crashed);
    free(in.genes);
    vpar_egad_annotations_destroy(in.ann);
    if (!ok) return 2;
    return failed ? 1 : 0;
}
