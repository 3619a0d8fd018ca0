"""Tests of pipelines/crossing.py: store reading, back-solved marker effects, variances, kinship, the plan."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from breedhub.genomics.exceptions import InputFileError
from breedhub.pipelines import crossing
from breedhub.pipelines.exceptions import PipelineError
from breedhub.predict.crosses import progeny_variance
from tests.web._lists_data import write_store


def _store(tmp_path, dosage, ploidy=2, name="g.h5"):
    n, m = dosage.shape
    samples = [f"s{k}" for k in range(n)]
    chrom = np.array(["1"] * (m - m // 3) + ["2"] * (m // 3))
    pos = np.arange(1, m + 1) * 1_000_000
    write_store(tmp_path / name, dosage, samples, chrom, pos, ploidy)
    return crossing.store_view(tmp_path / name), samples


def test_store_view__centre_is_the_mean_of_called_dosages(tmp_path):
    d = np.array([[0, 2, -1], [2, 2, 1], [1, -1, 1]])
    view, _ = _store(tmp_path, d)
    np.testing.assert_allclose(view.centre, [1.0, 2.0, 1.0])
    assert view.ploidy == 2 and view.n_variants == 3


def test_store_view__missing_file_is_input_file_error(tmp_path):
    with pytest.raises(InputFileError, match="missing"):
        crossing.store_view(tmp_path / "none.h5")


def test_parent_dosages__reads_the_columns_in_order_and_imputes_missing(tmp_path):
    d = np.array([[0, 2, -1], [2, 2, 1], [1, -1, 1]])
    view, samples = _store(tmp_path, d)
    X = crossing.parent_dosages(view, ["s2", "s0"])
    np.testing.assert_allclose(X, [[1, 2, 1], [0, 2, 1]])
    with pytest.raises(PipelineError, match="nope"):
        crossing.parent_dosages(view, ["nope"])


def test_marker_effects__reproduce_the_gebvs(tmp_path):
    rng = np.random.default_rng(1)
    d = rng.integers(0, 3, size=(15, 40))
    view, _ = _store(tmp_path, d)
    Z = d - d.mean(axis=0)
    g = Z @ rng.normal(size=40)
    accs = list(range(100, 115))
    beta = crossing.marker_effects(view, accs, dict(zip(accs, g, strict=True)))
    np.testing.assert_allclose(Z @ beta, g, atol=1e-9)
    # the minimum-norm solution (Strandén & Garrick 2009): in the row space of Z
    np.testing.assert_allclose(beta, np.linalg.pinv(Z) @ g, atol=1e-9)


def test_marker_effects__an_accession_of_two_samples_takes_their_mean(tmp_path):
    rng = np.random.default_rng(2)
    d = rng.integers(0, 3, size=(10, 30))
    view, _ = _store(tmp_path, d)
    Z = d - d.mean(axis=0)
    g_samples = Z @ rng.normal(size=30)
    accs = [1, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # samples 0 and 1 are one accession
    gebv = {
        1: (g_samples[0] + g_samples[1]) / 2,
        **{a: g_samples[k] for k, a in enumerate(accs) if k > 1},
    }
    beta = crossing.marker_effects(view, accs, gebv)
    assert ((Z[0] + Z[1]) / 2) @ beta == pytest.approx(gebv[1])
    assert Z[5] @ beta == pytest.approx(gebv[accs[5]])


def test_gametic_variance__hexaploid_is_hypergeometric(tmp_path):
    """Enumerate the 20 equally likely gametes (3 of 6 copies) of a simplex..triplex hexaploid."""
    beta = np.array([1.0, -0.5, 2.0])
    x = np.array([[1.0, 3.0, 6.0]])
    expected = 0.0
    for j, d in enumerate(x[0].astype(int)):
        copies = [1] * d + [0] * (6 - d)
        draws = [sum(c) for c in itertools.combinations(copies, 3)]
        expected += beta[j] ** 2 * np.var(draws)
    assert crossing.gametic_variance(x, beta, ploidy=6)[0] == pytest.approx(expected)
    assert crossing.gametic_variance(np.array([[1.0]]), np.array([2.0]), ploidy=2)[0] == 1.0
    with pytest.raises(PipelineError, match="odd ploidy"):
        crossing.gametic_variance(x, beta, ploidy=3)


def test_cross_table__dh_variance_is_predict_crosses(tmp_path):
    rng = np.random.default_rng(3)
    X = 2.0 * rng.integers(0, 2, size=(5, 20))
    beta = rng.normal(size=20)
    chrom = np.array(["1"] * 12 + ["2"] * 8)
    pos = np.concatenate([np.linspace(0, 120, 12), np.linspace(0, 80, 8)])
    centre = X.mean(axis=0)
    t = crossing.cross_table(X, [10, 11, 12, 13, 14], beta, centre=centre, chrom=chrom,
                             pos_cM=pos, ploidy=2, population="DH", intensity=1.0,
                             direction="higher")  # fmt: skip
    assert len(t) == 10 and not t.notes
    for r in range(len(t)):
        a, b = t.i[r], t.j[r]
        v = progeny_variance(X[a], X[b], beta, chrom, pos, population="DH", ploidy=2)
        assert t.variance[r] == pytest.approx(v, rel=1e-9, abs=1e-12)
        g = (X - centre) @ beta
        assert t.mean[r] == pytest.approx((g[a] + g[b]) / 2)
    uc = t.usefulness[t.order]
    assert np.all(np.diff(uc) <= 1e-12)


def test_cross_table__hexaploid_f1_and_kinship(tmp_path):
    rng = np.random.default_rng(4)
    d = rng.integers(0, 7, size=(6, 25))
    view, samples = _store(tmp_path, d, ploidy=6)
    X = crossing.parent_dosages(view, samples[:4])
    beta = rng.normal(size=25)
    t = crossing.cross_table(X, [1, 2, 3, 4], beta, centre=view.centre, chrom=view.chrom,
                             pos_cM=view.pos / 1e6, ploidy=6, population="F1", intensity=1.4,
                             direction="lower")  # fmt: skip
    gv = crossing.gametic_variance(X, beta, ploidy=6)
    np.testing.assert_allclose(t.variance, gv[t.i] + gv[t.j])
    np.testing.assert_allclose(t.usefulness, t.mean - 1.4 * np.sqrt(t.variance))
    assert np.all(np.diff(t.usefulness[t.order]) >= -1e-12)
    p = view.centre / 6
    Zc = X - 6 * p
    G = Zc @ Zc.T / (6 * np.sum(p * (1 - p)))
    np.testing.assert_allclose(t.kinship, G[t.i, t.j], atol=1e-9)
    with pytest.raises(Exception, match="ploidy"):
        crossing.cross_table(X, [1, 2, 3, 4], beta, centre=view.centre, chrom=view.chrom,
                             pos_cM=view.pos / 1e6, ploidy=6, population="DH", intensity=1.4,
                             direction="higher")  # fmt: skip


def test_cross_table__optimum_ranks_by_distance_to_the_target():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0]])
    beta = np.array([1.0, 1.0])
    t = crossing.cross_table(X, [1, 2, 3], beta, centre=X.mean(axis=0),
                             chrom=np.array(["1", "1"]), pos_cM=np.array([0.0, 50.0]), ploidy=2,
                             population="F1", intensity=1.0, direction="optimum",
                             target=1.0)  # fmt: skip
    np.testing.assert_allclose(t.mean, [-1.0, 0.0, 1.0])  # GEBVs -2, 0, 2
    best = t.order[0]
    assert (t.parent_ids[t.i[best]], t.parent_ids[t.j[best]]) == (2, 3)
    assert all(math.isnan(u) for u in t.usefulness)


def test_choose_plan__caps_and_greedy_order():
    X = 2.0 * np.eye(4)
    t = crossing.cross_table(X, [1, 2, 3, 4], np.array([4.0, 3.0, 2.0, 1.0]),
                             centre=X.mean(axis=0), chrom=np.array(["1", "2", "3", "4"]),
                             pos_cM=np.zeros(4), ploidy=2, population="DH", intensity=0.0,
                             direction="higher")  # fmt: skip
    plan = crossing.choose_plan(t, n_crosses=10, max_use=1)
    pairs = [(t.parent_ids[t.i[r]], t.parent_ids[t.j[r]]) for r in plan]
    assert pairs == [(1, 2), (3, 4)]
    # unlinked markers, parents differ at two of them: beta_a² + beta_b²
    np.testing.assert_allclose(t.variance, [16 + 9, 16 + 4, 16 + 1, 9 + 4, 9 + 1, 4 + 1])
    assert len(crossing.choose_plan(t, n_crosses=2)) == 2
    assert np.all(t.kinship[crossing.choose_plan(t, n_crosses=6, max_kinship=-0.1)] <= -0.1)


def test_genomic_kinship__symmetric_vanraden():
    X = np.array([[0.0, 2, 1, 2], [2, 0, 1, 1], [1, 1, 2, 0]])
    centre = np.array([1.0, 1.0, 1.2, 1.0])
    K = crossing.genomic_kinship(X, centre, ploidy=2)
    p = centre / 2
    expected = (X - centre) @ (X - centre).T / (2 * np.sum(p * (1 - p)))
    np.testing.assert_allclose(K, expected)
    np.testing.assert_array_equal(K, K.T)


def test_pedigree_kinship__full_sibs_and_tetraploid():
    rows = [(3, 1, 2), (4, 1, 2), (1, None, None), (2, None, None)]
    A = crossing.pedigree_kinship(rows, [3, 4, 1], ploidy=2)
    np.testing.assert_allclose(A, [[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1]])
    A4 = crossing.pedigree_kinship([(2, 1, 1), (1, None, None)], [2], ploidy=4)
    assert A4[0, 0] == pytest.approx(1 + 3 / 6)  # a selfed non-inbred tetraploid: F = 1/6


def test_recombination_rate__one_morgan_per_chromosome():
    rate = crossing.recombination_rate(haploid_chromosomes=19, genome_size_mb=2502)
    assert rate == pytest.approx(1900 / 2502)
    assert crossing.default_population(inbred_lines=True, ploidy=2) == "DH"
    assert crossing.default_population(inbred_lines=False, ploidy=2) == "F1"
    assert crossing.default_population(inbred_lines=True, ploidy=6) == "F1"
