"""Reading the stored registries: species, institutes, observation variables and trials.

The small lookups the portal's forms, the pipelines' config checks and the
result registration need: one SQL statement each, a list of names answered
by one ``IN`` query rather than a query per name.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from breedhub.germplasm.exceptions import NotFoundError
from breedhub.germplasm.models import Accession, Institute, ObservationVariable, SpeciesRow, Trial

__all__ = [
    "accession_counts_by_species",
    "get_species_row",
    "institute_codes",
    "list_species",
    "list_variables",
    "species_id",
    "species_key_of",
    "species_keys",
    "trials_by_name",
    "variable_ids",
    "variables_by_name",
]


def list_species(session: Session) -> list[SpeciesRow]:
    """Every species in the database, in the order the registry loaded them (by id).

    Parameters
    ----------
    session
        An open database session.

    Returns
    -------
    list of SpeciesRow
    """
    return list(session.scalars(select(SpeciesRow).order_by(SpeciesRow.id)))


def species_keys(session: Session) -> set[str]:
    """The keys (``rice``, ``pig``...) of the species in the database.

    Parameters
    ----------
    session
        An open database session.

    Returns
    -------
    set of str
    """
    return set(session.scalars(select(SpeciesRow.key)))


def species_id(session: Session, key: str) -> int | None:
    """The database id of the species ``key``, or None if it is not in the database.

    Parameters
    ----------
    session
        An open database session.
    key
        A species key (``rice``).

    Returns
    -------
    int or None
    """
    return session.scalar(select(SpeciesRow.id).where(SpeciesRow.key == key))


def species_key_of(session: Session, species_row_id: int) -> str | None:
    """The key of the species with database id ``species_row_id`` (None if there is none).

    Parameters
    ----------
    session
        An open database session.
    species_row_id
        A ``species.id``, e.g. a genotype dataset's ``species_id``.

    Returns
    -------
    str or None
    """
    return session.scalar(select(SpeciesRow.key).where(SpeciesRow.id == species_row_id))


def get_species_row(session: Session, key: str) -> SpeciesRow:
    """The stored species ``key``.

    Parameters
    ----------
    session
        An open database session.
    key
        A species key (``rice``).

    Returns
    -------
    SpeciesRow

    Raises
    ------
    NotFoundError
        If the database has no such species (``breedhub init`` loads the registry).
    """
    sp = session.scalars(select(SpeciesRow).where(SpeciesRow.key == key)).first()
    if sp is None:
        raise NotFoundError(f"unknown species {key!r}")
    return sp


def accession_counts_by_species(session: Session) -> dict[int, int]:
    """Number of accessions per species id (species without accessions are left out).

    Parameters
    ----------
    session
        An open database session.

    Returns
    -------
    dict
        ``species.id`` -> number of accessions; one ``GROUP BY`` query.
    """
    return dict(
        session.execute(select(Accession.species_id, func.count()).group_by(Accession.species_id))
        .tuples()
        .all()
    )


def institute_codes(session: Session) -> list[str]:
    """The WIEWS codes of every institute in the database, sorted.

    Parameters
    ----------
    session
        An open database session.

    Returns
    -------
    list of str
    """
    return list(session.scalars(select(Institute.code).order_by(Institute.code)))


def list_variables(
    session: Session, *, species_row_id: int | None = None
) -> list[ObservationVariable]:
    """Observation variables, by species then name; only one species' with ``species_row_id``.

    Parameters
    ----------
    session
        An open database session.
    species_row_id
        A ``species.id`` to keep only that species' variables; None for all.

    Returns
    -------
    list of ObservationVariable
    """
    stmt = select(ObservationVariable).order_by(
        ObservationVariable.species_id, ObservationVariable.name
    )
    if species_row_id is not None:
        stmt = stmt.where(ObservationVariable.species_id == species_row_id)
    return list(session.scalars(stmt))


def variables_by_name(session: Session, names: Collection[str]) -> dict[str, ObservationVariable]:
    """The observation variables named in ``names`` that exist, by name.

    Parameters
    ----------
    session
        An open database session.
    names
        Variable names; unknown ones are left out of the answer.

    Returns
    -------
    dict
        name -> :class:`~germplasm.models.ObservationVariable`.
    """
    return {
        v.name: v
        for v in session.scalars(
            select(ObservationVariable).where(ObservationVariable.name.in_(list(names)))
        )
    }


def variable_ids(session: Session, names: Collection[str]) -> dict[str, int]:
    """Database ids of the observation variables named in ``names`` that exist.

    Parameters
    ----------
    session
        An open database session.
    names
        Variable names; unknown ones are left out of the answer (the caller
        says which are missing, in its own words).

    Returns
    -------
    dict
        name -> ``observation_variable.id``.
    """
    return dict(
        session.execute(
            select(ObservationVariable.name, ObservationVariable.id).where(
                ObservationVariable.name.in_(list(names))
            )
        )
        .tuples()
        .all()
    )


def trials_by_name(session: Session, names: Collection[str]) -> dict[str, Trial]:
    """The trials named in ``names`` that exist, by name.

    Parameters
    ----------
    session
        An open database session.
    names
        Trial names; unknown ones are left out of the answer.

    Returns
    -------
    dict
        name -> :class:`~germplasm.models.Trial`.
    """
    return {t.name: t for t in session.scalars(select(Trial).where(Trial.name.in_(list(names))))}
