"""Where breedhub keeps its data: the data directory and the database URL.

``BREEDHUB_HOME`` names the data directory (default ``./breedhub-data``): it
holds the embedded SQLite database, ``objects/`` (uploaded files by sha256),
``genotypes/`` (HDF5), ``models/`` and ``runs/``. ``BREEDHUB_DATABASE_URL``
points at another database (PostgreSQL in production); without it the SQLite
file in the data directory is used. ``BREEDHUB_QUEUE_URL`` names the task
queue's storage: ``redis://host:port/db`` in production; without it the
queue is the SQLite file ``queue.sqlite3`` in the data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_SUBDIRS = ("objects", "genotypes", "models", "runs")


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one breedhub installation.

    Parameters
    ----------
    home
        The data directory.
    database_url
        SQLAlchemy URL of the germplasm database.
    queue_url
        The task queue's storage: ``redis://...`` or ``sqlite:///path``.
    """

    home: Path
    database_url: str
    queue_url: str = ""

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None) -> Settings:
        """Read the settings from the environment, ``home`` taking precedence.

        Examples
        --------
        >>> s = Settings.from_env("/tmp/bh-doc")
        >>> s.database_url.startswith("sqlite:///") or "BREEDHUB_DATABASE_URL" in os.environ
        True
        """
        root = Path(home or os.environ.get("BREEDHUB_HOME") or "breedhub-data").absolute()
        url = os.environ.get("BREEDHUB_DATABASE_URL") or f"sqlite:///{root / 'breedhub.sqlite'}"
        queue = os.environ.get("BREEDHUB_QUEUE_URL") or f"sqlite:///{root / 'queue.sqlite3'}"
        return cls(home=root, database_url=url, queue_url=queue)

    def ensure_dirs(self) -> None:
        """Create the data directory and its sub-directories if missing."""
        for sub in DATA_SUBDIRS:
            (self.home / sub).mkdir(parents=True, exist_ok=True)
