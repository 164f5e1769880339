/* Fuzz target: vpar-aggregate's --order file reader vpar_agg_read_order
   (examples/aggregate/aggregate_io.c) for four networks given as paths
   with and without directories. The input is the file, passed through a
   memfd. A success must give a permutation of 0..3; a failure must name
   the file. */
#define VPAR_IMPLEMENTATION
#include "vpar/common.h"
#include "aggregate_io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_aggregate_order: invariant failed: %s (line %d)\n", #cond, \
                    __LINE__);                                                               \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const nets[4] = {"data/nw_00.npy", "nw_01.npy", "x/y/nw_02.npy", "nw_03.npy"};
    if (memfd < 0) {
        memfd = memfd_create("fuzz_aggregate_order", 0);
        CHECK(memfd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    }
    CHECK(ftruncate(memfd, 0) == 0);
    CHECK(size == 0 || pwrite(memfd, data, size, 0) == (ssize_t)size);
    size_t order[4] = {9, 9, 9, 9};
    vpar_status st = vpar_agg_read_order(path, nets, 4, order);
    if (st == VPAR_OK) {
        int seen[4] = {0, 0, 0, 0};
        for (int i = 0; i < 4; i++) {
            CHECK(order[i] < 4);
            CHECK(!seen[order[i]]);
            seen[order[i]] = 1;
        }
    } else {
        CHECK(strstr(vpar_last_error(), path) != NULL);
    }
    return 0;
}
