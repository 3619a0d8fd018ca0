"""Reading the import audit trail (imports, an accession's history) and undoing a passport import.

:func:`list_imports` lists the recorded imports, newest first;
:func:`accession_history` gives every import that touched one accession,
oldest first (by the ``ix_import_change_accession`` index), even after an
undo deleted it; :func:`undo_import` plays a passport import backwards in one
transaction: every changed field gets its old value back, every accession it
created is deleted (with its names), set-based (one ``UPDATE ... FROM`` per
field, one ``DELETE``), and the undo is itself recorded as an import of kind
``undo``. An undo that cannot restore exactly what the import found (a later
import changed the same fields, records were detached, something now refers
to an accession it created) is refused and changes nothing.

How an undo is recorded: its ``update`` rows are the undone import's with
``old_value`` and ``new_value`` swapped; each accession it deleted is a
``detach`` row whose ``field`` is ``accession``, ``old_value`` its
``INSTCODE:ACCENUMB`` and ``new_value`` ``"1"`` (the change actions have no
``delete``), so the history of a deleted accession can still be found by its
number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Engine, Float, Integer, select, text
from sqlalchemy.orm import Session

from breedhub.base.errors import ArgumentError, problem_list
from breedhub.germplasm import models_exchange, models_uploads  # noqa: F401 (every foreign key)
from breedhub.germplasm.audit import CHANGE_COLUMNS, record_changes, start_import
from breedhub.germplasm.bulk import drop_stage, insert_frame, read_frame, stage_frame
from breedhub.germplasm.db import transaction
from breedhub.germplasm.exceptions import GermplasmError, NotFoundError
from breedhub.germplasm.models import Accession, AccessionName, Base, Institute, _now
from breedhub.germplasm.models_audit import DataImport, ImportChange
from breedhub.germplasm.passport_rules import NAME_ATTRS, display_name
from breedhub.germplasm.passport_write import names_frame
from breedhub.germplasm.queries import MAX_ID, get_accession

#: Import kinds that :func:`undo_import` can play backwards.
UNDOABLE = ("passport",)
#: Tables whose rows die with an accession (its names, its trait means): not a reason to refuse.
OWNED = {("accession_name", "accession_id"), ("trait_summary", "accession_id")}
#: The ``field`` of an undo's change row for an accession it deleted.
DELETED = "accession"
_SAMPLE = 100  # changes shown by a dry run


class UndoRefusedError(GermplasmError):
    """An undo that would not restore exactly what the import found; nothing was changed.

    Parameters
    ----------
    import_id
        The import asked to be undone.
    reasons
        One line each: what stands in the way, and what to do about it.
    """

    http_status = 409

    def __init__(self, import_id: int, reasons: list[str]):
        self.import_id = import_id
        self.reasons = reasons
        n = len(reasons)
        head = f"cannot undo import {import_id} ({n} reason{'s' if n != 1 else ''}); nothing was changed"
        super().__init__(problem_list(head, reasons) if n > 1 else f"{head}: {reasons[0]}")

    def details(self) -> list[dict[str, object]]:
        return [{"import_id": self.import_id, "reason": r} for r in self.reasons]


def parse_import_id(raw: str | int) -> int:
    """An import id from the command line: ASCII digits; too large a number is an unknown id.

    Raises
    ------
    ArgumentError
        Not a whole number.
    NotFoundError
        Zero, or larger than any id the database can hold.
    """
    s = str(raw).strip()
    if not s or not s.isascii() or not s.isdigit():
        raise ArgumentError(
            f"not an import id: {str(raw)[:40]!r} (a whole number; `breedhub germplasm imports` lists them)"
        )
    if len(s) > 10 or not 1 <= int(s) <= MAX_ID:
        raise NotFoundError(f"no import {s[:40]} (`breedhub germplasm imports` lists them)")
    return int(s)


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def import_summary(record: DataImport, *, undone_by: int | None = None) -> dict[str, Any]:
    """A :class:`DataImport` as a plain dict (JSON-ready; times as ``YYYY-MM-DD HH:MM:SS``)."""
    return {
        "id": record.id,
        "kind": record.kind,
        "source": record.source,
        "sha256": record.sha256,
        "run_by": record.run_by,
        "user_id": record.user_id,
        "created_at": _when(record.created_at),
        "counts": dict(record.counts or {}),
        "options": dict(record.options or {}),
        "undoes_id": record.undoes_id,
        "undone_at": _when(record.undone_at),
        "undone_by": undone_by,
    }


def _undone_by(session: Session, ids: list[int]) -> dict[int, int]:
    """{import id: the id of the undo that undid it} for these imports."""
    if not ids:
        return {}
    rows = session.execute(
        select(DataImport.undoes_id, DataImport.id).where(DataImport.undoes_id.in_(ids))
    ).tuples()
    return {int(u): int(i) for u, i in rows if u is not None}


def list_imports(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """The recorded imports, newest first (see :func:`import_summary` for each).

    Parameters
    ----------
    session
        A session on the germplasm database.
    limit
        How many, 1 to 10,000.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ArgumentError(f"limit must be a whole number from 1 to 10000, not {limit!r}")
    records = session.scalars(select(DataImport).order_by(DataImport.id.desc()).limit(limit)).all()
    by = _undone_by(session, [r.id for r in records])
    return [import_summary(r, undone_by=by.get(r.id)) for r in records]


def get_import(session: Session, import_id: int) -> DataImport:
    """The import of this id, or :class:`NotFoundError`."""
    record = session.get(DataImport, import_id)
    if record is None:
        raise NotFoundError(f"no import {import_id} (`breedhub germplasm imports` lists them)")
    return record


def _resolve(session: Session, ref: str) -> tuple[list[int], str, int | None]:
    """(accession ids whose history to show, a label, the id of the live accession or None).

    A live accession as :func:`~germplasm.queries.get_accession` finds it, with the
    deleted accessions that held its ``INSTCODE:ACCENUMB`` before; else a deleted
    one, by its id or by the ``INSTCODE:ACCENUMB`` its undo recorded.
    """
    try:
        acc = get_accession(session, ref)
    except NotFoundError as exc:
        acc, missing = None, exc
    label = f"{acc.institute.code}:{acc.accenumb}" if acc is not None else str(ref).strip()
    if acc is None and ":" in label:
        inst, num = label.split(":", 1)
        label = f"{inst.upper()}:{num}"
    ids: set[int] = set()
    if ":" in label:
        deleted = session.execute(
            select(ImportChange.accession_id)
            .join(DataImport, DataImport.id == ImportChange.import_id)
            .where(
                DataImport.kind == "undo",
                ImportChange.field == DELETED,
                ImportChange.old_value == label,
            )
        ).scalars()
        ids.update(int(i) for i in deleted)
    if acc is not None:
        ids.add(acc.id)
        return sorted(ids), label, acc.id
    if not ids and label.isascii() and label.isdigit() and len(label) <= 10 and int(label):
        rows = session.execute(
            select(ImportChange.field, ImportChange.old_value).where(
                ImportChange.accession_id == int(label)
            )
        ).all()
        if rows:
            ids.add(int(label))
            label = next((old for f, old in rows if f == DELETED), f"accession {label}")
    if not ids:
        raise NotFoundError(f"{missing}; no import recorded an accession by that name either")
    return sorted(ids), label, None


def accession_history(session: Session, ref: str) -> dict[str, Any]:
    """Every import that touched an accession, oldest first, with what it did.

    Parameters
    ----------
    session
        A session on the germplasm database.
    ref
        The accession as :func:`~germplasm.queries.get_accession` takes it (id,
        PUID, ``INSTCODE:ACCENUMB``, ``ACCENUMB``); an accession deleted by an
        undo is found by its id or its ``INSTCODE:ACCENUMB``.

    Returns
    -------
    dict
        ``accession`` (``label``, ``id`` of the live accession or None,
        ``ids`` every id it had) and ``imports``: per import its summary,
        ``accession_id``, ``created``, ``deleted``, ``changes`` (field,
        old, new) and ``detached`` (table, count).

    Raises
    ------
    NotFoundError
        No such accession, and no import recorded one by that name.
    """
    ids, label, live = _resolve(session, ref)
    rows = session.execute(
        select(ImportChange, DataImport)
        .join(DataImport, DataImport.id == ImportChange.import_id)
        .where(ImportChange.accession_id.in_(ids))
        .order_by(ImportChange.import_id, ImportChange.accession_id, ImportChange.id)
    ).all()
    by = _undone_by(session, sorted({d.id for _, d in rows}))
    out: list[dict[str, Any]] = []
    for change, record in rows:
        key = (record.id, change.accession_id)
        if not out or (out[-1]["id"], out[-1]["accession_id"]) != key:
            entry = import_summary(record, undone_by=by.get(record.id))
            entry.update(accession_id=key[1], created=False, deleted=False)
            out.append(entry | {"changes": [], "detached": []})
        entry = out[-1]
        if change.action == "insert":
            entry["created"] = True
        elif change.action == "update":
            entry["changes"].append(
                {"field": change.field, "old": change.old_value, "new": change.new_value}
            )
        elif record.kind == "undo" and change.field == DELETED:
            entry["deleted"] = True
        else:
            count = int(change.new_value) if (change.new_value or "").isdigit() else None
            entry["detached"].append({"table": change.field, "count": count})
    return {"accession": {"label": label, "id": live, "ids": ids}, "imports": out}


@dataclass
class UndoReport:
    """What an undo did (or, for a dry run, would do)."""

    import_id: int
    source: str
    dry_run: bool
    undo_id: int | None = None
    #: Field values given back their old value, and on how many accessions.
    restored: int = 0
    accessions_restored: int = 0
    #: Accessions the import created, deleted.
    deleted: int = 0
    #: Restored values per field.
    fields: dict[str, int] = field(default_factory=dict)
    #: The first changes: accession, field, from (the import's value), to (the old one).
    sample: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _column_kinds() -> dict[str, str]:
    """Accession attribute -> ``i`` (integer), ``f`` (float) or ``t`` (text)."""
    out = {}
    for col in Accession.__table__.columns:
        if col.name in ("id", "created_at", "updated_at"):
            continue
        out[col.name] = (
            "i" if isinstance(col.type, Integer) else "f" if isinstance(col.type, Float) else "t"
        )
    return out


def _changes(session: Session, import_id: int) -> pl.DataFrame:
    cols = ", ".join(CHANGE_COLUMNS)
    sql = f"SELECT {cols} FROM import_change WHERE import_id = {int(import_id)}"
    return read_frame(session, sql, dict(CHANGE_COLUMNS))


def _typed_stage(updates: pl.DataFrame, kinds: dict[str, str], import_id: int) -> pl.DataFrame:
    """The update rows with old and new values in their column's type (``old_t``, ``new_i``...)."""
    unknown = sorted(set(updates["field"].to_list()) - set(kinds))
    if unknown:
        raise UndoRefusedError(
            import_id, [f"it changed {', '.join(map(str, unknown))}, not passport fields we know"]
        )
    k = pl.col("field").replace_strict(kinds, return_dtype=pl.String)
    cols = []
    for side in ("old", "new"):
        v = pl.col(f"{side}_value")
        cols += [
            pl.when(k == "t").then(v.fill_null("")).alias(f"{side}_t"),
            pl.when(k == "i").then(v.cast(pl.Int64, strict=False)).alias(f"{side}_i"),
            pl.when(k == "f").then(v.cast(pl.Float64, strict=False)).alias(f"{side}_f"),
        ]
    out = updates.select("accession_id", "field", "old_value", "new_value", *cols)
    bad = out.filter(
        ((k == "i") & ((pl.col("old_value").is_not_null() & pl.col("old_i").is_null())
                       | (pl.col("new_value").is_not_null() & pl.col("new_i").is_null())))
        | ((k == "f") & ((pl.col("old_value").is_not_null() & pl.col("old_f").is_null())
                         | (pl.col("new_value").is_not_null() & pl.col("new_f").is_null())))
    )  # fmt: skip
    if bad.height:
        r = bad.row(0, named=True)
        raise UndoRefusedError(
            import_id,
            [
                f"{bad.height:,} recorded values are not numbers, e.g. {r['field']} of accession "
                f"{r['accession_id']}: {r['old_value']!r} -> {r['new_value']!r}"
            ],
        )
    return out.drop("old_value", "new_value")


def _labels(session: Session, ids: list[int]) -> dict[int, str]:
    """``INSTCODE:ACCENUMB`` of a few accessions."""
    if not ids:
        return {}
    rows = session.execute(
        select(Accession.id, Institute.code, Accession.accenumb)
        .join(Institute, Institute.id == Accession.institute_id)
        .where(Accession.id.in_(ids))
    ).tuples()
    return {i: f"{c}:{n}" for i, c, n in rows}


def _later_conflicts(session: Session, import_id: int) -> list[str]:
    """Later imports, not undone, that changed the fields (or accessions) this one wrote."""
    rows = session.execute(
        text(
            "SELECT later.import_id, d.kind, d.source, later.field, COUNT(*) "
            "FROM import_change mine "
            "JOIN import_change later ON later.accession_id = mine.accession_id "
            " AND later.import_id > mine.import_id "
            "JOIN data_import d ON d.id = later.import_id "
            "WHERE mine.import_id = :n AND d.undone_at IS NULL AND d.kind <> 'undo' "
            " AND (mine.action = 'insert' OR (later.action = 'update' AND later.field = mine.field)) "
            "GROUP BY later.import_id, d.kind, d.source, later.field "
            "ORDER BY later.import_id DESC, later.field"
        ),
        {"n": import_id},
    ).all()
    per: dict[tuple[int, str, str], list[str]] = {}
    for i, kind, src, fld, k in rows:
        per.setdefault((i, kind, src), []).append(f"{fld or 'records'} ({k:,})")
    return [
        f"import {i} ({kind}, {src}) changed {', '.join(what)} of its accessions since: undo import {i} first"
        for (i, kind, src), what in per.items()
    ]


def _drifted(session: Session, fields: list[str], kinds: dict[str, str]) -> list[str]:
    """Staged fields whose current value is not the one the import left."""
    out = []
    for f in fields:
        col = f"new_{kinds[f]}"
        rows = session.execute(
            text(
                f"SELECT s.accession_id, a.id FROM undo_stage s "
                f"LEFT JOIN accession a ON a.id = s.accession_id "
                f"WHERE s.field = :f AND (a.id IS NULL OR a.{f} IS DISTINCT FROM s.{col}) "
                f"LIMIT 6"
            ),
            {"f": f},
        ).all()
        if rows:
            labels = _labels(session, [r[0] for r in rows])
            shown = ", ".join(labels.get(r[0], f"id {r[0]} (deleted)") for r in rows[:5])
            out.append(
                f"{f} of {shown}{' and more' if len(rows) > 5 else ''} is no longer what the "
                "import wrote (changed since by something not recorded, e.g. a web or BrAPI edit)"
            )
    return out


def _references() -> list[tuple[str, str]]:
    """(table, column) of every foreign key to ``accession.id`` that an undo may not break."""
    out = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "accession" and fk.column.name == "id":
                key = (table.name, fk.parent.name)
                if key not in OWNED:
                    out.append(key)
    return sorted(out)


def _referenced(session: Session) -> list[str]:
    """One reason per staged (to be deleted) accession that other records still refer to."""
    uses: dict[int, list[str]] = {}
    for table, column in _references():
        rows = session.execute(
            text(
                f"SELECT {column}, COUNT(*) FROM {table} "
                f"WHERE {column} IN (SELECT accession_id FROM undo_delete) GROUP BY {column}"
            )
        ).tuples()
        what = table if column == "accession_id" else f"{table} ({column})"
        for acc, n in rows:
            uses.setdefault(int(acc), []).append(f"{n:,} {what}")
    labels = _labels(session, sorted(uses)[:200])
    return [
        f"accession {labels.get(a, a)} (id {a}), which it created, is used by "
        f"{', '.join(what)}: delete those first, or keep the import"
        for a, what in sorted(uses.items())
    ]


def _check_record(session: Session, record: DataImport) -> None:
    """Refuse an import that is undone already, or of a kind that cannot be undone."""
    n = record.id
    reasons: list[str] = []
    if record.undone_at is not None:
        by = _undone_by(session, [n]).get(n)
        reasons.append(
            f"it was already undone on {_when(record.undone_at)}"
            + (f" (by import {by})" if by else "")
        )
    elif record.kind not in UNDOABLE:
        why = (
            f"it is itself the undo of import {record.undoes_id}: import that file again instead"
            if record.kind == "undo"
            else f"it is a {record.kind} import"
        )
        reasons.append(f"{why}; only passport imports can be undone")
    if reasons:
        raise UndoRefusedError(n, reasons)


def _check_changes(session: Session, n: int, changes: pl.DataFrame) -> None:
    """Refuse an import that detached records, or whose changes a later import changed again."""
    reasons: list[str] = []
    detached = changes.filter(pl.col("action") == "detach")
    if detached.height:
        counts = detached.group_by("field").agg(pl.len()).sort("field").iter_rows()
        reasons.append(
            "it detached records when it changed species or holding institute ("
            + ", ".join(f"{t} of {k:,} accessions" for t, k in counts)
            + "): detached records cannot be re-attached"
        )
    reasons += _later_conflicts(session, n)
    if reasons:
        raise UndoRefusedError(n, reasons)


def _plan(
    session: Session, record: DataImport, changes: pl.DataFrame, kinds: dict[str, str]
) -> tuple[UndoReport, pl.DataFrame, pl.DataFrame]:
    """Stage the undo (``undo_stage``, ``undo_delete``), check what stands in its way, count it.

    Returns the report, the update rows to undo (of accessions it did not create) and
    the same rows typed (:func:`_typed_stage`).
    """
    n = record.id
    inserted = changes.filter(pl.col("action") == "insert").select("accession_id").unique()
    updates = changes.filter(pl.col("action") == "update").join(
        inserted, on="accession_id", how="anti"
    )
    stage = _typed_stage(updates, kinds, n)
    stage_frame(session, stage, "undo_stage")
    stage_frame(session, inserted, "undo_delete")
    conn = session.connection()
    if stage.height > 1000:
        conn.exec_driver_sql("CREATE INDEX ix_undo_stage ON undo_stage (field, accession_id)")
    fields = sorted(set(stage["field"].to_list()))
    reasons = _drifted(session, fields, kinds)
    gone = session.execute(
        text(
            "SELECT COUNT(*) FROM undo_delete d LEFT JOIN accession a ON a.id = d.accession_id "
            "WHERE a.id IS NULL"
        )
    ).scalar_one()
    if gone:
        reasons.append(f"{gone:,} accessions it created no longer exist (deleted since)")
    reasons += _referenced(session)
    if reasons:
        raise UndoRefusedError(n, reasons)
    report = UndoReport(n, record.source, dry_run=True)
    report.restored, report.deleted = stage.height, inserted.height
    report.accessions_restored = stage["accession_id"].n_unique()
    report.fields = dict(stage.group_by("field").agg(pl.len()).sort("field").iter_rows())
    sample = updates.head(_SAMPLE).select("accession_id", "field", "new_value", "old_value")
    dels = inserted.head(max(0, _SAMPLE - sample.height))["accession_id"].to_list()
    labels = _labels(session, sample["accession_id"].to_list() + dels)
    keys = ("accession_id", "field", "from", "to")
    report.sample = [dict(zip(keys, r, strict=True)) for r in sample.iter_rows()]
    report.sample += [dict(zip(keys, (a, None, None, None), strict=True)) for a in dels]
    for s in report.sample:
        s["accession"] = labels.get(s["accession_id"], str(s["accession_id"]))
    return report, updates, stage


def _wide(stage: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """One row per accession: ``v_<field>`` the value to restore, ``s_<field>`` whether to."""
    wide = stage.select("accession_id").unique()
    for f in sorted(set(stage["field"].to_list())):
        wide = wide.join(
            stage.filter(pl.col("field") == f).select(
                "accession_id",
                pl.col(f"old_{kinds[f]}").alias(f"v_{f}"),
                pl.lit(True).alias(f"s_{f}"),
            ),
            on="accession_id",
            how="left",
        )
    if "v_accename" in wide.columns and "v_name" not in wide.columns:
        first = display_name(pl.col("v_accename"))
        wide = wide.with_columns(first.alias("v_name"), pl.col("s_accename").alias("s_name"))
    return wide


def _restore(
    session: Session, stage: pl.DataFrame, kinds: dict[str, str], now: dt.datetime
) -> None:
    """Every staged field back to its old value in one ``UPDATE ... FROM``, then the names."""
    frame = _wide(stage, kinds)
    fields = [c[2:] for c in frame.columns if c.startswith("v_")]
    wide = stage_frame(session, frame, "undo_wide")
    sets = ", ".join(f"{f} = CASE WHEN s.s_{f} THEN s.v_{f} ELSE accession.{f} END" for f in fields)
    session.execute(
        text(
            f"UPDATE accession SET {sets}, updated_at = :now FROM {wide} AS s WHERE accession.id = s.accession_id"
        ),
        {"now": now},
    )
    drop_stage(session, wide)
    renamed = stage.filter(pl.col("field").is_in(NAME_ATTRS)).select("accession_id").unique()
    if renamed.is_empty():
        return
    # Only the names that differ are deleted or added: the name indexes change no more than needed.
    stage_frame(session, renamed, "undo_renamed")
    ids = "(SELECT accession_id FROM undo_renamed)"
    acc = read_frame(
        session,
        f"SELECT id, {', '.join(NAME_ATTRS)} FROM accession WHERE id IN {ids}",
        {"id": pl.Int64, **{c: pl.String for c in NAME_ATTRS}},
    )
    want = names_frame(acc)
    have = read_frame(
        session,
        f"SELECT id, accession_id, kind, name FROM accession_name WHERE accession_id IN {ids}",
        {"id": pl.Int64, "accession_id": pl.Int64, "kind": pl.String, "name": pl.String},
    )
    on = ["accession_id", "kind", "name"]
    gone = stage_frame(session, have.join(want, on=on, how="anti").select("id"), "undo_gone")
    session.execute(text(f"DELETE FROM accession_name WHERE id IN (SELECT id FROM {gone})"))
    insert_frame(session, AccessionName, want.join(have, on=on, how="anti"))
    for name in ("undo_renamed", "undo_gone"):
        drop_stage(session, name)


def _apply(
    session: Session,
    record: DataImport,
    plan: UndoReport,
    updates: pl.DataFrame,
    stage: pl.DataFrame,
    kinds: dict[str, str],
    *,
    user_id: int | None,
    run_by: str | None,
) -> None:
    """Write the staged undo and record it; ``plan`` becomes the report of what was done."""
    n = record.id
    now = _now()
    claimed = (
        session.connection()
        .execute(
            text("UPDATE data_import SET undone_at = :now WHERE id = :n AND undone_at IS NULL"),
            {"now": now, "n": n},
        )
        .rowcount
    )
    if claimed != 1:
        raise UndoRefusedError(n, ["another undo of it finished first"])
    undo = start_import(session, "undo", f"import {n}", undoes_id=n, user_id=user_id, run_by=run_by)
    if stage.height:
        _restore(session, stage, kinds, now)
    deleted = session.execute(
        text(
            "SELECT a.id, i.code, a.accenumb FROM accession a "
            "JOIN institute i ON i.id = a.institute_id "
            "WHERE a.id IN (SELECT accession_id FROM undo_delete)"
        )
    ).tuples()
    del_rows = [(a, "detach", DELETED, f"{c}:{num}", "1") for a, c, num in deleted]
    conn = session.connection()
    for table in ("accession_name", "trait_summary", "accession"):
        col = "id" if table == "accession" else "accession_id"
        conn.exec_driver_sql(
            f"DELETE FROM {table} WHERE {col} IN (SELECT accession_id FROM undo_delete)"
        )
    reversed_updates = updates.select(
        "accession_id",
        action=pl.lit("update"),
        field="field",
        old_value="new_value",
        new_value="old_value",
    )
    frame = pl.concat(
        [reversed_updates, pl.DataFrame(del_rows, schema=reversed_updates.schema, orient="row")]
    )
    record_changes(session, undo.id, frame)
    undo.counts = {
        "restored": plan.restored,
        "accessions_restored": plan.accessions_restored,
        "deleted": plan.deleted,
    }
    session.flush()
    plan.dry_run, plan.undo_id = False, undo.id


def undo_import(
    engine: Engine,
    import_id: int,
    *,
    dry_run: bool = False,
    user_id: int | None = None,
    run_by: str | None = None,
) -> UndoReport:
    """Play a passport import backwards, in one transaction, and record the undo.

    Every field the import changed gets its old value back; every accession
    it created is deleted with its names; the names of accessions whose name
    fields (:data:`~germplasm.passport_rules.NAME_ATTRS`) change are rebuilt. The undo is recorded as a
    :class:`~germplasm.models_audit.DataImport` of kind ``undo`` (its changes
    are the import's, reversed) and the import gets its ``undone_at``.

    Parameters
    ----------
    engine
        The germplasm database.
    import_id
        The passport import to undo (``breedhub germplasm imports``).
    dry_run
        Check and count only; change nothing.
    user_id, run_by
        Who undoes it (see :func:`~germplasm.audit.start_import`).

    Returns
    -------
    UndoReport

    Raises
    ------
    NotFoundError
        No such import.
    UndoRefusedError
        With every reason the undo cannot restore exactly what the import
        found: already undone; not a passport import; it detached records; a
        later import (not undone) changed the same fields or accessions; a
        value changed since; an accession it created is referred to by other
        records (observations, samples, pedigrees, predictions, lists...).
        Nothing was changed.
    """
    kinds = _column_kinds()
    with transaction(engine) as session:
        record = get_import(session, import_id)
        _check_record(session, record)
        changes = _changes(session, import_id)
        try:
            _check_changes(session, import_id, changes)
            plan, updates, stage = _plan(session, record, changes, kinds)
            if dry_run:
                session.rollback()
                return plan
            _apply(session, record, plan, updates, stage, kinds, user_id=user_id, run_by=run_by)
        finally:
            if session.in_transaction() and session.connection().dialect.name == "sqlite":
                for name in ("undo_stage", "undo_delete"):
                    drop_stage(session, name)
    return plan


__all__ = [
    "DELETED",
    "UNDOABLE",
    "UndoRefusedError",
    "UndoReport",
    "accession_history",
    "get_import",
    "import_summary",
    "list_imports",
    "parse_import_id",
    "undo_import",
]
