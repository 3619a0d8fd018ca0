"""Slices of a genotype store: a few variant rows by a few sample columns, read without the rest.

The BrAPI server (and anything else that pages through a store) reads
genotypes a window at a time: rows are given as *runs*, sorted disjoint
``(start, stop)`` ranges of variant indexes, columns as sample (column)
indexes in any order. :func:`read_slice` reads one run with h5py hyperslabs
(a contiguous block of chunks, never the whole matrix), :func:`read_runs`
several. The run helpers (:func:`merge_runs`, :func:`intersect_runs`,
:func:`page_runs`, :func:`runs_length`) do the bookkeeping of filtered and
paged rows without materialising an index per variant.

Nothing here knows about databases or the web: paths and indexes in, arrays out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import h5py
import numpy as np

from breedhub.genomics.store_layout import ALT, CALL_FIELDS, CHROM, GT, ID, POS, REF
from breedhub.genomics.store_read import _contig_ranges, _region_range, open_store, store_text

__all__ = [
    "Contig",
    "GenotypeSlice",
    "StoreShape",
    "intersect_runs",
    "merge_runs",
    "page_runs",
    "read_runs",
    "read_slice",
    "region_runs",
    "runs_length",
    "store_contigs",
    "store_shape",
]

#: A run of variant rows: ``(start, stop)``, stop excluded.
Run = tuple[int, int]

#: Read the whole span of columns (then pick) when it is at most this many times the columns asked.
_DENSE_COLUMNS = 4


@dataclass(frozen=True)
class StoreShape:
    """A store's size, ploidy and the per-call fields it holds besides GT."""

    n_variants: int
    n_samples: int
    ploidy: int
    fields: tuple[str, ...]  # among "DP", "GQ"


@dataclass(frozen=True)
class Contig:
    """A contig of the store: its name, length (None if unknown) and variant rows."""

    index: int
    name: str
    length: int | None
    start: int  # first variant row (0 with stop 0 when it holds none)
    stop: int


@dataclass(frozen=True)
class GenotypeSlice:
    """Genotypes of some variant rows by some sample columns, with the rows' metadata.

    Attributes
    ----------
    rows
        Variant indexes (int64), in store order.
    gt
        (rows, columns, ploidy) int8 allele indexes, -1 missing, columns in the order asked.
    contig, position, variant_id, ref
        Per row: contig name, 1-based position, marker id ("" when none), reference allele.
    alt
        Per row, the alternate alleles (empty ones dropped).
    ploidy
        The store's ploidy.
    fields
        ``{"DP": (rows, columns) int16, ...}`` for the fields asked that the store has; -1 missing.
    """

    rows: np.ndarray
    gt: np.ndarray
    contig: tuple[str, ...]
    position: np.ndarray
    variant_id: tuple[str, ...]
    ref: tuple[str, ...]
    alt: tuple[tuple[str, ...], ...]
    ploidy: int
    fields: dict[str, np.ndarray] = field(default_factory=dict)


def _ploidy(f: h5py.File) -> int:
    return int(f.attrs.get("ploidy", f[GT].shape[2]))


def store_shape(h5: str | os.PathLike[str]) -> StoreShape:
    """Number of variants and samples, ploidy and extra call fields of a store (no data read).

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    """
    with open_store(h5) as f:
        n_var, n_samp = f[GT].shape[:2]
        fields = tuple(k for k in ("DP", "GQ") if CALL_FIELDS[k] in f)
        return StoreShape(int(n_var), int(n_samp), _ploidy(f), fields)


def store_contigs(h5: str | os.PathLike[str]) -> list[Contig]:
    """The store's contigs in order, with lengths and the rows of their variants.

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    """
    with open_store(h5) as f:
        contigs = _contig_ranges(f)
    return [
        Contig(
            i,
            name,
            None if v.get("length") is None else int(v["length"]),
            int(v.get("start", 0)),
            int(v.get("stop", 0)),
        )
        for i, (name, v) in enumerate(contigs.items())
    ]


def region_runs(h5: str | os.PathLike[str], regions: Iterable[str]) -> list[Run]:
    """The rows of the variants in any of ``regions`` (``"chr2"``, ``"chr2:1000-5000"``), as runs.

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    ValueError
        For an unknown contig or a malformed region.
    """
    with open_store(h5) as f:
        return merge_runs(_region_range(f, r) for r in regions)


# ---------------------------------------------------------------------------
# Runs of rows


def merge_runs(runs: Iterable[Run]) -> list[Run]:
    """Sorted, disjoint, non-empty runs covering the same rows as ``runs``.

    >>> merge_runs([(5, 7), (0, 2), (1, 3), (7, 9), (4, 4)])
    [(0, 3), (5, 9)]
    """
    out: list[Run] = []
    for a, b in sorted((int(a), int(b)) for a, b in runs if b > a):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def intersect_runs(left: Sequence[Run], right: Sequence[Run]) -> list[Run]:
    """The rows in both lists of merged runs.

    >>> intersect_runs([(0, 10)], [(2, 3), (8, 12)])
    [(2, 3), (8, 10)]
    """
    out: list[Run] = []
    i = j = 0
    while i < len(left) and j < len(right):
        a, b = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if a < b:
            out.append((a, b))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def runs_length(runs: Sequence[Run]) -> int:
    """Number of rows in ``runs``."""
    return sum(b - a for a, b in runs)


def page_runs(runs: Sequence[Run], offset: int, limit: int) -> list[Run]:
    """The ``limit`` rows after the first ``offset`` of ``runs``, as runs.

    >>> page_runs([(0, 3), (10, 20)], 2, 4)
    [(2, 3), (10, 13)]
    """
    out: list[Run] = []
    for a, b in runs:
        if limit <= 0:
            break
        n = b - a
        if offset >= n:
            offset -= n
            continue
        start = a + offset
        stop = min(b, start + limit)
        out.append((start, stop))
        limit -= stop - start
        offset = 0
    return out


# ---------------------------------------------------------------------------
# Reading


def _columns(ds: h5py.Dataset, start: int, stop: int, cols: np.ndarray) -> np.ndarray:
    """``ds[start:stop, cols]`` with hyperslabs: the span of columns when dense, else the columns."""
    if cols.size == 0:
        return np.empty((stop - start, 0, *ds.shape[2:]), dtype=ds.dtype)
    unique, inverse = np.unique(cols, return_inverse=True)
    lo, hi = int(unique[0]), int(unique[-1]) + 1
    if hi - lo <= _DENSE_COLUMNS * unique.size:
        block = ds[start:stop, lo:hi]
        return block[:, unique - lo][:, inverse]
    block = ds[start:stop, unique.tolist()]  # h5py: increasing indexes, one point selection
    return block[:, inverse]


def read_slice(
    h5: str | os.PathLike[str],
    start: int,
    stop: int,
    columns: Sequence[int],
    *,
    fields: Sequence[str] = (),
) -> GenotypeSlice:
    """Genotypes of the variant rows ``[start, stop)`` by the sample ``columns``.

    Only the chunks holding those rows and columns are read.

    Parameters
    ----------
    h5
        The store.
    start, stop
        The variant rows (0-based, ``stop`` excluded); clipped to the store.
    columns
        Sample column indexes, in the order wanted (repeats allowed).
    fields
        Extra call fields to read (``"DP"``, ``"GQ"``); those the store lacks are left out.

    Returns
    -------
    GenotypeSlice

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    IndexError
        If a column is outside the store.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from breedhub.genomics.store_write import write_genotype_store
    >>> gt = np.array([[[0, 1], [1, 1], [0, 0]], [[0, 0], [1, 1], [-1, 0]]])
    >>> p = write_genotype_store(Path(tempfile.mkdtemp()) / "g.h5", samples=["a", "b", "c"],
    ...     chrom=np.array(["1", "2"]), pos=np.array([5, 9]), gt=gt)
    >>> s = read_slice(p, 1, 2, [2, 0])
    >>> s.gt.tolist(), s.contig, s.position.tolist()
    ([[[-1, 0], [0, 0]]], ('2',), [9])
    """
    return read_runs(h5, [(start, stop)], columns, fields=fields)


def read_runs(
    h5: str | os.PathLike[str],
    runs: Sequence[Run],
    columns: Sequence[int],
    *,
    fields: Sequence[str] = (),
) -> GenotypeSlice:
    """:func:`read_slice` of several runs of rows, concatenated in order.

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    IndexError
        If a column is outside the store.
    """
    cols = np.asarray(list(columns), dtype=np.int64)
    with open_store(h5) as f:
        n_var, n_samp = f[GT].shape[:2]
        ploidy = _ploidy(f)
        if cols.size and (cols.min() < 0 or cols.max() >= n_samp):
            raise IndexError(f"sample columns must be in 0..{n_samp - 1}")
        wanted = [k for k in fields if k in CALL_FIELDS and CALL_FIELDS[k] in f]
        clipped = [(max(0, a), min(n_var, b)) for a, b in runs]
        clipped = [(a, b) for a, b in clipped if b > a]
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("rows", "gt", "chrom", "pos")}
        parts.update({k: [] for k in ("id", "ref", "alt", *wanted)})
        for a, b in clipped:
            parts["rows"].append(np.arange(a, b, dtype=np.int64))
            parts["gt"].append(_columns(f[GT], a, b, cols))
            parts["chrom"].append(store_text(f[CHROM][a:b]))
            parts["pos"].append(f[POS][a:b].astype(np.int64))
            parts["id"].append(
                store_text(f[ID][a:b]) if ID in f else np.full(b - a, "", dtype=object)
            )
            parts["ref"].append(
                store_text(f[REF][a:b]) if REF in f else np.full(b - a, "", dtype=object)
            )
            alt = f[ALT][a:b] if ALT in f else np.empty((b - a, 0), dtype=object)
            parts["alt"].append(store_text(alt).reshape(b - a, -1))
            for k in wanted:
                parts[k].append(_columns(f[CALL_FIELDS[k]], a, b, cols))
    empty_gt = np.empty((0, cols.size, ploidy), dtype=np.int8)

    def cat(key: str, empty: np.ndarray) -> np.ndarray:
        return np.concatenate(parts[key]) if parts[key] else empty

    alts = cat("alt", np.empty((0, 0), dtype=object))
    return GenotypeSlice(
        rows=cat("rows", np.empty(0, np.int64)),
        gt=cat("gt", empty_gt).astype(np.int8, copy=False),
        contig=tuple(str(c) for c in cat("chrom", np.empty(0, object))),
        position=cat("pos", np.empty(0, np.int64)),
        variant_id=tuple("" if v in (".", "") else str(v) for v in cat("id", np.empty(0, object))),
        ref=tuple(str(r) for r in cat("ref", np.empty(0, object))),
        alt=tuple(tuple(str(x) for x in row if x not in ("", ".")) for row in alts),
        ploidy=ploidy,
        fields={
            k: cat(k, np.empty((0, cols.size), dtype=np.int16)).astype(np.int16, copy=False)
            for k in wanted
        },
    )
