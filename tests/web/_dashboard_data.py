"""Extra data of the dashboard, pedigree and language tests, added on top of ``world``.

:func:`add_genotyped_panel` registers a public rice dataset whose HDF5 store
really exists (written with the genomics store writer) and a model run with
cross-validated accuracies; :func:`add_restricted_records` gives institute
CHN999 a restricted trial, a larger restricted dataset (its store exists too)
and a restricted model run, which only CHN999's members may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy import select

from breedhub.genomics.store_write import write_genotype_store
from breedhub.germplasm import transaction
from breedhub.germplasm.models import (
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SpeciesRow,
    Trial,
)
from breedhub.web.db import get_engine
from tests.web.conftest import add_accession


def write_store(path: Path, samples: list[str], *, n_variants: int = 300, seed: int = 0) -> Path:
    """A diploid store of ``samples`` with two clear groups (first half, second half)."""
    rng = np.random.default_rng(seed)
    n = len(samples)
    freq = np.where(np.arange(n)[None, :] < n // 2, 0.15, 0.85) * np.ones((n_variants, 1))
    freq = np.clip(freq + rng.normal(0, 0.1, size=(n_variants, 1)), 0.02, 0.98)
    gt = (rng.random((n_variants, n, 2)) < freq[:, :, None]).astype(np.int8)
    return write_genotype_store(
        path, samples=samples, chrom=np.array(["1"] * n_variants),
        pos=np.arange(1, n_variants + 1) * 100, gt=gt, species="rice", chunk_variants=64,
    )  # fmt: skip


@dataclass
class Panel:
    """The genotyped rice panel: its dataset, store, accessions and model run."""

    dataset_id: int
    path: Path
    accession_ids: list[int]
    run_id: int


def add_genotyped_panel(app: Flask, store_dir: Path, *, n: int = 10) -> Panel:
    """``n`` rice accessions of PHL001 (statuses 300 and 500) in a public dataset with a real store."""
    path = store_dir / "rice-pca.h5"
    samples = [f"PCA-{i:02d}:DNA" for i in range(n)]
    write_store(path, samples)
    with transaction(get_engine(app)) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        accs = [
            add_accession(
                s,
                species="rice",
                instcode="PHL001",
                accenumb=f"PCA-{i:02d}",
                name=f"Panel line {i}",
                sampstat=300 if i < n // 2 else 500,
            )  # fmt: skip
            for i in range(n)
        ]
        ds = GenotypeDataset(
            name="rice-pca-panel", species_id=rice.id, path=str(path), ploidy=2,
            n_variants=300, n_samples=n,
        )  # fmt: skip
        s.add(ds)
        s.flush()
        for col, (name, acc) in enumerate(zip(samples, accs, strict=True)):
            smp = Sample(name=name, accession_id=acc.id)
            s.add(smp)
            s.flush()
            s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=smp.id, column_index=col))
        run = ModelRun(
            name="gblup-panel", method="gblup", species_id=rice.id, genotype_dataset_id=ds.id,
            metrics={"PlantHeight_cm": {"cv_mean_r": 0.62, "n_ranked": n, "direction": "optimum"},
                     "GrainYield_t_ha": {"cv_mean_r": 0.41, "n_ranked": n, "direction": "higher"}},
        )  # fmt: skip
        s.add(run)
        s.flush()
        return Panel(ds.id, path, [a.id for a in accs], run.id)


@dataclass
class Restricted:
    """CHN999's restricted trial, dataset and model run."""

    trial: str
    dataset: str
    run: str
    run_id: int


def add_restricted_records(app: Flask, store_dir: Path, ir64: int) -> Restricted:
    """A restricted trial, a 12-sample restricted dataset (real store) and run of CHN999."""
    path = store_dir / "rice-chn.h5"
    n = 12
    samples = [f"CHN-{i:02d}:DNA" for i in range(n)]
    write_store(path, samples, seed=3)
    with transaction(get_engine(app)) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        chn = s.scalars(select(Institute).where(Institute.code == "CHN999")).one()
        owner = {"institute_id": chn.id, "visibility": "restricted"}
        s.add(Trial(name="CHN secret trial", species_id=rice.id, **owner))
        accs = [
            add_accession(s, species="rice", instcode="CHN999", accenumb=f"CHN-{i:02d}")
            for i in range(n)
        ]
        ds = GenotypeDataset(name="chn-secret-panel", species_id=rice.id, path=str(path),
                             ploidy=2, n_variants=300, n_samples=n, **owner)  # fmt: skip
        s.add(ds)
        s.flush()
        for col, (name, acc) in enumerate(zip(samples, accs, strict=True)):
            smp = Sample(name=name, accession_id=acc.id)
            s.add(smp)
            s.flush()
            s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=smp.id, column_index=col))
        run = ModelRun(
            name="chn-secret-run", method="bayesb", species_id=rice.id, genotype_dataset_id=ds.id,
            metrics={"PlantHeight_cm": {"cv_mean_r": 0.55, "n_ranked": 40}}, **owner,
        )  # fmt: skip
        s.add(run)
        s.flush()
        height = s.scalars(
            select(ObservationVariable).where(ObservationVariable.name == "PlantHeight_cm")
        ).one()
        s.add(Prediction(model_run_id=run.id, accession_id=ir64, variable_id=height.id,
                         gebv=7.5, reliability=0.4, rank=2))  # fmt: skip
        return Restricted("CHN secret trial", "chn-secret-panel", "chn-secret-run", run.id)


def add_three_generations(app: Flask) -> dict[str, int]:
    """A pig: child <- (dam, sire) <- four grandparents, a great-grandparent of one,
    and an unknown sire of the dam's dam. Returns accession number -> id."""
    with transaction(get_engine(app)) as s:
        ids = {}
        for number in ("GGD", "GD1", "GS1", "GD2", "GS2", "DAM", "SIRE", "KID", "KID2"):
            ids[number] = add_accession(s, species="pig", instcode="USA999", accenumb=number,
                                        name=f"pig {number.lower()}").id  # fmt: skip
        for child, dam, sire in (
            ("GD1", "GGD", None), ("DAM", "GD1", "GS1"), ("SIRE", "GD2", "GS2"),
            ("KID", "DAM", "SIRE"), ("KID2", "KID", None),
        ):  # fmt: skip
            s.add(Pedigree(accession_id=ids[child], female_parent_id=ids[dam],
                           male_parent_id=ids[sire] if sire else None, cross_type="BIPARENTAL"))  # fmt: skip
        return ids
