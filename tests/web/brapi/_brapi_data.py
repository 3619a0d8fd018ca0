"""Extra records for the BrAPI tests, on top of ``tests.web.conftest``'s ``world``.

Each BrAPI area adds what its calls need here (a genotype store on disk, a
restricted trial of another institute, ...); :func:`populate_brapi` is
called once per test after the ``world`` and ``accounts`` fixtures.
"""

from __future__ import annotations

from flask import Flask


def populate_brapi(app: Flask) -> None:
    """Add the BrAPI tests' records to ``app``'s database (the world is already there)."""
