"""vpar.sum/nansum/nanmean/nanmin/nanmax/nanvar against numpy and bottleneck."""
import warnings

import numpy as np
import pytest

import vpar


def data(rng, shape, dtype=np.float64):
    x = rng.normal(size=shape) * 100
    flat = x.reshape(-1)
    if flat.size > 4:
        flat[rng.choice(flat.size, flat.size // 10, replace=False)] = np.nan
    return x.astype(dtype)


def close(got, want, dtype):
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e3, equal_nan=True)


FUNCS = [("nansum", {}), ("nanmean", {}), ("nanmin", {}), ("nanmax", {}),
         ("nanvar", {"ddof": 0}), ("nanvar", {"ddof": 1})]


@pytest.mark.parametrize("name,kw", FUNCS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1000,), (37, 53), (6, 7, 8), (1, 1)])
def test_vs_numpy(name, kw, dtype, shape):
    x = data(np.random.default_rng(len(shape) * 7 + shape[0]), shape, dtype)
    axes = [None] + list(range(-1, len(shape)))
    for axis in axes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = getattr(np, name)(x, axis=axis, **kw)
            got = getattr(vpar, name)(x, axis=axis, **kw)
        assert np.shape(got) == np.shape(want), axis
        assert np.asarray(got).dtype == np.asarray(want).dtype, (axis, np.asarray(got).dtype)
        close(got, want, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            wk = getattr(np, name)(x, axis=axis, keepdims=True, **kw)
            gk = getattr(vpar, name)(x, axis=axis, keepdims=True, **kw)
        assert np.shape(gk) == np.shape(wk)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sum_vs_numpy(dtype):
    x = data(np.random.default_rng(9), (50, 40), dtype)
    x = np.nan_to_num(x)
    for axis in (None, 0, 1):
        close(vpar.sum(x, axis=axis), np.sum(x, axis=axis, dtype=np.float64), dtype)
    y = x.copy()
    y[3, 3] = np.nan
    assert np.isnan(vpar.sum(y))
    assert np.isnan(vpar.sum(np.array([np.inf, -np.inf])))
    assert vpar.sum(np.array([np.inf, 1.0])) == np.inf
    assert vpar.sum([1, 2, 3]) == 6.0


def test_vs_bottleneck_large():
    bn = pytest.importorskip("bottleneck")
    x = data(np.random.default_rng(10), 2_000_003)
    x[5] = np.inf
    for name in ("nansum", "nanmean", "nanmin", "nanmax"):
        for threads in (None, 1, 3):
            got = getattr(vpar, name)(x, threads=threads)
            want = getattr(bn, name)(x)
            assert got == pytest.approx(want, rel=1e-12, nan_ok=True), name
    with np.errstate(invalid="ignore"):
        assert np.isnan(vpar.nanvar(x)) and np.isnan(np.nanvar(x))   # inf - inf
    y = np.where(np.isinf(x), 0.0, x)
    assert vpar.nanvar(y, ddof=1) == pytest.approx(bn.nanvar(y, ddof=1), rel=1e-10)


def test_nan_edge_cases():
    allnan = np.full((3, 4), np.nan)
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        assert np.isnan(vpar.nanmin(allnan))
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        assert np.isnan(vpar.nanmax(allnan, axis=0)).all()
    assert vpar.nansum(allnan) == 0.0
    assert np.isnan(vpar.nanmean(allnan))
    assert np.isnan(vpar.nanvar(np.array([1.0, np.nan]), ddof=1))
    with pytest.raises(ValueError, match="zero-size"):
        vpar.nanmin(np.array([]))
    with pytest.raises(ValueError, match="zero-size"):
        vpar.nanmax(np.empty((0, 3)), axis=0)
    assert vpar.nansum(np.array([])) == 0.0
    assert vpar.sum(np.empty((0, 3)), axis=0).tolist() == [0.0, 0.0, 0.0]


def test_errors():
    with pytest.raises(np.AxisError):
        vpar.nansum(np.ones((2, 2)), axis=2)
    with pytest.raises(TypeError, match="tuple"):
        vpar.nansum(np.ones((2, 2)), axis=(0, 1))
    with pytest.raises(TypeError):
        vpar.nansum(np.array(["x"]))
    with pytest.raises(ValueError, match="ddof"):
        vpar.nanvar(np.ones(3), ddof=-1)
    with pytest.raises(ValueError, match="threads"):
        vpar.nansum(np.ones(3), threads=-2)


def test_noncontiguous_and_dtype_inputs():
    x = data(np.random.default_rng(11), (30, 40))
    v = x[:, ::3]
    close(vpar.nansum(v, axis=0), np.nansum(v, axis=0), np.float64)
    assert vpar.nansum(np.array([True, True, False])) == 2.0
