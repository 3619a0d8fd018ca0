"""Inputs of the workflows, small enough to run end to end in a test (reused by the Slurm test).

- ``simulated_reads``: one simulated sequencing data set per session
  (4 diploid samples, 2 contigs x 20 kb, 10x), read-only;
- ``variants_setup``: a data directory whose database knows the samples'
  accessions (rice), and a variants config + sample sheet for them; returns the config;
- ``predict_setup``: a data directory with 40 simulated rice accessions, their
  trial phenotypes and a registered genotype dataset; returns a predict config.

Both rest on the ``home`` fixture, so they run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

VARIANTS_NAME = "rice-sim"
INSTCODE = "BHT001"
OTHER_SPECIES_ACCESSION = f"{INSTCODE}:BN-001"  # a rapeseed accession, for bad sheets
PREDICT_TRAITS = ["GrainYield_t_ha", "PlantHeight_cm"]


@pytest.fixture(scope="session")
def simulated_reads(tmp_path_factory):
    """A simulated reference, truth and paired reads of 4 diploid samples (do not modify)."""
    from breedhub.genomics.simulate import simulate_dataset

    out = tmp_path_factory.mktemp("reads")
    return simulate_dataset(
        out, ploidy=2, n_samples=4, depth=10, n_contigs=2, contig_length=20_000, seed=11
    )


def accession_of(sample: str) -> str:
    """The accession the fixtures give a simulated sample."""
    return f"{INSTCODE}:{sample}"


def write_passports(path: Path, samples: list[str]) -> Path:
    """An MCPD file: one rice accession per sample, plus one rapeseed accession."""
    rows = ["INSTCODE,ACCENUMB,GENUS,SPECIES,ACCENAME"]
    rows += [f"{INSTCODE},{s},Oryza,sativa,Line {s}" for s in samples]
    rows.append(f"{INSTCODE},BN-001,Brassica,napus,Zhongshuang 11")
    path.write_text("\n".join(rows) + "\n")
    return path


def write_sample_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    """A TSV sample sheet with the standard columns."""
    columns = ["sample", "accession", "species", "fastq1", "fastq2", "library", "platform"]
    lines = ["\t".join(columns)] + ["\t".join(r.get(c, "") for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def sheet_rows(dataset) -> list[dict[str, str]]:
    """The sample sheet rows of a simulated data set, each sample with its accession."""
    return [
        {
            "sample": r.sample,
            "accession": accession_of(r.sample),
            "species": "rice",
            "fastq1": str(r.fastq1),
            "fastq2": str(r.fastq2 or ""),
            "library": f"lib-{r.sample}",
            "platform": "ILLUMINA",
        }  # fmt: skip
        for r in dataset.read_sets
    ]


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def stocked_home(home, engine, registry, simulated_reads, tmp_path):
    """``home`` whose database holds an accession for each simulated sample (and a rapeseed one)."""
    from breedhub.germplasm.passport import import_passport

    passports = write_passports(tmp_path / "passport.csv", simulated_reads.samples)
    import_passport(engine, passports, registry=registry)
    return home


@pytest.fixture
def variants_setup(stocked_home, simulated_reads, tmp_path) -> Path:
    """The config of a variants run on the simulated reads (4 regions of 10 kb)."""
    folder = tmp_path / "variants-input"
    folder.mkdir()
    write_sample_sheet(folder / "samples.tsv", sheet_rows(simulated_reads))
    config = {
        "workflow": "variants",
        "name": VARIANTS_NAME,
        "species": "rice",
        "reference": str(simulated_reads.reference),
        "samples": "samples.tsv",  # relative to the config file
        "region_size": 10_000,
        "threads": 1,
        "filter": {"min_qual": 20, "min_maf": 0.05},
        "mem_mb": {"align_reads": 2000},
    }
    return write_config(folder / "variants.yaml", config)


@pytest.fixture
def predict_setup(home, engine, registry, variables, tmp_path) -> Path:
    """40 rice accessions with one trial's phenotypes and a registered genotype dataset."""
    from breedhub.genomics.simulate import gene_drop
    from breedhub.genomics.store import write_genotype_store
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.institutes import upsert_institutes
    from breedhub.germplasm.passport import import_passport
    from breedhub.germplasm.phenotypes import import_observations
    from breedhub.germplasm.queries import species_accession_ids
    from breedhub.germplasm.simulate import simulate_germplasm
    from breedhub.germplasm.tabular import write_table
    from breedhub.pipelines.register import register_genotype_dataset

    species = registry["rice"]
    sim = simulate_germplasm(species, variables, n_accessions=40, n_trials=1, n_reps=2, seed=4)
    folder = tmp_path / "predict-input"
    folder.mkdir()
    write_table(sim.passport, folder / "passport.csv")
    write_table(sim.observations, folder / "observations.csv")
    upsert_institutes(engine, sim.institutes.iter_rows())
    import_passport(engine, folder / "passport.csv", registry=registry)
    import_observations(engine, folder / "observations.csv")

    ped = sim.pedigree
    keys = [f"{i}:{a}" for i, a in zip(ped["INSTCODE"], ped["ACCENUMB"], strict=True)]

    def parent(inst: str, p: str | None) -> str | None:
        return None if not p else (p if ":" in p else f"{inst}:{p}")

    geno = gene_drop(
        keys,
        [parent(i, p) for i, p in zip(ped["INSTCODE"], ped["FEMALE_PARENT"], strict=True)],
        [parent(i, p) for i, p in zip(ped["INSTCODE"], ped["MALE_PARENT"], strict=True)],
        ploidy=2, n_markers=400, n_chromosomes=4, genome_size_mb=40.0,
        cross_types=ped["CROSS_TYPE"].to_list(), generations=ped["GENERATION"].to_list(), seed=4,
    )  # fmt: skip
    with transaction(engine) as s:
        ids = species_accession_ids(s, "rice")
    samples = [f"{k}:DNA1" for k in keys]
    path = home / "genotypes" / "rice-gbs.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_genotype_store(
        path, samples=samples, chrom=geno.chrom, pos=geno.pos_bp, gt=geno.genotype_calls,
        species="rice", reference="test",
    )  # fmt: skip
    register_genotype_dataset(
        engine, name="rice-gbs", species="rice", path=str(path), ploidy=2, n_variants=400,
        samples=[(s, ids[tuple(k.split(":", 1))]) for s, k in zip(samples, keys, strict=True)],
    )  # fmt: skip
    trials = sorted(set(sim.observations["trial"].to_list()))
    config = {
        "workflow": "predict",
        "name": "rice-gebv",
        "genotype_dataset": "rice-gbs",
        "trials": trials,
        "traits": PREDICT_TRAITS,
        "methods": ["gblup", "rrblup"],
        "select": "best",
        "folds": 4,
        "seed": 1,
    }
    assert np.isfinite(geno.dosages).all()
    return write_config(folder / "predict.yaml", config)
