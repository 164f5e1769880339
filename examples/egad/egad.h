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
     A static library: link the CMake target `vpar_egad` (include path,
     the example helpers vpar_examples_common, optional zlib/HDF5). Its
     units include vpar's headers without VPAR_IMPLEMENTATION: the program's
     one .c file that defines VPAR_IMPLEMENTATION before including vpar.h
     provides vpar itself. Units (docs/design.md): annotations.c, plan.c,
     network.c, kernels.c, driver.c, csv.c, hdf5.c (the only one that
     includes hdf5.h), cli.c (egad_cli.h: the options vpar-egad and
     vpar-aggregate share).
     VPAR_EGAD_WITH_ZLIB (CMake option, examples/common): read .gz inputs
                             through zlib; otherwise `gzip -dc` is spawned.
     VPAR_EGAD_WITH_HDF5     set when libhdf5 is found: pandas HDF5 inputs
                             (vpar_egad_hdf5_*).

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
    int columns_given;      /* 1: the user chose gene_col/term_col (--gene-col,
                               --term-col, --gaf): a header naming the gene or
                               term column elsewhere is an error. 0: such a
                               header's names choose the columns */
    int gaf;                /* 1: GAF 2.x: lines whose qualifier (column 4)
                               contains NOT are skipped */
    char aspect;            /* GAF only: 'P', 'F' or 'C' keeps the lines of that
                               ontology (column 9); 0 keeps all */
    const char *obo;        /* an OBO ontology (go-basic.obo): every (gene, term)
                               also gives (gene, ancestor) for the term's
                               ancestors over is_a and part_of; NULL: the
                               pairs as they are (see docs/egad.md) */
} vpar_egad_annot_desc;

/* Loads (gene, term) pairs from a tab-separated file, plain or gzip
   (detected from the content, not the name). Lines starting with '!' or
   '#' are comments (GAF headers); empty lines are skipped; repeated pairs
   count once. Terms are numbered in order of first appearance (with
   desc->obo: then the terms reached only by propagation, in the order
   they are reached); this order is the order of fold assignment. A file
   that looks like GAF read without desc->gaf or chosen columns is an
   error saying to use --gaf. Plain files are mapped, not copied. Header
   auto-detection: the first data line is a header when its gene or term
   field is a usual column name (gene, gene_id, symbol, term, go, go_id,
   ...). A line with too few columns or an empty gene/term field is an
   error "path:LINE: ...". Any thread. */
vpar_status vpar_egad_annotations_load(vpar_egad_annotations **out,
        const char *path, const vpar_egad_annot_desc *desc /* NULL ok */);

/* Builds annotations from npairs in-memory pairs (genes[i], terms[i]).
   `name` is used in errors. Any thread. */
vpar_status vpar_egad_annotations_create(vpar_egad_annotations **out,
        const char *const *genes, const char *const *terms, size_t npairs,
        const char *name);

/* Frees; NULL is a no-op. Not while a plan built from it is being created. */
void vpar_egad_annotations_destroy(vpar_egad_annotations *ann);

/* Sizes and names (distinct genes, distinct terms, distinct pairs). Any thread. */
size_t vpar_egad_annotations_ngenes(const vpar_egad_annotations *ann);
size_t vpar_egad_annotations_nterms(const vpar_egad_annotations *ann);
size_t vpar_egad_annotations_npairs(const vpar_egad_annotations *ann);
const char *vpar_egad_annotations_gene(const vpar_egad_annotations *ann, size_t g);
const char *vpar_egad_annotations_term(const vpar_egad_annotations *ann, size_t t);
/* Index of gene `id`, or -1 when it is not annotated. Any thread. */
long vpar_egad_annotations_find_gene(const vpar_egad_annotations *ann, const char *id);
/* Term indices (ascending, distinct) of gene g; *count gets their number.
   Any thread. */
const uint32_t *vpar_egad_annotations_gene_terms(const vpar_egad_annotations *ann,
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
vpar_status vpar_egad_plan_create(vpar_egad_plan **out,
        const vpar_egad_annotations *ann, const char *const *genes, size_t n,
        const unsigned char *drop /* n flags or NULL */,
        const vpar_egad_desc *desc /* NULL ok */, const char *name /* for errors */);
void vpar_egad_plan_destroy(vpar_egad_plan *plan);
size_t vpar_egad_plan_nterms(const vpar_egad_plan *plan);
const char *vpar_egad_plan_term(const vpar_egad_plan *plan, size_t t);
size_t vpar_egad_plan_universe_size(const vpar_egad_plan *plan);
/* Network size n the plan was built for; number of universe genes of term t;
   network index of universe gene u. Any thread. */
size_t vpar_egad_plan_network_size(const vpar_egad_plan *plan);
size_t vpar_egad_plan_term_size(const vpar_egad_plan *plan, size_t t);
size_t vpar_egad_plan_universe_index(const vpar_egad_plan *plan, size_t u);
/* Universe indices (ascending) of the genes of kept term t; *count gets
   their number. Valid as long as the plan. Any thread. */
const uint32_t *vpar_egad_plan_term_members(const vpar_egad_plan *plan, size_t t,
                                                     size_t *count);

/* Flags genes whose row of the n x n network is entirely NaN (sets
   drop[i] = 1, leaves other flags unchanged). float32/float64 only. Any
   thread. */
vpar_status vpar_egad_find_all_nan_rows(const void *w, vpar_dtype dtype,
        size_t n, unsigned char *drop);
/* The same, rows in parallel on `pool` (NULL: serial): the first touch of
   every row of a freshly mapped network is spread over the threads. Any
   thread, not inside a task of `pool`. */
vpar_status vpar_egad_find_all_nan_rows_pool(const void *w, vpar_dtype dtype,
        size_t n, unsigned char *drop, vpar_pool *pool);

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
vpar_status vpar_egad_run(const vpar_egad_plan *plan, const void *w,
        vpar_dtype dtype, vpar_pool *pool, vpar_egad_term_result *results,
        double *mean_auc, const char *name);

/* vpar_egad_run on rank codes (rank.h's vpar_rank_codes_into_ws): the
   network's entry i is codes[i] / scale, the diagonal counts as 1 (scale
   codes). Sums of codes are exact integers, so the training scores (ratios
   of sums) and the degree ranks are those of the standardized float64
   matrix up to its rounding, exact ties stay ties, and AVG_NODE_DEGREE is
   reported in the network's units (divided by scale). Half the memory
   traffic of float64 values. n x n codes (n * n <= 2^30 from the ranker);
   no NaN exists. Errors: NULL pointers or scale 0 (VPAR_ERR_INVALID), no
   memory. Any thread, not inside a task of `pool`. */
vpar_status vpar_egad_run_codes(const vpar_egad_plan *plan, const uint32_t *codes, uint32_t scale,
        vpar_pool *pool, vpar_egad_term_result *results, double *mean_auc, const char *name);

/* Writes results as CSV `term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value`
   with 17 significant digits and NaN as `NaN`, atomically (temporary file
   renamed over `path`). Any thread. */
vpar_status vpar_egad_write_csv(const char *path, const vpar_egad_plan *plan,
        const vpar_egad_term_result *results);

/* Reads a text file of one gene ID per line (trailing '\r' and blank last
   line ignored). *out_genes is one allocation holding the pointer array and
   the strings: free it with VPAR_FREE. Any thread. */
vpar_status vpar_egad_read_genes(const char *path, char ***out_genes, size_t *out_n);

/* ---- networks: the programs' inputs ------------------------------------ */

/* An opened N x N network. w, dtype, n and genes are for the caller to
   read; the rest is private. */
typedef struct vpar_egad_network {
    const void *w;             /* n x n, row-major */
    vpar_dtype dtype;          /* VPAR_DTYPE_F32 or VPAR_DTYPE_F64 */
    size_t n;
    const char *const *genes;  /* n labels: the HDF5 frame's, else `genes` */
    vpar_npy npy;              /* private: .npy mapping */
    void *owned;               /* private: HDF5 values */
    char **rows, **cols;       /* private: HDF5 labels */
} vpar_egad_network;

/* Opens `path`: an .npy file (memory-mapped, float32/float64, N x N; needs
   `genes` with N entries) or, by its name (.h5 .hdf5 .hdf .he5), a pandas
   HDF5 frame `key` (NULL: "nw"; read into memory, row labels equal to
   column labels, and equal to `genes` when given). Errors name the file:
   not square, wrong dtype, gene count or label mismatch, unreadable.
   *net is zeroed first; close it with vpar_egad_network_close, also after
   a failure. Any thread. */
vpar_status vpar_egad_network_open(vpar_egad_network *net, const char *path, const char *key,
                                   const char *const *genes, size_t ngenes);
void vpar_egad_network_close(vpar_egad_network *net);

/* Maps every page of an opened .npy network into the process now, row
   blocks in parallel on `pool` (NULL: the calling thread), with
   vpar_npy_populate_range (npy.h: one madvise MADV_POPULATE_READ per
   block instead of a page fault per page or few pages; what the page
   cache lacks is read from the file). For a program about to read the
   whole network: on this project's VM vpar-egad at 17,198 genes, with
   the network cached in small folios, took 1.28-1.30 s instead of
   1.41-1.47 s (docs/egad.md).
   A hint: nothing happens for HDF5 networks (already in memory) or where
   the kernel lacks the call. Any thread that may use `pool`. */
void vpar_egad_network_populate(vpar_egad_network *net, vpar_pool *pool);

/* Checks network `path` as vpar_egad_network_open would open it, without
   reading its values (inputs.c): an .npy header (dtype float32/float64:
   others, float16 included, named as unsupported by EGAD; N equal to
   ngenes, the error naming `genes_file`), or an HDF5 frame's labels and
   layout (square, float, labels equal to `genes` in order when given).
   An .npy file that cannot be opened or is not square gives VPAR_OK (its
   own failure when opened); without `genes` an .npy file is not checked.
   For the programs' up-front checks, before any network is computed. Any
   thread (HDF5: one thread at a time). */
vpar_status vpar_egad_network_check(const char *path, const char *key, const char *const *genes,
                                    size_t ngenes, const char *genes_file /* for errors */);

/* ---- pandas HDF5 (fixed format) ---- */

/* Reads `key` of a pandas DataFrame.to_hdf file (fixed format, one block):
   the values (float32/float64 for networks, float16 converted exactly to
   float32; any integer/bool/float for annotation frames), the row labels
   (index) and column labels: strings, or integers (an Int64Index of
   Entrez IDs) as decimal strings. Compressed frames need the filter in
   this libhdf5 (zlib usually; blosc/lzf are PyTables plugins: the error
   names the filter). *values is
   a VPAR_MALLOC'd rows x cols array of *dtype (F32, F64 or, for
   non-float frames, U8 with nonzero -> 1); *row_names and *col_names as in
   vpar_egad_read_genes. Returns VPAR_ERR_UNSUPPORTED when built without
   HDF5. Any thread (libhdf5 is serialised internally only when built
   thread-safe: call from one thread at a time). */
vpar_status vpar_egad_hdf5_read_frame(const char *path, const char *key,
        void **values, vpar_dtype *dtype, size_t *rows, size_t *cols,
        char ***row_names, char ***col_names);

/* The same checks without reading the values: the file, the key (a
   missing key lists the keys present), the labels (strings or integers,
   integers written in decimal), one values block of a supported type and
   the frame's shape, and filters this libhdf5 cannot decode (named). Gives
   the dtype read_frame would give, the shape and the labels (free them
   with VPAR_FREE). For checking many networks up front without reading
   them. VPAR_ERR_UNSUPPORTED without HDF5. Same calling context as
   vpar_egad_hdf5_read_frame. */
vpar_status vpar_egad_hdf5_frame_info(const char *path, const char *key, vpar_dtype *dtype,
        size_t *rows, size_t *cols, char ***row_names, char ***col_names);

/* Annotations from a dense genes x terms frame `key` (default "go") of a
   pandas HDF5 file: gene i has term j when the value is nonzero; term order
   = column order. VPAR_ERR_UNSUPPORTED without HDF5. */
vpar_status vpar_egad_annotations_load_hdf5(vpar_egad_annotations **out,
        const char *path, const char *key /* NULL = "go" */);

/* 1 when built with HDF5 / zlib support. */
int vpar_egad_have_hdf5(void);
int vpar_egad_have_zlib(void);

/* ---- diagnostics (private) ---- */

/* Phase timer of the programs (bench/RESULTS.md's breakdowns): with
   VPAR_EGAD_PHASES=1 in the environment, prints to stderr
   "vpar-egad: phase WHAT: wall W s, cpu C s (user U, sys S), minor faults
   F" for the time since the previous mark of this process (the first mark:
   since the process started, its CPU and faults only). Without the
   variable it costs one getenv (cached). Any thread; meant for the thread
   that drives a network. */
void vpar__egad_phase(const char *what);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_EGAD_H */
