/* vpar-parallel: input sources and their combination (see par_input.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_input.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void par_input_init(par_input *in) {
    memset(in, 0, sizeof *in);
    in->delim = '\n';
    in->max_args = -1;
}

void par_input_free(par_input *in) {
    for (size_t i = 0; i < in->nsrc; i++) free(in->src[i].v);
    free(in->src);
    for (size_t i = 0; i < in->nfilebufs; i++) free(in->filebufs[i]);
    free(in->filebufs);
    free(in->grp);
    par_colsep_free(&in->colsep);
    par_input_init(in);
}

par_source *par_input_add_source(par_input *in, int linked) {
    if (in->nsrc == in->capsrc) {
        in->capsrc = in->capsrc ? 2 * in->capsrc : 4;
        in->src = par_xrealloc(in->src, in->capsrc * sizeof *in->src);
    }
    par_source *s = &in->src[in->nsrc++];
    memset(s, 0, sizeof *s);
    s->linked = linked;
    return s;
}

void par_input_push(par_input *in, par_source *s, char *v) {
    if (in->no_run_if_empty) {
        const char *p = v;
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = par_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = v;
}

void par_input_split(par_input *in, par_source *s, char *data, size_t n) {
    char *p = data, *end = data + n;
    while (p < end) {
        char *d = memchr(p, in->delim, (size_t)(end - p));
        if (!d) {
            par_input_push(in, s, p); /* last item without a delimiter */
            break;
        }
        *d = 0;
        par_input_push(in, s, p);
        p = d + 1;
    }
}

void par_input_read_file(par_input *in, par_source *s, const char *path) {
    int fd;
    if (!strcmp(path, "-")) {
        if (in->stdin_used) par_die(255, "stdin can be read only once as an input source");
        in->stdin_used = 1;
        fd = 0;
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) par_die(255, "cannot open input file '%s': %s", path, strerror(errno));
    }
    par_buf b = {0};
    for (;;) {
        par_buf_reserve(&b, 65536);
        ssize_t r = read(fd, b.p + b.n, b.cap - b.n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) par_die(255, "cannot read input '%s': %s", path, strerror(errno));
        if (r == 0) break;
        b.n += (size_t)r;
    }
    if (fd != 0) close(fd);
    if (!b.p) par_buf_reserve(&b, 1);
    b.p[b.n] = 0;
    par_input_split(in, s, b.p, b.n);
    /* kept until par_input_free: the arguments point into it */
    in->filebufs = par_xrealloc(in->filebufs, (in->nfilebufs + 1) * sizeof *in->filebufs);
    in->filebufs[in->nfilebufs++] = b.p;
}

/* Groups: a run of linked sources. Records are the cartesian product of the
   groups, the last group varying fastest (GNU's order). */
/* GNU's rule for an empty input source (`:::: /dev/null`, `seq 10 1`)
   combined with non-empty ones: it gives one empty argument. When every
   source is empty there are no jobs. */
static void fill_empty_sources(par_input *in) {
    static const char empty_arg[1] = "";
    int any = 0;
    for (size_t i = 0; i < in->nsrc; i++) any |= in->src[i].n > 0;
    if (!any) return;
    for (size_t i = 0; i < in->nsrc; i++) {
        par_source *s = &in->src[i];
        if (s->n) continue;
        if (s->cap == 0) {
            s->cap = 1;
            s->v = par_xrealloc(s->v, sizeof *s->v);
        }
        s->v[s->n++] = (char *)empty_arg; /* never written through */
    }
}

int par_input_combine(par_input *in) {
    fill_empty_sources(in);
    free(in->grp);
    in->grp = par_xcalloc(in->nsrc, sizeof *in->grp);
    in->ngrp = 0;
    for (size_t i = 0; i < in->nsrc; i++) {
        if (i == 0 || (!in->src[i].linked && !in->link)) {
            in->grp[in->ngrp].first = i;
            in->grp[in->ngrp].count = 0;
            in->grp[in->ngrp].recycle = in->link;
            in->ngrp++;
        }
        in->grp[in->ngrp - 1].count++;
    }
    in->nrecords = in->ngrp ? 1 : 0;
    for (size_t g = 0; g < in->ngrp; g++) {
        par_group *gr = &in->grp[g];
        size_t len = in->src[gr->first].n;
        for (size_t k = 1; k < gr->count; k++) {
            size_t n = in->src[gr->first + k].n;
            if (gr->recycle ? n > len : n < len) len = n;
        }
        gr->len = len;
        if (len && in->nrecords > SIZE_MAX / len) {
            in->nrecords = in->njobs = 0;
            return -1;
        }
        in->nrecords *= len;
    }
    if (in->max_args == 0) {
        in->njobs = in->nrecords;
    } else {
        size_t per = in->max_args > 0 ? (size_t)in->max_args : 1;
        in->njobs = in->nrecords / per + (in->nrecords % per != 0);
    }
    return 0;
}

static void args_push_ptr(par_args *a, const char *s, size_t off) {
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 8;
        a->v = par_xrealloc(a->v, a->cap * sizeof *a->v);
        a->offs = par_xrealloc(a->offs, a->cap * sizeof *a->offs);
    }
    a->v[a->n] = s;
    a->offs[a->n] = off;
    a->n++;
}

static void args_push_piece(par_args *a, const char *s, size_t len) {
    size_t off = a->store.n;
    par_buf_add(&a->store, s, len);
    par_buf_addc(&a->store, 0);
    args_push_ptr(a, NULL, off);
}

void par_args_finish(par_args *a) {
    for (size_t i = 0; i < a->n; i++)
        if (a->offs[i] != SIZE_MAX) a->v[i] = a->store.p + a->offs[i];
}

void par_args_free(par_args *a) {
    free(a->v);
    free(a->offs);
    par_buf_free(&a->store);
    memset(a, 0, sizeof *a);
}

/* --colsep regular expressions: glibc's regcomp copies the operand of `+`
   and of intervals, so stacked repetitions (`a+++...`, `((a+)+)+...`,
   `(a{200}){200}`) need memory exponential in their depth (found by the
   parallel_colsep fuzzer: 36 bytes took over 2 GB). Before compiling,
   estimate the size of the expanded expression and refuse it when it is
   absurd for a column separator. POSIX leaves adjacent duplication
   symbols (`a**`, `a+?`) undefined anyway; they are refused too. */
#define PAR_COLSEP_MAX_NODES 100000.0

typedef struct re_scan {
    const char *p;
    int depth;
    const char *why;
} re_scan;

static double re_alt(re_scan *sc);

/* One atom: a character, an escape, '.', an anchor, a bracket expression
   or a parenthesized group. Returns its size, or -1 at the end of a
   branch. */
static double re_atom(re_scan *sc) {
    const char *p = sc->p;
    if (!*p || *p == '|' || *p == ')') return -1;
    if (*p == '(') {
        if (++sc->depth > 50) { sc->why = "too deeply nested"; return 0; }
        sc->p++;
        double n = re_alt(sc);
        sc->depth--;
        if (*sc->p == ')') sc->p++;
        return n;
    }
    if (*p == '[') { /* bracket expression: ']' first is literal, [: :] etc. */
        p++;
        if (*p == '^') p++;
        if (*p == ']') p++;
        while (*p && *p != ']') {
            if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                const char *e = strstr(p + 2, p[1] == ':' ? ":]" : p[1] == '.' ? ".]" : "=]");
                p = e ? e + 2 : p + strlen(p);
            } else {
                p++;
            }
        }
        sc->p = *p ? p + 1 : p;
        return 1;
    }
    sc->p += (*p == '\\' && p[1]) ? 2 : 1;
    return 1;
}

/* Postfix duplication symbols after an atom: the factor by which they
   copy it (0 when refused). */
static double re_dup(re_scan *sc) {
    double f = 1;
    int seen = 0;
    for (;;) {
        const char *p = sc->p;
        double g;
        if (*p == '*' || *p == '?') {
            g = 1;
            sc->p++;
        } else if (*p == '+') {
            g = 2;
            sc->p++;
        } else if (*p == '{' && (p[1] >= '0' && p[1] <= '9')) {
            char *e;
            long lo = strtol(p + 1, &e, 10), hi = lo;
            if (*e == ',') hi = (e[1] >= '0' && e[1] <= '9') ? strtol(e + 1, &e, 10) : lo;
            else if (*e != '}') return f;
            while (*e && *e != '}') e++;
            sc->p = *e ? e + 1 : e;
            if (lo > 255 || hi > 255) { sc->why = "an interval above 255"; return 0; }
            g = (double)(hi > lo ? hi : lo) + 1;
        } else {
            return f;
        }
        if (seen++) { sc->why = "adjacent repetition operators"; return 0; }
        f *= g;
    }
}

static double re_branch(re_scan *sc) {
    double total = 0;
    for (;;) {
        double a = re_atom(sc);
        if (a < 0 || sc->why) return total;
        double f = re_dup(sc);
        if (sc->why) return total;
        total += a * f;
        if (total > PAR_COLSEP_MAX_NODES) { sc->why = "too large once expanded"; return total; }
    }
}

static double re_alt(re_scan *sc) {
    double total = re_branch(sc);
    while (!sc->why && *sc->p == '|') {
        sc->p++;
        total += re_branch(sc);
    }
    return total;
}

/* NULL when pat is fine to give to regcomp, else why not. */
static const char *colsep_refuse(const char *pat) {
    re_scan sc = {pat, 0, NULL};
    while (!sc.why && *sc.p) {
        re_alt(&sc);
        if (*sc.p == ')') sc.p++; /* unbalanced: regcomp reports it */
    }
    return sc.why;
}

int par_colsep_compile(par_colsep *c, const char *spec, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    if (!spec) return 0;
    par_buf pat = {0};
    for (const char *p = spec; *p; p++) {
        if (p[0] == '\\' && p[1] == 't') { par_buf_addc(&pat, '\t'); p++; }
        else if (p[0] == '\\' && p[1] == 'n') { par_buf_addc(&pat, '\n'); p++; }
        else par_buf_addc(&pat, *p);
    }
    int rc = 0;
    if (pat.n == 0) {
        snprintf(err, errlen, "--colsep: empty separator");
        rc = -1;
    } else if (pat.n == 1 && !strchr(".[]()*+?{}|^$\\", pat.p[0])) {
        c->mode = 1;
        c->ch = pat.p[0];
    } else if (pat.n == 2 && pat.p[0] == '\\' && !isalnum((unsigned char)pat.p[1])) {
        c->mode = 1;
        c->ch = pat.p[1];
    } else if (colsep_refuse(pat.p)) {
        snprintf(err, errlen, "--colsep: regular expression '%s' refused: %s", spec,
                 colsep_refuse(pat.p));
        rc = -1;
    } else {
        int e = regcomp(&c->re, pat.p, REG_EXTENDED);
        if (e) {
            char msg[256];
            regerror(e, &c->re, msg, sizeof msg);
            snprintf(err, errlen, "--colsep: bad regular expression '%s': %s", spec, msg);
            rc = -1;
        } else {
            c->mode = 2;
        }
    }
    par_buf_free(&pat);
    return rc;
}

void par_colsep_free(par_colsep *c) {
    if (c->mode == 2) regfree(&c->re);
    c->mode = 0;
}

/* Regular-expression split; an empty match splits nowhere at that place
   (the search continues one character further). */
static void colsep_split_re(const par_colsep *c, par_args *a, const char *s) {
    const char *p = s;
    regmatch_t m;
    int eflags = 0;
    while (*p && regexec(&c->re, p, 1, &m, eflags) == 0) {
        if (m.rm_eo == m.rm_so) { /* empty match: no split here */
            if (p[m.rm_so] == 0) break;
            /* search again one character further */
            const char *q = p + m.rm_so + 1;
            regmatch_t m2;
            if (*q == 0 || regexec(&c->re, q, 1, &m2, REG_NOTBOL) != 0 || m2.rm_eo == m2.rm_so)
                break;
            args_push_piece(a, p, (size_t)(q - p) + (size_t)m2.rm_so);
            p = q + m2.rm_eo;
        } else {
            args_push_piece(a, p, (size_t)m.rm_so);
            p += m.rm_eo;
        }
        eflags = REG_NOTBOL;
    }
    args_push_piece(a, p, strlen(p));
}

void par_colsep_split(const par_colsep *c, par_args *a, const char *s) {
    if (c->mode == 0) {
        args_push_ptr(a, s, SIZE_MAX);
    } else if (c->mode == 1) {
        const char *p = s;
        for (;;) {
            const char *x = strchr(p, c->ch);
            if (!x) { args_push_piece(a, p, strlen(p)); break; }
            args_push_piece(a, p, (size_t)(x - p));
            p = x + 1;
        }
    } else {
        colsep_split_re(c, a, s);
    }
}

void par_input_job_args(const par_input *in, par_args *a, size_t seq) {
    a->n = 0;
    a->store.n = 0;
    size_t per = in->max_args > 0 ? (size_t)in->max_args : 1;
    size_t r0 = (seq - 1) * per;
    size_t r1 = r0 + per < in->nrecords ? r0 + per : in->nrecords;
    if (in->max_args != 0) {
        size_t *idx = in->ngrp ? par_xcalloc(in->ngrp, sizeof *idx) : NULL;
        for (size_t r = r0; r < r1; r++) {
            size_t rem = r;
            for (size_t g = in->ngrp; g-- > 0;) {
                idx[g] = rem % in->grp[g].len;
                rem /= in->grp[g].len;
            }
            for (size_t g = 0; g < in->ngrp; g++)
                for (size_t k = 0; k < in->grp[g].count; k++) {
                    const par_source *s = &in->src[in->grp[g].first + k];
                    par_colsep_split(&in->colsep, a, s->v[idx[g] % s->n]);
                }
        }
        free(idx);
    }
    par_args_finish(a);
}
