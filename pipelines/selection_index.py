"""A selection index over a model run's GEBVs: weights, ranking, expected response and accuracy.

The numeric glue between the rows the database holds (a candidates x traits
matrix of GEBVs with their reliabilities, each trait with its breeding
direction) and :mod:`predict.index`. Nothing here reads the database.

The (co)variance matrices
-------------------------
The index is built on the GEBVs ``g_hat`` themselves, the "index traits" of
Smith (1936) and Hazel (1943). For BLUP GEBVs Cov(g_hat, g) = Var(g_hat)
(Henderson 1975), so both matrices that :mod:`predict.index` asks for are
``C``, the covariance of the GEBVs among the run's candidates:

- ``P = C`` (variance of the index traits) and ``G = C`` (their covariance with
  the breeding values): the Smith-Hazel weights on GEBVs are then the economic
  weights themselves (``b = C^-1 C a = a``), the desired-gains weights of
  Pesek & Baker (1969) are ``b = C^-1 d``, and the expected response in trait
  ``j`` is ``i (C b)_j / sqrt(b' C b)`` (Falconer & Mackay 1996, ch. 19);
- the *true* additive (co)variances, needed for the index's accuracy only,
  come from the reliabilities: for BLUP, Var(g_hat_j) = r2_j sigma2_gj, with
  r2_j the mean reliability of trait ``j`` (1 - PEV / sigma2_g), so
  ``G_true = D^-1 C D^-1`` with ``D = diag(sqrt(r2))``. The accuracy of the
  index, its correlation with the aggregate genotype ``H = a' g``, is
  ``b' C a / sqrt(b' C b * a' G_true a)``; for one trait it is ``sqrt(r2)``.

Directions
----------
Weights and gains are given *in the breeding direction*: a weight of 1.5 on
days to heading (direction ``lower``) values each day *earlier*, and a desired
gain of 2 asks for 2 days earlier. They are multiplied by the direction's sign
(+1 higher, -1 lower) before the index is built, so that a positive weight
always selects towards the breeding goal. Responses are reported in trait
units, signed (an earlier heading is a negative response). A trait with an
optimum has no linear breeding value to weigh (the goal is a distance, not a
sum), so it is left out of the index with a note; rank it on its own page.

References
----------
Smith HF (1936) Ann Eugen 7:240-250. Hazel LN (1943) Genetics 28:476-490.
Pesek J, Baker RJ (1969) Can J Plant Sci 49:803-804. Henderson CR (1975)
Biometrics 31:423-447. Falconer DS, Mackay TFC (1996) Introduction to
Quantitative Genetics, 4th ed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from breedhub.predict.exceptions import InputError
from breedhub.predict.index import (
    RankedCandidate,
    desired_gains_weights,
    expected_response,
    gebv_index,
    selection_intensity,
    smith_hazel_weights,
)

__all__ = ["IndexResult", "IndexTrait", "Ranked", "selection_index"]

MODES = ("weights", "gains")
SIGN = {"higher": 1.0, "lower": -1.0}


@dataclass(frozen=True)
class IndexTrait:
    """One trait given to :func:`selection_index`.

    Attributes
    ----------
    name
        The variable's name.
    direction
        ``"higher"``, ``"lower"`` or ``"optimum"`` (left out of the index).
    value
        Economic weight (value of one trait unit of gain towards the goal) or
        desired gain (trait units towards the goal), by the index's mode.
    reliability
        Mean reliability to use when the GEBVs carry none (e.g. from the run's
        metrics); None if unknown.
    optimum
        The optimum, for a trait whose direction is ``"optimum"``.
    """

    name: str
    direction: str
    value: float
    reliability: float | None = None
    optimum: float | None = None


class Ranked(Sequence[RankedCandidate]):
    """Candidates ``(id, score, rank)`` best first, made on demand from arrays.

    What :func:`predict.index.rank_candidates` returns (equal scores share the
    better rank; among them the input order is kept), without building one
    object per candidate of a run of 500,000 when a page shows 25.

    Attributes
    ----------
    rows
        Row (of the ``gebv`` given to :func:`selection_index`) of each candidate, best first.
    """

    def __init__(self, ids: Sequence[Any], rows: np.ndarray, scores: np.ndarray) -> None:
        self._ids, self.rows, self._scores = ids, rows, scores
        s = scores[rows]
        new = np.ones(s.size, dtype=bool)
        new[1:] = s[1:] != s[:-1]
        self._ranks = np.maximum.accumulate(np.where(new, np.arange(s.size), 0)) + 1

    def __len__(self) -> int:
        return int(self.rows.size)

    def _one(self, k: int) -> RankedCandidate:
        r = int(self.rows[k])
        return RankedCandidate(self._ids[r], float(self._scores[r]), int(self._ranks[k]))

    @overload
    def __getitem__(self, k: int) -> RankedCandidate: ...
    @overload
    def __getitem__(self, k: slice) -> list[RankedCandidate]: ...
    def __getitem__(self, k: int | slice) -> RankedCandidate | list[RankedCandidate]:
        if isinstance(k, slice):
            return [self._one(i) for i in range(*k.indices(len(self)))]
        if not -len(self) <= k < len(self):
            raise IndexError(k)
        return self._one(k % len(self))


@dataclass(frozen=True)
class IndexResult:
    """What :func:`selection_index` found.

    Attributes
    ----------
    traits
        The traits in the index, in column order.
    notes
        Traits left out and why, candidates dropped, figures not available.
    ranked
        ``(id, score, rank)`` of every complete candidate, best first (:class:`Ranked`).
    weights
        ``b``, the index weights per trait unit (signed: the index is ``b' g_hat``).
    economic_weights
        ``a`` per trait unit, signed (weights mode), else None.
    intensity
        Selection intensity of the proportion selected.
    response
        Expected response per trait, trait units per round of selection.
    aggregate_gain
        ``a' response`` (weights mode), else None.
    accuracy
        Correlation of the index with the aggregate genotype; None without reliabilities.
    n_selected
        Candidates selected at the proportion (at least 1).
    n_dropped
        Candidates left out for a missing GEBV.
    gebv_cov
        ``C``, the covariance of the GEBVs.
    """

    traits: list[str]
    notes: list[str]
    ranked: Ranked
    weights: np.ndarray
    economic_weights: np.ndarray | None
    intensity: float
    response: np.ndarray
    aggregate_gain: float | None
    accuracy: float | None
    n_selected: int
    n_dropped: int
    gebv_cov: np.ndarray = field(repr=False)


def _mean_reliability(rel: np.ndarray, fallback: float | None) -> float | None:
    seen = rel[np.isfinite(rel)]
    value = float(seen.mean()) if seen.size else fallback
    return value if value is not None and 0 < value <= 1 else None


def _accuracy(c: np.ndarray, b: np.ndarray, h: np.ndarray, r2: list[float | None]) -> float | None:
    if any(r is None for r in r2):
        return None
    d = np.sqrt(np.asarray(r2, dtype=float))
    g_true = c / np.outer(d, d)
    denom = float(b @ c @ b) * float(h @ g_true @ h)
    if denom <= 0:
        return None
    return min(1.0, float(b @ c @ h) / math.sqrt(denom))


def _check(gebv: Any, reliability: Any, ids: Sequence[Any], n_traits: int) -> tuple[Any, Any]:
    x = np.asarray(gebv, dtype=float)
    rel = np.full_like(x, np.nan) if reliability is None else np.asarray(reliability, dtype=float)
    if x.ndim != 2 or x.shape[1] != n_traits or rel.shape != x.shape or len(ids) != x.shape[0]:
        raise InputError(
            f"gebv must be (candidates x traits) = ({len(ids)} x {n_traits}) like reliability, "
            f"not {x.shape}"
        )
    return x, rel


def selection_index(
    ids: Sequence[Any],
    gebv: Any,
    reliability: Any,
    traits: Sequence[IndexTrait],
    *,
    mode: str = "weights",
    proportion: float = 0.1,
) -> IndexResult:
    """Rank candidates on a GEBV index and predict its response and accuracy.

    Parameters
    ----------
    ids
        One identifier per candidate (row).
    gebv
        (candidates x traits) GEBVs in trait units, NaN where missing.
    reliability
        Same shape: reliabilities (r2), NaN where unknown; None if there are none.
    traits
        One :class:`IndexTrait` per column, with its weight or desired gain.
    mode
        ``"weights"``: Smith-Hazel index with economic weights;
        ``"gains"``: Pesek & Baker desired-gains index.
    proportion
        Proportion selected, 0 < p < 1.

    Returns
    -------
    IndexResult

    Raises
    ------
    InputError
        For an unknown mode, a proportion outside (0, 1), shapes that disagree,
        no trait to index, all weights (gains) zero, too few complete
        candidates, or GEBVs whose covariance is singular.

    Examples
    --------
    >>> r = selection_index(["a", "b", "c"], [[1.0, 5.0], [2.0, 1.0], [0.0, 2.0]], None,
    ...                     [IndexTrait("y", "higher", 1.0), IndexTrait("d", "lower", 0.5)])
    >>> [c.id for c in r.ranked], r.weights.tolist()
    (['b', 'c', 'a'], [1.0, -0.5])
    """
    if mode not in MODES:
        raise InputError(f"mode must be 'weights' or 'gains', not {mode!r}")
    if not 0 < proportion < 1:
        raise InputError(f"proportion must be between 0 and 1 (e.g. 0.1), not {proportion}")
    x, rel = _check(gebv, reliability, ids, len(traits))
    notes: list[str] = []
    keep = []
    for j, t in enumerate(traits):
        if t.direction in SIGN:
            keep.append(j)
        else:
            goal = f"optimum {t.optimum:g}" if t.optimum is not None else "an optimum"
            notes.append(
                f"{t.name} is left out: its goal is {goal}, a distance that a linear index "
                "cannot weigh; rank it on its own page"
            )
    if not keep:
        raise InputError("no trait to index: give a weight to a trait with a higher or lower goal")
    used = [traits[j] for j in keep]
    x, rel = x[:, keep], rel[:, keep]
    if len(set(ids)) != len(ids):
        raise InputError("ids are not unique: each candidate must appear once")
    complete = np.isfinite(x).all(axis=1)
    n_dropped = int((~complete).sum())
    if n_dropped:
        notes.append(f"{n_dropped} candidates without a GEBV for every index trait are left out")
    if complete.sum() < len(keep) + 1:
        raise InputError(
            f"only {int(complete.sum())} candidates have GEBVs for every index trait; at least "
            f"{len(keep) + 1} are needed to estimate their covariance"
        )
    rows = np.flatnonzero(complete)
    xs, rels = x[rows], rel[rows]
    c = np.atleast_2d(np.cov(xs, rowvar=False, ddof=1))
    sign = np.array([SIGN[t.direction] for t in used])
    values = sign * np.array([t.value for t in used], dtype=float)
    if not np.any(values):
        what = "weights" if mode == "weights" else "desired gains"
        raise InputError(f"all {what} are zero: give at least one trait a value")
    if mode == "weights":
        b = smith_hazel_weights(c, c, values)
        a: np.ndarray | None = values
    else:
        b = desired_gains_weights(c, c, values)
        a = None
    intensity = float(selection_intensity(proportion))
    response = expected_response(b, c, c, intensity=intensity)
    scores = np.full(len(ids), np.nan)
    scores[rows] = gebv_index(xs, b, standardise=False)
    ranked = Ranked(ids, rows[np.argsort(-scores[rows], kind="stable")], scores)
    r2 = [_mean_reliability(rels[:, k], t.reliability) for k, t in enumerate(used)]
    accuracy = _accuracy(c, b, a if a is not None else b, r2)
    if accuracy is None:
        notes.append("the index's accuracy needs each trait's reliability, which is unknown")
    return IndexResult(
        traits=[t.name for t in used], notes=notes, ranked=ranked, weights=b,
        economic_weights=a, intensity=intensity, response=response,
        aggregate_gain=None if a is None else float(a @ response), accuracy=accuracy,
        n_selected=max(1, math.ceil(proportion * rows.size)), n_dropped=n_dropped,
        gebv_cov=c,
    )  # fmt: skip
