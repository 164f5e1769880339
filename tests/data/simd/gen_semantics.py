#!/usr/bin/python3
"""Writes semantics.txt: numpy/bottleneck results on edge cases (empty,
all-NaN, ties, NaN/inf placement, ddof) that tests/test_simd.c checks every
vpar SIMD path against. Run with /usr/bin/python3 (numpy + bottleneck):
    tests/data/simd/gen_semantics.py > tests/data/simd/semantics.txt
Line format:  <vpar function> <ddof> | <values, space separated> | <expected or ERR>
Values are small integers/halves/inf/nan, exact in float32 and float64."""
import warnings
import numpy as np
import bottleneck as bn

warnings.simplefilter("ignore")
nan, inf = np.nan, np.inf
cases = [
    [], [nan], [nan, nan, nan], [1.0], [-0.0], [2.5], [3.0, 1.0, 1.0, 3.0],
    [1.0, nan, 0.0, nan], [nan, 1.0, 2.0], [1.0, 2.0, nan], [inf, -inf],
    [inf, 1.0, inf], [-inf, -inf, 2.0], [inf, nan, -inf], [5.0, 5.0, 5.0],
    [0.0, -0.0, 0.0], [2.0**100, 1.0, -2.0**100], [4.0, -2.0, 8.0, -2.0, 8.0],
    [nan, inf], [nan, -inf, -inf], [0.5, 0.25, -8.0, 16.0, -8.0, 0.125],
    [float(v) for v in range(40)] + [nan] + [float(-v) for v in range(30)],
    [float((v * 37) % 23) - 11.0 for v in range(100)],
]
funcs = {
    "sum": np.sum, "mean": np.mean, "nansum": bn.nansum, "nanmean": bn.nanmean,
    "min": np.min, "max": np.max, "nanmin": bn.nanmin, "nanmax": bn.nanmax,
    "argmin": np.argmin, "argmax": np.argmax,
    "nanargmin": bn.nanargmin, "nanargmax": bn.nanargmax,
    "sumsq": lambda a: np.sum(a * a), "count_finite": lambda a: np.count_nonzero(np.isfinite(a)),
}
ddof_funcs = {"var": np.var, "std": np.std, "nanvar": np.nanvar, "nanstd": np.nanstd}

def fmt(v):
    return repr(float(v)) if not isinstance(v, (int, np.integer)) else str(int(v))

def emit(name, ddof, a, f):
    arr = np.array(a, dtype=np.float64)
    try:
        r = f(arr)
        out = str(int(r)) if name.startswith(("arg", "nanarg", "count")) else repr(float(r))
    except ValueError:
        out = "ERR"
    print(f"{name} {ddof} | {' '.join(repr(float(v)) for v in a)} | {out}")

for a in cases:
    for name, f in funcs.items():
        emit(name, 0, a, f)
    for name, f in ddof_funcs.items():
        for ddof in (0, 1, 2, 3):
            emit(name, ddof, a, lambda arr, f=f, d=ddof: f(arr, ddof=d))
