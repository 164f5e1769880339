/* vpar-rank end to end: golden fixtures through the program, the
   symmetric mode, and every error path (exit status + message).
   argv[1] is the path of the vpar-rank binary (set by tests/rank.cmake). */
#include "vpar.h"
#include "vpar_check.h"

#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *prog;
static char tmpdir[256];
static char errtext[900];  /* fits in a harness message */

static char *fixture(const char *name) {
    static char path[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/fixtures/rank/%s", VPAR_TEST_DATA_DIR, name);
    return path[k];
}
static char *tmpfile_path(const char *name) {
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    return path[k];
}

/* Runs vpar-rank with args (NULL-terminated); returns the exit status and
   leaves its stderr in errtext. */
static int run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5) {
    const char *argv[8] = {prog, a1, a2, a3, a4, a5, NULL};
    char *errpath = tmpfile_path("stderr.txt");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, prog, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(rc == 0, "cannot spawn %s: %s", prog, strerror(rc));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    FILE *f = fopen(errpath, "r");
    size_t n = f ? fread(errtext, 1, sizeof errtext - 1, f) : 0;
    errtext[n] = 0;
    if (f) fclose(f);
    return WEXITSTATUS(status);
}

static void assert_close_npy(const char *got_path, const char *want_path) {
    vpar_npy g, w;
    ck_assert_msg(vpar_npy_open(&g, got_path, 0) == VPAR_OK, "%s", vpar_last_error());
    ck_assert_msg(vpar_npy_open(&w, want_path, 0) == VPAR_OK, "%s", vpar_last_error());
    ck_assert_int_eq(g.dtype, w.dtype);
    ck_assert_int_eq(g.ndim, w.ndim);
    ck_assert_uint_eq(g.shape[0], w.shape[0]);
    ck_assert_uint_eq(g.shape[1], w.shape[1]);
    for (size_t i = 0; i < w.count; i++) {
        double a = g.dtype == VPAR_DTYPE_F64 ? ((double *)g.data)[i] : ((float *)g.data)[i];
        double b = w.dtype == VPAR_DTYPE_F64 ? ((double *)w.data)[i] : ((float *)w.data)[i];
        double tol = w.dtype == VPAR_DTYPE_F64 ? 1e-9 : 1e-6 * fabs(b);
        if (!(fabs(a - b) <= tol)) ck_abort_msg("%s[%zu] = %.17g, want %.17g", got_path, i, a, b);
    }
    vpar_npy_close(&g);
    vpar_npy_close(&w);
}

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vpar-rank-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}
static void teardown(void) {
    const char *names[] = {"stderr.txt", "out.npy", "sym.npy", "int.npy", "expect.npy", "one.npy"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmpfile_path(names[i]));
    rmdir(tmpdir);
}

START_TEST(test_cli_golden) {
    const char *cases[] = {"rect_f64", "sym_f32", "sym_f64"};
    const char *jobs[] = {"-j1", "-j3"};
    for (int c = 0; c < 3; c++)
        for (int j = 0; j < 2; j++) {
            char in[64], want[64];
            snprintf(in, sizeof in, "%s.npy", cases[c]);
            snprintf(want, sizeof want, "%s.ranked.npy", cases[c]);
            ck_assert_msg(run(fixture(in), tmpfile_path("out.npy"), jobs[j], NULL, NULL) == 0, "%s", errtext);
            assert_close_npy(tmpfile_path("out.npy"), fixture(want));
        }
}
END_TEST

START_TEST(test_cli_symmetric) {
    /* the sym fixtures have NaNs in one triangle only: detected */
    ck_assert_int_eq(run(fixture("sym_f64.npy"), tmpfile_path("out.npy"), "--symmetric", NULL, NULL), 1);
    ck_assert_msg(strstr(errtext, "sym_f64.npy") && strstr(errtext, "not symmetric") && strstr(errtext, "[0, 274]"),
                  "%s", errtext);
    ck_assert(access(tmpfile_path("out.npy"), F_OK) != 0);  /* nothing written */
    /* symmetrize from the upper triangle; --symmetric then equals full
       ranking (library, FULL) bit for bit */
    vpar_npy a;
    ck_assert_int_eq(vpar_npy_open(&a, fixture("sym_f64.npy"), VPAR_NPY_WRITABLE), VPAR_OK);
    double *x = (double *)a.data;
    size_t N = a.shape[0];
    for (size_t r = 0; r < N; r++)
        for (size_t c = 0; c < r; c++) x[r * N + c] = x[c * N + r];
    ck_assert_int_eq(vpar_npy_write(tmpfile_path("sym.npy"), x, a.dtype, 2, a.shape), VPAR_OK);
    ck_assert_int_eq(vpar_rank_standardize(x, a.dtype, N, N, VPAR_RANK_FULL, NULL), VPAR_OK);
    ck_assert_int_eq(vpar_npy_write(tmpfile_path("expect.npy"), x, a.dtype, 2, a.shape), VPAR_OK);
    vpar_npy_close(&a);
    ck_assert_msg(run(tmpfile_path("sym.npy"), tmpfile_path("out.npy"), "--symmetric", "-j", "2") == 0, "%s", errtext);
    vpar_npy g, w;
    ck_assert_int_eq(vpar_npy_open(&g, tmpfile_path("out.npy"), 0), VPAR_OK);
    ck_assert_int_eq(vpar_npy_open(&w, tmpfile_path("expect.npy"), 0), VPAR_OK);
    ck_assert_uint_eq(g.nbytes, w.nbytes);
    ck_assert(memcmp(g.data, w.data, g.nbytes) == 0);
    vpar_npy_close(&g);
    vpar_npy_close(&w);
    /* --no-check trusts the upper triangle of the raw fixture: same result */
    ck_assert_msg(run(fixture("sym_f64.npy"), tmpfile_path("out.npy"), "--symmetric", "--no-check", NULL) == 0,
                  "%s", errtext);
    ck_assert_int_eq(vpar_npy_open(&g, tmpfile_path("out.npy"), 0), VPAR_OK);
    ck_assert_int_eq(vpar_npy_open(&w, tmpfile_path("expect.npy"), 0), VPAR_OK);
    ck_assert(memcmp(g.data, w.data, g.nbytes) == 0);
    vpar_npy_close(&g);
    vpar_npy_close(&w);
}
END_TEST

START_TEST(test_cli_errors) {
    ck_assert_int_eq(run("--help", NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(run(tmpfile_path("missing.npy"), tmpfile_path("out.npy"), NULL, NULL, NULL), 1);
    ck_assert_msg(strstr(errtext, "missing.npy") && strstr(errtext, "No such file"), "%s", errtext);
    int32_t v[4] = {1, 2, 3, 4};
    size_t shape[2] = {2, 2};
    ck_assert_int_eq(vpar_npy_write(tmpfile_path("int.npy"), v, VPAR_DTYPE_I32, 2, shape), VPAR_OK);
    ck_assert_int_eq(run(tmpfile_path("int.npy"), tmpfile_path("out.npy"), NULL, NULL, NULL), 1);
    ck_assert_msg(strstr(errtext, "int.npy") && strstr(errtext, "<i4"), "%s", errtext);
    ck_assert_int_eq(run(fixture("rect_f64.npy"), tmpfile_path("out.npy"), "--symmetric", NULL, NULL), 1);
    ck_assert_msg(strstr(errtext, "square") && strstr(errtext, "150, 303"), "%s", errtext);
    ck_assert_int_eq(run(fixture("rect_f64.npy"), tmpfile_path("out.npy"), "--upper", NULL, NULL), 1);
    ck_assert_int_eq(run(fixture("rect_f64.npy"), tmpfile_path("out.npy"), "--bogus", NULL, NULL), 2);
    ck_assert_msg(strstr(errtext, "--bogus"), "%s", errtext);
    ck_assert_int_eq(run(fixture("rect_f64.npy"), tmpfile_path("out.npy"), "-j", "0", NULL), 2);
    ck_assert_int_eq(run(fixture("rect_f64.npy"), tmpfile_path("out.npy"), "-j", NULL, NULL), 2);
    ck_assert_int_eq(run(fixture("rect_f64.npy"), NULL, NULL, NULL, NULL), 2);
    ck_assert_int_eq(run(fixture("rect_f64.npy"), tmpfile_path("out.npy"), "--symmetric", "--upper", NULL), 2);
    ck_assert(access(tmpfile_path("out.npy"), F_OK) != 0);
    /* unwritable output: error names it */
    ck_assert_int_eq(run(fixture("rect_f64.npy"), "/nonexistent-dir/out.npy", NULL, NULL, NULL), 1);
    ck_assert_msg(strstr(errtext, "/nonexistent-dir/out.npy"), "%s", errtext);
}
END_TEST

START_TEST(test_cli_upper_and_1d) {
    /* --upper on a 2 x 2: upper entries 1, 2, 3 -> 0, 0.5, 1; lower kept */
    double m[4] = {1, 2, 99, 3};
    size_t shape[2] = {2, 2};
    ck_assert_int_eq(vpar_npy_write(tmpfile_path("one.npy"), m, VPAR_DTYPE_F64, 2, shape), VPAR_OK);
    ck_assert_msg(run(tmpfile_path("one.npy"), tmpfile_path("out.npy"), "--upper", NULL, NULL) == 0, "%s", errtext);
    vpar_npy g;
    ck_assert_int_eq(vpar_npy_open(&g, tmpfile_path("out.npy"), 0), VPAR_OK);
    const double *o = (const double *)g.data;
    ck_assert(o[0] == 0 && o[1] == 0.5 && o[2] == 99 && o[3] == 1);
    vpar_npy_close(&g);
    /* 1-D float32 */
    float f[5] = {3, NAN, 1, 2, INFINITY};
    size_t s1[1] = {5};
    ck_assert_int_eq(vpar_npy_write(tmpfile_path("one.npy"), f, VPAR_DTYPE_F32, 1, s1), VPAR_OK);
    ck_assert_msg(run(tmpfile_path("one.npy"), tmpfile_path("out.npy"), NULL, NULL, NULL) == 0, "%s", errtext);
    ck_assert_int_eq(vpar_npy_open(&g, tmpfile_path("out.npy"), 0), VPAR_OK);
    ck_assert_int_eq(g.ndim, 1);
    const float *q = (const float *)g.data;
    ck_assert(q[0] == 1.0f && q[1] == 0.5f && q[2] == 0.0f && q[3] == 0.5f && q[4] == 0.5f);
    vpar_npy_close(&g);
}
END_TEST

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: test_rank_cli PATH/TO/vpar-rank\n"); return 2; }
    prog = argv[1];
    Suite *s = suite_create("rank_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cli_golden);
    tcase_add_test(tc, test_cli_symmetric);
    tcase_add_test(tc, test_cli_errors);
    tcase_add_test(tc, test_cli_upper_and_1d);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
