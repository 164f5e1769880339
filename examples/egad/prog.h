/* examples/egad/prog.h — the vpar-egad program's own units (not the EGAD
   library: that is egad.h). Who holds what:
     main.c   options, the one-machine run (process pool), main
     run.c    one network: open, plan, run, write its CSV (run_network)
     jobs.c   the run's bookkeeping: network names, the shard manifest and
              --resume, summary.csv, --merge
     mpi.c    the same run as an MPI farm (built when MPI was found)
   A new option: options (here), parse_options (main.c), usage (main.c);
   if it changes results, also vpar_egad_cli_hash or egad_config_hash. */
#ifndef VPAR_EGAD_PROG_H
#define VPAR_EGAD_PROG_H

#include "egad.h"
#include "egad_cli.h"
#include "excommon.h"
#include "parts.h"
#include "shard.h"

#define PROG "vpar-egad"


typedef struct options {
    vpar_egad_cli egad;        /* the options shared with vpar-aggregate */
    const char *out;
    int jobs, threads, quiet, resume;
    const char *shard_arg, *merge_dir, *journal;
    vpar_ex_shard shard;       /* {1, 1} unless --shard */
    char **networks;
    int nnet;
} options;

/* What one network's run reports back (fixed size: it lives in the shared
   result map, in MPI messages and in the farm's journal). */
typedef struct net_result {
    int status;        /* 0 ok, else a vpar_status */
    int nterms;
    double mean_auc;
    double seconds;
    char message[480];
} net_result;

/* Shared, read-only after fork. */
typedef struct shared_in {
    const options *opt;
    vpar_egad_annotations *ann;
    char **genes;
    size_t ngenes;
    char config[17];           /* the configuration hash, when config_ok */
    int config_ok;             /* computed while the annotations loaded */
    /* One plan for every .npy network without all-NaN rows (they share
       the genes file), made once before the networks run when two or more
       .npy networks are to be computed (egad_shared_plan); NULL: each
       network plans for itself (a failure is reported per network). */
    vpar_egad_plan *plan;
} shared_in;

/* The bookkeeping of one run (jobs.c). */
typedef struct egad_job {
    char **names;              /* network names (file name without extension) */
    vpar_ex_parts parts;       /* this shard's manifest */
    char config[17];
    net_result *rs;            /* nnet */
    int *crashed;              /* nnet: worker died / not run */
    unsigned char *resumed;    /* nnet: taken from the manifest */
    unsigned char *recorded;   /* nnet: a result came back (egad_job_record) */
    int *todo;                 /* networks to compute */
    int ntodo;
    int manifest_ok;           /* 0 after a manifest write failed (printed) */
} egad_job;

/* run.c */
void egad_run_network(const shared_in *in, int idx, vpar_pool *pool, net_result *r);
/* Makes in->plan when the networks todo[0..ntodo) hold two or more .npy
   files (otherwise, or when it cannot be made, leaves it NULL: the
   networks plan for themselves and report their own errors). Freed by
   egad_shared_plan_free. */
void egad_shared_plan(shared_in *in, const int *todo, int ntodo);
void egad_shared_plan_free(shared_in *in);

/* jobs.c */
/* The configuration hash of the run (16 hex digits); 0 when an input
   cannot be read (printed unless quiet). Any thread. */
int egad_config_hash(const options *o, char out[17], int quiet);
void egad_network_name(const char *path, char *out, size_t cap);
int egad_job_init(egad_job *J, const options *o, const shared_in *in);
void egad_job_free(egad_job *J, const options *o);
/* Prints "vpar-egad: <path>: <msg>", or "vpar-egad: <msg>" when msg starts
   with "<path>:" (vpar's messages name the file): never the name twice. */
void egad_report_failure(const char *path, const char *msg);
void egad_job_record(egad_job *J, const options *o, int idx, const net_result *r);
int egad_write_summary(const char *out, char *const *names, int n, const net_result *rs,
                       const int *crashed);
int egad_job_finish(egad_job *J, const options *o, int interrupted);
int egad_merge(const options *o);

/* mpi.c: 1 when this process runs as an MPI rank (and *exit_code is set). */
int egad_mpi_main(const options *o, shared_in *in, int *exit_code);

#endif
