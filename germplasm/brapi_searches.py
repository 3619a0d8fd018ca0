"""Saved BrAPI searches: keep a ``POST /search/{kind}`` request, find it again by id."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from breedhub.germplasm.models import _now
from breedhub.germplasm.models_exchange import SEARCH_LIFETIME, BrapiSearch

__all__ = ["load_search", "save_search"]


def save_search(session: Session, kind: str, body: dict[str, Any], user_id: int | None) -> str:
    """Keep a search request and return its ``searchResultsDbId``.

    Searches older than :data:`~germplasm.models_exchange.SEARCH_LIFETIME`
    are deleted on the way, so the table never grows without bound.

    Parameters
    ----------
    session
        The session to write in (the caller commits).
    kind
        The BrAPI entity searched (``"germplasm"``, ``"observations"``, ...).
    body
        The search request, as posted.
    user_id
        Who searched (``None`` for an anonymous caller): only they can fetch it.

    Returns
    -------
    str
        An unguessable id (32 URL-safe characters).
    """
    session.execute(delete(BrapiSearch).where(BrapiSearch.created_at < _now() - SEARCH_LIFETIME))
    search_id = secrets.token_urlsafe(24)
    session.add(BrapiSearch(id=search_id, kind=kind, body=body, user_id=user_id))
    session.flush()
    return search_id


def load_search(
    session: Session, kind: str, search_id: str, user_id: int | None
) -> dict[str, Any] | None:
    """The request saved as ``search_id`` for ``kind`` by ``user_id``, or ``None``.

    A search of another kind, of another caller, or expired, is ``None``
    (not found) as an unknown id is.
    """
    row = session.get(BrapiSearch, search_id) if len(search_id) <= 64 else None
    if row is None or row.kind != kind or row.user_id != user_id:
        return None
    if row.created_at < _now() - SEARCH_LIFETIME:
        return None
    return dict(row.body)
