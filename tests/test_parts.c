/* Shard manifests and the merge (examples/common/parts.h): a two-shard run
   merges complete; a missing shard is listed as an array spec; a part from
   other options, a torn or renamed part, a changed output are refused or
   redone; the parser rejects malformed manifests line by line. */
#include "vpar.h"
#include "parts.h"
#include "vpar_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static const char *names[] = {"nw_00", "nw_01", "nw_02", "nw_03", "nw_04"};

static void mkdir_tmp(void) {
    snprintf(dir, sizeof dir, "/tmp/vpar_ex_parts_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_text(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Runs shard s of `count` over the 5 items: writes each owned item's CSV
   and marks it done; `stop_after` items then stops (a preempted shard). */
static void run_shard(unsigned long s, unsigned long count, const char *config, int stop_after) {
    vpar_ex_shard sh = {s, count};
    vpar_ex_parts p;
    char err[512];
    ck_assert_int_eq(vpar_ex_parts_init(&p, "vpar-egad", config, &sh, names, 5), 0);
    ck_assert_int_eq(vpar_ex_parts_add_meta(&p, "k=5"), 0);
    ck_assert_int_eq(vpar_ex_parts_add_meta(&p, "a b"), -1);
    ck_assert_int_eq(vpar_ex_parts_write(&p, dir, err, sizeof err), 0);
    int done = 0;
    for (size_t i = 0; i < 5; i++) {
        if (!vpar_ex_shard_owns(&sh, i)) continue;
        if (stop_after >= 0 && done == stop_after) break;
        char file[64], text[64];
        snprintf(file, sizeof file, "%s.csv", names[i]);
        snprintf(text, sizeof text, "term,AUC\nGO:%zu,0.5\n", i);
        write_text(file, text);
        ck_assert_msg(vpar_ex_parts_done(&p, dir, i, file, i == 3 ? NULL : "ok:7:0.5", err, sizeof err) == 0, "%s", err);
        done++;
    }
    vpar_ex_parts_free(&p);
}

START_TEST(test_merge_complete_and_missing) {
    mkdir_tmp();
    char err[512], spec[64];
    run_shard(1, 3, "00112233445566aa", -1);
    run_shard(3, 3, "00112233445566aa", -1);
    vpar_ex_parts m;
    /* Shard 2 (items 1 and 4) never ran. */
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), 1);
    ck_assert_uint_eq(m.nitems, 5);
    ck_assert_int_eq(m.items[0].done, 1);
    ck_assert_int_eq(m.items[1].done, 0);
    ck_assert_int_eq(m.items[2].done, 1);
    ck_assert_int_eq(m.items[4].done, 0);
    ck_assert_uint_eq(vpar_ex_parts_missing_spec(&m, spec, sizeof spec), 2);
    ck_assert_str_eq(spec, "2");
    vpar_ex_parts_free(&m);
    /* Shard 2 preempted after one item, then shard 3's output damaged. */
    run_shard(2, 3, "00112233445566aa", 1);
    write_text("nw_02.csv", "term,AUC\nGO:2,0.6\n");
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), 1);
    ck_assert_int_eq(m.items[1].done, 1);
    ck_assert_int_eq(m.items[2].done, 0); /* changed after it was recorded */
    ck_assert_int_eq(m.items[4].done, 0);
    ck_assert_uint_eq(vpar_ex_parts_missing_spec(&m, spec, sizeof spec), 2);
    ck_assert_str_eq(spec, "2,3");
    vpar_ex_parts_free(&m);
    /* Resume of shard 3 from its own manifest: item 2 is not done anymore. */
    vpar_ex_parts own, expect;
    vpar_ex_shard s3 = {3, 3};
    ck_assert_int_eq(vpar_ex_parts_init(&expect, "vpar-egad", "00112233445566aa", &s3, names, 5), 0);
    ck_assert_int_eq(vpar_ex_parts_add_meta(&expect, "k=5"), 0);
    ck_assert_int_eq(vpar_ex_parts_load_own(&own, dir, &expect, err, sizeof err), 0);
    ck_assert_int_eq(own.items[2].done, 0);
    vpar_ex_parts_free(&own);
    vpar_ex_parts_free(&expect);
    run_shard(2, 3, "00112233445566aa", -1);
    run_shard(3, 3, "00112233445566aa", -1);
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), 0);
    for (size_t i = 0; i < 5; i++) ck_assert_int_eq(m.items[i].done, 1);
    ck_assert_uint_eq(vpar_ex_parts_missing_spec(&m, spec, sizeof spec), 0);
    /* Job meta and item notes survive the round trip. */
    ck_assert_uint_eq(m.nmeta, 1);
    ck_assert_str_eq(m.meta[0], "k=5");
    ck_assert_str_eq(m.items[0].meta, "ok:7:0.5");
    ck_assert_ptr_null(m.items[3].meta);
    vpar_ex_parts_free(&m);
    /* The wrong program finds these parts foreign. */
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-aggregate", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "a part of vpar-egad") != NULL, "%s", err);
    rm_dir();
}
END_TEST

START_TEST(test_merge_refuses_mismatch_torn_renamed) {
    mkdir_tmp();
    char err[512];
    vpar_ex_parts m;
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no vpar-part") != NULL, "%s", err);
    run_shard(1, 2, "00112233445566aa", -1);
    run_shard(2, 2, "ffffffffffffffff", -1); /* other options */
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "mismatch") && strstr(err, "vpar-part-2-of-2.txt"), "%s", err);
    /* Own-manifest resume with other options: refused, named. */
    vpar_ex_parts own, expect;
    vpar_ex_shard s2 = {2, 2};
    ck_assert_int_eq(vpar_ex_parts_init(&expect, "vpar-egad", "00112233445566aa", &s2, names, 5), 0);
    ck_assert_int_eq(vpar_ex_parts_add_meta(&expect, "k=5"), 0);
    ck_assert_int_eq(vpar_ex_parts_load_own(&own, dir, &expect, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "other inputs or options"), "%s", err);
    vpar_ex_parts_free(&expect);
    run_shard(2, 2, "00112233445566aa", -1);
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), 0);
    vpar_ex_parts_free(&m);
    /* A part of another split (shard count 3) is a mismatch too. */
    run_shard(1, 3, "00112233445566aa", 0);
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), -1);
    char path[256];
    snprintf(path, sizeof path, "%s/vpar-part-1-of-3.txt", dir);
    unlink(path);
    /* A torn manifest (no `end`) is named. */
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/vpar-part-2-of-2.txt", dir);
    FILE *f = fopen(a, "r+");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(a, sz - 4), 0);
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "torn") && strstr(err, "vpar-part-2-of-2.txt"), "%s", err);
    /* A renamed part (its header says shard 2 of 2). */
    run_shard(2, 2, "00112233445566aa", -1);
    snprintf(b, sizeof b, "%s/vpar-part-1-of-2.txt", dir);
    ck_assert_int_eq(rename(a, b), 0);
    ck_assert_int_eq(vpar_ex_parts_merge(&m, dir, "vpar-egad", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "renamed"), "%s", err);
    rm_dir();
}
END_TEST

START_TEST(test_parse_rejects) {
    static const char *good =
        "vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 2\nitems 2\n"
        "item 0 a\nitem 1 b\nmeta x=1\ndone 0 a.csv 10 00000000000000ff\nend\n";
    vpar_ex_parts p;
    char err[512];
    ck_assert_int_eq(vpar_ex_parts_parse(&p, good, strlen(good), "m", err, sizeof err), 0);
    ck_assert_int_eq(p.items[0].done, 1);
    ck_assert_uint_eq(p.items[0].hash, 0xff);
    ck_assert_str_eq(p.items[1].name, "b");
    vpar_ex_parts_free(&p);
    struct { const char *text, *where; } bad[] = {
        {"vpar-part 2\n", "m:1:"},
        {"vpar-part 1\nprogram p\nconfig 0123\n", "m:3:"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 3 2\n", "m:4:"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 2\nitems 2\nitem 1 a\n", "m:6:"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 2\nitems 1\nitem 0 a b\n", "m:6:"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 2\nitems 2\nitem 0 a\nitem 1 b\n"
         "done 1 b.csv 1 1\nend\n", "does not own"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 1\nitems 1\nitem 0 a\n"
         "done 0 a.csv 1 1\ndone 0 a.csv 1 1\nend\n", "twice"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 1\nitems 1\nitem 0 a\nend\nx\n", "after"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 1\nitems 1\nitem 0 a\ndone 0 a", "m:7:"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 1\nitems 1\nitem 0 a\n"
         "done 0 a.csv 1 1\nmeta late\nend\n", "m:8:"},
        {"vpar-part 1\nprogram p\nconfig 0123456789abcdef\nshard 1 1\nitems 1\nitem 0 a\n"
         "done 0 a.csv 1 1 n1 n2\nend\n", "m:7:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        ck_assert_int_eq(vpar_ex_parts_parse(&p, bad[i].text, strlen(bad[i].text), "m", err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].where) != NULL, "case %zu: %s", i, err);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("parts");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_merge_complete_and_missing);
    tcase_add_test(tc, test_merge_refuses_mismatch_torn_renamed);
    tcase_add_test(tc, test_parse_rejects);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
