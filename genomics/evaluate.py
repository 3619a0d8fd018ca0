"""Score variant calls against a truth set, for any ploidy.

:func:`normalise_vcf` splits multiallelic records into biallelic ones and
left-aligns and trims indels against the reference (``bcftools norm -m -any
-f``), so that one variant has one spelling. :func:`compare_to_truth`
normalises both files and counts, for SNPs and indels apart, the variant
alleles found in both (true positives), in the calls only (false positives)
and in the truth only (false negatives); at the true positives it compares
each sample's alternate-allele dosage, which for ploidy above 2 is the
exact dosage concordance used to assess polyploid genotypers.

References
----------
.. [1] Tan A, Abecasis GR, Kang HM (2015). Unified representation of genetic
   variants. Bioinformatics 31(13):2202-2204.
.. [2] Gerard D, Ferrão LFV, Garcia AAF, Stephens M (2018). Genotyping
   polyploids from messy sequencing data. Genetics 210(3):789-807.
.. [3] Clark LV, Lipka AE, Sacks EJ (2019). polyRAD: genotype calling with
   uncertainty from sequencing data in polyploids and diploids. G3 9(3):663-673.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools

from breedhub.base.files import atomic_output
from breedhub.genomics.exceptions import InputFileError, ToolError
from breedhub.genomics.files import check_vcf_gz, fasta_index, remove_stale_index, vcf_index_path

__all__ = ["ClassCounts", "Comparison", "compare_to_truth", "normalise_vcf"]

_CLASSES = ("snp", "indel", "other")
_TBI_MAX_LENGTH = 2**29 - 1

#: (contig, position, REF, ALT) of one biallelic variant.
Key = tuple[str, int, str, str]


@dataclass(frozen=True)
class ClassCounts:
    """True positives, false positives and false negatives of one variant class.

    Examples
    --------
    >>> c = ClassCounts(tp=8, fp=2, fn=0)
    >>> c.precision, c.recall, round(c.f1, 4)
    (0.8, 1.0, 0.8889)
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def n_true(self) -> int:
        return self.tp + self.fn

    @property
    def n_called(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        """TP / (TP + FP); NaN when nothing was called."""
        return self.tp / self.n_called if self.n_called else math.nan

    @property
    def recall(self) -> float:
        """TP / (TP + FN); NaN when the truth has none."""
        return self.tp / self.n_true if self.n_true else math.nan

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall; NaN when either is."""
        p, r = self.precision, self.recall
        if math.isnan(p) or math.isnan(r):
            return math.nan
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare_to_truth`.

    ``genotypes[c]`` is (compared, concordant) over the (site, sample) pairs
    of class ``c`` at true-positive sites, for samples in both files; a
    missing call is discordant, a missing truth genotype is not compared.
    """

    ploidy: int
    counts: dict[str, ClassCounts]
    genotypes: dict[str, tuple[int, int]]
    samples: tuple[str, ...] = field(default=())

    def concordance(self, classes: tuple[str, ...] = _CLASSES) -> float:
        """Fraction of compared genotypes whose dosage matches; NaN when none were compared."""
        compared = sum(self.genotypes[c][0] for c in classes)
        concordant = sum(self.genotypes[c][1] for c in classes)
        return concordant / compared if compared else math.nan

    @property
    def genotype_concordance(self) -> float:
        return self.concordance()

    @property
    def genotype_concordance_snp(self) -> float:
        return self.concordance(("snp",))

    @property
    def genotype_concordance_indel(self) -> float:
        return self.concordance(("indel",))

    def to_dict(self) -> dict[str, int | float | None]:
        """JSON-ready numbers; NaN (undefined ratios) become None.

        Keys: ``ploidy``, ``n_true``, ``n_called``, ``n_samples_compared``,
        ``n_genotypes_compared``; for ``snp``, ``indel`` and ``other`` (MNPs,
        complex) ``<class>_tp``, ``_fp``, ``_fn``, ``_precision``,
        ``_recall``, ``_f1``, ``n_true_<class>``, ``n_called_<class>``;
        ``precision``, ``recall``, ``f1`` over all classes;
        ``genotype_concordance`` (all classes), ``genotype_concordance_snp``,
        ``genotype_concordance_indel``, and ``dosage_concordance`` (the same
        figure as ``genotype_concordance``: the exact dosage concordance).
        """
        total = ClassCounts(
            sum(c.tp for c in self.counts.values()),
            sum(c.fp for c in self.counts.values()),
            sum(c.fn for c in self.counts.values()),
        )
        out: dict[str, int | float | None] = {
            "ploidy": self.ploidy,
            "n_true": total.n_true,
            "n_called": total.n_called,
            "n_samples_compared": len(self.samples),
            "n_genotypes_compared": sum(g[0] for g in self.genotypes.values()),
        }
        for name in _CLASSES:
            c = self.counts[name]
            out.update(
                {
                    f"n_true_{name}": c.n_true,
                    f"n_called_{name}": c.n_called,
                    f"{name}_tp": c.tp,
                    f"{name}_fp": c.fp,
                    f"{name}_fn": c.fn,
                    f"{name}_precision": c.precision,
                    f"{name}_recall": c.recall,
                    f"{name}_f1": c.f1,
                }
            )
        out.update(
            precision=total.precision,
            recall=total.recall,
            f1=total.f1,
            genotype_concordance=self.genotype_concordance,
            genotype_concordance_snp=self.genotype_concordance_snp,
            genotype_concordance_indel=self.genotype_concordance_indel,
            dosage_concordance=self.genotype_concordance,
        )
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in out.items()}


def normalise_vcf(
    vcf: str | os.PathLike[str],
    reference: str | os.PathLike[str],
    out_vcf: str | os.PathLike[str],
) -> Path:
    """Split multiallelic records and left-align indels; write a bgzipped, indexed VCF.

    Runs ``bcftools norm -m -any -f reference``: a record with several
    alternate alleles becomes one record per allele (genotypes recoded to
    that allele, the others counted as reference), and indels are shifted
    to their leftmost position and trimmed to one anchor base [1]_. The
    output appears complete or not at all, with a ``.tbi`` index (``.csi``
    for contigs longer than 2^29 - 1 bp).

    Parameters
    ----------
    vcf
        VCF or BCF, plain or compressed, sorted.
    reference
        The FASTA the variants are described against.
    out_vcf
        The output, ending in ``.vcf.gz``.

    Returns
    -------
    Path
        ``out_vcf``.

    Raises
    ------
    InputFileError
        If a file is missing or unreadable, a REF allele disagrees with the
        reference (called against another reference?), a contig is not in
        the reference, or the records are not sorted.
    ValueError
        If ``out_vcf`` does not end in ``.vcf.gz``.
    ToolError
        If bcftools fails for another reason.

    References
    ----------
    .. [1] Tan A, Abecasis GR, Kang HM (2015). Unified representation of
       genetic variants. Bioinformatics 31(13):2202-2204.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "ref.fa").write_text(">c\\nGCAAAATGC\\n")
    >>> _ = (d / "in.vcf").write_text(
    ...     "##fileformat=VCFv4.2\\n##contig=<ID=c>\\n"
    ...     "#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\n"
    ...     "c\\t5\\t.\\tAAT\\tAT,GAT\\t.\\t.\\t.\\n"
    ... )
    >>> out = normalise_vcf(d / "in.vcf", d / "ref.fa", d / "out.vcf.gz")
    >>> [(r.pos, r.ref, r.alts[0]) for r in pysam.VariantFile(str(out))]
    [(2, 'CA', 'C'), (5, 'A', 'G')]
    """
    vcf, reference, out = Path(vcf), Path(reference), Path(out_vcf)
    check_vcf_gz(out)
    if not vcf.is_file():
        raise InputFileError(vcf, "no such VCF")
    lengths = fasta_index(reference)
    csi = bool(lengths) and max(lengths.values()) > _TBI_MAX_LENGTH
    with atomic_output(out) as tmp, atomic_output(vcf_index_path(out, csi)) as tmp_index:
        try:
            pysam.bcftools.norm(
                "-m", "-any", "-f", str(reference), "-Oz", "-o", str(tmp), str(vcf),
                catch_stdout=False,
            )  # fmt: skip
        except pysam.utils.SamtoolsError as exc:
            message = str(exc)
            if "mismatch" in message.lower():
                raise InputFileError(
                    vcf,
                    "a REF allele disagrees with the reference: called against another "
                    f"reference than {reference}? ({_tail(message)})",
                ) from None
            if "not found" in message.lower() or "faidx" in message.lower():
                raise InputFileError(
                    vcf, f"a contig is not in {reference}: another reference? ({_tail(message)})"
                ) from None
            if "could not parse" in message.lower() or "failed to read" in message.lower():
                raise InputFileError(vcf, f"not a readable VCF/BCF ({_tail(message)})") from None
            raise ToolError(f"bcftools norm failed on {vcf}: {_tail(message)}") from None
        try:
            pysam.bcftools.index(
                "-c" if csi else "-t", "-o", str(tmp_index), str(tmp), catch_stdout=False
            )
        except pysam.utils.SamtoolsError as exc:
            if "unsorted" in str(exc).lower() or "not sorted" in str(exc).lower():
                raise InputFileError(
                    vcf, "records are not sorted; sort it with `bcftools sort`"
                ) from None
            raise ToolError(f"bcftools index failed on {vcf}: {_tail(str(exc))}") from None
    remove_stale_index(out, csi)
    return out


def _tail(message: str, n: int = 400) -> str:
    message = " ".join(message.split())
    return message if len(message) <= n else "..." + message[-n:]


def _variant_class(ref: str, alt: str) -> str:
    if len(ref) == 1 and len(alt) == 1:
        return "snp"
    if len(ref) != len(alt):
        return "indel"
    return "other"


def _read_variants(
    path: Path, source: Path, *, ploidy: int, pass_only: bool
) -> tuple[list[str], dict[Key, np.ndarray]]:
    """Sample names and, for each variant allele carried (or listed, without samples), the dosages."""
    out: dict[Key, np.ndarray] = {}
    with pysam.VariantFile(str(path)) as vf:
        samples = list(vf.header.samples)
        for rec in vf:
            if not rec.alts or rec.alts[0] in ("*", ".") or rec.alts[0].startswith("<"):
                continue
            if pass_only and not set(rec.filter.keys()) <= {"PASS"}:
                continue
            dosage = np.full(len(samples), -1, dtype=np.int16)
            for i, call in enumerate(rec.samples.values()):
                gt = call.get("GT")
                if not gt or None in gt:
                    continue
                if len(gt) > ploidy:
                    raise InputFileError(
                        source,
                        f"sample {samples[i]} has {len(gt)} alleles but ploidy is {ploidy}",
                        record=f"{rec.chrom}:{rec.pos}",
                    )
                dosage[i] = sum(a == 1 for a in gt)
            if samples and not (dosage > 0).any():
                continue
            assert rec.ref is not None  # a record with ALT alleles has a REF
            key = (rec.chrom, rec.pos, rec.ref.upper(), rec.alts[0].upper())
            out.setdefault(key, dosage)
    return samples, out


def compare_to_truth(
    calls: str | os.PathLike[str],
    truth: str | os.PathLike[str],
    reference: str | os.PathLike[str],
    *,
    ploidy: int,
    pass_only: bool = True,
) -> Comparison:
    """Precision, recall and genotype concordance of ``calls`` against ``truth``.

    Both files are normalised (:func:`normalise_vcf`). A variant is a
    (contig, position, REF, ALT) allele carried by at least one sample (any
    record counts in a file without samples). True positives are in both
    files, false positives in the calls only, false negatives in the truth
    only; SNPs, indels and other variants (MNPs, complex) are counted apart.
    At true positives each sample present in both files (matched by name)
    has its called alternate-allele dosage compared with the true one; a
    missing call is discordant. For ploidy above 2 this is the exact dosage
    concordance of polyploid genotyping studies [1]_ [2]_.

    Parameters
    ----------
    calls, truth
        VCF or BCF files, sorted.
    reference
        The FASTA both are described against.
    ploidy
        Homologues per sample; genotypes may not have more alleles.
    pass_only
        Ignore records with a FILTER other than PASS or missing.

    Returns
    -------
    Comparison
        Counts and concordances; ``to_dict()`` gives JSON-ready numbers.

    Raises
    ------
    InputFileError
        If a file is unreadable, described against another reference, or
        has a genotype with more alleles than ``ploidy``.
    TypeError, ValueError
        If ``ploidy`` is not a positive integer.

    References
    ----------
    .. [1] Gerard D, Ferrão LFV, Garcia AAF, Stephens M (2018). Genotyping
       polyploids from messy sequencing data. Genetics 210(3):789-807.
    .. [2] Clark LV, Lipka AE, Sacks EJ (2019). polyRAD: genotype calling
       with uncertainty from sequencing data in polyploids and diploids.
       G3 9(3):663-673.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "ref.fa").write_text(">c\\nGCAAAATGCATTGCA\\n")
    >>> head = ("##fileformat=VCFv4.2\\n##contig=<ID=c>\\n"
    ...         '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\\n'
    ...         "#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\tFORMAT\\tx\\n")
    >>> _ = (d / "truth.vcf").write_text(head + "c\\t2\\t.\\tCA\\tC\\t.\\t.\\t.\\tGT\\t0/1\\n"
    ...                                  "c\\t9\\t.\\tC\\tT\\t.\\t.\\t.\\tGT\\t1/1\\n")
    >>> _ = (d / "calls.vcf").write_text(head + "c\\t5\\t.\\tAA\\tA\\t.\\t.\\t.\\tGT\\t0/1\\n"
    ...                                  "c\\t12\\t.\\tT\\tG\\t.\\t.\\t.\\tGT\\t0/1\\n")
    >>> r = compare_to_truth(d / "calls.vcf", d / "truth.vcf", d / "ref.fa", ploidy=2).to_dict()
    >>> r["indel_tp"], r["snp_fp"], r["snp_fn"], r["genotype_concordance"]
    (1, 1, 1, 1.0)
    """
    if isinstance(ploidy, bool) or not isinstance(ploidy, (int, np.integer)):
        raise TypeError(f"ploidy must be a positive integer, not {ploidy!r}")
    if ploidy < 1:
        raise ValueError(f"ploidy must be a positive integer, not {ploidy}")
    calls, truth, reference = Path(calls), Path(truth), Path(reference)
    for path in (calls, truth):
        if not path.is_file():
            raise InputFileError(path, "no such VCF")
    workdir = tempfile.mkdtemp(prefix="breedhub-compare-")
    try:
        norm_calls = normalise_vcf(calls, reference, Path(workdir) / "calls.vcf.gz")
        norm_truth = normalise_vcf(truth, reference, Path(workdir) / "truth.vcf.gz")
        call_samples, called = _read_variants(
            norm_calls, calls, ploidy=int(ploidy), pass_only=pass_only
        )
        truth_samples, true = _read_variants(
            norm_truth, truth, ploidy=int(ploidy), pass_only=pass_only
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    common = [s for s in truth_samples if s in set(call_samples)]
    ti = np.array([truth_samples.index(s) for s in common], dtype=np.int64)
    ci = np.array([call_samples.index(s) for s in common], dtype=np.int64)
    tally = {c: [0, 0, 0] for c in _CLASSES}
    genotypes = {c: [0, 0] for c in _CLASSES}
    for key, true_dosage in true.items():
        cls = _variant_class(key[2], key[3])
        if key not in called:
            tally[cls][2] += 1
            continue
        tally[cls][0] += 1
        if common:
            t, c = true_dosage[ti], called[key][ci]
            known = t >= 0
            genotypes[cls][0] += int(known.sum())
            genotypes[cls][1] += int((known & (c == t)).sum())
    for key in called.keys() - true.keys():
        tally[_variant_class(key[2], key[3])][1] += 1
    return Comparison(
        ploidy=int(ploidy),
        counts={c: ClassCounts(*tally[c]) for c in _CLASSES},
        genotypes={c: (g[0], g[1]) for c, g in genotypes.items()},
        samples=tuple(common),
    )
