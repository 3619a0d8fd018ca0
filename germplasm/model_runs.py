"""Model runs: recording a fitted model's GEBVs, finding runs by name, removing them.

A model run holds, per trait, one prediction (GEBV, reliability, rank) per
accession. Predictions are written with one multi-row ``INSERT``, and runs
are removed with two ``DELETE`` statements whatever their size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from breedhub.germplasm.exceptions import NotFoundError
from breedhub.germplasm.models import ModelRun, Prediction
from breedhub.germplasm.queries_registry import get_species_row, variable_ids

__all__ = ["PredictionRow", "add_model_run", "delete_model_runs", "model_runs_named"]

PredictionRow = tuple[int, float, float | None, int]
"""One prediction: (accession id, GEBV, reliability or None, rank within the trait)."""


def add_model_run(
    session: Session,
    *,
    name: str,
    method: str,
    species: str,
    predictions: Mapping[str, Sequence[PredictionRow]],
    genotype_dataset_id: int | None = None,
    parameters: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    model_path: str = "",
    owner: Mapping[str, Any] | None = None,
) -> int:
    """Record a model run with its predictions; return its id.

    Parameters
    ----------
    session
        An open session; the caller commits.
    name, method
        The run's name and its method (``gblup``...).
    species
        Species key (``rice``).
    predictions
        Observation variable name -> its :data:`PredictionRow` s.
    genotype_dataset_id
        The dataset the model was fitted on.
    parameters, metrics, provenance
        Stored as JSON with the run.
    model_path
        Where the fitted models lie.
    owner
        ``institute_id``, ``visibility`` and ``created_by`` (default: no
        institute, public).

    Returns
    -------
    int
        The new run's id.

    Raises
    ------
    NotFoundError
        If the species or a variable is unknown.
    """
    sp = get_species_row(session, species)
    names = list(predictions)
    var_ids = variable_ids(session, names)
    missing = [n for n in names if n not in var_ids]
    if missing:
        raise NotFoundError(f"unknown observation variables: {', '.join(missing)}")
    run = ModelRun(
        name=name, method=method, species_id=sp.id, genotype_dataset_id=genotype_dataset_id,
        parameters=dict(parameters or {}), metrics=dict(metrics or {}),
        provenance=dict(provenance or {}), model_path=model_path,
        **{k: v for k, v in (owner or {}).items()
           if k in ("institute_id", "visibility", "created_by")},
    )  # fmt: skip
    session.add(run)
    session.flush()
    rows = [
        {
            "model_run_id": run.id,
            "accession_id": acc,
            "variable_id": var_ids[variable],
            "gebv": gebv,
            "reliability": rel,
            "rank": rank,
        }  # fmt: skip
        for variable, preds in predictions.items()
        for acc, gebv, rel, rank in preds
    ]
    if rows:
        session.execute(insert(Prediction), rows)
    return run.id


def model_runs_named(session: Session, name: str) -> list[ModelRun]:
    """Every model run called ``name`` (names need not be unique).

    Parameters
    ----------
    session
        An open database session.
    name
        The runs' name.

    Returns
    -------
    list of ModelRun
    """
    return list(session.scalars(select(ModelRun).where(ModelRun.name == name)))


def delete_model_runs(session: Session, ids: Sequence[int]) -> None:
    """Remove the model runs ``ids`` and their predictions.

    Parameters
    ----------
    session
        An open session; the caller commits.
    ids
        ``model_run.id`` values.
    """
    if not ids:
        return
    session.execute(delete(Prediction).where(Prediction.model_run_id.in_(list(ids))))
    session.execute(delete(ModelRun).where(ModelRun.id.in_(list(ids))))
