/* examples/common/progress.c — the progress bar shared by forked workers,
   and one-line status updates (excommon.h). */
#include "excommon.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void vpar_ex_progress_init(vpar_ex_progress *pr, uint64_t total, int enabled) {
    atomic_init(&pr->done, 0);
    atomic_init(&pr->last_draw, 0);
    pr->total = total;
    pr->start_ns = vpar_ex_now_ns();
    pr->fd = enabled ? 2 : -1;
}

static void vpar__ex_hms(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 359999) { snprintf(buf, cap, "--:--"); return; }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

char *vpar_ex_progress_format(char *buf, size_t cap, uint64_t done, uint64_t total,
                              double elapsed, int width) {
    char bar[128], el[32], eta[32];
    if (width > (int)sizeof bar - 1) width = (int)sizeof bar - 1;
    if (width < 1) width = 1;
    double frac = total ? (double)done / (double)total : 1.0;
    if (frac > 1) frac = 1;
    int fill = (int)(frac * width);
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    vpar__ex_hms(el, sizeof el, elapsed);
    if (done == 0) snprintf(eta, sizeof eta, "--:--");
    else vpar__ex_hms(eta, sizeof eta, elapsed / (double)done * (double)(total - (done < total ? done : total)));
    snprintf(buf, cap, "[%s] %3d%% %llu/%llu steps  %s elapsed  ETA %s", bar, (int)(frac * 100),
             (unsigned long long)done, (unsigned long long)total, el, eta);
    return buf;
}

/* "\r" + erase line + text (+ newline): one write() so that concurrent
   processes do not interleave. A failed write is not worth failing a run. */
static void vpar__ex_put_line(int fd, const char *text, int final) {
    char out[600];
    int n = snprintf(out, sizeof out, "\r\033[K%s%s", text, final ? "\n" : "");
    if (n > 0) {
        ssize_t w = write(fd, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
        (void)w;
    }
}

static void vpar__ex_progress_draw(vpar_ex_progress *pr, uint64_t done, int final) {
    char line[256];
    double el = (double)(vpar_ex_now_ns() - pr->start_ns) * 1e-9;
    vpar_ex_progress_format(line, sizeof line, done, pr->total, el, 30);
    vpar__ex_put_line(pr->fd, line, final);
}

void vpar_ex_progress_step(vpar_ex_progress *pr) {
    uint64_t done = atomic_fetch_add_explicit(&pr->done, 1, memory_order_relaxed) + 1;
    if (pr->fd < 0) return;
    uint64_t now = vpar_ex_now_ns();
    uint64_t last = atomic_load_explicit(&pr->last_draw, memory_order_relaxed);
    if (now - last < 100000000ull && done < pr->total) return;
    if (atomic_compare_exchange_strong_explicit(&pr->last_draw, &last, now,
                                                memory_order_relaxed, memory_order_relaxed))
        vpar__ex_progress_draw(pr, done, 0);
}

void vpar_ex_progress_finish(vpar_ex_progress *pr) {
    if (pr->fd < 0) return;
    vpar__ex_progress_draw(pr, atomic_load_explicit(&pr->done, memory_order_relaxed), 1);
}

void vpar_ex_status_line(int fd, const char *fmt, ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    vpar__ex_put_line(fd, text, 0);
}
