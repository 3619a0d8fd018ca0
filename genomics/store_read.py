"""Reading a genotype store: its metadata (:func:`store_info`) and dosages of a region and samples (:func:`read_dosages`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from breedhub.base.regions import parse_region
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.store_layout import (
    CHROM,
    CONTIGS_ATTRIBUTE,
    DOSAGE,
    GT,
    ID,
    POS,
    SAMPLES,
    StoreInfo,
    _dosage,
)

# ---------------------------------------------------------------------------
# Reading a store


#: A contig whose length the store does not know: any position is taken.
_UNKNOWN_LENGTH = 2**62


if TYPE_CHECKING:
    from breedhub.genomics.genotypes import Genotypes


def open_store(h5: str | os.PathLike[str]) -> h5py.File:
    """Open a genotype store for reading; a missing, non-HDF5 or incomplete file is named."""
    path = Path(h5)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(path, f"not an HDF5 file: {exc}") from None
    missing = [p for p in (SAMPLES, CHROM, POS, GT) if p not in f]
    if missing:
        f.close()
        raise InputFileError(path, f"not a genotype store: no {', '.join(missing)}")
    return f


def store_text(values: np.ndarray) -> np.ndarray:
    """An HDF5 string column (bytes or str) as Python strings, same shape."""
    out = np.asarray(values, dtype=object)
    return np.array(
        [v.decode() if isinstance(v, bytes) else str(v) for v in out.ravel()], dtype=object
    ).reshape(out.shape)


def _contig_ranges(f: h5py.File) -> dict[str, dict[str, Any]]:
    """``{contig: {"length", "start", "stop"}}`` from the attribute, or from CHROM.

    A contig whose variants are not in one run is marked ``"unsorted"``.
    """
    raw = f.attrs.get(CONTIGS_ATTRIBUTE)
    contigs: dict[str, dict[str, Any]] = json.loads(raw) if raw is not None else {}
    n = f[POS].shape[0]
    if sum(v["stop"] - v["start"] for v in contigs.values() if "stop" in v) == n:
        return contigs
    # Not indexed (a store from scikit-allel, or unsorted): find the runs, chunk by chunk.
    contigs = {c: {"length": v.get("length")} for c, v in contigs.items()}
    ds = f[CHROM]
    step = ds.chunks[0] if ds.chunks else 65_536
    current: str | None = None
    for i in range(0, n, step):
        chrom = store_text(ds[i : i + step])
        bounds = np.flatnonzero(np.r_[True, chrom[1:] != chrom[:-1]])
        for a, b in zip(bounds.tolist(), np.r_[bounds[1:], chrom.size].tolist(), strict=True):
            name = str(chrom[a])
            entry = contigs.setdefault(name, {"length": None})
            if name != current:
                if "start" in entry:
                    entry["unsorted"] = True
                else:
                    entry["start"] = i + a
                current = name
            entry["stop"] = i + b
    return contigs


def store_info(h5: str | os.PathLike[str]) -> StoreInfo:
    """A store's samples, size, ploidy, species, reference, provenance and contigs.

    Parameters
    ----------
    h5
        The store.

    Returns
    -------
    StoreInfo

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.

    Examples
    --------
    >>> import tempfile
    >>> from breedhub.genomics.store_write import write_genotype_store
    >>> p = write_genotype_store(Path(tempfile.mkdtemp()) / "g.h5", samples=["a", "b"],
    ...     chrom=np.array(["1", "2"]), pos=np.array([5, 9]), gt=np.zeros((2, 2, 6)),
    ...     species="triticum_aestivum")
    >>> i = store_info(p)
    >>> i.samples, i.n_variants, i.ploidy, i.species, list(i.contigs)
    (['a', 'b'], 2, 6, 'triticum_aestivum', ['1', '2'])
    """
    with open_store(h5) as f:
        attrs = f.attrs
        provenance = attrs.get("provenance", "{}")
        try:
            prov = json.loads(provenance)
        except (TypeError, ValueError):
            prov = {"text": str(provenance)}
        return StoreInfo(
            path=Path(h5),
            samples=list(store_text(f[SAMPLES][:])),
            n_variants=int(f[POS].shape[0]),
            ploidy=int(attrs.get("ploidy", f[GT].shape[2])),
            species=str(attrs.get("species", "")),
            reference=str(attrs.get("reference", "")),
            provenance=prov,
            contigs={c: v.get("length") for c, v in _contig_ranges(f).items()},
        )


def _region_range(f: h5py.File, region: str) -> tuple[int, int]:
    """The variant indexes [i, j) of ``region`` ("chr2" or "chr2:1000-5000").

    The region is read with samtools' grammar, resolved against the store's own
    contigs (:func:`breedhub.base.regions.parse_region`).
    """
    contigs = _contig_ranges(f)
    lengths = {
        c: _UNKNOWN_LENGTH if v.get("length") is None else int(v["length"])
        for c, v in contigs.items()
    }
    parsed = parse_region(region, lengths)
    name, start, end = parsed.contig, parsed.start, parsed.end
    entry = contigs[name]
    if entry.get("unsorted"):
        raise ValueError(
            f"region {region!r}: contig {name} is not in one run of variants; "
            "re-import the store from a sorted VCF to read regions"
        )
    if "start" not in entry:
        return 0, 0
    i, j = int(entry["start"]), int(entry["stop"])
    if start is None and end is None:
        return i, j
    pos = f[POS][i:j]  # sorted within a contig: binary search
    if pos.size > 1 and (np.diff(pos) < 0).any():
        raise ValueError(
            f"region {region!r}: positions on {name} are not sorted; "
            "re-import the store from a sorted VCF to read regions"
        )
    lo = i + int(np.searchsorted(pos, start, side="left")) if start is not None else i
    hi = i + int(np.searchsorted(pos, end, side="right")) if end is not None else j
    return lo, hi


def read_dosages(
    h5: str | os.PathLike[str],
    *,
    region: str | None = None,
    samples: Sequence[str] | None = None,
) -> Genotypes:
    """Dosages of a region and a subset of samples, reading only those.

    Parameters
    ----------
    h5
        The store.
    region
        ``"chr2"`` or ``"chr2:1000-5000"`` (1-based, inclusive; ``"chr2:1000-"``
        to the end); None for every variant.
    samples
        Sample names, in the order wanted; None for all, in the store's order.

    Returns
    -------
    Genotypes
        The one genotype type of :mod:`breedhub.genomics.genotypes`:
        ``call_dosage`` (variants, samples) int8 count of non-reference
        alleles, -1 missing, with the variants' ids, contigs and positions
        and the store's ploidy.

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    ValueError
        For an unknown contig or bad region, or unknown or repeated samples.

    Examples
    --------
    >>> import tempfile
    >>> from breedhub.genomics.store_write import write_genotype_store
    >>> gt = np.array([[[0, 1], [1, 1], [0, 0]], [[0, 0], [1, 1], [-1, 0]]])
    >>> p = write_genotype_store(Path(tempfile.mkdtemp()) / "g.h5", samples=["a", "b", "c"],
    ...     chrom=np.array(["1", "2"]), pos=np.array([5, 9]), gt=gt)
    >>> d = read_dosages(p, region="2:1-100", samples=["c", "a"])
    >>> d.call_dosage.tolist(), d.sample_id, d.variant_id
    ([[-1, 0]], ('c', 'a'), ('2:9',))
    """
    if region is not None and not isinstance(region, str):
        raise TypeError(f"region must be a str like 'chr2:1000-5000', not {type(region).__name__}")
    if isinstance(samples, str):
        raise TypeError("samples must be a list of names, not one str")
    with open_store(h5) as f:
        names = list(store_text(f[SAMPLES][:]))
        if samples is None:
            cols: np.ndarray | slice = slice(None)
            order = None
            sample_ids = names
        else:
            sample_ids = [str(s) for s in samples]
            index = {s: i for i, s in enumerate(names)}
            unknown = [s for s in sample_ids if s not in index]
            if unknown:
                raise ValueError(
                    f"samples not in the store: {', '.join(unknown[:20])}"
                    + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
                )
            if len(set(sample_ids)) != len(sample_ids):
                twice = sorted({s for s in sample_ids if sample_ids.count(s) > 1})
                raise ValueError(f"samples listed twice: {', '.join(twice[:20])}")
            wanted = np.array([index[s] for s in sample_ids], dtype=np.int64)
            cols = np.sort(wanted)  # h5py reads increasing indexes
            order = np.searchsorted(cols, wanted)
        i, j = _region_range(f, region) if region is not None else (0, f[POS].shape[0])
        if DOSAGE in f:
            D = f[DOSAGE][i:j, cols] if j > i else np.empty((0, len(sample_ids)), np.int8)
        else:  # a store from elsewhere: from GT
            D = _dosage(f[GT][i:j, cols]) if j > i else np.empty((0, len(sample_ids)), np.int8)
        if order is not None:
            D = D[:, order]
        contig = store_text(f[CHROM][i:j])
        position = f[POS][i:j].astype(np.int64)
        ids = store_text(f[ID][i:j]) if ID in f else np.full(j - i, "", dtype=object)
        ploidy = int(f.attrs.get("ploidy", f[GT].shape[2]))
    markers = [
        m if m not in ("", ".") else f"{c}:{p}"
        for m, c, p in zip(ids, contig, position.tolist(), strict=True)
    ]
    from breedhub.genomics.genotypes import Genotypes

    return Genotypes(
        D, tuple(sample_ids), tuple(markers), ploidy=ploidy, source=str(h5),
        variant_contig=tuple(contig), variant_position=position,
    )  # fmt: skip
