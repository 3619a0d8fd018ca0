"""The HDF5 genotype store, laid out as scikit-allel's ``vcf_to_hdf5`` writes it.

``samples``; ``variants/CHROM``, ``POS``, ``ID``, ``REF``, ``ALT`` (variants x 3),
``QUAL``; ``calldata/GT`` (variants x samples x ploidy, int8, -1 missing) and,
when the VCF declares them, ``calldata/AD``, ``DP``, ``GQ`` (int16, -1 missing);
plus ``calldata/dosage`` (variants x samples, int8 count of non-reference
alleles, -1 missing) for models. Every dataset is chunked, resizable and
gzip-compressed (level 1). Root attributes name the species, ploidy, reference and
provenance (see :data:`genomics.variables.ATTRIBUTES`) and, in ``contigs``,
each contig's length and the range of variant indexes it holds. scikit-allel
and h5py read a store as it is; paths and meanings are in
:mod:`genomics.variables`.

- :func:`vcf_to_store` streams a VCF, VCF.gz or BCF into a store, chunk by
  chunk, with memory independent of the number of variants;
- :func:`write_genotype_store` writes arrays already in memory (same layout);
- :func:`store_to_vcf` and :func:`store_to_plink` export, streamed;
- :func:`read_dosages` reads a region and a subset of samples;
  :func:`store_info` the metadata.

Every output is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import itertools
import json
import os
import re
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.files import GZIP_MAGIC, atomic_output, remove_stale_index, vcf_index_path
from breedhub.genomics.variables import BY_NAME

STRING = h5py.string_dtype()

#: Columns of ``variants/ALT`` (scikit-allel's ``alt_number``); more are dropped with a warning.
ALT_NUMBER = 3
#: The FORMAT fields stored besides GT when the header declares them Integer: ID -> Number.
FORMAT_FIELDS: dict[str, str] = {"AD": "R", "DP": "1", "GQ": "1"}
#: Root attribute: JSON ``{contig: {"length": int | null, "start": i, "stop": j}}`` in
#: header order; ``start``/``stop`` bound the contig's variant indexes (absent when none).
CONTIGS_ATTRIBUTE = "contigs"
#: Filter of every chunked dataset. On 200 samples x 100,000 random diploid SNPs,
#: writing GT and dosage took 0.05 s CPU uncompressed (82 MB), 0.5 s with LZF
#: (27 MB) and 0.8 s with gzip level 1 (14 MB), reading back 0.05, 0.37 and 0.33 s.
#: gzip 1 it is: half LZF's size, reads as fast, and every HDF5 reader (R's
#: rhdf5, h5dump, Java) decodes it, where LZF needs h5py's own filter.
COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1}

_PATH = {v.name: v.path for v in BY_NAME.values()}
SAMPLES = _PATH["sample_id"]
CHROM, POS, ID = _PATH["variant_contig"], _PATH["variant_position"], _PATH["variant_id"]
REF, ALT, QUAL = _PATH["variant_ref"], _PATH["variant_alt"], _PATH["variant_qual"]
GT, DOSAGE = _PATH["call_genotype"], _PATH["call_dosage"]
CALL_FIELDS = {
    "AD": _PATH["call_allele_depth"],
    "DP": _PATH["call_depth"],
    "GQ": _PATH["call_genotype_quality"],
}

_CHUNK_BYTES = 1 << 22  # target size of one HDF5 chunk (before compression)
_PARSE_FIELDS = 1 << 18  # sample fields parsed at a time: bounds the parser's temporaries
_READ_BYTES = 1 << 20  # bytes read from the file at a time
#: zlib level of exported VCFs. On an 83 MB VCF of 200 x 100,000 diploid SNPs: level 1
#: took 0.9 s (12.4 MB), 4 took 1.8 s (9.1 MB), bgzip's default 6 took 7.6 s (8.1 MB).
_BGZF_LEVEL = 4
_INT16_MAX = np.iinfo(np.int16).max
_FIXED_COLUMNS = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
_TAB, _NL, _COLON, _COMMA, _DOT, _SLASH, _PIPE = (ord(c) for c in "\t\n:,./|")


# ---------------------------------------------------------------------------
# Value objects


@dataclass(frozen=True)
class StoreSummary:
    """What :func:`vcf_to_store` wrote."""

    path: Path
    n_samples: int
    n_variants: int
    ploidy: int
    seconds: float


@dataclass(frozen=True)
class StoreInfo:
    """A store's metadata, read without its genotypes (:func:`store_info`)."""

    path: Path
    samples: list[str]
    n_variants: int
    ploidy: int
    species: str
    reference: str
    provenance: dict[str, Any]
    contigs: dict[str, int | None]  # contig -> length (None when unknown), in order


@dataclass(frozen=True)
class Dosages:
    """A (samples x markers) dosage matrix read from a store (:func:`read_dosages`)."""

    dosages: np.ndarray  # (samples, markers) int8 count of non-reference alleles, -1 missing
    sample_ids: list[str]
    marker_ids: list[str]  # variants/ID, or CHROM:POS where it is "." or ""
    contig: np.ndarray  # (markers,) str
    position: np.ndarray  # (markers,) int, 1-based
    ploidy: int


# ---------------------------------------------------------------------------
# Writing: one writer for every path into a store


def _dosage(gt: np.ndarray) -> np.ndarray:
    """Count of non-reference alleles per call, -1 where any allele is missing."""
    dosage = np.zeros(gt.shape[:2], dtype=np.int8)
    missing = np.zeros(gt.shape[:2], dtype=bool)
    for k in range(gt.shape[2]):  # a loop over the short ploidy axis beats a reduction
        allele = gt[:, :, k]
        dosage += allele > 0
        missing |= allele < 0
    dosage[missing] = -1
    return dosage


def _provenance(extra: dict[str, Any] | None, **fields: Any) -> str:
    from breedhub.base.version import __version__

    record = {
        "software": f"breedhub {__version__}",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **fields,
        **(extra or {}),
    }
    return json.dumps(record, default=str)


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
    if isinstance(chunk_variants, bool) or not isinstance(chunk_variants, int):
        raise TypeError(f"chunk_variants must be an int, not {type(chunk_variants).__name__}")
    if chunk_variants < 1:
        raise ValueError(f"chunk_variants must be at least 1, not {chunk_variants}")
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
                provenance, command="breedhub.genomics.store.write_genotype_store"
            ),
        )
    return Path(path)


# ---------------------------------------------------------------------------
# Reading VCF text: the header, then blocks of whole lines


@dataclass
class _Header:
    samples: list[str]
    contigs: dict[str, int | None]
    formats: dict[str, tuple[str, str]]  # ID -> (Number, Type)
    n_lines: int  # the first record is on line n_lines + 1


_CONTIG_RE = re.compile(r"##contig=<ID=([^,<>=\s]+)((?:,[A-Za-z_][\w.]*=(?:\"[^\"]*\"|[^,>]*))*)>")
_FORMAT_RE = re.compile(r"##FORMAT=<ID=([^,<>=\s]+),Number=([^,]+),Type=([A-Za-z]+)(,.*)?>")


def _parse_header(path: Path, readline: Callable[[], bytes]) -> _Header:
    contigs: dict[str, int | None] = {}
    formats: dict[str, tuple[str, str]] = {}
    for n in itertools.count(1):
        raw = readline()
        if not raw:
            raise InputFileError(
                path,
                "the file ends before the #CHROM header line: not a VCF, or truncated",
                record=f"line {n}",
            )
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise InputFileError(
                path, "not UTF-8 text: is this a VCF?", record=f"line {n}"
            ) from None

        def bad(problem: str, n: int = n) -> InputFileError:
            return InputFileError(path, problem, record=f"line {n}")

        if n == 1 and not line.startswith("##fileformat=VCF"):
            raise bad(f"a VCF starts with ##fileformat=VCFv4.x, not {line[:40]!r}")
        if line.startswith("##contig"):
            m = _CONTIG_RE.fullmatch(line)
            if not m:
                raise bad(
                    f"malformed ##contig line {line[:80]!r}: write ##contig=<ID=name,length=N>"
                )
            length = re.search(r",length=([^,>]*)", m.group(2))
            if length and not (length.group(1).isdigit() and int(length.group(1)) > 0):
                raise bad(
                    f"contig {m.group(1)}: length {length.group(1)!r} is not a positive integer"
                )
            if m.group(1) in contigs:
                raise bad(f"contig {m.group(1)} is declared twice")
            contigs[m.group(1)] = int(length.group(1)) if length else None
        elif line.startswith("##FORMAT"):
            m = _FORMAT_RE.fullmatch(line)
            if not m:
                raise bad(f"malformed ##FORMAT line {line[:80]!r}: needs ID, Number and Type")
            formats[m.group(1)] = (m.group(2), m.group(3))
        elif line.startswith("##"):
            if "=" not in line[2:]:
                raise bad(f"a meta line is ##key=value, not {line[:80]!r}")
        elif line.startswith("#CHROM"):
            cols = line.split("\t")
            if cols[:8] != _FIXED_COLUMNS:
                raise bad(
                    "the #CHROM line must hold the tab-separated columns "
                    f"{' '.join(_FIXED_COLUMNS)} FORMAT and the samples, not {line[:80]!r}"
                )
            if len(cols) < 10:
                raise bad("no samples: a VCF without genotype columns cannot make a genotype store")
            if cols[8] != "FORMAT":
                raise bad(f"the ninth column must be FORMAT, not {cols[8]!r}")
            samples = cols[9:]
            empty = [i + 10 for i, s in enumerate(samples) if not s.strip()]
            if empty:
                raise bad(f"empty sample names in columns {', '.join(map(str, empty[:10]))}")
            seen: set[str] = set()
            dupes = sorted({s for s in samples if s in seen or seen.add(s)})  # type: ignore[func-returns-value]
            if dupes:
                raise bad(f"samples named twice: {', '.join(dupes[:10])}")
            return _Header(samples, contigs, formats, n)
        elif line.startswith("#"):
            raise bad(f"a header line starts with ## (or is the #CHROM line), not {line[:40]!r}")
        else:
            raise bad("a record before the #CHROM header line")
    raise AssertionError  # pragma: no cover


class _Hashing(io.RawIOBase):
    """A raw reader that feeds what it reads to a sha256."""

    def __init__(self, fh: io.FileIO) -> None:
        self.fh, self.sha = fh, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.fh.readinto(b)
        self.sha.update(memoryview(b)[:n])
        return n


def _line_blocks(read: Callable[[int], bytes], n_lines: int) -> Iterator[bytes]:
    """Blocks of ``n_lines`` whole lines (the last may be shorter), each ending in a newline."""
    buf, off = b"", 0  # unread data is buf[off:]
    ends = np.empty(0, dtype=np.int64)  # newline positions in buf, from off on
    eof = False
    while True:
        if len(ends) < n_lines and not eof:
            data = read(_READ_BYTES)
            if data:
                new = np.flatnonzero(np.frombuffer(data, np.uint8) == _NL) + (len(buf) - off)
                ends = np.r_[ends - off, new]
                buf, off = buf[off:] + data, 0
                continue
            eof = True
        if len(ends) >= n_lines:
            cut = int(ends[n_lines - 1]) + 1
            yield buf[off:cut]
            off, ends = cut, ends[n_lines:]
        else:
            if off < len(buf):
                rest = buf[off:]
                yield rest if rest.endswith(b"\n") else rest + b"\n"
            return


class _VcfSource:
    """A VCF (plain or gzip/BGZF) or BCF: header, blocks of record lines, sha256."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stack = contextlib.ExitStack()
        self.is_bcf = False
        with open(path, "rb") as fh:
            magic = fh.read(4)
        gz = magic[:2] == GZIP_MAGIC
        name = path.name.lower()
        if name.endswith((".gz", ".bgz")) and not gz:
            raise InputFileError(path, "the name ends in .gz but the file is not gzip-compressed")
        if name.endswith(".bcf") or magic == b"BCF\x02":
            self.is_bcf = True
        elif gz:
            try:
                with gzip.open(path, "rb") as z:
                    self.is_bcf = z.read(4) == b"BCF\x02"
            except (OSError, EOFError, zlib.error) as exc:
                raise InputFileError(path, f"cannot decompress: {exc}") from None
        if self.is_bcf:
            self._open_bcf()
        else:
            self.hashing = _Hashing(self.stack.enter_context(open(path, "rb", buffering=0)))
            stream: Any = io.BufferedReader(self.hashing, _READ_BYTES)
            if gz:
                stream = gzip.GzipFile(fileobj=stream, mode="rb")
            self.stream = stream
            self.readline = self._guard(stream.readline)
            self.read = self._guard(stream.read)

    def _guard(self, fn: Callable[..., bytes]) -> Callable[..., bytes]:
        path = self.path

        def call(*args: Any) -> bytes:
            try:
                return fn(*args)
            except (OSError, EOFError, zlib.error) as exc:
                problem = "truncated" if isinstance(exc, EOFError) else str(exc)
                raise InputFileError(path, f"cannot decompress: {problem}") from None

        return call

    def _open_bcf(self) -> None:
        import pysam

        verbosity = pysam.set_verbosity(0)  # htslib would print "no index file" for BCFs
        self.stack.callback(pysam.set_verbosity, verbosity)
        try:
            vf = self.stack.enter_context(pysam.VariantFile(str(self.path), "r"))
        except (OSError, ValueError) as exc:
            raise InputFileError(self.path, f"cannot read as BCF: {exc}") from None
        lines = iter(str(vf.header).encode().splitlines(keepends=True))
        records = iter(vf)
        self.readline = lambda: next(lines, b"")

        def read_lines(n: int) -> bytes:
            try:
                return "".join(str(r) for r in itertools.islice(records, n)).encode()
            except (OSError, ValueError) as exc:
                raise InputFileError(self.path, f"cannot read BCF record: {exc}") from None

        self.read_lines = read_lines

    def blocks(self, n_lines: int) -> Iterator[bytes]:
        if self.is_bcf:
            while block := self.read_lines(n_lines):
                yield block
        else:
            yield from _line_blocks(self.read, n_lines)

    def sha256(self) -> str:
        """The input file's sha256 (after every block was read)."""
        if self.is_bcf:
            with open(self.path, "rb") as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()
        while self.hashing.read(1 << 20):  # anything the decompressor left unread
            pass
        return self.hashing.sha.hexdigest()

    def close(self) -> None:
        self.stack.close()


# ---------------------------------------------------------------------------
# Parsing blocks of record lines, vectorised over sample fields


class _Block:
    """Where a block's rows are in the file, to name them in errors."""

    def __init__(
        self, path: Path, samples: list[str], first_record: int, first_line: int | None
    ) -> None:
        self.path, self.samples = path, samples
        self.first_record, self.first_line = first_record, first_line
        self.where: list[tuple[bytes, bytes]] = []

    def record(self, i: int) -> str:
        text = f"record {self.first_record + i}"
        if i < len(self.where):
            chrom, pos = self.where[i]
            text += f" ({chrom.decode(errors='replace')}:{pos.decode(errors='replace')})"
        if self.first_line is not None:
            text += f", line {self.first_line + i}"
        return text

    def error(self, i: int, problem: str) -> InputFileError:
        return InputFileError(self.path, problem, record=self.record(i))


def _piece(seps: np.ndarray, s: np.ndarray, e: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the k-th piece of each span [s, e) split at the positions ``seps``.

    An absent piece is the empty span (e, e).
    """
    if seps.size == 0:
        return (s, e) if k == 0 else (e, e)
    last = seps.size - 1
    if k:
        i = np.searchsorted(seps, s) + (k - 1)
        c = seps[np.minimum(i, last)]
        s = np.where((i <= last) & (c < e), c + 1, e)
    j = np.searchsorted(seps, s)
    c = seps[np.minimum(j, last)]
    return s, np.where((j <= last) & (c < e), c, e)


def _parse_ints(
    a: np.ndarray, s: np.ndarray, e: np.ndarray, bad: Callable[[int, str], InputFileError]
) -> tuple[np.ndarray, int]:
    """Non-negative integers in spans [s, e) as int16 (-1 for "." or empty); and how
    many were larger than int16 holds (stored as its maximum)."""
    n = s.size
    out = np.full(n, -1, dtype=np.int64)
    length = e - s
    missing = (length == 0) | ((length == 1) & (a[s] == _DOT))
    fast = np.flatnonzero(~missing & (length <= 9))
    if fast.size:
        lf = length[fast]
        width = int(lf.max())
        cols = np.arange(width)
        inside = cols < lf[:, None]
        digits = a[np.where(inside, s[fast, None] + cols, s[fast, None])].astype(np.int64) - 48
        ok = (((digits >= 0) & (digits <= 9)) | ~inside).all(axis=1)
        value = np.zeros(fast.size, dtype=np.int64)
        for c in range(width):
            value = np.where(inside[:, c], value * 10 + digits[:, c], value)
        out[fast[ok]] = value[ok]
        slow = np.r_[fast[~ok], np.flatnonzero(~missing & (length > 9))]
    else:
        slow = np.flatnonzero(~missing & (length > 9))
    for j in slow.tolist():
        text = a[s[j] : e[j]].tobytes().decode("ascii", "replace")
        if not text.isdigit():
            raise bad(j, f"{text!r} is not a non-negative integer")
        out[j] = int(text)
    over = int((out > _INT16_MAX).sum())
    if over:
        np.minimum(out, _INT16_MAX, out=out)
    return out.astype(np.int16), over


def _gt_ploidy(text: bytes) -> int:
    return text.count(b"/") + text.count(b"|") + 1


# Byte -> allele index (digits), -1 ("."), or 100 (not part of a GT).
_ALLELE = np.full(256, 100, dtype=np.int8)
_ALLELE[48:58] = np.arange(10)
_ALLELE[_DOT] = -1
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[[_SLASH, _PIPE]] = True


def _parse_gt(
    a: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    ploidy: int,
    bad: Callable[[int, str], InputFileError],
) -> np.ndarray:
    """GT spans [s, e) as (n, ploidy) int8 allele indexes, -1 missing.

    Calls of single-digit alleles (``0/1``, ``0|1|1|.``) are decoded at once,
    one allele position at a time; others (``10/1``, a lone ``.``, another
    ploidy, garbage) one by one.
    """
    out = np.full((s.size, ploidy), -1, dtype=np.int8)
    width = 2 * ploidy - 1
    length = e - s
    fast = np.flatnonzero(length == width)
    if fast.size:
        start = s[fast]
        ok = np.ones(fast.size, dtype=bool)
        values = np.empty((fast.size, ploidy), dtype=np.int8)
        for k in range(ploidy):
            values[:, k] = _ALLELE[a[start + 2 * k]]
            if k:
                ok &= _SEPARATOR[a[start + 2 * k - 1]]
        ok &= (values != 100).all(axis=1) if ploidy > 1 else values[:, 0] != 100
        if ok.all():
            out[fast] = values
            todo = np.flatnonzero(length != width)
        else:
            out[fast[ok]] = values[ok]
            todo = np.sort(np.r_[fast[~ok], np.flatnonzero(length != width)])
    else:
        todo = np.arange(s.size)
    if todo.size:  # a lone "." is missing at any ploidy
        todo = todo[~((length[todo] == 1) & (a[s[todo]] == _DOT))]
    for j in todo.tolist():
        text = a[s[j] : e[j]].tobytes()
        alleles = re.split(rb"[/|]", text)
        if len(alleles) != ploidy:
            raise bad(
                j,
                f"GT {text.decode('ascii', 'replace')!r} has ploidy {len(alleles)} "
                f"but expected {ploidy}",
            )
        for k, allele in enumerate(alleles):
            if allele == b".":
                continue
            if not allele.isdigit() or int(allele) > 127:
                raise bad(j, f"GT {text.decode('ascii', 'replace')!r} is not a genotype (like 0/1)")
            out[j, k] = int(allele)
    return out


def _gt_columns(text: bytes, s: np.ndarray, e: np.ndarray, ploidy: int) -> np.ndarray | None:
    """(lines, samples, ploidy) GT when every call of these lines is a GT-only field of
    single-digit alleles (the common case), decoded through a strided view; else None."""
    width = 2 * ploidy - 1
    if not ((e - s) == width).all():
        return None
    span = s.shape[1] * (width + 1)
    rows = b"".join(text[x : x + span] for x in s[:, 0].tolist())
    columns = np.frombuffer(rows, dtype=np.uint8).reshape(s.shape[0], s.shape[1], width + 1)
    values = _ALLELE[columns[:, :, 0:width:2]]
    if (values == 100).any() or not _SEPARATOR[columns[:, :, 1:width:2]].all():
        return None
    return values


@dataclass
class _Parsed:
    block: dict[str, np.ndarray]
    ploidy: int
    n_alt_dropped: int  # records with more ALT alleles than ALT_NUMBER
    n_clipped: int  # FORMAT values above int16's maximum


def _parse_block(
    text: bytes,
    where: _Block,
    *,
    n_samples: int,
    ploidy: int | None,
    formats: Sequence[str],
) -> _Parsed:
    """Parse whole VCF record lines into the store's arrays."""
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n")
    a = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(a == _NL)
    tabs = np.flatnonzero(a == _TAB)
    n, per = ends.size, 8 + n_samples
    starts = np.r_[0, ends[:-1] + 1]
    fits = tabs.size == n * per
    if fits:
        t = tabs.reshape(n, per)
        fits = bool((t[:, -1] < ends).all() and (t[:, 0] > starts - 1).all())
    if not fits:
        counts = np.bincount(np.searchsorted(ends, tabs), minlength=n)[:n]
        i = int(np.flatnonzero(counts != per)[0])
        if ends[i] == starts[i]:
            raise where.error(i, "an empty line: remove it")
        raise where.error(i, f"{counts[i] + 1} tab-separated columns, but the header has {per + 1}")

    # The fixed columns, line by line.
    heads = [text[i:j].split(b"\t") for i, j in zip(starts.tolist(), t[:, 8].tolist(), strict=True)]
    c_b, p_b, id_b, ref_b, alt_b, qual_b, _filter, _info, fmt = zip(*heads, strict=True)
    where.where = list(zip(c_b, p_b, strict=True))
    chrom = np.array([c.decode() for c in c_b], dtype=object)
    if not all(c_b):
        raise where.error(c_b.index(b""), "empty CHROM")
    try:
        pos64 = np.array(p_b).astype(np.int64)
    except ValueError:
        pos64 = np.array([int(p) if p.isdigit() else -1 for p in p_b])
    out_of_range = np.flatnonzero((pos64 < 0) | (pos64 > 2**31 - 1))
    if out_of_range.size:
        i = int(out_of_range[0])
        raise where.error(i, f"POS {p_b[i].decode(errors='replace')!r} is not a position")
    pos = pos64.astype(np.int32)
    try:
        qual = np.array([np.nan if q == b"." else float(q) for q in qual_b], dtype=np.float32)
    except ValueError:
        i = next(i for i, q in enumerate(qual_b) if q != b"." and not _is_float(q))
        raise where.error(
            i, f"QUAL {qual_b[i].decode(errors='replace')!r} is not a number"
        ) from None
    alts = [[] if x == b"." else x.decode().split(",") for x in alt_b]
    n_alt = np.array([len(x) for x in alts])
    dropped = int((n_alt > ALT_NUMBER).sum())
    pad = [""] * ALT_NUMBER
    alt = np.array([(x + pad)[:ALT_NUMBER] for x in alts], dtype=object).reshape(n, ALT_NUMBER)
    ids = np.array([x.decode() for x in id_b], dtype=object)
    ref = np.array([x.decode() for x in ref_b], dtype=object)

    # The sample columns, vectorised per FORMAT.
    s_all = t[:, 8:] + 1
    e_all = np.empty_like(s_all)
    e_all[:, :-1] = t[:, 9:]
    e_all[:, -1] = ends
    colons = np.flatnonzero(a == _COLON)
    commas = np.flatnonzero(a == _COMMA) if "AD" in formats else colons[:0]
    gt: np.ndarray | None = None
    calls = {
        key: np.full(
            (n, n_samples, ALT_NUMBER + 1) if FORMAT_FIELDS[key] == "R" else (n, n_samples),
            -1,
            dtype=np.int16,
        )
        for key in formats
    }
    clipped = 0
    rows_of: dict[bytes, list[int]] = {}
    for i, f in enumerate(fmt):
        rows_of.setdefault(f, []).append(i)
    for f, rows_list in rows_of.items():
        rows = slice(None) if len(rows_list) == n else np.array(rows_list)
        row_index = np.arange(n)[rows]
        keys = f.split(b":")
        if b"GT" in keys and keys[0] != b"GT":
            raise where.error(
                int(row_index[0]), f"GT must be the first FORMAT field, not in {f.decode()!r}"
            )
        s_, e_ = s_all[rows].ravel(), e_all[rows].ravel()

        def bad(j: int, problem: str, rows: np.ndarray = row_index) -> InputFileError:
            return where.error(
                int(rows[j // n_samples]), f"sample {where.samples[j % n_samples]}: {problem}"
            )

        for k, key in enumerate(keys):
            name = key.decode()
            if name != "GT" and name not in formats:
                continue
            fs, fe = (s_, e_) if len(keys) == 1 else _piece(colons, s_, e_, k)
            if name == "GT":
                if ploidy is None:
                    ploidy = _first_ploidy(a, fs, fe)
                    if ploidy is None:
                        continue
                if gt is None:
                    gt = np.full((n, n_samples, ploidy), -1, dtype=np.int8)
                values = (
                    _gt_columns(text, s_all[rows], e_all[rows], ploidy) if len(keys) == 1 else None
                )
                if values is None:
                    values = _parse_gt(a, fs, fe, ploidy, bad)
                top = values.reshape(len(row_index), n_samples * ploidy).max(axis=1)
                over = np.flatnonzero(top > n_alt[row_index])
                if over.size:
                    i = int(row_index[over[0]])
                    raise where.error(
                        i, f"GT has allele {top[over[0]]} but the record has {n_alt[i]} ALT alleles"
                    )
                gt[rows] = values.reshape(len(row_index), n_samples, ploidy)
            elif FORMAT_FIELDS[name] == "R":
                for v in range(ALT_NUMBER + 1):
                    vs, ve = _piece(commas, fs, fe, v)
                    values, c = _parse_ints(a, vs, ve, bad)
                    calls[name][rows, :, v] = values.reshape(len(row_index), n_samples)
                    clipped += c
            else:
                values, c = _parse_ints(a, fs, fe, bad)
                calls[name][rows] = values.reshape(len(row_index), n_samples)
                clipped += c
    if ploidy is None:
        raise where.error(
            0, "no called genotype (GT) in the first records to tell the ploidy: pass ploidy="
        )
    if gt is None:
        gt = np.full((n, n_samples, ploidy), -1, dtype=np.int8)
    block = {CHROM: chrom, POS: pos, ID: ids, REF: ref, ALT: alt, QUAL: qual, GT: gt}
    block.update({CALL_FIELDS[k]: v for k, v in calls.items()})
    return _Parsed(block, ploidy, dropped, clipped)


def _is_float(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_ploidy(a: np.ndarray, s: np.ndarray, e: np.ndarray) -> int | None:
    """The ploidy of the first GT that is not a lone "."."""
    for j in range(s.size):
        text = a[s[j] : e[j]].tobytes()
        if text and text != b".":
            return _gt_ploidy(text)
    return None


# ---------------------------------------------------------------------------
# VCF -> store


def _check_int(name: str, value: Any, *, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")


def _check_h5_name(path: Path, name: str) -> None:
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"{name} must end in .h5 or .hdf5 (the store's format), not {path.name!r}")


def vcf_to_store(
    vcf: str | os.PathLike[str],
    out_h5: str | os.PathLike[str],
    *,
    ploidy: int | None = None,
    species: str = "",
    reference: str = "",
    chunk_variants: int = 16_384,
    provenance: dict[str, Any] | None = None,
) -> StoreSummary:
    r"""Load a VCF, VCF.gz or BCF into an HDF5 genotype store, streamed in chunks.

    Records are read, parsed and written ``chunk_variants`` at a time, so
    memory stays flat however many variants the file holds (it grows with
    ``chunk_variants`` x samples). GT, and AD, DP and GQ when the header
    declares them, are stored in scikit-allel's layout, with the dosage
    (count of non-reference alleles) beside them. The input's sha256 and the
    parameters go into the ``provenance`` attribute; contig lengths from
    ``##contig`` lines into ``contigs``.

    Parameters
    ----------
    vcf
        A VCF, bgzipped or gzipped VCF, or BCF, sorted by contig and position.
    out_h5
        The store to write (``.h5``); replaced only once complete.
    ploidy
        Alleles per call. None takes it from the first called GT; given, every
        call must have exactly that many alleles (a lone ``.`` is accepted as
        missing at any ploidy).
    species, reference
        Species code and reference genome, recorded as attributes.
    chunk_variants
        Variants per chunk, in memory and in the HDF5 file.
    provenance
        More entries for the provenance record (e.g. the command that ran).

    Returns
    -------
    StoreSummary
        The store's path, its size, its ploidy and the seconds taken.

    Raises
    ------
    InputFileError
        For a missing or unreadable file, a broken header, a record with the
        wrong number of columns or a bad value, a GT of another ploidy, an
        allele index beyond the record's ALT alleles, records out of order,
        or no records. The message names the file and the record or line; no
        output is left behind.
    TypeError, ValueError
        For bad options.

    Warns
    -----
    UserWarning
        When records have more than :data:`ALT_NUMBER` ALT alleles (the extra
        ones are dropped from ``variants/ALT``; GT and dosage keep them) or
        FORMAT values exceed int16 (stored as 32767). Both counts are kept in
        the provenance.

    References
    ----------
    .. [1] The Variant Call Format specification, VCFv4.3,
       https://samtools.github.io/hts-specs/VCFv4.3.pdf
    .. [2] scikit-allel's HDF5 layout, ``allel.vcf_to_hdf5``,
       https://scikit-allel.readthedocs.io/en/stable/io.html

    Examples
    --------
    >>> import tempfile, h5py
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.vcf").write_text(
    ...     "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
    ...     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tp1\tp2\n"
    ...     "chr1\t101\t.\tA\tG\t.\t.\t.\tGT\t0/0/1/1\t0/1/1/1\n"
    ...     "chr1\t150\t.\tC\tT,G\t.\t.\t.\tGT\t0/0/0/2\t./././.\n"
    ... )
    >>> s = vcf_to_store(d / "a.vcf", d / "a.h5", species="solanum_tuberosum")
    >>> s.n_samples, s.n_variants, s.ploidy
    (2, 2, 4)
    >>> h5py.File(d / "a.h5")["calldata/dosage"][:].tolist()
    [[2, 3], [1, -1]]
    """
    started = time.perf_counter()
    vcf, out_h5 = Path(vcf), Path(out_h5)
    _check_int("ploidy", ploidy, minimum=1, allow_none=True)
    _check_int("chunk_variants", chunk_variants, minimum=1)
    for name, value in (("species", species), ("reference", reference)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if provenance is not None and not isinstance(provenance, dict):
        raise TypeError(f"provenance must be a dict, not {type(provenance).__name__}")
    _check_h5_name(out_h5, "out_h5")
    if not vcf.is_file():
        raise InputFileError(vcf, "no such file")

    source = _VcfSource(vcf)
    try:
        header = _parse_header(vcf, source.readline)
        formats = []
        for key in FORMAT_FIELDS:
            if key in header.formats:
                if header.formats[key][1] == "Integer":
                    formats.append(key)
                else:
                    warnings.warn(f"{vcf}: FORMAT {key} is not Integer: not stored", stacklevel=2)
        n_samples = len(header.samples)
        lines_per_block = max(1, _PARSE_FIELDS // n_samples)
        writer: _StoreWriter | None = None
        record, line = 1, None if source.is_bcf else header.n_lines + 1
        dropped = clipped = 0
        with atomic_output(out_h5) as tmp, h5py.File(tmp, "w") as f:
            for text in source.blocks(lines_per_block):
                where = _Block(vcf, header.samples, record, line)
                parsed = _parse_block(
                    text, where, n_samples=n_samples, ploidy=ploidy, formats=formats
                )
                if writer is None:
                    ploidy = parsed.ploidy
                    writer = _StoreWriter(
                        f,
                        samples=header.samples,
                        ploidy=ploidy,
                        chunk_variants=chunk_variants,
                        formats=formats,
                        contigs=header.contigs,
                    )
                unsorted = writer.append(parsed.block)
                if unsorted is not None:
                    raise where.error(
                        unsorted,
                        "records are not sorted by contig and position: "
                        "sort the VCF first (bcftools sort)",
                    )
                dropped += parsed.n_alt_dropped
                clipped += parsed.n_clipped
                n = len(parsed.block[POS])
                record += n
                line = None if line is None else line + n
            if writer is None:
                raise InputFileError(vcf, "no variant records after the header")
            if dropped:
                warnings.warn(
                    f"{vcf}: {dropped} records have more than {ALT_NUMBER} ALT alleles; "
                    "variants/ALT keeps the first ones",
                    stacklevel=2,
                )
            if clipped:
                warnings.warn(
                    f"{vcf}: {clipped} FORMAT values above {_INT16_MAX} stored as {_INT16_MAX}",
                    stacklevel=2,
                )
            assert ploidy is not None
            writer.finish(
                species=species,
                reference=reference,
                provenance=_provenance(
                    provenance,
                    command="breedhub.genomics.store.vcf_to_store",
                    input={"path": str(vcf.resolve()), "sha256": source.sha256()},
                    parameters={
                        "ploidy": ploidy,
                        "species": species,
                        "reference": reference,
                        "chunk_variants": chunk_variants,
                        "alt_number": ALT_NUMBER,
                        "compression": COMPRESSION.get("compression") or "none",
                    },
                    records_with_alt_alleles_dropped=dropped,
                    format_values_clipped=clipped,
                ),
            )
            n_variants = writer.n
    finally:
        source.close()
    return StoreSummary(
        out_h5, n_samples, n_variants, int(ploidy), round(time.perf_counter() - started, 3)
    )


# ---------------------------------------------------------------------------
# Reading a store


def _open_store(h5: str | os.PathLike[str]) -> h5py.File:
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


def _text(values: np.ndarray) -> np.ndarray:
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
        chrom = _text(ds[i : i + step])
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
    >>> p = write_genotype_store(Path(tempfile.mkdtemp()) / "g.h5", samples=["a", "b"],
    ...     chrom=np.array(["1", "2"]), pos=np.array([5, 9]), gt=np.zeros((2, 2, 6)),
    ...     species="triticum_aestivum")
    >>> i = store_info(p)
    >>> i.samples, i.n_variants, i.ploidy, i.species, list(i.contigs)
    (['a', 'b'], 2, 6, 'triticum_aestivum', ['1', '2'])
    """
    with _open_store(h5) as f:
        attrs = f.attrs
        provenance = attrs.get("provenance", "{}")
        try:
            prov = json.loads(provenance)
        except (TypeError, ValueError):
            prov = {"text": str(provenance)}
        return StoreInfo(
            path=Path(h5),
            samples=list(_text(f[SAMPLES][:])),
            n_variants=int(f[POS].shape[0]),
            ploidy=int(attrs.get("ploidy", f[GT].shape[2])),
            species=str(attrs.get("species", "")),
            reference=str(attrs.get("reference", "")),
            provenance=prov,
            contigs={c: v.get("length") for c, v in _contig_ranges(f).items()},
        )


_REGION_RE = re.compile(r"(?P<contig>.+?)(?::(?P<start>[\d,]+)?(?:-(?P<end>[\d,]+)?)?)?")


def _region_range(f: h5py.File, region: str) -> tuple[int, int]:
    """The variant indexes [i, j) of ``region`` ("chr2" or "chr2:1000-5000")."""
    contigs = _contig_ranges(f)
    if region in contigs:
        name, start, end = region, None, None
    else:
        m = _REGION_RE.fullmatch(region)
        if not m or m.group("contig") not in contigs:
            known = ", ".join(list(contigs)[:20])
            raise ValueError(f"region {region!r}: no such contig in the store; it has {known}")
        name = m.group("contig")
        start = int(m.group("start").replace(",", "")) if m.group("start") else None
        end = int(m.group("end").replace(",", "")) if m.group("end") else None
        if start is not None and end is not None and start > end:
            raise ValueError(f"region {region!r}: start {start} is after end {end}")
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
) -> Dosages:
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
    Dosages
        (samples x markers) int8 count of non-reference alleles, -1 missing,
        with the markers' ids, contigs and positions and the ploidy.

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    ValueError
        For an unknown contig or bad region, or unknown or repeated samples.

    Examples
    --------
    >>> import tempfile
    >>> gt = np.array([[[0, 1], [1, 1], [0, 0]], [[0, 0], [1, 1], [-1, 0]]])
    >>> p = write_genotype_store(Path(tempfile.mkdtemp()) / "g.h5", samples=["a", "b", "c"],
    ...     chrom=np.array(["1", "2"]), pos=np.array([5, 9]), gt=gt)
    >>> d = read_dosages(p, region="2:1-100", samples=["c", "a"])
    >>> d.dosages.tolist(), d.sample_ids, d.marker_ids
    ([[-1], [0]], ['c', 'a'], ['2:9'])
    """
    if region is not None and not isinstance(region, str):
        raise TypeError(f"region must be a str like 'chr2:1000-5000', not {type(region).__name__}")
    if isinstance(samples, str):
        raise TypeError("samples must be a list of names, not one str")
    with _open_store(h5) as f:
        names = list(_text(f[SAMPLES][:]))
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
        contig = _text(f[CHROM][i:j])
        position = f[POS][i:j].astype(np.int64)
        ids = _text(f[ID][i:j]) if ID in f else np.full(j - i, "", dtype=object)
        ploidy = int(f.attrs.get("ploidy", f[GT].shape[2]))
    markers = [
        m if m not in ("", ".") else f"{c}:{p}"
        for m, c, p in zip(ids, contig, position.tolist(), strict=True)
    ]
    return Dosages(
        np.ascontiguousarray(D.T, dtype=np.int8), sample_ids, markers, contig, position, ploidy
    )


# ---------------------------------------------------------------------------
# Store -> VCF, PLINK


def _chunks_of(f: h5py.File) -> Iterator[tuple[int, int]]:
    n = f[POS].shape[0]
    step = f[GT].chunks[0] if f[GT].chunks else 16_384
    for i in range(0, n, step):
        yield i, min(i + step, n)


def _format_gt(gt: np.ndarray) -> list[bytes]:
    """Each row's sample columns, tab-separated with a final newline."""
    m, n, p = gt.shape
    if m == 0:
        return []
    if gt.max(initial=-1) <= 9:
        text = np.empty((m, n, 2 * p), dtype=np.uint8)
        text[:, :, 0::2] = np.where(gt < 0, _DOT, gt + 48)
        text[:, :, 1 : 2 * p - 1 : 2] = _SLASH
        text[:, :, -1] = _TAB
        text[:, -1, -1] = _NL
        return [row.tobytes() for row in text]
    return [
        (
            "\t".join("/".join("." if a < 0 else str(a) for a in call) for call in row) + "\n"
        ).encode()
        for row in gt.tolist()
    ]


def store_to_vcf(h5: str | os.PathLike[str], out_vcf: str | os.PathLike[str]) -> Path:
    """Write a store as a bgzipped, indexed VCF of its genotypes; return its path.

    Streamed chunk by chunk. The header has ``##contig`` lines (with the
    lengths recorded at import), the reference and the samples; records carry
    GT at the store's ploidy (unphased; ``.`` for missing alleles), QUAL,
    and ``.`` for FILTER and INFO. The index is ``.tbi``, or ``.csi`` when a
    position exceeds the 2^29 - 1 that tabix indexes hold.

    Parameters
    ----------
    h5
        The store.
    out_vcf
        The VCF to write; its name must end in ``.vcf.gz``.

    Returns
    -------
    Path
        ``out_vcf``.

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    ValueError
        If ``out_vcf`` does not end in ``.vcf.gz``.

    References
    ----------
    .. [1] H. Li (2011). Tabix: fast retrieval of sequence features from generic
       TAB-delimited files. Bioinformatics 27(5), 718-719.
    .. [2] The CSI index format, https://samtools.github.io/hts-specs/CSIv1.pdf

    Examples
    --------
    >>> import tempfile, pysam
    >>> d = Path(tempfile.mkdtemp())
    >>> p = write_genotype_store(d / "g.h5", samples=["a", "b"], chrom=np.array(["1", "1"]),
    ...     pos=np.array([5, 9]), gt=np.array([[[0, 0, 1, 1], [1, 1, 1, 1]], [[0] * 4, [-1] * 4]]))
    >>> out = store_to_vcf(p, d / "g.vcf.gz")
    >>> [r.samples["a"]["GT"] for r in pysam.VariantFile(str(out))]
    [(0, 0, 1, 1), (0, 0, 0, 0)]
    """
    from breedhub.base.version import __version__

    out_vcf = Path(out_vcf)
    if not out_vcf.name.endswith(".vcf.gz"):
        raise ValueError(f"out_vcf must end in .vcf.gz (it is bgzipped), not {out_vcf.name!r}")
    import pysam

    with _open_store(h5) as f:
        samples = list(_text(f[SAMPLES][:]))
        contigs = _contig_ranges(f)
        reference = str(f.attrs.get("reference", ""))
        head = ["##fileformat=VCFv4.3", f"##source=breedhub {__version__}"]
        if reference:
            head.append(f"##reference={reference}")
        longest = 0
        for name, entry in contigs.items():
            length = entry.get("length")
            head.append(f"##contig=<ID={name}" + (f",length={length}>" if length else ">"))
            longest = max(longest, length or 0)
        head.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        head.append("\t".join([*_FIXED_COLUMNS, "FORMAT", *samples]))
        csi = longest >= 2**29
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(atomic_output(out_vcf))
            # pysam's stub lacks the level digit htslib takes in the mode, and index=None
            with pysam.BGZFile(str(tmp), f"wb{_BGZF_LEVEL}") as out:  # type: ignore[call-arg]
                out.write(("\n".join(head) + "\n").encode())
                for i, j in _chunks_of(f):
                    chrom, pos = _text(f[CHROM][i:j]), f[POS][i:j]
                    csi = csi or int(pos.max(initial=0)) >= 2**29
                    ids = _text(f[ID][i:j]) if ID in f else np.full(j - i, ".", dtype=object)
                    refs = _text(f[REF][i:j]) if REF in f else np.full(j - i, "N", dtype=object)
                    alts = _text(f[ALT][i:j]) if ALT in f else np.full((j - i, 1), "", dtype=object)
                    if alts.ndim == 1:
                        alts = alts[:, None]
                    qual = f[QUAL][i:j] if QUAL in f else np.full(j - i, np.nan)
                    calls = _format_gt(f[GT][i:j])
                    rows = []
                    for k in range(j - i):
                        alt = ",".join(a for a in alts[k] if a) or "."
                        q = (
                            "."
                            if np.isnan(qual[k]) or qual[k] < 0
                            else format(float(qual[k]), ".7g")
                        )
                        fixed = f"{chrom[k]}\t{pos[k]}\t{ids[k] or '.'}\t{refs[k]}\t{alt}\t{q}\t.\t.\tGT\t"
                        rows.append(fixed.encode())
                        rows.append(calls[k])
                    out.write(b"".join(rows))
            index = Path(vcf_index_path(out_vcf, csi))
            tmp_index = stack.enter_context(atomic_output(index))
            pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_index), csi=csi)
        remove_stale_index(out_vcf, csi)
    return out_vcf


# PLINK 1 two-bit codes (read low bits first): 00 hom A1, 01 missing, 10 het, 11 hom A2.
# A1 is the ALT allele, so the count of A1 is the dosage.
_BED_CODE = {2: np.array([1, 3, 2, 0], np.uint8), 1: np.array([1, 3, 0], np.uint8)}  # by dosage + 1


def store_to_plink(h5: str | os.PathLike[str], out_prefix: str | os.PathLike[str]) -> Path:
    """Write a store as PLINK 1 ``.bed``/``.bim``/``.fam`` (SNP-major); return the ``.bed``.

    Streamed chunk by chunk. A1 (the counted allele) is ALT and A2 is REF, so
    PLINK's A1 count is the store's dosage; haploid calls are written as
    homozygous, as PLINK 1 does for haploid chromosomes. The ``.fam`` has
    FID = IID = the sample name, unknown parents, sex and phenotype.

    Parameters
    ----------
    h5
        The store: ploidy 1 or 2, biallelic variants only.
    out_prefix
        Path without extension (a trailing ``.bed`` is dropped).

    Returns
    -------
    Path
        The ``.bed`` file.

    Raises
    ------
    InputFileError
        If the store's ploidy is above 2 (PLINK 1 holds two alleles per
        call), a variant has more than one ALT allele, or a sample or marker
        name contains whitespace.

    References
    ----------
    .. [1] PLINK 1 binary formats (.bed, .bim, .fam),
       https://www.cog-genomics.org/plink/1.9/formats#bed
    .. [2] C. C. Chang et al. (2015). Second-generation PLINK: rising to the
       challenge of larger and richer datasets. GigaScience 4, 7.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> p = write_genotype_store(d / "g.h5", samples=["a", "b"], chrom=np.array(["1", "1"]),
    ...     pos=np.array([5, 9]), gt=np.array([[[0, 1], [1, 1]], [[0, 0], [-1, -1]]]))
    >>> bed = store_to_plink(p, d / "g")
    >>> bed.name, bed.read_bytes().hex()
    ('g.bed', '6c1b010207')
    """
    prefix = Path(out_prefix)
    if prefix.suffix == ".bed":
        prefix = prefix.with_suffix("")
    with _open_store(h5) as f:
        path = Path(h5)
        ploidy = int(f.attrs.get("ploidy", f[GT].shape[2]))
        if ploidy > 2:
            raise InputFileError(
                path,
                f"ploidy {ploidy}: PLINK 1 .bed holds two alleles per call and cannot hold "
                f"dosages 0-{ploidy}; export a VCF (store_to_vcf) or read the store itself "
                "(read_dosages)",
            )
        samples = list(_text(f[SAMPLES][:]))
        spaced = [s for s in samples if re.search(r"\s", s)]
        if spaced:
            raise InputFileError(
                path,
                f"PLINK names cannot contain whitespace: samples {', '.join(map(repr, spaced[:10]))}",
            )
        if ALT in f and f[ALT].ndim == 2 and f[ALT].shape[1] > 1:  # check before writing
            first, count = None, 0
            for i, j in _chunks_of(f):
                multi = np.flatnonzero(_text(f[ALT][i:j, 1]) != "")
                if multi.size and first is None:
                    first = i + int(multi[0])
                count += multi.size
            if first is not None:
                raise InputFileError(
                    path,
                    f"{count} variants have more than one ALT allele, which PLINK 1 cannot "
                    "hold: split them (bcftools norm -m-) before making the store, or "
                    "export a VCF",
                    record=f"variant {first + 1} ({_text(f[CHROM][first : first + 1])[0]}"
                    f":{f[POS][first]})",
                )
        code = _BED_CODE[ploidy]
        n = len(samples)
        pad = (-n) % 4
        with contextlib.ExitStack() as stack:
            tmp_bed = stack.enter_context(atomic_output(prefix.with_name(prefix.name + ".bed")))
            tmp_bim = stack.enter_context(atomic_output(prefix.with_name(prefix.name + ".bim")))
            tmp_fam = stack.enter_context(atomic_output(prefix.with_name(prefix.name + ".fam")))
            with open(tmp_bed, "wb") as bed, open(tmp_bim, "w") as bim:
                bed.write(bytes([0x6C, 0x1B, 0x01]))
                for i, j in _chunks_of(f):
                    D = f[DOSAGE][i:j] if DOSAGE in f else _dosage(f[GT][i:j])
                    c = code[D.astype(np.int16) + 1]
                    c = np.pad(c, ((0, 0), (0, pad))).reshape(j - i, -1, 4)
                    packed = c[:, :, 0] | c[:, :, 1] << 2 | c[:, :, 2] << 4 | c[:, :, 3] << 6
                    bed.write(packed.astype(np.uint8).tobytes())
                    chrom, pos = _text(f[CHROM][i:j]), f[POS][i:j].tolist()
                    ids = _text(f[ID][i:j]) if ID in f else np.full(j - i, "", dtype=object)
                    refs = _text(f[REF][i:j]) if REF in f else np.full(j - i, "0", dtype=object)
                    alts = _text(f[ALT][i:j]) if ALT in f else np.full((j - i, 1), "", dtype=object)
                    alts = alts.reshape(j - i, -1)
                    lines = []
                    for k in range(j - i):
                        name = ids[k] if ids[k] not in ("", ".") else f"{chrom[k]}:{pos[k]}"
                        if re.search(r"\s", name):
                            raise InputFileError(
                                path, f"PLINK names cannot contain whitespace: marker {name!r}"
                            )
                        a1 = alts[k, 0] or "0"
                        lines.append(f"{chrom[k]}\t{name}\t0\t{pos[k]}\t{a1}\t{refs[k] or '0'}\n")
                    bim.write("".join(lines))
            tmp_fam.write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in samples))
    return prefix.with_name(prefix.name + ".bed")
