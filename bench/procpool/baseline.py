"""Python side of the procpool benchmarks: multiprocessing.Pool.

    baseline.py task_overhead [ntasks] [reps]   median seconds per task of
        Pool(2).map(f, range(ntasks), chunksize=1)
    baseline.py startup [reps]                  median seconds of
        Pool(2) start + close + join
Prints one line: the median in seconds."""
import multiprocessing as mp
import statistics
import sys
import time


def f(x):
    return x * x


def task_overhead(n, reps):
    ts = []
    with mp.Pool(2) as pool:
        pool.map(f, range(1000), chunksize=1)  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            out = pool.map(f, range(n), chunksize=1)
            ts.append((time.perf_counter() - t0) / n)
            assert out[-1] == (n - 1) * (n - 1)
    return statistics.median(ts)


def startup(reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        pool = mp.Pool(2)
        pool.close()
        pool.join()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "task_overhead":
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
        reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
        print("%.6g" % task_overhead(n, reps))
    elif what == "startup":
        reps = int(sys.argv[2]) if len(sys.argv) > 2 else 11
        print("%.6g" % startup(reps))
    else:
        sys.exit("usage: baseline.py task_overhead [n reps] | startup [reps]")
