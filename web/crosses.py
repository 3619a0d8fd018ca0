"""The ``crosses`` blueprint: the cross planner, every pair of chosen parents ranked by usefulness.

``GET /crosses`` (``crosses.planner``) takes:

================  ===================================================================
``species``       species key (optional: the run's)
``run``           a visible model run with a genotype dataset (default: the species'
                  newest); an unknown or hidden one is a 404
``trait``         the run's trait (default: its first)
``weight``        ``weight.<trait>=<w>`` or ``weight=<trait>:<w>`` (repeatable): plan on
                  an index ``sum w * GEBV`` over several traits instead, each weight
                  per unit of gain in the trait's breeding direction
``parents``       accession ids (repeated); and/or
``list``          a selection list's id: its candidates are parents too; else
``n``             the top ``n`` genotyped candidates by GEBV (or index), 2 to 300
``population``    ``DH``, ``RIL`` or ``F2`` (lines derived from the F1, diploid inbred
                  species) or ``F1`` (the cross's own progeny); default ``DH`` for
                  diploid inbred-line species, ``F1`` otherwise
``proportion``    proportion selected within a cross, for usefulness (default 0.1)
``n_crosses``     size of the plan (default 20)
``max_use``       at most this many crosses per parent in the plan
``max_kinship``   leave out pairs whose genomic relationship is above this
``format``        ``html``, ``csv`` or ``xlsx`` (every pair, with its place in the plan)
================  ===================================================================

The numbers come from :mod:`pipelines.crossing` (its docstring says how the
marker effects, the map and the variances are made). A run without a
genotype dataset, or whose store file is missing, gets a message on the page
(200); bad parameters a 400 naming them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from breedhub.base.errors import BreedhubError
from breedhub.germplasm import selection_lists as sl
from breedhub.germplasm.access import Viewer
from breedhub.germplasm.genotype_datasets import dataset_samples
from breedhub.germplasm.models import GenotypeDataset, ModelRun, ObservationVariable, SpeciesRow
from breedhub.germplasm.queries_predictions import (
    accession_labels,
    gebv_table,
    run_traits,
    visible_runs,
)
from breedhub.germplasm.queries_registry import list_species
from breedhub.germplasm.species import default_registry
from breedhub.pipelines import crossing
from breedhub.predict.index import selection_intensity
from breedhub.web.auth import current_viewer
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.predictions import (
    chosen_run,
    chosen_species,
    chosen_trait,
    csv_response,
    float_value,
    int_value,
    output_format,
    safe_filename,
    text_param,
    trait_goal,
    xlsx_response,
)
from breedhub.web.predictions_index import index_values
from breedhub.web.selection import accession_ids

bp = Blueprint("crosses", __name__)

MAX_PARENTS = 300
DEFAULT_N_CROSSES = 20
DEFAULT_PROPORTION = 0.1
#: Pairs shown on the page besides the plan (the export has them all).
SHOWN = 100
#: Recombination rate used for a species the registry does not describe.
FALLBACK_CM_PER_MB = 1.0


class PlannerMessage(BreedhubError):
    """The data cannot give a plan (no genotype dataset, a missing store): said on the page."""

    http_status = 200


def resolve_store(path: str) -> Path:
    """A dataset's store path; a relative one lies under the data directory."""
    p = Path(path)
    return p if p.is_absolute() else Path(current_app.config["BREEDHUB_HOME"]) / p


# --- parameters ----------------------------------------------------------------------------


def _optional_int(args: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = text_param(args, name)
    return int_value(name, raw, low=low, high=high) if raw else None


def _settings(args: MultiDict[str, str]) -> dict[str, Any]:
    """Every plain parameter, checked before anything is read (400 naming the bad one)."""
    proportion = DEFAULT_PROPORTION
    raw = text_param(args, "proportion")
    if raw:
        proportion = float_value("proportion", raw, low=0.0, high=1.0)
        if not 0 < proportion < 1:
            raise InvalidParameterError("proportion", f"must be above 0 and below 1, not {raw}")
    max_kinship = None
    raw = text_param(args, "max_kinship")
    if raw:
        max_kinship = float_value("max_kinship", raw, low=-10.0, high=10.0)
    population = text_param(args, "population").upper()
    if population and population not in crossing.POPULATIONS:
        raise InvalidParameterError(
            "population",
            f"must be one of {', '.join(crossing.POPULATIONS)}, not {population[:20]!r}",
        )
    list_id = _optional_int(args, "list", 1, 2**31 - 1)
    parents = accession_ids(args, "parents")
    if len(parents) > MAX_PARENTS:
        raise InvalidParameterError("parents", f"at most {MAX_PARENTS} parents, not {len(parents)}")
    return {
        "format": output_format(args),
        "proportion": proportion,
        "max_kinship": max_kinship,
        "max_use": _optional_int(args, "max_use", 1, 10_000),
        "n_crosses": _optional_int(args, "n_crosses", 1, 100_000) or DEFAULT_N_CROSSES,
        "n": _optional_int(args, "n", 2, MAX_PARENTS),
        "population": population or None,
        "list_id": list_id,
        "parents": parents,
    }


def _goal(
    run: ModelRun, traits: Sequence[ObservationVariable], args: MultiDict[str, str]
) -> dict[str, Any]:
    """The trait (or the weighted traits) to plan on, with its direction."""
    weights, _ = index_values(args, traits)
    weights = {t: w for t, w in weights.items() if w != 0}
    by_name = {v.name: v for v in traits}
    if weights:
        signs = {}
        for t in weights:
            goal = trait_goal(run, by_name[t])
            if goal["direction"] not in ("higher", "lower"):
                raise InvalidParameterError(
                    "weight", f"{t} has an optimum, not a direction: plan on it alone"
                )
            signs[t] = 1.0 if goal["direction"] == "higher" else -1.0
        label = " + ".join(f"{w:g}×{t}" for t, w in weights.items())
        return {"traits": list(weights), "coef": {t: weights[t] * signs[t] for t in weights},
                "direction": "higher", "target": None, "label": f"index {label}",
                "var": None, "text": "higher index is better"}  # fmt: skip
    var = chosen_trait(args, traits)
    if var is None:
        raise PlannerMessage("This model run has no predictions.")
    goal = trait_goal(run, var)
    target = None
    if goal["direction"] == "optimum":
        if goal["optimum"] is None or goal["phenotype_mean"] is None:
            raise PlannerMessage(
                f"{var.name} is selected towards an optimum, but the run records no optimum or "
                "phenotype mean to place it on the GEBV scale."
            )
        target = float(goal["optimum"]) - float(goal["phenotype_mean"])
    return {"traits": [var.name], "coef": {var.name: 1.0}, "direction": goal["direction"],
            "target": target, "label": var.name, "var": var, "text": goal["text"]}  # fmt: skip


# --- the computation -----------------------------------------------------------------------


def _dataset(run: ModelRun, viewer: Viewer) -> GenotypeDataset:
    if run.genotype_dataset_id is None:
        raise PlannerMessage(
            f"Model run {run.name} has no genotype dataset: crosses need the parents' genotypes."
        )
    ds = get_session().get(GenotypeDataset, run.genotype_dataset_id)
    if ds is None or not viewer.sees(ds):
        raise PlannerMessage(f"The genotype dataset of model run {run.name} is not available.")
    return ds


def _view(ds: GenotypeDataset, samples: list[tuple[str, int, str]]) -> crossing.StoreView:
    path = resolve_store(ds.path)
    if not path.is_file():
        raise PlannerMessage(
            f"The genotype store of dataset {ds.name} is missing ({path.name}): ask a "
            "bioinformatician to restore or re-register it."
        )
    try:
        view = crossing.store_view(path)
    except BreedhubError as exc:
        raise PlannerMessage(
            f"The genotype store of dataset {ds.name} cannot be read: {exc}"
        ) from None
    if list(view.sample_id) != [s for s, _, _ in samples]:
        raise PlannerMessage(
            f"The genotype store of dataset {ds.name} does not hold the samples registered for "
            "it: re-register the dataset."
        )
    return view


def _gebvs(run: ModelRun, goal: dict[str, Any], var_ids: dict[str, int]) -> dict[int, float]:
    """Accession -> GEBV of the goal (the weighted sum for an index; complete rows only)."""
    traits = goal["traits"]
    table = gebv_table(get_session(), run.id, [var_ids[t] for t in traits])
    coef = np.array([goal["coef"][t] for t in traits])
    values = table.gebv @ coef
    return {
        a: float(v) for a, v in zip(table.accession_ids, values, strict=True) if math.isfinite(v)
    }


def _beta(
    view: crossing.StoreView, run: ModelRun, goal: dict[str, Any], var_ids: dict[str, int],
    sample_accs: list[int],
) -> np.ndarray:  # fmt: skip
    beta = np.zeros(view.n_variants)
    for t in goal["traits"]:
        one = {"traits": [t], "coef": {t: 1.0}}
        gebv = _gebvs(run, one, var_ids)
        beta += goal["coef"][t] * crossing.marker_effects(
            view, sample_accs, gebv, cache_key=(run.id, str(run.created_at), t)
        )
    return beta


def _map(species: SpeciesRow, view: crossing.StoreView) -> tuple[np.ndarray, str, bool]:
    """cM positions, the sentence saying how they were made, and whether the lines are inbred."""
    registry = default_registry()
    if species.key in registry:
        sp = registry[species.key]
        n = sp.base_chromosome_number or max(1, sp.chromosome_number // sp.ploidy)
        rate = crossing.recombination_rate(haploid_chromosomes=n, genome_size_mb=sp.genome_size_mb)
        how = (f"no genetic map is recorded: positions in cM are the physical positions at "
               f"{rate:.2f} cM/Mb (one Morgan for each of the {n} chromosomes over "
               f"{sp.genome_size_mb:,} Mb)")  # fmt: skip
        inbred = sp.inbred_lines
    else:
        rate, inbred = FALLBACK_CM_PER_MB, False
        how = f"no genetic map is recorded: positions in cM at an assumed {rate:g} cM/Mb"
    return crossing.genetic_map(view.pos, cm_per_mb=rate), how, inbred


def _parents(
    settings: dict[str, Any], viewer: Viewer, by_acc: dict[int, str], gebv: dict[int, float],
    direction: str, target: float | None,
) -> tuple[list[int], str]:  # fmt: skip
    """The chosen parents and how they were chosen."""
    session = get_session()
    ids = list(settings["parents"])
    how = []
    if ids:
        how.append(f"{len(ids)} ticked")
    if settings["list_id"] is not None:
        lst = sl.visible_list(session, settings["list_id"], viewer)
        if lst is None:
            raise InvalidParameterError("list", f"there is no selection list {settings['list_id']}")
        ids += sl.list_accession_ids(session, lst.id)
        how.append(f"list “{lst.name}”")
    ids = list(dict.fromkeys(ids))
    if not ids and settings["n"]:
        pool = [a for a in by_acc if a in gebv]
        key = {"higher": lambda a: -gebv[a], "lower": lambda a: gebv[a]}.get(
            direction, lambda a: abs(gebv[a] - (target or 0.0))
        )
        ids = sorted(pool, key=lambda a: (key(a), a))[: settings["n"]]
        how.append(f"top {settings['n']} genotyped by GEBV")
    if len(ids) > MAX_PARENTS:
        raise InvalidParameterError("parents", f"at most {MAX_PARENTS} parents, not {len(ids)}")
    missing = [a for a in ids if a not in by_acc]
    if missing:
        labels = accession_labels(session, missing)
        named = ", ".join(labels[a][0] if a in labels else str(a) for a in missing[:20])
        raise InvalidParameterError(
            "parents", f"not genotyped in this run's dataset (or unknown): {named}"
        )
    return ids, ", ".join(how)


def _plan(run: ModelRun, species: SpeciesRow, viewer: Viewer, settings: dict[str, Any],
          ctx: dict[str, Any], args: MultiDict[str, str]) -> dict[str, Any]:  # fmt: skip
    ds = _dataset(run, viewer)
    samples = dataset_samples(get_session(), ds.id)
    view = _view(ds, samples)
    traits = ctx["traits"]
    goal = ctx["goal"] = _goal(run, traits, args)
    by_acc: dict[int, str] = {}
    for name, acc, _ in samples:
        by_acc.setdefault(int(acc), name)
    var_ids = {v.name: v.id for v in traits}
    gebv = _gebvs(run, goal, var_ids)
    parents, how = _parents(settings, viewer, by_acc, gebv, goal["direction"], goal["target"])
    out: dict[str, Any] = {"dataset": ds, "ploidy": view.ploidy, "how": how, "parents": parents}
    if len(parents) < 2:
        out["table"] = None
        return out
    pos_cM, map_note, inbred = _map(species, view)
    population = settings["population"] or crossing.default_population(
        inbred_lines=inbred, ploidy=view.ploidy
    )
    if population in crossing.DERIVED and view.ploidy != 2:
        raise InvalidParameterError(
            "population", f"{population} progeny are modelled for diploids only; this dataset "
            f"has ploidy {view.ploidy}: use F1"
        )  # fmt: skip
    X = crossing.parent_dosages(view, [by_acc[a] for a in parents])
    beta = _beta(view, run, goal, var_ids, [int(a) for _, a, _ in samples])
    table = crossing.cross_table(
        X, parents, beta, centre=view.centre, chrom=view.chrom, pos_cM=pos_cM, ploidy=view.ploidy,
        population=population, intensity=float(selection_intensity(settings["proportion"])),
        direction=goal["direction"], target=goal["target"],
    )  # fmt: skip
    plan = crossing.choose_plan(table, n_crosses=settings["n_crosses"],
                                max_use=settings["max_use"], max_kinship=settings["max_kinship"])  # fmt: skip
    notes = [map_note, *table.notes]
    if population == "F1" and not inbred:
        notes.append(
            f"{species.key} lines are not inbred: the variance is that of the cross's own "
            "progeny (the parents' gametic variances, markers taken as unlinked as the phase is "
            "unknown); DH, RIL and F2 assume homozygous parents"
        )
    out.update(table=table, plan=plan, population=population, notes=notes,
               labels=accession_labels(get_session(), parents),
               parent_gebv=dict(zip(parents, ((X - view.centre) @ beta).tolist(), strict=True)))  # fmt: skip
    return out


# --- output --------------------------------------------------------------------------------


def _rows(result: dict[str, Any], rows: Sequence[int]) -> list[dict[str, Any]]:
    t: crossing.CrossTable = result["table"]
    labels = result["labels"]
    rank = np.empty(len(t), dtype=np.int64)
    rank[t.order] = np.arange(1, len(t) + 1)
    plan_at = {int(r): k for k, r in enumerate(result["plan"].tolist(), start=1)}
    out = []
    for r in rows:
        a, b = t.parent_ids[t.i[r]], t.parent_ids[t.j[r]]
        uc = float(t.usefulness[r])
        out.append({
            "rank": int(rank[r]), "plan": plan_at.get(int(r)), "p1": a, "p2": b,
            "p1_label": labels.get(a, (str(a), "", ""))[0], "p1_name": labels.get(a, ("", "", ""))[1],
            "p2_label": labels.get(b, (str(b), "", ""))[0], "p2_name": labels.get(b, ("", "", ""))[1],
            "mean": float(t.mean[r]), "variance": float(t.variance[r]), "sd": float(t.sd[r]),
            "usefulness": uc if math.isfinite(uc) else None, "kinship": float(t.kinship[r]),
        })  # fmt: skip
    return out


def _export(fmt: str, run: ModelRun, goal: dict[str, Any], result: dict[str, Any],
            settings: dict[str, Any]) -> ResponseReturnValue:  # fmt: skip
    t: crossing.CrossTable = result["table"]
    rows = _rows(result, t.order.tolist())
    header = ["rank", "in_plan", "parent1_id", "parent1", "parent2_id", "parent2", "mean",
              "variance", "sd", "usefulness", "kinship"]  # fmt: skip
    body = [[r["rank"], r["plan"], r["p1"], r["p1_label"], r["p2"], r["p2_label"], r["mean"],
             r["variance"], r["sd"], r["usefulness"], r["kinship"]] for r in rows]  # fmt: skip
    comments = [
        f"model run: {run.name} (id {run.id}, {run.method}); dataset {result['dataset'].name}",
        f"goal: {goal['label']} ({goal['text']})",
        f"progeny: {result['population']}; proportion selected {settings['proportion']:g}",
        f"plan: {len(result['plan'])} crosses (n_crosses {settings['n_crosses']}, max_use "
        f"{settings['max_use'] or 'none'}, max_kinship {settings['max_kinship'] if settings['max_kinship'] is not None else 'none'})",
        *result["notes"],
    ]
    writer = csv_response if fmt == "csv" else xlsx_response
    return writer(safe_filename("crosses", run.name, goal["label"]), comments, header, body)


@bp.get("/crosses")
def planner() -> ResponseReturnValue:
    args = request.args
    viewer = current_viewer()
    session = get_session()
    settings = _settings(args)
    all_species = list_species(session)
    species = chosen_species(args, all_species)
    run = chosen_run(args, viewer, species)
    ctx: dict[str, Any] = {"all_species": all_species, "species": species, "run": run,
                           "settings": settings, "args": args, "result": None, "message": None,
                           "goal": None, "traits": [], "runs": [], "lists": []}  # fmt: skip
    if viewer.authenticated:
        ctx["lists"] = [r for r in sl.visible_lists(session, viewer) if r.n_items]
    status = 200
    if run is not None:
        species = next(s for s in all_species if s.id == run.species_id)
        ctx["species"] = species
        traits = run_traits(session, run.id)
        ctx["traits"] = traits
        try:
            ctx["result"] = _plan(run, species, viewer, settings, ctx, args)
        except PlannerMessage as exc:
            ctx["message"] = str(exc)
        except InvalidParameterError:
            raise
        except BreedhubError as exc:  # the science refused the inputs: say why
            ctx["message"], status = str(exc), 400
    if species is not None:
        ctx["runs"] = visible_runs(session, viewer, species_id=species.id)
    result = ctx["result"]
    if settings["format"] != "html":
        if result is None or result.get("table") is None:
            raise InvalidParameterError(
                "format", ctx["message"] or "choose a model run and at least two parents first"
            )
        return _export(settings["format"], run, ctx["goal"], result, settings)  # type: ignore[arg-type]
    if result is not None and result.get("table") is not None:
        t = result["table"]
        result["plan_rows"] = _rows(result, result["plan"].tolist())
        result["top_rows"] = _rows(result, t.order[:SHOWN].tolist())
        uses: dict[int, int] = {}
        for r in result["plan_rows"]:
            uses[r["p1"]] = uses.get(r["p1"], 0) + 1
            uses[r["p2"]] = uses.get(r["p2"], 0) + 1
        result["uses"] = uses
    query = [(k, v) for k, v in args.items(multi=True) if k != "format"]
    ctx["export_url"] = lambda fmt: (
        url_for("crosses.planner") + "?" + _urlencode([*query, ("format", fmt)])
    )
    return render_template("crosses/planner.html", **ctx), status


def _urlencode(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(pairs)
