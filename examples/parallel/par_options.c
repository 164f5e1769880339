/* vpar-parallel: option parsing (see par_options.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "par_util.h"
#include "vpar/common.h"

static void usage(FILE *f) {
    fputs(
        "Usage: " PAR_PROG " [options] [command [args]] [::: args | :::: files ...]\n"
        "       ... | " PAR_PROG " [options] [command [args]]\n"
        "Runs command once per argument, several at a time (GNU parallel compatible).\n"
        "\n"
        "Input:\n"
        "  ::: a b c          arguments from the command line (one input source)\n"
        "  :::: file          arguments from a file, one per line ('-' = stdin)\n"
        "  :::+ / ::::+       link this source to the previous one (no combinations)\n"
        "  -a, --arg-file F   like :::: F\n"
        "  --link, --xapply   link all sources; shorter ones are recycled\n"
        "  -N n               n arguments per job (-N0: one input, no argument)\n"
        "  -C, --colsep RE    split each input into columns {1} {2} ... (POSIX ERE)\n"
        "  -0, --null         arguments are separated by NUL; -d C: by character C\n"
        "  -r                 skip empty input lines\n"
        "  --retry-failed     rerun the failed jobs of --joblog FILE (its commands)\n"
        "Replacement strings:\n"
        "  {}  {.}  {/}  {//}  {/.}  {#} (job number)  {%} (job slot)\n"
        "  {n} {n.} {n/} {n//} {n/.}  n-th argument (negative: from the end)\n"
        "  Without any replacement string, {} is appended to the command.\n"
        "  -I STR             use STR instead of {}\n"
        "  {= perl =} expressions are not supported (rejected with exit 255).\n"
        "Running:\n"
        "  -j, --jobs N|N%|+N|-N|0   jobs at a time (default: number of CPUs; 0: many)\n"
        "  --dry-run          print the commands instead of running them (--dryrun)\n"
        "  -k, --keep-order   print output in input order\n"
        "  --tag              prefix each output line with the arguments and a TAB\n"
        "  --tagstring STR    prefix each output line with STR (replacement strings\n"
        "                     allowed, not quoted) and a TAB\n"
        "  --line-buffer      print whole lines as soon as they arrive (--lb, --linebuffer)\n"
        "  -u, --ungroup      do not capture output (fastest, lines may mix)\n"
        "  -q, --quote        quote the command (run it without shell expansion)\n"
        "  --timeout T        kill a job after T (s, m, h suffixes) or T% of the\n"
        "                     median runtime of the successful jobs so far\n"
        "  --retries N        run a failing job up to N times\n"
        "  --delay T          wait T (s, m, h suffixes) between starting jobs\n"
        "  --nice N           run the jobs at niceness N\n"
        "  --halt WHEN,WHY=N  now|soon, fail|success|done = N or N%\n"
        "  --joblog FILE      log each job (GNU format); --resume, --resume-failed\n"
        "  --bar, --eta, --progress   progress on stderr\n"
        "Shell: $PARALLEL_SHELL, else the shell vpar-parallel was started from\n"
        "  (bash, dash, zsh, ksh ...), else $SHELL, else /bin/sh.\n"
        "  --will-cite        accepted and ignored\n"
        "  -h, --help         this help;  -V, --version  the version\n"
        "\n"
        "Exit status: 0 all jobs succeeded; 1-100 that many jobs failed; 101 more\n"
        "than 100 failed; 255 other error (bad usage, interrupted). With --halt\n"
        "fail=1 the status of the failing job.\n",
        f);
}

int par_options_jobs(const char *s) {
    int cpus = par_cpu_count();
    int limit = par_fd_job_limit();
    long v;
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '%') {
        char tmp[64];
        if (len >= sizeof tmp) goto bad;
        memcpy(tmp, s, len - 1);
        tmp[len - 1] = 0;
        char *end;
        errno = 0;
        double pct = strtod(tmp, &end);
        if (errno || end == tmp || *end || !(pct >= 0)) goto bad;
        v = (long)floor(cpus * pct / 100.0);
        return v < 1 ? 1 : (v > limit ? limit : (int)v);
    }
    if (!par_parse_long(s, &v)) goto bad;
    if (s[0] == '+' || (s[0] == '-' && v != 0)) v = cpus + v;
    else if (v < 0) goto bad;
    if (v == 0) return limit;
    if (v < 1) v = 1;
    return v > limit ? limit : (int)v;
bad:
    par_die(255, "-j: '%s' is not a number of jobs (use N, N%%, +N, -N or 0)", s);
}

/* GNU's multiply_time_units: "90", "1.5", "2m", "1h30m", "1d". */
static double parse_time_units(const char *s, const char *opt) {
    double total = 0;
    const char *p = s;
    if (!*p) goto bad;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (errno || end == p || !(v >= 0)) goto bad;
        p = end;
        double mult = 1;
        switch (*p) {
        case 's': case 'S': mult = 1; p++; break;
        case 'm': case 'M': mult = 60; p++; break;
        case 'h': case 'H': mult = 3600; p++; break;
        case 'd': case 'D': mult = 86400; p++; break;
        case 0: break;
        default: goto bad;
        }
        total += v * mult;
    }
    return total;
bad:
    par_die(255, "%s: '%s' is not a duration (seconds, or with s/m/h/d suffixes)", opt, s);
}

static void parse_timeout(par_options *o, const char *s) {
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '%') {
        char tmp[64];
        if (len >= sizeof tmp) par_die(255, "--timeout: '%s' is too long", s);
        memcpy(tmp, s, len - 1);
        tmp[len - 1] = 0;
        char *end;
        errno = 0;
        double v = strtod(tmp, &end);
        if (errno || end == tmp || *end || !(v > 0))
            par_die(255, "--timeout: '%s' is not a positive percentage", s);
        o->timeout_pct = v / 100.0;
        o->timeout_s = 0;
    } else {
        o->timeout_s = parse_time_units(s, "--timeout");
        o->timeout_pct = 0;
        if (!(o->timeout_s > 0)) par_die(255, "--timeout: '%s' must be more than 0", s);
    }
}

/* GNU's numeric --halt shorthands and "N%" (= soon,fail=N%). */
static void halt_spec(const char *s, char *spec, size_t cap) {
    if (!strcmp(s, "0")) s = "never";
    else if (!strcmp(s, "1")) s = "soon,fail=1";
    else if (!strcmp(s, "2")) s = "now,fail=1";
    else if (!strcmp(s, "-1")) s = "soon,success=1";
    else if (!strcmp(s, "-2")) s = "now,success=1";
    if (strlen(s) >= cap - 16) par_die(255, "--halt: '%s' is too long", s);
    size_t len = strlen(s);
    int allpct = len > 1 && s[len - 1] == '%';
    for (size_t i = 0; allpct && i + 1 < len; i++)
        if (!isdigit((unsigned char)s[i])) allpct = 0;
    if (allpct) snprintf(spec, cap, "soon,fail=%s", s);
    else snprintf(spec, cap, "%s", s);
}

/* GNU's parse_halt, with its error messages. */
static void parse_halt(par_options *o, const char *s) {
    char spec[128];
    halt_spec(s, spec, sizeof spec);
    char *when = spec, *why = NULL, *val = NULL;
    char *c = strpbrk(when, ",=");
    if (c) {
        *c = 0;
        why = c + 1;
        c = strpbrk(why, ",=");
        if (c) {
            *c = 0;
            val = c + 1;
        }
    }
    if (!strcmp(when, "never")) o->halt_when = PAR_HALT_NEVER;
    else if (!strcmp(when, "soon")) o->halt_when = PAR_HALT_SOON;
    else if (!strcmp(when, "now")) o->halt_when = PAR_HALT_NOW;
    else par_die(255, "--halt must have 'never', 'soon', or 'now' (got '%s')", s);
    if (o->halt_when == PAR_HALT_NEVER) return;
    if (why && !strcmp(why, "fail")) o->halt_why = PAR_WHY_FAIL;
    else if (why && !strcmp(why, "success")) o->halt_why = PAR_WHY_SUCCESS;
    else if (why && !strcmp(why, "done")) o->halt_why = PAR_WHY_DONE;
    else par_die(255, "--halt %s must be followed by ,success or ,fail or ,done (got '%s')", when, s);
    size_t vl = val ? strlen(val) : 0;
    int digits = vl > 0;
    for (size_t i = 0; i < vl; i++)
        if (!isdigit((unsigned char)val[i]) && !(i == vl - 1 && val[i] == '%' && i > 0)) digits = 0;
    if (!digits)
        par_die(255, "--halt %s,%s must be followed by =number or =percent%% (got '%s')", when, why, s);
    if (val[vl - 1] == '%') {
        o->halt_pct = atof(val) / 100.0;
        o->halt_count = 0;
    } else {
        o->halt_count = atof(val);
        o->halt_pct = 0;
    }
}

/* Backslash escapes as GNU accepts them for -d and --colsep. */
static char unescape_char(const char *s, const char *opt) {
    if (s[0] == '\\' && s[1] && !s[2]) {
        switch (s[1]) {
        case 'n': return '\n';
        case 't': return '\t';
        case '0': return '\0';
        case 'r': return '\r';
        case '\\': return '\\';
        default: break;
        }
    }
    if (s[0] && !s[1]) return s[0];
    par_die(255, "%s: '%s' must be a single character (or \\n, \\t, \\0)", opt, s);
}

enum {
    OPT_JOBS = 1, OPT_KEEP, OPT_DRY, OPT_TAG, OPT_LB, OPT_UNGROUP, OPT_GROUP, OPT_MAXARGS,
    OPT_COLSEP, OPT_LINK, OPT_ARGFILE, OPT_NULL, OPT_DELIM, OPT_NOEMPTY, OPT_QUOTE,
    OPT_TIMEOUT, OPT_JOBLOG, OPT_RESUME, OPT_RESUME_FAILED, OPT_RETRIES, OPT_HALT, OPT_BAR,
    OPT_ETA, OPT_IGNORE, OPT_HELP, OPT_VERSION, OPT_REPLACE, OPT_TAGSTRING, OPT_DELAY,
    OPT_RETRY_FAILED, OPT_PROGRESS, OPT_NICE, OPT_NO_KEEP
};

typedef struct optdef {
    const char *lng;
    char shrt;
    int arg;
    int id;
} optdef;

static const optdef opts[] = {
    {"jobs", 'j', 1, OPT_JOBS}, {"max-procs", 'P', 1, OPT_JOBS},
    {"keep-order", 'k', 0, OPT_KEEP}, {"dry-run", 0, 0, OPT_DRY}, {"tag", 0, 0, OPT_TAG},
    {"line-buffer", 0, 0, OPT_LB}, {"lb", 0, 0, OPT_LB}, {"ungroup", 'u', 0, OPT_UNGROUP},
    {"group", 'g', 0, OPT_GROUP}, {"max-args", 'N', 1, OPT_MAXARGS}, {NULL, 'n', 1, OPT_MAXARGS},
    {"colsep", 'C', 1, OPT_COLSEP}, {"link", 0, 0, OPT_LINK}, {"xapply", 0, 0, OPT_LINK},
    {"arg-file", 'a', 1, OPT_ARGFILE}, {"null", '0', 0, OPT_NULL},
    {"delimiter", 'd', 1, OPT_DELIM}, {"no-run-if-empty", 'r', 0, OPT_NOEMPTY},
    {"quote", 'q', 0, OPT_QUOTE}, {"timeout", 0, 1, OPT_TIMEOUT}, {"joblog", 0, 1, OPT_JOBLOG},
    {"resume", 0, 0, OPT_RESUME}, {"resume-failed", 0, 0, OPT_RESUME_FAILED},
    {"retries", 0, 1, OPT_RETRIES}, {"halt", 0, 1, OPT_HALT}, {"halt-on-error", 0, 1, OPT_HALT},
    {"bar", 0, 0, OPT_BAR}, {"eta", 0, 0, OPT_ETA}, {"will-cite", 0, 0, OPT_IGNORE},
    {"no-notice", 0, 0, OPT_IGNORE}, {"help", 'h', 0, OPT_HELP}, {"version", 'V', 0, OPT_VERSION},
    /* GNU's aliases and the cheap options */
    {"dryrun", 0, 0, OPT_DRY}, {"linebuffer", 0, 0, OPT_LB}, {"line-buffered", 0, 0, OPT_LB},
    {NULL, 'I', 1, OPT_REPLACE}, {"tagstring", 0, 1, OPT_TAGSTRING}, {"tag-string", 0, 1, OPT_TAGSTRING},
    {"delay", 0, 1, OPT_DELAY}, {"retry-failed", 0, 0, OPT_RETRY_FAILED},
    {"progress", 0, 0, OPT_PROGRESS}, {"nice", 0, 1, OPT_NICE}, {"jl", 0, 1, OPT_JOBLOG},
    {"no-keep-order", 0, 0, OPT_NO_KEEP},
    {NULL, 0, 0, 0}};

int par_is_separator(const char *a) {
    return !strcmp(a, ":::") || !strcmp(a, "::::") || !strcmp(a, ":::+") || !strcmp(a, "::::+");
}

static void apply_opt(par_options *o, const optdef *d, const char *val, const char *name) {
    long v;
    switch (d->id) {
    case OPT_JOBS: o->jobs_arg = val; break;
    case OPT_KEEP: o->keep = 1; break;
    case OPT_NO_KEEP: o->keep = 0; break;
    case OPT_DRY: o->dry_run = 1; break;
    case OPT_TAG: o->tag = 1; break;
    case OPT_LB: o->line_buffer = 1; break;
    case OPT_UNGROUP: o->ungroup = 1; break;
    case OPT_GROUP: break;
    case OPT_MAXARGS:
        if (!par_parse_long(val, &v) || v < 0) par_die(255, "%s: '%s' is not a number >= 0", name, val);
        o->max_args = v;
        break;
    case OPT_COLSEP: o->colsep = val; break;
    case OPT_LINK: o->link = 1; break;
    case OPT_ARGFILE:
        o->argfiles = par_xrealloc(o->argfiles, (o->nargfiles + 1) * sizeof *o->argfiles);
        o->argfiles[o->nargfiles++] = val;
        break;
    case OPT_NULL: o->delim = 0; break;
    case OPT_DELIM: o->delim = unescape_char(val, name); break;
    case OPT_NOEMPTY: o->no_run_if_empty = 1; break;
    case OPT_QUOTE: o->quote = 1; break;
    case OPT_TIMEOUT: parse_timeout(o, val); break;
    case OPT_JOBLOG: o->joblog = val; break;
    case OPT_RESUME: o->resume = 1; break;
    case OPT_RESUME_FAILED: o->resume_failed = 1; break;
    case OPT_RETRIES:
        if (!par_parse_long(val, &v) || v < 0) par_die(255, "--retries: '%s' is not a number >= 0", val);
        o->retries = v;
        break;
    case OPT_HALT: parse_halt(o, val); break;
    case OPT_BAR: o->bar = 1; break;
    case OPT_ETA: o->eta = 1; break;
    case OPT_IGNORE: break;
    case OPT_REPLACE:
        if (!val[0]) par_die(255, "-I: the replacement string must not be empty");
        o->replace = val;
        break;
    case OPT_TAGSTRING: o->tagstring = val; o->tag = 1; break;
    case OPT_DELAY: o->delay_s = parse_time_units(val, "--delay"); break;
    case OPT_RETRY_FAILED: o->retry_failed = 1; break;
    case OPT_PROGRESS: o->progress = 1; break;
    case OPT_NICE:
        if (!par_parse_long(val, &v) || v < -20 || v > 19)
            par_die(255, "--nice: '%s' is not a niceness (-20 .. 19)", val);
        o->nice = (int)v;
        o->nice_set = 1;
        break;
    case OPT_HELP: usage(stdout); exit(0);
    case OPT_VERSION:
        printf(PAR_PROG " " VPAR_VERSION_STRING " (vpar; GNU parallel compatible subset)\n");
        exit(0);
    default: break;
    }
}

/* --name, --name=value, --name value */
static int parse_long_opt(par_options *o, int argc, char **argv, int i) {
    const char *a = argv[i];
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t nl = eq ? (size_t)(eq - name) : strlen(name);
    const optdef *d = NULL;
    for (const optdef *od = opts; od->id; od++)
        if (od->lng && strlen(od->lng) == nl && !strncmp(od->lng, name, nl)) { d = od; break; }
    if (!d) par_die(255, "unknown option '%.*s' (try --help)", (int)(nl + 2), a);
    const char *val = NULL;
    if (d->arg) {
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else par_die(255, "option '--%s' needs a value (try --help)", d->lng);
    } else if (eq) {
        par_die(255, "option '--%s' takes no value (try --help)", d->lng);
    }
    apply_opt(o, d, val, a);
    return i + 1;
}

/* short options, bundled flags allowed: -kv, -j4, -j 4 */
static int parse_short_opts(par_options *o, int argc, char **argv, int i) {
    const char *a = argv[i];
    for (const char *p = a + 1; *p; p++) {
        const optdef *d = NULL;
        for (const optdef *od = opts; od->id; od++)
            if (od->shrt && od->shrt == *p) { d = od; break; }
        if (!d) par_die(255, "unknown option '-%c' (try --help)", *p);
        char name[3] = {'-', *p, 0};
        if (d->arg) {
            const char *val;
            if (p[1]) val = p + 1;
            else if (i + 1 < argc) val = argv[++i];
            else par_die(255, "option '%s' needs a value (try --help)", name);
            apply_opt(o, d, val, name);
            break;
        }
        apply_opt(o, d, NULL, name);
    }
    return i + 1;
}

void par_options_init(par_options *o) {
    memset(o, 0, sizeof *o);
    o->max_args = -1;
    o->delim = '\n';
    o->retries = 1;
}

int par_options_parse(par_options *o, int argc, char **argv) {
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (par_is_separator(a)) return i;
        if (!strcmp(a, "--")) return i + 1;
        if (a[0] != '-' || a[1] == 0) return i;
        if (a[1] == '-') i = parse_long_opt(o, argc, argv, i);
        else i = parse_short_opts(o, argc, argv, i);
    }
    return i;
}

void par_options_finish(par_options *o) {
    if (o->ungroup && o->line_buffer) o->line_buffer = 0;
    if (o->retries < 1) o->retries = 1;
}

void par_options_free(par_options *o) {
    free(o->argfiles);
    o->argfiles = NULL;
    o->nargfiles = 0;
}
