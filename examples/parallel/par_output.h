/* vpar-parallel: writing the jobs' output to our stdout and stderr, with
   --tag prefixes and --line-buffer's whole lines. */
#ifndef PAR_OUTPUT_H
#define PAR_OUTPUT_H

#include <stddef.h>

#include "par_util.h"

typedef struct par_output {
    int broken; /* writing our stdout failed (EPIPE: the reader went away) */
} par_output;

/* Writes everything to fd (1 or 2) or records the failure in out. */
void par_write_all(par_output *out, int fd, const char *p, size_t n);
/* Writes p[0..n) to fd, every line (and a trailing partial line) prefixed
   with tag when tag is non-NULL and non-empty. */
void par_emit(par_output *out, int fd, const char *p, size_t n, const par_buf *tag);
/* --line-buffer: writes the complete lines in b and keeps the rest. */
void par_emit_lines(par_output *out, int fd, par_buf *b, const par_buf *tag);

#endif
