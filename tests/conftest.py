"""Shared fixtures: a migrated database on each real engine, and a data directory.

Every database test runs twice, on SQLite and on a real PostgreSQL server
that this module starts in a temporary directory from the PostgreSQL binaries
on the machine. Without them the PostgreSQL half skips locally; under
``CI=true`` it fails, so CI can never pass with the server missing.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from breedhub.germplasm import init_database, load_registry, load_traits, make_engine
from breedhub.testing import PostgresServer, find_pg_bindir

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_counter = itertools.count()


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def variables(registry):
    return load_traits(registry)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory) -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL server with a migrated template database."""
    bindir = find_pg_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("CI=true but no PostgreSQL binaries (pg_ctl) were found")
        yield None
        return
    server = PostgresServer(bindir, Path(f"/tmp/breedhub-pg-{os.getpid()}"))
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        if IN_CI:
            pytest.fail(f"could not start PostgreSQL: {exc.stderr}")
        yield None
        return
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory, postgres, registry, variables) -> dict[str, str]:
    """A migrated, registry-loaded database per engine, copied for each test."""
    out = {}
    sqlite_path = tmp_path_factory.mktemp("template") / "template.sqlite"
    eng = make_engine(f"sqlite:///{sqlite_path}")
    init_database(eng, registry, variables)
    with eng.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    out["sqlite"] = str(sqlite_path)
    if postgres is not None:
        eng = make_engine(postgres.create_database("bh_template"))
        init_database(eng, registry, variables)
        eng.dispose()
        out["postgresql"] = "bh_template"
    return out


def new_database_url(kind: str, templates: dict[str, str], postgres, tmp_path: Path) -> str:
    """A fresh, migrated database of engine ``kind``; skips or fails when it is missing."""
    if kind == "sqlite":
        path = tmp_path / f"db{next(_counter)}.sqlite"
        shutil.copy(templates["sqlite"], path)
        return f"sqlite:///{path}"
    if postgres is None:
        if IN_CI:
            pytest.fail("CI=true but PostgreSQL is not available")
        pytest.skip("PostgreSQL binaries not found")
    return postgres.create_database(f"t{os.getpid()}_{next(_counter)}", template="bh_template")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, _templates, postgres, tmp_path) -> str:
    """URL of a fresh migrated database, once per engine."""
    return new_database_url(request.param, _templates, postgres, tmp_path)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def home(tmp_path, db_url, monkeypatch) -> Path:
    """A data directory whose settings point at the fresh database (for CLI and web)."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("BREEDHUB_HOME", str(h))
    monkeypatch.setenv("BREEDHUB_DATABASE_URL", db_url)
    return h


DATA = Path(__file__).parent / "data"
