"""vpar for Python: the workflow's slow steps as numpy C-extension calls.

    import vpar
    vpar.rank_standardize(nw)            # in place: the workflow's rank(nw)
    res = vpar.egad(go, nw_frame)        # = run_egad(go, nw_frame)
    r = vpar.rankdata(x, 'min')          # = scipy.stats.rankdata(x, 'min')
    s = vpar.nansum(x, axis=0)           # = np.nansum(x, axis=0)

Every long call releases the GIL and runs on vpar's thread pool (threads=None:
the default pool, VPAR_NUM_THREADS or the CPUs); Ctrl-C raises
KeyboardInterrupt within ~50 ms (the interrupted computation is abandoned and
finishes in the background; an interrupted rank_standardize may still write
its array until then). docs/python.md has the details.
"""
import warnings

import numpy as np

from . import _vpar
from ._vpar import default_threads, rank_standardize, simd_path

__all__ = [
    "rank_standardize", "rankdata", "egad", "egad_arrays",
    "sum", "nansum", "nanmean", "nanmin", "nanmax", "nanvar",
    "default_threads", "simd_path",
]
__version__ = _vpar.VPAR_VERSION

_METHODS = {"average": 0, "min": 1, "max": 2, "dense": 3, "ordinal": 4}
_POLICIES = {"propagate": 0, "omit": 1, "last": 2}


def _float_array(a, name):
    """a as a C-contiguous float32/float64 array (other dtypes -> float64)."""
    a = np.asarray(a)
    if a.dtype.kind == "c" or a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: real numeric array required (got dtype {a.dtype})")
    if a.dtype not in (np.float32, np.float64) or not a.dtype.isnative:
        a = a.astype(np.float64)
    return np.ascontiguousarray(a)


# ---- rankdata ---------------------------------------------------------------

def rankdata(a, method="average", *, axis=None, nan_policy="propagate", threads=None):
    """scipy.stats.rankdata(a, method, axis=axis, nan_policy=nan_policy).

    method: 'average' (float64 result), 'min', 'max', 'dense', 'ordinal'
    (int64 results, as scipy). nan_policy: 'propagate' (any NaN in a slice
    makes the slice all NaN, float64), 'omit' (NaN entries get NaN, the others
    are ranked among themselves; float64), 'raise' (ValueError on NaN), or
    'last' (vpar's: NaN ranks above +inf, NaNs tied). axis=None ranks the
    flattened array and returns 1-D, like scipy. Integer input is ranked as
    float64 (exact up to 2**53)."""
    if method not in _METHODS:
        raise ValueError(f"rankdata: unknown method {method!r} "
                         f"(one of {', '.join(_METHODS)})")
    if nan_policy not in _POLICIES and nan_policy != "raise":
        raise ValueError(f"rankdata: unknown nan_policy {nan_policy!r} "
                         "(propagate, omit, raise, last)")
    x = _float_array(a, "rankdata")
    if axis is None:
        x = x.reshape(1, -1)
        moved = None
    else:
        if x.ndim == 0:
            raise np.AxisError(axis, 0)
        axis = int(axis)
        if not -x.ndim <= axis < x.ndim:
            raise np.AxisError(axis, x.ndim)
        moved = np.moveaxis(x, axis, -1)
        x = np.ascontiguousarray(moved).reshape(-1, moved.shape[-1] if moved.ndim else 1)
    has_nan = None
    if nan_policy == "raise":
        if np.isnan(x).any():
            raise ValueError("The input contains nan values")
        policy = 0
    else:
        policy = _POLICIES[nan_policy]
    r = _vpar._rankdata_rows(x, _METHODS[method], policy, threads)
    if method != "average":
        has_nan = policy in (0, 1) and np.isnan(r).any()
        if not has_nan:
            r = r.astype(np.int64)
    if moved is not None:
        r = np.moveaxis(r.reshape(moved.shape), -1, axis)
    else:
        r = r.reshape(-1)
    return r


# ---- reductions --------------------------------------------------------------

def _reduce(a, op, name, axis, keepdims, ddof=0, threads=None):
    x = _float_array(a, name)
    out_dtype = x.dtype
    if axis is not None:
        if isinstance(axis, tuple):
            raise TypeError(f"{name}: axis must be None or an int (tuples are not supported)")
        axis = int(axis)
        if not -x.ndim <= axis < max(x.ndim, 1):
            raise np.AxisError(axis, x.ndim)
        if x.ndim == 0:
            axis = None
    if axis is None:
        v = _vpar._reduce(x, op, None, int(ddof), threads)
        res = out_dtype.type(v)
        if keepdims:
            res = np.full((1,) * x.ndim, v, dtype=out_dtype)
        return res
    axis %= x.ndim
    if op in (_vpar.OP_NANMIN, _vpar.OP_NANMAX, _vpar.OP_NANVAR) and axis != x.ndim - 1:
        x = np.ascontiguousarray(np.moveaxis(x, axis, -1))
        r = _vpar._reduce(x, op, -1, int(ddof), threads)
    else:
        r = _vpar._reduce(x, op, axis, int(ddof), threads)
    r = r.astype(out_dtype, copy=False)
    if keepdims:
        r = np.expand_dims(r, axis)
    return r


def sum(a, axis=None, *, keepdims=False, threads=None):  # noqa: A001 (numpy's name)
    """np.sum(a, axis) for real arrays (float32 stays float32; pairwise
    summation in double, more accurate than numpy's float32 sum). Integer
    and bool input is summed as float64."""
    return _reduce(a, _vpar.OP_SUM, "sum", axis, keepdims, threads=threads)


def nansum(a, axis=None, *, keepdims=False, threads=None):
    """np.nansum(a, axis): NaN counts as 0."""
    return _reduce(a, _vpar.OP_NANSUM, "nansum", axis, keepdims, threads=threads)


def nanmean(a, axis=None, *, keepdims=False, threads=None):
    """np.nanmean(a, axis): mean of the non-NaN values; NaN where there is none."""
    with np.errstate(all="ignore"):
        r = _reduce(a, _vpar.OP_NANMEAN, "nanmean", axis, keepdims, threads=threads)
    return r


def nanmin(a, axis=None, *, keepdims=False, threads=None):
    """np.nanmin(a, axis): NaN skipped; all-NaN slices give NaN with
    numpy's RuntimeWarning; an empty reduction raises ValueError."""
    r = _reduce(a, _vpar.OP_NANMIN, "nanmin", axis, keepdims, threads=threads)
    if np.isnan(r).any():
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=2)
    return r


def nanmax(a, axis=None, *, keepdims=False, threads=None):
    """np.nanmax(a, axis): as nanmin."""
    r = _reduce(a, _vpar.OP_NANMAX, "nanmax", axis, keepdims, threads=threads)
    if np.isnan(r).any():
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=2)
    return r


def nanvar(a, axis=None, *, ddof=0, keepdims=False, threads=None):
    """np.nanvar(a, axis, ddof=ddof): variance of the non-NaN values
    (two-pass); NaN when their count is <= ddof."""
    if int(ddof) != ddof or ddof < 0:
        raise ValueError(f"nanvar: ddof must be a non-negative int (got {ddof!r})")
    return _reduce(a, _vpar.OP_NANVAR, "nanvar", axis, keepdims, ddof=int(ddof),
                   threads=threads)


# ---- EGAD ---------------------------------------------------------------------

_EGAD_COLUMNS = ["AUC", "AVG_NODE_DEGREE", "DEGREE_NULL_AUC", "P_Value"]


def egad_arrays(network, genes, annotations, *, nfold=3, min_count=20, max_count=1000,
                threads=None, nonfinite_as_zero=False):
    """EGAD on numpy inputs.

    network: N x N float32/float64 array (C-contiguous; other real dtypes are
    converted to float64); genes: N labels (str() of each is used) of its
    rows/columns; annotations: (gene, term) pairs, either an iterable of
    pairs or a tuple of two equal-length sequences (genes, terms). Terms are
    numbered in order of first appearance. Returns (terms, results,
    mean_auc): terms a list of the kept terms, results a len(terms) x 4
    float64 array with columns AUC, AVG_NODE_DEGREE, DEGREE_NULL_AUC,
    P_Value, mean_auc their mean AUC skipping NaN. Semantics as run_egad
    (docs/egad.md): all-NaN rows dropped, repeated IDs keep the first,
    universe = annotated genes in network order, terms with min_count <
    size < max_count, folds k mod nfold. NaN/inf left in the network is a
    ValueError unless nonfinite_as_zero."""
    w = np.asarray(network)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"egad: the network must be square 2-D (got shape {w.shape})")
    w = _egad_network(w)
    genes = [str(g) for g in genes]
    if isinstance(annotations, tuple) and len(annotations) == 2 and \
            not isinstance(annotations[0], str):
        ag, at = annotations
    else:
        pairs = list(annotations)
        ag = [p[0] for p in pairs]
        at = [p[1] for p in pairs]
    ag = [str(g) for g in ag]
    at = [str(t) for t in at]
    if len(ag) != len(at):
        raise ValueError("egad: annotation genes and terms differ in length")
    idx = np.arange(len(ag), dtype=np.int64)
    if len(ag) == 0:
        return [], np.empty((0, 4)), float("nan")
    return _vpar._egad(w, genes, ag, at, idx, idx, int(nfold), int(min_count),
                       int(max_count), threads, bool(nonfinite_as_zero))


def egad(go, nw, nfold=3, min_count=20, max_count=1000, threads=None):
    """run_egad(go, nw, nFold=nfold, min_count, max_count) of the workflow.

    go: genes x terms pandas DataFrame of 0/1 (any nonzero = annotated);
    nw: genes x genes DataFrame (or a numpy array plus nw_genes=... via
    egad_arrays). Returns the reference's DataFrame: index = kept terms (go
    column order), columns AUC, AVG_NODE_DEGREE, DEGREE_NULL_AUC, P_Value.
    Labels are compared as str(); term labels must be distinct.
    The network is not copied when its values are one C-contiguous
    float32/float64 block (the usual pd.DataFrame(array) case)."""
    import pandas as pd

    if not isinstance(go, pd.DataFrame) or not isinstance(nw, pd.DataFrame):
        raise TypeError("egad: go and nw must be pandas DataFrames "
                        "(use vpar.egad_arrays for numpy inputs)")
    if nw.shape[0] != nw.shape[1]:
        raise ValueError("Network is not square")
    if list(map(str, nw.index)) != list(map(str, nw.columns)):
        raise ValueError("egad: the network's row and column labels differ")
    cols = list(go.columns)
    col_str = [str(c) for c in cols]
    if len(set(col_str)) != len(col_str):
        raise ValueError("egad: repeated term labels in go's columns")
    g = go.to_numpy(copy=False)
    if g.dtype == object:
        g = g.astype(np.float64)
    if g.dtype in (np.bool_, np.int8, np.uint8):
        g8 = g.view(np.uint8)
    else:
        g8 = (g != 0).view(np.uint8)
    # Only genes of the network can be in the universe; a term with at most
    # min_count of them cannot pass the size filter (the kept terms and the
    # folds do not depend on it).
    rows = np.ascontiguousarray(go.index.isin(nw.index), dtype=np.uint8)
    gi, ti = _vpar._go_pairs(g8, rows, int(min_count))
    # run_egad's universe is the network genes in go.index, with or without
    # a (kept) term: each such gene gets its own one-gene term, never kept.
    sentinel_rows = np.flatnonzero(rows)
    go_genes = [str(x) for x in go.index]
    terms_all = col_str + ["\x01vpar-sentinel-%d" % i for i in range(len(sentinel_rows))]
    gi = np.concatenate([gi, sentinel_rows.astype(np.int64)])
    ti = np.concatenate([ti, np.arange(len(col_str), len(terms_all), dtype=np.int64)])
    if len(sentinel_rows) == 0:
        terms, res = [], np.empty((0, 4))
    else:
        terms, res, _ = _vpar._egad(
            _egad_network(nw.to_numpy(copy=False)), [str(x) for x in nw.index],
            go_genes, terms_all, gi, ti,
            int(nfold), int(min_count), int(max_count), threads, False)
    pos = {c: i for i, c in enumerate(col_str)}
    index = pd.Index([cols[pos[t]] for t in terms], dtype=go.columns.dtype, name=go.columns.name)
    return pd.DataFrame(res, index=index, columns=_EGAD_COLUMNS)


def _egad_network(w):
    if w.dtype not in (np.float32, np.float64) or not w.dtype.isnative:
        if w.dtype.kind not in "biuf":
            raise TypeError(f"egad: real numeric network required (got dtype {w.dtype})")
        w = w.astype(np.float64)
    return np.ascontiguousarray(w)
