"""Import and export of MCPD v2.1 passport files (CSV, TSV, XLSX).

An import reads and validates the whole file first and reports every problem
with its row, column and reason; only then does it write, in one
transaction, so a file is imported whole or not at all, and records what it
did (:mod:`germplasm.audit`). Re-importing a file changes nothing; an export
re-imports to the same database. The re-import rules live in
:mod:`germplasm.passport_rules`, the set-based writer in
:mod:`germplasm.passport_write`.
"""

from __future__ import annotations

import os
import time

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from breedhub.germplasm.audit import file_sha256, finish_import, start_import
from breedhub.germplasm.bulk import chunked
from breedhub.germplasm.db import transaction
from breedhub.germplasm.exceptions import Problem, ValidationError
from breedhub.germplasm.mcpd import COLUMNS, DESCRIPTORS, mcpd_text, validate_passport
from breedhub.germplasm.models import Accession, Institute, SpeciesRow
from breedhub.germplasm.passport_write import names_frame, write_passport_frame
from breedhub.germplasm.reports import ImportReport, Progress, silent
from breedhub.germplasm.species import SpeciesRegistry, default_registry
from breedhub.germplasm.tabular import ROW, read_table, write_table

_ATTRS = [d.attr for d in DESCRIPTORS if d.attr != "instcode"]


def read_passport(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a passport file as text columns with upper-case MCPD headers and ``__row``."""
    df = read_table(path)
    return df.rename({c: c.upper() for c in df.columns if c != ROW})


def _names_frame(typed: pl.DataFrame) -> pl.DataFrame:
    """(accession_id, name, kind, key) of accessions with ``id`` and their name attributes."""
    return names_frame(typed)


def import_passport(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    registry: SpeciesRegistry | None = None,
    species: str | None = None,
    dry_run: bool = False,
    blank_clears: bool = False,
    allow_species_change: bool = False,
    allow_institute_change: bool = False,
    progress: Progress = silent,
    user_id: int | None = None,
    run_by: str | None = None,
    audit: bool = True,
) -> ImportReport:
    """Validate an MCPD passport file, then insert or update its accessions.

    Re-import rules (see :mod:`germplasm.passport_rules`): (INSTCODE,
    ACCENUMB) names an accession; only the columns the file has are written;
    an empty cell keeps the stored value unless ``blank_clears``; a change of
    species or of holding institute is refused (the whole file, with every
    such row and why) unless allowed, and then detaches the accession's
    phenotypes, samples and predictions.

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
        Validate and decide, write nothing: the report says per row what would
        happen (``rows_detail``: new, changed with old → new values, refused
        with the reason).
    blank_clears
        An empty cell clears the stored value (default: keeps it).
    allow_species_change
        Let a row change an accession's GENUS/SPECIES to another species;
        its phenotypes, samples and predictions are detached.
    allow_institute_change
        Let a row move an accession (same PUID) to another holding institute
        (and number); its phenotypes, samples and predictions are detached.
    progress
        Called with a line at each stage (read, validate, stage, write, names, audit).
    user_id, run_by
        Who runs it, for the audit record (default: the operating-system user).
    audit
        Record the import (:mod:`germplasm.audit`); ``False`` for a caller
        that records it under its own kind and source.

    Returns
    -------
    ImportReport
        With ``import_id``, the :class:`~germplasm.models_audit.DataImport`
        recording it (not for a dry run).

    Raises
    ------
    ValidationError
        With every problem found; the database is left as it was.
    """
    start = time.perf_counter()
    registry = registry or default_registry()
    source = str(path)
    progress(f"reading {source}")
    df = read_passport(path)
    progress(f"validating {df.height:,} rows")
    problems, warnings = validate_passport(df, registry)
    if any(p.row == 0 for p in problems):
        raise ValidationError(source, problems)
    present = {c for c in df.columns if c in COLUMNS}
    df = df.with_columns([pl.lit("").alias(c) for c in COLUMNS if c not in df.columns])
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
    if problems:
        raise ValidationError(source, problems)
    report = ImportReport(source, "passport", rows=df.height, warnings=warnings, dry_run=dry_run)
    options = {
        "blank_clears": blank_clears,
        "allow_species_change": allow_species_change,
        "allow_institute_change": allow_institute_change,
        "species": species,
        "columns": [c for c in COLUMNS if c in present],
    }
    with transaction(engine) as session:
        record = None
        if audit and not dry_run:
            record = start_import(
                session,
                "passport",
                source,
                sha256=file_sha256(path),
                options=options,
                user_id=user_id,
                run_by=run_by,
            )
        progress("staging and comparing with the database")
        write_passport_frame(
            session,
            df,
            registry,
            report,
            columns=present,
            blank_clears=blank_clears,
            allow_species_change=allow_species_change,
            allow_institute_change=allow_institute_change,
            dry_run=dry_run,
            import_id=record.id if record is not None else None,
            progress=progress,
        )
        if dry_run:
            session.rollback()
        elif record is not None:
            report.seconds = round(time.perf_counter() - start, 3)
            finish_import(session, record, report)
            report.import_id = record.id
            progress("committing")
    report.seconds = round(time.perf_counter() - start, 3)
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


__all__ = [
    "conflicting_puids",
    "export_passport",
    "import_passport",
    "passport_frame",
    "read_passport",
    "write_passport_frame",
]
