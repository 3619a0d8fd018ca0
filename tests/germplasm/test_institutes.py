import pytest

from breedhub.germplasm import transaction
from breedhub.germplasm.institutes import (
    check_institute_code,
    list_institutes,
    save_institute,
    upsert_institutes,
)


@pytest.mark.parametrize(
    ("raw", "code"), [("PHL001", "PHL001"), (" phl001 ", "PHL001"), ("USA1234", "USA1234")]
)
def test_check_institute_code__wiews_codes(raw, code):
    assert check_institute_code(raw) == code


@pytest.mark.parametrize(
    "raw", ["IRRI", "PH001", "PHL01", "PHL12345", "PHL 001", "PHL-001", "１２３ABC", "PHL٠٠١",
            "PHL001\x00", "", "001PHL"],
)  # fmt: skip
def test_check_institute_code__anything_else_refused(raw):
    with pytest.raises(ValueError, match="not a FAO WIEWS code"):
        check_institute_code(raw)


def test_save_institute__adds_then_renames(engine):
    with transaction(engine) as s:
        inst, created = save_institute(s, "nld037", name="CGN", country="")
        assert created and (inst.code, inst.country) == ("NLD037", "NLD")
    with transaction(engine) as s:
        inst, created = save_institute(s, "NLD037", name=" Centre for Genetic Resources ",
                                       country="nld")  # fmt: skip
        assert not created and inst.name == "Centre for Genetic Resources"
    with transaction(engine) as s:
        assert [(i.code, i.name) for i in list_institutes(s)] == [
            ("NLD037", "Centre for Genetic Resources")
        ]


def test_save_institute__bad_country_or_name(engine):
    with pytest.raises(ValueError, match="ISO 3166-1"), transaction(engine) as s:
        save_institute(s, "NLD037", name="CGN", country="XXX")
    with pytest.raises(ValueError, match="at most 300"), transaction(engine) as s:
        save_institute(s, "NLD037", name="n" * 301)
    with pytest.raises(ValueError, match="control characters"), transaction(engine) as s:
        save_institute(s, "NLD037", name="a\x00b")
    with transaction(engine) as s:
        assert list_institutes(s) == []
    # a code whose letters are no country: no country guessed
    with transaction(engine) as s:
        assert save_institute(s, "XYZ001", name="somewhere")[0].country == ""


def test_upsert_institutes__counts_changes(engine):
    rows = [("PHL001", "IRRI", "PHL"), ("CHN999", "test station", "CHN")]
    assert upsert_institutes(engine, rows) == 2
    assert upsert_institutes(engine, rows) == 0
    assert upsert_institutes(engine, [("PHL001", "IRRI Los Baños", "PHL")]) == 1
