"""Import and export of pedigrees: each accession's parents, cross type and generation.

File columns (headers in any case): ``INSTCODE``, ``ACCENUMB`` (the
accession), ``FEMALE_PARENT``, ``MALE_PARENT`` (a parent's ACCENUMB in the
same institute, or ``INSTCODE:ACCENUMB``; blank when unknown), and optional
``CROSS_TYPE`` (BrAPI's list), ``GENERATION`` (``F6``, ``BC1F4``),
``CROSS_YEAR`` and ``PEDIGREE`` (the pedigree string, ``A/B//C``).

Every accession and parent must already exist (import passports first). A
parent that makes an accession its own ancestor is rejected, whether the loop
lies in the file or closes through pedigrees already in the database.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from breedhub.germplasm.audit import file_sha256, finish_import, start_import
from breedhub.germplasm.bulk import chunked
from breedhub.germplasm.db import transaction
from breedhub.germplasm.exceptions import Problem, ValidationError
from breedhub.germplasm.models import CROSS_TYPES, Accession, Institute, Pedigree, SpeciesRow
from breedhub.germplasm.reports import ImportReport
from breedhub.germplasm.tabular import ROW, problems_where, read_table, write_table

COLUMNS = ("INSTCODE", "ACCENUMB", "FEMALE_PARENT", "MALE_PARENT", "CROSS_TYPE", "GENERATION",
           "CROSS_YEAR", "PEDIGREE")  # fmt: skip
REQUIRED = ("INSTCODE", "ACCENUMB")


def _accession_ids(session: Session, refs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    by_inst: dict[str, list[str]] = {}
    for inst, num in refs:
        by_inst.setdefault(inst, []).append(num)
    for inst, nums in by_inst.items():
        for part in chunked(nums):
            rows = session.execute(
                select(Accession.accenumb, Accession.id)
                .join(Institute, Institute.id == Accession.institute_id)
                .where(Institute.code == inst, Accession.accenumb.in_(part))
            )
            out.update({(inst, n): i for n, i in rows})
    return out


def _parent_ref(value: str, instcode: str) -> tuple[str, str] | None:
    if not value:
        return None
    if ":" in value:
        inst, num = value.split(":", 1)
        return inst.strip().upper(), num.strip()
    return instcode, value


def _find_loops(edges: dict[int, tuple[int | None, int | None]], start: list[int]) -> set[int]:
    """Accessions among ``start`` that are their own ancestors."""
    looped: set[int] = set()
    state: dict[int, int] = {}  # 1: on the current path, 2: done and loop-free
    for root in start:
        if state.get(root) == 2:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        path: list[int] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                if state.get(node) == 1:
                    looped.update(path[path.index(node) :])
                    continue
                if state.get(node) == 2:
                    continue
                state[node] = 1
                path.append(node)
            parents = [p for p in edges.get(node, (None, None)) if p is not None]
            if i < len(parents):
                stack.append((node, i + 1))
                stack.append((parents[i], 0))
            else:
                state[node] = 2
                path.pop()
    return looped & set(start)


def _table_problems(df: pl.DataFrame) -> list[Problem]:
    """Problems seen in the file alone: empty required values, unknown cross types,
    impossible years and accessions listed twice."""
    problems: list[Problem] = []
    for c in REQUIRED:
        problems += problems_where(df, c, pl.col(c) == "", "required value is empty")
    problems += problems_where(
        df,
        "CROSS_TYPE",
        (pl.col("CROSS_TYPE") != "") & ~pl.col("CROSS_TYPE").is_in(CROSS_TYPES),
        f"unknown cross type; use one of {', '.join(CROSS_TYPES)}",
    )
    year = pl.col("CROSS_YEAR").cast(pl.Int64, strict=False)
    problems += problems_where(
        df,
        "CROSS_YEAR",
        (pl.col("CROSS_YEAR") != "")
        & (year.is_null() | (year < 1700) | (year > dt.date.today().year)),
        f"not a year between 1700 and {dt.date.today().year}",
    )
    key = pl.concat_str(["INSTCODE", "ACCENUMB"], separator=":")
    dup = df.with_columns(_k=key).filter(pl.col("_k").is_duplicated() & (pl.col("ACCENUMB") != ""))
    seen: dict[str, int] = {}
    for r, k in dup.select(ROW, "_k").iter_rows():
        if k in seen:
            problems.append(
                Problem(r, "ACCENUMB", k, f"accession listed twice (first in row {seen[k]})")
            )
        else:
            seen[k] = r
    return problems


def _reference_problems(
    parsed: list[dict[str, Any]], ids: dict[tuple[str, str], int], problems: list[Problem]
) -> tuple[dict[int, tuple[int | None, int | None]], dict[int, int]]:
    """Append to ``problems`` the rows naming an unknown accession or parent, or an
    accession as its own parent; return the new {child: (female, male)} edges and
    each child's row."""
    new_edges: dict[int, tuple[int | None, int | None]] = {}
    child_row: dict[int, int] = {}
    for p in parsed:
        r = p[ROW]
        if p["ACCENUMB"] and p["child"] not in ids:
            problems.append(
                Problem(
                    r,
                    "ACCENUMB",
                    ":".join(p["child"]),
                    "no such accession (import its passport first)",
                )
            )
        for col, ref in (("FEMALE_PARENT", p["fem"]), ("MALE_PARENT", p["mal"])):
            if ref is not None and ref not in ids:
                problems.append(Problem(r, col, ":".join(ref), "parent does not exist"))
            elif ref is not None and ref == p["child"]:
                problems.append(
                    Problem(r, col, ":".join(ref), "an accession cannot be its own parent")
                )
        if p["child"] in ids:
            cid = ids[p["child"]]
            new_edges[cid] = (
                ids.get(p["fem"]) if p["fem"] else None,
                ids.get(p["mal"]) if p["mal"] else None,
            )
            child_row[cid] = r
    return new_edges, child_row


def _write_pedigrees(
    session: Session,
    parsed: list[dict[str, Any]],
    ids: dict[tuple[str, str], int],
    new_edges: dict[int, tuple[int | None, int | None]],
    report: ImportReport,
) -> None:
    """Insert or update the pedigree of each row, counting them in ``report``."""
    existing = {
        p.accession_id: p
        for part in chunked(list(new_edges))
        for p in session.scalars(select(Pedigree).where(Pedigree.accession_id.in_(part)))
    }
    for p in parsed:
        cid = ids[p["child"]]
        values = {
            "female_parent_id": new_edges[cid][0],
            "male_parent_id": new_edges[cid][1],
            "cross_type": p["CROSS_TYPE"] or "UNKNOWN",
            "generation": p["GENERATION"],
            "cross_year": int(p["CROSS_YEAR"]) if p["CROSS_YEAR"] else None,
            "pedigree_string": p["PEDIGREE"],
        }
        old = existing.get(cid)
        if old is None:
            session.add(Pedigree(accession_id=cid, **values))
            report.inserted += 1
        elif any(getattr(old, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(old, k, v)
            report.updated += 1
        else:
            report.unchanged += 1


def import_pedigree(
    engine: Engine, path: str | os.PathLike[str], *, dry_run: bool = False, record: bool = True
) -> ImportReport:
    """Validate a pedigree file, then set the parents of its accessions.

    Unless it is a dry run, the import is recorded in the audit trail (a
    ``pedigree`` :class:`~germplasm.models_audit.DataImport`: the file's
    sha256 and the counts) in its own transaction; ``record=False`` is for a
    caller that records the whole operation itself (a BrAPI import).

    Raises
    ------
    ValidationError
        With every problem (unknown accession or parent, own parent, loop,
        bad cross type or year, duplicate row); nothing is written.
    """
    source = str(path)
    df = read_table(path)
    df = df.rename({c: c.upper() for c in df.columns if c != ROW})
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValidationError(
            source, [Problem(0, c, "", "required column is missing") for c in missing]
        )
    df = df.with_columns([pl.lit("").alias(c) for c in COLUMNS if c not in df.columns])
    df = df.with_columns(
        pl.col("INSTCODE").str.to_uppercase(), pl.col("CROSS_TYPE").str.to_uppercase()
    )
    problems = _table_problems(df)

    rows = df.select(ROW, *COLUMNS).iter_rows(named=True)
    parsed: list[dict[str, Any]] = []
    refs: set[tuple[str, str]] = set()
    for row in rows:
        child = (row["INSTCODE"], row["ACCENUMB"])
        fem = _parent_ref(row["FEMALE_PARENT"], row["INSTCODE"])
        mal = _parent_ref(row["MALE_PARENT"], row["INSTCODE"])
        refs.update(x for x in (child, fem, mal) if x)
        parsed.append({**row, "child": child, "fem": fem, "mal": mal})

    with transaction(engine) as session:
        ids = _accession_ids(session, refs)
        new_edges, child_row = _reference_problems(parsed, ids, problems)

        if not problems:
            edges = {
                a: (f, m)
                for a, f, m in session.execute(
                    select(
                        Pedigree.accession_id, Pedigree.female_parent_id, Pedigree.male_parent_id
                    )
                )
            }
            edges.update(new_edges)
            for cid in sorted(_find_loops(edges, list(new_edges)), key=lambda c: child_row[c]):
                problems.append(
                    Problem(
                        child_row[cid],
                        "ACCENUMB",
                        "",
                        "pedigree loop: this accession would be its own ancestor",
                    )
                )
        if problems:
            raise ValidationError(source, problems)

        report = ImportReport(source, "pedigree", rows=len(parsed))
        _write_pedigrees(session, parsed, ids, new_edges, report)
        if dry_run:
            session.rollback()
        elif record:
            audit = start_import(session, "pedigree", source, sha256=file_sha256(path))
            finish_import(session, audit, report)
    return report


def export_pedigree(
    engine: Engine, path: str | os.PathLike[str], *, species: str | None = None
) -> int:
    """Write the pedigrees of the selected accessions; parents as ``INSTCODE:ACCENUMB``."""
    child, fem, mal = aliased(Accession), aliased(Accession), aliased(Accession)
    ci, fi, mi = aliased(Institute), aliased(Institute), aliased(Institute)
    stmt = (
        select(
            ci.code,
            child.accenumb,
            fi.code,
            fem.accenumb,
            mi.code,
            mal.accenumb,
            Pedigree.cross_type,
            Pedigree.generation,
            Pedigree.cross_year,
            Pedigree.pedigree_string,
        )
        .join(child, child.id == Pedigree.accession_id)
        .join(ci, ci.id == child.institute_id)
        .outerjoin(fem, fem.id == Pedigree.female_parent_id)
        .outerjoin(fi, fi.id == fem.institute_id)
        .outerjoin(mal, mal.id == Pedigree.male_parent_id)
        .outerjoin(mi, mi.id == mal.institute_id)
        .order_by(ci.code, child.accenumb)
    )
    if species:
        stmt = stmt.join(SpeciesRow, SpeciesRow.id == child.species_id).where(
            SpeciesRow.key == species
        )
    with transaction(engine) as session:
        rows = session.execute(stmt).all()
    out = [
        (
            inst,
            num,
            f"{fc}:{fn}" if fn else "",
            f"{mc}:{mn}" if mn else "",
            ct,
            gen,
            "" if yr is None else str(yr),
            ped,
        )
        for inst, num, fc, fn, mc, mn, ct, gen, yr, ped in rows
    ]
    write_table(pl.DataFrame(out, schema={c: pl.String for c in COLUMNS}, orient="row"), path)
    return len(out)
