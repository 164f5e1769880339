/* examples/egad/network.c — opening a network input (.npy or pandas HDF5)
   with the checks both vpar-egad and vpar-aggregate need (egad.h). */
#include "egad_internal.h"

#include <string.h>

/* The HDF5 frame: square, float, row labels == column labels (== genes
   when given). */
static vpar_status vpar__egad_open_h5(vpar_egad_network *net, const char *path, const char *key,
                                      const char *const *genes, size_t ngenes) {
    size_t rows = 0, cols = 0;
    vpar_status st = vpar_egad_hdf5_read_frame(path, key ? key : "nw", &net->owned, &net->dtype,
                                               &rows, &cols, &net->rows, &net->cols);
    if (st != VPAR_OK) return st;
    if (rows != cols)
        return vpar_fail(VPAR_ERR_SHAPE, "%s: network is %zu x %zu, not square", path, rows, cols);
    if (net->dtype != VPAR_DTYPE_F32 && net->dtype != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: network values must be float32 or float64", path);
    if (genes && rows != ngenes)
        return vpar_fail(VPAR_ERR_SHAPE, "%s: network has %zu genes, the other inputs %zu", path,
                         rows, ngenes);
    for (size_t i = 0; i < rows; i++) {
        if (strcmp(net->rows[i], net->cols[i]) != 0)
            return vpar_fail(VPAR_ERR_FORMAT, "%s: row and column labels differ at %zu ('%s' vs '%s')",
                             path, i, net->rows[i], net->cols[i]);
        if (genes && strcmp(net->rows[i], genes[i]) != 0)
            return vpar_fail(VPAR_ERR_FORMAT,
                             "%s: gene %zu is '%s' but '%s' in the other inputs: aggregated "
                             "networks must list the same genes in the same order",
                             path, i, net->rows[i], genes[i]);
    }
    net->w = net->owned;
    net->n = rows;
    net->genes = (const char *const *)net->rows;
    return VPAR_OK;
}

/* The .npy file: mapped, square, float, as many rows as genes. */
static vpar_status vpar__egad_open_npy(vpar_egad_network *net, const char *path,
                                       const char *const *genes, size_t ngenes) {
    if (!genes)
        return vpar_fail(VPAR_ERR_INVALID, "%s: .npy networks need a genes file (--genes)", path);
    vpar_status st = vpar_npy_open(&net->npy, path, 0);
    if (st != VPAR_OK) return st;
    const vpar_npy *a = &net->npy;
    if (a->ndim != 2 || a->shape[0] != a->shape[1])
        return vpar_fail(VPAR_ERR_SHAPE, "%s: network is %zu x %zu, not square", path, a->shape[0],
                         a->ndim == 2 ? a->shape[1] : (size_t)1);
    if (a->dtype != VPAR_DTYPE_F32 && a->dtype != VPAR_DTYPE_F64)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: network dtype %s; EGAD needs float32 or float64",
                         path, vpar_dtype_descr(a->dtype));
    if (a->shape[0] != ngenes)
        return vpar_fail(VPAR_ERR_SHAPE, "%s: network has %zu genes but the genes file lists %zu",
                         path, a->shape[0], ngenes);
    net->w = a->data;
    net->dtype = a->dtype;
    net->n = a->shape[0];
    net->genes = genes;
    return VPAR_OK;
}

vpar_status vpar_egad_network_open(vpar_egad_network *net, const char *path, const char *key,
                                   const char *const *genes, size_t ngenes) {
    if (!net || !path) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_network_open: NULL argument");
    memset(net, 0, sizeof *net);
    return vpar_ex_is_hdf5_name(path) ? vpar__egad_open_h5(net, path, key, genes, ngenes)
                                      : vpar__egad_open_npy(net, path, genes, ngenes);
}

/* Row blocks of 64 rows (4.4 MB at 17,198 float32 genes) per task. */
static void vpar__egad_populate_rows(void *user, size_t begin, size_t end, int tid) {
    (void)tid;
    vpar_egad_network *net = (vpar_egad_network *)user;
    vpar_npy_populate_range(&net->npy, begin * net->n, (end - begin) * net->n);
}

void vpar_egad_network_populate(vpar_egad_network *net, vpar_pool *pool) {
    if (!net || !net->npy.data || net->n == 0) return;   /* HDF5: already in memory */
    if (!pool) {
        vpar_npy_populate_range(&net->npy, 0, net->npy.count);
        return;
    }
    /* a hint: a failed dispatch leaves the pages to fault in as read */
    (void)vpar_parallel_for(pool, 0, net->n, 64, vpar__egad_populate_rows, net);
}

void vpar_egad_network_close(vpar_egad_network *net) {
    if (!net) return;
    vpar_npy_close(&net->npy);
    VPAR_FREE(net->owned);
    VPAR_FREE(net->rows);
    VPAR_FREE(net->cols);
    memset(net, 0, sizeof *net);
}
