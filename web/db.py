"""The database of the web app: one engine per app, one session per request.

:func:`init_app` creates the engine from ``DATABASE_URL``, refuses a database
whose schema is not current, and stores a session factory in
``app.extensions["breedhub"]``. Views call :func:`get_session`, which opens a
session on first use in the request and keeps it in :data:`flask.g`; it is
closed (and any uncommitted work rolled back) when the app context ends.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from breedhub.germplasm.db import check_schema, make_engine, session_factory

EXTENSION = "breedhub"


def init_app(app: Flask, database_url: str) -> None:
    """Bind the database to ``app``.

    Raises
    ------
    germplasm.DatabaseSetupError
        If the database cannot be opened or is not at the current schema
        (the message says to run ``breedhub init``).
    """
    engine = make_engine(database_url)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    app.extensions[EXTENSION] = session_factory(engine)
    app.teardown_appcontext(close_session)


def get_sessionmaker(app: Flask | None = None) -> sessionmaker[Session]:
    """The session factory of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]


def get_engine(app: Flask | None = None) -> Engine:
    """The engine of ``app`` (default: the current app)."""
    bind = get_sessionmaker(app).kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def get_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_sessionmaker()()
    return g.db_session  # type: ignore[no-any-return]


def close_session(exc: BaseException | None = None) -> None:
    """Close the request's session, if one was opened (teardown callback)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
