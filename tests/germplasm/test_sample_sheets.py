"""Sample sheets of upload batches: read alike from CSV, TSV and XLSX; every problem with its row.

Rows are numbered as a spreadsheet shows them: the header is row 1, the
first file row 2. The database checks run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from breedhub.germplasm import transaction
from breedhub.germplasm.sample_sheets import (
    check_sheet,
    check_sheet_locally,
    check_sheet_rows,
    read_sheet,
)
from tests.germplasm.test_batches import good_rows, make_reads, stock, write_sheet


def _problems(problems) -> set[tuple[int | None, str]]:
    return {(p.row, p.column) for p in problems}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
def test_read_sheet__csv_tsv_and_xlsx_read_alike(tmp_path, suffix):
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    rows[0]["ACCENAME"] = "New line 1"
    path = write_sheet(tmp_path / f"sheet{suffix}", rows)
    sheet = read_sheet(path)
    assert sheet.problems == []
    assert [r["row"] for r in sheet.rows] == [2, 3, 4, 5]
    first = sheet.rows[0]
    assert (first["file"], first["sample"], first["read"], first["platform"]) == (
        "S1_R1.fastq.gz", "S1", "1", "ILLUMINA",
    )  # fmt: skip
    assert first["mcpd"] == {"ACCENAME": "New line 1"} and sheet.rows[1]["mcpd"] == {}
    assert (
        first["sha256"]
        == hashlib.sha256((tmp_path / "reads" / "S1_R1.fastq.gz").read_bytes()).hexdigest()
    )
    other = read_sheet(write_sheet(tmp_path / "again.csv", rows))
    assert [{k: v for k, v in r.items()} for r in other.rows] == sheet.rows


def test_read_sheet__unknown_and_missing_columns_are_row_1(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("file,sha,sample,accession,species\na.fq,x,S1,A,rice\n")
    sheet = read_sheet(path)
    assert _problems(sheet.problems) == {(1, "sha"), (1, "sha256")}
    assert _problems(check_sheet_rows(sheet)) == {(1, "sha"), (1, "sha256")}


def test_read_sheet__unreadable_file_is_a_problem_not_an_exception(tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"not a zip")
    sheet = read_sheet(path)
    assert sheet.rows == [] and len(sheet.problems) == 1 and sheet.problems[0].row is None


def test_check_sheet_rows__a_missing_mate_and_duplicates_with_their_rows(tmp_path):
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    rows[3]["read"] = "1"  # S2 has two read 1 and no read 2: a duplicate and a missing mate
    rows.append({**rows[0], "file": "S1_R1.fastq.gz"})  # the same file twice (row 6)
    rows.append({**rows[0], "file": "extra.fastq.gz", "sha256": "a" * 64, "accession": "PHL001:R2"})
    sheet = read_sheet(write_sheet(tmp_path / "s.csv", rows))
    problems = check_sheet_rows(sheet)
    found = _problems(problems)
    assert (5, "sample") in found  # row 5: the second read 1 of S2
    assert (4, "read") in found  # missing mate: S2 has no read 2
    assert (6, "file") in found and (6, "sha256") in found  # the same file again
    assert (7, "sample") in found  # sample S1 with another accession
    messages = " ".join(p.message for p in problems)
    assert "missing mate" in messages and "duplicate sample" in messages


def test_check_sheet_rows__values_checked_row_by_row(tmp_path):
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    rows[0]["file"] = "../../etc/passwd.fastq"
    rows[1]["sha256"] = "xyz"
    rows[2]["read"] = "3"
    rows[3]["platform"] = "CARRIER-PIGEON"
    sheet = read_sheet(write_sheet(tmp_path / "s.tsv", rows))
    found = _problems(check_sheet_rows(sheet))
    assert {(2, "file"), (3, "sha256"), (4, "read"), (5, "platform")} <= found


def test_check_sheet_locally__a_file_missing_or_with_another_sha256(tmp_path):
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    sheet_path = write_sheet(tmp_path / "s.csv", rows)
    assert check_sheet_locally(read_sheet(sheet_path), tmp_path / "reads") == []
    (tmp_path / "reads" / "S1_R2.fastq.gz").write_bytes(b"changed")
    (tmp_path / "reads" / "S2_R1.fastq.gz").unlink()
    problems = check_sheet_locally(read_sheet(sheet_path), tmp_path / "reads")
    assert _problems(problems) == {(3, "sha256"), (4, "file")}
    assert "does not match" in next(p.message for p in problems if p.row == 3)


def test_check_sheet__unknown_accession_wrong_species_duplicate_sample(engine, tmp_path):
    ids = stock(engine)
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    rows[0]["accession"] = rows[1]["accession"] = "PHL001:NOPE"  # unknown (rows 2-3)
    rows[2]["species"] = rows[3]["species"] = "pepper"  # PHL001:R2 is rice (rows 4-5)
    sheet = read_sheet(write_sheet(tmp_path / "s.csv", rows))
    with transaction(engine) as s:
        problems = check_sheet(s, sheet, ids["PHL001"])
    found = _problems(problems)
    assert {(2, "accession"), (3, "accession"), (4, "species"), (5, "species")} <= found
    assert any("unknown accession" in p.message for p in problems)
    assert any("wrong species" in p.message for p in problems)
    # a species that is not in the registry
    rows = good_rows(files)
    rows[0]["species"] = rows[1]["species"] = "unicorn"
    with transaction(engine) as s:
        problems = check_sheet(s, read_sheet(write_sheet(tmp_path / "u.csv", rows)), ids["PHL001"])
    assert (2, "species") in _problems(problems)
    # a sample the database has already
    rows = good_rows(files)
    for r in rows[2:]:
        r["sample"] = "OLD-SAMPLE"
    with transaction(engine) as s:
        problems = check_sheet(s, read_sheet(write_sheet(tmp_path / "d.csv", rows)), ids["PHL001"])
    assert _problems(problems) == {(4, "sample")}
    assert "duplicate sample" in problems[0].message


def test_check_sheet__a_new_accession_with_its_mcpd_columns(engine, tmp_path):
    ids = stock(engine)
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    for r in rows[:2]:
        r.update(accession="NEW-1", ACCENAME="New line", SAMPSTAT="414", ACQDATE="20240101")
    sheet = read_sheet(write_sheet(tmp_path / "s.xlsx", rows))
    with transaction(engine) as s:
        assert check_sheet(s, sheet, ids["PHL001"]) == []
    # bad MCPD values, of another institute, and GENUS/SPECIES not the species'
    rows[0].update(SAMPSTAT="7", ACQDATE="20241340")
    rows[1].update(SAMPSTAT="7", ACQDATE="20241340")
    rows[2].update(accession="CHN999:NEW-2", ACCENAME="Other", GENUS="Capsicum", SPECIES="annuum")
    sheet = read_sheet(write_sheet(tmp_path / "b.csv", rows))
    with transaction(engine) as s:
        problems = check_sheet(s, sheet, ids["PHL001"])
    found = _problems(problems)
    assert {(2, "SAMPSTAT"), (2, "ACQDATE"), (4, "accession"), (4, "GENUS/SPECIES")} <= found
    # MCPD cells for an accession that exists already
    rows = good_rows(files)
    rows[0]["ACCENAME"] = rows[1]["ACCENAME"] = "Renamed"
    with transaction(engine) as s:
        problems = check_sheet(s, read_sheet(write_sheet(tmp_path / "e.csv", rows)), ids["PHL001"])
    assert (2, "accession") in _problems(problems)


def test_check_sheet__an_empty_sheet_is_one_problem(engine, tmp_path):
    ids = stock(engine)
    path = tmp_path / "s.csv"
    pl.DataFrame({c: [] for c in ("file", "sha256", "sample", "accession", "species")}).write_csv(
        path
    )
    with transaction(engine) as s:
        problems = check_sheet(s, read_sheet(path), ids["PHL001"])
    assert len(problems) == 1 and problems[0].row is None
