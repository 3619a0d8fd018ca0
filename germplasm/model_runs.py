"""Model runs: recording a fitted model's GEBVs, finding and listing runs, removing them.

A model run holds, per trait, one prediction (GEBV, reliability, rank) per
accession. Predictions are written with one multi-row ``INSERT``, and runs
are removed with two ``DELETE`` statements whatever their size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.exceptions import NotFoundError
from breedhub.germplasm.models import (
    GenotypeDataset,
    Institute,
    ModelRun,
    Prediction,
    SpeciesRow,
    User,
)
from breedhub.germplasm.queries_registry import get_species_row, variable_ids

__all__ = [
    "PredictionRow",
    "RunRow",
    "add_model_run",
    "delete_model_runs",
    "model_runs_named",
    "runnable_datasets",
    "visible_model_run",
    "visible_model_runs",
]

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


@dataclass(frozen=True)
class RunRow:
    """A model run as the runs page lists it."""

    run: ModelRun
    species_key: str
    species_name: str
    dataset: str | None
    started_by: str | None
    institute: str | None


def _run_rows(session: Session, where: list[Any], limit: int, offset: int) -> list[RunRow]:
    rows = session.execute(
        select(ModelRun, SpeciesRow.key, SpeciesRow.common_name_en, GenotypeDataset.name,
               User.username, Institute.code)
        .join(SpeciesRow, SpeciesRow.id == ModelRun.species_id)
        .outerjoin(GenotypeDataset, GenotypeDataset.id == ModelRun.genotype_dataset_id)
        .outerjoin(User, User.id == ModelRun.created_by)
        .outerjoin(Institute, Institute.id == ModelRun.institute_id)
        .where(*where)
        .order_by(ModelRun.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()  # fmt: skip
    return [RunRow(*r) for r in rows]


def visible_model_runs(
    session: Session,
    viewer: Viewer,
    *,
    species: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RunRow], int]:
    """The model runs ``viewer`` may see, newest first, and how many there are.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    species
        Only this species (key).
    limit, offset
        The page.

    Returns
    -------
    (rows, total)
    """
    where: list[Any] = [visible_clause(ModelRun, viewer)]
    if species:
        where.append(
            ModelRun.species_id.in_(select(SpeciesRow.id).where(SpeciesRow.key == species))
        )
    total = session.scalar(select(func.count()).select_from(ModelRun).where(*where)) or 0
    return _run_rows(session, where, limit, offset), int(total)


def visible_model_run(session: Session, run_id: int, viewer: Viewer) -> RunRow | None:
    """Model run ``run_id`` if ``viewer`` may see it, else None (as if it did not exist)."""
    rows = _run_rows(session, [ModelRun.id == run_id, visible_clause(ModelRun, viewer)], 1, 0)
    return rows[0] if rows else None


def runnable_datasets(session: Session, viewer: Viewer) -> list[tuple[GenotypeDataset, str]]:
    """The genotype datasets ``viewer`` may fit models on, with their species key, by name.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is asking.

    Returns
    -------
    list of (GenotypeDataset, species key)
    """
    rows = session.execute(
        select(GenotypeDataset, SpeciesRow.key)
        .join(SpeciesRow, SpeciesRow.id == GenotypeDataset.species_id)
        .where(visible_clause(GenotypeDataset, viewer))
        .order_by(GenotypeDataset.name)
    ).all()
    return [(d, k) for d, k in rows]
