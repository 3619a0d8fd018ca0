"""Models of data exchange with other tools: saved BrAPI searches.

Kept apart from :mod:`germplasm.models` (the system of record) because
these rows are transient: a BrAPI client posts a search, gets its id and
fetches the results page by page; the rows expire after
:data:`SEARCH_LIFETIME`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from breedhub.germplasm.models import Base, JSONType, _now

#: How long a saved search can be fetched by its ``searchResultsDbId``.
SEARCH_LIFETIME = dt.timedelta(days=1)


class BrapiSearch(Base):
    """A BrAPI ``POST /search/{kind}`` request kept for ``GET /search/{kind}/{id}``.

    Only the request is kept, never the results: they are computed again,
    for the caller of the ``GET`` and with that caller's access rights, on
    each page fetched.
    """

    __tablename__ = "brapi_search"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, index=True)
