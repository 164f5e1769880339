/* vpar-parallel: the --joblog file (GNU parallel's format) — writing one
   line per finished job, and reading it back for --resume.

   Format: a header line, then per job
     Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
   separated by TABs. */
#ifndef PAR_JOBLOG_H
#define PAR_JOBLOG_H

#include <stddef.h>

#include "par_util.h"

typedef struct par_joblog {
    int fd;           /* -1: no joblog */
    const char *path;
} par_joblog;

/* One parsed joblog line. */
typedef struct par_joblog_entry {
    long seq, exitval, sig;
} par_joblog_entry;

/* Appends the joblog line of one finished job (with its newline) to l. */
void par_joblog_format(par_buf *l, size_t seq, double t_real, double runtime, size_t received,
                       int exitval, int sig, const char *cmd, size_t cmdlen);

/* Parses joblog text (text[n] must be 0; the text is modified) and calls
   fn for every line that has a Seq, Exitval and Signal (the header and
   malformed lines are skipped). Returns the number of entries. */
size_t par_joblog_parse(char *text, size_t n,
                        void (*fn)(void *user, const par_joblog_entry *e), void *user);

/* --resume: marks skip[seq] for every seq (1..total) the log at path
   records as done (resume_failed: as done successfully). A missing file is
   an empty log; an unreadable one is fatal. */
void par_joblog_load_skip(const char *path, unsigned char *skip, size_t total, int resume_failed);

/* Opens (truncating, or appending under resume) and writes the header when
   the log is new or empty. Fatal on errors. */
void par_joblog_open(par_joblog *jl, const char *path, int resume);
/* Writes one line with a single write() call. */
void par_joblog_write(par_joblog *jl, size_t seq, double t_real, double runtime, size_t received,
                      int exitval, int sig, const char *cmd, size_t cmdlen);
/* Closes the log; warns on error. */
void par_joblog_close(par_joblog *jl);

#endif
