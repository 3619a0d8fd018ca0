"""The ``predictions`` blueprint: the ranking of a model run's candidates, and selection indexes.

Routes
------
``GET /predictions`` (``predictions.ranking``)
    One trait of one model run, candidates best first in the trait's breeding
    direction, with filters, paging and CSV/XLSX export. Parameters:

    =============  ===============================================================
    ``species``    species key (``rice``); none and no ``run``: the species and
                   their model runs
    ``run``        model run id (default: the species' newest run the viewer sees)
    ``trait``      variable name (default: the run's first trait)
    ``institute``  holding institute's WIEWS code
    ``genotyped``  ``yes``, ``no`` or empty
    ``trial``      trial id or name: candidates observed in it (visible trials only)
    ``group``      a parent's accession number, name or synonym: its progeny
    ``page``       1 to 1,000,000,000
    ``page_size``  1 to 100 (anonymous) or 500 (logged in); default 25
    ``format``     ``html`` (default), ``csv`` or ``xlsx``: every matching row
    =============  ===============================================================

``/predictions/index...``
    The selection index over several traits of a run: :mod:`web.predictions_index`.

A restricted run of another institute is a 404, as an unknown one is; bad
parameters are a 400 naming the parameter.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from breedhub.germplasm.access import Viewer
from breedhub.germplasm.models import ModelRun, ObservationVariable, SpeciesRow
from breedhub.germplasm.queries_predictions import (
    RankingFilters,
    RankingRow,
    count_predictions,
    find_visible_trial,
    iter_ranking,
    owned_lists,
    parent_ids_named,
    ranking_page,
    run_traits,
    visible_run,
    visible_runs,
    visible_trials,
)
from breedhub.germplasm.queries_registry import institute_codes, list_species
from breedhub.web.auth import current_viewer
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.search import FALSE, MAX_PAGE, TRUE, check_text

bp = Blueprint("predictions", __name__)

DEFAULT_PAGE_SIZE = 25
#: The largest page for a visitor without an account, and for a logged-in user.
MAX_PAGE_SIZE_ANONYMOUS = 100
MAX_PAGE_SIZE_USER = 500
PAGE_SIZES = (25, 50, 100, 250, 500)
FORMATS = ("html", "csv", "xlsx")
RANKING_PARAMETERS = (
    "species", "run", "trait", "institute", "genotyped", "trial", "group", "page_size",
)  # fmt: skip
_INT = re.compile(r"\+?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


# --- parameters ----------------------------------------------------------------------------


def text_param(args: Mapping[str, str], name: str, *, max_length: int = 200) -> str:
    """The parameter ``name`` stripped, or ``""``; 400 for control characters or length."""
    return check_text(name, (args.get(name) or "").strip(), max_length=max_length)


def int_value(name: str, raw: str, *, low: int, high: int) -> int:
    """``raw`` as a whole number in [low, high] (ASCII digits only), else a 400 naming ``name``."""
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    if _INT.fullmatch(raw) is None:
        raise InvalidParameterError(name, f"must be a whole number (digits 0-9), not {shown!r}")
    if len(raw) > 12 or not low <= int(raw) <= high:
        raise InvalidParameterError(name, f"must be between {low:,} and {high:,}, not {shown}")
    return int(raw)


def float_value(name: str, raw: str, *, low: float, high: float) -> float:
    """``raw`` as a finite number in [low, high], else a 400 naming ``name``."""
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    if _FLOAT.fullmatch(raw) is None:
        raise InvalidParameterError(name, f"must be a number such as 1.5, not {shown!r}")
    value = float(raw)
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidParameterError(name, f"must be between {low:g} and {high:g}, not {shown}")
    return value


def paging(args: Mapping[str, str], viewer: Viewer) -> tuple[int, int]:
    """``page`` and ``page_size``; the size is capped lower for anonymous visitors."""
    cap = MAX_PAGE_SIZE_USER if viewer.authenticated else MAX_PAGE_SIZE_ANONYMOUS
    raw_page, raw_size = text_param(args, "page"), text_param(args, "page_size")
    page = int_value("page", raw_page, low=1, high=MAX_PAGE) if raw_page else 1
    size = int_value("page_size", raw_size, low=1, high=cap) if raw_size else DEFAULT_PAGE_SIZE
    return page, size


def output_format(args: Mapping[str, str]) -> str:
    """``format``: html (default), csv or xlsx."""
    fmt = text_param(args, "format").lower() or "html"
    if fmt not in FORMATS:
        raise InvalidParameterError("format", f"must be html, csv or xlsx, not {fmt!r}", fmt)
    return fmt


def chosen_species(args: Mapping[str, str], species: Sequence[SpeciesRow]) -> SpeciesRow | None:
    """The species named by ``species`` (None when empty); 400 for an unknown key."""
    key = text_param(args, "species").lower()
    if not key:
        return None
    found = next((s for s in species if s.key == key), None)
    if found is None:
        known = ", ".join(s.key for s in species)
        raise InvalidParameterError("species", f"unknown species {key!r} (known: {known})", key)
    return found


def chosen_run(
    args: Mapping[str, str], viewer: Viewer, species: SpeciesRow | None
) -> ModelRun | None:
    """The run of ``run`` (404 if unknown or not visible), else the species' newest visible run.

    A run of another species than ``species`` (a form whose species was just
    changed) gives way to that species' newest run.
    """
    session = get_session()
    raw = text_param(args, "run")
    if raw:
        run_id = int_value("run", raw, low=1, high=2**31 - 1)
        run = visible_run(session, run_id, viewer)
        if run is None:
            abort(404, description=f"There is no model run with id {run_id}.")
        if species is None or run.species_id == species.id:
            return run
    if species is None:
        return None
    runs = visible_runs(session, viewer, species_id=species.id, limit=1)
    return runs[0] if runs else None


def chosen_trait(
    args: Mapping[str, str], traits: Sequence[ObservationVariable]
) -> ObservationVariable | None:
    """The run's trait named by ``trait`` (default: its first); 400 for another name."""
    name = text_param(args, "trait")
    if not name:
        return traits[0] if traits else None
    found = next((v for v in traits if v.name == name), None)
    if found is None:
        known = ", ".join(v.name for v in traits) or "none"
        raise InvalidParameterError("trait", f"this run has no trait {name!r} (it has: {known})")
    return found


def ranking_filters(
    args: Mapping[str, str], viewer: Viewer, species_id: int
) -> tuple[RankingFilters, dict[str, str]]:
    """The filters of ``args`` and a label for each one set (for the page and the export)."""
    labels: dict[str, str] = {}
    institute = text_param(args, "institute").upper() or None
    if institute:
        labels["institute"] = institute
    raw = text_param(args, "genotyped").lower()
    genotyped: bool | None = None
    if raw in TRUE or raw in FALSE:
        genotyped = raw in TRUE
        labels["genotyped"] = "yes" if genotyped else "no"
    elif raw not in ("", "any"):
        raise InvalidParameterError("genotyped", f"must be yes, no or empty, not {raw!r}", raw)
    trial_id = None
    ref = text_param(args, "trial")
    if ref:
        key: str | int = int(ref) if _INT.fullmatch(ref) and len(ref) <= 10 else ref
        trial = find_visible_trial(get_session(), key, viewer, species_id)
        if trial is None:
            raise InvalidParameterError("trial", f"no trial {ref!r} of this species", ref)
        trial_id, labels["trial"] = trial.id, trial.name
    parents = None
    group = text_param(args, "group")
    if group:
        parents = tuple(parent_ids_named(get_session(), group, species_id))
        if not parents:
            raise InvalidParameterError(
                "group", f"no accession of this species is numbered or named {group!r}", group
            )
        labels["group"] = f"progeny of {group}"
    return RankingFilters(institute, genotyped, trial_id, parents), labels


# --- goals and exports ---------------------------------------------------------------------


def trait_goal(run: ModelRun, var: ObservationVariable) -> dict[str, Any]:
    """The breeding goal the run ranked ``var`` by: direction, optimum, baseline mean, N."""
    m = (run.metrics or {}).get(var.name) or {}
    direction = m.get("direction") or var.direction or "higher"
    optimum = m.get("optimum", var.optimum)
    if direction == "optimum":
        text = f"optimum {optimum:g}{' ' + var.unit if var.unit else ''}"
        if optimum is None:
            text = "nearest the optimum"
    else:
        text = f"{direction} is better"
    return {
        "direction": direction,
        "optimum": optimum,
        "text": text,
        "phenotype_mean": m.get("phenotype_mean"),
        "n_ranked": m.get("n_ranked"),
    }


def safe_filename(*parts: str) -> str:
    """A download name of ASCII letters, digits, dots, dashes and underscores."""
    name = "_".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-") for p in parts if p)
    return name[:150] or "export"


def csv_response(
    filename: str, comments: Sequence[str], header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Response:
    """A streamed CSV download: ``# comment`` lines, the header, then ``rows``."""

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for c in comments:  # one line each, as is (csv would quote a comma)
            buf.write("# " + " ".join(c.splitlines()) + "\n")
        writer.writerow(header)
        for n, row in enumerate(rows, start=1):
            writer.writerow(["" if v is None else v for v in row])
            if n % 500 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def xlsx_response(
    filename: str, comments: Sequence[str], header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Response:
    """An Excel workbook download: the comments, a blank row, the header, then ``rows``."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("ranking")
    bold = book.add_format({"bold": True})
    r = 0
    for c in comments:
        sheet.write_string(r, 0, c)
        r += 1
    r += 1
    for j, h in enumerate(header):
        sheet.write_string(r, j, h, bold)
    for row in rows:
        r += 1
        for j, v in enumerate(row):
            if isinstance(v, bool):
                sheet.write_boolean(r, j, v)
            elif isinstance(v, (int, float)) and math.isfinite(v):
                sheet.write_number(r, j, v)
            elif v is not None:
                sheet.write_string(r, j, str(v))
    book.close()
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


def _export_rows(
    rows: Iterable[RankingRow], of_n: int, goal: dict[str, Any]
) -> Iterator[list[Any]]:
    mean = goal["phenotype_mean"] if goal["direction"] == "optimum" else None
    for r in rows:
        row: list[Any] = [r.rank, of_n, r.accession_id, r.accenumb, r.name, r.institute, r.gebv,
                          r.reliability, "yes" if r.genotyped else "no"]  # fmt: skip
        if goal["direction"] == "optimum":
            row.append(None if mean is None else mean + r.gebv)
        yield row


def _export(
    fmt: str, run: ModelRun, var: ObservationVariable, filters: RankingFilters,
    labels: dict[str, str], goal: dict[str, Any], of_n: int,
) -> Response:  # fmt: skip
    header = ["rank", "of_n", "accession_id", "accession_number", "name", "institute", "gebv",
              "reliability", "genotyped"]  # fmt: skip
    if goal["direction"] == "optimum":
        header.append("predicted_value")
    comments = [
        f"model run: {run.name} (id {run.id}, {run.method})",
        f"trait: {var.name}{f' ({var.unit})' if var.unit else ''}",
        f"direction: {goal['text']}",
    ]
    comments += [f"filter {k}: {v}" for k, v in labels.items()]
    rows = _export_rows(iter_ranking(get_session(), run.id, var.id, filters), of_n, goal)
    name = safe_filename("ranking", run.name, var.name)
    writer = csv_response if fmt == "csv" else xlsx_response
    return writer(name, comments, header, rows)


# --- the page ------------------------------------------------------------------------------


def _page_url(args: Mapping[str, str], page: int, **extra: str) -> str:
    kept = {k: args.get(k, "").strip() for k in RANKING_PARAMETERS}
    kept = {k: v for k, v in kept.items() if v}
    if page > 1:
        kept["page"] = str(page)
    kept.update(extra)
    return url_for("predictions.ranking") + ("?" + urlencode(kept) if kept else "")


def _species_overview(viewer: Viewer, species: Sequence[SpeciesRow]) -> list[dict[str, Any]]:
    runs = visible_runs(get_session(), viewer)
    by_species: dict[int, list[ModelRun]] = {}
    for run in runs:
        by_species.setdefault(run.species_id, []).append(run)
    return [{"species": s, "runs": by_species.get(s.id, [])} for s in species]


def add_to_list_form(viewer: Viewer) -> dict[str, Any] | None:
    """What the "add ticked to a selection list" form needs, or None when it cannot be shown."""
    if not viewer.authenticated or "lists.add_items" not in current_app.view_functions:
        return None
    assert viewer.user_id is not None
    lists = owned_lists(get_session(), viewer.user_id)
    return {"action": url_for("lists.add_items"), "lists": lists, "next": request.full_path}


@bp.get("/predictions")
def ranking() -> ResponseReturnValue:
    args = request.args
    viewer = current_viewer()
    session = get_session()
    all_species = list_species(session)
    fmt = output_format(args)
    page, page_size = paging(args, viewer)
    species = chosen_species(args, all_species)
    run = chosen_run(args, viewer, species)
    if run is None:
        if fmt != "html":
            raise InvalidParameterError("run", "choose a model run to export its ranking")
        overview = _species_overview(viewer, all_species if species is None else [species])
        return render_template(
            "predictions/choose.html", overview=overview, species=species, all_species=all_species
        )
    species = next(s for s in all_species if s.id == run.species_id)
    traits = run_traits(session, run.id)
    var = chosen_trait(args, traits)
    filters, labels = ranking_filters(args, viewer, species.id)
    context: dict[str, Any] = {
        "args": {k: args.get(k, "").strip() for k in (*RANKING_PARAMETERS, "page")},
        "all_species": all_species,
        "species": species,
        "runs": visible_runs(session, viewer, species_id=species.id),
        "run": run,
        "traits": traits,
        "var": var,
        "labels": labels,
        "trial_selected": str(filters.trial_id or ""),
        "institutes": institute_codes(session),
        "trials": visible_trials(session, viewer, species.id),
        "page_sizes": PAGE_SIZES,
        "max_page_size": MAX_PAGE_SIZE_USER if viewer.authenticated else MAX_PAGE_SIZE_ANONYMOUS,
        "page_url": lambda n: _page_url(args, n),
        "export_url": lambda f: _page_url(args, 1, format=f),
    }
    if var is None:
        if fmt != "html":
            raise InvalidParameterError("run", "this model run has no predictions to export")
        return render_template("predictions/ranking.html", result=None, **context)
    goal = trait_goal(run, var)
    of_n = int(goal["n_ranked"] or count_predictions(session, run.id, var.id))
    if fmt != "html":
        return _export(fmt, run, var, filters, labels, goal, of_n)
    result = ranking_page(session, run.id, var.id, filters, page=page, page_size=page_size)
    chosen = {"species": species.key, "run": str(run.id), "trait": var.name}
    context["page_url"] = lambda n: _page_url(args, n, **chosen)
    context["export_url"] = lambda f: _page_url(args, 1, **chosen, format=f)
    return render_template(
        "predictions/ranking.html",
        result=result,
        goal=goal,
        of_n=of_n,
        pages=page_window(result.page, result.pages),
        add_form=add_to_list_form(viewer),
        **context,
    )


def page_window(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers to link: first, last, and ``width`` around the current (None: a gap)."""
    wanted = {1, pages, *range(page - width, page + width + 1)}
    out: list[int | None] = []
    for p in sorted(p for p in wanted if 1 <= p <= pages):
        if out and p - (out[-1] or 0) > 1:
            out.append(None)
        out.append(p)
    return out


from breedhub.web import predictions_index  # noqa: E402,F401  (its routes, on this blueprint)
