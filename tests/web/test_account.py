"""The account page: who you are, your password, your API tokens (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from sqlalchemy import select

from breedhub.germplasm import transaction
from breedhub.germplasm.models import ApiToken, User
from breedhub.germplasm.users import hash_token
from breedhub.web.db import get_engine
from tests.web.conftest import bearer, csrf_token, login


def _new_token(client, name: str = "laptop", days: str = "30") -> tuple[str, str]:
    """Create a token on the account page; return it and the page's HTML."""
    resp = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account"),
                                                "name": name, "days": days})  # fmt: skip
    assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
    html = resp.get_data(as_text=True)
    return re.search(r'<code id="new-token">(bh_[^<]+)</code>', html).group(1), html


def _token_id(app, token: str) -> int:
    with transaction(get_engine(app)) as s:
        return s.scalars(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token))).one()


def test_account__anonymous_sent_to_login(client, accounts):
    resp = client.get("/account")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_account__shows_role_institute_and_tokens(client, accounts):
    login(client, "bea")
    html = client.get("/account").get_data(as_text=True)
    assert "breeder" in html and "PHL001" in html
    assert accounts.tokens["bea"][:10] in html  # the fixture's token, by its prefix
    assert accounts.tokens["bea"] not in html  # never the token itself


def test_create_token__shown_once_and_works_on_the_api(app, client, accounts):
    login(client, "bio")
    token, html = _new_token(client)
    assert "shown only this once" in html
    assert (
        "no-store"
        in client.post(
            "/account/tokens", data={"csrf_token": csrf_token(client, "/account"), "name": "b"}
        ).headers["Cache-Control"]
    )
    page = client.get("/account").get_data(as_text=True)
    assert token not in page and token[:10] in page and "laptop" in page
    resp = client.get("/api/v1/germplasm", headers=bearer(token))
    assert resp.status_code == 200
    with transaction(get_engine(app)) as s:
        rec = s.get(ApiToken, _token_id(app, token))
        assert rec.last_used_at is not None and rec.expires_at is not None
        assert rec.user.username == "bio" and rec.name == "laptop"


def test_create_token__no_expiry_when_days_empty(app, client, accounts):
    login(client, "bea")
    token, _ = _new_token(client, days="")
    with transaction(get_engine(app)) as s:
        assert s.get(ApiToken, _token_id(app, token)).expires_at is None


def test_create_token__bad_days_or_name_400(client, accounts):
    login(client, "bea")
    for days in ("0", "-1", "3651", "99999999999999999999", "²", "1e3", "x"):
        resp = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account"),
                                                    "name": "n", "days": days})  # fmt: skip
        assert resp.status_code == 400, days
        assert "days" in resp.get_data(as_text=True)
    resp = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account"),
                                                "name": "x" * 101, "days": "1"})  # fmt: skip
    assert resp.status_code == 400


def test_create_token__needs_csrf(client, accounts):
    login(client, "bea")
    assert client.post("/account/tokens", data={"name": "n", "days": "1"}).status_code == 400


def test_revoke_token__then_the_api_says_401(app, client, accounts):
    login(client, "bea")
    token, _ = _new_token(client)
    token_id = _token_id(app, token)
    resp = client.post(f"/account/tokens/{token_id}/revoke",
                       data={"csrf_token": csrf_token(client, "/account")})  # fmt: skip
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    assert "revoked" in client.get("/account").get_data(as_text=True)
    resp = client.get("/api/v1/germplasm", headers=bearer(token))
    assert resp.status_code == 401
    assert "revoked" in resp.get_json()["error"]["message"]
    # the other tokens of the user still work
    assert (
        client.get("/api/v1/germplasm", headers=bearer(accounts.tokens["bea"])).status_code == 200
    )


def test_revoke_token__someone_elses_is_404_admin_may(app, client, accounts):
    chen_token_id = _token_id(app, accounts.tokens["chen"])
    login(client, "bea")
    resp = client.post(f"/account/tokens/{chen_token_id}/revoke",
                       data={"csrf_token": csrf_token(client, "/account")})  # fmt: skip
    assert resp.status_code == 404
    assert (
        client.get("/api/v1/germplasm", headers=bearer(accounts.tokens["chen"])).status_code == 200
    )
    admin = app.test_client()
    login(admin, "admin")
    resp = admin.post(f"/account/tokens/{chen_token_id}/revoke",
                      data={"csrf_token": csrf_token(admin, "/account")})  # fmt: skip
    assert resp.status_code == 302
    assert (
        client.get("/api/v1/germplasm", headers=bearer(accounts.tokens["chen"])).status_code == 401
    )


def test_revoke_token__unknown_id_404(client, accounts):
    login(client, "bea")
    resp = client.post("/account/tokens/2147483647/revoke",
                       data={"csrf_token": csrf_token(client, "/account")})  # fmt: skip
    assert resp.status_code == 404


def test_change_password__old_and_new(app, client, accounts):
    login(client, "chen")

    def change(old: str, new: str):
        return client.post("/account/password", data={
            "csrf_token": csrf_token(client, "/account"), "password": old, "new_password": new})  # fmt: skip

    resp = change("wrong-password", "another-password")
    assert resp.status_code == 400 and "current password is wrong" in resp.get_data(as_text=True)
    resp = change("pw-chen", "short")
    assert resp.status_code == 400 and "at least 10 characters" in resp.get_data(as_text=True)
    assert change("pw-chen", "a-much-longer-password").status_code == 302
    assert client.get("/account").status_code == 200  # still logged in here
    with transaction(get_engine(app)) as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "chen")).one()
        assert stored.startswith("scrypt$") and "a-much-longer-password" not in stored
    other = app.test_client()
    login(other, "chen", "a-much-longer-password")
    resp = other.post("/login", data={"csrf_token": csrf_token(other), "username": "chen",
                                      "password": "pw-chen"})  # fmt: skip
    assert resp.status_code == 401
