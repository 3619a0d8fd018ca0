"""Both workflows end to end with Snakemake's local executor, on SQLite and PostgreSQL.

What users rely on: the results land in the database (a genotype dataset
linked to its samples and accessions, with its QC report; a model run with
GEBVs for every genotyped accession and its cross-validated accuracy), the
run is a job with its state, progress and log, a re-run of a finished
workflow does nothing, and a run killed half-way resumes without redoing
what had finished.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from pathlib import Path

import h5py
import pysam
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from breedhub.cli import main
from breedhub.genomics.call import call_variants
from breedhub.germplasm import accession_detail, session_factory
from breedhub.germplasm.models import (
    GenotypeDataset,
    GenotypeDatasetSample,
    Job,
    ModelRun,
    ObservationVariable,
    Prediction,
    Sample,
)
from breedhub.pipelines.runner import MARKER, queue_workflow, run_workflow
from tests.pipelines.conftest import PREDICT_TRAITS, VARIANTS_NAME, accession_of

pytestmark = pytest.mark.slow

VARIANTS_RULES = {
    "link_reference", "index_reference", "align_reads", "call_variants", "gather_variants",
    "filter_variants", "impute_genotypes", "store_genotypes", "register_genotypes",
}  # fmt: skip


def _mtimes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.lstat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


def _jobs(engine) -> list[Job]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def _records(vcf: Path) -> list[tuple]:
    with pysam.VariantFile(str(vcf)) as f:
        return [
            (r.chrom, r.pos, r.ref, r.alts, tuple(s["GT"] for s in r.samples.values())) for r in f
        ]


def test_variants_workflow__registers_the_dataset_and_a_rerun_does_nothing(
    variants_setup, simulated_reads, engine, home, tmp_path
):
    workdir = home / "runs" / f"variants-{VARIANTS_NAME}"
    plan = run_workflow("variants", variants_setup, engine=engine, home=home, dry_run=True)
    assert plan.status == "dry-run" and plan.job_id is None and not _jobs(engine)
    assert re.search(r"^align_reads +4$", plan.log.read_text(), re.M)
    assert not (workdir / "results").exists()
    # queued (as the web process does), then run by a worker
    job_id = queue_workflow("variants", variants_setup, engine=engine, home=home)
    assert [(j.id, j.status) for j in _jobs(engine)] == [(job_id, "queued")]
    result = run_workflow(
        "variants", variants_setup, engine=engine, home=home, cores=2, job_id=job_id
    )
    assert result.ok, result.tail
    assert result.workdir == workdir and (result.steps_done, result.steps_total) == (16, 16)
    (job,) = _jobs(engine)
    assert (job.id, job.kind, job.status, job.progress) == (
        job_id,
        "pipeline:variants",
        "done",
        1.0,
    )
    assert job.started_at <= job.finished_at and "16 of 16 steps (100%) done" in job.log
    assert not (workdir / MARKER).exists()

    # the dataset: its store in the data directory, its samples linked to their accessions
    summary = json.loads((workdir / "results/register/dataset.json").read_text())
    with session_factory(engine)() as s:
        ds = s.scalars(select(GenotypeDataset).where(GenotypeDataset.name == VARIANTS_NAME)).one()
        linked = s.execute(
            select(Sample.name, Sample.accession_id, GenotypeDatasetSample.column_index)
            .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
            .where(GenotypeDatasetSample.dataset_id == ds.id)
            .order_by(GenotypeDatasetSample.column_index)
        ).all()
        assert [n for n, _, _ in linked] == ["S001", "S002", "S003", "S004"]
        for name, acc_id, _ in linked:
            assert accession_detail(s, accession_of(name))["id"] == acc_id
        detail = accession_detail(s, accession_of("S002"))
        assert [d["name"] for d in detail["genotype_datasets"]] == [VARIANTS_NAME]
    assert summary["dataset_id"] == ds.id and ds.path == str(home / "genotypes" / "rice-sim.h5")
    assert ds.ploidy == 2 and ds.n_samples == 4 and ds.n_variants > 50
    with h5py.File(ds.path, "r") as f:
        assert f.attrs["species"] == "rice" and f["calldata/GT"].shape[1:] == (4, 2)
    # with its QC report
    report = Path(ds.provenance["qc_report"])
    assert report == home / "genotypes" / "rice-sim.qc.html" and report.stat().st_size > 1000
    qc = ds.provenance["qc"]
    assert qc["n_variants_kept"] == ds.n_variants <= qc["n_variants_in"]
    assert set(ds.provenance["alignment"]) == {"S001", "S002", "S003", "S004"}
    assert ds.provenance["parameters"]["region_size"] == 10_000
    # calling region by region, as separate jobs, gives the calls of one joint run
    bams = [workdir / f"results/align/S00{i}.bam" for i in range(1, 5)]
    whole = call_variants(bams, simulated_reads.reference, tmp_path / "whole.vcf.gz", ploidy=2)
    assert _records(workdir / "results/call/calls.vcf.gz") == _records(whole)
    # every rule left a log and a benchmark
    logs = {p.parent.name if p.parent.name != "logs" else p.stem for p in (workdir / "logs").rglob("*.log")}  # fmt: skip
    assert {"align", "call", "filter", "impute", "store", "register", "reference"} <= logs
    benchmarks = [p.stem for p in (workdir / "benchmarks").rglob("*.tsv")]
    assert len(benchmarks) == 15  # every job but `all`: 2 + 4 aligns + 4 regions + 5

    # a re-run finds everything up to date, changes nothing, and is a job too
    before = _mtimes(workdir / "results")
    again = run_workflow("variants", variants_setup, engine=engine, home=home, cores=2)
    assert again.ok and again.nothing_to_do
    assert _mtimes(workdir / "results") == before
    assert [j.status for j in _jobs(engine)] == ["done", "done"]


def test_variants_workflow__a_killed_run_resumes_where_it_stopped(variants_setup, engine, home):
    if engine.dialect.name != "sqlite":
        # Resuming is Snakemake's and the runner's work, the same on either engine;
        # the other workflow tests cover PostgreSQL. This keeps CI a minute shorter.
        pytest.skip("resume is engine-independent: run on SQLite only")
    workdir = home / "runs" / f"variants-{VARIANTS_NAME}"
    finished: list[str] = []
    sample_of: dict[str, str] = {}
    current: dict[str, str] = {}
    first_done = threading.Event()

    def watch(line: str) -> None:
        """Follow Snakemake's job lines: which align_reads job is which sample, which finished."""
        if m := re.match(r"\s+jobid: (\d+)", line):
            current["job"] = m.group(1)
        elif (m := re.match(r"\s+wildcards: sample=(\S+)", line)) and "job" in current:
            sample_of[current["job"]] = m.group(1)
        elif m := re.match(r"Finished jobid: (\d+) \(Rule: align_reads\)", line):
            finished.append(sample_of[m.group(1)])
            first_done.set()

    results = {}
    thread = threading.Thread(
        target=lambda: results.update(
            run=run_workflow(
                "variants", variants_setup, engine=engine, home=home, cores=2, on_output=watch
            )  # fmt: skip
        )
    )
    thread.start()
    try:
        assert first_done.wait(timeout=300), "no alignment finished"
        info = json.loads((workdir / MARKER).read_text())
        os.killpg(info["snakemake_pid"], signal.SIGKILL)  # Snakemake and all its jobs, at once
    finally:
        thread.join(timeout=120)
    killed = results["run"]
    assert killed.status == "failed" and killed.returncode == -signal.SIGKILL
    done_before = list(finished)
    assert done_before and not (workdir / "results/register/dataset.json").exists()
    kept = {s: (workdir / f"results/align/{s}.bam").stat().st_mtime_ns for s in done_before}
    (job,) = _jobs(engine)
    assert job.status == "failed" and "killed by signal 9" in job.error and 0 < job.progress < 1

    resumed = run_workflow("variants", variants_setup, engine=engine, home=home, cores=2)
    assert resumed.ok, resumed.tail
    for sample, mtime in kept.items():  # finished alignments were not redone
        assert (workdir / f"results/align/{sample}.bam").stat().st_mtime_ns == mtime
    log = resumed.log.read_text()
    assert all(f"sample={s}" not in log for s in done_before)
    assert resumed.steps_total <= 16 - len(done_before) - 2  # nor the reference steps
    assert [j.status for j in _jobs(engine)] == ["failed", "done"]
    with session_factory(engine)() as s:
        assert s.scalars(select(GenotypeDataset.n_samples)).one() == 4


def test_predict_workflow__registers_gebvs_of_every_genotyped_accession(
    predict_setup, engine, home
):
    runner = CliRunner()
    args = ["pipeline", "run", "predict", "--config", str(predict_setup), "--cores", "2"]
    result = runner.invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    out = json.loads(result.output)
    assert out["status"] == "done" and out["steps_done"] == out["steps_total"]
    workdir = Path(out["workdir"])
    assert workdir == home / "runs" / "predict-rice-gebv"

    with session_factory(engine)() as s:
        run = s.scalars(select(ModelRun).where(ModelRun.name == "rice-gebv")).one()
        ds = s.scalars(select(GenotypeDataset).where(GenotypeDataset.name == "rice-gbs")).one()
        assert run.genotype_dataset_id == ds.id and run.method in (
            "gblup",
            "rrblup",
            "gblup+rrblup",
        )
        genotyped = set(
            s.scalars(
                select(Sample.accession_id)
                .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
                .where(GenotypeDatasetSample.dataset_id == ds.id)
            )
        )
        assert len(genotyped) == 40
        for trait in PREDICT_TRAITS:
            var_id = s.scalars(select(ObservationVariable.id).where(ObservationVariable.name == trait)).one()  # fmt: skip
            preds = s.execute(
                select(Prediction.accession_id, Prediction.rank).where(
                    Prediction.model_run_id == run.id, Prediction.variable_id == var_id
                )
            ).all()
            assert {a for a, _ in preds} == genotyped  # every genotyped accession
            assert sorted(r for _, r in preds) == list(range(1, 41))
            m = run.metrics[trait]
            assert m["method"] in ("gblup", "rrblup") and set(m["cv"]) == {"gblup", "rrblup"}
            assert m["cv_mean_r"] == max(m["cv"].values())  # the best one was fitted
            assert -1 <= m["cv_mean_r"] <= 1 and m["cv_folds"] == 4 and m["n_phenotyped"] >= 35
        assert Path(run.model_path).is_dir() and len(list(Path(run.model_path).glob("*.npz"))) == 2
        assert run.provenance["run_dir"] == str(workdir)
    # the job, through `breedhub pipeline status`
    status = json.loads(runner.invoke(main, ["pipeline", "status", "--json"]).output)
    assert [(j["workflow"], j["name"], j["status"], j["progress"]) for j in status] == [
        ("predict", "rice-gebv", "done", 1.0)
    ]
    # a re-run does nothing
    before = _mtimes(workdir / "results")
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0 and "nothing to be done" in result.output
    assert _mtimes(workdir / "results") == before
    # other settings redo only what they change, and replace the model run they registered
    config = yaml.safe_load(predict_setup.read_text())
    predict_setup.write_text(yaml.safe_dump({**config, "select": "rrblup"}))
    result = runner.invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["steps_total"] == 4  # fit_model x 2, register_model, all
    after = _mtimes(workdir / "results")
    assert all(after[f] == t for f, t in before.items() if f.startswith(("cv/", "phenotypes/")))
    with session_factory(engine)() as s:
        (run,) = s.scalars(select(ModelRun).where(ModelRun.name == "rice-gebv")).all()
        assert run.method == "rrblup" and run.metrics[PREDICT_TRAITS[0]]["selected_by"] == "config"
        assert s.query(Prediction).filter(Prediction.model_run_id == run.id).count() == 80
