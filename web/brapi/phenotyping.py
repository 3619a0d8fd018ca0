"""BrAPI v2.1 phenotyping calls: variables (traits, methods, scales), units and observations.

Our :class:`~germplasm.models.ObservationVariable` is a Crop Ontology
variable: one trait measured by one method on one scale. BrAPI serves the
three parts as objects of their own; here each variable has exactly one
trait, one method and one scale, and **their DbIds are the variable's DbId**
(the trait, method and scale of variable ``"7"`` are trait ``"7"``, method
``"7"`` and scale ``"7"``). They are stable as long as the variable is, and
``traitDbId``/``methodDbId``/``scaleDbId`` filters select variables by id. The
ontology of a variable is the prefix of its ``ontology_id`` (``CO_320`` of
``CO_320:0000073``), which is also its ``observationVariablePUI``.

An observation unit's position maps ``level`` to ``observationLevel`` (its
code is the unit's name), ``replicate`` and ``block`` to the ``rep`` and
``block`` level relationships, ``col``/``row`` to ``positionCoordinateX``/``Y``
(``GRID_COL``/``GRID_ROW``). Units and observations of a restricted trial are
answered only to its institute and admins (404 by id, absent from lists).

The writes (``POST``/``PUT`` of units and observations) are in
:mod:`web.brapi.phenotyping_write`. No SQL here: the queries are
:mod:`germplasm.brapi_phenotyping`'s.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, abort, request

from breedhub.germplasm import brapi_phenotyping as q
from breedhub.germplasm.models import ObservationVariable, Season
from breedhub.web.auth import current_viewer
from breedhub.web.brapi import (
    Paging,
    body_list,
    call,
    db_id_or_404,
    db_ids,
    paging,
    query_list,
    query_text,
    respond_list,
    respond_one,
    search,
)
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError

#: Search keys holding our integer DbIds (the others are texts).
INT_KEYS = frozenset(
    {
        "observationVariableDbIds", "traitDbIds", "methodDbIds", "scaleDbIds", "programDbIds",
        "trialDbIds", "studyDbIds", "locationDbIds", "seasonDbIds", "germplasmDbIds",
        "observationUnitDbIds", "observationDbIds",
    }
)  # fmt: skip

#: GET parameter -> search key, for every list call (a call reads those it documents).
_ARG_KEYS = {
    "traitClass": "traitClasses",
    "observationUnitLevelName": "observationLevelNames",
    "observationUnitLevelOrder": "observationLevelOrders",
    "observationUnitLevelCode": "observationLevelCodes",
    "observationLevel": "observationLevelNames",
    "observationUnitLevelRelationshipName": "observationLevelRelationshipNames",
    "observationUnitLevelRelationshipOrder": "observationLevelRelationshipOrders",
    "observationUnitLevelRelationshipCode": "observationLevelRelationshipCodes",
    "observationUnitLevelRelationshipDbId": "observationLevelRelationshipDbIds",
}
_DESIGN = ("programDbId", "trialDbId", "studyDbId", "locationDbId", "seasonDbId", "germplasmDbId",
           "commonCropName", "externalReferenceID", "externalReferenceId", "externalReferenceSource")  # fmt: skip
_LEVELS = ("observationUnitLevelName", "observationUnitLevelOrder", "observationUnitLevelCode",
           "observationUnitLevelRelationshipName", "observationUnitLevelRelationshipOrder",
           "observationUnitLevelRelationshipCode", "observationUnitLevelRelationshipDbId")  # fmt: skip
VARIABLE_ARGS = ("observationVariableDbId", "observationVariableName", "observationVariablePUI",
                 "traitClass", "methodDbId", "methodName", "methodPUI", "scaleDbId", "scaleName",
                 "scalePUI", "traitDbId", "traitName", "traitPUI", "ontologyDbId", "commonCropName",
                 "programDbId", "trialDbId", "studyDbId", "externalReferenceID",
                 "externalReferenceId", "externalReferenceSource")  # fmt: skip
PART_ARGS = ("observationVariableDbId", "ontologyDbId", "commonCropName", "programDbId",
             "externalReferenceID", "externalReferenceId", "externalReferenceSource")  # fmt: skip
UNIT_ARGS = ("observationUnitDbId", "observationUnitName", *_DESIGN, *_LEVELS)
OBSERVATION_ARGS = ("observationDbId", "observationUnitDbId", "observationVariableDbId",
                    *_DESIGN, *_LEVELS)  # fmt: skip
TABLE_ARGS = ("observationUnitDbId", "observationVariableDbId", "observationLevel", *_DESIGN,
              *_LEVELS)  # fmt: skip

_DATA_TYPES = {"numerical": "Numerical", "ordinal": "Ordinal", "nominal": "Nominal"}


# --------------------------------------------------------------------------- parameters


def _key(name: str) -> str:
    return _ARG_KEYS.get(name, name + "s")


def _typed(key: str, values: list[str]) -> list[Any]:
    return db_ids(values) if key in INT_KEYS else values


def timestamp(name: str, raw: str) -> str:
    """An ISO 8601 date or date-time as UTC text ``YYYY-MM-DDTHH:MM:SSZ`` (a date: its midnight).

    Raises
    ------
    InvalidParameterError
        When ``raw`` is not ISO 8601.
    """
    try:
        moment = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidParameterError(
            name, "must be an ISO 8601 date or time (2024-05-01T08:30:00Z)", raw[:40]
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def args_filters(names: Iterable[str]) -> dict[str, list[Any]]:
    """The filters of a GET list call: each of ``names`` given in the query string."""
    out: dict[str, list[Any]] = {}
    for name in names:
        values = query_list(name)
        if values:
            key = _key(name)
            out[key] = out.get(key, []) + _typed(key, values)
    for name in ("observationTimeStampRangeStart", "observationTimeStampRangeEnd"):
        raw = query_text(name)
        if raw is not None:
            out[name] = [timestamp(name, raw)]
    return out


def _levels(body: Mapping[str, Any], name: str, prefix: str) -> dict[str, list[str]]:
    raw = body.get(name)
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise InvalidParameterError(name, "must be a list of {levelName, levelCode} objects")
    out: dict[str, list[str]] = {}
    for level in raw:
        for field, suffix in (("levelName", "Names"), ("levelCode", "Codes")):
            value = level.get(field)
            if value is not None:
                out.setdefault(prefix + suffix, []).extend(body_list({field: value}, field))
    return out


def body_filters(body: Mapping[str, Any], keys: Iterable[str]) -> dict[str, list[Any]]:
    """The filters of a search request body (the plural keys the search documents)."""
    out: dict[str, list[Any]] = {}
    for key in keys:
        if body.get(key) is not None:
            out[key] = _typed(key, body_list(body, key))
    if body.get("studyDbId") is not None:  # deprecated singular of the variables search
        out["studyDbIds"] = out.get("studyDbIds", []) + _typed(
            "studyDbIds", body_list(body, "studyDbId")
        )
    out.update(_levels(body, "observationLevels", "observationLevel"))
    out.update(_levels(body, "observationLevelRelationships", "observationLevelRelationship"))
    for name in ("observationTimeStampRangeStart", "observationTimeStampRangeEnd"):
        raw = body.get(name)
        if raw is not None:
            if not isinstance(raw, str):
                raise InvalidParameterError(name, "must be an ISO 8601 text")
            out[name] = [timestamp(name, raw)]
    return out


def _include_observations(raw: object) -> bool:
    if raw is None or raw is False or raw == "" or raw == "false":
        return False
    if raw is True or raw == "true":
        return True
    raise InvalidParameterError("includeObservations", "must be true or false", str(raw)[:40])


# --------------------------------------------------------------------------- objects


def _ontology(variable: ObservationVariable) -> dict[str, Any] | None:
    if ":" not in variable.ontology_id:
        return None
    name = variable.ontology_id.split(":", 1)[0]
    return {"ontologyDbId": name, "ontologyName": name, "version": None, "documentationLinks": []}


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _whole(value: float | None) -> int | None:
    return int(value) if value is not None and float(value).is_integer() else None


def trait(variable: ObservationVariable) -> dict[str, Any]:
    """The BrAPI trait of a variable (its DbId is the variable's)."""
    return {
        "additionalInfo": {},
        "alternativeAbbreviations": [],
        "attribute": None,
        "attributePUI": None,
        "entity": None,
        "entityPUI": None,
        "externalReferences": [],
        "mainAbbreviation": None,
        "ontologyReference": _ontology(variable),
        "status": None,
        "synonyms": [],
        "traitClass": variable.trait_class or None,
        "traitDbId": str(variable.id),
        "traitDescription": variable.description or None,
        "traitName": variable.trait or variable.name,
        "traitPUI": None,
    }


def method(variable: ObservationVariable) -> dict[str, Any]:
    """The BrAPI method of a variable: our method text is both its name and its description."""
    return {
        "additionalInfo": {},
        "bibliographicalReference": None,
        "description": variable.method or None,
        "externalReferences": [],
        "formula": None,
        "methodClass": None,
        "methodDbId": str(variable.id),
        "methodName": variable.method or variable.name,
        "methodPUI": None,
        "ontologyReference": _ontology(variable),
    }


def scale(variable: ObservationVariable) -> dict[str, Any]:
    """The BrAPI scale of a variable: data type, unit, limits and categories."""
    categories = [
        {"value": str(c.get("value")), "label": None if c.get("label") is None else str(c["label"])}
        for c in (variable.categories or [])
        if isinstance(c, dict)
    ]
    return {
        "additionalInfo": {},
        "dataType": _DATA_TYPES.get(variable.data_type),
        "decimalPlaces": None,
        "externalReferences": [],
        "ontologyReference": _ontology(variable),
        "scaleDbId": str(variable.id),
        "scaleName": variable.scale or variable.unit or variable.name,
        "scalePUI": None,
        "units": variable.unit or None,
        "validValues": {
            "categories": categories,
            "maximumValue": _number(variable.max_value),
            "minimumValue": _number(variable.min_value),
            "max": _whole(variable.max_value),
            "min": _whole(variable.min_value),
        },
    }


def variable_object(variable: ObservationVariable, species: str | None) -> dict[str, Any]:
    """The BrAPI observation variable; its breeding direction goes to ``additionalInfo``.

    ``additionalInfo`` holds texts only (the specification's type):
    ``{"direction": "optimum", "optimum": "100"}``.
    """
    info: dict[str, str] = {"direction": variable.direction}
    if variable.optimum is not None:
        info["optimum"] = f"{variable.optimum:g}"
    return {
        "additionalInfo": info,
        "commonCropName": species,
        "contextOfUse": [],
        "defaultValue": None,
        "documentationURL": None,
        "externalReferences": [],
        "growthStage": None,
        "institution": None,
        "language": None,
        "method": method(variable),
        "observationVariableDbId": str(variable.id),
        "observationVariableName": variable.name,
        "observationVariablePUI": variable.ontology_id or None,
        "ontologyReference": _ontology(variable),
        "scale": scale(variable),
        "scientist": None,
        "status": None,
        "submissionTimestamp": None,
        "synonyms": [],
        "trait": trait(variable),
    }


def _season(season: Season | None) -> dict[str, Any] | None:
    if season is None:
        return None
    return {
        "season": season.name or None,
        "seasonDbId": str(season.id),
        "seasonName": season.name or None,
        "year": season.year,
    }


def observation_object(row: q.ObservationRow) -> dict[str, Any]:
    """The BrAPI observation of a row of :func:`germplasm.brapi_phenotyping.observation_rows`."""
    obs = row.observation
    return {
        "additionalInfo": {},
        "collector": obs.collector or None,
        "externalReferences": [],
        "geoCoordinates": None,
        "germplasmDbId": str(obs.accession_id),
        "germplasmName": row.germplasm_name,
        "observationDbId": str(obs.id),
        "observationTimeStamp": obs.observed_at or None,
        "observationUnitDbId": str(obs.observation_unit_id),
        "observationUnitName": row.unit_name,
        "observationVariableDbId": str(obs.variable_id),
        "observationVariableName": row.variable_name,
        "season": _season(row.season),
        "studyDbId": str(row.study_id),
        "uploadedBy": None,
        "value": obs.value,
    }


def _relationships(row: q.UnitRow) -> list[dict[str, Any]]:
    unit = row.unit
    return [
        {"levelCode": str(value), "levelName": name, "levelOrder": q.LEVEL_ORDER[name],
         "observationUnitDbId": None}
        for name, value in (("rep", unit.replicate), ("block", unit.block))
        if value is not None
    ]  # fmt: skip


def unit_object(row: q.UnitRow, observations: list[q.ObservationRow] | None) -> dict[str, Any]:
    """The BrAPI observation unit of a row of :func:`germplasm.brapi_phenotyping.unit_rows`."""
    unit = row.unit
    return {
        "additionalInfo": {},
        "crossDbId": None,
        "crossName": None,
        "externalReferences": [],
        "germplasmDbId": str(unit.accession_id),
        "germplasmName": row.germplasm_name,
        "locationDbId": None if row.location_id is None else str(row.location_id),
        "locationName": row.location_name,
        "observationUnitDbId": str(unit.id),
        "observationUnitName": unit.name,
        "observationUnitPUI": None,
        "observationUnitPosition": {
            "entryType": unit.entry_type
            if unit.entry_type in ("CHECK", "TEST", "FILLER")
            else None,
            "geoCoordinates": None,
            "observationLevel": {
                "levelCode": unit.name,
                "levelName": unit.level,
                "levelOrder": q.LEVEL_ORDER.get(unit.level),
            },
            "observationLevelRelationships": _relationships(row),
            "positionCoordinateX": None if unit.col is None else str(unit.col),
            "positionCoordinateXType": None if unit.col is None else "GRID_COL",
            "positionCoordinateY": None if unit.row is None else str(unit.row),
            "positionCoordinateYType": None if unit.row is None else "GRID_ROW",
        },
        "observations": [observation_object(o) for o in observations or []],
        "programDbId": None if row.program_id is None else str(row.program_id),
        "programName": row.program_name,
        "seedLotDbId": None,
        "seedLotName": None,
        "studyDbId": str(unit.study_id),
        "studyName": row.study_name,
        "treatments": [],
        "trialDbId": str(row.trial_id),
        "trialName": row.trial_name,
    }


# --------------------------------------------------------------------------- variables


def _variables(filters: Mapping[str, Any], page: Paging) -> tuple[list[Any], int]:
    return q.variable_rows(
        get_session(), filters, current_viewer(), offset=page.offset, limit=page.page_size
    )


@call("variables")
def variables() -> Response:
    page = paging()
    rows, total = _variables(args_filters(VARIABLE_ARGS), page)
    return respond_list([variable_object(v, sp) for v, sp in rows], total, page)


def _one_variable(raw: str, what: str) -> tuple[ObservationVariable, str | None]:
    key = db_id_or_404(raw, what)
    rows, _ = _variables({"observationVariableDbIds": [key]}, Paging(0, 1))
    if not rows:
        abort(404, description=f"There is no {what} with DbId {raw!r}.")
    return rows[0]


@call("variables/{observationVariableDbId}")
def variable(observationVariableDbId: str) -> Response:
    return respond_one(variable_object(*_one_variable(observationVariableDbId, "variable")))


_VARIABLE_SEARCH = (
    "observationVariableDbIds", "observationVariableNames", "observationVariablePUIs",
    "traitClasses", "methodDbIds", "methodNames", "methodPUIs", "scaleDbIds", "scaleNames",
    "scalePUIs", "traitDbIds", "traitNames", "traitPUIs", "traitEntities", "traitEntityPUIs",
    "traitAttributes", "traitAttributePUIs", "ontologyDbIds", "commonCropNames", "dataTypes",
    "programDbIds", "programNames", "trialDbIds", "trialNames", "studyDbIds", "studyNames",
    "externalReferenceIDs", "externalReferenceIds", "externalReferenceSources",
)  # fmt: skip


def _search_variables(body: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    rows, total = _variables(body_filters(body, _VARIABLE_SEARCH), page)
    return [variable_object(v, sp) for v, sp in rows], total


search("variables", _search_variables)


def _parts(build: Any, own: str) -> Response:
    page = paging()
    filters = args_filters(PART_ARGS)
    ids = query_list(own)
    if ids:
        filters[own + "s"] = db_ids(ids)
    rows, total = _variables(filters, page)
    return respond_list([build(v) for v, _ in rows], total, page)


@call("traits")
def traits() -> Response:
    return _parts(trait, "traitDbId")


@call("traits/{traitDbId}")
def trait_one(traitDbId: str) -> Response:
    return respond_one(trait(_one_variable(traitDbId, "trait")[0]))


@call("methods")
def methods() -> Response:
    return _parts(method, "methodDbId")


@call("methods/{methodDbId}")
def method_one(methodDbId: str) -> Response:
    return respond_one(method(_one_variable(methodDbId, "method")[0]))


@call("scales")
def scales() -> Response:
    return _parts(scale, "scaleDbId")


@call("scales/{scaleDbId}")
def scale_one(scaleDbId: str) -> Response:
    return respond_one(scale(_one_variable(scaleDbId, "scale")[0]))


@call("ontologies")
def ontologies_list() -> Response:
    page = paging()
    names = q.ontologies(get_session())
    for param in ("ontologyDbId", "ontologyName"):
        wanted = query_list(param)
        if wanted:
            names = [n for n in names if n in wanted]
    data: list[dict[str, Any]] = [
        {"additionalInfo": {}, "authors": None, "copyright": None, "description": None,
         "documentationURL": None, "licence": None, "ontologyDbId": n, "ontologyName": n,
         "version": None}
        for n in names[page.offset : page.offset + page.page_size]
    ]  # fmt: skip
    return respond_list(data, len(names), page)


@call("observationlevels")
def observation_levels() -> Response:
    page = paging()
    levels = q.observation_levels(
        get_session(), args_filters(("programDbId", "trialDbId", "studyDbId")), current_viewer()
    )
    data = [
        {"levelName": n, "levelOrder": q.LEVEL_ORDER.get(n)}
        for n in levels[page.offset : page.offset + page.page_size]
    ]
    return respond_list(data, len(levels), page)


# --------------------------------------------------------------------------- units


def units_page(
    filters: Mapping[str, Any], page: Paging, *, include: bool
) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI observation units (with their observations when ``include``)."""
    session = get_session()
    rows, total = q.unit_rows(
        session, filters, current_viewer(), offset=page.offset, limit=page.page_size
    )
    observed = q.observations_of_units(session, [r.unit.id for r in rows]) if include else {}
    return [unit_object(r, observed.get(r.unit.id)) for r in rows], total


@call("observationunits")
def observation_units() -> Response:
    page = paging()
    include = _include_observations(request.args.get("includeObservations"))
    data, total = units_page(args_filters(UNIT_ARGS), page, include=include)
    return respond_list(data, total, page)


def one_unit(raw: str) -> dict[str, Any]:
    """The visible unit ``raw`` with its observations, or a 404."""
    key = db_id_or_404(raw, "observation unit")
    data, _ = units_page({"observationUnitDbIds": [key]}, Paging(0, 1), include=True)
    if not data:
        abort(404, description=f"There is no observation unit with DbId {raw!r}.")
    return data[0]


@call("observationunits/{observationUnitDbId}")
def observation_unit(observationUnitDbId: str) -> Response:
    return respond_one(one_unit(observationUnitDbId))


_UNIT_SEARCH = (
    "observationUnitDbIds", "observationUnitNames", "germplasmDbIds", "germplasmNames",
    "studyDbIds", "studyNames", "trialDbIds", "trialNames", "programDbIds", "programNames",
    "locationDbIds", "locationNames", "seasonDbIds", "commonCropNames",
    "observationVariableDbIds", "observationVariableNames", "observationVariablePUIs",
    "externalReferenceIDs", "externalReferenceIds", "externalReferenceSources",
)  # fmt: skip


def _search_units(body: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    include = _include_observations(body.get("includeObservations"))
    return units_page(body_filters(body, _UNIT_SEARCH), page, include=include)


search("observationunits", _search_units)


# --------------------------------------------------------------------------- observations


def observations_page(filters: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI observations the caller may see."""
    rows, total = q.observation_rows(
        get_session(), filters, current_viewer(), offset=page.offset, limit=page.page_size
    )
    return [observation_object(r) for r in rows], total


@call("observations")
def observations() -> Response:
    page = paging()
    data, total = observations_page(args_filters(OBSERVATION_ARGS), page)
    return respond_list(data, total, page)


def one_observation(raw: str) -> dict[str, Any]:
    """The visible observation ``raw``, or a 404."""
    key = db_id_or_404(raw, "observation")
    data, _ = observations_page({"observationDbIds": [key]}, Paging(0, 1))
    if not data:
        abort(404, description=f"There is no observation with DbId {raw!r}.")
    return data[0]


@call("observations/{observationDbId}")
def observation(observationDbId: str) -> Response:
    return respond_one(one_observation(observationDbId))


_OBSERVATION_SEARCH = (
    "observationDbIds", "observationUnitDbIds", "observationVariableDbIds",
    "observationVariableNames", "observationVariablePUIs", "germplasmDbIds", "germplasmNames",
    "studyDbIds", "studyNames", "trialDbIds", "trialNames", "programDbIds", "programNames",
    "locationDbIds", "locationNames", "seasonDbIds", "commonCropNames",
    "externalReferenceIDs", "externalReferenceIds", "externalReferenceSources",
)  # fmt: skip


def _search_observations(body: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    return observations_page(body_filters(body, _OBSERVATION_SEARCH), page)


search("observations", _search_observations)


# --------------------------------------------------------------------------- tables

_UNIT_HEADER = ["observationUnitDbId", "observationUnitName", "studyDbId", "studyName",
                "germplasmDbId", "germplasmName", "positionCoordinateX", "positionCoordinateY",
                "year", "block", "rep"]  # fmt: skip


def _cells(row: q.TableRow, variables: list[tuple[int, str]], *, stamp: bool) -> list[str]:
    unit = row.unit.unit

    def text(value: object) -> str:
        return "" if value is None else str(value)

    cells = [row.timestamp] if stamp else []
    cells += [str(unit.id), unit.name, str(unit.study_id), row.unit.study_name,
              str(unit.accession_id), row.unit.germplasm_name, text(unit.col), text(unit.row),
              text(row.year), text(unit.block), text(unit.replicate)]  # fmt: skip
    return cells + [row.values.get(v, "") for v, _ in variables]


def _table(build: Any, args: Iterable[str], *, stamp: bool) -> Response:
    page = paging()
    filters = args_filters(args)
    variables, rows, total = build(
        get_session(), filters, current_viewer(), offset=page.offset, limit=page.page_size
    )
    header = (["observationTimeStamp"] if stamp else []) + _UNIT_HEADER
    data = [_cells(r, variables, stamp=stamp) for r in rows]
    accept = request.headers.get("Accept", "")
    delimiter = "\t" if "text/tsv" in accept else "," if "text/csv" in accept else None
    if delimiter is not None and "application/json" not in accept:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header + [str(v) for v, _ in variables])
        writer.writerow([""] * len(header) + [n for _, n in variables])
        writer.writerows(data)
        kind = "text/tab-separated-values" if delimiter == "\t" else "text/csv"
        return Response(out.getvalue(), mimetype="text/tsv" if delimiter == "\t" else kind)
    extra = {
        "headerRow": header,
        "observationVariables": [
            {"observationVariableDbId": str(v), "observationVariableName": n} for v, n in variables
        ],
    }
    return respond_list(data, total, page, extra=extra)


@call("observations/table")
def observations_table() -> Response:
    return _table(q.observation_table, TABLE_ARGS, stamp=True)


@call("observationunits/table")
def observation_units_table() -> Response:
    return _table(q.unit_table, TABLE_ARGS, stamp=False)


from breedhub.web.brapi import phenotyping_write  # noqa: E402, F401
