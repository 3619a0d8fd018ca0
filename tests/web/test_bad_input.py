"""Hostile input never gives a 500 or a traceback, on SQLite and on PostgreSQL.

:func:`test_every_route_survives_hostile_values` walks every route of the app
(``app.url_map``, static files aside) and sends hostile values in each path
variable and in each query parameter the route reads; the other tests pin the
status and the message of the cases that were 500s: unknown or huge ids are
404, malformed parameters 400 naming the parameter.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from flask import Flask
from werkzeug.routing import ValidationError

from breedhub.web import MAX_ID, IdConverter
from breedhub.web.search import MAX_PAGE, MAX_PAGE_SIZE, PARAMETERS
from tests.web.conftest import csrf_token, login

HOSTILE = (
    "99999999999999999999",
    "1" + "0" * 30,
    str(2**63),
    str(2**63 - 1),
    str(2**31),
    "-1",
    "0",
    "-99999999999999999999",
    "1e20",
    "1_000",
    "NaN",
    "inf",
    "²",
    "①",
    "٣",
    "\x00",
    "a\x00b",
    "\t",
    "\x7f",
    "x" * 5000,
    "9" * 5000,
    "' OR 1=1 --",
    "'; DROP TABLE accession; --",
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "😀",
    "<script>alert(1)</script>",
    " ",
)

#: The parameters (query or form) any page or API call of ours reads; a route
#: that reads a parameter not listed here must add it.
COMMON_PARAMETERS: tuple[str, ...] = (
    "species", "trait", "run", "model_run", "dataset", "method", "institute", "genotyped",
    "trial", "group", "page", "page_size", "format", "q", "sort", "desc", "list", "list_id",
    "name", "accession", "mode", "proportion", "weight", "gain", "parents", "max_use",
    "max_kinship", "n_crosses", "visibility", "lang", "next", "username", "password", "role",
    "code", "country", "email", "full_name", "days", "token_id", "user_id", "description",
    "new_password", "n", "population", "status", "call_variants",
)  # fmt: skip

#: Routes whose parameters are not (only) the common ones.
ROUTE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "portal.search": PARAMETERS,
    "api.germplasm_search": PARAMETERS,
}


def _parameters(endpoint: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*ROUTE_PARAMETERS.get(endpoint, ()), *COMMON_PARAMETERS)))


def _rules(app: Flask) -> list:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _path(rule, value: str, fill: str = "1") -> list[str]:
    """The rule's URL with ``value`` in each path variable in turn (others: ``fill``)."""
    names = re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule.rule)
    out = []
    for name in names or [None]:

        def sub(m: re.Match[str], name: str | None = name) -> str:
            arg = m.group(1)
            return quote(value if arg == name else fill, safe="")

        out.append(re.sub(r"<(?:[^:>]+:)?([^>]+)>", sub, rule.rule))
    return out


def _check(client, url: str, problems: list[str]) -> None:
    try:
        resp = client.get(url)
    except Exception as exc:  # the test client re-raises what the app did not handle
        problems.append(f"{url[:120]}: raised {type(exc).__name__}: {str(exc)[:200]}")
        return
    body = resp.get_data(as_text=True)
    if resp.status_code >= 500 or "Traceback" in body:
        problems.append(f"{url[:120]}: {resp.status_code} {body[:200]!r}")


#: The hostile values sent in every common parameter of every route (the full
#: :data:`HOSTILE` set goes to the path variables and the routes' own parameters).
SHORT_HOSTILE = ("99999999999999999999", "-1", "1e20", "²", "\x00", "x" * 5000, "' OR 1=1 --", "😀")


SPEC = (
    Path(__file__).parents[3] / "shared" / "brapi-spec" / "merged" / "brapi_v2.1_all_openapi.yaml"
)


@functools.cache
def _brapi_query_parameters() -> dict[str, tuple[str, ...]]:
    """The query parameters the BrAPI specification gives each GET path (``/germplasm``: ...)."""
    if not SPEC.exists():
        return {}
    spec = yaml.safe_load(SPEC.read_text())
    shared = spec["components"].get("parameters", {})
    out = {}
    for path, item in spec["paths"].items():
        params = [*item.get("parameters", []), *item.get("get", {}).get("parameters", [])]
        params = [shared[p["$ref"].split("/")[-1]] if "$ref" in p else p for p in params]
        out[path] = tuple(p["name"] for p in params if p.get("in") == "query")
    return out


def _brapi_parameters(rule) -> tuple[str, ...]:
    if not rule.rule.startswith("/brapi/v2/"):
        return ()
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len("/brapi/v2") :])
    return _brapi_query_parameters().get(path, ())


def _walk_api(client, rule, base: str, problems: list[str]) -> None:
    """A JSON API route (BrAPI, uploads): its path variables with every hostile value; for
    a BrAPI call, the query parameters the specification gives its path, all at once with
    every hostile value, then one at a time with a NUL byte, a huge number and bad UTF-8.

    The portal's parameters mean nothing there, so the API is spared the portal walk's
    thousands of requests per route (CI time)."""
    for value in HOSTILE:
        if rule.arguments:
            for url in _path(rule, value, fill="1"):
                _check(client, url, problems)
    brapi = _brapi_parameters(rule)
    for value in HOSTILE:
        if brapi:
            q = "&".join(f"{n}={quote(value, safe='')}" for n in brapi)
            _check(client, f"{base}?{q}", problems)
    for name in brapi:
        for value in ("\x00", "99999999999999999999"):
            _check(client, f"{base}?{name}={quote(value, safe='')}", problems)
        for raw in ("%FF", "a%00b"):
            _check(client, f"{base}?{name}={raw}", problems)
    if rule.arguments:
        for raw in ("%FF", "%00"):
            _check(client, re.sub(r"<[^>]+>", raw, rule.rule), problems)


def _is_api(rule) -> bool:
    return rule.rule.startswith(("/brapi/", "/api/v1/uploads"))


def _walk_gets(app, client, world, problems: list[str], *, logged_in: bool = False) -> None:
    for rule in _rules(app):
        if "GET" not in rule.methods:
            continue  # POST-only: test_every_form_survives_hostile_values
        base = _path(rule, str(world.ir64))[0]
        if _is_api(rule):
            if not logged_in:  # the API reads bearer tokens only: a login changes nothing
                _walk_api(client, rule, base, problems)
            continue
        own = ROUTE_PARAMETERS.get(rule.endpoint, ())
        for value in HOSTILE:
            if rule.arguments:
                for url in _path(rule, value, fill=str(world.ir64)):
                    _check(client, url, problems)
            for name in own:
                _check(client, f"{base}?{name}={quote(value, safe='')}", problems)
                # with a trait chosen, min/max/sort=trait are read too
                _check(
                    client,
                    f"{base}?trait=PlantHeight_cm&{name}={quote(value, safe='')}",
                    problems,
                )
        for value in SHORT_HOSTILE:
            # every common parameter at once, then (for the values most often
            # mishandled) one at a time, so that an early 400 hides no later one
            q = "&".join(f"{n}={quote(value, safe='')}" for n in COMMON_PARAMETERS)
            _check(client, f"{base}?{q}", problems)
        for value in SHORT_HOSTILE[:2] + ("\x00",):
            for name in COMMON_PARAMETERS:
                _check(client, f"{base}?{name}={quote(value, safe='')}", problems)
        for raw in ("%FF", "%C0%80", "%ED%A0%80", "%00", "a%00b"):  # bad UTF-8, raw NUL
            for name in _parameters(rule.endpoint):
                _check(client, f"{_path(rule, '1')[0]}?{name}={raw}", problems)
            if rule.arguments:
                _check(client, re.sub(r"<[^>]+>", raw, rule.rule), problems)


def test_every_route_survives_hostile_values(app, client, world):
    problems: list[str] = []
    _walk_gets(app, client, world, problems)
    assert not problems, "\n".join(problems)


def test_every_route_survives_hostile_values_logged_in(app, client, world, accounts):
    """Logged-in pages show more (forms, restricted records): walked as an admin and a breeder."""
    problems: list[str] = []
    for user in ("admin", "bea"):  # every page an admin sees; a breeder's forms differ
        login(client, user)
        _walk_gets(app, client, world, problems, logged_in=True)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert not problems, "\n".join(problems)


def test_every_form_survives_hostile_values(app, world, accounts):
    """Every route that takes a POST, with each hostile value in each field, as an admin."""
    app.config["WTF_CSRF_ENABLED"] = False  # the forms' own validation is what is walked
    client = app.test_client()
    login(client, "admin")
    problems: list[str] = []

    def post(url: str, data: dict[str, str]) -> None:
        try:
            resp = client.post(url, data=data)
        except Exception as exc:
            problems.append(f"POST {url[:120]} {list(data)}: raised {type(exc).__name__}: {exc}")
            return
        body = resp.get_data(as_text=True)
        if resp.status_code >= 500 or "Traceback" in body:
            problems.append(f"POST {url[:120]} {list(data)[:3]}: {resp.status_code} {body[:200]!r}")

    for rule in _rules(app):
        if "POST" not in rule.methods or rule.endpoint in ("auth.logout",):
            continue
        base = _path(rule, str(world.ir64))[0]
        for value in SHORT_HOSTILE:
            if rule.arguments:
                for url in _path(rule, value, fill=str(world.ir64)):
                    post(url, {})
            for name in _parameters(rule.endpoint):
                post(base, {name: value})
        post(base, {})
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "url",
    [
        "/germplasm/99999999999999999999",
        f"/germplasm/{2**63}",
        f"/germplasm/{2**63 - 1}",
        f"/germplasm/{MAX_ID + 1}",
        f"/germplasm/{MAX_ID}",
        "/germplasm/0",
        "/germplasm/%C2%B2",  # ²
        "/germplasm/%D9%A3",  # Arabic-Indic 3: Werkzeug's int converter read it as 3
        "/germplasm/-1",
        "/germplasm/1e20",
    ],
)
def test_portal__unknown_or_huge_id_404(client, world, url):
    resp = client.get(url)
    assert resp.status_code == 404
    assert "Traceback" not in resp.text
    assert "Not Found" in resp.text or "no accession" in resp.text or "no page" in resp.text


@pytest.mark.parametrize(
    "ref",
    [
        "99999999999999999999",
        str(2**63),
        str(MAX_ID + 1),
        str(MAX_ID),
        "0",
        "²",
        "①",
        "٣",
        "' OR 1=1 --",
        "😀",
    ],
)
def test_api__unknown_or_huge_ref_json_404(client, world, ref):
    resp = client.get(f"/api/v1/germplasm/{quote(ref, safe='')}")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["type"] == "NotFoundError"


def test_api__ascii_id_still_found(client, world):
    resp = client.get(f"/api/v1/germplasm/{world.ir64}")
    assert resp.status_code == 200
    assert resp.get_json()["passport"]["ACCENUMB"] == "IRGC 66970"


@pytest.mark.parametrize("ref", ["a%00b", "%00", "IR%0964"])
def test_api__control_character_in_ref_json_400(client, world, ref):
    resp = client.get(f"/api/v1/germplasm/{ref}")
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["details"][0]["parameter"] == "ref"
    assert "control characters" in err["message"]


BAD_PARAMETERS = [
    ("page", "1e20", "whole number"),
    ("page", "1" + "0" * 30, "at most"),
    ("page", "99999999999999999999", "at most"),
    ("page", str(MAX_PAGE + 1), "at most"),
    ("page", "²", "whole number"),
    ("page", "①", "whole number"),
    ("page", "٣", "whole number"),
    ("page", "-1", "1 or more"),
    ("page_size", str(MAX_PAGE_SIZE + 1), f"between 1 and {MAX_PAGE_SIZE}"),
    ("page_size", "1000", f"between 1 and {MAX_PAGE_SIZE}"),
    ("page_size", "99999999999999999999", f"between 1 and {MAX_PAGE_SIZE}"),
    ("sampstat", "99999999999999999999", "SAMPSTAT"),
    ("sampstat", "٤٠٠", "whole number"),
    ("institute", "a\x00b", "control characters"),
    ("trait", "a\x00b", "control characters"),
    ("sort", "a\x00b", "control characters"),
    ("q", "a\x00b", "control characters"),
    ("species", "\x00", "control characters"),
    ("origin", "\x00PH", "control characters"),
    ("genotyped", "y\x00es", "control characters"),
    ("desc", "\x00", "control characters"),
    ("q", "x" * 5000, "at most 200 characters"),
    ("institute", "\x7f", "control characters"),
]


def _url(prefix: str, name: str, value: str) -> str:
    extra = "trait=PlantHeight_cm&" if name in ("min", "max") else ""
    return f"{prefix}?{extra}{name}={quote(value, safe='')}"


@pytest.mark.parametrize(("name", "value", "reason"), BAD_PARAMETERS)
def test_api__malformed_parameter_json_400_names_it(client, world, name, value, reason):
    resp = client.get(_url("/api/v1/germplasm", name, value))
    assert resp.status_code == 400, resp.text[:300]
    err = resp.get_json()["error"]
    assert err["type"] == "InvalidParameterError"
    assert err["details"][0]["parameter"] == name
    assert err["message"].startswith(f"{name}: ")
    assert reason in err["message"]


@pytest.mark.parametrize(("name", "value", "reason"), BAD_PARAMETERS)
def test_portal__malformed_parameter_html_400_names_it(client, world, name, value, reason):
    resp = client.get(_url("/germplasm", name, value))
    assert resp.status_code == 400
    assert resp.mimetype == "text/html"
    assert "Traceback" not in resp.text
    assert reason in resp.text


@pytest.mark.parametrize(("name", "value"), [("min", "²"), ("max", "٣"), ("min", "1e999")])
def test_malformed_trait_bound_400(client, world, name, value):
    resp = client.get(_url("/api/v1/germplasm", name, value))
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"][0]["parameter"] == name


def test_page_size_at_the_cap_is_fine(client, world):
    resp = client.get(f"/api/v1/germplasm?page_size={MAX_PAGE_SIZE}")
    assert resp.status_code == 200
    assert resp.get_json()["page_size"] == MAX_PAGE_SIZE


@pytest.mark.parametrize("prefix", ["/germplasm", "/api/v1/germplasm"])
def test_page_past_the_last_is_empty_not_an_error(client, world, prefix):
    resp = client.get(f"{prefix}?page={MAX_PAGE}&page_size={MAX_PAGE_SIZE}")
    assert resp.status_code == 200
    if prefix.startswith("/api"):
        body = resp.get_json()
        assert (body["total"], body["page"], body["results"]) == (7, MAX_PAGE, [])


def test_id_converter_bounds():
    conv = IdConverter(None)  # type: ignore[arg-type]
    assert conv.to_python("1") == 1
    assert conv.to_python(str(MAX_ID)) == MAX_ID
    for bad in ("0", str(MAX_ID + 1), "9" * 40):
        with pytest.raises(ValidationError):
            conv.to_python(bad)
    assert re.fullmatch(conv.regex, "٣") is None


def test_unexpected_error_is_a_plain_500(app, monkeypatch):
    """A bug in a view: logged, and the user sees a 500 page or JSON error, no traceback."""
    import breedhub.web.api as api
    import breedhub.web.portal as portal

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(portal, "accession_counts_by_species", boom)
    monkeypatch.setattr(api, "species_keys", boom)
    client = app.test_client()
    resp = client.get("/")
    assert resp.status_code == 500
    assert "Traceback" not in resp.text and "secret internals" not in resp.text
    assert "Server error" in resp.text
    resp = client.get("/api/v1/germplasm")
    assert resp.status_code == 500
    assert resp.get_json()["error"]["type"] == "InternalServerError"
    assert "secret internals" not in resp.text


@pytest.mark.parametrize("accenumb", ["99999999999999999999", "²", "00042"])
def test_api__digit_accession_numbers_still_found(app, client, world, accenumb):
    """A ref that is not a usable id falls through to the accession-number lookup."""
    from breedhub.germplasm import transaction
    from breedhub.web.db import get_engine

    from .conftest import add_accession

    with transaction(get_engine(app)) as s:
        acc_id = add_accession(s, species="rice", instcode="CHN998", accenumb=accenumb).id
    resp = client.get(f"/api/v1/germplasm/{quote(accenumb, safe='')}")
    assert resp.status_code == 200
    assert resp.get_json()["id"] == acc_id
