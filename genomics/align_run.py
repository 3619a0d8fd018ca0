"""Running the aligners: the reference's index, mappy in forked workers or bwa mem, SAM streamed into samtools (fixmate, sort, markdup) as child processes."""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

import breedhub.genomics.align_mapper as align_mapper
from breedhub.base.regions import read_fai
from breedhub.genomics.align_mapper import (
    SR_K,
    SR_MAX_FRAG_LEN,
    SR_W,
    _map_pairs,
    _map_singles,
    _Mapper,
)
from breedhub.genomics.exceptions import InputFileError, ToolError, as_genomics_error
from breedhub.genomics.fastq import _LineBlocks, _PairBlocks, _parse_block, _parse_pair_block
from breedhub.genomics.files import fasta_index

#: Pairs (or single reads) mapped and formatted per task.
BATCH = 4096
#: Pairs mapped to estimate the fragment length distribution.
ESTIMATE_PAIRS = 2000
_CHILD = (
    "import sys, pysam\n"
    "try:\n"
    "    getattr(pysam, sys.argv[1])(*sys.argv[2:], catch_stdout=False)\n"
    "except pysam.SamtoolsError as e:\n"
    "    sys.exit(str(e))\n"
)


# ----------------------------------------------------------------- reference


def _check_path(path: object, arg: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{arg} must be a file path, not {type(path).__name__}")
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    return p


def _read_fai(fasta: Path) -> list[tuple[str, int]]:
    with as_genomics_error():
        return list(read_fai(f"{fasta}.fai").items())


def _ensure_fai(fasta: Path) -> list[tuple[str, int]]:
    """The contigs of ``fasta`` from its ``.fai``, built (with pysam) when missing or stale."""
    return list(fasta_index(fasta).items())


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

    def apply_async(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> _Done:
        return _Done(fn(*args))

    def starmap(self, fn: Callable[..., Any], items: Iterable[tuple[Any, ...]]) -> list[Any]:
        return [fn(*a) for a in items]


def _raise_input_error(err: tuple[Any, ...]) -> None:
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
    with align_mapper._FORK_LOCK:  # the workers find the mapper in _MAPPER, forked
        align_mapper._MAPPER = mapper
        try:
            pool = _pool(threads)  # before the tail: workers must not hold its pipe
        finally:
            align_mapper._MAPPER = None
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
                            args: tuple[Any, ...] = (
                                blocks.one.path,
                                l1,
                                blocks.two.path,
                                l2,
                                first,
                            )
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
