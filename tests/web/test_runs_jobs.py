"""Model-run and job pages: listing, accuracy, starting a run as a job, its state, cancelling."""

from __future__ import annotations

import re

from sqlalchemy import select

from breedhub.base.config import Settings
from breedhub.germplasm import transaction
from breedhub.germplasm.models import Institute, Job, ModelRun, SpeciesRow
from breedhub.pipelines.queue import run_job
from breedhub.web.db import get_engine
from tests.web.conftest import bearer, csrf_token, login


def _restricted_run(app, code: str = "CHN999") -> int:
    with transaction(get_engine(app)) as s:
        inst = s.scalars(select(Institute).where(Institute.code == code)).one()
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        run = ModelRun(
            name="secret run", method="gblup", species_id=rice.id, institute_id=inst.id,
            visibility="restricted",
            metrics={"GrainYield_t_ha": {"cv_mean_r": 0.41, "cv_fold_r": [0.3, 0.5, 0.43],
                                         "direction": "higher", "n_ranked": 10}},
        )  # fmt: skip
        s.add(run)
        s.flush()
        return run.id


def test_runs__anonymous_sees_public_runs_and_no_form(client, world):
    html = client.get("/runs").get_data(as_text=True)
    assert "gblup-height-2024" in html
    assert "Start a model run" not in html


def test_run__per_fold_plot_and_accuracy_for_its_institute_only(app, client, world, accounts):
    run_id = _restricted_run(app)
    assert client.get(f"/runs/{run_id}").status_code == 404  # anonymous: as if unknown
    assert "secret run" not in client.get("/runs").get_data(as_text=True)
    login(client, "bea")  # PHL001: another institute
    assert client.get(f"/runs/{run_id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "chen")  # CHN999
    resp = client.get(f"/runs/{run_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "0.41" in html and "<svg" in html  # the mean and the per-fold plot


def test_runs_new__breeder_403_anonymous_login(app, client, world, accounts):
    resp = client.post("/runs/new", data={"dataset": "rice-panel-2024"})
    assert resp.status_code in (302, 400)  # no CSRF token as anonymous: 400, else login
    login(client, "bea")
    token = csrf_token(client, "/runs")
    resp = client.post("/runs/new", data={"csrf_token": token, "dataset": "rice-panel-2024"})
    assert resp.status_code == 403


def test_runs_new__queues_a_job_whose_failure_is_shown(app, client, world, accounts):
    login(client, "bio")
    html = client.get("/runs").get_data(as_text=True)
    assert "Start a model run" in html and "rice-panel-2024" in html
    resp = client.post("/runs/new", data={
        "csrf_token": csrf_token(client, "/runs"), "dataset": "rice-panel-2024",
        "method": "best", "name": "my run", "visibility": "restricted",
    })  # fmt: skip
    assert resp.status_code == 302
    job_id = int(re.search(r"/jobs/(\d+)$", resp.headers["Location"]).group(1))
    with transaction(get_engine(app)) as s:
        job = s.get(Job, job_id)
        assert (job.status, job.kind, job.visibility) == ("queued", "model_run", "restricted")
        assert job.parameters["method"] == "best" and job.user_id == accounts.ids["bio"]
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "queued" in page and "Cancel the job" in page
    # the worker's step: the world's dataset has no store file, so the job fails and says why
    settings = Settings(home=app.config["BREEDHUB_HOME"], database_url=app.config["DATABASE_URL"])
    assert run_job(get_engine(app), settings, job_id)["status"] == "failed"
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "failed" in page and "rice.h5" in page
    # another institute's user does not see it; the API answers as the page
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404  # no token: anonymous
    ok = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(accounts.tokens["bea"]))
    assert ok.status_code == 200 and ok.get_json()["status"] == "failed"
    denied = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(accounts.tokens["chen"]))
    assert denied.status_code == 404


def test_job_cancel__owner_cancels_others_403(app, client, world, accounts):
    login(client, "bio")
    resp = client.post("/runs/new", data={"csrf_token": csrf_token(client, "/runs"),
                                          "dataset": "rice-panel-2024"})  # fmt: skip
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    other = app.test_client()
    login(other, "bea")
    resp = other.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf_token(other, "/")})
    assert resp.status_code == 403
    resp = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf_token(client, "/")})
    assert resp.status_code == 302
    with transaction(get_engine(app)) as s:
        assert s.get(Job, job_id).status == "cancelled"
    assert "cancelled" in client.get("/jobs").get_data(as_text=True)


def test_jobs__bad_parameters_400(client, world):
    assert client.get("/jobs?status=exploded").status_code == 400
    assert client.get("/jobs?page=%C2%B2").status_code == 400
    assert client.get("/runs?page=0").status_code == 400
    assert client.get("/runs?species=mars").status_code == 400
    assert client.get("/jobs/99999999999999").status_code == 404
