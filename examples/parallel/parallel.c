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
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vpar/common.h"

#define PROG "vpar-parallel"

extern char **environ;

/* ------------------------------------------------------------------------ */
/* utilities                                                                */

static void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warnx(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) die(255, "out of memory (%zu bytes)", n);
    return q;
}
static void *xcalloc(size_t n, size_t sz) {
    void *q = calloc(n ? n : 1, sz ? sz : 1);
    if (!q) die(255, "out of memory");
    return q;
}

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void buf_reserve(buf *b, size_t extra) {
    if (b->n + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra + 1) {
        if (cap > SIZE_MAX / 2) die(255, "out of memory");
        cap *= 2;
    }
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}
static void buf_add(buf *b, const char *s, size_t n) {
    buf_reserve(b, n);
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void buf_adds(buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_addc(buf *b, char c) { buf_add(b, &c, 1); }
static void buf_free(buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}
static void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) die(255, "formatting failed");
    buf_reserve(b, (size_t)k);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double now_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Set when writing our own stdout failed (EPIPE: the reader went away). */
static int g_output_broken;

/* Writes everything or records the failure; waits in poll() if the
   descriptor was left non-blocking by whoever gave it to us. */
static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            (void)poll(&pf, 1, -1);
        } else {
            if (fd == 1 && !g_output_broken) {
                g_output_broken = 1;
                if (errno != EPIPE) warnx("cannot write output: %s", strerror(errno));
            }
            return;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* options                                                                  */

enum { HALT_NEVER = 0, HALT_SOON, HALT_NOW };
enum { WHY_FAIL = 1, WHY_SUCCESS, WHY_DONE };

typedef struct options {
    const char *jobs_arg;
    int jobs;
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
} options;

static options O;

static void usage(FILE *f) {
    fputs(
        "Usage: " PROG " [options] [command [args]] [::: args | :::: files ...]\n"
        "       ... | " PROG " [options] [command [args]]\n"
        "Runs command once per argument, several at a time (GNU parallel compatible).\n"
        "\n"
        "Input:\n"
        "  ::: a b c          arguments from the command line (one input source)\n"
        "  :::: file          arguments from a file, one per line ('-' = stdin)\n"
        "  :::+ / ::::+       link this source to the previous one (no combinations)\n"
        "  -a, --arg-file F   like :::: F\n"
        "  --link, --xapply   link all sources; shorter ones are recycled\n"
        "  -N n               n arguments per job (-N0: one input, no argument)\n"
        "  -C, --colsep RE    split each input into columns {1} {2} ... (POSIX ERE)\n"
        "  -0, --null         arguments are separated by NUL; -d C: by character C\n"
        "  -r                 skip empty input lines\n"
        "Replacement strings:\n"
        "  {}  {.}  {/}  {//}  {/.}  {#} (job number)  {%} (job slot)\n"
        "  {n} {n.} {n/} {n//} {n/.}  n-th argument (negative: from the end)\n"
        "  Without any replacement string, {} is appended to the command.\n"
        "Running:\n"
        "  -j, --jobs N|N%|+N|-N|0   jobs at a time (default: number of CPUs; 0: many)\n"
        "  --dry-run          print the commands instead of running them\n"
        "  -k, --keep-order   print output in input order\n"
        "  --tag              prefix each output line with the arguments and a TAB\n"
        "  --line-buffer      print whole lines as soon as they arrive\n"
        "  -u, --ungroup      do not capture output (fastest, lines may mix)\n"
        "  -q, --quote        quote the command (run it without shell expansion)\n"
        "  --timeout T        kill a job after T (s, m, h suffixes) or T% of the\n"
        "                     median runtime of the successful jobs so far\n"
        "  --retries N        run a failing job up to N times\n"
        "  --halt WHEN,WHY=N  now|soon, fail|success|done = N or N%\n"
        "  --joblog FILE      log each job (GNU format); --resume, --resume-failed\n"
        "  --bar, --eta       progress on stderr\n"
        "  --will-cite        accepted and ignored\n"
        "  -h, --help         this help;  -V, --version  the version\n"
        "\n"
        "Exit status: 0 all jobs succeeded; 1-100 that many jobs failed; 101 more\n"
        "than 100 failed; 255 other error (bad usage, interrupted). With --halt\n"
        "fail=1 the status of the failing job.\n",
        f);
}

static int cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Upper bound for -j0 and huge -j: two pipes per job plus a few spare fds. */
static int fd_job_limit(void) {
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

static int parse_long(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return 0;
    *out = v;
    return 1;
}

static int parse_jobs(const char *s) {
    int cpus = cpu_count();
    long v;
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '%') {
        char tmp[64];
        if (len >= sizeof tmp) goto bad;
        memcpy(tmp, s, len - 1);
        tmp[len - 1] = 0;
        char *end;
        errno = 0;
        double pct = strtod(tmp, &end);
        if (errno || end == tmp || *end || !(pct >= 0)) goto bad;
        v = (long)floor(cpus * pct / 100.0);
        return v < 1 ? 1 : (v > fd_job_limit() ? fd_job_limit() : (int)v);
    }
    if (!parse_long(s, &v)) goto bad;
    if (s[0] == '+' || (s[0] == '-' && v != 0)) v = cpus + v;
    else if (v < 0) goto bad;
    if (v == 0) return fd_job_limit();
    if (v < 1) v = 1;
    return v > fd_job_limit() ? fd_job_limit() : (int)v;
bad:
    die(255, "-j: '%s' is not a number of jobs (use N, N%%, +N, -N or 0)", s);
}

/* GNU's multiply_time_units: "90", "1.5", "2m", "1h30m", "1d". */
static double parse_time_units(const char *s, const char *opt) {
    double total = 0;
    const char *p = s;
    if (!*p) goto bad;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (errno || end == p || !(v >= 0)) goto bad;
        p = end;
        double mult = 1;
        switch (*p) {
        case 's': case 'S': mult = 1; p++; break;
        case 'm': case 'M': mult = 60; p++; break;
        case 'h': case 'H': mult = 3600; p++; break;
        case 'd': case 'D': mult = 86400; p++; break;
        case 0: break;
        default: goto bad;
        }
        total += v * mult;
    }
    return total;
bad:
    die(255, "%s: '%s' is not a duration (seconds, or with s/m/h/d suffixes)", opt, s);
}

static void parse_timeout(const char *s) {
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '%') {
        char tmp[64];
        if (len >= sizeof tmp) die(255, "--timeout: '%s' is too long", s);
        memcpy(tmp, s, len - 1);
        tmp[len - 1] = 0;
        char *end;
        errno = 0;
        double v = strtod(tmp, &end);
        if (errno || end == tmp || *end || !(v > 0))
            die(255, "--timeout: '%s' is not a positive percentage", s);
        O.timeout_pct = v / 100.0;
        O.timeout_s = 0;
    } else {
        O.timeout_s = parse_time_units(s, "--timeout");
        O.timeout_pct = 0;
        if (!(O.timeout_s > 0)) die(255, "--timeout: '%s' must be more than 0", s);
    }
}

/* GNU's parse_halt, with its error messages. */
static void parse_halt(const char *s) {
    char spec[128];
    if (!strcmp(s, "0")) s = "never";
    else if (!strcmp(s, "1")) s = "soon,fail=1";
    else if (!strcmp(s, "2")) s = "now,fail=1";
    else if (!strcmp(s, "-1")) s = "soon,success=1";
    else if (!strcmp(s, "-2")) s = "now,success=1";
    if (strlen(s) >= sizeof spec - 16) die(255, "--halt: '%s' is too long", s);
    size_t len = strlen(s);
    int allpct = len > 1 && s[len - 1] == '%';
    for (size_t i = 0; allpct && i + 1 < len; i++)
        if (!isdigit((unsigned char)s[i])) allpct = 0;
    if (allpct) snprintf(spec, sizeof spec, "soon,fail=%s", s);
    else snprintf(spec, sizeof spec, "%s", s);
    char *when = spec, *why = NULL, *val = NULL;
    char *c = strpbrk(when, ",=");
    if (c) {
        *c = 0;
        why = c + 1;
        c = strpbrk(why, ",=");
        if (c) {
            *c = 0;
            val = c + 1;
        }
    }
    if (!strcmp(when, "never")) O.halt_when = HALT_NEVER;
    else if (!strcmp(when, "soon")) O.halt_when = HALT_SOON;
    else if (!strcmp(when, "now")) O.halt_when = HALT_NOW;
    else die(255, "--halt must have 'never', 'soon', or 'now' (got '%s')", s);
    if (O.halt_when == HALT_NEVER) return;
    if (why && !strcmp(why, "fail")) O.halt_why = WHY_FAIL;
    else if (why && !strcmp(why, "success")) O.halt_why = WHY_SUCCESS;
    else if (why && !strcmp(why, "done")) O.halt_why = WHY_DONE;
    else die(255, "--halt %s must be followed by ,success or ,fail or ,done (got '%s')", when, s);
    size_t vl = val ? strlen(val) : 0;
    int digits = vl > 0;
    for (size_t i = 0; i < vl; i++)
        if (!isdigit((unsigned char)val[i]) && !(i == vl - 1 && val[i] == '%' && i > 0)) digits = 0;
    if (!digits) die(255, "--halt %s,%s must be followed by =number or =percent%% (got '%s')",
                     when, why, s);
    if (val[vl - 1] == '%') {
        O.halt_pct = atof(val) / 100.0;
        O.halt_count = 0;
    } else {
        O.halt_count = atof(val);
        O.halt_pct = 0;
    }
}

/* Backslash escapes as GNU accepts them for -d and --colsep. */
static char unescape_char(const char *s, const char *opt) {
    if (s[0] == '\\' && s[1] && !s[2]) {
        switch (s[1]) {
        case 'n': return '\n';
        case 't': return '\t';
        case '0': return '\0';
        case 'r': return '\r';
        case '\\': return '\\';
        default: break;
        }
    }
    if (s[0] && !s[1]) return s[0];
    die(255, "%s: '%s' must be a single character (or \\n, \\t, \\0)", opt, s);
}

/* ------------------------------------------------------------------------ */
/* input sources                                                            */

typedef struct source {
    char **v;
    size_t n, cap;
    int linked; /* :::+ / ::::+ : linked to the previous source */
} source;

static source *g_src;
static size_t g_nsrc, g_capsrc;

static source *new_source(int linked) {
    if (g_nsrc == g_capsrc) {
        g_capsrc = g_capsrc ? 2 * g_capsrc : 4;
        g_src = xrealloc(g_src, g_capsrc * sizeof *g_src);
    }
    source *s = &g_src[g_nsrc++];
    memset(s, 0, sizeof *s);
    s->linked = linked;
    return s;
}

static void source_push(source *s, char *v) {
    if (O.no_run_if_empty) {
        const char *p = v;
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = v;
}

static int g_stdin_used;
static char **g_filebufs;
static size_t g_nfilebufs;

/* Reads a whole file (or stdin for "-") and splits it at the delimiter.
   The buffer lives until exit: the arguments point into it. */
static void read_source_file(source *s, const char *path) {
    int fd;
    if (!strcmp(path, "-")) {
        if (g_stdin_used) die(255, "stdin can be read only once as an input source");
        g_stdin_used = 1;
        fd = 0;
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) die(255, "cannot open input file '%s': %s", path, strerror(errno));
    }
    buf b = {0};
    for (;;) {
        buf_reserve(&b, 65536);
        ssize_t r = read(fd, b.p + b.n, b.cap - b.n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die(255, "cannot read input '%s': %s", path, strerror(errno));
        if (r == 0) break;
        b.n += (size_t)r;
    }
    if (fd != 0) close(fd);
    if (!b.p) buf_reserve(&b, 1);
    b.p[b.n] = 0;
    char *p = b.p, *end = b.p + b.n;
    while (p < end) {
        char *d = memchr(p, O.delim, (size_t)(end - p));
        if (!d) {
            source_push(s, p); /* last item without a delimiter */
            break;
        }
        *d = 0;
        source_push(s, p);
        p = d + 1;
    }
    /* kept until exit: the arguments point into it */
    g_filebufs = xrealloc(g_filebufs, (g_nfilebufs + 1) * sizeof *g_filebufs);
    g_filebufs[g_nfilebufs++] = b.p;
}

/* Groups: a run of linked sources. Records are the cartesian product of the
   groups, the last group varying fastest (GNU's order). */
typedef struct group {
    size_t first, count, len;
    int recycle;
} group;
static group *g_grp;
static size_t g_ngrp;
static size_t g_nrecords;

static void build_groups(void) {
    g_grp = xcalloc(g_nsrc, sizeof *g_grp);
    g_ngrp = 0;
    for (size_t i = 0; i < g_nsrc; i++) {
        if (i == 0 || (!g_src[i].linked && !O.link)) {
            g_grp[g_ngrp].first = i;
            g_grp[g_ngrp].count = 0;
            g_grp[g_ngrp].recycle = O.link;
            g_ngrp++;
        }
        g_grp[g_ngrp - 1].count++;
    }
    g_nrecords = g_ngrp ? 1 : 0;
    for (size_t g = 0; g < g_ngrp; g++) {
        group *gr = &g_grp[g];
        size_t len = g_src[gr->first].n;
        for (size_t k = 1; k < gr->count; k++) {
            size_t n = g_src[gr->first + k].n;
            if (gr->recycle ? n > len : n < len) len = n;
        }
        /* --link with an empty source gives nothing to recycle. */
        if (gr->recycle)
            for (size_t k = 0; k < gr->count; k++)
                if (g_src[gr->first + k].n == 0) len = 0;
        gr->len = len;
        if (len && g_nrecords > SIZE_MAX / len) die(255, "too many combinations of inputs");
        g_nrecords *= len;
    }
}

/* --colsep: a single literal character is split without regex. */
static regex_t g_colsep_re;
static int g_colsep_mode; /* 0 none, 1 char, 2 regex */
static char g_colsep_char;

static void setup_colsep(void) {
    if (!O.colsep) return;
    buf pat = {0};
    for (const char *p = O.colsep; *p; p++) {
        if (p[0] == '\\' && p[1] == 't') { buf_addc(&pat, '\t'); p++; }
        else if (p[0] == '\\' && p[1] == 'n') { buf_addc(&pat, '\n'); p++; }
        else buf_addc(&pat, *p);
    }
    if (pat.n == 0) die(255, "--colsep: empty separator");
    if (pat.n == 1 && !strchr(".[]()*+?{}|^$\\", pat.p[0])) {
        g_colsep_mode = 1;
        g_colsep_char = pat.p[0];
    } else if (pat.n == 2 && pat.p[0] == '\\' && !isalnum((unsigned char)pat.p[1])) {
        g_colsep_mode = 1;
        g_colsep_char = pat.p[1];
    } else {
        int rc = regcomp(&g_colsep_re, pat.p, REG_EXTENDED);
        if (rc) {
            char msg[256];
            regerror(rc, &g_colsep_re, msg, sizeof msg);
            die(255, "--colsep: bad regular expression '%s': %s", O.colsep, msg);
        }
        g_colsep_mode = 2;
    }
    buf_free(&pat);
}

/* The arguments of one job: offsets into a scratch buffer (strings that
   --colsep cut out) or pointers to input strings. */
typedef struct argv_vec {
    const char **v;
    size_t n, cap;
    buf store;     /* NUL-separated copies of column pieces */
    size_t *offs;  /* per arg: SIZE_MAX = pointer in v, else offset in store */
} argv_vec;

static void av_push_ptr(argv_vec *a, const char *s, size_t off) {
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 8;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
        a->offs = xrealloc(a->offs, a->cap * sizeof *a->offs);
    }
    a->v[a->n] = s;
    a->offs[a->n] = off;
    a->n++;
}

static void av_push_piece(argv_vec *a, const char *s, size_t len) {
    size_t off = a->store.n;
    buf_add(&a->store, s, len);
    buf_addc(&a->store, 0);
    av_push_ptr(a, NULL, off);
}

static void av_push_value(argv_vec *a, const char *s) {
    if (g_colsep_mode == 0) {
        av_push_ptr(a, s, SIZE_MAX);
    } else if (g_colsep_mode == 1) {
        const char *p = s;
        for (;;) {
            const char *c = strchr(p, g_colsep_char);
            if (!c) { av_push_piece(a, p, strlen(p)); break; }
            av_push_piece(a, p, (size_t)(c - p));
            p = c + 1;
        }
    } else {
        const char *p = s;
        regmatch_t m;
        int eflags = 0;
        while (*p && regexec(&g_colsep_re, p, 1, &m, eflags) == 0) {
            if (m.rm_eo == m.rm_so) { /* empty match: no split here */
                if (p[m.rm_so] == 0) break;
                /* search again one character further */
                const char *q = p + m.rm_so + 1;
                regmatch_t m2;
                if (*q == 0 || regexec(&g_colsep_re, q, 1, &m2, REG_NOTBOL) != 0 ||
                    m2.rm_eo == m2.rm_so)
                    break;
                av_push_piece(a, p, (size_t)(q - p) + (size_t)m2.rm_so);
                p = q + m2.rm_eo;
            } else {
                av_push_piece(a, p, (size_t)m.rm_so);
                p += m.rm_eo;
            }
            eflags = REG_NOTBOL;
        }
        av_push_piece(a, p, strlen(p));
    }
}

static void av_finish(argv_vec *a) {
    for (size_t i = 0; i < a->n; i++)
        if (a->offs[i] != SIZE_MAX) a->v[i] = a->store.p + a->offs[i];
}

/* The arguments of job `seq` (1-based). */
static void job_args(argv_vec *a, size_t seq) {
    a->n = 0;
    a->store.n = 0;
    size_t per = O.max_args > 0 ? (size_t)O.max_args : 1;
    size_t r0 = (seq - 1) * per;
    size_t r1 = r0 + per < g_nrecords ? r0 + per : g_nrecords;
    if (O.max_args != 0) {
        size_t *idx = g_ngrp ? xcalloc(g_ngrp, sizeof *idx) : NULL;
        for (size_t r = r0; r < r1; r++) {
            size_t rem = r;
            for (size_t g = g_ngrp; g-- > 0;) {
                idx[g] = rem % g_grp[g].len;
                rem /= g_grp[g].len;
            }
            for (size_t g = 0; g < g_ngrp; g++)
                for (size_t k = 0; k < g_grp[g].count; k++) {
                    source *s = &g_src[g_grp[g].first + k];
                    av_push_value(a, s->v[idx[g] % s->n]);
                }
        }
        free(idx);
    }
    av_finish(a);
}

/* ------------------------------------------------------------------------ */
/* command template                                                         */

enum { SEG_LIT, SEG_ARG, SEG_SEQ, SEG_SLOT };
enum { MOD_NONE, MOD_DOT, MOD_BASE, MOD_DIR, MOD_BASEDOT };

typedef struct seg {
    int kind, mod, quote;
    long pos; /* 0: all arguments; >0 1-based; <0 from the end */
    char *lit;
    size_t len;
} seg;

static seg *g_seg;
static size_t g_nseg, g_capseg;

static void add_seg(seg s) {
    if (g_nseg == g_capseg) {
        g_capseg = g_capseg ? 2 * g_capseg : 16;
        g_seg = xrealloc(g_seg, g_capseg * sizeof *g_seg);
    }
    g_seg[g_nseg++] = s;
}

/* GNU parallel's shell_quote_scalar_default. */
static int needs_quote(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '/') || c >= 0x80)
            return 1;
    }
    return 0;
}
static void add_quoted(buf *b, const char *s, size_t n) {
    if (n == 0) { buf_add(b, "''", 2); return; }
    if (!needs_quote(s, n)) { buf_add(b, s, n); return; }
    buf q = {0};
    buf_addc(&q, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') buf_add(&q, "'\"'\"'", 5);
        else buf_addc(&q, s[i]);
    }
    buf_addc(&q, '\'');
    /* GNU removes the '' left at either end when s starts/ends with ' */
    const char *p = q.p;
    size_t len = q.n;
    if (len >= 2 && p[0] == '\'' && p[1] == '\'') { p += 2; len -= 2; }
    if (len >= 2 && p[len - 1] == '\'' && p[len - 2] == '\'') len -= 2;
    buf_add(b, p, len);
    buf_free(&q);
}

static void add_lit(const char *s, size_t n, int quote) {
    if (n == 0) return;
    seg sg = {.kind = SEG_LIT};
    buf b = {0};
    if (quote) add_quoted(&b, s, n);
    else buf_add(&b, s, n);
    sg.lit = b.p;
    sg.len = b.n;
    add_seg(sg);
}

/* Recognises a replacement string at s ("{...}"); fills sg, returns its
   length or 0. */
static size_t parse_rpl(const char *s, seg *sg) {
    if (s[0] != '{') return 0;
    const char *p = s + 1;
    memset(sg, 0, sizeof *sg);
    sg->kind = SEG_ARG;
    sg->quote = 1;
    if (*p == '#' && p[1] == '}') { sg->kind = SEG_SEQ; return 3; }
    if (*p == '%' && p[1] == '}') { sg->kind = SEG_SLOT; return 3; }
    if (*p == '-' || isdigit((unsigned char)*p)) {
        const char *q = p + (*p == '-');
        if (!isdigit((unsigned char)*q)) return 0;
        long v = 0;
        while (isdigit((unsigned char)*q)) {
            if (v > 100000000) return 0;
            v = v * 10 + (*q - '0');
            q++;
        }
        /* GNU: {0} is {} (every argument); {00}, {-0} are always empty */
        if (v == 0) sg->pos = (q - p == 1 && *p == '0') ? 0 : LONG_MAX;
        else sg->pos = *p == '-' ? -v : v;
        p = q;
    }
    if (p[0] == '}') sg->mod = MOD_NONE, p += 1;
    else if (p[0] == '.' && p[1] == '}') sg->mod = MOD_DOT, p += 2;
    else if (p[0] == '/' && p[1] == '}') sg->mod = MOD_BASE, p += 2;
    else if (p[0] == '/' && p[1] == '/' && p[2] == '}') sg->mod = MOD_DIR, p += 3;
    else if (p[0] == '/' && p[1] == '.' && p[2] == '}') sg->mod = MOD_BASEDOT, p += 3;
    else return 0;
    return (size_t)(p - s);
}

static void build_template(char **words, int nwords) {
    int any = 0;
    for (int w = 0; w < nwords; w++) {
        if (w > 0) add_lit(" ", 1, 0);
        const char *s = words[w];
        const char *lit = s;
        while (*s) {
            seg sg;
            size_t k = *s == '{' ? parse_rpl(s, &sg) : 0;
            if (k) {
                add_lit(lit, (size_t)(s - lit), O.quote);
                add_seg(sg);
                any = 1;
                s += k;
                lit = s;
            } else {
                s++;
            }
        }
        add_lit(lit, (size_t)(s - lit), O.quote);
        /* -q keeps an empty word as an argument */
        if (O.quote && !words[w][0]) add_lit("''", 2, 0);
    }
    if (nwords == 0) {
        seg sg = {.kind = SEG_ARG, .quote = 0};
        add_seg(sg);
    } else if (!any) {
        add_lit(" ", 1, 0);
        seg sg = {.kind = SEG_ARG, .quote = 1};
        add_seg(sg);
    }
}

/* Perl's File::Basename::dirname on Unix, which GNU uses for {//}. */
static void perl_dirname(buf *out, const char *s) {
    const char *slash = strrchr(s, '/');
    size_t dl;
    const char *base;
    if (!slash) { buf_add(out, ".", 1); return; }
    dl = (size_t)(slash - s) + 1;
    base = slash + 1;
    /* strip trailing separators, keeping one character */
    while (dl > 1 && s[dl - 1] == '/') dl--;
    if (*base == 0) {
        /* path ended in '/': take the dirname of the stripped directory */
        buf tmp = {0};
        buf_add(&tmp, s, dl);
        const char *sl2 = strrchr(tmp.p, '/');
        if (!sl2) {
            buf_add(out, ".", 1);
        } else {
            size_t d2 = (size_t)(sl2 - tmp.p) + 1;
            while (d2 > 1 && tmp.p[d2 - 1] == '/') d2--;
            buf_add(out, tmp.p, d2);
        }
        buf_free(&tmp);
        return;
    }
    buf_add(out, s, dl);
}

static void apply_mod(buf *out, const char *s, int mod) {
    out->n = 0;
    buf_reserve(out, 0);
    out->p[0] = 0;
    const char *b;
    switch (mod) {
    case MOD_NONE: buf_adds(out, s); break;
    case MOD_DOT: {
        const char *dot = strrchr(s, '.');
        if (dot && !strchr(dot, '/')) buf_add(out, s, (size_t)(dot - s));
        else buf_adds(out, s);
        break;
    }
    case MOD_BASE:
        b = strrchr(s, '/');
        buf_adds(out, b ? b + 1 : s);
        break;
    case MOD_DIR: perl_dirname(out, s); break;
    case MOD_BASEDOT: {
        b = strrchr(s, '/');
        b = b ? b + 1 : s;
        const char *dot = strrchr(b, '.');
        buf_add(out, b, dot ? (size_t)(dot - b) : strlen(b));
        break;
    }
    }
}

/* Builds the command of one job exactly as GNU prints it with --dry-run. */
static void render(buf *cmd, const argv_vec *a, size_t seq, int slot, buf *tmp) {
    cmd->n = 0;
    buf_reserve(cmd, 0);
    cmd->p[0] = 0;
    for (size_t i = 0; i < g_nseg; i++) {
        const seg *s = &g_seg[i];
        switch (s->kind) {
        case SEG_LIT: buf_add(cmd, s->lit, s->len); break;
        case SEG_SEQ: buf_printf(cmd, "%zu", seq); break;
        case SEG_SLOT: buf_printf(cmd, "%d", slot); break;
        case SEG_ARG:
            if (s->pos == 0) {
                for (size_t k = 0; k < a->n; k++) {
                    if (k) buf_addc(cmd, ' ');
                    apply_mod(tmp, a->v[k], s->mod);
                    if (s->quote) add_quoted(cmd, tmp->p, tmp->n);
                    else buf_add(cmd, tmp->p, tmp->n);
                }
            } else {
                long k = s->pos > 0 ? s->pos - 1 : (long)a->n + s->pos;
                if (s->pos != LONG_MAX && k >= 0 && (size_t)k < a->n) {
                    apply_mod(tmp, a->v[k], s->mod);
                    if (s->quote) add_quoted(cmd, tmp->p, tmp->n);
                    else buf_add(cmd, tmp->p, tmp->n);
                }
            }
            break;
        }
    }
}

static void render_tag(buf *tag, const argv_vec *a) {
    tag->n = 0;
    buf_reserve(tag, 0);
    tag->p[0] = 0;
    for (size_t k = 0; k < a->n; k++) {
        if (k) buf_addc(tag, ' ');
        buf_adds(tag, a->v[k]);
    }
    buf_addc(tag, '\t');
}

/* ------------------------------------------------------------------------ */
/* direct execution: split a command into words when no shell is needed    */

static const char *const g_shell_words[] = {
    /* keywords */
    "!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "time", "until", "while",
    /* builtins that act on the shell itself or have no program of that name */
    ".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare",
    "eval", "exec", "exit", "export", "fc", "fg", "getopts", "hash", "jobs", "let", "local",
    "readonly", "read", "return", "set", "shift", "source", "times", "trap", "type",
    "typeset", "ulimit", "umask", "unalias", "unset", "wait", NULL};

static int plain_char(unsigned char c) {
    return isalnum(c) || c >= 0x80 || (c && strchr("_-./+,:@%^=", c));
}

/* Splits cmd into argv words the way sh would, or returns 0 if only a
   shell can run it (metacharacters, expansions, keywords, assignments). */
static int split_simple(const char *s, buf *words, char ***argvp, size_t *argcap) {
    size_t nw = 0;
    int in_word = 0, any_backslash = 0;
    words->n = 0;
    buf_reserve(words, strlen(s) + 1);
    size_t i = 0;
    while (s[i]) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t') {
            if (in_word) { buf_addc(words, 0); nw++; in_word = 0; }
            i++;
        } else if (c == '\'') {
            const char *e = strchr(s + i + 1, '\'');
            if (!e) return 0;
            buf_add(words, s + i + 1, (size_t)(e - (s + i + 1)));
            in_word = 1;
            i = (size_t)(e - s) + 1;
        } else if (c == '"') {
            size_t j = i + 1;
            while (s[j] && s[j] != '"') {
                if (s[j] == '$' || s[j] == '`' || s[j] == '\\') return 0;
                j++;
            }
            if (!s[j]) return 0;
            buf_add(words, s + i + 1, j - i - 1);
            in_word = 1;
            i = j + 1;
        } else if (c == '\\') {
            if (!s[i + 1] || s[i + 1] == '\n') return 0;
            buf_addc(words, s[i + 1]);
            any_backslash = 1;
            in_word = 1;
            i += 2;
        } else if (plain_char(c)) {
            if (c == '=' && nw == 0) return 0; /* VAR=value assignment */
            buf_addc(words, (char)c);
            in_word = 1;
            i++;
        } else {
            return 0;
        }
    }
    if (in_word) { buf_addc(words, 0); nw++; }
    if (nw == 0) return 0;
    if (nw + 1 > *argcap) {
        *argcap = 2 * (nw + 1);
        *argvp = xrealloc(*argvp, *argcap * sizeof **argvp);
    }
    char **argv = *argvp;
    char *p = words->p;
    for (size_t k = 0; k < nw; k++) {
        argv[k] = p;
        p += strlen(p) + 1;
    }
    argv[nw] = NULL;
    for (const char *const *w = g_shell_words; *w; w++)
        if (!strcmp(argv[0], *w)) return 0;
    /* sh's echo interprets backslashes, /bin/echo does not */
    if (!strcmp(argv[0], "echo")) {
        if (any_backslash) return 0;
        for (size_t k = 1; k < nw; k++)
            if (strchr(argv[k], '\\')) return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* running median of successful runtimes (two heaps) for --timeout N%       */

typedef struct heap {
    double *v;
    size_t n, cap;
    int max; /* 1: max-heap */
} heap;

static int heap_before(const heap *h, double a, double b) { return h->max ? a > b : a < b; }
static void heap_push(heap *h, double x) {
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->v = xrealloc(h->v, h->cap * sizeof *h->v);
    }
    size_t i = h->n++;
    h->v[i] = x;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_before(h, h->v[i], h->v[p])) break;
        double t = h->v[i]; h->v[i] = h->v[p]; h->v[p] = t;
        i = p;
    }
}
static double heap_pop(heap *h) {
    double top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_before(h, h->v[l], h->v[m])) m = l;
        if (r < h->n && heap_before(h, h->v[r], h->v[m])) m = r;
        if (m == i) break;
        double t = h->v[i]; h->v[i] = h->v[m]; h->v[m] = t;
        i = m;
    }
    return top;
}
static heap g_lo = {.max = 1}, g_hi = {.max = 0};
static void median_add(double x) {
    if (g_lo.n == 0 || x <= g_lo.v[0]) heap_push(&g_lo, x);
    else heap_push(&g_hi, x);
    if (g_lo.n > g_hi.n + 1) heap_push(&g_hi, heap_pop(&g_lo));
    else if (g_hi.n > g_lo.n) heap_push(&g_lo, heap_pop(&g_hi));
}
static int median_get(double *m) {
    if (g_lo.n == 0) return 0;
    *m = g_lo.n > g_hi.n ? g_lo.v[0] : (g_lo.v[0] + g_hi.v[0]) / 2;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* jobs and the event loop                                                  */

typedef struct job {
    int active;
    pid_t pid;     /* 0: never started (spawn failed) */
    int reaped;
    int status;
    int fd_out, fd_err;
    buf out, err; /* captured, not yet printed */
    size_t received;
    size_t seq, ridx;
    int attempt;
    double t_start, t_real;
    buf cmd, tag;
    int timed_out, kill_stage;
    double kill_next;
    int discard; /* killed by --halt now / a signal: neither logged nor printed */
} job;

/* An output block finished out of order under -k. */
typedef struct pending {
    int done;
    buf out, err, tag;
} pending;

static job *g_jobs;
static int g_nslots;
static int g_running;

static size_t g_total;         /* jobs in the input */
static unsigned char *g_skip;  /* --resume: seq already done */
static size_t g_next_seq = 1;  /* next new job */
static size_t g_next_ridx;     /* run index of the next new job (-k order) */
static size_t g_print_ridx;    /* next run index to print under -k */
static size_t g_to_run;        /* jobs that will run (not skipped) */

typedef struct retry {
    size_t seq, ridx;
    int attempt;
} retry;
static retry *g_retry;
static size_t g_retry_head, g_retry_n, g_retry_cap;

static pending *g_pend;
static size_t g_pend_cap; /* power of two */

static int g_sigfd = -1;
static int g_devnull = -1;
static int g_joblog_fd = -1;
static sigset_t g_orig_mask;
static posix_spawnattr_t g_attr;
static char **g_envp;
static char g_env_seq[48], g_env_slot[48];
static char *g_shell;

static int g_stop_starting;  /* --halt soon, SIGHUP, abort */
static int g_abort;          /* --halt now or SIGINT/SIGTERM: kill running jobs */
static int g_abort_exit = -1;
static int g_sigint_count;
static size_t g_completed, g_failed, g_started;
static int g_halt_exit_defined;
static int g_halt_exit;
static double g_bar_last;

static argv_vec g_av;
static buf g_tmp, g_words;
static char **g_argv;
static size_t g_argv_cap;

static void emit(int fd, const char *p, size_t n, const buf *tag) {
    if (n == 0) return;
    if (!tag || tag->n == 0) {
        write_all(fd, p, n);
        return;
    }
    /* prefix every line (and a trailing partial line) with the tag */
    buf o = {0};
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        buf_add(&o, tag->p, tag->n);
        buf_add(&o, p, len);
        p += len;
    }
    write_all(fd, o.p, o.n);
    buf_free(&o);
}

/* --line-buffer: print the complete lines captured so far. */
static void emit_lines(int fd, buf *b, const buf *tag) {
    if (b->n == 0) return;
    char *last = NULL;
    for (size_t i = b->n; i-- > 0;)
        if (b->p[i] == '\n') { last = b->p + i; break; }
    if (!last) return;
    size_t len = (size_t)(last - b->p) + 1;
    emit(fd, b->p, len, tag);
    memmove(b->p, b->p + len, b->n - len);
    b->n -= len;
}

static const buf *tag_of(const buf *t) { return O.tag ? t : NULL; }

static job *running_with_ridx(size_t ridx) {
    for (int i = 0; i < g_nslots; i++)
        if (g_jobs[i].active && g_jobs[i].ridx == ridx) return &g_jobs[i];
    return NULL;
}

static pending *pend_at(size_t ridx) {
    while (ridx - g_print_ridx >= g_pend_cap) {
        size_t ncap = g_pend_cap ? 2 * g_pend_cap : 64;
        pending *np = xcalloc(ncap, sizeof *np);
        for (size_t r = g_print_ridx; r < g_print_ridx + g_pend_cap; r++)
            np[r & (ncap - 1)] = g_pend[r & (g_pend_cap - 1)];
        free(g_pend);
        g_pend = np;
        g_pend_cap = ncap;
    }
    return &g_pend[ridx & (g_pend_cap - 1)];
}

/* -k: print every finished block at the head; under --line-buffer the
   running head then streams its complete lines. */
static void flush_ordered(void) {
    for (;;) {
        if (g_pend_cap == 0) return;
        pending *p = &g_pend[g_print_ridx & (g_pend_cap - 1)];
        if (!p->done) break;
        emit(1, p->out.p, p->out.n, tag_of(&p->tag));
        emit(2, p->err.p, p->err.n, tag_of(&p->tag));
        buf_free(&p->out);
        buf_free(&p->err);
        buf_free(&p->tag);
        p->done = 0;
        g_print_ridx++;
    }
    if (O.line_buffer) {
        job *j = running_with_ridx(g_print_ridx);
        if (j) {
            emit_lines(1, &j->out, tag_of(&j->tag));
            emit_lines(2, &j->err, tag_of(&j->tag));
        }
    }
}

static void joblog_write(const job *j, double runtime, int exitval, int sig) {
    if (g_joblog_fd < 0) return;
    buf l = {0};
    buf_printf(&l, "%zu\t:\t%.3f\t%10.3f\t0\t%zu\t%d\t%d\t", j->seq, j->t_real, runtime,
               j->received, exitval, sig);
    buf_add(&l, j->cmd.p, j->cmd.n);
    buf_addc(&l, '\n');
    /* one write per line, so an interrupted run leaves whole lines only */
    const char *p = l.p;
    size_t n = l.n;
    while (n) {
        ssize_t w = write(g_joblog_fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            warnx("cannot write joblog '%s': %s", O.joblog, strerror(errno));
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    buf_free(&l);
}

static void progress(int final) {
    if (!O.bar && !O.eta) return;
    double t = now_mono();
    if (!final && t - g_bar_last < 0.1) return;
    g_bar_last = t;
    static double t0;
    if (t0 == 0) t0 = t;
    size_t total = g_to_run ? g_to_run : 1;
    size_t left = g_to_run > g_completed ? g_to_run - g_completed : 0;
    double avg = g_completed ? (t - t0) / (double)g_completed : 0;
    double eta = avg * (double)left;
    char line[256];
    int pct = (int)(100.0 * (double)g_completed / (double)total);
    if (O.eta)
        snprintf(line, sizeof line, "\rETA: %.0fs Left: %zu AVG: %.2fs  local:%d/%zu/100%%/%.1fs ",
                 eta, left, avg, g_running, g_completed, avg);
    else {
        char bar[41];
        int fill = pct * 40 / 100;
        for (int i = 0; i < 40; i++) bar[i] = i < fill ? '=' : ' ';
        bar[40] = 0;
        snprintf(line, sizeof line, "\r%3d%% %zu:%zu=%.0fs [%s]", pct, g_completed, left, eta, bar);
    }
    write_all(2, line, strlen(line));
    if (final) write_all(2, "\n", 1);
}

static void start_kill(job *j, double t) {
    if (j->kill_stage) return;
    j->kill_stage = 1;
    if (j->pid > 0 && !j->reaped) kill(-j->pid, SIGTERM);
    j->kill_next = t + 0.200;
}

/* GNU's TERM,200ms,TERM,100ms,TERM,50ms,KILL on the job's process group. */
static void advance_kill(job *j, double t) {
    if (!j->kill_stage || j->reaped || j->pid <= 0 || t < j->kill_next) return;
    switch (j->kill_stage) {
    case 1: kill(-j->pid, SIGTERM); j->kill_next = t + 0.100; j->kill_stage = 2; break;
    case 2: kill(-j->pid, SIGTERM); j->kill_next = t + 0.050; j->kill_stage = 3; break;
    case 3: kill(-j->pid, SIGKILL); j->kill_next = INFINITY; j->kill_stage = 4; break;
    default: break;
    }
}

static void abort_all(int exitcode) {
    if (!g_abort) g_abort_exit = exitcode;
    g_abort = 1;
    g_stop_starting = 1;
    double t = now_mono();
    for (int i = 0; i < g_nslots; i++) {
        job *j = &g_jobs[i];
        if (!j->active) continue;
        j->discard = 1;
        start_kill(j, t);
    }
}

/* GNU's should_we_halt. */
static void halt_check(const job *j, int failed, int exitval, int sig) {
    if (O.halt_when == HALT_NEVER) return;
    double limit;
    int have = 0;
    if (failed) {
        if (O.halt_why == WHY_FAIL) {
            fprintf(stderr, PROG ": This job failed:\n%s\n", j->cmd.p);
            limit = (double)g_failed;
            have = 1;
        }
    } else if (O.halt_why == WHY_SUCCESS) {
        fprintf(stderr, PROG ": This job succeeded:\n%s\n", j->cmd.p);
        limit = (double)(g_completed - g_failed);
        have = 1;
    }
    if (O.halt_why == WHY_DONE) {
        fprintf(stderr, PROG ": This job finished:\n%s\n", j->cmd.p);
        limit = (double)g_completed;
        have = 1;
    }
    if (!have) return;
    double count = O.halt_pct > 0 ? (double)g_total * O.halt_pct : O.halt_count;
    if (limit < count) return;
    if (O.halt_why == WHY_FAIL || O.halt_why == WHY_DONE) {
        if (!g_halt_exit_defined) {
            g_halt_exit_defined = 1;
            if (O.halt_pct > 0)
                g_halt_exit = (int)ceil((double)g_failed / (double)(g_total ? g_total : 1) * 100);
            else
                g_halt_exit = g_failed < 101 ? (int)g_failed : 101;
            if (O.halt_pct == 0 && O.halt_count == 1)
                g_halt_exit = exitval ? exitval : (sig ? sig + 128 : 0);
        }
    } else {
        g_halt_exit_defined = 1;
        g_halt_exit = 0;
    }
    if (O.halt_when == HALT_SOON) {
        if (!g_stop_starting && g_running > 0)
            fprintf(stderr, PROG ": Starting no more jobs. Waiting for %d jobs to finish.\n",
                    g_running);
        g_stop_starting = 1;
    } else {
        abort_all(g_halt_exit & 0xff);
    }
}

static void retry_push(size_t seq, size_t ridx, int attempt) {
    if (g_retry_n == g_retry_cap) {
        size_t ncap = g_retry_cap ? 2 * g_retry_cap : 16;
        retry *nr = xcalloc(ncap, sizeof *nr);
        for (size_t k = 0; k < g_retry_n; k++) nr[k] = g_retry[(g_retry_head + k) % g_retry_cap];
        free(g_retry);
        g_retry = nr;
        g_retry_cap = ncap;
        g_retry_head = 0;
    }
    g_retry[(g_retry_head + g_retry_n) % g_retry_cap] = (retry){seq, ridx, attempt};
    g_retry_n++;
}

static void free_job(job *j) {
    if (j->fd_out >= 0) close(j->fd_out);
    if (j->fd_err >= 0) close(j->fd_err);
    j->fd_out = j->fd_err = -1;
    j->out.n = j->err.n = 0;
    j->active = 0;
    g_running--;
}

static void finish_job(job *j) {
    double runtime = now_mono() - j->t_start;
    int exitval = 0, sig = 0;
    if (j->pid > 0) {
        if (WIFEXITED(j->status)) exitval = WEXITSTATUS(j->status);
        else if (WIFSIGNALED(j->status)) sig = WTERMSIG(j->status);
    } else {
        exitval = j->status; /* spawn failed: 127 or 126, as a shell would */
    }
    if (j->timed_out) exitval = -1;
    if (j->discard) {
        free_job(j);
        return;
    }
    int failed = exitval != 0 || sig != 0;
    if (failed && j->attempt < O.retries && !g_stop_starting) {
        retry_push(j->seq, j->ridx, j->attempt + 1);
        free_job(j);
        return;
    }
    joblog_write(j, runtime, exitval, sig);
    if (O.timeout_pct > 0 && !failed) median_add(runtime);
    g_completed++;
    if (failed) g_failed++;
    if (!O.keep) {
        emit(1, j->out.p, j->out.n, tag_of(&j->tag));
        emit(2, j->err.p, j->err.n, tag_of(&j->tag));
    } else {
        pending *p = pend_at(j->ridx);
        p->done = 1;
        /* hand the buffers over instead of copying */
        p->out = j->out;
        p->err = j->err;
        p->tag = j->tag;
        memset(&j->out, 0, sizeof j->out);
        memset(&j->err, 0, sizeof j->err);
        memset(&j->tag, 0, sizeof j->tag);
    }
    free_job(j);
    if (O.keep) flush_ordered();
    progress(0);
    halt_check(j, failed, exitval, sig);
}

static int have_next_job(void) {
    if (g_retry_n) return 1;
    while (g_next_seq <= g_total && g_skip && g_skip[g_next_seq]) g_next_seq++;
    return g_next_seq <= g_total;
}

static void start_job(void) {
    size_t seq, ridx;
    int attempt;
    if (g_retry_n) {
        retry r = g_retry[g_retry_head];
        g_retry_head = (g_retry_head + 1) % g_retry_cap;
        g_retry_n--;
        seq = r.seq; ridx = r.ridx; attempt = r.attempt;
    } else {
        seq = g_next_seq++;
        ridx = g_next_ridx++;
        attempt = 1;
    }
    int slot = 0;
    while (g_jobs[slot].active) slot++;
    job *j = &g_jobs[slot];
    j->active = 1;
    j->pid = 0;
    j->reaped = 0;
    j->status = 0;
    j->received = 0;
    j->seq = seq;
    j->ridx = ridx;
    j->attempt = attempt;
    j->timed_out = j->kill_stage = j->discard = 0;
    j->out.n = j->err.n = 0;
    j->fd_out = j->fd_err = -1;
    g_running++;
    g_started++;

    job_args(&g_av, seq);
    render(&j->cmd, &g_av, seq, slot + 1, &g_tmp);
    if (O.tag) render_tag(&j->tag, &g_av);

    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (!O.ungroup) {
        if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
            warnx("cannot create a pipe for job %zu: %s", seq, strerror(errno));
            if (po[0] >= 0) { close(po[0]); close(po[1]); }
            j->discard = 1;
            j->reaped = 1;
            abort_all(255);
            return;
        }
    }
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa, g_devnull, 0);
    if (rc == 0 && !O.ungroup) rc = posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    if (rc == 0 && !O.ungroup) rc = posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    if (rc != 0) die(255, "posix_spawn_file_actions: %s", strerror(rc));

    snprintf(g_env_seq, sizeof g_env_seq, "PARALLEL_SEQ=%zu", seq);
    snprintf(g_env_slot, sizeof g_env_slot, "PARALLEL_JOBSLOT=%d", slot + 1);

    pid_t pid = 0;
    if (split_simple(j->cmd.p, &g_words, &g_argv, &g_argv_cap)) {
        rc = posix_spawnp(&pid, g_argv[0], &fa, &g_attr, g_argv, g_envp);
    } else {
        char *sh_argv[] = {g_shell, "-c", j->cmd.p, NULL};
        rc = posix_spawn(&pid, g_shell, &fa, &g_attr, sh_argv, g_envp);
        if (rc) {
            posix_spawn_file_actions_destroy(&fa);
            die(255, "cannot run the shell %s: %s", g_shell, strerror(rc));
        }
    }
    posix_spawn_file_actions_destroy(&fa);
    j->t_start = now_mono();
    j->t_real = now_real();
    if (!O.ungroup) {
        close(po[1]);
        close(pe[1]);
        j->fd_out = po[0];
        j->fd_err = pe[0];
    }
    if (rc != 0) {
        /* as sh reports it: 127 not found, 126 not executable */
        buf_printf(&j->err, PROG ": %s: %s\n", g_argv[0],
                   rc == ENOENT ? "command not found" : strerror(rc));
        if (O.ungroup) {
            write_all(2, j->err.p, j->err.n);
            j->err.n = 0;
        }
        j->pid = 0;
        j->reaped = 1;
        j->status = rc == ENOENT ? 127 : 126;
        if (j->fd_out >= 0) { close(j->fd_out); j->fd_out = -1; }
        if (j->fd_err >= 0) { close(j->fd_err); j->fd_err = -1; }
        return;
    }
    j->pid = pid;
}

static void read_fd(job *j, int which) {
    int *fd = which ? &j->fd_err : &j->fd_out;
    buf *b = which ? &j->err : &j->out;
    buf_reserve(b, 65536);
    ssize_t r = read(*fd, b->p + b->n, b->cap - b->n - 1);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (r <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    if (j->discard) return; /* keep draining, nothing will be printed */
    b->n += (size_t)r;
    if (!which) j->received += (size_t)r;
    if (O.line_buffer && (!O.keep || j->ridx == g_print_ridx))
        emit_lines(which ? 2 : 1, b, tag_of(&j->tag));
}

static void reap(void) {
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) break;
        for (int i = 0; i < g_nslots; i++) {
            job *j = &g_jobs[i];
            if (j->active && j->pid == pid && !j->reaped) {
                j->reaped = 1;
                j->status = st;
                break;
            }
        }
    }
}

static void handle_signals(void) {
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t r = read(g_sigfd, &si, sizeof si);
        if (r != (ssize_t)sizeof si) break;
        switch (si.ssi_signo) {
        case SIGCHLD: break; /* reaped below */
        case SIGHUP:
            if (!g_stop_starting && g_running > 0)
                fprintf(stderr, PROG ": SIGHUP received. No new jobs will be started. "
                        "Waiting for %d jobs to finish.\n", g_running);
            g_stop_starting = 1;
            break;
        case SIGINT:
        case SIGTERM:
            if (g_sigint_count++ == 0) {
                abort_all(255);
            } else {
                /* second signal: no more patience */
                for (int i = 0; i < g_nslots; i++)
                    if (g_jobs[i].active && g_jobs[i].pid > 0 && !g_jobs[i].reaped)
                        kill(-g_jobs[i].pid, SIGKILL);
            }
            g_abort_exit = 255;
            break;
        default: break;
        }
    }
    reap();
}

static void check_timeouts(double t) {
    if (O.timeout_s <= 0 && O.timeout_pct <= 0) return;
    double limit;
    if (O.timeout_s > 0) limit = O.timeout_s;
    else {
        double med;
        if (!median_get(&med)) return;
        limit = med * O.timeout_pct;
    }
    for (int i = 0; i < g_nslots; i++) {
        job *j = &g_jobs[i];
        if (!j->active || j->reaped || j->pid <= 0 || j->kill_stage) continue;
        if (t - j->t_start >= limit) {
            j->timed_out = 1;
            fprintf(stderr, PROG ": Warning: This job was killed because it timed out:\n"
                    PROG ": Warning: %s\n", j->cmd.p);
            start_kill(j, t);
        }
    }
}

static int next_wakeup_ms(double t) {
    double next = INFINITY;
    double limit = 0;
    if (O.timeout_s > 0) limit = O.timeout_s;
    else if (O.timeout_pct > 0) {
        double med;
        if (median_get(&med)) limit = med * O.timeout_pct;
    }
    for (int i = 0; i < g_nslots; i++) {
        job *j = &g_jobs[i];
        if (!j->active || j->reaped || j->pid <= 0) continue;
        if (j->kill_stage && j->kill_stage < 4 && j->kill_next < next) next = j->kill_next;
        if (!j->kill_stage && limit > 0 && j->t_start + limit < next) next = j->t_start + limit;
    }
    if (next == INFINITY) return -1;
    double ms = (next - t) * 1000.0;
    if (ms < 0) return 0;
    if (ms > 1e9) return 1000000000;
    return (int)ceil(ms);
}

static void run_loop(void) {
    struct pollfd *pf = xcalloc((size_t)g_nslots * 2 + 1, sizeof *pf);
    int *who = xcalloc((size_t)g_nslots * 2 + 1, sizeof *who);
    for (;;) {
        while (!g_stop_starting && g_running < g_nslots && have_next_job()) start_job();
        /* jobs whose spawn failed are complete right away */
        for (int i = 0; i < g_nslots; i++) {
            job *j = &g_jobs[i];
            if (j->active && j->reaped && j->fd_out < 0 && j->fd_err < 0) finish_job(j);
        }
        if (g_running == 0) {
            if (g_stop_starting || !have_next_job()) break;
            continue;
        }
        int n = 0;
        pf[n].fd = g_sigfd;
        pf[n].events = POLLIN;
        who[n++] = -1;
        for (int i = 0; i < g_nslots; i++) {
            job *j = &g_jobs[i];
            if (!j->active) continue;
            if (j->fd_out >= 0) { pf[n].fd = j->fd_out; pf[n].events = POLLIN; who[n++] = 2 * i; }
            if (j->fd_err >= 0) { pf[n].fd = j->fd_err; pf[n].events = POLLIN; who[n++] = 2 * i + 1; }
        }
        int timeout = next_wakeup_ms(now_mono());
        int pr = poll(pf, (nfds_t)n, timeout);
        if (pr < 0 && errno != EINTR) die(255, "poll: %s", strerror(errno));
        if (pr > 0) {
            for (int k = 1; k < n; k++) {
                if (!pf[k].revents) continue;
                job *j = &g_jobs[who[k] / 2];
                read_fd(j, who[k] & 1);
            }
            if (pf[0].revents) handle_signals();
        }
        double t = now_mono();
        check_timeouts(t);
        for (int i = 0; i < g_nslots; i++)
            if (g_jobs[i].active) advance_kill(&g_jobs[i], t);
        if (g_output_broken && !g_abort) abort_all(255);
        for (int i = 0; i < g_nslots; i++) {
            job *j = &g_jobs[i];
            if (j->active && j->reaped && j->fd_out < 0 && j->fd_err < 0) finish_job(j);
        }
    }
    free(pf);
    free(who);
}

/* ------------------------------------------------------------------------ */
/* joblog / resume                                                          */

static void load_joblog_for_resume(void) {
    int fd = open(O.joblog, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        die(255, "cannot read joblog '%s': %s", O.joblog, strerror(errno));
    }
    buf b = {0};
    for (;;) {
        buf_reserve(&b, 65536);
        ssize_t r = read(fd, b.p + b.n, b.cap - b.n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die(255, "cannot read joblog '%s': %s", O.joblog, strerror(errno));
        if (r == 0) break;
        b.n += (size_t)r;
    }
    close(fd);
    if (!b.p) return;
    b.p[b.n] = 0;
    char *line = b.p;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        /* Seq Host Starttime JobRuntime Send Receive Exitval Signal Command */
        char *f[9] = {0};
        int nf = 0;
        char *p = line;
        while (nf < 9) {
            f[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = 0;
            p = tab + 1;
        }
        long seq, ev, sg;
        if (nf >= 8 && parse_long(f[0], &seq) && seq >= 1 && (size_t)seq <= g_total &&
            parse_long(f[6], &ev) && parse_long(f[7], &sg)) {
            if (!O.resume_failed || (ev == 0 && sg == 0)) g_skip[seq] = 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    buf_free(&b);
}

static void open_joblog(void) {
    if (!O.joblog) return;
    int resume = O.resume || O.resume_failed;
    struct stat st;
    int exists = stat(O.joblog, &st) == 0 && st.st_size > 0;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC);
    g_joblog_fd = open(O.joblog, flags, 0666);
    if (g_joblog_fd < 0) die(255, "cannot open joblog '%s': %s", O.joblog, strerror(errno));
    if (!resume || !exists) {
        static const char hdr[] =
            "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
        if (write(g_joblog_fd, hdr, sizeof hdr - 1) != (ssize_t)(sizeof hdr - 1))
            die(255, "cannot write joblog '%s': %s", O.joblog, strerror(errno));
    }
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */

enum {
    OPT_JOBS = 1, OPT_KEEP, OPT_DRY, OPT_TAG, OPT_LB, OPT_UNGROUP, OPT_GROUP, OPT_MAXARGS,
    OPT_COLSEP, OPT_LINK, OPT_ARGFILE, OPT_NULL, OPT_DELIM, OPT_NOEMPTY, OPT_QUOTE,
    OPT_TIMEOUT, OPT_JOBLOG, OPT_RESUME, OPT_RESUME_FAILED, OPT_RETRIES, OPT_HALT, OPT_BAR,
    OPT_ETA, OPT_IGNORE, OPT_HELP, OPT_VERSION
};

typedef struct optdef {
    const char *lng;
    char shrt;
    int arg;
    int id;
} optdef;

static const optdef g_opts[] = {
    {"jobs", 'j', 1, OPT_JOBS}, {"max-procs", 'P', 1, OPT_JOBS},
    {"keep-order", 'k', 0, OPT_KEEP}, {"dry-run", 0, 0, OPT_DRY}, {"tag", 0, 0, OPT_TAG},
    {"line-buffer", 0, 0, OPT_LB}, {"lb", 0, 0, OPT_LB}, {"ungroup", 'u', 0, OPT_UNGROUP},
    {"group", 'g', 0, OPT_GROUP}, {"max-args", 'N', 1, OPT_MAXARGS}, {NULL, 'n', 1, OPT_MAXARGS},
    {"colsep", 'C', 1, OPT_COLSEP}, {"link", 0, 0, OPT_LINK}, {"xapply", 0, 0, OPT_LINK},
    {"arg-file", 'a', 1, OPT_ARGFILE}, {"null", '0', 0, OPT_NULL},
    {"delimiter", 'd', 1, OPT_DELIM}, {"no-run-if-empty", 'r', 0, OPT_NOEMPTY},
    {"quote", 'q', 0, OPT_QUOTE}, {"timeout", 0, 1, OPT_TIMEOUT}, {"joblog", 0, 1, OPT_JOBLOG},
    {"resume", 0, 0, OPT_RESUME}, {"resume-failed", 0, 0, OPT_RESUME_FAILED},
    {"retries", 0, 1, OPT_RETRIES}, {"halt", 0, 1, OPT_HALT}, {"halt-on-error", 0, 1, OPT_HALT},
    {"bar", 0, 0, OPT_BAR}, {"eta", 0, 0, OPT_ETA}, {"will-cite", 0, 0, OPT_IGNORE},
    {"no-notice", 0, 0, OPT_IGNORE}, {"help", 'h', 0, OPT_HELP}, {"version", 'V', 0, OPT_VERSION},
    {NULL, 0, 0, 0}};

static int is_sep(const char *a) {
    return !strcmp(a, ":::") || !strcmp(a, "::::") || !strcmp(a, ":::+") || !strcmp(a, "::::+");
}

static const char **g_argfiles;
static size_t g_nargfiles;

static void apply_opt(const optdef *d, const char *val, const char *name) {
    long v;
    switch (d->id) {
    case OPT_JOBS: O.jobs_arg = val; break;
    case OPT_KEEP: O.keep = 1; break;
    case OPT_DRY: O.dry_run = 1; break;
    case OPT_TAG: O.tag = 1; break;
    case OPT_LB: O.line_buffer = 1; break;
    case OPT_UNGROUP: O.ungroup = 1; break;
    case OPT_GROUP: break;
    case OPT_MAXARGS:
        if (!parse_long(val, &v) || v < 0) die(255, "%s: '%s' is not a number >= 0", name, val);
        O.max_args = v;
        break;
    case OPT_COLSEP: O.colsep = val; break;
    case OPT_LINK: O.link = 1; break;
    case OPT_ARGFILE:
        g_argfiles = xrealloc(g_argfiles, (g_nargfiles + 1) * sizeof *g_argfiles);
        g_argfiles[g_nargfiles++] = val;
        break;
    case OPT_NULL: O.delim = 0; break;
    case OPT_DELIM: O.delim = unescape_char(val, name); break;
    case OPT_NOEMPTY: O.no_run_if_empty = 1; break;
    case OPT_QUOTE: O.quote = 1; break;
    case OPT_TIMEOUT: parse_timeout(val); break;
    case OPT_JOBLOG: O.joblog = val; break;
    case OPT_RESUME: O.resume = 1; break;
    case OPT_RESUME_FAILED: O.resume_failed = 1; break;
    case OPT_RETRIES:
        if (!parse_long(val, &v) || v < 0) die(255, "--retries: '%s' is not a number >= 0", val);
        O.retries = v;
        break;
    case OPT_HALT: parse_halt(val); break;
    case OPT_BAR: O.bar = 1; break;
    case OPT_ETA: O.eta = 1; break;
    case OPT_IGNORE: break;
    case OPT_HELP: usage(stdout); exit(0);
    case OPT_VERSION:
        printf(PROG " " VPAR_VERSION_STRING " (vpar; GNU parallel compatible subset)\n");
        exit(0);
    default: break;
    }
}

/* Returns the index of the first command word. */
static int parse_options(int argc, char **argv) {
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (is_sep(a)) return i;
        if (!strcmp(a, "--")) return i + 1;
        if (a[0] != '-' || a[1] == 0) return i;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            const optdef *d = NULL;
            for (const optdef *o = g_opts; o->id; o++)
                if (o->lng && strlen(o->lng) == nl && !strncmp(o->lng, name, nl)) { d = o; break; }
            if (!d) die(255, "unknown option: %s\nTry '" PROG " --help'.", a);
            const char *val = NULL;
            if (d->arg) {
                if (eq) val = eq + 1;
                else if (i + 1 < argc) val = argv[++i];
                else die(255, "option --%s needs a value\nTry '" PROG " --help'.", d->lng);
            } else if (eq) {
                die(255, "option --%s takes no value", d->lng);
            }
            apply_opt(d, val, a);
            i++;
            continue;
        }
        /* short options, bundled flags allowed: -kv, -j4, -j 4 */
        for (const char *p = a + 1; *p; p++) {
            const optdef *d = NULL;
            for (const optdef *o = g_opts; o->id; o++)
                if (o->shrt && o->shrt == *p) { d = o; break; }
            if (!d) die(255, "unknown option: -%c\nTry '" PROG " --help'.", *p);
            char name[3] = {'-', *p, 0};
            if (d->arg) {
                const char *val;
                if (p[1]) val = p + 1;
                else if (i + 1 < argc) val = argv[++i];
                else die(255, "option %s needs a value\nTry '" PROG " --help'.", name);
                apply_opt(d, val, name);
                break;
            }
            apply_opt(d, NULL, name);
        }
        i++;
    }
    return i;
}

static void setup_env(void) {
    size_t n = 0;
    for (char **e = environ; *e; e++) n++;
    g_envp = xcalloc(n + 3, sizeof *g_envp);
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "PARALLEL_SEQ=", 13) && strncmp(*e, "PARALLEL_JOBSLOT=", 17))
            g_envp[k++] = *e;
    g_envp[k++] = g_env_seq;
    g_envp[k++] = g_env_slot;
    g_envp[k] = NULL;
}

int main(int argc, char **argv) {
    O.max_args = -1;
    O.delim = '\n';
    O.retries = 1;
    int cmd0 = parse_options(argc, argv);
    int cmdn = cmd0;
    while (cmdn < argc && !is_sep(argv[cmdn])) cmdn++;
    if (O.ungroup && O.line_buffer) O.line_buffer = 0;
    if (O.retries < 1) O.retries = 1;
    setup_colsep();

    /* input sources, in command-line order; -a files come first as GNU does */
    for (size_t k = 0; k < g_nargfiles; k++) read_source_file(new_source(0), g_argfiles[k]);
    int i = cmdn;
    while (i < argc) {
        const char *sep = argv[i++];
        int linked = sep[strlen(sep) - 1] == '+';
        int files = !strncmp(sep, "::::", 4);
        if (files) {
            int first = 1;
            while (i < argc && !is_sep(argv[i])) {
                read_source_file(new_source(first ? linked : 0), argv[i++]);
                first = 0;
            }
        } else {
            source *s = new_source(linked);
            while (i < argc && !is_sep(argv[i])) source_push(s, argv[i++]);
        }
    }
    if (g_nsrc == 0) {
        if (cmd0 == cmdn && isatty(0))
            die(255, "no command and no input given (see '" PROG " --help')");
        read_source_file(new_source(0), "-");
    }
    build_groups();
    if (O.max_args == 0) g_total = g_nrecords;
    else {
        size_t per = O.max_args > 0 ? (size_t)O.max_args : 1;
        g_total = g_nrecords / per + (g_nrecords % per != 0);
    }
    build_template(argv + cmd0, cmdn - cmd0);

    int jobs = O.jobs_arg ? parse_jobs(O.jobs_arg) : cpu_count();
    if (jobs > fd_job_limit()) jobs = fd_job_limit();
    if ((size_t)jobs > g_total && g_total > 0) jobs = (int)g_total;
    if (jobs < 1) jobs = 1;
    int jobs_for_slot = O.jobs_arg ? parse_jobs(O.jobs_arg) : cpu_count();

    g_skip = xcalloc(g_total + 2, 1);
    if ((O.resume || O.resume_failed) && !O.joblog)
        die(255, "--resume and --resume-failed need --joblog FILE");
    if (O.joblog && (O.resume || O.resume_failed)) load_joblog_for_resume();
    for (size_t s = 1; s <= g_total; s++) g_to_run += !g_skip[s];

    if (O.dry_run) {
        buf out = {0}, cmd = {0}, tag = {0};
        for (size_t s = 1; s <= g_total; s++) {
            if (g_skip[s]) continue;
            job_args(&g_av, s);
            int slot = (int)((s - 1) % (size_t)(jobs_for_slot > 0 ? jobs_for_slot : 1)) + 1;
            render(&cmd, &g_av, s, slot, &g_tmp);
            if (O.tag) {
                render_tag(&tag, &g_av);
                buf_add(&out, tag.p, tag.n);
            }
            buf_add(&out, cmd.p, cmd.n);
            buf_addc(&out, '\n');
            if (out.n > 65536) { write_all(1, out.p, out.n); out.n = 0; }
        }
        write_all(1, out.p, out.n);
        buf_free(&out);
        buf_free(&cmd);
        buf_free(&tag);
        return g_output_broken ? 255 : 0;
    }

    open_joblog();

    /* Signals arrive through a signalfd; SIGCHLD must not be ignored or
       children would be reaped behind our back. */
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, &g_orig_mask) < 0) die(255, "sigprocmask: %s", strerror(errno));
    g_sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (g_sigfd < 0) die(255, "signalfd: %s", strerror(errno));
    g_devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (g_devnull < 0) die(255, "cannot open /dev/null: %s", strerror(errno));

    int rc = posix_spawnattr_init(&g_attr);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    if (rc == 0) rc = posix_spawnattr_setflags(&g_attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                            POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&g_attr, 0);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&g_attr, &g_orig_mask);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&g_attr, &def);
    if (rc != 0) die(255, "posix_spawnattr: %s", strerror(rc));
    const char *psh = getenv("PARALLEL_SHELL");
    g_shell = (char *)(psh && *psh ? psh : "/bin/sh");
    setup_env();

    g_nslots = jobs;
    g_jobs = xcalloc((size_t)g_nslots, sizeof *g_jobs);
    for (int k = 0; k < g_nslots; k++) g_jobs[k].fd_out = g_jobs[k].fd_err = -1;

    run_loop();
    if (O.keep) flush_ordered();
    progress(1);

    int code;
    if (g_abort) {
        code = g_abort_exit;
    } else if (O.halt_when != HALT_NEVER) {
        if (g_halt_exit_defined) code = g_halt_exit;
        else if (O.halt_pct > 0)
            code = (int)ceil((double)g_failed / (double)(g_started ? g_started : 1) * 100);
        else code = g_failed < 101 ? (int)g_failed : 101;
    } else {
        code = g_failed < 101 ? (int)g_failed : 101;
    }
    if (g_output_broken && code == 0) code = 255;
    if (g_joblog_fd >= 0 && close(g_joblog_fd) < 0)
        warnx("cannot close joblog '%s': %s", O.joblog, strerror(errno));
    return code;
}
