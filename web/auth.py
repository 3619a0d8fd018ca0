"""Accounts in the portal and the API: login, tokens, roles, CSRF and rate limits.

- **Pages** log in with a username and password (:func:`login`), kept in a
  signed session cookie by Flask-Login; every form carries a CSRF token
  (Flask-WTF's ``CSRFProtect``).
- **The API** (``/api``, ``/brapi``) authenticates with a bearer token
  (``Authorization: Bearer bh_...``) made by ``breedhub user token`` or the
  account page, and only with it: a session cookie is ignored there, so an API
  call cannot be forged from another site and needs no CSRF token. A token
  that is wrong, expired, revoked or of an inactive user is a 401 on every
  call; no token is an anonymous caller, who reads public records only.
- **Rate limits** (Flask-Limiter) per user, or per address for anonymous
  callers (``RATELIMIT_ANONYMOUS``, ``RATELIMIT_USER``, from the environment's
  ``BREEDHUB_RATELIMIT_ANONYMOUS`` and ``BREEDHUB_RATELIMIT_USER``; storage in
  ``BREEDHUB_RATELIMIT_STORAGE``, memory by default, Redis in production).

Views ask :func:`current_viewer` who is acting, and guard themselves with
:func:`require` (401 for anonymous callers, 403 for a role that may not).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from breedhub.germplasm.access import Viewer
from breedhub.germplasm.models import User
from breedhub.germplasm.users import user_for_token

__all__ = [
    "PortalUser",
    "bp",
    "current_viewer",
    "init_app",
    "is_api_request",
    "limiter",
    "require",
]

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


def _rate_key() -> str:
    viewer = current_viewer()
    return f"user:{viewer.user_id}" if viewer.authenticated else f"ip:{get_remote_address()}"


def _caller_limit() -> str:
    from flask import current_app

    key = "RATELIMIT_USER" if current_viewer().authenticated else "RATELIMIT_ANONYMOUS"
    return str(current_app.config[key])


def _anonymous_site_limit() -> str:
    from flask import current_app

    return str(current_app.config["RATELIMIT_ANONYMOUS_SITE"])


def _not_anonymous_traffic() -> bool:
    return request.endpoint == "static" or current_viewer().authenticated


limiter = Limiter(
    key_func=_rate_key,
    default_limits=[_caller_limit],
    default_limits_exempt_when=lambda: request.endpoint == "static",
    # One budget shared by every anonymous caller, whatever their addresses:
    # a crawler farm cannot crowd out the breeders who are logged in.
    application_limits=[
        ApplicationLimit(
            _anonymous_site_limit,
            key_function=lambda: "anonymous",  # one count for all, not per address
            exempt_when=_not_anonymous_traffic,
        )
    ],
)


def _session_key(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@dataclass
class PortalUser(UserMixin):  # type: ignore[misc]
    """The logged-in user as Flask-Login keeps it (a copy, not a database row)."""

    id: int
    username: str
    role: str
    institute_id: int | None
    institute_code: str
    full_name: str
    session_key: str = ""

    def get_id(self) -> str:
        # The key changes with the password: a reset ends every other session.
        return f"{self.id}:{self.session_key}"

    @classmethod
    def from_row(cls, user: User) -> PortalUser:
        """Copy what the pages need from a :class:`~germplasm.models.User`."""
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            institute_id=user.institute_id,
            institute_code=user.institute.code if user.institute is not None else "",
            full_name=user.full_name,
            session_key=_session_key(user),
        )

    @property
    def viewer(self) -> Viewer:
        """The access rights of this user."""
        return Viewer(user_id=self.id, role=self.role, institute_id=self.institute_id)


def is_api_request() -> bool:
    """True for ``/api`` and ``/brapi`` paths: token authentication, JSON errors."""
    from breedhub.web import wants_json

    return wants_json()


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def _token_viewer() -> Viewer:
    from breedhub.web.db import get_session

    token = _bearer_token()
    if token is None:
        return Viewer.anonymous()
    if len(token) > 200 or not token.isprintable():
        abort(401, description="This API token is not valid.")
    session = get_session()
    user = user_for_token(session, token)
    if user is None:
        abort(401, description="This API token is not valid, has expired or was revoked.")
    session.commit()  # its last_used_at
    g.api_user = PortalUser.from_row(user)
    return Viewer(user_id=user.id, role=user.role, institute_id=user.institute_id)


def current_viewer() -> Viewer:
    """Who the current request acts for (cached on the request).

    API paths use the bearer token only; pages use the login session.
    A wrong token is answered 401 here.
    """
    if "viewer" not in g:
        if is_api_request():
            g.viewer = _token_viewer()
        elif current_user.is_authenticated:
            g.viewer = current_user.viewer
        else:
            g.viewer = Viewer.anonymous()
    return g.viewer  # type: ignore[no-any-return]


def require(action: str) -> Callable[[F], F]:
    """Guard a view: 401 when nobody is logged in, 403 when the role may not ``action``.

    On a page an anonymous visitor is sent to the login page instead of a 401.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            viewer = current_viewer()
            if not viewer.authenticated:
                if is_api_request():
                    abort(401, description="This call needs an API token (Authorization: Bearer).")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not viewer.may(action):
                abort(403, description=f"Your role ({viewer.role}) may not do this.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


@login_manager.user_loader
def _load_user(user_id: str) -> PortalUser | None:
    from breedhub.web.db import get_session

    raw_id, _, key = user_id.partition(":")
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 10:
        return None
    user = get_session().get(User, int(raw_id))
    if user is None or not user.active or not hmac.compare_digest(key, _session_key(user)):
        return None
    return PortalUser.from_row(user)


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[InputRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=500)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never redirect a user to another host after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("portal.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("portal.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], key_func=get_remote_address)
def login() -> ResponseReturnValue:
    from breedhub.germplasm.access import authenticate
    from breedhub.web.db import get_session

    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = authenticate(get_session(), form.username.data.strip(), form.password.data)
        if user is not None:
            login_user(PortalUser.from_row(user))
            flash(f"Logged in as {user.username}.")
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = ["Unknown username or wrong password."]
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    flash("Logged out.")
    return redirect(url_for("portal.home"))


def init_app(app: Flask) -> None:
    """Set up Flask-Login, CSRF protection and rate limits on ``app``."""
    env = os.environ.get
    app.config.setdefault("RATELIMIT_ANONYMOUS", env("BREEDHUB_RATELIMIT_ANONYMOUS", "300/minute"))
    app.config.setdefault("RATELIMIT_USER", env("BREEDHUB_RATELIMIT_USER", "3000/minute"))
    app.config.setdefault(
        "RATELIMIT_ANONYMOUS_SITE", env("BREEDHUB_RATELIMIT_ANONYMOUS_SITE", "6000/minute")
    )
    # memory:// counts per process; several gunicorn workers should share Redis.
    app.config.setdefault("RATELIMIT_STORAGE_URI", env("BREEDHUB_RATELIMIT_STORAGE", "memory://"))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's life
    # CSRF is checked below for pages only: the API authenticates by header, never by cookie.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    csrf.init_app(app)
    app.register_blueprint(bp)

    @app.before_request
    def _check_token_or_csrf() -> None:
        if is_api_request():
            current_viewer()  # a bad token is a 401 before any view runs
        elif request.method not in ("GET", "HEAD", "OPTIONS") and app.config.get(
            "WTF_CSRF_ENABLED", True
        ):
            csrf.protect()

    # After the token check, so that a rate limit is per user, not per address.
    limiter.init_app(app)

    @app.context_processor
    def _viewer_in_templates() -> dict[str, Any]:
        return {"viewer": current_viewer()}
