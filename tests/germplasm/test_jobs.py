"""Tests of germplasm/jobs.py: recording jobs, updating them, listing the latest."""

from breedhub.germplasm import transaction
from breedhub.germplasm.jobs import add_job, get_job, latest_jobs, update_job


def test_jobs__add_update_and_list_newest_first(engine):
    with transaction(engine) as s:
        ids = [add_job(s, kind=k, parameters={"n": i}).id for i, k in
               enumerate(["pipeline:variants", "upload", "pipeline:predict", "pipeline:variants"])]  # fmt: skip
    with transaction(engine) as s:
        job = update_job(s, ids[0], {"status": "running", "progress": 0.5})
        assert job is not None and job.status == "running"
        assert update_job(s, ids[-1] + 100, {"status": "failed"}) is None
    with transaction(engine) as s:
        assert get_job(s, ids[0]).progress == 0.5 and get_job(s, ids[-1] + 100) is None
        assert get_job(s, ids[1]).status == "queued" and get_job(s, ids[1]).parameters == {"n": 1}
        latest = latest_jobs(s, kind_prefix="pipeline:")
        assert [j.id for j in latest] == [ids[3], ids[2], ids[0]]
        assert [j.id for j in latest_jobs(s, kind_prefix="pipeline:", limit=1)] == [ids[3]]
        assert [j.id for j in latest_jobs(s, kind_prefix="pipeline:", job_id=ids[0])] == [ids[0]]
        assert latest_jobs(s, kind_prefix="pipeline:", job_id=ids[1]) == []
