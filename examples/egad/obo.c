/* examples/egad/obo.c — the OBO ontology format (go-basic.obo) as far as
   propagating annotations needs it: [Term] stanzas with id, alt_id, is_a
   and relationship: part_of (egad_internal.h). Everything else (names,
   definitions, other relations, [Typedef] stanzas) is skipped. */
#include "egad_internal.h"

#include <stdlib.h>
#include <string.h>

struct vpar__egad_obo {
    vpar__egad_strtab ids;   /* every ID defined or referenced */
    uint32_t *alias;         /* per ID: its primary term (alt_id), or itself */
    uint32_t *par_ptr;       /* ids.n + 1: CSR of parents */
    uint32_t *par;
};

typedef struct vpar__egad_edges {
    uint32_t *a, *b;
    size_t n, cap;
} vpar__egad_edges;

static int vpar__egad_edge(vpar__egad_edges *e, uint32_t a, uint32_t b) {
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 1024;
        uint32_t *na = (uint32_t *)VPAR_REALLOC(e->a, cap * sizeof *na);
        if (!na) return 0;
        e->a = na;
        uint32_t *nb = (uint32_t *)VPAR_REALLOC(e->b, cap * sizeof *nb);
        if (!nb) return 0;
        e->b = nb;
        e->cap = cap;
    }
    e->a[e->n] = a;
    e->b[e->n++] = b;
    return 1;
}

/* The value of "tag: value ! comment {qualifiers}": its first token. */
static void vpar__egad_obo_token(const char *v, const char *le, const char **ts, size_t *tl) {
    while (v < le && (*v == ' ' || *v == '\t')) v++;
    const char *e = v;
    while (e < le && *e != ' ' && *e != '\t' && *e != '!' && *e != '{') e++;
    *ts = v;
    *tl = (size_t)(e - v);
}

static int vpar__egad_obo_tag(const char *line, const char *le, const char *tag, const char **v) {
    size_t n = strlen(tag);
    if ((size_t)(le - line) < n || memcmp(line, tag, n) != 0) return 0;
    *v = line + n;
    return 1;
}

vpar_status vpar__egad_obo_parse(vpar__egad_obo **out, const char *text, size_t len,
                                 const char *path) {
    *out = NULL;
    vpar__egad_obo *o = (vpar__egad_obo *)vpar__egad_zalloc(1, sizeof *o);
    if (!o) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    vpar__egad_edges parents = {0}, alts = {0};
    vpar_status st = VPAR_OK;
    int in_term = 0, stanzas = 0;
    long cur = -1;
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end && st == VPAR_OK) {
        const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        lineno++;
        const char *line = p, *le = eol;
        p = eol + 1;
        if (le > line && le[-1] == '\r') le--;
        if (line < le && line[0] == '[') {
            in_term = (size_t)(le - line) >= 6 && memcmp(line, "[Term]", 6) == 0;
            stanzas += in_term;
            cur = -1;
            continue;
        }
        if (!in_term) continue;
        const char *v, *ts;
        size_t tl;
        int kind = 0; /* 1 id, 2 alt_id, 3 parent */
        if (vpar__egad_obo_tag(line, le, "id:", &v)) kind = 1;
        else if (vpar__egad_obo_tag(line, le, "alt_id:", &v)) kind = 2;
        else if (vpar__egad_obo_tag(line, le, "is_a:", &v)) kind = 3;
        else if (vpar__egad_obo_tag(line, le, "relationship:", &v)) {
            vpar__egad_obo_token(v, le, &ts, &tl);
            if (tl != 7 || memcmp(ts, "part_of", 7) != 0) continue;
            v = ts + tl;
            kind = 3;
        } else {
            continue;
        }
        vpar__egad_obo_token(v, le, &ts, &tl);
        if (tl == 0 || memchr(ts, '\0', tl)) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: a tag without an ID", path, lineno);
            break;
        }
        long x = vpar__egad_strtab_add(&o->ids, ts, tl);
        if (x < 0) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); break; }
        if (kind == 1) {
            if (cur >= 0) {
                st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: a second id in one [Term] stanza", path, lineno);
                break;
            }
            cur = x;
            continue;
        }
        if (cur < 0) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: %s before the stanza's id", path, lineno,
                           kind == 2 ? "alt_id" : "a parent");
            break;
        }
        if (!vpar__egad_edge(kind == 2 ? &alts : &parents, (uint32_t)cur, (uint32_t)x))
            st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == VPAR_OK && (stanzas == 0 || o->ids.n == 0))
        st = vpar_fail(VPAR_ERR_FORMAT, "%s: no [Term] stanza with an id (not an OBO ontology such as go-basic.obo?)", path);
    size_t n = o->ids.n;
    if (st == VPAR_OK) {
        o->alias = (uint32_t *)vpar__egad_alloc(n, sizeof *o->alias);
        o->par_ptr = (uint32_t *)vpar__egad_zalloc(n + 1, sizeof *o->par_ptr);
        o->par = (uint32_t *)vpar__egad_alloc(parents.n ? parents.n : 1, sizeof *o->par);
        if (!o->alias || !o->par_ptr || !o->par) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == VPAR_OK) {
        for (size_t i = 0; i < n; i++) o->alias[i] = (uint32_t)i;
        /* An alt_id names its primary term, unless it has a stanza (and
           so parents) of its own. */
        for (size_t i = 0; i < alts.n; i++) o->alias[alts.b[i]] = alts.a[i];
        for (size_t i = 0; i < parents.n; i++) o->par_ptr[parents.a[i] + 1]++;
        for (size_t i = 0; i < n; i++) o->par_ptr[i + 1] += o->par_ptr[i];
        uint32_t *fill = (uint32_t *)vpar__egad_alloc(n + 1, sizeof *fill);
        if (!fill) {
            st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
        } else {
            memcpy(fill, o->par_ptr, (n + 1) * sizeof *fill);
            for (size_t i = 0; i < parents.n; i++) o->par[fill[parents.a[i]]++] = parents.b[i];
            for (size_t i = 0; i < n; i++)
                if (o->par_ptr[i + 1] > o->par_ptr[i]) o->alias[i] = (uint32_t)i;
            /* Chains (an alt_id of a term that is itself an alt_id) end at
               their last term; on a cycle every term of it stands for
               itself. `fill` is reused: 0 unvisited, 1 on the path, 2 done. */
            memset(fill, 0, (n + 1) * sizeof *fill);
            uint32_t *stack = (uint32_t *)vpar__egad_alloc(n, sizeof *stack);
            if (!stack) {
                st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
            } else {
                for (size_t i = 0; i < n; i++) {
                    size_t sp = 0;
                    uint32_t x = (uint32_t)i;
                    while (fill[x] == 0 && o->alias[x] != x) {
                        fill[x] = 1;
                        stack[sp++] = x;
                        x = o->alias[x];
                    }
                    uint32_t last = fill[x] == 1 ? UINT32_MAX : o->alias[x]; /* 1: a cycle */
                    fill[x] = 2;
                    while (sp) {
                        uint32_t y = stack[--sp];
                        o->alias[y] = last == UINT32_MAX ? y : last;
                        fill[y] = 2;
                    }
                    if (last == UINT32_MAX) o->alias[x] = x;
                }
                VPAR_FREE(stack);
            }
            VPAR_FREE(fill);
        }
    }
    VPAR_FREE(parents.a); VPAR_FREE(parents.b);
    VPAR_FREE(alts.a); VPAR_FREE(alts.b);
    if (st != VPAR_OK) { vpar__egad_obo_free(o); return st; }
    /* Lookups only from here: the hash stays. */
    *out = o;
    return VPAR_OK;
}

vpar_status vpar__egad_obo_load(vpar__egad_obo **out, const char *path) {
    *out = NULL;
    vpar_ex_buf text = {0};
    vpar_status st = vpar_ex_read_file(path, VPAR_EX_READ_GZIP, &text);
    if (st == VPAR_OK) st = vpar__egad_obo_parse(out, text.p ? text.p : "", text.len, path);
    vpar_ex_buf_free(&text);
    return st;
}

void vpar__egad_obo_free(vpar__egad_obo *obo) {
    if (!obo) return;
    vpar__egad_strtab_free(&obo->ids);
    VPAR_FREE(obo->alias);
    VPAR_FREE(obo->par_ptr);
    VPAR_FREE(obo->par);
    VPAR_FREE(obo);
}

size_t vpar__egad_obo_nterms(const vpar__egad_obo *obo) { return obo ? obo->ids.n : 0; }

long vpar__egad_obo_find(const vpar__egad_obo *obo, const char *id, size_t len) {
    long i = vpar__egad_strtab_find(&obo->ids, id, len);
    return i < 0 ? -1 : (long)obo->alias[i];
}

const char *vpar__egad_obo_id(const vpar__egad_obo *obo, size_t i) {
    return i < obo->ids.n ? vpar__egad_strtab_str(&obo->ids, i) : NULL;
}

size_t vpar__egad_obo_ancestors(const vpar__egad_obo *obo, size_t i, uint32_t *out,
                                uint32_t *mark, uint32_t *stamp, uint32_t *stack) {
    if (++*stamp == 0) { /* wrapped: clear the marks */
        memset(mark, 0, obo->ids.n * sizeof *mark);
        *stamp = 1;
    }
    uint32_t s = *stamp;
    size_t k = 0, sp = 0;
    mark[i] = s;
    /* Depth first from the parents as listed (pushed in reverse); a term
       is marked when pushed, so the stack never holds more than nterms. */
    for (uint32_t j = obo->par_ptr[i + 1]; j > obo->par_ptr[i]; j--) {
        uint32_t x = obo->par[j - 1];
        if (mark[x] != s) { mark[x] = s; stack[sp++] = x; }
    }
    while (sp) {
        uint32_t x = stack[--sp];
        out[k++] = x;
        for (uint32_t j = obo->par_ptr[x + 1]; j > obo->par_ptr[x]; j--) {
            uint32_t y = obo->par[j - 1];
            if (mark[y] != s) { mark[y] = s; stack[sp++] = y; }
        }
    }
    return k;
}
