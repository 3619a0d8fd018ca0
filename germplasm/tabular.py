"""Reading and writing the tabular files of imports and exports, with polars.

Every column is read as text, so that validation sees exactly what the file
says ("007" stays "007") and reports it with its data-row number: row 1 is the
first row under the header.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import fastexcel
import polars as pl

from breedhub.germplasm.exceptions import Problem, ValidationError

ROW = "__row"
FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "xlsx"}


def file_format(path: str | os.PathLike[str]) -> str:
    """``csv``, ``tsv`` or ``xlsx`` from the file name; ValueError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown file type {suffix!r}; use .csv, .tsv or .xlsx")
    return FORMATS[suffix]


def read_table(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a CSV, TSV or XLSX file as text columns plus a ``__row`` number.

    Header names are stripped; empty cells become ``""``; rows that are empty
    in every column are dropped (their numbers are kept for the others).

    Raises
    ------
    ValidationError
        When the file cannot be read (missing, empty, not UTF-8, ragged rows,
        a duplicated column name).
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError(str(path), [Problem(0, "", "", "file not found")])
    try:
        fmt = file_format(path)
    except ValueError as exc:
        raise ValidationError(str(path), [Problem(0, "", "", str(exc).split(": ", 1)[1])]) from None
    try:
        if fmt == "xlsx":
            df = pl.read_excel(path, infer_schema_length=0)
        else:
            df = pl.read_csv(
                path,
                separator="\t" if fmt == "tsv" else ",",
                infer_schema=False,
                encoding="utf8",
            )
    except (pl.exceptions.PolarsError, OSError, ValueError, fastexcel.FastExcelError) as exc:
        # fastexcel (behind read_excel) raises its own errors for a corrupt workbook
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(
            str(path), [Problem(0, "", "", f"cannot read the file: {msg}")]
        ) from None
    names = [c.strip().lstrip("\ufeff") for c in _raw_header(path, fmt) or df.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValidationError(
            str(path), [Problem(0, d, "", "column appears more than once") for d in dupes]
        )
    if len(names) != len(df.columns):
        names = [c.strip() for c in df.columns]
    df = df.rename(dict(zip(df.columns, names, strict=True)))
    df = df.with_columns(pl.all().cast(pl.String).fill_null("").str.strip_chars())
    df = df.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    data_cols = [c for c in df.columns if c != ROW]
    if data_cols:
        df = df.filter(~pl.all_horizontal(pl.col(data_cols) == ""))
    return df


def _raw_header(path: Path, fmt: str) -> list[str]:
    """The header as written: polars renames duplicated names, which must be reported."""
    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            first = next(wb.active.iter_rows(max_row=1, values_only=True), ())
        finally:
            wb.close()
        return [str(v) if v is not None else "" for v in first]
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return next(csv.reader(fh, delimiter="\t" if fmt == "tsv" else ","), [])


def write_table(df: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``df`` as CSV, TSV or XLSX (by suffix), atomically."""
    path = Path(path)
    fmt = file_format(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        if fmt == "xlsx":
            df.write_excel(tmp)
        else:
            # Empty text is written as an empty field, not as a quoted "".
            df = df.with_columns(pl.col(pl.String).replace("", None))
            df.write_csv(tmp, separator="\t" if fmt == "tsv" else ",")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def problems_where(
    df: pl.DataFrame, column: str, bad: pl.Expr, reason: str, limit: int = 10_000
) -> list[Problem]:
    """One :class:`Problem` for each row where ``bad`` holds."""
    hits = df.filter(bad).select(ROW, pl.col(column).cast(pl.String)).head(limit)
    return [Problem(int(r), column, v, reason) for r, v in hits.iter_rows()]
