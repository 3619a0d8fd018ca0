#!/usr/bin/env python
"""The variants workflow end to end, locally, and the share of its wall time that is Snakemake's.

Simulates (not timed) a diploid population with
``genomics.simulate.simulate_dataset`` (50 samples at 10x over a 5 Mb genome
by default), imports an accession per sample into a fresh SQLite data
directory, writes the config and sample sheet, then times
``pipelines.runner.run_workflow("variants", ..., cores=N)``: validation,
Snakemake's DAG, every rule (index, align per sample, call per region,
gather, filter, impute, store, register) and the job record.

Per-rule times come from the benchmark files every rule writes (``s``, the
job's wall time). Each job's interval is [file mtime - s, file mtime]; the
union of those intervals is the time some job was running. **Snakemake's
overhead** is the rest of the wall time, when no job ran at all: parsing the
Snakefile, building the DAG, scheduling, waiting between a job's end and
the next start (goal: under 5%). Time inside a job (the ``breedhub``
command's own start-up included) counts as the job's, not Snakemake's.
Idle cores while a single job runs (the serial tail after gathering) are
reported apart as ``mean_busy_cores``.

Prints a table and writes ``bench/results/pipeline.json``.

    python bench/pipeline.py                  # 50 samples, 10x, 5 Mb, 2 cores
    python bench/pipeline.py --quick          # 8 samples over 1 Mb
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import yaml  # noqa: E402


def job_intervals(workdir: Path) -> list[tuple[str, float, float, float]]:
    """(rule, start, end, threads-weighted seconds) of every job, from its benchmark file."""
    out = []
    for tsv in (workdir / "benchmarks").rglob("*.tsv"):
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        seconds = float(row["s"])
        end = tsv.stat().st_mtime
        rule = tsv.relative_to(workdir / "benchmarks").parts[0]
        out.append((rule, end - seconds, end, seconds))
    return out


def union_length(intervals: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for a, b in sorted(intervals):
        if cur_end is None or a > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start  # type: ignore[operator]
            cur_start, cur_end = a, b
        else:
            cur_end = max(cur_end, b)
    if cur_end is not None:
        total += cur_end - cur_start  # type: ignore[operator]
    return total


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=int)
    ap.add_argument("--depth", type=float, default=10.0)
    ap.add_argument("--genome-mb", type=float)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--out", type=Path, default=Path("bench/results/pipeline.json"))
    args = ap.parse_args()
    n_samples = args.samples or (8 if args.quick else 50)
    genome_mb = args.genome_mb or (1.0 if args.quick else 5.0)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    work.mkdir(parents=True, exist_ok=True)

    from breedhub.genomics.simulate import simulate_dataset
    from breedhub.germplasm import default_registry, init_database, load_traits, make_engine
    from breedhub.germplasm.passport import import_passport
    from breedhub.pipelines.runner import run_workflow

    print(
        f"simulating {n_samples} samples at {args.depth:g}x over {genome_mb:g} Mb ...", flush=True
    )
    t0 = time.perf_counter()
    ds = simulate_dataset(
        work / "sim", ploidy=2, n_samples=n_samples, depth=args.depth,
        n_contigs=5, contig_length=int(genome_mb * 1e6 / 5), seed=args.seed,
    )  # fmt: skip
    t_sim = time.perf_counter() - t0

    home = work / "home"
    home.mkdir(exist_ok=True)
    engine = make_engine(f"sqlite:///{home / 'breedhub.sqlite'}")
    registry = default_registry()
    init_database(engine, registry, load_traits(registry))
    passports = work / "passport.csv"
    passports.write_text(
        "INSTCODE,ACCENUMB,GENUS,SPECIES\n"
        + "".join(f"BEN001,{s},Oryza,sativa\n" for s in ds.samples)
    )
    import_passport(engine, passports, registry=registry)
    sheet = work / "samples.tsv"
    sheet.write_text(
        "sample\taccession\tspecies\tfastq1\tfastq2\n"
        + "".join(
            f"{r.sample}\tBEN001:{r.sample}\trice\t{r.fastq1}\t{r.fastq2}\n" for r in ds.read_sets
        )
    )
    config = work / "variants.yaml"
    config.write_text(yaml.safe_dump({
        "workflow": "variants", "name": "bench", "species": "rice",
        "reference": str(ds.reference), "samples": str(sheet), "threads": 1,
        "region_size": 1_000_000,
    }, sort_keys=False))  # fmt: skip

    os.environ["BREEDHUB_HOME"] = str(home)
    print("running the variants workflow ...", flush=True)
    t0 = time.perf_counter()
    result = run_workflow("variants", config, engine=engine, home=home, cores=args.cores)
    wall = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"workflow failed (rc {result.returncode}); see {result.workdir}")

    jobs = job_intervals(Path(result.workdir))
    busy = union_length([(a, b) for _, a, b, _ in jobs])
    per_rule: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0})
    for rule, _, _, s in jobs:
        per_rule[rule]["jobs"] += 1
        per_rule[rule]["seconds"] += s
    job_seconds = sum(s for *_, s in jobs)
    overhead = wall - busy

    print()
    print(f"{'rule':<22} {'jobs':>5} {'job-seconds':>12} {'share':>7}")
    for rule, r in sorted(per_rule.items(), key=lambda kv: -kv[1]["seconds"]):
        print(
            f"{rule:<22} {int(r['jobs']):>5} {r['seconds']:>12.1f} {r['seconds'] / job_seconds:>7.1%}"
        )
    print()
    print(f"wall time                {wall:8.1f} s  ({n_samples} samples, {args.cores} cores)")
    print(f"some job running         {busy:8.1f} s")
    print(
        f"Snakemake overhead       {overhead:8.1f} s  = {overhead / wall:.1%} of wall time (goal < 5%)"
    )
    print(f"mean busy cores          {job_seconds / wall:8.2f}")

    doc: dict[str, Any] = {
        "benchmark": "pipeline",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "samples": n_samples,
        "depth": args.depth,
        "genome_mb": genome_mb,
        "cores": args.cores,
        "simulate_seconds": t_sim,
        "wall_seconds": wall,
        "busy_seconds": busy,
        "snakemake_overhead_seconds": overhead,
        "snakemake_overhead_share": overhead / wall,
        "mean_busy_cores": job_seconds / wall,
        "goal_overhead_share": 0.05,
        "per_rule": dict(per_rule),
        "jobs": len(jobs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
