"""vpar.rankdata against scipy.stats.rankdata (and pandas for 'last')."""
import numpy as np
import pytest

import vpar

st = pytest.importorskip("scipy.stats")
METHODS = ["average", "min", "max", "dense", "ordinal"]


def data(rng, shape, nan=True, dtype=np.float64):
    x = rng.integers(0, 12, size=shape).astype(np.float64)   # many ties
    x[x == 11] = np.inf
    if nan:
        x[x == 10] = np.nan
    return x.astype(dtype)


def no_pm_inf(x):
    # scipy 1.10 tests for NaN with np.sum (inf + -inf = NaN); keep -inf out
    return np.where(np.isneginf(x), -5.0, x)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_no_nan_vs_scipy(method, dtype):
    rng = np.random.default_rng(1)
    x = data(rng, (40, 30), nan=False)
    if dtype is np.int64:
        x = np.where(np.isinf(x), 99, x).astype(np.int64)
    else:
        x = no_pm_inf(x).astype(dtype)
    for axis in (None, 0, 1, -1):
        want = st.rankdata(x, method, axis=axis)
        got = vpar.rankdata(x, method, axis=axis)
        assert got.dtype == want.dtype and got.shape == want.shape, (axis, got.dtype, want.dtype)
        assert np.array_equal(got, want), axis


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("policy", ["propagate", "omit"])
def test_nan_vs_scipy(method, policy):
    rng = np.random.default_rng(2)
    x = no_pm_inf(data(rng, (25, 20)))
    x[3, :] = 1.0                                   # a row without NaN (axis=1)
    for axis in (None, 0, 1):
        want = st.rankdata(x, method, axis=axis, nan_policy=policy)
        got = vpar.rankdata(x, method, axis=axis, nan_policy=policy)
        assert got.dtype == want.dtype and got.shape == want.shape, (axis, got.dtype, want.dtype)
        assert np.array_equal(got, want, equal_nan=True), axis


def test_three_d_axis():
    x = no_pm_inf(data(np.random.default_rng(3), (4, 5, 6), nan=False))
    for axis in (0, 1, 2):
        assert np.array_equal(vpar.rankdata(x, "min", axis=axis), st.rankdata(x, "min", axis=axis))


def test_both_infinities():
    """scipy 1.10 returns all-NaN here (it detects NaN with a sum); ranks from
    a stable argsort are the independent reference."""
    x = np.array([np.inf, -np.inf, 1.0, 1.0, -np.inf, 0.0])
    got = vpar.rankdata(x, "ordinal")
    want = np.empty(6, dtype=np.int64)
    want[np.argsort(x, kind="stable")] = np.arange(1, 7)
    assert np.array_equal(got, want)
    assert np.array_equal(vpar.rankdata(x), [6, 1.5, 4.5, 4.5, 1.5, 3])


def test_nan_last_vs_pandas():
    pd = pytest.importorskip("pandas")
    x = no_pm_inf(data(np.random.default_rng(4), 300))
    for method, pm in [("average", "average"), ("min", "min"), ("max", "max"), ("dense", "dense"),
                       ("ordinal", "first")]:
        want = pd.Series(x).rank(method=pm, na_option="bottom").to_numpy()
        got = vpar.rankdata(x, method, nan_policy="last")
        assert np.array_equal(got, want), method


def test_raise_and_errors():
    x = np.array([1.0, np.nan])
    with pytest.raises(ValueError, match="nan"):
        vpar.rankdata(x, nan_policy="raise")
    assert np.array_equal(vpar.rankdata([3, 1, 2], nan_policy="raise"), [3.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="method"):
        vpar.rankdata(x, "mean")
    with pytest.raises(ValueError, match="nan_policy"):
        vpar.rankdata(x, nan_policy="drop")
    with pytest.raises(np.AxisError):
        vpar.rankdata(np.ones((2, 2)), axis=2)
    with pytest.raises(TypeError):
        vpar.rankdata(np.array(["a", "b"]))
    assert vpar.rankdata(np.array([])).dtype == np.float64
    assert vpar.rankdata(np.array([]), "dense").dtype == np.int64


def test_threads_and_large():
    x = data(np.random.default_rng(5), 300_000, nan=False)
    x = no_pm_inf(x) + np.random.default_rng(6).integers(0, 1000, x.size)
    want = st.rankdata(x)
    for threads in (None, 1, 2):
        assert np.array_equal(vpar.rankdata(x, threads=threads), want)
