/* vpar/npy.h: reading numpy-written files (tests/data/npy, made by
   make_npy.py from the formulas restated here), writing the same bytes as
   numpy, round trips, and every malformed-input case the issue lists. */
#include "vpar.h"
#include "vpar_check.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vpar_npy_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int slot;
    char *b = buf[slot++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
    return b;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* The make_npy.py formulas, restated. */
static double expected_value(vpar_dtype t, size_t i) {
    double d = (double)i;
    switch (t) {
    case VPAR_DTYPE_F32: case VPAR_DTYPE_F64: return (d - 5.0) * 0.25;
    case VPAR_DTYPE_I32: case VPAR_DTYPE_I64: return (d - 5.0) * 1000003.0;
    case VPAR_DTYPE_U8: return (double)((7 * i) % 256);
    case VPAR_DTYPE_BOOL: return i % 3 == 0 ? 1.0 : 0.0;
    }
    return NAN;
}

static const struct { const char *tag; vpar_dtype dtype; } kinds[] = {
    {"f4", VPAR_DTYPE_F32}, {"f8", VPAR_DTYPE_F64}, {"i4", VPAR_DTYPE_I32},
    {"i8", VPAR_DTYPE_I64}, {"u1", VPAR_DTYPE_U8},  {"b1", VPAR_DTYPE_BOOL}};

START_TEST(test_reads_numpy_files_of_every_dtype) {
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int two_d = 0; two_d < 2; two_d++) {
            char rel[64];
            snprintf(rel, sizeof rel, "npy/%s_%s.npy", kinds[k].tag, two_d ? "2d" : "1d");
            vpar_npy a;
            vpar_status st = vpar_npy_open(&a, vpar_test_data(rel), 0);
            ck_assert_msg(st == VPAR_OK, "%s: %s", rel, vpar_last_error());
            ck_assert_int_eq(a.dtype, kinds[k].dtype);
            ck_assert_int_eq(a.ndim, two_d ? 2 : 1);
            ck_assert_uint_eq(a.shape[0], two_d ? 3 : 7);
            ck_assert_uint_eq(a.shape[1], two_d ? 4 : 1);
            ck_assert_uint_eq(a.count, two_d ? 12 : 7);
            ck_assert_uint_eq(a.nbytes, a.count * vpar_dtype_size(a.dtype));
            ck_assert_int_eq(a.version_major, 1);
            ck_assert_uint_eq((uintptr_t)a.data % vpar_dtype_size(a.dtype), 0);
            double got[12];
            float gotf[12];
            vpar_npy_to_f64(&a, got);
            vpar_npy_to_f32(&a, gotf);
            for (size_t i = 0; i < a.count; i++) {
                ck_assert_double_eq(got[i], expected_value(a.dtype, i));
                ck_assert_double_eq(gotf[i], (float)expected_value(a.dtype, i));
            }
            vpar_npy_close(&a);
            ck_assert_ptr_null(a.data);
        }
    }
}
END_TEST

START_TEST(test_reads_format_versions_2_and_3) {
    const char *files[] = {"npy/f8_2d_v2.npy", "npy/f8_2d_v3.npy"};
    for (int v = 0; v < 2; v++) {
        vpar_npy a;
        ck_assert_msg(vpar_npy_open(&a, vpar_test_data(files[v]), 0) == VPAR_OK, "%s", vpar_last_error());
        ck_assert_int_eq(a.version_major, v + 2);
        ck_assert_uint_eq(a.shape[0], 3);
        ck_assert_uint_eq(a.shape[1], 4);
        const double *d = (const double *)a.data;
        for (size_t i = 0; i < 12; i++) ck_assert_double_eq(d[i], expected_value(VPAR_DTYPE_F64, i));
        vpar_npy_close(&a);
    }
}
END_TEST

START_TEST(test_empty_array) {
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, vpar_test_data("npy/f8_empty.npy"), 0), VPAR_OK);
    ck_assert_uint_eq(a.shape[0], 0);
    ck_assert_uint_eq(a.shape[1], 5);
    ck_assert_uint_eq(a.count, 0);
    vpar_npy_close(&a);
}
END_TEST

static void expect_open_error(const char *path, vpar_status want, const char *needle) {
    vpar_npy a;
    memset(&a, 0x5a, sizeof a);
    vpar_clear_error();
    vpar_status st = vpar_npy_open(&a, path, 0);
    ck_assert_msg(st == want, "%s: status %d (%s), want %d; detail: %s", path, st,
                  vpar_status_str(st), want, vpar_last_error());
    ck_assert_msg(strstr(vpar_last_error(), path) != NULL, "error does not name the file: %s",
                  vpar_last_error());
    ck_assert_msg(strstr(vpar_last_error(), needle) != NULL, "error '%s' lacks '%s'",
                  vpar_last_error(), needle);
    ck_assert_ptr_null(a.data); /* zeroed on failure */
    ck_assert_uint_eq(a.count, 0);
}

START_TEST(test_unsupported_numpy_files) {
    expect_open_error(vpar_test_data("npy/f8_fortran.npy"), VPAR_ERR_UNSUPPORTED, "Fortran");
    expect_open_error(vpar_test_data("npy/f8_bigendian.npy"), VPAR_ERR_UNSUPPORTED, "big-endian");
    expect_open_error(vpar_test_data("npy/c16.npy"), VPAR_ERR_UNSUPPORTED, "dtype '<c16'");
    expect_open_error(vpar_test_data("npy/f8_3d.npy"), VPAR_ERR_UNSUPPORTED, "3-D");
    expect_open_error(vpar_test_data("npy/f8_0d.npy"), VPAR_ERR_UNSUPPORTED, "0-D");
}
END_TEST

START_TEST(test_missing_and_non_regular_files) {
    make_tmpdir();
    expect_open_error(tmp_path("does-not-exist.npy"), VPAR_ERR_IO, "cannot open");
    ck_assert_int_eq(errno, ENOENT);
    expect_open_error(tmpdir, VPAR_ERR_IO, "not a regular file");
    remove_tmpdir();
}
END_TEST

/* A valid file image built by hand, to be damaged by the cases below. */
static size_t build_image(unsigned char *buf, const char *dict, int major, size_t ndata) {
    size_t dn = strlen(dict), pre = major == 1 ? 10 : 12;
    size_t total = (pre + dn + 1 + 63) / 64 * 64, hl = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)((hl >> 8) & 0xff);
    if (major != 1) { buf[10] = (unsigned char)((hl >> 16) & 0xff); buf[11] = 0; }
    memcpy(buf + pre, dict, dn);
    memset(buf + pre + dn, ' ', total - pre - dn - 1);
    buf[total - 1] = '\n';
    for (size_t i = 0; i < ndata; i++) buf[total + i] = (unsigned char)i;
    return total + ndata;
}

START_TEST(test_malformed_files) {
    make_tmpdir();
    unsigned char img[1024];
    const char *ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    size_t n = build_image(img, ok, 1, 48);

    /* the undamaged image is accepted (so the failures below are the damage) */
    write_bytes(tmp_path("good.npy"), img, n);
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("good.npy"), 0), VPAR_OK);
    ck_assert_uint_eq(a.count, 6);
    vpar_npy_close(&a);

    write_bytes(tmp_path("truncated.npy"), img, n - 8);
    expect_open_error(tmp_path("truncated.npy"), VPAR_ERR_FORMAT, "truncated data");

    unsigned char bad[1024];
    memcpy(bad, img, n);
    bad[1] = 'X';
    write_bytes(tmp_path("magic.npy"), bad, n);
    expect_open_error(tmp_path("magic.npy"), VPAR_ERR_FORMAT, "bad magic");

    write_bytes(tmp_path("short.npy"), img, 5);
    expect_open_error(tmp_path("short.npy"), VPAR_ERR_FORMAT, "too short");

    write_bytes(tmp_path("headercut.npy"), img, 40); /* header declares more */
    expect_open_error(tmp_path("headercut.npy"), VPAR_ERR_FORMAT, "header longer than the file");

    memcpy(bad, img, n);
    bad[6] = 9;
    write_bytes(tmp_path("version.npy"), bad, n);
    expect_open_error(tmp_path("version.npy"), VPAR_ERR_UNSUPPORTED, "version 9.0");

    n = build_image(img, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 1, 0);
    write_bytes(tmp_path("overflow.npy"), img, n);
    expect_open_error(tmp_path("overflow.npy"), VPAR_ERR_OVERFLOW, "overflows");

    n = build_image(img, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 1, 0);
    write_bytes(tmp_path("overflow2.npy"), img, n);
    expect_open_error(tmp_path("overflow2.npy"), VPAR_ERR_OVERFLOW, "overflows");

    n = build_image(img, "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", 1, 0);
    write_bytes(tmp_path("overflow3.npy"), img, n); /* 2^61 elements * 8 bytes */
    expect_open_error(tmp_path("overflow3.npy"), VPAR_ERR_OVERFLOW, "overflows");

    n = build_image(img, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3) ", 1, 48);
    write_bytes(tmp_path("unclosed.npy"), img, n);
    expect_open_error(tmp_path("unclosed.npy"), VPAR_ERR_FORMAT, "malformed .npy header");

    n = build_image(img, "{'descr': '<f8', 'shape': (2, 3), }", 1, 48);
    write_bytes(tmp_path("nokey.npy"), img, n);
    expect_open_error(tmp_path("nokey.npy"), VPAR_ERR_FORMAT, "missing");

    n = build_image(img, "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2, 3), }", 1, 48);
    write_bytes(tmp_path("maybe.npy"), img, n);
    expect_open_error(tmp_path("maybe.npy"), VPAR_ERR_FORMAT, "fortran_order");

    n = build_image(img, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", 1, 16);
    write_bytes(tmp_path("struct.npy"), img, n);
    expect_open_error(tmp_path("struct.npy"), VPAR_ERR_UNSUPPORTED, "structured");

    /* version 2.0 with a 4-byte header length, and trailing bytes accepted */
    n = build_image(img, ok, 2, 48 + 3);
    write_bytes(tmp_path("v2.npy"), img, n);
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("v2.npy"), 0), VPAR_OK);
    ck_assert_int_eq(a.version_major, 2);
    vpar_npy_close(&a);
    remove_tmpdir();
}
END_TEST

START_TEST(test_misaligned_data_is_copied_aligned) {
    make_tmpdir();
    /* hand-made header whose data starts at an odd offset */
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    unsigned char img[256];
    size_t dn = strlen(dict), hl = dn + 1 + 2; /* total 10 + hl = odd-ish */
    memcpy(img, "\x93NUMPY\x01\x00", 8);
    img[8] = (unsigned char)hl;
    img[9] = 0;
    memcpy(img + 10, dict, dn);
    memset(img + 10 + dn, ' ', hl - dn - 1);
    img[10 + hl - 1] = '\n';
    double v[3] = {1.5, -2.25, 1e300};
    memcpy(img + 10 + hl, v, sizeof v);
    ck_assert_uint_ne((10 + hl) % 8, 0);
    write_bytes(tmp_path("odd.npy"), img, 10 + hl + sizeof v);
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("odd.npy"), 0), VPAR_OK);
    ck_assert_uint_eq((uintptr_t)a.data % 8, 0);
    ck_assert_mem_eq(a.data, v, sizeof v);
    vpar_npy_close(&a);
    remove_tmpdir();
}
END_TEST

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

START_TEST(test_round_trip_is_exact) {
    make_tmpdir();
    enum { R = 37, C = 53 };
    double *d = malloc(sizeof(double) * R * C);
    float *f = malloc(sizeof(float) * R * C);
    for (size_t i = 0; i < (size_t)R * C; i++) {
        uint64_t bits = next_random();
        memcpy(&d[i], &bits, 8); /* every bit pattern, NaN payloads and subnormals included */
        uint32_t b32 = (uint32_t)(bits >> 32);
        memcpy(&f[i], &b32, 4);
    }
    size_t shape2[2] = {R, C}, shape1[1] = {(size_t)R * C};
    ck_assert_int_eq(vpar_npy_write(tmp_path("d.npy"), d, VPAR_DTYPE_F64, 2, shape2), VPAR_OK);
    ck_assert_int_eq(vpar_npy_write(tmp_path("f.npy"), f, VPAR_DTYPE_F32, 1, shape1), VPAR_OK);
    vpar_npy a, b;
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("d.npy"), 0), VPAR_OK);
    ck_assert_int_eq(a.dtype, VPAR_DTYPE_F64);
    ck_assert_uint_eq(a.shape[0], R);
    ck_assert_uint_eq(a.shape[1], C);
    ck_assert_mem_eq(a.data, d, sizeof(double) * R * C);
    ck_assert_int_eq(vpar_npy_open(&b, tmp_path("f.npy"), 0), VPAR_OK);
    ck_assert_int_eq(b.ndim, 1);
    ck_assert_mem_eq(b.data, f, sizeof(float) * R * C);
    /* header padded so data starts on a 64-byte boundary */
    ck_assert_uint_eq(((const unsigned char *)a.data - (const unsigned char *)a.vpar__map) % 64, 0);
    vpar_npy_close(&a);
    vpar_npy_close(&b);
    /* no temporary files left behind */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 2", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    free(d);
    free(f);
    remove_tmpdir();
}
END_TEST

/* The writer against numpy itself, with no Python at test time: for the
   arrays of make_npy.py (formulas restated above), vpar_npy_write must
   produce exactly the bytes numpy's format.write_array wrote into
   tests/data/npy (version 1.0 header, dict key order, spacing and padding
   included), for every dtype, 1-D and 2-D. tests/npy_numpy_check.py also
   reads vpar's files with numpy when python3-numpy is installed. */
START_TEST(test_writes_the_bytes_numpy_writes) {
    make_tmpdir();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int nd = 1; nd <= 2; nd++) {
            size_t n = nd == 2 ? 12 : 7, shape[2] = {3, 4}, shape1[1] = {7};
            size_t es = vpar_dtype_size(kinds[k].dtype);
            unsigned char buf[12 * 8];
            for (size_t i = 0; i < n; i++) {
                double v = expected_value(kinds[k].dtype, i);
                switch (kinds[k].dtype) {
                case VPAR_DTYPE_F32: { float x = (float)v; memcpy(buf + i * es, &x, es); break; }
                case VPAR_DTYPE_F64: memcpy(buf + i * es, &v, es); break;
                case VPAR_DTYPE_I32: { int32_t x = (int32_t)v; memcpy(buf + i * es, &x, es); break; }
                case VPAR_DTYPE_I64: { int64_t x = (int64_t)v; memcpy(buf + i * es, &x, es); break; }
                default: buf[i] = (unsigned char)v; break;
                }
            }
            char name[64], fx[80];
            snprintf(name, sizeof name, "%s_%dd.npy", kinds[k].tag, nd);
            snprintf(fx, sizeof fx, "npy/%s", name);
            ck_assert_int_eq(vpar_npy_write(tmp_path(name), buf, kinds[k].dtype, nd,
                                            nd == 2 ? shape : shape1), VPAR_OK);
            char cmd[1200];
            snprintf(cmd, sizeof cmd, "cmp '%s' '%s'", tmp_path(name), vpar_test_data(fx));
            ck_assert_msg(system(cmd) == 0, "%s: vpar's bytes differ from numpy's", name);
        }
    }
    remove_tmpdir();
}
END_TEST

START_TEST(test_writable_mapping_is_private) {
    make_tmpdir();
    double v[4] = {1, 2, 3, 4};
    size_t shape[1] = {4};
    ck_assert_int_eq(vpar_npy_write(tmp_path("w.npy"), v, VPAR_DTYPE_F64, 1, shape), VPAR_OK);
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("w.npy"), VPAR_NPY_WRITABLE), VPAR_OK);
    ((double *)a.data)[2] = -7;
    vpar_npy_close(&a);
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("w.npy"), 0), VPAR_OK);
    ck_assert_double_eq(((const double *)a.data)[2], 3);
    vpar_npy_close(&a);
    remove_tmpdir();
}
END_TEST

#if defined(__linux__) && defined(MADV_HUGEPAGE)
/* The VmFlags line of the mapping that contains `addr` in
   /proc/self/smaps ("rd mr mw me hg ..."), or "" when not found. */
static void smaps_vmflags(const void *addr, char *out, size_t cap) {
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return;
    char line[512];
    int in = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

/* A read-only mapping of >= 2 MiB is advised MADV_HUGEPAGE (smaps shows
   "hg"), so the page cache reads it in 2 MiB folios; a smaller one and a
   writable (copy-on-write) one are not. */
START_TEST(test_large_read_only_mapping_asks_for_huge_pages) {
    make_tmpdir();
    size_t n = (3u << 20) / sizeof(float);
    float *v = (float *)calloc(n, sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t shape[1] = {n}, small[1] = {1000};
    ck_assert_int_eq(vpar_npy_write(tmp_path("big.npy"), v, VPAR_DTYPE_F32, 1, shape), VPAR_OK);
    ck_assert_int_eq(vpar_npy_write(tmp_path("small.npy"), v, VPAR_DTYPE_F32, 1, small), VPAR_OK);
    free(v);
    char fl[512];
    /* Calibration: the same advice given by hand must show in smaps
       (not on a kernel without transparent huge pages, where madvise
       fails, nor under qemu-user, which does not pass it on and shows the
       host's smaps: nothing to check there). */
    {
        int fd = open(tmp_path("big.npy"), O_RDONLY);
        ck_assert_int_ge(fd, 0);
        size_t len = (size_t)lseek(fd, 0, SEEK_END);
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        ck_assert(p != MAP_FAILED);
        int rc = madvise(p, len, MADV_HUGEPAGE);
        smaps_vmflags(p, fl, sizeof fl);
        munmap(p, len);
        if (rc != 0 || !strstr(fl, " hg")) {
            fprintf(stderr, "test_npy: MADV_HUGEPAGE does not show in /proc/self/smaps here (rc %d, VmFlags%s): "
                    "huge-page advice not checked\n", rc, fl);
            remove_tmpdir();
            return;
        }
    }
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("big.npy"), 0), VPAR_OK);
    smaps_vmflags(a.data, fl, sizeof fl);
    ck_assert_msg(strstr(fl, " rd") != NULL, "no smaps entry for the mapping: '%s'", fl);
    ck_assert_msg(strstr(fl, " hg") != NULL, "read-only 3 MiB mapping not advised: VmFlags%s", fl);
    vpar_npy_close(&a);
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("big.npy"), VPAR_NPY_WRITABLE), VPAR_OK);
    smaps_vmflags(a.data, fl, sizeof fl);
    ck_assert_msg(strstr(fl, " rd") && !strstr(fl, " hg"), "writable mapping: VmFlags%s", fl);
    vpar_npy_close(&a);
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("small.npy"), 0), VPAR_OK);
    smaps_vmflags(a.data, fl, sizeof fl);
    ck_assert_msg(strstr(fl, " rd") && !strstr(fl, " hg"), "4 KB mapping: VmFlags%s", fl);
    vpar_npy_close(&a);
    remove_tmpdir();
}
END_TEST
#endif

START_TEST(test_write_errors) {
    make_tmpdir();
    double v[2] = {1, 2};
    size_t shape[3] = {2, 1, 1};
    vpar_status st = vpar_npy_write(tmp_path("no/such/dir/x.npy"), v, VPAR_DTYPE_F64, 1, shape);
    ck_assert_int_eq(st, VPAR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "no/such/dir/x.npy"));
    st = vpar_npy_write(tmp_path("x.npy"), v, VPAR_DTYPE_F64, 3, shape);
    ck_assert_int_eq(st, VPAR_ERR_INVALID);
    size_t huge[2] = {SIZE_MAX / 2, 3};
    st = vpar_npy_write(tmp_path("x.npy"), v, VPAR_DTYPE_F64, 2, huge);
    ck_assert_int_eq(st, VPAR_ERR_OVERFLOW);
    st = vpar_npy_write(tmp_path("x.npy"), NULL, VPAR_DTYPE_F64, 1, shape);
    ck_assert_int_eq(st, VPAR_ERR_INVALID);
    /* a failed write leaves an existing file untouched */
    ck_assert_int_eq(vpar_npy_write(tmp_path("keep.npy"), v, VPAR_DTYPE_F64, 1, shape), VPAR_OK);
    ck_assert_int_eq(vpar_npy_write(tmp_path("keep.npy"), v, VPAR_DTYPE_F64, 3, shape), VPAR_ERR_INVALID);
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, tmp_path("keep.npy"), 0), VPAR_OK);
    ck_assert_uint_eq(a.count, 2);
    vpar_npy_close(&a);
    remove_tmpdir();
}
END_TEST

START_TEST(test_parse_header_in_memory) {
    unsigned char img[256];
    size_t n = build_image(img, "{'shape': (5,), 'fortran_order': False, 'descr': '<i8', }", 1, 40);
    vpar_npy a;
    size_t off = 0;
    ck_assert_int_eq(vpar_npy_parse_header(img, n, "mem", &a, &off), VPAR_OK);
    ck_assert_int_eq(a.dtype, VPAR_DTYPE_I64);
    ck_assert_uint_eq(a.count, 5);
    ck_assert_uint_eq(off, n - 40); /* where build_image put the data */
    ck_assert_uint_eq(off % 64, 0);
    ck_assert_int_eq(vpar_npy_parse_header(img, 9, "mem", &a, &off), VPAR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "mem: "));
}
END_TEST

int main(void) {
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_reads_numpy_files_of_every_dtype);
    tcase_add_test(tc, test_reads_format_versions_2_and_3);
    tcase_add_test(tc, test_empty_array);
    tcase_add_test(tc, test_unsupported_numpy_files);
    tcase_add_test(tc, test_missing_and_non_regular_files);
    tcase_add_test(tc, test_malformed_files);
    tcase_add_test(tc, test_misaligned_data_is_copied_aligned);
    tcase_add_test(tc, test_round_trip_is_exact);
    tcase_add_test(tc, test_writes_the_bytes_numpy_writes);
    tcase_add_test(tc, test_writable_mapping_is_private);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    tcase_add_test(tc, test_large_read_only_mapping_asks_for_huge_pages);
#endif
    tcase_add_test(tc, test_write_errors);
    tcase_add_test(tc, test_parse_header_in_memory);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
