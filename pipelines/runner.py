"""Run a workflow: check its config, run Snakemake, and record the run as a job.

:func:`run_workflow` is what ``breedhub pipeline run`` and the web process
(through a worker) call. It

1. checks the config, its sample sheet and their records in the database
   (:func:`pipelines.config.prepare_config`): with any problem it raises
   :class:`~pipelines.exceptions.ConfigError` listing them all, and nothing
   is created: no working directory, no job;
2. makes the working directory ``<home>/runs/<workflow>-<name>/`` and writes
   the resolved config there (only when it changed, so that a re-run of a
   finished workflow finds everything up to date);
3. records a :class:`~germplasm.models.Job` (``queued``, then ``running``),
   runs ``python -m snakemake`` on ``pipelines/workflow/Snakefile`` in its
   own process group with ``--rerun-incomplete`` (after ``--unlock`` when
   an earlier run was killed), keeps its output in
   ``logs/runs/<time>-job<id>.log``, and updates the job's progress from
   Snakemake's "N of M steps" lines;
4. marks the job ``done`` or ``failed`` with the tail of the log.

Local runs use ``pipelines/profiles/local``; ``profile="slurm"`` uses
``pipelines/profiles/slurm``, and any other value is a profile folder.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml
from sqlalchemy import Engine

from breedhub.pipelines.config import WORKFLOWS, load_config, prepare_config
from breedhub.pipelines.exceptions import PipelineError, WorkflowBusyError

__all__ = [
    "PROFILES_DIR",
    "SNAKEFILE",
    "RunResult",
    "breedhub_command",
    "pipeline_status",
    "profile_dir",
    "queue_workflow",
    "run_workflow",
    "run_dir",
]

PIPELINES_DIR = Path(__file__).parent
SNAKEFILE = PIPELINES_DIR / "workflow" / "Snakefile"
PROFILES_DIR = PIPELINES_DIR / "profiles"
JOB_KIND_PREFIX = "pipeline:"
MARKER = ".breedhub-run.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_STEPS_RE = re.compile(r"(\d+) of (\d+) steps \((?:[\d.]+)%\) done")
_NOTHING = "Nothing to be done"
_LOG_TAIL_LINES = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass
class RunResult:
    """How a run of a workflow ended.

    Attributes
    ----------
    status
        ``done``, ``failed``, or ``dry-run`` (checked and planned, nothing run).
    returncode
        Snakemake's exit status (negative: killed by that signal).
    nothing_to_do
        Snakemake found every output up to date and ran nothing.
    steps_done, steps_total
        From Snakemake's last "N of M steps" line of this run.
    log
        The full output of this run.
    tail
        Its last lines (what the job row keeps).
    """

    kind: str
    name: str
    status: str
    returncode: int
    workdir: Path
    log: Path
    job_id: int | None = None
    steps_done: int = 0
    steps_total: int = 0
    nothing_to_do: bool = False
    tail: str = ""
    command: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "status": self.status,
            "returncode": self.returncode, "workdir": str(self.workdir), "log": str(self.log),
            "job_id": self.job_id, "steps_done": self.steps_done, "steps_total": self.steps_total,
            "nothing_to_do": self.nothing_to_do,
        }  # fmt: skip


def breedhub_command() -> str:
    """The shell words that run ``breedhub`` with this interpreter (for the rules).

    The console script beside ``sys.executable`` when there is one, else the
    interpreter running :func:`breedhub.cli.main`.
    """
    script = Path(sys.executable).with_name("breedhub")
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    code = "import sys; from breedhub.cli import main; sys.exit(main())"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def profile_dir(profile: str | os.PathLike[str] | None) -> Path:
    """The Snakemake profile folder: ours for None/``local``/``slurm``, else a path.

    Raises
    ------
    PipelineError
        If the folder has no ``config.yaml``.
    """
    if profile is None or str(profile) == "local":
        path = PROFILES_DIR / "local"
    elif str(profile) == "slurm":
        path = PROFILES_DIR / "slurm"
    else:
        path = Path(profile).absolute()
    if not (path / "config.yaml").is_file():
        raise PipelineError(f"profile {profile!r}: no config.yaml in {path}")
    return path


def run_dir(home: str | os.PathLike[str], kind: str, name: str) -> Path:
    """The working directory of a workflow: ``<home>/runs/<kind>-<name>``."""
    return Path(home).absolute() / "runs" / f"{kind}-{name}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_not_busy(workdir: Path) -> None:
    marker = workdir / MARKER
    if not marker.is_file():
        return
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return
    if info.get("host") == socket.gethostname() and _pid_alive(int(info.get("pid", 0))):
        raise WorkflowBusyError(
            f"{workdir}: the workflow is running there already (job {info.get('job_id')}, "
            f"process {info.get('pid')}); wait for it or stop it first"
        )


def _write_config(path: Path, resolved: dict[str, Any]) -> None:
    """Write the resolved config, leaving the file alone when it is unchanged."""
    text = yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f".{path.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _base_command(
    workdir: Path, config_file: Path, cores: int, profile: str | os.PathLike[str] | None
) -> list[str]:
    return [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(SNAKEFILE),
        "--directory", str(workdir),
        "--configfile", str(config_file),
        "--cores", str(cores),
        "--profile", str(profile_dir(profile)),
        "--workflow-profile", "none",
        "--nocolor",
    ]  # fmt: skip


def _environment(engine: Engine, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["BREEDHUB_HOME"] = str(home)
    env["BREEDHUB_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _update_job(engine: Engine, job_id: int | None, **values: Any) -> None:
    if job_id is None:
        return
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.jobs import update_job

    with transaction(engine) as s:
        if update_job(s, job_id, values) is None:
            raise PipelineError(f"no job {job_id}")


def _claim_job(
    engine: Engine, kind: str, job_id: int | None, user_id: int | None, parameters: dict[str, Any]
) -> int:
    """The job a run records itself as: a new one, or the ``queued`` pipeline job ``job_id``."""
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.jobs import add_job, get_job

    with transaction(engine) as s:
        if job_id is None:
            return add_job(
                s, kind=f"{JOB_KIND_PREFIX}{kind}", user_id=user_id, parameters=parameters
            ).id
        job = get_job(s, job_id)
        if job is None or not job.kind.startswith(JOB_KIND_PREFIX):
            raise PipelineError(f"no pipeline job {job_id}")
        if job.status != "queued":
            raise PipelineError(f"job {job_id} is {job.status}, not queued")
        job.parameters = {**(job.parameters or {}), **parameters}
        return job_id


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop Snakemake, if still running, and its process group: TERM, then KILL after 60 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # Snakemake stops its jobs and cleans up
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _stop_when_set(cancel: threading.Event, proc: subprocess.Popen[str]) -> None:
    """Stop ``proc`` (see :func:`_stop`) from a watcher thread as soon as ``cancel`` is set."""

    def watch() -> None:
        while proc.poll() is None:
            if cancel.wait(0.5):
                _stop(proc)
                return

    threading.Thread(target=watch, name=f"stop-snakemake-{proc.pid}", daemon=True).start()


def _follow(
    lines: Iterable[str],
    log: TextIO,
    tail: collections.deque[str],
    on_output: Callable[[str], None] | None,
    engine: Engine,
    job_id: int | None,
) -> tuple[int, int, bool]:
    """Copy Snakemake's output to the log, ``tail`` and ``on_output``, reporting its
    progress to the job at most once a second (and at the last step).

    Returns the steps done and in all, and whether Snakemake had nothing to do.
    """
    done = total = 0
    nothing = False
    last_update = 0.0
    for line in lines:
        log.write(line)
        log.flush()
        line = line.rstrip("\n")
        tail.append(line)
        if on_output is not None:
            on_output(line)
        if _NOTHING in line:
            nothing = True
        m = _STEPS_RE.search(line)
        if m:
            done, total = int(m.group(1)), int(m.group(2))
            now = time.monotonic()
            if now - last_update > 1.0 or done == total:
                last_update = now
                _update_job(
                    engine, job_id, progress=done / total if total else 0.0,
                    log="\n".join(tail),
                )  # fmt: skip
    return done, total, nothing


def run_workflow(
    kind: str,
    config: str | os.PathLike[str],
    *,
    engine: Engine,
    home: str | os.PathLike[str],
    cores: int = 2,
    profile: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    extra_args: Sequence[str] = (),
    job_id: int | None = None,
    user_id: int | None = None,
    on_output: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Check a workflow's config, run it with Snakemake, and record it as a job.

    Parameters
    ----------
    kind
        ``variants`` or ``predict``.
    config
        The workflow's config file (YAML).
    engine
        The germplasm database: checked against, and where the job is recorded.
    home
        The data directory (the working directory goes under ``runs/``).
    cores
        Cores Snakemake may use at once (on a cluster: for local rules).
    profile
        None or ``local`` (this machine), ``slurm``, or a profile folder.
    dry_run
        Check and plan only: Snakemake's ``--dry-run``; no job is recorded.
    extra_args
        More Snakemake arguments.
    job_id
        A ``queued`` job (recorded by the web process) to run as; default: a new one.
    user_id
        Who asked, for a new job.
    on_output
        Called with each line Snakemake prints.
    cancel
        Set by another thread to stop the run: Snakemake and its jobs are
        stopped at once (SIGTERM to its process group), not at its next line.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Listing every problem of the config, its sample sheet and the
        database records they name; nothing was created or run.
    WorkflowBusyError
        If the same workflow is running in its working directory.
    PipelineError
        For an unknown workflow or profile.
    """
    if kind not in WORKFLOWS:
        raise PipelineError(f"unknown workflow {kind!r}; workflows: {', '.join(WORKFLOWS)}")
    if not isinstance(cores, int) or cores < 1:
        raise ValueError(f"cores must be a positive integer, not {cores!r}")
    home = Path(home).absolute()
    config_path = Path(config).absolute()
    raw = load_config(config_path)
    name = raw.get("name")
    workdir = run_dir(home, kind, name) if isinstance(name, str) and _NAME_RE.match(name) else None
    resolved = prepare_config(config_path, kind, engine=engine, home=home, run_dir=workdir)
    assert workdir is not None  # prepare_config refuses a config without a good name
    base = _base_command(workdir, workdir / "config.yaml", cores, profile)
    _check_not_busy(workdir)

    workdir.mkdir(parents=True, exist_ok=True)
    _write_config(workdir / "config.yaml", resolved)
    env = _environment(engine, home)
    parameters = {
        "workflow": kind, "name": resolved["name"], "config": str(config_path),
        "workdir": str(workdir), "cores": cores, "profile": str(profile or "local"),
        "pid": os.getpid(), "host": socket.gethostname(),
    }  # fmt: skip
    if dry_run:
        job_id = None  # a dry run is not a job
    else:
        job_id = _claim_job(engine, kind, job_id, user_id, parameters)
    locks = workdir / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        # an earlier run was killed and left its lock; none is running (checked above)
        subprocess.run([*base, "--unlock"], cwd=workdir, env=env, capture_output=True, check=False)

    command = [*base, "--rerun-incomplete", *(["--dry-run"] if dry_run else []), *extra_args]
    stamp = _now().strftime("%Y%m%d-%H%M%S")
    log_path = workdir / "logs" / "runs" / f"{stamp}-{'dryrun' if dry_run else f'job{job_id}'}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: collections.deque[str] = collections.deque(maxlen=_LOG_TAIL_LINES)
    _update_job(engine, job_id, status="running", started_at=_now(), progress=0.0, error="")
    proc = None
    returncode = -1
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            log.write(f"$ {shlex.join(command)}\n")
            log.flush()
            proc = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, errors="replace", bufsize=1, start_new_session=True,
            )  # fmt: skip
            (workdir / MARKER).write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "snakemake_pid": proc.pid,
                        "host": socket.gethostname(),
                        "job_id": job_id,
                    }
                )  # fmt: skip
            )
            if job_id is not None:
                _update_job(engine, job_id, parameters={**parameters, "snakemake_pid": proc.pid})
            assert proc.stdout is not None
            if cancel is not None:
                _stop_when_set(cancel, proc)
            done, total, nothing = _follow(proc.stdout, log, tail, on_output, engine, job_id)
            returncode = proc.wait()
    except BaseException:
        if proc is not None:
            _stop(proc)
        _update_job(engine, job_id, status="failed", finished_at=_now(), log="\n".join(tail),
                    error="interrupted")  # fmt: skip
        raise
    finally:
        (workdir / MARKER).unlink(missing_ok=True)
    if returncode == 0:
        status, error = ("dry-run" if dry_run else "done"), ""
        if nothing:
            done, total = max(done, total), max(done, total)
    else:
        status = "failed"
        error = (
            f"Snakemake was killed by signal {-returncode}"
            if returncode < 0
            else f"Snakemake exited with status {returncode}; see {log_path}"
        )
    _update_job(
        engine, job_id, status=status, finished_at=_now(), log="\n".join(tail), error=error,
        progress=1.0 if returncode == 0 else (done / total if total else 0.0),
    )  # fmt: skip
    return RunResult(
        kind=kind, name=resolved["name"], status=status, returncode=returncode, workdir=workdir,
        log=log_path, job_id=job_id, steps_done=done, steps_total=total, nothing_to_do=nothing,
        tail="\n".join(list(tail)[-40:]), command=command,
    )  # fmt: skip


def queue_workflow(
    kind: str,
    config: str | os.PathLike[str],
    *,
    engine: Engine,
    home: str | os.PathLike[str],
    user_id: int | None = None,
) -> int:
    """Check a workflow's config and record a ``queued`` job for a worker to run.

    What the web process does instead of running a workflow in the request:
    the config is checked now (so the user sees every problem at once), and
    a worker later calls :func:`run_workflow` with ``job_id``.

    Returns
    -------
    int
        The job's id; its parameters hold the workflow and the config file.

    Raises
    ------
    ConfigError
        Listing every problem; no job is recorded.
    """
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.jobs import add_job

    if kind not in WORKFLOWS:
        raise PipelineError(f"unknown workflow {kind!r}; workflows: {', '.join(WORKFLOWS)}")
    config_path = Path(config).absolute()
    raw = load_config(config_path)
    name = raw.get("name")
    workdir = run_dir(home, kind, name) if isinstance(name, str) and _NAME_RE.match(name) else None
    resolved = prepare_config(config_path, kind, engine=engine, home=home, run_dir=workdir)
    parameters = {"workflow": kind, "name": resolved["name"], "config": str(config_path),
                  "workdir": str(workdir)}  # fmt: skip
    with transaction(engine) as s:
        job = add_job(s, kind=f"{JOB_KIND_PREFIX}{kind}", user_id=user_id, parameters=parameters)
        return job.id


def pipeline_status(
    engine: Engine, *, job_id: int | None = None, limit: int = 20, with_log: bool = False
) -> list[dict[str, Any]]:
    """The latest pipeline jobs, newest first (or one job).

    A job still marked ``running`` whose runner process is gone (on this
    host) is marked ``failed`` ("interrupted") on the way.

    Returns
    -------
    list of dict
        id, workflow, name, status, progress, workdir, times, error (and the
        log tail with ``with_log`` or ``job_id``).
    """
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.exceptions import NotFoundError
    from breedhub.germplasm.jobs import latest_jobs

    host = socket.gethostname()
    with transaction(engine) as s:
        jobs = latest_jobs(s, kind_prefix=JOB_KIND_PREFIX, job_id=job_id, limit=limit)
        if job_id is not None and not jobs:
            raise NotFoundError(f"no pipeline job {job_id}")
        out = []
        for job in jobs:
            p = job.parameters or {}
            if (
                job.status == "running"
                and p.get("host") == host
                and p.get("pid")
                and not _pid_alive(int(p["pid"]))
            ):
                job.status, job.finished_at = "failed", _now()
                job.error = "interrupted: the runner stopped before the workflow ended"
            row = {
                "id": job.id, "workflow": job.kind.removeprefix(JOB_KIND_PREFIX),
                "name": p.get("name", ""), "status": job.status, "progress": job.progress,
                "workdir": p.get("workdir", ""), "created_at": job.created_at,
                "started_at": job.started_at, "finished_at": job.finished_at, "error": job.error,
            }  # fmt: skip
            if with_log or job_id is not None:
                row["log"] = job.log
            out.append(row)
    return out
