"""breedhub pipelines: the Snakemake workflows and the code that registers their results.

Two workflows, in ``pipelines/workflow`` (one Snakefile, a rules file a stage):

``variants``
    a sample sheet and a reference -> alignment -> joint calling by region ->
    filtering and QC -> imputation -> HDF5 genotype store -> a registered
    genotype dataset, linked to its samples and accessions, with its QC report;
``predict``
    a genotype dataset and phenotypes from the database -> cross-validation ->
    the chosen (or best) model on all data -> GEBVs of every genotyped
    accession -> a registered model run.

:func:`run_workflow` checks a config (:func:`prepare_config`, against the JSON
schemas in ``pipelines/schemas``, the files and the database), runs Snakemake
with a profile of ``pipelines/profiles`` (``local`` or ``slurm``) and records
the run as a job; :func:`pipeline_status` lists the runs.
"""

from breedhub.pipelines.config import check_config, load_config, prepare_config
from breedhub.pipelines.exceptions import ConfigError, PipelineError, Problem, WorkflowBusyError
from breedhub.pipelines.runner import RunResult, pipeline_status, queue_workflow, run_workflow

__all__ = [
    "ConfigError",
    "PipelineError",
    "Problem",
    "RunResult",
    "WorkflowBusyError",
    "check_config",
    "load_config",
    "pipeline_status",
    "prepare_config",
    "queue_workflow",
    "run_workflow",
]
