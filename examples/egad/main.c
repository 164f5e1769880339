/* vpar-egad — EGAD neighbor voting of GO terms over many co-expression
   networks (see docs/egad.md; the program's units are listed in prog.h).

     vpar-egad --annotations go.tsv --genes genes.txt nw_00.npy nw_01.npy ...

   Annotations are loaded once, before any worker starts; networks run in
   parallel on the process pool (-j), terms of one network on the thread
   pool (-t); each worker puts its network's summary into the pool's
   shared-memory result map, so a network that fails or whose worker dies
   is reported while the others complete. Under mpirun the networks are
   farmed to the MPI ranks instead (mpi.c); with --shard a job-array task
   computes its share and --merge assembles the parts (jobs.c).
*/
/* vpar.h's implementation: examples/common/vpar_impl.c (target vpar_impl) */
#include "vpar.h"
#include "prog.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fputs(
"usage: vpar-egad --annotations FILE [--genes FILE] [options] NETWORK...\n"
"       vpar-egad --merge DIR\n"
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
"  --resume            skip networks a previous run of this command finished\n"
"                      (recorded in DIR/vpar-part-I-of-N.txt, CSV verified)\n"
"  -j, --jobs N        networks in parallel, one worker process each (default 1)\n"
"  -t, --threads N     threads per network (default: CPUs / jobs)\n"
"  -q, --quiet         no progress line or summary line\n"
"  -h, --help          this help\n"
"      --version\n"
"\n"
"clusters (docs/cluster.md)\n"
"  --shard I/N         compute networks i with i % N == I-1 (1-based I; command-\n"
"                      line order); also `auto` (Slurm/Grid Engine array range)\n"
"                      and `auto/N` (the array task id is I)\n"
"  --merge DIR         assemble the shards' parts in DIR into DIR/summary.csv,\n"
"                      as one run over all networks writes it\n"
"  --journal FILE      under mpirun: rank 0 journals every finished network;\n"
"                      with --resume journaled networks are not rerun\n"
"  Under mpirun/srun the networks are farmed to the MPI ranks (one network at a\n"
"  time per rank, -t threads each); outputs are those of a one-process run.\n"
"\n"
"Per-network CSV columns: term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value.\n"
"summary.csv: network,status,terms,mean_auc,seconds (status ok|error|crashed).\n"
"Exit status: 0 all networks ok, 1 some network failed, 2 bad usage or input\n"
"shared by all networks (annotations, genes file, output directory), 3 --merge\n"
"found networks not done (it lists the shards to resubmit), 75 stopped by\n"
"SIGTERM/SIGUSR1 (a batch system's time limit; rerun with --resume), 130\n"
"interrupted by SIGINT; when interrupted, summary.csv lists the networks done\n"
"and a rerun with --resume computes only the others.\n", f);
}

/* State shared by the parent and (copy-on-write) the workers. */
typedef struct run_state {
    const shared_in *in;
    egad_job *job;         /* parent: the bookkeeping */
    vpar_shmap *map;       /* index -> net_result, written by workers */
    int threads;           /* per worker; 0 = vpar default */
    int tty, total, done;
    int *crash_code;       /* parent only: signal (> 0) or -exit status */
} run_state;

/* The thread pool of this worker process (created after the fork). */
static vpar_pool *worker_pool;
static atomic_int g_interrupted;

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
    int idx = rs->job->todo[index];
    net_result r;
    egad_run_network(rs->in, idx, worker_pool, &r);
    char key[32];
    snprintf(key, sizeof key, "%d", idx);
    if (vpar_shmap_put(rs->map, key, &r, sizeof r) != VPAR_OK) return (int)VPAR_ERR_FULL;
    return 0;
}

/* Parent: the network's record (none: its worker died), the manifest,
   progress. */
static int on_done(void *user, size_t index, const void *result, const vpar_procpool_status *st) {
    (void)result;
    run_state *rs = (run_state *)user;
    egad_job *J = rs->job;
    int idx = J->todo[index];
    rs->done++;
    if (st->state == VPAR_TASK_SIGNAL || st->state == VPAR_TASK_TIMEOUT) {
        J->crashed[idx] = 1;
        rs->crash_code[idx] = st->code;
    } else if (st->state == VPAR_TASK_EXIT) {
        J->crashed[idx] = 1;
        rs->crash_code[idx] = -st->code;
    } else if (st->state == VPAR_TASK_NOT_RUN || st->state == VPAR_TASK_LOST) {
        J->crashed[idx] = 1; /* LOST: the worker died, its exit status is gone */
    }
    char key[32];
    net_result r;
    snprintf(key, sizeof key, "%d", idx);
    if (!J->crashed[idx] && vpar_shmap_get(rs->map, key, &r, sizeof r) == VPAR_OK)
        egad_job_record(J, rs->in->opt, idx, &r);
    else
        J->crashed[idx] = 1; /* no record: the worker died before writing one */
    if (rs->tty)
        vpar_ex_status_line(2, "vpar-egad: %d/%d networks done (last: %s)", rs->done, rs->total,
                            J->names[idx]);
    return 0;
}

/* Returns 0 to go on, else the exit status + 1 (so --help gives 1: 0). */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    vpar_egad_cli_init(&o->egad);
    o->out = ".";
    o->jobs = 1;
    o->shard.index = o->shard.count = 1;
    enum { O_OUT = 256, O_NONFIN, O_RESUME, O_SHARD, O_MERGE, O_JOURNAL, O_VERSION };
    static const struct option longs[] = {
        VPAR_EGAD_CLI_OPTIONS,
        {"out", required_argument, 0, O_OUT}, {"nonfinite-as-zero", no_argument, 0, O_NONFIN},
        {"resume", no_argument, 0, O_RESUME}, {"shard", required_argument, 0, O_SHARD},
        {"merge", required_argument, 0, O_MERGE}, {"journal", required_argument, 0, O_JOURNAL},
        {"jobs", required_argument, 0, 'j'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    int c;
    while ((c = vpar_ex_getopt(PROG, argc, argv, "j:t:qh", longs)) != -1) {
        int r = vpar_egad_cli_option(&o->egad, c, optarg, PROG);
        if (r < 0) return 3;
        if (r > 0) continue;
        switch (c) {
        case O_OUT: o->out = vpar_ex_trim_dir(optarg); break;
        case O_NONFIN: o->egad.desc.nonfinite_as_zero = 1; break;
        case O_RESUME: o->resume = 1; break;
        case O_SHARD: o->shard_arg = optarg; break;
        case O_MERGE: o->merge_dir = vpar_ex_trim_dir(optarg); break;
        case O_JOURNAL: o->journal = optarg; break;
        case 'j': if (!vpar_ex_opt_int(PROG, "--jobs", optarg, 1, INT_MAX, &o->jobs)) return 3; break;
        case 't': if (!vpar_ex_opt_int(PROG, "--threads", optarg, 1, INT_MAX, &o->threads)) return 3; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 1;
        case O_VERSION: vpar_ex_print_version(PROG); return 1;
        default: return 3; /* '?': printed by vpar_ex_getopt */
        }
    }
    if (o->merge_dir) {
        if (optind < argc) {
            fputs("vpar-egad: --merge DIR takes no networks (it reads the parts in DIR)\n", stderr);
            return 3;
        }
        return 0;
    }
    if (!vpar_egad_cli_finish(&o->egad, PROG)) return 3;
    if (optind >= argc) {
        fputs("vpar-egad: no network given (try --help)\n", stderr);
        return 3;
    }
    if (o->shard_arg) {
        char err[512];
        if (vpar_ex_shard_parse(o->shard_arg, getenv, &o->shard, err, sizeof err) != 0) {
            fprintf(stderr, "vpar-egad: %s\n", err);
            return 3;
        }
    }
    o->networks = argv + optind;
    o->nnet = argc - optind;
    if (!vpar_ex_check_threads_env(PROG, "-t")) return 3;
    /* More threads than CPUs in all: warn (the run is slower, not wrong). */
    long procs = o->jobs;
    char what[64];
    if (o->threads) {
        snprintf(what, sizeof what, "-j %d x -t %d", o->jobs, o->threads);
        vpar_ex_warn_threads(PROG, what, procs * o->threads);
    } else if (o->jobs > 1) {
        snprintf(what, sizeof what, "-j %d", o->jobs);
        vpar_ex_warn_threads(PROG, what, procs);
    }
    return 0;
}

/* Output names must be distinct: DIR/<name>.csv per network. */
static int check_names(const options *o, char *const *names) {
    for (int i = 0; i < o->nnet; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                fprintf(stderr, "vpar-egad: %s and %s would both write %s/%s.csv; rename one\n",
                        o->networks[j], o->networks[i], o->out, names[i]);
                return 0;
            }
    return 1;
}

static vpar_procpool *g_procpool; /* for the signal handler */

static void interrupt_pool(void) {
    if (g_procpool) vpar_procpool_interrupt(g_procpool);
}

/* Shared-memory result map (created before the workers are forked, so
   they inherit it), then the process pool, then the map over the networks
   to do. 0 when the pool could not be set up (printed). */
static int run_all(const options *o, run_state *rs) {
    egad_job *J = rs->job;
    rs->threads = o->threads;
    if (rs->threads == 0 && !getenv("VPAR_NUM_THREADS")) {
        rs->threads = vpar_ex_cpu_count() / o->jobs;
        if (rs->threads < 1) rs->threads = 1;
    }
    if (J->ntodo == 0) return 1;
    vpar_shmap_desc md;
    memset(&md, 0, sizeof md);
    md.capacity = (size_t)o->nnet;
    md.key_max = 31;
    md.value_size = sizeof(net_result);
    vpar_procpool_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.workers = o->jobs < J->ntodo ? o->jobs : J->ntodo;
    pd.chunk = 1; /* networks take seconds each: hand them out one by one */
    pd.init = worker_init;
    pd.init_user = rs;
    pd.keep_signals = 1; /* our handler interrupts the map and is reported */
    if (vpar_shmap_create(&rs->map, &md) != VPAR_OK ||
        vpar_procpool_create(&g_procpool, &pd) != VPAR_OK) {
        fprintf(stderr, "vpar-egad: %s\n", vpar_last_error());
        return 0;
    }
    vpar_ex_stop_on_signals(&g_interrupted, interrupt_pool);
    vpar_status mst = vpar_procpool_map_unordered(g_procpool, (size_t)J->ntodo, worker_task, rs, 0,
                                                  on_done, rs);
    if (rs->tty) fputc('\n', stderr);
    vpar_procpool *pp = g_procpool;
    g_procpool = NULL;
    vpar_procpool_destroy(pp);
    if (mst == VPAR_ERR_INTERRUPTED) atomic_store(&g_interrupted, 1);
    else if (mst != VPAR_OK) {
        /* The map itself failed (e.g. the shared task region could not
           grow: EFBIG under a file size limit, ENOSPC): the networks whose
           result never came back were not computed. They fail with the
           reason; the summary must never call them ok. */
        const char *why = vpar_last_error();
        for (int t = 0; t < J->ntodo; t++) {
            int i = J->todo[t];
            if (J->recorded[i] || J->crashed[i]) continue;
            J->rs[i].status = (int)mst;
            J->rs[i].mean_auc = NAN;
            snprintf(J->rs[i].message, sizeof J->rs[i].message, "not computed: %.400s", why);
        }
    }
    return 1;
}

/* Reports each failed network on stderr (its record was taken in
   on_done). */
static void report_failures(const options *o, const run_state *rsd) {
    const egad_job *J = rsd->job;
    for (int t = 0; t < J->ntodo; t++) {
        int i = J->todo[t];
        net_result *r = &J->rs[i];
        if (J->crashed[i]) {
            r->mean_auc = NAN;
            r->nterms = 0;
            r->status = VPAR_ERR_CRASHED;
        }
        if (!J->crashed[i] && !r->status) continue;
        if (J->crashed[i] && atomic_load(&g_interrupted) && !rsd->crash_code[i]) continue;
        char why[96];
        if (!J->crashed[i]) snprintf(why, sizeof why, "failed");
        else if (rsd->crash_code[i] > 0) snprintf(why, sizeof why, "worker died (%s)", strsignal(rsd->crash_code[i]));
        else if (rsd->crash_code[i] < 0) snprintf(why, sizeof why, "worker exited with status %d", -rsd->crash_code[i]);
        else snprintf(why, sizeof why, "not run");
        egad_report_failure(o->networks[i], J->crashed[i] ? why : r->message);
    }
}

/* The configuration hash (FNV-1a over the annotation file, the genes
   file and each network's first MiB: ~4 cycles a byte, 40 ms for the
   23 MB GO file) is computed on a second thread while the main thread
   loads the annotations: a core otherwise idle then. Silent: on failure
   egad_job_init computes it again and says why. */
static void *config_thread(void *user) {
    shared_in *in = (shared_in *)user;
    in->config_ok = egad_config_hash(in->opt, in->config, 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (vpar_simd_init() != VPAR_OK) { /* $VPAR_SIMD names no usable path */
        fprintf(stderr, "%s: %s\n", "vpar-egad", vpar_last_error());
        return 2;
    }
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc - 1;
    if (o.merge_dir) return egad_merge(&o);
#ifdef VPAR_EX_MPI_SIBLING   /* the MPI program is vpar-egad-mpi (CMakeLists.txt) */
    if ((rc = vpar_ex_mpi_run_sibling(o.journal != NULL, argv, PROG, VPAR_EX_MPI_SIBLING)) != 0) return rc;
#endif
    if (vpar_ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "vpar-egad: --out %s: cannot create directory: %s\n", o.out, strerror(errno));
        return 2;
    }
    shared_in in;
    memset(&in, 0, sizeof in);
    in.opt = &o;
    vpar__egad_phase("start-up (exec to main, options)");
    /* Under an MPI launcher only rank 0 needs the hash (egad_job_init). */
    pthread_t hasher;
    int hashing = !vpar_ex_mpi_launched(getenv) &&
                  pthread_create(&hasher, NULL, config_thread, &in) == 0;
    int loaded = vpar_egad_cli_load(&o.egad, PROG, &in.ann, &in.genes, &in.ngenes);
    if (hashing) pthread_join(hasher, NULL);
    if (!loaded) return 2;
    vpar__egad_phase("annotations + genes (and the configuration hash)");
    int exit_code = 2;
    /* Shared inputs (the genes file's length) and unusable dtypes: once,
       before any worker is forked (inputs.c). */
    if (!vpar_egad_cli_check_networks(&o.egad, PROG, o.networks, (size_t)o.nnet, in.genes, in.ngenes))
        goto out;
    if (egad_mpi_main(&o, &in, &exit_code)) goto out;
    egad_job J;
    memset(&J, 0, sizeof J);
    run_state rsd;
    memset(&rsd, 0, sizeof rsd);
    rsd.in = &in;
    rsd.job = &J;
    rsd.tty = !o.quiet && isatty(2);
    rsd.crash_code = (int *)calloc((size_t)o.nnet, sizeof(int));
    if (!rsd.crash_code) {
        fputs("vpar-egad: out of memory\n", stderr);
    } else if (egad_job_init(&J, &o, &in) && check_names(&o, J.names)) {
        rsd.total = J.ntodo;
        egad_shared_plan(&in, J.todo, J.ntodo);   /* inherited by the workers */
        if (run_all(&o, &rsd)) {
            report_failures(&o, &rsd);
            vpar__egad_phase("networks (parent: fork, wait)");
            exit_code = egad_job_finish(&J, &o, atomic_load(&g_interrupted));
            vpar__egad_phase("summary + manifest");
            if (exit_code == VPAR_EX_EXIT_INTERRUPTED) exit_code = vpar_ex_stop_exit_code();
        }
    }
    if (J.names) egad_job_free(&J, &o);
    egad_shared_plan_free(&in);
    vpar_shmap_destroy(rsd.map);
    free(rsd.crash_code);
out:
    free(in.genes);
    vpar_egad_annotations_destroy(in.ann);
    return exit_code;
}
