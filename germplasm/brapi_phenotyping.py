"""The queries behind the BrAPI v2.1 phenotyping calls: variables, units and observations.

Filters arrive as a mapping of BrAPI's plural search names to lists
(``{"studyDbIds": [3], "observationVariableNames": ["PlantHeight_cm"]}``):
keys ending in ``DbIds`` hold our integer ids (the web layer drops DbIds that
cannot be ours), the others texts. A key that is present with an empty list
matches nothing (every DbId given was impossible); an absent key does not
filter. Filters on what we do not store (PUIs of methods and scales,
external references, trait entities) match nothing when given.

Units and observations belong to a study of a trial, and a restricted trial
is seen only by its institute and admins (:func:`~germplasm.access.visible_clause`):
every query here joins the trial and applies that clause. Variables are the
public trait registry.

Every list query is paged in SQL (``LIMIT``/``OFFSET`` plus a ``COUNT``) and
fetches the names it shows (study, trial, programme, location, germplasm,
variable) in the same query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.models import (
    Accession,
    BreedingProgram,
    Location,
    Observation,
    ObservationUnit,
    ObservationVariable,
    Season,
    SpeciesRow,
    Study,
    Trial,
)

__all__ = [
    "LEVEL_ORDER",
    "Filters",
    "count_and_page",
    "observation_levels",
    "observation_rows",
    "observation_table",
    "ontologies",
    "unit_rows",
    "unit_table",
    "variable_rows",
]

#: BrAPI search name -> list of ints (``...DbIds``) or of texts.
Filters = Mapping[str, Sequence[Any]]

#: The standard BrAPI observation levels and their order (lower = higher in the hierarchy).
LEVEL_ORDER = {
    "study": 0, "field": 1, "entry": 2, "rep": 3, "block": 4, "sub-block": 5,
    "plot": 6, "sub-plot": 7, "plant": 8, "pot": 9, "sample": 10,
}  # fmt: skip

#: Filters on things we do not store: given, they match nothing.
_NOTHING_KEYS = (
    "externalReferenceIDs", "externalReferenceIds", "externalReferenceSources", "methodPUIs",
    "scalePUIs", "traitPUIs", "traitEntities", "traitEntityPUIs", "traitAttributes",
    "traitAttributePUIs", "observationLevelRelationshipDbIds",
)  # fmt: skip


def _given(filters: Filters, key: str) -> Sequence[Any] | None:
    values = filters.get(key)
    return None if values is None else list(values)


def _in(column: Any, values: Sequence[Any] | Select[Any] | None) -> ColumnElement[bool] | None:
    if values is None:
        return None
    return column.in_(values) if values else false()


def _species_ids(names: Sequence[str]) -> Select[tuple[int]]:
    lowered = [n.lower() for n in names]
    return select(SpeciesRow.id).where(
        or_(
            func.lower(SpeciesRow.key).in_(lowered),
            func.lower(SpeciesRow.common_name_en).in_(lowered),
        )
    )


def _nothing(filters: Filters) -> bool:
    return any(filters.get(k) for k in _NOTHING_KEYS)


def _design_clauses(filters: Filters) -> list[ColumnElement[bool] | None]:
    """Study, trial, programme, location, season and crop filters (on Study and Trial)."""
    crops = _given(filters, "commonCropNames")
    return [
        _in(Study.id, _given(filters, "studyDbIds")),
        _in(Study.name, _given(filters, "studyNames")),
        _in(Study.trial_id, _given(filters, "trialDbIds")),
        _in(Trial.name, _given(filters, "trialNames")),
        _in(Trial.program_id, _given(filters, "programDbIds")),
        _in(
            Trial.program_id,
            None
            if filters.get("programNames") is None
            else select(BreedingProgram.id).where(
                BreedingProgram.name.in_(list(filters["programNames"]))
            ),
        ),
        _in(Study.location_id, _given(filters, "locationDbIds")),
        _in(
            Study.location_id,
            None
            if filters.get("locationNames") is None
            else select(Location.id).where(Location.name.in_(list(filters["locationNames"]))),
        ),
        _in(Study.season_id, _given(filters, "seasonDbIds")),
        None if crops is None else Trial.species_id.in_(_species_ids(crops)),
    ]


def _level_clauses(filters: Filters) -> list[ColumnElement[bool] | None]:
    """Observation level filters on the unit: its own level, and its rep and block."""
    out: list[ColumnElement[bool] | None] = [
        _in(ObservationUnit.level, _given(filters, "observationLevelNames")),
        _in(ObservationUnit.name, _given(filters, "observationLevelCodes")),
    ]
    orders = _given(filters, "observationLevelOrders")
    if orders is not None:
        names = [n for n, o in LEVEL_ORDER.items() if str(o) in {str(x) for x in orders}]
        out.append(_in(ObservationUnit.level, names))
    relationships = _given(filters, "observationLevelRelationshipNames")
    if relationships is not None:
        codes = [
            int(c)
            for c in filters.get("observationLevelRelationshipCodes") or []
            if str(c).isdigit()
        ]
        given_codes = filters.get("observationLevelRelationshipCodes") is not None
        columns = {"rep": ObservationUnit.replicate, "block": ObservationUnit.block}
        parts = []
        for name in relationships:
            column = columns.get(name)
            if column is not None:
                parts.append(
                    and_(column.is_not(None), column.in_(codes) if given_codes else true())
                )
        out.append(or_(*parts) if parts else false())
    return out


def _where(stmt: Select[Any], clauses: Sequence[ColumnElement[bool] | None]) -> Select[Any]:
    for clause in clauses:
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def count_and_page(
    session: Session, stmt: Select[Any], offset: int, limit: int, order: Sequence[Any]
) -> tuple[list[Any], int]:
    """One page of ``stmt`` (ordered by ``order``) and the number of rows of all pages.

    Parameters
    ----------
    session
        An open session.
    stmt
        The filtered query.
    offset, limit
        The page.
    order
        Columns that order the rows totally (a primary key last).

    Returns
    -------
    tuple of (list of rows, int)
    """
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.execute(stmt.order_by(*order).offset(offset).limit(limit)).all()
    return list(rows), int(total or 0)


# --------------------------------------------------------------------------- variables


def _variable_clauses(filters: Filters, viewer: Viewer) -> list[ColumnElement[bool] | None]:
    V = ObservationVariable
    if _nothing(filters):
        return [false()]
    ids = [
        _in(V.id, _given(filters, key))
        for key in ("observationVariableDbIds", "traitDbIds", "methodDbIds", "scaleDbIds")
    ]
    crops = _given(filters, "commonCropNames")
    ontologies = _given(filters, "ontologyDbIds")
    data_types = _given(filters, "dataTypes")
    clauses = [
        *ids,
        _in(V.name, _given(filters, "observationVariableNames")),
        _in(V.ontology_id, _given(filters, "observationVariablePUIs")),
        _in(V.trait_class, _given(filters, "traitClasses")),
        _in(V.trait, _given(filters, "traitNames")),
        _in(V.method, _given(filters, "methodNames")),
        _in(V.scale, _given(filters, "scaleNames")),
        None if crops is None else V.species_id.in_(_species_ids(crops)),
        None
        if ontologies is None
        else or_(
            false(), *[V.ontology_id.startswith(f"{o}:", autoescape=True) for o in ontologies]
        ),
        None
        if data_types is None
        else _in(func.lower(V.data_type), [str(d).lower() for d in data_types]),
    ]
    scoped = {
        k: filters[k]
        for k in (
            "studyDbIds",
            "studyNames",
            "trialDbIds",
            "trialNames",
            "programDbIds",
            "programNames",
        )
        if filters.get(k) is not None
    }
    if scoped:
        observed = (
            select(literal(1))
            .select_from(Observation)
            .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
            .join(Study, Study.id == ObservationUnit.study_id)
            .join(Trial, Trial.id == Study.trial_id)
            .where(Observation.variable_id == V.id, visible_clause(Trial, viewer))
        )
        clauses.append(exists(_where(observed, _design_clauses(scoped))))
    return clauses


def variable_rows(
    session: Session, filters: Filters, viewer: Viewer, *, offset: int, limit: int
) -> tuple[list[tuple[ObservationVariable, str | None]], int]:
    """A page of observation variables matching ``filters``, with their species key.

    Returns
    -------
    tuple of (list of (ObservationVariable, species key or None), int)
        The page and the total count.
    """
    stmt = select(ObservationVariable, SpeciesRow.key).outerjoin(
        SpeciesRow, SpeciesRow.id == ObservationVariable.species_id
    )
    stmt = _where(stmt, _variable_clauses(filters, viewer))
    rows, total = count_and_page(session, stmt, offset, limit, [ObservationVariable.id])
    return [(r[0], r[1]) for r in rows], total


def ontologies(session: Session) -> list[str]:
    """The ontologies our variables name (the prefix of ``ontology_id``: ``CO_320``), sorted."""
    ids = session.scalars(
        select(ObservationVariable.ontology_id)
        .where(ObservationVariable.ontology_id != "")
        .distinct()
    ).all()
    return sorted({i.split(":", 1)[0] for i in ids if ":" in i})


# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class UnitRow:
    """An observation unit with the names BrAPI shows beside it."""

    unit: ObservationUnit
    study_name: str
    location_id: int | None
    location_name: str | None
    trial_id: int
    trial_name: str
    program_id: int | None
    program_name: str | None
    germplasm_name: str


def _unit_select() -> Select[Any]:
    return (
        select(
            ObservationUnit,
            Study.name,
            Study.location_id,
            Location.name,
            Trial.id,
            Trial.name,
            Trial.program_id,
            BreedingProgram.name,
            func.coalesce(func.nullif(Accession.name, ""), Accession.accenumb),
        )
        .select_from(ObservationUnit)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .join(Accession, Accession.id == ObservationUnit.accession_id)
        .outerjoin(Location, Location.id == Study.location_id)
        .outerjoin(BreedingProgram, BreedingProgram.id == Trial.program_id)
    )


def _unit_clauses(filters: Filters, viewer: Viewer) -> list[ColumnElement[bool] | None]:
    if _nothing(filters):
        return [false()]
    germplasm_names = _given(filters, "germplasmNames")
    clauses = [
        visible_clause(Trial, viewer),
        _in(ObservationUnit.id, _given(filters, "observationUnitDbIds")),
        _in(ObservationUnit.name, _given(filters, "observationUnitNames")),
        _in(ObservationUnit.accession_id, _given(filters, "germplasmDbIds")),
        None
        if germplasm_names is None
        else or_(Accession.name.in_(germplasm_names), Accession.accenumb.in_(germplasm_names)),
        *_design_clauses(filters),
        *_level_clauses(filters),
    ]
    var_ids = _given(filters, "observationVariableDbIds")
    var_names = _given(filters, "observationVariableNames")
    var_puis = _given(filters, "observationVariablePUIs")
    if var_ids is not None or var_names is not None or var_puis is not None:
        observed = (
            select(literal(1))
            .select_from(Observation)
            .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
            .where(Observation.observation_unit_id == ObservationUnit.id)
        )
        observed = _where(
            observed,
            [
                _in(ObservationVariable.id, var_ids),
                _in(ObservationVariable.name, var_names),
                _in(ObservationVariable.ontology_id, var_puis),
            ],
        )
        clauses.append(exists(observed))
    return clauses


def _unit_row(row: Any) -> UnitRow:
    return UnitRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])


def unit_rows(
    session: Session, filters: Filters, viewer: Viewer, *, offset: int, limit: int
) -> tuple[list[UnitRow], int]:
    """A page of the observation units ``viewer`` may see that match ``filters``.

    Returns
    -------
    tuple of (list of UnitRow, int)
        The page (by unit id) and the total count.
    """
    stmt = _where(_unit_select(), _unit_clauses(filters, viewer))
    rows, total = count_and_page(session, stmt, offset, limit, [ObservationUnit.id])
    return [_unit_row(r) for r in rows], total


# --------------------------------------------------------------------------- observations


@dataclass(frozen=True)
class ObservationRow:
    """An observation with the names BrAPI shows beside it."""

    observation: Observation
    unit_name: str
    study_id: int
    variable_name: str
    germplasm_name: str
    season: Season | None


def _timestamp() -> ColumnElement[str]:
    """``observed_at`` comparable as text: a bare date is its midnight."""
    stamp = Observation.observed_at
    return case((func.length(stamp) == 10, stamp + "T00:00:00Z"), else_=stamp)


def _observation_clauses(filters: Filters, viewer: Viewer) -> list[ColumnElement[bool] | None]:
    if _nothing(filters):
        return [false()]
    germplasm_names = _given(filters, "germplasmNames")
    start = filters.get("observationTimeStampRangeStart") or []
    end = filters.get("observationTimeStampRangeEnd") or []
    return [
        visible_clause(Trial, viewer),
        _in(Observation.id, _given(filters, "observationDbIds")),
        _in(Observation.observation_unit_id, _given(filters, "observationUnitDbIds")),
        _in(Observation.variable_id, _given(filters, "observationVariableDbIds")),
        _in(ObservationVariable.name, _given(filters, "observationVariableNames")),
        _in(ObservationVariable.ontology_id, _given(filters, "observationVariablePUIs")),
        _in(Observation.accession_id, _given(filters, "germplasmDbIds")),
        None
        if germplasm_names is None
        else or_(Accession.name.in_(germplasm_names), Accession.accenumb.in_(germplasm_names)),
        *_design_clauses(filters),
        *_level_clauses(filters),
        and_(Observation.observed_at != "", _timestamp() >= start[0]) if start else None,
        and_(Observation.observed_at != "", _timestamp() <= end[0]) if end else None,
    ]


def _observation_select() -> Select[Any]:
    return (
        select(
            Observation,
            ObservationUnit.name,
            ObservationUnit.study_id,
            ObservationVariable.name,
            func.coalesce(func.nullif(Accession.name, ""), Accession.accenumb),
            Season,
        )
        .select_from(Observation)
        .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
        .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .join(Accession, Accession.id == Observation.accession_id)
        .outerjoin(Season, Season.id == Study.season_id)
    )


def observation_rows(
    session: Session, filters: Filters, viewer: Viewer, *, offset: int, limit: int
) -> tuple[list[ObservationRow], int]:
    """A page of the observations ``viewer`` may see that match ``filters``.

    ``observationTimeStampRangeStart``/``End`` (lists of one ISO 8601 text,
    UTC, ``YYYY-MM-DDTHH:MM:SSZ``) keep the observations taken in that range;
    a stored date without a time counts as its midnight.

    Returns
    -------
    tuple of (list of ObservationRow, int)
        The page (by observation id) and the total count.
    """
    stmt = _where(_observation_select(), _observation_clauses(filters, viewer))
    rows, total = count_and_page(session, stmt, offset, limit, [Observation.id])
    return [ObservationRow(*r) for r in rows], total


def observations_of_units(
    session: Session, unit_ids: Sequence[int]
) -> dict[int, list[ObservationRow]]:
    """Every observation of these units (visible ones: the caller checked), by unit id."""
    if not unit_ids:
        return {}
    stmt = _observation_select().where(Observation.observation_unit_id.in_(list(unit_ids)))
    out: dict[int, list[ObservationRow]] = {}
    for r in session.execute(stmt.order_by(Observation.id)).all():
        out.setdefault(r[0].observation_unit_id, []).append(ObservationRow(*r))
    return out


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class TableRow:
    """A row of a BrAPI table: a unit (at a time stamp) and its values by variable id."""

    unit: UnitRow
    timestamp: str
    year: int | None
    values: dict[int, str]


def _table_variables(session: Session, filters: Filters, viewer: Viewer) -> list[tuple[int, str]]:
    stmt = _where(
        select(ObservationVariable.id, ObservationVariable.name)
        .select_from(Observation)
        .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
        .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .join(Accession, Accession.id == Observation.accession_id),
        _observation_clauses(filters, viewer),
    )
    return [
        (int(i), str(n))
        for i, n in session.execute(stmt.distinct().order_by(ObservationVariable.id))
    ]


def observation_table(
    session: Session, filters: Filters, viewer: Viewer, *, offset: int, limit: int
) -> tuple[list[tuple[int, str]], list[TableRow], int]:
    """BrAPI ``observations/table``: one row per unit and time stamp, one column per variable.

    Returns
    -------
    tuple of (variables, rows, total)
        The variables (id, name) observed anywhere in the selection (the
        columns of every page), the page's rows, and the number of rows.
    """
    variables = _table_variables(session, filters, viewer)
    keys = _where(
        select(Observation.observation_unit_id, Observation.observed_at)
        .select_from(Observation)
        .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
        .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .join(Accession, Accession.id == Observation.accession_id),
        _observation_clauses(filters, viewer),
    ).distinct()
    page, total = count_and_page(
        session, keys, offset, limit, [Observation.observation_unit_id, Observation.observed_at]
    )
    return variables, _table_rows(session, filters, viewer, page, by_time=True), total


def unit_table(
    session: Session, filters: Filters, viewer: Viewer, *, offset: int, limit: int
) -> tuple[list[tuple[int, str]], list[TableRow], int]:
    """BrAPI ``observationunits/table``: one row per unit, its latest value of each variable.

    Returns
    -------
    tuple of (variables, rows, total)
        As :func:`observation_table`.
    """
    variables = _table_variables(session, filters, viewer)
    units, total = unit_rows(session, filters, viewer, offset=offset, limit=limit)
    keys = [(u.unit.id, "") for u in units]
    rows = _table_rows(session, filters, viewer, keys, by_time=False, units=units)
    return variables, rows, total


def _table_rows(
    session: Session,
    filters: Filters,
    viewer: Viewer,
    keys: Sequence[Any],
    *,
    by_time: bool,
    units: Sequence[UnitRow] | None = None,
) -> list[TableRow]:
    unit_ids = sorted({int(k[0]) for k in keys})
    if not unit_ids:
        return []
    if units is None:
        found, _ = unit_rows(
            session, {"observationUnitDbIds": unit_ids}, viewer, offset=0, limit=len(unit_ids)
        )
        units = found
    by_id = {u.unit.id: u for u in units}
    years = dict(
        session.execute(
            select(ObservationUnit.id, Season.year)
            .join(Study, Study.id == ObservationUnit.study_id)
            .join(Season, Season.id == Study.season_id)
            .where(ObservationUnit.id.in_(unit_ids))
        )
        .tuples()
        .all()
    )
    stmt = _where(
        select(
            Observation.observation_unit_id,
            Observation.observed_at,
            Observation.variable_id,
            Observation.value,
        )
        .select_from(Observation)
        .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
        .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .join(Accession, Accession.id == Observation.accession_id),
        _observation_clauses(filters, viewer),
    ).where(Observation.observation_unit_id.in_(unit_ids))
    values: dict[tuple[int, str], dict[int, str]] = {}
    for unit_id, stamp, variable_id, value in session.execute(
        stmt.order_by(Observation.observed_at, Observation.id)
    ):
        key = (unit_id, stamp if by_time else "")
        values.setdefault(key, {})[variable_id] = value  # the latest stamp wins per unit
    return [
        TableRow(
            by_id[int(k[0])],
            str(k[1]),
            years.get(int(k[0])),
            values.get((int(k[0]), str(k[1])), {}),
        )
        for k in keys
        if int(k[0]) in by_id
    ]


# --------------------------------------------------------------------------- levels


def observation_levels(session: Session, filters: Filters, viewer: Viewer) -> list[str]:
    """The observation levels in use among the units ``viewer`` sees (rep and block included).

    Returns
    -------
    list of str
        Level names in :data:`LEVEL_ORDER` (unknown levels last, by name).
    """
    base = _where(
        select(ObservationUnit.level)
        .select_from(ObservationUnit)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id),
        [visible_clause(Trial, viewer), *_design_clauses(filters)],
    )
    levels = set(session.scalars(base.distinct()).all())
    for name, column in (("rep", ObservationUnit.replicate), ("block", ObservationUnit.block)):
        if session.scalar(base.where(column.is_not(None)).limit(1)) is not None:
            levels.add(name)
    return sorted(levels, key=lambda n: (LEVEL_ORDER.get(n, 99), n))
