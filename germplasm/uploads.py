"""Uploads in the database and on disk: the upload rows, their partial files, the object store.

The tus server (:mod:`web.uploads`) keeps the protocol; this module keeps
every query it needs and the files behind them:

- a partial file lives in the upload directory under the server-made upload
  id only (:func:`partial_path`), never under a name the client sent;
- its offset is the partial file's size reconciled with the row
  (:func:`reconcile_offset`), so a server restart mid-upload resumes;
- a verified file moves into ``objects/<sha[:2]>/<sha>`` atomically (write,
  fsync, rename: :func:`store_object`) and becomes one
  :class:`~germplasm.models.DataFile` per content (:func:`register_data_file`);
- uploads never completed expire (:func:`expire_uploads`): their rows are
  marked ``expired`` and their partial files deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from breedhub.germplasm.models import DataFile, _now
from breedhub.germplasm.models_uploads import Upload, UploadBatch

__all__ = [
    "ACTIVE_STATES",
    "UPLOAD_ID",
    "add_upload",
    "default_upload_dir",
    "delete_upload",
    "expire_uploads",
    "find_batch",
    "get_upload",
    "institute_usage",
    "locked_partial",
    "new_upload_id",
    "object_path",
    "partial_path",
    "reap_uploads",
    "reconcile_offset",
    "register_data_file",
    "store_object",
]

#: An upload id as :func:`new_upload_id` makes them (and nothing else matches).
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")
#: States of an upload still holding a partial file.
ACTIVE_STATES = ("receiving", "complete")
#: States that count against an institute's quota.
QUOTA_STATES = ("receiving", "complete", "verified")


def default_upload_dir(home: str | os.PathLike[str]) -> Path:
    """The upload directory: ``$BREEDHUB_UPLOAD_DIR``, else ``<home>/uploads``.

    The web app (config ``UPLOAD_DIR``) and ``breedhub worker``'s reaper
    resolve it the same way.
    """
    return Path(os.environ.get("BREEDHUB_UPLOAD_DIR") or Path(home) / "uploads")


def new_upload_id() -> str:
    """A fresh, unguessable, URL-safe upload id (32 characters).

    >>> bool(UPLOAD_ID.fullmatch(new_upload_id()))
    True
    """
    return secrets.token_urlsafe(24)


def partial_path(upload_dir: Path, upload_id: str) -> Path:
    """Where the bytes of upload ``upload_id`` accumulate: ``<upload_dir>/<upload_id>``.

    Raises
    ------
    ValueError
        If ``upload_id`` is not one that :func:`new_upload_id` makes, so no
        other path can ever be built from it.
    """
    if not UPLOAD_ID.fullmatch(upload_id):
        raise ValueError(f"not an upload id: {upload_id[:80]!r}")
    return Path(upload_dir) / upload_id


def object_path(home: Path, sha256: str) -> Path:
    """The object store's path of content ``sha256``: ``<home>/objects/<sha[:2]>/<sha>``.

    >>> object_path(Path("/d"), "ab" + "0" * 62).as_posix()[:13]
    '/d/objects/ab'
    """
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256[:80]!r}")
    return Path(home) / "objects" / sha256[:2] / sha256


def get_upload(session: Session, upload_id: str) -> Upload | None:
    """The upload ``upload_id``, or None (also for a string that cannot be an upload id)."""
    if not UPLOAD_ID.fullmatch(upload_id):
        return None
    return session.get(Upload, upload_id)


def find_batch(session: Session, batch_id: int) -> UploadBatch | None:
    """The upload batch ``batch_id``, or None."""
    return session.get(UploadBatch, batch_id)


def institute_usage(session: Session, institute_id: int) -> tuple[int, int]:
    """An institute's unfinished uploads and the bytes that count against its quota.

    Returns
    -------
    tuple of int
        (uploads still receiving, total declared length of its uploads that
        are receiving, complete or verified).
    """
    active = session.scalar(
        select(func.count()).where(Upload.institute_id == institute_id, Upload.state == "receiving")
    )
    used = session.scalar(
        select(func.coalesce(func.sum(Upload.length), 0)).where(
            Upload.institute_id == institute_id, Upload.state.in_(QUOTA_STATES)
        )
    )
    return int(active or 0), int(used or 0)


def add_upload(
    session: Session,
    *,
    institute_id: int,
    user_id: int | None,
    length: int,
    filename: str,
    sha256: str,
    meta: dict[str, Any],
    batch_id: int | None,
    expires_at: dt.datetime,
) -> Upload:
    """Record a new upload (state ``receiving``, offset 0) and return it (flushed)."""
    now = _now()
    upload = Upload(
        id=new_upload_id(),
        institute_id=institute_id,
        user_id=user_id,
        batch_id=batch_id,
        filename=filename,
        length=length,
        offset=0,
        sha256=sha256,
        meta=meta,
        state="receiving",
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
    )
    session.add(upload)
    session.flush()
    return upload


@contextlib.contextmanager
def locked_partial(path: Path, *, create: bool = False) -> Iterator[int | None]:
    """Open ``path`` read-write and hold an exclusive lock on it, or yield None if busy.

    The lock (``flock``) keeps two requests, in one process or in several
    workers, from writing one upload at once.

    Raises
    ------
    FileNotFoundError
        If the partial file is missing and ``create`` is false.
    """
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    fd = os.open(path, flags, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                yield None
                return
            raise
        yield fd
    finally:
        os.close(fd)


def reconcile_offset(session: Session, upload: Upload, fd: int) -> int:
    """Make the row's offset and the partial file's size agree, and return the offset.

    Bytes are counted only once both the file (fsynced) and the row say they
    arrived: a file longer than the row (a crash before the commit) is cut
    back to the row's offset; a file shorter than the row (bytes lost with
    the page cache) moves the row back. Commits nothing.
    """
    size = os.fstat(fd).st_size
    offset = min(size, upload.offset)
    if size != offset:
        os.ftruncate(fd, offset)
        os.fsync(fd)
    if upload.offset != offset:
        upload.offset = offset
    return offset


def store_object(home: Path, src: Path, sha256: str) -> Path:
    """Move verified file ``src`` into the object store, atomically; return its path.

    The file is fsynced, renamed (or, across filesystems, copied to a
    temporary name in the same directory, fsynced and renamed) and the
    directory fsynced, so ``objects/`` holds whole files or nothing.
    """
    dest = object_path(home, sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{sha256}-{secrets.token_hex(4)}")
    with open(src, "rb") as fh:
        os.fsync(fh.fileno())
    try:
        try:
            os.rename(src, tmp)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            with open(src, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
                fout.flush()
                os.fsync(fout.fileno())
            os.unlink(src)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return dest


def register_data_file(
    session: Session, upload: Upload, *, sha256: str, size: int, file_format: str, path: str
) -> tuple[DataFile, bool]:
    """The data file of ``upload``'s content, created unless that content is already stored.

    The upload is marked ``verified`` and linked to the data file. Two
    uploads of the same content finishing at once meet on the unique sha256:
    the second finds the first's row. Commits nothing, but flushes.

    Returns
    -------
    tuple
        (the data file, True if it was created now; False if the content was already stored).
    """
    existing = session.scalars(select(DataFile).where(DataFile.sha256 == sha256)).first()
    created = existing is None
    if existing is None:
        candidate = DataFile(
            sha256=sha256,
            size=size,
            format=file_format,
            path=path,
            original_name=upload.filename,
            institute_id=upload.institute_id,
            uploaded_by=upload.user_id,
            batch_id=upload.batch_id,
        )
        try:
            with session.begin_nested():
                session.add(candidate)
            existing = candidate
        except IntegrityError:
            existing = session.scalars(select(DataFile).where(DataFile.sha256 == sha256)).one()
            created = False
    upload.state = "verified"
    upload.format = file_format
    upload.offset = upload.length
    upload.data_file_id = existing.id
    upload.message = "" if created else f"same content as data file {existing.id}: not stored twice"
    upload.updated_at = _now()
    session.flush()
    return existing, created


def delete_upload(session: Session, upload: Upload, upload_dir: Path) -> None:
    """Delete an upload's row and its partial file (termination). Commits nothing."""
    with contextlib.suppress(FileNotFoundError):
        partial_path(upload_dir, upload.id).unlink()
    session.delete(upload)
    session.flush()


def expire_uploads(
    session: Session, upload_dir: Path, *, now: dt.datetime | None = None, limit: int = 500
) -> list[str]:
    """Expire the uploads past their ``expires_at`` and delete their partial files.

    Also deletes partial files left behind by uploads that are no longer
    active (failed, verified or deleted while a crash interrupted them).
    A partial file that a request is writing (locked) is left alone. Commits.

    Parameters
    ----------
    session
        An open session.
    upload_dir
        The upload directory.
    now
        The current time (UTC, naive); default now.
    limit
        At most this many uploads are expired per call (the call stays cheap).

    Returns
    -------
    list of str
        The ids of the uploads expired now.
    """
    now = now or _now()
    stale = session.scalars(
        select(Upload)
        .where(Upload.state.in_(ACTIVE_STATES), Upload.expires_at < now)
        .order_by(Upload.expires_at)
        .limit(limit)
    ).all()
    expired = []
    for upload in stale:
        path = partial_path(upload_dir, upload.id)
        if path.exists():
            with locked_partial(path) as fd:
                if fd is None:
                    continue  # being written right now
                path.unlink()
        upload.state = "expired"
        upload.message = "never completed: expired and deleted"
        upload.updated_at = now
        expired.append(upload.id)
    session.commit()
    _delete_orphans(session, Path(upload_dir))
    return expired


def reap_uploads(engine: Engine, home: str | os.PathLike[str]) -> list[str]:
    """:func:`expire_uploads` on its own session, for ``breedhub worker``'s periodic reap.

    Parameters
    ----------
    engine
        The germplasm database.
    home
        The data directory (the upload directory is :func:`default_upload_dir`).

    Returns
    -------
    list of str
        The ids of the uploads expired now.
    """
    from breedhub.germplasm.db import session_factory

    with session_factory(engine)() as session:
        return expire_uploads(session, default_upload_dir(home))


def _delete_orphans(session: Session, upload_dir: Path) -> None:
    if not upload_dir.is_dir():
        return
    names = [p.name for p in upload_dir.iterdir() if UPLOAD_ID.fullmatch(p.name)]
    if not names:
        return
    active = set(
        session.scalars(
            select(Upload.id).where(Upload.id.in_(names), Upload.state.in_(ACTIVE_STATES))
        )
    )
    for name in names:
        if name in active:
            continue
        path = upload_dir / name
        # A file whose row is not committed yet (a creation in flight) is young: keep it.
        with contextlib.suppress(FileNotFoundError):
            if dt.datetime.now().timestamp() - path.stat().st_mtime > 3600:
                path.unlink()
