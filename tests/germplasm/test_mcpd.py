"""MCPD validation rules, and the property that a valid passport round-trips."""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breedhub.germplasm import make_engine
from breedhub.germplasm.mcpd import (
    COLLSRC,
    COLUMNS,
    SAMPSTAT,
    STORAGE,
    countries,
    validate_passport,
)
from breedhub.germplasm.passport import export_passport, import_passport, read_passport
from breedhub.germplasm.tabular import ROW, write_table


def frame(**cols):
    df = pl.DataFrame({k: [v] if isinstance(v, str) else v for k, v in cols.items()})
    return df.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


BASE = {"INSTCODE": "CHN001", "ACCENUMB": "A1", "GENUS": "Oryza", "SPECIES": "sativa"}


@pytest.mark.parametrize(
    "value, ok",
    [
        ("19680000", True),
        ("1968----", True),
        ("196803--", True),
        ("19680231", False),
        ("1968--15", False),
        ("19681301", False),
        ("1968", False),
        ("16000101", False),
    ],
)
def test_validate_passport__dates(registry, value, ok):
    problems, _ = validate_passport(
        frame(**BASE, ACQDATE=value), registry, today=dt.date(2026, 1, 1)
    )
    assert (problems == []) is ok, problems


@pytest.mark.parametrize(
    "column, value, ok",
    [
        ("SAMPSTAT", "416", True),
        ("SAMPSTAT", "417", False),
        ("STORAGE", "13;20;99", True),
        ("STORAGE", "13,20", False),
        ("COLLCODE", "PHL001;CHN012", True),
        ("COLLCODE", "PHL001;IRRI", False),
        ("LATITUDE", "1030--S", True),
        ("LATITUDE", "1030S", False),
        ("LONGITUDE", "0762510W", True),
        ("DECLONGITUDE", "-181", False),
        ("ELEVATION", "-20", True),
        ("ELEVATION", "12.5", False),
        ("ORIGCTY", "NLD", True),
        ("ORIGCTY", "NL", False),
    ],
)
def test_validate_passport__codes_and_coordinates(registry, column, value, ok):
    problems, _ = validate_passport(frame(**BASE, **{column: value}), registry)
    assert (problems == []) is ok, problems
    assert all(p.column == column and p.row == 1 for p in problems)


digits = st.text("0123456789", min_size=1, max_size=5)
text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30
).map(str.strip)
date = st.dates(dt.date(1800, 1, 1), dt.date(2025, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))


@st.composite
def passport_rows(draw):
    n = draw(st.integers(1, 6))
    rows = []
    for i in range(n):
        rows.append(
            {
                "INSTCODE": draw(st.sampled_from(["CHN001", "PHL001", "NLD037"])),
                "ACCENUMB": f"ACC-{i}-{draw(digits)}",
                "GENUS": "Oryza",
                "SPECIES": "sativa",
                "ACCENAME": draw(text).replace(";", ""),
                "ACQDATE": draw(st.one_of(st.just(""), date)),
                "ORIGCTY": draw(st.sampled_from(["", *sorted(countries())[:40]])),
                "DECLATITUDE": draw(
                    st.one_of(
                        st.just(""),
                        st.floats(-90, 90).map(lambda x: f"{x:.4f}".rstrip("0").rstrip(".")),
                    )
                ),
                "ELEVATION": draw(st.one_of(st.just(""), st.integers(-400, 8800).map(str))),
                "SAMPSTAT": draw(st.sampled_from(["", *map(str, SAMPSTAT)])),
                "COLLSRC": draw(st.sampled_from(["", *map(str, COLLSRC)])),
                "STORAGE": ";".join(
                    draw(
                        st.lists(
                            st.sampled_from(sorted(map(str, STORAGE))), max_size=3, unique=True
                        )
                    )
                ),
                "REMARKS": draw(text),
            }
        )
    return rows


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=passport_rows())
def test_import_passport__valid_rows_round_trip(rows, registry, _templates):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(_templates["sqlite"], tmp / "db.sqlite")
        engine = make_engine(f"sqlite:///{tmp / 'db.sqlite'}")
        src = tmp / "in.csv"
        write_table(pl.DataFrame(rows), src)
        assert import_passport(engine, src, registry=registry).inserted == len(rows)
        export_passport(engine, tmp / "out.csv")
        engine.dispose()
        out = read_passport(tmp / "out.csv").drop(ROW)
        assert out.columns == list(COLUMNS)
        got = {r["ACCENUMB"]: r for r in out.iter_rows(named=True)}
        for row in rows:
            exported = got[row["ACCENUMB"]]
            for k, v in row.items():
                if k == "DECLATITUDE" and v:
                    assert float(exported[k]) == pytest.approx(float(v))
                else:
                    assert exported[k] == v, k
