/* Writes arrays following tests/data/npy/make_npy.py's formulas, for the
   numpy cross-check (tests/npy_numpy_check.py). */
#include "vpar.h"
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: npy_write_sample DIR\n"); return 2; }
    char path[4096];
    double d[12]; float f[12]; int32_t i4[12]; int64_t i8[12]; uint8_t u1[12], b1[12];
    for (int i = 0; i < 12; i++) {
        d[i] = (i - 5) * 0.25; f[i] = (float)d[i];
        i4[i] = (i - 5) * 1000003; i8[i] = (int64_t)(i - 5) * 1000003;
        u1[i] = (uint8_t)((7 * i) % 256); b1[i] = i % 3 == 0;
    }
    size_t shape[2] = {3, 4};
    struct { const char *tag; const void *p; vpar_dtype t; } all[] = {
        {"f8", d, VPAR_DTYPE_F64}, {"f4", f, VPAR_DTYPE_F32}, {"i4", i4, VPAR_DTYPE_I32},
        {"i8", i8, VPAR_DTYPE_I64}, {"u1", u1, VPAR_DTYPE_U8}, {"b1", b1, VPAR_DTYPE_BOOL}};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        snprintf(path, sizeof path, "%s/%s_2d.npy", argv[1], all[k].tag);
        if (vpar_npy_write(path, all[k].p, all[k].t, 2, shape) != VPAR_OK) {
            fprintf(stderr, "%s\n", vpar_last_error());
            return 1;
        }
    }
    return 0;
}
