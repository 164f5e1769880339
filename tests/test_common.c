/* Status codes and the thread-local error detail (vpar/common.h). */
#include "vpar.h"
#include "vpar_check.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

START_TEST(test_status_strings_are_distinct_and_known) {
    for (int i = 0; i < VPAR_STATUS_COUNT; i++) {
        const char *a = vpar_status_str((vpar_status)i);
        ck_assert_ptr_nonnull(a);
        ck_assert_str_ne(a, "unknown status");
        for (int j = i + 1; j < VPAR_STATUS_COUNT; j++)
            ck_assert_str_ne(a, vpar_status_str((vpar_status)j));
    }
    ck_assert_str_eq(vpar_status_str(VPAR_OK), "ok");
    ck_assert_str_eq(vpar_status_str((vpar_status)9999), "unknown status");
}
END_TEST

START_TEST(test_fail_records_detail) {
    vpar_clear_error();
    ck_assert_str_eq(vpar_last_error(), "");
    vpar_status st = vpar_fail(VPAR_ERR_FORMAT, "%s: bad magic", "x.npy");
    ck_assert_int_eq(st, VPAR_ERR_FORMAT);
    ck_assert_str_eq(vpar_last_error(), "x.npy: bad magic");
    st = vpar_fail_errno(VPAR_ERR_IO, ENOENT, "cannot open %s", "y.npy");
    ck_assert_int_eq(st, VPAR_ERR_IO);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_msg(strstr(vpar_last_error(), "cannot open y.npy: ") == vpar_last_error(),
                  "got '%s'", vpar_last_error());
    vpar_clear_error();
    ck_assert_str_eq(vpar_last_error(), "");
}
END_TEST

static void *other_thread(void *arg) {
    (void)arg;
    vpar_fail(VPAR_ERR_INVALID, "from the other thread");
    return (void *)(uintptr_t)(strcmp(vpar_last_error(), "from the other thread") == 0);
}

START_TEST(test_error_detail_is_thread_local) {
    vpar_fail(VPAR_ERR_NOMEM, "main thread detail");
    pthread_t t;
    void *ok = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, &ok);
    ck_assert_ptr_nonnull(ok);
    ck_assert_str_eq(vpar_last_error(), "main thread detail");
}
END_TEST

START_TEST(test_checked_size_arithmetic) {
    size_t r = 0;
    ck_assert(vpar__mul_size(3, 5, &r) && r == 15);
    ck_assert(!vpar__mul_size(SIZE_MAX / 2 + 1, 2, &r));
    ck_assert(vpar__add_size(SIZE_MAX - 1, 1, &r) && r == SIZE_MAX);
    ck_assert(!vpar__add_size(SIZE_MAX, 1, &r));
}
END_TEST

START_TEST(test_write_file_atomic) {
    char dir[] = "/tmp/vpar_common_XXXXXX", path[300], cmd[400];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.txt", dir);
    const void *bufs[3] = {"abc", "", "defg"};
    size_t lens[3] = {3, 0, 4};
    ck_assert_int_eq(vpar_write_file_atomic(path, bufs, lens, 3), VPAR_OK);
    char got[16] = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(got, 1, sizeof got, f), 7);
    fclose(f);
    ck_assert_str_eq(got, "abcdefg");
    /* a failing write (directory missing) names the file and sets errno */
    char bad[320];
    snprintf(bad, sizeof bad, "%s/missing/out.txt", dir);
    ck_assert_int_eq(vpar_write_file_atomic(bad, bufs, lens, 3), VPAR_ERR_IO);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(vpar_last_error(), bad));
    /* only the output itself is left in the directory: no temporary files */
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s')\" = out.txt", dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Count of CPUs in the affinity mask as coreutils nproc prints it (it
   honours the mask too; OMP_* variables would override it, so unset). 0
   when nproc cannot be run. */
static int nproc_says(void) {
    FILE *f = popen("env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null", "r");
    int n = 0;
    if (!f) return 0;
    if (fscanf(f, "%d", &n) != 1) n = 0;
    pclose(f);
    return n;
}

START_TEST(test_cpu_count_follows_affinity) {
    cpu_set_t orig;
    ck_assert_int_eq(sched_getaffinity(0, sizeof orig, &orig), 0);
    int n = vpar_cpu_count();
    ck_assert_int_ge(n, 1);
    ck_assert_int_eq(n, CPU_COUNT(&orig));
    int np = nproc_says();
    if (np > 0) ck_assert_int_eq(n, np);
    /* errno is left alone. */
    errno = 1234;
    (void)vpar_cpu_count();
    ck_assert_int_eq(errno, 1234);
    /* Pinned to one CPU (then two, when the mask has two), the count
       follows; nproc, run from this thread, inherits the same mask. */
    int cpus[2] = {-1, -1}, k = 0;
    for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
        if (CPU_ISSET(c, &orig)) cpus[k++] = c;
    int got[2] = {0, 0}, nproc_got[2] = {0, 0};
    for (int want = 1; want <= k; want++) {
        cpu_set_t some;
        CPU_ZERO(&some);
        for (int i = 0; i < want; i++) CPU_SET(cpus[i], &some);
        ck_assert_int_eq(sched_setaffinity(0, sizeof some, &some), 0);
        got[want - 1] = vpar_cpu_count();
        nproc_got[want - 1] = nproc_says();
    }
    ck_assert_int_eq(sched_setaffinity(0, sizeof orig, &orig), 0);
    for (int want = 1; want <= k; want++) {
        ck_assert_int_eq(got[want - 1], want);
        if (nproc_got[want - 1] > 0) ck_assert_int_eq(nproc_got[want - 1], want);
    }
    ck_assert_int_eq(vpar_cpu_count(), n);
}
END_TEST

int main(void) {
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_status_strings_are_distinct_and_known);
    tcase_add_test(tc, test_fail_records_detail);
    tcase_add_test(tc, test_error_detail_is_thread_local);
    tcase_add_test(tc, test_checked_size_arithmetic);
    tcase_add_test(tc, test_write_file_atomic);
    tcase_add_test(tc, test_cpu_count_follows_affinity);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
