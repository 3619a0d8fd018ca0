"""MCMC diagnostics for the Bayesian samplers: effective sample size, Geweke's z, and the summaries a fit reports.

Geweke 1992; the effective sample size from the initial positive sequence of
autocorrelations (Geyer 1992).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "effective_sample_size",
    "geweke_z",
    "trace_diagnostics",
    "trace_summary",
    "trace_thinned",
]

#: Points of a trace kept in a fit's report.
MAX_TRACE_POINTS = 100


def _autocorrelation(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    x = x - x.mean()
    f = np.fft.rfft(x, 2 * n)
    acov = np.fft.irfft(f * np.conj(f), 2 * n)[:n] / n
    return acov / acov[0]


def effective_sample_size(trace: Any) -> float:
    """Effective sample size of an MCMC trace (Geyer's initial monotone sequence).

    The integrated autocorrelation time τ = −1 + 2 Σ_k Γ_k sums the pairs
    Γ_k = ρ_2k + ρ_2k+1 of autocorrelations up to the first non-positive
    pair, made monotone decreasing; the effective size is n / τ.

    Parameters
    ----------
    trace
        1-D sequence of sampled values.

    Returns
    -------
    float
        n / τ; n itself for a constant trace or one shorter than 4.

    Raises
    ------
    TypeError
        If the trace is not 1-D.

    References
    ----------
    Geyer CJ (1992). Practical Markov chain Monte Carlo. Stat Sci 7:473-483.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> 800 < effective_sample_size(rng.normal(size=1000)) < 1200
    True
    >>> x = np.zeros(1000)
    >>> for i in range(1, 1000):
    ...     x[i] = 0.9 * x[i - 1] + rng.normal()
    >>> effective_sample_size(x) < 150
    True
    """
    x = np.asarray(trace, dtype=np.float64)
    if x.ndim != 1:
        raise TypeError(f"trace must be 1-D, not {x.ndim}-D")
    n = x.shape[0]
    if n < 4 or not np.isfinite(x).all() or np.ptp(x) == 0:
        return float(n)
    rho = _autocorrelation(x)
    pairs = rho[0 : n - 1 : 2] + rho[1:n:2]
    stop = np.flatnonzero(pairs <= 0)
    pairs = pairs[: stop[0]] if stop.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = max(-1.0 + 2.0 * float(pairs.sum()), 1.0 / math.log10(max(n, 10)))
    return float(n / tau)


def geweke_z(trace: Any, *, first: float = 0.1, last: float = 0.5) -> float:
    """Geweke's convergence z-score: the means of the start and the end of a chain compared.

    z = (mean_A − mean_B) / sqrt(var_A / ess_A + var_B / ess_B), with A the
    first ``first`` and B the last ``last`` fraction of the trace; the
    variance of each mean is estimated from its effective sample size (in
    place of Geweke's spectral density at zero). |z| > 2 suggests the chain
    had not settled: lengthen the burn-in.

    Parameters
    ----------
    trace
        1-D sequence of sampled values (after burn-in).
    first, last
        Fractions of the chain compared; they must not overlap.

    Returns
    -------
    float
        The z-score; NaN if either part is constant or has fewer than 2 values.

    Raises
    ------
    TypeError
        If the trace is not 1-D.
    ValueError
        If the fractions are not in (0, 1) or overlap.

    References
    ----------
    Geweke J (1992). Evaluating the accuracy of sampling-based approaches to the
    calculation of posterior moments. In Bayesian Statistics 4, 169-193.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> abs(geweke_z(rng.normal(size=2000))) < 3
    True
    >>> geweke_z(np.linspace(0, 1, 2000)) < -5
    True
    """
    x = np.asarray(trace, dtype=np.float64)
    if x.ndim != 1:
        raise TypeError(f"trace must be 1-D, not {x.ndim}-D")
    if not (0 < first < 1 and 0 < last < 1 and first + last <= 1):
        raise ValueError(
            f"first={first} and last={last} must be fractions in (0, 1) that sum to 1 or less"
        )
    n = x.shape[0]
    a = x[: int(first * n)]
    b = x[n - int(last * n) :]
    if a.size < 2 or b.size < 2:
        return float("nan")
    va = a.var() / effective_sample_size(a)
    vb = b.var() / effective_sample_size(b)
    if va + vb == 0:
        return float("nan")
    return float((a.mean() - b.mean()) / math.sqrt(va + vb))


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def trace_summary(x: np.ndarray) -> dict[str, float]:
    """Mean and standard deviation of a trace's kept samples."""
    return {"mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)) if x.size > 1 else 0.0}


def trace_diagnostics(x: np.ndarray) -> dict[str, float | None]:
    """Geweke's z and the effective sample size of a trace (None where undefined)."""
    return {"geweke_z": _finite(geweke_z(x)), "ess": _finite(effective_sample_size(x))}


def trace_thinned(x: np.ndarray, *, max_points: int = MAX_TRACE_POINTS) -> list[float]:
    """At most ``max_points`` evenly spaced samples of a trace, for a report."""
    step = max(1, math.ceil(x.size / max_points))
    return [float(v) for v in x[::step]]
