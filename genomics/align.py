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

The mapper is :mod:`genomics.align_mapper`, the processes that run it and
samtools are :mod:`genomics.align_run`, the statistics :mod:`genomics.align_stats`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from breedhub.base.files import atomic_output
from breedhub.base.provenance import provenance
from breedhub.genomics.align_run import (
    _BamTail,
    _check_path,
    _ensure_fai,
    _run_bwa,
    _run_mappy,
)
from breedhub.genomics.align_stats import AlignmentStats, alignment_stats

__all__ = ["AlignmentStats", "align_reads", "alignment_stats"]

#: Aligners :func:`align_reads` knows.
ALIGNERS = ("minimap2", "bwa")


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
            record = provenance(
                "breedhub.genomics.align.align_reads",
                inputs=[fasta, *(p for lane in lanes for p in lane if p is not None)],
                parameters={
                    "sample": sample,
                    "library": library,
                    "platform": platform,
                    "read_group": read_group,
                    "aligner": aligner,
                    "threads": threads,
                    "mark_duplicates": mark_duplicates,
                },
                reference=str(fasta),
                reads=[[str(a), None if b is None else str(b)] for a, b in lanes],
            )
            saved = {**stats.to_dict(), "provenance": record.to_dict()}
            tmp_json.write_text(json.dumps(saved, indent=2) + "\n")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return stats
