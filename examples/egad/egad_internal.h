/* examples/egad/egad_internal.h — what the units of the EGAD library share
   and nobody else needs: allocation helpers, the plan's layout, the
   kernels (kernels.c) that the driver (driver.c) calls. Not installed;
   names are vpar__egad_* (private). See docs/design.md for which unit
   holds what. */
#ifndef VPAR_EGAD_INTERNAL_H
#define VPAR_EGAD_INTERNAL_H

#include <stdint.h>
#include <string.h>
#if defined(__linux__)
#  include <sys/mman.h>
#  include <unistd.h>
#endif

#include "egad.h"

/* Maps the whole pages of a fresh allocation of `bytes` (64 KiB or more)
   in one call (Linux 5.14+: MADV_POPULATE_WRITE) instead of one page
   fault per 4 KiB page at first write: the plan's and the loader's arrays
   are written right after they are allocated, and on this project's VM a
   fault costs ~11 us, populating ~0.6 us a page (the plan at 2,500 genes:
   6.6-7.0 -> 4.8-5.6 ms; bench/RESULTS.md, 2026-12-03 09:35). A hint: errors
   (older kernels) leave the faults as they were. */
static inline void vpar__egad_prefault(void *p, size_t bytes) {
#if defined(MADV_POPULATE_WRITE)
    if (!p || bytes < ((size_t)64 << 10)) return;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t m = pg > 0 ? (uintptr_t)pg - 1 : 4095;
    uintptr_t a = ((uintptr_t)p + m) & ~m, e = ((uintptr_t)p + bytes) & ~m;
    if (e > a) (void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* count x size bytes (at least 1), NULL on overflow or no memory; 64 KiB
   and more mapped at once (vpar__egad_prefault). */
static inline void *vpar__egad_alloc(size_t count, size_t size) {
    size_t bytes;
    if (!vpar__mul_size(count, size, &bytes)) return NULL;
    void *p = VPAR_MALLOC(bytes ? bytes : 1);
    vpar__egad_prefault(p, bytes);
    return p;
}

/* The same, zero-filled. */
static inline void *vpar__egad_zalloc(size_t count, size_t size) {
    size_t bytes;
    if (!vpar__mul_size(count, size, &bytes)) return NULL;
    void *p = VPAR_MALLOC(bytes ? bytes : 1);
    vpar__egad_prefault(p, bytes);
    if (p) memset(p, 0, bytes ? bytes : 1);
    return p;
}

/* ---- plan.c ---- */

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
    /* Compute order (driver.c): groups of at most VPAR__EGAD_GROUP terms
       that share many genes, whose fold sums are formed together, column
       tile by column tile, so that a tile of the rows they share is read
       from memory once per group (plan.c: greedy grouping). */
    size_t ngroups;
    uint32_t *order;       /* nterms: terms in compute order */
    size_t *grp_ptr;       /* ngroups + 1: group g is order[grp_ptr[g] .. grp_ptr[g + 1]) */
    uint32_t *grp_union;   /* ngroups: distinct genes (rows) of group g */
    size_t grp_pos_max;    /* most positives of one group */
};

/* Terms per group: the fold sums of a group take VPAR__EGAD_GROUP x nfold
   x n doubles per thread (13 MB at 17,198 genes, 3 folds). */
#ifndef VPAR__EGAD_GROUP
#  define VPAR__EGAD_GROUP 32
#endif

/* Tuning of the grouped, tiled fold sums (plan.c holds the defaults).
   Results do not depend on them; the tests shrink them so that small
   inputs take the greedy grouping and many column tiles. Set them before
   any plan is created or run (they are read without synchronisation). */
typedef struct vpar__egad_tuning {
    size_t greedy_min_bytes; /* networks (as float32) up to this size keep plan order (32 MiB) */
    size_t tile_bytes;       /* bytes of the group's row tile aimed at (384 KiB) */
    size_t min_tile;         /* fewest columns per tile (1,024: 4 KiB row segments) */
    int group;               /* terms per group, 1..VPAR__EGAD_GROUP */
} vpar__egad_tuning;
extern vpar__egad_tuning vpar__egad_tune;

/* ---- annotations.c ---- */

/* String interning: open addressing over indices into an offset table.
   A slot holds the string's index + 1 (low 32 bits, 0 = empty) and 32 bits
   of its hash (high), so a probe compares strings only on a hash match.
   Zero-initialised = empty. */
typedef struct vpar__egad_strtab {
    vpar_ex_buf chars;    /* NUL-terminated strings back to back */
    size_t *off;          /* offset of string i; off[n] = chars.len */
    size_t n, cap;
    uint64_t *slots;      /* (hash >> 32) << 32 | (index + 1), 0 = empty */
    size_t nslots;        /* power of two */
} vpar__egad_strtab;
/* Interns (s, len): its index, or -1 on out of memory. */
long vpar__egad_strtab_add(vpar__egad_strtab *t, const char *s, size_t len);
/* Index of (s, len) or -1. */
long vpar__egad_strtab_find(const vpar__egad_strtab *t, const char *s, size_t len);
void vpar__egad_strtab_free(vpar__egad_strtab *t);
static inline const char *vpar__egad_strtab_str(const vpar__egad_strtab *t, size_t i) {
    return t->chars.p + t->off[i];
}

/* Parses annotation text (TSV/GAF lines, as vpar_egad_annotations_load
   after reading the file; gcol/tcol 0-based and distinct, header as in
   vpar_egad_annot_desc). `path` names the input in errors. Exposed for
   the fuzz target. */
vpar_status vpar__egad_annotations_parse(vpar_egad_annotations **out, const char *text,
                                         size_t len, int gcol, int tcol, int header,
                                         const char *path);
/* The same with vpar_egad_annot_desc's columns_given and gaf flags (the
   plain form above is columns_given = 1, gaf = 0). */
vpar_status vpar__egad_annotations_parse2(vpar_egad_annotations **out, const char *text,
                                          size_t len, int gcol, int tcol, int header,
                                          int columns_given, int gaf, const char *path);

/* The same from a full description (aspect; columns already defaulted,
   0-based) with an optional ontology to propagate over. */
typedef struct vpar__egad_obo vpar__egad_obo;
vpar_status vpar__egad_annotations_parse3(vpar_egad_annotations **out, const char *text,
                                          size_t len, const vpar_egad_annot_desc *d,
                                          const vpar__egad_obo *obo, const char *path);

/* ---- obo.c: OBO 1.2/1.4 ontologies (go-basic.obo) ---- */

/* Parses the [Term] stanzas of an OBO text: id, alt_id, is_a, and
   relationship: part_of (other relations, [Typedef] stanzas and other
   tags are ignored). `path` names the input in errors. */
vpar_status vpar__egad_obo_parse(vpar__egad_obo **out, const char *text, size_t len,
                                 const char *path);
/* Reads (plain or gzip) and parses an OBO file. */
vpar_status vpar__egad_obo_load(vpar__egad_obo **out, const char *path);
void vpar__egad_obo_free(vpar__egad_obo *obo);
/* Number of term IDs known (defined or referenced); index of an ID (an
   alt_id gives its primary term), -1 when unknown; the ID of index i. */
size_t vpar__egad_obo_nterms(const vpar__egad_obo *obo);
long vpar__egad_obo_find(const vpar__egad_obo *obo, const char *id, size_t len);
const char *vpar__egad_obo_id(const vpar__egad_obo *obo, size_t i);
/* The ancestors of term i over is_a and part_of, i itself excluded, each
   once, depth first from the parents as listed: written to out
   (room for nterms), count returned. `mark` is nterms words of scratch,
   zero before the first call; `*stamp` is advanced per call. Cycles are
   harmless. */
size_t vpar__egad_obo_ancestors(const vpar__egad_obo *obo, size_t i, uint32_t *out,
                                uint32_t *mark, uint32_t *stamp, uint32_t *stack);

/* annotations.c: adds (g, ancestor) after each pair (g, t) of `pairs`
   whose term is in `obo` (terms unknown to it stay as they are; none known
   is an error naming both files). */
typedef struct vpar__egad_pairs vpar__egad_pairs;
vpar_status vpar__egad_propagate(vpar_egad_annotations *a, vpar__egad_pairs *pairs,
                                 const vpar__egad_obo *obo, const char *path);

/* ---- kernels.c (see there for the summation orders) ---- */

/* The element type of rank codes (rank.h's vpar_rank_codes_into_ws),
   which vpar_dtype does not list: uint32 values read by
   vpar_egad_run_codes only. */
#define VPAR__EGAD_DT_U32 ((vpar_dtype)0x7533)

/* Entry idx of w (float32, float64 or VPAR__EGAD_DT_U32) as a double. */
static inline double vpar__egad_wval(const void *w, vpar_dtype dt, size_t idx) {
    if (dt == VPAR_DTYPE_F32) return (double)((const float *)w)[idx];
    if (dt == VPAR__EGAD_DT_U32) return (double)((const uint32_t *)w)[idx];
    return ((const double *)w)[idx];
}

/* acc[c - c0] += W[j, c] for c in [c0, c1), with W[j, j] taken as `one`
   (1, or the scale of rank codes); `clean` adds NaN/inf as 0. */
void vpar__egad_add_row(double *acc, const void *w, vpar_dtype dt, size_t n, size_t j,
                        size_t c0, size_t c1, int clean, double one);
/* v[u] = |(T[u] - F[u]) / d[u]| */
void vpar__egad_scores(double *restrict v, const double *restrict T, const double *restrict F,
                       const double *restrict d, size_t len);
/* Sum over u of 2 x (values of sorted h[0..k) above v[u]) + (values equal
   to it): one pass per threshold (small k) or a search per candidate. */
long long vpar__egad_count_small(const double *restrict v, size_t len, const double *h, size_t k);
long long vpar__egad_count_search(const double *restrict v, size_t len, const double *h, size_t k);
/* The same sum through a table of buckets over h's range (kernels.c),
   h in any order: O(len + k). Usable when vpar__egad_count_table_ok(h, k)
   (k >= 2, every h[q] finite and > 0); lo and t are scratch of
   vpar__egad_count_table_buckets(k) entries, hs of k (h sorted, on
   return). */
size_t vpar__egad_count_table_buckets(size_t k);
int vpar__egad_count_table_ok(const double *h, size_t k);
long long vpar__egad_count_table(const double *restrict v, size_t len, const double *h, size_t k,
                                 uint32_t *restrict lo, double *restrict t, double *restrict hs);

#endif /* VPAR_EGAD_INTERNAL_H */
