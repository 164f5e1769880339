/* egad.h — EGAD neighbor voting: how well each gene set (GO term) is
   predicted by a gene co-expression network.

   WHAT
     The core of vpar-egad as a small C API, reused by the aggregation
     example: load an annotation set (gene, term) once, build a plan for a
     network's gene list (universe, kept terms, cross-validation folds), run
     the plan on an N x N float32/float64 network. The results match the
     widely used Python EGAD `run_egad` (see docs/egad.md for the exact
     semantics: universe, term filter, fold assignment, scores, AUROC,
     degree-null AUROC, P value).

     Cost per network: one pass over the network for the node degrees, then
     per term one read of each positive's row (the term's fold sums; the
     training score of a fold is the total minus the held-out fold) and one
     pass over the universe that counts, for the few held-out scores of each
     fold, how many candidates score lower or equal (binary search), which
     gives the held-out rank sum without sorting N scores. Nothing of size
     N x terms is formed; scratch is O(threads x nfold x N) doubles.

   EXAMPLE
       vpar_egad_annotations *ann;
       if (vpar_egad_annotations_load(&ann, "go.tsv.gz", NULL)) die();
       vpar_npy w;  vpar_npy_open(&w, "nw.npy", 0);          // n x n, mmapped
       unsigned char *drop = calloc(n, 1);
       vpar_egad_find_all_nan_rows(w.data, w.dtype, n, drop);
       vpar_egad_plan *plan;
       if (vpar_egad_plan_create(&plan, ann, genes, n, drop, NULL, "nw.npy")) die();
       vpar_egad_term_result *r = calloc(vpar_egad_plan_nterms(plan), sizeof *r);
       double mean_auc;
       vpar_egad_run(plan, w.data, w.dtype, vpar_pool_default(), r, &mean_auc, "nw.npy");
       // r[t].auc ... for term vpar_egad_plan_term(plan, t)

   BUILD
     Header-only like vpar: the one .c file that defines VPAR_IMPLEMENTATION
     before including vpar.h also gets this implementation when it includes
     egad.h afterwards (or defines VPAR_IMPLEMENTATION before it). Link the
     CMake target `vpar_egad` (include path, optional zlib/HDF5).
     VPAR_EGAD_WITH_ZLIB=1   read .gz annotations through zlib; otherwise
                             they are decompressed by spawning `gzip -dc`.
     VPAR_EGAD_WITH_HDF5=1   pandas HDF5 inputs (vpar_egad_hdf5_*).

   ERRORS
     Functions return vpar_status; vpar_last_error() names the file (or the
     `name` argument) and what is wrong: malformed annotation lines with
     their line number, a network without any annotated gene, no term
     passing the size filter, NaN/inf left in the network, ...

   CALLING CONTEXTS
     Annotations and plans are immutable after creation: any number of
     threads may use them concurrently, and they stay valid in a forked
     child. vpar_egad_run may be called from any thread, not from inside a
     task of `pool` (it blocks on the pool); distinct calls are independent.

   DETERMINISM
     Results do not depend on the thread count: each term is computed by one
     thread with a fixed summation order (rows in universe order), and the
     degrees are column sums in row order. For float32 networks every sum
     is exact in double, so ties in scores are reproduced exactly.
*/
#ifndef VPAR_EGAD_H
#define VPAR_EGAD_H

#include "vpar/common.h"
#include "vpar/npy.h"
#include "vpar/pool.h"
#include "vpar/rank.h"
#include "vpar/simd.h"
#include "excommon.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- annotations ------------------------------------------------------- */

typedef struct vpar_egad_annotations vpar_egad_annotations; /* opaque */

typedef struct vpar_egad_annot_desc {
    int gene_col, term_col; /* 0-based TSV columns; 0 and 0 mean defaults 0 and 1
                               (GAF: 1 and 4) */
    int header;             /* 0 auto-detect, 1 has header, -1 none */
} vpar_egad_annot_desc;

/* Loads (gene, term) pairs from a tab-separated file, plain or gzip
   (detected from the content, not the name). Lines starting with '!' or
   '#' are comments (GAF headers); empty lines are skipped; repeated pairs
   count once. Terms are numbered in order of first appearance. Header
   auto-detection: the first data line is a header when its gene or term
   field is a usual column name (gene, gene_id, symbol, term, go, go_id,
   ...). A line with too few columns or an empty gene/term field is an
   error "path:LINE: ...". Any thread. */
VPAR_API vpar_status vpar_egad_annotations_load(vpar_egad_annotations **out,
        const char *path, const vpar_egad_annot_desc *desc /* NULL ok */);

/* Builds annotations from npairs in-memory pairs (genes[i], terms[i]).
   `name` is used in errors. Any thread. */
VPAR_API vpar_status vpar_egad_annotations_create(vpar_egad_annotations **out,
        const char *const *genes, const char *const *terms, size_t npairs,
        const char *name);

/* Frees; NULL is a no-op. Not while a plan built from it is being created. */
VPAR_API void vpar_egad_annotations_destroy(vpar_egad_annotations *ann);

/* Sizes and names (distinct genes, distinct terms, distinct pairs). Any thread. */
VPAR_API size_t vpar_egad_annotations_ngenes(const vpar_egad_annotations *ann);
VPAR_API size_t vpar_egad_annotations_nterms(const vpar_egad_annotations *ann);
VPAR_API size_t vpar_egad_annotations_npairs(const vpar_egad_annotations *ann);
VPAR_API const char *vpar_egad_annotations_gene(const vpar_egad_annotations *ann, size_t g);
VPAR_API const char *vpar_egad_annotations_term(const vpar_egad_annotations *ann, size_t t);
/* Index of gene `id`, or -1 when it is not annotated. Any thread. */
VPAR_API long vpar_egad_annotations_find_gene(const vpar_egad_annotations *ann, const char *id);
/* Term indices (ascending, distinct) of gene g; *count gets their number.
   Any thread. */
VPAR_API const uint32_t *vpar_egad_annotations_gene_terms(const vpar_egad_annotations *ann,
                                                          size_t g, size_t *count);

/* ---- plan ---------------------------------------------------------------- */

typedef struct vpar_egad_desc {
    int nfold;             /* 0 -> 3 */
    int min_genes;         /* 0 -> 20 (kept when count >  min) */
    int max_genes;         /* 0 -> 1000 (kept when count < max) */
    int nonfinite_as_zero; /* treat NaN/inf left after dropping all-NaN rows
                              as 0 instead of an error */
} vpar_egad_desc;

/* A plan: universe (network genes after dropping `drop[i]` genes and
   repeated IDs, restricted to annotated genes, network order), kept terms,
   folds. */
typedef struct vpar_egad_plan vpar_egad_plan;

/* Builds the plan for a network whose n rows/columns are labelled
   genes[0..n). Errors: no network gene is annotated (VPAR_ERR_NOT_FOUND),
   no term passes the size filter (VPAR_ERR_NOT_FOUND), bad desc values
   (VPAR_ERR_INVALID). The plan copies what it needs: `ann` and `genes`
   may be freed afterwards. Any thread. */
VPAR_API vpar_status vpar_egad_plan_create(vpar_egad_plan **out,
        const vpar_egad_annotations *ann, const char *const *genes, size_t n,
        const unsigned char *drop /* n flags or NULL */,
        const vpar_egad_desc *desc /* NULL ok */, const char *name /* for errors */);
VPAR_API void vpar_egad_plan_destroy(vpar_egad_plan *plan);
VPAR_API size_t vpar_egad_plan_nterms(const vpar_egad_plan *plan);
VPAR_API const char *vpar_egad_plan_term(const vpar_egad_plan *plan, size_t t);
VPAR_API size_t vpar_egad_plan_universe_size(const vpar_egad_plan *plan);
/* Network size n the plan was built for; number of universe genes of term t;
   network index of universe gene u. Any thread. */
VPAR_API size_t vpar_egad_plan_network_size(const vpar_egad_plan *plan);
VPAR_API size_t vpar_egad_plan_term_size(const vpar_egad_plan *plan, size_t t);
VPAR_API size_t vpar_egad_plan_universe_index(const vpar_egad_plan *plan, size_t u);
/* Universe indices (ascending) of the genes of kept term t; *count gets
   their number. Valid as long as the plan. Any thread. */
VPAR_API const uint32_t *vpar_egad_plan_term_members(const vpar_egad_plan *plan, size_t t,
                                                     size_t *count);

/* Flags genes whose row of the n x n network is entirely NaN (sets
   drop[i] = 1, leaves other flags unchanged). float32/float64 only. Any
   thread. */
VPAR_API vpar_status vpar_egad_find_all_nan_rows(const void *w, vpar_dtype dtype,
        size_t n, unsigned char *drop);

/* ---- run ----------------------------------------------------------------- */

typedef struct vpar_egad_term_result {
    double auc, avg_node_degree, degree_null_auc, p_value;
} vpar_egad_term_result;

/* Runs EGAD on the full n x n network w (float32 or float64, row-major, the
   same n and gene order as the plan; dropped/unused genes are skipped, the
   diagonal counts as 1 without modifying w). results: nterms entries
   (caller-owned); *mean_auc: mean AUC over terms skipping NaN (may be
   NULL). pool: terms in parallel (NULL = serial). Errors: NaN/inf inside the
   universe (VPAR_ERR_FORMAT, naming `name`, the genes and the position)
   unless the plan's desc says nonfinite_as_zero; unsupported dtype; no
   memory. Any thread, not inside a task of `pool`. */
VPAR_API vpar_status vpar_egad_run(const vpar_egad_plan *plan, const void *w,
        vpar_dtype dtype, vpar_pool *pool, vpar_egad_term_result *results,
        double *mean_auc, const char *name);

/* Writes results as CSV `term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value`
   with 17 significant digits and NaN as `NaN`, atomically (temporary file
   renamed over `path`). Any thread. */
VPAR_API vpar_status vpar_egad_write_csv(const char *path, const vpar_egad_plan *plan,
        const vpar_egad_term_result *results);

/* Reads a text file of one gene ID per line (trailing '\r' and blank last
   line ignored). *out_genes is one allocation holding the pointer array and
   the strings: free it with VPAR_FREE. Any thread. */
VPAR_API vpar_status vpar_egad_read_genes(const char *path, char ***out_genes, size_t *out_n);

/* ---- pandas HDF5 (fixed format) ---- */

/* Reads `key` of a pandas DataFrame.to_hdf file (fixed format, one block):
   the values (float32/float64 for networks, any integer/bool/float for
   annotation frames), the row labels (index) and column labels. *values is
   a VPAR_MALLOC'd rows x cols array of *dtype (F32, F64 or, for
   non-float frames, U8 with nonzero -> 1); *row_names and *col_names as in
   vpar_egad_read_genes. Returns VPAR_ERR_UNSUPPORTED when built without
   HDF5. Any thread (libhdf5 is serialised internally only when built
   thread-safe: call from one thread at a time). */
VPAR_API vpar_status vpar_egad_hdf5_read_frame(const char *path, const char *key,
        void **values, vpar_dtype *dtype, size_t *rows, size_t *cols,
        char ***row_names, char ***col_names);

/* Annotations from a dense genes x terms frame `key` (default "go") of a
   pandas HDF5 file: gene i has term j when the value is nonzero; term order
   = column order. VPAR_ERR_UNSUPPORTED without HDF5. */
VPAR_API vpar_status vpar_egad_annotations_load_hdf5(vpar_egad_annotations **out,
        const char *path, const char *key /* NULL = "go" */);

/* 1 when built with HDF5 / zlib support. */
VPAR_API int vpar_egad_have_hdf5(void);
VPAR_API int vpar_egad_have_zlib(void);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_EGAD_H */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if defined(VPAR_IMPLEMENTATION) && !defined(VPAR_EGAD_IMPLEMENTED)
#define VPAR_EGAD_IMPLEMENTED

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5
#  include <hdf5.h>
#endif

/* >>utilities ------------------------------------------------------------- */

static void *vpar__egad_alloc(size_t count, size_t size) {
    size_t bytes;
    if (!vpar__mul_size(count, size, &bytes)) return NULL;
    return VPAR_MALLOC(bytes ? bytes : 1);
}

static void *vpar__egad_zalloc(size_t count, size_t size) {
    size_t bytes;
    if (!vpar__mul_size(count, size, &bytes)) return NULL;
    void *p = VPAR_MALLOC(bytes ? bytes : 1);
    if (p) memset(p, 0, bytes ? bytes : 1);
    return p;
}

/* Text buffers, whole-file reading (gzip detected from the content) and
   line splitting are examples/common's (excommon.h). */

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

/* >>annotations ----------------------------------------------------------- */

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

VPAR_API vpar_status vpar_egad_annotations_load(vpar_egad_annotations **out,
        const char *path, const vpar_egad_annot_desc *desc) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load: out is NULL");
    *out = NULL;
    if (!path) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load: path is NULL");
    int gcol = 0, tcol = 1, header = 0;
    if (desc) {
        if (desc->gene_col || desc->term_col) { gcol = desc->gene_col; tcol = desc->term_col; }
        header = desc->header;
    }
    if (gcol < 0 || tcol < 0 || gcol == tcol)
        return vpar_fail(VPAR_ERR_INVALID, "%s: bad annotation columns (gene %d, term %d; 0-based, distinct)",
                         path, gcol, tcol);
    vpar_ex_buf text = {0};
    vpar_status st = vpar_ex_read_file(path, VPAR_EX_READ_GZIP, &text);
    if (st != VPAR_OK) { vpar_ex_buf_free(&text); return st; }

    vpar_egad_annotations *a = (vpar_egad_annotations *)vpar__egad_zalloc(1, sizeof *a);
    vpar__egad_pairs pairs = {0};
    if (!a) { VPAR_FREE(text.p); return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); }
    int maxcol = gcol > tcol ? gcol : tcol;
    size_t lineno = 0;
    int seen_data = 0;
    char *p = text.p, *end = text.p + text.len;
    while (p < end && st == VPAR_OK) {
        char *eol = (char *)memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        lineno++;
        char *le = eol;
        if (le > p && le[-1] == '\r') le--;
        char *line = p;
        p = eol + 1;
        if (le == line || line[0] == '!' || line[0] == '#') continue;
        int only_ws = 1;
        for (char *c = line; c < le; c++)
            if (!isspace((unsigned char)*c)) { only_ws = 0; break; }
        if (only_ws) continue;
        const char *gs = NULL, *ts = NULL;
        size_t gl = 0, tl = 0;
        int col = 0;
        char *f = line;
        for (;;) {
            char *tab = (char *)memchr(f, '\t', (size_t)(le - f));
            char *fe = tab ? tab : le;
            if (col == gcol) { gs = f; gl = (size_t)(fe - f); }
            if (col == tcol) { ts = f; tl = (size_t)(fe - f); }
            col++;
            if (!tab || col > maxcol) break;
            f = tab + 1;
        }
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
                (header == 0 && (vpar__egad_is_header_word(gs, gl) || vpar__egad_is_header_word(ts, tl))))
                continue;
        }
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
    VPAR_FREE(text.p);
    if (st == VPAR_OK && pairs.n == 0)
        st = vpar_fail(VPAR_ERR_FORMAT, "%s: no (gene, term) pairs in the file", path);
    if (st == VPAR_OK) st = vpar__egad_ann_finish(a, &pairs, path);
    VPAR_FREE(pairs.g);
    VPAR_FREE(pairs.t);
    if (st != VPAR_OK) { vpar_egad_annotations_destroy(a); return st; }
    *out = a;
    return VPAR_OK;
}

VPAR_API vpar_status vpar_egad_annotations_create(vpar_egad_annotations **out,
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

VPAR_API void vpar_egad_annotations_destroy(vpar_egad_annotations *ann) {
    if (!ann) return;
    vpar__egad_strtab_free(&ann->genes);
    vpar__egad_strtab_free(&ann->terms);
    VPAR_FREE(ann->gene_ptr);
    VPAR_FREE(ann->gene_terms);
    VPAR_FREE(ann);
}

VPAR_API size_t vpar_egad_annotations_ngenes(const vpar_egad_annotations *ann) { return ann ? ann->genes.n : 0; }
VPAR_API size_t vpar_egad_annotations_nterms(const vpar_egad_annotations *ann) { return ann ? ann->terms.n : 0; }
VPAR_API size_t vpar_egad_annotations_npairs(const vpar_egad_annotations *ann) { return ann ? ann->npairs : 0; }
VPAR_API const char *vpar_egad_annotations_gene(const vpar_egad_annotations *ann, size_t g) {
    return ann && g < ann->genes.n ? ann->genes.chars.p + ann->genes.off[g] : NULL;
}
VPAR_API const char *vpar_egad_annotations_term(const vpar_egad_annotations *ann, size_t t) {
    return ann && t < ann->terms.n ? ann->terms.chars.p + ann->terms.off[t] : NULL;
}
VPAR_API const uint32_t *vpar_egad_annotations_gene_terms(const vpar_egad_annotations *ann,
                                                          size_t g, size_t *count) {
    if (!ann || g >= ann->genes.n) { if (count) *count = 0; return NULL; }
    if (count) *count = ann->gene_ptr[g + 1] - ann->gene_ptr[g];
    return ann->gene_terms + ann->gene_ptr[g];
}
VPAR_API long vpar_egad_annotations_find_gene(const vpar_egad_annotations *ann, const char *id) {
    if (!ann || !id) return -1;
    return vpar__egad_strtab_find(&ann->genes, id, strlen(id));
}

/* >>plan ------------------------------------------------------------------ */

struct vpar_egad_plan {
    size_t n;              /* network size */
    size_t nu;             /* universe size */
    uint32_t *univ;        /* network index of universe gene u */
    size_t nterms;
    char **term_names;     /* one allocation: pointers + strings */
    size_t *pos_ptr;       /* nterms + 1 */
    uint32_t *pos_net;     /* network index of each positive, universe order */
    uint32_t *pos_univ;    /* universe index of each positive */
    unsigned char *pos_fold;
    size_t max_pos;        /* largest term */
    vpar_egad_desc desc;   /* with defaults filled in */
};

VPAR_API vpar_status vpar_egad_plan_create(vpar_egad_plan **out,
        const vpar_egad_annotations *ann, const char *const *genes, size_t n,
        const unsigned char *drop, const vpar_egad_desc *desc, const char *name) {
    if (!name) name = "network";
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_plan_create: out is NULL", name);
    *out = NULL;
    if (!ann || (!genes && n))
        return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_plan_create: annotations or genes is NULL", name);
    vpar_egad_desc d = {0, 0, 0, 0};
    if (desc) d = *desc;
    if (d.nfold == 0) d.nfold = 3;
    if (d.min_genes == 0) d.min_genes = 20;
    if (d.max_genes == 0) d.max_genes = 1000;
    if (d.nfold < 1 || d.nfold > 255)
        return vpar_fail(VPAR_ERR_INVALID, "%s: nfold must be in 1..255 (got %d)", name, d.nfold);
    if (d.min_genes < 0 || d.max_genes < 0 || d.max_genes <= d.min_genes + 1)
        return vpar_fail(VPAR_ERR_INVALID,
                         "%s: term size filter min=%d max=%d keeps nothing (kept: min < size < max)",
                         name, d.min_genes, d.max_genes);
    if (n > 0xfffffff0u)
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: network of %zu genes is too large", name, n);

    size_t ng = ann->genes.n, nt = ann->terms.n;
    vpar_egad_plan *p = (vpar_egad_plan *)vpar__egad_zalloc(1, sizeof *p);
    unsigned char *used = (unsigned char *)vpar__egad_zalloc(ng, 1);
    uint32_t *ugene = (uint32_t *)vpar__egad_alloc(n, sizeof *ugene);   /* ann gene of universe u */
    uint32_t *count = (uint32_t *)vpar__egad_zalloc(nt, sizeof *count);
    long *kept = (long *)vpar__egad_alloc(nt, sizeof *kept);
    vpar_status st = VPAR_OK;
    if (!p || !used || !ugene || !count || !kept) {
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory building the plan", name);
        goto done;
    }
    p->n = n;
    p->desc = d;
    p->univ = (uint32_t *)vpar__egad_alloc(n, sizeof *p->univ);
    if (!p->univ) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name); goto done; }
    for (size_t i = 0; i < n; i++) {
        if (drop && drop[i]) continue;
        if (!genes[i]) continue;
        long g = vpar__egad_strtab_find(&ann->genes, genes[i], strlen(genes[i]));
        if (g < 0 || used[g]) continue; /* unannotated, or a repeated ID (first kept) */
        used[g] = 1;
        p->univ[p->nu] = (uint32_t)i;
        ugene[p->nu] = (uint32_t)g;
        p->nu++;
    }
    if (p->nu == 0) {
        size_t nd = 0;
        for (size_t i = 0; i < n; i++) nd += drop && drop[i];
        st = vpar_fail(VPAR_ERR_NOT_FOUND,
                       "%s: no gene of the network (%zu genes, %zu dropped as all-NaN; first: '%s') "
                       "occurs in the annotations (%zu genes; first: '%s')",
                       name, n, nd, n ? genes[0] : "", ng, ng ? vpar_egad_annotations_gene(ann, 0) : "");
        goto done;
    }
    for (size_t u = 0; u < p->nu; u++) {
        uint32_t g = ugene[u];
        for (uint32_t k = ann->gene_ptr[g]; k < ann->gene_ptr[g + 1]; k++) count[ann->gene_terms[k]]++;
    }
    size_t names_bytes = 0;
    for (size_t t = 0; t < nt; t++) {
        if (count[t] > (uint32_t)d.min_genes && count[t] < (uint32_t)d.max_genes) {
            kept[t] = (long)p->nterms++;
            names_bytes += strlen(vpar_egad_annotations_term(ann, t)) + 1;
            if (count[t] > p->max_pos) p->max_pos = count[t];
        } else {
            kept[t] = -1;
        }
    }
    if (p->nterms == 0) {
        st = vpar_fail(VPAR_ERR_NOT_FOUND,
                       "%s: no term has more than %d and fewer than %d genes among the %zu "
                       "annotated network genes (%zu terms in the annotations)",
                       name, d.min_genes, d.max_genes, p->nu, nt);
        goto done;
    }
    p->term_names = (char **)vpar__egad_alloc(1, p->nterms * sizeof(char *) + names_bytes);
    p->pos_ptr = (size_t *)vpar__egad_zalloc(p->nterms + 1, sizeof *p->pos_ptr);
    if (!p->term_names || !p->pos_ptr) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name); goto done; }
    {
        char *s = (char *)(p->term_names + p->nterms);
        for (size_t t = 0; t < nt; t++) {
            if (kept[t] < 0) continue;
            const char *tn = vpar_egad_annotations_term(ann, t);
            size_t l = strlen(tn) + 1;
            memcpy(s, tn, l);
            p->term_names[kept[t]] = s;
            s += l;
            p->pos_ptr[kept[t] + 1] = count[t];
        }
    }
    for (size_t t = 0; t < p->nterms; t++) p->pos_ptr[t + 1] += p->pos_ptr[t];
    {
        size_t npos = p->pos_ptr[p->nterms];
        p->pos_net = (uint32_t *)vpar__egad_alloc(npos, sizeof *p->pos_net);
        p->pos_univ = (uint32_t *)vpar__egad_alloc(npos, sizeof *p->pos_univ);
        p->pos_fold = (unsigned char *)vpar__egad_alloc(npos, 1);
        size_t *fill = (size_t *)vpar__egad_alloc(p->nterms, sizeof *fill);
        if (!p->pos_net || !p->pos_univ || !p->pos_fold || !fill) {
            VPAR_FREE(fill);
            st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name);
            goto done;
        }
        memcpy(fill, p->pos_ptr, p->nterms * sizeof *fill);
        /* Fold k mod nfold for the k-th positive, gene by gene in universe
           order, terms in term order within a gene (gene_terms is sorted). */
        size_t k = 0;
        for (size_t u = 0; u < p->nu; u++) {
            uint32_t g = ugene[u];
            for (uint32_t j = ann->gene_ptr[g]; j < ann->gene_ptr[g + 1]; j++) {
                long t = kept[ann->gene_terms[j]];
                if (t < 0) continue;
                size_t at = fill[t]++;
                p->pos_net[at] = p->univ[u];
                p->pos_univ[at] = (uint32_t)u;
                p->pos_fold[at] = (unsigned char)(k % (size_t)d.nfold);
                k++;
            }
        }
        VPAR_FREE(fill);
    }
done:
    VPAR_FREE(used);
    VPAR_FREE(ugene);
    VPAR_FREE(count);
    VPAR_FREE(kept);
    if (st != VPAR_OK) { vpar_egad_plan_destroy(p); return st; }
    *out = p;
    return VPAR_OK;
}

VPAR_API void vpar_egad_plan_destroy(vpar_egad_plan *plan) {
    if (!plan) return;
    VPAR_FREE(plan->univ);
    VPAR_FREE(plan->term_names);
    VPAR_FREE(plan->pos_ptr);
    VPAR_FREE(plan->pos_net);
    VPAR_FREE(plan->pos_univ);
    VPAR_FREE(plan->pos_fold);
    VPAR_FREE(plan);
}

VPAR_API size_t vpar_egad_plan_nterms(const vpar_egad_plan *plan) { return plan ? plan->nterms : 0; }
VPAR_API const char *vpar_egad_plan_term(const vpar_egad_plan *plan, size_t t) {
    return plan && t < plan->nterms ? plan->term_names[t] : NULL;
}
VPAR_API size_t vpar_egad_plan_universe_size(const vpar_egad_plan *plan) { return plan ? plan->nu : 0; }
VPAR_API size_t vpar_egad_plan_network_size(const vpar_egad_plan *plan) { return plan ? plan->n : 0; }
VPAR_API size_t vpar_egad_plan_term_size(const vpar_egad_plan *plan, size_t t) {
    return plan && t < plan->nterms ? plan->pos_ptr[t + 1] - plan->pos_ptr[t] : 0;
}
VPAR_API size_t vpar_egad_plan_universe_index(const vpar_egad_plan *plan, size_t u) {
    return plan && u < plan->nu ? plan->univ[u] : (size_t)-1;
}
VPAR_API const uint32_t *vpar_egad_plan_term_members(const vpar_egad_plan *plan, size_t t,
                                                     size_t *count) {
    if (!plan || t >= plan->nterms) { if (count) *count = 0; return NULL; }
    if (count) *count = plan->pos_ptr[t + 1] - plan->pos_ptr[t];
    return plan->pos_univ + plan->pos_ptr[t];
}

VPAR_API vpar_status vpar_egad_find_all_nan_rows(const void *w, vpar_dtype dtype, size_t n,
                                                 unsigned char *drop) {
    if ((!w || !drop) && n)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_find_all_nan_rows: NULL argument");
    if (dtype != VPAR_DTYPE_F32 && dtype != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "vpar_egad_find_all_nan_rows: network must be float32 or float64 (got %s)",
                         vpar_dtype_descr(dtype));
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        if (dtype == VPAR_DTYPE_F32) {
            const float *r = (const float *)w + i * n;
            while (j < n && isnan(r[j])) j++;
        } else {
            const double *r = (const double *)w + i * n;
            while (j < n && isnan(r[j])) j++;
        }
        if (j == n && n) drop[i] = 1;
    }
    return VPAR_OK;
}

/* >>run ------------------------------------------------------------------- */

/* acc[0..len) += row[0..len) in double; `clean` replaces NaN/inf by 0. */
static void vpar__egad_add_f32(double *restrict acc, const float *restrict row, size_t len) {
    for (size_t i = 0; i < len; i++) acc[i] += (double)row[i];
}
static void vpar__egad_add_f64(double *restrict acc, const double *restrict row, size_t len) {
    for (size_t i = 0; i < len; i++) acc[i] += row[i];
}
static void vpar__egad_add_clean(double *restrict acc, const void *row, vpar_dtype dt, size_t len) {
    for (size_t i = 0; i < len; i++) {
        double v = dt == VPAR_DTYPE_F32 ? (double)((const float *)row)[i] : ((const double *)row)[i];
        if (isfinite(v)) acc[i] += v;
    }
}

/* acc[c - c0] += W[j, c] for c in [c0, c1), with W[j, j] taken as 1. */
static void vpar__egad_add_row(double *acc, const void *w, vpar_dtype dt, size_t n, size_t j,
                               size_t c0, size_t c1, int clean) {
    size_t es = dt == VPAR_DTYPE_F32 ? 4 : 8;
    const char *row = (const char *)w + (j * n) * es;
    size_t cut[3] = {c0, c1, c1};
    int diag = j >= c0 && j < c1;
    if (diag) { cut[1] = j; cut[2] = j + 1; }
    size_t segs[2][2] = {{cut[0], cut[1]}, {cut[2], c1}};
    for (int s = 0; s < (diag ? 2 : 1); s++) {
        size_t b = segs[s][0], e = segs[s][1];
        if (e <= b) continue;
        if (clean) vpar__egad_add_clean(acc + (b - c0), row + b * es, dt, e - b);
        else if (dt == VPAR_DTYPE_F32) vpar__egad_add_f32(acc + (b - c0), (const float *)row + b, e - b);
        else vpar__egad_add_f64(acc + (b - c0), (const double *)row + b, e - b);
    }
    if (diag) acc[j - c0] += 1.0;
}

/* acc[i] += (a[i] + b[i]) + (c[i] + d[i]): four rows per pass over the
   accumulator (the accumulator traffic, not the rows, bounds a one-row
   loop). For float32 input every partial sum is exact in double.
   Written with GCC/Clang vector extensions (gcc -O2 does not vectorize the
   plain loops); on x86-64 GCC also builds an AVX2 clone chosen at load
   time (define VPAR_NO_SIMD or VPAR_NO_AVX2 to keep the baseline only). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(VPAR_NO_SIMD)
#  define VPAR__EGAD_VEC 1
/* Unaligned vector loads/stores as plain expressions (no helper
   functions: passing 32-byte vectors by value would change the ABI without
   AVX). */
typedef double vpar__egad_d4 __attribute__((vector_size(32)));
typedef double vpar__egad_d4u __attribute__((vector_size(32), aligned(8), may_alias));
typedef float vpar__egad_f4u __attribute__((vector_size(16), aligned(4), may_alias));
#  define vpar__egad_ld4d(p) (*(const vpar__egad_d4u *)(const void *)(p))
#  define vpar__egad_ld4f(p) __builtin_convertvector(*(const vpar__egad_f4u *)(const void *)(p), vpar__egad_d4)
#  define vpar__egad_st4d(p, v) (*(vpar__egad_d4u *)(void *)(p) = (v))
#endif
/* No clones under sanitizers: an ifunc resolver runs before the sanitizer
   runtime is initialised (TSan crashes in it). */
#if defined(VPAR__EGAD_VEC) && defined(__x86_64__) && !defined(__clang__) && !defined(VPAR_NO_AVX2) && \
    defined(__GLIBC__) && !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#  define VPAR__EGAD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#  define VPAR__EGAD_CLONES
#endif

VPAR__EGAD_CLONES
static void vpar__egad_addk_f32(double *restrict acc, const float *const *rows, int k, size_t len) {
    size_t i = 0;
#ifdef VPAR__EGAD_VEC
    if (k == 4) {
        const float *a = rows[0], *b = rows[1], *c = rows[2], *d = rows[3];
        for (; i + 4 <= len; i += 4)
            vpar__egad_st4d(acc + i, vpar__egad_ld4d(acc + i) +
                                         ((vpar__egad_ld4f(a + i) + vpar__egad_ld4f(b + i)) +
                                          (vpar__egad_ld4f(c + i) + vpar__egad_ld4f(d + i))));
    } else if (k == 2) {
        const float *a = rows[0], *b = rows[1];
        for (; i + 4 <= len; i += 4)
            vpar__egad_st4d(acc + i, vpar__egad_ld4d(acc + i) + (vpar__egad_ld4f(a + i) + vpar__egad_ld4f(b + i)));
    } else {
        const float *a = rows[0];
        for (; i + 4 <= len; i += 4) vpar__egad_st4d(acc + i, vpar__egad_ld4d(acc + i) + vpar__egad_ld4f(a + i));
    }
#endif
    for (; i < len; i++) {
        if (k == 4)
            acc[i] += ((double)rows[0][i] + (double)rows[1][i]) + ((double)rows[2][i] + (double)rows[3][i]);
        else if (k == 2)
            acc[i] += (double)rows[0][i] + (double)rows[1][i];
        else
            acc[i] += (double)rows[0][i];
    }
}

VPAR__EGAD_CLONES
static void vpar__egad_addk_f64(double *restrict acc, const double *const *rows, int k, size_t len) {
    size_t i = 0;
#ifdef VPAR__EGAD_VEC
    if (k == 4) {
        const double *a = rows[0], *b = rows[1], *c = rows[2], *d = rows[3];
        for (; i + 4 <= len; i += 4)
            vpar__egad_st4d(acc + i, vpar__egad_ld4d(acc + i) +
                                         ((vpar__egad_ld4d(a + i) + vpar__egad_ld4d(b + i)) +
                                          (vpar__egad_ld4d(c + i) + vpar__egad_ld4d(d + i))));
    } else if (k == 2) {
        const double *a = rows[0], *b = rows[1];
        for (; i + 4 <= len; i += 4)
            vpar__egad_st4d(acc + i, vpar__egad_ld4d(acc + i) + (vpar__egad_ld4d(a + i) + vpar__egad_ld4d(b + i)));
    } else {
        const double *a = rows[0];
        for (; i + 4 <= len; i += 4) vpar__egad_st4d(acc + i, vpar__egad_ld4d(acc + i) + vpar__egad_ld4d(a + i));
    }
#endif
    for (; i < len; i++) {
        if (k == 4) acc[i] += (rows[0][i] + rows[1][i]) + (rows[2][i] + rows[3][i]);
        else if (k == 2) acc[i] += rows[0][i] + rows[1][i];
        else acc[i] += rows[0][i];
    }
}

/* v[u] = |(T[u] - F[u]) / d[u]| */
VPAR__EGAD_CLONES
static void vpar__egad_scores(double *restrict v, const double *restrict T, const double *restrict F,
                              const double *restrict d, size_t len) {
    size_t i = 0;
#ifdef VPAR__EGAD_VEC
    for (; i + 4 <= len; i += 4) {
        typedef unsigned long long vpar__egad_u4 __attribute__((vector_size(32)));
        const vpar__egad_u4 mask = {~(1ull << 63), ~(1ull << 63), ~(1ull << 63), ~(1ull << 63)};
        vpar__egad_d4 x = (vpar__egad_ld4d(T + i) - vpar__egad_ld4d(F + i)) / vpar__egad_ld4d(d + i);
        vpar__egad_st4d(v + i, (vpar__egad_d4)((vpar__egad_u4)x & mask)); /* fabs */
    }
#endif
    for (; i < len; i++) v[i] = fabs((T[i] - F[i]) / d[i]);
}

/* Sum over u of 2 x (values of h[0..k) above v[u]) + (values equal to it),
   for small k: k vector passes beat a search per candidate. */
/* Number of entries of sorted x[0..k) (k >= 1) that are < v: branch-free
   lower bound (the comparison outcome is unpredictable). */
static inline size_t vpar__egad_lower(const double *x, size_t k, double v) {
    const double *base = x;
    size_t len = k;
    while (len > 1) {
        size_t half = len >> 1;
        base = base[half] < v ? base + half : base;
        len -= half;
    }
    return (size_t)(base - x) + (*base < v);
}

VPAR__EGAD_CLONES
static long long vpar__egad_count_small(const double *restrict v, size_t len, const double *h, size_t k) {
    long long total = 0;
    size_t q = 0;
#ifdef VPAR__EGAD_VEC
    typedef long long vpar__egad_l4 __attribute__((vector_size(32)));
    /* Four thresholds per pass over v; comparison masks are -1 for true. */
    for (; q + 4 <= k; q += 4) {
        const vpar__egad_d4 h0 = {h[q], h[q], h[q], h[q]}, h1 = {h[q + 1], h[q + 1], h[q + 1], h[q + 1]},
                            h2 = {h[q + 2], h[q + 2], h[q + 2], h[q + 2]},
                            h3 = {h[q + 3], h[q + 3], h[q + 3], h[q + 3]};
        vpar__egad_l4 a = {0, 0, 0, 0}, e = {0, 0, 0, 0};
        size_t i = 0;
        for (; i + 4 <= len; i += 4) {
            vpar__egad_d4 x = vpar__egad_ld4d(v + i);
            a += ((vpar__egad_l4)(x < h0) + (vpar__egad_l4)(x < h1)) + ((vpar__egad_l4)(x < h2) + (vpar__egad_l4)(x < h3));
            e += ((vpar__egad_l4)(x == h0) + (vpar__egad_l4)(x == h1)) + ((vpar__egad_l4)(x == h2) + (vpar__egad_l4)(x == h3));
        }
        long long lt = -(a[0] + a[1] + a[2] + a[3]), eq = -(e[0] + e[1] + e[2] + e[3]);
        for (; i < len; i++)
            for (int z = 0; z < 4; z++) {
                lt += v[i] < h[q + (size_t)z];
                eq += v[i] == h[q + (size_t)z];
            }
        total += 2 * lt + eq;
    }
#endif
    for (; q < k; q++) {
        const double hq = h[q];
        long long lt = 0, eq = 0;
        for (size_t i = 0; i < len; i++) {
            lt += v[i] < hq;
            eq += v[i] == hq;
        }
        total += 2 * lt + eq;
    }
    return total;
}

/* The same sum for larger k: a branch-free lower bound per candidate,
   eight candidates interleaved so that their dependency chains overlap. */
static long long vpar__egad_count_search(const double *restrict v, size_t len, const double *h, size_t k) {
    long long total = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        const double *base[8];
        double x[8];
        for (int z = 0; z < 8; z++) { base[z] = h; x[z] = v[i + (size_t)z]; }
        size_t n = k;
        while (n > 1) {
            size_t half = n >> 1;
            for (int z = 0; z < 8; z++) base[z] = base[z][half] < x[z] ? base[z] + half : base[z];
            n -= half;
        }
        for (int z = 0; z < 8; z++) {
            size_t lt = (size_t)(base[z] - h) + (*base[z] < x[z]), le = lt;
            while (le < k && h[le] == x[z]) le++;
            total += (long long)(2 * (k - le) + (le - lt));
        }
    }
    for (; i < len; i++) {
        size_t lt = vpar__egad_lower(h, k, v[i]), le = lt;
        while (le < k && h[le] == v[i]) le++;
        total += (long long)(2 * (k - le) + (le - lt));
    }
    return total;
}

typedef struct vpar__egad_ctx {
    const vpar_egad_plan *plan;
    const void *w;
    vpar_dtype dt;
    int clean;                 /* NaN/inf count as 0 (slow path) */
    int ident;                 /* universe == all network genes, in order */
    double *degree;            /* n, valid at universe columns */
    double *du;                /* nu: degree in universe order */
    double *drank;             /* nu: rank of degree among the universe */
    vpar_egad_term_result *res;
    unsigned char *scratch;    /* per tid, scratch_stride bytes */
    size_t scratch_stride;
} vpar__egad_ctx;

static void vpar__egad_degree_range(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    vpar__egad_ctx *c = (vpar__egad_ctx *)user;
    const vpar_egad_plan *p = c->plan;
    double acc[512];
    for (size_t blk = begin; blk < end; blk++) {
        size_t c0 = blk * 512, c1 = c0 + 512 < p->n ? c0 + 512 : p->n;
        memset(acc, 0, sizeof acc);
        for (size_t u = 0; u < p->nu; u++)
            vpar__egad_add_row(acc, c->w, c->dt, p->n, p->univ[u], c0, c1, c->clean);
        memcpy(c->degree + c0, acc, (c1 - c0) * sizeof *acc);
    }
}

#ifndef VPAR__EGAD_SMALL_K
#  define VPAR__EGAD_SMALL_K 64
#endif

static int vpar__egad_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Scratch of one thread, in doubles: F (nfold x n), T (nu), v (nu), held
   (max_pos), then uint32 rows (max_pos). */
static size_t vpar__egad_scratch_bytes(const vpar_egad_plan *p) {
    size_t nf = (size_t)p->desc.nfold;
    size_t bytes = (nf * p->n + 2 * p->nu + p->max_pos) * sizeof(double) + p->max_pos * sizeof(uint32_t);
    return (bytes + VPAR_CACHE_LINE - 1) / VPAR_CACHE_LINE * VPAR_CACHE_LINE;
}

/* Fold sums F_f = sum of the rows of fold f's positives (full width). */
static void vpar__egad_fold_sums(const vpar__egad_ctx *c, double *F, const uint32_t *rows,
                                 const size_t *hoff) {
    const vpar_egad_plan *p = c->plan;
    const size_t n = p->n;
    const int nf = p->desc.nfold;
    memset(F, 0, (size_t)nf * n * sizeof *F);
    for (int f = 0; f < nf; f++) {
        double *acc = F + (size_t)f * n;
        size_t q = hoff[f], qe = hoff[f + 1];
        if (c->clean) {
            for (; q < qe; q++) vpar__egad_add_row(acc, c->w, c->dt, n, rows[q], 0, n, 1);
            continue;
        }
        while (q < qe) {
            int k = qe - q >= 4 ? 4 : qe - q >= 2 ? 2 : 1;
            if (c->dt == VPAR_DTYPE_F32) {
                const float *r[4];
                for (int x = 0; x < k; x++) r[x] = (const float *)c->w + rows[q + x] * n;
                vpar__egad_addk_f32(acc, r, k, n);
            } else {
                const double *r[4];
                for (int x = 0; x < k; x++) r[x] = (const double *)c->w + rows[q + x] * n;
                vpar__egad_addk_f64(acc, r, k, n);
            }
            q += (size_t)k;
        }
        /* The rows above carried their own diagonal W_jj into column j:
           swap it for 1 (exact for float32: all these sums are exact in
           double); a non-finite diagonal entry poisoned the sum, so that
           column is recomputed without it. */
        for (size_t a = hoff[f]; a < qe; a++) {
            size_t j = rows[a];
            double wjj = c->dt == VPAR_DTYPE_F32 ? (double)((const float *)c->w)[j * n + j]
                                                 : ((const double *)c->w)[j * n + j];
            if (isfinite(wjj)) {
                acc[j] = acc[j] - wjj + 1.0;
                continue;
            }
            double s = 0;
            for (size_t b = hoff[f]; b < qe; b++) {
                size_t r = rows[b];
                s += r == j ? 1.0
                            : (c->dt == VPAR_DTYPE_F32 ? (double)((const float *)c->w)[r * n + j]
                                                       : ((const double *)c->w)[r * n + j]);
            }
            acc[j] = s;
        }
    }
}

static void vpar__egad_terms_range(void *user, size_t begin, size_t end, int tid) {
    vpar__egad_ctx *c = (vpar__egad_ctx *)user;
    const vpar_egad_plan *p = c->plan;
    const size_t n = p->n, nu = p->nu;
    const int nf = p->desc.nfold;
    double *F = (double *)(c->scratch + (size_t)tid * c->scratch_stride);
    double *T = F + (size_t)nf * n;
    double *v = T + nu;
    double *held = v + nu;
    uint32_t *rows = (uint32_t *)(held + p->max_pos);
    const double *du = c->du;
    size_t hoff[257], fill[256];

    for (size_t t = begin; t < end; t++) {
        size_t b = p->pos_ptr[t], e = p->pos_ptr[t + 1], np_all = e - b;
        /* Positives grouped by fold (universe order within a fold). */
        for (int f = 0; f <= nf; f++) hoff[f] = 0;
        for (size_t i = b; i < e; i++) hoff[p->pos_fold[i] + 1]++;
        for (int f = 0; f < nf; f++) hoff[f + 1] += hoff[f];
        for (int f = 0; f < nf; f++) fill[f] = hoff[f];
        for (size_t i = b; i < e; i++) rows[fill[p->pos_fold[i]]++] = p->pos_net[i];
        vpar__egad_fold_sums(c, F, rows, hoff);

        /* T = total over folds, in universe order. */
        if (c->ident) {
            memcpy(T, F, nu * sizeof *T);
            for (int f = 1; f < nf; f++) {
                const double *Ff = F + (size_t)f * n;
                for (size_t u = 0; u < nu; u++) T[u] += Ff[u];
            }
        } else {
            for (size_t u = 0; u < nu; u++) {
                size_t j = p->univ[u];
                double s = F[j];
                for (int f = 1; f < nf; f++) s += F[(size_t)f * n + j];
                T[u] = s;
            }
        }

        double nn = (double)(nu - np_all);
        double auc_sum = 0, z_sum = 0;
        int auc_cnt = 0;
        for (int f = 0; f < nf; f++) {
            size_t k = hoff[f + 1] - hoff[f];
            if (k == 0 || nu == np_all) continue; /* NaN fold */
            const double *Ff = F + (size_t)f * n;
            /* Training score of fold f = (total - held-out fold) / degree. */
            if (c->ident) {
                vpar__egad_scores(v, T, Ff, du, nu);
            } else {
                for (size_t u = 0; u < nu; u++) v[u] = fabs((T[u] - Ff[p->univ[u]]) / du[u]);
            }
            size_t h = 0;
            for (size_t i = b; i < e; i++) {
                if (p->pos_fold[i] == f) held[h++] = v[p->pos_univ[i]];
            }
            /* Training positives are no candidates: a sentinel below every
               |score| makes each count as 2k in acc2, removed below. */
            for (size_t i = b; i < e; i++)
                if (p->pos_fold[i] != f) v[p->pos_univ[i]] = -1.0;
            qsort(held, k, sizeof *held, vpar__egad_cmp_double);
            /* acc2 = sum over candidates of 2 x (held-out scores above it)
               + (held-out scores equal to it) = 2 x rank sum - k. */
            long long acc2 = 0;
            if (k <= VPAR__EGAD_SMALL_K) {
                acc2 = vpar__egad_count_small(v, nu, held, k);
            } else {
                acc2 = vpar__egad_count_search(v, nu, held, k);
            }
            acc2 -= 2LL * (long long)k * (long long)(np_all - k);
            double npf = (double)k;
            double psum = ((double)k + (double)acc2) / 2.0;
            double auc = (psum / npf - (npf + 1.0) / 2.0) / nn;
            double U = auc * npf * nn;
            double z = fabs(U - npf * nn / 2.0) / sqrt(npf * nn * (npf + nn + 1.0) / 12.0);
            auc_sum += auc;
            z_sum += z;
            auc_cnt++;
        }
        vpar_egad_term_result *r = &c->res[t];
        r->auc = auc_cnt ? auc_sum / auc_cnt : NAN;
        double zz = z_sum / sqrt((double)nf);
        r->p_value = 0.5 * erfc(zz / sqrt(2.0));
        double dsum = 0, rsum = 0;
        for (size_t i = b; i < e; i++) {
            dsum += du[p->pos_univ[i]];
            rsum += c->drank[p->pos_univ[i]];
        }
        r->avg_node_degree = dsum / (double)np_all;
        if (nu == np_all) {
            r->degree_null_auc = NAN;
        } else {
            double npd = (double)np_all;
            r->degree_null_auc = (rsum / npd - (npd + 1.0) / 2.0) / nn;
        }
    }
}

/* Runs fn over [0, count) on the pool (serially without one). */
/* Runs fn over [0, count) on the pool (serially without one). Terms are
   handed out one at a time (grain 1): their cost varies 50-fold with size. */
static vpar_status vpar__egad_for(vpar_pool *pool, size_t count, size_t grain,
                                  vpar_range_fn fn, void *user) {
    return vpar_parallel_for(pool, 0, count, grain, fn, user);
}

/* Locates the first non-finite element of the universe sub-matrix. */
static vpar_status vpar__egad_nonfinite_error(const vpar_egad_plan *p, const void *w,
                                              vpar_dtype dt, const char *name) {
    for (size_t a = 0; a < p->nu; a++) {
        size_t i = p->univ[a];
        for (size_t b = 0; b < p->nu; b++) {
            size_t j = p->univ[b];
            if (i == j) continue;
            double v = dt == VPAR_DTYPE_F32 ? (double)((const float *)w)[i * p->n + j]
                                            : ((const double *)w)[i * p->n + j];
            if (!isfinite(v))
                return vpar_fail(VPAR_ERR_FORMAT,
                                 "%s: %s at row %zu, column %zu (0-based) in a row that is not all-NaN; "
                                 "EGAD needs finite weights (option: treat non-finite as 0)",
                                 name, isnan(v) ? "NaN" : "infinite value", i, j);
        }
    }
    return vpar_fail(VPAR_ERR_FORMAT, "%s: node degrees overflow to infinity", name);
}

VPAR_API vpar_status vpar_egad_run(const vpar_egad_plan *p, const void *w, vpar_dtype dt,
        vpar_pool *pool, vpar_egad_term_result *results, double *mean_auc, const char *name) {
    if (!name) name = "network";
    if (!p || !w || !results)
        return vpar_fail(VPAR_ERR_INVALID, "%s: vpar_egad_run: plan, network or results is NULL", name);
    if (dt != VPAR_DTYPE_F32 && dt != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: network dtype %s; EGAD needs float32 or float64",
                         name, vpar_dtype_descr(dt));
    vpar__egad_ctx c;
    memset(&c, 0, sizeof c);
    c.plan = p;
    c.w = w;
    c.dt = dt;
    c.res = results;
    vpar_status st = VPAR_OK;
    double *ud = NULL;
    c.degree = (double *)vpar__egad_alloc(p->n, sizeof *c.degree);
    c.drank = (double *)vpar__egad_alloc(p->nu, sizeof *c.drank);
    ud = (double *)vpar__egad_alloc(p->nu, sizeof *ud);
    c.du = ud;
    c.ident = p->nu == p->n;
    if (!c.degree || !c.drank || !ud) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", name); goto done; }

    size_t nblocks = (p->n + 511) / 512;
    for (int pass = 0; pass < 2; pass++) {
        if (c.ident && !c.clean) {
            /* Whole network: vpar's column sums, then the diagonal taken
               as 1 (a non-finite diagonal entry: that column again). */
            st = dt == VPAR_DTYPE_F32
                     ? vpar_reduce_axis_f32(VPAR_AXIS_SUM, 0, (const float *)w, p->n, p->n, p->n, c.degree, pool)
                     : vpar_reduce_axis_f64(VPAR_AXIS_SUM, 0, (const double *)w, p->n, p->n, p->n, c.degree, pool);
            if (st != VPAR_OK) goto done;
            for (size_t j = 0; j < p->n; j++) {
                double wjj = dt == VPAR_DTYPE_F32 ? (double)((const float *)w)[j * p->n + j]
                                                  : ((const double *)w)[j * p->n + j];
                if (isfinite(wjj)) {
                    c.degree[j] = c.degree[j] - wjj + 1.0;
                } else {
                    double s = 0;
                    for (size_t i = 0; i < p->n; i++)
                        s += i == j ? 1.0
                                    : (dt == VPAR_DTYPE_F32 ? (double)((const float *)w)[i * p->n + j]
                                                            : ((const double *)w)[i * p->n + j]);
                    c.degree[j] = s;
                }
            }
        } else {
            st = vpar__egad_for(pool, nblocks, 1, vpar__egad_degree_range, &c);
        }
        if (st != VPAR_OK) goto done;
        int bad = 0;
        for (size_t u = 0; u < p->nu; u++) {
            ud[u] = c.degree[p->univ[u]];
            if (!isfinite(ud[u])) bad = 1;
        }
        if (!bad) break;
        if (!p->desc.nonfinite_as_zero || c.clean) {
            st = vpar__egad_nonfinite_error(p, w, dt, name);
            goto done;
        }
        c.clean = 1; /* second pass with NaN/inf as 0 */
    }
    /* Degree ranks (average ties) for DEGREE_NULL_AUC: the vpar ranker. */
    st = vpar_rankdata_f64(ud, p->nu, c.drank, NULL, pool);
    if (st != VPAR_OK) goto done;

    {
        int nt = vpar_pool_size(pool);
        if (nt < 1) nt = 1;
        size_t bytes = vpar__egad_scratch_bytes(p);
        c.scratch_stride = bytes;
        c.scratch = (unsigned char *)vpar__egad_alloc((size_t)nt, bytes);
        if (!c.scratch) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %d x %zu bytes of scratch", name, nt, bytes); goto done; }
        st = vpar__egad_for(pool, p->nterms, 1, vpar__egad_terms_range, &c);
        if (st != VPAR_OK) goto done;
    }
    if (mean_auc) {
        double s = 0;
        size_t k = 0;
        for (size_t t = 0; t < p->nterms; t++)
            if (!isnan(results[t].auc)) { s += results[t].auc; k++; }
        *mean_auc = k ? s / (double)k : NAN;
    }
done:
    VPAR_FREE(c.degree);
    VPAR_FREE(c.drank);
    VPAR_FREE(c.scratch);
    VPAR_FREE(ud);
    return st;
}

/* >>files ------------------------------------------------------------------ */

VPAR_API vpar_status vpar_egad_write_csv(const char *path, const vpar_egad_plan *plan,
                                         const vpar_egad_term_result *r) {
    if (!path || !plan || !r) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_write_csv: NULL argument");
    /* Format in memory, then one atomic write: no partial CSV is ever
       visible under `path`. */
    vpar_ex_buf b = {0};
    vpar_ex_buf_printf(&b, "term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value\n");
    for (size_t t = 0; t < plan->nterms; t++) {
        vpar_ex_buf_printf(&b, "%s", plan->term_names[t]);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].auc);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].avg_node_degree);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].degree_null_auc);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].p_value);
        vpar_ex_buf_printf(&b, "\n");
    }
    vpar_status st = vpar_ex_buf_write_atomic(path, &b);
    vpar_ex_buf_free(&b);
    return st;
}

VPAR_API vpar_status vpar_egad_read_genes(const char *path, char ***out_genes, size_t *out_n) {
    if (!path || !out_genes || !out_n) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_read_genes: NULL argument");
    *out_genes = NULL;
    *out_n = 0;
    char **lines;
    size_t k;
    vpar_status st = vpar_ex_read_lines(path, VPAR_EX_READ_GZIP, &lines, &k, NULL);
    if (st != VPAR_OK) return st;
    /* Allow trailing blank lines only; an empty ID elsewhere is an error. */
    while (k > 0 && lines[k - 1][0] == '\0') k--;
    lines[k] = NULL;
    for (size_t i = 0; i < k; i++)
        if (lines[i][0] == '\0') {
            VPAR_FREE(lines);
            return vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: empty gene ID", path, i + 1);
        }
    if (k == 0) {
        VPAR_FREE(lines);
        return vpar_fail(VPAR_ERR_FORMAT, "%s: no gene IDs in the file", path);
    }
    *out_genes = lines;
    *out_n = k;
    return VPAR_OK;
}

/* >>hdf5 ------------------------------------------------------------------- */

VPAR_API int vpar_egad_have_zlib(void) { return vpar_ex_have_zlib(); }

#if defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5
VPAR_API int vpar_egad_have_hdf5(void) { return 1; }

/* Reads a 1-D fixed-length string dataset into packed strings. */
static vpar_status vpar__egad_h5_strings(hid_t file, const char *dset, const char *path,
                                         char ***out, size_t *count) {
    hid_t d = H5Dopen2(file, dset, H5P_DEFAULT);
    if (d < 0) return vpar_fail(VPAR_ERR_FORMAT, "%s: no dataset %s (not a pandas fixed-format frame?)", path, dset);
    vpar_status st = VPAR_OK;
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d), mt = -1;
    char *raw = NULL, *chars = NULL;
    size_t *off = NULL;
    hsize_t dims[2] = {0, 0};
    if (sp < 0 || ty < 0 || H5Sget_simple_extent_ndims(sp) != 1 || H5Tget_class(ty) != H5T_STRING ||
        H5Tis_variable_str(ty) > 0) {
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: %s is not a 1-D fixed-length string array "
                       "(only string labels are supported)", path, dset);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t w = H5Tget_size(ty), n = (size_t)dims[0];
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, w);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    raw = (char *)vpar__egad_alloc(n ? n : 1, w);
    chars = (char *)vpar__egad_alloc(n ? n : 1, w + 1);
    off = (size_t *)vpar__egad_alloc(n + 1, sizeof *off);
    if (!raw || !chars || !off) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    if (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        st = vpar_fail(VPAR_ERR_IO, "%s: cannot read %s", path, dset);
        goto out;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        off[i] = at;
        size_t l = 0;
        while (l < w && raw[i * w + l]) l++;
        memcpy(chars + at, raw + i * w, l);
        chars[at + l] = '\0';
        at += l + 1;
    }
    (void)at;
    {
        const char **ptrs = (const char **)vpar__egad_alloc(n ? n : 1, sizeof *ptrs);
        if (ptrs) {
            for (size_t i = 0; i < n; i++) ptrs[i] = chars + off[i];
            *out = vpar_ex_strings_copy(ptrs, n);
        }
        VPAR_FREE(ptrs);
        if (!ptrs || !*out) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
        else *count = n;
    }
out:
    VPAR_FREE(raw);
    VPAR_FREE(chars);
    VPAR_FREE(off);
    if (mt >= 0) H5Tclose(mt);
    if (ty >= 0) H5Tclose(ty);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return st;
}

VPAR_API vpar_status vpar_egad_hdf5_read_frame(const char *path, const char *key,
        void **values, vpar_dtype *dtype, size_t *rows, size_t *cols,
        char ***row_names, char ***col_names) {
    if (!path || !key || !values || !dtype || !rows || !cols || !row_names || !col_names)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_hdf5_read_frame: NULL argument");
    *values = NULL; *row_names = NULL; *col_names = NULL; *rows = *cols = 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through vpar_fail */
    struct stat sb;
    if (stat(path, &sb) != 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot open", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return vpar_fail(VPAR_ERR_FORMAT, "%s: not an HDF5 file", path);
    vpar_status st = VPAR_OK;
    char dname[512];
    char **idx = NULL, **items = NULL;
    size_t nidx = 0, nitems = 0;
    hid_t d = -1, sp = -1, ty = -1;
    snprintf(dname, sizeof dname, "/%s/axis1", key);
    st = vpar__egad_h5_strings(file, dname, path, &idx, &nidx);
    if (st != VPAR_OK) goto out;
    snprintf(dname, sizeof dname, "/%s/block0_items", key);
    st = vpar__egad_h5_strings(file, dname, path, &items, &nitems);
    if (st != VPAR_OK) goto out;
    snprintf(dname, sizeof dname, "/%s/block1_values", key);
    if (H5Lexists(file, dname, H5P_DEFAULT) > 0) {
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: frame '%s' has several dtype blocks; store one dtype", path, key);
        goto out;
    }
    snprintf(dname, sizeof dname, "/%s/block0_values", key);
    d = H5Dopen2(file, dname, H5P_DEFAULT);
    if (d < 0) { st = vpar_fail(VPAR_ERR_FORMAT, "%s: no dataset %s (key '%s' missing or not fixed format)", path, dname, key); goto out; }
    sp = H5Dget_space(d);
    ty = H5Dget_type(d);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(sp) != 2) { st = vpar_fail(VPAR_ERR_SHAPE, "%s: %s is not 2-D", path, dname); goto out; }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if ((size_t)dims[0] != nidx || (size_t)dims[1] != nitems) {
        st = vpar_fail(VPAR_ERR_SHAPE, "%s: %s is %llux%llu but the frame has %zu rows and %zu columns",
                       path, dname, (unsigned long long)dims[0], (unsigned long long)dims[1], nidx, nitems);
        goto out;
    }
    size_t count;
    if (!vpar__mul_size(nidx, nitems, &count)) { st = vpar_fail(VPAR_ERR_OVERFLOW, "%s: frame too large", path); goto out; }
    H5T_class_t cls = H5Tget_class(ty);
    hid_t mem;
    if (cls == H5T_FLOAT) {
        *dtype = H5Tget_size(ty) <= 4 ? VPAR_DTYPE_F32 : VPAR_DTYPE_F64;
        mem = *dtype == VPAR_DTYPE_F32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
    } else if (cls == H5T_INTEGER || cls == H5T_ENUM) {
        *dtype = VPAR_DTYPE_F64; /* converted below to 0/1 bytes */
        mem = H5T_NATIVE_DOUBLE;
    } else {
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: %s has an unsupported element type", path, dname);
        goto out;
    }
    void *buf = vpar__egad_alloc(count ? count : 1, *dtype == VPAR_DTYPE_F32 ? 4 : 8);
    if (!buf) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for a %zux%zu frame", path, nidx, nitems); goto out; }
    if (count && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        VPAR_FREE(buf);
        st = vpar_fail(VPAR_ERR_IO, "%s: cannot read %s", path, dname);
        goto out;
    }
    if (cls != H5T_FLOAT) {
        unsigned char *u8 = (unsigned char *)buf;
        const double *dv = (const double *)buf;
        for (size_t i = 0; i < count; i++) u8[i] = dv[i] != 0; /* in place, forward is safe */
        *dtype = VPAR_DTYPE_U8;
    }
    *values = buf;
    *rows = nidx;
    *cols = nitems;
    *row_names = idx; idx = NULL;
    *col_names = items; items = NULL;
out:
    VPAR_FREE(idx);
    VPAR_FREE(items);
    if (ty >= 0) H5Tclose(ty);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    H5Fclose(file);
    return st;
}

VPAR_API vpar_status vpar_egad_annotations_load_hdf5(vpar_egad_annotations **out,
        const char *path, const char *key) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load_hdf5: out is NULL");
    *out = NULL;
    if (!key) key = "go";
    void *vals = NULL;
    vpar_dtype dt;
    size_t rows, cols;
    char **genes = NULL, **terms = NULL;
    vpar_status st = vpar_egad_hdf5_read_frame(path, key, &vals, &dt, &rows, &cols, &genes, &terms);
    if (st != VPAR_OK) return st;
    size_t npairs = 0;
    for (size_t i = 0; i < rows * cols; i++) {
        double v = dt == VPAR_DTYPE_U8 ? ((unsigned char *)vals)[i]
                 : dt == VPAR_DTYPE_F32 ? ((float *)vals)[i] : ((double *)vals)[i];
        npairs += v != 0 && !isnan(v);
    }
    const char **pg = (const char **)vpar__egad_alloc(npairs ? npairs : 1, sizeof *pg);
    const char **pt = (const char **)vpar__egad_alloc(npairs ? npairs : 1, sizeof *pt);
    if (!pg || !pt) {
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    } else {
        /* Column-major walk: term order = column order, as in the frame. */
        size_t k = 0;
        for (size_t j = 0; j < cols; j++)
            for (size_t i = 0; i < rows; i++) {
                size_t at = i * cols + j;
                double v = dt == VPAR_DTYPE_U8 ? ((unsigned char *)vals)[at]
                         : dt == VPAR_DTYPE_F32 ? ((float *)vals)[at] : ((double *)vals)[at];
                if (v != 0 && !isnan(v)) { pg[k] = genes[i]; pt[k] = terms[j]; k++; }
            }
        st = vpar_egad_annotations_create(out, pg, pt, npairs, path);
    }
    VPAR_FREE(pg);
    VPAR_FREE(pt);
    VPAR_FREE(vals);
    VPAR_FREE(genes);
    VPAR_FREE(terms);
    return st;
}
#else
VPAR_API int vpar_egad_have_hdf5(void) { return 0; }
VPAR_API vpar_status vpar_egad_hdf5_read_frame(const char *path, const char *key,
        void **values, vpar_dtype *dtype, size_t *rows, size_t *cols,
        char ***row_names, char ***col_names) {
    (void)key; (void)values; (void)dtype; (void)rows; (void)cols; (void)row_names; (void)col_names;
    return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: HDF5 input needs a build with libhdf5 (VPAR_WITH_HDF5)",
                     path ? path : "(null)");
}
VPAR_API vpar_status vpar_egad_annotations_load_hdf5(vpar_egad_annotations **out,
        const char *path, const char *key) {
    (void)key;
    if (out) *out = NULL;
    return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: HDF5 input needs a build with libhdf5 (VPAR_WITH_HDF5)",
                     path ? path : "(null)");
}
#endif

#endif /* VPAR_IMPLEMENTATION */
