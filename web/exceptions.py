"""Exceptions of the web layer, rooted in :class:`~breedhub.base.errors.BreedhubError`.

The app's one error handler turns any ``BreedhubError`` into a JSON error
(under ``/api`` and ``/brapi``) or an HTML error page, with the exception's
``http_status``.
"""

from __future__ import annotations

from breedhub.base.errors import BreedhubError


class WebError(BreedhubError):
    """Base class of errors raised by the web layer."""


class InvalidParameterError(WebError):
    """A query-string or form parameter that cannot be used.

    Parameters
    ----------
    parameter
        The parameter's name as it appears in the URL (``page``, ``min``).
    reason
        What is wrong with it and how to fix it.
    value
        The value as received.
    """

    http_status = 400

    def __init__(self, parameter: str, reason: str, value: str = ""):
        self.parameter, self.reason, self.value = parameter, reason, value
        super().__init__(f"{parameter}: {reason}")

    def details(self) -> list[dict[str, object]]:
        return [{"parameter": self.parameter, "value": self.value, "reason": self.reason}]
