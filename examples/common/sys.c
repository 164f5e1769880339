/* examples/common/sys.c — clock, CPU count, memory, file names, mkdir -p
   (excommon.h). */
/* vpar_cpu_count()'s code, compiled here as the static vpar__cpu_count:
   this library also links into vpar-parallel, which has no vpar
   implementation (common.h). */
#define VPAR__CPU_COUNT_STATIC
#include "excommon.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double vpar_ex_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t vpar_ex_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vpar_ex_cpu_count(void) { return vpar__cpu_count(); }

void vpar_ex_on_stop_signals(void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

static atomic_int *vpar__ex_stop_flag;
static void (*vpar__ex_stop_interrupt)(void);
static atomic_int vpar__ex_stop_sig;

static void vpar__ex_stop_handler(int sig) {
    atomic_store_explicit(&vpar__ex_stop_sig, sig, memory_order_relaxed);
    if (vpar__ex_stop_flag) atomic_store_explicit(vpar__ex_stop_flag, 1, memory_order_relaxed);
    if (vpar__ex_stop_interrupt) vpar__ex_stop_interrupt();
}

void vpar_ex_stop_on_signals(atomic_int *flag, void (*interrupt)(void)) {
    vpar__ex_stop_flag = flag;
    vpar__ex_stop_interrupt = interrupt;
    vpar_ex_on_stop_signals(vpar__ex_stop_handler);
}

int vpar_ex_stop_exit_code(void) {
    int sig = atomic_load_explicit(&vpar__ex_stop_sig, memory_order_relaxed);
    return sig == SIGTERM || sig == SIGUSR1 ? VPAR_EX_EXIT_STOPPED : VPAR_EX_EXIT_INTERRUPTED;
}

uint64_t vpar_ex_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

int vpar_ex_has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

int vpar_ex_is_hdf5_name(const char *path) {
    return vpar_ex_has_suffix(path, ".h5") || vpar_ex_has_suffix(path, ".hdf5") ||
           vpar_ex_has_suffix(path, ".hdf") || vpar_ex_has_suffix(path, ".he5");
}

const char *vpar_ex_basename(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int vpar_ex_mkdir_p(const char *dir) {
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    }
    struct stat sb;
    if (stat(dir, &sb) != 0) return -1;
    if (!S_ISDIR(sb.st_mode)) { errno = ENOTDIR; return -1; }
    return 0;
}

int vpar_ex_path(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return w >= 0 && (size_t)w < cap;
}

/* In this unit, not file.c: shard.c and vpar-parallel use them without
   vpar's implementation (file.c needs vpar_fail). */
ssize_t vpar_ex_read_retry(int fd, void *buf, size_t n) {
    ssize_t r;
    do { r = read(fd, buf, n); } while (r < 0 && errno == EINTR);
    return r;
}

int vpar_ex_close_fail(int fd) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
