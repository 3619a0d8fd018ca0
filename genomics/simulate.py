"""Seeded simulation of genotypes, genomes and reads, part of the product (STYLE.md, item 8).

Two simulators, their stages each in a module of its own; this module runs them
together (:func:`simulate_dataset`) and is their public face.

**Pedigree genotypes.** :func:`gene_drop` (:mod:`genomics.simulate_pedigree`) passes marker haplotypes down a
pedigree for any ploidy: founders are mosaics of a small pool of ancestral
haplotypes (so markers are in linkage disequilibrium and allele frequencies
are U-shaped), and each gamete takes ploidy/2 recombinant chromatids, one from
each of ploidy/2 random bivalents of its parent's homologues (polysomic
inheritance without double reduction; disomic for diploids). Crossovers follow
Haldane's model. Cross types change how an offspring is made: CLONAL copies
its parent, SELF and DOUBLE_HAPLOID use one parent, and inbred lines
(generation F3 or later, or BC..F3 or later) are selfed to near homozygosity
from the F1.

**Sequencing data with known truth.** :func:`simulate_reference` (:mod:`genomics.simulate_reference`) writes a
random genome (with a given GC content, a few microsatellites and homopolymer
runs, one short gap of N per contig); :func:`simulate_population` (:mod:`genomics.simulate_population`) puts
coalescent founders (msprime, so the allele-frequency spectrum and the
linkage disequilibrium are realistic) on it, with SNPs and short indels, and
makes progeny by meiosis; :func:`write_truth_vcf` writes their genotypes;
:func:`simulate_reads` (:mod:`genomics.simulate_reads`) sequences every sample (paired-end Illumina-like reads
whose base qualities are honest: each base is wrong with probability
10^(-Q/10)). :func:`simulate_dataset` does all of it in one call, for the
benchmarks, the tests, the command line and the demo.

Everything is seeded: the same arguments give the same files, byte for byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breedhub.base.checks import check_int, check_path, check_ploidy
from breedhub.base.files import atomic_output
from breedhub.genomics.simulate_pedigree import GenotypeSimulation, gene_drop
from breedhub.genomics.simulate_population import (
    SimulatedPopulation,
    simulate_population,
    write_truth_vcf,
)
from breedhub.genomics.simulate_reads import ReadSet, simulate_reads
from breedhub.genomics.simulate_reference import simulate_reference

__all__ = [
    "GenotypeSimulation",
    "ReadSet",
    "SimulatedDataset",
    "SimulatedPopulation",
    "gene_drop",
    "simulate_dataset",
    "simulate_population",
    "simulate_reads",
    "simulate_reference",
    "write_truth_vcf",
]


@dataclass
class SimulatedDataset:
    """What :func:`simulate_dataset` wrote, and the truth behind it."""

    out_dir: Path
    reference: Path
    truth_vcf: Path
    reads_dir: Path
    sample_sheet: Path
    population: SimulatedPopulation
    read_sets: list[ReadSet]

    @property
    def ploidy(self) -> int:
        return self.population.ploidy

    @property
    def samples(self) -> list[str]:
        return self.population.samples


_REFERENCE_OPTIONS = ("gc",)
_POPULATION_OPTIONS = (
    "population_size",
    "mutation_rate",
    "recombination_rate",
    "indel_fraction",
    "max_indel",
)
_READ_OPTIONS = ("read_length", "insert_mean", "insert_sd", "paired")


def simulate_dataset(
    out_dir: str | os.PathLike[str],
    *,
    ploidy: int,
    n_samples: int = 20,
    depth: float = 15.0,
    n_contigs: int = 3,
    contig_length: int = 200_000,
    seed: int = 0,
    **options: Any,
) -> SimulatedDataset:
    """Write a complete sequencing data set with known truth, in one call.

    ``out_dir`` gets ``reference.fa`` (and ``.fai``), ``truth.vcf.gz`` (and
    ``.tbi``), the reads under ``reads/`` and ``samples.tsv`` (columns
    sample, fastq1, fastq2, absolute paths; fastq2 empty for single-end).
    About a third of the samples are founders, the rest their progeny.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).
    ploidy
        1 or an even number.
    n_samples, depth, n_contigs, contig_length, seed
        Samples in all, read depth per sample, and the genome's shape.
    **options
        Passed on: ``gc`` to :func:`simulate_reference`; ``population_size``,
        ``mutation_rate``, ``recombination_rate``, ``indel_fraction``,
        ``max_indel`` to :func:`simulate_population`; ``read_length``,
        ``insert_mean``, ``insert_sd``, ``paired`` to :func:`simulate_reads`.

    Returns
    -------
    SimulatedDataset

    Examples
    --------
    >>> import tempfile
    >>> ds = simulate_dataset(tempfile.mkdtemp(), ploidy=4, n_samples=3, depth=2,
    ...                       n_contigs=1, contig_length=10_000, read_length=100)
    >>> ds.samples, ds.population.mothers, ds.read_sets[0].fastq1.name
    (['S001', 'S002', 'S003'], [None, 'S001', 'S001'], 'S001_R1.fastq.gz')
    >>> ds.sample_sheet.read_text().splitlines()[0].split()
    ['sample', 'fastq1', 'fastq2']
    """
    out_dir = check_path("out_dir", out_dir)
    ploidy = check_ploidy(ploidy, even=True)
    n_samples = check_int("n_samples", n_samples, minimum=2 if ploidy == 1 else 1)
    unknown = sorted(set(options) - {*_REFERENCE_OPTIONS, *_POPULATION_OPTIONS, *_READ_OPTIONS})
    if unknown:
        raise TypeError(
            f"simulate_dataset() got unexpected options {unknown}; it passes on "
            f"{sorted({*_REFERENCE_OPTIONS, *_POPULATION_OPTIONS, *_READ_OPTIONS})}"
        )
    n_founders = min(n_samples, max(2 if ploidy == 1 else 1, round(n_samples / 3)))

    out_dir.mkdir(parents=True, exist_ok=True)
    reference = simulate_reference(
        out_dir / "reference.fa",
        n_contigs=n_contigs,
        contig_length=contig_length,
        seed=seed,
        **{k: v for k, v in options.items() if k in _REFERENCE_OPTIONS},
    )
    population = simulate_population(
        reference,
        ploidy=ploidy,
        n_founders=n_founders,
        n_progeny=n_samples - n_founders,
        seed=seed,
        **{k: v for k, v in options.items() if k in _POPULATION_OPTIONS},
    )
    truth = write_truth_vcf(population, reference, out_dir / "truth.vcf.gz")
    reads_dir = out_dir / "reads"
    read_sets = simulate_reads(
        reference,
        population,
        reads_dir,
        depth=depth,
        seed=seed,
        **{k: v for k, v in options.items() if k in _READ_OPTIONS},
    )
    sheet = out_dir / "samples.tsv"
    with atomic_output(sheet) as tmp:
        rows = ["sample\tfastq1\tfastq2"] + [
            f"{r.sample}\t{r.fastq1.resolve()}\t{r.fastq2.resolve() if r.fastq2 else ''}"
            for r in read_sets
        ]
        tmp.write_text("\n".join(rows) + "\n")
    return SimulatedDataset(out_dir, reference, truth, reads_dir, sheet, population, read_sets)
