# Shared by both workflows: the checked config, the breedhub command, and every
# function the rules call for their inputs and options.
#
# `breedhub pipeline run` hands Snakemake a resolved config (defaults filled in,
# absolute paths, and a `_resolved` section with the sample table, the calling
# regions, the ploidy, the genotype store...), already checked against the JSON
# schemas in pipelines/schemas/, the files and the database (pipelines/config.py).
# Run directly (`snakemake --configfile my.yaml`), the same checks happen here.

import json
import os
import re
import shlex

from breedhub.base.config import Settings
from breedhub.pipelines.config import prepare_config
from breedhub.pipelines.runner import breedhub_command

if "_resolved" not in config:
    from breedhub.germplasm.db import make_engine

    _settings = Settings.from_env()
    _checked = prepare_config(
        dict(config),
        engine=make_engine(_settings.database_url),
        home=_settings.home,
        run_dir=os.getcwd(),
    )
    config.clear()
    config.update(_checked)

WORKFLOW = config["workflow"]
R = config["_resolved"]
HOME = R.get("home") or str(Settings.from_env().home)
RUN_DIR = R.get("run_dir") or os.getcwd()
# the resolved config, recorded with what the workflow registers
CONFIG_FILE = os.path.abspath("config.yaml") if os.path.isfile("config.yaml") else ""

# Rules that use the database reach it through these, on any node.
os.environ.setdefault("BREEDHUB_HOME", HOME)
os.environ.setdefault("BREEDHUB_DATABASE_URL", Settings.from_env(HOME).database_url)


envvars:
    "BREEDHUB_HOME",
    "BREEDHUB_DATABASE_URL",


# Every rule runs breedhub with the interpreter that runs Snakemake.
BREEDHUB = breedhub_command()


def mem_mb(rule_name, default):
    """Memory of a rule's jobs (MB): the config's `mem_mb.<rule>`, else the default."""
    return int(config.get("mem_mb", {}).get(rule_name, default))


# Snakemake sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS... of every
# job to its `threads:`, which keeps numpy, BLAS and torch within the declared threads.


def quoted_options(option, values):
    """`--option 'a' --option 'b'` for a list of values."""
    return " ".join(f"{option} {shlex.quote(str(v))}" for v in values)


def register_options():
    """Where a registering rule records its run (for provenance and re-runs)."""
    parameters = f" --parameters {shlex.quote(CONFIG_FILE)}" if CONFIG_FILE else ""
    return f"--run-dir {shlex.quote(RUN_DIR)}{parameters}"


def final_outputs():
    """What `rule all` asks for."""
    if WORKFLOW == "variants":
        if config["register"]:
            return ["results/register/dataset.json"]
        return ["results/store/genotypes.h5", "results/filter/filtered.qc.html"]
    if config["register"]:
        return ["results/register/model_run.json"]
    return expand("results/fit/{trait}/fit.json", trait=config["traits"])


# --------------------------------------------------------------------------
# variants
# --------------------------------------------------------------------------

if WORKFLOW == "variants":
    SAMPLES = {s["name"]: s for s in R["samples"]}
    TO_ALIGN = [name for name, s in SAMPLES.items() if not s["bam"]]
    REGIONS = {f"{i:04d}": region for i, region in enumerate(R["regions"])}
    FILTER_OPTIONS = " ".join(
        f"--{key.replace('_', '-')} {value}" for key, value in config["filter"].items()
    )


def get_sample_bam(name):
    """The BAM of a sample: aligned here, or given by the sample sheet."""
    return SAMPLES[name]["bam"] or f"results/align/{name}.bam"


def get_all_bams():
    return [get_sample_bam(name) for name in SAMPLES]


def get_aligned_indexes():
    return [f"results/align/{name}.bam.bai" for name in TO_ALIGN]


def get_sample_reads(wildcards):
    units = SAMPLES[wildcards.sample]["units"]
    return [u[k] for u in units for k in ("fastq1", "fastq2") if u[k]]


def get_read_options(wildcards):
    """--r1/--r2 of every lane of a sample."""
    units = SAMPLES[wildcards.sample]["units"]
    r1 = quoted_options("--r1", [u["fastq1"] for u in units])
    r2 = quoted_options("--r2", [u["fastq2"] for u in units if u["fastq2"]])
    return f"{r1} {r2}"


def get_alignment_stats():
    return expand("results/align/{sample}.stats.json", sample=TO_ALIGN)


# --------------------------------------------------------------------------
# predict
# --------------------------------------------------------------------------


def get_method_options(wildcards):
    """--param NAME=VALUE of a method's options in the config."""
    options = config.get("params", {}).get(wildcards.method, {})
    return quoted_options("--param", [f"{k}={json.dumps(v)}" for k, v in options.items()])


def get_cv_results(wildcards):
    return expand(
        "results/cv/{trait}/{method}.json", trait=wildcards.trait, method=config["methods"]
    )
