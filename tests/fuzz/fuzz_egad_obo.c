/* Fuzz target: the OBO ontology reader behind --obo (examples/egad/obo.c).
   The input is an .obo file's text. A success must give a consistent
   graph: every ID findable (an alt_id gives its primary term, which finds
   itself), and for every term an ancestor walk that ends (cycles are in
   the input space) listing distinct terms in range, never the term
   itself. A failure must name the input. */
#include "vpar.h"
#include "egad_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_egad_obo: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vpar__egad_obo *o = NULL;
    vpar_status st = vpar__egad_obo_parse(&o, (const char *)data, size, "fuzz.obo");
    if (st != VPAR_OK) {
        CHECK(o == NULL);
        CHECK(strstr(vpar_last_error(), "fuzz.obo") != NULL);
        return 0;
    }
    size_t n = vpar__egad_obo_nterms(o);
    CHECK(n > 0);
    uint32_t *mark = (uint32_t *)calloc(n, sizeof *mark), *out = (uint32_t *)malloc(n * sizeof *out);
    uint32_t *stack = (uint32_t *)malloc(n * sizeof *stack), *seen = (uint32_t *)calloc(n, sizeof *seen);
    uint32_t stamp = 0;
    CHECK(mark && out && stack && seen);
    for (size_t i = 0; i < n; i++) {
        const char *id = vpar__egad_obo_id(o, i);
        CHECK(id && id[0]);
        long p = vpar__egad_obo_find(o, id, strlen(id));
        CHECK(p >= 0 && (size_t)p < n);
        const char *pid = vpar__egad_obo_id(o, (size_t)p);
        CHECK(vpar__egad_obo_find(o, pid, strlen(pid)) == p);
        size_t k = vpar__egad_obo_ancestors(o, i, out, mark, &stamp, stack);
        CHECK(k < n);
        for (size_t j = 0; j < k; j++) {
            CHECK(out[j] < n && out[j] != i);
            CHECK(seen[out[j]] != i + 1); /* distinct */
            seen[out[j]] = (uint32_t)(i + 1);
        }
    }
    CHECK(vpar__egad_obo_id(o, n) == NULL);
    free(mark);
    free(out);
    free(stack);
    free(seen);
    vpar__egad_obo_free(o);
    return 0;
}
