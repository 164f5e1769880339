/* Inputs users actually have (issue 15), end to end through vpar-egad and
   vpar-aggregate:
   - pandas HDF5 frames as pandas writes them (tests/egad_inputs_make.py,
     run at test time): integer (Entrez) labels, a bool annotation frame,
     zlib compression give the same CSV as the same data as .npy + genes +
     TSV; a blosc frame names the filter; a wrong --nw-key lists the keys;
     vpar-aggregate refuses HDF5 networks in different gene orders before
     computing. Skipped (77) without HDF5 or pandas/PyTables.
   - checks before computing, exit 2: a genes file of the wrong length
     (named), float16 and int32 .npy networks (named as unsupported).
   - GAF --aspect, the GAF hint, --obo propagation (see their tests).
   Expected values are derived here (the TSV twin of each frame, counts
   written by hand), never from vpar's output of the same input. */
#include "vpar.h"
#include "egad.h"
#include "vpar_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static char dir[64];


static char *slurp(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

static void put(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Runs vpar-egad in dir with `args`; returns its exit status; stderr in
   dir/err.txt. */
static int egad(const char *args) {
    return vpar_test_sh("cd '%s' && '%s' -q %s 2> err.txt", dir, VPAR_EGAD_EXE, args);
}

static int same_file(const char *a, const char *b) {
    return vpar_test_sh("cmp -s '%s/%s' '%s/%s'", dir, a, dir, b) == 0;
}

/* ---- HDF5 frames as pandas writes them ---- */
static int test_hdf5(void) {
    if (!vpar_egad_have_hdf5()) {
        printf("SKIP: built without HDF5: pandas HDF5 inputs untested\n");
        return 0;
    }
    int rc = vpar_test_sh("/usr/bin/python3 '%s' '%s' > '%s/py.txt' 2>&1", VPAR_INPUTS_MAKE, dir, dir);
    if (rc == 77 || rc == 127) {
        char *m = slurp("py.txt");
        printf("SKIP: no /usr/bin/python3 with pandas and PyTables to write the frames (%s)\n", m);
        free(m);
        return 0;
    }
    CHECK(rc == 0, "egad_inputs_make.py exit %d", rc);
    /* The reference: .npy + genes + TSV. */
    rc = egad("--annotations go.tsv --genes genes.txt --min 2 --out ref nw.npy");
    CHECK(rc == 0, "reference run: %d", rc);
    /* Integer labels + bool annotation frame: the same CSV. */
    rc = egad("--annotations go_bool.h5 --min 2 --out h5 nw_int.h5 nw_zlib.h5");
    char *err = slurp("err.txt");
    CHECK(rc == 0, "int-label/bool frames: exit %d: %s", rc, err);
    free(err);
    CHECK(same_file("ref/nw.csv", "h5/nw_int.csv"), "integer labels + bool frame differ from the TSV run");
    CHECK(same_file("ref/nw.csv", "h5/nw_zlib.csv"), "zlib frame differs from the TSV run");
    /* The labels themselves: decimal strings of the integers. */
    char path[512];
    snprintf(path, sizeof path, "%s/nw_int.h5", dir);
    void *v = NULL;
    vpar_dtype dt;
    size_t rows = 0, cols = 0;
    char **rn = NULL, **cn = NULL;
    CHECK(vpar_egad_hdf5_read_frame(path, "nw", &v, &dt, &rows, &cols, &rn, &cn) == VPAR_OK, "%s",
          vpar_last_error());
    if (rn) {
        CHECK(rows == 48 && cols == 48 && dt == VPAR_DTYPE_F32, "shape %zu x %zu", rows, cols);
        CHECK(strcmp(rn[0], "1000") == 0 && strcmp(rn[47], "1329") == 0 && strcmp(cn[1], "1007") == 0,
              "labels %s %s %s", rn[0], rn[47], cn[1]);
    }
    VPAR_FREE(v);
    VPAR_FREE(rn);
    VPAR_FREE(cn);
    /* Bool frame pairs = the TSV's pairs. */
    vpar_egad_annotations *a = NULL, *b = NULL;
    snprintf(path, sizeof path, "%s/go_bool.h5", dir);
    CHECK(vpar_egad_annotations_load_hdf5(&a, path, NULL) == VPAR_OK, "%s", vpar_last_error());
    snprintf(path, sizeof path, "%s/go.tsv", dir);
    CHECK(vpar_egad_annotations_load(&b, path, NULL) == VPAR_OK, "%s", vpar_last_error());
    if (a && b) {
        CHECK(vpar_egad_annotations_npairs(a) == vpar_egad_annotations_npairs(b), "pairs %zu vs %zu",
              vpar_egad_annotations_npairs(a), vpar_egad_annotations_npairs(b));
        for (size_t t = 0; t < vpar_egad_annotations_nterms(b); t++)
            CHECK(strcmp(vpar_egad_annotations_term(a, t), vpar_egad_annotations_term(b, t)) == 0,
                  "term %zu", t);
    }
    vpar_egad_annotations_destroy(a);
    vpar_egad_annotations_destroy(b);
    /* blosc (a PyTables plugin libhdf5 lacks): the filter is named, exit 2
       before anything is computed. */
    rc = egad("--annotations go.tsv --genes genes.txt --min 2 --out bl nw_int.h5 nw_blosc.h5");
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "'blosc'") && strstr(err, "nw_blosc.h5"), "blosc: exit %d: %s", rc, err);
    CHECK(access("bl/nw_int.csv", F_OK) != 0, "a network was computed before the blosc error");
    free(err);
    /* A wrong key lists the keys present. */
    rc = egad("--annotations go.tsv --nw-key network --min 2 --out wk nw_int.h5");
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "key 'network' not found (keys in the file: nw)"), "key: exit %d: %s", rc, err);
    free(err);
    rc = egad("--annotations go_bool.h5 --go-key terms --min 2 --out wk nw_int.h5");
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "key 'terms' not found (keys in the file: go)"), "go key: exit %d: %s", rc, err);
    free(err);
    /* vpar-aggregate: gene order across HDF5 networks, checked before any
       permutation (no output directory content). */
    rc = vpar_test_sh("cd '%s' && '%s' -q --annotations go.tsv --min 2 -p 2 --out agg nw_int.h5 nw_rev.h5 2> err.txt",
            dir, VPAR_AGGREGATE_EXE);
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "nw_rev.h5") && strstr(err, "same order"), "aggregate order: exit %d: %s", rc,
          err);
    CHECK(vpar_test_sh("test -z \"$(ls -A '%s/agg' 2>/dev/null)\"", dir) == 0, "aggregate wrote output");
    free(err);
    return 1;
}

/* An .npy file with descr `descr`, n x n, elements of `esz` bytes (zero). */
static void write_npy(const char *name, const char *descr, size_t n, size_t esz) {
    char header[128];
    int hl = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                      descr, n, n);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    unsigned short len = (unsigned short)(hl + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(len & 0xff, f);
    fputc(len >> 8, f);
    fwrite(header, 1, (size_t)hl, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    for (size_t i = 0; i < n * n * esz; i++) fputc(0, f);
    fclose(f);
}

/* ---- checked before computing ---- */
static void test_precheck(void) {
    /* 6 genes, two terms of 3. */
    put("pc_genes.txt", "A\nB\nC\nD\nE\nF\n");
    put("pc_genes5.txt", "A\nB\nC\nD\nE\n");
    put("pc_go.tsv", "A\tT1\nB\tT1\nC\tT1\nD\tT2\nE\tT2\nF\tT2\n");
    write_npy("ok.npy", "<f8", 6, 8);
    write_npy("half.npy", "<f2", 6, 2);
    write_npy("int.npy", "<i4", 6, 4);
    int rc = egad("--annotations pc_go.tsv --genes pc_genes5.txt --min 1 --out pc ok.npy");
    char *err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "ok.npy: network has 6 genes but the genes file pc_genes5.txt lists 5"),
          "genes length: exit %d: %s", rc, err);
    free(err);
    CHECK(access("pc/summary.csv", F_OK) != 0 || vpar_test_sh("cd '%s' && test ! -e pc/summary.csv", dir) == 0,
          "summary written");
    rc = egad("--annotations pc_go.tsv --genes pc_genes.txt --min 1 --out pc ok.npy half.npy int.npy");
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "half.npy: network dtype float16 ('<f2') is not supported by EGAD") &&
              strstr(err, "int.npy: network dtype int32 ('<i4') is not supported") &&
              !strstr(err, "<i8"),
          "dtypes: exit %d: %s", rc, err);
    free(err);
    CHECK(vpar_test_sh("test ! -e '%s/pc/ok.csv'", dir) == 0, "ok.npy computed before the dtype error");
    /* The same through vpar-aggregate (its set-up opens every network). */
    rc = vpar_test_sh("cd '%s' && '%s' -q --annotations pc_go.tsv --genes pc_genes5.txt --min 1 -p 1 --out pa ok.npy "
            "2> err.txt", dir, VPAR_AGGREGATE_EXE);
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "genes file pc_genes5.txt lists 5"), "aggregate genes: exit %d: %s", rc, err);
    free(err);
}

/* ---- GAF: NOT, --aspect, the hint; OBO propagation ---- */
static const char mini_obo[] =
    "format-version: 1.2\n\n"
    "[Term]\nid: GO:0000001\nname: root\n\n"
    "[Term]\nid: GO:0000002\nname: middle\nis_a: GO:0000001 ! root\nalt_id: GO:0000009\n\n"
    "[Term]\nid: GO:0000003\nname: leaf\nis_a: GO:0000002 ! middle\n"
    "relationship: part_of GO:0000004 ! other\nrelationship: regulates GO:0000005 ! not followed\n\n"
    "[Term]\nid: GO:0000004\nname: other\nis_a: GO:0000001 {source=\"x\"} ! root\n\n"
    "[Term]\nid: GO:0000005\nname: regulated\nis_a: GO:0000001\n\n"
    "[Typedef]\nid: part_of\nis_a: GO:0000005\n";

#define GAFL(gene, q, term, aspect) \
    "DB\t" gene "\tS\t" q "\t" term "\tREF\tIDA\t\t" aspect "\tname\t\tprotein\ttaxon:9606\t20200101\tGO\t\t\n"
static const char mini_gaf[] = "!gaf-version: 2.2\n" GAFL("G1", "", "GO:0000003", "P")
    GAFL("G2", "NOT", "GO:0000003", "P") GAFL("G3", "", "GO:0000009", "P") GAFL("G4", "", "GO:0000004", "F");

/* "G1: T T ...\n" per gene, terms in index order; and the term list. */
static char *dump(const char *gaf, const char *obo, char aspect, int gafmode, char **terms) {
    char gp[512], op[512];
    snprintf(gp, sizeof gp, "%s/%s", dir, gaf);
    snprintf(op, sizeof op, "%s/%s", dir, obo ? obo : "");
    vpar_egad_annot_desc d;
    memset(&d, 0, sizeof d);
    d.gaf = gafmode;
    d.aspect = aspect;
    d.obo = obo ? op : NULL;
    vpar_egad_annotations *a = NULL;
    if (vpar_egad_annotations_load(&a, gp, &d) != VPAR_OK) {
        if (terms) *terms = NULL;
        return NULL;
    }
    char *s = calloc(1, 4096), *t = calloc(1, 4096);
    for (size_t g = 0; g < vpar_egad_annotations_ngenes(a); g++) {
        size_t n;
        const uint32_t *ts = vpar_egad_annotations_gene_terms(a, g, &n);
        strcat(s, vpar_egad_annotations_gene(a, g));
        strcat(s, ":");
        for (size_t i = 0; i < n; i++) {
            strcat(s, " ");
            strcat(s, vpar_egad_annotations_term(a, ts[i]));
        }
        strcat(s, "\n");
    }
    for (size_t i = 0; i < vpar_egad_annotations_nterms(a); i++) {
        strcat(t, vpar_egad_annotations_term(a, i));
        strcat(t, " ");
    }
    vpar_egad_annotations_destroy(a);
    if (terms) *terms = t;
    else free(t);
    return s;
}

static void test_gaf_obo(void) {
    put("mini.gaf", mini_gaf);
    put("mini.obo", mini_obo);
    /* Raw GAF: NOT skipped, nothing propagated. */
    char *terms = NULL, *got = dump("mini.gaf", NULL, 0, 1, NULL);
    CHECK(got && strcmp(got, "G1: GO:0000003\nG3: GO:0000009\nG4: GO:0000004\n") == 0, "raw: %s", got);
    free(got);
    /* Propagated (worked out by hand from mini_obo): GO:3 -> is_a GO:2 ->
       GO:1, part_of GO:4 -> GO:1; `regulates` and the Typedef's is_a are
       not followed; GO:9 is an alt_id of GO:2. Terms numbered: the file's
       in order of appearance, then the ones reached (GO:2, GO:1). */
    got = dump("mini.gaf", "mini.obo", 0, 1, &terms);
    CHECK(got && strcmp(got, "G1: GO:0000003 GO:0000004 GO:0000002 GO:0000001\n"
                             "G3: GO:0000002 GO:0000001\nG4: GO:0000004 GO:0000001\n") == 0, "obo: %s", got);
    CHECK(terms && strcmp(terms, "GO:0000003 GO:0000009 GO:0000004 GO:0000002 GO:0000001 ") == 0, "order: %s",
          terms);
    free(got);
    free(terms);
    /* --aspect P drops G4's F line; GO:4 is then reached from GO:3. */
    got = dump("mini.gaf", "mini.obo", 'P', 1, &terms);
    CHECK(got && strcmp(got, "G1: GO:0000003 GO:0000002 GO:0000001 GO:0000004\n"
                             "G3: GO:0000002 GO:0000001\n") == 0, "aspect P: %s", got);
    free(got);
    free(terms);
    got = dump("mini.gaf", NULL, 'F', 1, NULL);
    CHECK(got && strcmp(got, "G4: GO:0000004\n") == 0, "aspect F: %s", got);
    free(got);
    /* Without --gaf: the hint. */
    got = dump("mini.gaf", NULL, 0, 0, NULL);
    CHECK(!got && strstr(vpar_last_error(), "looks like a GAF file") && strstr(vpar_last_error(), "--gaf"),
          "hint: %s", vpar_last_error());
    put("nohead.gaf", mini_gaf + strlen("!gaf-version: 2.2\n"));
    got = dump("nohead.gaf", NULL, 0, 0, NULL);
    CHECK(!got && strstr(vpar_last_error(), "--gaf"), "hint without header: %s", vpar_last_error());
    /* Not an ontology; an ontology of other IDs. */
    put("bad.obo", "format-version: 1.2\nid: GO:1\n");
    got = dump("mini.gaf", "bad.obo", 0, 1, NULL);
    CHECK(!got && strstr(vpar_last_error(), "bad.obo") && strstr(vpar_last_error(), "[Term]"), "%s",
          vpar_last_error());
    put("other.obo", "[Term]\nid: HP:1\n\n[Term]\nid: HP:2\nis_a: HP:1\n");
    got = dump("mini.gaf", "other.obo", 0, 1, NULL);
    CHECK(!got && strstr(vpar_last_error(), "none of its 3 terms"), "%s", vpar_last_error());
    /* The programs: the hint exits 2; --aspect needs --gaf; bad aspect. */
    int rc = egad("--annotations mini.gaf --genes pc_genes.txt --out g ok.npy");
    char *err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "add --gaf"), "cli hint: exit %d: %s", rc, err);
    free(err);
    rc = egad("--annotations mini.gaf --aspect P --genes pc_genes.txt --out g ok.npy");
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "--aspect") && strstr(err, "--gaf"), "cli aspect: exit %d: %s", rc, err);
    free(err);
    /* GO's files to a run: GAF + OBO give what the propagated TSV (by
       hand, same term order) gives. */
    put("six.gaf", "!gaf-version: 2.2\n" GAFL("A", "", "GO:0000003", "P") GAFL("B", "", "GO:0000003", "P")
                   GAFL("C", "", "GO:0000004", "P") GAFL("D", "", "GO:0000002", "P")
                   GAFL("E", "NOT", "GO:0000002", "P") GAFL("F", "", "GO:0000005", "P"));
    /* Order: the GAF's terms as they appear (GO:3 GO:4 GO:2 GO:5), then
       GO:1, first reached from GO:3. E is NOT-only: not annotated. */
    put("six.tsv", "A\tGO:0000003\nA\tGO:0000004\nA\tGO:0000002\nF\tGO:0000005\nA\tGO:0000001\n"
                   "B\tGO:0000003\nB\tGO:0000004\nB\tGO:0000002\nB\tGO:0000001\nC\tGO:0000004\n"
                   "C\tGO:0000001\nD\tGO:0000002\nD\tGO:0000001\nF\tGO:0000001\n");
    rc = egad("--annotations six.gaf --gaf --obo mini.obo --genes pc_genes.txt --min 1 --out gaf ok.npy");
    err = slurp("err.txt");
    CHECK(rc == 0, "gaf+obo run: exit %d: %s", rc, err);
    free(err);
    rc = egad("--annotations six.tsv --genes pc_genes.txt --min 1 --out tsv ok.npy");
    CHECK(rc == 0, "tsv run: exit %d", rc);
    CHECK(same_file("gaf/ok.csv", "tsv/ok.csv"), "GAF + OBO differs from the propagated TSV");
    got = slurp("gaf/ok.csv");
    /* Sizes 2, 3, 3, 1, 5 in a universe of 5 (A B C D F): --min 1 drops
       GO:5; GO:1 holds every gene, so no negatives: NaN. */
    CHECK(strncmp(got, "term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value\nGO:0000003,", 60) == 0 &&
              strstr(got, "\nGO:0000004,") && strstr(got, "\nGO:0000002,") && strstr(got, "\nGO:0000001,NaN,") &&
              !strstr(got, "GO:0000005"), "kept terms: %s", got);
    free(got);
    rc = egad("--annotations mini.gaf --gaf --aspect X --genes pc_genes.txt --out g ok.npy");
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "--aspect 'X'"), "cli aspect X: exit %d: %s", rc, err);
    free(err);
}

/* No argument: the checks before computing and GAF/OBO. "hdf5": the
   pandas HDF5 frames only (exit 77 when HDF5 or pandas is missing). */
int main(int argc, char **argv) {
    int h5 = argc > 1 && strcmp(argv[1], "hdf5") == 0;
    snprintf(dir, sizeof dir, "/tmp/vpar_egad_inputs_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    if (h5) {
        if (!test_hdf5() && !failures) {
            vpar_test_sh("rm -rf '%s'", dir);
            return 77;
        }
    } else {
        test_precheck();
        test_gaf_obo();
    }
    if (!failures) vpar_test_sh("rm -rf '%s'", dir);
    else fprintf(stderr, "files kept in %s\n", dir);
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
