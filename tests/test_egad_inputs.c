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
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "egad.h"

#include <stdarg.h>
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

static int sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

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
    return sh("cd '%s' && '%s' -q %s 2> err.txt", dir, VPAR_EGAD_EXE, args);
}

static int same_file(const char *a, const char *b) {
    return sh("cmp -s '%s/%s' '%s/%s'", dir, a, dir, b) == 0;
}

/* ---- HDF5 frames as pandas writes them ---- */
static int test_hdf5(void) {
    if (!vpar_egad_have_hdf5()) {
        printf("SKIP hdf5: built without HDF5\n");
        return 0;
    }
    int rc = sh("/usr/bin/python3 '%s' '%s' > '%s/py.txt' 2>&1", VPAR_INPUTS_MAKE, dir, dir);
    if (rc == 77 || rc == 127) {
        char *m = slurp("py.txt");
        printf("SKIP hdf5: no pandas/PyTables (%s)\n", m);
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
    rc = sh("cd '%s' && '%s' -q --annotations go.tsv --min 2 -p 2 --out agg nw_int.h5 nw_rev.h5 2> err.txt",
            dir, VPAR_AGGREGATE_EXE);
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "nw_rev.h5") && strstr(err, "same order"), "aggregate order: exit %d: %s", rc,
          err);
    CHECK(sh("test -z \"$(ls -A '%s/agg' 2>/dev/null)\"", dir) == 0, "aggregate wrote output");
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
    CHECK(access("pc/summary.csv", F_OK) != 0 || sh("cd '%s' && test ! -e pc/summary.csv", dir) == 0,
          "summary written");
    rc = egad("--annotations pc_go.tsv --genes pc_genes.txt --min 1 --out pc ok.npy half.npy int.npy");
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "half.npy: network dtype float16 ('<f2') is not supported by EGAD") &&
              strstr(err, "int.npy: network dtype int32 ('<i4') is not supported") &&
              !strstr(err, "<i8"),
          "dtypes: exit %d: %s", rc, err);
    free(err);
    CHECK(sh("test ! -e '%s/pc/ok.csv'", dir) == 0, "ok.npy computed before the dtype error");
    /* The same through vpar-aggregate (its set-up opens every network). */
    rc = sh("cd '%s' && '%s' -q --annotations pc_go.tsv --genes pc_genes5.txt --min 1 -p 1 --out pa ok.npy "
            "2> err.txt", dir, VPAR_AGGREGATE_EXE);
    err = slurp("err.txt");
    CHECK(rc == 2 && strstr(err, "genes file pc_genes5.txt lists 5"), "aggregate genes: exit %d: %s", rc, err);
    free(err);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/vpar_egad_inputs_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_precheck();
    test_hdf5();
    if (!failures) sh("rm -rf '%s'", dir);
    else fprintf(stderr, "files kept in %s\n", dir);
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
