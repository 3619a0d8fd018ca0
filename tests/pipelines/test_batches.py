"""A batch's last verified file registers it and queues its variants workflow; on both engines.

``receive`` (tests/germplasm/test_batches.py) does what the tus server does
with a verified file; then :func:`upload_verified` runs as the server calls
it. The end-to-end test runs the queued job (Snakemake, local executor) on
the simulated reads and checks the genotypes become the institute's dataset
with the batch as provenance.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from breedhub.base.config import Settings
from breedhub.germplasm import transaction
from breedhub.germplasm.models import DataFile, GenotypeDataset, Institute, Job, Sample
from breedhub.germplasm.models_uploads import UploadBatch
from breedhub.germplasm.sample_sheets import check_sheet, read_sheet
from breedhub.pipelines.batches import adopt_genotypes, upload_verified
from breedhub.pipelines.queue import run_job
from tests.germplasm.test_batches import new_batch, receive, sha256, write_sheet
from tests.pipelines.conftest import INSTCODE, accession_of


def _rows(simulated_reads) -> list[dict[str, str]]:
    rows = []
    for r in simulated_reads.read_sets:
        for read, path in (("1", r.fastq1), ("2", r.fastq2)):
            rows.append({"file": f"reads/{path.name}", "sha256": sha256(path), "sample": r.sample,
                         "accession": accession_of(r.sample), "species": "rice",
                         "library": f"lib-{r.sample}", "platform": "ILLUMINA", "read": read})  # fmt: skip
    return rows


def _institute_id(engine) -> int:
    with transaction(engine) as s:
        return s.scalars(select(Institute.id).where(Institute.code == INSTCODE)).one()


def _batch(engine, batch_id: int) -> UploadBatch:
    with transaction(engine) as s:
        batch = s.get(UploadBatch, batch_id)
        s.expunge(batch)
        return batch


def _send_all(
    engine, home: Path, batch_id: int, simulated_reads, *, skip: int | None = None
) -> None:
    paths = [p for r in simulated_reads.read_sets for p in (r.fastq1, r.fastq2)]
    for i, path in enumerate(paths):
        if i == skip:
            continue
        upload_id = receive(
            engine, home, batch_id, path, institute=INSTCODE, filename=f"reads/{path.name}"
        )
        upload_verified(engine, home, upload_id)
        if i < len(paths) - 1:
            assert _batch(engine, batch_id).state == "open"


def _queued(home: Path, engine, simulated_reads, tmp_path) -> tuple[UploadBatch, dict, int]:
    """A call_variants batch whose files all arrived: registered, its job queued; checked."""
    (home / "references").mkdir()
    shutil.copy(simulated_reads.reference, home / "references" / "rice.fa")
    sheet = write_sheet(tmp_path / "sheet.csv", _rows(simulated_reads))
    batch_id = new_batch(engine, sheet, _institute_id(engine), call_variants=True)
    _send_all(engine, home, batch_id, simulated_reads)
    batch = _batch(engine, batch_id)
    assert batch.state == "registered" and batch.problems == [] and batch.job_id is not None
    with transaction(engine) as s:
        job = s.get(Job, batch.job_id)
        assert (job.kind, job.status, job.visibility) == (
            "pipeline:variants",
            "queued",
            "restricted",
        )
        assert job.institute_id == batch.institute_id and job.parameters["batch_id"] == batch_id
        names = set(s.scalars(select(Sample.name).where(Sample.name.in_(simulated_reads.samples))))
        assert names == set(simulated_reads.samples)
        assert len(list(s.scalars(select(DataFile).where(DataFile.batch_id == batch_id)))) == 8
    config_path = Path(job.parameters["config"])
    config = yaml.safe_load(config_path.read_text())
    assert config_path.is_relative_to(home / "runs" / "batches")
    assert config["name"] == f"{INSTCODE}-batch{batch_id}" and config["species"] == "rice"
    assert config["reference"] == str(home / "references" / "rice.fa")
    samples = read_sheet(config_path.parent / "samples.tsv")  # a TSV the workflow reads
    table = (config_path.parent / "samples.tsv").read_text().splitlines()
    assert table[0].split("\t") == [
        "sample",
        "accession",
        "species",
        "fastq1",
        "fastq2",
        "library",
        "platform",
    ]
    assert len(table) == 5 and samples is not None
    for line in table[1:]:
        fields = line.split("\t")
        r1, r2 = Path(fields[3]), Path(fields[4])
        assert r1.name.endswith(".fastq.gz") and r1.resolve().parent.parent == home / "objects"
        assert sha256(r1) == next(r["sha256"] for r in _rows(simulated_reads)
                                  if r["sample"] == fields[0] and r["read"] == "1")  # fmt: skip
        assert r2.exists()
    return batch, config, batch_id


def test_upload_verified__registers_the_batch_and_queues_its_variants_job(
    stocked_home, engine, simulated_reads, tmp_path
):
    _queued(stocked_home, engine, simulated_reads, tmp_path)


@pytest.mark.slow
def test_upload_verified__the_variants_job_lands_in_the_institutes_dataset(
    stocked_home, engine, simulated_reads, tmp_path
):
    home = stocked_home
    if engine.dialect.name != "sqlite":
        pytest.skip("the workflow is the same on either engine (tests/pipelines/test_workflows.py)")
    batch, config, batch_id = _queued(home, engine, simulated_reads, tmp_path)
    outcome = run_job(engine, Settings.from_env(home), batch.job_id)
    assert outcome["status"] == "done", outcome
    # the worker hands the genotypes to the institute as the job ends: nothing left to adopt
    assert adopt_genotypes(engine) == []
    with transaction(engine) as s:
        ds = s.scalars(select(GenotypeDataset).where(GenotypeDataset.name == config["name"])).one()
        assert (ds.institute_id, ds.visibility) == (batch.institute_id, "restricted")
        assert ds.provenance["batch"]["batch_id"] == batch_id and ds.n_samples == 4
        assert s.get(UploadBatch, batch_id).genotype_dataset_id == ds.id
    assert adopt_genotypes(engine) == []


def test_upload_verified__a_sha256_that_does_not_match_registers_nothing(
    stocked_home, engine, simulated_reads, tmp_path
):
    home = stocked_home
    rows = _rows(simulated_reads)
    rows[5]["sha256"] = "0" * 64  # row 7 declares a checksum its file does not have
    sheet = write_sheet(tmp_path / "sheet.tsv", rows)
    with transaction(engine) as s:
        assert check_sheet(s, read_sheet(sheet), _institute_id(engine)) == []
    batch_id = new_batch(engine, sheet, _institute_id(engine), call_variants=False)
    _send_all(engine, home, batch_id, simulated_reads)
    batch = _batch(engine, batch_id)
    assert batch.state == "failed" and batch.job_id is None
    assert [(p["row"], p["column"]) for p in batch.problems] == [(7, "sha256")]
    with transaction(engine) as s:
        assert not list(s.scalars(select(Sample).where(Sample.name.in_(simulated_reads.samples))))
        assert not list(s.scalars(select(DataFile).where(DataFile.batch_id == batch_id)))


def test_upload_verified__waits_for_the_last_file_and_ignores_loose_uploads(
    stocked_home, engine, simulated_reads, tmp_path
):
    home = stocked_home
    sheet = write_sheet(tmp_path / "sheet.xlsx", _rows(simulated_reads))
    batch_id = new_batch(engine, sheet, _institute_id(engine))
    _send_all(engine, home, batch_id, simulated_reads, skip=3)
    assert _batch(engine, batch_id).state == "open"
    loose = receive(engine, home, None, simulated_reads.read_sets[0].fastq1, institute=INSTCODE)
    upload_verified(engine, home, loose)  # no batch: nothing to do
    upload_verified(engine, home, "no-such-upload")
    assert _batch(engine, batch_id).state == "open"


@pytest.fixture(autouse=True)
def _queue_in_home(monkeypatch):
    monkeypatch.delenv("BREEDHUB_QUEUE_URL", raising=False)
