/* Fuzz target: the pandas HDF5 frame reader (examples/egad/hdf5.c). The
   input is an HDF5 file: written to a temporary file (libhdf5 reads
   files) and opened as vpar-egad does, with the frame key "nw" and then
   "go": the metadata checks (keys, labels of strings or integers, one
   values block, its type, shape and filters) through
   vpar_egad_hdf5_frame_info, and for small frames the values through
   vpar_egad_hdf5_read_frame, which must agree with it. A failure must
   name the file. Parsing the file format itself is libhdf5's. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "egad.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_egad_hdf5: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static char tmp_path[64];

static void frame(const char *key) {
    vpar_dtype dt = VPAR_DTYPE_F64, dt2 = VPAR_DTYPE_F64;
    size_t rows = 0, cols = 0, r2 = 0, c2 = 0;
    char **rn = NULL, **cn = NULL, **rn2 = NULL, **cn2 = NULL;
    void *v = NULL;
    vpar_status st = vpar_egad_hdf5_frame_info(tmp_path, key, &dt, &rows, &cols, &rn, &cn);
    if (st != VPAR_OK) {
        CHECK(rn == NULL && cn == NULL);
        CHECK(strstr(vpar_last_error(), tmp_path) != NULL);
        return;
    }
    CHECK(dt == VPAR_DTYPE_F32 || dt == VPAR_DTYPE_F64 || dt == VPAR_DTYPE_U8);
    for (size_t i = 0; i < rows; i++) CHECK(rn[i] != NULL);
    for (size_t j = 0; j < cols; j++) CHECK(cn[j] != NULL);
    if (rows * cols <= 65536) {
        st = vpar_egad_hdf5_read_frame(tmp_path, key, &v, &dt2, &r2, &c2, &rn2, &cn2);
        if (st == VPAR_OK) {
            CHECK(dt2 == dt && r2 == rows && c2 == cols);
            for (size_t i = 0; i < rows; i++) CHECK(strcmp(rn[i], rn2[i]) == 0);
            if (dt == VPAR_DTYPE_U8)
                for (size_t i = 0; i < rows * cols; i++) CHECK(((unsigned char *)v)[i] <= 1);
        } else {
            CHECK(strstr(vpar_last_error(), tmp_path) != NULL);
        }
    }
    VPAR_FREE(v);
    VPAR_FREE(rn);
    VPAR_FREE(cn);
    VPAR_FREE(rn2);
    VPAR_FREE(cn2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tmp_path[0]) {
        snprintf(tmp_path, sizeof tmp_path, "/tmp/fuzz_egad_hdf5_XXXXXX");
        int fd = mkstemp(tmp_path);
        if (fd < 0) abort();
        close(fd);
    }
    FILE *f = fopen(tmp_path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    frame("nw");
    frame("go");
    return 0;
}
