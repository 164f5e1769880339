/* vpar-parallel: --joblog writing and reading (see par_joblog.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_joblog.h"
#include "excommon.h"

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

/* Whole-field base-10 long in f[0..n). */
static int field_long(const char *f, size_t n, long *out) {
    char tmp[32];
    if (n == 0 || n >= sizeof tmp) return 0;
    memcpy(tmp, f, n);
    tmp[n] = 0;
    return par_parse_long(tmp, out);
}

/* One line (without its '\n'): fills e from fields 1, 7 and 8. */
static int parse_line(const char *line, size_t len, par_joblog_entry *e) {
    /* Seq Host Starttime JobRuntime Send Receive Exitval Signal Command */
    const char *f[9];
    size_t fl[9];
    int nf = 0;
    const char *p = line, *end = line + len;
    while (nf < 9) {
        /* the Command (9th field) is the rest of the line, tabs included */
        const char *tab = nf < 8 ? memchr(p, '\t', (size_t)(end - p)) : NULL;
        f[nf] = p;
        fl[nf] = tab ? (size_t)(tab - p) : (size_t)(end - p);
        nf++;
        if (!tab) break;
        p = tab + 1;
    }
    e->cmd = nf == 9 ? f[8] : "";
    e->cmdlen = nf == 9 ? fl[8] : 0;
    return nf >= 8 && field_long(f[0], fl[0], &e->seq) && field_long(f[6], fl[6], &e->exitval) &&
           field_long(f[7], fl[7], &e->sig);
}

size_t par_joblog_parse(const char *text, size_t n,
                        void (*fn)(void *user, const par_joblog_entry *e), void *user) {
    size_t pos = 0;
    while (pos < n) {
        const char *nl = memchr(text + pos, '\n', n - pos);
        if (!nl) break; /* torn last line: ignored */
        size_t len = (size_t)(nl - (text + pos));
        par_joblog_entry e;
        if (parse_line(text + pos, len, &e)) fn(user, &e);
        pos += len + 1;
    }
    return pos;
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

long long par_joblog_load_skip(const char *path, unsigned char *skip, size_t total,
                               int resume_failed) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return -1;
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
    skip_ctx c = {skip, total, resume_failed};
    size_t valid = par_joblog_parse(b.p ? b.p : "", b.n, mark_skip, &c);
    par_buf_free(&b);
    return (long long)valid;
}

/* One write() for the whole line, so an interrupted run leaves whole lines
   only; a short or failed write is undone (truncated back). Returns 0 or
   the errno. */
static int write_raw(par_joblog *jl, const char *p, size_t n) {
    off_t start = lseek(jl->fd, 0, SEEK_END);
    size_t done = 0;
    int err = 0;
    while (done < n) {
        ssize_t w = write(jl->fd, p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    if (err && done > 0 && start >= 0) (void)ftruncate(jl->fd, start);
    return err;
}

/* Reads a whole file; returns 0 and fills b, or -1 (errno) when it cannot. */
static int slurp(const char *path, par_buf *b) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    for (;;) {
        par_buf_reserve(b, 65536);
        ssize_t r = vpar_ex_read_retry(fd, b->p + b->n, b->cap - b->n - 1);
        if (r < 0) return vpar_ex_close_fail(fd);
        if (r == 0) break;
        b->n += (size_t)r;
    }
    close(fd);
    return 0;
}

typedef struct failed_ctx {
    char **cmds;
    size_t n;
} failed_ctx;

static void collect_failed(void *user, const par_joblog_entry *e) {
    failed_ctx *c = user;
    if (e->seq < 1 || e->seq > 100000000) return;
    size_t seq = (size_t)e->seq;
    if (seq > c->n) {
        c->cmds = par_xrealloc(c->cmds, (seq + 1) * sizeof *c->cmds);
        for (size_t k = c->n + 1; k <= seq; k++) c->cmds[k] = NULL;
        if (c->n == 0) c->cmds[0] = NULL;
        c->n = seq;
    }
    free(c->cmds[seq]);
    c->cmds[seq] = NULL;
    if (e->exitval == 0 && e->sig == 0) return;
    c->cmds[seq] = par_xrealloc(NULL, e->cmdlen + 1);
    memcpy(c->cmds[seq], e->cmd, e->cmdlen);
    c->cmds[seq][e->cmdlen] = 0;
}

char **par_joblog_load_failed(const char *path, size_t *nseq, long long *valid_len) {
    par_buf b = {0};
    if (slurp(path, &b) < 0) par_die(255, "cannot read joblog '%s': %s", path, strerror(errno));
    failed_ctx c = {NULL, 0};
    *valid_len = (long long)par_joblog_parse(b.p ? b.p : "", b.n, collect_failed, &c);
    par_buf_free(&b);
    *nseq = c.n;
    return c.cmds;
}

void par_joblog_free_failed(char **cmds, size_t nseq) {
    if (!cmds) return;
    for (size_t k = 1; k <= nseq; k++) free(cmds[k]);
    free(cmds);
}

void par_joblog_open(par_joblog *jl, const char *path, int resume, long long valid_len) {
    jl->fd = -1;
    jl->path = path;
    jl->failed = 0;
    if (!path) return;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC);
    jl->fd = open(path, flags, 0666);
    if (jl->fd < 0) par_die(255, "cannot open joblog '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(jl->fd, &st) < 0) par_die(255, "cannot stat joblog '%s': %s", path, strerror(errno));
    if (resume && valid_len >= 0 && st.st_size > valid_len) {
        /* a torn last line: cut it off, or the next line would extend it */
        if (ftruncate(jl->fd, (off_t)valid_len) < 0)
            par_die(255, "cannot truncate the torn last line of joblog '%s': %s", path,
                    strerror(errno));
        st.st_size = valid_len;
    }
    if (!resume || st.st_size == 0) {
        static const char hdr[] =
            "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
        int err = write_raw(jl, hdr, sizeof hdr - 1);
        if (err) par_die(255, "cannot write joblog '%s': %s", path, strerror(err));
    }
}

int par_joblog_write(par_joblog *jl, size_t seq, double t_real, double runtime, size_t received,
                     int exitval, int sig, const char *cmd, size_t cmdlen) {
    if (jl->fd < 0 || jl->failed) return jl->failed ? -1 : 0;
    par_buf l = {0};
    par_joblog_format(&l, seq, t_real, runtime, received, exitval, sig, cmd, cmdlen);
    int err = write_raw(jl, l.p, l.n);
    par_buf_free(&l);
    if (!err) return 0;
    par_warn("cannot write joblog '%s': %s", jl->path, strerror(err));
    jl->failed = 1;
    return -1;
}

void par_joblog_close(par_joblog *jl) {
    if (jl->fd >= 0 && close(jl->fd) < 0)
        par_warn("cannot close joblog '%s': %s", jl->path, strerror(errno));
    jl->fd = -1;
}
