/* Job-array shards (examples/common/shard.h): --shard parsing from explicit
   values and from Slurm / Grid Engine environments, item ownership, array
   specs for resubmission, the configuration hash. Expected values follow
   the schedulers' documented variables (Slurm sbatch(1) "OUTPUT ENVIRONMENT
   VARIABLES"; Grid Engine qsub(1) -t: SGE_TASK_ID/FIRST/LAST/STEPSIZE, and
   "undefined" outside arrays). */
#include "shard.h"
#include "vpar_check.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;
static char *env_lookup(const char *name) {
    for (const char *const *p = fake_env; p && p[0]; p += 2)
        if (strcmp(p[0], name) == 0) return (char *)(uintptr_t)p[1];
    return NULL;
}

static int parse_env(const char *arg, const char *const *env, vpar_ex_shard *s, char *err) {
    fake_env = env;
    return vpar_ex_shard_parse(arg, env_lookup, s, err, 256);
}

START_TEST(test_explicit) {
    vpar_ex_shard s;
    char err[256];
    ck_assert_int_eq(parse_env("3/7", NULL, &s, err), 0);
    ck_assert_uint_eq(s.index, 3);
    ck_assert_uint_eq(s.count, 7);
    ck_assert_int_eq(parse_env("1/1", NULL, &s, err), 0);
    const char *bad[] = {"0/3", "4/3", "3", "/3", "3/", "3/0", "-1/3", "a/3", "3/x", "", "1/3/4",
                         " 1/3", "autox", "auto/0", "auto/-2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        ck_assert_msg(parse_env(bad[i], NULL, &s, err) == -1, "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, "--shard") != NULL, "'%s': message '%s'", bad[i], err);
    }
    parse_env("4/3", NULL, &s, err);
    ck_assert_str_eq(err, "--shard '4/3': shard index must be between 1 and 3");
}
END_TEST

START_TEST(test_slurm_range) {
    vpar_ex_shard s;
    char err[256];
    /* sbatch --array=1-10: task 4 is shard 4/10. */
    const char *e1[] = {"SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_MIN", "1",
                        "SLURM_ARRAY_TASK_MAX", "10", "SLURM_ARRAY_TASK_COUNT", "10",
                        "SLURM_ARRAY_TASK_STEP", "1", NULL};
    ck_assert_int_eq(parse_env("auto", e1, &s, err), 0);
    ck_assert_uint_eq(s.index, 4);
    ck_assert_uint_eq(s.count, 10);
    /* --array=0-9: task 0 is the first shard. */
    const char *e2[] = {"SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_MIN", "0",
                        "SLURM_ARRAY_TASK_MAX", "9", "SLURM_ARRAY_TASK_COUNT", "10", NULL};
    ck_assert_int_eq(parse_env("auto", e2, &s, err), 0);
    ck_assert_uint_eq(s.index, 1);
    ck_assert_uint_eq(s.count, 10);
    /* --array=1-20:2 -> tasks 1,3,...,19: task 7 is the 4th of 10. */
    const char *e3[] = {"SLURM_ARRAY_TASK_ID", "7", "SLURM_ARRAY_TASK_MIN", "1",
                        "SLURM_ARRAY_TASK_MAX", "19", "SLURM_ARRAY_TASK_STEP", "2",
                        "SLURM_ARRAY_TASK_COUNT", "10", NULL};
    ck_assert_int_eq(parse_env("auto", e3, &s, err), 0);
    ck_assert_uint_eq(s.index, 4);
    ck_assert_uint_eq(s.count, 10);
    /* Only ID and COUNT (older Slurm): MIN defaults to 1. */
    const char *e4[] = {"SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "5", NULL};
    ck_assert_int_eq(parse_env("auto", e4, &s, err), 0);
    ck_assert_uint_eq(s.index, 2);
    ck_assert_uint_eq(s.count, 5);
}
END_TEST

START_TEST(test_slurm_resubmission) {
    vpar_ex_shard s;
    char err[256];
    /* A resubmission --array=3,7 of a 10-shard run: not a range, so plain
       `auto` must refuse (it would compute 2 shards)... */
    const char *e[] = {"SLURM_ARRAY_TASK_ID", "7", "SLURM_ARRAY_TASK_MIN", "3",
                       "SLURM_ARRAY_TASK_MAX", "7", "SLURM_ARRAY_TASK_COUNT", "2", NULL};
    ck_assert_int_eq(parse_env("auto", e, &s, err), -1);
    ck_assert_msg(strstr(err, "auto/N") != NULL, "%s", err);
    /* ...and auto/10 takes the task id as the shard. */
    ck_assert_int_eq(parse_env("auto/10", e, &s, err), 0);
    ck_assert_uint_eq(s.index, 7);
    ck_assert_uint_eq(s.count, 10);
    const char *e11[] = {"SLURM_ARRAY_TASK_ID", "11", NULL};
    ck_assert_int_eq(parse_env("auto/10", e11, &s, err), -1);
    ck_assert_msg(strstr(err, "outside 1..10") != NULL, "%s", err);
    const char *ebad[] = {"SLURM_ARRAY_TASK_ID", "x1", NULL};
    ck_assert_int_eq(parse_env("auto", ebad, &s, err), -1);
    ck_assert_msg(strstr(err, "SLURM_ARRAY_TASK_ID='x1'") != NULL, "%s", err);
}
END_TEST

START_TEST(test_sge) {
    vpar_ex_shard s;
    char err[256];
    /* qsub -t 2-10:2 -> tasks 2,4,6,8,10: task 6 is shard 3 of 5. */
    const char *e1[] = {"SGE_TASK_ID", "6", "SGE_TASK_FIRST", "2", "SGE_TASK_LAST", "10",
                        "SGE_TASK_STEPSIZE", "2", NULL};
    ck_assert_int_eq(parse_env("auto", e1, &s, err), 0);
    ck_assert_uint_eq(s.index, 3);
    ck_assert_uint_eq(s.count, 5);
    /* Outside an array Grid Engine sets "undefined". */
    const char *e2[] = {"SGE_TASK_ID", "undefined", "SGE_TASK_FIRST", "undefined",
                        "SGE_TASK_LAST", "undefined", "SGE_TASK_STEPSIZE", "undefined", NULL};
    ck_assert_int_eq(parse_env("auto", e2, &s, err), -1);
    ck_assert_msg(strstr(err, "not inside a job array") != NULL, "%s", err);
    ck_assert_int_eq(parse_env("auto", NULL, &s, err), -1);
    /* A task id off the step grid. */
    const char *e3[] = {"SGE_TASK_ID", "5", "SGE_TASK_FIRST", "2", "SGE_TASK_LAST", "10",
                        "SGE_TASK_STEPSIZE", "2", NULL};
    ck_assert_int_eq(parse_env("auto", e3, &s, err), -1);
    /* qsub -t 1-8 -tc 2 with auto/8. */
    const char *e4[] = {"SGE_TASK_ID", "8", "SGE_TASK_FIRST", "1", "SGE_TASK_LAST", "8",
                        "SGE_TASK_STEPSIZE", "1", NULL};
    ck_assert_int_eq(parse_env("auto/8", e4, &s, err), 0);
    ck_assert_uint_eq(s.index, 8);
    /* Slurm's variables win when both are present (a Slurm job on a host
       that also exports SGE's). */
    const char *e5[] = {"SGE_TASK_ID", "1", "SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT",
                        "4", NULL};
    ck_assert_int_eq(parse_env("auto", e5, &s, err), 0);
    ck_assert_uint_eq(s.index, 3);
}
END_TEST

START_TEST(test_ownership_partitions) {
    /* Every item is owned by exactly one shard, shard sizes differ by at most
       one, and vpar_ex_shard_of agrees with vpar_ex_shard_owns. */
    for (unsigned long n = 1; n <= 9; n++) {
        for (size_t items = 0; items <= 23; items++) {
            size_t per[10] = {0};
            for (size_t it = 0; it < items; it++) {
                int owners = 0;
                for (unsigned long i = 1; i <= n; i++) {
                    vpar_ex_shard s = {i, n};
                    if (vpar_ex_shard_owns(&s, it)) {
                        owners++;
                        per[i]++;
                        ck_assert_uint_eq(vpar_ex_shard_of(it, n), i);
                    }
                }
                ck_assert_int_eq(owners, 1);
            }
            size_t lo = items, hi = 0;
            for (unsigned long i = 1; i <= n; i++) {
                if (per[i] < lo) lo = per[i];
                if (per[i] > hi) hi = per[i];
            }
            ck_assert(hi - lo <= 1);
        }
    }
}
END_TEST

START_TEST(test_array_spec) {
    char buf[64];
    unsigned long a[] = {14, 3, 12, 7, 13};
    ck_assert_uint_eq(vpar_ex_array_spec(a, 5, buf, sizeof buf), strlen("3,7,12-14"));
    ck_assert_str_eq(buf, "3,7,12-14");
    unsigned long b[] = {2, 1, 2};
    vpar_ex_array_spec(b, 3, buf, sizeof buf);
    ck_assert_str_eq(buf, "1,2");
    unsigned long c[] = {5};
    vpar_ex_array_spec(c, 1, buf, sizeof buf);
    ck_assert_str_eq(buf, "5");
    ck_assert_uint_eq(vpar_ex_array_spec(NULL, 0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    unsigned long d[] = {1, 2, 3, 4, 9, 10, 11, 20};
    /* Truncation: the return value is the full length, the buffer holds a
       NUL-terminated prefix. */
    size_t need = vpar_ex_array_spec(d, 8, buf, 6);
    ck_assert_uint_eq(need, strlen("1-4,9-11,20"));
    ck_assert(strlen(buf) < 6);
    vpar_ex_array_spec(d, 8, buf, sizeof buf);
    ck_assert_str_eq(buf, "1-4,9-11,20");
}
END_TEST

/* vpar_ex_mpi_local_pml: "ob1" only under Open MPI's launcher with every
   rank on this node and no transport chosen by the user. */
static const char *local_pml(const char *const *env) {
    fake_env = env;
    return vpar_ex_mpi_local_pml(env_lookup);
}

START_TEST(test_mpi_local_pml) {
    const char *one_node[] = {"OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2", NULL};
    ck_assert_str_eq(local_pml(one_node), "ob1");
    const char *single[] = {"OMPI_COMM_WORLD_SIZE", "1", "OMPI_COMM_WORLD_LOCAL_SIZE", "1", NULL};
    ck_assert_str_eq(local_pml(single), "ob1");
    const char *kept0[] = {"OMPI_COMM_WORLD_SIZE", "3", "OMPI_COMM_WORLD_LOCAL_SIZE", "3",
                           "VPAR_MPI_KEEP_TRANSPORTS", "0", NULL};
    ck_assert_str_eq(local_pml(kept0), "ob1");
    /* NULL: no launcher, MPICH/srun, several nodes, a user's choice,
       the opt-out, malformed values. */
    const char *none[] = {NULL};
    ck_assert_ptr_null(local_pml(none));
    const char *mpich[] = {"PMI_SIZE", "2", "PMI_RANK", "0", "MPI_LOCALNRANKS", "2", NULL};
    ck_assert_ptr_null(local_pml(mpich));
    const char *nodes[] = {"OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_SIZE", "2", NULL};
    ck_assert_ptr_null(local_pml(nodes));
    const char *no_local[] = {"OMPI_COMM_WORLD_SIZE", "2", NULL};
    ck_assert_ptr_null(local_pml(no_local));
    static const char *const chosen[] = {"OMPI_MCA_pml", "OMPI_MCA_mtl", "OMPI_MCA_btl"};
    for (int i = 0; i < 3; i++) {
        const char *env[] = {"OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
                             chosen[i], "ucx", NULL};
        ck_assert_msg(local_pml(env) == NULL, "%s set by the user was overridden", chosen[i]);
    }
    const char *keep[] = {"OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
                          "VPAR_MPI_KEEP_TRANSPORTS", "1", NULL};
    ck_assert_ptr_null(local_pml(keep));
    const char *bad[][2] = {{"2x", "2"}, {"", ""}, {"0", "0"}, {"2", " 2x"}, {"99999999999999999999999", "99999999999999999999999"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *env[] = {"OMPI_COMM_WORLD_SIZE", bad[i][0], "OMPI_COMM_WORLD_LOCAL_SIZE", bad[i][1], NULL};
        ck_assert_msg(local_pml(env) == NULL, "'%s'/'%s' accepted", bad[i][0], bad[i][1]);
    }
}
END_TEST

/* n patterned bytes (malloc'ed; at least 1) written to a new temporary
   file made from `path` (a mkstemp template, filled in). */
static unsigned char *patterned_file(size_t n, char *path) {
    unsigned char *data = (unsigned char *)malloc(n ? n : 1);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++) data[i] = (unsigned char)(i * 131u + (i >> 9));
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
    return data;
}

/* XXH64 against the reference's published values (xxHash's sanity check:
   its 101-byte buffer, seeds 0 and 2654435761; and text vectors), whole,
   a byte at a time and in uneven pieces (the 32-byte stripe carried
   across calls); and vpar_ex_hash_file = XXH64 of the content, across its
   64 KiB reads. */
START_TEST(test_xxh64) {
    unsigned char sb[101];
    uint32_t gen = 2654435761u;
    for (int i = 0; i < 101; i++) {
        sb[i] = (unsigned char)(gen >> 24);
        gen *= gen;
    }
    static const struct { const char *text; size_t len; uint64_t seed, want; } v[] = {
        {NULL, 0, 0, 0xEF46DB3751D8E999ULL},
        {NULL, 0, 2654435761u, 0xAC75FDA2929B17EFULL},
        {NULL, 1, 0, 0x4FCE394CC88952D8ULL},
        {NULL, 1, 2654435761u, 0x739840CB819FA723ULL},
        {NULL, 14, 0, 0xCFFA8DB881BC3A3DULL},
        {NULL, 14, 2654435761u, 0x5B9611585EFCC9CBULL},
        {NULL, 101, 0, 0x0EAB543384F878ADULL},
        {NULL, 101, 2654435761u, 0xCAA65939306F1E21ULL},
        {"", 0, 1, 0xD5AFBA1336A3BE4BULL},
        {"a", 1, 0, 0xD24EC4F1A98C6E5BULL},
        {"abc", 3, 0, 0x44BC2CF5AD770999ULL},
        {"asdf", 4, 0, 0x415872F599CEA71EULL},
        {"Call me Ishmael.", 16, 0, 0x6D04390FC9D61A90ULL},
        {"Nobody inspects the spammish repetition", 39, 0, 0xFBCEA83C8A378BF1ULL},
        {"Some years ago--never mind how long precisely-", 46, 0, 0x8F26F2B986AFDC52ULL},
    };
    for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
        const unsigned char *p = v[k].text ? (const unsigned char *)v[k].text : sb;
        size_t n = v[k].len;
        uint64_t h = vpar_ex_xxh64(p, n, v[k].seed);
        ck_assert_msg(h == v[k].want, "vector %zu: %016llx, want %016llx", k, (unsigned long long)h,
                      (unsigned long long)v[k].want);
        for (size_t step = 1; step <= 33; step += 4) {
            vpar_ex_xxh64_state s;
            vpar_ex_xxh64_init(&s, v[k].seed);
            for (size_t i = 0; i < n; i += step) vpar_ex_xxh64_update(&s, p + i, n - i < step ? n - i : step);
            ck_assert_msg(vpar_ex_xxh64_digest(&s) == v[k].want, "vector %zu in pieces of %zu", k, step);
        }
    }
    /* a file of several read chunks */
    size_t n = 200003;
    char path[] = "/tmp/vpar_ex_xxh_XXXXXX";
    unsigned char *data = patterned_file(n, path);
    uint64_t size = 0, h = 0;
    ck_assert_int_eq(vpar_ex_hash_file(path, &size, &h), 0);
    ck_assert_uint_eq(size, n);
    ck_assert(h == vpar_ex_xxh64(data, n, 0));
    unlink(path);
    ck_assert_int_eq(vpar_ex_hash_file(path, &size, &h), -1);
    free(data);
}
END_TEST

START_TEST(test_confighash) {
    vpar_ex_confighash a, b;
    char ha[17], hb[17];
    /* FNV-1a 64 of nothing is the offset basis. */
    vpar_ex_confighash_init(&a);
    vpar_ex_confighash_hex(&a, ha);
    ck_assert_str_eq(ha, "cbf29ce484222325");
    /* Field boundaries matter. */
    vpar_ex_confighash_init(&a);
    vpar_ex_confighash_str(&a, "x", "ab");
    vpar_ex_confighash_str(&a, "y", "c");
    vpar_ex_confighash_init(&b);
    vpar_ex_confighash_str(&b, "x", "a");
    vpar_ex_confighash_str(&b, "y", "bc");
    ck_assert(a.h != b.h);
    /* Same fields, same hash; a one-bit change in a file changes it. */
    char path[] = "/tmp/vpar_ex_shard_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "gene\tterm\n1\tGO:1\n", 17), 17);
    vpar_ex_confighash_init(&a);
    ck_assert_int_eq(vpar_ex_confighash_file(&a, "go", path), 0);
    vpar_ex_confighash_init(&b);
    ck_assert_int_eq(vpar_ex_confighash_file(&b, "go", path), 0);
    ck_assert(a.h == b.h);
    ck_assert_int_eq(pwrite(fd, "2", 1, 10), 1);
    vpar_ex_confighash_init(&b);
    ck_assert_int_eq(vpar_ex_confighash_file(&b, "go", path), 0);
    ck_assert(a.h != b.h);
    close(fd);
    unlink(path);
    vpar_ex_confighash_hex(&b, hb);
    ck_assert_uint_eq(strlen(hb), 16);
    ck_assert_int_eq(vpar_ex_confighash_file(&b, "go", path), -1);
}
END_TEST

/* vpar_ex_confighash_input hashes the name (not the directory), the size
   and the first MiB's XXH64 as the fields "input", "name", "size", "head"
   (shard.h): the same value as those fields hashed with the public field
   functions, for a file shorter than a read chunk, one of several chunks,
   one past 1 MiB, and an empty one. */
START_TEST(test_confighash_input_layout) {
    const size_t sizes[] = {17, 200000, (1u << 20) + 12345, 0};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        char path[] = "/tmp/vpar_ex_input_XXXXXX";
        unsigned char *data = patterned_file(n, path);
        int fd;
        vpar_ex_confighash a, b;
        vpar_ex_confighash_init(&a);
        vpar_ex_confighash_str(&a, "program", "p");
        b = a;
        ck_assert_int_eq(vpar_ex_confighash_input(&a, "network", path), 0);
        vpar_ex_confighash_str(&b, "input", "network");
        vpar_ex_confighash_str(&b, "name", strrchr(path, '/') + 1);
        vpar_ex_confighash_u64(&b, "size", (uint64_t)n);
        vpar_ex_confighash_u64(&b, "head", vpar_ex_xxh64(data, n < (1u << 20) ? n : (1u << 20), 0));
        ck_assert_msg(a.h == b.h, "size %zu: %016llx != %016llx", n, (unsigned long long)a.h,
                      (unsigned long long)b.h);
        /* a byte past the first MiB does not count; one inside does */
        if (n > (1u << 20)) {
            fd = open(path, O_WRONLY);
            ck_assert_int_ge(fd, 0);
            ck_assert_int_eq(pwrite(fd, "x", 1, (off_t)(1u << 20) + 5), 1);
            vpar_ex_confighash_init(&b);
            vpar_ex_confighash_str(&b, "program", "p");
            ck_assert_int_eq(vpar_ex_confighash_input(&b, "network", path), 0);
            ck_assert(a.h == b.h);
            ck_assert_int_eq(pwrite(fd, "x", 1, 1000), 1);
            vpar_ex_confighash_init(&b);
            vpar_ex_confighash_str(&b, "program", "p");
            ck_assert_int_eq(vpar_ex_confighash_input(&b, "network", path), 0);
            ck_assert(a.h != b.h);
            close(fd);
        }
        unlink(path);
        /* gone: -1, *c untouched */
        b = a;
        ck_assert_int_eq(vpar_ex_confighash_input(&b, "network", path), -1);
        ck_assert(a.h == b.h);
        free(data);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_explicit);
    tcase_add_test(tc, test_slurm_range);
    tcase_add_test(tc, test_slurm_resubmission);
    tcase_add_test(tc, test_sge);
    tcase_add_test(tc, test_ownership_partitions);
    tcase_add_test(tc, test_array_spec);
    tcase_add_test(tc, test_xxh64);
    tcase_add_test(tc, test_confighash);
    tcase_add_test(tc, test_confighash_input_layout);
    tcase_add_test(tc, test_mpi_local_pml);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
