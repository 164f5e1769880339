/* examples/egad/annotations.c — (gene, term) annotations: TSV/GAF reading
   (plain or gzip), in-memory pairs, the interned gene and term names
   (egad.h). HDF5 annotation frames are read in hdf5.c and end here through
   vpar_egad_annotations_create. */
#include "egad_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* String interning: open addressing over indices into an offset table. */
typedef struct vpar__egad_strtab {
    vpar_ex_buf chars;    /* NUL-terminated strings back to back */
    size_t *off;             /* offset of string i */
    size_t n, cap;
    uint32_t *slots;         /* index + 1, 0 = empty */
    size_t nslots;           /* power of two */
} vpar__egad_strtab;

static uint64_t vpar__egad_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static void vpar__egad_strtab_free(vpar__egad_strtab *t) {
    VPAR_FREE(t->chars.p);
    VPAR_FREE(t->off);
    VPAR_FREE(t->slots);
    memset(t, 0, sizeof *t);
}

static int vpar__egad_strtab_rehash(vpar__egad_strtab *t, size_t nslots) {
    uint32_t *s = (uint32_t *)vpar__egad_zalloc(nslots, sizeof *s);
    if (!s) return 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *str = t->chars.p + t->off[i];
        size_t h = (size_t)vpar__egad_hash(str, strlen(str)) & (nslots - 1);
        while (s[h]) h = (h + 1) & (nslots - 1);
        s[h] = (uint32_t)(i + 1);
    }
    VPAR_FREE(t->slots);
    t->slots = s;
    t->nslots = nslots;
    return 1;
}

/* Index of (s, len) or -1. */
static long vpar__egad_strtab_find(const vpar__egad_strtab *t, const char *s, size_t len) {
    if (!t->nslots) return -1;
    size_t h = (size_t)vpar__egad_hash(s, len) & (t->nslots - 1);
    for (;;) {
        uint32_t v = t->slots[h];
        if (!v) return -1;
        const char *c = t->chars.p + t->off[v - 1];
        if (strncmp(c, s, len) == 0 && c[len] == '\0') return (long)(v - 1);
        h = (h + 1) & (t->nslots - 1);
    }
}

/* Interns (s, len); returns its index or -1 on out of memory. */
static long vpar__egad_strtab_add(vpar__egad_strtab *t, const char *s, size_t len) {
    long found = vpar__egad_strtab_find(t, s, len);
    if (found >= 0) return found;
    if (t->n >= 0xfffffff0u) return -1;
    if ((t->n + 1) * 2 > t->nslots) {
        if (!vpar__egad_strtab_rehash(t, t->nslots ? t->nslots * 2 : 1024)) return -1;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        size_t *o = (size_t *)VPAR_REALLOC(t->off, cap * sizeof *o);
        if (!o) return -1;
        t->off = o;
        t->cap = cap;
    }
    size_t at = t->chars.len;
    if (!vpar_ex_buf_append(&t->chars, s, len) || !vpar_ex_buf_append(&t->chars, "", 1))
        return -1;
    t->off[t->n] = at;
    size_t h = (size_t)vpar__egad_hash(s, len) & (t->nslots - 1);
    while (t->slots[h]) h = (h + 1) & (t->nslots - 1);
    t->slots[h] = (uint32_t)(t->n + 1);
    return (long)t->n++;
}

struct vpar_egad_annotations {
    vpar__egad_strtab genes, terms;
    size_t npairs;
    uint32_t *gene_ptr;   /* ngenes + 1 */
    uint32_t *gene_terms; /* term indices of each gene, ascending, distinct */
};

typedef struct vpar__egad_pairs {
    uint32_t *g, *t;
    size_t n, cap;
} vpar__egad_pairs;

static int vpar__egad_pairs_push(vpar__egad_pairs *p, uint32_t g, uint32_t t) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        uint32_t *ng = (uint32_t *)VPAR_REALLOC(p->g, cap * sizeof *ng);
        if (!ng) return 0;
        p->g = ng;
        uint32_t *nt = (uint32_t *)VPAR_REALLOC(p->t, cap * sizeof *nt);
        if (!nt) return 0;
        p->t = nt;
        p->cap = cap;
    }
    p->g[p->n] = g;
    p->t[p->n] = t;
    p->n++;
    return 1;
}

static int vpar__egad_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Groups pairs by gene (CSR), sorts and de-duplicates each gene's terms. */
static vpar_status vpar__egad_ann_finish(vpar_egad_annotations *a, vpar__egad_pairs *p,
                                         const char *name) {
    size_t ng = a->genes.n;
    a->gene_ptr = (uint32_t *)vpar__egad_zalloc(ng + 1, sizeof *a->gene_ptr);
    uint32_t *tmp = (uint32_t *)vpar__egad_alloc(p->n, sizeof *tmp);
    if (!a->gene_ptr || !tmp) {
        VPAR_FREE(tmp);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory indexing %zu annotation pairs", name, p->n);
    }
    for (size_t i = 0; i < p->n; i++) a->gene_ptr[p->g[i] + 1]++;
    for (size_t g = 0; g < ng; g++) a->gene_ptr[g + 1] += a->gene_ptr[g];
    uint32_t *fill = (uint32_t *)vpar__egad_alloc(ng + 1, sizeof *fill);
    if (!fill) {
        VPAR_FREE(tmp);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name);
    }
    memcpy(fill, a->gene_ptr, (ng + 1) * sizeof *fill);
    for (size_t i = 0; i < p->n; i++) tmp[fill[p->g[i]]++] = p->t[i];
    /* Sort + dedupe per gene, compacting in place. */
    size_t w = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t b = a->gene_ptr[g], e = a->gene_ptr[g + 1];
        qsort(tmp + b, e - b, sizeof *tmp, vpar__egad_cmp_u32);
        a->gene_ptr[g] = (uint32_t)w;
        for (size_t i = b; i < e; i++)
            if (i == b || tmp[i] != tmp[i - 1]) tmp[w++] = tmp[i];
    }
    a->gene_ptr[ng] = (uint32_t)w;
    VPAR_FREE(fill);
    a->gene_terms = tmp;
    a->npairs = w;
    /* The term hash is not needed after loading; genes stay searchable. */
    VPAR_FREE(a->terms.slots);
    a->terms.slots = NULL;
    a->terms.nslots = 0;
    return VPAR_OK;
}

static int vpar__egad_strieq(const char *s, size_t len, const char *word) {
    size_t wl = strlen(word);
    if (wl != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (tolower((unsigned char)s[i]) != word[i]) return 0;
    return 1;
}

static int vpar__egad_is_header_word(const char *s, size_t len) {
    static const char *const words[] = {
        "gene", "genes", "gene_id", "geneid", "gene id", "entrez", "entrez_id",
        "entrezgene", "entrez_gene_id", "symbol", "gene_symbol", "id", "db_object_id",
        "term", "terms", "term_id", "go", "go_id", "goid", "go_term", "go term",
        "annotation", "category", "set", "gene_set", "geneset", NULL};
    for (size_t i = 0; words[i]; i++)
        if (vpar__egad_strieq(s, len, words[i])) return 1;
    return 0;
}

/* Column names a header can give the gene and the term column ("id" is
   too vague to choose a column by). */
static int vpar__egad_gene_word(const char *s, size_t len) {
    static const char *const words[] = {
        "gene", "genes", "gene_id", "geneid", "gene id", "entrez", "entrez_id", "entrezgene",
        "entrez_gene_id", "symbol", "gene_symbol", "db_object_id", NULL};
    for (size_t i = 0; words[i]; i++)
        if (vpar__egad_strieq(s, len, words[i])) return 1;
    return 0;
}

static int vpar__egad_term_word(const char *s, size_t len) {
    static const char *const words[] = {
        "term", "terms", "term_id", "go", "go_id", "goid", "go_term", "go term", "annotation",
        "category", "gene_set", "geneset", NULL};
    for (size_t i = 0; words[i]; i++)
        if (vpar__egad_strieq(s, len, words[i])) return 1;
    return 0;
}

/* The first header field naming a gene column (*hg) and a term column
   (*ht), -1 when none does. */
static void vpar__egad_header_names(const char *line, const char *le, int *hg, int *ht,
                                    const char **gname, size_t *gnl) {
    *hg = *ht = -1;
    int col = 0;
    for (const char *f = line;; col++) {
        const char *tab = (const char *)memchr(f, '\t', (size_t)(le - f));
        const char *fe = tab ? tab : le;
        if (*hg < 0 && vpar__egad_gene_word(f, (size_t)(fe - f))) {
            *hg = col;
            *gname = f;
            *gnl = (size_t)(fe - f);
        } else if (*ht < 0 && vpar__egad_term_word(f, (size_t)(fe - f))) {
            *ht = col;
        }
        if (!tab) return;
        f = tab + 1;
    }
}

/* A header line: its names choose the columns, unless the user chose them
   (then a header naming them elsewhere is an error, as is a header naming
   only the gene column elsewhere: the data would be read from the wrong
   columns). */
static vpar_status vpar__egad_header_columns(const char *line, const char *le, int *gcol,
                                             int *tcol, int given, const char *path,
                                             size_t lineno) {
    int hg, ht;
    const char *gname = "";
    size_t gnl = 0;
    vpar__egad_header_names(line, le, &hg, &ht, &gname, &gnl);
    if (hg < 0 || (hg == *gcol && (ht < 0 || ht == *tcol))) return VPAR_OK;
    if (!given && ht >= 0) {
        *gcol = hg;
        *tcol = ht;
        return VPAR_OK;
    }
    if (given)
        return vpar_fail(VPAR_ERR_FORMAT,
                         "%s:%zu: the header names the gene column '%.*s' as column %d, but genes "
                         "are read from column %d (--gene-col/--gaf): make them agree, or drop "
                         "--gene-col/--term-col to use the header's names", path, lineno, (int)gnl,
                         gname, hg + 1, *gcol + 1);
    return vpar_fail(VPAR_ERR_FORMAT,
                     "%s:%zu: the header names the gene column '%.*s' as column %d, but no term "
                     "column; genes would be read from column %d: choose the columns with "
                     "--gene-col N --term-col M", path, lineno, (int)gnl, gname, hg + 1, *gcol + 1);
}

/* GAF 2.x: column 4 (Qualifier) holds NOT for negative annotations. */
static int vpar__egad_gaf_not(const char *line, const char *le) {
    const char *f = line;
    for (int col = 0; col < 3; col++) {
        const char *tab = (const char *)memchr(f, '\t', (size_t)(le - f));
        if (!tab) return 0;
        f = tab + 1;
    }
    const char *tab = (const char *)memchr(f, '\t', (size_t)(le - f));
    const char *fe = tab ? tab : le;
    for (const char *q = f; q + 3 <= fe; q++)
        if ((q == f || q[-1] == '|') && strncmp(q, "NOT", 3) == 0 && (q + 3 == fe || q[3] == '|'))
            return 1;
    return 0;
}

/* Every term all digits: the index column pandas writes by default, or a
   numeric column taken for the terms. */
static vpar_status vpar__egad_check_terms(const vpar_egad_annotations *a, int tcol,
                                          const char *path) {
    for (size_t t = 0; t < a->terms.n; t++) {
        const char *s = vpar_egad_annotations_term(a, t);
        if (!*s) return VPAR_OK;
        for (; *s; s++)
            if (*s < '0' || *s > '9') return VPAR_OK;
    }
    return vpar_fail(VPAR_ERR_FORMAT,
                     "%s: every term in column %d is a number (e.g. '%s'): that is not a term "
                     "column (a pandas index column, written by to_csv without index=False?); "
                     "choose the columns with --gene-col N --term-col M", path, tcol + 1,
                     vpar_egad_annotations_term(a, 0));
}

/* Splits line[0..le) at tabs far enough to find columns gcol and tcol;
   returns the number of columns seen (at most max(gcol, tcol) + 1). */
static int vpar__egad_fields(const char *line, const char *le, int gcol, int tcol,
                             const char **gs, size_t *gl, const char **ts, size_t *tl) {
    int maxcol = gcol > tcol ? gcol : tcol, col = 0;
    const char *f = line;
    for (;;) {
        const char *tab = (const char *)memchr(f, '\t', (size_t)(le - f));
        const char *fe = tab ? tab : le;
        if (col == gcol) { *gs = f; *gl = (size_t)(fe - f); }
        if (col == tcol) { *ts = f; *tl = (size_t)(fe - f); }
        col++;
        if (!tab || col > maxcol) return col;
        f = tab + 1;
    }
}

/* 1 for lines that carry no pair: empty, comments ('!' GAF headers, '#'),
   only white space. */
static int vpar__egad_skip_line(const char *line, const char *le) {
    if (le == line || line[0] == '!' || line[0] == '#') return 1;
    for (const char *c = line; c < le; c++)
        if (!isspace((unsigned char)*c)) return 0;
    return 1;
}

vpar_status vpar__egad_annotations_parse(vpar_egad_annotations **out, const char *text,
                                         size_t len, int gcol, int tcol, int header,
                                         const char *path) {
    return vpar__egad_annotations_parse2(out, text, len, gcol, tcol, header, 1, 0, path);
}

vpar_status vpar__egad_annotations_parse2(vpar_egad_annotations **out, const char *text,
                                          size_t len, int gcol, int tcol, int header,
                                          int columns_given, int gaf, const char *path) {
    *out = NULL;
    vpar_egad_annotations *a = (vpar_egad_annotations *)vpar__egad_zalloc(1, sizeof *a);
    if (!a) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    vpar__egad_pairs pairs = {0};
    vpar_status st = VPAR_OK;
    int maxcol = gcol > tcol ? gcol : tcol, seen_data = 0;
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end && st == VPAR_OK) {
        const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        lineno++;
        const char *line = p, *le = eol;
        if (le > p && le[-1] == '\r') le--;
        p = eol + 1;
        if (vpar__egad_skip_line(line, le)) continue;
        if (memchr(line, '\0', (size_t)(le - line))) {
            /* IDs are C strings: "a\0x" would be stored but never found. */
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: NUL byte in the line (not a text file?)", path, lineno);
            break;
        }
        const char *gs = NULL, *ts = NULL;
        size_t gl = 0, tl = 0;
        int col = vpar__egad_fields(line, le, gcol, tcol, &gs, &gl, &ts, &tl);
        if (col <= maxcol) {
            st = vpar_fail(VPAR_ERR_FORMAT,
                           "%s:%zu: expected at least %d tab-separated columns (gene in column %d, "
                           "term in column %d), found %d",
                           path, lineno, maxcol + 1, gcol + 1, tcol + 1, col);
            break;
        }
        if (!seen_data) {
            seen_data = 1;
            if (header == 1 ||
                (header == 0 && (vpar__egad_is_header_word(gs, gl) || vpar__egad_is_header_word(ts, tl)))) {
                st = vpar__egad_header_columns(line, le, &gcol, &tcol, columns_given, path, lineno);
                maxcol = gcol > tcol ? gcol : tcol;
                continue;
            }
        }
        if (gaf && vpar__egad_gaf_not(line, le)) continue;
        if (gl == 0 || tl == 0) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: empty %s field (column %d)", path, lineno,
                           gl == 0 ? "gene" : "term", (gl == 0 ? gcol : tcol) + 1);
            break;
        }
        long g = vpar__egad_strtab_add(&a->genes, gs, gl);
        long t = g < 0 ? -1 : vpar__egad_strtab_add(&a->terms, ts, tl);
        if (t < 0 || !vpar__egad_pairs_push(&pairs, (uint32_t)g, (uint32_t)t))
            st = vpar_fail(VPAR_ERR_NOMEM, "%s:%zu: out of memory", path, lineno);
    }
    if (st == VPAR_OK && pairs.n == 0)
        st = vpar_fail(VPAR_ERR_FORMAT, "%s: no (gene, term) pairs in the file", path);
    if (st == VPAR_OK) st = vpar__egad_ann_finish(a, &pairs, path);
    if (st == VPAR_OK && !columns_given) st = vpar__egad_check_terms(a, tcol, path);
    VPAR_FREE(pairs.g);
    VPAR_FREE(pairs.t);
    if (st != VPAR_OK) { vpar_egad_annotations_destroy(a); return st; }
    *out = a;
    return VPAR_OK;
}

vpar_status vpar_egad_annotations_load(vpar_egad_annotations **out,
        const char *path, const vpar_egad_annot_desc *desc) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load: out is NULL");
    *out = NULL;
    if (!path) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load: path is NULL");
    int gcol = 0, tcol = 1, header = 0, given = 0, gaf = 0;
    if (desc) {
        if (desc->gene_col || desc->term_col) { gcol = desc->gene_col; tcol = desc->term_col; }
        header = desc->header;
        given = desc->columns_given;
        gaf = desc->gaf;
    }
    if (gcol < 0 || tcol < 0 || gcol == tcol)
        return vpar_fail(VPAR_ERR_INVALID, "%s: bad annotation columns (gene %d, term %d; 0-based, distinct)",
                         path, gcol, tcol);
    vpar_ex_buf text = {0};
    vpar_status st = vpar_ex_read_file(path, VPAR_EX_READ_GZIP, &text);
    if (st == VPAR_OK)
        st = vpar__egad_annotations_parse2(out, text.p, text.len, gcol, tcol, header, given, gaf, path);
    vpar_ex_buf_free(&text);
    return st;
}

vpar_status vpar_egad_annotations_create(vpar_egad_annotations **out,
        const char *const *genes, const char *const *terms, size_t npairs, const char *name) {
    if (!name) name = "annotations";
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "%s: out is NULL", name);
    *out = NULL;
    if (npairs && (!genes || !terms))
        return vpar_fail(VPAR_ERR_INVALID, "%s: genes/terms arrays are NULL", name);
    if (npairs == 0) return vpar_fail(VPAR_ERR_INVALID, "%s: no (gene, term) pairs", name);
    vpar_egad_annotations *a = (vpar_egad_annotations *)vpar__egad_zalloc(1, sizeof *a);
    if (!a) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name);
    vpar__egad_pairs pairs = {0};
    vpar_status st = VPAR_OK;
    for (size_t i = 0; i < npairs && st == VPAR_OK; i++) {
        if (!genes[i] || !terms[i] || !genes[i][0] || !terms[i][0]) {
            st = vpar_fail(VPAR_ERR_INVALID, "%s: pair %zu has an empty gene or term", name, i);
            break;
        }
        long g = vpar__egad_strtab_add(&a->genes, genes[i], strlen(genes[i]));
        long t = g < 0 ? -1 : vpar__egad_strtab_add(&a->terms, terms[i], strlen(terms[i]));
        if (t < 0 || !vpar__egad_pairs_push(&pairs, (uint32_t)g, (uint32_t)t))
            st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name);
    }
    if (st == VPAR_OK) st = vpar__egad_ann_finish(a, &pairs, name);
    VPAR_FREE(pairs.g);
    VPAR_FREE(pairs.t);
    if (st != VPAR_OK) { vpar_egad_annotations_destroy(a); return st; }
    *out = a;
    return VPAR_OK;
}

void vpar_egad_annotations_destroy(vpar_egad_annotations *ann) {
    if (!ann) return;
    vpar__egad_strtab_free(&ann->genes);
    vpar__egad_strtab_free(&ann->terms);
    VPAR_FREE(ann->gene_ptr);
    VPAR_FREE(ann->gene_terms);
    VPAR_FREE(ann);
}

size_t vpar_egad_annotations_ngenes(const vpar_egad_annotations *ann) { return ann ? ann->genes.n : 0; }
size_t vpar_egad_annotations_nterms(const vpar_egad_annotations *ann) { return ann ? ann->terms.n : 0; }
size_t vpar_egad_annotations_npairs(const vpar_egad_annotations *ann) { return ann ? ann->npairs : 0; }
const char *vpar_egad_annotations_gene(const vpar_egad_annotations *ann, size_t g) {
    return ann && g < ann->genes.n ? ann->genes.chars.p + ann->genes.off[g] : NULL;
}
const char *vpar_egad_annotations_term(const vpar_egad_annotations *ann, size_t t) {
    return ann && t < ann->terms.n ? ann->terms.chars.p + ann->terms.off[t] : NULL;
}
const uint32_t *vpar_egad_annotations_gene_terms(const vpar_egad_annotations *ann,
                                                          size_t g, size_t *count) {
    if (!ann || g >= ann->genes.n) { if (count) *count = 0; return NULL; }
    if (count) *count = ann->gene_ptr[g + 1] - ann->gene_ptr[g];
    return ann->gene_terms + ann->gene_ptr[g];
}
long vpar_egad_annotations_find_gene(const vpar_egad_annotations *ann, const char *id) {
    if (!ann || !id) return -1;
    return vpar__egad_strtab_find(&ann->genes, id, strlen(id));
}

