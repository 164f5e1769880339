/* examples/egad/mpi.c — vpar-egad as an MPI farm (include/vpar/farm.h):
   under mpirun/srun the networks this shard owns are handed out by rank 0
   to all ranks, largest file first; each rank runs one network at a time
   on its own thread pool (-t) and writes that network's CSV (the output
   directory is shared); rank 0 keeps the manifest, the progress line,
   summary.csv and, with --journal, the farm's journal (--resume restores
   what it holds). Outputs are those of a one-process run. Built only when
   CMake found MPI (VPAR_EX_WITH_MPI); otherwise egad_mpi_main refuses
   --journal and returns 0. */
#include "prog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VPAR_EX_WITH_MPI

int egad_mpi_main(const options *o, shared_in *in, int *exit_code) {
    (void)in;
    if (!o->journal && !vpar_ex_mpi_launched(getenv)) return 0;
    if (o->journal) {
        fputs("vpar-egad: --journal needs a build with MPI (cmake found none) run under mpirun\n",
              stderr);
        *exit_code = VPAR_EX_EXIT_USAGE;
        return 1;
    }
    /* Started by mpirun but built without MPI: every rank would compute
       everything. Refuse rather than waste the allocation. */
    fputs("vpar-egad: started by an MPI launcher, but this vpar-egad was built without MPI "
          "(install libopenmpi-dev or libmpich-dev and rebuild)\n", stderr);
    *exit_code = VPAR_EX_EXIT_USAGE;
    return 1;
}

#else

#include <mpi.h>
#define VPAR_FARM_IMPLEMENTATION
#include "vpar/farm.h"

#include <math.h>
#include <sys/stat.h>

typedef struct egad_mpi {
    const shared_in *in;
    const options *o;
    egad_job *J;               /* rank 0 */
    int *todo, ntodo;          /* every rank */
    vpar_pool *compute;        /* this rank's threads for one network */
    int tty;
    size_t done;
} egad_mpi;

static int egad_mpi_task(void *user, size_t i, void *result) {
    egad_mpi *m = (egad_mpi *)user;
    net_result *r = (net_result *)result;
    egad_run_network(m->in, m->todo[i], m->compute, r);
    if (r->status) vpar_fail((vpar_status)r->status, "%s", r->message);
    return r->status;
}

/* Rank 0, MPI thread: each network's final state. */
static int egad_mpi_result(void *user, size_t i, const void *result, const vpar_farm_status *st) {
    egad_mpi *m = (egad_mpi *)user;
    egad_job *J = m->J;
    int idx = m->todo[i];
    m->done++;
    if (st->state == VPAR_TASK_OK) {
        egad_job_record(J, m->o, idx, (const net_result *)result);
    } else if (st->state == VPAR_TASK_ERROR) {
        net_result r;
        memset(&r, 0, sizeof r);
        r.status = st->code;
        r.mean_auc = NAN;
        r.seconds = st->seconds;
        snprintf(r.message, sizeof r.message, "%.479s", st->message);
        egad_job_record(J, m->o, idx, &r);
    } else {
        J->crashed[idx] = 1;
    }
    if (m->tty)
        vpar_ex_status_line(2, "vpar-egad: %zu/%d networks done (last: %s)", m->done, m->ntodo,
                            J->names[idx]);
    return 0;
}

/* Rank 0 sets up the bookkeeping (manifest resume only without a journal:
   the journal's task numbering must not change between runs) and sends
   every rank the list of networks to farm. 0 after printing a failure. */
static int egad_mpi_plan(egad_mpi *m, int rank) {
    int ok = 1, n = 0;
    if (rank == 0) {
        options o2 = *m->o;
        o2.resume = m->o->resume && !m->o->journal;
        ok = egad_job_init(m->J, &o2, m->in);
        n = ok ? m->J->ntodo : 0;
    }
    int hdr[2] = {ok, n};
    MPI_Bcast(hdr, 2, MPI_INT, 0, MPI_COMM_WORLD);
    if (!hdr[0]) return 0;
    m->ntodo = hdr[1];
    m->todo = rank == 0 ? m->J->todo : (int *)calloc((size_t)(m->ntodo ? m->ntodo : 1), sizeof(int));
    if (!m->todo) {
        fputs("vpar-egad: out of memory\n", stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Bcast(m->todo, m->ntodo, MPI_INT, 0, MPI_COMM_WORLD);
    return 1;
}

/* The farm over the planned networks; rank 0 writes the summary. Returns
   the exit status every rank uses. */
static int egad_mpi_farm(egad_mpi *m, int rank) {
    const options *o = m->o;
    double *cost = (double *)calloc((size_t)(m->ntodo ? m->ntodo : 1), sizeof *cost);
    for (int i = 0; cost && i < m->ntodo; i++) {
        struct stat sb;
        cost[i] = stat(o->networks[m->todo[i]], &sb) == 0 ? (double)sb.st_size : 0.0;
    }
    uint64_t key = 0;
    if (rank == 0) key = strtoull(m->J->config, NULL, 16);
    vpar_farm_desc d;
    memset(&d, 0, sizeof d);
    d.threads = 1;              /* one network at a time; its terms on m->compute */
    d.prefetch = -1;            /* a network takes seconds: no queue behind it */
    d.cost = cost;
    d.journal = rank == 0 ? o->journal : NULL;
    d.resume = o->resume;
    d.journal_key = key;
    d.on_result = egad_mpi_result;
    d.on_result_user = m;
    vpar_farm_report rep;
    memset(&rep, 0, sizeof rep);
    net_result *results = NULL;
    if (rank == 0) results = (net_result *)calloc((size_t)(m->ntodo ? m->ntodo : 1), sizeof *results);
    if (rank == 0 && !results) {
        fputs("vpar-egad: out of memory\n", stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    vpar_status st = vpar_farm_map_report((size_t)m->ntodo, egad_mpi_task, m, results,
                                          sizeof(net_result), NULL, &d, &rep);
    free(results);
    free(cost);
    int code = 0;
    if (rank == 0) {
        if (m->tty) fputc('\n', stderr);
        int interrupted = st == VPAR_ERR_INTERRUPTED;
        for (int t = 0; t < m->ntodo; t++) {
            int i = m->todo[t];
            const net_result *r = &m->J->rs[i];
            if (m->J->crashed[i] && !interrupted)
                fprintf(stderr, "vpar-egad: %s: not run\n", o->networks[i]);
            else if (!m->J->crashed[i] && r->status)
                egad_report_failure(o->networks[i], r->message);
        }
        if (st != VPAR_OK && st != VPAR_ERR_INTERRUPTED && rep.failed == 0)
            fprintf(stderr, "vpar-egad: %s\n", vpar_last_error());
        if (rep.restored && !o->quiet)
            fprintf(stderr, "vpar-egad: %zu network%s restored from the journal %s\n", rep.restored,
                    rep.restored == 1 ? "" : "s", o->journal);
        code = egad_job_finish(m->J, o, interrupted);
        if (interrupted) code = VPAR_FARM_EXIT_INTERRUPTED;
        else if (st != VPAR_OK && code == 0) code = 1;
        if (rep.grace_expired) MPI_Abort(MPI_COMM_WORLD, VPAR_FARM_EXIT_INTERRUPTED);
    }
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return code;
}

static void egad_mpi_on_signal(int sig) {
    (void)sig;
    vpar_farm_interrupt();   /* also before the map: it starts interrupted */
}

int egad_mpi_main(const options *o, shared_in *in, int *exit_code) {
    if (!o->journal && !vpar_ex_mpi_launched(getenv)) return 0;
    int provided = 0, rank = 0;
    /* A handler before MPI_Init: SIGTERM/SIGUSR1 during MPI's start-up is
       an interrupt (the map starts interrupted, exit 75), not death by the
       default action; again after MPI_Init, which may replace handlers
       (MPICH: SIGUSR1). During the map the farm's handler chains to it. */
    vpar_ex_on_stop_signals(egad_mpi_on_signal);
    vpar_ex_mpi_before_init();   /* one node: shared memory, no fabric probing */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    vpar_ex_on_stop_signals(egad_mpi_on_signal);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (o->jobs > 1 && rank == 0 && !o->quiet)
        fputs("vpar-egad: under MPI each rank runs one network at a time: -j is ignored "
              "(use more ranks)\n", stderr);
    egad_job J;
    memset(&J, 0, sizeof J);
    egad_mpi m;
    memset(&m, 0, sizeof m);
    m.in = in;
    m.o = o;
    m.J = &J;
    m.tty = rank == 0 && !o->quiet && isatty(2);
    /* Default -t: this rank's share of its node's CPUs (ranks on one node
       split them; docs/cluster.md). Collective: every rank calls it. */
    int local = vpar_farm_local_threads(MPI_COMM_WORLD);
    vpar_pool_desc pd = {o->threads ? o->threads : local, 0};
    int code = VPAR_EX_EXIT_USAGE;
    if (vpar_pool_create(&m.compute, &pd) != VPAR_OK) {
        fprintf(stderr, "vpar-egad: rank %d: thread pool: %s\n", rank, vpar_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (egad_mpi_plan(&m, rank)) {
        egad_shared_plan(in, m.todo, m.ntodo);   /* every rank may run several */
        code = egad_mpi_farm(&m, rank);
        egad_shared_plan_free(in);
    }
    vpar_pool_destroy(m.compute);
    if (rank != 0) free(m.todo);
    if (J.names) egad_job_free(&J, o);
    MPI_Finalize();
    *exit_code = code;
    return 1;
}

#endif
