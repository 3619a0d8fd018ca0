"""Models of the import audit trail: every import, and every passport field it changed.

A :class:`DataImport` is one run of an importer (passport, pedigree,
observations, a BrAPI server, an undo): who ran it, when, on which file
(its sha256) and what it counted. An :class:`ImportChange` is one effect of
a passport import on one accession: the accession was inserted, one of its
fields went from ``old_value`` to ``new_value``, or its phenotypes, samples
or predictions were detached when its species or holding institute changed.
``breedhub germplasm history`` reads them per accession and ``breedhub
germplasm undo`` plays them backwards.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from breedhub.germplasm.models import Base, JSONType, _now, _one_of

#: What an importer read: the ``kind`` of a :class:`DataImport`.
IMPORT_KINDS = ("passport", "pedigree", "observations", "brapi", "undo")
#: insert: the import created the accession (``field`` is NULL); update: one
#: field changed; detach: records of ``field`` (a table name) were detached,
#: their count in ``new_value``.
CHANGE_ACTIONS = ("insert", "update", "detach")


class DataImport(Base):
    """One import run: its source, its user, its counts; undone or not."""

    __tablename__ = "data_import"
    __table_args__ = (CheckConstraint(_one_of("kind", IMPORT_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: The file name as given, or the BrAPI server's URL.
    source: Mapped[str] = mapped_column(String(1000))
    #: sha256 of the file's bytes; empty for a server or an undo.
    sha256: Mapped[str] = mapped_column(String(64), default="")
    #: The account that ran it; NULL from the command line without an account.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    #: Who ran it, as text: the account's name, else the operating-system user.
    run_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, index=True)
    #: rows, inserted, updated, unchanged, refused, detached...
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: The options it ran with (blank_clears, allow_species_change, ...).
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: For an undo: the import it undid.
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("data_import.id"))
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ImportChange(Base):
    """One accession inserted, one passport field changed, or records detached, by an import."""

    __tablename__ = "import_change"
    __table_args__ = (
        CheckConstraint(_one_of("action", CHANGE_ACTIONS), name="action_known"),
        Index("ix_import_change_accession", "accession_id", "import_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("data_import.id", ondelete="CASCADE"), index=True
    )
    #: No foreign key: the history of an accession outlives its deletion by an undo.
    accession_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(8))
    #: The Accession attribute (an MCPD field), or for ``detach`` the table.
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
