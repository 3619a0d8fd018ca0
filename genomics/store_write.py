"""Writing a genotype store: one chunk-aligned writer for every path into a store."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from breedhub.base.checks import check_int
from breedhub.base.files import atomic_output
from breedhub.genomics.store_layout import (
    _CHUNK_BYTES,
    ALT,
    ALT_NUMBER,
    CALL_FIELDS,
    CHROM,
    COMPRESSION,
    CONTIGS_ATTRIBUTE,
    DOSAGE,
    FORMAT_FIELDS,
    GT,
    ID,
    POS,
    QUAL,
    REF,
    SAMPLES,
    STRING,
    _dosage,
    _provenance,
)


class _StoreWriter:
    """Appends variants to an open, empty HDF5 file in chunk-aligned writes.

    Blocks of any length go through :meth:`append`; whole chunks of
    ``chunk_variants`` rows are written as they fill (so compression never
    rewrites a chunk), ``calldata/dosage`` is computed from GT, and the contig
    index is kept. :meth:`finish` writes the last rows and the attributes.
    """

    def __init__(
        self,
        f: h5py.File,
        *,
        samples: Sequence[str],
        ploidy: int,
        chunk_variants: int,
        formats: Sequence[str] = (),
        contigs: dict[str, int | None] | None = None,
    ) -> None:
        self.f, self.rows, self.ploidy, self.n = f, chunk_variants, ploidy, 0
        n_samples = len(samples)
        f.create_dataset(SAMPLES, data=np.array(list(samples), dtype=object), dtype=STRING)
        spec: dict[str, tuple[Any, tuple[int, ...], Any]] = {
            CHROM: (STRING, (), ""),
            POS: (np.int32, (), 0),
            ID: (STRING, (), ""),
            REF: (STRING, (), ""),
            ALT: (STRING, (ALT_NUMBER,), ""),
            QUAL: (np.float32, (), np.nan),
            GT: (np.int8, (n_samples, ploidy), -1),
            DOSAGE: (np.int8, (n_samples,), -1),
        }
        for key in formats:
            width = (ALT_NUMBER + 1,) if FORMAT_FIELDS[key] == "R" else ()
            spec[CALL_FIELDS[key]] = (np.int16, (n_samples, *width), -1)
        self.buffers: dict[str, np.ndarray] = {}
        for path, (dtype, trail, fill) in spec.items():
            ds = f.create_dataset(
                path,
                shape=(0, *trail),
                maxshape=(None, *trail),
                chunks=self._chunks(np.dtype(dtype), trail),
                dtype=dtype,
                **COMPRESSION,
            )
            if path.startswith("calldata/") and path != DOSAGE:
                ds.attrs["ID"] = path.split("/")[1]
            buf = np.empty((chunk_variants, *trail), dtype=object if dtype is STRING else dtype)
            buf[...] = fill
            self.buffers[path] = buf
        self.fill = 0
        self.contigs: dict[str, dict[str, Any]] = {
            c: {"length": n} for c, n in (contigs or {}).items()
        }
        self.current: str | None = None
        self.last_pos = -1
        self.sorted = True

    def _chunks(self, dtype: np.dtype, trail: tuple[int, ...]) -> tuple[int, ...]:
        if not trail:
            return (self.rows,)
        per_sample = dtype.itemsize * int(np.prod(trail[1:], dtype=np.int64))
        most = max(1, _CHUNK_BYTES // (self.rows * per_sample))
        cols = -(-trail[0] // -(-trail[0] // most))  # even chunks: 200 samples -> 2 x 100
        return (self.rows, cols, *trail[1:])

    def append(self, block: dict[str, np.ndarray]) -> int | None:
        """Add rows (every dataset but dosage); return the offset in ``block`` of the
        first variant out of contig/position order, or None."""
        k = len(block[POS])
        unsorted = self._index(block[CHROM], block[POS])
        done = 0
        while done < k:
            m = min(k - done, self.rows - self.fill)
            for path, buf in self.buffers.items():
                if path in block:
                    buf[self.fill : self.fill + m] = block[path][done : done + m]
            self.fill += m
            done += m
            if self.fill == self.rows:
                self._flush()
        return unsorted

    def _index(self, chrom: np.ndarray, pos: np.ndarray) -> int | None:
        """Track each contig's variant range; the first out-of-order offset, if any."""
        chrom = np.asarray(chrom, dtype=object)
        pos = np.asarray(pos)
        if chrom.size == 0:
            return None
        starts = np.flatnonzero(np.r_[True, chrom[1:] != chrom[:-1]])
        stops = np.r_[starts[1:], chrom.size]
        bad: int | None = None
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            name = str(chrom[a])
            if name == self.current:
                if pos[a] < self.last_pos and bad is None:
                    bad = a
            else:
                entry = self.contigs.setdefault(name, {"length": None})
                if "start" in entry and bad is None:
                    bad = a
                entry["start"] = self.n + a
                self.current = name
            down = np.flatnonzero(np.diff(pos[a:b]) < 0)
            if down.size and bad is None:
                bad = a + int(down[0]) + 1
            self.contigs[name]["stop"] = self.n + b
            self.last_pos = int(pos[b - 1])
        self.n += chrom.size
        if bad is not None:
            self.sorted = False
        return bad

    def _flush(self) -> None:
        if not self.fill:
            return
        gt = self.buffers[GT][: self.fill]
        self.buffers[DOSAGE][: self.fill] = _dosage(gt)
        old = self.f[POS].shape[0]
        for path, buf in self.buffers.items():
            ds = self.f[path]
            ds.resize(old + self.fill, axis=0)
            ds[old : old + self.fill] = buf[: self.fill]
        self.fill = 0

    def finish(self, *, species: str, reference: str, provenance: str) -> None:
        self._flush()
        attrs = self.f.attrs
        attrs["species"] = species
        attrs["ploidy"] = self.ploidy
        attrs["reference"] = reference
        attrs["provenance"] = provenance
        if not self.sorted:  # ranges would be wrong: keep the lengths only
            for entry in self.contigs.values():
                entry.pop("start", None)
                entry.pop("stop", None)
        attrs[CONTIGS_ATTRIBUTE] = json.dumps(self.contigs)


def write_genotype_store(
    path: str | os.PathLike[str],
    *,
    samples: list[str],
    chrom: np.ndarray,
    pos: np.ndarray,
    gt: np.ndarray,
    ids: list[str] | None = None,
    ref: list[str] | None = None,
    alt: list[str] | None = None,
    species: str = "",
    reference: str = "",
    provenance: dict[str, Any] | None = None,
    chunk_variants: int = 4096,
) -> Path:
    """Write genotypes held in memory to an HDF5 store; return its path.

    The layout and attributes are :func:`vcf_to_store`'s.

    Parameters
    ----------
    path
        The store to write (replaced if it exists, only once complete).
    samples
        Sample names, in the order of ``gt``'s second dimension.
    chrom, pos
        Contig and 1-based position of each variant.
    gt
        (variants, samples, ploidy) allele indexes, -1 for missing.
    ids, ref, alt
        Marker ids (default ``CHROM:POS``), reference alleles (default "A")
        and alternate alleles (default "G"; several separated by commas).
    species, reference, provenance
        Recorded in the store's attributes.
    chunk_variants
        Variants per HDF5 chunk.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the shapes of ``gt``, ``samples``, ``chrom`` and ``pos`` disagree.

    Examples
    --------
    >>> import tempfile, h5py
    >>> gt = np.array([[[0, 1], [1, 1]], [[0, 0], [-1, -1]]])
    >>> p = write_genotype_store(Path(tempfile.mkdtemp()) / "g.h5", samples=["a", "b"],
    ...                          chrom=np.array(["1", "1"]), pos=np.array([10, 20]), gt=gt)
    >>> h5py.File(p)["calldata/dosage"][:].tolist()
    [[1, 2], [0, -1]]
    """
    gt = np.asarray(gt, dtype=np.int8)
    if gt.ndim != 3:
        raise ValueError(f"gt must be (variants, samples, ploidy), not {gt.shape}")
    n_var, n_samp, ploidy = gt.shape
    if len(samples) != n_samp or len(chrom) != n_var or len(pos) != n_var:
        raise ValueError("samples, chrom and pos must match the shape of gt")
    for name, values in (("ids", ids), ("ref", ref), ("alt", alt)):
        if values is not None and len(values) != n_var:
            raise ValueError(f"{name} has {len(values)} entries but gt has {n_var} variants")
    check_int("chunk_variants", chunk_variants, minimum=1)
    chrom_s = np.array([str(c) for c in chrom], dtype=object)
    alts = np.full((n_var, ALT_NUMBER), "", dtype=object)
    for i, a in enumerate(alt or ["G"] * n_var):
        parts = [x for x in str(a).split(",") if x not in ("", ".")][:ALT_NUMBER]
        alts[i, : len(parts)] = parts
    block = {
        CHROM: chrom_s,
        POS: np.asarray(pos, dtype=np.int32),
        ID: np.array(ids or [f"{c}:{p}" for c, p in zip(chrom_s, pos, strict=True)], dtype=object),
        REF: np.array(ref or ["A"] * n_var, dtype=object),
        ALT: alts,
        GT: gt,
    }
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as f:
        writer = _StoreWriter(f, samples=samples, ploidy=ploidy, chunk_variants=chunk_variants)
        writer.append(block)
        writer.finish(
            species=species,
            reference=reference,
            provenance=_provenance(
                "breedhub.genomics.store_write.write_genotype_store", provenance
            ),
        )
    return Path(path)
