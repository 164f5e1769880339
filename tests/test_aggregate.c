/* Tests of the aggregation engine (examples/aggregate/aggregate.c) through
   its API: the golden fixture (tests/data/fixtures/aggregate, computed by
   the reference Python), thread-count independence, NaN propagation
   against a straightforward composition at every step (float64 sum, a
   simple reference rank standardization, EGAD), cancellation, and input
   errors. */
#include "aggregate.h"
#include "vpar_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FX(f) vpar_test_data("fixtures/aggregate/" f)
enum { K = 6 };

static char g_paths_buf[K][4096];
static const char *g_paths[K];
static vpar_egad_annotations *g_ann;
static char **g_genes;
static size_t g_ngenes;

static void setup(void) {
    for (int i = 0; i < K; i++) {
        snprintf(g_paths_buf[i], sizeof g_paths_buf[i], "%s/fixtures/aggregate/nw_%02d.npy",
                 VPAR_TEST_DATA_DIR, i);
        g_paths[i] = g_paths_buf[i];
    }
    ck_assert_int_eq(vpar_egad_annotations_load(&g_ann, FX("go.tsv"), NULL), VPAR_OK);
    ck_assert_int_eq(vpar_egad_read_genes(FX("genes.txt"), &g_genes, &g_ngenes), VPAR_OK);
}

static void teardown(void) {
    vpar_egad_annotations_destroy(g_ann);
    g_ann = NULL;
    VPAR_FREE(g_genes);
    g_genes = NULL;
}

/* expected.csv: step,dataset,mean_auc */
static void read_expected(char names[K][64], double *want) {
    FILE *f = fopen(FX("expected.csv"), "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "step,dataset,mean_auc\n");
    for (int s = 0; s < K; s++) {
        int step;
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_int_eq(sscanf(line, "%d,%63[^,],%lf", &step, names[s], &want[s]), 3);
        ck_assert_int_eq(step, s + 1);
    }
    fclose(f);
}

static vpar_agg *make_agg(void) {
    vpar_agg *a;
    ck_assert_msg(vpar_agg_create(&a, g_ann, (const char *const *)g_genes, g_ngenes, g_paths, K,
                                  NULL) == VPAR_OK, "%s", vpar_last_error());
    return a;
}

static void count_step(void *user) { (*(int *)user)++; }

START_TEST(test_golden_fixture) {
    size_t order[K];
    ck_assert_int_eq(vpar_agg_read_order(FX("order.txt"), g_paths, K, order), VPAR_OK);
    char names[K][64];
    double want[K];
    read_expected(names, want);
    vpar_agg *a = make_agg();
    ck_assert_uint_eq(vpar_agg_genes(a), 400);
    ck_assert_uint_eq(vpar_agg_datasets(a), K);
    ck_assert(vpar_agg_symmetric(a));  /* the fixture networks are symmetric */
    int steps = 0;
    vpar_agg_hooks hooks = {count_step, &steps, NULL};
    double got[K];
    ck_assert_msg(vpar_agg_run(a, order, NULL, &hooks, got) == VPAR_OK, "%s", vpar_last_error());
    ck_assert_int_eq(steps, K);
    for (int s = 0; s < K; s++) {
        ck_assert_str_eq(vpar_agg_dataset_name(g_paths[order[s]]), names[s]);
        ck_assert_msg(fabs(got[s] - want[s]) <= 1e-9, "step %d: %.17g, expected %.17g", s + 1,
                      got[s], want[s]);
    }
    /* The buffers are reused: a second run gives the same bits. */
    double again[K];
    ck_assert_int_eq(vpar_agg_run(a, order, NULL, NULL, again), VPAR_OK);
    ck_assert_mem_eq(got, again, sizeof got);
    vpar_agg_destroy(a);
}
END_TEST

/* 1 thread vs 2 threads (and a pool of 3): identical bits. */
START_TEST(test_threads_identical) {
    /* Sanitizer builds (VPAR_TEST_QUICK) check one permutation, 2 threads. */
    const int quick = getenv("VPAR_TEST_QUICK") != NULL;
    const int nperm = quick ? 1 : 3, maxt = quick ? 2 : 3;
    size_t orders[3 * K];
    vpar_agg_permutations(11, 3, K, orders);
    vpar_agg *a = make_agg();
    for (int i = 0; i < nperm; i++) {
        double serial[K], par[K];
        ck_assert_int_eq(vpar_agg_run(a, orders + i * K, NULL, NULL, serial), VPAR_OK);
        for (int nt = 2; nt <= maxt; nt++) {
            vpar_pool *pool;
            vpar_pool_desc d = {0};
            d.num_threads = nt;
            ck_assert_int_eq(vpar_pool_create(&pool, &d), VPAR_OK);
            ck_assert_int_eq(vpar_agg_run(a, orders + i * K, pool, NULL, par), VPAR_OK);
            ck_assert_mem_eq(serial, par, sizeof serial);
            vpar_pool_destroy(pool);
        }
        for (int s = 0; s < K; s++) ck_assert(serial[s] > 0.5 && serial[s] < 1.0);
    }
    vpar_agg_destroy(a);
}
END_TEST

/* ---- NaN: against a straightforward composition ---------------------- */

typedef struct { double v; size_t i; } vi;
static int cmp_vi(const void *a, const void *b) {
    double x = ((const vi *)a)->v, y = ((const vi *)b)->v;
    return (x > y) - (x < y);
}

/* Reference rank standardization (data/README.md): average ranks of the
   finite entries, (rank - 1) / max(rank - 1), NaN and inf -> 0.5. */
static void ref_rank(double *x, size_t n) {
    vi *a = malloc(n * sizeof *a);
    ck_assert_ptr_nonnull(a);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) { a[m].v = x[i]; a[m].i = i; m++; }
    qsort(a, m, sizeof *a, cmp_vi);
    double *r = malloc((m ? m : 1) * sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (size_t s = 0; s < m;) {
        size_t e = s;
        while (e + 1 < m && a[e + 1].v == a[s].v) e++;
        double avg = 0.5 * (double)(s + 1 + e + 1);
        for (size_t t = s; t <= e; t++) r[t] = avg;
        s = e + 1;
    }
    double mx = m ? r[m - 1] - 1 : 0;
    for (size_t i = 0; i < n; i++) if (!isfinite(x[i])) x[i] = 0.5;
    for (size_t t = 0; t < m; t++) x[a[t].i] = mx > 0 ? (r[t] - 1) / mx : 0.0;
    free(a);
    free(r);
}

START_TEST(test_nan_propagates_to_half) {
    /* Three networks in a temp dir: nw_00 with NaN/inf entries, nw_01 with
       its own NaN, nw_02 unchanged (float64, to mix dtypes). */
    char dir[] = "/tmp/vpar_agg_nan_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const size_t n = 400, nn = n * n;
    char paths_buf[3][256];
    const char *paths[3];
    double *ref_sum = calloc(nn, sizeof(double)), *ref_step[3];
    ck_assert_ptr_nonnull(ref_sum);
    for (int i = 0; i < 3; i++) {
        vpar_npy src;
        ck_assert_int_eq(vpar_npy_open(&src, g_paths[i], 0), VPAR_OK);
        double *w = malloc(nn * sizeof *w);
        ck_assert_ptr_nonnull(w);
        vpar_npy_to_f64(&src, w);
        vpar_npy_close(&src);
        if (i == 0) {
            w[5 * n + 7] = w[7 * n + 5] = NAN;
            w[10 * n + 11] = w[11 * n + 10] = INFINITY;
            for (size_t j = 0; j < n; j++) w[3 * n + j] = w[j * n + 3] = NAN;  /* a whole gene */
        }
        if (i == 1) w[100 * n + 200] = w[200 * n + 100] = NAN;
        snprintf(paths_buf[i], sizeof paths_buf[i], "%s/nw_%02d.npy", dir, i);
        paths[i] = paths_buf[i];
        size_t shape[2] = {n, n};
        if (i == 2) {
            ck_assert_int_eq(vpar_npy_write(paths[i], w, VPAR_DTYPE_F64, 2, shape), VPAR_OK);
        } else {
            float *f = malloc(nn * sizeof *f);
            ck_assert_ptr_nonnull(f);
            for (size_t j = 0; j < nn; j++) f[j] = (float)w[j];
            ck_assert_int_eq(vpar_npy_write(paths[i], f, VPAR_DTYPE_F32, 2, shape), VPAR_OK);
            for (size_t j = 0; j < nn; j++) w[j] = (double)f[j];
            free(f);
        }
        for (size_t j = 0; j < nn; j++) ref_sum[j] += w[j];  /* NaN stays NaN */
        ref_step[i] = malloc(nn * sizeof(double));  /* the aggregate after step i + 1 */
        ck_assert_ptr_nonnull(ref_step[i]);
        memcpy(ref_step[i], ref_sum, nn * sizeof(double));
        free(w);
    }
    vpar_agg *a;
    ck_assert_msg(vpar_agg_create(&a, g_ann, (const char *const *)g_genes, g_ngenes, paths, 3,
                                  NULL) == VPAR_OK, "%s", vpar_last_error());
    free(ref_sum);
    /* Order 0, 1, 2: step k aggregates networks 0..k-1. */
    const size_t order[3] = {0, 1, 2};
    double got[3];
    ck_assert_msg(vpar_agg_run(a, order, NULL, NULL, got) == VPAR_OK, "%s", vpar_last_error());

    /* Every step against the composition: step k = EGAD of the reference
       rank standardization of the float64 sum of the first k networks.
       (tests/test_aggregate_cli.sh checks the same kind of input against
       the independent Python reference.) */
    vpar_egad_plan *plan;
    ck_assert_int_eq(vpar_egad_plan_create(&plan, g_ann, (const char *const *)g_genes, g_ngenes,
                                           NULL, NULL, "ref"), VPAR_OK);
    vpar_egad_term_result *res = malloc(vpar_egad_plan_nterms(plan) * sizeof *res);
    double *ranked = malloc(nn * sizeof *ranked);
    ck_assert_ptr_nonnull(res);
    ck_assert_ptr_nonnull(ranked);
    for (int k = 0; k < 3; k++) {
        ref_rank(memcpy(ranked, ref_step[k], nn * sizeof *ranked), nn);
        double want;
        ck_assert_int_eq(vpar_egad_run(plan, ranked, VPAR_DTYPE_F64, NULL, res, &want, "ref"), VPAR_OK);
        ck_assert_msg(!isnan(want) && fabs(got[k] - want) <= 1e-12, "step %d: %.17g vs %.17g", k + 1,
                      got[k], want);
    }
    /* NaN/inf became 0.5 instead of poisoning the step. */
    ck_assert_msg(got[0] != got[1] && got[1] != got[2], "steps %.17g %.17g %.17g", got[0], got[1], got[2]);
    free(ranked);
    free(res);
    vpar_egad_plan_destroy(plan);
    vpar_agg_destroy(a);
    for (int k = 0; k < 3; k++) free(ref_step[k]);
    for (int i = 0; i < 3; i++) unlink(paths[i]);
    rmdir(dir);
}
END_TEST

/* One asymmetric network: the engine must use the full path (sum every
   entry, rank all of them), and agree with the composition at every step;
   the asymmetric network comes second so that the upper-triangle sum of
   the symmetric first step is followed by a full one. */
START_TEST(test_asymmetric_full_path) {
    char dir[] = "/tmp/vpar_agg_asym_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const size_t n = 400, nn = n * n;
    char paths_buf[3][256];
    const char *paths[3];
    double *sum = calloc(nn, sizeof(double)), *ranked = malloc(nn * sizeof(double));
    double want[3];
    ck_assert_ptr_nonnull(sum);
    ck_assert_ptr_nonnull(ranked);
    vpar_egad_plan *plan;
    ck_assert_int_eq(vpar_egad_plan_create(&plan, g_ann, (const char *const *)g_genes, g_ngenes,
                                           NULL, NULL, "ref"), VPAR_OK);
    vpar_egad_term_result *res = malloc(vpar_egad_plan_nterms(plan) * sizeof *res);
    ck_assert_ptr_nonnull(res);
    const size_t src[3] = {2, 0, 4};   /* order of the run below: files 0, 1, 2 */
    for (int i = 0; i < 3; i++) {
        vpar_npy in;
        ck_assert_int_eq(vpar_npy_open(&in, g_paths[src[i]], 0), VPAR_OK);
        ck_assert_int_eq(in.dtype, VPAR_DTYPE_F32);
        float *f = malloc(nn * sizeof *f);
        ck_assert_ptr_nonnull(f);
        memcpy(f, in.data, nn * sizeof *f);
        vpar_npy_close(&in);
        if (i == 1)   /* lower triangle only: entries the symmetric path never reads */
            for (size_t r = 1; r < n; r += 3) f[r * n + r / 2] += 0.75f;
        snprintf(paths_buf[i], sizeof paths_buf[i], "%s/nw_%02d.npy", dir, i);
        paths[i] = paths_buf[i];
        size_t shape[2] = {n, n};
        ck_assert_int_eq(vpar_npy_write(paths[i], f, VPAR_DTYPE_F32, 2, shape), VPAR_OK);
        for (size_t j = 0; j < nn; j++) sum[j] += (double)f[j];
        ref_rank(memcpy(ranked, sum, nn * sizeof *ranked), nn);
        ck_assert_int_eq(vpar_egad_run(plan, ranked, VPAR_DTYPE_F64, NULL, res, &want[i], "ref"), VPAR_OK);
        free(f);
    }
    vpar_agg *a;
    ck_assert_msg(vpar_agg_create(&a, g_ann, (const char *const *)g_genes, g_ngenes, paths, 3,
                                  NULL) == VPAR_OK, "%s", vpar_last_error());
    ck_assert(!vpar_agg_symmetric(a));
    const size_t order[3] = {0, 1, 2};
    double got[3];
    vpar_pool *pool;
    vpar_pool_desc d = {0};
    d.num_threads = 2;
    ck_assert_int_eq(vpar_pool_create(&pool, &d), VPAR_OK);
    ck_assert_msg(vpar_agg_run(a, order, pool, NULL, got) == VPAR_OK, "%s", vpar_last_error());
    for (int k = 0; k < 3; k++)
        ck_assert_msg(fabs(got[k] - want[k]) <= 1e-12, "step %d: %.17g vs %.17g", k + 1, got[k], want[k]);
    ck_assert(got[1] != got[0]);
    vpar_pool_destroy(pool);
    vpar_agg_destroy(a);
    vpar_egad_plan_destroy(plan);
    free(res); free(sum); free(ranked);
    for (int i = 0; i < 3; i++) unlink(paths[i]);
    rmdir(dir);
}
END_TEST

/* vpar_npy_release_pages (npy.h), which the engine calls after reading a
   network: the data reads back unchanged afterwards; a writable (copy-on-
   write) array keeps its modifications (the call does nothing there). */
START_TEST(test_npy_release_pages) {
    char path[] = "/tmp/vpar_agg_rel_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    const size_t n = 300, shape[2] = {300, 300};
    float *f = malloc(n * n * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n * n; i++) f[i] = (float)i * 0.5f - 7.0f;
    ck_assert_int_eq(vpar_npy_write(path, f, VPAR_DTYPE_F32, 2, shape), VPAR_OK);
    vpar_npy a, w;
    ck_assert_int_eq(vpar_npy_open(&a, path, 0), VPAR_OK);
    ck_assert(memcmp(a.data, f, n * n * sizeof *f) == 0);
    vpar_npy_release_pages(&a);
    ck_assert(memcmp(a.data, f, n * n * sizeof *f) == 0);
    vpar_npy_release_pages(&a);
    ck_assert_int_eq(vpar_npy_open(&w, path, VPAR_NPY_WRITABLE), VPAR_OK);
    ((float *)w.data)[12345] = 99.0f;
    vpar_npy_release_pages(&w);
    ck_assert(((float *)w.data)[12345] == 99.0f);
    ck_assert(((float *)a.data)[12345] == f[12345]);   /* the file is unchanged */
    /* vpar_npy_release_range: the same for a part; ranges past the end
       are cut, the writable copy keeps its change */
    vpar_npy_release_range(&a, 1000, 50000);
    vpar_npy_release_range(&a, n * n - 5, 100);
    vpar_npy_release_range(&a, n * n + 5, 10);
    ck_assert(memcmp(a.data, f, n * n * sizeof *f) == 0);
    vpar_npy_release_range(&w, 0, n * n);
    ck_assert(((float *)w.data)[12345] == 99.0f);
    vpar_npy_close(&w);
    vpar_npy_close(&a);
    vpar_npy_release_pages(&a);   /* zeroed: nothing */
    vpar_npy_release_range(&a, 0, 10);
    vpar_npy_release_pages(NULL);
    vpar_npy_release_range(NULL, 0, 10);
    free(f);
    unlink(path);
}
END_TEST

/* RssFile of this process in KiB (/proc/self/status), -1 if unknown. */
static long rss_file_kib(void) {
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp) return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "RssFile: %ld", &v) == 1) break;
    fclose(fp);
    return v;
}

/* A TEMP_NET_N x TEMP_NET_N float32 network (16 MiB) written to the
   temporary file `path` (a mkstemp template): zeros but every `stride`-th
   entry; returns its values (free them). */
enum { TEMP_NET_N = 2048 };
static float *temp_net_2048(char *path, size_t stride) {
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    const size_t n = TEMP_NET_N, shape[2] = {TEMP_NET_N, TEMP_NET_N};
    float *f = calloc(n * n, sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n * n; i += stride) f[i] = (float)i;
    ck_assert_int_eq(vpar_npy_write(path, f, VPAR_DTYPE_F32, 2, shape), VPAR_OK);
    return f;
}

/* vpar_npy_release_range really drops pages from the resident set: after
   reading a 16 MiB network, releasing its first half lowers RssFile by
   about 8 MiB and its second half stays mapped (skipped where
   /proc/self/status has no RssFile). */
START_TEST(test_npy_release_range_resident) {
    char path[] = "/tmp/vpar_agg_rr_XXXXXX";
    const size_t n = TEMP_NET_N;
    float *f = temp_net_2048(path, 97);
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, path, 0), VPAR_OK);
    volatile float sink = 0;
    for (size_t i = 0; i < n * n; i += 256) sink += ((const float *)a.data)[i];   /* map every page */
    long before = rss_file_kib();
    if (before < 0) {
        printf("SKIP part: no RssFile in /proc/self/status\n");
    } else {
        vpar_npy_release_range(&a, 0, n * n / 2);
        long after = rss_file_kib();
        ck_assert_msg(before - after >= 7 * 1024 && before - after <= 9 * 1024,
                      "RssFile %ld KiB -> %ld KiB after releasing 8 MiB", before, after);
        vpar_npy_release_range(&a, n * n / 2, n * n / 2);
        ck_assert_msg(after - rss_file_kib() >= 7 * 1024, "second half: %ld -> %ld KiB", after, rss_file_kib());
    }
    ck_assert(memcmp(a.data, f, n * n * sizeof *f) == 0);
    (void)sink;
    vpar_npy_close(&a);
    free(f);
    unlink(path);
}
END_TEST

/* vpar_npy_populate_range maps pages without touching them: after
   populating the first half of a 16 MiB network RssFile has grown by 8 MiB
   or a little more (not the whole file), and vpar_egad_network_populate
   maps the rest (with and without a pool); ranges past the end are cut,
   writable and zeroed arrays are left alone, the data reads back unchanged
   (skipped where /proc/self/status has no RssFile or the kernel lacks
   MADV_POPULATE_READ). */
START_TEST(test_npy_populate_range_resident) {
    char path[] = "/tmp/vpar_agg_pop_XXXXXX";
    const size_t n = TEMP_NET_N;
    float *f = temp_net_2048(path, 89);
    char **genes = malloc(n * sizeof *genes), names[TEMP_NET_N][8];
    ck_assert_ptr_nonnull(genes);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "g%zu", i);
        genes[i] = names[i];
    }
    int can = 0;
#ifdef MADV_POPULATE_READ
    {   /* does this kernel know the call? (5.14+) */
        void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert(p != MAP_FAILED);
        can = madvise(p, 4096, MADV_POPULATE_READ) == 0;
        munmap(p, 4096);
    }
#endif
    for (int use_pool = 0; use_pool < 2; use_pool++) {
        vpar_egad_network net;
        ck_assert_int_eq(vpar_egad_network_open(&net, path, NULL, (const char *const *)genes, n), VPAR_OK);
        long r0 = rss_file_kib();
        vpar_npy_populate_range(&net.npy, 0, n * n / 2);
        long r1 = rss_file_kib();
        vpar_pool *pool = NULL;
        if (use_pool) {
            vpar_pool_desc d = {0};
            d.num_threads = 2;
            ck_assert_int_eq(vpar_pool_create(&pool, &d), VPAR_OK);
        }
        vpar_egad_network_populate(&net, pool);
        long r2 = rss_file_kib();
        if (r0 < 0 || !can) {
            printf("SKIP part: no RssFile or no MADV_POPULATE_READ\n");
        } else {
            /* at least the 8 MiB asked for, not the whole file (the
               kernel may map the rest of a large folio, or a few pages
               around the range, with it) */
            ck_assert_msg(r1 - r0 >= 7 * 1024 && r1 - r0 <= 12 * 1024,
                          "RssFile %ld KiB -> %ld KiB after populating 8 MiB", r0, r1);
            ck_assert_msg(r2 - r0 >= 15 * 1024, "the whole: %ld -> %ld KiB", r0, r2);
        }
        vpar_npy_populate_range(&net.npy, n * n - 5, 100);   /* cut at the end */
        vpar_npy_populate_range(&net.npy, n * n + 5, 10);    /* past it: nothing */
        ck_assert(memcmp(net.w, f, n * n * sizeof *f) == 0);
        if (pool) vpar_pool_destroy(pool);
        vpar_egad_network_close(&net);
    }
    vpar_npy w;
    ck_assert_int_eq(vpar_npy_open(&w, path, VPAR_NPY_WRITABLE), VPAR_OK);
    ((float *)w.data)[777] = 5.0f;
    long r0 = rss_file_kib();
    vpar_npy_populate_range(&w, 0, n * n);   /* writable: left alone */
    long r1 = rss_file_kib();
    if (r0 >= 0) ck_assert_msg(r1 - r0 < 1024, "writable array populated: %ld -> %ld KiB", r0, r1);
    ck_assert(((float *)w.data)[777] == 5.0f);
    vpar_npy_close(&w);
    vpar_npy_populate_range(&w, 0, 10);      /* zeroed: nothing */
    vpar_npy_populate_range(NULL, 0, 10);
    vpar_egad_network_populate(NULL, NULL);
    free(genes);
    free(f);
    unlink(path);
}
END_TEST

START_TEST(test_cancel) {
    vpar_agg *a = make_agg();
    size_t order[K] = {0, 1, 2, 3, 4, 5};
    atomic_int cancel;
    atomic_init(&cancel, 1);
    int steps = 0;
    vpar_agg_hooks hooks = {count_step, &steps, &cancel};
    double got[K];
    ck_assert_int_eq(vpar_agg_run(a, order, NULL, &hooks, got), VPAR_ERR_INTERRUPTED);
    ck_assert_int_eq(steps, 0);
    order[2] = 9;
    atomic_store(&cancel, 0);
    ck_assert_int_eq(vpar_agg_run(a, order, NULL, &hooks, got), VPAR_ERR_INVALID);
    vpar_agg_destroy(a);
}
END_TEST

START_TEST(test_create_errors) {
    vpar_agg *a = NULL;
    const char *gp[2] = {g_paths[0], NULL};
    const char *const *genes = (const char *const *)g_genes;
    /* missing file */
    gp[1] = "/nonexistent/nw_09.npy";
    ck_assert_int_ne(vpar_agg_create(&a, g_ann, genes, g_ngenes, gp, 2, NULL), VPAR_OK);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "/nonexistent/nw_09.npy"));
    ck_assert_ptr_null(a);
    /* genes count differs from the network size */
    ck_assert_int_eq(vpar_agg_create(&a, g_ann, genes, g_ngenes - 1, g_paths, 1, NULL), VPAR_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "400 genes but the genes file lists 399"));
    /* same file name twice */
    gp[1] = g_paths[0];
    ck_assert_int_eq(vpar_agg_create(&a, g_ann, genes, g_ngenes, gp, 2, NULL), VPAR_ERR_INVALID);
    /* .npy without genes */
    ck_assert_int_eq(vpar_agg_create(&a, g_ann, NULL, 0, g_paths, 1, NULL), VPAR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "genes"));
    ck_assert_int_eq(vpar_agg_create(&a, g_ann, genes, g_ngenes, g_paths, 0, NULL), VPAR_ERR_INVALID);

    char dir[] = "/tmp/vpar_agg_err_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "%s/rect.npy", dir);
    snprintf(p2, sizeof p2, "%s/ints.npy", dir);
    float rect[400 * 2] = {0};
    int32_t ints[400 * 400 / 100] = {0};
    size_t s1[2] = {400, 2}, s2[2] = {40, 40};
    ck_assert_int_eq(vpar_npy_write(p1, rect, VPAR_DTYPE_F32, 2, s1), VPAR_OK);
    ck_assert_int_eq(vpar_npy_write(p2, ints, VPAR_DTYPE_I32, 2, s2), VPAR_OK);
    gp[1] = p1;
    ck_assert_int_eq(vpar_agg_create(&a, g_ann, genes, g_ngenes, gp, 2, NULL), VPAR_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "rect.npy: network is 400 x 2, not square"));
    gp[1] = p2;
    ck_assert_int_eq(vpar_agg_create(&a, g_ann, genes, g_ngenes, gp, 2, NULL), VPAR_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "ints.npy"));
    /* annotations that share no gene with the network */
    vpar_egad_annotations *other;
    const char *og[1] = {"no_such_gene"}, *ot[1] = {"GO:1"};
    ck_assert_int_eq(vpar_egad_annotations_create(&other, og, ot, 1, "other"), VPAR_OK);
    ck_assert_int_ne(vpar_agg_create(&a, other, genes, g_ngenes, g_paths, 1, NULL), VPAR_OK);
    vpar_egad_annotations_destroy(other);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}
END_TEST

/* Checks split between processes (vpar_agg_desc.check, failed_at,
   vpar_agg_symmetric_checked, vpar_agg_set_symmetric), as the MPI ranks
   of vpar-aggregate use them: rank r checks network i when i % 2 == r.
   Network 1 is asymmetric in its lower triangle only (entries the
   symmetric ranker never reads), so a wrong symmetric flag changes the
   results; the full check (desc NULL) is the reference. */
START_TEST(test_split_checks) {
    char dir[] = "/tmp/vpar_agg_split_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const size_t n = 400, nn = n * n;
    char paths_buf[3][256];
    const char *paths[3];
    for (int i = 0; i < 3; i++) {
        vpar_npy in;
        ck_assert_int_eq(vpar_npy_open(&in, g_paths[i], 0), VPAR_OK);
        float *f = malloc(nn * sizeof *f);
        ck_assert_ptr_nonnull(f);
        memcpy(f, in.data, nn * sizeof *f);
        vpar_npy_close(&in);
        if (i == 1)
            for (size_t r = 1; r < n; r += 3) f[r * n + r / 2] += 0.75f;
        snprintf(paths_buf[i], sizeof paths_buf[i], "%s/nw_%02d.npy", dir, i);
        paths[i] = paths_buf[i];
        size_t shape[2] = {n, n};
        ck_assert_int_eq(vpar_npy_write(paths[i], f, VPAR_DTYPE_F32, 2, shape), VPAR_OK);
        free(f);
    }
    const char *const *genes = (const char *const *)g_genes;
    const size_t order[3] = {1, 2, 0};
    double full[3], got[3];
    vpar_agg *ref, *a0, *a1;
    ck_assert_int_eq(vpar_agg_create(&ref, g_ann, genes, g_ngenes, paths, 3, NULL), VPAR_OK);
    ck_assert(!vpar_agg_symmetric(ref));
    ck_assert(!vpar_agg_symmetric_checked(ref));
    ck_assert_int_eq(vpar_agg_run(ref, order, NULL, NULL, full), VPAR_OK);

    const unsigned char mask0[3] = {1, 0, 1}, mask1[3] = {0, 1, 0};
    vpar_agg_desc d;
    memset(&d, 0, sizeof d);
    size_t at = 99;
    d.failed_at = &at;
    d.check = mask0;   /* rank 0: networks 0 and 2, both symmetric */
    ck_assert_msg(vpar_agg_create(&a0, g_ann, genes, g_ngenes, paths, 3, &d) == VPAR_OK, "%s",
                  vpar_last_error());
    ck_assert_uint_eq(at, 99);   /* not set on success */
    ck_assert(vpar_agg_symmetric_checked(a0));
    ck_assert(!vpar_agg_symmetric(a0));   /* network 1 unchecked here: full ranker */
    d.check = mask1;   /* rank 1: network 1 */
    ck_assert_int_eq(vpar_agg_create(&a1, g_ann, genes, g_ngenes, paths, 3, &d), VPAR_OK);
    ck_assert(!vpar_agg_symmetric_checked(a1));
    ck_assert(!vpar_agg_symmetric(a1));
    /* before any combination: the full ranker, the reference's bits */
    ck_assert_int_eq(vpar_agg_run(a0, order, NULL, NULL, got), VPAR_OK);
    ck_assert_mem_eq(got, full, sizeof got);
    /* combined (AND): 0, the same bits on both */
    int all = vpar_agg_symmetric_checked(a0) && vpar_agg_symmetric_checked(a1);
    vpar_agg_set_symmetric(a0, all);
    vpar_agg_set_symmetric(a1, all);
    ck_assert_int_eq(vpar_agg_run(a1, order, NULL, NULL, got), VPAR_OK);
    ck_assert_mem_eq(got, full, sizeof got);
    /* rank 0's own answer alone would be wrong: the flag matters */
    vpar_agg_set_symmetric(a0, 1);
    ck_assert(vpar_agg_symmetric(a0));
    ck_assert_int_eq(vpar_agg_run(a0, order, NULL, NULL, got), VPAR_OK);
    ck_assert_msg(memcmp(got, full, sizeof got) != 0, "symmetric layout on an asymmetric network "
                  "gave the full result: this test cannot see a wrong flag");
    vpar_agg_destroy(a0);
    vpar_agg_destroy(a1);
    vpar_agg_destroy(ref);

    /* The symmetric fixture networks split 3 ways: after the AND, the
       symmetric ranker, and the bits of a full check. */
    size_t order6[K];
    vpar_agg_permutations(5, 1, K, order6);
    double want6[K], got6[K];
    vpar_agg *all6 = make_agg();
    ck_assert_int_eq(vpar_agg_run(all6, order6, NULL, NULL, want6), VPAR_OK);
    vpar_agg_destroy(all6);
    int sym = 1;
    for (int r = 0; r < 3; r++) {
        unsigned char m[K];
        for (int i = 0; i < K; i++) m[i] = i % 3 == r;
        d.check = m;
        vpar_agg *x;
        ck_assert_int_eq(vpar_agg_create(&x, g_ann, genes, g_ngenes, g_paths, K, &d), VPAR_OK);
        ck_assert(!vpar_agg_symmetric(x));
        sym &= vpar_agg_symmetric_checked(x);
        vpar_agg_destroy(x);
    }
    ck_assert(sym);
    unsigned char none[K] = {0};
    d.check = none;   /* a rank with no share (more ranks than networks) */
    vpar_agg *x;
    ck_assert_int_eq(vpar_agg_create(&x, g_ann, genes, g_ngenes, g_paths, K, &d), VPAR_OK);
    ck_assert(vpar_agg_symmetric_checked(x));   /* nothing checked: no veto */
    vpar_agg_set_symmetric(x, sym);
    ck_assert(vpar_agg_symmetric(x));
    ck_assert_int_eq(vpar_agg_run(x, order6, NULL, NULL, got6), VPAR_OK);
    ck_assert_mem_eq(got6, want6, sizeof got6);
    vpar_agg_destroy(x);

    /* failed_at: where a single process meets the failure. Headers are
       checked whatever the flags. */
    char rect[256];
    snprintf(rect, sizeof rect, "%s/rect.npy", dir);
    float rbuf[400 * 2] = {0};
    size_t rs[2] = {400, 2};
    ck_assert_int_eq(vpar_npy_write(rect, rbuf, VPAR_DTYPE_F32, 2, rs), VPAR_OK);
    const char *bad[3] = {paths[0], paths[2], rect};
    d.check = none;
    ck_assert_int_eq(vpar_agg_create(&x, g_ann, genes, g_ngenes, bad, 3, &d), VPAR_ERR_SHAPE);
    ck_assert_uint_eq(at, 1 + 2);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "rect.npy"));
    ck_assert_int_eq(vpar_agg_create(&x, g_ann, genes, g_ngenes - 1, paths, 3, &d), VPAR_ERR_SHAPE);
    ck_assert_uint_eq(at, 1 + 0);
    const char *dup[2] = {paths[0], paths[0]};
    at = 99;
    ck_assert_int_eq(vpar_agg_create(&x, g_ann, genes, g_ngenes, dup, 2, &d), VPAR_ERR_INVALID);
    ck_assert_uint_eq(at, 0);
    vpar_egad_annotations *other;
    const char *og[1] = {"no_such_gene"}, *ot[1] = {"GO:1"};
    ck_assert_int_eq(vpar_egad_annotations_create(&other, og, ot, 1, "other"), VPAR_OK);
    ck_assert_int_ne(vpar_agg_create(&x, other, genes, g_ngenes, paths, 3, &d), VPAR_OK);
    ck_assert_uint_eq(at, 3 + 1);   /* after the networks: the plan */
    vpar_egad_annotations_destroy(other);
    ck_assert_ptr_null(x);
    unlink(rect);
    for (int i = 0; i < 3; i++) unlink(paths[i]);
    rmdir(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("aggregate");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_golden_fixture);
    tcase_add_test(tc, test_threads_identical);
    tcase_add_test(tc, test_nan_propagates_to_half);
    tcase_add_test(tc, test_asymmetric_full_path);
    tcase_add_test(tc, test_npy_release_pages);
    tcase_add_test(tc, test_npy_release_range_resident);
    tcase_add_test(tc, test_npy_populate_range_resident);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_split_checks);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
