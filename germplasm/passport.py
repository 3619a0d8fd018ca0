"""Import and export of MCPD v2.1 passport files (CSV, TSV, XLSX).

An import reads and validates the whole file first and reports every problem
with its row, column and reason; only then does it write, in one
transaction, so a file is imported whole or not at all. Re-importing a file
changes nothing; an export re-imports to the same database.
"""

from __future__ import annotations

import os
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from breedhub.germplasm.bulk import chunked, insert_frame
from breedhub.germplasm.db import transaction
from breedhub.germplasm.exceptions import Problem, ValidationError
from breedhub.germplasm.mcpd import COLUMNS, DESCRIPTORS, mcpd_text, validate_passport
from breedhub.germplasm.models import Accession, AccessionName, Institute, SpeciesRow, _now
from breedhub.germplasm.names import search_key_expr
from breedhub.germplasm.reports import ImportReport, Progress, silent
from breedhub.germplasm.species import SpeciesRegistry, default_registry
from breedhub.germplasm.tabular import ROW, read_table, write_table

_ATTRS = [d.attr for d in DESCRIPTORS if d.attr != "instcode"]


def read_passport(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a passport file as text columns with upper-case MCPD headers and ``__row``."""
    df = read_table(path)
    return df.rename({c: c.upper() for c in df.columns if c != ROW})


def _names_frame(typed: pl.DataFrame) -> pl.DataFrame:
    """(accession_id, name, kind, key): every name an accession is found by."""

    def listed(col: str, kind: str, *, after_colon: bool = False) -> pl.DataFrame:
        part = pl.col(col).str.split(";").alias("name")
        out = typed.select("id", part).explode("name")
        if after_colon:
            out = out.with_columns(pl.col("name").str.split(":").list.last())
        return out.with_columns(pl.col("name").str.strip_chars(), kind=pl.lit(kind))

    frames = [
        typed.select("id", pl.col("accenumb").alias("name"), kind=pl.lit("accenumb")),
        listed("accename", "name"),
        listed("othernumb", "othernumb", after_colon=True),
        typed.select("id", pl.col("donornumb").alias("name"), kind=pl.lit("donornumb")),
        typed.select("id", pl.col("collnumb").alias("name"), kind=pl.lit("collnumb")),
    ]
    names = pl.concat(frames).filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
    return names.unique(subset=["id", "kind", "name"], maintain_order=True).select(
        pl.col("id").alias("accession_id"),
        "name",
        "kind",
        search_key_expr(pl.col("name")).alias("key"),
    )


_KIND_DTYPE = {"int": pl.Int64, "code": pl.Int64, "float": pl.Float64}


def _typed(df: pl.DataFrame, inst_ids: dict[str, int], species_ids: pl.DataFrame) -> pl.DataFrame:
    """MCPD text columns to Accession attributes with their types, plus foreign keys."""
    cols = []
    for d in DESCRIPTORS:
        if d.attr == "instcode":
            continue
        dtype = _KIND_DTYPE.get(d.kind)
        c = pl.col(d.code)
        cols.append((pl.when(c != "").then(c).cast(dtype) if dtype else c).alias(d.attr))
    out = df.select(
        pl.col("INSTCODE").replace_strict(inst_ids, return_dtype=pl.Int64).alias("institute_id"),
        pl.col("GENUS").str.to_lowercase().alias("_g"),
        pl.col("SPECIES").str.to_lowercase().alias("_s"),
        *cols,
        pl.col("ACCENAME")
        .str.split(";")
        .list.first()
        .str.strip_chars()
        .fill_null("")
        .alias("name"),
    )
    return out.join(species_ids, on=["_g", "_s"], how="left").drop("_g", "_s")


def import_passport(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    registry: SpeciesRegistry | None = None,
    species: str | None = None,
    dry_run: bool = False,
    progress: Progress = silent,
) -> ImportReport:
    """Validate an MCPD passport file, then insert or update its accessions.

    Parameters
    ----------
    engine
        The germplasm database.
    path
        A ``.csv``, ``.tsv`` or ``.xlsx`` file with MCPD v2.1 column codes as headers.
    registry
        Species registry (default: this installation's).
    species
        If given, every row must be of this species (registry key): a check
        for uploads that belong to one crop.
    dry_run
        Validate only; write nothing.
    progress
        Called with a line at each stage (read, validated, written).

    Returns
    -------
    ImportReport

    Raises
    ------
    ValidationError
        With every problem found; the database is left as it was.
    """
    registry = registry or default_registry()
    source = str(path)
    df = read_passport(path)
    progress(f"read {df.height:,} rows from {source}")
    problems, warnings = validate_passport(df, registry)
    if any(p.row == 0 for p in problems):
        raise ValidationError(source, problems)
    df = df.with_columns([pl.lit("").alias(c) for c in COLUMNS if c not in df.columns])
    df = df.with_columns(
        PUID=pl.when(pl.col("PUID") == "")
        .then(pl.concat_str(["INSTCODE", "ACCENUMB", "GENUS"], separator=":"))
        .otherwise(pl.col("PUID"))
    )
    if species is not None:
        sp = registry[species]
        wrong = (pl.col("GENUS").str.to_lowercase() != sp.genus.lower()) | (
            pl.col("SPECIES").str.to_lowercase() != sp.species.lower()
        )
        for r, g, s in df.filter(wrong).select(ROW, "GENUS", "SPECIES").iter_rows():
            problems.append(
                Problem(
                    r, "GENUS/SPECIES", f"{g} {s}", f"expected {sp.scientific_name} ({species})"
                )
            )

    with transaction(engine) as session:
        problems += conflicting_puids(session, df)
        if problems:
            raise ValidationError(source, problems)
        report = ImportReport(source, "passport", rows=df.height, warnings=warnings)
        if dry_run:
            report.unchanged = df.height
            session.rollback()
            return report
        progress(f"validated {df.height:,} rows; writing")
        write_passport_frame(session, df, registry, report)
    return report


def conflicting_puids(session: Session, df: pl.DataFrame) -> list[Problem]:
    """PUIDs in the file already held by a different accession in the database."""
    out = []
    rows = {
        p: (r, i, a) for r, p, i, a in df.select(ROW, "PUID", "INSTCODE", "ACCENUMB").iter_rows()
    }
    for part in chunked(list(rows)):
        found = session.execute(
            select(Accession.puid, Institute.code, Accession.accenumb)
            .join(Institute, Institute.id == Accession.institute_id)
            .where(Accession.puid.in_(part))
        ).all()
        for puid, inst, num in found:
            r, i, a = rows[puid]
            if (inst, num) != (i, a):
                out.append(Problem(r, "PUID", puid, f"already the PUID of accession {inst}:{num}"))
    return out


def _institute_ids(session: Session, codes: set[str]) -> dict[str, int]:
    have = dict(
        session.execute(select(Institute.code, Institute.id).where(Institute.code.in_(codes)))
        .tuples()
        .all()
    )
    for code in sorted(codes - set(have)):
        inst = Institute(code=code, country=code[:3])
        session.add(inst)
        session.flush()
        have[code] = inst.id
    return have


#: Up to this many rows, a write looks up its own accession numbers; above, it reads
#: the institutes' accessions whole (one scan beats thousands of IN lists).
LOOKUP_BY_NUMBER = 20_000


def _rows_of(session: Session, stmt: Any, numbers: list[str] | None) -> list[Any]:
    """``stmt``'s rows, restricted to these accession numbers when there are few of them."""
    if numbers is None or len(numbers) > LOOKUP_BY_NUMBER:
        return list(session.execute(stmt).all())
    rows: list[Any] = []
    for part in chunked(sorted(set(numbers))):
        rows += session.execute(stmt.where(Accession.accenumb.in_(part))).all()
    return rows


def _existing(
    session: Session, inst_ids: list[int], schema: dict[str, Any], numbers: list[str] | None = None
) -> pl.DataFrame:
    """The stored accessions of these institutes (only ``numbers``, when there are few),
    typed like :func:`_typed`'s output."""
    cols = [getattr(Accession, a) for a in _ATTRS]
    stmt = select(Accession.id, Accession.institute_id, Accession.species_id, *cols).where(
        Accession.institute_id.in_(inst_ids)
    )
    rows = _rows_of(session, stmt, numbers)
    full = {"id": pl.Int64, "institute_id": pl.Int64, "species_id": pl.Int64}
    full.update({a: schema[a] for a in _ATTRS})
    return pl.DataFrame(rows, schema=full, orient="row")


def write_passport_frame(
    session: Session, df: pl.DataFrame, registry: SpeciesRegistry, report: ImportReport
) -> None:
    """Insert the new and update the changed accessions of a checked MCPD table, with their names.

    ``df`` is a validated passport table (as the import's checks leave it);
    the counts go into ``report``. The caller owns the transaction.
    """
    inst_ids = _institute_ids(session, set(df["INSTCODE"].unique()))
    species_ids = pl.DataFrame(
        [
            (g.lower(), s.lower(), i)
            for g, s, i in session.execute(
                select(SpeciesRow.genus, SpeciesRow.species, SpeciesRow.id)
            )
        ],
        schema={"_g": pl.String, "_s": pl.String, "species_id": pl.Int64},
        orient="row",
    )
    typed = _typed(df, inst_ids, species_ids)
    numbers = df["ACCENUMB"].to_list()
    old = _existing(session, list(inst_ids.values()), dict(typed.schema), numbers)
    keys = ["institute_id", "accenumb"]
    compared = ["species_id", *_ATTRS]
    joined = typed.join(old, on=keys, how="left", suffix="_old")
    is_new = pl.col("id").is_null()
    differs = pl.any_horizontal(
        [~pl.col(c).eq_missing(pl.col(f"{c}_old")) for c in compared if c not in keys]
    )
    new = joined.filter(is_new).select(typed.columns)
    changed = joined.filter(~is_new & differs).select("id", *typed.columns)
    report.inserted, report.updated = new.height, changed.height
    report.unchanged = df.height - new.height - changed.height

    now = _now()
    if new.height:
        insert_frame(
            session, Accession, new.with_columns(created_at=pl.lit(now), updated_at=pl.lit(now))
        )
    if changed.height:
        session.execute(
            update(Accession),
            changed.drop("institute_id").with_columns(updated_at=pl.lit(now)).to_dicts(),
        )
    if new.height == 0 and changed.height == 0:
        return
    for part in chunked(changed["id"].to_list()):
        session.execute(delete(AccessionName).where(AccessionName.accession_id.in_(part)))
    ids = pl.DataFrame(
        _rows_of(
            session,
            select(Accession.id, Accession.institute_id, Accession.accenumb).where(
                Accession.institute_id.in_(list(inst_ids.values()))
            ),
            numbers,
        ),
        schema={"id": pl.Int64, "institute_id": pl.Int64, "accenumb": pl.String},
        orient="row",
    )
    touched = pl.concat([new, changed.drop("id")]).join(ids, on=keys, how="inner")
    insert_frame(session, AccessionName, _names_frame(touched))


def passport_frame(
    session: Session, *, species: str | None = None, institute: str | None = None
) -> pl.DataFrame:
    """The passports of the selected accessions as an MCPD table of text columns."""
    cols = [getattr(Accession, a) for a in _ATTRS]
    stmt = (
        select(Institute.code.label("instcode"), *cols)
        .join(Institute, Institute.id == Accession.institute_id)
        .order_by(Institute.code, Accession.accenumb)
    )
    if species:
        stmt = stmt.join(SpeciesRow, SpeciesRow.id == Accession.species_id).where(
            SpeciesRow.key == species
        )
    if institute:
        stmt = stmt.where(Institute.code == institute.upper())
    rows = session.execute(stmt).all()
    codes = {d.attr: (d.code, d.kind) for d in DESCRIPTORS}
    data: dict[str, list[str]] = {}
    for j, attr in enumerate(["instcode", *_ATTRS]):
        code, kind = codes[attr]
        data[code] = [mcpd_text(r[j], kind) for r in rows]
    return pl.DataFrame({c: data[c] for c in COLUMNS}, schema={c: pl.String for c in COLUMNS})


def export_passport(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    species: str | None = None,
    institute: str | None = None,
) -> int:
    """Write the passports of the selected accessions to an MCPD file; return the row count."""
    with transaction(engine) as session:
        df = passport_frame(session, species=species, institute=institute)
    write_table(df, path)
    return df.height
