/* Fuzz target: the pandas HDF5 frame reader's metadata checks
   (examples/egad/hdf5.c). The input does not go to libhdf5 as raw bytes:
   a corrupt file makes libhdf5 itself allocate terabytes or crash (its
   format parser is not ours to fix, and would fail CI's short runs).
   Instead the bytes describe a frame: the key, whether it is a 'table'
   frame, the labels' types (fixed or variable strings, signed or unsigned
   integers, floats, 2-D), their counts and text, the values block's
   presence, rank, shape (matching or not), element type (float16/32/64,
   integers, bitfields, enums, strings, compounds), its filters (deflate,
   shuffle, fletcher32) and a second block. That file is written to a
   temporary path with libhdf5 and opened as vpar-egad does, with the keys
   "nw" and "go": vpar_egad_hdf5_frame_info, and for small frames
   vpar_egad_hdf5_read_frame, which must agree with it. A failure must name
   the file; a success must give labels for every row and column, 0/1
   bytes for non-float frames, and the shape that was written. */
#include "vpar.h"
#include "egad.h"

#include <hdf5.h>
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

typedef struct bytes {
    const uint8_t *p;
    size_t n;
} bytes;

static unsigned take(bytes *b) {
    if (!b->n) return 0;
    b->n--;
    return *b->p++;
}

/* A label dataset of `count` entries of kind k (0 fixed strings, 1 vlen
   strings, 2 int64, 3 uint16, 4 float64, 5 a 2-D string array). */
/* Fills dataset d (n elements of type ty) with fuzz bytes. */
static void write_fuzzed(hid_t d, hid_t ty, size_t n, bytes *b) {
    size_t esz = H5Tget_size(ty);
    unsigned char *v = (unsigned char *)calloc(n, esz);
    if (!v) return;
    for (size_t i = 0; i < n * esz; i++) v[i] = (unsigned char)take(b);
    H5Dwrite(d, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    free(v);
}

static void labels(hid_t g, const char *name, unsigned k, size_t count, bytes *b) {
    hsize_t dims[2] = {count, 2};
    hid_t sp = H5Screate_simple(k == 5 ? 2 : 1, dims, NULL), ty;
    size_t w = 1 + take(b) % 6;
    if (k == 0 || k == 5) {
        ty = H5Tcopy(H5T_C_S1);
        H5Tset_size(ty, w);
    } else if (k == 1) {
        ty = H5Tcopy(H5T_C_S1);
        H5Tset_size(ty, H5T_VARIABLE);
    } else {
        ty = H5Tcopy(k == 2 ? H5T_STD_I64LE : k == 3 ? H5T_STD_U16LE : H5T_IEEE_F64LE);
    }
    hid_t d = H5Dcreate2(g, name, ty, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    size_t n = count * (k == 5 ? 2 : 1);
    if (d >= 0 && n) {
        if (k == 1) {
            char **v = (char **)calloc(n, sizeof *v);
            for (size_t i = 0; i < n; i++) {
                v[i] = (char *)calloc(w + 1, 1);
                for (size_t j = 0; j < w; j++) v[i][j] = (char)(take(b) % 94 + 33);
            }
            H5Dwrite(d, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
            for (size_t i = 0; i < n; i++) free(v[i]);
            free(v);
        } else {
            write_fuzzed(d, ty, n, b);
        }
    }
    if (d >= 0) H5Dclose(d);
    H5Tclose(ty);
    H5Sclose(sp);
}

static hid_t value_type(unsigned k) {
    switch (k % 11) {
    case 0: return H5Tcopy(H5T_IEEE_F32LE);
    case 1: return H5Tcopy(H5T_IEEE_F64LE);
    case 2: { /* float16, as numpy writes it */
        hid_t t = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(t, 15, 10, 5, 0, 10);
        H5Tset_size(t, 2);
        H5Tset_ebias(t, 15);
        return t;
    }
    case 3: return H5Tcopy(H5T_STD_I8LE);
    case 4: return H5Tcopy(H5T_STD_I32BE);
    case 5: return H5Tcopy(H5T_STD_U64LE);
    case 6: return H5Tcopy(H5T_STD_B8LE);
    case 7: return H5Tcopy(H5T_STD_B16LE);
    case 8: {
        hid_t t = H5Tenum_create(H5T_NATIVE_SCHAR);
        signed char f = 0, tr = 1;
        H5Tenum_insert(t, "FALSE", &f);
        H5Tenum_insert(t, "TRUE", &tr);
        return t;
    }
    case 9: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 3);
        return t;
    }
    default: {
        hid_t t = H5Tcreate(H5T_COMPOUND, 8);
        H5Tinsert(t, "a", 0, H5T_NATIVE_FLOAT);
        H5Tinsert(t, "b", 4, H5T_NATIVE_FLOAT);
        return t;
    }
    }
}

static int build(bytes *b) {
    hid_t f = H5Fcreate(tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return 0;
    unsigned flags = take(b);
    static const char *const keys[] = {"nw", "go", "network", "nw/sub"};
    const char *key = keys[flags & 3];
    hid_t parent = key[2] == '/' ? H5Gcreate2(f, "nw", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    hid_t g = parent >= 0 ? H5Gcreate2(parent, "sub", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                          : H5Gcreate2(f, key, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (flags & 4) { /* a 'table' frame */
        hsize_t one = 1;
        hid_t sp = H5Screate_simple(1, &one, NULL);
        hid_t d = H5Dcreate2(g, "table", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dclose(d);
        H5Sclose(sp);
    }
    unsigned lk = take(b), ck = take(b);
    size_t rows = take(b) % 7, cols = take(b) % 7;
    if (!(flags & 8)) labels(g, "axis1", lk % 6, rows, b);
    if (!(flags & 16)) labels(g, "block0_items", ck % 6, cols, b);
    if (!(flags & 32)) {
        unsigned vk = take(b), shape = take(b), filt = take(b);
        int rank = shape % 5 == 0 ? 1 : shape % 5 == 1 ? 3 : 2;
        hsize_t dims[3] = {rows, cols, 2};
        if (shape & 8) dims[0] = (rows + 1) % 7;
        if (shape & 16) dims[1] = (cols + 2) % 7;
        hid_t ty = value_type(vk);
        hid_t sp = H5Screate_simple(rank, dims, NULL);
        hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
        if ((filt & 7) && dims[0] && dims[1] && (rank != 3 || dims[2])) {
            hsize_t chunk[3] = {dims[0], dims[1], 2};
            H5Pset_chunk(pl, rank, chunk);
            if (filt & 1) H5Pset_deflate(pl, 1);
            if (filt & 2) H5Pset_shuffle(pl);
            if (filt & 4) H5Pset_fletcher32(pl);
        }
        hid_t d = H5Dcreate2(g, "block0_values", ty, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
        size_t n = (size_t)dims[0] * (size_t)(rank > 1 ? dims[1] : 1) * (size_t)(rank > 2 ? dims[2] : 1);
        if (d >= 0 && n) write_fuzzed(d, ty, n, b);
        if (d >= 0) H5Dclose(d);
        H5Pclose(pl);
        H5Sclose(sp);
        H5Tclose(ty);
    }
    if (flags & 64) {
        hsize_t one[2] = {1, 1};
        hid_t sp = H5Screate_simple(2, one, NULL);
        hid_t d = H5Dcreate2(g, "block1_values", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dclose(d);
        H5Sclose(sp);
    }
    H5Gclose(g);
    if (parent >= 0) H5Gclose(parent);
    H5Fclose(f);
    return 1;
}

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
    CHECK(rows <= 6 && cols <= 6);
    for (size_t i = 0; i < rows; i++) CHECK(rn[i] != NULL);
    for (size_t j = 0; j < cols; j++) CHECK(cn[j] != NULL);
    st = vpar_egad_hdf5_read_frame(tmp_path, key, &v, &dt2, &r2, &c2, &rn2, &cn2);
    CHECK(st == VPAR_OK); /* the same file: what the checks accepted reads */
    CHECK(dt2 == dt && r2 == rows && c2 == cols);
    for (size_t i = 0; i < rows; i++) CHECK(strcmp(rn[i], rn2[i]) == 0);
    for (size_t j = 0; j < cols; j++) CHECK(strcmp(cn[j], cn2[j]) == 0);
    if (dt == VPAR_DTYPE_U8)
        for (size_t i = 0; i < rows * cols; i++) CHECK(((unsigned char *)v)[i] <= 1);
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
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    }
    bytes b = {data, size};
    if (!build(&b)) return 0;
    frame("nw");
    frame("go");
    return 0;
}
