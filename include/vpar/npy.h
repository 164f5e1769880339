/* vpar/npy.h — read and write NumPy .npy files, reading by mmap.

   WHAT
     Format versions 1.0, 2.0 and 3.0; dtypes <f4, <f8, <i4, <i8, |u1 and
     |b1; C order; 1-D and 2-D arrays. Reading maps the file (no copy: a
     17,198 x 17,198 float32 network opens in microseconds and pages in on
     demand). Writing uses vpar_write_file_atomic (common.h): a temporary
     file renamed over the target only when complete, so a failed or
     interrupted write never leaves a truncated .npy behind.

   EXAMPLE
       vpar_npy a;
       if (vpar_npy_open(&a, "net.npy", 0) != VPAR_OK) {
           fprintf(stderr, "%s\n", vpar_last_error());   // names the file
           return 1;
       }
       if (a.ndim != 2 || a.shape[0] != a.shape[1]) { ... not square ... }
       double *w = malloc(a.count * sizeof *w);
       vpar_npy_to_f64(&a, w);                            // any dtype -> double
       vpar_npy_close(&a);
       vpar_npy_write("out.npy", w, VPAR_DTYPE_F64, 2, a.shape);

   ERRORS (status, and vpar_last_error() names the file and the problem)
     VPAR_ERR_IO          missing/unreadable file, failed write (errno kept)
     VPAR_ERR_FORMAT      bad magic, file too short, header longer than the
                          file, unparsable header, truncated data
     VPAR_ERR_UNSUPPORTED unknown version, unsupported dtype (big-endian,
                          complex, ...), Fortran order, 0-D or >2-D shapes
     VPAR_ERR_OVERFLOW    shape whose byte size does not fit in size_t

   PAGE CACHE (Linux)
     A read-only mapping of at least VPAR__NPY_HUGE_MIN bytes (2 MiB) is
     advised MADV_HUGEPAGE: pages the kernel reads in for it come as 2 MiB
     folios, and a 2 MiB folio is mapped by one page-table entry, so every
     later mapping of the file (the next step, the next program) maps it
     in 1/512 of the faults. On a VM whose page-table updates are costly
     this is most of the cost of reading a cached network: 17,198^2
     float32 (1.18 GB) touched in 0.02-0.05 s instead of 0.6-0.9 s,
     unmapped in 1 ms instead of 0.1 s (docs/npy.md). Pages already
     cached as small folios stay as they are until the kernel evicts them.

   CALLING CONTEXTS
     All functions: any thread; distinct vpar_npy objects are independent.
     A vpar_npy opened before fork() stays valid in the child (the mapping
     is inherited), which is how the process pool shares inputs.
*/
#ifndef VPAR_NPY_H
#define VPAR_NPY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vpar_dtype {
    VPAR_DTYPE_F32,  /* '<f4' */
    VPAR_DTYPE_F64,  /* '<f8' */
    VPAR_DTYPE_I32,  /* '<i4' */
    VPAR_DTYPE_I64,  /* '<i8' */
    VPAR_DTYPE_U8,   /* '|u1' */
    VPAR_DTYPE_BOOL  /* '|b1' */
} vpar_dtype;

/* Flags for vpar_npy_open. */
enum {
    /* Map copy-on-write (MAP_PRIVATE, writable): the caller may modify
       `data` in place; the file is never changed. Pages written become
       private memory. */
    VPAR_NPY_WRITABLE = 1
};

typedef struct vpar_npy {
    vpar_dtype dtype;
    int ndim;            /* 1 or 2 */
    size_t shape[2];     /* shape[1] == 1 for 1-D arrays */
    size_t count;        /* number of elements */
    size_t nbytes;       /* count * element size */
    void *data;          /* the elements, aligned for the dtype */
    int version_major;   /* format version read from the file */
    int version_minor;
    /* private */
    void *vpar__map;
    size_t vpar__map_len;
    void *vpar__owned;   /* aligned copy when the file's data was misaligned */
    int vpar__writable;  /* opened with VPAR_NPY_WRITABLE */
} vpar_npy;

/* Smallest read-only mapping advised MADV_HUGEPAGE (see PAGE CACHE). */
#ifndef VPAR__NPY_HUGE_MIN
#define VPAR__NPY_HUGE_MIN ((size_t)2 << 20)
#endif

/* Size in bytes of one element. Any thread. */
VPAR_API size_t vpar_dtype_size(vpar_dtype dtype);

/* The .npy descr string ("<f8", "|u1", ...). Any thread. */
VPAR_API const char *vpar_dtype_descr(vpar_dtype dtype);

/* Opens and maps `path`, validating the header and the data size.
   `flags`: 0 or VPAR_NPY_WRITABLE. On failure *arr is zeroed and nothing
   stays mapped. Close with vpar_npy_close. */
VPAR_API vpar_status vpar_npy_open(vpar_npy *arr, const char *path, int flags);

/* Unmaps/frees what vpar_npy_open obtained and zeroes *arr. Safe on a
   zeroed or already closed vpar_npy. */
VPAR_API void vpar_npy_close(vpar_npy *arr);

/* Drops the pages of a read-only mapped .npy from the process's resident
   set (madvise MADV_DONTNEED on the file mapping): the file's pages stay
   in the page cache, and the next access maps them again, unchanged
   (minor faults, no I/O while the cache holds them). For programs that
   read a large input once per pass and should not hold it resident in
   between (vpar-aggregate: each network once per step). Does nothing for
   arrays opened with VPAR_NPY_WRITABLE (their written pages are private),
   for aligned copies of misaligned files, or on a zeroed vpar_npy. Any
   thread; a concurrent reader just maps the pages in again. */
VPAR_API void vpar_npy_release_pages(vpar_npy *arr);

/* The same for the elements [first, first + count) of arr->data only:
   the pages wholly inside that range (a page shared with the elements
   around it stays). For a reader that streams through a large input in
   pieces, possibly on several threads, each releasing what it has read
   (vpar-aggregate's add of a network: at most a few pieces resident at a
   time instead of the whole file). A range beyond arr->count is cut to
   it. Same cases without effect and calling contexts as above. */
VPAR_API void vpar_npy_release_range(vpar_npy *arr, size_t first, size_t count);

/* Maps the pages of the elements [first, first + count) of a read-only
   mapped .npy into the process now, in one call (Linux 5.14+:
   madvise MADV_POPULATE_READ), reading from the file what the page cache
   lacks, instead of one page fault per page or per few pages on first
   access. A hint for a reader about to read that range: on this
   project's VM a cached 17,198^2 float32 network (1.18 GB) held in small
   folios populates in 0.02-0.03 s, and reading every page then takes
   0.35 s instead of 0.43 s (the hypervisor's own first-access cost
   stays; docs/npy.md). Errors
   (old kernels, a file truncated under the mapping) are ignored: the
   reads that follow fault as before. A range beyond arr->count is cut to
   it. No effect for VPAR_NPY_WRITABLE arrays, aligned copies or a zeroed
   vpar_npy. Any thread; ranges may be populated concurrently. */
VPAR_API void vpar_npy_populate_range(vpar_npy *arr, size_t first, size_t count);

/* Parses the preamble and header of an in-memory .npy image of `len`
   bytes; `name` (the file it came from) starts the error messages, NULL:
   "vpar_npy_parse_header". Fills dtype/ndim/shape/count/
   nbytes/version of *arr (data left NULL) and the offset of the data.
   Does not require the data to be present: callers check
   *data_offset + arr->nbytes <= len themselves (vpar_npy_open does). */
VPAR_API vpar_status vpar_npy_parse_header(const void *buf, size_t len,
                                           const char *name, vpar_npy *arr,
                                           size_t *data_offset);

/* Writes a C-order array of `ndim` (1 or 2) dimensions to `path`, format
   1.0 (2.0 when the header needs it), atomically (temporary file +
   rename). `shape` has `ndim` entries. */
VPAR_API vpar_status vpar_npy_write(const char *path, const void *data,
                                    vpar_dtype dtype, int ndim,
                                    const size_t *shape);

/* Converts all elements of `arr` to double / float into `out` (arr->count
   elements, caller-owned). int64 values beyond 2^53 round; that is the
   only inexact case for double. */
VPAR_API void vpar_npy_to_f64(const vpar_npy *arr, double *out);
VPAR_API void vpar_npy_to_f32(const vpar_npy *arr, float *out);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_NPY_H */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if defined(VPAR_IMPLEMENTATION) && !defined(VPAR_NPY_IMPLEMENTED)
#define VPAR_NPY_IMPLEMENTED

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

VPAR_API size_t vpar_dtype_size(vpar_dtype dtype) {
    switch (dtype) {
    case VPAR_DTYPE_F32: case VPAR_DTYPE_I32: return 4;
    case VPAR_DTYPE_F64: case VPAR_DTYPE_I64: return 8;
    case VPAR_DTYPE_U8: case VPAR_DTYPE_BOOL: return 1;
    }
    return 0;
}

VPAR_API const char *vpar_dtype_descr(vpar_dtype dtype) {
    switch (dtype) {
    case VPAR_DTYPE_F32: return "<f4";
    case VPAR_DTYPE_F64: return "<f8";
    case VPAR_DTYPE_I32: return "<i4";
    case VPAR_DTYPE_I64: return "<i8";
    case VPAR_DTYPE_U8: return "|u1";
    case VPAR_DTYPE_BOOL: return "|b1";
    }
    return "?";
}

/* The header is a Python dict literal; we parse just enough of it:
   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } */
typedef struct vpar__npy_cursor {
    const char *p, *end;
} vpar__npy_cursor;

static void vpar__npy_skip_ws(vpar__npy_cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int vpar__npy_accept(vpar__npy_cursor *c, char ch) {
    vpar__npy_skip_ws(c);
    if (c->p < c->end && *c->p == ch) { c->p++; return 1; }
    return 0;
}

/* Reads a quoted string into out (NUL-terminated, truncated to cap-1). */
static int vpar__npy_string(vpar__npy_cursor *c, char *out, size_t cap) {
    vpar__npy_skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 < cap) out[n++] = *c->p;
        c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[n] = '\0';
    return 1;
}

static vpar_status vpar__npy_bad(const char *name, const char *what) {
    return vpar_fail(VPAR_ERR_FORMAT, "%s: malformed .npy header: %s", name, what);
}

VPAR_API vpar_status vpar_npy_parse_header(const void *buf, size_t len,
                                           const char *name, vpar_npy *arr,
                                           size_t *data_offset) {
    const unsigned char *b = (const unsigned char *)buf;
    memset(arr, 0, sizeof *arr);
    if (!name) name = "vpar_npy_parse_header";  /* "<file or function>: ..." */
    if (len < 10)
        return vpar_fail(VPAR_ERR_FORMAT, "%s: file too short to be .npy (%zu bytes)", name, len);
    if (memcmp(b, "\x93NUMPY", 6) != 0)
        return vpar_fail(VPAR_ERR_FORMAT, "%s: bad magic: not a NumPy .npy file", name);
    int major = b[6], minor = b[7];
    size_t header_len, preamble;
    if (major == 1) {
        header_len = (size_t)b[8] | ((size_t)b[9] << 8);
        preamble = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return vpar_fail(VPAR_ERR_FORMAT, "%s: file too short for a version %d.%d preamble", name, major, minor);
        header_len = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        preamble = 12;
    } else {
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: unsupported .npy format version %d.%d", name, major, minor);
    }
    if (header_len > len - preamble)
        return vpar_fail(VPAR_ERR_FORMAT,
                         "%s: header longer than the file (header declares %zu bytes, file has %zu after the preamble)",
                         name, header_len, len - preamble);

    vpar__npy_cursor c = {(const char *)b + preamble, (const char *)b + preamble + header_len};
    char descr[32] = "", key[32];
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, ndim = 0;
    size_t shape[3] = {0, 0, 0};
    if (!vpar__npy_accept(&c, '{')) return vpar__npy_bad(name, "expected '{'");
    for (;;) {
        if (vpar__npy_accept(&c, '}')) break;
        if (!vpar__npy_string(&c, key, sizeof key)) return vpar__npy_bad(name, "expected a quoted key");
        if (!vpar__npy_accept(&c, ':')) return vpar__npy_bad(name, "expected ':'");
        if (strcmp(key, "descr") == 0) {
            vpar__npy_skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: unsupported dtype: structured arrays", name);
            if (!vpar__npy_string(&c, descr, sizeof descr)) return vpar__npy_bad(name, "descr is not a string");
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            vpar__npy_skip_ws(&c);
            if ((size_t)(c.end - c.p) >= 4 && memcmp(c.p, "True", 4) == 0) { fortran = 1; c.p += 4; }
            else if ((size_t)(c.end - c.p) >= 5 && memcmp(c.p, "False", 5) == 0) { fortran = 0; c.p += 5; }
            else return vpar__npy_bad(name, "fortran_order is not True or False");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!vpar__npy_accept(&c, '(')) return vpar__npy_bad(name, "shape is not a tuple");
            for (;;) {
                if (vpar__npy_accept(&c, ')')) break;
                vpar__npy_skip_ws(&c);
                if (c.p >= c.end || *c.p < '0' || *c.p > '9') return vpar__npy_bad(name, "shape entry is not a number");
                size_t v = 0;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
                    if (!vpar__mul_size(v, 10, &v) || !vpar__add_size(v, (size_t)(*c.p - '0'), &v))
                        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: shape entry overflows size_t", name);
                    c.p++;
                }
                if (vpar__npy_accept(&c, 'L')) { /* Python 2 long suffix */ }
                if (ndim < 3) shape[ndim] = v;
                ndim++;
                if (!vpar__npy_accept(&c, ',')) {
                    if (!vpar__npy_accept(&c, ')')) return vpar__npy_bad(name, "expected ',' or ')' in shape");
                    break;
                }
            }
            have_shape = 1;
        } else {
            return vpar__npy_bad(name, "unknown key");
        }
        if (!vpar__npy_accept(&c, ',')) {
            if (!vpar__npy_accept(&c, '}')) return vpar__npy_bad(name, "expected ',' or '}'");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return vpar__npy_bad(name, "missing one of 'descr', 'fortran_order', 'shape'");

    static const struct { const char *descr; vpar_dtype dtype; } known[] = {
        {"<f4", VPAR_DTYPE_F32}, {"<f8", VPAR_DTYPE_F64}, {"<i4", VPAR_DTYPE_I32},
        {"<i8", VPAR_DTYPE_I64}, {"|u1", VPAR_DTYPE_U8},  {"<u1", VPAR_DTYPE_U8},
        {"|b1", VPAR_DTYPE_BOOL}, {"<b1", VPAR_DTYPE_BOOL}};
    int found = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(descr, known[i].descr) == 0) { arr->dtype = known[i].dtype; found = 1; break; }
    if (!found)
        return vpar_fail(VPAR_ERR_UNSUPPORTED,
                         "%s: unsupported dtype '%s'%s (supported: <f4 <f8 <i4 <i8 |u1 |b1)", name, descr,
                         descr[0] == '>' ? " (big-endian)" : "");
    if (fortran)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: Fortran-order arrays are not supported (save with C order)", name);
    if (ndim < 1 || ndim > 2)
        return vpar_fail(VPAR_ERR_UNSUPPORTED, "%s: %d-D arrays are not supported (1-D and 2-D only)", name, ndim);

    size_t count = shape[0], nbytes;
    if (ndim == 2 && !vpar__mul_size(count, shape[1], &count))
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: shape (%zu, %zu) overflows size_t", name, shape[0], shape[1]);
    if (!vpar__mul_size(count, vpar_dtype_size(arr->dtype), &nbytes))
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: array byte size overflows size_t", name);

    arr->ndim = ndim;
    arr->shape[0] = shape[0];
    arr->shape[1] = ndim == 2 ? shape[1] : 1;
    arr->count = count;
    arr->nbytes = nbytes;
    arr->version_major = major;
    arr->version_minor = minor;
    *data_offset = preamble + header_len;
    return VPAR_OK;
}

VPAR_API vpar_status vpar_npy_open(vpar_npy *arr, const char *path, int flags) {
    memset(arr, 0, sizeof *arr);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return vpar_fail_errno(VPAR_ERR_IO, e, "%s: cannot stat", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return vpar_fail(VPAR_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    if (len < 10) {
        close(fd);
        return vpar_fail(VPAR_ERR_FORMAT, "%s: file too short to be .npy (%zu bytes)", path, len);
    }
    int prot = PROT_READ | ((flags & VPAR_NPY_WRITABLE) ? PROT_WRITE : 0);
    void *map = mmap(NULL, len, prot, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED) return vpar_fail_errno(VPAR_ERR_IO, map_errno, "%s: cannot map", path);
#if defined(MADV_HUGEPAGE)
    /* Read-only and at least one huge page: ask for 2 MiB page-cache
       folios mapped whole (see "Page cache" in the header comment); a
       hint, errors ignored. Not for writable maps: their written pages
       turn private. */
    if (!(flags & VPAR_NPY_WRITABLE) && len >= VPAR__NPY_HUGE_MIN) (void)madvise(map, len, MADV_HUGEPAGE);
#endif

    vpar_npy h;
    size_t offset = 0;
    vpar_status s = vpar_npy_parse_header(map, len, path, &h, &offset);
    if (s != VPAR_OK) {
        munmap(map, len);
        return s;
    }
    if (h.nbytes > len - offset) {
        munmap(map, len);
        return vpar_fail(VPAR_ERR_FORMAT,
                         "%s: truncated data: shape needs %zu bytes of data but the file holds %zu",
                         path, h.nbytes, len - offset);
    }
    *arr = h;
    arr->vpar__map = map;
    arr->vpar__map_len = len;
    arr->vpar__writable = (flags & VPAR_NPY_WRITABLE) != 0;
    unsigned char *data = (unsigned char *)map + offset;
    size_t esize = vpar_dtype_size(h.dtype);
    if ((uintptr_t)data % esize != 0) {
        /* Only hand-made files get here (numpy pads to 16 or 64 bytes). */
        void *copy = VPAR_MALLOC(h.nbytes ? h.nbytes : 1);
        if (!copy) {
            munmap(map, len);
            memset(arr, 0, sizeof *arr);
            return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory copying misaligned data", path);
        }
        memcpy(copy, data, h.nbytes);
        arr->vpar__owned = copy;
        data = (unsigned char *)copy;
    }
    arr->data = data;
    return VPAR_OK;
}

VPAR_API void vpar_npy_release_pages(vpar_npy *arr) {
    if (!arr || !arr->vpar__map || arr->vpar__writable || arr->vpar__owned) return;
#if defined(MADV_DONTNEED)
    (void)madvise(arr->vpar__map, arr->vpar__map_len, MADV_DONTNEED);
#endif
}

/* The page-aligned span [*a, *e) of the elements [first, first + count)
   of a read-only file mapping (the range cut at arr->count): inward, the
   pages wholly inside the range; else outward, every page holding one of
   its elements. 0 when there is nothing to advise. */
static int vpar__npy_span(const vpar_npy *arr, size_t first, size_t count, int inward,
                          uintptr_t *a, uintptr_t *e) {
    if (!arr || !arr->vpar__map || arr->vpar__writable || arr->vpar__owned || !arr->data) return 0;
    if (first >= arr->count) return 0;
    if (count > arr->count - first) count = arr->count - first;
    size_t es = vpar_dtype_size(arr->dtype);
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t ps = pg > 0 ? (uintptr_t)pg : 4096;
    uintptr_t lo = (uintptr_t)arr->data + first * es, hi = lo + count * es;
    *a = inward ? (lo + ps - 1) / ps * ps : lo / ps * ps;
    *e = inward ? hi / ps * ps : (hi + ps - 1) / ps * ps;
    return *e > *a;
}

VPAR_API void vpar_npy_release_range(vpar_npy *arr, size_t first, size_t count) {
    uintptr_t a, e;
    if (!vpar__npy_span(arr, first, count, 1, &a, &e)) return;
#if defined(MADV_DONTNEED)
    (void)madvise((void *)a, e - a, MADV_DONTNEED);
#endif
}

VPAR_API void vpar_npy_populate_range(vpar_npy *arr, size_t first, size_t count) {
    uintptr_t a, e;
    if (!vpar__npy_span(arr, first, count, 0, &a, &e)) return;
#if defined(MADV_POPULATE_READ)
    (void)madvise((void *)a, e - a, MADV_POPULATE_READ);
#endif
}

VPAR_API void vpar_npy_close(vpar_npy *arr) {
    if (!arr) return;
    if (arr->vpar__map) munmap(arr->vpar__map, arr->vpar__map_len);
    if (arr->vpar__owned) VPAR_FREE(arr->vpar__owned);
    memset(arr, 0, sizeof *arr);
}

VPAR_API vpar_status vpar_npy_write(const char *path, const void *data,
                                    vpar_dtype dtype, int ndim,
                                    const size_t *shape) {
    if (ndim < 1 || ndim > 2)
        return vpar_fail(VPAR_ERR_INVALID, "%s: can only write 1-D or 2-D arrays (ndim=%d)", path, ndim);
    size_t count = shape[0], nbytes;
    if ((ndim == 2 && !vpar__mul_size(count, shape[1], &count)) ||
        !vpar__mul_size(count, vpar_dtype_size(dtype), &nbytes))
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: array byte size overflows size_t", path);
    if (!data && nbytes)
        return vpar_fail(VPAR_ERR_INVALID, "%s: NULL data for a non-empty array", path);

    char dict[256];
    int dn;
    if (ndim == 1)
        dn = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
                      vpar_dtype_descr(dtype), shape[0]);
    else
        dn = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                      vpar_dtype_descr(dtype), shape[0], shape[1]);
    /* Pad with spaces and a final newline so the data starts at a multiple
       of 64 bytes, as numpy >= 1.22 does. The dict is short: version 1.0. */
    size_t total = 10 + (size_t)dn + 1;
    size_t padded = (total + 63) / 64 * 64;
    unsigned char head[320];
    size_t header_len = padded - 10;
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)(header_len & 0xff);
    head[9] = (unsigned char)(header_len >> 8);
    memcpy(head + 10, dict, (size_t)dn);
    memset(head + 10 + dn, ' ', padded - total);
    head[padded - 1] = '\n';

    const void *bufs[2] = {head, data};
    size_t lens[2] = {padded, nbytes};
    return vpar_write_file_atomic(path, bufs, lens, 2);
}

#define VPAR__NPY_CONVERT(T)                                                   \
    switch (arr->dtype) {                                                      \
    case VPAR_DTYPE_F32: { const float *s = (const float *)arr->data;          \
        for (size_t i = 0; i < n; i++) out[i] = (T)s[i]; } break;              \
    case VPAR_DTYPE_F64: { const double *s = (const double *)arr->data;        \
        for (size_t i = 0; i < n; i++) out[i] = (T)s[i]; } break;              \
    case VPAR_DTYPE_I32: { const int32_t *s = (const int32_t *)arr->data;      \
        for (size_t i = 0; i < n; i++) out[i] = (T)s[i]; } break;              \
    case VPAR_DTYPE_I64: { const int64_t *s = (const int64_t *)arr->data;      \
        for (size_t i = 0; i < n; i++) out[i] = (T)s[i]; } break;              \
    case VPAR_DTYPE_U8: { const uint8_t *s = (const uint8_t *)arr->data;       \
        for (size_t i = 0; i < n; i++) out[i] = (T)s[i]; } break;              \
    case VPAR_DTYPE_BOOL: { const uint8_t *s = (const uint8_t *)arr->data;     \
        for (size_t i = 0; i < n; i++) out[i] = (T)(s[i] != 0); } break;       \
    }

VPAR_API void vpar_npy_to_f64(const vpar_npy *arr, double *out) {
    size_t n = arr->count;
    VPAR__NPY_CONVERT(double)
}

VPAR_API void vpar_npy_to_f32(const vpar_npy *arr, float *out) {
    size_t n = arr->count;
    VPAR__NPY_CONVERT(float)
}
#undef VPAR__NPY_CONVERT

#endif /* VPAR_IMPLEMENTATION */
