"""Passport sections and decoded values of the accession page (web/passport.py)."""

from __future__ import annotations

from breedhub.germplasm.mcpd import COLUMNS
from breedhub.web.passport import (
    LABELS,
    SECTIONS,
    display_value,
    format_mcpd_date,
    passport_sections,
)


def test_sections__every_descriptor_once():
    codes = [c for _, cs in SECTIONS for c in cs]
    assert sorted(codes) == sorted(COLUMNS)
    assert set(LABELS) == set(COLUMNS)


def test_display_value__codes_with_labels():
    assert display_value("SAMPSTAT", "410") == "410 – Breeder's line"
    assert display_value("STORAGE", "12;13") == "12 – Medium term; 13 – Long term"
    assert display_value("MLSSTAT", "1") == "1 – Yes"
    assert display_value("COLLSRC", "77") == "77"
    assert display_value("ORIGCTY", "PHL") == "PHL – Philippines"


def test_format_mcpd_date__partial_dates():
    assert format_mcpd_date("19850601") == "1985-06-01"
    assert format_mcpd_date("198506--") == "1985-06"
    assert format_mcpd_date("19850000") == "1985"


def test_passport_sections__empty_fields_left_out():
    sections = passport_sections({"ACCENUMB": "A1", "GENUS": "Oryza", "REMARKS": ""})
    by_title = {s.title: s for s in sections}
    assert [f.code for f in by_title["Identity"].fields] == ["ACCENUMB"]
    assert by_title["Remarks"].fields == ()
    assert [s.title for s in sections][0] == "Identity"
