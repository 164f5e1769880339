/* The README's example, compiled and run by ctest (readme_example) so the
   README stays true: load a square .npy network, column sums (degrees),
   rank-standardize it in place on the default thread pool, write it back. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s IN.npy OUT.npy\n", argv[0]); return 2; }
    vpar_npy net;                                          /* mmap, private copy-on-write */
    if (vpar_npy_open(&net, argv[1], VPAR_NPY_WRITABLE) != VPAR_OK) {
        fprintf(stderr, "%s\n", vpar_last_error());       /* names the file + problem */
        return 1;
    }
    size_t n = net.shape[0];
    double *degree = malloc(n * sizeof *degree);
    vpar_status st = VPAR_OK;
    if (!degree) st = vpar_fail(VPAR_ERR_NOMEM, "out of memory");
    if (st == VPAR_OK && (net.dtype != VPAR_DTYPE_F64 || net.ndim != 2 || net.shape[1] != n))
        st = vpar_fail(VPAR_ERR_SHAPE, "%s: need a square float64 matrix", argv[1]);
    if (st == VPAR_OK) st = vpar_colsums_f64(net.data, n, n, n, degree);        /* SIMD */
    if (st == VPAR_OK) st = vpar_rank_standardize_f64(net.data, net.count,      /* threads */
                                                      vpar_pool_default());
    if (st == VPAR_OK) st = vpar_npy_write(argv[2], net.data, VPAR_DTYPE_F64, 2, net.shape);
    if (st == VPAR_OK) printf("degree of gene 0: %g; ranked %zu x %zu\n", n ? degree[0] : 0.0, n, n);
    else fprintf(stderr, "%s\n", vpar_last_error());
    free(degree);
    vpar_npy_close(&net);
    return st == VPAR_OK ? 0 : 1;
}
