"""The administration page: users and institutes, admins only (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from sqlalchemy import select

from breedhub.germplasm import transaction
from breedhub.germplasm.models import Institute, User
from breedhub.web.db import get_engine
from tests.web.conftest import bearer, csrf_token, login


def _admin(client):
    login(client, "admin")
    return csrf_token(client, "/admin")


def _user(app, username: str) -> User:
    with transaction(get_engine(app)) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        s.expunge(user)
        return user


def _institute(app, code: str) -> Institute | None:
    with transaction(get_engine(app)) as s:
        inst = s.scalars(select(Institute).where(Institute.code == code)).first()
        if inst is not None:
            s.expunge(inst)
        return inst


NEW_USER = {
    "username": "dana",
    "full_name": "Dana Ortiz",
    "email": "dana@example.org",
    "role": "bioinformatician",
    "institute": "phl001",
    "password": "a-long-enough-pw",
}


def test_admin__anonymous_sent_to_login(client, accounts):
    resp = client.get("/admin")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=/admin")


def test_admin__other_roles_403(client, accounts):
    for name in ("bea", "bio", "upl"):
        login(client, name)
        assert client.get("/admin").status_code == 403
        resp = client.post("/admin/users", data={"csrf_token": csrf_token(client, "/"), **NEW_USER})
        assert resp.status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_admin__lists_users_and_institutes(client, accounts):
    login(client, "admin")
    resp = client.get("/admin")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for name in ("admin", "bea", "bio", "upl", "chen", "PHL001", "CHN999", "International Rice"):
        assert name in html
    assert html.count('name="csrf_token"') >= 3


def test_admin__last_token_use_shown(client, accounts):
    login(client, "admin")
    assert "never" in client.get("/admin").get_data(as_text=True)
    client.get("/api/v1/germplasm", headers=bearer(accounts.tokens["chen"]))
    html = client.get("/admin").get_data(as_text=True)
    row = re.search(rf'<tr id="user-{accounts.ids["chen"]}".*?</tr>', html, re.S).group(0)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)


def test_add__user_can_then_log_in(app, client, accounts):
    token = _admin(client)
    resp = client.post("/admin/users", data={"csrf_token": token, **NEW_USER})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin"
    assert "User dana added as bioinformatician" in client.get("/admin").get_data(as_text=True)
    user = _user(app, "dana")
    assert (user.full_name, user.email, user.role) == ("Dana Ortiz", "dana@example.org",
                                                       "bioinformatician")  # fmt: skip
    assert _institute(app, "PHL001").id == user.institute_id
    other = app.test_client()
    login(other, "dana", "a-long-enough-pw")
    assert other.get("/runs").status_code == 200


def test_add__without_csrf_400(app, client, accounts):
    _admin(client)
    assert client.post("/admin/users", data=NEW_USER).status_code == 400
    with transaction(get_engine(app)) as s:
        assert s.scalars(select(User).where(User.username == "dana")).first() is None


def test_add__duplicate_username_400_with_message(client, accounts):
    token = _admin(client)
    resp = client.post("/admin/users", data={"csrf_token": token, **NEW_USER, "username": "bea"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "user &#39;bea&#39; already exists" in html or "user 'bea' already exists" in html
    assert 'value="Dana Ortiz"' in html  # the form keeps what was typed
    assert "a-long-enough-pw" not in html  # but never the password


def test_add__bad_fields_400(client, accounts):
    token = _admin(client)
    cases = [
        ({"username": "no spaces"}, "use letters, digits"),
        ({"username": ""}, "use letters, digits"),
        ({"role": "king"}, "is not one of"),
        ({"institute": "XYZ123"}, "unknown institute"),
        ({"role": "uploader", "institute": ""}, "uploader"),
        ({"password": "short"}, "at least 10 characters"),
        ({"full_name": "a\x00b"}, "control characters"),
        ({"email": "x" * 300}, "at most 200 characters"),
    ]
    for change, message in cases:
        resp = client.post("/admin/users", data={"csrf_token": token, **NEW_USER, **change})
        assert resp.status_code == 400, change
        assert message in resp.get_data(as_text=True), change


def test_add__no_password_is_a_token_only_account(app, client, accounts):
    token = _admin(client)
    data = {"csrf_token": token, **NEW_USER, "password": ""}
    assert client.post("/admin/users", data=data).status_code == 302
    assert _user(app, "dana").password_hash == ""
    other = app.test_client()
    resp = other.post("/login", data={"csrf_token": csrf_token(other), "username": "dana",
                                      "password": ""})  # fmt: skip
    assert resp.status_code in (400, 401)


def test_role__changed_and_takes_effect_at_once(app, client, accounts):
    token = _admin(client)
    bea = app.test_client()
    login(bea, "bea")
    assert bea.get("/admin").status_code == 403
    resp = client.post(f"/admin/users/{accounts.ids['bea']}/role",
                       data={"csrf_token": token, "role": "admin"})  # fmt: skip
    assert resp.status_code == 302
    assert _user(app, "bea").role == "admin"
    assert bea.get("/admin").status_code == 200  # the session reads the role on each request


def test_role__admin_cannot_demote_themselves(app, client, accounts):
    token = _admin(client)
    resp = client.post(f"/admin/users/{accounts.ids['admin']}/role",
                       data={"csrf_token": token, "role": "breeder"})  # fmt: skip
    assert resp.status_code == 400
    assert "cannot demote yourself" in resp.get_data(as_text=True)
    assert _user(app, "admin").role == "admin"


def test_role__bad_role_or_unknown_user(client, accounts):
    token = _admin(client)
    resp = client.post(f"/admin/users/{accounts.ids['bea']}/role",
                       data={"csrf_token": token, "role": "king"})  # fmt: skip
    assert resp.status_code == 400
    resp = client.post("/admin/users/999999/role", data={"csrf_token": token, "role": "breeder"})
    assert resp.status_code == 404


def test_institute__moved_and_unknown_code_400(app, client, accounts):
    token = _admin(client)
    url = f"/admin/users/{accounts.ids['bea']}/institute"
    assert client.post(url, data={"csrf_token": token, "institute": "CHN999"}).status_code == 302
    assert _user(app, "bea").institute_id == _institute(app, "CHN999").id
    resp = client.post(url, data={"csrf_token": token, "institute": "ZZZ000"})
    assert resp.status_code == 400 and "unknown institute" in resp.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": token, "institute": ""}).status_code == 302
    assert _user(app, "bea").institute_id is None
    upl = f"/admin/users/{accounts.ids['upl']}/institute"
    resp = client.post(upl, data={"csrf_token": token, "institute": ""})
    assert resp.status_code == 400 and "uploader" in resp.get_data(as_text=True)


def test_deactivate__no_login_no_token_then_reactivate(app, client, accounts):
    token = _admin(client)
    bea = app.test_client()
    login(bea, "bea")
    resp = client.post(f"/admin/users/{accounts.ids['bea']}/deactivate", data={"csrf_token": token})
    assert resp.status_code == 302
    assert not _user(app, "bea").active
    assert bea.get("/account").status_code == 302  # the open session ends
    other = app.test_client()
    resp = other.post("/login", data={"csrf_token": csrf_token(other), "username": "bea",
                                      "password": "pw-bea"})  # fmt: skip
    assert resp.status_code == 401
    assert other.get("/api/v1/germplasm", headers=bearer(accounts.tokens["bea"])).status_code == 401
    resp = client.post(f"/admin/users/{accounts.ids['bea']}/reactivate", data={"csrf_token": token})
    assert resp.status_code == 302 and _user(app, "bea").active
    assert other.get("/api/v1/germplasm", headers=bearer(accounts.tokens["bea"])).status_code == 200


def test_deactivate__not_yourself_nor_the_last_admin(app, client, accounts):
    token = _admin(client)
    resp = client.post(f"/admin/users/{accounts.ids['admin']}/deactivate",
                       data={"csrf_token": token})  # fmt: skip
    assert resp.status_code == 400
    assert "cannot deactivate yourself" in resp.get_data(as_text=True)
    assert _user(app, "admin").active


def test_password__reset_by_admin(app, client, accounts):
    token = _admin(client)
    url = f"/admin/users/{accounts.ids['chen']}/password"
    resp = client.post(url, data={"csrf_token": token, "password": "short"})
    assert resp.status_code == 400 and "at least 10" in resp.get_data(as_text=True)
    assert (
        client.post(url, data={"csrf_token": token, "password": "brand-new-pw-1"}).status_code
        == 302
    )
    other = app.test_client()
    login(other, "chen", "brand-new-pw-1")


def test_institutes__add_rename_and_bad_code(app, client, accounts):
    token = _admin(client)
    data = {"csrf_token": token, "code": "nld037", "name": "CGN Wageningen", "country": ""}
    resp = client.post("/admin/institutes", data=data)
    assert resp.status_code == 302
    inst = _institute(app, "NLD037")
    assert (inst.name, inst.country) == ("CGN Wageningen", "NLD")  # country from the code
    data["name"] = "Centre for Genetic Resources, the Netherlands"
    assert client.post("/admin/institutes", data=data).status_code == 302
    assert _institute(app, "NLD037").name.startswith("Centre for Genetic")
    assert "Institute NLD037 updated" in client.get("/admin").get_data(as_text=True)
    for code in ("IRRI", "PH001", "PHL01", "PHL00001", "１２３ABC", "PHL 001", "a\x00b", ""):
        resp = client.post("/admin/institutes", data={**data, "code": code})
        assert resp.status_code == 400, code
    resp = client.post("/admin/institutes", data={**data, "code": "IRRI"})
    assert "not a FAO WIEWS code" in resp.get_data(as_text=True)
    resp = client.post("/admin/institutes", data={**data, "country": "XXX"})
    assert resp.status_code == 400 and "ISO 3166-1" in resp.get_data(as_text=True)
