/* examples/common/file.c — whole-file reading with gzip detection, lines,
   packed string arrays (excommon.h). */
#include "excommon.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(VPAR_EX_WITH_ZLIB) && VPAR_EX_WITH_ZLIB
#  include <zlib.h>
#endif

extern char **environ;

int vpar_ex_have_zlib(void) {
#if defined(VPAR_EX_WITH_ZLIB) && VPAR_EX_WITH_ZLIB
    return 1;
#else
    return 0;
#endif
}

static vpar_status vpar__ex_read_fd(const char *path, int fd, vpar_ex_buf *b) {
    for (;;) {
        if (!vpar_ex_buf_reserve(b, 1 << 16))
            return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory reading the file", path);
        ssize_t r = vpar_ex_read_retry(fd, b->p + b->len, b->cap - b->len);
        if (r < 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: read failed", path);
        if (r == 0) return VPAR_OK;
        b->len += (size_t)r;
    }
}

#if defined(VPAR_EX_WITH_ZLIB) && VPAR_EX_WITH_ZLIB
static vpar_status vpar__ex_gunzip(const char *path, vpar_ex_buf *b) {
    gzFile gz = gzopen(path, "rb");
    if (!gz) return vpar_fail_errno(VPAR_ERR_IO, errno ? errno : EIO, "%s: cannot open", path);
    gzbuffer(gz, 1 << 17);
    for (;;) {
        if (!vpar_ex_buf_reserve(b, 1 << 18)) {
            gzclose(gz);
            return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory decompressing", path);
        }
        size_t room = b->cap - b->len;
        if (room > (1u << 30)) room = 1u << 30;
        int r = gzread(gz, b->p + b->len, (unsigned)room);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            vpar_status st = vpar_fail(VPAR_ERR_FORMAT, "%s: corrupt gzip data: %s", path, msg);
            gzclose(gz);
            return st;
        }
        if (r == 0) break;
        b->len += (size_t)r;
    }
    /* gzread returns 0 at a truncated stream too; gzclose reports it. */
    int rc = gzclose(gz);
    if (rc != Z_OK)
        return vpar_fail(VPAR_ERR_FORMAT, "%s: truncated or corrupt gzip data (zlib error %d)", path, rc);
    return VPAR_OK;
}
#else
/* No zlib: `gzip -dc -- path` through a pipe (posix_spawnp, no shell). */
static vpar_status vpar__ex_gunzip(const char *path, vpar_ex_buf *b) {
    int fds[2];
    if (pipe(fds) != 0) return vpar_fail_errno(VPAR_ERR_SYSTEM, errno, "%s: pipe", path);
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        close(fds[0]); close(fds[1]);
        return vpar_fail(VPAR_ERR_SYSTEM, "%s: posix_spawn_file_actions_init failed", path);
    }
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {(char *)"gzip", (char *)"-dc", (char *)"--", (char *)path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gzip", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return vpar_fail_errno(VPAR_ERR_SYSTEM, rc, "%s: cannot run `gzip -dc` (built without zlib)", path);
    }
    vpar_status st = vpar__ex_read_fd(path, fds[0], b);
    close(fds[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR) return vpar_fail_errno(VPAR_ERR_SYSTEM, errno, "%s: waitpid(gzip)", path);
    }
    if (st != VPAR_OK) return st;
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return vpar_fail(VPAR_ERR_FORMAT, "%s: `gzip -dc` failed (corrupt or truncated gzip data)", path);
    return VPAR_OK;
}
#endif

/* 1 when the file starts with the gzip magic 1f 8b. */
static vpar_status vpar__ex_is_gzip(const char *path, int fd, int *gz) {
    unsigned char magic[2] = {0, 0};
    ssize_t r;
    do { r = pread(fd, magic, 2, 0); } while (r < 0 && errno == EINTR);
    if (r < 0) return vpar_fail_errno(VPAR_ERR_IO, errno, "%s: read failed", path);
    *gz = r == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    return VPAR_OK;
}

vpar_status vpar_ex_read_file(const char *path, int flags, vpar_ex_buf *b) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vpar_fail_errno(errno == ENOENT && (flags & VPAR_EX_READ_ENOENT_NOT_FOUND)
                                   ? VPAR_ERR_NOT_FOUND : VPAR_ERR_IO,
                               errno, "%s: cannot open", path);
    size_t start = b->len;
    int gz = 0;
    vpar_status st = (flags & VPAR_EX_READ_GZIP) ? vpar__ex_is_gzip(path, fd, &gz) : VPAR_OK;
    if (st == VPAR_OK && gz) {
        close(fd);
        fd = -1;
        st = vpar__ex_gunzip(path, b);
    } else if (st == VPAR_OK) {
        st = vpar__ex_read_fd(path, fd, b);
    }
    if (fd >= 0) close(fd);
    if (st == VPAR_OK && !vpar_ex_buf_append(b, "", 1)) /* NUL-terminate */
        st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    if (st != VPAR_OK) return st;
    b->len--;
    if ((flags & VPAR_EX_READ_TEXT) && memchr(b->p + start, '\0', b->len - start))
        return vpar_fail(VPAR_ERR_FORMAT, "%s: not a text file (contains NUL bytes)", path);
    return VPAR_OK;
}

/* Splits text[0..len) (NUL-terminated) in place into lines. */
static size_t vpar__ex_split_lines(char *text, size_t len, char **out) {
    size_t li = 0;
    char *p = text, *end = text + len;
    while (p < end) {
        char *nl = (char *)memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        if (stop > p && stop[-1] == '\r') stop[-1] = '\0';
        *stop = '\0';
        out[li++] = p;
        p = stop + 1;
        if (!nl) break;
    }
    out[li] = NULL;
    return li;
}

vpar_status vpar_ex_read_lines(const char *path, int flags, char ***lines, size_t *n,
                               int *ends_nl) {
    *lines = NULL;
    *n = 0;
    vpar_ex_buf text = {0};
    vpar_status st = vpar_ex_read_file(path, flags, &text);
    if (st != VPAR_OK) { vpar_ex_buf_free(&text); return st; }
    size_t len = text.len, count = 0;
    for (size_t i = 0; i < len; i++) count += text.p[i] == '\n';
    if (len > 0 && text.p[len - 1] != '\n') count++;
    if (ends_nl) *ends_nl = len > 0 && text.p[len - 1] == '\n';
    /* One block: count + 1 pointers, then the text. */
    size_t ptr_bytes, total;
    if (!vpar__mul_size(count + 1, sizeof(char *), &ptr_bytes) ||
        !vpar__add_size(ptr_bytes, len + 1, &total)) {
        vpar_ex_buf_free(&text);
        return vpar_fail(VPAR_ERR_OVERFLOW, "%s: too large", path);
    }
    char **block = (char **)VPAR_MALLOC(total);
    if (!block) {
        vpar_ex_buf_free(&text);
        return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    char *copy = (char *)block + ptr_bytes;
    memcpy(copy, text.p, len + 1);
    vpar_ex_buf_free(&text);
    *n = vpar__ex_split_lines(copy, len, block);
    *lines = block;
    return VPAR_OK;
}

char **vpar_ex_strings_copy(const char *const *src, size_t n) {
    size_t bytes;
    if (!vpar__mul_size(n + 1, sizeof(char *), &bytes)) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!vpar__add_size(bytes, strlen(src[i]) + 1, &bytes)) return NULL;
    char **out = (char **)VPAR_MALLOC(bytes);
    if (!out) return NULL;
    char *p = (char *)(out + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(src[i]) + 1;
        memcpy(p, src[i], len);
        out[i] = p;
        p += len;
    }
    out[n] = NULL;
    return out;
}
