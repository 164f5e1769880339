/* vpar-aggregate — the network aggregation workflow (see aggregate.h and
   docs/workflows.md). */
/* vpar.h's implementation: examples/common/vpar_impl.c (target vpar_impl) */
#include "prog.h"

#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


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
    "clusters (docs/cluster.md):\n"
    "      --shard I/N         compute permutations i with (i-1) % N == I-1 (1-based I);\n"
    "                          also `auto` (Slurm/Grid Engine array range) and `auto/N`\n"
    "                          (the array task id is I); writes DIR's permutation files\n"
    "                          and DIR/vpar-part-I-of-N.txt, not aggregate.csv\n"
    "      --merge DIR         assemble the shards' parts in DIR: DIR/aggregate.csv (and\n"
    "                          --plot) exactly as one run writes them\n"
    "      --journal FILE      under mpirun: rank 0 journals every finished permutation;\n"
    "                          a rerun restores them (--no-resume: start over)\n"
    "                          Under mpirun/srun permutations are farmed to the MPI ranks\n"
    "                          (one at a time per rank, -t threads each)\n"
    "parallelism:\n"
    "  -j, --jobs N            permutations in N worker processes (default: auto)\n"
    "  -t, --threads N         threads per worker for ranking and EGAD (default: auto)\n"
    "                          auto: one worker per core while memory allows\n"
    "                          (2 N x N float64 each), the cores shared among them\n"
    "  -q, --quiet             no progress bar or summary\n"
    "  -h, --help              this text\n"
    "      --version\n"
    "\n";

static const char *usage_tail =
    "\n"
    "Exit status: 0 done, 1 a permutation or output failed, 2 bad usage or input,\n"
    "3 --merge found permutations not done (it lists the shards to resubmit),\n"
    "75 stopped by SIGTERM/SIGUSR1 (a batch system's time limit), 130 interrupted\n"
    "by SIGINT (rerun the same command to resume).\n";

static atomic_int g_cancel;


static int parse_int(const char *opt, const char *s, int min, int *out) {
    return vpar_ex_opt_int(PROG, opt, s, min, INT_MAX, out);
}

/* ---- options ----------------------------------------------------------- */


/* This program's own options; 1 handled, 0 not one, VPAR_EX_EXIT_USAGE + 2 bad
   value (printed), -1 --help/--version done. */
static int own_option(options *o, int c, char **argv) {
    switch (c) {
    case 'p': return parse_int("--permutations", optarg, 1, &o->permutations) ? 1 : VPAR_EX_EXIT_USAGE + 2;
    case 's':
        if (!vpar_ex_opt_u64(PROG, "--seed", optarg, &o->seed)) return VPAR_EX_EXIT_USAGE + 2;
        o->have_seed = 1;
        return 1;
    case 256: o->order = optarg; return 1;
    case 'o': o->out = vpar_ex_trim_dir(optarg); return 1;
    case 257: o->plot = optarg; return 1;
    case 258: o->no_resume = 1; return 1;
    case 'j': return parse_int("--jobs", optarg, 1, &o->jobs) ? 1 : VPAR_EX_EXIT_USAGE + 2;
    case 't': return parse_int("--threads", optarg, 1, &o->threads) ? 1 : VPAR_EX_EXIT_USAGE + 2;
    case 'q': o->quiet = 1; return 1;
    case 'h': fputs(usage_text, stdout); fputs(vpar_egad_cli_usage, stdout); fputs(usage_tail, stdout); return -1;
    case 259: vpar_ex_print_version(PROG); return -1;
    case 260: o->shard_arg = optarg; return 1;
    case 261: o->merge_dir = vpar_ex_trim_dir(optarg); return 1;
    case 262: o->journal = optarg; return 1;
    case 263: o->no_resume = 0; return 1;
    default: /* '?': printed by vpar_ex_getopt */
        (void)argv;
        return VPAR_EX_EXIT_USAGE + 2;
    }
}

/* Checks across options once all are read. 0 or VPAR_EX_EXIT_USAGE (printed). */
static int check_options(options *o) {
    const char *err = NULL;
    if (o->k == 0) err = "no network given";
    else if (o->order && o->have_seed) err = "--order gives one fixed order; --seed is for random orders: use one of them";
    else if (o->order && o->permutations > 1) err = "--order gives one fixed order: --permutations must be 1 or omitted";
    else if (!o->order && !o->permutations) err = "--permutations P (random orders) or --order FILE is required";
    if (err) {
        fprintf(stderr, "vpar-aggregate: %s (try --help)\n", err);
        return VPAR_EX_EXIT_USAGE;
    }
    if (!vpar_ex_check_threads_env(PROG, "-t")) return VPAR_EX_EXIT_USAGE;
    if (o->jobs || o->threads) { /* given: warn when they exceed the CPUs */
        char what[64];
        long j = o->jobs ? o->jobs : 1, t = o->threads ? o->threads : 1;
        if (o->jobs && o->threads) snprintf(what, sizeof what, "-j %d x -t %d", o->jobs, o->threads);
        else if (o->jobs) snprintf(what, sizeof what, "-j %d", o->jobs);
        else snprintf(what, sizeof what, "-t %d", o->threads);
        vpar_ex_warn_threads(PROG, what, j * t);
    }
    if (o->order) o->permutations = 1;
    o->desc.egad = o->egad.desc;
    o->desc.nw_key = o->egad.nw_key;
    o->desc.genes_file = o->egad.genes;
    int any_npy = 0;
    for (size_t i = 0; i < o->k; i++) any_npy |= !vpar_ex_is_hdf5_name(o->networks[i]);
    if (any_npy && !o->egad.genes) {
        fprintf(stderr, "vpar-aggregate: .npy networks need --genes FILE (try --help)\n");
        return VPAR_EX_EXIT_USAGE;
    }
    return 0;
}

/* Returns 0 on success, -1 after --help/--version, else the exit status
   (after printing the error). */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    vpar_egad_cli_init(&o->egad);
    o->out = ".";
    o->seed = 1;
    o->shard.index = o->shard.count = 1;
    static const struct option longs[] = {
        VPAR_EGAD_CLI_OPTIONS,
        {"permutations", required_argument, 0, 'p'}, {"seed", required_argument, 0, 's'},
        {"order", required_argument, 0, 256}, {"out", required_argument, 0, 'o'},
        {"plot", required_argument, 0, 257}, {"no-resume", no_argument, 0, 258},
        {"jobs", required_argument, 0, 'j'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 259}, {"shard", required_argument, 0, 260},
        {"merge", required_argument, 0, 261}, {"journal", required_argument, 0, 262},
        {"resume", no_argument, 0, 263}, {0, 0, 0, 0}};
    int c;
    while ((c = vpar_ex_getopt(PROG, argc, argv, "p:s:o:j:t:qh", longs)) != -1) {
        int r = vpar_egad_cli_option(&o->egad, c, optarg, PROG);
        if (r < 0) return VPAR_EX_EXIT_USAGE;
        if (r == 0) r = own_option(o, c, argv);
        if (r < 0) return -1;
        if (r > 1) return r - 2;
    }
    o->networks = (const char *const *)(argv + optind);
    o->k = (size_t)(argc - optind);
    /* Refused, not SVG text in a .png. */
    if (o->plot && !vpar_ex_has_suffix(o->plot, ".svg")) {
        fprintf(stderr, "vpar-aggregate: --plot %s: the plot is written as SVG; name the file "
                        "*.svg (convert it to PNG with e.g. rsvg-convert)\n", o->plot);
        return VPAR_EX_EXIT_USAGE;
    }
    if (o->merge_dir) {
        if (o->k) {
            fputs("vpar-aggregate: --merge DIR takes no networks (it reads the parts in DIR)\n", stderr);
            return VPAR_EX_EXIT_USAGE;
        }
        return 0;
    }
    if (o->shard_arg) {
        char err[512];
        if (vpar_ex_shard_parse(o->shard_arg, getenv, &o->shard, err, sizeof err) != 0) {
            fprintf(stderr, "vpar-aggregate: %s\n", err);
            return VPAR_EX_EXIT_USAGE;
        }
    }
    if (!vpar_egad_cli_finish(&o->egad, PROG)) return VPAR_EX_EXIT_USAGE;
    return check_options(o);
}

/* ---- running ------------------------------------------------------------ */

/* Seconds since boot (CLOCK_BOOTTIME) when this process started, from
   /proc/self/stat (clock-tick resolution); -1 where unknown. */
static double process_start_boottime(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *s = strrchr(buf, ')');  /* comm may hold spaces */
    unsigned long long start = 0;
    /* after ")": state (field 3) ... starttime (field 22) */
    if (!s || sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                            "%*d %*d %llu", &start) != 1)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)start / (double)hz : -1;
}

void agg_phase(const char *name) {
    static int on = -1;
    static double w_last, c_last, w_first;
    if (on < 0) {
        const char *e = getenv("VPAR_AGGREGATE_PHASES");
        on = e && *e && strcmp(e, "0") != 0;
    }
    if (!on) return;
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    double w = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    double c = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    static long pid;
    if (on == 1) { /* first mark: from the process's start */
        double s = process_start_boottime();
        w_first = w_last = s >= 0 ? s : w;
        c_last = 0;
        pid = (long)getpid();
        on = 2;
    }
    if (pid != (long)getpid()) { /* a forked worker: its CPU clock starts at 0 */
        pid = (long)getpid();
        c_last = 0;
    }
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!rank || !*rank) rank = getenv("PMI_RANK");
    if (!rank || !*rank) rank = getenv("PMIX_RANK");
    fprintf(stderr, "vpar-aggregate: phase %-14s +%.3f s wall +%.3f s CPU (total %.3f s wall, "
                    "%.3f s CPU) pid %ld%s%s\n", name, w - w_last, c - c_last, w - w_first, c,
            pid, rank && *rank ? " rank " : "", rank && *rank ? rank : "");
    w_last = w;
    c_last = c;
}


static vpar_pool *g_pool;               /* this process's thread pool */
static vpar_procpool *g_procpool;       /* for the signal handler */

static void interrupt_pool(void) {
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
void agg_run_ctx_init(run_ctx *c, job *J, int threads) {
    memset(c, 0, sizeof *c);
    c->o = &J->o;
    c->agg = J->agg;
    c->k = J->k;
    c->p = J->p;
    c->orders = J->orders;
    c->todo = J->todo;
    c->ntodo = J->ntodo;
    c->auc = J->auc;
    c->done = J->done;
    c->progress = J->progress;
    c->threads = threads;
    c->job = J;
}

int agg_finish_permutation(run_ctx *c, size_t i, const double *auc) {
    char path[4096];
    if (!vpar_agg_perm_csv_path(path, sizeof path, c->o->out, i + 1)) {
        fprintf(stderr, "vpar-aggregate: --out %s: path too long\n", c->o->out);
        return 0;
    }
    memcpy(c->auc + i * c->k, auc, c->k * sizeof *auc);
    if (vpar_agg_write_perm_csv(path, c->o->networks, c->orders + i * c->k, auc, c->k) != VPAR_OK) {
        fprintf(stderr, "%svpar-aggregate: %s\n", vpar_ex_msg_start(), vpar_last_error());
        return 0;
    }
    c->done[i] = 1;
    c->written++;
    agg_job_done(c->job, i);
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
        if (t == 0) agg_phase("first task");
        hold_for_interrupt(c, t);
        vpar_status st = vpar_agg_run(c->agg, c->orders + i * c->k, g_pool, &hooks, auc);
        if (st == VPAR_ERR_INTERRUPTED) break;
        if (st != VPAR_OK) {
            fprintf(stderr, "%svpar-aggregate: permutation %zu: %s\n", vpar_ex_msg_start(), i + 1, vpar_last_error());
            c->failed++;
            continue;
        }
        if (!agg_finish_permutation(c, i, auc)) c->failed++;
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
    static int first = 1;  /* per worker process */
    if (first) agg_phase("first task");
    first = 0;
    hold_for_interrupt(c, index);
    vpar_agg_hooks hooks = {progress_step, c->progress, NULL};
    vpar_status st = vpar_agg_run(c->agg, c->orders + i * c->k, g_pool, &hooks, (double *)result);
    return (int)st;
}

static int on_result(void *user, size_t index, const void *result, const vpar_procpool_status *s) {
    run_ctx *c = (run_ctx *)user;
    size_t i = c->todo[index];
    if (s->state == VPAR_TASK_OK) {
        if (!agg_finish_permutation(c, i, (const double *)result)) c->failed++;
    } else if (s->state != VPAR_TASK_NOT_RUN) {
        c->failed++;
        if (s->state == VPAR_TASK_ERROR)
            fprintf(stderr, "%svpar-aggregate: permutation %zu failed: %s\n", vpar_ex_msg_start(), i + 1,
                    vpar_status_str((vpar_status)s->code));
        else if (s->state == VPAR_TASK_LOST)
            fprintf(stderr, "%svpar-aggregate: permutation %zu: its worker died (exit status "
                            "lost: SIGCHLD is ignored)\n", vpar_ex_msg_start(), i + 1);
        else
            fprintf(stderr, "%svpar-aggregate: permutation %zu: worker %s %d\n", vpar_ex_msg_start(), i + 1,
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
        fprintf(stderr, "%svpar-aggregate: %s\n", vpar_ex_msg_start(), vpar_last_error());
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
static void remove_stale_temps(const options *o) {
    DIR *d = opendir(o->out);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    static const char prefix[] = "permute_network_performance_";
    while ((e = readdir(d))) {
        const char *tmp = strstr(e->d_name, ".csv.tmp.");
        if (!tmp || strlen(tmp) != 15) continue;
        int ours = 0;
        if (strncmp(e->d_name, prefix, sizeof prefix - 1) == 0) {
            /* Only this shard's permutations: other shards may be writing
               into the same directory right now. */
            unsigned long i = strtoul(e->d_name + sizeof prefix - 1, NULL, 10);
            ours = i >= 1 && vpar_ex_shard_owns(&o->shard, (size_t)(i - 1));
        } else if (o->shard.count == 1) {
            ours = strncmp(e->d_name, "aggregate.csv.tmp.", 18) == 0;
        }
        int w = snprintf(path, sizeof path, "%s/%s", o->out, e->d_name);
        if (ours && w > 0 && (size_t)w < sizeof path) unlink(path);
    }
    closedir(d);
}

/* Chooses -j and -t when not given. Measured (docs/workflows.md,
   bench/RESULTS.md): permutations in separate processes scale almost
   linearly, while one permutation's steps on threads leave the serial
   parts (the aggregate pass, EGAD set-up) on one core; so one worker per
   core while memory allows 16 N^2 bytes per worker (measured: 12 N^2 for
   symmetric networks: the packed sum, the rank codes and the ranker's
   keys, 4 N^2 each; 20 N^2 otherwise; HDF5 inputs add a network read per
   step), and the cores left over go to threads. */
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
                        "(about 16 bytes per entry of the %zu x %zu aggregate); %.1f GB available\n",
                o->jobs, per_worker / 1e9, n, n, (double)avail / 1e9);
    *jobs = j;
    *threads = t;
}


/* A set-up failure at position `at` (agg_setup): printed now, or kept in
   s (the first one) when s->keep_errors. Returns rc. */
static int setup_fail(agg_setup *s, size_t at, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (s && s->keep_errors) {
        s->at = at;
        vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    } else {
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
    return rc;
}

/* The orders: read (--order) or drawn (--permutations): cheap checks
   first, before loading anything. 0 or the exit status (reported through
   setup_fail). */
int agg_job_orders(job *J, agg_setup *s) {
    const size_t k = J->k, p = J->p;
    if (vpar_agg_check_names(J->o.networks, k) != VPAR_OK)
        return setup_fail(s, 0, VPAR_EX_EXIT_USAGE, "vpar-aggregate: %s", vpar_last_error());
    size_t pk;
    if (!vpar__mul_size(p, k, &pk) || pk > SIZE_MAX / sizeof(double))
        return setup_fail(s, 0, VPAR_EX_EXIT_USAGE, "vpar-aggregate: --permutations too large");
    J->orders = (size_t *)malloc(pk * sizeof *J->orders);
    J->auc = (double *)malloc(pk * sizeof *J->auc);
    J->done = (unsigned char *)calloc(p, 1);
    J->todo = (size_t *)malloc(p * sizeof *J->todo);
    if (!J->orders || !J->auc || !J->done || !J->todo)
        return setup_fail(s, 0, 1, "vpar-aggregate: out of memory");
    if (!J->o.order) {
        vpar_agg_permutations(J->o.seed, p, k, J->orders);
    } else if (vpar_agg_read_order(J->o.order, J->o.networks, k, J->orders) != VPAR_OK) {
        return setup_fail(s, 0, VPAR_EX_EXIT_USAGE, "vpar-aggregate: --order %s", vpar_last_error());
    }
    return 0;
}

/* Annotations, genes, the engine (networks opened and checked); then the
   output directory, only once the inputs are known to be good. */
int agg_job_inputs(job *J, agg_setup *s) {
    options *o = &J->o;
    if (J->t0 == 0) J->t0 = vpar_ex_now();
    size_t ngenes = 0;
    if (vpar_egad_cli_load_quiet(&o->egad, &J->ann, &J->genes, &ngenes) != VPAR_OK)
        return setup_fail(s, 1, VPAR_EX_EXIT_USAGE, "vpar-aggregate: %s", vpar_last_error());
    agg_phase("annotations");
    /* A pool only for the set-up checks, gone before any worker is forked. */
    vpar_pool *setup_pool = NULL;
    vpar_pool_desc pd = {0};
    pd.num_threads = o->threads ? o->threads : vpar_ex_cpu_count();
    if (s && s->pool) o->desc.pool = s->pool;
    else if (pd.num_threads > 1 && vpar_pool_create(&setup_pool, &pd) == VPAR_OK) o->desc.pool = setup_pool;
    size_t at = 0;
    o->desc.check = s ? s->check : NULL;
    o->desc.failed_at = &at;
    vpar_status st = vpar_agg_create(&J->agg, J->ann, (const char *const *)J->genes, ngenes,
                                     o->networks, J->k, &o->desc);
    o->desc.pool = NULL;
    o->desc.check = NULL;
    o->desc.failed_at = NULL;
    if (setup_pool) vpar_pool_destroy(setup_pool);
    agg_phase("engine");
    if (st != VPAR_OK)
        return setup_fail(s, 2 + at, VPAR_EX_EXIT_USAGE, "vpar-aggregate: %s", vpar_last_error());
    if ((!s || !s->no_out_dir) && vpar_ex_mkdir_p(o->out) != 0)
        return setup_fail(s, J->k + 4, VPAR_EX_EXIT_USAGE,
                          "vpar-aggregate: --out %s: cannot create directory: %s", o->out, strerror(errno));
    return 0;
}

/* Resume: a permutation whose file exists and matches is done (the files
   are written atomically, so an existing one is complete). */
int agg_job_resume(job *J) {
    const options *o = &J->o;
    const size_t k = J->k;
    if (!agg_job_manifest(J)) return VPAR_EX_EXIT_USAGE;
    for (size_t i = 0; i < J->p; i++) {
        if (!vpar_ex_shard_owns(&o->shard, i)) continue; /* another shard's */
        char path[4096];
        if (!vpar_agg_perm_csv_path(path, sizeof path, o->out, i + 1)) {
            fprintf(stderr, "vpar-aggregate: --out %s: path too long\n", o->out);
            return VPAR_EX_EXIT_USAGE;
        }
        vpar_status st = o->no_resume ? VPAR_ERR_NOT_FOUND
                                      : vpar_agg_read_perm_csv(path, o->networks, J->orders + i * k, k,
                                                               J->auc + i * k);
        if (st == VPAR_OK) {
            J->done[i] = 1;
            J->resumed++;
            agg_job_done(J, i);
            continue;
        }
        if (st != VPAR_ERR_NOT_FOUND)
            fprintf(stderr, "vpar-aggregate: %s; recomputing it\n", vpar_last_error());
        J->todo[J->ntodo++] = i;
    }
    remove_stale_temps(o);
    if (!o->quiet && J->resumed)
        fprintf(stderr, "vpar-aggregate: resuming: %zu of %zu permutations already complete in %s\n",
                J->resumed, J->ntodo + J->resumed, o->out);
    return 0;
}

/* Computes the permutations still to do (in process or on the process
   pool), under SIGINT/SIGTERM handlers that interrupt cleanly. 0 or the
   exit status; *c gets the counts. */
static int job_run(job *J, run_ctx *c, int jobs, int threads) {
    /* Shared with forked workers: they count steps, whoever finishes one
       redraws the bar. */
    J->progress = (vpar_agg_progress *)mmap(NULL, sizeof *J->progress, PROT_READ | PROT_WRITE,
                                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (J->progress == MAP_FAILED) {
        fprintf(stderr, "vpar-aggregate: mmap: %s\n", strerror(errno));
        return 1;
    }
    vpar_agg_progress_init(J->progress, (uint64_t)J->ntodo * J->k, !J->o.quiet && isatty(2));
    agg_run_ctx_init(c, J, threads);
    const char *hold = getenv("VPAR_AGGREGATE_TEST_HOLD_AFTER");
    c->hold_after = hold ? strtol(hold, NULL, 10) : 0;
    vpar_ex_stop_on_signals(&g_cancel, interrupt_pool);
    J->t1 = vpar_ex_now();
    int ok = 1;
    if (J->ntodo > 0) ok = jobs > 1 ? run_on_procpool(c, jobs) : run_in_process(c);
    J->t2 = vpar_ex_now();
    vpar_agg_progress_finish(J->progress);
    return ok ? 0 : 1;
}

/* The end: interrupted, failed, a shard's line, or aggregate.csv + plot +
   summary line. */
int agg_job_report(const job *J, const run_ctx *c, int run_rc, int jobs, int threads,
                   int interrupted) {
    const options *o = &J->o;
    const size_t k = J->k, ndone = J->resumed + c->written;
    const size_t p = J->ntodo + J->resumed; /* this shard's permutations */
    if (interrupted && ndone < p) {
        fprintf(stderr, "vpar-aggregate: interrupted: %zu of %zu permutations complete in %s; "
                        "rerun the same command to resume\n", ndone, p, o->out);
        return VPAR_EX_EXIT_INTERRUPTED;
    }
    if (run_rc || c->failed || ndone < p || !J->manifest_ok) {
        fprintf(stderr, "vpar-aggregate: %zu of %zu permutations failed; %s not written "
                        "(rerun to retry them)\n", p - ndone, p,
                o->shard.count > 1 ? "this shard's part is incomplete: aggregate.csv" : "aggregate.csv");
        return 1;
    }
    if (o->shard.count > 1) {
        if (!o->quiet)
            fprintf(stderr, "vpar-aggregate: shard %lu/%lu: %zu permutations complete (%zu resumed) "
                            "in %s; when every shard is done: vpar-aggregate --merge %s%s%s\n",
                    o->shard.index, o->shard.count, ndone, J->resumed, o->out, o->out,
                    o->plot ? " --plot " : "", o->plot ? o->plot : "");
        return 0;
    }
    int exit_code = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/aggregate.csv", o->out);
    if (vpar_agg_write_aggregate_csv(path, o->networks, J->orders, J->auc, p, k) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
        exit_code = 1;
    }
    if (o->plot && vpar_agg_write_svg(o->plot, J->auc, p, k, NULL) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: --plot %s\n", vpar_last_error());
        exit_code = 1;
    }
    if (!o->quiet && exit_code == 0) {
        size_t steps = c->written * k;
        double t = J->t2 - J->t1;
        fprintf(stderr, "vpar-aggregate: %zu permutation%s x %zu datasets, %zu genes, %zu terms: "
                        "%zu steps computed in %.2f s (%.3f s per step, -j %d -t %d), "
                        "%zu permutation%s resumed, setup %.2f s; results in %s/aggregate.csv%s%s\n",
                p, p == 1 ? "" : "s", k, vpar_agg_genes(J->agg), vpar_agg_terms(J->agg), steps, t,
                steps ? t / (double)steps : 0.0, jobs, threads, J->resumed,
                J->resumed == 1 ? "" : "s", J->t1 - J->t0, o->out, o->plot ? ", plot in " : "",
                o->plot ? o->plot : "");
    }
    return exit_code;
}

static void job_free(job *J) {
    if (J->progress != MAP_FAILED) munmap(J->progress, sizeof *J->progress);
    vpar_agg_destroy(J->agg);
    if (g_pool) vpar_pool_destroy(g_pool);
    VPAR_FREE(J->genes);
    vpar_egad_annotations_destroy(J->ann);
    free(J->orders);
    free(J->auc);
    free(J->done);
    free(J->todo);
    vpar_ex_parts_free(&J->parts);
}

int main(int argc, char **argv) {
    if (vpar_simd_init() != VPAR_OK) { /* $VPAR_SIMD names no usable path */
        fprintf(stderr, "%s: %s\n", "vpar-aggregate", vpar_last_error());
        return 2;
    }
    job J;
    memset(&J, 0, sizeof J);
    J.progress = MAP_FAILED;
    int rc = parse_options(argc, argv, &J.o);
    if (rc) return rc < 0 ? 0 : rc;
    if (J.o.merge_dir) return agg_merge(&J.o);
#ifdef VPAR_EX_MPI_SIBLING   /* the MPI program is vpar-aggregate-mpi (CMakeLists.txt) */
    if ((rc = vpar_ex_mpi_run_sibling(J.o.journal != NULL, argv, PROG, VPAR_EX_MPI_SIBLING)) != 0) return rc;
#endif
    J.k = J.o.k;
    J.p = (size_t)J.o.permutations;
    agg_phase("exec");
    /* Under mpirun/srun (or --journal) the ranks set up in mpi.c, after
       MPI_Init: they split the network checks and report a failure once. */
    if (agg_mpi_main(&J, &rc)) {
        job_free(&J);
        return rc;
    }
    rc = agg_job_orders(&J, NULL);
    agg_phase("orders");
    if (!rc) rc = agg_job_inputs(&J, NULL);
    if (!rc) rc = agg_job_resume(&J);
    agg_phase("plan");
    if (!rc) {
        int any_h5 = 0, jobs, threads;
        for (size_t i = 0; i < J.k; i++) any_h5 |= vpar_ex_is_hdf5_name(J.o.networks[i]);
        choose_parallelism(&J.o, vpar_agg_genes(J.agg), J.ntodo, any_h5, &jobs, &threads);
        run_ctx c;
        int run_rc = job_run(&J, &c, jobs, threads);
        rc = J.progress == MAP_FAILED ? 1 : agg_job_report(&J, &c, run_rc, jobs, threads, atomic_load_explicit(&g_cancel, memory_order_relaxed));
        if (rc == VPAR_EX_EXIT_INTERRUPTED) rc = vpar_ex_stop_exit_code();
    }
    job_free(&J);
    return rc;
}
