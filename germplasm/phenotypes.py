"""Import and export of phenotype observations, in long or wide layout.

Long layout: one row per value, with ``variable`` and ``value`` columns.
Wide layout: one row per observation unit, one column per variable name.
Both carry the design columns (headers in any case):

========== ======== =====================================================
column     required meaning
========== ======== =====================================================
trial      yes      trial name (created if new)
study      yes      study name: one trial at one location and season
location   no       location name (created if new)
year       no       season year
season     no       season name ("wet", "spring")
instcode   yes      holding institute of the accession
accenumb   yes      accession number (the accession must exist)
unit       no       plot/plant/animal id, unique within the study
                    (default: INSTCODE:ACCENUMB:R<replicate>)
replicate  no       replicate number
block      no       block number
row, col   no       field coordinates
date       no       observation date, ISO 8601 (YYYY-MM-DD)
========== ======== =====================================================

Values are checked against their variable's scale (numeric limits or
categories); everything is validated before anything is written, and the
whole file is written in one transaction. Re-importing a file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from breedhub.germplasm.audit import file_sha256, finish_import, start_import
from breedhub.germplasm.bulk import chunked, drop_stage, read_frame, stage_frame
from breedhub.germplasm.db import transaction
from breedhub.germplasm.exceptions import Problem, ValidationError
from breedhub.germplasm.models import (
    Accession,
    Institute,
    Location,
    Observation,
    ObservationUnit,
    ObservationVariable,
    Season,
    SpeciesRow,
    Study,
    Trial,
)
from breedhub.germplasm.phenotypes_write import (
    existing_units,
    refresh_trait_summary,
    write_observations,
)
from breedhub.germplasm.reports import ImportReport, Progress, silent
from breedhub.germplasm.tabular import ROW, problems_where, read_table, write_table

__all__ = [
    "DESIGN",
    "INTS",
    "LONG_COLUMNS",
    "REQUIRED",
    "check_values",
    "export_observations",
    "import_observations",
    "read_observations",
    "refresh_trait_summary",
    "variables_frame",
]

DESIGN = ("trial", "study", "location", "year", "season", "instcode", "accenumb", "unit",
          "replicate", "block", "row", "col", "date")  # fmt: skip
REQUIRED = ("trial", "study", "instcode", "accenumb")
INTS = ("year", "replicate", "block", "row", "col")
LONG_COLUMNS = (*DESIGN, "variable", "value")


def variables_frame(session: Session) -> pl.DataFrame:
    """Every observation variable with what its values are checked against (one row each)."""
    rows = session.execute(
        select(
            ObservationVariable.name,
            ObservationVariable.id,
            ObservationVariable.data_type,
            ObservationVariable.min_value,
            ObservationVariable.max_value,
            ObservationVariable.categories,
            ObservationVariable.unit.label("var_unit"),
            SpeciesRow.key,
        ).outerjoin(SpeciesRow, SpeciesRow.id == ObservationVariable.species_id)
    ).all()
    return pl.DataFrame(
        [(n, i, t, lo, hi, [str(c["value"]) for c in (cats or [])], u, sp) for n, i, t, lo, hi, cats, u, sp in rows],
        schema={"variable": pl.String, "variable_id": pl.Int64, "data_type": pl.String,
                "min": pl.Float64, "max": pl.Float64, "cats": pl.List(pl.String),
                "var_unit": pl.String, "variable_species": pl.String},
        orient="row",
    )  # fmt: skip


def read_observations(
    path: str | os.PathLike[str], variable_names: set[str]
) -> tuple[pl.DataFrame, list[Problem]]:
    """Read a long or wide observation file into the long layout.

    Returns the long table (text columns of :data:`LONG_COLUMNS` plus
    ``__row``) and the file-level problems (missing or unknown columns).
    """
    df = read_table(path)
    df = df.rename({c: c.lower() for c in df.columns if c != ROW and c.lower() in (*LONG_COLUMNS,)})
    cols = [c for c in df.columns if c != ROW]
    problems = [Problem(0, c, "", "required column is missing") for c in REQUIRED if c not in cols]
    if "variable" in cols or "value" in cols:
        if not {"variable", "value"} <= set(cols):
            problems.append(
                Problem(
                    0, "variable/value", "", "the long layout needs both 'variable' and 'value'"
                )
            )
        extra = [c for c in cols if c not in LONG_COLUMNS]
        problems += [Problem(0, c, "", "unknown column in the long layout") for c in extra]
        long = df
    else:
        var_cols = [c for c in cols if c not in DESIGN]
        problems += [
            Problem(0, c, "", "not a design column nor a known observation variable")
            for c in var_cols
            if c not in variable_names
        ]
        if not var_cols:
            problems.append(
                Problem(
                    0, "", "", "no variable columns (wide layout) nor variable/value (long layout)"
                )
            )
        long = df.unpivot(
            index=[ROW, *[c for c in cols if c in DESIGN]],
            on=var_cols,
            variable_name="variable",
            value_name="value",
        )
        long = long.filter(pl.col("value") != "")
    long = long.with_columns([pl.lit("").alias(c) for c in LONG_COLUMNS if c not in long.columns])
    return long.select(ROW, *LONG_COLUMNS), problems


def check_values(df: pl.DataFrame) -> list[Problem]:
    """Every problem of observation rows joined with :func:`variables_frame` (scales, ranges)."""
    out: list[Problem] = []
    for c in REQUIRED + ("variable",):
        out += problems_where(df, c, pl.col(c) == "", "required value is empty")
    for c in INTS:
        out += problems_where(
            df,
            c,
            (pl.col(c) != "") & pl.col(c).cast(pl.Int64, strict=False).is_null(),
            "not a whole number",
        )
    date = pl.col("date").str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    out += problems_where(
        df, "date", (pl.col("date") != "") & date.is_null(), "not a date YYYY-MM-DD"
    )
    out += problems_where(
        df, "date", (pl.col("date") != "") & (date > dt.date.today()), "date is in the future"
    )
    known = df.filter(pl.col("variable_id").is_not_null())
    out += problems_where(
        df,
        "variable",
        (pl.col("variable") != "") & pl.col("variable_id").is_null(),
        "unknown observation variable",
    )
    num = pl.col("value").cast(pl.Float64, strict=False)
    numerical = pl.col("data_type") == "numerical"
    out += problems_where(known, "value", numerical & (pl.col("value") == ""), "value is empty")
    out += problems_where(
        known, "value", numerical & (pl.col("value") != "") & num.is_null(), "not a number"
    )
    out += problems_where(
        known,
        "value",
        numerical & num.is_not_null() & ~num.is_finite(),
        "not a finite number (nan and inf are no measurement)",
    )
    bad_scale = (
        numerical
        & num.is_not_null()
        & (
            (pl.col("min").is_not_null() & (num < pl.col("min")))
            | (pl.col("max").is_not_null() & (num > pl.col("max")))
        )
    )
    for r, v, var, lo, hi, unit in (
        known.filter(bad_scale)
        .select(ROW, "value", "variable", "min", "max", "var_unit")
        .iter_rows()
    ):
        out.append(
            Problem(r, "value", v, f"outside the scale of {var}: [{lo:g}, {hi:g}] {unit}".rstrip())
        )
    cat_rows = known.filter(~numerical)
    for r, v, var, cats in cat_rows.select(ROW, "value", "variable", "cats").iter_rows():
        if v not in cats:
            out.append(Problem(r, "value", v, f"not a category of {var}: {', '.join(cats)}"))
    return out


def import_observations(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: Progress = silent,
) -> ImportReport:
    """Validate an observation file (long or wide), then write its trials, units and values.

    ``progress`` is called with a line at each stage (read, validated, written).
    A real import (not ``dry_run``) is recorded in the audit trail
    (:class:`~germplasm.models_audit.DataImport` of kind ``observations``, with
    the file's sha256 and the counts) in its own transaction.

    Raises
    ------
    ValidationError
        With every problem: unknown accession or variable, a value outside its
        variable's scale or categories, a bad number or date, a unit given two
        accessions, a duplicated observation, a trial mixing species, a study
        that belongs to another trial. Nothing is written then.
    """
    source = str(path)
    started = time.perf_counter()
    with transaction(engine) as session:
        df, existing = _validated(session, path, progress)
        report = ImportReport(source, "observation", rows=df.height)
        report.dry_run = dry_run
        progress(f"validated {df.height:,} observations; writing")
        record = None
        if not dry_run:
            record = start_import(session, "observations", source, sha256=file_sha256(path))
        write_observations(session, df, report, existing=existing, progress=progress)
        report.seconds = round(time.perf_counter() - started, 3)
        if record is not None:
            finish_import(session, record, report)
            report.import_id = record.id
        else:
            session.rollback()
    return report


def _validated(
    session: Session, path: str | os.PathLike[str], progress: Progress
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and check a whole file; return its rows and the stored units of its studies.

    Raises
    ------
    ValidationError
        With every problem of the file.
    """
    source = str(path)
    variables = variables_frame(session)
    df, problems = read_observations(path, set(variables["variable"].to_list()))
    progress(f"read {df.height:,} observations from {source}")
    if problems:
        raise ValidationError(source, problems)
    replicate = pl.when(pl.col("replicate") != "").then(pl.col("replicate")).otherwise(pl.lit("1"))
    df = df.with_columns(pl.col("instcode").str.to_uppercase()).with_columns(
        unit=pl.when(pl.col("unit") != "")
        .then(pl.col("unit"))
        .otherwise(
            pl.concat_str([pl.col("instcode"), pl.col("accenumb"), "R" + replicate], separator=":")
        )
    )
    df = df.join(variables, on="variable", how="left")
    df = df.join(_accessions(session, df), on=["instcode", "accenumb"], how="left")
    problems += check_values(df)
    problems += problems_where(
        df,
        "accenumb",
        (pl.col("accenumb") != "") & pl.col("accession_id").is_null(),
        "no such accession in this institute (import its passport first)",
    )
    wrong_sp = (
        pl.col("variable_species").is_not_null()
        & pl.col("species").is_not_null()
        & (pl.col("variable_species") != pl.col("species"))
    )
    for r, var, vs, sp in (
        df.filter(wrong_sp).select(ROW, "variable", "variable_species", "species").iter_rows()
    ):
        problems.append(Problem(r, "variable", var, f"a {vs} variable, but the accession is {sp}"))
    existing = _stored_units(session, df)
    problems += _design_problems(session, df, existing)
    if problems:
        raise ValidationError(source, problems)
    return df, existing


def _accessions(session: Session, df: pl.DataFrame) -> pl.DataFrame:
    """instcode, accenumb -> accession_id, species of the file's accessions (one join)."""
    pairs = df.select("instcode", "accenumb").unique()
    stage = stage_frame(session, pairs, "_obs_accession_keys")
    try:
        return read_frame(
            session,
            "SELECT k.instcode, k.accenumb, a.id, sp.key FROM "
            f"{stage} k JOIN institute i ON i.code = k.instcode "
            "JOIN accession a ON a.institute_id = i.id AND a.accenumb = k.accenumb "
            "JOIN species sp ON sp.id = a.species_id",
            {"instcode": pl.String, "accenumb": pl.String, "accession_id": pl.Int64,
             "species": pl.String},
        )  # fmt: skip
    finally:
        drop_stage(session, stage)


def _stored_units(session: Session, df: pl.DataFrame) -> pl.DataFrame:
    """The units already stored in the file's studies (see :func:`existing_units`)."""
    names = df["study"].unique().to_list()
    ids: dict[str, int] = {}
    for part in chunked(names):
        ids.update(
            session.execute(select(Study.name, Study.id).where(Study.name.in_(part))).tuples().all()
        )
    return existing_units(session, ids)


def _first_rows(df: pl.DataFrame, keys: list[str], col: str, reason: str) -> list[Problem]:
    dup = df.filter(pl.struct(keys).is_duplicated())
    if dup.height == 0:
        return []
    first = dup.group_by(keys).agg(pl.col(ROW).min().alias("_first"))
    dup = dup.join(first, on=keys).filter(pl.col(ROW) != pl.col("_first"))
    return [
        Problem(r, col, str(v), f"{reason} (first in row {f})")
        for r, v, f in dup.select(ROW, col, "_first").iter_rows()
    ]


def _design_problems(session: Session, df: pl.DataFrame, existing: pl.DataFrame) -> list[Problem]:
    out: list[Problem] = []
    out += _first_rows(
        df, ["study", "unit", "variable", "date"], "variable", "observation given twice"
    )
    units = df.select(ROW, "study", "unit", "accession_id", "instcode", "accenumb").filter(
        pl.col("accession_id").is_not_null()
    )
    per_unit = units.group_by("study", "unit").agg(
        pl.col("accession_id").n_unique().alias("n"), pl.col(ROW).min().alias("_first")
    )
    for s, u, f in per_unit.filter(pl.col("n") > 1).select("study", "unit", "_first").iter_rows():
        rows = units.filter((pl.col("study") == s) & (pl.col("unit") == u))
        first_acc = rows.row(0, named=True)
        for r in rows.filter(pl.col("accession_id") != first_acc["accession_id"])[ROW].to_list():
            out.append(
                Problem(
                    r,
                    "unit",
                    u,
                    f"unit already names accession {first_acc['instcode']}:{first_acc['accenumb']} (row {f})",
                )
            )
    # One species per trial and one trial per study, agreeing with the database.
    trial_species = dict(
        session.execute(
            select(Trial.name, SpeciesRow.key).join(SpeciesRow, SpeciesRow.id == Trial.species_id)
        )
        .tuples()
        .all()
    )
    study_trial = dict(
        session.execute(select(Study.name, Trial.name).join(Trial, Trial.id == Study.trial_id))
        .tuples()
        .all()
    )
    out += _one_value_per_key(
        df.filter(pl.col("species").is_not_null()), "trial", "species", trial_species
    )
    out += _one_value_per_key(df, "study", "trial", study_trial)
    # Units that already exist with another accession.
    clash = units.join(existing, on=["study", "unit"], how="inner").filter(
        pl.col("accession_id") != pl.col("existing_accession_id")
    )
    for r, u in clash.select(ROW, "unit").unique(subset=["unit"]).iter_rows():
        out.append(Problem(r, "unit", u, "unit exists in this study with another accession"))
    return out


def _one_value_per_key(
    df: pl.DataFrame, key: str, value: str, stored: dict[str, str]
) -> list[Problem]:
    """Each ``key`` (a trial) must have one ``value`` (a species), the one already stored."""
    groups = df.group_by(key).agg(pl.col(value).unique().sort(), pl.col(ROW).min().alias("_first"))
    out = []
    for k, values, first in groups.iter_rows():
        if len(values) > 1:
            reason = (
                f"{key} {k!r} mixes {value} values ({', '.join(values)}): one {value} per {key}"
            )
        elif k in stored and stored[k] != values[0]:
            reason = f"{key} {k!r} is stored with {value} {stored[k]!r}, not {values[0]!r}"
        else:
            continue
        out.append(Problem(first, key, k, reason))
    return out


def export_observations(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    trial: str | None = None,
    species: str | None = None,
) -> int:
    """Write observations in the long layout; re-importing the file changes nothing."""
    stmt = (
        select(
            Trial.name,
            Study.name,
            Location.name,
            Season.year,
            Season.name,
            Institute.code,
            Accession.accenumb,
            ObservationUnit.name,
            ObservationUnit.replicate,
            ObservationUnit.block,
            ObservationUnit.row,
            ObservationUnit.col,
            Observation.observed_at,
            ObservationVariable.name,
            Observation.value,
        )
        .select_from(Observation)
        .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .outerjoin(Location, Location.id == Study.location_id)
        .outerjoin(Season, Season.id == Study.season_id)
        .join(Accession, Accession.id == Observation.accession_id)
        .join(Institute, Institute.id == Accession.institute_id)
        .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
        .order_by(
            Trial.name,
            Study.name,
            ObservationUnit.name,
            ObservationVariable.name,
            Observation.observed_at,
        )
    )
    if trial:
        stmt = stmt.where(Trial.name == trial)
    if species:
        stmt = stmt.join(SpeciesRow, SpeciesRow.id == Trial.species_id).where(
            SpeciesRow.key == species
        )
    with transaction(engine) as session:
        rows = session.execute(stmt).all()
    cols = [
        "trial",
        "study",
        "location",
        "year",
        "season",
        "instcode",
        "accenumb",
        "unit",
        "replicate",
        "block",
        "row",
        "col",
        "date",
        "variable",
        "value",
    ]
    df = pl.DataFrame(
        [["" if v is None else str(v) for v in r] for r in rows],
        schema={c: pl.String for c in cols},
        orient="row",
    )
    write_table(df, path)
    return df.height
