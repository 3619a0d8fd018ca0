"""Alignment statistics of a BAM (reads, mapped, properly paired, duplicates, depth), counted in parallel by region."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from breedhub.genomics.align_run import _check_path, _pool, _read_fai
from breedhub.genomics.exceptions import InputFileError

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
    >>> from pathlib import Path
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
