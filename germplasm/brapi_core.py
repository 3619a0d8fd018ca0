"""BrAPI v2.1 Core queries: crops, programs, trials, studies, locations, seasons, lists, people.

Every list query here is paged in SQL (``LIMIT``/``OFFSET`` and a ``COUNT``)
and fetches what a page needs in a fixed number of queries (no N+1). The web
layer (:mod:`web.brapi.core`) turns the rows into BrAPI objects.

Species and ``commonCropName``
    BrAPI's ``commonCropName`` is "the simple, generalized, widely accepted
    name" of the organism, used to split multi-crop servers. Ours is the
    species' registry **key** (``rice``, ``rapeseed``, ``pepper``, ``pig``,
    ``grass_carp``, ``tea``, ``oil_tea``, ``dendrobium``): one per species,
    stable, unique and already what every breedhub command takes. The
    English common names of the registry ("Asian rice", "Dendrobium
    officinale (Tiepi Shihu)") are descriptions, not crop names.
    :func:`common_crop_name` is the one mapping, for every BrAPI call;
    :func:`crop_keys` reads a client's crop names back (case, spaces and
    hyphens ignored: ``"Grass carp"`` is ``grass_carp``).

Who sees what
    Trials (and their studies) and selection lists are hidden from other
    institutes when restricted, exactly as in the portal
    (:func:`~germplasm.access.visible_clause`; a list is also seen by its
    owner). Programs, locations and seasons are not restricted. People (user
    accounts) are seen by signed-in users only: an admin sees every account,
    anyone else their own institute's, the owners of the lists they see, and
    themselves (:func:`people_clause`).

Filters on something we never store (external references, PUIs, contacts,
study codes and types, list sources, people's split names) match nothing:
:attr:`CoreFilter.nothing`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, exists, false, func, not_, or_, select
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.mcpd import countries
from breedhub.germplasm.models import (
    Accession,
    BreedingProgram,
    Institute,
    Location,
    Observation,
    ObservationUnit,
    Season,
    SelectionList,
    SelectionListItem,
    SpeciesRow,
    Study,
    Trial,
    User,
)

__all__ = [
    "CoreFilter",
    "StudyRow",
    "common_crop_name",
    "crop_keys",
    "crop_names",
    "list_rows",
    "locations",
    "people",
    "people_clause",
    "programs",
    "seasons",
    "studies",
    "trials",
]


@dataclass
class CoreFilter:
    """The filters of a Core list or search; ``None`` = not filtered, ``[]`` = matches nothing.

    Attributes
    ----------
    ids
        The entity's own DbIds (``trialDbIds`` for trials, ...).
    names
        The entity's names (``trialNames``, ``listNames``, ``userIDs``...).
    crops
        ``commonCropNames`` (see :func:`crop_keys`).
    program_ids, program_names, trial_ids, trial_names, study_ids, study_names,
    location_ids, location_names, season_ids, germplasm_ids, variable_ids
        Related records, by DbId or name.
    active
        Trials and studies: whether ongoing (see :func:`trial_active`).
    date_start, date_end
        Trials: the date range they must overlap.
    abbreviations, types, countries, country_names, years, owner_ids, owner_names
        Per-entity fields (program/location abbreviation; program, location or
        list type; location country code and name; season year; list owner).
    altitude_min, altitude_max
        Locations: altitude bounds, metres.
    created_from, created_to
        Lists: creation time bounds.
    nothing
        A filter on something we never store was given: nothing matches.
    sort, descending
        Sort key (a BrAPI ``sortBy`` the query knows) and order; id otherwise.
    """

    ids: list[int] | None = None
    names: list[str] | None = None
    crops: list[str] | None = None
    program_ids: list[int] | None = None
    program_names: list[str] | None = None
    trial_ids: list[int] | None = None
    trial_names: list[str] | None = None
    study_ids: list[int] | None = None
    study_names: list[str] | None = None
    location_ids: list[int] | None = None
    location_names: list[str] | None = None
    season_ids: list[int] | None = None
    germplasm_ids: list[int] | None = None
    variable_ids: list[int] | None = None
    active: bool | None = None
    date_start: dt.date | None = None
    date_end: dt.date | None = None
    abbreviations: list[str] | None = None
    types: list[str] | None = None
    countries: list[str] | None = None
    country_names: list[str] | None = None
    years: list[int] | None = None
    owner_ids: list[int] | None = None
    owner_names: list[str] | None = None
    altitude_min: float | None = None
    altitude_max: float | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    nothing: bool = False
    sort: str | None = None
    descending: bool = False


@dataclass
class StudyRow:
    """A study with what its BrAPI object shows.

    Attributes
    ----------
    study, trial
        The rows.
    crop
        The trial's species key (:func:`common_crop_name`).
    location_name
        The location's name, or None.
    active
        Its trial's :func:`trial_active`.
    levels
        The observation levels of its units (``plot``, ``plant``...), sorted.
    variable_ids
        The variables observed in it, sorted.
    """

    study: Study
    trial: Trial
    crop: str
    location_name: str | None
    active: bool
    levels: list[str] = field(default_factory=list)
    variable_ids: list[int] = field(default_factory=list)


# --- crops -----------------------------------------------------------------------------------


def common_crop_name(species_row: Any) -> str | None:
    """BrAPI ``commonCropName`` of a species: its registry key (``rice``, ``oil_tea``).

    Parameters
    ----------
    species_row
        A :class:`~germplasm.models.SpeciesRow` or a registry
        :class:`~germplasm.species.Species` (anything with ``key``), or None.

    Returns
    -------
    str or None
        None for no species.

    >>> from types import SimpleNamespace
    >>> common_crop_name(SimpleNamespace(key="oil_tea"))
    'oil_tea'
    """
    if species_row is None:
        return None
    return str(species_row.key)


def crop_keys(names: Iterable[str]) -> list[str]:
    """The species keys that BrAPI crop names ``names`` mean (case, spaces, hyphens ignored).

    >>> crop_keys(["Rice", "Grass carp", "oil-tea"])
    ['rice', 'grass_carp', 'oil_tea']
    """
    return [n.strip().lower().replace(" ", "_").replace("-", "_") for n in names]


def crop_names(session: Session, offset: int, limit: int) -> tuple[list[str], int]:
    """One page of the crop names of the species in the database, and their number.

    Parameters
    ----------
    session
        An open session.
    offset, limit
        The page.

    Returns
    -------
    (list of str, int)
    """
    total = session.scalar(select(func.count(SpeciesRow.id))) or 0
    stmt = select(SpeciesRow.key).order_by(SpeciesRow.key).offset(offset).limit(limit)
    return list(session.scalars(stmt)), int(total)


# --- helpers ---------------------------------------------------------------------------------


def _in(column: Any, values: Sequence[Any] | None) -> ColumnElement[bool] | None:
    if values is None:
        return None
    if not values:
        return false()
    return column.in_(list(dict.fromkeys(values)))


def _in_given(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """:func:`_in` for a filter known to be given."""
    return false() if not values else column.in_(list(dict.fromkeys(values)))


def _lower_in(column: Any, values: Sequence[str] | None) -> ColumnElement[bool] | None:
    if values is None:
        return None
    return _in(func.lower(column), [v.lower() for v in values])


def _crop(column: Any, crops: Sequence[str] | None) -> ColumnElement[bool] | None:
    return None if crops is None else _in(column, crop_keys(crops))


def _page(
    session: Session,
    stmt: Select[Any],
    where: list[ColumnElement[bool] | None],
    key: Any,
    order: list[Any],
    offset: int,
    limit: int,
) -> tuple[list[Any], int]:
    """Apply ``where``, count the distinct ``key`` values, and fetch one ordered page."""
    clauses = [w for w in where if w is not None]
    stmt = stmt.where(*clauses)
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(key).subquery()))
    rows = session.execute(stmt.order_by(*order).offset(offset).limit(limit)).all()
    return [tuple(r) for r in rows], int(total or 0)


def _order(column: Any, descending: bool) -> Any:
    return column.desc().nulls_last() if descending else column.asc().nulls_last()


def trial_active(today: dt.date | None = None) -> ColumnElement[bool]:
    """SQL: the trial has started (it has a start date on or before today) and not ended."""
    today = today or dt.date.today()
    return and_(
        Trial.start_date.is_not(None),
        Trial.start_date <= today,
        or_(Trial.end_date.is_(None), Trial.end_date >= today),
    )


def is_active(trial: Trial, today: dt.date | None = None) -> bool:
    """Python twin of :func:`trial_active` for one trial."""
    today = today or dt.date.today()
    if trial.start_date is None or trial.start_date > today:
        return False
    return trial.end_date is None or trial.end_date >= today


def _active(active: bool | None) -> ColumnElement[bool] | None:
    if active is None:
        return None
    return trial_active() if active else not_(trial_active())


# --- programs --------------------------------------------------------------------------------

_PROGRAM_TYPES = {"STANDARD", "STANARD"}  # the spec's filter enum spells it STANARD


def programs(
    session: Session, f: CoreFilter, offset: int, limit: int
) -> tuple[list[tuple[BreedingProgram, str | None, str | None]], int]:
    """One page of breeding programmes: ``(program, crop, institute code)`` rows, and the total.

    Every programme is a standing breeding programme (BrAPI ``STANDARD``);
    programmes are not restricted.
    """
    stmt = (
        select(BreedingProgram, SpeciesRow.key, Institute.code)
        .outerjoin(SpeciesRow, SpeciesRow.id == BreedingProgram.species_id)
        .outerjoin(Institute, Institute.id == BreedingProgram.institute_id)
    )
    types = None if f.types is None else [t for t in f.types if t.upper() in _PROGRAM_TYPES]
    where = [
        false() if f.nothing or types == [] else None,
        _in(BreedingProgram.id, f.ids),
        _in(BreedingProgram.name, f.names),
        _in(BreedingProgram.abbreviation, f.abbreviations),
        _crop(SpeciesRow.key, f.crops),
    ]
    return _page(session, stmt, where, BreedingProgram.id, [BreedingProgram.id], offset, limit)


# --- trials ----------------------------------------------------------------------------------

_TRIAL_SORT = {
    "trialDbId": Trial.id,
    "trialName": Trial.name,
    "programDbId": Trial.program_id,
    "programName": BreedingProgram.name,
    "startDate": Trial.start_date,
    "endDate": Trial.end_date,
}


def _trial_has_study(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(Study.id).where(Study.trial_id == Trial.id, *conditions))


def _date_overlap(f: CoreFilter) -> ColumnElement[bool] | None:
    if f.date_start is None and f.date_end is None:
        return None
    parts: list[ColumnElement[bool]] = [Trial.start_date.is_not(None)]
    if f.date_end is not None:
        parts.append(Trial.start_date <= f.date_end)
    if f.date_start is not None:
        parts.append(or_(Trial.end_date.is_(None), Trial.end_date >= f.date_start))
    return and_(*parts)


def trials(
    session: Session, viewer: Viewer, f: CoreFilter, offset: int, limit: int
) -> tuple[list[tuple[Trial, str, str | None, str | None]], int]:
    """One page of the trials ``viewer`` sees: ``(trial, crop, program name, institute code)``.

    A date range (:attr:`CoreFilter.date_start`, ``date_end``) keeps the trials
    that started by its end and had not ended by its start (a trial without
    an end date is ongoing; one without a start date matches no range).
    """
    stmt = (
        select(Trial, SpeciesRow.key, BreedingProgram.name, Institute.code)
        .join(SpeciesRow, SpeciesRow.id == Trial.species_id)
        .outerjoin(BreedingProgram, BreedingProgram.id == Trial.program_id)
        .outerjoin(Institute, Institute.id == Trial.institute_id)
    )
    study_where = [
        c
        for c in (
            _in(Study.id, f.study_ids),
            _in(Study.name, f.study_names),
            _in(Study.location_id, f.location_ids),
        )
        if c is not None
    ]
    if f.location_names is not None:
        study_where.append(
            exists(
                select(Location.id).where(
                    Location.id == Study.location_id, _in_given(Location.name, f.location_names)
                )
            )
        )
    where = [
        false() if f.nothing else None,
        visible_clause(Trial, viewer),
        _in(Trial.id, f.ids),
        _in(Trial.name, f.names),
        _in(Trial.program_id, f.program_ids),
        _in(BreedingProgram.name, f.program_names),
        _crop(SpeciesRow.key, f.crops),
        _active(f.active),
        _date_overlap(f),
        _trial_has_study(*study_where) if study_where else None,
    ]
    column = _TRIAL_SORT.get(f.sort or "", Trial.id)
    order = [_order(column, f.descending), Trial.id]
    return _page(session, stmt, where, Trial.id, order, offset, limit)


# --- studies ---------------------------------------------------------------------------------

_STUDY_SORT = {
    "studyDbId": Study.id,
    "trialDbId": Study.trial_id,
    "programDbId": Trial.program_id,
    "locationDbId": Study.location_id,
    "seasonDbId": Study.season_id,
    "studyName": Study.name,
    "studyLocation": Location.name,
    "programName": BreedingProgram.name,
}


def studies(
    session: Session, viewer: Viewer, f: CoreFilter, offset: int, limit: int
) -> tuple[list[StudyRow], int]:
    """One page of the studies ``viewer`` sees (those of visible trials), and their number.

    A study is active when its trial is (:func:`trial_active`); we keep no
    dates of our own for studies. Germplasm and variable filters keep the
    studies with a unit of those accessions, or an observation of those
    variables.
    """
    stmt = (
        select(Study, Trial, SpeciesRow.key, Location.name)
        .join(Trial, Trial.id == Study.trial_id)
        .join(SpeciesRow, SpeciesRow.id == Trial.species_id)
        .outerjoin(Location, Location.id == Study.location_id)
        .outerjoin(BreedingProgram, BreedingProgram.id == Trial.program_id)
    )
    where = [
        false() if f.nothing else None,
        visible_clause(Trial, viewer),
        _in(Study.id, f.ids),
        _in(Study.name, f.names),
        _in(Study.trial_id, f.trial_ids),
        _in(Trial.name, f.trial_names),
        _in(Trial.program_id, f.program_ids),
        _in(BreedingProgram.name, f.program_names),
        _in(Study.location_id, f.location_ids),
        _in(Location.name, f.location_names),
        _in(Study.season_id, f.season_ids),
        _crop(SpeciesRow.key, f.crops),
        _active(f.active),
    ]
    if f.germplasm_ids is not None:
        where.append(
            exists(
                select(ObservationUnit.id).where(
                    ObservationUnit.study_id == Study.id,
                    _in_given(ObservationUnit.accession_id, f.germplasm_ids),
                )
            )
        )
    if f.variable_ids is not None:
        where.append(
            exists(
                select(Observation.id)
                .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
                .where(
                    ObservationUnit.study_id == Study.id,
                    _in_given(Observation.variable_id, f.variable_ids),
                )
            )
        )
    column = _STUDY_SORT.get(f.sort or "", Study.id)
    order = [_order(column, f.descending), Study.id]
    rows, total = _page(session, stmt, where, Study.id, order, offset, limit)
    today = dt.date.today()
    out = [StudyRow(s, t, crop, loc, is_active(t, today)) for s, t, crop, loc in rows]
    by_id = {r.study.id: r for r in out}
    if by_id:
        levels = select(distinct(ObservationUnit.study_id), ObservationUnit.level).where(
            ObservationUnit.study_id.in_(list(by_id))
        )
        for study_id, level in session.execute(levels):
            by_id[study_id].levels.append(level)
        variables = (
            select(ObservationUnit.study_id, Observation.variable_id)
            .join(Observation, Observation.observation_unit_id == ObservationUnit.id)
            .where(ObservationUnit.study_id.in_(list(by_id)))
            .distinct()
        )
        for study_id, variable_id in session.execute(variables):
            by_id[study_id].variable_ids.append(int(variable_id))
        for row in out:
            row.levels.sort()
            row.variable_ids.sort()
    return out, total


# --- locations and seasons -------------------------------------------------------------------


def locations(
    session: Session, viewer: Viewer, f: CoreFilter, offset: int, limit: int
) -> tuple[list[Location], int]:
    """One page of locations, and their number.

    A crop or programme filter keeps the locations of studies of the trials
    ``viewer`` sees of that crop or programme. Country names are matched
    against ISO 3166-1 (case ignored).
    """
    stmt = select(Location)
    country_codes = f.countries
    if f.country_names is not None:
        wanted = {n.lower() for n in f.country_names}
        named = [code for code, name in countries().items() if name.lower() in wanted]
        country_codes = named if country_codes is None else [c for c in country_codes if c in named]
    where = [
        false() if f.nothing else None,
        _in(Location.id, f.ids),
        _in(Location.name, f.names),
        _in(Location.abbreviation, f.abbreviations),
        _in(Location.location_type, f.types),
        _in(
            Location.country, None if country_codes is None else [c.upper() for c in country_codes]
        ),
        None if f.altitude_min is None else Location.altitude >= f.altitude_min,
        None if f.altitude_max is None else Location.altitude <= f.altitude_max,
    ]
    if f.crops is not None or f.program_ids is not None or f.program_names is not None:
        trial_where = [
            c
            for c in (
                visible_clause(Trial, viewer),
                _in(Trial.program_id, f.program_ids),
                _crop(SpeciesRow.key, f.crops),
                _in(BreedingProgram.name, f.program_names),
            )
            if c is not None
        ]
        where.append(
            exists(
                select(Study.id)
                .join(Trial, Trial.id == Study.trial_id)
                .join(SpeciesRow, SpeciesRow.id == Trial.species_id)
                .outerjoin(BreedingProgram, BreedingProgram.id == Trial.program_id)
                .where(Study.location_id == Location.id, *trial_where)
            )
        )
    rows, total = _page(session, stmt, where, Location.id, [Location.id], offset, limit)
    return [r[0] for r in rows], total


def seasons(session: Session, f: CoreFilter, offset: int, limit: int) -> tuple[list[Season], int]:
    """One page of seasons (by year, then name), and their number."""
    where = [
        false() if f.nothing else None,
        _in(Season.id, f.ids),
        _lower_in(Season.name, f.names),
        _in(Season.year, f.years),
    ]
    order = [Season.year, Season.name, Season.id]
    rows, total = _page(session, select(Season), where, Season.id, order, offset, limit)
    return [r[0] for r in rows], total


# --- lists -----------------------------------------------------------------------------------


def list_rows(
    session: Session, viewer: Viewer, f: CoreFilter, offset: int, limit: int
) -> tuple[list[tuple[SelectionList, str | None, str | None, int]], int]:
    """One page of the selection lists ``viewer`` sees: ``(list, owner username, institute code, size)``.

    Visibility is the portal's (:func:`germplasm.selection_lists.visible_lists`):
    public lists, restricted lists of the viewer's institute, and the viewer's
    own. Every list holds germplasm (BrAPI ``listType`` ``germplasm``): a
    type filter without ``germplasm`` matches nothing. Crop and programme
    filters keep the lists holding an accession of that crop or programme.
    """
    stmt = (
        select(SelectionList, User.username, Institute.code)
        .outerjoin(User, User.id == SelectionList.owner_id)
        .outerjoin(Institute, Institute.id == SelectionList.institute_id)
    )
    seen = visible_clause(SelectionList, viewer)
    if viewer.user_id is not None:
        seen = or_(seen, SelectionList.owner_id == viewer.user_id)
    wrong_type = f.types is not None and "germplasm" not in f.types
    where = [
        false() if f.nothing or wrong_type else None,
        seen,
        _in(SelectionList.id, f.ids),
        _in(SelectionList.name, f.names),
        _in(SelectionList.owner_id, f.owner_ids),
        _in(User.username, f.owner_names),
        None if f.created_from is None else SelectionList.created_at >= f.created_from,
        None if f.created_to is None else SelectionList.created_at <= f.created_to,
    ]
    if f.crops is not None or f.program_ids is not None or f.program_names is not None:
        item_where = [
            c
            for c in (
                _crop(SpeciesRow.key, f.crops),
                _in(Accession.program_id, f.program_ids),
                _in(BreedingProgram.name, f.program_names),
            )
            if c is not None
        ]
        where.append(
            exists(
                select(SelectionListItem.accession_id)
                .join(Accession, Accession.id == SelectionListItem.accession_id)
                .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
                .outerjoin(BreedingProgram, BreedingProgram.id == Accession.program_id)
                .where(SelectionListItem.list_id == SelectionList.id, *item_where)
            )
        )
    rows, total = _page(session, stmt, where, SelectionList.id, [SelectionList.id], offset, limit)
    sizes: dict[int, int] = {}
    if rows:
        counts = (
            select(SelectionListItem.list_id, func.count())
            .where(SelectionListItem.list_id.in_([r[0].id for r in rows]))
            .group_by(SelectionListItem.list_id)
        )
        sizes = {int(i): int(n) for i, n in session.execute(counts)}
    return [(lst, user, code, sizes.get(lst.id, 0)) for lst, user, code in rows], total


# --- people ----------------------------------------------------------------------------------


def people_clause(viewer: Viewer) -> ColumnElement[bool]:
    """SQL: the user accounts ``viewer`` may see.

    Nobody for an anonymous caller; every account for an admin; otherwise the
    active accounts of the viewer's institute, the owners of the lists the
    viewer sees (their names are on those lists already), and the viewer.
    """
    if not viewer.authenticated:
        return false()
    if viewer.is_admin:
        return User.id.is_not(None)
    owners = select(SelectionList.owner_id).where(
        SelectionList.owner_id.is_not(None), visible_clause(SelectionList, viewer)
    )
    colleague = (
        User.institute_id == viewer.institute_id if viewer.institute_id is not None else false()
    )
    return or_(User.id == viewer.user_id, and_(User.active, or_(colleague, User.id.in_(owners))))


def people(
    session: Session, viewer: Viewer, f: CoreFilter, offset: int, limit: int
) -> tuple[list[tuple[User, str | None, str | None]], int]:
    """One page of the accounts ``viewer`` sees: ``(user, institute code, institute name)``.

    :attr:`CoreFilter.names` are usernames (BrAPI ``userID``). People have
    no crop or programme here: those filters match nothing.
    """
    stmt = select(User, Institute.code, Institute.name).outerjoin(
        Institute, Institute.id == User.institute_id
    )
    unrelated = f.crops is not None or f.program_ids is not None or f.program_names is not None
    where = [
        false() if f.nothing or unrelated else None,
        people_clause(viewer),
        _in(User.id, f.ids),
        _in(User.username, f.names),
    ]
    return _page(session, stmt, where, User.id, [User.id], offset, limit)
