"""The ``predict`` workflow's config: methods and their options, dataset, traits, trials.

:func:`check_predict_config` checks the config on its own, and
:func:`predict_db_problems` the genotype dataset, traits and trials it names
against the database, with enough phenotyped accessions to cross-validate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine

from breedhub.pipelines.exceptions import Problem

if TYPE_CHECKING:
    from breedhub.germplasm.models import ObservationVariable, Trial

__all__ = ["check_predict_config", "predict_db_problems"]


def check_predict_config(config: dict[str, Any], file: str) -> tuple[dict[str, Any], list[Problem]]:
    """Check a ``predict`` config on its own (the database checks come after); return it resolved."""
    problems: list[Problem] = []
    resolved = dict(config)
    methods = config.get("methods") or []
    select_ = config.get("select", "best")
    if isinstance(select_, str) and select_ != "best" and select_ not in methods:
        problems.append(
            Problem(
                file, 0, "select", select_,
                f"not among the methods cross-validated ({', '.join(map(str, methods))}); "
                "add it to methods or use 'best'",
            )
        )  # fmt: skip
    for method in config.get("params") or {}:
        if method not in methods:
            problems.append(
                Problem(file, 0, f"params.{method}", "", "options of a method that is not run")
            )
    resolved["_resolved"] = {"config_file": file}
    return resolved, problems


def predict_db_problems(resolved: dict[str, Any], engine: Engine) -> list[Problem]:
    """The problems of a resolved ``predict`` config against the database.

    The genotype dataset and its store exist, the traits are numerical
    variables of the dataset's species, the trials exist, and each trait has
    enough phenotyped, genotyped accessions to cross-validate. ``_resolved``
    gains the dataset's id, store, species, ploidy and size.
    """
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.genotype_datasets import (
        dataset_accession_ids,
        find_genotype_dataset,
        genotype_dataset_names,
    )
    from breedhub.germplasm.queries_registry import (
        species_key_of,
        trials_by_name,
        variables_by_name,
    )
    from breedhub.germplasm.queries_traits import phenotype_means

    info = resolved["_resolved"]
    file = info["config_file"]
    problems: list[Problem] = []

    def strings(key: str) -> list[str]:
        value = resolved.get(key)
        return [v if isinstance(v, str) else "" for v in value] if isinstance(value, list) else []

    traits, trial_names = strings("traits"), strings("trials")
    folds = cast(int, resolved.get("folds")) if isinstance(resolved.get("folds"), int) else 5
    name = resolved.get("genotype_dataset")
    if not isinstance(name, str):
        return problems
    with transaction(engine) as s:
        ds = find_genotype_dataset(s, name)
        if ds is None:
            known = genotype_dataset_names(s)
            shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "") or "none"
            problems.append(
                Problem(file, 0, "genotype_dataset", str(name),
                        f"no genotype dataset of that name (registered: {shown})")
            )  # fmt: skip
            return problems
        species = species_key_of(s, ds.species_id)
        info.update(
            dataset_id=ds.id, genotypes=ds.path, species=species, ploidy=ds.ploidy,
            n_genotyped=ds.n_samples,
        )  # fmt: skip
        if not Path(ds.path).is_file():
            problems.append(
                Problem(file, 0, "genotype_dataset", str(name),
                        f"its genotype store {ds.path} is missing")
            )  # fmt: skip
        acc_ids = dataset_accession_ids(s, ds.id)
        variables = variables_by_name(s, traits)
        var_ids = _trait_ids(file, traits, variables, ds.species_id, species, problems)
        trial_ids = None
        if trial_names:
            trials = trials_by_name(s, trial_names)
            trial_ids = _trial_ids(file, trial_names, trials, ds.species_id, species, problems)
        trials_ok = trial_ids is None or len(trial_ids) == len(trial_names)
        if var_ids and acc_ids and trials_ok:
            means = phenotype_means(s, acc_ids, list(var_ids.values()), trial_ids)
            for i, trait in enumerate(traits):
                if trait not in var_ids:
                    continue
                n = len(means.get(var_ids[trait], {}))
                if n < max(folds, 3):
                    where = " in the trials given" if trial_ids is not None else ""
                    problems.append(
                        Problem(
                            file, 0, f"traits[{i}]", trait,
                            f"only {n} of the dataset's {len(acc_ids)} accessions have "
                            f"observations of it{where}: {folds}-fold cross-validation needs "
                            f"at least {max(folds, 3)}",
                        )
                    )  # fmt: skip
    return problems


def _trait_ids(
    file: str,
    traits: list[str],
    variables: dict[str, ObservationVariable],
    species_id: int,
    species: str | None,
    problems: list[Problem],
) -> dict[str, int]:
    """The variable id of each usable trait: one that exists, is numerical and is of
    the dataset's species (``species_id``); the problems of the others go to ``problems``."""
    var_ids: dict[str, int] = {}
    for i, trait in enumerate(traits):
        var = variables.get(trait)
        if var is None:
            problems.append(Problem(file, 0, f"traits[{i}]", trait, "no observation variable of that name"))  # fmt: skip
        elif var.data_type != "numerical":
            problems.append(Problem(file, 0, f"traits[{i}]", trait, f"is {var.data_type}; only numerical traits are predicted"))  # fmt: skip
        elif var.species_id is not None and var.species_id != species_id:
            problems.append(Problem(file, 0, f"traits[{i}]", trait, f"is a trait of another species than the dataset's ({species})"))  # fmt: skip
        else:
            var_ids[trait] = var.id
    return var_ids


def _trial_ids(
    file: str,
    trial_names: list[str],
    trials: dict[str, Trial],
    species_id: int,
    species: str | None,
    problems: list[Problem],
) -> list[int]:
    """The ids of the named trials that exist and are of the dataset's species
    (``species_id``); the problems of the others go to ``problems``."""
    trial_ids: list[int] = []
    for i, trial in enumerate(trial_names):
        t = trials.get(trial)
        if t is None:
            problems.append(Problem(file, 0, f"trials[{i}]", trial, "no trial of that name"))  # fmt: skip
        elif t.species_id != species_id:
            problems.append(Problem(file, 0, f"trials[{i}]", trial, f"is a trial of another species than the dataset's ({species})"))  # fmt: skip
        else:
            trial_ids.append(t.id)
    return trial_ids
