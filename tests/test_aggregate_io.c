/* Tests of the aggregation example's non-numeric parts
   (examples/aggregate/aggregate_io.c): the seeded permutations, --order
   parsing, the CSV outputs and their resume check, the median, the SVG,
   and the progress counters shared across processes. */
#define VPAR_IMPLEMENTATION
#include "aggregate_io.h"
#include "vpar_check.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];

static void make_dir(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/vpar_agg_io_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void remove_dir(void) {
    DIR *d = opendir(g_dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(g_dir);
}

static const char *in_dir(const char *name) {
    static char buf[4][512];
    static int slot;
    char *b = buf[slot++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", g_dir, name);
    return b;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static size_t count_entries(void) {
    DIR *d = opendir(g_dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* ---- permutations -------------------------------------------------------- */

static void assert_is_permutation(const size_t *a, size_t k) {
    unsigned char seen[64] = {0};
    for (size_t j = 0; j < k; j++) {
        ck_assert_uint_lt(a[j], k);
        ck_assert_int_eq(seen[a[j]], 0);
        seen[a[j]] = 1;
    }
}

START_TEST(test_permutations_valid_and_reproducible) {
    for (size_t k = 0; k <= 13; k++) {
        size_t a[20 * 13], b[20 * 13];
        vpar_agg_permutations(42, 20, k, a);
        vpar_agg_permutations(42, 20, k, b);
        ck_assert_mem_eq(a, b, 20 * k * sizeof *a);
        for (size_t i = 0; i < 20; i++) assert_is_permutation(a + i * k, k);
    }
    /* A prefix of the permutations does not depend on how many are drawn. */
    size_t few[3 * 6], many[50 * 6];
    vpar_agg_permutations(7, 3, 6, few);
    vpar_agg_permutations(7, 50, 6, many);
    ck_assert_mem_eq(few, many, sizeof few);
    /* Different seeds give different orders (12! orders: a collision of all
       ten permutations would mean the seed is ignored). */
    size_t s1[10 * 12], s2[10 * 12];
    vpar_agg_permutations(1, 10, 12, s1);
    vpar_agg_permutations(2, 10, 12, s2);
    ck_assert(memcmp(s1, s2, sizeof s1) != 0);
}
END_TEST

/* All 24 orders of 4 datasets equally likely: chi-square over 48,000 draws.
   A biased shuffle (e.g. r drawn from [0, k) at every j) fails this by a
   wide margin; the seed is fixed, so the test is deterministic. */
START_TEST(test_permutations_uniform) {
    enum { P = 48000, K = 4 };
    size_t *o = malloc((size_t)P * K * sizeof *o);
    ck_assert_ptr_nonnull(o);
    vpar_agg_permutations(2024, P, K, o);
    int counts[256] = {0};
    for (size_t i = 0; i < P; i++) {
        const size_t *a = o + i * K;
        assert_is_permutation(a, K);
        counts[a[0] * 64 + a[1] * 16 + a[2] * 4 + a[3]]++;
    }
    double expect = (double)P / 24, chi2 = 0;
    int distinct = 0;
    for (int c = 0; c < 256; c++)
        if (counts[c]) {
            distinct++;
            chi2 += (counts[c] - expect) * (counts[c] - expect) / expect;
        }
    ck_assert_int_eq(distinct, 24);
    ck_assert_msg(chi2 < 60.0, "chi2 = %g over 23 degrees of freedom", chi2); /* p ~ 4e-5 */
    free(o);
}
END_TEST

START_TEST(test_rng_below) {
    vpar_agg_rng r;
    vpar_agg_rng_seed(&r, 5);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(vpar_agg_rng_below(&r, 1), 0);
    int hist[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint64_t v = vpar_agg_rng_below(&r, 3);
        ck_assert_uint_lt(v, 3);
        hist[v]++;
    }
    for (int i = 0; i < 3; i++) ck_assert_int_gt(hist[i], 9500);
    /* A huge bound exercises the rejection branch (t is large). */
    uint64_t big = (UINT64_C(1) << 63) + 12345;
    for (int i = 0; i < 1000; i++) ck_assert_uint_lt(vpar_agg_rng_below(&r, big), big);
    /* Same seed, same stream. */
    vpar_agg_rng a, b;
    vpar_agg_rng_seed(&a, 99);
    vpar_agg_rng_seed(&b, 99);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(vpar_agg_rng_next(&a), vpar_agg_rng_next(&b));
}
END_TEST

/* splitmix64 reference outputs (Vigna's splitmix64.c, seed 1234567), which
   seed xoshiro256**: the first state word is the first of them. */
START_TEST(test_rng_seed_is_splitmix64) {
    vpar_agg_rng r;
    vpar_agg_rng_seed(&r, 1234567);
    ck_assert_uint_eq(r.s[0], UINT64_C(6457827717110365317));
    ck_assert_uint_eq(r.s[1], UINT64_C(3203168211198807973));
    ck_assert_uint_eq(r.s[2], UINT64_C(9817491932198370423));
    ck_assert_uint_eq(r.s[3], UINT64_C(4593380528125082431));
}
END_TEST

/* ---- names and --order ----------------------------------------------------- */

static const char *const g_paths[6] = {"fx/nw_00.npy", "fx/nw_01.npy", "fx/nw_02.npy",
                                       "fx/nw_03.npy", "fx/nw_04.npy", "fx/nw_05.npy"};

START_TEST(test_dataset_names) {
    ck_assert_str_eq(vpar_agg_dataset_name("a/b/nw_03.npy"), "nw_03.npy");
    ck_assert_str_eq(vpar_agg_dataset_name("nw_03.npy"), "nw_03.npy");
    ck_assert_int_eq(vpar_agg_check_names(g_paths, 6), VPAR_OK);
    const char *dup[3] = {"a/x.npy", "b/y.npy", "c/x.npy"};
    ck_assert_int_eq(vpar_agg_check_names(dup, 3), VPAR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "a/x.npy"));
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "c/x.npy"));
    const char *dir[1] = {"a/"};
    ck_assert_int_eq(vpar_agg_check_names(dir, 1), VPAR_ERR_INVALID);
}
END_TEST

START_TEST(test_order_fixture) {
    size_t order[6];
    ck_assert_int_eq(vpar_agg_read_order(vpar_test_data("fixtures/aggregate/order.txt"),
                                         g_paths, 6, order), VPAR_OK);
    /* expected.csv lists the same order: nw_03, 00, 05, 01, 04, 02. */
    const size_t want[6] = {3, 0, 5, 1, 4, 2};
    ck_assert_mem_eq(order, want, sizeof want);
}
END_TEST

START_TEST(test_order_lenient_forms) {
    make_dir();
    /* comments, blank lines, CRLF, spaces, and the path exactly as given */
    write_text(in_dir("o.txt"), "# my order\r\n nw_05.npy \r\n\r\nfx/nw_04.npy\nnw_03.npy\n"
                                "nw_02.npy\nnw_01.npy\n\tnw_00.npy");
    size_t order[6];
    ck_assert_int_eq(vpar_agg_read_order(in_dir("o.txt"), g_paths, 6, order), VPAR_OK);
    const size_t want[6] = {5, 4, 3, 2, 1, 0};
    ck_assert_mem_eq(order, want, sizeof want);
    /* vpar-egad's network names (no extension) name the same datasets
       (issue 15); a partial stem does not. */
    write_text(in_dir("o.txt"), "nw_05\nnw_04.npy\nnw_03\nnw_02\nnw_01\nnw_00\n");
    ck_assert_int_eq(vpar_agg_read_order(in_dir("o.txt"), g_paths, 6, order), VPAR_OK);
    ck_assert_mem_eq(order, want, sizeof want);
    write_text(in_dir("o.txt"), "nw_0\nnw_04\nnw_03\nnw_02\nnw_01\nnw_00\n");
    ck_assert_int_eq(vpar_agg_read_order(in_dir("o.txt"), g_paths, 6, order), VPAR_ERR_NOT_FOUND);
    remove_dir();
}
END_TEST

static void expect_order_error(const char *text, vpar_status want, const char *needle1,
                               const char *needle2) {
    write_text(in_dir("o.txt"), text);
    size_t order[6];
    ck_assert_int_eq(vpar_agg_read_order(in_dir("o.txt"), g_paths, 6, order), want);
    ck_assert_msg(strstr(vpar_last_error(), needle1), "'%s' lacks '%s'", vpar_last_error(), needle1);
    ck_assert_msg(strstr(vpar_last_error(), needle2), "'%s' lacks '%s'", vpar_last_error(), needle2);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "o.txt"));
}

START_TEST(test_order_errors) {
    make_dir();
    expect_order_error("nw_00.npy\nnw_01.npy\nnw_09.npy\n", VPAR_ERR_NOT_FOUND, ":3:",
                       "unknown dataset 'nw_09.npy'");
    expect_order_error("nw_00.npy\nnw_01.npy\nnw_02.npy\nnw_01.npy\nnw_04.npy\nnw_05.npy\n",
                       VPAR_ERR_FORMAT, ":4:", "repeated (first on line 2)");
    expect_order_error("nw_00.npy\nnw_01.npy\nnw_02.npy\nnw_03.npy\nnw_05.npy\n",
                       VPAR_ERR_FORMAT, "names 5 datasets but 6", "missing: nw_04.npy");
    expect_order_error("", VPAR_ERR_FORMAT, "names 0 datasets", "missing: nw_00.npy");
    /* "fx/nw_00.npy" and "nw_00.npy" name the same dataset: repeated. */
    expect_order_error("fx/nw_00.npy\nnw_00.npy\n", VPAR_ERR_FORMAT, ":2:", "repeated");
    /* A different directory is not the path as given nor the file name. */
    expect_order_error("other/nw_00.npy\n", VPAR_ERR_NOT_FOUND, ":1:", "unknown dataset");
    size_t order[6];
    ck_assert_int_eq(vpar_agg_read_order(in_dir("missing.txt"), g_paths, 6, order),
                     VPAR_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "missing.txt"));
    remove_dir();
}
END_TEST

START_TEST(test_read_lines) {
    make_dir();
    write_text(in_dir("g.txt"), "a\r\nbb\n\nccc");
    char **lines;
    size_t n;
    ck_assert_int_eq(vpar_agg_read_lines(in_dir("g.txt"), &lines, &n), VPAR_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(lines[0], "a");
    ck_assert_str_eq(lines[1], "bb");
    ck_assert_str_eq(lines[2], "");
    ck_assert_str_eq(lines[3], "ccc");
    VPAR_FREE(lines);
    write_text(in_dir("e.txt"), "");
    ck_assert_int_eq(vpar_agg_read_lines(in_dir("e.txt"), &lines, &n), VPAR_OK);
    ck_assert_uint_eq(n, 0);
    VPAR_FREE(lines);
    remove_dir();
}
END_TEST

/* ---- CSVs ----------------------------------------------------------------- */

START_TEST(test_perm_csv_roundtrip) {
    make_dir();
    const size_t order[6] = {3, 0, 5, 1, 4, 2};
    /* Values that need all 17 digits, and NaN. */
    const double auc[6] = {0.78187198919780099, 1.0 / 3.0, NAN, 0.1 + 0.2, 5e-324, 0.87221815126365798};
    char path[512];
    ck_assert(vpar_agg_perm_csv_path(path, sizeof path, g_dir, 7));
    ck_assert_ptr_nonnull(strstr(path, "/permute_network_performance_7.csv"));
    ck_assert_int_eq(vpar_agg_write_perm_csv(path, g_paths, order, auc, 6), VPAR_OK);
    ck_assert_uint_eq(count_entries(), 1);  /* no temporary file left behind */
    char *text = read_text(path);
    ck_assert_str_eq(text, "step,dataset,mean_auc\n"
                           "1,nw_03.npy,0.78187198919780099\n"
                           "2,nw_00.npy,0.33333333333333331\n"
                           "3,nw_05.npy,NaN\n"
                           "4,nw_01.npy,0.30000000000000004\n"
                           "5,nw_04.npy,4.9406564584124654e-324\n"
                           "6,nw_02.npy,0.87221815126365798\n");
    free(text);
    double back[6];
    ck_assert_int_eq(vpar_agg_read_perm_csv(path, g_paths, order, 6, back), VPAR_OK);
    for (int i = 0; i < 6; i++) {
        if (isnan(auc[i])) ck_assert(isnan(back[i]));
        else ck_assert_mem_eq(&back[i], &auc[i], sizeof(double));  /* bit exact */
    }
    /* Another permutation's order does not match: a resumed run recomputes. */
    const size_t other[6] = {0, 1, 2, 3, 4, 5};
    ck_assert_int_eq(vpar_agg_read_perm_csv(path, g_paths, other, 6, back), VPAR_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), ":2: dataset 'nw_03.npy'"));
    ck_assert_int_eq(vpar_agg_read_perm_csv(path, g_paths, order, 5, back), VPAR_ERR_FORMAT);
    ck_assert_int_eq(vpar_agg_read_perm_csv(in_dir("none.csv"), g_paths, order, 6, back),
                     VPAR_ERR_NOT_FOUND);
    remove_dir();
}
END_TEST

START_TEST(test_perm_csv_incomplete_files) {
    make_dir();
    const size_t order[3] = {2, 0, 1};
    double back[3];
    struct { const char *text; const char *needle; } cases[] = {
        {"", "header"},
        {"step,dataset,mean_auc\n1,nw_02.npy,0.5\n2,nw_00.npy,0.6\n", "has 2 steps"},
        {"step,dataset,mean_auc\n1,nw_02.npy,0.5\n2,nw_00.npy,0.6\n3,nw_01.npy,0.", ":4: truncated"},
        {"step,dataset,mean_auc\n1,nw_02.npy,0.5\n2,nw_00.npy,0.6\n3,nw_01.npy,\n", "not a number"},
        {"step,dataset,mean_auc\n1,nw_02.npy,0.5\n3,nw_00.npy,0.6\n3,nw_01.npy,0.7\n", ":3: step '3'"},
        {"step,dataset,mean_auc\n1,nw_02.npy,0.5\n2,nw_00.npy\n3,nw_01.npy,0.7\n", "3 fields"},
        {"step,dataset,auc\n1,nw_02.npy,0.5\n2,nw_00.npy,0.6\n3,nw_01.npy,0.7\n", "header"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        write_text(in_dir("p.csv"), cases[c].text);
        ck_assert_int_eq(vpar_agg_read_perm_csv(in_dir("p.csv"), g_paths, order, 3, back),
                         VPAR_ERR_FORMAT);
        ck_assert_msg(strstr(vpar_last_error(), cases[c].needle), "case %zu: '%s' lacks '%s'", c,
                      vpar_last_error(), cases[c].needle);
    }
    remove_dir();
}
END_TEST

START_TEST(test_write_errors) {
    const size_t order[1] = {0};
    const double auc[1] = {0.5};
    ck_assert_int_eq(vpar_agg_write_perm_csv("/nonexistent_dir_vpar/p.csv", g_paths, order, auc, 1),
                     VPAR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), "/nonexistent_dir_vpar/p.csv"));
    ck_assert_int_eq(vpar_agg_write_svg("/nonexistent_dir_vpar/c.svg", auc, 1, 1, NULL), VPAR_ERR_IO);
    ck_assert_int_eq(vpar_agg_write_aggregate_csv("/nonexistent_dir_vpar/a.csv", g_paths, order,
                                                  auc, 1, 1), VPAR_ERR_IO);
}
END_TEST

START_TEST(test_aggregate_csv) {
    make_dir();
    const size_t orders[2 * 3] = {2, 0, 1, 1, 2, 0};
    const double auc[2 * 3] = {0.5, 0.25, NAN, 0.75, 1, 0.125};
    ck_assert_int_eq(vpar_agg_write_aggregate_csv(in_dir("a.csv"), g_paths, orders, auc, 2, 3), VPAR_OK);
    char *text = read_text(in_dir("a.csv"));
    ck_assert_str_eq(text, "permutation,step,dataset,mean_auc\n"
                           "1,1,nw_02.npy,0.5\n1,2,nw_00.npy,0.25\n1,3,nw_01.npy,NaN\n"
                           "2,1,nw_01.npy,0.75\n2,2,nw_02.npy,1\n2,3,nw_00.npy,0.125\n");
    free(text);
    remove_dir();
}
END_TEST

/* ---- median and SVG --------------------------------------------------------- */

START_TEST(test_median) {
    /* 4 permutations x 3 steps; step 2 has a NaN, step 3 only NaN. */
    const double auc[4 * 3] = {0.1, 0.5, NAN, 0.4, NAN, NAN, 0.2, 0.9, NAN, 0.3, 0.7, NAN};
    double med[3];
    ck_assert_int_eq(vpar_agg_median(auc, 4, 3, med), VPAR_OK);
    ck_assert_double_eq_tol(med[0], 0.25, 1e-15);   /* (0.2 + 0.3) / 2 */
    ck_assert_double_eq_tol(med[1], 0.7, 1e-15);    /* of 0.5, 0.9, 0.7 */
    ck_assert(isnan(med[2]));
}
END_TEST

/* A small well-formedness checker: tags balance, attributes are quoted,
   entities are known, and nothing follows the root. Counts elements named
   `count_name` with a class attribute equal to `count_class` (or any class
   when NULL). */
static int xml_check(const char *s, const char *count_name, const char *count_class, int *count) {
    char stack[64][32];
    int depth = 0, roots = 0;
    *count = 0;
    const char *p = s;
    if (strncmp(p, "<?xml", 5) == 0) {
        p = strstr(p, "?>");
        if (!p) return 0;
        p += 2;
    }
    while (*p) {
        if (*p != '<') {
            if (*p == '&') {
                if (strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) && strncmp(p, "&amp;", 5) &&
                    strncmp(p, "&quot;", 6) && strncmp(p, "&apos;", 6))
                    return 0;
            } else if (*p == '>') {
                return 0;
            } else if (depth == 0 && !(*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) {
                return 0;  /* text outside the root */
            }
            p++;
            continue;
        }
        if (p[1] == '/') {
            p += 2;
            size_t n = strcspn(p, " >");
            if (depth == 0 || n != strlen(stack[depth - 1]) || strncmp(p, stack[depth - 1], n))
                return 0;
            depth--;
            p = strchr(p, '>');
            if (!p) return 0;
            p++;
            continue;
        }
        p++;
        size_t n = strcspn(p, " \t\n/>");
        if (n == 0 || n >= sizeof stack[0]) return 0;
        char name[32];
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        int has_class = 0;
        char cls[64] = "";
        for (;;) {
            while (*p == ' ' || *p == '\n' || *p == '\t') p++;
            if (*p == '>' || (p[0] == '/' && p[1] == '>')) break;
            size_t an = strcspn(p, "= \t\n>");
            if (an == 0 || p[an] != '=' || (p[an + 1] != '"' && p[an + 1] != '\'')) return 0;
            char q = p[an + 1];
            const char *v = p + an + 2, *ve = strchr(v, q);
            if (!ve || memchr(v, '<', (size_t)(ve - v))) return 0;
            if (an == 5 && strncmp(p, "class", 5) == 0 && (size_t)(ve - v) < sizeof cls) {
                memcpy(cls, v, (size_t)(ve - v));
                cls[ve - v] = '\0';
                has_class = 1;
            }
            p = ve + 1;
        }
        if (strcmp(name, count_name) == 0 && (!count_class || (has_class && !strcmp(cls, count_class))))
            (*count)++;
        if (depth == 0) roots++;
        if (*p == '/') {
            p += 2;
        } else {
            if (depth == 64) return 0;
            strcpy(stack[depth++], name);
            p++;
        }
    }
    return depth == 0 && roots == 1;
}

START_TEST(test_xml_checker_rejects) {
    int c;
    ck_assert(xml_check("<a><b x=\"1\"/></a>", "b", NULL, &c) && c == 1);
    ck_assert(!xml_check("<a><b></a>", "b", NULL, &c));
    ck_assert(!xml_check("<a x=1></a>", "a", NULL, &c));
    ck_assert(!xml_check("<a>&nbsp;</a>", "a", NULL, &c));
    ck_assert(!xml_check("<a></a><b/>", "a", NULL, &c));
    ck_assert(!xml_check("<a>x > y</a>", "a", NULL, &c));
}
END_TEST

START_TEST(test_svg) {
    make_dir();
    enum { P = 5, K = 7 };
    double auc[P * K];
    for (int i = 0; i < P; i++)
        for (int s = 0; s < K; s++) auc[i * K + s] = 0.6 + 0.03 * s + 0.01 * i;
    auc[2 * K + 3] = NAN;  /* a gap in permutation 3 */
    ck_assert_int_eq(vpar_agg_write_svg(in_dir("c.svg"), auc, P, K, "A <title> & \"quotes\""), VPAR_OK);
    ck_assert_uint_eq(count_entries(), 1);
    char *svg = read_text(in_dir("c.svg"));
    int n;
    ck_assert_msg(xml_check(svg, "path", NULL, &n), "not well-formed:\n%s", svg);
    ck_assert_int_eq(n, P + 1);
    ck_assert(xml_check(svg, "path", "perm", &n));
    ck_assert_int_eq(n, P);
    ck_assert(xml_check(svg, "path", "median", &n));
    ck_assert_int_eq(n, 1);
    ck_assert(xml_check(svg, "svg", NULL, &n) && n == 1);
    ck_assert_ptr_nonnull(strstr(svg, "A &lt;title&gt; &amp; &quot;quotes&quot;"));
    ck_assert_ptr_nonnull(strstr(svg, "Number of aggregated datasets"));
    ck_assert_ptr_nonnull(strstr(svg, "Mean AUROC"));
    /* the gap: permutation 3's path restarts with a second moveto */
    const char *p3 = strstr(svg, "<title>permutation 3</title>");
    ck_assert_ptr_nonnull(p3);
    const char *d = p3;
    while (d > svg && strncmp(d, " d=\"", 4)) d--;
    int moves = 0;
    for (const char *q = d + 4; *q != '"'; q++) moves += *q == 'M';
    ck_assert_int_eq(moves, 2);
    free(svg);

    /* degenerate inputs still give a well-formed file: one step, all NaN */
    double one[3] = {0.7, 0.7, 0.7};
    ck_assert_int_eq(vpar_agg_write_svg(in_dir("one.svg"), one, 3, 1, NULL), VPAR_OK);
    svg = read_text(in_dir("one.svg"));
    ck_assert(xml_check(svg, "path", NULL, &n) && n == 4);
    free(svg);
    double nan2[2] = {NAN, NAN};
    ck_assert_int_eq(vpar_agg_write_svg(in_dir("nan.svg"), nan2, 2, 1, NULL), VPAR_OK);
    svg = read_text(in_dir("nan.svg"));
    ck_assert(xml_check(svg, "path", NULL, &n) && n == 3);
    free(svg);

    /* The legend fits in the picture with a 4-digit permutation count
       (issue 15: "permutation (100)" was cut at the right edge). Width of
       13 px sans-serif text bounded by 0.62 em per character. */
    static double many[1000];
    for (int i = 0; i < 1000; i++) many[i] = 0.7;
    ck_assert_int_eq(vpar_agg_write_svg(in_dir("many.svg"), many, 1000, 1, NULL), VPAR_OK);
    svg = read_text(in_dir("many.svg"));
    double width = 0, x = 0;
    const char *w = strstr(svg, "width=\"");
    ck_assert_ptr_nonnull(w);
    width = atof(w + 7);
    const char *t = strstr(svg, ">permutation (1000)</text>");
    ck_assert_ptr_nonnull(t);
    const char *tx = t;
    while (tx > svg && strncmp(tx, "<text x=\"", 9)) tx--;
    x = atof(tx + 9);
    double text_w = 0.62 * 13 * (double)strlen("permutation (1000)");
    ck_assert_msg(x + text_w <= width, "legend ends at %.1f, picture is %.0f wide", x + text_w, width);
    free(svg);
    remove_dir();
}
END_TEST

/* ---- progress --------------------------------------------------------------- */

START_TEST(test_progress_format) {
    char buf[256];
    vpar_agg_progress_format(buf, sizeof buf, 5, 10, 10.0, 10);
    ck_assert_str_eq(buf, "[#####.....]  50% 5/10 steps  0:10 elapsed  ETA 0:10");
    vpar_agg_progress_format(buf, sizeof buf, 0, 120, 0.0, 4);
    ck_assert_str_eq(buf, "[....]   0% 0/120 steps  0:00 elapsed  ETA --:--");
    vpar_agg_progress_format(buf, sizeof buf, 3, 4, 3 * 3600.0, 4);
    ck_assert_str_eq(buf, "[###.]  75% 3/4 steps  3:00:00 elapsed  ETA 1:00:00");
}
END_TEST

/* Forked workers count steps in one MAP_SHARED progress block. */
START_TEST(test_progress_shared_across_processes) {
    vpar_agg_progress *pr = mmap(NULL, sizeof *pr, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(pr != MAP_FAILED);
    enum { WORKERS = 3, STEPS = 20000 };
    vpar_agg_progress_init(pr, WORKERS * STEPS, 0);
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        ck_assert_int_ge(pids[w], 0);
        if (pids[w] == 0) {
            for (int i = 0; i < STEPS; i++) vpar_agg_progress_step(pr);
            _exit(0);
        }
    }
    for (int w = 0; w < WORKERS; w++) {
        int status;
        ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ck_assert_uint_eq(atomic_load(&pr->done), (uint64_t)WORKERS * STEPS);
    munmap(pr, sizeof *pr);
}
END_TEST

int main(void) {
    Suite *s = suite_create("aggregate_io");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_permutations_valid_and_reproducible);
    tcase_add_test(tc, test_permutations_uniform);
    tcase_add_test(tc, test_rng_below);
    tcase_add_test(tc, test_rng_seed_is_splitmix64);
    tcase_add_test(tc, test_dataset_names);
    tcase_add_test(tc, test_order_fixture);
    tcase_add_test(tc, test_order_lenient_forms);
    tcase_add_test(tc, test_order_errors);
    tcase_add_test(tc, test_read_lines);
    tcase_add_test(tc, test_perm_csv_roundtrip);
    tcase_add_test(tc, test_perm_csv_incomplete_files);
    tcase_add_test(tc, test_write_errors);
    tcase_add_test(tc, test_aggregate_csv);
    tcase_add_test(tc, test_median);
    tcase_add_test(tc, test_xml_checker_rejects);
    tcase_add_test(tc, test_svg);
    tcase_add_test(tc, test_progress_format);
    tcase_add_test(tc, test_progress_shared_across_processes);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
