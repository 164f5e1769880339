#!/usr/bin/python3
"""python_aggregate_step_5000: one step of the workflow's permutation loop
in Python, as the workflow writes it (bench/aggregate/ref_step.py: the
bottleneck rank() and the numpy/scipy run_egad()) against the same script
with those two calls swapped for vpar.rank_standardize and vpar.egad. Same
process, same inputs, sides alternated rep by rep; the two results must
agree to the fixture tolerances (exit 1 otherwise).

    bench_step.py --annotations go.tsv --genes genes.txt [--repeat R]
                  [--threads T] NET.npy [NET.npy ...]

Prints `# ...` context lines and
`BENCH python_aggregate_step_5000 baseline=... baseline_s=<median> vpar_s=<median> ratio=<b/v>`.
"""
import argparse
import importlib.util
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import vpar

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("ref_step", HERE.parent / "aggregate" / "ref_step.py")
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def step_reference(nets, genes, go):
    agg = nets[0].astype(np.float64)
    for x in nets[1:]:
        agg += x
    ranked = pd.DataFrame(ref.rank(agg), index=genes, columns=genes)
    return ref.run_egad(go, ranked)


def step_vpar(nets, genes, go, threads):
    agg = nets[0].astype(np.float64)
    for x in nets[1:]:
        agg += x
    vpar.rank_standardize(agg, threads=threads)           # in place
    ranked = pd.DataFrame(agg, index=genes, columns=genes)
    return vpar.egad(go, ranked, threads=threads)


def agree(a, b):
    """Fixture tolerances: AUC/DEGREE_NULL_AUC 1e-9 abs, AVG_NODE_DEGREE 1e-9
    rel, P_Value 1e-6 rel or 1e-300 abs; NaN where the other is NaN."""
    if list(a.index) != list(b.index):
        return f"term lists differ ({len(a)} vs {len(b)} terms)"
    for c in ("AUC", "AVG_NODE_DEGREE", "DEGREE_NULL_AUC", "P_Value"):
        x, y = a[c].to_numpy(), b[c].to_numpy()
        d = np.abs(x - y)
        ok = np.isnan(x) & np.isnan(y)
        if c in ("AUC", "DEGREE_NULL_AUC"):
            ok |= d <= 1e-9
        elif c == "AVG_NODE_DEGREE":
            ok |= d <= 1e-9 * np.abs(x)
        else:
            ok |= (d <= 1e-6 * np.abs(x)) | (d <= 1e-300)
        if not ok.all():
            return f"column {c} differs at {int((~ok).sum())} terms"
    return None


def main():
    warnings.simplefilter("ignore", RuntimeWarning)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations", required=True)
    ap.add_argument("--genes", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="vpar threads (default: the pool size)")
    ap.add_argument("--name", default="python_aggregate_step_5000")
    ap.add_argument("networks", nargs="+")
    a = ap.parse_args()
    genes = [line.rstrip("\r\n") for line in open(a.genes)]
    go = ref.read_go(a.annotations, genes)
    nets = [np.load(f) for f in a.networks]
    tb, tv = [], []
    rb = rv = None
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        rb = step_reference(nets, genes, go)
        t1 = time.perf_counter()
        rv = step_vpar(nets, genes, go, a.threads)
        t2 = time.perf_counter()
        tb.append(t1 - t0)
        tv.append(t2 - t1)
    bad = agree(rb, rv)
    n = len(genes)
    threads = a.threads or vpar.default_threads()
    print(f"# {a.name}: {n} genes, {len(nets)} network(s), {len(rb)} kept terms; vpar {threads} threads; "
          f"python runs {','.join('%.3f' % t for t in tb)} s, vpar runs {','.join('%.3f' % t for t in tv)} s")
    print(f"# {a.name}: mean AUC python {rb.AUC.mean():.17g}, vpar {rv.AUC.mean():.17g}: "
          + ("every column agrees to the fixture tolerances" if bad is None else "DIFFER: " + bad))
    if bad is not None:
        print(f"bench_step.py: results differ: {bad}", file=sys.stderr)
        return 1
    mb, mv = statistics.median(tb), statistics.median(tv)
    print(f"BENCH {a.name} baseline=python-bottleneck-rank+numpy-egad baseline_s={mb:.4f} "
          f"vpar_s={mv:.4f} ratio={mb / mv:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
