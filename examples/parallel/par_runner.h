/* vpar-parallel: the runner — job slots, the event loop, output order,
   timeouts, --halt, --retries, signals and the exit status.

   One event loop waits in poll() on every job's stdout/stderr pipe, on
   our stdout/stderr when output is queued, and on a signalfd (SIGCHLD,
   SIGINT, SIGTERM, SIGQUIT, SIGHUP); a job is finished when it has been
   reaped and both pipes are at end-of-file. Kill sequences go to the job's
   process group for as long as any process of it is left, also after the
   job's first process has exited (a background descendant holding the
   job's stdout is killed too). */
#ifndef PAR_RUNNER_H
#define PAR_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "par_input.h"
#include "par_joblog.h"
#include "par_median.h"
#include "par_options.h"
#include "par_output.h"
#include "par_render.h"
#include "par_spawn.h"
#include "par_util.h"

typedef struct par_job {
    int active;
    pid_t pid; /* 0: never started (spawn failed) */
    int reaped;
    int status;
    int fd_out, fd_err;
    par_buf out, err; /* captured, not yet printed */
    size_t received;
    size_t seq, ridx;
    int attempt;
    double t_start, t_real;
    par_buf cmd, tag;
    int timed_out, kill_stage;
    double kill_next;
    int group_gone; /* kill(-pid) said ESRCH: no process of the job is left */
    int discard; /* killed by --halt now / a signal: neither logged nor printed */
} par_job;

/* An output block finished out of order under -k. */
typedef struct par_pending {
    int done;
    par_buf out, err, tag;
} par_pending;

typedef struct par_retry {
    size_t seq, ridx;
    int attempt;
} par_retry;

typedef struct par_runner {
    const par_options *o;
    const par_input *in;
    const par_template *tpl;
    const par_template *tagtpl; /* --tagstring, or NULL */
    par_spawner sp;
    par_joblog jl;
    par_output out;
    par_median med; /* successful runtimes, for --timeout N% */

    par_job *jobs;
    int nslots, running;

    size_t total;          /* jobs in the input */
    const unsigned char *skip; /* --resume: seq already done */
    size_t next_seq;       /* next new job */
    size_t next_ridx;      /* run index of the next new job (-k order) */
    size_t print_ridx;     /* next run index to print under -k */
    size_t to_run;         /* jobs that will run (not skipped) */

    par_retry *retry; /* ring of jobs waiting for another attempt */
    size_t retry_head, retry_n, retry_cap;
    par_pending *pend; /* -k: ring of finished blocks, power-of-two size */
    size_t pend_cap;

    int sigfd;
    sigset_t orig_mask;
    int xfsz_default; /* SIGXFSZ was SIG_DFL for us: jobs get it back */

    int stop_starting; /* --halt soon, SIGHUP, abort */
    int by_signal;     /* SIGINT/SIGTERM/SIGQUIT: leave without draining output */
    int aborting;      /* --halt now or SIGINT/SIGTERM: kill running jobs */
    int abort_exit;
    int sigint_count;
    size_t completed, failed, started;
    int halt_exit_defined, halt_exit;
    double bar_last, bar_t0;
    double next_start; /* --delay: no job starts before this */

    par_args av;
    par_buf tmp;
    char *scratch; /* read buffer */
} par_runner;

/* Prepares a run of `total` jobs (skip[seq] set: already done) in `jobs`
   slots: opens the joblog (joblog_valid: see par_joblog_open), blocks the signals the loop reads from a
   signalfd, prepares spawning. Fatal on errors. */
void par_runner_init(par_runner *r, const par_options *o, const par_input *in,
                     const par_template *tpl, const par_template *tagtpl, const unsigned char *skip, size_t total, int jobs,
                     long long joblog_valid);
/* Runs every job; returns the exit status (GNU parallel's rules). */
int par_runner_run(par_runner *r);
void par_runner_free(par_runner *r);

#endif
