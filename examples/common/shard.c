/* shard.c — see shard.h. */
#include "shard.h"
#include "excommon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vpar_ex_errmsg(char *err, size_t len, const char *fmt, ...) {
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A decimal integer >= 0 filling the whole string (no sign, no spaces). */
static int shard__ulong(const char *s, unsigned long *out) {
    if (!s || *s < '0' || *s > '9') return 0;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

/* Reads an environment variable as an integer; 0 when unset, -1 when set
   but not an integer (Grid Engine's "undefined" counts as unset). */
static int shard__env(vpar_ex_shard_getenv_fn env, const char *name, unsigned long *out) {
    const char *v = env(name);
    if (!v || !*v || strcmp(v, "undefined") == 0) return 0;
    return shard__ulong(v, out) ? 1 : -1;
}

typedef struct shard__array {
    const char *engine, *id_name;
    unsigned long id, first, last, step, count;
    int have_last, have_count;
} shard__array;

static int shard__bad_env(char *err, size_t len, const char *name, vpar_ex_shard_getenv_fn env) {
    return vpar_ex_errmsg(err, len, "--shard auto: %s='%s' is not a non-negative integer", name,
                       env(name));
}

/* Fills *a from Slurm's or Grid Engine's variables. 1 found, 0 none, -1 error. */
static int shard__array_env(vpar_ex_shard_getenv_fn env, shard__array *a, char *err, size_t len) {
    memset(a, 0, sizeof *a);
    a->step = 1;
    int r = shard__env(env, "SLURM_ARRAY_TASK_ID", &a->id);
    if (r < 0) return shard__bad_env(err, len, "SLURM_ARRAY_TASK_ID", env);
    if (r > 0) {
        static const char *names[] = {"SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                                      "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_TASK_COUNT"};
        unsigned long *dst[] = {&a->first, &a->last, &a->step, &a->count};
        int got[4];
        for (int i = 0; i < 4; i++) {
            got[i] = shard__env(env, names[i], dst[i]);
            if (got[i] < 0) return shard__bad_env(err, len, names[i], env);
        }
        if (!got[0]) a->first = 1;
        if (!got[2] || a->step == 0) a->step = 1;
        a->have_last = got[1];
        a->have_count = got[3];
        a->engine = "Slurm";
        a->id_name = "SLURM_ARRAY_TASK_ID";
        return 1;
    }
    r = shard__env(env, "SGE_TASK_ID", &a->id);
    if (r < 0) return shard__bad_env(err, len, "SGE_TASK_ID", env);
    if (r > 0) {
        static const char *names[] = {"SGE_TASK_FIRST", "SGE_TASK_LAST", "SGE_TASK_STEPSIZE"};
        unsigned long *dst[] = {&a->first, &a->last, &a->step};
        int got[3];
        for (int i = 0; i < 3; i++) {
            got[i] = shard__env(env, names[i], dst[i]);
            if (got[i] < 0) return shard__bad_env(err, len, names[i], env);
        }
        if (!got[0]) a->first = 1;
        if (!got[2] || a->step == 0) a->step = 1;
        a->have_last = got[1];
        a->engine = "Grid Engine";
        a->id_name = "SGE_TASK_ID";
        return 1;
    }
    return 0;
}

/* "auto": the task's position in a range array. */
static int shard__auto_range(const shard__array *a, vpar_ex_shard *out, char *err, size_t len) {
    unsigned long n;
    if (a->have_last) {
        if (a->last < a->first)
            return vpar_ex_errmsg(err, len, "--shard auto: %s array range %lu-%lu is empty", a->engine,
                               a->first, a->last);
        n = (a->last - a->first) / a->step + 1;
        if (a->have_count && a->count != n)
            return vpar_ex_errmsg(err, len,
                               "--shard auto: the %s array is not a range (%lu tasks between %lu "
                               "and %lu): use --shard auto/N with N the shard count of the first "
                               "submission",
                               a->engine, a->count, a->first, a->last);
    } else if (a->have_count) {
        n = a->count;
    } else {
        return vpar_ex_errmsg(err, len, "--shard auto: %s gives the task id but not the array size: "
                                     "use --shard auto/N", a->engine);
    }
    if (a->id < a->first || (a->id - a->first) % a->step != 0 || (a->id - a->first) / a->step >= n)
        return vpar_ex_errmsg(err, len, "--shard auto: %s=%lu is not in the array range", a->id_name,
                           a->id);
    out->index = (a->id - a->first) / a->step + 1;
    out->count = n;
    return 0;
}

int vpar_ex_shard_parse(const char *arg, vpar_ex_shard_getenv_fn env, vpar_ex_shard *out, char *err,
                     size_t errlen) {
    if (!arg) arg = "";
    const char *slash = strchr(arg, '/');
    int is_auto = strncmp(arg, "auto", 4) == 0 && (arg[4] == '\0' || arg[4] == '/');
    unsigned long n = 0, i = 0;
    if (slash && !shard__ulong(slash + 1, &n))
        return vpar_ex_errmsg(err, errlen, "--shard '%s': expected I/N, auto or auto/N", arg);
    if (slash && n == 0)
        return vpar_ex_errmsg(err, errlen, "--shard '%s': the shard count must be at least 1", arg);
    if (!is_auto) {
        char head[32];
        size_t hl = slash ? (size_t)(slash - arg) : 0;
        if (!slash || hl == 0 || hl >= sizeof head)
            return vpar_ex_errmsg(err, errlen, "--shard '%s': expected I/N, auto or auto/N", arg);
        memcpy(head, arg, hl);
        head[hl] = '\0';
        if (!shard__ulong(head, &i))
            return vpar_ex_errmsg(err, errlen, "--shard '%s': expected I/N, auto or auto/N", arg);
        if (i < 1 || i > n)
            return vpar_ex_errmsg(err, errlen, "--shard '%s': shard index must be between 1 and %lu",
                               arg, n);
        out->index = i;
        out->count = n;
        return 0;
    }
    shard__array a;
    int r = shard__array_env(env, &a, err, errlen);
    if (r < 0) return -1;
    if (r == 0)
        return vpar_ex_errmsg(err, errlen, "--shard %s: not inside a job array (SLURM_ARRAY_TASK_ID "
                                        "and SGE_TASK_ID are unset or 'undefined')", arg);
    if (!slash) return shard__auto_range(&a, out, err, errlen);
    if (a.id < 1 || a.id > n)
        return vpar_ex_errmsg(err, errlen, "--shard %s: %s=%lu is outside 1..%lu (number the array "
                                        "1-%lu)", arg, a.id_name, a.id, n, n);
    out->index = a.id;
    out->count = n;
    return 0;
}

int vpar_ex_shard_owns(const vpar_ex_shard *s, size_t item) {
    return s->count <= 1 || item % s->count == s->index - 1;
}

unsigned long vpar_ex_shard_of(size_t item, unsigned long count) {
    return count <= 1 ? 1 : (unsigned long)(item % count) + 1;
}

static int shard__cmp(const void *a, const void *b) {
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return (x > y) - (x < y);
}

size_t vpar_ex_array_spec(unsigned long *ids, size_t n, char *buf, size_t len) {
    if (n > 1) qsort(ids, n, sizeof *ids, shard__cmp);
    size_t need = 0;
    if (buf && len) buf[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && (ids[j + 1] == ids[j] || ids[j + 1] == ids[j] + 1)) j++;
        /* distinct values in ids[i..j] */
        size_t distinct = (size_t)(ids[j] - ids[i]) + 1;
        char piece[64];
        int w;
        if (distinct >= 3)
            w = snprintf(piece, sizeof piece, "%s%lu-%lu", need ? "," : "", ids[i], ids[j]);
        else if (distinct == 2)
            w = snprintf(piece, sizeof piece, "%s%lu,%lu", need ? "," : "", ids[i], ids[j]);
        else
            w = snprintf(piece, sizeof piece, "%s%lu", need ? "," : "", ids[i]);
        if (buf && need + (size_t)w < len) memcpy(buf + need, piece, (size_t)w + 1);
        else if (buf && len) buf[need < len ? need : len - 1] = '\0';
        need += (size_t)w;
        i = j + 1;
    }
    return need;
}

uint64_t vpar_ex_fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static void shard__fnv(vpar_ex_confighash *c, const void *p, size_t n) {
    c->h = vpar_ex_fnv1a(c->h, p, n);
}

/* ---- XXH64 (written from xxHash's specification, doc/xxhash_spec.md) ---- */
#define SHARD__P1 0x9E3779B185EBCA87ULL
#define SHARD__P2 0xC2B2AE3D27D4EB4FULL
#define SHARD__P3 0x165667B19E3779F9ULL
#define SHARD__P4 0x85EBCA77C2B2AE63ULL
#define SHARD__P5 0x27D4EB2F165667C5ULL

static inline uint64_t shard__rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* little-endian loads, whatever the host */
static inline uint64_t shard__le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static inline uint32_t shard__le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t shard__round(uint64_t acc, uint64_t lane) {
    return shard__rotl(acc + lane * SHARD__P2, 31) * SHARD__P1;
}

static inline uint64_t shard__merge(uint64_t acc, uint64_t v) {
    return (acc ^ shard__round(0, v)) * SHARD__P1 + SHARD__P4;
}

/* Whole 32-byte stripes of p[0..n): returns how many bytes it consumed. */
static size_t shard__stripes(uint64_t v[4], const unsigned char *p, size_t n) {
    size_t i = 0;
    uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
    for (; i + 32 <= n; i += 32) {
        a = shard__round(a, shard__le64(p + i));
        b = shard__round(b, shard__le64(p + i + 8));
        c = shard__round(c, shard__le64(p + i + 16));
        d = shard__round(d, shard__le64(p + i + 24));
    }
    v[0] = a, v[1] = b, v[2] = c, v[3] = d;
    return i;
}

void vpar_ex_xxh64_init(vpar_ex_xxh64_state *s, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->v[0] = seed + SHARD__P1 + SHARD__P2;
    s->v[1] = seed + SHARD__P2;
    s->v[2] = seed;
    s->v[3] = seed - SHARD__P1;
}

void vpar_ex_xxh64_update(vpar_ex_xxh64_state *s, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    s->total += (uint64_t)n;
    if (s->memsize) { /* finish the stripe begun by the last call */
        size_t take = 32 - s->memsize < n ? 32 - s->memsize : n;
        memcpy(s->mem + s->memsize, p, take);
        s->memsize += (unsigned)take;
        p += take;
        n -= take;
        if (s->memsize < 32) return;
        shard__stripes(s->v, s->mem, 32);
        s->memsize = 0;
    }
    size_t done = shard__stripes(s->v, p, n);
    memcpy(s->mem, p + done, n - done);
    s->memsize = (unsigned)(n - done);
}

uint64_t vpar_ex_xxh64_digest(const vpar_ex_xxh64_state *s) {
    uint64_t h;
    if (s->total >= 32) {
        h = shard__rotl(s->v[0], 1) + shard__rotl(s->v[1], 7) + shard__rotl(s->v[2], 12) +
            shard__rotl(s->v[3], 18);
        for (int k = 0; k < 4; k++) h = shard__merge(h, s->v[k]);
    } else {
        h = s->seed + SHARD__P5;
    }
    h += s->total;
    const unsigned char *p = s->mem;
    size_t n = s->memsize;
    for (; n >= 8; p += 8, n -= 8) h = shard__rotl(h ^ shard__round(0, shard__le64(p)), 27) * SHARD__P1 + SHARD__P4;
    if (n >= 4) {
        h = shard__rotl(h ^ (uint64_t)shard__le32(p) * SHARD__P1, 23) * SHARD__P2 + SHARD__P3;
        p += 4;
        n -= 4;
    }
    for (; n; p++, n--) h = shard__rotl(h ^ (uint64_t)*p * SHARD__P5, 11) * SHARD__P1;
    h ^= h >> 33;
    h *= SHARD__P2;
    h ^= h >> 29;
    h *= SHARD__P3;
    return h ^ (h >> 32);
}

uint64_t vpar_ex_xxh64(const void *p, size_t n, uint64_t seed) {
    vpar_ex_xxh64_state s;
    vpar_ex_xxh64_init(&s, seed);
    vpar_ex_xxh64_update(&s, p, n);
    return vpar_ex_xxh64_digest(&s);
}

int vpar_ex_hash_file(const char *path, uint64_t *size, uint64_t *hash) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    vpar_ex_xxh64_state s;
    vpar_ex_xxh64_init(&s, 0);
    unsigned char buf[1 << 16];
    for (;;) {
        ssize_t r = vpar_ex_read_retry(fd, buf, sizeof buf);
        if (r < 0) return vpar_ex_close_fail(fd);
        if (r == 0) break;
        vpar_ex_xxh64_update(&s, buf, (size_t)r);
    }
    close(fd);
    *size = s.total;
    *hash = vpar_ex_xxh64_digest(&s);
    return 0;
}

void vpar_ex_confighash_init(vpar_ex_confighash *c) { c->h = VPAR_EX_FNV_OFFSET; }

/* A field's prefix: label, its length and the value's length go in too,
   so ("ab","c") and ("a","bc") differ. The value's n bytes follow. */
static void shard__field(vpar_ex_confighash *c, const char *label, uint64_t n) {
    uint64_t ll = strlen(label);
    shard__fnv(c, &ll, sizeof ll);
    shard__fnv(c, label, (size_t)ll);
    shard__fnv(c, &n, sizeof n);
}

void vpar_ex_confighash_bytes(vpar_ex_confighash *c, const char *label, const void *p, size_t n) {
    shard__field(c, label, n);
    shard__fnv(c, p, n);
}

void vpar_ex_confighash_str(vpar_ex_confighash *c, const char *label, const char *s) {
    vpar_ex_confighash_bytes(c, label, s ? s : "", s ? strlen(s) : 0);
}

void vpar_ex_confighash_u64(vpar_ex_confighash *c, const char *label, uint64_t v) {
    vpar_ex_confighash_bytes(c, label, &v, sizeof v);
}

int vpar_ex_confighash_file(vpar_ex_confighash *c, const char *label, const char *path) {
    uint64_t size, h;
    if (vpar_ex_hash_file(path, &size, &h) != 0) return -1;
    vpar_ex_confighash_str(c, "file", label);
    vpar_ex_confighash_u64(c, "size", size);
    vpar_ex_confighash_u64(c, "content", h);
    return 0;
}

int vpar_ex_confighash_input(vpar_ex_confighash *c, const char *label, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0) return vpar_ex_close_fail(fd);
    /* The field "head", the XXH64 of the first MiB (or of the whole file
       when smaller), is hashed as it is read, 64 KiB at a time: no 1 MiB
       buffer to fault in. A file that shrinks meanwhile reads short: an
       error (EAGAIN), like an unreadable one. */
    const uint64_t cap = (uint64_t)1 << 20;
    uint64_t want = sb.st_size < 0 ? 0 : (uint64_t)sb.st_size;
    if (want > cap) want = cap;
    const char *base = strrchr(path, '/');
    vpar_ex_confighash t = *c;
    vpar_ex_confighash_str(&t, "input", label);
    vpar_ex_confighash_str(&t, "name", base ? base + 1 : path);
    vpar_ex_confighash_u64(&t, "size", (uint64_t)sb.st_size);
    vpar_ex_xxh64_state head;
    vpar_ex_xxh64_init(&head, 0);
    unsigned char buf[1 << 16];
    uint64_t got = 0;
    while (got < want) {
        size_t ask = want - got < sizeof buf ? (size_t)(want - got) : sizeof buf;
        ssize_t r = vpar_ex_read_retry(fd, buf, ask);
        if (r < 0) return vpar_ex_close_fail(fd);
        if (r == 0) break;
        vpar_ex_xxh64_update(&head, buf, (size_t)r);
        got += (uint64_t)r;
    }
    close(fd);
    if (got != want) {
        errno = EAGAIN;
        return -1;
    }
    vpar_ex_confighash_u64(&t, "head", vpar_ex_xxh64_digest(&head));
    *c = t;
    return 0;
}

int vpar_ex_exec_sibling(char *const *argv, const char *name, char *path, size_t cap) {
    char self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
        self[k] = '\0';
    } else if (argv[0] && strchr(argv[0], '/') && strlen(argv[0]) < sizeof self) {
        memcpy(self, argv[0], strlen(argv[0]) + 1);
    } else {
        snprintf(path, cap, "%s", name);
        errno = ENOENT;
        return -1;
    }
    char *slash = strrchr(self, '/');
    size_t dir = (size_t)(slash - self);
    if ((size_t)snprintf(path, cap, "%.*s/%s", (int)dir, self, name) >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    execv(path, argv);
    return -1;
}

int vpar_ex_mpi_run_sibling(int wanted, char *const *argv, const char *prog, const char *name) {
    if (!wanted && !vpar_ex_mpi_launched(getenv)) return 0;
    char path[4096];
    vpar_ex_exec_sibling(argv, name, path, sizeof path);
    fprintf(stderr, "%s: %s: cannot run this build's MPI program: %s\n", prog, path, strerror(errno));
    return VPAR_EX_EXIT_USAGE;
}

int vpar_ex_mpi_launched(vpar_ex_shard_getenv_fn env) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = env(vars[i]);
        if (v && *v) return 1;
    }
    return 0;
}

const char *vpar_ex_mpi_local_pml(vpar_ex_shard_getenv_fn env) {
    const char *keep = env("VPAR_MPI_KEEP_TRANSPORTS");
    if (keep && *keep && strcmp(keep, "0") != 0) return NULL;
    static const char *chosen[] = {"OMPI_MCA_pml", "OMPI_MCA_mtl", "OMPI_MCA_btl"};
    for (size_t i = 0; i < sizeof chosen / sizeof *chosen; i++) {
        const char *v = env(chosen[i]);
        if (v && *v) return NULL;
    }
    const char *size = env("OMPI_COMM_WORLD_SIZE"), *local = env("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!size || !local) return NULL;
    char *e1, *e2;
    errno = 0;
    unsigned long long a = strtoull(size, &e1, 10), b = strtoull(local, &e2, 10);
    if (errno || e1 == size || *e1 || e2 == local || *e2 || a == 0 || a != b) return NULL;
    return "ob1";
}

void vpar_ex_mpi_before_init(void) {
    const char *pml = vpar_ex_mpi_local_pml(getenv);
    if (pml) setenv("OMPI_MCA_pml", pml, 0);   /* a choice made meanwhile wins */
}

void vpar_ex_confighash_hex(const vpar_ex_confighash *c, char out[17]) {
    snprintf(out, 17, "%016llx", (unsigned long long)c->h);
}
