"""BrAPI v2.1 phenotyping calls (web/brapi/phenotyping.py and phenotyping_write.py), both engines.

The world (tests/web/conftest.py) has PlantHeight_cm on IR64, Nipponbare,
Azucena and IRAZ-1 (two plots each) and GrainYield_t_ha on IR64's two plots,
in study ROT-2024-Sanya; ``populate_brapi`` adds restricted trials of PHL001
and CHN999 and a public CHN999 trial.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from breedhub.germplasm import transaction
from breedhub.germplasm.models import (
    Observation,
    ObservationUnit,
    ObservationVariable,
    Study,
    TraitSummary,
)
from breedhub.web.db import get_engine
from tests.web.brapi._brapi_data import (
    PHENO_PUBLIC_STUDY,
    PHENO_RESTRICTED_STUDY,
    PHENO_RESTRICTED_UNIT,
    populate_brapi,
)
from tests.web.conftest import bearer

B = "/brapi/v2"


@pytest.fixture
def pheno(app, world, accounts):
    populate_brapi(app)
    with transaction(get_engine(app)) as s:
        ids = {v.name: v.id for v in s.scalars(select(ObservationVariable))}
        studies = {st.name: st.id for st in s.scalars(select(Study))}
        restricted_unit = s.scalar(
            select(ObservationUnit.id).where(ObservationUnit.name == PHENO_RESTRICTED_UNIT)
        )
    return {"var": ids, "study": studies, "restricted_unit": restricted_unit, "world": world,
            "tokens": accounts.tokens}  # fmt: skip


def _get(client, url, who=None, tokens=None, **kw):
    headers = bearer(tokens[who]) if who else {}
    return client.get(B + url, headers=headers, **kw)


def _data(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["result"]["data"]


def test_variables__map_the_trait_registry(client, pheno):
    vid = pheno["var"]["PlantHeight_cm"]
    result = client.get(f"{B}/variables/{vid}").get_json()["result"]
    assert result["observationVariableName"] == "PlantHeight_cm"
    assert result["trait"] == {
        **result["trait"],
        "traitDbId": str(vid),
        "traitName": "Plant height",
    }
    assert result["method"]["methodDbId"] == str(vid)
    assert result["scale"]["scaleDbId"] == str(vid)
    assert result["scale"]["units"] == "cm" and result["scale"]["dataType"] == "Numerical"
    assert result["scale"]["validValues"]["minimumValue"] == "20"
    assert result["scale"]["validValues"]["maximumValue"] == "250"
    assert result["ontologyReference"]["ontologyDbId"] == "CO_320"
    assert result["commonCropName"] == "rice"
    assert result["additionalInfo"] == {"direction": "optimum", "optimum": "100"}
    for part, key in (("traits", "traitName"), ("methods", "methodName"), ("scales", "scaleName")):
        one = client.get(f"{B}/{part}/{vid}").get_json()["result"]
        assert one[key] == result[part[:-1]][key]


def test_variables__filters_and_paging(client, pheno):
    all_rice = _data(client.get(f"{B}/variables?commonCropName=rice&pageSize=2"))
    assert len(all_rice) == 2
    body = client.get(f"{B}/variables?commonCropName=rice&pageSize=2&page=1").get_json()
    assert body["metadata"]["pagination"]["currentPage"] == 1
    assert {d["observationVariableDbId"] for d in body["result"]["data"]}.isdisjoint(
        {d["observationVariableDbId"] for d in all_rice}
    )
    sid = pheno["study"]["ROT-2024-Sanya"]
    names = {
        d["observationVariableName"] for d in _data(client.get(f"{B}/variables?studyDbId={sid}"))
    }
    assert names == {"PlantHeight_cm", "GrainYield_t_ha"}
    assert _data(client.get(f"{B}/variables?observationVariableDbId=abc")) == []
    assert (
        _data(client.get(f"{B}/traits?traitDbId={pheno['var']['GrainYield_t_ha']}"))[0]["traitName"]
        == "Grain yield"
    )
    assert _data(client.get(f"{B}/variables?externalReferenceId=x")) == []


def test_observations__map_the_worlds_values(client, pheno):
    sid = pheno["study"]["ROT-2024-Sanya"]
    data = _data(client.get(f"{B}/observations?studyDbId={sid}"))
    assert len(data) == 10
    yields = [d for d in data if d["observationVariableName"] == "GrainYield_t_ha"]
    assert sorted(d["value"] for d in yields) == ["6.0", "6.4"]
    assert {d["germplasmName"] for d in yields} == {"IR64"}
    assert {d["germplasmDbId"] for d in yields} == {str(pheno["world"].ir64)}
    one = client.get(f"{B}/observations/{yields[0]['observationDbId']}").get_json()["result"]
    assert one == yields[0]
    by_germplasm = _data(client.get(f"{B}/observations?germplasmDbId={pheno['world'].azucena}"))
    assert sorted(d["value"] for d in by_germplasm) == ["128", "132"]
    by_var = _data(
        client.get(f"{B}/observations?observationVariableDbId={pheno['var']['GrainYield_t_ha']}")
    )
    assert len(by_var) == 2


def test_observations__paging_and_time_range(client, pheno):
    sid = pheno["study"]["ROT-2024-Sanya"]
    body = client.get(f"{B}/observations?studyDbId={sid}&pageSize=3&page=3").get_json()
    assert body["metadata"]["pagination"] == {
        "currentPage": 3, "pageSize": 3, "totalCount": 10, "totalPages": 4,
    }  # fmt: skip
    assert len(body["result"]["data"]) == 1
    chen = pheno["tokens"]
    inside = _get(client, "/observations?observationTimeStampRangeStart=2023-07-31T00:00:00Z"
                  "&observationTimeStampRangeEnd=2023-08-02", "chen", chen)  # fmt: skip
    assert [d["value"] for d in _data(inside)] == ["111"]
    outside = _get(client, "/observations?observationTimeStampRangeStart=2023-08-02", "chen", chen)
    assert _data(outside) == []
    assert (
        client.get(f"{B}/observations?observationTimeStampRangeStart=yesterday").status_code == 400
    )


def test_observation_units__map_and_filter(client, pheno):
    w = pheno["world"]
    data = _data(
        client.get(f"{B}/observationunits?germplasmDbId={w.ir64}&includeObservations=true")
    )
    sanya = [d for d in data if d["studyName"] == "ROT-2024-Sanya"]
    assert sorted(d["observationUnitName"] for d in sanya) == ["IRGC 66970-r1", "IRGC 66970-r2"]
    unit = sanya[0]
    assert unit["trialName"] == "Rice observational trial 2024"
    assert unit["observationUnitPosition"]["observationLevel"]["levelName"] == "plot"
    assert unit["observationUnitPosition"]["observationLevelRelationships"][0]["levelName"] == "rep"
    assert len(unit["observations"]) == 2
    sid = pheno["study"]["ROT-2024-Sanya"]
    assert len(_data(client.get(f"{B}/observationunits?studyDbId={sid}"))) == 8
    assert (
        _data(client.get(f"{B}/observationunits?studyDbId={sid}&observationUnitLevelName=plant"))
        == []
    )
    one = client.get(f"{B}/observationunits/{unit['observationUnitDbId']}").get_json()["result"]
    assert one["observationUnitName"] == unit["observationUnitName"]
    levels = _data(client.get(f"{B}/observationlevels?studyDbId={sid}"))
    assert [lv["levelName"] for lv in levels] == ["rep", "plot"]


def test_observations_table__rows_per_unit_and_time(client, pheno):
    sid = pheno["study"]["ROT-2024-Sanya"]
    result = client.get(f"{B}/observations/table?studyDbId={sid}").get_json()["result"]
    assert result["headerRow"][:2] == ["observationTimeStamp", "observationUnitDbId"]
    names = [v["observationVariableName"] for v in result["observationVariables"]]
    assert sorted(names) == ["GrainYield_t_ha", "PlantHeight_cm"]
    width = len(result["headerRow"]) + len(names)
    assert len(result["data"]) == 8 and all(len(r) == width for r in result["data"])
    unit = result["headerRow"].index("observationUnitName")
    ir64 = [r for r in result["data"] if r[unit] == "IRGC 66970-r1"][0]
    values = dict(zip(names, ir64[len(result["headerRow"]) :], strict=True))
    assert values == {"PlantHeight_cm": "90", "GrainYield_t_ha": "6.4"} or values == {
        "PlantHeight_cm": "90", "GrainYield_t_ha": "6.0",
    }  # fmt: skip
    units = client.get(f"{B}/observationunits/table?studyDbId={sid}").get_json()["result"]
    assert units["headerRow"][0] == "observationUnitDbId" and len(units["data"]) == 8
    csv = client.get(f"{B}/observations/table?studyDbId={sid}", headers={"Accept": "text/csv"})
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).splitlines()[0].startswith("observationTimeStamp,")


def test_searches__200_and_202_then_fetch(client, pheno):
    sid = pheno["study"]["ROT-2024-Sanya"]
    body = {"studyDbIds": [str(sid)], "observationVariableNames": ["GrainYield_t_ha"]}
    first = client.post(f"{B}/search/observations", json=body)
    assert len(_data(first)) == 2
    later = client.post(f"{B}/search/observations", json=body, headers={"Prefer": "respond-async"})
    assert later.status_code == 202
    search_id = later.get_json()["result"]["searchResultsDbId"]
    assert _data(client.get(f"{B}/search/observations/{search_id}")) == _data(first)
    units = client.post(f"{B}/search/observationunits", json={"studyDbIds": [str(sid)],
                        "observationLevels": [{"levelName": "plot"}]})  # fmt: skip
    assert len(_data(units)) == 8
    variables = client.post(f"{B}/search/variables", json={"dataTypes": ["Numerical"],
                            "studyDbIds": [str(sid)]})  # fmt: skip
    assert len(_data(variables)) == 2


def test_restricted_trial__hidden_from_other_institutes(client, pheno):
    tokens, unit = pheno["tokens"], pheno["restricted_unit"]
    for who in (None, "bea"):
        assert _get(client, f"/observationunits/{unit}", who, tokens).status_code == 404
        assert (
            _data(_get(client, f"/observationunits?observationUnitDbId={unit}", who, tokens)) == []
        )
        names = {
            d["observationUnitName"] for d in _data(_get(client, "/observationunits", who, tokens))
        }
        assert PHENO_RESTRICTED_UNIT not in names
        values = {
            d["observationUnitDbId"] for d in _data(_get(client, "/observations", who, tokens))
        }
        assert str(unit) not in values
    seen = _get(client, f"/observationunits/{unit}", "chen", tokens).get_json()["result"]
    assert seen["studyName"] == PHENO_RESTRICTED_STUDY
    obs_id = seen["observations"][0]["observationDbId"]
    assert _get(client, f"/observations/{obs_id}", "bea", tokens).status_code == 404
    assert _get(client, f"/observations/{obs_id}", "admin", tokens).status_code == 200


def _unit_body(pheno, **extra):
    return {"studyDbId": str(pheno["study"]["ROT-2024-Sanya"]),
            "germplasmDbId": str(pheno["world"].nipponbare), "observationUnitName": "NB-new-1",
            "observationUnitPosition": {"observationLevel": {"levelName": "plot"},
                                        "observationLevelRelationships": [
                                            {"levelName": "rep", "levelCode": "3"}],
                                        "positionCoordinateX": "5", "positionCoordinateY": "6"},
            **extra}  # fmt: skip


def test_write_units__created_and_updated(client, pheno):
    h = bearer(pheno["tokens"]["upl"])
    resp = client.post(f"{B}/observationunits", json=[_unit_body(pheno)], headers=h)
    created = _data(resp)[0]
    assert created["observationUnitName"] == "NB-new-1"
    position = created["observationUnitPosition"]
    assert position["positionCoordinateX"] == "5" and position["positionCoordinateY"] == "6"
    assert position["observationLevelRelationships"][0]["levelCode"] == "3"
    uid = created["observationUnitDbId"]
    put = client.put(
        f"{B}/observationunits/{uid}", json={"observationUnitName": "NB-new-2"}, headers=h
    )
    assert put.get_json()["result"]["observationUnitName"] == "NB-new-2"
    bulk = client.put(
        f"{B}/observationunits", json={uid: {"observationUnitName": "NB-new-3"}}, headers=h
    )
    assert _data(bulk)[0]["observationUnitName"] == "NB-new-3"


def test_write_units__refused_names_item_and_field(app, client, pheno):
    h = bearer(pheno["tokens"]["upl"])
    bad = [
        _unit_body(pheno, observationUnitName="ok-1"),
        _unit_body(pheno, germplasmDbId="999999", observationUnitName="ok-2"),
        _unit_body(
            pheno, studyDbId=str(pheno["study"][PHENO_PUBLIC_STUDY]), observationUnitName="x"
        ),
        _unit_body(pheno, studyDbId=str(pheno["study"][PHENO_RESTRICTED_STUDY])),
    ]
    resp = client.post(f"{B}/observationunits", json=bad, headers=h)
    assert resp.status_code == 400
    message = resp.get_json()
    assert "item 1, germplasmDbId" in message
    assert "item 2, studyDbId" in message and "another institute" in message
    assert "item 3, studyDbId" in message and "no such study" in message
    with transaction(get_engine(app)) as s:
        assert s.scalar(select(ObservationUnit.id).where(ObservationUnit.name == "ok-1")) is None
    twice = client.post(f"{B}/observationunits", json=[_unit_body(pheno)] * 2, headers=h)
    assert twice.status_code == 400 and "item 1, observationUnitName" in twice.get_json()


def _obs_body(pheno, unit_id, **extra):
    return {"observationUnitDbId": str(unit_id),
            "observationVariableDbId": str(pheno["var"]["PlantHeight_cm"]), "value": "88",
            "observationTimeStamp": "2024-06-01T08:30:00+08:00", "collector": "upl", **extra}  # fmt: skip


def _ir64_unit(app) -> int:
    with transaction(get_engine(app)) as s:
        return s.scalar(select(ObservationUnit.id).where(ObservationUnit.name == "IRGC 66970-r1"))


def _summary(app, accession_id, variable_id):
    with transaction(get_engine(app)) as s:
        row = s.get(TraitSummary, (accession_id, variable_id))
        return None if row is None else (row.n, row.mean)


def test_write_observations__created_and_summary_kept(app, client, pheno):
    h = bearer(pheno["tokens"]["upl"])
    unit, var, ir64 = _ir64_unit(app), pheno["var"]["PlantHeight_cm"], pheno["world"].ir64
    resp = client.post(f"{B}/observations", json=[_obs_body(pheno, unit)], headers=h)
    created = _data(resp)[0]
    assert created["value"] == "88" and created["observationTimeStamp"] == "2024-06-01T00:30:00Z"
    assert created["collector"] == "upl"
    assert _summary(app, ir64, var) == (3, pytest.approx((90 + 100 + 88) / 3))
    oid = created["observationDbId"]
    put = client.put(f"{B}/observations/{oid}", json={"value": "94"}, headers=h)
    assert put.get_json()["result"]["value"] == "94"
    assert _summary(app, ir64, var) == (3, pytest.approx((90 + 100 + 94) / 3))
    again = client.post(f"{B}/observations", json=[_obs_body(pheno, unit, value="95")], headers=h)
    assert _data(again)[0]["observationDbId"] == oid  # same unit, variable and time: updated
    bulk = client.put(f"{B}/observations", json={oid: {"value": "96"}}, headers=h)
    assert _data(bulk)[0]["value"] == "96"


def test_write_observations__refused_and_nothing_written(app, client, pheno):
    h = bearer(pheno["tokens"]["upl"])
    unit = _ir64_unit(app)
    bad = [
        _obs_body(pheno, unit, observationTimeStamp="2024-06-02"),
        _obs_body(pheno, unit, value="999"),
        _obs_body(pheno, unit, observationVariableDbId="999999"),
        _obs_body(pheno, unit, value="tall"),
        _obs_body(pheno, pheno["restricted_unit"]),
        _obs_body(pheno, unit, germplasmDbId=str(pheno["world"].azucena)),
        _obs_body(pheno, unit, observationTimeStamp="not a time"),
    ]
    with transaction(get_engine(app)) as s:
        before = s.scalar(select(Observation.id).order_by(Observation.id.desc()).limit(1))
    resp = client.post(f"{B}/observations", json=bad, headers=h)
    assert resp.status_code == 400
    message = resp.get_json()
    assert "item 1, value ('999'): outside the scale of PlantHeight_cm" in message
    assert "item 2, observationVariableDbId" in message
    assert "item 3, value ('tall'): not a number" in message
    assert "item 4, observationUnitDbId" in message
    assert "item 5, germplasmDbId" in message
    assert "item 6, observationTimeStamp" in message
    assert "item 0" not in message
    with transaction(get_engine(app)) as s:
        assert s.scalar(select(Observation.id).order_by(Observation.id.desc()).limit(1)) == before
    other = client.post(f"{B}/observations", json=[_obs_body(pheno, unit)] * 2, headers=h)
    assert other.status_code == 400 and "given twice" in other.get_json()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("post", "/observationunits", []), ("put", "/observationunits", {}),
     ("post", "/observations", []), ("put", "/observations", {}),
     ("put", "/observations/1", {}), ("put", "/observationunits/1", {})],
)  # fmt: skip
def test_writes__need_an_uploader(client, pheno, method, path, body):
    send = getattr(client, method)
    assert send(B + path, json=body).status_code == 401
    assert send(B + path, json=body, headers=bearer(pheno["tokens"]["bea"])).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [("get", "/observations/abc", None, 404), ("get", "/observationunits/0", None, 404),
     ("get", "/variables/99999999999999", None, 404), ("get", "/traits/x", None, 404),
     ("get", "/observations?page=-1", None, 400), ("get", "/observations?studyDbId=%00", None, 400),
     ("get", "/observationunits?includeObservations=maybe", None, 400),
     ("post", "/observations", {"not": "a list"}, 400), ("post", "/observations", [1, 2], 400),
     ("put", "/observations", {"abc": {}}, 400), ("put", "/observations/99999", {}, 404),
     ("post", "/observationunits", [{"observationUnitPosition": "x"}], 400),
     ("post", "/search/observations", {"studyDbIds": {"a": 1}}, 400),
     ("post", "/search/observationunits", {"observationLevels": "plot"}, 400)],
)  # fmt: skip
def test_hostile_input__400_or_404(client, pheno, method, path, body, code):
    h = bearer(pheno["tokens"]["upl"])
    resp = getattr(client, method)(B + path, json=body, headers=h) if body is not None else (
        getattr(client, method)(B + path, headers=h))  # fmt: skip
    assert resp.status_code == code, resp.get_data(as_text=True)
