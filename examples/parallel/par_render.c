/* vpar-parallel: the command template and rendering (see par_render.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_render.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_seg(par_template *t, par_seg s) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->seg = par_xrealloc(t->seg, t->cap * sizeof *t->seg);
    }
    t->seg[t->n++] = s;
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

void par_shell_quote(par_buf *b, const char *s, size_t n) {
    if (n == 0) { par_buf_add(b, "''", 2); return; }
    if (!needs_quote(s, n)) { par_buf_add(b, s, n); return; }
    par_buf q = {0};
    par_buf_addc(&q, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') par_buf_add(&q, "'\"'\"'", 5);
        else par_buf_addc(&q, s[i]);
    }
    par_buf_addc(&q, '\'');
    /* GNU removes the '' left at either end when s starts/ends with ' */
    const char *p = q.p;
    size_t len = q.n;
    if (len >= 2 && p[0] == '\'' && p[1] == '\'') { p += 2; len -= 2; }
    if (len >= 2 && p[len - 1] == '\'' && p[len - 2] == '\'') len -= 2;
    par_buf_add(b, p, len);
    par_buf_free(&q);
}

static void add_lit(par_template *t, const char *s, size_t n, int quote) {
    if (n == 0) return;
    par_seg sg = {.kind = PAR_SEG_LIT};
    par_buf b = {0};
    if (quote) par_shell_quote(&b, s, n);
    else par_buf_add(&b, s, n);
    sg.lit = b.p;
    sg.len = b.n;
    add_seg(t, sg);
}

size_t par_parse_rpl(const char *s, par_seg *sg) {
    if (s[0] != '{') return 0;
    const char *p = s + 1;
    memset(sg, 0, sizeof *sg);
    sg->kind = PAR_SEG_ARG;
    sg->quote = 1;
    if (*p == '#' && p[1] == '}') { sg->kind = PAR_SEG_SEQ; return 3; }
    if (*p == '%' && p[1] == '}') { sg->kind = PAR_SEG_SLOT; return 3; }
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
    if (p[0] == '}') sg->mod = PAR_MOD_NONE, p += 1;
    else if (p[0] == '.' && p[1] == '}') sg->mod = PAR_MOD_DOT, p += 2;
    else if (p[0] == '/' && p[1] == '}') sg->mod = PAR_MOD_BASE, p += 2;
    else if (p[0] == '/' && p[1] == '/' && p[2] == '}') sg->mod = PAR_MOD_DIR, p += 3;
    else if (p[0] == '/' && p[1] == '.' && p[2] == '}') sg->mod = PAR_MOD_BASEDOT, p += 3;
    else return 0;
    return (size_t)(p - s);
}

/* The replacement string at s under opts, or 0. With -I, {} and the
   positional forms ({1}, {-1}, {2.} ...) are not replacement strings. */
static size_t match_rpl(const char *s, const par_template_opts *opts, par_seg *sg) {
    if (opts->replace) {
        size_t rl = strlen(opts->replace);
        if (!strncmp(s, opts->replace, rl)) {
            memset(sg, 0, sizeof *sg);
            sg->kind = PAR_SEG_ARG;
            sg->quote = 1;
            return rl;
        }
    }
    if (*s != '{') return 0;
    size_t k = par_parse_rpl(s, sg);
    if (k && opts->replace && sg->kind == PAR_SEG_ARG &&
        (sg->mod == PAR_MOD_NONE || s[1] == '-' || (s[1] >= '0' && s[1] <= '9')))
        return 0;
    if (k && opts->raw) sg->quote = 0;
    return k;
}

/* One command word: literal runs and replacement strings; returns 1 if it
   held a replacement string. */
static int build_word(par_template *t, const char *word, const par_template_opts *opts) {
    int any = 0;
    const char *s = word, *lit = word;
    while (*s) {
        par_seg sg;
        size_t k = match_rpl(s, opts, &sg);
        if (k) {
            add_lit(t, lit, (size_t)(s - lit), opts->quote);
            add_seg(t, sg);
            any = 1;
            s += k;
            lit = s;
        } else {
            s++;
        }
    }
    add_lit(t, lit, (size_t)(s - lit), opts->quote);
    /* -q keeps an empty word as an argument */
    if (opts->quote && !word[0]) add_lit(t, "''", 2, 0);
    return any;
}

/* GNU's {= perl expression =} (also {=N ... =}): vpar-parallel has no Perl.
   Looked for in the words joined by spaces, as GNU parses them. */
static int has_perl_expr(char **words, int nwords, char *err, size_t errlen) {
    par_buf all = {0};
    for (int w = 0; w < nwords; w++) {
        if (w) par_buf_addc(&all, ' ');
        par_buf_adds(&all, words[w]);
    }
    const char *open = all.p ? strstr(all.p, "{=") : NULL;
    const char *close = open ? strstr(open + 2, "=}") : NULL;
    if (close)
        snprintf(err, errlen,
                 "'%.*s': {= perl expression =} replacement strings are not supported "
                 "(vpar-parallel runs no Perl; see docs/parallel.md)",
                 (int)(close + 2 - open) > 200 ? 200 : (int)(close + 2 - open), open);
    par_buf_free(&all);
    return close != NULL;
}

/* 1 when the command's first word (the joined words up to the first
   blank; a leading blank makes it empty) holds a replacement string. */
static int first_word_has_rpl(const par_template *t) {
    for (size_t i = 0; i < t->n; i++) {
        const par_seg *sg = &t->seg[i];
        if (sg->kind != PAR_SEG_LIT) return 1;
        for (size_t k = 0; k < sg->len; k++)
            if (sg->lit[k] == ' ' || sg->lit[k] == '\t' || sg->lit[k] == '\n') return 0;
    }
    return 0;
}

int par_template_build(par_template *t, char **words, int nwords, const par_template_opts *opts,
                       char *err, size_t errlen) {
    if (has_perl_expr(words, nwords, err, errlen)) return -1;
    int any = 0;
    for (int w = 0; w < nwords; w++) {
        if (w > 0) add_lit(t, " ", 1, 0);
        any |= build_word(t, words[w], opts);
    }
    if (opts->raw) return 0;
    /* GNU (man parallel, {}): "Replacement strings are normally quoted ...
       The exception is if the command starts with a replacement string;
       then the string is not quoted." GNU 20221122 applies it to every
       replacement string of the command when its first word holds one. */
    if (!opts->quote && nwords > 0 && first_word_has_rpl(t))
        for (size_t i = 0; i < t->n; i++) t->seg[i].quote = 0;
    if (nwords == 0) {
        par_seg sg = {.kind = PAR_SEG_ARG, .quote = 0};
        add_seg(t, sg);
    } else if (!any) {
        add_lit(t, " ", 1, 0);
        par_seg sg = {.kind = PAR_SEG_ARG, .quote = 1};
        add_seg(t, sg);
    }
    return 0;
}

void par_template_free(par_template *t) {
    for (size_t i = 0; i < t->n; i++) free(t->seg[i].lit);
    free(t->seg);
    memset(t, 0, sizeof *t);
}

/* Perl's File::Basename::dirname on Unix, which GNU uses for {//}. */
static void perl_dirname(par_buf *out, const char *s) {
    const char *slash = strrchr(s, '/');
    if (!slash) { par_buf_add(out, ".", 1); return; }
    size_t dl = (size_t)(slash - s) + 1;
    const char *base = slash + 1;
    /* strip trailing separators, keeping one character */
    while (dl > 1 && s[dl - 1] == '/') dl--;
    if (*base == 0) {
        /* path ended in '/': take the dirname of the stripped directory */
        par_buf tmp = {0};
        par_buf_add(&tmp, s, dl);
        const char *sl2 = strrchr(tmp.p, '/');
        if (!sl2) {
            par_buf_add(out, ".", 1);
        } else {
            size_t d2 = (size_t)(sl2 - tmp.p) + 1;
            while (d2 > 1 && tmp.p[d2 - 1] == '/') d2--;
            par_buf_add(out, tmp.p, d2);
        }
        par_buf_free(&tmp);
        return;
    }
    par_buf_add(out, s, dl);
}

void par_apply_mod(par_buf *out, const char *s, int mod) {
    par_buf_clear(out);
    const char *b;
    switch (mod) {
    case PAR_MOD_NONE: par_buf_adds(out, s); break;
    case PAR_MOD_DOT: {
        const char *dot = strrchr(s, '.');
        if (dot && !strchr(dot, '/')) par_buf_add(out, s, (size_t)(dot - s));
        else par_buf_adds(out, s);
        break;
    }
    case PAR_MOD_BASE:
        b = strrchr(s, '/');
        par_buf_adds(out, b ? b + 1 : s);
        break;
    case PAR_MOD_DIR: perl_dirname(out, s); break;
    case PAR_MOD_BASEDOT: {
        b = strrchr(s, '/');
        b = b ? b + 1 : s;
        const char *dot = strrchr(b, '.');
        par_buf_add(out, b, dot ? (size_t)(dot - b) : strlen(b));
        break;
    }
    default: break;
    }
}

static void render_value(par_buf *cmd, const par_seg *s, const char *v, par_buf *tmp) {
    par_apply_mod(tmp, v, s->mod);
    if (s->quote) par_shell_quote(cmd, tmp->p, tmp->n);
    else par_buf_add(cmd, tmp->p, tmp->n);
}

void par_render(par_buf *cmd, const par_template *t, const par_args *a, size_t seq, int slot,
                par_buf *tmp) {
    par_buf_clear(cmd);
    for (size_t i = 0; i < t->n; i++) {
        const par_seg *s = &t->seg[i];
        switch (s->kind) {
        case PAR_SEG_LIT: par_buf_add(cmd, s->lit, s->len); break;
        case PAR_SEG_SEQ: par_buf_printf(cmd, "%zu", seq); break;
        case PAR_SEG_SLOT: par_buf_printf(cmd, "%d", slot); break;
        case PAR_SEG_ARG:
            if (s->pos == 0) {
                for (size_t k = 0; k < a->n; k++) {
                    if (k) par_buf_addc(cmd, ' ');
                    render_value(cmd, s, a->v[k], tmp);
                }
            } else {
                long k = s->pos > 0 ? s->pos - 1 : (long)a->n + s->pos;
                if (s->pos != LONG_MAX && k >= 0 && (size_t)k < a->n)
                    render_value(cmd, s, a->v[k], tmp);
            }
            break;
        default: break;
        }
    }
}

void par_render_tag(par_buf *tag, const par_args *a) {
    par_buf_clear(tag);
    for (size_t k = 0; k < a->n; k++) {
        if (k) par_buf_addc(tag, ' ');
        par_buf_adds(tag, a->v[k]);
    }
    par_buf_addc(tag, '\t');
}
