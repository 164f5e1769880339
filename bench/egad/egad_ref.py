#!/usr/bin/env python3
"""Baseline for the EGAD benchmarks: the standard dense Python EGAD
(numpy / scipy / bottleneck / pandas, the `run_egad` + `_runNV` structure of
the widely used EGAD.py): network restricted to annotated genes, the dense
product network.T @ (genes x terms*folds cross-validation matrix), training
positives masked, bottleneck.nanrankdata per column, Mann-Whitney AUROC and
Z per fold, degree-null AUROC from bottleneck.rankdata of the node degrees.

    egad_ref.py --annotations go.tsv --genes genes.txt [--out out.csv] nw.npy
    egad_ref.py --check tests/data/fixtures/egad_small     # vs expected.csv

Prints `seconds=<EGAD time> load_seconds=<input time> peak_rss_mb=<...>`
on stdout. `--check DIR` runs DIR/nw_00.npy and compares every column with
DIR/expected.csv to the fixture tolerances (exit 1 on a mismatch), which is
how the benchmark proves that this baseline is the reference computation.
"""
import argparse
import resource
import sys
import time

import bottleneck as bn
import numpy as np
import pandas as pd
from scipy import stats


def load_go(path, genes_universe=None):
    """Dense genes x terms 0/1 frame; terms in order of first appearance."""
    df = pd.read_csv(path, sep="\t", dtype=str)
    df.columns = ["gene", "term"] + list(df.columns[2:])
    df = df[["gene", "term"]].drop_duplicates()
    if genes_universe is not None:
        df = df[df.gene.isin(genes_universe)]
    terms = pd.unique(df.term)
    genes = pd.unique(df.gene)
    gi = pd.Index(genes).get_indexer(df.gene)
    ti = pd.Index(terms).get_indexer(df.term)
    mat = np.zeros((len(genes), len(terms)), dtype=np.float64)
    mat[gi, ti] = 1.0
    return pd.DataFrame(mat, index=genes, columns=terms)


def run_egad(go, nw, nFold=3, min_count=20, max_count=1000):
    """EGAD on a genes x terms `go` frame and a genes x genes `nw` frame."""
    assert nw.shape[0] == nw.shape[1], "Network is not square"
    nw_mask = nw.isna().sum(axis=1) != nw.shape[1]
    nw = nw.loc[nw_mask.values, nw_mask.values].astype(float)
    np.fill_diagonal(nw.values, 1)
    return _runNV(go, nw, nFold=nFold, min_count=min_count, max_count=max_count)


def _runNV(go, nw, nFold=3, min_count=20, max_count=1000):
    # Repeated IDs: keep the first; restrict to annotated genes (network order).
    keep = ~nw.index.duplicated(keep="first")
    nw = nw.loc[keep, keep]
    annotated = nw.index.isin(go.index)
    nw = nw.loc[annotated, annotated]
    go = go.loc[nw.index, :]
    counts = go.sum(axis=0)
    go = go.loc[:, (counts > min_count) & (counts < max_count)]
    filtered_terms = go.columns
    go_np = go.values
    nw_np = nw.values
    n_genes, n_terms = go_np.shape

    # Cross-validation folds: k-th positive (gene by gene, terms in order)
    # goes to fold k mod nFold.
    pos_i, pos_j = np.nonzero(go_np)
    fold = np.arange(len(pos_i)) % nFold
    cv_train = np.tile(go_np, nFold)  # genes x (nFold * terms): training sets
    held = np.zeros_like(cv_train)
    for f in range(nFold):
        sel = fold == f
        cv_train[pos_i[sel], pos_j[sel] + f * n_terms] = 0
        held[pos_i[sel], pos_j[sel] + f * n_terms] = 1

    degree = nw_np.sum(axis=0)
    sumin = nw_np.T @ cv_train  # the dense product
    predicts = np.abs(sumin / degree[:, None])
    predicts[cv_train > 0] = np.nan  # training positives are no candidates
    ranks = bn.nanrankdata(predicts, axis=0)

    n_p = held.sum(axis=0)
    n_n = n_genes - np.tile(go_np.sum(axis=0), nFold)
    p = np.nansum(ranks * held, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        roc = (p / n_p - (n_p + 1) / 2) / n_n
        U = roc * n_p * n_n
        Z = np.abs(U - n_p * n_n / 2) / np.sqrt(n_p * n_n * (n_p + n_n + 1) / 12)
    roc = roc.reshape(nFold, n_terms)
    Z = Z.reshape(nFold, n_terms)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            auc = np.nanmean(roc, axis=0)
    Zs = np.nansum(Z, axis=0) / np.sqrt(nFold)
    pval = stats.norm.sf(Zs)

    npos = go_np.sum(axis=0)
    avg_degree = degree @ go_np / npos
    rank_degree = bn.rankdata(degree)
    nn = n_genes - npos
    with np.errstate(divide="ignore", invalid="ignore"):
        null_auc = ((rank_degree @ go_np) / npos - (npos + 1) / 2) / nn
    null_auc[nn == 0] = np.nan
    return pd.DataFrame(
        {"AUC": auc, "AVG_NODE_DEGREE": avg_degree, "DEGREE_NULL_AUC": null_auc, "P_Value": pval},
        index=filtered_terms,
    )


def load_inputs(annotations, genes_file, network):
    genes = [g.rstrip("\r\n") for g in open(genes_file) if g.strip()]
    w = np.load(network)
    nw = pd.DataFrame(w, index=genes, columns=genes)
    go = load_go(annotations, set(genes))
    return go, nw


def check(directory):
    go, nw = load_inputs(f"{directory}/go.tsv", f"{directory}/genes.txt", f"{directory}/nw_00.npy")
    got = run_egad(go, nw)
    want = pd.read_csv(f"{directory}/expected.csv", index_col=0)
    ok = list(got.index) == list(want.index)
    if ok:
        for c in want.columns:
            a, b = want[c].values, got[c].values
            both = np.isnan(a) & np.isnan(b)
            if c in ("AUC", "DEGREE_NULL_AUC"):
                good = both | (np.abs(a - b) <= 1e-9)
            elif c == "AVG_NODE_DEGREE":
                good = both | (np.abs(a - b) <= 1e-9 * np.abs(a))
            else:
                good = both | (np.abs(a - b) <= 1e-6 * np.abs(a)) | (np.abs(a - b) <= 1e-300)
            if not good.all():
                print(f"egad_ref: {directory}: column {c} differs at {int((~good).sum())} terms", file=sys.stderr)
                ok = False
    else:
        print(f"egad_ref: {directory}: term order differs ({len(got)} vs {len(want)} terms)", file=sys.stderr)
    print(f"check {directory}: {'ok' if ok else 'MISMATCH'} ({len(want)} terms)")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations")
    ap.add_argument("--genes")
    ap.add_argument("--out")
    ap.add_argument("--check", metavar="DIR")
    ap.add_argument("network", nargs="?")
    a = ap.parse_args()
    if a.check:
        return check(a.check)
    if not (a.annotations and a.genes and a.network):
        ap.error("--annotations, --genes and a network are required")
    t0 = time.perf_counter()
    go, nw = load_inputs(a.annotations, a.genes, a.network)
    t1 = time.perf_counter()
    res = run_egad(go, nw)
    t2 = time.perf_counter()
    if a.out:
        res.to_csv(a.out, float_format="%.17g", na_rep="NaN", index_label="term")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"seconds={t2 - t1:.4f} load_seconds={t1 - t0:.4f} terms={len(res)} "
          f"mean_auc={np.nanmean(res.AUC.values):.17g} peak_rss_mb={rss:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
