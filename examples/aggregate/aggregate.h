/* examples/aggregate/aggregate.h — the network aggregation workflow's core.

   WHAT
     "Aggregating networks across datasets increases the AUROC of known
     functional modules": each permutation orders the K datasets; for
     k = 1..K the aggregate (float64) gains network k by one addition, a copy
     is rank-standardized exactly like `vpar-rank` (NaN and ±inf -> 0.5), and
     EGAD (examples/egad/egad.h, vpar-egad's semantics) scores it; the mean
     AUC over GO terms (skipping NaN terms) is recorded per step.

     This header holds the pieces vpar-aggregate (main.c) is made of, so
     that the tests drive them directly:
       - the reproducible permutation generator (xoshiro256** + Fisher-Yates),
       - `--order FILE` parsing and validation,
       - the per-permutation CSV (atomic write, validating read for resume),
         aggregate.csv, and the SVG plot of the curves,
       - the progress bar (lock-free, shared across worker processes),
       - the engine: networks mapped once, one EGAD plan, two N x N float64
         buffers, one permutation at a time.

   EXAMPLE
       vpar_agg *a;
       vpar_agg_desc d = {0};                     // EGAD defaults: 3 folds, 20 < n < 1000
       if (vpar_agg_create(&a, ann, genes, n, paths, k, &d) != VPAR_OK) { ... vpar_last_error() ... }
       size_t *orders = malloc(p * k * sizeof *orders);
       vpar_agg_permutations(seed, p, k, orders);  // permutation i = orders + (i-1)*k
       double *auc = malloc(k * sizeof *auc);
       vpar_agg_run(a, orders, pool, NULL, auc);   // auc[s] = mean AUC after s+1 datasets
       vpar_agg_write_perm_csv("out/permute_network_performance_1.csv",
                               vpar_agg_names(a), orders, auc, k);
       vpar_agg_destroy(a);

   PERMUTATIONS (documented so that other tools can reproduce them)
     One xoshiro256** stream (Blackman & Vigna) whose 256-bit state is four
     successive outputs of splitmix64 started at `seed`. Permutation i
     (1-based) is the i-th Fisher-Yates shuffle drawn from that stream, each
     starting from the identity order (datasets in command-line order):
     for j = K-1 down to 1, r = below(j + 1), swap(a[j], a[r]), where
     below(b) is Lemire's unbiased bounded draw: x = next(), m = x * b as a
     128-bit product; if low64(m) < b, let t = (2^64 - b) mod b and redraw
     while low64(m) < t; return high64(m). The orders depend only on the
     seed, P and K, never on -j or -t. tests/test_aggregate_perm.py holds an
     independent Python implementation that the tests compare against.

   MEMORY
     vpar_agg_run keeps two N x N float64 buffers (the running sum and the
     copy that is ranked), allocated at the first run and reused; the
     networks stay memory-mapped (page cache, shared between processes).

   DETERMINISM
     The aggregate is summed in float64 in dataset order, one addition per
     step, so its bits do not depend on threads. Ranking and EGAD are
     deterministic for any thread count (see rank.h and egad.h), so results
     are identical with any -j and -t.

   CALLING CONTEXTS
     Everything here: any thread, but one vpar_agg is used by one thread at
     a time (vpar_agg_run parallelises internally on `pool`). A vpar_agg
     created before fork() is usable in the child. The progress functions
     are safe from several processes at once when the vpar_agg_progress
     lives in MAP_SHARED memory.
*/
#ifndef VPAR_AGGREGATE_H
#define VPAR_AGGREGATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vpar.h"
#include "egad.h"
#include "aggregate_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the engine ---------------------------------------------------------- */

typedef struct vpar_agg vpar_agg;

typedef struct vpar_agg_desc {
    vpar_egad_desc egad;   /* folds and term size filter, as vpar-egad */
    const char *nw_key;    /* HDF5 key of network frames; NULL: "nw" */
    vpar_pool *pool;       /* for the one-time checks in vpar_agg_create (network
                              symmetry); NULL: serial. A process that forks
                              workers afterwards should destroy it first
                              (forking a multi-threaded process is fragile). */
    const char *genes_file; /* named in a gene-count mismatch; NULL: "(--genes)" */
    /* Checks split between processes (MPI ranks, examples/aggregate/mpi.c).
       check: k flags, the networks whose contents this process checks in
       vpar_agg_create: an HDF5 network's labels and layout, an .npy
       network's symmetry (which reads every page). NULL: all of them.
       Every .npy network's header is checked and mapped whatever the flags
       (cheap: the same errors in every process). The processes must cover
       every network between them and combine the outcomes: the first
       failure (failed_at below) and the symmetry, through
       vpar_agg_symmetric_checked and vpar_agg_set_symmetric. Until
       vpar_agg_set_symmetric, an engine that skipped a check runs as if a
       network were not symmetric (correct for any network, no faster). */
    const unsigned char *check;
    /* Optional out: where vpar_agg_create failed, in the order a single
       process meets the problems: 0 before any network (names, genes),
       1 + i at network i, k + 1 after them (the EGAD plan). Of processes
       that split the checks, the failure with the smallest value is the
       one a single process would have reported. Set when it fails. */
    size_t *failed_at;
} vpar_agg_desc;

/* Opens the k networks `paths` and builds the EGAD plan once.
   .npy networks (N x N, float32 or float64, N == n) are memory-mapped;
   pandas HDF5 networks (.h5/.hdf5, needs HDF5 support in egad.h) are read
   at each step that adds them (once per permutation), and their row and
   column labels must equal the genes. genes may be NULL when the first
   network is HDF5: its labels are the genes. Errors name the file.
   `ann` must outlive the vpar_agg; `paths` and `genes` are copied.
   Parent process, before forking workers. */
vpar_status vpar_agg_create(vpar_agg **out, const vpar_egad_annotations *ann,
                            const char *const *genes, size_t n,
                            const char *const *paths, size_t k,
                            const vpar_agg_desc *desc);
void vpar_agg_destroy(vpar_agg *agg);
size_t vpar_agg_genes(const vpar_agg *agg);
size_t vpar_agg_datasets(const vpar_agg *agg);
size_t vpar_agg_terms(const vpar_agg *agg);
/* The network paths as given (k entries). */
const char *const *vpar_agg_names(const vpar_agg *agg);
/* 1 when every network is exactly symmetric (so is every aggregate, and
   the ranker runs in its half-work symmetric mode). */
int vpar_agg_symmetric(const vpar_agg *agg);
/* 1 when every network vpar_agg_create checked (desc->check) is exactly
   symmetric and none is HDF5: this process's part of the symmetry of a
   split check. Any thread. */
int vpar_agg_symmetric_checked(const vpar_agg *agg);
/* Sets vpar_agg_symmetric after a split check: the logical AND of every
   process's vpar_agg_symmetric_checked (MPI_Allreduce with MPI_LAND).
   Pass 1 only when every network was checked, by some process, and found
   symmetric: the symmetric ranker reads one triangle and is wrong for a
   network that is not. Before the first vpar_agg_run (and its forks);
   the thread that owns the engine. */
void vpar_agg_set_symmetric(vpar_agg *agg, int symmetric);

/* Hooks of vpar_agg_run, all optional. */
typedef struct vpar_agg_hooks {
    void (*step_fn)(void *user);   /* after each step */
    void *user;
    const atomic_int *cancel;      /* non-zero: stop before the next step */
} vpar_agg_hooks;

/* Runs one permutation: order[0..k) are network indices; mean_auc[s] is
   the mean AUC after adding networks order[0..s]. pool: NULL runs
   serially. Returns VPAR_ERR_INTERRUPTED when *cancel was set. One thread
   at a time per vpar_agg; not inside a task of `pool`. */
vpar_status vpar_agg_run(vpar_agg *agg, const size_t *order, vpar_pool *pool,
                         const vpar_agg_hooks *hooks, double *mean_auc);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_AGGREGATE_H */
