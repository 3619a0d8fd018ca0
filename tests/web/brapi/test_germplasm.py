"""The BrAPI v2.1 germplasm calls (web.brapi.germplasm) through the Flask test client, both engines."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from breedhub.germplasm import transaction
from breedhub.germplasm.models import Accession, AccessionName
from breedhub.web.db import get_engine
from tests.web.brapi import _brapi_data as data
from tests.web.conftest import bearer

SPEC = (
    Path(__file__).parents[4] / "shared" / "brapi-spec" / "merged" / "brapi_v2.1_all_openapi.yaml"
)
B = "/brapi/v2"


@functools.cache
def _schemas() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())["components"]["schemas"]


def _properties(name: str) -> set[str]:
    schema = _schemas()[name]
    out: set[str] = set()
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            out |= _properties(part["$ref"].rsplit("/", 1)[-1])
        else:
            out |= set(part.get("properties", {}))
    return out


@pytest.fixture
def brapi(app, world, accounts):
    data.populate_brapi(app)
    with transaction(get_engine(app)) as s:
        bc = s.scalars(select(Accession.id).where(Accession.accenumb == data.GERMPLASM_BACKCROSS))
        world.backcross = bc.one()
    return world


def _get(client, url: str, token: str | None = None) -> Any:
    resp = client.get(B + url, headers=bearer(token) if token else {})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_json()


def _data(client, url: str, token: str | None = None) -> list[dict[str, Any]]:
    return _get(client, url, token)["result"]["data"]


def _count(app) -> int:
    with transaction(get_engine(app)) as s:
        return s.scalar(select(func.count()).select_from(Accession)) or 0


# --- reading --------------------------------------------------------------------------------


def test_germplasm_one__maps_the_passport_of_ir64(client, brapi):
    g = _get(client, f"/germplasm/{brapi.ir64}")["result"]
    assert set(g) == _properties("Germplasm")
    assert g["germplasmDbId"] == str(brapi.ir64)
    assert (g["accessionNumber"], g["germplasmName"], g["instituteCode"]) == (
        "IRGC 66970",
        "IR64",
        "PHL001",
    )
    assert g["commonCropName"] == "rice"
    assert (g["genus"], g["species"], g["subtaxa"]) == ("Oryza", "sativa", "subsp. indica")
    assert g["biologicalStatusOfAccessionCode"] == "500"
    assert g["acquisitionDate"] == "1985-06-01"
    assert g["countryOfOriginCode"] == "PHL"
    assert [s["code"] for s in g["storageTypes"]] == ["12", "13"]
    assert {"synonym": "IR 64-21", "type": "ACCENAME"} in g["synonyms"]
    assert {"synonym": "USA022:PI 000000", "type": "OTHERNUMB"} in g["synonyms"]
    sources = {r["referenceSource"]: r["referenceId"] for r in g["externalReferences"]}
    assert sources == {"PUID": "breedhub:PHL001:IRGC 66970", "USA022": "PI 000000"}
    assert g["pedigree"] is None and g["breedingMethodDbId"] is None
    assert g["additionalInfo"] == {} and g["donors"] == [] and g["taxonIds"] == []


def test_germplasm_one__carries_the_pedigree_of_iraz1(client, brapi):
    g = _get(client, f"/germplasm/{brapi.iraz1}")["result"]
    assert g["pedigree"] == "IR64/Azucena"
    assert g["breedingMethodDbId"] == "BIPARENTAL"
    assert g["breedingMethodName"] == "Biparental cross"


def test_germplasm_one__partial_date_goes_to_additional_info(client, brapi):
    g = _get(client, f"/germplasm/{brapi.backcross}")["result"]
    assert g["acquisitionDate"] is None
    assert g["additionalInfo"] == {"ACQDATE": "2021----"}


@pytest.mark.parametrize("bad", ["0", "99999999999", "abc", "%C2%B2", "1%00", "-1", "１"])
def test_germplasm_one__unknown_or_hostile_id_is_404(client, brapi, bad):
    for suffix in ("", "/mcpd", "/pedigree", "/progeny"):
        resp = client.get(f"{B}/germplasm/{bad}{suffix}")
        assert resp.status_code == 404, (bad, suffix, resp.status_code)


def test_germplasm_mcpd__every_stored_field_with_codes(client, brapi):
    m = _get(client, f"/germplasm/{brapi.ir64}/mcpd")["result"]
    assert set(m) == _properties("GermplasmMCPD")
    assert m["accessionNames"] == ["IR64", "IR 64-21"]
    assert m["alternateIDs"] == ["USA022:PI 000000"]
    assert m["acquisitionSourceCode"] == "40"
    assert m["mlsStatus"] == "1"
    assert m["storageTypeCodes"] == ["12", "13"]
    assert m["remarks"] == "Mega-variety; reference indica line."
    assert m["subtaxon"] == "subsp. indica"
    assert m["commonCropName"] == "rice"
    iraz = _get(client, f"/germplasm/{brapi.iraz1}/mcpd")["result"]
    assert iraz["ancestralData"] == "IR64/Azucena"
    assert iraz["breedingInstitutes"] == [{"instituteCode": "CHN999", "instituteName": None}]


def test_germplasm_list__pages_with_total_count(app, client, brapi):
    body = _get(client, "/germplasm?pageSize=3&page=1")
    total = _count(app)
    assert body["metadata"]["pagination"] == {
        "currentPage": 1,
        "pageSize": 3,
        "totalCount": total,
        "totalPages": -(-total // 3),
    }
    ids = [g["germplasmDbId"] for g in body["result"]["data"]]
    assert len(ids) == 3
    everything = [g["germplasmDbId"] for g in _data(client, "/germplasm")]
    assert everything[3:6] == ids


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("germplasmName=IR64", {"IRGC 66970"}),
        ("accessionNumber=IRGC%20328", {"IRGC 328"}),
        ("germplasmPUI=breedhub:PHL001:IRGC%2012731", {"IRGC 12731"}),
        ("commonCropName=pepper", {"CM334"}),
        ("commonCropName=Pepper", {"CM334"}),
        ("genus=Sus", {"D-1001"}),
        ("species=annuum", {"CM334"}),
        ("binomialName=Sus%20scrofa", {"D-1001"}),
        ("synonym=ir-64-21", {"IRGC 66970"}),
        ("synonym=日本晴", {"IRGC 12731"}),
        ("externalReferenceId=PI%20000000", {"IRGC 66970"}),
        ("externalReferenceSource=USA022", {"IRGC 66970"}),
        ("commonCropName=rice&accessionNumber=CM334", set()),
        ("collection=anything", set()),
        ("germplasmDbId=abc", set()),
        ("germplasmName=nothing-like-it", set()),
    ],
)
def test_germplasm_list__filters(client, brapi, query, numbers):
    found = {g["accessionNumber"] for g in _data(client, f"/germplasm?{query}")}
    # other areas' test data may add accessions: ours must be there, and nothing where none fits
    assert numbers <= found if numbers else found == set()


def test_germplasm_list__parent_and_progeny_filters(client, brapi):
    kids = _data(client, f"/germplasm?parentDbId={brapi.ir64}")
    assert {g["accessionNumber"] for g in kids} == {"BH-0001", "BH-0003"}
    parents = _data(client, f"/germplasm?progenyDbId={brapi.iraz1}")
    assert {g["accessionNumber"] for g in parents} == {"IRGC 66970", "IRGC 328"}
    ids = _data(client, f"/germplasm?germplasmDbId={brapi.ir64},{brapi.cm334}")
    assert {g["germplasmDbId"] for g in ids} == {str(brapi.ir64), str(brapi.cm334)}


@pytest.mark.parametrize(
    "query",
    ["page=-1", "pageSize=0", "page=%C2%B2", "pageSize=99999999999999", "germplasmName=a%00b",
     "synonym=" + "x" * 20000],
)  # fmt: skip
def test_germplasm_list__hostile_parameters_are_400(client, brapi, query):
    assert client.get(f"{B}/germplasm?{query}").status_code == 400


def test_search_germplasm__200_and_202_then_fetch(client, brapi, accounts):
    body = {"accessionNumbers": ["IRGC 66970", "BH-0001"], "commonCropNames": ["rice"]}
    resp = client.post(f"{B}/search/germplasm", json=body)
    assert resp.status_code == 200
    assert {g["accessionNumber"] for g in resp.get_json()["result"]["data"]} == {
        "IRGC 66970",
        "BH-0001",
    }
    headers = {**bearer(accounts.tokens["bea"]), "Prefer": "respond-async"}
    resp = client.post(
        f"{B}/search/germplasm", json={"parentDbIds": [str(brapi.ir64)]}, headers=headers
    )
    assert resp.status_code == 202
    search_id = resp.get_json()["result"]["searchResultsDbId"]
    got = _data(client, f"/search/germplasm/{search_id}", accounts.tokens["bea"])
    assert {g["accessionNumber"] for g in got} == {"BH-0001", "BH-0003"}
    assert client.get(f"{B}/search/germplasm/{search_id}").status_code == 404  # not bea's


def test_search_germplasm__bad_body_is_400(client, brapi):
    for body in ({"germplasmDbIds": {"a": 1}}, {"synonyms": ["a\x00"]}, {"pageSize": 0}):
        assert client.post(f"{B}/search/germplasm", json=body).status_code == 400


# --- pedigree and progeny -------------------------------------------------------------------


def test_germplasm_pedigree__parents_year_and_siblings(client, brapi):
    p = _get(client, f"/germplasm/{brapi.iraz1}/pedigree?includeSiblings=true")["result"]
    assert p["crossingYear"] == 2019 and p["pedigree"] == "IR64/Azucena"
    assert p["parents"] == [
        {"germplasmDbId": str(brapi.ir64), "germplasmName": "IR64", "parentType": "FEMALE"},
        {"germplasmDbId": str(brapi.azucena), "germplasmName": "Azucena", "parentType": "MALE"},
    ]
    assert p["siblings"] == [{"germplasmDbId": str(brapi.backcross), "germplasmName": "IRAZ-BC1"}]
    plain = _get(client, f"/germplasm/{brapi.ir64}/pedigree")["result"]
    assert plain["parents"] == [] and plain["siblings"] is None
    assert (
        client.get(f"{B}/germplasm/{brapi.ir64}/pedigree?includeSiblings=maybe").status_code == 400
    )


def test_germplasm_progeny__children_with_the_parent_role(client, brapi):
    p = _get(client, f"/germplasm/{brapi.ir64}/progeny")["result"]
    assert p["progeny"] == [
        {"germplasmDbId": str(brapi.iraz1), "germplasmName": "IRAZ-1", "parentType": "FEMALE"},
        {"germplasmDbId": str(brapi.backcross), "germplasmName": "IRAZ-BC1", "parentType": "MALE"},
    ]
    assert _get(client, f"/germplasm/{brapi.cm334}/progeny")["result"]["progeny"] == []


def test_pedigree_list__nodes_with_parents_and_progeny(client, brapi):
    nodes = _data(client, f"/pedigree?germplasmDbId={brapi.iraz1}&includeProgeny=true")
    assert len(nodes) == 1
    node = nodes[0]
    assert set(node) == _properties("PedigreeNode")
    assert node["pedigreeString"] == "IR64/Azucena" and node["breedingMethodDbId"] == "BIPARENTAL"
    assert [p["parentType"] for p in node["parents"]] == ["FEMALE", "MALE"]
    assert node["progeny"] == [
        {"germplasmDbId": str(brapi.backcross), "germplasmName": "IRAZ-BC1", "parentType": "FEMALE"}
    ]
    assert node["siblings"] is None
    bare = _data(client, f"/pedigree?germplasmDbId={brapi.iraz1}&includeParents=false")[0]
    assert bare["parents"] is None and bare["progeny"] is None
    rice = _get(client, "/germplasm?commonCropName=rice&pageSize=1")["metadata"]["pagination"]
    total = _get(client, "/pedigree?commonCropName=rice&pageSize=2")["metadata"]["pagination"]
    assert total["totalCount"] == rice["totalCount"] >= 6
    assert client.get(f"{B}/pedigree?pedigreeDepth=%C2%B2").status_code == 400


# --- crosses, crossing projects, breeding methods -------------------------------------------


def test_crosses__from_pedigree_records(client, brapi):
    crosses = {c["crossDbId"]: c for c in _data(client, "/crosses")}
    assert set(crosses) == {str(brapi.iraz1), str(brapi.backcross)}
    c = crosses[str(brapi.iraz1)]
    assert set(c) == _properties("Cross")
    assert c["crossType"] == "BIPARENTAL" and c["crossName"] == "IR64/Azucena"
    assert c["parent1"]["germplasmDbId"] == str(brapi.ir64)
    assert c["parent1"]["parentType"] == "FEMALE" and c["parent2"]["parentType"] == "MALE"
    assert c["crossingProjectDbId"] is None
    bc = crosses[str(brapi.backcross)]
    assert bc["crossType"] == "BIPARENTAL"
    assert bc["additionalInfo"]["breedhubCrossType"] == "BACKCROSS"
    assert bc["crossingProjectName"] == data.GERMPLASM_PROGRAM
    only = _data(client, f"/crosses?crossingProjectDbId={bc['crossingProjectDbId']}")
    assert [x["crossDbId"] for x in only] == [str(brapi.backcross)]
    assert _data(client, "/crosses?externalReferenceId=x") == []


def test_crossingprojects__one_per_programme_with_crosses(client, brapi):
    projects = _data(client, "/crossingprojects?includePotentialParents=true")
    assert [p["crossingProjectName"] for p in projects] == [data.GERMPLASM_PROGRAM]
    assert set(projects[0]) == _properties("CrossingProject")
    parents = {(p["germplasmDbId"], p["parentType"]) for p in projects[0]["potentialParents"]}
    assert parents == {(str(brapi.iraz1), "FEMALE"), (str(brapi.ir64), "MALE")}
    assert _data(client, "/crossingprojects?crossingProjectDbId=999999") == []


def test_breedingmethods__our_cross_types(client, brapi):
    body = _get(client, "/breedingmethods?pageSize=4&page=2")
    assert body["metadata"]["pagination"]["totalCount"] == 11
    assert [m["breedingMethodDbId"] for m in body["result"]["data"]] == [
        "CLONAL",
        "MUTANT",
        "UNKNOWN",
    ]
    one = _get(client, "/breedingmethods/SELF")["result"]
    assert one["breedingMethodName"] == "Self-pollination"
    assert client.get(f"{B}/breedingmethods/nope").status_code == 404


# --- attributes -----------------------------------------------------------------------------


def test_attributes__variables_with_trait_summaries(client, brapi):
    attrs = _data(client, "/attributes")
    names = {a["attributeName"] for a in attrs}
    assert {"PlantHeight_cm", "GrainYield_t_ha"} <= names
    assert set(attrs[0]) == _properties("GermplasmAttribute")
    mine = _data(client, f"/attributes?germplasmDbId={brapi.nipponbare}")
    assert [a["attributeName"] for a in mine] == ["PlantHeight_cm"]
    assert _data(client, "/attributes?traitPUI=x") == []


def test_attributevalues__accession_means(client, brapi):
    values = _data(
        client, f"/attributevalues?germplasmDbId={brapi.ir64}&attributeName=PlantHeight_cm"
    )
    assert len(values) == 1
    v = values[0]
    assert set(v) == _properties("GermplasmAttributeValue")
    assert v["value"] == "95" and v["germplasmName"] == "IR64"
    again = _data(client, f"/attributevalues?attributeValueDbId={v['attributeValueDbId']}")
    assert again == values
    assert _data(client, "/attributevalues?attributeValueDbId=1-x") == []


# --- writes ---------------------------------------------------------------------------------

NEW = {
    "accessionNumber": "IRGC 99001",
    "germplasmName": "Test line",
    "germplasmPUI": "doi:10.0000/test-99001",
    "commonCropName": "rice",
    "biologicalStatusOfAccessionCode": "410",
    "acquisitionDate": "2020-02-03",
    "countryOfOriginCode": "PHL",
    "synonyms": [{"synonym": "TL-1", "type": "ACCENAME"}, {"synonym": "USA022:PI 1", "type": "OTHERNUMB"}],
    "storageTypes": [{"code": "13"}],
    "donors": [{"donorInstituteCode": "USA022", "donorAccessionNumber": "PI 1"}],
    "germplasmOrigin": [
        {
            "coordinateUncertainty": "100",
            "coordinates": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.25, 14.17]}},
        }
    ],
}  # fmt: skip


def _post(client, token: str | None, body: Any):
    return client.post(f"{B}/germplasm", json=body, headers=bearer(token) if token else {})


def test_germplasm_add__creates_in_the_writers_institute(app, client, brapi, accounts):
    resp = _post(client, accounts.tokens["upl"], [NEW, {**NEW, "accessionNumber": "IRGC 99002",
                 "germplasmPUI": "", "synonyms": []}])  # fmt: skip
    assert resp.status_code == 200, resp.get_data(as_text=True)
    made = resp.get_json()["result"]["data"]
    assert [g["accessionNumber"] for g in made] == ["IRGC 99001", "IRGC 99002"]
    g = made[0]
    assert g["instituteCode"] == "PHL001" and g["commonCropName"] == "rice"
    assert g["acquisitionDate"] == "2020-02-03" and g["biologicalStatusOfAccessionCode"] == "410"
    assert g["germplasmOrigin"][0]["coordinates"]["geometry"]["coordinates"] == [121.25, 14.17]
    assert g["donors"] == [{"donorAccessionNumber": "PI 1", "donorInstituteCode": "USA022"}]
    assert made[1]["germplasmPUI"] == "PHL001:IRGC 99002:Oryza"
    found = _data(client, "/germplasm?synonym=TL-1")
    assert [x["germplasmDbId"] for x in found] == [g["germplasmDbId"]]
    with transaction(get_engine(app)) as s:
        names = s.scalars(
            select(AccessionName.name).where(AccessionName.accession_id == int(g["germplasmDbId"]))
        ).all()
    assert {"IRGC 99001", "Test line", "TL-1", "PI 1"} <= set(names)


@pytest.mark.parametrize(
    ("item", "field", "words"),
    [
        ({"accessionNumber": "IRGC 66970"}, "germplasm[1].accessionNumber", "already in the database"),
        ({"commonCropName": "banana"}, "germplasm[1].commonCropName", "unknown crop"),
        ({"biologicalStatusOfAccessionCode": "123"}, "germplasm[1].biologicalStatusOfAccessionCode", "SAMPSTAT"),
        ({"storageTypes": [{"code": "77"}]}, "germplasm[1].storageTypes", "STORAGE"),
        ({"acquisitionDate": "2020-13-45"}, "germplasm[1].acquisitionDate", "impossible date"),
        ({"countryOfOriginCode": "XXX"}, "germplasm[1].countryOfOriginCode", "ISO 3166-1"),
        ({"genus": "Zea"}, "germplasm[1].genus", "does not match"),
        ({"instituteCode": "CHN999"}, "germplasm[1].instituteCode", "your institute"),
        ({"accessionNumber": ""}, "germplasm[1].accessionNumber", "required value is empty"),
        ({"accessionNumber": "IRGC 99001"}, "germplasm[1].accessionNumber", "duplicate accession number"),
        ({"germplasmPUI": "breedhub:PHL001:IRGC 328"}, "germplasm[1].germplasmPUI", "already the PUID"),
    ],
)  # fmt: skip
def test_germplasm_add__refuses_the_whole_list_naming_item_and_field(
    app, client, brapi, accounts, item, field, words
):
    before = _count(app)
    second = {**NEW, "germplasmPUI": "", "synonyms": [], **item}
    if "accessionNumber" not in item:
        second["accessionNumber"] = "IRGC 99002"
    resp = _post(client, accounts.tokens["upl"], [NEW, second])
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400, text
    assert field in text and words in text, text
    assert _count(app) == before


def test_germplasm_add__roles(app, client, brapi, accounts):
    before = _count(app)
    assert _post(client, None, [NEW]).status_code == 401
    assert _post(client, accounts.tokens["bea"], [NEW]).status_code == 403
    assert _post(client, accounts.tokens["bio"], [NEW]).status_code == 403
    assert _count(app) == before
    admin = _post(client, accounts.tokens["admin"], [{**NEW, "instituteCode": "MEX001"}])
    assert admin.status_code == 200, admin.get_data(as_text=True)
    assert admin.get_json()["result"]["data"][0]["instituteCode"] == "MEX001"


@pytest.mark.parametrize(
    "body",
    [{"not": "a list"}, ["a string"], [{"accessionNumber": 1.5}], [{"synonyms": "x"}],
     [{"accessionNumber": "A\x00B"}], [{"germplasmOrigin": [{"coordinates": {}}]}]],
)  # fmt: skip
def test_germplasm_add__hostile_bodies_are_400(app, client, brapi, accounts, body):
    before = _count(app)
    assert _post(client, accounts.tokens["upl"], body).status_code == 400
    assert _count(app) == before


def test_germplasm_update__changes_given_fields_only(client, brapi, accounts):
    url = f"{B}/germplasm/{brapi.azucena}"
    change = {
        "countryOfOriginCode": "IDN",
        "storageTypes": [{"code": "20"}],
        "germplasmName": "Azucena x",
    }
    resp = client.put(url, json=change, headers=bearer(accounts.tokens["upl"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    g = resp.get_json()["result"]
    assert (g["countryOfOriginCode"], g["germplasmName"]) == ("IDN", "Azucena x")
    assert [s["code"] for s in g["storageTypes"]] == ["20"]
    assert g["biologicalStatusOfAccessionCode"] == "300" and g["subtaxa"] == "subsp. japonica"
    assert _data(client, "/germplasm?germplasmName=Azucena%20x")[0]["germplasmDbId"] == str(
        brapi.azucena
    )


def test_germplasm_update__refusals(client, brapi, accounts):
    upl = bearer(accounts.tokens["upl"])
    other = client.put(f"{B}/germplasm/{brapi.iraz1}", json={"remarks": "x"}, headers=upl)
    assert other.status_code == 403  # CHN999's accession
    assert client.put(f"{B}/germplasm/{brapi.ir64}", json={}).status_code == 401
    bea = bearer(accounts.tokens["bea"])
    assert client.put(f"{B}/germplasm/{brapi.ir64}", json={}, headers=bea).status_code == 403
    bad = client.put(
        f"{B}/germplasm/{brapi.ir64}", json={"biologicalStatusOfAccessionCode": "7"}, headers=upl
    )
    assert (
        bad.status_code == 400
        and "germplasm[0].biologicalStatusOfAccessionCode" in bad.get_data(as_text=True)
    )
    renumber = client.put(f"{B}/germplasm/{brapi.ir64}", json={"accessionNumber": "X"}, headers=upl)
    assert renumber.status_code == 400
    assert _get(client, f"/germplasm/{brapi.ir64}")["result"]["accessionNumber"] == "IRGC 66970"
    assert client.put(f"{B}/germplasm/99999", json={}, headers=upl).status_code == 404
    assert client.put(f"{B}/germplasm/%C2%B2", json={}, headers=upl).status_code == 404
    admin = bearer(accounts.tokens["admin"])
    ok = client.put(f"{B}/germplasm/{brapi.iraz1}", json={"remarks": "checked"}, headers=admin)
    assert ok.status_code == 200, ok.get_data(as_text=True)
