"""The account page: who you are, your password and your API tokens (routes of the ``admin`` blueprint).

Routes (any logged-in user; anonymous visitors are sent to the login page):

``GET /account``
    Role, institute, the password form and the user's API tokens (name,
    prefix, created, expires, last used, revoked).
``POST /account/password``
    Change one's password: ``password`` (the current one) and ``new_password``
    (at least :data:`~germplasm.users.MIN_PASSWORD_LENGTH` characters).
``POST /account/tokens``
    Create a token (``name``, ``days``: 1 to
    :data:`~germplasm.users.MAX_TOKEN_DAYS`, empty for no expiry). The token
    is shown once, on the page this answers (not through a redirect, so it is
    never kept in the session cookie); only its hash is stored.
``POST /account/tokens/<id>/revoke``
    Revoke one of one's tokens (an admin: anyone's); an API call with it is
    then a 401. Someone else's token is answered as an unknown one (404).

The blueprint is :data:`web.admin.bp` (``web/__init__.py`` registers it), so
the endpoints are ``admin.account``, ``admin.change_password``,
``admin.create_token`` and ``admin.revoke_token``.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user

from breedhub.germplasm.exceptions import NotFoundError
from breedhub.germplasm.users import (
    MAX_TOKEN_DAYS,
    MIN_PASSWORD_LENGTH,
    change_password,
    create_token,
    get_user,
    list_tokens,
    revoke_token,
)
from breedhub.web.admin import bp, field
from breedhub.web.auth import PortalUser, current_viewer, require
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError

_DAYS = re.compile(r"[0-9]{1,5}", re.ASCII)


def _page(status: int = 200, *, error: str = "", error_for: str = "", new_token: str = "",
          form: dict[str, str] | None = None) -> ResponseReturnValue:  # fmt: skip
    session = get_session()
    viewer = current_viewer()
    user = get_user(session, viewer.user_id or 0)
    resp = render_template(
        "admin/account.html",
        user=user,
        tokens=list_tokens(session, user.id),
        error=error,
        error_for=error_for,
        new_token=new_token,
        form=form or {},
        min_password=MIN_PASSWORD_LENGTH,
        max_days=MAX_TOKEN_DAYS,
    )
    # The page may show a new token: never cache it.
    return resp, status, {"Cache-Control": "no-store"}


def _days() -> int | None:
    raw = field("days", max_length=10)
    if not raw:
        return None
    if not _DAYS.fullmatch(raw) or not 1 <= int(raw) <= MAX_TOKEN_DAYS:
        raise InvalidParameterError(
            "days", f"a whole number of days from 1 to {MAX_TOKEN_DAYS}, or empty", raw[:40]
        )
    return int(raw)


@bp.get("/account")
@require("read")
def account() -> ResponseReturnValue:
    return _page()


@bp.post("/account/password", endpoint="change_password")
@require("read")
def change_own_password() -> ResponseReturnValue:
    session = get_session()
    try:
        old = field("password", max_length=500, strip=False)
        new = field("new_password", max_length=500, strip=False)
        user = change_password(session, current_viewer().user_id or 0, old, new)
    except (ValueError, InvalidParameterError) as exc:
        session.rollback()
        return _page(400, error=str(exc), error_for="password")
    session.commit()
    # Log in again: should sessions end when a password changes, this one goes on.
    login_user(PortalUser.from_row(user))
    flash("Your password is changed.")
    return redirect(url_for("admin.account"))


@bp.post("/account/tokens", endpoint="create_token")
@require("read")
def create_api_token() -> ResponseReturnValue:
    session = get_session()
    try:
        name = field("name", max_length=100)
        days = _days()
        token, _ = create_token(session, current_user.username, name=name, days=days)
    except (ValueError, InvalidParameterError) as exc:
        session.rollback()
        return _page(400, error=str(exc), error_for="token", form={"name": field_safe("name")})
    session.commit()
    return _page(201, new_token=token)


def field_safe(name: str) -> str:
    """The form field ``name`` to show again in a form, or ``""`` if it is unusable."""
    try:
        return field(name, max_length=200)
    except InvalidParameterError:
        return ""


@bp.post("/account/tokens/<id:token_id>/revoke", endpoint="revoke_token")
@require("read")
def revoke_api_token(token_id: int) -> ResponseReturnValue:
    session = get_session()
    viewer = current_viewer()
    try:
        rec = revoke_token(session, token_id, by=viewer.user_id or 0, is_admin=viewer.is_admin)
    except NotFoundError:
        abort(404, description=f"You have no API token with id {token_id}.")
    session.commit()
    flash(f"Token {rec.prefix}… ({rec.name or 'unnamed'}) is revoked: API calls with it now fail.")
    return redirect(url_for("admin.account"))
