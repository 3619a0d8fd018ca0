"""The write path of the observation import: design records, units, values, trait summaries.

:func:`write_observations` takes rows that :func:`~germplasm.phenotypes.import_observations`
has validated as a whole and writes them set-based, at the engine's bulk speed:

- units and values that are new go in with ``COPY`` (PostgreSQL) or one
  ``executemany`` (SQLite), with unit ids drawn beforehand so nothing is read back,
  sorted so that both of observation's indexes grow in key order; a load larger
  than the table it goes into drops that table's indexes and constraints and
  builds them again after (:func:`~germplasm.passport_write.rebuilt_indexes`);
- the stored values of the file's existing units are read with one join against
  a staged table of their ids (``COPY ... TO`` on PostgreSQL), compared in polars,
  and the changed ones written with one ``UPDATE ... FROM`` a staged table;
- the per-trait summaries (:class:`~germplasm.models.TraitSummary`) are merged
  with the new values in one ``INSERT ... ON CONFLICT DO UPDATE`` (count, mean,
  min, max combine), and recomputed, set-based, for the accessions whose values
  changed (:func:`refresh_trait_summary`).

Only observations of public trials count in the summaries.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from breedhub.germplasm.bulk import drop_stage, insert_frame, read_frame, stage_frame
from breedhub.germplasm.models import (
    Location,
    Observation,
    ObservationUnit,
    Season,
    SpeciesRow,
    Study,
    Trial,
)
from breedhub.germplasm.passport_write import BULK_REBUILD_MIN, rebuilt_indexes
from breedhub.germplasm.reports import ImportReport, Progress, silent

__all__ = ["existing_units", "refresh_trait_summary", "write_observations"]

UNIT_COLUMNS = {
    "study": pl.String,
    "unit": pl.String,
    "unit_id": pl.Int64,
    "existing_accession_id": pl.Int64,
}


def existing_units(session: Session, study_ids: dict[str, int]) -> pl.DataFrame:
    """The units already stored in these studies (name -> id): study, unit, unit_id, accession."""
    if not study_ids:
        return pl.DataFrame(schema=UNIT_COLUMNS)
    ids = ", ".join(str(int(i)) for i in study_ids.values())
    units = read_frame(
        session,
        f"SELECT study_id, name, id, accession_id FROM observation_unit WHERE study_id IN ({ids})",
        {"study_id": pl.Int64, "unit": pl.String, "unit_id": pl.Int64,
         "existing_accession_id": pl.Int64},
    )  # fmt: skip
    names = pl.DataFrame(
        {"study": list(study_ids), "study_id": list(study_ids.values())},
        schema={"study": pl.String, "study_id": pl.Int64},
    )
    return units.join(names, on="study_id").select(list(UNIT_COLUMNS))


def _get_or_create(
    session: Session, model: Any, lookup: dict[str, Any], values: dict[str, Any]
) -> int:
    obj = session.scalars(select(model).filter_by(**lookup)).first()
    if obj is None:
        obj = model(**lookup, **values)
        session.add(obj)
        session.flush()
    return int(obj.id)


def _design(session: Session, df: pl.DataFrame) -> tuple[dict[str, int], set[int]]:
    """Create the file's trials, locations, seasons and studies; return study ids, public ones."""
    species_ids = dict(session.execute(select(SpeciesRow.key, SpeciesRow.id)).tuples().all())
    study_ids: dict[str, int] = {}
    design = df.group_by("study").agg(
        pl.col("trial", "location", "year", "season", "species").first()
    )
    for study, trial, loc, year, season, sp in design.iter_rows():
        trial_id = _get_or_create(session, Trial, {"name": trial}, {"species_id": species_ids[sp]})
        loc_id = _get_or_create(session, Location, {"name": loc}, {}) if loc else None
        season_id = (
            _get_or_create(session, Season, {"year": int(year), "name": season}, {})
            if year
            else None
        )
        study_ids[study] = _get_or_create(
            session,
            Study,
            {"name": study},
            {"trial_id": trial_id, "location_id": loc_id, "season_id": season_id},
        )
    public = set(
        session.scalars(
            select(Study.id)
            .join(Trial, Trial.id == Study.trial_id)
            .where(Study.id.in_(list(study_ids.values())), Trial.visibility == "public")
        )
    )
    return study_ids, public


def _rebuilt_if_small(session: Session, table: str, n: int) -> AbstractContextManager[bool]:
    """:func:`rebuilt_indexes` for a load of ``n`` rows, counting at most ``n + 1`` stored rows.

    The observation table grows to tens of millions: a full ``COUNT(*)`` per
    import would cost more than the rebuild saves.
    """
    if n < BULK_REBUILD_MIN:
        return nullcontext(False)
    have = (
        session.connection()
        .exec_driver_sql(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {int(n) + 1}) AS t")
        .scalar_one()
    )
    return rebuilt_indexes(session, table, n) if have <= n else nullcontext(False)


def _new_ids(session: Session, model: Any, n: int) -> pl.Series:
    """``n`` fresh primary keys for ``model``'s table, drawn before a bulk insert.

    PostgreSQL: a few from the sequence one by one; many as one block taken
    with ``setval`` while the table is locked against other inserts (they
    would draw from the same sequence) until the import commits. SQLite: the
    ids after the largest, read under the database's write lock.
    """
    conn = session.connection()
    table = model.__tablename__
    if conn.dialect.name == "postgresql":
        seq = f"pg_get_serial_sequence('{table}', 'id')"
        if n < 1000:
            ids = read_frame(
                session,
                f"SELECT nextval({seq}) FROM generate_series(1, {int(n)})",
                {"id": pl.Int64},
            )["id"]
            return ids.sort().alias("unit_id")
        conn.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        last = conn.exec_driver_sql(
            f"SELECT setval({seq}, nextval({seq}) + {int(n) - 1})"
        ).scalar_one()
        return pl.int_range(last - n + 1, last + 1, eager=True, dtype=pl.Int64).alias("unit_id")
    # A write statement takes SQLite's write lock even when it changes nothing.
    conn.exec_driver_sql(f"DELETE FROM {table} WHERE id < 0")
    start = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()
    return pl.int_range(start + 1, start + 1 + n, eager=True, dtype=pl.Int64).alias("unit_id")


def _write_units(session: Session, df: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """Insert the file's new units; return (study, unit, unit_id, unit_is_new) for every unit."""
    units = df.group_by("study", "unit").agg(
        pl.col("study_id", "accession_id", "replicate", "block", "row", "col").first()
    )
    units = units.join(
        existing.select("study", "unit", "unit_id"), on=["study", "unit"], how="left"
    )
    # Ids in accession order: the values, sorted the same way, then go into both
    # of observation's indexes (unit, accession) in ascending key order.
    new = units.filter(pl.col("unit_id").is_null()).sort("accession_id", "study_id", "unit")
    if new.height:
        new = new.with_columns(_new_ids(session, ObservationUnit, new.height))

        def to_int(c: str) -> pl.Expr:
            return pl.col(c).cast(pl.Int64, strict=False)

        with _rebuilt_if_small(session, "observation_unit", new.height):
            insert_frame(
                session,
                ObservationUnit,
                new.select(
                    pl.col("unit_id").alias("id"),
                    "study_id",
                    "accession_id",
                    pl.col("unit").alias("name"),
                    pl.lit("plot").alias("level"),
                    to_int("replicate").alias("replicate"),
                    to_int("block").alias("block"),
                    to_int("row").alias("row"),
                    to_int("col").alias("col"),
                    pl.lit("TEST").alias("entry_type"),
                ),
            )
    old = units.filter(pl.col("unit_id").is_not_null()).with_columns(unit_is_new=pl.lit(False))
    new = new.with_columns(unit_is_new=pl.lit(True))
    cols = ["study", "unit", "unit_id", "unit_is_new"]
    return pl.concat([old.select(cols), new.select(cols)])


def _stored_values(session: Session, unit_ids: pl.Series) -> pl.DataFrame:
    """The stored observations of these units: unit_id, variable_id, date, obs_id, old_value."""
    schema = {"unit_id": pl.Int64, "variable_id": pl.Int64, "date": pl.String,
              "obs_id": pl.Int64, "old_value": pl.String}  # fmt: skip
    if unit_ids.len() == 0:
        return pl.DataFrame(schema=schema)
    ids = unit_ids.unique().sort().alias("unit_id").to_frame()
    stage = stage_frame(session, ids, "_obs_units")
    try:
        return read_frame(
            session,
            "SELECT o.observation_unit_id, o.variable_id, o.observed_at, o.id, o.value "
            f"FROM {stage} s JOIN observation o ON o.observation_unit_id = s.unit_id",
            schema,
        )
    finally:
        drop_stage(session, stage)


def _update_values(session: Session, changed: pl.DataFrame) -> None:
    stage = stage_frame(
        session,
        changed.select(
            pl.col("obs_id").alias("id"),
            "value",
            pl.col("value").cast(pl.Float64, strict=False).alias("numeric_value"),
        ),
        "_obs_changed",
    )
    session.connection().exec_driver_sql(
        f"UPDATE observation SET value = c.value, numeric_value = c.numeric_value "
        f"FROM {stage} AS c WHERE observation.id = c.id"
    )
    drop_stage(session, stage)


def write_observations(
    session: Session,
    df: pl.DataFrame,
    report: ImportReport,
    *,
    existing: pl.DataFrame | None = None,
    progress: Progress = silent,
) -> None:
    """Write validated observation rows; set ``report``'s inserted, updated and unchanged.

    Parameters
    ----------
    session
        The import's session; everything is written in its transaction.
    df
        The validated rows: the long layout's text columns with ``unit`` filled in,
        plus ``variable_id``, ``accession_id`` and ``species``.
    report
        Receives the counts.
    existing
        The units already stored in the file's studies (:func:`existing_units`),
        when validation has read them; read here otherwise.
    progress
        Called with a line after each stage (units, values, summaries).
    """
    study_ids, public = _design(session, df)
    df = df.with_columns(study_id=pl.col("study").replace_strict(study_ids, return_dtype=pl.Int64))
    if existing is None:
        existing = existing_units(session, study_ids)
    units = _write_units(session, df, existing)
    df = df.join(units, on=["study", "unit"], how="left")
    progress(f"units: {units['unit_is_new'].sum():,} new, {(~units['unit_is_new']).sum():,} stored")

    cols = ["unit_id", "study_id", "variable_id", "accession_id", "date", "value"]
    fresh = df.filter(pl.col("unit_is_new")).select(cols)
    seen = df.filter(~pl.col("unit_is_new")).select(cols)
    changed = pl.DataFrame()
    if seen.height:
        seen = seen.join(
            _stored_values(session, seen["unit_id"]),
            on=["unit_id", "variable_id", "date"],
            how="left",
        )
        changed = seen.filter(
            pl.col("obs_id").is_not_null() & (pl.col("old_value") != pl.col("value"))
        )
        fresh = pl.concat([fresh, seen.filter(pl.col("obs_id").is_null()).select(cols)])
    report.inserted, report.updated = fresh.height, changed.height
    report.unchanged = df.height - fresh.height - changed.height
    if fresh.height:
        fresh = fresh.sort("accession_id", "unit_id", "variable_id", "date")
        with _rebuilt_if_small(session, "observation", fresh.height):
            insert_frame(
                session,
                Observation,
                fresh.select(
                    pl.col("unit_id").alias("observation_unit_id"),
                    "variable_id",
                    "accession_id",
                    "value",
                    pl.col("value").cast(pl.Float64, strict=False).alias("numeric_value"),
                    pl.col("date").alias("observed_at"),
                    pl.lit("").alias("collector"),
                ),
            )
    progress(f"values: {report.inserted:,} new, {report.updated:,} changed, "
             f"{report.unchanged:,} unchanged")  # fmt: skip
    in_public = pl.col("study_id").is_in(sorted(public))
    recompute: list[int] = []
    if changed.height:
        _update_values(session, changed)
        recompute = changed.filter(in_public)["accession_id"].unique().to_list()
    _merge_summaries(
        session,
        fresh.filter(in_public & ~pl.col("accession_id").is_in(recompute)),
    )
    refresh_trait_summary(session, recompute)
    progress("trait summaries updated")


# The summary of stored values (trait_summary) and of new ones (excluded) combined:
# count and mean add up, min and max keep the extreme; NULL means "no number yet".
_MERGE = """
INSERT INTO trait_summary (accession_id, variable_id, n, mean, min_value, max_value)
SELECT accession_id, variable_id, n, mean, min_value, max_value FROM {stage} WHERE true
ON CONFLICT (accession_id, variable_id) DO UPDATE SET
  n = trait_summary.n + excluded.n,
  mean = CASE WHEN trait_summary.n + excluded.n = 0 THEN NULL
         ELSE (coalesce(trait_summary.mean * trait_summary.n, 0.0)
               + coalesce(excluded.mean * excluded.n, 0.0)) / (trait_summary.n + excluded.n) END,
  min_value = CASE WHEN trait_summary.min_value IS NULL OR excluded.min_value < trait_summary.min_value
              THEN excluded.min_value ELSE trait_summary.min_value END,
  max_value = CASE WHEN trait_summary.max_value IS NULL OR excluded.max_value > trait_summary.max_value
              THEN excluded.max_value ELSE trait_summary.max_value END
"""


def _merge_summaries(session: Session, fresh: pl.DataFrame) -> None:
    """Add newly inserted values (of public trials) to their accessions' trait summaries."""
    if fresh.height == 0:
        return
    num = pl.col("value").cast(pl.Float64, strict=False)
    agg = (
        fresh.group_by("accession_id", "variable_id")
        .agg(
            num.count().cast(pl.Int64).alias("n"),
            num.mean().alias("mean"),
            num.min().alias("min_value"),
            num.max().alias("max_value"),
        )
        .sort("accession_id", "variable_id")
    )
    stage = stage_frame(session, agg, "_obs_summary")
    with _rebuilt_if_small(session, "trait_summary", agg.height):
        session.connection().exec_driver_sql(_MERGE.format(stage=stage))
    drop_stage(session, stage)


# Driven by the staged accessions (observation's accession index); values of a
# unit in a restricted trial are left out by an anti-join, so the plan stays
# the same whether restricted trials are many or none.
_RECOMPUTE = """
INSERT INTO trait_summary (accession_id, variable_id, n, mean, min_value, max_value)
SELECT o.accession_id, o.variable_id, count(o.numeric_value), avg(o.numeric_value),
       min(o.numeric_value), max(o.numeric_value)
FROM {stage} a
JOIN observation o ON o.accession_id = a.accession_id
WHERE NOT EXISTS (
  SELECT 1 FROM observation_unit u
  JOIN study s ON s.id = u.study_id
  JOIN trial t ON t.id = s.trial_id
  WHERE u.id = o.observation_unit_id AND t.visibility <> 'public'
)
GROUP BY o.accession_id, o.variable_id
"""


def refresh_trait_summary(session: Session, accession_ids: list[int]) -> None:
    """Recompute n, mean, min and max per variable for these accessions.

    Only observations of public trials count: the summaries are shown to
    everyone (search filters, accession pages), and a restricted trial's
    data must not reach people outside its institute through them.

    Set-based: the ids are staged, then one ``DELETE`` and one aggregating
    ``INSERT ... SELECT`` cover them all.
    """
    if not accession_ids:
        return
    ids = pl.Series("accession_id", accession_ids, dtype=pl.Int64).unique().to_frame()
    stage = stage_frame(session, ids, "_obs_accessions")
    conn = session.connection()
    conn.exec_driver_sql(
        f"DELETE FROM trait_summary WHERE accession_id IN (SELECT accession_id FROM {stage})"
    )
    conn.exec_driver_sql(_RECOMPUTE.format(stage=stage))
    drop_stage(session, stage)
