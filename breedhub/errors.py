"""The root of every exception breedhub raises on purpose.

Each package has its own exception module (``germplasm/exceptions.py`` ...)
whose classes derive from :class:`BreedhubError`; the command line and the web
layer turn any ``BreedhubError`` into a clear message (or a JSON error) and
never show a traceback for bad input.
"""

from __future__ import annotations


class BreedhubError(Exception):
    """Base class of all breedhub errors meant for the user.

    Subclasses set :attr:`exit_code` (for the command line) and
    :attr:`http_status` (for the web layer).
    """

    exit_code: int = 1
    http_status: int = 400

    def details(self) -> list[dict[str, object]]:
        """Structured details (e.g. one entry per bad row) for JSON output."""
        return []
