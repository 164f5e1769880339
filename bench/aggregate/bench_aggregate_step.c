/* bench_aggregate_step — times one aggregation step (rank + EGAD) of
   vpar-aggregate's engine, the vpar side of the aggregate_step_5000 bench.

     bench_aggregate_step --annotations go.tsv --genes genes.txt
                          [--threads T] [--repeat R] NET.npy

   Setup (annotations, genes, mapping the network, the EGAD plan) is not
   timed, as in ref_step.py. Each repetition runs a one-dataset permutation:
   aggregate = the network (one pass), rank-standardize a copy, EGAD, mean
   AUC. Prints `mean_auc=<17 digits>` and `seconds=<t1,t2,...>`. */
#define VPAR_IMPLEMENTATION
#include "aggregate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench_util.h"

int main(int argc, char **argv) {
    const char *ann_path = NULL, *genes_path = NULL, *net = NULL;
    int threads = 0, repeat = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--annotations") && i + 1 < argc) ann_path = argv[++i];
        else if (!strcmp(argv[i], "--genes") && i + 1 < argc) genes_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !net) net = argv[i];
        else {
            fprintf(stderr, "usage: %s --annotations F --genes F [--threads T] [--repeat R] NET.npy\n", argv[0]);
            return 2;
        }
    }
    if (!ann_path || !genes_path || !net || repeat < 1) {
        fprintf(stderr, "%s: --annotations, --genes and a network are required\n", argv[0]);
        return 2;
    }
    vpar_egad_annotations *ann;
    char **genes;
    size_t n;
    vpar_agg *agg;
    if (vpar_egad_annotations_load(&ann, ann_path, NULL) != VPAR_OK ||
        vpar_egad_read_genes(genes_path, &genes, &n) != VPAR_OK ||
        vpar_agg_create(&agg, ann, (const char *const *)genes, n, &net, 1, NULL) != VPAR_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], vpar_last_error());
        return 1;
    }
    vpar_pool *pool = NULL;
    if (threads != 1) {
        vpar_pool_desc d = {0};
        d.num_threads = threads;
        if (vpar_pool_create(&pool, &d) != VPAR_OK) {
            fprintf(stderr, "%s: %s\n", argv[0], vpar_last_error());
            return 1;
        }
    }
    const size_t order[1] = {0};
    double auc = 0;
    printf("seconds=");
    for (int r = 0; r < repeat; r++) {
        double t0 = bench_now();
        if (vpar_agg_run(agg, order, pool, NULL, &auc) != VPAR_OK) {
            fprintf(stderr, "%s: %s\n", argv[0], vpar_last_error());
            return 1;
        }
        printf("%s%.4f", r ? "," : "", bench_now() - t0);
        fflush(stdout);
    }
    printf("\nmean_auc=%.17g\n", auc);
    if (pool) vpar_pool_destroy(pool);
    vpar_agg_destroy(agg);
    VPAR_FREE(genes);
    vpar_egad_annotations_destroy(ann);
    return 0;
}
