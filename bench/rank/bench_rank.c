/* vpar-rank-bench: times vpar_rank_standardize on a .npy file.
   usage: vpar-rank-bench FILE.npy [--threads T] [--reps R] [--symmetric]
                          [--out OUT.npy]
   --out writes the result of the last repetition (for the runner's check
   against the baseline). Each repetition re-reads the file with read() into one buffer (not
   timed) and standardizes it in place; prints the median wall time and
   the peak RSS relative to the matrix size (getrusage ru_maxrss), which
   therefore counts the caller's matrix plus everything vpar allocates. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../bench_util.h"

static int read_all(const char *path, void *buf, size_t off, size_t len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); return -1; }
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (r <= 0) { perror(path); close(fd); return -1; }
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    const char *path = NULL, *outp = NULL;
    int threads = 0, reps = 5, sym = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--symmetric")) sym = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) outp = argv[++i];
        else if (argv[i][0] != '-') path = argv[i];
        else { fprintf(stderr, "vpar-rank-bench: unknown option %s\n", argv[i]); return 2; }
    }
    if (!path || reps < 1) {
        fprintf(stderr, "usage: vpar-rank-bench FILE.npy [--threads T] [--reps R] [--symmetric] [--out OUT.npy]\n");
        return 2;
    }
    /* header only: map, parse, unmap (keeps RSS free of the file) */
    vpar_npy a;
    size_t off = 0;
    {
        unsigned char head[4096];
        int fd = open(path, O_RDONLY);
        if (fd < 0) { perror(path); return 1; }
        ssize_t r = read(fd, head, sizeof head);
        close(fd);
        if (r <= 0 || vpar_npy_parse_header(head, (size_t)r, path, &a, &off) != VPAR_OK) {
            fprintf(stderr, "vpar-rank-bench: %s\n", vpar_last_error());
            return 1;
        }
    }
    void *buf = malloc(a.nbytes);
    if (!buf) { fprintf(stderr, "vpar-rank-bench: out of memory\n"); return 1; }
    vpar_pool *pool = NULL;
    if (threads != 1) {
        vpar_pool_desc d = {threads, 0};
        if (vpar_pool_create(&pool, &d) != VPAR_OK) {
            fprintf(stderr, "vpar-rank-bench: %s\n", vpar_last_error());
            return 1;
        }
    }
    double *t = (double *)malloc((size_t)reps * sizeof *t);
    for (int r = 0; r < reps; r++) {
        if (read_all(path, buf, off, a.nbytes)) return 1;
        double t0 = bench_now();
        vpar_status st = vpar_rank_standardize(buf, a.dtype, a.shape[0], a.ndim == 2 ? a.shape[1] : 1,
                                               sym ? VPAR_RANK_SYMMETRIC : VPAR_RANK_FULL, pool);
        t[r] = bench_now() - t0;
        if (st != VPAR_OK) { fprintf(stderr, "vpar-rank-bench: %s\n", vpar_last_error()); return 1; }
    }
    if (outp && vpar_npy_write(outp, buf, a.dtype, a.ndim, a.shape) != VPAR_OK) {
        fprintf(stderr, "vpar-rank-bench: %s\n", vpar_last_error());
        return 1;
    }
    double med = bench_median(t, reps);  /* sorts t: t[0] is the fastest */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double peak = (double)ru.ru_maxrss * 1024.0;
    printf("vpar_s=%.6f min_s=%.6f peak_rss_bytes=%.0f matrix_bytes=%zu peak_over_matrix=%.3f threads=%d mode=%s\n",
           med, t[0], peak, a.nbytes, peak / (double)a.nbytes, pool ? vpar_pool_size(pool) : 1,
           sym ? "symmetric" : "full");
    vpar_pool_destroy(pool);
    free(buf);
    free(t);
    return 0;
}
