"""Model runs with many predictions over several traits, for the Predictions pages' tests.

:func:`add_prediction_runs` adds, on top of the ``world`` fixture of
``conftest.py``:

- 30 rice candidates ``PR-01`` .. ``PR-30``: odd numbers held by PHL001, even by
  CHN999; ``PR-01`` .. ``PR-10`` genotyped; ``PR-01`` .. ``PR-06`` observed in
  the trial "Rice yield trial 2025"; ``PR-21`` .. ``PR-25`` children of IR64;
- a public run ``multi-2025`` (institute PHL001) predicting grain yield
  (higher), days to heading (lower) and plant height (optimum 100 cm) of every
  candidate, ranked in each trait's direction as ``publish_model_run`` does;
- a restricted run ``secret-2025`` of CHN999 predicting grain yield of 5 of them.

The GEBVs are drawn from a seeded generator, so the tests can recompute
every figure with numpy from :attr:`PredictionData.gebv`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from flask import Flask
from sqlalchemy import select

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
    Study,
    Trial,
)
from breedhub.web.db import get_engine
from tests.web.conftest import World, add_accession, add_observations

TRAITS = ("GrainYield_t_ha", "DaysToHeading_d", "PlantHeight_cm")
DIRECTIONS = {"GrainYield_t_ha": "higher", "DaysToHeading_d": "lower", "PlantHeight_cm": "optimum"}
MEANS = {"GrainYield_t_ha": 6.5, "DaysToHeading_d": 95.0, "PlantHeight_cm": 105.0}
SDS = {"GrainYield_t_ha": 0.6, "DaysToHeading_d": 5.0, "PlantHeight_cm": 8.0}
N = 30


@dataclass
class PredictionData:
    """Ids and values of :func:`add_prediction_runs`."""

    run_id: int
    secret_run_id: int
    trial_id: int
    trial_name: str
    accession_ids: list[int]  # PR-01 .. PR-30
    gebv: dict[str, np.ndarray] = field(default_factory=dict)  # trait -> by accession order
    reliability: dict[str, np.ndarray] = field(default_factory=dict)


def ranks(trait: str, gebv: np.ndarray) -> np.ndarray:
    """Rank 1 = best in the trait's direction (as the fit-and-publish path ranks)."""
    if DIRECTIONS[trait] == "higher":
        key = -gebv
    elif DIRECTIONS[trait] == "lower":
        key = gebv
    else:
        key = np.abs(MEANS[trait] + gebv - 100.0)
    order = np.argsort(key, kind="stable")
    out = np.empty(len(gebv), dtype=int)
    out[order] = np.arange(1, len(gebv) + 1)
    return out


def _institute(s, code: str) -> Institute:
    return s.scalars(select(Institute).where(Institute.code == code)).one()


def add_prediction_runs(app: Flask, world: World) -> PredictionData:
    """Add the candidates and runs described in the module docstring."""
    rng = np.random.default_rng(20250611)
    gebv = {t: rng.normal(0, SDS[t], N) for t in TRAITS}
    # Correlated yield and heading: later lines yield more (a real trade-off to weigh).
    gebv["GrainYield_t_ha"] = gebv["GrainYield_t_ha"] + 0.05 * gebv["DaysToHeading_d"]
    rel = {t: np.round(rng.uniform(0.3, 0.8, N), 3) for t in TRAITS}
    with transaction(get_engine(app)) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        ids = []
        for k in range(1, N + 1):
            inst = "PHL001" if k % 2 else "CHN999"
            acc = add_accession(
                s, species="rice", instcode=inst, accenumb=f"PR-{k:02d}", name=f"Line {k}"
            )
            ids.append(acc.id)
        for k in range(21, 26):
            s.add(Pedigree(accession_id=ids[k - 1], female_parent_id=world.ir64,
                           male_parent_id=world.nipponbare, cross_type="BIPARENTAL"))  # fmt: skip
        ds = GenotypeDataset(name="rice-pred-2025", species_id=rice.id, path="g/x.h5", ploidy=2)
        s.add(ds)
        s.flush()
        for k in range(1, 11):
            sample = Sample(name=f"S-PR-{k:02d}", accession_id=ids[k - 1])
            s.add(sample)
            s.flush()
            s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=sample.id, column_index=k))
        trial = Trial(name="Rice yield trial 2025", species_id=rice.id,
                      start_date=dt.date(2025, 1, 5))  # fmt: skip
        s.add(trial)
        s.flush()
        study = Study(trial_id=trial.id, name="RYT-2025-Los-Banos")
        s.add(study)
        s.flush()
        from breedhub.germplasm.models import Accession

        for k in range(1, 7):
            add_observations(s, s.get(Accession, ids[k - 1]), study, "GrainYield_t_ha", [6.0])
        phl, chn = _institute(s, "PHL001"), _institute(s, "CHN999")
        metrics = {
            t: {"direction": DIRECTIONS[t], "optimum": 100.0 if t == "PlantHeight_cm" else None,
                "phenotype_mean": MEANS[t], "n_ranked": N, "h2": 0.5, "cv_mean_r": 0.5}
            for t in TRAITS
        }  # fmt: skip
        run = ModelRun(name="multi-2025", method="gblup", species_id=rice.id, metrics=metrics,
                       genotype_dataset_id=ds.id, institute_id=phl.id, visibility="public",
                       created_at=dt.datetime(2025, 6, 1))  # fmt: skip
        secret = ModelRun(name="secret-2025", method="gblup", species_id=rice.id,
                          metrics={"GrainYield_t_ha": {"direction": "higher", "n_ranked": 5}},
                          institute_id=chn.id, visibility="restricted",
                          created_at=dt.datetime(2025, 6, 2))  # fmt: skip
        s.add_all([run, secret])
        s.flush()
        var_ids = {
            v.name: v.id
            for v in s.scalars(
                select(ObservationVariable).where(ObservationVariable.name.in_(TRAITS))
            )
        }
        for t in TRAITS:
            rk = ranks(t, gebv[t])
            for i, acc_id in enumerate(ids):
                s.add(Prediction(model_run_id=run.id, accession_id=acc_id, variable_id=var_ids[t],
                                 gebv=float(gebv[t][i]), reliability=float(rel[t][i]),
                                 rank=int(rk[i])))  # fmt: skip
        for i in range(5):
            s.add(Prediction(model_run_id=secret.id, accession_id=ids[i],
                             variable_id=var_ids["GrainYield_t_ha"], gebv=float(i), reliability=0.5,
                             rank=5 - i))  # fmt: skip
        return PredictionData(run.id, secret.id, trial.id, trial.name, ids, gebv, rel)
