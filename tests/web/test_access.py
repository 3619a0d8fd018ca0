"""The access rules users rely on (web/auth.py), on SQLite and PostgreSQL.

Tokens on the API (none: anonymous; wrong, malformed, expired, revoked or of a
deactivated user: 401 JSON), login and logout (wrong password, open
redirects, CSRF), rate limits per address and per user, the session cookie
ignored on the API, and passwords stored as scrypt hashes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from breedhub.germplasm import transaction
from breedhub.germplasm.models import ApiToken, Institute, Job, User
from breedhub.germplasm.users import add_user, create_token, hash_token
from breedhub.web import create_app
from breedhub.web.db import get_engine
from tests.web.conftest import bearer, csrf_token, login, populate


def _json_401(resp) -> dict:
    assert resp.status_code == 401, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    err = resp.get_json()["error"]
    assert err["type"] and err["message"]
    return err


# --- tokens on the API ---------------------------------------------------------------------


def test_api__no_token_reads_public_records(client, accounts):
    resp = client.get("/api/v1/germplasm")
    assert resp.status_code == 200 and resp.get_json()["total"] == 7


def test_api__valid_token_200(client, accounts):
    resp = client.get("/api/v1/germplasm", headers=bearer(accounts.tokens["bea"]))
    assert resp.status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer bh_madeup", "Bearer", "Bearer ", "Basic abc", "Token bh_x", "bh_madeup",
     "Bearer " + "x" * 5000, "Bearer bh_\x7fx"],
)  # fmt: skip
def test_api__bad_authorization_header_401_json(client, accounts, header):
    err = _json_401(client.get("/api/v1/germplasm", headers={"Authorization": header}))
    assert "token" in err["message"] or "Authorization" in err["message"]


def test_api__token_of_a_real_user_with_a_changed_letter_401(client, accounts):
    token = accounts.tokens["bea"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    _json_401(client.get("/api/v1/germplasm", headers=bearer(forged)))


def test_api__expired_token_401(app, client, accounts):
    with transaction(get_engine(app)) as s:
        token, rec = create_token(s, "bea", name="short", days=1)
    assert client.get("/api/v1/germplasm", headers=bearer(token)).status_code == 200
    with transaction(get_engine(app)) as s:
        rec = s.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
        rec.expires_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(
            minutes=1
        )
    err = _json_401(client.get("/api/v1/germplasm", headers=bearer(token)))
    assert "expired" in err["message"]


def test_api__revoked_token_401(app, client, accounts):
    with transaction(get_engine(app)) as s:
        rec = s.scalars(
            select(ApiToken).where(ApiToken.token_hash == hash_token(accounts.tokens["chen"]))
        ).one()
        rec.revoked = True
    _json_401(client.get("/api/v1/germplasm", headers=bearer(accounts.tokens["chen"])))
    _json_401(client.get("/api/v1/jobs/1", headers=bearer(accounts.tokens["chen"])))


def test_api__token_of_a_deactivated_user_401(app, client, accounts):
    with transaction(get_engine(app)) as s:
        s.get(User, accounts.ids["bio"]).active = False
    _json_401(client.get("/api/v1/germplasm", headers=bearer(accounts.tokens["bio"])))


def test_api__bad_token_401_even_on_a_404_path(client, accounts):
    """The token is checked before routing answers: no probing of paths with a bad token."""
    _json_401(client.get("/api/v1/nothing-here", headers=bearer("bh_madeup")))


# --- login and logout ----------------------------------------------------------------------


def _post_login(client, username: str, password: str, next_: str | None = None):
    url = "/login" if next_ is None else f"/login?next={next_}"
    data = {"csrf_token": csrf_token(client), "username": username, "password": password}
    return client.post(url, data=data)


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_login__wrong_password_401_no_session(client, accounts):
    resp = _post_login(client, "bea", "pw-wrong")
    assert resp.status_code == 401
    assert "Unknown username or wrong password" in resp.get_data(as_text=True)
    assert not _logged_in(client)


def test_login__unknown_user_same_answer(client, accounts):
    wrong_pw = _post_login(client, "bea", "pw-wrong").get_data(as_text=True)
    no_user = _post_login(client, "nobody", "pw-wrong")
    assert no_user.status_code == 401
    assert "Unknown username or wrong password" in no_user.get_data(as_text=True)
    assert "Unknown username or wrong password" in wrong_pw


def test_login__right_password_redirects_and_logs_in(client, accounts):
    resp = _post_login(client, "bea", "pw-bea")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert _logged_in(client)


def test_login__next_on_this_site_followed(client, accounts):
    resp = _post_login(client, "bea", "pw-bea", "/runs")
    assert resp.headers["Location"] == "/runs"


@pytest.mark.parametrize(
    "next_",
    ["//evil.com", "https://evil.com", "http://evil.com/x", "/\\evil.com", "\\\\evil.com",
     "javascript:alert(1)", "%2F%2Fevil.com", "///evil.com", "/%09/evil.com", "/%0A/evil.com",
     "https:/evil.com", "/%5Cevil.com"],
)  # fmt: skip
def test_login__next_to_another_host_goes_home(client, accounts, next_):
    resp = _post_login(client, "bea", "pw-bea", next_)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/", resp.headers["Location"]


def test_login__without_csrf_400(client, accounts):
    client.get("/login")
    resp = client.post("/login", data={"username": "bea", "password": "pw-bea"})
    assert resp.status_code == 400
    assert not _logged_in(client)


def test_login__wrong_csrf_400(client, accounts):
    client.get("/login")
    resp = client.post("/login", data={"csrf_token": "forged", "username": "bea",
                                       "password": "pw-bea"})  # fmt: skip
    assert resp.status_code == 400
    assert not _logged_in(client)


def test_login__deactivated_user_refused(app, client, accounts):
    with transaction(get_engine(app)) as s:
        s.get(User, accounts.ids["bea"]).active = False
    assert _post_login(client, "bea", "pw-bea").status_code == 401


def test_logout__needs_post_with_csrf(client, accounts):
    login(client, "bea")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert _logged_in(client)
    resp = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert resp.status_code == 302
    assert not _logged_in(client)


def test_login__password_change_ends_other_sessions(app, accounts):
    """Someone who stole a session must lose it when the password is reset."""
    thief = app.test_client()
    login(thief, "bea")
    owner = app.test_client()
    login(owner, "bea")
    resp = owner.post("/account/password", data={"csrf_token": csrf_token(owner, "/account"),
                                                  "password": "pw-bea",
                                                  "new_password": "a-fresh-password"})  # fmt: skip
    assert resp.status_code == 302
    assert not _logged_in(thief)


# --- the session cookie is ignored on the API -----------------------------------------------


def _restricted_job(app, code: str = "PHL001") -> int:
    with transaction(get_engine(app)) as s:
        inst = s.scalars(select(Institute).where(Institute.code == code)).one()
        job = Job(kind="model_run", institute_id=inst.id, visibility="restricted")
        s.add(job)
        s.flush()
        return job.id


def test_api__session_cookie_ignored(app, client, accounts):
    job_id = _restricted_job(app)
    login(client, "bea")
    assert client.get(f"/jobs/{job_id}").status_code == 200  # the page sees the session
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404  # the API does not
    ok = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(accounts.tokens["bea"]))
    assert ok.status_code == 200


def test_api__post_needs_no_csrf_but_a_token(client, accounts):
    """API calls are not CSRF-checked (no cookie counts there): a POST is judged by its token."""
    login(client, "admin")
    resp = client.post("/api/v1/germplasm", headers=bearer("bh_madeup"))
    _json_401(resp)


# --- passwords ------------------------------------------------------------------------------


def test_passwords__stored_as_scrypt_hashes(app, accounts):
    with transaction(get_engine(app)) as s:
        rows = s.execute(select(User.username, User.password_hash)).all()
    assert len(rows) == 5
    hashes = set()
    for username, stored in rows:
        assert stored.startswith("scrypt$"), username
        assert f"pw-{username}" not in stored
        _, salt, digest = stored.split("$")
        assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 64
        hashes.add(digest)
    assert len(hashes) == 5


def test_tokens__stored_as_sha256_only(app, accounts):
    with transaction(get_engine(app)) as s:
        rows = s.execute(select(ApiToken.token_hash, ApiToken.prefix)).all()
    stored = " ".join(h + p for h, p in rows)
    for token in accounts.tokens.values():
        assert token not in stored and hash_token(token) in stored


# --- rate limits ----------------------------------------------------------------------------


@pytest.fixture
def limited_app(db_url) -> Iterator[Flask]:
    """An app with rate limits on: 5 calls a minute for anonymous callers."""
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "RATELIMIT_ENABLED": True,
                      "RATELIMIT_ANONYMOUS": "5 per minute",
                      "RATELIMIT_USER": "8 per minute"})  # fmt: skip
    yield app
    get_engine(app).dispose()


@pytest.fixture
def limited_accounts(limited_app) -> dict[str, str]:

    populate(limited_app)
    tokens = {}
    with transaction(get_engine(limited_app)) as s:
        for name, role in (("bea", "breeder"), ("bio", "bioinformatician")):
            add_user(s, name, role=role, institute="PHL001", password=f"pw-{name}")
            tokens[name], _ = create_token(s, name)
    return tokens


def test_rate_limit__anonymous_sixth_call_429_json(limited_app, limited_accounts):
    client = limited_app.test_client()
    for _ in range(5):
        assert client.get("/api/v1/germplasm").status_code == 200
    resp = client.get("/api/v1/germplasm")
    assert resp.status_code == 429
    err = resp.get_json()["error"]
    assert "5 per 1 minute" in err["message"]
    assert resp.headers.get("Retry-After")


def test_rate_limit__anonymous_page_429_html(limited_app, limited_accounts):
    client = limited_app.test_client()
    for _ in range(5):
        assert client.get("/runs").status_code == 200
    page = client.get("/runs")
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "5 per 1 minute" in page.get_data(as_text=True)


def test_rate_limit__a_user_has_their_own_count(limited_app, limited_accounts):
    client = limited_app.test_client()
    for _ in range(6):
        client.get("/api/v1/germplasm")
    assert client.get("/api/v1/germplasm").status_code == 429
    token = limited_accounts["bea"]
    for _ in range(8):
        assert client.get("/api/v1/germplasm", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/germplasm", headers=bearer(token)).status_code == 429
    # another user is counted apart
    other = limited_accounts["bio"]
    assert client.get("/api/v1/germplasm", headers=bearer(other)).status_code == 200


def test_rate_limit__anonymous_callers_share_one_site_budget(db_url):
    """Ten addresses, four calls each, against a site budget of 12 anonymous calls a minute."""
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "RATELIMIT_ENABLED": True,
                      "RATELIMIT_ANONYMOUS": "100 per minute",
                      "RATELIMIT_ANONYMOUS_SITE": "12 per minute"})  # fmt: skip
    try:
        populate(app)
        with transaction(get_engine(app)) as s:
            token, _ = create_token(
                s, add_user(s, "bea", role="breeder", institute="PHL001").username
            )
        client = app.test_client()
        codes = [
            client.get("/api/v1/germplasm", environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
            for i in range(10)
            for _ in range(4)
        ]
        assert codes.count(200) == 12 and codes.count(429) == 28
        # a breeder with a token is not held back by the anonymous crowd
        assert client.get("/api/v1/germplasm", headers=bearer(token)).status_code == 200
    finally:
        get_engine(app).dispose()


def test_rate_limit__logged_in_pages_counted_per_user(limited_app, limited_accounts):
    client = limited_app.test_client()
    login(client, "bea")
    anon = limited_app.test_client()
    for _ in range(5):
        assert anon.get("/account").status_code == 302  # to the login page, but counted
    assert anon.get("/account").status_code == 429
    for _ in range(8):
        assert client.get("/account").status_code == 200  # bea's own count
    assert client.get("/account").status_code == 429


def test_rate_limit__login_post_20_per_minute_per_address(db_url):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "RATELIMIT_ENABLED": True,
                      "RATELIMIT_ANONYMOUS": "1000 per minute", "WTF_CSRF_ENABLED": False})  # fmt: skip
    try:
        client = app.test_client()
        data = {"username": "nobody", "password": "guess"}
        for i in range(20):
            assert client.post("/login", data=data).status_code == 401, i
        resp = client.post("/login", data=data)
        assert resp.status_code == 429
        assert "20 per 1 minute" in resp.get_data(as_text=True)
        # other pages from the address are not affected by the login limit
        assert client.get("/login").status_code == 200
    finally:
        get_engine(app).dispose()
