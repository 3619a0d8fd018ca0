"""Jobs: long work (uploads, pipelines, training) recorded for a worker, and its progress.

The web process records a job and returns; a worker or Snakemake runs it and
updates its status, progress and log here, and the portal reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from breedhub.germplasm.models import Job

__all__ = ["add_job", "get_job", "latest_jobs", "update_job"]


def add_job(
    session: Session,
    *,
    kind: str,
    parameters: Mapping[str, Any],
    user_id: int | None = None,
    status: str = "queued",
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

    Returns
    -------
    Job
    """
    job = Job(kind=kind, status=status, user_id=user_id, parameters=dict(parameters))
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
