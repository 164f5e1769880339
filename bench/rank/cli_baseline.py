#!/usr/bin/env python3
"""The Python side of rank_cli_4000_f64 (bench/rank/run), and its check.

  cli_baseline.py gen PATH N        N x N float64, standard normal (seed 3)
  cli_baseline.py rank IN OUT       the whole process a Python user runs:
                                    np.load, the workflow's rank() with
                                    bottleneck.rankdata, np.save
  cli_baseline.py close A B TOL     do the two .npy arrays agree within TOL
                                    (absolute)? prints check=ok worst=<max
                                    |diff|> or check=DIFFER <count, first>
"""
import sys

import numpy as np

from baseline import rank_bn  # the workflow's rank(), one copy (bench/rank/baseline.py)


def main(argv):
    if argv[1] == "gen":
        n = int(argv[3])
        np.save(argv[2], np.random.default_rng(3).standard_normal((n, n)))
    elif argv[1] == "rank":
        np.save(argv[3], rank_bn(np.load(argv[2])))
    elif argv[1] == "close":
        a, b, tol = np.load(argv[2]), np.load(argv[3]), float(argv[4])
        if a.shape != b.shape or a.dtype != b.dtype:
            print(f"check=DIFFER shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}")
            return
        d = np.abs(a.astype(np.float64) - b.astype(np.float64)).reshape(-1)
        bad = np.flatnonzero(~(d <= tol))
        if bad.size:
            print(f"check=DIFFER {bad.size}_entries_first_at_{bad[0]}")
        else:
            print(f"check=ok worst={d.max() if d.size else 0:.3g}")
    else:
        sys.exit(f"cli_baseline.py: unknown command {argv[1]!r}")


if __name__ == "__main__":
    main(sys.argv)
