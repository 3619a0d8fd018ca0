"""The BrAPI v2.1 server at ``/brapi/v2``: its envelope, paging, searches and call registry.

Every call answers the standard BrAPI envelope::

    {"@context": [...], "metadata": {"datafiles": [], "status": [...],
     "pagination": {"currentPage", "pageSize", "totalCount", "totalPages"}},
     "result": {...}}

Lists put their objects under ``result.data``; pages are numbered from 0
(``page``) and sized by ``pageSize`` (default :data:`DEFAULT_PAGE_SIZE`, at
most :data:`MAX_PAGE_SIZE`, or :data:`MAX_ANONYMOUS_PAGE_SIZE` without a
token). Errors are the JSON strings the specification gives
(``"ERROR - <time> - <message>"``) with the HTTP status of the error.

A view becomes a BrAPI call with :func:`call`, which also lists it in
``serverinfo``: that list is exactly what is implemented. :func:`search`
registers the pair ``POST /search/{kind}`` and
``GET /search/{kind}/{searchResultsDbId}``: the ``POST`` answers 200 with
the first page, or 202 with a ``searchResultsDbId`` when the client sends
``Prefer: respond-async`` (RFC 7240); the request is then kept (never its
results) and run again, with the caller's access rights, for each page
fetched.

Authentication is the API's: a bearer token from a breedhub account, or
nothing (public records only); restricted records are hidden exactly as in
the portal (:func:`web.auth.current_viewer`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, jsonify, request

from breedhub.germplasm.brapi_searches import load_search, save_search
from breedhub.germplasm.queries import MAX_ID
from breedhub.web.auth import current_viewer
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.search import check_text as search_check_text

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Paging",
    "bp",
    "call",
    "db_id",
    "db_ids",
    "implemented_calls",
    "respond_list",
    "respond_one",
    "search",
    "search_answering",
]

F = TypeVar("F", bound=Callable[..., Any])

VERSION = "2.1"
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 2000
MAX_ANONYMOUS_PAGE_SIZE = 1000
#: The highest page number accepted (a bigger one is a 400, not a slow query).
MAX_PAGE = 10_000_000
#: The longest text accepted in a parameter or a JSON body's string.
MAX_TEXT = 10_000
CONTEXT = ["https://brapi.org/jsonld/context/metadata.jsonld"]

bp = Blueprint("brapi", __name__, url_prefix="/brapi/v2")

#: BrAPI service path (as in the specification) -> HTTP methods implemented.
_CALLS: dict[str, set[str]] = {}

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)


def implemented_calls() -> dict[str, list[str]]:
    """Every BrAPI call implemented: service path -> sorted HTTP methods."""
    return {service: sorted(methods) for service, methods in sorted(_CALLS.items())}


def call(service: str, methods: Iterable[str] = ("GET",)) -> Callable[[F], F]:
    """Register a view as the BrAPI call ``service`` and list it in ``serverinfo``.

    Parameters
    ----------
    service
        The path as the specification writes it, without ``/brapi/v2``:
        ``"germplasm/{germplasmDbId}/pedigree"``.
    methods
        The HTTP methods the view answers.
    """
    methods = tuple(methods)
    rule = "/" + re.sub(r"\{(\w+)\}", r"<\1>", service)

    def decorate(view: F) -> F:
        module = view.__module__.rsplit(".", 1)[-1]
        bp.add_url_rule(
            rule, endpoint=f"{module}_{view.__name__}", view_func=view, methods=list(methods)
        )
        _CALLS.setdefault(service, set()).update(methods)
        return view

    return decorate


@dataclass(frozen=True)
class Paging:
    """A page of a BrAPI list: ``page`` numbered from 0, ``page_size`` objects."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        """How many objects come before this page."""
        return self.page * self.page_size


def _shown(raw: object) -> str:
    text = str(raw)
    return text if len(text) <= 40 else text[:40] + "…"


def check_text(name: str, raw: str) -> str:
    """``raw`` if it is usable text, else a 400 naming ``name``: the portal's check
    (:func:`web.search.check_text`) with BrAPI's longer texts (:data:`MAX_TEXT`)."""
    return search_check_text(name, raw, max_length=MAX_TEXT)


def _int(name: str, raw: object, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise InvalidParameterError(name, f"must be a whole number, not {_shown(raw)!r}", "")
    if isinstance(raw, str):
        raw = raw.strip()
        if _INT.fullmatch(raw) is None or len(raw) > 12:
            raise InvalidParameterError(
                name, f"must be a whole number (digits 0-9), not {_shown(raw)!r}", _shown(raw)
            )
        raw = int(raw)
    if not low <= raw <= high:
        raise InvalidParameterError(name, f"must be between {low} and {high}, not {raw}", str(raw))
    return raw


def paging(source: Mapping[str, Any] | None = None) -> Paging:
    """``page`` and ``pageSize`` of the query string (or of a search body), checked.

    Raises
    ------
    InvalidParameterError
        For a page below 0 or above :data:`MAX_PAGE`, a page size outside
        1..:data:`MAX_PAGE_SIZE` (1..:data:`MAX_ANONYMOUS_PAGE_SIZE` without a
        token), or anything that is not ASCII digits.
    """
    source = request.args if source is None else source
    largest = MAX_PAGE_SIZE if current_viewer().authenticated else MAX_ANONYMOUS_PAGE_SIZE
    page = _int("page", source.get("page"), 0, 0, MAX_PAGE)
    size = _int("pageSize", source.get("pageSize"), min(DEFAULT_PAGE_SIZE, largest), 1, largest)
    return Paging(page, size)


def db_id(raw: object) -> int | None:
    """Our integer id of a BrAPI ``...DbId``, or ``None`` if ``raw`` cannot be one of ours.

    DbIds are strings in BrAPI; ours are ASCII digits from 1 to
    :data:`~germplasm.queries.MAX_ID`. Anything else names nothing here:
    a path answers 404 (:func:`db_id_or_404`), a filter matches nothing.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= MAX_ID else None
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def db_id_or_404(raw: str, what: str) -> int:
    """:func:`db_id` of a path segment, or a 404 naming ``what``."""
    value = db_id(raw)
    if value is None:
        abort(404, description=f"There is no {what} with DbId {_shown(raw)!r}.")
    return value


def db_ids(raw: Iterable[object]) -> list[int]:
    """The ids among ``raw`` that can be ours (the others match nothing)."""
    return [v for v in (db_id(r) for r in raw) if v is not None]


def query_list(name: str) -> list[str]:
    """A query parameter given once, repeated, or comma-separated, as a list of texts."""
    values: list[str] = []
    for raw in request.args.getlist(name):
        values.extend(v.strip() for v in check_text(name, raw).split(",") if v.strip())
    return values


def query_text(name: str) -> str | None:
    """A query parameter as checked text, ``None`` when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    return check_text(name, raw.strip())


def body_list(body: Mapping[str, Any], name: str) -> list[str]:
    """A search body's list of texts (``"germplasmDbIds": ["1", "2"]``), checked.

    A single string or number is taken as a list of one; anything else is a 400.
    """
    raw = body.get(name)
    if raw is None:
        return []
    if isinstance(raw, (str, int)) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list):
        raise InvalidParameterError(name, "must be a list of texts", _shown(raw))
    out = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise InvalidParameterError(name, "must be a list of texts", _shown(item))
        out.append(check_text(name, str(item)))
    return out


def json_body(*, kind: type = dict) -> Any:
    """The request's JSON body, checked: the right shape, no NUL bytes, no huge texts.

    An empty body is an empty object (or list); malformed JSON is a 400.
    """
    if not request.get_data(cache=True):
        return kind()
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidParameterError("body", "must be JSON (Content-Type: application/json)", "")
    if not isinstance(body, kind):
        raise InvalidParameterError("body", f"must be a JSON {kind.__name__}", "")
    _check_json(body, "body", 0)
    return body


def _check_json(value: Any, where: str, depth: int) -> None:
    if depth > 20:
        raise InvalidParameterError(where, "is nested too deeply", "")
    if isinstance(value, str):
        check_text(where, value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidParameterError(where, "must be a finite number", str(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(where, key)
            _check_json(item, f"{where}.{key}"[:200], depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, where, depth + 1)


def _metadata(pagination: dict[str, int], status: list[dict[str, str]] | None) -> dict[str, Any]:
    return {"datafiles": [], "pagination": pagination, "status": status or []}


def respond_list(
    data: Sequence[Any],
    total: int,
    page: Paging,
    *,
    status: list[dict[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
    tokens: bool = False,
) -> Response:
    """The envelope of a list: ``result.data`` = ``data``, a page of ``total`` objects.

    ``extra`` adds keys beside ``data`` in ``result`` (``observations/table``);
    ``tokens`` adds the page tokens that token-paged calls (``calls``,
    ``variants``) must carry: the page numbers as text, ``""`` past either end.
    """
    pages = math.ceil(total / page.page_size) if total else 0
    pagination: dict[str, Any] = {
        "currentPage": page.page,
        "pageSize": page.page_size,
        "totalCount": total,
        "totalPages": pages,
    }
    if tokens:
        more = (page.page + 1) * page.page_size < total
        pagination["currentPageToken"] = str(page.page)
        pagination["nextPageToken"] = str(page.page + 1) if more else ""
        pagination["prevPageToken"] = str(page.page - 1) if page.page > 0 else ""
    result = {**(extra or {}), "data": list(data)}
    return jsonify(
        {"@context": CONTEXT, "metadata": _metadata(pagination, status), "result": result}
    )


def respond_one(result: Mapping[str, Any], *, code: int = 200) -> Response:
    """The envelope of one object (``GET /germplasm/{id}``, ``serverinfo``)."""
    pagination = {"currentPage": 0, "pageSize": 1, "totalCount": 1, "totalPages": 1}
    response = jsonify(
        {"@context": CONTEXT, "metadata": _metadata(pagination, None), "result": dict(result)}
    )
    response.status_code = code
    return response


#: A search: (the request body, the page) -> (the page's objects, the total count).
SearchRunner = Callable[[Mapping[str, Any], Paging], tuple[list[dict[str, Any]], int]]
#: A search that shapes its own answer: (the request body, the page) -> the response.
SearchAnswer = Callable[[Mapping[str, Any], Paging], Response]


def search(kind: str, run: SearchRunner) -> None:
    """Register ``POST /search/{kind}`` and ``GET /search/{kind}/{searchResultsDbId}``.

    Parameters
    ----------
    kind
        The entity searched, as in the specification's path (``"germplasm"``).
    run
        Runs a search request for the current viewer and returns one page.
    """

    def answer(body: Mapping[str, Any], page: Paging) -> Response:
        data, total = run(body, page)
        return respond_list(data, total, page)

    search_answering(kind, answer)


def search_answering(kind: str, answer: SearchAnswer) -> None:
    """:func:`search` for answers that are not a plain list (page tokens, a matrix).

    ``answer(body, page)`` answers the search ``body``; ``page`` is the
    body's own on ``POST``, the query string's on ``GET``.
    """

    def post() -> Response:
        body = json_body()
        if "respond-async" in request.headers.get("Prefer", ""):
            session = get_session()
            search_id = save_search(session, kind, body, current_viewer().user_id)
            session.commit()
            return respond_one({"searchResultsDbId": search_id}, code=202)
        return answer(body, paging(body))

    def get(searchResultsDbId: str) -> Response:
        body = None
        if searchResultsDbId.isprintable():
            body = load_search(get_session(), kind, searchResultsDbId, current_viewer().user_id)
        if body is None:
            abort(404, description=f"There is no {kind} search {_shown(searchResultsDbId)!r}.")
        return answer(body, paging())

    post.__name__ = f"search_{kind}"
    get.__name__ = f"search_{kind}_results"
    call(f"search/{kind}", ("POST",))(post)
    call(f"search/{kind}/{{searchResultsDbId}}")(get)


def _calls_wanted() -> dict[str, list[str]]:
    wanted = query_text("contentType") or query_text("dataType")
    if wanted is not None and wanted != "application/json":
        return {}
    return implemented_calls()


@call("serverinfo")
def serverinfo() -> Response:
    calls = [
        {
            "service": service,
            "methods": methods,
            "versions": [VERSION],
            "contentTypes": ["application/json"],
            "dataTypes": ["application/json"],
        }
        for service, methods in _calls_wanted().items()
    ]
    return respond_one(
        {
            "calls": calls,
            "contactEmail": None,
            "documentationURL": "https://brapi.org/specification",
            "location": None,
            "organizationName": "breedhub",
            "organizationURL": None,
            "serverDescription": "breedhub: germplasm, genotypes and genomic predictions",
            "serverName": "breedhub",
        }
    )


# The calls register themselves with ``bp`` when their modules are imported.
from breedhub.web.brapi import core, genotyping, germplasm, phenotyping  # noqa: E402, F401
