"""Tests of predict.crosses: progeny mean, variance and usefulness of crosses between inbreds.

The references are independent of the code under test: hand-worked enumerations
of two-locus progeny, a Monte-Carlo simulation of meioses with crossovers drawn
under Haldane's model (no formula for the variance in it), the direct
markers x markers double sum, and unlinked-locus genetics.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breedhub.predict.crosses import (
    POPULATIONS,
    progeny_mean,
    progeny_variance,
    rank_crosses,
    recombination_fraction,
    usefulness,
)
from breedhub.predict.exceptions import InputError

# --- independent references -----------------------------------------------------------------


def direct_variance(p1, p2, beta, chrom, pos, population):
    """The double sum of the module docstring, forming the whole kernel (small inputs only)."""
    p1, p2, beta = (np.asarray(a, dtype=float) for a in (p1, p2, beta))
    chrom, pos = np.asarray(chrom), np.asarray(pos, dtype=float)
    u = beta * (p1 - p2) / 2
    c = 0.5 * (1 - np.exp(-2 * np.abs(pos[:, None] - pos[None, :]) / 100))
    c = np.where(chrom[:, None] == chrom[None, :], c, 0.5)
    K = {"DH": 1 - 2 * c, "RIL": 1 - 2 * (2 * c / (1 + 2 * c)), "F2": (1 - 2 * c) / 2}[population]
    return float(u @ K @ u)


def meiosis(rng, hap_a, hap_b, chrom, pos):
    """One gamete per row from homologues ``hap_a``/``hap_b`` (rows x markers of alleles 0/1).

    Crossovers along each chromosome are a Poisson process of rate 1 per Morgan
    (Haldane: no interference); the gamete starts on a random homologue and
    switches at each crossover.
    """
    n = hap_a.shape[0]
    out = np.empty_like(hap_a)
    for c in np.unique(chrom):
        idx = np.nonzero(chrom == c)[0]
        x = pos[idx]
        lo, hi = x.min(), x.max()
        counts = rng.poisson((hi - lo) / 100.0, size=n)
        k = max(1, int(counts.max()))
        xo = rng.uniform(lo, hi, size=(n, k))
        xo[np.arange(k)[None, :] >= counts[:, None]] = np.inf
        parity = (xo[:, :, None] < x[None, None, :]).sum(axis=1) % 2
        strand = rng.integers(0, 2, size=n)[:, None] ^ parity
        out[:, idx] = np.where(strand == 0, hap_a[:, idx], hap_b[:, idx])
    return out


def simulate_progeny(rng, p1, p2, chrom, pos, population, n):
    """Dosages of ``n`` progeny of the inbred parents p1 x p2 (dosages 0/2)."""
    a = np.tile(np.asarray(p1) // 2, (n, 1))  # the F1's homologue from parent 1
    b = np.tile(np.asarray(p2) // 2, (n, 1))
    if population == "DH":
        return 2 * meiosis(rng, a, b, chrom, pos)
    a, b = meiosis(rng, a, b, chrom, pos), meiosis(rng, a, b, chrom, pos)  # F2
    if population == "RIL":
        for _ in range(25):  # single-seed descent; heterozygosity left ~ 2^-25
            a, b = meiosis(rng, a, b, chrom, pos), meiosis(rng, a, b, chrom, pos)
    return a + b


# Two chromosomes; close markers in coupling and in repulsion so linkage matters.
MC_CHROM = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2])
MC_POS = np.array([0.0, 3.0, 8.0, 15.0, 30.0, 60.0, 0.0, 10.0, 25.0])
MC_P1 = np.array([2, 2, 2, 0, 2, 2, 2, 0, 2])
MC_P2 = np.array([0, 0, 0, 2, 0, 2, 0, 2, 2])
MC_BETA = np.array([0.8, 0.5, 0.6, -0.4, 0.3, 1.0, 0.7, 0.5, 0.2])


# --- recombination_fraction -----------------------------------------------------------------


def test_recombination_fraction__haldane_values():
    # c = (1 - exp(-2d)) / 2 with d in Morgans: 0 cM -> 0, 50 cM -> (1 - e^-1)/2 = 0.316060...
    c = recombination_fraction([0.0, 20.0, 50.0, -20.0, 1e5])
    np.testing.assert_allclose(c, [0.0, 0.164839977, 0.316060279, 0.164839977, 0.5], atol=1e-9)


# --- progeny_variance: hand-worked two-marker crosses --------------------------------------


def test_progeny_variance__two_markers_dh_by_hand():
    # Markers 20 cM apart: c = (1 - e^-0.4)/2 = (1 - 0.670320046)/2 = 0.164839977.
    # Coupling, P1 = (2, 2), P2 = (0, 0), beta = (1, 0.5). DH lines:
    #   parental (2,2) value 3 and (0,0) value 0, each with probability (1 - c)/2;
    #   recombinant (2,0) value 2 and (0,2) value 1, each with probability c/2.
    # Mean 1.5; Var = (1 - c) * 1.5^2 + c * 0.5^2 = 2.25 - 2c = 1.920320046.
    v = progeny_variance([2, 2], [0, 0], [1.0, 0.5], [1, 1], [0.0, 20.0], population="DH", ploidy=2)
    assert v == pytest.approx(1.920320046, abs=1e-9)
    # Repulsion, P1 = (2, 0), P2 = (0, 2): parental values 2 and 1, recombinant 3 and 0:
    # Var = (1 - c) * 0.5^2 + c * 1.5^2 = 0.25 + 2c = 0.579679954.
    v = progeny_variance([2, 0], [0, 2], [1.0, 0.5], [1, 1], [0.0, 20.0], population="DH", ploidy=2)
    assert v == pytest.approx(0.579679954, abs=1e-9)


def test_progeny_variance__two_markers_ril_and_f2_by_hand():
    # RIL: as DH with r = 2c / (1 + 2c) = 0.329679954 / 1.329679954 = 0.247939328 in place of c:
    # Var = 2.25 - 2r = 2.25 - 0.495878656 = 1.754121344.
    c = 0.5 * (1 - math.exp(-0.4))
    v = progeny_variance(
        [2, 2], [0, 0], [1.0, 0.5], [1, 1], [0.0, 20.0], population="RIL", ploidy=2
    )
    assert v == pytest.approx(1.754121344, abs=1e-9)
    # F2: two independent F1 gametes, each carrying allele counts 1/1, 0/0 with prob (1-c)/2 and
    # 1/0, 0/1 with prob c/2; gamete value g has Var = (2.25 - 2c)/4 and the F2 has 2 Var(g).
    v = progeny_variance([2, 2], [0, 0], [1.0, 0.5], [1, 1], [0.0, 20.0], population="F2", ploidy=2)
    assert v == pytest.approx((2.25 - 2 * c) / 2, abs=1e-12)


def test_progeny_variance__unlinked_markers_sum_per_locus():
    # Different chromosomes recombine freely (c = 1/2): Var = sum over segregating markers of
    # beta^2 * var-per-locus, with var-per-locus 1 for DH and RIL (0 or 2, each 1/2) and 1/2 for F2
    # (0, 1, 2 with 1/4, 1/2, 1/4). Marker 2 (both parents 2) does not segregate.
    p1, p2 = [2, 0, 2, 2], [0, 2, 2, 0]
    beta = [0.3, -1.2, 5.0, 0.7]
    chrom = ["1", "2", "3", "4"]
    segregating = 0.3**2 + 1.2**2 + 0.7**2
    for population, per_locus in (("DH", 1.0), ("RIL", 1.0), ("F2", 0.5)):
        v = progeny_variance(p1, p2, beta, chrom, [10, 10, 10, 10], population=population, ploidy=2)
        assert v == pytest.approx(segregating * per_locus, rel=1e-12)


def test_progeny_variance__identical_parents_zero():
    rng = np.random.default_rng(7)
    p = 2 * rng.integers(0, 2, 200)
    beta = rng.normal(size=200)
    chrom, pos = np.repeat([1, 2], 100), np.tile(np.linspace(0, 150, 100), 2)
    for population in POPULATIONS:
        assert progeny_variance(p, p, beta, chrom, pos, population=population, ploidy=2) == 0.0


def test_progeny_variance__complete_linkage_one_locus():
    # Markers at the same position never recombine: they act as one locus of effect sum(u).
    v = progeny_variance(
        [2, 0, 2],
        [0, 2, 0],
        [1.0, 0.5, 0.25],
        [1, 1, 1],
        [7.0, 7.0, 7.0],
        population="DH",
        ploidy=2,
    )
    assert v == pytest.approx((1.0 - 0.5 + 0.25) ** 2, rel=1e-12)


# --- progeny_variance: Monte-Carlo ----------------------------------------------------------


@pytest.mark.parametrize("population", POPULATIONS)
def test_progeny_variance__monte_carlo(population):
    rng = np.random.default_rng(20240611)
    dosages = simulate_progeny(rng, MC_P1, MC_P2, MC_CHROM, MC_POS, population, 20_000)
    values = dosages @ MC_BETA
    predicted = progeny_variance(
        MC_P1, MC_P2, MC_BETA, MC_CHROM, MC_POS, population=population, ploidy=2
    )
    assert np.var(values) == pytest.approx(predicted, rel=0.05)
    assert np.mean(values) == pytest.approx(
        progeny_mean(MC_P1, MC_P2, MC_BETA, ploidy=2), abs=4 * math.sqrt(predicted / 20_000)
    )
    # The check discriminates: ignoring linkage would be off by far more than 5%.
    u = MC_BETA * (MC_P1 - MC_P2) / 2
    unlinked = float(u @ u) * (0.5 if population == "F2" else 1.0)
    assert abs(unlinked / predicted - 1) > 0.2


def test_progeny_variance__ril_differs_from_dh_as_haldane_waddington():
    # RIL and DH differ only through linkage; with tight linkage in coupling the RIL variance is
    # smaller (more recombination accumulates over the selfing generations).
    dh = progeny_variance(MC_P1, MC_P2, MC_BETA, MC_CHROM, MC_POS, population="DH", ploidy=2)
    ril = progeny_variance(MC_P1, MC_P2, MC_BETA, MC_CHROM, MC_POS, population="RIL", ploidy=2)
    f2 = progeny_variance(MC_P1, MC_P2, MC_BETA, MC_CHROM, MC_POS, population="F2", ploidy=2)
    assert f2 == pytest.approx(dh / 2, rel=1e-12)
    assert abs(ril / dh - 1) > 0.05


# --- progeny_variance: against the direct double sum ---------------------------------------


@pytest.mark.parametrize("population", POPULATIONS)
def test_progeny_variance__matches_direct_double_sum(population):
    rng = np.random.default_rng(11)
    n = 400
    chrom = rng.choice(["1A", "1C", "7"], n)
    pos = rng.uniform(0, 250, n)  # unsorted, on purpose
    pos[:6] = pos[6]  # tied positions
    p1, p2 = 2 * rng.integers(0, 2, n), 2 * rng.integers(0, 2, n)
    beta = rng.normal(size=n)
    beta[::5] = 0.0
    got = progeny_variance(p1, p2, beta, chrom, pos, population=population, ploidy=2)
    assert got == pytest.approx(direct_variance(p1, p2, beta, chrom, pos, population), rel=1e-10)


def test_progeny_variance__long_chromosome_many_stretches():
    # A 20,000 cM "chromosome" forces the decayed sums to restart many times.
    rng = np.random.default_rng(5)
    n = 300
    pos = np.sort(rng.uniform(0, 20_000, n))
    pos[100:140] = np.linspace(5000, 5001, 40)  # a dense cluster
    chrom = np.zeros(n, dtype=int)
    p1, p2 = 2 * rng.integers(0, 2, n), 2 * rng.integers(0, 2, n)
    beta = rng.normal(size=n)
    for population in POPULATIONS:
        got = progeny_variance(p1, p2, beta, chrom, pos, population=population, ploidy=2)
        want = direct_variance(p1, p2, beta, chrom, pos, population)
        assert got == pytest.approx(want, rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    population=st.sampled_from(POPULATIONS),
)
def test_progeny_variance__property_symmetric_order_free_and_bounded(seed, n, population):
    rng = np.random.default_rng(seed)
    p1, p2 = 2 * rng.integers(0, 2, n), 2 * rng.integers(0, 2, n)
    beta = rng.normal(size=n)
    chrom, pos = rng.integers(1, 3, n), rng.uniform(0, 100, n)
    v = progeny_variance(p1, p2, beta, chrom, pos, population=population, ploidy=2)
    assert v >= 0
    assert progeny_variance(p2, p1, beta, chrom, pos, population=population, ploidy=2) == (
        pytest.approx(v, rel=1e-9, abs=1e-12)
    )
    perm = rng.permutation(n)
    shuffled = progeny_variance(
        p1[perm], p2[perm], beta[perm], chrom[perm], pos[perm], population=population, ploidy=2
    )
    assert shuffled == pytest.approx(v, rel=1e-9, abs=1e-12)
    # Never above complete linkage (all markers one locus) in absolute effects.
    u = np.abs(beta * (p1 - p2) / 2)
    assert v <= u.sum() ** 2 + 1e-9


# --- progeny_mean ---------------------------------------------------------------------------


def test_progeny_mean__midparent():
    # g(P1) = 2*1 + 0 + 2*(-0.5) = 1; g(P2) = 0 + 2*5 + 2*(-0.5) = 9; mid-parent 5.
    assert progeny_mean([2, 0, 2], [0, 2, 2], [1.0, 5.0, -0.5], ploidy=2) == pytest.approx(5.0)


def test_progeny_mean__tetraploid_and_hexaploid_midparent():
    # The mean is ploidy-free for homozygous parents (0 or ploidy copies).
    assert progeny_mean([4, 0], [0, 4], [1.0, 2.0], ploidy=4) == pytest.approx(6.0)
    assert progeny_mean([6, 6], [0, 6], [0.5, -1.0], ploidy=6) == pytest.approx(-4.5)


def test_progeny_mean__heterozygous_parent_error_names_markers():
    with pytest.raises(InputError, match=r"p2 is not homozygous at markers 1, 3"):
        progeny_mean([2, 0, 2, 0], [0, 1, 2, 1], [1.0, 1.0, 1.0, 1.0], ploidy=2)
    assert progeny_mean([2, 0], [0, 1], [1.0, 1.0], ploidy=2, allow_heterozygous=True) == 1.5


# --- errors ---------------------------------------------------------------------------------


def test_progeny_variance__heterozygous_parent_error_and_allowed():
    args = ([2, 1, 2], [0, 0, 0], [1.0, 1.0, 1.0], [1, 2, 3], [0.0, 0.0, 0.0])
    with pytest.raises(InputError, match=r"p1 is not homozygous at markers 1 .*allow_heterozygous"):
        progeny_variance(*args, population="DH", ploidy=2)
    # Allowed: the heterozygous marker is treated as not segregating.
    v = progeny_variance(*args, population="DH", ploidy=2, allow_heterozygous=True)
    assert v == pytest.approx(2.0)


def test_progeny_variance__mismatched_lengths():
    p, beta, chrom, pos = [2, 0, 2], [1.0, 1.0, 1.0], [1, 1, 1], [0.0, 1.0, 2.0]
    with pytest.raises(InputError, match="p2 has 2 markers but beta has 3"):
        progeny_variance(p, [0, 2], beta, chrom, pos, population="DH", ploidy=2)
    with pytest.raises(InputError, match="chrom has 2 entries"):
        progeny_variance(p, p, beta, chrom[:2], pos, population="DH", ploidy=2)
    with pytest.raises(InputError, match="pos_cM has 4 entries"):
        progeny_variance(p, p, beta, chrom, pos + [3.0], population="DH", ploidy=2)


@pytest.mark.parametrize("ploidy", [4, 6])
def test_progeny_variance__polyploid_refused(ploidy):
    with pytest.raises(InputError, match="implemented for diploid"):
        progeny_variance(
            [ploidy, 0], [0, ploidy], [1.0, 1.0], [1, 1], [0.0, 5.0], population="DH", ploidy=ploidy
        )


def test_progeny_variance__bad_values_and_kinds():
    ok = dict(population="DH", ploidy=2)
    with pytest.raises(InputError, match="population must be one of"):
        progeny_variance([2], [0], [1.0], [1], [0.0], population="BC1", ploidy=2)
    with pytest.raises(InputError, match="missing or negative dosages at markers 0"):
        progeny_variance([np.nan], [0], [1.0], [1], [0.0], **ok)
    with pytest.raises(InputError, match="above the ploidy"):
        progeny_variance([4], [0], [1.0], [1], [0.0], **ok)
    with pytest.raises(InputError, match="pos_cM is missing"):
        progeny_variance([2], [0], [1.0], [1], [np.nan], **ok)
    with pytest.raises(InputError, match="beta has missing"):
        progeny_variance([2], [0], [np.nan], [1], [0.0], **ok)
    with pytest.raises(TypeError, match="beta must be numeric"):
        progeny_variance([2], [0], ["a"], [1], [0.0], **ok)
    with pytest.raises(TypeError, match="ploidy must be an integer"):
        progeny_variance([2], [0], [1.0], [1], [0.0], population="DH", ploidy=2.0)
    with pytest.raises(TypeError):
        progeny_variance([2], [0], [1.0], [1], [0.0], "DH", 2)  # options are keyword-only


# --- usefulness -----------------------------------------------------------------------------


def test_usefulness__mean_plus_intensity_sd():
    assert usefulness(10.0, 4.0, intensity=1.755) == pytest.approx(10 + 1.755 * 2)
    assert usefulness(10.0, 4.0, intensity=1.755, higher_is_better=False) == pytest.approx(6.49)
    np.testing.assert_allclose(usefulness([1.0, 2.0], [0.0, 9.0], intensity=2.0), [1.0, 8.0])
    with pytest.raises(InputError, match="variance must be >= 0"):
        usefulness(1.0, -1.0, intensity=1.0)
    with pytest.raises(InputError, match="intensity"):
        usefulness(1.0, 1.0, intensity=-1.0)


# --- rank_crosses ---------------------------------------------------------------------------


def _parents(rng, n_parents, n_markers, het=False):
    X = 2 * rng.integers(0, 2, (n_parents, n_markers))
    if het:
        X = X.astype(float)
        X[0, :5] = 1
        X[2, 3:9] = 1
    return X


@pytest.mark.parametrize("population", POPULATIONS)
@pytest.mark.parametrize("het", [False, True])
def test_rank_crosses__agrees_with_pairwise_functions(population, het):
    rng = np.random.default_rng(3)
    n = 300
    X = _parents(rng, 5, n, het=het)
    beta = rng.normal(size=n)
    chrom, pos = rng.integers(1, 4, n), rng.uniform(0, 120, n)
    ids = ["a", "b", "c", "d", "e"]
    ranked = rank_crosses(
        X,
        ids,
        beta,
        chrom,
        pos,
        intensity=1.4,
        population=population,
        ploidy=2,
        allow_heterozygous=het,
    )
    assert len(ranked) == 10
    assert [r["rank"] for r in ranked] == list(range(1, 11))
    ucs = [r["usefulness"] for r in ranked]
    assert ucs == sorted(ucs, reverse=True)
    for r in ranked:
        i, j = ids.index(r["parent1"]), ids.index(r["parent2"])
        assert i < j
        var = progeny_variance(
            X[i], X[j], beta, chrom, pos, population=population, ploidy=2, allow_heterozygous=het
        )
        mean = progeny_mean(X[i], X[j], beta, ploidy=2, allow_heterozygous=het)
        assert r["variance"] == pytest.approx(var, rel=1e-9)
        assert r["mean"] == pytest.approx(mean, rel=1e-12)
        assert r["sd"] == pytest.approx(math.sqrt(var), rel=1e-9)
        assert r["usefulness"] == pytest.approx(mean + 1.4 * math.sqrt(var), rel=1e-9)


def test_rank_crosses__top_ties_and_direction():
    # Parents a and b identical: crosses a x c and b x c tie and share a rank.
    X = [[2, 2], [2, 2], [0, 0]]
    ranked = rank_crosses(
        X, ["a", "b", "c"], [1.0, 1.0], [1, 2], [0.0, 0.0], intensity=1.0, population="DH", ploidy=2
    )
    # a x b: mean 4, var 0 -> UC 4; a x c, b x c: mean 2, var 2 -> UC 2 + sqrt(2).
    assert [(r["parent1"], r["parent2"], r["rank"]) for r in ranked] == [
        ("a", "b", 1),
        ("a", "c", 2),
        ("b", "c", 2),
    ]
    top = rank_crosses(
        X,
        ["a", "b", "c"],
        [1.0, 1.0],
        [1, 2],
        [0.0, 0.0],
        intensity=1.0,
        population="DH",
        ploidy=2,
        top=1,
        higher_is_better=False,
    )
    assert len(top) == 1 and top[0]["usefulness"] == pytest.approx(2 - math.sqrt(2))


def test_rank_crosses__errors():
    X, beta, chrom, pos = [[2, 0], [0, 2]], [1.0, 1.0], [1, 1], [0.0, 1.0]
    kw = dict(intensity=1.0, population="DH", ploidy=2)
    with pytest.raises(InputError, match="not unique"):
        rank_crosses(X, ["a", "a"], beta, chrom, pos, **kw)
    with pytest.raises(InputError, match="parent_ids has 3 entries"):
        rank_crosses(X, ["a", "b", "c"], beta, chrom, pos, **kw)
    with pytest.raises(InputError, match="at least two parents"):
        rank_crosses([[2, 0]], ["a"], beta, chrom, pos, **kw)
    with pytest.raises(InputError, match="parent b is not homozygous at markers 1"):
        rank_crosses([[2, 0], [0, 1]], ["a", "b"], beta, chrom, pos, **kw)
    with pytest.raises(InputError, match="top must be"):
        rank_crosses(X, ["a", "b"], beta, chrom, pos, top=0, **kw)
    with pytest.raises(TypeError, match="2-D"):
        rank_crosses([2, 0], ["a"], beta, chrom, pos, **kw)


@pytest.mark.slow
def test_rank_crosses__twenty_parents_fifty_thousand_markers():
    rng = np.random.default_rng(1)
    n = 50_000
    chrom = np.repeat(np.arange(1, 13), n // 12 + 1)[:n]
    pos = rng.uniform(0, 150, n)
    X = 2 * (rng.random((20, n)) < 0.3)
    beta = rng.normal(0, 0.01, n)
    start = time.perf_counter()
    ranked = rank_crosses(
        X,
        [f"p{i}" for i in range(20)],
        beta,
        chrom,
        pos,
        intensity=1.755,
        population="RIL",
        ploidy=2,
    )
    assert len(ranked) == 190
    assert time.perf_counter() - start < 60
    best = ranked[0]
    i, j = int(best["parent1"][1:]), int(best["parent2"][1:])
    var = progeny_variance(X[i], X[j], beta, chrom, pos, population="RIL", ploidy=2)
    assert best["variance"] == pytest.approx(var, rel=1e-9)
