"""The import audit trail: recording each import and the passport fields it changed.

Every importer opens a :class:`~germplasm.models_audit.DataImport` in its
own transaction (:func:`start_import`), records what it did to accessions
(:func:`record_changes`: inserted, field old → new, records detached) and
closes it with its counts (:func:`finish_import`). Nothing is recorded for a
dry run or a refused file: the record commits or rolls back with the import.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Mapping
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from breedhub.germplasm.bulk import insert_frame
from breedhub.germplasm.models_audit import CHANGE_ACTIONS, DataImport, ImportChange
from breedhub.germplasm.reports import ImportReport

#: The columns of a changes frame given to :func:`record_changes`.
CHANGE_COLUMNS = {
    "accession_id": pl.Int64,
    "action": pl.String,
    "field": pl.String,
    "old_value": pl.String,
    "new_value": pl.String,
}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else ""


def start_import(
    session: Session,
    kind: str,
    source: str,
    *,
    sha256: str = "",
    options: Mapping[str, Any] | None = None,
    user_id: int | None = None,
    run_by: str | None = None,
    undoes_id: int | None = None,
) -> DataImport:
    """Add the record of an import that is starting in ``session``'s transaction.

    Parameters
    ----------
    session
        The importer's session: the record commits or rolls back with the import.
    kind
        One of :data:`~germplasm.models_audit.IMPORT_KINDS`.
    source
        The file name as the user gave it, or the server's URL.
    sha256
        The file's sha256 (:func:`file_sha256`); empty for a server or an undo.
    options
        The options that change what an import writes (``blank_clears``...).
    user_id, run_by
        The account that runs it, and its name; ``run_by`` defaults to the
        operating-system user.
    undoes_id
        For an undo: the import it undoes.

    Returns
    -------
    DataImport
        Flushed, so its ``id`` can be given to :func:`record_changes`.
    """
    record = DataImport(
        kind=kind,
        source=source[:1000],
        sha256=sha256,
        user_id=user_id,
        run_by=(run_by if run_by is not None else _os_user())[:200],
        counts={},
        options=dict(options or {}),
        undoes_id=undoes_id,
    )
    session.add(record)
    session.flush()
    return record


def record_changes(session: Session, import_id: int, changes: pl.DataFrame) -> int:
    """Record what an import did to accessions; return the number of rows written.

    Parameters
    ----------
    session
        The importer's session.
    import_id
        The :class:`DataImport` these changes belong to.
    changes
        One row per effect, columns of :data:`CHANGE_COLUMNS`: ``action`` is
        ``insert`` (``field`` null), ``update`` (``field`` the Accession
        attribute, ``old_value`` and ``new_value`` as text, null for empty) or
        ``detach`` (``field`` the table, ``new_value`` the count).
    """
    if changes.height == 0:
        return 0
    missing = set(CHANGE_COLUMNS) - set(changes.columns)
    if missing:
        raise ValueError(f"changes frame lacks {sorted(missing)}")
    bad = set(changes["action"].unique().to_list()) - set(CHANGE_ACTIONS)
    if bad:
        raise ValueError(f"unknown change action(s) {sorted(bad)}")
    frame = changes.select(pl.col(c).cast(t) for c, t in CHANGE_COLUMNS.items()).with_columns(
        import_id=pl.lit(import_id, dtype=pl.Int64)
    )
    return insert_frame(session, ImportChange, frame)


def finish_import(session: Session, record: DataImport, report: ImportReport) -> None:
    """Store the import's counts (and any extra ones the report carries) on its record."""
    counts = {
        k: v
        for k, v in report.to_dict().items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    record.counts = counts
    session.flush()


__all__ = [
    "CHANGE_COLUMNS",
    "file_sha256",
    "finish_import",
    "record_changes",
    "start_import",
]
