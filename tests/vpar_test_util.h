/* tests/vpar_test_util.h — small helpers that several tests share, so that
   each is written once (header-only: everything is static inline).

   Include it after the vpar headers a test uses and after vpar_check.h:
   each section below is compiled only when what it needs is there.
     always                  vpar_test_now_s, vpar_test_now_ms,
                             vpar_test_sleep_ms, vpar_test_mix,
                             vpar_test_die_by, vpar_test_sh,
                             VPAR_TEST_SANITIZED, VPAR_TEST_TSAN,
                             VPAR_TEST_ASAN
     fuzz targets            VPAR_FUZZ_CHECK, vpar_fuzz_input_path
     vpar/pool.h             vpar_test_fib_task, vpar_test_fib_iter,
                             vpar_test_noop_range, vpar_test_noop_task;
       + vpar_check.h        vpar_test_pool, vpar_test_check_cover
     vpar/simd.h             vpar_test_light, vpar_test_rng_*, vpar_test_same;
       + vpar_check.h        vpar_test_simd_paths
     vpar/procpool.h         vpar_test_count_shm, vpar_test_sq_task,
                             vpar_test_add_double
   Test code only: these helpers assert with Check or abort(); none belongs
   in the library. */
#ifndef VPAR_TEST_UTIL_H
#define VPAR_TEST_UTIL_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- always --------------------------------------------------------------- */

/* 1 in a ThreadSanitizer / AddressSanitizer build (gcc's macros, clang's
   feature tests), and VPAR_TEST_SANITIZED in either (they make fork and
   atomics much slower). */
#if defined(__SANITIZE_THREAD__)
#  define VPAR_TEST_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define VPAR_TEST_TSAN 1
#  endif
#endif
#ifndef VPAR_TEST_TSAN
#  define VPAR_TEST_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define VPAR_TEST_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define VPAR_TEST_ASAN 1
#  endif
#endif
#ifndef VPAR_TEST_ASAN
#  define VPAR_TEST_ASAN 0
#endif
#define VPAR_TEST_SANITIZED (VPAR_TEST_TSAN || VPAR_TEST_ASAN)

/* Monotonic clock in seconds / milliseconds. */
static inline double vpar_test_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static inline int64_t vpar_test_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps `ms` milliseconds, through signal interruptions. */
static inline void vpar_test_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* A cheap 64-bit mixing function (task results that depend on the index). */
static inline uint64_t vpar_test_mix(uint64_t x) {
    x ^= x >> 31; x *= UINT64_C(0x7fb5d329728ea185); x ^= x >> 27;
    return x;
}

/* Dies from `sig` for real. Sanitizers install their own SIGSEGV handler
   (ASan turns the signal into "exit 1" with a report), so this puts back
   the default action first, as a plain crashing program would have. */
static inline void vpar_test_die_by(int sig) {
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs a shell command line (printf-style, at most 16 KiB); returns its
   exit status, or 128 + the signal that ended it (as the shell reports
   it). abort()s when the shell cannot be started at all. */
static inline int vpar_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int vpar_test_sh(const char *fmt, ...) {
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1) {
        perror("vpar_test_sh: system");
        abort();
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- fuzz targets ---------------------------------------------------------- */

/* An invariant of a fuzz target: on failure, names the target and the
   line, and abort()s (libFuzzer records the input). */
#define VPAR_FUZZ_CHECK(target, cond)                                                 \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s: invariant failed: %s (line %d)\n", (target), #cond,  \
                    __LINE__);                                                        \
            abort();                                                                  \
        }                                                                             \
    } while (0)

#if defined(__linux__)
#include <sys/mman.h>
/* The fuzz input as a file: writes data[0, size) to a memfd named `target`
   (made once, reused by every input of the run) and returns its path
   ("/proc/self/fd/N"), for readers that take a file name. */
static inline const char *vpar_fuzz_input_path(const char *target, const uint8_t *data, size_t size) {
    static int memfd = -1;
    static char path[64];
    if (memfd < 0) {
        memfd = memfd_create(target, MFD_CLOEXEC);
        VPAR_FUZZ_CHECK(target, memfd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    }
    VPAR_FUZZ_CHECK(target, ftruncate(memfd, 0) == 0);
    VPAR_FUZZ_CHECK(target, size == 0 || pwrite(memfd, data, size, 0) == (ssize_t)size);
    return path;
}
#endif

/* ---- vpar/pool.h ----------------------------------------------------------- */

#ifdef VPAR_POOL_H
/* Bodies that do nothing. */
static inline void vpar_test_noop_range(void *u, size_t b, size_t e, int tid) {
    (void)u; (void)b; (void)e; (void)tid;
}
static inline void vpar_test_noop_task(void *u, int tid) { (void)u; (void)tid; }

/* fib(n) by fork-join: spawns fib(n-1), runs fib(n-2), syncs. */
typedef struct vpar_test_fib_arg { int n; long r; } vpar_test_fib_arg;
static inline void vpar_test_fib_task(void *u, int tid) {
    vpar_test_fib_arg *a = (vpar_test_fib_arg *)u;
    if (a->n < 2) { a->r = a->n; return; }
    vpar_test_fib_arg x = {a->n - 1, 0}, y = {a->n - 2, 0};
    vpar_task t;
    vpar_spawn(&t, vpar_test_fib_task, &x);
    vpar_test_fib_task(&y, tid);
    vpar_sync(&t);
    a->r = x.r + y.r;
}
/* The same by the plain loop: the expected value. */
static inline long vpar_test_fib_iter(int n) {
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) { long c = a + b; a = b; b = c; }
    return a;
}

#ifdef ck_assert_msg
#include <stdatomic.h>
/* A pool of n threads, or the test fails. */
static inline vpar_pool *vpar_test_pool(int n) {
    vpar_pool *p = NULL;
    vpar_pool_desc d = {n, 0};
    vpar_status st = vpar_pool_create(&p, &d);
    ck_assert_msg(st == VPAR_OK, "create(%d): %s", n, vpar_last_error());
    ck_assert_int_eq(vpar_pool_size(p), n);
    return p;
}

typedef struct vpar_test_cover {
    _Atomic int *hits;
    size_t begin, grain;
    int nthreads;
    _Atomic int bad;   /* ranges out of bounds, too long, or bad tid */
} vpar_test_cover;

static inline void vpar_test_cover_body(void *u, size_t b, size_t e, int tid) {
    vpar_test_cover *c = (vpar_test_cover *)u;
    if (tid < 0 || tid >= c->nthreads || b >= e || b < c->begin ||
        (c->grain && e - b > c->grain))
        atomic_fetch_add(&c->bad, 1);
    for (size_t i = b; i < e; i++) atomic_fetch_add_explicit(&c->hits[i - c->begin], 1, memory_order_relaxed);
}

/* vpar_parallel_for(p, begin, end, grain) calls its body on non-empty
   ranges of at most `grain` indices (grain 0: any) with a valid thread id,
   and covers every index of [begin, end) exactly once. */
static inline void vpar_test_check_cover(vpar_pool *p, size_t begin, size_t end, size_t grain) {
    size_t n = end - begin;
    vpar_test_cover c;
    c.hits = (_Atomic int *)calloc(n ? n : 1, sizeof *c.hits);
    ck_assert_ptr_nonnull(c.hits);
    c.begin = begin;
    c.grain = grain;
    c.nthreads = p ? vpar_pool_size(p) : 1;
    atomic_init(&c.bad, 0);
    ck_assert_int_eq(vpar_parallel_for(p, begin, end, grain, vpar_test_cover_body, &c), VPAR_OK);
    ck_assert_int_eq(atomic_load(&c.bad), 0);
    /* Check's assertions are slow in hot loops (a pipe write each): find the
       first bad index with plain code, then assert once. */
    size_t i = 0;
    while (i < n && atomic_load(&c.hits[i]) == 1) i++;
    ck_assert_msg(i == n, "[%zu,%zu) grain %zu: index %zu hit %d times", begin, end, grain,
                  begin + i, i < n ? atomic_load(&c.hits[i]) : 1);
    free(c.hits);
}
#endif /* ck_assert_msg */
#endif /* VPAR_POOL_H */

/* ---- vpar/simd.h ----------------------------------------------------------- */

#ifdef VPAR_SIMD_H
#include <math.h>

/* Work level: 0 full; 1 lighter (VPAR_TEST_LIGHT=1: qemu); 2 minimal under
   ThreadSanitizer, which adds nothing to single-threaded numeric checks but
   slows them 50x. */
static inline int vpar_test_light(void) {
#if defined(__SANITIZE_THREAD__)
    return 2;
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
    return 2;
#  endif
#endif
    const char *e = getenv("VPAR_TEST_LIGHT");
    return e && *e ? atoi(e) : 0;
}

/* xorshift64, one stream per test program (seeded per test). */
static inline uint64_t *vpar_test__rng_state(void) {
    static uint64_t state = 88172645463325252ull;
    return &state;
}
static inline void vpar_test_rng_seed(uint64_t s) {
    *vpar_test__rng_state() = s * 2654435761ull + 88172645463325252ull;
}
static inline uint64_t vpar_test_rng_next(void) {
    uint64_t *x = vpar_test__rng_state();
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}
static inline double vpar_test_rng_unit(void) { return (double)(vpar_test_rng_next() >> 11) * 0x1.0p-53; }
static inline double vpar_test_rng_sym(void) { return 2.0 * vpar_test_rng_unit() - 1.0; }

/* Same value, or both NaN (payloads are not specified); zeros must agree
   in sign. */
static inline int vpar_test_same(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

#ifdef ck_abort_msg
/* Fills paths[] (room for VPAR_SIMD_PATH_COUNT - VPAR_SIMD_AVX2) with the
   vector paths this machine runs (not scalar) and
   returns how many. So that loops over them cannot run zero times
   unnoticed, the test fails unless on x86-64 the AVX2 path is among them
   (a CPU without AVX2: set VPAR_TEST_NO_AVX2_OK=1; CI's CPUs have it), and
   AVX-512 too exactly when this CPU has it; on aarch64 NEON. */
static inline int vpar_test_simd_paths(vpar_simd_path *paths) {
    int n = 0;
    for (int p = VPAR_SIMD_AVX2; p < VPAR_SIMD_PATH_COUNT; p++)
        if (vpar_simd_available((vpar_simd_path)p)) paths[n++] = (vpar_simd_path)p;
#if defined(__x86_64__) && !defined(VPAR_NO_SIMD) && !defined(VPAR_NO_AVX2) && !defined(VPAR_NO_AVX512)
    const char *optout = getenv("VPAR_TEST_NO_AVX2_OK");
    int allow_none = optout && strcmp(optout, "1") == 0;
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int has_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                     __builtin_cpu_supports("fma");
    int seen_avx2 = 0, seen_avx512 = 0;
    for (int i = 0; i < n; i++) {
        seen_avx2 |= paths[i] == VPAR_SIMD_AVX2;
        seen_avx512 |= paths[i] == VPAR_SIMD_AVX512;
    }
    if (!(seen_avx2 || (allow_none && !has_avx2)))
        ck_abort_msg("x86-64: the AVX2 path is not exercised (CPU has it: %d); set VPAR_TEST_NO_AVX2_OK=1 "
                     "only on a CPU without AVX2", has_avx2);
    if (seen_avx512 != has_avx512)
        ck_abort_msg("x86-64: CPU has AVX-512F/DQ: %d, path exercised: %d", has_avx512, seen_avx512);
#endif
#if defined(__aarch64__) && !defined(VPAR_NO_SIMD)
    if (!(n == 1 && paths[0] == VPAR_SIMD_NEON)) ck_abort_msg("aarch64: the NEON path is not exercised");
#endif
    return n;
}
#endif /* ck_abort_msg */
#endif /* VPAR_SIMD_H */

/* ---- vpar/procpool.h ------------------------------------------------------- */

#ifdef VPAR_PROCPOOL_H
#include <dirent.h>

/* Number of /dev/shm entries whose name starts with `prefix` (no '/'). */
static inline int vpar_test_count_shm(const char *prefix) {
    DIR *d = opendir("/dev/shm");
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

/* A procpool task: result (uint64_t) = vpar_test_mix(i). */
static inline int vpar_test_sq_task(void *user, size_t i, void *result) {
    (void)user;
    *(uint64_t *)result = vpar_test_mix(i);
    return 0;
}

/* A shmap update: value (double) += *user. */
static inline int vpar_test_add_double(void *user, void *value, int existed) {
    (void)existed;
    *(double *)value += *(const double *)user;
    return 0;
}
#endif /* VPAR_PROCPOOL_H */

#endif /* VPAR_TEST_UTIL_H */
