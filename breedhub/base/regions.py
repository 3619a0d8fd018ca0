"""Contigs and regions: one FASTA-index reader and one region grammar for every stage.

The grammar is samtools': ``contig``, ``contig:start``, ``contig:start-end``,
``contig:-end`` (1-based, inclusive, commas allowed in numbers), and
``{contig}:start-end`` for a contig whose name contains ``:``. A name with
``:`` is resolved against the reference's contig list, as samtools does:
``HLA-A*01:01`` is the whole contig if the reference has it, and a text that
reads both ways is refused as ambiguous rather than guessed.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from breedhub.base.errors import ArgumentError, ArgumentTypeError, InputFileError

_SPAN = re.compile(r"(?P<start>[\d,]*)(?:-(?P<end>[\d,]*))?")


@dataclass(frozen=True)
class Region:
    """A piece of a contig, 1-based and inclusive; ``start``/``end`` None for the contig's ends.

    Examples
    --------
    >>> str(Region("chr1", 100, 200)), str(Region("HLA:1", None, None)), str(Region("chr2", 5, None))
    ('chr1:100-200', '{HLA:1}', 'chr2:5-')
    """

    contig: str
    start: int | None = None
    end: int | None = None

    def __str__(self) -> str:
        name = f"{{{self.contig}}}" if ":" in self.contig else self.contig
        if self.start is None and self.end is None:
            return name
        return f"{name}:{self.start or 1}-{'' if self.end is None else self.end}"

    def bounds(self, length: int) -> tuple[int, int]:
        """(start, end), 1-based inclusive, with open ends filled from the contig's ``length``."""
        return self.start or 1, length if self.end is None else self.end


def read_fai(path: str | os.PathLike[str]) -> dict[str, int]:
    """Contig names and lengths, in order, from a samtools FASTA index (``.fai``).

    Raises
    ------
    InputFileError
        A line that is not ``name<TAB>length<TAB>...``, or a name twice.
    """
    p = Path(path)
    out: dict[str, int] = {}
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputFileError(p, f"cannot read the FASTA index ({e})") from None
    for n, line in enumerate(lines, 1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].isdigit():
            raise InputFileError(
                p,
                "not a FASTA index line (name, length, ...); delete it to have it rebuilt",
                record=f"line {n}",
            )
        if parts[0] in out:
            raise InputFileError(p, f"contig {parts[0]} appears twice", record=f"line {n}")
        out[parts[0]] = int(parts[1])
    return out


def fasta_contigs(path: str | os.PathLike[str]) -> dict[str, int]:
    """Contig names and lengths of a FASTA, in order: from its ``.fai`` when up to date.

    Reads plain, gzip or bgzip FASTA when there is no fresh index.

    Raises
    ------
    InputFileError
        A missing file, a file that is not FASTA, a header without a name, or
        a contig that appears twice (with its line).

    Examples
    --------
    >>> import tempfile
    >>> fa = Path(tempfile.mkdtemp()) / "ref.fa"
    >>> _ = fa.write_text(">chr1 first\\nACGT\\nAC\\n>chr2\\nGG\\n")
    >>> fasta_contigs(fa)
    {'chr1': 6, 'chr2': 2}
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    fai = Path(f"{p}.fai")
    if fai.is_file() and fai.stat().st_mtime >= p.stat().st_mtime:
        from_index = read_fai(fai)
        if from_index:
            return from_index
    with open(p, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    contigs: dict[str, int] = {}
    name: str | None = None
    try:
        with gzip.open(p, "rb") if gz else open(p, "rb") as fh:
            for n, line in enumerate(fh, 1):
                if line.startswith(b">"):
                    words = line[1:].split()
                    name = words[0].decode("utf-8", "replace") if words else ""
                    if not name:
                        raise InputFileError(p, "a '>' header without a name", record=f"line {n}")
                    if name in contigs:
                        raise InputFileError(p, f"contig {name} appears twice", record=f"line {n}")
                    contigs[name] = 0
                elif name is None:
                    if line.strip():
                        raise InputFileError(
                            p, "not FASTA (no '>' header before the sequence)", record=f"line {n}"
                        )
                else:
                    contigs[name] += len(line.strip())
    except (OSError, EOFError) as e:
        raise InputFileError(p, f"cannot read it ({e})") from None
    if not contigs:
        raise InputFileError(p, "no sequences (not a FASTA file?)")
    return contigs


def _number(text: str, what: str, region: str, name: str) -> int | None:
    if text == "":
        return None
    digits = text.replace(",", "")
    if not digits.isdigit() or not digits.isascii():
        raise ArgumentError(f"{name} {region!r}: {what} {text!r} is not a whole number")
    return int(digits)


def _split(text: str, contigs: Mapping[str, int] | None, name: str) -> tuple[str, str | None]:
    """(contig, span or None) of a region text."""
    if text.startswith("{"):
        close = text.find("}")
        if close < 0:
            raise ArgumentError(f"{name} {text!r}: '{{' without '}}'; write {{contig}}:start-end")
        rest = text[close + 1 :]
        if rest and not rest.startswith(":"):
            raise ArgumentError(f"{name} {text!r}: expected ':' after '}}'")
        return text[1:close], (rest[1:] if rest else None)
    head, colon, tail = text.rpartition(":")
    as_span = bool(colon) and head != "" and _SPAN.fullmatch(tail) is not None
    if contigs is None:
        return (head, tail) if as_span else (text, None)
    whole = text in contigs
    split = as_span and head in contigs
    if whole and split:
        raise ArgumentError(
            f"{name} {text!r} is ambiguous: the reference has contigs {text!r} and {head!r}; "
            f"write {{{text}}} for the first or {{{head}}}:{tail} for the second"
        )
    if whole:
        return text, None
    if split:
        return head, tail
    shown = ", ".join(list(contigs)[:8]) + (", ..." if len(contigs) > 8 else "")
    raise ArgumentError(f"{name} {text!r} names no contig of the reference (its contigs: {shown})")


def parse_region(
    text: object, contigs: Mapping[str, int] | None = None, *, name: str = "region"
) -> Region:
    """A :class:`Region` from ``contig[:start[-end]]``, checked against ``contigs`` when given.

    Parameters
    ----------
    text
        The region as a user wrote it.
    contigs
        The reference's contig names and lengths, in order; without it any
        contig name is taken and only the span is checked.
    name
        The argument's name in messages.

    Raises
    ------
    ArgumentError
        An unknown contig, a span outside the contig or with start > end, an
        ambiguous name.

    Examples
    --------
    >>> contigs = {"chr1": 1000, "HLA-A*01:01": 500}
    >>> parse_region("chr1:1,001-2,000", {"chr1": 5000})
    Region(contig='chr1', start=1001, end=2000)
    >>> parse_region("HLA-A*01:01", contigs)
    Region(contig='HLA-A*01:01', start=None, end=None)
    >>> parse_region("HLA-A*01:01:10-20", contigs)
    Region(contig='HLA-A*01:01', start=10, end=20)
    >>> parse_region("{HLA-A*01:01}:10-20", contigs)
    Region(contig='HLA-A*01:01', start=10, end=20)
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(f"{name} must be a 'contig:start-end' string, not {text!r}")
    stripped = text.strip()
    if not stripped or "\x00" in stripped:
        raise ArgumentError(
            f"{name} {text!r} is empty or holds a NUL byte; write contig or contig:start-end"
        )
    contig, span = _split(stripped, contigs, name)
    if not contig:
        raise ArgumentError(f"{name} {text!r} has no contig name")
    start = end = None
    if span is not None:
        m = _SPAN.fullmatch(span)
        if m is None:
            raise ArgumentError(f"{name} {text!r}: {span!r} is not start-end (e.g. chr1:1-50000)")
        start = _number(m.group("start"), "start", text, name)
        end = _number(m.group("end") or "", "end", text, name)
        if m.group("end") is None and start is not None:
            end = None  # contig:start runs to the contig's end, as in samtools
    if start is not None and start < 1:
        raise ArgumentError(f"{name} {text!r}: positions are 1-based; start must be at least 1")
    if start is not None and end is not None and start > end:
        raise ArgumentError(f"{name} {text!r}: start {start} is after end {end}")
    if contigs is not None and end is not None and end > contigs[contig]:
        raise ArgumentError(
            f"{name} {text!r} runs past the end of {contig} (1-{contigs[contig]}); "
            "regions are 1-based and inclusive"
        )
    if contigs is not None and start is not None and start > contigs[contig]:
        raise ArgumentError(
            f"{name} {text!r} starts past the end of {contig} (1-{contigs[contig]})"
        )
    return Region(contig, start, end)


def parse_regions(
    texts: Iterable[object], contigs: Mapping[str, int], *, name: str = "regions"
) -> list[Region]:
    """Several regions, in the reference's contig order, refusing overlaps.

    Examples
    --------
    >>> [str(r) for r in parse_regions(["chr2", "chr1:1-10"], {"chr1": 100, "chr2": 50})]
    ['chr1:1-10', 'chr2']
    """
    if isinstance(texts, str | bytes):
        raise ArgumentTypeError(
            f"{name} must be a list of 'contig:start-end' strings, not one string"
        )
    regions = [parse_region(t, contigs, name=f"{name}[{i}]") for i, t in enumerate(texts)]
    if not regions:
        raise ArgumentError(f"{name} is empty; pass None for the whole genome")
    order = {c: i for i, c in enumerate(contigs)}
    regions.sort(key=lambda r: (order[r.contig], r.start or 1))
    for a, b in zip(regions, regions[1:], strict=False):
        if a.contig == b.contig and (b.start or 1) <= a.bounds(contigs[a.contig])[1]:
            raise ArgumentError(
                f"{name}: {a} and {b} overlap; variants there would be counted twice"
            )
    return regions
