"""Reference genomes: check a FASTA, index it for the aligners, tile it into regions.

:func:`check_fasta` streams a FASTA (plain, gzip or bgzip) and stops at the
first problem with an :class:`~genomics.exceptions.InputFileError` that names
the file, the line (and column) and the fix; it returns each contig's name,
length and MD5 (SAM's ``M5``). :func:`index_reference` checks the FASTA, then
writes the ``.fai`` (samtools), the minimap2 index (``.mmi``) and, when asked,
the bwa index, each through a temporary name, skipping any index newer than
the FASTA; the checked contigs are kept in ``<fasta>.contigs.json`` so that
:func:`load_reference` need not read the genome again. :func:`split_regions`
tiles the genome into region strings for parallel jobs, and
:func:`check_header_contigs` stops a BAM or VCF made against another
reference before it is mixed with this one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from breedhub.base.checks import check_path
from breedhub.base.errors import BreedhubError
from breedhub.base.files import atomic_output, is_bgzf, is_gzip, open_text
from breedhub.base.provenance import provenance
from breedhub.base.regions import Region, read_fai
from breedhub.genomics.exceptions import InputFileError, ToolError, as_genomics_error

#: IUPAC nucleotide codes accepted in sequence lines, either case.
IUPAC = "ACGTUNRYSWKMBDHV"
_IUPAC_BYTES = (IUPAC + IUPAC.lower()).encode()
_NOT_IUPAC = re.compile(rb"[^" + _IUPAC_BYTES + rb"]")
# Contig names SAM and VCF accept (SAM specification, section 1.2.1).
_SAM_NAME = re.compile(r"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*")
ALIGNERS = ("minimap2", "bwa")
_BWA_SUFFIXES = (".amb", ".ann", ".bwt", ".pac", ".sa")
_SIDECAR_VERSION = 1
_NO_BWA = (
    "bwa is not installed: install it (e.g. `conda install -c bioconda bwa`) or leave 'bwa' "
    "out of aligners"
)


@dataclass(frozen=True)
class Contig:
    """One sequence of a reference: its name, length and MD5 (SAM's ``M5`` tag)."""

    name: str
    length: int
    md5: str


@dataclass
class Reference:
    """A checked, indexed reference genome.

    Attributes
    ----------
    path
        The FASTA.
    contigs
        Its contigs, in file order.
    mmi
        The minimap2 index (``<fasta>.mmi``), or None when there is none.
    bwa_prefix
        The prefix of the bwa index files (the FASTA's path), or None.
    """

    path: Path
    contigs: list[Contig]
    mmi: Path | None = None
    bwa_prefix: Path | None = None

    @property
    def lengths(self) -> dict[str, int]:
        """{contig name: length}, in file order."""
        return {c.name: c.length for c in self.contigs}

    @property
    def fai(self) -> Path:
        return Path(f"{self.path}.fai")

    @property
    def total_length(self) -> int:
        return sum(c.length for c in self.contigs)


def check_fasta(path: str | os.PathLike[str]) -> list[Contig]:
    """Check a FASTA file line by line and return its contigs.

    The file may be plain, gzip or bgzip. Blank lines are allowed before the
    first header and at the end of a contig. Checked: the file has a
    sequence; the first line that is not blank is a ``>`` header; every
    header has a name that SAM and VCF accept (the first word) and no name
    is used twice; every contig has sequence; sequence lines hold IUPAC
    nucleotide codes only (``ACGTUNRYSWKMBDHV``, either case); and within a
    contig every line but the last has the same length, with no blank line
    between sequence lines (what ``samtools faidx`` needs).

    Parameters
    ----------
    path
        The FASTA.

    Returns
    -------
    list of Contig
        Name, length and MD5 of each contig in file order; the MD5 is SAM's
        ``M5``: of the upper-cased sequence, without line breaks.

    Raises
    ------
    InputFileError
        At the first problem, naming the line (and column for a bad letter);
        also for a missing file, a ``.gz`` that is not gzip and a corrupt or
        truncated gzip stream.

    Examples
    --------
    >>> import tempfile
    >>> fa = Path(tempfile.mkdtemp()) / "ref.fa"
    >>> _ = fa.write_text(">chr1 first\\nACGTN\\nac\\n>chr2\\nGGGG\\n")
    >>> check_fasta(fa)[0]
    Contig(name='chr1', length=7, md5='0125539a8710e67f4964f3de9132cfa6')
    >>> _ = fa.write_text(">chr1\\nACGT\\nAC-T\\n")
    >>> try:
    ...     check_fasta(fa)
    ... except InputFileError as e:
    ...     print(f"{e.record}: {e.problem}")
    line 3, column 3: '-' is not a nucleotide code (IUPAC: ACGTUNRYSWKMBDHV, either case)
    """
    path = check_path("path", path)
    contigs: list[Contig] = []
    first_line: dict[str, int] = {}
    name: str | None = None
    header_at = length = width = 0
    md5 = hashlib.md5()
    short_at = blank_at = 0  # in this contig: a line shorter than the first; a blank line
    n = 0

    def finish(before: str) -> None:
        if name is None:
            return
        if length == 0:
            raise InputFileError(
                path, f"contig {name} has no sequence before {before}", record=f"line {header_at}"
            )
        contigs.append(Contig(name, length, md5.hexdigest()))

    def fail(problem: str, column: int | None = None) -> InputFileError:
        where = f"line {n}" if column is None else f"line {n}, column {column}"
        return InputFileError(path, problem, record=where)

    with as_genomics_error():
        opened = open_text(path)
    with opened as text:
        try:  # read bytes (text.buffer), so that line numbers stay exact for any byte
            for n, raw in enumerate(text.buffer, 1):  # type: ignore[attr-defined]
                line = raw.rstrip(b"\n")
                if line.endswith(b"\r"):
                    line = line[:-1]
                if not line:
                    if length and not blank_at:
                        blank_at = n
                    continue
                if line[:1] == b">":
                    finish("the next header")
                    name = _header_name(line, n, first_line, fail)
                    first_line[name] = header_at = n
                    length = width = short_at = blank_at = 0
                    md5 = hashlib.md5()
                    continue
                if name is None:
                    raise fail("expected a '>' header before the sequence; is this a FASTA file?")
                if line.translate(None, _IUPAC_BYTES):
                    m = _NOT_IUPAC.search(line)
                    assert m is not None
                    raise fail(
                        f"{m.group().decode('latin-1')!r} is not a nucleotide code (IUPAC: "
                        f"{IUPAC}, either case)",
                        column=m.start() + 1,
                    )
                if len(line) != width or blank_at or short_at:
                    width, short_at = _line_width(
                        name, len(line), n, width, short_at, blank_at, fail
                    )
                length += len(line)
                md5.update(line.upper())
        except (OSError, EOFError, zlib.error) as e:
            n += 1
            raise fail(f"the gzip stream is corrupt or truncated ({e})") from e
    finish("the end of the file")
    if not contigs:
        raise InputFileError(path, "the file is empty: no '>' header and no sequence")
    return contigs


_REWRAP = "samtools faidx needs lines of one length: rewrap it (e.g. `seqkit seq -w 60`)"


def _header_name(
    line: bytes, n: int, first_line: dict[str, int], fail: Callable[[str], InputFileError]
) -> str:
    """The contig name of header line ``n``, checked against SAM/VCF and earlier headers."""
    words = line[1:].split()
    if not words:
        raise fail("the header has no name: write the contig name after '>'")
    name = words[0].decode("ascii", "backslashreplace")
    if not _SAM_NAME.fullmatch(name):
        raise fail(
            f"contig name {name!r} is not valid in SAM/VCF; use letters, digits "
            "and _.-|:+ (not starting with * or =)"
        )
    if name in first_line:
        raise fail(
            f"contig name {name} is used twice, at lines {first_line[name]} and "
            f"{n}; contig names must be unique"
        )
    return name


def _line_width(
    name: str,
    n_bases: int,
    n: int,
    width: int,
    short_at: int,
    blank_at: int,
    fail: Callable[[str], InputFileError],
) -> tuple[int, int]:
    """Check the length of sequence line ``n`` of a contig; return the new (width, short_at).

    Called only for the first line of a contig and for a line that breaks its
    layout: lines of one length (``width``), the last of them possibly shorter
    (``short_at``), blank lines (``blank_at``) only at the end.
    """
    if blank_at:
        raise fail(
            f"in contig {name}, blank line {blank_at} is followed by more sequence; {_REWRAP}"
        )
    if short_at:
        raise fail(
            f"in contig {name}, line {short_at} is shorter than the first but is not "
            f"the last; {_REWRAP}"
        )
    if not width:
        return n_bases, short_at
    if n_bases > width:
        raise fail(
            f"the line has {n_bases} bases but the first line of contig {name} "
            f"has {width}; {_REWRAP}"
        )
    return width, n  # shorter than the first: must be the contig's last line


def _fresh(index: Path, source: Path) -> bool:
    """Whether ``index`` exists and is at least as new as ``source``."""
    return index.is_file() and index.stat().st_mtime_ns >= source.stat().st_mtime_ns


def _sidecar_path(path: Path) -> Path:
    return Path(f"{path}.contigs.json")


def _read_sidecar(path: Path) -> list[Contig] | None:
    """The contigs saved by the last check of ``path``, if it still describes the file."""
    sidecar = _sidecar_path(path)
    if not _fresh(sidecar, path):
        return None
    try:
        data = json.loads(sidecar.read_text())
        st = path.stat()
        if (
            data.get("version") != _SIDECAR_VERSION
            or data.get("size") != st.st_size
            or data.get("mtime_ns") != st.st_mtime_ns
        ):
            return None
        return [Contig(str(c), int(n), str(m)) for c, n, m in data["contigs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable: check the FASTA again


def _write_sidecar(path: Path, contigs: list[Contig]) -> None:
    st = path.stat()
    data = {
        "version": _SIDECAR_VERSION,
        "fasta": path.name,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "provenance": provenance(
            "breedhub.genomics.reference.index_reference", inputs=[path]
        ).to_dict(),
        "contigs": [[c.name, c.length, c.md5] for c in contigs],
    }
    with atomic_output(_sidecar_path(path)) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n")


def _write_fai(path: Path) -> None:
    import pysam

    with contextlib.ExitStack() as stack:
        args = [str(path), "--fai-idx", str(stack.enter_context(atomic_output(f"{path}.fai")))]
        if is_bgzf(path):
            args += ["--gzi-idx", str(stack.enter_context(atomic_output(f"{path}.gzi")))]
        try:
            pysam.faidx(*args)
        except pysam.SamtoolsError as e:  # check_fasta passed, so this is unexpected
            raise ToolError(f"samtools faidx could not index {path}: {e}") from e


def _write_mmi(path: Path, threads: int) -> Path:
    import mappy

    mmi = Path(f"{path}.mmi")
    with atomic_output(mmi) as tmp:
        aligner = mappy.Aligner(str(path), preset="sr", n_threads=threads, fn_idx_out=str(tmp))
        if not aligner or not tmp.is_file():
            raise ToolError(f"minimap2 (mappy) could not index {path}")
    return mmi


def _write_bwa(path: Path) -> None:
    bwa = shutil.which("bwa")
    if bwa is None:
        raise ToolError(_NO_BWA)
    tmp = path.with_name(f".part-{os.getpid()}-{path.name}")
    parts = [Path(f"{tmp}{s}") for s in _BWA_SUFFIXES]
    try:
        run = subprocess.run(
            [bwa, "index", "-p", str(tmp), str(path)], capture_output=True, text=True, check=False
        )
        if run.returncode != 0 or not all(p.is_file() for p in parts):
            tail = "\n".join(run.stderr.strip().splitlines()[-5:])
            raise ToolError(f"bwa index failed on {path} (exit {run.returncode}):\n{tail}")
        for part, suffix in zip(parts, _BWA_SUFFIXES, strict=True):
            os.replace(part, f"{path}{suffix}")
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _check_aligners(aligners: object) -> tuple[str, ...]:
    if isinstance(aligners, str) or not isinstance(aligners, Iterable):
        raise TypeError(
            f"aligners must be a list of names from {ALIGNERS}, e.g. ('minimap2',), not {aligners!r}"
        )
    out = tuple(aligners)
    unknown = [a for a in out if a not in ALIGNERS]
    if unknown:
        raise ValueError(f"aligners {unknown} are not supported; choose from {ALIGNERS}")
    return out


def _existing_indexes(path: Path) -> tuple[Path | None, Path | None]:
    mmi = Path(f"{path}.mmi")
    bwa_fresh = all(_fresh(Path(f"{path}{s}"), path) for s in _BWA_SUFFIXES)
    return (mmi if _fresh(mmi, path) else None), (path if bwa_fresh else None)


def index_reference(
    path: str | os.PathLike[str],
    *,
    aligners: Sequence[str] = ("minimap2",),
    threads: int = 1,
) -> Reference:
    """Check a FASTA and write the indexes the pipeline needs.

    The FASTA is checked first (:func:`check_fasta`; nothing is written if
    it fails). Then come the ``.fai`` (``samtools faidx``; ``.gzi`` too for a
    bgzip FASTA), ``<fasta>.contigs.json`` (the checked contigs, for
    :func:`load_reference`), the minimap2 index ``<fasta>.mmi`` (short-read
    preset) and, if ``"bwa"`` is in ``aligners``, the bwa index (files
    ``<fasta>.bwt``, ``.pac``...). Every file is written under a temporary
    name; an index newer than the FASTA is kept as it is, and a FASTA whose
    contigs file is newer is not read again.

    Parameters
    ----------
    path
        The FASTA: plain or bgzip (a plain-gzip FASTA cannot be indexed).
    aligners
        Which aligner indexes to build: ``"minimap2"``, ``"bwa"``, both, or none.
    threads
        Threads for minimap2's indexing.

    Returns
    -------
    Reference

    Raises
    ------
    InputFileError
        If the FASTA fails :func:`check_fasta`, or is gzip but not bgzip.
    ToolError
        If bwa is asked for but not installed, or an indexer fails.

    Examples
    --------
    >>> import tempfile
    >>> fa = Path(tempfile.mkdtemp()) / "ref.fa"
    >>> _ = fa.write_text(">chr1\\n" + "ACGTTGCAAGGCTTACCGAT" * 50 + "\\n")
    >>> ref = index_reference(fa)
    >>> ref.lengths, ref.mmi.name, Path(f"{fa}.fai").is_file()
    ({'chr1': 1000}, 'ref.fa.mmi', True)
    """
    path = check_path("path", path)
    aligners = _check_aligners(aligners)
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an integer, not {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    if not path.is_file():
        raise InputFileError(path, "no such file")
    if "bwa" in aligners and shutil.which("bwa") is None:
        raise ToolError(_NO_BWA)
    if is_gzip(path) and not is_bgzf(path):
        fix = (
            f"`gunzip {path.name} && bgzip {path.name[:-3]}`"
            if path.name.endswith(".gz")
            else f"`gunzip -c {path.name} > plain.fa && bgzip plain.fa`"
        )
        raise InputFileError(
            path,
            f"the FASTA is compressed with gzip, not bgzip, so it cannot be indexed: recompress it "
            f"with {fix}, or use it uncompressed",
        )
    contigs = _read_sidecar(path)
    if contigs is None:
        contigs = check_fasta(path)
    if not (
        _fresh(Path(f"{path}.fai"), path)
        and (not is_bgzf(path) or _fresh(Path(f"{path}.gzi"), path))
    ):
        _write_fai(path)
    if _read_sidecar(path) is None:
        _write_sidecar(path, contigs)
    if "minimap2" in aligners and not _fresh(Path(f"{path}.mmi"), path):
        _write_mmi(path, threads)
    if "bwa" in aligners and not all(_fresh(Path(f"{path}{s}"), path) for s in _BWA_SUFFIXES):
        _write_bwa(path)
    mmi, bwa_prefix = _existing_indexes(path)
    return Reference(path, contigs, mmi, bwa_prefix)


def load_reference(path: str | os.PathLike[str]) -> Reference:
    """A :class:`Reference` for a FASTA, from its indexes when they are up to date.

    Reads the ``.fai`` and the contigs saved by :func:`index_reference`
    when both are newer than the FASTA (and agree), so a large genome is not
    read again; otherwise checks and indexes it (``.fai`` and contigs only;
    call :func:`index_reference` for the aligners' indexes). ``mmi`` and
    ``bwa_prefix`` are set when those indexes exist and are up to date.

    Parameters
    ----------
    path
        The FASTA.

    Returns
    -------
    Reference

    Raises
    ------
    InputFileError
        If the FASTA has to be checked and fails.

    Examples
    --------
    >>> import tempfile
    >>> fa = Path(tempfile.mkdtemp()) / "ref.fa"
    >>> _ = fa.write_text(">chr1\\nACGT\\n>chr2\\nGGCC\\n")
    >>> ref = load_reference(fa)
    >>> ref.lengths, ref.mmi is None, Path(f"{fa}.contigs.json").is_file()
    ({'chr1': 4, 'chr2': 4}, True, True)
    """
    path = check_path("path", path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    contigs = _read_sidecar(path)
    fai = Path(f"{path}.fai")
    if contigs is not None and _fresh(fai, path):
        try:
            in_fai = list(read_fai(fai).items())
        except BreedhubError:
            in_fai = []
        if in_fai == [(c.name, c.length) for c in contigs]:
            mmi, bwa_prefix = _existing_indexes(path)
            return Reference(path, contigs, mmi, bwa_prefix)
        fai.unlink(missing_ok=True)  # disagrees with the checked contigs: rebuild it
    return index_reference(path, aligners=())


def _region(name: str, start: int, end: int) -> str:
    # htslib reads {name} as a whole name, for names that contain ':'
    return str(Region(name, start, end))


def split_regions(
    reference_or_contigs: Reference | Sequence[Contig] | Mapping[str, int],
    *,
    size: int | None = None,
    n: int | None = None,
) -> list[str]:
    """Tile a genome into region strings (``chr1:1-100000``, 1-based, inclusive).

    Regions follow the contig order, never span two contigs, and cover every
    base exactly once. Give ``size`` (regions of that length; each contig's
    last one shorter) or ``n`` (about ``n`` regions of about equal length;
    each contig gets at least one). A contig name with ':' is written
    ``{name}:start-end``, as htslib reads it.

    Parameters
    ----------
    reference_or_contigs
        A :class:`Reference`, a list of :class:`Contig`, or ``{name: length}``.
    size, n
        Exactly one of them: the region length, or about how many regions.

    Returns
    -------
    list of str

    Examples
    --------
    >>> split_regions({"chr1": 250, "chr2": 100}, size=100)
    ['chr1:1-100', 'chr1:101-200', 'chr1:201-250', 'chr2:1-100']
    >>> split_regions({"chr1": 250, "chr2": 100}, n=3)
    ['chr1:1-125', 'chr1:126-250', 'chr2:1-100']
    """
    if isinstance(reference_or_contigs, Reference):
        lengths = list(reference_or_contigs.lengths.items())
    elif isinstance(reference_or_contigs, Mapping):
        lengths = list(reference_or_contigs.items())
    elif isinstance(reference_or_contigs, Sequence) and all(
        isinstance(c, Contig) for c in reference_or_contigs
    ):
        lengths = [(c.name, c.length) for c in reference_or_contigs]
    else:
        raise TypeError(
            "reference_or_contigs must be a Reference, a list of Contig or a {name: length} "
            f"dict, not {type(reference_or_contigs).__name__}"
        )
    bad = [
        name
        for name, length in lengths
        if isinstance(length, bool) or not isinstance(length, int) or length < 1
    ]
    if bad:
        raise ValueError(f"contig lengths must be positive integers; check {bad[:5]}")
    if (size is None) == (n is None):
        raise ValueError("give exactly one of size (bases per region) or n (number of regions)")
    for label, value in (("size", size), ("n", n)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{label} must be a positive integer, not {value!r}")
    total = sum(length for _, length in lengths)
    regions: list[str] = []
    starts: Sequence[int]
    for name, length in lengths:
        if size is not None:
            starts = range(0, length, size)
            ends = [min(s + size, length) for s in starts]
        else:
            assert n is not None
            k = min(length, max(1, round(length * n / total)))
            bounds = [length * i // k for i in range(k + 1)]
            starts, ends = bounds[:-1], bounds[1:]
        regions += [_region(name, s + 1, e) for s, e in zip(starts, ends, strict=True)]
    return regions


def check_header_contigs(
    path: str | os.PathLike[str],
    header_contigs: Mapping[str, int | None],
    reference: Reference,
) -> None:
    """Stop a BAM or VCF whose header names contigs the reference does not have.

    Parameters
    ----------
    path
        The BAM/CRAM/VCF (for the message).
    header_contigs
        ``{name: length}`` from its header (``@SQ`` or ``##contig`` lines); a
        length of None is not compared.
    reference
        The reference it must match.

    Raises
    ------
    InputFileError
        Naming the first contig that is missing from the reference or has
        another length there, and how many more disagree.

    Examples
    --------
    >>> ref = Reference(Path("reference.fa"), [Contig("chr1", 1000, ""), Contig("chr2", 2000, "")])
    >>> check_header_contigs("a.bam", {"chr1": 1000, "chr2": 2000}, ref)
    >>> check_header_contigs("b.vcf.gz", {"chr1": 1000, "chr2": 1000}, ref)
    Traceback (most recent call last):
    ...
    breedhub.genomics.exceptions.InputFileError: b.vcf.gz: contig chr2: aligned to another reference? contig chr2 has length 1000 in the file but 2000 in reference.fa
    """
    path = check_path("path", path)
    if not isinstance(reference, Reference):
        raise TypeError(
            f"reference must be a Reference (from load_reference), not {type(reference).__name__}"
        )
    if not isinstance(header_contigs, Mapping):
        raise TypeError(
            f"header_contigs must be a {{name: length}} mapping, not {type(header_contigs).__name__}"
        )
    known = reference.lengths
    problems: list[tuple[str, str]] = []
    for name, length in header_contigs.items():
        if name not in known:
            problems.append((name, f"contig {name} is not in {reference.path.name}"))
        elif length is not None and int(length) != known[name]:
            problems.append(
                (
                    name,
                    f"contig {name} has length {length} in the file but {known[name]} "
                    f"in {reference.path.name}",
                )
            )
    if problems:
        name, problem = problems[0]
        more = f" ({len(problems) - 1} more contigs disagree)" if len(problems) > 1 else ""
        raise InputFileError(
            path, f"aligned to another reference? {problem}{more}", record=f"contig {name}"
        )
