"""Writing a checked passport table set-based: staged keys, one read, bulk insert, one UPDATE.

:func:`write_passport_frame` turns a validated MCPD table into database rows
at the engine's bulk speed: the file's keys go to a staging table
(:func:`germplasm.bulk.stage_frame`) and the stored accessions they name come
back in one query; :mod:`germplasm.passport_rules` decides what each row
does; new accessions get their ids up front (a block of the PostgreSQL
sequence, or the ids after SQLite's largest under its write lock) so that
they, their names and their audit rows are each one ``COPY`` (PostgreSQL) or
one batched ``executemany`` (SQLite); changed accessions are one staged
``UPDATE ... FROM``. Accessions whose species or holding institute changes
(when allowed) lose their phenotypes, samples and predictions here, counted
per table. The caller owns the transaction: everything or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from breedhub.germplasm.audit import record_changes
from breedhub.germplasm.bulk import drop_stage, insert_frame, read_frame, stage_frame
from breedhub.germplasm.exceptions import ValidationError
from breedhub.germplasm.models import Accession, AccessionName, Institute, _now
from breedhub.germplasm.names import search_key_expr
from breedhub.germplasm.passport_rules import (
    ATTRS,
    CODE,
    NAME_ATTRS,
    PassportPlan,
    dtype_of,
    plan_passport,
)
from breedhub.germplasm.reports import ImportReport, Progress, silent
from breedhub.germplasm.species import SpeciesRegistry
from breedhub.germplasm.tabular import ROW

#: Tables whose rows are detached (deleted, or for data files unlinked) from an
#: accession whose species or holding institute changes, in the order they go.
DETACHED_TABLES = (
    "observation",
    "trait_summary",
    "observation_unit",
    "genotype_dataset_sample",
    "data_file",
    "sample",
    "prediction",
)


def names_frame(acc: pl.DataFrame) -> pl.DataFrame:
    """(accession_id, name, kind, key): every name an accession is found by.

    ``acc`` has ``id`` and the name attributes (:data:`passport_rules.NAME_ATTRS`).
    """

    def listed(col: str, kind: str, *, after_colon: bool = False) -> pl.DataFrame:
        part = pl.col(col).str.split(";").alias("name")
        out = acc.select("id", part).explode("name")
        if after_colon:
            out = out.with_columns(pl.col("name").str.split(":").list.last())
        return out.with_columns(pl.col("name").str.strip_chars(), kind=pl.lit(kind))

    frames = [
        acc.select("id", pl.col("accenumb").alias("name"), kind=pl.lit("accenumb")),
        listed("accename", "name"),
        listed("othernumb", "othernumb", after_colon=True),
        acc.select("id", pl.col("donornumb").alias("name"), kind=pl.lit("donornumb")),
        acc.select("id", pl.col("collnumb").alias("name"), kind=pl.lit("collnumb")),
    ]
    names = pl.concat(frames).filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
    names = names.unique(subset=["id", "kind", "name"], maintain_order=True)
    # Normalise each distinct name once: many accessions share numbers' shapes and names.
    distinct = names.select("name").unique()
    keys = distinct.with_columns(search_key_expr(pl.col("name")).alias("key"))
    return names.join(keys, on="name", how="left").select(
        pl.col("id").alias("accession_id"), "name", "kind", "key"
    )


def _old_schema(present: set[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "id": pl.Int64,
        "institute_id": pl.Int64,
        "species_id": pl.Int64,
        "name": pl.String,
    }
    keep = set(ATTRS) if present is None else present | {"accenumb", "puid"}
    schema.update({a: dtype_of(a) for a in ATTRS if a in keep})
    return schema


def read_existing(
    session: Session, typed: pl.DataFrame, present: set[str] | None = None
) -> pl.DataFrame:
    """The stored accessions the rows name by (institute, number) or by PUID, in one query.

    Only the attributes in ``present`` (the file's columns) are read, with
    the keys: reading is most of the cost of a re-import.
    """
    schema = _old_schema(present)
    conn = session.connection()
    if conn.exec_driver_sql("SELECT 1 FROM accession LIMIT 1").first() is None:
        return pl.DataFrame(schema=schema)  # a first load into an empty table
    given = pl.col("puid") if "puid" in typed.columns else pl.lit("")
    generated = pl.concat_str(["instcode", "accenumb", "genus_text"], separator=":")
    keys = typed.select(
        "institute_id",
        "accenumb",
        puid=pl.when(given != "").then(given).otherwise(generated),
    )
    stage = stage_frame(session, keys, "passport_keys")
    cols = ", ".join(f"a.{c}" for c in schema)
    sql = (
        f"SELECT {cols} FROM accession a WHERE a.id IN ("
        f"SELECT a2.id FROM accession a2 JOIN {stage} k "
        "ON a2.institute_id = k.institute_id AND a2.accenumb = k.accenumb "
        f"UNION SELECT a3.id FROM accession a3 JOIN {stage} k ON a3.puid = k.puid)"
    )
    try:
        return read_frame(session, sql, schema)
    finally:
        drop_stage(session, stage)


def institute_ids(session: Session, codes: set[str], *, create: bool) -> dict[str, int]:
    """Institute code -> id; unknown codes are added (or, when not ``create``, get ids < 0)."""
    have = dict(
        session.connection().exec_driver_sql("SELECT code, id FROM institute").tuples().all()
    )
    out = {c: have[c] for c in codes if c in have}
    for n, code in enumerate(sorted(codes - set(have)), start=1):
        if create:
            inst = Institute(code=code, country=code[:3])
            session.add(inst)
            session.flush()
            out[code] = inst.id
        else:
            out[code] = -n
    return out


def _species_ids(session: Session) -> pl.DataFrame:
    rows = session.connection().exec_driver_sql("SELECT genus, species, id FROM species").all()
    return pl.DataFrame(
        [(g.lower(), s.lower(), i) for g, s, i in rows],
        schema={"_g": pl.String, "_s": pl.String, "species_id": pl.Int64},
        orient="row",
    )


def typed_frame(
    df: pl.DataFrame, inst_ids: dict[str, int], species_ids: pl.DataFrame, present: set[str]
) -> pl.DataFrame:
    """The file's rows with the attributes it carries, typed, and their foreign keys."""
    cols = []
    for a in ATTRS:
        if a not in present:
            continue
        c = pl.col(CODE[a])
        dtype = dtype_of(a)
        cols.append((pl.when(c != "").then(c).cast(dtype) if dtype != pl.String else c).alias(a))
    out = df.select(
        ROW,
        pl.col("INSTCODE").alias("instcode"),
        pl.col("INSTCODE").replace_strict(inst_ids, return_dtype=pl.Int64).alias("institute_id"),
        pl.col("GENUS").alias("genus_text"),
        pl.col("GENUS").str.to_lowercase().alias("_g"),
        pl.col("SPECIES").str.to_lowercase().alias("_s"),
        *cols,
    )
    return out.join(species_ids, on=["_g", "_s"], how="left").drop("_g", "_s")


#: A load of at least this many rows into a table that holds fewer rows than it
#: drops the table's secondary indexes, unique and foreign-key constraints and
#: builds them again afterwards (as pg_restore does): one sorted build and one
#: join instead of a b-tree insert and a key lookup per row and index.
BULK_REBUILD_MIN = 20_000


@contextmanager
def rebuilt_indexes(session: Session, table: str, n_new: int) -> Iterator[bool]:
    """Around a big load into a small ``table``: drop its indexes, build them again after.

    The constraints are checked again when they are re-added: a load that
    breaks one fails there, and the transaction rolls back whole. While the
    transaction lasts the table is locked against other writers (and, on
    PostgreSQL, readers): worth it for a first load, not for a few rows.

    Yields
    ------
    bool
        Whether the indexes were dropped.
    """
    conn = session.connection()
    have = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() or 0
    if n_new < BULK_REBUILD_MIN or have > n_new:
        yield False
        return
    pg = conn.dialect.name == "postgresql"
    if pg:
        constraints = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = '{table}'::regclass AND contype IN ('u', 'f') ORDER BY contype DESC"
        ).all()
        indexes = conn.exec_driver_sql(
            "SELECT c.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix "
            "JOIN pg_class c ON c.oid = ix.indexrelid "
            f"WHERE ix.indrelid = '{table}'::regclass AND NOT ix.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid)"
        ).all()
        for name, _ in constraints:
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    else:
        constraints = []
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            f"AND tbl_name = '{table}' AND sql IS NOT NULL"
        ).all()
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield True
    if pg:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    for _, sql in indexes:
        conn.exec_driver_sql(sql)
    for name, definition in reversed(constraints):
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _lock_sqlite(session: Session) -> None:
    """Take SQLite's write lock now: ids read after it cannot be taken by another writer."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # A write statement takes the RESERVED lock even when it changes nothing.
        conn.exec_driver_sql("DELETE FROM accession WHERE id < 0")


def new_ids(session: Session, n: int) -> pl.Series:
    """``n`` fresh accession ids, ascending.

    PostgreSQL: a block of the table's sequence (for many rows the table is
    locked against other inserts and the block taken in one ``setval``);
    SQLite: the ids after the largest, read under the database's write lock.
    """
    conn = session.connection()
    if n == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    if conn.dialect.name == "postgresql":
        seq = "pg_get_serial_sequence('accession', 'id')"
        if n < 1000:
            rows = conn.exec_driver_sql(
                f"SELECT nextval({seq}) FROM generate_series(1, {int(n)})"
            ).all()
            return pl.Series("id", sorted(r[0] for r in rows), dtype=pl.Int64)
        # Inserts take ROW EXCLUSIVE: with this lock held nobody else draws from the sequence.
        conn.exec_driver_sql("LOCK TABLE accession IN SHARE ROW EXCLUSIVE MODE")
        last = conn.exec_driver_sql(f"SELECT setval({seq}, nextval({seq}) + {int(n) - 1})").scalar()
        assert last is not None
        return pl.int_range(last - n + 1, last + 1, eager=True, dtype=pl.Int64).alias("id")
    _lock_sqlite(session)
    top = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM accession").scalar() or 0
    return pl.int_range(top + 1, top + 1 + n, eager=True, dtype=pl.Int64).alias("id")


def detach(
    session: Session, ids: list[int], *, write: bool = True
) -> tuple[dict[str, int], pl.DataFrame]:
    """Delete the phenotypes, samples and predictions of these accessions.

    Their observations, trait summaries and observation units go, their
    samples go with their genotype-dataset membership (data files of those
    samples stay in the store, unlinked), and their predictions go. With
    ``write=False`` only count them (a dry run).

    Returns
    -------
    counts, per_accession
        Rows per table (:data:`DETACHED_TABLES` order), and (``accession_id``,
        ``table``, ``n``) for the audit.
    """
    schema = {"accession_id": pl.Int64, "table": pl.String, "n": pl.Int64}
    per = pl.DataFrame(schema=schema)
    if not ids:
        return {}, per
    conn = session.connection()
    stage = stage_frame(session, pl.DataFrame({"id": ids}, schema={"id": pl.Int64}), "detach_ids")
    acc_in = f"IN (SELECT id FROM {stage})"
    samples = f"IN (SELECT id FROM sample WHERE accession_id {acc_in})"
    units = f"IN (SELECT id FROM observation_unit WHERE accession_id {acc_in})"
    by_sample = f"JOIN sample s ON s.id = t.sample_id WHERE s.accession_id {acc_in}"
    counting = {
        "observation": f"FROM observation t WHERE t.accession_id {acc_in}",
        "trait_summary": f"FROM trait_summary t WHERE t.accession_id {acc_in}",
        "observation_unit": f"FROM observation_unit t WHERE t.accession_id {acc_in}",
        "genotype_dataset_sample": f"FROM genotype_dataset_sample t {by_sample}",
        "data_file": f"FROM data_file t {by_sample}",
        "sample": f"FROM sample t WHERE t.accession_id {acc_in}",
        "prediction": f"FROM prediction t WHERE t.accession_id {acc_in}",
    }
    frames = []
    for table, tail in counting.items():
        who = "s.accession_id" if "JOIN sample" in tail else "t.accession_id"
        rows = conn.exec_driver_sql(f"SELECT {who}, COUNT(*) {tail} GROUP BY {who}").all()
        if rows:
            frames.append(
                pl.DataFrame([(a, table, n) for a, n in rows], schema=schema, orient="row")
            )
    if write:
        for sql in (
            f"DELETE FROM observation WHERE accession_id {acc_in} OR observation_unit_id {units}",
            f"DELETE FROM trait_summary WHERE accession_id {acc_in}",
            f"DELETE FROM observation_unit WHERE accession_id {acc_in}",
            f"DELETE FROM genotype_dataset_sample WHERE sample_id {samples}",
            f"UPDATE data_file SET sample_id = NULL WHERE sample_id {samples}",
            f"DELETE FROM sample WHERE accession_id {acc_in}",
            f"DELETE FROM prediction WHERE accession_id {acc_in}",
        ):
            conn.exec_driver_sql(sql)
    drop_stage(session, stage)
    per = pl.concat(frames) if frames else per
    counts = dict(per.group_by("table").agg(pl.col("n").sum()).iter_rows())
    return {t: int(counts[t]) for t in DETACHED_TABLES if t in counts}, per


def _update(session: Session, plan: PassportPlan, now: Any) -> None:
    """One ``UPDATE ... FROM`` of the staged changed rows."""
    cols = plan.set_columns
    stage = stage_frame(
        session,
        plan.changed.select("id", *cols).with_columns(updated_at=pl.lit(now)),
        "passport_changed",
    )
    sets = ", ".join(f"{c} = s.{c}" for c in [*cols, "updated_at"])
    session.connection().exec_driver_sql(
        f"UPDATE accession SET {sets} FROM {stage} AS s WHERE accession.id = s.id"
    )
    drop_stage(session, stage)


def _renamed(session: Session, plan: PassportPlan) -> pl.DataFrame:
    """The name attributes, after the update, of the accessions whose names changed."""
    ids = plan.rename_ids
    conn = session.connection()
    stage = stage_frame(session, pl.DataFrame({"id": ids}, schema={"id": pl.Int64}), "renamed")
    conn.exec_driver_sql(
        f"DELETE FROM accession_name WHERE accession_id IN (SELECT id FROM {stage})"
    )
    cols = ", ".join(f"a.{c}" for c in ("id", *NAME_ATTRS))
    out = read_frame(
        session,
        f"SELECT {cols} FROM accession a JOIN {stage} s ON s.id = a.id",
        {"id": pl.Int64, **{c: pl.String for c in NAME_ATTRS}},
    )
    drop_stage(session, stage)
    return out


def changes_frame(plan: PassportPlan, inserted_ids: pl.Series, per: pl.DataFrame) -> pl.DataFrame:
    """The audit rows of a write: one insert per new accession, one update per field, detaches."""
    schema = {
        "accession_id": pl.Int64,
        "action": pl.String,
        "field": pl.String,
        "old_value": pl.String,
        "new_value": pl.String,
    }
    inserts = pl.DataFrame({"accession_id": inserted_ids}).select(
        pl.col("accession_id").cast(pl.Int64),
        action=pl.lit("insert"),
        field=pl.lit(None, dtype=pl.String),
        old_value=pl.lit(None, dtype=pl.String),
        new_value=pl.lit(None, dtype=pl.String),
    )
    updates = plan.diffs.select(
        pl.col("id").alias("accession_id"),
        pl.lit("update").alias("action"),
        "field",
        "old_value",
        "new_value",
    )
    detaches = per.select(
        "accession_id",
        action=pl.lit("detach"),
        field=pl.col("table"),
        old_value=pl.lit(None, dtype=pl.String),
        new_value=pl.col("n").cast(pl.String),
    )
    return pl.concat(
        [
            f.select(pl.col(c).cast(t) for c, t in schema.items())
            for f in (inserts, updates, detaches)
        ]
    )


def write_passport_frame(
    session: Session,
    df: pl.DataFrame,
    registry: SpeciesRegistry,
    report: ImportReport,
    *,
    columns: set[str] | None = None,
    blank_clears: bool = True,
    allow_species_change: bool = False,
    allow_institute_change: bool = False,
    dry_run: bool = False,
    import_id: int | None = None,
    progress: Progress = silent,
) -> PassportPlan:
    """Insert the new and update the changed accessions of a checked MCPD table, with their names.

    Parameters
    ----------
    session
        The caller's session; the caller owns the transaction.
    df
        A validated passport table (text columns with MCPD codes, ``__row``).
    registry
        The species registry (GENUS/SPECIES were checked against it).
    report
        Receives the counts (and, for a dry run, ``rows_detail``).
    columns
        The MCPD columns to write (default: all of ``df``'s); the others keep
        their stored values.
    blank_clears
        An empty cell clears the stored value (the default, for callers that
        send whole passports); ``False`` keeps it.
    allow_species_change, allow_institute_change
        Accept a change of species or of holding institute (same PUID, another
        INSTCODE) and detach the accession's phenotypes, samples and
        predictions; by default such a row is refused.
    dry_run
        Decide everything, write nothing (no institute is created either);
        refused rows are reported, not raised.
    import_id
        Record every effect as :class:`~germplasm.models_audit.ImportChange`
        rows of this import.
    progress
        Called with a line at each stage.

    Returns
    -------
    PassportPlan
        What was (or, for a dry run, would be) done.

    Raises
    ------
    ValidationError
        A PUID held by another accession, an accession named twice, or (not
        a dry run) a refused change; nothing was written.
    """
    cols = set(df.columns) if columns is None else set(columns) | {"INSTCODE", "ACCENUMB"}
    present = {a for a in ATTRS if CODE[a] in cols} | {"accenumb"}
    inst_ids = institute_ids(session, set(df["INSTCODE"].unique()), create=not dry_run)
    typed = typed_frame(df, inst_ids, _species_ids(session), present)
    progress("reading the stored accessions")
    old = read_existing(session, typed, present)
    progress("planning")
    codes = {i: c for c, i in inst_ids.items()}
    rows = session.connection().exec_driver_sql("SELECT id, code FROM institute").all()
    codes.update({int(i): str(c) for i, c in rows})
    plan = plan_passport(
        typed,
        old,
        present,
        institute_codes=codes,
        blank_clears=blank_clears,
        allow_species_change=allow_species_change,
        allow_institute_change=allow_institute_change,
    )
    if plan.conflicts or (plan.refused and not dry_run):
        raise ValidationError(report.source, plan.conflicts + plan.refused)
    counts = dict(plan.status.group_by("status").agg(pl.len()).iter_rows())
    report.inserted, report.updated = counts.get("new", 0), counts.get("changed", 0)
    report.unchanged, report.refused = counts.get("unchanged", 0), counts.get("refused", 0)
    if dry_run:
        report.rows_detail = rows_detail(plan, codes)
        report.detached = detach(session, plan.detach_ids, write=False)[0]
        return plan
    progress(f"{report.inserted:,} new, {report.updated:,} changed: writing accessions")
    now = _now()
    ids = new_ids(session, plan.new.height)
    new = plan.new.with_columns(ids)
    if new.height:
        with rebuilt_indexes(session, "accession", new.height):
            insert_frame(
                session,
                Accession,
                new.drop(ROW).with_columns(created_at=pl.lit(now), updated_at=pl.lit(now)),
            )
    progress("detaching")
    report.detached, per = detach(session, plan.detach_ids)
    if plan.changed.height:
        progress("updating")
        _update(session, plan, now)
    progress("writing names")
    if new.height:
        names = names_frame(new.select("id", *NAME_ATTRS))
        with rebuilt_indexes(session, "accession_name", names.height):
            insert_frame(session, AccessionName, names)
    if plan.rename_ids:
        insert_frame(session, AccessionName, names_frame(_renamed(session, plan)))
    if import_id is not None:
        progress("recording the changes")
        changes = changes_frame(plan, ids, per)
        with rebuilt_indexes(session, "import_change", changes.height):
            record_changes(session, import_id, changes)
    return plan


def rows_detail(plan: PassportPlan, codes: dict[int, str]) -> list[dict[str, Any]]:
    """Every row that is not unchanged: status, fields old → new (MCPD codes), refusal reason."""
    label = {a: CODE[a] for a in ATTRS} | {"institute_id": "INSTCODE"}
    reasons = {p.row: p.reason for p in plan.refused}
    diffs: dict[int, list[dict[str, Any]]] = {}
    for r, f, o, n in plan.diffs.select(ROW, "field", "old_value", "new_value").iter_rows():
        if f not in label:
            continue  # species_id: GENUS/SPECIES say it
        if f == "institute_id":
            o, n = codes.get(int(o)), codes.get(int(n))
        diffs.setdefault(r, []).append({"field": label[f], "old": o, "new": n})
    out = []
    rows = plan.status.filter(pl.col("status") != "unchanged")
    for r, status, inst, num in rows.select(ROW, "status", "instcode", "accenumb").iter_rows():
        entry: dict[str, Any] = {"row": r, "instcode": inst, "accenumb": num, "status": status}
        if status == "changed":
            entry["changes"] = diffs.get(r, [])
        if status == "refused":
            entry["reason"] = reasons.get(r, "")
        out.append(entry)
    return out


__all__ = [
    "DETACHED_TABLES",
    "detach",
    "names_frame",
    "read_existing",
    "rows_detail",
    "write_passport_frame",
]
