#!/usr/bin/python3
"""Python reference for one aggregation step, the seed's way (baseline of
the aggregate_step_5000 bench, and of docs/workflows.md).

    ref_step.py --annotations go.tsv --genes genes.txt [--repeat R] NET.npy [NET.npy ...]

Loads the networks, the genes and the annotations (not timed), then times
R times one step of the permutation loop: aggregate = sum of the given
networks (float64; the incremental `+=` of one network is included), rank()
with bottleneck, run_egad() with numpy/scipy, mean AUC over terms. Prints
`mean_auc=<17 digits>`, `seconds=<t1,t2,...>` and the two parts of each
step, `rank_seconds=` (sum + rank()) and `egad_seconds=` (run_egad + mean).

rank() and run_egad() follow the widely used Python code the workflow was
built on (dense numpy: N x (terms x folds) matrix product, per-column
rankdata via bottleneck), with the fold assignment and universe order of
the reference fixtures (see docs/egad.md).
"""
import argparse
import gzip
import sys
import time
import warnings

import bottleneck as bn
import numpy as np
import pandas as pd
from scipy import stats


def rank(nw):
    """Rank-standardize a network: average ranks of the finite entries of
    the flattened matrix, scaled to [0, 1]; NaN and +-inf become 0.5."""
    x = np.asarray(nw, dtype=np.float64).ravel()
    x = np.where(np.isfinite(x), x, np.nan)
    r = bn.nanrankdata(x)
    r = (r - 1) / (np.nanmax(r) - 1)
    r[np.isnan(r)] = 0.5
    return r.reshape(np.shape(nw))


def run_egad(go, nw, nFold=3, min_count=20, max_count=1000):
    """EGAD neighbor voting. go: genes x terms 0/1 DataFrame; nw: genes x
    genes DataFrame (same labels on both axes). Returns a DataFrame with
    AUC, AVG_NODE_DEGREE, DEGREE_NULL_AUC, P_Value per kept term."""
    assert nw.shape[0] == nw.shape[1], "Network is not square"
    nw_mask = nw.isna().sum(axis=1) != nw.shape[1]
    nw = nw.loc[nw_mask, nw_mask].astype(float)
    # repeated IDs: keep the first; universe = annotated genes, network order
    keep = ~nw.index.duplicated(keep="first")
    nw = nw.loc[keep, keep]
    univ = nw.index[nw.index.isin(go.index)]
    nw = nw.loc[univ, univ]
    go = go.loc[univ, :]
    sums = go.sum(axis=0)
    go = go.loc[:, (sums > min_count) & (sums < max_count)]
    terms = go.columns
    go = go.values.astype(np.float64)
    w = nw.values.copy()
    np.fill_diagonal(w, 1)
    n, t = go.shape
    # folds: positives enumerated gene by gene, terms in order; k-th -> k mod nFold
    rows, cols = np.nonzero(go)
    folds = np.arange(rows.size) % nFold
    go_cv = np.tile(go, nFold)                      # column f*t + j: training labels of fold f
    go_cv[rows, folds * t + cols] = 0
    degree = w.sum(axis=0)
    predicts = (w.T @ go_cv) / degree[:, None]
    predicts[go_cv > 0] = np.nan                    # training positives are not candidates
    ranks = bn.nanrankdata(np.abs(predicts), axis=0)
    held_out = np.tile(go, nFold) - go_cv           # 1 for the held-out positives
    ranks[held_out == 0] = np.nan
    p = np.nansum(ranks, axis=0)
    n_p = held_out.sum(axis=0)
    n_n = n - np.tile(go.sum(axis=0), nFold)
    with np.errstate(divide="ignore", invalid="ignore"):
        roc = (p / n_p - (n_p + 1) / 2) / n_n
        u = roc * n_p * n_n
        z = np.abs(u - n_p * n_n / 2) / np.sqrt(n_p * n_n * (n_p + n_n + 1) / 12)
        auc = np.nanmean(roc.reshape(nFold, t), axis=0)
        zsum = np.nansum(z.reshape(nFold, t), axis=0) / np.sqrt(nFold)
        npos = go.sum(axis=0)
        avg_degree = degree @ go / npos
        rd = stats.rankdata(degree)
        null = ((rd @ go) / npos - (npos + 1) / 2) / (n - npos)
    return pd.DataFrame({"AUC": auc, "AVG_NODE_DEGREE": avg_degree, "DEGREE_NULL_AUC": null,
                         "P_Value": stats.norm.sf(zsum)}, index=terms)


def read_go(path, genes):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        ann = pd.read_csv(f, sep="\t", dtype=str)
    ann.columns = ["gene", "term"] + list(ann.columns[2:])
    ann = ann[ann.gene.isin(set(genes))]
    terms = pd.unique(ann.term)                 # first appearance
    go = pd.crosstab(ann.gene, pd.Categorical(ann.term, categories=terms, ordered=True))
    return (go > 0).astype(np.int8)


def main():
    warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of all-NaN terms -> NaN, as intended
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", required=True)
    ap.add_argument("--genes", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("networks", nargs="+")
    a = ap.parse_args()
    genes = [l.rstrip("\r\n") for l in open(a.genes)]
    go = read_go(a.annotations, genes)
    nets = [np.load(f) for f in a.networks]
    times, trank, tegad, auc = [], [], [], None
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        agg = nets[0].astype(np.float64)
        for x in nets[1:]:
            agg += x                                # the step's one addition
        ranked = pd.DataFrame(rank(agg), index=genes, columns=genes)
        del agg                                     # (full size: memory)
        t1 = time.perf_counter()
        auc = run_egad(go, ranked).AUC.mean()       # pandas mean skips NaN
        del ranked
        t2 = time.perf_counter()
        times.append(t2 - t0)
        trank.append(t1 - t0)
        tegad.append(t2 - t1)
    print("mean_auc=%.17g" % auc)
    print("seconds=" + ",".join("%.4f" % t for t in times))
    # the step's two parts: sum + rank(), and run_egad + mean
    print("rank_seconds=" + ",".join("%.4f" % t for t in trank))
    print("egad_seconds=" + ",".join("%.4f" % t for t in tegad))


if __name__ == "__main__":
    sys.exit(main())
