"""Genotypes and genomic predictions for the demo data directory.

For each species: drop marker genotypes down the demo pedigree
(:func:`breedhub.genomics.simulate.gene_drop`, ploidy from the registry),
write the HDF5 genotype store and register it, then fit GBLUP for every
numerical trait on the accessions' phenotype means through the one
fit-and-publish path (:func:`breedhub.pipelines.publish.fit_and_publish`),
which cross-validates it and registers the GEBVs, reliabilities and ranks as
a model run. The same steps the predict workflow runs, at demo size.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from breedhub.base.provenance import provenance
from breedhub.genomics.simulate import gene_drop
from breedhub.genomics.store import write_genotype_store
from breedhub.germplasm.db import transaction
from breedhub.germplasm.queries import species_accession_ids
from breedhub.germplasm.species import Species
from breedhub.pipelines.publish import fit_and_publish
from breedhub.pipelines.register import register_genotype_dataset


def genotype_and_predict(
    engine: Engine,
    home: Path,
    species: Species,
    pedigree: pl.DataFrame,
    *,
    n_markers: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Simulate, store and register genotypes for a species' demo accessions, then GBLUP every trait.

    Parameters
    ----------
    pedigree
        The demo pedigree (INSTCODE, ACCENUMB, FEMALE_PARENT, MALE_PARENT,
        CROSS_TYPE, GENERATION), parents before offspring.

    Returns
    -------
    dict
        Dataset id, model-run id, and per trait h2 and cross-validated r.
    """
    start = time.perf_counter()
    with transaction(engine) as s:
        ids = species_accession_ids(s, species.key)

    def ref(inst: str, parent: str) -> str | None:
        if not parent:
            return None
        return parent if ":" in parent else f"{inst}:{parent}"

    rows = pedigree.iter_rows(named=True)
    keys, mothers, fathers, ctypes, gens = [], [], [], [], []
    for r in rows:
        keys.append(f"{r['INSTCODE']}:{r['ACCENUMB']}")
        mothers.append(ref(r["INSTCODE"], r["FEMALE_PARENT"]))
        fathers.append(ref(r["INSTCODE"], r["MALE_PARENT"]))
        ctypes.append(r["CROSS_TYPE"])
        gens.append(r["GENERATION"])
    n_chrom = max(1, species.chromosome_number // species.ploidy)
    sim = gene_drop(
        keys, mothers, fathers, ploidy=species.ploidy, n_markers=n_markers, n_chromosomes=n_chrom,
        genome_size_mb=species.genome_size_mb, cross_types=ctypes, generations=gens, seed=seed,
    )  # fmt: skip
    acc_ids = [ids[tuple(k.split(":", 1))] for k in keys]  # type: ignore[index]
    sample_names = [f"{k}:DNA1" for k in keys]
    path = home / "genotypes" / f"{species.key}-demo.h5"
    write_genotype_store(
        path, samples=sample_names, chrom=sim.chrom, pos=sim.pos_bp, gt=sim.genotype_calls,
        species=species.key, reference=species.reference_assembly.name,
        provenance={"simulated": "breedhub.genomics.simulate.gene_drop", "seed": seed, "markers": n_markers},
    )  # fmt: skip
    dataset_id = register_genotype_dataset(
        engine, name=f"{species.key}-demo", species=species.key, path=str(path), ploidy=species.ploidy,
        samples=list(zip(sample_names, acc_ids, strict=True)), n_variants=n_markers,
        reference=species.reference_assembly.name,
        provenance=provenance("breedhub.pipelines.demo.genotype_and_predict", inputs=[path],
                              parameters={"seed": seed, "markers": n_markers}, species=species.key).to_dict(),
    )  # fmt: skip

    run = fit_and_publish(
        engine, dataset=f"{species.key}-demo", name=f"GBLUP {species.common_name_en} (demo)",
        method="gblup", cv_folds=5, seed=seed, parameters={"relationship": "VanRaden G"},
    )  # fmt: skip
    metrics = {
        trait: {"h2": round(t["h2"], 4), "cv_mean_r": round(t["cv_mean_r"], 4),
                "n_phenotyped": t["n_phenotyped"]}
        for trait, t in run["traits"].items()
    }  # fmt: skip
    return {"dataset_id": dataset_id, "model_run_id": run["model_run_id"], "traits": metrics,
            "seconds": time.perf_counter() - start}  # fmt: skip
