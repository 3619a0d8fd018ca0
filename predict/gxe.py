"""G×E GBLUP: one model of several environments, a main genetic effect plus environment-specific deviations.

For the record of line i in environment j,

    y_ij = mu_j + g_i + ge_ij + e_ij,
    g ~ N(0, s2_g G),  ge ~ N(0, s2_ge I_e ⊗ G),  e ~ N(0, s2_e I),

i.e. over the records the main effect has covariance (Z G Z') = J ⊗ G on a
balanced design and the deviations (Z G Z') ⊙ (Z_e Z_e') = I_e ⊗ G
(Jarquín et al. 2014; Lopez-Cruz et al. 2015: the "M×E" model). G is
VanRaden's G of all lines (their genotypes are known; their phenotypes in a
test fold are not used). With K(w) = w K_main + (1 - w) K_dev, s2_g = w s2,
s2_ge = (1 - w) s2, the REML likelihood is profiled over delta = s2_e / s2 by
the eigendecomposition machinery of :mod:`predict.gblup` and maximised over w
(a grid, then Brent). When every training line is observed in every
environment, K(w) = A_w ⊗ G with A_w = w J + (1 - w) I, whose eigenvectors do
not depend on w: one decomposition of G serves every w.

Cross-validation schemes (Burgueño et al. 2012):

- CV1, new lines: a line's records in every environment are in the same fold
  (the line's fold); predicts lines never phenotyped.
- CV2, tested lines in new environments: the record of line i in environment
  j goes to fold (f_i + j) mod k, so each fold removes at most one record per
  line and a tested line is always seen in its other environments. Within an
  environment the test sets are exactly the line folds, so single-environment
  GBLUP on the line folds is the fair comparison (computed alongside).

References
----------
Burgueño J, de los Campos G, Weigel K, Crossa J (2012). Genomic prediction of
breeding values when modeling genotype × environment interaction using
pedigree and dense molecular markers. Crop Sci 52:707-719.
Jarquín D, Crossa J, Lacaze X, et al. (2014). A reaction norm model for
genomic selection using high-dimensional genomic and environmental data.
Theor Appl Genet 127:595-607.
Lopez-Cruz M, Crossa J, Bonnett D, et al. (2015). Increased prediction
accuracy in wheat breeding trials using a marker × environment interaction
genomic selection model. G3 5:569-582.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from breedhub.predict.base import check_genotypes
from breedhub.predict.cv import (
    WarningLog,
    collected_warnings,
    fold_labels,
    make_folds,
    pearson,
    slope,
    summary,
)
from breedhub.predict.exceptions import InputError
from breedhub.predict.gblup import Eigen, RemlFit, kernel_blup, reml
from breedhub.predict.relationship import centred_cross_product, scaling

SCHEMES = ("cv1", "cv2")


def genomic_g(X: np.ndarray, ploidy: int) -> np.ndarray:
    """VanRaden's G of all rows of X (centred on their allele frequencies)."""
    p = X.mean(axis=0, dtype=np.float64) / ploidy
    G = centred_cross_product(X, None, ploidy * p) / scaling(p, ploidy)
    return (G + G.T) / 2


@dataclass
class GxEFit:
    """REML fit of the G×E model on a set of records."""

    w: float  # s2_g / (s2_g + s2_ge)
    var_g: float
    var_ge: float
    var_e: float
    env_means: np.ndarray
    loglik: float
    lines: np.ndarray = field(repr=False)
    envs: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)  # K(w)^-1-type weights of the training records

    def summary(self) -> dict[str, float]:
        """The variance components, for reports."""
        return {"var_g": self.var_g, "var_ge": self.var_ge, "var_e": self.var_e, "w": self.w,
                "loglik": self.loglik}  # fmt: skip


def kernel(
    G: np.ndarray, la: np.ndarray, ea: np.ndarray, lb: np.ndarray, eb: np.ndarray, w: float
) -> np.ndarray:
    """w G[la, lb] + (1 - w) G[la, lb] ⊙ [ea == eb]: the records' genetic covariance over s2."""
    K = G[np.ix_(la, lb)]
    return K * (w + (1.0 - w) * (ea[:, None] == eb[None, :]))


def _env_design(envs: np.ndarray, n_env: int) -> np.ndarray:
    F = (envs[:, None] == np.arange(n_env)[None, :]).astype(float)
    return F[:, F.sum(axis=0) > 0]


class _Balanced:
    """Eigen of A_w ⊗ G_T for records ordered env-major on a complete lines × envs grid."""

    def __init__(self, G: np.ndarray, lines: np.ndarray, envs: np.ndarray, n_env: int):
        self.order = np.lexsort((lines, envs))  # env-major, then line
        self.line_set = np.unique(lines)
        eig = Eigen.of(G[np.ix_(self.line_set, self.line_set)], name="G", checked=True)
        e = n_env
        Q = np.linalg.qr(np.column_stack([np.ones(e), np.eye(e)[:, : e - 1]]))[0]
        Q[:, 0] = np.abs(Q[:, 0])  # the mean direction first, eigenvalue of J: e
        self.vectors = np.kron(Q, eig.vectors)
        self.s, self.e = eig.values, e
        self.ridge = eig.ridge

    def eigen(self, w: float) -> Eigen:
        a = np.full(self.e, 1.0 - w)
        a[0] += w * self.e
        return Eigen(values=np.kron(a, self.s), vectors=self.vectors, ridge=self.ridge)


def _balanced(lines: np.ndarray, envs: np.ndarray, n_env: int) -> bool:
    present = np.unique(envs)
    if len(present) != n_env or n_env < 2:
        return False
    cells = {(int(i), int(j)) for i, j in zip(lines, envs, strict=True)}
    return len(cells) == len(lines) == len(np.unique(lines)) * n_env


def fit_gxe(
    G: np.ndarray, lines: np.ndarray, envs: np.ndarray, y: np.ndarray, n_env: int
) -> GxEFit:
    """REML fit of the G×E model on records (line index into G, environment code, value).

    Raises
    ------
    InputError
        With fewer than 2 environments or too few records.
    """
    lines, envs, y = np.asarray(lines), np.asarray(envs), np.asarray(y, dtype=float)
    if len(np.unique(envs)) < 2:
        raise InputError("a G×E model needs records in at least 2 environments")
    F = _env_design(envs, n_env)
    if len(y) - F.shape[1] < 3:
        raise InputError(f"{len(y)} records for {F.shape[1]} environments: too few")
    if not _balanced(lines, envs, n_env):
        start = None
        ids, counts = np.unique(lines, return_counts=True)
        complete = np.isin(lines, ids[counts == n_env])
        if complete.sum() >= 10 * n_env and _balanced(lines[complete], envs[complete], n_env):
            sub = fit_gxe(G, lines[complete], envs[complete], y[complete], n_env)
            start = np.array([sub.var_g, sub.var_ge, sub.var_e])
        return _ai_reml(G, lines, envs, y, F, n_env, start=start)
    bal = _Balanced(G, lines, envs, n_env)
    o = bal.order
    lines, envs, y, F = lines[o], envs[o], y[o], F[o]
    cache: dict[float, RemlFit] = {}

    def nll(w: float) -> float:
        w = float(np.clip(w, 0.0, 1.0))
        if w not in cache:
            cache[w] = reml(bal.eigen(w), y, F)
        return -cache[w].loglik

    grid = [0.0, 0.25, 0.5, 0.75, 1.0]
    vals = [nll(w) for w in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 0.01})
    w = float(np.clip(best.x, 0, 1)) if best.fun < vals[i] else grid[i]
    nll(w)
    fit = cache[w]
    means = np.full(n_env, np.nan)
    means[np.unique(envs)] = fit.fixed
    return GxEFit(
        w=w, var_g=w * fit.var_g, var_ge=(1 - w) * fit.var_g, var_e=fit.var_e, env_means=means,
        loglik=fit.loglik, lines=lines, envs=envs, weights=fit.weights,
    )  # fmt: skip


def _reml_dense(
    theta: np.ndarray, Ks: list[np.ndarray], y: np.ndarray, F: np.ndarray
) -> dict[str, Any]:
    """REML log-likelihood, score, average information and P y of V = sum theta_i K_i (K_last = I)."""
    from scipy.linalg import cho_factor, cho_solve
    from scipy.linalg.lapack import dpotri

    V = sum(t * K for t, K in zip(theta[:-1], Ks, strict=True)) + theta[-1] * np.eye(len(y))
    try:
        c, low = cho_factor(V, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return {"loglik": -np.inf}
    Vi, info = dpotri(c, lower=1)
    if info != 0:
        return {"loglik": -np.inf}
    Vi = np.tril(Vi) + np.tril(Vi, -1).T
    ViF = Vi @ F
    FViF = F.T @ ViF
    cf = cho_factor(FViF, lower=True)
    P = Vi - ViF @ cho_solve(cf, ViF.T)
    Py = P @ y
    n, p = F.shape
    logdet_v = 2 * float(np.sum(np.log(np.diag(c))))
    logdet_f = 2 * float(np.sum(np.log(np.diag(cf[0]))))
    loglik = -0.5 * (logdet_v + logdet_f + float(y @ Py) + (n - p) * np.log(2 * np.pi))
    mats = [*Ks, None]
    KPy = [Py if K is None else K @ Py for K in mats]
    score = np.array([
        -0.5 * (np.trace(P) if K is None else float(np.sum(P * K))) + 0.5 * float(Py @ kp)
        for K, kp in zip(mats, KPy, strict=True)
    ])  # fmt: skip
    PKPy = [P @ kp for kp in KPy]
    ai = 0.5 * np.array([[float(a @ b) for b in PKPy] for a in KPy])
    b = cho_solve(cf, ViF.T @ y)
    return {"loglik": loglik, "score": score, "ai": ai, "Py": Py, "fixed": b}


def _ai_reml(
    G: np.ndarray,
    lines: np.ndarray,
    envs: np.ndarray,
    y: np.ndarray,
    F: np.ndarray,
    n_env: int,
    start: np.ndarray | None = None,
    max_iter: int = 30,
    tol: float = 1e-3,
) -> GxEFit:
    """Average-information REML (dense) of s2_g, s2_ge, s2_e for an unbalanced set of records."""
    K1 = G[np.ix_(lines, lines)]
    K2 = K1 * (envs[:, None] == envs[None, :])
    resid = y - F @ np.linalg.lstsq(F, y, rcond=None)[0]
    v = float(resid @ resid / max(len(y) - F.shape[1], 1))
    floor = 1e-6 * v
    theta = np.array([v / 3, v / 3, v / 3]) if start is None else np.maximum(start, floor)
    cur = _reml_dense(theta, [K1, K2], y, F)
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(cur["ai"], cur["score"])
        except np.linalg.LinAlgError:
            step = cur["score"] * theta**2 * 2 / len(y)  # an EM-like small step
        for _half in range(20):
            new_theta = np.maximum(theta + step, floor)
            new = _reml_dense(new_theta, [K1, K2], y, F)
            if new["loglik"] >= cur["loglik"] - 1e-8:
                break
            step = step / 2
        else:
            break
        gain = new["loglik"] - cur["loglik"]
        theta, cur = new_theta, new
        if abs(gain) < tol and np.max(np.abs(step)) < 1e-3 * v:
            break
    s2 = float(theta[0] + theta[1])
    means = np.full(n_env, np.nan)
    means[np.unique(envs)] = cur["fixed"]
    return GxEFit(
        w=float(theta[0] / s2) if s2 > 0 else 0.0, var_g=float(theta[0]), var_ge=float(theta[1]),
        var_e=float(theta[2]), env_means=means, loglik=float(cur["loglik"]), lines=lines, envs=envs,
        weights=s2 * cur["Py"],
    )  # fmt: skip


def predict_gxe(fit: GxEFit, G: np.ndarray, lines: np.ndarray, envs: np.ndarray) -> np.ndarray:
    """Genetic values g_i + ge_ij of records (line, environment), without the environment means."""
    return kernel(G, np.asarray(lines), np.asarray(envs), fit.lines, fit.envs, fit.w) @ fit.weights


def record_folds(line_codes: np.ndarray, n_env: int, k: int, scheme: str) -> np.ndarray:
    """Fold code of every (line, environment) cell from the lines' fold codes 0..k-1 (-1: never tested).

    Examples
    --------
    >>> record_folds(np.array([0, 1, 2]), 2, 3, "cv1").tolist()
    [[0, 0], [1, 1], [2, 2]]
    >>> record_folds(np.array([0, 1, 2]), 2, 3, "cv2").tolist()
    [[0, 1], [1, 2], [2, 0]]
    """
    if scheme not in SCHEMES:
        raise InputError(f"scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")
    codes = np.asarray(line_codes)[:, None] + np.zeros(n_env, dtype=np.int64)[None, :]
    if scheme == "cv2":
        if k < n_env:
            raise InputError(
                f"CV2 needs at least as many folds as environments ({n_env}), not {k}: "
                "a line's records must fall in different folds"
            )
        codes = np.where(codes >= 0, (codes + np.arange(n_env)[None, :]) % k, -1)
    return codes


@dataclass
class GxECVResult:
    """CV of the G×E model, with single-environment GBLUP on the same test records.

    ``env`` per environment: mean and SD over folds of r (G×E and single
    environment), per-fold r keyed by the fold labels, the bias (slope of
    observed on predicted) and the number of test records. ``mean_r`` and
    ``single_mean_r`` average the environments.
    """

    scheme: str
    environments: list[str]
    n_lines: int
    n_records: int
    env: dict[str, dict[str, Any]]
    mean_r: float
    single_mean_r: float
    variance_components: dict[str, float]
    seconds: float
    folds: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    method: str = "gxe-gblup"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gxe_cv(
    genotypes: Any,
    phenotypes: Any,
    *,
    ploidy: int,
    environments: Sequence[str] | None = None,
    scheme: str = "cv1",
    folds: int = 5,
    fold_ids: Any = None,
    seed: int = 0,
    single: bool = True,
    progress: Callable[[str], None] | None = None,
) -> GxECVResult:
    """Cross-validate the G×E GBLUP under CV1 or CV2.

    Parameters
    ----------
    genotypes
        (lines x markers) dosages.
    phenotypes
        (lines x environments) values, NaN where a line was not tested.
    environments
        Their names (default E1, E2, ...).
    scheme
        ``"cv1"`` (new lines) or ``"cv2"`` (tested lines, an environment missing).
    folds, fold_ids, seed
        The lines' folds: the user's labels (kept as given) or random ones.
    single
        Also fit single-environment GBLUP on the same test records.

    Returns
    -------
    GxECVResult
    """
    X = check_genotypes(genotypes, ploidy=ploidy)
    Y = np.asarray(phenotypes, dtype=float)
    if Y.ndim != 2 or Y.shape[0] != X.shape[0] or Y.shape[1] < 2:
        raise InputError(f"phenotypes must be lines x environments (at least 2), not {Y.shape}")
    n, e = Y.shape
    names = list(environments) if environments is not None else [f"E{j + 1}" for j in range(e)]
    if len(names) != e:
        raise InputError(f"{len(names)} environment names for {e} columns")
    seen = ~np.isnan(Y)
    tested = seen.any(axis=1)
    if fold_ids is not None:
        codes, labels = fold_labels(fold_ids, n)
    else:
        codes = np.full(n, -1)
        codes[tested] = make_folds(int(tested.sum()), folds=folds, seed=seed)
        labels = list(range(1, folds + 1))
    k = len(labels)
    rec = record_folds(codes, e, k, scheme)
    start = time.perf_counter()
    G = genomic_g(X, ploidy)
    li, ej = np.nonzero(seen)
    yv = Y[li, ej]
    rc = rec[li, ej]
    pred = np.full_like(yv, np.nan)
    pred1 = np.full_like(yv, np.nan)
    fold_rows, comps = [], []
    wlog = WarningLog()
    with collected_warnings(wlog):
        for c in sorted({int(v) for v in rc if v >= 0}):
            wlog.fold = labels[c]
            t0 = time.perf_counter()
            te, tr = rc == c, rc != c
            fit = fit_gxe(G, li[tr], ej[tr], yv[tr], e)
            pred[te] = predict_gxe(fit, G, li[te], ej[te])
            comps.append(fit.summary())
            if single:
                for j in range(e):
                    mask = ej == j
                    yj = np.full(n, np.nan)
                    yj[li[mask & tr]] = yv[mask & tr]
                    if (mask & te).any() and np.sum(~np.isnan(yj)) > 3:
                        pred1[mask & te] = kernel_blup(G, yj).gebv[li[mask & te]]
            row: dict[str, Any] = {"fold": labels[c], "seconds": round(time.perf_counter() - t0, 3),
                                   **{k2: round(v, 6) for k2, v in fit.summary().items()}}  # fmt: skip
            for j, name in enumerate(names):
                m = te & (ej == j)
                row[name] = {"n": int(m.sum()), "r": pearson(pred[m], yv[m]) if m.sum() > 2 else float("nan"),
                             "single_r": pearson(pred1[m], yv[m]) if single and m.sum() > 2 else None}  # fmt: skip
            fold_rows.append(row)
            if progress:
                shown = ", ".join(f"{nm} {row[nm]['r']:.3f}" for nm in names)
                progress(f"gxe {scheme}: fold {labels[c]} ({len(fold_rows)}/{k}): r {shown}; "
                         f"{time.perf_counter() - start:.1f} s elapsed")  # fmt: skip
    env_out: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(names):
        rs = [row[name]["r"] for row in fold_rows]
        r1 = [row[name]["single_r"] for row in fold_rows] if single else []
        m = (ej == j) & (rc >= 0)
        slopes = [slope(pred[m & (rc == c)], yv[m & (rc == c)]) for c in {int(v) for v in rc[m]}]
        env_out[name] = {
            "mean_r": summary(rs)[0], "sd_r": summary(rs)[1],
            "fold_r": {str(row["fold"]): row[name]["r"] for row in fold_rows},
            "single_mean_r": summary([v for v in r1 if v is not None])[0] if single else None,
            "single_sd_r": summary([v for v in r1 if v is not None])[1] if single else None,
            "bias": summary(slopes)[0], "n_test": int(m.sum()),
        }  # fmt: skip
    return GxECVResult(
        scheme=scheme, environments=names, n_lines=int(tested.sum()), n_records=int(seen.sum()),
        env=env_out, mean_r=summary([v["mean_r"] for v in env_out.values()])[0],
        single_mean_r=summary([v["single_mean_r"] for v in env_out.values()])[0] if single else float("nan"),
        variance_components={k2: float(np.mean([c[k2] for c in comps])) for k2 in comps[0]} if comps else {},
        seconds=time.perf_counter() - start, folds=fold_rows, warnings=wlog.items(),
    )  # fmt: skip
