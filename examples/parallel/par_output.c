/* vpar-parallel: output (see par_output.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void par_output_init(par_output *out) {
    memset(out, 0, sizeof *out);
    for (int fd = 1; fd <= 2; fd++) out->s[fd].fd = fd;
}

/* A non-blocking way to write stream fd, without changing the flags of the
   open file description the caller (and -u jobs) share. */
static void setup_async(par_outq *s, int fd) {
    struct stat st;
    s->fd = fd;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) { s->nonblock = 1; return; }
    if (fstat(fd, &st) < 0) return;
    if (S_ISSOCK(st.st_mode)) {
        s->sock = s->nonblock = 1;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (nfd < 0) return; /* no /proc, or no reader: write blocking */
        struct stat st2;
        if (fstat(nfd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
            close(nfd);
            return;
        }
        s->fd = nfd;
        s->own = s->nonblock = 1;
    }
}

void par_output_init_async(par_output *out) {
    par_output_init(out);
    struct stat a, b;
    if (fstat(1, &a) == 0 && fstat(2, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
        !S_ISREG(a.st_mode))
        out->same12 = 1;
    for (int fd = 1; fd <= 2; fd++) setup_async(&out->s[fd], fd);
}

void par_output_free(par_output *out) {
    for (int fd = 1; fd <= 2; fd++) {
        if (out->s[fd].own) close(out->s[fd].fd);
        par_buf_free(&out->s[fd].q);
    }
    memset(out, 0, sizeof *out);
}

static void write_failed(par_output *out, int fd, int err) {
    par_outq *s = &out->s[fd];
    s->dead = 1;
    s->q.n = s->off = 0;
    if (fd == 1 && !out->broken) {
        out->broken = 1;
        if (err != EPIPE) par_warn("cannot write output: %s", strerror(err));
    }
}

/* Writes what the descriptor takes; returns the bytes written, or -1
   after recording a failure. Blocks only on a blocking descriptor. */
static ssize_t try_write(par_output *out, int fd, const char *p, size_t n) {
    par_outq *s = &out->s[fd];
    size_t done = 0;
    while (done < n) {
        ssize_t w = s->sock ? send(s->fd, p + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL)
                            : write(s->fd, p + done, n - done);
        if (w > 0) {
            done += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            if (s->nonblock) break;
            /* a descriptor left non-blocking by whoever gave it to us */
            struct pollfd pf = {.fd = s->fd, .events = POLLOUT};
            (void)poll(&pf, 1, -1);
        } else {
            write_failed(out, fd, w < 0 ? errno : EIO);
            return -1;
        }
    }
    return (ssize_t)done;
}

void par_write_all(par_output *out, int fd, const char *p, size_t n) {
    if (fd == 2 && out->same12) fd = 1;
    par_outq *s = &out->s[fd];
    if (n == 0 || s->dead) return;
    if (s->q.n == s->off) { /* nothing queued: write directly */
        s->q.n = s->off = 0;
        ssize_t w = try_write(out, fd, p, n);
        if (w < 0) return;
        p += w;
        n -= (size_t)w;
        if (n == 0) return;
    }
    par_buf_add(&s->q, p, n);
}

void par_output_flush(par_output *out, int fd) {
    par_outq *s = &out->s[fd];
    if (s->dead || s->q.n == s->off) return;
    ssize_t w = try_write(out, fd, s->q.p + s->off, s->q.n - s->off);
    if (w < 0) return;
    s->off += (size_t)w;
    if (s->off == s->q.n) s->q.n = s->off = 0;
    else if (s->off > 1048576 && s->off > s->q.n / 2) { /* compact */
        memmove(s->q.p, s->q.p + s->off, s->q.n - s->off);
        s->q.n -= s->off;
        s->off = 0;
    }
}

size_t par_output_pending(const par_output *out) {
    return (out->s[1].q.n - out->s[1].off) + (out->s[2].q.n - out->s[2].off);
}

int par_output_poll_fd(const par_output *out, int fd) {
    const par_outq *s = &out->s[fd];
    return !s->dead && s->q.n > s->off ? s->fd : -1;
}

void par_out_printf(par_output *out, int fd, const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k >= sizeof line) {
        par_buf b = {0};
        va_start(ap, fmt);
        par_buf_reserve(&b, (size_t)k);
        vsnprintf(b.p, (size_t)k + 1, fmt, ap);
        va_end(ap);
        par_write_all(out, fd, b.p, (size_t)k);
        par_buf_free(&b);
        return;
    }
    par_write_all(out, fd, line, (size_t)k);
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
