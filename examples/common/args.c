/* examples/common/args.c — numbers in command-line options (excommon.h). */
#include "excommon.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
