"""BrAPI v2.1 germplasm calls (see :mod:`web.brapi`): germplasm, pedigree, crosses, attributes.

The mapping of our records to BrAPI, and every query, is in
:mod:`germplasm.brapi_germplasm` (reads) and :mod:`germplasm.brapi_germplasm_write`
(``POST``/``PUT`` germplasm, validated as a passport import).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, abort, request

from breedhub.germplasm import brapi_germplasm as q
from breedhub.germplasm import brapi_germplasm_crosses as x
from breedhub.germplasm import brapi_germplasm_write as w
from breedhub.web.auth import current_viewer, require
from breedhub.web.brapi import (
    Paging,
    body_list,
    call,
    check_text,
    db_id_or_404,
    json_body,
    paging,
    query_list,
    query_text,
    respond_list,
    respond_one,
    search,
)
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError


def _texts(name: str) -> list[str]:
    """A text parameter, given once or repeated (not split on commas: names may hold them)."""
    return [check_text(name, v.strip()) for v in request.args.getlist(name) if v.strip()]


def _flag(name: str, default: bool) -> bool:
    raw = query_text(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise InvalidParameterError(name, "must be true or false", raw[:40])
    return raw.lower() == "true"


def _query_filter() -> q.GermplasmFilter:
    return q.GermplasmFilter(
        germplasm_ids=query_list("germplasmDbId"),
        names=_texts("germplasmName"),
        puis=_texts("germplasmPUI"),
        accession_numbers=_texts("accessionNumber"),
        crops=_texts("commonCropName"),
        genus=_texts("genus"),
        species=_texts("species"),
        binomial_names=_texts("binomialName"),
        synonyms=_texts("synonym"),
        parent_ids=query_list("parentDbId"),
        progeny_ids=query_list("progenyDbId"),
        program_ids=query_list("programDbId"),
        trial_ids=query_list("trialDbId"),
        study_ids=query_list("studyDbId"),
        external_ids=[*_texts("externalReferenceId"), *_texts("externalReferenceID")],
        external_sources=_texts("externalReferenceSource"),
        collections=_texts("collection"),
        family_codes=_texts("familyCode"),
    )


def _body_filter(body: Mapping[str, Any]) -> q.GermplasmFilter:
    return q.GermplasmFilter(
        germplasm_ids=body_list(body, "germplasmDbIds"),
        names=body_list(body, "germplasmNames"),
        puis=body_list(body, "germplasmPUIs"),
        accession_numbers=body_list(body, "accessionNumbers"),
        crops=body_list(body, "commonCropNames"),
        genus=body_list(body, "genus"),
        species=body_list(body, "species"),
        binomial_names=body_list(body, "binomialNames"),
        synonyms=body_list(body, "synonyms"),
        institute_codes=body_list(body, "instituteCodes"),
        parent_ids=body_list(body, "parentDbIds"),
        progeny_ids=body_list(body, "progenyDbIds"),
        program_ids=body_list(body, "programDbIds"),
        trial_ids=body_list(body, "trialDbIds"),
        study_ids=body_list(body, "studyDbIds"),
        external_ids=[
            *body_list(body, "externalReferenceIds"),
            *body_list(body, "externalReferenceIDs"),
        ],
        external_sources=body_list(body, "externalReferenceSources"),
        collections=body_list(body, "collections"),
        family_codes=body_list(body, "familyCodes"),
    )


def _nothing_named(*names: str) -> bool:
    """True when a filter names something we do not hold (programs' names, PUIs of programs)."""
    return any(_texts(n) for n in names)


# --- germplasm ------------------------------------------------------------------------------


@call("germplasm")
def germplasm_list() -> Response:
    page = paging()
    data, total = q.germplasm_page(
        get_session(), _query_filter(), current_viewer(), page.offset, page.page_size
    )
    return respond_list(data, total, page)


def _search_germplasm(body: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    return q.germplasm_page(
        get_session(), _body_filter(body), current_viewer(), page.offset, page.page_size
    )


search("germplasm", _search_germplasm)


@call("germplasm", ("POST",))
@require("upload")
def germplasm_add() -> Response:
    body = json_body(kind=list)
    session = get_session()
    try:
        ids = w.add_germplasm(session, body, current_viewer())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    data, _ = q.germplasm_page(
        session,
        q.GermplasmFilter(germplasm_ids=[str(i) for i in ids]),
        current_viewer(),
        0,
        max(1, len(ids)),
    )
    return respond_list(data, len(data), Paging(0, max(1, len(data))))


def _germplasm_or_404(germplasmDbId: str) -> int:
    return db_id_or_404(germplasmDbId, "germplasm")


@call("germplasm/{germplasmDbId}")
def germplasm_one(germplasmDbId: str) -> Response:
    found = q.germplasm_one(get_session(), _germplasm_or_404(germplasmDbId))
    if found is None:
        abort(404, description=f"There is no germplasm with DbId {germplasmDbId!r}.")
    return respond_one(found)


@call("germplasm/{germplasmDbId}", ("PUT",))
@require("upload")
def germplasm_update(germplasmDbId: str) -> Response:
    ident = _germplasm_or_404(germplasmDbId)
    body = json_body()
    session = get_session()
    try:
        changed = w.update_germplasm(session, ident, body, current_viewer())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if not changed:
        abort(404, description=f"There is no germplasm with DbId {germplasmDbId!r}.")
    found = q.germplasm_one(session, ident)
    assert found is not None
    return respond_one(found)


@call("germplasm/{germplasmDbId}/mcpd")
def germplasm_mcpd(germplasmDbId: str) -> Response:
    found = q.germplasm_mcpd(get_session(), _germplasm_or_404(germplasmDbId))
    if found is None:
        abort(404, description=f"There is no germplasm with DbId {germplasmDbId!r}.")
    return respond_one(found)


@call("germplasm/{germplasmDbId}/pedigree")
def germplasm_pedigree(germplasmDbId: str) -> Response:
    ident = _germplasm_or_404(germplasmDbId)
    query_text("notation")  # checked; the only notation we write is the pedigree string kept
    found = q.pedigree_of(get_session(), ident, siblings=_flag("includeSiblings", False))
    if found is None:
        abort(404, description=f"There is no germplasm with DbId {germplasmDbId!r}.")
    return respond_one(found)


@call("germplasm/{germplasmDbId}/progeny")
def germplasm_progeny(germplasmDbId: str) -> Response:
    found = q.progeny_of(get_session(), _germplasm_or_404(germplasmDbId))
    if found is None:
        abort(404, description=f"There is no germplasm with DbId {germplasmDbId!r}.")
    return respond_one(found)


# --- pedigree, crosses, crossing projects, breeding methods ---------------------------------


def _depth(name: str) -> None:
    raw = query_text(name)
    if raw is not None and not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        raise InvalidParameterError(name, "must be a whole number (digits 0-9)", raw[:40])


@call("pedigree")
def pedigree_list() -> Response:
    page = paging()
    full = _flag("includeFullTree", False)
    _depth("pedigreeDepth")
    _depth("progenyDepth")
    options = q.PedigreeOptions(
        parents=_flag("includeParents", True) or full,
        progeny=_flag("includeProgeny", False) or full,
        siblings=_flag("includeSiblings", False),
    )
    data, total = q.pedigree_page(
        get_session(), _query_filter(), current_viewer(), options, page.offset, page.page_size
    )
    return respond_list(data, total, page)


@call("crosses")
def crosses_list() -> Response:
    page = paging()
    f = x.CrossFilter(
        cross_ids=query_list("crossDbId"),
        cross_names=_texts("crossName"),
        project_ids=query_list("crossingProjectDbId"),
        project_names=_texts("crossingProjectName"),
        crops=_texts("commonCropName"),
        program_ids=query_list("programDbId"),
        external_ids=[
            *_texts("externalReferenceId"),
            *_texts("externalReferenceID"),
            *_texts("externalReferenceSource"),
        ],
    )
    data, total = x.crosses_page(get_session(), f, page.offset, page.page_size)
    return respond_list(data, total, page)


@call("crossingprojects")
def crossing_projects_list() -> Response:
    page = paging()
    nothing = _nothing_named(
        "externalReferenceId", "externalReferenceID", "externalReferenceSource"
    )
    ids = query_list("crossingProjectDbId") + query_list("programDbId")
    data, total = x.crossing_projects_page(
        get_session(),
        ["0"] if nothing else ids,
        _texts("crossingProjectName"),
        _texts("commonCropName"),
        potential_parents=_flag("includePotentialParents", False),
        offset=page.offset,
        limit=page.page_size,
    )
    return respond_list(data, total, page)


@call("breedingmethods")
def breeding_methods_list() -> Response:
    page = paging()
    codes = list(q.BREEDING_METHODS)
    data = [x.breeding_method(c) for c in codes[page.offset : page.offset + page.page_size]]
    return respond_list([d for d in data if d], len(codes), page)


@call("breedingmethods/{breedingMethodDbId}")
def breeding_method_one(breedingMethodDbId: str) -> Response:
    found = x.breeding_method(breedingMethodDbId)
    if found is None:
        shown = breedingMethodDbId[:40]
        abort(404, description=f"There is no breeding method with DbId {shown!r}.")
    return respond_one(found)


# --- attributes (trait summaries) -----------------------------------------------------------


def _attribute_filter(*, values: bool) -> x.AttributeFilter:
    unheld = ["externalReferenceId", "externalReferenceID", "externalReferenceSource"]
    unheld += ["programDbId"]
    if not values:
        unheld += ["attributePUI", "methodDbId", "methodName", "methodPUI", "scaleName"]
        unheld += ["scalePUI", "traitDbId", "traitPUI"]
    return x.AttributeFilter(
        attribute_ids=query_list("attributeDbId"),
        names=_texts("attributeName"),
        categories=[] if values else _texts("attributeCategory"),
        trait_names=[] if values else _texts("traitName"),
        scale_ids=[] if values else query_list("scaleDbId"),
        crops=_texts("commonCropName"),
        germplasm_ids=query_list("germplasmDbId"),
        value_ids=query_list("attributeValueDbId") if values else [],
        nothing=_nothing_named(*unheld),
    )


@call("attributes")
def attributes_list() -> Response:
    page = paging()
    data, total = x.attributes_page(
        get_session(), _attribute_filter(values=False), page.offset, page.page_size
    )
    return respond_list(data, total, page)


@call("attributevalues")
def attribute_values_list() -> Response:
    page = paging()
    data, total = x.attribute_values_page(
        get_session(), _attribute_filter(values=True), page.offset, page.page_size
    )
    return respond_list(data, total, page)
