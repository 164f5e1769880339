#!/usr/bin/env python3
"""Baselines and data for bench/rank/run (issue 5).

  baseline.py gen5000 PATH         5000 x 5000 float64, standard normal (seed 0)
  baseline.py gen17198 PATH        17198 x 17198 float32 symmetric network:
                                   standard normal upper triangle mirrored,
                                   values rounded to 4 decimals (ties, as in
                                   real correlation networks)
  baseline.py time PATH REPS       medians (seconds) of the workflow's rank()
                                   with bottleneck.rankdata, bottleneck.rankdata
                                   alone, scipy.stats.rankdata, np.argsort
  baseline.py timebn PATH REPS     only the bottleneck rank() (large arrays)

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


def median_time(fn, make_input, reps):
    ts = []
    for _ in range(reps):
        a = make_input()
        t0 = time.perf_counter()
        fn(a)
        ts.append(time.perf_counter() - t0)
        del a
    return float(np.median(ts))


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "gen5000":
        rng = np.random.default_rng(0)
        np.save(path, rng.standard_normal((5000, 5000)))
    elif cmd == "gen17198":
        n = 17198
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
        out = {"bn_rank": median_time(rank_bn, lambda: np.array(src), reps)}
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
