"""The BrAPI v2.1 Core calls (web.brapi.core) through the Flask test client, on both engines."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from breedhub.germplasm import transaction
from breedhub.germplasm.models import (
    BreedingProgram,
    Location,
    ObservationVariable,
    Season,
    SelectionList,
    SpeciesRow,
    Study,
    Trial,
)
from breedhub.web.db import get_engine
from tests.web.brapi import _brapi_data as data
from tests.web.conftest import bearer

SPEC = (
    Path(__file__).parents[4] / "shared" / "brapi-spec" / "merged" / "brapi_v2.1_all_openapi.yaml"
)


@functools.cache
def _schemas() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())["components"]["schemas"]


def _properties(name: str) -> set[str]:
    """Every property of the spec's schema ``name`` (through ``allOf``)."""
    schema = _schemas()[name]
    out: set[str] = set()
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            out |= _properties(part["$ref"].rsplit("/", 1)[-1])
        else:
            out |= set(part.get("properties", {}))
    return out


@dataclass
class Core:
    """DbIds (as strings) of the Core records of :func:`_brapi_data._populate_core`."""

    program: str
    pepper_program: str
    location: str
    other_location: str
    dry: str
    wet: str
    world_trial: str
    restricted_trial: str
    pepper_trial: str
    world_study: str
    restricted_study: str
    pepper_study: str
    height: str
    lists: dict[str, str]
    n_species: int


@pytest.fixture
def core(app, world, accounts) -> Core:
    data.populate_brapi(app)
    with transaction(get_engine(app)) as s:

        def id_of(model: Any, **where: Any) -> str:
            return str(s.scalars(select(model.id).filter_by(**where)).one())

        return Core(
            program=id_of(BreedingProgram, name=data.CORE_PROGRAM),
            pepper_program=id_of(BreedingProgram, name=data.CORE_PEPPER_PROGRAM),
            location=id_of(Location, name=data.CORE_LOCATION),
            other_location=id_of(Location, name=data.CORE_OTHER_LOCATION),
            dry=id_of(Season, year=2025, name="dry"),
            wet=id_of(Season, year=2021, name="wet"),
            world_trial=id_of(Trial, name="Rice observational trial 2024"),
            restricted_trial=id_of(Trial, name=data.CORE_RESTRICTED_TRIAL),
            pepper_trial=id_of(Trial, name=data.CORE_PEPPER_TRIAL),
            world_study=id_of(Study, name="ROT-2024-Sanya"),
            restricted_study=id_of(Study, name=data.CORE_RESTRICTED_STUDY),
            pepper_study=id_of(Study, name=data.CORE_PEPPER_STUDY),
            height=id_of(ObservationVariable, name="PlantHeight_cm"),
            lists={n: id_of(SelectionList, name=n) for n in data.CORE_LISTS},
            n_species=len(s.scalars(select(SpeciesRow.id)).all()),
        )


def _get(client, url: str, accounts=None, who: str | None = None, code: int = 200) -> Any:
    headers = bearer(accounts.tokens[who]) if who else {}
    resp = client.get(url, headers=headers)
    assert resp.status_code == code, (url, who, resp.get_data(as_text=True)[:300])
    return resp.get_json()


#: DbId key -> the :class:`Core` attributes of that kind (other BrAPI areas add records too:
#: the tests look only at these).
KINDS = {
    "programDbId": ("program", "pepper_program"),
    "trialDbId": ("world_trial", "restricted_trial", "pepper_trial"),
    "studyDbId": ("world_study", "restricted_study", "pepper_study"),
    "locationDbId": ("location", "other_location"),
    "seasonDbId": ("dry", "wet"),
}


def _ids(body: dict[str, Any], key: str, core: Core | None = None) -> list[str]:
    """The ``key`` of the objects in a list answer (only those of ``core`` when given)."""
    ids = [obj[key] for obj in body["result"]["data"]]
    if core is None:
        return ids
    known = set(core.lists.values()) if key == "listDbId" else set()
    known |= {getattr(core, a) for a in KINDS.get(key, ())}
    return [i for i in ids if i in known]


def _post(client, url: str, body: Any, accounts=None, who=None, code=200, **headers: str):
    all_headers = {**(bearer(accounts.tokens[who]) if who else {}), **headers}
    resp = client.post(url, json=body, headers=all_headers)
    assert resp.status_code == code, (url, who, resp.get_data(as_text=True)[:300])
    return resp.get_json()


# --- envelope and paging ---------------------------------------------------------------------


def test_commoncropnames__one_registry_key_per_species(client, core):
    body = _get(client, "/brapi/v2/commoncropnames")
    names = body["result"]["data"]
    assert names == sorted(names) and len(names) == core.n_species
    assert {"rice", "pepper", "pig", "oil_tea", "grass_carp"} <= set(names)
    assert body["metadata"]["pagination"]["totalCount"] == core.n_species


def test_paging__counts_pages_and_is_empty_beyond_the_end(client, core):
    body = _get(client, "/brapi/v2/commoncropnames?pageSize=3&page=1")
    assert body["metadata"]["pagination"] == {
        "currentPage": 1,
        "pageSize": 3,
        "totalCount": core.n_species,
        "totalPages": math.ceil(core.n_species / 3),
    }
    assert len(body["result"]["data"]) == 3
    every = _get(client, "/brapi/v2/programs")["result"]["data"]
    body = _get(client, "/brapi/v2/programs?page=50&pageSize=1")
    assert body["result"]["data"] == []
    assert body["metadata"]["pagination"]["totalCount"] == len(every) >= 2
    assert body["metadata"]["pagination"]["totalPages"] == len(every)
    assert body["@context"] and body["metadata"]["status"] == []


CALLS = [
    "commoncropnames",
    "programs",
    "trials",
    "studies",
    "locations",
    "seasons",
    "lists",
    "people",
    "studytypes",
]


BAD_PAGING = ["page=-1", "pageSize=1000000000", "page=%C2%B2", "page=1.5"]


def test_paging__bad_values_are_400(client, core):
    for call in CALLS:
        for query in BAD_PAGING:
            body = _get(client, f"/brapi/v2/{call}?{query}", code=400)
            assert isinstance(body, str) or "ERROR" in str(body)


MALFORMED_URLS = [
    "/brapi/v2/trials?trialName=a%00b",
    "/brapi/v2/programs?commonCropName=%00",
    "/brapi/v2/studies?active=perhaps",
    "/brapi/v2/trials?searchDateRangeStart=2024-13-40",
    "/brapi/v2/trials?sortBy=colour",
    "/brapi/v2/studies?sortOrder=sideways",
    "/brapi/v2/seasons?year=twenty",
    "/brapi/v2/programs?programType=HOBBY",
    "/brapi/v2/people?userID=x%00",
]


def test_parameters__malformed_values_are_400(client, core):
    for url in MALFORMED_URLS:
        _get(client, url, code=400)


UNKNOWN_ID_URLS = [
    "/brapi/v2/programs/abc",
    "/brapi/v2/trials/0",
    "/brapi/v2/studies/99999999",
    "/brapi/v2/locations/%C2%B2",
    "/brapi/v2/seasons/-1",
    "/brapi/v2/lists/1e3",
    "/brapi/v2/people/99999",
]


def test_by_id__unknown_ids_are_404(client, core, accounts):
    for url in UNKNOWN_ID_URLS:
        _get(client, url, accounts, "admin", code=404)


# --- programs --------------------------------------------------------------------------------


def test_programs__map_every_property(client, core):
    body = _get(client, f"/brapi/v2/programs/{core.program}")
    program = body["result"]
    assert set(program) == _properties("Program")
    assert program == {
        "programDbId": core.program,
        "programName": data.CORE_PROGRAM,
        "abbreviation": "IRR",
        "objective": "Yield under irrigation",
        "programType": "STANDARD",
        "commonCropName": "rice",
        "leadPersonDbId": None,
        "leadPersonName": "A. Reyes",
        "documentationURL": None,
        "fundingInformation": None,
        "additionalInfo": {"instituteCode": "PHL001"},
        "externalReferences": [],
    }


PROGRAM_FILTERS = [
    ("", ["program", "pepper_program"]),
    ("commonCropName=rice", ["program"]),
    ("commonCropName=Pepper", ["pepper_program"]),
    ("commonCropName=maize", []),
    ("programDbId={program}", ["program"]),
    ("programDbId=zz9", []),
    ("programName=Pepper programme", ["pepper_program"]),
    ("abbreviation=IRR", ["program"]),
    ("programType=STANARD", ["program", "pepper_program"]),
    ("programType=PROJECT", []),
    ("externalReferenceId=doi:1", []),
]


def test_programs__filters(client, core):
    for query, expected in PROGRAM_FILTERS:
        body = _get(client, "/brapi/v2/programs?" + query.format(program=core.program))
        assert _ids(body, "programDbId", core) == [getattr(core, e) for e in expected]


# --- trials and studies ----------------------------------------------------------------------


def test_trials__map_every_property(client, core):
    trial = _get(client, f"/brapi/v2/trials/{core.pepper_trial}")["result"]
    assert set(trial) == _properties("Trial")
    assert trial["trialName"] == data.CORE_PEPPER_TRIAL
    assert (trial["startDate"], trial["endDate"]) == ("2021-03-01", "2021-09-30")
    assert trial["active"] is False
    assert (trial["programDbId"], trial["programName"]) == (core.pepper_program, "Pepper programme")
    assert trial["commonCropName"] == "pepper"
    assert trial["contacts"] == [] and trial["externalReferences"] == []
    world = _get(client, f"/brapi/v2/trials/{core.world_trial}")["result"]
    assert (world["startDate"], world["endDate"], world["active"]) == ("2024-01-10", None, True)
    assert world["programDbId"] is None and world["trialDescription"] is None


@pytest.mark.parametrize(
    ("who", "sees"), [(None, False), ("chen", False), ("bea", True), ("admin", True)]
)
def test_trials__restricted_trial_of_another_institute_is_hidden(client, core, accounts, who, sees):
    listed = _ids(_get(client, "/brapi/v2/trials", accounts, who), "trialDbId", core)
    assert (core.restricted_trial in listed) is sees
    assert core.world_trial in listed and core.pepper_trial in listed
    _get(client, f"/brapi/v2/trials/{core.restricted_trial}", accounts, who, 200 if sees else 404)
    studies = _ids(_get(client, "/brapi/v2/studies", accounts, who), "studyDbId", core)
    assert (core.restricted_study in studies) is sees
    _get(client, f"/brapi/v2/studies/{core.restricted_study}", accounts, who, 200 if sees else 404)
    found = _post(client, "/brapi/v2/search/trials", {"trialDbIds": [core.restricted_trial]},
                  accounts, who)  # fmt: skip
    assert len(found["result"]["data"]) == (1 if sees else 0)


TRIAL_FILTERS = [
    ("commonCropName=rice", ["world_trial", "restricted_trial"]),
    ("programDbId={program}", ["restricted_trial"]),
    ("trialDbId={pepper_trial}", ["pepper_trial"]),
    ("trialDbId=x", []),
    ("trialName=Pepper trial 2021", ["pepper_trial"]),
    ("studyDbId={restricted_study}", ["restricted_trial"]),
    ("locationDbId={other_location}", ["pepper_trial"]),
    ("active=false", ["pepper_trial"]),
    ("active=true", ["world_trial", "restricted_trial"]),
    (
        "searchDateRangeStart=2021-06-01&searchDateRangeEnd=2021-12-31",
        ["restricted_trial", "pepper_trial"],
    ),
    ("searchDateRangeStart=2022-01-01", ["world_trial", "restricted_trial"]),
    ("searchDateRangeEnd=2020-06-01", ["restricted_trial"]),
    ("sortBy=trialName&sortOrder=desc", ["world_trial", "pepper_trial", "restricted_trial"]),
    ("sortBy=startDate", ["restricted_trial", "pepper_trial", "world_trial"]),
    ("trialPUI=doi:1", []),
    ("contactDbId=1", []),
]


def test_trials__filters(client, core, accounts):
    for query, expected in TRIAL_FILTERS:
        url = "/brapi/v2/trials?" + query.format(**vars(core))
        assert _ids(_get(client, url, accounts, "bea"), "trialDbId", core) == [
            getattr(core, e) for e in expected
        ]


def test_studies__map_every_property(client, core, accounts):
    study = _get(client, f"/brapi/v2/studies/{core.restricted_study}", accounts, "bea")["result"]
    assert set(study) == _properties("Study")
    assert study["studyName"] == data.CORE_RESTRICTED_STUDY
    assert study["studyDescription"] == "Two replicates"
    assert (study["trialDbId"], study["trialName"]) == (
        core.restricted_trial, data.CORE_RESTRICTED_TRIAL)  # fmt: skip
    assert (study["locationDbId"], study["locationName"]) == (core.location, data.CORE_LOCATION)
    assert study["seasons"] == [core.dry]
    assert study["experimentalDesign"] == {"description": "RCBD", "PUI": None}
    assert study["observationLevels"] == [{"levelName": "plot", "levelOrder": 6}]
    assert study["observationVariableDbIds"] == [core.height]
    assert study["commonCropName"] == "rice" and study["active"] is True
    assert study["startDate"] is None and study["studyType"] is None
    assert study["additionalInfo"] == {"visibility": "restricted"}


STUDY_FILTERS = [
    ("trialDbId={pepper_trial}", ["pepper_study"]),
    ("studyName=ROT-2024-Sanya", ["world_study"]),
    ("locationDbId={location}", ["restricted_study"]),
    ("seasonDbId={wet}", ["pepper_study"]),
    ("commonCropName=pepper", ["pepper_study"]),
    ("programDbId={program}", ["restricted_study"]),
    ("observationVariableDbId={height}", ["world_study", "restricted_study"]),
    ("active=false", ["pepper_study"]),
    ("studyType=Yield", []),
    ("sortBy=studyName&sortOrder=ASC", ["pepper_study", "restricted_study", "world_study"]),
    ("studyDbId=1.0", []),
]


def test_studies__filters(client, core, accounts, world):
    for query, expected in STUDY_FILTERS:
        url = "/brapi/v2/studies?" + query.format(**vars(core))
        assert _ids(_get(client, url, accounts, "bea"), "studyDbId", core) == [
            getattr(core, e) for e in expected
        ]
        by_germplasm = _get(
            client, f"/brapi/v2/studies?germplasmDbId={world.azucena}", accounts, "bea"
        )
        assert _ids(by_germplasm, "studyDbId", core) == [core.world_study]


def test_studytypes__is_empty(client, core):
    body = _get(client, "/brapi/v2/studytypes")
    assert body["result"]["data"] == [] and body["metadata"]["pagination"]["totalCount"] == 0


# --- locations and seasons -------------------------------------------------------------------


def test_locations__map_every_property(client, core):
    loc = _get(client, f"/brapi/v2/locations/{core.location}")["result"]
    assert set(loc) == _properties("Location")
    assert loc["locationName"] == data.CORE_LOCATION and loc["abbreviation"] == "ZES"
    assert (loc["countryCode"], loc["countryName"]) == ("PHL", "Philippines")
    assert loc["locationType"] == "Field station"
    assert loc["coordinates"] == {
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [121.25, 14.17, 21.0]},
    }  # fmt: skip
    other = _get(client, f"/brapi/v2/locations/{core.other_location}")["result"]
    assert other["coordinates"] is None and other["abbreviation"] is None


@pytest.mark.parametrize(("who", "expected"), [(None, []), ("chen", []), ("bea", ["location"])])
def test_locations__crop_filter_goes_through_visible_trials(client, core, accounts, who, expected):
    body = _get(client, "/brapi/v2/locations?commonCropName=rice", accounts, who)
    assert _ids(body, "locationDbId", core) == [getattr(core, e) for e in expected]


LOCATION_SEARCHES = [
    ({}, ["location", "other_location"]),
    ({"countryCodes": ["chn"]}, ["other_location"]),
    ({"countryNames": ["Philippines"]}, ["location"]),
    ({"altitudeMin": 10}, ["location"]),
    ({"altitudeMax": 10}, []),
    ({"locationTypes": ["Field station"]}, ["location"]),
    ({"abbreviations": ["ZES"], "locationNames": [data.CORE_LOCATION]}, ["location"]),
    ({"commonCropNames": ["pepper"]}, ["other_location"]),
    ({"instituteNames": ["IRRI"]}, []),
]


def test_search_locations__filters(client, core):
    for search, expected in LOCATION_SEARCHES:
        body = _post(client, "/brapi/v2/search/locations", search)
        assert _ids(body, "locationDbId", core) == [getattr(core, e) for e in expected]


def test_search_locations__area_search_is_400(client, core):
    area = {
        "coordinates": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}
    }
    _post(client, "/brapi/v2/search/locations", area, code=400)


def test_seasons__map_and_filter(client, core):
    season = _get(client, f"/brapi/v2/seasons/{core.dry}")["result"]
    assert season == {"seasonDbId": core.dry, "seasonName": "dry", "year": 2025}
    assert set(season) == _properties("Season")
    assert _ids(_get(client, "/brapi/v2/seasons"), "seasonDbId", core) == [core.wet, core.dry]
    assert _ids(_get(client, "/brapi/v2/seasons?year=2021"), "seasonDbId", core) == [core.wet]
    assert _ids(_get(client, "/brapi/v2/seasons?seasonName=DRY"), "seasonDbId", core) == [core.dry]
    assert _ids(_get(client, "/brapi/v2/seasons?season=spring"), "seasonDbId", core) == []
    assert _ids(_get(client, f"/brapi/v2/seasons?seasonDbId={core.wet}"), "seasonDbId", core) == [
        core.wet
    ]


# --- lists -----------------------------------------------------------------------------------


def test_lists__details_hold_germplasm_in_order(client, core, accounts, world):
    lid = core.lists["bea public picks"]
    body = _get(client, f"/brapi/v2/lists/{lid}")["result"]
    assert set(body) == _properties("ListDetails")
    assert body["data"] == [str(world.ir64), str(world.azucena)]
    assert body["listType"] == "germplasm" and body["listSize"] == 2
    assert (body["listOwnerName"], body["listOwnerPersonDbId"]) == ("bea", str(accounts.ids["bea"]))
    assert body["dateCreated"].endswith("Z") and body["listSource"] is None
    assert body["additionalInfo"] == {"instituteCode": "PHL001", "visibility": "public"}
    summary = _get(client, f"/brapi/v2/lists?listDbId={lid}")["result"]["data"][0]
    assert set(summary) == _properties("ListSummary") and "data" not in summary


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (None, ["bea public picks", "chen public picks"]),
        ("chen", ["bea public picks", "chen public picks", "chen restricted picks"]),
        ("bea", ["bea public picks", "bea restricted picks", "chen public picks"]),
        ("bio", ["bea public picks", "bea restricted picks", "chen public picks"]),
        ("admin", list(data.CORE_LISTS)),
    ],
)
def test_lists__seen_as_in_the_portal(client, core, accounts, who, expected):
    listed = _ids(_get(client, "/brapi/v2/lists", accounts, who), "listDbId", core)
    assert listed == [core.lists[n] for n in expected]
    hidden = set(core.lists.values()) - set(listed)
    for lid in hidden:
        _get(client, f"/brapi/v2/lists/{lid}", accounts, who, code=404)


LIST_FILTERS = [
    ("listType=germplasm", ["bea public picks", "chen public picks"]),
    ("listType=markers", []),
    ("listName=chen public picks", ["chen public picks"]),
    ("commonCropName=rice", ["bea public picks", "chen public picks"]),
    ("commonCropName=pig", []),
    ("listSource=USER", []),
]


def test_lists__filters(client, core):
    for query, expected in LIST_FILTERS:
        body = _get(client, "/brapi/v2/lists?" + query)
        assert _ids(body, "listDbId", core) == [core.lists[n] for n in expected]


def test_search_lists__owner_and_dates(client, core, accounts):
    mine = {"listOwnerPersonDbIds": [str(accounts.ids["bea"])]}
    body = _post(client, "/brapi/v2/search/lists", mine, accounts, "bea")
    assert _ids(body, "listDbId", core) == [
        core.lists["bea public picks"],
        core.lists["bea restricted picks"],
    ]
    body = _post(client, "/brapi/v2/search/lists", {"listOwnerNames": ["chen"]}, accounts, "bea")
    assert _ids(body, "listDbId", core) == [core.lists["chen public picks"]]
    later = {"dateCreatedRangeStart": "2999-01-01T00:00:00Z"}
    assert _post(client, "/brapi/v2/search/lists", later)["result"]["data"] == []
    _post(client, "/brapi/v2/search/lists", {"dateCreatedRangeEnd": "yesterday"}, code=400)


# --- people ----------------------------------------------------------------------------------


def test_people__anonymous_callers_see_nobody(client, core, accounts):
    body = _get(client, "/brapi/v2/people")
    assert body["result"]["data"] == [] and body["metadata"]["pagination"]["totalCount"] == 0
    _get(client, f"/brapi/v2/people/{accounts.ids['bea']}", code=404)
    assert _post(client, "/brapi/v2/search/people", {})["result"]["data"] == []


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("bea", ["bea", "bio", "upl", "chen"]),  # chen owns a public list bea sees
        ("chen", ["bea", "chen"]),
        ("admin", ["admin", "bea", "bio", "upl", "chen"]),
    ],
)
def test_people__colleagues_and_list_owners(client, core, accounts, who, expected):
    body = _get(client, "/brapi/v2/people", accounts, who)
    assert _ids(body, "userID") == sorted(expected, key=accounts.ids.__getitem__)
    for person in body["result"]["data"]:
        assert set(person) == _properties("Person")
        assert person["emailAddress"] is None
        assert "password" not in str(person).lower() and "token" not in str(person).lower()
    hidden = set(accounts.ids) - set(expected)
    for name in hidden:
        _get(client, f"/brapi/v2/people/{accounts.ids[name]}", accounts, who, code=404)


def test_people__map_and_filter(client, core, accounts):
    bea = _get(client, f"/brapi/v2/people/{accounts.ids['bio']}", accounts, "bea")["result"]
    assert bea["userID"] == "bio" and bea["personDbId"] == str(accounts.ids["bio"])
    assert bea["description"] == "bioinformatician, PHL001"
    assert bea["additionalInfo"]["role"] == "bioinformatician"
    assert bea["additionalInfo"]["instituteCode"] == "PHL001"
    assert bea["firstName"] is None and bea["lastName"] is None
    by_user = _get(client, "/brapi/v2/people?userID=upl", accounts, "bea")
    assert _ids(by_user, "userID") == ["upl"]
    assert _get(client, "/brapi/v2/people?firstName=Bea", accounts, "bea")["result"]["data"] == []
    body = _post(client, "/brapi/v2/search/people", {"userIDs": ["chen", "admin"]}, accounts, "bea")
    assert _ids(body, "userID") == ["chen"]


# --- searches --------------------------------------------------------------------------------


def test_search_trials__200_then_202_and_results_by_id(client, core, accounts):
    request = {
        "commonCropNames": ["rice"],
        "trialDbIds": [core.world_trial, core.restricted_trial, core.pepper_trial],
        "pageSize": 1,
    }
    first = _post(client, "/brapi/v2/search/trials", request, accounts, "bea")
    assert _ids(first, "trialDbId", core) == [core.world_trial]
    assert first["metadata"]["pagination"]["totalCount"] == 2
    accepted = _post(client, "/brapi/v2/search/trials", request, accounts, "bea", code=202,
                     Prefer="respond-async")  # fmt: skip
    search_id = accepted["result"]["searchResultsDbId"]
    url = f"/brapi/v2/search/trials/{search_id}?page=1&pageSize=1"
    assert _ids(_get(client, url, accounts, "bea"), "trialDbId", core) == [core.restricted_trial]
    _get(client, url, accounts, "chen", code=404)
    _get(client, url, code=404)


SEARCHES = [
    ("programs", {"programNames": ["Pepper programme"]}, "programDbId", ["pepper_program"]),
    (
        "programs",
        {"abbreviations": ["IRR"], "commonCropNames": ["rice"]},
        "programDbId",
        ["program"],
    ),
    ("programs", {"programTypes": ["PROJECT"]}, "programDbId", []),
    ("programs", {"externalReferenceIds": ["x"]}, "programDbId", []),
    ("trials", {"studyNames": [data.CORE_PEPPER_STUDY]}, "trialDbId", ["pepper_trial"]),
    ("trials", {"locationNames": [data.CORE_LOCATION]}, "trialDbId", ["restricted_trial"]),
    (
        "trials",
        {"programNames": ["Pepper programme"], "active": False},
        "trialDbId",
        ["pepper_trial"],
    ),
    ("studies", {"trialNames": [data.CORE_PEPPER_TRIAL]}, "studyDbId", ["pepper_study"]),
    ("studies", {"seasonDbIds": ["{dry}"]}, "studyDbId", ["restricted_study"]),
    ("studies", {"locationNames": [data.CORE_OTHER_LOCATION]}, "studyDbId", ["pepper_study"]),
    ("studies", {"studyDbIds": ["abc"]}, "studyDbId", []),
    (
        "studies",
        {"sortBy": "studyDbId", "sortOrder": "DESC"},
        "studyDbId",
        ["pepper_study", "restricted_study", "world_study"],
    ),
]


def test_search__filters(client, core, accounts):
    for kind, search, key, expected in SEARCHES:
        search = {k: [v.format(**vars(core)) for v in vs] if isinstance(vs, list) else vs
                  for k, vs in search.items()}  # fmt: skip
        body = _post(client, f"/brapi/v2/search/{kind}", search, accounts, "bea")
        assert _ids(body, key, core) == [getattr(core, e) for e in expected]


BAD_SEARCHES = [
    {"trialNames": ["a\x00b"]},
    {"active": "yes"},
    {"searchDateRangeStart": "soon"},
    {"trialDbIds": {"a": 1}},
    {"page": -1},
    {"pageSize": 10**9},
]


def test_search__bad_requests_are_400(client, core, accounts):
    for search in BAD_SEARCHES:
        _post(client, "/brapi/v2/search/trials", search, accounts, "bea", code=400)
