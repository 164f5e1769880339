/* Fuzz target: the .npy reader (vpar/npy.h). Each input is tried twice:
   - as an in-memory image by vpar_npy_parse_header, whose result must then
     be consistent (offset within the input, 1-D or 2-D, count = product of
     the shape, nbytes = count * element size); when the data is present
     it is converted with vpar_npy_to_f64, touching every element;
   - as a file by vpar_npy_open (through a memfd, with and without
     VPAR_NPY_WRITABLE), which must agree with the header parse and map
     exactly the data; then vpar_npy_close.
   Every failure must set an error detail that names the input. */
#define VPAR_IMPLEMENTATION
#include "vpar/npy.h"
#include "../vpar_test_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond) VPAR_FUZZ_CHECK("fuzz_npy", cond)

/* Largest data converted per input: keeps each execution fast. */
#define MAX_CONVERT ((size_t)1 << 16)

static void check_header(const vpar_npy *a, size_t off, size_t size) {
    CHECK(off <= size);
    CHECK(a->ndim == 1 || a->ndim == 2);
    CHECK(a->ndim == 2 || a->shape[1] == 1);
    CHECK(a->count == a->shape[0] * a->shape[1]);
    CHECK(a->nbytes == a->count * vpar_dtype_size(a->dtype));
    CHECK(vpar_dtype_size(a->dtype) >= 1 && vpar_dtype_size(a->dtype) <= 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vpar_npy a;
    size_t off = 0;
    vpar_clear_error();
    vpar_status st = vpar_npy_parse_header(data, size, "fuzz.npy", &a, &off);
    if (st != VPAR_OK) {
        CHECK(strncmp(vpar_last_error(), "fuzz.npy: ", 10) == 0);
    } else {
        check_header(&a, off, size);
        if (a.nbytes <= size - off && a.count <= MAX_CONVERT) {
            /* Aligned copy of the data, as vpar_npy_open provides. */
            void *copy = malloc(a.nbytes ? a.nbytes : 1);
            double *out = (double *)malloc((a.count ? a.count : 1) * sizeof(double));
            CHECK(copy && out);
            memcpy(copy, data + off, a.nbytes);
            a.data = copy;
            vpar_npy_to_f64(&a, out);
            free(out);
            free(copy);
        }
    }

    /* The same bytes as a file. */
    const char *path = vpar_fuzz_input_path("fuzz_npy", data, size);
    for (int flags = 0; flags <= VPAR_NPY_WRITABLE; flags += VPAR_NPY_WRITABLE) {
        vpar_npy f;
        vpar_clear_error();
        vpar_status fst = vpar_npy_open(&f, path, flags);
        if (fst != VPAR_OK) {
            CHECK(strncmp(vpar_last_error(), path, strlen(path)) == 0);
            /* A complete image that parses must also open. */
            CHECK(!(st == VPAR_OK && a.nbytes <= size - off && size > 0));
            CHECK(f.data == NULL && f.vpar__map == NULL && f.vpar__owned == NULL);
            continue;
        }
        CHECK(st == VPAR_OK);
        check_header(&f, off, size);
        CHECK(f.dtype == a.dtype && f.shape[0] == a.shape[0] && f.shape[1] == a.shape[1]);
        CHECK(f.nbytes <= size - off);
        CHECK(f.nbytes == 0 || memcmp(f.data, data + off, f.nbytes) == 0);
        CHECK((uintptr_t)f.data % vpar_dtype_size(f.dtype) == 0);
        if (flags & VPAR_NPY_WRITABLE && f.nbytes) ((unsigned char *)f.data)[0] ^= 1;
        vpar_npy_close(&f);
        CHECK(f.data == NULL);
    }
    return 0;
}
