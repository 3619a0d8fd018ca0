"""Recording an import in the audit trail: one record, its changes, its counts, in its transaction."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from sqlalchemy import select

from breedhub.germplasm.audit import file_sha256, finish_import, record_changes, start_import
from breedhub.germplasm.db import transaction
from breedhub.germplasm.models_audit import DataImport, ImportChange
from breedhub.germplasm.reports import ImportReport


def test_file_sha256__matches_hashlib(tmp_path) -> None:
    p = tmp_path / "f.csv"
    p.write_bytes(b"INSTCODE,ACCENUMB\n" * 100_000)
    assert file_sha256(p) == hashlib.sha256(p.read_bytes()).hexdigest()


def test_start_import__records_changes_and_counts(engine) -> None:
    with transaction(engine) as session:
        rec = start_import(session, "passport", "p.csv", sha256="ab" * 32, options={"x": True})
        n = record_changes(
            session,
            rec.id,
            pl.DataFrame(
                {
                    "accession_id": [7, 8],
                    "action": ["insert", "update"],
                    "field": [None, "origcty"],
                    "old_value": [None, "PHL"],
                    "new_value": [None, "IND"],
                }
            ),
        )
        finish_import(
            session, rec, ImportReport("p.csv", "passport", rows=2, inserted=1, updated=1)
        )
        rec_id = rec.id
    assert n == 2
    with transaction(engine) as session:
        got = session.get(DataImport, rec_id)
        assert got is not None and got.counts["inserted"] == 1 and got.options == {"x": True}
        assert got.run_by  # the operating-system user
        changes = session.execute(
            select(ImportChange.accession_id, ImportChange.field, ImportChange.old_value)
            .where(ImportChange.import_id == rec_id)
            .order_by(ImportChange.accession_id)
        ).all()
    assert [tuple(c) for c in changes] == [(7, None, None), (8, "origcty", "PHL")]


def test_start_import__rolls_back_with_a_failed_import(engine) -> None:
    with pytest.raises(RuntimeError), transaction(engine) as session:
        start_import(session, "observations", "o.csv")
        raise RuntimeError("the import failed")
    with transaction(engine) as session:
        assert session.scalars(select(DataImport)).all() == []


def test_record_changes__refuses_an_unknown_action(engine) -> None:
    frame = pl.DataFrame(
        {
            "accession_id": [1],
            "action": ["rename"],
            "field": ["x"],
            "old_value": [None],
            "new_value": [None],
        }  # fmt: skip
    )
    with transaction(engine) as session:
        rec = start_import(session, "passport", "p.csv")
        with pytest.raises(ValueError, match="unknown change action"):
            record_changes(session, rec.id, frame)
