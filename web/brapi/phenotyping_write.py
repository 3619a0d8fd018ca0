"""BrAPI v2.1 writes of observation units and observations (Field Book's upload path).

``POST /observationunits``, ``PUT /observationunits`` (a map DbId -> unit),
``PUT /observationunits/{observationUnitDbId}``, ``POST /observations``,
``PUT /observations`` and ``PUT /observations/{observationDbId}``: for the
``upload`` action (uploaders and admins; a breeder gets 403, no token 401).
Each request is validated whole by :mod:`germplasm.brapi_phenotyping_write`
(the observation import's checks) and written in one transaction, or refused
with a 400 naming every item index and field at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Response

from breedhub.germplasm import brapi_phenotyping_write as w
from breedhub.germplasm.exceptions import ValidationError
from breedhub.web.auth import current_viewer, require
from breedhub.web.brapi import Paging, call, db_id_or_404, json_body, respond_list, respond_one
from breedhub.web.brapi.phenotyping import observations_page, one_observation, one_unit, units_page
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError

Writer = Callable[..., list[int]]


def _items_of_list(body: list[Any]) -> list[w.Item]:
    return [(None, _object(i, item)) for i, item in enumerate(body)]


def _items_of_map(body: Mapping[str, Any], what: str) -> list[w.Item]:
    items: list[w.Item] = []
    for i, (key, item) in enumerate(body.items()):
        target = w.as_id(key)
        if target is None:
            raise InvalidParameterError("body", f"item {i}: {key[:40]!r} is not a {what} DbId")
        items.append((target, _object(i, item)))
    return items


def _object(index: int, item: object) -> Mapping[str, Any]:
    if not isinstance(item, dict):
        raise InvalidParameterError("body", f"item {index}: must be a JSON object")
    return item


def _write(writer: Writer, items: Sequence[w.Item]) -> list[int]:
    if not items:
        raise InvalidParameterError("body", "must hold at least one item")
    if len(items) > w.MAX_ITEMS:
        raise InvalidParameterError("body", f"holds more than {w.MAX_ITEMS} items; send fewer")
    session = get_session()
    try:
        ids = writer(session, items, current_viewer())
    except ValidationError as exc:
        session.rollback()
        reasons = "; ".join(
            f"item {p.row - 1}, {p.column}"
            + (f" ({p.value!r})" if p.value != "" else "")
            + f": {p.reason}"
            for p in exc.problems[:50]
        )
        more = f" (and {len(exc.problems) - 50} more)" if len(exc.problems) > 50 else ""
        raise InvalidParameterError("body", f"nothing was written: {reasons}{more}") from None
    session.commit()
    return ids


def _units(ids: list[int]) -> Response:
    page = Paging(0, max(len(ids), 1))
    data, _ = units_page({"observationUnitDbIds": ids}, page, include=False)
    order = {str(i): n for n, i in enumerate(ids)}
    data.sort(key=lambda d: order[d["observationUnitDbId"]])
    return respond_list(data, len(data), page)


def _observations(ids: list[int]) -> Response:
    page = Paging(0, max(len(ids), 1))
    data, _ = observations_page({"observationDbIds": ids}, page)
    order = {str(i): n for n, i in enumerate(ids)}
    data.sort(key=lambda d: order[d["observationDbId"]])
    return respond_list(data, len(data), page)


@call("observationunits", ("POST",))
@require("upload")
def create_units() -> Response:
    return _units(_write(w.write_units, _items_of_list(json_body(kind=list))))


@call("observationunits", ("PUT",))
@require("upload")
def update_units() -> Response:
    items = _items_of_map(json_body(kind=dict), "observation unit")
    return _units(_write(w.write_units, items))


@call("observationunits/{observationUnitDbId}", ("PUT",))
@require("upload")
def update_unit(observationUnitDbId: str) -> Response:
    one_unit(observationUnitDbId)  # 404 when unknown or hidden
    key = db_id_or_404(observationUnitDbId, "observation unit")
    _write(w.write_units, [(key, json_body(kind=dict))])
    return respond_one(one_unit(observationUnitDbId))


@call("observations", ("POST",))
@require("upload")
def create_observations() -> Response:
    return _observations(_write(w.write_observations, _items_of_list(json_body(kind=list))))


@call("observations", ("PUT",))
@require("upload")
def update_observations() -> Response:
    items = _items_of_map(json_body(kind=dict), "observation")
    return _observations(_write(w.write_observations, items))


@call("observations/{observationDbId}", ("PUT",))
@require("upload")
def update_observation(observationDbId: str) -> Response:
    one_observation(observationDbId)  # 404 when unknown or hidden
    key = db_id_or_404(observationDbId, "observation")
    _write(w.write_observations, [(key, json_body(kind=dict))])
    return respond_one(one_observation(observationDbId))
