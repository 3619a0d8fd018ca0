"""The ``lists`` blueprint: breeders' selection lists, compared side by side and exported.

Routes
------
``GET /lists`` (``lists.lists``)
    The viewer's lists, their institute's and the public ones; a form to create one.
``POST /lists/new`` (``lists.create``)
    ``name``, ``description``, ``visibility`` (``public`` or ``restricted``).
``POST /lists/add`` (``lists.add_items``)
    What other pages post their ticked rows to: ``accession`` (repeated ids),
    ``list_id`` (a list the viewer owns) or ``name`` (a new list, or the
    viewer's list of that name), ``next`` (a local path to go back to).
    Duplicates are ignored; an unknown id is a 400 naming it, and then
    nothing is added.
``GET /lists/<id>`` (``lists.show``)
    The candidates side by side: passport basics, parents, trait means, the
    latest visible GEBVs, and their kinship: the genomic relationship
    (VanRaden 2008, the dataset's ploidy) when one visible genotype dataset
    holds them all, else the pedigree relationship A.
``GET /lists/<id>/export?format=csv|xlsx`` (``lists.export``)
``POST /lists/<id>/remove`` (``lists.remove_items``), ``/edit`` (``lists.edit``:
``name``, ``description``, ``visibility``), ``/delete`` (``lists.delete``)
    The owner or an admin only (403 for others who see the list).

Writes need an account (``keep_lists``); a restricted list of another
institute is a 404, as an unknown one is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from breedhub.base.errors import BreedhubError
from breedhub.germplasm import selection_lists as sl
from breedhub.germplasm.access import Viewer
from breedhub.germplasm.exceptions import DuplicateError
from breedhub.germplasm.models import SelectionList
from breedhub.germplasm.queries import MAX_ID
from breedhub.pipelines.crossing import (
    genomic_kinship,
    parent_dosages,
    pedigree_kinship,
    store_view,
)
from breedhub.web.auth import current_viewer, require
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.predictions import csv_response, int_value, safe_filename, xlsx_response
from breedhub.web.search import check_text

bp = Blueprint("lists", __name__)

#: The most accessions one request may add or remove.
MAX_ITEMS = 5000
#: The most candidates whose kinship matrix is computed and shown.
MAX_KINSHIP = 200
VISIBILITIES = ("restricted", "public")


# --- parameters ----------------------------------------------------------------------------


def _text(form: MultiDict[str, str], name: str, *, max_length: int = 200) -> str:
    return check_text(name, (form.get(name) or "").strip(), max_length=max_length)


def _description(form: MultiDict[str, str]) -> str:
    raw = (form.get("description") or "").strip()
    # newlines are fine in a description; other control characters are not
    return check_text("description", raw.replace("\r\n", " ").replace("\n", " "), max_length=2000)


def _visibility(form: MultiDict[str, str], default: str | None) -> str | None:
    raw = _text(form, "visibility").lower()
    if not raw:
        return default
    if raw not in VISIBILITIES:
        raise InvalidParameterError(
            "visibility", f"must be public or restricted, not {raw[:40]!r}", raw[:40]
        )
    return raw


def accession_ids(form: MultiDict[str, str], name: str = "accession") -> list[int]:
    """The repeated id parameter ``name``, each once in order; 400 for a bad one."""
    raw = [check_text(name, v.strip(), max_length=20) for v in form.getlist(name)]
    raw = [v for v in raw if v]
    if len(raw) > MAX_ITEMS:
        raise InvalidParameterError(name, f"at most {MAX_ITEMS} at a time, not {len(raw)}")
    return list(dict.fromkeys(int_value(name, v, low=1, high=MAX_ID) for v in raw))


def _local_next(form: MultiDict[str, str]) -> str | None:
    """``next`` if it is a path on this site, else None (never another host)."""
    target = (form.get("next") or "").strip()
    if not target or len(target) > 2000 or not target.isprintable():
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _list_or_404(list_id: int, viewer: Viewer) -> SelectionList:
    row = sl.visible_list(get_session(), list_id, viewer)
    if row is None:
        abort(404, description=f"There is no selection list {list_id}.")
    return row


def _owned_or_403(list_id: int, viewer: Viewer) -> SelectionList:
    row = _list_or_404(list_id, viewer)
    if not viewer.owns(row):
        abort(403, description="Only the owner of this list (or an admin) may change it.")
    return row


# --- the lists -----------------------------------------------------------------------------


@bp.get("/lists")
def lists() -> ResponseReturnValue:
    viewer = current_viewer()
    rows = sl.visible_lists(get_session(), viewer)
    return render_template(
        "lists/lists.html", rows=rows, viewer=viewer, may_keep=viewer.may("keep_lists")
    )


@bp.post("/lists/new")
@require("keep_lists")
def create() -> ResponseReturnValue:
    viewer = current_viewer()
    form = request.form
    name = _text(form, "name")
    if not name:
        raise InvalidParameterError("name", "give the new list a name")
    description = _description(form)
    visibility = _visibility(form, "restricted")
    assert visibility is not None
    session = get_session()
    try:
        row = sl.create_list(
            session, name=name, description=description, owner_id=viewer.user_id,
            institute_id=viewer.institute_id, visibility=visibility,
        )  # fmt: skip
    except DuplicateError as exc:
        raise InvalidParameterError("name", str(exc), name[:40]) from None
    session.commit()
    flash(f"List “{row.name}” created.")
    return redirect(url_for("lists.show", list_id=row.id))


@bp.post("/lists/add")
@require("keep_lists")
def add_items() -> ResponseReturnValue:
    viewer = current_viewer()
    assert viewer.user_id is not None
    form = request.form
    ids = accession_ids(form)
    raw_list = _text(form, "list_id", max_length=20)
    name = _text(form, "name")
    if not ids:
        raise InvalidParameterError("accession", "tick at least one candidate to add")
    session = get_session()
    unknown = sorted(set(ids) - sl.existing_accession_ids(session, ids))
    if unknown:
        shown = ", ".join(map(str, unknown[:20])) + (" …" if len(unknown) > 20 else "")
        raise InvalidParameterError("accession", f"no accessions with ids {shown}")
    if raw_list:
        row = _owned_or_403(int_value("list_id", raw_list, low=1, high=MAX_ID), viewer)
    elif name:
        found = sl.owned_list_named(session, viewer.user_id, name)
        if found is None:
            found = sl.create_list(
                session, name=name, owner_id=viewer.user_id, institute_id=viewer.institute_id,
                visibility="restricted",
            )  # fmt: skip
        row = found
    else:
        raise InvalidParameterError("list_id", "choose one of your lists, or name a new one")
    added = sl.add_list_items(session, row.id, ids)
    session.commit()
    already = len(ids) - len(added)
    flash(
        f"Added {len(added)} to “{row.name}”" + (f" ({already} already there)." if already else ".")
    )
    return redirect(_local_next(form) or url_for("lists.show", list_id=row.id))


# --- one list ------------------------------------------------------------------------------


def _kinship(items: Sequence[dict[str, Any]], viewer: Viewer) -> dict[str, Any]:
    """The candidates' kinship: genomic when one visible dataset holds them all, else pedigree."""
    from breedhub.web.crosses import resolve_store

    ids = [it["id"] for it in items]
    out: dict[str, Any] = {"matrix": None, "method": "", "note": ""}
    if len(ids) > MAX_KINSHIP:
        out["note"] = f"Kinship is shown for lists of up to {MAX_KINSHIP} candidates."
        return out
    if not ids:
        return out
    session = get_session()
    found = sl.common_genotype_dataset(session, ids, viewer)
    if found is not None:
        ds, samples = found
        try:
            view = store_view(resolve_store(ds.path))
            X = parent_dosages(view, [samples[a] for a in ids])
            out["matrix"] = genomic_kinship(X, view.centre, ploidy=view.ploidy)
            out["method"] = (
                f"genomic relationship G (VanRaden 2008) from genotype dataset {ds.name}, "
                f"ploidy {view.ploidy}, centred on the dataset's allele frequencies"
            )
            return out
        except BreedhubError as exc:
            out["note"] = f"The genotypes of dataset {ds.name} could not be used ({exc}); "
    ploidies = {it["ploidy"] for it in items}
    if len({it["species"] for it in items}) > 1 or len(ploidies) > 1:
        out["note"] += "no kinship across species or ploidies."
        return out
    ploidy = int(ploidies.pop())
    try:
        rows = sl.pedigree_ancestry(session, ids)
        out["matrix"] = pedigree_kinship(rows, ids, ploidy=ploidy)
    except (BreedhubError, ValueError) as exc:
        out["note"] += f"no pedigree relationship either ({exc})."
        return out
    out["method"] = (
        f"pedigree relationship A (ploidy {ploidy}, {len(rows)} individuals in the recorded "
        "pedigree): not every candidate is genotyped in one dataset you can see"
    )
    return out


def _comparison(row: SelectionList, viewer: Viewer) -> dict[str, Any]:
    session = get_session()
    items = sl.list_items(session, row.id)
    ids = [it["id"] for it in items]
    variables, means = sl.candidate_trait_means(session, ids)
    gebvs = sl.candidate_gebvs(session, ids, viewer)
    parents = sl.pedigree_parents(session, ids)
    gebv_traits = sorted({t for per in gebvs.values() for t in per})
    return {
        "items": items, "variables": variables, "means": means, "gebvs": gebvs,
        "gebv_traits": gebv_traits, "parents": parents,
    }  # fmt: skip


@bp.get("/lists/<id:list_id>")
def show(list_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    row = _list_or_404(list_id, viewer)
    data = _comparison(row, viewer)
    kinship = _kinship(data["items"], viewer)
    matrix = kinship["matrix"]
    return render_template(
        "lists/show.html", lst=row, viewer=viewer, owns=viewer.owns(row), kinship=kinship,
        matrix=None if matrix is None else np.round(matrix, 3).tolist(), **data,
    )  # fmt: skip


@bp.get("/lists/<id:list_id>/export")
def export(list_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    fmt = check_text("format", (request.args.get("format") or "csv").strip()).lower()
    if fmt not in ("csv", "xlsx"):
        raise InvalidParameterError("format", f"must be csv or xlsx, not {fmt[:40]!r}", fmt[:40])
    row = _list_or_404(list_id, viewer)
    data = _comparison(row, viewer)
    var_names = [v.name for v in data["variables"]]
    header = ["position", "accession_id", "accession_number", "name", "institute", "species",
              "origin", "sampstat", "female_parent", "male_parent"]  # fmt: skip
    header += [f"mean:{v}" for v in var_names] + [f"gebv:{t}" for t in data["gebv_traits"]]
    rows = []
    for k, it in enumerate(data["items"], start=1):
        ped = data["parents"].get(it["id"]) or {}
        line: list[Any] = [k, it["id"], it["accenumb"], it["name"], it["institute"],
                           it["species"], it["origcty"], it["sampstat"],
                           (ped.get("female") or (None, None))[1],
                           (ped.get("male") or (None, None))[1]]  # fmt: skip
        line += [data["means"].get(it["id"], {}).get(v) for v in var_names]
        line += [(data["gebvs"].get(it["id"], {}).get(t) or {}).get("gebv")
                 for t in data["gebv_traits"]]  # fmt: skip
        rows.append(line)
    comments = [f"selection list: {row.name} (id {row.id})"]
    if row.description:
        comments.append(f"description: {row.description}")
    comments.append("gebv: the latest visible model run's prediction per trait")
    writer = csv_response if fmt == "csv" else xlsx_response
    return writer(safe_filename("list", row.name), comments, header, rows)


@bp.post("/lists/<id:list_id>/remove")
@require("keep_lists")
def remove_items(list_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    row = _owned_or_403(list_id, viewer)
    ids = accession_ids(request.form)
    if not ids:
        raise InvalidParameterError("accession", "tick at least one candidate to remove")
    session = get_session()
    n = sl.remove_list_items(session, row.id, ids)
    session.commit()
    flash(f"Removed {n} from “{row.name}”.")
    return redirect(url_for("lists.show", list_id=row.id))


@bp.post("/lists/<id:list_id>/edit")
@require("keep_lists")
def edit(list_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    row = _owned_or_403(list_id, viewer)
    form = request.form
    name = _text(form, "name") or None
    description = _description(form) if "description" in form else None
    visibility = _visibility(form, None)
    session = get_session()
    try:
        sl.update_list(session, row, name=name, description=description, visibility=visibility)
    except DuplicateError as exc:
        raise InvalidParameterError("name", str(exc), (name or "")[:40]) from None
    session.commit()
    flash(f"List “{row.name}” saved.")
    return redirect(url_for("lists.show", list_id=row.id))


@bp.post("/lists/<id:list_id>/delete")
@require("keep_lists")
def delete(list_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    row = _owned_or_403(list_id, viewer)
    name = row.name
    session = get_session()
    sl.delete_list(session, row.id)
    session.commit()
    flash(f"List “{name}” deleted.")
    return redirect(url_for("lists.lists"))
