/* vpar_bench_simd — the C side of bench/simd/run.

   vpar_bench_simd --context       print `#` lines: path, caches, read ceiling
   vpar_bench_simd NAME [REPS [IN.npy [OUT.npy]]]
                                   time one benchmark, print
                                   `vpar_s=<median> ...` and `#` context lines;
                                   with IN.npy the input is that array (what
                                   baseline.py gen writes, so both sides get
                                   the same data, at any size), and OUT.npy
                                   receives vpar's result for the check

   The read-bandwidth ceiling is measured here, on the same buffer, by loops
   that only load (8 independent OR accumulators, no floating-point
   dependency chain; 64-bit, AVX2 and AVX-512 variants, the fastest counts):
   what a single thread can stream. For the 10^7-element lines (whose
   target is a fraction of that ceiling) each repetition times vpar and
   then every read loop, in turn, so both medians come from the same
   seconds; the 1000 x 1000 lines time vpar back to back, then the loops.
   Without IN.npy the input is generated here (uniform [0, 1), 1% NaN for
   nansum) at the named size. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *names[] = {"rowsum_f64_1000_1t", "rowsum_f64_1000_2t", "colsum_f64_1000_1t",
                              "sum_f64_1e7", "nansum_f64_1e7", "sum_f32_1e7"};

#include "../bench_util.h"

static volatile double sink;
static volatile uint64_t isink;

/* ---- read ceiling ---- */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
__attribute__((target("avx512f"))) static uint64_t read_avx512(const void *p, size_t bytes) {
    const __m512i *v = (const __m512i *)p;
    size_t n = bytes / 64;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        a0 = _mm512_or_si512(a0, _mm512_loadu_si512(v + i));
        a1 = _mm512_or_si512(a1, _mm512_loadu_si512(v + i + 1));
        a2 = _mm512_or_si512(a2, _mm512_loadu_si512(v + i + 2));
        a3 = _mm512_or_si512(a3, _mm512_loadu_si512(v + i + 3));
        a4 = _mm512_or_si512(a4, _mm512_loadu_si512(v + i + 4));
        a5 = _mm512_or_si512(a5, _mm512_loadu_si512(v + i + 5));
        a6 = _mm512_or_si512(a6, _mm512_loadu_si512(v + i + 6));
        a7 = _mm512_or_si512(a7, _mm512_loadu_si512(v + i + 7));
    }
    a0 = _mm512_or_si512(_mm512_or_si512(_mm512_or_si512(a0, a1), _mm512_or_si512(a2, a3)),
                         _mm512_or_si512(_mm512_or_si512(a4, a5), _mm512_or_si512(a6, a7)));
    return (uint64_t)_mm512_reduce_or_epi64(a0);
}
__attribute__((target("avx2"))) static uint64_t read_avx2(const void *p, size_t bytes) {
    const __m256i *v = (const __m256i *)p;
    size_t n = bytes / 32;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        a0 = _mm256_or_si256(a0, _mm256_loadu_si256(v + i));
        a1 = _mm256_or_si256(a1, _mm256_loadu_si256(v + i + 1));
        a2 = _mm256_or_si256(a2, _mm256_loadu_si256(v + i + 2));
        a3 = _mm256_or_si256(a3, _mm256_loadu_si256(v + i + 3));
        a4 = _mm256_or_si256(a4, _mm256_loadu_si256(v + i + 4));
        a5 = _mm256_or_si256(a5, _mm256_loadu_si256(v + i + 5));
        a6 = _mm256_or_si256(a6, _mm256_loadu_si256(v + i + 6));
        a7 = _mm256_or_si256(a7, _mm256_loadu_si256(v + i + 7));
    }
    a0 = _mm256_or_si256(_mm256_or_si256(_mm256_or_si256(a0, a1), _mm256_or_si256(a2, a3)),
                         _mm256_or_si256(_mm256_or_si256(a4, a5), _mm256_or_si256(a6, a7)));
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)(void *)t, a0);
    return t[0] | t[1] | t[2] | t[3];
}
#endif

static uint64_t read_scalar(const void *p, size_t bytes) {
    const uint64_t *v = (const uint64_t *)p;
    size_t n = bytes / 8;
    uint64_t a[8] = {0};
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) a[k] |= v[i + (size_t)k];
    return a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7];
}

typedef uint64_t (*read_fn)(const void *, size_t);

/* The read loops this CPU runs (scalar, AVX2, AVX-512); returns how many. */
static int read_fns(read_fn *fns) {
    int nf = 0;
    fns[nf++] = read_scalar;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx2")) fns[nf++] = read_avx2;
    if (__builtin_cpu_supports("avx512f")) fns[nf++] = read_avx512;
#endif
    return nf;
}

/* ---- the benchmarks ---- */
typedef struct job {
    const char *name;
    double *a;      /* rows x cols (1000 x 1000) or n (1e7) doubles */
    float *f;
    double *out;    /* rows or cols values; out[0] for the whole-array sums */
    size_t rows, cols, n;
    vpar_pool *pool;
} job;

static void run_once(job *j) {
    const char *n = j->name;
    if (!strcmp(n, "rowsum_f64_1000_1t") || !strcmp(n, "rowsum_f64_1000_2t"))
        vpar_reduce_axis_f64(VPAR_AXIS_SUM, 1, j->a, j->rows, j->cols, j->cols, j->out, j->pool);
    else if (!strcmp(n, "colsum_f64_1000_1t"))
        vpar_reduce_axis_f64(VPAR_AXIS_SUM, 0, j->a, j->rows, j->cols, j->cols, j->out, NULL);
    else if (!strcmp(n, "sum_f64_1e7")) sink = j->out[0] = vpar_sum_f64(j->a, j->n);
    else if (!strcmp(n, "nansum_f64_1e7")) sink = j->out[0] = vpar_nansum_f64(j->a, j->n);
    else sink = j->out[0] = vpar_sum_f32(j->f, j->n);
}

static double time_median(job *j, int reps) {
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t) return 0;
    run_once(j);
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        run_once(j);
        t[r] = bench_now() - t0;
    }
    double m = bench_median(t, reps);
    free(t);
    return m;
}

/* The ceiling alone: best median GB/s of the read loops over `bytes` at p. */
static double read_ceiling(const void *p, size_t bytes, int reps) {
    read_fn fns[3];
    int nf = read_fns(fns);
    double *t = malloc((size_t)reps * sizeof *t), best = 0;
    if (!t) return 0;
    for (int f = 0; f < nf; f++) {
        isink = fns[f](p, bytes);
        for (int r = 0; r < reps; r++) {
            double t0 = bench_now();
            isink = fns[f](p, bytes);
            t[r] = bench_now() - t0;
        }
        double gbs = (double)bytes / bench_median(t, reps) / 1e9;
        if (gbs > best) best = gbs;
    }
    free(t);
    return best;
}

/* Times job j and the read-ceiling loops over the same `bytes` at p, rep by
   rep in turn, so that both see the same machine (a shared VM drifts by
   10-20% within seconds): *vpar_s = median time of j, return value = the
   ceiling, the best median GB/s of the read loops. */
static double time_with_ceiling(job *j, const void *p, size_t bytes, int reps, double *vpar_s) {
    read_fn fns[3];
    int nf = read_fns(fns);
    double *t = malloc((size_t)reps * (size_t)(nf + 1) * sizeof *t), best = 0;
    if (!t) { *vpar_s = 0; return 0; }
    run_once(j);
    for (int f = 0; f < nf; f++) isink = fns[f](p, bytes);
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        run_once(j);
        t[r] = bench_now() - t0;
        for (int f = 0; f < nf; f++) {
            t0 = bench_now();
            isink = fns[f](p, bytes);
            t[(size_t)(f + 1) * (size_t)reps + (size_t)r] = bench_now() - t0;
        }
    }
    *vpar_s = bench_median(t, reps);
    for (int f = 0; f < nf; f++) {
        double gbs = (double)bytes / bench_median(t + (size_t)(f + 1) * (size_t)reps, reps) / 1e9;
        if (gbs > best) best = gbs;
    }
    free(t);
    return best;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double unit(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

static void usage(FILE *f) {
    fprintf(f, "usage: vpar_bench_simd --context | NAME [REPS [IN.npy [OUT.npy]]]\n"
               "  --context   print the active SIMD path, cache sizes and the read ceiling\n"
               "  NAME        one of:");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) fprintf(f, " %s", names[i]);
    fprintf(f, "\n  REPS        timed repetitions (default 31); prints the median\n"
               "  IN.npy      the input (float64, or float32 for sum_f32_1e7; 2-D for the\n"
               "              row/column sums); default: generated at the named size\n"
               "  OUT.npy     write vpar's result there (for the runner's check)\n"
               "environment: VPAR_SIMD forces a path (scalar, avx2, avx512, neon)\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (vpar_simd_init() != VPAR_OK) {
        fprintf(stderr, "vpar_bench_simd: %s\n", vpar_last_error());
        return 2;
    }
    if (!strcmp(argv[1], "--context")) {
        long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE), l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
        printf("# simd: path %s; L2 %ld KiB, L3 %ld KiB (1000x1000 float64 = 7813 KiB; 1e7 float64 = 78125 KiB)\n",
               vpar_simd_path_name(vpar_simd_active()), l2 > 0 ? l2 / 1024 : -1, l3 > 0 ? l3 / 1024 : -1);
        return 0;
    }
    const char *name = argv[1];
    int known = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) known |= !strcmp(name, names[i]);
    if (!known) {
        fprintf(stderr, "vpar_bench_simd: unknown benchmark '%s'\n", name);
        usage(stderr);
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 31;
    if (reps < 1 || reps > 100000) {
        fprintf(stderr, "vpar_bench_simd: REPS must be 1..100000, got '%s'\n", argv[2]);
        return 2;
    }
    job j = {name, NULL, NULL, NULL, 0, 0, 0, NULL};
    int big = !strncmp(name, "sum_", 4) || !strncmp(name, "nansum", 6);
    int is_f32 = !strcmp(name, "sum_f32_1e7");
    const char *in = argc > 3 ? argv[3] : NULL, *outp = argc > 4 ? argv[4] : NULL;
    size_t n = big ? 10000000 : 1000000;
    j.rows = j.cols = 1000;
    if (in) {
        vpar_npy arr;
        if (vpar_npy_open(&arr, in, 0) != VPAR_OK) {
            fprintf(stderr, "vpar_bench_simd: %s\n", vpar_last_error());
            return 2;
        }
        if (arr.dtype != (is_f32 ? VPAR_DTYPE_F32 : VPAR_DTYPE_F64) || (!big && arr.ndim != 2) || arr.count == 0) {
            fprintf(stderr, "vpar_bench_simd: %s: expected a non-empty %s%s array for %s\n", in,
                    is_f32 ? "float32" : "float64", big ? "" : " 2-D", name);
            vpar_npy_close(&arr);
            return 2;
        }
        n = arr.count;
        j.rows = arr.shape[0];
        j.cols = arr.shape[1];
        j.a = malloc(n * sizeof *j.a);
        j.f = malloc(n * sizeof *j.f);
        if (j.a && j.f) {
            vpar_npy_to_f64(&arr, j.a);
            vpar_npy_to_f32(&arr, j.f);
        }
        vpar_npy_close(&arr);
    } else {
        j.a = malloc(n * sizeof *j.a);
        j.f = malloc(n * sizeof *j.f);
        if (j.a && j.f) {
            for (size_t i = 0; i < n; i++) {
                j.a[i] = unit();
                j.f[i] = (float)unit();
            }
            if (!strcmp(name, "nansum_f64_1e7"))
                for (size_t i = 0; i < n; i++)
                    if (unit() < 0.01) j.a[i] = NAN;
        }
    }
    j.n = n;
    size_t nout = j.rows > j.cols ? j.rows : j.cols;
    j.out = malloc((nout ? nout : 1) * sizeof *j.out);
    if (!j.a || !j.f || !j.out) {
        fprintf(stderr, "vpar_bench_simd: out of memory\n");
        return 1;
    }
    if (!strcmp(name, "rowsum_f64_1000_2t")) {
        vpar_pool_desc d = {0};
        d.num_threads = 2;
        if (vpar_pool_create(&j.pool, &d) != VPAR_OK) {
            fprintf(stderr, "vpar_bench_simd: %s\n", vpar_last_error());
            return 1;
        }
    }
    size_t bytes = is_f32 ? n * sizeof(float) : n * sizeof(double);
    const void *buf = is_f32 ? (const void *)j.f : (const void *)j.a;
    double t, ceiling;
    if (big) {
        /* the DRAM lines, whose target is a fraction of the ceiling */
        ceiling = time_with_ceiling(&j, buf, bytes, reps, &t);
    } else {
        /* the 8 MB lines run back to back: interleaving 24 MB of other
           reads would measure the pool's wake-up (~50 us) instead of the
           rowsum (~70 us); their ceiling is context only */
        t = time_median(&j, reps);
        ceiling = read_ceiling(buf, bytes, reps);
    }
    if (outp) {
        /* the result of the last timed call (every call computes the same) */
        size_t shape[1] = {big ? 1 : !strncmp(name, "rowsum", 6) ? j.rows : j.cols};
        if (vpar_npy_write(outp, j.out, VPAR_DTYPE_F64, 1, shape) != VPAR_OK) {
            fprintf(stderr, "vpar_bench_simd: %s\n", vpar_last_error());
            return 1;
        }
    }
    printf("vpar_s=%.6g bytes=%zu ceiling_gbs=%.2f\n", t, bytes, ceiling);
    printf("# %s on %s: vpar %.1f GB/s = %.0f%% of the single-thread read ceiling %.1f GB/s "
           "(streaming-read loop over the same %zu MB)\n",
           name, vpar_simd_path_name(vpar_simd_active()), (double)bytes / t / 1e9,
           100.0 * (double)bytes / t / 1e9 / ceiling, ceiling, bytes >> 20);
    if (!strcmp(name, "colsum_f64_1000_1t")) {
        job r = j;
        r.name = "rowsum_f64_1000_1t";
        double tr = time_median(&r, reps);
        printf("#   colsum / rowsum time, same run: %.2f (target <= 1.3)\n", t / tr);
    }
    if (!strcmp(name, "sum_f32_1e7")) {
        job r = j;
        r.name = "sum_f64_1e7";
        double *d = malloc(n * sizeof *d);
        if (d) {
            for (size_t i = 0; i < n; i++) d[i] = unit();
            r.a = d;
            double t64 = time_median(&r, reps);
            printf("#   float32 / float64 element rate, same run: %.2fx (target ~2x)\n", t64 / t);
            free(d);
        }
    }
    vpar_pool_destroy(j.pool);
    free(j.a);
    free(j.f);
    free(j.out);
    return 0;
}
