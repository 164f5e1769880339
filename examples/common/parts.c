/* parts.c — see parts.h. */
#include "parts.h"

#include "vpar/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void vpar_ex_parts_free(vpar_ex_parts *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nitems && p->items; i++) {
        free(p->items[i].name);
        free(p->items[i].file);
        free(p->items[i].meta);
    }
    free(p->items);
    for (size_t i = 0; i < p->nmeta; i++) free(p->meta[i]);
    free(p->meta);
    memset(p, 0, sizeof *p);
}

/* Names and files go into a line-based format: no whitespace or controls. */
static int parts__token_ok(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f) return 0;
    return 1;
}

int vpar_ex_parts_init(vpar_ex_parts *p, const char *program, const char *config_hex,
                    const vpar_ex_shard *s, const char *const *names, size_t nitems) {
    memset(p, 0, sizeof *p);
    snprintf(p->program, sizeof p->program, "%s", program);
    snprintf(p->config, sizeof p->config, "%s", config_hex);
    p->shard = *s;
    p->items = (vpar_ex_part_item *)calloc(nitems ? nitems : 1, sizeof *p->items);
    if (!p->items) return -1;
    p->nitems = nitems;
    for (size_t i = 0; i < nitems; i++) {
        p->items[i].name = strdup(names[i]);
        p->items[i].shard = vpar_ex_shard_of(i, s->count);
        if (!p->items[i].name) {
            vpar_ex_parts_free(p);
            return -1;
        }
    }
    return 0;
}

int vpar_ex_parts_add_meta(vpar_ex_parts *p, const char *token) {
    if (!parts__token_ok(token)) return -1;
    char **nm = (char **)realloc(p->meta, (p->nmeta + 1) * sizeof *nm);
    if (!nm) return -1;
    p->meta = nm;
    if (!(nm[p->nmeta] = strdup(token))) return -1;
    p->nmeta++;
    return 0;
}

int vpar_ex_parts_path(char *buf, size_t len, const char *dir, const vpar_ex_shard *s) {
    return snprintf(buf, len, "%s/vpar-part-%lu-of-%lu.txt", dir, s->index, s->count);
}

/* The manifest's text, in a malloc'ed buffer. */
static char *parts__format(const vpar_ex_parts *p, size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) return NULL;
    fprintf(f, "vpar-part 1\nprogram %s\nconfig %s\nshard %lu %lu\nitems %zu\n", p->program,
            p->config, p->shard.index, p->shard.count, p->nitems);
    for (size_t i = 0; i < p->nitems; i++) fprintf(f, "item %zu %s\n", i, p->items[i].name);
    for (size_t i = 0; i < p->nmeta; i++) fprintf(f, "meta %s\n", p->meta[i]);
    for (size_t i = 0; i < p->nitems; i++) {
        const vpar_ex_part_item *it = &p->items[i];
        if (!it->done) continue;
        fprintf(f, "done %zu %s %" PRIu64 " %016" PRIx64 "%s%s\n", i, it->file, it->size,
                it->hash, it->meta ? " " : "", it->meta ? it->meta : "");
    }
    fputs("end\n", f);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return NULL;
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int vpar_ex_parts_write(const vpar_ex_parts *p, const char *dir, char *err, size_t errlen) {
    char path[4096];
    if (vpar_ex_parts_path(path, sizeof path, dir, &p->shard) >= (int)sizeof path)
        return vpar_ex_errmsg(err, errlen, "%s: path too long", dir);
    size_t len = 0;
    char *text = parts__format(p, &len);
    if (!text) return vpar_ex_errmsg(err, errlen, "%s: out of memory", path);
    vpar_status st = vpar_write_file_atomic(path, (const void *const[]){text}, &len, 1);
    free(text);
    if (st != VPAR_OK) return vpar_ex_errmsg(err, errlen, "%s", vpar_last_error());
    return 0;
}

int vpar_ex_parts_done(vpar_ex_parts *p, const char *dir, size_t item, const char *file,
                       const char *meta, char *err, size_t errlen) {
    if (item >= p->nitems) return vpar_ex_errmsg(err, errlen, "%s: item %zu out of range", dir, item);
    if (!parts__token_ok(file) || (meta && !parts__token_ok(meta)))
        return vpar_ex_errmsg(err, errlen, "%s: output name '%s' or note '%s' has spaces or "
                              "control characters", dir, file, meta ? meta : "");
    vpar_ex_part_item *it = &p->items[item];
    it->size = 0;
    it->hash = 0;
    if (strcmp(file, "-") != 0) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
            return vpar_ex_errmsg(err, errlen, "%s/%s: path too long", dir, file);
        if (vpar_ex_hash_file(path, &it->size, &it->hash) != 0)
            return vpar_ex_errmsg(err, errlen, "%s: cannot read it back: %s", path, strerror(errno));
    }
    char *f = strdup(file), *m = meta ? strdup(meta) : NULL;
    if (!f || (meta && !m)) {
        free(f);
        free(m);
        return vpar_ex_errmsg(err, errlen, "%s/%s: out of memory", dir, file);
    }
    free(it->file);
    free(it->meta);
    it->file = f;
    it->meta = m;
    it->done = 1;
    return vpar_ex_parts_write(p, dir, err, errlen);
}

/* ---- parsing ---------------------------------------------------------- */

typedef struct parts__cursor {
    const char *s, *end, *name;
    size_t line;
    char buf[4096];
} parts__cursor;

/* Next line into c->buf (without the newline); 0 at the end of the text. A
   last line without '\n' is returned too (the caller's `end` check catches
   a torn file). */
static int parts__line(parts__cursor *c) {
    if (c->s >= c->end) return 0;
    const char *nl = memchr(c->s, '\n', (size_t)(c->end - c->s));
    size_t n = nl ? (size_t)(nl - c->s) : (size_t)(c->end - c->s);
    if (n >= sizeof c->buf) n = sizeof c->buf - 1; /* over-long: truncated, then rejected */
    memcpy(c->buf, c->s, n);
    c->buf[n] = '\0';
    if (memchr(c->buf, '\0', n)) c->buf[0] = '\x01'; /* NUL inside: make it invalid */
    c->s = nl ? nl + 1 : c->end;
    c->line++;
    return 1;
}

static int parts__bad(parts__cursor *c, char *err, size_t len, const char *what) {
    return vpar_ex_errmsg(err, len, "%s:%zu: %s", c->name, c->line, what);
}

/* Parses "<key> <value>" header lines in a fixed order. */
static int parts__header(vpar_ex_parts *p, parts__cursor *c, char *err, size_t len) {
    char word[64], extra[2];
    if (!parts__line(c) || strcmp(c->buf, "vpar-part 1") != 0)
        return parts__bad(c, err, len, "not a vpar part manifest (expected 'vpar-part 1')");
    if (!parts__line(c) || sscanf(c->buf, "program %63s %1s", word, extra) != 1)
        return parts__bad(c, err, len, "expected 'program NAME'");
    snprintf(p->program, sizeof p->program, "%s", word);
    if (!parts__line(c) || sscanf(c->buf, "config %16[0-9a-f] %1s", p->config, extra) != 1 ||
        strlen(p->config) != 16)
        return parts__bad(c, err, len, "expected 'config' and 16 hex digits");
    unsigned long i, n;
    if (!parts__line(c) || sscanf(c->buf, "shard %lu %lu %1s", &i, &n, extra) != 2 || n < 1 ||
        i < 1 || i > n)
        return parts__bad(c, err, len, "expected 'shard I N' with 1 <= I <= N");
    p->shard.index = i;
    p->shard.count = n;
    size_t items;
    if (!parts__line(c) || sscanf(c->buf, "items %zu %1s", &items, extra) != 1 ||
        items > (1u << 24))
        return parts__bad(c, err, len, "expected 'items N' (N < 16777216)");
    p->items = (vpar_ex_part_item *)calloc(items ? items : 1, sizeof *p->items);
    if (!p->items) return parts__bad(c, err, len, "out of memory");
    p->nitems = items;
    return 0;
}

static int parts__items(vpar_ex_parts *p, parts__cursor *c, char *err, size_t len) {
    for (size_t k = 0; k < p->nitems; k++) {
        size_t idx;
        int off = -1;
        if (!parts__line(c) || sscanf(c->buf, "item %zu %n", &idx, &off) != 1 || off < 0 ||
            idx != k || !parts__token_ok(c->buf + off))
            return parts__bad(c, err, len, "expected 'item INDEX NAME' in index order");
        p->items[k].name = strdup(c->buf + off);
        if (!p->items[k].name) return parts__bad(c, err, len, "out of memory");
        p->items[k].shard = vpar_ex_shard_of(k, p->shard.count);
    }
    return 0;
}

static int parts__done_lines(vpar_ex_parts *p, parts__cursor *c, char *err, size_t len) {
    int in_meta = 1;
    for (;;) {
        if (!parts__line(c)) return parts__bad(c, err, len, "torn manifest: no 'end' line");
        if (strcmp(c->buf, "end") == 0) break;
        if (strncmp(c->buf, "meta ", 5) == 0) {
            if (!in_meta || vpar_ex_parts_add_meta(p, c->buf + 5) != 0)
                return parts__bad(c, err, len, "bad 'meta' line (one token, before 'done' lines)");
            continue;
        }
        in_meta = 0;
        size_t idx;
        char file[1024], meta[2048], extra[2];
        uint64_t size, hash;
        int nf = sscanf(c->buf, "done %zu %1023s %" SCNu64 " %" SCNx64 " %2047s %1s", &idx, file,
                        &size, &hash, meta, extra);
        if ((nf != 4 && nf != 5) || idx >= p->nitems)
            return parts__bad(c, err, len, "expected 'done INDEX FILE SIZE HASH [NOTE]'");
        if (p->items[idx].done) return parts__bad(c, err, len, "item listed done twice");
        if (vpar_ex_shard_of(idx, p->shard.count) != p->shard.index)
            return parts__bad(c, err, len, "item done by a shard that does not own it");
        p->items[idx].file = strdup(file);
        if (nf == 5) p->items[idx].meta = strdup(meta);
        if (!p->items[idx].file || (nf == 5 && !p->items[idx].meta))
            return parts__bad(c, err, len, "out of memory");
        p->items[idx].size = size;
        p->items[idx].hash = hash;
        p->items[idx].done = 1;
    }
    if (c->s != c->end) return parts__bad(c, err, len, "text after 'end'");
    return 0;
}

int vpar_ex_parts_parse(vpar_ex_parts *p, const char *text, size_t len, const char *name, char *err,
                     size_t errlen) {
    memset(p, 0, sizeof *p);
    parts__cursor c = {text, text + len, name, 0, {0}};
    if (parts__header(p, &c, err, errlen) || parts__items(p, &c, err, errlen) ||
        parts__done_lines(p, &c, err, errlen)) {
        vpar_ex_parts_free(p);
        return -1;
    }
    return 0;
}

/* Reads a whole (small) file. */
static char *parts__slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (64u << 20)) { errno = EFBIG; break; }
            char *nb = (char *)realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) break;
            fclose(f);
            *len = n;
            return buf;
        }
    }
    int e = errno;
    fclose(f);
    free(buf);
    errno = e ? e : ENOMEM;
    return NULL;
}

static int parts__read_file(vpar_ex_parts *p, const char *path, char *err, size_t errlen) {
    size_t len = 0;
    char *text = parts__slurp(path, &len);
    if (!text) return vpar_ex_errmsg(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    int r = vpar_ex_parts_parse(p, text, len, path, err, errlen);
    free(text);
    return r;
}

/* Clears done on items whose file no longer matches. Returns how many. */
static size_t parts__verify(vpar_ex_parts *p, const char *dir) {
    size_t bad = 0;
    for (size_t i = 0; i < p->nitems; i++) {
        vpar_ex_part_item *it = &p->items[i];
        if (!it->done || strcmp(it->file, "-") == 0) continue;
        char path[4096];
        uint64_t size, hash;
        if (snprintf(path, sizeof path, "%s/%s", dir, it->file) >= (int)sizeof path ||
            vpar_ex_hash_file(path, &size, &hash) != 0 || size != it->size ||
            hash != it->hash) {
            it->done = 0;
            bad++;
        }
    }
    return bad;
}

static int parts__same_job(const vpar_ex_parts *a, const vpar_ex_parts *b) {
    if (strcmp(a->program, b->program) || strcmp(a->config, b->config) ||
        a->nitems != b->nitems || a->shard.count != b->shard.count)
        return 0;
    for (size_t i = 0; i < a->nitems; i++)
        if (strcmp(a->items[i].name, b->items[i].name)) return 0;
    if (a->nmeta != b->nmeta) return 0;
    for (size_t i = 0; i < a->nmeta; i++)
        if (strcmp(a->meta[i], b->meta[i])) return 0;
    return 1;
}

int vpar_ex_parts_load_own(vpar_ex_parts *p, const char *dir, const vpar_ex_parts *expect, char *err,
                        size_t errlen) {
    char path[4096];
    vpar_ex_parts_path(path, sizeof path, dir, &expect->shard);
    if (access(path, F_OK) != 0 && errno == ENOENT) return 1;
    if (parts__read_file(p, path, err, errlen) != 0) return -1;
    if (!parts__same_job(p, expect) || p->shard.index != expect->shard.index) {
        vpar_ex_parts_free(p);
        return vpar_ex_errmsg(err, errlen, "%s: made with other inputs or options (config %s, "
                                        "this run %s): use another --out or remove it",
                           path, p->config, expect->config);
    }
    parts__verify(p, dir);
    return 0;
}

static int parts__is_manifest_name(const char *n) {
    unsigned long i, c;
    int end = -1;
    return sscanf(n, "vpar-part-%lu-of-%lu.txt%n", &i, &c, &end) == 2 && end > 0 &&
           n[end] == '\0';
}

static int parts__name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted manifest file names in dir (so messages are reproducible). */
static char **parts__list(const char *dir, size_t *n, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) {
        vpar_ex_errmsg(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!parts__is_manifest_name(e->d_name)) continue;
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = (char **)realloc(names, cap * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        if (!(names[cnt] = strdup(e->d_name))) break;
        cnt++;
    }
    closedir(d);
    if (cnt) qsort(names, cnt, sizeof *names, parts__name_cmp);
    *n = cnt;
    if (!names) names = (char **)calloc(1, sizeof *names);
    return names;
}

static int parts__absorb(vpar_ex_parts *out, vpar_ex_parts *part, const char *path, char *const *owner,
                         char **owner_of, char *err, size_t errlen) {
    if (!parts__same_job(out, part))
        return vpar_ex_errmsg(err, errlen, "%s: made with other inputs, options or shard count than "
                                        "%s (config %s vs %s): a mismatch, refusing to merge",
                           path, owner[0], part->config, out->config);
    for (size_t i = 0; i < part->nitems; i++) {
        if (!part->items[i].done) continue;
        if (owner_of[i])
            return vpar_ex_errmsg(err, errlen, "%s and %s both list item %s done: duplicate parts",
                               owner_of[i], path, part->items[i].name);
        owner_of[i] = (char *)path;
        vpar_ex_part_item *dst = &out->items[i];
        free(dst->file);
        dst->file = part->items[i].file;
        part->items[i].file = NULL;
        free(dst->meta);
        dst->meta = part->items[i].meta;
        part->items[i].meta = NULL;
        dst->size = part->items[i].size;
        dst->hash = part->items[i].hash;
        dst->done = 1;
    }
    return 0;
}

int vpar_ex_parts_merge(vpar_ex_parts *out, const char *dir, const char *program, char *err,
                     size_t errlen) {
    memset(out, 0, sizeof *out);
    size_t n = 0;
    char **names = parts__list(dir, &n, err, errlen);
    if (!names) return -1;
    int rc = -1;
    char **paths = (char **)calloc(n ? n : 1, sizeof *paths);
    char **owner_of = NULL;
    if (!paths) { vpar_ex_errmsg(err, errlen, "%s: out of memory", dir); goto out; }
    if (n == 0) {
        vpar_ex_errmsg(err, errlen, "%s: no vpar-part-*-of-*.txt manifests: nothing to merge "
                                 "(were the shards run with --out %s?)", dir, dir);
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        size_t need = strlen(dir) + strlen(names[k]) + 2;
        if (!(paths[k] = (char *)malloc(need))) { vpar_ex_errmsg(err, errlen, "out of memory"); goto out; }
        snprintf(paths[k], need, "%s/%s", dir, names[k]);
        vpar_ex_parts part;
        if (parts__read_file(&part, paths[k], err, errlen) != 0) goto out;
        unsigned long fi = 0, fc = 0;
        sscanf(names[k], "vpar-part-%lu-of-%lu.txt", &fi, &fc);
        if (fi != part.shard.index || fc != part.shard.count) {
            vpar_ex_errmsg(err, errlen, "%s: the file says shard %lu of %lu: renamed or copied part",
                        paths[k], part.shard.index, part.shard.count);
            vpar_ex_parts_free(&part);
            goto out;
        }
        if (strcmp(part.program, program) != 0) {
            vpar_ex_errmsg(err, errlen, "%s: a part of %s, not %s", paths[k], part.program, program);
            vpar_ex_parts_free(&part);
            goto out;
        }
        if (k == 0) {
            *out = part;
            owner_of = (char **)calloc(out->nitems ? out->nitems : 1, sizeof *owner_of);
            if (!owner_of) { vpar_ex_errmsg(err, errlen, "out of memory"); goto out; }
            for (size_t i = 0; i < out->nitems; i++)
                if (out->items[i].done) owner_of[i] = paths[0];
            continue;
        }
        int r = parts__absorb(out, &part, paths[k], paths, owner_of, err, errlen);
        vpar_ex_parts_free(&part);
        if (r) goto out;
    }
    out->shard.index = 0; /* a merge is no shard */
    parts__verify(out, dir);
    rc = 0;
    for (size_t i = 0; i < out->nitems; i++)
        if (!out->items[i].done) rc = 1;
out:
    if (rc < 0) vpar_ex_parts_free(out);
    for (size_t k = 0; k < n; k++) {
        free(names[k]);
        if (paths) free(paths[k]);
    }
    free(names);
    free(paths);
    free(owner_of);
    return rc;
}

size_t vpar_ex_parts_missing_spec(const vpar_ex_parts *p, char *buf, size_t len) {
    size_t missing = 0;
    unsigned long *ids = (unsigned long *)calloc(p->nitems ? p->nitems : 1, sizeof *ids);
    for (size_t i = 0; i < p->nitems; i++)
        if (!p->items[i].done) {
            if (ids) ids[missing] = vpar_ex_shard_of(i, p->shard.count);
            missing++;
        }
    if (ids) vpar_ex_array_spec(ids, missing, buf, len);
    else if (len) buf[0] = '\0';
    free(ids);
    return missing;
}
