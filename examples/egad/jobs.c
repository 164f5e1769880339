/* examples/egad/jobs.c — vpar-egad's bookkeeping around the computation:
   network names, the shard manifest (examples/common/parts.h) that makes
   --resume and --merge work, summary.csv, and the merge itself. */
#include "prog.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void egad_network_name(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", vpar_ex_basename(path));
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

/* The configuration hash: everything that changes a network's CSV. The
   shard, -j, -t and the output directory do not. `quiet`: no message when
   a file cannot be read (the caller computes it again, loudly). */
int egad_config_hash(const options *o, char out[17], int quiet) {
    vpar_ex_confighash h;
    vpar_ex_confighash_init(&h);
    vpar_ex_confighash_str(&h, "program", PROG);
    if (!vpar_egad_cli_hash(&o->egad, quiet ? NULL : PROG, &h)) return 0;
    /* An unreadable network is that network's failure (reported when it
       runs), not the run's: it enters the hash by name. */
    for (int i = 0; i < o->nnet; i++)
        if (vpar_ex_confighash_input(&h, "network", o->networks[i]) != 0)
            vpar_ex_confighash_str(&h, "unreadable network", o->networks[i]);
    vpar_ex_confighash_hex(&h, out);
    return 1;
}

/* The note a finished network leaves in the manifest: what summary.csv
   needs ("ok:<terms>:<mean_auc, 17 digits>:<seconds>"). */
static void egad_note(const net_result *r, char *buf, size_t cap) {
    snprintf(buf, cap, "ok:%d:%.17g:%.3f", r->nterms, r->mean_auc, r->seconds);
}

static int egad_parse_note(const char *note, net_result *r) {
    memset(r, 0, sizeof *r);
    if (!note || strncmp(note, "ok:", 3) != 0) return 0;
    char *end;
    long terms = strtol(note + 3, &end, 10);
    if (*end != ':' || terms < 0 || terms > 1000000000L) return 0;
    const char *m = end + 1;
    r->mean_auc = strtod(m, &end);
    if (end == m || *end != ':') return 0;
    const char *s = end + 1;
    r->seconds = strtod(s, &end);
    if (end == s || *end) return 0;
    r->nterms = (int)terms;
    return 1;
}

/* Removes the temporaries (<final>.tmp.XXXXXX) a killed run of this shard
   left: its networks' CSVs, its manifest, and summary.csv when unsharded.
   Never mistaken for results (only final names count): this tidies up.
   Other shards' files in the same directory are left alone. */
static void egad_remove_stale_temps(const options *o, char *const *names) {
    DIR *d = opendir(o->out);
    if (!d) return;
    char manifest[4096];
    vpar_ex_parts_path(manifest, sizeof manifest, ".", &o->shard);
    const char *mbase = manifest + 2; /* skip "./" */
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || strlen(t) != 11) continue;
        size_t stem = (size_t)(t - e->d_name);
        int ours = (stem == strlen(mbase) && strncmp(e->d_name, mbase, stem) == 0) ||
                   (o->shard.count == 1 && stem == 11 && strncmp(e->d_name, "summary.csv", 11) == 0);
        for (int i = 0; !ours && i < o->nnet; i++) {
            size_t nl = strlen(names[i]);
            ours = vpar_ex_shard_owns(&o->shard, (size_t)i) && stem == nl + 4 &&
                   strncmp(e->d_name, names[i], nl) == 0 && strncmp(e->d_name + nl, ".csv", 4) == 0;
        }
        char path[4096];
        if (ours && vpar_ex_path(path, sizeof path, "%s/%s", o->out, e->d_name)) unlink(path);
    }
    closedir(d);
}

/* --resume: networks this shard's manifest lists as done, whose CSV is
   still the one recorded, are not computed again. */
static int egad_job_resume(egad_job *J, const options *o) {
    vpar_ex_parts own;
    char err[1024];
    int r = vpar_ex_parts_load_own(&own, o->out, &J->parts, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "%s: --resume: %s\n", PROG, err);
        return 0;
    }
    if (r > 0) return 1; /* nothing to resume */
    size_t n = 0;
    for (int i = 0; i < o->nnet; i++) {
        vpar_ex_part_item *it = &own.items[i];
        if (!it->done || !egad_parse_note(it->meta, &J->rs[i])) continue;
        vpar_ex_part_item *dst = &J->parts.items[i];
        dst->file = it->file;
        dst->meta = it->meta;
        it->file = it->meta = NULL;
        dst->size = it->size;
        dst->hash = it->hash;
        dst->done = 1;
        J->resumed[i] = 1;
        n++;
    }
    vpar_ex_parts_free(&own);
    if (n && !o->quiet)
        fprintf(stderr, "%s: resuming: %zu network%s already complete in %s\n", PROG, n,
                n == 1 ? "" : "s", o->out);
    return 1;
}

int egad_job_init(egad_job *J, const options *o, const shared_in *in) {
    memset(J, 0, sizeof *J);
    J->manifest_ok = 1;
    size_t n = (size_t)o->nnet;
    J->names = (char **)calloc(n, sizeof *J->names);
    J->rs = (net_result *)calloc(n, sizeof *J->rs);
    J->crashed = (int *)calloc(n, sizeof *J->crashed);
    J->resumed = (unsigned char *)calloc(n, 1);
    J->recorded = (unsigned char *)calloc(n, 1);
    J->todo = (int *)calloc(n, sizeof *J->todo);
    if (!J->names || !J->rs || !J->crashed || !J->resumed || !J->recorded || !J->todo) goto nomem;
    for (size_t i = 0; i < n; i++) {
        char name[256];
        egad_network_name(o->networks[i], name, sizeof name);
        if (!(J->names[i] = strdup(name))) goto nomem;
    }
    if (in->config_ok) memcpy(J->config, in->config, sizeof J->config);
    else if (!egad_config_hash(o, J->config, 0)) return 0;
    if (vpar_ex_parts_init(&J->parts, PROG, J->config, &o->shard, (const char *const *)J->names, n))
        goto nomem;
    if (o->resume && !egad_job_resume(J, o)) return 0;
    egad_remove_stale_temps(o, J->names);
    for (int i = 0; i < o->nnet; i++)
        if (vpar_ex_shard_owns(&o->shard, (size_t)i) && !J->resumed[i]) J->todo[J->ntodo++] = i;
    /* Written before any computing: an unwritable --out fails now. */
    char err[1024];
    if (vpar_ex_parts_write(&J->parts, o->out, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --out %s: %s\n", PROG, o->out, err);
        return 0;
    }
    return 1;
nomem:
    fputs("vpar-egad: out of memory\n", stderr);
    return 0;
}

void egad_job_free(egad_job *J, const options *o) {
    for (int i = 0; J->names && i < o->nnet; i++) free(J->names[i]);
    free(J->names);
    vpar_ex_parts_free(&J->parts);
    free(J->rs);
    free(J->crashed);
    free(J->resumed);
    free(J->recorded);
    free(J->todo);
}

void egad_report_failure(const char *path, const char *msg) {
    size_t pl = strlen(path);
    /* The library's message names the file already: not twice. */
    if (strncmp(msg, path, pl) == 0 && msg[pl] == ':') fprintf(stderr, "%s: %s\n", PROG, msg);
    else fprintf(stderr, "%s: %s: %s\n", PROG, path, msg);
}

void egad_job_record(egad_job *J, const options *o, int idx, const net_result *r) {
    J->rs[idx] = *r;
    J->recorded[idx] = 1;
    if (r->status != 0 || !J->manifest_ok) return;
    char note[128], file[300], err[1024];
    egad_note(r, note, sizeof note);
    snprintf(file, sizeof file, "%s.csv", J->names[idx]);
    if (vpar_ex_parts_done(&J->parts, o->out, (size_t)idx, file, note, err, sizeof err) != 0) {
        fprintf(stderr, "%s%s: %s\n", vpar_ex_msg_start(), PROG, err);
        J->manifest_ok = 0;
    }
}

int egad_write_summary(const char *out, char *const *names, int n, const net_result *rs,
                       const int *crashed) {
    char path[4096];
    if (!vpar_ex_path(path, sizeof path, "%s/summary.csv", out)) {
        fprintf(stderr, "%s: --out %s: path too long\n", PROG, out);
        return 0;
    }
    vpar_ex_buf b = {0};
    vpar_ex_buf_printf(&b, "network,status,terms,mean_auc,seconds\n");
    for (int i = 0; i < n; i++) {
        const net_result *r = &rs[i];
        const char *status = crashed[i] ? "crashed" : r->status ? "error" : "ok";
        vpar_ex_buf_printf(&b, "%s,%s,%d,", names[i], status, r->nterms);
        vpar_ex_buf_num(&b, r->mean_auc);
        vpar_ex_buf_printf(&b, ",%.3f\n", r->seconds);
    }
    /* One atomic write: never a partial summary. */
    vpar_status st = vpar_ex_buf_write_atomic(path, &b);
    vpar_ex_buf_free(&b);
    if (st != VPAR_OK) {
        fprintf(stderr, "%s: %s\n", PROG, vpar_last_error());
        return 0;
    }
    return 1;
}

int egad_job_finish(egad_job *J, const options *o, int interrupted) {
    int failed = 0, done = 0;
    for (int t = 0; t < J->ntodo; t++) {
        int i = J->todo[t];
        /* Not interrupted, yet no result and no crash: never "ok". */
        if (!interrupted && !J->recorded[i] && !J->crashed[i] && !J->rs[i].status) {
            J->rs[i].status = VPAR_ERR_STATE;
            J->rs[i].mean_auc = NAN;
            snprintf(J->rs[i].message, sizeof J->rs[i].message, "no result came back from its worker");
            egad_report_failure(o->networks[i], J->rs[i].message);
        }
        if (J->crashed[i] || J->rs[i].status) failed++;
        else if (J->recorded[i]) done++;
    }
    int owned = 0, resumed = 0;
    for (int i = 0; i < o->nnet; i++) {
        owned += vpar_ex_shard_owns(&o->shard, (size_t)i);
        resumed += J->resumed[i];
    }
    if (interrupted) {
        /* The workers are gone: a CSV whose writer was killed mid-write
           left its temporary; remove it now, not only at the next run. */
        egad_remove_stale_temps(o, J->names);
        /* summary.csv of the networks finished so far (computed in this
           run, with their status, or resumed); a rerun with --resume
           writes the whole one. Sharded runs never write it (--merge). */
        int wrote = 0;
        if (o->shard.count == 1) {
            char **names = (char **)calloc((size_t)o->nnet, sizeof *names);
            net_result *rs = (net_result *)calloc((size_t)o->nnet, sizeof *rs);
            int *crashed = (int *)calloc((size_t)o->nnet, sizeof *crashed);
            int n = 0;
            for (int i = 0; names && rs && crashed && i < o->nnet; i++) {
                if (!J->resumed[i] && !J->recorded[i]) continue; /* not finished */
                names[n] = J->names[i];
                rs[n] = J->rs[i];
                crashed[n] = J->crashed[i];
                n++;
            }
            if (names && rs && crashed) wrote = egad_write_summary(o->out, names, n, rs, crashed);
            free(names);
            free(rs);
            free(crashed);
        }
        fprintf(stderr, "%s: interrupted: %d of %d networks complete in %s%s; rerun the same "
                        "command with --resume to finish\n", PROG, done + resumed, owned, o->out,
                wrote ? " (listed in summary.csv)" : "");
        return VPAR_EX_EXIT_INTERRUPTED;
    }
    if (o->shard.count > 1) {
        if (!o->quiet)
            fprintf(stderr, "%s: shard %lu/%lu: %d of %d networks complete (%d resumed), %d failed "
                            "in %s; when every shard is done: %s --merge %s\n", PROG, o->shard.index,
                    o->shard.count, done + resumed, owned, resumed, failed, o->out, PROG, o->out);
    } else if (!egad_write_summary(o->out, J->names, o->nnet, J->rs, J->crashed)) {
        return VPAR_EX_EXIT_USAGE;
    } else if (!o->quiet) {
        fprintf(stderr, "%s: %d network%s: %d ok, %d failed, %d resumed; results in %s/\n", PROG,
                o->nnet, o->nnet == 1 ? "" : "s", done + resumed, failed, resumed, o->out);
    }
    return failed || !J->manifest_ok ? 1 : 0;
}

/* --merge DIR: the parts of a sharded run into DIR/summary.csv, exactly as
   one run over all networks writes it. */
int egad_merge(const options *o) {
    vpar_ex_parts m;
    char err[1024];
    int r = vpar_ex_parts_merge(&m, o->merge_dir, PROG, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "%s: --merge %s\n", PROG, err);
        return VPAR_EX_EXIT_USAGE;
    }
    int rc = 0;
    if (r > 0) {
        char spec[4096], list[1024] = "";
        size_t missing = vpar_ex_parts_missing_spec(&m, spec, sizeof spec), shown = 0;
        for (size_t i = 0; i < m.nitems && shown < 8; i++)
            if (!m.items[i].done) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", shown ? ", " : "", m.items[i].name);
                shown++;
            }
        fprintf(stderr, "%s: --merge %s: %zu of %zu networks not done (%s%s); summary.csv not "
                        "written. Resubmit these shards of %lu: --array=%s (same command, "
                        "--shard auto/%lu --resume), then merge again\n", PROG, o->merge_dir,
                missing, m.nitems, list, missing > shown ? ", ..." : "", m.shard.count, spec,
                m.shard.count);
        rc = VPAR_EX_EXIT_INCOMPLETE;
    } else {
        int n = (int)m.nitems;
        net_result *rs = (net_result *)calloc(m.nitems ? m.nitems : 1, sizeof *rs);
        int *crashed = (int *)calloc(m.nitems ? m.nitems : 1, sizeof *crashed);
        char **names = (char **)calloc(m.nitems ? m.nitems : 1, sizeof *names);
        if (!rs || !crashed || !names) {
            fputs("vpar-egad: out of memory\n", stderr);
            rc = 1;
        }
        for (int i = 0; !rc && i < n; i++) {
            names[i] = m.items[i].name;
            if (!egad_parse_note(m.items[i].meta, &rs[i])) {
                fprintf(stderr, "%s: --merge %s: network %s: bad note '%s' in its part\n", PROG,
                        o->merge_dir, names[i], m.items[i].meta ? m.items[i].meta : "");
                rc = VPAR_EX_EXIT_USAGE;
            }
        }
        if (!rc && !egad_write_summary(o->merge_dir, names, n, rs, crashed)) rc = 1;
        if (!rc && !o->quiet)
            fprintf(stderr, "%s: merged %d networks from %lu shards into %s/summary.csv\n", PROG, n,
                    m.shard.count, o->merge_dir);
        free(rs);
        free(crashed);
        free(names);
    }
    vpar_ex_parts_free(&m);
    return rc;
}
