/* vpar-parallel: output (see par_output.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_output.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Waits in poll() if the descriptor was left non-blocking by whoever gave
   it to us. */
void par_write_all(par_output *out, int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            (void)poll(&pf, 1, -1);
        } else {
            if (fd == 1 && !out->broken) {
                out->broken = 1;
                if (errno != EPIPE) par_warn("cannot write output: %s", strerror(errno));
            }
            return;
        }
    }
}

void par_emit(par_output *out, int fd, const char *p, size_t n, const par_buf *tag) {
    if (n == 0) return;
    if (!tag || tag->n == 0) {
        par_write_all(out, fd, p, n);
        return;
    }
    /* prefix every line (and a trailing partial line) with the tag */
    par_buf o = {0};
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        par_buf_add(&o, tag->p, tag->n);
        par_buf_add(&o, p, len);
        p += len;
    }
    par_write_all(out, fd, o.p, o.n);
    par_buf_free(&o);
}

void par_emit_lines(par_output *out, int fd, par_buf *b, const par_buf *tag) {
    if (b->n == 0) return;
    char *last = NULL;
    for (size_t i = b->n; i-- > 0;)
        if (b->p[i] == '\n') { last = b->p + i; break; }
    if (!last) return;
    size_t len = (size_t)(last - b->p) + 1;
    par_emit(out, fd, b->p, len, tag);
    memmove(b->p, b->p + len, b->n - len);
    b->n -= len;
}
