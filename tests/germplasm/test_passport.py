"""MCPD passport import and export, on SQLite and PostgreSQL."""

import polars as pl
import pytest
from sqlalchemy import select

from breedhub.germplasm import AccessionQuery, ValidationError, search_accessions, session_factory
from breedhub.germplasm.models import Accession, AccessionName
from breedhub.germplasm.passport import export_passport, import_passport, read_passport
from breedhub.germplasm.tabular import write_table
from tests.conftest import DATA
from tests.helpers import database_fingerprint, table_counts

AUDIT_TABLES = {"data_import", "import_change"}


def data_fingerprint(engine):
    """The database's fingerprint without the audit trail (every real import adds a record)."""
    return {t: d for t, d in database_fingerprint(engine).items() if t not in AUDIT_TABLES}


VALID = DATA / "mcpd_valid.csv"
BROKEN = DATA / "mcpd_broken.csv"

# Every problem planted in tests/data/mcpd_broken.csv: (data row, column).
BROKEN_PROBLEMS = {
    (1, "GENUS/SPECIES"),
    (2, "SAMPSTAT"),
    (3, "ACQDATE"),
    (4, "DECLATITUDE"),
    (5, "ORIGCTY"),
    (6, "ACCENUMB"),
    (7, "COLLSRC"),
    (7, "STORAGE"),
    (8, "ACCENUMB"),
    (9, "ACQDATE"),
    (9, "MLSSTAT"),
    (10, "ACQDATE"),
    (10, "INSTCODE"),
}


def test_import_passport__inserts_every_row_with_its_names(engine, registry):
    report = import_passport(engine, VALID, registry=registry)
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (4, 4, 0, 0)
    with session_factory(engine)() as s:
        acc = s.scalars(select(Accession).where(Accession.accenumb == "R0002")).one()
        assert (acc.origcty, acc.sampstat, acc.storage, acc.acqdate) == (
            "JPN",
            300,
            "13;20",
            "1990----",
        )
        assert acc.declatitude == pytest.approx(36.05) and acc.elevation == 25
        names = {
            (n.kind, n.name)
            for n in s.scalars(
                select(AccessionName).join(Accession).where(Accession.accenumb == "R0001")
            )
        }
        assert {("name", "IR 64"), ("name", "IR64-Sub1"), ("othernumb", "IRGC66970")} <= names


def test_import_passport__twice_changes_nothing(engine, registry):
    import_passport(engine, VALID, registry=registry)
    before = data_fingerprint(engine)
    report = import_passport(engine, VALID, registry=registry)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 4)
    assert data_fingerprint(engine) == before


def test_import_passport__broken_file_reports_every_problem_and_writes_nothing(engine, registry):
    import_passport(engine, VALID, registry=registry)
    before = database_fingerprint(engine)
    with pytest.raises(ValidationError) as err:
        import_passport(engine, BROKEN, registry=registry)
    found = {(p.row, p.column) for p in err.value.problems}
    assert found == BROKEN_PROBLEMS
    assert "nothing was imported" in str(err.value) and "row 3, column ACQDATE" in str(err.value)
    assert database_fingerprint(engine) == before


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
def test_export_passport__round_trips(engine, registry, tmp_path, suffix):
    import_passport(engine, VALID, registry=registry)
    out = tmp_path / f"export{suffix}"
    assert export_passport(engine, out) == 4
    before = data_fingerprint(engine)
    report = import_passport(engine, out, registry=registry)
    assert report.unchanged == 4 and data_fingerprint(engine) == before
    again = tmp_path / f"again{suffix}"
    export_passport(engine, again)
    assert read_passport(out).equals(read_passport(again))


def test_import_passport__updates_a_changed_row(engine, registry, tmp_path):
    import_passport(engine, VALID, registry=registry)
    df = (
        read_passport(VALID)
        .drop("__row")
        .with_columns(
            pl.when(pl.col("ACCENUMB") == "R0003")
            .then(pl.lit("Zhongzao 39;ZZ39"))
            .otherwise(pl.col("ACCENAME"))
            .alias("ACCENAME")
        )
    )
    changed = tmp_path / "changed.csv"
    write_table(df, changed)
    report = import_passport(engine, changed, registry=registry)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 3)
    with session_factory(engine)() as s:
        assert search_accessions(s, AccessionQuery(text="zz39")).results[0]["accenumb"] == "R0003"


def test_import_passport__wrong_species_for_the_upload(engine, registry):
    before = table_counts(engine)
    with pytest.raises(ValidationError) as err:
        import_passport(engine, VALID, registry=registry, species="rice")
    assert [(p.row, p.column) for p in err.value.problems] == [(4, "GENUS/SPECIES")]
    assert "expected Oryza sativa" in str(err.value)
    assert table_counts(engine) == before


def test_import_passport__puid_held_by_another_accession(engine, registry, tmp_path):
    import_passport(engine, VALID, registry=registry)
    clash = tmp_path / "clash.csv"
    clash.write_text(
        "PUID,INSTCODE,ACCENUMB,GENUS,SPECIES\nCHN001:R0001:Oryza,CHN001,X1,Oryza,sativa\n"
    )
    before = data_fingerprint(engine)
    with pytest.raises(ValidationError, match="already the PUID of accession CHN001:R0001"):
        import_passport(engine, clash, registry=registry)
    assert data_fingerprint(engine) == before


def test_import_passport__puid_of_another_institute_is_a_refused_move(engine, registry, tmp_path):
    import_passport(engine, VALID, registry=registry)
    move = tmp_path / "move.csv"
    move.write_text(
        "PUID,INSTCODE,ACCENUMB,GENUS,SPECIES\nCHN001:R0001:Oryza,CHN009,X1,Oryza,sativa\n"
    )
    with pytest.raises(ValidationError, match="--allow-institute-change") as err:
        import_passport(engine, move, registry=registry)
    assert [(p.row, p.column) for p in err.value.problems] == [(1, "INSTCODE")]
    assert "accession CHN001:R0001" in str(err.value)


@pytest.mark.parametrize(
    "content, reason",
    [
        ("", "cannot read the file"),
        ("INSTCODE,ACCENUMB,GENUS\nCHN001,A,Oryza\n", "required MCPD column is missing"),
        (
            "INSTCODE,ACCENUMB,GENUS,SPECIES,GENUS\nCHN001,A,Oryza,sativa,Oryza\n",
            "column appears more than once",
        ),
        ("INSTCODE,ACCENUMB,GENUS,SPECIES\nCHN001,A,Oryza,sativa,extra\n", "cannot read the file"),
    ],
)
def test_import_passport__unreadable_files(engine, registry, tmp_path, content, reason):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(ValidationError, match=reason):
        import_passport(engine, bad, registry=registry)
    assert table_counts(engine)["accession"] == 0


def test_import_passport__a_corrupt_workbook_is_a_problem_not_a_crash(engine, registry, tmp_path):
    bad = tmp_path / "genebank.xlsx"
    bad.write_bytes(b"PK\x03\x04 a zip header and nothing after it")
    with pytest.raises(ValidationError, match="cannot read the file"):
        import_passport(engine, bad, registry=registry)
    assert table_counts(engine)["accession"] == 0


def test_import_passport__unknown_columns_are_warnings(engine, registry, tmp_path):
    f = tmp_path / "extra.csv"
    f.write_text("INSTCODE,ACCENUMB,GENUS,SPECIES,FAVOURITE\nCHN001,A1,Oryza,sativa,yes\n")
    report = import_passport(engine, f, registry=registry)
    assert report.inserted == 1 and "FAVOURITE" in report.warnings[0]
    with session_factory(engine)() as s:
        assert s.scalars(select(Accession.puid)).one() == "CHN001:A1:Oryza"
