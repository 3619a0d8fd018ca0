"""The app factory, the per-request session and the error handlers (web/__init__.py, web/db.py)."""

from __future__ import annotations

import re

import pytest
from flask import g
from sqlalchemy.orm import Session

from breedhub.germplasm import DatabaseSetupError, NotFoundError, make_engine
from breedhub.web import create_app
from breedhub.web.db import get_session, get_sessionmaker


def test_create_app__binds_sessionmaker(app):
    assert app.config["TESTING"] is True
    assert callable(get_sessionmaker(app))
    assert set(app.blueprints) >= {"portal", "api"}


def test_create_app__defaults_from_environment(home, db_url):
    app = create_app()
    assert app.config["DATABASE_URL"] == db_url
    assert app.config["BREEDHUB_HOME"] == str(home)


def test_create_app__unmigrated_database_raises(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    make_engine(url).dispose()
    with pytest.raises(DatabaseSetupError, match="breedhub init"):
        create_app({"DATABASE_URL": url})


def test_get_session__one_per_request_closed_at_teardown(app):
    with app.app_context():
        s1 = get_session()
        assert isinstance(s1, Session)
        assert get_session() is s1
        assert g.db_session is s1
    with app.app_context():
        assert get_session() is not s1


def _boom():
    raise NotFoundError("no accession 'X'")


def test_error_handler__json_under_api(app):
    app.add_url_rule("/api/v1/boom", "boom", _boom)
    resp = app.test_client().get("/api/v1/boom")
    assert resp.status_code == 404
    assert resp.json == {
        "error": {"type": "NotFoundError", "message": "no accession 'X'", "details": []}
    }


def test_error_handler__brapi_errors_are_the_specs_json_strings(app):
    app.add_url_rule("/brapi/v2/boom", "boom", _boom)
    resp = app.test_client().get("/brapi/v2/boom")
    assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert re.fullmatch(
        r"ERROR - \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ - .*no accession 'X'.*", resp.json
    )


def test_error_handler__html_for_pages(app):
    app.add_url_rule("/boom", "boom", _boom)
    resp = app.test_client().get("/boom")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert "no accession &#39;X&#39;" in resp.text


def test_not_found__html_page(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert "There is no page at this address" in resp.text
    assert "Traceback" not in resp.text


def test_not_found__json_under_api(client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.json["error"]["type"] == "NotFound"
