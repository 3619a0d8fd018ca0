"""The ``api`` blueprint: JSON for scripts under ``/api/v1``.

Routes
------
``GET /api/v1/germplasm``
    The germplasm search, parameters as the portal's (:mod:`web.search`);
    answers ``{"total", "page", "page_size", "results"}``.
``GET /api/v1/germplasm/<ref>``
    Everything known about one accession (:func:`germplasm.accession_detail`);
    ``ref`` is a database id, a PUID, ``INSTCODE:ACCENUMB`` or a unique
    accession number. A ``ref`` with control characters (NUL, ...) is a 400
    naming ``ref``; one that matches nothing (a number beyond the database's
    integer range, a Unicode digit such as ``²``) is a 404.

Errors are JSON: ``{"error": {"type", "message", "details"}}`` with the HTTP
status of the error (400 for a bad parameter, 404 for an unknown accession).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from breedhub.germplasm import accession_detail
from breedhub.germplasm.queries_registry import species_keys
from breedhub.web.auth import current_viewer
from breedhub.web.db import get_session
from breedhub.web.search import check_text, run_search

#: The longest accession reference looked up (a PUID is a DOI or a URI).
MAX_REF_LENGTH = 500

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/germplasm")
def germplasm_search() -> Response:
    session = get_session()
    keys = species_keys(session)
    _, page = run_search(session, request.args, species_keys=keys)
    return jsonify(page.to_dict())


@bp.get("/germplasm/<path:ref>")
def germplasm_detail(ref: str) -> Response:
    ref = check_text("ref", ref, max_length=MAX_REF_LENGTH)
    return jsonify(accession_detail(get_session(), ref, viewer=current_viewer()))
