/* Fuzz target: the genes list reader vpar_egad_read_genes (examples/egad/
   csv.c on examples/common's file and line reading, gzip detected from the
   content). The input is the file, passed through a memfd. A success must
   give n >= 1 non-empty IDs without line breaks, a NULL after the last;
   a failure must name the file. */
#include "vpar.h"
#include "egad.h"
#include "../vpar_test_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond) VPAR_FUZZ_CHECK("fuzz_egad_genes", cond)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = vpar_fuzz_input_path("fuzz_egad_genes", data, size);
    char **genes = NULL;
    size_t n = 0;
    vpar_status st = vpar_egad_read_genes(path, &genes, &n);
    if (st == VPAR_OK) {
        CHECK(n >= 1 && genes);
        for (size_t i = 0; i < n; i++) {
            CHECK(genes[i] && genes[i][0]);
            CHECK(strchr(genes[i], '\n') == NULL);
        }
        CHECK(genes[n] == NULL);
        VPAR_FREE(genes);
    } else {
        CHECK(genes == NULL && n == 0);
        CHECK(strstr(vpar_last_error(), path) != NULL);
    }
    return 0;
}
