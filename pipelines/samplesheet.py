"""Sample sheets: reading one, and checking its rows, files and BAMs into a sample table.

A sheet is a TSV or CSV with a row per sample or lane (``sample``,
``accession``, ``species``, then ``fastq1``/``fastq2`` or ``bam``, and
optionally ``library``, ``platform``); :func:`check_sample_sheet` gathers the
lanes of each sample and reports every problem with its row and column.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from breedhub.pipelines.config_schema import load_schema, schema_problems
from breedhub.pipelines.exceptions import Problem

if TYPE_CHECKING:
    from breedhub.germplasm.species import SpeciesRegistry

__all__ = ["SHEET_COLUMNS", "check_sample_sheet", "read_sample_sheet", "resolve_path"]

SHEET_COLUMNS = ("sample", "accession", "species", "fastq1", "fastq2", "bam", "library", "platform")


def resolve_path(value: str, base_dir: Path) -> Path:
    """``value`` with ``~`` and ``$VARS`` expanded, made absolute from ``base_dir``."""
    p = Path(os.path.expandvars(os.path.expanduser(value)))
    return p if p.is_absolute() else (base_dir / p).absolute()


def read_sample_sheet(
    path: str | os.PathLike[str],
) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[Problem]]:
    """Read a sample sheet: its header, its rows and the problems of its layout.

    The separator is a tab for ``.tsv``/``.txt`` and a comma for ``.csv``
    (otherwise a tab if the header has one). Cells are stripped; empty cells
    are left out of a row's mapping; blank lines and lines starting with ``#``
    are skipped. Rows are numbered from 1 for the first line under the header.

    Returns
    -------
    tuple
        The column names, ``(row number, {column: value})`` for each row, and
        the problems of the header (unknown, missing or repeated columns).
    """
    p = Path(path)
    file = str(p)
    text = p.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    header_line = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), "")
    if p.suffix.lower() in (".tsv", ".txt"):
        sep = "\t"
    elif p.suffix.lower() == ".csv":
        sep = ","
    else:
        sep = "\t" if "\t" in header_line else ","
    reader = csv.reader(lines, delimiter=sep)
    header: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    data_row = 0
    for cells in reader:
        if not any(c.strip() for c in cells) or cells[0].startswith("#"):
            if header:
                data_row += 1
            continue
        if not header:
            header = [c.strip() for c in cells]
            continue
        data_row += 1
        if len(cells) > len(header):
            problems.append(
                Problem(file, data_row, "", "", f"{len(cells)} cells but {len(header)} columns")
            )
        row = {h: c.strip() for h, c in zip(header, cells, strict=False) if h and c.strip()}
        rows.append((data_row, row))
    if not header:
        return [], [], [Problem(file, 0, "", "", "the sample sheet is empty")]
    known = set(SHEET_COLUMNS)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(file, 0, name, "", "the column appears twice"))
        seen.add(name)
        if name not in known:
            problems.append(
                Problem(file, 0, name, "", f"unknown column; columns: {', '.join(SHEET_COLUMNS)}")
            )
    for name in ("sample", "accession", "species"):
        if name not in header:
            problems.append(Problem(file, 0, name, "", "required column is missing"))
    if not rows:
        problems.append(Problem(file, 0, "", "", "the sample sheet has no rows"))
    return header, rows, problems


def _bam_problems(
    bam: Path, sample: str, contigs: dict[str, int] | None, file: str, row: int
) -> list[Problem]:
    import pysam

    out = []
    if not any(
        Path(s).is_file()
        for s in (f"{bam}.bai", f"{bam}.csi", bam.with_suffix(".bai"), f"{bam}.crai")
    ):
        out.append(
            Problem(file, row, "bam", str(bam), "no index beside it; run `samtools index` on it")
        )
    try:
        with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as fh:
            header = fh.header.to_dict()
    except (OSError, ValueError) as exc:
        return [Problem(file, row, "bam", str(bam), f"not a readable BAM ({exc})")]
    names = {g.get("SM", "") for g in header.get("RG", [])}
    if names != {sample}:
        out.append(
            Problem(
                file, row, "bam", str(bam),
                f"its read groups name the samples {sorted(names) or 'none'}, not {sample}; "
                "give the BAM of this sample, or fix its @RG SM",
            )
        )  # fmt: skip
    if contigs is not None:
        sq = {s["SN"]: s["LN"] for s in header.get("SQ", [])}
        if sq != contigs:
            out.append(
                Problem(
                    file, row, "bam", str(bam),
                    "aligned to another reference: its @SQ contigs differ from the reference's",
                )
            )  # fmt: skip
    return out


def _species_problems(
    value: str, species: str | None, registry: SpeciesRegistry, file: str, row_no: int
) -> list[Problem]:
    """A row's species (``value``) must be known, and the config's ``species`` if it names one."""
    if value not in registry:
        known = ", ".join(sp.key for sp in registry)
        return [Problem(file, row_no, "species", value, f"unknown species; known: {known}")]
    if species and value != species:
        return [
            Problem(
                file, row_no, "species", value,
                f"the config's species is {species}: a dataset holds one species",
            )
        ]  # fmt: skip
    return []


def _lane_problems(
    entry: dict[str, Any],
    sample: str,
    row: dict[str, str],
    files: dict[str, Path],
    file: str,
    row_no: int,
) -> list[Problem]:
    """Problems of a further row (lane) of a sample already in ``entry``: a sample with
    a BAM has one row, and the lanes of a sample agree on its accession, species,
    library and platform."""
    out: list[Problem] = []
    first_row = entry["rows"][0]
    if entry["bam"] or "bam" in files:
        out.append(
            Problem(
                file, row_no, "sample", sample,
                f"duplicated sample: also in row {first_row}; a sample with a BAM has one row",
            )
        )  # fmt: skip
    for column, default in (("accession", ""), ("species", ""), ("library", sample),
                            ("platform", "ILLUMINA")):  # fmt: skip
        value = row.get(column, default)
        if value != entry[column]:
            out.append(
                Problem(
                    file, row_no, column, value,
                    f"duplicated sample: {sample} is in row {first_row} with {column} "
                    f"{entry[column]!r}; lanes of one sample must agree (or rename the sample)",
                )
            )  # fmt: skip
    return out


def check_sample_sheet(
    sheet: Path, species: str | None, contigs: dict[str, int] | None
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The sample table of a sheet (one entry per sample, lanes gathered) and its problems."""
    from breedhub.germplasm import default_registry

    file = str(sheet)
    header, rows, problems = read_sample_sheet(sheet)
    if any(p.row == 0 and p.reason == "required column is missing" for p in problems) or not rows:
        return [], problems
    schema = load_schema("samples")
    base = sheet.parent
    registry = default_registry()
    samples: dict[str, dict[str, Any]] = {}
    file_rows: dict[Path, tuple[int, str]] = {}
    for row_no, row in rows:
        row = {k: v for k, v in row.items() if k in SHEET_COLUMNS}
        bad = schema_problems(row, schema, file=file, row=row_no)
        problems += bad
        sample = row.get("sample", "")
        if row.get("species"):
            problems += _species_problems(row["species"], species, registry, file, row_no)
        files: dict[str, Path] = {}
        for column in ("fastq1", "fastq2", "bam"):
            if row.get(column):
                path = resolve_path(row[column], base)
                files[column] = path
                if not path.is_file():
                    problems.append(Problem(file, row_no, column, row[column], "no such file"))
                    continue
                first = file_rows.setdefault(path, (row_no, sample))
                if first[0] != row_no:
                    reason = (
                        f"duplicated sample: row {first[0]} has the same sample and reads"
                        if first[1] == sample
                        else f"the same file as row {first[0]} (sample {first[1]})"
                    )
                    problems.append(Problem(file, row_no, column, row[column], reason))
                elif column == "bam" and sample:
                    problems += _bam_problems(path, sample, contigs, file, row_no)
        if not sample or any(p.row == row_no and p.column == "sample" for p in bad):
            continue
        entry = samples.get(sample)
        unit = {"fastq1": str(files.get("fastq1", "")), "fastq2": str(files.get("fastq2", ""))}
        if entry is None:
            samples[sample] = {
                "name": sample,
                "accession": row.get("accession", ""),
                "species": row.get("species", ""),
                "library": row.get("library", sample),
                "platform": row.get("platform", "ILLUMINA"),
                "units": [unit] if "fastq1" in files else [],
                "bam": str(files.get("bam", "")),
                "rows": [row_no],
            }
            continue
        problems += _lane_problems(entry, sample, row, files, file, row_no)
        if "fastq1" in files:
            entry["units"].append(unit)
        entry["rows"].append(row_no)
    return list(samples.values()), problems
