"""Genomic relationship matrices for any ploidy.

VanRaden's (2008) first method generalised to ploidy k (as in sgkit and
Ashraf et al. 2016): with allele frequencies p_j = mean dosage / k,

    Z = X - k p,    G = Z Z' / (k * sum_j p_j (1 - p_j)).

G is built from X X' and rank-one corrections, so the centred matrix is never
stored: peak memory is one float32 copy of the genotypes plus G.

References
----------
VanRaden PM (2008). Efficient methods to compute genomic predictions.
J Dairy Sci 91:4414-4423.
Ashraf BH, Byrne S, Fé D, et al. (2016). Estimating genomic heritabilities at
the level of family-pool samples of perennial ryegrass using
genotyping-by-sequencing. Theor Appl Genet 129:45-52.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from breedhub.base.checks import check_ploidy
from breedhub.predict.base import check_genotypes
from breedhub.predict.exceptions import InputError


def allele_frequencies(genotypes: Any, *, ploidy: int) -> np.ndarray:
    """Frequency of the counted allele per marker: mean dosage / ploidy.

    Examples
    --------
    >>> allele_frequencies([[0, 2], [2, 2]], ploidy=2).tolist()
    [0.5, 1.0]
    """
    X = check_genotypes(genotypes, ploidy=ploidy)
    return X.mean(axis=0, dtype=np.float64) / ploidy


def scaling(frequencies: np.ndarray, ploidy: int) -> float:
    """VanRaden's denominator k * sum p(1-p); InputError when every marker is monomorphic."""
    denom = float(ploidy * np.sum(frequencies * (1.0 - frequencies)))
    if denom <= 0:
        raise InputError("every marker is monomorphic: no genomic relationship can be computed")
    return denom


FLOAT64_UP_TO = 40_000_000  # genotype entries below which G is computed in float64


def _matvec64(X: np.ndarray, v: np.ndarray, rows: int = 1024) -> np.ndarray:
    """X @ v accumulated in float64, a block of rows at a time (no full float64 copy)."""
    out = np.empty(X.shape[0])
    for i in range(0, X.shape[0], rows):
        out[i : i + rows] = X[i : i + rows].astype(np.float64) @ v
    return out


def centred_cross_product(X1: np.ndarray, X2: np.ndarray | None, centre: np.ndarray) -> np.ndarray:
    """(X1 - c)(X2 - c)' in float64, from one matrix product and rank-one corrections.

    Small problems run in float64: float32 sums of thousands of products (and
    their rank-one corrections) leave eigenvalues of about -3e-4 on a matrix
    that is PSD. Large ones multiply in float32, where the product's own
    rounding dominates, and keep the corrections in the same precision.
    """
    X2_ = X1 if X2 is None else X2
    c = np.asarray(centre, dtype=np.float64)
    if X1.size + (0 if X2 is None else X2_.size) <= FLOAT64_UP_TO:
        prod = X1.astype(np.float64) @ X2_.T.astype(np.float64)
        a1 = _matvec64(X1, c)
        a2 = a1 if X2 is None else _matvec64(X2_, c)
    else:
        prod = (X1 @ X2_.T).astype(np.float64)
        c32 = c.astype(X1.dtype)
        a1 = (X1 @ c32).astype(np.float64)
        a2 = a1 if X2 is None else (X2_ @ c32).astype(np.float64)
    prod -= a1[:, None]
    prod -= a2[None, :]
    prod += float(c @ c)
    return prod


def genomic_relationship(
    genotypes: Any,
    *,
    ploidy: int,
    frequencies: np.ndarray | None = None,
    other: Any = None,
) -> np.ndarray:
    """VanRaden's genomic relationship matrix G for dosages 0..ploidy.

    Parameters
    ----------
    genotypes
        (samples x markers) dosages.
    ploidy
        Ploidy of the dosages (2 for diploids, 6 for hexaploid oil-tea).
    frequencies
        Allele frequencies to centre with (default: from ``genotypes``).
    other
        Optional second set of samples: return the (genotypes x other)
        cross-relationship instead, centred and scaled the same way.

    Returns
    -------
    numpy.ndarray
        float64, (n x n) or (n x n_other).

    Examples
    --------
    >>> G = genomic_relationship([[0, 2, 1], [2, 0, 1], [1, 1, 1]], ploidy=2)
    >>> bool(np.allclose(G, G.T)), round(float(G[0, 0]), 3)
    (True, 1.333)
    >>> G4 = genomic_relationship([[0, 4, 2], [4, 0, 2], [2, 2, 2]], ploidy=4)
    >>> bool(np.allclose(G4, G * 2))  # same data on a tetraploid scale
    True
    """
    ploidy = check_ploidy(ploidy)
    X = check_genotypes(genotypes, ploidy=ploidy)
    p = (
        X.mean(axis=0, dtype=np.float64) / ploidy
        if frequencies is None
        else np.asarray(frequencies)
    )
    if p.shape != (X.shape[1],):
        raise InputError(f"frequencies have shape {p.shape}, expected ({X.shape[1]},)")
    X2 = None if other is None else check_genotypes(other, ploidy=ploidy, name="other")
    if X2 is not None and X2.shape[1] != X.shape[1]:
        raise InputError(f"other has {X2.shape[1]} markers, genotypes {X.shape[1]}")
    G = centred_cross_product(X, X2, ploidy * p)
    G /= scaling(p, ploidy)
    if X2 is None:
        G = (G + G.T) / 2  # exact symmetry despite float32 products
    return G
