"""Upload batches in the database: creating one, reading them back, and registering one whole.

A batch (:class:`~germplasm.models_uploads.UploadBatch`) holds a checked
sample sheet; its files arrive as :class:`~germplasm.models_uploads.Upload`
rows that the tus server verifies into :class:`~germplasm.models.DataFile`
rows. Once every file of the sheet is verified, :func:`register_batch`
writes the batch's new accessions, its samples and its files' sample, read,
library and platform in the caller's one transaction, or nothing at all: a
refused batch is only marked ``failed`` with its problems.

Who sees a batch: the members of its institute and admins
(:func:`visible_batch`); anyone else is told it does not exist.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer
from breedhub.germplasm.mcpd import COLUMNS as MCPD_COLUMNS
from breedhub.germplasm.models import (
    Accession,
    DataFile,
    GenotypeDataset,
    Institute,
    Job,
    Sample,
    _now,
)
from breedhub.germplasm.models_uploads import Upload, UploadBatch
from breedhub.germplasm.queries import accession_ids_by_ref
from breedhub.germplasm.sample_sheets import (
    SampleSheet,
    SheetProblem,
    check_sheet,
    institute_code,
    new_accession_rows,
)
from breedhub.germplasm.species import SpeciesRegistry, default_registry
from breedhub.germplasm.tabular import ROW

__all__ = [
    "add_batch_problem",
    "adopt_batch_genotypes",
    "batch_accession_refs",
    "batch_data_files",
    "batch_job",
    "batches_awaiting_genotypes",
    "batch_files",
    "batch_id_of_upload",
    "batch_ready",
    "batch_summary",
    "create_batch",
    "fail_batch",
    "get_batch",
    "list_batches",
    "register_batch",
    "set_batch_job",
    "visible_batch",
]


def create_batch(
    session: Session,
    *,
    name: str,
    institute_id: int,
    user_id: int | None,
    sheet: SampleSheet,
    call_variants: bool = False,
    problems: list[SheetProblem] | None = None,
) -> UploadBatch:
    """Record a new, ``open`` batch with its parsed sheet; flush it (its ``id`` is set).

    Parameters
    ----------
    session
        An open session; the caller commits.
    name
        What the uploader calls it.
    institute_id, user_id
        Whose it is and who sent it.
    sheet
        The checked sample sheet (its rows are stored).
    call_variants
        Start the variants workflow once registered.
    problems
        Problems found so far (stored; an open batch normally has none).

    Returns
    -------
    UploadBatch
    """
    batch = UploadBatch(
        name=name, institute_id=institute_id, user_id=user_id, state="open",
        sheet=[dict(r) for r in sheet.rows], sheet_name=sheet.name[:500],
        problems=[p.to_dict() for p in problems or []], call_variants=call_variants,
    )  # fmt: skip
    session.add(batch)
    session.flush()
    return batch


def get_batch(session: Session, batch_id: int) -> UploadBatch | None:
    """The batch ``batch_id``, or None."""
    return session.get(UploadBatch, batch_id)


def visible_batch(session: Session, batch_id: int, viewer: Viewer) -> UploadBatch | None:
    """The batch ``batch_id`` if ``viewer`` may see it (its institute's members, admins), else None.

    Parameters
    ----------
    session
        An open session.
    batch_id
        The batch's id.
    viewer
        Who asks.

    Returns
    -------
    UploadBatch or None
        None both for an unknown id and for another institute's batch.
    """
    batch = session.get(UploadBatch, batch_id)
    if batch is None or not _sees(viewer, batch):
        return None
    return batch


def _sees(viewer: Viewer, batch: UploadBatch) -> bool:
    return viewer.is_admin or (
        viewer.institute_id is not None and viewer.institute_id == batch.institute_id
    )


def list_batches(
    session: Session, viewer: Viewer, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The batches ``viewer`` may see, newest first, with their job's state.

    Parameters
    ----------
    session
        An open session.
    viewer
        Its institute's batches (an admin: every batch); none without an institute.
    limit, offset
        The page.

    Returns
    -------
    rows, total
        :func:`batch_summary` of each batch of the page, and how many there are.
    """
    stmt = select(UploadBatch)
    count = select(func.count()).select_from(UploadBatch)
    if not viewer.is_admin:
        if viewer.institute_id is None:
            return [], 0
        stmt = stmt.where(UploadBatch.institute_id == viewer.institute_id)
        count = count.where(UploadBatch.institute_id == viewer.institute_id)
    total = int(session.scalar(count) or 0)
    batches = list(
        session.scalars(stmt.order_by(UploadBatch.id.desc()).limit(limit).offset(offset))
    )
    ids = [b.id for b in batches]
    verified: dict[int, int] = {}
    if ids:
        verified = {
            batch_id: n
            for batch_id, n in session.execute(
                select(Upload.batch_id, func.count(func.distinct(Upload.filename)))
                .where(Upload.batch_id.in_(ids), Upload.state == "verified")
                .group_by(Upload.batch_id)
            ).tuples()
            if batch_id is not None
        }
    jobs = _jobs(session, [b.job_id for b in batches if b.job_id])
    codes = _codes(session, {b.institute_id for b in batches})
    rows = []
    for b in batches:
        row = batch_summary(b, jobs.get(b.job_id) if b.job_id else None)
        row["institute"] = codes.get(b.institute_id, "")
        row["n_verified"] = min(int(verified.get(b.id, 0)), len(b.sheet or []))
        rows.append(row)
    return rows, total


def _jobs(session: Session, ids: list[int]) -> dict[int, Job]:
    if not ids:
        return {}
    return {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(ids)))}


def _codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Institute.id, Institute.code).where(Institute.id.in_(ids)))
        .tuples()
        .all()
    )


def batch_summary(batch: UploadBatch, job: Job | None = None) -> dict[str, Any]:
    """A batch as the API answers it (without its files)."""
    return {
        "id": batch.id, "name": batch.name, "state": batch.state,
        "sheet_name": batch.sheet_name, "n_files": len(batch.sheet or []),
        "problems": list(batch.problems or []), "call_variants": batch.call_variants,
        "job": None if job is None else {"id": job.id, "state": job.status,
                                          "progress": job.progress, "error": job.error},
        "genotype_dataset_id": batch.genotype_dataset_id,
        "created_at": batch.created_at.isoformat() if batch.created_at else None,
        "registered_at": batch.registered_at.isoformat() if batch.registered_at else None,
    }  # fmt: skip


def _matches(upload: Upload, row: dict[str, Any]) -> int:
    """How well an upload matches a sheet row: 2 same name, 1 same base name, 0 not."""
    if upload.filename == row["file"]:
        return 2
    if PurePosixPath(upload.filename).name == PurePosixPath(row["file"]).name:
        return 1
    return 0


def _row_uploads(session: Session, batch: UploadBatch) -> dict[int, Upload | None]:
    """Sheet row -> the upload that is its file: verified before others, then the newest."""
    uploads = list(
        session.scalars(
            select(Upload).where(Upload.batch_id == batch.id).order_by(Upload.created_at, Upload.id)
        )
    )
    rank = {"verified": 3, "complete": 2, "receiving": 1}
    out: dict[int, Upload | None] = {}
    for row in batch.sheet or []:
        best: tuple[int, int, int] | None = None
        chosen = None
        for i, u in enumerate(uploads):
            m = _matches(u, row)
            if m:
                key = (m, rank.get(u.state, 0), i)
                if best is None or key > best:
                    best, chosen = key, u
        out[row["row"]] = chosen
    return out


def batch_files(session: Session, batch: UploadBatch) -> list[dict[str, Any]]:
    """Each file of the batch's sheet with its upload's state and message.

    Returns
    -------
    list of dict
        ``row``, ``filename``, ``sha256``, ``sample``, ``read``, and
        ``upload`` (None before the file is sent; else ``id``, ``state``,
        ``message``, ``offset``, ``length``, ``format``).
    """
    uploads = _row_uploads(session, batch)
    out = []
    for row in batch.sheet or []:
        u = uploads.get(row["row"])
        out.append(
            {
                "row": row["row"], "filename": row["file"], "sha256": row["sha256"],
                "sample": row["sample"], "read": row["read"],
                "upload": None if u is None else {
                    "id": u.id, "state": u.state, "message": u.message, "offset": u.offset,
                    "length": u.length, "format": u.format,
                },
            }
        )  # fmt: skip
    return out


def batch_id_of_upload(session: Session, upload_id: str) -> int | None:
    """The batch the upload ``upload_id`` belongs to, or None."""
    return session.scalars(select(Upload.batch_id).where(Upload.id == upload_id)).first()


def batch_ready(session: Session, batch_id: int) -> bool:
    """True when the batch is open and every file of its sheet has a verified upload."""
    batch = session.get(UploadBatch, batch_id)
    if batch is None or batch.state != "open" or not batch.sheet:
        return False
    uploads = _row_uploads(session, batch)
    return all(
        u is not None and u.state == "verified" and u.data_file_id is not None
        for u in uploads.values()
    )


def fail_batch(session: Session, batch_id: int, problems: list[dict[str, Any]]) -> None:
    """Mark the batch ``failed`` with ``problems`` (``{"row", "column", "message"}``)."""
    batch = session.get(UploadBatch, batch_id)
    if batch is not None:
        batch.state = "failed"
        batch.problems = list(problems)


def _file_problems(
    session: Session, batch: UploadBatch
) -> tuple[list[SheetProblem], dict[int, DataFile]]:
    """Each row's verified file, and the problems: missing, or not the declared sha256."""
    uploads = _row_uploads(session, batch)
    ids = [u.data_file_id for u in uploads.values() if u is not None and u.data_file_id]
    files = (
        {f.id: f for f in session.scalars(select(DataFile).where(DataFile.id.in_(ids)))}
        if ids
        else {}
    )
    problems: list[SheetProblem] = []
    by_row: dict[int, DataFile] = {}
    for row in batch.sheet or []:
        u = uploads.get(row["row"])
        df = files.get(u.data_file_id) if u is not None and u.data_file_id else None
        if u is None or u.state != "verified" or df is None:
            state = "not sent" if u is None else f"{u.state}{': ' + u.message if u.message else ''}"
            problems.append(SheetProblem(row["row"], "file", f"the file is not verified ({state})",
                                         row["file"]))  # fmt: skip
            continue
        if df.sha256 != row["sha256"]:
            problems.append(
                SheetProblem(
                    row["row"], "sha256",
                    f"does not match the uploaded file: its sha256 is {df.sha256}", row["sha256"],
                )
            )  # fmt: skip
            continue
        by_row[row["row"]] = df
    matched = {u.id for u in uploads.values() if u is not None}
    for u in session.scalars(
        select(Upload).where(Upload.batch_id == batch.id, Upload.state == "verified")
    ):
        if u.id not in matched:
            problems.append(
                SheetProblem(
                    None, "file", "an uploaded file is not in the sample sheet", u.filename
                )
            )
    return problems, by_row


def register_batch(
    session: Session, batch_id: int, *, registry: SpeciesRegistry | None = None
) -> UploadBatch:
    """Register an open batch whole, in the caller's transaction, or refuse it.

    The sheet is checked again against the database as it is now, and each
    row's file must be verified with the sheet's sha256. With any problem
    nothing is written but the batch's state (``failed``) and its problems.
    Otherwise the new accessions (with their MCPD passports and search
    names), the samples, and each data file's sample, read number, library,
    platform and batch are written, and the batch becomes ``registered``.

    Parameters
    ----------
    session
        An open session; the caller commits (or rolls back on an exception,
        which leaves the batch open).
    batch_id
        The batch.
    registry
        The species registry (default: this installation's).

    Returns
    -------
    UploadBatch
        Its ``state`` says what happened; ``problems`` why it failed.

    Raises
    ------
    KeyError
        If there is no such batch.
    """
    from breedhub.germplasm.passport import write_passport_frame
    from breedhub.germplasm.reports import ImportReport

    registry = registry or default_registry()
    batch = session.get(UploadBatch, batch_id)
    if batch is None:
        raise KeyError(f"no upload batch {batch_id}")
    if batch.state != "open":
        return batch
    sheet = SampleSheet.from_rows(batch.sheet or [], name=batch.sheet_name)
    problems = check_sheet(session, sheet, batch.institute_id, registry=registry)
    file_problems, files = _file_problems(session, batch)
    problems = sorted(problems + file_problems, key=lambda p: (p.row or 0, p.column))
    if problems:
        batch.state, batch.problems = "failed", [p.to_dict() for p in problems]
        return batch

    code = institute_code(session, batch.institute_id)
    new = new_accession_rows(sheet, code)
    if new:
        records = []
        for ref, r in new.items():
            sp = registry[r["species"]]
            mcpd = {"INSTCODE": code, "ACCENUMB": ref.split(":", 1)[1], "GENUS": sp.genus,
                    "SPECIES": sp.species, **r["mcpd"]}  # fmt: skip
            if not mcpd.get("PUID"):
                mcpd["PUID"] = f"{mcpd['INSTCODE']}:{mcpd['ACCENUMB']}:{mcpd['GENUS']}"
            records.append({ROW: r["row"], **{c: mcpd.get(c, "") for c in MCPD_COLUMNS}})
        df = pl.DataFrame(records, schema={ROW: pl.Int64, **{c: pl.String for c in MCPD_COLUMNS}})
        write_passport_frame(
            session, df, registry, ImportReport(batch.sheet_name, "passport", rows=df.height)
        )
        session.flush()
    refs = {
        r["accession"] if ":" in r["accession"] else f"{code}:{r['accession']}" for r in sheet.rows
    }
    acc_ids = accession_ids_by_ref(session, refs)
    samples: dict[str, Sample] = {}
    for r in sheet.rows:
        if r["sample"] not in samples:
            ref = r["accession"] if ":" in r["accession"] else f"{code}:{r['accession']}"
            smp = Sample(
                name=r["sample"], accession_id=acc_ids[ref], notes=f"upload batch {batch.id}"
            )
            session.add(smp)
            samples[r["sample"]] = smp
    session.flush()
    for r in sheet.rows:
        f = files[r["row"]]
        f.sample_id = samples[r["sample"]].id
        f.read_number = int(r["read"]) if r["read"] else None
        f.library = r["library"] or r["sample"]
        f.platform = r["platform"] or "ILLUMINA"
        f.batch_id = batch.id
        if f.institute_id is None:
            f.institute_id = batch.institute_id
    batch.state, batch.problems, batch.registered_at = "registered", [], _now()
    session.flush()
    return batch


def set_batch_job(session: Session, batch_id: int, job_id: int) -> None:
    """Record the job the batch started (its variants workflow)."""
    batch = session.get(UploadBatch, batch_id)
    if batch is not None:
        batch.job_id = job_id


def add_batch_problem(session: Session, batch_id: int, problem: SheetProblem) -> None:
    """Add a problem to a batch without changing its state (e.g. its job could not start)."""
    batch = session.get(UploadBatch, batch_id)
    if batch is not None:
        batch.problems = [*(batch.problems or []), problem.to_dict()]


def batch_data_files(session: Session, batch_id: int) -> list[tuple[dict[str, Any], DataFile]]:
    """Each sheet row of a registered batch with its data file, in sheet order."""
    batch = session.get(UploadBatch, batch_id)
    if batch is None:
        return []
    files = {
        f.sha256: f for f in session.scalars(select(DataFile).where(DataFile.batch_id == batch_id))
    }
    return [(r, files[r["sha256"]]) for r in batch.sheet or [] if r["sha256"] in files]


def batch_accession_refs(session: Session, batch_id: int) -> dict[str, str]:
    """Sample name -> ``INSTCODE:ACCENUMB`` of its accession, for a registered batch's samples."""
    batch = session.get(UploadBatch, batch_id)
    if batch is None:
        return {}
    names = sorted({r["sample"] for r in batch.sheet or []})
    rows = session.execute(
        select(Sample.name, Institute.code, Accession.accenumb)
        .join(Accession, Accession.id == Sample.accession_id)
        .join(Institute, Institute.id == Accession.institute_id)
        .where(Sample.name.in_(names))
    ).all()
    return {n: f"{c}:{a}" for n, c, a in rows}


def batches_awaiting_genotypes(session: Session, *, job_id: int | None = None) -> list[int]:
    """Ids of registered batches whose variants job is done but whose genotypes are not adopted."""
    stmt = (
        select(UploadBatch.id)
        .join(Job, Job.id == UploadBatch.job_id)
        .where(UploadBatch.genotype_dataset_id.is_(None), Job.status == "done")
    )
    if job_id is not None:
        stmt = stmt.where(Job.id == job_id)
    return list(session.scalars(stmt))


def adopt_batch_genotypes(
    session: Session, batch_id: int, dataset_name: str, provenance: dict[str, Any]
) -> int | None:
    """Make the dataset ``dataset_name`` (made by the batch's job) the batch institute's.

    The dataset becomes the institute's and ``restricted``, its provenance
    gains ``batch`` (``provenance``), and the batch records it.

    Returns
    -------
    int or None
        The dataset's id, or None when there is no such dataset (yet).
    """
    batch = session.get(UploadBatch, batch_id)
    ds = session.scalars(
        select(GenotypeDataset).where(GenotypeDataset.name == dataset_name)
    ).first()
    if batch is None or ds is None:
        return None
    ds.institute_id = batch.institute_id
    ds.visibility = "restricted"
    ds.provenance = {**(ds.provenance or {}), "batch": dict(provenance)}
    batch.genotype_dataset_id = ds.id
    return ds.id


def batch_job(session: Session, batch: UploadBatch) -> Job | None:
    """The job the batch started, or None."""
    return session.get(Job, batch.job_id) if batch.job_id else None
