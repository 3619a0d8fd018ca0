"""Import from another BrAPI v2 server: fetch its objects page by page, import them in one go.

:func:`import_brapi` reads germplasm (with MCPD passports and pedigrees),
trials, studies, observation units and observations from a BrAPI v2 server
(:class:`BrapiClient`: paging, errors), maps them to the tables of our file
imports (:mod:`germplasm.brapi_import_map`), and runs those importers'
validation and writing (:func:`~germplasm.passport.import_passport`,
:func:`~germplasm.pedigree.import_pedigree`,
:func:`~germplasm.phenotypes.import_observations`) on one database
connection inside one transaction: everything is written, or nothing.

Any failure of the server (unreachable, timeout, an HTTP error, a 401, an
answer that is not BrAPI JSON) is a :class:`BrapiFetchError` with a one-line
message; problems in the data are a
:class:`~germplasm.exceptions.ValidationError` whose problems name the BrAPI
object and field.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

import polars as pl
import requests
from sqlalchemy import Connection, Engine, delete, select, update

from breedhub.germplasm.audit import start_import
from breedhub.germplasm.brapi_import_map import (
    BrapiProblem,
    Design,
    Origin,
    Table,
    germplasm_origin,
    observation_rows,
    observation_table,
    passport_row,
    passport_table,
    pedigree_row,
    pedigree_table,
    text,
)
from breedhub.germplasm.db import transaction
from breedhub.germplasm.exceptions import GermplasmError, ValidationError
from breedhub.germplasm.models import ObservationUnit, Study, Trial
from breedhub.germplasm.models_audit import DataImport, ImportChange
from breedhub.germplasm.reports import ImportReport, Progress, silent

__all__ = ["BrapiClient", "BrapiFetchError", "BrapiImportReport", "import_brapi"]

JSON = dict[str, Any]

#: Objects asked for per page.
PAGE_SIZE = 1000
#: A server claiming more pages than this is not followed (a loop guard).
MAX_PAGES = 100_000


class BrapiFetchError(GermplasmError):
    """The BrAPI server could not be read: unreachable, an error, or not BrAPI."""


@dataclass
class BrapiClient:
    """A reader of one BrAPI v2 server.

    Parameters
    ----------
    base_url
        The server's BrAPI base, e.g. ``https://host/brapi/v2``.
    token
        A bearer token, sent as ``Authorization: Bearer <token>``.
    timeout
        Seconds to wait for a connection and for each answer.
    page_size
        Objects asked for per page.
    progress
        Called with a line for each page fetched.
    """

    base_url: str
    token: str | None = None
    timeout: float = 30.0
    page_size: int = PAGE_SIZE
    progress: Progress = silent
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        url = self.base_url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BrapiFetchError(
                f"{self.base_url!r} is not an http(s) URL; give the server's BrAPI base, "
                "e.g. https://host/brapi/v2"
            )
        self.base_url = url
        if self.token:
            self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.http.headers["Accept"] = "application/json"

    def get(self, path: str, params: Mapping[str, object] | None = None) -> JSON:
        """The envelope of ``GET {base}/{path}``, checked to be BrAPI JSON.

        Raises
        ------
        BrapiFetchError
            For a network failure, a timeout, an HTTP error status (401 and
            403 with a hint about ``--token``), or an answer that is not a
            BrAPI envelope.
        """
        url = f"{self.base_url}/{path}"
        try:
            query = {k: str(v) for k, v in (params or {}).items()}
            resp = self.http.get(url, params=query, timeout=self.timeout)
        except requests.Timeout:
            raise BrapiFetchError(f"GET {url}: no answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BrapiFetchError(f"GET {url}: cannot reach the server ({reason})") from None
        if resp.status_code in (401, 403):
            hint = (
                "a valid --token is needed"
                if not self.token
                else "the server refused the --token given"
            )
            raise BrapiFetchError(
                f"GET {url} answered {resp.status_code} {resp.reason}: {hint}{_said(resp)}"
            )
        if resp.status_code != 200:
            raise BrapiFetchError(
                f"GET {url} answered {resp.status_code} {resp.reason}{_said(resp)}"
            )
        try:
            body = resp.json()
        except ValueError:
            raise BrapiFetchError(
                f"GET {url}: the answer is not JSON; is {self.base_url} a BrAPI v2 base URL?"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
            raise BrapiFetchError(
                f"GET {url}: the answer is not a BrAPI envelope (no 'result' object); "
                f"is {self.base_url} a BrAPI v2 base URL?"
            )
        return body

    def pages(self, path: str, params: Mapping[str, object] | None = None) -> Iterator[list[JSON]]:
        """Each page of ``GET {base}/{path}``'s ``result.data``, from page 0 to the last.

        The last page is the one ``metadata.pagination.totalPages`` names, or,
        when a server does not give it, the first page shorter than asked for.
        """
        page = 0
        while True:
            body = self.get(path, {**(params or {}), "page": page, "pageSize": self.page_size})
            data = body["result"].get("data")
            if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
                raise BrapiFetchError(
                    f"GET {self.base_url}/{path}: result.data is not a list of objects"
                )
            pagination = (body.get("metadata") or {}).get("pagination") or {}
            total = pagination.get("totalPages") if isinstance(pagination, dict) else None
            if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
                self.progress(f"{path}: page {page + 1} of {max(total, 1)}")
                last = page + 1 >= total or not data
            else:
                self.progress(f"{path}: page {page + 1}")
                last = len(data) < self.page_size
            yield data
            if last:
                return
            page += 1
            if page >= MAX_PAGES:
                raise BrapiFetchError(f"GET {self.base_url}/{path}: more than {MAX_PAGES} pages")

    def all(self, path: str, params: Mapping[str, object] | None = None) -> list[JSON]:
        """Every object of a paged list."""
        return [obj for page in self.pages(path, params) for obj in page]

    def calls(self) -> set[str] | None:
        """The GET services ``serverinfo`` lists (None when it lists none).

        Raises
        ------
        BrapiFetchError
            When ``serverinfo`` is missing or not BrAPI: the URL is not a
            BrAPI v2 server.
        """
        try:
            info = self.get("serverinfo")
        except BrapiFetchError as exc:
            raise BrapiFetchError(f"{self.base_url} is not a BrAPI v2 server: {exc}") from None
        calls = info["result"].get("calls")
        if not isinstance(calls, list) or not calls:
            return None
        out = set()
        for c in calls:
            if isinstance(c, dict) and "GET" in (c.get("methods") or []):
                out.add(str(c.get("service", "")).strip("/"))
        return out


def _said(resp: requests.Response) -> str:
    """What an error answer says, on one line, shortened (the BrAPI error string)."""
    try:
        body = resp.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        status = (body.get("metadata") or {}).get("status") or []
        body = next((s.get("message") for s in status if isinstance(s, dict)), None)
    if not isinstance(body, str) or not body.strip():
        return ""
    line = " ".join(body.split())
    return f" ({line[:200]})"


@dataclass
class Fetched:
    """Everything read from the server, by kind, each a list of BrAPI objects."""

    germplasm: list[JSON] = field(default_factory=list)
    mcpd: dict[str, JSON] = field(default_factory=dict)
    pedigree: list[JSON] = field(default_factory=list)
    trials: list[JSON] = field(default_factory=list)
    studies: list[JSON] = field(default_factory=list)
    units: list[JSON] = field(default_factory=list)
    observations: list[JSON] = field(default_factory=list)
    seasons: list[JSON] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "germplasm": len(self.germplasm),
            "mcpd": len(self.mcpd),
            "pedigree": len(self.pedigree),
            "trials": len(self.trials),
            "studies": len(self.studies),
            "observationunits": len(self.units),
            "observations": len(self.observations),
        }


def _ids(objs: list[JSON], key: str) -> set[str]:
    return {text(o.get(key)) for o in objs}


def _find_program(client: BrapiClient, program: str) -> JSON:
    programs = client.all("programs")
    for key in ("programDbId", "programName", "abbreviation"):
        hit = [p for p in programs if text(p.get(key)) == program]
        if hit:
            return hit[0]
    names = ", ".join(sorted(text(p.get("programName")) for p in programs)[:10]) or "none"
    raise BrapiFetchError(
        f"{client.base_url} has no program {program!r} (by programDbId or name); its programs: {names}"
    )


def fetch(client: BrapiClient, *, program: str | None = None) -> Fetched:
    """Read germplasm, MCPD, pedigrees, trials, studies, units and observations.

    With ``program`` (a programDbId or name), only that program's trials and
    what hangs from them, and only the germplasm they observe and its
    ancestors. Calls the server does not list in ``serverinfo`` are left out
    with a warning (MCPD and pedigrees fall back to what ``Germplasm`` says).
    """
    calls = client.calls()
    out = Fetched()

    def offered(service: str) -> bool:
        return calls is None or service in calls

    params: dict[str, object] = {}
    if program is not None:
        if not offered("programs"):
            raise BrapiFetchError(
                f"{client.base_url} does not offer GET programs: cannot use --program"
            )
        params["programDbId"] = text(_find_program(client, program).get("programDbId"))
    for service, attr in (
        ("trials", "trials"),
        ("studies", "studies"),
        ("observationunits", "units"),
        ("observations", "observations"),
    ):
        if offered(service):
            setattr(out, attr, client.all(service, params))
        else:
            out.warnings.append(f"the server does not offer GET {service}: none imported")
    if program is not None:  # in case a server ignores the filter
        _only_program(out, text(params["programDbId"]))
    if offered("seasons"):
        out.seasons = client.all("seasons")
    if not offered("germplasm"):
        raise BrapiFetchError(f"{client.base_url} does not offer GET germplasm")
    out.germplasm = client.all("germplasm")
    _fetch_pedigree(client, out, offered)
    if program is not None:
        out.germplasm = _used_germplasm(out)
        kept = _ids(out.germplasm, "germplasmDbId")
        out.pedigree = [p for p in out.pedigree if text(p.get("germplasmDbId")) in kept]
    if offered("germplasm/{germplasmDbId}/mcpd"):
        for i, g in enumerate(out.germplasm, start=1):
            gid = text(g.get("germplasmDbId"))
            out.mcpd[gid] = client.get(f"germplasm/{quote(gid, safe='')}/mcpd")["result"]
            if i % 100 == 0 or i == len(out.germplasm):
                client.progress(f"germplasm MCPD: {i:,} of {len(out.germplasm):,}")
    else:
        out.warnings.append(
            "the server does not offer GET germplasm/{id}/mcpd: passports from Germplasm only"
        )
    return out


def _only_program(out: Fetched, program_id: str) -> None:
    """Keep the trials of one program and what hangs from them."""
    out.trials = [t for t in out.trials if text(t.get("programDbId")) == program_id]
    trial_ids = _ids(out.trials, "trialDbId")
    out.studies = [s for s in out.studies if text(s.get("trialDbId")) in trial_ids]
    study_ids = _ids(out.studies, "studyDbId")
    out.units = [u for u in out.units if text(u.get("studyDbId")) in study_ids]
    unit_ids = _ids(out.units, "observationUnitDbId")
    out.observations = [
        o for o in out.observations if text(o.get("observationUnitDbId")) in unit_ids
    ]


def _fetch_pedigree(client: BrapiClient, out: Fetched, offered: Callable[[str], bool]) -> None:
    """Pedigree nodes from ``GET pedigree``, else the deprecated per-germplasm call."""
    if offered("pedigree"):
        out.pedigree = client.all("pedigree", {"includeParents": "true"})
    elif offered("germplasm/{germplasmDbId}/pedigree"):
        for g in out.germplasm:
            gid = quote(text(g.get("germplasmDbId")), safe="")
            node = client.get(f"germplasm/{gid}/pedigree")["result"]
            out.pedigree.append({"germplasmDbId": g.get("germplasmDbId"), **node})
    else:
        out.warnings.append("the server offers no pedigree call: no parents imported")


def _used_germplasm(data: Fetched) -> list[JSON]:
    """The germplasm the units and observations name, and all their ancestors."""
    want = _ids(data.units, "germplasmDbId") | _ids(data.observations, "germplasmDbId")
    parents = {
        text(n.get("germplasmDbId")): [
            text(p.get("germplasmDbId")) for p in n.get("parents") or [] if isinstance(p, dict)
        ]
        for n in data.pedigree
    }
    todo = list(want)
    while todo:
        for p in parents.get(todo.pop(), []):
            if p and p not in want:
                want.add(p)
                todo.append(p)
    return [g for g in data.germplasm if text(g.get("germplasmDbId")) in want]


@dataclass
class Tables:
    """The three import tables built from the fetched objects, and mapping problems."""

    passport: Table
    pedigree: Table
    observations: Table
    problems: list[BrapiProblem]
    skipped_observations: int = 0


def build_tables(data: Fetched) -> Tables:
    """Map the fetched objects to the passport, pedigree and observation tables."""
    passport, pedigree, observations = passport_table(), pedigree_table(), observation_table()
    problems: list[BrapiProblem] = []
    refs: dict[str, tuple[str, str]] = {}
    for g in data.germplasm:
        gid = text(g.get("germplasmDbId"))
        passport.add(passport_row(g, data.mcpd.get(gid)), germplasm_origin(g))
        row = passport.rows[-1]
        refs[gid] = (row["INSTCODE"], row["ACCENUMB"])
    for node in data.pedigree:
        origin = Origin(
            "pedigree node", text(node.get("germplasmDbId")), text(node.get("germplasmName"))
        )
        ped_row, unknown = pedigree_row(node, refs)
        for field_, pid in unknown:
            problems.append(
                BrapiProblem(
                    len(problems) + 1,
                    field_,
                    pid,
                    "no such germplasm among those fetched",
                    str(origin),
                )
            )
        if ped_row is not None and not unknown:
            pedigree.add(ped_row, origin)
    design = Design(
        trials={text(t.get("trialDbId")): t for t in data.trials},
        studies={text(s.get("studyDbId")): s for s in data.studies},
        units={text(u.get("observationUnitDbId")): u for u in data.units},
        seasons={text(s.get("seasonDbId")): s for s in data.seasons},
        refs=refs,
    )
    obs_problems, skipped = observation_rows(data.observations, design, observations)
    return Tables(passport, pedigree, observations, problems + obs_problems, skipped)


@dataclass
class BrapiImportReport:
    """What an import from a BrAPI server did: counts per kind, as our file imports count."""

    source: str
    program: str | None
    dry_run: bool
    fetched: dict[str, int]
    imports: dict[str, ImportReport]
    design: dict[str, dict[str, int]]
    skipped_observations: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "program": self.program,
            "dry_run": self.dry_run,
            "fetched": self.fetched,
            "imports": {k: asdict(r) for k, r in self.imports.items()},
            "design": self.design,
            "skipped_observations": self.skipped_observations,
            "warnings": self.warnings,
        }

    def __str__(self) -> str:
        head = f"{self.source}" + (f" (program {self.program})" if self.program else "")
        lines = [head + (": dry run, nothing written" if self.dry_run else "")]
        lines.append("  fetched: " + ", ".join(f"{n:,} {k}" for k, n in self.fetched.items()))
        for kind, r in self.imports.items():
            lines.append(
                f"  {kind}: {r.rows:,} rows: {r.inserted:,} new, {r.updated:,} changed, "
                f"{r.unchanged:,} unchanged"
            )
        for kind, c in self.design.items():
            lines.append(f"  {kind}: {c['new']:,} new, {c['existing']:,} already there")
        if self.skipped_observations:
            lines.append(f"  {self.skipped_observations:,} observations without a value skipped")
        return "\n".join(lines)


Importer = Callable[..., ImportReport]


def _run(
    importer: Importer, bind: Connection, table: Table, path: Path, source: str, **kw: Any
) -> ImportReport:
    """Write ``table`` to ``path`` and import it on ``bind``, in BrAPI terms."""
    pl.DataFrame(table.rows, schema={c: pl.String for c in table.columns}).write_csv(path)
    try:
        # The importers open their session on this connection; its transaction
        # stays ours (a Session joining a begun transaction never commits it).
        report = importer(cast(Engine, bind), path, **kw)
    except ValidationError as exc:
        raise ValidationError(source, [table.problem(p) for p in exc.problems]) from None
    report.source = source
    return report


def _design_counts(conn: Connection, table: Table) -> dict[str, dict[str, int]]:
    """Trials, studies and units of the observation table: new, or already in the database."""
    trials = {r["trial"] for r in table.rows}
    studies = {r["study"] for r in table.rows}
    units = {
        (r["study"], r["unit"] or f"{r['instcode']}:{r['accenumb']}:R{r['replicate'] or '1'}")
        for r in table.rows
    }
    have_trials = set(conn.scalars(select(Trial.name).where(Trial.name.in_(trials))))
    have_studies = set(conn.scalars(select(Study.name).where(Study.name.in_(studies))))
    have_units = set(
        conn.execute(
            select(Study.name, ObservationUnit.name)
            .join(Study, Study.id == ObservationUnit.study_id)
            .where(Study.name.in_(studies))
        ).tuples()
    )
    return {
        "trials": {"new": len(trials - have_trials), "existing": len(trials & have_trials)},
        "studies": {"new": len(studies - have_studies), "existing": len(studies & have_studies)},
        "observation units": {"new": len(units - have_units), "existing": len(units & have_units)},
    }


def import_brapi(
    engine: Engine,
    url: str,
    *,
    token: str | None = None,
    program: str | None = None,
    dry_run: bool = False,
    timeout: float = 30.0,
    page_size: int = PAGE_SIZE,
    progress: Progress = silent,
) -> BrapiImportReport:
    """Import germplasm, pedigrees, trials and observations from a BrAPI v2 server.

    Parameters
    ----------
    engine
        Our germplasm database.
    url
        The server's BrAPI base URL (``https://host/brapi/v2``).
    token
        Bearer token for the server.
    program
        Only this program's trials (programDbId or programName), and the
        germplasm they observe with its ancestors.
    dry_run
        Fetch and validate everything (the writes are rolled back).
    timeout
        Seconds to wait for each answer.
    page_size
        Objects asked for per page.
    progress
        Called with a line for each page and stage.

    Returns
    -------
    BrapiImportReport

    Raises
    ------
    BrapiFetchError
        The server could not be read; nothing was written.
    ValidationError
        Problems in the data, each naming the BrAPI object and field; nothing
        was written.
    """
    client = BrapiClient(url, token=token, timeout=timeout, page_size=page_size, progress=progress)
    source = client.base_url
    data = fetch(client, program=program)
    progress("fetched " + ", ".join(f"{n:,} {k}" for k, n in data.counts().items()))
    tables = build_tables(data)
    if tables.problems:
        raise ValidationError(source, list(tables.problems))
    imports: dict[str, ImportReport] = {}
    from breedhub.germplasm.passport import import_passport
    from breedhub.germplasm.pedigree import import_pedigree
    from breedhub.germplasm.phenotypes import import_observations

    with tempfile.TemporaryDirectory(prefix="breedhub-brapi-") as tmp, engine.connect() as conn:
        trans = conn.begin()
        try:
            if tables.passport.rows:
                progress(f"validating and writing {len(tables.passport.rows):,} passports")
                imports["passport"] = _run(
                    import_passport, conn, tables.passport, Path(tmp, "passport.csv"), source
                )
            if tables.pedigree.rows:
                progress(f"validating and writing {len(tables.pedigree.rows):,} pedigrees")
                imports["pedigree"] = _run(
                    import_pedigree,
                    conn,
                    tables.pedigree,
                    Path(tmp, "pedigree.csv"),
                    source,
                    record=False,
                )
            design = _design_counts(conn, tables.observations) if tables.observations.rows else {}
            if tables.observations.rows:
                progress(f"validating and writing {len(tables.observations.rows):,} observations")
                imports["observation"] = _run(
                    import_observations,
                    conn,
                    tables.observations,
                    Path(tmp, "observations.csv"),
                    source,
                )
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
        report = BrapiImportReport(
            source=source,
            program=program,
            dry_run=dry_run,
            fetched=data.counts(),
            imports=imports,
            design=design,
            skipped_observations=tables.skipped_observations,
            warnings=data.warnings,
        )
        if dry_run:
            trans.rollback()
        else:
            _record(conn, report, page_size=page_size)
            trans.commit()
    return report


def _record(conn: Connection, report: BrapiImportReport, *, page_size: int) -> None:
    """Record the import (kind ``brapi``, the server's URL) in the audit trail, in its transaction.

    The file importers it ran record themselves (the passport one with every
    accession it created and every field it changed): their records are
    folded into this one, so the audit trail shows one import from the server.
    """
    counts: dict[str, int] = {f"fetched_{k}": n for k, n in report.fetched.items()}
    for kind, r in report.imports.items():
        counts.update(
            {
                f"{kind}_{k}": v
                for k, v in asdict(r).items()
                if isinstance(v, int) and not isinstance(v, bool) and k != "import_id"
            }
        )
    parts = [i for r in report.imports.values() if (i := getattr(r, "import_id", None))]
    with transaction(cast(Engine, conn)) as session:
        record = start_import(
            session,
            "brapi",
            report.source,
            options={"program": report.program, "page_size": page_size},
        )
        record.counts = counts
        if parts:
            session.execute(
                update(ImportChange)
                .where(ImportChange.import_id.in_(parts))
                .values(import_id=record.id)
            )
            session.execute(delete(DataImport).where(DataImport.id.in_(parts)))
        session.flush()
        for r in report.imports.values():
            if hasattr(r, "import_id"):
                r.import_id = record.id
