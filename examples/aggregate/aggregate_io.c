/* examples/aggregate/aggregate_io.c — permutations, --order parsing, CSV
   and SVG outputs, progress bar (see aggregate.h). No EGAD or ranking here:
   the engine is in aggregate.c. */
#include "aggregate_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ======================================================================== */
/* permutations                                                              */
/* ======================================================================== */

/* The generator (xoshiro256** seeded by splitmix64, Lemire's bounded draw)
   is examples/common/rng.c; vpar_agg_rng_* forward to it (aggregate_io.h). */

void vpar_agg_permutations(uint64_t seed, size_t p, size_t k, size_t *orders) {
    vpar_agg_rng rng;
    vpar_agg_rng_seed(&rng, seed);
    for (size_t i = 0; i < p; i++) {
        size_t *a = orders + i * k;
        for (size_t j = 0; j < k; j++) a[j] = j;
        for (size_t j = k; j-- > 1;) {
            size_t r = (size_t)vpar_agg_rng_below(&rng, (uint64_t)j + 1);
            size_t tmp = a[j];
            a[j] = a[r];
            a[r] = tmp;
        }
    }
}

/* ======================================================================== */
/* names, lines, --order                                                     */
/* ======================================================================== */

const char *vpar_agg_dataset_name(const char *path) { return vpar_ex_basename(path); }

vpar_status vpar_agg_check_names(const char *const *paths, size_t k) {
    for (size_t i = 0; i < k; i++) {
        const char *ni = vpar_agg_dataset_name(paths[i]);
        if (!*ni)
            return vpar_fail(VPAR_ERR_INVALID, "%s: a network path must name a file", paths[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ni, vpar_agg_dataset_name(paths[j])) == 0)
                return vpar_fail(VPAR_ERR_INVALID,
                                 "%s and %s have the same file name '%s': datasets are "
                                 "named by file name in the outputs and --order, so "
                                 "they must differ", paths[j], paths[i], ni);
    }
    return VPAR_OK;
}

/* Text files: a missing file is VPAR_ERR_NOT_FOUND (resume tells "not
   computed yet" from "unreadable"), NUL bytes are a format error. */
#define VPAR__AGG_READ (VPAR_EX_READ_TEXT | VPAR_EX_READ_ENOENT_NOT_FOUND)

vpar_status vpar_agg_read_lines(const char *path, char ***lines, size_t *n) {
    return vpar_ex_read_lines(path, VPAR__AGG_READ, lines, n, NULL);
}

static char *vpar__agg_trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* name is file's name without its extension ("nw_03" for "nw_03.npy"): the
   network name vpar-egad uses. */
static int vpar__agg_is_stem(const char *name, const char *file) {
    const char *dot = strrchr(file, '.');
    size_t n = strlen(name);
    return dot && dot != file && (size_t)(dot - file) == n && strncmp(name, file, n) == 0;
}

vpar_status vpar_agg_read_order(const char *path, const char *const *paths,
                                size_t k, size_t *order) {
    char **lines;
    size_t nlines;
    vpar_status st = vpar_agg_read_lines(path, &lines, &nlines);
    if (st != VPAR_OK) return st;
    size_t *line_of = (size_t *)VPAR_MALLOC((k ? k : 1) * sizeof *line_of);
    if (!line_of) {
        VPAR_FREE(lines);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < k; i++) line_of[i] = 0;
    size_t count = 0, nunknown = 0;
    char unknown[1024]; /* the unknown names after the first: "'a' (line 3), 'b' (line 7)" */
    char first[256] = "";
    size_t first_line = 0;
    size_t uused = 0;
    unknown[0] = '\0';
    st = VPAR_OK;
    for (size_t li = 0; li < nlines && st == VPAR_OK; li++) {
        char *name = vpar__agg_trim(lines[li]);
        if (!*name || *name == '#') continue;
        size_t found = k;
        for (size_t i = 0; i < k && found == k; i++)
            if (strcmp(name, paths[i]) == 0 || strcmp(name, vpar_agg_dataset_name(paths[i])) == 0 ||
                vpar__agg_is_stem(name, vpar_agg_dataset_name(paths[i])))
                found = i;
        if (found == k) { /* collected: all unknown names in one message */
            if (!nunknown) {
                snprintf(first, sizeof first, "%s", name);
                first_line = li + 1;
            } else if (uused + 1 < sizeof unknown) {
                int w = snprintf(unknown + uused, sizeof unknown - uused, "%s'%s' (line %zu)",
                                 nunknown > 1 ? ", " : "", name, li + 1);
                if (w > 0) uused += (size_t)w;
            }
            nunknown++;
        } else if (line_of[found]) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: dataset '%s' is repeated (first on line %zu)",
                           path, li + 1, name, line_of[found]);
        } else if (count == k) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: more datasets than the %zu networks given",
                           path, li + 1, k);
        } else {
            line_of[found] = li + 1;
            order[count++] = found;
        }
    }
    /* Unknown and missing names: every one of them, so that one fix of the
       file is enough. */
    char missing[1024];
    size_t mused = 0, nmissing = 0;
    missing[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        if (line_of[i]) continue;
        if (mused + 1 < sizeof missing) {
            int w = snprintf(missing + mused, sizeof missing - mused, "%s%s", nmissing ? ", " : "",
                             vpar_agg_dataset_name(paths[i]));
            if (w > 0) mused += (size_t)w;
        }
        nmissing++;
    }
    if (uused >= sizeof unknown - 1) memcpy(unknown + sizeof unknown - 5, "...", 4);
    if (mused >= sizeof missing - 1) memcpy(missing + sizeof missing - 5, "...", 4);
    if (nunknown)
        st = vpar_fail(VPAR_ERR_NOT_FOUND,
                       "%s:%zu: unknown dataset '%s'%s%s; networks not in the order: %s (a dataset "
                       "is a network's file name, with or without its extension)", path,
                       first_line, first, nunknown > 1 ? "; also unknown: " : "", unknown,
                       nmissing ? missing : "none");
    else if (st == VPAR_OK && count != k)
        st = vpar_fail(VPAR_ERR_FORMAT,
                       "%s: names %zu dataset%s but %zu networks were given (missing: %s)",
                       path, count, count == 1 ? "" : "s", k, missing);
    VPAR_FREE(line_of);
    VPAR_FREE(lines);
    return st;
}

/* ======================================================================== */
/* text buffer and atomic file writes                                        */
/* ======================================================================== */

/* Text is built in a vpar_ex_buf (examples/common/buf.c) and written with
   vpar_ex_buf_write_atomic: a temporary file in the same directory renamed
   over the final name, so readers (and resumed runs) never see a partial
   file. */

/* ======================================================================== */
/* CSVs                                                                      */
/* ======================================================================== */

int vpar_agg_perm_csv_path(char *buf, size_t cap, const char *dir, size_t i) {
    int w = snprintf(buf, cap, "%s/permute_network_performance_%zu.csv", dir, i);
    return w >= 0 && (size_t)w < cap;
}

vpar_status vpar_agg_write_perm_csv(const char *path, const char *const *paths,
                                    const size_t *order, const double *auc, size_t k) {
    vpar_ex_buf b = {0};
    vpar_ex_buf_printf(&b, "step,dataset,mean_auc\n");
    for (size_t s = 0; s < k; s++) {
        vpar_ex_buf_printf(&b, "%zu,%s,", s + 1, vpar_agg_dataset_name(paths[order[s]]));
        vpar_ex_buf_num(&b, auc[s]);
        vpar_ex_buf_printf(&b, "\n");
    }
    vpar_status st = vpar_ex_buf_write_atomic(path, &b);
    vpar_ex_buf_free(&b);
    return st;
}

vpar_status vpar_agg_read_perm_csv(const char *path, const char *const *paths,
                                   const size_t *order, size_t k, double *auc) {
    char **lines;
    size_t n;
    int ends_nl;
    vpar_status st = vpar_ex_read_lines(path, VPAR__AGG_READ, &lines, &n, &ends_nl);
    if (st != VPAR_OK) return st;
    st = VPAR_OK;
    if (n > 0 && !ends_nl) {
        /* The writer ends every line; a last line without one was cut. */
        st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: truncated last line", path, n);
    } else if (n < 1 || strcmp(lines[0], "step,dataset,mean_auc") != 0) {
        st = vpar_fail(VPAR_ERR_FORMAT, "%s:1: header is not 'step,dataset,mean_auc'", path);
    } else if (n != k + 1) {
        st = vpar_fail(VPAR_ERR_FORMAT, "%s: has %zu steps, this run has %zu datasets", path,
                       n - 1, k);
    }
    for (size_t s = 0; s < k && st == VPAR_OK; s++) {
        char *line = lines[s + 1];
        char *c1 = strchr(line, ',');
        char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c2) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: expected 3 fields", path, s + 2);
            break;
        }
        *c1 = *c2 = '\0';
        char *end;
        errno = 0;
        unsigned long long step = strtoull(line, &end, 10);
        const char *want = vpar_agg_dataset_name(paths[order[s]]);
        if (*end || end == line || step != s + 1) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: step '%s', expected %zu", path, s + 2,
                           line, s + 1);
        } else if (strcmp(c1 + 1, want) != 0) {
            st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: dataset '%s', this permutation has '%s'",
                           path, s + 2, c1 + 1, want);
        } else {
            double v = strtod(c2 + 1, &end);
            if (*end || end == c2 + 1)
                st = vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: mean_auc '%s' is not a number", path,
                               s + 2, c2 + 1);
            else
                auc[s] = v;
        }
    }
    VPAR_FREE(lines);
    return st;
}

vpar_status vpar_agg_write_aggregate_csv(const char *path, const char *const *paths,
                                         const size_t *orders, const double *auc,
                                         size_t p, size_t k) {
    vpar_ex_buf b = {0};
    vpar_ex_buf_printf(&b, "permutation,step,dataset,mean_auc\n");
    for (size_t i = 0; i < p; i++)
        for (size_t s = 0; s < k; s++) {
            vpar_ex_buf_printf(&b, "%zu,%zu,%s,", i + 1, s + 1,
                             vpar_agg_dataset_name(paths[orders[i * k + s]]));
            vpar_ex_buf_num(&b, auc[i * k + s]);
            vpar_ex_buf_printf(&b, "\n");
        }
    vpar_status st = vpar_ex_buf_write_atomic(path, &b);
    vpar_ex_buf_free(&b);
    return st;
}

/* ======================================================================== */
/* median and SVG                                                            */
/* ======================================================================== */

static int vpar__agg_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

vpar_status vpar_agg_median(const double *auc, size_t p, size_t k, double *median) {
    double *col = (double *)VPAR_MALLOC((p ? p : 1) * sizeof *col);
    if (!col) return vpar_fail(VPAR_ERR_NOMEM, "median: out of memory");
    for (size_t s = 0; s < k; s++) {
        size_t m = 0;
        for (size_t i = 0; i < p; i++)
            if (!isnan(auc[i * k + s])) col[m++] = auc[i * k + s];
        if (m == 0) {
            median[s] = NAN;
            continue;
        }
        qsort(col, m, sizeof *col, vpar__agg_cmp_double);
        median[s] = (m & 1) ? col[m / 2] : 0.5 * (col[m / 2 - 1] + col[m / 2]);
    }
    VPAR_FREE(col);
    return VPAR_OK;
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about
   `target` intervals over `range`. */
static double vpar__agg_nice_step(double range, int target) {
    double raw = range / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nice * mag;
}

static void vpar__agg_xml_text(vpar_ex_buf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': vpar_ex_buf_printf(b, "&lt;"); break;
        case '>': vpar_ex_buf_printf(b, "&gt;"); break;
        case '&': vpar_ex_buf_printf(b, "&amp;"); break;
        case '"': vpar_ex_buf_printf(b, "&quot;"); break;
        case '\'': vpar_ex_buf_printf(b, "&apos;"); break;
        default:
            /* Control characters other than tab/newline are not allowed in XML 1.0. */
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                vpar_ex_buf_printf(b, "%c", *s);
        }
    }
}

/* Appends the d attribute's value for one curve, breaking it at NaN. */
static void vpar__agg_curve(vpar_ex_buf *b, const double *y, size_t k, double x0, double dx,
                            double ylo, double yhi, double top, double height) {
    int pen = 0, started = 0;
    for (size_t s = 0; s < k; s++) {
        if (isnan(y[s])) { pen = 0; continue; }
        double px = x0 + dx * (double)s;
        double v = y[s] < ylo ? ylo : y[s] > yhi ? yhi : y[s];
        double py = top + height * (yhi - v) / (yhi - ylo);
        vpar_ex_buf_printf(b, "%s%.2f,%.2f", pen ? " L" : started ? " M" : "M", px, py);
        pen = started = 1;
    }
}

/* Plot geometry: canvas, margins, plot area, y range and steps. */
typedef struct vpar__agg_plot {
    double W, H, ml, mr, mt, mb, pw, ph;
    double ylo, yhi, ystep;   /* y axis */
    double x0, dx;            /* x of step s (1..k): x0 + dx * (s - 1) */
    size_t xstep;             /* label every xstep-th step */
} vpar__agg_plot;

static void vpar__agg_plot_layout(vpar__agg_plot *g, const double *auc, size_t p, size_t k) {
    /* mr: room for the legend's "permutation (1000)" (13 px text). */
    g->W = 960; g->H = 560; g->ml = 90; g->mr = 230; g->mt = 60; g->mb = 70;
    g->pw = g->W - g->ml - g->mr;
    g->ph = g->H - g->mt - g->mb;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < p * k; i++)
        if (isfinite(auc[i])) {
            if (auc[i] < lo) lo = auc[i];
            if (auc[i] > hi) hi = auc[i];
        }
    if (!(lo <= hi)) { lo = 0.5; hi = 1.0; }
    if (hi - lo < 1e-6) { lo -= 0.005; hi += 0.005; }
    g->ystep = vpar__agg_nice_step(hi - lo, 6);
    g->ylo = floor(lo / g->ystep) * g->ystep;
    g->yhi = ceil(hi / g->ystep) * g->ystep;
    if (g->yhi - g->ylo < g->ystep) g->yhi = g->ylo + g->ystep;
    /* A single step sits in the middle. */
    g->dx = k > 1 ? g->pw / (double)(k - 1) : 0;
    g->x0 = k > 1 ? g->ml : g->ml + g->pw / 2;
    g->xstep = 1;
    while (k / g->xstep > 12) g->xstep = g->xstep == 1 ? 2 : g->xstep == 2 ? 5 : g->xstep * 2;
}

/* Grid, ticks, tick labels and the two axes. */
static void vpar__agg_svg_axes(vpar_ex_buf *b, const vpar__agg_plot *g, size_t k) {
    const double ml = g->ml, mt = g->mt, pw = g->pw, ph = g->ph;
    vpar_ex_buf_printf(b, "<g class=\"axes\" stroke=\"#000\" stroke-width=\"1\" font-size=\"13\">\n");
    for (double v = g->ylo; v <= g->yhi + g->ystep * 1e-6; v += g->ystep) {
        double py = mt + ph * (g->yhi - v) / (g->yhi - g->ylo);
        int decimals = g->ystep >= 1 ? 0 : (int)ceil(-log10(g->ystep) - 1e-9);
        vpar_ex_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e0e0e0\"/>\n",
                           ml, py, ml + pw, py);
        vpar_ex_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", ml - 5, py, ml, py);
        vpar_ex_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" stroke=\"none\" text-anchor=\"end\" "
                              "dominant-baseline=\"middle\">%.*f</text>\n",
                           ml - 8, py, decimals, v);
    }
    for (size_t s = 1; s <= k; s++) {
        if (s != 1 && s % g->xstep != 0) continue;
        double px = g->x0 + g->dx * (double)(s - 1);
        vpar_ex_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n",
                           px, mt + ph, px, mt + ph + 5);
        vpar_ex_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" stroke=\"none\" text-anchor=\"middle\">%zu</text>\n",
                           px, mt + ph + 20, s);
    }
    vpar_ex_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", ml, mt, ml, mt + ph);
    vpar_ex_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", ml, mt + ph, ml + pw, mt + ph);
    vpar_ex_buf_printf(b, "</g>\n");
}

/* Axis labels and the title. */
static void vpar__agg_svg_labels(vpar_ex_buf *b, const vpar__agg_plot *g, const char *title) {
    vpar_ex_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"15\">"
                          "Number of aggregated datasets</text>\n", g->ml + g->pw / 2, g->H - 22);
    vpar_ex_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"15\" "
                          "transform=\"rotate(-90 %.2f %.2f)\">Mean AUROC over GO terms</text>\n",
                       24.0, g->mt + g->ph / 2, 24.0, g->mt + g->ph / 2);
    vpar_ex_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"17\" "
                          "font-weight=\"bold\">", g->W / 2, 32.0);
    vpar__agg_xml_text(b, title);
    vpar_ex_buf_printf(b, "</text>\n");
}

/* One thin path per permutation, the median on top, the legend. */
static void vpar__agg_svg_curves(vpar_ex_buf *b, const vpar__agg_plot *g, const double *auc,
                                 const double *med, size_t p, size_t k) {
    vpar_ex_buf_printf(b, "<g class=\"permutations\" fill=\"none\" stroke=\"#4682b4\" "
                          "stroke-opacity=\"0.45\" stroke-width=\"1\">\n");
    for (size_t i = 0; i < p; i++) {
        vpar_ex_buf_printf(b, "<path class=\"perm\" d=\"");
        vpar__agg_curve(b, auc + i * k, k, g->x0, g->dx, g->ylo, g->yhi, g->mt, g->ph);
        vpar_ex_buf_printf(b, "\"><title>permutation %zu</title></path>\n", i + 1);
    }
    vpar_ex_buf_printf(b, "</g>\n<path class=\"median\" fill=\"none\" stroke=\"#d62728\" "
                          "stroke-width=\"3\" d=\"");
    vpar__agg_curve(b, med, k, g->x0, g->dx, g->ylo, g->yhi, g->mt, g->ph);
    vpar_ex_buf_printf(b, "\"><title>median</title></path>\n");
    double lx = g->ml + g->pw + 20, ly = g->mt + 10;
    vpar_ex_buf_printf(b, "<g class=\"legend\" font-size=\"13\">\n"
                          "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#4682b4\" stroke-width=\"1\"/>\n"
                          "<text x=\"%.2f\" y=\"%.2f\" dominant-baseline=\"middle\">permutation (%zu)</text>\n"
                          "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#d62728\" stroke-width=\"3\"/>\n"
                          "<text x=\"%.2f\" y=\"%.2f\" dominant-baseline=\"middle\">median</text>\n</g>\n",
                       lx, ly, lx + 30, ly, lx + 38, ly, p, lx, ly + 22, lx + 30, ly + 22, lx + 38, ly + 22);
}

vpar_status vpar_agg_write_svg(const char *path, const double *auc, size_t p,
                               size_t k, const char *title) {
    double *med = (double *)VPAR_MALLOC((k ? k : 1) * sizeof *med);
    if (!med) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    vpar_status st = vpar_agg_median(auc, p, k, med);
    if (st != VPAR_OK) { VPAR_FREE(med); return st; }
    vpar__agg_plot g;
    vpar__agg_plot_layout(&g, auc, p, k);
    char deftitle[160];
    if (!title) {
        snprintf(deftitle, sizeof deftitle,
                 "Network aggregation: mean EGAD AUROC, %zu permutation%s of %zu datasets", p,
                 p == 1 ? "" : "s", k);
        title = deftitle;
    }
    vpar_ex_buf b = {0};
    vpar_ex_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                           "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\">\n",
                       g.W, g.H, g.W, g.H);
    vpar_ex_buf_printf(&b, "<title>");
    vpar__agg_xml_text(&b, title);
    vpar_ex_buf_printf(&b, "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n",
                       g.W, g.H);
    vpar__agg_svg_axes(&b, &g, k);
    vpar__agg_svg_labels(&b, &g, title);
    vpar__agg_svg_curves(&b, &g, auc, med, p, k);
    vpar_ex_buf_printf(&b, "</svg>\n");
    VPAR_FREE(med);
    st = vpar_ex_buf_write_atomic(path, &b);
    vpar_ex_buf_free(&b);
    return st;
}

/* ======================================================================== */
/* progress: examples/common/progress.c (vpar_agg_progress_* forward to it)  */
/* ======================================================================== */
