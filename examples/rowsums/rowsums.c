/* vpar-rowsums — the vectorization lesson, in C.

   1. rowSums of an n x n float64 matrix (numpy: a.sum(axis=1)):
        - a Python-style loop: one element at a time into one accumulator
          (what `for j in range(n): s += a[i][j]` becomes; the C compiler may
          not reorder floating-point additions, so it cannot vectorize it);
        - the same loop walking down columns (the wrong loop order);
        - vpar_reduce_axis_f64 on one thread (vectorized, pairwise);
        - the same over a thread pool.
   2. Matrix multiply of small integers stored as int64 vs float64, the
      numpy lesson "integer matmul has no BLAS": int64 products have no
      vector instruction on most CPUs, float64 ones stream through FMA units.
        - int64, i-k-j loop;  - float64, i-k-j loop (compiler-vectorized);
        - float64, rows of A dotted with rows of B^T by vpar_dot_f64.
   Prints each timing (median of --reps runs) and checks that every variant
   computes the same result; exits 1 if one does not. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "excommon.h"

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: vpar-rowsums [--n N] [--matmul-n M] [-t, --threads T] [--reps R]\n"
            "  Times rowSums of an N x N float64 matrix (Python-style loop, column walk,\n"
            "  vpar on 1 thread, vpar on T threads) and an M x M matrix multiply of small\n"
            "  integers as int64 vs float64; checks that all variants agree.\n"
            "  --n N          matrix size for rowSums (default 1000)\n"
            "  --matmul-n M   matrix size for the multiply (default 256; 0 skips it)\n"
            "  --threads T    pool threads for the parallel rowSums (default: all CPUs)\n"
            "  --reps R       repetitions per timing, median reported (default 15)\n"
            "  -h, --help     this text;  --version  the version\n"
            "  VPAR_SIMD=scalar|avx2|avx512|neon forces a SIMD path.\n"
            "exit status: 0 ok, 1 a variant computed a wrong result, 2 usage or setup error\n");
}

static int parse_size(const char *opt, const char *s, size_t lo, size_t hi, size_t *out) {
    return vpar_ex_opt_size("vpar-rowsums", opt, s, lo, hi, out);
}

typedef struct timing {
    double t[101];
    int n;
} timing;
static double tmedian(timing *t) {
    qsort(t->t, (size_t)t->n, sizeof t->t[0], cmp_double);
    return t->t[t->n / 2];
}

/* 1. rowSums four ways, timed; 1 when a variant is wrong, -1 on a setup
   error (printed), else 0. *s: the generator's state. */
static int bench_rowsums(size_t n, size_t reps, vpar_pool *pool, uint64_t *s) {
    int bad = 0;
    double *a = malloc(n * n * sizeof *a), *r[4];
    for (int k = 0; k < 4; k++) r[k] = malloc(n * sizeof *r[k]);
    if (!a || !r[0] || !r[1] || !r[2] || !r[3]) {
        fprintf(stderr, "vpar-rowsums: out of memory for a %zu x %zu matrix\n", n, n);
        return -1;
    }
    for (size_t i = 0; i < n * n; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        a[i] = (double)(*s >> 11) * 0x1.0p-53;
    }
    const char *label[4] = {"Python-style loop (1 accumulator)", "column walk (wrong loop order)",
                            "vpar, 1 thread", "vpar, pool"};
    timing tm[4] = {{{0}, 0}};
    for (size_t rep = 0; rep < reps; rep++) {
        double t0 = vpar_ex_now();
        for (size_t i = 0; i < n; i++) {
            double acc = 0.0;
            for (size_t j = 0; j < n; j++) acc += a[i * n + j];
            r[0][i] = acc;
        }
        double t1 = vpar_ex_now();
        for (size_t i = 0; i < n; i++) r[1][i] = 0.0;
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) r[1][i] += a[i * n + j];
        double t2 = vpar_ex_now();
        vpar_status st = vpar_reduce_axis_f64(VPAR_AXIS_SUM, 1, a, n, n, n, r[2], NULL);
        double t3 = vpar_ex_now();
        if (st == VPAR_OK) st = vpar_reduce_axis_f64(VPAR_AXIS_SUM, 1, a, n, n, n, r[3], pool);
        double t4 = vpar_ex_now();
        if (st != VPAR_OK) {
            fprintf(stderr, "vpar-rowsums: %s\n", vpar_last_error());
            return -1;
        }
        tm[0].t[tm[0].n++] = t1 - t0;
        tm[1].t[tm[1].n++] = t2 - t1;
        tm[2].t[tm[2].n++] = t3 - t2;
        tm[3].t[tm[3].n++] = t4 - t3;
    }
    printf("rowSums of a %zu x %zu float64 matrix (median of %zu runs, SIMD path %s, pool of %d threads):\n",
           n, n, reps, vpar_simd_path_name(vpar_simd_active()), vpar_pool_size(pool));
    double base = tmedian(&tm[0]);
    for (int k = 0; k < 4; k++) {
        double t = k ? tmedian(&tm[k]) : base;
        printf("  %-36s %10.3f ms  %6.1fx\n", label[k], t * 1e3, base / t);
    }
    /* Every variant sums the same numbers: they may differ only by rounding
       (each within n * 2^-53 * sum|row| of the exact sum; values are >= 0). */
    for (size_t i = 0; i < n; i++) {
        double tol = 2.0 * (double)n * 0x1p-53 * r[2][i];
        for (int k = 0; k < 4; k++)
            if (!(fabs(r[k][i] - r[2][i]) <= tol)) {
                fprintf(stderr, "vpar-rowsums: WRONG: row %zu: %s gives %.17g, vpar %.17g\n", i, label[k], r[k][i], r[2][i]);
                bad = 1;
                break;
            }
        if (r[3][i] != r[2][i]) { /* documented: bit-identical for any thread count */
            fprintf(stderr, "vpar-rowsums: WRONG: row %zu differs between 1 thread and the pool\n", i);
            bad = 1;
        }
        if (bad) break;
    }
    free(a);
    for (int k = 0; k < 4; k++) free(r[k]);

    return bad;
}

/* 2. An mm x mm multiply of small integers as int64 and as float64,
   timed; returns 1 when the products differ (checked only while `bad` is
   0), -1 on a setup error, else `bad`. */
static int bench_matmul(size_t mm, size_t reps, uint64_t *s, int bad) {
    size_t m2 = mm * mm;
    int64_t *ia = malloc(m2 * sizeof *ia), *ib = malloc(m2 * sizeof *ib), *ic = malloc(m2 * sizeof *ic);
    double *fa = malloc(m2 * sizeof *fa), *fb = malloc(m2 * sizeof *fb), *fbt = malloc(m2 * sizeof *fbt);
    double *fc = malloc(m2 * sizeof *fc), *fc2 = malloc(m2 * sizeof *fc2);
    if (!ia || !ib || !ic || !fa || !fb || !fbt || !fc || !fc2) {
        fprintf(stderr, "vpar-rowsums: out of memory for %zu x %zu matrices\n", mm, mm);
        return -1;
    }
    for (size_t i = 0; i < m2; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        ia[i] = (int64_t)(*s >> 58) - 32; /* small integers: every product */
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        ib[i] = (int64_t)(*s >> 58) - 32; /* and sum is exact in float64 */
        fa[i] = (double)ia[i];
        fb[i] = (double)ib[i];
    }
    for (size_t i = 0; i < mm; i++)
        for (size_t j = 0; j < mm; j++) fbt[j * mm + i] = fb[i * mm + j];
    timing mt[3] = {{{0}, 0}};
    for (size_t rep = 0; rep < reps; rep++) {
        double t0 = vpar_ex_now();
        memset(ic, 0, m2 * sizeof *ic);
        for (size_t i = 0; i < mm; i++)
            for (size_t k = 0; k < mm; k++) {
                int64_t aik = ia[i * mm + k];
                for (size_t j = 0; j < mm; j++) ic[i * mm + j] += aik * ib[k * mm + j];
            }
        double t1 = vpar_ex_now();
        memset(fc, 0, m2 * sizeof *fc);
        for (size_t i = 0; i < mm; i++)
            for (size_t k = 0; k < mm; k++) {
                double aik = fa[i * mm + k];
                for (size_t j = 0; j < mm; j++) fc[i * mm + j] += aik * fb[k * mm + j];
            }
        double t2 = vpar_ex_now();
        for (size_t i = 0; i < mm; i++)
            for (size_t j = 0; j < mm; j++) fc2[i * mm + j] = vpar_dot_f64(fa + i * mm, fbt + j * mm, mm);
        double t3 = vpar_ex_now();
        mt[0].t[mt[0].n++] = t1 - t0;
        mt[1].t[mt[1].n++] = t2 - t1;
        mt[2].t[mt[2].n++] = t3 - t2;
    }
    const char *ml[3] = {"int64, i-k-j loop", "float64, i-k-j loop", "float64, vpar_dot_f64 rows x B^T"};
    printf("matrix multiply, %zu x %zu, small integers (median of %zu runs):\n", mm, mm, reps);
    double b0 = tmedian(&mt[0]);
    for (int k = 0; k < 3; k++) {
        double t = k ? tmedian(&mt[k]) : b0;
        printf("  %-36s %10.3f ms  %6.1fx  %.2f GFLOP/s\n", ml[k], t * 1e3, b0 / t, 2.0 * (double)m2 * (double)mm / t / 1e9);
    }
    for (size_t i = 0; i < m2 && !bad; i++)
        if ((double)ic[i] != fc[i] || fc[i] != fc2[i]) {
            fprintf(stderr, "vpar-rowsums: WRONG: product element %zu: int64 %lld, float64 %.17g, vpar %.17g\n",
                    i, (long long)ic[i], fc[i], fc2[i]);
            bad = 1;
        }
    free(ia); free(ib); free(ic); free(fa); free(fb); free(fbt); free(fc); free(fc2);
    return bad;
}

int main(int argc, char **argv) {
    size_t n = 1000, mm = 256, threads = 0, reps = 15;
    enum { O_N = 256, O_MATMUL, O_REPS, O_VERSION };
    static const struct option longs[] = {
        {"n", required_argument, 0, O_N}, {"matmul-n", required_argument, 0, O_MATMUL},
        {"threads", required_argument, 0, 't'}, {"reps", required_argument, 0, O_REPS},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    int c;
    while ((c = vpar_ex_getopt("vpar-rowsums", argc, argv, "t:h", longs)) != -1) {
        int ok = 1;
        switch (c) {
        case O_N: ok = parse_size("--n", optarg, 1, 20000, &n); break;
        case O_MATMUL: ok = parse_size("--matmul-n", optarg, 0, 2000, &mm); break;
        case 't': ok = parse_size("--threads", optarg, 1, 1024, &threads); break;
        case O_REPS: ok = parse_size("--reps", optarg, 1, 101, &reps); break;
        case 'h': usage(stdout); return 0;
        case O_VERSION: vpar_ex_print_version("vpar-rowsums"); return 0;
        default: return 2; /* printed by vpar_ex_getopt */
        }
        if (!ok) return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "vpar-rowsums: unexpected argument '%s' (try --help)\n", argv[optind]);
        return 2;
    }
    if (!vpar_ex_check_threads_env("vpar-rowsums", "--threads")) return 2;
    if (threads) {
        char what[32];
        snprintf(what, sizeof what, "--threads %zu", threads);
        vpar_ex_warn_threads("vpar-rowsums", what, (long)threads);
    }
    if (vpar_simd_init() != VPAR_OK) {
        fprintf(stderr, "vpar-rowsums: %s\n", vpar_last_error());
        return 2;
    }
    vpar_pool *pool = NULL;
    vpar_pool_desc desc = {0};
    desc.num_threads = (int)threads;
    if (vpar_pool_create(&pool, &desc) != VPAR_OK) {
        fprintf(stderr, "vpar-rowsums: cannot create the thread pool: %s\n", vpar_last_error());
        return 2;
    }
    uint64_t s = 12345;
    int bad = bench_rowsums(n, reps, pool, &s);
    if (bad >= 0 && mm > 0) bad = bench_matmul(mm, reps, &s, bad);
    if (bad < 0) return 2;
    vpar_pool_destroy(pool);
    if (!bad) printf("all variants agree\n");
    return bad ? 1 : 0;
}
