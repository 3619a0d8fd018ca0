"""Pedigree relationships at any even ploidy: inbreeding, the numerator matrix A and its inverse.

Arrays in, arrays out: a pedigree is three sequences (``ids``, ``sires``,
``dams``) checked and sorted once by :func:`prepare_pedigree` (in
:mod:`predict.pedigree_table`) into a :class:`Pedigree`; every function then returns matrices and vectors indexed
like :attr:`Pedigree.ids`, that is in the order the ids were given (founders
added by ``add_founders=True`` come last).

Ploidy is a parameter, not a constant. For an autopolyploid of even ploidy
``k`` (gametes carry ``k/2`` alleles) without double reduction, following
Kerr et al. (2012), the additive relationship is ``a_ij = k * theta_ij``
(``theta`` the kinship, the probability that an allele drawn at random from
``i`` and one drawn from ``j`` are identical by descent), so that

- a non-inbred founder has ``a_ii = 1``, and ``a_ii = 1 + (k - 1) F_i``;
- off the diagonal, ``a_ij = (a_{i,s_j} + a_{i,d_j}) / 2`` as for diploids;
- the inbreeding of ``i`` with sire ``s`` and dam ``d`` is the chance that two
  of its alleles drawn without replacement are identical by descent: two
  alleles from the same gamete (no double reduction) are two distinct
  alleles of that parent, two from different gametes one of each parent::

      F_i = ((k/2 - 1) (F_s + F_d) / 2 + a_sd / 2) / (k - 1)

  which is ``a_sd / 2`` for diploids, ``(F_s + F_d + a_sd) / 6`` for
  tetraploids (selfing a non-inbred tetraploid gives 1/6, and in general
  ``F' = (1 + 5F) / 6``), and ``(2 (F_s + F_d) + a_sd) / 10`` for hexaploids.
  An unknown parent is a non-inbred founder unrelated to everyone.

Because ``a = T D T'`` with the same ``T`` as for diploids (the
off-diagonal rule is unchanged), A⁻¹ follows Henderson's rules with the
Mendelian-sampling variance ``d_i = a_ii - (a_ss + a_dd + 2 a_sd) / 4``
(Hamilton & Kerr 2018); for diploids that is Quaas's
``1/2 - (F_s + F_d) / 4``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse

from breedhub.base.checks import check_ploidy
from breedhub.predict.exceptions import InputError
from breedhub.predict.pedigree_table import Pedigree, prepare_pedigree

__all__ = [
    "Pedigree",
    "a_inverse",
    "a_matrix",
    "pedigree_inbreeding",
    "prepare_pedigree",
]

# ------------------------------------------------------ inbreeding, A, A⁻¹


def _check_pedigree(ped: Any) -> Pedigree:
    if not isinstance(ped, Pedigree):
        raise TypeError(
            f"ped must be a Pedigree (from prepare_pedigree(ids, sires, dams)), "
            f"not {type(ped).__name__}"
        )
    return ped


def _check_ploidy(ploidy: Any) -> int:
    ploidy = check_ploidy(ploidy, even=True)
    if ploidy < 2:
        raise InputError(
            f"ploidy must be an even number 2 or more (gametes carry ploidy/2 alleles), "
            f"not {ploidy}"
        )
    return int(ploidy)


def _topological(ped: Pedigree) -> tuple[np.ndarray, np.ndarray]:
    """Sire and dam as positions in ``ped.order`` (parents come first)."""
    rank = np.empty(len(ped), dtype=np.int64)
    rank[ped.order] = np.arange(len(ped))
    s = ped.sire[ped.order]
    d = ped.dam[ped.order]
    s = np.where(s >= 0, rank[np.maximum(s, 0)], -1)
    d = np.where(d >= 0, rank[np.maximum(d, 0)], -1)
    return s, d


def _f_from_parents(ploidy: int, f_s: Any, f_d: Any, a_sd: Any) -> Any:
    """Inbreeding of an offspring (Kerr et al. 2012, no double reduction)."""
    v = ploidy // 2
    return ((v - 1) * (f_s + f_d) / 2 + a_sd / 2) / (2 * v - 1)


class _Colleau:
    """Columns of ``A = T D T'`` by two sparse triangular solves (Colleau 2002).

    In topological order ``T = (I - P)⁻¹`` with ``P`` holding 1/2 at each
    individual's known parents; the solves run a generation at a time, so
    each step is one sparse-times-dense product.
    """

    def __init__(self, sire: np.ndarray, dam: np.ndarray, generation: np.ndarray):
        n = len(sire)
        i = np.arange(n)
        ks, kd = sire >= 0, dam >= 0
        P = scipy.sparse.coo_array(
            (
                np.full(ks.sum() + kd.sum(), 0.5),
                (np.concatenate([i[ks], i[kd]]), np.concatenate([sire[ks], dam[kd]])),
            ),
            shape=(n, n),
        ).tocsr()
        P.sum_duplicates()
        bounds = np.flatnonzero(np.diff(generation)) + 1
        self.starts = np.concatenate([[0], bounds]).tolist()
        self.ends = np.append(bounds, n).tolist()
        self.blocks = [P[lo:hi, :lo] for lo, hi in zip(self.starts, self.ends, strict=True)]
        self.blocks_t = [b.T.tocsr() for b in self.blocks]

    def columns(self, X: np.ndarray, dvar: np.ndarray) -> np.ndarray:
        """``T D T' X`` for X with as many rows as the generations it spans."""
        m = X.shape[0]
        u = X.copy()
        levels = [k for k, lo in enumerate(self.starts) if lo < m and lo > 0]
        for k in reversed(levels):  # (I - P)' u = X, youngest first
            lo, hi = self.starts[k], min(self.ends[k], m)
            u[:lo] += self.blocks_t[k][:, : hi - lo] @ u[lo:hi]
        u *= dvar[:m, None]
        for k in levels:  # (I - P) y = D u, oldest first
            lo, hi = self.starts[k], min(self.ends[k], m)
            u[lo:hi] += self.blocks[k][: hi - lo] @ u[:lo]
        return u


def _mendelian(
    sire: np.ndarray, dam: np.ndarray, generation: np.ndarray, ploidy: int, *, chunk: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Inbreeding and Mendelian-sampling variances, in topological order.

    A generation at a time. The relationship of two distinct known parents is
    read from columns of ``A = T D T'`` computed by two sparse triangular
    solves over the earlier generations (Colleau's indirect method, one column
    per distinct sire or dam, whichever are fewer, as in Sargolzaei et al.
    2005); selfing and an unknown parent need none. Then
    ``F = f(F_s, F_d, a_sd)`` and ``d = a_ii - (a_ss + a_dd + 2 a_sd) / 4``
    over the known parents.
    """
    n = len(sire)
    f = np.zeros(n)
    aii = np.ones(n)
    dvar = np.ones(n)
    colleau = _Colleau(sire, dam, generation)
    bounds = np.flatnonzero(np.diff(generation)) + 1
    for lo, hi in zip(bounds.tolist(), np.append(bounds, n)[1:].tolist(), strict=True):
        S, D = sire[lo:hi], dam[lo:hi]
        ks, kd = S >= 0, D >= 0
        Sc, Dc = np.maximum(S, 0), np.maximum(D, 0)
        a_sd = np.zeros(hi - lo)
        selfed = ks & kd & (S == D)
        a_sd[selfed] = aii[S[selfed]]
        need = np.flatnonzero(ks & kd & (S != D))
        if need.size:
            us, ud = np.unique(S[need]), np.unique(D[need])
            col, row = (S[need], D[need]) if us.size <= ud.size else (D[need], S[need])
            cols = us if us.size <= ud.size else ud
            for c0 in range(0, cols.size, chunk):
                these = cols[c0 : c0 + chunk]
                X = np.zeros((lo, these.size))
                X[these, np.arange(these.size)] = 1.0
                Y = colleau.columns(X, dvar)
                j = np.searchsorted(these, col)
                hit = (j < these.size) & (these[np.minimum(j, these.size - 1)] == col)
                a_sd[need[hit]] = Y[row[hit], j[hit]]
        a_ss = np.where(ks, aii[Sc], 0.0)
        a_dd = np.where(kd, aii[Dc], 0.0)
        fi = _f_from_parents(ploidy, np.where(ks, f[Sc], 0.0), np.where(kd, f[Dc], 0.0), a_sd)
        a = 1.0 + (ploidy - 1) * fi
        f[lo:hi], aii[lo:hi] = fi, a
        dvar[lo:hi] = a - 0.25 * (a_ss + a_dd + 2.0 * a_sd)  # T holds known parents only
    return f, dvar


def pedigree_inbreeding(ped: Pedigree, *, ploidy: int) -> np.ndarray:
    """Inbreeding coefficients from a pedigree.

    Parameters
    ----------
    ped
        A pedigree from :func:`prepare_pedigree`.
    ploidy
        Even ploidy; above 2 the autopolyploid rule without double reduction
        (see the module notes) is used.

    Returns
    -------
    numpy.ndarray
        ``F`` (float64), one per individual in the order of ``ped.ids``.

    Raises
    ------
    TypeError
        If ``ped`` is not a :class:`Pedigree` or ``ploidy`` not an integer.
    InputError
        If ``ploidy`` is odd or below 2.

    Notes
    -----
    A generation at a time, the relationships of the parents of that
    generation are read from columns of ``A = T D T'`` got by two sparse
    triangular solves (Colleau 2002), one column per distinct sire (or dam,
    if fewer), as in Sargolzaei et al.'s (2005) fast algorithm; ``D`` holds
    the Mendelian-sampling variances of Meuwissen & Luo (1992). Selfing and
    unknown parents need no solve. The time grows with the number of
    distinct sires per generation times n, never with n².

    References
    ----------
    .. [1] Meuwissen, T. H. E. & Luo, Z. (1992). Computing inbreeding
       coefficients in large populations. Genet. Sel. Evol. 24, 305-313.
    .. [2] Sargolzaei, M., Iwaisaki, H. & Colleau, J.-J. (2005). A fast
       algorithm for computing inbreeding coefficients in large populations.
       J. Anim. Breed. Genet. 122, 325-331.
    .. [3] Colleau, J.-J. (2002). An indirect approach to the extensive
       calculation of relationship coefficients. Genet. Sel. Evol. 34, 409-421.
    .. [4] Kerr, R. J., Li, L., Tier, B., Dutkowski, G. W. & McRae, T. A.
       (2012). Use of the numerator relationship matrix in genetic analysis
       of autopolyploid species. Theor. Appl. Genet. 124, 1271-1282.

    Examples
    --------
    Full-sib mating, then selfing a diploid and a tetraploid plant:

    >>> ped = prepare_pedigree(["a", "b", "c", "d", "e"], [0, 0, "a", "a", "c"], [0, 0, "b", "b", "d"])
    >>> pedigree_inbreeding(ped, ploidy=2).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.25]
    >>> ped = prepare_pedigree(["p", "s1"], [None, "p"], [None, "p"])
    >>> pedigree_inbreeding(ped, ploidy=2).tolist(), pedigree_inbreeding(ped, ploidy=4).round(4).tolist()
    ([0.0, 0.5], [0.0, 0.1667])
    """
    ped = _check_pedigree(ped)
    ploidy = _check_ploidy(ploidy)
    s, d = _topological(ped)
    f_topo, _ = _mendelian(s, d, ped.generation[ped.order], ploidy)
    f = np.empty(len(ped))
    f[ped.order] = f_topo
    return f


def a_matrix(ped: Pedigree, *, ploidy: int) -> np.ndarray:
    """The numerator (additive) relationship matrix A, dense, by the tabular method.

    Parameters
    ----------
    ped
        A pedigree from :func:`prepare_pedigree`.
    ploidy
        Even ploidy; above 2, Kerr et al.'s (2012) autopolyploid A without
        double reduction: a non-inbred founder has ``a_ii = 1`` and
        ``a_ii = 1 + (ploidy - 1) F_i`` (see the module notes).

    Returns
    -------
    numpy.ndarray
        (n x n) float64, rows and columns in the order of ``ped.ids``.
        It takes ``8 n²`` bytes (3.2 GB for 20,000 individuals); for larger
        pedigrees use :func:`a_inverse`.

    Raises
    ------
    TypeError
        If ``ped`` is not a :class:`Pedigree` or ``ploidy`` not an integer.
    InputError
        If ``ploidy`` is odd or below 2.

    Notes
    -----
    Filled a generation at a time: rows of a generation are the mean of their
    parents' rows; the diagonal is ``1 + (ploidy - 1) F``.

    References
    ----------
    .. [1] Henderson, C. R. (1976). A simple method for computing the inverse
       of a numerator relationship matrix used in prediction of breeding
       values. Biometrics 32, 69-83.
    .. [2] Mrode, R. A. (2014). Linear Models for the Prediction of Animal
       Breeding Values, 3rd ed., section 2.2. CABI.
    .. [3] Kerr, R. J., Li, L., Tier, B., Dutkowski, G. W. & McRae, T. A.
       (2012). Use of the numerator relationship matrix in genetic analysis
       of autopolyploid species. Theor. Appl. Genet. 124, 1271-1282.

    Examples
    --------
    >>> ped = prepare_pedigree(["kid", "dad", "mum"], ["dad", 0, 0], ["mum", 0, 0])
    >>> a_matrix(ped, ploidy=2).tolist()
    [[1.0, 0.5, 0.5], [0.5, 1.0, 0.0], [0.5, 0.0, 1.0]]
    >>> ped = prepare_pedigree(["p", "s1"], [None, "p"], [None, "p"])
    >>> a_matrix(ped, ploidy=4).tolist()
    [[1.0, 1.0], [1.0, 1.5]]
    """
    ped = _check_pedigree(ped)
    ploidy = _check_ploidy(ploidy)
    n = len(ped)
    s, d = _topological(ped)
    gen = ped.generation[ped.order]
    bounds = np.flatnonzero(np.diff(gen)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [n]])
    A = np.zeros((n, n))
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        S, D = s[lo:hi], d[lo:hi]
        ks, kd = S >= 0, D >= 0
        Sc, Dc = np.maximum(S, 0), np.maximum(D, 0)
        if lo:
            R = 0.5 * (A[Sc, :lo] * ks[:, None] + A[Dc, :lo] * kd[:, None])
            A[lo:hi, :lo] = R
            A[:lo, lo:hi] = R.T
            W = 0.5 * (R[:, Sc] * ks[None, :] + R[:, Dc] * kd[None, :])
            # a_ij reached through i's parents and through j's can differ in the last bit
            W = (W + W.T) / 2
        else:
            W = np.zeros((hi - lo, hi - lo))
        a_ss = np.where(ks, A[Sc, Sc], 1.0)
        a_dd = np.where(kd, A[Dc, Dc], 1.0)
        a_sd = np.where(ks & kd, A[Sc, Dc], 0.0)
        f = _f_from_parents(ploidy, (a_ss - 1) / (ploidy - 1), (a_dd - 1) / (ploidy - 1), a_sd)
        np.fill_diagonal(W, 1.0 + (ploidy - 1) * f)
        A[lo:hi, lo:hi] = W
    if np.array_equal(ped.order, np.arange(n)):
        return A
    rank = np.empty(n, dtype=np.int64)
    rank[ped.order] = np.arange(n)
    return A[np.ix_(rank, rank)]


def a_inverse(ped: Pedigree, *, ploidy: int) -> scipy.sparse.csr_array:
    """The inverse of A, sparse, by Henderson's rules with inbreeding.

    Parameters
    ----------
    ped
        A pedigree from :func:`prepare_pedigree`.
    ploidy
        Even ploidy (2 for the classical rules; above 2 the autopolyploid
        Mendelian-sampling variances, see the module notes).

    Returns
    -------
    scipy.sparse.csr_array
        (n x n) float64, rows and columns in the order of ``ped.ids``; at most
        ``n + 6 * (number of parent links)`` non-zeros.

    Raises
    ------
    TypeError
        If ``ped`` is not a :class:`Pedigree` or ``ploidy`` not an integer.
    InputError
        If ``ploidy`` is odd or below 2.

    Notes
    -----
    ``A⁻¹ = sum_i q_i q_i' / d_i`` with ``q_i = e_i - e_s/2 - e_d/2`` (known
    parents only) and ``d_i`` the Mendelian-sampling variance: 1 for a
    founder, ``3/4 - F_s/4`` with one known parent and
    ``1/2 - (F_s + F_d)/4`` with two (Quaas 1976), ``F`` from
    :func:`pedigree_inbreeding`.

    References
    ----------
    .. [1] Henderson, C. R. (1976). A simple method for computing the inverse
       of a numerator relationship matrix used in prediction of breeding
       values. Biometrics 32, 69-83.
    .. [2] Quaas, R. L. (1976). Computing the diagonal elements and inverse of
       a large numerator relationship matrix. Biometrics 32, 949-953.
    .. [3] Meuwissen, T. H. E. & Luo, Z. (1992). Computing inbreeding
       coefficients in large populations. Genet. Sel. Evol. 24, 305-313.
    .. [4] Hamilton, M. G. & Kerr, R. J. (2018). Computation of the inverse
       additive relationship matrix for autopolyploid and multiple-ploidy
       populations. Theor. Appl. Genet. 131, 851-860.

    Examples
    --------
    >>> ped = prepare_pedigree(["kid", "dad", "mum"], ["dad", 0, 0], ["mum", 0, 0])
    >>> a_inverse(ped, ploidy=2).toarray().tolist()
    [[2.0, -1.0, -1.0], [-1.0, 1.5, 0.5], [-1.0, 0.5, 1.5]]
    """
    ped = _check_pedigree(ped)
    ploidy = _check_ploidy(ploidy)
    n = len(ped)
    s, d = _topological(ped)
    _, dvar_topo = _mendelian(s, d, ped.generation[ped.order], ploidy)
    dvar = np.empty(n)
    dvar[ped.order] = dvar_topo
    alpha = 1.0 / dvar
    i = np.arange(n)
    rows, cols, vals = [i], [i], [alpha]
    for parent in (ped.sire, ped.dam):
        k = parent >= 0
        ik, pk, ak = i[k], parent[k], alpha[k]
        rows += [ik, pk]
        cols += [pk, ik]
        vals += [-0.5 * ak, -0.5 * ak]
    for p1 in (ped.sire, ped.dam):
        for p2 in (ped.sire, ped.dam):
            k = (p1 >= 0) & (p2 >= 0)
            rows.append(p1[k])
            cols.append(p2[k])
            vals.append(0.25 * alpha[k])
    m = scipy.sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    out = m.tocsr()
    out.sum_duplicates()
    return out
