"""The ``runs`` blueprint: model runs, their cross-validated accuracy, and starting new ones.

Routes
------
``GET /runs``
    Every model run the viewer may see (``species``, ``page``), with its
    method, traits, dataset, date, who started it and its accuracy; for a
    bioinformatician or admin, the form that starts a new run.
``GET /runs/<id>``
    One run: per trait the method chosen, h2, cross-validated r per fold
    (a plot), and links to its ranking.
``POST /runs/new``
    Starts a model run as a job (``dataset``, ``trait`` (repeatable; none:
    every trait), ``method`` (a method or ``best``), ``name``,
    ``visibility``); answers with a redirect to the job's page.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from breedhub.base.config import Settings
from breedhub.germplasm.model_runs import runnable_datasets, visible_model_run, visible_model_runs
from breedhub.germplasm.queries_registry import list_species
from breedhub.web.auth import current_viewer, require
from breedhub.web.db import get_engine, get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.search import check_text, page_number

bp = Blueprint("runs", __name__)

PAGE_SIZE = 25
#: What the form offers; ``best`` cross-validates gblup, rkhs and bayesb per trait.
METHODS = ("gblup", "rrblup", "rkhs", "bayesb", "bayescpi", "bl", "best")


@bp.get("/runs")
def runs() -> ResponseReturnValue:
    session, viewer = get_session(), current_viewer()
    species = list_species(session)
    keys = {s.key for s in species}
    error = None
    try:
        page = page_number(request.args)
        chosen = check_text("species", request.args.get("species", ""), max_length=50)
        if chosen and chosen not in keys:
            raise InvalidParameterError("species", f"unknown species {chosen!r}", chosen)
    except InvalidParameterError as exc:
        error, page, chosen = exc, 1, ""
    rows, total = visible_model_runs(
        session, viewer, species=chosen or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    datasets = runnable_datasets(session, viewer) if viewer.may("run") else []
    return render_template(
        "runs/runs.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        species=species, chosen=chosen, datasets=datasets, methods=METHODS, error=error,
    ), (400 if error else 200)  # fmt: skip


def _fold_plot(fold_r: list[float]) -> Markup:
    """Cross-validated r of each fold as dots, with their mean (SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 1.6))
    xs = list(range(1, len(fold_r) + 1))
    ax.axhline(sum(fold_r) / len(fold_r), color="#999", lw=1, ls="--")
    ax.plot(xs, fold_r, "o", color="#2f6f3e")
    ax.set_xticks(xs)
    ax.set_xlabel("fold")
    ax.set_ylabel("r")
    ax.set_ylim(min(-0.1, min(fold_r) - 0.05), max(1.0, max(fold_r) + 0.05))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return Markup(svg[svg.index("<svg") :])


@bp.get("/runs/<id:run_id>")
def show(run_id: int) -> str:
    row = visible_model_run(get_session(), run_id, current_viewer())
    if row is None:
        abort(404, description=f"There is no model run with id {run_id}.")
    traits: list[dict[str, Any]] = []
    for trait, m in sorted((row.run.metrics or {}).items()):
        if not isinstance(m, dict):
            continue
        folds = [float(r) for r in m.get("cv_fold_r") or [] if isinstance(r, int | float)]
        blank = dict.fromkeys(("h2", "cv_mean_r", "cv_sd_r", "n_phenotyped", "n_ranked", "method",
                               "selected_by", "direction", "optimum"))  # fmt: skip
        traits.append({**blank, "cv": {}, **m, "trait": trait,
                       "plot": _fold_plot(folds) if folds else None})  # fmt: skip
    return render_template("runs/run.html", row=row, traits=traits)


def _settings() -> Settings:
    cfg = current_app.config
    return Settings(home=Path(cfg["BREEDHUB_HOME"]),
                    database_url=cfg["DATABASE_URL"], queue_url=cfg.get("QUEUE_URL", ""))  # fmt: skip


@bp.post("/runs/new")
@require("run")
def new() -> ResponseReturnValue:
    from breedhub.pipelines.exceptions import PipelineError
    from breedhub.pipelines.queue import submit_job

    session, viewer = get_session(), current_viewer()
    form = request.form
    datasets = {d.name: d for d, _ in runnable_datasets(session, viewer)}
    name = check_text("dataset", form.get("dataset", ""), max_length=200)
    if name not in datasets:
        raise InvalidParameterError("dataset", "choose one of the genotype datasets listed", name)
    method = form.get("method", "gblup")
    if method not in METHODS:
        raise InvalidParameterError("method", f"one of {', '.join(METHODS)}", method[:40])
    traits = [check_text("trait", t, max_length=100) for t in form.getlist("trait") if t.strip()]
    run_name = check_text("name", form.get("name", ""), max_length=200).strip()
    visibility = form.get("visibility", "public")
    if visibility not in ("public", "restricted"):
        raise InvalidParameterError("visibility", "public or restricted", visibility[:40])
    if visibility == "restricted" and viewer.institute_id is None:
        raise InvalidParameterError("visibility", "you belong to no institute", visibility)
    ds = datasets[name]
    if ds.visibility == "restricted":
        visibility = "restricted"
    try:
        job_id = submit_job(
            get_engine(), _settings(), kind="model_run",
            parameters={"dataset": name, "name": run_name or f"{name} {method}",
                        "method": method, "traits": traits or None, "cv_folds": 5, "seed": 0},
            user_id=viewer.user_id,
            institute_id=ds.institute_id if ds.visibility == "restricted" else viewer.institute_id,
            visibility=visibility,
        )  # fmt: skip
    except PipelineError as exc:
        flash(str(exc))
        return redirect(url_for("runs.runs"))
    flash(f"Model run queued as job {job_id}; a worker (breedhub worker) runs it.")
    return redirect(url_for("jobs.show", job_id=job_id))
