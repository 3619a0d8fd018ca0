"""Selection-index pages of the ``predictions`` blueprint: compute, rank, export, save and share.

Routes
------
``GET /predictions/index`` (``predictions.index``)
    A selection index over several traits of one model run:

    ===================  ============================================================
    ``species``, ``run``  as on the ranking page (:mod:`web.predictions`)
    ``mode``             ``weights`` (economic weights, Smith-Hazel; default) or
                         ``gains`` (desired gains, Pesek & Baker)
    ``weight.<trait>``   economic weight of a trait, per trait unit of gain towards
                         its goal (a positive weight on days to heading selects
                         earlier lines); also ``weight=<trait>:<value>``, repeatable
    ``gain.<trait>``     desired gain, trait units towards the goal (0 holds the
                         trait); also ``gain=<trait>:<value>``
    ``proportion``       proportion selected, 0 < p < 1 (default 0.1)
    ``page``,            the ranked candidates' page (``page_size`` capped at 100
    ``page_size``        anonymous, 500 logged in)
    ``format``           ``html``, ``csv`` or ``xlsx`` (every ranked candidate)
    ===================  ============================================================

    Only the values of the chosen mode are used; a trait enters the index when
    its value is given (an empty box leaves it out). The numbers come from
    :func:`pipelines.selection_index.selection_index`, whose docstring says
    how the (co)variance matrices are estimated and why.
``GET /predictions/index/<id>`` (``predictions.saved_index``)
    A saved index, re-opened (404 if it is not visible to the viewer).
``POST /predictions/index/save`` (``predictions.save_index``)
    Save the index of the form: ``name``, ``run``, ``mode``, the values,
    ``proportion``, ``visibility`` (``public`` or ``restricted`` to the
    user's institute). Logged-in users (``keep_lists``).
``POST /predictions/index/<id>/delete`` (``predictions.delete_index``)
    Its owner or an admin only (403 for others who see it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from breedhub.germplasm.access import Viewer
from breedhub.germplasm.models import ModelRun, ObservationVariable, SelectionIndex, SpeciesRow
from breedhub.germplasm.queries_predictions import (
    GebvTable,
    accession_labels,
    add_selection_index,
    delete_selection_index,
    gebv_table,
    run_traits,
    visible_run,
    visible_runs,
    visible_selection_index,
    visible_selection_indexes,
)
from breedhub.germplasm.queries_registry import list_species
from breedhub.pipelines.selection_index import IndexResult, IndexTrait, selection_index
from breedhub.predict.exceptions import InputError
from breedhub.web.auth import current_viewer, require
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.predictions import (
    add_to_list_form,
    bp,
    chosen_run,
    chosen_species,
    csv_response,
    float_value,
    int_value,
    output_format,
    page_window,
    paging,
    safe_filename,
    text_param,
    trait_goal,
    xlsx_response,
)
from breedhub.web.search import check_text

MODES = ("weights", "gains")
PREFIX = {"weights": "weight", "gains": "gain"}
DEFAULT_PROPORTION = 0.1
#: The largest economic weight or desired gain accepted (in absolute value).
MAX_VALUE = 1e9


# --- parameters ----------------------------------------------------------------------------


def _mode(args: Mapping[str, str]) -> str:
    mode = text_param(args, "mode").lower() or "weights"
    if mode not in MODES:
        raise InvalidParameterError("mode", f"must be weights or gains, not {mode!r}", mode)
    return mode


def _proportion(args: Mapping[str, str]) -> float:
    raw = text_param(args, "proportion")
    if not raw:
        return DEFAULT_PROPORTION
    p = float_value("proportion", raw, low=0.0, high=1.0)
    if not 0 < p < 1:
        raise InvalidParameterError(
            "proportion", f"must be above 0 and below 1 (0.1 keeps the best 10%), not {raw}", raw
        )
    return p


def _pairs(args: MultiDict[str, str], prefix: str) -> list[tuple[str, str, str]]:
    """``(parameter, trait, raw value)`` from ``prefix.<trait>=v`` and ``prefix=<trait>:v``."""
    out = []
    for key in args:
        if key.startswith(prefix + "."):
            trait = check_text(prefix, key[len(prefix) + 1 :])
            for raw in args.getlist(key):
                out.append((key, trait, check_text(key, raw.strip())))
    for raw in args.getlist(prefix):
        raw = check_text(prefix, raw.strip())
        if not raw:
            continue
        trait, sep, value = raw.rpartition(":")
        if not sep or not trait:
            raise InvalidParameterError(
                prefix, f"must be <trait>:<value> such as GrainYield_t_ha:1.5, not {raw[:40]!r}"
            )
        out.append((prefix, trait.strip(), value.strip()))
    return out


def index_values(
    args: MultiDict[str, str], traits: Sequence[ObservationVariable]
) -> tuple[dict[str, float], dict[str, float]]:
    """Economic weights and desired gains given in ``args``, trait name -> value.

    Every ``weight``/``gain`` parameter is checked, whichever the mode; an
    empty value leaves its trait out.
    """
    names = {v.name for v in traits}
    found: dict[str, dict[str, float]] = {"weight": {}, "gain": {}}
    for prefix, values in found.items():
        for param, trait, raw in _pairs(args, prefix):
            if trait not in names:
                known = ", ".join(sorted(names)) or "none"
                raise InvalidParameterError(
                    param, f"this run has no trait {trait[:60]!r} (it has: {known})"
                )
            if raw:
                values[trait] = float_value(param, raw, low=-MAX_VALUE, high=MAX_VALUE)
    return found["weight"], found["gain"]


# --- computing -----------------------------------------------------------------------------


def _metric_reliability(run: ModelRun, name: str) -> float | None:
    """Reliability from the run's metrics: (cross-validated r)^2 / h2, when both are known."""
    m = (run.metrics or {}).get(name) or {}
    r, h2 = m.get("cv_mean_r"), m.get("h2")
    if isinstance(r, (int, float)) and isinstance(h2, (int, float)) and h2 > 0:
        return min(1.0, float(r) ** 2 / float(h2))
    return None


def compute_index(
    run: ModelRun,
    traits: Sequence[ObservationVariable],
    values: Mapping[str, float],
    *,
    mode: str,
    proportion: float,
) -> tuple[IndexResult, GebvTable, list[ObservationVariable]]:
    """The index of ``values`` over ``run``'s GEBVs, with the table it was computed from.

    Raises
    ------
    InputError
        When the index cannot be computed (see :func:`~pipelines.selection_index.selection_index`).
    """
    chosen = [v for v in traits if v.name in values]
    table = gebv_table(get_session(), run.id, [v.id for v in chosen])
    goals = [trait_goal(run, v) for v in chosen]
    index_traits = [
        IndexTrait(
            v.name, g["direction"], values[v.name], _metric_reliability(run, v.name), g["optimum"]
        )  # fmt: skip
        for v, g in zip(chosen, goals, strict=True)
    ]
    result = selection_index(
        table.accession_ids, table.gebv, table.reliability, index_traits,
        mode=mode, proportion=proportion,
    )  # fmt: skip
    return result, table, chosen


def _rows(
    result: IndexResult, table: GebvTable, chosen: Sequence[ObservationVariable], start: int,
    stop: int,
) -> list[dict[str, Any]]:  # fmt: skip
    ranked = result.ranked[start:stop]
    labels = accession_labels(get_session(), [c.id for c in ranked])
    rows = result.ranked.rows[start:stop]  # the candidates' rows of ``table``
    cols = [next(j for j, v in enumerate(chosen) if v.name == t) for t in result.traits]
    out = []
    for k, (c, row) in enumerate(zip(ranked, rows, strict=True), start=start):
        accenumb, name, inst = labels.get(c.id, ("", "", ""))
        out.append({
            "rank": c.rank, "accession_id": c.id, "accenumb": accenumb, "name": name,
            "institute": inst, "score": c.score, "selected": k < result.n_selected,
            "gebv": [float(table.gebv[row, j]) for j in cols],
        })  # fmt: skip
    return out


def _responses(
    run: ModelRun, result: IndexResult, chosen: Sequence[ObservationVariable]
) -> list[dict[str, Any]]:
    by_name = {v.name: v for v in chosen}
    out = []
    for k, name in enumerate(result.traits):
        v = by_name[name]
        goal = trait_goal(run, v)
        dg = float(result.response[k])
        mean = goal["phenotype_mean"]
        out.append({
            "var": v, "goal": goal, "weight": float(result.weights[k]), "response": dg,
            "towards_goal": dg if goal["direction"] == "higher" else -dg,
            "percent": 100 * dg / mean if isinstance(mean, (int, float)) and mean else None,
            "sd": float(result.gebv_cov[k, k]) ** 0.5,
        })  # fmt: skip
    return out


def _export(
    fmt: str, run: ModelRun, mode: str, values: Mapping[str, float], proportion: float,
    result: IndexResult, table: GebvTable, chosen: Sequence[ObservationVariable],
) -> ResponseReturnValue:  # fmt: skip
    what = "economic weights" if mode == "weights" else "desired gains"
    comments = [
        f"model run: {run.name} (id {run.id}, {run.method})",
        f"selection index: {what} " + ", ".join(f"{k}={v:g}" for k, v in values.items()),
        f"proportion selected: {proportion:g} (intensity {result.intensity:.4f})",
    ]
    for r in _responses(run, result, chosen):
        comments.append(
            f"expected response {r['var'].name}: {r['response']:.6g} {r['var'].unit} "
            f"({r['goal']['text']})"
        )
    if result.accuracy is not None:
        comments.append(f"index accuracy: {result.accuracy:.4f}")
    comments += result.notes
    header = ["rank", "accession_id", "accession_number", "name", "institute", "index",
              "selected", *(f"gebv_{t}" for t in result.traits)]  # fmt: skip
    rows = (
        [r["rank"], r["accession_id"], r["accenumb"], r["name"], r["institute"], r["score"],
         "yes" if r["selected"] else "no", *r["gebv"]]
        for r in _rows(result, table, chosen, 0, len(result.ranked))
    )  # fmt: skip
    writer = csv_response if fmt == "csv" else xlsx_response
    return writer(safe_filename("index", run.name), comments, header, rows)


# --- pages ---------------------------------------------------------------------------------


def _index_url(args: MultiDict[str, str], page: int, **extra: str) -> str:
    kept = [(k, v) for k, v in args.items(multi=True) if k not in ("page", "format") and v.strip()]
    if page > 1:
        kept.append(("page", str(page)))
    kept += list(extra.items())
    return request.path + ("?" + urlencode(kept) if kept else "")


def _render(
    *, args: MultiDict[str, str], viewer: Viewer, species: SpeciesRow | None,
    run: ModelRun | None, mode: str, proportion: float, weights: dict[str, float],
    gains: dict[str, float], saved: SelectionIndex | None = None,
) -> ResponseReturnValue:  # fmt: skip
    """Compute (when values are given), then render the index page or export it."""
    session = get_session()
    fmt = output_format(args)
    page, page_size = paging(args, viewer)
    traits = run_traits(session, run.id) if run is not None else []
    values = weights if mode == "weights" else gains
    context: dict[str, Any] = {
        "all_species": list_species(session), "species": species, "run": run, "traits": traits,
        "goals": {v.name: trait_goal(run, v) for v in traits} if run is not None else {},
        "mode": mode, "proportion": proportion, "weights": weights, "gains": gains,
        "saved": saved, "result": None, "error": None,
        "saved_indexes": visible_selection_indexes(
            session, viewer, species_id=species.id if species is not None else None
        ),
        "runs": [], "can_save": viewer.may("keep_lists") and run is not None and bool(values),
        "can_delete": saved is not None and viewer.owns(saved),
        "page_url": lambda n: _index_url(args, n),
        "export_url": lambda f: _index_url(args, 1, format=f),
    }  # fmt: skip
    if species is not None:
        context["runs"] = visible_runs(session, viewer, species_id=species.id)
    if run is None or not values:
        if fmt != "html":
            raise InvalidParameterError(
                "run" if run is None else PREFIX[mode], "choose a run and give the index values"
            )
        return render_template("predictions/index.html", **context)
    try:
        result, table, chosen = compute_index(run, traits, values, mode=mode, proportion=proportion)
    except InputError as exc:
        context["error"] = str(exc)
        return render_template("predictions/index.html", **context), 400
    if fmt != "html":
        return _export(fmt, run, mode, values, proportion, result, table, chosen)
    start = (page - 1) * page_size
    n_pages = max(1, -(-len(result.ranked) // page_size))
    context.update(
        result=result,
        rows=_rows(result, table, chosen, start, start + page_size),
        responses=_responses(run, result, chosen),
        page=page,
        n_pages=n_pages,
        pages=page_window(page, n_pages),
        values=values,
        add_form=add_to_list_form(viewer),
    )
    return render_template("predictions/index.html", **context)


@bp.get("/predictions/index")
def index() -> ResponseReturnValue:
    args = request.args
    viewer = current_viewer()
    species = chosen_species(args, list_species(get_session()))
    run = chosen_run(args, viewer, species)
    if run is not None and species is None:
        species = next(s for s in list_species(get_session()) if s.id == run.species_id)
    mode, proportion = _mode(args), _proportion(args)
    traits = run_traits(get_session(), run.id) if run is not None else []
    weights, gains = index_values(args, traits) if run is not None else ({}, {})
    return _render(
        args=args, viewer=viewer, species=species, run=run, mode=mode, proportion=proportion,
        weights=weights, gains=gains,
    )  # fmt: skip


@bp.get("/predictions/index/<id:index_id>")
def saved_index(index_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    session = get_session()
    saved = visible_selection_index(session, index_id, viewer)
    if saved is None:
        abort(404, description=f"There is no selection index with id {index_id}.")
    species = next((s for s in list_species(session) if s.id == saved.species_id), None)
    run = None
    if saved.model_run_id is not None:
        run = visible_run(session, saved.model_run_id, viewer)
    if run is None:
        flash("The model run of this selection index was removed or is not visible to you.")
    values = {str(k): float(v) for k, v in (saved.weights or {}).items()}
    weights, gains = (values, {}) if saved.mode == "weights" else ({}, values)
    return _render(
        args=request.args, viewer=viewer, species=species, run=run, mode=saved.mode,
        proportion=saved.proportion, weights=weights, gains=gains, saved=saved,
    )  # fmt: skip


@bp.post("/predictions/index/save")
@require("keep_lists")
def save_index() -> ResponseReturnValue:
    form = request.form
    viewer = current_viewer()
    session = get_session()
    name = text_param(form, "name")
    if not name:
        raise InvalidParameterError("name", "give the index a name")
    raw_run = text_param(form, "run")
    if not raw_run:
        raise InvalidParameterError("run", "choose the model run the index weighs")
    run_id = int_value("run", raw_run, low=1, high=2**31 - 1)
    run = visible_run(session, run_id, viewer)
    if run is None:
        abort(404, description=f"There is no model run with id {run_id}.")
    mode, proportion = _mode(form), _proportion(form)
    weights, gains = index_values(form, run_traits(session, run.id))
    values = weights if mode == "weights" else gains
    if not values:
        raise InvalidParameterError(PREFIX[mode], f"give at least one trait a {PREFIX[mode]}")
    visibility = text_param(form, "visibility").lower() or "public"
    if visibility not in ("public", "restricted"):
        raise InvalidParameterError(
            "visibility", f"must be public or restricted, not {visibility[:40]!r}"
        )
    if visibility == "restricted" and viewer.institute_id is None:
        raise InvalidParameterError("visibility", "you have no institute to restrict it to")
    row = add_selection_index(
        session, name=name, species_id=run.species_id, model_run_id=run.id, mode=mode,
        weights=values, proportion=proportion, owner_id=viewer.user_id,
        institute_id=viewer.institute_id, visibility=visibility,
    )  # fmt: skip
    session.commit()
    flash(f"Selection index {name!r} saved.")
    return redirect(url_for("predictions.saved_index", index_id=row.id))


@bp.post("/predictions/index/<id:index_id>/delete")
@require("keep_lists")
def delete_index(index_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    session = get_session()
    saved = visible_selection_index(session, index_id, viewer)
    if saved is None:
        abort(404, description=f"There is no selection index with id {index_id}.")
    if not viewer.owns(saved):
        abort(403, description="Only its owner or an admin may delete this selection index.")
    name = saved.name
    delete_selection_index(session, index_id)
    session.commit()
    flash(f"Selection index {name!r} deleted.")
    return redirect(url_for("predictions.index"))
