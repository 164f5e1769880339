/* Fuzz target: the EGAD annotation reader (examples/egad/annotations.c,
   TSV and GAF lines). The first byte chooses the gene and term columns
   (0-3, distinct) and the header mode (auto, none, present); the rest is
   the file's text, parsed by vpar__egad_annotations_parse exactly as
   vpar_egad_annotations_load does after reading a file. A success must
   give consistent tables (every gene findable under its own index, each
   gene's terms ascending, distinct and in range, pairs = sum of them); a
   failure must name the input. */
#include "vpar.h"
#include "egad_internal.h"
#include "../vpar_test_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) VPAR_FUZZ_CHECK("fuzz_egad_annotations", cond)

static void check_tables(const vpar_egad_annotations *a) {
    size_t ng = vpar_egad_annotations_ngenes(a), nt = vpar_egad_annotations_nterms(a), pairs = 0;
    CHECK(ng > 0 && nt > 0);
    for (size_t g = 0; g < ng; g++) {
        const char *id = vpar_egad_annotations_gene(a, g);
        CHECK(id && id[0]);
        CHECK(vpar_egad_annotations_find_gene(a, id) == (long)g);
        size_t cnt;
        const uint32_t *t = vpar_egad_annotations_gene_terms(a, g, &cnt);
        for (size_t k = 0; k < cnt; k++) {
            CHECK(t[k] < nt);
            CHECK(k == 0 || t[k] > t[k - 1]);
        }
        pairs += cnt;
    }
    for (size_t t = 0; t < nt; t++) CHECK(vpar_egad_annotations_term(a, t) != NULL);
    CHECK(pairs == vpar_egad_annotations_npairs(a));
    CHECK(vpar_egad_annotations_gene(a, ng) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    /* The first byte chooses the options: columns, header mode, whether the
       columns were given (else a header's names choose them), GAF NOT. */
    int gcol = data[0] & 3, tcol = (data[0] >> 2) & 3, header = (data[0] >> 4) % 3 - 1;
    int given = (data[0] >> 6) & 1, gaf = (data[0] >> 7) & 1;
    if (tcol == gcol) tcol = (gcol + 1) & 3;
    vpar_egad_annotations *a = NULL;
    vpar_status st = vpar__egad_annotations_parse2(&a, (const char *)data + 1, size - 1, gcol, tcol,
                                                   header, given, gaf, "fuzz.tsv");
    if (st == VPAR_OK) {
        check_tables(a);
        vpar_egad_annotations_destroy(a);
    } else {
        CHECK(a == NULL);
        CHECK(strstr(vpar_last_error(), "fuzz.tsv") != NULL);
    }
    return 0;
}
