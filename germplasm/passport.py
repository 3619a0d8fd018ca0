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

from germplasm.bulk import chunked, insert_frame
from germplasm.db import transaction
from germplasm.exceptions import Problem, ValidationError
from germplasm.mcpd import COLUMNS, DESCRIPTORS, parse_record, validate_passport
from germplasm.models import Accession, AccessionName, Institute, SpeciesRow, _now
from germplasm.names import search_key
from germplasm.reports import ImportReport
from germplasm.species import SpeciesRegistry, default_registry
from germplasm.tabular import ROW, read_table, write_table

_ATTRS = [d.attr for d in DESCRIPTORS if d.attr != "instcode"]


def read_passport(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a passport file as text columns with upper-case MCPD headers and ``__row``."""
    df = read_table(path)
    return df.rename({c: c.upper() for c in df.columns if c != ROW})


def default_puid(instcode: str, accenumb: str, genus: str) -> str:
    """MCPD's de-facto global id where no PUID is given: INSTCODE + ACCENUMB + GENUS."""
    return f"{instcode}:{accenumb}:{genus}"


def _names(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) pairs an accession is found by."""
    out = [("accenumb", rec["accenumb"])]
    out += [("name", n.strip()) for n in rec["accename"].split(";") if n.strip()]
    for other in rec["othernumb"].split(";"):
        num = other.split(":", 1)[-1].strip()
        if num:
            out.append(("othernumb", num))
    if rec["donornumb"]:
        out.append(("donornumb", rec["donornumb"]))
    if rec["collnumb"]:
        out.append(("collnumb", rec["collnumb"]))
    return list(dict.fromkeys(out))


def import_passport(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    registry: SpeciesRegistry | None = None,
    species: str | None = None,
    dry_run: bool = False,
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
        problems += _conflicting_puids(session, df)
        if problems:
            raise ValidationError(source, problems)
        report = ImportReport(source, "passport", rows=df.height, warnings=warnings)
        if dry_run:
            report.unchanged = df.height
            session.rollback()
            return report
        _write(session, df, registry, report)
    return report


def _conflicting_puids(session: Session, df: pl.DataFrame) -> list[Problem]:
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
        session.execute(select(Institute.code, Institute.id).where(Institute.code.in_(codes))).all()
    )
    for code in sorted(codes - set(have)):
        inst = Institute(code=code, country=code[:3])
        session.add(inst)
        session.flush()
        have[code] = inst.id
    return have


def _write(
    session: Session, df: pl.DataFrame, registry: SpeciesRegistry, report: ImportReport
) -> None:
    inst_ids = _institute_ids(session, set(df["INSTCODE"].unique()))
    species_ids = {
        (g.lower(), s.lower()): i
        for g, s, i in session.execute(select(SpeciesRow.genus, SpeciesRow.species, SpeciesRow.id))
    }
    existing: dict[tuple[int, str], dict[str, Any]] = {}
    cols = [getattr(Accession, a) for a in _ATTRS]
    for inst_id in inst_ids.values():
        nums = df.filter(
            pl.col("INSTCODE").is_in([c for c, i in inst_ids.items() if i == inst_id])
        )["ACCENUMB"].to_list()
        for part in chunked(nums):
            for found in session.execute(
                select(Accession.id, Accession.species_id, *cols).where(
                    Accession.institute_id == inst_id, Accession.accenumb.in_(part)
                )
            ):
                existing[(inst_id, found.accenumb)] = dict(found._mapping)

    now = _now()
    new_rows: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    touched_names: dict[tuple[int, str], dict[str, Any]] = {}
    for row in df.select(COLUMNS).iter_rows(named=True):
        rec = parse_record(row)
        inst_id = inst_ids[rec.pop("instcode")]
        rec["species_id"] = species_ids[(rec["genus"].lower(), rec["species_epithet"].lower())]
        rec["name"] = rec["accename"].split(";")[0].strip()
        prev = existing.get((inst_id, rec["accenumb"]))
        if prev is None:
            new_rows.append({**rec, "institute_id": inst_id, "created_at": now, "updated_at": now})
            touched_names[(inst_id, rec["accenumb"])] = rec
        elif any(prev[a] != rec[a] for a in _ATTRS) or prev["species_id"] != rec["species_id"]:
            changed.append({**rec, "id": prev["id"], "updated_at": now})
            touched_names[(inst_id, rec["accenumb"])] = rec
        else:
            report.unchanged += 1
    report.inserted, report.updated = len(new_rows), len(changed)

    if new_rows:
        frame = pl.DataFrame(new_rows, infer_schema_length=None).drop("name", strict=False)
        frame = frame.with_columns(name=pl.Series([r["name"] for r in new_rows], dtype=pl.String))
        insert_frame(session, Accession, frame)
    if changed:
        session.execute(update(Accession), changed)
    if not touched_names:
        return
    ids: dict[tuple[int, str], int] = {}
    by_inst: dict[int, list[str]] = {}
    for inst_id, num in touched_names:
        by_inst.setdefault(inst_id, []).append(num)
    for inst_id, nums in by_inst.items():
        for part in chunked(nums):
            for acc_id, num in session.execute(
                select(Accession.id, Accession.accenumb).where(
                    Accession.institute_id == inst_id, Accession.accenumb.in_(part)
                )
            ):
                ids[(inst_id, num)] = acc_id
    changed_ids = [c["id"] for c in changed]
    for part in chunked(changed_ids):
        session.execute(delete(AccessionName).where(AccessionName.accession_id.in_(part)))
    name_rows = [
        (ids[k], name, kind, search_key(name))
        for k, rec in touched_names.items()
        for kind, name in _names(rec)
    ]
    insert_frame(
        session,
        AccessionName,
        pl.DataFrame(name_rows, schema=["accession_id", "name", "kind", "key"], orient="row"),
    )


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
    attr_to_code = {d.attr: d.code for d in DESCRIPTORS}
    kinds = {d.attr: d.kind for d in DESCRIPTORS}
    data: dict[str, list[str]] = {}
    names = ["instcode", *_ATTRS]
    for j, attr in enumerate(names):
        values = [r[j] for r in rows]
        if kinds[attr] == "float":
            from germplasm.mcpd import format_float

            data[attr_to_code[attr]] = ["" if v is None else format_float(v) for v in values]
        else:
            data[attr_to_code[attr]] = ["" if v is None else str(v) for v in values]
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
