"""``breedhub genomics``: one command a stage, from reads to the genotype store.

Every command reads files and writes files (``genomics`` never touches the
database). Ploidy comes from the species registry (``--species``); ``--ploidy``
overrides it, e.g. for haploid or doubled-haploid material.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from breedhub.cli.common import emit_json, json_option, species_ploidy, user_errors

PATH = click.Path(dir_okay=False, path_type=Path)
EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def genomics() -> None:
    """Reads to genotypes: simulate, index, align, call, filter, impute, store, stats."""


def resolve_ploidy(species: str | None, ploidy: int | None) -> tuple[int, str]:
    """Ploidy and species key from ``--species`` and ``--ploidy``; one of them is required."""
    k, key = species_ploidy(species, ploidy)
    if k is None:
        raise click.UsageError("give --species (its ploidy comes from the registry) or --ploidy")
    return k, key


species_option = click.option(
    "--species", help="Species key or name from the registry (gives the ploidy)."
)
ploidy_option = click.option(
    "--ploidy", type=int, help="Homologues per sample; overrides the species' ploidy."
)
threads_option = click.option("--threads", "-t", default=1, show_default=True, type=int)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _report(obj: Any, as_json: bool, text: str) -> None:
    if as_json:
        emit_json(json.loads(json.dumps(_plain(obj), default=str)))
    else:
        click.echo(text)


@genomics.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@species_option
@ploidy_option
@click.option("--samples", "n_samples", default=20, show_default=True, type=int)
@click.option("--depth", default=15.0, show_default=True, type=float, help="Read depth per sample.")
@click.option("--contigs", "n_contigs", default=3, show_default=True, type=int)
@click.option("--contig-length", default=200_000, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@json_option
@user_errors
def simulate(
    out_dir: Path,
    species: str | None,
    ploidy: int | None,
    n_samples: int,
    depth: float,
    n_contigs: int,
    contig_length: int,
    seed: int,
    as_json: bool,
) -> None:
    """Simulate a reference, a population with its truth VCF, and paired reads."""
    from breedhub.genomics.simulate import simulate_dataset

    k, _ = resolve_ploidy(species, ploidy)
    ds = simulate_dataset(
        out_dir,
        ploidy=k,
        n_samples=n_samples,
        depth=depth,
        n_contigs=n_contigs,
        contig_length=contig_length,
        seed=seed,
    )
    summary = {
        "reference": ds.reference,
        "truth_vcf": ds.truth_vcf,
        "sample_sheet": ds.sample_sheet,
        "ploidy": k,
        "samples": len(ds.read_sets),
        "variants": int(len(ds.population.pos)),
    }
    _report(
        summary,
        as_json,
        f"{out_dir}: reference {ds.reference.name}, {summary['variants']} true variants, "
        f"{summary['samples']} samples at {depth:g}x (ploidy {k}); sample sheet {ds.sample_sheet}",
    )


@genomics.command()
@click.argument("reference", type=EXISTING)
@click.option(
    "--aligner",
    "aligners",
    multiple=True,
    type=click.Choice(["minimap2", "bwa"]),
    default=("minimap2",),
    show_default=True,
    help="Build this aligner's index (repeatable).",
)
@json_option
@user_errors
def index(reference: Path, aligners: tuple[str, ...], as_json: bool) -> None:
    """Check a FASTA and index it (faidx and the aligners' indexes)."""
    from breedhub.genomics.reference import index_reference

    ref = index_reference(reference, aligners=aligners)
    total = sum(c.length for c in ref.contigs)
    _report(
        {"reference": ref.path, "contigs": len(ref.contigs), "length": total, "aligners": aligners},
        as_json,
        f"{reference}: {len(ref.contigs)} contigs, {total:,} bp; indexed for {', '.join(aligners)}",
    )


@genomics.command()
@click.argument("reference", type=EXISTING)
@click.option(
    "--r1",
    "r1",
    multiple=True,
    required=True,
    type=EXISTING,
    help="FASTQ(.gz), read 1 (repeat per lane).",
)
@click.option("--r2", "r2", multiple=True, type=EXISTING, help="FASTQ(.gz), read 2 (one per --r1).")
@click.option("--sample", required=True, help="Sample name (the read group's SM).")
@click.option("--library", help="Library name (LB); default: the sample name.")
@click.option("--platform", default="ILLUMINA", show_default=True)
@click.option(
    "--aligner", type=click.Choice(["minimap2", "bwa"]), default="minimap2", show_default=True
)
@click.option("--no-markdup", is_flag=True, help="Do not mark duplicates.")
@click.option("-o", "--output", required=True, type=PATH, help="Output BAM.")
@threads_option
@json_option
@user_errors
def align(
    reference: Path,
    r1: tuple[Path, ...],
    r2: tuple[Path, ...],
    sample: str,
    library: str | None,
    platform: str,
    aligner: str,
    no_markdup: bool,
    output: Path,
    threads: int,
    as_json: bool,
) -> None:
    """Align one sample's reads to a sorted, indexed, duplicate-marked BAM."""
    from breedhub.genomics.align import align_reads

    if r2 and len(r2) != len(r1):
        raise click.BadParameter(f"{len(r1)} --r1 but {len(r2)} --r2: give one --r2 per --r1")
    reads = list(zip(r1, r2, strict=True)) if r2 else [(f, None) for f in r1]
    stats = align_reads(
        reference,
        reads,
        output,
        sample=sample,
        library=library,
        platform=platform,
        aligner=aligner,
        threads=threads,
        mark_duplicates=not no_markdup,
    )
    _report(
        stats,
        as_json,
        f"{output}: {stats.reads:,} reads, {stats.mapped_pct:.2f}% mapped, "
        f"{stats.properly_paired_pct:.2f}% properly paired, {stats.duplicates_pct:.2f}% duplicates, "
        f"mean depth {stats.mean_depth:.1f}",
    )


@genomics.command()
@click.argument("reference", type=EXISTING)
@click.argument("bams", nargs=-1, required=True, type=EXISTING)
@species_option
@ploidy_option
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="chr:start-end to call (repeatable); default: whole genome, scattered.",
)
@click.option(
    "--caller",
    type=click.Choice(["auto", "bcftools", "dosage"]),
    default="auto",
    show_default=True,
    help="auto: bcftools for ploidy 1-2, our dosage genotyper above.",
)
@click.option("-o", "--output", required=True, type=PATH, help="Output VCF (.vcf.gz).")
@threads_option
@json_option
@user_errors
def call(
    reference: Path,
    bams: tuple[Path, ...],
    species: str | None,
    ploidy: int | None,
    regions: tuple[str, ...],
    caller: str,
    output: Path,
    threads: int,
    as_json: bool,
) -> None:
    """Call variants jointly across BAMs, scattered by region."""
    from breedhub.genomics.call import call_variants

    k, _ = resolve_ploidy(species, ploidy)
    out = call_variants(
        list(bams),
        reference,
        output,
        ploidy=k,
        regions=list(regions) or None,
        threads=threads,
        caller=caller,
    )
    n = _count_records(out)
    _report(
        {"vcf": out, "variants": n, "ploidy": k}, as_json, f"{out}: {n:,} variants (ploidy {k})"
    )


@genomics.command()
@click.argument("parts", nargs=-1, required=True, type=EXISTING)
@click.option("-o", "--output", required=True, type=PATH, help="Output VCF (.vcf.gz).")
@json_option
@user_errors
def gather(parts: tuple[Path, ...], output: Path, as_json: bool) -> None:
    """Concatenate per-region VCFs (from `call --region`), in genome order, into one."""
    from breedhub.genomics.call import gather_vcfs

    out = gather_vcfs(list(parts), output)
    n = _count_records(out)
    _report(
        {"vcf": out, "variants": n, "parts": len(parts)},
        as_json,
        f"{out}: {n:,} variants from {len(parts)} parts",
    )


def _count_records(vcf: Path) -> int:
    import pysam

    with pysam.VariantFile(str(vcf)) as f:
        return sum(1 for _ in f.fetch())


@genomics.command(name="filter")
@click.argument("vcf", type=EXISTING)
@species_option
@ploidy_option
@click.option("--min-qual", default=20.0, show_default=True, type=float)
@click.option("--min-depth", type=float, help="Minimum mean depth per variant.")
@click.option("--max-depth", type=float, help="Maximum mean depth per variant.")
@click.option("--min-call-rate", default=0.9, show_default=True, type=float)
@click.option("--min-maf", default=0.01, show_default=True, type=float)
@click.option(
    "--hwe-p",
    default=1e-6,
    show_default=True,
    type=float,
    help="Hardy-Weinberg p-value floor (diploids only); 0 turns it off.",
)
@click.option("--max-sample-missing", default=0.2, show_default=True, type=float)
@click.option("--report-html", type=PATH, help="QC report page; default: beside the output.")
@click.option("-o", "--output", required=True, type=PATH, help="Filtered VCF (.vcf.gz).")
@json_option
@user_errors
def filter_(
    vcf: Path,
    species: str | None,
    ploidy: int | None,
    min_qual: float,
    min_depth: float | None,
    max_depth: float | None,
    min_call_rate: float,
    min_maf: float,
    hwe_p: float,
    max_sample_missing: float,
    report_html: Path | None,
    output: Path,
    as_json: bool,
) -> None:
    """Filter variants and samples; write a QC report (JSON and HTML)."""
    from breedhub.genomics.qc import filter_vcf

    k, _ = resolve_ploidy(species, ploidy)
    stem = _stem(output)
    report = filter_vcf(
        vcf,
        output,
        ploidy=k,
        min_qual=min_qual,
        min_depth=min_depth,
        max_depth=max_depth,
        min_call_rate=min_call_rate,
        min_maf=min_maf,
        hwe_p=hwe_p,
        max_sample_missing=max_sample_missing,
        report_json=output.with_name(f"{stem}.qc.json"),
        report_html=report_html or output.with_name(f"{stem}.qc.html"),
    )
    d = report.to_dict()
    _report(d, as_json, f"{output}: {_qc_line(d)}")


def _qc_line(d: dict[str, Any]) -> str:
    removed = {k: v for k, v in d["variants_removed"].items() if v and k != "total"}
    why = ", ".join(f"{k} {v}" for k, v in removed.items()) or "none"
    return (
        f"kept {d['n_variants_kept']:,} of {d['n_variants_in']:,} variants (removed: {why}) "
        f"and {len(d['samples_kept'])} of {d['n_samples_in']} samples"
    )


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".vcf.gz", ".vcf", ".bcf", ".h5"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


@genomics.command()
@click.argument("vcf", type=EXISTING)
@species_option
@ploidy_option
@click.option(
    "--method",
    type=click.Choice(["auto", "ldknni", "frequency", "beagle"]),
    default="auto",
    show_default=True,
)
@click.option("-o", "--output", required=True, type=PATH, help="Imputed VCF (.vcf.gz).")
@threads_option
@click.option("--seed", default=0, show_default=True, type=int)
@json_option
@user_errors
def impute(
    vcf: Path,
    species: str | None,
    ploidy: int | None,
    method: str,
    output: Path,
    threads: int,
    seed: int,
    as_json: bool,
) -> None:
    """Fill missing genotypes; report accuracy on masked known genotypes."""
    from breedhub.genomics.impute import impute_vcf

    k, _ = resolve_ploidy(species, ploidy)
    report = impute_vcf(
        vcf,
        output,
        ploidy=k,
        method=method,
        threads=threads,
        seed=seed,
        report_json=output.with_name(f"{_stem(output)}.impute.json"),
    )
    d = _plain(report)
    _report(d, as_json, f"{output}: {json.dumps(d, default=str)}")


@genomics.command()
@click.argument("vcf", type=EXISTING)
@species_option
@ploidy_option
@click.option("--reference-name", default="", help="Reference genome to record in the store.")
@click.option("-o", "--output", required=True, type=PATH, help="HDF5 genotype store (.h5).")
@json_option
@user_errors
def store(
    vcf: Path,
    species: str | None,
    ploidy: int | None,
    reference_name: str,
    output: Path,
    as_json: bool,
) -> None:
    """Load a VCF/BCF into the HDF5 genotype store, streamed in chunks."""
    from breedhub.genomics.store_vcf import vcf_to_store

    k, key = resolve_ploidy(species, ploidy)
    summary = vcf_to_store(vcf, output, ploidy=k, species=key, reference=reference_name)
    _report(
        summary,
        as_json,
        f"{output}: {summary.n_samples} samples x {summary.n_variants:,} variants (ploidy {k})",
    )


@genomics.command()
@click.argument("h5", type=EXISTING)
@click.option("--vcf", type=PATH, help="Write a bgzipped VCF.")
@click.option(
    "--plink",
    type=click.Path(path_type=Path),
    help="Write PLINK .bed/.bim/.fam with this prefix (ploidy 1-2).",
)
@json_option
@user_errors
def export(h5: Path, vcf: Path | None, plink: Path | None, as_json: bool) -> None:
    """Export a genotype store to VCF or PLINK."""
    from breedhub.genomics.store_export import store_to_plink, store_to_vcf

    if not vcf and not plink:
        raise click.UsageError("give --vcf FILE and/or --plink PREFIX")
    written = []
    if vcf:
        written.append(str(store_to_vcf(h5, vcf)))
    if plink:
        written.append(str(store_to_plink(h5, plink)))
    _report({"written": written}, as_json, "\n".join(written))


@genomics.command()
@click.argument("genotypes", type=EXISTING)
@ploidy_option
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path)
)
@json_option
@user_errors
def stats(genotypes: Path, ploidy: int | None, out_dir: Path, as_json: bool) -> None:
    """Population statistics and plots: allele frequencies, heterozygosity, PCA, LD decay."""
    from breedhub.genomics.popgen_report import population_report

    result = population_report(genotypes, out_dir, ploidy=ploidy)
    _report(result, as_json, f"{out_dir}: popgen.json and plots written")


@genomics.command()
@click.argument("calls", type=EXISTING)
@click.argument("truth", type=EXISTING)
@click.argument("reference", type=EXISTING)
@species_option
@ploidy_option
@json_option
@user_errors
def evaluate(
    calls: Path,
    truth: Path,
    reference: Path,
    species: str | None,
    ploidy: int | None,
    as_json: bool,
) -> None:
    """Score calls against a truth VCF: precision, recall, F1, genotype concordance."""
    from breedhub.genomics.evaluate import compare_to_truth

    k, _ = resolve_ploidy(species, ploidy)
    d = compare_to_truth(calls, truth, reference, ploidy=k).to_dict()
    text = "\n".join(f"{key}: {val}" for key, val in d.items())
    _report(d, as_json, text)
