/* examples/aggregate/mpi.c — vpar-aggregate as an MPI farm
   (include/vpar/farm.h): under mpirun/srun rank 0 hands out the
   permutations this shard owns; each rank computes one at a time on its
   own threads (-t) and its own two N x N buffers, and sends back the k mean
   AUCs; rank 0 writes every permutation file as its result arrives (so the
   output directory need not be shared), keeps the manifest and, with
   --journal, the farm's journal, and at the end writes aggregate.csv and the
   plot. On SIGTERM/SIGUSR1 every rank stops its permutation at the next
   step (it is recomputed on resume), the journal is synced and the job
   exits 75. Set-up, after MPI_Init: every rank loads the annotations and
   genes and maps every network, but checks the contents (symmetry, HDF5
   labels) of only network i % size == rank; the ranks then agree on the
   symmetry (MPI_LAND) and on the first failure, which the rank that met
   it prints once (agg_mpi_agree). Only rank 0 creates --out. Built only
   when CMake found MPI (VPAR_EX_WITH_MPI). */
#include "prog.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VPAR_EX_WITH_MPI

int agg_mpi_main(job *J, int *exit_code) {
    if (!J->o.journal && !vpar_ex_mpi_launched(getenv)) return 0;
    fputs(J->o.journal ? "vpar-aggregate: --journal needs a build with MPI (cmake found none) run "
                         "under mpirun\n"
                       : "vpar-aggregate: started by an MPI launcher, but this vpar-aggregate was "
                         "built without MPI (install libopenmpi-dev or libmpich-dev and rebuild)\n",
          stderr);
    *exit_code = VPAR_EX_EXIT_USAGE;
    return 1;
}

#else

#include <mpi.h>
#define VPAR_FARM_IMPLEMENTATION
#include "vpar/farm.h"

static atomic_int g_stop; /* SIGTERM/SIGUSR1/SIGINT seen: stop at the next step */

static void agg_mpi_on_signal(int sig) {
    (void)sig;
    atomic_store_explicit(&g_stop, 1, memory_order_relaxed);
    vpar_farm_interrupt();   /* also before the map: it starts interrupted */
}

typedef struct agg_mpi {
    job *J;
    run_ctx c;                 /* rank 0: what agg_finish_permutation needs */
    size_t *todo, ntodo;       /* every rank */
    vpar_pool *compute;
    vpar_agg_progress progress;
} agg_mpi;

static int agg_mpi_task(void *user, size_t i, void *result) {
    agg_mpi *m = (agg_mpi *)user;
    job *J = m->J;
    static int first = 1;  /* the farm's one task thread */
    if (first) agg_phase("first task");
    first = 0;
    vpar_agg_hooks hooks = {NULL, NULL, &g_stop};
    return (int)vpar_agg_run(J->agg, J->orders + m->todo[i] * J->k, m->compute, &hooks,
                             (double *)result);
}

static int agg_mpi_result(void *user, size_t i, const void *result, const vpar_farm_status *st) {
    agg_mpi *m = (agg_mpi *)user;
    size_t p = m->todo[i];
    if (st->state == VPAR_TASK_OK) {
        if (!agg_finish_permutation(&m->c, p, (const double *)result)) m->c.failed++;
        for (size_t s = 0; s < m->J->k; s++) vpar_agg_progress_step(&m->progress);
    } else if (st->state == VPAR_TASK_ERROR && st->code != VPAR_ERR_INTERRUPTED) {
        m->c.failed++;
        fprintf(stderr, "%svpar-aggregate: permutation %zu failed on rank %d: %s\n", vpar_ex_msg_start(), p + 1, st->rank,
                st->message);
    }
    return 0;
}

/* Rank 0: the manifest and which permutations to farm (the files of a
   previous run count only without a journal: the journal's task numbering
   must not change between runs); then every rank gets the list. */
static int agg_mpi_plan(agg_mpi *m, int rank) {
    job *J = m->J;
    long long hdr[2] = {0, 0};
    if (rank == 0) {
        int rc;
        if (J->o.journal) {
            rc = agg_job_manifest(J) ? 0 : VPAR_EX_EXIT_USAGE;
            for (size_t i = 0; !rc && i < J->p; i++)
                if (vpar_ex_shard_owns(&J->o.shard, i)) J->todo[J->ntodo++] = i;
        } else {
            rc = agg_job_resume(J);
        }
        hdr[0] = rc;
        hdr[1] = (long long)J->ntodo;
    }
    MPI_Bcast(hdr, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if (hdr[0]) return (int)hdr[0];
    m->ntodo = (size_t)hdr[1];
    unsigned long long *buf = (unsigned long long *)calloc(m->ntodo + 1, sizeof *buf);
    m->todo = (size_t *)calloc(m->ntodo + 1, sizeof *m->todo);
    if (!buf || !m->todo) {
        fputs("vpar-aggregate: out of memory\n", stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (size_t i = 0; rank == 0 && i < m->ntodo; i++) buf[i] = J->todo[i];
    MPI_Bcast(buf, (int)m->ntodo, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    for (size_t i = 0; i < m->ntodo; i++) m->todo[i] = (size_t)buf[i];
    free(buf);
    return 0;
}

/* The ranks' set-up outcomes: the failure a single process would have
   reported (the smallest position, agg_setup.at; on a tie the lowest
   rank) is printed once, by the rank that met it, naming the rank when it
   is not 0 (a file missing on one node only); every rank returns that
   failure's exit status, or 0 when all went well. Collective. */
static int agg_mpi_agree(const agg_setup *s, int rc, int rank) {
    int in[2] = {rc ? (s->at < (size_t)INT_MAX - 1 ? (int)s->at : INT_MAX - 1) : INT_MAX, rank};
    int out[2];
    MPI_Allreduce(in, out, 1, MPI_2INT, MPI_MINLOC, MPI_COMM_WORLD);
    if (out[0] == INT_MAX) return 0;
    if (out[1] == rank) {
        char host[MPI_MAX_PROCESSOR_NAME + 1] = "";
        int len = 0;
        if (rank != 0 && MPI_Get_processor_name(host, &len) == MPI_SUCCESS) host[len] = 0;
        if (rank != 0) fprintf(stderr, "%s (rank %d on %s)\n", s->msg, rank, host);
        else fprintf(stderr, "%s\n", s->msg);
        fflush(stderr);
    }
    int code = rc;
    MPI_Bcast(&code, 1, MPI_INT, out[1], MPI_COMM_WORLD);
    return code;
}

/* Every rank loads the orders, the annotations and the genes and opens
   every network (each rank computes with all of them), but checks the
   contents of only its share: network i on rank i % size (symmetry reads
   every page: 1.2 GB per full-size network). The ranks then agree on the
   first failure and on the symmetry. Only rank 0 creates --out. 0 or the
   exit status (printed once). */
static int agg_mpi_setup(agg_mpi *m, int rank, int size) {
    job *J = m->J;
    agg_setup s;
    memset(&s, 0, sizeof s);
    unsigned char *check = (unsigned char *)calloc(J->k + 1, 1);
    if (!check) {
        fputs("vpar-aggregate: out of memory\n", stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (size_t i = 0; i < J->k; i++) check[i] = i % (size_t)size == (size_t)rank;
    s.pool = m->compute;
    s.check = check;
    s.no_out_dir = rank != 0;
    s.keep_errors = 1;
    int rc = agg_job_orders(J, &s);
    agg_phase("orders");
    if (!rc) rc = agg_job_inputs(J, &s);
    free(check);
    rc = agg_mpi_agree(&s, rc, rank);
    if (rc) return rc;
    int sym = vpar_agg_symmetric_checked(J->agg), all = 0;
    MPI_Allreduce(&sym, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    vpar_agg_set_symmetric(J->agg, all);
    return 0;
}

static int agg_mpi_farm(agg_mpi *m, int rank, int size, int threads) {
    job *J = m->J;
    agg_run_ctx_init(&m->c, J, 1);  /* rank 0 uses it in agg_mpi_result */
    run_ctx *c = &m->c;
    vpar_agg_progress_init(&m->progress, (uint64_t)m->ntodo * J->k, rank == 0 && !J->o.quiet && isatty(2));
    vpar_farm_desc d;
    memset(&d, 0, sizeof d);
    d.threads = 1;        /* one permutation at a time: its steps use m->compute */
    d.prefetch = -1;      /* permutations are long: no queue behind one */
    d.journal = rank == 0 ? J->o.journal : NULL;
    d.resume = !J->o.no_resume;
    d.journal_key = rank == 0 ? strtoull(J->config, NULL, 16) : 0;
    d.on_result = agg_mpi_result;
    d.on_result_user = m;
    double *results = rank == 0 ? (double *)calloc(m->ntodo * J->k + 1, sizeof *results) : NULL;
    if (rank == 0 && !results) MPI_Abort(MPI_COMM_WORLD, 1);
    vpar_farm_report rep;
    memset(&rep, 0, sizeof rep);
    J->t1 = vpar_ex_now();
    vpar_status st = vpar_farm_map_report(m->ntodo, agg_mpi_task, m, results, J->k * sizeof(double),
                                          NULL, &d, &rep);
    J->t2 = vpar_ex_now();
    free(results);
    int code = 0;
    if (rank == 0) {
        vpar_agg_progress_finish(&m->progress);
        int interrupted = st == VPAR_ERR_INTERRUPTED || atomic_load(&g_stop);
        if (st != VPAR_OK && !interrupted && !c->failed) {
            fprintf(stderr, "vpar-aggregate: %s\n", vpar_last_error());
            c->failed++;
        }
        if (rep.restored && !J->o.quiet)
            fprintf(stderr, "vpar-aggregate: %zu permutation%s restored from the journal %s\n",
                    rep.restored, rep.restored == 1 ? "" : "s", J->o.journal);
        /* What the report counts: restored permutations were rewritten
           from the journal, not computed: they count as resumed. */
        size_t restored = rep.restored <= c->written ? rep.restored : c->written;
        c->written -= restored;
        J->resumed += restored;
        J->ntodo = m->ntodo - restored;
        code = agg_job_report(J, c, 0, size, threads, interrupted);
        if (interrupted && code == VPAR_EX_EXIT_INTERRUPTED) code = VPAR_FARM_EXIT_INTERRUPTED;
        if (rep.grace_expired) MPI_Abort(MPI_COMM_WORLD, VPAR_FARM_EXIT_INTERRUPTED);
    }
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return code;
}

int agg_mpi_main(job *J, int *exit_code) {
    if (!J->o.journal && !vpar_ex_mpi_launched(getenv)) return 0;
    int provided = 0, rank = 0, size = 1;
    /* Our handler before MPI_Init: SIGTERM/SIGUSR1 during MPI's start-up
       and the planning is an interrupt (the map starts interrupted, exit
       75), not death by the default action. Installed again after
       MPI_Init, which may replace handlers (MPICH: SIGUSR1). Running
       permutations stop at the next step; the farm's own handler
       (installed during the map) chains to it. */
    vpar_ex_on_stop_signals(agg_mpi_on_signal);
    J->t0 = vpar_ex_now();   /* the summary's "setup" includes MPI_Init */
    vpar_ex_mpi_before_init();   /* one node: shared memory, no fabric probing */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    vpar_ex_on_stop_signals(agg_mpi_on_signal);
    agg_phase("MPI_Init");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (J->o.jobs > 1 && rank == 0 && !J->o.quiet)
        fputs("vpar-aggregate: under MPI each rank runs one permutation at a time: -j is ignored "
              "(use more ranks)\n", stderr);
    agg_mpi m;
    memset(&m, 0, sizeof m);
    m.J = J;
    /* Default -t: this rank's share of its node's CPUs (ranks on one node
       split them; docs/cluster.md). Collective: every rank calls it. */
    int local = vpar_farm_local_threads(MPI_COMM_WORLD);
    int threads = J->o.threads ? J->o.threads : local;
    vpar_pool_desc pd = {threads, 0};
    if (vpar_pool_create(&m.compute, &pd) != VPAR_OK) {
        fprintf(stderr, "vpar-aggregate: rank %d: thread pool: %s\n", rank, vpar_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    agg_phase("threads");
    int code = agg_mpi_setup(&m, rank, size);
    if (!code) code = agg_mpi_plan(&m, rank);
    agg_phase("plan");
    if (!code) code = agg_mpi_farm(&m, rank, size, threads);
    vpar_pool_destroy(m.compute);
    free(m.todo);
    MPI_Finalize();
    *exit_code = code;
    return 1;
}

#endif
