"""Cross planning's numeric glue: parents' dosages from a genotype store, marker effects from a run's GEBVs, kinship, and every pair's progeny mean, variance and usefulness.

Nothing here reads the database: the web layer passes the store's path, the
samples and the GEBVs it read through :mod:`germplasm`.

Marker effects
--------------
A GBLUP (or rrBLUP) run publishes GEBVs ``g = Z beta`` with ``Z`` the
dosages centred on the dataset's allele frequencies (``predict.gblup``); the
marker effects are recovered by back-solving (Strandén & Garrick 2009):
``beta = Z' (Z Z')^+ g``, the minimum-norm solution, which is the rrBLUP
solution GBLUP implies. A candidate genotyped in several samples takes the
mean of its samples' rows, as its published GEBV is their mean. The result is
cached per store file and run.

Progeny
-------
- Inbred-line species at ploidy 2 (rice, rapeseed, pepper): progeny derived
  from the F1 (``DH``, ``RIL`` or ``F2``) through
  :func:`predict.crosses.rank_crosses`, linked markers covarying through
  recombination. Markers heterozygous in a parent are treated as not
  segregating (``allow_heterozygous``): the page says how many there were.
- Other species, or any ploidy but 2 (``F1``): the progeny of the cross
  itself. Its variance is the sum of the parents' gametic variances,
  Mendelian sampling at each marker heterozygous in a parent, markers taken
  as unlinked because the phase is unknown (Bijma et al. 2020, eq. 2 with no
  linkage); a gamete of a ``k``-ploid carries ``k/2`` of its ``d`` copies
  drawn without replacement (polysomic, no double reduction), variance
  ``(k/2)(d/k)(1 - d/k)(k/2)/(k - 1)`` copies² per marker, ``1/4`` for a
  diploid heterozygote.

The mean of every population is the mid-parent value ``(g1 + g2) / 2`` on the
GEBV scale. The genetic map is the store's physical positions at the
species' mean recombination rate (one Morgan per chromosome spread over the
genome: ``100 * n / genome size`` cM per Mb) when no map is known.

References
----------
Strandén I, Garrick DJ (2009) Technical note: Derivation of equivalent
computing algorithms for genomic predictions and reliabilities of animal
merit. J Dairy Sci 92:2971-2975.
Bijma P, Wientjes YCJ, Calus MPL (2020) Breeding top genotypes and
accelerating response to recurrent selection by selecting parents with
greater gametic variance. Genetics 214:91-107.
VanRaden PM (2008) Efficient methods to compute genomic predictions. J Dairy
Sci 91:4414-4423.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.store_layout import CHROM, DOSAGE, GT, POS, SAMPLES
from breedhub.genomics.store_read import open_store, store_text
from breedhub.pipelines.exceptions import PipelineError
from breedhub.predict.crosses import rank_crosses, usefulness
from breedhub.predict.pedigree import a_matrix, prepare_pedigree
from breedhub.predict.relationship import genomic_relationship

__all__ = [
    "DERIVED",
    "POPULATIONS",
    "CrossTable",
    "StoreView",
    "choose_plan",
    "cross_table",
    "default_population",
    "gametic_variance",
    "genetic_map",
    "genomic_kinship",
    "marker_effects",
    "parent_dosages",
    "pedigree_kinship",
    "recombination_rate",
    "store_view",
]

#: Progeny derived from the F1 of two inbred lines (predict.crosses) and the F1 itself.
DERIVED = ("DH", "RIL", "F2")
POPULATIONS = (*DERIVED, "F1")
_ROWS = 8192  # variants read at a time
_T = TypeVar("_T")
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _cached(key: tuple[Any, ...], make: Callable[[], _T]) -> _T:
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]  # type: ignore[no-any-return]
    value = make()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


# --- the store -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreView:
    """What the planner needs of a genotype store, read once per file version.

    Attributes
    ----------
    path
        The store.
    key
        ``(path, mtime_ns, size)``: a rewritten store is read again.
    sample_id
        Column names, in store order.
    ploidy
        The store's ploidy.
    chrom, pos
        Each variant's contig (str) and 1-based position.
    centre
        Mean dosage of each variant over the samples called there (0 where
        none is): ``ploidy * p``, what GBLUP centres on.
    """

    path: str
    key: tuple[Any, ...]
    sample_id: tuple[str, ...]
    ploidy: int
    chrom: np.ndarray
    pos: np.ndarray
    centre: np.ndarray
    column: dict[str, int] = field(repr=False, compare=False)

    @property
    def n_variants(self) -> int:
        """Number of variants."""
        return int(self.pos.shape[0])


def _dosage_rows(f: h5py.File, i: int, j: int, cols: Any) -> np.ndarray:
    """int8 dosages of variants i..j (rows) and the columns ``cols``, -1 missing."""
    if DOSAGE in f:
        return np.asarray(f[DOSAGE][i:j, cols], dtype=np.int8)
    gt = np.asarray(f[GT][i:j, cols])
    d = np.where(gt < 0, 0, gt > 0).sum(axis=2).astype(np.int8)
    d[(gt < 0).any(axis=2)] = -1
    return d


def store_view(path: str | os.PathLike[str]) -> StoreView:
    """Read a store's samples, map and per-variant centre (cached per file version).

    Parameters
    ----------
    path
        The HDF5 genotype store (:mod:`genomics.store`).

    Returns
    -------
    StoreView

    Raises
    ------
    InputFileError
        If the file is missing or not a genotype store.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file: the genotype store is missing")
    st = p.stat()
    key = ("view", str(p.resolve()), st.st_mtime_ns, st.st_size)

    def make() -> StoreView:
        with open_store(p) as f:
            samples = tuple(str(s) for s in store_text(f[SAMPLES][:]))
            chrom = store_text(f[CHROM][:])
            pos = np.asarray(f[POS][:], dtype=np.int64)
            ploidy = int(f.attrs.get("ploidy", f[GT].shape[2]))
            total = np.zeros(pos.shape[0])
            called = np.zeros(pos.shape[0])
            for i in range(0, pos.shape[0], _ROWS):
                d = _dosage_rows(f, i, min(i + _ROWS, pos.shape[0]), slice(None))
                ok = d >= 0
                total[i : i + d.shape[0]] = np.where(ok, d, 0).sum(axis=1)
                called[i : i + d.shape[0]] = ok.sum(axis=1)
        centre = np.divide(total, called, out=np.zeros_like(total), where=called > 0)
        return StoreView(str(p), key, samples, ploidy, chrom, pos, centre,
                         {s: k for k, s in enumerate(samples)})  # fmt: skip

    return _cached(key, make)


def parent_dosages(view: StoreView, samples: Sequence[str]) -> np.ndarray:
    """(samples x markers) float64 dosages of ``samples``, reading only their columns.

    A missing call takes the variant's centre (the dataset mean), as the fit did.

    Parameters
    ----------
    view
        The store (:func:`store_view`).
    samples
        Sample names, in the order wanted (repeats allowed).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    PipelineError
        If a sample is not in the store.
    """
    unknown = [s for s in samples if s not in view.column]
    if unknown:
        raise PipelineError(
            f"samples not in the genotype store {Path(view.path).name}: {', '.join(unknown[:10])}"
        )
    wanted = np.array([view.column[s] for s in samples], dtype=np.int64)
    cols = np.unique(wanted)
    with open_store(view.path) as f:
        D = _dosage_rows(f, 0, view.n_variants, cols)  # h5py reads increasing columns
    X = D[:, np.searchsorted(cols, wanted)].T.astype(np.float64)
    gaps = X < 0
    if gaps.any():
        X[gaps] = np.broadcast_to(view.centre, X.shape)[gaps]
    return X


def marker_effects(
    view: StoreView,
    sample_accessions: Sequence[int],
    gebv: Mapping[int, float],
    *,
    cache_key: tuple[Any, ...] = (),
) -> np.ndarray:
    """Marker effects that reproduce a run's GEBVs: ``beta = Z' (Z Z')^+ g`` (Strandén & Garrick 2009).

    Parameters
    ----------
    view
        The run's genotype store.
    sample_accessions
        The accession of each store column.
    gebv
        Accession id -> GEBV (one trait, or an index of traits); accessions
        without one are left out of the solve.
    cache_key
        What identifies the run and trait(s): with it, the result is
        remembered for the store's version.

    Returns
    -------
    numpy.ndarray
        One effect per variant, per counted allele, for centred dosages
        (``g(x) = (x - view.centre) @ beta``).

    Raises
    ------
    PipelineError
        If no genotyped accession has a GEBV.
    """

    def make() -> np.ndarray:
        accs = np.asarray(sample_accessions, dtype=np.int64)
        if accs.shape[0] != len(view.sample_id):
            raise PipelineError(
                f"{len(accs)} accessions given for the {len(view.sample_id)} samples of "
                f"{Path(view.path).name}: re-register the dataset"
            )
        keep = np.array([int(a) in gebv for a in accs], dtype=bool)
        if not keep.any():
            raise PipelineError("no accession of the genotype dataset has a GEBV in this run")
        ids, row_of = np.unique(accs[keep], return_inverse=True)
        cols = np.nonzero(keep)[0]
        Z = np.zeros((ids.shape[0], view.n_variants))
        counts = np.bincount(row_of, minlength=ids.shape[0]).astype(np.float64)
        with open_store(view.path) as f:
            for i in range(0, view.n_variants, _ROWS):
                j = min(i + _ROWS, view.n_variants)
                d = _dosage_rows(f, i, j, cols).T.astype(np.float64)  # samples x block
                d = np.where(d < 0, 0.0, d - view.centre[i:j])
                block = np.zeros((ids.shape[0], j - i))
                np.add.at(block, row_of, d)
                Z[:, i:j] = block / counts[:, None]
        g = np.array([gebv[int(a)] for a in ids], dtype=np.float64)
        K = Z @ Z.T
        w, V = np.linalg.eigh((K + K.T) / 2)
        tol = max(w.max(initial=0.0), 0.0) * max(K.shape) * np.finfo(float).eps * 10
        inv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
        alpha = V @ (inv * (V.T @ g))
        return Z.T @ alpha

    if not cache_key:
        return make()
    return _cached(("beta", view.key, *cache_key), make)


# --- map, population, variances ------------------------------------------------------------


def recombination_rate(*, haploid_chromosomes: int, genome_size_mb: float) -> float:
    """Mean recombination rate in cM per Mb: one Morgan per chromosome over the genome.

    Parameters
    ----------
    haploid_chromosomes
        Chromosomes in one (monoploid) set: the number of linkage groups.
    genome_size_mb
        Size of that set, in Mb.

    Returns
    -------
    float

    Examples
    --------
    >>> round(recombination_rate(haploid_chromosomes=12, genome_size_mb=374), 3)
    3.209
    """
    if haploid_chromosomes < 1 or not genome_size_mb > 0:
        raise PipelineError("the species needs a chromosome number and a genome size for a map")
    return 100.0 * haploid_chromosomes / float(genome_size_mb)


def genetic_map(pos: np.ndarray, *, cm_per_mb: float) -> np.ndarray:
    """Positions in cM from 1-based physical positions at a uniform rate.

    Examples
    --------
    >>> genetic_map(np.array([1_000_001, 3_000_001]), cm_per_mb=2.0).tolist()
    [2.000002, 6.000002]
    """
    return np.asarray(pos, dtype=np.float64) / 1e6 * cm_per_mb


def default_population(*, inbred_lines: bool, ploidy: int) -> str:
    """``DH`` for diploid inbred-line species, ``F1`` (the cross's own progeny) otherwise."""
    return "DH" if inbred_lines and ploidy == 2 else "F1"


def gametic_variance(X: np.ndarray, beta: np.ndarray, *, ploidy: int) -> np.ndarray:
    """Each parent's gametic variance, markers unlinked (phase unknown), polysomic segregation.

    ``sum_j beta_j^2 (k/2) p_j (1 - p_j) (k/2) / (k - 1)`` with ``p_j = x_j / k``
    (hypergeometric sampling of ``k/2`` of ``k`` copies); ``sum beta_j^2 / 4``
    over heterozygous markers for a diploid.

    Parameters
    ----------
    X
        (parents x markers) dosages 0..ploidy.
    beta
        Marker effects per copy.
    ploidy
        Even ploidy.

    Returns
    -------
    numpy.ndarray
        One variance per parent.

    Raises
    ------
    PipelineError
        For an odd ploidy (gametes do not carry half the copies).

    Examples
    --------
    >>> gametic_variance(np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([2.0, 1.0]), ploidy=2).tolist()
    [1.0, 0.25]
    """
    if ploidy < 2 or ploidy % 2:
        raise PipelineError(
            f"ploidy {ploidy}: gametes of an odd ploidy do not carry half the copies, so the "
            "progeny variance is not modelled"
        )
    half = ploidy / 2.0
    p = X / ploidy
    per_copy = half * p * (1.0 - p) * half / (ploidy - 1)
    return np.maximum(per_copy, 0.0) @ (beta * beta)


@dataclass
class CrossTable:
    """Every pair of parents with its predicted progeny.

    Attributes
    ----------
    parent_ids
        The parents, in input order.
    i, j
        Indexes (into ``parent_ids``) of each pair's parents, ``i < j``.
    mean, variance, sd
        Progeny mean (GEBV scale) and genetic variance.
    usefulness
        ``mean ± intensity * sd`` in the breeding direction (NaN for an optimum trait).
    kinship
        Genomic relationship of the two parents.
    order
        Rows best first in the breeding direction.
    population
        ``DH``, ``RIL``, ``F2`` or ``F1``.
    notes
        What the page should say about how the numbers were made.
    """

    parent_ids: list[int]
    i: np.ndarray
    j: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    sd: np.ndarray
    usefulness: np.ndarray
    kinship: np.ndarray
    order: np.ndarray
    population: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.i.shape[0])


def cross_table(
    X: np.ndarray,
    parent_ids: Sequence[int],
    beta: np.ndarray,
    *,
    centre: np.ndarray,
    chrom: np.ndarray,
    pos_cM: np.ndarray,
    ploidy: int,
    population: str,
    intensity: float,
    direction: str,
    target: float | None = None,
) -> CrossTable:
    """Progeny mean, variance, usefulness and the parents' kinship for every pair.

    Parameters
    ----------
    X
        (parents x markers) dosages (:func:`parent_dosages`).
    parent_ids
        One id per row, unique.
    beta
        Marker effects for centred dosages (:func:`marker_effects`).
    centre
        The dataset's mean dosage per marker.
    chrom, pos_cM
        The genetic map.
    ploidy
        The dataset's ploidy.
    population
        One of :data:`POPULATIONS`.
    intensity
        Selection intensity within a cross.
    direction
        ``"higher"``, ``"lower"`` or ``"optimum"``.
    target
        For ``"optimum"``: the optimum on the GEBV scale (crosses ranked by
        the distance of their mean to it).

    Returns
    -------
    CrossTable

    Raises
    ------
    PipelineError, predict.exceptions.InputError
        For fewer than two parents, an unknown population, or one that does
        not fit the ploidy.
    """
    n = X.shape[0]
    if n < 2:
        raise PipelineError("choose at least two parents")
    if population not in POPULATIONS:
        raise PipelineError(f"population must be one of {', '.join(POPULATIONS)}")
    if direction == "optimum" and target is None:
        raise PipelineError("an optimum trait needs its optimum")
    ids = [int(a) for a in parent_ids]
    notes: list[str] = []
    i, j = np.triu_indices(n, k=1)
    g = (X - centre) @ beta
    mean = 0.5 * (g[i] + g[j])
    higher = direction != "lower"
    if population in DERIVED:
        het = ~(np.isclose(X, 0.0) | np.isclose(X, ploidy))
        n_het = int(het.any(axis=0).sum())
        if n_het:
            notes.append(
                f"{n_het} markers are heterozygous (or imputed) in some parent: treated as not "
                f"segregating in the {population} progeny of that parent's crosses"
            )
        ranked = rank_crosses(
            X, list(range(n)), beta, chrom, pos_cM, intensity=intensity, population=population,
            ploidy=ploidy, allow_heterozygous=True, higher_is_better=higher,
        )  # fmt: skip
        var_of = {(r["parent1"], r["parent2"]): r["variance"] for r in ranked}
        variance = np.array([var_of[(a, b)] for a, b in zip(i.tolist(), j.tolist(), strict=True)])
    else:
        gv = gametic_variance(X, beta, ploidy=ploidy)
        variance = gv[i] + gv[j]
    variance = np.maximum(variance, 0.0)
    if direction == "optimum":
        uc = np.full(mean.shape, np.nan)
        order = np.argsort(np.abs(mean - float(target or 0.0)), kind="stable")
    else:
        uc = np.asarray(usefulness(mean, variance, intensity=intensity, higher_is_better=higher))
        order = np.argsort(-uc if higher else uc, kind="stable")
    kin = genomic_kinship(X, centre, ploidy=ploidy)
    return CrossTable(ids, i, j, mean, variance, np.sqrt(variance), uc, kin[i, j], order,
                      population, notes)  # fmt: skip


def choose_plan(
    table: CrossTable,
    *,
    n_crosses: int,
    max_use: int | None = None,
    max_kinship: float | None = None,
) -> np.ndarray:
    """The crossing plan: the best pairs in order, greedily, under the caps.

    Parameters
    ----------
    table
        From :func:`cross_table`.
    n_crosses
        Size of the plan.
    max_use
        At most this many crosses per parent (None: no cap).
    max_kinship
        Pairs whose kinship exceeds this are excluded (None: none is).

    Returns
    -------
    numpy.ndarray
        Rows of ``table`` in the plan, best first (fewer than ``n_crosses``
        when the caps leave fewer).

    Examples
    --------
    >>> t = CrossTable([1, 2, 3], np.array([0, 0, 1]), np.array([1, 2, 2]), *[np.zeros(3)] * 4,
    ...                np.array([0.1, 0.9, 0.2]), np.array([0, 1, 2]), "DH")
    >>> choose_plan(t, n_crosses=3, max_use=1).tolist(), choose_plan(t, n_crosses=3, max_kinship=0.5).tolist()
    ([0], [0, 2])
    """
    uses = np.zeros(len(table.parent_ids), dtype=np.int64)
    chosen: list[int] = []
    for r in table.order.tolist():
        if len(chosen) >= n_crosses:
            break
        if max_kinship is not None and table.kinship[r] > max_kinship:
            continue
        a, b = int(table.i[r]), int(table.j[r])
        if max_use is not None and (uses[a] >= max_use or uses[b] >= max_use):
            continue
        uses[a] += 1
        uses[b] += 1
        chosen.append(r)
    return np.array(chosen, dtype=np.int64)


# --- kinship -------------------------------------------------------------------------------


def genomic_kinship(X: np.ndarray, centre: np.ndarray, *, ploidy: int) -> np.ndarray:
    """VanRaden's G among the rows of ``X``, centred on the dataset's frequencies (any ploidy).

    Parameters
    ----------
    X
        (individuals x markers) dosages 0..ploidy.
    centre
        The dataset's mean dosage per marker (``ploidy * p``).
    ploidy
        The dataset's ploidy.

    Returns
    -------
    numpy.ndarray
        Symmetric (individuals x individuals).
    """
    G = genomic_relationship(X, ploidy=ploidy, frequencies=np.asarray(centre) / ploidy)
    return (G + G.T) / 2


def pedigree_kinship(
    rows: Sequence[tuple[int, int | None, int | None]], ids: Sequence[int], *, ploidy: int
) -> np.ndarray:
    """The pedigree relationship A among ``ids`` from ``(id, female, male)`` rows (any even ploidy).

    Parameters
    ----------
    rows
        Every individual reached with its parents (None unknown), as
        :func:`germplasm.selection_lists.pedigree_ancestry` returns them.
    ids
        The individuals wanted, in order.
    ploidy
        Even ploidy (Kerr et al. 2012 above 2).

    Returns
    -------
    numpy.ndarray
        (ids x ids) A.

    Examples
    --------
    >>> pedigree_kinship([(3, 1, 2), (1, None, None), (2, None, None)], [3, 1], ploidy=2).tolist()
    [[1.0, 0.5], [0.5, 1.0]]
    """
    names = [r[0] for r in rows]
    ped = prepare_pedigree(names, [r[2] for r in rows], [r[1] for r in rows], add_founders=True)
    A = a_matrix(ped, ploidy=ploidy)
    index = {int(v): k for k, v in enumerate(ped.ids)}
    at = [index[int(a)] for a in ids]
    return np.asarray(A[np.ix_(at, at)], dtype=np.float64)
