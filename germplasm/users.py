"""Users, roles and API tokens.

A user has one role: ``breeder`` (read), ``bioinformatician`` (run pipelines),
``uploader`` (write within its institute) or ``admin``. API tokens are random
and shown once; only their SHA-256 is stored, so a stolen database yields no
usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from breedhub.germplasm.exceptions import DuplicateError, NotFoundError
from breedhub.germplasm.models import ROLES, ApiToken, Institute, User, _now

TOKEN_PREFIX = "bh_"


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """A salted scrypt hash, ``scrypt$salt$hash`` in hex."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """True when ``password`` matches a hash made by :func:`hash_password`."""
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(got.hex(), digest)


def add_user(
    session: Session,
    username: str,
    *,
    role: str,
    email: str = "",
    full_name: str = "",
    institute: str | None = None,
    password: str | None = None,
) -> User:
    """Create a user.

    Raises
    ------
    ValueError
        For an unknown role, an empty or malformed username, an uploader
        without an institute, or a field too long or with control characters.
    DuplicateError
        If the username is taken.
    NotFoundError
        If the institute code is unknown.
    """
    check_username(username)
    _check_text("email", email, 200)
    _check_text("full name", full_name, 200)
    if password:
        _check_text("password", password, MAX_PASSWORD_LENGTH)
    if role not in ROLES:
        raise ValueError(f"role {role[:40]!r} is not one of {', '.join(ROLES)}")
    if role == "uploader" and not institute:
        raise ValueError("an uploader writes within its institute: give --institute")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise DuplicateError(f"user {username!r} already exists")
    inst_id = _institute_id(session, institute)
    user = User(
        username=username,
        role=role,
        email=email,
        full_name=full_name,
        institute_id=inst_id,
        password_hash=hash_password(password) if password else "",
    )
    session.add(user)
    session.flush()
    return user


def create_token(
    session: Session, username: str, *, name: str = "", days: int | None = None
) -> tuple[str, ApiToken]:
    """Create an API token for a user; return the token (shown once) and its record.

    Raises
    ------
    NotFoundError
        If there is no such user.
    ValueError
        If ``days`` is not 1 to :data:`MAX_TOKEN_DAYS`, or ``name`` is too long.
    """
    _check_text("token name", name, 100)
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user {username[:100]!r}")
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValueError(f"days must be 1 to {MAX_TOKEN_DAYS}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    rec = ApiToken(
        user_id=user.id,
        name=name,
        prefix=token[:10],
        token_hash=hash_token(token),
        expires_at=_now() + dt.timedelta(days=days) if days else None,
    )
    session.add(rec)
    session.flush()
    return token, rec


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a valid, unexpired, unrevoked token belongs to, else None."""
    rec = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if rec is None or rec.revoked or (rec.expires_at is not None and rec.expires_at < _now()):
        return None
    if not rec.user.active:
        return None
    rec.last_used_at = _now()
    return rec.user


# --- administration: the admin and account pages, ``breedhub user`` ----------------------

#: The shortest password the portal accepts when one is set or changed.
MIN_PASSWORD_LENGTH = 10
#: The longest password hashed (scrypt takes any length; this bounds the work per request).
MAX_PASSWORD_LENGTH = 500
#: The longest life of an API token, in days.
MAX_TOKEN_DAYS = 3650


@dataclass(frozen=True)
class UserSummary:
    """One row of the users table of the admin page.

    Attributes
    ----------
    id, username, full_name, email, role, active, created_at
        As in :class:`~germplasm.models.User`.
    institute_code
        The WIEWS code of the user's institute, ``""`` when none.
    last_token_use
        When one of the user's API tokens was last used, None if never.
    n_tokens
        How many tokens the user has that are not revoked.
    """

    id: int
    username: str
    full_name: str
    email: str
    role: str
    institute_code: str
    active: bool
    created_at: dt.datetime | None
    last_token_use: dt.datetime | None
    n_tokens: int


def _check_text(name: str, value: str, max_length: int) -> str:
    """``value`` if it has no control characters and at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text, not {type(value).__name__}")
    bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise ValueError(f"{name} must not contain control characters (found U+{ord(bad):04X})")
    if len(value) > max_length:
        raise ValueError(f"{name} must be at most {max_length} characters long, not {len(value)}")
    return value


def check_username(username: str) -> str:
    """``username`` if usable: 1 to 100 ASCII letters, digits, ``.``, ``-`` or ``_``.

    Raises
    ------
    ValueError
        Naming what is wrong.

    Examples
    --------
    >>> check_username("ana.lopez")
    'ana.lopez'
    >>> check_username("ana lopez")
    Traceback (most recent call last):
    ...
    ValueError: username 'ana lopez': use letters, digits, '.', '-' or '_'
    """
    if not username or not re.fullmatch(r"[A-Za-z0-9._-]+", username):
        raise ValueError(f"username {username[:40]!r}: use letters, digits, '.', '-' or '_'")
    if len(username) > 100:
        raise ValueError(f"username must be at most 100 characters long, not {len(username)}")
    return username


def check_new_password(password: str) -> str:
    """``password`` if it may be set: :data:`MIN_PASSWORD_LENGTH` to 500 characters.

    Raises
    ------
    ValueError
        If it is too short, too long or holds control characters.
    """
    _check_text("password", password, MAX_PASSWORD_LENGTH)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters long")
    return password


def get_user(session: Session, user_id: int) -> User:
    """The user with id ``user_id``.

    Raises
    ------
    NotFoundError
        If there is none.
    """
    user = session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def user_by_name(session: Session, username: str) -> User:
    """The user called ``username`` (as typed at login).

    Raises
    ------
    NotFoundError
        If there is none.
    """
    _check_text("username", username, 200)
    user = session.scalars(select(User).where(User.username == username.strip())).first()
    if user is None:
        raise NotFoundError(f"no user called {username[:40]!r}")
    return user


def list_users(session: Session) -> list[UserSummary]:
    """Every user, by username, with institute and last token use (the admin page's table)."""
    last = (
        select(
            ApiToken.user_id,
            func.max(ApiToken.last_used_at).label("last_used"),
            func.count(ApiToken.id).filter(ApiToken.revoked.is_(False)).label("n_tokens"),
        )
        .group_by(ApiToken.user_id)
        .subquery()
    )
    rows = session.execute(
        select(User, Institute.code, last.c.last_used, last.c.n_tokens)
        .outerjoin(Institute, User.institute_id == Institute.id)
        .outerjoin(last, last.c.user_id == User.id)
        .order_by(User.username)
    )
    return [
        UserSummary(
            id=u.id,
            username=u.username,
            full_name=u.full_name,
            email=u.email,
            role=u.role,
            institute_code=code or "",
            active=u.active,
            created_at=u.created_at,
            last_token_use=last_used,
            n_tokens=n or 0,
        )  # fmt: skip
        for u, code, last_used, n in rows
    ]


def _institute_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    _check_text("institute", code, 32)
    inst = session.scalars(select(Institute).where(Institute.code == code.strip().upper())).first()
    if inst is None:
        raise NotFoundError(f"unknown institute {code[:40]!r}")
    return inst.id


def _other_active_admins(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(User.id)).where(
                User.role == "admin", User.active.is_(True), User.id != user_id
            )
        )
        or 0
    )


def _guard_admin_change(session: Session, user: User, by: int | None, what: str) -> None:
    """Refuse to demote or deactivate oneself, or the last active admin."""
    if by is not None and by == user.id:
        raise ValueError(f"you cannot {what} yourself: ask another admin")
    if user.role == "admin" and user.active and _other_active_admins(session, user.id) == 0:
        raise ValueError(f"{user.username} is the last active admin: make another admin first")


def set_role(session: Session, user_id: int, role: str, *, by: int | None = None) -> User:
    """Give user ``user_id`` the role ``role``.

    Parameters
    ----------
    session
        An open session (the caller commits).
    user_id
        The user to change.
    role
        One of :data:`~germplasm.models.ROLES`.
    by
        The id of the admin making the change: an admin may not demote themselves.

    Raises
    ------
    ValueError
        For an unknown role, an uploader without an institute, a self-demotion
        or the demotion of the last active admin.
    NotFoundError
        If there is no such user.
    """
    if role not in ROLES:
        raise ValueError(f"role {role[:40]!r} is not one of {', '.join(ROLES)}")
    user = get_user(session, user_id)
    if user.role == "admin" and role != "admin":
        _guard_admin_change(session, user, by, "demote")
    if role == "uploader" and user.institute_id is None:
        raise ValueError(
            "an uploader writes within its institute: give the user an institute first"
        )
    user.role = role
    session.flush()
    return user


def set_active(session: Session, user_id: int, active: bool, *, by: int | None = None) -> User:
    """Deactivate (``active=False``) or reactivate a user.

    A deactivated user can neither log in nor use their API tokens (401);
    nothing of theirs is deleted.

    Raises
    ------
    ValueError
        When an admin deactivates themselves, or the last active admin.
    NotFoundError
        If there is no such user.
    """
    user = get_user(session, user_id)
    if not active and user.active:
        _guard_admin_change(session, user, by, "deactivate")
    user.active = bool(active)
    session.flush()
    return user


def set_password(session: Session, user_id: int, password: str) -> User:
    """Set a user's password (an admin's reset); see :func:`check_new_password`.

    Raises
    ------
    ValueError
        If the password is too short or too long.
    NotFoundError
        If there is no such user.
    """
    check_new_password(password)
    user = get_user(session, user_id)
    user.password_hash = hash_password(password)
    session.flush()
    return user


def change_password(session: Session, user_id: int, old: str, new: str) -> User:
    """A user changes their own password, proving they know the current one.

    Raises
    ------
    ValueError
        If ``old`` is not the current password, or ``new`` is not acceptable.
    """
    user = get_user(session, user_id)
    if len(old) > MAX_PASSWORD_LENGTH or not check_password(user.password_hash, old):
        raise ValueError("the current password is wrong")
    check_new_password(new)
    if new == old:
        raise ValueError("the new password must differ from the current one")
    user.password_hash = hash_password(new)
    session.flush()
    return user


def set_institute(session: Session, user_id: int, code: str | None) -> User:
    """Move a user to the institute ``code`` (a WIEWS code), or to none (``""``/None).

    Raises
    ------
    ValueError
        When an uploader would be left without an institute.
    NotFoundError
        For an unknown user or institute code.
    """
    user = get_user(session, user_id)
    inst_id = _institute_id(session, code)
    if inst_id is None and user.role == "uploader":
        raise ValueError("an uploader writes within its institute: it needs one")
    user.institute_id = inst_id
    session.flush()
    return user


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """The API tokens of a user, newest first (revoked ones too)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, token_id: int, *, by: int, is_admin: bool = False) -> ApiToken:
    """Revoke token ``token_id``: its owner (``by``) or an admin may.

    Parameters
    ----------
    session
        An open session (the caller commits).
    token_id
        The token's id (``ApiToken.id``, not the token).
    by
        The id of the user revoking it.
    is_admin
        True when ``by`` is an admin, who may revoke anyone's token.

    Raises
    ------
    NotFoundError
        If there is no such token, or it is someone else's: the same answer,
        so that nobody learns which token ids exist.
    """
    rec = session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if rec is None or (rec.user_id != by and not is_admin):
        raise NotFoundError(f"no token with id {token_id}")
    rec.revoked = True
    session.flush()
    return rec
