"""The ``uploads`` blueprint: the tus 1.0 resumable-upload server at ``/api/v1/uploads``.

Written from the tus 1.0.0 specification (https://tus.io/protocols/resumable-upload):
core (``HEAD``, ``PATCH``, ``OPTIONS``), and the extensions ``creation``
(``POST``), ``checksum`` (``Upload-Checksum`` per request, sha256, sha1 or md5;
460 on a mismatch, the chunk discarded), ``termination`` (``DELETE``) and
``expiration`` (``Upload-Expires``). ``X-HTTP-Method-Override`` is honoured on
``POST``. Every answer carries ``Tus-Resumable: 1.0.0``.

Each request is checked in a fixed order, as tusd does: token and role
(401, 403), the upload and its institute (404, 403), the protocol version
(412), then the request's own headers (400, 409, 413, 415). An upload belongs
to its creator's institute; no one else reads, resumes or deletes it.

Bytes are streamed to the partial file (named by the server-made upload id
only; the client's file name is display text) a piece at a time, never held
whole in memory, while a :class:`~genomics.file_check.FileCheck` hashes
(sha256) and checks the format of the same bytes; when the last byte
arrives the file is verified without being read again (or, after a restart
or on another worker, in one read), moved into ``objects/`` and registered as
a data file; then :func:`pipelines.batches.upload_verified` is called.

Configuration (app config, else the environment): ``UPLOAD_DIR``
(``BREEDHUB_UPLOAD_DIR``, default ``<home>/uploads``), ``UPLOAD_MAX_BYTES``
(``BREEDHUB_UPLOAD_MAX_BYTES``: one upload; 413), ``UPLOAD_QUOTA_BYTES``
(``BREEDHUB_UPLOAD_QUOTA_BYTES``: an institute's uploads; 413),
``UPLOAD_MAX_ACTIVE`` (``BREEDHUB_UPLOAD_MAX_ACTIVE``: an institute's
unfinished uploads; 429), ``UPLOAD_EXPIRES_S`` (``BREEDHUB_UPLOAD_EXPIRES_S``:
how long an upload may sit idle before it expires).
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import email.utils
import hashlib
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import ClientDisconnected

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.file_check import FORMATS, FileCheck, check_file, format_from_name
from breedhub.germplasm import uploads as store
from breedhub.germplasm.models_uploads import Upload
from breedhub.web.auth import current_viewer, require
from breedhub.web.db import get_engine, get_session

bp = Blueprint("uploads", __name__, url_prefix="/api/v1/uploads")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,termination,expiration"
CHECKSUMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}
PIECE = 1 << 20  # bytes read from the request and written at a time
COMMIT_EVERY = 64 << 20  # without a checksum, progress is committed this often
GIB = 1 << 30
_DEFAULTS = {  # config key -> (environment variable, default)
    "UPLOAD_MAX_BYTES": ("BREEDHUB_UPLOAD_MAX_BYTES", 200 * GIB),
    "UPLOAD_QUOTA_BYTES": ("BREEDHUB_UPLOAD_QUOTA_BYTES", 10 * 1024 * GIB),
    "UPLOAD_MAX_ACTIVE": ("BREEDHUB_UPLOAD_MAX_ACTIVE", 32),
    "UPLOAD_EXPIRES_S": ("BREEDHUB_UPLOAD_EXPIRES_S", 7 * 24 * 3600),
}
EXPIRY_SWEEP_S = 60  # stale uploads are looked for at most this often per process

#: upload id -> (offset, the checker fed every byte so far): this process's
#: running sha256 and format check, so the last chunk needs no re-read.
_checks: collections.OrderedDict[str, tuple[int, FileCheck]] = collections.OrderedDict()
_checks_lock = threading.Lock()
_MAX_CHECKS = 64


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    cfg = state.app.config
    home = Path(cfg["BREEDHUB_HOME"])
    cfg.setdefault("UPLOAD_DIR", str(store.default_upload_dir(home)))
    for key, (env, default) in _DEFAULTS.items():
        raw = os.environ.get(env)
        if raw is not None and not (raw.isascii() and raw.isdigit()):
            raise ValueError(f"{env}={raw!r}: must be a whole number")
        cfg.setdefault(key, int(raw) if raw is not None else default)


@bp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = {409: "Conflict", 410: "Gone", 412: "PreconditionFailed", 413: "TooLarge",
            415: "UnsupportedMediaType", 422: "UploadRefused", 423: "Locked",
            429: "TooManyUploads", 460: "ChecksumMismatch"}.get(status, "BadRequest")  # fmt: skip
    response = jsonify({"error": {"type": kind, "message": message, "details": []}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class _Refusal(Exception):
    """A request answered with an error; raised from helpers, turned into a response."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.response = _error(status, message, headers)


def _check_version() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise _Refusal(
            412,
            f"Tus-Resumable must be {TUS_VERSION}: the only version this server speaks",
            {"Tus-Version": TUS_VERSION},
        )


def _int_header(name: str) -> int:
    raw = request.headers.get(name)
    if raw is None:
        raise _Refusal(400, f"the {name} header is missing")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise _Refusal(400, f"{name} must be a non-negative whole number of bytes")
    return int(raw)


def _upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.replace(tzinfo=dt.timezone.utc), usegmt=True)


# -- metadata --------------------------------------------------------------------------------


def decode_metadata(raw: str) -> dict[str, str | None]:
    """The pairs of an ``Upload-Metadata`` header: ``key base64value`` separated by commas.

    >>> decode_metadata("filename cmVhZHMuZnE=,private")
    {'filename': 'reads.fq', 'private': None}
    """
    if len(raw) > 16_384:
        raise _Refusal(400, "Upload-Metadata is too long (16 KiB at most)")
    out: dict[str, str | None] = {}
    for pair in raw.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or not key.isascii() or not key.isprintable() or key in out:
            raise _Refusal(400, f"Upload-Metadata: bad or repeated key {key[:40]!r}")
        if not value:
            out[key] = None
            continue
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII text
            raise _Refusal(
                400, f"Upload-Metadata: the value of {key!r} is not base64-encoded UTF-8"
            ) from None
    return out


def encode_metadata(meta: dict[str, Any]) -> str:
    """The ``Upload-Metadata`` header of ``meta`` (the inverse of :func:`decode_metadata`)."""
    parts = []
    for key, value in meta.items():
        if value is None:
            parts.append(key)
        else:
            parts.append(f"{key} {base64.b64encode(str(value).encode()).decode('ascii')}")
    return ",".join(parts)


def _filename(meta: dict[str, str | None]) -> str:
    name = meta.get("filename") or meta.get("name") or ""
    if len(name) > 500 or not name.isprintable():
        raise _Refusal(400, "filename: at most 500 printable characters (no control characters)")
    return name


def _declared_sha256(meta: dict[str, str | None]) -> str:
    sha = (meta.get("sha256") or "").strip().lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise _Refusal(
            400, "Upload-Metadata must carry sha256: the file's sha256 as 64 hexadecimal digits"
        )
    return sha


def _batch_id(meta: dict[str, str | None], institute_id: int, is_admin: bool) -> int | None:
    raw = meta.get("batch") or meta.get("batch_id")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) < 1:
        raise _Refusal(400, "batch: a batch id (digits)")
    batch = store.find_batch(get_session(), int(raw))
    if batch is None:
        raise _Refusal(404, f"there is no upload batch {raw}")
    if batch.institute_id != institute_id and not is_admin:
        raise _Refusal(403, f"upload batch {raw} belongs to another institute")
    if batch.state != "open":
        raise _Refusal(409, f"upload batch {raw} is {batch.state}: it takes no more files")
    return batch.id


# -- the routes ------------------------------------------------------------------------------


@bp.route("", methods=["OPTIONS"], provide_automatic_options=False)
@bp.route("/<upload_id>", methods=["OPTIONS"], provide_automatic_options=False)
def options(upload_id: str | None = None) -> Response:
    """Which version, extensions, size and checksums this server offers (204)."""
    response = Response(status=204)
    response.headers["Tus-Version"] = TUS_VERSION
    response.headers["Tus-Extension"] = TUS_EXTENSIONS
    response.headers["Tus-Max-Size"] = str(current_app.config["UPLOAD_MAX_BYTES"])
    response.headers["Tus-Checksum-Algorithm"] = ",".join(CHECKSUMS)
    return response


@bp.post("")
@require("upload")
def create() -> Response:
    """tus creation: a new upload of ``Upload-Length`` bytes (201 with its ``Location``)."""
    try:
        return _create()
    except _Refusal as refusal:
        return refusal.response


def _create() -> Response:
    viewer = current_viewer()
    _check_version()
    if viewer.institute_id is None:
        raise _Refusal(403, "an upload belongs to an institute, and your account has none")
    if "Upload-Defer-Length" in request.headers:
        raise _Refusal(400, "Upload-Defer-Length is not supported: send Upload-Length")
    if request.content_length:
        raise _Refusal(400, "creation-with-upload is not supported: create, then PATCH the bytes")
    length = _int_header("Upload-Length")
    cfg = current_app.config
    if length > cfg["UPLOAD_MAX_BYTES"]:
        raise _Refusal(
            413,
            f"{length} bytes is over this server's limit of {cfg['UPLOAD_MAX_BYTES']} bytes per upload",
        )
    meta = decode_metadata(request.headers.get("Upload-Metadata", ""))
    filename = _filename(meta)
    sha = _declared_sha256(meta)
    session = get_session()
    batch_id = _batch_id(meta, viewer.institute_id, viewer.is_admin)
    _sweep_expired()
    active, used = store.institute_usage(session, viewer.institute_id)
    if active >= cfg["UPLOAD_MAX_ACTIVE"]:
        raise _Refusal(
            429,
            f"your institute already has {active} unfinished uploads (at most "
            f"{cfg['UPLOAD_MAX_ACTIVE']} at once): finish or delete some, then try again",
            {"Retry-After": "60"},
        )
    if used + length > cfg["UPLOAD_QUOTA_BYTES"]:
        raise _Refusal(
            413,
            f"your institute's uploads would reach {used + length} bytes, over its quota of "
            f"{cfg['UPLOAD_QUOTA_BYTES']} bytes",
        )
    expires = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(
        seconds=cfg["UPLOAD_EXPIRES_S"]
    )
    upload = store.add_upload(
        session,
        institute_id=viewer.institute_id,
        user_id=viewer.user_id,
        length=length,
        filename=filename,
        sha256=sha,
        meta=meta,
        batch_id=batch_id,
        expires_at=expires,
    )
    path = store.partial_path(_upload_dir(), upload.id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    session.commit()
    response = Response(status=201)
    response.headers["Location"] = url_for("uploads.upload", upload_id=upload.id, _external=True)
    response.headers["Upload-Expires"] = _http_date(upload.expires_at)
    response.headers["Upload-Offset"] = "0"
    return response


@bp.route("/<upload_id>", methods=["GET", "HEAD", "PATCH", "DELETE", "POST"])
@require("upload")
def upload(upload_id: str) -> Response:
    """One upload: ``HEAD`` (tus offset), ``PATCH`` (bytes), ``DELETE``; ``GET``: its state as JSON."""
    method = request.method
    if method == "POST":
        method = request.headers.get("X-HTTP-Method-Override", "").upper()
        if method not in ("PATCH", "DELETE", "HEAD"):
            return _error(405, "POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE")
    row = _load(upload_id)
    try:
        if method == "GET":
            return jsonify(_describe(row))
        _check_version()
        if method == "HEAD":
            return _head(row)
        if method == "PATCH":
            return _patch(row)
        return _delete(row)
    except _Refusal as refusal:
        return refusal.response


def _load(upload_id: str) -> Upload:
    row = store.get_upload(get_session(), upload_id)
    if row is None:
        abort(404, description="There is no upload with this id.")
    viewer = current_viewer()
    if not viewer.is_admin and row.institute_id != viewer.institute_id:
        abort(403, description="This upload belongs to another institute.")
    return row


def _describe(row: Upload) -> dict[str, Any]:
    return {
        "id": row.id,
        "filename": row.filename,
        "length": row.length,
        "offset": row.offset,
        "state": row.state,
        "message": row.message,
        "format": row.format,
        "sha256": row.sha256,
        "batch_id": row.batch_id,
        "data_file_id": row.data_file_id,
        "created_at": row.created_at.isoformat() + "Z",
        "expires_at": row.expires_at.isoformat() + "Z",
    }


def _gone(row: Upload) -> None:
    if row.state in ("failed", "expired"):
        raise _Refusal(410, row.message or f"this upload {row.state}")


def _offset_headers(row: Upload, offset: int) -> dict[str, str]:
    headers = {"Upload-Offset": str(offset), "Upload-Length": str(row.length)}
    if row.state in store.ACTIVE_STATES:
        headers["Upload-Expires"] = _http_date(row.expires_at)
    return headers


def _head(row: Upload) -> Response:
    _gone(row)
    offset = row.offset
    if row.state in store.ACTIVE_STATES:
        path = store.partial_path(_upload_dir(), row.id)
        with store.locked_partial(path, create=True) as fd:
            if fd is not None:  # nobody is writing it: the file and the row must agree
                offset = store.reconcile_offset(get_session(), row, fd)
                get_session().commit()
                if offset == row.length:  # complete before a restart, never verified
                    _complete(row, None, path)
                    _gone(row)
    response = Response(status=200)
    for name, value in _offset_headers(row, offset).items():
        response.headers[name] = value
    if row.meta:
        response.headers["Upload-Metadata"] = encode_metadata(row.meta)
    return response


def _checksum() -> tuple[str, bytes] | None:
    raw = request.headers.get("Upload-Checksum")
    if raw is None:
        return None
    algorithm, _, value = raw.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise _Refusal(400, f"Upload-Checksum: unsupported algorithm {algorithm[:20]!r} "
                            f"(this server takes {', '.join(CHECKSUMS)})")  # fmt: skip
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except ValueError:
        raise _Refusal(400, "Upload-Checksum: the checksum must be base64-encoded") from None
    return algorithm, digest


def _patch(row: Upload) -> Response:
    if request.mimetype != "application/offset+octet-stream":
        raise _Refusal(415, "Content-Type must be application/offset+octet-stream")
    offset = _int_header("Upload-Offset")
    _gone(row)
    checksum = _checksum()
    if row.state == "verified":
        if offset == row.length and not request.content_length:
            return _no_content(row, row.length)
        raise _Refusal(409, f"this upload is complete: its offset is {row.length}")
    size = request.content_length
    if size is None and not request.environ.get("wsgi.input_terminated"):
        raise _Refusal(411, "send Content-Length (or a chunked body this server can read)")
    if size is not None and offset + size > row.length:
        raise _Refusal(413, f"{offset} + {size} bytes goes past the upload's length {row.length}")
    path = store.partial_path(_upload_dir(), row.id)
    with store.locked_partial(path, create=True) as fd:
        if fd is None:
            raise _Refusal(423, "another request is writing this upload; wait for it")
        session = get_session()
        current = store.reconcile_offset(session, row, fd)
        session.commit()
        if current != offset:
            raise _Refusal(409, f"Upload-Offset is {offset} but the upload is at {current}",
                           {"Upload-Offset": str(current)})  # fmt: skip
        check = _take_check(row, current)
        return _receive(row, fd, path, offset, checksum, check)


def _take_check(row: Upload, offset: int) -> FileCheck | None:
    with _checks_lock:
        entry = _checks.pop(row.id, None)
    if entry is not None and entry[0] == offset:
        return entry[1]
    if offset == 0:
        return FileCheck(name=row.filename or row.id, expected=_expected_format(row))
    return None  # bytes arrived elsewhere (a restart, another worker): one read at the end


def _keep_check(row: Upload, offset: int, check: FileCheck | None) -> None:
    if check is None:
        return
    with _checks_lock:
        _checks[row.id] = (offset, check)
        while len(_checks) > _MAX_CHECKS:
            _checks.popitem(last=False)


def _expected_format(row: Upload) -> str | None:
    declared = (row.meta or {}).get("filetype")
    if declared in FORMATS:
        return str(declared)
    return format_from_name(row.filename)


class _Digest:
    """Feeds received pieces to the chunk's hasher and the file's check on a thread of its own.

    The request thread only reads the socket and writes the file (both
    release the GIL); hashing (hashlib releases it too) and the format
    check run beside it, so a chunk costs the slower of the two, not their sum.
    """

    def __init__(self, hasher: Any, check: FileCheck | None):
        self._sinks = [s.update for s in (hasher, check) if s is not None]
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._queue.get()) is not None:
            for sink in self._sinks:
                sink(piece)

    def update(self, piece: bytes) -> None:
        self._queue.put(piece)

    def finish(self) -> None:
        """Wait until every piece given so far has been hashed and checked."""
        self._queue.put(None)
        self._thread.join()


def _receive(row: Upload, fd: int, path: Path, offset: int, checksum: tuple[str, bytes] | None,
             check: FileCheck | None) -> Response:  # fmt: skip
    session = get_session()
    hasher = CHECKSUMS[checksum[0]]() if checksum else None
    before = check.copy() if (check is not None and checksum) else check
    stream = request.stream
    os.lseek(fd, offset, os.SEEK_SET)
    received = committed = 0
    disconnected = too_long = False
    digest = _Digest(hasher, check)
    try:
        while True:
            try:
                piece = stream.read(PIECE)
            except (ClientDisconnected, OSError):
                disconnected = True
                break
            if not piece:
                break
            if offset + received + len(piece) > row.length:
                too_long = True
                break
            _write_all(fd, piece)
            received += len(piece)
            digest.update(piece)
            if not checksum and received - committed >= COMMIT_EVERY:
                os.fsync(fd)  # a long PATCH keeps its progress through a crash
                row.offset = offset + received
                session.commit()
                committed = received
    finally:
        digest.finish()
    expected = request.content_length
    if not too_long and expected is not None and received < expected:
        disconnected = True  # without a checksum the bytes that came are kept
    if too_long or (checksum and (disconnected or hasher.digest() != checksum[1])):  # type: ignore[union-attr]
        os.ftruncate(fd, offset)
        os.fsync(fd)
        row.offset = offset
        session.commit()
        _keep_check(row, offset, before)
        if too_long:
            raise _Refusal(413, f"the body goes past the upload's length {row.length}")
        if disconnected:
            raise _Refusal(400, "the request body ended early; the chunk was discarded")
        raise _Refusal(460, f"Upload-Checksum ({checksum[0]}) does not match the chunk "  # type: ignore[index]
                            "received: the chunk was discarded, send it again",
                       {"Upload-Offset": str(offset)})  # fmt: skip
    os.fsync(fd)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    row.offset = offset + received
    row.updated_at = now
    row.expires_at = now + dt.timedelta(seconds=current_app.config["UPLOAD_EXPIRES_S"])
    session.commit()
    if check is not None and check.error is not None:
        _fail(row, path, str(check.error))
        raise _Refusal(422, row.message, {"Upload-Offset": str(row.offset)})
    if row.offset < row.length:
        _keep_check(row, row.offset, check)
        return _no_content(row, row.offset)
    _complete(row, check, path)
    if row.state == "failed":
        raise _Refusal(422, row.message, {"Upload-Offset": str(row.offset)})
    return _no_content(row, row.offset)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _no_content(row: Upload, offset: int) -> Response:
    response = Response(status=204)
    response.headers["Upload-Offset"] = str(offset)
    if row.state in store.ACTIVE_STATES:
        response.headers["Upload-Expires"] = _http_date(row.expires_at)
    return response


def _fail(row: Upload, path: Path, message: str) -> None:
    session = get_session()
    path.unlink(missing_ok=True)
    row.state = "failed"
    row.message = message
    session.commit()
    with _checks_lock:
        _checks.pop(row.id, None)


def _complete(row: Upload, check: FileCheck | None, path: Path) -> None:
    """Every byte is here: verify (sha256, format), store in ``objects/``, register, announce."""
    session = get_session()
    row.state = "complete"
    session.commit()
    with _checks_lock:
        _checks.pop(row.id, None)
    name = row.filename or row.id
    try:
        if check is not None:
            result = check.finish()
        else:
            result = check_file(path, name=name, expected=_expected_format(row))
    except InputFileError as exc:
        _fail(row, path, str(exc))
        return
    if result.sha256 != row.sha256:
        _fail(row, path, f"{name}: its sha256 is {result.sha256}, not the declared {row.sha256}: "
                         "the file changed or was damaged on the way; upload it again")  # fmt: skip
        return
    home = Path(current_app.config["BREEDHUB_HOME"])
    target = store.object_path(home, result.sha256)
    if target.is_file() and target.stat().st_size == result.size:
        path.unlink()  # the same content is stored already
    else:
        store.store_object(home, path, result.sha256)
    relative = target.relative_to(home).as_posix()
    store.register_data_file(session, row, sha256=result.sha256, size=result.size,
                             file_format=result.format, path=relative)  # fmt: skip
    session.commit()
    from breedhub.pipelines.batches import upload_verified

    try:
        upload_verified(get_engine(), home, row.id)
    except Exception:  # the batch records its own problems; never fail a stored upload
        current_app.logger.exception("upload_verified failed for upload %s", row.id)


def _delete(row: Upload) -> Response:
    if row.state == "verified":
        raise _Refusal(409, f"this upload is verified and stored as data file {row.data_file_id}; "
                            "it is not deleted through the upload API")  # fmt: skip
    path = store.partial_path(_upload_dir(), row.id)
    if path.exists():
        with store.locked_partial(path) as fd:
            if fd is None:
                raise _Refusal(423, "a request is writing this upload; try again when it ends")
            store.delete_upload(get_session(), row, _upload_dir())
    else:
        store.delete_upload(get_session(), row, _upload_dir())
    get_session().commit()
    with _checks_lock:
        _checks.pop(row.id, None)
    return Response(status=204)


def _sweep_expired() -> None:
    """Expire stale uploads, at most once a minute per process (called on creation)."""
    key = "breedhub.uploads.swept_at"
    last = current_app.extensions.get(key, 0.0)
    now = time.monotonic()
    if now - last < EXPIRY_SWEEP_S and last:
        return
    current_app.extensions[key] = now
    store.expire_uploads(get_session(), _upload_dir())
