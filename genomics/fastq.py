"""Streaming, validating FASTQ readers: one file, or the two files of a paired run.

Both readers take plain or gzip-compressed files (by content, see
:func:`breedhub.base.files.open_text`) and check every record as they go: a header
starting with ``@`` and naming the read, a separator starting with ``+``, a
sequence of IUPAC nucleotide codes, a quality string of the same length in
Phred+33 (``!`` to ``~``). A file that breaks off inside a record, or a gzip
stream that is truncated or corrupt, is an error too. Every error is an
:class:`~genomics.exceptions.InputFileError` naming the file, the record, its
first line and the problem.

Records are read and checked a block at a time (string methods over whole
blocks, no Python loop over characters), which keeps the readers near a
million records a second on plain text.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple, NoReturn

from breedhub.base.files import is_gzip, open_text
from breedhub.genomics.exceptions import InputFileError, as_genomics_error

__all__ = ["FastqRecord", "read_fastq", "read_pairs"]

#: Sequence letters accepted: the IUPAC nucleotide codes, either case.
IUPAC_LETTERS = "ACGTNRYSWKMBDHV"
_SEQ_OK = (IUPAC_LETTERS + IUPAC_LETTERS.lower()).encode("ascii")
_QUAL_OK = bytes(range(ord("!"), ord("~") + 1))
_NAME = re.compile(r"^@(\S*)", re.MULTILINE)
_MATE_SUFFIX = re.compile(r"/[12]$", re.MULTILINE)

#: Records read and checked at a time.
BLOCK_RECORDS = 8192
_CHUNK_CHARS = 1 << 20


class FastqRecord(NamedTuple):
    """One read: its name (without ``@`` and comment), bases and Phred+33 qualities."""

    name: str
    seq: str
    qual: str


def _where(record: int) -> str:
    return f"record {record} (line {4 * (record - 1) + 1})"


class _LineBlocks:
    """The lines of a FASTQ file, handed out a whole number of records at a time."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.records = 0  # records handed out so far
        self._lines: list[str] = []
        self._tail = ""
        self._eof = False
        with as_genomics_error():
            self._fh: IO[str] | None = open_text(self.path)
        self._gzip = is_gzip(self.path)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> _LineBlocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(self) -> None:
        assert self._fh is not None
        try:
            data = self._fh.read(_CHUNK_CHARS)
        except UnicodeDecodeError as e:
            raise InputFileError(
                self.path,
                f"byte {e.object[e.start]:#04x} is not ASCII text: is this a FASTQ file?",
                record=f"near record {self.records + len(self._lines) // 4 + 1}",
            ) from None
        except (EOFError, zlib.error, OSError) as e:
            problem = (
                f"the gzip stream is truncated or corrupt ({e}); download or copy the file again"
                if self._gzip
                else f"cannot be read: {e}"
            )
            raise InputFileError(
                self.path, problem, record=f"after record {self.records + len(self._lines) // 4}"
            ) from None
        if not data:
            self._eof = True
            if self._tail:
                self._lines.append(self._tail.removesuffix("\r"))
                self._tail = ""
            blank = 0
            while self._lines and not self._lines[-1]:
                self._lines.pop()  # blank lines at the end of the file are harmless...
                blank += 1
            if blank and len(self._lines) % 4 == 3:
                self._lines.append("")  # ...but one was the empty quality of an empty read
            return
        text = self._tail + data
        if "\r" in text:  # Windows line ends (a chunk may end between \r and \n)
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        self._tail = lines.pop()
        self._lines.extend(lines)

    def take(self, n_records: int) -> list[str]:
        """The next ``n_records`` records' lines; fewer at the end of the file.

        At the end of the file the line count may not be a multiple of four
        (a truncated record): :func:`_parse_block` reports it.
        """
        want = 4 * n_records
        while len(self._lines) < want and not self._eof:
            self._fill()
        if len(self._lines) <= want:
            out, self._lines = self._lines, []
        else:
            out = self._lines[:want]
            del self._lines[:want]
        self.records += len(out) // 4
        return out


def _locate(path: Path, first: int, values: list[str], ok: bytes, what: str) -> None:
    """Raise for the first entry of ``values`` holding a character outside ``ok``."""
    for i, v in enumerate(values):
        bad = v.encode("ascii").translate(None, ok)
        if bad:
            col = v.index(chr(bad[0])) + 1
            raise InputFileError(
                path, f"{what} has {chr(bad[0])!r} at column {col}", record=_where(first + i)
            )


def _raise_truncated(path: Path, lines: list[str], first: int, n: int) -> NoReturn:
    """Raise for a block whose line count is not a multiple of four.

    Errors in the whole records before the end, then in the partial record's
    header, are reported first.
    """
    _parse_block(path, lines[: 4 * n], first)  # errors before the end come first
    if not lines[4 * n].startswith("@"):
        _parse_block(path, lines[4 * n :] + [""] * 3, first + n)
    raise InputFileError(
        path,
        f"the file ends inside this record ({len(lines) - 4 * n} of its 4 lines): it is truncated",
        record=_where(first + n),
    )


def _check_headers(path: Path, first: int, heads: list[str]) -> None:
    """Raise for the first header line that does not start with ``@``."""
    for i, h in enumerate(heads):
        if not h.startswith("@"):
            hint = " (this looks like FASTA; reads must be FASTQ)" if h[:1] == ">" else ""
            raise InputFileError(
                path,
                f"expected a header line starting with '@', found {h[:40]!r}{hint}",
                record=_where(first + i),
            )


def _check_separators(path: Path, first: int, plus: list[str]) -> None:
    """Raise for the first separator line that does not start with ``+``."""
    for i, p in enumerate(plus):
        if not p.startswith("+"):
            raise InputFileError(
                path,
                f"line {4 * (first + i - 1) + 3}: expected the separator line starting "
                f"with '+', found {p[:40]!r}",
                record=_where(first + i),
            )


def _check_lengths(path: Path, first: int, seqs: list[str], quals: list[str]) -> None:
    """Raise for the first record whose sequence and quality lengths differ."""
    for i, (s, q) in enumerate(zip(seqs, quals, strict=True)):
        if len(s) != len(q):
            raise InputFileError(
                path,
                f"the sequence has {len(s)} letters but the quality has {len(q)} characters",
                record=_where(first + i),
            )


def _parse_block(
    path: Path, lines: list[str], first: int
) -> tuple[list[str], list[str], list[str]]:
    """Check a block of FASTQ lines; return its names, sequences and qualities.

    ``first`` is the 1-based number of the block's first record.
    """
    n = len(lines) // 4
    if len(lines) != 4 * n:
        _raise_truncated(path, lines, first, n)
    heads, seqs, plus, quals = lines[0::4], lines[1::4], lines[2::4], lines[3::4]
    joined = "\n".join(heads)
    names = _NAME.findall(joined)
    if len(names) != n:
        _check_headers(path, first, heads)
    if "" in names:
        i = names.index("")
        raise InputFileError(path, "the header line names no read", record=_where(first + i))
    if ("\n" + "\n".join(plus)).count("\n+") != n:
        _check_separators(path, first, plus)
    if list(map(len, seqs)) != list(map(len, quals)):
        _check_lengths(path, first, seqs, quals)
    try:
        bad_seq = "".join(seqs).encode("ascii").translate(None, _SEQ_OK)
        bad_qual = "".join(quals).encode("ascii").translate(None, _QUAL_OK)
    except UnicodeEncodeError:  # only from a reader given str that was not ASCII
        bad_seq = bad_qual = b"?"
    if bad_seq:
        _locate(path, first, seqs, _SEQ_OK, "the sequence (IUPAC nucleotide codes only)")
    if bad_qual:
        _locate(path, first, quals, _QUAL_OK, "the quality (Phred+33, '!' to '~')")
    return names, seqs, quals


def read_fastq(path: str | os.PathLike[str]) -> Iterator[FastqRecord]:
    """Stream the records of a FASTQ file, checking each one.

    Parameters
    ----------
    path
        Plain or gzip-compressed FASTQ (four lines a record; ``\\r\\n`` line
        ends and blank lines at the end of the file are accepted).

    Yields
    ------
    FastqRecord
        Name (the header up to the first blank, without ``@``), sequence and
        quality, as in the file.

    Raises
    ------
    InputFileError
        For a missing file, a ``.gz`` that is not gzip, a truncated or corrupt
        gzip stream, non-ASCII bytes, or a malformed record; the message names
        the file, the record and its first line.

    Examples
    --------
    >>> import tempfile
    >>> fq = Path(tempfile.mkdtemp()) / "r.fq"
    >>> _ = fq.write_text("@r1 lane=1\\nACGTN\\n+\\nIIII#\\n@r2\\nacgt\\n+r2\\n!!!!\\n")
    >>> [r.name for r in read_fastq(fq)]
    ['r1', 'r2']
    >>> next(read_fastq(fq))
    FastqRecord(name='r1', seq='ACGTN', qual='IIII#')
    >>> _ = fq.write_text("@r1\\nACGT\\n+\\nIII\\n")
    >>> list(read_fastq(fq))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    breedhub.genomics.exceptions.InputFileError: ...r.fq: record 1 (line 1): the sequence has 4 letters but the quality has 3 characters
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path, not {type(path).__name__}")
    with _LineBlocks(path) as blocks:
        while True:
            first = blocks.records + 1
            lines = blocks.take(BLOCK_RECORDS)
            if not lines:
                return
            names, seqs, quals = _parse_block(blocks.path, lines, first)
            yield from map(FastqRecord._make, zip(names, seqs, quals, strict=True))


def _mate_names(names: list[str]) -> list[str]:
    """Names without a trailing /1 or /2."""
    return _MATE_SUFFIX.sub("", "\n".join(names)).split("\n") if names else []


def _check_pairs(
    path1: Path, names1: list[str], path2: Path, names2: list[str], first: int
) -> None:
    """Raise unless two blocks of names, starting at record ``first``, are mates."""
    if names1 != names2:
        n = min(len(names1), len(names2))
        base1, base2 = _mate_names(names1[:n]), _mate_names(names2[:n])
        if base1 != base2:
            i = next(i for i in range(n) if base1[i] != base2[i])
            raise InputFileError(
                path1,
                f"read pairs out of step at record {first + i}: {names1[i]!r} in {path1} "
                f"but {names2[i]!r} in {path2}; the two files must list mates in the same order",
                record=_where(first + i),
            )
    if len(names1) != len(names2):
        short, long_ = (path1, path2) if len(names1) < len(names2) else (path2, path1)
        n = first - 1 + min(len(names1), len(names2))
        raise InputFileError(
            short,
            f"the file ends after {n} records but its mate file {long_} has more; "
            "one of the two is truncated",
            record=f"record {n + 1}",
        )


class _PairBlocks:
    """Blocks of both files of a paired run, a whole number of records at a time."""

    def __init__(self, path1: str | os.PathLike[str], path2: str | os.PathLike[str]):
        self.one = _LineBlocks(path1)
        try:
            self.two = _LineBlocks(path2)
        except BaseException:
            self.one.close()
            raise

    def __enter__(self) -> _PairBlocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.one.close()
        self.two.close()

    def take(self, n_records: int) -> tuple[int, list[str], list[str]]:
        first = self.one.records + 1
        return first, self.one.take(n_records), self.two.take(n_records)


def _parse_pair_block(
    path1: Path, lines1: list[str], path2: Path, lines2: list[str], first: int
) -> tuple[list[str], list[str], list[str], list[str], list[str], list[str]]:
    names1, seqs1, quals1 = _parse_block(path1, lines1, first)
    names2, seqs2, quals2 = _parse_block(path2, lines2, first)
    _check_pairs(path1, names1, path2, names2, first)
    return names1, seqs1, quals1, names2, seqs2, quals2


def read_pairs(
    fastq1: str | os.PathLike[str], fastq2: str | os.PathLike[str]
) -> Iterator[tuple[FastqRecord, FastqRecord]]:
    """Stream the mates of a paired run, checking the records and that they pair.

    Parameters
    ----------
    fastq1, fastq2
        The first and second reads, plain or gzip-compressed, mates in the same
        order. Names must agree, apart from a trailing ``/1`` and ``/2``.

    Yields
    ------
    tuple of FastqRecord
        The two mates.

    Raises
    ------
    InputFileError
        Everything :func:`read_fastq` raises for either file; names that do
        not agree ("read pairs out of step at record N"); one file ending
        before the other (naming the shorter file).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "r_1.fq").write_text("@a/1\\nACGT\\n+\\nIIII\\n@b/1\\nACGT\\n+\\nIIII\\n")
    >>> _ = (d / "r_2.fq").write_text("@a/2\\nTTTT\\n+\\nIIII\\n@c/2\\nACGT\\n+\\nIIII\\n")
    >>> _ = (d / "s_2.fq").write_text("@a/2\\nTTTT\\n+\\nIIII\\n@b/2\\nACGT\\n+\\nIIII\\n")
    >>> [(one.name, two.name) for one, two in read_pairs(d / "r_1.fq", d / "s_2.fq")]
    [('a/1', 'a/2'), ('b/1', 'b/2')]
    >>> list(read_pairs(d / "r_1.fq", d / "r_2.fq"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    breedhub.genomics.exceptions.InputFileError: ...r_1.fq: record 2 (line 5): read pairs out of step at record 2: 'b/1' in ...r_1.fq but 'c/2' in ...r_2.fq; ...
    """
    for arg, p in (("fastq1", fastq1), ("fastq2", fastq2)):
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(f"{arg} must be a file path, not {type(p).__name__}")
    with _PairBlocks(fastq1, fastq2) as blocks:
        while True:
            first, lines1, lines2 = blocks.take(BLOCK_RECORDS)
            if not lines1 and not lines2:
                return
            n1, s1, q1, n2, s2, q2 = _parse_pair_block(
                blocks.one.path, lines1, blocks.two.path, lines2, first
            )
            ones = map(FastqRecord._make, zip(n1, s1, q1, strict=True))
            twos = map(FastqRecord._make, zip(n2, s2, q2, strict=True))
            yield from zip(ones, twos, strict=True)
