"""Single-site Gibbs sampler kernel for the Bayesian marker regressions (numba).

Private to :mod:`predict.bayes`, which validates inputs, derives the priors and
summarises the chain. Everything here runs in nopython mode:

- markers are rows of ``Xt`` (markers x samples, C-contiguous: the genotype
  matrix in column-major order), int8 dosages when they are whole numbers,
  else float32; they are centred on the fly with the training means ``mu``,
  so the matrix is never copied as float64;
- the residual vector ``e`` (float64) is updated in place after every change
  of a marker effect, so a marker costs one pass over its column to form
  x_j'e, and a second one only when its effect changes; x_j'e is summed in
  single precision against a float32 copy of ``e`` refreshed at every update
  (twice the SIMD width; its rounding, ~1e-6 relative, is far below the
  posterior spread of an effect), the residual itself stays double;
- because centred columns sum to zero, sum(e) is unchanged by marker updates:
  x_j'e = d_j'e - mu_j * sum(e) with sum(e) computed once per iteration;
- the generator is numba's own, seeded inside the chain, so a seed gives the
  same chain on every run.
"""

# numba compiles only the legacy np.random functions (seeded inside the chain).
# ruff: noqa: NPY002

from __future__ import annotations

import math

import numpy as np
from numba import njit

BAYES_B = 0
BAYES_C = 1
BAYES_LASSO = 2

# Columns of the trace returned by run_chain, one row per saved sample.
TRACE_COLUMNS = (
    "residual_variance",
    "genetic_variance",
    "pi",
    "marker_variance",
    "lambda2",
    "n_included",
    "marker_scale",
)


@njit(cache=True, fastmath=True, nogil=True, error_model="numpy")
def _dot(x: np.ndarray, e32: np.ndarray) -> float:  # pragma: no cover - compiled
    # single precision: twice the SIMD width of double (the residual's float32 mirror)
    s = np.float32(0.0)
    for i in range(x.shape[0]):
        s += np.float32(x[i]) * e32[i]
    return s


@njit(cache=True, fastmath=True, nogil=True, error_model="numpy")
def _axpy(
    x: np.ndarray, mu: float, delta: float, e: np.ndarray, e32: np.ndarray
) -> None:  # pragma: no cover - compiled
    # e -= delta * (x - mu), in double, and refresh the float32 mirror
    shift = delta * mu
    for i in range(x.shape[0]):
        v = e[i] + (shift - delta * x[i])
        e[i] = v
        e32[i] = v


@njit(cache=True, nogil=True, error_model="numpy")
def _sum(e: np.ndarray) -> float:  # pragma: no cover - compiled
    s = 0.0
    for i in range(e.shape[0]):
        s += e[i]
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _inclusion(
    rhs: float, xx: float, s2: float, se2: float, log_prior_odds: float
) -> float:  # pragma: no cover - compiled
    # P(delta = 1 | ...) with the effect integrated out: y* ~ N(x b, se2 I), b ~ N(0, s2).
    v = xx * s2 + se2
    lo = log_prior_odds + 0.5 * math.log(se2 / v) + 0.5 * rhs * rhs * s2 / (se2 * v)
    if lo > 40.0:
        return 1.0
    if lo < -40.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-lo))


@njit(cache=True, nogil=True, error_model="numpy")
def run_chain(  # type: ignore[no-untyped-def]  # noqa: C901  # numba kernel: one compiled loop, numba infers its types
    Xt,
    mu,
    xx,
    y,
    F,
    A,
    L,
    model,
    pi0,
    estimate_pi,
    pi_a,
    pi_b,
    df_b,
    S_b,
    estimate_scale,
    scale_shape,
    scale_rate,
    df_e,
    S_e,
    lambda2_0,
    lambda_shape,
    lambda_rate,
    n_iter,
    burn_in,
    thin,
    seed,
):  # pragma: no cover - compiled
    """Run one chain; return posterior means and the thinned trace.

    ``F`` is the (n x p) fixed design, ``A = (F'F)^-1`` and ``L`` its lower
    Cholesky factor. Marker variances follow S/chi2(df); the residual variance
    S_e/chi2(df_e). With ``estimate_pi`` (BayesB, BayesC) π, the share of
    markers without effect, is drawn each iteration from
    Beta(pi_a + markers out, pi_b + markers in); with ``estimate_scale``
    (BayesB) the scale S of the marker variances from its Gamma(scale_shape,
    scale_rate) prior's full conditional, as BGLR does. Returns
    (effect_mean, inclusion_mean, fixed_mean, trace).
    """
    np.random.seed(seed)
    m = Xt.shape[0]
    n = y.shape[0]
    p = F.shape[1]
    active = 0
    for j in range(m):
        if xx[j] > 0.0:
            active += 1

    beta = np.zeros(m)
    delta = np.zeros(m, dtype=np.int8)
    s2 = np.empty(m)  # BayesB: marker variances; BL: tau2 (times se2 in the prior)
    for j in range(m):
        s2[j] = S_b / (df_b + 2.0)
    if model == BAYES_LASSO:
        for j in range(m):
            s2[j] = 2.0 / lambda2_0
    var_b = S_b / (df_b + 2.0)
    lambda2 = lambda2_0
    pi = pi0

    # start: fixed effects by least squares, no marker in the model
    b = np.zeros(p)
    Fty = np.zeros(p)
    for k in range(p):
        for i in range(n):
            Fty[k] += F[i, k] * y[i]
    for k in range(p):
        for q in range(p):
            b[k] += A[k, q] * Fty[q]
    e = y.copy()
    for i in range(n):
        for k in range(p):
            e[i] -= F[i, k] * b[k]
    e32 = e.astype(np.float32)
    se2 = S_e / (df_e + 2.0)

    n_saved = (n_iter - burn_in) // thin
    trace = np.zeros((n_saved, 7))
    beta_sum = np.zeros(m)
    delta_sum = np.zeros(m)
    b_sum = np.zeros(p)
    r = np.zeros(p)
    z = np.zeros(p)
    change = np.zeros(p)
    saved = 0

    for it in range(n_iter):
        # fixed effects, flat prior: b ~ N(A F'y*, se2 A) with y* = e + F b
        for k in range(p):
            r[k] = 0.0
        for i in range(n):
            for k in range(p):
                r[k] += F[i, k] * e[i]
        for k in range(p):
            z[k] = np.random.standard_normal()
        sd = math.sqrt(se2)
        for k in range(p):
            change[k] = 0.0
            for q in range(p):
                change[k] += A[k, q] * r[q] + sd * L[k, q] * z[q]
        for k in range(p):
            b[k] += change[k]
        for i in range(n):
            for k in range(p):
                e[i] -= F[i, k] * change[k]
            e32[i] = e[i]
        sum_e = _sum(e)

        # markers, one at a time
        log_prior_odds = 0.0
        if model != BAYES_LASSO:
            pi_c = min(max(pi, 1e-300), 1.0 - 1e-16)
            log_prior_odds = math.log1p(-pi_c) - math.log(pi_c)
        ss_b = 0.0  # BayesC: sum of squared included effects; BL: sum b^2 / tau2
        included = 0
        for j in range(m):
            if xx[j] <= 0.0:
                continue
            x = Xt[j]
            old = beta[j]
            rhs = _dot(x, e32) - mu[j] * sum_e + xx[j] * old
            if model == BAYES_LASSO:
                c = xx[j] + 1.0 / s2[j]
                new = rhs / c + math.sqrt(se2 / c) * np.random.standard_normal()
                included += 1
            else:
                s2j = s2[j] if model == BAYES_B else var_b
                p1 = _inclusion(rhs, xx[j], s2j, se2, log_prior_odds)
                if np.random.random() < p1:
                    c = xx[j] + se2 / s2j
                    new = rhs / c + math.sqrt(se2 / c) * np.random.standard_normal()
                    delta[j] = 1
                    included += 1
                else:
                    new = 0.0
                    delta[j] = 0
            if new != old:
                _axpy(x, mu[j], new - old, e, e32)
                beta[j] = new
            if model == BAYES_B:
                if delta[j] == 1:
                    s2[j] = (S_b + new * new) / np.random.chisquare(df_b + 1.0)
                else:
                    s2[j] = S_b / np.random.chisquare(df_b)
            elif model == BAYES_C:
                ss_b += new * new
            else:
                # 1/tau2 ~ inverse Gaussian(sqrt(lambda2 se2 / b^2), lambda2)
                # Floors keep a near-zero effect from making tau2 exactly 0 (then 0/0 = NaN).
                b2 = max(new * new, 1e-24)
                s2[j] = max(1.0 / np.random.wald(math.sqrt(lambda2 * se2 / b2), lambda2), 1e-12)
                ss_b += new * new / s2[j]

        # hyper-parameters
        if model == BAYES_C:
            var_b = (S_b + ss_b) / np.random.chisquare(df_b + included)
        if model != BAYES_LASSO and estimate_pi:
            pi = np.random.beta(active - included + pi_a, included + pi_b)
        if model == BAYES_B and estimate_scale:
            # S ~ Gamma(shape0 + m df / 2, rate0 + sum(1 / s2_j) / 2) (BGLR's BayesB)
            inv_sum = 0.0
            for j in range(m):
                if xx[j] > 0.0:
                    inv_sum += 1.0 / s2[j]
            S_b = np.random.gamma(
                scale_shape + 0.5 * active * df_b, 1.0 / (scale_rate + 0.5 * inv_sum)
            )
        if model == BAYES_LASSO:
            tau_sum = 0.0
            for j in range(m):
                if xx[j] > 0.0:
                    tau_sum += s2[j]
            lambda2 = np.random.gamma(lambda_shape + active, 1.0 / (lambda_rate + 0.5 * tau_sum))

        # residual variance (BL: the effects' prior is scaled by se2 too)
        sse = 0.0
        for i in range(n):
            sse += e[i] * e[i]
        if model == BAYES_LASSO:
            se2 = (S_e + sse + ss_b) / np.random.chisquare(df_e + n + active)
        else:
            se2 = (S_e + sse) / np.random.chisquare(df_e + n)

        if it >= burn_in and (it - burn_in + 1) % thin == 0 and saved < n_saved:
            # genetic values on the training samples: g = y - F b - e
            gs = 0.0
            gss = 0.0
            for i in range(n):
                g = y[i] - e[i]
                for k in range(p):
                    g -= F[i, k] * b[k]
                gs += g
                gss += g * g
            gm = gs / n
            trace[saved, 0] = se2
            trace[saved, 1] = gss / n - gm * gm
            trace[saved, 2] = pi
            trace[saved, 3] = var_b
            trace[saved, 4] = lambda2
            trace[saved, 5] = included
            trace[saved, 6] = S_b
            for j in range(m):
                beta_sum[j] += beta[j]
                delta_sum[j] += delta[j]
            for k in range(p):
                b_sum[k] += b[k]
            saved += 1

    return beta_sum / saved, delta_sum / saved, b_sum / saved, trace
