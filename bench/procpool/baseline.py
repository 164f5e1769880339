"""Python side of the procpool benchmarks: multiprocessing.Pool.

    baseline.py task_overhead [ntasks] [reps]   median seconds per task of
        Pool(2).map(f, range(ntasks), chunksize=1); every result is checked
        and the line carries their sum (the runner compares it with vpar's)
    baseline.py startup [reps]                  median seconds of
        Pool(2) start + close + join; an untimed first pool is checked to
        have 2 live worker processes
Prints one line: "<median seconds> <checksum or live workers>"."""
import multiprocessing as mp
import statistics
import sys
import time


def f(x):
    return x * x


def task_overhead(n, reps):
    ts = []
    total = None
    with mp.Pool(2) as pool:
        pool.map(f, range(1000), chunksize=1)  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            out = pool.map(f, range(n), chunksize=1)
            ts.append((time.perf_counter() - t0) / n)
            assert out == [i * i for i in range(n)], "wrong results"
            total = sum(out)
    return statistics.median(ts), total


def startup(reps):
    pool = mp.Pool(2)  # untimed check: 2 live workers
    live = sum(p.is_alive() for p in pool._pool)
    pool.close()
    pool.join()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        pool = mp.Pool(2)
        pool.close()
        pool.join()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), live


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "task_overhead":
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
        reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
        print("%.6g %d" % task_overhead(n, reps))
    elif what == "startup":
        reps = int(sys.argv[2]) if len(sys.argv) > 2 else 11
        print("%.6g %d" % startup(reps))
    else:
        sys.exit("usage: baseline.py task_overhead [n reps] | startup [reps]")
