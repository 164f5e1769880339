/* vpar-parallel: utilities (see par_util.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_util.h"

#include "excommon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* The fatal-error hook: the one piece of file-scope state besides what
   signal handlers touch. par_die can be reached from any unit (an
   allocation failing deep inside the event loop), and the runner must get
   the chance to kill its jobs' process groups before the process exits, so
   the hook cannot be passed down every call chain. Set once by the runner
   when it starts jobs, cleared when it has stopped them. */
static struct {
    void (*fn)(void *ctx);
    void *ctx;
} fatal_hook;

void par_set_fatal_hook(void (*fn)(void *ctx), void *ctx) {
    fatal_hook.fn = fn;
    fatal_hook.ctx = ctx;
}

/* "vpar-parallel: <message>\n" on stderr. */
static void par_vmsg(const char *fmt, va_list ap) {
    fputs(PAR_PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void par_die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    par_vmsg(fmt, ap);
    va_end(ap);
    if (fatal_hook.fn) {
        void (*fn)(void *) = fatal_hook.fn;
        fatal_hook.fn = NULL; /* a second fatal error inside the hook just exits */
        fn(fatal_hook.ctx);
    }
    exit(code);
}

void par_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    par_vmsg(fmt, ap);
    va_end(ap);
}

void *par_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) par_die(255, "out of memory (%zu bytes)", n);
    return q;
}

void *par_xcalloc(size_t n, size_t sz) {
    void *q = calloc(n ? n : 1, sz ? sz : 1);
    if (!q) par_die(255, "out of memory");
    return q;
}

char *par_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = par_xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

void par_buf_reserve(par_buf *b, size_t extra) {
    if (b->n + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra + 1) {
        if (cap > SIZE_MAX / 2) par_die(255, "out of memory");
        cap *= 2;
    }
    b->p = par_xrealloc(b->p, cap);
    b->cap = cap;
}

void par_buf_add(par_buf *b, const char *s, size_t n) {
    par_buf_reserve(b, n);
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void par_buf_adds(par_buf *b, const char *s) { par_buf_add(b, s, strlen(s)); }
void par_buf_addc(par_buf *b, char c) { par_buf_add(b, &c, 1); }

void par_buf_clear(par_buf *b) {
    b->n = 0;
    par_buf_reserve(b, 0);
    b->p[0] = 0;
}

void par_buf_free(par_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

void par_buf_printf(par_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) par_die(255, "formatting failed");
    par_buf_reserve(b, (size_t)k);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

double par_now_mono(void) { return vpar_ex_now(); }

double par_now_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int par_parse_long(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return 0;
    *out = v;
    return 1;
}

int par_cpu_count(void) { return vpar_ex_cpu_count(); }

int par_fd_job_limit(void) {
    struct rlimit rl;
    long lim = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        lim = (long)rl.rlim_cur;
    else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        lim = 65536;
    long jobs = (lim - 16) / 2;
    if (jobs > 4096) jobs = 4096;
    return jobs < 1 ? 1 : (int)jobs;
}
