"""Engines, sessions and schema migrations of the germplasm database.

The schema is only ever created or changed by the Alembic migrations in
``germplasm/migrations`` (:func:`upgrade`); :func:`open_database` refuses a
database that is not at the current revision, so a forgotten ``breedhub init``
is a clear message, not a confusing SQL error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from breedhub.germplasm.exceptions import DatabaseSetupError


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite turn on foreign keys and WAL.

    Parameters
    ----------
    url
        SQLAlchemy database URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            # 128 MiB of page cache: bulk imports insert into several indexes at random keys.
            cur.execute("PRAGMA cache_size=-131072")
            cur.close()

    return engine


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("breedhub.germplasm") / "migrations")
    )
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision(engine: Engine) -> str:
    """The newest migration revision shipped with this version."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise DatabaseSetupError(f"cannot open database {engine.url!r}: {exc.orig}") from None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision.

    Returns
    -------
    tuple
        The revision before and after.
    """
    before = current_revision(engine)
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision(engine)


def check_schema(engine: Engine) -> None:
    """Raise :class:`DatabaseSetupError` unless the schema is at the newest revision."""
    cur, head = current_revision(engine), head_revision(engine)
    if cur != head:
        state = "has no breedhub schema" if cur is None else f"is at revision {cur}, not {head}"
        raise DatabaseSetupError(
            f"database {engine.url.render_as_string(hide_password=True)} {state}: "
            "run `breedhub init` to create or upgrade it"
        )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session
