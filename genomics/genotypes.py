"""Genotypes in memory: one type (:class:`Genotypes`) and one reader for every format (:func:`read_genotypes`).

A :class:`Genotypes` holds ``call_dosage`` (variants x samples, int8 count of
non-reference alleles, -1 missing; the names are :mod:`genomics.variables`'),
the sample and variant ids and the ploidy, which is always known: a reader
takes it from the file where the format says it, else from the ``ploidy``
argument, and a missing ploidy is an error, never a diploid guess. Models get
their (samples x markers) matrix from :meth:`Genotypes.dosage_matrix`, with an
explicit missing-data policy.

Formats read by :func:`read_genotypes`:

- ``.vcf``, ``.vcf.gz`` (BGZF or plain gzip), ``.bcf``: GT of any ploidy
  (read with the store's own streaming parser, :func:`vcf_to_store`);
- ``.h5``/``.hdf5``: the genotype store, laid out (variants, samples) by
  definition; its orientation is never guessed from shapes;
- ``.bed`` with ``.bim`` and ``.fam`` (PLINK 1, SNP-major): the count of
  allele A1; diploid by the format's definition;
- ``.npz``: ``call_dosage`` (variants x samples), or ``X`` (alias ``dosage``,
  ``genotypes``; samples x markers), with ``sample_ids`` (or ``sample_id``),
  optional ``marker_ids`` (or ``variant_id``) and ``ploidy``;
- ``.csv``/``.tsv``/``.txt``: a header row, then one row per sample or per
  variant; the first header cell says which (``sample_id`` or ``variant_id``;
  else the ``orientation`` argument must).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from breedhub.base.checks import check_ploidy
from breedhub.base.errors import ArgumentError, ArgumentTypeError
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.variables import BY_NAME

log = logging.getLogger(__name__)

#: What the rows of a table or matrix are: one per sample, or one per variant.
Orientation = Literal["samples", "variants"]
#: What to do with missing genotypes when a model's matrix is made.
MissingPolicy = Literal["error", "mean"]

_SAMPLE_HEADERS = ("sample_id", "sample", "samples")
_VARIANT_HEADERS = ("variant_id", "variant", "variants", "marker_id", "marker", "markers")
_MISSING_TEXT = ("", "NA", "NaN", "nan", ".", "-1")
_FORMATS = ".vcf, .vcf.gz, .bcf, .h5 (genotype store), .bed (PLINK 1), .npz, .csv or .tsv"


def _some(values: Sequence[object], k: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:k])
    return shown + (f" and {len(values) - k} more" if len(values) > k else "")


def _twice(ids: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for s in ids:
        if s in seen and s not in out:
            out.append(s)
        seen.add(s)
    return out


@dataclass(frozen=True, eq=False)
class Genotypes:
    """Allele dosages of samples at variants, with their ids and the ploidy.

    Parameters
    ----------
    call_dosage
        (variants, samples) int8 count of non-reference (or counted) alleles,
        0..ploidy, -1 where the call is missing.
    sample_id
        One id per sample, unique.
    variant_id
        One id per variant (``CHROM:POS`` where the file has none).
    ploidy
        Homologues per sample; required.
    source
        Where the genotypes came from (a path), for messages.
    variant_contig, variant_position
        Each variant's contig and 1-based position, where known (a store
        or a VCF); empty / None otherwise.

    Raises
    ------
    ArgumentTypeError
        If ``call_dosage`` is not a 2-D integer array or ``ploidy`` is missing.
    ArgumentError
        If the ids do not match the shape, a sample id is repeated, or a
        dosage lies outside -1..ploidy.

    Examples
    --------
    >>> g = Genotypes(np.array([[0, 6, -1], [3, 2, 1]]), ("a", "b", "c"), ("m1", "m2"), ploidy=6)
    >>> g.n_variants, g.n_samples, g.n_missing
    (2, 3, 1)
    >>> g.dosage_matrix(missing="mean").tolist()
    [[0.0, 3.0], [6.0, 2.0], [3.0, 1.0]]
    >>> g.select_samples(["c", "a"]).call_dosage.tolist()
    [[-1, 0], [1, 3]]
    """

    call_dosage: np.ndarray
    sample_id: tuple[str, ...]
    variant_id: tuple[str, ...]
    ploidy: int
    source: str = field(default="")
    variant_contig: tuple[str, ...] = ()
    variant_position: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        ploidy = check_ploidy(self.ploidy)
        arr = np.asarray(self.call_dosage)
        if arr.dtype.kind not in "iu":
            raise ArgumentTypeError(
                f"call_dosage must be an integer array (-1 missing), not {arr.dtype}"
            )
        if arr.ndim != 2:
            raise ArgumentTypeError(
                f"call_dosage must be 2-D (variants, samples), not {arr.ndim}-D"
            )
        samples = tuple(str(s) for s in self.sample_id)
        variants = tuple(str(v) for v in self.variant_id)
        if arr.shape != (len(variants), len(samples)):
            raise ArgumentError(
                f"call_dosage has shape {arr.shape} but there are {len(variants)} variants "
                f"and {len(samples)} samples: it is laid out (variants, samples)"
            )
        twice = _twice(samples)
        if twice:
            raise ArgumentError(f"sample ids repeated: {_some(twice, 10)}")
        if arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < -1 or hi > ploidy:
                raise ArgumentError(
                    f"dosages must lie in 0..{ploidy} (-1 missing) at ploidy {ploidy}, "
                    f"found {lo if lo < -1 else hi}; is the ploidy right?"
                )
        dosage = np.ascontiguousarray(arr, dtype=np.int8)
        dosage.flags.writeable = False
        object.__setattr__(self, "call_dosage", dosage)
        object.__setattr__(self, "sample_id", samples)
        object.__setattr__(self, "variant_id", variants)
        object.__setattr__(self, "ploidy", ploidy)
        object.__setattr__(self, "source", str(self.source))
        contig = tuple(str(c) for c in self.variant_contig)
        if contig and len(contig) != len(variants):
            raise ArgumentError(
                f"variant_contig has {len(contig)} entries for {len(variants)} variants"
            )
        object.__setattr__(self, "variant_contig", contig)
        if self.variant_position is not None:
            pos = np.asarray(self.variant_position, dtype=np.int64)
            if pos.shape != (len(variants),):
                raise ArgumentError(
                    f"variant_position has shape {pos.shape} for {len(variants)} variants"
                )
            object.__setattr__(self, "variant_position", pos)

    @classmethod
    def from_matrix(
        cls,
        matrix: Any,
        sample_id: Sequence[str],
        variant_id: Sequence[str],
        *,
        ploidy: int,
        source: str = "",
    ) -> Genotypes:
        """From a (samples, markers) integer matrix, -1 missing (as models lay it out)."""
        arr = np.asarray(matrix)
        if arr.ndim != 2:
            raise ArgumentTypeError(f"matrix must be 2-D (samples, markers), not {arr.ndim}-D")
        return cls(arr.T, tuple(sample_id), tuple(variant_id), ploidy=ploidy, source=source)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.call_dosage.shape[1])

    @property
    def n_variants(self) -> int:
        """Number of variants (markers)."""
        return int(self.call_dosage.shape[0])

    @property
    def n_missing(self) -> int:
        """Number of missing calls."""
        return int((self.call_dosage < 0).sum())

    def dosage_matrix(self, *, missing: MissingPolicy = "error") -> np.ndarray:
        """The (samples, markers) float32 dosage matrix models take.

        Parameters
        ----------
        missing
            ``"error"``: a missing call is an error naming the samples;
            ``"mean"``: each missing dosage becomes its marker's mean over the
            samples called there (0 where none is), and a warning says how many.

        Raises
        ------
        InputFileError
            With ``missing="error"``, if any call is missing.
        ArgumentError
            For an unknown policy.
        """
        if missing not in ("error", "mean"):
            raise ArgumentError(f"missing must be 'error' or 'mean', not {missing!r}")
        X = self.call_dosage.T.astype(np.float32)
        gaps = self.call_dosage.T < 0
        n = int(gaps.sum())
        if not n:
            return X
        if missing == "error":
            rows = np.unique(np.nonzero(gaps)[0])
            raise InputFileError(
                self.source or "genotypes",
                f"{n} missing genotypes in {len(rows)} samples "
                f"(e.g. {', '.join(self.sample_id[i] for i in rows[:5])}): impute them first "
                "(breedhub genomics impute), or pass --impute mean",
            )
        X[gaps] = np.nan
        with warnings.catch_warnings():  # a marker with no calls at all: its mean is 0
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(X, axis=0)
        means = np.where(np.isnan(means), 0.0, means)
        X = np.where(gaps, means[None, :], X).astype(np.float32)
        log.warning(
            "%s: imputed %d missing dosages with their marker means", self.source or "genotypes", n
        )
        return X

    def select_samples(self, sample_id: Sequence[str]) -> Genotypes:
        """These samples, in this order.

        Raises
        ------
        ArgumentError
            For a sample not in the genotypes, or one listed twice.
        """
        if isinstance(sample_id, str):
            raise ArgumentTypeError("sample_id must be a list of ids, not one str")
        wanted = [str(s) for s in sample_id]
        index = {s: i for i, s in enumerate(self.sample_id)}
        unknown = [s for s in wanted if s not in index]
        if unknown:
            raise ArgumentError(
                f"{self.source or 'genotypes'}: samples not in the genotypes: {_some(unknown, 10)}"
            )
        twice = _twice(wanted)
        if twice:
            raise ArgumentError(f"samples listed twice: {_some(twice, 10)}")
        cols = np.array([index[s] for s in wanted], dtype=np.int64)
        return Genotypes(
            self.call_dosage[:, cols],
            tuple(wanted),
            self.variant_id,
            ploidy=self.ploidy,
            source=self.source,
            variant_contig=self.variant_contig,
            variant_position=self.variant_position,
        )


# ---------------------------------------------------------------------------
# Readers


def _agree(path: Path, stated: int, ploidy: int | None, where: str) -> int:
    if ploidy is not None and check_ploidy(ploidy) != stated:
        raise InputFileError(path, f"ploidy {ploidy} disagrees with {where} ploidy {stated}")
    return stated


def _require_ploidy(path: Path, ploidy: int | None, fmt: str) -> int:
    if ploidy is None:
        raise InputFileError(
            path,
            f"a {fmt} file does not say its ploidy: give it (--ploidy, or --species to "
            "take it from the registry); nothing assumes diploidy",
        )
    return check_ploidy(ploidy)


def _read_store(path: Path, ploidy: int | None) -> Genotypes:
    import h5py

    from breedhub.genomics.store_read import read_dosages

    samples_path = BY_NAME["sample_id"].path
    dosage_path = BY_NAME["call_dosage"].path
    position_path = BY_NAME["variant_position"].path
    try:
        with h5py.File(path, "r") as f:
            if samples_path in f and position_path in f and dosage_path in f:
                expected = (f[position_path].shape[0], f[samples_path].shape[0])
                if f[dosage_path].shape != expected:
                    raise InputFileError(
                        path,
                        f"{dosage_path} has shape {f[dosage_path].shape}, not (variants, samples) "
                        f"= {expected}: not a breedhub genotype store",
                    )
    except OSError as exc:
        raise InputFileError(path, f"not an HDF5 file: {exc}") from None
    genotypes = read_dosages(path)
    _agree(path, genotypes.ploidy, ploidy, "the store's")
    return genotypes


def _read_vcf(path: Path, ploidy: int | None) -> Genotypes:
    from breedhub.genomics.store_vcf import vcf_to_store

    if ploidy is not None:
        check_ploidy(ploidy)
    with tempfile.TemporaryDirectory(prefix="breedhub-genotypes-") as tmp:
        store = Path(tmp) / "genotypes.h5"
        vcf_to_store(path, store, ploidy=ploidy)
        g = _read_store(store, None)
    return Genotypes(g.call_dosage, g.sample_id, g.variant_id, ploidy=g.ploidy, source=str(path))


def _fields(path: Path, line_no: int, line: str, n: int) -> list[str]:
    fields = line.split()
    if len(fields) < n:
        raise InputFileError(path, f"{len(fields)} fields, expected {n}", record=f"line {line_no}")
    return fields


def _read_bed(path: Path, ploidy: int | None) -> Genotypes:
    if ploidy is not None and check_ploidy(ploidy) != 2:
        raise InputFileError(
            path, f"PLINK 1 .bed files are diploid by definition; ploidy {ploidy} was asked"
        )
    stem = path.with_suffix("")
    bim, fam = Path(f"{stem}.bim"), Path(f"{stem}.fam")
    for f in (bim, fam):
        if not f.is_file():
            raise InputFileError(path, f"PLINK needs {f.name} beside the .bed")
    samples = [
        _fields(fam, i, line, 6)[1]
        for i, line in enumerate(fam.read_text().splitlines(), 1)
        if line.strip()
    ]
    markers = [
        _fields(bim, i, line, 6)[1]
        for i, line in enumerate(bim.read_text().splitlines(), 1)
        if line.strip()
    ]
    raw = np.fromfile(path, dtype=np.uint8)
    if raw[:3].tolist() != [0x6C, 0x1B, 0x01]:
        raise InputFileError(path, "not a SNP-major PLINK 1 .bed file (bad magic bytes)")
    n, m = len(samples), len(markers)
    per = (n + 3) // 4
    if raw.size - 3 != per * m:
        raise InputFileError(path, f"size does not match {n} samples x {m} markers (truncated?)")
    codes = np.unpackbits(raw[3:].reshape(m, per)[:, :, None], axis=2, bitorder="little")
    codes = codes.reshape(m, per * 4, 2)[:, :n]
    two = codes[:, :, 0] + 2 * codes[:, :, 1]  # 0 hom A1, 1 missing, 2 het, 3 hom A2
    lookup = np.array([2, -1, 1, 0], dtype=np.int8)  # count of A1
    try:
        return Genotypes(lookup[two], tuple(samples), tuple(markers), ploidy=2, source=str(path))
    except ArgumentError as exc:
        raise InputFileError(path, str(exc)) from None


def _integer_dosages(path: Path, values: np.ndarray, where: str) -> np.ndarray:
    """Integer dosages (-1 missing) from a numeric array; NaN is missing."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind == "b":
        return arr.astype(np.int8)
    if arr.dtype.kind != "f":
        raise InputFileError(path, f"{where}: dosages must be numbers, not {arr.dtype}")
    gaps = np.isnan(arr)
    filled = np.where(gaps, -1.0, arr)
    if not np.array_equal(filled, np.round(filled)):
        raise InputFileError(
            path,
            f"{where}: dosages must be whole allele counts 0..ploidy (-1 or NaN missing); "
            "found fractions",
        )
    return filled.astype(np.int64)


def _read_npz(path: Path, ploidy: int | None) -> Genotypes:
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"not an .npz file: {exc}") from None
    with z:
        files = set(z.files)
        samples_key = next((k for k in ("sample_ids", "sample_id") if k in files), None)
        markers_key = next((k for k in ("marker_ids", "variant_id") if k in files), None)
        if "call_dosage" in files:
            key, by_variant = "call_dosage", True
        else:
            key = next((k for k in ("X", "dosage", "genotypes") if k in files), "")
            by_variant = False
        if not key or samples_key is None:
            raise InputFileError(
                path,
                "an .npz needs call_dosage (variants x samples) or X (samples x markers), "
                "and sample_ids",
            )
        values = _integer_dosages(path, z[key], f"array {key}")
        if values.ndim != 2:
            raise InputFileError(path, f"array {key} must be 2-D, not {values.ndim}-D")
        samples = [str(s) for s in z[samples_key]]
        n_markers = values.shape[0] if by_variant else values.shape[1]
        markers = (
            [str(m) for m in z[markers_key]]
            if markers_key is not None
            else [f"m{i}" for i in range(n_markers)]
        )
        layout = "(variants, samples)" if by_variant else "(samples, markers)"
        expected = (len(markers), len(samples)) if by_variant else (len(samples), len(markers))
        if values.shape != expected:
            raise InputFileError(
                path,
                f"array {key} has shape {values.shape}, not {layout} = {expected} "
                f"from {samples_key} and {markers_key or 'its own width'}",
            )
        if "ploidy" in files:
            stated = _agree(path, int(z["ploidy"]), ploidy, "the file's")
        else:
            stated = _require_ploidy(path, ploidy, ".npz")
    try:
        return Genotypes(
            values if by_variant else values.T,
            tuple(samples),
            tuple(markers),
            ploidy=stated,
            source=str(path),
        )
    except ArgumentError as exc:
        raise InputFileError(path, str(exc)) from None


def _read_table(
    path: Path, ploidy: int | None, orientation: Orientation | None, sep: str
) -> Genotypes:
    import polars as pl

    k = _require_ploidy(path, ploidy, "CSV/TSV")
    try:
        df = pl.read_csv(path, separator=sep, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(path, f"cannot read: {str(exc).splitlines()[0]}") from None
    if df.width < 2 or df.height < 1:
        raise InputFileError(path, "needs a header row, an id column and at least one row")
    first = df.columns[0].strip().lower()
    stated: Orientation | None = (
        "samples" if first in _SAMPLE_HEADERS else "variants" if first in _VARIANT_HEADERS else None
    )
    if orientation is not None and orientation not in ("samples", "variants"):
        raise ArgumentError(f"orientation must be 'samples' or 'variants', not {orientation!r}")
    if stated is not None and orientation is not None and stated != orientation:
        raise InputFileError(
            path,
            f"the first column {df.columns[0]!r} says one row per {stated[:-1]}, "
            f"but orientation={orientation!r} was asked",
            record="line 1",
        )
    rows = stated or orientation
    if rows is None:
        raise InputFileError(
            path,
            f"the first column {df.columns[0]!r} does not say what the rows are: name it "
            "sample_id (one row per sample) or variant_id (one row per variant), "
            "or give the orientation",
            record="line 1",
        )
    ids = [str(s) for s in df[:, 0].to_list()]
    body = df[:, 1:]
    text = body.select(pl.all().str.strip_chars().replace(list(_MISSING_TEXT), None))
    values = text.select(pl.all().cast(pl.Int64, strict=False)).to_numpy()
    bad = text.select(pl.all().is_not_null()).to_numpy() & np.isnan(values.astype(np.float64))
    if bad.any():
        r, c = (int(v[0]) for v in np.nonzero(bad))
        raise InputFileError(
            path,
            f"column {body.columns[c]!r}: {text[r, c]!r} is not a whole allele count "
            f"0..{k} (missing: empty, NA or .)",
            record=f"line {r + 2}",
        )
    dosage = np.where(np.isnan(values.astype(np.float64)), -1, values).astype(np.int64)
    over = (dosage > k) | (dosage < -1)
    if over.any():
        r, c = (int(v[0]) for v in np.nonzero(over))
        raise InputFileError(
            path,
            f"column {body.columns[c]!r}: dosage {dosage[r, c]} outside 0..{k} at ploidy {k}; "
            "is the ploidy right?",
            record=f"line {r + 2}",
        )
    twice = _twice(ids)
    if twice:
        raise InputFileError(path, f"duplicated {rows[:-1]} ids {_some(twice, 10)}")
    if rows == "samples":
        return Genotypes(dosage.T, tuple(ids), tuple(body.columns), ploidy=k, source=str(path))
    return Genotypes(dosage, tuple(body.columns), tuple(ids), ploidy=k, source=str(path))


def read_genotypes(
    path: str | os.PathLike[str],
    *,
    ploidy: int | None = None,
    orientation: Orientation | None = None,
) -> Genotypes:
    """Read genotypes from any format we accept (see the module docstring).

    Parameters
    ----------
    path
        The file; its format is told by its name (``.vcf.gz``, ``.h5``...).
    ploidy
        Where the file states its ploidy (VCF, BCF, the store, PLINK, an
        ``.npz`` with ``ploidy``) this must agree with it, when given; where it
        does not (CSV/TSV, ``.npz`` without ``ploidy``) it is required.
    orientation
        For CSV/TSV whose first header cell is not ``sample_id`` or
        ``variant_id``: ``"samples"`` (one row per sample) or ``"variants"``.

    Returns
    -------
    Genotypes

    Raises
    ------
    InputFileError
        For a missing, unreadable or malformed file (naming the file, the line
        or record where it can, and the problem), an unknown format, a missing
        ploidy, or a ploidy that disagrees with the file's.
    ArgumentTypeError, ArgumentError
        For a bad ``ploidy`` or ``orientation``.

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "g.csv").write_text("sample_id,m1,m2\\na,0,6\\nb,3,NA\\n")
    >>> g = read_genotypes(d / "g.csv", ploidy=6)
    >>> g.call_dosage.tolist(), g.sample_id, g.variant_id
    ([[0, 3], [6, -1]], ('a', 'b'), ('m1', 'm2'))
    """
    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    p = Path(path)
    if ploidy is not None:
        check_ploidy(ploidy)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    name = p.name.lower()
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")):
        return _read_vcf(p, ploidy)
    if name.endswith((".h5", ".hdf5")):
        return _read_store(p, ploidy)
    if name.endswith(".bed"):
        return _read_bed(p, ploidy)
    if name.endswith(".npz"):
        return _read_npz(p, ploidy)
    if name.endswith(".csv"):
        return _read_table(p, ploidy, orientation, ",")
    if name.endswith((".tsv", ".txt")):
        return _read_table(p, ploidy, orientation, "\t")
    raise InputFileError(p, f"unknown genotype format; use {_FORMATS}")
