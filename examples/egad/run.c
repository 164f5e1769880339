/* examples/egad/run.c — one network of vpar-egad: open, plan, run, write
   its CSV. Used by the process-pool workers (main.c) and the MPI ranks
   (mpi.c). */
#include "prog.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Test hook (docs/egad.md): VPAR_EGAD_TEST_CRASH=NAME[:SIG] makes the
   process that runs network NAME die by SIGKILL (or SIGSEGV) before it
   computes anything: crash isolation with -j, an aborted MPI job under
   mpirun. */
static void test_crash_hook(const char *name) {
    const char *h = getenv("VPAR_EGAD_TEST_CRASH");
    if (!h || !*h) return;
    char want[256];
    snprintf(want, sizeof want, "%s", h);
    int sig = SIGKILL;
    char *colon = strchr(want, ':');
    if (colon) {
        *colon = '\0';
        if (strcmp(colon + 1, "SEGV") == 0) sig = SIGSEGV;
    }
    if (strcmp(want, name) == 0) {
        fflush(NULL);
        if (sig == SIGSEGV) signal(SIGSEGV, SIG_DFL);
        raise(sig);
    }
}

/* Test hook (tests/test_cli_consistency.py): VPAR_EGAD_TEST_HOLD=NAME makes
   the worker that runs network NAME say so on stderr ("vpar-egad: test
   hold: NAME") and wait, computing nothing, until the interrupted parent
   kills it: a test interrupts a run midway at a known point, without
   timing guesses. Workers ignore SIGINT (procpool.h), so pause() returns
   only for a signal that does not end the process; it waits again. */
static void test_hold_hook(const char *name) {
    const char *h = getenv("VPAR_EGAD_TEST_HOLD");
    if (!h || strcmp(h, name) != 0) return;
    fprintf(stderr, "vpar-egad: test hold: %s\n", name);
    fflush(stderr);
    for (;;) pause();
}

/* Opens, plans, runs and writes one network. */
static vpar_status egad_one(const shared_in *in, const char *path, const char *name,
                            vpar_pool *pool, net_result *r) {
    const options *o = in->opt;
    vpar_egad_network net;
    unsigned char *drop = NULL;
    vpar_egad_plan *plan = NULL;
    vpar_egad_term_result *res = NULL;
    /* HDF5 networks carry their labels; --genes is for .npy ones. */
    const char *const *genes = vpar_ex_is_hdf5_name(path) ? NULL : (const char *const *)in->genes;
    vpar__egad_phase("worker start");
    vpar_status st = vpar_egad_network_open(&net, path, o->egad.nw_key, genes, in->ngenes);
    vpar__egad_phase("network open");
    if (st == VPAR_OK) {
        drop = (unsigned char *)calloc(net.n ? net.n : 1, 1);
        if (!drop) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    /* every page is read below (all-NaN rows, node degrees, terms): map
       them in a few calls, not a fault per page */
    if (st == VPAR_OK) vpar_egad_network_populate(&net, pool);
    vpar__egad_phase("populate");
    if (st == VPAR_OK) st = vpar_egad_find_all_nan_rows_pool(net.w, net.dtype, net.n, drop, pool);
    vpar__egad_phase("all-NaN rows");
    /* The run's shared plan serves a .npy network (the genes file's genes,
       checked to be as many as its rows) with no all-NaN row. */
    const vpar_egad_plan *use = NULL;
    if (st == VPAR_OK && in->plan && genes) {
        size_t dropped = 0;
        for (size_t i = 0; i < net.n; i++) dropped += drop[i];
        if (dropped == 0) use = in->plan;
    }
    if (st == VPAR_OK && !use) {
        st = vpar_egad_plan_create(&plan, in->ann, net.genes, net.n, drop, &o->egad.desc, path);
        use = plan;
    }
    vpar__egad_phase("plan");
    if (st == VPAR_OK) {
        res = (vpar_egad_term_result *)calloc(vpar_egad_plan_nterms(use), sizeof *res);
        if (!res) st = vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == VPAR_OK) st = vpar_egad_run(use, net.w, net.dtype, pool, res, &r->mean_auc, path);
    char csv[4096];
    if (st == VPAR_OK && !vpar_ex_path(csv, sizeof csv, "%s/%s.csv", o->out, name))
        st = vpar_fail(VPAR_ERR_INVALID, "%s/%s.csv: path too long", o->out, name);
    if (st == VPAR_OK) st = vpar_egad_write_csv(csv, use, res);
    vpar__egad_phase("CSV (atomic write)");
    if (st == VPAR_OK) r->nterms = (int)vpar_egad_plan_nterms(use);
    free(res);
    vpar_egad_plan_destroy(plan);
    free(drop);
    vpar_egad_network_close(&net);
    vpar__egad_phase("free + unmap");
    return st;
}

void egad_run_network(const shared_in *in, int idx, vpar_pool *pool, net_result *r) {
    const char *path = in->opt->networks[idx];
    char name[256];
    egad_network_name(path, name, sizeof name);
    memset(r, 0, sizeof *r);
    r->mean_auc = NAN;
    double t0 = vpar_ex_now();
    test_crash_hook(name);
    test_hold_hook(name);
    vpar_status st = egad_one(in, path, name, pool, r);
    r->status = (int)st;
    if (st != VPAR_OK) {
        const char *msg = vpar_last_error();
        /* The library names no option; the program's is --nonfinite-as-zero. */
        if (strstr(msg, "EGAD needs finite weights") && !in->opt->egad.desc.nonfinite_as_zero)
            snprintf(r->message, sizeof r->message, "%.400s; rerun with --nonfinite-as-zero to "
                     "treat NaN/inf as 0", msg);
        else
            snprintf(r->message, sizeof r->message, "%.479s", msg);
        r->mean_auc = NAN;
    }
    r->seconds = vpar_ex_now() - t0;
}

void egad_shared_plan(shared_in *in, const int *todo, int ntodo) {
    in->plan = NULL;
    int npy = 0;
    for (int t = 0; t < ntodo; t++) npy += !vpar_ex_is_hdf5_name(in->opt->networks[todo[t]]);
    if (npy < 2 || !in->genes) return;
    vpar_egad_plan *p = NULL;
    if (vpar_egad_plan_create(&p, in->ann, (const char *const *)in->genes, in->ngenes, NULL,
                              &in->opt->egad.desc, in->opt->egad.genes) == VPAR_OK)
        in->plan = p;
    vpar__egad_phase("plan (shared by the .npy networks)");
}

void egad_shared_plan_free(shared_in *in) {
    vpar_egad_plan_destroy(in->plan);
    in->plan = NULL;
}
