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
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import html
import io
import json
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.files import atomic_output

__all__ = ["QCReport", "filter_vcf", "hwe_exact_test"]

#: Variant filters, in the order they are reported, with the rule each applies.
VARIANT_REASONS: dict[str, str] = {
    "qual": "site quality QUAL < min_qual",
    "low_depth": "mean depth < min_depth",
    "high_depth": "mean depth > max_depth",
    "call_rate": "call rate < min_call_rate",
    "maf": "minor-allele frequency < min_maf",
    "hwe": "Hardy-Weinberg exact test p < hwe_p (diploids only)",
}
#: Sample filters, with the rule each applies.
SAMPLE_REASONS: dict[str, str] = {
    "missing": "fraction of missing calls > max_sample_missing",
    "het": "observed heterozygosity > max_sample_het",
    "depth": "mean depth < min_sample_depth",
}

_EDGES: dict[str, np.ndarray] = {
    "qual": np.array([0, 10, 20, 30, 40, 50, 75, 100, 200, 500, 1000, np.inf]),
    "depth": np.array([0, 2, 4, 6, 8, 10, 15, 20, 30, 50, 75, 100, 200, 500, np.inf]),
    "call_rate": np.linspace(0.0, 1.0, 21),
    "maf": np.linspace(0.0, 0.5, 26),
}
_TITLES = {
    "qual": "Site quality (QUAL)",
    "depth": "Mean depth per variant",
    "call_rate": "Call rate per variant",
    "maf": "Minor-allele frequency",
}


# --------------------------------------------------------------------------- report


@dataclass
class QCReport:
    """What :func:`filter_vcf` kept, what it removed and why.

    Attributes
    ----------
    variants_removed
        Variants removed per reason (keys of ``VARIANT_REASONS``); a variant
        failing several filters is counted under each, and once in ``"total"``.
    samples_removed
        Removed sample -> its reasons (keys of ``SAMPLE_REASONS``).
    sample_stats
        Sample -> ``{"missing", "het", "depth"}`` (None where not measured).
    distributions
        Statistic -> ``{"bins", "all", "kept", "n", "mean", "min", "max"}``:
        histogram counts over all input variants and over the kept ones.
    """

    input: str
    output: str
    ploidy: int
    thresholds: dict[str, float | None]
    n_variants_in: int = 0
    n_variants_kept: int = 0
    variants_removed: dict[str, int] = field(default_factory=dict)
    n_samples_in: int = 0
    samples_kept: list[str] = field(default_factory=list)
    samples_removed: dict[str, list[str]] = field(default_factory=dict)
    sample_stats: dict[str, dict[str, float | None]] = field(default_factory=dict)
    distributions: dict[str, dict[str, Any]] = field(default_factory=dict)
    hwe_applied: bool = False
    depth_source: str = "none"
    order: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (NaN becomes None)."""
        return jsonable(asdict(self))


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# --------------------------------------------------------------------------- HWE


def _hwe_exact_one(n_aa: int, n_ab: int, n_bb: int) -> float:
    from scipy.special import gammaln

    n = n_aa + n_ab + n_bb
    if n == 0:
        return 1.0
    n_a = 2 * n_aa + n_ab
    n_b = 2 * n - n_a
    rare = min(n_a, n_b)
    # Every possible het count with the observed allele counts has the parity of `rare`.
    het = np.arange(rare % 2, rare + 1, 2, dtype=np.float64)
    hom_rare = (rare - het) / 2
    hom_common = n - het - hom_rare
    logp = (
        gammaln(n + 1)
        - gammaln(hom_rare + 1)
        - gammaln(het + 1)
        - gammaln(hom_common + 1)
        + het * np.log(2.0)
        + gammaln(n_a + 1)
        + gammaln(n_b + 1)
        - gammaln(2 * n + 1)
    )
    prob = np.exp(logp - logp.max())
    prob /= prob.sum()
    observed = prob[int(n_ab) // 2]
    return float(min(1.0, prob[prob <= observed * (1 + 1e-7)].sum()))


def hwe_exact_test(n_hom_ref: Any, n_het: Any, n_hom_alt: Any) -> np.ndarray:
    """Hardy-Weinberg exact test of diploid genotype counts, one p-value per variant.

    The p-value is the probability, given the allele counts, of a number of
    heterozygotes as likely as or less likely than the one observed.

    Parameters
    ----------
    n_hom_ref, n_het, n_hom_alt
        Counts of homozygous-reference, heterozygous and homozygous-alternate
        genotypes: integers or equal-length arrays of non-negative integers.

    Returns
    -------
    numpy.ndarray
        p-values (float64), 1.0 where no genotype was counted.

    Raises
    ------
    ValueError
        If a count is negative or the arrays differ in length.

    References
    ----------
    Wigginton JE, Cutler DJ, Abecasis GR (2005). A note on exact tests of
    Hardy-Weinberg equilibrium. American Journal of Human Genetics 76:887-893.

    Examples
    --------
    Three individuals, three copies of each allele: three heterozygotes have
    probability 0.4 and one heterozygote 0.6.

    >>> hwe_exact_test([0, 1], [3, 1], [0, 1]).round(6).tolist()
    [0.4, 1.0]
    """
    counts = [np.atleast_1d(np.asarray(c)) for c in (n_hom_ref, n_het, n_hom_alt)]
    if len({c.shape for c in counts}) != 1 or counts[0].ndim != 1:
        raise ValueError("n_hom_ref, n_het and n_hom_alt must be 1-D and of equal length")
    for name, c in zip(("n_hom_ref", "n_het", "n_hom_alt"), counts, strict=True):
        if c.size and (c.dtype.kind not in "iu" or c.min() < 0):
            raise ValueError(f"{name} must hold non-negative integers")
    table = np.stack(counts, axis=1).astype(np.int64)
    uniq, inverse = np.unique(table, axis=0, return_inverse=True)
    p = np.array([_hwe_exact_one(*row) for row in uniq.tolist()], dtype=np.float64)
    return p[inverse.reshape(-1)]


# --------------------------------------------------------------------------- helpers


def _bin_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    idx = np.searchsorted(edges, x, side="right") - 1
    idx[x == edges[-1]] = len(edges) - 2
    idx = idx[(idx >= 0) & (idx < len(edges) - 1)]
    return np.bincount(idx, minlength=len(edges) - 1)


def _bin_labels(edges: np.ndarray) -> list[str]:
    def fmt(v: float) -> str:
        return f"{v:g}"

    labels = [f"{fmt(a)}-{fmt(b)}" for a, b in zip(edges[:-2], edges[1:-1], strict=True)]
    last = f">={fmt(edges[-2])}" if np.isinf(edges[-1]) else f"{fmt(edges[-2])}-{fmt(edges[-1])}"
    return [*labels, last]


class _Summary:
    """Streaming histogram (all and kept variants), count, mean, min, max."""

    def __init__(self, edges: np.ndarray):
        self.edges = edges
        self.all = np.zeros(len(edges) - 1, dtype=np.int64)
        self.kept = np.zeros(len(edges) - 1, dtype=np.int64)
        self.n, self.total = 0, 0.0
        self.min, self.max = math.inf, -math.inf

    def add(self, x: np.ndarray, keep: np.ndarray) -> None:
        self.all += _bin_counts(x, self.edges)
        self.kept += _bin_counts(x[keep], self.edges)
        f = x[np.isfinite(x)]
        if f.size:
            self.n += int(f.size)
            self.total += float(f.sum())
            self.min = min(self.min, float(f.min()))
            self.max = max(self.max, float(f.max()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bins": _bin_labels(self.edges),
            "all": self.all.tolist(),
            "kept": self.kept.tolist(),
            "n": self.n,
            "mean": self.total / self.n if self.n else None,
            "min": self.min if self.n else None,
            "max": self.max if self.n else None,
        }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_number(name: str, value: object, lo: float, hi: float = math.inf) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number or None, not {type(value).__name__}")
    if not (lo <= float(value) <= hi):
        raise ValueError(f"{name} must be between {lo:g} and {hi:g} (or None to skip), not {value}")


def check_ploidy(ploidy: object) -> int:
    """Check a ploidy argument; return it as an int."""
    if isinstance(ploidy, bool) or not isinstance(ploidy, int | np.integer):
        raise TypeError(f"ploidy must be an int (1, 2, 4, 6...), not {type(ploidy).__name__}")
    if ploidy < 1:
        raise ValueError(f"ploidy must be at least 1, not {ploidy}")
    return int(ploidy)


def check_vcf_paths(vcf: object, out_vcf: object) -> tuple[Path, Path]:
    """Check an input VCF exists and an output is a distinct ``.vcf.gz``; return both."""
    for name, value in (("vcf", vcf), ("out_vcf", out_vcf)):
        if not isinstance(value, str | os.PathLike):
            raise TypeError(f"{name} must be a path, not {type(value).__name__}")
    src, dst = Path(vcf), Path(out_vcf)  # type: ignore[arg-type]
    if not src.is_file():
        raise InputFileError(src, "no such file")
    if not dst.name.endswith(".vcf.gz"):
        raise ValueError(f"out_vcf must end in .vcf.gz (it is bgzipped and indexed), not {dst}")
    if dst.resolve() == src.resolve():
        raise ValueError("out_vcf must differ from vcf: the input is read while writing")
    return src, dst


@contextlib.contextmanager
def _quiet_allel() -> Iterator[None]:
    """Hide scikit-allel's warnings about header lines bcftools writes (VDB's Version=)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="invalid (INFO|FORMAT|FILTER) header")
        yield


def read_headers(vcf: Path) -> Any:
    """scikit-allel's parsed header of ``vcf``, with FORMAT/GT and samples checked."""
    import allel

    try:
        with _quiet_allel():
            headers = allel.read_vcf_headers(str(vcf))
    except (RuntimeError, ValueError, OSError, UnicodeDecodeError) as e:
        raise InputFileError(vcf, f"not a readable VCF: {e}") from e
    if "GT" not in headers.formats:
        raise InputFileError(vcf, "no FORMAT/GT in the header: there are no genotypes to read")
    if not headers.samples:
        raise InputFileError(vcf, "no samples in the #CHROM line")
    return headers


def iter_genotype_chunks(
    vcf: Path,
    *,
    ploidy: int,
    fields: Sequence[str],
    samples: Sequence[str] | None = None,
    chunk_length: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Chunks of a VCF as scikit-allel arrays; ``calldata/GT`` is (variants, samples, ploidy).

    ``chunk_length`` variants are read at a time; by default as many as keep
    a chunk's genotypes near 32 MB.

    Raises
    ------
    InputFileError
        If a call has more alleles than ``ploidy``, or most calls have fewer
        (the ploidy is wrong), or the file cannot be parsed.
    """
    import allel

    fields = list(dict.fromkeys(["variants/CHROM", "variants/POS", "calldata/GT", *fields]))
    if chunk_length is None:
        n_samples = len(samples) if samples is not None else len(read_headers(vcf).samples)
        chunk_length = int(np.clip((1 << 25) // max(1, n_samples * (ploidy + 3)), 64, 8192))
    try:
        with _quiet_allel():
            _, _, _, it = allel.iter_vcf_chunks(
                str(vcf),
                fields=fields,
                numbers={"calldata/GT": ploidy + 1},
                samples=list(samples) if samples is not None else None,
                chunk_length=chunk_length,
            )
        for chunk, _n, _c, _p in it:
            gt = chunk["calldata/GT"]
            extra = (gt[:, :, ploidy] >= 0).any(axis=1)
            if extra.any():
                i = int(np.flatnonzero(extra)[0])
                raise InputFileError(
                    vcf,
                    f"a genotype has more than ploidy={ploidy} alleles; pass the species' ploidy",
                    record=f"{chunk['variants/CHROM'][i]}:{chunk['variants/POS'][i]}",
                )
            gt = gt[:, :, :ploidy]
            some = (gt >= 0).any(axis=2)
            full = (gt >= 0).all(axis=2)
            if ploidy > 1 and (some & ~full).sum() > full.sum():
                raise InputFileError(
                    vcf,
                    f"most genotypes have fewer than ploidy={ploidy} alleles; "
                    "pass the species' ploidy",
                )
            chunk["calldata/GT"] = gt
            yield chunk
    except (RuntimeError, ValueError) as e:
        if isinstance(e, InputFileError):
            raise
        raise InputFileError(vcf, f"cannot be parsed as VCF: {e}") from e


def called_mask(gt: np.ndarray) -> np.ndarray:
    """(variants, samples) True where every allele of the call is known."""
    return np.asarray((gt >= 0).all(axis=2))


def dosage_of(gt: np.ndarray) -> np.ndarray:
    """(variants, samples) count of non-reference alleles, -1 where not called."""
    d = (gt > 0).sum(axis=2, dtype=np.int16)
    d[~called_mask(gt)] = -1
    return d


def open_vcf_reader(vcf: Path, contigs: Sequence[str]) -> Any:
    """A pysam reader whose header declares ``contigs`` (so a writer can share it)."""
    import pysam

    verbosity = pysam.set_verbosity(0)  # no "could not retrieve index" on unindexed input
    try:
        reader = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as e:
        raise InputFileError(vcf, f"pysam cannot open it: {e}") from e
    finally:
        pysam.set_verbosity(verbosity)
    for c in contigs:
        if c not in reader.header.contigs:
            reader.header.contigs.add(c)
    return reader


def index_vcf(tmp_vcf: Path, tmp_index: Path, source: Path) -> None:
    """Tabix-index a bgzipped VCF written at a temporary name; move the index to ``tmp_index``."""
    import pysam

    try:
        pysam.tabix_index(str(tmp_vcf), preset="vcf", force=True)
    except (OSError, ValueError) as e:
        raise InputFileError(
            source, f"the output cannot be indexed ({e}); sort the input by contig and position"
        ) from e
    os.replace(f"{tmp_vcf}.tbi", tmp_index)


def provenance(function: str, inputs: Sequence[Path], parameters: dict[str, Any]) -> dict[str, Any]:
    """Software version, time, parameters and input checksums of an output."""
    from breedhub.base.version import __version__

    return {
        "software": f"breedhub {__version__}",
        "function": function,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "parameters": jsonable(parameters),
        "inputs": {str(p): {"sha256": _sha256(p)} for p in inputs},
    }


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``data`` as indented JSON through :func:`atomic_output`."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(jsonable(data), indent=2) + "\n")


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
    for name, value, hi in [
        ("min_qual", min_qual, math.inf),
        ("min_depth", min_depth, math.inf),
        ("max_depth", max_depth, math.inf),
        ("min_call_rate", min_call_rate, 1.0),
        ("min_maf", min_maf, 0.5),
        ("hwe_p", hwe_p, 1.0),
        ("max_sample_missing", max_sample_missing, 1.0),
        ("max_sample_het", max_sample_het, 1.0),
        ("min_sample_depth", min_sample_depth, math.inf),
    ]:
        _check_number(name, value, 0.0, hi)
    if min_depth is not None and max_depth is not None and min_depth > max_depth:
        raise ValueError(f"min_depth ({min_depth}) must not exceed max_depth ({max_depth})")
    if chunk_length is not None and (
        isinstance(chunk_length, bool) or not isinstance(chunk_length, int) or chunk_length < 1
    ):
        raise ValueError(f"chunk_length must be a positive int or None, not {chunk_length!r}")
    for name, where in (("report_json", report_json), ("report_html", report_html)):
        if where is not None and not isinstance(where, str | os.PathLike):
            raise TypeError(f"{name} must be a path or None, not {type(where).__name__}")

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
    keep_sample = np.ones(n, dtype=bool)
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
        "breedhub.genomics.qc.filter_vcf", [src], {"ploidy": ploidy, **thresholds}
    )
    if report_json is not None:
        write_json(report.to_dict(), report_json)
    if report_html is not None:
        with atomic_output(report_html) as tmp:
            tmp.write_text(render_html(report), encoding="utf-8")
    return report


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


# --------------------------------------------------------------------------- HTML


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(report: QCReport) -> dict[str, str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out: dict[str, str] = {}
    for name, dist in report.distributions.items():
        fig = Figure(figsize=(6, 3))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        x = np.arange(len(dist["bins"]))
        kept = np.asarray(dist["kept"])
        gone = np.asarray(dist["all"]) - kept
        ax.bar(x, kept, color="#4c72b0", label="kept")
        ax.bar(x, gone, bottom=kept, color="#dd8452", label="removed")
        ax.set_xticks(x, dist["bins"], rotation=60, fontsize=7)
        ax.set_ylabel("variants")
        ax.set_title(_TITLES[name], fontsize=10)
        ax.legend(fontsize=8)
        out[name] = _png(fig)
    stats = report.sample_stats
    limits = {
        "missing": report.thresholds["max_sample_missing"],
        "het": report.thresholds["max_sample_het"],
    }
    titles = {"missing": "Sample missingness", "het": "Sample observed heterozygosity"}
    for key, title in titles.items():
        values = np.array([v[key] for v in stats.values()], dtype=np.float64)
        values = values[np.isfinite(values)]
        fig = Figure(figsize=(6, 3))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.hist(values, bins=20, range=(0, 1), color="#4c72b0")
        limit = limits[key]
        if limit is not None:
            ax.axvline(limit, color="#c44e52", linestyle="--", label="threshold")
            ax.legend(fontsize=8)
        ax.set_xlabel("fraction")
        ax.set_ylabel("samples")
        ax.set_title(title, fontsize=10)
        out[f"sample_{key}"] = _png(fig)
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f0f0f0;text-align:left}td.n{text-align:right}
.plots img{max-width:32em;margin:.3em}.note{background:#fff6d6;padding:.4em .8em}
"""


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render_html(report: QCReport) -> str:
    """A self-contained HTML page of a :class:`QCReport` (inline CSS, PNG plots inline)."""
    e = html.escape
    t = report.thresholds
    threshold_of = {
        "qual": "min_qual",
        "low_depth": "min_depth",
        "high_depth": "max_depth",
        "call_rate": "min_call_rate",
        "maf": "min_maf",
        "hwe": "hwe_p",
    }
    rows = []
    for reason, rule in VARIANT_REASONS.items():
        key = threshold_of[reason]
        applied = t[key] is not None and (reason != "hwe" or report.hwe_applied)
        count = report.variants_removed.get(reason, 0)
        pct = 100 * count / report.n_variants_in if report.n_variants_in else 0.0
        rows.append(
            f"<tr><td>{e(reason)}</td><td>{e(rule)}</td><td>{e(key)} = {e(_fmt(t[key]))}</td>"
            f"<td>{'yes' if applied else 'no'}</td><td class=n>{count}</td>"
            f"<td class=n>{pct:.1f}%</td></tr>"
        )
    total = report.variants_removed.get("total", 0)
    rows.append(
        f"<tr><th colspan=4>total (a variant failing several filters counted once)</th>"
        f"<th class=n>{total}</th><th></th></tr>"
    )
    sample_rows = []
    for name, reasons in report.samples_removed.items():
        st = report.sample_stats[name]
        why = []
        for r in reasons:
            if r == "missing":
                why.append(f"missingness {st['missing']:.3f} > {t['max_sample_missing']}")
            elif r == "het":
                why.append(f"heterozygosity {st['het']:.3f} > {t['max_sample_het']}")
            else:
                why.append(f"mean depth {_fmt(st['depth'])} < {t['min_sample_depth']}")
        sample_rows.append(
            f"<tr><td>{e(name)}</td><td>{e(', '.join(reasons))}</td><td>{e('; '.join(why))}</td></tr>"
        )
    removed_samples = (
        "<table><tr><th>sample</th><th>reasons</th><th>values</th></tr>"
        + "".join(sample_rows)
        + "</table>"
        if sample_rows
        else "<p>No sample was removed.</p>"
    )
    sample_rule_rows = "".join(
        f"<tr><td>{e(r)}</td><td>{e(rule)}</td><td class=n>"
        f"{sum(r in v for v in report.samples_removed.values())}</td></tr>"
        for r, rule in SAMPLE_REASONS.items()
    )
    all_samples = "".join(
        f"<tr><td>{e(s)}</td><td class=n>{_fmt(v['missing'])}</td><td class=n>{_fmt(v['het'])}"
        f"</td><td class=n>{_fmt(v['depth'])}</td><td>"
        f"{'removed' if s in report.samples_removed else 'kept'}</td></tr>"
        for s, v in report.sample_stats.items()
    )
    notes = "".join(f"<p class=note>{e(n)}</p>" for n in report.notes)
    plots = _plots(report)
    imgs = "".join(f'<img alt="{e(k)}" src="data:image/png;base64,{v}">' for k, v in plots.items())
    order = "".join(f"<li>{e(o)}</li>" for o in report.order)
    prov = e(json.dumps(jsonable(report.provenance), indent=2))
    n_removed_samples = len(report.samples_removed)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Genotype QC: {e(Path(report.input).name)}</title>
<style>{_CSS}</style></head><body>
<h1>Genotype quality control</h1>
<p>Input <code>{e(report.input)}</code>, output <code>{e(report.output)}</code>,
ploidy {report.ploidy}, depth from {e(report.depth_source)}.</p>
<h2>Summary</h2>
<table><tr><th></th><th>in</th><th>kept</th><th>removed</th></tr>
<tr><td>variants</td><td class=n>{report.n_variants_in}</td><td class=n>{report.n_variants_kept}</td>
<td class=n>{total}</td></tr>
<tr><td>samples</td><td class=n>{report.n_samples_in}</td><td class=n>{len(report.samples_kept)}</td>
<td class=n>{n_removed_samples}</td></tr></table>
{notes}
<h2>Order of the filters</h2><ol>{order}</ol>
<h2>Samples removed, and why</h2>
<table><tr><th>reason</th><th>rule</th><th>samples</th></tr>{sample_rule_rows}</table>
{removed_samples}
<h2>Variants removed, by reason</h2>
<table><tr><th>reason</th><th>rule</th><th>threshold</th><th>applied</th><th>variants</th>
<th>of input</th></tr>{"".join(rows)}</table>
<h2>Distributions</h2><div class=plots>{imgs}</div>
<h2>Every sample</h2>
<details><summary>{report.n_samples_in} samples</summary>
<table><tr><th>sample</th><th>missingness</th><th>heterozygosity</th><th>mean depth</th>
<th>status</th></tr>{all_samples}</table></details>
<h2>Provenance</h2><pre>{prov}</pre>
</body></html>
"""
