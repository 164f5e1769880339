/* examples/egad/annotations.c — (gene, term) annotations: TSV/GAF reading
   (plain or gzip), in-memory pairs, the interned gene and term names
   (egad.h). HDF5 annotation frames are read in hdf5.c and end here through
   vpar_egad_annotations_create. */
#include "egad_internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The IDs' hash (never stored: only the table's layout depends on it):
   8 bytes at a time (overlapping loads for the tail), then a 64-bit
   finalizer so that both the low bits (the slot) and the high 32 (the
   tag) are mixed. IDs are short ("GO:0008150", Entrez numbers): two or
   three multiplications each, where a byte-at-a-time hash took ten. */
#ifdef MAP_POPULATE
#  define VPAR__EGAD_POPULATE MAP_POPULATE
#else
#  define VPAR__EGAD_POPULATE 0
#endif

static uint64_t vpar__egad_load64(const char *s) {
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

static uint64_t vpar__egad_hash(const char *s, size_t len) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)len * 0xff51afd7ed558ccdull);
    if (len >= 8) {
        const char *e = s + len - 8;
        for (; s < e; s += 8) {
            h = (h ^ vpar__egad_load64(s)) * 0xbf58476d1ce4e5b9ull;
            h ^= h >> 31;
        }
        h ^= vpar__egad_load64(e); /* the last 8 bytes (may overlap) */
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        h ^= (uint64_t)a << 32 | b;
    } else if (len) {
        h ^= (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[len / 2] << 8 |
             (unsigned char)s[len - 1];
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

/* a[0..len) == b[0..len): short IDs without a call (loads stay within
   the len bytes). */
static inline int vpar__egad_eq(const char *a, const char *b, size_t len) {
    if (len >= 8 && len <= 16)
        return vpar__egad_load64(a) == vpar__egad_load64(b) &&
               vpar__egad_load64(a + len - 8) == vpar__egad_load64(b + len - 8);
    if (len >= 4 && len < 8) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4); memcpy(&a1, a + len - 4, 4);
        memcpy(&b0, b, 4); memcpy(&b1, b + len - 4, 4);
        return a0 == b0 && a1 == b1;
    }
    return memcmp(a, b, len) == 0;
}

void vpar__egad_strtab_free(vpar__egad_strtab *t) {
    VPAR_FREE(t->chars.p);
    VPAR_FREE(t->off);
    VPAR_FREE(t->slots);
    memset(t, 0, sizeof *t);
}

static int vpar__egad_strtab_rehash(vpar__egad_strtab *t, size_t nslots) {
    uint64_t *s = (uint64_t *)vpar__egad_zalloc(nslots, sizeof *s);
    if (!s) return 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *str = t->chars.p + t->off[i];
        uint64_t hv = vpar__egad_hash(str, t->off[i + 1] - t->off[i] - 1);
        size_t h = (size_t)hv & (nslots - 1);
        while (s[h]) h = (h + 1) & (nslots - 1);
        s[h] = (hv >> 32) << 32 | (uint64_t)(i + 1);
    }
    VPAR_FREE(t->slots);
    t->slots = s;
    t->nslots = nslots;
    return 1;
}

/* Index of (s, len) with hash hv, or -1; *slot gets the empty slot where
   it would go. */
static long vpar__egad_strtab_lookup(const vpar__egad_strtab *t, const char *s, size_t len,
                                     uint64_t hv, size_t *slot) {
    size_t h = (size_t)hv & (t->nslots - 1);
    uint64_t tag = (hv >> 32) << 32;
    for (;;) {
        uint64_t v = t->slots[h];
        if (!v) { *slot = h; return -1; }
        if ((v & 0xffffffff00000000ull) == tag) {
            size_t i = (size_t)(uint32_t)v - 1;
            if (t->off[i + 1] - t->off[i] - 1 == len && vpar__egad_eq(t->chars.p + t->off[i], s, len))
                return (long)i;
        }
        h = (h + 1) & (t->nslots - 1);
    }
}

/* Index of (s, len) or -1. */
long vpar__egad_strtab_find(const vpar__egad_strtab *t, const char *s, size_t len) {
    if (!t->nslots) return -1;
    size_t slot = 0;
    return vpar__egad_strtab_lookup(t, s, len, vpar__egad_hash(s, len), &slot);
}

/* Sizes the table for about `expect` strings of `bytes` characters in all
   (a hint: it grows past them). 0 on out of memory. */
static int vpar__egad_strtab_reserve(vpar__egad_strtab *t, size_t expect, size_t bytes) {
    size_t ns = 1024;
    while (ns < expect * 2 && ns < ((size_t)1 << 30)) ns *= 2;
    if (ns > t->nslots && !vpar__egad_strtab_rehash(t, ns)) return 0;
    if (expect + 1 > t->cap) {
        size_t *o = (size_t *)VPAR_REALLOC(t->off, (expect + 1) * sizeof *o);
        if (!o) return 0;
        t->off = o;
        t->cap = expect + 1;
    }
    return vpar_ex_buf_reserve(&t->chars, bytes);
}

/* Interns (s, len); returns its index or -1 on out of memory. */
long vpar__egad_strtab_add(vpar__egad_strtab *t, const char *s, size_t len) {
    if (!t->nslots && !vpar__egad_strtab_rehash(t, 1024)) return -1;
    uint64_t hv = vpar__egad_hash(s, len);
    size_t slot = 0;
    long found = vpar__egad_strtab_lookup(t, s, len, hv, &slot);
    if (found >= 0) return found;
    if (t->n >= 0xfffffff0u) return -1;
    if ((t->n + 1) * 2 > t->nslots) {
        if (!vpar__egad_strtab_rehash(t, t->nslots * 2)) return -1;
        vpar__egad_strtab_lookup(t, s, len, hv, &slot);
    }
    if (t->n + 1 >= t->cap) {
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
    t->off[t->n + 1] = t->chars.len;
    t->slots[slot] = (hv >> 32) << 32 | (uint64_t)(t->n + 1);
    return (long)t->n++;
}

struct vpar_egad_annotations {
    vpar__egad_strtab genes, terms;
    size_t npairs;
    uint32_t *gene_ptr;   /* ngenes + 1 */
    uint32_t *gene_terms; /* term indices of each gene, ascending, distinct */
    size_t gene_terms_bytes; /* > 0: gene_terms is a vpar_alloc_large buffer */
};

/* The pairs as read. Terms in t. Genes: while the pairs come grouped by
   gene (GO tables, GAFs: each gene's lines together), only where each
   gene's run starts (run[k] for gene k; genes are numbered in order of
   first appearance), g NULL; from the first pair that breaks the grouping
   on, one gene per pair in g. Storing less is the point: on some VMs each
   fresh 4 KiB page costs microseconds. */
typedef struct vpar__egad_pairs {
    uint32_t *g, *t;
    size_t n, cap;
    size_t tbytes;  /* > 0: t is a vpar_alloc_large buffer of that size */
    uint32_t *run;  /* g NULL: start of gene k's pairs */
    size_t nrun, runcap;
} vpar__egad_pairs;

static void vpar__egad_pairs_free(vpar__egad_pairs *p) {
    if (p->tbytes) vpar_free_large(p->t, p->tbytes);
    else VPAR_FREE(p->t);
    VPAR_FREE(p->g);
    VPAR_FREE(p->run);
    memset(p, 0, sizeof *p);
}

/* Room for cap pairs (t, and g once there is one). 0 on out of memory. */
static int vpar__egad_pairs_reserve(vpar__egad_pairs *p, size_t cap) {
    if (cap <= p->cap) return 1;
    if (p->g) {
        uint32_t *ng = (uint32_t *)VPAR_REALLOC(p->g, cap * sizeof *ng);
        if (!ng) return 0;
        p->g = ng;
    }
    uint32_t *nt;
    if (p->tbytes) { /* a large buffer cannot be realloc'ed: copied once */
        nt = (uint32_t *)VPAR_MALLOC(cap * sizeof *nt);
        if (!nt) return 0;
        memcpy(nt, p->t, p->n * sizeof *nt);
        vpar_free_large(p->t, p->tbytes);
        p->tbytes = 0;
    } else {
        nt = (uint32_t *)VPAR_REALLOC(p->t, cap * sizeof *nt);
        if (!nt) return 0;
    }
    p->t = nt;
    p->cap = cap;
    return 1;
}

/* Gives the pairs one gene each (g), from the runs. 0 on out of memory. */
static int vpar__egad_pairs_expand(vpar__egad_pairs *p) {
    if (p->g) return 1;
    p->g = (uint32_t *)VPAR_MALLOC((p->cap ? p->cap : 1) * sizeof *p->g);
    if (!p->g) return 0;
    for (size_t k = 0; k < p->nrun; k++) {
        size_t e = k + 1 < p->nrun ? p->run[k + 1] : p->n;
        for (size_t i = p->run[k]; i < e; i++) p->g[i] = (uint32_t)k;
    }
    VPAR_FREE(p->run);
    p->run = NULL;
    p->nrun = p->runcap = 0;
    return 1;
}

static int vpar__egad_pairs_push(vpar__egad_pairs *p, uint32_t g, uint32_t t) {
    if (p->n == p->cap && !vpar__egad_pairs_reserve(p, p->cap ? p->cap * 2 : 4096)) return 0;
    if (p->g) {
        p->g[p->n] = g;
    } else if (g == p->nrun) { /* a new gene: its run starts */
        if (p->nrun == p->runcap) {
            size_t c = p->runcap ? p->runcap * 2 : 1024;
            uint32_t *r = (uint32_t *)VPAR_REALLOC(p->run, c * sizeof *r);
            if (!r) return 0;
            p->run = r;
            p->runcap = c;
        }
        p->run[p->nrun++] = (uint32_t)p->n;
    } else if (g + 1 != p->nrun) { /* an earlier gene again: not grouped */
        if (!vpar__egad_pairs_expand(p)) return 0;
        p->g[p->n] = g;
    }
    p->t[p->n++] = t;
    return 1;
}

static int vpar__egad_cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Sorts t[0..k) ascending, drops repeats, writes the result to out (which
   may alias t: out <= t), returns its length. `bits` is scratch of one bit
   per term, all zero, and left so. Terms spanning few words of it are
   marked there and read back in order (O(k + span)); others are sorted. */
static size_t vpar__egad_sort_distinct(uint32_t *t, size_t k, uint32_t *out, uint64_t *bits) {
    if (k == 0) return 0;
    uint32_t lo = t[0], hi = t[0];
    for (size_t i = 1; i < k; i++) {
        lo = t[i] < lo ? t[i] : lo;
        hi = t[i] > hi ? t[i] : hi;
    }
    size_t w0 = lo >> 6, w1 = hi >> 6, w = 0;
    if (w1 - w0 <= 4 * k + 16) {
        for (size_t i = 0; i < k; i++) bits[t[i] >> 6] |= (uint64_t)1 << (t[i] & 63);
        for (size_t x = w0; x <= w1; x++) {
            uint64_t m = bits[x];
            bits[x] = 0;
            while (m) {
                out[w++] = (uint32_t)(x << 6 | (size_t)__builtin_ctzll(m));
                m &= m - 1;
            }
        }
        return w;
    }
    if (k <= 24) {
        for (size_t i = 1; i < k; i++) {
            uint32_t v = t[i];
            size_t j = i;
            for (; j > 0 && t[j - 1] > v; j--) t[j] = t[j - 1];
            t[j] = v;
        }
    } else {
        qsort(t, k, sizeof *t, vpar__egad_cmp_u32);
    }
    for (size_t i = 0; i < k; i++)
        if (i == 0 || t[i] != t[i - 1]) out[w++] = t[i];
    return w;
}

/* Groups pairs by gene (CSR) with each gene's terms ascending and
   distinct. Pairs grouped by gene (p->g NULL: files sorted by gene, GO
   tables, GAFs) are sorted gene by gene in place, in p->t, which becomes
   the annotations' table; others are first put in gene order by a stable
   counting sort. O(pairs) but for genes whose terms are spread over far
   more of the term range than they number (then O(k log k) each). */
static vpar_status vpar__egad_ann_finish(vpar_egad_annotations *a, vpar__egad_pairs *p,
                                         const char *name) {
    size_t ng = a->genes.n, nt = a->terms.n, n = p->n;
    a->gene_ptr = (uint32_t *)vpar__egad_zalloc(ng + 1, sizeof *a->gene_ptr);
    uint64_t *bits = (uint64_t *)vpar__egad_zalloc(nt / 64 + 1, sizeof *bits);
    if (!a->gene_ptr || !bits) {
        VPAR_FREE(bits);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory indexing %zu annotation pairs", name, n);
    }
    uint32_t *terms = p->t;
    if (!p->g) { /* grouped: the runs are the genes' ranges */
        for (size_t g = 0; g < ng; g++)
            a->gene_ptr[g] = g < p->nrun ? p->run[g] : (uint32_t)n;
        a->gene_ptr[ng] = (uint32_t)n;
        a->gene_terms_bytes = p->tbytes;
        p->t = NULL; /* taken: sorted in place below */
        p->tbytes = p->cap = 0;
    } else {
        for (size_t i = 0; i < n; i++) a->gene_ptr[p->g[i] + 1]++;
        for (size_t g = 0; g < ng; g++) a->gene_ptr[g + 1] += a->gene_ptr[g];
        terms = (uint32_t *)vpar__egad_alloc(n ? n : 1, sizeof *terms);
        uint32_t *fill = (uint32_t *)vpar__egad_alloc(ng + 1, sizeof *fill);
        if (!terms || !fill) {
            VPAR_FREE(terms); VPAR_FREE(fill); VPAR_FREE(bits);
            return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory indexing %zu annotation pairs", name, n);
        }
        memcpy(fill, a->gene_ptr, (ng + 1) * sizeof *fill);
        for (size_t i = 0; i < n; i++) terms[fill[p->g[i]]++] = p->t[i];
        VPAR_FREE(fill);
    }
    /* Each gene's terms ascending and distinct, compacted in place. */
    size_t w = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t b = a->gene_ptr[g], e = a->gene_ptr[g + 1];
        a->gene_ptr[g] = (uint32_t)w;
        w += vpar__egad_sort_distinct(terms + b, e - b, terms + w, bits);
    }
    a->gene_ptr[ng] = (uint32_t)w;
    VPAR_FREE(bits);
    a->gene_terms = terms;
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

/* Field `col` (0-based) of line[0..le): 1 and its span, or 0 when the
   line has fewer columns. */
static int vpar__egad_field(const char *line, const char *le, int col, const char **fs, size_t *fl) {
    const char *f = line;
    for (int c = 0; c < col; c++) {
        const char *tab = (const char *)memchr(f, '\t', (size_t)(le - f));
        if (!tab) return 0;
        f = tab + 1;
    }
    const char *tab = (const char *)memchr(f, '\t', (size_t)(le - f));
    *fs = f;
    *fl = (size_t)((tab ? tab : le) - f);
    return 1;
}

/* A GAF file read as plain TSV (no --gaf, no column options): its first
   line is "!gaf-version", or its first data line has the 15+ columns of a
   GAF with a GO ID in column 5. */
static vpar_status vpar__egad_gaf_hint(const char *line, const char *le, const char *path,
                                       size_t lineno) {
    int gafish = (size_t)(le - line) >= 12 && strncmp(line, "!gaf-version", 12) == 0;
    if (!gafish && line[0] != '!' && line[0] != '#') {
        int cols = 1;
        for (const char *c = line; c < le; c++) cols += *c == '\t';
        const char *fs;
        size_t fl;
        gafish = cols >= 15 && vpar__egad_field(line, le, 4, &fs, &fl) && fl > 3 &&
                 strncmp(fs, "GO:", 3) == 0;
    }
    if (!gafish) return VPAR_OK;
    return vpar_fail(VPAR_ERR_FORMAT,
                     "%s:%zu: this looks like a GAF file (GO's gene association format): add --gaf "
                     "to read genes from column 2 and terms from column 5 and skip NOT lines "
                     "(--aspect P|F|C picks an ontology; --obo go-basic.obo propagates); or name "
                     "the columns with --gene-col N --term-col M", path, lineno);
}

/* The first '\t' or '\n' at or after q (end when none): 8 bytes at a
   time where the byte order allows. */
static inline const char *vpar__egad_scan_sep(const char *q, const char *end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7f7f7f7f7f7f7f7full;
    while (end - q >= 8) {
        uint64_t v = vpar__egad_load64(q), a = v ^ (ones * '\t'), b = v ^ (ones * '\n');
        /* exact per byte: the high bit set where a byte of a or b is 0 */
        uint64_t za = ((a & low7) + low7) | a, zb = ((b & low7) + low7) | b;
        uint64_t m = ~(za & zb) & ~low7;
        if (m) return q + (__builtin_ctzll(m) >> 3);
        q += 8;
    }
#endif
    while (q < end && *q != '\t' && *q != '\n') q++;
    return q;
}

typedef struct vpar__egad_popts {
    int gcol, tcol, header, given, gaf;
    char aspect; /* 0 or 'P', 'F', 'C' (GAF column 9) */
} vpar__egad_popts;

/* Reads the pairs of the text into a's tables and *pairs (not grouped). */
static vpar_status vpar__egad_parse_pairs(vpar_egad_annotations *a, vpar__egad_pairs *pairs,
                                          const char *text, size_t len, vpar__egad_popts o,
                                          const char *path) {
    int gcol = o.gcol, tcol = o.tcol;
    int maxcol = gcol > tcol ? gcol : tcol, seen_data = 0;
    /* A pair takes 4 bytes of text at least ("g<TAB>t<LF>"): the terms'
       array is sized for that, as a large buffer (huge pages where
       available), touched only as far as it is used. IDs are few: their
       tables grow. */
    size_t bound = len / 4 + 1;
    pairs->t = (uint32_t *)vpar_alloc_large(bound * sizeof *pairs->t);
    if (pairs->t) {
        pairs->tbytes = bound * sizeof *pairs->t;
        pairs->cap = bound;
    }
    if (!pairs->t || !vpar__egad_strtab_reserve(&a->genes, 4096, 1 << 15) ||
        !vpar__egad_strtab_reserve(&a->terms, 4096, 1 << 16))
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu bytes of annotations", path, len);
    /* IDs are C strings: "a\0x" would be stored but never found. Lines
       are checked one by one only when the text holds a NUL at all. */
    int has_nul = len && memchr(text, '\0', len) != NULL;
    size_t lineno = 0;
    const char *last_g = NULL;
    size_t last_gl = 0;
    long last_gi = -1;
    const char *p = text, *end = text + len;
    /* The fast path (after the first data line, which may be a header):
       a line that starts with neither white space nor '!'/'#' and has
       non-empty gene and term fields is read in one pass over its first
       max(gcol, tcol) + 1 fields. Any other line (comments, blank lines,
       errors) takes the general path below, which it would have taken
       anyway; GAF options and NUL bytes always do. */
    int fast_ok = !o.gaf && !o.aspect && !has_nul;
    while (p < end) {
        if (fast_ok && seen_data) {
            unsigned char c0 = (unsigned char)*p;
            const char *gs = NULL, *ts = NULL, *f = p, *fe = p;
            size_t gl = 0, tl = 0;
            int col = 0, ok = c0 != '!' && c0 != '#' && !isspace(c0);
            while (ok) {
                fe = vpar__egad_scan_sep(f, end);
                if (col == gcol) { gs = f; gl = (size_t)(fe - f); }
                if (col == tcol) { ts = f; tl = (size_t)(fe - f); }
                if (col == maxcol) break;
                if (fe == end || *fe == '\n') ok = 0; /* too few columns: an error */
                f = fe + 1;
                col++;
            }
            if (ok) {
                const char *eol = fe;
                if (eol < end && *eol == '\t') {
                    eol = (const char *)memchr(eol, '\n', (size_t)(end - eol));
                    if (!eol) eol = end;
                } else if (fe > f && fe[-1] == '\r') { /* CRLF: not the field's */
                    if (gcol == maxcol) gl--;
                    else tl--;
                }
                if (gl && tl) {
                    lineno++;
                    p = eol < end ? eol + 1 : end;
                    long g = last_gi;
                    if (!(gl == last_gl && vpar__egad_eq(gs, last_g, gl))) {
                        g = vpar__egad_strtab_add(&a->genes, gs, gl);
                        last_g = gs;
                        last_gl = gl;
                        last_gi = g;
                    }
                    long t = g < 0 ? -1 : vpar__egad_strtab_add(&a->terms, ts, tl);
                    if (t < 0 || !vpar__egad_pairs_push(pairs, (uint32_t)g, (uint32_t)t))
                        return vpar_fail(VPAR_ERR_NOMEM, "%s:%zu: out of memory", path, lineno);
                    continue;
                }
            }
        }
        const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        lineno++;
        const char *line = p, *le = eol;
        if (le > p && le[-1] == '\r') le--;
        p = eol + 1;
        if (lineno == 1 && !o.gaf && !o.given) {
            vpar_status st = vpar__egad_gaf_hint(line, le, path, lineno);
            if (st != VPAR_OK) return st;
        }
        if (vpar__egad_skip_line(line, le)) continue;
        if (has_nul && memchr(line, '\0', (size_t)(le - line)))
            return vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: NUL byte in the line (not a text file?)", path, lineno);
        const char *gs = NULL, *ts = NULL;
        size_t gl = 0, tl = 0;
        int col = vpar__egad_fields(line, le, gcol, tcol, &gs, &gl, &ts, &tl);
        if (col <= maxcol)
            return vpar_fail(VPAR_ERR_FORMAT,
                             "%s:%zu: expected at least %d tab-separated columns (gene in column %d, "
                             "term in column %d), found %d",
                             path, lineno, maxcol + 1, gcol + 1, tcol + 1, col);
        if (!seen_data) {
            seen_data = 1;
            if (!o.gaf && !o.given) {
                vpar_status st = vpar__egad_gaf_hint(line, le, path, lineno);
                if (st != VPAR_OK) return st;
            }
            if (o.header == 1 ||
                (o.header == 0 && (vpar__egad_is_header_word(gs, gl) || vpar__egad_is_header_word(ts, tl)))) {
                vpar_status st = vpar__egad_header_columns(line, le, &gcol, &tcol, o.given, path, lineno);
                if (st != VPAR_OK) return st;
                maxcol = gcol > tcol ? gcol : tcol;
                continue;
            }
        }
        if (o.gaf && vpar__egad_gaf_not(line, le)) continue;
        if (o.aspect) {
            const char *as;
            size_t al;
            if (!vpar__egad_field(line, le, 8, &as, &al))
                return vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: no column 9 (GAF Aspect) for --aspect %c",
                                 path, lineno, o.aspect);
            if (al != 1 || as[0] != o.aspect) continue;
        }
        if (gl == 0 || tl == 0)
            return vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: empty %s field (column %d)", path, lineno,
                             gl == 0 ? "gene" : "term", (gl == 0 ? gcol : tcol) + 1);
        /* Files grouped by gene repeat it line after line. */
        long g = last_gi;
        if (!(last_g && gl == last_gl && memcmp(gs, last_g, gl) == 0)) {
            g = vpar__egad_strtab_add(&a->genes, gs, gl);
            last_g = gs;
            last_gl = gl;
            last_gi = g;
        }
        long t = g < 0 ? -1 : vpar__egad_strtab_add(&a->terms, ts, tl);
        if (t < 0 || !vpar__egad_pairs_push(pairs, (uint32_t)g, (uint32_t)t))
            return vpar_fail(VPAR_ERR_NOMEM, "%s:%zu: out of memory", path, lineno);
    }
    if (pairs->n == 0)
        return vpar_fail(VPAR_ERR_FORMAT, "%s: no (gene, term) pairs in the file%s", path,
                         o.aspect ? " with that --aspect" : "");
    return VPAR_OK;
}

vpar_status vpar__egad_annotations_parse(vpar_egad_annotations **out, const char *text,
                                         size_t len, int gcol, int tcol, int header,
                                         const char *path) {
    return vpar__egad_annotations_parse2(out, text, len, gcol, tcol, header, 1, 0, path);
}

/* Parses, propagates over `obo` when given (obo.c), groups. */
static vpar_status vpar__egad_annotations_build(vpar_egad_annotations **out, const char *text,
                                                size_t len, vpar__egad_popts o,
                                                const vpar__egad_obo *obo, const char *path) {
    *out = NULL;
    vpar_egad_annotations *a = (vpar_egad_annotations *)vpar__egad_zalloc(1, sizeof *a);
    if (!a) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    vpar__egad_pairs pairs = {0};
    vpar_status st = vpar__egad_parse_pairs(a, &pairs, text, len, o, path);
    if (st == VPAR_OK && obo) st = vpar__egad_propagate(a, &pairs, obo, path);
    if (st == VPAR_OK) st = vpar__egad_ann_finish(a, &pairs, path);
    if (st == VPAR_OK && !o.given) st = vpar__egad_check_terms(a, o.tcol, path);
    vpar__egad_pairs_free(&pairs);
    if (st != VPAR_OK) { vpar_egad_annotations_destroy(a); return st; }
    *out = a;
    return VPAR_OK;
}

vpar_status vpar__egad_annotations_parse2(vpar_egad_annotations **out, const char *text,
                                          size_t len, int gcol, int tcol, int header,
                                          int columns_given, int gaf, const char *path) {
    vpar__egad_popts o = {gcol, tcol, header, columns_given, gaf, 0};
    return vpar__egad_annotations_build(out, text, len, o, NULL, path);
}

vpar_status vpar__egad_annotations_parse3(vpar_egad_annotations **out, const char *text,
                                          size_t len, const vpar_egad_annot_desc *d,
                                          const vpar__egad_obo *obo, const char *path) {
    vpar__egad_popts o = {d->gene_col, d->term_col, d->header, d->columns_given, d->gaf, d->aspect};
    return vpar__egad_annotations_build(out, text, len, o, obo, path);
}

/* The file's text: mapped when plain, decompressed when gzip. *map_len
   is non-zero when *text is a mapping to unmap. */
static vpar_status vpar__egad_ann_text(const char *path, vpar_ex_buf *buf, const char **text,
                                       size_t *len, size_t *map_len) {
    *map_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat sb;
        unsigned char magic[2] = {0, 0};
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 2 &&
            pread(fd, magic, 2, 0) == 2 && !(magic[0] == 0x1f && magic[1] == 0x8b)) {
            /* Populated: mapped at once, not a page fault per 64 KiB. */
            void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | VPAR__EGAD_POPULATE, fd, 0);
            if (m != MAP_FAILED) {
                close(fd);
                *text = (const char *)m;
                *len = *map_len = (size_t)sb.st_size;
                return VPAR_OK;
            }
        }
        close(fd);
    }
    vpar_status st = vpar_ex_read_file(path, VPAR_EX_READ_GZIP, buf);
    *text = buf->p;
    *len = buf->len;
    return st;
}

vpar_status vpar_egad_annotations_load(vpar_egad_annotations **out,
        const char *path, const vpar_egad_annot_desc *desc) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load: out is NULL");
    *out = NULL;
    if (!path) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load: path is NULL");
    vpar_egad_annot_desc d;
    memset(&d, 0, sizeof d);
    if (desc) d = *desc;
    if (!d.gene_col && !d.term_col) { d.gene_col = d.gaf ? 1 : 0; d.term_col = d.gaf ? 4 : 1; }
    if (d.gene_col < 0 || d.term_col < 0 || d.gene_col == d.term_col)
        return vpar_fail(VPAR_ERR_INVALID, "%s: bad annotation columns (gene %d, term %d; 0-based, distinct)",
                         path, d.gene_col, d.term_col);
    if (d.aspect && !strchr("PFC", d.aspect))
        return vpar_fail(VPAR_ERR_INVALID, "%s: aspect '%c': expected P, F or C", path, d.aspect);
    if (d.aspect && !d.gaf)
        return vpar_fail(VPAR_ERR_INVALID, "%s: an aspect (GAF column 9) needs a GAF file (--gaf)", path);
    vpar__egad_obo *obo = NULL;
    vpar_status st = VPAR_OK;
    if (d.obo) st = vpar__egad_obo_load(&obo, d.obo);
    vpar_ex_buf buf = {0};
    const char *text = NULL;
    size_t len = 0, map_len = 0;
    if (st == VPAR_OK) st = vpar__egad_ann_text(path, &buf, &text, &len, &map_len);
    if (st == VPAR_OK) st = vpar__egad_annotations_parse3(out, text ? text : "", len, &d, obo, path);
    if (map_len) munmap((void *)text, map_len);
    vpar_ex_buf_free(&buf);
    vpar__egad_obo_free(obo);
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
    vpar__egad_pairs_free(&pairs);
    if (st != VPAR_OK) { vpar_egad_annotations_destroy(a); return st; }
    *out = a;
    return VPAR_OK;
}

void vpar_egad_annotations_destroy(vpar_egad_annotations *ann) {
    if (!ann) return;
    vpar__egad_strtab_free(&ann->genes);
    vpar__egad_strtab_free(&ann->terms);
    VPAR_FREE(ann->gene_ptr);
    if (ann->gene_terms_bytes) vpar_free_large(ann->gene_terms, ann->gene_terms_bytes);
    else VPAR_FREE(ann->gene_terms);
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


vpar_status vpar__egad_propagate(vpar_egad_annotations *a, vpar__egad_pairs *pairs,
                                 const vpar__egad_obo *obo, const char *path) {
    size_t nt0 = a->terms.n, no = vpar__egad_obo_nterms(obo), n = pairs->n;
    uint32_t *mark = (uint32_t *)vpar__egad_zalloc(no ? no : 1, sizeof *mark);
    uint32_t *stack = (uint32_t *)vpar__egad_alloc(no ? no : 1, sizeof *stack);
    uint32_t *anc = (uint32_t *)vpar__egad_alloc(no ? no : 1, sizeof *anc);
    uint32_t *primary = (uint32_t *)vpar__egad_alloc(nt0, sizeof *primary);
    size_t *start = (size_t *)vpar__egad_alloc(nt0, sizeof *start);
    uint32_t *cnt = (uint32_t *)vpar__egad_alloc(nt0, sizeof *cnt);
    uint32_t *ng = NULL, *ntm = NULL;
    vpar__egad_pairs lists = {0}; /* .t: the ancestors' term indices, back to back */
    vpar_status st = VPAR_OK;
    uint32_t stamp = 0;
    if (!mark || !stack || !anc || !primary || !start || !cnt || !vpar__egad_pairs_expand(pairs)) {
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory propagating", path);
        goto out;
    }
    for (size_t t = 0; t < nt0; t++) cnt[t] = UINT32_MAX; /* not computed yet */
    size_t known = 0;
    /* In pair order: each term's ancestors when first met, so terms
       reached only by propagation are numbered in the order reached. */
    for (size_t i = 0; i < n && st == VPAR_OK; i++) {
        uint32_t t = pairs->t[i];
        if (cnt[t] != UINT32_MAX) continue;
        const char *name = a->terms.chars.p + a->terms.off[t];
        long oi = vpar__egad_obo_find(obo, name, a->terms.off[t + 1] - a->terms.off[t] - 1);
        start[t] = lists.n;
        cnt[t] = 0;
        primary[t] = t;
        if (oi < 0) continue;
        known++;
        const char *pid = vpar__egad_obo_id(obo, (size_t)oi);
        if (strcmp(pid, name) != 0) { /* an alt_id: counted as its primary term */
            long p = vpar__egad_strtab_add(&a->terms, pid, strlen(pid));
            if (p < 0) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); break; }
            primary[t] = (uint32_t)p;
        }
        size_t k = vpar__egad_obo_ancestors(obo, (size_t)oi, anc, mark, &stamp, stack);
        if (!vpar__egad_pairs_reserve(&lists, lists.n + k + 1)) {
            st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        for (size_t j = 0; j < k; j++) {
            const char *aid = vpar__egad_obo_id(obo, anc[j]);
            long x = vpar__egad_strtab_add(&a->terms, aid, strlen(aid));
            if (x < 0) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); break; }
            lists.t[lists.n++] = (uint32_t)x;
        }
        cnt[t] = (uint32_t)k;
    }
    if (st != VPAR_OK) goto out;
    if (!known) {
        st = vpar_fail(VPAR_ERR_NOT_FOUND, "%s: none of its %zu terms is in the ontology (--obo): "
                       "a different ontology or ID style (expected IDs like GO:0008150)?", path, nt0);
        goto out;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += 1 + cnt[pairs->t[i]];
    ng = (uint32_t *)vpar__egad_alloc(total, sizeof *ng);
    ntm = (uint32_t *)vpar__egad_alloc(total, sizeof *ntm);
    if (!ng || !ntm) {
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu propagated pairs", path, total);
        goto out;
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t g = pairs->g[i], t = pairs->t[i];
        ng[w] = g;
        ntm[w++] = primary[t];
        for (uint32_t j = 0; j < cnt[t]; j++) {
            ng[w] = g;
            ntm[w++] = lists.t[start[t] + j];
        }
    }
    vpar__egad_pairs_free(pairs);
    pairs->g = ng;
    pairs->t = ntm;
    pairs->n = pairs->cap = total;
    ng = ntm = NULL;
out:
    VPAR_FREE(mark); VPAR_FREE(stack); VPAR_FREE(anc); VPAR_FREE(primary);
    VPAR_FREE(start); VPAR_FREE(cnt); VPAR_FREE(ng); VPAR_FREE(ntm);
    vpar__egad_pairs_free(&lists);
    return st;
}
