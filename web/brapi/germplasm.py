"""BrAPI v2.1 germplasm calls (see :mod:`web.brapi`)."""

from __future__ import annotations
