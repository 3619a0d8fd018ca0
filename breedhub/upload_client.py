"""The client side of bulk uploads: a batch's sheet checked, its files sent over tus, resumed.

:func:`upload_batch` is what ``breedhub upload DIR --sheet SHEET`` runs:

1. the sample sheet is read and checked against the files in ``DIR``
   (:func:`germplasm.sample_sheets.check_sheet_locally`: every file present
   inside ``DIR``, its sha256 the sheet's) before anything is sent;
2. the batch is created on the server (``POST /api/v1/batches``, the sheet
   as the multipart field ``sheet``), which checks it against the database;
3. the files go up several at a time over tus 1.0 (``/api/v1/uploads``), in
   chunks each carrying its sha256 (``Upload-Checksum``), with the metadata
   ``filename``, ``sha256`` and ``batch``; a dropped connection or a refused
   chunk is retried from the offset the server reports;
4. what an earlier run left unfinished is resumed: ``DIR/.breedhub-upload.json``
   remembers the batch and each file's upload URL;
5. the batch's state is read back (``GET /api/v1/batches/<id>``) at the end.

Progress bars (rich) show each file and the whole batch, with throughput.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from breedhub.base.errors import BreedhubError, problem_list

__all__ = ["STATE_FILE", "UploadClientError", "upload_batch", "upload_file"]

STATE_FILE = ".breedhub-upload.json"
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 32 << 20
RETRIES = 5


class UploadClientError(BreedhubError):
    """The batch cannot be sent: a bad sheet, a refusal by the server, a file that failed."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def details(self) -> list[dict[str, object]]:
        return list(self.problems)


@dataclass
class FileToSend:
    """One row's file: its name in the sheet, its path, sha256 and size."""

    name: str
    path: Path
    sha256: str
    size: int
    url: str = ""
    state: str = "pending"
    message: str = ""


@dataclass
class _State:
    """What ``DIR/.breedhub-upload.json`` remembers between runs."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, directory: Path) -> _State:
        path = directory / STATE_FILE
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data.setdefault("files", {})
        return cls(path, data)

    def save(self) -> None:
        with self.lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=2))
            os.replace(tmp, self.path)

    def set_url(self, name: str, url: str) -> None:
        with self.lock:
            self.data["files"][name] = url
        self.save()


def _session(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def _error_text(resp: requests.Response) -> str:
    try:
        body = resp.json()
        return str(body.get("error", {}).get("message") or body)
    except ValueError:
        return resp.text[:300] or resp.reason


def _metadata(pairs: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode('ascii')}" for k, v in pairs.items())


def _create(http: requests.Session, endpoint: str, f: FileToSend, batch_id: int | None) -> str:
    meta = {"filename": f.name, "sha256": f.sha256}
    if batch_id is not None:
        meta["batch"] = str(batch_id)
    resp = http.post(
        endpoint,
        headers={**TUS, "Upload-Length": str(f.size), "Upload-Metadata": _metadata(meta)},
        timeout=60,
    )
    if resp.status_code != 201:
        raise UploadClientError(f"{f.name}: the server refused the upload ({resp.status_code}): "
                                f"{_error_text(resp)}")  # fmt: skip
    return requests.compat.urljoin(endpoint, resp.headers["Location"])


def _offset(http: requests.Session, url: str) -> int | None:
    """The server's offset of ``url``, or None if that upload is gone (expired, failed, deleted)."""
    resp = http.head(url, headers=TUS, timeout=600)
    if resp.status_code in (403, 404, 410):
        return None
    if resp.status_code != 200:
        raise UploadClientError(f"HEAD {url}: {resp.status_code} {resp.reason}")
    return int(resp.headers["Upload-Offset"])


class _Chunks:
    """A file's chunks with their sha256, the next one read and hashed while this one is sent.

    Reading and hashing (both release the GIL) then overlap the upload of the
    previous chunk instead of pausing the connection between chunks.
    """

    def __init__(self, path: Path, size: int):
        self._fh = open(path, "rb")  # noqa: SIM115 (closed by __exit__)
        self._size = size
        self._pool = ThreadPoolExecutor(1)
        self._next: tuple[int, Any] | None = None

    def __enter__(self) -> _Chunks:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._fh.close()

    def _read(self, offset: int) -> tuple[bytes, str]:
        self._fh.seek(offset)
        chunk = self._fh.read(self._size)
        return chunk, base64.b64encode(hashlib.sha256(chunk).digest()).decode("ascii")

    def at(self, offset: int) -> tuple[bytes, str]:
        """The chunk at ``offset`` and its base64 sha256; starts reading the one after it."""
        if self._next is not None and self._next[0] == offset:
            chunk, digest = self._next[1].result()
        else:
            if self._next is not None:
                self._next[1].result()  # the file handle is shared: let it finish
            chunk, digest = self._read(offset)
        following = offset + len(chunk)
        self._next = (following, self._pool.submit(self._read, following)) if chunk else None
        return chunk, digest


def upload_file(
    http: requests.Session,
    endpoint: str,
    f: FileToSend,
    *,
    batch_id: int | None = None,
    chunk_size: int = CHUNK,
    on_progress: Callable[[int], None] = lambda n: None,
    remember: Callable[[str], None] = lambda url: None,
) -> FileToSend:
    """Send one file over tus, resuming ``f.url`` if the server still has it.

    Parameters
    ----------
    http
        A session carrying the token.
    endpoint
        The tus creation URL (``<server>/api/v1/uploads``).
    f
        The file; ``f.url`` an earlier upload of it to resume, or "".
    batch_id
        The batch the file belongs to.
    chunk_size
        Bytes per PATCH (each with its sha256).
    on_progress
        Called with the number of bytes newly confirmed by the server.
    remember
        Called with the upload URL as soon as it exists (the state file).

    Returns
    -------
    FileToSend
        ``f`` with ``state`` "verified" or "failed" (and ``message``).
    """
    offset = _offset(http, f.url) if f.url else None
    if offset is None:
        f.url = _create(http, endpoint, f, batch_id)
        remember(f.url)
        offset = 0
    on_progress(offset)
    failures = 0
    with _Chunks(f.path, chunk_size) as chunks:
        while True:
            if offset >= f.size and f.size > 0:
                break
            chunk, digest = chunks.at(offset)
            headers = {**TUS, "Upload-Offset": str(offset),
                       "Content-Type": "application/offset+octet-stream",
                       "Upload-Checksum": f"sha256 {digest}"}  # fmt: skip
            try:
                resp = http.patch(f.url, data=chunk, headers=headers, timeout=(30, 3600))
            except requests.ConnectionError as exc:
                failures += 1
                if failures > RETRIES:
                    raise UploadClientError(
                        f"{f.name}: the connection keeps failing: {exc}"
                    ) from None
                time.sleep(min(2**failures, 30) / 10)
                new = _offset(http, f.url)
                if new is None:
                    raise UploadClientError(
                        f"{f.name}: the server lost the upload; run again"
                    ) from None
                offset = new
                continue
            if resp.status_code == 204:
                new = int(resp.headers["Upload-Offset"])
                on_progress(new - offset)
                offset, failures = new, 0
                if f.size == 0:
                    break
                continue
            if resp.status_code in (409, 460, 423) and failures < RETRIES:
                failures += 1  # an offset moved, a chunk damaged on the way: ask and resend
                time.sleep(0.2 * failures)
                new = _offset(http, f.url)
                if new is None:
                    raise UploadClientError(f"{f.name}: the server lost the upload; run again")
                on_progress(new - offset)
                offset = new
                continue
            f.state, f.message = "failed", _error_text(resp)
            return f
    f.state = "verified"
    return f


def _read_sheet(directory: Path, sheet_path: Path) -> list[FileToSend]:
    from breedhub.germplasm.sample_sheets import check_sheet_locally, read_sheet

    sheet = read_sheet(sheet_path)
    problems = check_sheet_locally(sheet, directory)
    if problems:
        raise UploadClientError(
            problem_list(f"{sheet_path.name}: {len(problems)} problem(s); nothing was sent",
                         [str(p) for p in problems]),
            [p.to_dict() for p in problems],
        )  # fmt: skip
    files = []
    for r in sheet.rows:
        path = (directory / r["file"]).resolve()
        files.append(FileToSend(r["file"], path, r["sha256"], path.stat().st_size))
    return files


def _create_batch(http: requests.Session, server: str, sheet_path: Path, name: str,
                  call_variants: bool) -> dict[str, Any]:  # fmt: skip
    with open(sheet_path, "rb") as fh:
        resp = http.post(
            f"{server}/api/v1/batches",
            data={"name": name or sheet_path.stem, "call_variants": "1" if call_variants else "0"},
            files={"sheet": (sheet_path.name, fh)},
            timeout=600,
        )
    if resp.status_code == 201:
        return dict(resp.json())
    body: dict[str, Any] = {}
    try:
        body = resp.json()
    except ValueError:
        pass
    problems = body.get("problems") or body.get("error", {}).get("details") or []
    lines = [
        f"row {p.get('row') or '-'}, {p.get('column') or ''}: {p.get('message')}" for p in problems
    ]
    raise UploadClientError(
        problem_list(
            f"the server refused the batch ({resp.status_code}): {_error_text(resp)}", lines
        ),
        problems,
    )


def _batch_state(http: requests.Session, server: str, batch_id: int) -> dict[str, Any] | None:
    resp = http.get(f"{server}/api/v1/batches/{batch_id}", timeout=60)
    if resp.status_code != 200:
        return None
    return dict(resp.json())


def upload_batch(
    directory: str | os.PathLike[str],
    sheet: str | os.PathLike[str],
    *,
    server: str,
    token: str,
    parallel: int = 4,
    call_variants: bool = False,
    name: str = "",
    chunk_size: int = CHUNK,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Check a batch's sheet locally, create the batch, upload its files, resume, report.

    Parameters
    ----------
    directory
        The folder holding the files the sheet names.
    sheet
        The sample sheet (CSV, TSV or XLSX).
    server
        The server's base URL (``https://breedhub.example.org``).
    token
        An API token of an uploader.
    parallel
        Files sent at once.
    call_variants
        Ask the server to start the variants workflow once the batch is registered.
    name
        The batch's name (default: the sheet's).
    chunk_size
        Bytes per PATCH.
    show_progress
        Progress bars on the terminal.

    Returns
    -------
    dict
        ``{"batch": <the batch as the server describes it>, "files": [{"file", "state", "message", "url"}]}``.

    Raises
    ------
    UploadClientError
        Problems of the sheet (nothing sent), a batch refused by the server,
        or files that could not be sent (the others are; run again to resume).
    """
    if not 1 <= parallel <= 64:
        raise UploadClientError(f"parallel={parallel}: from 1 to 64 files at once")
    if chunk_size < 1:
        raise UploadClientError(f"chunk_size={chunk_size}: must be positive")
    root = Path(directory).resolve()
    sheet_path = Path(sheet)
    server = server.rstrip("/")
    files = _read_sheet(root, sheet_path)
    state = _State.load(root)
    http = _session(token)
    sheet_sha = hashlib.sha256(sheet_path.read_bytes()).hexdigest()
    batch_id = None
    remembered = state.data.get("batch_id")
    same = state.data.get("server") == server and state.data.get("sheet_sha256") == sheet_sha
    if same and isinstance(remembered, int) and remembered > 0:
        earlier = _batch_state(http, server, remembered)  # resume the batch of an earlier run
        if earlier is not None and earlier.get("state") in ("open", "registered"):
            batch_id = remembered
    if batch_id is None:
        created = _create_batch(http, server, sheet_path, name, call_variants)
        batch_id = int(created["id"])
        state.data = {
            "server": server,
            "sheet_sha256": sheet_sha,
            "batch_id": batch_id,
            "files": {},
        }
        state.save()
    for f in files:
        f.url = state.data["files"].get(f.name, "")
    _send_all(http, f"{server}/api/v1/uploads", files, batch_id, state, parallel=parallel,
              chunk_size=chunk_size, show_progress=show_progress)  # fmt: skip
    batch = _batch_state(http, server, batch_id) or {"id": batch_id, "state": "unknown"}
    report: dict[str, Any] = {
        "batch": batch,
        "files": [
            {"file": f.name, "state": f.state, "message": f.message, "url": f.url} for f in files
        ],
    }
    failed = [f for f in files if f.state != "verified"]
    if failed:
        raise UploadClientError(
            problem_list(f"{len(failed)} of {len(files)} file(s) were not accepted "
                         f"(batch {batch_id} is {batch.get('state')}); fix them and run again",
                         [f"{f.name}: {f.message}" for f in failed]),
            report["files"],
        )  # fmt: skip
    return report


def _send_all(http: requests.Session, endpoint: str, files: list[FileToSend], batch_id: int,
              state: _State, *, parallel: int, chunk_size: int, show_progress: bool) -> None:  # fmt: skip
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, disable=not show_progress, transient=False) as progress:
        total = progress.add_task("[bold]all files", total=sum(f.size for f in files))
        tasks = {
            f.name: progress.add_task(f.name[-40:], total=f.size, visible=False) for f in files
        }

        def send(f: FileToSend) -> FileToSend:
            task = tasks[f.name]
            progress.update(task, visible=True)

            def advance(n: int) -> None:
                progress.advance(task, n)
                progress.advance(total, n)

            try:
                return upload_file(http, endpoint, f, batch_id=batch_id, chunk_size=chunk_size,
                                   on_progress=advance,
                                   remember=lambda url: state.set_url(f.name, url))  # fmt: skip
            except (UploadClientError, requests.RequestException) as exc:
                f.state, f.message = "failed", str(exc)
                return f

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for future in as_completed([pool.submit(send, f) for f in files]):
                done = future.result()
                mark = "[green]✓" if done.state == "verified" else "[red]✗"
                progress.update(tasks[done.name], description=f"{mark} {done.name[-38:]}")
