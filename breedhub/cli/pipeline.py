"""``breedhub pipeline``: run the Snakemake workflows, and the steps of theirs that use the database.

``run`` and ``status`` are for people; ``validate`` checks a config without
running anything. ``register-genotypes``, ``export-phenotypes``,
``fit-model`` and ``register-model`` are what the workflows' rules call
(they read the database from ``--home`` / ``BREEDHUB_DATABASE_URL``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from breedhub.cli.common import emit_json, engine, json_option, settings, user_errors

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
OUT = click.Path(dir_okay=False, path_type=Path)


@click.group()
def pipeline() -> None:
    """Workflows: variants (reads -> genotype dataset) and predict (dataset -> GEBVs)."""


def _emit(obj: dict[str, Any], out: Path | None, as_json: bool, text: str) -> None:
    if out is not None:
        from breedhub.pipelines.steps import write_json

        write_json(out, obj)
    if as_json:
        emit_json(obj)
    else:
        click.echo(text)


@pipeline.command()
@click.argument("workflow", type=click.Choice(["variants", "predict"]))
@click.option(
    "--config", "config_file", required=True, type=EXISTING, help="Workflow config (YAML)."
)
@click.option("--cores", default=2, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--profile",
    help="Snakemake profile: 'slurm' (the cluster profile shipped with breedhub) or a folder; "
    "default: this machine.",
)
@click.option(
    "--dry-run", "-n", is_flag=True, help="Check the config and show the plan; run nothing."
)
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
@json_option
@user_errors
def run(
    workflow: str,
    config_file: Path,
    cores: int,
    profile: str | None,
    dry_run: bool,
    snakemake_args: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check a workflow's config and sample sheet, then run it.

    A re-run of a finished workflow does nothing; a stopped one resumes where
    it stopped. Extra arguments after `--` go to Snakemake.
    """
    from breedhub.pipelines.runner import run_workflow

    s = settings()
    s.ensure_dirs()
    echo = None if as_json else (lambda line: click.echo(line, err=True))
    result = run_workflow(
        workflow, config_file, engine=engine(), home=s.home, cores=cores, profile=profile,
        dry_run=dry_run, extra_args=snakemake_args, on_output=echo,
    )  # fmt: skip
    if as_json:
        emit_json(result.to_dict())
    elif result.nothing_to_do:
        click.echo(f"{workflow} {result.name}: nothing to be done, every output is up to date")
    elif result.ok:
        what = "planned (dry run)" if dry_run else f"done (job {result.job_id})"
        click.echo(f"{workflow} {result.name}: {what}; working directory {result.workdir}")
    if not result.ok:
        if not as_json:
            click.secho(
                f"error: {workflow} {result.name} failed (job {result.job_id}): see {result.log}",
                fg="red", err=True,
            )  # fmt: skip
        raise SystemExit(1)


@pipeline.command()
@click.argument("workflow", type=click.Choice(["variants", "predict"]))
@click.option("--config", "config_file", required=True, type=EXISTING)
@json_option
@user_errors
def validate(workflow: str, config_file: Path, as_json: bool) -> None:
    """Check a config, its sample sheet and their records in the database; run nothing."""
    from breedhub.pipelines.config import prepare_config

    resolved = prepare_config(config_file, workflow, engine=engine(), home=settings().home)
    info = resolved["_resolved"]
    summary = {"workflow": workflow, "name": resolved["name"], "ok": True}
    if workflow == "variants":
        summary |= {"samples": len(info["samples"]), "regions": len(info["regions"]),
                    "ploidy": info["ploidy"]}  # fmt: skip
    else:
        summary |= {"genotypes": info["genotypes"], "traits": resolved["traits"],
                    "methods": resolved["methods"]}  # fmt: skip
    _emit(summary, None, as_json, f"{config_file}: ok ({json.dumps(summary, default=str)})")


@pipeline.command()
@click.option("--job", "job_id", type=int, help="One job, with the tail of its log.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@json_option
@user_errors
def status(job_id: int | None, limit: int, as_json: bool) -> None:
    """The latest pipeline runs: state, progress, working directory."""
    from breedhub.pipelines.runner import pipeline_status

    rows = pipeline_status(engine(), job_id=job_id, limit=limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no pipeline runs yet")
        return
    for r in rows:
        when = r["finished_at"] or r["started_at"] or r["created_at"]
        click.echo(
            f"job {r['id']:>4}  {r['workflow']:<9} {r['name']:<24} {r['status']:<8} "
            f"{100 * (r['progress'] or 0):5.1f}%  {when:%Y-%m-%d %H:%M}  {r['workdir']}"
        )
        if r["error"]:
            click.echo(f"          {r['error']}")
    if job_id is not None and rows[0].get("log"):
        click.echo(rows[0]["log"])


@pipeline.command(name="register-genotypes")
@click.option("--name", required=True, help="Name of the genotype dataset.")
@click.option("--species", required=True)
@click.option("--samples", "sample_sheet", required=True, type=EXISTING, help="The sample sheet.")
@click.option("--store", required=True, type=EXISTING, help="The HDF5 genotype store.")
@click.option("--qc", "qc_json", required=True, type=EXISTING, help="QC report (JSON).")
@click.option("--qc-html", required=True, type=EXISTING, help="QC report (HTML).")
@click.option("--impute-report", type=EXISTING)
@click.option("--alignment-stats", multiple=True, type=EXISTING, help="Per sample (repeatable).")
@click.option(
    "--run-dir", type=click.Path(file_okay=False), help="The workflow's working directory."
)
@click.option("--parameters", type=EXISTING, help="YAML/JSON of the run's config, for provenance.")
@click.option("-o", "--output", type=OUT, help="Write the summary (JSON) here.")
@json_option
@user_errors
def register_genotypes(
    name: str, species: str, sample_sheet: Path, store: Path, qc_json: Path, qc_html: Path,
    impute_report: Path | None, alignment_stats: tuple[Path, ...], run_dir: str | None,
    parameters: Path | None, output: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Copy a genotype store and its QC report to the data directory and register the dataset."""
    from breedhub.pipelines.steps import register_variants

    s = settings()
    params = _parameters(parameters)
    out = register_variants(
        engine(), home=s.home, name=name, species=species, sample_sheet=sample_sheet, store=store,
        qc_json=qc_json, qc_html=qc_html, impute_json=impute_report,
        alignment_stats=alignment_stats, run_dir=run_dir, parameters=params,
    )  # fmt: skip
    again = " (replacing what this workflow registered before)" if out["replaced"] else ""
    _emit(out, output, as_json, f"genotype dataset {name} (id {out['dataset_id']}): "
          f"{out['n_samples']} samples x {out['n_variants']:,} variants{again}")  # fmt: skip


def _parameters(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {k: v for k, v in data.items() if k != "_resolved"}


@pipeline.command(name="export-phenotypes")
@click.option("--dataset", required=True, help="Name of the genotype dataset.")
@click.option("--trait", "traits", multiple=True, required=True, help="Repeatable.")
@click.option("--trial", "trials", multiple=True, help="Only these trials (repeatable).")
@click.option("-o", "--output", required=True, type=OUT, help="Phenotype CSV.")
@json_option
@user_errors
def export_phenotypes(
    dataset: str, traits: tuple[str, ...], trials: tuple[str, ...], output: Path, as_json: bool
) -> None:
    """Accession means of the traits for every sample of a genotype dataset, as CSV."""
    from breedhub.pipelines.steps import export_phenotypes as export

    out = export(engine(), dataset=dataset, traits=traits, trials=trials or None, out=output)
    counts = ", ".join(f"{t} {n}" for t, n in out["phenotyped"].items())
    _emit(out, None, as_json, f"{output}: {out['samples']} samples; phenotyped: {counts}")


@pipeline.command(name="fit-model")
@click.option("--genotypes", required=True, type=EXISTING)
@click.option("--phenotypes", required=True, type=EXISTING)
@click.option("--trait", required=True)
@click.option("--cv", "cv_files", multiple=True, required=True, type=EXISTING,
              help="`breedhub predict cv --json` output of a method (repeatable).")  # fmt: skip
@click.option("--select", "select_", default="best", show_default=True,
              help="'best' (highest mean cross-validated r) or a method.")  # fmt: skip
@click.option("--params", "params_json", default="{}", help="JSON: options per method.")
@click.option("--model", "model_out", required=True, type=OUT, help="Model file (.npz).")
@click.option("--gebv", "gebv_out", required=True, type=OUT, help="sample_id,gebv CSV.")
@click.option("-o", "--output", type=OUT, help="Write the summary (JSON) here.")
@json_option
@user_errors
def fit_model(
    genotypes: Path, phenotypes: Path, trait: str, cv_files: tuple[Path, ...], select_: str,
    params_json: str, model_out: Path, gebv_out: Path, output: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Fit the chosen (or best cross-validated) method on all data and predict every sample."""
    from breedhub.pipelines.steps import fit_selected

    try:
        params = json.loads(params_json)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--params") from None
    out = fit_selected(
        genotypes, phenotypes, trait=trait, cv_files=cv_files, model_out=model_out,
        gebv_out=gebv_out, select_=select_, params=params,
    )  # fmt: skip
    r = out["cv"][out["method"]]["mean_r"]
    _emit(out, output, as_json, f"{trait}: {out['method']} (cv r = {r}) fitted on "
          f"{out['n_phenotyped']} samples; GEBVs of {out['n_genotyped']} in {gebv_out}")  # fmt: skip


@pipeline.command(name="register-model")
@click.option("--name", required=True, help="Name of the model run.")
@click.option("--dataset", required=True, help="The genotype dataset it was fitted on.")
@click.option("--fit", "fit_files", multiple=True, required=True, type=EXISTING,
              help="`breedhub pipeline fit-model -o` summary of a trait (repeatable).")  # fmt: skip
@click.option("--run-dir", type=click.Path(file_okay=False))
@click.option("--parameters", type=EXISTING, help="YAML/JSON of the run's config, for provenance.")
@click.option("-o", "--output", type=OUT, help="Write the summary (JSON) here.")
@json_option
@user_errors
def register_model(
    name: str, dataset: str, fit_files: tuple[Path, ...], run_dir: str | None,
    parameters: Path | None, output: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Register the GEBVs and cross-validated accuracies of each trait as one model run."""
    from breedhub.pipelines.steps import register_predictions

    fits = [json.loads(f.read_text()) for f in fit_files]
    out = register_predictions(
        engine(), home=settings().home, name=name, dataset=dataset, fits=fits, run_dir=run_dir,
        parameters=_parameters(parameters),
    )  # fmt: skip
    again = f" (replacing model runs {out['replaced']})" if out["replaced"] else ""
    _emit(
        out, output, as_json, f"model run {name} (id {out['model_run_id']}, {out['method']}){again}"
    )
