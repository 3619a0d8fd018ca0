"""Short-lived, per-process caches of what every page asks the database for (filter dropdowns).

The search page's dropdowns (species, institutes, variables) change only when
data is imported; building them took half of the search page's time. Each
gunicorn worker keeps them for :data:`TTL_SECONDS`, so an import shows up
within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")

#: How long a cached value is served.
TTL_SECONDS = 60.0
_LOCK = threading.Lock()


def cached(key: Hashable, build: Callable[[], T], *, ttl: float = TTL_SECONDS) -> T:
    """``build()``'s value, computed at most once per ``ttl`` seconds per app and ``key``.

    Parameters
    ----------
    key
        What is cached (``("institute_codes",)``...).
    build
        Computes the value (on a miss).
    ttl
        Seconds a value is served; 0 disables the cache (tests set
        ``app.config["CACHE_TTL"] = 0`` to see every change at once).

    Returns
    -------
    The value.
    """
    ttl = float(current_app.config.get("CACHE_TTL", ttl))
    store: dict[Hashable, tuple[float, Any]] = current_app.extensions.setdefault(
        "breedhub_cache", {}
    )
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]  # type: ignore[no-any-return]
    value = build()
    with _LOCK:
        store[key] = (now, value)
    return value
