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
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from breedhub.germplasm.bulk import chunked, insert_frame
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
    TraitSummary,
    Trial,
)
from breedhub.germplasm.reports import ImportReport, Progress, silent
from breedhub.germplasm.tabular import ROW, problems_where, read_table, write_table

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

    Raises
    ------
    ValidationError
        With every problem: unknown accession or variable, a value outside its
        variable's scale or categories, a bad number or date, a unit given two
        accessions, a duplicated observation, a trial mixing species, a study
        that belongs to another trial. Nothing is written then.
    """
    source = str(path)
    with transaction(engine) as session:
        variables = variables_frame(session)
        df, problems = read_observations(path, set(variables["variable"].to_list()))
        progress(f"read {df.height:,} observations from {source}")
        if problems:
            raise ValidationError(source, problems)
        df = df.with_columns(pl.col("instcode").str.to_uppercase())
        df = df.with_columns(
            unit=pl.when(pl.col("unit") != "")
            .then(pl.col("unit"))
            .otherwise(
                pl.concat_str(
                    [
                        pl.col("instcode"),
                        pl.col("accenumb"),
                        pl.concat_str(
                            [
                                pl.lit("R"),
                                pl.when(pl.col("replicate") != "")
                                .then(pl.col("replicate"))
                                .otherwise(pl.lit("1")),
                            ]
                        ),
                    ],
                    separator=":",
                )
            )
        )
        df = df.join(variables, on="variable", how="left")
        accessions = _accessions(session, df)
        df = df.join(accessions, on=["instcode", "accenumb"], how="left")
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
            problems.append(
                Problem(r, "variable", var, f"a {vs} variable, but the accession is {sp}")
            )
        problems += _design_problems(session, df)
        if problems:
            raise ValidationError(source, problems)
        report = ImportReport(source, "observation", rows=df.height)
        progress(f"validated {df.height:,} observations; writing")
        _write(session, df, report)
        if dry_run:
            session.rollback()
    return report


def _accessions(session: Session, df: pl.DataFrame) -> pl.DataFrame:
    pairs = df.select("instcode", "accenumb").unique()
    found: list[tuple[str, str, int, str]] = []
    for inst in pairs["instcode"].unique().to_list():
        nums = pairs.filter(pl.col("instcode") == inst)["accenumb"].to_list()
        for part in chunked(nums):
            found += (
                session.execute(
                    select(Institute.code, Accession.accenumb, Accession.id, SpeciesRow.key)
                    .join(Institute, Institute.id == Accession.institute_id)
                    .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
                    .where(Institute.code == inst, Accession.accenumb.in_(part))
                )
                .tuples()
                .all()
            )
    return pl.DataFrame(
        found,
        schema={
            "instcode": pl.String,
            "accenumb": pl.String,
            "accession_id": pl.Int64,
            "species": pl.String,
        },
        orient="row",
    )


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


def _design_problems(session: Session, df: pl.DataFrame) -> list[Problem]:
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
    existing = _existing_units(session, df["study"].unique().to_list())
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


def _existing_units(session: Session, study_names: list[str]) -> pl.DataFrame:
    rows: list[Any] = []
    for part in chunked(study_names):
        rows += session.execute(
            select(
                Study.name, ObservationUnit.name, ObservationUnit.id, ObservationUnit.accession_id
            )
            .join(Study, Study.id == ObservationUnit.study_id)
            .where(Study.name.in_(part))
        ).all()
    return pl.DataFrame(
        rows,
        schema={
            "study": pl.String,
            "unit": pl.String,
            "unit_id": pl.Int64,
            "existing_accession_id": pl.Int64,
        },
        orient="row",
    )


def _get_or_create(
    session: Session, model: Any, lookup: dict[str, Any], values: dict[str, Any]
) -> int:
    obj = session.scalars(select(model).filter_by(**lookup)).first()
    if obj is None:
        obj = model(**lookup, **values)
        session.add(obj)
        session.flush()
    return int(obj.id)


def _write(session: Session, df: pl.DataFrame, report: ImportReport) -> None:
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
    df = df.with_columns(study_id=pl.col("study").replace_strict(study_ids, return_dtype=pl.Int64))

    existing = _existing_units(session, list(study_ids))
    units = df.group_by("study", "unit").agg(
        pl.col("study_id", "accession_id", "replicate", "block", "row", "col").first()
    )
    new_units = units.join(existing, on=["study", "unit"], how="anti")
    if new_units.height:

        def to_int(c: str) -> pl.Expr:
            return pl.col(c).cast(pl.Int64, strict=False)

        insert_frame(
            session,
            ObservationUnit,
            new_units.select(
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
        existing = _existing_units(session, list(study_ids))
    df = df.join(existing.select("study", "unit", "unit_id"), on=["study", "unit"], how="left")

    unit_ids = df["unit_id"].unique().to_list()
    old: list[Any] = []
    for part in chunked(unit_ids):
        old += session.execute(
            select(
                Observation.observation_unit_id,
                Observation.variable_id,
                Observation.observed_at,
                Observation.id,
                Observation.value,
            ).where(Observation.observation_unit_id.in_(part))
        ).all()
    old_df = pl.DataFrame(
        old,
        schema={
            "unit_id": pl.Int64,
            "variable_id": pl.Int64,
            "date": pl.String,
            "obs_id": pl.Int64,
            "old_value": pl.String,
        },
        orient="row",
    )
    df = df.join(old_df, on=["unit_id", "variable_id", "date"], how="left")
    new = df.filter(pl.col("obs_id").is_null())
    changed = df.filter(pl.col("obs_id").is_not_null() & (pl.col("old_value") != pl.col("value")))
    report.inserted, report.updated = new.height, changed.height
    report.unchanged = df.height - new.height - changed.height
    if new.height:
        insert_frame(
            session,
            Observation,
            new.select(
                pl.col("unit_id").alias("observation_unit_id"),
                "variable_id",
                "accession_id",
                "value",
                pl.col("value").cast(pl.Float64, strict=False).alias("numeric_value"),
                pl.col("date").alias("observed_at"),
                pl.lit("").alias("collector"),
            ),
        )
    if changed.height:
        session.execute(
            update(Observation),
            changed.select(
                pl.col("obs_id").alias("id"),
                "value",
                pl.col("value").cast(pl.Float64, strict=False).alias("numeric_value"),
            ).to_dicts(),
        )
    touched = (
        (pl.concat([new, changed]) if changed.height else new)["accession_id"].unique().to_list()
    )
    refresh_trait_summary(session, touched)


def refresh_trait_summary(session: Session, accession_ids: list[int]) -> None:
    """Recompute n, mean, min and max per variable for these accessions.

    Only observations of public trials count: the summaries are shown to
    everyone (search filters, accession pages), and a restricted trial's
    data must not reach people outside its institute through them.
    """
    for part in chunked(accession_ids, 5000):
        session.execute(delete(TraitSummary).where(TraitSummary.accession_id.in_(part)))
        agg = (
            select(
                Observation.accession_id,
                Observation.variable_id,
                func.count(Observation.numeric_value),
                func.avg(Observation.numeric_value),
                func.min(Observation.numeric_value),
                func.max(Observation.numeric_value),
            )
            .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
            .join(Study, Study.id == ObservationUnit.study_id)
            .join(Trial, Trial.id == Study.trial_id)
            .where(Observation.accession_id.in_(part), Trial.visibility == "public")
            .group_by(Observation.accession_id, Observation.variable_id)
        )
        session.execute(
            insert(TraitSummary).from_select(
                ["accession_id", "variable_id", "n", "mean", "min_value", "max_value"], agg
            )
        )


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
