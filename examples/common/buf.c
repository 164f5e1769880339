/* examples/common/buf.c — growable text buffer, CSV numbers, atomic write
   (excommon.h). */
#include "excommon.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vpar_ex_buf_reserve(vpar_ex_buf *b, size_t extra) {
    if (b->failed) return 0;
    size_t need;
    if (!vpar__add_size(b->len, extra, &need)) { b->failed = 1; return 0; }
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    char *np = (char *)VPAR_REALLOC(b->p, cap);
    if (!np) { b->failed = 1; return 0; }
    b->p = np;
    b->cap = cap;
    return 1;
}

int vpar_ex_buf_append(vpar_ex_buf *b, const void *src, size_t n) {
    if (!vpar_ex_buf_reserve(b, n)) return 0;
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
    return 1;
}

void vpar_ex_buf_printf(vpar_ex_buf *b, const char *fmt, ...) {
    for (int pass = 0; pass < 2 && !b->failed; pass++) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int w = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (w < 0) { b->failed = 1; return; }
        if (b->p && (size_t)w < room) { b->len += (size_t)w; return; }
        vpar_ex_buf_reserve(b, (size_t)w + 1); /* then format again */
    }
}

void vpar_ex_buf_num(vpar_ex_buf *b, double x) {
    if (isnan(x)) vpar_ex_buf_append(b, "NaN", 3);
    else vpar_ex_buf_printf(b, "%.17g", x);
}

void vpar_ex_buf_free(vpar_ex_buf *b) {
    VPAR_FREE(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

vpar_status vpar_ex_buf_write_atomic(const char *path, const vpar_ex_buf *b) {
    if (b->failed) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory formatting the output", path);
    const void *bufs[1] = {b->p ? b->p : ""};
    size_t lens[1] = {b->len};
    return vpar_write_file_atomic(path, bufs, lens, 1);
}
