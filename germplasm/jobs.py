"""Jobs: long work (uploads, pipelines, training) recorded for a worker, and its progress.

The web process records a job and returns; a worker or Snakemake runs it and
updates its status, progress and log here, and the portal reads them back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.models import Job, User, _now

__all__ = [
    "MAX_LOG_CHARS",
    "add_job",
    "append_log",
    "claim_job",
    "finish_job",
    "get_job",
    "heartbeat",
    "latest_jobs",
    "reap_stale_jobs",
    "request_cancel",
    "update_job",
    "visible_jobs",
]

#: A job keeps the last this many characters of its log.
MAX_LOG_CHARS = 200_000


def add_job(
    session: Session,
    *,
    kind: str,
    parameters: Mapping[str, Any],
    user_id: int | None = None,
    status: str = "queued",
    institute_id: int | None = None,
    visibility: str = "public",
) -> Job:
    """Record a new job and flush it, so that its ``id`` is set.

    Parameters
    ----------
    session
        An open session; the caller commits.
    kind
        What the job does (``pipeline:variants``...).
    parameters
        What the worker needs to run it, stored as JSON.
    user_id
        Who asked, if anyone.
    status
        Its first status.
    institute_id, visibility
        Whose it is, and who may see it (``public`` or ``restricted`` to the institute).

    Returns
    -------
    Job
    """
    job = Job(
        kind=kind, status=status, user_id=user_id, parameters=dict(parameters),
        institute_id=institute_id, visibility=visibility, result={},
    )  # fmt: skip
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job | None:
    """The job ``job_id``, or None.

    Parameters
    ----------
    session
        An open database session.
    job_id
        The job's id.

    Returns
    -------
    Job or None
    """
    return session.get(Job, job_id)


def update_job(session: Session, job_id: int, values: Mapping[str, Any]) -> Job | None:
    """Set the columns ``values`` (``status``, ``progress``, ``log``...) of job ``job_id``.

    Parameters
    ----------
    session
        An open session; the caller commits.
    job_id
        The job's id.
    values
        Column name -> new value.

    Returns
    -------
    Job or None
        The job, or None if there is none with that id (nothing is changed).
    """
    job = session.get(Job, job_id)
    if job is None:
        return None
    for key, value in values.items():
        setattr(job, key, value)
    return job


def latest_jobs(
    session: Session, *, kind_prefix: str, job_id: int | None = None, limit: int = 20
) -> list[Job]:
    """The newest jobs whose kind starts with ``kind_prefix``, newest first (or just one).

    Parameters
    ----------
    session
        An open database session.
    kind_prefix
        E.g. ``pipeline:`` for every workflow's jobs.
    job_id
        Only this job (an empty list if it is not of that kind).
    limit
        At most this many jobs.

    Returns
    -------
    list of Job
    """
    q = select(Job).where(Job.kind.like(f"{kind_prefix}%"))
    if job_id is not None:
        q = q.where(Job.id == job_id)
    return list(session.scalars(q.order_by(Job.id.desc()).limit(limit)).all())


def claim_job(session: Session, job_id: int) -> Job | None:
    """Mark a queued job running (a worker took it); None if it is not queued any more.

    One UPDATE guarded by the status, so two workers never both claim a job,
    and a job cancelled while it waited is not started.

    Parameters
    ----------
    session
        An open session; the caller commits.
    job_id
        The job's id.

    Returns
    -------
    Job or None
    """
    now = _now()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued", Job.cancel_requested.is_(False))
        .values(status="running", started_at=now, heartbeat_at=now, progress=0.0)
    )
    if not getattr(result, "rowcount", 0):
        return None
    session.expire_all()
    return session.get(Job, job_id)


def heartbeat(session: Session, job_id: int) -> bool:
    """Say a running job's worker is alive; return whether a cancel was requested.

    Parameters
    ----------
    session
        An open session; the caller commits.
    job_id
        The job's id.

    Returns
    -------
    bool
        True when someone asked to cancel the job.
    """
    session.execute(
        update(Job).where(Job.id == job_id, Job.status == "running").values(heartbeat_at=_now())
    )
    wanted = session.scalar(select(Job.cancel_requested).where(Job.id == job_id))
    return bool(wanted)


def append_log(session: Session, job_id: int, text: str, *, progress: float | None = None) -> bool:
    """Add ``text`` (a line or more) to a job's log, keeping its last :data:`MAX_LOG_CHARS`.

    Parameters
    ----------
    session
        An open session; the caller commits.
    job_id
        The job's id.
    text
        What to add; a newline is added if missing.
    progress
        The job's new progress, 0 to 1, if given.

    Returns
    -------
    bool
        Whether someone asked to cancel the job (read in the same round trip).
    """
    job = session.get(Job, job_id)
    if job is None:
        return False
    line = text if text.endswith("\n") else text + "\n"
    job.log = ((job.log or "") + line)[-MAX_LOG_CHARS:]
    if progress is not None:
        job.progress = min(max(float(progress), 0.0), 1.0)
    return bool(job.cancel_requested)


def finish_job(
    session: Session,
    job_id: int,
    *,
    status: str,
    error: str = "",
    result: Mapping[str, Any] | None = None,
) -> None:
    """Mark a job ``done``, ``failed`` or ``cancelled``, with its error or result.

    Parameters
    ----------
    session
        An open session; the caller commits.
    job_id
        The job's id.
    status
        Its final status.
    error
        What went wrong (failed) or why it stopped (cancelled).
    result
        What it made (``model_run_id``...), stored as JSON.
    """
    if status not in ("done", "failed", "cancelled"):
        raise ValueError(f"a finished job is done, failed or cancelled, not {status!r}")
    job = session.get(Job, job_id)
    if job is None:
        return
    job.status, job.error, job.finished_at = status, error, _now()
    if status == "done":
        job.progress = 1.0
    if result is not None:
        job.result = dict(result)


def request_cancel(session: Session, job_id: int) -> str:
    """Cancel a queued job at once, or ask a running one to stop; return its status.

    A running model fit stops at its next checkpoint (between traits),
    before anything is published; a running workflow's Snakemake is stopped
    within a heartbeat (a few seconds), mid-rule.

    Parameters
    ----------
    session
        An open session; the caller commits.
    job_id
        The job's id (it must exist).

    Returns
    -------
    str
        ``cancelled`` (it had not started), ``running`` (it will stop), or
        the status of a job that had already finished (nothing changed).
    """
    job = session.get(Job, job_id)
    if job is None:
        raise ValueError(f"no job {job_id}")
    if job.status == "queued":
        job.cancel_requested = True
        job.status, job.finished_at = "cancelled", _now()
        job.error = "cancelled before it started"
    elif job.status == "running":
        job.cancel_requested = True
    return job.status


def reap_stale_jobs(session: Session, *, older_than: dt.timedelta) -> list[int]:
    """Mark failed the running jobs whose worker stopped sending heartbeats.

    A worker killed mid-job (``kill -9``, a lost node) cannot say so; its
    job's heartbeat gets old. Only jobs run by the task queue carry a
    heartbeat; nothing they were making was published, since a model run is
    published in one transaction at the end.

    Parameters
    ----------
    session
        An open session; the caller commits.
    older_than
        How old a heartbeat must be for its worker to count as gone.

    Returns
    -------
    list of int
        The ids of the jobs marked failed.
    """
    cutoff = _now() - older_than
    stale = list(
        session.scalars(
            select(Job).where(
                Job.status == "running", Job.heartbeat_at.is_not(None), Job.heartbeat_at < cutoff
            )
        )
    )
    for job in stale:
        when = job.heartbeat_at.isoformat(timespec="seconds") if job.heartbeat_at else "?"
        job.status, job.finished_at = "failed", _now()
        job.error = (
            f"the worker running this job stopped (killed or crashed); last heard of at {when} "
            "UTC. Nothing was published; start the job again."
        )
        job.log = ((job.log or "") + "worker lost: job marked failed\n")[-MAX_LOG_CHARS:]
    return [j.id for j in stale]


def visible_jobs(
    session: Session,
    viewer: Viewer,
    *,
    kind_prefix: str = "",
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Job, str | None]], int]:
    """The jobs ``viewer`` may see, newest first, with who started each, and their total.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking (public jobs, their institute's, everything for admins).
    kind_prefix
        Only jobs whose kind starts with it (``model_run``, ``pipeline:``).
    status
        Only jobs in this state.
    limit, offset
        The page.

    Returns
    -------
    (rows, total)
        ``rows``: (job, username or None).
    """
    where = [visible_clause(Job, viewer)]
    if kind_prefix:
        where.append(Job.kind.like(f"{kind_prefix}%"))
    if status:
        where.append(Job.status == status)
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    rows = session.execute(
        select(Job, User.username)
        .outerjoin(User, User.id == Job.user_id)
        .where(*where)
        .order_by(Job.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(j, u) for j, u in rows], int(total)
