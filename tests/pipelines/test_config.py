"""Configs and sample sheets are checked before anything runs, with every problem listed."""

import json
import shutil

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from breedhub.cli import main
from breedhub.germplasm.models import Job
from breedhub.pipelines.config import (
    check_config,
    prepare_config,
    read_sample_sheet,
    schema_problems,
)
from breedhub.pipelines.exceptions import ConfigError
from breedhub.pipelines.runner import run_workflow
from tests.pipelines.conftest import (
    OTHER_SPECIES_ACCESSION,
    accession_of,
    sheet_rows,
    write_sample_sheet,
)


def _problems(exc_info) -> set[tuple[str, int, str]]:
    return {(p.file.rsplit("/", 1)[-1], p.row, p.column) for p in exc_info.value.problems}


def _edit(config_path, **changes):
    config = yaml.safe_load(config_path.read_text())
    config.update(changes)
    config_path.write_text(yaml.safe_dump(config))
    return config_path


def test_prepare_config__resolves_a_good_variants_config(variants_setup, engine, home):
    resolved = prepare_config(variants_setup, engine=engine, home=home)
    info = resolved["_resolved"]
    assert resolved["samples"].startswith("/") and resolved["reference"].startswith("/")
    assert info["ploidy"] == 2 and info["home"] == str(home)
    assert info["regions"] == ["chr1:1-10000", "chr1:10001-20000", "chr2:1-10000", "chr2:10001-20000"]  # fmt: skip
    assert [s["name"] for s in info["samples"]] == ["S001", "S002", "S003", "S004"]
    assert info["samples"][0]["accession"] == accession_of("S001")
    assert info["samples"][0]["library"] == "lib-S001" and len(info["samples"][0]["units"]) == 1
    assert resolved["aligner"] == "minimap2" and resolved["register"] is True  # schema defaults


def test_prepare_config__bad_sheet_and_regions_list_every_problem(
    variants_setup, simulated_reads, engine, home
):
    rows = sheet_rows(simulated_reads)
    rows.append(dict(rows[3]))  # row 5: S004 again with the same reads: a duplicated sample
    rows[0]["fastq2"] = "/nowhere/S001_R2.fastq.gz"  # a missing FASTQ
    rows[1]["accession"] = OTHER_SPECIES_ACCESSION  # an accession of another species
    rows[2]["accession"] = "BHT001:NOPE"  # an unknown accession
    write_sample_sheet(variants_setup.parent / "samples.tsv", rows)
    # a region on a contig the reference lacks, one past a contig's end, and a bad ploidy
    _edit(variants_setup, regions=["chr1:1-5000", "chrX:1-100", "chr2:19000-30000"], ploidy=0)
    with pytest.raises(ConfigError) as exc:
        prepare_config(variants_setup, engine=engine, home=home)
    assert _problems(exc) == {
        ("samples.tsv", 1, "fastq2"),
        ("samples.tsv", 2, "accession"),
        ("samples.tsv", 3, "accession"),
        ("samples.tsv", 5, "fastq1"),
        ("samples.tsv", 5, "fastq2"),
        ("variants.yaml", 0, "ploidy"),
        ("variants.yaml", 0, "regions[1]"),
        ("variants.yaml", 0, "regions[2]"),
    }
    text = str(exc.value)
    assert text.startswith("8 problems, nothing was run:")
    assert "samples.tsv, row 1, column fastq2 ('/nowhere/S001_R2.fastq.gz'): no such file" in text
    assert "row 2, column accession ('BHT001:BN-001'): the accession is Brassica napus (rapeseed), not rice" in text  # fmt: skip
    assert "row 3, column accession ('BHT001:NOPE'): unknown accession" in text
    assert "row 5, column fastq1" in text and "duplicated sample: row 4 has the same" in text
    assert "regions[1] ('chrX:1-100'): names no contig of the reference (its contigs: chr1, chr2)" in text  # fmt: skip
    assert "regions[2] ('chr2:19000-30000'): runs past the end of chr2 (1-20000)" in text


def test_prepare_config__samples_the_database_has_for_other_accessions(
    variants_setup, engine, home
):
    from breedhub.germplasm import get_accession, session_factory
    from breedhub.pipelines.register import register_genotype_dataset

    with session_factory(engine)() as s:
        first = get_accession(s, accession_of("S001")).id
    register_genotype_dataset(
        engine, name="older", species="rice", path="/x.h5", ploidy=2, n_variants=1,
        samples=[("S001", first), ("S004", first)],
    )  # fmt: skip
    _edit(variants_setup, name="older")  # and a dataset of that name exists
    with pytest.raises(ConfigError) as exc:
        prepare_config(variants_setup, engine=engine, home=home)
    assert _problems(exc) == {("samples.tsv", 4, "sample"), ("variants.yaml", 0, "name")}
    text = str(exc.value)
    assert "row 4, column sample ('S004'): duplicated sample: the database has a sample" in text
    assert "name ('older'): a genotype dataset of that name exists" in text


def test_run_workflow__bad_input_creates_and_runs_nothing(variants_setup, engine, home):
    sheet = variants_setup.parent / "samples.tsv"
    sheet.write_text(sheet.read_text().replace("S002_R1", "S002_missing_R1"))
    with pytest.raises(ConfigError, match="no such file"):
        run_workflow("variants", variants_setup, engine=engine, home=home)
    assert not (home / "runs" / "variants-rice-sim").exists()
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Job)).scalar() == 0


def test_pipeline_cli__bad_config_is_a_list_not_a_traceback(variants_setup, home):
    _edit(variants_setup, regions=["chrZ"], aligner="bowtie", colour="red")
    runner = CliRunner()
    args = ["pipeline", "run", "variants", "--config", str(variants_setup)]
    result = runner.invoke(main, args)
    out = result.output + result.stderr
    assert result.exit_code == 1 and "Traceback" not in out
    assert "3 problems, nothing was run" in out
    assert "variants.yaml, colour: unknown key" in out
    assert "variants.yaml, aligner ('bowtie'): 'bowtie' is not one of ['minimap2', 'bwa']" in out
    assert "variants.yaml, regions[0] ('chrZ'): names no contig of the reference" in out
    result = runner.invoke(main, [*args, "--json"])
    err = json.loads(result.output)["error"]
    assert err["type"] == "ConfigError" and len(err["details"]) == 3
    assert {"file": str(variants_setup), "row": 0, "column": "colour"}.items() <= err["details"][1].items()  # fmt: skip
    assert not (home / "runs" / "variants-rice-sim").exists()


def test_sample_sheet__layout_problems(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text("sample,accesion,species,fastq1\nA,X:1,rice,a.fq\n\nB,X:2,rice,b.fq,extra\n")
    header, rows, problems = read_sample_sheet(sheet)
    assert header == ["sample", "accesion", "species", "fastq1"]
    assert [r for r, _ in rows] == [1, 3]  # rows are numbered as lines under the header
    assert {(p.row, p.column, p.reason.split(";")[0]) for p in problems} == {
        (0, "accesion", "unknown column"),
        (0, "accession", "required column is missing"),
        (3, "", "5 cells but 4 columns"),
    }


def test_sample_sheet__row_rules(variants_setup, simulated_reads, tmp_path):
    rows = sheet_rows(simulated_reads)
    rows[0]["fastq1"] = ""  # fastq2 without fastq1
    rows[1]["sample"] = "bad name"
    rows[2]["accession"] = "R0001"  # no INSTCODE
    rows[3]["species"] = "wheat"
    write_sample_sheet(variants_setup.parent / "samples.tsv", rows)
    with pytest.raises(ConfigError) as exc:
        prepare_config(variants_setup)
    reasons = {(p.row, p.column): p.reason for p in exc.value.problems}
    assert reasons[(1, "fastq1")] == "fastq2 is given but fastq1 is empty"
    assert reasons[(2, "sample")].startswith("use letters, digits")
    assert reasons[(3, "accession")] == "must be INSTCODE:ACCENUMB, e.g. CHN001:R0001"
    assert reasons[(4, "species")].startswith("unknown species; known: rice")


def test_sample_sheet__lanes_and_bams(variants_setup, simulated_reads, tmp_path):
    from breedhub.genomics.align import align_reads

    reads = simulated_reads.read_sets
    bam = tmp_path / "S002.bam"
    align_reads(simulated_reads.reference, [(reads[1].fastq1, reads[1].fastq2)], bam, sample="S002")
    wrong = tmp_path / "wrong.bam"
    shutil.copy(bam, wrong)  # SM is S002, and no index beside it
    rows = sheet_rows(simulated_reads)
    lane2 = dict(rows[0], fastq1=str(reads[2].fastq1), fastq2=str(reads[2].fastq2))
    rows[1] = {**rows[1], "fastq1": "", "fastq2": "", "bam": str(bam)}
    rows[2] = {**rows[2], "fastq1": "", "fastq2": "", "bam": str(wrong)}
    rows[3]["library"] = "x"
    rows.append(dict(rows[3], library="y"))  # a lane of S004 with another library
    rows[4]["fastq1"], rows[4]["fastq2"] = str(reads[0].fastq1), ""
    columns = ["sample", "accession", "species", "fastq1", "fastq2", "bam", "library"]
    sheet = variants_setup.parent / "samples.tsv"
    sheet.write_text(
        "\n".join(["\t".join(columns)] + ["\t".join(r.get(c, "") for c in columns) for r in rows])
    )
    with pytest.raises(ConfigError) as exc:
        prepare_config(variants_setup)
    reasons = {(p.row, p.column): p.reason for p in exc.value.problems}
    assert set(reasons) == {(3, "bam"), (5, "fastq1"), (5, "library")}
    assert reasons[(5, "fastq1")] == "the same file as row 1 (sample S001)"
    assert reasons[(5, "library")].startswith(
        "duplicated sample: S004 is in row 4 with library 'x'"
    )
    bad_bam = [p.reason for p in exc.value.problems if p.column == "bam"]
    assert any("no index beside it" in r for r in bad_bam)
    assert any("read groups name the samples ['S002'], not S003" in r for r in bad_bam)
    # two lanes of one sample, and a sample given as a BAM: fine
    rows = sheet_rows(simulated_reads)[:2] + [lane2]
    rows[1] = {**rows[1], "fastq1": "", "fastq2": "", "bam": str(bam)}
    lane2["sample"] = "S001"
    sheet.write_text(
        "\n".join(["\t".join(columns)] + ["\t".join(r.get(c, "") for c in columns) for r in rows])
    )
    table = prepare_config(variants_setup)["_resolved"]["samples"]
    assert [(s["name"], len(s["units"]), s["bam"]) for s in table] == [
        ("S001", 2, ""),
        ("S002", 0, str(bam)),
    ]


def test_check_config__schema_problems_name_the_key():
    resolved, problems = check_config(
        {"workflow": "predict", "name": "a b", "traits": [], "methods": ["gblup", "svm"],
         "select": "rrblup", "folds": 1, "extra": 1},
        source="p.yaml",
    )  # fmt: skip
    got = {(p.column, p.reason.split(" (")[0]) for p in problems}
    assert got == {
        ("name", "use letters, digits, '_', '.' and '-'"),
        ("genotype_dataset", "is required"),
        ("traits", "[] should be non-empty"),
        ("methods[1]", "'svm' is not one of ['gblup', 'rrblup', 'rkhs', 'bayesb', 'bayescpi', 'bl', 'mlp', 'cnn']"),
        ("folds", "1 is less than the minimum of 2"),
        ("extra", "unknown key; known keys: workflow, name, genotype_dataset, trials, traits, methods, select, folds, repeats, seed, params, threads, mem_mb, register"),
        ("select", "not among the methods cross-validated"),
    }  # fmt: skip
    _, problems = check_config({"workflow": "variants"}, "predict")
    assert [str(p) for p in problems] == [
        "config, workflow ('variants'): the config is for the 'variants' workflow, not 'predict'"
    ]


def test_schema_problems__x_message_replaces_the_default():
    schema = {"properties": {"k": {"enum": ["a"], "x-message": "must be a"}}}
    assert [p.reason for p in schema_problems({"k": "b"}, schema, file="f")] == ["must be a"]


def test_prepare_config__predict_checks_the_database(predict_setup, engine, home):
    resolved = prepare_config(predict_setup, engine=engine, home=home)
    info = resolved["_resolved"]
    assert info["genotypes"] == str(home / "genotypes" / "rice-gbs.h5") and info["ploidy"] == 2
    assert resolved["repeats"] == 1 and resolved["params"] == {}
    _edit(
        predict_setup, genotype_dataset="rice-gbs", traits=["GrainYield_t_ha", "Nope", "FruitWeight_g"],
        trials=["RICE-1999-Nowhere"], folds=30,
    )  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        prepare_config(predict_setup, engine=engine, home=home)
    reasons = {p.column: p.reason for p in exc.value.problems}
    assert set(reasons) == {"traits[1]", "trials[0]", "traits[2]"}
    assert reasons["traits[1]"] == "no observation variable of that name"
    assert reasons["traits[2]"].startswith("is a trait of another species")
    assert reasons["trials[0]"] == "no trial of that name"
    _edit(predict_setup, traits=["GrainYield_t_ha"], trials=[], folds=60)
    with pytest.raises(ConfigError, match=r"only 3\d of the dataset's 40 accessions .* needs at least 60"):  # fmt: skip
        prepare_config(predict_setup, engine=engine, home=home)
    _edit(predict_setup, genotype_dataset="rice-nope")
    with pytest.raises(ConfigError, match=r"no genotype dataset of that name \(registered: rice-gbs\)"):  # fmt: skip
        prepare_config(predict_setup, engine=engine, home=home)


def test_pipeline_validate__summarises_a_good_config(variants_setup, home):
    result = CliRunner().invoke(
        main, ["pipeline", "validate", "variants", "--config", str(variants_setup), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out == {"workflow": "variants", "name": "rice-sim", "ok": True, "samples": 4,
                   "regions": 4, "ploidy": 2}  # fmt: skip


def test_pipeline_status__a_job_whose_runner_died_is_failed(engine, home):
    import socket
    import subprocess

    from breedhub.germplasm import transaction
    from breedhub.pipelines.runner import pipeline_status

    dead = subprocess.Popen(["true"])
    dead.wait()
    with transaction(engine) as s:
        s.add(Job(kind="pipeline:variants", status="running", parameters={
            "name": "x", "workdir": "/w", "pid": dead.pid, "host": socket.gethostname()}))  # fmt: skip
        s.add(Job(kind="upload", status="running"))  # not a pipeline job
    (row,) = pipeline_status(engine)
    assert (row["workflow"], row["status"]) == ("variants", "failed")
    assert row["error"].startswith("interrupted")
    result = CliRunner().invoke(main, ["pipeline", "status"])
    assert result.exit_code == 0 and "variants  x" in result.output and "failed" in result.output


def test_profile_dir__names_and_folders(tmp_path):
    from breedhub.pipelines.exceptions import PipelineError
    from breedhub.pipelines.runner import PROFILES_DIR, profile_dir

    assert profile_dir(None) == profile_dir("local") == PROFILES_DIR / "local"
    assert profile_dir("slurm") == PROFILES_DIR / "slurm"
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "config.yaml").write_text("executor: local\n")
    assert profile_dir(tmp_path / "site") == tmp_path / "site"
    with pytest.raises(PipelineError, match="no config.yaml"):
        profile_dir(tmp_path)
