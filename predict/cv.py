"""Cross-validation of genomic-prediction models, reported so that people can trust and compare it.

k-fold (or the folds a column gives, kept under the user's own labels),
repeated with different random partitions; per fold the Pearson correlation of
predicted with observed values, the bias (slope of observed on predicted: 1 is
unbiased, below 1 over-dispersed predictions), the RMSE, and the share of the
top-ranked predicted individuals that are also among the top observed ones
(what a breeder who selects the top 10% cares about). Warnings raised while
fitting (a REML edge, a ridge added to G) are collected and reported once each,
with the folds they happened in, instead of once per fit.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from breedhub.predict.base import GenomicModel, check_genotypes, check_phenotypes
from breedhub.predict.exceptions import InputError
from breedhub.predict.methods import get_method, make_model

Label = int | str


@dataclass
class FoldResult:
    """Accuracy on one held-out fold; ``fold`` is the user's label (or 1..k for random folds)."""

    repeat: int
    fold: Label
    n: int
    r: float
    rmse: float
    top_overlap: float
    slope: float = float("nan")
    seconds: float = 0.0


@dataclass
class CVResult:
    """Cross-validation of one method on one trait.

    ``sd_r`` is the standard deviation of the per-fold r (ddof 1), ``bias``
    the mean over folds of the slope of observed on predicted values,
    ``fold_r`` the per-fold r keyed by the fold labels (``"repeat/label"``
    when repeated), ``params`` what was asked for and ``effective_params``
    what the method ran with (its defaults filled in), and ``warnings`` each
    distinct warning once with the folds it came from.
    """

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
    bias: float = float("nan")
    fold_r: dict[str, float] = field(default_factory=dict)
    effective_params: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    predictions: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the predictions."""
        d = asdict(self)
        d.pop("predictions")
        return d


def make_folds(n: int, *, folds: int, seed: int) -> np.ndarray:
    """Balanced random fold codes 0..folds-1 for n individuals."""
    if not 2 <= folds <= n:
        raise InputError(
            f"folds must be between 2 and the number of individuals ({n}), not {folds}"
        )
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % folds
    rng.shuffle(labels)
    return labels


def _missing(v: Any) -> bool:
    return (
        v is None
        or (isinstance(v, float) and np.isnan(v))
        or (isinstance(v, str) and not v.strip())
    )


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        if s.lstrip("+-").isascii() and s.lstrip("+-").isdigit():
            return int(s)
    return None


def fold_labels(fold_ids: Any, n: int) -> tuple[np.ndarray, list[Label]]:
    """Codes 0..k-1 per individual (-1: no label, never tested) and the labels in code order.

    Labels that are all whole numbers (``1``, ``"10"``, ``3.0``) come back as
    ints in numeric order; others as the strings given, in order of first
    appearance. A missing label (None, NaN, empty text) leaves the individual
    untested (it is always in the training set).

    Examples
    --------
    >>> codes, labels = fold_labels(["10", "1", "2", "1", ""], 5)
    >>> codes.tolist(), labels
    ([2, 0, 1, 0, -1], [1, 2, 10])
    >>> fold_labels(["b", "a", "b"], 3)[1]
    ['b', 'a']
    """
    values = list(np.asarray(fold_ids, dtype=object).reshape(-1))
    if len(values) != n:
        raise InputError(f"fold_ids must have one label per individual ({n}), not {len(values)}")
    present = [v for v in values if not _missing(v)]
    ints = [_as_int(v) for v in present]
    keyed: list[Any]
    if all(i is not None for i in ints):
        labels: list[Label] = sorted({i for i in ints if i is not None})
        keyed = [None if _missing(v) else _as_int(v) for v in values]
    else:
        labels = list(dict.fromkeys(str(v).strip() for v in present))
        keyed = [None if _missing(v) else str(v).strip() for v in values]
    index = {lab: i for i, lab in enumerate(labels)}
    codes = np.array([-1 if k is None else index[k] for k in keyed], dtype=np.int64)
    return codes, labels


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


def pearson(pred: np.ndarray, obs: np.ndarray) -> float:
    """Pearson r; NaN when either side is constant."""
    if len(pred) < 2 or np.std(pred) == 0 or np.std(obs) == 0:
        return float("nan")
    return float(np.corrcoef(pred, obs)[0, 1])


def slope(pred: np.ndarray, obs: np.ndarray) -> float:
    """Regression slope of observed on predicted values (1 = unbiased; NaN for constant predictions).

    Examples
    --------
    >>> slope(np.array([0.0, 1, 2]), np.array([1.0, 3, 5]))
    2.0
    """
    p = np.asarray(pred, dtype=float) - np.mean(pred)
    ss = float(p @ p)
    if len(p) < 2 or ss == 0:
        return float("nan")
    return float(p @ (np.asarray(obs, dtype=float) - np.mean(obs)) / ss)


def summary(values: Sequence[float]) -> tuple[float, float]:
    """Mean and SD (ddof 1) of the finite values; SD 0 for one value, NaN for none."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def effective_params(
    method: str, params: dict[str, Any], model: GenomicModel | None = None
) -> dict[str, Any]:
    """The options a method ran with: the registry's defaults, what was passed, what the fit chose.

    A fitted model that reports its effective parameters (``model.effective_params()``
    or ``model.info_["effective_params"]``) is asked first.
    """
    out: dict[str, Any] = dict(get_method(method).defaults)
    out.update(params)
    from breedhub.predict import methods as registry

    reporter = getattr(registry, "effective_params", None)
    if model is not None and callable(reporter):
        out.update(reporter(model))
    elif model is not None:
        getter = getattr(model, "effective_params", None)
        reported = getter() if callable(getter) else model.info_.get("effective_params")
        if isinstance(reported, dict):
            out.update(reported)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


class WarningLog:
    """Warnings raised while fitting, each distinct one kept once with the folds it came from."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, Any]] = {}
        self.fold: Label | None = None

    def add(self, key: str, message: str) -> None:
        entry = self._seen.setdefault(key, {"message": message, "folds": [], "count": 0})
        if entry["message"] != message and not entry.get("varies"):
            entry["varies"] = True
            entry["message"] += " (the values differ between folds)"
        entry["count"] += 1
        if self.fold is not None and self.fold not in entry["folds"]:
            entry["folds"].append(self.fold)

    def items(self) -> list[dict[str, Any]]:
        """``{"message", "folds", "count"}`` per distinct warning, in order of first occurrence."""
        return [{k: v for k, v in e.items() if k != "varies"} for e in self._seen.values()]


class _Collect(logging.Handler):
    def __init__(self, log: WarningLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log.add(f"{record.name}:{record.msg}", record.getMessage())


@contextmanager
def collected_warnings(log: WarningLog) -> Iterator[WarningLog]:
    """Route the predict package's log warnings and Python warnings into ``log`` (not to stderr)."""
    logger = logging.getLogger("breedhub.predict")
    handler = _Collect(log)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield log
            for w in caught:
                log.add(f"{w.category.__name__}:{w.message}", f"{w.category.__name__}: {w.message}")
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def format_warning(w: dict[str, Any]) -> str:
    """One line per distinct warning: the message, the folds, how often.

    Examples
    --------
    >>> format_warning({"message": "REML at its edge", "folds": [1, 3], "count": 2})
    'REML at its edge (folds 1, 3; 2 fits)'
    """
    folds = w["folds"]
    where = (
        f"fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))}"
        if folds
        else "final fit"
    )
    return f"{w['message']} ({where}; {w['count']} fit{'s' if w['count'] != 1 else ''})"


def _partitions(
    seen: np.ndarray, fold_ids: Any, folds: int, repeats: int, seed: int
) -> list[tuple[np.ndarray, list[Label]]]:
    n = len(seen)
    if fold_ids is not None:
        codes, labels = fold_labels(fold_ids, n)
        return [(codes, labels)]
    out: list[tuple[np.ndarray, list[Label]]] = []
    for r in range(repeats):
        codes = np.full(n, -1)
        codes[seen] = make_folds(int(seen.sum()), folds=folds, seed=seed + r)
        out.append((codes, [*range(1, folds + 1)]))
    return out


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
        Random balanced partitions: ``repeats`` of them, each of ``folds``
        folds labelled 1..folds.
    fold_ids
        Fixed fold labels per individual (e.g. the folds a data set ships
        with), kept as given (see :func:`fold_labels`); then ``folds``,
        ``repeats`` and ``seed`` are not used. An individual without a label
        is never tested.
    params
        Options of the method (e.g. ``{"n_iter": 2000}`` for BayesB).
    top
        Fraction used for :func:`top_overlap`.
    progress
        Called with a line after each fold (its label, r, the elapsed time).

    Returns
    -------
    CVResult
        Per-fold and mean accuracy, bias, effective parameters, warnings, and
        out-of-fold predictions of the last repeat.
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
    partitions = _partitions(seen, fold_ids, folds, repeats, seed)
    start = time.perf_counter()
    results: list[FoldResult] = []
    pred_all = np.full(X.shape[0], np.nan)
    wlog = WarningLog()
    model: GenomicModel | None = None
    total = sum(len({int(c) for c in codes[seen] if c >= 0}) for codes, _ in partitions)
    with collected_warnings(wlog):
        for r, (codes, labels) in enumerate(partitions):
            pred_all[:] = np.nan
            for code in sorted({int(c) for c in codes[seen] if c >= 0}):
                label = labels[code]
                wlog.fold = label if len(partitions) == 1 else f"{r + 1}/{label}"
                test = (codes == code) & seen
                train = ~test & seen
                if test.sum() < 2:
                    raise InputError(f"fold {label} has fewer than 2 observed individuals")
                t0 = time.perf_counter()
                model = make_model(method, **params)
                model.fit(X[train], y[train], fixed=None if F is None else F[train], ploidy=ploidy)
                p_test = model.predict(X[test])
                offset = float(np.mean(y[train] - model.predict(X[train])))
                pred_all[test] = p_test
                obs = y[test]
                fr = FoldResult(
                    repeat=r, fold=label, n=int(test.sum()), r=pearson(p_test, obs),
                    rmse=float(np.sqrt(np.mean((p_test + offset - obs) ** 2))),
                    top_overlap=top_overlap(p_test, obs, fraction=top),
                    slope=slope(p_test, obs), seconds=round(time.perf_counter() - t0, 3),
                )  # fmt: skip
                results.append(fr)
                if progress:
                    progress(
                        f"{method} {trait}: fold {wlog.fold} ({len(results)}/{total}): "
                        f"r = {fr.r:.3f}, n = {fr.n}, {time.perf_counter() - start:.1f} s elapsed"
                    )
    mean_r, sd_r = summary([fr.r for fr in results])

    def key(fr: FoldResult) -> str:
        return str(fr.fold) if len(partitions) == 1 else f"{fr.repeat + 1}/{fr.fold}"

    return CVResult(
        method=method,
        trait=trait,
        n=int(seen.sum()),
        folds=results,
        mean_r=mean_r,
        sd_r=sd_r,
        mean_rmse=float(np.mean([fr.rmse for fr in results])),
        mean_top_overlap=float(np.mean([fr.top_overlap for fr in results])),
        seconds=time.perf_counter() - start,
        params=params,
        bias=summary([fr.slope for fr in results])[0],
        fold_r={key(fr): fr.r for fr in results},
        effective_params=effective_params(method, params, model),
        warnings=wlog.items(),
        predictions=pred_all.copy(),
    )
