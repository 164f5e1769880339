/* examples/egad/egad_cli.h — the command-line options vpar-egad and
   vpar-aggregate share (the EGAD inputs and parameters), declared once:
   their getopt_long entries, their parsing, their help text, and loading
   the annotations and genes they name. Part of the vpar_egad library
   (cli.c). A program:

     static const struct option longs[] = {VPAR_EGAD_CLI_OPTIONS, ... its own ..., {0, 0, 0, 0}};
     vpar_egad_cli e;
     vpar_egad_cli_init(&e);
     while ((c = getopt_long(...)) != -1) {
         int r = vpar_egad_cli_option(&e, c, optarg, "vpar-x");
         if (r < 0) return 2;          // bad value, message printed
         if (r > 0) continue;          // one of the shared options
         switch (c) { ... its own options ... }
     }
     if (!vpar_egad_cli_finish(&e, "vpar-x")) return 2;
     fputs(vpar_egad_cli_usage, stdout);    // in --help

   A new EGAD option goes here (enum, VPAR_EGAD_CLI_OPTIONS, the usage
   text, vpar_egad_cli_option) and both programs get it. */
#ifndef VPAR_EGAD_CLI_H
#define VPAR_EGAD_CLI_H

#include <getopt.h>

#include "egad.h"
#include "shard.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Option codes of getopt_long (above any character). */
enum {
    VPAR_EGAD_O_ANNOTATIONS = 0x4000, VPAR_EGAD_O_GENES, VPAR_EGAD_O_NFOLD, VPAR_EGAD_O_MIN,
    VPAR_EGAD_O_MAX, VPAR_EGAD_O_GAF, VPAR_EGAD_O_GENE_COL, VPAR_EGAD_O_TERM_COL,
    VPAR_EGAD_O_HEADER, VPAR_EGAD_O_NO_HEADER, VPAR_EGAD_O_NW_KEY, VPAR_EGAD_O_GO_KEY,
    VPAR_EGAD_O_ASPECT, VPAR_EGAD_O_OBO
};

/* The shared entries of a `struct option` array. */
#define VPAR_EGAD_CLI_OPTIONS                                                       \
    {"annotations", required_argument, 0, VPAR_EGAD_O_ANNOTATIONS},                 \
    {"genes", required_argument, 0, VPAR_EGAD_O_GENES},                             \
    {"nfold", required_argument, 0, VPAR_EGAD_O_NFOLD},                             \
    {"min", required_argument, 0, VPAR_EGAD_O_MIN},                                 \
    {"max", required_argument, 0, VPAR_EGAD_O_MAX},                                 \
    {"gaf", no_argument, 0, VPAR_EGAD_O_GAF},                                       \
    {"gene-col", required_argument, 0, VPAR_EGAD_O_GENE_COL},                       \
    {"term-col", required_argument, 0, VPAR_EGAD_O_TERM_COL},                       \
    {"header", no_argument, 0, VPAR_EGAD_O_HEADER},                                 \
    {"no-header", no_argument, 0, VPAR_EGAD_O_NO_HEADER},                           \
    {"nw-key", required_argument, 0, VPAR_EGAD_O_NW_KEY},                           \
    {"go-key", required_argument, 0, VPAR_EGAD_O_GO_KEY},                           \
    {"aspect", required_argument, 0, VPAR_EGAD_O_ASPECT},                           \
    {"obo", required_argument, 0, VPAR_EGAD_O_OBO}

typedef struct vpar_egad_cli {
    const char *annotations;   /* --annotations (required) */
    const char *genes;         /* --genes, or NULL */
    const char *nw_key;        /* --nw-key, default "nw" */
    const char *go_key;        /* --go-key, default "go" */
    vpar_egad_annot_desc adesc;/* columns (0-based after finish) and header */
    vpar_egad_desc desc;       /* --nfold, --min, --max (0: defaults) */
    int gene_col, term_col;    /* 1-based as given */
} vpar_egad_cli;

/* The help lines of the shared options (ends with a newline). */
extern const char vpar_egad_cli_usage[];

void vpar_egad_cli_init(vpar_egad_cli *o);
/* getopt_long result `code` with `arg`: 1 when it was a shared option,
   0 when it is not one of them, -1 for a bad value (printed to stderr as
   "<prog>: --nfold 'x': expected an integer >= 1"). */
int vpar_egad_cli_option(vpar_egad_cli *o, int code, const char *arg, const char *prog);
/* After parsing: --annotations given, distinct columns, a size filter that
   keeps something; fills adesc's 0-based columns. 0 after printing the
   problem, 1 when fine. */
int vpar_egad_cli_finish(vpar_egad_cli *o, const char *prog);
/* Loads the annotations (pandas HDF5 frame go_key when the name says
   HDF5, else TSV/GAF) and, when --genes was given, the genes list (else
   *genes = NULL, *ngenes = 0). 0 after printing "<prog>: <error>". */
int vpar_egad_cli_load(const vpar_egad_cli *o, const char *prog, vpar_egad_annotations **ann,
                       char ***genes, size_t *ngenes);
/* The same without printing: the error is vpar_last_error()'s (e.g. for an
   MPI rank that reports it only when it is the job's first failure). */
vpar_status vpar_egad_cli_load_quiet(const vpar_egad_cli *o, vpar_egad_annotations **ann,
                                     char ***genes, size_t *ngenes);

/* Before any network is computed (inputs.c): checks each of the `count`
   networks with vpar_egad_network_check against the genes list (the
   genes file's length; dtypes EGAD cannot use, float16 included; for
   HDF5 networks only their layout and dtype, as each carries its own
   labels), printing "<prog>: <error>" for every problem found. 0 when
   something was printed (exit 2: an input shared by all networks), 1 when
   fine. A network that cannot be read is left for its own run to report. */
int vpar_egad_cli_check_networks(const vpar_egad_cli *o, const char *prog, char *const *networks,
                                 size_t count, char *const *genes, size_t ngenes);

/* Feeds everything of these options that changes results into a sharded
   run's configuration hash (shard.h): the annotation and genes files'
   contents, columns, header mode, HDF5 keys, nfold/min/max. 0 after
   printing "<prog>: <file>: cannot read: ..." when a file is unreadable
   (nothing printed when prog is NULL), 1 when fine. Any thread. */
int vpar_egad_cli_hash(const vpar_egad_cli *o, const char *prog, vpar_ex_confighash *h);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_EGAD_CLI_H */
