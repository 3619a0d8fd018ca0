"""Re-importing passports: columns kept, blanks, species and institute changes, dry run, audit."""

import json

import polars as pl
import pytest
from sqlalchemy import func, select

from breedhub.germplasm import ValidationError, session_factory
from breedhub.germplasm.models import (
    Accession,
    AccessionName,
    GenotypeDataset,
    GenotypeDatasetSample,
    ModelRun,
    Observation,
    ObservationUnit,
    ObservationVariable,
    Prediction,
    Sample,
    SpeciesRow,
)
from breedhub.germplasm.models_audit import DataImport, ImportChange
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.phenotypes import import_observations
from tests.conftest import DATA
from tests.helpers import database_fingerprint

VALID = DATA / "mcpd_valid.csv"
HEAD = "INSTCODE,ACCENUMB,GENUS,SPECIES"


def fingerprint(engine):
    return {
        t: d
        for t, d in database_fingerprint(engine).items()
        if t not in ("data_import", "import_change")
    }


def accession(engine, accenumb):
    with session_factory(engine)() as s:
        return s.scalars(select(Accession).where(Accession.accenumb == accenumb)).one()


def names(engine, accenumb):
    with session_factory(engine)() as s:
        return {
            (n.kind, n.name)
            for n in s.scalars(
                select(AccessionName).join(Accession).where(Accession.accenumb == accenumb)
            )
        }


def write(tmp_path, text, name="re.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def stocked(engine, registry):
    import_passport(engine, VALID, registry=registry)
    return engine


@pytest.fixture
def attached(stocked):
    """R0001 with observations, a sample in a genotype dataset, and a prediction."""
    engine = stocked
    import_observations(engine, DATA / "observations_wide.csv")
    with session_factory(engine)() as s, s.begin():
        acc = s.scalars(select(Accession).where(Accession.accenumb == "R0001")).one()
        rice = s.get(SpeciesRow, acc.species_id)
        smp = Sample(name="S-R0001", accession_id=acc.id)
        ds = GenotypeDataset(name="rice-chip", species_id=rice.id, path="x.h5", ploidy=2)
        run = ModelRun(name="gblup", method="gblup", species_id=rice.id)
        s.add_all([smp, ds, run])
        s.flush()
        s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=smp.id, column_index=0))
        var = s.scalars(select(ObservationVariable).limit(1)).one()
        s.add(Prediction(model_run_id=run.id, accession_id=acc.id, variable_id=var.id, gebv=1.5))
    return engine


def counts_of(engine, acc_id):
    with session_factory(engine)() as s:
        return {
            m.__tablename__: s.scalar(
                select(func.count()).select_from(m).where(m.accession_id == acc_id)
            )
            for m in (Observation, ObservationUnit, Sample, Prediction)
        }


def test_import_passport__fewer_columns_keep_the_other_fields(stocked, registry, tmp_path):
    f = write(tmp_path, f"{HEAD},REMARKS\nCHN001,R0002,Oryza,sativa,checked 2024\n")
    report = import_passport(stocked, f, registry=registry)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 0)
    acc = accession(stocked, "R0002")
    assert acc.remarks == "checked 2024"
    assert (acc.origcty, acc.sampstat, acc.storage, acc.collnumb) == ("JPN", 300, "13;20", "C-17")
    assert acc.declatitude == pytest.approx(36.05) and acc.elevation == 25
    assert ("collnumb", "C-17") in names(stocked, "R0002")


def test_import_passport__blank_cell_keeps_unless_blank_clears(stocked, registry, tmp_path):
    f = write(tmp_path, f"{HEAD},ORIGCTY,ELEVATION,ACCENAME\nCHN001,R0002,Oryza,sativa,,,\n")
    report = import_passport(stocked, f, registry=registry)
    assert (report.updated, report.unchanged) == (0, 1)
    assert accession(stocked, "R0002").origcty == "JPN"
    report = import_passport(stocked, f, registry=registry, blank_clears=True)
    assert report.updated == 1
    acc = accession(stocked, "R0002")
    assert (acc.origcty, acc.elevation, acc.accename, acc.name) == ("", None, "", "")
    assert ("name", "Nipponbare") not in names(stocked, "R0002")


def test_import_passport__species_change_is_refused(attached, registry, tmp_path):
    before = fingerprint(attached)
    f = write(tmp_path, f"{HEAD}\nCHN001,R0001,Brassica,napus\nCHN001,R0002,Oryza,sativa\n")
    with pytest.raises(ValidationError) as err:
        import_passport(attached, f, registry=registry)
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (1, "GENUS/SPECIES")
    assert "--allow-species-change" in problem.reason and "Oryza sativa" in problem.reason
    assert fingerprint(attached) == before
    with session_factory(attached)() as s:
        assert s.scalar(select(func.count()).select_from(DataImport)) == 2  # passport + obs


def test_import_passport__allowed_species_change_detaches_and_counts(attached, registry, tmp_path):
    acc_id = accession(attached, "R0001").id
    had = counts_of(attached, acc_id)
    assert all(had.values())
    f = write(tmp_path, f"{HEAD}\nCHN001,R0001,Brassica,napus\n")
    dry = import_passport(attached, f, registry=registry, allow_species_change=True, dry_run=True)
    report = import_passport(attached, f, registry=registry, allow_species_change=True)
    assert report.updated == 1 and dry.detached == report.detached
    assert report.detached["observation"] == had["observation"]
    assert report.detached["observation_unit"] == had["observation_unit"]
    assert report.detached["sample"] == 1 and report.detached["genotype_dataset_sample"] == 1
    assert report.detached["prediction"] == 1
    assert counts_of(attached, acc_id) == dict.fromkeys(had, 0)
    acc = accession(attached, "R0001")
    assert (acc.genus, acc.species_epithet, acc.species_row.key) == (
        "Brassica",
        "napus",
        "rapeseed",
    )
    with session_factory(attached)() as s:
        rows = s.execute(
            select(ImportChange.action, ImportChange.field, ImportChange.new_value).where(
                ImportChange.import_id == report.import_id, ImportChange.action == "detach"
            )
        ).all()
    assert {(f, int(n)) for _, f, n in rows} == set(report.detached.items())


def test_import_passport__institute_change_refused_then_allowed(attached, registry, tmp_path):
    acc_id = accession(attached, "R0001").id
    before = fingerprint(attached)
    f = write(tmp_path, f"PUID,{HEAD}\nCHN001:R0001:Oryza,PHL001,IRGC-1,Oryza,sativa\n")
    with pytest.raises(ValidationError, match="--allow-institute-change") as err:
        import_passport(attached, f, registry=registry)
    assert [(p.row, p.column) for p in err.value.problems] == [(1, "INSTCODE")]
    assert fingerprint(attached) == before
    report = import_passport(attached, f, registry=registry, allow_institute_change=True)
    assert (report.inserted, report.updated) == (0, 1) and report.detached["sample"] == 1
    acc = accession(attached, "IRGC-1")
    assert (acc.id, acc.institute.code, acc.puid) == (acc_id, "PHL001", "CHN001:R0001:Oryza")
    assert ("accenumb", "IRGC-1") in names(attached, "IRGC-1")
    assert counts_of(attached, acc_id)["observation"] == 0


def test_import_passport__dry_run_reports_each_row_and_writes_nothing(stocked, registry, tmp_path):
    before = fingerprint(stocked)
    f = write(
        tmp_path,
        f"{HEAD},ORIGCTY,ELEVATION\n"
        "CHN001,R0001,Oryza,sativa,PHL,\n"  # unchanged
        "CHN001,R0002,Oryza,sativa,CHN,30\n"  # changed
        "CHN002,BN-001,Capsicum,annuum,,\n"  # refused: species
        "CHN003,N-1,Oryza,sativa,IND,\n",  # new (and a new institute)
    )
    report = import_passport(stocked, f, registry=registry, dry_run=True)
    assert (report.inserted, report.updated, report.unchanged, report.refused) == (1, 1, 1, 1)
    by_row = {d["row"]: d for d in report.rows_detail}
    assert set(by_row) == {2, 3, 4}
    assert by_row[2]["status"] == "changed"
    assert by_row[2]["changes"] == [
        {"field": "ORIGCTY", "old": "JPN", "new": "CHN"},
        {"field": "ELEVATION", "old": "25", "new": "30"},
    ]
    assert by_row[3]["status"] == "refused" and "--allow-species-change" in by_row[3]["reason"]
    assert by_row[4] == {"row": 4, "instcode": "CHN003", "accenumb": "N-1", "status": "new"}
    assert fingerprint(stocked) == before
    json.dumps(report.to_dict())
    with session_factory(stocked)() as s:
        assert s.scalar(select(func.count()).select_from(DataImport)) == 1


def test_import_passport__audit_records_inserts_and_field_changes(stocked, registry, tmp_path):
    with session_factory(stocked)() as s:
        first = s.scalars(select(DataImport)).one()
        inserted = s.execute(
            select(ImportChange.action, ImportChange.field).where(
                ImportChange.import_id == first.id
            )
        ).all()
    assert inserted == [("insert", None)] * 4
    assert first.kind == "passport" and first.source == str(VALID) and len(first.sha256) == 64
    assert first.counts["inserted"] == 4 and first.options["blank_clears"] is False

    f = write(
        tmp_path,
        f"{HEAD},DECLATITUDE,SAMPSTAT,ACCENAME\nCHN001,R0002,Oryza,sativa,36.5,410,Nipponbare\n",
    )
    report = import_passport(stocked, f, registry=registry)
    acc_id = accession(stocked, "R0002").id
    with session_factory(stocked)() as s:
        rec = s.get(DataImport, report.import_id)
        changes = s.execute(
            select(
                ImportChange.accession_id,
                ImportChange.action,
                ImportChange.field,
                ImportChange.old_value,
                ImportChange.new_value,
            )
            .where(ImportChange.import_id == report.import_id)
            .order_by(ImportChange.field)
        ).all()
    assert rec.counts["updated"] == 1 and rec.options["columns"] == [
        "INSTCODE", "ACCENUMB", "GENUS", "SPECIES", "ACCENAME", "DECLATITUDE", "SAMPSTAT",
    ]  # fmt: skip
    assert changes == [
        (acc_id, "update", "declatitude", "36.05", "36.5"),
        (acc_id, "update", "sampstat", "300", "410"),
    ]


def test_import_passport__clearing_is_recorded_as_null(stocked, registry, tmp_path):
    f = write(tmp_path, f"{HEAD},ELEVATION,COLLNUMB\nCHN001,R0002,Oryza,sativa,,\n")
    report = import_passport(stocked, f, registry=registry, blank_clears=True)
    with session_factory(stocked)() as s:
        changes = set(
            s.execute(
                select(ImportChange.field, ImportChange.old_value, ImportChange.new_value).where(
                    ImportChange.import_id == report.import_id
                )
            ).all()
        )
    assert changes == {("elevation", "25", None), ("collnumb", "C-17", None)}
    assert ("collnumb", "C-17") not in names(stocked, "R0002")


def test_import_passport__new_accessions_with_few_columns(engine, registry, tmp_path):
    f = write(tmp_path, f"{HEAD}\nCHN001,A1,Oryza,sativa\nCHN001,A2,Oryza,sativa\n")
    report = import_passport(engine, f, registry=registry)
    assert report.inserted == 2 and report.import_id is not None
    acc = accession(engine, "A2")
    assert (acc.puid, acc.remarks, acc.sampstat) == ("CHN001:A2:Oryza", "", None)


def test_import_passport__same_accession_twice_by_puid_is_a_problem(stocked, registry, tmp_path):
    before = fingerprint(stocked)
    f = write(
        tmp_path,
        f"PUID,{HEAD}\n,CHN001,R0001,Oryza,sativa\nCHN001:R0001:Oryza,PHL001,X,Oryza,sativa\n",
    )
    with pytest.raises(ValidationError, match="names the same accession as row 1"):
        import_passport(stocked, f, registry=registry, allow_institute_change=True)
    assert fingerprint(stocked) == before


def test_import_passport__many_rows_take_the_bulk_path(engine, registry, tmp_path):
    from breedhub.germplasm import passport_write

    n = passport_write.BULK_REBUILD_MIN + 5
    df = pl.DataFrame(
        {
            "INSTCODE": ["CHN001"] * n,
            "ACCENUMB": [f"B{i:06d}" for i in range(n)],
            "GENUS": ["Oryza"] * n,
            "SPECIES": ["sativa"] * n,
            "ACCENAME": [f"Line {i};L-{i}" for i in range(n)],
        }
    )
    path = tmp_path / "big.csv"
    df.write_csv(path)
    report = import_passport(engine, path, registry=registry)
    assert report.inserted == n and report.rows_per_s
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AccessionName)) == 3 * n
        assert s.scalar(select(func.count()).select_from(ImportChange)) == n
    assert ("name", "L-7") in names(engine, "B000007")
    again = import_passport(engine, path, registry=registry)
    assert again.unchanged == n
    dup = tmp_path / "dup.csv"
    pl.concat([df, df.head(1).with_columns(ACCENUMB=pl.lit("NEW1"))]).with_columns(
        PUID=pl.lit("P-") + pl.col("ACCENUMB")
    ).write_csv(dup)
    report = import_passport(engine, dup, registry=registry)  # every PUID changes
    assert (report.inserted, report.updated) == (1, n)


def test_import_passport__audit_false_records_nothing(engine, registry):
    report = import_passport(engine, VALID, registry=registry, audit=False)
    assert report.inserted == 4 and report.import_id is None
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(DataImport)) == 0
