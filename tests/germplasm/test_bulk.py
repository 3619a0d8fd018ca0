"""Bulk writes: the staging table round-trips every type and vanishes with its transaction."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import text

from breedhub.germplasm.bulk import stage_frame
from breedhub.germplasm.db import transaction


def test_stage_frame__round_trips_values_and_nulls(engine) -> None:
    df = pl.DataFrame(
        {
            "id": [1, 2, None],
            "x": [1.5, None, -2.0],
            "name": ["a,b", 'q"uote', None],
            "day": [dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)],
        }
    )
    with transaction(engine) as session:
        stage_frame(session, df, "stage_test")
        rows = session.execute(text("SELECT id, x, name, day FROM stage_test ORDER BY x")).all()
        assert [(r[0], r[1], r[2]) for r in rows] in (
            [(None, -2.0, None), (1, 1.5, "a,b"), (2, None, 'q"uote')],
            [(2, None, 'q"uote'), (None, -2.0, None), (1, 1.5, "a,b")],
        )
        assert sorted(str(r[3]) for r in rows if r[3] is not None) == ["1999-12-31", "2024-01-02"]
        # a second stage of the same name in one transaction replaces the first
        stage_frame(session, df.head(1), "stage_test")
        assert session.scalar(text("SELECT count(*) FROM stage_test")) == 1
    with transaction(engine) as session:
        stage_frame(session, df, "stage_test")  # the first transaction's table is gone


def test_stage_frame__refuses_a_name_that_is_not_an_identifier(engine) -> None:
    with transaction(engine) as session, pytest.raises(ValueError, match="not a table name"):
        stage_frame(session, pl.DataFrame({"a": [1]}), "x; DROP TABLE accession")
