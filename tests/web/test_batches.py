"""Upload batches over the API and in the portal, on SQLite and PostgreSQL.

API: 201 with the files to send, 422 with every problem and nothing kept,
401 without a token, 403 for a role that may not upload or for another
institute's batch. Pages: the uploader's institute sees its batches and
their files; another institute gets a 404; the form works without JavaScript.
"""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import func, select

from breedhub.germplasm import transaction
from breedhub.germplasm.models_uploads import UploadBatch
from breedhub.pipelines.batches import upload_verified
from breedhub.web.db import get_engine
from tests.germplasm.test_batches import READS, good_rows, make_reads, receive, write_sheet
from tests.web.conftest import bearer, csrf_token, login

IR64, NIPPONBARE = "PHL001:IRGC 66970", "PHL001:IRGC 12731"


def _sheet(tmp_path: Path, suffix: str = ".csv", **changes) -> tuple[Path, dict[str, Path]]:
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    for r in rows:
        r["accession"] = IR64 if r["sample"] == "S1" else NIPPONBARE
    for row_index, values in changes.items():
        rows[int(row_index.removeprefix("r"))].update(values)
    return write_sheet(tmp_path / f"sheet{suffix}", rows), files


def _post(client, path: Path, token: str | None, **form):
    data = {"sheet": (io.BytesIO(path.read_bytes()), path.name), "name": "plate 1", **form}
    headers = bearer(token) if token else {}
    return client.post(
        "/api/v1/batches", data=data, headers=headers, content_type="multipart/form-data"
    )


def _n_batches(app) -> int:
    with transaction(get_engine(app)) as s:
        return s.scalar(select(func.count()).select_from(UploadBatch))


def test_api_create__201_with_the_files_to_send(client, accounts, tmp_path):
    sheet, files = _sheet(tmp_path, ".xlsx")
    resp = _post(client, sheet, accounts.tokens["upl"])
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "open" and body["problems"] == []
    assert [(f["filename"], f["row"]) for f in body["files"]] == [
        (n, i) for i, n in enumerate(READS, start=2)
    ]
    shown = client.get(
        f"/api/v1/batches/{body['id']}", headers=bearer(accounts.tokens["upl"])
    ).get_json()
    assert shown["state"] == "open" and shown["job"] is None
    assert [f["upload"] for f in shown["files"]] == [None] * 4
    listed = client.get("/api/v1/batches", headers=bearer(accounts.tokens["bea"])).get_json()
    assert listed["total"] == 1 and listed["batches"][0]["id"] == body["id"]


def test_api_create__422_with_every_problem_and_nothing_kept(app, client, accounts, tmp_path):
    sheet, _ = _sheet(
        tmp_path, r0={"accession": "PHL001:NOPE"}, r1={"accession": "PHL001:NOPE"},
        r2={"species": "pepper"}, r3={"species": "pepper"},
    )  # fmt: skip
    resp = _post(client, sheet, accounts.tokens["upl"])
    assert resp.status_code == 422
    problems = resp.get_json()["problems"]
    assert {(p["row"], p["column"]) for p in problems} >= {(2, "accession"), (3, "accession"),
                                                           (4, "species"), (5, "species")}  # fmt: skip
    assert all(p["message"] for p in problems)
    # a duplicate sample and a missing mate
    sheet, _ = _sheet(tmp_path / "b", r1={"read": "1"}, r2={"sample": "S-IR64-01", "read": ""})
    problems = _post(client, sheet, accounts.tokens["upl"]).get_json()["problems"]
    assert (2, "read") in {(p["row"], p["column"]) for p in problems}  # S1 has no read 2
    assert (4, "sample") in {(p["row"], p["column"]) for p in problems}  # in the database already
    # not a sheet at all
    bad = tmp_path / "sheet.pdf"
    bad.write_bytes(b"%PDF")
    assert _post(client, bad, accounts.tokens["upl"]).status_code == 422
    assert _n_batches(app) == 0


def test_api_create__401_without_a_token_403_for_other_roles(app, client, accounts, tmp_path):
    sheet, _ = _sheet(tmp_path)
    assert _post(client, sheet, None).status_code == 401
    for name in ("bea", "bio", "chen"):
        assert _post(client, sheet, accounts.tokens[name]).status_code == 403
    assert _post(client, sheet, "bh_not-a-token").status_code == 401
    assert _n_batches(app) == 0
    assert _post(client, sheet, accounts.tokens["upl"], call_variants="maybe").status_code == 400


def test_api_show__another_institute_403_unknown_404_no_token_401(client, accounts, tmp_path):
    sheet, _ = _sheet(tmp_path)
    batch_id = _post(client, sheet, accounts.tokens["upl"]).get_json()["id"]
    assert (
        client.get(
            f"/api/v1/batches/{batch_id}", headers=bearer(accounts.tokens["chen"])
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/v1/batches/{batch_id + 1}", headers=bearer(accounts.tokens["upl"])
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/batches/{batch_id}").status_code == 401
    assert client.get("/api/v1/batches").status_code == 401
    assert (
        client.get("/api/v1/batches", headers=bearer(accounts.tokens["chen"])).get_json()["total"]
        == 0
    )
    assert (
        client.get(
            f"/api/v1/batches/{batch_id}", headers=bearer(accounts.tokens["admin"])
        ).status_code
        == 200
    )


def test_batch_page__the_uploader_sees_files_and_states_chen_gets_404(
    app, client, accounts, tmp_path, monkeypatch
):
    sheet, files = _sheet(tmp_path)
    batch_id = _post(client, sheet, accounts.tokens["upl"]).get_json()["id"]
    home = tmp_path / "home"
    engine = get_engine(app)
    for name in READS:
        upload_verified(engine, home, receive(engine, home, batch_id, files[name]))
    assert client.get("/uploads").status_code == 302  # anonymous: to the login page
    login(client, "upl")
    page = client.get("/uploads").get_data(as_text=True)
    assert (
        f'href="/uploads/{batch_id}"' in page and "registered" in page and "4 / 4 verified" in page
    )
    assert 'id="upload-form"' in page and "vendor/tus.min.js" in page
    detail = client.get(f"/uploads/{batch_id}")
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    assert "S1_R2.fastq.gz" in html and html.count("verified") >= 4 and "registered" in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/uploads")})
    login(client, "chen")
    assert client.get(f"/uploads/{batch_id}").status_code == 404
    page = client.get("/uploads").get_data(as_text=True)
    assert f"/uploads/{batch_id}" not in page and 'id="upload-form"' not in page
    assert client.get("/uploads?page=0").status_code == 400


def test_uploads_create__the_form_without_and_with_javascript(app, client, accounts, tmp_path):
    sheet, _ = _sheet(tmp_path, ".tsv")
    login(client, "upl")
    token = csrf_token(client, "/uploads")
    form = {"csrf_token": token, "name": "from the page",
            "sheet": (io.BytesIO(sheet.read_bytes()), "plate.tsv")}  # fmt: skip
    resp = client.post("/uploads", data=form, content_type="multipart/form-data")
    assert resp.status_code == 302 and "/uploads/" in resp.headers["Location"]
    # as uploads.js sends it: JSON back, with a token for the tus upload
    form = {"csrf_token": token, "name": "js", "call_variants": "",
            "sheet": (io.BytesIO(sheet.read_bytes()), "plate.tsv")}  # fmt: skip
    resp = client.post("/uploads", data=form, content_type="multipart/form-data",
                       headers={"Accept": "application/json"})  # fmt: skip
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["token"].startswith("bh_") and body["endpoint"] == "/api/v1/uploads"
    shown = client.get(f"/api/v1/batches/{body['id']}", headers=bearer(body["token"]))
    assert shown.status_code == 200 and shown.get_json()["name"] == "js"
    # refused: the page again, with the problems by row; nothing kept
    bad, _ = _sheet(
        tmp_path / "bad", r0={"accession": "PHL001:NOPE"}, r1={"accession": "PHL001:NOPE"}
    )
    form = {"csrf_token": token, "sheet": (io.BytesIO(bad.read_bytes()), "bad.csv")}
    resp = client.post("/uploads", data=form, content_type="multipart/form-data")
    assert resp.status_code == 422 and "unknown accession" in resp.get_data(as_text=True)
    assert _n_batches(app) == 2


def test_uploads_create__a_breeder_may_not(client, accounts, tmp_path):
    sheet, _ = _sheet(tmp_path)
    login(client, "bea")
    form = {"csrf_token": csrf_token(client, "/uploads"),
            "sheet": (io.BytesIO(sheet.read_bytes()), "s.csv")}  # fmt: skip
    assert client.post("/uploads", data=form, content_type="multipart/form-data").status_code == 403
