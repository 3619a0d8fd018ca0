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
from sqlalchemy import Engine

from breedhub.germplasm.db import transaction
from breedhub.germplasm.genotype_datasets import add_genotype_dataset, replace_genotype_dataset
from breedhub.germplasm.model_runs import PredictionRow, add_model_run


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
        return add_genotype_dataset(
            s, name=name, species=species, path=path, ploidy=ploidy, samples=samples,
            n_variants=n_variants, reference=reference, provenance=provenance,
        )  # fmt: skip


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
        return replace_genotype_dataset(
            s, dataset_id, path=path, ploidy=ploidy, samples=samples, n_variants=n_variants,
            reference=reference, provenance=provenance,
        )  # fmt: skip


@dataclass
class TraitPredictions:
    """GEBVs of one trait for a set of accessions, with the trait's breeding goal.

    ``direction`` is the trait registry's: ``higher`` ranks the largest GEBV
    first, ``lower`` the smallest, ``optimum`` the predicted value
    (``baseline + gebv``, the baseline being the trait's mean) nearest to
    ``optimum``.
    """

    variable: str
    accession_ids: Sequence[int]
    gebv: np.ndarray
    reliability: np.ndarray | None = None
    direction: str = "higher"
    optimum: float | None = None
    baseline: float = 0.0


def _rank_key(t: TraitPredictions) -> np.ndarray:
    gebv = np.asarray(t.gebv, dtype=np.float64)
    if t.direction == "higher":
        return -gebv
    if t.direction == "lower":
        return gebv
    if t.direction == "optimum" and t.optimum is not None:
        return np.abs(t.baseline + gebv - t.optimum)
    raise ValueError(
        f"{t.variable}: direction must be higher, lower or optimum (with its value), "
        f"not {t.direction!r}"
    )


def _ranked(t: TraitPredictions) -> list[PredictionRow]:
    """(accession id, GEBV, reliability, rank) of each accession; rank 1 is the best."""
    order = np.argsort(_rank_key(t), kind="stable")
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(1, len(order) + 1)
    return [
        (
            int(acc),
            float(t.gebv[i]),
            None if t.reliability is None else float(t.reliability[i]),
            int(rank[i]),
        )  # fmt: skip
        for i, acc in enumerate(t.accession_ids)
    ]


def ranked_predictions(traits: Sequence[TraitPredictions]) -> dict[str, list[PredictionRow]]:
    """Each trait's rows ``(accession id, GEBV, reliability, rank)``, rank 1 the best."""
    predictions: dict[str, list[PredictionRow]] = {}
    for t in traits:
        predictions.setdefault(t.variable, []).extend(_ranked(t))
    return predictions


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
    """Record a model run with its predictions (ranked per trait); return its id.

    Raises
    ------
    NotFoundError
        If the species or a trait's observation variable is unknown.
    """
    predictions = ranked_predictions(traits)
    with transaction(engine) as s:
        return add_model_run(
            s, name=name, method=method, species=species, predictions=predictions,
            genotype_dataset_id=genotype_dataset_id, parameters=parameters, metrics=metrics,
            provenance=provenance, model_path=model_path,
        )  # fmt: skip
