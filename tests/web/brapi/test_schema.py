"""Every implemented BrAPI operation against the v2.1 specification (schemathesis).

The specification (``../shared/brapi-spec/merged``) is cut down to the calls
``serverinfo`` lists; schemathesis generates requests from it (bounded in
examples) and checks each answer: never a 500, a status the operation
documents, JSON, and a body that conforms to the operation's schema. Each
operation runs anonymously and with a breeder's token, on both engines.

One adaptation: BrAPI's own JSON Schema (BrAPI-Schema, from which the
OpenAPI files are generated) types every optional property as nullable
(``"type": ["null", "string"]``), and BrAPI servers answer ``null`` for what
they do not know; the OpenAPI 3.0 rendering lost the ``nullable`` flag. So
every property that a schema does not list as required is made nullable
here (:func:`_nullable`); and the error statuses every call can give (400,
401, 404 for an unknown id, 403 on writes) are documented where the
specification forgot them (:func:`_errors_documented`). Nothing else is changed.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis  # a test dependency (setup.cfg): missing, the suite fails, never skips
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from breedhub.web.brapi import implemented_calls
from tests.web.brapi._brapi_data import populate_brapi
from tests.web.conftest import bearer

SPEC = (
    Path(__file__).parents[4] / "shared" / "brapi-spec" / "merged" / "brapi_v2.1_all_openapi.yaml"
)
EXAMPLES = int(os.environ.get("BREEDHUB_BRAPI_EXAMPLES", "6"))
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@functools.cache
def _spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())


def _operations() -> list[tuple[str, str]]:
    if not SPEC.exists():
        return []
    paths = _spec()["paths"]
    return [
        (f"/{service}", method)
        for service, methods in implemented_calls().items()
        for method in methods
        if method.lower() in paths.get(f"/{service}", {})
    ]


def _nullable(node: Any) -> None:
    """Mark every optional property of every schema under ``node`` nullable, in place."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            required = set(node.get("required", []))
            for name, prop in list(properties.items()):
                if name in required or not isinstance(prop, dict):
                    continue
                if "$ref" in prop:
                    properties[name] = {"allOf": [prop], "nullable": True}
                else:
                    prop["nullable"] = True
        for value in node.values():
            _nullable(value)
    elif isinstance(node, list):
        for value in node:
            _nullable(value)


def _errors_documented(paths: dict[str, Any]) -> None:
    """Document the error answers every operation can give but the spec sometimes omits.

    400 (a malformed parameter) and 401 (the spec puts every operation behind
    its bearer ``AuthorizationToken``, so a wrong token is a 401 anywhere);
    404 for a DbId in the path (``GET /referencesets/{referenceSetDbId}`` and
    ``GET /search/calls/{searchResultsDbId}`` list none); 403 on writes (a
    role that may not write). Only the status is added, with the spec's own
    error bodies; nothing about the 200 answers is relaxed.
    """
    for path, item in paths.items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete"):
                continue
            answers = op.setdefault("responses", {})
            wanted = ["400", "401"] + (["404"] if "{" in path else [])
            wanted += ["403"] if method != "get" else []
            names = {"400": "400BadRequest", "401": "401Unauthorized",
                     "403": "403Forbidden", "404": "404NotFound"}  # fmt: skip
            for code in wanted:
                answers.setdefault(code, {"$ref": f"#/components/responses/{names[code]}"})


@functools.cache
def _schema() -> Any:
    spec = copy.deepcopy(_spec())
    _nullable(spec["components"]["schemas"])
    _nullable(spec["components"]["responses"])
    _errors_documented(spec["paths"])
    wanted = set(_operations())
    spec["paths"] = {
        path: {m: op for m, op in item.items() if (path, m.upper()) in wanted or m == "parameters"}
        for path, item in spec["paths"].items()
        if any(p == path for p, _ in wanted)
    }
    return schemathesis.openapi.from_dict(spec)


def test_implemented_calls__are_all_in_the_specification():
    paths = _spec()["paths"]
    for service, methods in implemented_calls().items():
        assert f"/{service}" in paths, service
        for method in methods:
            assert method.lower() in paths[f"/{service}"], (service, method)


@pytest.mark.parametrize("who", ["anonymous", "bea"])
@pytest.mark.parametrize(("path", "method"), _operations())
def test_operation__conforms_to_the_specification(app, accounts, path, method, who):
    populate_brapi(app)
    operation = _schema()[path][method]
    headers = {} if who == "anonymous" else bearer(accounts.tokens[who])

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}
        response = case.call(app=app)
        case.validate_response(response, checks=CHECKS)

    check()
