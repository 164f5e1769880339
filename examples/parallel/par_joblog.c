/* vpar-parallel: --joblog writing and reading (see par_joblog.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void par_joblog_format(par_buf *l, size_t seq, double t_real, double runtime, size_t received,
                       int exitval, int sig, const char *cmd, size_t cmdlen) {
    par_buf_printf(l, "%zu\t:\t%.3f\t%10.3f\t0\t%zu\t%d\t%d\t", seq, t_real, runtime, received,
                   exitval, sig);
    par_buf_add(l, cmd, cmdlen);
    par_buf_addc(l, '\n');
}

size_t par_joblog_parse(char *text, size_t n,
                        void (*fn)(void *user, const par_joblog_entry *e), void *user) {
    (void)n;
    size_t count = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        /* Seq Host Starttime JobRuntime Send Receive Exitval Signal Command */
        char *f[9] = {0};
        int nf = 0;
        char *p = line;
        while (nf < 9) {
            f[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = 0;
            p = tab + 1;
        }
        par_joblog_entry e;
        if (nf >= 8 && par_parse_long(f[0], &e.seq) && par_parse_long(f[6], &e.exitval) &&
            par_parse_long(f[7], &e.sig)) {
            fn(user, &e);
            count++;
        }
        line = nl ? nl + 1 : NULL;
    }
    return count;
}

typedef struct skip_ctx {
    unsigned char *skip;
    size_t total;
    int resume_failed;
} skip_ctx;

static void mark_skip(void *user, const par_joblog_entry *e) {
    skip_ctx *c = user;
    if (e->seq < 1 || (size_t)e->seq > c->total) return;
    if (!c->resume_failed || (e->exitval == 0 && e->sig == 0)) c->skip[e->seq] = 1;
}

void par_joblog_load_skip(const char *path, unsigned char *skip, size_t total, int resume_failed) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        par_die(255, "cannot read joblog '%s': %s", path, strerror(errno));
    }
    par_buf b = {0};
    for (;;) {
        par_buf_reserve(&b, 65536);
        ssize_t r = read(fd, b.p + b.n, b.cap - b.n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) par_die(255, "cannot read joblog '%s': %s", path, strerror(errno));
        if (r == 0) break;
        b.n += (size_t)r;
    }
    close(fd);
    if (!b.p) return;
    b.p[b.n] = 0;
    skip_ctx c = {skip, total, resume_failed};
    par_joblog_parse(b.p, b.n, mark_skip, &c);
    par_buf_free(&b);
}

void par_joblog_open(par_joblog *jl, const char *path, int resume) {
    jl->fd = -1;
    jl->path = path;
    if (!path) return;
    struct stat st;
    int exists = stat(path, &st) == 0 && st.st_size > 0;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC);
    jl->fd = open(path, flags, 0666);
    if (jl->fd < 0) par_die(255, "cannot open joblog '%s': %s", path, strerror(errno));
    if (!resume || !exists) {
        static const char hdr[] =
            "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
        if (write(jl->fd, hdr, sizeof hdr - 1) != (ssize_t)(sizeof hdr - 1))
            par_die(255, "cannot write joblog '%s': %s", path, strerror(errno));
    }
}

void par_joblog_write(par_joblog *jl, size_t seq, double t_real, double runtime, size_t received,
                      int exitval, int sig, const char *cmd, size_t cmdlen) {
    if (jl->fd < 0) return;
    par_buf l = {0};
    par_joblog_format(&l, seq, t_real, runtime, received, exitval, sig, cmd, cmdlen);
    /* one write per line, so an interrupted run leaves whole lines only */
    const char *p = l.p;
    size_t n = l.n;
    while (n) {
        ssize_t w = write(jl->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            par_warn("cannot write joblog '%s': %s", jl->path, strerror(errno));
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    par_buf_free(&l);
}

void par_joblog_close(par_joblog *jl) {
    if (jl->fd >= 0 && close(jl->fd) < 0)
        par_warn("cannot close joblog '%s': %s", jl->path, strerror(errno));
    jl->fd = -1;
}
