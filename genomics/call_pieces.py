"""The work of one piece of the genome, done in a worker process: bcftools calling, or a pileup of read counts genotyped by the dosage model and written as VCF text."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pysam
import pysam.bcftools

from breedhub.genomics.call_dosage import _CHUNK_CELLS, DosageCalls, genotype_dosages
from breedhub.genomics.exceptions import ToolError

_MIN_ALT_READS = 3  # candidate: the best alternate allele has this many reads in all...
_MIN_ALT_FRACTION = 0.02  # ...and this fraction of all reads, or of a sample's reads...
_MIN_SAMPLE_ALT_READS = 2  # ...where that sample has this many alternate reads
_MIN_QUAL = 20.0  # dosage caller: emit sites with QUAL at least this


# --------------------------------------------------------------------------
# Inputs of call_variants
# --------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class _Region:
    """A 1-based, inclusive stretch of one contig; orders by contig index."""

    index: int
    start: int
    end: int
    contig: str

    def __str__(self) -> str:
        name = f"{{{self.contig}}}" if ":" in self.contig else self.contig
        return f"{name}:{self.start}-{self.end}"


# --------------------------------------------------------------------------
# Work done in the worker processes
# --------------------------------------------------------------------------


def _bcftools(command: str, *args: str) -> None:
    """Run one bcftools command in-process; its output goes to its ``-o`` file."""
    try:
        getattr(pysam.bcftools, command)(*args, catch_stdout=False)
    except pysam.utils.SamtoolsError as exc:
        raise ToolError(f"bcftools {command} {' '.join(args)} failed: {exc}") from None


@dataclass(frozen=True)
class _Job:
    """What a worker needs to call one region."""

    region: _Region
    bams: tuple[str, ...]
    reference: str
    workdir: str
    ploidy: int
    min_mapq: int
    min_baseq: int
    max_depth: int

    @property
    def stem(self) -> str:
        return os.path.join(self.workdir, f"{self.region.index:06d}-{self.region.start:012d}")

    def mpileup(self, out: str, annotations: str) -> None:
        _bcftools(
            "mpileup",
            "-f", self.reference,
            "-r", str(self.region),
            "-a", annotations,
            "-q", str(self.min_mapq),
            "-Q", str(self.min_baseq),
            "-d", str(self.max_depth),
            # -m/-F per sample: an indel carried by one line of a panel is a
            # candidate (pooled, bcftools missed 1 in 9 such indels at 15x).
            "--per-sample-mF",
            "-Ou", "-o", out,
            *self.bams,
        )  # fmt: skip


def _bcftools_piece(job: _Job) -> str:
    """mpileup and call -m on one region; return the BCF."""
    pileup, out = job.stem + ".pileup.bcf", job.stem + ".bcf"
    job.mpileup(pileup, "FORMAT/AD,FORMAT/DP")
    ploidy = ("--ploidy", "1") if job.ploidy == 1 else ()
    _bcftools("call", "-m", "-v", "-a", "GQ", *ploidy, "-Ob", "-o", out, pileup)
    os.unlink(pileup)
    return out


def _trim_alleles(ref: str, alt: str) -> tuple[str, str]:
    """Drop the common suffix that picking one of several indel alleles can leave."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    return ref, alt


def _is_candidate(reads: np.ndarray, alt_reads: np.ndarray) -> bool:
    """Enough support for an alternate allele: reads and alternate reads of each sample.

    At least ``_MIN_ALT_READS`` alternate reads in all, and either at least
    ``_MIN_ALT_FRACTION`` of all reads, or a sample with at least
    ``_MIN_SAMPLE_ALT_READS`` alternate reads making that fraction of its
    reads (so a rare allele, in one sample of many, is still a candidate).
    """
    total = int(alt_reads.sum())
    if total < _MIN_ALT_READS:
        return False
    if total >= _MIN_ALT_FRACTION * int(reads.sum()):
        return True
    carrier = (alt_reads >= _MIN_SAMPLE_ALT_READS) & (alt_reads >= _MIN_ALT_FRACTION * reads)
    return bool(carrier.any())


def _pileup_piece(job: _Job) -> tuple[str, int, list[str]]:
    """Candidate sites of one region with biallelic depths, saved as .npz; (path, sites, samples)."""
    pileup, candidates = job.stem + ".pileup.bcf", job.stem + ".candidates.bcf"
    table, out = job.stem + ".txt", job.stem + ".npz"
    job.mpileup(pileup, "FORMAT/AD,FORMAT/DP,INFO/AD")
    quiet = pysam.set_verbosity(0)  # htslib would complain that the BCF has no index
    try:
        with pysam.VariantFile(pileup) as vf:
            samples = list(vf.header.samples)
    finally:
        pysam.set_verbosity(quiet)
    n = len(samples)
    # A cheap first cut in bcftools; the exact rule (on the best alternate allele) follows.
    alt_reads = "SUM(INFO/AD)-INFO/AD[0]"
    _bcftools(
        "view",
        "-i", f"{alt_reads} >= {_MIN_ALT_READS} && ({alt_reads} >= {_MIN_ALT_FRACTION}*SUM(INFO/AD)"
              f" || FMT/AD[:1] >= {_MIN_SAMPLE_ALT_READS})",
        "-Ou", "-o", candidates,
        pileup,
    )  # fmt: skip
    os.unlink(pileup)
    _bcftools("query", "-f", "%POS\t%REF\t%ALT[\t%AD][\t%DP]\n", "-o", table, candidates)
    os.unlink(candidates)
    pos, refs, alts, ref_depth, alt_depth, depth = [], [], [], [], [], []
    with open(table) as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            alleles = fields[2].split(",")
            ad = np.array(",".join(fields[3 : 3 + n]).replace(".", "0").split(","), dtype=np.int64)
            ad = ad.reshape(n, len(alleles) + 1)
            usable = np.array([not (a == "*" or a.startswith("<")) for a in alleles])
            totals = np.where(usable, ad[:, 1:].sum(axis=0), -1)
            best = int(totals.argmax())
            if not _is_candidate(ad[:, 0] + ad[:, 1:].sum(axis=1), ad[:, best + 1]):
                continue
            r, a = _trim_alleles(fields[1], alleles[best])
            pos.append(int(fields[0]))
            refs.append(r)
            alts.append(a)
            ref_depth.append(ad[:, 0])
            alt_depth.append(ad[:, best + 1])
            depth.append([int(x) if x != "." else 0 for x in fields[3 + n : 3 + 2 * n]])
    os.unlink(table)
    shape = (len(pos), n)
    np.savez(
        out,
        pos=np.array(pos, dtype=np.int64),
        ref=np.array(refs, dtype=str),
        alt=np.array(alts, dtype=str),
        ref_depth=np.array(ref_depth, dtype=np.int32).reshape(shape),
        alt_depth=np.array(alt_depth, dtype=np.int32).reshape(shape),
        depth=np.array(depth, dtype=np.int32).reshape(shape),
    )
    return out, len(pos), samples


def _site_hash(contig_index: int, pos: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random number in [0, 1) for each site, the same whatever the regions."""
    x = pos.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(contig_index + 1)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


def _dosage_header(samples: list[str], contigs: dict[str, int], reference: str, ploidy: int) -> str:
    lines = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        f"##reference=file://{os.path.abspath(reference)}",
        *(f"##contig=<ID={c},length={n}>" for c, n in contigs.items()),
        '##INFO=<ID=INDEL,Number=0,Type=Flag,Description="The variant is an indel">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Reference and alternate reads over all samples">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Alternate alleles in called genotypes">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Alleles in called genotypes">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency of the fitted dosage prior">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype: the most probable dosage, unphased">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Reads supporting the reference and the alternate allele">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Raw read depth (bcftools mpileup)">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Phred probability that the dosage is wrong, at most 99">',
        f'##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled likelihood of dosage 0..{ploidy} (beta-binomial read model)">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    return "\n".join(lines) + "\n"


def _join(*columns: np.ndarray, sep: str) -> np.ndarray:
    out = columns[0]
    for c in columns[1:]:
        out = np.char.add(np.char.add(out, sep), c)
    return out


def _format_samples(
    calls: DosageCalls, ref: np.ndarray, alt: np.ndarray, depth: np.ndarray
) -> np.ndarray:
    """(sites, samples) 'GT:AD:DP:GQ:PL' strings."""
    m = calls.ploidy
    table = np.array(
        ["/".join("." * m)] + ["/".join("0" * (m - d) + "1" * d) for d in range(m + 1)]
    )
    gt = table[calls.dosage.astype(np.int64) + 1]
    ll = calls.log_likelihood
    pl = np.round(-10 / np.log(10) * (ll - ll.max(axis=2, keepdims=True))).astype(np.int64)
    pl_text = _join(*(pl[..., k].astype(str) for k in range(m + 1)), sep=",")
    missing = calls.dosage < 0
    pl_text = np.where(missing, ".", pl_text)
    gq = np.where(missing, ".", calls.gq.astype(str))
    ad = _join(ref.astype(str), alt.astype(str), sep=",")
    return _join(gt, ad, depth.astype(str), gq, pl_text, sep=":")


def _write_dosage_records(
    fh: Any,
    job: _Job,
    params: dict[str, Any],
    *,
    pos: np.ndarray,
    ref: np.ndarray,
    alt: np.ndarray,
    ref_depth: np.ndarray,
    alt_depth: np.ndarray,
    depth: np.ndarray,
) -> None:
    """Genotype candidate sites and write those with a carrier and QUAL >= 20."""
    calls = genotype_dosages(
        ref_depth,
        alt_depth,
        ploidy=job.ploidy,
        error=params["error"],
        overdispersion=params["overdispersion"],
        prior=params["prior"],
    )
    rows = np.flatnonzero((calls.dosage > 0).any(axis=1) & (calls.qual >= _MIN_QUAL))
    if rows.size == 0:
        return
    sub = DosageCalls(
        dosage=calls.dosage[rows],
        gq=calls.gq[rows],
        posterior=calls.posterior[rows],
        allele_frequency=calls.allele_frequency[rows],
        overdispersion=calls.overdispersion,
        error=calls.error,
        prior=calls.prior[rows],
        qual=calls.qual[rows],
        log_likelihood=calls.log_likelihood[rows],
    )
    cells = _format_samples(sub, ref_depth[rows], alt_depth[rows], depth[rows])
    called = sub.dosage >= 0
    ac = np.where(called, sub.dosage, 0).sum(axis=1)
    an = called.sum(axis=1) * job.ploidy
    dp = (ref_depth[rows] + alt_depth[rows]).sum(axis=1)
    for j, i in enumerate(rows):
        r, a = str(ref[i]), str(alt[i])
        info = f"DP={dp[j]};AC={ac[j]};AN={an[j]};AF={sub.allele_frequency[j]:.4g}"
        if len(r) != len(a):
            info = "INDEL;" + info
        fh.write(
            f"{job.region.contig}\t{pos[i]}\t.\t{r}\t{a}\t{sub.qual[j]:.2f}\t.\t"
            f"{info}\tGT:AD:DP:GQ:PL\t" + "\t".join(cells[j]) + "\n"
        )


def _dosage_piece(job: _Job, npz: str, samples: list[str], params: dict[str, Any]) -> str:
    """Genotype one region's candidates with the shared parameters; write its VCF."""
    out = job.stem + ".vcf"
    with np.load(npz) as stored:
        data = {name: stored[name] for name in stored.files}
    n_sites = data["pos"].size
    with open(out, "w") as fh:
        fh.write(_dosage_header(samples, params["contigs"], job.reference, job.ploidy))
        step = max(1, _CHUNK_CELLS // max(len(samples), 1))
        for lo in range(0, n_sites, step):  # sites are independent given the parameters
            part = {name: values[lo : lo + step] for name, values in data.items()}
            _write_dosage_records(fh, job, params, **part)
    return out
