/* vpar-parallel — a small, fast GNU-parallel-style job runner.

   WHAT
     Runs a command once per input (stdin lines, `::: args`, `:::: files`,
     combined as GNU parallel combines them), N at a time, and prints each
     job's output as one block. Replacement strings, --joblog, --resume,
     --retries, --halt, --timeout and the exit status follow GNU parallel;
     docs/parallel.md lists what is supported and every known difference.

         seq 1 10 | vpar-parallel -j4 'gzip -9 < data.{} > data.{}.gz'
         vpar-parallel -k --tag echo {1}-{2} ::: a b ::: 1 2
         vpar-parallel --joblog jobs.log --resume --timeout 200% ./fit {} ::: *.npy

   HOW IT IS FAST
     One process, one event loop: jobs are started with posix_spawn (vfork
     semantics, no page-table copy) directly when the command needs no shell
     and through /bin/sh -c only when it does (pipes, redirections, quotes the
     shell must see, globs, variables ...). Output is captured through pipes
     (no temporary files); the loop waits in poll() on the pipes and a
     signalfd that carries SIGCHLD, SIGINT, SIGTERM and SIGHUP, so there is no
     sleeping, no polling interval and no race between a child's exit and the
     loop's wait. Every job runs in its own process group so that a timeout
     or Ctrl-C can kill the whole job (its children included).

   DETERMINISM
     Job numbering ({#}, the joblog's Seq) and -k output order are the input
     order. Without -k, output blocks appear in completion order.

   LAYOUT (one unit per responsibility; state in structs passed by pointer)
     par_options.c  the command line          par_input.c   input sources, --colsep
     par_render.c   replacement strings       par_spawn.c   starting one job
     par_runner.c   the event loop            par_output.c  writing output
     par_joblog.c   --joblog and --resume     par_median.c  --timeout N%
     par_util.c     buffers, errors, clocks   main.c        this table of contents
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "par_input.h"
#include "par_joblog.h"
#include "par_options.h"
#include "par_output.h"
#include "par_render.h"
#include "par_runner.h"
#include "par_util.h"

/* The input sources in command-line order; -a files come first as GNU
   does; stdin when there is none. */
static void read_sources(par_input *in, const par_options *o, int argc, char **argv, int cmd0,
                         int cmdn) {
    for (size_t k = 0; k < o->nargfiles; k++)
        par_input_read_file(in, par_input_add_source(in, 0), o->argfiles[k]);
    int i = cmdn;
    while (i < argc) {
        const char *sep = argv[i++];
        int linked = sep[strlen(sep) - 1] == '+';
        if (!strncmp(sep, "::::", 4)) {
            int first = 1;
            while (i < argc && !par_is_separator(argv[i])) {
                par_input_read_file(in, par_input_add_source(in, first ? linked : 0), argv[i++]);
                first = 0;
            }
        } else {
            par_source *s = par_input_add_source(in, linked);
            while (i < argc && !par_is_separator(argv[i])) par_input_push(in, s, argv[i++]);
        }
    }
    if (in->nsrc == 0) {
        if (cmd0 == cmdn && isatty(0))
            par_die(255, "no command and no input given (see '" PAR_PROG " --help')");
        par_input_read_file(in, par_input_add_source(in, 0), "-");
    }
}

/* --dry-run: print every command ({%} is (seq - 1) % jobs + 1). */
static int dry_run(const par_options *o, const par_input *in, const par_template *tpl,
                   const par_template *tagtpl, const unsigned char *skip, int jobs_for_slot) {
    par_output out;
    par_output_init(&out);
    par_buf text = {0}, cmd = {0}, tag = {0}, tmp = {0};
    par_args av = {0};
    for (size_t s = 1; s <= in->njobs; s++) {
        if (skip[s]) continue;
        par_input_job_args(in, &av, s);
        int slot = (int)((s - 1) % (size_t)(jobs_for_slot > 0 ? jobs_for_slot : 1)) + 1;
        par_render(&cmd, tpl, &av, s, slot, &tmp);
        if (tagtpl) {
            par_render(&tag, tagtpl, &av, s, slot, &tmp);
            par_buf_add(&text, tag.p, tag.n);
            par_buf_addc(&text, '\t');
        } else if (o->tag) {
            par_render_tag(&tag, &av);
            par_buf_add(&text, tag.p, tag.n);
        }
        par_buf_add(&text, cmd.p, cmd.n);
        par_buf_addc(&text, '\n');
        if (text.n > 65536) { par_write_all(&out, 1, text.p, text.n); text.n = 0; }
    }
    par_write_all(&out, 1, text.p, text.n);
    par_buf_free(&text);
    par_buf_free(&cmd);
    par_buf_free(&tag);
    par_buf_free(&tmp);
    par_args_free(&av);
    return out.broken ? 255 : 0;
}

/* fds 0, 1 and 2 closed by whoever started us: put /dev/null there, or the
   joblog or a pipe would become "stdout" and receive the jobs' output. */
static void ensure_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd < 0) exit(255); /* cannot even say why: stderr is closed */
        if (nfd != fd) { /* lower fds are open, so nfd == fd; be safe anyway */
            dup2(nfd, fd);
            close(nfd);
        }
    }
}

/* The input: the sources on the command line, or under --retry-failed the
   failed commands of the joblog (job seq keeps its number; the others are
   skipped). Returns the skip table (skip[seq]: do not run). */
/* par_input_combine, or exit 255 when the combinations overflow size_t. */
static void combine_or_die(par_input *in) {
    if (par_input_combine(in) < 0) par_die(255, "too many combinations of inputs");
}

static unsigned char *setup_input(par_input *in, par_options *o, int argc, char **argv, int cmd0,
                                  int cmdn, char ***failed, size_t *nfailed,
                                  long long *joblog_valid) {
    char err[512];
    *joblog_valid = -1;
    if (o->retry_failed) {
        if (!o->joblog) par_die(255, "--retry-failed needs --joblog FILE");
        *failed = par_joblog_load_failed(o->joblog, nfailed, joblog_valid);
        par_source *s = par_input_add_source(in, 0);
        for (size_t k = 1; k <= *nfailed; k++)
            par_input_push(in, s, (*failed)[k] ? (*failed)[k] : (char *)"");
        in->no_run_if_empty = 0;
        in->max_args = -1;
        o->resume_failed = 1; /* append to the log */
        combine_or_die(in);
        unsigned char *skip = par_xcalloc(in->njobs + 2, 1);
        for (size_t k = 1; k <= in->njobs; k++) skip[k] = (*failed)[k] == NULL;
        return skip;
    }
    if (par_colsep_compile(&in->colsep, o->colsep, err, sizeof err) < 0) par_die(255, "%s", err);
    read_sources(in, o, argc, argv, cmd0, cmdn);
    combine_or_die(in);
    unsigned char *skip = par_xcalloc(in->njobs + 2, 1);
    if ((o->resume || o->resume_failed) && !o->joblog)
        par_die(255, "--resume and --resume-failed need --joblog FILE");
    if (o->joblog && (o->resume || o->resume_failed))
        *joblog_valid = par_joblog_load_skip(o->joblog, skip, in->njobs, o->resume_failed);
    return skip;
}

/* The command template (no command under --retry-failed: the joblog's
   commands run as they are) and the --tagstring template. */
static void setup_templates(par_template *tpl, par_template *tagtpl, const par_options *o,
                            char **words, int nwords) {
    char err[512];
    par_template_opts topts = {.quote = o->quote, .replace = o->replace};
    if (topts.replace && !strcmp(topts.replace, "{}")) topts.replace = NULL;
    if (par_template_build(tpl, words, o->retry_failed ? 0 : nwords, &topts, err, sizeof err) < 0)
        par_die(255, "%s", err);
    if (o->tagstring) {
        par_template_opts tagopts = {.replace = topts.replace, .raw = 1};
        char *tw[1] = {(char *)o->tagstring};
        if (par_template_build(tagtpl, tw, 1, &tagopts, err, sizeof err) < 0)
            par_die(255, "--tagstring: %s", err);
    }
}

int main(int argc, char **argv) {
    ensure_std_fds();
    par_options o;
    par_options_init(&o);
    int cmd0 = par_options_parse(&o, argc, argv);
    int cmdn = cmd0;
    while (cmdn < argc && !par_is_separator(argv[cmdn])) cmdn++;
    par_options_finish(&o);

    par_input in;
    par_input_init(&in);
    in.delim = o.delim;
    in.no_run_if_empty = o.no_run_if_empty;
    in.link = o.link;
    in.max_args = o.max_args;
    char **failed = NULL;
    size_t nfailed = 0;
    long long joblog_valid;
    unsigned char *skip =
        setup_input(&in, &o, argc, argv, cmd0, cmdn, &failed, &nfailed, &joblog_valid);
    par_template tpl = {0}, tagtpl = {0};
    setup_templates(&tpl, &tagtpl, &o, argv + cmd0, cmdn - cmd0);

    int jobs_for_slot = o.jobs_arg ? par_options_jobs(o.jobs_arg) : par_cpu_count();
    int jobs = jobs_for_slot;
    if (jobs > par_fd_job_limit()) jobs = par_fd_job_limit();
    if ((size_t)jobs > in.njobs && in.njobs > 0) jobs = (int)in.njobs;
    if (jobs < 1) jobs = 1;

    int code;
    const par_template *tagp = o.tagstring ? &tagtpl : NULL;
    if (o.dry_run) {
        code = dry_run(&o, &in, &tpl, tagp, skip, jobs_for_slot);
    } else {
        par_runner r;
        par_runner_init(&r, &o, &in, &tpl, tagp, skip, in.njobs, jobs, joblog_valid);
        code = par_runner_run(&r);
        par_runner_free(&r);
    }
    free(skip);
    par_template_free(&tpl);
    par_template_free(&tagtpl);
    par_input_free(&in);
    par_joblog_free_failed(failed, nfailed);
    par_options_free(&o);
    return code;
}
