"""The ``dashboard`` blueprint: each species at a glance.

Routes
------
``GET /species`` (``dashboard.overview``)
    Every species (by name in the visitor's language) with its accessions,
    genotyped accessions, and the trials, genotype datasets and model runs the
    viewer may see; links to each dashboard.
``GET /species/<key>`` (``dashboard.species``)
    One species (unknown key: 404): counts (accessions by institute and by
    biological status, genotyped, phenotyped, visible trials, genotype
    datasets and model runs); a PCA of the genotyped accessions of its
    largest visible genotype dataset, coloured by ``group`` (``sampstat``,
    ``institute`` or ``subtaxa``; default ``sampstat``); histograms of the
    accession means of each trait; the latest visible model runs and their
    cross-validated accuracy per trait. Charts are server-rendered SVG.

The PCA reads a sample of the store (:func:`breedhub.pipelines.pca.dataset_pca`,
cached per dataset and file version); a missing or unreadable store gives a
message on the page, never an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from breedhub.base.errors import BreedhubError
from breedhub.germplasm.mcpd import SAMPSTAT
from breedhub.germplasm.model_runs import visible_model_runs
from breedhub.germplasm.models import GenotypeDataset
from breedhub.germplasm.queries_dashboard import (
    dataset_sample_info,
    largest_visible_dataset,
    species_by_key,
    species_counts,
    species_summaries,
    trait_histograms,
)
from breedhub.germplasm.queries_registry import list_species
from breedhub.pipelines.pca import dataset_pca
from breedhub.web.auth import current_viewer
from breedhub.web.cache import cached
from breedhub.web.charts import PcaPoint, accuracy_svg, histogram_svg, pca_svg
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.i18n import species_name, trait_name, translate

bp = Blueprint("dashboard", __name__)

#: Ways to colour the PCA (the ``group`` parameter).
GROUPS = ("sampstat", "institute", "subtaxa")
#: Latest model runs shown.
N_RUNS = 5
MAX_PCA_SAMPLES, MAX_PCA_VARIANTS = 2000, 5000


def _audience(viewer: Any) -> tuple[bool, int | None]:
    """What the counts depend on: admins see everything, others their institute's records."""
    return (viewer.is_admin, viewer.institute_id)


def _histograms(species_id: int) -> list[Any]:
    """The species' trait histograms, detached from the session so they may be cached."""
    session = get_session()
    out = trait_histograms(session, species_id)
    for h in out:
        session.expunge(h.variable)
    return out


@bp.get("/species")
def overview() -> str:
    session, viewer = get_session(), current_viewer()
    rows = cached(
        ("dashboard.summaries", _audience(viewer)),
        lambda: [{**r, "species": r["species"].id} for r in species_summaries(session, viewer)],
    )
    species = {s.id: s for s in list_species(session)}
    rows = [{**r, "species": species[r["species"]]} for r in rows if r["species"] in species]
    rows.sort(key=lambda r: species_name(r["species"]))
    return render_template("dashboard/overview.html", rows=rows)


def _store_path(ds: GenotypeDataset) -> Path:
    """A dataset's store: its path as recorded, relative ones under the data directory."""
    path = Path(ds.path)
    return path if path.is_absolute() else Path(current_app.config["BREEDHUB_HOME"]) / path


def _group_label(info: Any, by: str) -> str:
    if info is None:
        return "not registered"
    if by == "institute":
        return str(info.institute)
    if by == "subtaxa":
        return info.subtaxa or translate("Not recorded")
    if info.sampstat is None:
        return translate("Not recorded")
    return f"{info.sampstat} {SAMPSTAT.get(info.sampstat, '')}".strip()


def _pca(ds: GenotypeDataset, by: str) -> dict[str, Any]:
    """The PCA figure of a dataset, or the message that says why there is none."""
    path = _store_path(ds)
    out: dict[str, Any] = {
        "dataset": ds, "chart": None, "message": None, "result": None, "has_subtaxa": False,
    }  # fmt: skip
    if not path.is_file():
        out["message"] = (
            f"The genotype store of dataset {ds.name} is not on this server, so its principal "
            "components cannot be drawn."
        )
        return out
    try:
        result = dataset_pca(
            ds.id, path, max_samples=MAX_PCA_SAMPLES, max_variants=MAX_PCA_VARIANTS
        )
    except (BreedhubError, ValueError, OSError) as exc:
        current_app.logger.warning("PCA of dataset %s failed: %s", ds.name, exc)
        out["message"] = f"The principal components of dataset {ds.name} cannot be drawn: {exc}"
        return out
    info = dataset_sample_info(get_session(), ds.id)
    coords, ratio = result.coords, result.explained_variance_ratio
    ys = coords[:, 1] if coords.shape[1] > 1 else [0.0] * len(coords)
    points = []
    for x, y, sample in zip(coords[:, 0], ys, result.sample_id, strict=True):
        i = info.get(sample)
        label = f"{i.accenumb} {i.name}".strip() if i else sample
        group = _group_label(i, by)
        points.append(PcaPoint(float(x), float(y), group, f"{label} · {group}"))
    explained = (float(ratio[0]), float(ratio[1]) if len(ratio) > 1 else 0.0)
    out["chart"] = pca_svg(points, explained=explained)
    out["result"] = result
    out["has_subtaxa"] = any(i.subtaxa for i in info.values())
    return out


@bp.get("/species/<key>")
def species(key: str) -> tuple[str, int]:
    session, viewer = get_session(), current_viewer()
    if len(key) > 64 or not key.isascii() or not key.isprintable():
        abort(404, description="There is no species with this key.")
    sp = species_by_key(session, key)
    if sp is None:
        abort(404, description=f"There is no species with key {key!r}.")
    by = request.args.get("group", "") or "sampstat"
    if by not in GROUPS:
        raise InvalidParameterError("group", f"one of {', '.join(GROUPS)}", by[:40])
    # counts and histograms are kept a minute per worker (web.cache), as the search's dropdowns
    counts = cached(
        ("dashboard.counts", sp.id, _audience(viewer)),
        lambda: species_counts(session, sp.id, viewer),
    )
    ds = largest_visible_dataset(session, sp.id, viewer)
    pca = _pca(ds, by) if ds is not None else None
    histograms = [
        {
            "h": h,
            "chart": histogram_svg(
                h.edges,
                h.counts,
                mean=h.mean,
                unit=h.variable.unit,
                label=f"{trait_name(h.variable)}: {translate('Accession means')}",
            ),
        }  # fmt: skip
        for h in cached(("dashboard.histograms", sp.id), lambda: _histograms(sp.id))
    ]
    runs, n_runs = visible_model_runs(session, viewer, species=sp.key, limit=N_RUNS)
    accuracy = [
        (f"{r.run.name} (#{r.run.id})", {
            t: float(m["cv_mean_r"]) for t, m in (r.run.metrics or {}).items()
            if isinstance(m, dict) and isinstance(m.get("cv_mean_r"), int | float)
            and not isinstance(m.get("cv_mean_r"), bool)
        })
        for r in runs
    ]  # fmt: skip
    accuracy = [(name, rs) for name, rs in accuracy if rs]
    labels = {t: trait_name(t) for _, rs in accuracy for t in rs}
    return render_template(
        "dashboard/species.html", sp=sp, counts=counts, pca=pca, group=by, groups=GROUPS,
        histograms=histograms, runs=runs, n_runs=n_runs,
        accuracy_chart=accuracy_svg(accuracy, trait_labels=labels) if accuracy else None,
        sampstat=SAMPSTAT,
    ), 200  # fmt: skip
