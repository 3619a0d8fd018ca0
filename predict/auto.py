"""Model choice by nested cross-validation (``--method auto``) within a time budget.

For one trait, outer folds (the user's fold labels when given, else k random
folds) hold out test individuals; inside each outer training set an inner
k-fold CV scores every candidate method of the registry and picks the one with
the highest mean inner r. That choice is then fitted on the outer training set
and tested on the outer fold, so the outer r is the accuracy of the whole
procedure (choice included), not of the method that happened to win on the
test folds. Finally the same inner search on all phenotyped individuals picks
the method of the final model.

The search is bounded by a time budget and spends it where it pays:

- the genotypes are read once; GBLUP runs from one cross-product X X' computed
  once for all folds (each fold's centred G is derived from it in O(n^2));
- candidates run cheapest first (GBLUP, RKHS with one kernel, RKHS with kernel
  averaging, then the Gibbs samplers); GBLUP always runs, every other method
  only when its estimated inner CV time (from its measured time per fit, or a
  prior multiple of GBLUP's) fits in the search's share of the budget left
  (the budget left divided by the searches left);
- racing: after at least :data:`RACE_MIN_FOLDS` inner folds, a method whose
  paired deficit to the leader (mean over the inner folds run so far of
  r_leader - r_method) exceeds both :data:`RACE_MARGIN` and two standard
  errors is dropped: it could not plausibly win;
- a method stopped by the budget before its last inner fold is not chosen
  (only methods scored on every inner fold compete).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from breedhub.predict.base import check_genotypes, check_phenotypes
from breedhub.predict.cv import (
    WarningLog,
    collected_warnings,
    effective_params,
    fold_labels,
    make_folds,
    pearson,
    slope,
    summary,
    top_overlap,
)
from breedhub.predict.exceptions import InputError
from breedhub.predict.gblup import Eigen, reml
from breedhub.predict.methods import METHODS, make_model
from breedhub.predict.relationship import scaling

#: Inner folds needed before a method may be dropped by the racing rule.
RACE_MIN_FOLDS = 2
#: Smallest paired deficit in r to the leader that drops a method.
RACE_MARGIN = 0.02
#: Longest budget accepted (a week).
MAX_BUDGET_S = 7 * 24 * 3600


def parse_budget(text: str) -> float:
    """Seconds of a budget written as ``90s``, ``10m`` or ``1h`` (whole numbers, at most a week).

    Raises
    ------
    InputError
        For anything else (``10x``, ``-1m``, ``1.5h``, ``999999h``), in one line.

    Examples
    --------
    >>> parse_budget("90s"), parse_budget("10m"), parse_budget("1h")
    (90.0, 600.0, 3600.0)
    """
    raw = str(text).strip()
    m = re.fullmatch(r"([0-9]{1,7})([smh])", raw)
    if not m:
        raise InputError(
            f"budget {raw[:20]!r}: use a whole number of seconds, minutes or hours, e.g. 90s, 10m, 1h"
        )
    seconds = float(int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)])
    if not 1 <= seconds <= MAX_BUDGET_S:
        raise InputError(f"budget {raw!r}: must be between 1s and {MAX_BUDGET_S // 3600}h")
    return seconds


@dataclass(frozen=True)
class Candidate:
    """A method (and options) competing in the search; ``cost`` is a prior multiple of GBLUP's time per fit."""

    name: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    cost: float = 1.0


def _slow_on_cpu(method: Any) -> bool:
    """Whether the registry marks a method as not worth its time on a CPU (the nets, issue 15)."""
    for attr in ("slow_on_cpu", "cpu_slow", "needs_gpu"):
        if hasattr(method, attr):
            return bool(getattr(method, attr))
    return method.name in ("mlp", "cnn")


def _gpu() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover - torch is a dependency
        return False


#: Prior cost per fit relative to GBLUP (used until a method's own time is measured).
_COST = {"gblup": 1.0, "rrblup": 1.0, "rkhs": 20.0, "bayesb": 150.0, "bayescpi": 150.0,
         "bl": 150.0, "mlp": 300.0, "cnn": 600.0}  # fmt: skip


def default_candidates(*, include_slow: bool | None = None) -> list[Candidate]:
    """The registry's methods as ``auto`` candidates, cheapest first.

    GBLUP (rrBLUP is the same model), RKHS with one kernel and with kernel
    averaging, the Gibbs samplers, and the nets only where the registry says
    they are worth their time on this machine (``include_slow`` forces it).
    Option sets and relative costs come from the registry
    (``Method.candidates``, ``Method.cost``) where it has them.
    """
    out = []
    for m in METHODS:
        if m.name == "rrblup":
            continue
        if _slow_on_cpu(m) and not (_gpu() if include_slow is None else include_slow):
            continue
        cost = float(getattr(m, "cost", None) or _COST.get(m.name, 100.0))
        option_sets = dict(getattr(m, "candidates", None) or {"default": {}})
        if m.name == "rkhs" and len(option_sets) == 1:
            option_sets["one kernel"] = _one_kernel(m.defaults)
        for label, params in option_sets.items():
            params = dict(params)
            if not params:
                out.append(Candidate(m.name, m.name, {}, cost))
            else:
                one = m.name == "rkhs" and label == "one kernel"
                name = f"{m.name}-1k" if one else f"{m.name}-{str(label).replace(' ', '-')}"
                out.append(Candidate(name, m.name, params, cost / 2 if one else cost))
    return sorted(out, key=lambda c: c.cost)


def _one_kernel(defaults: Any) -> dict[str, Any]:
    """RKHS options for one Gaussian kernel (the registry's option when it has one)."""
    if "kernels" in defaults:
        return {"kernels": 1}
    if "single" in defaults:
        return {"single": True}
    bw = tuple(defaults.get("bandwidths", (0.25,)))
    return {"bandwidths": (bw[len(bw) // 2],)}


def candidates_named(names: Sequence[str]) -> list[Candidate]:
    """The default candidates with these names (e.g. ``["gblup", "rkhs"]``), cheapest first."""
    every = {c.name: c for c in default_candidates(include_slow=True)}
    unknown = [n for n in names if n not in every]
    if unknown:
        raise InputError(
            f"unknown auto candidates {', '.join(unknown)}; choose from {', '.join(every)}"
        )
    return sorted((every[n] for n in dict.fromkeys(names)), key=lambda c: c.cost)


class _Shared:
    """The data of one trait, read once: genotypes, phenotypes, X X' for GBLUP, fit times."""

    def __init__(self, X: np.ndarray, y: np.ndarray, ploidy: int):
        self.X, self.y, self.ploidy = X, y, ploidy
        X64 = X.astype(np.float64)
        self.XX = X64 @ X64.T
        self.times: dict[str, list[float]] = {}

    def gblup(self, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """GBLUP trained on ``train`` predicting ``test``: as :class:`predict.gblup.GBLUP`, from X X'."""
        X, XX = self.X, self.XX
        c = X[train].mean(axis=0, dtype=np.float64)  # ploidy * p
        denom = scaling(c / self.ploidy, self.ploidy)
        a_all = X.astype(np.float64) @ c if X.shape[0] < 4 * len(train) else None
        a_tr = a_all[train] if a_all is not None else X[train].astype(np.float64) @ c
        a_te = a_all[test] if a_all is not None else X[test].astype(np.float64) @ c
        cc = float(c @ c)
        G = (XX[np.ix_(train, train)] - a_tr[:, None] - a_tr[None, :] + cc) / denom
        G = (G + G.T) / 2
        fit = reml(Eigen.of(G, name="G", checked=True), self.y[train], np.ones((len(train), 1)))
        G_st = (XX[np.ix_(test, train)] - a_te[:, None] - a_tr[None, :] + cc) / denom
        return np.asarray(G_st @ fit.weights)

    def predict(self, cand: Candidate, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        if cand.method in ("gblup", "rrblup") and not cand.params:
            pred = self.gblup(train, test)
        else:
            model = make_model(cand.method, **cand.params)
            model.fit(self.X[train], self.y[train], ploidy=self.ploidy)
            pred = np.asarray(model.predict(self.X[test]), dtype=np.float64)
        self.times.setdefault(cand.name, []).append(time.perf_counter() - t0)
        return pred

    def fit_time(self, cand: Candidate) -> float:
        own = self.times.get(cand.name)
        if own:
            return float(np.mean(own[-5:]))
        base = self.times.get("gblup") or [0.01]
        return float(np.mean(base)) * cand.cost


@dataclass
class MethodScore:
    """A candidate's inner CV in one search: r per inner fold, and how the search treated it."""

    name: str
    fold_r: list[float]
    status: str  # "complete", "dropped: ...", "skipped: ...", "stopped: ..."
    seconds: float

    @property
    def mean_r(self) -> float:
        return summary(self.fold_r)[0]


@dataclass
class Search:
    """One inner search: every candidate's scores and the winner."""

    chosen: str
    scores: dict[str, MethodScore]
    n: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen, "n": self.n, "seconds": round(self.seconds, 3),
            "inner": {k: {"mean_r": s.mean_r, "fold_r": s.fold_r, "status": s.status,
                          "seconds": round(s.seconds, 3)} for k, s in self.scores.items()},
        }  # fmt: skip


def _deficit_too_large(leader: list[float], mine: list[float]) -> bool:
    """The racing rule: paired deficit > RACE_MARGIN and > 2 standard errors."""
    j = len(mine)
    if j < RACE_MIN_FOLDS:
        return False
    d = np.asarray(leader[:j]) - np.asarray(mine)
    d = d[np.isfinite(d)]
    if d.size < RACE_MIN_FOLDS:
        return False
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    return float(d.mean()) > max(RACE_MARGIN, 2 * se)


def search(
    shared: _Shared,
    rows: np.ndarray,
    candidates: Sequence[Candidate],
    *,
    inner_folds: int,
    seed: int,
    deadline: float,
) -> Search:
    """Inner CV over ``candidates`` on ``rows`` (observed individuals only); the winner by mean inner r.

    ``rows`` are the only individuals used: the inner folds split them, so a
    test fold outside them is never seen. The first candidate always runs;
    the others as the deadline and the racing rule allow (module docstring).
    """
    start = time.perf_counter()
    codes = make_folds(len(rows), folds=inner_folds, seed=seed)
    splits = [(rows[codes != k], rows[codes == k]) for k in range(inner_folds)]
    scores: dict[str, MethodScore] = {}
    leader: MethodScore | None = None
    for i, cand in enumerate(candidates):
        t0 = time.perf_counter()
        score = MethodScore(cand.name, [], "complete", 0.0)
        scores[cand.name] = score
        need = shared.fit_time(cand)
        if i > 0 and time.perf_counter() + RACE_MIN_FOLDS * need > deadline:
            score.status = (
                f"skipped: budget ({RACE_MIN_FOLDS} fits need ~{RACE_MIN_FOLDS * need:.1f} s)"
            )
            continue
        for train, test in splits:
            if i > 0 and score.fold_r and time.perf_counter() + shared.fit_time(cand) > deadline:
                score.status = (
                    f"stopped: budget after {len(score.fold_r)} of {inner_folds} inner folds"
                )
                break
            score.fold_r.append(pearson(shared.predict(cand, train, test), shared.y[test]))
            if leader is not None and _deficit_too_large(leader.fold_r, score.fold_r):
                lead = np.mean(leader.fold_r[: len(score.fold_r)])
                score.status = (
                    f"dropped after {len(score.fold_r)} inner folds: mean r {score.mean_r:.3f} "
                    f"vs {leader.name}'s {lead:.3f} on the same folds"
                )
                break
        score.seconds = time.perf_counter() - t0
        if score.status == "complete" and (leader is None or score.mean_r > leader.mean_r):
            leader = score
    assert leader is not None
    return Search(leader.name, scores, len(rows), time.perf_counter() - start)


@dataclass
class OuterFold:
    """One outer fold: the method the inner search chose, and its accuracy on the held-out fold."""

    fold: int | str
    n: int
    chosen: str
    r: float
    slope: float
    rmse: float
    top_overlap: float
    seconds: float
    search: dict[str, Any]


@dataclass
class AutoResult:
    """Nested cross-validation of the ``auto`` procedure on one trait.

    ``mean_r``/``sd_r``/``bias``/``fold_r`` are the outer figures (the
    accuracy of choosing and fitting); ``final`` is the search on all data
    (the method of the final model, with its options); ``inner`` each
    method's mean inner r over the searches that scored it fully, and how
    often it was chosen, skipped or dropped.
    """

    trait: str
    n: int
    folds: list[OuterFold]
    mean_r: float
    sd_r: float
    bias: float
    mean_rmse: float
    mean_top_overlap: float
    fold_r: dict[str, float]
    final: dict[str, Any]
    inner: dict[str, dict[str, Any]]
    candidates: list[dict[str, Any]]
    inner_folds: int
    budget_s: float | None
    seconds: float
    notes: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    method: str = "auto"
    predictions: np.ndarray | None = field(default=None, repr=False)

    @property
    def chosen(self) -> Candidate:
        """The candidate of the final model."""
        return Candidate(self.final["name"], self.final["method"], dict(self.final["params"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the predictions."""
        d = asdict(self)
        d.pop("predictions")
        return d


def _tally(searches: list[Search], candidates: Sequence[Candidate]) -> dict[str, dict[str, Any]]:
    out = {}
    for c in candidates:
        full = [s.scores[c.name].mean_r for s in searches if s.scores[c.name].status == "complete"]
        statuses = [s.scores[c.name].status.split(":")[0].split(" ")[0] for s in searches]
        out[c.name] = {
            "method": c.method, "params": effective_params(c.method, c.params),
            "mean_inner_r": summary(full)[0] if full else None,
            "chosen": sum(s.chosen == c.name for s in searches),
            **{k: statuses.count(k) for k in ("complete", "dropped", "skipped", "stopped")},
        }  # fmt: skip
    return out


def nested_cv(
    genotypes: Any,
    phenotypes: Any,
    *,
    ploidy: int,
    candidates: Sequence[Candidate] | None = None,
    folds: int = 5,
    fold_ids: Any = None,
    inner_folds: int = 5,
    budget_s: float | None = None,
    seed: int = 0,
    trait: str = "trait",
    top: float = 0.1,
    final: bool = True,
    progress: Callable[[str], None] | None = None,
) -> AutoResult:
    """Choose a method per trait by inner CV; the outer CV measures the whole procedure.

    Parameters
    ----------
    genotypes, phenotypes, ploidy
        As :func:`predict.cv.cross_validate`.
    candidates
        The methods competing (default :func:`default_candidates`); the
        first one always runs (the floor under any budget).
    folds, fold_ids, seed
        Outer folds: the user's labels (kept as given) or ``folds`` random ones.
    inner_folds
        Random folds of each inner search.
    budget_s
        Seconds for the whole procedure (None: no limit); 0 runs the first
        candidate only.
    final
        Also search on all phenotyped individuals for the final model's method.
    progress
        Called with a line after each outer fold.

    Returns
    -------
    AutoResult
    """
    X = check_genotypes(genotypes, ploidy=ploidy)
    y = check_phenotypes(phenotypes, X.shape[0])
    cands = list(candidates) if candidates is not None else default_candidates()
    if not cands:
        raise InputError("no candidate methods")
    if budget_s is not None and not 0 <= budget_s <= MAX_BUDGET_S:
        raise InputError(f"budget must be between 0 and {MAX_BUDGET_S} seconds, not {budget_s}")
    seen = ~np.isnan(y)
    if fold_ids is not None:
        codes, labels = fold_labels(fold_ids, X.shape[0])
    else:
        codes = np.full(X.shape[0], -1)
        codes[seen] = make_folds(int(seen.sum()), folds=folds, seed=seed)
        labels = list(range(1, folds + 1))
    outer = sorted({int(c) for c in codes[seen] if c >= 0})
    for c in outer:
        if int(((codes == c) & seen).sum()) < 2:
            raise InputError(f"fold {labels[c]} has fewer than 2 observed individuals")
    min_train = int(seen.sum()) - max(int(((codes == c) & seen).sum()) for c in outer)
    if not 2 <= inner_folds <= min_train // 3:
        raise InputError(f"inner_folds must be between 2 and {min_train // 3}, not {inner_folds}")
    start = time.perf_counter()
    end = None if budget_s is None else start + budget_s
    shared = _Shared(X, y, ploidy)
    wlog = WarningLog()
    pred_all = np.full(X.shape[0], np.nan)
    results: list[OuterFold] = []
    searches: list[Search] = []
    n_searches = len(outer) + int(final)
    with collected_warnings(wlog):
        for i, c in enumerate(outer):
            wlog.fold = labels[c]
            t0 = time.perf_counter()
            test = np.flatnonzero((codes == c) & seen)
            train = np.flatnonzero((codes != c) & seen)
            deadline = np.inf if end is None else t0 + (end - t0) / (n_searches - i)
            s = search(
                shared, train, cands, inner_folds=inner_folds, seed=seed + 1 + i, deadline=deadline
            )
            searches.append(s)
            best = next(k for k in cands if k.name == s.chosen)
            p = shared.predict(best, train, test)
            pred_all[test] = p
            obs = y[test]
            offset = float(
                np.mean(y[train]) - np.mean(p)
            )  # RMSE of predictions centred on the training mean
            fo = OuterFold(
                fold=labels[c], n=len(test), chosen=s.chosen, r=pearson(p, obs), slope=slope(p, obs),
                rmse=float(np.sqrt(np.mean((p + offset - obs) ** 2))),
                top_overlap=top_overlap(p, obs, fraction=top),
                seconds=round(time.perf_counter() - t0, 3), search=s.to_dict(),
            )  # fmt: skip
            results.append(fo)
            if progress:
                inner = ", ".join(
                    f"{k} {v.mean_r:.3f}"
                    if v.status == "complete"
                    else f"{k} {v.status.split(':')[0]}"
                    for k, v in s.scores.items()
                )
                progress(
                    f"auto {trait}: outer fold {labels[c]} ({i + 1}/{len(outer)}): chose {s.chosen} "
                    f"(inner r: {inner}); outer r = {fo.r:.3f}, {time.perf_counter() - start:.1f} s elapsed"
                )
        final_search = None
        if final:
            wlog.fold = None
            rows = np.flatnonzero(seen)
            # The final model's search gets at least an average outer search's time (a small
            # overrun of the budget rather than a final choice made on less evidence).
            spent = float(np.mean([x.seconds for x in searches])) if searches and budget_s else 0.0
            deadline = np.inf if end is None else max(end, time.perf_counter() + spent)
            final_search = search(
                shared, rows, cands, inner_folds=inner_folds, seed=seed, deadline=deadline
            )
            searches.append(final_search)
            if progress:
                progress(f"auto {trait}: on all data chose {final_search.chosen}, "
                         f"{time.perf_counter() - start:.1f} s elapsed")  # fmt: skip
    rs = [f.r for f in results]
    mean_r, sd_r = summary(rs)
    chosen_final = next(k for k in cands if k.name == (final_search or searches[-1]).chosen)
    tally = _tally(searches, cands)
    notes = []
    for name, t in tally.items():
        if t["skipped"] or t["stopped"]:
            notes.append(f"{name}: not fully scored in {t['skipped'] + t['stopped']} of "
                         f"{len(searches)} searches (time budget)")  # fmt: skip
        if t["dropped"]:
            notes.append(f"{name}: dropped in {t['dropped']} of {len(searches)} searches "
                         f"(inner r clearly below the leader's)")  # fmt: skip
    if all(t["complete"] == 0 for n, t in tally.items() if n != cands[0].name) and len(cands) > 1:
        notes.insert(0, f"the budget allowed {cands[0].name} only")
    return AutoResult(
        trait=trait,
        n=int(seen.sum()),
        folds=results,
        mean_r=mean_r,
        sd_r=sd_r,
        bias=summary([f.slope for f in results])[0],
        mean_rmse=float(np.mean([f.rmse for f in results])),
        mean_top_overlap=float(np.mean([f.top_overlap for f in results])),
        fold_r={str(f.fold): f.r for f in results},
        final={
            "name": chosen_final.name,
            "method": chosen_final.method,
            "params": dict(chosen_final.params),
            "effective_params": effective_params(chosen_final.method, dict(chosen_final.params)),
            "search": final_search.to_dict() if final_search else None,
        },  # fmt: skip
        inner=tally,
        candidates=[{"name": k.name, "method": k.method, "params": dict(k.params)} for k in cands],
        inner_folds=inner_folds,
        budget_s=budget_s,
        seconds=time.perf_counter() - start,
        notes=notes,
        warnings=wlog.items(),
        predictions=pred_all,
    )
