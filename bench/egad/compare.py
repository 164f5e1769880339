#!/usr/bin/env python3
"""Compares two EGAD result CSVs (term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,
P_Value) to the golden-fixture tolerances of tests/data/README.md: same
terms in the same order; AUC and DEGREE_NULL_AUC within 1e-9 absolute,
AVG_NODE_DEGREE within 1e-9 relative, P_Value within 1e-6 relative or
1e-300 absolute; NaN only where the other has NaN.

    compare.py BASELINE.csv VPAR.csv

Prints one line, `agree (...)` or the first disagreement; exit 0 / 1."""
import sys

import numpy as np
import pandas as pd


def main():
    a = pd.read_csv(sys.argv[1], index_col=0)
    b = pd.read_csv(sys.argv[2], index_col=0)
    if list(a.index) != list(b.index):
        print(f"terms differ: {len(a)} vs {len(b)}")
        return 1
    worst = {}
    for c in ("AUC", "AVG_NODE_DEGREE", "DEGREE_NULL_AUC", "P_Value"):
        x, y = a[c].values.astype(float), b[c].values.astype(float)
        both = np.isnan(x) & np.isnan(y)
        d = np.abs(x - y)
        if c in ("AUC", "DEGREE_NULL_AUC"):
            good = both | (d <= 1e-9)
        elif c == "AVG_NODE_DEGREE":
            good = both | (d <= 1e-9 * np.abs(x))
        else:
            good = both | (d <= 1e-6 * np.abs(x)) | (d <= 1e-300)
        if not good.all():
            i = int(np.argmin(good))
            print(f"{c} differs at {int((~good).sum())} of {len(a)} terms, e.g. {a.index[i]}: {x[i]!r} vs {y[i]!r}")
            return 1
        worst[c] = float(np.nanmax(np.where(both, 0.0, d))) if len(d) else 0.0
    print(f"agree ({len(a)} terms; max |diff| " + ", ".join(f"{k} {v:.2g}" for k, v in worst.items()) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
