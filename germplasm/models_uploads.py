"""Models of institutes' bulk uploads: resumable file uploads (tus) and the batches they form.

An :class:`Upload` is one file arriving over the tus protocol, in chunks,
into the upload directory; once complete and verified (sha256, format) it
becomes a :class:`~germplasm.models.DataFile` in ``objects/``. An
:class:`UploadBatch` groups files under a sample sheet; it is registered
(samples, accessions, data files) in one transaction once all its files
have arrived and passed, and may start the variants workflow as a job.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from breedhub.germplasm.models import Base, JSONType, _now, _one_of

#: receiving: chunks arriving; complete: every byte here, not yet checked;
#: verified: sha256 and format checked, stored in ``objects/``; failed: refused
#: (see ``message``); expired: never completed and cleaned up.
UPLOAD_STATES = ("receiving", "complete", "verified", "failed", "expired")
#: open: files arriving; registered: samples and files written (one
#: transaction); failed: the sheet or a file was refused (see ``problems``).
BATCH_STATES = ("open", "registered", "failed")


class UploadBatch(Base):
    """A set of uploaded files described by one sample sheet."""

    __tablename__ = "upload_batch"
    __table_args__ = (CheckConstraint(_one_of("state", BATCH_STATES), name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    institute_id: Mapped[int] = mapped_column(ForeignKey("institute.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    state: Mapped[str] = mapped_column(String(12), default="open")
    #: The sample sheet's rows as parsed (one dict per file).
    sheet: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    sheet_name: Mapped[str] = mapped_column(String(500), default="")
    #: Every problem found: ``{"row", "column", "message"}``.
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: Whether to start the variants workflow once registered.
    call_variants: Mapped[bool] = mapped_column(default=False)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    genotype_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("genotype_dataset.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    registered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Upload(Base):
    """One file sent over tus: where it is, how much has arrived, what became of it."""

    __tablename__ = "upload"
    __table_args__ = (CheckConstraint(_one_of("state", UPLOAD_STATES), name="state_known"),)

    #: The tus upload id (URL-safe, unguessable): ``/api/v1/uploads/<id>``.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institute_id: Mapped[int] = mapped_column(ForeignKey("institute.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("upload_batch.id", ondelete="SET NULL"), index=True
    )
    #: The client's file name, for display and for the sample sheet only:
    #: never used to build a path.
    filename: Mapped[str] = mapped_column(String(500), default="")
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The sha256 the client declared (hex), checked once complete.
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: tus ``Upload-Metadata``, decoded.
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(12), default="receiving", index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    #: The detected format (fastq, fastq.gz, bam, cram, vcf, vcf.gz, bcf).
    format: Mapped[str] = mapped_column(String(20), default="")
    data_file_id: Mapped[int | None] = mapped_column(ForeignKey("data_file.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
