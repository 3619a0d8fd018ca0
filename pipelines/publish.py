"""The one fit-and-publish path: a trait's model fitted, its GEBVs, reliabilities and ranks registered.

Every way a breeder gets predictions goes through here: ``breedhub predict
fit`` (fit and save), the predict workflow's ``fit-model`` and
``register-model`` steps, the demo, and (next) the portal's jobs:

- :func:`fit_trait`: fit a method on the phenotyped samples of a genotype
  matrix and predict every genotyped sample, with reliabilities where the
  method gives them (GBLUP and rrBLUP: 1 - PEV / (var_g G_ii), for
  unphenotyped candidates too);
- :func:`publish_model_run`: average each accession's samples, rank in the
  trait's direction and register the run with its provenance;
- :func:`fit_and_publish`: both, for a registered genotype dataset and the
  accessions' trait means held in the database, with cross-validated
  accuracy kept in the run's metrics.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from breedhub.base.checks import check_ploidy
from breedhub.base.files import atomic_output
from breedhub.base.provenance import provenance
from breedhub.pipelines.exceptions import PipelineError
from breedhub.predict.base import GenomicModel

__all__ = [
    "TraitFit",
    "fit_and_publish",
    "fit_trait",
    "publish_model_run",
    "save_fit",
    "write_gebvs",
]

#: The methods ``method="best"`` cross-validates for each trait.
BEST_CANDIDATES = ("gblup", "rkhs", "bayesb")

#: Methods whose GEBVs come from BLUP on the G of every genotyped sample, with reliabilities.
KERNEL_METHODS = ("gblup", "rrblup")


@dataclass
class TraitFit:
    """One trait's fitted model and its predictions for every genotyped sample.

    Attributes
    ----------
    trait, method
        What was fitted, with which method.
    sample_id
        The genotyped samples, in the order of ``gebv``.
    gebv, reliability
        Predictions; ``reliability`` is None for methods without one.
    model
        The fitted :class:`~breedhub.predict.base.GenomicModel` (to save).
    info
        The fit's figures (h2, variance components, n_train...).
    n_phenotyped
        Samples with a phenotype (the training set).
    cv
        Cross-validation summaries by method (``mean_r``, ``sd_r``...), when run.
    selected_by
        How the method was chosen ("config", "best mean cross-validated r").
    phenotype_mean
        Mean of the training phenotypes: GEBVs are deviations from it, so a
        trait with an optimum is ranked on ``phenotype_mean + gebv``.
    """

    trait: str
    method: str
    sample_id: list[str]
    gebv: np.ndarray
    reliability: np.ndarray | None
    model: Any
    info: dict[str, Any]
    n_phenotyped: int
    cv: dict[str, dict[str, Any]] = field(default_factory=dict)
    selected_by: str = "config"
    phenotype_mean: float = float("nan")


def fit_trait(
    dosages: Any,
    phenotypes: Any,
    *,
    ploidy: int,
    sample_id: Sequence[str],
    trait: str,
    method: str = "gblup",
    params: Mapping[str, Any] | None = None,
) -> TraitFit:
    """Fit ``method`` on the phenotyped samples and predict every sample.

    Parameters
    ----------
    dosages
        (samples x markers) dosages 0..ploidy, no missing values.
    phenotypes
        One value per sample, NaN where unphenotyped (those are predicted,
        not trained on).
    ploidy
        Required: from the genotype data or the species registry.
    sample_id
        The samples' names, in row order.
    trait
        The trait's name (for messages and the result).
    method
        A name of :data:`breedhub.predict.methods.METHODS`. GBLUP and rrBLUP
        centre G on every genotyped sample and give reliabilities
        (:func:`breedhub.predict.gblup.blup_candidates`); the saved model
        reproduces the GEBVs.
    params
        The method's options.

    Returns
    -------
    TraitFit

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = rng.integers(0, 3, size=(60, 200)).astype(float)
    >>> y = X @ rng.normal(0, 0.1, 200) + rng.normal(0, 1, 60)
    >>> y[:10] = np.nan
    >>> fit = fit_trait(X, y, ploidy=2, sample_id=[f"s{i}" for i in range(60)], trait="yield")
    >>> fit.gebv.shape, fit.n_phenotyped, bool(np.all((0 <= fit.reliability) & (fit.reliability <= 1)))
    ((60,), 50, True)
    """
    from breedhub.predict.gblup import blup_candidates
    from breedhub.predict.methods import make_model

    ploidy = check_ploidy(ploidy)
    X = np.asarray(dosages)
    y = np.asarray(phenotypes, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != len(sample_id) or y.shape != (X.shape[0],):
        raise PipelineError(
            f"{trait}: {X.shape} dosages, {y.shape} phenotypes and {len(sample_id)} sample ids "
            "do not match (samples x markers, one phenotype and one id per sample)"
        )
    n_phenotyped = int(np.sum(~np.isnan(y)))
    if n_phenotyped < 2:
        raise PipelineError(f"{trait}: {n_phenotyped} phenotyped samples; a model needs at least 2")
    reliability = None
    model: GenomicModel
    if method in KERNEL_METHODS:
        model, res = blup_candidates(X, y, ploidy=ploidy, method=method)
        model.params = dict(params or {})
        gebv, reliability = np.asarray(res.gebv), np.asarray(res.reliability)
    else:
        model = make_model(method, **dict(params or {})).fit(X, y, ploidy=ploidy)
        gebv = np.asarray(model.predict(X), dtype=np.float64)
    info = {k: v for k, v in model.info_.items() if isinstance(v, int | float | str)}
    return TraitFit(
        trait=trait, method=method, sample_id=[str(s) for s in sample_id], gebv=gebv,
        reliability=reliability, model=model, info=info, n_phenotyped=n_phenotyped,
        phenotype_mean=float(np.nanmean(y)),
    )  # fmt: skip


def save_fit(
    fit: TraitFit,
    path: str | os.PathLike[str],
    *,
    command: str,
    inputs: Sequence[str | os.PathLike[str]] = (),
    marker_ids: Sequence[str] = (),
    dosages: Any = None,
) -> Path:
    """Save a fit's model (``.npz``) with the shared provenance record.

    Parameters
    ----------
    fit
        From :func:`fit_trait`.
    path
        The model file.
    command
        What asked for it (``breedhub predict fit``, a workflow step...).
    inputs
        The genotype and phenotype files (hashed into the record).
    marker_ids
        The markers in the model's column order (``predict apply`` checks them).
    dosages
        The training matrix, whose checksum is kept.
    """
    from breedhub.predict.persist import data_checksum, save_model

    extra: dict[str, Any] = {"trait": fit.trait, "marker_ids": list(marker_ids)}
    if dosages is not None:
        extra["genotypes_sha256"] = data_checksum(np.asarray(dosages))
    return save_model(fit.model, path, command=command, inputs=inputs, **extra)


def write_gebvs(fit: TraitFit, path: str | os.PathLike[str]) -> Path:
    """Write ``sample_id,gebv[,reliability]`` of a fit as CSV, atomically."""
    import polars as pl

    table: dict[str, Any] = {"sample_id": fit.sample_id, "gebv": fit.gebv}
    if fit.reliability is not None:
        table["reliability"] = fit.reliability
    with atomic_output(path) as tmp:
        pl.DataFrame(table).write_csv(tmp)
    return Path(path)


def _metrics(fit: TraitFit) -> dict[str, Any]:
    chosen = fit.cv.get(fit.method, {})
    out: dict[str, Any] = {
        "method": fit.method,
        "selected_by": fit.selected_by,
        "cv_mean_r": chosen.get("mean_r"),
        "cv_sd_r": chosen.get("sd_r"),
        "cv_rmse": chosen.get("mean_rmse"),
        "cv_folds": chosen.get("folds"),
        "cv_fold_r": chosen.get("fold_r"),
        "n_phenotyped": fit.n_phenotyped,
        "cv": {m: c.get("mean_r") for m, c in fit.cv.items()},
    }
    if "h2" in fit.info:
        out["h2"] = fit.info["h2"]
    return out


@dataclass(frozen=True)
class _Dataset:
    id: int
    name: str
    species: str
    path: str
    ploidy: int
    samples: list[tuple[str, int, str]]  # (sample, accession id, INSTCODE:ACCENUMB) by column
    institute_id: int | None = None
    visibility: str = "public"


def _dataset(engine: Engine, name: str) -> _Dataset:
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.genotype_datasets import dataset_samples, get_genotype_dataset
    from breedhub.germplasm.queries_registry import species_key_of

    with transaction(engine) as s:
        ds = get_genotype_dataset(s, name)
        species = species_key_of(s, ds.species_id)
        assert species is not None  # species_id is a non-null foreign key
        return _Dataset(ds.id, ds.name, species, ds.path, ds.ploidy, dataset_samples(s, ds.id),
                        ds.institute_id, ds.visibility)  # fmt: skip


def _breeding_goals(engine: Engine, traits: Sequence[str]) -> dict[str, tuple[str, float | None]]:
    """Each trait's direction (and optimum) from the trait registry, as the database holds it."""
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.exceptions import NotFoundError
    from breedhub.germplasm.queries_registry import variables_by_name

    with transaction(engine) as s:
        found = {n: (v.direction, v.optimum) for n, v in variables_by_name(s, traits).items()}
    missing = [t for t in traits if t not in found]
    if missing:
        raise NotFoundError(f"unknown observation variables: {', '.join(missing)}")
    return found


def _finite_or(x: Any, default: float) -> float:
    return float(x) if isinstance(x, int | float) and np.isfinite(x) else default


def _run_owner(ds: _Dataset, owner: Mapping[str, Any] | None) -> dict[str, Any]:
    out = {"institute_id": ds.institute_id, "visibility": ds.visibility, "created_by": None}
    out.update({k: v for k, v in (owner or {}).items() if v is not None})
    if ds.visibility == "restricted":
        out["institute_id"], out["visibility"] = ds.institute_id, "restricted"
    return out


def publish_model_run(
    engine: Engine,
    *,
    name: str,
    dataset: str,
    fits: Sequence[TraitFit],
    parameters: Mapping[str, Any] | None = None,
    provenance_record: Mapping[str, Any] | None = None,
    model_path: str = "",
    replace_run_dir: str = "",
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Register the fits of one genotype dataset as a model run, ranked per trait.

    Each accession gets the mean GEBV (and reliability) of its samples in
    the dataset, in the order the accessions first appear in it.

    Parameters
    ----------
    engine
        The germplasm database.
    name
        The model run's name.
    dataset
        The genotype dataset's name.
    fits
        One :class:`TraitFit` per trait, on the dataset's samples.
    parameters, provenance_record
        Kept with the run.
    model_path
        Where the saved models are.
    replace_run_dir
        When given, runs of the same name whose provenance names this
        working directory (``run_dir``) are replaced: a workflow re-run with
        other settings replaces what it registered before.
    owner
        ``institute_id``, ``visibility`` (``public`` or ``restricted``) and
        ``created_by`` (a user id) of the run. Default: the dataset's
        institute and visibility. A run of a restricted dataset is always
        restricted to the dataset's institute: its GEBVs would reveal it.

    Returns
    -------
    dict
        ``model_run_id``, ``name``, ``method``, ``predicted`` (accessions per
        trait), ``metrics`` and ``replaced`` (ids of the runs replaced).
    """
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.model_runs import add_model_run, delete_model_runs, model_runs_named
    from breedhub.pipelines.register import TraitPredictions, ranked_predictions

    ds = _dataset(engine, dataset)
    goals = _breeding_goals(engine, [f.trait for f in fits])
    accession_of = {smp: acc for smp, acc, _ in ds.samples}
    traits, metric_rows, predicted = [], {}, {}
    for fit in fits:
        unknown = [s for s in fit.sample_id if s not in accession_of]
        if unknown:
            raise PipelineError(
                f"{fit.trait}: samples not in the dataset {dataset}: {', '.join(unknown[:10])}"
            )
        accs = np.array([accession_of[s] for s in fit.sample_id], dtype=np.int64)
        uniq, first, index = np.unique(accs, return_index=True, return_inverse=True)
        counts = np.bincount(index)
        gebv = np.bincount(index, weights=fit.gebv) / counts
        rel = None
        if fit.reliability is not None:
            rel = np.bincount(index, weights=fit.reliability) / counts
        keep = np.argsort(first, kind="stable")  # the dataset's order
        direction, optimum = goals[fit.trait]
        traits.append(
            TraitPredictions(
                fit.trait, [int(a) for a in uniq[keep]], gebv[keep],
                None if rel is None else rel[keep], direction=direction, optimum=optimum,
                baseline=fit.phenotype_mean,
            )
        )  # fmt: skip
        predicted[fit.trait] = len(uniq)
        metric_rows[fit.trait] = {**_metrics(fit), "direction": direction, "optimum": optimum,
                                  "phenotype_mean": fit.phenotype_mean, "n_ranked": len(uniq)}  # fmt: skip
    method = "+".join(sorted({f.method for f in fits}))[:50]
    rows = ranked_predictions(traits)
    # one transaction: a re-run's earlier run is replaced only if the new one lands
    with transaction(engine) as s:
        replaced = [
            mr.id
            for mr in (model_runs_named(s, name) if replace_run_dir else [])
            if (mr.provenance or {}).get("run_dir") == replace_run_dir
        ]
        delete_model_runs(s, replaced)
        run_id = add_model_run(
            s, name=name, method=method, species=ds.species, predictions=rows,
            genotype_dataset_id=ds.id, parameters=dict(parameters or {}), metrics=metric_rows,
            provenance=dict(provenance_record or {}), model_path=model_path,
            owner=_run_owner(ds, owner),
        )  # fmt: skip
    return {"model_run_id": run_id, "name": name, "method": method, "predicted": predicted,
            "metrics": metric_rows, "replaced": replaced}  # fmt: skip


def fit_and_publish(
    engine: Engine,
    *,
    dataset: str,
    name: str,
    method: str = "gblup",
    params: Mapping[str, Any] | None = None,
    traits: Sequence[str] | None = None,
    cv_folds: int = 5,
    seed: int = 0,
    min_phenotyped: int = 10,
    parameters: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    owner: Mapping[str, Any] | None = None,
    before_publish: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Fit ``method`` for each trait of a registered genotype dataset and publish the run.

    Phenotypes are the accessions' means kept by the observation import;
    each trait is cross-validated (``cv_folds`` folds, ``seed``) and fitted
    on every phenotyped accession, and the GEBVs, reliabilities and ranks
    of every genotyped accession are registered as one model run whose
    metrics hold h2 and the cross-validated r of each trait.

    Parameters
    ----------
    engine
        The germplasm database.
    dataset
        The genotype dataset's name; its store is read from its path, with
        its registered ploidy.
    name
        The model run's name.
    method, params
        The method and its options; ``best`` cross-validates each of
        :data:`BEST_CANDIDATES` per trait and fits the one with the highest
        mean r (that r, chosen on the same folds, is optimistic: it is kept
        as the selection's, with every candidate's r beside it).
    traits
        The traits to fit; default every numerical trait with at least
        ``min_phenotyped`` phenotyped accessions and some variation.
    cv_folds, seed
        Cross-validation folds and seed.
    parameters
        Kept with the run, beside the method, folds and seed.
    progress
        Called with a line of text after each trait; it may raise to stop
        the fit (a cancelled job), before anything is published.
    owner
        ``institute_id``, ``visibility`` and ``created_by`` of the run (see
        :func:`publish_model_run`).
    before_publish
        Called once all traits are fitted, just before the run is published;
        it may raise to stop.

    Returns
    -------
    dict
        As :func:`publish_model_run`, with ``traits``: per trait ``h2``,
        ``cv_mean_r`` and ``n_phenotyped``, and ``seconds``. When no trait
        has enough phenotyped accessions nothing is registered and
        ``model_run_id`` is None.
    """
    from breedhub.genomics import read_dosages
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.queries_traits import numerical_trait_means
    from breedhub.predict.cv import cross_validate

    start = time.perf_counter()
    ds = _dataset(engine, dataset)
    names = [smp for smp, _, _ in ds.samples]
    geno = read_dosages(ds.path)  # every column, to check them against the registered samples
    if geno.ploidy != ds.ploidy:
        raise PipelineError(
            f"{ds.path}: ploidy {geno.ploidy}, but dataset {dataset} is registered with {ds.ploidy}"
        )
    X = geno.dosage_matrix(missing="mean").astype(np.float64)
    if list(geno.sample_id) != names:
        raise PipelineError(
            f"{ds.path}: its samples are not the ones registered for dataset {dataset} "
            "(re-register the dataset)"
        )
    accs = [acc for _, acc, _ in ds.samples]
    with transaction(engine) as s:
        means = numerical_trait_means(s, sorted(set(accs)))
    fits = []
    for trait in sorted(means) if traits is None else traits:
        by_acc = means.get(trait, {})
        y = np.array([by_acc.get(a, np.nan) for a in accs], dtype=np.float64)
        observed = y[~np.isnan(y)]
        if observed.size < min_phenotyped or np.std(observed) == 0:
            if traits is not None:
                raise PipelineError(
                    f"{trait}: {observed.size} phenotyped accessions in {dataset} "
                    f"(at least {min_phenotyped} with some variation are needed)"
                )
            continue
        summaries = {}
        for candidate in BEST_CANDIDATES if method == "best" else (method,):
            cv = cross_validate(X, y, method=candidate, ploidy=ds.ploidy, folds=cv_folds,
                                seed=seed, params=dict(params or {}) if candidate == method else {},
                                trait=trait)  # fmt: skip
            summaries[candidate] = {**cv.to_dict(), "folds": len(cv.folds),
                                    "fold_r": [f.r for f in cv.folds]}  # fmt: skip
        chosen = max(summaries, key=lambda m: _finite_or(summaries[m].get("mean_r"), -2.0))
        fit = fit_trait(
            X, y, ploidy=ds.ploidy, sample_id=names, trait=trait, method=chosen,
            params=params if chosen == method else None,
        )  # fmt: skip
        fit.cv = summaries
        if method == "best":
            fit.selected_by = "best mean cross-validated r of " + ", ".join(BEST_CANDIDATES)
        fits.append(fit)
        if progress:
            r = summaries[chosen].get("mean_r")
            progress(f"{trait}: {chosen}, h2 {fit.info.get('h2', float('nan')):.3f}, "
                     f"cv r {_finite_or(r, float('nan')):.3f}")  # fmt: skip
    if not fits:  # nothing to publish: say so rather than register an empty run
        return {"model_run_id": None, "name": name, "method": method, "predicted": {},
                "metrics": {}, "replaced": [], "traits": {},
                "seconds": time.perf_counter() - start}  # fmt: skip
    record = provenance(
        "breedhub.pipelines.publish.fit_and_publish",
        inputs=[ds.path],
        parameters={
            "method": method,
            "params": dict(params or {}),
            "cv_folds": cv_folds,
            "seed": seed,
        },
        dataset=dataset,
        phenotypes="accession means (trait summaries)",
    )
    if before_publish:
        before_publish()
    run = publish_model_run(
        engine, name=name, dataset=dataset, fits=fits, owner=owner,
        parameters={"method": method, **dict(params or {}), "cv_folds": cv_folds, "seed": seed,
                    **dict(parameters or {})},
        provenance_record=record.to_dict(),
    )  # fmt: skip
    run["traits"] = {
        f.trait: {
            "h2": f.info.get("h2"),
            "method": f.method,
            "cv_mean_r": f.cv[f.method]["mean_r"],
            "n_phenotyped": f.n_phenotyped,
        }
        for f in fits
    }
    run["seconds"] = time.perf_counter() - start
    return run
