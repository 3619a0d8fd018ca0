"""Who may see and do what: roles, institutes, public and restricted records.

Every trial, genotype dataset, model run, job, selection list and selection
index belongs to an institute and is ``public`` or ``restricted``. A
restricted record is seen by the members of its institute and by admins
only; everyone else (anonymous visitors included) is told it does not exist,
so its existence is not revealed either.

Roles (DESIGN.md): a ``breeder`` reads, and keeps its own lists and indexes;
a ``bioinformatician`` also runs model fits and workflows; an ``uploader``
also writes within its institute; an ``admin`` does everything and manages
users and institutes.

>>> anyone = Viewer.anonymous()
>>> anyone.may("run")
False
>>> Viewer(user_id=1, role="bioinformatician", institute_id=3).may("run")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from breedhub.germplasm.models import ROLES, VISIBILITY, User

__all__ = ["ACTIONS", "VISIBILITY", "Viewer", "authenticate", "visible_clause"]

#: action -> the roles that may do it
ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ROLES,
    "keep_lists": ROLES,
    "run": ("bioinformatician", "admin"),
    "upload": ("uploader", "admin"),
    "admin": ("admin",),
}


@dataclass(frozen=True)
class Viewer:
    """The person (or token) a request acts for.

    Attributes
    ----------
    user_id
        None for an anonymous visitor.
    role
        One of :data:`~germplasm.models.ROLES`, or ``""`` when anonymous.
    institute_id
        The user's institute, if any.
    """

    user_id: int | None = None
    role: str = ""
    institute_id: int | None = None

    @classmethod
    def anonymous(cls) -> Viewer:
        """A visitor who has not logged in: public records only, no actions."""
        return cls()

    @property
    def is_admin(self) -> bool:
        """True for an admin."""
        return self.role == "admin"

    @property
    def authenticated(self) -> bool:
        """True for a logged-in user or a valid token."""
        return self.user_id is not None

    def may(self, action: str) -> bool:
        """True when the viewer's role allows ``action`` (a key of :data:`ACTIONS`).

        Raises
        ------
        KeyError
            For an unknown action (a programming error).
        """
        return self.authenticated and self.role in ACTIONS[action]

    def sees(self, record: Any) -> bool:
        """True when ``record`` (any model with ``visibility`` and ``institute_id``) is visible."""
        if record is None:
            return False
        if getattr(record, "visibility", "public") == "public" or self.is_admin:
            return True
        return self.institute_id is not None and record.institute_id == self.institute_id

    def owns(self, record: Any) -> bool:
        """True when the viewer may change ``record`` (a list or index): its owner or an admin."""
        return self.is_admin or (
            self.user_id is not None and getattr(record, "owner_id", None) == self.user_id
        )


def visible_clause(model: Any, viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause keeping the rows of ``model`` that ``viewer`` may see.

    Parameters
    ----------
    model
        A mapped class with ``visibility`` and ``institute_id`` columns.
    viewer
        Who is looking.

    Returns
    -------
    ColumnElement
        ``visibility = 'public' OR institute_id = <the viewer's>`` (true for admins).
    """
    if viewer.is_admin:
        return true()
    mine = model.institute_id == viewer.institute_id if viewer.institute_id else false()
    return or_(model.visibility == "public", mine)


#: A hash of no one's password, checked when there is no such user.
_DUMMY_HASH = "scrypt$" + "00" * 16 + "$" + "00" * 64


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user ``username`` if ``password`` is theirs, else None (whatever was wrong).

    Parameters
    ----------
    session
        An open database session.
    username, password
        What the person typed.

    Returns
    -------
    User or None
    """
    from breedhub.germplasm.users import check_password

    if "\x00" in username or "\x00" in password or len(username) > 100:
        return None
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or not user.password_hash:
        check_password(_DUMMY_HASH, password)  # as slow as a real check: names do not leak
        return None
    return user if check_password(user.password_hash, password) else None
