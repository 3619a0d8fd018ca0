"""BrAPI v2.1 Core calls: crops, programs, trials, studies, locations, seasons, lists, people.

Read-only (``GET`` lists, ``GET`` by id, and ``POST /search/...``); the
queries and the rules of who sees what are in :mod:`germplasm.brapi_core`:

- ``commoncropnames``: one name per species in the database, its registry
  key (:func:`germplasm.brapi_core.common_crop_name`, used by every call);
- ``programs``: breeding programmes, all ``STANDARD``;
- ``trials`` and ``studies``: restricted trials (and their studies) of
  another institute are absent from lists and answered 404 by id; a trial
  is ``active`` between its start and end dates, a study when its trial is;
- ``locations``, ``seasons``; ``studytypes`` is empty (we keep no study types);
- ``lists``: selection lists, all of type ``germplasm``, items are
  germplasmDbIds, seen as in the portal (public, own institute, own);
- ``people``: user accounts, to signed-in callers only (an anonymous caller
  gets an empty list and 404 by id): username as ``userID``, role and
  institute in ``description`` and ``additionalInfo``; never passwords,
  tokens or e-mail addresses.

Filters on what we never store (external references, PUIs, contacts, study
codes, list sources, first and last names) match nothing; unknown DbIds
match nothing; malformed values (a page of -1, a NUL byte, a date that is
not one) are a 400.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, abort, request

from breedhub.germplasm import brapi_core as q
from breedhub.germplasm.mcpd import countries
from breedhub.germplasm.selection_lists import list_accession_ids
from breedhub.web.auth import current_viewer
from breedhub.web.brapi import (
    Paging,
    body_list,
    call,
    check_text,
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

Obj = dict[str, Any]

#: Query parameters (GET) and search fields (POST) about what we never store.
_NEVER_QUERY = ("externalReferenceID", "externalReferenceId", "externalReferenceSource")
_NEVER_BODY = ("externalReferenceIDs", "externalReferenceIds", "externalReferenceSources")


# --- parameters ------------------------------------------------------------------------------


def _arg_ids(name: str) -> list[int] | None:
    values = query_list(name)
    return db_ids(values) if values else None


def _arg_texts(name: str) -> list[str] | None:
    value = query_text(name)
    return None if value is None else [value]


def _arg_bool(name: str) -> bool | None:
    value = query_text(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise InvalidParameterError(name, "must be true or false", value[:40])
    return value.lower() == "true"


def _date(name: str, value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(check_text(name, value.strip())[:10])
        except ValueError:
            pass
    raise InvalidParameterError(name, "must be a date YYYY-MM-DD", str(value)[:40])


def _datetime(name: str, value: object) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(
                check_text(name, value.strip()).replace("Z", "+00:00")
            )
        except ValueError:
            pass
        else:  # stored as naive UTC
            if moment.tzinfo is not None:
                moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return moment
    raise InvalidParameterError(name, "must be a date and time (ISO 8601)", str(value)[:40])


def _given(names: tuple[str, ...], source: Mapping[str, Any]) -> bool:
    for name in names:
        value = source.get(name)
        if isinstance(value, str):
            check_text(name, value)
        if value not in (None, "", []):
            return True
    return False


def _sort(sort_by: object, sort_order: object, allowed: tuple[str, ...]) -> tuple[str | None, bool]:
    if sort_by in (None, ""):
        sort_by = None
    elif sort_by not in allowed:
        raise InvalidParameterError(
            "sortBy", f"must be one of {', '.join(allowed)}", str(sort_by)[:40]
        )
    if sort_order in (None, ""):
        return sort_by, False  # type: ignore[return-value]
    if not isinstance(sort_order, str) or sort_order.upper() not in ("ASC", "DESC"):
        raise InvalidParameterError("sortOrder", "must be ASC or DESC", str(sort_order)[:40])
    return sort_by, sort_order.upper() == "DESC"  # type: ignore[return-value]


def _body_ids(body: Mapping[str, Any], name: str) -> list[int] | None:
    values = body_list(body, name)
    return db_ids(values) if values else None


def _body_texts(body: Mapping[str, Any], name: str) -> list[str] | None:
    return body_list(body, name) or None


def _body_bool(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidParameterError(name, "must be true or false", str(value)[:40])


def _body_number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > 1e9:
        raise InvalidParameterError(name, "must be a number", str(value)[:40])
    return float(value)


def _common(body: Mapping[str, Any]) -> q.CoreFilter:
    """The search fields most Core searches share (crops, programmes, external references)."""
    return q.CoreFilter(
        crops=_body_texts(body, "commonCropNames"),
        program_ids=_body_ids(body, "programDbIds"),
        program_names=_body_texts(body, "programNames"),
        nothing=_given(_NEVER_BODY, body),
    )


def _query_common() -> q.CoreFilter:
    return q.CoreFilter(
        crops=_arg_texts("commonCropName"),
        program_ids=_arg_ids("programDbId"),
        nothing=_given(_NEVER_QUERY, request.args),
    )


# --- BrAPI objects ---------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    return value if value else None


def _info(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def _program(row: tuple[Any, str | None, str | None]) -> Obj:
    program, crop, institute = row
    return {
        "programDbId": str(program.id),
        "programName": program.name,
        "abbreviation": _text(program.abbreviation),
        "objective": _text(program.objective),
        "programType": "STANDARD",
        "commonCropName": crop,
        "leadPersonDbId": None,
        "leadPersonName": _text(program.leader),
        "documentationURL": None,
        "fundingInformation": None,
        "additionalInfo": _info(instituteCode=institute),
        "externalReferences": [],
    }


def _date_text(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _trial(row: tuple[Any, str, str | None, str | None]) -> Obj:
    trial, crop, program_name, institute = row
    return {
        "trialDbId": str(trial.id),
        "trialName": trial.name,
        "trialDescription": _text(trial.description),
        "trialPUI": None,
        "active": q.is_active(trial),
        "startDate": _date_text(trial.start_date),
        "endDate": _date_text(trial.end_date),
        "commonCropName": crop,
        "programDbId": None if trial.program_id is None else str(trial.program_id),
        "programName": program_name,
        "contacts": [],
        "datasetAuthorships": [],
        "publications": [],
        "documentationURL": None,
        "additionalInfo": _info(instituteCode=institute, visibility=trial.visibility),
        "externalReferences": [],
    }


#: BrAPI's standard observation levels, top to bottom (``levelOrder``).
_LEVELS = ("study", "field", "entry", "rep", "block", "sub-block", "plot", "sub-plot", "plant",
           "pot", "sample")  # fmt: skip


def _study(row: q.StudyRow) -> Obj:
    study, trial = row.study, row.trial
    levels = [
        {"levelName": level, "levelOrder": _LEVELS.index(level) if level in _LEVELS else None}
        for level in row.levels
    ]
    return {
        "studyDbId": str(study.id),
        "studyName": study.name,
        "studyDescription": _text(study.description),
        "studyCode": None,
        "studyPUI": None,
        "studyType": None,
        "active": row.active,
        "startDate": None,
        "endDate": None,
        "commonCropName": row.crop,
        "trialDbId": str(trial.id),
        "trialName": trial.name,
        "locationDbId": None if study.location_id is None else str(study.location_id),
        "locationName": row.location_name,
        "seasons": [] if study.season_id is None else [str(study.season_id)],
        "experimentalDesign": {"description": study.design, "PUI": None} if study.design else None,
        "observationLevels": levels,
        "observationVariableDbIds": [str(v) for v in row.variable_ids],
        "observationUnitsDescription": None,
        "contacts": [],
        "dataLinks": [],
        "environmentParameters": [],
        "culturalPractices": None,
        "growthFacility": None,
        "lastUpdate": None,
        "license": None,
        "documentationURL": None,
        "additionalInfo": _info(visibility=trial.visibility),
        "externalReferences": [],
    }


def _location(loc: Any) -> Obj:
    coordinates = None
    if loc.latitude is not None and loc.longitude is not None:
        point = [loc.longitude, loc.latitude]
        if loc.altitude is not None:
            point.append(loc.altitude)
        coordinates = {"type": "Feature", "geometry": {"type": "Point", "coordinates": point}}
    return {
        "locationDbId": str(loc.id),
        "locationName": loc.name,
        "abbreviation": _text(loc.abbreviation),
        "locationType": _text(loc.location_type),
        "countryCode": _text(loc.country),
        "countryName": countries().get(loc.country) if loc.country else None,
        "coordinates": coordinates,
        "coordinateDescription": None,
        "coordinateUncertainty": None,
        "instituteName": None,
        "instituteAddress": None,
        "parentLocationDbId": None,
        "parentLocationName": None,
        "siteStatus": None,
        "slope": None,
        "exposure": None,
        "environmentType": None,
        "topography": None,
        "documentationURL": None,
        "additionalInfo": {},
        "externalReferences": [],
    }


def _season(season: Any) -> Obj:
    return {"seasonDbId": str(season.id), "seasonName": _text(season.name), "year": season.year}


def _timestamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def _list(row: tuple[Any, str | None, str | None, int]) -> Obj:
    lst, owner, institute, size = row
    return {
        "listDbId": str(lst.id),
        "listName": lst.name,
        "listDescription": _text(lst.description),
        "listType": "germplasm",
        "listSize": size,
        "listSource": None,
        "listOwnerName": owner,
        "listOwnerPersonDbId": None if lst.owner_id is None else str(lst.owner_id),
        "dateCreated": _timestamp(lst.created_at),
        "dateModified": None,
        "additionalInfo": _info(instituteCode=institute, visibility=lst.visibility),
        "externalReferences": [],
    }


def _person(row: tuple[Any, str | None, str | None]) -> Obj:
    user, institute, institute_name = row
    return {
        "personDbId": str(user.id),
        "userID": user.username,
        "firstName": None,
        "middleName": None,
        "lastName": None,
        "description": f"{user.role}, {institute}" if institute else user.role,
        "emailAddress": None,
        "phoneNumber": None,
        "mailingAddress": None,
        "additionalInfo": _info(
            fullName=user.full_name,
            role=user.role,
            instituteCode=institute,
            instituteName=institute_name,
            active=str(bool(user.active)).lower(),
        ),  # fmt: skip
        "externalReferences": [],
    }


# --- calls -----------------------------------------------------------------------------------

Query = Callable[[q.CoreFilter, Paging], tuple[list[Any], int]]


def _listing(query: Query, f: q.CoreFilter, to_brapi: Callable[[Any], Obj]) -> Response:
    page = paging()
    rows, total = query(f, page)
    return respond_list([to_brapi(r) for r in rows], total, page)


def _one(query: Query, raw: str, what: str, to_brapi: Callable[[Any], Obj]) -> Response:
    rows, _ = query(q.CoreFilter(ids=[db_id_or_404(raw, what)]), Paging(0, 1))
    if not rows:
        abort(404, description=f"There is no {what} with DbId {raw!r}.")
    return respond_one(to_brapi(rows[0]))


def _runner(
    query: Query, to_brapi: Callable[[Any], Obj], read: Callable[[Mapping[str, Any]], q.CoreFilter]
) -> Callable[[Mapping[str, Any], Paging], tuple[list[Obj], int]]:
    def run(body: Mapping[str, Any], page: Paging) -> tuple[list[Obj], int]:
        rows, total = query(read(body), page)
        return [to_brapi(r) for r in rows], total

    return run


def _programs(f: q.CoreFilter, page: Paging) -> tuple[list[Any], int]:
    return q.programs(get_session(), f, page.offset, page.page_size)


def _trials(f: q.CoreFilter, page: Paging) -> tuple[list[Any], int]:
    return q.trials(get_session(), current_viewer(), f, page.offset, page.page_size)


def _studies(f: q.CoreFilter, page: Paging) -> tuple[list[Any], int]:
    return q.studies(get_session(), current_viewer(), f, page.offset, page.page_size)


def _locations(f: q.CoreFilter, page: Paging) -> tuple[list[Any], int]:
    return q.locations(get_session(), current_viewer(), f, page.offset, page.page_size)


def _seasons(f: q.CoreFilter, page: Paging) -> tuple[list[Any], int]:
    return q.seasons(get_session(), f, page.offset, page.page_size)


def _lists(f: q.CoreFilter, page: Paging) -> tuple[list[Any], int]:
    return q.list_rows(get_session(), current_viewer(), f, page.offset, page.page_size)


def _people(f: q.CoreFilter, page: Paging) -> tuple[list[Any], int]:
    return q.people(get_session(), current_viewer(), f, page.offset, page.page_size)


@call("commoncropnames")
def commoncropnames() -> Response:
    page = paging()
    names, total = q.crop_names(get_session(), page.offset, page.page_size)
    return respond_list(names, total, page)  # type: ignore[arg-type]


@call("studytypes")
def studytypes() -> Response:
    """We keep no study types (a study's design is not its type): always empty."""
    return respond_list([], 0, paging())


# programs

_PROGRAM_TYPES = ("STANDARD", "STANARD", "PROJECT")


def _program_type(name: str, value: object) -> str:
    if not isinstance(value, str) or value.upper() not in _PROGRAM_TYPES:
        raise InvalidParameterError(name, "must be STANDARD or PROJECT", str(value)[:40])
    return value.upper()


@call("programs")
def programs_list() -> Response:
    f = _query_common()
    f.ids, f.program_ids = f.program_ids, None
    f.names = _arg_texts("programName")
    f.abbreviations = _arg_texts("abbreviation")
    kind = query_text("programType")
    f.types = None if kind is None else [_program_type("programType", kind)]
    return _listing(_programs, f, _program)


@call("programs/{programDbId}")
def programs_one(programDbId: str) -> Response:
    return _one(_programs, programDbId, "program", _program)


def _program_search(body: Mapping[str, Any]) -> q.CoreFilter:
    f = _common(body)
    f.ids, f.program_ids = f.program_ids, None
    f.names, f.program_names = f.program_names, None
    f.abbreviations = _body_texts(body, "abbreviations")
    types = body_list(body, "programTypes")
    f.types = [_program_type("programTypes", t) for t in types] if types else None
    objectives, leads = _body_texts(body, "objectives"), _body_texts(body, "leadPersonNames")
    f.nothing = f.nothing or _given(("leadPersonDbIds",), body) or bool(objectives or leads)
    return f


search("programs", _runner(_programs, _program, _program_search))


# trials

_TRIAL_SORTS = ("trialDbId", "trialName", "programDbId", "programName", "locationDbId",
                "startDate", "endDate")  # fmt: skip


@call("trials")
def trials_list() -> Response:
    f = _query_common()
    f.ids = _arg_ids("trialDbId")
    f.names = _arg_texts("trialName")
    f.study_ids = _arg_ids("studyDbId")
    f.location_ids = _arg_ids("locationDbId")
    f.active = _arg_bool("active")
    f.date_start = _date("searchDateRangeStart", query_text("searchDateRangeStart"))
    f.date_end = _date("searchDateRangeEnd", query_text("searchDateRangeEnd"))
    f.sort, f.descending = _sort(query_text("sortBy"), query_text("sortOrder"), _TRIAL_SORTS)
    f.nothing = f.nothing or _given(("contactDbId", "trialPUI"), request.args)
    return _listing(_trials, f, _trial)


@call("trials/{trialDbId}")
def trials_one(trialDbId: str) -> Response:
    return _one(_trials, trialDbId, "trial", _trial)


def _trial_search(body: Mapping[str, Any]) -> q.CoreFilter:
    f = _common(body)
    f.ids, f.names = _body_ids(body, "trialDbIds"), _body_texts(body, "trialNames")
    f.study_ids, f.study_names = _body_ids(body, "studyDbIds"), _body_texts(body, "studyNames")
    f.location_ids = _body_ids(body, "locationDbIds")
    f.location_names = _body_texts(body, "locationNames")
    f.active = _body_bool(body, "active")
    f.date_start = _date("searchDateRangeStart", body.get("searchDateRangeStart"))
    f.date_end = _date("searchDateRangeEnd", body.get("searchDateRangeEnd"))
    f.nothing = f.nothing or _given(("contactDbIds", "trialPUIs"), body)
    return f


search("trials", _runner(_trials, _trial, _trial_search))


# studies

_STUDY_SORTS = ("studyDbId", "trialDbId", "programDbId", "locationDbId", "seasonDbId",
                "studyType", "studyName", "studyLocation", "programName", "germplasmDbId",
                "observationVariableDbId")  # fmt: skip


@call("studies")
def studies_list() -> Response:
    f = _query_common()
    f.ids, f.names = _arg_ids("studyDbId"), _arg_texts("studyName")
    f.trial_ids = _arg_ids("trialDbId")
    f.location_ids = _arg_ids("locationDbId")
    f.season_ids = _arg_ids("seasonDbId")
    f.germplasm_ids = _arg_ids("germplasmDbId")
    f.variable_ids = _arg_ids("observationVariableDbId")
    f.active = _arg_bool("active")
    f.sort, f.descending = _sort(query_text("sortBy"), query_text("sortOrder"), _STUDY_SORTS)
    f.nothing = f.nothing or _given(("studyType", "studyCode", "studyPUI"), request.args)
    return _listing(_studies, f, _study)


@call("studies/{studyDbId}")
def studies_one(studyDbId: str) -> Response:
    return _one(_studies, studyDbId, "study", _study)


def _study_search(body: Mapping[str, Any]) -> q.CoreFilter:
    f = _common(body)
    f.ids, f.names = _body_ids(body, "studyDbIds"), _body_texts(body, "studyNames")
    f.trial_ids, f.trial_names = _body_ids(body, "trialDbIds"), _body_texts(body, "trialNames")
    f.location_ids = _body_ids(body, "locationDbIds")
    f.location_names = _body_texts(body, "locationNames")
    f.season_ids = _body_ids(body, "seasonDbIds")
    f.germplasm_ids = _body_ids(body, "germplasmDbIds")
    if _given(("germplasmNames", "observationVariableNames", "observationVariablePUIs"), body):
        f.nothing = True  # names of other modules: not resolved here
    f.variable_ids = _body_ids(body, "observationVariableDbIds")
    f.active = _body_bool(body, "active")
    f.sort, f.descending = _sort(body.get("sortBy"), body.get("sortOrder"), _STUDY_SORTS)
    f.nothing = f.nothing or _given(("studyTypes", "studyCodes", "studyPUIs"), body)
    return f


search("studies", _runner(_studies, _study, _study_search))


# locations and seasons


@call("locations")
def locations_list() -> Response:
    f = _query_common()
    f.ids, f.names = _arg_ids("locationDbId"), _arg_texts("locationName")
    f.types = _arg_texts("locationType")
    f.nothing = f.nothing or _given(("parentLocationDbId", "parentLocationName"), request.args)
    return _listing(_locations, f, _location)


@call("locations/{locationDbId}")
def locations_one(locationDbId: str) -> Response:
    return _one(_locations, locationDbId, "location", _location)


def _location_search(body: Mapping[str, Any]) -> q.CoreFilter:
    f = _common(body)
    f.ids, f.names = _body_ids(body, "locationDbIds"), _body_texts(body, "locationNames")
    f.abbreviations = _body_texts(body, "abbreviations")
    f.types = _body_texts(body, "locationTypes")
    f.countries = _body_texts(body, "countryCodes")
    f.country_names = _body_texts(body, "countryNames")
    f.altitude_min = _body_number(body, "altitudeMin")
    f.altitude_max = _body_number(body, "altitudeMax")
    if body.get("coordinates") is not None:
        raise InvalidParameterError(
            "coordinates", "searching locations by area is not supported; use countryCodes", ""
        )
    never = ("instituteNames", "instituteAddresses", "parentLocationDbIds", "parentLocationNames")
    f.nothing = f.nothing or _given(never, body)
    return f


search("locations", _runner(_locations, _location, _location_search))


def _year() -> list[int] | None:
    raw = query_text("year")
    if raw is None:
        return None
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 6:
        raise InvalidParameterError("year", "must be a year (digits 0-9)", raw[:40])
    return [int(raw)]


@call("seasons")
def seasons_list() -> Response:
    names = [n for n in (query_text("season"), query_text("seasonName")) if n is not None]
    f = q.CoreFilter(ids=_arg_ids("seasonDbId"), names=names or None, years=_year())
    return _listing(_seasons, f, _season)


@call("seasons/{seasonDbId}")
def seasons_one(seasonDbId: str) -> Response:
    return _one(_seasons, seasonDbId, "season", _season)


# lists


@call("lists")
def lists_list() -> Response:
    f = _query_common()
    f.ids, f.names = _arg_ids("listDbId"), _arg_texts("listName")
    f.types = _arg_texts("listType")
    f.nothing = f.nothing or _given(("listSource",), request.args)
    return _listing(_lists, f, _list)


@call("lists/{listDbId}")
def lists_one(listDbId: str) -> Response:
    rows, _ = _lists(q.CoreFilter(ids=[db_id_or_404(listDbId, "list")]), Paging(0, 1))
    if not rows:
        abort(404, description=f"There is no list with DbId {listDbId!r}.")
    items = list_accession_ids(get_session(), rows[0][0].id)
    return respond_one({**_list(rows[0]), "data": [str(i) for i in items]})


def _list_search(body: Mapping[str, Any]) -> q.CoreFilter:
    f = _common(body)
    f.ids, f.names = _body_ids(body, "listDbIds"), _body_texts(body, "listNames")
    kind = body.get("listType")
    if kind is not None:
        f.types = [check_text("listType", kind)] if isinstance(kind, str) else []
    f.owner_ids = _body_ids(body, "listOwnerPersonDbIds")
    f.owner_names = _body_texts(body, "listOwnerNames")
    f.created_from = _datetime("dateCreatedRangeStart", body.get("dateCreatedRangeStart"))
    f.created_to = _datetime("dateCreatedRangeEnd", body.get("dateCreatedRangeEnd"))
    never = ("listSources", "dateModifiedRangeStart", "dateModifiedRangeEnd")
    f.nothing = f.nothing or _given(never, body)
    return f


search("lists", _runner(_lists, _list, _list_search))


# people


@call("people")
def people_list() -> Response:
    f = _query_common()
    f.ids, f.names = _arg_ids("personDbId"), _arg_texts("userID")
    f.nothing = f.nothing or _given(("firstName", "lastName"), request.args)
    return _listing(_people, f, _person)


@call("people/{personDbId}")
def people_one(personDbId: str) -> Response:
    return _one(_people, personDbId, "person", _person)


def _people_search(body: Mapping[str, Any]) -> q.CoreFilter:
    f = _common(body)
    f.ids, f.names = _body_ids(body, "personDbIds"), _body_texts(body, "userIDs")
    never = ("emailAddresses", "firstNames", "lastNames", "middleNames", "mailingAddresses",
             "phoneNumbers")  # fmt: skip
    f.nothing = f.nothing or _given(never, body)
    return f


search("people", _runner(_people, _person, _people_search))
