/* vpar-rank IN.npy OUT.npy [--symmetric | --upper] [--no-check] [-j N]

   The aggregation workflow's rank() as a command: every finite entry of
   IN (float32 or float64, 1-D or 2-D) is replaced by (rank - 1) /
   max(rank - 1) with average ties, NaN and +-inf by 0.5, and the result is
   written to OUT with IN's dtype and shape. See docs/rank.md. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "excommon.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: vpar-rank IN.npy OUT.npy [--symmetric | --upper] [--no-check] [-j N]\n"
        "\n"
        "Rank-standardizes IN like the aggregation workflow's rank(): every finite\n"
        "entry becomes (rank - 1) / max(rank - 1) over all finite entries of the\n"
        "flattened array (average ranks for ties), NaN and +-inf become 0.5.\n"
        "IN is a float32 or float64 .npy (1-D or 2-D); OUT gets the same dtype and\n"
        "shape (written atomically). A single finite entry becomes 0.5, as in the\n"
        "reference (0/0 = NaN, then every NaN becomes 0.5).\n"
        "\n"
        "options:\n"
        "  --symmetric   IN is an N x N symmetric matrix: rank from the upper\n"
        "                triangle with each off-diagonal value counted twice (about\n"
        "                half the work; identical output). IN is first checked for\n"
        "                symmetry (NaN == NaN), an error names the first bad pair.\n"
        "  --no-check    with --symmetric: skip the symmetry check and trust the\n"
        "                upper triangle (the lower one is never read).\n"
        "  --upper       rank only the entries on and above the diagonal, each once;\n"
        "                the strict lower triangle is copied unchanged.\n"
        "  -j, --threads N  threads (default: $VPAR_NUM_THREADS, else all CPUs)\n"
        "  -h, --help    this text\n"
        "      --version\n"
        "\n"
        "exit status: 0 success, 1 bad input or failure (message on stderr),\n"
        "2 usage error.\n");
}

typedef struct args {
    const char *in, *out;
    int sym, upper, check, threads;
} args;

/* Returns 0 to go on, else the exit status + 1 (--help: 1). */
static int parse_args(int argc, char **argv, args *A) {
    memset(A, 0, sizeof *A);
    A->check = 1;
    enum { O_SYM = 256, O_UPPER, O_NOCHECK, O_VERSION };
    static const struct option longs[] = {
        {"symmetric", no_argument, 0, O_SYM}, {"upper", no_argument, 0, O_UPPER},
        {"no-check", no_argument, 0, O_NOCHECK}, {"threads", required_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    int c;
    while ((c = vpar_ex_getopt("vpar-rank", argc, argv, "j:h", longs)) != -1) {
        switch (c) {
        case O_SYM: A->sym = 1; break;
        case O_UPPER: A->upper = 1; break;
        case O_NOCHECK: A->check = 0; break;
        case 'j':
            if (!vpar_ex_opt_int("vpar-rank", "-j", optarg, 1, 1024, &A->threads)) return 3;
            break;
        case 'h': usage(stdout); return 1;
        case O_VERSION: vpar_ex_print_version("vpar-rank"); return 1;
        default: return 3; /* printed by vpar_ex_getopt */
        }
    }
    for (int i = optind; i < argc; i++) {
        if (!A->in) A->in = argv[i];
        else if (!A->out) A->out = argv[i];
        else {
            fprintf(stderr, "vpar-rank: unexpected argument '%s' (try --help)\n", argv[i]);
            return 3;
        }
    }
    if (!A->in || !A->out) {
        fprintf(stderr, "vpar-rank: need IN.npy and OUT.npy (try --help)\n");
        return 3;
    }
    if (A->sym && A->upper) {
        fprintf(stderr, "vpar-rank: --symmetric and --upper exclude each other\n");
        return 3;
    }
    if (!vpar_ex_check_threads_env("vpar-rank", "-j")) return 3;
    if (A->threads) {
        char what[32];
        snprintf(what, sizeof what, "-j %d", A->threads);
        vpar_ex_warn_threads("vpar-rank", what, A->threads);
    }
    return 0;
}

/* The input read straight into the buffer that is ranked in place and
   written out: one private copy of the data, in 2 MiB pages
   (vpar_alloc_large), filled by read() instead of copy-on-write faults
   of a file mapping. */
typedef struct input {
    vpar_npy h;       /* header fields only (h.data is the buffer) */
    void *buf;
    size_t bytes;
} input;

static int read_input(const char *path, input *in) {
    memset(in, 0, sizeof *in);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "vpar-rank: %s: cannot open: %s\n", path, strerror(errno));
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "vpar-rank: %s: not a regular file\n", path);
        close(fd);
        return 0;
    }
    size_t flen = (size_t)st.st_size, hlen = flen < ((size_t)1 << 20) ? flen : ((size_t)1 << 20);
    unsigned char *head = (unsigned char *)malloc(hlen ? hlen : 1);
    size_t got = 0, off = 0;
    while (head && got < hlen) {
        ssize_t r = pread(fd, head + got, hlen - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    int ok = 0;
    if (!head) fprintf(stderr, "vpar-rank: %s: out of memory\n", path);
    else if (got < hlen) fprintf(stderr, "vpar-rank: %s: read failed: %s\n", path, strerror(errno));
    else if (hlen < 10)
        fprintf(stderr, "vpar-rank: %s: file too short to be .npy (%zu bytes)\n", path, flen);
    else if (vpar_npy_parse_header(head, hlen, path, &in->h, &off) != VPAR_OK)
        fprintf(stderr, "vpar-rank: %s\n", vpar_last_error());
    else if (in->h.nbytes > flen - off)
        fprintf(stderr, "vpar-rank: %s: truncated data: shape needs %zu bytes of data but the "
                "file holds %zu\n", path, in->h.nbytes, flen - off);
    else ok = 1;
    free(head);
    if (ok) {
        in->bytes = in->h.nbytes;
        in->buf = vpar_alloc_large(in->bytes);
        if (!in->buf) {
            fprintf(stderr, "vpar-rank: %s: out of memory for %zu bytes\n", path, in->bytes);
            ok = 0;
        }
    }
    for (size_t done = 0; ok && done < in->bytes;) {
        size_t want = in->bytes - done > ((size_t)1 << 30) ? ((size_t)1 << 30) : in->bytes - done;
        ssize_t r = pread(fd, (char *)in->buf + done, want, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            fprintf(stderr, "vpar-rank: %s: read failed: %s\n", path,
                    r < 0 ? strerror(errno) : "unexpected end of file");
            ok = 0;
            break;
        }
        done += (size_t)r;
    }
    close(fd);
    if (!ok) { vpar_free_large(in->buf, in->bytes); memset(in, 0, sizeof *in); return 0; }
    in->h.data = in->buf;
    return 1;
}

int main(int argc, char **argv) {
    if (vpar_simd_init() != VPAR_OK) { /* $VPAR_SIMD names no usable path */
        fprintf(stderr, "%s: %s\n", "vpar-rank", vpar_last_error());
        return 2;
    }
    args A;
    int prc = parse_args(argc, argv, &A);
    if (prc) return prc - 1;
    const char *in = A.in, *out = A.out;
    int sym = A.sym, upper = A.upper, check = A.check, threads = A.threads;

    input I;
    if (!read_input(in, &I)) return 1;
    vpar_npy a = I.h;
    int rc = 1;
    vpar_pool *pool = NULL;
    size_t rows = a.shape[0], cols = a.ndim == 2 ? a.shape[1] : 1;
    vpar_rank_layout layout = sym ? VPAR_RANK_SYMMETRIC : upper ? VPAR_RANK_UPPER : VPAR_RANK_FULL;
    if (a.dtype != VPAR_DTYPE_F32 && a.dtype != VPAR_DTYPE_F64) {
        fprintf(stderr, "vpar-rank: %s: dtype %s is not supported (need float32 '<f4' or float64 '<f8')\n",
                in, vpar_dtype_descr(a.dtype));
        goto done;
    }
    if (layout != VPAR_RANK_FULL && (a.ndim != 2 || rows != cols)) {
        fprintf(stderr, "vpar-rank: %s: %s needs a square 2-D matrix, got shape (%zu%s%zu)\n", in,
                sym ? "--symmetric" : "--upper", rows, a.ndim == 2 ? ", " : ",", a.ndim == 2 ? cols : 0);
        goto done;
    }
    {
        vpar_pool_desc d;
        memset(&d, 0, sizeof d);
        d.num_threads = threads;
        if (vpar_pool_create(&pool, &d) != VPAR_OK) {
            fprintf(stderr, "vpar-rank: cannot start threads: %s\n", vpar_last_error());
            goto done;
        }
    }
    if (sym && check && vpar_rank_check_symmetric(a.data, a.dtype, rows, pool, NULL, NULL) != VPAR_OK) {
        fprintf(stderr, "vpar-rank: %s: %s (use --no-check to rank from the upper triangle anyway)\n",
                in, vpar_last_error());
        goto done;
    }
    if (vpar_rank_standardize(a.data, a.dtype, rows, cols, layout, pool) != VPAR_OK) {
        fprintf(stderr, "vpar-rank: %s: %s\n", in, vpar_last_error());
        goto done;
    }
    if (vpar_npy_write(out, a.data, a.dtype, a.ndim, a.shape) != VPAR_OK) {
        fprintf(stderr, "vpar-rank: %s\n", vpar_last_error());
        goto done;
    }
    rc = 0;
done:
    vpar_pool_destroy(pool);
    vpar_free_large(I.buf, I.bytes);
    return rc;
}
