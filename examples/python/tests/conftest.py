"""Shared helpers for the vpar Python tests (pytest).

The package under test is imported from sys.path: ctest sets PYTHONPATH to
the built package (build/python, or the CMake build's python/ folder).
Fixtures come from tests/data/fixtures (or $VPAR_TEST_DATA/fixtures)."""
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("VPAR_TEST_DATA", ROOT / "tests" / "data"))
FIXTURES = DATA / "fixtures"


def read_genes(path):
    return [g.rstrip("\r\n") for g in open(path) if g.strip()]


def go_frame(path, genes=None):
    """genes x terms 0/1 DataFrame from a gene<TAB>term file, terms in order
    of first appearance (as the workflow builds it)."""
    import pandas as pd
    df = pd.read_csv(path, sep="\t", dtype=str)
    df.columns = ["gene", "term"] + list(df.columns[2:])
    df = df[["gene", "term"]].drop_duplicates()
    if genes is not None:
        df = df[df.gene.isin(set(genes))]
    terms = pd.unique(df.term)
    ugenes = pd.unique(df.gene)
    mat = np.zeros((len(ugenes), len(terms)), dtype=np.float64)
    mat[pd.Index(ugenes).get_indexer(df.gene), pd.Index(terms).get_indexer(df.term)] = 1.0
    return pd.DataFrame(mat, index=ugenes, columns=terms)


def reference_rank(nw):
    """The workflow's rank(): bottleneck nanrankdata of the finite entries of
    the flattened array, (r - 1) / max(r - 1), non-finite -> 0.5."""
    bn = pytest.importorskip("bottleneck")
    x = np.asarray(nw, dtype=np.float64).ravel()
    x = np.where(np.isfinite(x), x, np.nan)
    r = bn.nanrankdata(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (r - 1) / (np.nanmax(r) - 1) if np.isfinite(r).any() else r
    r[np.isnan(r)] = 0.5
    return r.reshape(np.shape(nw))


def check_egad_frame(got, want):
    """Fixture tolerances (tests/data/README / shared data README)."""
    assert list(map(str, got.index)) == list(map(str, want.index))
    assert list(got.columns) == ["AUC", "AVG_NODE_DEGREE", "DEGREE_NULL_AUC", "P_Value"]
    for c in want.columns:
        a, b = want[c].to_numpy(), got[c].to_numpy()
        both = np.isnan(a) & np.isnan(b)
        d = np.abs(a - b)
        if c in ("AUC", "DEGREE_NULL_AUC"):
            good = both | (d <= 1e-9)
        elif c == "AVG_NODE_DEGREE":
            good = both | (d <= 1e-9 * np.abs(a))
        else:
            good = both | (d <= 1e-6 * np.abs(a)) | (d <= 1e-300)
        assert good.all(), f"column {c}: {int((~good).sum())} terms differ, e.g. " \
            f"{want.index[~good][:3].tolist()} want {a[~good][:3]} got {b[~good][:3]}"


@pytest.fixture(scope="session")
def fixtures():
    if not FIXTURES.is_dir():
        pytest.skip(f"no fixtures at {FIXTURES}")
    return FIXTURES
