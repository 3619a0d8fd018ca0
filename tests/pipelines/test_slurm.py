"""Workflows on a real Slurm cluster, through the profile ``pipelines/profiles/slurm``.

They need a Slurm cluster that this machine submits to and whose nodes see its
``/tmp``: the one-node cluster of ``sudo bash scripts/slurm/start.sh``, which
.ci/run starts, and which the ``slurm`` fixture starts itself (and stops) when
run as root with Slurm installed and no cluster up. Without one they skip; under ``CI=true`` or ``BREEDHUB_SLURM=1``
they fail instead, so CI cannot pass without having run them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "pipelines" / "profiles" / "slurm"
SLURM_REQUIRED = IN_CI or os.environ.get("BREEDHUB_SLURM", "") == "1"
USABLE_STATES = {"idle", "mixed", "allocated", "completing"}

pytestmark = pytest.mark.slow


def _missing_python_packages() -> list[str]:
    return [
        name
        for name in ("snakemake", "snakemake_executor_plugin_slurm")
        if importlib.util.find_spec(name) is None
    ]


def _unavailable(reason: str) -> None:
    if SLURM_REQUIRED:
        pytest.fail(
            f"{'CI=true' if IN_CI else 'BREEDHUB_SLURM=1'} but {reason} "
            "(.ci/run installs Slurm with scripts/install.sh --test and starts it "
            "with scripts/slurm/start.sh)"
        )
    pytest.skip(reason)


def _env(**extra: str) -> dict[str, str]:
    """This environment without the variables of any Slurm job pytest runs in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_") or k == "SLURM_CONF"}
    env.update(extra)
    return env


def _our_controller_is_down() -> bool:
    """scripts/slurm/start.sh's cluster is configured here, but its slurmctld does not listen."""
    conf = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    try:
        ours = "# written by breedhub scripts/slurm/start.sh" in conf.read_text().splitlines()
    except OSError:
        return False
    if not ours:
        return False
    try:
        socket.create_connection(("127.0.0.1", 6817), timeout=2).close()
    except OSError:
        return True
    return False


@dataclass(frozen=True)
class Slurm:
    partition: str  # the cluster's default partition


@pytest.fixture(scope="session")
def snakemake_slurm() -> None:
    """Snakemake and its Slurm executor plugin are installed."""
    missing = _missing_python_packages()
    if missing:
        _unavailable(f"the Python packages {', '.join(missing)} are not installed")


def _start_our_cluster() -> bool:
    """As root with Slurm installed and none running: start scripts/slurm/start.sh's cluster.

    So that the README's test command runs these tests too, as the PostgreSQL
    tests start their own server. Returns whether this session started it.
    """
    if os.geteuid() != 0 or not Path("/usr/sbin/slurmctld").exists():
        return False
    conf = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    if conf.exists() and not _our_controller_is_down():
        return False  # a cluster is configured and (maybe) up: use it as it is
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "slurm" / "start.sh")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode == 0


@pytest.fixture(scope="session")
def slurm(snakemake_slurm) -> Iterator[Slurm]:
    """A running Slurm cluster with a usable node and a default partition."""
    started = _start_our_cluster()
    yield _find_cluster()
    if started:
        subprocess.run(["bash", str(ROOT / "scripts" / "slurm" / "stop.sh")], timeout=120)


def _find_cluster() -> Slurm:
    if shutil.which("sinfo") is None:
        _unavailable("Slurm is not installed (no sinfo)")
    if not (os.environ.get("SLURM_CONF") or Path("/etc/slurm/slurm.conf").exists()):
        _unavailable(
            "Slurm is not configured; start a one-node cluster: sudo bash scripts/slurm/start.sh"
        )
    if _our_controller_is_down():
        _unavailable("Slurm is not running; start it: sudo bash scripts/slurm/start.sh")
    try:
        # Without a controller sinfo retries for about 10 s before it gives up.
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        _unavailable("sinfo did not answer within 30 s")
    if out.returncode != 0:
        _unavailable(
            f"Slurm is not running (sinfo: {out.stderr.strip()}); "
            "start it: sudo bash scripts/slurm/start.sh"
        )
    rows = [line.split() for line in out.stdout.splitlines() if line.strip()]
    defaults = {p.rstrip("*") for p, state in rows if p.endswith("*") and state in USABLE_STATES}
    if not defaults:
        _unavailable(f"no usable node in a default partition (sinfo says: {out.stdout.strip()!r})")
    return Slurm(partition=sorted(defaults)[0])


# Two samples, each by its own job, then merged: the shape of the variants workflow
# (a job per sample or region, then a joint step). Each job records the Slurm job it
# ran in.
SNAKEFILE = r"""
SAMPLES = ["S1", "S2"]

rule all:
    input: "merged.tsv"

rule per_sample:
    output: "per_sample/{sample}.tsv"
    shell:
        "digest=$(printf %s {wildcards.sample} | sha256sum | cut -c1-16); "
        "printf '%s\t%s\t%s\n' {wildcards.sample} $digest ${{SLURM_JOB_ID:-local}} > {output}"

rule merge:
    input: expand("per_sample/{sample}.tsv", sample=SAMPLES)
    output: "merged.tsv"
    shell:
        "cut -f1,2 {input} | sort > {output}; "
        "printf 'merged by\t%s\n' ${{SLURM_JOB_ID:-local}} >> {output}"
"""


def _snakemake(workdir: Path, *args: str, env: dict[str, str], timeout: float = 240):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(SNAKEFILE)
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(workdir / "Snakefile"),
         "--directory", str(workdir), *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )  # fmt: skip


def _results(workdir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The outputs without their job ids, and the job id each output was written in."""
    content, jobs = {}, {}
    for name in ("per_sample/S1.tsv", "per_sample/S2.tsv", "merged.tsv"):
        *rows, last = (workdir / name).read_text().splitlines()
        *fields, jobs[name] = last.split("\t")
        content[name] = "\n".join([*rows, "\t".join(fields)])
    return content, jobs


def test_profile__reads_partition_account_and_runtime_from_the_environment(
    snakemake_slurm, tmp_path
):
    run = _snakemake(
        tmp_path, "--profile", str(PROFILE), "--dry-run",
        env=_env(BREEDHUB_SLURM_PARTITION="long-q", BREEDHUB_SLURM_ACCOUNT="my_lab",
                 BREEDHUB_SLURM_RUNTIME="30"),
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    resources = [line for line in run.stdout.splitlines() if "resources:" in line]
    assert len(resources) == 4
    for line in resources:
        assert "slurm_partition=long-q" in line
        assert "slurm_account=my_lab" in line
        assert "runtime=30" in line

    unset = {k: v for k, v in _env().items() if not k.startswith("BREEDHUB_SLURM_")}
    run = _snakemake(tmp_path, "--profile", str(PROFILE), "--dry-run", env=unset, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    # Slurm's default partition and the user's default account.
    assert "slurm_partition" not in run.stdout and "slurm_account" not in run.stdout


def test_slurm__a_two_rule_workflow_runs_as_slurm_jobs_and_matches_a_local_run(slurm, tmp_path):
    local = _snakemake(tmp_path / "local", "--cores", "2", env=_env(), timeout=120)
    assert local.returncode == 0, local.stderr[-3000:]

    cluster = _snakemake(
        tmp_path / "slurm", "--profile", str(PROFILE),
        env=_env(BREEDHUB_SLURM_PARTITION=slurm.partition),
    )  # fmt: skip
    assert cluster.returncode == 0, cluster.stderr[-5000:]

    local_content, local_jobs = _results(tmp_path / "local")
    slurm_content, slurm_jobs = _results(tmp_path / "slurm")
    assert set(local_jobs.values()) == {"local"}
    assert slurm_content == local_content
    assert slurm_content["merged.tsv"].splitlines()[0].startswith("S1\t")

    # Three jobs (two samples, the merge), each in a Slurm job of its own, which
    # Slurm knows as completed in the partition the profile asked for.
    ids = list(slurm_jobs.values())
    assert all(re.fullmatch(r"\d+", i) for i in ids), slurm_jobs
    assert len(set(ids)) == 3
    for i in ids:
        assert f"with SLURM jobid {i} " in cluster.stderr
    squeue = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i %P %T"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert sorted(squeue.stdout.split("\n")[:-1]) == sorted(
        f"{i} {slurm.partition} COMPLETED" for i in ids
    )


def _store(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {
            name: f[name][:]
            for name in ("samples", "variants/CHROM", "variants/POS", "variants/REF",
                         "variants/ALT", "calldata/GT")
        }  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the executor is the point here
def test_slurm__the_variants_workflow_on_slurm_gives_the_local_run_genotype_store(
    slurm, variants_setup, home
):
    from breedhub.cli import main

    def run(config: Path, *args: str) -> dict:
        result = CliRunner().invoke(
            main, ["pipeline", "run", "variants", "--config", str(config), "--json", *args],
            catch_exceptions=False,
        )  # fmt: skip
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.output)

    local = run(variants_setup)
    # The same inputs under another name: a dataset name is registered once.
    config = yaml.safe_load(variants_setup.read_text())
    config["name"] = "rice-sim-slurm"
    slurm_config = variants_setup.with_name("variants-slurm.yaml")
    slurm_config.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BREEDHUB_SLURM_PARTITION", slurm.partition)
        cluster = run(slurm_config, "--profile", "slurm")
    assert local["status"] == cluster["status"] == "done"

    log = Path(cluster["log"]).read_text()
    ids = re.findall(r"has been submitted with SLURM jobid (\d+) ", log)
    assert len(ids) >= 4 + 1, log[-3000:]  # at least an alignment per sample and a joint call
    local_store = _store(Path(local["workdir"]) / "results" / "store" / "genotypes.h5")
    slurm_store = _store(Path(cluster["workdir"]) / "results" / "store" / "genotypes.h5")
    assert len(local_store["samples"]) == 4 and len(local_store["variants/POS"]) > 0
    for name, values in local_store.items():
        np.testing.assert_array_equal(slurm_store[name], values, err_msg=name)
