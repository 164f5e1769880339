/* vpar-parallel: spawning jobs (see par_spawn.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "par_spawn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static const char *const shell_words[] = {
    /* keywords */
    "!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "time", "until", "while",
    /* builtins that act on the shell itself or have no program of that name */
    ".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare",
    "eval", "exec", "exit", "export", "fc", "fg", "getopts", "hash", "jobs", "let", "local",
    "readonly", "read", "return", "set", "shift", "source", "times", "trap", "type",
    "typeset", "ulimit", "umask", "unalias", "unset", "wait", NULL};

static int plain_char(unsigned char c) {
    return isalnum(c) || c >= 0x80 || (c && strchr("_-./+,:@%^=", c));
}

/* The words as an argv array over words->p; returns 0 when a word is a
   shell keyword or builtin, or echo would need sh's backslash rules. */
static int make_argv(par_buf *words, size_t nw, int any_backslash, char ***argvp,
                     size_t *argcap) {
    if (nw + 1 > *argcap) {
        *argcap = 2 * (nw + 1);
        *argvp = par_xrealloc(*argvp, *argcap * sizeof **argvp);
    }
    char **argv = *argvp;
    char *p = words->p;
    for (size_t k = 0; k < nw; k++) {
        argv[k] = p;
        p += strlen(p) + 1;
    }
    argv[nw] = NULL;
    for (const char *const *w = shell_words; *w; w++)
        if (!strcmp(argv[0], *w)) return 0;
    /* sh's echo interprets backslashes, /bin/echo does not */
    if (!strcmp(argv[0], "echo")) {
        if (any_backslash) return 0;
        for (size_t k = 1; k < nw; k++)
            if (strchr(argv[k], '\\')) return 0;
    }
    return 1;
}

int par_split_simple(const char *s, par_buf *words, char ***argvp, size_t *argcap) {
    size_t nw = 0;
    int in_word = 0, any_backslash = 0;
    words->n = 0;
    par_buf_reserve(words, strlen(s) + 1);
    size_t i = 0;
    while (s[i]) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t') {
            if (in_word) { par_buf_addc(words, 0); nw++; in_word = 0; }
            i++;
        } else if (c == '\'') {
            const char *e = strchr(s + i + 1, '\'');
            if (!e) return 0;
            par_buf_add(words, s + i + 1, (size_t)(e - (s + i + 1)));
            in_word = 1;
            i = (size_t)(e - s) + 1;
        } else if (c == '"') {
            size_t j = i + 1;
            while (s[j] && s[j] != '"') {
                if (s[j] == '$' || s[j] == '`' || s[j] == '\\') return 0;
                j++;
            }
            if (!s[j]) return 0;
            par_buf_add(words, s + i + 1, j - i - 1);
            in_word = 1;
            i = j + 1;
        } else if (c == '\\') {
            if (!s[i + 1] || s[i + 1] == '\n') return 0;
            par_buf_addc(words, s[i + 1]);
            any_backslash = 1;
            in_word = 1;
            i += 2;
        } else if (plain_char(c)) {
            if (c == '=' && nw == 0) return 0; /* VAR=value assignment */
            par_buf_addc(words, (char)c);
            in_word = 1;
            i++;
        } else {
            return 0;
        }
    }
    if (in_word) { par_buf_addc(words, 0); nw++; }
    if (nw == 0) return 0;
    return make_argv(words, nw, any_backslash, argvp, argcap);
}

/* PATH lookup of a command name, cached for the last name: most runs use
   one program for every job, and posix_spawnp would otherwise try each PATH
   directory in every child. NULL: not found here (posix_spawnp decides). */
static const char *resolve_cached(par_spawner *sp, const char *name) {
    if (strchr(name, '/')) return name;
    if (sp->last_name.p && !strcmp(sp->last_name.p, name)) return sp->last_ok ? sp->last_path.p : NULL;
    sp->last_name.n = 0;
    par_buf_adds(&sp->last_name, name);
    sp->last_ok = 0;
    const char *path = getenv("PATH");
    if (!path) return NULL;
    for (const char *d = path;;) {
        const char *e = strchr(d, ':');
        size_t dl = e ? (size_t)(e - d) : strlen(d);
        sp->last_path.n = 0;
        if (dl) par_buf_add(&sp->last_path, d, dl);
        else par_buf_addc(&sp->last_path, '.');
        par_buf_addc(&sp->last_path, '/');
        par_buf_adds(&sp->last_path, name);
        struct stat st;
        if (stat(sp->last_path.p, &st) == 0 && S_ISREG(st.st_mode) &&
            access(sp->last_path.p, X_OK) == 0) {
            sp->last_ok = 1;
            return sp->last_path.p;
        }
        if (!e) break;
        d = e + 1;
    }
    return NULL;
}

static void setup_env(par_spawner *sp) {
    size_t n = 0;
    for (char **e = environ; *e; e++) n++;
    sp->envp = par_xcalloc(n + 3, sizeof *sp->envp);
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "PARALLEL_SEQ=", 13) && strncmp(*e, "PARALLEL_JOBSLOT=", 17))
            sp->envp[k++] = *e;
    sp->envp[k++] = sp->env_seq;
    sp->envp[k++] = sp->env_slot;
    sp->envp[k] = NULL;
}

/* Shells that take `-c LINE` with POSIX quoting (what GNU's quoting of
   arguments produces). csh, tcsh and fish are not among them. */
static int posix_shell_name(const char *path) {
    static const char *const names[] = {"sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh",
                                        "pdksh", "ash", "yash", "posh", "lksh", NULL};
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    for (const char *const *n = names; *n; n++)
        if (!strcmp(b, *n)) return 1;
    return 0;
}

/* The parent of pid from /proc/<pid>/stat; 0 when unknown. */
static pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* after "pid (comm)" */
    int ppid = 0;
    if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1) return 0;
    return (pid_t)ppid;
}

/* GNU parallel's choice of shell: $PARALLEL_SHELL, else the nearest
   ancestor process that is a (POSIX) shell, else $SHELL, else /bin/sh. */
static char *choose_shell(void) {
    const char *psh = getenv("PARALLEL_SHELL");
    if (psh && *psh) return par_xstrdup(psh);
    pid_t pid = getppid();
    for (int depth = 0; depth < 16 && pid > 1; depth++) {
        char path[64], exe[4096];
        snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
        ssize_t n = readlink(path, exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            if (posix_shell_name(exe) && access(exe, X_OK) == 0) return par_xstrdup(exe);
        }
        pid = parent_of(pid);
    }
    const char *sh = getenv("SHELL");
    if (sh && *sh == '/' && posix_shell_name(sh) && access(sh, X_OK) == 0) return par_xstrdup(sh);
    return par_xstrdup("/bin/sh");
}

void par_spawner_init(par_spawner *sp, const sigset_t *mask, const sigset_t *defaults) {
    memset(sp, 0, sizeof *sp);
    sp->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (sp->devnull < 0) par_die(255, "cannot open /dev/null: %s", strerror(errno));
    int rc = posix_spawnattr_init(&sp->attr);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&sp->attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                     POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&sp->attr, 0);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&sp->attr, mask);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&sp->attr, defaults);
    if (rc != 0) par_die(255, "posix_spawnattr: %s", strerror(rc));
    sp->shell = choose_shell();
    setup_env(sp);
}

void par_spawner_free(par_spawner *sp) {
    posix_spawnattr_destroy(&sp->attr);
    if (sp->devnull >= 0) close(sp->devnull);
    free(sp->envp);
    free(sp->shell);
    free(sp->nice_argv);
    free(sp->argv);
    par_buf_free(&sp->words);
    par_buf_free(&sp->last_name);
    par_buf_free(&sp->last_path);
    sp->devnull = -1;
}

void par_spawner_set_nice(par_spawner *sp, int niceness) {
    sp->nice_set = 1;
    snprintf(sp->nice_arg, sizeof sp->nice_arg, "%d", niceness);
}

/* argv prefixed with nice -n N when --nice is set. */
static char **with_nice(par_spawner *sp, char **argv) {
    if (!sp->nice_set) return argv;
    size_t n = 0;
    while (argv[n]) n++;
    if (n + 4 > sp->nice_argv_cap) {
        sp->nice_argv_cap = 2 * (n + 4);
        sp->nice_argv = par_xrealloc(sp->nice_argv, sp->nice_argv_cap * sizeof *sp->nice_argv);
    }
    sp->nice_argv[0] = "nice";
    sp->nice_argv[1] = "-n";
    sp->nice_argv[2] = sp->nice_arg;
    for (size_t k = 0; k <= n; k++) sp->nice_argv[3 + k] = argv[k];
    return sp->nice_argv;
}

static int spawn_argv(par_spawner *sp, pid_t *pid, const char *exe, int search,
                      const posix_spawn_file_actions_t *fa, char **argv) {
    if (sp->nice_set) return posix_spawnp(pid, "nice", fa, &sp->attr, with_nice(sp, argv), sp->envp);
    if (search) return posix_spawnp(pid, exe, fa, &sp->attr, argv, sp->envp);
    return posix_spawn(pid, exe, fa, &sp->attr, argv, sp->envp);
}

const char *par_spawn_argv0(const par_spawner *sp) { return sp->argv ? sp->argv[0] : ""; }

int par_spawn_job(par_spawner *sp, const char *cmd, size_t seq, int slot, int capture,
                  par_spawned *res) {
    res->pid = 0;
    res->fd_out = res->fd_err = -1;
    res->err = 0;
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (capture && (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)) {
        par_warn("cannot create a pipe for job %zu: %s", seq, strerror(errno));
        if (po[0] >= 0) { close(po[0]); close(po[1]); }
        return -1;
    }
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa, sp->devnull, 0);
    if (rc == 0 && capture) rc = posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    if (rc == 0 && capture) rc = posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    if (rc != 0) par_die(255, "posix_spawn_file_actions: %s", strerror(rc));

    snprintf(sp->env_seq, sizeof sp->env_seq, "PARALLEL_SEQ=%zu", seq);
    snprintf(sp->env_slot, sizeof sp->env_slot, "PARALLEL_JOBSLOT=%d", slot);

    pid_t pid = 0;
    if (par_split_simple(cmd, &sp->words, &sp->argv, &sp->argv_cap)) {
        const char *exe = resolve_cached(sp, sp->argv[0]);
        rc = spawn_argv(sp, &pid, exe ? exe : sp->argv[0], !exe, &fa, sp->argv);
    } else {
        char *sh_argv[] = {sp->shell, "-c", (char *)cmd, NULL};
        rc = spawn_argv(sp, &pid, sp->shell, 0, &fa, sh_argv);
        if (rc) {
            posix_spawn_file_actions_destroy(&fa);
            par_die(255, "cannot run the shell %s: %s", sp->shell, strerror(rc));
        }
    }
    posix_spawn_file_actions_destroy(&fa);
    if (capture) {
        close(po[1]);
        close(pe[1]);
        res->fd_out = po[0];
        res->fd_err = pe[0];
    }
    if (rc != 0) {
        res->err = rc;
        return 0;
    }
    res->pid = pid;
    return 0;
}
