"""The workflow steps that are not a plain ``genomics``/``predict`` command.

Each is a function here and a ``breedhub pipeline ...`` command that a rule
runs, so the science and the bookkeeping stay testable outside Snakemake:

- :func:`register_variants`: the variants workflow's genotype store, QC
  report and samples into the database (``pipeline register-genotypes``);
- :func:`export_phenotypes`: accession means of the chosen traits and trials
  for the samples of a genotype dataset (``pipeline export-phenotypes``);
- :func:`fit_selected`: choose the method from cross-validation, fit it on
  all phenotyped samples, predict every genotyped one (``pipeline fit-model``);
- :func:`register_predictions`: the GEBVs and accuracies as a model run
  (``pipeline register-model``).

Registering is idempotent for a workflow (its working directory): when it
registers again, after a re-run with other settings or after being stopped
before Snakemake saw its output, it replaces what it registered before
rather than adding a duplicate.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from breedhub.base.files import atomic_output
from breedhub.pipelines.exceptions import PipelineError

__all__ = [
    "choose_method",
    "export_phenotypes",
    "fit_selected",
    "register_predictions",
    "register_variants",
    "write_json",
]


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
    return Path(path)


def _copy(src: Path, dest: Path) -> Path:
    """Copy ``src`` to ``dest`` through a temporary name (never a half file)."""
    with atomic_output(dest) as tmp:
        shutil.copyfile(src, tmp)
    return dest


# --------------------------------------------------------------------------
# variants
# --------------------------------------------------------------------------


def register_variants(
    engine: Engine,
    *,
    home: str | os.PathLike[str],
    name: str,
    species: str,
    sample_sheet: str | os.PathLike[str],
    store: str | os.PathLike[str],
    qc_json: str | os.PathLike[str],
    qc_html: str | os.PathLike[str],
    impute_json: str | os.PathLike[str] | None = None,
    alignment_stats: Sequence[str | os.PathLike[str]] = (),
    run_dir: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Copy a genotype store and its QC report into the data directory and register them.

    The store goes to ``<home>/genotypes/<name>.h5`` and the QC report
    beside it (``<name>.qc.html``, ``<name>.qc.json``); the dataset links each
    of the store's samples (those that passed QC) to the accession the sample
    sheet names, and its provenance keeps the QC summary, the imputation
    report, the alignment statistics and the run's parameters.

    Returns
    -------
    dict
        ``dataset_id``, ``name``, ``path``, ``n_samples``, ``n_variants``,
        ``qc_report`` and ``replaced`` (True when this workflow had registered
        the dataset before, e.g. a re-run with other settings, and its
        contents were replaced; its id stays).

    Raises
    ------
    PipelineError
        If a sample of the store is not in the sheet or its accession is unknown.
    DuplicateError
        If another run registered a dataset of that name.
    """
    from breedhub.base.provenance import provenance
    from breedhub.genomics.store import store_info
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.exceptions import DuplicateError
    from breedhub.germplasm.genotype_datasets import find_genotype_dataset
    from breedhub.germplasm.queries import accession_ids_by_ref
    from breedhub.pipelines.register import register_genotype_dataset, update_genotype_dataset
    from breedhub.pipelines.samplesheet import read_sample_sheet

    run = str(Path(run_dir).absolute()) if run_dir else ""
    info = store_info(store)
    _, rows, _ = read_sample_sheet(sample_sheet)
    accession_of = {r["sample"]: r.get("accession", "") for _, r in rows if r.get("sample")}
    dest = Path(home).absolute() / "genotypes" / f"{name}.h5"
    with transaction(engine) as s:
        existing = find_genotype_dataset(s, name)
        earlier = None
        if existing is not None:
            if not (run and (existing.provenance or {}).get("run_dir") == run):
                raise DuplicateError(f"a genotype dataset named {name!r} exists")
            earlier = existing.id  # this workflow registered it: replace its contents
        ids = accession_ids_by_ref(s, set(accession_of.values()))
    missing = [smp for smp in info.samples if smp not in accession_of]
    unknown = sorted({accession_of[smp] for smp in info.samples if smp in accession_of} - set(ids))
    if missing or unknown:
        raise PipelineError(
            f"{store}: samples not in {sample_sheet}: {', '.join(missing) or 'none'}; "
            f"unknown accessions: {', '.join(unknown) or 'none'}"
        )
    qc = json.loads(Path(qc_json).read_text())
    impute = json.loads(Path(impute_json).read_text()) if impute_json else {}
    alignment = {}
    for path in alignment_stats:
        stats = json.loads(Path(path).read_text())
        keep = ("reads", "mapped_pct", "properly_paired_pct", "duplicates_pct", "mean_depth")
        alignment[Path(path).name.removesuffix(".stats.json")] = {
            k: stats[k] for k in keep if k in stats
        }
    _copy(Path(store), dest)
    report = _copy(Path(qc_html), dest.with_name(f"{name}.qc.html"))
    _copy(Path(qc_json), dest.with_name(f"{name}.qc.json"))
    record = {
        **provenance(
            "breedhub.pipelines.steps.register_variants",
            inputs=[store, sample_sheet],
            parameters=dict(parameters or {}),
        ).to_dict(),
        "workflow": "variants",
        "run_dir": run,
        "qc_report": str(report),
        "qc": {
            k: qc.get(k)
            for k in (
                "n_variants_in",
                "n_variants_kept",
                "variants_removed",
                "n_samples_in",
                "samples_kept",
                "samples_removed",
                "thresholds",
            )  # fmt: skip
            if k in qc
        },
        "impute": {k: v for k, v in impute.items() if k != "provenance"},
        "alignment": alignment,
        "store": info.provenance,
        "parameters": dict(parameters or {}),
    }
    samples = [(smp, ids[accession_of[smp]]) for smp in info.samples]
    if earlier is None:
        dataset_id = register_genotype_dataset(
            engine, name=name, species=species, path=str(dest), ploidy=info.ploidy,
            samples=samples, n_variants=info.n_variants, reference=info.reference,
            provenance=record,
        )  # fmt: skip
    else:
        dataset_id = update_genotype_dataset(
            engine, earlier, path=str(dest), ploidy=info.ploidy, samples=samples,
            n_variants=info.n_variants, reference=info.reference, provenance=record,
        )  # fmt: skip
    return {
        "dataset_id": dataset_id, "name": name, "path": str(dest), "n_samples": len(info.samples),
        "n_variants": info.n_variants, "qc_report": str(report), "replaced": earlier is not None,
    }  # fmt: skip


# --------------------------------------------------------------------------
# predict
# --------------------------------------------------------------------------


def export_phenotypes(
    engine: Engine,
    *,
    dataset: str,
    traits: Sequence[str],
    out: str | os.PathLike[str],
    trials: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write each genotyped sample's accession means of ``traits`` as a CSV.

    Columns: ``sample_id`` (the store's sample names), ``accession``
    (``INSTCODE:ACCENUMB``), then one column per trait, empty where the
    accession has no numeric observation (in ``trials``, when given).

    Returns
    -------
    dict
        ``file``, ``samples`` and, per trait, the number of phenotyped samples.
    """
    import polars as pl

    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.exceptions import NotFoundError
    from breedhub.germplasm.genotype_datasets import dataset_samples, get_genotype_dataset
    from breedhub.germplasm.queries_registry import trials_by_name, variable_ids
    from breedhub.germplasm.queries_traits import phenotype_means

    with transaction(engine) as s:
        ds = get_genotype_dataset(s, dataset)
        samples = dataset_samples(s, ds.id)
        var_ids = variable_ids(s, list(traits))
        missing = [t for t in traits if t not in var_ids]
        if missing:
            raise NotFoundError(f"unknown observation variables: {', '.join(missing)}")
        trial_ids = None
        if trials:
            found = {t.name: t.id for t in trials_by_name(s, trials).values()}
            absent = [t for t in trials if t not in found]
            if absent:
                raise NotFoundError(f"unknown trials: {', '.join(absent)}")
            trial_ids = list(found.values())
        acc_ids = sorted({a for _, a, _ in samples})
        means = phenotype_means(s, acc_ids, list(var_ids.values()), trial_ids)
    columns: dict[str, list[Any]] = {
        "sample_id": [n for n, _, _ in samples],
        "accession": [ref for _, _, ref in samples],
    }
    counts = {}
    for trait in traits:
        by_acc = means.get(var_ids[trait], {})
        columns[trait] = [by_acc[a][0] if a in by_acc else None for _, a, _ in samples]
        counts[trait] = sum(v is not None for v in columns[trait])
    df = pl.DataFrame(columns, schema={"sample_id": pl.String, "accession": pl.String,
                                       **{t: pl.Float64 for t in traits}})  # fmt: skip
    with atomic_output(out) as tmp:
        df.write_csv(tmp)
    return {"file": str(out), "samples": len(samples), "phenotyped": counts}


def _score(cv: Mapping[str, Any]) -> float:
    r = cv.get("mean_r")
    return -math.inf if r is None or (isinstance(r, float) and math.isnan(r)) else float(r)


def choose_method(cv_results: Sequence[Mapping[str, Any]], select_: str = "best") -> str:
    """The method to fit: ``select_`` itself, or the highest mean cross-validated r.

    Ties go to the method listed first.

    Examples
    --------
    >>> cv = [{"method": "gblup", "mean_r": 0.41}, {"method": "bayesb", "mean_r": 0.44}]
    >>> choose_method(cv), choose_method(cv, "gblup")
    ('bayesb', 'gblup')
    """
    if not cv_results:
        raise ValueError("no cross-validation results to choose from")
    if select_ != "best":
        return select_
    best = max(range(len(cv_results)), key=lambda i: (_score(cv_results[i]), -i))
    return str(cv_results[best]["method"])


def _method_params(params: Mapping[str, Any]) -> dict[str, Any]:
    tuples = ("bandwidths", "hidden", "channels")
    return {k: tuple(v) if k in tuples and isinstance(v, list) else v for k, v in params.items()}


def fit_selected(
    genotypes: str | os.PathLike[str],
    phenotypes: str | os.PathLike[str],
    *,
    trait: str,
    cv_files: Sequence[str | os.PathLike[str]],
    model_out: str | os.PathLike[str],
    gebv_out: str | os.PathLike[str],
    select_: str = "best",
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fit the chosen (or best cross-validated) method on all data; predict every sample.

    Parameters
    ----------
    genotypes, phenotypes
        The genotype store and the phenotype CSV (``sample_id`` column).
    cv_files
        ``breedhub predict cv --json`` outputs of this trait, one per method.
    model_out, gebv_out
        The saved model (``.npz``) and a ``sample_id,gebv`` CSV of every
        genotyped sample.
    select_
        ``best`` or a method name.
    params
        Options per method.

    Returns
    -------
    dict
        The trait, the method, how it was chosen, every method's
        cross-validation summary, and the fit's figures.
    """
    from breedhub.pipelines.inputs import load_training_data
    from breedhub.pipelines.publish import fit_trait, save_fit, write_gebvs

    cvs = [json.loads(Path(f).read_text()) for f in cv_files]
    method = choose_method(cvs, select_)
    data = load_training_data(genotypes, phenotypes, trait, missing="mean", allow_unmatched=True)
    assert data.y is not None  # phenotypes were given
    options = _method_params((params or {}).get(method, {}))
    fit = fit_trait(data.dosages, data.y, ploidy=data.ploidy, sample_id=data.sample_id,
                    trait=trait, method=method, params=options)  # fmt: skip
    save_fit(fit, model_out, command="breedhub pipeline fit-model", inputs=[genotypes, phenotypes],
             marker_ids=data.variant_id, dosages=data.dosages)  # fmt: skip
    write_gebvs(fit, gebv_out)
    summary = {
        cv["method"]: {
            "mean_r": cv.get("mean_r"), "sd_r": cv.get("sd_r"), "mean_rmse": cv.get("mean_rmse"),
            "mean_top_overlap": cv.get("mean_top_overlap"), "n": cv.get("n"),
            "folds": len(cv.get("folds", [])),
        }
        for cv in cvs
    }  # fmt: skip
    return {
        "trait": trait,
        "method": method,
        "selected_by": "best mean cross-validated r" if select_ == "best" else "config",
        "cv": summary,
        "fit": fit.info,
        "n_phenotyped": fit.n_phenotyped,
        "phenotype_mean": fit.phenotype_mean,
        "n_genotyped": len(data.sample_id),
        "model": str(Path(model_out).absolute()),
        "gebv": str(Path(gebv_out).absolute()),
    }


def register_predictions(
    engine: Engine,
    *,
    home: str | os.PathLike[str],
    name: str,
    dataset: str,
    fits: Sequence[Mapping[str, Any]],
    run_dir: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Register the GEBVs of :func:`fit_selected` for each trait as one model run.

    Goes through :func:`breedhub.pipelines.publish.publish_model_run`, the
    one path every model run takes: each accession gets the mean GEBV of its
    samples in the dataset; the models are copied to
    ``<home>/models/<name>/``. The run's metrics give, per trait, the method
    fitted, its mean cross-validated r (``cv_mean_r``), and every method's
    cross-validation summary.

    Returns
    -------
    dict
        ``model_run_id``, ``name``, ``method``, per trait the number of
        accessions predicted, the metrics, and ``replaced``: the ids of the
        model runs this workflow had registered before (a re-run with other
        settings), which are replaced.
    """
    import polars as pl

    from breedhub.base.provenance import provenance
    from breedhub.pipelines.publish import TraitFit, publish_model_run

    run = str(Path(run_dir).absolute()) if run_dir else ""
    models_dir = Path(home).absolute() / "models" / name
    trait_fits = []
    for fit in fits:
        df = pl.read_csv(fit["gebv"], schema_overrides={"sample_id": pl.String})
        rel = df["reliability"].to_numpy() if "reliability" in df.columns else None
        trait_fits.append(
            TraitFit(
                trait=fit["trait"], method=fit["method"], sample_id=df["sample_id"].to_list(),
                gebv=df["gebv"].to_numpy(), reliability=rel, model=None, info=dict(fit.get("fit", {})),
                n_phenotyped=int(fit.get("n_phenotyped") or 0), cv=dict(fit.get("cv", {})),
                selected_by=fit.get("selected_by", ""),
                phenotype_mean=float(fit.get("phenotype_mean", float("nan"))),
            )
        )  # fmt: skip
    inputs = [f[k] for f in fits for k in ("model", "gebv")]
    record = provenance(
        "breedhub.pipelines.steps.register_predictions", inputs=inputs,
        parameters=dict(parameters or {}), workflow="predict", dataset=dataset,
    ).to_dict()  # fmt: skip
    result = publish_model_run(
        engine, name=name, dataset=dataset, fits=trait_fits, parameters=parameters,
        provenance_record={**record, "workflow": "predict", "run_dir": run, "dataset": dataset},
        model_path=str(models_dir), replace_run_dir=run,
    )  # fmt: skip
    for fit in fits:
        _copy(Path(fit["model"]), models_dir / f"{fit['trait']}.{fit['method']}.npz")
    return result
