#!/usr/bin/python3
"""numpy/bottleneck side of bench/simd/run.

  baseline.py gen NAME PATH [N [M]]    write the input of NAME to PATH (.npy):
                                       an M x M float64 matrix (row/column
                                       sums; M default 1000) or N float64 /
                                       float32 values (N default 10^7),
                                       uniform [0, 1) (seed 1); the nansum
                                       input has 1% NaN
  baseline.py NAME REPS IN OUT         time the baseline on IN (warm data, as
                                       the C side): prints `baseline=<what>
                                       baseline_s=<median seconds>`; saves the
                                       result to OUT (.npy, float64)
  baseline.py check NAME IN BASE VPAR  compare the two results within the
                                       documented tolerance (bench/README.md):
                                       prints `check=ok worst=<max |diff|/tol>`
                                       or `check=DIFFER <where>`; exit 0 either
                                       way (1 only when a file is unreadable)
"""
import math
import statistics
import sys
import time

import numpy as np

U64 = 2.0 ** -53
U32 = 2.0 ** -24


def gen(name, path, n, m):
    rng = np.random.default_rng(1)
    if name.startswith(("rowsum", "colsum")):
        a = rng.random((m, m))
    elif name == "sum_f32_1e7":
        a = rng.random(n, dtype=np.float32)
    else:
        a = rng.random(n)
        if name == "nansum_f64_1e7":
            a[rng.random(n) < 0.01] = np.nan
    np.save(path, a)


def baseline(name, x):
    """(description, function) of the baseline for NAME on input x."""
    if name.startswith("rowsum"):
        return "numpy.sum(axis=1)", lambda: x.sum(axis=1)
    if name.startswith("colsum"):
        return "numpy.sum(axis=0)", lambda: x.sum(axis=0)
    if name == "nansum_f64_1e7":
        import bottleneck as bn
        return "bottleneck.nansum", lambda: bn.nansum(x)
    if name == "sum_f32_1e7":
        return "numpy.sum(float32)", lambda: x.sum()
    if name == "sum_f64_1e7":
        return "numpy.sum", lambda: x.sum()
    raise KeyError(name)


def bound_vpar(k, colsum):
    """vpar's documented error bound (times u sum|x|) for a sum of k terms
    (docs/simd.md): pairwise 14 + ceil(log2(ceil(k / 256))); column sums
    128 + k / 128."""
    if colsum:
        return 128.0 + k / 128.0
    return 14.0 + math.ceil(math.log2(max(1, math.ceil(k / 256))))


def bound_base(name, k):
    """(factor, unit) of the baseline's error bound for k terms: numpy's
    pairwise sum (contiguous: whole arrays, axis=1) 19 + ceil(log2(k/128));
    numpy axis=0 and bottleneck.nansum add sequentially: k - 1. numpy sums
    float32 in float32 (u = 2^-24)."""
    seq = name.startswith("colsum") or name == "nansum_f64_1e7"
    f = max(k - 1, 1) if seq else 19.0 + math.ceil(math.log2(max(1.0, k / 128.0)))
    return f, (U32 if name == "sum_f32_1e7" else U64)


def check(name, inp, base_path, vpar_path):
    x = np.load(inp).astype(np.float64)
    b = np.load(base_path).astype(np.float64).reshape(-1)
    v = np.load(vpar_path).astype(np.float64).reshape(-1)
    if name.startswith("rowsum"):
        s, k = np.nansum(np.abs(x), axis=1), x.shape[1]
    elif name.startswith("colsum"):
        s, k = np.nansum(np.abs(x), axis=0), x.shape[0]
    else:
        s, k = np.array([np.nansum(np.abs(x))]), x.size
    if b.shape != v.shape or b.shape != s.shape:
        return f"check=DIFFER shapes baseline {b.shape} vpar {v.shape} expected {s.shape}"
    fb, ub = bound_base(name, k)
    # |vpar - base| <= (vpar's bound + the baseline's bound) * sum|x|, plus
    # the baseline's own final rounding (float32 result) of |result|.
    tol = (bound_vpar(k, name.startswith("colsum")) * U64 + fb * ub) * s + ub * np.abs(b)
    diff = np.abs(v - b)
    both_nan = np.isnan(v) & np.isnan(b)
    bad = ~both_nan & ~(diff <= tol)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return (f"check=DIFFER {int(bad.sum())} of {b.size} values, first [{i}]: "
                f"vpar {v[i]!r} baseline {b[i]!r} tol {tol[i]:.3g}")
    ok = ~both_nan
    worst = float(np.max(diff[ok] / np.maximum(tol[ok], 1e-300))) if ok.any() else 0.0
    return f"check=ok worst={worst:.3g}"


def main():
    a = sys.argv[1:]
    if not a or a[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if a else 2
    if a[0] == "gen" and len(a) in (3, 4, 5):
        gen(a[1], a[2], int(a[3]) if len(a) > 3 else 10**7, int(a[4]) if len(a) > 4 else 1000)
        return 0
    if a[0] == "check" and len(a) == 5:
        print(check(*a[1:]))
        return 0
    if len(a) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    name, reps, inp, out = a[0], int(a[1]), a[2], a[3]
    x = np.load(inp)
    try:
        what, fn = baseline(name, x)
    except KeyError:
        print(f"baseline.py: unknown benchmark '{name}'", file=sys.stderr)
        return 2
    r = fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t)
    np.save(out, np.asarray(r, dtype=np.float64).reshape(-1))
    print(f"baseline={what} baseline_s={statistics.median(times):.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
