"""RKHS regression with Gaussian kernels at bandwidths scaled to the data, averaged as BGLR does.

Squared Euclidean distances D between genotypes are divided by a scale taken
from the training pairs (their median by default, the mean as in Pérez & de
los Campos 2014), and each bandwidth h gives a kernel K_h = exp(-h D / scale):
the bandwidths are relative to the data's own distances, so rescaling or
recoding the markers consistently leaves the kernels unchanged.

Kernel averaging (de los Campos et al. 2010) fits u = sum_k u_k with
u_k ~ N(0, s2_k K_k), one variance component per kernel. By default
(``weights="bayes"``) the components are sampled as BGLR's ``RKHS`` terms
are: each u_k in the eigenbasis of its kernel, s2_k ~ S_k chi^-2(5) with
S_k = V_y (R2 / k) / mean(eigenvalues) (5 + 2), the residual as for the
Bayesian regressions (R2 = 0.5), a flat prior on the fixed effects; the
prediction is the posterior mean (Rao-Blackwellised: the conditional means
of u_k are averaged, not the draws). ``weights="reml"`` instead chooses the
weights w_k = s2_k / sum s2 on a simplex grid by REML likelihood and solves
with the eigendecomposition machinery of :mod:`predict.gblup`; ``"equal"``
averages the kernels. ``kernels=1`` keeps only the bandwidth whose kernel
alone has the highest REML likelihood (RKHS with one kernel). The reported
``kernel_weights`` (s2_k / sum s2, posterior means for ``"bayes"``) sum to 1.

The defaults, median scaling with h in {0.2, 1, 5}, match BGLR's kernel
averaging on the CIMMYT wheat data within 0.005 in r on each environment
with BGLR's folds (bench/predict_wheat.py).

References
----------
de los Campos G, Gianola D, Rosa GJM, Weigel KA, Crossa J (2010).
Semi-parametric genomic-enabled prediction of genetic values using
reproducing kernel Hilbert spaces methods. Genet Res 92:295-308.
Crossa J, de los Campos G, Pérez P, et al. (2010). Prediction of genetic
values of quantitative traits in plant breeding using pedigree and molecular
markers. Genetics 186:713-724.
Pérez P, de los Campos G (2014). Genome-wide regression and prediction with
the BGLR statistical package. Genetics 198:483-495 (D / mean(D) and
bandwidths 0.25 x {1/5, 1, 5} in its wheat example).
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import numpy as np

from breedhub.base.checks import check_int
from breedhub.predict.base import GenomicModel
from breedhub.predict.exceptions import InputError
from breedhub.predict.gblup import Eigen, _blas_threads, reml
from breedhub.predict.mcmc import trace_diagnostics, trace_summary

DEFAULT_BANDWIDTHS = (0.2, 1.0, 5.0)
WEIGHTS = ("bayes", "reml", "equal")
SCALES = ("median", "mean")
_TOL_EIGEN = 1e-10  # BGLR's tolD: eigenvectors with smaller eigenvalues are dropped
_DF0 = 5.0  # BGLR's df0 for every variance component
_R2 = 0.5  # BGLR's R2


def squared_distances(A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """Squared Euclidean distances between the rows of A (and B), float64, never negative."""
    B_ = A if B is None else B
    sa = np.einsum("ij,ij->i", A, A, dtype=np.float64)
    sb = sa if B is None else np.einsum("ij,ij->i", B_, B_, dtype=np.float64)
    D = sa[:, None] + sb[None, :] - 2.0 * (A @ B_.T).astype(np.float64)
    np.maximum(D, 0.0, out=D)
    if B is None:
        np.fill_diagonal(D, 0.0)
    return D


def distance_scale(D: np.ndarray, how: str = "median") -> float:
    """The scale of a square distance matrix: median or mean over its off-diagonal pairs.

    Examples
    --------
    >>> D = squared_distances(np.array([[0.0, 0], [1, 0], [0, 2]]))
    >>> distance_scale(D), round(distance_scale(D, "mean"), 3)
    (4.0, 3.333)
    """
    n = D.shape[0]
    if n < 2:
        return 1.0
    off = D[~np.eye(n, dtype=bool)]
    return float(np.median(off)) if how == "median" else float(off.mean())


def _simplex(k: int, step: float) -> list[np.ndarray]:
    n = round(1 / step)
    return [np.array(c) / n for c in itertools.product(range(n + 1), repeat=k) if sum(c) == n]


def sample_kernels(
    kernels: list[np.ndarray], y: np.ndarray, fixed: np.ndarray, *, n_iter: int, burn_in: int,
    seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Gibbs sampler of y = F b + sum_k u_k + e, u_k ~ N(0, s2_k K_k), with BGLR's priors.

    Returns ``alpha`` (k x n; the posterior mean of u_k is K_k alpha_k), the
    posterior mean fixed effects and the traces of s2_k and of s2_e.
    """
    rng = np.random.default_rng(seed)
    n, k = y.shape[0], len(kernels)
    bases = []
    for K in kernels:
        with _blas_threads(n):
            d, V = np.linalg.eigh(K)
        keep = d > _TOL_EIGEN
        bases.append((np.ascontiguousarray(V[:, keep]), d[keep]))
    FtF_inv = np.linalg.inv(fixed.T @ fixed)
    L = np.linalg.cholesky((FtF_inv + FtF_inv.T) / 2)
    b = FtF_inv @ (fixed.T @ y)
    e = y - fixed @ b
    vy = float(e @ e / max(n - fixed.shape[1], 1))
    S0 = [vy * _R2 / k / float(d.mean()) * (_DF0 + 2) for _, d in bases]
    var_u = [s / (_DF0 + 2) for s in S0]
    S_e = vy * (1 - _R2) * (_DF0 + 2)
    var_e = vy * (1 - _R2)
    u = [np.zeros(n) for _ in range(k)]
    post = [np.zeros(d.shape[0]) for _, d in bases]  # mean of E[u*_k | rest] / d_k
    b_sum = np.zeros_like(b)
    trace = np.empty((n_iter - burn_in, k + 1))
    with _blas_threads(n):
        for it in range(n_iter):
            r = fixed.T @ e
            change = FtF_inv @ r + math.sqrt(var_e) * (L @ rng.standard_normal(b.shape[0]))
            b += change
            e -= fixed @ change
            for j, (V, d) in enumerate(bases):
                e += u[j]
                rhs = (V.T @ e) / var_e
                C = 1.0 / (var_u[j] * d) + 1.0 / var_e
                mean = rhs / C
                draw = mean + rng.standard_normal(d.shape[0]) / np.sqrt(C)
                u[j] = V @ draw
                e -= u[j]
                ss = float(np.sum(draw * draw / d))
                var_u[j] = (ss + S0[j]) / rng.chisquare(d.shape[0] + _DF0)
                if it >= burn_in:
                    post[j] += mean / d
            var_e = (float(e @ e) + S_e) / rng.chisquare(n + _DF0)
            if it >= burn_in:
                b_sum += b
                trace[it - burn_in, :k] = var_u
                trace[it - burn_in, k] = var_e
    kept = n_iter - burn_in
    alpha = np.stack([V @ (p / kept) for (V, _), p in zip(bases, post, strict=True)])
    return {"alpha": alpha, "fixed": b_sum / kept, "trace": trace, "prior_scales": S0}


class RKHS(GenomicModel):
    """Reproducing-kernel Hilbert-space regression with Gaussian kernels (kernel averaging).

    Parameters
    ----------
    bandwidths
        The h of each kernel exp(-h D / scale), relative to the training
        pairs' squared distances D.
    scale
        ``"median"`` or ``"mean"`` (BGLR's wheat example) of D over the
        training pairs.
    weights
        ``"bayes"``: one variance component per kernel, sampled as BGLR does
        (posterior mean prediction); ``"reml"``: kernel weights on a simplex
        grid (step ``grid_step``) by REML likelihood; ``"equal"``: the
        average kernel, REML variance components.
    kernels
        None: average every bandwidth's kernel; 1: only the bandwidth whose
        kernel alone has the highest REML likelihood (RKHS with one kernel).
    grid_step
        Step of the ``"reml"`` weight grid (0.25 gives 15 candidates for 3 kernels).
    n_iter, burn_in, seed
        Gibbs iterations, the first ``burn_in`` discarded, and the seed
        (``weights="bayes"`` only).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 3, size=(150, 300)); g = np.sin(X[:, :20].sum(1) / 5)
    >>> y = g + rng.normal(size=150) * 0.3
    >>> m = RKHS(n_iter=300, burn_in=100).fit(X[:120], y[:120], ploidy=2)
    >>> bool(np.corrcoef(m.predict(X[120:]), g[120:])[0, 1] > 0.3)
    True
    >>> round(sum(m.info_["kernel_weights"]), 6)
    1.0
    """

    method = "rkhs"

    def __init__(
        self,
        *,
        bandwidths: tuple[float, ...] | list[float] = DEFAULT_BANDWIDTHS,
        scale: str = "median",
        weights: str = "bayes",
        kernels: int | None = None,
        grid_step: float = 0.25,
        n_iter: int = 3000,
        burn_in: int = 500,
        seed: int = 0,
    ):
        if isinstance(bandwidths, (int, float)):
            bandwidths = (bandwidths,)
        try:
            bw = [float(h) for h in bandwidths]
        except (TypeError, ValueError):
            raise InputError(f"bandwidths must be positive numbers, not {bandwidths!r}") from None
        if not bw or any(not (h > 0 and math.isfinite(h)) for h in bw):
            raise InputError(f"bandwidths must be positive numbers, not {bandwidths!r}")
        if scale not in SCALES:
            raise InputError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
        if weights not in WEIGHTS:
            raise InputError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}")
        if kernels is not None:
            kernels = check_int("kernels", kernels, minimum=1)
            if kernels > len(bw):
                raise InputError(f"kernels={kernels} but only {len(bw)} bandwidths are given")
        if not 0 < grid_step <= 1 or abs(1 / grid_step - round(1 / grid_step)) > 1e-9:
            raise InputError(f"grid_step must divide 1 (e.g. 0.25), not {grid_step}")
        n_iter = check_int("n_iter", n_iter, minimum=2)
        burn_in = check_int("burn_in", burn_in, minimum=0)
        if burn_in >= n_iter:
            raise InputError(f"burn_in={burn_in} must be below n_iter={n_iter}")
        seed = check_int("seed", seed, minimum=0)
        super().__init__(
            bandwidths=bw, scale=scale, weights=weights, kernels=kernels, grid_step=grid_step,
            n_iter=n_iter, burn_in=burn_in, seed=seed,
        )  # fmt: skip

    def _kernels(self, D: np.ndarray) -> list[np.ndarray]:
        return [np.exp(-h * D / self.scale_) for h in self.bandwidths_]

    def _fit(self, X: np.ndarray, y: np.ndarray, fixed: np.ndarray) -> None:
        started = time.perf_counter()
        p = self.params
        D = squared_distances(X)
        self.scale_ = distance_scale(D, p["scale"])
        if self.scale_ <= 0:
            raise InputError("every training genotype is identical: no kernel can be built")
        self.bandwidths_ = list(p["bandwidths"])
        kernels = self._kernels(D)
        del D
        if p["kernels"] is not None and p["kernels"] < len(kernels):
            liks = [reml(Eigen.of(K, name="RKHS kernel"), y, fixed).loglik for K in kernels]
            best = sorted(np.argsort(liks)[::-1][: p["kernels"]].tolist())
            self.bandwidths_ = [self.bandwidths_[i] for i in best]
            kernels = [kernels[i] for i in best]
        k = len(kernels)
        info: dict[str, Any] = {}
        if p["weights"] == "bayes":
            res = sample_kernels(
                kernels, y, fixed, n_iter=p["n_iter"], burn_in=p["burn_in"], seed=p["seed"]
            )
            self.alpha_ = res["alpha"]
            tr = res["trace"]
            shares = tr[:, :k] / tr[:, :k].sum(axis=1, keepdims=True)
            self.kernel_weights_ = shares.mean(axis=0)
            var_g = tr[:, :k].sum(axis=1)
            info.update(
                var_g=float(var_g.mean()), var_e=float(tr[:, k].mean()),
                h2=float(np.mean(var_g / (var_g + tr[:, k]))),
                kernel_variances=[trace_summary(tr[:, j]) for j in range(k)],
                diagnostics={"var_g": trace_diagnostics(var_g),
                             "var_e": trace_diagnostics(tr[:, k])},
                fixed_effects=[float(v) for v in res["fixed"][:50]],
            )  # fmt: skip
        else:
            candidates = (
                [np.full(k, 1.0 / k)]
                if p["weights"] == "equal" or k == 1
                else _simplex(k, p["grid_step"])
            )
            best_fit = None
            for w in candidates:
                K = sum(wi * Ki for wi, Ki in zip(w, kernels, strict=True))
                fit = reml(Eigen.of(K, name="RKHS kernel"), y, fixed)
                if best_fit is None or fit.loglik > best_fit[1].loglik:
                    best_fit = (w, fit)
            assert best_fit is not None
            self.kernel_weights_, fit = best_fit
            self.alpha_ = np.outer(self.kernel_weights_, fit.weights)
            info.update(var_g=fit.var_g, var_e=fit.var_e, h2=fit.h2, loglik=fit.loglik)
        # Genetic values centred on the training samples (the kernels' constant part
        # trades with the intercept), so fits on different samples are on one level.
        self.offset_ = float(sum(K @ a for K, a in zip(kernels, self.alpha_, strict=True)).mean())
        self.X_train_ = X.astype(np.float32)
        info.update(kernel_weights=[float(v) for v in self.kernel_weights_])
        self.info_.update(info)
        self.info_["effective_params"] = self._effective(time.perf_counter() - started)

    def _effective(self, seconds: float) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {
            "bandwidths": [float(h) for h in self.bandwidths_],
            "kernel_weights": [round(float(w), 6) for w in self.kernel_weights_],
            "distance_scale": self.scale_,
            "scale": p["scale"], "weights": p["weights"], "kernels": len(self.bandwidths_),
        }  # fmt: skip
        if p["weights"] == "bayes":
            out.update(n_iter=p["n_iter"], burn_in=p["burn_in"], seed=p["seed"])
        elif p["weights"] == "reml":
            out["grid_step"] = p["grid_step"]
        out["seconds"] = round(seconds, 3)
        return out

    def effective_params(self) -> dict[str, Any]:
        """The options this fit ran with: the bandwidths kept, the kernel weights, the distance scale."""
        return {**self.params, **self.info_.get("effective_params", {})}

    def _predict(self, X: np.ndarray) -> np.ndarray:
        D = squared_distances(X.astype(np.float32), self.X_train_)
        out = np.zeros(X.shape[0])
        for Kh, a in zip(self._kernels(D), self.alpha_, strict=True):
            out += Kh @ a
        return out - self.offset_

    def state(self) -> dict[str, np.ndarray]:
        return {
            "X_train": self.X_train_,
            "alpha": self.alpha_,
            "kernel_weights": self.kernel_weights_,
            "bandwidths": np.asarray(self.bandwidths_, dtype=np.float64),
            "scale": np.array(self.scale_),
            "offset": np.array(self.offset_),
        }

    @classmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> RKHS:
        m = cls(**params)
        m.X_train_, m.kernel_weights_ = state["X_train"], np.asarray(state["kernel_weights"])
        m.scale_ = float(state["scale"])
        m.offset_ = float(state.get("offset", 0.0))
        m.bandwidths_ = [float(h) for h in state.get("bandwidths", m.params["bandwidths"])]
        alpha = np.asarray(state["alpha"], dtype=np.float64)
        # files saved before per-kernel coefficients: one alpha for sum_k w_k K_k
        m.alpha_ = np.outer(m.kernel_weights_, alpha) if alpha.ndim == 1 else alpha
        m.info_ = {"n_markers": int(m.X_train_.shape[1])}
        m.fitted_ = True
        return m
