"""The breedhub web portal, BrAPI and upload API (Flask).

:func:`create_app` is the application factory (as in Flask's tutorial): it
reads the settings, binds the germplasm database (one engine per app, one
session per request, see :mod:`web.db`), registers the blueprints and the
error handlers. Blueprints:

``portal``
    Server-rendered pages for breeders: home, germplasm search, accession
    page (usable without JavaScript).
``api``
    JSON under ``/api/v1`` for scripts: the same search and accession detail.
``brapi``
    The BrAPI v2.1 server under ``/brapi/v2`` (:mod:`web.brapi`).
``uploads``, ``batches``
    Resumable uploads (tus 1.0) under ``/api/v1/uploads``; upload batches
    (a sample sheet and its files), their API and pages.
``auth``
    Login and logout; tokens, CSRF and rate limits for every blueprint
    (:mod:`web.auth`).

Any :class:`~breedhub.base.errors.BreedhubError` raised by a view becomes a JSON
error ``{"error": {"type", "message", "details"}}`` under ``/api`` (under
``/brapi`` the JSON string the BrAPI specification gives), or an HTML error
page elsewhere, with the exception's
``http_status``; any other exception is logged and answered with a plain 500
error in the same shapes: users never see a traceback.

Routes take database ids through the ``id`` converter (:class:`IdConverter`):
ASCII digits from 1 to :data:`~germplasm.queries.MAX_ID` (2**31 - 1: ids are
``INTEGER`` columns, 32-bit on PostgreSQL); anything else does not match the
route, so an id beyond that range is simply not found (404).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, ValidationError

from breedhub.base.config import Settings
from breedhub.base.errors import BreedhubError
from breedhub.germplasm.queries import MAX_ID

__all__ = ["MAX_ID", "IdConverter", "create_app"]

JSON_PREFIXES = ("/api", "/brapi")


class IdConverter(BaseConverter):
    """A database id in a URL: ASCII digits, 1 to :data:`MAX_ID` (``<id:accession_id>``).

    Werkzeug's ``int`` converter matches any Unicode digit (``/germplasm/٣``
    is accession 3 to it) and has no upper bound, so an id beyond the column's
    range reached PostgreSQL and overflowed.
    """

    regex = r"[0-9]+"
    weight = 50

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_ID)) or not 1 <= int(value) <= MAX_ID:
            raise ValidationError()
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the breedhub web application.

    Parameters
    ----------
    test_config
        Configuration that overrides the defaults, e.g.
        ``{"DATABASE_URL": "sqlite:///...", "TESTING": True}``. Keys used:
        ``DATABASE_URL`` (default: ``Settings.from_env().database_url``) and
        ``BREEDHUB_HOME`` (default: ``Settings.from_env().home``).

    Returns
    -------
    Flask
        The application, its database checked and bound.

    Raises
    ------
    germplasm.DatabaseSetupError
        If the database is unreachable or not at the current schema.
    """
    app = Flask(__name__)
    config = dict(test_config or {})
    settings = Settings.from_env(config.get("BREEDHUB_HOME"))
    app.config.from_mapping(
        # Signs cookies; set BREEDHUB_SECRET_KEY so it survives restarts and is shared by workers.
        SECRET_KEY=os.environ.get("BREEDHUB_SECRET_KEY") or secrets.token_hex(32),
        DATABASE_URL=settings.database_url,
        BREEDHUB_HOME=str(settings.home),
        QUEUE_URL=settings.queue_url,
    )
    app.config.from_mapping(config)

    from breedhub.web import db

    db.init_app(app, app.config["DATABASE_URL"])
    app.url_map.converters["id"] = IdConverter

    from breedhub.web import (
        admin,
        api,
        auth,
        batches,
        brapi,
        crosses,
        dashboard,
        i18n,
        jobs,
        portal,
        predictions,
        runs,
        selection,
        uploads,
    )

    auth.init_app(app)
    i18n.init_app(app)
    for module in (
        portal,
        api,
        brapi,
        uploads,
        batches,
        dashboard,
        predictions,
        selection,
        crosses,
        runs,
        jobs,
        admin,
    ):
        app.register_blueprint(module.bp)

    app.register_error_handler(BreedhubError, _handle_breedhub_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected_error)
    return app


def wants_json() -> bool:
    """True when the request is for an API path (errors answered as JSON)."""
    path = request.path
    return any(path == p or path.startswith(p + "/") for p in JSON_PREFIXES)


def _error_response(
    status: int, kind: str, message: str, details: list[dict[str, object]], title: str
) -> tuple[Response | str, int]:
    if request.path == "/brapi" or request.path.startswith("/brapi/"):
        # The BrAPI specification's error body is a JSON string.
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = jsonify(f"ERROR - {stamp} - {message}")
    elif wants_json():
        response = jsonify({"error": {"type": kind, "message": message, "details": details}})
    else:
        return render_template("error.html", status=status, title=title, message=message), status
    if status == 401:  # RFC 6750: say how to authenticate
        response.headers["WWW-Authenticate"] = 'Bearer realm="breedhub"'
    return response, status


def _handle_breedhub_error(exc: BreedhubError) -> tuple[Response | str, int]:
    status = exc.http_status
    title = "Not found" if status == 404 else "Something is wrong with the request"
    if status >= 500:
        title = "Service unavailable" if status == 503 else "Server error"
    return _error_response(status, type(exc).__name__, str(exc), exc.details(), title)


def _handle_http_exception(exc: HTTPException) -> tuple[Response | str, int] | HTTPException:
    if exc.code is None:  # a redirect or a response, not an error
        return exc
    message = exc.description or exc.name
    if isinstance(exc, NotFound) and exc.description == NotFound.description:
        message = "There is no page at this address. Try the search, or go back to the home page."
    return _error_response(exc.code, type(exc).__name__, message, [], exc.name)


def _handle_unexpected_error(exc: Exception) -> tuple[Response | str, int]:
    """A bug or an outage: log the traceback, show the user a plain 500 without it."""
    current_app.logger.error(
        "Unhandled exception on %s %s", request.method, request.path, exc_info=exc
    )
    message = "Something went wrong on our side. It has been logged; please try again later."
    try:
        return _error_response(500, "InternalServerError", message, [], "Server error")
    except Exception:  # the error page itself failed (e.g. the database is down)
        current_app.logger.exception("The 500 error page failed too")
        return "Error 500: server error. Please try again later.", 500
