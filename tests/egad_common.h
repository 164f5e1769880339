/* tests/egad_common.h — helpers shared by the EGAD tests: golden-file
   comparison to the tolerances of tests/data/fixtures (see
   ../shared/data/README.md), temporary directories, small file helpers. */
#ifndef VPAR_TESTS_EGAD_COMMON_H
#define VPAR_TESTS_EGAD_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpar_check.h"

typedef struct egad_table {
    size_t n;
    char **term;
    double (*v)[4]; /* AUC, AVG_NODE_DEGREE, DEGREE_NULL_AUC, P_Value */
} egad_table;

static inline void egad_table_free(egad_table *t) {
    for (size_t i = 0; i < t->n; i++) free(t->term[i]);
    free(t->term);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* The documented per-network CSV header (vpar-egad --help, docs/egad.md). */
#define EGAD_CSV_HEADER "term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value"

/* Parses a CSV whose first line is exactly EGAD_CSV_HEADER (else returns 0
   and says why on stderr); fields `term,a,b,c,d`; empty or NaN -> NaN. */
static inline int egad_table_read(const char *path, egad_table *t) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    size_t cap = 0;
    if (!fgets(line, sizeof line, f)) { fclose(f); return 0; }
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, EGAD_CSV_HEADER) != 0) {
        fprintf(stderr, "%s: header '%s', expected '%s'\n", path, line, EGAD_CSV_HEADER);
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        if (t->n == cap) {
            cap = cap ? cap * 2 : 256;
            t->term = (char **)realloc(t->term, cap * sizeof *t->term);
            t->v = (double (*)[4])realloc(t->v, cap * sizeof *t->v);
        }
        char *p = line, *comma = strchr(p, ',');
        if (!comma) { fclose(f); return 0; }
        *comma = '\0';
        t->term[t->n] = strdup(p);
        p = comma + 1;
        for (int k = 0; k < 4; k++) {
            char *e = strchr(p, ',');
            if (e) *e = '\0';
            t->v[t->n][k] = (*p == '\0' || strcmp(p, "NaN") == 0 || strcmp(p, "nan") == 0) ? NAN : strtod(p, NULL);
            p = e ? e + 1 : p + strlen(p);
        }
        t->n++;
    }
    fclose(f);
    return 1;
}

/* Checks one value against the fixture tolerances: AUC and
   DEGREE_NULL_AUC 1e-9 absolute, AVG_NODE_DEGREE 1e-9 relative,
   P_Value 1e-6 relative or 1e-300 absolute. NaN must match NaN. */
static inline int egad_close(int col, double want, double got) {
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
    double d = fabs(want - got);
    switch (col) {
    case 0: case 2: return d <= 1e-9;
    case 1: return d <= 1e-9 * fabs(want);
    default: return d <= 1e-6 * fabs(want) || d <= 1e-300;
    }
}

static inline const char *egad_col_name(int col) {
    static const char *const names[] = {"AUC", "AVG_NODE_DEGREE", "DEGREE_NULL_AUC", "P_Value"};
    return names[col];
}

/* Asserts that `got` equals `want` term by term (same order). */
static inline void egad_assert_tables(const egad_table *want, const egad_table *got, const char *what) {
    ck_assert_msg(want->n == got->n, "%s: %zu terms, expected %zu", what, got->n, want->n);
    for (size_t i = 0; i < want->n; i++) {
        ck_assert_msg(strcmp(want->term[i], got->term[i]) == 0, "%s: term %zu is %s, expected %s", what, i,
                      got->term[i], want->term[i]);
        for (int k = 0; k < 4; k++)
            ck_assert_msg(egad_close(k, want->v[i][k], got->v[i][k]), "%s: %s %s = %.17g, expected %.17g", what,
                          want->term[i], egad_col_name(k), got->v[i][k], want->v[i][k]);
    }
}

/* A fresh directory under $TMPDIR (or /tmp); caller removes it. */
static inline char *egad_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char *p = (char *)malloc(4096);
    snprintf(p, 4096, "%s/vpar-egad-test-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(p));
    return p;
}

static inline void egad_rmtree(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static inline void egad_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static inline char *egad_path(const char *dir, const char *name) {
    static char buf[8][4096];
    static int slot;
    char *b = buf[slot++ & 7];
    size_t a = strlen(dir), c = strlen(name);
    ck_assert_uint_lt(a + c + 2, sizeof buf[0]);
    memcpy(b, dir, a);
    b[a] = '/';
    memcpy(b + a + 1, name, c + 1);
    return b;
}

#endif
