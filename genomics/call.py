"""Joint variant calling from aligned reads, for any ploidy.

:func:`call_variants` calls all samples together, region by region, in
worker processes, and gathers the pieces in genome order into one bgzipped,
indexed VCF. Two callers:

``"bcftools"`` (the default for ploidy 1 and 2)
    ``bcftools mpileup`` then the multiallelic caller ``bcftools call -m``,
    run in-process through pysam.
``"dosage"`` (the default above ploidy 2, where bcftools cannot call)
    ``bcftools mpileup`` for candidate sites and allele depths, then
    :func:`~breedhub.genomics.call_dosage.genotype_dosages` (in
    :mod:`genomics.call_dosage`): a beta-binomial read model of the
    alternate-allele dosage 0..ploidy with sequencing error and
    overdispersion shared across sites and a per-site prior, in the spirit
    of updog (Gerard et al. 2018) and polyRAD (Clark et al. 2019).

Regions are 1-based and inclusive, ``contig:start-end``. ``bcftools mpileup
-r`` reports only the pileup columns inside its region, and an indel is
reported at the column of its anchor base (the VCF position), so a variant
at a boundary between two regions is called once, by the region that holds
its position; reads that cross the boundary are seen by both. The work of
one region is :mod:`genomics.call_pieces`.

References
----------
.. [1] Gerard D, Ferrão LFV, Garcia AAF, Stephens M (2018). Genotyping
   polyploids from messy sequencing data. Genetics 210(3):789-807.
.. [2] Clark LV, Lipka AE, Sacks EJ (2019). polyRAD: genotype calling with
   uncertainty from sequencing data in polyploids and diploids. G3 9(3):663-673.
.. [3] Danecek P, et al. (2021). Twelve years of SAMtools and BCFtools.
   GigaScience 10(2):giab008.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pysam
import pysam.bcftools

from breedhub.base.checks import check_int, check_ploidy
from breedhub.base.files import atomic_output
from breedhub.base.provenance import Provenance, provenance
from breedhub.base.regions import parse_regions, read_fai
from breedhub.genomics.call_dosage import (
    _DEFAULT_ERROR,
    _DEFAULT_OVERDISPERSION,
    _FIT_CELLS,
    PRIORS,
    DosageCalls,
    _estimate_parameters,
    genotype_dosages,
)
from breedhub.genomics.call_pieces import (
    _bcftools,
    _bcftools_piece,
    _dosage_piece,
    _Job,
    _pileup_piece,
    _Region,
    _site_hash,
)
from breedhub.genomics.exceptions import InputFileError, as_genomics_error
from breedhub.genomics.files import check_vcf_gz, remove_stale_index, vcf_index_path

__all__ = ["CALLERS", "PRIORS", "DosageCalls", "call_variants", "gather_vcfs", "genotype_dosages"]

#: The callers :func:`call_variants` offers ("auto" picks one by ploidy).
CALLERS = ("auto", "bcftools", "dosage")
_TILE_BP = 1_000_000
_TBI_MAX_LENGTH = 2**29 - 1  # longer contigs need a CSI index


def _read_reference(reference: Path) -> dict[str, int]:
    """Contig lengths from the FASTA index (made by pysam when missing), in reference order."""
    if not reference.is_file():
        raise InputFileError(reference, "no such reference FASTA")
    try:
        with pysam.FastaFile(str(reference)):  # builds the .fai that mpileup needs
            pass
    except (OSError, ValueError) as exc:
        raise InputFileError(
            reference,
            f"cannot index this FASTA ({exc}); it must be plain or bgzip-compressed FASTA",
        ) from exc
    with as_genomics_error():
        contigs = read_fai(f"{reference}.fai")
    if not contigs:
        raise InputFileError(reference, "the reference has no sequences")
    return contigs


def _check_bams(bams: list[Path], reference: Path, contigs: dict[str, int]) -> list[str]:
    """Check every BAM against the reference; return the sample names, in order."""
    owner: dict[str, Path] = {}
    for bam in bams:
        if not bam.is_file():
            raise InputFileError(bam, "no such file")
        try:
            handle = pysam.AlignmentFile(str(bam), "r", reference_filename=str(reference))
        except (OSError, ValueError) as exc:
            raise InputFileError(bam, f"not a readable BAM or CRAM file ({exc})") from exc
        with handle:
            header = handle.header.to_dict()
            has_index = handle.has_index()
        sort_order = header.get("HD", {}).get("SO", "")
        if sort_order != "coordinate":
            raise InputFileError(
                bam,
                f"not coordinate-sorted (@HD SO:{sort_order or 'missing'}); "
                "sort it with `samtools sort` and index it with `samtools index`",
                record="header @HD",
            )
        if not has_index:
            raise InputFileError(
                bam, "no index (.bai, .csi or .crai) found beside it; run `samtools index` on it"
            )
        sq = {s["SN"]: s["LN"] for s in header.get("SQ", [])}
        for name, length in sq.items():
            if name not in contigs:
                raise InputFileError(
                    bam,
                    f"aligned to another reference? contig {name} of its header is not in "
                    f"{reference}; realign the reads to {reference}",
                    record=f"header @SQ {name}",
                )
            if length != contigs[name]:
                raise InputFileError(
                    bam,
                    f"aligned to another reference? contig {name} has length {length} in the "
                    f"BAM but {contigs[name]} in {reference}; realign the reads to {reference}",
                    record=f"header @SQ {name}",
                )
        missing = [c for c in contigs if c not in sq]
        if missing:
            raise InputFileError(
                bam,
                f"aligned to another reference? its header lacks contig {missing[0]} of "
                f"{reference} ({len(missing)} missing); realign the reads to {reference}",
                record="header @SQ",
            )
        groups = header.get("RG", [])
        if not groups:
            raise InputFileError(
                bam,
                "no read group (@RG) to name the sample; add one with "
                "`samtools addreplacerg -r 'ID:<id>' -r 'SM:<sample>'`",
                record="header @RG",
            )
        for group in groups:
            sample = group.get("SM", "")
            if not sample:
                raise InputFileError(
                    bam,
                    f"read group {group.get('ID', '?')} has no SM (sample name); add SM:<sample>",
                    record="header @RG",
                )
            first = owner.setdefault(sample, bam)
            if first != bam:
                raise InputFileError(
                    bam,
                    f"sample {sample} is also in {first}; sample names must be unique across "
                    "BAMs (merge the BAMs of one sample, or rename a read group's SM)",
                    record="header @RG",
                )
    return list(owner)


def _parse_regions(regions: Sequence[str], contigs: dict[str, int]) -> list[_Region]:
    """The pieces to call: samtools' region grammar (:func:`breedhub.base.regions.parse_regions`)."""
    order = {c: i for i, c in enumerate(contigs)}
    out = []
    for region in parse_regions(regions, contigs):
        start, end = region.bounds(contigs[region.contig])
        out.append(_Region(order[region.contig], start, end, region.contig))
    return out


def _tile_genome(contigs: dict[str, int], threads: int) -> list[_Region]:
    """About max(4 x threads, genome / 1 Mb) pieces, in contig order, never across contigs."""
    total = sum(contigs.values())
    pieces = max(4 * threads, math.ceil(total / _TILE_BP))
    size = max(1, math.ceil(total / pieces))
    return [
        _Region(i, start, min(start + size - 1, length), contig)
        for i, (contig, length) in enumerate(contigs.items())
        for start in range(1, length + 1, size)
    ]


# --------------------------------------------------------------------------
# call_variants
# --------------------------------------------------------------------------


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork where it is safe and cheap (one thread, POSIX), else spawn."""
    if sys.platform != "win32" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _run_all(
    pool: concurrent.futures.Executor, fn: Callable[..., Any], arguments: list[tuple[Any, ...]]
) -> list[Any]:
    """Run ``fn`` on every argument tuple; results in order; stop everything on the first error."""
    futures = [pool.submit(fn, *args) for args in arguments]
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise


def _fai_digest(reference: Path, contigs: dict[str, int]) -> str:
    text = "".join(f"{c}\t{n}\n" for c, n in contigs.items())
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _check_path_list(name: str, value: object, kind: str) -> None:
    """Raise unless ``value`` is a non-empty sequence (not one path) of ``kind`` file paths."""
    if isinstance(value, (str, bytes, os.PathLike)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of {kind} paths, not {value!r}")
    if not value:
        raise ValueError(f"{name} is empty; pass at least one {kind}")


def _gather(pieces: list[str], out_vcf: Path, workdir: str, record: Provenance, csi: bool) -> None:
    """Concatenate the pieces in order into ``out_vcf`` with its index, atomically."""
    listing = os.path.join(workdir, "pieces.txt")
    with open(listing, "w") as fh:
        fh.writelines(p + "\n" for p in pieces)
    merged = os.path.join(workdir, "merged.bcf")
    _bcftools("concat", "-f", listing, "-Ob", "-o", merged)
    lines = os.path.join(workdir, "provenance.txt")
    with open(lines, "w") as fh:
        fh.write("##breedhub_call=" + json.dumps(record.to_dict(), separators=(",", ":")) + "\n")
    with atomic_output(out_vcf) as tmp, atomic_output(vcf_index_path(out_vcf, csi)) as tmp_index:
        _bcftools("annotate", "-h", lines, "--no-version", "-Oz", "-o", str(tmp), merged)
        _bcftools("index", "-c" if csi else "-t", "-o", str(tmp_index), str(tmp))
    remove_stale_index(out_vcf, csi)


def call_variants(
    bams: Sequence[str | os.PathLike[str]],
    reference: str | os.PathLike[str],
    out_vcf: str | os.PathLike[str],
    *,
    ploidy: int,
    regions: Sequence[str] | None = None,
    threads: int = 1,
    caller: str = "auto",
    min_mapq: int = 20,
    min_baseq: int = 13,
    max_depth: int = 1000,
    prior: str = "flex",
) -> Path:
    """Call variants jointly in all samples; write a bgzipped, indexed VCF.

    Every region is called in a worker process and the pieces are gathered
    in genome order, so the result does not depend on ``threads`` or on how
    the genome is cut: a variant is called by the one region that holds its
    position (see the module's notes). The output appears complete or not at
    all, with a tabix index (``.tbi``), or a CSI one (``.csi``) where a
    contig is longer than 2^29 - 1 bp.

    Parameters
    ----------
    bams
        Coordinate-sorted, indexed BAM or CRAM files aligned to
        ``reference``, each with read groups naming their samples (``SM``);
        a sample may not appear in two files.
    reference
        The FASTA the reads were aligned to; its ``.fai`` is made if missing.
    out_vcf
        The output, ending in ``.vcf.gz``.
    ploidy
        Homologues per sample, any positive integer (from the species).
    regions
        ``contig:start-end`` strings (1-based, inclusive, not overlapping)
        or bare contig names to call; by default the whole genome, in
        about ``max(4 x threads, genome / 1 Mb)`` pieces.
    threads
        Worker processes.
    caller
        ``"bcftools"`` (``mpileup`` + ``call -m``; ploidy 1 or 2),
        ``"dosage"`` (``mpileup`` + :func:`genotype_dosages`, any ploidy) or
        ``"auto"``: bcftools for ploidy 1 and 2, dosage above.
    min_mapq, min_baseq, max_depth
        ``bcftools mpileup -q``, ``-Q`` and ``-d``: reads below the mapping
        quality and bases below the base quality are skipped; at most
        ``max_depth`` reads per file at a position.
    prior
        The dosage caller's prior (see :func:`genotype_dosages`).

    Returns
    -------
    Path
        ``out_vcf``. Records carry GT, AD, DP, GQ and PL. The dosage caller
        writes one alternate allele per record (the one with most reads;
        SNPs and indels alike), GT of length ``ploidy``, sites where some
        sample has a non-zero dosage and QUAL >= 20. The error rate and
        overdispersion of the dosage model are estimated once from all
        candidate sites and recorded in the ``##breedhub_call`` header line,
        with the version, the parameters and the reference's contig digest.

    Raises
    ------
    InputFileError
        If a BAM is missing, not sorted, not indexed, has no read group with
        SM, shares a sample with another BAM, or was aligned to another
        reference (contig names or lengths differ from the ``.fai``); or the
        reference cannot be read.
    ToolError
        If bcftools fails.
    TypeError, ValueError
        For a bad option: ploidy not a positive integer, bcftools asked for
        ploidy above 2, an output not ending in ``.vcf.gz``, a region that
        is malformed, outside its contig or overlapping another.

    References
    ----------
    .. [1] Danecek P, et al. (2021). Twelve years of SAMtools and BCFtools.
       GigaScience 10(2):giab008.
    .. [2] Gerard D, Ferrão LFV, Garcia AAF, Stephens M (2018). Genotyping
       polyploids from messy sequencing data. Genetics 210(3):789-807.
    .. [3] Clark LV, Lipka AE, Sacks EJ (2019). polyRAD: genotype calling
       with uncertainty from sequencing data in polyploids and diploids.
       G3 9(3):663-673.

    Examples
    --------
    >>> call_variants(  # doctest: +SKIP
    ...     ["s1.bam", "s2.bam"], "ref.fa", "calls.vcf.gz", ploidy=6, threads=4
    ... )
    PosixPath('calls.vcf.gz')
    """
    _check_path_list("bams", bams, "BAM")
    ploidy = check_ploidy(ploidy)
    threads = check_int("threads", threads, minimum=1)
    min_mapq = check_int("min_mapq", min_mapq, minimum=0)
    min_baseq = check_int("min_baseq", min_baseq, minimum=0)
    max_depth = check_int("max_depth", max_depth, minimum=1)
    if caller not in CALLERS:
        raise ValueError(f"caller must be one of {CALLERS}, not {caller!r}")
    if caller == "auto":
        caller = "bcftools" if ploidy <= 2 else "dosage"
    if caller == "bcftools" and ploidy > 2:
        raise ValueError(
            f"bcftools call handles ploidy 1 and 2 only, not {ploidy}; use caller='dosage'"
        )
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, not {prior!r}")
    out = Path(out_vcf)
    check_vcf_gz(out)
    reference = Path(reference)
    contigs = _read_reference(reference)
    bam_paths = [Path(b) for b in bams]
    samples = _check_bams(bam_paths, reference, contigs)
    pieces = _tile_genome(contigs, threads) if regions is None else _parse_regions(regions, contigs)

    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent)
    jobs = [
        _Job(
            p,
            tuple(map(str, bam_paths)),
            str(reference),
            workdir,
            ploidy,
            min_mapq,
            min_baseq,
            max_depth,
        )
        for p in pieces
    ]
    parameters: dict[str, Any] = {
        "caller": caller,
        "ploidy": ploidy,
        "min_mapq": min_mapq,
        "min_baseq": min_baseq,
        "max_depth": max_depth,
        "regions": None if regions is None else [str(p) for p in pieces],
        "reference_contigs": _fai_digest(reference, contigs),
    }
    try:
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=min(threads, len(jobs)), mp_context=_pool_context()
        ) as pool:
            if caller == "bcftools":
                outputs = _run_all(pool, _bcftools_piece, [(j,) for j in jobs])
            else:
                piled = _run_all(pool, _pileup_piece, [(j,) for j in jobs])
                params = _fit_dosage_parameters(jobs, piled, ploidy=ploidy, prior=prior)
                parameters.update(
                    prior=prior,
                    error=round(params["error"], 6),
                    overdispersion=round(params["overdispersion"], 6),
                )
                params["contigs"] = contigs
                outputs = _run_all(
                    pool,
                    _dosage_piece,
                    [
                        (j, npz, names, params)
                        for j, (npz, _, names) in zip(jobs, piled, strict=True)
                    ],
                )
        csi = max(contigs.values()) > _TBI_MAX_LENGTH
        record = provenance(
            "breedhub.genomics.call.call_variants",
            inputs=[reference, *bam_paths],
            parameters=parameters,
            samples=samples,
        )
        _gather(outputs, out, workdir, record, csi)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def _fit_dosage_parameters(
    jobs: list[_Job], piled: list[tuple[str, int, list[str]]], *, ploidy: int, prior: str
) -> dict[str, Any]:
    """Error and overdispersion from a fixed, region-independent sample of all candidate sites."""
    total = sum(n for _, n, _ in piled)
    n_samples = len(piled[0][2]) if piled else 1
    target = max(200, _FIT_CELLS // max(n_samples, 1))
    fraction = min(1.0, target / max(total, 1))
    refs, alts = [], []
    for job, (npz, n, _) in zip(jobs, piled, strict=True):
        if n == 0:
            continue
        with np.load(npz) as data:
            pick = _site_hash(job.region.index, data["pos"]) < fraction
            refs.append(data["ref_depth"][pick])
            alts.append(data["alt_depth"][pick])
    if not refs or sum(len(r) for r in refs) == 0:
        return {"error": _DEFAULT_ERROR, "overdispersion": _DEFAULT_OVERDISPERSION, "prior": prior}
    ref, alt = np.concatenate(refs).astype(np.int64), np.concatenate(alts).astype(np.int64)
    e, rho = _estimate_parameters(
        ref, alt, ploidy=ploidy, prior=prior, error=None, overdispersion=None
    )
    return {"error": e, "overdispersion": rho, "prior": prior}


def gather_vcfs(parts: Sequence[str | os.PathLike[str]], out_vcf: str | os.PathLike[str]) -> Path:
    """Concatenate per-region VCFs, in the order given, into one indexed VCF.

    The counterpart of calling region by region as separate jobs (``call_variants``
    with one region each, e.g. one Snakemake job a region): the parts are
    joined with ``bcftools concat`` in the order given, which must be genome
    order, bgzipped and indexed, and the output appears complete or not at all.

    Parameters
    ----------
    parts
        VCF/BCF files with the same samples in the same order, covering
        non-overlapping regions, in genome order.
    out_vcf
        The output, ending in ``.vcf.gz``; a tabix index (``.tbi``) is
        written beside it, or a CSI one (``.csi``) where a contig is longer
        than 2^29 - 1 bp.

    Returns
    -------
    Path
        ``out_vcf``.

    Raises
    ------
    InputFileError
        If a part is missing or unreadable, or its samples differ from the first part's.
    ToolError
        If bcftools fails (e.g. parts not in genome order).
    TypeError, ValueError
        For ``parts`` not a non-empty list, or an output not ending in ``.vcf.gz``.

    Examples
    --------
    >>> gather_vcfs(["r0.vcf.gz", "r1.vcf.gz"], "calls.vcf.gz")  # doctest: +SKIP
    PosixPath('calls.vcf.gz')
    """
    _check_path_list("parts", parts, "VCF")
    out = Path(out_vcf)
    check_vcf_gz(out)
    paths = [Path(p) for p in parts]
    samples: list[str] | None = None
    longest = 0
    for path in paths:
        if not path.is_file():
            raise InputFileError(path, "no such file")
        try:
            with pysam.VariantFile(str(path)) as vf:
                names = list(vf.header.samples)
                lengths = [c.length or 0 for c in vf.header.contigs.values()]
        except (OSError, ValueError) as exc:
            raise InputFileError(path, f"not a readable VCF or BCF file ({exc})") from exc
        longest = max([longest, *lengths])
        if samples is None:
            samples = names
        elif names != samples:
            raise InputFileError(
                path,
                f"its samples differ from those of {paths[0]} ({len(names)} vs {len(samples)}, "
                "or another order); gather only parts called on the same BAMs",
                record="header #CHROM",
            )
    record = provenance("breedhub.genomics.call.gather_vcfs", inputs=paths, samples=samples)
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        _gather([str(p) for p in paths], out, workdir, record, longest > _TBI_MAX_LENGTH)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out
