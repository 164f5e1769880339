/* vpar-aggregate — the network aggregation workflow (see aggregate.h and
   docs/workflows.md). */
#define VPAR_IMPLEMENTATION
#include "aggregate.h"

#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

static const char *usage_text =
    "usage: vpar-aggregate --annotations GO.tsv --genes GENES.txt\n"
    "                      (--permutations P [--seed S] | --order FILE)\n"
    "                      [options] NET.npy NET.npy ...\n"
    "\n"
    "Network aggregation: for each permutation (an order of the datasets), add\n"
    "the networks one by one into a float64 aggregate; after each addition\n"
    "rank-standardize a copy like vpar-rank (NaN -> 0.5) and run EGAD on it like\n"
    "vpar-egad; record the mean AUC over GO terms.\n"
    "\n"
    "inputs:\n"
    "      --annotations FILE  gene<TAB>term annotations (.tsv or .tsv.gz, header\n"
    "                          optional), or a pandas HDF5 genes x terms frame (.h5)\n"
    "      --genes FILE        one gene ID per line: rows/columns of every .npy network\n"
    "  NET.npy ...             N x N float32/float64 networks (memory-mapped), or pandas\n"
    "                          HDF5 frames (.h5, read once per permutation, labels must\n"
    "                          equal the genes); the dataset name is the file name\n"
    "                          (e.g. nw_03.npy)\n"

    "orders:\n"
    "  -p, --permutations P    number of random dataset orders (permutations)\n"
    "  -s, --seed S            seed of the orders, an unsigned 64-bit integer (default 1);\n"
    "                          xoshiro256** seeded by splitmix64, Fisher-Yates\n"
    "      --order FILE        one fixed order instead: dataset names, one per line\n"
    "outputs:\n"
    "  -o, --out DIR           directory for the CSVs (default .), created if missing:\n"
    "                          DIR/permute_network_performance_<i>.csv (step,dataset,mean_auc)\n"
    "                          DIR/aggregate.csv (permutation,step,dataset,mean_auc)\n"
    "      --plot FILE.svg     draw mean AUC vs number of aggregated datasets\n"
    "      --no-resume         recompute permutations whose CSV already exists\n"
    "                          (by default a rerun skips them: interrupted runs resume)\n"
    "EGAD (as vpar-egad):\n"
    "      --nfold N           cross-validation folds (default 3)\n"
    "      --min N             keep terms with more than N genes (default 20)\n"
    "      --max N             keep terms with fewer than N genes (default 1000)\n"
    "      --gaf               annotation columns as in GAF (gene col 2, term col 5)\n"
    "      --gene-col N        1-based annotation column of gene IDs (default 1)\n"
    "      --term-col N        1-based annotation column of terms (default 2)\n"
    "      --header | --no-header   the annotation file has / has no header line\n"
    "                          (default: detected from the first line)\n"
    "      --nw-key KEY        HDF5 key of network frames (default nw)\n"
    "      --go-key KEY        HDF5 key of the annotation frame (default go)\n"
    "parallelism:\n"
    "  -j, --jobs N            permutations in N worker processes (default: auto)\n"
    "  -t, --threads N         threads per worker for ranking and EGAD (default: auto)\n"
    "                          auto: one worker per core while memory allows\n"
    "                          (2 N x N float64 each), the cores shared among them\n"
    "  -q, --quiet             no progress bar or summary\n"
    "  -h, --help              this text\n"
    "      --version\n"
    "\n"
    "Exit status: 0 done, 1 a permutation or output failed, 2 bad usage or input,\n"
    "130 interrupted (rerun the same command to resume).\n";

static atomic_int g_cancel;

static void on_signal(int sig) {
    (void)sig;
    atomic_store_explicit(&g_cancel, 1, memory_order_relaxed);
}

#define PROG "vpar-aggregate"

static int parse_int(const char *opt, const char *s, int min, int *out) {
    return vpar_ex_opt_int(PROG, opt, s, min, INT_MAX, out);
}

/* ---- options ----------------------------------------------------------- */

typedef struct options {
    const char *annotations, *genes, *order, *out, *plot, *nw_key, *go_key;
    uint64_t seed;
    int have_seed, permutations, jobs, threads, quiet, no_resume;
    vpar_egad_annot_desc adesc;
    vpar_agg_desc desc;
    const char *const *networks;
    size_t k;
} options;

/* Returns 0 on success, else the exit status (after printing the error). */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->out = ".";
    o->nw_key = "nw";
    o->go_key = "go";
    o->seed = 1;
    enum { O_ANN = 256, O_GENES, O_ORDER, O_OUT, O_PLOT, O_NORESUME, O_NFOLD, O_MIN, O_MAX,
           O_GAF, O_GCOL, O_TCOL, O_HDR, O_NOHDR, O_NWKEY, O_GOKEY, O_VERSION };
    static const struct option longs[] = {
        {"annotations", required_argument, 0, O_ANN}, {"genes", required_argument, 0, O_GENES},
        {"permutations", required_argument, 0, 'p'}, {"seed", required_argument, 0, 's'},
        {"order", required_argument, 0, O_ORDER}, {"out", required_argument, 0, 'o'},
        {"plot", required_argument, 0, O_PLOT}, {"no-resume", no_argument, 0, O_NORESUME},
        {"nfold", required_argument, 0, O_NFOLD}, {"min", required_argument, 0, O_MIN},
        {"max", required_argument, 0, O_MAX}, {"gaf", no_argument, 0, O_GAF},
        {"gene-col", required_argument, 0, O_GCOL}, {"term-col", required_argument, 0, O_TCOL},
        {"header", no_argument, 0, O_HDR}, {"no-header", no_argument, 0, O_NOHDR},
        {"nw-key", required_argument, 0, O_NWKEY}, {"go-key", required_argument, 0, O_GOKEY},
        {"jobs", required_argument, 0, 'j'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    int gcol = 1, tcol = 2, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:s:o:j:t:qh", longs, NULL)) != -1) {
        switch (c) {
        case O_ANN: o->annotations = optarg; break;
        case O_GENES: o->genes = optarg; break;
        case 'p': if (!parse_int("--permutations", optarg, 1, &o->permutations)) return EXIT_USAGE; break;
        case 's':
            if (!vpar_ex_opt_u64(PROG, "--seed", optarg, &o->seed)) return EXIT_USAGE;
            o->have_seed = 1;
            break;
        case O_ORDER: o->order = optarg; break;
        case 'o': o->out = optarg; break;
        case O_PLOT: o->plot = optarg; break;
        case O_NORESUME: o->no_resume = 1; break;
        case O_NFOLD: if (!parse_int("--nfold", optarg, 1, &o->desc.egad.nfold)) return EXIT_USAGE; break;
        case O_MIN: if (!parse_int("--min", optarg, 1, &o->desc.egad.min_genes)) return EXIT_USAGE; break;
        case O_MAX: if (!parse_int("--max", optarg, 1, &o->desc.egad.max_genes)) return EXIT_USAGE; break;
        case O_GAF: gcol = 2; tcol = 5; break;
        case O_GCOL: if (!parse_int("--gene-col", optarg, 1, &gcol)) return EXIT_USAGE; break;
        case O_TCOL: if (!parse_int("--term-col", optarg, 1, &tcol)) return EXIT_USAGE; break;
        case O_HDR: o->adesc.header = 1; break;
        case O_NOHDR: o->adesc.header = -1; break;
        case O_NWKEY: o->nw_key = optarg; break;
        case O_GOKEY: o->go_key = optarg; break;
        case 'j': if (!parse_int("--jobs", optarg, 1, &o->jobs)) return EXIT_USAGE; break;
        case 't': if (!parse_int("--threads", optarg, 1, &o->threads)) return EXIT_USAGE; break;
        case 'q': o->quiet = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case O_VERSION: printf("vpar-aggregate %s\n", VPAR_VERSION_STRING); return -1;
        case ':':
            fprintf(stderr, "vpar-aggregate: %s needs a value (try --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "vpar-aggregate: unknown option '%s' (try --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    o->networks = (const char *const *)(argv + optind);
    o->k = (size_t)(argc - optind);
    const char *err = NULL;
    if (!o->annotations) err = "--annotations FILE is required";
    else if (o->k == 0) err = "no network given";
    else if (o->order && o->have_seed) err = "--order gives one fixed order; --seed is for random orders: use one of them";
    else if (o->order && o->permutations > 1) err = "--order gives one fixed order: --permutations must be 1 or omitted";
    else if (!o->order && !o->permutations) err = "--permutations P (random orders) or --order FILE is required";
    else if (gcol == tcol) err = "--gene-col and --term-col must differ";
    if (err) {
        fprintf(stderr, "vpar-aggregate: %s (try --help)\n", err);
        return EXIT_USAGE;
    }
    if (o->order) o->permutations = 1;
    o->adesc.gene_col = gcol - 1;
    o->adesc.term_col = tcol - 1;
    o->desc.nw_key = o->nw_key;
    int mn = o->desc.egad.min_genes ? o->desc.egad.min_genes : 20;
    if (o->desc.egad.max_genes && o->desc.egad.max_genes <= mn + 1) {
        fprintf(stderr, "vpar-aggregate: --min %d --max %d keeps no term (kept: min < genes < max)\n",
                mn, o->desc.egad.max_genes);
        return EXIT_USAGE;
    }
    int any_npy = 0;
    for (size_t i = 0; i < o->k; i++) any_npy |= !vpar_ex_is_hdf5_name(o->networks[i]);
    if (any_npy && !o->genes) {
        fprintf(stderr, "vpar-aggregate: .npy networks need --genes FILE (try --help)\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- running ------------------------------------------------------------ */

typedef struct run_ctx {
    const options *o;
    vpar_agg *agg;
    size_t k, p;
    const size_t *orders;         /* p x k */
    const size_t *todo;           /* permutation indices (0-based) to compute */
    size_t ntodo;
    double *auc;                  /* p x k results (parent) */
    unsigned char *done;          /* p flags (parent) */
    vpar_agg_progress *progress;  /* MAP_SHARED */
    int threads;
    size_t written, failed;
    long hold_after;              /* test hook, see hold_for_interrupt */
} run_ctx;

static vpar_pool *g_pool;               /* this process's thread pool */
static vpar_procpool *g_procpool;       /* for the signal handler */

static void on_interrupt(int sig) {
    (void)sig;
    atomic_store_explicit(&g_cancel, 1, memory_order_relaxed);
    if (g_procpool) vpar_procpool_interrupt(g_procpool);
}

static void progress_step(void *user) { vpar_agg_progress_step((vpar_agg_progress *)user); }

/* Test hook (tests/test_aggregate_cli.sh): VPAR_AGGREGATE_TEST_HOLD_AFTER=n
   makes every permutation task past the first n (in the order this run
   computes them) wait before its first step until the run is interrupted,
   so that a test can interrupt a run midway deterministically: exactly n
   permutation files exist when it does. In-process the wait ends when the
   SIGINT/SIGTERM handler sets the flag; a pool worker (which ignores
   SIGINT) waits until the interrupted parent kills it. The wait polls: a
   signal may be delivered to any thread. */
static void hold_for_interrupt(const run_ctx *c, size_t task) {
    if (c->hold_after <= 0 || task < (size_t)c->hold_after) return;
    while (!atomic_load_explicit(&g_cancel, memory_order_relaxed)) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

/* Parent: permutation i finished with mean AUCs `auc`: write its file. */
static int finish_permutation(run_ctx *c, size_t i, const double *auc) {
    char path[4096];
    if (!vpar_agg_perm_csv_path(path, sizeof path, c->o->out, i + 1)) {
        fprintf(stderr, "vpar-aggregate: --out %s: path too long\n", c->o->out);
        return 0;
    }
    memcpy(c->auc + i * c->k, auc, c->k * sizeof *auc);
    if (vpar_agg_write_perm_csv(path, c->o->networks, c->orders + i * c->k, auc, c->k) != VPAR_OK) {
        fprintf(stderr, "\nvpar-aggregate: %s\n", vpar_last_error());
        return 0;
    }
    c->done[i] = 1;
    c->written++;
    return 1;
}

static vpar_status ensure_pool(int threads) {
    if (g_pool || threads <= 1) return VPAR_OK;
    vpar_pool_desc d = {0};
    d.num_threads = threads;
    return vpar_pool_create(&g_pool, &d);
}

/* -j 1: permutations one after another in this process, steps on threads. */
static int run_in_process(run_ctx *c) {
    if (ensure_pool(c->threads) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: thread pool: %s\n", vpar_last_error());
        return 0;
    }
    double *auc = (double *)malloc(c->k * sizeof *auc);
    if (!auc) { fputs("vpar-aggregate: out of memory\n", stderr); return 0; }
    vpar_agg_hooks hooks = {progress_step, c->progress, &g_cancel};
    for (size_t t = 0; t < c->ntodo; t++) {
        size_t i = c->todo[t];
        hold_for_interrupt(c, t);
        vpar_status st = vpar_agg_run(c->agg, c->orders + i * c->k, g_pool, &hooks, auc);
        if (st == VPAR_ERR_INTERRUPTED) break;
        if (st != VPAR_OK) {
            fprintf(stderr, "\nvpar-aggregate: permutation %zu: %s\n", i + 1, vpar_last_error());
            c->failed++;
            continue;
        }
        if (!finish_permutation(c, i, auc)) c->failed++;
        if (atomic_load_explicit(&g_cancel, memory_order_relaxed)) break;
    }
    free(auc);
    return 1;
}

/* -j N: one task per permutation on the process pool; each worker has its
   own thread pool of c->threads threads and its own two N x N buffers. The
   worker returns the k mean AUCs through the pool's shared memory and the
   parent writes the files as tasks finish. */
static int worker_init(void *user, int worker) {
    (void)worker;
    run_ctx *c = (run_ctx *)user;
    g_pool = NULL;  /* the parent's pool (if any) has no threads here */
    return ensure_pool(c->threads) == VPAR_OK ? 0 : (int)VPAR_ERR_SYSTEM;
}

static int worker_task(void *user, size_t index, void *result) {
    run_ctx *c = (run_ctx *)user;
    size_t i = c->todo[index];
    hold_for_interrupt(c, index);
    vpar_agg_hooks hooks = {progress_step, c->progress, NULL};
    vpar_status st = vpar_agg_run(c->agg, c->orders + i * c->k, g_pool, &hooks, (double *)result);
    return (int)st;
}

static int on_result(void *user, size_t index, const void *result, const vpar_procpool_status *s) {
    run_ctx *c = (run_ctx *)user;
    size_t i = c->todo[index];
    if (s->state == VPAR_TASK_OK) {
        if (!finish_permutation(c, i, (const double *)result)) c->failed++;
    } else if (s->state != VPAR_TASK_NOT_RUN) {
        c->failed++;
        if (s->state == VPAR_TASK_ERROR)
            fprintf(stderr, "\nvpar-aggregate: permutation %zu failed: %s\n", i + 1,
                    vpar_status_str((vpar_status)s->code));
        else
            fprintf(stderr, "\nvpar-aggregate: permutation %zu: worker %s %d\n", i + 1,
                    s->state == VPAR_TASK_SIGNAL ? "killed by signal" : "exited with status", s->code);
    }
    return atomic_load_explicit(&g_cancel, memory_order_relaxed) ? 1 : 0;
}

static int run_on_procpool(run_ctx *c, int jobs) {
    vpar_procpool_desc d = {0};
    d.workers = jobs;
    d.chunk = 1;            /* a permutation is long: balance one at a time */
    d.init = worker_init;
    d.init_user = c;
    d.keep_signals = 1;     /* our handler interrupts the map */
    vpar_status st = vpar_procpool_create(&g_procpool, &d);
    if (st != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: process pool: %s\n", vpar_last_error());
        return 0;
    }
    st = vpar_procpool_map_unordered(g_procpool, c->ntodo, worker_task, c,
                                     c->k * sizeof(double), on_result, c);
    if (st != VPAR_OK && st != VPAR_ERR_INTERRUPTED && !c->failed) {
        fprintf(stderr, "\nvpar-aggregate: %s\n", vpar_last_error());
        c->failed++;
    }
    vpar_procpool *pp = g_procpool;
    g_procpool = NULL;
    vpar_procpool_destroy(pp);
    return 1;
}

/* Removes temporary files (<final>.tmp.XXXXXX) that a writer killed by
   SIGKILL or a power cut left behind. They are never mistaken for results
   (only the final name counts), this only tidies up. One run per output
   directory at a time. */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    static const char prefix[] = "permute_network_performance_";
    while ((e = readdir(d))) {
        const char *tmp = strstr(e->d_name, ".csv.tmp.");
        if ((strncmp(e->d_name, prefix, sizeof prefix - 1) == 0 ||
             strncmp(e->d_name, "aggregate.csv.tmp.", 18) == 0) &&
            tmp && strlen(tmp) == 15) {
            int w = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (w > 0 && (size_t)w < sizeof path) unlink(path);
        }
    }
    closedir(d);
}

/* Chooses -j and -t when not given. Measured (docs/workflows.md,
   bench/RESULTS.md): permutations in separate processes scale almost
   linearly, while one permutation's steps on threads leave the serial
   parts (the aggregate pass, EGAD set-up) on one core; so one worker per
   core while memory allows two N x N float64 matrices per worker, and the
   cores left over go to threads. */
static void choose_parallelism(const options *o, size_t n, size_t ntodo, int any_h5,
                               int *jobs, int *threads) {
    int ncpu = vpar_ex_cpu_count();
    double per_worker = (2.0 + (any_h5 ? 1.0 : 0.0)) * (double)n * (double)n * 8.0;
    uint64_t avail = vpar_ex_mem_available();
    long by_mem = avail ? (long)((double)avail * 0.75 / per_worker) : ncpu;
    if (by_mem < 1) by_mem = 1;
    long todo = ntodo ? (long)ntodo : 1;
    int j = o->jobs, t = o->threads;
    if (!j) {
        long cap = t ? ncpu / t : ncpu;
        if (cap < 1) cap = 1;
        if (cap > by_mem) cap = by_mem;
        if (cap > todo) cap = todo;
        j = (int)cap;
    } else if (j > todo) {
        j = (int)todo;
    }
    if (!t) t = ncpu / j > 1 ? ncpu / j : 1;
    if (o->jobs && (long)o->jobs > by_mem && !o->quiet)
        fprintf(stderr, "vpar-aggregate: warning: -j %d workers need %.1f GB each "
                        "(two %zu x %zu float64 matrices); %.1f GB available\n",
                o->jobs, per_worker / 1e9, n, n, (double)avail / 1e9);
    *jobs = j;
    *threads = t;
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    const size_t k = o.k, p = (size_t)o.permutations;
    int exit_code = EXIT_USAGE;
    size_t *orders = NULL, *todo = NULL;
    double *auc = NULL;
    unsigned char *done = NULL;
    vpar_egad_annotations *ann = NULL;
    char **genes = NULL;
    vpar_agg *agg = NULL;
    vpar_agg_progress *progress = MAP_FAILED;
    vpar_status st;

    if (vpar_agg_check_names(o.networks, k) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
        goto out;
    }
    size_t pk;
    if (!vpar__mul_size(p, k, &pk) || pk > SIZE_MAX / sizeof(double)) {
        fputs("vpar-aggregate: --permutations too large\n", stderr);
        goto out;
    }
    orders = (size_t *)malloc(pk * sizeof *orders);
    auc = (double *)malloc(pk * sizeof *auc);
    done = (unsigned char *)calloc(p, 1);
    todo = (size_t *)malloc(p * sizeof *todo);
    if (!orders || !auc || !done || !todo) {
        fputs("vpar-aggregate: out of memory\n", stderr);
        exit_code = 1;
        goto out;
    }
    /* Cheap checks first: the order file before loading anything. */
    if (o.order) {
        if (vpar_agg_read_order(o.order, o.networks, k, orders) != VPAR_OK) {
            fprintf(stderr, "vpar-aggregate: --order %s\n", vpar_last_error());
            goto out;
        }
    } else {
        vpar_agg_permutations(o.seed, p, k, orders);
    }

    double t0 = vpar_ex_now();
    st = vpar_ex_is_hdf5_name(o.annotations) ? vpar_egad_annotations_load_hdf5(&ann, o.annotations, o.go_key)
                                     : vpar_egad_annotations_load(&ann, o.annotations, &o.adesc);
    if (st != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
        goto out;
    }
    size_t ngenes = 0;
    if (o.genes && vpar_egad_read_genes(o.genes, &genes, &ngenes) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
        goto out;
    }
    /* A pool only for the set-up checks, gone before any worker is forked. */
    vpar_pool *setup_pool = NULL;
    vpar_pool_desc pd = {0};
    pd.num_threads = o.threads ? o.threads : vpar_ex_cpu_count();
    if (pd.num_threads > 1 && vpar_pool_create(&setup_pool, &pd) != VPAR_OK) setup_pool = NULL;
    o.desc.pool = setup_pool;
    st = vpar_agg_create(&agg, ann, (const char *const *)genes, ngenes, o.networks, k, &o.desc);
    o.desc.pool = NULL;
    if (setup_pool) vpar_pool_destroy(setup_pool);
    if (st != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
        goto out;
    }
    const size_t n = vpar_agg_genes(agg);
    int any_h5 = 0;
    for (size_t i = 0; i < k; i++) any_h5 |= vpar_ex_is_hdf5_name(o.networks[i]);
    /* The output directory only once the inputs are known to be good. */
    if (vpar_ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "vpar-aggregate: --out %s: cannot create directory: %s\n", o.out, strerror(errno));
        goto out;
    }

    /* Resume: a permutation whose file exists and matches is done (the
       files are written atomically, so an existing one is complete). */
    size_t ntodo = 0, resumed = 0;
    for (size_t i = 0; i < p; i++) {
        char path[4096];
        if (!vpar_agg_perm_csv_path(path, sizeof path, o.out, i + 1)) {
            fprintf(stderr, "vpar-aggregate: --out %s: path too long\n", o.out);
            goto out;
        }
        st = o.no_resume ? VPAR_ERR_NOT_FOUND
                         : vpar_agg_read_perm_csv(path, o.networks, orders + i * k, k, auc + i * k);
        if (st == VPAR_OK) {
            done[i] = 1;
            resumed++;
            continue;
        }
        if (st != VPAR_ERR_NOT_FOUND)
            fprintf(stderr, "vpar-aggregate: %s; recomputing it\n", vpar_last_error());
        todo[ntodo++] = i;
    }
    remove_stale_temps(o.out);

    int jobs, threads;
    choose_parallelism(&o, n, ntodo, any_h5, &jobs, &threads);
    int tty = !o.quiet && isatty(2);
    if (!o.quiet && resumed)
        fprintf(stderr, "vpar-aggregate: resuming: %zu of %zu permutations already complete in %s\n",
                resumed, p, o.out);

    /* Shared with forked workers: they count steps, whoever finishes one
       redraws the bar. */
    progress = (vpar_agg_progress *)mmap(NULL, sizeof *progress, PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (progress == MAP_FAILED) {
        fprintf(stderr, "vpar-aggregate: mmap: %s\n", strerror(errno));
        exit_code = 1;
        goto out;
    }
    vpar_agg_progress_init(progress, (uint64_t)ntodo * k, tty);

    run_ctx c;
    memset(&c, 0, sizeof c);
    c.o = &o;
    c.agg = agg;
    c.k = k;
    c.p = p;
    c.orders = orders;
    c.todo = todo;
    c.ntodo = ntodo;
    c.auc = auc;
    c.done = done;
    c.progress = progress;
    c.threads = threads;
    const char *hold = getenv("VPAR_AGGREGATE_TEST_HOLD_AFTER");
    c.hold_after = hold ? strtol(hold, NULL, 10) : 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    double t1 = vpar_ex_now();
    int ok = 1;
    if (ntodo > 0) ok = jobs > 1 ? run_on_procpool(&c, jobs) : run_in_process(&c);
    double t2 = vpar_ex_now();
    vpar_agg_progress_finish(progress);
    size_t ndone = resumed + c.written;
    int interrupted = atomic_load_explicit(&g_cancel, memory_order_relaxed) && ndone < p;

    exit_code = 0;
    if (interrupted) {
        fprintf(stderr, "vpar-aggregate: interrupted: %zu of %zu permutations complete in %s; "
                        "rerun the same command to resume\n", ndone, p, o.out);
        exit_code = EXIT_INTERRUPTED;
    } else if (!ok || c.failed || ndone < p) {
        fprintf(stderr, "vpar-aggregate: %zu of %zu permutations failed; aggregate.csv not written "
                        "(rerun to retry them)\n", p - ndone, p);
        exit_code = 1;
    } else {
        char path[4096];
        snprintf(path, sizeof path, "%s/aggregate.csv", o.out);
        if (vpar_agg_write_aggregate_csv(path, o.networks, orders, auc, p, k) != VPAR_OK) {
            fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
            exit_code = 1;
        }
        if (o.plot && vpar_agg_write_svg(o.plot, auc, p, k, NULL) != VPAR_OK) {
            fprintf(stderr, "vpar-aggregate: --plot %s\n", vpar_last_error());
            exit_code = 1;
        }
        if (!o.quiet && exit_code == 0) {
            size_t steps = c.written * k;
            fprintf(stderr, "vpar-aggregate: %zu permutation%s x %zu datasets, %zu genes, %zu terms: "
                            "%zu steps computed in %.2f s (%.3f s per step, -j %d -t %d), "
                            "%zu permutation%s resumed, setup %.2f s; results in %s/aggregate.csv%s%s\n",
                    p, p == 1 ? "" : "s", k, n, vpar_agg_terms(agg), steps, t2 - t1,
                    steps ? (t2 - t1) / (double)steps : 0.0, jobs, threads, resumed,
                    resumed == 1 ? "" : "s", t1 - t0, o.out, o.plot ? ", plot in " : "",
                    o.plot ? o.plot : "");
        }
    }
out:
    if (progress != MAP_FAILED) munmap(progress, sizeof *progress);
    vpar_agg_destroy(agg);
    if (g_pool) vpar_pool_destroy(g_pool);
    VPAR_FREE(genes);
    vpar_egad_annotations_destroy(ann);
    free(orders);
    free(auc);
    free(done);
    free(todo);
    return exit_code;
}
