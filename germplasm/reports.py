"""What an import did, in one value object shared by every importer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Progress = Callable[[str], None]
"""Called by long operations with a line saying what they are doing."""


def silent(message: str) -> None:
    """The default :data:`Progress`: say nothing."""


#: Per-row outcomes a dry run reports (``ImportReport.rows_detail[i]["status"]``).
ROW_STATUSES = ("new", "changed", "unchanged", "refused")


@dataclass
class ImportReport:
    """Counts of an import; ``inserted + updated + unchanged + refused == rows``.

    ``refused`` counts rows a dry run would refuse (a real import refuses the
    whole file instead and raises). ``detached`` counts, per table, the rows
    detached from accessions whose species or holding institute changed.
    ``rows_detail`` (dry runs of passports) lists every row that is not
    unchanged: ``row``, ``instcode``, ``accenumb``, ``status`` (one of
    :data:`ROW_STATUSES`), ``changes`` (``field``, ``old``, ``new``, as MCPD
    text) and ``reason`` for a refused row. ``seconds`` is the wall time of
    the import, ``import_id`` the audit record of a real passport import.
    """

    source: str
    kind: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    refused: int = 0
    detached: dict[str, int] = field(default_factory=dict)
    rows_detail: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0
    import_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_per_s"] = self.rows_per_s
        return out

    @property
    def rows_per_s(self) -> float | None:
        """Rows per second of the whole import, when it was timed."""
        return round(self.rows / self.seconds) if self.seconds > 0 else None

    def counts_line(self) -> str:
        """``4 passport rows: 1 new, 2 updated, 1 unchanged`` (+ refused, detached)."""
        verb = "would be " if self.dry_run else ""
        line = (
            f"{self.rows:,} {self.kind} rows: {verb}{self.inserted:,} new, "
            f"{self.updated:,} {'changed' if self.dry_run else 'updated'}, "
            f"{self.unchanged:,} unchanged"
        )
        if self.refused:
            line += f", {self.refused:,} refused"
        if self.detached:
            parts = ", ".join(f"{n:,} {t}" for t, n in sorted(self.detached.items()) if n)
            if parts:
                line += f"; {'would detach' if self.dry_run else 'detached'} {parts}"
        return line

    def rate_line(self) -> str:
        """``in 1.2 s (83,000 rows/s)``, or "" when the import was not timed."""
        if self.seconds <= 0:
            return ""
        return f"in {self.seconds:.1f} s ({self.rows / self.seconds:,.0f} rows/s)"

    def __str__(self) -> str:
        head = f"{self.source}: {'dry run, nothing written: ' if self.dry_run else ''}"
        rate = self.rate_line()
        return head + self.counts_line() + (f" {rate}" if rate else "")
