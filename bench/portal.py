#!/usr/bin/env python
"""The portal under load: p50/p95 latency of its pages with 20 concurrent clients.

Loads (seeded, timed but not measured) N accessions, a genotype store and one
model run of M predictions into a PostgreSQL started here
(``bench/portal_data.py``), serves ``breedhub.web:create_app()`` with gunicorn
(4 workers), logs a breeder in through ``/login`` and, route after route,
runs ``--clients`` concurrent clients (a small asyncio HTTP/1.1 client, one
connection per request as gunicorn's sync workers close each one) for
``--seconds`` after a short warm-up, with random realistic parameters:

===============  ============================================================
search           ``/germplasm?q=<name prefix>[&species=..]`` or ``?species=..&page=..``
accession        ``/germplasm/<random id>``
ranking          ``/predictions?species=..&run=..&trait=..&page=..``
index_ranking    ``/predictions/index?run=..&weight.<trait>=..`` (2 weights)
cross_planner    ``/crosses?run=..&trait=..&parents=<id>`` x 50 (1,225 crosses)
brapi_germplasm  ``/brapi/v2/germplasm?page=..&pageSize=..``
===============  ============================================================

Any answer but 200 is an error and is counted; a route that answers 404 or
still shows its placeholder page is recorded as null with a note. A static
file served by the same gunicorn in the same run is the floor: each route's
``ratio`` is its p50 over the static file's p50 (absolute times on shared
machines are noisy). PostgreSQL logs statements over ``--slow-ms``; the
slowest are kept in the JSON.

Prints a table and writes JSON (default ``bench/results/portal.json``),
rewritten after each route so that a failure keeps what was measured.

    python bench/portal.py --quick                  # 20,000 accessions and predictions, 5 s
    python bench/portal.py                          # 1M accessions, 1M predictions, 15 s
    python bench/portal.py --accessions 50000 --predictions 50000 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from portal_data import PASSWORD, USER, PortalData, build, log

from breedhub.testing import PostgresServer, find_pg_bindir, free_port

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STATIC = "/static/breedhub.css"
PLACEHOLDER = b"Not built yet."


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """A route under load: ``make(rng, data) -> (path with query, case label)``; goal on p95."""

    name: str
    make: Callable[[random.Random, PortalData], tuple[str, str]]
    goal_p95_ms: float | None


def _search(rng: random.Random, d: PortalData) -> tuple[str, str]:
    r = rng.random()
    if r < 0.4:
        return "/germplasm?" + urlencode({"q": rng.choice(d.name_prefixes)}), "name prefix"
    if r < 0.7:
        q = {"q": rng.choice(d.name_prefixes), "species": rng.choice(d.species_keys)}
        return "/germplasm?" + urlencode(q), "name prefix + species"
    q = {"species": rng.choice(d.species_keys), "page": str(rng.randint(1, 20))}
    return "/germplasm?" + urlencode(q), "species, page 1-20"


def _accession(rng: random.Random, d: PortalData) -> tuple[str, str]:
    if rng.random() < 0.5:
        return f"/germplasm/{int(rng.choice(d.predicted_ids))}", "with predictions"
    return f"/germplasm/{int(rng.choice(d.accession_ids))}", "any"


def _ranking(rng: random.Random, d: PortalData) -> tuple[str, str]:
    trait = rng.choice(d.traits)
    per_trait = len(d.predicted_ids)
    if rng.random() < 0.8:
        page, case = rng.randint(1, 10), "page 1-10"
    else:  # deep pages: OFFSET far into the ranking
        page, case = rng.randint(1, max(1, per_trait // 25)), "any page"
    q = {"species": d.species, "run": str(d.run_id), "trait": trait, "page": str(page)}
    return "/predictions?" + urlencode(q), case


def _index_ranking(rng: random.Random, d: PortalData) -> tuple[str, str]:
    q = {"run": str(d.run_id)}
    for t in d.traits[:2]:
        q[f"weight.{t}"] = f"{rng.uniform(0.2, 2.0):.2f}"
    return "/predictions/index?" + urlencode(q), "2 weights"


def _cross_planner(rng: random.Random, d: PortalData, n_parents: int = 50) -> tuple[str, str]:
    parents = rng.sample([int(a) for a in d.genotyped_ids], min(n_parents, len(d.genotyped_ids)))
    q = [("run", str(d.run_id)), ("trait", rng.choice(d.traits))]
    q += [("parents", str(p)) for p in parents]
    return "/crosses?" + urlencode(q), f"{len(parents)} parents"


def _brapi_germplasm(rng: random.Random, d: PortalData) -> tuple[str, str]:
    q = {"page": str(rng.randint(0, 50)), "pageSize": "100"}
    return "/brapi/v2/germplasm?" + urlencode(q), "page 0-50"


ROUTES = [
    Route("search", _search, 100.0),
    Route("accession", _accession, 100.0),
    Route("ranking", _ranking, 100.0),
    Route("index_ranking", _index_ranking, None),
    Route("cross_planner", _cross_planner, 1000.0),
    Route("brapi_germplasm", _brapi_germplasm, None),
]


# --------------------------------------------------------------------------- HTTP client


async def fetch(port: int, path: str, cookie: str, timeout: float) -> tuple[int, bytes, float]:
    """GET ``path``; (status, body, milliseconds from connect to the last byte)."""
    req = (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: {cookie}\r\n"
           "Accept: text/html\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    t0 = time.perf_counter()

    async def once() -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(req)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    data = await asyncio.wait_for(once(), timeout)
    ms = (time.perf_counter() - t0) * 1000
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, body, ms


async def load(port: int, cookie: str, make: Callable[[random.Random], tuple[str, str]],
               *, clients: int, seconds: float, seed: int, timeout: float) -> list[dict[str, Any]]:  # fmt: skip
    """``clients`` loops requesting ``make()`` paths until ``seconds`` have passed."""
    deadline = time.perf_counter() + seconds
    out: list[dict[str, Any]] = []

    async def client(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        while time.perf_counter() < deadline:
            path, case = make(rng)
            try:
                status, body, ms = await fetch(port, path, cookie, timeout)
                err = None if status == 200 else _snippet(body)
            except (OSError, asyncio.TimeoutError) as exc:
                status, ms, err = 0, float("nan"), f"{type(exc).__name__}: {exc}"
            out.append({"case": case, "status": status, "ms": ms, "error": err, "path": path})

    await asyncio.gather(*(client(i) for i in range(clients)))
    return out


def _snippet(body: bytes) -> str:
    """The readable part of an error page (its message), shortened."""
    text = re.sub(rb"<[^>]+>", b" ", body).decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:300]


def _pct(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def summarise(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """p50/p95 of the 200 answers, errors by status, and the same per case."""
    ok = [r["ms"] for r in rows if r["status"] == 200]
    errors: dict[str, int] = {}
    for r in rows:
        if r["status"] != 200:
            errors[str(r["status"])] = errors.get(str(r["status"]), 0) + 1
    res: dict[str, Any] = {
        "p50_ms": round(statistics.median(ok), 1) if ok else None,
        "p95_ms": round(_pct(ok, 0.95), 1) if ok else None,
        "max_ms": round(max(ok), 1) if ok else None,
        "n_requests": len(rows),
        "requests_per_s": round(len(rows) / seconds, 1),
        "errors": sum(errors.values()),
        "errors_by_status": errors,
    }
    first_error = next((r for r in rows if r["status"] != 200), None)
    if first_error is not None:
        res["first_error"] = {"path": first_error["path"][:300], "status": first_error["status"],
                              "message": first_error["error"]}  # fmt: skip
    cases: dict[str, Any] = {}
    for case in sorted({r["case"] for r in rows}):
        t = [r["ms"] for r in rows if r["case"] == case and r["status"] == 200]
        cases[case] = {"p50_ms": round(statistics.median(t), 1) if t else None,
                       "p95_ms": round(_pct(t, 0.95), 1) if t else None,
                       "n_requests": sum(1 for r in rows if r["case"] == case)}  # fmt: skip
    res["cases"] = cases
    return res


# --------------------------------------------------------------------------- server


def login(port: int) -> str:
    """Log the benchmark's breeder in through ``/login``; return the ``Cookie`` header value."""

    def request(
        method: str, path: str, cookie: str = "", body: str = ""
    ) -> http.client.HTTPResponse:
        con = http.client.HTTPConnection(HOST, port, timeout=30)
        headers = {"Cookie": cookie} if cookie else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        con.request(method, path, body=body or None, headers=headers)
        return con.getresponse()

    def session_cookie(resp: http.client.HTTPResponse) -> str:
        for header in resp.headers.get_all("Set-Cookie") or []:
            if header.startswith("session="):
                return header.split(";", 1)[0]
        return ""

    resp = request("GET", "/login")
    page = resp.read().decode()
    cookie = session_cookie(resp)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if match is None:
        raise RuntimeError("no csrf_token in the login form")
    form = urlencode({"csrf_token": match.group(1), "username": USER, "password": PASSWORD})
    resp = request("POST", "/login", cookie, form)
    resp.read()
    if resp.status != 302:
        raise RuntimeError(f"login failed: HTTP {resp.status}")
    return session_cookie(resp) or cookie


def start_gunicorn(args: argparse.Namespace, url: str, home: Path, port: int,
                   logfile: Path) -> subprocess.Popen[bytes]:  # fmt: skip
    """gunicorn serving ``breedhub.web:create_app()``; returns once it answers."""
    app = "breedhub.web:create_app()"
    if args.ratelimit_user:  # through the factory's test_config: there is no environment variable
        app = f"breedhub.web:create_app({{'RATELIMIT_USER': {args.ratelimit_user!r}}})"
    env = {**os.environ, "BREEDHUB_DATABASE_URL": url, "BREEDHUB_HOME": str(home),
           "BREEDHUB_SECRET_KEY": secrets.token_hex(32)}  # fmt: skip
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", args.worker_class,
           "-b", f"{HOST}:{port}", "--timeout", "120", "--backlog", "2048", app]  # fmt: skip
    log(" ".join(cmd))
    proc = subprocess.Popen(cmd, env=env, stdout=logfile.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited ({proc.returncode}): {logfile.read_text()[-2000:]}"
            )
        try:
            con = http.client.HTTPConnection(HOST, port, timeout=5)
            con.request("GET", STATIC)
            if con.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def slow_statements(pg_log: Path, top: int = 8) -> list[dict[str, Any]]:
    """The slowest distinct statements PostgreSQL logged (``log_min_duration_statement``)."""
    if not pg_log.exists():
        return []
    records: list[str] = []
    for line in pg_log.read_text(errors="replace").splitlines():
        if re.match(r"\d{4}-\d\d-\d\d ", line) and "DETAIL:  parameters:" not in line:
            records.append(line)
        elif records:
            records[-1] += "\n" + line
    found: dict[str, dict[str, Any]] = {}
    for rec in records:
        m = re.search(r"duration: ([0-9.]+) ms\s+(?:statement|execute [^:]*):\s*(.*)", rec, re.S)
        if m is None:
            continue
        ms, stmt = float(m.group(1)), m.group(2)
        params = ""
        if "DETAIL:  parameters:" in stmt:
            stmt, _, params = stmt.partition("DETAIL:  parameters:")
            stmt = re.sub(r"\n\S+ \S+ \S+ \[\d+\] $", "", stmt)  # the DETAIL line's prefix
        key = " ".join(stmt.split())[:6000]
        entry = found.setdefault(key, {"statement": key, "count": 0, "max_ms": 0.0, "params": ""})
        entry["count"] += 1
        if ms > entry["max_ms"]:
            entry["max_ms"], entry["params"] = round(ms, 1), " ".join(params.split())[:3000]
    return sorted(found.values(), key=lambda e: -e["max_ms"])[:top]


def explain(url: str, statements: list[dict[str, Any]], top: int = 3) -> None:
    """Add ``plan`` (EXPLAIN ANALYZE with the logged parameters) to the ``top`` slowest SELECTs."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as con:
        for entry in [
            e for e in statements if e["statement"].lstrip().upper().startswith("SELECT")
        ][:top]:
            sql = entry["statement"]
            values = dict(re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", entry["params"]))
            for n in sorted(values, key=int, reverse=True):
                sql = sql.replace(f"${n}", values[n])
            try:
                rows = con.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
                entry["plan"] = [r[0] for r in rows]
            except psycopg.Error as exc:
                entry["plan"] = [f"EXPLAIN failed: {str(exc).splitlines()[0]}"]


# --------------------------------------------------------------------------- main


def probe(port: int, cookie: str, path: str) -> tuple[int, bytes]:
    con = http.client.HTTPConnection(HOST, port, timeout=120)
    con.request("GET", path, headers={"Cookie": cookie})
    resp = con.getresponse()
    return resp.status, resp.read()


def code_state() -> dict[str, Any]:
    """Which code was served: the repository's commit, its changed files, the imported package."""
    import breedhub.web

    def git(*cmd: str) -> str:
        out = subprocess.run(["git", "-C", str(ROOT), *cmd], capture_output=True, text=True)
        return out.stdout.rstrip("\n")

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted": [p for p in changed if not p.startswith("bench/")],
            "breedhub_web": str(Path(breedhub.web.__file__).parent)}  # fmt: skip


def print_table(doc: dict[str, Any]) -> None:
    print()
    print(f"{doc['accessions']:,} accessions, {doc['predictions']:,} predictions, "
          f"{doc['clients']} clients, {doc['params']['seconds']} s per route")  # fmt: skip
    head = f"{'route':<16} {'p50 ms':>9} {'p95 ms':>9} {'goal p95':>9} {'ok?':>5} " \
           f"{'req/s':>7} {'errors':>7} {'x static':>9} {'1-client p50':>13}"  # fmt: skip
    print(head)
    print("-" * len(head))
    rows = {"static (floor)": doc.get("baseline", {}).get("static"), **doc["routes"]}
    for name, r in rows.items():
        if r is None:
            print(f"{name:<16} {'-':>9} {'-':>9} {'':>9} {'':>5}   {doc['notes'].get(name, '')}")
            continue
        goal = r.get("goal_p95_ms")
        ok = "" if r.get("ok") is None else ("yes" if r["ok"] else "NO")
        p50 = "-" if r["p50_ms"] is None else f"{r['p50_ms']:.1f}"
        p95 = "-" if r["p95_ms"] is None else f"{r['p95_ms']:.1f}"
        ratio = f"{r['ratio']:.1f}" if r.get("ratio") is not None else ""
        one = (r.get("single_client") or {}).get("p50_ms")
        one_s = "" if one is None else f"{one:.1f}"
        print(f"{name:<16} {p50:>9} {p95:>9} {'' if goal is None else f'{goal:.0f}':>9} {ok:>5} "
              f"{r['requests_per_s']:>7.1f} {r['errors']:>7} {ratio:>9} {one_s:>13}")  # fmt: skip
    print()


def measure_routes(routes: list[Route], data: PortalData, port: int, cookie: str,
                   args: argparse.Namespace, doc: dict[str, Any],
                   write_json: Callable[[], None]) -> None:  # fmt: skip
    """The static floor, then each route: 20 clients (after a warm-up), then one client."""

    def run(make: Callable[[random.Random], tuple[str, str]], seed: int) -> dict[str, Any]:
        asyncio.run(load(port, cookie, make, clients=args.clients, seconds=args.warmup,
                         seed=seed + 7, timeout=args.timeout))  # fmt: skip
        rows = asyncio.run(load(port, cookie, make, clients=args.clients,
                                seconds=args.seconds, seed=seed, timeout=args.timeout))  # fmt: skip
        return summarise(rows, args.seconds)

    def single(make: Callable[[random.Random], tuple[str, str]], seed: int) -> dict[str, Any]:
        rows = asyncio.run(load(port, cookie, make, clients=1, seconds=args.single_seconds,
                                seed=seed + 13, timeout=args.timeout))  # fmt: skip
        one = summarise(rows, args.single_seconds)
        return {k: one[k] for k in ("p50_ms", "p95_ms", "n_requests", "errors")}

    static = run(lambda rng: (STATIC, "static file"), 1)
    if args.single_seconds > 0:
        static["single_client"] = single(lambda rng: (STATIC, "static file"), 1)
    doc["baseline"]["static"] = static
    log(f"static: p50 {static['p50_ms']} ms, p95 {static['p95_ms']} ms")
    write_json()
    for i, route in enumerate(routes, start=2):
        path, _ = route.make(random.Random(args.seed), data)
        status, body = probe(port, cookie, path)
        if status == 404 or (status == 200 and PLACEHOLDER in body):
            why = "answers 404" if status == 404 else "shows its placeholder page"
            doc["routes"][route.name] = None
            doc["notes"][route.name] = f"{path.split('?')[0]} {why}: not built yet"
            log(f"{route.name}: {doc['notes'][route.name]}")
            write_json()
            continue
        res = run(lambda rng, r=route: r.make(rng, data), args.seed + i)
        if args.single_seconds > 0:
            res["single_client"] = single(lambda rng, r=route: r.make(rng, data), args.seed + i)
        res["goal_p95_ms"] = route.goal_p95_ms
        res["ok"] = (None if route.goal_p95_ms is None or res["p95_ms"] is None
                     else res["p95_ms"] < route.goal_p95_ms)  # fmt: skip
        res["ratio"] = (round(res["p50_ms"] / static["p50_ms"], 1)
                        if res["p50_ms"] and static["p50_ms"] else None)  # fmt: skip
        res["example"] = path[:300]
        doc["routes"][route.name] = res
        if res["p50_ms"] is None:
            doc["notes"][route.name] = "every request failed: see first_error"
        log(f"{route.name}: p50 {res['p50_ms']} ms, p95 {res['p95_ms']} ms, "
            f"{res['n_requests']} requests, {res['errors']} errors")  # fmt: skip
        write_json()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accessions", type=int, default=1_000_000)
    ap.add_argument("--predictions", type=int, default=1_000_000)
    ap.add_argument("--traits", type=int, default=2, help="traits of the model run")
    ap.add_argument("--genotyped", type=int, default=60, help="accessions in the genotype store")
    ap.add_argument("--markers", type=int, default=300)
    ap.add_argument("--species", default="rice", help="species of the model run")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15.0, help="measured seconds per route")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per route")
    ap.add_argument(
        "--single-seconds",
        type=float,
        default=3.0,
        help="seconds per route with one client (service time, no queueing); 0: skip",
    )
    ap.add_argument("--timeout", type=float, default=60.0, help="per request")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--worker-class", default="sync")
    ap.add_argument("--ratelimit-user", default=None,
                    help="e.g. '100000 per minute': passed to create_app's test_config through "
                         "gunicorn's factory call (default: the app's own limit)")  # fmt: skip
    ap.add_argument("--routes", default=",".join(r.name for r in ROUTES))
    ap.add_argument("--slow-ms", type=int, default=100, help="PostgreSQL logs statements over")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "portal.json")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary directory")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--quick", action="store_true", help="20,000 accessions and predictions, 5 s")
    args = ap.parse_args()
    if args.quick:
        args.accessions, args.predictions, args.seconds = 20_000, 20_000, 5.0
    chosen = [r for r in ROUTES if r.name in args.routes.split(",")]
    bindir = find_pg_bindir()
    if bindir is None:
        log("no PostgreSQL (pg_ctl) found: set BREEDHUB_PG_BINDIR")
        return 1

    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="bench-portal-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)  # the PostgreSQL server runs as user postgres
    home = workdir / "home"
    home.mkdir(exist_ok=True)

    import gunicorn

    machine = {
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "gunicorn": gunicorn.__version__,
        "postgresql": None,
        "shared": "the clients, the gunicorn workers and PostgreSQL share these cpus",
    }
    doc: dict[str, Any] = {
        "benchmark": "portal",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "accessions": args.accessions,
        "predictions": args.predictions,
        "clients": args.clients,
        "routes": {},
        "notes": {},
        "baseline": {},
        "machine": machine,
        "server": {
            "workers": args.workers,
            "worker_class": args.worker_class,
            "ratelimit_user": args.ratelimit_user or "the app's default",
            "client": "asyncio, HTTP/1.1, one connection per request, logged in as a "
            "breeder (session cookie)",
        },  # fmt: skip
        "params": {
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "traits": args.traits,
            "genotyped": args.genotyped,
            "markers": args.markers,
            "species": args.species,
            "seed": args.seed,
            "ratio": f"route p50 / p50 of {STATIC} served by the same gunicorn in the same run",
            "goal": "p95 under 100 ms for search, accession and ranking; under 1 s for "
            "the cross planner's 1,225 crosses (50 parents)",
        },  # fmt: skip
        "load_seconds": {},
        "code": code_state(),
        "slow_statements": [],
    }

    def write_json() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")

    server = PostgresServer(bindir, workdir / "pg", durable=False)
    proc = None
    try:
        server.start()
        url = server.create_database("portal")
        data = build(url, home, workdir, n_accessions=args.accessions,
                     n_predictions=args.predictions, n_traits=args.traits,
                     n_genotyped=args.genotyped, n_markers=args.markers,
                     species=args.species, seed=args.seed)  # fmt: skip
        doc["predictions"] = data.n_predictions
        doc["load_seconds"] = {k: round(v, 1) for k, v in data.seconds.items()}
        doc["load_seconds"]["total"] = round(sum(data.seconds.values()), 1)
        doc["data"] = {"species": data.species, "run_id": data.run_id, "traits": data.traits,
                       "predicted_accessions": len(data.predicted_ids),
                       "genotyped_accessions": len(data.genotyped_ids)}  # fmt: skip
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
            machine["postgresql"] = c.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            c.execute(f"ALTER DATABASE portal SET log_min_duration_statement = {args.slow_ms}")
        write_json()

        port = free_port()
        proc = start_gunicorn(args, url, home, port, workdir / "gunicorn.log")
        cookie = login(port)
        log("logged in as the benchmark's breeder")

        measure_routes(chosen, data, port, cookie, args, doc, write_json)
        doc["slow_statements"] = slow_statements(server.root / "log")
        explain(url, doc["slow_statements"])
    finally:
        if proc is not None:
            stop_gunicorn(proc)
            doc["server"]["log_tail"] = (workdir / "gunicorn.log").read_text(errors="replace")[
                -2000:
            ]
        if not doc["slow_statements"]:
            doc["slow_statements"] = slow_statements(server.root / "log")
        write_json()
        server.stop()
        if own_workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for r in ROUTES:  # every route of the issue appears, measured or null
        doc["routes"].setdefault(r.name, None)
        if doc["routes"][r.name] is None:
            doc["notes"].setdefault(r.name, "not measured in this run (--routes)")
    write_json()
    log(f"wrote {args.out}")
    print_table(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
