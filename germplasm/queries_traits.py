"""Trait statistics: accession means, their spread per variable, and phenotypes for training.

Each function is a fixed number of aggregate queries (long id lists are sent
in chunks of 500), so that the portal's charts and the pipelines' checks stay
fast at ten million observations.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from breedhub.germplasm.models import (
    Observation,
    ObservationUnit,
    ObservationVariable,
    Study,
    TraitSummary,
)

__all__ = ["numerical_trait_means", "phenotype_means", "trait_mean_ranges"]

_CHUNK = 500


def trait_mean_ranges(
    session: Session, names: Collection[str]
) -> dict[str, tuple[float | None, float | None, float | None, int]]:
    """Spread of the accession means of each variable in ``names``.

    Parameters
    ----------
    session
        An open database session.
    names
        Observation variable names.

    Returns
    -------
    dict
        name -> ``(min, max, mean, n)`` of the accessions' means (one
        ``GROUP BY`` query); variables without summaries are left out.
    """
    if not names:
        return {}
    return {
        name: (lo, hi, avg, n)
        for name, lo, hi, avg, n in session.execute(
            select(
                ObservationVariable.name,
                func.min(TraitSummary.mean),
                func.max(TraitSummary.mean),
                func.avg(TraitSummary.mean),
                func.count(TraitSummary.mean),
            )
            .join(TraitSummary, TraitSummary.variable_id == ObservationVariable.id)
            .where(ObservationVariable.name.in_(list(names)))
            .group_by(ObservationVariable.name)
        ).all()
    }


def phenotype_means(
    session: Session,
    accession_ids: Sequence[int],
    variable_ids: Sequence[int],
    trial_ids: Sequence[int] | None,
) -> dict[int, dict[int, tuple[float, int]]]:
    """Per variable, per accession: the mean and count of its numeric observations.

    Parameters
    ----------
    session
        An open database session.
    accession_ids
        The accessions to summarise (e.g. those of a genotype dataset).
    variable_ids
        The observation variables to summarise.
    trial_ids
        Only observations of studies in these trials; None for every trial.

    Returns
    -------
    dict
        ``variable id -> {accession id -> (mean, count)}``; accessions
        without a numeric observation of a variable are left out.
    """
    out: dict[int, dict[int, tuple[float, int]]] = {}
    for i in range(0, len(accession_ids), _CHUNK):
        q = (
            select(
                Observation.variable_id,
                Observation.accession_id,
                func.avg(Observation.numeric_value),
                func.count(Observation.numeric_value),
            )
            .where(
                Observation.accession_id.in_(list(accession_ids[i : i + _CHUNK])),
                Observation.variable_id.in_(list(variable_ids)),
                Observation.numeric_value.is_not(None),
            )
            .group_by(Observation.variable_id, Observation.accession_id)
        )
        if trial_ids is not None:
            q = (
                q.join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
                .join(Study, Study.id == ObservationUnit.study_id)
                .where(Study.trial_id.in_(list(trial_ids)))
            )
        for var, acc, mean, n in session.execute(q).all():
            out.setdefault(var, {})[acc] = (float(mean), int(n))
    return out


def numerical_trait_means(
    session: Session, accession_ids: Sequence[int]
) -> dict[str, dict[int, float]]:
    """Each accession's mean of each numerical variable, from the stored trait summaries.

    Parameters
    ----------
    session
        An open database session.
    accession_ids
        The accessions to read.

    Returns
    -------
    dict
        variable name -> ``{accession id -> mean}``; missing means are left out.
    """
    rows = session.execute(
        select(ObservationVariable.name, TraitSummary.accession_id, TraitSummary.mean)
        .join(ObservationVariable, ObservationVariable.id == TraitSummary.variable_id)
        .where(
            TraitSummary.accession_id.in_(list(accession_ids)),
            ObservationVariable.data_type == "numerical",
        )
    ).all()
    out: dict[str, dict[int, float]] = {}
    for var, acc, mean in rows:
        if mean is not None:
            out.setdefault(var, {})[acc] = float(mean)
    return out
