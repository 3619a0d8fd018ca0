"""Population statistics of genotypes of any ploidy, and a report with plots.

Every function takes either genotypes, (variants, samples, ploidy) allele
indexes with -1 for missing, or a dosage matrix, (variants, samples) counts
of non-reference alleles with -1 (or NaN) for missing, in which case the
ploidy is passed as ``ploidy=``. A call counts as called when all its alleles
are known.

The population report (JSON and plots) is :mod:`genomics.popgen_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from breedhub.base.checks import check_ploidy
from breedhub.base.provenance import jsonable

__all__ = [
    "Heterozygosity",
    "LDDecay",
    "PCAResult",
    "allele_frequencies",
    "heterozygosity",
    "ld_decay",
    "pca",
]


# --------------------------------------------------------------------------- inputs


def _as_dosage(x: object, ploidy: int | None, name: str = "gt") -> tuple[np.ndarray, int]:
    """Float64 (variants, samples) dosage with NaN for missing, and the ploidy."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, not {type(x).__name__}")
    if x.ndim == 3:
        if x.dtype.kind not in "iu":
            raise TypeError(f"{name} genotypes must hold integer allele indexes, not {x.dtype}")
        p = check_ploidy(x.shape[2] if ploidy is None else ploidy)
        if p != x.shape[2]:
            raise ValueError(f"{name} has {x.shape[2]} alleles per call but ploidy={p}")
        called = (x >= 0).all(axis=2)
        d = (x > 0).sum(axis=2).astype(np.float64)
        d[~called] = np.nan
        return d, p
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be (variants, samples, ploidy) genotypes or a (variants, samples) "
            f"dosage matrix, not of shape {x.shape}"
        )
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{name} dosages must be numbers, not {x.dtype}")
    if ploidy is None:
        raise ValueError(f"{name} is a dosage matrix: pass ploidy= (1, 2, 4, 6...)")
    p = check_ploidy(ploidy)
    d = x.astype(np.float64)
    d[d < 0] = np.nan
    if np.nanmax(d, initial=0) > p:
        bad = np.argwhere(d > p)[0].tolist()
        raise ValueError(f"{name} has a dosage above ploidy={p} (first at {bad})")
    return d, p


# --------------------------------------------------------------------------- statistics


def allele_frequencies(gt: np.ndarray, *, ploidy: int | None = None) -> np.ndarray:
    """Frequency of the non-reference alleles at each variant.

    Parameters
    ----------
    gt
        Genotypes (variants, samples, ploidy) or dosages (variants, samples).
    ploidy
        Needed for dosages; checked against genotypes.

    Returns
    -------
    numpy.ndarray
        (variants,) float64, NaN where no sample is called.

    Raises
    ------
    TypeError, ValueError
        For an array of the wrong kind or shape, or a dosage above ploidy.

    References
    ----------
    Hartl DL, Clark AG (2007). Principles of Population Genetics, 4th edition,
    chapter 2. Sinauer, Sunderland MA.

    Examples
    --------
    >>> gt = np.array([[[0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]],
    ...                [[0, 0, 0, 1], [-1, -1, -1, -1], [0, 0, 0, 0]]])
    >>> allele_frequencies(gt).tolist()
    [0.5, 0.125]
    >>> allele_frequencies(np.array([[0, 2, 4]]), ploidy=4).tolist()
    [0.5]
    """
    d, p = _as_dosage(gt, ploidy)
    called = ~np.isnan(d)
    n = called.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(d, axis=1) / (p * n), np.nan)


@dataclass
class Heterozygosity:
    """Observed and expected heterozygosity.

    Attributes
    ----------
    sample_observed
        (samples,) fraction of called genotypes that are not homozygous.
    variant_observed
        (variants,) the same per variant.
    variant_expected
        (variants,) gene diversity 1 - sum of squared allele frequencies.
    """

    sample_observed: np.ndarray
    variant_observed: np.ndarray
    variant_expected: np.ndarray


def heterozygosity(gt: np.ndarray, *, ploidy: int | None = None) -> Heterozygosity:
    """Observed heterozygosity per sample and per variant; expected per variant.

    A genotype is heterozygous when it holds at least two different alleles
    (for dosages: 0 < dosage < ploidy). Expected heterozygosity is Nei's
    gene diversity, 1 - sum(p_a²) over the alleles of the variant: the
    chance two alleles drawn at random differ. For ploidy above 2 this is
    not the expected fraction of heterozygous genotypes under random mating
    (that is 1 - sum(p_a ** ploidy)).

    Parameters
    ----------
    gt
        Genotypes (variants, samples, ploidy) or dosages (variants, samples);
        with dosages, alternate alleles are pooled.
    ploidy
        Needed for dosages.

    Returns
    -------
    Heterozygosity
        NaN where nothing is called.

    Raises
    ------
    TypeError, ValueError
        For an array of the wrong kind or shape.

    References
    ----------
    Nei M (1973). Analysis of gene diversity in subdivided populations.
    Proceedings of the National Academy of Sciences USA 70:3321-3323.

    Examples
    --------
    >>> gt = np.array([[[0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]],
    ...                [[0, 0, 0, 1], [-1, -1, -1, -1], [0, 0, 0, 0]]])
    >>> h = heterozygosity(gt)
    >>> h.sample_observed.tolist(), h.variant_observed.tolist(), h.variant_expected.tolist()
    ([0.5, 1.0, 0.0], [0.3333333333333333, 0.5], [0.5, 0.21875])
    """
    if isinstance(gt, np.ndarray) and gt.ndim == 3:
        _as_dosage(gt, ploidy)  # checks
        called = np.asarray((gt >= 0).all(axis=2))
        het = called & (gt != gt[:, :, :1]).any(axis=2)
        n_alleles = int(gt.max(initial=0)) + 1
        counts = np.stack(
            [
                np.where(called[:, :, None], gt == a, False).sum(axis=(1, 2))
                for a in range(n_alleles)
            ],
            axis=1,
        ).astype(np.float64)
    else:
        d, p = _as_dosage(gt, ploidy)
        called = ~np.isnan(d)
        het = called & (d > 0) & (d < p)
        alt = np.nansum(d, axis=1)
        counts = np.stack([p * called.sum(axis=1) - alt, alt], axis=1)
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        freq = counts / total
        expected = np.where(total[:, 0] > 0, 1.0 - (freq**2).sum(axis=1), np.nan)
        n_var = called.sum(axis=1)
        n_samp = called.sum(axis=0)
        var_obs = np.where(n_var > 0, het.sum(axis=1) / n_var, np.nan)
        samp_obs = np.where(n_samp > 0, het.sum(axis=0) / n_samp, np.nan)
    return Heterozygosity(samp_obs, var_obs, expected)


@dataclass
class PCAResult:
    """Principal components of samples.

    Attributes
    ----------
    coords
        (samples, components) sample coordinates.
    explained_variance_ratio
        (components,) share of the variance each component explains.
    variants_used
        (variants,) True for the polymorphic variants the analysis used.
    """

    coords: np.ndarray
    explained_variance_ratio: np.ndarray
    variants_used: np.ndarray


def pca(
    dosage: np.ndarray,
    *,
    n_components: int = 10,
    scaler: str | None = "patterson",
    ploidy: int | None = None,
) -> PCAResult:
    """Principal component analysis of samples from dosages of any ploidy.

    Missing dosages are set to the variant's mean (0 after centring);
    monomorphic variants are left out. With the Patterson scaler each
    variant is centred and divided by sqrt(p(1 - p)), p = mean dosage /
    ploidy; scikit-allel's ``allel.pca`` does the decomposition with the
    ploidy passed on, so tetraploid and hexaploid dosages are scaled right.

    Parameters
    ----------
    dosage
        Dosages (variants, samples), -1 or NaN missing, or genotypes
        (variants, samples, ploidy).
    n_components
        Components to keep; at most min(samples, polymorphic variants).
    scaler
        ``"patterson"``, ``"standard"`` (unit variance) or None (centring only).
    ploidy
        Needed with dosages.

    Returns
    -------
    PCAResult

    Raises
    ------
    TypeError, ValueError
        For a bad array, scaler, or too many components for the data.

    References
    ----------
    Patterson N, Price AL, Reich D (2006). Population structure and
    eigenanalysis. PLoS Genetics 2:e190.

    Examples
    --------
    >>> d = np.array([[0, 0, 4, 4], [1, 0, 4, 3], [4, 4, 0, 1], [2, 2, 2, 2]])
    >>> r = pca(d, n_components=2, ploidy=4)
    >>> r.coords.shape, r.variants_used.tolist()
    ((4, 2), [True, True, True, False])
    >>> bool(np.sign(r.coords[0, 0]) == np.sign(r.coords[1, 0]) != np.sign(r.coords[2, 0]))
    True
    """
    import allel

    if scaler not in ("patterson", "standard", None):
        raise ValueError(f"scaler must be 'patterson', 'standard' or None, not {scaler!r}")
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer):
        raise TypeError(f"n_components must be an int, not {type(n_components).__name__}")
    if (
        isinstance(dosage, np.ndarray)
        and dosage.ndim == 2
        and ploidy is None
        and scaler != "patterson"
    ):
        ploidy = int(max(1, np.nanmax(dosage, initial=1)))
    d, p = _as_dosage(dosage, ploidy, name="dosage")
    mean = np.nanmean(np.where(np.isnan(d).all(axis=1, keepdims=True), 0, d), axis=1)
    filled = np.where(np.isnan(d), mean[:, None], d)
    used = filled.std(axis=1) > 0
    n_samples, n_used = d.shape[1], int(used.sum())
    if not 1 <= n_components <= min(n_samples, n_used):
        raise ValueError(
            f"n_components must be between 1 and min(samples, polymorphic variants) = "
            f"{min(n_samples, n_used)}, not {n_components}"
        )
    coords, model = allel.pca(
        filled[used], n_components=n_components, scaler=scaler, ploidy=p, copy=False
    )
    return PCAResult(
        np.asarray(coords, dtype=np.float64),
        np.asarray(model.explained_variance_ratio_, dtype=np.float64),
        used,
    )


@dataclass
class LDDecay:
    """Mean r² between pairs of markers by distance.

    Attributes
    ----------
    bin_edges
        (bins + 1,) distance edges in bp.
    mean_r2
        (bins,) mean r² of the pairs in each bin; NaN where none.
    n_pairs
        (bins,) pairs measured per bin.
    """

    bin_edges: np.ndarray
    mean_r2: np.ndarray
    n_pairs: np.ndarray

    @property
    def bin_mid(self) -> np.ndarray:
        """(bins,) middle of each distance bin."""
        return (self.bin_edges[:-1] + self.bin_edges[1:]) / 2

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return jsonable(
            {
                "bin_edges": self.bin_edges.tolist(),
                "bin_mid": self.bin_mid.tolist(),
                "mean_r2": self.mean_r2.tolist(),
                "n_pairs": self.n_pairs.tolist(),
            }
        )


def _pair_r2(d: np.ndarray, i: np.ndarray, j: np.ndarray, batch: int = 20000) -> np.ndarray:
    out = np.empty(len(i))
    for a in range(0, len(i), batch):
        x, y = d[i[a : a + batch]], d[j[a : a + batch]]
        both = ~(np.isnan(x) | np.isnan(y))
        x, y = np.where(both, x, 0.0), np.where(both, y, 0.0)
        n = both.sum(axis=1)
        sx, sy = x.sum(axis=1), y.sum(axis=1)
        cov = n * (x * y).sum(axis=1) - sx * sy
        vx = n * (x * x).sum(axis=1) - sx * sx
        vy = n * (y * y).sum(axis=1) - sy * sy
        ok = (vx > 0) & (vy > 0) & (n >= 3)
        out[a : a + batch] = np.where(ok, cov**2 / np.where(ok, vx * vy, 1), np.nan)
    return out


def ld_decay(
    dosage: np.ndarray,
    *,
    contig: Any,
    position: Any,
    max_distance: int | None = None,
    n_bins: int = 20,
    max_pairs: int = 100_000,
    ploidy: int | None = None,
    seed: int = 0,
) -> LDDecay:
    """Linkage disequilibrium (r² of dosages) against distance, within contigs.

    r² is the squared Pearson correlation of the two markers' dosages over
    the samples called at both (Rogers & Huff 2009 for diploids; the same
    composite measure for any ploidy). When the pairs of markers on the same
    contig within ``max_distance`` outnumber ``max_pairs``, ``max_pairs`` of
    them are drawn at random.

    Parameters
    ----------
    dosage
        Dosages (variants, samples) or genotypes (variants, samples, ploidy).
    contig, position
        Contig and position (bp) of each variant.
    max_distance
        Largest distance (bp); half the longest contig span when None.
    n_bins
        Equal-width distance bins from 0 to ``max_distance``.
    max_pairs
        Most pairs measured.
    ploidy
        Ploidy of a dosage matrix; unused by r² itself.
    seed
        Seed of the draw of pairs.

    Returns
    -------
    LDDecay

    Raises
    ------
    TypeError, ValueError
        For a bad array or option.

    References
    ----------
    Rogers AR, Huff C (2009). Linkage disequilibrium between loci with
    unknown phase. Genetics 182:839-844.

    Hill WG, Weir BS (1988). Variances and covariances of squared linkage
    disequilibria in finite populations. Theoretical Population Biology
    33:54-78.

    Examples
    --------
    >>> d = np.array([[0, 1, 2, 0], [0, 1, 2, 0], [2, 0, 1, 1]])
    >>> r = ld_decay(d, contig=["1"] * 3, position=[100, 150, 900], max_distance=1000,
    ...              n_bins=2, ploidy=2)
    >>> r.n_pairs.tolist(), r.mean_r2.round(3).tolist()
    ([1, 2], [1.0, 0.182])
    """
    if isinstance(dosage, np.ndarray) and dosage.ndim == 2 and ploidy is None:
        ploidy = int(max(1, np.nanmax(dosage, initial=1)))
    d, _ = _as_dosage(dosage, ploidy, name="dosage")
    c = np.asarray(contig).astype(str)
    pos = np.asarray(position)
    if c.shape != (d.shape[0],) or pos.shape != (d.shape[0],):
        raise ValueError(f"contig and position must have one entry per variant ({d.shape[0]})")
    if pos.size and pos.dtype.kind not in "iu":
        raise TypeError(f"position must hold integers, not {pos.dtype}")
    for name, value in (("n_bins", n_bins), ("max_pairs", max_pairs), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if n_bins < 1 or max_pairs < 1 or seed < 0:
        raise ValueError("n_bins and max_pairs must be at least 1, seed not negative")
    pos = pos.astype(np.int64)
    order = np.lexsort((pos, c))
    c, pos, d = c[order], pos[order], d[order]
    if max_distance is None:
        spans = [np.ptp(pos[c == k]) for k in np.unique(c)] if pos.size else [0]
        max_distance = max(1, int(max(spans) // 2))
    if isinstance(max_distance, bool) or not isinstance(max_distance, int | np.integer):
        raise TypeError(f"max_distance must be an int, not {type(max_distance).__name__}")
    if max_distance < 1:
        raise ValueError(f"max_distance must be at least 1 bp, not {max_distance}")
    # For each marker: how many later markers on its contig lie within max_distance.
    key = np.unique(c, return_inverse=True)[1].astype(np.int64)
    span = int(pos.max(initial=0)) + max_distance + 1
    coord = key * span + pos
    reach = np.searchsorted(coord, coord + max_distance, side="right")
    count = reach - np.arange(len(coord)) - 1
    total = int(count.sum())
    if total <= max_pairs:
        i = np.repeat(np.arange(len(coord)), count)
        start = np.cumsum(count) - count
        j = i + 1 + (np.arange(total) - np.repeat(start, count))
    else:
        rng = np.random.default_rng(seed)
        u = np.unique(rng.integers(0, total, size=max_pairs))
        cum = np.cumsum(count)
        i = np.searchsorted(cum, u, side="right")
        j = i + 1 + (u - (cum[i] - count[i]))
    r2 = _pair_r2(d, i, j)
    dist = pos[j] - pos[i]
    edges = np.linspace(0, max_distance, n_bins + 1)
    b = np.clip(np.searchsorted(edges, dist, side="right") - 1, 0, n_bins - 1)
    ok = ~np.isnan(r2)
    n_pairs = np.bincount(b[ok], minlength=n_bins)
    sums = np.bincount(b[ok], weights=r2[ok], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_pairs > 0, sums / n_pairs, np.nan)
    return LDDecay(edges, mean, n_pairs)
