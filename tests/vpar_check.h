/* tests/vpar_check.h — the test harness every vpar test includes.

   With Check installed (Debian: apt-get install check; detected by CMake
   through pkg-config), this is exactly <check.h>. Without it, CMake defines
   VPAR_TEST_NO_CHECK and this file provides the subset of Check's API that
   our tests use, running every test in-process and printing a Check-style
   summary. Tests are written once, against Check's API:

       START_TEST(test_sum) { ck_assert_int_eq(1 + 1, 2); } END_TEST
       int main(void) {
           Suite *s = suite_create("demo");
           TCase *tc = tcase_create("core");
           tcase_add_test(tc, test_sum);
           suite_add_tcase(s, tc);
           return vpar_test_run(s);
       }

   vpar_test_run() runs the suite and returns the process exit status.
   VPAR_TEST_FILTER=<substring of a test name> runs only the matching tests
   with the built-in harness (-DVPAR_TEST_WITH_CHECK=OFF); with Check the
   variable is ignored and every test runs (Check itself can filter only by
   suite/test-case name, its CK_RUN_SUITE/CK_RUN_CASE variables), so a ctest
   entry that sets VPAR_TEST_FILTER runs a subset only without Check.
*/
#ifndef VPAR_TESTS_CHECK_H
#define VPAR_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VPAR_TEST_NO_CHECK
#include <check.h>

static inline int vpar_test_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#else /* minimal Check-compatible harness */

#include <math.h>
#include <setjmp.h>
#include <stdint.h>

typedef struct vpar__ck_test {
    const char *name;
    void (*fn)(int);
    int loop_start, loop_end;
} vpar__ck_test;

typedef struct TCase {
    const char *name;
    vpar__ck_test tests[256];
    int ntests;
    void (*setup)(void);
    void (*teardown)(void);
    struct TCase *next;
} TCase;

typedef struct Suite {
    const char *name;
    TCase *first, *last;
} Suite;

static jmp_buf vpar__ck_jmp;
static int vpar__ck_failed_here;

#define START_TEST(fname) static void fname(int _i __attribute__((unused)))
#define END_TEST

static inline Suite *suite_create(const char *name) {
    Suite *s = (Suite *)calloc(1, sizeof *s);
    s->name = name;
    return s;
}
static inline TCase *tcase_create(const char *name) {
    TCase *t = (TCase *)calloc(1, sizeof *t);
    t->name = name;
    return t;
}
static inline void suite_add_tcase(Suite *s, TCase *t) {
    if (s->last) s->last->next = t; else s->first = t;
    s->last = t;
}
#define tcase_add_test(tc, fn) vpar__ck_add((tc), #fn, (fn), 0, 1)
#define tcase_add_loop_test(tc, fn, a, b) vpar__ck_add((tc), #fn, (fn), (a), (b))
static inline void vpar__ck_add(TCase *t, const char *name, void (*fn)(int),
                                int a, int b) {
    if (t->ntests < 256) {
        vpar__ck_test x = {name, fn, a, b};
        t->tests[t->ntests++] = x;
    }
}
static inline void tcase_set_timeout(TCase *t, double s) { (void)t; (void)s; }
static inline void tcase_add_checked_fixture(TCase *t, void (*setup)(void),
                                             void (*teardown)(void)) {
    t->setup = setup;
    t->teardown = teardown;
}
#define tcase_add_unchecked_fixture tcase_add_checked_fixture

static inline void vpar__ck_fail(const char *file, int line, const char *msg) {
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, msg);
    fflush(stderr);
    vpar__ck_failed_here = 1;
    longjmp(vpar__ck_jmp, 1);
}

#define ck_assert_msg(cond, ...)                                             \
    do {                                                                     \
        if (!(cond)) {                                                       \
            char vpar__m[1024];                                              \
            snprintf(vpar__m, sizeof vpar__m, __VA_ARGS__);                  \
            vpar__ck_fail(__FILE__, __LINE__, vpar__m);                      \
        }                                                                    \
    } while (0)
#define ck_assert(cond) ck_assert_msg((cond), "%s", #cond)
#define ck_abort_msg(...) ck_assert_msg(0, __VA_ARGS__)
#define ck_abort() ck_abort_msg("aborted")
#define VPAR__CK_CMP(T, fmt, X, OP, Y)                                       \
    do {                                                                     \
        T vpar__x = (X), vpar__y = (Y);                                      \
        ck_assert_msg(vpar__x OP vpar__y,                                    \
                      "%s " #OP " %s (" fmt " vs " fmt ")", #X, #Y,          \
                      vpar__x, vpar__y);                                     \
    } while (0)
#define ck_assert_int_eq(X, Y) VPAR__CK_CMP(intmax_t, "%jd", X, ==, Y)
#define ck_assert_int_ne(X, Y) VPAR__CK_CMP(intmax_t, "%jd", X, !=, Y)
#define ck_assert_int_lt(X, Y) VPAR__CK_CMP(intmax_t, "%jd", X, <, Y)
#define ck_assert_int_le(X, Y) VPAR__CK_CMP(intmax_t, "%jd", X, <=, Y)
#define ck_assert_int_gt(X, Y) VPAR__CK_CMP(intmax_t, "%jd", X, >, Y)
#define ck_assert_int_ge(X, Y) VPAR__CK_CMP(intmax_t, "%jd", X, >=, Y)
#define ck_assert_uint_eq(X, Y) VPAR__CK_CMP(uintmax_t, "%ju", X, ==, Y)
#define ck_assert_uint_ne(X, Y) VPAR__CK_CMP(uintmax_t, "%ju", X, !=, Y)
#define ck_assert_uint_lt(X, Y) VPAR__CK_CMP(uintmax_t, "%ju", X, <, Y)
#define ck_assert_uint_le(X, Y) VPAR__CK_CMP(uintmax_t, "%ju", X, <=, Y)
#define ck_assert_uint_gt(X, Y) VPAR__CK_CMP(uintmax_t, "%ju", X, >, Y)
#define ck_assert_uint_ge(X, Y) VPAR__CK_CMP(uintmax_t, "%ju", X, >=, Y)
#define ck_assert_double_eq(X, Y) VPAR__CK_CMP(double, "%.17g", X, ==, Y)
#define ck_assert_double_lt(X, Y) VPAR__CK_CMP(double, "%.17g", X, <, Y)
#define ck_assert_double_le(X, Y) VPAR__CK_CMP(double, "%.17g", X, <=, Y)
#define ck_assert_double_gt(X, Y) VPAR__CK_CMP(double, "%.17g", X, >, Y)
#define ck_assert_double_ge(X, Y) VPAR__CK_CMP(double, "%.17g", X, >=, Y)
#define ck_assert_double_eq_tol(X, Y, T)                                     \
    do {                                                                     \
        double vpar__x = (X), vpar__y = (Y), vpar__t = (T);                  \
        ck_assert_msg(fabs(vpar__x - vpar__y) < vpar__t,                     \
                      "|%s - %s| < %s (%.17g vs %.17g)", #X, #Y, #T,         \
                      vpar__x, vpar__y);                                     \
    } while (0)
#define ck_assert_double_nan(X) ck_assert_msg(isnan((double)(X)), "%s is NaN", #X)
#define ck_assert_double_nonnan(X) ck_assert_msg(!isnan((double)(X)), "%s is not NaN", #X)
#define ck_assert_str_eq(X, Y)                                               \
    do {                                                                     \
        const char *vpar__x = (X), *vpar__y = (Y);                           \
        ck_assert_msg(vpar__x && vpar__y && strcmp(vpar__x, vpar__y) == 0,   \
                      "%s == %s (\"%s\" vs \"%s\")", #X, #Y,                 \
                      vpar__x ? vpar__x : "(null)",                          \
                      vpar__y ? vpar__y : "(null)");                         \
    } while (0)
#define ck_assert_str_ne(X, Y)                                               \
    do {                                                                     \
        const char *vpar__x = (X), *vpar__y = (Y);                           \
        ck_assert_msg(!vpar__x || !vpar__y || strcmp(vpar__x, vpar__y) != 0, \
                      "%s != %s", #X, #Y);                                   \
    } while (0)
#define ck_assert_ptr_eq(X, Y) ck_assert_msg((const void *)(X) == (const void *)(Y), "%s == %s", #X, #Y)
#define ck_assert_ptr_ne(X, Y) ck_assert_msg((const void *)(X) != (const void *)(Y), "%s != %s", #X, #Y)
#define ck_assert_ptr_null(X) ck_assert_msg((const void *)(X) == NULL, "%s is NULL", #X)
#define ck_assert_ptr_nonnull(X) ck_assert_msg((const void *)(X) != NULL, "%s is not NULL", #X)
#define ck_assert_mem_eq(X, Y, L) ck_assert_msg(memcmp((X), (Y), (L)) == 0, "memory %s == %s", #X, #Y)

static inline int vpar_test_run(Suite *s) {
    const char *filter = getenv("VPAR_TEST_FILTER");
    /* volatile: these live across setjmp/longjmp (-Wclobbered) */
    volatile int run = 0, failed = 0;
    for (TCase *volatile t = s->first; t; t = t->next) {
        for (volatile int i = 0; i < t->ntests; i++) {
            vpar__ck_test *volatile x = &t->tests[i];
            if (filter && *filter && !strstr(x->name, filter)) continue;
            for (volatile int it = x->loop_start; it < x->loop_end; it++) {
                run++;
                vpar__ck_failed_here = 0;
                if (t->setup) t->setup();
                if (setjmp(vpar__ck_jmp) == 0) x->fn(it);
                if (t->teardown) t->teardown();
                if (vpar__ck_failed_here) {
                    failed++;
                    fprintf(stderr, "%s:%s:%s: FAILED\n", s->name, t->name, x->name);
                }
            }
        }
    }
    printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n",
           run ? (100 * (run - failed)) / run : 100, run, failed);
    for (TCase *t = s->first; t;) { TCase *n = t->next; free(t); t = n; }
    free(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
#endif /* VPAR_TEST_NO_CHECK */

/* Path of a file under tests/data (compile definition from CMake). */
#ifndef VPAR_TEST_DATA_DIR
#  define VPAR_TEST_DATA_DIR "tests/data"
#endif
static inline const char *vpar_test_data(const char *rel) {
    static char buf[4][4096];
    static int slot;
    char *b = buf[slot++ & 3];
    int n = snprintf(b, sizeof buf[0], "%s/%s", VPAR_TEST_DATA_DIR, rel);
    if (n < 0 || (size_t)n >= sizeof buf[0]) {
        fprintf(stderr, "vpar_test_data: path too long: %s/%s\n", VPAR_TEST_DATA_DIR, rel);
        exit(EXIT_FAILURE);
    }
    return b;
}

#endif /* VPAR_TESTS_CHECK_H */
