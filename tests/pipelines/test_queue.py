"""The task queue runs jobs outside the web process: real Huey, a real worker, a real database.

A consumer runs in this process (threads) for most tests; the killed-worker
test starts ``breedhub worker`` as a process and kills it with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from breedhub.base.config import Settings
from breedhub.germplasm.db import transaction
from breedhub.germplasm.jobs import get_job, request_cancel
from breedhub.germplasm.models import Institute, Job, ModelRun
from breedhub.pipelines.exceptions import PipelineError
from breedhub.pipelines.queue import get_queue, make_consumer, run_job, submit_job


@pytest.fixture
def settings(home, db_url) -> Settings:
    return Settings.from_env(home)


@pytest.fixture
def consumer(settings) -> Iterator[object]:
    c = make_consumer(settings, workers=1)
    c.start()
    yield c
    c.stop(graceful=True)


def _wait(engine, job_id: int, states: tuple[str, ...], timeout: float = 120.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with transaction(engine) as s:
            job = get_job(s, job_id)
            assert job is not None
            if job.status in states:
                s.expunge(job)
                return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {states}")


def _runs(engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(ModelRun)) or 0


def test_submit_job__a_worker_fits_and_publishes_the_run(engine, settings, predict_setup, consumer):
    with transaction(engine) as s:
        inst = s.scalars(select(Institute)).first()
        inst_id = inst.id
    job_id = submit_job(
        engine, settings, kind="model_run", institute_id=inst_id, visibility="restricted",
        parameters={"dataset": "rice-gbs", "name": "queued gblup", "method": "gblup",
                    "traits": ["GrainYield_t_ha", "DaysToHeading_d"], "cv_folds": 3},
    )  # fmt: skip
    job = _wait(engine, job_id, ("done", "failed"))
    assert job.status == "done", job.error + job.log
    assert job.progress == 1.0 and "published" in job.log
    with transaction(engine) as s:
        run = s.get(ModelRun, job.result["model_run_id"])
        assert run.name == "queued gblup"
        assert (run.institute_id, run.visibility) == (inst_id, "restricted")
        assert set(run.metrics) == {"GrainYield_t_ha", "DaysToHeading_d"}
        assert run.parameters["job_id"] == job_id


def test_submit_job__best_method_chosen_per_trait_by_cross_validation(
    engine, settings, predict_setup
):
    # run_job is what the worker calls; here on this thread, without a consumer
    job_id = submit_job(
        engine, settings, kind="model_run",
        parameters={"dataset": "rice-gbs", "name": "best", "method": "best",
                    "traits": ["GrainYield_t_ha"], "cv_folds": 3,
                    "params": None},
    )  # fmt: skip
    out = run_job(engine, settings, job_id)
    assert out["status"] == "done", out
    with transaction(engine) as s:
        run = s.get(ModelRun, out["model_run_id"])
        m = run.metrics["GrainYield_t_ha"]
    assert set(m["cv"]) == {"gblup", "rkhs", "bayesb"}
    best = max(m["cv"], key=lambda k: m["cv"][k])
    assert m["method"] == best and m["cv_mean_r"] == m["cv"][best]
    assert "best mean cross-validated r" in m["selected_by"]


def test_request_cancel__a_queued_job_never_runs(engine, settings, predict_setup):
    job_id = submit_job(engine, settings, kind="model_run",
                        parameters={"dataset": "rice-gbs", "name": "never"})  # fmt: skip
    with transaction(engine) as s:
        assert request_cancel(s, job_id) == "cancelled"
    assert run_job(engine, settings, job_id) == {"status": "skipped"}
    assert _runs(engine) == 0


def test_request_cancel__a_running_job_stops_before_publishing(
    engine, settings, predict_setup, consumer
):
    job_id = submit_job(
        engine, settings, kind="model_run",
        parameters={"dataset": "rice-gbs", "name": "slow", "method": "bayesb",
                    "params": {"n_iter": 4000, "burn_in": 500}, "cv_folds": 5},
    )  # fmt: skip
    _wait(engine, job_id, ("running",))
    with transaction(engine) as s:
        assert request_cancel(s, job_id) == "running"
    job = _wait(engine, job_id, ("cancelled", "done", "failed"), timeout=300)
    assert job.status == "cancelled", job.error
    assert "stopped before publishing" in job.log
    assert _runs(engine) == 0


def test_run_job__a_failing_job_is_failed_with_its_reason(engine, settings, predict_setup):
    job_id = submit_job(engine, settings, kind="model_run",
                        parameters={"dataset": "no-such-dataset", "name": "x"})  # fmt: skip
    out = run_job(engine, settings, job_id)
    assert out["status"] == "failed"
    with transaction(engine) as s:
        job = get_job(s, job_id)
        assert job.status == "failed" and "no-such-dataset" in job.error
        assert job.finished_at is not None


def test_submit_job__unknown_kind_is_refused(engine, settings):
    with pytest.raises(PipelineError, match="unknown job kind"):
        submit_job(engine, settings, kind="rm -rf", parameters={})
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_get_queue__bad_queue_url_is_named(home, db_url):
    bad = Settings(home=home, database_url=db_url, queue_url="mysql://x")
    with pytest.raises(PipelineError, match="BREEDHUB_QUEUE_URL"):
        get_queue(bad)


def _worker(home, db_url) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BREEDHUB_HOME": str(home), "BREEDHUB_DATABASE_URL": db_url,
           "BREEDHUB_JOB_STALE_SECONDS": "3"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", "from breedhub.cli import main; main()", "worker"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def test_worker__killed_mid_job_leaves_it_failed_with_its_log_and_nothing_published(
    engine, settings, home, db_url, predict_setup
):
    job_id = submit_job(
        engine, settings, kind="model_run",
        parameters={"dataset": "rice-gbs", "name": "killed", "method": "bayesb",
                    "params": {"n_iter": 20000, "burn_in": 1000}, "cv_folds": 5},
    )  # fmt: skip
    proc = _worker(home, db_url)
    try:
        _wait(engine, job_id, ("running",), timeout=120)
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        time.sleep(3.5)  # its heartbeat gets old
        second = _worker(home, db_url)  # a new worker reaps what the dead one left
        try:
            job = _wait(engine, job_id, ("failed", "done"), timeout=60)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert job.status == "failed"
    assert "worker running this job stopped" in job.error
    assert "fitting bayesb" in job.log and "worker lost" in job.log
    assert _runs(engine) == 0


def test_request_cancel__a_running_workflow_is_stopped_mid_rule(
    engine, settings, variants_setup, consumer
):
    if engine.dialect.name != "sqlite":
        pytest.skip("stopping Snakemake does not depend on the engine: SQLite only (CI time)")
    job_id = submit_job(engine, settings, kind="pipeline:variants",
                        parameters={"workflow": "variants", "config": str(variants_setup)})  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until Snakemake itself runs
        with transaction(engine) as s:
            if "snakemake_pid" in (get_job(s, job_id).parameters or {}):
                break
        time.sleep(0.2)
    started = time.monotonic()
    with transaction(engine) as s:
        assert request_cancel(s, job_id) == "running"
    job = _wait(engine, job_id, ("cancelled", "done", "failed"), timeout=120)
    assert job.status == "cancelled", (job.status, job.error)
    assert "the workflow was stopped" in job.log
    # within a heartbeat or two, not at the end of the alignment
    assert time.monotonic() - started < 30
    pid = job.parameters["snakemake_pid"]
    gone = time.monotonic() + 20
    while time.monotonic() < gone:  # Snakemake and its rules end (its children a moment later)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"Snakemake's process group {pid} still runs")
