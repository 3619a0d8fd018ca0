"""BrAPI v2.1 genotyping calls (see :mod:`web.brapi`)."""

from __future__ import annotations
