"""Cross-validation of genomic-prediction models.

k-fold (or the folds a column gives), repeated with different random
partitions; per fold the Pearson correlation of predicted with observed
values, the RMSE, and the share of the top-ranked predicted individuals that
are also among the top observed ones (what a breeder who selects the top 10%
cares about).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from breedhub.predict.base import check_genotypes, check_phenotypes
from breedhub.predict.exceptions import InputError
from breedhub.predict.methods import make_model


@dataclass
class FoldResult:
    """Accuracy on one held-out fold."""

    repeat: int
    fold: int
    n: int
    r: float
    rmse: float
    top_overlap: float


@dataclass
class CVResult:
    """Cross-validation of one method on one trait."""

    method: str
    trait: str
    n: int
    folds: list[FoldResult]
    mean_r: float
    sd_r: float
    mean_rmse: float
    mean_top_overlap: float
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)
    predictions: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the predictions."""
        d = asdict(self)
        d.pop("predictions")
        return d


def make_folds(n: int, *, folds: int, seed: int) -> np.ndarray:
    """Balanced random fold labels 0..folds-1 for n individuals."""
    if not 2 <= folds <= n:
        raise InputError(
            f"folds must be between 2 and the number of individuals ({n}), not {folds}"
        )
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % folds
    rng.shuffle(labels)
    return labels


def top_overlap(pred: np.ndarray, obs: np.ndarray, *, fraction: float = 0.1) -> float:
    """Share of the top ``fraction`` by prediction that are in the top ``fraction`` observed.

    Examples
    --------
    >>> top_overlap(np.arange(20.0), np.arange(20.0)), top_overlap(-np.arange(20.0), np.arange(20.0))
    (1.0, 0.0)
    """
    k = max(1, int(round(fraction * len(obs))))
    top_pred = set(np.argsort(-pred, kind="stable")[:k])
    top_obs = set(np.argsort(-obs, kind="stable")[:k])
    return len(top_pred & top_obs) / k


def cross_validate(
    genotypes: Any,
    phenotypes: Any,
    *,
    method: str = "gblup",
    ploidy: int,
    folds: int = 5,
    repeats: int = 1,
    fold_ids: Any = None,
    seed: int = 0,
    fixed: Any = None,
    params: dict[str, Any] | None = None,
    trait: str = "trait",
    top: float = 0.1,
    progress: Callable[[str], None] | None = None,
) -> CVResult:
    """Repeated k-fold cross-validation of one method.

    Parameters
    ----------
    genotypes
        (n x m) dosages 0..ploidy, no missing values.
    phenotypes
        n values; individuals with a missing value are never tested (and are
        skipped in training).
    method
        A name of :data:`predict.methods.METHODS`.
    folds, repeats, seed
        Random balanced partitions: ``repeats`` of them, each of ``folds`` folds.
    fold_ids
        Fixed fold labels per individual (e.g. the folds a data set ships
        with); then ``folds``, ``repeats`` and ``seed`` are not used.
    params
        Options of the method (e.g. ``{"n_iter": 2000}`` for BayesB).
    top
        Fraction used for :func:`top_overlap`.

    Returns
    -------
    CVResult
        Per-fold and mean accuracy, and out-of-fold predictions of the last repeat.
    """
    X = check_genotypes(genotypes, ploidy=ploidy)
    y = check_phenotypes(phenotypes, X.shape[0])
    if not 0 < top < 1:
        raise InputError(f"top must be a fraction in (0, 1), not {top}")
    if repeats < 1:
        raise InputError(f"repeats must be 1 or more, not {repeats}")
    params = dict(params or {})
    make_model(method, **params)  # options are checked before any fitting
    F = None if fixed is None else np.asarray(fixed, dtype=float)
    seen = ~np.isnan(y)
    if fold_ids is not None:
        labels_all = np.asarray(fold_ids)
        if labels_all.shape != (X.shape[0],):
            raise InputError(f"fold_ids must have one label per individual ({X.shape[0]})")
        partitions = [labels_all]
    else:
        partitions = []
        for r in range(repeats):
            lab = np.full(X.shape[0], -1)
            lab[seen] = make_folds(int(seen.sum()), folds=folds, seed=seed + r)
            partitions.append(lab)
    start = time.perf_counter()
    results: list[FoldResult] = []
    pred_all = np.full(X.shape[0], np.nan)
    for r, labels in enumerate(partitions):
        pred_all[:] = np.nan
        for f in [v for v in np.unique(labels[seen]) if v != -1]:
            test = (labels == f) & seen
            train = ~test & seen
            if test.sum() < 2:
                raise InputError(f"fold {f} has fewer than 2 observed individuals")
            model = make_model(method, **params)
            model.fit(X[train], y[train], fixed=None if F is None else F[train], ploidy=ploidy)
            p_test = model.predict(X[test])
            offset = float(np.mean(y[train] - model.predict(X[train])))
            pred_all[test] = p_test
            obs = y[test]
            r_f = float(np.corrcoef(p_test, obs)[0, 1]) if np.std(p_test) > 0 else float("nan")
            results.append(
                FoldResult(
                    repeat=r,
                    fold=int(f),
                    n=int(test.sum()),
                    r=r_f,
                    rmse=float(np.sqrt(np.mean((p_test + offset - obs) ** 2))),
                    top_overlap=top_overlap(p_test, obs, fraction=top),
                )
            )
            if progress:
                progress(f"repeat {r + 1} fold {f}: r = {r_f:.3f} (n = {int(test.sum())})")
    rs = np.array([fr.r for fr in results])
    return CVResult(
        method=method,
        trait=trait,
        n=int(seen.sum()),
        folds=results,
        mean_r=float(np.nanmean(rs)),
        sd_r=float(np.nanstd(rs, ddof=1)) if len(rs) > 1 else 0.0,
        mean_rmse=float(np.mean([fr.rmse for fr in results])),
        mean_top_overlap=float(np.mean([fr.top_overlap for fr in results])),
        seconds=time.perf_counter() - start,
        params=params,
        predictions=pred_all.copy(),
    )
