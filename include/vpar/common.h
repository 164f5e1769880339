/* vpar/common.h — status codes, error messages and configuration shared by
   every vpar header.

   WHAT
     Every vpar function that can fail returns a `vpar_status` (VPAR_OK == 0).
     The calling thread's last error also carries a human-readable detail
     that names the file or argument and what is wrong, like dlerror().
     Every message has the form "<file or function>: <what is wrong>": the
     path when the call reads or writes a file, otherwise the public
     function that failed (docs/common.md states the rule):

         vpar_npy a;
         vpar_status st = vpar_npy_open(&a, "net.npy", 0);
         if (st != VPAR_OK) {
             fprintf(stderr, "error: %s\n", vpar_last_error());
             // e.g. "net.npy: truncated data: shape needs 800 bytes
             //       of data but the file holds 640"
             return 1;
         }

   SHARING STATE ACROSS TRANSLATION UNITS
     vpar is header-only in the stb style. Exactly one .c file of a program
     defines VPAR_IMPLEMENTATION before including "vpar.h" (or any vpar
     header); every other file includes it plainly and sees declarations only.
     Process-wide state (the SIMD dispatch table, the default thread pool,
     the thread-local error buffer) therefore exists exactly once.
     tests/test_two_tu*.c proves it.

     Define VPAR_STATIC as well to make every function `static` for a
     single-file program that wants no external symbols.

   BUILDING
     On Linux the implementation needs _GNU_SOURCE defined before any system
     header: cc -std=c11 -D_GNU_SOURCE ... (vpar::vpar and pkg-config add
     it; without it the implementation stops with an #error saying so).

   CONFIGURATION MACROS (define before including, in every TU alike)
     VPAR_ASSERT(x)          assertion used internally (default: assert(x))
     VPAR_MALLOC(sz)         allocator hooks; define all three or none
     VPAR_REALLOC(p, sz)     (defaults: malloc/realloc/free)
     VPAR_FREE(p)
     VPAR_NO_SIMD, VPAR_NO_AVX2, VPAR_NO_AVX512, VPAR_NO_NEON
                             compile out vector paths (see vpar/simd.h)

   CALLING CONTEXTS
     vpar_status_str: any thread, any time (pure).
     vpar_last_error: any thread; refers to the calling thread's last failure.
     vpar_cpu_count: any thread.
*/
#ifndef VPAR_COMMON_H
#define VPAR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VPAR_API
#  ifdef VPAR_STATIC
#    define VPAR_API static
#  else
#    define VPAR_API extern
#  endif
#endif

#define VPAR_VERSION_MAJOR 0
#define VPAR_VERSION_MINOR 1
#define VPAR_VERSION_PATCH 0
#define VPAR_VERSION_STRING "0.1.0"

/* One list generates the enum and the messages. */
#define VPAR__STATUS_LIST(X)                                                  \
    X(VPAR_OK,              "ok")                                            \
    X(VPAR_ERR_NOMEM,       "out of memory")                                 \
    X(VPAR_ERR_INVALID,     "invalid argument")                              \
    X(VPAR_ERR_IO,          "input/output error")                            \
    X(VPAR_ERR_FORMAT,      "malformed input")                               \
    X(VPAR_ERR_UNSUPPORTED, "unsupported format or feature")                 \
    X(VPAR_ERR_SHAPE,       "wrong shape")                                   \
    X(VPAR_ERR_OVERFLOW,    "size overflow")                                 \
    X(VPAR_ERR_NOT_FOUND,   "not found")                                     \
    X(VPAR_ERR_FULL,        "capacity exhausted")                            \
    X(VPAR_ERR_TIMEOUT,     "timed out")                                     \
    X(VPAR_ERR_CRASHED,     "worker died")                                   \
    X(VPAR_ERR_INTERRUPTED, "interrupted")                                   \
    X(VPAR_ERR_SYSTEM,      "system call failed")                            \
    X(VPAR_ERR_CPU,         "instruction set not supported by this CPU")     \
    X(VPAR_ERR_STATE,       "operation not allowed in the current state")    \
    X(VPAR_ERR_NOSPACE,     "no space left on device")

typedef enum vpar_status {
#define VPAR__STATUS_ENUM(name, text) name,
    VPAR__STATUS_LIST(VPAR__STATUS_ENUM)
#undef VPAR__STATUS_ENUM
    VPAR_STATUS_COUNT
} vpar_status;

/* The fixed description of a status code ("truncated data" style details
   live in vpar_last_error()). Never NULL; unknown codes give "unknown
   status". Any thread. */
VPAR_API const char *vpar_status_str(vpar_status status);

/* The calling thread's most recent error detail, e.g.
   "net.npy: unsupported dtype '>f8' (big-endian)". Empty string when no
   vpar call has failed on this thread. The buffer is thread-local and is
   overwritten by the next failing call on the same thread. Any thread. */
VPAR_API const char *vpar_last_error(void);

/* Clears the calling thread's error detail. Any thread. */
VPAR_API void vpar_clear_error(void);

/* Records an error detail for the calling thread (printf-style) and returns
   `status` so that library code can write `return vpar_fail(ST, ...)`.
   Public so that applications built on vpar (the examples) report errors
   the same way. Any thread. */
VPAR_API vpar_status vpar_fail(vpar_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Like vpar_fail, appending ": <strerror(err)>" for system errors. */
VPAR_API vpar_status vpar_fail_errno(vpar_status status, int err,
                                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Writes the concatenation of `count` buffers (bufs[i], lens[i] bytes) to
   `path` atomically: into a temporary file next to it (mode 0644), flushed
   with fsync, then renamed over `path`. Readers — and a resumed run
   looking for complete outputs — never see a partial file, and a failure
   leaves an existing `path` untouched and no temporary file behind.
   Errors: VPAR_ERR_IO (errno kept), VPAR_ERR_NOMEM. Any thread. */
VPAR_API vpar_status vpar_write_file_atomic(const char *path, const void *const *bufs,
                                            const size_t *lens, size_t count);

/* Number of CPUs the calling thread may run on: the size of its affinity
   mask (sched_getaffinity, so `taskset`, cgroup cpusets and container CPU
   limits expressed as cpusets are honoured; masks beyond 1024 CPUs are
   read with a dynamically sized set), else the online CPU count
   (sysconf), else 1. Always >= 1. errno is left unchanged. The pools size
   themselves with it (vpar_pool_create with num_threads 0). Any thread. */
VPAR_API int vpar_cpu_count(void);

/* ---- large buffers ------------------------------------------------------ */

/* A zero-filled buffer of `bytes` for big, long-lived arrays (matrices,
   rank keys, per-thread scratch of megabytes): on Linux an anonymous
   mmap aligned to 2 MiB with madvise(MADV_HUGEPAGE), so that transparent
   huge pages in "madvise" mode back it and first touches fault 2 MiB at a
   time instead of 4 KiB (fewer faults, less kernel time, fewer TLB
   misses); below 1 MiB, or off Linux, plain VPAR_MALLOC. The contents
   are undefined (zero on the mmap path only). Returns NULL on failure,
   and a non-NULL pointer for bytes == 0.
   Allocator hooks: when the program defines VPAR_MALLOC/VPAR_REALLOC/
   VPAR_FREE (its own allocator, e.g. to account or cap memory), this
   helper honours them and never calls mmap: the buffer comes from
   VPAR_MALLOC (no huge-page advice), so every byte vpar uses still
   passes through the program's hooks. AddressSanitizer builds take the
   VPAR_MALLOC path as well (mmap'd memory would have no redzones).
   Free only with vpar_free_large(p, bytes) and the same `bytes`. Any
   thread. */
VPAR_API void *vpar_alloc_large(size_t bytes);

/* Releases a vpar_alloc_large buffer; `bytes` must be the size it was
   allocated with. NULL is ignored. Any thread. */
VPAR_API void vpar_free_large(void *p, size_t bytes);

/* ---- configuration ----------------------------------------------------- */

#ifndef VPAR_ASSERT
#  include <assert.h>
#  define VPAR_ASSERT(x) assert(x)
#endif

#if defined(VPAR_MALLOC) || defined(VPAR_REALLOC) || defined(VPAR_FREE)
#  if !defined(VPAR_MALLOC) || !defined(VPAR_REALLOC) || !defined(VPAR_FREE)
#    error "vpar: define all of VPAR_MALLOC, VPAR_REALLOC and VPAR_FREE, or none"
#  endif
#else
#  include <stdlib.h>
#  define VPAR__DEFAULT_ALLOC 1
#  define VPAR_MALLOC(sz) malloc(sz)
#  define VPAR_REALLOC(p, sz) realloc((p), (sz))
#  define VPAR_FREE(p) free(p)
#endif

/* Cache-line size used to pad per-worker state. */
#ifndef VPAR_CACHE_LINE
#  define VPAR_CACHE_LINE 64
#endif

/* Checked size arithmetic: returns 0 on overflow, 1 otherwise. */
static inline int vpar__mul_size(size_t a, size_t b, size_t *out) {
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_mul_overflow(a, b, out);
#else
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
#endif
}

static inline int vpar__add_size(size_t a, size_t b, size_t *out) {
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_add_overflow(a, b, out);
#else
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
#endif
}

#ifdef __cplusplus
}
#endif
#endif /* VPAR_COMMON_H */

/* ======================================================================== */
/* vpar_cpu_count's rule, also for code without VPAR_IMPLEMENTATION          */
/* ======================================================================== */
/* The one implementation of vpar_cpu_count(), as the static function
   vpar__cpu_count, compiled in a file that defines VPAR_IMPLEMENTATION or
   VPAR__CPU_COUNT_STATIC. The latter is for vpar's own helper code that
   links into programs without vpar's implementation (examples/common, in
   vpar-parallel); everyone else calls vpar_cpu_count(). */
#if (defined(VPAR_IMPLEMENTATION) || defined(VPAR__CPU_COUNT_STATIC)) && !defined(VPAR__CPU_COUNT_DEFINED)
#define VPAR__CPU_COUNT_DEFINED
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  error "vpar: compile the file that defines VPAR_IMPLEMENTATION with -D_GNU_SOURCE (the CMake target and pkg-config add it)"
#endif
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <unistd.h>

static int vpar__cpu_count(void) {
    int saved = errno;
    int count = 0;
#if defined(__linux__) && defined(CPU_ALLOC) && defined(CPU_COUNT_S)
    /* The kernel rejects (EINVAL) a buffer smaller than its own mask:
       double it until it fits (cpu_set_t alone stops at 1024 CPUs). */
    for (size_t ncpu = CPU_SETSIZE; ncpu <= ((size_t)1 << 22) && count == 0; ncpu *= 2) {
        cpu_set_t *set = CPU_ALLOC(ncpu);
        if (!set) break;
        size_t bytes = CPU_ALLOC_SIZE(ncpu);
        CPU_ZERO_S(bytes, set);
        int r = sched_getaffinity(0, bytes, set);
        int e = errno;
        if (r == 0) count = CPU_COUNT_S(bytes, set);
        CPU_FREE(set);
        if (r == 0 || e != EINVAL) break;
    }
#endif
    if (count <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        count = c > 0 ? (c > INT_MAX ? INT_MAX : (int)c) : 1;
    }
    errno = saved;
    return count;
}
#endif /* VPAR__CPU_COUNT_DEFINED */

/* ======================================================================== */
/* Implementation                                                            */
/* ======================================================================== */
#if defined(VPAR_IMPLEMENTATION) && !defined(VPAR_COMMON_IMPLEMENTED)
#define VPAR_COMMON_IMPLEMENTED

/* The implementation uses Linux/GNU declarations (mkostemp, memfd_create,
   futex, sched_getaffinity) that strict -std=c11 hides: say so once, here,
   instead of a screen of implicit-declaration errors further down. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  error "vpar: compile the file that defines VPAR_IMPLEMENTATION with -D_GNU_SOURCE (the CMake target and pkg-config add it)"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef VPAR_ERROR_CAPACITY
#  define VPAR_ERROR_CAPACITY 512
#endif

#if defined(__cplusplus)
#  define VPAR__THREAD_LOCAL thread_local
#else
#  define VPAR__THREAD_LOCAL _Thread_local
#endif

static VPAR__THREAD_LOCAL char vpar__error_buffer[VPAR_ERROR_CAPACITY];

VPAR_API const char *vpar_status_str(vpar_status status) {
    switch (status) {
#define VPAR__STATUS_CASE(name, text) case name: return text;
        VPAR__STATUS_LIST(VPAR__STATUS_CASE)
#undef VPAR__STATUS_CASE
    default: return "unknown status";
    }
}

VPAR_API const char *vpar_last_error(void) { return vpar__error_buffer; }

VPAR_API void vpar_clear_error(void) { vpar__error_buffer[0] = '\0'; }

VPAR_API vpar_status vpar_fail(vpar_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vpar__error_buffer, sizeof vpar__error_buffer, fmt, ap);
    va_end(ap);
    return status;
}

VPAR_API vpar_status vpar_fail_errno(vpar_status status, int err,
                                     const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(vpar__error_buffer, sizeof vpar__error_buffer, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof vpar__error_buffer)
        snprintf(vpar__error_buffer + n, sizeof vpar__error_buffer - (size_t)n,
                 ": %s", strerror(err));
    errno = err;
    return status;
}

VPAR_API int vpar_cpu_count(void) { return vpar__cpu_count(); }

VPAR_API vpar_status vpar_write_file_atomic(const char *path, const void *const *bufs,
                                            const size_t *lens, size_t count) {
    size_t plen = strlen(path);
    char *tmp = (char *)VPAR_MALLOC(plen + 16);
    if (!tmp) return vpar_fail(VPAR_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        VPAR_FREE(tmp);
        return vpar_fail_errno(VPAR_ERR_IO, e, "%s: cannot create a temporary file next to it", path);
    }
    int ok = 1, e = 0;
    for (size_t i = 0; ok && i < count; i++) {
        const char *p = (const char *)bufs[i];
        size_t left = lens[i];
        while (left > 0) {
            /* write() moves at most ~2 GiB per call on Linux */
            ssize_t w = write(fd, p, left > ((size_t)1 << 30) ? ((size_t)1 << 30) : left);
            if (w < 0) {
                if (errno == EINTR) continue;
                ok = 0;
                e = errno;
                break;
            }
            p += w;
            left -= (size_t)w;
        }
    }
    if (ok && fchmod(fd, 0644) != 0) { ok = 0; e = errno; } /* mkostemp makes 0600 */
    if (ok && fsync(fd) != 0) { ok = 0; e = errno; }
    if (close(fd) != 0 && ok) { ok = 0; e = errno; }
    if (ok && rename(tmp, path) != 0) { ok = 0; e = errno; }
    if (!ok) unlink(tmp);
    VPAR_FREE(tmp);
    return ok ? VPAR_OK : vpar_fail_errno(VPAR_ERR_IO, e, "%s: write failed", path);
}

/* Hooks defined by the program: the large buffers go through them too.
   Under AddressSanitizer too: mmap'd memory has no redzones, malloc'd has. */
#if defined(__SANITIZE_ADDRESS__)
#  define VPAR__LARGE_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define VPAR__LARGE_ASAN 1
#  endif
#endif
#if (defined(VPAR_MALLOC) && !defined(VPAR__DEFAULT_ALLOC)) || defined(VPAR__LARGE_ASAN)
#  define VPAR__LARGE_USE_HOOKS 1
#elif defined(__linux__)
#  include <sys/mman.h>
#  define VPAR__LARGE_USE_HOOKS 0
#else
#  define VPAR__LARGE_USE_HOOKS 1
#endif
#define VPAR__LARGE_MIN ((size_t)1 << 20)
#define VPAR__LARGE_ALIGN ((size_t)2 << 20)

VPAR_API void *vpar_alloc_large(size_t bytes) {
#if !VPAR__LARGE_USE_HOOKS
    if (bytes >= VPAR__LARGE_MIN) {
        size_t span;
        if (!vpar__add_size(bytes, VPAR__LARGE_ALIGN, &span)) { errno = ENOMEM; return NULL; }
        /* over-map by 2 MiB, then trim both ends to a 2 MiB boundary */
        char *raw = (char *)mmap(NULL, span, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == (char *)MAP_FAILED) return NULL;
        uintptr_t a = ((uintptr_t)raw + VPAR__LARGE_ALIGN - 1) & ~(uintptr_t)(VPAR__LARGE_ALIGN - 1);
        char *p = (char *)a;
        size_t head = (size_t)(p - raw);
        size_t len = (bytes + 4095) & ~(size_t)4095;
        if (head) munmap(raw, head);
        if (span - head > len) munmap(p + len, span - head - len);
#  ifdef MADV_HUGEPAGE
        (void)madvise(p, len, MADV_HUGEPAGE);
#  endif
        return p;
    }
#endif
    return VPAR_MALLOC(bytes ? bytes : 1);
}

VPAR_API void vpar_free_large(void *p, size_t bytes) {
    if (!p) return;
#if !VPAR__LARGE_USE_HOOKS
    if (bytes >= VPAR__LARGE_MIN) {
        munmap(p, (bytes + 4095) & ~(size_t)4095);
        return;
    }
#endif
    (void)bytes;
    VPAR_FREE(p);
}

#endif /* VPAR_IMPLEMENTATION */
