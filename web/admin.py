"""The ``admin`` blueprint: the administration page (users and institutes) and the account page.

Routes (every form posts with a CSRF token; a refused change shows the page
again with the message and status 400; a change that is made is flashed and
redirected, POST/redirect/GET):

``GET /admin``
    Users (username, full name, role, institute, active, created, last token
    use) and institutes, with the forms below. Admins only: 403 for other
    roles, the login page for anonymous visitors.
``POST /admin/users``
    Add a user: ``username``, ``full_name``, ``email``, ``role``,
    ``institute`` (a WIEWS code or empty), ``password`` (empty: a token-only
    account).
``POST /admin/users/<id>/role``, ``.../institute``, ``.../password``
    Change a user's ``role``, ``institute`` or password (``password``).
``POST /admin/users/<id>/deactivate``, ``.../reactivate``
    A deactivated user can neither log in nor use an API token. An admin
    cannot deactivate or demote themselves, nor the last active admin.
``POST /admin/institutes``
    Add an institute, or rename it if its ``code`` exists (``name``, ``country``).

The account page (``/account``, any logged-in user: password and API tokens)
lives in :mod:`web.account` and is registered on this blueprint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from breedhub.germplasm.exceptions import DuplicateError, NotFoundError
from breedhub.germplasm.institutes import list_institutes, save_institute
from breedhub.germplasm.models import ROLES, User
from breedhub.germplasm.users import (
    MIN_PASSWORD_LENGTH,
    add_user,
    check_new_password,
    get_user,
    list_users,
    set_active,
    set_institute,
    set_password,
    set_role,
)
from breedhub.web.auth import current_viewer, require
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.search import check_text

bp = Blueprint("admin", __name__)

#: Errors of a form that are the user's to fix: the page again, with the message, status 400.
FORM_ERRORS = (ValueError, InvalidParameterError, DuplicateError, NotFoundError)


def field(name: str, *, max_length: int = 200, strip: bool = True) -> str:
    """The form field ``name`` checked by :func:`~web.search.check_text` (400 if unusable)."""
    raw = request.form.get(name, "")
    value = check_text(name, raw, max_length=max_length)
    return value.strip() if strip else value


def _page(
    status: int = 200,
    *,
    error: str = "",
    error_for: str = "",
    form: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    session = get_session()
    return render_template(
        "admin/admin.html",
        users=list_users(session),
        institutes=list_institutes(session),
        roles=ROLES,
        me=current_viewer().user_id,
        error=error,
        error_for=error_for,
        form=form or {},
        min_password=MIN_PASSWORD_LENGTH,
    ), status


def _apply(change: Callable[[Session], str], error_for: str) -> ResponseReturnValue:
    """Run ``change``; commit and flash its message, or show the page with the error (400)."""
    session = get_session()
    try:
        message = change(session)
    except FORM_ERRORS as exc:
        session.rollback()
        form = {k: v for k, v in request.form.items() if k not in ("password", "csrf_token")}
        return _page(400, error=str(exc), error_for=error_for, form=form)
    session.commit()
    flash(message)
    return redirect(url_for("admin.admin"))


def _user_or_404(session: Session, user_id: int) -> User:
    try:
        return get_user(session, user_id)
    except NotFoundError:
        abort(404, description=f"There is no user with id {user_id}.")


@bp.get("/admin")
@require("admin")
def admin() -> ResponseReturnValue:
    return _page()


@bp.post("/admin/users")
@require("admin")
def add() -> ResponseReturnValue:
    def change(session: Session) -> str:
        username = field("username", max_length=100)
        password = field("password", max_length=500, strip=False)
        if password:
            check_new_password(password)
        user = add_user(
            session, username, role=field("role", max_length=40),
            email=field("email"), full_name=field("full_name"),
            institute=field("institute", max_length=32) or None, password=password or None,
        )  # fmt: skip
        how = "" if password else " (no password: a token-only account)"
        return f"User {user.username} added as {user.role}{how}."

    return _apply(change, "add")


@bp.post("/admin/users/<id:user_id>/role")
@require("admin")
def role(user_id: int) -> ResponseReturnValue:
    _user_or_404(get_session(), user_id)

    def change(session: Session) -> str:
        user = set_role(session, user_id, field("role", max_length=40), by=current_viewer().user_id)
        return f"{user.username} is now {user.role}."

    return _apply(change, f"user-{user_id}")


@bp.post("/admin/users/<id:user_id>/institute")
@require("admin")
def institute(user_id: int) -> ResponseReturnValue:
    _user_or_404(get_session(), user_id)

    def change(session: Session) -> str:
        user = set_institute(session, user_id, field("institute", max_length=32) or None)
        where = user.institute.code if user.institute is not None else "no institute"
        return f"{user.username} now belongs to {where}."

    return _apply(change, f"user-{user_id}")


@bp.post("/admin/users/<id:user_id>/deactivate")
@require("admin")
def deactivate(user_id: int) -> ResponseReturnValue:
    _user_or_404(get_session(), user_id)

    def change(session: Session) -> str:
        user = set_active(session, user_id, False, by=current_viewer().user_id)
        return f"{user.username} is deactivated: no login, no API tokens."

    return _apply(change, f"user-{user_id}")


@bp.post("/admin/users/<id:user_id>/reactivate")
@require("admin")
def reactivate(user_id: int) -> ResponseReturnValue:
    _user_or_404(get_session(), user_id)

    def change(session: Session) -> str:
        user = set_active(session, user_id, True, by=current_viewer().user_id)
        return f"{user.username} is active again."

    return _apply(change, f"user-{user_id}")


@bp.post("/admin/users/<id:user_id>/password")
@require("admin")
def password(user_id: int) -> ResponseReturnValue:
    _user_or_404(get_session(), user_id)

    def change(session: Session) -> str:
        user = set_password(session, user_id, field("password", max_length=500, strip=False))
        return f"The password of {user.username} is reset; tell them to change it."

    return _apply(change, f"user-{user_id}")


@bp.post("/admin/institutes")
@require("admin")
def save_institute_form() -> ResponseReturnValue:
    def change(session: Session) -> str:
        inst, created = save_institute(
            session, field("code", max_length=32), name=field("name", max_length=300),
            country=field("country", max_length=40),
        )  # fmt: skip
        return f"Institute {inst.code} {'added' if created else 'updated'}."

    return _apply(change, "institute")


from breedhub.web import account  # noqa: E402, F401  (registers /account on this blueprint)
