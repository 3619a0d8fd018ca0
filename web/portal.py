"""The ``portal`` blueprint: server-rendered pages for breeders.

Routes
------
``/``
    What breedhub is, a card per species with its number of accessions, a search box.
``/germplasm``
    Germplasm search (parameters: :mod:`web.search`); bad parameters give the
    page back with a message and HTTP 400.
``/germplasm/<id>``
    The accession page: passport, names, pedigree, traits, studies, samples,
    genotype datasets and predictions.

Every page works without JavaScript.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from breedhub.germplasm import accession_detail
from breedhub.germplasm.mcpd import SAMPSTAT, countries
from breedhub.germplasm.models import ObservationVariable, SpeciesRow
from breedhub.germplasm.queries import SORT_KEYS, accession_by_id
from breedhub.germplasm.queries_dashboard import accession_gebvs, pedigree_tree
from breedhub.germplasm.queries_registry import (
    accession_counts_by_species,
    institute_codes,
    list_species,
    list_variables,
    variables_by_name,
)
from breedhub.germplasm.queries_traits import trait_mean_ranges
from breedhub.web.auth import current_viewer
from breedhub.web.cache import cached
from breedhub.web.charts import TraitPosition, trait_position_svg
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.i18n import translate
from breedhub.web.passport import passport_sections
from breedhub.web.pedigree_svg import pedigree_rows, pedigree_svg
from breedhub.web.search import DEFAULT_PAGE_SIZE, PARAMETERS, run_search

bp = Blueprint("portal", __name__)

SORT_LABELS = {
    "accenumb": "Accession number",
    "name": "Name",
    "species": "Species",
    "institute": "Institute",
    "origin": "Origin",
    "sampstat": "Biological status",
    "acqdate": "Acquisition date",
}
assert set(SORT_LABELS) == set(SORT_KEYS)
PAGE_SIZES = (10, 25, 50, 100)
PARAMETER_LABELS = {
    "q": "Name, number or synonym",
    "species": "Species",
    "institute": "Institute",
    "origin": "Country of origin",
    "sampstat": "Biological status",
    "genotyped": "Genotyped",
    "trait": "Trait",
    "min": "Trait minimum",
    "max": "Trait maximum",
    "sort": "Sort by",
    "desc": "Descending",
    "page": "Page",
    "page_size": "Per page",
    "query": "Search",
}


@bp.app_template_filter("num")
def format_number(value: float | int | None, digits: int = 4) -> str:
    """Numbers for tables: ``None`` as an en dash, floats to ``digits`` significant digits."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


@lru_cache(maxsize=256)
def _options_html(pairs: tuple[tuple[str, str], ...]) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in pairs)


def select_options(pairs: tuple[tuple[str, str], ...], current: str) -> Markup:
    """``<option>`` elements for ``(value, label)`` pairs, ``current`` selected.

    The search form's long lists (250 countries, every trait) were a third of
    the search page's time when rendered option by option in Jinja; their
    HTML is built once per list and only the selected mark is set per request.
    """
    html = _options_html(pairs)
    if current:
        needle = f'<option value="{escape(current)}">'
        html = html.replace(needle, needle[:-1] + " selected>", 1)
    return Markup(html)


@lru_cache(maxsize=8)
def _datalist_html(values: tuple[str, ...]) -> Markup:
    return Markup("".join(f'<option value="{escape(v)}">' for v in values))


@lru_cache(maxsize=1)
def _country_pairs() -> tuple[tuple[str, str], ...]:
    return tuple(
        (code, f"{name} ({code})")
        for code, name in sorted(countries().items(), key=lambda kv: kv[1])
    )


def _detached(rows: list[Any]) -> list[Any]:
    """Rows safe to keep past their session (cached): loaded, then expunged."""
    session = get_session()
    for row in rows:
        session.expunge(row)
    return rows


def _species_rows() -> list[SpeciesRow]:
    session = get_session()
    return cached(("species",), lambda: _detached(list_species(session)))


@bp.route("/")
def home() -> str:
    session = get_session()
    species = _species_rows()
    counts = accession_counts_by_species(session)
    cards = [{"species": s, "count": counts.get(s.id, 0)} for s in species]
    return render_template(
        "portal/home.html", cards=cards, total=sum(counts.values()), n_species=len(species)
    )


def _page_url(args: dict[str, str], page: int) -> str:
    kept = {k: v for k, v in args.items() if k in PARAMETERS and k != "page" and v != ""}
    if page > 1:
        kept["page"] = str(page)
    return url_for("portal.search") + ("?" + urlencode(kept) if kept else "")


def _page_window(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers to link: first, last, and ``width`` around the current (None: a gap)."""
    wanted = {1, pages, *range(page - width, page + width + 1)}
    shown = sorted(p for p in wanted if 1 <= p <= pages)
    out: list[int | None] = []
    for p in shown:
        if out and p - (out[-1] or 0) > 1:
            out.append(None)
        out.append(p)
    return out


@bp.route("/germplasm")
def search() -> tuple[str, int]:
    session = get_session()
    species = _species_rows()
    args = {k: request.args.get(k, "").strip() for k in PARAMETERS}
    chosen = next((s for s in species if s.key == args["species"]), None)
    chosen_id = chosen.id if chosen is not None else None
    variables = cached(
        ("variables", chosen_id),
        lambda: _detached(list_variables(session, species_row_id=chosen_id)),
    )
    by_species = {s.id: s for s in species}
    variable_groups: dict[str, list[ObservationVariable]] = {}
    for v in variables:
        sp = by_species.get(v.species_id) if v.species_id is not None else None
        variable_groups.setdefault(sp.common_name_en if sp else "Other", []).append(v)
    institutes = cached(("institute_codes",), lambda: institute_codes(session))

    error: InvalidParameterError | None = None
    page = query = None
    try:
        query, page = run_search(session, request.args, species_keys={s.key for s in species})
    except InvalidParameterError as exc:
        error = exc
    status = 400 if error else 200

    pages: list[int | None] = []
    trait_var = None
    if page is not None and query is not None:
        pages = _page_window(page.page, page.pages)
        if query.traits:
            name = query.traits[0].variable
            trait_var = variables_by_name(session, [name]).get(name)
    return render_template(
        "portal/search.html",
        args=args,
        error=error,
        query=query,
        page=page,
        pages=pages,
        page_url=lambda n: _page_url(args, n),
        species=species,
        variable_groups=variable_groups,
        trait_var=trait_var,
        institutes=institutes,
        countries=countries(),
        country_options=_country_pairs(),
        variable_options={
            group: tuple(
                (v.name, f"{v.trait}{f' ({v.unit})' if v.unit else ''} · {v.name}") for v in vars_
            )
            for group, vars_ in variable_groups.items()
        },
        select_options=select_options,
        institute_datalist=_datalist_html(tuple(institutes)),
        sampstat=SAMPSTAT,
        sort_labels=SORT_LABELS,
        parameter_labels=PARAMETER_LABELS,
        page_sizes=PAGE_SIZES,
        default_page_size=DEFAULT_PAGE_SIZE,
    ), status


def _trait_positions(
    session: Session, accession_id: int, traits: list[dict[str, Any]]
) -> list[TraitPosition]:
    """This accession's trait means placed in the range of accession means of the same variable."""
    names = [t["variable"] for t in traits if t["mean"] is not None]
    if not names:
        return []
    stats = trait_mean_ranges(session, names)
    out = []
    for t in traits:
        s = stats.get(t["variable"])
        if t["mean"] is None or s is None:
            continue
        lo, hi, avg, n = s
        if lo is None or hi is None or avg is None:
            continue
        out.append(
            TraitPosition(
                t["variable"], t["unit"], float(t["mean"]), float(lo), float(hi), float(avg), n
            )
        )
    return out


@bp.route("/germplasm/<id:accession_id>")
def accession(accession_id: int) -> str:
    session, viewer = get_session(), current_viewer()
    acc = accession_by_id(session, accession_id)
    if acc is None:
        abort(404, description=f"There is no accession with id {accession_id}.")
    detail = accession_detail(session, accession_id, viewer=viewer)
    chart = trait_position_svg(_trait_positions(session, accession_id, detail["traits"]))
    # four generations of ancestors, one of progeny, at most 60 accessions drawn
    tree = pedigree_tree(session, accession_id, generations=4, progeny_generations=1, max_nodes=60)
    drawing = None
    if tree.edges or len(tree.nodes) > 1:
        drawing = pedigree_svg(
            tree,
            link=lambda i: url_for("portal.accession", accession_id=i),
            unknown=translate("unknown"),
        )
    return render_template(
        "portal/accession.html",
        a=detail,
        institute=acc.institute,
        species=acc.species_row,
        sections=passport_sections(detail["passport"]),
        chart=chart,
        tree=tree,
        pedigree_drawing=drawing,
        pedigree_table=pedigree_rows(tree) if drawing is None else [],
        gebv_runs=accession_gebvs(session, accession_id, viewer),
    )
