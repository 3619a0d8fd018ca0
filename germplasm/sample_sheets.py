"""Sample sheets of upload batches: reading one (CSV, TSV, XLSX) and checking it, row by row.

A batch's sample sheet has one row per file::

    file, sha256, sample, accession, species, library, platform, read

``file`` is the file's name (relative to the folder the client uploads),
``sha256`` its checksum (64 hex digits), ``sample`` the DNA sample it was
sequenced from, ``accession`` the accession the sample came from
(``INSTCODE:ACCENUMB``, or ``ACCENUMB`` of the batch's institute),
``species`` a key of the species registry (``rice``), ``library`` and
``platform`` the read group's LB and PL (default: the sample, ILLUMINA),
``read`` 1 or 2 for the two files of a read pair, empty for single-end
FASTQ, BAM, CRAM and VCF files.

A row may create a **new accession**: it gives the accession's MCPD
columns, headed by their upper-case codes (``ACCENUMB``, ``ACCENAME``,
``GENUS``, ``SPECIES``, ``SAMPSTAT``...; ``INSTCODE`` defaults to the batch's
institute, ``GENUS``/``SPECIES`` to the registry's for ``species``); they
are validated as the passport import does (:func:`germplasm.mcpd.validate_passport`).
Lower-case ``species`` is the registry key, upper-case ``SPECIES`` the MCPD
epithet.

Every problem carries its row as a spreadsheet shows it (the header is row
1, the first file row 2) and its column; checks gather them all instead of
stopping at the first. Three levels:

- :func:`check_sheet_rows`: the sheet alone (columns, values, duplicates,
  a missing mate);
- :func:`check_sheet_locally`: plus the files in a folder (present, sha256),
  what ``breedhub upload`` runs before sending anything;
- :func:`check_sheet`: plus the database (accessions, species, samples,
  files already registered, new accessions' MCPD), what the server runs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from breedhub.germplasm.exceptions import ValidationError
from breedhub.germplasm.mcpd import COLUMNS as MCPD_COLUMNS
from breedhub.germplasm.mcpd import validate_passport
from breedhub.germplasm.models import DataFile, Institute, Sample, SpeciesRow
from breedhub.germplasm.queries import accession_species_by_ref
from breedhub.germplasm.species import SpeciesRegistry, default_registry
from breedhub.germplasm.tabular import ROW, read_table

__all__ = [
    "PLATFORMS",
    "SHEET_COLUMNS",
    "SampleSheet",
    "SheetProblem",
    "check_sheet",
    "check_sheet_locally",
    "check_sheet_rows",
    "file_format",
    "read_sheet",
    "sha256_of",
]

#: The sheet's own columns (lower case); MCPD columns are upper case.
SHEET_COLUMNS = ("file", "sha256", "sample", "accession", "species", "library", "platform", "read")
REQUIRED = ("file", "sha256", "sample", "accession", "species")
_ALIASES = {"filename": "file", "file_name": "file", "read_number": "read"}
#: Read-group platforms (as the variants workflow's sample sheet).
PLATFORMS = ("ILLUMINA", "BGI", "DNBSEQ", "ONT", "PACBIO", "ELEMENT", "ULTIMA")
#: File name endings -> format, longest first.
FORMATS = (
    (".fastq.gz", "fastq.gz"), (".fq.gz", "fastq.gz"), (".fastq", "fastq"), (".fq", "fastq"),
    (".bam", "bam"), (".cram", "cram"), (".vcf.gz", "vcf.gz"), (".vcf", "vcf"), (".bcf", "bcf"),
)  # fmt: skip
_SHA = re.compile(r"^[0-9a-f]{64}$")
_SAMPLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_HEADER_ROW = 1  # a spreadsheet's row of the header


@dataclass(frozen=True)
class SheetProblem:
    """One problem of a sample sheet.

    Attributes
    ----------
    row
        The row as a spreadsheet numbers it (header 1, first file 2); None
        for the sheet as a whole.
    column
        The column at fault ("" for the whole row).
    message
        What is wrong and how to fix it.
    value
        The offending value as read.
    """

    row: int | None
    column: str
    message: str
    value: str = ""

    def to_dict(self) -> dict[str, Any]:
        """``{"row", "column", "message", "value"}`` (what the API answers)."""
        return asdict(self)

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "sheet"
        col = f", column {self.column}" if self.column else ""
        return f"{where}{col}: {self.message}"


@dataclass
class SampleSheet:
    """A sample sheet as read: its columns, rows and layout problems.

    Each row is a dict of the sheet's columns (text, ``""`` when empty) plus
    ``row`` (its spreadsheet row) and ``mcpd`` (its non-empty MCPD cells).
    """

    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[SheetProblem] = field(default_factory=list)

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], name: str = "") -> SampleSheet:
        """A sheet from stored rows (an upload batch's ``sheet``)."""
        rows = [dict(r) for r in rows]
        return cls(name=name, columns=list(SHEET_COLUMNS), rows=rows)


def file_format(name: str) -> str | None:
    """The format a file name announces (``fastq.gz``, ``bam``...), or None."""
    low = name.lower()
    return next((fmt for suffix, fmt in FORMATS if low.endswith(suffix)), None)


def read_sheet(path: str | os.PathLike[str]) -> SampleSheet:
    """Read a sample sheet (``.csv``, ``.tsv`` or ``.xlsx``).

    Parameters
    ----------
    path
        The sheet; its suffix chooses the format.

    Returns
    -------
    SampleSheet
        Its rows, and the problems of its layout (unreadable file, unknown or
        missing columns) in ``problems``; never raises for a bad sheet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("file,sha256,sample,accession,species,read\\na.fq,"
    ...                  + "0" * 64 + ",S1,PHL001:A1,rice,\\n")
    >>> sheet = read_sheet(p)
    >>> sheet.rows[0]["row"], sheet.rows[0]["sample"], sheet.problems
    (2, 'S1', [])
    """
    p = Path(path)
    sheet = SampleSheet(name=p.name)
    try:
        df = read_table(p)
    except ValidationError as exc:
        sheet.problems = [
            SheetProblem(_HEADER_ROW if pr.column else None, pr.column, pr.reason, pr.value)
            for pr in exc.problems
        ]
        return sheet
    except Exception as exc:  # a corrupt XLSX raises the reader's own errors
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        sheet.problems = [SheetProblem(None, "", f"cannot read the file: {message}")]
        return sheet
    mapping: dict[str, str] = {}
    for name in df.columns:
        if name == ROW:
            continue
        if name in MCPD_COLUMNS:
            mapping[name] = name
            continue
        key = _ALIASES.get(name.lower(), name.lower())
        if key in SHEET_COLUMNS:
            if key in mapping.values():
                sheet.problems.append(SheetProblem(_HEADER_ROW, name, "the column appears twice"))
                continue
            mapping[name] = key
        else:
            sheet.problems.append(
                SheetProblem(
                    _HEADER_ROW, name,
                    f"unknown column; columns: {', '.join(SHEET_COLUMNS)}, and MCPD codes "
                    "(upper case) for new accessions",
                )
            )  # fmt: skip
    sheet.columns = [mapping[c] for c in df.columns if c in mapping]
    for column in REQUIRED:
        if column not in sheet.columns:
            sheet.problems.append(SheetProblem(_HEADER_ROW, column, "required column is missing"))
    for record in df.iter_rows(named=True):
        row: dict[str, Any] = {c: "" for c in SHEET_COLUMNS}
        mcpd: dict[str, str] = {}
        for name, key in mapping.items():
            value = str(record[name] or "")
            if key in MCPD_COLUMNS:
                if value:
                    mcpd[key] = value
            else:
                row[key] = value
        row["sha256"] = row["sha256"].lower()
        row["platform"] = row["platform"].upper()
        row["row"] = int(record[ROW]) + 1
        row["mcpd"] = mcpd
        sheet.rows.append(row)
    if not sheet.rows and not sheet.problems:
        sheet.problems.append(SheetProblem(None, "", "the sample sheet has no rows"))
    return sheet


def _file_problems(r: dict[str, Any]) -> list[SheetProblem]:
    name, row = r["file"], r["row"]
    if not name:
        return []
    bad = (
        "\x00" in name or "\\" in name or name.startswith("/") or len(name) > 500
        or any(part in ("..", ".") for part in PurePosixPath(name).parts)
        or re.match(r"^[A-Za-z]:", name) is not None
    )  # fmt: skip
    if bad:
        return [
            SheetProblem(
                row, "file",
                "must be a file name relative to the uploaded folder (no '..', no absolute path, "
                "'/' between folders)", name[:200],
            )
        ]  # fmt: skip
    if file_format(name) is None:
        endings = ", ".join(s for s, _ in FORMATS)
        return [SheetProblem(row, "file", f"unknown kind of file; names end in {endings}", name)]
    return []


def _value_problems(r: dict[str, Any]) -> list[SheetProblem]:
    """The problems of one row's own values."""
    row = r["row"]
    out = [SheetProblem(row, c, "required value is empty") for c in REQUIRED if not r.get(c)]
    out += _file_problems(r)
    if r["sha256"] and not _SHA.match(r["sha256"]):
        out.append(SheetProblem(row, "sha256", "not a sha256 (64 hex digits)", r["sha256"][:80]))
    if r["sample"] and (not _SAMPLE.match(r["sample"]) or len(r["sample"]) > 200):
        out.append(
            SheetProblem(
                row, "sample",
                "use letters, digits, '_', '.', ':' and '-' (starting with a letter or digit)",
                r["sample"][:200],
            )
        )  # fmt: skip
    acc = r["accession"]
    if acc and (len(acc) > 200 or acc.count(":") > 1 or acc.startswith(":") or acc.endswith(":")):
        out.append(
            SheetProblem(row, "accession", "must be INSTCODE:ACCENUMB or ACCENUMB", acc[:200])
        )
    if r["platform"] and r["platform"] not in PLATFORMS:
        out.append(
            SheetProblem(row, "platform", f"must be one of {', '.join(PLATFORMS)}", r["platform"])
        )
    fmt = file_format(r["file"]) or ""
    if r["read"] not in ("", "1", "2"):
        out.append(SheetProblem(row, "read", "must be 1 or 2 (a read pair) or empty", r["read"]))
    elif r["read"] and not fmt.startswith("fastq"):
        out.append(
            SheetProblem(
                row, "read", f"a {fmt or 'file'} is not one read of a pair: leave it empty"
            )
        )
    return out


def _group_problems(rows: list[dict[str, Any]]) -> list[SheetProblem]:
    """Duplicates across rows and missing mates."""
    out: list[SheetProblem] = []
    first_file: dict[str, int] = {}
    first_sha: dict[str, int] = {}
    samples: dict[str, dict[str, Any]] = {}
    units: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        row = r["row"]
        if r["file"]:
            seen = first_file.setdefault(r["file"], row)
            if seen != row:
                out.append(SheetProblem(row, "file", f"the same file as row {seen}", r["file"]))
        if r["sha256"]:
            seen = first_sha.setdefault(r["sha256"], row)
            if seen != row:
                out.append(
                    SheetProblem(row, "sha256", f"the same content as row {seen}", r["sha256"])
                )
        if not r["sample"]:
            continue
        first = samples.setdefault(r["sample"], r)
        if first is not r:
            for column in ("accession", "species", "platform"):
                if r[column] != first[column]:
                    out.append(
                        SheetProblem(
                            row, "sample",
                            f"duplicate sample: row {first['row']} has sample {r['sample']} with "
                            f"{column} {first[column]!r}; rows of one sample must agree (or "
                            "rename the sample)", r["sample"],
                        )
                    )  # fmt: skip
                    break
        units.setdefault((r["sample"], r["library"] or r["sample"]), []).append(r)
    return out + _mate_problems(units)


def _mate_problems(units: dict[tuple[str, str], list[dict[str, Any]]]) -> list[SheetProblem]:
    """Per sample and library: one BAM/CRAM/VCF alone, or FASTQ read 1 with read 2 (or single-end)."""
    out: list[SheetProblem] = []
    for (sample, library), unit in units.items():
        fastq = [u for u in unit if (file_format(u["file"]) or "").startswith("fastq")]
        other = [u for u in unit if u not in fastq]
        if other and len(unit) > 1:
            for u in unit[1:]:
                out.append(
                    SheetProblem(
                        u["row"], "sample",
                        f"duplicate sample: row {unit[0]['row']} already has a file of sample "
                        f"{sample} (library {library}); a BAM, CRAM or VCF is a sample's only file",
                        sample,
                    )
                )  # fmt: skip
            continue
        by_read: dict[str, dict[str, Any]] = {}
        for u in fastq:
            seen_row = by_read.setdefault(u["read"], u)
            if seen_row is not u:
                out.append(
                    SheetProblem(
                        u["row"], "sample",
                        f"duplicate sample: row {seen_row['row']} already has read "
                        f"{u['read'] or '(single-end)'} of sample {sample}, library {library}",
                        sample,
                    )
                )  # fmt: skip
        reads = set(by_read)
        if "" in reads and reads & {"1", "2"}:
            out.append(
                SheetProblem(
                    by_read[""]["row"], "read",
                    f"sample {sample}, library {library} mixes single-end and paired files",
                )
            )  # fmt: skip
        elif reads == {"1"}:
            out.append(
                SheetProblem(
                    by_read["1"]["row"], "read",
                    f"missing mate: no read 2 of sample {sample}, library {library}; add its row, "
                    "or leave read empty for single-end reads", "1",
                )
            )  # fmt: skip
        elif reads == {"2"}:
            out.append(
                SheetProblem(
                    by_read["2"]["row"], "read",
                    f"missing mate: no read 1 of sample {sample}, library {library}", "2",
                )
            )  # fmt: skip
    return out


def _mcpd_agreement(rows: list[dict[str, Any]]) -> list[SheetProblem]:
    """Rows naming one accession give it the same MCPD cells (or none)."""
    out = []
    first: dict[str, dict[str, Any]] = {}
    for r in rows:
        if not r["mcpd"] or not r["accession"]:
            continue
        f = first.setdefault(r["accession"], r)
        if f is not r and f["mcpd"] != r["mcpd"]:
            column = next(
                (c for c in sorted(set(f["mcpd"]) | set(r["mcpd"])) if f["mcpd"].get(c) != r["mcpd"].get(c)),
                "",
            )  # fmt: skip
            out.append(
                SheetProblem(
                    r["row"], column,
                    f"accession {r['accession']}: its MCPD cells differ from row {f['row']}",
                    r["mcpd"].get(column, ""),
                )
            )  # fmt: skip
    return out


def _sorted(problems: Iterable[SheetProblem]) -> list[SheetProblem]:
    return sorted(problems, key=lambda p: (p.row or 0, p.column, p.message))


def check_sheet_rows(sheet: SampleSheet) -> list[SheetProblem]:
    """Every problem the sheet shows by itself, without files or a database.

    Its layout (columns), each row's values, files or checksums listed
    twice, duplicate samples (the same read of a sample and library twice;
    rows of one sample with another accession, species or platform; a BAM
    beside other files), a missing mate (read 1 without read 2 or the
    reverse), and rows of one new accession whose MCPD cells differ.

    Parameters
    ----------
    sheet
        As read by :func:`read_sheet`.

    Returns
    -------
    list of SheetProblem
        In row order; empty when the sheet is fine.
    """
    problems = list(sheet.problems)
    if any(p.message == "required column is missing" for p in problems) or not sheet.rows:
        return _sorted(problems)
    for r in sheet.rows:
        problems += _value_problems(r)
    problems += _group_problems(sheet.rows)
    problems += _mcpd_agreement(sheet.rows)
    return _sorted(problems)


def sha256_of(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """The sha256 of a file (hex), read once in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_sheet_locally(
    sheet: SampleSheet, directory: str | os.PathLike[str]
) -> list[SheetProblem]:
    """The sheet's own problems, and those of its files in ``directory``.

    What a client checks before uploading: every row's file is in
    ``directory`` (never outside it, whatever the name says) and its sha256
    is the sheet's.

    Parameters
    ----------
    sheet
        As read by :func:`read_sheet`.
    directory
        The folder holding the files.

    Returns
    -------
    list of SheetProblem
    """
    problems = check_sheet_rows(sheet)
    base = Path(directory).resolve()
    bad_rows = {(p.row, p.column) for p in problems}
    for r in sheet.rows:
        if not r["file"] or (r["row"], "file") in bad_rows:
            continue
        path = (base / r["file"]).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            problems.append(SheetProblem(r["row"], "file", f"no such file in {base}", r["file"]))
            continue
        if not _SHA.match(r["sha256"]):
            continue
        actual = sha256_of(path)
        if actual != r["sha256"]:
            problems.append(
                SheetProblem(
                    r["row"], "sha256",
                    f"does not match the file: its sha256 is {actual}", r["sha256"],
                )
            )  # fmt: skip
    return _sorted(problems)


def _accession_ref(value: str, code: str) -> str:
    return value if ":" in value else f"{code}:{value}"


def _new_accession_problems(
    rows: list[dict[str, Any]], code: str, registry: SpeciesRegistry
) -> list[SheetProblem]:
    """MCPD problems of the new accessions (their first rows), as the passport import finds them."""
    records = []
    out: list[SheetProblem] = []
    for r in rows:
        mcpd = dict(r["mcpd"])
        inst, _, number = _accession_ref(r["accession"], code).partition(":")
        if mcpd.get("INSTCODE", inst) != inst or inst != code:
            out.append(
                SheetProblem(
                    r["row"], "INSTCODE" if "INSTCODE" in mcpd else "accession",
                    f"a new accession must be of your institute ({code})",
                    mcpd.get("INSTCODE", inst),
                )
            )  # fmt: skip
        if mcpd.get("ACCENUMB", number) != number:
            out.append(
                SheetProblem(
                    r["row"], "ACCENUMB", f"differs from the accession column ({number})",
                    mcpd["ACCENUMB"],
                )
            )  # fmt: skip
        sp = registry[r["species"]] if r["species"] in registry else None
        mcpd.setdefault("INSTCODE", code)
        mcpd.setdefault("ACCENUMB", number)
        if sp is not None:
            mcpd.setdefault("GENUS", sp.genus)
            mcpd.setdefault("SPECIES", sp.species)
            if (mcpd["GENUS"].lower(), mcpd["SPECIES"].lower()) != (
                sp.genus.lower(),
                sp.species.lower(),
            ):
                out.append(
                    SheetProblem(
                        r["row"], "GENUS/SPECIES",
                        f"wrong species: {mcpd['GENUS']} {mcpd['SPECIES']} is not "
                        f"{sp.scientific_name} ({sp.key})", f"{mcpd['GENUS']} {mcpd['SPECIES']}",
                    )
                )  # fmt: skip
        records.append({ROW: r["row"], **{c: mcpd.get(c, "") for c in MCPD_COLUMNS}})
    if not records:
        return out
    df = pl.DataFrame(records, schema={ROW: pl.Int64, **{c: pl.String for c in MCPD_COLUMNS}})
    problems, _ = validate_passport(df, registry)
    out += [
        SheetProblem(p.row, p.column, p.reason, p.value)
        for p in problems
        if not (p.column == "GENUS/SPECIES" and any(o.column == p.column and o.row == p.row for o in out))
    ]  # fmt: skip
    return out


def new_accession_rows(sheet: SampleSheet, code: str) -> dict[str, dict[str, Any]]:
    """``INSTCODE:ACCENUMB`` -> the first row giving MCPD cells for it (new accessions)."""
    out: dict[str, dict[str, Any]] = {}
    for r in sheet.rows:
        if r["mcpd"] and r["accession"]:
            out.setdefault(_accession_ref(r["accession"], code), r)
    return out


def institute_code(session: Session, institute_id: int) -> str:
    """The WIEWS code of institute ``institute_id`` ("" if there is none)."""
    return session.scalars(select(Institute.code).where(Institute.id == institute_id)).first() or ""


def check_sheet(
    session: Session,
    sheet: SampleSheet,
    institute_id: int,
    *,
    registry: SpeciesRegistry | None = None,
) -> list[SheetProblem]:
    """Every problem of a sheet, its own and against the database.

    Besides :func:`check_sheet_rows`: an accession must exist (or the row
    gives its MCPD columns, and then it must not exist yet, must be of the
    batch's institute, and its MCPD cells must pass the passport checks); the
    species must be in the registry and be the accession's; a sample must
    not exist already; a file (by sha256) must not be registered to a
    sample already.

    Parameters
    ----------
    session
        An open session (only read).
    sheet
        As read by :func:`read_sheet` (or :meth:`SampleSheet.from_rows`).
    institute_id
        The batch's institute: bare accession numbers and new accessions are its.
    registry
        The species registry (default: this installation's).

    Returns
    -------
    list of SheetProblem
        In row order; empty when the batch may be registered.
    """
    registry = registry or default_registry()
    problems = check_sheet_rows(sheet)
    if any(p.message == "required column is missing" for p in problems) or not sheet.rows:
        return problems
    code = institute_code(session, institute_id)
    stored = set(session.scalars(select(SpeciesRow.key)))
    known = ", ".join(sp.key for sp in registry)
    rows = [r for r in sheet.rows if r["accession"] and r["species"]]
    for r in sheet.rows:
        if r["species"] and (r["species"] not in registry or r["species"] not in stored):
            problems.append(
                SheetProblem(
                    r["row"], "species", f"wrong species: not in the registry; known: {known}",
                    r["species"],
                )
            )  # fmt: skip
    new = new_accession_rows(sheet, code)
    refs = {_accession_ref(r["accession"], code) for r in rows}
    found = accession_species_by_ref(session, refs)
    for ref, r in new.items():
        if ref in found:
            problems.append(
                SheetProblem(
                    r["row"], "accession",
                    "the accession exists: leave its MCPD cells empty (change a passport "
                    "through the passport import)", ref,
                )
            )  # fmt: skip
    problems += _new_accession_problems([r for ref, r in new.items() if ref not in found],
                                        code, registry)  # fmt: skip
    for r in rows:
        ref = _accession_ref(r["accession"], code)
        if ref in new:
            if r["species"] != new[ref]["species"]:
                problems.append(
                    SheetProblem(
                        r["row"], "species",
                        f"wrong species: row {new[ref]['row']} makes {ref} a {new[ref]['species']}",
                        r["species"],
                    )
                )  # fmt: skip
            continue
        hit = found.get(ref)
        if hit is None:
            problems.append(
                SheetProblem(
                    r["row"], "accession",
                    "unknown accession: import its passport first, or give its MCPD columns "
                    "(ACCENUMB, ACCENAME, SAMPSTAT...) to create it with this batch", ref,
                )
            )  # fmt: skip
        elif r["species"] in registry and hit[1] != r["species"]:
            problems.append(
                SheetProblem(
                    r["row"], "species",
                    f"wrong species: accession {ref} is {hit[2]} ({hit[1]}), not {r['species']}",
                    r["species"],
                )
            )  # fmt: skip
    problems += _existing_problems(session, sheet)
    return _sorted(problems)


def _existing_problems(session: Session, sheet: SampleSheet) -> list[SheetProblem]:
    """Samples the database has already, and files registered to a sample already."""
    problems: list[SheetProblem] = []
    names = sorted({r["sample"] for r in sheet.rows if r["sample"]})
    existing = set()
    for i in range(0, len(names), 500):
        existing |= set(
            session.scalars(select(Sample.name).where(Sample.name.in_(names[i : i + 500])))
        )
    reported: set[str] = set()
    for r in sheet.rows:
        if r["sample"] in existing and r["sample"] not in reported:
            reported.add(r["sample"])
            problems.append(
                SheetProblem(
                    r["row"], "sample",
                    "duplicate sample: the database has a sample of that name; rename it",
                    r["sample"],
                )
            )  # fmt: skip
    shas = sorted({r["sha256"] for r in sheet.rows if _SHA.match(r["sha256"])})
    taken: dict[str, str] = {}
    for i in range(0, len(shas), 500):
        taken.update(
            session.execute(
                select(DataFile.sha256, Sample.name)
                .join(Sample, Sample.id == DataFile.sample_id)
                .where(DataFile.sha256.in_(shas[i : i + 500]))
            )
            .tuples()
            .all()
        )
    for r in sheet.rows:
        if r["sha256"] in taken:
            problems.append(
                SheetProblem(
                    r["row"], "sha256",
                    f"this file is registered already (sample {taken[r['sha256']]})", r["sha256"],
                )
            )  # fmt: skip
    return problems
