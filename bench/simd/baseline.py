#!/usr/bin/python3
"""numpy/bottleneck side of bench/simd/run: baseline.py NAME REPS.
Prints `baseline=<what> baseline_s=<median seconds>` on one line.
Inputs match bench_simd.c: 1000 x 1000 float64 matrix, 10^7 float64 /
float32 vectors (uniform [0, 1); the nansum input has 1% NaN). Each
timed call runs on warm data, like the C side."""
import statistics
import sys
import time

import numpy as np


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2
    name, reps = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(1)
    if name.startswith(("rowsum", "colsum")):
        a = rng.random((1000, 1000))
        axis = 1 if name.startswith("rowsum") else 0
        what = f"numpy.sum(axis={axis})"
        fn = lambda: a.sum(axis=axis)
    elif name == "sum_f64_1e7":
        x = rng.random(10**7)
        what, fn = "numpy.sum", lambda: x.sum()
    elif name == "nansum_f64_1e7":
        import bottleneck as bn
        x = rng.random(10**7)
        x[rng.random(10**7) < 0.01] = np.nan
        what, fn = "bottleneck.nansum", lambda: bn.nansum(x)
    elif name == "sum_f32_1e7":
        x = rng.random(10**7, dtype=np.float32)
        what, fn = "numpy.sum(float32)", lambda: x.sum()
    else:
        print(f"baseline.py: unknown benchmark '{name}'", file=sys.stderr)
        return 2
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    print(f"baseline={what} baseline_s={statistics.median(times):.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
