"""Small helpers shared by the tests (no mocks: they read the real database)."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, func, select, text

from breedhub.germplasm.models import Base


def table_counts(engine: Engine) -> dict[str, int]:
    """Row count of every table."""
    with engine.connect() as c:
        return {
            t.name: c.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }


def database_fingerprint(engine: Engine) -> dict[str, str]:
    """A digest of every row of every table: equal digests mean an unchanged database."""
    out = {}
    with engine.connect() as c:
        for t in Base.metadata.sorted_tables:
            pk = ", ".join(col.name for col in t.primary_key.columns)
            rows = c.execute(text(f"SELECT * FROM {t.name} ORDER BY {pk}")).all()
            out[t.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out
