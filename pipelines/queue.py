"""The task queue: model fits and workflows run by ``breedhub worker``, never by the web process.

The queue is Huey (DESIGN.md, "Work outside the request"): its SQLite
storage, a file in the data directory, is the embedded default, so one
machine needs no other service; Redis (``BREEDHUB_QUEUE_URL=redis://...``)
serves several web and worker machines in production. Huey carries only the
job's id; the job itself (kind, parameters, state, progress, log, result)
lives in the germplasm database (:mod:`breedhub.germplasm.jobs`), where the
portal reads it.

A running job beats a heartbeat into its row every :data:`HEARTBEAT_SECONDS`
and checks for a cancel request. A worker killed mid-job stops beating; the
next worker to start, and every worker once a minute, marks such jobs failed
(:func:`reap`). A model run is published in one transaction at its end, so
a killed or cancelled job never leaves half a run behind.

Job kinds
---------
``model_run``
    :func:`breedhub.pipelines.publish.fit_and_publish` on a registered
    genotype dataset; parameters ``dataset``, ``name``, ``method`` (a method
    or ``best``), ``params`` (the method's options), ``traits`` (or None:
    every trait), ``cv_folds``, ``seed``.
``pipeline:<workflow>``
    :func:`breedhub.pipelines.runner.run_workflow` on a config file
    (``config``, ``cores``, ``profile``).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from breedhub.base.config import Settings
from breedhub.pipelines.exceptions import PipelineError

__all__ = [
    "HEARTBEAT_SECONDS",
    "STALE_AFTER",
    "JobCancelled",
    "get_queue",
    "make_consumer",
    "reap",
    "run_job",
    "submit_job",
]

#: How often a running job says it is alive.
HEARTBEAT_SECONDS = 5.0
#: A running job not heard of for this long lost its worker (``BREEDHUB_JOB_STALE_SECONDS``).
STALE_AFTER = dt.timedelta(seconds=30)


def stale_after() -> dt.timedelta:
    """How long a running job may stay silent before its worker counts as gone."""
    raw = os.environ.get("BREEDHUB_JOB_STALE_SECONDS", "")
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 86_400:
        return dt.timedelta(seconds=int(raw))
    return STALE_AFTER


_QUEUES: dict[str, tuple[Any, Any]] = {}
_LOCK = threading.Lock()
#: The settings of this process's worker (``make_consumer``), else the environment's.
_WORKER: dict[str, Settings] = {}


class JobCancelled(PipelineError):
    """A user cancelled the job; it stopped before publishing anything."""


def queue_url(settings: Settings) -> str:
    """The queue storage of ``settings``: its ``queue_url``, or the data directory's file."""
    return settings.queue_url or f"sqlite:///{settings.home / 'queue.sqlite3'}"


def _queue(settings: Settings) -> tuple[Any, Any]:
    url = queue_url(settings)
    with _LOCK:
        if url not in _QUEUES:
            _QUEUES[url] = _make_queue(url)
        return _QUEUES[url]  # type: ignore[no-any-return]


def get_queue(settings: Settings) -> Any:
    """The Huey instance of an installation, with breedhub's tasks registered on it.

    Parameters
    ----------
    settings
        Its ``queue_url`` chooses the storage (``sqlite:///path`` or ``redis://...``).

    Returns
    -------
    huey.Huey
        One instance per storage in a process.
    """
    return _queue(settings)[0]


def _make_queue(url: str) -> tuple[Any, Any]:
    from huey import RedisHuey, SqliteHuey, crontab

    if url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey("breedhub", url=url)
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey("breedhub", filename=str(path))
    else:
        raise PipelineError(
            f"BREEDHUB_QUEUE_URL {url!r}: use redis://host:port/db or sqlite:///path/to/queue.sqlite3"
        )
    task = huey.task(name="breedhub.run_job", retries=0)(_run_job_task)
    huey.periodic_task(crontab(minute="*"), name="breedhub.reap")(_reap_task)
    return huey, task


def submit_job(
    engine: Engine,
    settings: Settings,
    *,
    kind: str,
    parameters: Mapping[str, Any],
    user_id: int | None = None,
    institute_id: int | None = None,
    visibility: str = "public",
) -> int:
    """Record a job and put it on the queue; return its id.

    Parameters
    ----------
    engine
        The germplasm database (the job's row).
    settings
        The installation (its queue).
    kind
        ``model_run`` or ``pipeline:<workflow>``.
    parameters
        What the job needs (see the module's docstring).
    user_id, institute_id, visibility
        Who asked, whose the job and what it makes are, and who may see them.

    Returns
    -------
    int
        The job's id; the job is ``queued``.

    Raises
    ------
    PipelineError
        For an unknown kind, or when the queue cannot be reached (the job is
        then marked failed, with the reason).
    """
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.jobs import add_job, finish_job

    if kind != "model_run" and not kind.startswith("pipeline:"):
        raise PipelineError(f"unknown job kind {kind!r}: model_run or pipeline:<workflow>")
    with transaction(engine) as s:
        job_id = add_job(
            s, kind=kind, parameters=parameters, user_id=user_id,
            institute_id=institute_id, visibility=visibility,
        ).id  # fmt: skip
    try:
        _, task = _queue(settings)
        task(job_id)  # only the id: the worker has its own settings (and database password)
    except Exception as exc:  # the queue is down: say so on the job, and to the caller
        with transaction(engine) as s:
            finish_job(s, job_id, status="failed", error=f"the task queue is unreachable: {exc}")
        raise PipelineError(f"job {job_id}: the task queue is unreachable: {exc}") from exc
    return job_id


def _worker_settings() -> Settings:
    return _WORKER.get("settings") or Settings.from_env()


def _run_job_task(job_id: int) -> dict[str, Any]:
    from breedhub.germplasm.db import make_engine

    settings = _worker_settings()
    engine = make_engine(settings.database_url)
    try:
        return run_job(engine, settings, job_id)
    finally:
        engine.dispose()


def _reap_task() -> None:
    from breedhub.germplasm.db import make_engine
    from breedhub.germplasm.uploads import reap_uploads

    settings = _worker_settings()
    engine = make_engine(settings.database_url)
    try:
        reap(engine)
        reap_uploads(engine, settings.home)  # uploads left unfinished past their expiry
    finally:
        engine.dispose()


def make_consumer(settings: Settings, *, workers: int = 1) -> Any:
    """A Huey consumer running this installation's jobs (``breedhub worker``).

    Jobs left running by a worker that died are marked failed first.

    Parameters
    ----------
    settings
        The installation: its database, data directory and queue.
    workers
        Jobs run at once (threads; the numerical libraries use the cores).

    Returns
    -------
    huey.consumer.Consumer
        Call ``run()`` (blocks, stops on SIGINT/SIGTERM) or ``start()``/``stop()``.
    """
    from breedhub.base.checks import check_int
    from breedhub.germplasm.db import make_engine

    workers = check_int("workers", workers, minimum=1, maximum=64)
    _WORKER["settings"] = settings
    engine = make_engine(settings.database_url)
    try:
        reap(engine)
    finally:
        engine.dispose()
    return get_queue(settings).create_consumer(workers=workers, worker_type="thread")


def reap(engine: Engine) -> list[int]:
    """Mark failed the running jobs whose worker is gone; return their ids."""
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.jobs import reap_stale_jobs

    with transaction(engine) as s:
        return reap_stale_jobs(s, older_than=stale_after())


class _Heartbeat:
    """A thread that beats a job's heartbeat and notices a cancel request."""

    def __init__(self, engine: Engine, job_id: int) -> None:
        self.engine, self.job_id = engine, job_id
        self.cancel = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"job{job_id}-heartbeat")
        self._thread.daemon = True

    def _loop(self) -> None:
        from breedhub.germplasm.db import transaction
        from breedhub.germplasm.jobs import heartbeat

        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with transaction(self.engine) as s:
                    if heartbeat(s, self.job_id):
                        self.cancel.set()
            except Exception:  # a missed beat is not fatal; the next one may pass
                pass

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=HEARTBEAT_SECONDS * 2)


def run_job(engine: Engine, settings: Settings, job_id: int) -> dict[str, Any]:
    """Run the queued job ``job_id`` here and now (what a worker does with a task).

    The job is claimed (a job cancelled or taken meanwhile is skipped),
    run with a heartbeat, and marked ``done`` with its result, ``failed``
    with the error and the log, or ``cancelled``.

    Parameters
    ----------
    engine
        The germplasm database.
    settings
        The installation (data directory).
    job_id
        The job's id.

    Returns
    -------
    dict
        ``status`` and, when done, the job's result.
    """
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.jobs import append_log, claim_job, finish_job

    with transaction(engine) as s:
        job = claim_job(s, job_id)
        if job is None:
            return {"status": "skipped"}
        kind, parameters = job.kind, dict(job.parameters or {})
        owner = {"institute_id": job.institute_id, "visibility": job.visibility,
                 "created_by": job.user_id}  # fmt: skip

    with _Heartbeat(engine, job_id) as beat:

        def log(line: str, progress: float | None = None) -> None:
            with transaction(engine) as s:
                wanted = append_log(s, job_id, line, progress=progress)
            if wanted or beat.cancel.is_set():
                raise JobCancelled(f"job {job_id} was cancelled")

        try:
            handler = _HANDLERS[_handler_key(kind)]
            result = handler(engine, settings, job_id, parameters, owner, log, beat.cancel)
        except JobCancelled:
            with transaction(engine) as s:
                append_log(s, job_id, "cancelled: stopped before publishing anything")
                finish_job(s, job_id, status="cancelled", error="cancelled by a user")
            return {"status": "cancelled"}
        except Exception as exc:
            if beat.cancel.is_set():  # a workflow stopped on the cancel, mid-rule
                with transaction(engine) as s:
                    append_log(s, job_id, "cancelled: the workflow was stopped")
                    finish_job(s, job_id, status="cancelled", error="cancelled by a user")
                return {"status": "cancelled"}
            with transaction(engine) as s:
                append_log(s, job_id, "".join(traceback.format_exception_only(exc)).strip())
                finish_job(s, job_id, status="failed", error=str(exc) or type(exc).__name__)
            return {"status": "failed", "error": str(exc)}
    with transaction(engine) as s:
        finish_job(s, job_id, status="done", result=result)
    return {"status": "done", **result}


def _handler_key(kind: str) -> str:
    return "pipeline" if kind.startswith("pipeline:") else kind


Log = Callable[..., None]


def _model_run(
    engine: Engine,
    settings: Settings,
    job_id: int,
    params: dict[str, Any],
    owner: dict[str, Any],
    log: Log,
    cancel: threading.Event,
) -> dict[str, Any]:
    # ``log`` raises JobCancelled at the next checkpoint (between traits) once ``cancel`` is set.
    from breedhub.pipelines.publish import fit_and_publish

    traits = params.get("traits") or None
    n = len(traits) if traits else None
    done = [0]

    def progress(line: str) -> None:
        done[0] += 1
        log(line, progress=(done[0] / n * 0.95) if n else None)

    log(f"fitting {params.get('method', 'gblup')} on dataset {params['dataset']}")
    run = fit_and_publish(
        engine,
        dataset=str(params["dataset"]),
        name=str(params.get("name") or f"job{job_id}"),
        method=str(params.get("method") or "gblup"),
        params=params.get("params") or None,
        traits=traits,
        cv_folds=int(params.get("cv_folds", 5)),
        seed=int(params.get("seed", 0)),
        parameters={"job_id": job_id},
        progress=progress,
        owner=owner,
        before_publish=lambda: log("publishing the model run"),
    )
    if run["model_run_id"] is None:
        raise PipelineError("no trait had enough phenotyped accessions: nothing was published")
    log(f"model run {run['model_run_id']} published", progress=1.0)
    return {"model_run_id": run["model_run_id"], "traits": run["traits"],
            "seconds": run["seconds"]}  # fmt: skip


def _pipeline(
    engine: Engine,
    settings: Settings,
    job_id: int,
    params: dict[str, Any],
    owner: dict[str, Any],
    log: Log,
    cancel: threading.Event,
) -> dict[str, Any]:
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.jobs import update_job
    from breedhub.pipelines.runner import run_workflow

    # run_workflow claims a queued job itself and keeps its state: hand it back queued.
    with transaction(engine) as s:
        update_job(s, job_id, {"status": "queued"})
    result = run_workflow(
        str(params["workflow"]), params["config"], engine=engine, home=settings.home,
        cores=int(params.get("cores", 1)), profile=params.get("profile"), job_id=job_id,
        cancel=cancel,
    )  # fmt: skip
    if not result.ok:
        raise PipelineError(f"workflow {params['workflow']} failed: see the log")
    from breedhub.pipelines.batches import adopt_genotypes

    # An upload batch's genotypes belong to its institute from the moment they exist.
    adopt_genotypes(engine, job_id=job_id)
    return result.to_dict()


_HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "model_run": _model_run,
    "pipeline": _pipeline,
}
