"""BrAPI genotyping calls on real HDF5 stores (tests.web.brapi._brapi_data), both engines."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.web.brapi._brapi_data import (
    GENO_DIPLOID,
    GENO_HEXAPLOID,
    GENO_RESTRICTED,
    populate_brapi,
)
from tests.web.conftest import bearer

B = "/brapi/v2"


@pytest.fixture
def geno(app, accounts):
    """The BrAPI records; returns ``name -> variantSetDbId`` of the genotype datasets."""
    populate_brapi(app)
    client = app.test_client()
    sets = client.get(f"{B}/variantsets", headers=bearer(accounts.tokens["admin"])).json
    return {v["variantSetName"]: v["variantSetDbId"] for v in sets["result"]["data"]}


def _get(client, url, who=None, accounts=None):
    headers = bearer(accounts.tokens[who]) if who else {}
    return client.get(url, headers=headers)


def _store(app, name):
    return Path(app.config["BREEDHUB_HOME"]) / "genotypes" / name


def test_variantsets__lists_the_visible_datasets(client, geno, accounts):
    names = {v["variantSetName"] for v in client.get(f"{B}/variantsets").json["result"]["data"]}
    assert {GENO_DIPLOID, GENO_HEXAPLOID} <= names and GENO_RESTRICTED not in names
    one = client.get(f"{B}/variantsets/{geno[GENO_HEXAPLOID]}").json["result"]
    assert one["variantCount"] == 5 and one["callSetCount"] == 3
    assert one["additionalInfo"]["ploidy"] == "6"
    fields = {m["fieldAbbreviation"] for m in _get(
        client, f"{B}/variantsets/{geno[GENO_DIPLOID]}", "bea", accounts
    ).json["result"]["metadataFields"]}  # fmt: skip
    assert fields == {"GT", "DP", "GQ"}


@pytest.mark.parametrize("who", [None, "chen"])
def test_variantsets__restricted_dataset_is_unknown_to_others(client, geno, accounts, who):
    ds = geno[GENO_RESTRICTED]
    assert _get(client, f"{B}/variantsets/{ds}", who, accounts).status_code == 404
    assert _get(client, f"{B}/referencesets/{ds}", who, accounts).status_code == 404
    assert _get(client, f"{B}/callsets/{ds}:1", who, accounts).status_code == 404
    assert _get(client, f"{B}/variants/{ds}:0", who, accounts).status_code == 404
    for url in (f"variantsets/{ds}/calls", f"variantsets/{ds}/variants", f"calls?variantSetDbId={ds}",
                f"allelematrix?variantSetDbId={ds}", f"variantsets/{ds}/callsets"):  # fmt: skip
        body = _get(client, f"{B}/{url}", who, accounts).json
        assert body["metadata"]["pagination"]["totalCount"] in (0, 1), url
        assert not body["result"].get("data") and not body["result"].get("variantDbIds"), url
    names = {
        s["sampleName"] for s in _get(client, f"{B}/samples", who, accounts).json["result"]["data"]
    }
    assert "BRAPI-RES-1" not in names and "BRAPI-DIP-1" in names


@pytest.mark.parametrize("who", ["bea", "admin"])
def test_variantsets__restricted_dataset_is_seen_by_its_institute(client, geno, accounts, who):
    ds = geno[GENO_RESTRICTED]
    assert _get(client, f"{B}/variantsets/{ds}", who, accounts).status_code == 200
    calls = _get(client, f"{B}/variantsets/{ds}/calls", who, accounts).json["result"]["data"]
    assert [c["genotypeValue"] for c in calls] == ["0/0", "0/1", "1/1", "0/0", "0/1", "./."]


def test_allelematrix__slice_equals_h5py_for_the_same_rows_and_columns(app, client, geno):
    ds = geno[GENO_DIPLOID]
    url = (f"{B}/allelematrix?variantSetDbId={ds}&dimensionVariantPage=1&dimensionVariantPageSize=3"
           "&dimensionCallSetPage=1&dimensionCallSetPageSize=2&dataMatrixAbbreviations=GT,DP")  # fmt: skip
    result = client.get(url).json["result"]
    with h5py.File(_store(app, "brapi-diploid.h5")) as f:
        gt = f["calldata/GT"][3:6, 2:4]
        dp = f["calldata/DP"][3:6, 2:4]
    assert result["variantDbIds"] == [f"{ds}:3", f"{ds}:4", f"{ds}:5"]
    assert [c.split(":")[0] for c in result["callSetDbIds"]] == [ds, ds]
    matrices = {m["dataMatrixAbbreviation"]: m["dataMatrix"] for m in result["dataMatrices"]}
    expected = [["/".join("." if a < 0 else str(a) for a in sorted(c, key=lambda a: (a < 0, a)))
                 for c in row] for row in gt.tolist()]  # fmt: skip
    assert matrices["GT"] == expected
    assert matrices["DP"] == [[str(v) if v >= 0 else "." for v in row] for row in dp.tolist()]
    paging = {p["dimension"]: p for p in result["pagination"]}
    assert paging["VARIANTS"]["totalCount"] == 7 and paging["VARIANTS"]["totalPages"] == 3
    assert paging["CALLSETS"]["totalCount"] == 4 and paging["CALLSETS"]["page"] == 1


def test_allelematrix__equals_scikit_allel(app, client, geno):
    allel = pytest.importorskip("allel")
    ds = geno[GENO_HEXAPLOID]
    with h5py.File(_store(app, "brapi-hexaploid.h5")) as f:
        gt = allel.GenotypeArray(f["calldata/GT"][:])
    result = client.get(f"{B}/allelematrix?variantSetDbId={ds}").json["result"]
    dosage = gt.to_n_alt(fill=-1)
    matrix = result["dataMatrices"][0]["dataMatrix"]
    for i, row in enumerate(matrix):
        for j, cell in enumerate(row):
            alleles = cell.split("/")
            assert len(alleles) == 6
            if dosage[i, j] >= 0 and not gt.is_missing()[i, j]:
                assert alleles.count("1") == dosage[i, j]


def test_calls__hexaploid_calls_have_six_alleles(client, geno):
    ds = geno[GENO_HEXAPLOID]
    calls = client.get(f"{B}/variantsets/{ds}/calls").json["result"]["data"]
    assert len(calls) == 15
    assert all(len(c["genotypeValue"].split("/")) == 6 for c in calls)
    assert calls[1]["genotypeValue"] == "0/0/0/1/1/1"
    assert calls[5]["genotypeValue"] == "./././././."
    short = client.get(f"{B}/variantsets/{ds}/calls?expandHomozygotes=false&unknownString=N")
    values = [c["genotypeValue"] for c in short.json["result"]["data"]]
    assert values[0] == "0" and values[5] == "N" and short.json["result"]["unknownString"] == "N"


def test_calls__paging_walks_variant_by_variant(client, geno):
    ds = geno[GENO_DIPLOID]
    seen = []
    for page in range(6):
        body = client.get(f"{B}/calls?variantSetDbId={ds}&pageSize=5&page={page}").json
        seen += [(c["variantDbId"], c["callSetName"]) for c in body["result"]["data"]]
    assert body["metadata"]["pagination"]["totalCount"] == 28
    assert len(seen) == 28 == len(set(seen))
    assert seen[:5] == [(f"{ds}:0", f"BRAPI-DIP-{k}") for k in (1, 2, 3, 4)] + [
        (f"{ds}:1", "BRAPI-DIP-1")
    ]


def test_calls__of_a_callset_and_of_a_variant(client, geno):
    ds = geno[GENO_DIPLOID]
    callset = client.get(f"{B}/callsets?variantSetDbId={ds}&callSetName=BRAPI-DIP-2").json
    cs = callset["result"]["data"][0]["callSetDbId"]
    by_cs = client.get(f"{B}/callsets/{cs}/calls").json["result"]["data"]
    assert [c["genotypeValue"] for c in by_cs] == ["0/1", "0/0", "0/2", "./.", "0/0", "1/1", "0/1"]
    by_var = client.get(f"{B}/variants/{ds}:2/calls").json["result"]["data"]
    assert [c["genotypeValue"] for c in by_var] == ["1/2", "0/2", "0/0", "1/1"]
    dp = {m["fieldAbbreviation"]: m["fieldValue"] for m in by_var[0]["genotypeMetadata"]}
    assert dp == {"DP": "14", "GQ": "50"}


def test_variants__map_the_store_rows(client, geno):
    ds = geno[GENO_DIPLOID]
    body = client.get(f"{B}/variantsets/{ds}/variants?pageSize=3&page=1").json
    assert body["metadata"]["pagination"]["totalCount"] == 7
    third = body["result"]["data"][0]
    assert third["variantDbId"] == f"{ds}:3" and third["variantNames"] == ["snp4"]
    assert third["referenceBases"] == "AT" and third["alternateBases"] == ["A"]
    assert third["start"] == 4499 and third["end"] == 4501 and third["referenceName"] == "chr01"
    multi = client.get(f"{B}/variants/{ds}:2").json["result"]
    assert multi["alternateBases"] == ["A", "C"] and multi["variantNames"] == []
    ref = client.get(f"{B}/references/{third['referenceDbId']}").json["result"]
    assert ref["referenceName"] == "chr01" and ref["length"] == 43270923
    refs = client.get(f"{B}/references?referenceSetDbId={ds}").json["result"]["data"]
    assert [r["referenceName"] for r in refs] == ["chr01", "chr02"]


def test_search_variants__window_on_a_reference(client, geno):
    ds = geno[GENO_DIPLOID]
    body = {"referenceDbIds": [f"{ds}:0"], "start": 1500, "end": 4000}
    found = client.post(f"{B}/search/variants", json=body).json["result"]["data"]
    assert [v["variantDbId"] for v in found] == [f"{ds}:1", f"{ds}:2"]


@pytest.mark.parametrize("kind", ["samples", "callsets", "variantsets", "variants", "calls"])
def test_search__answers_200_and_202_then_the_results(client, geno, accounts, kind):
    ds = geno[GENO_HEXAPLOID]
    body = {"variantSetDbIds": [ds], "pageSize": 2}
    if kind == "samples":
        body = {"sampleNames": ["BRAPI-HEX-1", "BRAPI-HEX-2", "BRAPI-HEX-3"], "pageSize": 2}
    headers = bearer(accounts.tokens["bea"])
    now = client.post(f"{B}/search/{kind}", json=body, headers=headers)
    assert now.status_code == 200 and now.json["result"]["data"]
    later = client.post(
        f"{B}/search/{kind}", json=body, headers={**headers, "Prefer": "respond-async"}
    )
    assert later.status_code == 202
    search_id = later.json["result"]["searchResultsDbId"]
    again = client.get(f"{B}/search/{kind}/{search_id}?pageSize=2", headers=headers)
    assert again.status_code == 200 and again.json["result"]["data"] == now.json["result"]["data"]


def test_search_allelematrix__200_and_202_with_dimension_paging(client, geno, accounts):
    ds = geno[GENO_HEXAPLOID]
    body = {"variantSetDbIds": [ds], "pagination": [
        {"dimension": "VARIANTS", "page": 1, "pageSize": 2},
        {"dimension": "callsets", "page": 0, "pageSize": 2}]}  # fmt: skip
    now = client.post(f"{B}/search/allelematrix", json=body)
    assert now.status_code == 200
    result = now.json["result"]
    assert result["variantDbIds"] == [f"{ds}:2", f"{ds}:3"] and len(result["callSetDbIds"]) == 2
    assert result["dataMatrices"][0]["dataMatrix"] == [["0/0/0/0/0/1", "0/0/0/0/0/0"],
                                                       ["0/1/1/1/1/1", "0/0/0/1/1/1"]]  # fmt: skip
    headers = {**bearer(accounts.tokens["bea"]), "Prefer": "respond-async"}
    later = client.post(f"{B}/search/allelematrix", json=body, headers=headers)
    assert later.status_code == 202
    search_id = later.json["result"]["searchResultsDbId"]
    again = client.get(
        f"{B}/search/allelematrix/{search_id}", headers=bearer(accounts.tokens["bea"])
    )
    assert again.json["result"] == result


def test_allelematrix__filters_by_germplasm_and_position(client, geno, world):
    ds = geno[GENO_DIPLOID]
    url = f"{B}/allelematrix?germplasmDbId={world.azucena}&positionRange=chr02:100-1000&variantSetDbId={ds}"
    result = client.get(url).json["result"]
    assert result["variantDbIds"] == [f"{ds}:4", f"{ds}:5"]
    assert len(result["callSetDbIds"]) == 1
    assert result["dataMatrices"][0]["dataMatrix"] == [["0/0"], ["1/1"]]
    preview = client.get(url + "&preview=true").json["result"]
    assert preview["dataMatrices"] == [] and preview["variantDbIds"] == result["variantDbIds"]


def test_samples__map_the_sample_records(client, geno, world):
    found = client.get(f"{B}/samples?sampleName=BRAPI-DIP-2").json["result"]["data"]
    assert len(found) == 1
    s = found[0]
    assert s["germplasmDbId"] == str(world.azucena) and s["well"] == "A02"
    assert s["row"] == "A" and s["column"] == 2 and s["tissueType"] == "leaf"
    assert (
        client.get(f"{B}/samples/{s['sampleDbId']}").json["result"]["sampleName"] == "BRAPI-DIP-2"
    )


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("samples/abc", 404),
        ("samples/99999999999999999999", 404),
        ("callsets/1:x", 404),
        ("callsets/%00", 404),
        ("variants/1:99999", 404),
        ("variants/1:-1", 404),
        ("references/1:77", 404),
        ("variantsets/0", 404),
        ("allelematrix?dimensionVariantPageSize=0", 400),
        ("allelematrix?dimensionCallSetPageSize=100000", 400),
        ("allelematrix?dimensionVariantPage=-1", 400),
        ("allelematrix?preview=maybe", 400),
        ("allelematrix?unknownString=%00", 400),
        ("calls?expandHomozygotes=2", 400),
        ("calls?pageSize=0", 400),
        ("references?minLength=x", 400),
    ],
)
def test_hostile_input__is_400_or_404(client, geno, url, status):
    resp = client.get(f"{B}/{url}")
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]


def test_hostile_input__bad_position_range_is_400_and_unknown_contig_empty(client, geno):
    ds = geno[GENO_DIPLOID]
    assert client.get(f"{B}/allelematrix?positionRange=chr01:9-2").status_code == 400
    empty = client.get(f"{B}/allelematrix?positionRange=chrZZ:1-5&variantSetDbId={ds}").json
    assert empty["result"]["variantDbIds"] == []
    bad = client.post(f"{B}/search/allelematrix", json={"pagination": [{"dimension": "X"}]})
    assert bad.status_code == 400
    assert client.post(f"{B}/search/variants", json={"start": "x"}).status_code == 400


def test_store_missing__answers_no_variants_not_500(client, world):
    listed = client.get(f"{B}/variantsets").json["result"]["data"]
    panel = next(v for v in listed if v["variantSetName"] == "rice-panel-2024")
    ds = panel["variantSetDbId"]
    assert client.get(f"{B}/variantsets/{ds}/variants").json["result"]["data"] == []
    assert client.get(f"{B}/variantsets/{ds}/calls").status_code == 200
    assert client.get(f"{B}/allelematrix?variantSetDbId={ds}").status_code == 200
    np.testing.assert_equal(panel["variantCount"], 12345)
