#!/usr/bin/python3
"""Writes the pandas inputs of test_egad_inputs (issue 15) into DIR: the
same random network and annotations as pandas users store them (integer
Entrez labels, a bool genes x terms frame, zlib and blosc compression,
two networks in different gene orders) and as .npy + genes + TSV.
Exit 77 (skip) when pandas/PyTables are missing."""
import sys

try:
    import numpy as np
    import pandas as pd
    import tables  # noqa: F401  (pandas' HDF5 backend)
except ImportError as e:
    print("SKIP: %s" % e)
    sys.exit(77)

d = sys.argv[1]
rng = np.random.default_rng(15)
n, k = 48, 5
a = rng.random((n, n)).astype(np.float32)
a = (a + a.T) / 2
ids = [1000 + 7 * i for i in range(n)]  # Entrez-like integer IDs
terms = ["GO:%07d" % t for t in range(k)]
member = rng.random((n, k)) < 0.4
nw = pd.DataFrame(a, index=ids, columns=ids)
nw.to_hdf(d + "/nw_int.h5", key="nw", mode="w")
nw.to_hdf(d + "/nw_zlib.h5", key="nw", mode="w", complib="zlib", complevel=5)
nw.to_hdf(d + "/nw_blosc.h5", key="nw", mode="w", complib="blosc", complevel=5)
perm = list(range(n))[::-1]
nw.iloc[perm, perm].to_hdf(d + "/nw_rev.h5", key="nw", mode="w")
pd.DataFrame(member, index=ids, columns=terms).to_hdf(d + "/go_bool.h5", key="go", mode="w")
np.save(d + "/nw.npy", a)
with open(d + "/genes.txt", "w") as f:
    f.write("".join("%d\n" % g for g in ids))
with open(d + "/go.tsv", "w") as f:  # term order = the frame's column order
    for t in range(k):
        for i in range(n):
            if member[i, t]:
                f.write("%d\t%s\n" % (ids[i], terms[t]))
