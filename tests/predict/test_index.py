"""Tests of predict.index: Smith-Hazel and desired-gains indices, GEBV indices, intensity.

References: Falconer & Mackay (1996) Appendix Table A for selection
intensities, a two-trait index worked by hand below, and properties that hold
for any (co)variance matrices (Cauchy-Schwarz optimality of Smith-Hazel;
gains proportional to the desired gains for Pesek-Baker).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breedhub.predict.exceptions import InputError
from breedhub.predict.index import (
    RankedCandidate,
    desired_gains_weights,
    expected_response,
    gebv_index,
    rank_candidates,
    selection_intensity,
    smith_hazel_weights,
)

# A two-trait example worked by hand (Falconer & Mackay ch. 19 style):
#   P = [[100, 20], [20, 25]], G = [[40, 10], [10, 10]], economic weights a = (1, 2).
#   G a = (40 + 20, 10 + 20) = (60, 30); det P = 2500 - 400 = 2100;
#   P^-1 = [[25, -20], [-20, 100]] / 2100;
#   b = P^-1 G a = (25*60 - 20*30, -20*60 + 100*30) / 2100 = (900, 1800) / 2100 = (3/7, 6/7).
#   Var(I) = b' P b = b' G a = 3/7 * 60 + 6/7 * 30 = 360/7; Var(H) = a' G a = 40 + 40 + 40 = 120.
#   G b = (40*3/7 + 10*6/7, 10*3/7 + 10*6/7) = (180/7, 90/7);
#   response at i = 1: G b / sd(I) = (180/7, 90/7) / sqrt(360/7) = (180, 90) / sqrt(2520)
#                                  = (3.5856858, 1.7928429); a' dG = sd(I) = 7.1713717.
P2 = np.array([[100.0, 20.0], [20.0, 25.0]])
G2 = np.array([[40.0, 10.0], [10.0, 10.0]])
A2 = np.array([1.0, 2.0])


# --- selection_intensity --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proportion", "table"),
    # Falconer & Mackay (1996), Appendix Table A.
    [(0.5, 0.798), (0.2, 1.400), (0.1, 1.755), (0.05, 2.063), (0.01, 2.665), (0.001, 3.367)],
)
def test_selection_intensity__falconer_table(proportion, table):
    assert selection_intensity(proportion) == pytest.approx(table, abs=5e-4)


def test_selection_intensity__closed_forms_and_arrays():
    # p = 1/2: truncation at 0, i = phi(0) / 0.5 = 2 / sqrt(2 pi).
    assert selection_intensity(0.5) == pytest.approx(2 / math.sqrt(2 * math.pi), rel=1e-14)
    # p = P(Z > 1.959963984540054) = 0.025 exactly: i = phi(1.95996...) / 0.025.
    z = 1.959963984540054
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    assert selection_intensity(0.025) == pytest.approx(phi / 0.025, rel=1e-12)
    assert selection_intensity(1) == 0.0
    np.testing.assert_allclose(selection_intensity([0.1, 0.01]), [1.754983, 2.665214], atol=1e-6)
    # Tiny proportions keep precision (Mills ratio: i ~ z + 1/z for large z).
    assert selection_intensity(1e-12) > selection_intensity(1e-10) > 6.0


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_selection_intensity__out_of_range(bad):
    with pytest.raises(InputError, match=r"proportion selected must be in \(0, 1\]"):
        selection_intensity(bad)


def test_selection_intensity__wrong_kind():
    with pytest.raises(TypeError):
        selection_intensity("ten percent")


@settings(max_examples=60, deadline=None)
@given(p=st.floats(1e-9, 1.0, exclude_max=True), q=st.floats(1e-9, 1.0, exclude_max=True))
def test_selection_intensity__decreases_with_proportion(p, q):
    if p < q:
        assert selection_intensity(p) >= selection_intensity(q)


# --- smith_hazel_weights and expected_response ----------------------------------------------


def test_smith_hazel_weights__hand_worked():
    np.testing.assert_allclose(smith_hazel_weights(P2, G2, A2), [3 / 7, 6 / 7], rtol=1e-12)


def test_expected_response__hand_worked():
    b = smith_hazel_weights(P2, G2, A2)
    dg = expected_response(b, P2, G2, intensity=1.0)
    np.testing.assert_allclose(dg, [180 / math.sqrt(2520), 90 / math.sqrt(2520)], rtol=1e-12)
    np.testing.assert_allclose(dg, [3.5856858, 1.7928429], atol=1e-7)
    assert A2 @ dg == pytest.approx(math.sqrt(360 / 7))  # i * sd(I)
    # Gain scales with intensity and not with the scale of b.
    np.testing.assert_allclose(expected_response(5 * b, P2, G2, intensity=2.063), 2.063 * dg)


def random_cov(rng, n, scale=1.0):
    M = rng.normal(size=(n, n))
    return scale * (M @ M.T + 0.1 * np.eye(n))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5))
def test_smith_hazel_weights__maximises_aggregate_response(seed, n):
    rng = np.random.default_rng(seed)
    G = random_cov(rng, n)
    P = G + random_cov(rng, n)  # phenotype = genotype + independent environment
    a = rng.normal(size=n)
    best = a @ expected_response(smith_hazel_weights(P, G, a), P, G, intensity=1.0)
    # Cauchy-Schwarz: H gain is maximal and equals sqrt(a' G P^-1 G a).
    assert best == pytest.approx(math.sqrt(a @ G @ np.linalg.solve(P, G @ a)), rel=1e-8)
    for _ in range(20):
        b = rng.normal(size=n)
        assert a @ expected_response(b, P, G, intensity=1.0) <= best * (1 + 1e-9) + 1e-12


def test_smith_hazel_weights__on_blup_gebvs_is_economic_weights():
    # For BLUP GEBVs, Cov(GEBV, g) = Var(GEBV) = C, so b = C^-1 C a = a.
    C = np.array([[4.0, 1.0, 0.5], [1.0, 2.0, -0.3], [0.5, -0.3, 1.0]])
    a = np.array([1.0, -0.5, 2.0])
    np.testing.assert_allclose(smith_hazel_weights(C, C, a), a, rtol=1e-12)


def test_smith_hazel_weights__not_positive_definite_P():
    P = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    with pytest.raises(InputError, match="P is not positive definite"):
        smith_hazel_weights(P, G2, A2)


def test_smith_hazel_weights__bad_shapes_and_symmetry():
    with pytest.raises(InputError, match="P is not symmetric"):
        smith_hazel_weights([[100.0, 20.0], [19.0, 25.0]], G2, A2)
    with pytest.raises(InputError, match="G is not positive semidefinite"):
        smith_hazel_weights(P2, [[1.0, 3.0], [3.0, 1.0]], A2)
    with pytest.raises(InputError, match="P must be square"):
        smith_hazel_weights(np.ones((2, 3)), G2, A2)
    with pytest.raises(InputError, match="P is 2 x 2 but G is 3 x 3"):
        smith_hazel_weights(P2, np.eye(3), A2)
    with pytest.raises(InputError, match="economic_weights has 3 values"):
        smith_hazel_weights(P2, G2, [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="missing or infinite"):
        smith_hazel_weights([[np.nan, 0.0], [0.0, 1.0]], G2, A2)
    with pytest.raises(TypeError, match="P must be a matrix"):
        smith_hazel_weights([1.0, 2.0], G2, A2)


# --- desired_gains_weights ------------------------------------------------------------------


def test_desired_gains_weights__hand_worked():
    # b = G^-1 d with G^-1 = [[10, -10], [-10, 40]] / 300 and d = (2, 1):
    # b = (20 - 10, -20 + 40) / 300 = (1/30, 1/15); check: G b = (4/3 + 2/3, 1/3 + 2/3) = (2, 1).
    b = desired_gains_weights(P2, G2, [2.0, 1.0])
    np.testing.assert_allclose(b, [1 / 30, 1 / 15], rtol=1e-12)
    dg = expected_response(b, P2, G2, intensity=1.0)
    assert dg[0] / dg[1] == pytest.approx(2.0)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5))
def test_desired_gains_weights__gains_proportional_to_desired(seed, n):
    rng = np.random.default_rng(seed)
    G = random_cov(rng, n)
    P = G + random_cov(rng, n)
    d = rng.normal(size=n)
    dg = expected_response(desired_gains_weights(P, G, d), P, G, intensity=1.0)
    k = (dg @ d) / (d @ d)
    assert k > 0
    np.testing.assert_allclose(dg, k * d, rtol=1e-7, atol=1e-9 * np.abs(dg).max())


def test_desired_gains_weights__singular_G_and_zero_gains():
    with pytest.raises(InputError, match="G is not positive definite"):
        desired_gains_weights(P2, [[1.0, 1.0], [1.0, 1.0]], [1.0, 0.0])
    with pytest.raises(InputError, match="all zero"):
        desired_gains_weights(P2, G2, [0.0, 0.0])


def test_expected_response__bad_intensity_and_zero_index():
    with pytest.raises(InputError, match="intensity"):
        expected_response([1.0, 1.0], P2, G2, intensity=-1.0)
    with pytest.raises(TypeError, match="intensity must be a number"):
        expected_response([1.0, 1.0], P2, G2, intensity="high")
    with pytest.raises(InputError, match="no variance"):
        expected_response([0.0, 0.0], P2, G2, intensity=1.0)


# --- gebv_index and rank_candidates ---------------------------------------------------------

GEBVS = np.array([[1.0, 0.2], [0.5, -0.1], [0.0, 0.3], [1.5, 0.4]])


def test_gebv_index__economic_weights_unstandardised():
    # Growth worth +1 per unit, back-fat -2 per unit: 1 - 0.4, 0.5 + 0.2, 0 - 0.6, 1.5 - 0.8.
    np.testing.assert_allclose(
        gebv_index(GEBVS, [1.0, -2.0], standardise=False), [0.6, 0.7, -0.6, 0.7]
    )


def test_gebv_index__standardised():
    # Trait 1: mean 0.75, sd sqrt(0.3125); trait 2: mean 0.2, sd sqrt(0.035) (population sd).
    z1 = (GEBVS[:, 0] - 0.75) / math.sqrt(0.3125)
    z2 = (GEBVS[:, 1] - 0.2) / math.sqrt(0.035)
    np.testing.assert_allclose(gebv_index(GEBVS, [1.0, -0.5]), z1 - 0.5 * z2, rtol=1e-12)
    # A constant trait adds nothing when standardised.
    const = np.column_stack([GEBVS[:, 0], np.full(4, 3.0)])
    np.testing.assert_allclose(gebv_index(const, [1.0, 7.0]), z1, rtol=1e-12)
    # One trait as a vector.
    np.testing.assert_allclose(gebv_index(GEBVS[:, 0], [1.0]), z1, rtol=1e-12)


def test_gebv_index__missing_gebvs():
    x = GEBVS.copy()
    x[2, 1] = np.nan
    with pytest.raises(InputError, match=r"missing \(NaN\) for candidates 2: .*missing='drop'"):
        gebv_index(x, [1.0, -2.0])
    s = gebv_index(x, [1.0, -2.0], standardise=False, missing="drop")
    assert np.isnan(s[2])
    np.testing.assert_allclose(s[[0, 1, 3]], [0.6, 0.7, 0.7])


def test_gebv_index__bad_arguments():
    with pytest.raises(InputError, match="weights has 3 values but gebvs has 2 traits"):
        gebv_index(GEBVS, [1.0, 1.0, 1.0])
    with pytest.raises(InputError, match="missing must be"):
        gebv_index(GEBVS, [1.0, 1.0], missing="zero")
    with pytest.raises(TypeError, match="gebvs must be numeric"):
        gebv_index([["a", "b"]], [1.0, 1.0])


def test_rank_candidates__order_ties_and_top():
    ranked = rank_candidates(["w", "x", "y", "z"], GEBVS, [1.0, -2.0], standardise=False)
    assert all(isinstance(r, RankedCandidate) for r in ranked)
    # x and z tie at 0.7 (x first, input order) and share rank 1; then w, then y.
    assert [(r.id, r.rank) for r in ranked] == [("x", 1), ("z", 1), ("w", 3), ("y", 4)]
    assert ranked[0].score == pytest.approx(0.7)
    top = rank_candidates(["w", "x", "y", "z"], GEBVS, [1.0, -2.0], standardise=False, top=2)
    assert [r.id for r in top] == ["x", "z"]
    low = rank_candidates(
        ["w", "x", "y", "z"], GEBVS, [1.0, -2.0], standardise=False, higher_is_better=False
    )
    assert [r.id for r in low] == ["y", "w", "x", "z"]


def test_rank_candidates__missing_named_or_dropped():
    x = GEBVS.copy()
    x[[1, 3], 0] = np.nan
    with pytest.raises(InputError, match="missing \\(NaN\\) for candidates x, z"):
        rank_candidates(["w", "x", "y", "z"], x, [1.0, -2.0])
    ranked = rank_candidates(
        ["w", "x", "y", "z"], x, [1.0, -2.0], missing="drop", standardise=False
    )
    assert [(r.id, r.rank) for r in ranked] == [("w", 1), ("y", 2)]


def test_rank_candidates__bad_ids_and_top():
    with pytest.raises(InputError, match="not unique"):
        rank_candidates(["w", "w", "y", "z"], GEBVS, [1.0, 1.0])
    with pytest.raises(InputError, match="ids has 3 entries"):
        rank_candidates(["w", "x", "y"], GEBVS, [1.0, 1.0])
    with pytest.raises(InputError, match="top must be"):
        rank_candidates(["w", "x", "y", "z"], GEBVS, [1.0, 1.0], top=0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), t=st.integers(1, 4))
def test_rank_candidates__property_ranks_follow_scores(seed, n, t):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t))
    w = rng.normal(size=t)
    ranked = rank_candidates(list(range(n)), x, w)
    assert sorted(r.id for r in ranked) == list(range(n))
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[0].rank == 1 and all(
        a.rank <= b.rank for a, b in zip(ranked[:-1], ranked[1:], strict=True)
    )
