"""Upload batches: register a batch once all its files are verified, then call its variants."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

__all__ = ["upload_verified"]


def upload_verified(engine: Engine, home: Path, upload_id: str) -> None:
    """Called by the tus server after upload ``upload_id`` is verified and committed.

    If the upload belongs to a batch whose files have now all arrived and
    passed, the batch is registered (one transaction) and, if asked, its
    variants workflow is submitted as a job. Never raises for a bad batch:
    problems are recorded on the batch.
    """
