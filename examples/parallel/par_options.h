/* vpar-parallel: the command line — the option table, its parser and the
   parsed values. Parsing errors are usage errors: message and exit 255. */
#ifndef PAR_OPTIONS_H
#define PAR_OPTIONS_H

#include <stddef.h>

enum { PAR_HALT_NEVER = 0, PAR_HALT_SOON, PAR_HALT_NOW };
enum { PAR_WHY_FAIL = 1, PAR_WHY_SUCCESS, PAR_WHY_DONE };

typedef struct par_options {
    const char *jobs_arg; /* -j as given; NULL: the CPU count */
    int keep, dry_run, tag, line_buffer, ungroup, quote, no_run_if_empty;
    long max_args; /* -N; -1 = not given */
    const char *colsep;
    int link;
    char delim;
    double timeout_s;   /* > 0: fixed timeout */
    double timeout_pct; /* > 0: fraction of the median runtime */
    const char *joblog;
    int resume, resume_failed;
    long retries;
    int halt_when, halt_why;
    double halt_pct;   /* fraction, 0 when a count was given */
    double halt_count; /* jobs */
    int bar, eta;
    const char *replace;   /* -I STR: STR instead of {} */
    const char *tagstring; /* --tagstring STR (implies --tag) */
    double delay_s;        /* --delay: seconds between job starts */
    int retry_failed;      /* --retry-failed: rerun the joblog's failed jobs */
    int progress;          /* --progress */
    int nice;              /* --nice N */
    int nice_set;
    const char **argfiles; /* -a FILE, in order */
    size_t nargfiles;
} par_options;

/* Sets the defaults (-N not given, newline delimiter, one attempt). */
void par_options_init(par_options *o);
/* Parses argv[1..]; returns the index of the first command word (argc
   when there is none). Exits for --help, --version and usage errors. */
int par_options_parse(par_options *o, int argc, char **argv);
/* Applies the rules between options (--ungroup wins over --line-buffer,
   at least one attempt). */
void par_options_finish(par_options *o);
/* Jobs at a time for -j's argument (N, N%, +N, -N, 0), clamped to the fd
   budget. Exits on a malformed value. */
int par_options_jobs(const char *s);
/* 1 when a is one of ::: :::: :::+ ::::+ */
int par_is_separator(const char *a);
/* Frees what par_options_parse allocated. */
void par_options_free(par_options *o);

#endif
