"""Shared fixtures: a migrated database on each real engine, and a data directory.

Every database test runs twice, on SQLite and on a real PostgreSQL server
that this module starts in a temporary directory from the PostgreSQL binaries
on the machine. Without them the PostgreSQL half skips locally; under
``CI=true`` it fails, so CI can never pass with the server missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from germplasm import init_database, load_registry, load_traits, make_engine

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_counter = itertools.count()


def _pg_bindir() -> Path | None:
    for cand in [os.environ.get("BREEDHUB_PG_BINDIR", "")] + sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), reverse=True
    ):
        if cand and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A throw-away PostgreSQL cluster in a temporary directory."""

    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root = bindir, root
        self.datadir = root / "data"
        self.port = _free_port()
        # initdb refuses to run as root: run the server as the postgres user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, text=True)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o700)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off",
        )

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
             "stop"], capture_output=True,
        )

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def variables(registry):
    return load_traits(registry)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory) -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL server with a migrated template database."""
    bindir = _pg_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("CI=true but no PostgreSQL binaries (pg_ctl) were found")
        yield None
        return
    root = Path(f"/tmp/breedhub-pg-{os.getpid()}")
    shutil.rmtree(root, ignore_errors=True)
    server = PostgresServer(bindir, root)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        if IN_CI:
            pytest.fail(f"could not start PostgreSQL: {exc.stderr}")
        yield None
        return
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


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
        admin = make_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("CREATE DATABASE bh_template"))
        admin.dispose()
        eng = make_engine(postgres.url("bh_template"))
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
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = make_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE bh_template"))
    admin.dispose()
    return postgres.url(name)


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
