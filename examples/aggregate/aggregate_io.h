/* examples/aggregate/aggregate_io.h — the aggregation workflow's
   bookkeeping: seeded permutations, --order files, CSV outputs with a
   validating reader for resume, the SVG plot, the progress bar. No EGAD or
   ranking here (see aggregate.h), so these parts build and test alone.
   The permutation definition is in aggregate.h's doc block. */
#ifndef VPAR_AGGREGATE_IO_H
#define VPAR_AGGREGATE_IO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vpar/common.h"
#include "excommon.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- permutations ------------------------------------------------------ */

/* The generator is examples/common's xoshiro256** (excommon.h); these
   names are kept for the aggregation tests and documentation. */
typedef vpar_ex_rng vpar_agg_rng;

/* Seeds xoshiro256** from splitmix64(seed). Any thread. */
static inline void vpar_agg_rng_seed(vpar_agg_rng *rng, uint64_t seed) { vpar_ex_rng_seed(rng, seed); }
/* Next 64-bit output. Any thread (one rng per thread). */
static inline uint64_t vpar_agg_rng_next(vpar_agg_rng *rng) { return vpar_ex_rng_next(rng); }
/* Uniform integer in [0, bound), bound >= 1, unbiased (Lemire). */
static inline uint64_t vpar_agg_rng_below(vpar_agg_rng *rng, uint64_t bound) {
    return vpar_ex_rng_below(rng, bound);
}
/* Writes p permutations of [0, k) into orders (p * k entries, row i-1 is
   permutation i), as described in the doc block. Any thread. */
void vpar_agg_permutations(uint64_t seed, size_t p, size_t k, size_t *orders);

/* ---- dataset names and the --order file --------------------------------- */

/* The dataset name of a network path: its file name (the text after the
   last '/'), e.g. "data/nw_03.npy" -> "nw_03.npy". Any thread. */
const char *vpar_agg_dataset_name(const char *path);

/* Fails (VPAR_ERR_INVALID, naming both paths) when two of the k paths have
   the same dataset name: names must identify datasets in CSVs and --order.
   Any thread. */
vpar_status vpar_agg_check_names(const char *const *paths, size_t k);

/* Reads an --order file: one dataset per line (blank lines and lines
   starting with '#' ignored, surrounding whitespace trimmed), each naming a
   network by its dataset name (nw_03.npy), by that name without its
   extension (nw_03, vpar-egad's network name) or by its path exactly as
   given. Fills
   order[0..k) with network indices. Errors name the file and line: unknown
   name (VPAR_ERR_NOT_FOUND), repeated name, wrong count (VPAR_ERR_FORMAT),
   unreadable file (VPAR_ERR_IO). Any thread. */
vpar_status vpar_agg_read_order(const char *path, const char *const *paths,
                                size_t k, size_t *order);

/* Reads a text file as lines (trailing "\r" removed, no trailing empty
   line). *lines is one allocation holding the pointers and the text; free
   it with VPAR_FREE. Any thread. */
vpar_status vpar_agg_read_lines(const char *path, char ***lines, size_t *n);

/* ---- outputs ------------------------------------------------------------- */

/* "<dir>/permute_network_performance_<i>.csv" into buf. Returns 0 when it
   does not fit. Any thread. */
int vpar_agg_perm_csv_path(char *buf, size_t cap, const char *dir, size_t i);

/* Writes `step,dataset,mean_auc` (k rows, 17 significant digits, NaN as
   "NaN") for one permutation: dataset of step s is the name of network
   order[s-1]. Atomic: a temporary file in the same directory renamed over
   `path` when complete, so an existing file is always a complete one. */
vpar_status vpar_agg_write_perm_csv(const char *path, const char *const *paths,
                                    const size_t *order, const double *auc, size_t k);

/* Reads a file written by vpar_agg_write_perm_csv back into auc[k] and
   checks that it belongs to this permutation (header, k rows, steps 1..k,
   datasets in `order`, parsable numbers). VPAR_ERR_NOT_FOUND when the file
   does not exist, VPAR_ERR_FORMAT (with the line) when it does not match. */
vpar_status vpar_agg_read_perm_csv(const char *path, const char *const *paths,
                                   const size_t *order, size_t k, double *auc);

/* Writes `permutation,step,dataset,mean_auc` for p permutations (orders
   and auc are p x k, row-major), atomically. */
vpar_status vpar_agg_write_aggregate_csv(const char *path, const char *const *paths,
                                         const size_t *orders, const double *auc,
                                         size_t p, size_t k);

/* Median over the p permutations at each of the k steps, skipping NaN
   (NaN when a step has no finite value). median: k entries. */
vpar_status vpar_agg_median(const double *auc, size_t p, size_t k, double *median);

/* Writes the SVG figure: mean AUC against the number of aggregated
   datasets, one thin <path> per permutation (class "perm") and one for the
   median (class "median"), axes with ticks, labels and `title` (XML-escaped;
   NULL for the default). Atomic like the CSVs. */
vpar_status vpar_agg_write_svg(const char *path, const double *auc, size_t p,
                               size_t k, const char *title);

/* ---- progress ------------------------------------------------------------ */

/* The progress bar is examples/common's (excommon.h: lock-free, shareable
   with forked workers through MAP_SHARED memory); these names are kept for
   the aggregation program and tests. */
typedef vpar_ex_progress vpar_agg_progress;

/* enabled: draw on fd 2 (callers pass isatty(2)). Any thread. */
static inline void vpar_agg_progress_init(vpar_agg_progress *pr, uint64_t total, int enabled) {
    vpar_ex_progress_init(pr, total, enabled);
}
/* One step done; may redraw. Any thread or process. */
static inline void vpar_agg_progress_step(vpar_agg_progress *pr) { vpar_ex_progress_step(pr); }
/* Draws the final state and ends the line. Any thread. */
static inline void vpar_agg_progress_finish(vpar_agg_progress *pr) { vpar_ex_progress_finish(pr); }
/* Formats the bar for `done` of `total` steps after `elapsed` seconds into
   buf (no control characters); returns buf. */
static inline char *vpar_agg_progress_format(char *buf, size_t cap, uint64_t done,
                                             uint64_t total, double elapsed, int width) {
    return vpar_ex_progress_format(buf, cap, done, total, elapsed, width);
}

#ifdef __cplusplus
}
#endif
#endif /* VPAR_AGGREGATE_IO_H */
