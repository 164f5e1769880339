/* vpar-parallel: small utilities shared by every unit — fatal errors and
   warnings, checked allocation, a growable byte buffer, clocks, number
   parsing, the CPU count and the file-descriptor budget.

   Calling context: the program is single-threaded; nothing here is
   thread-safe beyond what libc gives. */
#ifndef PAR_UTIL_H
#define PAR_UTIL_H

#include <stddef.h>

#define PAR_PROG "vpar-parallel"

/* Prints "vpar-parallel: <message>" on stderr and exits with `code`. When a
   fatal hook is registered (par_set_fatal_hook), it runs first: the runner
   uses it so that no job outlives a fatal error. */
void par_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Prints "vpar-parallel: <message>" on stderr. */
void par_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Registers fn(ctx) to run once before par_die exits (NULL: none). */
void par_set_fatal_hook(void (*fn)(void *ctx), void *ctx);

/* realloc/calloc that die with "out of memory" instead of returning NULL. */
void *par_xrealloc(void *p, size_t n);
void *par_xcalloc(size_t n, size_t sz);
char *par_xstrdup(const char *s);

/* A growable byte buffer, always NUL-terminated once it holds anything. */
typedef struct par_buf {
    char *p;
    size_t n, cap;
} par_buf;

void par_buf_reserve(par_buf *b, size_t extra);
void par_buf_add(par_buf *b, const char *s, size_t n);
void par_buf_adds(par_buf *b, const char *s);
void par_buf_addc(par_buf *b, char c);
/* Empties b (keeps its memory) and makes b->p a valid empty string. */
void par_buf_clear(par_buf *b);
void par_buf_free(par_buf *b);
void par_buf_printf(par_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds on CLOCK_MONOTONIC (examples/common's vpar_ex_now) /
   CLOCK_REALTIME. */
double par_now_mono(void);
double par_now_real(void);

/* Whole-string base-10 long: 1 on success, 0 when s is not a number. */
int par_parse_long(const char *s, long *out);

/* CPUs this process may run on (the affinity mask), at least 1
   (examples/common's vpar_ex_cpu_count). */
int par_cpu_count(void);
/* Upper bound for -j0 and huge -j: two pipes per job plus spare fds,
   from RLIMIT_NOFILE, capped at 4096. */
int par_fd_job_limit(void);

#endif
