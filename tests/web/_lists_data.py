"""Genotyped candidates, a real genotype store and a model run, for the lists and cross-planner tests.

:func:`add_cross_run` adds, on top of the ``world`` fixture of ``conftest.py``:

- ``n`` rice lines ``CX-01`` .. (held by PHL001), each genotyped once
  (sample ``S-CX-..``) in a real HDF5 store written with
  :func:`breedhub.genomics.store.write_genotype_store`: homozygous dosages
  (0 or 2) at ``m`` markers on two chromosomes, a few calls missing;
- a public genotype dataset ``rice-cross-panel`` registered with that store;
- a public GBLUP-like run ``cross-2025`` whose GEBVs are ``Z beta`` for grain
  yield (higher is better) and days to heading (lower is better), ``Z`` the
  dosages centred on the dataset's mean (missing calls at the mean), as
  :func:`predict.gblup.blup_candidates` publishes them;
- ``CX-01`` .. ``CX-04`` in a pedigree: CX-03 and CX-04 full sibs of CX-01 x CX-02.

The tests recompute every figure with numpy from :class:`CrossData`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy import select

from breedhub.genomics.store import write_genotype_store
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
)
from breedhub.web.db import get_engine
from tests.web.conftest import add_accession

TRAITS = ("GrainYield_t_ha", "DaysToHeading_d")
DIRECTIONS = {"GrainYield_t_ha": "higher", "DaysToHeading_d": "lower"}


@dataclass
class CrossData:
    """What :func:`add_cross_run` wrote."""

    run_id: int
    dataset_id: int
    store: Path
    accession_ids: list[int]  # CX-01 ..
    samples: list[str]
    dosage: np.ndarray  # (samples x markers) with -1 missing
    centre: np.ndarray  # mean dosage per marker over the called samples
    chrom: np.ndarray
    pos: np.ndarray
    beta: dict[str, np.ndarray]
    gebv: dict[str, np.ndarray]  # trait -> by accession order


def write_store(path: Path, dosage: np.ndarray, samples: list[str], chrom: np.ndarray,
                pos: np.ndarray, ploidy: int) -> Path:  # fmt: skip
    """A genotype store of (samples x markers) dosages (-1 missing), unphased."""
    n, m = dosage.shape
    gt = np.zeros((m, n, ploidy), dtype=np.int8)
    for k in range(ploidy):
        gt[:, :, k] = (dosage.T > k).astype(np.int8)
    gt[dosage.T < 0] = -1
    return write_genotype_store(path, samples=samples, chrom=chrom, pos=pos, gt=gt, species="rice")


def add_cross_run(app: Flask, store_dir: Path, *, n: int = 12, m: int = 60, seed: int = 7,
                  store_name: str = "rice-cross.h5", species: str = "rice") -> CrossData:  # fmt: skip
    """Add the candidates, store, dataset and run of the module docstring.

    With another ``species`` than rice (a pig: outbred) the dosages are 0, 1 or 2.
    """
    rng = np.random.default_rng(seed)
    dosage = 2 * rng.integers(0, 2, size=(n, m)).astype(np.int64)
    if species != "rice":
        dosage = rng.integers(0, 3, size=(n, m)).astype(np.int64)
    dosage[0, :] = 0  # CX-01 and CX-02 differ everywhere: a cross with variance
    dosage[1, :] = 2
    dosage[rng.integers(2, n, 3), rng.integers(0, m, 3)] = -1
    chrom = np.array(["1"] * (m // 2) + ["2"] * (m - m // 2))
    pos = np.concatenate([np.sort(rng.choice(np.arange(1, 20_000_000), m // 2, replace=False)),
                          np.sort(rng.choice(np.arange(1, 20_000_000), m - m // 2, replace=False))])  # fmt: skip
    samples = [f"S-CX-{k:02d}" for k in range(1, n + 1)]
    store = write_store(store_dir / store_name, dosage, samples, chrom, pos, 2)
    called = np.where(dosage >= 0, dosage, 0).sum(axis=0)
    centre = called / (dosage >= 0).sum(axis=0)
    Z = np.where(dosage >= 0, dosage - centre, 0.0)
    beta = {"GrainYield_t_ha": rng.normal(0, 0.05, m), "DaysToHeading_d": rng.normal(0, 0.4, m)}
    gebv = {t: Z @ b for t, b in beta.items()}
    with transaction(get_engine(app)) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == species)).one()
        phl = s.scalars(select(Institute).where(Institute.code == "PHL001")).one()
        ids = [add_accession(s, species=species, instcode="PHL001", accenumb=f"CX-{k:02d}",
                             name=f"Cross line {k}").id for k in range(1, n + 1)]  # fmt: skip
        s.add(Pedigree(accession_id=ids[2], female_parent_id=ids[0], male_parent_id=ids[1]))
        s.add(Pedigree(accession_id=ids[3], female_parent_id=ids[0], male_parent_id=ids[1]))
        ds = GenotypeDataset(name=f"rice-cross-panel-{store_name}", species_id=rice.id,
                             path=str(store), ploidy=2, n_variants=m, n_samples=n,
                             institute_id=phl.id, visibility="public")  # fmt: skip
        s.add(ds)
        s.flush()
        for col, (name, acc) in enumerate(zip(samples, ids, strict=True)):
            smp = Sample(name=name, accession_id=acc)
            s.add(smp)
            s.flush()
            s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=smp.id, column_index=col))
        metrics = {t: {"direction": DIRECTIONS[t], "n_ranked": n, "phenotype_mean": 0.0}
                   for t in TRAITS}  # fmt: skip
        run = ModelRun(name=f"cross-2025-{store_name}", method="gblup", species_id=rice.id,
                       genotype_dataset_id=ds.id, metrics=metrics, institute_id=phl.id,
                       visibility="public")  # fmt: skip
        s.add(run)
        s.flush()
        var_ids = {v.name: v.id for v in s.scalars(
            select(ObservationVariable).where(ObservationVariable.name.in_(TRAITS)))}  # fmt: skip
        for t in TRAITS:
            for acc, g in zip(ids, gebv[t], strict=True):
                s.add(Prediction(model_run_id=run.id, accession_id=acc, variable_id=var_ids[t],
                                 gebv=float(g), reliability=0.5))  # fmt: skip
        return CrossData(run.id, ds.id, store, ids, samples, dosage, centre, chrom, pos, beta,
                         gebv)  # fmt: skip
