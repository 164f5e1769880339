/* examples/egad/cli.c — the options vpar-egad and vpar-aggregate share
   (egad_cli.h). */
#include "egad_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

const char vpar_egad_cli_usage[] =
"EGAD inputs and parameters (the same in vpar-egad and vpar-aggregate)\n"
"  --annotations FILE  gene<TAB>term TSV (header optional, .gz ok), or a pandas\n"
"                      HDF5 file (.h5/.hdf5) with a dense genes x terms frame\n"
"  --genes FILE        gene IDs, one per line: the rows/columns of every .npy\n"
"                      network (needed for .npy, not for HDF5 networks)\n"
"  --gaf               a GAF file: gene col 2 (DB Object ID), term col 5 (GO ID);\n"
"                      NOT-qualified lines are skipped. A raw GAF is not\n"
"                      propagated up the ontology: add --obo (docs/egad.md)\n"
"  --aspect P|F|C      with --gaf: only biological process, molecular function\n"
"                      or cellular component lines (GAF column 9)\n"
"  --obo FILE          propagate: each (gene, term) also counts for every\n"
"                      ancestor of the term over is_a and part_of in FILE\n"
"                      (GO's go-basic.obo; .gz ok)\n"
"  --gene-col N        1-based column of gene IDs (default 1, or the column a\n"
"                      header names gene/gene_id/entrez/symbol/...)\n"
"  --term-col N        1-based column of terms (default 2, or the column a\n"
"                      header names term/go/go_id/...)\n"
"  --header | --no-header   the annotation file has / has no header line\n"
"                      (default: detected from the first line)\n"
"  --nw-key KEY        HDF5 key of networks (default nw)\n"
"  --go-key KEY        HDF5 key of the annotation frame (default go)\n"
"  --nfold N           cross-validation folds, at least 2 (default 3)\n"
"  --min N             keep terms with more than N genes (default 20)\n"
"  --max N             keep terms with fewer than N genes (default 1000)\n"
"  Term order: terms are numbered in order of first appearance in the file\n"
"  (HDF5: column order; with --obo, terms reached only by propagation follow\n"
"  in the order reached), and cross-validation folds follow that order, as in\n"
"  the reference EGAD: the same pairs in another order give other folds and\n"
"  slightly different AUCs (docs/egad.md, \"Term order\").\n";

void vpar_egad_cli_init(vpar_egad_cli *o) {
    memset(o, 0, sizeof *o);
    o->nw_key = "nw";
    o->go_key = "go";
    o->gene_col = 1;
    o->term_col = 2;
}

static int vpar__egad_cli_int(const char *prog, const char *opt, const char *arg, int *out) {
    return vpar_ex_opt_int(prog, opt, arg, 1, INT_MAX, out) ? 1 : -1;
}

int vpar_egad_cli_option(vpar_egad_cli *o, int code, const char *arg, const char *prog) {
    switch (code) {
    case VPAR_EGAD_O_ANNOTATIONS: o->annotations = arg; return 1;
    case VPAR_EGAD_O_GENES: o->genes = arg; return 1;
    case VPAR_EGAD_O_NFOLD:
        /* One fold has no training set: every AUC would be 0.5. */
        return vpar_ex_opt_int(prog, "--nfold", arg, 2, INT_MAX, &o->desc.nfold) ? 1 : -1;
    case VPAR_EGAD_O_MIN: return vpar__egad_cli_int(prog, "--min", arg, &o->desc.min_genes);
    case VPAR_EGAD_O_MAX: return vpar__egad_cli_int(prog, "--max", arg, &o->desc.max_genes);
    case VPAR_EGAD_O_GAF:
        o->gene_col = 2;
        o->term_col = 5;
        o->adesc.columns_given = 1;
        o->adesc.gaf = 1;
        return 1;
    case VPAR_EGAD_O_GENE_COL:
        o->adesc.columns_given = 1;
        return vpar__egad_cli_int(prog, "--gene-col", arg, &o->gene_col);
    case VPAR_EGAD_O_TERM_COL:
        o->adesc.columns_given = 1;
        return vpar__egad_cli_int(prog, "--term-col", arg, &o->term_col);
    case VPAR_EGAD_O_HEADER: o->adesc.header = 1; return 1;
    case VPAR_EGAD_O_NO_HEADER: o->adesc.header = -1; return 1;
    case VPAR_EGAD_O_NW_KEY: o->nw_key = arg; return 1;
    case VPAR_EGAD_O_GO_KEY: o->go_key = arg; return 1;
    case VPAR_EGAD_O_ASPECT:
        if (!arg || !arg[0] || arg[1] || !strchr("PFC", arg[0])) {
            fprintf(stderr, "%s: --aspect '%s': expected P (biological process), F (molecular "
                            "function) or C (cellular component)\n", prog, arg ? arg : "");
            return -1;
        }
        o->adesc.aspect = arg[0];
        return 1;
    case VPAR_EGAD_O_OBO: o->adesc.obo = arg; return 1;
    default: return 0;
    }
}

int vpar_egad_cli_finish(vpar_egad_cli *o, const char *prog) {
    if (!o->annotations) {
        fprintf(stderr, "%s: --annotations FILE is required (try --help)\n", prog);
        return 0;
    }
    if (o->gene_col == o->term_col) {
        fprintf(stderr, "%s: --gene-col and --term-col must differ (try --help)\n", prog);
        return 0;
    }
    if (o->adesc.obo && vpar_ex_is_hdf5_name(o->annotations)) {
        fprintf(stderr, "%s: --obo propagates TSV/GAF annotations; an HDF5 frame is used as it "
                        "is (store the propagated frame)\n", prog);
        return 0;
    }
    if (o->adesc.aspect && !o->adesc.gaf) {
        fprintf(stderr, "%s: --aspect selects GAF lines by column 9: it needs --gaf\n", prog);
        return 0;
    }
    o->adesc.gene_col = o->gene_col - 1;
    o->adesc.term_col = o->term_col - 1;
    int mn = o->desc.min_genes ? o->desc.min_genes : 20;
    if (o->desc.max_genes && o->desc.max_genes <= mn + 1) {
        fprintf(stderr, "%s: --min %d --max %d keeps no term (kept: min < genes < max)\n", prog, mn,
                o->desc.max_genes);
        return 0;
    }
    return 1;
}

int vpar_egad_cli_load(const vpar_egad_cli *o, const char *prog, vpar_egad_annotations **ann,
                       char ***genes, size_t *ngenes) {
    vpar_status st = vpar_egad_cli_load_quiet(o, ann, genes, ngenes);
    if (st != VPAR_OK) fprintf(stderr, "%s: %s\n", prog, vpar_last_error());
    return st == VPAR_OK;
}

vpar_status vpar_egad_cli_load_quiet(const vpar_egad_cli *o, vpar_egad_annotations **ann,
                                     char ***genes, size_t *ngenes) {
    *genes = NULL;
    *ngenes = 0;
    vpar_status st = vpar_ex_is_hdf5_name(o->annotations)
                         ? vpar_egad_annotations_load_hdf5(ann, o->annotations, o->go_key)
                         : vpar_egad_annotations_load(ann, o->annotations, &o->adesc);
    if (st == VPAR_OK && o->genes) {
        st = vpar_egad_read_genes(o->genes, genes, ngenes);
        if (st != VPAR_OK) {
            vpar_egad_annotations_destroy(*ann);
            *ann = NULL;
        }
    }
    return st;
}

int vpar_egad_cli_hash(const vpar_egad_cli *o, const char *prog, vpar_ex_confighash *h) {
    const char *files[3] = {o->annotations, o->genes, o->adesc.obo};
    const char *labels[3] = {"annotations", "genes", "obo"};
    for (int i = 0; i < 3; i++) {
        if (!files[i]) continue;
        if (vpar_ex_confighash_file(h, labels[i], files[i]) != 0) {
            if (prog) fprintf(stderr, "%s: %s: cannot read: %s\n", prog, files[i], strerror(errno));
            return 0;
        }
    }
    vpar_ex_confighash_u64(h, "gene_col", (uint64_t)o->adesc.gene_col);
    vpar_ex_confighash_u64(h, "term_col", (uint64_t)o->adesc.term_col);
    vpar_ex_confighash_u64(h, "header", (uint64_t)(o->adesc.header + 1));
    vpar_ex_confighash_u64(h, "columns_given", (uint64_t)o->adesc.columns_given);
    vpar_ex_confighash_u64(h, "gaf", (uint64_t)o->adesc.gaf);
    if (o->adesc.aspect) vpar_ex_confighash_u64(h, "aspect", (uint64_t)o->adesc.aspect);
    vpar_ex_confighash_str(h, "nw_key", o->nw_key);
    vpar_ex_confighash_str(h, "go_key", o->go_key);
    vpar_ex_confighash_u64(h, "nfold", (uint64_t)o->desc.nfold);
    vpar_ex_confighash_u64(h, "min", (uint64_t)o->desc.min_genes);
    vpar_ex_confighash_u64(h, "max", (uint64_t)o->desc.max_genes);
    vpar_ex_confighash_u64(h, "nonfinite_as_zero", (uint64_t)o->desc.nonfinite_as_zero);
    return 1;
}
