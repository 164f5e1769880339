"""bench/farm/baseline.py — per-task cost of mpi4py.futures.MPIPoolExecutor.map.

Run under the same MPI launcher and rank count as the farm:
    mpirun -np K python3 -m mpi4py.futures baseline.py N REPS
Rank 0 runs this script; the other K-1 ranks are the executor's workers.
Prints the median seconds per task of ex.map(f, range(N)) (trivial f),
after one warm-up map, and checks the results.
"""
import statistics
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def trivial(i):
    return 2 * i


def main():
    n = int(sys.argv[1])
    reps = int(sys.argv[2])
    times = []
    with MPIPoolExecutor() as ex:
        for r in range(reps + 1):  # rep 0: warm-up (workers start)
            t0 = time.perf_counter()
            out = list(ex.map(trivial, range(n)))
            dt = (time.perf_counter() - t0) / n
            if out != [2 * i for i in range(n)]:
                sys.exit("baseline.py: wrong results")
            if r:
                times.append(dt)
    print("%.6g" % statistics.median(times))


if __name__ == "__main__":
    main()
