"""The JSON API (web/api.py)."""

from __future__ import annotations


def test_germplasm_search__shape(client, world):
    resp = client.get("/api/v1/germplasm?species=rice&page_size=2&sort=name")
    assert resp.status_code == 200
    body = resp.json
    assert set(body) == {"total", "page", "page_size", "results"}
    assert (body["total"], body["page"], body["page_size"]) == (5, 1, 2)
    first = body["results"][0]
    assert first["accenumb"] == "IRGC 328" and first["name"] == "Azucena"
    assert first["species"] == "rice" and first["genotyped"] is False
    assert {"id", "puid", "instcode", "origcty", "sampstat", "sampstat_label"} <= set(first)


def test_germplasm_search__text_and_trait(client, world):
    body = client.get("/api/v1/germplasm?q=ir+64&trait=PlantHeight_cm&min=0").json
    assert [r["name"] for r in body["results"]] == ["IR64"]
    assert body["results"][0]["traits"] == {"PlantHeight_cm": 95.0}
    assert body["results"][0]["genotyped"] is True


def test_germplasm_search__bad_parameter_json_400(client, world):
    resp = client.get("/api/v1/germplasm?page=0")
    assert resp.status_code == 400
    err = resp.json["error"]
    assert err["type"] == "InvalidParameterError"
    assert "page" in err["message"]
    assert err["details"] == [
        {"parameter": "page", "value": "0", "reason": "must be 1 or more, not 0"}
    ]


def test_germplasm_detail__shape(client, world):
    resp = client.get(f"/api/v1/germplasm/{world.iraz1}")
    assert resp.status_code == 200
    body = resp.json
    for key in (
        "passport",
        "names",
        "pedigree",
        "progeny",
        "traits",
        "observations_by_study",
        "samples",
        "genotype_datasets",
        "predictions",
    ):
        assert key in body
    assert body["passport"]["ACCENUMB"] == "BH-0001"
    assert body["pedigree"]["female_parent"]["name"] == "IR64"
    assert body["traits"][0]["variable"] == "PlantHeight_cm"


def test_germplasm_detail__by_instcode_and_number(client, world):
    resp = client.get("/api/v1/germplasm/PHL001:IRGC 66970")
    assert resp.status_code == 200
    assert resp.json["id"] == world.ir64


def test_germplasm_detail__unknown_json_404(client, world):
    resp = client.get("/api/v1/germplasm/NOPE-1")
    assert resp.status_code == 404
    assert resp.json["error"]["type"] == "NotFoundError"
    assert "NOPE-1" in resp.json["error"]["message"]
