/* _vpar.c — the C half of the `vpar` Python package: CPython + numpy C API
   over the vpar headers (rank.h, simd.h, pool.h) and the EGAD core
   (examples/egad/egad.h). vpar/__init__.py is the public face: it checks
   and converts arguments that are easier to handle in Python (pandas
   frames, axis moves, result dtypes) and calls the functions here.

   Long calls and the GIL
     Every call that may take long releases the GIL. rank_standardize,
     rankdata and egad run their work on a helper thread (which becomes tid 0
     of the vpar pool) while the calling thread waits on a condition
     variable in slices of VPAR_PY_POLL_MS milliseconds; between slices it
     takes the GIL back and calls PyErr_CheckSignals(), so Ctrl-C raises
     KeyboardInterrupt within one slice. The interrupted computation cannot
     be stopped inside a vpar kernel: it is abandoned. It keeps its own
     references to its inputs, finishes on the pool (rankdata stops at the
     next row), and its result is discarded; its references are dropped by a
     Py_AddPendingCall callback on the main thread. An interrupted
     rank_standardize therefore still writes its array until that moment.
     _pending() counts abandoned jobs still running.
     Small inputs (below VPAR_PY_INLINE elements) run on the calling thread
     with the GIL released and without the helper thread.

   Threads
     threads=None uses vpar_pool_default() (VPAR_NUM_THREADS or the online
     CPUs); threads=1 runs on the calling/helper thread alone; threads=k
     uses a pool of k tids created on first use and kept for the life of
     the process (one per distinct k, at most VPAR_PY_MAX_POOLS sizes).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vpar.h"
#include "egad.h"

#ifndef VPAR_PY_POLL_MS
#  define VPAR_PY_POLL_MS 50
#endif
#ifndef VPAR_PY_INLINE
#  define VPAR_PY_INLINE ((size_t)1 << 16)
#endif
#define VPAR_PY_MAX_POOLS 16

/* ---- errors ---------------------------------------------------------------- */

static PyObject *raise_status(vpar_status st, const char *msg) {
    PyObject *type;
    switch (st) {
    case VPAR_ERR_NOMEM: type = PyExc_MemoryError; break;
    case VPAR_ERR_UNSUPPORTED: type = PyExc_TypeError; break;
    case VPAR_ERR_INVALID:
    case VPAR_ERR_SHAPE:
    case VPAR_ERR_FORMAT:
    case VPAR_ERR_NOT_FOUND:
    case VPAR_ERR_OVERFLOW: type = PyExc_ValueError; break;
    default: type = PyExc_RuntimeError; break;
    }
    PyErr_Format(type, "%s", (msg && *msg) ? msg : vpar_status_str(st));
    return NULL;
}

/* ---- pools ---------------------------------------------------------------- */

static struct {
    int n;
    pid_t pid;
    vpar_pool *pool;
} g_pools[VPAR_PY_MAX_POOLS];
static pthread_mutex_t g_pools_mu = PTHREAD_MUTEX_INITIALIZER;

/* threads: Python None or int. Sets *out (NULL = serial). GIL held. */
static int get_pool(PyObject *threads, vpar_pool **out) {
    *out = NULL;
    if (threads == NULL || threads == Py_None) {
        *out = vpar_pool_default();
        return 0;
    }
    long k = PyLong_AsLong(threads);
    if (k == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "threads must be None or an int");
        return -1;
    }
    if (k < 1 || k > 1024) {
        PyErr_Format(PyExc_ValueError, "threads must be in 1..1024 (got %ld)", k);
        return -1;
    }
    if (k == 1) return 0;
    pid_t pid = getpid();
    pthread_mutex_lock(&g_pools_mu);
    int free_slot = -1;
    for (int i = 0; i < VPAR_PY_MAX_POOLS; i++) {
        if (g_pools[i].pool && g_pools[i].pid != pid) {
            vpar_pool_destroy(g_pools[i].pool); /* forked child: frees memory only */
            g_pools[i].pool = NULL;
        }
        if (g_pools[i].pool && g_pools[i].n == k) {
            *out = g_pools[i].pool;
            pthread_mutex_unlock(&g_pools_mu);
            return 0;
        }
        if (!g_pools[i].pool && free_slot < 0) free_slot = i;
    }
    if (free_slot < 0) {
        pthread_mutex_unlock(&g_pools_mu);
        PyErr_Format(PyExc_ValueError, "threads: at most %d distinct pool sizes per process",
                     VPAR_PY_MAX_POOLS);
        return -1;
    }
    vpar_pool_desc d = {0};
    d.num_threads = (int)k;
    vpar_pool *p = NULL;
    vpar_status st = vpar_pool_create(&p, &d);
    if (st != VPAR_OK) {
        pthread_mutex_unlock(&g_pools_mu);
        raise_status(st, vpar_last_error());
        return -1;
    }
    g_pools[free_slot].n = (int)k;
    g_pools[free_slot].pid = pid;
    g_pools[free_slot].pool = p;
    pthread_mutex_unlock(&g_pools_mu);
    *out = p;
    return 0;
}

/* ---- jobs: work on a helper thread, the caller polls for signals -------------- */

typedef struct job job;
typedef void (*job_fn)(job *);

#define JOB_KEEP 8
struct job {
    job_fn run;            /* runs without the GIL */
    job_fn release;        /* frees C resources; no GIL (may be NULL) */
    vpar_status st;
    char err[1024];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    atomic_int abandoned;  /* the caller gave up (KeyboardInterrupt) */
    pthread_t tid;
    PyObject *keep[JOB_KEEP]; /* references held while the work runs */
    vpar_pool *pool;
    /* rank_standardize / rankdata / egad payloads */
    void *x;
    void *out;
    vpar_dtype dtype;
    size_t n, rows, cols;
    int layout;
    double nan_value;
    vpar_rank_desc rdesc;
    /* egad */
    const char **genes;       /* n network labels */
    const char **pair_genes;  /* npairs */
    const char **pair_terms;
    size_t npairs;
    unsigned char *drop;      /* n flags */
    vpar_egad_desc edesc;
    vpar_egad_annotations *ann;
    vpar_egad_plan *plan;
    vpar_egad_term_result *results;
    size_t nterms;
    double mean_auc;
    int empty;                /* no annotated gene / no kept term */
};

static atomic_int g_pending; /* abandoned jobs not yet freed */

static job *job_new(job_fn run, job_fn release) {
    job *j = (job *)PyMem_RawCalloc(1, sizeof *j);
    if (!j) {
        PyErr_NoMemory();
        return NULL;
    }
    j->run = run;
    j->release = release;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    atomic_init(&j->abandoned, 0);
    return j;
}

static void job_keep(job *j, PyObject *o) {
    for (int i = 0; i < JOB_KEEP; i++)
        if (!j->keep[i]) {
            Py_INCREF(o);
            j->keep[i] = o;
            return;
        }
}

/* GIL held. */
static void job_free(job *j) {
    if (!j) return;
    if (j->release) j->release(j);
    for (int i = 0; i < JOB_KEEP; i++) Py_CLEAR(j->keep[i]);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    PyMem_RawFree(j);
}

static int job_free_pending(void *arg) {
    job_free((job *)arg);
    atomic_fetch_sub(&g_pending, 1);
    return 0;
}

static void job_exec(job *j) {
    vpar_clear_error();
    j->run(j);
    if (j->st != VPAR_OK) snprintf(j->err, sizeof j->err, "%s", vpar_last_error());
}

static void *job_thread(void *arg) {
    job *j = (job *)arg;
    job_exec(j);
    pthread_mutex_lock(&j->mu);
    j->done = 1;
    int abandoned = atomic_load(&j->abandoned);
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (abandoned) {
        /* Free the C side now; the Python references need the GIL: the
           main thread drops them at its next pending-call check. */
        if (j->release) {
            j->release(j);
            j->release = NULL;
        }
        for (int tries = 0; tries < 1000; tries++) {
            if (Py_AddPendingCall(job_free_pending, j) == 0) return NULL;
            sched_yield();
        }
        /* queue full for good: leak the job rather than touch Python here */
    }
    return NULL;
}

/* Runs j to completion (0) or until Ctrl-C (-1, KeyboardInterrupt set, j
   handed over to its thread). On 0 the caller owns j; on -1 it must not
   touch j again. inline_ok: run on this thread with the GIL released. */
static int job_run(job *j, int inline_ok) {
    if (inline_ok) {
        Py_BEGIN_ALLOW_THREADS
        job_exec(j);
        Py_END_ALLOW_THREADS
        return 0;
    }
    int rc = pthread_create(&j->tid, NULL, job_thread, j);
    if (rc != 0) { /* no thread: run here, not interruptible */
        Py_BEGIN_ALLOW_THREADS
        job_exec(j);
        Py_END_ALLOW_THREADS
        return 0;
    }
    for (;;) {
        int done;
        Py_BEGIN_ALLOW_THREADS
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += (long)VPAR_PY_POLL_MS * 1000000L;
        while (dl.tv_nsec >= 1000000000L) {
            dl.tv_nsec -= 1000000000L;
            dl.tv_sec++;
        }
        pthread_mutex_lock(&j->mu);
        while (!j->done) {
            int w = pthread_cond_timedwait(&j->cv, &j->mu, &dl);
            if (w == ETIMEDOUT) break;
        }
        done = j->done;
        pthread_mutex_unlock(&j->mu);
        Py_END_ALLOW_THREADS
        if (done) break;
        if (PyErr_CheckSignals() < 0) {
            pthread_mutex_lock(&j->mu);
            if (j->done) {
                pthread_mutex_unlock(&j->mu);
                pthread_join(j->tid, NULL);
                job_free(j);
                return -1;
            }
            atomic_fetch_add(&g_pending, 1);
            atomic_store(&j->abandoned, 1);
            pthread_mutex_unlock(&j->mu);
            pthread_detach(j->tid);
            return -1;
        }
    }
    pthread_join(j->tid, NULL);
    return 0;
}

/* ---- array checks ---------------------------------------------------------- */

static int float_dtype(PyArrayObject *a, vpar_dtype *dt) {
    int t = PyArray_TYPE(a);
    if (t == NPY_FLOAT64 && PyArray_ISNOTSWAPPED(a)) { *dt = VPAR_DTYPE_F64; return 1; }
    if (t == NPY_FLOAT32 && PyArray_ISNOTSWAPPED(a)) { *dt = VPAR_DTYPE_F32; return 1; }
    return 0;
}

static const char *dtype_name(PyArrayObject *a, char *buf, size_t cap) {
    PyObject *s = PyObject_Str((PyObject *)PyArray_DESCR(a));
    const char *u = s ? PyUnicode_AsUTF8(s) : NULL;
    snprintf(buf, cap, "%s", u ? u : "?");
    Py_XDECREF(s);
    PyErr_Clear();
    return buf;
}

/* ---- rank_standardize ------------------------------------------------------ */

/* Number of finite entries, counting stops at 2 (O(1) on usual data). */
static size_t count_finite_upto2(const void *x, vpar_dtype dt, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n && c < 2; i++)
        c += dt == VPAR_DTYPE_F64 ? isfinite(((const double *)x)[i]) != 0
                                  : isfinite(((const float *)x)[i]) != 0;
    return c;
}

static void rank_std_run(job *j) {
    unsigned char *bits = NULL;
    size_t n = j->n;
    /* At most one finite entry: the reference computes 0/0 = NaN for it and
       then turns every NaN into nan_value, so every entry becomes
       nan_value (vpar_rank_standardize gives that entry 0.5, the default
       nan_value's answer; a custom nan_value needs this path). */
    if (count_finite_upto2(j->x, j->dtype, n) <= 1) {
        for (size_t i = 0; i < n; i++) {
            if (j->dtype == VPAR_DTYPE_F64) ((double *)j->x)[i] = j->nan_value;
            else ((float *)j->x)[i] = (float)j->nan_value;
        }
        j->st = VPAR_OK;
        return;
    }
    int custom = !(j->nan_value == 0.5); /* NaN nan_value is custom too */
    if (custom && n) {
        size_t nonfinite = 0;
        if (j->dtype == VPAR_DTYPE_F64) nonfinite = n - vpar_count_finite_f64((double *)j->x, n);
        else nonfinite = n - vpar_count_finite_f32((float *)j->x, n);
        if (nonfinite) {
            bits = (unsigned char *)calloc(n / 8 + 1, 1);
            if (!bits) {
                j->st = vpar_fail(VPAR_ERR_NOMEM, "rank_standardize: out of memory");
                return;
            }
            if (j->dtype == VPAR_DTYPE_F64) {
                const double *x = (const double *)j->x;
                for (size_t i = 0; i < n; i++)
                    if (!isfinite(x[i])) bits[i >> 3] |= (unsigned char)(1u << (i & 7));
            } else {
                const float *x = (const float *)j->x;
                for (size_t i = 0; i < n; i++)
                    if (!isfinite(x[i])) bits[i >> 3] |= (unsigned char)(1u << (i & 7));
            }
        }
    }
    j->st = vpar_rank_standardize(j->x, j->dtype, j->rows, j->cols,
                                  (vpar_rank_layout)j->layout, j->pool);
    if (j->st == VPAR_OK && bits) {
        if (j->dtype == VPAR_DTYPE_F64) {
            double *x = (double *)j->x;
            for (size_t i = 0; i < n; i++)
                if (bits[i >> 3] & (1u << (i & 7))) x[i] = j->nan_value;
        } else {
            float *x = (float *)j->x;
            float v = (float)j->nan_value;
            for (size_t i = 0; i < n; i++)
                if (bits[i >> 3] & (1u << (i & 7))) x[i] = v;
        }
    }
    free(bits);
}

static PyObject *py_rank_standardize(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self;
    static char *kwlist[] = {"a", "nan_value", "symmetric", "threads", NULL};
    PyObject *obj, *threads = Py_None;
    double nan_value = 0.5;
    int symmetric = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$dpO:rank_standardize", kwlist, &obj,
                                     &nan_value, &symmetric, &threads))
        return NULL;
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "rank_standardize: a numpy array is required (got %s); it is ranked in "
                     "place, so convert first, e.g. a = np.asarray(x, dtype=np.float64)",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)obj;
    vpar_dtype dt;
    char nb[64];
    if (!float_dtype(a, &dt)) {
        PyErr_Format(PyExc_TypeError,
                     "rank_standardize: float32 or float64 (native byte order) required, got %s; "
                     "convert with a.astype(np.float64)", dtype_name(a, nb, sizeof nb));
        return NULL;
    }
    if (!PyArray_IS_C_CONTIGUOUS(a) && !PyArray_IS_F_CONTIGUOUS(a)) {
        PyErr_SetString(PyExc_ValueError,
                        "rank_standardize: the array is not contiguous (a strided view); "
                        "rank a contiguous copy: b = np.ascontiguousarray(a)");
        return NULL;
    }
    if (!PyArray_ISWRITEABLE(a)) {
        PyErr_SetString(PyExc_ValueError,
                        "rank_standardize: the array is read-only (it is ranked in place)");
        return NULL;
    }
    size_t rows = 1, cols = (size_t)PyArray_SIZE(a);
    int layout = VPAR_RANK_FULL;
    if (symmetric) {
        if (PyArray_NDIM(a) != 2 || PyArray_DIM(a, 0) != PyArray_DIM(a, 1)) {
            PyErr_Format(PyExc_ValueError,
                         "rank_standardize: symmetric=True needs a square 2-D array (got %d-D%s)",
                         PyArray_NDIM(a), PyArray_NDIM(a) == 2 ? ", not square" : "");
            return NULL;
        }
        rows = cols = (size_t)PyArray_DIM(a, 0);
        layout = VPAR_RANK_SYMMETRIC;
    }
    vpar_pool *pool;
    if (get_pool(threads, &pool) < 0) return NULL;
    job *j = job_new(rank_std_run, NULL);
    if (!j) return NULL;
    j->x = PyArray_DATA(a);
    j->dtype = dt;
    j->n = (size_t)PyArray_SIZE(a);
    j->rows = rows;
    j->cols = cols;
    j->layout = layout;
    j->nan_value = nan_value;
    j->pool = pool;
    job_keep(j, obj);
    if (job_run(j, j->n < VPAR_PY_INLINE) < 0) return NULL;
    if (j->st != VPAR_OK) {
        raise_status(j->st, j->err);
        job_free(j);
        return NULL;
    }
    job_free(j);
    Py_INCREF(obj);
    return obj;
}

/* ---- rankdata: rows of a C-contiguous 2-D array -------------------------------- */

static void rankdata_run(job *j) {
    j->st = VPAR_OK;
    size_t n = j->cols;
    for (size_t r = 0; r < j->rows; r++) {
        if (atomic_load(&j->abandoned)) return; /* safe point: between rows */
        double *out = (double *)j->out + r * n;
        if (j->dtype == VPAR_DTYPE_F64)
            j->st = vpar_rankdata_f64((const double *)j->x + r * n, n, out, &j->rdesc, j->pool);
        else
            j->st = vpar_rankdata_f32((const float *)j->x + r * n, n, out, &j->rdesc, j->pool);
        if (j->st != VPAR_OK) return;
    }
}

static PyObject *py_rankdata_rows(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *obj, *threads;
    int method, policy;
    if (!PyArg_ParseTuple(args, "O!iiO:_rankdata_rows", &PyArray_Type, &obj, &method, &policy,
                          &threads))
        return NULL;
    PyArrayObject *a = (PyArrayObject *)obj;
    vpar_dtype dt;
    if (!float_dtype(a, &dt) || PyArray_NDIM(a) != 2 || !PyArray_IS_C_CONTIGUOUS(a)) {
        PyErr_SetString(PyExc_TypeError, "_rankdata_rows: C-contiguous 2-D float32/float64 array");
        return NULL;
    }
    if (method < 0 || method > VPAR_RANK_ORDINAL || policy < 0 || policy > VPAR_RANK_NAN_LAST) {
        PyErr_SetString(PyExc_ValueError, "_rankdata_rows: bad method or nan_policy code");
        return NULL;
    }
    vpar_pool *pool;
    if (get_pool(threads, &pool) < 0) return NULL;
    npy_intp dims[2] = {PyArray_DIM(a, 0), PyArray_DIM(a, 1)};
    PyObject *out = PyArray_SimpleNew(2, dims, NPY_FLOAT64);
    if (!out) return NULL;
    job *j = job_new(rankdata_run, NULL);
    if (!j) {
        Py_DECREF(out);
        return NULL;
    }
    j->x = PyArray_DATA(a);
    j->out = PyArray_DATA((PyArrayObject *)out);
    j->dtype = dt;
    j->rows = (size_t)dims[0];
    j->cols = (size_t)dims[1];
    j->rdesc.method = (vpar_rank_method)method;
    j->rdesc.nan_policy = (vpar_rank_nan_policy)policy;
    j->pool = pool;
    job_keep(j, obj);
    job_keep(j, out);
    if (job_run(j, j->rows * j->cols < VPAR_PY_INLINE) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    if (j->st != VPAR_OK) {
        raise_status(j->st, j->err);
        job_free(j);
        Py_DECREF(out);
        return NULL;
    }
    job_free(j);
    return out;
}

/* ---- reductions ----------------------------------------------------------------- */

enum { OP_SUM, OP_NANSUM, OP_NANMEAN, OP_NANMIN, OP_NANMAX, OP_NANVAR, OP_MEAN, OP_COUNT };

/* Whole-array reduction; returns the status, value in *v. No GIL. */
static vpar_status reduce_all(int op, const void *x, vpar_dtype dt, size_t n, int ddof,
                              vpar_pool *pool, double *v) {
    int f64 = dt == VPAR_DTYPE_F64;
    const double *d = (const double *)x;
    const float *f = (const float *)x;
    switch (op) {
    case OP_SUM: return f64 ? vpar_sum_f64_par(pool, d, n, v) : vpar_sum_f32_par(pool, f, n, v);
    case OP_NANSUM:
        return f64 ? vpar_nansum_f64_par(pool, d, n, v) : vpar_nansum_f32_par(pool, f, n, v);
    case OP_NANMEAN: *v = f64 ? vpar_nanmean_f64(d, n) : vpar_nanmean_f32(f, n); return VPAR_OK;
    case OP_MEAN: *v = f64 ? vpar_mean_f64(d, n) : vpar_mean_f32(f, n); return VPAR_OK;
    case OP_NANVAR:
        *v = f64 ? vpar_nanvar_f64(d, n, ddof) : vpar_nanvar_f32(f, n, ddof);
        return VPAR_OK;
    case OP_NANMIN:
    case OP_NANMAX: {
        if (n == 0)
            return vpar_fail(VPAR_ERR_INVALID,
                             "zero-size array to reduction operation %s which has no identity",
                             op == OP_NANMIN ? "fmin" : "fmax");
        if (f64) return op == OP_NANMIN ? vpar_nanmin_f64(d, n, v) : vpar_nanmax_f64(d, n, v);
        float r;
        vpar_status st = op == OP_NANMIN ? vpar_nanmin_f32(f, n, &r) : vpar_nanmax_f32(f, n, &r);
        if (st == VPAR_OK) *v = r;
        return st;
    }
    }
    return vpar_fail(VPAR_ERR_INVALID, "unknown reduction");
}

/* _reduce along one axis of a C-contiguous (pre, nk, post) array into
   o[pre * post]; rowwise ops (nanmin/nanmax/nanvar) need post == 1. Runs
   without the GIL. */
static vpar_status reduce_axis(int op, const void *x, vpar_dtype dt, size_t pre, size_t nk,
                               size_t post, int ddof, vpar_pool *pool, double *o) {
    int rowwise = op == OP_NANMIN || op == OP_NANMAX || op == OP_NANVAR;
    size_t es = dt == VPAR_DTYPE_F64 ? 8 : 4;
    vpar_axis_op aop = op == OP_SUM ? VPAR_AXIS_SUM : op == OP_NANSUM ? VPAR_AXIS_NANSUM
                     : op == OP_MEAN ? VPAR_AXIS_MEAN : VPAR_AXIS_NANMEAN;
    vpar_status st = VPAR_OK;
    if (rowwise) {
        for (size_t r = 0; r < pre && st == VPAR_OK; r++)
            st = reduce_all(op, (const char *)x + r * nk * es, dt, nk, ddof, NULL, &o[r]);
    } else if (pre * post == 0) {
        st = VPAR_OK;
    } else if (post == 1) {
        st = dt == VPAR_DTYPE_F64
                 ? vpar_reduce_axis_f64(aop, 1, (const double *)x, pre, nk, nk, o, pool)
                 : vpar_reduce_axis_f32(aop, 1, (const float *)x, pre, nk, nk, o, pool);
    } else {
        for (size_t p = 0; p < pre && st == VPAR_OK; p++) {
            const char *blk = (const char *)x + p * nk * post * es;
            st = dt == VPAR_DTYPE_F64
                     ? vpar_reduce_axis_f64(aop, 0, (const double *)blk, nk, post, post,
                                            o + p * post, pool)
                     : vpar_reduce_axis_f32(aop, 0, (const float *)blk, nk, post, post,
                                            o + p * post, pool);
        }
    }
    return st;
}

/* _reduce(a, op, axis, ddof, threads): a C-contiguous float32/float64;
   axis None -> Python float; axis k -> float64 array without axis k
   (ops nanmin/nanmax/nanvar need k to be the last axis). */
static PyObject *py_reduce(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *obj, *axis_obj, *threads;
    int op, ddof;
    if (!PyArg_ParseTuple(args, "O!iOiO:_reduce", &PyArray_Type, &obj, &op, &axis_obj, &ddof,
                          &threads))
        return NULL;
    PyArrayObject *a = (PyArrayObject *)obj;
    vpar_dtype dt;
    if (!float_dtype(a, &dt) || !PyArray_IS_C_CONTIGUOUS(a)) {
        PyErr_SetString(PyExc_TypeError, "_reduce: C-contiguous float32/float64 array required");
        return NULL;
    }
    if (op < 0 || op >= OP_COUNT) {
        PyErr_SetString(PyExc_ValueError, "_reduce: bad op");
        return NULL;
    }
    vpar_pool *pool;
    if (get_pool(threads, &pool) < 0) return NULL;
    const void *x = PyArray_DATA(a);
    size_t n = (size_t)PyArray_SIZE(a);
    vpar_status st = VPAR_OK;
    if (axis_obj == Py_None) {
        double v = 0;
        Py_BEGIN_ALLOW_THREADS
        vpar_clear_error();
        st = reduce_all(op, x, dt, n, ddof, pool, &v);
        Py_END_ALLOW_THREADS
        if (st != VPAR_OK) return raise_status(st, vpar_last_error());
        return PyFloat_FromDouble(v);
    }
    int nd = PyArray_NDIM(a);
    long axis = PyLong_AsLong(axis_obj);
    if (axis == -1 && PyErr_Occurred()) return NULL;
    if (axis < 0) axis += nd;
    if (axis < 0 || axis >= nd) {
        PyErr_Format(PyExc_ValueError, "axis %ld is out of bounds for array of dimension %d",
                     PyLong_AsLong(axis_obj), nd);
        return NULL;
    }
    size_t pre = 1, post = 1, nk = (size_t)PyArray_DIM(a, (int)axis);
    npy_intp odims[NPY_MAXDIMS];
    int ond = 0;
    for (int i = 0; i < nd; i++) {
        if (i < axis) pre *= (size_t)PyArray_DIM(a, i);
        if (i > axis) post *= (size_t)PyArray_DIM(a, i);
        if (i != axis) odims[ond++] = PyArray_DIM(a, i);
    }
    int rowwise = op == OP_NANMIN || op == OP_NANMAX || op == OP_NANVAR;
    if (rowwise && post != 1) {
        PyErr_SetString(PyExc_ValueError, "_reduce: this op needs the last axis");
        return NULL;
    }
    if ((op == OP_NANMIN || op == OP_NANMAX) && nk == 0 && pre > 0) {
        PyErr_Format(PyExc_ValueError,
                     "zero-size array to reduction operation %s which has no identity",
                     op == OP_NANMIN ? "fmin" : "fmax");
        return NULL;
    }
    PyObject *out = PyArray_SimpleNew(ond, odims, NPY_FLOAT64);
    if (!out) return NULL;
    double *o = (double *)PyArray_DATA((PyArrayObject *)out);
    Py_BEGIN_ALLOW_THREADS
    vpar_clear_error();
    st = reduce_axis(op, x, dt, pre, nk, post, ddof, pool, o);
    Py_END_ALLOW_THREADS
    if (st != VPAR_OK) {
        Py_DECREF(out);
        return raise_status(st, vpar_last_error());
    }
    return out;
}

/* ---- egad ------------------------------------------------------------------------ */

static void egad_release(job *j) {
    vpar_egad_plan_destroy(j->plan);
    j->plan = NULL;
    vpar_egad_annotations_destroy(j->ann);
    j->ann = NULL;
    PyMem_RawFree(j->genes);
    PyMem_RawFree(j->pair_genes);
    PyMem_RawFree(j->pair_terms);
    PyMem_RawFree(j->drop);
    PyMem_RawFree(j->results);
    j->genes = NULL;
    j->pair_genes = j->pair_terms = NULL;
    j->drop = NULL;
    j->results = NULL;
}

static void egad_run(job *j) {
    j->st = vpar_egad_annotations_create(&j->ann, j->pair_genes, j->pair_terms, j->npairs,
                                         "egad: annotations");
    if (j->st != VPAR_OK) return;
    if (atomic_load(&j->abandoned)) return;
    j->st = vpar_egad_find_all_nan_rows(j->x, j->dtype, j->n, j->drop);
    if (j->st != VPAR_OK) return;
    j->st = vpar_egad_plan_create(&j->plan, j->ann, j->genes, j->n, j->drop, &j->edesc,
                                  "egad: network");
    if (j->st == VPAR_ERR_NOT_FOUND) { /* as run_egad: an empty result */
        j->st = VPAR_OK;
        j->empty = 1;
        j->mean_auc = NAN;
        return;
    }
    if (j->st != VPAR_OK) return;
    if (atomic_load(&j->abandoned)) return;
    j->nterms = vpar_egad_plan_nterms(j->plan);
    j->results = (vpar_egad_term_result *)PyMem_RawCalloc(j->nterms ? j->nterms : 1,
                                                          sizeof *j->results);
    if (!j->results) {
        j->st = vpar_fail(VPAR_ERR_NOMEM, "egad: out of memory");
        return;
    }
    j->st = vpar_egad_run(j->plan, j->x, j->dtype, j->pool, j->results, &j->mean_auc,
                          "egad: network");
}

/* Fills ptrs[0..n) with the UTF-8 of the n str items of list `lst`. */
static int utf8_list(PyObject *lst, const char **ptrs, Py_ssize_t n, const char *what) {
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyList_GET_ITEM(lst, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "egad: %s labels must be str", what);
            return -1;
        }
        ptrs[i] = PyUnicode_AsUTF8(s);
        if (!ptrs[i]) return -1;
    }
    return 0;
}

/* _egad's argument checks (types, shapes, ranges): 0, or -1 with the
   Python exception set. *dt: the network's element type. */
static int egad_check_args(PyArrayObject *w, PyObject *genes, PyArrayObject *pg, PyArrayObject *pt,
                           int nfold, int minc, int maxc, vpar_dtype *dt) {
    char nb[64];
    if (!float_dtype(w, dt)) {
        PyErr_Format(PyExc_TypeError, "egad: network must be float32 or float64 (got %s)",
                     dtype_name(w, nb, sizeof nb));
        return -1;
    }
    if (PyArray_NDIM(w) != 2 || PyArray_DIM(w, 0) != PyArray_DIM(w, 1)) {
        PyErr_SetString(PyExc_ValueError, "egad: the network must be a square 2-D array");
        return -1;
    }
    if (!PyArray_IS_C_CONTIGUOUS(w)) {
        PyErr_SetString(PyExc_ValueError, "egad: the network must be C-contiguous");
        return -1;
    }
    Py_ssize_t n = PyArray_DIM(w, 0);
    if (PyList_GET_SIZE(genes) != n) {
        PyErr_Format(PyExc_ValueError, "egad: %zd gene labels for a %zd x %zd network",
                     PyList_GET_SIZE(genes), n, n);
        return -1;
    }
    if (PyArray_TYPE(pg) != NPY_INT64 || PyArray_TYPE(pt) != NPY_INT64 || PyArray_NDIM(pg) != 1 ||
        PyArray_NDIM(pt) != 1 || PyArray_DIM(pg, 0) != PyArray_DIM(pt, 0) ||
        !PyArray_IS_C_CONTIGUOUS(pg) || !PyArray_IS_C_CONTIGUOUS(pt)) {
        PyErr_SetString(PyExc_TypeError, "egad: pair index arrays must be 1-D int64 of equal length");
        return -1;
    }
    if (nfold < 1 || nfold > 255) {
        PyErr_Format(PyExc_ValueError, "egad: nfold must be in 1..255 (got %d)", nfold);
        return -1;
    }
    if (minc < 1 || maxc <= minc + 1) {
        PyErr_Format(PyExc_ValueError,
                     "egad: need 1 <= min_count and min_count + 1 < max_count (got %d, %d)", minc,
                     maxc);
        return -1;
    }
    return 0;
}

/* _egad's return value (terms, results, mean_auc) from a finished job;
   frees the job. */
static PyObject *egad_results(job *j) {
    npy_intp dims[2] = {(npy_intp)j->nterms, 4};
    PyObject *terms = PyList_New((Py_ssize_t)j->nterms);
    PyObject *res = PyArray_SimpleNew(2, dims, NPY_FLOAT64);
    if (!terms || !res) {
        Py_XDECREF(terms);
        Py_XDECREF(res);
        job_free(j);
        return NULL;
    }
    double *r = (double *)PyArray_DATA((PyArrayObject *)res);
    for (size_t t = 0; t < j->nterms; t++) {
        PyObject *s = PyUnicode_FromString(vpar_egad_plan_term(j->plan, t));
        if (!s) {
            Py_DECREF(terms);
            Py_DECREF(res);
            job_free(j);
            return NULL;
        }
        PyList_SET_ITEM(terms, (Py_ssize_t)t, s);
        r[4 * t + 0] = j->results[t].auc;
        r[4 * t + 1] = j->results[t].avg_node_degree;
        r[4 * t + 2] = j->results[t].degree_null_auc;
        r[4 * t + 3] = j->results[t].p_value;
    }
    double mean = j->mean_auc;
    job_free(j);
    return Py_BuildValue("NNd", terms, res, mean);
}

/* _egad(w, genes, ann_genes, ann_terms, pair_gene, pair_term, nfold, min, max,
         threads, nonfinite_as_zero)
   w: C-contiguous n x n float32/float64; genes: list of n str; ann_genes /
   ann_terms: lists of str; pair_gene / pair_term: int64 arrays of equal
   length indexing them. Returns (terms: list of str, results: nterms x 4
   float64 [AUC, AVG_NODE_DEGREE, DEGREE_NULL_AUC, P_Value], mean_auc). */
static PyObject *py_egad(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *wobj, *genes, *ag, *at, *pg_obj, *pt_obj, *threads;
    int nfold, minc, maxc, nonfinite_zero;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!iiiOp:_egad", &PyArray_Type, &wobj, &PyList_Type,
                          &genes, &PyList_Type, &ag, &PyList_Type, &at, &PyArray_Type, &pg_obj,
                          &PyArray_Type, &pt_obj, &nfold, &minc, &maxc, &threads,
                          &nonfinite_zero))
        return NULL;
    PyArrayObject *w = (PyArrayObject *)wobj, *pg = (PyArrayObject *)pg_obj,
                  *pt = (PyArrayObject *)pt_obj;
    vpar_dtype dt;
    if (egad_check_args(w, genes, pg, pt, nfold, minc, maxc, &dt) < 0) return NULL;
    Py_ssize_t n = PyArray_DIM(w, 0);
    vpar_pool *pool;
    if (get_pool(threads, &pool) < 0) return NULL;
    Py_ssize_t npairs = PyArray_DIM(pg, 0), nag = PyList_GET_SIZE(ag), nat = PyList_GET_SIZE(at);
    job *j = job_new(egad_run, egad_release);
    if (!j) return NULL;
    j->x = PyArray_DATA(w);
    j->dtype = dt;
    j->n = (size_t)n;
    j->pool = pool;
    j->edesc.nfold = nfold;
    j->edesc.min_genes = minc;
    j->edesc.max_genes = maxc;
    j->edesc.nonfinite_as_zero = nonfinite_zero;
    j->npairs = (size_t)npairs;
    job_keep(j, wobj);
    job_keep(j, genes);
    job_keep(j, ag);
    job_keep(j, at);
    j->genes = (const char **)PyMem_RawMalloc(sizeof(char *) * (size_t)(n ? n : 1));
    j->pair_genes = (const char **)PyMem_RawMalloc(sizeof(char *) * (size_t)(npairs ? npairs : 1));
    j->pair_terms = (const char **)PyMem_RawMalloc(sizeof(char *) * (size_t)(npairs ? npairs : 1));
    j->drop = (unsigned char *)PyMem_RawCalloc((size_t)(n ? n : 1), 1);
    const char **gl = (const char **)PyMem_RawMalloc(sizeof(char *) * (size_t)(nag ? nag : 1));
    const char **tl = (const char **)PyMem_RawMalloc(sizeof(char *) * (size_t)(nat ? nat : 1));
    if (!j->genes || !j->pair_genes || !j->pair_terms || !j->drop || !gl || !tl) {
        PyErr_NoMemory();
        goto fail;
    }
    if (utf8_list(genes, j->genes, n, "network gene") < 0 ||
        utf8_list(ag, gl, nag, "annotation gene") < 0 ||
        utf8_list(at, tl, nat, "annotation term") < 0)
        goto fail;
    const int64_t *gi = (const int64_t *)PyArray_DATA(pg), *ti = (const int64_t *)PyArray_DATA(pt);
    for (Py_ssize_t k = 0; k < npairs; k++) {
        if (gi[k] < 0 || gi[k] >= nag || ti[k] < 0 || ti[k] >= nat) {
            PyErr_Format(PyExc_IndexError, "egad: annotation pair %zd indexes outside the labels", k);
            goto fail;
        }
        j->pair_genes[k] = gl[gi[k]];
        j->pair_terms[k] = tl[ti[k]];
    }
    PyMem_RawFree(gl);
    PyMem_RawFree(tl);
    gl = tl = NULL;
    if (job_run(j, 0) < 0) return NULL;
    if (j->st != VPAR_OK) {
        raise_status(j->st, j->err);
        job_free(j);
        return NULL;
    }
    return egad_results(j);
fail:
    PyMem_RawFree(gl);
    PyMem_RawFree(tl);
    job_free(j);
    return NULL;
}

/* _go_pairs' view of the genes x terms matrix (any strides) and row mask;
   term_major: walk columns in the inner loop's favour. */
typedef struct go_view {
    size_t ng, nt;
    npy_intp s0, s1;
    const char *base;
    const unsigned char *mask;
    int term_major;
} go_view;

/* Counts each term's entries in masked rows, then turns cnt[] into the
   start offsets of the terms with more than minc of them (SIZE_MAX for
   the others). Returns the number of pairs kept. No Python calls. */
static size_t go_pairs_offsets(const go_view *v, size_t minc, size_t *cnt) {
    if (v->term_major) {
        for (size_t j = 0; j < v->nt; j++) {
            const char *col = v->base + (npy_intp)j * v->s1;
            size_t c = 0;
            for (size_t i = 0; i < v->ng; i++) c += v->mask[i] && col[(npy_intp)i * v->s0];
            cnt[j] = c;
        }
    } else {
        for (size_t i = 0; i < v->ng; i++) {
            if (!v->mask[i]) continue;
            const char *row = v->base + (npy_intp)i * v->s0;
            for (size_t j = 0; j < v->nt; j++) cnt[j] += row[(npy_intp)j * v->s1] != 0;
        }
    }
    size_t total = 0;
    for (size_t j = 0; j < v->nt; j++) {
        size_t c = cnt[j];
        if (c > minc) {
            cnt[j] = total;
            total += c;
        } else {
            cnt[j] = SIZE_MAX;
        }
    }
    return total;
}

/* Writes the kept pairs (gene go_[k], term to_[k]) term-major, genes
   ascending, from the offsets go_pairs_offsets left in cnt[]. No Python
   calls. */
static void go_pairs_fill(const go_view *v, size_t *cnt, int64_t *go_, int64_t *to_) {
    if (v->term_major) {
        for (size_t j = 0; j < v->nt; j++) {
            if (cnt[j] == SIZE_MAX) continue;
            const char *col = v->base + (npy_intp)j * v->s1;
            size_t at = cnt[j];
            for (size_t i = 0; i < v->ng; i++)
                if (v->mask[i] && col[(npy_intp)i * v->s0]) {
                    go_[at] = (int64_t)i;
                    to_[at] = (int64_t)j;
                    at++;
                }
        }
    } else {
        for (size_t i = 0; i < v->ng; i++) {
            if (!v->mask[i]) continue;
            const char *row = v->base + (npy_intp)i * v->s0;
            for (size_t j = 0; j < v->nt; j++) {
                if (cnt[j] == SIZE_MAX || !row[(npy_intp)j * v->s1]) continue;
                size_t at = cnt[j]++;
                go_[at] = (int64_t)i;
                to_[at] = (int64_t)j;
            }
        }
    }
}

/* _go_pairs(g, rows, min_count) -> (gene_idx, term_idx): the nonzero
   entries of the genes x terms uint8 matrix g (any strides) in rows with
   rows[i] != 0, term-major (terms in column order, genes ascending), for
   the terms with more than min_count such entries (no other term can pass
   EGAD's size filter on a subset of these rows). One pass in memory order
   to count, one to fill. */
static PyObject *py_go_pairs(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *gobj, *mobj;
    long minc;
    if (!PyArg_ParseTuple(args, "O!O!l:_go_pairs", &PyArray_Type, &gobj, &PyArray_Type, &mobj,
                          &minc))
        return NULL;
    PyArrayObject *g = (PyArrayObject *)gobj, *m = (PyArrayObject *)mobj;
    if (PyArray_TYPE(g) != NPY_UINT8 || PyArray_NDIM(g) != 2 || PyArray_TYPE(m) != NPY_UINT8 ||
        PyArray_NDIM(m) != 1 || PyArray_DIM(m, 0) != PyArray_DIM(g, 0) ||
        !PyArray_IS_C_CONTIGUOUS(m)) {
        PyErr_SetString(PyExc_TypeError, "_go_pairs: 2-D uint8 matrix and 1-D uint8 row mask");
        return NULL;
    }
    go_view v;
    v.ng = (size_t)PyArray_DIM(g, 0);
    v.nt = (size_t)PyArray_DIM(g, 1);
    v.s0 = PyArray_STRIDE(g, 0);
    v.s1 = PyArray_STRIDE(g, 1);
    v.base = (const char *)PyArray_DATA(g);
    v.mask = (const unsigned char *)PyArray_DATA(m);
    v.term_major = (v.s0 < 0 ? -v.s0 : v.s0) <= (v.s1 < 0 ? -v.s1 : v.s1);
    size_t *cnt = (size_t *)PyMem_RawCalloc(v.nt + 1, sizeof *cnt);
    if (!cnt) return PyErr_NoMemory();
    size_t total = 0;
    Py_BEGIN_ALLOW_THREADS
    total = go_pairs_offsets(&v, (size_t)(minc < 0 ? 0 : minc), cnt);
    Py_END_ALLOW_THREADS
    npy_intp dims[1] = {(npy_intp)total};
    PyObject *gi = PyArray_SimpleNew(1, dims, NPY_INT64), *ti = PyArray_SimpleNew(1, dims, NPY_INT64);
    if (!gi || !ti) {
        Py_XDECREF(gi);
        Py_XDECREF(ti);
        PyMem_RawFree(cnt);
        return NULL;
    }
    int64_t *go_ = (int64_t *)PyArray_DATA((PyArrayObject *)gi);
    int64_t *to_ = (int64_t *)PyArray_DATA((PyArrayObject *)ti);
    Py_BEGIN_ALLOW_THREADS
    go_pairs_fill(&v, cnt, go_, to_);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(cnt);
    return Py_BuildValue("NN", gi, ti);
}

/* ---- module -------------------------------------------------------------------------- */

static PyObject *py_default_threads(PyObject *self, PyObject *noargs) {
    (void)self;
    (void)noargs;
    return PyLong_FromLong(vpar_pool_size(vpar_pool_default()));
}

static PyObject *py_pending(PyObject *self, PyObject *noargs) {
    (void)self;
    (void)noargs;
    return PyLong_FromLong(atomic_load(&g_pending));
}

static PyObject *py_simd_path(PyObject *self, PyObject *noargs) {
    (void)self;
    (void)noargs;
    return PyUnicode_FromString(vpar_simd_path_name(vpar_simd_active()));
}

static PyMethodDef methods[] = {
    {"rank_standardize", (PyCFunction)(void (*)(void))py_rank_standardize,
     METH_VARARGS | METH_KEYWORDS,
     "rank_standardize(a, *, nan_value=0.5, symmetric=False, threads=None)\n--\n\n"
     "Rank-standardize a float32/float64 contiguous array in place (the workflow's\n"
     "rank()): average ranks of the finite entries of the flattened array,\n"
     "(rank - 1) / max(rank - 1); NaN and +-inf become nan_value. Returns a."},
    {"_rankdata_rows", py_rankdata_rows, METH_VARARGS, "rows of a 2-D array ranked (internal)"},
    {"_reduce", py_reduce, METH_VARARGS, "reductions (internal)"},
    {"_egad", py_egad, METH_VARARGS, "EGAD core (internal)"},
    {"_go_pairs", py_go_pairs, METH_VARARGS, "annotation pairs of a 0/1 matrix (internal)"},
    {"default_threads", py_default_threads, METH_NOARGS,
     "default_threads()\n--\n\nSize of the default thread pool (VPAR_NUM_THREADS or the CPUs)."},
    {"simd_path", py_simd_path, METH_NOARGS,
     "simd_path()\n--\n\nName of the active SIMD code path of the reductions."},
    {"_pending", py_pending, METH_NOARGS,
     "number of interrupted (abandoned) calls still running (internal)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_vpar",
                                    "vpar C extension (see the vpar package)", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__vpar(void) {
    import_array();
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    PyModule_AddStringConstant(m, "VPAR_VERSION", VPAR_VERSION_STRING);
    PyModule_AddIntConstant(m, "OP_SUM", OP_SUM);
    PyModule_AddIntConstant(m, "OP_NANSUM", OP_NANSUM);
    PyModule_AddIntConstant(m, "OP_NANMEAN", OP_NANMEAN);
    PyModule_AddIntConstant(m, "OP_NANMIN", OP_NANMIN);
    PyModule_AddIntConstant(m, "OP_NANMAX", OP_NANMAX);
    PyModule_AddIntConstant(m, "OP_NANVAR", OP_NANVAR);
    PyModule_AddIntConstant(m, "OP_MEAN", OP_MEAN);
    return m;
}
