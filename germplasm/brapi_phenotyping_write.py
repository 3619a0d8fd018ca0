"""The writes behind BrAPI's POST/PUT of observation units and observations (Field Book's upload).

A request is a list of items, each a BrAPI ``ObservationUnitNewRequest`` or
``ObservationNewRequest`` (a JSON object), optionally aimed at an existing
record (``PUT``). Every item is checked before anything is written, as the
observation file import does (:mod:`germplasm.phenotypes`): values against
their variable's scale with the import's own checks, unknown variables,
germplasm, studies and units, a study of another institute, a variable of
another species, a unit or an observation given twice. Any problem raises
:class:`~germplasm.exceptions.ValidationError` whose problems name the item
(``row`` = item index + 1) and the BrAPI field; nothing is written then. The
caller commits the session, so a request is written whole or not at all.
Trait summaries are refreshed for every accession touched.

A trial without an institute may be written by any uploader; a trial of an
institute only by its members (and admins). Records a viewer may not see are
reported exactly like unknown ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.exceptions import Problem, ValidationError
from breedhub.germplasm.models import (
    Accession,
    Observation,
    ObservationUnit,
    ObservationVariable,
    Study,
    Trial,
)
from breedhub.germplasm.phenotypes import (
    REQUIRED,
    check_values,
    refresh_trait_summary,
    variables_frame,
)
from breedhub.germplasm.queries import MAX_ID
from breedhub.germplasm.tabular import ROW

__all__ = ["SOURCE", "as_id", "write_observations", "write_units"]

#: The ``source`` of the ValidationError raised here.
SOURCE = "request body"
#: The most items one request may carry.
MAX_ITEMS = 10_000
ENTRY_TYPES = ("CHECK", "TEST", "FILLER")

Item = tuple[int | None, Mapping[str, Any]]


def as_id(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= MAX_ID else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10:
        value = int(raw)
        return value if 1 <= value <= MAX_ID else None
    return None


def _text(raw: object, limit: int) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise TypeError
    text = str(raw).strip()
    if len(text) > limit:
        raise ValueError
    return text


def _int(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if (
        isinstance(raw, bool)
        or not text.isascii()
        or not text.lstrip("-").isdigit()
        or len(text) > 9
    ):
        raise ValueError
    return int(text)


def stamp(raw: str) -> str:
    """An ISO 8601 time stamp as stored: a bare date as is, a time as UTC ``...T..:..:..Z``.

    Raises
    ------
    ValueError
        When ``raw`` is not ISO 8601.
    """
    raw = raw.strip()
    if len(raw) == 10:
        return dt.date.fromisoformat(raw).isoformat()
    moment = dt.datetime.fromisoformat(raw)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _writable_studies(
    session: Session, study_ids: set[int], viewer: Viewer
) -> dict[int, tuple[Study, Trial]]:
    if not study_ids:
        return {}
    rows = session.execute(
        select(Study, Trial)
        .join(Trial, Trial.id == Study.trial_id)
        .where(Study.id.in_(study_ids), visible_clause(Trial, viewer))
    ).all()
    return {s.id: (s, t) for s, t in rows}


def _may_write(trial: Trial, viewer: Viewer) -> bool:
    return (
        viewer.is_admin or trial.institute_id is None or trial.institute_id == viewer.institute_id
    )


def _study_problem(
    index: int, raw: object, found: tuple[Study, Trial] | None, viewer: Viewer
) -> Problem | None:
    if found is None:
        return Problem(index + 1, "studyDbId", str(raw), "no such study")
    if not _may_write(found[1], viewer):
        return Problem(
            index + 1,
            "studyDbId",
            str(raw),
            "a study of another institute: you may not write to it",
        )
    return None


def _units(session: Session, ids: set[int], viewer: Viewer) -> dict[int, ObservationUnit]:
    if not ids:
        return {}
    rows = session.scalars(
        select(ObservationUnit)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .where(ObservationUnit.id.in_(ids), visible_clause(Trial, viewer))
    ).all()
    return {u.id: u for u in rows}


def _accession_species(session: Session, ids: set[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(select(Accession.id, Accession.species_id).where(Accession.id.in_(ids)))
    return dict(rows.tuples().all())


def _position(index: int, item: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """The unit columns of ``observationUnitPosition`` (only those given)."""
    raw = item.get("observationUnitPosition")
    if raw is None:
        return {}
    where = "observationUnitPosition"
    if not isinstance(raw, dict):
        problems.append(Problem(index + 1, where, "", "must be an object"))
        return {}
    out: dict[str, Any] = {}
    try:
        for field, column in (("positionCoordinateX", "col"), ("positionCoordinateY", "row")):
            if field in raw:
                out[column] = _int(raw[field])
    except ValueError:
        problems.append(Problem(index + 1, f"{where}.{field}", str(raw[field])[:40],
                                "must be a whole number (a grid column or row)"))  # fmt: skip
    entry = raw.get("entryType")
    if entry is not None:
        if entry not in ENTRY_TYPES:
            problems.append(Problem(index + 1, f"{where}.entryType", str(entry)[:40],
                                    f"must be one of {', '.join(ENTRY_TYPES)}"))  # fmt: skip
        else:
            out["entry_type"] = entry
    level = raw.get("observationLevel")
    if isinstance(level, dict) and level.get("levelName") is not None:
        name = level["levelName"]
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 30:
            problems.append(Problem(index + 1, f"{where}.observationLevel.levelName",
                                    str(name)[:40], "must be a level name (plot, plant...)"))  # fmt: skip
        else:
            out["level"] = name.strip()
    relations = raw.get("observationLevelRelationships")
    if isinstance(relations, list):
        for rel in relations:
            if not isinstance(rel, dict) or rel.get("levelName") not in ("rep", "block"):
                continue
            column = "replicate" if rel["levelName"] == "rep" else "block"
            try:
                out[column] = _int(rel.get("levelCode"))
            except ValueError:
                problems.append(Problem(index + 1, f"{where}.observationLevelRelationships",
                                        str(rel.get("levelCode"))[:40],
                                        f"the {rel['levelName']} code must be a whole number"))  # fmt: skip
    return out


def _germplasm_and_name(
    i: int,
    item: Mapping[str, Any],
    unit: ObservationUnit | None,
    species: Mapping[int, int],
    row: dict[str, Any],
    problems: list[Problem],
) -> None:
    """The germplasm and name of unit item ``i`` into ``row``."""
    raw = item.get("germplasmDbId")
    if raw is not None or unit is None:
        acc = as_id(raw)
        if acc is None or acc not in species:
            problems.append(Problem(i + 1, "germplasmDbId", "" if raw is None else str(raw)[:40],
                                    "no such germplasm" if raw is not None else "required"))  # fmt: skip
        else:
            row["accession_id"] = acc
    raw = item.get("observationUnitName")
    if raw is not None or unit is None:
        if not isinstance(raw, str) or not 0 < len(raw.strip()) <= 200:
            problems.append(Problem(i + 1, "observationUnitName", str(raw or "")[:40],
                                    "required: a name of 1 to 200 characters, unique in the study"))  # fmt: skip
        else:
            row["name"] = raw.strip()


def write_units(session: Session, items: Sequence[Item], viewer: Viewer) -> list[int]:
    """Create (target ``None``) or update observation units; their ids, in item order.

    Parameters
    ----------
    session
        The request's session; committed by the caller.
    items
        (the unit's id to update or None, its BrAPI ``ObservationUnitNewRequest``).
    viewer
        Who writes (an uploader or admin: the caller checked the role).

    Raises
    ------
    ValidationError
        With every problem of every item; nothing is written.
    """
    problems: list[Problem] = []
    targets = _units(session, {t for t, _ in items if t is not None}, viewer)
    study_raw = {i: item.get("studyDbId") for i, (_, item) in enumerate(items)}
    studies = _writable_studies(
        session, {s for s in (as_id(r) for r in study_raw.values()) if s is not None}
        | {u.study_id for u in targets.values()}, viewer
    )  # fmt: skip
    species = _accession_species(
        session, {a for a in (as_id(item.get("germplasmDbId")) for _, item in items) if a}
    )
    planned: list[dict[str, Any]] = []
    for i, (target, item) in enumerate(items):
        row: dict[str, Any] = {}
        unit = targets.get(target) if target is not None else None
        if target is not None and unit is None:
            problems.append(
                Problem(i + 1, "observationUnitDbId", str(target), "no such observation unit")
            )
            planned.append(row)
            continue
        if unit is not None:
            found = studies.get(unit.study_id)
            if found is None or not _may_write(found[1], viewer):
                problems.append(Problem(i + 1, "observationUnitDbId", str(target),
                                        "a unit of another institute's study: you may not change it"))  # fmt: skip
        raw = study_raw[i]
        if raw is not None or unit is None:
            study_id = as_id(raw)
            found = studies.get(study_id) if study_id is not None else None
            problem = _study_problem(i, "" if raw is None else raw, found, viewer)
            if raw is None:
                problem = Problem(i + 1, "studyDbId", "", "required: the study of the new unit")
            if problem:
                problems.append(problem)
            else:
                row["study_id"] = study_id
        _germplasm_and_name(i, item, unit, species, row, problems)
        trial_raw = item.get("trialDbId")
        study_id = row.get("study_id", unit.study_id if unit else None)
        found = studies.get(study_id) if study_id is not None else None
        if trial_raw is not None and found is not None and as_id(trial_raw) != found[1].id:
            problems.append(
                Problem(i + 1, "trialDbId", str(trial_raw)[:40], "not the trial of the study")
            )
        acc = row.get("accession_id", unit.accession_id if unit else None)
        if found is not None and acc in species and species[acc] != found[1].species_id:
            problems.append(
                Problem(
                    i + 1,
                    "germplasmDbId",
                    str(acc),
                    "a germplasm of another species than the trial's",
                )
            )
        row.update(_position(i, item, problems))
        planned.append(row)
    if problems:
        raise ValidationError(SOURCE, problems)
    _unique_names(session, items, targets, planned, problems)
    if problems:
        raise ValidationError(SOURCE, problems)
    return _apply_units(session, items, targets, planned)


def _unique_names(
    session: Session,
    items: Sequence[Item],
    targets: Mapping[int, ObservationUnit],
    planned: list[dict[str, Any]],
    problems: list[Problem],
) -> None:
    keys: dict[tuple[int, str], int] = {}
    for i, ((target, _), row) in enumerate(zip(items, planned, strict=True)):
        unit = targets.get(target) if target is not None else None
        key = (
            row.get("study_id", unit.study_id if unit else 0),
            row.get("name", unit.name if unit else ""),
        )
        if key in keys:
            problems.append(Problem(i + 1, "observationUnitName", key[1],
                                    f"given twice in the study (first in item {keys[key]})"))  # fmt: skip
            continue
        keys[key] = i
        clash = session.scalar(
            select(ObservationUnit.id).where(
                ObservationUnit.study_id == key[0], ObservationUnit.name == key[1]
            )
        )
        if clash is not None and clash != target:
            problems.append(
                Problem(
                    i + 1, "observationUnitName", key[1], "a unit of this name exists in the study"
                )
            )


def _apply_units(
    session: Session,
    items: Sequence[Item],
    targets: Mapping[int, ObservationUnit],
    planned: list[dict[str, Any]],
) -> list[int]:
    out: list[int] = []
    touched: set[int] = set()
    for (target, _), row in zip(items, planned, strict=True):
        if target is None:
            unit = ObservationUnit(**{"level": "plot", "entry_type": "TEST", **row})
            session.add(unit)
            session.flush()
        else:
            unit = targets[target]
            old = unit.accession_id
            for key, value in row.items():
                setattr(unit, key, value)
            session.flush()
            if unit.accession_id != old:
                session.execute(
                    update(Observation)
                    .where(Observation.observation_unit_id == unit.id)
                    .values(accession_id=unit.accession_id)
                )
                touched |= {old, unit.accession_id}
        out.append(unit.id)
    if touched:
        refresh_trait_summary(session, sorted(touched))
    return out


# --------------------------------------------------------------------------- observations


def _check_scales(session: Session, rows: list[dict[str, Any]]) -> list[Problem]:
    """The import's own value checks (:mod:`germplasm.phenotypes`) on (item, variable, value)."""
    if not rows:
        return []
    df = pl.DataFrame(
        {
            ROW: [r["index"] + 1 for r in rows],
            "variable": [r["variable"] for r in rows],
            "value": [r["value"] for r in rows],
        },
        schema={ROW: pl.Int64, "variable": pl.String, "value": pl.String},
    )
    df = df.with_columns(
        [pl.lit("-").alias(c) for c in REQUIRED]
        + [pl.lit("").alias(c) for c in ("year", "replicate", "block", "row", "col", "date")]
    )
    df = df.join(variables_frame(session), on="variable", how="left")
    return [p for p in check_values(df) if p.column in ("value", "variable")]


def _value_fields(
    i: int,
    item: Mapping[str, Any],
    obs: Observation | None,
    row: dict[str, Any],
    problems: list[Problem],
) -> None:
    """Value, time stamp and collector of observation item ``i`` into ``row``."""
    raw = item.get("value", obs.value if obs else None)
    if (
        raw is None
        or isinstance(raw, bool)
        or not isinstance(raw, (str, int, float))
        or len(str(raw)) > 200
    ):
        problems.append(
            Problem(
                i + 1,
                "value",
                str(raw or "")[:40],
                "required: a text or number of at most 200 characters",
            )
        )
    else:
        row["value"] = str(raw).strip()
    raw = item.get("observationTimeStamp")
    row["observed_at"] = obs.observed_at if obs is not None and raw is None else ""
    if raw is not None:
        try:
            row["observed_at"] = stamp(raw) if isinstance(raw, str) else stamp("")
            if row["observed_at"][:10] > dt.date.today().isoformat():
                problems.append(Problem(i + 1, "observationTimeStamp", raw, "in the future"))
        except ValueError:
            problems.append(Problem(i + 1, "observationTimeStamp", str(raw)[:40],
                                    "not an ISO 8601 date or time (2024-05-01T08:30:00Z)"))  # fmt: skip
    raw = item.get("collector", obs.collector if obs else "")
    try:
        row["collector"] = _text(raw, 200) or ""
    except (TypeError, ValueError):
        problems.append(
            Problem(i + 1, "collector", str(raw)[:40], "a text of at most 200 characters")
        )


def _variable_of(
    i: int,
    item: Mapping[str, Any],
    obs: Observation | None,
    unit: ObservationUnit | None,
    variables: Mapping[int, ObservationVariable],
    species: Mapping[int, int],
    problems: list[Problem],
) -> ObservationVariable | None:
    """The variable of observation item ``i`` (by DbId, by name, or the observation's own)."""
    raw_var, raw_name = item.get("observationVariableDbId"), item.get("observationVariableName")
    variable = None
    if raw_var is not None:
        variable = variables.get(as_id(raw_var))  # type: ignore[arg-type]
    elif raw_name is not None:
        variable = (
            next((v for v in variables.values() if v.name == raw_name), None)
            if isinstance(raw_name, str)
            else None
        )
    elif obs is not None:
        variable = variables.get(obs.variable_id)
    if variable is None:
        field = (
            "observationVariableName"
            if raw_var is None and raw_name is not None
            else "observationVariableDbId"
        )
        shown = raw_var if raw_var is not None else raw_name
        problems.append(Problem(i + 1, field, str(shown or "")[:40],
                                "unknown observation variable" if shown is not None else "required"))  # fmt: skip
    elif (
        unit is not None
        and variable.species_id is not None
        and species.get(unit.accession_id) not in (None, variable.species_id)
    ):
        problems.append(Problem(i + 1, "observationVariableDbId", str(variable.id),
                                f"a variable of another species than germplasm {unit.accession_id}'s"))  # fmt: skip
    return variable


def write_observations(session: Session, items: Sequence[Item], viewer: Viewer) -> list[int]:
    """Create or update observations (an existing unit, variable and time stamp is updated).

    Parameters
    ----------
    session
        The request's session; committed by the caller.
    items
        (the observation's id to update or None, its BrAPI ``ObservationNewRequest``).
    viewer
        Who writes (an uploader or admin: the caller checked the role).

    Returns
    -------
    list of int
        The observations' ids, in item order.

    Raises
    ------
    ValidationError
        With every problem of every item; nothing is written.
    """
    problems: list[Problem] = []
    target_ids = {t for t, _ in items if t is not None}
    targets: dict[int, Observation] = {}
    if target_ids:
        targets = {
            o.id: o
            for o in session.scalars(
                select(Observation)
                .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
                .join(Study, Study.id == ObservationUnit.study_id)
                .join(Trial, Trial.id == Study.trial_id)
                .where(Observation.id.in_(target_ids), visible_clause(Trial, viewer))
            )
        }
    unit_ids = {u for u in (as_id(item.get("observationUnitDbId")) for _, item in items) if u}
    units = _units(session, unit_ids | {o.observation_unit_id for o in targets.values()}, viewer)
    studies = _writable_studies(session, {u.study_id for u in units.values()}, viewer)
    variables = {v.id: v for v in session.scalars(select(ObservationVariable))}
    species = _accession_species(session, {u.accession_id for u in units.values()})
    planned: list[dict[str, Any]] = []
    for i, (target, item) in enumerate(items):
        obs = targets.get(target) if target is not None else None
        if target is not None and obs is None:
            problems.append(Problem(i + 1, "observationDbId", str(target), "no such observation"))
            planned.append({})
            continue
        row: dict[str, Any] = {"index": i, "target": obs}
        raw = item.get("observationUnitDbId")
        unit_id = as_id(raw) if raw is not None else obs.observation_unit_id if obs else None
        unit = units.get(unit_id) if unit_id is not None else None
        if unit is None:
            problems.append(Problem(i + 1, "observationUnitDbId", str(raw or "")[:40],
                                    "no such observation unit" if raw is not None else "required"))  # fmt: skip
        else:
            found = studies.get(unit.study_id)
            if found is None or not _may_write(found[1], viewer):
                problems.append(Problem(i + 1, "observationUnitDbId", str(unit.id),
                                        "a unit of another institute's study: you may not write to it"))  # fmt: skip
            for field, expected in (
                ("germplasmDbId", unit.accession_id),
                ("studyDbId", unit.study_id),
            ):
                given = item.get(field)
                if given is not None and as_id(given) != expected:
                    problems.append(
                        Problem(i + 1, field, str(given)[:40], "not the observation unit's")
                    )
        row["unit"] = unit
        variable = _variable_of(i, item, obs, unit, variables, species, problems)
        row["variable"] = variable
        _value_fields(i, item, obs, row, problems)
        planned.append(row)
    checked = [
        {"index": r["index"], "variable": r["variable"].name, "value": r["value"]}
        for r in planned
        if r.get("variable") is not None and "value" in r
    ]
    for p in _check_scales(session, checked):
        field = "observationVariableDbId" if p.column == "variable" else p.column
        problems.append(Problem(p.row, field, p.value, p.reason))
    for r in planned:
        numeric = r.get("variable") is not None and r["variable"].data_type == "numerical"
        if (
            numeric
            and "value" in r
            and r["value"].lower().lstrip("+-") in ("nan", "inf", "infinity")
        ):
            problems.append(Problem(r["index"] + 1, "value", r["value"], "not a finite number"))
    if not problems:
        _duplicates(session, planned, problems)
    if problems:
        raise ValidationError(SOURCE, problems)
    return _apply_observations(session, planned)


def _duplicates(session: Session, planned: list[dict[str, Any]], problems: list[Problem]) -> None:
    seen: dict[tuple[int, int, str], int] = {}
    for row in planned:
        key = (row["unit"].id, row["variable"].id, row["observed_at"])
        if key in seen:
            problems.append(Problem(row["index"] + 1, "observationVariableDbId", str(key[1]),
                                    f"observation given twice (first in item {seen[key]})"))  # fmt: skip
            continue
        seen[key] = row["index"]
        existing = session.scalar(
            select(Observation.id).where(
                Observation.observation_unit_id == key[0],
                Observation.variable_id == key[1],
                Observation.observed_at == key[2],
            )
        )
        target = row["target"]
        if target is not None and existing is not None and existing != target.id:
            problems.append(Problem(row["index"] + 1, "observationTimeStamp", key[2],
                                    f"observation {existing} has this unit, variable and time stamp"))  # fmt: skip
        row["existing"] = existing


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _apply_observations(session: Session, planned: list[dict[str, Any]]) -> list[int]:
    out: list[int] = []
    touched: set[int] = set()
    for row in planned:
        obs = row["target"]
        if obs is None and row["existing"] is not None:
            obs = session.get(Observation, row["existing"])
        if obs is None:
            obs = Observation()
            session.add(obs)
        else:
            touched.add(obs.accession_id)
        obs.observation_unit_id = row["unit"].id
        obs.accession_id = row["unit"].accession_id
        obs.variable_id = row["variable"].id
        obs.value = row["value"]
        obs.numeric_value = _number(row["value"])
        obs.observed_at = row["observed_at"]
        obs.collector = row["collector"]
        session.flush()
        touched.add(obs.accession_id)
        out.append(obs.id)
    refresh_trait_summary(session, sorted(touched))
    return out
