"""Selection indices across traits, truncation-selection intensity and expected response.

Two families of index are here:

- indices on **phenotypes** (or any measured traits), built from a phenotypic
  (co)variance matrix ``P`` and a genetic one ``G`` of the index traits:
  :func:`smith_hazel_weights` (maximise the gain in an economic aggregate
  genotype) and :func:`desired_gains_weights` (gains in a chosen proportion);
- the **GEBV index** breeders use every day, :func:`gebv_index` and
  :func:`rank_candidates`: a weighted sum of genomic estimated breeding values.
  When the GEBVs are BLUP, Cov(GEBV, breeding value) = Var(GEBV), so the
  Smith-Hazel weights on GEBVs are the economic weights themselves
  (``b = C^-1 C a = a``): no matrices are needed.

:func:`expected_response` gives the gain per trait for any index and
:func:`selection_intensity` the standardised selection differential of
truncation selection. Every function takes arrays and returns arrays; none
reads a file or the database.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from breedhub.predict.exceptions import InputError

__all__ = [
    "RankedCandidate",
    "desired_gains_weights",
    "expected_response",
    "gebv_index",
    "rank_candidates",
    "selection_intensity",
    "smith_hazel_weights",
]


# --- validation -----------------------------------------------------------------------------


def _as_float(x: Any, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be numeric, not {arr.dtype}")
    if arr.ndim != ndim:
        shape = {1: "a vector", 2: "a matrix"}[ndim]
        raise TypeError(f"{name} must be {shape} ({ndim}-D), not {arr.ndim}-D")
    if arr.size == 0:
        raise InputError(f"{name} is empty")
    return arr.astype(np.float64)


def _finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        raise InputError(f"{name} has missing or infinite values; every entry must be a number")


def _covariance(x: Any, name: str, *, definite: bool) -> np.ndarray:
    """A square, symmetric, positive (semi)definite matrix, or an InputError naming it."""
    m = _as_float(x, name, 2)
    if m.shape[0] != m.shape[1]:
        raise InputError(f"{name} must be square (traits x traits), not shape {m.shape}")
    _finite(m, name)
    scale = max(float(np.abs(m).max()), 1e-300)
    if not np.allclose(m, m.T, rtol=1e-8, atol=1e-10 * scale):
        i, j = np.unravel_index(np.argmax(np.abs(m - m.T)), m.shape)
        raise InputError(
            f"{name} is not symmetric: [{i}, {j}] = {m[i, j]:g} but [{j}, {i}] = {m[j, i]:g}; "
            "pass a (co)variance matrix"
        )
    m = (m + m.T) / 2
    low = float(np.linalg.eigvalsh(m)[0])
    tol = 1e-10 * scale * m.shape[0]
    if (definite and low <= tol) or low < -tol:
        kind = "positive definite" if definite else "positive semidefinite"
        raise InputError(
            f"{name} is not {kind} (smallest eigenvalue {low:.3g}): a trait is a linear "
            "combination of others, or the (co)variances were estimated apart; drop a trait "
            "or bend the matrix"
        )
    return m


def _vector(x: Any, name: str, n: int, what: str) -> np.ndarray:
    v = _as_float(x, name, 1)
    if v.shape[0] != n:
        raise InputError(f"{name} has {v.shape[0]} values but there are {n} {what}")
    _finite(v, name)
    return v


def _index_matrices(P: Any, G: Any) -> tuple[np.ndarray, np.ndarray]:
    p = _covariance(P, "P", definite=True)
    g = _covariance(G, "G", definite=False)
    if g.shape != p.shape:
        raise InputError(
            f"P is {p.shape[0]} x {p.shape[0]} but G is {g.shape[0]} x {g.shape[0]}: both are "
            "(co)variances of the same index traits"
        )
    return p, g


# --- phenotypic indices ---------------------------------------------------------------------


def smith_hazel_weights(P: Any, G: Any, economic_weights: Any) -> np.ndarray:
    """Smith-Hazel index weights ``b = P^-1 G a``.

    The index ``I = b' x`` on the index traits ``x`` has the largest
    correlation with the aggregate genotype ``H = a' g``, so it gives the
    largest expected gain in ``H`` of any linear index.

    Parameters
    ----------
    P
        (traits x traits) phenotypic (co)variance matrix of the index traits;
        symmetric positive definite.
    G
        (traits x traits) genetic (additive) (co)variance matrix of the same
        traits; symmetric positive semidefinite.
    economic_weights
        ``a``: value of one unit of genetic gain in each trait. Negative for a
        trait to reduce (back-fat, days to flowering).

    Returns
    -------
    numpy.ndarray
        ``b``, one weight per trait, in units of value per unit of phenotype.

    Raises
    ------
    TypeError
        If an argument is not numeric or has the wrong number of dimensions.
    InputError
        If ``P`` or ``G`` is not square, not symmetric, ``P`` is not positive
        definite (or ``G`` not semidefinite), or the sizes disagree.

    Notes
    -----
    For an index on BLUP GEBVs pass ``P = G = Var(GEBV)``: then ``b = a``.

    References
    ----------
    Smith HF (1936) A discriminant function for plant selection. Ann Eugen 7:240-250.
    Hazel LN (1943) The genetic basis for constructing selection indexes. Genetics 28:476-490.

    Examples
    --------
    >>> b = smith_hazel_weights([[100, 20], [20, 25]], [[40, 10], [10, 10]], [1, 2])
    >>> np.round(b * 7, 6)   # 3/7 and 6/7
    array([3., 6.])
    """
    p, g = _index_matrices(P, G)
    a = _vector(economic_weights, "economic_weights", p.shape[0], "traits in P")
    return np.linalg.solve(p, g @ a)


def desired_gains_weights(P: Any, G: Any, desired_gains: Any) -> np.ndarray:
    """Desired-gains index weights (Pesek & Baker 1969): ``b = G^-1 d``.

    The index's expected gains are proportional to ``d``. Derivation: the
    response in the traits is ``i G b / sd(I)`` (:func:`expected_response`),
    so asking ``G b = k d`` for some scale ``k > 0`` gives ``b = G^-1 d`` (the
    scale of ``b`` does not change the ranking). With the general form
    ``b = P^-1 G (G' P^-1 G)^-1 d`` (index traits not the goal traits) and a
    square invertible ``G`` the two are the same, since
    ``(G P^-1 G)^-1 = G^-1 P G^-1``. ``P`` is not needed for the weights; it
    is checked so that the pair can go on to :func:`expected_response`.

    Parameters
    ----------
    P
        (traits x traits) phenotypic (co)variance matrix, positive definite.
    G
        (traits x traits) genetic (co)variance matrix, positive definite
        (invertible): a trait with no genetic variance cannot be moved.
    desired_gains
        ``d``: the gain wanted in each trait, in trait units; the ratio
        between them is what counts. Use 0 to hold a trait where it is.

    Returns
    -------
    numpy.ndarray
        ``b``, one weight per trait.

    Raises
    ------
    TypeError
        If an argument is not numeric or has the wrong number of dimensions.
    InputError
        As :func:`smith_hazel_weights`, and if ``G`` is singular or ``d`` is all zero.

    Notes
    -----
    On GEBVs pass ``P = G = Var(GEBV)`` (BLUP GEBVs have Cov(GEBV, g) = Var(GEBV)):
    the weights are then ``Var(GEBV)^-1 d``.

    References
    ----------
    Pesek J, Baker RJ (1969) Desired improvement in relation to selection indices.
    Can J Plant Sci 49:803-804.

    Examples
    --------
    >>> b = desired_gains_weights([[100, 20], [20, 25]], [[40, 10], [10, 10]], [2, 1])
    >>> np.round(b * 30, 6)   # 1/30 and 2/30
    array([1., 2.])
    """
    p, g = _index_matrices(P, G)
    _covariance(g, "G", definite=True)
    d = _vector(desired_gains, "desired_gains", p.shape[0], "traits in P")
    if not np.any(d):
        raise InputError("desired_gains are all zero: ask for a gain in at least one trait")
    return np.linalg.solve(g, d)


def expected_response(b: Any, P: Any, G: Any, *, intensity: float) -> np.ndarray:
    """Expected genetic gain per trait from truncation selection on ``I = b' x``.

    ``dG = i G b / sqrt(b' P b)``: the covariance of the index with each
    trait's genetic value, over the index's standard deviation, times the
    selection intensity. The gain in an aggregate genotype ``H = a' g`` is
    ``a' dG``.

    Parameters
    ----------
    b
        Index weights, one per trait (any scale).
    P, G
        Phenotypic and genetic (co)variance matrices, as for :func:`smith_hazel_weights`.
    intensity
        Selection intensity ``i`` (:func:`selection_intensity` of the
        proportion selected), at least 0.

    Returns
    -------
    numpy.ndarray
        Expected gain in each trait, in trait units, per round of selection.

    Raises
    ------
    TypeError, InputError
        As :func:`smith_hazel_weights`; also if ``b`` is all zero or ``intensity`` negative.

    References
    ----------
    Falconer DS, Mackay TFC (1996) Introduction to Quantitative Genetics, 4th ed., ch. 19.

    Examples
    --------
    >>> P, G = [[100, 20], [20, 25]], [[40, 10], [10, 10]]
    >>> b = smith_hazel_weights(P, G, [1, 2])
    >>> np.round(expected_response(b, P, G, intensity=1.0), 4)
    array([3.5857, 1.7928])
    """
    p, g = _index_matrices(P, G)
    w = _vector(b, "b", p.shape[0], "traits in P")
    i = _intensity(intensity)
    var = float(w @ p @ w)
    if var <= 0:
        raise InputError("b gives an index with no variance (all weights zero?)")
    return i * (g @ w) / math.sqrt(var)


def _intensity(intensity: Any) -> float:
    if isinstance(intensity, bool) or not isinstance(intensity, (int, float, np.number)):
        raise TypeError(f"intensity must be a number, not {type(intensity).__name__}")
    i = float(intensity)
    if not math.isfinite(i) or i < 0:
        raise InputError(
            f"intensity must be a finite number >= 0, not {i}; selection_intensity(p) gives "
            "it for a proportion p selected"
        )
    return i


# --- truncation selection -------------------------------------------------------------------

# Acklam's rational approximation to the inverse normal CDF (relative error < 1.15e-9),
# refined below by one Halley step on math.erfc to full double precision.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)  # fmt: skip


def _norm_upper(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _norm_pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _upper_quantile(p: float) -> float:
    """z with P(Z > z) = p, for 0 < p < 1 (Acklam's algorithm plus one Halley step)."""
    q = 1.0 - p  # the lower-tail probability
    if q < 0.02425:
        r = math.sqrt(-2.0 * math.log(q))
        num = ((((_C[0] * r + _C[1]) * r + _C[2]) * r + _C[3]) * r + _C[4]) * r + _C[5]
        z = num / ((((_D[0] * r + _D[1]) * r + _D[2]) * r + _D[3]) * r + 1.0)
    elif q <= 1.0 - 0.02425:
        s = q - 0.5
        r = s * s
        num = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * s
        z = num / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
    else:  # the upper tail, computed from p itself to keep precision for tiny p
        r = math.sqrt(-2.0 * math.log(p))
        num = ((((_C[0] * r + _C[1]) * r + _C[2]) * r + _C[3]) * r + _C[4]) * r + _C[5]
        z = -num / ((((_D[0] * r + _D[1]) * r + _D[2]) * r + _D[3]) * r + 1.0)
    # Halley's step on f(z) = P(Z > z) - p, f' = -pdf(z), f'' = z pdf(z).
    e = _norm_upper(z) - p
    u = -e / _norm_pdf(z)  # Newton step: z - f/f'
    return z - u / (1.0 + z * u / 2.0)


def selection_intensity(proportion: Any) -> float | np.ndarray:
    """Intensity of truncation selection: ``i = phi(z) / p``.

    ``z`` is the truncation point above which a proportion ``p`` of a
    standard normal lies and ``phi`` the normal density: ``i`` is the mean of
    the selected, in standard deviations, for a large population.

    Parameters
    ----------
    proportion
        Proportion selected ``p``, ``0 < p <= 1`` (a number, or an array of them).

    Returns
    -------
    float or numpy.ndarray
        ``i``; 0 when everything is selected (``p = 1``).

    Raises
    ------
    TypeError
        If it is not numeric.
    InputError
        If a proportion is not in (0, 1].

    Notes
    -----
    The inverse normal is Acklam's rational approximation refined by one
    Halley step against ``math.erfc`` (no SciPy needed), accurate to about
    1e-15. For small numbers of candidates the finite-population intensity is
    a little lower (Burrows 1972); this is the large-population value.

    References
    ----------
    Falconer DS, Mackay TFC (1996) Introduction to Quantitative Genetics, 4th ed.,
    ch. 11 and Appendix Table A.
    Acklam PJ (2003) An algorithm for computing the inverse normal cumulative
    distribution function.

    Examples
    --------
    >>> round(selection_intensity(0.1), 3)
    1.755
    >>> np.round(selection_intensity([0.5, 0.05, 0.01]), 3)
    array([0.798, 2.063, 2.665])
    """
    arr = np.asarray(proportion)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"proportion must be numeric, not {arr.dtype}")
    p = arr.astype(np.float64)
    bad = ~((p > 0) & (p <= 1))  # also catches NaN
    if bad.any():
        raise InputError(
            f"proportion selected must be in (0, 1], not {p[bad].ravel()[:5].tolist()}: "
            "pass e.g. 0.05 for the best 5%"
        )
    out = np.array([0.0 if x == 1.0 else _norm_pdf(_upper_quantile(x)) / x for x in p.ravel()])
    out = out.reshape(p.shape)
    return float(out) if out.ndim == 0 else out


# --- GEBV index -----------------------------------------------------------------------------


class RankedCandidate(NamedTuple):
    """One row of :func:`rank_candidates`: the candidate, its index score, its rank (1 = best)."""

    id: Any
    score: float
    rank: int


def _check_gebvs(gebvs: Any, weights: Any, missing: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(gebvs)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"gebvs must be numeric, not {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise TypeError(f"gebvs must be 2-D (candidates x traits), not {x.ndim}-D")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"gebvs is empty: shape {x.shape}")
    x = x.astype(np.float64)
    w = _as_float(np.atleast_1d(np.asarray(weights)), "weights", 1)
    if w.shape[0] != x.shape[1]:
        raise InputError(f"weights has {w.shape[0]} values but gebvs has {x.shape[1]} traits")
    _finite(w, "weights")
    if missing not in ("error", "drop"):
        raise InputError(f"missing must be 'error' or 'drop', not {missing!r}")
    if np.isinf(x).any():
        raise InputError(
            f"gebvs has infinite values in candidates {_some(np.nonzero(np.isinf(x))[0])}"
        )
    return x, w


def _scores(x: np.ndarray, w: np.ndarray, standardise: bool) -> np.ndarray:
    """Index of the complete rows of ``x``; NaN for the others."""
    ok = ~np.isnan(x).any(axis=1)
    out = np.full(x.shape[0], np.nan)
    if not ok.any():
        return out
    seen = x[ok]
    if standardise:
        sd = seen.std(axis=0)
        z = np.zeros_like(seen)
        vary = sd > 0
        z[:, vary] = (seen[:, vary] - seen[:, vary].mean(axis=0)) / sd[vary]
        seen = z
    out[ok] = seen @ w
    return out


def gebv_index(
    gebvs: Any, weights: Any, *, standardise: bool = True, missing: str = "error"
) -> np.ndarray:
    """Index score of each candidate: a weighted sum of its GEBVs.

    Parameters
    ----------
    gebvs
        (candidates x traits) genomic estimated breeding values; a vector
        for one trait. NaN marks a GEBV that is missing.
    weights
        One weight per trait. Negative to select a trait down (back-fat).
    standardise
        If true (default), each trait's GEBVs are centred and divided by
        their standard deviation among the (complete) candidates, and the
        weights are the emphasis per standard deviation of each trait. If
        false, the GEBVs are used as they are and the weights are economic
        values per trait unit: the score is then the estimated aggregate
        genotype ``a' g_hat``, which is the Smith-Hazel index on BLUP GEBVs.
        A trait with no spread among the candidates contributes nothing when
        standardised.
    missing
        ``"error"`` (default): a candidate with a missing GEBV is an error.
        ``"drop"``: its score is NaN and it takes no part in standardising.

    Returns
    -------
    numpy.ndarray
        One score per candidate, higher is better when the weights are.

    Raises
    ------
    TypeError
        If ``gebvs`` or ``weights`` are not numeric or have the wrong dimensions.
    InputError
        If the number of weights differs from the number of traits, a GEBV is
        infinite, or one is missing and ``missing="error"`` (the message names
        the rows).

    References
    ----------
    Hazel LN (1943) Genetics 28:476-490; with BLUP values, Cov(g_hat, g) = Var(g_hat)
    makes the economic weights the optimal index weights (Henderson 1963).

    Examples
    --------
    >>> gebv_index([[1.0, 0.2], [0.5, -0.1], [0.0, 0.3]], [1.0, -2.0], standardise=False)
    array([ 0.6,  0.7, -0.6])
    """
    x, w = _check_gebvs(gebvs, weights, missing)
    rows = np.nonzero(np.isnan(x).any(axis=1))[0]
    if rows.size and missing == "error":
        raise InputError(
            f"gebvs are missing (NaN) for candidates {_some(rows)}: predict them, or pass "
            "missing='drop' to leave those candidates out"
        )
    return _scores(x, w, standardise)


def rank_candidates(
    ids: Sequence[Any] | np.ndarray,
    gebvs: Any,
    weights: Any,
    *,
    top: int | None = None,
    higher_is_better: bool = True,
    standardise: bool = True,
    missing: str = "error",
) -> list[RankedCandidate]:
    """Rank selection candidates on a GEBV index (:func:`gebv_index`).

    Parameters
    ----------
    ids
        One identifier per candidate (row of ``gebvs``), unique.
    gebvs, weights, standardise
        As :func:`gebv_index`.
    top
        Return only the best ``top`` rows (exactly ``top``: ties at the cut
        are broken by input order). ``None``: every candidate.
    higher_is_better
        If false, the lowest index score ranks first (an index of traits to
        reduce). Prefer negative weights for single traits to reduce.
    missing
        ``"error"`` (default): a missing GEBV is an error naming the
        candidates. ``"drop"``: those candidates are left out of the ranking.

    Returns
    -------
    list of RankedCandidate
        ``(id, score, rank)`` tuples, best first. Equal scores share the
        better rank (1, 2, 2, 4); among them the input order is kept.

    Raises
    ------
    TypeError, InputError
        As :func:`gebv_index`; also if ``ids`` does not match the rows or has
        duplicates, or ``top`` is not a positive integer.

    Examples
    --------
    >>> ranked = rank_candidates(["a", "b", "c"], [[1.0, 0.2], [0.5, -0.1], [0.0, 0.3]],
    ...                          [1.0, -2.0], standardise=False)
    >>> [(r.id, r.rank) for r in ranked]
    [('b', 1), ('a', 2), ('c', 3)]
    """
    x, w = _check_gebvs(gebvs, weights, missing)
    id_list = list(ids)
    if len(id_list) != x.shape[0]:
        raise InputError(f"ids has {len(id_list)} entries but gebvs has {x.shape[0]} candidates")
    dups = [i for i, n in Counter(id_list).items() if n > 1]
    if dups:
        raise InputError(f"ids are not unique: {dups[:8]} appear more than once")
    if top is not None and (
        isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1
    ):
        raise InputError(f"top must be a positive integer or None, not {top!r}")
    rows = np.nonzero(np.isnan(x).any(axis=1))[0]
    if rows.size and missing == "error":
        named = ", ".join(str(id_list[r]) for r in rows[:8])
        more = f" and {rows.size - 8} more" if rows.size > 8 else ""
        raise InputError(
            f"gebvs are missing (NaN) for candidates {named}{more}: predict them, or pass "
            "missing='drop' to leave them out of the ranking"
        )
    score = _scores(x, w, standardise)
    keep = np.nonzero(~np.isnan(score))[0]
    key = -score[keep] if higher_is_better else score[keep]
    order = keep[np.argsort(key, kind="stable")]
    out: list[RankedCandidate] = []
    for pos, r in enumerate(order):
        tied = pos > 0 and score[r] == out[-1].score
        out.append(RankedCandidate(id_list[r], float(score[r]), out[-1].rank if tied else pos + 1))
    return out if top is None else out[: int(top)]


def _some(idx: np.ndarray, k: int = 8) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:k])
    return shown + (f" and {len(idx) - k} more" if len(idx) > k else "")
