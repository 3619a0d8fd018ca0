"""The tus 1.0 server (web/uploads.py) over real HTTP, with tuspy and with raw requests.

A real server (werkzeug, threaded) runs the app on 127.0.0.1 in a thread,
on each engine; ``tuspy`` is a tus client no one here wrote.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.uploader import Uploader
from werkzeug.serving import make_server

from breedhub.germplasm import transaction
from breedhub.germplasm.models import DataFile
from breedhub.germplasm.models_uploads import Upload
from breedhub.germplasm.uploads import expire_uploads
from breedhub.web import create_app
from breedhub.web.db import get_engine

# -- the server and the data -----------------------------------------------------------------


@dataclass
class Dirs:
    home: Path
    uploads: Path


@pytest.fixture
def dirs(tmp_path) -> Dirs:
    home = tmp_path / "home"
    (home / "objects").mkdir(parents=True)
    return Dirs(home, tmp_path / "incoming")


def make_app(db_url: str, dirs: Dirs, **extra: object) -> Flask:
    """The app on ``db_url`` with its data and upload directories under ``dirs``."""
    config = {
        "DATABASE_URL": db_url,
        "TESTING": True,
        "RATELIMIT_ENABLED": False,
        "BREEDHUB_HOME": str(dirs.home),
        "UPLOAD_DIR": str(dirs.uploads),
        **extra,
    }
    return create_app(config)


@pytest.fixture
def app(db_url, dirs) -> Iterator[Flask]:  # overrides conftest's: our own directories
    app = make_app(db_url, dirs)
    yield app
    get_engine(app).dispose()


class LiveServer:
    """``app`` served over HTTP by werkzeug in a thread; ``stop()`` ends it."""

    def __init__(self, app: Flask, port: int = 0):
        self.app = app
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.server.daemon_threads = True  # a hung-up client does not hold up stop()
        self.server.block_on_close = False
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def uploads(self) -> str:
        return self.url + "/api/v1/uploads"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def live(app, accounts) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


def fastq_bytes(n: int, seed: int = 0) -> bytes:
    """``n`` FASTQ records of 100 random bases (seeded): about 230 bytes each."""
    import random

    table = bytes(b"ACGT"[i % 4] for i in range(256))
    bases = random.Random(seed).randbytes(100 * n).translate(table)
    qual = b"I" * 100
    out = [
        b"@r%d_%d/1\n%s\n+\n%s\n" % (seed, i, bases[100 * i : 100 * i + 100], qual)
        for i in range(n)
    ]
    return b"".join(out)


def write_fastq_gz(path: Path, n: int = 20_000, seed: int = 0) -> str:
    """A gzipped FASTQ at ``path`` (about 1-2 MB for 20,000 reads); its sha256."""
    data = gzip.compress(fastq_bytes(n, seed), compresslevel=1)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def tus_headers(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0", **more}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(live: LiveServer, token: str, length: int, **meta: str) -> requests.Response:
    headers = tus_headers(token, **{"Upload-Length": str(length)})
    if meta:
        headers["Upload-Metadata"] = metadata(**meta)
    return requests.post(live.uploads, headers=headers, timeout=10)


def patch(url: str, token: str, offset: int, body: bytes, **more: str) -> requests.Response:
    headers = tus_headers(
        token,
        **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        **more,
    )
    return requests.patch(url, data=body, headers=headers, timeout=30)


class Sha256Uploader(Uploader):
    """tuspy's uploader sending sha256 per chunk (tuspy's default is sha1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def tuspy(live: LiveServer, token: str) -> tus_client.TusClient:
    return tus_client.TusClient(live.uploads, headers={"Authorization": f"Bearer {token}"})


def data_files(app: Flask) -> list[DataFile]:
    with transaction(get_engine(app)) as s:
        rows = s.scalars(select(DataFile).order_by(DataFile.id)).all()
        s.expunge_all()
        return list(rows)


def upload_row(app: Flask, upload_id: str) -> Upload:
    with transaction(get_engine(app)) as s:
        row = s.get(Upload, upload_id)
        assert row is not None
        s.expunge(row)
        return row


def upload_id(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def every_file(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# -- protocol --------------------------------------------------------------------------------


def test_options__advertises_version_extensions_size_checksums(live):
    resp = requests.options(live.uploads, timeout=10)
    assert resp.status_code == 204
    h = resp.headers
    assert h["Tus-Resumable"] == "1.0.0" and h["Tus-Version"] == "1.0.0"
    assert set(h["Tus-Extension"].split(",")) == {
        "creation",
        "checksum",
        "termination",
        "expiration",
    }
    assert int(h["Tus-Max-Size"]) > 0
    assert "sha256" in h["Tus-Checksum-Algorithm"].split(",")


def test_tuspy__uploads_verifies_and_registers(live, accounts, dirs, tmp_path):
    path = tmp_path / "S1_R1.fastq.gz"
    sha = write_fastq_gz(path)
    uploader = Sha256Uploader(
        file_path=str(path),
        client=tuspy(live, accounts.tokens["upl"]),
        chunk_size=200_000,
        metadata={"filename": path.name, "sha256": sha},
        upload_checksum=True,
    )
    uploader.upload()
    row = upload_row(live.app, upload_id(uploader.url))
    assert (row.state, row.format, row.offset, row.message) == (
        "verified",
        "fastq.gz",
        path.stat().st_size,
        "",
    )
    [df] = data_files(live.app)
    assert (df.sha256, df.size, df.format, df.original_name) == (
        sha,
        path.stat().st_size,
        "fastq.gz",
        path.name,
    )
    assert df.uploaded_by == accounts.ids["upl"] and row.data_file_id == df.id
    stored = dirs.home / "objects" / sha[:2] / sha
    assert df.path == f"objects/{sha[:2]}/{sha}" and stored.read_bytes() == path.read_bytes()
    assert every_file(dirs.uploads) == set()  # the partial file moved out
    status = requests.get(uploader.url, headers=tus_headers(accounts.tokens["upl"]), timeout=10)
    assert status.json()["state"] == "verified" and status.json()["data_file_id"] == df.id


def test_tuspy__sha1_checksums_and_one_chunk(live, accounts, tmp_path):
    path = tmp_path / "reads.fq"
    path.write_bytes(fastq_bytes(3000, seed=5))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    uploader = tuspy(live, accounts.tokens["upl"]).uploader(
        file_path=str(path), metadata={"filename": "reads.fq", "sha256": sha}, upload_checksum=True
    )
    uploader.upload()
    assert upload_row(live.app, upload_id(uploader.url)).format == "fastq"


def test_head__offset_length_metadata_expires(live, accounts):
    token = accounts.tokens["upl"]
    resp = create(live, token, 10, filename="a.fq", sha256="0" * 64)
    assert resp.status_code == 201 and resp.headers["Upload-Expires"].endswith("GMT")
    url = resp.headers["Location"]
    assert patch(url, token, 0, b"@r1\n").status_code == 204
    head = requests.head(url, headers=tus_headers(token), timeout=10)
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("4", "10")
    assert head.headers["Cache-Control"] == "no-store" and head.headers["Tus-Resumable"] == "1.0.0"
    assert "filename YS5mcQ==" in head.headers["Upload-Metadata"]


def test_patch__offset_mismatch_409_and_version_412(live, accounts):
    token = accounts.tokens["upl"]
    url = create(live, token, 10, filename="a.fq", sha256="0" * 64).headers["Location"]
    assert patch(url, token, 3, b"abc").status_code == 409
    bad_version = tus_headers(token, **{"Tus-Resumable": "0.2.2"})
    resp = requests.head(url, headers=bad_version, timeout=10)
    assert resp.status_code == 412 and resp.headers["Tus-Version"] == "1.0.0"
    resp = requests.patch(
        url, data=b"x", headers=tus_headers(token, **{"Upload-Offset": "0"}), timeout=10
    )
    assert resp.status_code == 415  # not application/offset+octet-stream
    assert patch(url, token, 0, b"x" * 11).status_code == 413  # past Upload-Length


def test_patch__corrupted_chunk_refused_460_then_resent(live, accounts, tmp_path):
    token = accounts.tokens["upl"]
    data = gzip.compress(fastq_bytes(2000))
    sha = hashlib.sha256(data).hexdigest()
    url = create(live, token, len(data), filename="c.fastq.gz", sha256=sha).headers["Location"]
    half = len(data) // 2
    chunk = data[:half]
    digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
    corrupted = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
    resp = patch(url, token, 0, corrupted, **{"Upload-Checksum": f"sha256 {digest}"})
    assert resp.status_code == 460, resp.text
    head = requests.head(url, headers=tus_headers(token), timeout=10)
    assert head.headers["Upload-Offset"] == "0"  # the chunk was discarded
    assert patch(url, token, 0, chunk, **{"Upload-Checksum": f"sha256 {digest}"}).status_code == 204
    rest = data[half:]
    rest_digest = base64.b64encode(hashlib.sha256(rest).digest()).decode()
    assert (
        patch(url, token, half, rest, **{"Upload-Checksum": f"sha256 {rest_digest}"}).status_code
        == 204
    )
    row = upload_row(live.app, upload_id(url))
    assert row.state == "verified" and data_files(live.app)[0].sha256 == sha
    bad_algorithm = patch(url, token, half, b"", **{"Upload-Checksum": "crc32 AAAA"})
    assert bad_algorithm.status_code == 400


def test_patch__cut_off_half_way_then_resumed(live, accounts, dirs):
    token = accounts.tokens["upl"]
    data = gzip.compress(fastq_bytes(20_000, seed=2), compresslevel=1)
    sha = hashlib.sha256(data).hexdigest()
    url = create(live, token, len(data), filename="cut.fq.gz", sha256=sha).headers["Location"]
    path = urlsplit(url).path
    half = len(data) // 2
    # Announce the whole file, send half, hang up (a dropped connection).
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[:half])
    offset = None
    for _ in range(50):  # the server notices the hang-up
        resp = requests.head(url, headers=tus_headers(token), timeout=10)
        offset = int(resp.headers["Upload-Offset"])
        if offset == half:
            break
        threading.Event().wait(0.1)
    assert offset == half
    assert patch(url, token, offset, data[offset:]).status_code == 204
    assert upload_row(live.app, upload_id(url)).state == "verified"
    stored = dirs.home / "objects" / sha[:2] / sha
    assert stored.read_bytes() == data


def test_server_restarted_mid_upload__resumes(db_url, dirs, accounts, live, tmp_path):
    path = tmp_path / "big.fq.gz"
    sha = write_fastq_gz(path, n=30_000, seed=3)
    token = accounts.tokens["upl"]
    first = Sha256Uploader(
        file_path=str(path),
        client=tuspy(live, token),
        chunk_size=300_000,
        metadata={"filename": path.name, "sha256": sha},
        upload_checksum=True,
    )
    first.upload_chunk()
    first.upload_chunk()
    url = first.url
    live.stop()  # the server goes down mid-upload
    app2 = make_app(db_url, dirs)
    again = LiveServer(app2, port=live.port)  # a new process would start the same way
    try:
        resumed = Sha256Uploader(
            file_path=str(path),
            client=tuspy(again, token),
            url=url,
            chunk_size=300_000,
            upload_checksum=True,
        )
        assert resumed.offset == 600_000  # HEAD: nothing lost
        resumed.upload()
        row = upload_row(app2, upload_id(url))
        assert row.state == "verified" and row.offset == path.stat().st_size
        [df] = data_files(app2)  # nothing duplicated
        stored = dirs.home / "objects" / sha[:2] / sha
        assert df.sha256 == sha and stored.read_bytes() == path.read_bytes()
    finally:
        again.stop()
        get_engine(app2).dispose()


def test_two_clients_at_once__both_stored(live, accounts, tmp_path):
    paths = [tmp_path / f"S{i}.fq.gz" for i in range(2)]
    shas = [write_fastq_gz(p, n=15_000, seed=10 + i) for i, p in enumerate(paths)]
    errors: list[BaseException] = []

    def send(path: Path, sha: str) -> None:
        try:
            tuspy(live, accounts.tokens["upl"]).uploader(
                file_path=str(path),
                chunk_size=100_000,
                metadata={"filename": path.name, "sha256": sha},
            ).upload()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(paths, shas, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(df.sha256 for df in data_files(live.app)) == sorted(shas)


def test_same_content_twice__one_data_file(live, accounts, tmp_path):
    path = tmp_path / "dup.fq.gz"
    sha = write_fastq_gz(path, n=500)
    for name in ("dup.fq.gz", "again.fq.gz"):
        tuspy(live, accounts.tokens["upl"]).uploader(
            file_path=str(path), metadata={"filename": name, "sha256": sha}
        ).upload()
    [df] = data_files(live.app)
    assert df.original_name == "dup.fq.gz"


# -- who may --------------------------------------------------------------------------------


def test_auth__no_token_or_wrong_token_401_other_role_403(live, accounts):
    assert create(live, "bh_wrong-token", 10, filename="a.fq", sha256="0" * 64).status_code == 401
    resp = requests.post(
        live.uploads, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"}, timeout=10
    )
    assert resp.status_code == 401 and resp.headers["Tus-Resumable"] == "1.0.0"
    for name in ("bea", "bio"):
        assert (
            create(live, accounts.tokens[name], 10, filename="a.fq", sha256="0" * 64).status_code
            == 403
        )


def test_auth__another_institutes_upload_403(live, accounts):
    from breedhub.germplasm.users import add_user, create_token

    with transaction(get_engine(live.app)) as s:
        add_user(s, "wang", role="uploader", institute="CHN999", password="pw-wang-long")
        other, _ = create_token(s, "wang", name="tests")
    url = create(live, accounts.tokens["upl"], 10, filename="a.fq", sha256="0" * 64).headers[
        "Location"
    ]
    assert requests.head(url, headers=tus_headers(other), timeout=10).status_code == 403
    assert patch(url, other, 0, b"@r1\n").status_code == 403
    assert requests.delete(url, headers=tus_headers(other), timeout=10).status_code == 403
    assert requests.get(url, headers=tus_headers(other), timeout=10).status_code == 403
    assert (
        requests.head(url, headers=tus_headers(accounts.tokens["admin"]), timeout=10).status_code
        == 200
    )
    unknown = live.uploads + "/" + "A" * 32
    assert requests.head(unknown, headers=tus_headers(other), timeout=10).status_code == 404


# -- names, formats, limits -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../../escape.fq.gz", "/tmp/absolute.fq.gz", "..\\win.fq.gz"])
def test_filename__paths_are_display_text_only(live, accounts, dirs, tmp_path, name):
    path = tmp_path / "x.fq.gz"
    sha = write_fastq_gz(path, n=200, seed=len(name))
    before = every_file(tmp_path.parent) - every_file(dirs.home) - every_file(dirs.uploads)
    uploader = tuspy(live, accounts.tokens["upl"]).uploader(
        file_path=str(path), metadata={"filename": name, "sha256": sha}
    )
    uploader.upload()
    after = every_file(tmp_path.parent) - every_file(dirs.home) - every_file(dirs.uploads)
    assert after == before  # nothing written outside the data and upload directories
    assert not Path("/tmp/absolute.fq.gz").exists()
    assert every_file(dirs.home / "objects") == {dirs.home / "objects" / sha[:2] / sha}
    assert data_files(live.app)[0].original_name == name


def test_filename__unprintable_refused_400(live, accounts):
    for name in ("a\x00b.fq", "line\nbreak.fq"):
        assert (
            create(live, accounts.tokens["upl"], 10, filename=name, sha256="0" * 64).status_code
            == 400
        )
    assert create(live, accounts.tokens["upl"], 10, filename="a.fq").status_code == 400  # no sha256
    headers = tus_headers(
        accounts.tokens["upl"], **{"Upload-Length": "10", "Upload-Metadata": "filename !!!"}
    )
    assert requests.post(live.uploads, headers=headers, timeout=10).status_code == 400
    headers["Upload-Metadata"] = "filename caf\xe9"  # not base64: non-ASCII
    assert requests.post(live.uploads, headers=headers, timeout=10).status_code == 400


def test_complete__truncated_fastq_gz_refused(live, accounts, dirs):
    data = gzip.compress(fastq_bytes(3000))[:-500]
    sha = hashlib.sha256(data).hexdigest()
    token = accounts.tokens["upl"]
    url = create(live, token, len(data), filename="t.fastq.gz", sha256=sha).headers["Location"]
    resp = patch(url, token, 0, data)
    assert resp.status_code == 422 and "truncated" in resp.json()["error"]["message"]
    row = upload_row(live.app, upload_id(url))
    assert row.state == "failed" and "truncated" in row.message
    assert every_file(dirs.home / "objects") == set() and every_file(dirs.uploads) == set()
    assert data_files(live.app) == []
    assert requests.head(url, headers=tus_headers(token), timeout=10).status_code == 410


def test_complete__not_a_bam_named_bam_refused(live, accounts, dirs):
    data = gzip.compress(fastq_bytes(100))
    sha = hashlib.sha256(data).hexdigest()
    token = accounts.tokens["upl"]
    url = create(live, token, len(data), filename="aln.bam", sha256=sha).headers["Location"]
    resp = patch(url, token, 0, data)
    assert resp.status_code == 422 and "bam" in resp.json()["error"]["message"]
    assert every_file(dirs.home / "objects") == set() and data_files(live.app) == []


def test_complete__sha256_mismatch_refused(live, accounts, dirs):
    data = fastq_bytes(10)
    token = accounts.tokens["upl"]
    url = create(live, token, len(data), filename="r.fq", sha256="ab" * 32).headers["Location"]
    resp = patch(url, token, 0, data)
    assert resp.status_code == 422 and "sha256" in resp.json()["error"]["message"]
    assert every_file(dirs.home / "objects") == set()


def test_limits__size_quota_413_active_429(db_url, dirs, accounts):
    app = make_app(
        db_url, dirs, UPLOAD_MAX_BYTES=1000, UPLOAD_QUOTA_BYTES=1500, UPLOAD_MAX_ACTIVE=2
    )
    server = LiveServer(app)
    try:
        token = accounts.tokens["upl"]
        resp = create(server, token, 1001, filename="a.fq", sha256="0" * 64)
        assert resp.status_code == 413 and "limit" in resp.json()["error"]["message"]
        assert create(server, token, 800, filename="a.fq", sha256="0" * 64).status_code == 201
        resp = create(server, token, 800, filename="b.fq", sha256="0" * 64)
        assert resp.status_code == 413 and "quota" in resp.json()["error"]["message"]
        assert create(server, token, 100, filename="c.fq", sha256="0" * 64).status_code == 201
        resp = create(server, token, 100, filename="d.fq", sha256="0" * 64)
        assert resp.status_code == 429 and "unfinished" in resp.json()["error"]["message"]
    finally:
        server.stop()
        get_engine(app).dispose()


def test_delete__terminates_and_frees_the_slot(live, accounts, dirs):
    token = accounts.tokens["upl"]
    url = create(live, token, 10, filename="a.fq", sha256="0" * 64).headers["Location"]
    assert patch(url, token, 0, b"@r").status_code == 204
    assert requests.delete(url, headers=tus_headers(token), timeout=10).status_code == 204
    assert requests.head(url, headers=tus_headers(token), timeout=10).status_code == 404
    assert every_file(dirs.uploads) == set()


def test_expire_uploads__stale_partial_files_deleted(live, accounts, dirs):
    import datetime as dt

    token = accounts.tokens["upl"]
    url = create(live, token, 10, filename="a.fq", sha256="0" * 64).headers["Location"]
    assert patch(url, token, 0, b"@r").status_code == 204
    later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=30)
    with transaction(get_engine(live.app)) as s:
        assert expire_uploads(s, dirs.uploads, now=later) == [upload_id(url)]
    assert every_file(dirs.uploads) == set()
    assert upload_row(live.app, upload_id(url)).state == "expired"
    assert requests.head(url, headers=tus_headers(token), timeout=10).status_code == 410


def test_tuspy__refusal_surfaces_as_an_error(live, accounts, tmp_path):
    path = tmp_path / "fake.bam"
    path.write_bytes(b"not a bam at all, just text\n" * 100)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    uploader = tuspy(live, accounts.tokens["upl"]).uploader(
        file_path=str(path), metadata={"filename": path.name, "sha256": sha}
    )
    with pytest.raises((TusUploadFailed, TusCommunicationError)):
        uploader.upload()
    with transaction(get_engine(live.app)) as s:
        assert s.scalar(select(func.count()).select_from(DataFile)) == 0


def test_reap_uploads__worker_entry_point(live, accounts, dirs, monkeypatch):
    from breedhub.germplasm.uploads import reap_uploads

    token = accounts.tokens["upl"]
    url = create(live, token, 10, filename="a.fq", sha256="0" * 64).headers["Location"]
    monkeypatch.setenv("BREEDHUB_UPLOAD_DIR", str(dirs.uploads))
    assert reap_uploads(get_engine(live.app), dirs.home) == []  # not stale yet
    with transaction(get_engine(live.app)) as s:
        s.get(Upload, upload_id(url)).expires_at = s.get(Upload, upload_id(url)).created_at
    assert reap_uploads(get_engine(live.app), dirs.home) == [upload_id(url)]
    assert every_file(dirs.uploads) == set()
