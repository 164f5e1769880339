/* Fuzz target: the genes list reader vpar_egad_read_genes (examples/egad/
   csv.c on examples/common's file and line reading, gzip detected from the
   content). The input is the file, passed through a memfd. A success must
   give n >= 1 non-empty IDs without line breaks, a NULL after the last;
   a failure must name the file. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "egad.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz_egad_genes: invariant failed: %s (line %d)\n", #cond, \
                    __LINE__);                                                          \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (memfd < 0) {
        memfd = memfd_create("fuzz_egad_genes", 0);
        CHECK(memfd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    }
    CHECK(ftruncate(memfd, 0) == 0);
    CHECK(size == 0 || pwrite(memfd, data, size, 0) == (ssize_t)size);
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
