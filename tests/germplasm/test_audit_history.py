"""The audit trail read back (imports, an accession's history) and a passport import undone."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select

from breedhub.base.errors import ArgumentError
from breedhub.germplasm import NotFoundError
from breedhub.germplasm.audit import record_changes, start_import
from breedhub.germplasm.audit_history import (
    UndoRefusedError,
    accession_history,
    list_imports,
    parse_import_id,
    undo_import,
)
from breedhub.germplasm.db import transaction
from breedhub.germplasm.models import (
    Accession,
    AccessionName,
    Institute,
    SelectionList,
    SelectionListItem,
)
from breedhub.germplasm.models_audit import DataImport, ImportChange
from breedhub.germplasm.passport import import_passport, passport_frame, read_passport
from breedhub.germplasm.pedigree import import_pedigree
from breedhub.germplasm.tabular import ROW, write_table
from tests.conftest import DATA
from tests.helpers import database_fingerprint

VALID = DATA / "mcpd_valid.csv"


def _passports(engine: Engine) -> pl.DataFrame:
    with transaction(engine) as s:
        return passport_frame(s)


def _ids(engine: Engine) -> dict[tuple[str, str], int]:
    with transaction(engine) as s:
        rows = s.execute(
            select(Institute.code, Accession.accenumb, Accession.id).join(Accession.institute)
        ).tuples()
        return {(i, a): n for i, a, n in rows}


def recorded_import(engine: Engine, path: Path, registry, **options) -> int:
    """Import a passport file; return the id of the import's record in the audit trail."""
    report = import_passport(engine, path, registry=registry, **options)
    assert report.import_id is not None
    return report.import_id


def changed_file(tmp_path: Path, name: str, edits: dict[str, dict[str, str]], extra=()) -> Path:
    """mcpd_valid.csv with ``edits`` {ACCENUMB: {COLUMN: value}} and extra rows."""
    df = read_passport(VALID).drop(ROW)
    rows = []
    for r in df.iter_rows(named=True):
        r.update(edits.get(r["ACCENUMB"], {}))
        rows.append(r)
    for accenumb, fields in extra:
        r = dict(rows[0], ACCENUMB=accenumb, PUID="", ACCENAME=f"Name {accenumb}", OTHERNUMB="")
        r.update(fields)
        rows.append(r)
    out = tmp_path / name
    write_table(pl.DataFrame(rows, schema=df.schema, orient="row"), out)
    return out


def names(engine: Engine) -> set[tuple[str, str, str, str]]:
    with transaction(engine) as s:
        rows = s.execute(
            select(
                Accession.accenumb, AccessionName.kind, AccessionName.name, AccessionName.key
            ).join(AccessionName.accession)
        ).tuples()
        return set(rows)


@pytest.fixture
def first(engine, registry) -> int:
    """The import id of mcpd_valid.csv, recorded."""
    return recorded_import(engine, VALID, registry)


def test_parse_import_id__digits_only_and_bounded() -> None:
    assert parse_import_id(" 12 ") == 12
    for bad in ("abc", "-1", "1.5", "", "١٢", "12\x00"):
        with pytest.raises(ArgumentError, match="not an import id"):
            parse_import_id(bad)
    for unknown in ("0", "99999999999999999999", str(2**31)):
        with pytest.raises(NotFoundError, match="no import"):
            parse_import_id(unknown)


def test_list_imports__newest_first_with_undone_state(engine, registry, first, tmp_path) -> None:
    second = recorded_import(
        engine, changed_file(tmp_path, "b.csv", {"R0001": {"ORIGCTY": "IND"}}), registry
    )
    undo = undo_import(engine, second).undo_id
    with transaction(engine) as s:
        got = list_imports(s)
        assert [g["id"] for g in got] == [undo, second, first]
        assert [g["kind"] for g in got] == ["undo", "passport", "passport"]
        assert got[1]["undone_at"] and got[1]["undone_by"] == undo
        assert got[0]["undoes_id"] == second and got[0]["source"] == f"import {second}"
        assert got[2]["undone_at"] is None and got[2]["sha256"]
        assert [g["id"] for g in list_imports(s, limit=1)] == [undo]
        for bad in (0, 10_001, "5", True):
            with pytest.raises(ArgumentError, match="limit"):
                list_imports(s, limit=bad)


def test_accession_history__created_changed_twice_and_detached(
    engine, registry, first, tmp_path
) -> None:
    b = changed_file(tmp_path, "b.csv", {"R0002": {"ORIGCTY": "KOR", "ELEVATION": "30"}})
    second = recorded_import(engine, b, registry)
    c = changed_file(tmp_path, "c.csv", {"R0002": {"ORIGCTY": "CHN", "ELEVATION": "30"}})
    third = recorded_import(engine, c, registry)
    acc = _ids(engine)[("CHN001", "R0002")]
    with transaction(engine) as s:
        rec = start_import(s, "passport", "species.csv")
        detach = pl.DataFrame(
            {"accession_id": [acc], "action": ["detach"], "field": ["observation"],
             "old_value": [None], "new_value": ["12"]}
        )  # fmt: skip
        record_changes(s, rec.id, detach)
        fourth = rec.id
    with transaction(engine) as s:
        h = accession_history(s, "chn001:R0002")
    assert h["accession"] == {"label": "CHN001:R0002", "id": acc, "ids": [acc]}
    imports = h["imports"]
    assert [i["id"] for i in imports] == [first, second, third, fourth]
    assert imports[0]["created"] and imports[0]["source"] == str(VALID)
    assert imports[0]["changes"] == [] and imports[0]["created_at"]
    assert sorted(map(tuple, (c.values() for c in imports[1]["changes"]))) == [
        ("elevation", "25", "30"),
        ("origcty", "JPN", "KOR"),
    ]
    assert imports[2]["changes"] == [{"field": "origcty", "old": "KOR", "new": "CHN"}]
    assert imports[3]["detached"] == [{"table": "observation", "count": 12}]
    with transaction(engine) as s:  # the same history by id and by accession number
        assert accession_history(s, str(acc))["imports"] == imports
        assert accession_history(s, "R0002")["imports"] == imports


def test_accession_history__unknown_accession_is_not_found(engine, first) -> None:
    with transaction(engine) as s, pytest.raises(NotFoundError, match="no accession"):
        accession_history(s, "CHN001:NOPE")


def test_undo_import__restores_fields_and_names_exactly(engine, registry, first, tmp_path) -> None:
    before, names_before = _passports(engine), names(engine)
    edits = {
        "R0001": {"ACCENAME": "IR 64 new", "OTHERNUMB": "PHL001:IRGC1", "DECLATITUDE": "14.5"},
        "R0002": {"ELEVATION": "31", "SAMPSTAT": "500", "ACQDATE": "19910101"},
    }
    second = recorded_import(engine, changed_file(tmp_path, "b.csv", edits), registry)
    assert not _passports(engine).equals(before)
    report = undo_import(engine, second)
    assert (report.restored, report.deleted, report.accessions_restored) == (6, 0, 2)
    assert report.fields["accename"] == 1 and not report.dry_run
    assert _passports(engine).equals(before)
    assert names(engine) == names_before
    with transaction(engine) as s:
        acc = s.scalars(select(Accession).where(Accession.accenumb == "R0001")).one()
        assert acc.name == "IR 64" and acc.declatitude is None
        undone = s.get(DataImport, second)
        undo = s.get(DataImport, report.undo_id)
        assert undone is not None and undone.undone_at is not None
        assert undo is not None and (undo.kind, undo.undoes_id) == ("undo", second)
        assert undo.counts == {"restored": 6, "accessions_restored": 2, "deleted": 0}
        back = s.execute(
            select(ImportChange.field, ImportChange.old_value, ImportChange.new_value).where(
                ImportChange.import_id == undo.id, ImportChange.field == "elevation"
            )
        ).one()
        assert tuple(back) == ("elevation", "31", "25")
        back = s.execute(
            select(ImportChange.old_value, ImportChange.new_value).where(
                ImportChange.import_id == undo.id, ImportChange.field == "declatitude"
            )
        ).one()
        assert tuple(back) == ("14.5", None)


def test_undo_import__deletes_the_accessions_it_created(engine, registry, first, tmp_path) -> None:
    before, names_before = _passports(engine), names(engine)
    f = changed_file(tmp_path, "b.csv", {}, extra=[("R0100", {}), ("R0101", {"ORIGCTY": "IND"})])
    second = recorded_import(engine, f, registry)
    new_id = _ids(engine)[("CHN001", "R0100")]
    report = undo_import(engine, second)
    assert (report.deleted, report.restored) == (2, 0)
    assert _passports(engine).equals(before) and names(engine) == names_before
    with transaction(engine) as s:  # a deleted accession keeps its history
        h = accession_history(s, "CHN001:R0100")
        assert h["accession"]["id"] is None and h["accession"]["ids"] == [new_id]
        assert [(i["id"], i["created"], i["deleted"]) for i in h["imports"]] == [
            (second, True, False),
            (report.undo_id, False, True),
        ]
        assert accession_history(s, str(new_id))["accession"]["label"] == "CHN001:R0100"


def test_undo_import__dry_run_changes_nothing(engine, registry, first, tmp_path) -> None:
    f = changed_file(tmp_path, "b.csv", {"R0003": {"ORIGCTY": "VNM"}}, extra=[("R0100", {})])
    second = recorded_import(engine, f, registry)
    fp = database_fingerprint(engine)
    report = undo_import(engine, second, dry_run=True)
    assert report.dry_run and report.undo_id is None
    assert (report.restored, report.deleted) == (1, 1)
    assert report.sample[0] == {
        "accession_id": _ids(engine)[("CHN001", "R0003")],
        "accession": "CHN001:R0003",
        "field": "origcty",
        "from": "VNM",
        "to": "CHN",
    }
    assert report.sample[1]["accession"] == "CHN001:R0100" and report.sample[1]["field"] is None
    assert database_fingerprint(engine) == fp


def _refused(engine: Engine, import_id: int, match: str) -> None:
    fp = database_fingerprint(engine)
    with pytest.raises(UndoRefusedError, match=match) as err:
        undo_import(engine, import_id)
    assert "nothing was changed" in str(err.value) and err.value.details()
    assert database_fingerprint(engine) == fp


def test_undo_import__unknown_id_is_not_found(engine, first) -> None:
    with pytest.raises(NotFoundError, match="no import 999"):
        undo_import(engine, 999)


def test_undo_import__refused_twice_and_for_an_undo(engine, registry, first, tmp_path) -> None:
    second = recorded_import(
        engine, changed_file(tmp_path, "b.csv", {"R0001": {"ORIGCTY": "IND"}}), registry
    )
    undo = undo_import(engine, second).undo_id
    assert undo is not None
    _refused(engine, second, rf"already undone on .* \(by import {undo}\)")
    _refused(engine, undo, f"itself the undo of import {second}")


def test_undo_import__refused_for_other_kinds(engine, registry, first, tmp_path) -> None:
    import_pedigree(engine, DATA / "pedigree_valid.csv")
    with transaction(engine) as s:
        pedigree_id = s.scalar(select(DataImport.id).where(DataImport.kind == "pedigree"))
    assert pedigree_id is not None
    _refused(engine, pedigree_id, "a pedigree import; only passport imports can be undone")


def test_undo_import__refused_when_it_detached_records(engine, registry, first) -> None:
    acc = _ids(engine)[("CHN001", "R0001")]
    with transaction(engine) as s:
        rec = start_import(s, "passport", "species.csv")
        record_changes(
            s,
            rec.id,
            pl.DataFrame(
                {
                    "accession_id": [acc, acc],
                    "action": ["update", "detach"],
                    "field": ["origcty", "sample"],
                    "old_value": ["XXX", None],
                    "new_value": ["PHL", "3"],
                }
            ),  # fmt: skip
        )
        detaching = rec.id
    _refused(engine, detaching, "detached records .*sample of 1 accessions.* cannot be re-attached")


def test_undo_import__refused_until_a_later_import_is_undone(
    engine, registry, first, tmp_path
) -> None:
    b = changed_file(tmp_path, "b.csv", {"R0002": {"ORIGCTY": "KOR"}})
    second = recorded_import(engine, b, registry)
    c = changed_file(tmp_path, "c.csv", {"R0002": {"ORIGCTY": "CHN"}})
    third = recorded_import(engine, c, registry)
    _refused(
        engine,
        second,
        rf"import {third} .* changed origcty \(1\) of its accessions since: undo import {third} first",
    )
    _refused(engine, first, f"import {second} .*undo import {second} first")
    undo_import(engine, third)
    assert _passports(engine)["ORIGCTY"][1] == "KOR"
    undo_import(engine, second)
    assert _passports(engine)["ORIGCTY"][1] == "JPN"


def test_undo_import__refused_when_a_value_changed_unrecorded(
    engine, registry, first, tmp_path
) -> None:
    second = recorded_import(
        engine, changed_file(tmp_path, "b.csv", {"R0002": {"ELEVATION": "40"}}), registry
    )
    with transaction(engine) as s:
        acc = s.scalars(select(Accession).where(Accession.accenumb == "R0002")).one()
        acc.elevation = 41
    _refused(engine, second, "elevation of CHN001:R0002 is no longer what the import wrote")


def test_undo_import__refused_while_its_accessions_are_used(
    engine, registry, first, tmp_path
) -> None:
    f = changed_file(tmp_path, "b.csv", {}, extra=[("R0100", {}), ("R0101", {})])
    second = recorded_import(engine, f, registry)
    ped = tmp_path / "ped.csv"
    ped.write_text("INSTCODE,ACCENUMB,FEMALE_PARENT,MALE_PARENT\nCHN001,R0003,R0100,R0001\n")
    import_pedigree(engine, ped)
    with transaction(engine) as s:
        lst = SelectionList(name="picks", owner_id=None, institute_id=None, visibility="public")
        s.add(lst)
        s.flush()
        s.add(SelectionListItem(list_id=lst.id, accession_id=_ids(engine)[("CHN001", "R0101")]))
    fp = database_fingerprint(engine)
    with pytest.raises(UndoRefusedError) as err:
        undo_import(engine, second)
    reasons = err.value.reasons
    assert len(reasons) == 2
    assert "CHN001:R0100" in reasons[0] and "1 pedigree (female_parent_id)" in reasons[0]
    assert "CHN001:R0101" in reasons[1] and "1 selection_list_item" in reasons[1]
    assert database_fingerprint(engine) == fp


# --- end to end: the passport import records itself --------------------------------


def test_undo_import__end_to_end_export_equals_the_first_file_again(
    engine, registry, tmp_path
) -> None:
    from breedhub.germplasm.passport import export_passport

    first = recorded_import(engine, VALID, registry)
    export_passport(engine, tmp_path / "first.csv")
    edits = {
        "R0001": {"ACCENAME": "IR 64 renamed", "REMARKS": "re-checked"},
        "R0002": {"ORIGCTY": "KOR", "DECLATITUDE": "", "ELEVATION": ""},  # blanks clear
        "R0003": {"GENUS": "Brassica", "SPECIES": "napus", "CROPNAME": "rapeseed"},
    }
    f = changed_file(tmp_path, "b.csv", edits, extra=[("R0200", {"ORIGCTY": "IND"})])
    second = recorded_import(engine, f, registry, blank_clears=True, allow_species_change=True)
    with transaction(engine) as s:
        h = accession_history(s, "CHN001:R0002")["imports"]
        assert [i["id"] for i in h] == [first, second] and h[0]["created"]
        assert {c["field"]: (c["old"], c["new"]) for c in h[1]["changes"]} == {
            "origcty": ("JPN", "KOR"),
            "declatitude": ("36.05", None),
            "elevation": ("25", None),
        }
        species = accession_history(s, "CHN001:R0003")["imports"][1]["changes"]
        assert {"genus", "species_epithet", "species_id", "cropname"} <= {
            c["field"] for c in species
        }
    report = undo_import(engine, second)
    assert report.deleted == 1 and report.accessions_restored == 3
    export_passport(engine, tmp_path / "after.csv")
    assert (tmp_path / "after.csv").read_text() == (tmp_path / "first.csv").read_text()
    with transaction(engine) as s:
        acc = s.scalars(select(Accession).where(Accession.accenumb == "R0003")).one()
        assert acc.species_row.key == "rice" and acc.name == "Zhongzao 39"


def test_undo_import__end_to_end_refused_after_a_species_change_detached_data(
    engine, registry, tmp_path
) -> None:
    from breedhub.germplasm.phenotypes import import_observations

    recorded_import(engine, VALID, registry)
    import_observations(engine, DATA / "observations_wide.csv")
    f = changed_file(tmp_path, "b.csv", {"R0001": {"GENUS": "Brassica", "SPECIES": "napus"}})
    second = recorded_import(engine, f, registry, allow_species_change=True)
    with transaction(engine) as s:
        detached = accession_history(s, "CHN001:R0001")["imports"][-1]["detached"]
        assert {d["table"] for d in detached} >= {"observation"}
    _refused(engine, second, "detached records .* cannot be re-attached")


def test_undo_import__end_to_end_fewer_columns_restores_only_what_changed(
    engine, registry, tmp_path
) -> None:
    first = recorded_import(engine, VALID, registry)
    before = _passports(engine)
    f = tmp_path / "few.csv"
    f.write_text("INSTCODE,ACCENUMB,GENUS,SPECIES,ORIGCTY\nCHN001,R0001,Oryza,sativa,IND\n")
    second = recorded_import(engine, f, registry)
    report = undo_import(engine, second, dry_run=True)
    assert report.fields == {"origcty": 1}
    undo_import(engine, second)
    assert _passports(engine).equals(before)
    with transaction(engine) as s:
        assert [g["id"] for g in list_imports(s)][1:] == [second, first]
