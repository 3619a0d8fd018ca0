"""Importing a VCF, VCF.gz or BCF into a store, streamed: the header, blocks of lines, :func:`vcf_to_store`."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import itertools
import os
import re
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from breedhub.base.checks import check_int
from breedhub.base.files import GZIP_MAGIC, atomic_output
from breedhub.base.provenance import sha256_file
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.store_layout import (
    _FIXED_COLUMNS,
    _INT16_MAX,
    _NL,
    ALT_NUMBER,
    COMPRESSION,
    FORMAT_FIELDS,
    POS,
    StoreSummary,
    _provenance,
)
from breedhub.genomics.store_parse import _Block, _parse_block
from breedhub.genomics.store_write import _StoreWriter

_PARSE_FIELDS = 1 << 18  # sample fields parsed at a time: bounds the parser's temporaries
_READ_BYTES = 1 << 20  # bytes read from the file at a time


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
            _add_contig(line, contigs, bad)
        elif line.startswith("##FORMAT"):
            m = _FORMAT_RE.fullmatch(line)
            if not m:
                raise bad(f"malformed ##FORMAT line {line[:80]!r}: needs ID, Number and Type")
            formats[m.group(1)] = (m.group(2), m.group(3))
        elif line.startswith("##"):
            if "=" not in line[2:]:
                raise bad(f"a meta line is ##key=value, not {line[:80]!r}")
        elif line.startswith("#CHROM"):
            return _Header(_chrom_line_samples(line, bad), contigs, formats, n)
        elif line.startswith("#"):
            raise bad(f"a header line starts with ## (or is the #CHROM line), not {line[:40]!r}")
        else:
            raise bad("a record before the #CHROM header line")
    raise AssertionError  # pragma: no cover


def _add_contig(
    line: str, contigs: dict[str, int | None], bad: Callable[[str], InputFileError]
) -> None:
    """Check a ``##contig`` line and add its name and length (or None) to ``contigs``."""
    m = _CONTIG_RE.fullmatch(line)
    if not m:
        raise bad(f"malformed ##contig line {line[:80]!r}: write ##contig=<ID=name,length=N>")
    length = re.search(r",length=([^,>]*)", m.group(2))
    if length and not (length.group(1).isdigit() and int(length.group(1)) > 0):
        raise bad(f"contig {m.group(1)}: length {length.group(1)!r} is not a positive integer")
    if m.group(1) in contigs:
        raise bad(f"contig {m.group(1)} is declared twice")
    contigs[m.group(1)] = int(length.group(1)) if length else None


def _chrom_line_samples(line: str, bad: Callable[[str], InputFileError]) -> list[str]:
    """Check the ``#CHROM`` header line and return its sample names."""
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
    return samples


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
            return sha256_file(self.path)
        while self.hashing.read(1 << 20):  # anything the decompressor left unread
            pass
        return self.hashing.sha.hexdigest()

    def close(self) -> None:
        self.stack.close()


# ---------------------------------------------------------------------------
# VCF -> store


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
    if ploidy is not None:
        check_int("ploidy", ploidy, minimum=1)
    check_int("chunk_variants", chunk_variants, minimum=1)
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
                    "breedhub.genomics.store_vcf.vcf_to_store",
                    provenance,
                    inputs=[vcf.resolve()],
                    checksums={str(vcf.resolve()): source.sha256()},
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
