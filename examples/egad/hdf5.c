/* examples/egad/hdf5.c — pandas HDF5 inputs (fixed format): frames for
   networks and annotation matrices (egad.h). The only unit that includes
   hdf5.h; without VPAR_EGAD_WITH_HDF5 the functions report
   VPAR_ERR_UNSUPPORTED. With VPAR_EGAD_HDF5_SONAME (CMake's default on
   Linux) libhdf5 is not linked but loaded (dlopen) the first time an HDF5
   input is read: it and the ~30 libraries it needs (curl, ssl, krb5,
   ldap, ...) cost every start ~20 ms and ~500 page faults otherwise, for
   runs that read only .npy/.tsv files. */
#include "egad_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#if defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5
#  include <hdf5.h>
#endif

#if defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5 && defined(VPAR_EGAD_HDF5_SONAME)
#  include <dlfcn.h>
#  include <pthread.h>
/* Every libhdf5 symbol this file uses (after hdf5.h's macros: H5Dopen is
   H5Dopen2, H5T_NATIVE_DOUBLE reads H5T_NATIVE_DOUBLE_g after H5open()).
   A new call to libhdf5 here must be listed, or the build fails to link
   (no library to resolve it from): the list cannot silently fall short. */
#  define VPAR__H5_SYMBOLS(X)                                                                   \
    X(H5open) X(H5check_version) X(H5Eset_auto2)                                                 \
    X(H5Fopen) X(H5Fclose) X(H5Gopen2) X(H5Gclose) X(H5Lexists) X(H5Literate)                    \
    X(H5Dopen2) X(H5Dclose) X(H5Dread) X(H5Dget_space) X(H5Dget_type) X(H5Dget_storage_size)     \
    X(H5Dget_create_plist) X(H5Dvlen_reclaim)                                                    \
    X(H5Pcreate) X(H5Pclose) X(H5Pset_fclose_degree) X(H5Pget_nfilters) X(H5Pget_filter2)        \
    X(H5Zfilter_avail) X(H5Sclose) X(H5Sget_simple_extent_dims) X(H5Sget_simple_extent_ndims)   \
    X(H5Tclose) X(H5Tcopy) X(H5Tget_class) X(H5Tget_sign) X(H5Tget_size) X(H5Tis_variable_str)  \
    X(H5Tset_size) X(H5Tset_strpad)                                                              \
    X(H5P_CLS_FILE_ACCESS_ID_g) X(H5T_C_S1_g) X(H5T_NATIVE_B8_g) X(H5T_NATIVE_DOUBLE_g)           \
    X(H5T_NATIVE_FLOAT_g) X(H5T_NATIVE_LLONG_g) X(H5T_NATIVE_ULLONG_g)

static struct {
#  define X(s) __typeof__(&s) s;
    VPAR__H5_SYMBOLS(X)
#  undef X
} vpar__h5;
static pthread_once_t vpar__h5_once = PTHREAD_ONCE_INIT;
static char vpar__h5_error[512];

static void vpar__h5_load_once(void) {
    void *lib = dlopen(VPAR_EGAD_HDF5_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(vpar__h5_error, sizeof vpar__h5_error, "%s", e ? e : "dlopen failed");
        return;
    }
#  define X(s)                                                                  \
    if (!vpar__h5_error[0] && !(*(void **)&vpar__h5.s = dlsym(lib, #s)))        \
        snprintf(vpar__h5_error, sizeof vpar__h5_error, "%s: no symbol %s", VPAR_EGAD_HDF5_SONAME, #s);
    VPAR__H5_SYMBOLS(X)
#  undef X
    /* On failure the library stays loaded (harmless) and unused. */
}

/* 1 when libhdf5 is loaded; else 0 after vpar_fail naming `path`. */
static int vpar__h5_load(const char *path) {
    pthread_once(&vpar__h5_once, vpar__h5_load_once);
    if (!vpar__h5_error[0]) return 1;
    vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: reading HDF5 needs libhdf5 (%s), which could not be "
              "loaded: %s", path, VPAR_EGAD_HDF5_SONAME, vpar__h5_error);
    return 0;
}

/* From here on the names call through the table (a macro's own name in
   its expansion is not expanded again). */
#  define H5open (*vpar__h5.H5open)
#  define H5check_version (*vpar__h5.H5check_version)
#  define H5Eset_auto2 (*vpar__h5.H5Eset_auto2)
#  define H5Fopen (*vpar__h5.H5Fopen)
#  define H5Fclose (*vpar__h5.H5Fclose)
#  define H5Gopen2 (*vpar__h5.H5Gopen2)
#  define H5Gclose (*vpar__h5.H5Gclose)
#  define H5Lexists (*vpar__h5.H5Lexists)
#  define H5Literate (*vpar__h5.H5Literate)
#  define H5Dopen2 (*vpar__h5.H5Dopen2)
#  define H5Dclose (*vpar__h5.H5Dclose)
#  define H5Dread (*vpar__h5.H5Dread)
#  define H5Dget_space (*vpar__h5.H5Dget_space)
#  define H5Dget_type (*vpar__h5.H5Dget_type)
#  define H5Dget_storage_size (*vpar__h5.H5Dget_storage_size)
#  define H5Dget_create_plist (*vpar__h5.H5Dget_create_plist)
#  define H5Dvlen_reclaim (*vpar__h5.H5Dvlen_reclaim)
#  define H5Pcreate (*vpar__h5.H5Pcreate)
#  define H5Pclose (*vpar__h5.H5Pclose)
#  define H5Pset_fclose_degree (*vpar__h5.H5Pset_fclose_degree)
#  define H5Pget_nfilters (*vpar__h5.H5Pget_nfilters)
#  define H5Pget_filter2 (*vpar__h5.H5Pget_filter2)
#  define H5Zfilter_avail (*vpar__h5.H5Zfilter_avail)
#  define H5Sclose (*vpar__h5.H5Sclose)
#  define H5Sget_simple_extent_dims (*vpar__h5.H5Sget_simple_extent_dims)
#  define H5Sget_simple_extent_ndims (*vpar__h5.H5Sget_simple_extent_ndims)
#  define H5Tclose (*vpar__h5.H5Tclose)
#  define H5Tcopy (*vpar__h5.H5Tcopy)
#  define H5Tget_class (*vpar__h5.H5Tget_class)
#  define H5Tget_sign (*vpar__h5.H5Tget_sign)
#  define H5Tget_size (*vpar__h5.H5Tget_size)
#  define H5Tis_variable_str (*vpar__h5.H5Tis_variable_str)
#  define H5Tset_size (*vpar__h5.H5Tset_size)
#  define H5Tset_strpad (*vpar__h5.H5Tset_strpad)
#  define H5P_CLS_FILE_ACCESS_ID_g (*vpar__h5.H5P_CLS_FILE_ACCESS_ID_g)
#  define H5T_C_S1_g (*vpar__h5.H5T_C_S1_g)
#  define H5T_NATIVE_B8_g (*vpar__h5.H5T_NATIVE_B8_g)
#  define H5T_NATIVE_DOUBLE_g (*vpar__h5.H5T_NATIVE_DOUBLE_g)
#  define H5T_NATIVE_FLOAT_g (*vpar__h5.H5T_NATIVE_FLOAT_g)
#  define H5T_NATIVE_LLONG_g (*vpar__h5.H5T_NATIVE_LLONG_g)
#  define H5T_NATIVE_ULLONG_g (*vpar__h5.H5T_NATIVE_ULLONG_g)
#  define VPAR__H5_LOAD(path) vpar__h5_load(path)
int vpar_egad_have_hdf5(void) {
    pthread_once(&vpar__h5_once, vpar__h5_load_once);
    return !vpar__h5_error[0];
}
#elif defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5
#  define VPAR__H5_LOAD(path) 1
int vpar_egad_have_hdf5(void) { return 1; }
#endif

#if defined(VPAR_EGAD_WITH_HDF5) && VPAR_EGAD_WITH_HDF5

/* A filter of d's pipeline that this libhdf5 cannot apply (blosc, lzf,
   bitshuffle: plugins pandas/PyTables bring along) is named, not left to a
   bare "cannot read". */
static vpar_status vpar__egad_h5_filters(hid_t d, const char *path, const char *dset) {
    hid_t pl = H5Dget_create_plist(d);
    if (pl < 0) return VPAR_OK;
    int nf = H5Pget_nfilters(pl);
    vpar_status st = VPAR_OK;
    for (int i = 0; i < nf && st == VPAR_OK; i++) {
        unsigned flags = 0, cfg = 0, cd[8];
        size_t ncd = 8;
        char name[64] = "";
        H5Z_filter_t id = H5Pget_filter2(pl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, &cfg);
        if (id < 0) continue;
        name[sizeof name - 1] = '\0';
        if (H5Zfilter_avail(id) <= 0)
            st = vpar_fail(VPAR_ERR_UNSUPPORTED,
                           "%s: %s is compressed with the HDF5 filter '%s' (id %d), which this "
                           "libhdf5 cannot decode: write the frame without it (pandas: "
                           "df.to_hdf(path, key=..., complevel=0), or complib='zlib')",
                           path, dset, name[0] ? name : "unnamed", (int)id);
    }
    H5Pclose(pl);
    return st;
}

/* Reads a 1-D label dataset (pandas' axis0/axis1): fixed- or
   variable-length strings, or integers (pandas' Int64Index of Entrez IDs)
   written in decimal. */
static vpar_status vpar__egad_h5_strings(hid_t file, const char *dset, const char *path,
                                         char ***out, size_t *count) {
    hid_t d = H5Dopen2(file, dset, H5P_DEFAULT);
    if (d < 0) return vpar_fail(VPAR_ERR_FORMAT, "%s: no dataset %s (not a pandas fixed-format frame?)", path, dset);
    vpar_status st = VPAR_OK;
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d), mt = -1;
    char *raw = NULL, *chars = NULL;
    size_t *off = NULL;
    hsize_t dims[2] = {0, 0};
    H5T_class_t cls = ty >= 0 ? H5Tget_class(ty) : H5T_NO_CLASS;
    int vlen = cls == H5T_STRING && H5Tis_variable_str(ty) > 0;
    if (sp < 0 || ty < 0 || H5Sget_simple_extent_ndims(sp) != 1 ||
        (cls != H5T_STRING && cls != H5T_INTEGER)) {
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: %s is not a 1-D array of strings or integers "
                       "(the labels of a pandas frame)", path, dset);
        goto out;
    }
    if ((st = vpar__egad_h5_filters(d, path, dset)) != VPAR_OK) goto out;
    H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t n = (size_t)dims[0];
    size_t w = vlen ? sizeof(char *) : cls == H5T_INTEGER ? 8 : H5Tget_size(ty);
    if (w == 0 || dims[0] > (hsize_t)0xfffffff0u) {
        st = vpar_fail(VPAR_ERR_FORMAT, "%s: %s: bad label array (%llu labels of %zu bytes)", path,
                       dset, (unsigned long long)dims[0], w);
        goto out;
    }
    /* A corrupt or hostile file can claim billions of labels in a few
       bytes; labels do not compress a thousandfold. */
    size_t need;
    if (!vpar__mul_size(n, vlen ? 1 : w, &need) ||
        (n && need / 1024 > (size_t)H5Dget_storage_size(d) + 1024)) {
        st = vpar_fail(VPAR_ERR_FORMAT, "%s: %s claims %zu labels but stores %llu bytes (corrupt file?)",
                       path, dset, n, (unsigned long long)H5Dget_storage_size(d));
        goto out;
    }
    size_t cw = vlen ? 0 : cls == H5T_INTEGER ? 21 : w; /* longest label */
    if (cls == H5T_INTEGER) {
        mt = H5Tcopy(H5Tget_sign(ty) == H5T_SGN_NONE ? H5T_NATIVE_ULLONG : H5T_NATIVE_LLONG);
    } else if (vlen) {
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
    } else {
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, w);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
    }
    raw = (char *)vpar__egad_zalloc(n ? n : 1, w);
    off = (size_t *)vpar__egad_alloc(n + 1, sizeof *off);
    if (!raw || !off) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    if (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        st = vpar_fail(VPAR_ERR_IO, "%s: cannot read %s (damaged file?)", path, dset);
        goto out;
    }
    if (vlen) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            const char *s = ((char **)raw)[i];
            total += (s ? strlen(s) : 0) + 1;
        }
        chars = (char *)vpar__egad_alloc(total ? total : 1, 1);
    } else {
        chars = (char *)vpar__egad_alloc(n ? n : 1, cw + 1);
    }
    if (!chars) { st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        off[i] = at;
        size_t l = 0;
        if (cls == H5T_INTEGER) {
            if (H5Tget_sign(ty) == H5T_SGN_NONE)
                l = (size_t)snprintf(chars + at, 22, "%llu", ((unsigned long long *)raw)[i]);
            else
                l = (size_t)snprintf(chars + at, 22, "%lld", ((long long *)raw)[i]);
        } else {
            const char *s = vlen ? ((char **)raw)[i] : raw + i * w;
            if (vlen) l = s ? strlen(s) : 0;
            else while (l < w && s[l]) l++;
            if (l) memcpy(chars + at, s, l);
            chars[at + l] = '\0';
        }
        at += l + 1;
    }
    if (vlen && n) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
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

/* The element type of a values block: float32/float64 read as they are
   (float16 converted exactly to float32), integers, enums and bools
   (PyTables stores numpy bool as an 8-bit bitfield) as 0/1 bytes. */
static vpar_status vpar__egad_h5_kind(hid_t ty, const char *path, const char *dname,
                                      vpar_dtype *dtype) {
    H5T_class_t cls = H5Tget_class(ty);
    size_t sz = H5Tget_size(ty);
    if (cls == H5T_FLOAT && sz >= 2 && sz <= 8) {
        *dtype = sz <= 4 ? VPAR_DTYPE_F32 : VPAR_DTYPE_F64;
        return VPAR_OK;
    }
    if ((cls == H5T_INTEGER || cls == H5T_ENUM) && sz >= 1 && sz <= 8) { *dtype = VPAR_DTYPE_U8; return VPAR_OK; }
    if (cls == H5T_BITFIELD && sz == 1) { *dtype = VPAR_DTYPE_U8; return VPAR_OK; }
    const char *what = cls == H5T_STRING ? "strings" : cls == H5T_COMPOUND ? "a compound type"
                     : cls == H5T_BITFIELD ? "a wide bitfield" : cls == H5T_FLOAT ? "a float of unusual size"
                     : "an unsupported type";
    return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: %s holds %s; expected float32/float64 values "
                     "(networks) or bool/integer/float 0-1 values (annotation frames)", path, dname, what);
}

/* Reads the count values of dataset d (element kind *dtype from
   vpar__egad_h5_kind). */
static vpar_status vpar__egad_h5_values(hid_t d, hid_t ty, size_t count, const char *path,
                                        const char *dname, void **values, vpar_dtype dtype) {
    H5T_class_t cls = H5Tget_class(ty);
    hid_t mem = dtype == VPAR_DTYPE_F32 ? H5T_NATIVE_FLOAT
              : dtype == VPAR_DTYPE_F64 ? H5T_NATIVE_DOUBLE
              : cls == H5T_BITFIELD ? H5T_NATIVE_B8 : H5T_NATIVE_DOUBLE;
    size_t esz = dtype == VPAR_DTYPE_F32 ? 4 : cls == H5T_BITFIELD ? 1 : 8;
    vpar_status st = vpar__egad_h5_filters(d, path, dname);
    if (st != VPAR_OK) return st;
    void *buf = vpar__egad_alloc(count ? count : 1, esz);
    if (!buf) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory for %zu values", path, count);
    if (count && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        VPAR_FREE(buf);
        return vpar_fail(VPAR_ERR_IO, "%s: cannot read %s (damaged file?)", path, dname);
    }
    if (dtype == VPAR_DTYPE_U8) {
        unsigned char *u8 = (unsigned char *)buf;
        if (cls == H5T_BITFIELD) {
            for (size_t i = 0; i < count; i++) u8[i] = u8[i] != 0;
        } else {
            const double *dv = (const double *)buf;
            for (size_t i = 0; i < count; i++) u8[i] = dv[i] != 0; /* in place, forward is safe */
        }
    }
    *values = buf;
    return VPAR_OK;
}

typedef struct vpar__egad_h5_names {
    char buf[256];
    size_t len, n;
} vpar__egad_h5_names;

static herr_t vpar__egad_h5_name_cb(hid_t g, const char *name, const H5L_info_t *info, void *user) {
    (void)g; (void)info;
    vpar__egad_h5_names *k = (vpar__egad_h5_names *)user;
    if (k->len < sizeof k->buf - 8) {
        int w = snprintf(k->buf + k->len, sizeof k->buf - k->len, "%s%s", k->n ? ", " : "", name);
        k->len += w > 0 ? (size_t)w : 0;
        if (k->len >= sizeof k->buf - 8) {
            k->len = sizeof k->buf - 8;
            memcpy(k->buf + k->len, ", ...", 6);
            k->len += 5;
        }
    }
    k->n++;
    return 0;
}

/* The key exists as a group (every component of "a/b"); else an error
   listing the keys at the top of the file. */
static vpar_status vpar__egad_h5_key(hid_t file, const char *path, const char *key) {
    char part[512];
    size_t kl = strlen(key);
    int ok = kl > 0 && kl < sizeof part;
    for (size_t i = 0; ok && i <= kl; i++) {
        if (key[i] != '/' && key[i] != '\0') continue;
        if (i == 0) continue;
        memcpy(part, key, i);
        part[i] = '\0';
        ok = H5Lexists(file, part, H5P_DEFAULT) > 0;
    }
    if (ok) {
        hid_t g = H5Gopen2(file, key, H5P_DEFAULT);
        ok = g >= 0;
        if (g >= 0) H5Gclose(g);
    }
    if (ok) return VPAR_OK;
    vpar__egad_h5_names k;
    memset(&k, 0, sizeof k);
    hsize_t idx = 0;
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, vpar__egad_h5_name_cb, &k);
    return vpar_fail(VPAR_ERR_NOT_FOUND, "%s: key '%s' not found (keys in the file: %s)", path, key,
                     k.n ? k.buf : "none");
}

/* Opens the file and checks the frame `key`: its labels (read) and its
   values block (type and shape, not read). */
static vpar_status vpar__egad_h5_frame(const char *path, const char *key, hid_t *file_out,
                                       hid_t *dset_out, vpar_dtype *dtype, size_t *rows,
                                       size_t *cols, char ***row_names, char ***col_names) {
    *file_out = *dset_out = -1;
    struct stat sb;
    if (stat(path, &sb) != 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot open", path);
    if (!VPAR__H5_LOAD(path)) return VPAR_ERR_UNSUPPORTED;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through vpar_fail */
    while (*key == '/') key++;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (fapl >= 0) H5Pclose(fapl);
    if (file < 0) return vpar_fail(VPAR_ERR_FORMAT, "%s: not an HDF5 file", path);
    *file_out = file;
    vpar_status st = vpar__egad_h5_key(file, path, key);
    if (st != VPAR_OK) return st;
    char dname[600];
    snprintf(dname, sizeof dname, "/%s/table", key);
    if (H5Lexists(file, dname, H5P_DEFAULT) > 0)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: key '%s' is a pandas 'table' format frame; "
                         "write it in the fixed format (df.to_hdf(path, key='%s'), the default)",
                         path, key, key);
    char **idx = NULL, **items = NULL;
    size_t nidx = 0, nitems = 0;
    snprintf(dname, sizeof dname, "/%s/axis1", key);
    st = vpar__egad_h5_strings(file, dname, path, &idx, &nidx);
    if (st == VPAR_OK) {
        snprintf(dname, sizeof dname, "/%s/block0_items", key);
        st = vpar__egad_h5_strings(file, dname, path, &items, &nitems);
    }
    snprintf(dname, sizeof dname, "/%s/block1_values", key);
    if (st == VPAR_OK && H5Lexists(file, dname, H5P_DEFAULT) > 0)
        st = vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: frame '%s' has several dtype blocks; store one dtype", path, key);
    hid_t d = -1, sp = -1, ty = -1;
    snprintf(dname, sizeof dname, "/%s/block0_values", key);
    if (st == VPAR_OK) {
        d = H5Dopen2(file, dname, H5P_DEFAULT);
        if (d < 0) st = vpar_fail(VPAR_ERR_FORMAT, "%s: no dataset %s (key '%s' not a fixed-format frame)", path, dname, key);
    }
    if (st == VPAR_OK) {
        sp = H5Dget_space(d);
        ty = H5Dget_type(d);
        if (sp < 0 || ty < 0 || H5Sget_simple_extent_ndims(sp) != 2)
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: %s is not 2-D", path, dname);
    }
    if (st == VPAR_OK) {
        hsize_t dims[2] = {0, 0};
        H5Sget_simple_extent_dims(sp, dims, NULL);
        if ((size_t)dims[0] != nidx || (size_t)dims[1] != nitems)
            st = vpar_fail(VPAR_ERR_SHAPE, "%s: %s is %llux%llu but the frame has %zu rows and %zu columns",
                           path, dname, (unsigned long long)dims[0], (unsigned long long)dims[1], nidx, nitems);
    }
    if (st == VPAR_OK) st = vpar__egad_h5_kind(ty, path, dname, dtype);
    if (ty >= 0) H5Tclose(ty);
    if (sp >= 0) H5Sclose(sp);
    if (st != VPAR_OK) {
        if (d >= 0) H5Dclose(d);
        VPAR_FREE(idx);
        VPAR_FREE(items);
        return st;
    }
    *dset_out = d;
    *rows = nidx;
    *cols = nitems;
    *row_names = idx;
    *col_names = items;
    return VPAR_OK;
}

vpar_status vpar_egad_hdf5_frame_info(const char *path, const char *key, vpar_dtype *dtype,
        size_t *rows, size_t *cols, char ***row_names, char ***col_names) {
    if (!path || !key || !dtype || !rows || !cols || !row_names || !col_names)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_hdf5_frame_info: NULL argument");
    *row_names = NULL; *col_names = NULL; *rows = *cols = 0;
    hid_t file, d;
    vpar_status st = vpar__egad_h5_frame(path, key, &file, &d, dtype, rows, cols, row_names, col_names);
    if (d >= 0) H5Dclose(d);
    if (file >= 0) H5Fclose(file);
    return st;
}

vpar_status vpar_egad_hdf5_read_frame(const char *path, const char *key,
        void **values, vpar_dtype *dtype, size_t *rows, size_t *cols,
        char ***row_names, char ***col_names) {
    if (!path || !key || !values || !dtype || !rows || !cols || !row_names || !col_names)
        return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_hdf5_read_frame: NULL argument");
    *values = NULL; *row_names = NULL; *col_names = NULL; *rows = *cols = 0;
    hid_t file, d;
    char **idx = NULL, **items = NULL;
    size_t nidx = 0, nitems = 0;
    vpar_status st = vpar__egad_h5_frame(path, key, &file, &d, dtype, &nidx, &nitems, &idx, &items);
    size_t count = 0;
    if (st == VPAR_OK && !vpar__mul_size(nidx, nitems, &count))
        st = vpar_fail(VPAR_ERR_OVERFLOW, "%s: frame too large", path);
    if (st == VPAR_OK) {
        hid_t ty = H5Dget_type(d);
        char dname[600];
        snprintf(dname, sizeof dname, "/%s/block0_values", key[0] == '/' ? key + 1 : key);
        st = ty < 0 ? vpar_fail(VPAR_ERR_FORMAT, "%s: %s has no type", path, dname)
                    : vpar__egad_h5_values(d, ty, count, path, dname, values, *dtype);
        if (ty >= 0) H5Tclose(ty);
    }
    if (st == VPAR_OK) {
        *rows = nidx;
        *cols = nitems;
        *row_names = idx; idx = NULL;
        *col_names = items; items = NULL;
    }
    VPAR_FREE(idx);
    VPAR_FREE(items);
    if (d >= 0) H5Dclose(d);
    if (file >= 0) H5Fclose(file);
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
vpar_status vpar_egad_hdf5_frame_info(const char *path, const char *key, vpar_dtype *dtype,
        size_t *rows, size_t *cols, char ***row_names, char ***col_names) {
    (void)key; (void)dtype; (void)rows; (void)cols; (void)row_names; (void)col_names;
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

