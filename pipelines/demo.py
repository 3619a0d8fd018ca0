"""Genotypes and genomic predictions for the demo data directory.

For each species: drop marker genotypes down the demo pedigree
(:func:`genomics.simulate.gene_drop`, ploidy from the registry), write the
HDF5 genotype store, register it, then for each numerical trait fit GBLUP on
the accessions' phenotype means, cross-validate it, and register the GEBVs,
reliabilities and ranks as a model run. The same steps the predict workflow
runs, at demo size.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, select

from breedhub.genomics.simulate import gene_drop
from breedhub.genomics.store import write_genotype_store
from breedhub.germplasm.db import transaction
from breedhub.germplasm.models import (
    Accession,
    Institute,
    ObservationVariable,
    SpeciesRow,
    TraitSummary,
)
from breedhub.germplasm.species import Species
from breedhub.pipelines.register import (
    TraitPredictions,
    register_genotype_dataset,
    register_model_run,
)
from breedhub.predict.cv import cross_validate
from breedhub.predict.gblup import kernel_blup
from breedhub.predict.relationship import genomic_relationship


def _accession_ids(engine: Engine, species: str) -> dict[tuple[str, str], int]:
    with transaction(engine) as s:
        rows = s.execute(
            select(Institute.code, Accession.accenumb, Accession.id)
            .join(Institute, Institute.id == Accession.institute_id)
            .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
            .where(SpeciesRow.key == species)
        ).all()
    return {(i, a): acc for i, a, acc in rows}


def _trait_means(engine: Engine, accession_ids: list[int]) -> dict[str, dict[int, float]]:
    """Each accession's mean of each numerical trait, from the summaries the import keeps."""
    with transaction(engine) as s:
        rows = s.execute(
            select(ObservationVariable.name, TraitSummary.accession_id, TraitSummary.mean)
            .join(ObservationVariable, ObservationVariable.id == TraitSummary.variable_id)
            .where(
                TraitSummary.accession_id.in_(accession_ids),
                ObservationVariable.data_type == "numerical",
            )
        ).all()
    out: dict[str, dict[int, float]] = {}
    for var, acc, mean in rows:
        if mean is not None:
            out.setdefault(var, {})[acc] = float(mean)
    return out


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
    ids = _accession_ids(engine, species.key)

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
        reference=species.reference_assembly.name, provenance={"seed": seed},
    )  # fmt: skip

    X = sim.dosages
    G = genomic_relationship(X, ploidy=species.ploidy)
    means = _trait_means(engine, acc_ids)
    preds, metrics = [], {}
    for var, by_acc in sorted(means.items()):
        y = np.array([by_acc.get(a, np.nan) for a in acc_ids])
        if np.sum(~np.isnan(y)) < 10 or np.nanstd(y) == 0:
            continue
        res = kernel_blup(G, y)
        cv = cross_validate(X, y, method="gblup", ploidy=species.ploidy, folds=5, seed=seed)
        preds.append(TraitPredictions(var, acc_ids, res.gebv, res.reliability))
        metrics[var] = {
            "h2": round(res.reml.h2, 4),
            "cv_mean_r": round(cv.mean_r, 4),
            "n_phenotyped": cv.n,
        }
    run_id = register_model_run(
        engine, name=f"GBLUP {species.common_name_en} (demo)", method="gblup", species=species.key,
        traits=preds, genotype_dataset_id=dataset_id, parameters={"relationship": "VanRaden G", "cv_folds": 5},
        metrics=metrics, provenance={"genotypes": str(path), "phenotypes": "accession means of the demo trials"},
    )  # fmt: skip
    return {"dataset_id": dataset_id, "model_run_id": run_id, "traits": metrics,
            "seconds": time.perf_counter() - start}  # fmt: skip
