/* vpar-parallel: starting one job — directly with posix_spawn when the
   command needs no shell, through the shell otherwise — in its own process
   group, with stdin from /dev/null and stdout/stderr on pipes. */
#ifndef PAR_SPAWN_H
#define PAR_SPAWN_H

#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <sys/types.h>

#include "par_util.h"

typedef struct par_spawner {
    posix_spawnattr_t attr;
    char **envp; /* environ plus PARALLEL_SEQ and PARALLEL_JOBSLOT */
    char env_seq[48], env_slot[48];
    char *shell;
    int devnull;
    /* scratch for split_simple */
    par_buf words;
    char **argv;
    size_t argv_cap;
    /* PATH lookup cache (the last name looked up) */
    par_buf last_name, last_path;
    int last_ok;
    /* --nice: jobs run as `nice -n N ...` (set before the job's first
       instruction, unlike a setpriority() after the spawn) */
    int nice_set;
    char nice_arg[16];
    char **nice_argv;
    size_t nice_argv_cap;
} par_spawner;

typedef struct par_spawned {
    pid_t pid;          /* 0 when the program could not be started */
    int fd_out, fd_err; /* read ends, -1 when not captured */
    int err;            /* errno of a failed start (ENOENT: not found) */
} par_spawned;

/* Prepares spawning: job signal mask `mask` (the caller's mask before it
   blocked its signals), default dispositions for the signals in `defaults`,
   the shell (GNU's rule: $PARALLEL_SHELL, else the nearest ancestor
   process that is a POSIX shell, else $SHELL, else /bin/sh). Fatal on
   errors. */
void par_spawner_init(par_spawner *sp, const sigset_t *mask, const sigset_t *defaults);
void par_spawner_free(par_spawner *sp);
/* Runs every job under `nice -n niceness`. */
void par_spawner_set_nice(par_spawner *sp, int niceness);

/* Starts cmd as job seq in slot. capture: stdout/stderr on new pipes.
   Returns 0 (res->pid > 0 started; res->pid == 0 the program could not be
   started, res->err says why), or -1 when no pipe could be created (a
   warning was printed). A shell that cannot be started is fatal. */
int par_spawn_job(par_spawner *sp, const char *cmd, size_t seq, int slot, int capture,
                  par_spawned *res);
/* The program name of the last direct start (for "command not found"). */
const char *par_spawn_argv0(const par_spawner *sp);

/* Splits cmd into argv words the way sh would, or returns 0 if only a
   shell can run it (metacharacters, expansions, keywords, assignments).
   Pure; exposed for tests. */
int par_split_simple(const char *s, par_buf *words, char ***argvp, size_t *argcap);

#endif
