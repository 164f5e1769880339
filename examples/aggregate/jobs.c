/* examples/aggregate/jobs.c — vpar-aggregate's sharded-run bookkeeping:
   the configuration hash, the shard manifest (examples/common/parts.h)
   next to the permutation files, and --merge, which turns a directory of
   parts into aggregate.csv and the plot exactly as one run writes them. */
#include "prog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything that changes a permutation's numbers: the EGAD options and
   inputs, the networks (name, size, first MiB), the orders (seed, or the
   --order file). Not the shard, -j, -t, --out or --plot. 0 after printing. */
static int agg_config_hash(const options *o, char out[17]) {
    vpar_ex_confighash h;
    vpar_ex_confighash_init(&h);
    vpar_ex_confighash_str(&h, "program", PROG);
    if (!vpar_egad_cli_hash(&o->egad, PROG, &h)) return 0;
    for (size_t i = 0; i < o->k; i++)
        if (vpar_ex_confighash_input(&h, "network", o->networks[i]) != 0) {
            fprintf(stderr, "%s: %s: cannot read: %s\n", PROG, o->networks[i], strerror(errno));
            return 0;
        }
    if (o->order) {
        if (vpar_ex_confighash_file(&h, "order", o->order) != 0) {
            fprintf(stderr, "%s: --order %s: cannot read: %s\n", PROG, o->order, strerror(errno));
            return 0;
        }
    } else {
        vpar_ex_confighash_u64(&h, "seed", o->seed);
    }
    vpar_ex_confighash_hex(&h, out);
    return 1;
}

int agg_job_manifest(job *J) {
    const options *o = &J->o;
    J->manifest_ok = 1;
    if (!agg_config_hash(o, J->config)) return 0;
    char **names = (char **)calloc(J->p ? J->p : 1, sizeof *names);
    int ok = names != NULL;
    for (size_t i = 0; ok && i < J->p; i++) {
        char b[32];
        snprintf(b, sizeof b, "%zu", i + 1);
        ok = (names[i] = strdup(b)) != NULL;
    }
    ok = ok && vpar_ex_parts_init(&J->parts, PROG, J->config, &o->shard, (const char *const *)names,
                                  J->p) == 0;
    for (size_t i = 0; names && i < J->p; i++) free(names[i]);
    free(names);
    if (!ok) {
        fputs("vpar-aggregate: out of memory\n", stderr);
        return 0;
    }
    /* What --merge needs besides the files: the datasets, in command-line
       order (a permutation file names them by step). */
    char tok[4200];
    snprintf(tok, sizeof tok, "datasets=%zu", o->k);
    vpar_ex_parts_add_meta(&J->parts, tok);
    for (size_t i = 0; i < o->k; i++) {
        snprintf(tok, sizeof tok, "dataset=%s", vpar_agg_dataset_name(o->networks[i]));
        if (vpar_ex_parts_add_meta(&J->parts, tok) != 0) {
            fprintf(stderr, "vpar-aggregate: %s: a dataset name with spaces or control characters "
                            "cannot be recorded in the run's manifest: rename the file\n",
                    o->networks[i]);
            return 0;
        }
    }
    /* Written before any computing: an unwritable --out fails now. */
    char err[1024];
    if (vpar_ex_parts_write(&J->parts, o->out, err, sizeof err) != 0) {
        fprintf(stderr, "vpar-aggregate: --out %s: %s\n", o->out, err);
        return 0;
    }
    return 1;
}

void agg_job_done(job *J, size_t i) {
    if (!J->manifest_ok) return;
    char file[64], err[1024];
    snprintf(file, sizeof file, "permute_network_performance_%zu.csv", i + 1);
    if (vpar_ex_parts_done(&J->parts, J->o.out, i, file, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%svpar-aggregate: %s\n", vpar_ex_msg_start(), err);
        J->manifest_ok = 0;
    }
}

/* A permutation file of the merge: its order comes from the dataset names
   it lists (then vpar_agg_read_perm_csv checks all of it). */
static vpar_status agg_read_part(const char *path, const char *const *names, size_t k,
                                 size_t *order, double *auc) {
    char **lines;
    size_t n;
    vpar_status st = vpar_agg_read_lines(path, &lines, &n);
    if (st != VPAR_OK) return st;
    for (size_t s = 0; s < k && st == VPAR_OK; s++) {
        const char *line = s + 1 < n ? lines[s + 1] : "";
        const char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        size_t len = c2 ? (size_t)(c2 - c1 - 1) : 0, j = 0;
        for (; c2 && j < k; j++)
            if (strlen(names[j]) == len && strncmp(names[j], c1 + 1, len) == 0) break;
        if (!c2 || j == k)
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: not a dataset of this run", path, s + 2);
        else
            order[s] = j;
    }
    VPAR_FREE(lines);
    if (st == VPAR_OK) st = vpar_agg_read_perm_csv(path, names, order, k, auc);
    return st;
}

/* The merged parts' datasets from their meta ("datasets=K", then K
   "dataset=NAME"). NULL after printing. */
static const char **agg_merge_names(const vpar_ex_parts *m, const char *dir, size_t *k) {
    unsigned long kk = 0;
    if (m->nmeta < 1 || sscanf(m->meta[0], "datasets=%lu", &kk) != 1 || kk + 1 != m->nmeta) {
        fprintf(stderr, "vpar-aggregate: --merge %s: the parts do not list their datasets\n", dir);
        return NULL;
    }
    const char **names = (const char **)calloc(kk ? kk : 1, sizeof *names);
    for (size_t j = 0; names && j < kk; j++) {
        if (strncmp(m->meta[j + 1], "dataset=", 8) != 0) {
            fprintf(stderr, "vpar-aggregate: --merge %s: bad dataset entry '%s'\n", dir, m->meta[j + 1]);
            free(names);
            return NULL;
        }
        names[j] = m->meta[j + 1] + 8;
    }
    *k = kk;
    return names;
}

/* Every permutation's file into orders/auc, then aggregate.csv and the
   plot. The exit status. */
static int agg_merge_write(const options *o, const vpar_ex_parts *m, const char *const *names,
                           size_t k) {
    const size_t p = m->nitems;
    size_t *orders = (size_t *)calloc(p * k + 1, sizeof *orders);
    double *auc = (double *)calloc(p * k + 1, sizeof *auc);
    int rc = orders && auc ? 0 : 1;
    if (rc) fputs("vpar-aggregate: out of memory\n", stderr);
    for (size_t i = 0; !rc && i < p; i++) {
        char path[4096];
        if (!vpar_ex_path(path, sizeof path, "%s/%s", o->merge_dir, m->items[i].file) ||
            agg_read_part(path, names, k, orders + i * k, auc + i * k) != VPAR_OK) {
            fprintf(stderr, "vpar-aggregate: --merge %s\n", vpar_last_error());
            rc = VPAR_EX_EXIT_USAGE;
        }
    }
    char path[4096];
    if (!rc && !vpar_ex_path(path, sizeof path, "%s/aggregate.csv", o->merge_dir)) rc = VPAR_EX_EXIT_USAGE;
    if (!rc && vpar_agg_write_aggregate_csv(path, names, orders, auc, p, k) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
        rc = 1;
    }
    if (!rc && o->plot && vpar_agg_write_svg(o->plot, auc, p, k, NULL) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: --plot %s\n", vpar_last_error());
        rc = 1;
    }
    if (!rc && !o->quiet)
        fprintf(stderr, "vpar-aggregate: merged %zu permutations x %zu datasets from %lu shards "
                        "into %s%s%s\n", p, k, m->shard.count, path, o->plot ? " and " : "",
                o->plot ? o->plot : "");
    free(orders);
    free(auc);
    return rc;
}

int agg_merge(const options *o) {
    vpar_ex_parts m;
    char err[1024];
    int r = vpar_ex_parts_merge(&m, o->merge_dir, PROG, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "vpar-aggregate: --merge %s\n", err);
        return VPAR_EX_EXIT_USAGE;
    }
    int rc;
    if (r > 0) {
        char spec[4096];
        size_t missing = vpar_ex_parts_missing_spec(&m, spec, sizeof spec);
        fprintf(stderr, "vpar-aggregate: --merge %s: %zu of %zu permutations not done; "
                        "aggregate.csv not written. Resubmit these shards of %lu: --array=%s "
                        "(same command, --shard auto/%lu), then merge again\n", o->merge_dir,
                missing, m.nitems, m.shard.count, spec, m.shard.count);
        rc = VPAR_EX_EXIT_INCOMPLETE;
    } else {
        size_t k = 0;
        const char **names = agg_merge_names(&m, o->merge_dir, &k);
        rc = names ? agg_merge_write(o, &m, names, k) : VPAR_EX_EXIT_USAGE;
        free(names);
    }
    vpar_ex_parts_free(&m);
    return rc;
}
