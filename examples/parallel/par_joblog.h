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
    int failed;       /* a write failed (the run fails) */
} par_joblog;

/* One parsed joblog line. */
typedef struct par_joblog_entry {
    long seq, exitval, sig;
    const char *cmd; /* the Command field (rest of the line), not NUL-terminated */
    size_t cmdlen;
} par_joblog_entry;

/* Appends the joblog line of one finished job (with its newline) to l. */
void par_joblog_format(par_buf *l, size_t seq, double t_real, double runtime, size_t received,
                       int exitval, int sig, const char *cmd, size_t cmdlen);

/* Parses joblog text text[0..n) (it need not be NUL-terminated and is
   not modified) and calls fn for every complete line (ending in '\n') that
   has a Seq, Exitval and Signal; the header, empty and malformed lines
   are skipped. A last line without '\n' is torn (a write cut short by a
   full disk or a crash) and ignored. Returns the length of the complete
   lines (the offset just after the last '\n'). */
size_t par_joblog_parse(const char *text, size_t n,
                        void (*fn)(void *user, const par_joblog_entry *e), void *user);

/* --resume: marks skip[seq] for every seq (1..total) the log at path
   records as done (resume_failed: as done successfully). Returns the
   length of the log's complete lines, or -1 when the file does not exist.
   An unreadable log is fatal. */
long long par_joblog_load_skip(const char *path, unsigned char *skip, size_t total,
                               int resume_failed);

/* --retry-failed: reads the log at path (fatal if it cannot) and returns
   the commands of its failed jobs: cmds[seq] (1..*nseq) is the command of
   the last line for seq, NULL when seq is absent or its last line
   succeeded. *valid_len: as par_joblog_load_skip. The strings are owned
   by the returned array's block (free both with par_joblog_free_failed). */
char **par_joblog_load_failed(const char *path, size_t *nseq, long long *valid_len);
void par_joblog_free_failed(char **cmds, size_t nseq);

/* Opens (truncating, or appending under resume) and writes the header when
   the log is new or empty. Under resume, valid_len is what
   par_joblog_load_skip returned: a torn tail after it is cut off first, so
   the next line starts on a line of its own. Fatal on errors. */
void par_joblog_open(par_joblog *jl, const char *path, int resume, long long valid_len);
/* Writes one line with a single write() call. On a failed or short write
   (ENOSPC, EFBIG, EIO) it removes the partial line again, prints
   "cannot write joblog '<path>': <reason>", sets jl->failed and returns -1. */
int par_joblog_write(par_joblog *jl, size_t seq, double t_real, double runtime, size_t received,
                     int exitval, int sig, const char *cmd, size_t cmdlen);
/* Closes the log; warns on error. */
void par_joblog_close(par_joblog *jl);

#endif
