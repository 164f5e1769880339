/* Tests of the accumulate kernels of vpar/simd.h (vpar_acc_f64,
   vpar_acc_f32_f64, vpar_acc_rows_f64, vpar_acc_rows_f32_f64,
   vpar_acc_u32_f64, vpar_acc_rows_u32_f64).

   - The documented summation order, written here as a plain loop (groups
     of 4 rows as acc + ((a + b) + (c + d)), then a pair acc + (a + b), then
     a single acc + a; float widened first), is the specification: the
     scalar path and every vector path this machine runs (AVX2, AVX-512 on
     x86; NEON under qemu-aarch64) must match it bit for bit (NaN: both
     NaN), forced one by one with vpar_simd_set_path.
   - Hand-derived cases where another order would give another answer.
   - Integer-valued data, whose sums are exact in any order, against the
     exact total (independent of the order).
   - Odd lengths, misaligned starts, c0..c1 ranges (including across the
     2048-column tile), 0/1/2/3/4/5/9/17 rows, repeated and unsorted rows,
     NaN/inf propagation, and that nothing outside acc[0, c1 - c0) is
     written.
   - uint32 rows (rank codes): values across the whole range, 2^31 and
     above included (AVX2 converts only signed int32), against an exact
     uint64 sum computed here, on every path. */
#include "vpar.h"
#include "vpar_check.h"
#include "vpar_test_util.h"

#include <math.h>
#include <stdint.h>

#define CHECK(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)
#define CHECK1(cond) CHECK(cond, "%s", #cond)

/* Every path: scalar first, then each vector path this machine runs. */
static int npaths;
static vpar_simd_path paths[VPAR_SIMD_PATH_COUNT];
static void find_paths(void) {
    paths[0] = VPAR_SIMD_SCALAR;
    npaths = 1 + vpar_test_simd_paths(paths + 1);
}
static void use(vpar_simd_path p) {
    CHECK(vpar_simd_set_path(p) == VPAR_OK, "%s", vpar_last_error());
    CHECK(p == VPAR_SIMD_AUTO || vpar_simd_active() == p, "active %d, wanted %d", (int)vpar_simd_active(), (int)p);
}

/* The specification of the order, one column at a time. */
static double spec_col(double acc, const double *m, const float *mf, size_t ld, const uint32_t *rows,
                       size_t nrows, size_t j) {
#define V(q) (mf ? (double)mf[(size_t)rows[q] * ld + j] : m[(size_t)rows[q] * ld + j])
    size_t q = 0;
    for (; q + 4 <= nrows; q += 4) acc = acc + ((V(q) + V(q + 1)) + (V(q + 2) + V(q + 3)));
    if (q + 2 <= nrows) {
        acc = acc + (V(q) + V(q + 1));
        q += 2;
    }
    if (q < nrows) acc = acc + V(q);
#undef V
    return acc;
}

/* Patterns: 0 uniform, 1 ill-conditioned (+-1e15 + small: order shows),
   2 NaN sprinkled, 3 +-inf sprinkled, 4 signed zeros, 5 mixed,
   6 small integers (exact in any order). f32: magnitudes that fit. */
enum { NPAT = 7 };
static double value(int p, int f32) {
    double v = vpar_test_rng_sym();
    uint64_t r = vpar_test_rng_next();
    switch (p) {
    case 1: return (r & 1 ? -1.0 : 1.0) * (f32 ? 1e7 : 1e15) + v;
    case 2: return r % 7 == 0 ? NAN : v;
    case 3: return r % 9 == 0 ? (r & 16 ? INFINITY : -INFINITY) : v;
    case 4: return r & 1 ? 0.0 : -0.0;
    case 5: { int k = (int)(r % 6); return k == 0 ? NAN : k == 1 ? INFINITY : k == 2 ? -INFINITY : k == 3 ? -0.0 : v * 1e3; }
    case 6: return (double)((int)(r % 2001) - 1000);
    default: return v;
    }
}

/* One case on every path: an nr x ld matrix (rows listed by `rows`),
   columns [c0, c1), accumulator starting at acc0 (with guard cells). */
static void rows_case(size_t nmat, size_t ld, const uint32_t *rows, size_t nrows, size_t c0, size_t c1,
                      int pattern, int f32, size_t off) {
    size_t len = nmat * ld;
    double *bm = malloc((len + 8) * sizeof *bm);
    float *bf = malloc((len + 8) * sizeof *bf);
    size_t w = c1 > c0 ? c1 - c0 : 0;
    double *acc0 = malloc((w + 2) * sizeof *acc0), *want = malloc((w + 2) * sizeof *want);
    double *bacc = malloc((w + 8 + 2) * sizeof *bacc);
    CHECK1(bm && bf && acc0 && want && bacc);
    double *m = bm + off;
    float *mf = bf + off;
    for (size_t i = 0; i < len; i++) {
        double v = value(pattern, f32);
        mf[i] = (float)v;
        m[i] = f32 ? (double)mf[i] : v;
    }
    for (size_t j = 0; j < w; j++) acc0[j] = pattern == 6 ? (double)((int)(vpar_test_rng_next() % 100) - 50) : value(pattern == 1 ? 0 : pattern, 0);
    for (size_t j = 0; j < w; j++)
        want[j] = spec_col(acc0[j], f32 ? NULL : m, f32 ? mf : NULL, ld, rows, nrows, c0 + j);
    /* Order-free check of the specification itself on integer data. */
    if (pattern == 6)
        for (size_t j = 0; j < w; j++) {
            double exact = acc0[j];
            for (size_t q = 0; q < nrows; q++) exact += m[(size_t)rows[q] * ld + c0 + j];
            CHECK(want[j] == exact, "spec %.17g vs exact %.17g", want[j], exact);
        }
    /* acc at an odd offset (off) so vector stores are misaligned too. */
    double *acc = bacc + 1 + (off % 3);
    for (int pi = 0; pi < npaths; pi++) {
        use(paths[pi]);
        acc[-1] = 12345.0;
        acc[w] = -777.0;
        memcpy(acc, acc0, w * sizeof *acc);
        if (f32) vpar_acc_rows_f32_f64(acc, mf, ld, rows, nrows, c0, c1);
        else vpar_acc_rows_f64(acc, m, ld, rows, nrows, c0, c1);
        CHECK(acc[-1] == 12345.0 && acc[w] == -777.0, "write outside acc on %s",
              vpar_simd_path_name(paths[pi]));
        for (size_t j = 0; j < w; j++)
            CHECK(vpar_test_same(acc[j], want[j]),
                  "acc_rows_%s on %s: nrows=%zu c0=%zu c1=%zu ld=%zu pattern=%d off=%zu [%zu]: %.17g vs spec %.17g",
                  f32 ? "f32_f64" : "f64", vpar_simd_path_name(paths[pi]), nrows, c0, c1, ld, pattern, off, j,
                  acc[j], want[j]);
    }
    free(bm); free(bf); free(acc0); free(want); free(bacc);
}

START_TEST(test_acc_rows_every_path) {
    find_paths();
    printf("accumulate kernels compared with the specification on:");
    for (int i = 0; i < npaths; i++) printf(" %s", vpar_simd_path_name(paths[i]));
    printf("\n");
    /* 16 and more: the float kernels' 16-row blocks, then groups of 4, a
       pair, a single (23 = 16 + 4 + 2 + 1) */
    static const size_t nrows_list[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 22, 23, 32};
    static const size_t widths[] = {0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 67};
    int lv = vpar_test_light();
    uint32_t rows[32];
    for (size_t a = 0; a < sizeof nrows_list / sizeof nrows_list[0]; a++)
        for (size_t b = 0; b < sizeof widths / sizeof widths[0]; b++)
            for (int p = 0; p < NPAT; p++)
                for (int f32 = 0; f32 < 2; f32++)
                    for (size_t off = 0; off < 4; off += lv ? 3 : 1) {
                        if (lv == 2 && (a + b + (size_t)p + off) % 3 != 0) continue;
                        size_t nr = nrows_list[a], width = widths[b];
                        size_t c0 = (a + b + off) % 5, c1 = c0 + width, ld = c1 + (off * 3 + (size_t)p) % 4;
                        size_t nmat = 11;
                        vpar_test_rng_seed(nr * 1000003 + width * 101 + (size_t)p * 7 + off + (size_t)f32 * 13);
                        /* Unsorted, with repeats (rows may repeat). */
                        for (size_t q = 0; q < nr; q++) rows[q] = (uint32_t)(vpar_test_rng_next() % nmat);
                        rows_case(nmat, ld, rows, nr, c0, c1, p, f32, off);
                    }
    use(VPAR_SIMD_AUTO);
}
END_TEST

/* Wide ranges: across the 2048-column tile, with c0 inside a row. */
START_TEST(test_acc_rows_wide) {
    find_paths();
    static const size_t ranges[][2] = {{0, 2048}, {0, 2049}, {3, 4100}, {2047, 6150}, {1, 2}};
    uint32_t rows[9] = {4, 0, 7, 7, 2, 1, 6, 3, 5};
    int lv = vpar_test_light();
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        for (size_t nr = 1; nr <= 9; nr += lv ? 4 : 1)
            for (int f32 = 0; f32 < 2; f32++) {
                vpar_test_rng_seed(i * 31 + nr);
                rows_case(8, 6151, rows, nr, ranges[i][0], ranges[i][1], nr % 2 ? 1 : 6, f32, nr % 3);
            }
    use(VPAR_SIMD_AUTO);
}
END_TEST

START_TEST(test_acc_every_path) {
    find_paths();
    int lv = vpar_test_light();
    size_t nmax = 5800;
    double *bx = malloc((nmax + 8) * sizeof *bx), *a0 = malloc(nmax * sizeof *a0);
    double *want = malloc(nmax * sizeof *want), *bacc = malloc((nmax + 8) * sizeof *bacc);
    float *bf = malloc((nmax + 8) * sizeof *bf);
    CHECK1(bx && a0 && want && bacc && bf);
    for (size_t n = 0; n <= nmax; n = n < 70 ? n + 1 : n * 3 + 1) {
        for (int p = 0; p < NPAT; p++)
            for (size_t off = 0; off < 4; off += lv ? 3 : 1)
                for (int f32 = 0; f32 < 2; f32++) {
                    vpar_test_rng_seed(n * 17 + (size_t)p * 3 + off);
                    double *x = bx + off;
                    float *xf = bf + off;
                    double *acc = bacc + 1 + off % 2;
                    for (size_t i = 0; i < n; i++) {
                        xf[i] = (float)value(p, 1);
                        x[i] = value(p, 0);
                        a0[i] = value(p == 1 ? 0 : p, 0);
                        want[i] = a0[i] + (f32 ? (double)xf[i] : x[i]);
                    }
                    for (int pi = 0; pi < npaths; pi++) {
                        use(paths[pi]);
                        memcpy(acc, a0, n * sizeof *acc);
                        acc[-1] = 1.5;
                        acc[n] = 2.5;
                        if (f32) vpar_acc_f32_f64(acc, xf, n);
                        else vpar_acc_f64(acc, x, n);
                        CHECK1(acc[-1] == 1.5 && acc[n] == 2.5);
                        for (size_t i = 0; i < n; i++)
                            CHECK(vpar_test_same(acc[i], want[i]), "acc_%s on %s n=%zu off=%zu p=%d [%zu]: %.17g vs %.17g",
                                  f32 ? "f32_f64" : "f64", vpar_simd_path_name(paths[pi]), n, off, p, i,
                                  acc[i], want[i]);
                    }
                }
        if (lv == 2 && n > 40) break;
    }
    free(bx); free(a0); free(want); free(bacc); free(bf);
    use(VPAR_SIMD_AUTO);
}
END_TEST

/* Cases derived by hand, where another order gives another answer
   (1e16 + 1 rounds to 1e16; -1e16 + 1 rounds to -1e16). One column,
   repeated in 11 columns so that vector bodies and scalar tails both
   see it. */
static void hand_case(const double *vals, size_t nr, double acc0, double expect) {
    enum { W = 11 };
    double m[9 * W];
    uint32_t rows[9];
    for (size_t q = 0; q < nr; q++) {
        rows[q] = (uint32_t)q;
        for (size_t j = 0; j < W; j++) m[q * W + j] = vals[q];
    }
    for (int pi = 0; pi < npaths; pi++) {
        use(paths[pi]);
        double acc[W];
        for (size_t j = 0; j < W; j++) acc[j] = acc0;
        vpar_acc_rows_f64(acc, m, W, rows, nr, 0, W);
        for (size_t j = 0; j < W; j++)
            CHECK(vpar_test_same(acc[j], expect), "hand case nr=%zu on %s [%zu]: %.17g, expected %.17g", nr,
                  vpar_simd_path_name(paths[pi]), j, acc[j], expect);
    }
}

START_TEST(test_acc_rows_order_by_hand) {
    find_paths();
    /* Group of 4: 0 + ((1e16 + 1) + (-1e16 + 1)) = 1e16 - 1e16 = 0; row by
       row would give 1. */
    hand_case((const double[]){1e16, 1, -1e16, 1}, 4, 0.0, 0.0);
    /* 5 rows: that group (0), then the single 1. */
    hand_case((const double[]){1e16, 1, -1e16, 1, 1}, 5, 0.0, 1.0);
    /* 3 rows: the pair first, 0 + (1 + 1e16) = 1e16, then -1e16: 0; a
       single-then-pair order would give 1. */
    hand_case((const double[]){1, 1e16, -1e16}, 3, 0.0, 0.0);
    /* A pair is summed before the accumulator: 1e16 + (1 + 1) = 1e16 + 2;
       row by row: 1e16. */
    hand_case((const double[]){1, 1}, 2, 1e16, 1e16 + 2);
    /* Signed zeros: -0 + ((-0 + -0) + (-0 + -0)) = -0. */
    hand_case((const double[]){-0.0, -0.0, -0.0, -0.0, -0.0}, 5, -0.0, -0.0);
    hand_case((const double[]){-0.0, 0.0}, 2, -0.0, 0.0);
    use(VPAR_SIMD_AUTO);
}
END_TEST

/* float32 rows are widened before any addition: 2^24 + 1 is not a float
   but is exact in double, so the group (2^24 + 1) + (-2^24 + 1) gives 2
   (in float it would give 0 or 1). */
START_TEST(test_acc_rows_f32_widened) {
    find_paths();
    enum { W = 13 };
    float m[4 * W];
    const float v[4] = {16777216.0f, 1.0f, -16777216.0f, 1.0f};
    for (int q = 0; q < 4; q++)
        for (int j = 0; j < W; j++) m[q * W + j] = v[q];
    uint32_t rows[4] = {0, 1, 2, 3};
    for (int pi = 0; pi < npaths; pi++) {
        use(paths[pi]);
        double acc[W] = {0};
        vpar_acc_rows_f32_f64(acc, m, W, rows, 4, 0, W);
        for (int j = 0; j < W; j++) CHECK(acc[j] == 2.0, "%s [%d]: %.17g", vpar_simd_path_name(paths[pi]), j, acc[j]);
        double acc2[W] = {0};
        vpar_acc_f32_f64(acc2, m, W);
        vpar_acc_f32_f64(acc2, m + W, W);
        for (int j = 0; j < W; j++) CHECK1(acc2[j] == 16777217.0);
    }
    use(VPAR_SIMD_AUTO);
}
END_TEST

/* NaN and infinities: any NaN in a column's inputs (rows or acc) gives
   NaN there; +inf with -inf gives NaN; +inf alone stays +inf. Derived
   from IEEE 754 addition, for every position of the special value among
   5 rows (so in the group and in the single). */
START_TEST(test_acc_rows_nonfinite) {
    find_paths();
    enum { W = 9, NR = 5 };
    double m[NR * W];
    uint32_t rows[NR] = {0, 1, 2, 3, 4};
    for (int pi = 0; pi < npaths; pi++) {
        use(paths[pi]);
        for (int pos = 0; pos < NR; pos++)
            for (int kind = 0; kind < 3; kind++) {
                for (int q = 0; q < NR; q++)
                    for (int j = 0; j < W; j++) m[q * W + j] = 1.0;
                /* Column j gets the special value in row pos when j is odd;
                   kind 2 puts +inf in row pos and -inf in row (pos+1)%NR. */
                for (int j = 1; j < W; j += 2) {
                    if (kind == 0) m[pos * W + j] = NAN;
                    else if (kind == 1) m[pos * W + j] = INFINITY;
                    else { m[pos * W + j] = INFINITY; m[((pos + 1) % NR) * W + j] = -INFINITY; }
                }
                double acc[W];
                for (int j = 0; j < W; j++) acc[j] = 0.5;
                vpar_acc_rows_f64(acc, m, W, rows, NR, 0, W);
                for (int j = 0; j < W; j++) {
                    double e = j % 2 == 0 ? 5.5 : kind == 1 ? INFINITY : NAN;
                    CHECK(vpar_test_same(acc[j], e), "%s pos %d kind %d [%d]: %g, expected %g",
                          vpar_simd_path_name(paths[pi]), pos, kind, j, acc[j], e);
                }
            }
        /* A NaN accumulator stays NaN; -inf accumulator plus +inf row: NaN. */
        for (int q = 0; q < NR; q++)
            for (int j = 0; j < W; j++) m[q * W + j] = q == 2 ? INFINITY : 1.0;
        double acc[W];
        for (int j = 0; j < W; j++) acc[j] = j % 2 ? NAN : -INFINITY;
        vpar_acc_rows_f64(acc, m, W, rows, NR, 0, W);
        for (int j = 0; j < W; j++) CHECK1(isnan(acc[j]));
    }
    use(VPAR_SIMD_AUTO);
}
END_TEST

/* uint32 rows on every path: integer sums are exact, so the reference is
   the uint64 sum (plus the integer start value); values span [0, 2^32),
   many at or above 2^31 and the extremes 0, 2^31 - 1, 2^31, 2^32 - 1. */
START_TEST(test_acc_u32_every_path) {
    /* NQ listed rows (repeats allowed): up to two 16-row passes, a group
       of 4, a pair and a single */
    enum { LD = 4103, NR = 9, NQ = 39 };
    uint32_t *m = (uint32_t *)malloc((size_t)NR * LD * sizeof *m);
    double *acc = (double *)malloc((LD + 2) * sizeof *acc);
    uint64_t *ref = (uint64_t *)malloc(LD * sizeof *ref);
    CHECK1(m && acc && ref);
    const uint32_t special[4] = {0u, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    find_paths();
    for (size_t i = 0; i < (size_t)NR * LD; i++) {
        uint64_t r = vpar_test_rng_next();
        m[i] = i % 7 == 3 ? special[(r >> 40) % 4] : (uint32_t)r;
    }
    uint32_t rows[NQ] = {8, 0, 3, 3, 7, 1, 5, 2, 6};
    for (size_t q = NR; q < NQ; q++) rows[q] = (uint32_t)((q * 5 + q / 7) % NR);
    const size_t spans[][2] = {{0, LD}, {1, LD - 1}, {5, 2050}, {2047, 2049}, {0, 3}, {4100, 4103}};
    /* ... and AUTO, which may mix paths (vpar_simd_best) */
    for (int pi = 0; pi <= npaths; pi++) {
        vpar_simd_path path = pi < npaths ? paths[pi] : VPAR_SIMD_AUTO;
        use(path);
        for (size_t nr = 0; nr <= NQ; nr++)
            for (size_t sp = 0; sp < sizeof spans / sizeof spans[0]; sp++) {
                size_t c0 = spans[sp][0], c1 = spans[sp][1], len = c1 - c0;
                for (size_t j = 0; j < len + 2; j++) acc[j] = -1.0;
                for (size_t j = 0; j < len; j++) {
                    acc[j] = (double)(j * 3);
                    ref[j] = j * 3;
                    for (size_t q = 0; q < nr; q++) ref[j] += m[(size_t)rows[q] * LD + c0 + j];
                }
                vpar_acc_rows_u32_f64(acc, m, LD, rows, nr, c0, c1);
                for (size_t j = 0; j < len; j++)
                    CHECK(acc[j] == (double)ref[j], "path %d, %zu rows, [%zu, %zu): column %zu is "
                          "%.17g, exact sum %llu", (int)path, nr, c0, c1, c0 + j, acc[j],
                          (unsigned long long)ref[j]);
                CHECK(acc[len] == -1.0 && acc[len + 1] == -1.0, "path %d: wrote past the range",
                      (int)path);
                /* the one-row form */
                vpar_acc_u32_f64(acc, m + c0, len);
                for (size_t j = 0; j < len; j++)
                    CHECK(acc[j] == (double)(ref[j] + m[c0 + j]), "path %d: vpar_acc_u32_f64 column %zu",
                          (int)path, c0 + j);
            }
    }
    use(VPAR_SIMD_AUTO);
    free(m);
    free(acc);
    free(ref);
}
END_TEST

/* Empty ranges touch nothing (and need no pointers). */
START_TEST(test_acc_empty) {
    double acc[3] = {1, 2, 3}, m[3] = {4, 5, 6};
    uint32_t r0 = 0;
    vpar_acc_f64(NULL, NULL, 0);
    vpar_acc_f32_f64(NULL, NULL, 0);
    vpar_acc_rows_f64(NULL, NULL, 0, NULL, 0, 0, 5);
    vpar_acc_rows_f64(acc, m, 3, &r0, 1, 2, 2);
    vpar_acc_rows_f64(acc, m, 3, &r0, 1, 3, 1); /* c1 < c0: empty */
    vpar_acc_rows_f32_f64(acc, NULL, 3, NULL, 0, 0, 3);
    vpar_acc_u32_f64(NULL, NULL, 0);
    vpar_acc_rows_u32_f64(acc, NULL, 3, NULL, 0, 0, 3);
    CHECK1(acc[0] == 1 && acc[1] == 2 && acc[2] == 3);
    vpar_acc_rows_f64(acc, m, 3, &r0, 1, 1, 3);
    CHECK1(acc[0] == 6 && acc[1] == 8 && acc[2] == 3);
}
END_TEST

int main(void) {
    Suite *s = suite_create("simd_acc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_acc_rows_order_by_hand);
    tcase_add_test(tc, test_acc_rows_f32_widened);
    tcase_add_test(tc, test_acc_rows_nonfinite);
    tcase_add_test(tc, test_acc_empty);
    tcase_add_test(tc, test_acc_every_path);
    tcase_add_test(tc, test_acc_rows_every_path);
    tcase_add_test(tc, test_acc_rows_wide);
    tcase_add_test(tc, test_acc_u32_every_path);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
