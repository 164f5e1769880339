/* vpar-parallel: the runner (see par_runner.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_runner.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCRATCH_SIZE 65536

static const par_buf *tag_of(const par_runner *r, const par_buf *t) { return r->o->tag ? t : NULL; }

static par_job *running_with_ridx(par_runner *r, size_t ridx) {
    for (int i = 0; i < r->nslots; i++)
        if (r->jobs[i].active && r->jobs[i].ridx == ridx) return &r->jobs[i];
    return NULL;
}

static par_pending *pend_at(par_runner *r, size_t ridx) {
    while (ridx - r->print_ridx >= r->pend_cap) {
        size_t ncap = r->pend_cap ? 2 * r->pend_cap : 64;
        par_pending *np = par_xcalloc(ncap, sizeof *np);
        for (size_t k = r->print_ridx; k < r->print_ridx + r->pend_cap; k++)
            np[k & (ncap - 1)] = r->pend[k & (r->pend_cap - 1)];
        free(r->pend);
        r->pend = np;
        r->pend_cap = ncap;
    }
    return &r->pend[ridx & (r->pend_cap - 1)];
}

/* -k: print every finished block at the head; under --line-buffer the
   running head then streams its complete lines. */
static void flush_ordered(par_runner *r) {
    for (;;) {
        if (r->pend_cap == 0) return;
        par_pending *p = &r->pend[r->print_ridx & (r->pend_cap - 1)];
        if (!p->done) break;
        par_emit(&r->out, 1, p->out.p, p->out.n, tag_of(r, &p->tag));
        par_emit(&r->out, 2, p->err.p, p->err.n, tag_of(r, &p->tag));
        par_buf_free(&p->out);
        par_buf_free(&p->err);
        par_buf_free(&p->tag);
        p->done = 0;
        r->print_ridx++;
    }
    if (r->o->line_buffer) {
        par_job *j = running_with_ridx(r, r->print_ridx);
        if (j) {
            par_emit_lines(&r->out, 1, &j->out, tag_of(r, &j->tag));
            par_emit_lines(&r->out, 2, &j->err, tag_of(r, &j->tag));
        }
    }
}

static void progress(par_runner *r, int final) {
    const par_options *o = r->o;
    if (!o->bar && !o->eta && !o->progress) return;
    double t = par_now_mono();
    if (!final && t - r->bar_last < 0.1) return;
    r->bar_last = t;
    if (r->bar_t0 == 0) {
        r->bar_t0 = t;
        if (o->progress)
            par_out_printf(&r->out, 2, "\nComputers / CPU cores / Max jobs to run\n1:local / %d / %d\n"
                           "\nComputer:jobs running/jobs completed/%%of started jobs/"
                           "Average seconds to complete\n", par_cpu_count(), r->nslots);
    }
    size_t total = r->to_run ? r->to_run : 1;
    size_t left = r->to_run > r->completed ? r->to_run - r->completed : 0;
    double avg = r->completed ? (t - r->bar_t0) / (double)r->completed : 0;
    double eta = avg * (double)left;
    char line[256];
    int pct = (int)(100.0 * (double)r->completed / (double)total);
    if (o->progress && !o->eta) {
        snprintf(line, sizeof line, "\rlocal:%d/%zu/%d%%/%.1fs ", r->running, r->completed,
                 r->started ? (int)(100.0 * (double)r->completed / (double)r->started) : 0, avg);
    } else if (o->eta) {
        snprintf(line, sizeof line, "\rETA: %.0fs Left: %zu AVG: %.2fs  local:%d/%zu/100%%/%.1fs ",
                 eta, left, avg, r->running, r->completed, avg);
    } else {
        char bar[41];
        int fill = pct * 40 / 100;
        for (int i = 0; i < 40; i++) bar[i] = i < fill ? '=' : ' ';
        bar[40] = 0;
        snprintf(line, sizeof line, "\r%3d%% %zu:%zu=%.0fs [%s]", pct, r->completed, left, eta, bar);
    }
    par_write_all(&r->out, 2, line, strlen(line));
    if (final) par_write_all(&r->out, 2, "\n", 1);
}

/* Signals the job's process group while any process of it is left: the
   group id cannot be reused while a member lives, and ESRCH means none
   does (then it is never signalled again). */
static void signal_group(par_job *j, int sig) {
    if (j->pid <= 0 || j->group_gone) return;
    if (kill(-j->pid, sig) < 0 && errno == ESRCH) j->group_gone = 1;
}

static void start_kill(par_job *j, double t) {
    if (j->kill_stage) return;
    j->kill_stage = 1;
    signal_group(j, SIGTERM);
    j->kill_next = t + 0.200;
}

/* Every 100 ms after the SIGKILL: SIGKILL again while the group lives;
   once it is gone and the job's first process is reaped, pipes still open
   belong to a process that left the group (setsid): stop waiting for them. */
#define PAR_KILL_REPEAT 0.100

/* GNU's TERM,200ms,TERM,100ms,TERM,50ms,KILL on the job's process group. */
static void advance_kill(par_job *j, double t) {
    if (!j->kill_stage || j->pid <= 0 || t < j->kill_next) return;
    switch (j->kill_stage) {
    case 1: signal_group(j, SIGTERM); j->kill_next = t + 0.100; j->kill_stage = 2; break;
    case 2: signal_group(j, SIGTERM); j->kill_next = t + 0.050; j->kill_stage = 3; break;
    default:
        signal_group(j, SIGKILL);
        j->kill_next = t + PAR_KILL_REPEAT;
        j->kill_stage = 4;
        if (j->group_gone && j->reaped) {
            if (j->fd_out >= 0) { close(j->fd_out); j->fd_out = -1; }
            if (j->fd_err >= 0) { close(j->fd_err); j->fd_err = -1; }
        }
        break;
    }
}

/* SIGKILL now (a second Ctrl-C, SIGQUIT, a fatal error). */
static void kill_now(par_job *j, double t) {
    j->kill_stage = 3;
    j->kill_next = t;
    advance_kill(j, t);
}

static void abort_all(par_runner *r, int exitcode) {
    if (!r->aborting) r->abort_exit = exitcode;
    r->aborting = 1;
    r->stop_starting = 1;
    double t = par_now_mono();
    for (int i = 0; i < r->nslots; i++) {
        par_job *j = &r->jobs[i];
        if (!j->active) continue;
        j->discard = 1;
        start_kill(j, t);
    }
}

/* The exit status a --halt condition sets (GNU's rules). */
static void halt_set_exit(par_runner *r, int exitval, int sig) {
    const par_options *o = r->o;
    if (o->halt_why == PAR_WHY_FAIL || o->halt_why == PAR_WHY_DONE) {
        if (r->halt_exit_defined) return;
        r->halt_exit_defined = 1;
        if (o->halt_pct > 0)
            r->halt_exit = (int)ceil((double)r->failed / (double)(r->total ? r->total : 1) * 100);
        else
            r->halt_exit = r->failed < 101 ? (int)r->failed : 101;
        if (o->halt_pct == 0 && o->halt_count == 1)
            r->halt_exit = exitval ? exitval : (sig ? sig + 128 : 0);
    } else {
        r->halt_exit_defined = 1;
        r->halt_exit = 0;
    }
}

/* GNU's should_we_halt. */
static void halt_check(par_runner *r, const par_job *j, int failed, int exitval, int sig) {
    const par_options *o = r->o;
    if (o->halt_when == PAR_HALT_NEVER) return;
    double limit = 0;
    int have = 0;
    if (failed) {
        if (o->halt_why == PAR_WHY_FAIL) {
            par_out_printf(&r->out, 2, PAR_PROG ": This job failed:\n%s\n", j->cmd.p);
            limit = (double)r->failed;
            have = 1;
        }
    } else if (o->halt_why == PAR_WHY_SUCCESS) {
        par_out_printf(&r->out, 2, PAR_PROG ": This job succeeded:\n%s\n", j->cmd.p);
        limit = (double)(r->completed - r->failed);
        have = 1;
    }
    if (o->halt_why == PAR_WHY_DONE) {
        par_out_printf(&r->out, 2, PAR_PROG ": This job finished:\n%s\n", j->cmd.p);
        limit = (double)r->completed;
        have = 1;
    }
    if (!have) return;
    double count = o->halt_pct > 0 ? (double)r->total * o->halt_pct : o->halt_count;
    if (limit < count) return;
    halt_set_exit(r, exitval, sig);
    if (o->halt_when == PAR_HALT_SOON) {
        if (!r->stop_starting && r->running > 0)
            par_out_printf(&r->out, 2,
                           PAR_PROG ": Starting no more jobs. Waiting for %d jobs to finish.\n",
                           r->running);
        r->stop_starting = 1;
    } else {
        abort_all(r, r->halt_exit & 0xff);
    }
}

static void retry_push(par_runner *r, size_t seq, size_t ridx, int attempt) {
    if (r->retry_n == r->retry_cap) {
        size_t ncap = r->retry_cap ? 2 * r->retry_cap : 16;
        par_retry *nr = par_xcalloc(ncap, sizeof *nr);
        for (size_t k = 0; k < r->retry_n; k++) nr[k] = r->retry[(r->retry_head + k) % r->retry_cap];
        free(r->retry);
        r->retry = nr;
        r->retry_cap = ncap;
        r->retry_head = 0;
    }
    r->retry[(r->retry_head + r->retry_n) % r->retry_cap] = (par_retry){seq, ridx, attempt};
    r->retry_n++;
}

static void free_job(par_runner *r, par_job *j) {
    if (j->fd_out >= 0) close(j->fd_out);
    if (j->fd_err >= 0) close(j->fd_err);
    j->fd_out = j->fd_err = -1;
    j->out.n = j->err.n = 0;
    j->active = 0;
    r->running--;
}

/* The job's output: printed now, or handed to the -k queue. */
static void output_job(par_runner *r, par_job *j) {
    if (!r->o->keep) {
        par_emit(&r->out, 1, j->out.p, j->out.n, tag_of(r, &j->tag));
        par_emit(&r->out, 2, j->err.p, j->err.n, tag_of(r, &j->tag));
        return;
    }
    par_pending *p = pend_at(r, j->ridx);
    p->done = 1;
    /* hand the buffers over instead of copying */
    p->out = j->out;
    p->err = j->err;
    p->tag = j->tag;
    memset(&j->out, 0, sizeof j->out);
    memset(&j->err, 0, sizeof j->err);
    memset(&j->tag, 0, sizeof j->tag);
}

static void finish_job(par_runner *r, par_job *j) {
    double runtime = par_now_mono() - j->t_start;
    int exitval = 0, sig = 0;
    if (j->pid > 0) {
        if (WIFEXITED(j->status)) exitval = WEXITSTATUS(j->status);
        else if (WIFSIGNALED(j->status)) sig = WTERMSIG(j->status);
    } else {
        exitval = j->status; /* spawn failed: 127 or 126, as a shell would */
    }
    if (j->timed_out) exitval = -1;
    if (j->discard) {
        free_job(r, j);
        return;
    }
    int failed = exitval != 0 || sig != 0;
    if (failed && j->attempt < r->o->retries && !r->stop_starting) {
        retry_push(r, j->seq, j->ridx, j->attempt + 1);
        free_job(r, j);
        return;
    }
    if (par_joblog_write(&r->jl, j->seq, j->t_real, runtime, j->received, exitval, sig, j->cmd.p,
                         j->cmd.n) < 0) {
        /* not logged, so not finished: neither printed nor counted, and
           --resume runs it again; the run fails */
        free_job(r, j);
        abort_all(r, 255);
        return;
    }
    if (r->o->timeout_pct > 0 && !failed) par_median_add(&r->med, runtime);
    r->completed++;
    if (failed) r->failed++;
    output_job(r, j);
    free_job(r, j);
    if (r->o->keep) flush_ordered(r);
    progress(r, 0);
    halt_check(r, j, failed, exitval, sig);
}

static int have_next_job(par_runner *r) {
    if (r->retry_n) return 1;
    while (r->next_seq <= r->total && r->skip && r->skip[r->next_seq]) r->next_seq++;
    return r->next_seq <= r->total;
}

/* Takes the next job: a retry first, else the next new one. */
static par_job *claim_slot(par_runner *r, int *slotp) {
    size_t seq, ridx;
    int attempt;
    if (r->retry_n) {
        par_retry rt = r->retry[r->retry_head];
        r->retry_head = (r->retry_head + 1) % r->retry_cap;
        r->retry_n--;
        seq = rt.seq; ridx = rt.ridx; attempt = rt.attempt;
    } else {
        seq = r->next_seq++;
        ridx = r->next_ridx++;
        attempt = 1;
    }
    int slot = 0;
    while (r->jobs[slot].active) slot++;
    par_job *j = &r->jobs[slot];
    j->active = 1;
    j->pid = 0;
    j->reaped = 0;
    j->status = 0;
    j->received = 0;
    j->seq = seq;
    j->ridx = ridx;
    j->attempt = attempt;
    j->timed_out = j->kill_stage = j->discard = 0;
    j->out.n = j->err.n = 0;
    j->fd_out = j->fd_err = -1;
    r->running++;
    r->started++;
    *slotp = slot;
    return j;
}

static void start_job(par_runner *r) {
    int slot;
    par_job *j = claim_slot(r, &slot);
    par_input_job_args(r->in, &r->av, j->seq);
    par_render(&j->cmd, r->tpl, &r->av, j->seq, slot + 1, &r->tmp);
    if (r->tagtpl) {
        par_render(&j->tag, r->tagtpl, &r->av, j->seq, slot + 1, &r->tmp);
        par_buf_addc(&j->tag, '\t');
    } else if (r->o->tag) {
        par_render_tag(&j->tag, &r->av);
    }

    par_spawned res;
    if (par_spawn_job(&r->sp, j->cmd.p, j->seq, slot + 1, !r->o->ungroup, &res) < 0) {
        j->discard = 1;
        j->reaped = 1;
        abort_all(r, 255);
        return;
    }
    j->t_start = par_now_mono();
    j->t_real = par_now_real();
    if (r->o->delay_s > 0) r->next_start = j->t_start + r->o->delay_s;
    j->fd_out = res.fd_out;
    j->fd_err = res.fd_err;
    if (res.pid == 0) {
        /* as sh reports it: 127 not found, 126 not executable */
        par_buf_printf(&j->err, PAR_PROG ": %s: %s\n", par_spawn_argv0(&r->sp),
                       res.err == ENOENT ? "command not found" : strerror(res.err));
        if (r->o->ungroup) {
            par_write_all(&r->out, 2, j->err.p, j->err.n);
            j->err.n = 0;
        }
        j->reaped = 1;
        j->status = res.err == ENOENT ? 127 : 126;
        if (j->fd_out >= 0) { close(j->fd_out); j->fd_out = -1; }
        if (j->fd_err >= 0) { close(j->fd_err); j->fd_err = -1; }
        return;
    }
    j->pid = res.pid;
}

static void read_fd(par_runner *r, par_job *j, int which) {
    int *fd = which ? &j->fd_err : &j->fd_out;
    par_buf *b = which ? &j->err : &j->out;
    /* read into a shared scratch buffer so that a job's buffer grows to its
       output, not to the read size (-k hands buffers over per job) */
    ssize_t n = read(*fd, r->scratch, SCRATCH_SIZE);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    if (j->discard) return; /* keep draining, nothing will be printed */
    par_buf_add(b, r->scratch, (size_t)n);
    if (!which) j->received += (size_t)n;
    if (r->o->line_buffer && (!r->o->keep || j->ridx == r->print_ridx))
        par_emit_lines(&r->out, which ? 2 : 1, b, tag_of(r, &j->tag));
}

static void reap(par_runner *r) {
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) break;
        for (int i = 0; i < r->nslots; i++) {
            par_job *j = &r->jobs[i];
            if (j->active && j->pid == pid && !j->reaped) {
                j->reaped = 1;
                j->status = st;
                break;
            }
        }
    }
}

static void handle_signals(par_runner *r) {
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(r->sigfd, &si, sizeof si);
        if (n != (ssize_t)sizeof si) break;
        switch (si.ssi_signo) {
        case SIGCHLD: break; /* reaped below */
        case SIGHUP:
            if (!r->stop_starting && r->running > 0)
                par_out_printf(&r->out, 2, PAR_PROG ": SIGHUP received. No new jobs will be "
                               "started. Waiting for %d jobs to finish.\n", r->running);
            r->stop_starting = 1;
            break;
        case SIGINT:
        case SIGTERM:
        case SIGQUIT:
            r->by_signal = 1;
            abort_all(r, 255);
            /* a second signal, or SIGQUIT: no more patience */
            if (r->sigint_count++ > 0 || si.ssi_signo == SIGQUIT)
                for (int i = 0; i < r->nslots; i++)
                    if (r->jobs[i].active) kill_now(&r->jobs[i], par_now_mono());
            r->abort_exit = 255;
            break;
        default: break;
        }
    }
    reap(r);
}

/* The timeout in seconds now in force; 0: none. */
static double timeout_limit(const par_runner *r) {
    if (r->o->timeout_s > 0) return r->o->timeout_s;
    double med;
    if (r->o->timeout_pct > 0 && par_median_get(&r->med, &med)) return med * r->o->timeout_pct;
    return 0;
}

static void check_timeouts(par_runner *r, double t) {
    double limit = timeout_limit(r);
    if (limit <= 0) return;
    for (int i = 0; i < r->nslots; i++) {
        par_job *j = &r->jobs[i];
        if (!j->active || j->pid <= 0 || j->kill_stage) continue;
        if (t - j->t_start >= limit) {
            j->timed_out = 1;
            par_out_printf(&r->out, 2, PAR_PROG ": Warning: This job was killed because it "
                           "timed out:\n" PAR_PROG ": Warning: %s\n", j->cmd.p);
            start_kill(j, t);
        }
    }
}

static int next_wakeup_ms(const par_runner *r, double t) {
    double next = INFINITY;
    double limit = timeout_limit(r);
    for (int i = 0; i < r->nslots; i++) {
        const par_job *j = &r->jobs[i];
        if (!j->active || j->pid <= 0) continue;
        if (j->kill_stage && !(j->group_gone && j->fd_out < 0 && j->fd_err < 0) &&
            j->kill_next < next)
            next = j->kill_next;
        if (!j->kill_stage && limit > 0 && j->t_start + limit < next) next = j->t_start + limit;
    }
    if (r->o->delay_s > 0 && !r->stop_starting && r->running < r->nslots &&
        r->next_start < next && (r->retry_n || r->next_seq <= r->total))
        next = r->next_start;
    if (next == INFINITY) return -1;
    double ms = (next - t) * 1000.0;
    if (ms < 0) return 0;
    if (ms > 1e9) return 1000000000;
    return (int)ceil(ms);
}

/* Jobs that are reaped with both pipes closed are finished. */
static void finish_done_jobs(par_runner *r) {
    for (int i = 0; i < r->nslots; i++) {
        par_job *j = &r->jobs[i];
        if (j->active && j->reaped && j->fd_out < 0 && j->fd_err < 0) finish_job(r, j);
    }
}

/* Fills pf with the signalfd, our stdout/stderr when output is queued
   (who = -2, -3) and every open pipe; returns the count. */
static int build_pollset(par_runner *r, struct pollfd *pf, int *who) {
    int n = 0;
    pf[n].fd = r->sigfd;
    pf[n].events = POLLIN;
    who[n++] = -1;
    for (int fd = 1; fd <= 2; fd++) {
        int ofd = par_output_poll_fd(&r->out, fd);
        if (ofd >= 0) { pf[n].fd = ofd; pf[n].events = POLLOUT; who[n++] = -1 - fd; }
    }
    for (int i = 0; i < r->nslots; i++) {
        par_job *j = &r->jobs[i];
        if (!j->active) continue;
        if (j->fd_out >= 0) { pf[n].fd = j->fd_out; pf[n].events = POLLIN; who[n++] = 2 * i; }
        if (j->fd_err >= 0) { pf[n].fd = j->fd_err; pf[n].events = POLLIN; who[n++] = 2 * i + 1; }
    }
    return n;
}

/* Output queued for a stalled stdout stops new jobs above this. */
#define PAR_OUT_HIGH_WATER (16u << 20)

static int may_start(par_runner *r) {
    return !r->stop_starting && r->running < r->nslots && have_next_job(r) &&
           par_output_pending(&r->out) < PAR_OUT_HIGH_WATER &&
           (r->o->delay_s <= 0 || par_now_mono() >= r->next_start);
}

/* Done: no job running, none to start, and the queued output written
   (or given up: stdout broken, or a terminating signal). */
static int loop_done(par_runner *r) {
    if (r->running > 0) return 0;
    if (!r->stop_starting && have_next_job(r)) return 0;
    return r->by_signal || par_output_pending(&r->out) == 0;
}

static void dispatch(par_runner *r, const struct pollfd *pf, const int *who, int n) {
    for (int k = 1; k < n; k++) {
        if (!pf[k].revents) continue;
        if (who[k] < -1) par_output_flush(&r->out, -1 - who[k]);
        else read_fd(r, &r->jobs[who[k] / 2], who[k] & 1);
    }
    if (pf[0].revents) handle_signals(r);
}

static void run_loop(par_runner *r) {
    size_t cap = (size_t)r->nslots * 2 + 3;
    struct pollfd *pf = par_xcalloc(cap, sizeof *pf);
    int *who = par_xcalloc(cap, sizeof *who);
    for (;;) {
        while (may_start(r)) start_job(r);
        /* jobs whose spawn failed are complete right away */
        finish_done_jobs(r);
        if (loop_done(r)) break;
        int n = build_pollset(r, pf, who);
        int pr = poll(pf, (nfds_t)n, next_wakeup_ms(r, par_now_mono()));
        if (pr < 0 && errno != EINTR) par_die(255, "poll: %s", strerror(errno));
        if (pr > 0) dispatch(r, pf, who, n);
        double t = par_now_mono();
        check_timeouts(r, t);
        for (int i = 0; i < r->nslots; i++)
            if (r->jobs[i].active) advance_kill(&r->jobs[i], t);
        if (r->out.broken && !r->aborting) abort_all(r, 255);
        finish_done_jobs(r);
    }
    free(pf);
    free(who);
}

/* The fatal-error hook: SIGKILL to every job's process group, so that no
   job outlives the runner. */
static void kill_all_jobs(void *ctx) {
    par_runner *r = ctx;
    double t = par_now_mono();
    for (int i = 0; i < r->nslots; i++)
        if (r->jobs[i].active) kill_now(&r->jobs[i], t);
}

/* Signals arrive through a signalfd; SIGCHLD must not be ignored or
   children would be reaped behind our back. */
static void setup_signals(par_runner *r) {
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    /* a full joblog must give EFBIG (a clear error), not kill the runner */
    r->xfsz_default = signal(SIGXFSZ, SIG_IGN) == SIG_DFL;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGQUIT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, &r->orig_mask) < 0)
        par_die(255, "sigprocmask: %s", strerror(errno));
    r->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (r->sigfd < 0) par_die(255, "signalfd: %s", strerror(errno));
}

void par_runner_init(par_runner *r, const par_options *o, const par_input *in,
                     const par_template *tpl, const par_template *tagtpl, const unsigned char *skip, size_t total, int jobs,
                     long long joblog_valid) {
    memset(r, 0, sizeof *r);
    r->o = o;
    r->in = in;
    r->tpl = tpl;
    r->tagtpl = tagtpl;
    r->skip = skip;
    r->total = total;
    r->next_seq = 1;
    r->abort_exit = -1;
    r->sigfd = -1;
    for (size_t s = 1; s <= total; s++) r->to_run += !skip[s];
    par_median_init(&r->med);
    par_joblog_open(&r->jl, o->joblog, o->resume || o->resume_failed, joblog_valid);
    setup_signals(r);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    if (r->xfsz_default) sigaddset(&def, SIGXFSZ);
    par_spawner_init(&r->sp, &r->orig_mask, &def);
    if (o->nice_set) par_spawner_set_nice(&r->sp, o->nice);
    r->nslots = jobs;
    r->jobs = par_xcalloc((size_t)jobs, sizeof *r->jobs);
    for (int k = 0; k < jobs; k++) r->jobs[k].fd_out = r->jobs[k].fd_err = -1;
    r->scratch = par_xrealloc(NULL, SCRATCH_SIZE);
    par_output_init_async(&r->out);
}

/* Writes what is still queued (-k blocks flushed at the end, the final
   progress line), still hearing SIGINT/SIGTERM. */
static void drain_output(par_runner *r) {
    struct pollfd pf[3];
    int who[3];
    while (!r->by_signal && par_output_pending(&r->out) > 0) {
        int n = build_pollset(r, pf, who);
        if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR) break;
        dispatch(r, pf, who, n);
    }
}

/* GNU parallel's exit status. */
static int exit_code(const par_runner *r) {
    const par_options *o = r->o;
    int code;
    if (r->aborting) {
        code = r->abort_exit;
    } else if (o->halt_when != PAR_HALT_NEVER) {
        if (r->halt_exit_defined) code = r->halt_exit;
        else if (o->halt_pct > 0)
            code = (int)ceil((double)r->failed / (double)(r->started ? r->started : 1) * 100);
        else code = r->failed < 101 ? (int)r->failed : 101;
    } else {
        code = r->failed < 101 ? (int)r->failed : 101;
    }
    if (r->out.broken && code == 0) code = 255;
    return code;
}

int par_runner_run(par_runner *r) {
    par_set_fatal_hook(kill_all_jobs, r);
    run_loop(r);
    par_set_fatal_hook(NULL, NULL);
    if (r->o->keep) flush_ordered(r);
    progress(r, 1);
    if (!r->by_signal) drain_output(r);
    int code = exit_code(r);
    par_joblog_close(&r->jl);
    return code;
}

void par_runner_free(par_runner *r) {
    for (int i = 0; i < r->nslots; i++) {
        par_job *j = &r->jobs[i];
        par_buf_free(&j->out);
        par_buf_free(&j->err);
        par_buf_free(&j->cmd);
        par_buf_free(&j->tag);
    }
    free(r->jobs);
    for (size_t k = 0; k < r->pend_cap; k++) {
        par_buf_free(&r->pend[k].out);
        par_buf_free(&r->pend[k].err);
        par_buf_free(&r->pend[k].tag);
    }
    free(r->pend);
    free(r->retry);
    free(r->scratch);
    par_args_free(&r->av);
    par_buf_free(&r->tmp);
    par_median_free(&r->med);
    par_spawner_free(&r->sp);
    par_output_free(&r->out);
    if (r->sigfd >= 0) close(r->sigfd);
    r->sigfd = -1;
}
