/* examples/common/excommon.h — helpers shared by the example programs
   (vpar-egad, vpar-aggregate, vpar-simnet, vpar-rank, vpar-rowsums): one
   copy of each, in the static library `vpar_examples_common` (built with
   the examples or the tests, never installed; not part of vpar's API).

   WHAT
     args.c      command-line options: one style of error message for bad
                 options and values (vpar_ex_getopt), --version, thread-count
                 checks; strict number parsing, with the
                 one "<prog>: <opt> '<value>': expected ..." message format
     sys.c       monotonic clock, CPU count (affinity mask), available
                 memory, file-name suffixes, mkdir -p, basename
     buf.c       growable string buffer, CSV number formatting (17
                 significant digits, NaN as "NaN"), atomic write
     file.c      whole-file reading (gzip detected from the content: zlib
                 when built with VPAR_EX_WITH_ZLIB, else `gzip -dc`), line
                 splitting, packed string arrays
     rng.c       xoshiro256** seeded by splitmix64, Lemire's bounded draw
     progress.c  the progress bar shared by forked workers, status lines

   BUILD
     Link the CMake target vpar_examples_common. The library includes vpar's
     headers without VPAR_IMPLEMENTATION: the program's one .c file that
     defines VPAR_IMPLEMENTATION provides vpar_fail, vpar_write_file_atomic
     and the rest. Errors follow vpar: functions returning vpar_status set
     vpar_last_error() ("<file>: <what is wrong>").

   CALLING CONTEXTS
     Everything: any thread, no global state (vpar_ex_rng: one per thread;
     vpar_ex_progress: see below).
*/
#ifndef VPAR_EXCOMMON_H
#define VPAR_EXCOMMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vpar/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define VPAR_EX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define VPAR_EX_PRINTF(f, a)
#endif

/* ---- args.c: numbers in options ----------------------------------------- */

/* Decimal digits only (no sign, no space), fits in 64 bits: 1, else 0. */
int vpar_ex_parse_u64(const char *s, uint64_t *out);
/* Decimal integer in [lo, hi] (digits only, so lo >= 0 in practice). */
int vpar_ex_parse_int(const char *s, long long lo, long long hi, long long *out);
/* Whole string is a number (strtod syntax) in [lo, hi]. */
int vpar_ex_parse_double(const char *s, double lo, double hi, double *out);

/* The same, printing on failure
     "<prog>: <opt> '<s>': expected an integer >= <lo>"   (hi == INT_MAX)
     "<prog>: <opt> '<s>': expected an integer in [<lo>, <hi>]"
     "<prog>: <opt> '<s>': expected a number in [<lo>, <hi>]"
     "<prog>: <opt> '<s>': expected an unsigned 64-bit integer"
   to stderr. Return 1 on success, 0 after printing. */
int vpar_ex_opt_int(const char *prog, const char *opt, const char *s, int lo, int hi, int *out);
int vpar_ex_opt_size(const char *prog, const char *opt, const char *s, size_t lo, size_t hi,
                     size_t *out);
int vpar_ex_opt_double(const char *prog, const char *opt, const char *s, double lo, double hi,
                       double *out);
int vpar_ex_opt_u64(const char *prog, const char *opt, const char *s, uint64_t *out);

/* ---- args.c: one style for every program's options ------------------------ */

struct option; /* <getopt.h> */

/* getopt_long(argc, argv, shorts, longs, NULL) with the programs' one
   style for bad options: it prints, to stderr,
     "<prog>: unknown option '--foo' (try --help)"
     "<prog>: option '--out' needs a value (try --help)"
     "<prog>: option '--quiet' takes no value (try --help)"
     "<prog>: ambiguous option '--no' (--no-header, --no-resume; try --help)"
   (short options as '-x'; never getopt's own messages, which name argv[0])
   and returns '?' for each of them; otherwise what getopt_long returns.
   Callers exit 2 on '?'. Not thread-safe (getopt's globals). */
int vpar_ex_getopt(const char *prog, int argc, char **argv, const char *shorts,
                   const struct option *longs);
/* --version: "<prog> <VPAR_VERSION_STRING>" on stdout. */
void vpar_ex_print_version(const char *prog);
/* $VPAR_NUM_THREADS, when set, must be what vpar_pool_create accepts (an
   integer from 1 to VPAR_POOL_MAX_THREADS); else prints "<prog>:
   VPAR_NUM_THREADS='two': expected a number of threads from 1 to ...
   (unset it, or give <opt> N)" and returns 0 (callers exit 2 before any
   work). 1 when unset or valid. */
int vpar_ex_check_threads_env(const char *prog, const char *opt);
/* When threads exceeds the CPUs this process may use, prints "<prog>:
   warning: <what> is <threads> threads on <cpus> CPUs: ..." and returns 1;
   else 0. what names the options ("-j 4 x -t 2"). */
int vpar_ex_warn_threads(const char *prog, const char *what, long threads);
/* Removes trailing '/' from a directory name in place ("out/" -> "out",
   "/" stays), so joined paths have no "//". Returns dir. */
char *vpar_ex_trim_dir(char *dir);
/* What a message printed while a progress line may be on the terminal
   starts with: "\r" + erase-line when stderr is a terminal (the message
   replaces the progress line, which is redrawn below it), else "" (no
   blank lines between messages in a log). */
const char *vpar_ex_msg_start(void);

/* ---- sys.c: clock, CPUs, memory, paths ----------------------------------- */

/* CLOCK_MONOTONIC in seconds / nanoseconds (system-wide: comparable across
   processes). */
double vpar_ex_now(void);
uint64_t vpar_ex_now_ns(void);
/* vpar_cpu_count() (the same code: common.h's vpar__cpu_count), for code
   that links without vpar's implementation (vpar-parallel); programs with
   it may call vpar_cpu_count() directly. */
int vpar_ex_cpu_count(void);
/* Installs handler for the signals that ask a run to stop: SIGINT
   (Ctrl-C), SIGTERM and SIGUSR1 (Slurm --signal, Grid Engine's s_rt and
   -notify warnings). */
void vpar_ex_on_stop_signals(void (*handler)(int));
/* The stop protocol of vpar-egad and vpar-aggregate: installs a handler for
   those signals that sets *flag, remembers the signal and calls interrupt()
   (async-signal-safe work only, e.g. vpar_procpool_interrupt; may be NULL). */
void vpar_ex_stop_on_signals(atomic_int *flag, void (*interrupt)(void));
/* Exit status of a stopped run: VPAR_EX_EXIT_STOPPED (75) when the signal
   was SIGTERM or SIGUSR1 (a batch system's time limit), else
   VPAR_EX_EXIT_INTERRUPTED (130). */
int vpar_ex_stop_exit_code(void);

/* Exit statuses shared by the programs (their --help lists them). */
enum {
    VPAR_EX_EXIT_USAGE = 2,        /* bad usage or input shared by all items */
    VPAR_EX_EXIT_INCOMPLETE = 3,   /* --merge: items missing (resubmit them) */
    VPAR_EX_EXIT_STOPPED = 75,     /* SIGTERM/SIGUSR1: EX_TEMPFAIL, rerun with --resume */
    VPAR_EX_EXIT_INTERRUPTED = 130 /* SIGINT */
};
/* MemAvailable from /proc/meminfo in bytes; 0 when unknown. */
uint64_t vpar_ex_mem_available(void);

/* 1 when s ends with suf, ignoring ASCII case. */
int vpar_ex_has_suffix(const char *s, const char *suf);
/* 1 for the HDF5 file names the programs accept: .h5 .hdf5 .hdf .he5. */
int vpar_ex_is_hdf5_name(const char *path);
/* The text after the last '/' (the whole path when there is none). */
const char *vpar_ex_basename(const char *path);
/* Creates dir and its missing parents (mkdir -p). 0, or -1 with errno
   (ENOTDIR when dir exists as something else). */
int vpar_ex_mkdir_p(const char *dir);
/* snprintf into buf; 1 when the whole text fit, 0 when it did not. */
int vpar_ex_path(char *buf, size_t cap, const char *fmt, ...) VPAR_EX_PRINTF(3, 4);

/* ---- buf.c: growable text ------------------------------------------------- */

/* Zero-initialise ({0}); `failed` records an allocation or format failure,
   after which appends do nothing and vpar_ex_buf_write_atomic fails. */
typedef struct vpar_ex_buf {
    char *p;
    size_t len, cap;
    int failed;
} vpar_ex_buf;

/* Room for `extra` more bytes; 0 (and failed set) when out of memory. */
int vpar_ex_buf_reserve(vpar_ex_buf *b, size_t extra);
int vpar_ex_buf_append(vpar_ex_buf *b, const void *src, size_t n);
void vpar_ex_buf_printf(vpar_ex_buf *b, const char *fmt, ...) VPAR_EX_PRINTF(2, 3);
/* A CSV number: "%.17g", NaN as "NaN". */
void vpar_ex_buf_num(vpar_ex_buf *b, double x);
void vpar_ex_buf_free(vpar_ex_buf *b);
/* Writes the buffer to path atomically (vpar_write_file_atomic: a
   temporary file renamed over path), so a reader never sees a partial
   file. VPAR_ERR_NOMEM when the buffer failed. */
vpar_status vpar_ex_buf_write_atomic(const char *path, const vpar_ex_buf *b);

/* ---- file.c: reading --------------------------------------------------------- */

enum {
    VPAR_EX_READ_GZIP = 1,      /* gunzip when the file starts with the gzip magic */
    VPAR_EX_READ_TEXT = 2,      /* fail (VPAR_ERR_FORMAT) on NUL bytes */
    VPAR_EX_READ_ENOENT_NOT_FOUND = 4 /* a missing file is VPAR_ERR_NOT_FOUND, not _IO */
};

/* read(2) retried on EINTR: > 0 bytes read, 0 at end of file, -1 (errno)
   on error. Any thread. */
ssize_t vpar_ex_read_retry(int fd, void *buf, size_t n);
/* close(2) that keeps errno; returns -1 (for `return vpar_ex_close_fail(fd);`
   on an error path). */
int vpar_ex_close_fail(int fd);

/* Reads the whole file into *out (appended; NUL-terminated, the NUL not
   counted in len). Free with vpar_ex_buf_free, also on failure. */
vpar_status vpar_ex_read_file(const char *path, int flags, vpar_ex_buf *out);

/* Reads a text file as lines: trailing "\r" removed, no entry for the
   empty text after a final newline. *lines is one allocation holding the
   NULL-terminated pointer array and the text (free with VPAR_FREE);
   *ends_nl (may be NULL) tells whether the text ended with a newline. */
vpar_status vpar_ex_read_lines(const char *path, int flags, char ***lines, size_t *n,
                               int *ends_nl);

/* Copies n strings into one allocation (NULL-terminated pointer array,
   then the text; free with VPAR_FREE). NULL when out of memory. */
char **vpar_ex_strings_copy(const char *const *src, size_t n);

/* 1 when built with zlib (gzip read in-process), 0 when `gzip -dc` runs. */
int vpar_ex_have_zlib(void);

/* ---- rng.c: xoshiro256** ------------------------------------------------------ */

typedef struct vpar_ex_rng {
    uint64_t s[4];
} vpar_ex_rng;

/* State = four successive splitmix64 outputs started at seed. */
void vpar_ex_rng_seed(vpar_ex_rng *rng, uint64_t seed);
uint64_t vpar_ex_rng_next(vpar_ex_rng *rng);
/* Uniform in [0, bound), bound >= 1, unbiased (Lemire's method; the
   rejection rule is documented in examples/aggregate/aggregate.h). */
uint64_t vpar_ex_rng_below(vpar_ex_rng *rng, uint64_t bound);
/* Uniform double in [0, 1): the top 53 bits of next(). */
double vpar_ex_rng_unif(vpar_ex_rng *rng);

/* ---- progress.c -------------------------------------------------------------------- */

/* A progress bar over `total` steps. Place it in MAP_SHARED memory to
   share it with forked workers: the counters are lock-free atomics, and
   whoever completes a step redraws the bar (at most every 100 ms, decided
   by a CAS so that two processes never draw at once). */
typedef struct vpar_ex_progress {
    _Atomic uint64_t done;        /* steps completed */
    _Atomic uint64_t last_draw;   /* monotonic ns of the last redraw */
    uint64_t total;
    uint64_t start_ns;
    int fd;                       /* where to draw (stderr); -1: never */
} vpar_ex_progress;

/* enabled: draw on fd 2 (callers pass isatty(2)). */
void vpar_ex_progress_init(vpar_ex_progress *pr, uint64_t total, int enabled);
/* One step done; may redraw. Any thread or process. */
void vpar_ex_progress_step(vpar_ex_progress *pr);
/* Draws the final state and ends the line. */
void vpar_ex_progress_finish(vpar_ex_progress *pr);
/* "[####....]  40% 4/10 steps  0:03 elapsed  ETA 0:05" into buf (no
   control characters); returns buf. */
char *vpar_ex_progress_format(char *buf, size_t cap, uint64_t done, uint64_t total,
                              double elapsed, int width);
/* Replaces the current terminal line of fd with the formatted text ("\r",
   erase line, text) in one write(2), so concurrent writers do not
   interleave. */
void vpar_ex_status_line(int fd, const char *fmt, ...) VPAR_EX_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif
#endif /* VPAR_EXCOMMON_H */
