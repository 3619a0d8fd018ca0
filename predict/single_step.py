"""Single-step GBLUP's relationship inverse H⁻¹, joining the pedigree's A⁻¹ and the genomic G.

Aguilar et al. 2010; Christensen & Lund 2010; A22 among the genotyped
individuals without forming A (Colleau 2002).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse

from breedhub.predict.exceptions import InputError
from breedhub.predict.pedigree import (
    _check_pedigree,
    _check_ploidy,
    _Colleau,
    _mendelian,
    _topological,
    a_inverse,
)
from breedhub.predict.pedigree_table import _SHOW, Pedigree, _as_list, _names

__all__ = ["h_inverse"]


def _a22(ped: Pedigree, positions: np.ndarray, *, ploidy: int, chunk: int = 256) -> np.ndarray:
    """A among ``positions`` without forming A: ``T D T' X`` (Colleau 2002)."""
    n = len(ped)
    s, d = _topological(ped)
    _, dvar = _mendelian(s, d, ped.generation[ped.order], ploidy)
    rank = np.empty(n, dtype=np.int64)
    rank[ped.order] = np.arange(n)
    colleau = _Colleau(s, d, ped.generation[ped.order])
    g = rank[positions]
    out = np.empty((g.size, g.size))
    for lo in range(0, g.size, chunk):
        cols = g[lo : lo + chunk]
        X = np.zeros((n, cols.size))
        X[cols, np.arange(cols.size)] = 1.0
        out[:, lo : lo + chunk] = colleau.columns(X, dvar)[g]
    return (out + out.T) / 2


def _check_options(tune_g: bool, tau: float, omega: float, blend: float) -> None:
    """Check :func:`h_inverse`'s options: their types, then their ranges."""
    if not isinstance(tune_g, bool):
        raise TypeError(f"tune_g must be True or False, not {tune_g!r}")
    for name, value in (("tau", tau), ("omega", omega), ("blend", blend)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not (math.isfinite(tau) and tau > 0):
        raise InputError(f"tau must be a positive number, not {tau}")
    if not (math.isfinite(omega) and 0 <= omega <= 1):
        raise InputError(f"omega must be between 0 and 1, not {omega}")
    if not (math.isfinite(blend) and 0 <= blend < 1):
        raise InputError(f"blend must be in [0, 1), not {blend}")


def _check_g(G: np.ndarray, m: int) -> None:
    """Check that the float64 G is square, of the ``m`` genotyped ids (m > 0), finite
    and symmetric."""
    if G.shape[0] != G.shape[1]:
        raise InputError(f"G must be square, not {G.shape[0]} x {G.shape[1]}")
    if G.shape[0] != m:
        raise InputError(
            f"G is {G.shape[0]} x {G.shape[0]} but genotyped_ids has {m} ids: give one id per row of G"
        )
    if m == 0:
        raise InputError("genotyped_ids is empty: H⁻¹ needs at least one genotyped individual")
    if not np.isfinite(G).all():
        rows = np.unique(np.nonzero(~np.isfinite(G))[0])
        raise InputError(f"G has missing or infinite values in rows {rows[:_SHOW].tolist()}")
    asym = np.abs(G - G.T) > 1e-8 * max(1.0, float(np.abs(G).max()))
    if asym.any():
        r, c = np.nonzero(asym)
        raise InputError(
            f"G is not symmetric: e.g. G[{r[0]}, {c[0]}] = {G[r[0], c[0]]:g} but "
            f"G[{c[0]}, {r[0]}] = {G[c[0], r[0]]:g}; pass (G + G.T) / 2 if that is rounding"
        )


def _tuned_g(G: np.ndarray, A22: np.ndarray) -> np.ndarray:
    """``a + b G`` whose mean diagonal and mean off-diagonal equal those of ``A22``
    (Christensen & Lund 2010; Vitezica et al. 2011)."""
    m = len(G)
    if m < 2:
        raise InputError("tune_g needs at least two genotyped individuals")
    off = ~np.eye(m, dtype=bool)
    gd, go = G.diagonal().mean(), G[off].mean()
    ad, ao = A22.diagonal().mean(), A22[off].mean()
    if math.isclose(gd, go):
        raise InputError("tune_g: G's mean diagonal equals its mean off-diagonal; cannot scale")
    b = (ad - ao) / (gd - go)
    return (ad - b * gd) + b * G


def h_inverse(
    ped: Pedigree,
    G: Any,
    genotyped_ids: Sequence[Any],
    *,
    tau: float = 1.0,
    omega: float = 1.0,
    blend: float = 0.05,
    tune_g: bool = False,
    ploidy: int,
) -> scipy.sparse.csr_array:
    """The single-step relationship inverse H⁻¹ (pedigree and genomic) at the pedigree's ploidy.

    ``H⁻¹ = A⁻¹ + [[0, 0], [0, tau Gw⁻¹ - omega A22⁻¹]]`` where the second
    block is over the genotyped individuals, ``A22`` their pedigree
    relationships and ``Gw = (1 - blend) G* + blend A22``, ``G*`` being ``G``
    or, with ``tune_g``, ``a + b G`` with ``a, b`` chosen so that the means of
    the diagonal and of the off-diagonal of ``G*`` equal those of ``A22``.

    Parameters
    ----------
    ped
        A pedigree from :func:`prepare_pedigree` holding every genotyped id.
    G
        (m x m) genomic relationship matrix, symmetric, rows in the order of
        ``genotyped_ids``.
    genotyped_ids
        The m ids of G's rows, each in ``ped``.
    tau, omega
        Scale of ``Gw⁻¹`` (> 0) and of ``A22⁻¹`` (0 to 1), Aguilar et al. 2010.
    blend
        Weight of A22 in ``Gw`` (0 <= blend < 1) that makes G invertible.
    ploidy
        The ploidy of the pedigree's individuals (even; required, as for
        :func:`~breedhub.predict.pedigree.a_inverse`).
    tune_g
        Scale G to A22 first (Christensen & Lund 2010; Vitezica et al. 2011).

    Returns
    -------
    scipy.sparse.csr_array
        (n x n) float64, rows and columns in the order of ``ped.ids`` (the
        genotyped block is dense, the rest as sparse as A⁻¹).

    Raises
    ------
    TypeError
        If ``ped`` is not a :class:`Pedigree`, ``G`` not a numeric 2-D array,
        or ``tune_g`` not a bool.
    InputError
        If G is not square, its size differs from ``genotyped_ids``, it is not
        symmetric or has missing values, an id is unknown or repeated, an
        option is out of range, or ``Gw`` is not positive definite (raise
        ``blend``).

    References
    ----------
    .. [1] Legarra, A., Aguilar, I. & Misztal, I. (2009). A relationship
       matrix including full pedigree and genomic information. J. Dairy Sci.
       92, 4656-4663.
    .. [2] Aguilar, I., Misztal, I., Johnson, D. L., Legarra, A., Tsuruta, S.
       & Lawlor, T. J. (2010). Hot topic: A unified approach to utilize
       phenotypic, full pedigree, and genomic information for genetic
       evaluation of Holstein final score. J. Dairy Sci. 93, 743-752.
    .. [3] Christensen, O. F. & Lund, M. S. (2010). Genomic prediction when
       some animals are not genotyped. Genet. Sel. Evol. 42, 2.
    .. [4] Vitezica, Z. G., Aguilar, I., Misztal, I. & Legarra, A. (2011).
       Bias in genomic predictions for populations under selection. Genet.
       Res. 93, 357-366.
    .. [5] Colleau, J.-J. (2002). An indirect approach to the extensive
       calculation of relationship coefficients. Genet. Sel. Evol. 34, 409-421.

    Examples
    --------
    >>> from breedhub.predict.pedigree import prepare_pedigree
    >>> ped = prepare_pedigree(["kid", "dad", "mum"], ["dad", 0, 0], ["mum", 0, 0])
    >>> G = [[1.1, 0.6], [0.6, 0.9]]
    >>> h_inverse(ped, G, ["kid", "dad"], blend=0.0, ploidy=2).toarray().round(3).tolist()
    [[2.095, -1.286, -1.0], [-1.286, 1.913, 0.5], [-1.0, 0.5, 1.5]]
    """
    ped = _check_pedigree(ped)
    g_arr = np.asarray(G)
    if g_arr.dtype.kind not in "iuf" or g_arr.ndim != 2:
        raise TypeError(f"G must be a 2-D numeric array, not {g_arr.dtype} with {g_arr.ndim} dims")
    _check_options(tune_g, tau, omega, blend)
    G = g_arr.astype(np.float64)
    m = len(_as_list(genotyped_ids, "genotyped_ids"))
    _check_g(G, m)
    pos = ped.positions(genotyped_ids, name="genotyped_ids")
    uniq, counts = np.unique(pos, return_counts=True)
    if (counts > 1).any():
        twice = [ped.ids[i] for i in uniq[counts > 1]]
        raise InputError(f"genotyped_ids lists ids more than once: {_names(twice)}")

    ploidy = _check_ploidy(ploidy)
    A22 = _a22(ped, pos, ploidy=ploidy)
    if tune_g:
        G = _tuned_g(G, A22)
    Gw = (1.0 - blend) * G + blend * A22
    try:
        c = scipy.linalg.cho_factor(Gw, lower=True)
    except np.linalg.LinAlgError:
        raise InputError(
            f"G blended with A22 (blend={blend}) is not positive definite: raise blend "
            "(e.g. blend=0.1), or check G for duplicated or identical genotypes"
        ) from None
    eye = np.eye(m)
    block = tau * scipy.linalg.cho_solve(c, eye)
    if omega:
        block -= omega * scipy.linalg.cho_solve(scipy.linalg.cho_factor(A22, lower=True), eye)
    rr, cc = np.meshgrid(pos, pos, indexing="ij")
    n = len(ped)
    add = scipy.sparse.coo_array((block.ravel(), (rr.ravel(), cc.ravel())), shape=(n, n))
    out = (a_inverse(ped, ploidy=ploidy) + add.tocsr()).tocsr()
    out.sum_duplicates()
    return out
