"""GBLUP with REML variance components from one eigendecomposition.

The mixed model y = F b + u + e with u ~ N(0, s2g K), e ~ N(0, s2e I) is
rotated by the eigenvectors of K (K = U S U'), after which the REML
likelihood of delta = s2e / s2g costs O(n p^2) per evaluation (Kang et al.
2008, EMMA; Lippert et al. 2011, FaST-LMM). The one O(n^3)
eigendecomposition serves every trait observed on the same individuals
(:func:`fit_traits`) and every delta the optimiser tries.

The same machinery takes any relationship matrix: the genomic G (GBLUP), the
pedigree A (pedigree BLUP) or the single-step H (ssGBLUP); see
:func:`kernel_blup`. For G, BLUP of marker effects (rrBLUP) comes by
back-solving: beta = Z' (K + delta I)^-1 r / (k sum p(1-p)).

References
----------
Kang HM, Zaitlen NA, Wade CM, et al. (2008). Efficient control of population
structure in model organism association mapping. Genetics 178:1709-1723.
Lippert C, Listgarten J, Liu Y, et al. (2011). FaST linear mixed models for
genome-wide association studies. Nat Methods 8:833-835.
VanRaden PM (2008). J Dairy Sci 91:4414-4423.
Henderson CR (1975). Best linear unbiased estimation and prediction under a
selection model. Biometrics 31:423-447 (prediction error variances).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from breedhub.base.checks import check_ploidy
from breedhub.predict.base import GenomicModel, check_fixed, check_genotypes, check_phenotypes
from breedhub.predict.exceptions import InputError
from breedhub.predict.relationship import centred_cross_product, scaling

log = logging.getLogger(__name__)

LOG_DELTA_RANGE = (-10.0, 10.0)
SMALL = 1500  # below this order, one BLAS thread decomposes faster than several


@contextmanager
def _blas_threads(n: int) -> Iterator[None]:
    """One BLAS thread for small matrices: threads only add overhead there (10x under load)."""
    if n >= SMALL:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass
class Eigen:
    """Eigendecomposition of a relationship matrix, shared by every trait."""

    values: np.ndarray
    vectors: np.ndarray
    ridge: float = 0.0

    @classmethod
    def of(
        cls, K: np.ndarray, *, name: str = "relationship matrix", checked: bool = False
    ) -> Eigen:
        """Decompose a symmetric K; a small ridge is added (and logged) if K is not PSD.

        Raises
        ------
        InputError
            If K is not square and symmetric, or has non-finite values.
        """
        K = np.asarray(K, dtype=np.float64)
        if K.ndim != 2 or K.shape[0] != K.shape[1]:
            raise InputError(f"{name} must be square, not shape {K.shape}")
        scale = max(float(np.abs(K).max()), 1e-12)
        if not checked:  # a G built and symmetrised here needs no second look
            if not np.isfinite(scale):
                raise InputError(f"{name} has missing or infinite values")
            if not np.allclose(K, K.T, atol=1e-8 * scale):
                raise InputError(f"{name} is not symmetric")
        with _blas_threads(K.shape[0]):
            values, vectors = np.linalg.eigh(K)
        ridge = 0.0
        # Products in float32 (large genotype matrices) leave eigenvalues of up to
        # about -1e-4 * scale on a PSD matrix: clip those silently; anything more
        # negative is a matrix that is not PSD.
        if values[0] < -1e-3 * scale:
            ridge = -values[0] + 1e-6 * scale
            log.warning(
                "%s is not positive semi-definite (smallest eigenvalue %.3g): adding a ridge of "
                "%.3g to its diagonal",
                name,
                values[0],
                ridge,
            )
        values = np.clip(values + ridge, 0.0, None)
        return cls(values=values, vectors=vectors, ridge=ridge)


@dataclass
class RemlFit:
    """REML estimates for one trait."""

    delta: float
    var_g: float
    var_e: float
    fixed: np.ndarray
    loglik: float
    h2: float
    weights: np.ndarray = field(repr=False)  # (K + delta I)^-1 (y - F b), in the original space


def _reml_parts(
    log_delta: float, s: np.ndarray, ys: np.ndarray, Fs: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray]:
    d = s + np.exp(log_delta)
    w = 1.0 / d
    FtDF = Fs.T @ (Fs * w[:, None])
    FtDy = Fs.T @ (ys * w)
    b = np.linalg.solve(FtDF, FtDy)
    r = ys - Fs @ b
    n, p = Fs.shape
    sigma = float(r @ (r * w)) / (n - p)
    _, logdet_f = np.linalg.slogdet(FtDF)
    nll = 0.5 * ((n - p) * np.log(sigma) + np.sum(np.log(d)) + logdet_f)
    return nll, sigma, b, r * w


def reml(eig: Eigen, y: np.ndarray, fixed: np.ndarray) -> RemlFit:
    """REML variance components and BLUE of the fixed effects for one trait.

    Parameters
    ----------
    eig
        Eigendecomposition of the relationship matrix of these individuals.
    y
        Phenotypes (no missing values).
    fixed
        Fixed-effect design with an intercept.
    """
    U, s = eig.vectors, eig.values
    n, p = fixed.shape
    if n - p < 2:
        raise InputError(f"{n} observations for {p} fixed effects: too few to estimate variances")
    ys, Fs = U.T @ y, U.T @ fixed
    grid = np.linspace(*LOG_DELTA_RANGE, 41)
    nlls = [_reml_parts(g, s, ys, Fs)[0] for g in grid]
    i = int(np.argmin(nlls))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best = minimize_scalar(
        lambda g: _reml_parts(g, s, ys, Fs)[0], bounds=(lo, hi), method="bounded",
        options={"xatol": 1e-6},
    )  # fmt: skip
    log_delta = float(best.x) if best.fun <= nlls[i] else float(grid[i])
    nll, var_g, b, wr = _reml_parts(log_delta, s, ys, Fs)
    delta = float(np.exp(log_delta))
    var_e = delta * var_g
    mean_diag = float(
        np.mean(s)
    )  # = trace(K) / n: the average genetic variance is var_g * mean diag
    h2 = var_g * mean_diag / (var_g * mean_diag + var_e)
    if log_delta in LOG_DELTA_RANGE:
        log.warning("REML reached the edge of its range (delta=%.3g): h2 is near 0 or 1", delta)
    loglik = -nll - 0.5 * (n - p) * (1 + np.log(2 * np.pi))
    return RemlFit(delta, var_g, var_e, b, float(loglik), h2, weights=U @ wr)


def _reliability(
    B: np.ndarray, diag_k: np.ndarray, eig: Eigen, fit: RemlFit, fixed: np.ndarray
) -> np.ndarray:
    """1 - PEV / (var_g K_ii) from the training solution (Henderson 1975).

    ``B`` is K[rows, train] @ U for the rows wanted (U S for the training rows
    themselves), ``diag_k`` their K_ii and ``fixed`` the training design.
    """
    U, s = eig.vectors, eig.values
    w = 1.0 / (s + fit.delta)
    Fs = U.T @ fixed
    M = np.linalg.inv(Fs.T @ (Fs * w[:, None]))
    A = (B * w) @ Fs  # K V*^-1 F for these rows
    quad = np.einsum("ij,ij->i", B * w, B) - np.einsum("ij,jk,ik->i", A, M, A)
    return np.clip(1.0 - (diag_k - quad) / diag_k, 0.0, 1.0)


@dataclass
class BlupResult:
    """BLUP of every individual of a relationship matrix."""

    gebv: np.ndarray
    reliability: np.ndarray
    reml: RemlFit


def kernel_blup(K: Any, phenotypes: Any, *, fixed: Any = None) -> BlupResult:
    """BLUP of genetic values for every individual of K, phenotyped or not.

    Parameters
    ----------
    K
        (n x n) relationship matrix over all individuals: G, the pedigree A,
        or the single-step H.
    phenotypes
        n values; NaN for individuals without a phenotype (they are predicted).
    fixed
        Fixed-effect design (n x p), intercept added; only rows with a
        phenotype are used.

    Returns
    -------
    BlupResult
        GEBVs and reliabilities (1 - PEV / (var_g K_ii)) for all n individuals.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> Z = rng.normal(size=(60, 200)); K = Z @ Z.T / 200
    >>> y = Z @ rng.normal(size=200) * 0.1 + rng.normal(size=60); y[:5] = np.nan
    >>> res = kernel_blup(K, y)
    >>> res.gebv.shape, bool(np.all((res.reliability >= 0) & (res.reliability <= 1)))
    ((60,), True)
    """
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise InputError(f"K must be square, not shape {K.shape}")
    y = check_phenotypes(phenotypes, K.shape[0])
    F = check_fixed(fixed, K.shape[0])
    t = ~np.isnan(y)
    eig = Eigen.of(K[np.ix_(t, t)])
    fit = reml(eig, y[t], F[t])
    gebv = K[:, t] @ fit.weights
    rel = _reliability(K[:, t] @ eig.vectors, np.diag(K) + eig.ridge * t, eig, fit, F[t])
    return BlupResult(gebv=gebv, reliability=rel, reml=fit)


class GBLUP(GenomicModel):
    """Genomic BLUP on VanRaden's G with REML variance components.

    Also yields rrBLUP marker effects (:attr:`marker_effects_`): predictions
    for new genotypes are ``(X - k p) @ marker_effects_``, identical to BLUP
    through the cross-relationship.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 3, size=(200, 400)); b = rng.normal(size=400) * 0.1
    >>> y = X @ b + rng.normal(size=200)
    >>> m = GBLUP().fit(X[:150], y[:150], ploidy=2)
    >>> r = np.corrcoef(m.predict(X[150:]), X[150:] @ b)[0, 1]
    >>> bool(r > 0.5), 0 < m.info_["h2"] < 1
    (True, True)
    """

    method = "gblup"

    def _fit(self, X: np.ndarray, y: np.ndarray, fixed: np.ndarray) -> None:
        ploidy = check_ploidy(self.ploidy)  # required: never a diploid guess
        p = X.mean(axis=0, dtype=np.float64) / ploidy
        denom = scaling(p, ploidy)
        G = centred_cross_product(X, None, ploidy * p) / denom
        G = (G + G.T) / 2
        eig = Eigen.of(G, name="G", checked=True)
        fit = reml(eig, y, fixed)
        self._set(fit, X, p, denom, ploidy)
        self.train_reliability_ = _reliability(
            eig.vectors * eig.values, np.diag(G) + eig.ridge, eig, fit, fixed
        )
        self.train_gebv_ = G @ fit.weights

    def _set(self, fit: RemlFit, X: np.ndarray, p: np.ndarray, denom: float, ploidy: int) -> None:
        centre = ploidy * p
        wx = fit.weights.astype(X.dtype)
        self.marker_effects_ = (X.T @ wx).astype(np.float64) - centre * float(fit.weights.sum())
        self.marker_effects_ /= denom
        self.centre_ = centre
        self.fixed_effects_ = fit.fixed
        self.info_.update(
            var_g=fit.var_g, var_e=fit.var_e, h2=fit.h2, delta=fit.delta, loglik=fit.loglik,
            fixed_effects=[float(v) for v in fit.fixed],
        )  # fmt: skip

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return (X @ self.marker_effects_.astype(X.dtype)).astype(np.float64) - float(
            self.centre_ @ self.marker_effects_
        )

    def state(self) -> dict[str, np.ndarray]:
        return {"marker_effects": self.marker_effects_, "centre": self.centre_}

    @classmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> GBLUP:
        m = cls(**params)
        m.marker_effects_, m.centre_ = state["marker_effects"], state["centre"]
        return m


class RRBLUP(GBLUP):
    """Ridge-regression BLUP: the marker-effect view of :class:`GBLUP` (same predictions)."""

    method = "rrblup"


def blup_candidates(
    genotypes: Any, phenotypes: Any, *, ploidy: int, method: str = "gblup"
) -> tuple[GBLUP, BlupResult]:
    """GBLUP over every candidate: G of all genotyped individuals, phenotyped or not.

    The relationship matrix is centred on the allele frequencies of all
    candidates (as breeders rank them), REML runs on the phenotyped ones, and
    every candidate gets a GEBV and a reliability. The returned model's
    marker effects reproduce exactly those GEBVs (``model.predict(genotypes)
    == result.gebv``), so a saved model and the published GEBVs agree.

    Parameters
    ----------
    genotypes
        (n x m) dosages 0..ploidy of every candidate.
    phenotypes
        n values, NaN for the candidates without a phenotype.
    ploidy
        Required.
    method
        ``"gblup"`` or ``"rrblup"`` (the same fit; the name kept with the model).

    Returns
    -------
    (GBLUP, BlupResult)

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> X = rng.integers(0, 5, size=(80, 300)); y = X @ rng.normal(0, 0.1, 300) + rng.normal(size=80)
    >>> y[:20] = np.nan
    >>> model, res = blup_candidates(X, y, ploidy=4)
    >>> bool(np.allclose(model.predict(X), res.gebv, atol=1e-5)), model.info_["n_train"]
    (True, 60)
    """
    X = check_genotypes(genotypes, ploidy=ploidy)
    if method not in ("gblup", "rrblup"):
        raise InputError(f"blup_candidates fits gblup or rrblup, not {method!r}")
    p = X.mean(axis=0, dtype=np.float64) / ploidy
    denom = scaling(p, ploidy)
    G = centred_cross_product(X, None, ploidy * p)
    G /= denom
    G = (G + G.T) / 2
    res = kernel_blup(G, phenotypes)
    t = ~np.isnan(check_phenotypes(phenotypes, X.shape[0]))
    model: GBLUP = RRBLUP() if method == "rrblup" else GBLUP()
    model.ploidy = ploidy
    model._set(res.reml, X[t], p, denom, ploidy)
    model.fitted_ = True
    model.info_.update(n_train=int(t.sum()), n_markers=int(X.shape[1]))
    return model, res


def fit_traits(genotypes: Any, phenotypes: Any, *, ploidy: int, fixed: Any = None) -> list[GBLUP]:
    """GBLUP for several traits of the same individuals with one eigendecomposition.

    Parameters
    ----------
    genotypes
        (n x m) dosages.
    phenotypes
        (n x t) traits; each trait's missing values (NaN) are skipped, and a
        trait whose observed individuals differ from the first's gets its own
        decomposition.
    """
    X = check_genotypes(genotypes, ploidy=ploidy)
    Y = np.asarray(phenotypes, dtype=np.float64)
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    F = check_fixed(fixed, X.shape[0])
    cache: dict[bytes, tuple[np.ndarray, Eigen, np.ndarray]] = {}
    models = []
    for j in range(Y.shape[1]):
        y = check_phenotypes(Y[:, j], X.shape[0], name=f"trait {j}")
        t = ~np.isnan(y)
        key = np.packbits(t).tobytes()
        if key not in cache:
            pt = X[t].mean(axis=0, dtype=np.float64) / ploidy
            Xt = X[t]
            G = centred_cross_product(Xt, None, ploidy * pt) / scaling(pt, ploidy)
            cache[key] = (pt, Eigen.of((G + G.T) / 2, name="G"), Xt)
        pt, eig, Xt = cache[key]
        fit = reml(eig, y[t], F[t])
        m = GBLUP()
        m.ploidy = ploidy
        m._set(fit, Xt, pt, scaling(pt, ploidy), ploidy)
        m.fitted_ = True
        m.info_.update(n_train=int(t.sum()), n_markers=int(X.shape[1]))
        models.append(m)
    return models
