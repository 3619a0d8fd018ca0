"""Registering pipeline results in the germplasm database.

The science packages (``genomics``, ``predict``) never touch the database;
this module records what they produced: a genotype dataset with its samples,
and a model run with its GEBVs, reliabilities and ranks per accession and trait.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from breedhub.germplasm.db import transaction
from breedhub.germplasm.exceptions import DuplicateError, NotFoundError
from breedhub.germplasm.models import (
    GenotypeDataset,
    GenotypeDatasetSample,
    ModelRun,
    ObservationVariable,
    Prediction,
    Sample,
    SpeciesRow,
)


def register_genotype_dataset(
    engine: Engine,
    *,
    name: str,
    species: str,
    path: str,
    ploidy: int,
    samples: Sequence[tuple[str, int]],
    n_variants: int,
    reference: str = "",
    provenance: Mapping[str, Any] | None = None,
) -> int:
    """Record an HDF5 genotype store and its samples; return the dataset id.

    Parameters
    ----------
    samples
        ``(sample name, accession id)`` in the store's column order; samples
        are created when new, and must belong to the same accession when not.

    Raises
    ------
    DuplicateError
        If a dataset of that name exists, or a sample name belongs to another accession.
    NotFoundError
        If the species is unknown.
    """
    with transaction(engine) as s:
        sp = s.scalars(select(SpeciesRow).where(SpeciesRow.key == species)).first()
        if sp is None:
            raise NotFoundError(f"unknown species {species!r}")
        if s.scalars(select(GenotypeDataset).where(GenotypeDataset.name == name)).first():
            raise DuplicateError(f"a genotype dataset named {name!r} exists")
        ds = GenotypeDataset(
            name=name, species_id=sp.id, path=path, ploidy=ploidy, reference=reference,
            n_variants=n_variants, n_samples=len(samples), provenance=dict(provenance or {}),
        )  # fmt: skip
        s.add(ds)
        s.flush()
        _link_samples(s, ds.id, samples)
        return ds.id


def _link_samples(s: Session, dataset_id: int, samples: Sequence[tuple[str, int]]) -> None:
    """Make ``samples`` the dataset's columns, creating the samples that are new."""
    existing = {
        smp.name: smp
        for smp in s.scalars(select(Sample).where(Sample.name.in_([n for n, _ in samples])))
    }
    for col, (sample_name, acc_id) in enumerate(samples):
        smp = existing.get(sample_name)
        if smp is None:
            smp = Sample(name=sample_name, accession_id=acc_id, tissue="leaf")
            s.add(smp)
            s.flush()
        elif smp.accession_id != acc_id:
            raise DuplicateError(f"sample {sample_name!r} belongs to another accession")
        s.add(GenotypeDatasetSample(dataset_id=dataset_id, sample_id=smp.id, column_index=col))


def update_genotype_dataset(
    engine: Engine,
    dataset_id: int,
    *,
    path: str,
    ploidy: int,
    samples: Sequence[tuple[str, int]],
    n_variants: int,
    reference: str = "",
    provenance: Mapping[str, Any] | None = None,
) -> int:
    """Replace what a registered dataset holds, keeping its id (and the model runs made on it).

    For a workflow that registered the dataset and ran again with other
    inputs or settings: the store's path, size, provenance and samples are
    replaced; ``samples`` as in :func:`register_genotype_dataset`.

    Raises
    ------
    NotFoundError
        If there is no such dataset.
    DuplicateError
        If a sample name belongs to another accession.
    """
    with transaction(engine) as s:
        ds = s.get(GenotypeDataset, dataset_id)
        if ds is None:
            raise NotFoundError(f"no genotype dataset {dataset_id}")
        ds.path, ds.ploidy, ds.reference = path, ploidy, reference
        ds.n_variants, ds.n_samples = n_variants, len(samples)
        ds.provenance = dict(provenance or {})
        s.execute(delete(GenotypeDatasetSample).where(GenotypeDatasetSample.dataset_id == ds.id))
        _link_samples(s, ds.id, samples)
        return ds.id


@dataclass
class TraitPredictions:
    """GEBVs of one trait for a set of accessions."""

    variable: str
    accession_ids: Sequence[int]
    gebv: np.ndarray
    reliability: np.ndarray | None = None
    higher_is_better: bool = True


def register_model_run(
    engine: Engine,
    *,
    name: str,
    method: str,
    species: str,
    traits: Sequence[TraitPredictions],
    genotype_dataset_id: int | None = None,
    parameters: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    model_path: str = "",
) -> int:
    """Record a model run with its predictions (ranked per trait); return its id."""
    with transaction(engine) as s:
        sp = s.scalars(select(SpeciesRow).where(SpeciesRow.key == species)).first()
        if sp is None:
            raise NotFoundError(f"unknown species {species!r}")
        names = [t.variable for t in traits]
        var_ids = dict(
            s.execute(
                select(ObservationVariable.name, ObservationVariable.id).where(
                    ObservationVariable.name.in_(names)
                )
            )
            .tuples()
            .all()
        )
        missing = [n for n in names if n not in var_ids]
        if missing:
            raise NotFoundError(f"unknown observation variables: {', '.join(missing)}")
        run = ModelRun(
            name=name, method=method, species_id=sp.id, genotype_dataset_id=genotype_dataset_id,
            parameters=dict(parameters or {}), metrics=dict(metrics or {}),
            provenance=dict(provenance or {}), model_path=model_path,
        )  # fmt: skip
        s.add(run)
        s.flush()
        rows = []
        for t in traits:
            order = np.argsort(-t.gebv if t.higher_is_better else t.gebv, kind="stable")
            rank = np.empty(len(order), dtype=int)
            rank[order] = np.arange(1, len(order) + 1)
            for i, acc in enumerate(t.accession_ids):
                rel = None if t.reliability is None else float(t.reliability[i])
                rows.append(
                    {
                        "model_run_id": run.id, "accession_id": int(acc),
                        "variable_id": var_ids[t.variable], "gebv": float(t.gebv[i]),
                        "reliability": rel, "rank": int(rank[i]),
                    }
                )  # fmt: skip
        if rows:
            s.execute(insert(Prediction), rows)
        return run.id
