# ruff: noqa: F811 - the fixtures imported below are used by name
"""``breedhub upload`` (breedhub/upload_client.py, breedhub/cli/upload.py) against a live server.

The server is the real app served over HTTP in a thread (see
tests/web/test_uploads.py); the sheets are the batch tests' sheets.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from breedhub.cli.upload import upload as upload_command
from breedhub.germplasm import transaction
from breedhub.germplasm.models import DataFile
from breedhub.germplasm.models_uploads import Upload, UploadBatch
from breedhub.upload_client import STATE_FILE, UploadClientError, upload_batch
from breedhub.web.db import get_engine
from tests.germplasm.test_batches import good_rows, make_reads, write_sheet
from tests.web.conftest import accounts, world  # noqa: F401 - fixtures
from tests.web.test_uploads import app, dirs, live, tus_headers  # noqa: F401 - fixtures

IR64, NIPPONBARE = "PHL001:IRGC 66970", "PHL001:IRGC 12731"


def _batch_folder(tmp_path: Path, **changes: dict[str, str]) -> tuple[Path, Path]:
    """A folder of four read files and its sheet (IR64 and Nipponbare, read pairs)."""
    folder = tmp_path / "run1"
    files = make_reads(folder)
    rows = good_rows(files)
    for r in rows:
        r["accession"] = IR64 if r["sample"] == "S1" else NIPPONBARE
    for key, values in changes.items():
        rows[int(key.removeprefix("r"))].update(values)
    return folder, write_sheet(tmp_path / "sheet.csv", rows)


def _count(app, model) -> int:
    with transaction(get_engine(app)) as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_upload_batch__sends_every_file_and_reports_the_batch(live, accounts, tmp_path):
    folder, sheet = _batch_folder(tmp_path)
    report = upload_batch(folder, sheet, server=live.url, token=accounts.tokens["upl"], parallel=3,
                          chunk_size=4096, show_progress=False)  # fmt: skip
    assert [f["state"] for f in report["files"]] == ["verified"] * 4
    assert report["batch"]["state"] == "registered"
    assert _count(live.app, DataFile) == 4 and _count(live.app, Upload) == 4
    state = json.loads((folder / STATE_FILE).read_text())
    assert state["batch_id"] == report["batch"]["id"] and len(state["files"]) == 4


def test_upload_batch__resumes_what_an_earlier_run_left(live, accounts, tmp_path):
    folder, sheet = _batch_folder(tmp_path)
    token = accounts.tokens["upl"]
    # An earlier run: the batch created, the first file half sent, then the client died.
    with pytest.raises(UploadClientError):
        upload_batch(folder, sheet, server=live.url, token="bh_not-a-token", show_progress=False)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    with open(sheet, "rb") as fh:
        batch = http.post(f"{live.url}/api/v1/batches", files={"sheet": ("sheet.csv", fh)},
                          data={"name": "b"}, timeout=30).json()  # fmt: skip
    first = folder / "S1_R1.fastq.gz"
    data = first.read_bytes()
    meta = {
        "filename": first.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "batch": str(batch["id"]),
    }
    encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    url = http.post(f"{live.url}/api/v1/uploads", timeout=30, headers=tus_headers(
        token, **{"Upload-Length": str(len(data)), "Upload-Metadata": encoded})).headers["Location"]  # fmt: skip
    half = len(data) // 2
    headers = tus_headers(
        token, **{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    )
    assert http.patch(url, data=data[:half], headers=headers, timeout=30).status_code == 204
    sheet_sha = hashlib.sha256(sheet.read_bytes()).hexdigest()
    (folder / STATE_FILE).write_text(json.dumps(
        {"server": live.url, "sheet_sha256": sheet_sha, "batch_id": batch["id"],
         "files": {first.name: url}}))  # fmt: skip
    report = upload_batch(folder, sheet, server=live.url, token=token, show_progress=False)
    assert report["batch"]["id"] == batch["id"]
    assert report["batch"]["state"] == "registered", report
    assert report["files"][0]["url"] == url  # resumed, not started again
    assert _count(live.app, Upload) == 4 and _count(live.app, UploadBatch) == 1
    assert _count(live.app, DataFile) == 4


def test_upload_batch__bad_sheet_stops_before_sending(live, accounts, tmp_path):
    folder, sheet = _batch_folder(tmp_path, r1={"sha256": "0" * 64})
    with pytest.raises(UploadClientError) as err:
        upload_batch(
            folder, sheet, server=live.url, token=accounts.tokens["upl"], show_progress=False
        )
    assert "row 3, column sha256" in str(err.value)
    assert _count(live.app, UploadBatch) == 0 and _count(live.app, Upload) == 0


def test_upload_batch__server_refusal_lists_the_rows(live, accounts, tmp_path):
    folder, sheet = _batch_folder(
        tmp_path, r0={"accession": "PHL001:NOPE"}, r1={"accession": "PHL001:NOPE"}
    )
    with pytest.raises(UploadClientError) as err:
        upload_batch(
            folder, sheet, server=live.url, token=accounts.tokens["upl"], show_progress=False
        )
    assert "row 2" in str(err.value) and err.value.details()
    assert _count(live.app, Upload) == 0


def test_cli_upload__json_report_and_exit_codes(live, accounts, tmp_path):
    folder, sheet = _batch_folder(tmp_path)
    args = [str(folder), "--sheet", str(sheet), "--server", live.url, "--parallel", "2"]
    result = CliRunner().invoke(
        upload_command, [*args, "--token", accounts.tokens["upl"], "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["batch"]["state"] == "registered"
    result = CliRunner().invoke(upload_command, [*args, "--token", accounts.tokens["bea"]])
    assert result.exit_code == 1 and "error:" in result.output
