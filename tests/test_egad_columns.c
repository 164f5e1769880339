/* Annotation columns chosen by a header's names (issue 15): pandas'
   default to_csv writes the index as a first, unnamed column
   ("\tgene\tterm"); its row numbers must not be read as genes. Also: a
   header that names the gene column elsewhere than the columns the user
   chose is an error naming the option; all-numeric "terms" are an error;
   GAF lines qualified NOT are skipped with --gaf; --nfold 1 is refused.
   Expected results are the same pairs written in the plain layout. */
#include "vpar.h"
#include "egad.h"
#include "vpar_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *write_tmp(const char *name, const char *text) {
    static char path[8][256];
    static int slot;
    char *p = path[slot++ & 7];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

/* The pairs of a loaded set as "gene term" lines in load order. */
static char *pairs_text(const vpar_egad_annotations *a) {
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    s[0] = '\0';
    for (size_t g = 0; g < vpar_egad_annotations_ngenes(a); g++) {
        size_t n;
        const uint32_t *t = vpar_egad_annotations_gene_terms(a, g, &n);
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(s + len, cap - len, "%s %s\n", vpar_egad_annotations_gene(a, g),
                                    vpar_egad_annotations_term(a, t[i]));
    }
    return s;
}

static char *load_pairs(const char *path, const vpar_egad_annot_desc *d) {
    vpar_egad_annotations *a = NULL;
    vpar_status st = vpar_egad_annotations_load(&a, path, d);
    ck_assert_msg(st == VPAR_OK, "%s: %s", path, vpar_last_error());
    char *s = pairs_text(a);
    vpar_egad_annotations_destroy(a);
    return s;
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/vpar_egad_cols_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

START_TEST(test_header_names_choose_columns) {
    setup();
    const char *plain = write_tmp("plain.tsv", "gene\tterm\nG1\tGO:1\nG2\tGO:1\nG2\tGO:2\n");
    /* pandas df.to_csv(sep='\t') with the default index */
    const char *pandas = write_tmp("pandas.tsv", "\tgene\tterm\n0\tG1\tGO:1\n1\tG2\tGO:1\n2\tG2\tGO:2\n");
    const char *swapped = write_tmp("swapped.tsv", "go_id\tentrez_id\nGO:1\tG1\nGO:1\tG2\nGO:2\tG2\n");
    char *want = load_pairs(plain, NULL);
    ck_assert_str_eq(want, "G1 GO:1\nG2 GO:1\nG2 GO:2\n");
    char *got = load_pairs(pandas, NULL);
    ck_assert_str_eq(got, want);
    free(got);
    got = load_pairs(swapped, NULL);
    ck_assert_str_eq(got, want);
    free(got);
    /* An explicit --header still takes the names. */
    vpar_egad_annot_desc d = {0};
    d.header = 1;
    got = load_pairs(pandas, &d);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    teardown();
}
END_TEST

START_TEST(test_header_disagreeing_with_given_columns) {
    setup();
    const char *pandas = write_tmp("pandas.tsv", "\tgene\tterm\n0\tG1\tGO:1\n1\tG2\tGO:1\n");
    vpar_egad_annot_desc d = {0};
    d.gene_col = 0;
    d.term_col = 1;
    d.columns_given = 1; /* --gene-col 1 --term-col 2 */
    vpar_egad_annotations *a = NULL;
    ck_assert_int_eq(vpar_egad_annotations_load(&a, pandas, &d), VPAR_ERR_FORMAT);
    const char *e = vpar_last_error();
    ck_assert_msg(strstr(e, "pandas.tsv:1:") && strstr(e, "'gene' as column 2") &&
                  strstr(e, "--gene-col"), "%s", e);
    /* A header naming only the gene column, elsewhere: which option to use. */
    const char *odd = write_tmp("odd.tsv", "x\tgene\tfoo\nA\tG1\tGO:1\n");
    ck_assert_int_eq(vpar_egad_annotations_load(&a, odd, NULL), VPAR_ERR_FORMAT);
    e = vpar_last_error();
    ck_assert_msg(strstr(e, "no term column") && strstr(e, "--gene-col N --term-col M"), "%s", e);
    teardown();
}
END_TEST

START_TEST(test_numeric_terms_refused) {
    setup();
    /* No header: pandas' index column taken as genes, gene IDs as terms. */
    const char *idx = write_tmp("idx.tsv", "0\t101\tGO:1\n1\t102\tGO:1\n2\t102\tGO:2\n");
    vpar_egad_annotations *a = NULL;
    ck_assert_int_eq(vpar_egad_annotations_load(&a, idx, NULL), VPAR_ERR_FORMAT);
    ck_assert_msg(strstr(vpar_last_error(), "every term in column 2 is a number"), "%s",
                  vpar_last_error());
    /* The same file with the right columns chosen loads. */
    vpar_egad_annot_desc d = {0};
    d.gene_col = 1;
    d.term_col = 2;
    d.columns_given = 1;
    char *got = load_pairs(idx, &d);
    ck_assert_str_eq(got, "101 GO:1\n102 GO:1\n102 GO:2\n");
    free(got);
    teardown();
}
END_TEST

START_TEST(test_gaf_not_skipped) {
    setup();
    const char *gaf = write_tmp("x.gaf",
        "!gaf-version: 2.2\n"
        "UniProtKB\tP1\tA\tenables\tGO:1\tPMID:1\tIDA\t\tF\t\t\tprotein\ttaxon:9606\t20200101\tX\n"
        "UniProtKB\tP2\tB\tNOT|enables\tGO:1\tPMID:1\tIDA\t\tF\t\t\tprotein\ttaxon:9606\t20200101\tX\n"
        "UniProtKB\tP2\tB\tinvolved_in\tGO:2\tPMID:1\tIDA\t\tP\t\t\tprotein\ttaxon:9606\t20200101\tX\n"
        "UniProtKB\tP3\tC\tNOT\tGO:2\tPMID:1\tIDA\t\tP\t\t\tprotein\ttaxon:9606\t20200101\tX\n"
        "UniProtKB\tP3\tC\tNOTE_like\tGO:3\tPMID:1\tIDA\t\tP\t\t\tprotein\ttaxon:9606\t20200101\tX\n");
    vpar_egad_annot_desc d = {0};
    d.gene_col = 1;
    d.term_col = 4;
    d.columns_given = 1;
    d.gaf = 1; /* --gaf */
    char *got = load_pairs(gaf, &d);
    ck_assert_str_eq(got, "P1 GO:1\nP2 GO:2\nP3 GO:3\n");
    free(got);
    d.gaf = 0; /* the same columns without --gaf: NOT lines count */
    got = load_pairs(gaf, &d);
    ck_assert_str_eq(got, "P1 GO:1\nP2 GO:1\nP2 GO:2\nP3 GO:2\nP3 GO:3\n");
    free(got);
    teardown();
}
END_TEST

START_TEST(test_nfold_one_refused) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --annotations /dev/null --nfold 1 x.npy 2>/dev/null", VPAR_EGAD_EXE);
    int rc = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(rc), 2);
    snprintf(cmd, sizeof cmd, "'%s' --annotations /dev/null --nfold 1 x.npy 2>&1 | grep -q \"'1': expected an integer >= 2\"",
             VPAR_EGAD_EXE);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("egad_columns");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_header_names_choose_columns);
    tcase_add_test(tc, test_header_disagreeing_with_given_columns);
    tcase_add_test(tc, test_numeric_terms_refused);
    tcase_add_test(tc, test_gaf_not_skipped);
    tcase_add_test(tc, test_nfold_one_refused);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
