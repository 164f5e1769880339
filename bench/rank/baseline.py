#!/usr/bin/env python3
"""Baselines and data for bench/rank/run (issue 5).

  baseline.py gen5000 PATH [N]     N x N float64 (default 5000), standard
                                   normal (seed 0)
  baseline.py gen17198 PATH [N]    N x N float32 (default 17198) symmetric
                                   network: standard normal upper triangle
                                   mirrored, values rounded to 4 decimals
                                   (ties, as in real correlation networks)
  baseline.py time PATH REPS [OUT] medians (seconds) of the workflow's rank()
                                   with bottleneck.rankdata, bottleneck.rankdata
                                   alone, scipy.stats.rankdata, np.argsort;
                                   OUT: save rank()'s result (.npy)
  baseline.py timebn PATH REPS [OUT]  only the bottleneck rank() (large arrays)
  baseline.py check A B            are the two .npy results equal bit for bit
                                   (vpar documents exactly numpy's operations)?
                                   prints check=ok or check=DIFFER <count, first>

The workflow's rank(): rank all finite entries of the flattened array with
average ties, (rank - 1) / max(rank - 1), NaN/inf -> 0.5, in place.
"""
import sys
import time

import numpy as np


def rank_bn(data):
    import bottleneck as bn
    x = data.reshape(-1)
    fin = np.isfinite(x)
    r = bn.rankdata(x[fin]) - 1
    x[fin] = r / r.max()
    x[~fin] = 0.5
    return data


def median_time(fn, make_input, reps, keep=None):
    """Median seconds of fn over reps fresh inputs; keep: a list that gets
    the last result."""
    ts = []
    for _ in range(reps):
        a = make_input()
        t0 = time.perf_counter()
        r = fn(a)
        ts.append(time.perf_counter() - t0)
        if keep is not None:
            keep[:] = [r]
        del a, r
    return float(np.median(ts))


def check(pa, pb):
    """Bit-for-bit comparison of two .npy arrays, in chunks (memory-mapped:
    the 17198 x 17198 results are 1.2 GB each)."""
    a, b = np.load(pa, mmap_mode="r"), np.load(pb, mmap_mode="r")
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"check=DIFFER shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    fa, fb = a.reshape(-1), b.reshape(-1)
    step, bad, first = 1 << 24, 0, None
    for i in range(0, fa.size, step):
        x, y = np.asarray(fa[i:i + step]), np.asarray(fb[i:i + step])
        ne = (x != y) | (np.signbit(x) != np.signbit(y))
        ne &= ~(np.isnan(x) & np.isnan(y))
        if ne.any():
            bad += int(ne.sum())
            if first is None:
                k = int(np.flatnonzero(ne)[0])
                first = (i + k, x[k], y[k])
    if bad:
        return f"check=DIFFER {bad} of {fa.size} entries, first [{first[0]}]: {first[1]!r} vs {first[2]!r}"
    return "check=ok exact"


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "check":
        print(check(path, sys.argv[3]))
    elif cmd == "gen5000":
        n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
        rng = np.random.default_rng(0)
        np.save(path, rng.standard_normal((n, n)))
    elif cmd == "gen17198":
        n = int(sys.argv[3]) if len(sys.argv) > 3 else 17198
        rng = np.random.default_rng(0)
        a = np.empty((n, n), dtype=np.float32)
        for i in range(0, n, 1024):  # row blocks: bounded temporaries
            a[i:i + 1024] = np.round(rng.standard_normal((min(1024, n - i), n)), 4)
        iu = np.tril_indices(n, -1)
        a[iu] = a.T[iu]
        np.save(path, a)
    elif cmd in ("time", "timebn"):
        reps = int(sys.argv[3])
        src = np.load(path, mmap_mode="r")
        keep = []
        out = {"bn_rank": median_time(rank_bn, lambda: np.array(src), reps, keep)}
        if len(sys.argv) > 4:
            np.save(sys.argv[4], keep[0])
        keep.clear()
        if cmd == "time":
            import bottleneck as bn
            import scipy.stats
            flat = lambda: np.array(src).reshape(-1)
            out["bn_rankdata"] = median_time(bn.rankdata, flat, reps)
            out["scipy_rankdata"] = median_time(scipy.stats.rankdata, flat, reps)
            out["np_argsort"] = median_time(np.argsort, flat, reps)
        print(" ".join(f"{k}={v:.6f}" for k, v in out.items()))
    else:
        sys.exit(f"baseline.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
