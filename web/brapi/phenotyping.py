"""BrAPI v2.1 phenotyping calls (see :mod:`web.brapi`)."""

from __future__ import annotations
