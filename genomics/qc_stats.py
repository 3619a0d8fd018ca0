"""What variant QC measures: the reasons a variant or sample is removed, the report (:class:`QCReport`), the exact Hardy-Weinberg test and the binned distributions."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from breedhub.base.provenance import jsonable

#: Variant filters, in the order they are reported, with the rule each applies.
VARIANT_REASONS: dict[str, str] = {
    "qual": "site quality QUAL < min_qual",
    "low_depth": "mean depth < min_depth",
    "high_depth": "mean depth > max_depth",
    "call_rate": "call rate < min_call_rate",
    "maf": "minor-allele frequency < min_maf",
    "hwe": "Hardy-Weinberg exact test p < hwe_p (diploids only)",
}
#: Sample filters, with the rule each applies.
SAMPLE_REASONS: dict[str, str] = {
    "missing": "fraction of missing calls > max_sample_missing",
    "het": "observed heterozygosity > max_sample_het",
    "depth": "mean depth < min_sample_depth",
}

_EDGES: dict[str, np.ndarray] = {
    "qual": np.array([0, 10, 20, 30, 40, 50, 75, 100, 200, 500, 1000, np.inf]),
    "depth": np.array([0, 2, 4, 6, 8, 10, 15, 20, 30, 50, 75, 100, 200, 500, np.inf]),
    "call_rate": np.linspace(0.0, 1.0, 21),
    "maf": np.linspace(0.0, 0.5, 26),
}


# --------------------------------------------------------------------------- report


@dataclass
class QCReport:
    """What :func:`filter_vcf` kept, what it removed and why.

    Attributes
    ----------
    variants_removed
        Variants removed per reason (keys of ``VARIANT_REASONS``); a variant
        failing several filters is counted under each, and once in ``"total"``.
    samples_removed
        Removed sample -> its reasons (keys of ``SAMPLE_REASONS``).
    sample_stats
        Sample -> ``{"missing", "het", "depth"}`` (None where not measured).
    distributions
        Statistic -> ``{"bins", "all", "kept", "n", "mean", "min", "max"}``:
        histogram counts over all input variants and over the kept ones.
    """

    input: str
    output: str
    ploidy: int
    thresholds: dict[str, float | None]
    n_variants_in: int = 0
    n_variants_kept: int = 0
    variants_removed: dict[str, int] = field(default_factory=dict)
    n_samples_in: int = 0
    samples_kept: list[str] = field(default_factory=list)
    samples_removed: dict[str, list[str]] = field(default_factory=dict)
    sample_stats: dict[str, dict[str, float | None]] = field(default_factory=dict)
    distributions: dict[str, dict[str, Any]] = field(default_factory=dict)
    hwe_applied: bool = False
    depth_source: str = "none"
    order: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (NaN becomes None)."""
        return jsonable(asdict(self))


# --------------------------------------------------------------------------- HWE


def _hwe_exact_one(n_aa: int, n_ab: int, n_bb: int) -> float:
    from scipy.special import gammaln

    n = n_aa + n_ab + n_bb
    if n == 0:
        return 1.0
    n_a = 2 * n_aa + n_ab
    n_b = 2 * n - n_a
    rare = min(n_a, n_b)
    # Every possible het count with the observed allele counts has the parity of `rare`.
    het = np.arange(rare % 2, rare + 1, 2, dtype=np.float64)
    hom_rare = (rare - het) / 2
    hom_common = n - het - hom_rare
    logp = (
        gammaln(n + 1)
        - gammaln(hom_rare + 1)
        - gammaln(het + 1)
        - gammaln(hom_common + 1)
        + het * np.log(2.0)
        + gammaln(n_a + 1)
        + gammaln(n_b + 1)
        - gammaln(2 * n + 1)
    )
    prob = np.exp(logp - logp.max())
    prob /= prob.sum()
    observed = prob[int(n_ab) // 2]
    return float(min(1.0, prob[prob <= observed * (1 + 1e-7)].sum()))


def hwe_exact_test(n_hom_ref: Any, n_het: Any, n_hom_alt: Any) -> np.ndarray:
    """Hardy-Weinberg exact test of diploid genotype counts, one p-value per variant.

    The p-value is the probability, given the allele counts, of a number of
    heterozygotes as likely as or less likely than the one observed.

    Parameters
    ----------
    n_hom_ref, n_het, n_hom_alt
        Counts of homozygous-reference, heterozygous and homozygous-alternate
        genotypes: integers or equal-length arrays of non-negative integers.

    Returns
    -------
    numpy.ndarray
        p-values (float64), 1.0 where no genotype was counted.

    Raises
    ------
    ValueError
        If a count is negative or the arrays differ in length.

    References
    ----------
    Wigginton JE, Cutler DJ, Abecasis GR (2005). A note on exact tests of
    Hardy-Weinberg equilibrium. American Journal of Human Genetics 76:887-893.

    Examples
    --------
    Three individuals, three copies of each allele: three heterozygotes have
    probability 0.4 and one heterozygote 0.6.

    >>> hwe_exact_test([0, 1], [3, 1], [0, 1]).round(6).tolist()
    [0.4, 1.0]
    """
    counts = [np.atleast_1d(np.asarray(c)) for c in (n_hom_ref, n_het, n_hom_alt)]
    if len({c.shape for c in counts}) != 1 or counts[0].ndim != 1:
        raise ValueError("n_hom_ref, n_het and n_hom_alt must be 1-D and of equal length")
    for name, c in zip(("n_hom_ref", "n_het", "n_hom_alt"), counts, strict=True):
        if c.size and (c.dtype.kind not in "iu" or c.min() < 0):
            raise ValueError(f"{name} must hold non-negative integers")
    table = np.stack(counts, axis=1).astype(np.int64)
    uniq, inverse = np.unique(table, axis=0, return_inverse=True)
    p = np.array([_hwe_exact_one(*row) for row in uniq.tolist()], dtype=np.float64)
    return p[inverse.reshape(-1)]


# --------------------------------------------------------------------------- helpers


def _bin_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    idx = np.searchsorted(edges, x, side="right") - 1
    idx[x == edges[-1]] = len(edges) - 2
    idx = idx[(idx >= 0) & (idx < len(edges) - 1)]
    return np.bincount(idx, minlength=len(edges) - 1)


def _bin_labels(edges: np.ndarray) -> list[str]:
    def fmt(v: float) -> str:
        return f"{v:g}"

    labels = [f"{fmt(a)}-{fmt(b)}" for a, b in zip(edges[:-2], edges[1:-1], strict=True)]
    last = f">={fmt(edges[-2])}" if np.isinf(edges[-1]) else f"{fmt(edges[-2])}-{fmt(edges[-1])}"
    return [*labels, last]


class _Summary:
    """Streaming histogram (all and kept variants), count, mean, min, max."""

    def __init__(self, edges: np.ndarray):
        self.edges = edges
        self.all = np.zeros(len(edges) - 1, dtype=np.int64)
        self.kept = np.zeros(len(edges) - 1, dtype=np.int64)
        self.n, self.total = 0, 0.0
        self.min, self.max = math.inf, -math.inf

    def add(self, x: np.ndarray, keep: np.ndarray) -> None:
        self.all += _bin_counts(x, self.edges)
        self.kept += _bin_counts(x[keep], self.edges)
        f = x[np.isfinite(x)]
        if f.size:
            self.n += int(f.size)
            self.total += float(f.sum())
            self.min = min(self.min, float(f.min()))
            self.max = max(self.max, float(f.max()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bins": _bin_labels(self.edges),
            "all": self.all.tolist(),
            "kept": self.kept.tolist(),
            "n": self.n,
            "mean": self.total / self.n if self.n else None,
            "min": self.min if self.n else None,
            "max": self.max if self.n else None,
        }
