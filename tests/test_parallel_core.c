/* Unit tests of vpar-parallel's pure parts (examples/parallel, library
   vpar_parallel_core): replacement-string rendering, shell quoting, input
   combination, --colsep, the joblog reader and the running median. They
   need no GNU parallel: every expected string is written out here, derived
   from GNU parallel's manual (man parallel: {} {.} {/} {//} {/.} {#} {%}
   {n}, ::: / :::: / :::+ / --link, -N, --colsep) and its quoting rule
   (shell_quote_scalar: [A-Za-z0-9_+./-] unquoted, '' for empty, else
   single quotes with ' as '"'"'); tests/parallel_compat.sh compares the
   same behaviour with GNU parallel itself where it is installed. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "par_input.h"
#include "par_joblog.h"
#include "par_median.h"
#include "par_render.h"
#include "vpar_check.h"

/* Renders job seq of the command words over in (already combined). */
static char *render_job(char **words, int nwords, const par_template_opts *opts, par_input *in,
                        size_t seq, int slot) {
    par_template t = {0};
    char err[256];
    ck_assert_int_eq(par_template_build(&t, words, nwords, opts, err, sizeof err), 0);
    par_args a = {0};
    par_buf cmd = {0}, tmp = {0};
    par_input_job_args(in, &a, seq);
    par_render(&cmd, &t, &a, seq, slot, &tmp);
    char *out = strdup(cmd.p);
    par_buf_free(&cmd);
    par_buf_free(&tmp);
    par_args_free(&a);
    par_template_free(&t);
    return out;
}

/* One ::: source with the given arguments. */
static void one_source(par_input *in, char **args, int n) {
    par_input_init(in);
    par_source *s = par_input_add_source(in, 0);
    for (int i = 0; i < n; i++) par_input_push(in, s, args[i]);
    par_input_combine(in);
}

static void check_render1(const char *word, const char *arg, const char *want) {
    par_input in;
    char *args[] = {(char *)arg};
    one_source(&in, args, 1);
    char *words[] = {"echo", (char *)word};
    par_template_opts o = {0};
    char *got = render_job(words, 2, &o, &in, 1, 1);
    ck_assert_msg(!strcmp(got, want), "%s on '%s': got '%s', want '%s'", word, arg, got, want);
    free(got);
    par_input_free(&in);
}

START_TEST(test_manual_examples) {
    /* man parallel, {.}: "foo.jpg becomes foo, subdir/foo.jpg becomes
       subdir/foo, sub.dir/foo.jpg becomes sub.dir/foo, sub.dir/bar remains
       sub.dir/bar" */
    check_render1("{.}", "foo.jpg", "echo foo");
    check_render1("{.}", "subdir/foo.jpg", "echo subdir/foo");
    check_render1("{.}", "sub.dir/foo.jpg", "echo sub.dir/foo");
    check_render1("{.}", "sub.dir/bar", "echo sub.dir/bar");
    check_render1("{.}", "noext", "echo noext");
    /* {/} basename, {//} dirname (dirname(1)), {/.} both */
    check_render1("{/}", "subdir/foo.jpg", "echo foo.jpg");
    check_render1("{/}", "foo.jpg", "echo foo.jpg");
    check_render1("{//}", "subdir/foo.jpg", "echo subdir");
    check_render1("{//}", "foo.jpg", "echo .");
    check_render1("{//}", "/foo", "echo /");
    check_render1("{//}", "a/b/", "echo a");
    check_render1("{/.}", "sub.dir/foo.tar.gz", "echo foo.tar");
    check_render1("{/.}", "dir/file", "echo file");
    check_render1("{}", "dir/sub.d/file.tar.gz", "echo dir/sub.d/file.tar.gz");
    /* inside words */
    check_render1("pre{}post", "x", "echo prexpost");
    check_render1("{.}.out", "a.txt", "echo a.out");
}
END_TEST

START_TEST(test_quoting) {
    /* GNU's shell_quote_scalar */
    check_render1("{}", "plain-_+./9", "echo plain-_+./9");
    check_render1("{}", "", "echo ''");
    check_render1("{}", "a b", "echo 'a b'");
    check_render1("{}", "it's", "echo 'it'\"'\"'s'");
    check_render1("{}", "'q'", "echo \"'\"'q'\"'\"");
    check_render1("{}", "$HOME", "echo '$HOME'");
    check_render1("{}", "*.c", "echo '*.c'");
    check_render1("{}", "x\"y", "echo 'x\"y'");
    check_render1("{}", "caf\xc3\xa9", "echo 'caf\xc3\xa9'");
    par_buf b = {0};
    par_shell_quote(&b, "a'b", 3);
    ck_assert_str_eq(b.p, "'a'\"'\"'b'");
    par_buf_free(&b);
}
END_TEST

START_TEST(test_append_and_special) {
    par_input in;
    char *args[] = {"a b", "c"};
    one_source(&in, args, 2);
    par_template_opts o = {0};
    /* "If the command line contains no replacement strings then {} will be
       appended to the command line." */
    char *w1[] = {"echo", "x"};
    char *got = render_job(w1, 2, &o, &in, 1, 1);
    ck_assert_str_eq(got, "echo x 'a b'");
    free(got);
    /* {#} and {%} are replacement strings: nothing is appended */
    char *w2[] = {"echo", "job", "{#}", "slot", "{%}"};
    got = render_job(w2, 5, &o, &in, 2, 3);
    ck_assert_str_eq(got, "echo job 2 slot 3");
    free(got);
    /* no command: the argument is the command, unquoted */
    got = render_job(NULL, 0, &o, &in, 1, 1);
    ck_assert_str_eq(got, "a b");
    free(got);
    /* -q: the command's own words are quoted too, the values as always */
    par_template_opts q = {.quote = 1};
    char *w3[] = {"echo", "a  b", "$HOME", "{}"};
    got = render_job(w3, 4, &q, &in, 1, 1);
    ck_assert_str_eq(got, "echo 'a  b' '$HOME' 'a b'");
    free(got);
    /* strings that are not replacement strings stay literal */
    char *w4[] = {"echo", "{ }", "{x}", "{a.}", "{}"};
    got = render_job(w4, 5, &o, &in, 2, 1);
    ck_assert_str_eq(got, "echo { } {x} {a.} c");
    free(got);
    /* man parallel ({}): "The exception is if the command starts with a
       replacement string; then the string is not quoted" (GNU: no value of
       such a command is quoted) */
    char *w5[] = {"{}", "x"};
    got = render_job(w5, 2, &o, &in, 1, 1);
    ck_assert_str_eq(got, "a b x");
    free(got);
    char *w6[] = {"x{}", "y{}"};
    got = render_job(w6, 2, &o, &in, 1, 1);
    ck_assert_str_eq(got, "xa b ya b");
    free(got);
    char *w7[] = {"echo {}"}; /* one word, but the first blank ends the first word */
    got = render_job(w7, 1, &o, &in, 1, 1);
    ck_assert_str_eq(got, "echo 'a b'");
    free(got);
    par_input_free(&in);
}
END_TEST

START_TEST(test_replace_option) {
    /* -I ,, : ,, is the argument; {} and {1} are plain text; {.} stays */
    par_input in;
    char *args[] = {"a.b"};
    one_source(&in, args, 1);
    par_template_opts o = {.replace = ",,"};
    char *w[] = {"echo", ",,", "{}", "{.}", "{1}"};
    char *got = render_job(w, 5, &o, &in, 1, 1);
    ck_assert_str_eq(got, "echo a.b {} a {1}");
    free(got);
    par_input_free(&in);
}
END_TEST

START_TEST(test_tagstring_raw) {
    par_input in;
    char *args[] = {"a b"};
    one_source(&in, args, 1);
    par_template_opts o = {.raw = 1};
    char *w[] = {"<{}>#{#}"};
    char *got = render_job(w, 1, &o, &in, 1, 1);
    ck_assert_str_eq(got, "<a b>#1"); /* not quoted, nothing appended */
    free(got);
    par_input_free(&in);
}
END_TEST

START_TEST(test_perl_expression_rejected) {
    par_template t = {0};
    char err[256] = "";
    par_template_opts o = {0};
    char *w1[] = {"echo", "{= s/\\.gz$// =}"};
    ck_assert_int_eq(par_template_build(&t, w1, 2, &o, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not supported") != NULL, "message: %s", err);
    par_template_free(&t);
    char *w2[] = {"echo", "{=1", "$_=uc($_)", "=}"};
    ck_assert_int_eq(par_template_build(&t, w2, 4, &o, err, sizeof err), -1);
    par_template_free(&t);
    char *w3[] = {"echo", "{=", "only-open"};
    ck_assert_int_eq(par_template_build(&t, w3, 3, &o, err, sizeof err), 0);
    par_template_free(&t);
}
END_TEST

/* The records of in as "x y|x y|..." (every job's arguments). */
static void jobs_string(par_input *in, char *out, size_t cap) {
    out[0] = 0;
    par_args a = {0};
    for (size_t s = 1; s <= in->njobs; s++) {
        par_input_job_args(in, &a, s);
        if (s > 1) strncat(out, "|", cap - strlen(out) - 1);
        for (size_t k = 0; k < a.n; k++) {
            if (k) strncat(out, " ", cap - strlen(out) - 1);
            strncat(out, a.v[k][0] ? a.v[k] : "''", cap - strlen(out) - 1);
        }
    }
    par_args_free(&a);
}

static par_source *src(par_input *in, int linked, const char *list) {
    par_source *s = par_input_add_source(in, linked);
    if (!list) return s;
    char *copy = strdup(list), *save = NULL;
    /* owned by in like a file's contents: par_input_free frees it */
    in->filebufs = realloc(in->filebufs, (in->nfilebufs + 1) * sizeof *in->filebufs);
    in->filebufs[in->nfilebufs++] = copy;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        par_input_push(in, s, t);
    return s;
}

/* More combinations than size_t holds (65 sources of 2: 2^65): an error
   for the caller to report, no jobs (this exited the process before: the
   fuzzer's crash input tests/fuzz/regressions/parallel_rpl/too-many-combinations). */
START_TEST(test_combination_overflow) {
    par_input in;
    par_input_init(&in);
    for (int i = 0; i < 65; i++) src(&in, 0, "x y");
    ck_assert_int_eq(par_input_combine(&in), -1);
    ck_assert_uint_eq(in.njobs, 0);
    ck_assert_uint_eq(in.nrecords, 0);
    par_input_free(&in);
    par_input_init(&in);
    for (int i = 0; i < 10; i++) src(&in, 0, "x y");
    ck_assert_int_eq(par_input_combine(&in), 0);
    ck_assert_uint_eq(in.njobs, 1024);
    par_input_free(&in);
}
END_TEST

START_TEST(test_combination) {
    char got[1024];
    par_input in;
    /* ::: a b c ::: 1 2 : every combination, the last source fastest */
    par_input_init(&in);
    src(&in, 0, "a b c");
    src(&in, 0, "1 2");
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a 1|a 2|b 1|b 2|c 1|c 2");
    par_input_free(&in);
    /* :::+ links to the previous source: the n-th of each, to the shorter */
    par_input_init(&in);
    src(&in, 0, "a b c");
    src(&in, 1, "1 2");
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a 1|b 2");
    par_input_free(&in);
    /* --link: shorter sources are recycled */
    par_input_init(&in);
    in.link = 1;
    src(&in, 0, "a b c d e");
    src(&in, 0, "1 2");
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a 1|b 2|c 1|d 2|e 1");
    par_input_free(&in);
    /* :::+ then a third, unlinked source */
    par_input_init(&in);
    src(&in, 0, "a b");
    src(&in, 1, "1 2");
    src(&in, 0, "X Y");
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a 1 X|a 1 Y|b 2 X|b 2 Y");
    par_input_free(&in);
}
END_TEST

START_TEST(test_max_args) {
    char got[1024];
    par_input in;
    par_input_init(&in);
    in.max_args = 2;
    src(&in, 0, "a b c d e");
    par_input_combine(&in);
    ck_assert_uint_eq(in.njobs, 3);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a b|c d|e");
    par_input_free(&in);
    /* -N0: one record per job, no argument */
    par_input_init(&in);
    in.max_args = 0;
    src(&in, 0, "a b");
    par_input_combine(&in);
    ck_assert_uint_eq(in.njobs, 2);
    par_args a = {0};
    par_input_job_args(&in, &a, 1);
    ck_assert_uint_eq(a.n, 0);
    par_args_free(&a);
    par_input_free(&in);
}
END_TEST

START_TEST(test_empty_source) {
    char got[1024];
    par_input in;
    /* GNU: `echo {1} {2} ::: a b :::: /dev/null` prints "a " and "b ":
       the empty source gives one empty argument */
    par_input_init(&in);
    src(&in, 0, "a b");
    src(&in, 0, NULL);
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a ''|b ''");
    par_input_free(&in);
    /* also first, and linked (::::+ /dev/null: linked to the shorter) */
    par_input_init(&in);
    src(&in, 0, NULL);
    src(&in, 0, "a b");
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "'' a|'' b");
    par_input_free(&in);
    par_input_init(&in);
    src(&in, 0, "a b");
    src(&in, 1, NULL);
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a ''");
    par_input_free(&in);
    /* --link: recycled like any shorter source */
    par_input_init(&in);
    in.link = 1;
    src(&in, 0, "a b");
    src(&in, 0, NULL);
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a ''|b ''");
    par_input_free(&in);
    /* every source empty: no jobs (`echo :::`) */
    par_input_init(&in);
    src(&in, 0, NULL);
    src(&in, 0, NULL);
    par_input_combine(&in);
    ck_assert_uint_eq(in.njobs, 0);
    par_input_free(&in);
}
END_TEST

START_TEST(test_split_and_skip_empty) {
    char got[1024];
    par_input in;
    par_input_init(&in);
    char data[] = "a\n\nb"; /* an empty line is an argument; no final newline */
    par_input_split(&in, par_input_add_source(&in, 0), data, strlen(data));
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a|''|b");
    par_input_free(&in);
    par_input_init(&in);
    in.no_run_if_empty = 1; /* -r */
    char data2[] = "a\n  \n\nb\n";
    par_input_split(&in, par_input_add_source(&in, 0), data2, strlen(data2));
    par_input_combine(&in);
    jobs_string(&in, got, sizeof got);
    ck_assert_str_eq(got, "a|b");
    par_input_free(&in);
    par_input_init(&in);
    in.delim = 0; /* -0 */
    char data3[] = "a b\0c\nd\0";
    par_input_split(&in, par_input_add_source(&in, 0), data3, sizeof data3 - 1);
    par_input_combine(&in);
    ck_assert_uint_eq(in.njobs, 2);
    par_args a = {0};
    par_input_job_args(&in, &a, 2);
    ck_assert_str_eq(a.v[0], "c\nd");
    par_args_free(&a);
    par_input_free(&in);
}
END_TEST

static char *colsep_join(const char *spec, const char *s) {
    par_colsep c;
    char err[256];
    ck_assert_msg(par_colsep_compile(&c, spec, err, sizeof err) == 0, "%s", err);
    par_args a = {0};
    par_colsep_split(&c, &a, s);
    par_args_finish(&a);
    char out[512] = "";
    for (size_t k = 0; k < a.n; k++) {
        if (k) strcat(out, "|");
        strcat(out, a.v[k]);
    }
    par_args_free(&a);
    par_colsep_free(&c);
    return strdup(out);
}

START_TEST(test_colsep) {
    char *g;
    g = colsep_join(",", "a,b,,c");
    ck_assert_str_eq(g, "a|b||c");
    free(g);
    g = colsep_join("\\t", "a\tb\tc");
    ck_assert_str_eq(g, "a|b|c");
    free(g);
    g = colsep_join("[,;]+", "a;;b,c");
    ck_assert_str_eq(g, "a|b|c");
    free(g);
    g = colsep_join("\\|", "x|y");
    ck_assert_str_eq(g, "x|y");
    free(g);
    g = colsep_join(",", "nosep");
    ck_assert_str_eq(g, "nosep");
    free(g);
    par_colsep c;
    char err[256];
    ck_assert_int_eq(par_colsep_compile(&c, "(", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--colsep") != NULL, "%s", err);
    ck_assert_int_eq(par_colsep_compile(&c, "", err, sizeof err), -1);
    /* expressions whose glibc expansion is exponential are refused before
       regcomp (the parallel_colsep fuzzer found 'b\\+++...' taking 2 GB) */
    ck_assert_int_eq(par_colsep_compile(&c, "a+++", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "refused") != NULL, "%s", err);
    char deep[256] = "";
    for (int i = 0; i < 20; i++) strcat(deep, "(");
    strcat(deep, "a");
    for (int i = 0; i < 20; i++) strcat(deep, ")+");
    ck_assert_int_eq(par_colsep_compile(&c, deep, err, sizeof err), -1);
    ck_assert_int_eq(par_colsep_compile(&c, "x{1000}", err, sizeof err), -1);
    /* ordinary ones still work */
    g = colsep_join("[ ]{2,}", "a  b c   d");
    ck_assert_str_eq(g, "a|b c|d");
    free(g);
    g = colsep_join("(x|y)+", "1xy2");
    ck_assert_str_eq(g, "1|2");
    free(g);
}
END_TEST

typedef struct seen {
    long seq[16], ev[16], sig[16];
    char cmd[16][64];
    int n;
} seen;

static void record(void *user, const par_joblog_entry *e) {
    seen *s = user;
    if (s->n >= 16) return;
    s->seq[s->n] = e->seq;
    s->ev[s->n] = e->exitval;
    s->sig[s->n] = e->sig;
    snprintf(s->cmd[s->n], sizeof s->cmd[0], "%.*s", (int)e->cmdlen, e->cmd);
    s->n++;
}

START_TEST(test_joblog_reader) {
    const char *log =
        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
        "1\t:\t1795504139.929\t     0.001\t0\t2\t0\t0\techo 1\n"
        "\n"
        "3\t:\t1795504139.930\t     1.000\t0\t0\t-1\t15\tsleep 30\tx\n"
        "garbage line\n"
        "2\t:\t1795504139.931\t     0.001\t0\t2\t0\t0\tec"; /* torn: no newline */
    seen s = {0};
    size_t valid = par_joblog_parse(log, strlen(log), record, &s);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.seq[0], 1);
    ck_assert_str_eq(s.cmd[0], "echo 1");
    ck_assert_int_eq(s.seq[1], 3);
    ck_assert_int_eq(s.ev[1], -1);
    ck_assert_int_eq(s.sig[1], 15);
    ck_assert_str_eq(s.cmd[1], "sleep 30\tx"); /* the Command is the rest of the line */
    ck_assert_uint_eq(valid, (size_t)(strrchr(log, '\n') - log) + 1);
    /* a log that ends cleanly is valid to its end */
    const char *whole = "Seq\tHost\n1\t:\t0\t0\t0\t0\t0\t0\tx\n";
    seen s2 = {0};
    ck_assert_uint_eq(par_joblog_parse(whole, strlen(whole), record, &s2), strlen(whole));
    ck_assert_int_eq(s2.n, 1);
}
END_TEST

START_TEST(test_joblog_format) {
    par_buf l = {0};
    par_joblog_format(&l, 7, 1795504139.9294, 0.0015, 12, -1, 9, "echo a\tb", 8);
    ck_assert_str_eq(l.p, "7\t:\t1795504139.929\t     0.002\t0\t12\t-1\t9\techo a\tb\n");
    seen s = {0};
    ck_assert_uint_eq(par_joblog_parse(l.p, l.n, record, &s), l.n);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.seq[0], 7);
    ck_assert_int_eq(s.ev[0], -1);
    ck_assert_int_eq(s.sig[0], 9);
    par_buf_free(&l);
}
END_TEST

START_TEST(test_median) {
    par_median m;
    par_median_init(&m);
    double v;
    ck_assert_int_eq(par_median_get(&m, &v), 0);
    double xs[] = {5, 1, 9, 3, 7, 2};
    double want[] = {5, 3, 5, 4, 5, 4}; /* medians of the prefixes */
    for (int i = 0; i < 6; i++) {
        par_median_add(&m, xs[i]);
        ck_assert_int_eq(par_median_get(&m, &v), 1);
        ck_assert_msg(v == want[i], "after %d values: %g, want %g", i + 1, v, want[i]);
    }
    par_median_free(&m);
}
END_TEST

int main(void) {
    Suite *s = suite_create("parallel_core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_manual_examples);
    tcase_add_test(tc, test_quoting);
    tcase_add_test(tc, test_append_and_special);
    tcase_add_test(tc, test_replace_option);
    tcase_add_test(tc, test_tagstring_raw);
    tcase_add_test(tc, test_perl_expression_rejected);
    tcase_add_test(tc, test_combination);
    tcase_add_test(tc, test_combination_overflow);
    tcase_add_test(tc, test_max_args);
    tcase_add_test(tc, test_empty_source);
    tcase_add_test(tc, test_split_and_skip_empty);
    tcase_add_test(tc, test_colsep);
    tcase_add_test(tc, test_joblog_reader);
    tcase_add_test(tc, test_joblog_format);
    tcase_add_test(tc, test_median);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
