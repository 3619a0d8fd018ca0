"""Streaming checks of uploaded sequence files: format, structure and sha256 in one read.

A :class:`FileCheck` is fed a file's bytes in order (``update``), as they
arrive over the network or as they are read from disk, and says at the end
(``finish``) what the file is and whether it is whole:

- **FASTQ**, plain or gzip (BGZF too): every record's four lines (``@`` header,
  IUPAC sequence, ``+`` separator, Phred+33 quality as long as the sequence);
  a gzip stream must decompress completely (CRC and length of every member),
  so a truncated or corrupt ``.fastq.gz`` is refused;
- **BAM** and **BCF**: BGZF, the magic bytes, a header that parses (BAM: its
  text and references; BCF: a VCF header text), and the BGZF end-of-file
  marker, whose absence means the file was cut short;
- **CRAM**: the file definition (``CRAM``, major version 2 or 3) and, for
  CRAM 3, the end-of-file container;
- **VCF**, plain or gzip: the ``##fileformat=VCF`` line and the ``#CHROM``
  header line; a ``.vcf.gz`` must decompress completely.

The sha256 of the raw bytes is computed in the same pass, so a file is read
once for both. Checks work a block at a time with bytes methods (no Python
loop over characters or reads). A checker can be copied (:meth:`FileCheck.copy`)
before a chunk of uncertain integrity and restored if the chunk is refused.

>>> check = FileCheck(name="r_1.fq")
>>> check.update(b"@r1\\nACGT\\n+\\nIIII\\n")
>>> result = check.finish()
>>> result.format, result.size, result.records
('fastq', 16, 1)
"""

from __future__ import annotations

import copy
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breedhub.genomics.exceptions import InputFileError

__all__ = ["FORMATS", "CheckedFile", "FileCheck", "check_file", "format_from_name"]

#: The formats an upload may have, as :attr:`CheckedFile.format` names them.
FORMATS = ("fastq", "fastq.gz", "bam", "cram", "vcf", "vcf.gz", "bcf")

_SUFFIXES = (
    (".fastq.gz", "fastq.gz"), (".fq.gz", "fastq.gz"), (".fastq", "fastq"), (".fq", "fastq"),
    (".bam", "bam"), (".cram", "cram"), (".vcf.gz", "vcf.gz"), (".vcf.bgz", "vcf.gz"),
    (".vcf", "vcf"), (".bcf", "bcf"),
)  # fmt: skip
_IUPAC = b"ACGTNRYSWKMBDHV"
_SEQ_OK = _IUPAC + _IUPAC.lower()
_QUAL_OK = bytes(range(ord("!"), ord("~") + 1))
_GZIP_MAGIC = b"\x1f\x8b"
#: The empty BGZF block every BAM/BCF/bgzipped file ends with (SAM spec, 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
#: The CRAM 3 end-of-file container (CRAM spec 3.0, section 9).
CRAM3_EOF = bytes.fromhex(
    "0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b"
)
_SNIFF = 16  # decompressed bytes needed to tell the formats apart
_MAX_HEADER = 64 << 20  # a BAM/VCF header larger than this is refused
_MAX_OUT = 4 << 20  # decompressed bytes produced per step (bounds memory)


def format_from_name(name: str) -> str | None:
    """The format a file name's suffix promises, or None if it names none.

    >>> format_from_name("S1_R1.fq.gz"), format_from_name("x.BAM"), format_from_name("notes.txt")
    ('fastq.gz', 'bam', None)
    """
    lower = name.lower()
    for suffix, fmt in _SUFFIXES:
        if lower.endswith(suffix):
            return fmt
    return None


@dataclass(frozen=True)
class CheckedFile:
    """What a complete check found.

    Attributes
    ----------
    format
        One of :data:`FORMATS`.
    sha256
        Hex digest of the raw bytes.
    size
        Bytes read.
    records
        FASTQ records checked (0 for the other formats).
    """

    format: str
    sha256: str
    size: int
    records: int = 0


class FileCheck:
    """A streaming check of one file; see the module docstring for what is checked.

    Parameters
    ----------
    name
        How messages name the file (display only).
    expected
        The format the file must have (one of :data:`FORMATS`), e.g. from its
        name's suffix; None accepts any of them.

    Notes
    -----
    :meth:`update` never raises: the first problem is kept in :attr:`error`
    (and parsing stops, hashing goes on); :meth:`finish` raises it.
    """

    def __init__(self, *, name: str = "upload", expected: str | None = None):
        if expected is not None and expected not in FORMATS:
            raise ValueError(f"expected={expected!r}: not one of {', '.join(FORMATS)}")
        self.name = name
        self.expected = expected
        self.size = 0
        self.format: str | None = None
        self.error: InputFileError | None = None
        self._sha = hashlib.sha256()
        self._raw_head = b""  # raw bytes kept until the format is known
        self._tail = b""  # the last raw bytes (EOF markers)
        self._gz: Any = None  # zlib decompressor of the current member
        self._gzip = False
        self._gz_started = False
        self._gz_fed = False  # bytes went into the current gzip member
        self._bgzf = False
        self._cram_version = 0
        self._inflate = True  # whether decompressed text is still needed
        self._out = b""  # decompressed bytes awaiting the sniff or the header parse
        self._header_done = False
        self._pending = b""  # FASTQ: an incomplete last line
        self._carry: list[bytes] = []  # FASTQ: lines of an incomplete record
        self.records = 0

    # -- public -----------------------------------------------------------------------------

    def copy(self) -> FileCheck:
        """An independent copy of this checker's state (restore it if a chunk is refused)."""
        new = copy.copy(self)
        new._sha = self._sha.copy()
        new._carry = list(self._carry)
        if self._gz is not None:
            new._gz = self._gz.copy()
        return new

    def update(self, data: bytes) -> None:
        """Feed the next bytes of the file."""
        if not data:
            return
        self._sha.update(data)
        self.size += len(data)
        self._tail = (self._tail + data[-64:])[-64:]
        if self.error is not None:
            return
        try:
            self._feed(bytes(data))
        except InputFileError as exc:
            self.error = exc

    def finish(self) -> CheckedFile:
        """The verdict once every byte was fed.

        Raises
        ------
        InputFileError
            The first problem found: an unknown format, a format other than
            the expected one, a broken record, a truncated or corrupt stream.
        """
        if self.error is None:
            try:
                self._finish()
            except InputFileError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error
        assert self.format is not None
        return CheckedFile(self.format, self._sha.hexdigest(), self.size, self.records)

    # -- the layers ---------------------------------------------------------------------------

    def _fail(self, problem: str, record: str | None = None) -> InputFileError:
        return InputFileError(self.name, problem, record=record)

    def _feed(self, data: bytes) -> None:
        if not self._gz_started:
            self._raw_head += data
            if len(self._raw_head) < 4:
                return
            data, self._raw_head = self._raw_head, b""
            self._gz_started = True
            self._gzip = data[:2] == _GZIP_MAGIC
            if self._gzip:
                self._gz = zlib.decompressobj(wbits=31)
                self._bgzf = len(data) >= 18 and bool(data[3] & 4) and data[12:14] == b"BC"
        if self._gzip:
            if self._inflate:
                self._inflate_bytes(data)
        else:
            self._text(data)

    def _inflate_bytes(self, data: bytes) -> None:
        gz = self._gz
        while data:
            self._gz_fed = True
            try:
                out = gz.decompress(data, _MAX_OUT)
            except zlib.error as exc:
                raise self._fail(f"corrupt gzip data near byte {self.size}: {exc}") from None
            data = gz.unconsumed_tail
            if out:
                self._text(out)
                if not self._inflate:
                    return
            if gz.eof:  # one member ends; another may follow
                data = gz.unused_data + data
                gz = self._gz = zlib.decompressobj(wbits=31)
                self._gz_fed = False
                if data and data.strip(b"\x00") == b"":
                    return  # zero padding after the last member (as gzip tolerates)

    def _text(self, data: bytes) -> None:
        """Bytes of content (decompressed when the file is gzip)."""
        if self.format is None:
            self._out += data
            if len(self._out) < _SNIFF:
                return
            data, self._out = self._out, b""
            self._sniff(data)
        self._content(data)

    def _sniff(self, head: bytes) -> None:
        fmt = None
        if self._gzip:
            if head.startswith(b"BAM\x01"):
                fmt = "bam"
            elif head.startswith(b"BCF\x02"):
                fmt = "bcf"
            elif head.startswith(b"@"):
                fmt = "fastq.gz"
            elif head.startswith(b"##fileformat=VCF"):
                fmt = "vcf.gz"
            if fmt in ("bam", "bcf") and not self._bgzf:
                raise self._fail(f"a {fmt.upper()} file must be BGZF-compressed, not plain gzip")
        elif head.startswith(b"CRAM"):
            fmt = "cram"
        elif head.startswith(b"@"):
            fmt = "fastq"
        elif head.startswith(b"##fileformat=VCF"):
            fmt = "vcf"
        if fmt is None:
            shown = head[:8].hex(" ") if not head[:8].isascii() else repr(head[:16])[1:]
            kind = "gzip-compressed data" if self._gzip else "data"
            raise self._fail(
                f"not a FASTQ, BAM, CRAM, VCF or BCF file ({kind} starting with {shown})"
            )
        if self.expected is not None and fmt != self.expected:
            raise self._fail(
                f"the name says {self.expected} but the content is {fmt}; rename the file or "
                "send the right one"
            )
        self.format = fmt

    def _content(self, data: bytes) -> None:
        fmt = self.format
        if fmt in ("fastq", "fastq.gz"):
            self._fastq(data)
        elif not self._header_done:
            self._out += data
            if fmt in ("bam", "bcf"):
                self._binary_header()
            elif fmt in ("vcf", "vcf.gz"):
                self._vcf_header()
            else:
                self._cram_header()
            if len(self._out) > _MAX_HEADER:
                raise self._fail(f"no complete header in the first {_MAX_HEADER >> 20} MiB")
            if self._header_done:
                self._out = b""
                # BAM/BCF: the rest is only hashed (the EOF marker is checked at the end);
                # VCF.gz keeps inflating to prove the stream whole.
                self._inflate = fmt == "vcf.gz"

    def _fastq(self, data: bytes, final: bool = False) -> None:
        data = self._pending + data
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        lines = data.split(b"\n")
        self._pending = b"" if final else lines.pop()
        if final and lines and lines[-1] == b"":
            lines.pop()
        if self._carry:
            lines = self._carry + lines
        n = len(lines) // 4 * 4
        self._carry = lines[n:]
        if n:
            self._fastq_block(lines[:n])

    def _fastq_block(self, lines: list[bytes]) -> None:
        heads, seqs, seps, quals = lines[0::4], lines[1::4], lines[2::4], lines[3::4]
        n = len(heads)
        joined_heads = b"\n".join(heads)
        joined_seps = b"\n".join(seps)
        ok = (
            joined_heads[:1] == b"@"
            and joined_heads.count(b"\n@") == n - 1
            and b"\n@\n" not in b"\n" + joined_heads + b"\n"
            and joined_seps[:1] == b"+"
            and joined_seps.count(b"\n+") == n - 1
            and list(map(len, seqs)) == list(map(len, quals))
            and not b"".join(seqs).translate(None, _SEQ_OK)
            and not b"".join(quals).translate(None, _QUAL_OK)
        )
        if not ok:
            self._fastq_where(heads, seqs, seps, quals)
        self.records += len(heads)

    def _fastq_where(self, heads: list[bytes], seqs: list[bytes], seps: list[bytes],
                     quals: list[bytes]) -> None:  # fmt: skip
        for i, (h, s, p, q) in enumerate(zip(heads, seqs, seps, quals, strict=True)):
            k = self.records + i + 1
            where = f"record {k} (line {4 * (k - 1) + 1})"
            if h[:1] != b"@" or len(h) < 2:
                problem = f"a header must start with '@' and name the read, found {h[:40]!r}"
            elif p[:1] != b"+":
                problem = f"the third line must start with '+', found {p[:40]!r}"
            elif len(s) != len(q):
                problem = f"sequence of {len(s)} letters but quality of {len(q)}"
            elif s.translate(None, _SEQ_OK):
                problem = f"sequence letters that are not IUPAC codes: {s.translate(None, _SEQ_OK)[:10]!r}"
            elif q.translate(None, _QUAL_OK):
                problem = "quality characters outside Phred+33 ('!' to '~')"
            else:
                continue
            raise self._fail(problem, where)

    def _binary_header(self) -> None:
        buf = self._out
        if len(buf) < 8:
            return
        if self.format == "bcf":
            if buf[4:5] not in (b"\x01", b"\x02"):  # BCF major 2, minor 1 or 2
                raise self._fail("unknown BCF version")
            (l_text,) = struct.unpack_from("<I", buf, 5)
            if len(buf) < 9 + l_text:
                return
            if not buf[9 : 9 + l_text].startswith(b"##fileformat=VCF"):
                raise self._fail("the BCF header text does not start with ##fileformat=VCF")
            self._header_done = True
            return
        (l_text,) = struct.unpack_from("<i", buf, 4)
        if l_text < 0:
            raise self._fail("a negative BAM header length")
        end = 8 + l_text
        if len(buf) < end + 4:
            return
        text = buf[8:end].rstrip(b"\x00")
        if text and (not text.startswith(b"@") or not text.isascii()):
            raise self._fail("the BAM header text is not SAM header lines")
        (n_ref,) = struct.unpack_from("<i", buf, end)
        if n_ref < 0:
            raise self._fail("a negative number of BAM reference sequences")
        pos = end + 4
        for _ in range(n_ref):
            if len(buf) < pos + 4:
                return
            (l_name,) = struct.unpack_from("<i", buf, pos)
            if l_name <= 0:
                raise self._fail("a BAM reference sequence without a name")
            if len(buf) < pos + 4 + l_name + 4:
                return
            pos += 4 + l_name + 4
        self._header_done = True

    def _vcf_header(self) -> None:
        buf = self._out
        at = buf.find(b"\n#CHROM")
        if at < 0:
            if b"\n" in buf and not all(
                line.startswith(b"##") for line in buf.split(b"\n")[:-1] if line
            ):
                raise self._fail("a VCF header line that does not start with '##' before #CHROM")
            return
        end = buf.find(b"\n", at + 1)
        if end < 0:
            return
        columns = buf[at + 1 : end].rstrip(b"\r").split(b"\t")
        if columns[:8] != [b"#CHROM", b"POS", b"ID", b"REF", b"ALT", b"QUAL", b"FILTER", b"INFO"]:
            raise self._fail("the #CHROM line lacks the eight fixed VCF columns", "header")
        self._header_done = True

    def _cram_header(self) -> None:
        buf = self._out
        if len(buf) < 26:
            return
        if buf[4] not in (2, 3, 4):
            raise self._fail(f"unknown CRAM major version {buf[4]}")
        self._cram_version = buf[4]
        self._header_done = True

    def _finish(self) -> None:
        if not self._gz_started:
            if not self._raw_head:
                raise self._fail("the file is empty")
            self._gz_started = True
            self._text(self._raw_head)
        if self._gzip and self._inflate and self._gz_fed:
            raise self._fail("the gzip stream is truncated (the file was cut short)")
        if self.format is None:
            data, self._out = self._out, b""
            if not data:
                raise self._fail(
                    "the file is empty" if not self._gzip else "no data in the gzip stream"
                )
            self._sniff(data)
            self._content(data)
        fmt = self.format
        assert fmt is not None
        if fmt in ("fastq", "fastq.gz"):
            self._fastq(b"", final=True)
            if self._carry or self._pending:
                k = self.records + 1
                raise self._fail(
                    "the file ends inside a record (truncated?)", f"record {k} (line {4 * k - 3})"
                )
            if self.records == 0:
                raise self._fail("no FASTQ records")
        elif not self._header_done:
            raise self._fail(f"the file ends inside its {fmt.upper()} header (truncated?)")
        if fmt in ("bam", "bcf") and not self._tail.endswith(BGZF_EOF):
            raise self._fail(f"no BGZF end-of-file marker: the {fmt.upper()} file is truncated")
        if fmt == "cram" and self._cram_version == 3 and not self._tail.endswith(CRAM3_EOF):
            raise self._fail("no CRAM end-of-file container: the CRAM file is truncated")


def check_file(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    expected: str | None = None,
    block_size: int = 1 << 20,
) -> CheckedFile:
    """Check a file on disk in one read (format, structure, sha256).

    Parameters
    ----------
    path
        The file.
    name
        How messages name it (default: the path).
    expected
        The format it must have (default: any of :data:`FORMATS`).
    block_size
        Bytes read at a time.

    Returns
    -------
    CheckedFile

    Raises
    ------
    InputFileError
        See :meth:`FileCheck.finish`.
    """
    p = Path(path)
    check = FileCheck(name=name or str(p), expected=expected)
    with open(p, "rb") as fh:
        while block := fh.read(block_size):
            check.update(block)
    return check.finish()
