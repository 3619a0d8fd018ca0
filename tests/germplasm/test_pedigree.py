"""Pedigree import: parents must exist, nobody is their own ancestor."""

import pytest
from sqlalchemy import select

from breedhub.germplasm import ValidationError, accession_detail, session_factory
from breedhub.germplasm.models import Pedigree
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.pedigree import export_pedigree, import_pedigree
from tests.conftest import DATA
from tests.helpers import database_fingerprint


@pytest.fixture
def stocked(engine, registry):
    import_passport(engine, DATA / "mcpd_valid.csv", registry=registry)
    return engine


def write(tmp_path, body, name="ped.csv"):
    f = tmp_path / name
    f.write_text(
        "INSTCODE,ACCENUMB,FEMALE_PARENT,MALE_PARENT,CROSS_TYPE,GENERATION,CROSS_YEAR\n" + body
    )
    return f


def test_import_pedigree__links_parents_and_progeny(stocked):
    report = import_pedigree(stocked, DATA / "pedigree_valid.csv")
    assert report.inserted == 1
    with session_factory(stocked)() as s:
        child = accession_detail(s, "CHN001:R0003")
        assert child["pedigree"]["female_parent"]["accenumb"] == "R0001"
        assert child["pedigree"]["male_parent"]["accenumb"] == "R0002"
        assert child["pedigree"]["generation"] == "F6"
        assert [p["accenumb"] for p in accession_detail(s, "CHN001:R0001")["progeny"]] == ["R0003"]


def _data(fingerprint):
    """A database fingerprint without the audit trail (every import adds its record)."""
    return {t: d for t, d in fingerprint.items() if t not in ("data_import", "import_change")}


def test_import_pedigree__twice_changes_nothing_and_export_round_trips(stocked, tmp_path):
    import_pedigree(stocked, DATA / "pedigree_valid.csv")
    before = _data(database_fingerprint(stocked))
    assert import_pedigree(stocked, DATA / "pedigree_valid.csv").unchanged == 1
    out = tmp_path / "out.csv"
    assert export_pedigree(stocked, out) == 1
    assert import_pedigree(stocked, out).unchanged == 1
    assert _data(database_fingerprint(stocked)) == before


def test_import_pedigree__reports_every_problem_and_writes_nothing(stocked, tmp_path):
    f = write(
        tmp_path,
        "CHN001,R0003,R0001,R9999,BIPARENTAL,F6,2001\n"  # unknown parent
        "CHN001,R0002,R0002,,SELF,,\n"  # own parent
        "CHN001,R0001,,,WIZARDRY,,3000\n"  # bad cross type and year
        "CHN001,NOPE,R0001,R0002,,,\n"  # unknown accession
        "CHN001,R0003,,,,,\n",  # listed twice
    )
    before = database_fingerprint(stocked)
    with pytest.raises(ValidationError) as err:
        import_pedigree(stocked, f)
    got = {(p.row, p.column) for p in err.value.problems}
    assert got == {
        (1, "MALE_PARENT"),
        (2, "FEMALE_PARENT"),
        (3, "CROSS_TYPE"),
        (3, "CROSS_YEAR"),
        (4, "ACCENUMB"),
        (5, "ACCENUMB"),
    }
    assert database_fingerprint(stocked) == before


def test_import_pedigree__rejects_a_loop_closing_through_the_database(stocked, tmp_path):
    import_pedigree(stocked, DATA / "pedigree_valid.csv")  # R0003 = R0001 x R0002
    f = write(tmp_path, "CHN001,R0001,R0003,,BACKCROSS,BC1,2005\n")
    with pytest.raises(ValidationError, match="own ancestor"):
        import_pedigree(stocked, f)
    with session_factory(stocked)() as s:
        assert s.get(Pedigree, 1) is None  # R0001 still has no parents


def test_import_pedigree__parent_in_another_institute(stocked, tmp_path):
    f = write(tmp_path, "CHN002,BN-001,CHN001:R0001,,UNKNOWN,,\n")
    assert import_pedigree(stocked, f).inserted == 1
    with session_factory(stocked)() as s:
        (ped,) = s.scalars(select(Pedigree)).all()
        assert ped.female_parent.accenumb == "R0001" and ped.male_parent_id is None


def test_import_pedigree__recorded_in_the_audit_trail_unless_dry_run(stocked, tmp_path):
    from breedhub.germplasm.audit import file_sha256
    from breedhub.germplasm.models_audit import DataImport

    path = DATA / "pedigree_valid.csv"
    import_pedigree(stocked, path, dry_run=True)
    import_pedigree(stocked, path, record=False)
    with session_factory(stocked)() as s:
        assert s.scalars(select(DataImport).where(DataImport.kind == "pedigree")).all() == []
    import_pedigree(stocked, path)
    with session_factory(stocked)() as s:
        rec = s.scalars(select(DataImport).where(DataImport.kind == "pedigree")).one()
    assert (rec.kind, rec.source, rec.sha256) == ("pedigree", str(path), file_sha256(path))
    assert {k: rec.counts[k] for k in ("rows", "inserted", "updated", "unchanged")} == {
        "rows": 1,
        "inserted": 0,
        "updated": 0,
        "unchanged": 1,
    }
    assert rec.run_by and rec.undone_at is None
