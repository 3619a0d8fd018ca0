"""The accession search: filters, sort and a bounded page, fast at a million accessions.

Three rules keep every search within a few index ranges, whatever it asks:

* **A bounded count.** A search counts its matches up to :data:`MAX_RESULTS`;
  beyond that :attr:`Page.total` is :data:`MAX_RESULTS` and
  :attr:`Page.total_is_lower_bound` is True ("10,000+ accessions"), so that a
  broad search never counts a million rows.
* **A bounded window.** Pages reach the first :data:`MAX_RESULTS` results; a
  deeper page of a broader search is refused with a message asking to narrow
  it (a page past the last page of a smaller result is simply empty).
* **Index-ordered pages.** The sort is the order of an index where the usual
  searches need one: a species' accessions by number
  (``ix_accession_species_accenumb``), a trait's means
  (``ix_trait_summary_variable_mean``, the accession id included so the index
  alone answers), ties broken by the id in the same direction, so that a
  descending page is the same index read backwards.

Names are matched by prefix on their normalised key
(:func:`germplasm.names.search_key`), an index range on both engines; an
MCPD other number written with its institute (``CHN001:ZD-123``) is found
with or without that prefix.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, text
from sqlalchemy.orm import Session, aliased, lazyload

from breedhub.germplasm.exceptions import NotFoundError
from breedhub.germplasm.mcpd import SAMPSTAT
from breedhub.germplasm.models import (
    Accession,
    AccessionName,
    GenotypeDatasetSample,
    Institute,
    ObservationVariable,
    Sample,
    SpeciesRow,
    TraitSummary,
)
from breedhub.germplasm.names import prefix_upper_bound, search_key

SORT_KEYS = ("accenumb", "name", "species", "institute", "origin", "sampstat", "acqdate")
MAX_PAGE_SIZE = 1000
#: A search counts and pages through at most this many results: beyond it the
#: count is a lower bound and a deeper page asks the user to narrow the search.
MAX_RESULTS = 10_000
#: The highest page number accepted at all (a page past the last one is empty).
MAX_PAGE = 1_000_000_000
#: The longest text accepted in a search field.
MAX_TEXT = 300
#: ``INSTCODE:`` as MCPD writes it before an other number (OTHERNUMB): a FAO WIEWS
#: code, three letters and digits (``CHN001``, ``DEU146``).
_INSTCODE_PREFIX = re.compile(r"\s*([A-Za-z]{3}[0-9]{3,4})\s*:\s*(.*\S)\s*", re.ASCII)


@dataclass(frozen=True)
class TraitRange:
    """Keep accessions whose mean for ``variable`` lies in [min, max] (either may be None)."""

    variable: str
    min: float | None = None
    max: float | None = None


def _check_text(what: str, value: str | None) -> None:
    """ValueError for text no database can take: control characters (NUL), or too long."""
    if value is None:
        return
    bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise ValueError(f"{what} must not contain control characters such as NUL "
                         f"(found U+{ord(bad):04X})")  # fmt: skip
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} must be at most {MAX_TEXT} characters long, not {len(value)}")


@dataclass(frozen=True)
class AccessionQuery:
    """What to search for. Every field is optional; filters combine with AND.

    Attributes
    ----------
    text
        Prefix of any name, accession number, synonym or other number,
        matched after :func:`germplasm.names.search_key` normalisation; an
        other number may carry its institute (``CHN001:ZD-123``). Text with
        no letter or digit (``--``) is refused: it would match everything.
    species
        Species key (``rice``).
    institute
        Holding institute's WIEWS code.
    origin
        ISO 3166-1 alpha-3 country of origin.
    sampstat
        MCPD biological status; a general code includes its specific ones
        (400 matches 410, 411, ...).
    traits
        Ranges on the accession's mean of a variable (an accession without
        data for the variable is left out).
    genotyped
        True: only accessions with a sample in a genotype dataset; False: only without.
    page, page_size
        Page ``page`` (from 1) of ``page_size`` results; only the first
        :data:`MAX_RESULTS` results can be paged through.
    sort
        One of :data:`SORT_KEYS`, or the name of a variable to sort by its
        mean (accessions without data for it last).
    descending
        Sort from the highest; ties are broken by id in the same direction.
    """

    text: str | None = None
    species: str | None = None
    institute: str | None = None
    origin: str | None = None
    sampstat: int | None = None
    traits: tuple[TraitRange, ...] = ()
    genotyped: bool | None = None
    page: int = 1
    page_size: int = 25
    sort: str = "accenumb"
    descending: bool = False

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad argument and what it should be."""
        if self.page < 1:
            raise ValueError(f"page must be 1 or more, not {self.page}")
        if self.page > MAX_PAGE:
            raise ValueError(f"page must be at most {MAX_PAGE:,}, not {self.page}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(
                f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {self.page_size}"
            )
        for what, value in (("search text", self.text), ("species", self.species),
                            ("institute", self.institute), ("origin", self.origin),
                            ("sort", self.sort)):  # fmt: skip
            _check_text(what, value)
        if self.text and self.text.strip() and not text_keys(self.text):
            raise ValueError(
                f"search text {self.text.strip()!r} has no letter or digit to search for: "
                "type part of a name or number (punctuation and spaces are ignored)"
            )
        if self.sampstat is not None and self.sampstat not in SAMPSTAT:
            raise ValueError(f"sampstat {self.sampstat} is not an MCPD SAMPSTAT code")
        if self.origin is not None and len(self.origin) != 3:
            raise ValueError(f"origin must be an ISO 3166-1 alpha-3 code, not {self.origin!r}")
        for tr in self.traits:
            _check_text("trait", tr.variable)
            for bound in (tr.min, tr.max):
                if bound is not None and not math.isfinite(bound):
                    raise ValueError(f"trait {tr.variable}: bounds must be finite, not {bound}")


@dataclass
class Page:
    """One page of results, in the shape the CLI prints with ``--json``.

    ``total`` is exact up to :data:`MAX_RESULTS`; for a broader search it is
    :data:`MAX_RESULTS` and ``total_is_lower_bound`` is True (show "10,000+").
    """

    total: int
    page: int
    page_size: int
    results: list[dict[str, Any]] = field(default_factory=list)
    total_is_lower_bound: bool = False

    @property
    def pages(self) -> int:
        """Pages that can be shown: of the whole result, or of its first :data:`MAX_RESULTS`."""
        return max(1, -(-self.total // self.page_size))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``total_is_lower_bound`` only when True (the usual shape otherwise)."""
        out: dict[str, Any] = {
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "results": self.results,
        }
        if self.total_is_lower_bound:
            out["total_is_lower_bound"] = True
        return out


def text_keys(text: str) -> list[str]:
    """The normalised prefixes a search text is looked up by (none: nothing to search).

    The whole text's key, and for ``INSTCODE:NUMBER`` (MCPD's way of writing
    an other number) also the number's key: the import stores other numbers
    without their institute.

    >>> text_keys("CHN001:ZD-123"), text_keys("IR 64"), text_keys("--")
    (['zd123', 'chn001zd123'], ['ir64'], [])
    """
    keys = []
    m = _INSTCODE_PREFIX.fullmatch(text)
    if m is not None:
        keys.append(search_key(m.group(2)))
    keys.append(search_key(text))
    return [k for k in dict.fromkeys(keys) if k]


def _sampstat_range(code: int) -> tuple[int, int]:
    """MCPD's hierarchy: 100 covers 100-199, 410 covers 410-419, 411 only itself."""
    if code % 100 == 0 and code != 999:
        return code, code + 100
    if code % 10 == 0:
        return code, code + 10
    return code, code + 1


def _variable_ids(session: Session, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    rows = session.execute(
        select(ObservationVariable.name, ObservationVariable.id).where(
            ObservationVariable.name.in_(names)
        )
    ).all()
    found = {n: i for n, i in rows}
    missing = [n for n in names if n not in found]
    if missing:
        raise NotFoundError(f"unknown observation variable(s): {', '.join(missing)}")
    return found


def _genotyped(wanted: bool, driving: bool) -> ColumnElement[bool]:
    """The accession has (or has not) a sample in a genotype dataset.

    "Genotyped" is an IN over the genotyped samples, which the planners can
    drive from that (smaller) side, or, not ``driving``, an EXISTS probed for
    each accession the sort's index reads; "not genotyped" is a NOT EXISTS,
    one probe of ``ix_sample_accession_id`` per candidate accession.
    """
    samples = select(Sample.accession_id).join(
        GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id
    )
    if wanted and driving:
        return Accession.id.in_(samples)
    if wanted:
        return exists(samples.where(Sample.accession_id == Accession.id))
    # OFFSET 0 keeps PostgreSQL from hashing every genotyped sample for an anti-join:
    # a bounded count or page probes only the accessions it reads.
    return ~exists(samples.where(Sample.accession_id == Accession.id).offset(0))


def _conditions(
    session: Session, q: AccessionQuery, *, driving: bool = True
) -> list[ColumnElement[bool]]:
    """The WHERE clauses on ``accession`` (applied directly, so the planner sees them).

    ``driving=False`` writes the biological-status and genotyped filters so
    that no index can serve them (``column + 0``): SQLite then reads the sort's
    index and filters, instead of sorting every match of a broad filter.
    """
    conds: list[ColumnElement[bool]] = []
    sampstat: Any = Accession.sampstat if driving else Accession.sampstat + 0
    keys = text_keys(q.text) if q.text else []
    if keys:
        conds.append(
            Accession.id.in_(
                select(AccessionName.accession_id).where(
                    or_(
                        *(
                            and_(AccessionName.key >= k, AccessionName.key < prefix_upper_bound(k))
                            for k in keys
                        )
                    )
                )
            )
        )
    if q.species:
        species_id = session.scalar(select(SpeciesRow.id).where(SpeciesRow.key == q.species))
        if species_id is None:
            raise NotFoundError(f"unknown species {q.species!r}")
        conds.append(Accession.species_id == species_id)
    if q.institute:
        inst_id = session.scalar(select(Institute.id).where(Institute.code == q.institute.upper()))
        conds.append(Accession.institute_id == (inst_id if inst_id is not None else -1))
    if q.origin:
        conds.append(Accession.origcty == q.origin.upper())
    if q.sampstat is not None:
        lo, hi = _sampstat_range(q.sampstat)
        codes = [c for c in SAMPSTAT if lo <= c < hi]  # the import accepts only these
        if len(codes) == 1:  # an equality: its index lists them by number
            conds.append(sampstat == codes[0])
        else:
            conds.append(and_(sampstat >= lo, sampstat < hi))
    if q.genotyped is not None:
        conds.append(_genotyped(q.genotyped, driving))
    return conds


def _trait_joins(
    stmt: Select[Any], q: AccessionQuery, var_ids: dict[str, int]
) -> tuple[Select[Any], Any]:
    """Join one ``trait_summary`` row per filtered (or sorted-by) trait; return the sort's.

    A filtered trait is an inner join on (accession, variable) with the range
    on its mean, which the ``(variable_id, mean, accession_id)`` index answers
    alone; sorting by a filtered trait reads that index in order. Sorting by
    a trait that is not filtered is an outer join (accessions without data last).
    """
    sort_summary = None
    for tr in q.traits:
        ts = aliased(TraitSummary)
        on = [ts.accession_id == Accession.id, ts.variable_id == var_ids[tr.variable]]
        sorted_by = tr.variable == q.sort and sort_summary is None
        if sorted_by:
            on.append(ts.mean.is_not(None))  # no NULL to place: the index order is the order
        if tr.min is not None:
            on.append(ts.mean >= tr.min)
        if tr.max is not None:
            on.append(ts.mean <= tr.max)
        stmt = stmt.join(ts, and_(*on))
        if sorted_by:
            sort_summary = ts
    if q.sort not in SORT_KEYS and sort_summary is None:
        sort_summary = aliased(TraitSummary)
        stmt = stmt.outerjoin(
            sort_summary,
            and_(
                sort_summary.accession_id == Accession.id,
                sort_summary.variable_id == var_ids[q.sort],
            ),
        )
        return stmt, (sort_summary, True)
    return stmt, (sort_summary, False)


def _count(session: Session, q: AccessionQuery, conds: list[Any], var_ids: dict[str, int]) -> int:
    """Matches up to ``MAX_RESULTS + 1``: counting stops there."""
    if q.genotyped and not q.traits and len(conds) == 1:
        # Only "genotyped": distinct accessions of the genotyped samples, read in index
        # order so that counting stops at the cap instead of hashing every sample.
        inner = (
            select(Sample.accession_id)
            .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
            .distinct()
            .order_by(Sample.accession_id)
        )
    elif not conds and len(q.traits) == 1:
        # Only a trait range: the summary index alone (its foreign key vouches for the accession).
        tr = q.traits[0]
        inner = select(literal(1)).where(TraitSummary.variable_id == var_ids[tr.variable])
        if tr.min is not None:
            inner = inner.where(TraitSummary.mean >= tr.min)
        if tr.max is not None:
            inner = inner.where(TraitSummary.mean <= tr.max)
    else:
        inner = select(literal(1)).select_from(Accession).where(*conds)
        inner, _ = _trait_joins(inner, q.__class__(traits=q.traits), var_ids)
    limited = inner.limit(MAX_RESULTS + 1).subquery()
    return session.scalar(select(func.count()).select_from(limited)) or 0


def _page_ids(
    session: Session,
    q: AccessionQuery,
    conds: list[Any],
    var_ids: dict[str, int],
    offset: int,
    limit: int,
) -> list[int]:
    """The ids of one page, sorted: narrow rows, so no wide row is sorted."""
    stmt = select(Accession.id).where(*conds)
    stmt, (summary, outer) = _trait_joins(stmt, q, var_ids)
    order: Any
    if summary is not None:
        order = summary.mean
    elif q.sort == "institute":
        stmt = stmt.join(Institute, Institute.id == Accession.institute_id)
        order = Institute.code
    elif q.sort == "species":
        stmt = stmt.join(SpeciesRow, SpeciesRow.id == Accession.species_id)
        order = SpeciesRow.key
    else:
        order = {
            "accenumb": Accession.accenumb,
            "name": Accession.name,
            "origin": Accession.origcty,
            "sampstat": Accession.sampstat,
            "acqdate": Accession.acqdate,
        }[q.sort]
    first = order.desc() if q.descending else order.asc()
    if outer or q.sort == "sampstat":
        # Only these may be NULL; NULLS LAST elsewhere would stop an index from serving the order.
        first = first.nulls_last()
    # The tie-break: the id, in the sort's direction (an index read backwards) -- for a
    # filtered trait the summary's accession id, so that its index alone gives the order.
    tie = summary.accession_id if summary is not None and not outer else Accession.id
    stmt = stmt.order_by(first, tie.desc() if q.descending else tie.asc())
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def search_accessions(session: Session, query: AccessionQuery) -> Page:
    """Search accessions; return one sorted page and the (bounded) count.

    Parameters
    ----------
    session
        An open database session.
    query
        Filters, sort and page; see :class:`AccessionQuery`.

    Returns
    -------
    Page
        ``results`` holds one dict per accession: ids, numbers, names,
        species, origin, status, ``genotyped`` and, for each filtered or
        sorted trait, its mean. ``total`` is exact up to :data:`MAX_RESULTS`.

    Raises
    ------
    ValueError
        For a bad page, page size, text, SAMPSTAT or origin, and for a page
        beyond the first :data:`MAX_RESULTS` results of a broader search
        (the message asks to narrow it).
    NotFoundError
        For an unknown species, or a trait naming an unknown variable.
    """
    query.validate()
    if session.get_bind().dialect.name == "postgresql":
        # Every statement here reads a bounded range: compiling it (JIT, for the planner's
        # high estimates of the LIMITed scans) costs more than running it.
        session.execute(text("SET LOCAL jit = off"))
    trait_names = [t.variable for t in query.traits]
    if query.sort not in SORT_KEYS and query.sort not in trait_names:
        trait_names.append(query.sort)
    var_ids = _variable_ids(session, trait_names)
    conds = _conditions(session, query)
    n = _count(session, query, conds, var_ids)
    total, more = min(n, MAX_RESULTS), n > MAX_RESULTS
    offset = (query.page - 1) * query.page_size
    page = Page(total=total, page=query.page, page_size=query.page_size,
                total_is_lower_bound=more)  # fmt: skip
    if offset >= total:
        if more:
            raise ValueError(
                f"page {query.page} starts after the first {MAX_RESULTS:,} of more than "
                f"{MAX_RESULTS:,} results: narrow the search (a species, a filter or a longer "
                "name), or sort the other way to see the last ones"
            )
        return page  # past the last page: an empty page
    limit = min(query.page_size, total - offset)
    if _sort_index_drives(session, query, more, offset + limit):
        conds = _conditions(session, query, driving=False)
    page_ids = _page_ids(session, query, conds, var_ids, offset, limit)
    page.results = _summaries(session, page_ids, var_ids)
    return page


def _sort_index_drives(session: Session, q: AccessionQuery, broad: bool, end: int) -> bool:
    """Whether SQLite should read the sort's own index and filter, rather than sort the matches.

    For the first pages of a broad search (more than :data:`MAX_RESULTS`
    matches) by biological-status range or genotyped alone, sorted by number
    or name: reading that index finds a page's rows after a few hundred,
    where sorting every match means hundreds of thousands. PostgreSQL's
    planner weighs the LIMIT itself.
    """
    return (
        session.get_bind().dialect.name == "sqlite"
        and broad
        and end <= 1000
        and q.sort in ("accenumb", "name")
        and not (q.text or q.species or q.institute or q.origin or q.traits)
    )


def _summaries(session: Session, ids: list[int], var_ids: dict[str, int]) -> list[dict[str, Any]]:
    """The result dicts of the accessions ``ids``, in that order: three queries in all."""
    if not ids:
        return []
    loaded = {
        a.id: a
        for a in session.scalars(
            select(Accession).options(lazyload(Accession.names)).where(Accession.id.in_(ids))
        ).unique()
    }
    results = [accession_summary(loaded[i]) for i in ids]
    if var_ids:
        means = session.execute(
            select(TraitSummary.accession_id, TraitSummary.variable_id, TraitSummary.mean).where(
                TraitSummary.accession_id.in_(ids),
                TraitSummary.variable_id.in_(list(var_ids.values())),
            )
        ).all()
        by_id = {v: k for k, v in var_ids.items()}
        lookup = {(a, v): m for a, v, m in means}
        for r in results:
            r["traits"] = {by_id[v]: lookup.get((r["id"], v)) for v in var_ids.values()}
    geno = set(
        session.scalars(
            select(Sample.accession_id)
            .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
            .where(Sample.accession_id.in_(ids))
        )
    )
    for r in results:
        r["genotyped"] = r["id"] in geno
    return results


def accession_summary(acc: Accession) -> dict[str, Any]:
    """The short, JSON-ready description of an accession used in result lists."""
    return {
        "id": acc.id,
        "puid": acc.puid,
        "instcode": acc.institute.code,
        "accenumb": acc.accenumb,
        "name": acc.name,
        "species": acc.species_row.key,
        "scientific_name": f"{acc.genus} {acc.species_epithet}",
        "subtaxa": acc.subtaxa,
        "origcty": acc.origcty,
        "sampstat": acc.sampstat,
        "sampstat_label": SAMPSTAT.get(acc.sampstat, "") if acc.sampstat is not None else "",
    }


__all__ = [
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_RESULTS",
    "SORT_KEYS",
    "AccessionQuery",
    "Page",
    "TraitRange",
    "accession_summary",
    "search_accessions",
    "text_keys",
]
