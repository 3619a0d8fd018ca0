"""Observation import (long and wide), scales, trait summaries, round trips."""

import pytest
from sqlalchemy import select

from breedhub.germplasm import (
    AccessionQuery,
    TraitRange,
    ValidationError,
    search_accessions,
    session_factory,
)
from breedhub.germplasm.models import Observation, ObservationUnit, Study, TraitSummary
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.phenotypes import export_observations, import_observations
from tests.conftest import DATA
from tests.helpers import database_fingerprint

WIDE = DATA / "observations_wide.csv"


def _data(engine):
    """The database's fingerprint without the audit trail, which records every import."""
    return {t: d for t, d in database_fingerprint(engine).items() if t != "data_import"}


@pytest.fixture
def stocked(engine, registry):
    import_passport(engine, DATA / "mcpd_valid.csv", registry=registry)
    return engine


def test_import_observations__wide_layout(stocked):
    report = import_observations(stocked, WIDE)
    assert (report.rows, report.inserted) == (7, 7)  # one empty cell is no observation
    with session_factory(stocked)() as s:
        study = s.scalars(select(Study)).one()
        assert (study.trial.name, study.location.name, study.season.year) == (
            "RICE-2024",
            "Hangzhou",
            2024,
        )
        units = s.scalars(select(ObservationUnit.name).order_by(ObservationUnit.name)).all()
        assert units == ["CHN001:R0001:R1", "CHN001:R0001:R2", "CHN001:R0002:R1", "CHN001:R0003:R1"]
        summary = s.scalars(
            select(TraitSummary).where(TraitSummary.accession_id == 1, TraitSummary.n == 2)
        ).all()
        means = sorted(round(t.mean, 6) for t in summary)
        assert means == [7.0, 96.5]


def test_import_observations__long_export_round_trips(stocked, tmp_path):
    import_observations(stocked, WIDE)
    before = _data(stocked)
    assert import_observations(stocked, WIDE).unchanged == 7
    out = tmp_path / "long.csv"
    assert export_observations(stocked, out) == 7
    assert import_observations(stocked, out).unchanged == 7
    assert _data(stocked) == before  # only the audit trail grew (one record per import)


def test_import_observations__a_changed_value_updates_the_summary(stocked, tmp_path):
    import_observations(stocked, WIDE)
    f = tmp_path / "fix.csv"
    f.write_text(WIDE.read_text().replace("6.8,95", "8.8,95"))
    report = import_observations(stocked, f)
    assert (report.updated, report.unchanged) == (1, 6)
    with session_factory(stocked)() as s:
        page = search_accessions(
            s, AccessionQuery(traits=(TraitRange("GrainYield_t_ha", 7.9, 8.1),))
        )
        assert sorted(r["accenumb"] for r in page.results) == ["R0001", "R0003"]
        assert s.scalars(select(Observation.value).where(Observation.value == "8.8")).one()


def test_import_observations__reports_every_problem_and_writes_nothing(stocked):
    before = database_fingerprint(stocked)
    with pytest.raises(ValidationError) as err:
        import_observations(stocked, DATA / "observations_broken.csv")
    got = {(p.row, p.column) for p in err.value.problems}
    assert got == {
        (1, "trial"),  # rice and rapeseed in one trial
        (1, "value"),  # 45 t/ha is outside the scale
        (2, "accenumb"),  # unknown accession
        (3, "value"),  # not a number
        (4, "date"),
        (4, "replicate"),
        (5, "variable"),  # unknown variable
    }
    assert "outside the scale of GrainYield_t_ha: [0, 20] t/ha" in str(err.value)
    assert database_fingerprint(stocked) == before


def test_import_observations__nan_and_inf_are_refused(stocked, tmp_path):
    f = tmp_path / "obs.csv"
    rows = "".join(f"T,S,CHN001,R0001,{i},PlantHeight_cm,{v}\n" for i, v in enumerate(
        ("nan", "inf", "-Infinity"), start=1))  # fmt: skip
    f.write_text("trial,study,instcode,accenumb,replicate,variable,value\n" + rows)
    before = database_fingerprint(stocked)
    with pytest.raises(ValidationError) as err:
        import_observations(stocked, f)
    assert {(p.row, p.column) for p in err.value.problems} == {
        (1, "value"),
        (2, "value"),
        (3, "value"),
    }
    assert "not a finite number" in str(err.value)
    assert database_fingerprint(stocked) == before


def test_import_observations__variable_of_another_species(stocked, tmp_path):
    f = tmp_path / "obs.csv"
    f.write_text(
        "trial,study,instcode,accenumb,variable,value\nT,S,CHN001,R0001,SeedOilContent_pct,42\n"
    )
    with pytest.raises(ValidationError, match="a rapeseed variable, but the accession is rice"):
        import_observations(stocked, f)


def test_import_observations__unit_cannot_change_accession(stocked, tmp_path):
    import_observations(stocked, WIDE)
    f = tmp_path / "obs.csv"
    f.write_text(
        "trial,study,instcode,accenumb,unit,variable,value\n"
        "RICE-2024,RICE-2024-Hangzhou,CHN001,R0002,CHN001:R0001:R1,PlantHeight_cm,90\n"
    )
    with pytest.raises(ValidationError, match="another accession"):
        import_observations(stocked, f)


def test_import_observations__ordinal_categories(engine, registry, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("INSTCODE,ACCENUMB,GENUS,SPECIES\nCHN010,P1,Capsicum,annuum\n")
    import_passport(engine, f, registry=registry)
    obs = tmp_path / "o.csv"
    obs.write_text("trial,study,instcode,accenumb,Pungency_score\nPEP,PEP-1,CHN010,P1,9\n")
    with pytest.raises(ValidationError, match="not a category of Pungency_score"):
        import_observations(engine, obs)
    obs.write_text("trial,study,instcode,accenumb,Pungency_score\nPEP,PEP-1,CHN010,P1,3\n")
    assert import_observations(engine, obs).inserted == 1


def test_import_observations__unknown_wide_column(stocked, tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("trial,study,instcode,accenumb,Yield\nT,S,CHN001,R0001,5\n")
    with pytest.raises(
        ValidationError, match="not a design column nor a known observation variable"
    ):
        import_observations(stocked, f)


def test_refresh_trait_summary__leaves_out_restricted_trials(stocked):
    from breedhub.germplasm import transaction
    from breedhub.germplasm.models import Trial
    from breedhub.germplasm.phenotypes import refresh_trait_summary

    import_observations(stocked, WIDE)
    tall = AccessionQuery(traits=[TraitRange("PlantHeight_cm", 0, 1e9)])
    with session_factory(stocked)() as s:
        ids = list(s.scalars(select(TraitSummary.accession_id).distinct()))
        assert ids and search_accessions(s, tall).total == 2  # R0003 has no height
    with transaction(stocked) as s:
        s.scalars(select(Trial)).one().visibility = "restricted"
        s.flush()
        refresh_trait_summary(s, ids)
    with session_factory(stocked)() as s:
        assert s.scalars(select(TraitSummary)).all() == []
        # the search's trait filter, seen by anyone, no longer finds them either
        assert search_accessions(s, tall).total == 0
