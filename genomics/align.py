"""Reads to a coordinate-sorted, indexed, duplicate-marked BAM.

:func:`align_reads` maps one sample's reads (several lanes, paired- or
single-end) with minimap2's short-read preset through its Python binding,
mappy, or with ``bwa mem``, and hands the records to samtools (bundled in
pysam, so no samtools binary is needed) to sort, mark duplicates and index.
:func:`alignment_stats` summarises a BAM; :func:`align_reads` writes that
summary beside the BAM as JSON.

The minimap2 path
-----------------
Reads are parsed, checked (:mod:`genomics.fastq`), mapped and written as SAM
text by worker processes forked from the caller (mappy releases the GIL while
it maps, but turning its hits into SAM records is Python and would serialise
threads), a block of pairs at a time. The records are those ``minimap2 -ax
sr`` writes: primary alignments with soft clips; supplementary alignments
(flag 0x800) with hard clips and SEQ cut to the aligned part; ``SA`` tags on
the primary and its supplementaries; no secondary alignments; unmapped reads
kept, placed at their mate's position; minimap2's TLEN (between the 5' ends);
its proper-pair rule (same contig, forward read first, gap to the reverse read
within ``max(max_frag_len - len1 - len2, 100)``). ``max_frag_len`` is
minimap2's 800 unless the library's fragments are longer: it is estimated
from the first pairs (75th percentile + 3 interquartile ranges) as bwa does.
The records also carry what ``samtools fixmate -m`` would add (``MC``, and
``ms`` as samtools' mate score, not minimap2's DP score), so the stream goes
straight to ``samtools sort | samtools markdup``, with no fixmate pass.

The bwa path
------------
The reads are checked as they are streamed to ``bwa mem -p`` (interleaved, so
lanes of paired and single reads go through one bwa run; ``-K`` fixed so the
output does not depend on the thread count), and bwa's output is piped
through ``samtools fixmate -m``, ``sort`` and ``markdup``.

Every output (BAM, ``.bai``, ``.stats.json``) is written under a temporary
name and renamed only when complete; temporary files go to a directory beside
the output, removed at the end whatever happens.
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from breedhub.genomics.exceptions import InputFileError, ToolError
from breedhub.genomics.fastq import _LineBlocks, _PairBlocks, _parse_block, _parse_pair_block
from breedhub.genomics.files import atomic_output

__all__ = ["AlignmentStats", "align_reads", "alignment_stats"]

#: Aligners :func:`align_reads` knows.
ALIGNERS = ("minimap2", "bwa")
#: Pairs (or single reads) mapped and formatted per task.
BATCH = 4096
#: Pairs mapped to estimate the fragment length distribution.
ESTIMATE_PAIRS = 2000
#: minimap2's short-read preset: longest fragment, shortest gap allowance, scores.
SR_MAX_FRAG_LEN = 800
SR_MAX_GAP = 100
SR_K, SR_W = 21, 11
_MATCH, _MISMATCH, _AMBIGUOUS = 2, 8, 1
_GAP = ((12, 2), (24, 1))  # two-piece affine: open, extend

_COMP = str.maketrans("ACGTNRYSWKMBDHVacgtnryswkmbdhv", "TGCANYRSWMKVHDBtgcanyrswmkvhdb")
_OPS = "MIDNSHP=XB"
_ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)
_CS_ENDS = re.compile(r":(\d+)\D.*:(\d+)\Z", re.DOTALL)  # first and last match runs
_M_CIGARS = [f"{n}M" for n in range(1024)]
_CS_TOKEN = re.compile(r":(\d+)|\*(.)(.)|[+-]([a-z]+)")
_MATE_SUFFIX = re.compile(r"/[0-9]$", re.MULTILINE)
_CHILD = (
    "import sys, pysam\n"
    "try:\n"
    "    getattr(pysam, sys.argv[1])(*sys.argv[2:], catch_stdout=False)\n"
    "except pysam.SamtoolsError as e:\n"
    "    sys.exit(str(e))\n"
)


# --------------------------------------------------------------------- stats


@dataclasses.dataclass(frozen=True)
class AlignmentStats:
    """A summary of one BAM, as written to ``<bam stem>.stats.json``.

    Attributes
    ----------
    reads
        Reads (primary records, mapped or not).
    mapped, mapped_pct
        Reads mapped, and their percentage of ``reads``.
    properly_paired_pct
        Reads flagged properly paired, in percent of the paired reads (0 for
        single-end data).
    duplicates_pct
        Mapped reads flagged duplicate, in percent of the mapped reads.
    supplementary
        Supplementary records (the other parts of chimeric reads).
    mean_depth
        Reference bases covered by aligned read bases (M, =, X), primary and
        supplementary records, duplicates excluded, over the reference length.
    insert_size_median, insert_size_mean, insert_size_sd
        Fragment lengths (|TLEN|) of proper pairs, duplicates excluded; None
        when there are none.
    """

    reads: int
    mapped: int
    mapped_pct: float
    properly_paired_pct: float
    duplicates_pct: float
    supplementary: int
    mean_depth: float
    insert_size_median: float | None
    insert_size_mean: float | None
    insert_size_sd: float | None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what the JSON file holds)."""
        return dataclasses.asdict(self)


def _stats_chunk(bam: str, region: tuple[str, int, int] | None) -> tuple[list[int], np.ndarray]:
    """Counts over the records starting in ``region``; all records when None.

    Returns [reads, mapped, paired, proper, duplicates, supplementary, depth
    bases] and the fragment lengths of proper pairs.
    """
    import pysam

    reads = mapped = paired = proper = dup = supp = bases = 0
    tlens: list[int] = []
    with pysam.AlignmentFile(bam, "rb", check_sq=False) as f:
        if region is None:
            it, start = f.fetch(until_eof=True), -1
        elif region[0] == "*":
            it, start = f.fetch("*"), -1
        else:
            it, start = f.fetch(region[0], region[1], region[2]), region[1]
        for r in it:
            flag = r.flag
            if flag & 0x100 or r.reference_start < start:
                continue  # secondary, or started in the previous region
            if flag & 0x800:
                supp += 1
            else:
                reads += 1
                if flag & 0x1:
                    paired += 1
                    if flag & 0x2:
                        proper += 1
                if flag & 0x4:
                    continue
                mapped += 1
                if flag & 0x400:
                    dup += 1
            if flag & 0x604:  # unmapped, QC fail, duplicate: not in the depth
                continue
            cig = r.cigartuples or []
            if len(cig) == 1:
                bases += cig[0][1]
            else:
                bases += sum(n for op, n in cig if op == 0 or op == 7 or op == 8)
            if flag & 0x842 == 0x42 and r.template_length:  # read 1 of a proper pair
                tlens.append(abs(r.template_length))
    return [reads, mapped, paired, proper, dup, supp, bases], np.asarray(tlens, dtype=np.int64)


def alignment_stats(
    bam: str | os.PathLike[str],
    *,
    reference: str | os.PathLike[str] | None = None,
    threads: int = 1,
) -> AlignmentStats:
    """Summarise a BAM in one pass: reads, mapping, pairing, duplicates, depth, insert size.

    Parameters
    ----------
    bam
        A BAM file. With ``threads`` > 1 and an index (``.bai``/``.csi``) it is
        read a region per process.
    reference
        FASTA (with its ``.fai``) whose length divides the aligned bases into
        the mean depth; by default the lengths of the BAM's ``@SQ`` lines.
    threads
        Processes reading the BAM.

    Returns
    -------
    AlignmentStats

    Raises
    ------
    InputFileError
        If the BAM (or the reference's ``.fai``) cannot be read.

    Examples
    --------
    >>> import pysam, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": 100}]}
    >>> with pysam.AlignmentFile(d / "x.bam", "wb", header=header) as out:
    ...     for name, flag, pos, tlen in [("p", 99, 10, 60), ("p", 147, 40, -60), ("u", 4, -1, 0)]:
    ...         r = pysam.AlignedSegment(out.header)
    ...         r.query_name, r.flag, r.reference_start, r.template_length = name, flag, pos, tlen
    ...         r.query_sequence, r.query_qualities = "A" * 30, [30] * 30
    ...         if not flag & 4:
    ...             r.reference_id, r.cigarstring, r.mapping_quality = 0, "30M", 60
    ...             r.next_reference_id, r.next_reference_start = 0, 50 - pos
    ...         _ = out.write(r)
    >>> s = alignment_stats(d / "x.bam")
    >>> s.reads, s.mapped, s.mapped_pct, s.properly_paired_pct, s.mean_depth, s.insert_size_median
    (3, 2, 66.6667, 100.0, 0.6, 60.0)
    """
    bam = _check_path(bam, "bam")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive integer, not {threads!r}")
    import pysam

    try:
        with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as f:
            lengths = dict(zip(f.references, f.lengths, strict=True))
            indexed = threads > 1 and f.has_index()
    except (OSError, ValueError) as e:
        raise InputFileError(bam, f"not a readable BAM file ({e})") from None
    if reference is not None:
        lengths = dict(_read_fai(_check_path(reference, "reference")))
    genome = sum(lengths.values())

    if indexed:
        step = max(1_000_000, genome // (4 * threads) + 1)
        regions: list[tuple[str, int, int] | None] = [
            (name, s, min(s + step, length))
            for name, length in lengths.items()
            for s in range(0, length, step)
        ]
        regions.append(("*", 0, 0))
        with _pool(threads) as pool:
            parts = pool.starmap(_stats_chunk, [(str(bam), r) for r in regions])
    else:
        parts = [_stats_chunk(str(bam), None)]
    reads, mapped, paired, proper, dup, supp, bases = np.sum([p[0] for p in parts], axis=0).tolist()
    tlens = np.concatenate([p[1] for p in parts])
    return AlignmentStats(
        reads=reads,
        mapped=mapped,
        mapped_pct=_pct(mapped, reads),
        properly_paired_pct=_pct(proper, paired),
        duplicates_pct=_pct(dup, mapped),
        supplementary=supp,
        mean_depth=round(bases / genome, 4) if genome else 0.0,
        insert_size_median=float(np.median(tlens)) if tlens.size else None,
        insert_size_mean=round(float(tlens.mean()), 3) if tlens.size else None,
        insert_size_sd=round(float(tlens.std(ddof=1)), 3) if tlens.size > 1 else None,
    )


def _pct(n: int, d: int) -> float:
    return round(100.0 * n / d, 4) if d else 0.0


# ----------------------------------------------------------------- reference


def _check_path(path: object, arg: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{arg} must be a file path, not {type(path).__name__}")
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    return p


def _read_fai(fasta: Path) -> list[tuple[str, int]]:
    fai = Path(f"{fasta}.fai")
    try:
        rows = [line.split("\t") for line in fai.read_text().splitlines() if line]
        return [(r[0], int(r[1])) for r in rows]
    except (OSError, IndexError, ValueError) as e:
        raise InputFileError(
            fai, f"not a FASTA index ({e}); delete it to have it rebuilt"
        ) from None


def _ensure_fai(fasta: Path) -> list[tuple[str, int]]:
    """The contigs of ``fasta`` from its ``.fai``, built (with pysam) when missing or stale."""
    fai = Path(f"{fasta}.fai")
    if not fai.exists() or fai.stat().st_mtime < fasta.stat().st_mtime:
        import pysam

        try:
            pysam.faidx(str(fasta))
        except pysam.SamtoolsError as e:
            raise InputFileError(
                fasta,
                f"cannot index the FASTA ({str(e).strip()}); it must be plain or bgzip-compressed",
            ) from None
    contigs = _read_fai(fasta)
    if not contigs:
        raise InputFileError(fasta, "the FASTA holds no sequences")
    return contigs


# ------------------------------------------------------------- samtools tail


def _child(
    cmd: str, args: Sequence[str], *, stdin: Any, stdout: Any, log: Path
) -> subprocess.Popen[bytes]:
    """A samtools command run by pysam in a child Python, so it needs no samtools binary."""
    with open(log, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-c", _CHILD, cmd, *args], stdin=stdin, stdout=stdout, stderr=err
        )


class _BamTail:
    """``[fixmate -m |] sort | markdup --write-index`` (or ``sort --write-index``).

    SAM text written to :attr:`stdin` ends up as a sorted, indexed BAM.
    """

    def __init__(
        self,
        bam: Path,
        bai: Path,
        tmpdir: Path,
        *,
        threads: int,
        mark_duplicates: bool,
        fixmate: bool,
        stdin: Any = subprocess.PIPE,
    ):
        self.bam, self.bai, self.tmpdir = bam, bai, tmpdir
        self.threads, self.mark_duplicates = threads, mark_duplicates
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        t = ["-@", str(threads)] if threads > 1 else []
        src = stdin
        if fixmate:
            p = self._start("fixmate", [*t, "-m", "-u", "-", "-"], src, subprocess.PIPE)
            src = p.stdout
        out = f"{bam}##idx##{bai}"
        if mark_duplicates:
            args = [*t, "-u", "-T", str(tmpdir / "sort"), "-o", "-", "-"]
            self._start("sort", args, src, subprocess.PIPE)
        else:
            args = [*t, "-T", str(tmpdir / "sort"), "--write-index", "-o", out, "-"]
            self._start("sort", args, src, subprocess.DEVNULL)
        self.stdin: IO[bytes] | None = self.procs[0][1].stdin

    def _start(self, cmd: str, args: list[str], stdin: Any, stdout: Any) -> subprocess.Popen[bytes]:
        log = self.tmpdir / f"{cmd}.log"
        p = _child(cmd, args, stdin=stdin, stdout=stdout, log=log)
        if stdin is not subprocess.PIPE and hasattr(stdin, "close"):
            stdin.close()  # the child has it now
        self.procs.append((cmd, p, log))
        return p

    def finish(self, max_read_length: int) -> None:
        """Close the input, let the tail run, and raise ToolError if a step failed."""
        if self.stdin is not None:
            try:
                self.stdin.close()
            except BrokenPipeError:
                pass  # the step's own error is below
            self.stdin = None
        if self.mark_duplicates:
            t = ["-@", str(self.threads)] if self.threads > 1 else []
            args = [*t, "-l", str(max(300, max_read_length)), "-T", str(self.tmpdir / "markdup")]
            args += ["--write-index", "-", f"{self.bam}##idx##{self.bai}"]
            self._start("markdup", args, self.procs[-1][1].stdout, subprocess.DEVNULL)
        for cmd, p, log in self.procs:
            if p.wait() != 0:
                self.abort()
                msg = log.read_text(errors="replace").strip()[-2000:]
                raise ToolError(f"samtools {cmd} (run by pysam) failed: {msg}")

    def abort(self) -> None:
        for _, p, _ in self.procs:
            if p.poll() is None:
                p.kill()
        for _, p, _ in self.procs:
            p.wait()
        if self.stdin is not None:
            try:
                self.stdin.close()
            except OSError:
                pass
            self.stdin = None


# ----------------------------------------------------------------- SAM text


def _header(
    contigs: Sequence[tuple[str, int]],
    rg: dict[str, str],
    programs: Sequence[dict[str, str]],
) -> str:
    lines = ["@HD\tVN:1.6\tSO:unsorted"]
    lines += [f"@SQ\tSN:{name}\tLN:{length}" for name, length in contigs]
    lines.append("@RG\t" + "\t".join(f"{k}:{v}" for k, v in rg.items()))
    prev = None
    for pg in programs:
        fields = dict(pg)
        if prev:
            fields["PP"] = prev
        lines.append("@PG\t" + "\t".join(f"{k}:{v}" for k, v in fields.items()))
        prev = pg["ID"]
    return "\n".join(lines) + "\n"


def _cs_events(cs: str) -> tuple[list[int], list[int]]:
    """Score and exact-match run length of each event of a cs string (run 0: not a match)."""
    scores: list[int] = []
    runs: list[int] = []
    for m, ref, qry, gap in _CS_TOKEN.findall(cs):
        if m:
            n = int(m)
            scores.append(_MATCH * n)
            runs.append(n)
        elif ref:
            scores.append(-_AMBIGUOUS if ref == "n" or qry == "n" else -_MISMATCH)
            runs.append(0)
        else:
            scores.append(-_gap_cost(len(gap)))
            runs.append(0)
    return scores, runs


def _ref_events(ref: str, qry: str, cigar: list[list[int]]) -> tuple[list[int], list[int]]:
    """:func:`_cs_events` from the aligned reference and query (both forward on the reference)."""
    scores: list[int] = []
    runs: list[int] = []
    r = q = 0
    for n, op in cigar:
        if op == 0 or op == 7 or op == 8:
            a = np.frombuffer(ref[r : r + n].upper().encode("ascii"), dtype=np.uint8)
            b = np.frombuffer(qry[q : q + n].upper().encode("ascii"), dtype=np.uint8)
            ambiguous = ~np.isin(a, _ACGT) | ~np.isin(b, _ACGT)
            last = 0
            for i in np.flatnonzero(ambiguous | (a != b)).tolist():
                if i > last:
                    scores.append(_MATCH * (i - last))
                    runs.append(i - last)
                scores.append(-_AMBIGUOUS if ambiguous[i] else -_MISMATCH)
                runs.append(0)
                last = i + 1
            if n > last:
                scores.append(_MATCH * (n - last))
                runs.append(n - last)
            r += n
            q += n
        elif op == 1 or op == 2:
            scores.append(-_gap_cost(n))
            runs.append(0)
            if op == 1:
                q += n
            else:
                r += n
    return scores, runs


def _gap_cost(n: int) -> int:
    return min(o + n * e for o, e in _GAP)


def _dp_score(scores: list[int], runs: list[int]) -> int:
    """minimap2's AS (DP score) of an alignment from its events (:func:`_cs_events`).

    The score of the whole alignment under the short-read scoring, except that
    a stretch at either end, outside the first and last seed (an exact match
    of k bases), that lowers the score (a mismatch in the last few bases, kept
    because reaching the read's end earns a bonus) counts as minimap2's
    extension does: not at all.
    """
    total = sum(scores)
    seeds = [i for i, n in enumerate(runs) if n >= SR_K]
    lo, hi = (seeds[0], seeds[-1]) if seeds else (len(scores), len(scores))
    worst = s = 0
    for v in scores[:lo]:
        s += v
        worst = min(worst, s)
    total -= worst
    worst = s = 0
    for v in reversed(scores[hi + 1 :]):
        s += v
        worst = min(worst, s)
    return total - worst


class _Mapper:
    """What a worker needs to map and format reads; module state in forked workers."""

    def __init__(self, aligner: Any, rg_id: str, max_frag_len: int):
        self.aligner = aligner
        self.rg = f"RG:Z:{rg_id}"
        self.max_frag_len = max_frag_len
        self.map_kw: dict[str, Any] = {"cs": True}
        if max_frag_len != SR_MAX_FRAG_LEN:
            self.map_kw["max_frag_len"] = max_frag_len
        self._buf: Any = None
        self._pid = -1

    def buf(self) -> Any:
        if self._pid != os.getpid():  # one ThreadBuffer per process
            import mappy

            self._buf, self._pid = mappy.ThreadBuffer(), os.getpid()
        return self._buf

    def hits(
        self, seq: str, seq2: str | None, name: str, buf: Any
    ) -> tuple[list[tuple], list[tuple]]:
        """The primary and supplementary hits of each read, as tuples.

        A hit: (contig, ref start, ref end, reverse, query start, query end,
        MAPQ, CIGAR without clips, NM, AS, CIGAR with soft clips), query
        coordinates on the read as sequenced. Secondary hits are dropped.
        """
        one: list[tuple] = []
        two: list[tuple] = []
        n1 = len(seq)
        n2 = len(seq2) if seq2 is not None else 0
        m_cigars = _M_CIGARS
        ends = _CS_ENDS.match
        for h in self.aligner.map(seq, seq2, name=name, buf=buf, **self.map_kw):
            if not h.is_primary:
                continue
            cig = h.cigar
            nm = h.NM
            if len(cig) == 1 and cig[0][1] == 0 and cig[0][0] < len(m_cigars):
                core = m_cigars[cig[0][0]]
                gaps = 0
            else:
                core = "".join([f"{n}{_OPS[op]}" for n, op in cig])
                gaps = sum([n for n, op in cig if op == 1 or op == 2])
            rev = h.strand < 0
            if h.read_num == 2:
                # mappy maps read 2 reverse-complemented and flips only the strand back:
                # its query coordinates are on the reverse complement, and so is its cs
                # string unless the clipping is symmetric
                qlen, qs, qe = n2, n2 - h.q_en, n2 - h.q_st
                cs_ok = qs == h.q_st
                hits = two
            else:
                qlen, qs, qe = n1, h.q_st, h.q_en
                cs_ok = True
                hits = one
            if nm == 0:
                score = _MATCH * (qe - qs)
            elif cs_ok:
                cs = h.cs
                e = ends(cs)
                if e is not None and int(e[1]) >= SR_K and int(e[2]) >= SR_K:
                    # seeds at both ends: the score of the whole alignment
                    mlen, blen = h.mlen, h.blen
                    score = (
                        _MATCH * mlen
                        - _MISMATCH * (blen - mlen - gaps)
                        - _AMBIGUOUS * (nm - blen + mlen)
                    )
                    if gaps:
                        score -= sum([_gap_cost(n) for n, op in cig if op == 1 or op == 2])
                else:
                    score = _dp_score(*_cs_events(cs))
            else:
                assert seq2 is not None
                part = seq2[qs:qe]
                if rev:
                    part = part.translate(_COMP)[::-1]
                ref = self.aligner.seq(h.ctg, h.r_st, h.r_en)
                score = _dp_score(*_ref_events(ref, part, cig))
            lead, trail = (qlen - qe, qs) if rev else (qs, qlen - qe)
            soft = core if not lead and not trail else _clipped(core, lead, trail, "S")
            hits.append((h.ctg, h.r_st, h.r_en, rev, qs, qe, h.mapq, core, nm, score, soft))
        return one, two


def _clipped(core: str, lead: int, trail: int, clip: str) -> str:
    return (f"{lead}{clip}" if lead else "") + core + (f"{trail}{clip}" if trail else "")


def _proper(a: tuple, b: tuple, max_gap: int) -> bool:
    """minimap2's proper pair: same contig, FR, forward read first, gap within bounds."""
    if a[0] != b[0] or a[3] == b[3]:
        return False
    fwd, rev = (b, a) if a[3] else (a, b)
    return fwd[1] <= rev[1] and rev[1] - fwd[2] <= max_gap


def _hard_clipped(h: tuple, qlen: int) -> str:
    lead, trail = (qlen - h[5], h[4]) if h[3] else (h[4], qlen - h[5])
    return _clipped(h[7], lead, trail, "H")


def _sa_tag(hits: list[tuple], skip: int, qlen: int) -> str:
    parts = []
    for i, q in enumerate(hits):
        if i == skip:
            continue
        lq, lr = q[5] - q[4], q[2] - q[1]
        c5, c3 = (qlen - q[5], q[4]) if q[3] else (q[4], qlen - q[5])
        cig = (f"{c5}S" if c5 else "") + (f"{min(lq, lr)}M")
        cig += f"{lr - lq}D" if lr > lq else (f"{lq - lr}I" if lq > lr else "")
        cig += f"{c3}S" if c3 else ""
        parts.append(f"{q[0]},{q[1] + 1},{'-+'[not q[3]]},{cig},{q[6]},{q[8]};")
    return "\tSA:Z:" + "".join(parts)


def _seq_qual(seq: str, qual: str, rev: bool) -> str:
    if not seq:
        return "*\t*"
    if rev:
        return f"{seq.translate(_COMP)[::-1]}\t{qual[::-1]}"
    return f"{seq}\t{qual}"


def _read_records(
    out: list[str],
    qname: str,
    seq: str,
    qual: str,
    hits: list[tuple],
    flag0: int,
    mate: tuple | None,
    proper: bool,
    rg: str,
    mate_tags: str,
) -> None:
    """Append the SAM lines of one read: its primary (or unmapped) record, then supplementaries.

    ``hits`` has the primary first.
    ``flag0`` holds the pairing bits (0x1, 0x40/0x80, 0x8, 0x20); ``mate`` the
    mate's primary hit (None when unmapped or single-end); ``mate_tags`` the
    MC and ms tags of a paired read.
    """
    qlen = len(seq)
    paired = flag0 & 1
    if not hits:
        where = (
            f"{mate[0]}\t{mate[1] + 1}\t0\t*\t=\t{mate[1] + 1}\t0"
            if mate
            else "*\t0\t0\t*\t*\t0\t0"
        )
        out.append(
            f"{qname}\t{flag0 | 4}\t{where}\t{_seq_qual(seq, qual, False)}\t{rg}{mate_tags}\n"
        )
        return
    multi = len(hits) > 1
    for i, h in enumerate(hits):
        ctg, rs, re_, rev = h[0], h[1], h[2], h[3]
        flag = flag0 | (0x10 if rev else 0)
        if i == 0:
            if proper:
                flag |= 2
            cigar = h[10]
            sq = _seq_qual(seq, qual, rev)
            tags = mate_tags
        else:
            flag |= 0x800
            cigar = _hard_clipped(h, qlen)
            sq = _seq_qual(seq[h[4] : h[5]], qual[h[4] : h[5]], rev)
            tags = ""
        if not paired:
            mate_fields = "*\t0\t0"
        elif mate is None:
            mate_fields = f"=\t{rs + 1}\t0"
        elif mate[0] == ctg:
            tlen = (mate[2] - 1 if mate[3] else mate[1]) - (re_ - 1 if rev else rs)
            tlen += 1 if tlen > 0 else (-1 if tlen < 0 else 0)
            mate_fields = f"=\t{mate[1] + 1}\t{tlen}"
        else:
            mate_fields = f"{mate[0]}\t{mate[1] + 1}\t0"
        if multi:
            tags += _sa_tag(hits, i, qlen)
        out.append(
            f"{qname}\t{flag}\t{ctg}\t{rs + 1}\t{h[6]}\t{cigar}\t{mate_fields}\t{sq}\t"
            f"NM:i:{h[8]}\tAS:i:{h[9]}\t{rg}{tags}\n"
        )


def _order(hits: list[tuple], pri: int) -> list[tuple]:
    return hits if pri == 0 else [hits[pri], *hits[:pri], *hits[pri + 1 :]]


# Phred+33 character -> its quality if 15 or more, else 0 (samtools' duplicate score)
_SCORE_BYTES = bytes(c - 33 if c - 33 >= 15 else 0 for c in range(128)) + bytes(128)


def _quality_scores(quals: list[str]) -> list[int]:
    """samtools' read score for duplicate marking: the sum of base qualities of 15 or more."""
    lengths = np.fromiter(map(len, quals), dtype=np.int64, count=len(quals))
    if not quals or not lengths.all():
        return [sum(c - 33 for c in q.encode() if c - 33 >= 15) for q in quals]
    values = np.frombuffer("".join(quals).encode("ascii").translate(_SCORE_BYTES), dtype=np.uint8)
    starts = np.zeros(len(quals), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return np.add.reduceat(values, starts, dtype=np.int64).tolist()


def _mate_line(
    qn: str,
    flag: int,
    hit: tuple,
    mate_hit: tuple,
    mate: str,
    seq: str,
    qual: str,
    rg: str,
    mate_score: int,
    comp: dict[int, int],
) -> str:
    """The SAM line of one uniquely mapped mate of a pair whose other mate maps uniquely too.

    ``flag`` holds the pair bits; the strand bits come from ``hit`` and ``mate_hit``, and the
    read is reverse-complemented when ``hit`` is on the reverse strand.
    """
    if hit[3]:
        flag |= 0x10
        seq, qual = seq.translate(comp)[::-1], qual[::-1]
    if mate_hit[3]:
        flag |= 0x20
    return (
        f"{qn}\t{flag}\t{hit[0]}\t{hit[1] + 1}\t{hit[6]}\t{hit[10]}\t{mate}\t{seq}\t{qual}\t"
        f"NM:i:{hit[8]}\tAS:i:{hit[9]}\t{rg}\tMC:Z:{mate_hit[10]}\tms:i:{mate_score}\n"
    )


_MAPPER: _Mapper | None = None  # set while forking the workers, under _FORK_LOCK
_FORK_LOCK = threading.Lock()


def _map_pairs(
    path1: Path,
    lines1: list[str],
    path2: Path,
    lines2: list[str],
    first: int,
    mapper: _Mapper | None = None,
) -> tuple[bytes, int, tuple | None]:
    """Check, map and format a block of pairs: (SAM text, longest read, error).

    ``mapper`` is the forked workers' module state unless given.
    """
    try:
        names, seqs1, quals1, _, seqs2, quals2 = _parse_pair_block(
            path1, lines1, path2, lines2, first
        )
    except InputFileError as e:
        return b"", 0, (e.path, e.problem, e.record)
    m = mapper or _MAPPER
    assert m is not None
    qnames = _MATE_SUFFIX.sub("", "\n".join(names)).split("\n")
    score1, score2 = _quality_scores(quals1), _quality_scores(quals2)
    max_gap0 = m.max_frag_len
    rg = m.rg
    out: list[str] = []
    add = out.append
    hits = m.hits
    buf = m.buf()
    comp = _COMP
    for name, qn, s1, q1, s2, q2, sc1, sc2 in zip(
        names, qnames, seqs1, quals1, seqs2, quals2, score1, score2, strict=True
    ):
        # the read name seeds minimap2's choice among equal hits, as in its command line
        one, two = hits(s1, s2, name, buf) if s1 and s2 else _hits_split(m, s1, s2, name)
        if len(one) == 1 and len(two) == 1:  # the common case, inline
            a, b = one[0], two[0]
            ar, br = a[3], b[3]
            proper = False
            if a[0] == b[0]:
                if ar != br:
                    fwd, rev = (b, a) if ar else (a, b)
                    proper = fwd[1] <= rev[1] and rev[1] - fwd[2] <= max(
                        max_gap0 - len(s1) - len(s2), SR_MAX_GAP
                    )
                t = (b[2] - 1 if br else b[1]) - (a[2] - 1 if ar else a[1])
                t = t + 1 if t > 0 else (t - 1 if t < 0 else 0)
                mate1, mate2 = f"=\t{b[1] + 1}\t{t}", f"=\t{a[1] + 1}\t{-t}"
            else:
                mate1, mate2 = f"{b[0]}\t{b[1] + 1}\t0", f"{a[0]}\t{a[1] + 1}\t0"
            add(_mate_line(qn, 0x43 if proper else 0x41, a, b, mate1, s1, q1, rg, sc2, comp))
            add(_mate_line(qn, 0x83 if proper else 0x81, b, a, mate2, s2, q2, rg, sc1, comp))
            continue
        p1 = p2 = 0
        proper = False
        if one and two:
            max_gap = max(max_gap0 - len(s1) - len(s2), SR_MAX_GAP)
            for i, a in enumerate(one):
                for j, b in enumerate(two):
                    if _proper(a, b, max_gap):
                        p1, p2, proper = i, j, True
                        break
                if proper:
                    break
        m1 = one[p1] if one else None
        m2 = two[p2] if two else None
        f1, f2 = 0x41, 0x81
        if m2 is None:
            f1 |= 8
        elif m2[3]:
            f1 |= 0x20
        if m1 is None:
            f2 |= 8
        elif m1[3]:
            f2 |= 0x20
        t1 = (f"\tMC:Z:{m2[10]}" if m2 else "") + f"\tms:i:{sc2}"
        t2 = (f"\tMC:Z:{m1[10]}" if m1 else "") + f"\tms:i:{sc1}"
        _read_records(out, qn, s1, q1, _order(one, p1), f1, m2, proper, rg, t1)
        _read_records(out, qn, s2, q2, _order(two, p2), f2, m1, proper, rg, t2)
    longest = max(max(map(len, seqs1), default=0), max(map(len, seqs2), default=0))
    return "".join(out).encode("ascii"), longest, None


def _hits_split(m: _Mapper, s1: str, s2: str, qn: str) -> tuple[list[tuple], list[tuple]]:
    """Hits of a pair one of whose reads is empty: map the other alone."""
    one = m.hits(s1, None, qn, m.buf())[0] if s1 else []
    two: list[tuple] = []
    if s2:
        # mapped alone, read 2's hits come back as read 1's, in its own coordinates
        two = m.hits(s2, None, qn, m.buf())[0]
    return one, two


def _map_singles(
    path: Path, lines: list[str], first: int, mapper: _Mapper | None = None
) -> tuple[bytes, int, tuple | None]:
    """Check, map and format a block of single-end reads (see :func:`_map_pairs`)."""
    try:
        names, seqs, quals = _parse_block(path, lines, first)
    except InputFileError as e:
        return b"", 0, (e.path, e.problem, e.record)
    m = mapper or _MAPPER
    assert m is not None
    rg = m.rg
    out: list[str] = []
    buf = m.buf()
    for qn, s, q in zip(names, seqs, quals, strict=True):
        hits = m.hits(s, None, qn, buf)[0] if s else []
        _read_records(out, qn, s, q, hits, 0, None, False, rg, "")
    return "".join(out).encode("ascii"), max(map(len, seqs), default=0), None


# ------------------------------------------------------------------ drivers


def _pool(threads: int) -> Any:
    """A pool of ``threads`` forked processes (they share the parent's index), or an inline one.

    Either is a context manager that stops its workers on exit.
    """
    if threads > 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork").Pool(threads)
    return _InlinePool()


class _Done:
    def __init__(self, value: Any):
        self.value = value

    def get(self) -> Any:
        return self.value


class _InlinePool:
    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def apply_async(self, fn: Callable[..., Any], args: tuple) -> _Done:
        return _Done(fn(*args))

    def starmap(self, fn: Callable[..., Any], items: Iterable[tuple]) -> list[Any]:
        return [fn(*a) for a in items]


def _raise_input_error(err: tuple) -> None:
    path, problem, record = err
    raise InputFileError(path, problem, record=record)


def _load_aligner(fasta: Path, contigs: list[tuple[str, int]]) -> Any:
    import mappy

    mmi = Path(f"{fasta}.mmi")
    aligner = None
    if mmi.is_file() and mmi.stat().st_mtime >= fasta.stat().st_mtime:
        aligner = mappy.Aligner(str(mmi), preset="sr")
        if not aligner or (aligner.k, aligner.w) != (SR_K, SR_W):
            aligner = None  # built for another preset: build ours in memory
    if aligner is None:
        aligner = mappy.Aligner(str(fasta), preset="sr")
    if not aligner:
        raise ToolError(f"mappy could not load or index {fasta}")
    names = aligner.seq_names
    if names != [c for c, _ in contigs]:
        raise InputFileError(
            fasta,
            f"the minimap2 index holds {len(names)} contigs that do not match the FASTA's "
            f"{len(contigs)}: delete {mmi} and {fasta}.fai and index again",
        )
    return aligner


def _estimate_max_frag_len(aligner: Any, lanes: Sequence[tuple[Path, Path | None]]) -> int:
    """minimap2's 800, or longer when the first pairs' fragments say so."""
    paired = [(a, b) for a, b in lanes if b is not None]
    if not paired:
        return SR_MAX_FRAG_LEN
    try:
        with _PairBlocks(*paired[0]) as blocks:
            _, lines1, lines2 = blocks.take(ESTIMATE_PAIRS)
    except InputFileError:
        return SR_MAX_FRAG_LEN  # reported with its record when the lanes are read
    import mappy

    n = min(len(lines1), len(lines2)) // 4
    buf = mappy.ThreadBuffer()
    frags = []
    for i in range(n):
        s1, s2 = lines1[4 * i + 1], lines2[4 * i + 1]
        if not s1 or not s2:
            continue
        best: dict[int, Any] = {}
        for h in aligner.map(s1, s2, buf=buf):
            if h.is_primary and h.read_num not in best:
                best[h.read_num] = h
        a, b = best.get(1), best.get(2)
        if a is None or b is None or a.mapq < 30 or b.mapq < 30:
            continue
        if a.ctg != b.ctg or a.strand == b.strand:
            continue
        fwd, rev = (a, b) if a.strand > 0 else (b, a)
        if fwd.r_st <= rev.r_st and rev.r_en - fwd.r_st < 100_000:
            frags.append(rev.r_en - fwd.r_st)
    if len(frags) < 50:
        return SR_MAX_FRAG_LEN
    q25, q75 = np.percentile(frags, [25, 75])
    return max(SR_MAX_FRAG_LEN, int(math.ceil(q75 + 3 * (q75 - q25))))


def _run_mappy(
    fasta: Path,
    contigs: list[tuple[str, int]],
    lanes: Sequence[tuple[Path, Path | None]],
    tail_factory: Callable[[], _BamTail],
    *,
    rg: dict[str, str],
    threads: int,
    command: str,
) -> None:
    global _MAPPER
    import mappy

    aligner = _load_aligner(fasta, contigs)
    max_frag = _estimate_max_frag_len(aligner, lanes)
    mapper = _Mapper(aligner, rg["ID"], max_frag)
    programs = [
        {
            "ID": "minimap2",
            "PN": "minimap2",
            "VN": f"{mappy.__version__} (mappy)",
            "CL": f"sr, max_frag_len={max_frag}",
        },
        {"ID": "breedhub", "PN": "breedhub", "VN": _version(), "CL": command},
    ]
    longest = 0
    with _FORK_LOCK:  # the workers find the mapper in _MAPPER, forked
        _MAPPER = mapper
        try:
            pool = _pool(threads)  # before the tail: workers must not hold its pipe
        finally:
            _MAPPER = None
    inline = (mapper,) if isinstance(pool, _InlinePool) else ()
    with pool:
        tail = tail_factory()
        try:
            assert tail.stdin is not None
            tail.stdin.write(_header(contigs, rg, programs).encode())
            for one, two in lanes:
                pending: deque[Any] = deque()
                blocks: Any = _PairBlocks(one, two) if two is not None else _LineBlocks(one)
                with blocks:
                    while True:
                        if two is not None:
                            first, l1, l2 = blocks.take(BATCH)
                            if not l1 and not l2:
                                break
                            args: tuple = (blocks.one.path, l1, blocks.two.path, l2, first)
                            task = pool.apply_async(_map_pairs, (*args, *inline))
                        else:
                            first = blocks.records + 1
                            l1 = blocks.take(BATCH)
                            if not l1:
                                break
                            task = pool.apply_async(_map_singles, (blocks.path, l1, first, *inline))
                        pending.append(task)
                        while len(pending) > 2 * threads:
                            longest = _drain(pending.popleft(), tail, longest)
                    while pending:
                        longest = _drain(pending.popleft(), tail, longest)
        except BaseException:
            tail.abort()
            raise
    tail.finish(longest)


def _drain(task: Any, tail: _BamTail, longest: int) -> int:
    sam, n, err = task.get()
    if err is not None:
        _raise_input_error(err)
    try:
        assert tail.stdin is not None
        tail.stdin.write(sam)
    except BrokenPipeError:
        tail.finish(0)  # raises the step's error
        raise
    return max(longest, n)


def _run_bwa(
    fasta: Path,
    contigs: list[tuple[str, int]],
    lanes: Sequence[tuple[Path, Path | None]],
    tail_factory: Callable[[Any], _BamTail],
    *,
    rg: dict[str, str],
    threads: int,
    tmpdir: Path,
) -> None:
    bwa = shutil.which("bwa")
    if bwa is None:
        raise ToolError(
            "bwa is not installed (or not on PATH); install it or use aligner='minimap2'"
        )
    if not Path(f"{fasta}.bwt").is_file():
        raise ToolError(
            f"{fasta} has no bwa index ({fasta}.bwt): run `breedhub genomics index --aligner bwa {fasta}`"
        )
    rg_line = "@RG\\t" + "\\t".join(f"{k}:{v}" for k, v in rg.items())
    log = tmpdir / "bwa.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            # -K: a fixed batch size, so the output does not depend on the thread count
            [
                bwa,
                "mem",
                "-p",
                "-K",
                "100000000",
                "-t",
                str(threads),
                "-R",
                rg_line,
                str(fasta),
                "-",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    tail = tail_factory(proc.stdout)
    longest = 0
    assert proc.stdin is not None
    try:
        try:
            for one, two in lanes:
                if two is not None:
                    with _PairBlocks(one, two) as pb:
                        while True:
                            first, l1, l2 = pb.take(BATCH)
                            if not l1 and not l2:
                                break
                            _, s1, _, _, s2, _ = _parse_pair_block(
                                pb.one.path, l1, pb.two.path, l2, first
                            )
                            longest = max(longest, max(map(len, s1)), max(map(len, s2)))
                            proc.stdin.write(_interleave(l1, l2).encode("ascii"))
                else:
                    with _LineBlocks(one) as lb:
                        while True:
                            first = lb.records + 1
                            lines = lb.take(BATCH)
                            if not lines:
                                break
                            _, seqs, _ = _parse_block(lb.path, lines, first)
                            longest = max(longest, max(map(len, seqs)))
                            # distinct names: bwa's smart pairing leaves them single
                            proc.stdin.write(("\n".join(lines) + "\n").encode("ascii"))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        if proc.wait() != 0:
            msg = log.read_text(errors="replace").strip()[-2000:]
            raise ToolError(f"bwa mem failed: {msg}")
    except BaseException:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        tail.abort()
        raise
    tail.finish(longest)


def _interleave(lines1: list[str], lines2: list[str]) -> str:
    out: list[str] = []
    for i in range(0, len(lines1), 4):
        out += lines1[i : i + 4]
        out += lines2[i : i + 4]
    return "\n".join(out) + "\n"


def _version() -> str:
    try:
        from breedhub.base.version import __version__
    except ImportError:  # pragma: no cover
        return "unknown"
    return __version__


def _check_field(value: object, arg: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a string, not {type(value).__name__}")
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{arg} must be a non-empty name without blanks, not {value!r}")
    return value


def _check_lanes(reads: object) -> list[tuple[Path, Path | None]]:
    if isinstance(reads, (str, os.PathLike)) or not isinstance(reads, Sequence):
        raise TypeError(
            "reads must be a list of (fastq1, fastq2 or None) tuples, one per lane, "
            f"not {type(reads).__name__}"
        )
    if not reads:
        raise ValueError("reads is empty: give at least one (fastq1, fastq2 or None)")
    lanes = []
    for i, lane in enumerate(reads):
        if not isinstance(lane, (tuple, list)) or len(lane) != 2:
            raise TypeError(f"reads[{i}] must be a (fastq1, fastq2 or None) tuple, not {lane!r}")
        one = _check_path(lane[0], f"reads[{i}][0]")
        two = None if lane[1] is None else _check_path(lane[1], f"reads[{i}][1]")
        lanes.append((one, two))
    return lanes


def align_reads(
    reference: str | os.PathLike[str],
    reads: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str] | None]],
    out_bam: str | os.PathLike[str],
    *,
    sample: str,
    library: str | None = None,
    platform: str = "ILLUMINA",
    read_group: str | None = None,
    aligner: str = "minimap2",
    threads: int = 1,
    mark_duplicates: bool = True,
) -> AlignmentStats:
    """Align one sample's reads into a sorted, indexed BAM with duplicates marked.

    Parameters
    ----------
    reference
        FASTA of the reference (plain or bgzip). Its ``.fai`` is built when
        missing. minimap2 uses ``<reference>.mmi`` when it is newer than the
        FASTA and was built for short reads (k=21, w=11), else indexes the
        FASTA in memory; bwa needs ``<reference>.bwt``
        (``breedhub genomics index --aligner bwa REF``).
    reads
        One ``(fastq1, fastq2)`` tuple per lane, ``fastq2`` None for
        single-end; plain or gzip FASTQ. All lanes go to one read group.
    out_bam
        The BAM to write (``.bam``). Its index goes to ``<out_bam>.bai`` and
        the summary to ``<stem>.stats.json`` (``S1.bam`` -> ``S1.stats.json``):
        the fields of :class:`AlignmentStats` and a ``provenance`` object
        (software version, reference, reads, parameters).
    sample
        The read group's sample (SM).
    library
        The read group's library (LB); default ``sample``.
    platform
        The read group's platform (PL).
    read_group
        The read group's ID; default ``sample``.
    aligner
        ``"minimap2"`` (mappy, the short-read preset) or ``"bwa"`` (``bwa mem``).
    threads
        Mapping processes, and threads of each samtools step.
    mark_duplicates
        Mark duplicates (flag 0x400) with ``samtools markdup``.

    Returns
    -------
    AlignmentStats
        :func:`alignment_stats` of the BAM, also written as JSON.

    Raises
    ------
    InputFileError
        A missing file, a ``.gz`` that is not gzip, a truncated or corrupt
        gzip stream, a malformed or truncated FASTQ record, mates out of step
        or one file of a pair ending first (naming the file and the record), or
        a reference that cannot be indexed. No output is left behind.
    ToolError
        bwa missing, its index missing, or a tool failing.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> d = Path(tempfile.mkdtemp())
    >>> genome = "".join(np.random.default_rng(1).choice(list("ACGT"), 5000))
    >>> _ = (d / "ref.fa").write_text(">c1\\n" + genome + "\\n")
    >>> _ = (d / "r.fq").write_text(f"@r1\\n{genome[100:250]}\\n+\\n{'I' * 150}\\n")
    >>> stats = align_reads(d / "ref.fa", [(d / "r.fq", None)], d / "S1.bam", sample="S1")
    >>> stats.reads, stats.mapped, stats.mean_depth
    (1, 1, 0.03)
    >>> sorted(p.name for p in d.iterdir())
    ['S1.bam', 'S1.bam.bai', 'S1.stats.json', 'r.fq', 'ref.fa', 'ref.fa.fai']
    """
    fasta = _check_path(reference, "reference")
    lanes = _check_lanes(reads)
    if not isinstance(out_bam, (str, os.PathLike)):
        raise TypeError(f"out_bam must be a file path, not {type(out_bam).__name__}")
    out = Path(out_bam)
    if out.suffix != ".bam":
        raise ValueError(f"out_bam must end in .bam, not {out.name!r}")
    _check_field(sample, "sample")
    library = sample if library is None else _check_field(library, "library")
    _check_field(platform, "platform")
    read_group = sample if read_group is None else _check_field(read_group, "read_group")
    if aligner not in ALIGNERS:
        raise ValueError(f"aligner must be one of {', '.join(ALIGNERS)}, not {aligner!r}")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive integer, not {threads!r}")
    if not isinstance(mark_duplicates, bool):
        raise TypeError(f"mark_duplicates must be True or False, not {mark_duplicates!r}")

    contigs = _ensure_fai(fasta)
    rg = {"ID": read_group, "SM": sample, "LB": library, "PL": platform}
    command = "align_reads " + shlex.join(
        [str(fasta), *(str(p) for lane in lanes for p in lane if p is not None)]
        + [f"--sample={sample}", f"--aligner={aligner}", f"--threads={threads}"]
        + ([] if mark_duplicates else ["--no-markdup"])
    )
    bai = out.with_name(out.name + ".bai")
    stats_json = out.with_suffix(".stats.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with (
            atomic_output(out) as tmp_bam,
            atomic_output(bai) as tmp_bai,
            atomic_output(stats_json) as tmp_json,
        ):
            if aligner == "minimap2":

                def tail() -> _BamTail:
                    return _BamTail(
                        tmp_bam,
                        tmp_bai,
                        tmpdir,
                        threads=threads,
                        mark_duplicates=mark_duplicates,
                        fixmate=False,
                    )

                _run_mappy(fasta, contigs, lanes, tail, rg=rg, threads=threads, command=command)
            else:

                def tail_bwa(stdin: Any) -> _BamTail:
                    return _BamTail(
                        tmp_bam,
                        tmp_bai,
                        tmpdir,
                        threads=threads,
                        mark_duplicates=mark_duplicates,
                        fixmate=True,
                        stdin=stdin,
                    )

                _run_bwa(fasta, contigs, lanes, tail_bwa, rg=rg, threads=threads, tmpdir=tmpdir)
            stats = alignment_stats(tmp_bam, reference=fasta, threads=threads)
            provenance = {
                "software": f"breedhub {_version()}",
                "function": "breedhub.genomics.align.align_reads",
                "reference": str(fasta),
                "reads": [[str(a), None if b is None else str(b)] for a, b in lanes],
                "parameters": {
                    "sample": sample,
                    "library": library,
                    "platform": platform,
                    "read_group": read_group,
                    "aligner": aligner,
                    "threads": threads,
                    "mark_duplicates": mark_duplicates,
                },
            }
            record = {**stats.to_dict(), "provenance": provenance}
            tmp_json.write_text(json.dumps(record, indent=2) + "\n")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return stats
