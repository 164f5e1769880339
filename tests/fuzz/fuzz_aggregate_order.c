/* Fuzz target: vpar-aggregate's --order file reader vpar_agg_read_order
   (examples/aggregate/aggregate_io.c) for four networks given as paths
   with and without directories. The input is the file, passed through a
   memfd. A success must give a permutation of 0..3; a failure must name
   the file. */
#define VPAR_IMPLEMENTATION
#include "vpar/common.h"
#include "aggregate_io.h"
#include "../vpar_test_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond) VPAR_FUZZ_CHECK("fuzz_aggregate_order", cond)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const nets[4] = {"data/nw_00.npy", "nw_01.npy", "x/y/nw_02.npy", "nw_03.npy"};
    const char *path = vpar_fuzz_input_path("fuzz_aggregate_order", data, size);
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
