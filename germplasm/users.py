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
import secrets

from sqlalchemy import select
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
        For an unknown role, an empty username, or an uploader without an institute.
    DuplicateError
        If the username is taken.
    NotFoundError
        If the institute code is unknown.
    """
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"username {username!r}: use letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "uploader" and not institute:
        raise ValueError("an uploader writes within its institute: give --institute")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise DuplicateError(f"user {username!r} already exists")
    inst_id = None
    if institute:
        inst = session.scalars(select(Institute).where(Institute.code == institute.upper())).first()
        if inst is None:
            raise NotFoundError(f"unknown institute {institute!r}")
        inst_id = inst.id
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
    """Create an API token for a user; return the token (shown once) and its record."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    if days is not None and days < 1:
        raise ValueError("days must be 1 or more")
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
