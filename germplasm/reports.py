"""What an import did, in one value object shared by every importer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Progress = Callable[[str], None]
"""Called by long operations with a line saying what they are doing."""


def silent(message: str) -> None:
    """The default :data:`Progress`: say nothing."""


@dataclass
class ImportReport:
    """Counts of an import; ``inserted + updated + unchanged == rows``."""

    source: str
    kind: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.source}: {self.rows} {self.kind} rows: {self.inserted} new, "
            f"{self.updated} updated, {self.unchanged} unchanged"
        )
