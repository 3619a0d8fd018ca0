"""The ``jobs`` blueprint: what the task queue is doing, a job's state, progress and log.

Routes
------
``GET /jobs``
    The jobs the viewer may see, newest first (``status``, ``page``).
``GET /jobs/<id>``
    One job: state, progress, log, error, and what it made (a model run);
    the page refreshes itself while the job is queued or running.
``POST /jobs/<id>/cancel``
    Cancels a queued job, or asks a running one to stop before it
    publishes anything (who started it, or an admin).
``GET /api/v1/jobs/<id>``
    The same as JSON (a token's owner sees what the pages show them).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from breedhub.germplasm.access import Viewer
from breedhub.germplasm.jobs import get_job, request_cancel, visible_jobs
from breedhub.germplasm.models import JOB_STATES, Job
from breedhub.web.auth import current_viewer, require
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.search import page_number

bp = Blueprint("jobs", __name__)

PAGE_SIZE = 50


def _visible_job(job_id: int, viewer: Viewer) -> Job:
    job = get_job(get_session(), job_id)
    if job is None or not viewer.sees(job):
        abort(404, description=f"There is no job with id {job_id}.")
    return job


@bp.get("/jobs")
def jobs() -> ResponseReturnValue:
    status = request.args.get("status", "")
    if status and status not in JOB_STATES:
        raise InvalidParameterError("status", f"one of {', '.join(JOB_STATES)}", status[:40])
    page = page_number(request.args)
    rows, total = visible_jobs(
        get_session(), current_viewer(), status=status or None,
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    return render_template(
        "jobs/jobs.html", rows=rows, total=total, page=page, status=status, states=JOB_STATES,
        pages=max(1, -(-total // PAGE_SIZE)),
    )  # fmt: skip


def _job_dict(job: Job) -> dict[str, object]:
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "progress": job.progress,
        "parameters": job.parameters, "result": job.result or {}, "error": job.error,
        "log": job.log, "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "cancel_requested": job.cancel_requested,
    }  # fmt: skip


@bp.get("/jobs/<id:job_id>")
def show(job_id: int) -> str:
    viewer = current_viewer()
    job = _visible_job(job_id, viewer)
    may_cancel = job.status in ("queued", "running") and (
        viewer.is_admin or (viewer.user_id is not None and viewer.user_id == job.user_id)
    )
    return render_template("jobs/job.html", job=job, may_cancel=may_cancel)


@bp.post("/jobs/<id:job_id>/cancel")
@require("read")
def cancel(job_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    job = _visible_job(job_id, viewer)
    if not (viewer.is_admin or viewer.user_id == job.user_id):
        abort(403, description="Only who started a job, or an admin, may cancel it.")
    status = request_cancel(get_session(), job_id)
    get_session().commit()
    flash({"cancelled": "Job cancelled.", "running": "The job will stop at its next step."}.get(
        status, f"The job had already finished ({status})."))  # fmt: skip
    return redirect(url_for("jobs.show", job_id=job_id))


@bp.get("/api/v1/jobs/<id:job_id>")
def api_show(job_id: int) -> ResponseReturnValue:
    return jsonify(_job_dict(_visible_job(job_id, current_viewer())))
