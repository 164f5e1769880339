/* vpar-parallel: writing the jobs' output to our stdout and stderr, with
   --tag prefixes and --line-buffer's whole lines.

   While jobs run, output never blocks the event loop: what stdout or
   stderr cannot take now is queued and written when poll() reports the
   descriptor writable, so signals are heard while a reader is slow or
   stalled. For that, a pipe, terminal or FIFO is reopened non-blocking
   through /proc/self/fd (a new open file description: the caller's and
   the jobs' descriptor stay blocking), a socket is written with
   MSG_DONTWAIT; regular files never block. Where neither works the
   descriptor is written blocking, as before. */
#ifndef PAR_OUTPUT_H
#define PAR_OUTPUT_H

#include <stddef.h>

#include "par_util.h"

typedef struct par_outq {
    int fd;      /* descriptor written (the reopened one, or 1 / 2) */
    int own;     /* fd was opened here (closed by par_output_free) */
    int nonblock;
    int sock;    /* use send(MSG_DONTWAIT) */
    par_buf q;   /* queued bytes q.p[off..q.n) */
    size_t off;
    int dead;    /* a write failed: drop everything */
} par_outq;

typedef struct par_output {
    int broken; /* writing our stdout failed (EPIPE: the reader went away) */
    par_outq s[3]; /* [1] stdout, [2] stderr */
    int same12;    /* stdout and stderr are one pipe/tty/socket (2>&1): one
                      queue, so a job's stdout block stays before its stderr */
} par_output;

/* Blocking output on fds 1 and 2 (what --dry-run uses). */
void par_output_init(par_output *out);
/* Non-blocking output where the descriptor allows it (the runner). */
void par_output_init_async(par_output *out);
void par_output_free(par_output *out);

/* Writes (or queues) p[0..n) for fd (1 or 2). */
void par_write_all(par_output *out, int fd, const char *p, size_t n);
/* Writes p[0..n) to fd, every line (and a trailing partial line) prefixed
   with tag when tag is non-NULL and non-empty. */
void par_emit(par_output *out, int fd, const char *p, size_t n, const par_buf *tag);
/* --line-buffer: writes the complete lines in b and keeps the rest. */
void par_emit_lines(par_output *out, int fd, par_buf *b, const par_buf *tag);
/* printf-style message to fd through the queue. */
void par_out_printf(par_output *out, int fd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Bytes queued for fd 1 and 2. */
size_t par_output_pending(const par_output *out);
/* The descriptor to poll for POLLOUT for stream fd (1 or 2), -1 if
   nothing is queued there. */
int par_output_poll_fd(const par_output *out, int fd);
/* Writes what fd's descriptor takes now (after POLLOUT). */
void par_output_flush(par_output *out, int fd);

#endif
