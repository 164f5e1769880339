/* examples/common/args.c — numbers in command-line options (excommon.h). */
#include "excommon.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpar/pool.h"

#ifndef VPAR_POOL_MAX_THREADS
#  define VPAR_POOL_MAX_THREADS 1024 /* pool.h's default (set in its implementation part) */
#endif

int vpar_ex_parse_u64(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return 0; /* no sign, no space, not empty */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *out = (uint64_t)v;
    return 1;
}

int vpar_ex_parse_int(const char *s, long long lo, long long hi, long long *out) {
    uint64_t v;
    if (!vpar_ex_parse_u64(s, &v) || v > (uint64_t)LLONG_MAX) return 0;
    if ((long long)v < lo || (long long)v > hi) return 0;
    *out = (long long)v;
    return 1;
}

int vpar_ex_parse_double(const char *s, double lo, double hi, double *out) {
    if (!s) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= lo && v <= hi)) return 0;
    *out = v;
    return 1;
}

int vpar_ex_opt_int(const char *prog, const char *opt, const char *s, int lo, int hi, int *out) {
    long long v;
    if (vpar_ex_parse_int(s, lo, hi, &v)) {
        *out = (int)v;
        return 1;
    }
    if (hi == INT_MAX)
        fprintf(stderr, "%s: %s '%s': expected an integer >= %d\n", prog, opt, s ? s : "", lo);
    else
        fprintf(stderr, "%s: %s '%s': expected an integer in [%d, %d]\n", prog, opt, s ? s : "", lo, hi);
    return 0;
}

int vpar_ex_opt_size(const char *prog, const char *opt, const char *s, size_t lo, size_t hi,
                     size_t *out) {
    uint64_t v;
    if (vpar_ex_parse_u64(s, &v) && v >= lo && v <= hi) {
        *out = (size_t)v;
        return 1;
    }
    fprintf(stderr, "%s: %s '%s': expected an integer in [%zu, %zu]\n", prog, opt, s ? s : "", lo, hi);
    return 0;
}

int vpar_ex_opt_double(const char *prog, const char *opt, const char *s, double lo, double hi,
                       double *out) {
    if (vpar_ex_parse_double(s, lo, hi, out)) return 1;
    fprintf(stderr, "%s: %s '%s': expected a number in [%g, %g]\n", prog, opt, s ? s : "", lo, hi);
    return 0;
}

int vpar_ex_opt_u64(const char *prog, const char *opt, const char *s, uint64_t *out) {
    if (vpar_ex_parse_u64(s, out)) return 1;
    fprintf(stderr, "%s: %s '%s': expected an unsigned 64-bit integer\n", prog, opt, s ? s : "");
    return 0;
}

/* ---- one style for option errors, --version, thread counts ---------------- */

int vpar_ex_getopt(const char *prog, int argc, char **argv, const char *shorts,
                   const struct option *longs) {
    char spec[128];
    /* A leading ':' makes getopt report a missing value as ':' (not '?');
       opterr = 0 silences its own messages, which name argv[0] (the full
       build path) instead of the program. */
    snprintf(spec, sizeof spec, ":%s", shorts[0] == ':' ? shorts + 1 : shorts);
    opterr = 0;
    optopt = 0;
    int c = getopt_long(argc, argv, spec, longs, NULL);
    if (c != '?' && c != ':') return c;
    const char *arg = optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "";
    char name[96];
    if (arg[0] == '-' && arg[1] == '-') {
        size_t len = strcspn(arg, "=");
        snprintf(name, sizeof name, "%.*s", (int)(len < 80 ? len : 80), arg);
    } else {
        snprintf(name, sizeof name, "-%c", optopt ? optopt : '?');
    }
    /* A prefix of several long options (getopt_long accepts unique
       abbreviations): name the candidates. */
    char cands[256] = "";
    int ncand = 0;
    if (c == '?' && name[1] == '-' && longs) {
        size_t len = strlen(name + 2), used = 0;
        for (const struct option *l = longs; l->name && len; l++) {
            if (strncmp(l->name, name + 2, len) != 0) continue;
            if (strlen(l->name) == len) { ncand = 0; break; } /* exact: not ambiguous */
            int w = snprintf(cands + used, sizeof cands - used, "%s--%s", ncand ? ", " : "", l->name);
            if (w > 0 && (size_t)w < sizeof cands - used) used += (size_t)w;
            ncand++;
        }
    }
    if (c == ':')
        fprintf(stderr, "%s: option '%s' needs a value (try --help)\n", prog, name);
    else if (ncand > 1)
        fprintf(stderr, "%s: ambiguous option '%s' (%s; try --help)\n", prog, name, cands);
    else if (name[1] == '-' && strchr(arg, '=') && optopt)
        fprintf(stderr, "%s: option '%s' takes no value (try --help)\n", prog, name);
    else
        fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, name);
    return '?';
}

void vpar_ex_print_version(const char *prog) { printf("%s %s\n", prog, VPAR_VERSION_STRING); }

int vpar_ex_check_threads_env(const char *prog, const char *opt) {
    const char *env = getenv("VPAR_NUM_THREADS");
    if (!env || !*env) return 1;
    char *end = NULL;
    errno = 0;
    long v = strtol(env, &end, 10);
    while (end && (*end == ' ' || *end == '\t' || *end == '\n')) end++;
    if (errno || !end || *end || end == env || v < 1 || v > VPAR_POOL_MAX_THREADS) {
        fprintf(stderr, "%s: VPAR_NUM_THREADS='%s': expected a number of threads from 1 to %d "
                        "(unset it, or give %s N)\n", prog, env, VPAR_POOL_MAX_THREADS, opt);
        return 0;
    }
    return 1;
}

int vpar_ex_warn_threads(const char *prog, const char *what, long threads) {
    int cpus = vpar_ex_cpu_count();
    if (threads <= cpus) return 0;
    fprintf(stderr, "%s: warning: %s is %ld threads on %d CPU%s: more threads than CPUs only "
                    "slows the run down\n", prog, what, threads, cpus, cpus == 1 ? "" : "s");
    return 1;
}

char *vpar_ex_trim_dir(char *dir) {
    if (!dir) return dir;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
    return dir;
}

const char *vpar_ex_msg_start(void) { return isatty(2) ? "\r\033[K" : ""; }
