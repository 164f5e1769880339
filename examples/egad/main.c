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
#include "egad_cli.h"

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
    vpar_egad_cli egad;        /* the options shared with vpar-aggregate */
    const char *out;
    int jobs, threads, quiet;
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

#define PROG "vpar-egad"

static void usage(FILE *f) {
    fputs(
"usage: vpar-egad --annotations FILE [--genes FILE] [options] NETWORK...\n"
"\n"
"EGAD neighbor voting: for every GO term, how well a co-expression network\n"
"predicts its genes (3-fold cross-validated AUROC), for one or many networks.\n"
"\n"
"  NETWORK...          N x N .npy (float32/float64), or pandas HDF5 frames\n"
"  --nonfinite-as-zero treat NaN/inf outside all-NaN rows as 0 (default: error)\n"
"\n", f);
    fputs(vpar_egad_cli_usage, f);
    fputs(
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

/* Opens, plans, runs and writes one network. */
static vpar_status egad_one(const shared_in *in, const char *path, const char *name,
                            vpar_pool *pool, net_result *r) {
    const options *o = in->opt;
    vpar_egad_network net;
    unsigned char *drop = NULL;
    vpar_egad_plan *plan = NULL;
    vpar_egad_term_result *res = NULL;
    /* HDF5 networks carry their labels; --genes is for .npy ones. */
    const char *const *genes = vpar_ex_is_hdf5_name(path) ? NULL : (const char *const *)in->genes;
    vpar_status st = vpar_egad_network_open(&net, path, o->egad.nw_key, genes, in->ngenes);
    if (st == VPAR_OK) {
        drop = (unsigned char *)calloc(net.n ? net.n : 1, 1);
        if (!drop) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == VPAR_OK) st = vpar_egad_find_all_nan_rows(net.w, net.dtype, net.n, drop);
    if (st == VPAR_OK) st = vpar_egad_plan_create(&plan, in->ann, net.genes, net.n, drop, &o->egad.desc, path);
    if (st == VPAR_OK) {
        res = (vpar_egad_term_result *)calloc(vpar_egad_plan_nterms(plan), sizeof *res);
        if (!res) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == VPAR_OK) st = vpar_egad_run(plan, net.w, net.dtype, pool, res, &r->mean_auc, path);
    char csv[4096];
    if (st == VPAR_OK && !vpar_ex_path(csv, sizeof csv, "%s/%s.csv", o->out, name))
        st = vpar_fail(VPAR_ERR_INVALID, "%s/%s.csv: path too long", o->out, name);
    if (st == VPAR_OK) st = vpar_egad_write_csv(csv, plan, res);
    if (st == VPAR_OK) r->nterms = (int)vpar_egad_plan_nterms(plan);
    free(res);
    vpar_egad_plan_destroy(plan);
    free(drop);
    vpar_egad_network_close(&net);
    return st;
}

/* Loads, runs and writes one network; fills *r. */
static void run_network(const shared_in *in, int idx, vpar_pool *pool, net_result *r) {
    const char *path = in->opt->networks[idx];
    char name[256];
    network_name(path, name, sizeof name);
    memset(r, 0, sizeof *r);
    r->mean_auc = NAN;
    double t0 = vpar_ex_now();
    test_crash_hook(name);
    vpar_status st = egad_one(in, path, name, pool, r);
    r->status = (int)st;
    if (st != VPAR_OK) {
        snprintf(r->message, sizeof r->message, "%.479s", vpar_last_error());
        r->mean_auc = NAN;
    }
    r->seconds = vpar_ex_now() - t0;
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

/* Returns 0 to go on, else the exit status + 1 (so --help gives 1: 0). */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    vpar_egad_cli_init(&o->egad);
    o->out = ".";
    o->jobs = 1;
    enum { O_OUT = 256, O_NONFIN };
    static const struct option longs[] = {
        VPAR_EGAD_CLI_OPTIONS,
        {"out", required_argument, 0, O_OUT}, {"nonfinite-as-zero", no_argument, 0, O_NONFIN},
        {"jobs", required_argument, 0, 'j'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "j:t:qh", longs, NULL)) != -1) {
        int r = vpar_egad_cli_option(&o->egad, c, optarg, PROG);
        if (r < 0) return 3;
        if (r > 0) continue;
        switch (c) {
        case O_OUT: o->out = optarg; break;
        case O_NONFIN: o->egad.desc.nonfinite_as_zero = 1; break;
        case 'j': if (!vpar_ex_opt_int(PROG, "--jobs", optarg, 1, INT_MAX, &o->jobs)) return 3; break;
        case 't': if (!vpar_ex_opt_int(PROG, "--threads", optarg, 1, INT_MAX, &o->threads)) return 3; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 1;
        default: fputs("Try 'vpar-egad --help'.\n", stderr); return 3;
        }
    }
    if (!vpar_egad_cli_finish(&o->egad, PROG)) return 3;
    if (optind >= argc) {
        fputs("vpar-egad: no network given (try --help)\n", stderr);
        return 3;
    }
    o->networks = argv + optind;
    o->nnet = argc - optind;
    return 0;
}

/* Output names must be distinct: DIR/<name>.csv per network. */
static int check_names(const options *o) {
    for (int i = 0; i < o->nnet; i++)
        for (int j = 0; j < i; j++) {
            char a[256], b[256];
            network_name(o->networks[i], a, sizeof a);
            network_name(o->networks[j], b, sizeof b);
            if (strcmp(a, b) == 0) {
                fprintf(stderr, "vpar-egad: %s and %s would both write %s/%s.csv; rename one\n",
                        o->networks[j], o->networks[i], o->out, a);
                return 0;
            }
        }
    return 1;
}

/* Shared-memory result map (created before the workers are forked, so
   they inherit it), then the process pool, then the map over networks.
   0 when the pool could not be set up (printed). */
static int run_all(const options *o, run_state *rs) {
    rs->threads = o->threads;
    if (rs->threads == 0 && !getenv("VPAR_NUM_THREADS")) {
        rs->threads = vpar_ex_cpu_count() / o->jobs;
        if (rs->threads < 1) rs->threads = 1;
    }
    vpar_shmap_desc md;
    memset(&md, 0, sizeof md);
    md.capacity = (size_t)o->nnet;
    md.key_max = 31;
    md.value_size = sizeof(net_result);
    vpar_procpool *pp = NULL;
    vpar_procpool_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.workers = o->jobs < o->nnet ? o->jobs : o->nnet;
    pd.chunk = 1; /* networks take seconds each: hand them out one by one */
    pd.init = worker_init;
    pd.init_user = rs;
    if (vpar_shmap_create(&rs->map, &md) != VPAR_OK || vpar_procpool_create(&pp, &pd) != VPAR_OK) {
        fprintf(stderr, "vpar-egad: %s\n", vpar_last_error());
        return 0;
    }
    vpar_status mst = vpar_procpool_map_unordered(pp, (size_t)o->nnet, worker_task, rs, 0, on_done, rs);
    if (rs->tty) fputc('\n', stderr);
    vpar_procpool_destroy(pp);
    if (mst == VPAR_ERR_INTERRUPTED) fprintf(stderr, "vpar-egad: interrupted\n");
    return 1;
}

/* Each network's record from the map (none: its worker died); reports
   failures on stderr. Returns the number of failed networks. */
static int collect(const options *o, const run_state *rsd, net_result *rs, int *crashed) {
    int failed = 0;
    for (int i = 0; i < o->nnet; i++) {
        char key[32];
        snprintf(key, sizeof key, "%d", i);
        if (!crashed[i] && vpar_shmap_get(rsd->map, key, &rs[i], sizeof rs[i]) != VPAR_OK) {
            crashed[i] = 1; /* no record: the worker died before writing one */
        }
        if (crashed[i]) {
            rs[i].mean_auc = NAN;
            rs[i].nterms = 0;
            rs[i].status = VPAR_ERR_CRASHED;
        }
        if (!crashed[i] && !rs[i].status) continue;
        failed++;
        char why[96];
        if (!crashed[i]) snprintf(why, sizeof why, "failed");
        else if (rsd->crash_code[i] > 0) snprintf(why, sizeof why, "worker died (%s)", strsignal(rsd->crash_code[i]));
        else if (rsd->crash_code[i] < 0) snprintf(why, sizeof why, "worker exited with status %d", -rsd->crash_code[i]);
        else snprintf(why, sizeof why, "not run");
        fprintf(stderr, "vpar-egad: %s: %s\n", o->networks[i], crashed[i] ? why : rs[i].message);
    }
    return failed;
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc - 1;
    if (vpar_ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "vpar-egad: --out %s: cannot create directory: %s\n", o.out, strerror(errno));
        return 2;
    }
    shared_in in;
    memset(&in, 0, sizeof in);
    in.opt = &o;
    if (!vpar_egad_cli_load(&o.egad, PROG, &in.ann, &in.genes, &in.ngenes)) return 2;
    net_result *rs = (net_result *)calloc((size_t)o.nnet, sizeof *rs);
    int *crashed = (int *)calloc((size_t)o.nnet, sizeof *crashed);
    run_state rsd;
    memset(&rsd, 0, sizeof rsd);
    rsd.in = &in;
    rsd.tty = !o.quiet && isatty(2);
    rsd.total = o.nnet;
    rsd.crashed = crashed;
    rsd.crash_code = (int *)calloc((size_t)o.nnet, sizeof(int));
    int exit_code = 2;
    if (!rs || !crashed || !rsd.crash_code) {
        fputs("vpar-egad: out of memory\n", stderr);
    } else if (check_names(&o) && run_all(&o, &rsd)) {
        int failed = collect(&o, &rsd, rs, crashed);
        exit_code = !write_summary(&o, rs, crashed) ? 2 : failed ? 1 : 0;
    }
    vpar_shmap_destroy(rsd.map);
    free(rsd.crash_code);
    free(rs);
    free(crashed);
    free(in.genes);
    vpar_egad_annotations_destroy(in.ann);
    return exit_code;
}
