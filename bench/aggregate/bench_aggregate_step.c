/* bench_aggregate_step — times aggregation steps (add, rank, EGAD) of
   vpar-aggregate's engine: the vpar side of the aggregate_step_5000 and
   aggregate_step_full benches.

     bench_aggregate_step --annotations go.tsv --genes genes.txt
                          [--threads T] [--repeat R] NET.npy [NET.npy ...]

   Setup (annotations, genes, mapping the networks, the EGAD plan) is not
   timed, as in ref_step.py. Each repetition runs one permutation over the
   given networks in the given order (k networks: k steps; step 1's
   aggregate is the first network alone), on one engine whose buffers are
   reused, as vpar-aggregate does. Prints
     seconds=<every step's wall time, in run order>
     cpu_s=<every step's process CPU time, user + system>
     mean_auc=<17 digits>   (step 1's mean AUC: the first network alone)
     maxrss_kb=<peak resident set size of the process>
   The first step of the first repetition also pays the first touch of the
   engine's buffers. */
#define VPAR_IMPLEMENTATION
#include "aggregate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../bench_util.h"

static double cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

typedef struct step_log {
    double *wall, *cpu;   /* one per step */
    size_t n;
    double t, c;          /* time and CPU at the previous step's end */
} step_log;

static void on_step(void *user) {
    step_log *L = (step_log *)user;
    double t = bench_now(), c = cpu_now();
    L->wall[L->n] = t - L->t;
    L->cpu[L->n] = c - L->c;
    L->n++;
    L->t = t;
    L->c = c;
}

int main(int argc, char **argv) {
    const char *ann_path = NULL, *genes_path = NULL;
    const char **nets = (const char **)calloc((size_t)argc, sizeof *nets);
    size_t k = 0;
    int threads = 0, repeat = 3;
    if (!nets) return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--annotations") && i + 1 < argc) ann_path = argv[++i];
        else if (!strcmp(argv[i], "--genes") && i + 1 < argc) genes_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (argv[i][0] != '-') nets[k++] = argv[i];
        else {
            fprintf(stderr, "usage: %s --annotations F --genes F [--threads T] [--repeat R] NET.npy [NET.npy ...]\n", argv[0]);
            return 2;
        }
    }
    if (!ann_path || !genes_path || !k || repeat < 1) {
        fprintf(stderr, "%s: --annotations, --genes and a network are required\n", argv[0]);
        return 2;
    }
    vpar_egad_annotations *ann;
    char **genes;
    size_t n;
    vpar_agg *agg;
    if (vpar_egad_annotations_load(&ann, ann_path, NULL) != VPAR_OK ||
        vpar_egad_read_genes(genes_path, &genes, &n) != VPAR_OK ||
        vpar_agg_create(&agg, ann, (const char *const *)genes, n, nets, k, NULL) != VPAR_OK) {
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
    size_t total = (size_t)repeat * k;
    size_t *order = (size_t *)malloc(k * sizeof *order);
    double *auc = (double *)malloc(k * sizeof *auc);
    step_log L = {(double *)malloc(total * sizeof(double)), (double *)malloc(total * sizeof(double)),
                  0, 0, 0};
    if (!order || !auc || !L.wall || !L.cpu) return 1;
    for (size_t i = 0; i < k; i++) order[i] = i;
    vpar_agg_hooks hooks = {on_step, &L, NULL};
    double auc1 = 0;
    for (int r = 0; r < repeat; r++) {
        L.t = bench_now();
        L.c = cpu_now();
        if (vpar_agg_run(agg, order, pool, &hooks, auc) != VPAR_OK) {
            fprintf(stderr, "%s: %s\n", argv[0], vpar_last_error());
            return 1;
        }
        auc1 = auc[0];
    }
    printf("seconds=");
    for (size_t i = 0; i < L.n; i++) printf("%s%.4f", i ? "," : "", L.wall[i]);
    printf("\ncpu_s=");
    for (size_t i = 0; i < L.n; i++) printf("%s%.3f", i ? "," : "", L.cpu[i]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\nmean_auc=%.17g\nmaxrss_kb=%ld\n", auc1, (long)ru.ru_maxrss);
    if (pool) vpar_pool_destroy(pool);
    vpar_agg_destroy(agg);
    free(order); free(auc); free(L.wall); free(L.cpu); free(nets);
    VPAR_FREE(genes);
    vpar_egad_annotations_destroy(ann);
    return 0;
}
