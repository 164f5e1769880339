/* vpar-parallel: input sources and their combination, and --colsep.

   An input source is a list of arguments (`::: a b`, one `:::: FILE`, -a
   FILE, or stdin). Sources linked by `:::+`/`::::+` (or all of them under
   --link) form a group; the records are the cartesian product of the
   groups, the last group varying fastest (GNU parallel's order); inside a
   group the n-th arguments go together. A job takes -N records (1 by
   default) and, with --colsep, each argument is split into columns.

   Pure apart from par_input_read_file (which reads a file or stdin and
   exits on a read error); unit tests and fuzzers link it. */
#ifndef PAR_INPUT_H
#define PAR_INPUT_H

#include <regex.h>
#include <stddef.h>

#include "par_util.h"

typedef struct par_source {
    char **v;
    size_t n, cap;
    int linked; /* :::+ / ::::+ : linked to the previous source */
} par_source;

typedef struct par_group {
    size_t first, count, len;
    int recycle;
} par_group;

/* --colsep: mode 0 none, 1 one literal character, 2 a regular expression */
typedef struct par_colsep {
    int mode;
    char ch;
    regex_t re;
} par_colsep;

typedef struct par_input {
    /* settings, from the options */
    char delim;          /* argument separator in files ('\n', -0, -d) */
    int no_run_if_empty; /* -r: drop whitespace-only arguments */
    int link;            /* --link: all sources linked, shorter recycled */
    long max_args;       /* -N; -1 not given, 0: -N0 */
    par_colsep colsep;
    /* sources, in command-line order */
    par_source *src;
    size_t nsrc, capsrc;
    int stdin_used;
    char **filebufs; /* file contents the arguments point into */
    size_t nfilebufs;
    /* combination (par_input_combine) */
    par_group *grp;
    size_t ngrp;
    size_t nrecords; /* combined records */
    size_t njobs;    /* jobs: records grouped -N at a time */
} par_input;

/* The arguments of one job: pointers to input strings, or to pieces cut
   out by --colsep (kept in `store`). */
typedef struct par_args {
    const char **v;
    size_t n, cap;
    par_buf store; /* NUL-separated copies of column pieces */
    size_t *offs;  /* per arg: SIZE_MAX = pointer in v, else offset in store */
} par_args;

/* Zeroes `in` and sets the defaults: newline delimiter, -N not given. */
void par_input_init(par_input *in);
void par_input_free(par_input *in);

/* Appends a new empty source (linked: to the previous one). */
par_source *par_input_add_source(par_input *in, int linked);
/* Appends one argument (the string is not copied; -r may drop it). */
void par_input_push(par_input *in, par_source *s, char *v);
/* Splits data[0..n) (NUL-terminated at data[n], modified in place) at the
   delimiter into arguments of s; a last item without delimiter counts. */
void par_input_split(par_input *in, par_source *s, char *data, size_t n);
/* Reads FILE (or stdin for "-") whole into s. Exits 255 when it cannot. */
void par_input_read_file(par_input *in, par_source *s, const char *path);

/* Combines the sources into records and jobs (fills grp, nrecords, njobs).
   An empty source among non-empty ones first gets one empty argument
   (GNU's rule; under --link it is recycled like any shorter source).
   Returns 0, or -1 when the number of combinations overflows size_t
   (nrecords and njobs are then 0; the caller reports it). */
int par_input_combine(par_input *in);
/* The arguments of job `seq` (1-based, <= njobs) into a. */
void par_input_job_args(const par_input *in, par_args *a, size_t seq);
void par_args_free(par_args *a);

/* Compiles a --colsep spec: a single character (or \t, \n, an escaped
   punctuation character) splits literally, anything else is a POSIX ERE.
   Returns 0, or -1 with a message in err. */
int par_colsep_compile(par_colsep *c, const char *spec, char *err, size_t errlen);
void par_colsep_free(par_colsep *c);
/* Appends the columns of s to a (one argument when mode is 0). */
void par_colsep_split(const par_colsep *c, par_args *a, const char *s);
/* After pushing: turns store offsets into pointers (store may have moved). */
void par_args_finish(par_args *a);

#endif
