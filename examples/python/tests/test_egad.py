"""vpar.egad / vpar.egad_arrays against the golden fixtures (computed by the
reference Python run_egad) and against the reference code itself."""
import importlib.util

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

import vpar
from conftest import ROOT, check_egad_frame, go_frame, read_genes


def load_case(d):
    genes = read_genes(d / "genes.txt")
    w = np.load(d / "nw_00.npy")
    return genes, w, go_frame(d / "go.tsv", genes)


@pytest.mark.parametrize("case", ["egad_small", "egad_ties"])
@pytest.mark.parametrize("threads", [None, 1, 3])
def test_fixture_frame(fixtures, case, threads):
    genes, w, go = load_case(fixtures / case)
    nw = pd.DataFrame(w, index=genes, columns=genes)
    got = vpar.egad(go, nw, threads=threads)
    want = pd.read_csv(fixtures / case / "expected.csv", index_col=0)
    check_egad_frame(got, want)
    # the input frames are not modified (the diagonal is not written)
    assert np.array_equal(nw.to_numpy(), w, equal_nan=True)


def test_fixture_arrays_form(fixtures):
    d = fixtures / "egad_small"
    genes = read_genes(d / "genes.txt")
    w = np.load(d / "nw_00.npy")
    ann = pd.read_csv(d / "go.tsv", sep="\t", dtype=str)
    terms, res, mean_auc = vpar.egad_arrays(w, genes, (ann.iloc[:, 0].tolist(), ann.iloc[:, 1].tolist()))
    want = pd.read_csv(d / "expected.csv", index_col=0)
    check_egad_frame(pd.DataFrame(res, index=terms, columns=want.columns), want)
    assert abs(mean_auc - np.nanmean(want.AUC.to_numpy())) <= 1e-9
    # iterable of pairs: the same
    terms2, res2, _ = vpar.egad_arrays(w, genes, list(zip(ann.iloc[:, 0], ann.iloc[:, 1])))
    assert terms2 == terms and np.array_equal(res2, res, equal_nan=True)


def test_aggregate_fixture(fixtures):
    """Each step: sum the first k networks in float64, rank-standardize in
    place, EGAD; mean AUC over terms (skipping NaN) = expected.csv."""
    d = fixtures / "aggregate"
    genes = read_genes(d / "genes.txt")
    go = go_frame(d / "go.tsv", genes)
    want = pd.read_csv(d / "expected.csv")
    agg = None
    for _, row in want.iterrows():
        x = np.load(d / row.dataset)
        agg = x.astype(np.float64) if agg is None else agg + x
        ranked = agg.copy()
        vpar.rank_standardize(ranked)
        res = vpar.egad(go, pd.DataFrame(ranked, index=genes, columns=genes))
        assert abs(res.AUC.mean() - row.mean_auc) <= 1e-9, row.step


def _ref_module():
    path = ROOT / "bench" / "aggregate" / "ref_step.py"
    spec = importlib.util.spec_from_file_location("ref_step", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_vs_reference(dtype):
    pytest.importorskip("bottleneck")
    ref = _ref_module()
    rng = np.random.default_rng(7)
    n, nterms = 260, 40
    genes = [f"g{i}" for i in range(n)]
    genes[10] = genes[3]                      # repeated ID: first kept
    x = rng.random((n, n)).round(2)           # ties
    w = ((x + x.T) / 2).astype(dtype)
    w[17, :] = np.nan                         # an all-NaN gene
    w[:, 17] = np.nan
    ann_genes = genes[5:]                     # some genes unannotated
    go = pd.DataFrame((rng.random((len(ann_genes), nterms)) < 0.15).astype(np.int8),
                      index=ann_genes, columns=[f"T{j}" for j in range(nterms)])
    go = go.loc[~go.index.duplicated()]
    go["ALL"] = 1                             # a term on every gene: NaN AUC
    nw = pd.DataFrame(w, index=genes, columns=genes)
    with np.errstate(all="ignore"), _nowarn():
        want = ref.run_egad(go, nw.copy(), nFold=3, min_count=20, max_count=1000)
    got = vpar.egad(go, nw)
    check_egad_frame(got, want)
    assert np.isnan(got.loc["ALL", "AUC"]) and got.loc["ALL", "P_Value"] == 0.5
    go.columns.name = "term"
    got = vpar.egad(go, nw)
    pd.testing.assert_index_equal(got.index, want.index.rename("term"))
    got4 = vpar.egad(go, nw, nfold=4, min_count=25, max_count=50)
    with _nowarn():
        want4 = ref.run_egad(go, nw.copy(), nFold=4, min_count=25, max_count=50)
    check_egad_frame(got4, want4)


class _nowarn:
    def __enter__(self):
        import warnings
        self.c = warnings.catch_warnings()
        self.c.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *a):
        return self.c.__exit__(*a)


def test_integer_labels_and_results_index():
    rng = np.random.default_rng(3)
    n = 120
    genes = list(range(1000, 1000 + n))       # Entrez-style int IDs
    w = rng.random((n, n))
    w = (w + w.T) / 2
    go = pd.DataFrame((rng.random((n, 6)) < 0.3).astype(bool), index=genes,
                      columns=[101, 102, 103, 104, 105, 106])
    got = vpar.egad(go, pd.DataFrame(w, index=genes, columns=genes), min_count=5)
    assert list(got.index) == [c for c in go.columns if 5 < go[c].sum() < 1000]
    assert got.index.dtype == go.columns.dtype


def test_no_term_kept_gives_empty_frame():
    genes = [f"g{i}" for i in range(30)]
    w = np.eye(30)
    go = pd.DataFrame(np.ones((30, 2)), index=genes, columns=["A", "B"])
    got = vpar.egad(go, pd.DataFrame(w, index=genes, columns=genes))  # 20 < 30 < 1000: kept
    assert list(got.index) == ["A", "B"]
    got = vpar.egad(go, pd.DataFrame(w, index=genes, columns=genes), min_count=40, max_count=100)
    assert got.empty and list(got.columns) == ["AUC", "AVG_NODE_DEGREE", "DEGREE_NULL_AUC", "P_Value"]
    other = pd.DataFrame(np.ones((3, 1)), index=["x", "y", "z"], columns=["A"])
    assert vpar.egad(other, pd.DataFrame(w, index=genes, columns=genes)).empty


def test_errors():
    genes = [f"g{i}" for i in range(40)]
    w = np.random.default_rng(1).random((40, 40))
    nw = pd.DataFrame(w, index=genes, columns=genes)
    go = pd.DataFrame(np.ones((40, 1)), index=genes, columns=["A"])
    with pytest.raises(TypeError):
        vpar.egad(go.to_numpy(), nw)
    with pytest.raises(ValueError, match="not square"):
        vpar.egad(go, nw.iloc[:, :30])
    with pytest.raises(ValueError, match="min_count"):
        vpar.egad(go, nw, min_count=0)
    with pytest.raises(ValueError, match="nfold"):
        vpar.egad(go, nw, nfold=0)
    with pytest.raises(ValueError, match="threads"):
        vpar.egad(go, nw, threads=0)
    bad = w.copy()
    bad[2, 5] = np.nan                        # NaN inside the universe
    with pytest.raises(ValueError, match="egad: network"):
        vpar.egad(go, pd.DataFrame(bad, index=genes, columns=genes), min_count=5)
    with pytest.raises(TypeError):
        vpar.egad_arrays(w.astype(np.complex128), genes, [("g1", "A")])
    with pytest.raises(ValueError):
        vpar.egad_arrays(w[:, :5], genes, [("g1", "A")])
    with pytest.raises(ValueError, match="labels"):
        vpar.egad_arrays(w, genes[:10], [("g1", "A")])


def test_zero_rows_and_go_layouts_vs_reference():
    """run_egad's universe is the network genes in go.index, also those whose
    go row is all zero (they are negatives of every term); go may be bool,
    int or float, stored in either memory order."""
    pytest.importorskip("bottleneck")
    ref = _ref_module()
    rng = np.random.default_rng(12)
    n, nterms = 150, 12
    genes = [f"g{i}" for i in range(n)]
    x = rng.random((n, n))
    nw = pd.DataFrame((x + x.T) / 2, index=genes, columns=genes)
    mat = (rng.random((n - 10, nterms)) < 0.3).astype(np.int64)
    mat[20:40] = 0                                   # annotated to nothing
    mat[:, 5] = 0
    mat[:30, 5] = 1
    mat[20:30, 5] = 0                                # term 5: 20 genes
    go = pd.DataFrame(mat, index=genes[10:], columns=[f"T{j}" for j in range(nterms)])
    with _nowarn():
        want = ref.run_egad(go, nw.copy(), min_count=5)
    for variant in (go, go.astype(bool), go.astype(np.float32),
                    pd.DataFrame(np.ascontiguousarray(mat), index=go.index, columns=go.columns),
                    pd.DataFrame(np.asfortranarray(mat.astype(np.int8)), index=go.index,
                                 columns=go.columns)):
        check_egad_frame(vpar.egad(variant, nw, min_count=5), want)
