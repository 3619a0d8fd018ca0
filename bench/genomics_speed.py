#!/usr/bin/env python
"""Speed of each genomics stage against the raw tool on the same inputs, in the same run.

1. **align**: ours = ``genomics.align.align_reads`` (mappy + samtools through
   pysam: fixmate, sort, markdup, index) on one sample's paired reads.
   Reference = the minimap2 binary (Debian's package) piped into the same
   samtools steps: ``minimap2 -ax sr -t T | samtools fixmate -m | samtools
   sort | samtools markdup`` + ``samtools index``. Goal: ratio <= 1.10.
2. **call**: ours = ``genomics.call.call_variants`` on the BAMs of several
   samples with one thread. Reference = ``bcftools mpileup | bcftools call
   -mv`` run directly (one process each, as a user would). Goal: ratio <= 1.10.
   Scatter: ours with 2 threads; ``speedup = t(1 thread) / t(2 threads)``,
   goal close to 2 on 2 cores.
3. **vcf_to_hdf5**: ours = ``genomics.store.vcf_to_store`` on a diploid VCF of
   200 samples x 100,000 SNPs; reference = ``allel.vcf_to_hdf5`` with its
   defaults. Variants/s and peak RSS of each, every run in a fresh subprocess;
   flat memory is checked by running ours on a VCF a quarter the size too
   (peak RSS should barely change). Goal: ratio <= 1.0.

Prints a table and writes ``bench/results/genomics_speed.json``.

    python bench/genomics_speed.py            # full size
    python bench/genomics_speed.py --quick    # small inputs, a minute or two
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

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

CHILD = r"""
import json, sys, time
kind, src, dst = sys.argv[1:4]
t0 = time.perf_counter()
if kind == "ours":
    from breedhub.genomics.store_vcf import vcf_to_store
    vcf_to_store(src, dst, ploidy=2)
else:
    import allel
    allel.vcf_to_hdf5(src, dst, fields=["samples", "variants/CHROM", "variants/POS", "variants/ID",
                      "variants/REF", "variants/ALT", "variants/QUAL", "calldata/GT"], overwrite=True)
dt_ = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent that forked us.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": dt_, "peak_rss_mb": hwm / 1024}))
"""


def timed(cmd: list[str] | str, **kw: Any) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t0


def best_of(fn: Any, reps: int) -> float:
    return min(fn() for _ in range(reps))


def bench_align(work: Path, threads: int, depth: float, length: int, reps: int) -> dict[str, Any]:
    from breedhub.genomics.align import align_reads
    from breedhub.genomics.reference import index_reference
    from breedhub.genomics.simulate import simulate_dataset

    ds = simulate_dataset(
        work / "sim", ploidy=2, n_samples=2, depth=depth, n_contigs=3, contig_length=length, seed=3
    )
    ref = index_reference(ds.reference)
    rs = ds.read_sets[0]
    n_pairs = sum(1 for _ in _lines(rs.fastq1)) // 4

    def ours() -> float:
        t0 = time.perf_counter()
        align_reads(
            ds.reference,
            [(rs.fastq1, rs.fastq2)],
            work / "ours.bam",
            sample=rs.sample,
            threads=threads,
        )
        return time.perf_counter() - t0

    def raw() -> float:
        t = str(threads)
        out = work / "raw.bam"
        pipe = (
            f"minimap2 -ax sr -t {t} -R '@RG\\tID:{rs.sample}\\tSM:{rs.sample}' {ref.mmi} {rs.fastq1} {rs.fastq2} 2>/dev/null"
            f" | samtools fixmate -m -@ {t} - - | samtools sort -@ {t} -o - - 2>/dev/null"
            f" | samtools markdup -@ {t} - {out} && samtools index -@ {t} {out}"
        )
        return timed(["bash", "-o", "pipefail", "-c", pipe])

    have = shutil.which("minimap2") and shutil.which("samtools")
    t_ours = best_of(ours, reps)
    out: dict[str, Any] = {
        "read_pairs": n_pairs,
        "threads": threads,
        "ours_s": t_ours,
        "ours_pairs_per_s": n_pairs / t_ours,
    }
    if have:
        t_raw = best_of(raw, reps)
        out.update(
            raw_s=t_raw,
            raw_tool="minimap2 -ax sr | samtools fixmate/sort/markdup/index",
            ratio=t_ours / t_raw,
        )
    return out


def _lines(path: Path):  # type: ignore[no-untyped-def]
    import gzip

    with gzip.open(path, "rt") as fh:
        yield from fh


def bench_call(work: Path, n_samples: int, depth: float, length: int, reps: int) -> dict[str, Any]:
    from breedhub.genomics.align import align_reads
    from breedhub.genomics.call import call_variants
    from breedhub.genomics.reference import index_reference
    from breedhub.genomics.simulate import simulate_dataset

    ds = simulate_dataset(
        work / "sim",
        ploidy=2,
        n_samples=n_samples,
        depth=depth,
        n_contigs=4,
        contig_length=length,
        seed=4,
    )
    index_reference(ds.reference)
    bams = []
    for rs in ds.read_sets:
        bam = work / f"{rs.sample}.bam"
        align_reads(ds.reference, [(rs.fastq1, rs.fastq2)], bam, sample=rs.sample, threads=2)
        bams.append(bam)

    def ours(threads: int) -> float:
        t0 = time.perf_counter()
        call_variants(bams, ds.reference, work / f"ours{threads}.vcf.gz", ploidy=2, threads=threads)
        return time.perf_counter() - t0

    def raw() -> float:
        b = " ".join(map(str, bams))
        pipe = (
            f"bcftools mpileup --per-sample-mF -a FORMAT/AD,FORMAT/DP -f {ds.reference} {b} -Ou 2>/dev/null"
            f" | bcftools call -mv -Oz -o {work / 'raw.vcf.gz'} && bcftools index -t {work / 'raw.vcf.gz'}"
        )
        return timed(["bash", "-o", "pipefail", "-c", pipe])

    t1 = best_of(lambda: ours(1), reps)
    t2 = best_of(lambda: ours(2), reps)
    out: dict[str, Any] = {
        "samples": n_samples,
        "genome_bp": 4 * length,
        "ours_1_thread_s": t1,
        "ours_2_threads_s": t2,
        "scatter_speedup": t1 / t2,
    }
    if shutil.which("bcftools"):
        t_raw = best_of(raw, reps)
        out.update(
            raw_s=t_raw, raw_tool="bcftools mpileup | bcftools call -mv (binary)", ratio=t1 / t_raw
        )
    return out


def write_vcf(path: Path, n_samples: int, n_variants: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    codes = np.array(["0/0", "0/1", "1/1", "./."])
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000000000>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t")
        fh.write("\t".join(f"S{i:04d}" for i in range(n_samples)) + "\n")
        pos = np.sort(rng.choice(np.arange(1, 100 * n_variants), n_variants, replace=False))
        step = 5000
        for a in range(0, n_variants, step):
            b = min(a + step, n_variants)
            p = rng.uniform(0.05, 0.95, size=(b - a, 1))
            g = rng.binomial(2, p, size=(b - a, n_samples))
            g[rng.random(g.shape) < 0.02] = 3
            cells = codes[g]
            lines = [
                f"chr1\t{pos[i]}\t.\tA\tG\t50\tPASS\t.\tGT\t" + "\t".join(cells[i - a])
                for i in range(a, b)
            ]
            fh.write("\n".join(lines) + "\n")


def run_child(kind: str, src: Path, dst: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(src), str(dst)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_store(work: Path, n_samples: int, n_variants: int, reps: int) -> dict[str, Any]:
    big = work / "big.vcf"
    small = work / "small.vcf"
    write_vcf(big, n_samples, n_variants)
    write_vcf(small, n_samples, n_variants // 4, seed=1)
    ours = min(
        (run_child("ours", big, work / "ours.h5") for _ in range(reps)), key=lambda r: r["seconds"]
    )
    allel_ = min(
        (run_child("allel", big, work / "allel.h5") for _ in range(reps)),
        key=lambda r: r["seconds"],
    )
    ours_small = run_child("ours", small, work / "ours_small.h5")
    return {
        "samples": n_samples,
        "variants": n_variants,
        "ours_s": ours["seconds"],
        "ours_variants_per_s": n_variants / ours["seconds"],
        "ours_peak_rss_mb": ours["peak_rss_mb"],
        "ours_peak_rss_mb_quarter_size": ours_small["peak_rss_mb"],
        "allel_s": allel_["seconds"],
        "allel_variants_per_s": n_variants / allel_["seconds"],
        "allel_peak_rss_mb": allel_["peak_rss_mb"],
        "ratio": ours["seconds"] / allel_["seconds"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma-separated stages to skip: align,call,store")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--out", type=Path, default=Path("bench/results/genomics_speed.json"))
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_genomics_speed_"))
    skip = set(filter(None, args.skip.split(",")))
    res: dict[str, Any] = {}
    if "align" not in skip:
        print("[align] ...", flush=True)
        (work / "align").mkdir(parents=True, exist_ok=True)
        res["align"] = bench_align(
            work / "align", args.threads, 30.0, 100_000 if args.quick else 500_000, args.reps
        )
    if "call" not in skip:
        print("[call] ...", flush=True)
        (work / "call").mkdir(parents=True, exist_ok=True)
        res["call"] = bench_call(
            work / "call",
            4 if args.quick else 10,
            15.0,
            100_000 if args.quick else 250_000,
            args.reps,
        )
    if "store" not in skip:
        print("[vcf_to_hdf5] ...", flush=True)
        (work / "store").mkdir(parents=True, exist_ok=True)
        res["vcf_to_hdf5"] = bench_store(
            work / "store", 200, 10_000 if args.quick else 100_000, args.reps
        )
    print()
    print(f"{'stage':<12} {'ours s':>9} {'raw s':>9} {'ratio':>7}  notes")
    if "align" in res:
        a = res["align"]
        print(
            f"{'align':<12} {a['ours_s']:>9.2f} {a.get('raw_s', float('nan')):>9.2f} {a.get('ratio', float('nan')):>7.3f}  {a['read_pairs']:,} pairs, {a['threads']} threads"
        )
    if "call" in res:
        c = res["call"]
        print(
            f"{'call':<12} {c['ours_1_thread_s']:>9.2f} {c.get('raw_s', float('nan')):>9.2f} {c.get('ratio', float('nan')):>7.3f}  scatter speedup on 2 threads {c['scatter_speedup']:.2f}"
        )
    if "vcf_to_hdf5" in res:
        s = res["vcf_to_hdf5"]
        print(
            f"{'vcf_to_hdf5':<12} {s['ours_s']:>9.2f} {s['allel_s']:>9.2f} {s['ratio']:>7.3f}  "
            f"peak RSS {s['ours_peak_rss_mb']:.0f} MB (quarter size {s['ours_peak_rss_mb_quarter_size']:.0f} MB) vs allel {s['allel_peak_rss_mb']:.0f} MB"
        )
    if skip and args.out.exists():  # keep the stages this run skipped from the last full run
        old = json.loads(args.out.read_text())
        res = {**{k: old[k] for k in ("align", "call", "vcf_to_hdf5") if k in old}, **res}
    doc = {
        "benchmark": "genomics_speed",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "quick": args.quick,
        "goals": {
            "align_ratio": 1.10,
            "call_ratio": 1.10,
            "scatter_speedup": 2.0,
            "vcf_to_hdf5_ratio": 1.0,
        },
        **res,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
