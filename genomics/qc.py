"""Quality control of called genotypes: sample and variant filters, and a report.

:func:`filter_vcf` streams a VCF twice, in chunks, so memory stays flat
whatever the number of variants:

1. **Samples first** (as PLINK's ``--mind`` before ``--geno``). Per sample:
   missingness, observed heterozygosity and mean depth, computed over the
   variants that pass the site-quality filter (``QUAL >= min_qual``, a
   property of the site, not of the samples). Samples failing any sample
   filter are removed.
2. **Then variants, on the kept samples.** Per variant: QUAL, mean depth,
   call rate, minor-allele frequency and, for diploids only, the
   Hardy-Weinberg exact test. A variant failing several filters is counted
   under each reason, and once in the total.
3. The kept records, subset to the kept samples, are written with pysam as
   a bgzipped, tabix-indexed VCF; INFO/AC and INFO/AN are recomputed when
   samples were removed.

Genotypes of any ploidy are read as (variants, samples, ploidy) allele
indexes with -1 for missing; a call is *called* when all its alleles are,
and its dosage is the count of non-reference alleles.

The report and the statistics are :mod:`genomics.qc_stats`, its HTML page
:mod:`genomics.qc_html`, the VCF reading and writing :mod:`genomics.qc_vcf`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.checks import check_float, check_ploidy
from breedhub.base.files import atomic_output
from breedhub.base.provenance import provenance
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.qc_html import render_html
from breedhub.genomics.qc_stats import _EDGES, VARIANT_REASONS, QCReport, _Summary, hwe_exact_test
from breedhub.genomics.qc_vcf import (
    called_mask,
    check_vcf_paths,
    dosage_of,
    index_vcf,
    iter_genotype_chunks,
    open_vcf_reader,
    read_headers,
    write_json,
)

__all__ = ["QCReport", "filter_vcf", "hwe_exact_test"]


# --------------------------------------------------------------------------- filter


def filter_vcf(
    vcf: str | os.PathLike[str],
    out_vcf: str | os.PathLike[str],
    *,
    ploidy: int,
    min_qual: float | None = 20.0,
    min_depth: float | None = None,
    max_depth: float | None = None,
    min_call_rate: float | None = 0.9,
    min_maf: float | None = 0.01,
    hwe_p: float | None = 1e-6,
    max_sample_missing: float | None = 0.2,
    max_sample_het: float | None = None,
    min_sample_depth: float | None = None,
    report_json: str | os.PathLike[str] | None = None,
    report_html: str | os.PathLike[str] | None = None,
    chunk_length: int | None = None,
) -> QCReport:
    """Remove poor samples, then poor variants; write the rest as an indexed VCF.

    Samples are judged first, over the variants that pass ``min_qual``; the
    variant filters are then computed on the kept samples only (see the
    module's description of the order). Every threshold can be None to skip
    that filter.

    Parameters
    ----------
    vcf
        Input VCF (plain or bgzipped) with FORMAT/GT, sorted by position.
    out_vcf
        Output, ``.vcf.gz``: bgzipped, with a tabix index beside it.
    ploidy
        Alleles per genotype (1, 2, 4, 6...).
    min_qual
        Remove variants with QUAL below this (a missing QUAL is not judged).
    min_depth, max_depth
        Remove variants whose mean depth per sample is outside these bounds:
        FORMAT/DP averaged over kept samples, else INFO/DP / number of samples.
        A variant with no depth at all fails ``min_depth``.
    min_call_rate
        Remove variants called in fewer than this fraction of kept samples.
    min_maf
        Remove variants whose minor-allele frequency (non-reference alleles
        over ``ploidy`` x called samples, folded) is below this.
    hwe_p
        Remove variants whose Hardy-Weinberg exact-test p-value is below
        this. Applied for ``ploidy == 2`` only; the report says so otherwise.
        Alternate alleles are pooled at multi-allelic sites.
    max_sample_missing
        Remove samples missing more than this fraction of calls.
    max_sample_het
        Remove samples whose fraction of called genotypes that are not
        homozygous exceeds this (contamination, mixed samples).
    min_sample_depth
        Remove samples whose mean FORMAT/DP is below this.
    report_json, report_html
        Where to write the report as JSON, and as a self-contained HTML page.
    chunk_length
        Variants read at a time; by default as many as keep a chunk near 32 MB.

    Returns
    -------
    QCReport

    Raises
    ------
    InputFileError
        If the VCF is missing, unreadable, has no genotypes, genotypes with
        more alleles than ``ploidy``, no depth when a depth filter is asked
        for, or if every sample fails the sample filters.
    TypeError, ValueError
        For an argument of the wrong kind or out of range.

    References
    ----------
    Purcell S, Neale B, Todd-Brown K, et al. (2007). PLINK: a tool set for
    whole-genome association and population-based linkage analyses. American
    Journal of Human Genetics 81:559-575.

    Wigginton JE, Cutler DJ, Abecasis GR (2005). A note on exact tests of
    Hardy-Weinberg equilibrium. American Journal of Human Genetics 76:887-893.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> rows = [f"1\\t{p}\\t.\\tA\\tG\\t{q}\\t.\\t.\\tGT\\t0/1\\t0/0\\t1/1\\t0/1"
    ...         for p, q in [(10, 50), (20, 5), (30, 60)]]
    >>> _ = (d / "in.vcf").write_text(
    ...     "##fileformat=VCFv4.2\\n##contig=<ID=1>\\n"
    ...     '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\\n'
    ...     "#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\tFORMAT\\ta\\tb\\tc\\td\\n"
    ...     + "\\n".join(rows) + "\\n")
    >>> r = filter_vcf(d / "in.vcf", d / "out.vcf.gz", ploidy=2)
    >>> r.n_variants_kept, r.variants_removed["qual"], r.variants_removed["total"]
    (2, 1, 1)
    """
    src, dst = check_vcf_paths(vcf, out_vcf)
    ploidy = check_ploidy(ploidy)
    thresholds: dict[str, float | None] = {
        "min_qual": min_qual,
        "min_depth": min_depth,
        "max_depth": max_depth,
        "min_call_rate": min_call_rate,
        "min_maf": min_maf,
        "hwe_p": hwe_p,
        "max_sample_missing": max_sample_missing,
        "max_sample_het": max_sample_het,
        "min_sample_depth": min_sample_depth,
    }
    _check_filter_args(thresholds, chunk_length, report_json, report_html)

    headers = read_headers(src)
    samples = list(headers.samples)
    has_format_dp = "DP" in headers.formats
    has_info_dp = "DP" in headers.infos
    if min_sample_depth is not None and not has_format_dp:
        raise InputFileError(
            src, "min_sample_depth needs FORMAT/DP, which the header lacks; pass None"
        )
    if (min_depth is not None or max_depth is not None) and not (has_format_dp or has_info_dp):
        raise InputFileError(
            src, "min_depth/max_depth need FORMAT/DP or INFO/DP, which the header lacks; pass None"
        )
    report = QCReport(
        input=str(src),
        output=str(dst),
        ploidy=ploidy,
        thresholds=thresholds,
        n_samples_in=len(samples),
        depth_source="FORMAT/DP" if has_format_dp else "INFO/DP" if has_info_dp else "none",
        order=[
            "sample statistics over the variants with QUAL >= min_qual; "
            "samples failing max_sample_missing, max_sample_het or min_sample_depth are removed",
            "variant statistics over the kept samples; variants failing min_qual, "
            "min_depth, max_depth, min_call_rate, min_maf or hwe_p are removed",
            "kept variants are written for the kept samples (INFO/AC, AN recomputed)",
        ],
    )
    report.hwe_applied = hwe_p is not None and ploidy == 2
    if hwe_p is not None and ploidy != 2:
        report.notes.append(
            f"Hardy-Weinberg test not applied: ploidy is {ploidy} and the exact test "
            "is defined for diploid genotypes."
        )

    # ---- pass 1: sample statistics
    n = len(samples)
    s_missing, s_hetf, s_depth, contigs = _sample_statistics(
        src,
        report,
        n,
        ploidy=ploidy,
        min_qual=min_qual,
        has_format_dp=has_format_dp,
        chunk_length=chunk_length,
    )
    keep_sample = _judge_samples(
        report, samples, s_missing, s_hetf, s_depth, thresholds, has_format_dp
    )
    if not report.samples_kept and report.n_variants_in:
        raise InputFileError(
            src,
            f"all {n} samples fail the sample filters (max_sample_missing="
            f"{max_sample_missing}, max_sample_het={max_sample_het}, min_sample_depth="
            f"{min_sample_depth}); loosen them or pass None",
        )
    subset = not keep_sample.all()

    # ---- pass 2: variant statistics on the kept samples, and the output
    removed = dict.fromkeys(VARIANT_REASONS, 0)
    removed["total"] = 0
    summaries = {name: _Summary(edges) for name, edges in _EDGES.items()}
    fields2 = ["variants/QUAL"]
    fields2 += ["calldata/DP"] if has_format_dp else ["variants/DP"] if has_info_dp else []
    reader = open_vcf_reader(src, list(contigs))
    if subset:
        reader.subset_samples(report.samples_kept)
    header = reader.header.copy()
    header.add_meta("breedhub_filter_vcf", _header_value(thresholds, ploidy))
    recompute_ac = subset and "AN" in header.info and "AC" in header.info
    recompute_ac = recompute_ac and header.info["AC"].number == "A"
    if recompute_ac:
        report.notes.append("INFO/AC and INFO/AN were recomputed for the kept samples.")

    import pysam

    with atomic_output(dst) as tmp, atomic_output(f"{dst}.tbi") as tmp_index:
        with pysam.VariantFile(str(tmp), "wz", header=header) as writer:
            records = iter(reader)
            for chunk in iter_genotype_chunks(
                src,
                ploidy=ploidy,
                fields=fields2,
                samples=report.samples_kept if subset else None,
                chunk_length=chunk_length,
            ):
                fails, stats = _variant_filters(
                    chunk,
                    ploidy=ploidy,
                    n_samples_in=n,
                    has_format_dp=has_format_dp,
                    has_info_dp=has_info_dp,
                    thresholds=thresholds,
                    hwe=report.hwe_applied,
                )
                keep = ~np.any(list(fails.values()), axis=0)
                for reason, mask in fails.items():
                    removed[reason] += int(mask.sum())
                removed["total"] += int((~keep).sum())
                for name, s in summaries.items():
                    s.add(stats[name], keep)
                _write_kept(records, writer, chunk, keep, recompute_ac, src)
            if next(records, None) is not None:
                raise InputFileError(src, "pysam reads more records than scikit-allel")
        reader.close()
        index_vcf(tmp, tmp_index, src)
    report.variants_removed = removed
    report.n_variants_kept = report.n_variants_in - removed["total"]
    report.distributions = {name: s.to_dict() for name, s in summaries.items()}
    if report.n_variants_in == 0:
        report.notes.append("The input has no variants.")
    report.provenance = provenance(
        "breedhub.genomics.qc.filter_vcf", inputs=[src], parameters={"ploidy": ploidy, **thresholds}
    ).to_dict()
    if report_json is not None:
        write_json(report.to_dict(), report_json)
    if report_html is not None:
        with atomic_output(report_html) as tmp:
            tmp.write_text(render_html(report), encoding="utf-8")
    return report


def _check_filter_args(
    thresholds: dict[str, float | None],
    chunk_length: int | None,
    report_json: str | os.PathLike[str] | None,
    report_html: str | os.PathLike[str] | None,
) -> None:
    """Check :func:`filter_vcf`'s thresholds, chunk length and report paths."""
    for name, hi in [
        ("min_qual", math.inf),
        ("min_depth", math.inf),
        ("max_depth", math.inf),
        ("min_call_rate", 1.0),
        ("min_maf", 0.5),
        ("hwe_p", 1.0),
        ("max_sample_missing", 1.0),
        ("max_sample_het", 1.0),
        ("min_sample_depth", math.inf),
    ]:
        value = thresholds[name]
        if value is not None:
            check_float(name, value, low=0.0, high=None if math.isinf(hi) else hi)
    min_depth, max_depth = thresholds["min_depth"], thresholds["max_depth"]
    if min_depth is not None and max_depth is not None and min_depth > max_depth:
        raise ValueError(f"min_depth ({min_depth}) must not exceed max_depth ({max_depth})")
    if chunk_length is not None and (
        isinstance(chunk_length, bool) or not isinstance(chunk_length, int) or chunk_length < 1
    ):
        raise ValueError(f"chunk_length must be a positive int or None, not {chunk_length!r}")
    for name, where in (("report_json", report_json), ("report_html", report_html)):
        if where is not None and not isinstance(where, str | os.PathLike):
            raise TypeError(f"{name} must be a path or None, not {type(where).__name__}")


def _sample_statistics(
    src: Path,
    report: QCReport,
    n: int,
    *,
    ploidy: int,
    min_qual: float | None,
    has_format_dp: bool,
    chunk_length: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, None]]:
    """Pass 1: each sample's missingness, heterozygosity and mean depth.

    Computed over the variants passing ``min_qual``; counts the input's
    variants into ``report`` and returns the contigs in file order too.
    """
    n_sites = 0
    s_called = np.zeros(n, dtype=np.int64)
    s_het = np.zeros(n, dtype=np.int64)
    s_dp_sum = np.zeros(n, dtype=np.float64)
    s_dp_n = np.zeros(n, dtype=np.int64)
    contigs: dict[str, None] = {}
    missing_qual = 0
    fields1 = ["variants/QUAL"] + (["calldata/DP"] if has_format_dp else [])
    for chunk in iter_genotype_chunks(
        src, ploidy=ploidy, fields=fields1, chunk_length=chunk_length
    ):
        contigs.update(dict.fromkeys(str(c) for c in chunk["variants/CHROM"]))
        report.n_variants_in += len(chunk["variants/POS"])
        qual = chunk["variants/QUAL"].astype(np.float64)
        missing_qual += int(np.isnan(qual).sum())
        site_ok = ~(qual < min_qual) if min_qual is not None else np.ones(qual.shape, bool)
        gt = chunk["calldata/GT"][site_ok]
        called = called_mask(gt)
        n_sites += int(site_ok.sum())
        s_called += called.sum(axis=0)
        s_het += (called & (gt != gt[:, :, :1]).any(axis=2)).sum(axis=0)
        if has_format_dp:
            dp = chunk["calldata/DP"][site_ok]
            s_dp_sum += np.where(dp >= 0, dp, 0).sum(axis=0)
            s_dp_n += (dp >= 0).sum(axis=0)
    if missing_qual and min_qual is not None:
        report.notes.append(f"{missing_qual} variants have no QUAL and were not judged on it.")

    with np.errstate(invalid="ignore", divide="ignore"):
        s_missing = 1.0 - s_called / n_sites if n_sites else np.full(n, np.nan)
        s_hetf = np.where(s_called > 0, s_het / np.maximum(s_called, 1), np.nan)
        s_depth = np.where(s_dp_n > 0, s_dp_sum / np.maximum(s_dp_n, 1), np.nan)
    return s_missing, s_hetf, s_depth, contigs


def _judge_samples(
    report: QCReport,
    samples: list[str],
    s_missing: np.ndarray,
    s_hetf: np.ndarray,
    s_depth: np.ndarray,
    thresholds: dict[str, float | None],
    has_format_dp: bool,
) -> np.ndarray:
    """Apply the sample filters; record each sample's statistics and fate in ``report``.

    Returns the mask of kept samples.
    """
    max_sample_missing = thresholds["max_sample_missing"]
    max_sample_het = thresholds["max_sample_het"]
    min_sample_depth = thresholds["min_sample_depth"]
    keep_sample = np.ones(len(samples), dtype=bool)
    for i, name in enumerate(samples):
        reasons = []
        if max_sample_missing is not None and s_missing[i] > max_sample_missing:
            reasons.append("missing")
        if max_sample_het is not None and s_hetf[i] > max_sample_het:
            reasons.append("het")
        if min_sample_depth is not None and not (s_depth[i] >= min_sample_depth):
            reasons.append("depth")
        report.sample_stats[name] = {
            "missing": float(s_missing[i]),
            "het": float(s_hetf[i]),
            "depth": float(s_depth[i]) if has_format_dp else None,
        }
        if reasons:
            report.samples_removed[name] = reasons
            keep_sample[i] = False
    report.samples_kept = [s for s, k in zip(samples, keep_sample, strict=True) if k]
    return keep_sample


def _header_value(thresholds: dict[str, float | None], ploidy: int) -> str:
    from breedhub.base.version import __version__

    args = ",".join(f"{k}={v}" for k, v in thresholds.items())
    return f"breedhub {__version__}; ploidy={ploidy},{args}"


def _variant_filters(
    chunk: dict[str, np.ndarray],
    *,
    ploidy: int,
    n_samples_in: int,
    has_format_dp: bool,
    has_info_dp: bool,
    thresholds: dict[str, float | None],
    hwe: bool,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    gt = chunk["calldata/GT"]
    n_var, n_samp = gt.shape[:2]
    called = called_mask(gt)
    n_called = called.sum(axis=1)
    dosage = dosage_of(gt)
    alt = np.where(called, dosage, 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = alt / (ploidy * n_called)
        maf = np.where(n_called > 0, np.minimum(p, 1 - p), 0.0)
        call_rate = n_called / n_samp if n_samp else np.zeros(n_var)
        if has_format_dp:
            dp = chunk["calldata/DP"]
            ok = dp >= 0
            depth = np.where(ok, dp, 0).sum(axis=1) / ok.sum(axis=1)
        elif has_info_dp:
            info = chunk["variants/DP"].astype(np.float64)
            depth = np.where(info >= 0, info / n_samples_in, np.nan)
        else:
            depth = np.full(n_var, np.nan)
    qual = chunk["variants/QUAL"].astype(np.float64)
    t = thresholds
    never = np.zeros(n_var, dtype=bool)
    fails = {
        "qual": qual < t["min_qual"] if t["min_qual"] is not None else never,
        "low_depth": ~(depth >= t["min_depth"]) if t["min_depth"] is not None else never,
        "high_depth": depth > t["max_depth"] if t["max_depth"] is not None else never,
        "call_rate": call_rate < t["min_call_rate"] if t["min_call_rate"] is not None else never,
        "maf": maf < t["min_maf"] if t["min_maf"] is not None else never,
        "hwe": never,
    }
    if hwe and t["hwe_p"] is not None:
        counts = [(called & (dosage == d)).sum(axis=1) for d in range(3)]
        fails["hwe"] = hwe_exact_test(*counts) < t["hwe_p"]
    stats = {"qual": qual, "depth": depth, "call_rate": call_rate, "maf": maf}
    return fails, stats


def _write_kept(
    records: Iterator[Any],
    writer: Any,
    chunk: dict[str, np.ndarray],
    keep: np.ndarray,
    recompute_ac: bool,
    src: Path,
) -> None:
    chrom, pos = chunk["variants/CHROM"], chunk["variants/POS"]
    if recompute_ac:
        gt = chunk["calldata/GT"]
        an = (gt >= 0).sum(axis=(1, 2))
        top = int(gt.max(initial=0))
        ac = np.stack([(gt == a).sum(axis=(1, 2)) for a in range(1, top + 2)], axis=1)
    for i in range(len(pos)):
        try:
            rec = next(records)
        except StopIteration:
            raise InputFileError(src, "pysam reads fewer records than scikit-allel") from None
        except (OSError, ValueError) as e:
            raise InputFileError(src, f"pysam cannot parse a record: {e}") from e
        if rec.pos != pos[i] or rec.contig != str(chrom[i]):
            raise InputFileError(
                src,
                "scikit-allel and pysam read different records; is the file well formed?",
                record=f"{chrom[i]}:{pos[i]}",
            )
        if not keep[i]:
            continue
        if recompute_ac:
            n_alt = len(rec.alts or ())
            rec.info["AN"] = int(an[i])
            if n_alt:
                rec.info["AC"] = tuple(int(x) for x in ac[i, :n_alt]) + (0,) * max(
                    0, n_alt - ac.shape[1]
                )
        writer.write(rec)
