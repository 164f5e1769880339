/* examples/egad/hdf5.c — pandas HDF5 inputs (fixed format): frames for
   networks and annotation matrices (egad.h). The only unit that includes
   hdf5.h; without VPAR_EGAD_WITH_HDF5 the functions report
   VPAR_ERR_UNSUPPORTED. */
#include "egad_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#if defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5
#  include <hdf5.h>
#endif

#if defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5
int vpar_egad_have_hdf5(void) { return 1; }

/* Reads a 1-D fixed-length string dataset into packed strings. */
static vpar_status vpar__egad_h5_strings(hid_t file, const char *dset, const char *path,
                                         char ***out, size_t *count) {
    hid_t d = H5Dopen2(file, dset, H5P_DEFAULT);
    if (d < 0) return vpar_fail(VPAR_ERR_FORMAT, "%s: no dataset %s (not a pandas fixed-format frame?)", path, dset);
    vpar_status st = VPAR_OK;
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d), mt = -1;
    char *raw = NULL, *chars = NULL;
    size_t *off = NULL;
    hsize_t dims[2] = {0, 0};
    if (sp < 0 || ty < 0 || H5Sget_simple_extent_ndims(sp) != 1 || H5Tget_class(ty) != H5T_STRING ||
        H5Tis_variable_str(ty) > 0) {
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: %s is not a 1-D fixed-length string array "
                       "(only string labels are supported)", path, dset);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t w = H5Tget_size(ty), n = (size_t)dims[0];
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, w);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    raw = (char *)vpar__egad_alloc(n ? n : 1, w);
    chars = (char *)vpar__egad_alloc(n ? n : 1, w + 1);
    off = (size_t *)vpar__egad_alloc(n + 1, sizeof *off);
    if (!raw || !chars || !off) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    if (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        st = vpar_fail(VPAR_ERR_IO, "%s: cannot read %s", path, dset);
        goto out;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        off[i] = at;
        size_t l = 0;
        while (l < w && raw[i * w + l]) l++;
        memcpy(chars + at, raw + i * w, l);
        chars[at + l] = '\0';
        at += l + 1;
    }
    (void)at;
    {
        const char **ptrs = (const char **)vpar__egad_alloc(n ? n : 1, sizeof *ptrs);
        if (ptrs) {
            for (size_t i = 0; i < n; i++) ptrs[i] = chars + off[i];
            *out = vpar_ex_strings_copy(ptrs, n);
        }
        VPAR_FREE(ptrs);
        if (!ptrs || !*out) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
        else *count = n;
    }
out:
    VPAR_FREE(raw);
    VPAR_FREE(chars);
    VPAR_FREE(off);
    if (mt >= 0) H5Tclose(mt);
    if (ty >= 0) H5Tclose(ty);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return st;
}

/* Reads the count values of dataset d (type ty): float32/float64 as they
   are, integers and enums as 0/1 bytes (VPAR_DTYPE_U8). */
static vpar_status vpar__egad_h5_values(hid_t d, hid_t ty, size_t count, const char *path,
                                        const char *dname, void **values, vpar_dtype *dtype) {
    H5T_class_t cls = H5Tget_class(ty);
    hid_t mem;
    if (cls == H5T_FLOAT) {
        *dtype = H5Tget_size(ty) <= 4 ? VPAR_DTYPE_F32 : VPAR_DTYPE_F64;
        mem = *dtype == VPAR_DTYPE_F32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
    } else if (cls == H5T_INTEGER || cls == H5T_ENUM) {
        *dtype = VPAR_DTYPE_F64; /* converted below to 0/1 bytes */
        mem = H5T_NATIVE_DOUBLE;
    } else {
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: %s has an unsupported element type", path, dname);
    }
    void *buf = vpar__egad_alloc(count ? count : 1, *dtype == VPAR_DTYPE_F32 ? 4 : 8);
    if (!buf) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu values", path, count);
    if (count && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        VPAR_FREE(buf);
        return vpar_fail(VPAR_ERR_IO, "%s: cannot read %s", path, dname);
    }
    if (cls != H5T_FLOAT) {
        unsigned char *u8 = (unsigned char *)buf;
        const double *dv = (const double *)buf;
        for (size_t i = 0; i < count; i++) u8[i] = dv[i] != 0; /* in place, forward is safe */
        *dtype = VPAR_DTYPE_U8;
    }
    *values = buf;
    return VPAR_OK;
}

vpar_status vpar_egad_hdf5_read_frame(const char *path, const char *key,
        void **values, vpar_dtype *dtype, size_t *rows, size_t *cols,
        char ***row_names, char ***col_names) {
    if (!path || !key || !values || !dtype || !rows || !cols || !row_names || !col_names)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_hdf5_read_frame: NULL argument");
    *values = NULL; *row_names = NULL; *col_names = NULL; *rows = *cols = 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through vpar_fail */
    struct stat sb;
    if (stat(path, &sb) != 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot open", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return vpar_fail(VPAR_ERR_FORMAT, "%s: not an HDF5 file", path);
    vpar_status st = VPAR_OK;
    char dname[512];
    char **idx = NULL, **items = NULL;
    size_t nidx = 0, nitems = 0;
    hid_t d = -1, sp = -1, ty = -1;
    snprintf(dname, sizeof dname, "/%s/axis1", key);
    st = vpar__egad_h5_strings(file, dname, path, &idx, &nidx);
    if (st != VPAR_OK) goto out;
    snprintf(dname, sizeof dname, "/%s/block0_items", key);
    st = vpar__egad_h5_strings(file, dname, path, &items, &nitems);
    if (st != VPAR_OK) goto out;
    snprintf(dname, sizeof dname, "/%s/block1_values", key);
    if (H5Lexists(file, dname, H5P_DEFAULT) > 0) {
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: frame '%s' has several dtype blocks; store one dtype", path, key);
        goto out;
    }
    snprintf(dname, sizeof dname, "/%s/block0_values", key);
    d = H5Dopen2(file, dname, H5P_DEFAULT);
    if (d < 0) { st = vpar_fail(VPAR_ERR_FORMAT, "%s: no dataset %s (key '%s' missing or not fixed format)", path, dname, key); goto out; }
    sp = H5Dget_space(d);
    ty = H5Dget_type(d);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(sp) != 2) { st = vpar_fail(VPAR_ERR_SHAPE, "%s: %s is not 2-D", path, dname); goto out; }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if ((size_t)dims[0] != nidx || (size_t)dims[1] != nitems) {
        st = vpar_fail(VPAR_ERR_SHAPE, "%s: %s is %llux%llu but the frame has %zu rows and %zu columns",
                       path, dname, (unsigned long long)dims[0], (unsigned long long)dims[1], nidx, nitems);
        goto out;
    }
    size_t count;
    if (!vpar__mul_size(nidx, nitems, &count)) { st = vpar_fail(VPAR_ERR_OVERFLOW, "%s: frame too large", path); goto out; }
    void *buf = NULL;
    st = vpar__egad_h5_values(d, ty, count, path, dname, &buf, dtype);
    if (st != VPAR_OK) goto out;
    *values = buf;
    *rows = nidx;
    *cols = nitems;
    *row_names = idx; idx = NULL;
    *col_names = items; items = NULL;
out:
    VPAR_FREE(idx);
    VPAR_FREE(items);
    if (ty >= 0) H5Tclose(ty);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    H5Fclose(file);
    return st;
}

vpar_status vpar_egad_annotations_load_hdf5(vpar_egad_annotations **out,
        const char *path, const char *key) {
    if (!out) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_annotations_load_hdf5: out is NULL");
    *out = NULL;
    if (!key) key = "go";
    void *vals = NULL;
    vpar_dtype dt;
    size_t rows, cols;
    char **genes = NULL, **terms = NULL;
    vpar_status st = vpar_egad_hdf5_read_frame(path, key, &vals, &dt, &rows, &cols, &genes, &terms);
    if (st != VPAR_OK) return st;
    size_t npairs = 0;
    for (size_t i = 0; i < rows * cols; i++) {
        double v = dt == VPAR_DTYPE_U8 ? ((unsigned char *)vals)[i]
                 : dt == VPAR_DTYPE_F32 ? ((float *)vals)[i] : ((double *)vals)[i];
        npairs += v != 0 && !isnan(v);
    }
    const char **pg = (const char **)vpar__egad_alloc(npairs ? npairs : 1, sizeof *pg);
    const char **pt = (const char **)vpar__egad_alloc(npairs ? npairs : 1, sizeof *pt);
    if (!pg || !pt) {
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    } else {
        /* Column-major walk: term order = column order, as in the frame. */
        size_t k = 0;
        for (size_t j = 0; j < cols; j++)
            for (size_t i = 0; i < rows; i++) {
                size_t at = i * cols + j;
                double v = dt == VPAR_DTYPE_U8 ? ((unsigned char *)vals)[at]
                         : dt == VPAR_DTYPE_F32 ? ((float *)vals)[at] : ((double *)vals)[at];
                if (v != 0 && !isnan(v)) { pg[k] = genes[i]; pt[k] = terms[j]; k++; }
            }
        st = vpar_egad_annotations_create(out, pg, pt, npairs, path);
    }
    VPAR_FREE(pg);
    VPAR_FREE(pt);
    VPAR_FREE(vals);
    VPAR_FREE(genes);
    VPAR_FREE(terms);
    return st;
}
#else
int vpar_egad_have_hdf5(void) { return 0; }
vpar_status vpar_egad_hdf5_read_frame(const char *path, const char *key,
        void **values, vpar_dtype *dtype, size_t *rows, size_t *cols,
        char ***row_names, char ***col_names) {
    (void)key; (void)values; (void)dtype; (void)rows; (void)cols; (void)row_names; (void)col_names;
    return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: HDF5 input needs a build with libhdf5 (VPAR_WITH_HDF5)",
                     path ? path : "(null)");
}
vpar_status vpar_egad_annotations_load_hdf5(vpar_egad_annotations **out,
        const char *path, const char *key) {
    (void)key;
    if (out) *out = NULL;
    return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: HDF5 input needs a build with libhdf5 (VPAR_WITH_HDF5)",
                     path ? path : "(null)");
}
#endif

