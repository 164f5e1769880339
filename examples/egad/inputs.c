/* examples/egad/inputs.c — checking the networks of a run before any of
   them is computed (egad.h, egad_cli.h): what every network shares with
   the others (the genes file's length, the HDF5 gene order) and dtypes
   EGAD cannot use are reported at once, with exit status 2, instead of
   once per network after forking. Reads headers and labels only. */
#include "egad_internal.h"
#include "egad_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The 'descr' of an .npy header ("<f2"), "" when it cannot be read. */
static void vpar__egad_npy_descr(const char *path, char *out, size_t cap) {
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char head[512];
    ssize_t n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n <= 10) return;
    head[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (head[i] == '\0') head[i] = ' ';
    const char *d = strstr(head, "'descr'");
    if (!d) return;
    d = strchr(d + 7, '\'');
    if (!d) return;
    const char *e = strchr(d + 1, '\'');
    if (!e || (size_t)(e - d - 1) >= cap) return;
    memcpy(out, d + 1, (size_t)(e - d - 1));
    out[e - d - 1] = '\0';
}

/* numpy's name of an .npy descr ("float16"), or the descr itself. */
static const char *vpar__egad_descr_name(const char *descr) {
    static const struct { const char *d, *name; } names[] = {
        {"f2", "float16"}, {"f4", "float32"}, {"f8", "float64"}, {"f16", "float128"},
        {"i1", "int8"}, {"i2", "int16"}, {"i4", "int32"}, {"i8", "int64"},
        {"u1", "uint8"}, {"u2", "uint16"}, {"u4", "uint32"}, {"u8", "uint64"}, {"b1", "bool"},
        {"c8", "complex64"}, {"c16", "complex128"}};
    const char *s = descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=' ? descr + 1 : descr;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].d) == 0) return names[i].name;
    return descr;
}

static vpar_status vpar__egad_dtype_fail(const char *path, const char *what) {
    return vpar_fail(VPAR_ERR_UNSUPPORTED,
                     "%s: network dtype %s is not supported by EGAD, which needs float32 or "
                     "float64 (convert: np.save(path, a.astype(np.float32)))", path, what);
}

static vpar_status vpar__egad_check_npy(const char *path, size_t ngenes, const char *genes_file) {
    vpar_npy a;
    vpar_status st = vpar_npy_open(&a, path, 0);
    if (st == VPAR_ERR_UNSUPPORTED) {
        char descr[32];
        vpar__egad_npy_descr(path, descr, sizeof descr);
        if (descr[0]) {
            char what[64];
            snprintf(what, sizeof what, "%s ('%s')", vpar__egad_descr_name(descr), descr);
            return vpar__egad_dtype_fail(path, what);
        }
    }
    if (st != VPAR_OK) return VPAR_OK; /* unreadable or damaged: that network's failure */
    if (a.ndim == 2 && a.shape[0] == a.shape[1]) {
        if (a.dtype != VPAR_DTYPE_F32 && a.dtype != VPAR_DTYPE_F64) {
            char what[64];
            snprintf(what, sizeof what, "%s ('%s')", vpar__egad_descr_name(vpar_dtype_descr(a.dtype)),
                     vpar_dtype_descr(a.dtype));
            st = vpar__egad_dtype_fail(path, what);
        } else if (a.shape[0] != ngenes) {
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: network has %zu genes but the genes file%s%s lists %zu",
                           path, a.shape[0], genes_file ? " " : "", genes_file ? genes_file : "", ngenes);
        }
    }
    vpar_npy_close(&a);
    return st;
}

static vpar_status vpar__egad_check_h5(const char *path, const char *key,
                                       const char *const *genes, size_t ngenes) {
    vpar_dtype dt;
    size_t rows = 0, cols = 0;
    char **rn = NULL, **cn = NULL;
    vpar_status st = vpar_egad_hdf5_frame_info(path, key ? key : "nw", &dt, &rows, &cols, &rn, &cn);
    if (st == VPAR_OK && rows != cols)
        st = vpar_fail(VPAR_ERR_SHAPE, "%s: network is %zu x %zu, not square", path, rows, cols);
    if (st == VPAR_OK && dt != VPAR_DTYPE_F32 && dt != VPAR_DTYPE_F64)
        st = vpar__egad_dtype_fail(path, "integer or bool");
    if (st == VPAR_OK && genes && rows != ngenes)
        st = vpar_fail(VPAR_ERR_SHAPE, "%s: network has %zu genes but the other networks %zu: "
                       "aggregated networks must list the same genes in the same order", path, rows, ngenes);
    for (size_t i = 0; st == VPAR_OK && i < rows; i++) {
        if (strcmp(rn[i], cn[i]) != 0)
            st = vpar_fail(VPAR_ERR_FORMAT, "%s: row and column labels differ at %zu ('%s' vs '%s')",
                           path, i, rn[i], cn[i]);
        else if (genes && strcmp(rn[i], genes[i]) != 0)
            st = vpar_fail(VPAR_ERR_FORMAT,
                           "%s: gene %zu is '%s' but '%s' in the other inputs: aggregated "
                           "networks must list the same genes in the same order", path, i, rn[i], genes[i]);
    }
    VPAR_FREE(rn);
    VPAR_FREE(cn);
    return st;
}

vpar_status vpar_egad_network_check(const char *path, const char *key, const char *const *genes,
                                    size_t ngenes, const char *genes_file) {
    if (!path) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_network_check: path is NULL");
    if (vpar_ex_is_hdf5_name(path)) return vpar__egad_check_h5(path, key, genes, ngenes);
    if (!genes) return VPAR_OK; /* reported when opened: needs --genes */
    return vpar__egad_check_npy(path, ngenes, genes_file);
}

int vpar_egad_cli_check_networks(const vpar_egad_cli *o, const char *prog, char *const *networks,
                                 size_t count, char *const *genes, size_t ngenes) {
    int ok = 1;
    for (size_t i = 0; i < count; i++) {
        const char *path = networks[i];
        vpar_status st;
        if (vpar_ex_is_hdf5_name(path)) {
            /* vpar-egad: each HDF5 network brings its own labels; only its
               layout is checked here, a damaged file is its own failure. */
            if (!vpar_egad_have_hdf5()) continue;
            st = vpar__egad_check_h5(path, o->nw_key, NULL, 0);
            if (st != VPAR_ERR_UNSUPPORTED && st != VPAR_ERR_NOT_FOUND) st = VPAR_OK;
        } else {
            st = vpar_egad_network_check(path, o->nw_key, (const char *const *)genes, ngenes, o->genes);
        }
        if (st != VPAR_OK) {
            fprintf(stderr, "%s: %s\n", prog, vpar_last_error());
            ok = 0;
        }
    }
    return ok;
}
