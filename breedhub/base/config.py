"""Where breedhub keeps its data: the data directory and the database URL.

``BREEDHUB_HOME`` names the data directory (default ``./breedhub-data``): it
holds the embedded SQLite database, ``objects/`` (uploaded files by sha256),
``genotypes/`` (HDF5), ``models/`` and ``runs/``. ``BREEDHUB_DATABASE_URL``
points at another database (PostgreSQL in production); without it the SQLite
file in the data directory is used.
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
    """

    home: Path
    database_url: str

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
        return cls(home=root, database_url=url)

    def ensure_dirs(self) -> None:
        """Create the data directory and its sub-directories if missing."""
        for sub in DATA_SUBDIRS:
            (self.home / sub).mkdir(parents=True, exist_ok=True)
