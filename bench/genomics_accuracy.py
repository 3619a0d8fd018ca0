#!/usr/bin/env python
"""Variant-calling accuracy of the genomics chain on simulated data with a truth VCF.

Two cases, each simulated with ``genomics.simulate.simulate_dataset`` (seeded;
msprime founders and their progeny, Illumina-like paired 150 bp reads):

1. **diploid**: 20 samples at 15x. Ours = ``align_reads`` (mappy) for every
   sample, then ``call_variants`` (bcftools through pysam, scattered by
   region). Reference = bcftools run directly on the same BAMs
   (``bcftools mpileup -a AD,DP -f ref BAMs | bcftools call -mv``).
   Goals: SNP F1 >= 0.995, indel F1 >= 0.97, genotype concordance >= 0.99.
2. **hexaploid**: 12 samples at 60x. Ours = ``call_variants(caller="dosage")``
   (bcftools cannot genotype ploidy > 2). Reference = ``freebayes --ploidy 6``
   on the same BAMs when freebayes is installed. Goal: exact dosage
   concordance at true SNP sites >= 0.92, and better than freebayes.

Both sides are scored by ``genomics.evaluate.compare_to_truth``, after
``bcftools norm -m -any -f ref`` of calls and truth. Prints a table and
writes ``bench/results/genomics_accuracy.json``.

    python bench/genomics_accuracy.py            # full size
    python bench/genomics_accuracy.py --quick    # smaller genome and fewer samples
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Keep this script's own folder off the import path (bench/ holds scripts named like packages).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from breedhub.genomics.align import align_reads  # noqa: E402
from breedhub.genomics.call import call_variants  # noqa: E402
from breedhub.genomics.evaluate import compare_to_truth  # noqa: E402
from breedhub.genomics.reference import index_reference  # noqa: E402
from breedhub.genomics.simulate import simulate_dataset  # noqa: E402

KEYS = [
    "snp_precision",
    "snp_recall",
    "snp_f1",
    "indel_precision",
    "indel_recall",
    "indel_f1",
    "genotype_concordance",
    "genotype_concordance_snp",
]


def align_all(ds: Any, work: Path, threads: int) -> tuple[list[Path], float]:
    t0 = time.perf_counter()
    bams = []
    for rs in ds.read_sets:
        bam = work / "bam" / f"{rs.sample}.bam"
        reads = [(rs.fastq1, rs.fastq2)]
        align_reads(ds.reference, reads, bam, sample=rs.sample, threads=threads)
        bams.append(bam)
    return bams, time.perf_counter() - t0


def bcftools_direct(ref: Path, bams: list[Path], out: Path, ploidy: int) -> Path:
    """bcftools mpileup | call, as a user would run it (binary if installed, else pysam)."""
    exe = shutil.which("bcftools")
    mp = ["mpileup", "-a", "FORMAT/AD,FORMAT/DP", "-f", str(ref), *map(str, bams), "-Ou"]
    cl = ["call", "-mv", "-Oz", "-o", str(out)] + (["--ploidy", "1"] if ploidy == 1 else [])
    if exe:
        p1 = subprocess.Popen([exe, *mp], stdout=subprocess.PIPE)
        subprocess.run([exe, *cl, "-"], stdin=p1.stdout, check=True)
        p1.wait()
    else:
        import pysam.bcftools

        tmp = out.with_suffix(".mpileup.bcf")
        pysam.bcftools.mpileup(*mp[:-1], "-Ob", "-o", str(tmp), catch_stdout=False)
        pysam.bcftools.call(*cl, str(tmp), catch_stdout=False)
    return out


def freebayes_direct(
    ref: Path, bams: list[Path], out: Path, ploidy: int, timeout: int
) -> Path | None:
    exe = shutil.which("freebayes")
    if not exe:
        return None
    raw = out.with_suffix("")
    with open(raw, "w") as fh:
        try:
            subprocess.run(
                [exe, "-f", str(ref), "--ploidy", str(ploidy), *map(str, bams)],
                stdout=fh,
                check=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None
    import pysam

    pysam.tabix_compress(str(raw), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def run_case(
    name: str,
    *,
    ploidy: int,
    n_samples: int,
    depth: float,
    n_contigs: int,
    length: int,
    threads: int,
    work: Path,
    seed: int,
    freebayes_timeout: int,
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds = simulate_dataset(
        work / "sim",
        ploidy=ploidy,
        n_samples=n_samples,
        depth=depth,
        n_contigs=n_contigs,
        contig_length=length,
        seed=seed,
    )
    t_sim = time.perf_counter() - t0
    index_reference(ds.reference)
    bams, t_align = align_all(ds, work, threads)
    t0 = time.perf_counter()
    ours_vcf = call_variants(
        bams, ds.reference, work / "ours.vcf.gz", ploidy=ploidy, threads=threads
    )
    t_call = time.perf_counter() - t0
    ours = compare_to_truth(ours_vcf, ds.truth_vcf, ds.reference, ploidy=ploidy).to_dict()
    out: dict[str, Any] = {
        "ploidy": ploidy,
        "samples": n_samples,
        "depth": depth,
        "genome_bp": n_contigs * length,
        "true_variants": int(len(ds.population.pos)),
        "seconds": {"simulate": t_sim, "align": t_align, "call": t_call},
        "ours": ours,
    }
    t0 = time.perf_counter()
    if ploidy <= 2:
        ref_vcf = bcftools_direct(ds.reference, bams, work / "bcftools.vcf.gz", ploidy)
        out["reference_tool"] = "bcftools mpileup | bcftools call -mv"
    else:
        ref_vcf = freebayes_direct(
            ds.reference, bams, work / "freebayes.vcf.gz", ploidy, freebayes_timeout
        )
        out["reference_tool"] = (
            f"freebayes --ploidy {ploidy}" if ref_vcf else "freebayes: not installed or timed out"
        )
    out["seconds"]["reference_tool"] = time.perf_counter() - t0
    if ref_vcf:
        out["reference"] = compare_to_truth(
            ref_vcf, ds.truth_vcf, ds.reference, ploidy=ploidy
        ).to_dict()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--out", type=Path, default=Path("bench/results/genomics_accuracy.json"))
    ap.add_argument("--freebayes-timeout", type=int, default=3600)
    ap.add_argument("--skip", default="", help="comma-separated cases to skip: diploid,hexaploid")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_genomics_acc_"))
    length = 100_000 if args.quick else 300_000
    cases = {
        "diploid": dict(ploidy=2, n_samples=8 if args.quick else 20, depth=15.0),
        "hexaploid": dict(ploidy=6, n_samples=6 if args.quick else 12, depth=60.0),
    }
    results: dict[str, Any] = {}
    for name, kw in cases.items():
        if name in args.skip.split(","):
            continue
        print(f"[{name}] simulating, aligning and calling...", flush=True)
        results[name] = run_case(
            name,
            n_contigs=3,
            length=length,
            threads=args.threads,
            work=work / name,
            seed=args.seed,
            freebayes_timeout=args.freebayes_timeout,
            **kw,
        )
    print()
    print(f"{'case':<10} {'caller':<42} " + " ".join(f"{k[:14]:>14}" for k in KEYS))
    for name, r in results.items():
        for who, label in (("ours", "breedhub"), ("reference", r.get("reference_tool", ""))):
            if who in r:
                vals = " ".join(f"{r[who].get(k, float('nan')):>14.4f}" for k in KEYS)
                print(f"{name:<10} {label[:42]:<42} {vals}")
    summary: dict[str, Any] = {}
    if "diploid" in results:
        d = results["diploid"]["ours"]
        summary.update(
            snp_f1=d["snp_f1"],
            indel_f1=d["indel_f1"],
            genotype_concordance=d["genotype_concordance"],
        )
    if "hexaploid" in results:
        h = results["hexaploid"]
        summary["hexaploid_dosage_concordance"] = h["ours"]["genotype_concordance_snp"]
        if "reference" in h:
            summary["freebayes_hexaploid_dosage_concordance"] = h["reference"][
                "genotype_concordance_snp"
            ]
    goals = {
        "snp_f1": 0.995,
        "indel_f1": 0.97,
        "genotype_concordance": 0.99,
        "hexaploid_dosage_concordance": 0.92,
    }
    print()
    for k, goal in goals.items():
        if k in summary:
            print(
                f"{k:<32} {summary[k]:.4f}  goal >= {goal}  {'met' if summary[k] >= goal else 'NOT met'}"
            )
    doc = {
        "benchmark": "genomics_accuracy",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "quick": args.quick,
        **summary,
        "goals": goals,
        "cases": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
