"""BrAPI v2.1 core calls (see :mod:`web.brapi`)."""

from __future__ import annotations
