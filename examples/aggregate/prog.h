/* examples/aggregate/prog.h — the vpar-aggregate program's own units (the
   engine is aggregate.h, the bookkeeping I/O aggregate_io.h). Who holds
   what:
     main.c   options, the one-machine run (in process or on the process
              pool), resume from the permutation files, the report, main
     jobs.c   the shard manifest (examples/common/parts.h), the
              configuration hash, --merge
     mpi.c    the same run as an MPI farm (built when MPI was found)
   A new option: options (here), own_option/parse_options (main.c), the
   usage text; if it changes results, also agg_config_hash (jobs.c). */
#ifndef VPAR_AGGREGATE_PROG_H
#define VPAR_AGGREGATE_PROG_H

#include <stdatomic.h>

#include "aggregate.h"
#include "egad_cli.h"
#include "parts.h"
#include "shard.h"

#define PROG "vpar-aggregate"


typedef struct options {
    vpar_egad_cli egad;           /* the options shared with vpar-egad */
    const char *order, *out, *plot;
    uint64_t seed;
    int have_seed, permutations, jobs, threads, quiet, no_resume;
    const char *shard_arg, *merge_dir, *journal;
    vpar_ex_shard shard;          /* {1, 1} unless --shard */
    vpar_agg_desc desc;
    const char *const *networks;
    size_t k;
} options;

/* Everything main sets up, freed by job_free. */
typedef struct job {
    options o;
    size_t k, p;
    size_t *orders, *todo;        /* p x k; permutations to compute */
    double *auc;                  /* p x k */
    unsigned char *done;          /* p */
    size_t ntodo, resumed;
    vpar_egad_annotations *ann;
    char **genes;
    vpar_agg *agg;
    vpar_agg_progress *progress;  /* MAP_SHARED, or MAP_FAILED */
    double t0, t1, t2;            /* start, setup done, permutations done */
    vpar_ex_parts parts;          /* this shard's manifest (jobs.c) */
    char config[17];
    int manifest_ok;              /* 0 after a manifest write failed (printed) */
} job;

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
    struct job *job;              /* the manifest (parent / rank 0) */
} run_ctx;

/* The set-up of one process (main.c's agg_job_orders, agg_job_inputs).
   One process (NULL): errors printed, every network checked, --out
   created. An MPI rank (mpi.c) passes its pool and its share of the
   checks and keeps the error: the ranks then print the job's first
   failure once (agg_mpi_main). */
typedef struct agg_setup {
    vpar_pool *pool;             /* for the network checks; NULL: made for them */
    const unsigned char *check;  /* vpar_agg_desc.check; NULL: every network */
    int no_out_dir;              /* do not create --out (only rank 0 writes) */
    int keep_errors;             /* keep the failure here instead of printing */
    /* the failure kept: `at` orders failures as one process meets them:
       0 names and orders, 1 annotations and genes, 2 + vpar_agg_desc's
       failed_at (the networks, the plan), k + 4 --out */
    size_t at;
    char msg[8192];              /* "vpar-aggregate: ...", no newline */
} agg_setup;

/* main.c: the orders (drawn or --order), then the inputs: annotations,
   genes, the engine (vpar_agg_create), --out. 0 or the exit status. */
int agg_job_orders(job *J, agg_setup *s);
int agg_job_inputs(job *J, agg_setup *s);

/* main.c: c filled from J (o, agg, k, p, orders, todo, ntodo, auc, done,
   progress, job); the rest zero. */
void agg_run_ctx_init(run_ctx *c, job *J, int threads);
/* main.c: permutation i finished with k mean AUCs: its CSV (and the
   manifest). 0 after printing a failure. */
int agg_finish_permutation(run_ctx *c, size_t i, const double *auc);
/* main.c: the end of a run: aggregate.csv + plot + summary line, or the
   shard's line, or why not. Returns the exit status. */
int agg_job_report(const job *J, const run_ctx *c, int run_rc, int jobs, int threads,
                   int interrupted);

/* main.c: which permutations are left (files of a previous run that
   verify are done; only this shard's); writes the manifest first. 0 or the
   exit status (printed). */
int agg_job_resume(job *J);

/* jobs.c */
int agg_job_manifest(job *J);            /* hash, manifest, written; 0: printed */
void agg_job_done(job *J, size_t i);     /* permutation i's file is final */
int agg_merge(const options *o);         /* --merge: the exit status */

/* main.c: VPAR_AGGREGATE_PHASES=1 (diagnosis of the start-up cost, e.g.
   under mpirun): each process prints on stderr, when a set-up phase ends,
   its wall and CPU seconds (since the previous mark; the first mark counts
   from the process's start, so exec and the dynamic loader are included)
   and the totals so far. `name`: the phase that just ended. Not
   thread-safe: one thread at a time (the main thread, or the one task
   thread of an MPI rank once the main thread has stopped marking). */
void agg_phase(const char *name);

/* mpi.c: 1 when this process runs as an MPI rank (and *exit_code is set). */
int agg_mpi_main(job *J, int *exit_code);

#endif
