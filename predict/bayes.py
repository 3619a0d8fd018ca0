"""Bayesian whole-genome regressions fitted by Gibbs sampling: BayesB, BayesCπ, Bayesian LASSO.

The model is y = F b + X β + e, with F the fixed-effect design (an intercept
and any covariates; flat prior on b), X the marker dosages centred on their
training means, and e ~ N(0, σ²_e I) with a scaled-inverse-χ² prior on σ²_e.
The models differ in the prior on the marker effects β:

- :class:`BayesB` (Meuwissen et al. 2001): β_j = 0 with probability π, else
  β_j ~ N(0, σ²_j) with a marker-specific σ²_j ~ S χ⁻²(ν_b); as in BGLR, π
  is unknown with a Beta prior and the scale S has a Gamma prior (both
  sampled); a fixed π (``pi=0.95``) or a fixed scale is an option.
- :class:`BayesCPi` (Habier et al. 2011): as BayesB with one common variance
  σ²_β ~ S_b χ⁻²(ν_b), π unknown with the same Beta prior (a fixed π makes it
  BayesC).
- :class:`BayesianLasso` (Park & Casella 2008; de los Campos et al. 2009):
  β_j ~ N(0, τ²_j σ²_e), τ²_j ~ Exp(λ²/2), λ² ~ Gamma(shape, rate): a
  double-exponential prior on the effects.

Sampling is single-site (one marker at a time, with the residual updated in
place) in a compiled kernel (:mod:`predict._gibbs`, numba), which reads the
genotypes once per iteration as int8 when they are whole dosages. The
inclusion indicator of BayesB and BayesCπ is drawn with its effect
integrated out (Habier et al. 2011), which mixes better than drawing it
given the effect.

Priors default to BGLR's rules (Pérez & de los Campos 2014), which set the
hyper-parameters from the data and a prior R² (the share of the phenotypic
variance expected from the markers, ``r2=0.5``). With V_y the variance of y
after the fixed effects (with only an intercept: var(y)) and
MSx = Σ_j var(x_j) the sum of the markers' variances:

- residual: ν_e = 5, S_e = (1 − R²) V_y (ν_e + 2), so the prior mode of σ²_e
  is (1 − R²) V_y;
- BayesB and BayesCπ: ν_b = 5, S_b = R² V_y / (MSx (1 − π₀)) (ν_b + 2), so the
  prior mode of a marker variance makes the markers in the model explain
  R² V_y (π₀: the fixed π, or the prior mean of π when it is estimated);
- π ~ Beta(6, 6), started at its mean 0.5: BGLR's probIn = 0.5 and
  counts = 10, whose sampler draws 1 − π from
  Beta(in + probIn counts + 1, out + (1 − probIn) counts + 1);
- BayesB's scale: S ~ Gamma(shape 1.1, rate 0.1 / S_b), mode S_b (BGLR's
  shape0 and rate0), started at S_b;
- Bayesian LASSO: λ² ~ Gamma(shape=1.1, rate=(shape − 1)/λ²₀) with mode
  λ²₀ = 2 MSx (1 − R²) / R², the λ² at which the prior genetic variance
  2 MSx σ²_e / λ² is R²/(1 − R²) times σ²_e.

Every option may be set explicitly instead. After ``fit``, ``info_`` holds the
posterior means and standard deviations of σ²_e, of the sampled genetic
variance var(X β) on the training samples, of h² = V_g / (V_g + σ²_e), of π
(when estimated), of BayesB's scale S (when estimated) and of λ² (Bayesian
LASSO); Geweke z-scores and effective sample sizes of those traces (:func:`geweke_z`, :func:`effective_sample_size`); and
the traces themselves, thinned to at most 100 points; and under
``info_["effective_params"]`` (:meth:`effective_params`) the values the fit used: iterations, burn-in, thinning,
seed, the priors' resolved hyper-parameters, and π (the posterior mean when
estimated).

References
----------
Meuwissen THE, Hayes BJ, Goddard ME (2001). Prediction of total genetic value
using genome-wide dense marker maps. Genetics 157:1819-1829.
Habier D, Fernando RL, Kizilkaya K, Garrick DJ (2011). Extension of the
Bayesian alphabet for genomic selection. BMC Bioinformatics 12:186.
Park T, Casella G (2008). The Bayesian Lasso. J Am Stat Assoc 103:681-686.
de los Campos G, Naya H, Gianola D, et al. (2009). Predicting quantitative
traits with regression models for dense molecular markers and pedigree.
Genetics 182:375-385.
Pérez P, de los Campos G (2014). Genome-wide regression and prediction with
the BGLR statistical package. Genetics 198:483-495.
Geweke J (1992). Evaluating the accuracy of sampling-based approaches to the
calculation of posterior moments. In Bayesian Statistics 4, 169-193.
Geyer CJ (1992). Practical Markov chain Monte Carlo. Stat Sci 7:473-483.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from breedhub.base.checks import check_int
from breedhub.predict.base import GenomicModel
from breedhub.predict.exceptions import ConvergenceError, InputError, PredictError
from breedhub.predict.mcmc import (
    effective_sample_size,
    geweke_z,
    trace_diagnostics,
    trace_summary,
    trace_thinned,
)

__all__ = ["BayesB", "BayesCPi", "BayesianLasso", "effective_sample_size", "geweke_z"]

_MAX_FIXED_REPORTED = 50
_BLOCK = 4096  # markers converted at a time


# ---------------------------------------------------------------- options


def _float_option(
    name: str, value: Any, *, low: float = 0.0, high: float = math.inf, closed: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    v = float(value)
    ok = (low <= v if closed else low < v) and v < high and math.isfinite(v)
    if not ok:
        upper = "" if high == math.inf else f" and below {high:g}"
        raise InputError(f"{name} must be above {low:g}{upper}, not {value}")
    return v


def _optional(name: str, value: Any) -> float | None:
    return None if value is None else _float_option(name, value)


# ---------------------------------------------------------------- models


class _BayesRegression(GenomicModel):
    """Shared fitting for the Gibbs-sampled marker regressions."""

    _kernel_model: ClassVar[int]  # predict._gibbs.BAYES_B, BAYES_C or BAYES_LASSO
    _reported: ClassVar[tuple[str, ...]] = ()  # trace columns summarised in info_
    _prior_keys: ClassVar[tuple[str, ...]] = ()  # hyper-parameters reported in info_["prior"]

    def __init__(
        self,
        *,
        n_iter: int,
        burn_in: int,
        thin: int,
        seed: int,
        r2: float,
        df_e: float,
        scale_e: float | None,
        **model_params: Any,
    ):
        n_iter = check_int("n_iter", n_iter, minimum=1)
        burn_in = check_int("burn_in", burn_in, minimum=0)
        thin = check_int("thin", thin, minimum=1)
        seed = check_int("seed", seed, minimum=0)
        if seed >= 2**32:
            raise InputError(f"seed must be below 2**32, not {seed}")
        if (n_iter - burn_in) // thin < 2:
            raise InputError(
                f"n_iter={n_iter}, burn_in={burn_in} and thin={thin} keep fewer than 2 samples: "
                "raise n_iter or lower burn_in or thin"
            )
        super().__init__(
            n_iter=n_iter,
            burn_in=burn_in,
            thin=thin,
            seed=seed,
            r2=_float_option("r2", r2, high=1.0),
            df_e=_float_option("df_e", df_e),
            scale_e=_optional("scale_e", scale_e),
            **model_params,
        )
        self.marker_mean_: np.ndarray | None = None
        self.effect_: np.ndarray | None = None
        self.inclusion_: np.ndarray | None = None
        self.fixed_effect_: np.ndarray | None = None

    # -- hooks for the subclasses

    def _sampled(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        """Trace columns summarised in info_ for this fit (beyond the variances)."""
        return self._reported

    def _hyper(self, vy: float, msx: float) -> dict[str, Any]:
        """Kernel hyper-parameters (see predict._gibbs.run_chain) for this data."""
        raise NotImplementedError

    # -- GenomicModel

    def _fit(self, X: np.ndarray, y: np.ndarray, fixed: np.ndarray) -> None:
        try:
            from breedhub.predict import _gibbs
        except ModuleNotFoundError as exc:  # pragma: no cover - numba is a dependency
            if exc.name != "numba":
                raise
            raise PredictError(
                f"{self.method} needs numba for its sampler: pip install 'numba>=0.58'"
            ) from None
        started = time.perf_counter()
        n, m = X.shape
        Xt, mu, xx, storage = _marker_matrix(X)
        F = np.ascontiguousarray(fixed, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        A = np.linalg.inv(F.T @ F)
        A = (A + A.T) / 2
        L = np.linalg.cholesky(A)
        resid = y - F @ (A @ (F.T @ y))
        vy = float(resid @ resid / max(n - F.shape[1], 1))
        if vy <= 0:
            raise InputError("phenotypes are fully explained by the fixed effects: nothing to fit")
        msx = float(xx.sum() / n)
        if msx <= 0:
            raise InputError("every marker is monomorphic in the training samples")
        p = self.params
        df_e = p["df_e"]
        scale_e = p["scale_e"] if p["scale_e"] is not None else (1 - p["r2"]) * vy * (df_e + 2)
        hyper = self._hyper(vy, msx)
        beta, incl, b, trace = _gibbs.run_chain(
            Xt,
            mu,
            xx,
            y,
            F,
            np.ascontiguousarray(A),
            np.ascontiguousarray(L),
            self._kernel_model,
            hyper["pi"],
            hyper["estimate_pi"],
            hyper["pi_a"],
            hyper["pi_b"],
            hyper["df_b"],
            hyper["scale_b"],
            hyper["estimate_scale"],
            hyper["scale_shape"],
            hyper["scale_rate"],
            float(df_e),
            float(scale_e),
            hyper["lambda2"],
            hyper["lambda_shape"],
            hyper["lambda_rate"],
            p["n_iter"],
            p["burn_in"],
            p["thin"],
            p["seed"],
        )
        if not (np.isfinite(beta).all() and np.isfinite(trace).all()):
            raise ConvergenceError(
                f"{self.method}: the chain produced non-finite values (seed {p['seed']}); "
                "try another seed or a stronger prior (smaller r2)"
            )
        self.marker_mean_ = mu
        self.effect_ = beta
        self.inclusion_ = None if self._kernel_model == _gibbs.BAYES_LASSO else incl
        self.fixed_effect_ = b
        self.info_ = self._report(trace, _gibbs.TRACE_COLUMNS, hyper, df_e, scale_e, vy, msx)
        self.info_.update(
            n_train=int(n),
            n_markers=int(m),
            n_monomorphic=int((xx == 0).sum()),
            genotype_storage=storage,
            seconds=round(time.perf_counter() - started, 3),
        )
        self.info_["effective_params"] = self._effective(hyper, df_e, scale_e)

    def effective_params(self) -> dict[str, Any]:
        """The options this fit ran with: chain, resolved priors, π (posterior mean if estimated)."""
        return {**self.params, **self.info_.get("effective_params", {})}

    def _effective(self, hyper: dict[str, Any], df_e: float, scale_e: float) -> dict[str, Any]:
        """The options this fit ran with, the priors resolved from the data."""
        p = self.params
        out: dict[str, Any] = {
            "n_iter": p["n_iter"], "burn_in": p["burn_in"], "thin": p["thin"],
            "seed": p["seed"], "r2": p["r2"], "df_e": df_e, "scale_e": scale_e,
        }  # fmt: skip
        for k in self._prior_keys:
            out[k] = hyper[k]
        for k in self._sampled(hyper):  # sampled: the posterior mean, and where it started
            if k in out:
                out[f"{k}_start"], out[k] = out[k], self.info_[k]["mean"]
        return out

    def _report(
        self,
        trace: np.ndarray,
        columns: tuple[str, ...],
        hyper: dict[str, Any],
        df_e: float,
        scale_e: float,
        vy: float,
        msx: float,
    ) -> dict[str, Any]:
        t = dict(zip(columns, trace.T, strict=True))
        se2, vg = t["residual_variance"], t["genetic_variance"]
        h2 = vg / (vg + se2)
        kept = {"residual_variance": se2, "genetic_variance": vg, "heritability": h2}
        kept.update({k: t[k] for k in self._sampled(hyper)})
        prior = {
            "r2": self.params["r2"],
            "phenotypic_variance": vy,
            "sum_marker_variance": msx,
            "df_e": df_e,
            "scale_e": scale_e,
        }
        prior.update({k: hyper[k] for k in self._prior_keys})
        b = self.fixed_effect_
        assert b is not None
        return {
            "method": self.method,
            "n_iter": self.params["n_iter"],
            "burn_in": self.params["burn_in"],
            "thin": self.params["thin"],
            "n_samples": int(trace.shape[0]),
            "prior": prior,
            **{k: trace_summary(v) for k, v in kept.items()},
            "fixed_effects": [float(v) for v in b[:_MAX_FIXED_REPORTED]],
            "diagnostics": {k: trace_diagnostics(v) for k, v in kept.items() if k != "n_included"},
            "trace": {k: trace_thinned(v) for k, v in kept.items()},
        }

    def _predict(self, X: np.ndarray) -> np.ndarray:
        assert self.effect_ is not None and self.marker_mean_ is not None
        beta = self.effect_
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], 1024):
            block = np.asarray(X[start : start + 1024], dtype=np.float64)
            out[start : start + 1024] = block @ beta
        return out - float(self.marker_mean_ @ beta)

    def state(self) -> dict[str, np.ndarray]:
        """Training means of the markers, posterior mean effects (and inclusion probabilities)."""
        if self.effect_ is None or self.marker_mean_ is None:
            raise InputError(f"{self.method}: call fit() first")
        out = {"marker_mean": self.marker_mean_, "effect": self.effect_}
        if self.inclusion_ is not None:
            out["inclusion"] = self.inclusion_
        if self.fixed_effect_ is not None:
            out["fixed_effect"] = self.fixed_effect_
        return out

    @classmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> GenomicModel:
        """Rebuild a fitted model from its ``params`` and :meth:`state`."""
        try:
            mean = np.asarray(state["marker_mean"], dtype=np.float64)
            effect = np.asarray(state["effect"], dtype=np.float64)
        except KeyError as exc:
            raise InputError(f"{cls.method} state lacks {exc.args[0]!r}") from None
        if mean.shape != effect.shape or mean.ndim != 1:
            raise InputError(
                f"{cls.method} state: marker_mean {mean.shape} and effect {effect.shape} "
                "must be vectors of the same length"
            )
        model = cls(**params)
        model.marker_mean_ = mean
        model.effect_ = effect
        if "inclusion" in state:
            model.inclusion_ = np.asarray(state["inclusion"], dtype=np.float64)
        if "fixed_effect" in state:
            model.fixed_effect_ = np.asarray(state["fixed_effect"], dtype=np.float64)
        model.info_ = {"n_markers": int(effect.shape[0])}
        model.fitted_ = True
        return model


def _marker_matrix(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Markers x samples copy of X (int8 if whole dosages, else float32), means, centred x'x."""
    n, m = X.shape
    whole = bool(X.max() <= 127) and all(
        np.array_equal(X[:, s : s + _BLOCK], np.round(X[:, s : s + _BLOCK]))
        for s in range(0, m, _BLOCK)
    )
    dtype = np.int8 if whole else np.float32
    Xt = np.empty((m, n), dtype=dtype)
    mu = np.empty(m)
    xx = np.empty(m)
    for s in range(0, m, _BLOCK):
        block = np.asarray(X[:, s : s + _BLOCK], dtype=np.float64)
        Xt[s : s + _BLOCK] = block.T
        mu[s : s + _BLOCK] = block.mean(axis=0)
        centred = block - mu[s : s + _BLOCK]
        xx[s : s + _BLOCK] = np.einsum("ij,ij->j", centred, centred)
    xx[xx < 1e-10 * n] = 0.0  # monomorphic: left out of the model, effect 0
    return Xt, mu, xx, np.dtype(dtype).name


def _pi_option(pi: Any) -> float | None:
    return None if pi is None else _float_option("pi", pi, high=1.0)


def _beta_prior(pi_prior: Any) -> list[float]:
    if not isinstance(pi_prior, (tuple, list)) or len(pi_prior) != 2:
        raise TypeError(f"pi_prior must be a pair (a, b) of Beta parameters, not {pi_prior!r}")
    return [_float_option("pi_prior[0]", pi_prior[0]), _float_option("pi_prior[1]", pi_prior[1])]


#: Beta prior on π of BGLR's BayesB and BayesC (probIn = 0.5, counts = 10).
BGLR_PI_PRIOR = (6.0, 6.0)
#: Shape of BGLR's Gamma prior on BayesB's scale (shape0); the rate makes S_b its mode.
BGLR_SCALE_SHAPE = 1.1


class _SpikeSlab(_BayesRegression):
    """BayesB and BayesCπ: a point mass at zero with probability π, else a normal effect."""

    _prior_keys = ("pi", "pi_estimated", "pi_a", "pi_b", "df_b", "scale_b")

    def _hyper(self, vy: float, msx: float) -> dict[str, Any]:
        p = self.params
        a, b = p["pi_prior"]
        estimate = p["pi"] is None
        pi0 = a / (a + b) if estimate else p["pi"]
        scale_b = p["scale_b"]
        if scale_b is None:
            scale_b = p["r2"] * vy / (msx * (1 - pi0)) * (p["df_b"] + 2)
        estimate_scale = bool(p.get("estimate_scale", False))
        return {
            "pi": float(pi0),
            "estimate_pi": estimate,
            "pi_estimated": estimate,
            "pi_a": float(a),
            "pi_b": float(b),
            "df_b": p["df_b"],
            "scale_b": float(scale_b),
            "estimate_scale": estimate_scale,
            "scale_shape": BGLR_SCALE_SHAPE,
            "scale_rate": (BGLR_SCALE_SHAPE - 1) / float(scale_b),
            "lambda2": 1.0,
            "lambda_shape": 1.0,
            "lambda_rate": 1.0,
        }

    def _effective(self, hyper: dict[str, Any], df_e: float, scale_e: float) -> dict[str, Any]:
        out = super()._effective(hyper, df_e, scale_e)
        if not hyper["estimate_pi"]:
            del out["pi_a"], out["pi_b"]
        if hyper["estimate_scale"]:
            out["scale_b_prior_mode"] = out["scale_b"]
            out["scale_b"] = self.info_["marker_scale"]["mean"]
            out["scale_shape"] = hyper["scale_shape"]
        if "estimate_scale" in self.params:
            out["estimate_scale"] = hyper["estimate_scale"]
        return out

    def _sampled(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        on = {
            "pi": hyper["estimate_pi"],
            "marker_variance": self._kernel_model == 1,
            "marker_scale": hyper["estimate_scale"],
            "n_included": True,
        }
        return tuple(k for k, v in on.items() if v)


_SPIKE_SLAB_PARAMETERS = """
    Parameters
    ----------
    pi
        Share of markers without effect: None (the default) estimates it with a
        Beta(``pi_prior``) prior, as BGLR does; a number in (0, 1) fixes it.
    pi_prior
        (a, b) of the Beta prior on π; (6, 6) is BGLR's probIn = 0.5,
        counts = 10. Its mean also sets the default ``scale_b`` when π is
        estimated.
    df_b, scale_b
        Prior of the marker variances; default scale
        r2 V_y / (MSx (1 − π₀)) (df_b + 2), π₀ the fixed π or the prior mean.
    n_iter, burn_in, thin
        Gibbs iterations, of which the first ``burn_in`` are discarded and
        every ``thin``-th of the rest is kept.
    seed
        Seed of the sampler's generator: the same seed gives the same chain.
    r2
        Prior share of the phenotypic variance explained by the markers,
        used to set the default hyper-parameters (BGLR's rule).
    df_e, scale_e
        Prior σ²_e ~ scale_e χ⁻²(df_e); default scale (1 − r2) V_y (df_e + 2).
"""


class BayesB(_SpikeSlab):
    """BayesB: a share π of markers without effect, marker-specific variances for the rest.

    β_j = 0 with probability π, else β_j ~ N(0, σ²_j), σ²_j ~ S χ⁻²(ν_b); π and
    S are estimated by default (BGLR's BayesB). See the module documentation
    for the full model and the default priors.
    {parameters}
    estimate_scale
        Sample the scale S of the marker variances (Gamma prior with shape
        1.1 and mode ``scale_b``, as BGLR); False keeps S = ``scale_b``.

    References
    ----------
    Meuwissen THE, Hayes BJ, Goddard ME (2001). Genetics 157:1819-1829.
    Habier D, Fernando RL, Kizilkaya K, Garrick DJ (2011). BMC Bioinformatics 12:186.
    Pérez P, de los Campos G (2014). Genetics 198:483-495.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.binomial(2, 0.5, size=(100, 40))
    >>> y = X[:, 0] - X[:, 1] + rng.normal(size=100)
    >>> model = BayesB(n_iter=300, burn_in=100).fit(X, y, ploidy=2)
    >>> model.predict(X[:3]).shape
    (3,)
    >>> sorted(np.argsort(-abs(model.effect_))[:2].tolist())
    [0, 1]
    >>> 0 < model.effective_params()["pi"] < 1
    True
    """

    method = "bayesb"
    _kernel_model = 0

    def __init__(
        self,
        *,
        n_iter: int = 5000,
        burn_in: int = 1000,
        thin: int = 5,
        seed: int = 0,
        pi: float | None = None,
        pi_prior: tuple[float, float] | list[float] = BGLR_PI_PRIOR,
        r2: float = 0.5,
        df_b: float = 5.0,
        scale_b: float | None = None,
        estimate_scale: bool = True,
        df_e: float = 5.0,
        scale_e: float | None = None,
    ):
        if not isinstance(estimate_scale, (bool, np.bool_)):
            raise TypeError(f"estimate_scale must be True or False, not {estimate_scale!r}")
        super().__init__(
            n_iter=n_iter,
            burn_in=burn_in,
            thin=thin,
            seed=seed,
            r2=r2,
            df_e=df_e,
            scale_e=scale_e,
            pi=_pi_option(pi),
            pi_prior=_beta_prior(pi_prior),
            df_b=_float_option("df_b", df_b),
            scale_b=_optional("scale_b", scale_b),
            estimate_scale=bool(estimate_scale),
        )


class BayesCPi(_SpikeSlab):
    """BayesCπ: a share π of markers without effect, one common variance for the rest, π estimated.

    β_j = 0 with probability π, else β_j ~ N(0, σ²_β), σ²_β ~ S_b χ⁻²(ν_b),
    π ~ Beta(a, b) (a fixed ``pi`` makes it BayesC). See the module
    documentation for the default priors.
    {parameters}
    References
    ----------
    Habier D, Fernando RL, Kizilkaya K, Garrick DJ (2011). BMC Bioinformatics 12:186.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.binomial(2, 0.5, size=(100, 40))
    >>> y = X[:, 0] - X[:, 1] + rng.normal(size=100)
    >>> model = BayesCPi(n_iter=300, burn_in=100).fit(X, y, ploidy=2)
    >>> 0 < model.info_["pi"]["mean"] < 1
    True
    """

    method = "bayescpi"
    _kernel_model = 1

    def __init__(
        self,
        *,
        n_iter: int = 5000,
        burn_in: int = 1000,
        thin: int = 5,
        seed: int = 0,
        pi: float | None = None,
        pi_prior: tuple[float, float] | list[float] = BGLR_PI_PRIOR,
        r2: float = 0.5,
        df_b: float = 5.0,
        scale_b: float | None = None,
        df_e: float = 5.0,
        scale_e: float | None = None,
    ):
        super().__init__(
            n_iter=n_iter,
            burn_in=burn_in,
            thin=thin,
            seed=seed,
            r2=r2,
            df_e=df_e,
            scale_e=scale_e,
            pi=_pi_option(pi),
            pi_prior=_beta_prior(pi_prior),
            df_b=_float_option("df_b", df_b),
            scale_b=_optional("scale_b", scale_b),
        )


for _cls in (BayesB, BayesCPi):
    assert _cls.__doc__ is not None
    _cls.__doc__ = _cls.__doc__.replace("    {parameters}\n", _SPIKE_SLAB_PARAMETERS, 1)


class BayesianLasso(_BayesRegression):
    """Bayesian LASSO: double-exponential marker effects, β_j ~ N(0, τ²_j σ²_e), τ²_j ~ Exp(λ²/2).

    λ² ~ Gamma(lambda_shape, lambda_rate). See the module documentation for
    the default priors.

    Parameters
    ----------
    lambda2
        Start value of λ²; default 2 MSx (1 − r2) / r2.
    lambda_shape, lambda_rate
        Gamma prior on λ²; default rate (lambda_shape − 1) / lambda2, so the
        prior mode is the start value.
    n_iter, burn_in, thin
        Gibbs iterations, of which the first ``burn_in`` are discarded and
        every ``thin``-th of the rest is kept.
    seed
        Seed of the sampler's generator: the same seed gives the same chain.
    r2
        Prior share of the phenotypic variance explained by the markers,
        used to set the default hyper-parameters (BGLR's rule).
    df_e, scale_e
        Prior σ²_e ~ scale_e χ⁻²(df_e); default scale (1 − r2) V_y (df_e + 2).

    References
    ----------
    Park T, Casella G (2008). The Bayesian Lasso. J Am Stat Assoc 103:681-686.
    de los Campos G, Naya H, Gianola D, et al. (2009). Genetics 182:375-385.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.binomial(2, 0.5, size=(100, 40))
    >>> y = X[:, 0] - X[:, 1] + rng.normal(size=100)
    >>> model = BayesianLasso(n_iter=300, burn_in=100).fit(X, y, ploidy=2)
    >>> model.info_["lambda2"]["mean"] > 0
    True
    """

    method = "bl"
    _reported = ("lambda2",)
    _prior_keys = ("lambda2", "lambda_shape", "lambda_rate")
    _kernel_model = 2

    def __init__(
        self,
        *,
        n_iter: int = 5000,
        burn_in: int = 1000,
        thin: int = 5,
        seed: int = 0,
        r2: float = 0.5,
        lambda2: float | None = None,
        lambda_shape: float = 1.1,
        lambda_rate: float | None = None,
        df_e: float = 5.0,
        scale_e: float | None = None,
    ):
        super().__init__(
            n_iter=n_iter,
            burn_in=burn_in,
            thin=thin,
            seed=seed,
            r2=r2,
            df_e=df_e,
            scale_e=scale_e,
            lambda2=_optional("lambda2", lambda2),
            lambda_shape=_float_option("lambda_shape", lambda_shape),
            lambda_rate=_optional("lambda_rate", lambda_rate),
        )

    def _hyper(self, vy: float, msx: float) -> dict[str, Any]:
        p = self.params
        lambda2 = p["lambda2"]
        if lambda2 is None:
            lambda2 = 2 * msx * (1 - p["r2"]) / p["r2"]
        rate = p["lambda_rate"]
        if rate is None:
            rate = max(p["lambda_shape"] - 1, 1e-6) / lambda2
        return {
            "pi": 0.5,
            "estimate_pi": False,
            "pi_a": 1.0,
            "pi_b": 1.0,
            "df_b": 5.0,
            "scale_b": 1.0,
            "estimate_scale": False,
            "scale_shape": 1.0,
            "scale_rate": 1.0,
            "lambda2": float(lambda2),
            "lambda_shape": p["lambda_shape"],
            "lambda_rate": float(rate),
        }
