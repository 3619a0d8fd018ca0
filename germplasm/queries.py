"""Searching and reading germplasm: the queries behind the CLI, portal and BrAPI.

Every query is a fixed number of SQL statements whatever the page size (no
N+1), and every filter is served by an index, so that searches stay fast at a
million accessions and ten million observations.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session, lazyload

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.exceptions import NotFoundError
from breedhub.germplasm.mcpd import SAMPSTAT
from breedhub.germplasm.models import (
    Accession,
    AccessionName,
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    Observation,
    ObservationUnit,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SpeciesRow,
    Study,
    TraitSummary,
    Trial,
)
from breedhub.germplasm.names import prefix_upper_bound, search_key

SORT_KEYS = ("accenumb", "name", "species", "institute", "origin", "sampstat", "acqdate")
MAX_PAGE_SIZE = 1000
#: The largest database id: ids are INTEGER columns, 32-bit on PostgreSQL (SQLAlchemy
#: casts a bound id to INTEGER there, so a larger one is an "integer out of range" error).
MAX_ID = 2**31 - 1
_CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True)
class TraitRange:
    """Keep accessions whose mean for ``variable`` lies in [min, max] (either may be None)."""

    variable: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class AccessionQuery:
    """What to search for. Every field is optional; filters combine with AND.

    Attributes
    ----------
    text
        Prefix of any name, accession number, synonym or other number,
        matched after :func:`germplasm.names.search_key` normalisation.
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
        Ranges on the accession's mean of a variable.
    genotyped
        True: only accessions with a sample in a genotype dataset; False: only without.
    sort
        One of :data:`SORT_KEYS`, or the name of a variable to sort by its mean.
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
        """Raise ``ValueError`` naming the bad argument."""
        if self.page < 1:
            raise ValueError(f"page must be 1 or more, not {self.page}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(
                f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {self.page_size}"
            )
        if self.sampstat is not None and self.sampstat not in SAMPSTAT:
            raise ValueError(f"sampstat {self.sampstat} is not an MCPD SAMPSTAT code")
        if self.origin is not None and len(self.origin) != 3:
            raise ValueError(f"origin must be an ISO 3166-1 alpha-3 code, not {self.origin!r}")


@dataclass
class Page:
    """One page of results, in the shape the CLI prints with ``--json``."""

    total: int
    page: int
    page_size: int
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "results": self.results,
        }


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


def _conditions(
    session: Session, q: AccessionQuery, var_ids: dict[str, int]
) -> list[ColumnElement[bool]]:
    """The WHERE clauses on ``accession`` (applied directly, so the planner sees them)."""
    conds: list[ColumnElement[bool]] = []
    if q.text and (key := search_key(q.text)):
        conds.append(
            Accession.id.in_(
                select(AccessionName.accession_id).where(
                    AccessionName.key >= key, AccessionName.key < prefix_upper_bound(key)
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
        conds.append(and_(Accession.sampstat >= lo, Accession.sampstat < hi))
    for tr in q.traits:
        sub = select(TraitSummary.accession_id).where(
            TraitSummary.variable_id == var_ids[tr.variable]
        )
        if tr.min is not None:
            sub = sub.where(TraitSummary.mean >= tr.min)
        if tr.max is not None:
            sub = sub.where(TraitSummary.mean <= tr.max)
        conds.append(Accession.id.in_(sub))
    if q.genotyped is not None:
        has = exists(
            select(Sample.id)
            .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
            .where(Sample.accession_id == Accession.id)
        )
        conds.append(has if q.genotyped else ~has)
    return conds


def search_accessions(session: Session, query: AccessionQuery) -> Page:
    """Search accessions; return one sorted page and the total count.

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
        species, origin, status and, for each filtered or sorted trait, its mean.

    Raises
    ------
    ValueError
        For a bad page, page size, SAMPSTAT or origin.
    NotFoundError
        For a trait filter naming an unknown variable.
    """
    query.validate()
    trait_names = [t.variable for t in query.traits]
    sort_by_trait = query.sort not in SORT_KEYS
    if sort_by_trait and query.sort not in trait_names:
        trait_names.append(query.sort)
    var_ids = _variable_ids(session, trait_names)
    conds = _conditions(session, query, var_ids)
    # count(*), not count(id): an index-only scan can then answer it.
    total = session.scalar(select(func.count()).select_from(Accession).where(*conds)) or 0

    # Sort and page narrow rows (ids), then load the page's 25 accessions:
    # sorting thousands of full, wide rows is what made broad searches slow.
    stmt = select(Accession.id).where(*conds)
    if query.sort == "institute":
        stmt = stmt.join(Institute, Institute.id == Accession.institute_id)
    elif query.sort == "species":
        stmt = stmt.join(SpeciesRow, SpeciesRow.id == Accession.species_id)
    order: Any
    if sort_by_trait:
        mean = (
            select(TraitSummary.mean)
            .where(
                TraitSummary.accession_id == Accession.id,
                TraitSummary.variable_id == var_ids[query.sort],
            )
            .scalar_subquery()
        )
        order = mean
    else:
        order = {
            "accenumb": Accession.accenumb,
            "name": Accession.name,
            "species": SpeciesRow.key,
            "institute": Institute.code,
            "origin": Accession.origcty,
            "sampstat": Accession.sampstat,
            "acqdate": Accession.acqdate,
        }[query.sort]
    order_col = order.desc() if query.descending else order.asc()
    if sort_by_trait or query.sort == "sampstat":
        # Only these may be NULL; NULLS LAST elsewhere would stop an index from serving the order.
        order_col = order_col.nulls_last()
    stmt = (
        stmt.order_by(order_col, Accession.id)
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    )
    page_ids = list(session.scalars(stmt))
    loaded = {
        a.id: a
        for a in session.scalars(
            select(Accession).options(lazyload(Accession.names)).where(Accession.id.in_(page_ids))
        ).unique()
    }
    rows = [loaded[i] for i in page_ids]
    results = [accession_summary(a) for a in rows]
    if rows and var_ids:
        means = session.execute(
            select(TraitSummary.accession_id, TraitSummary.variable_id, TraitSummary.mean).where(
                TraitSummary.accession_id.in_([a.id for a in rows]),
                TraitSummary.variable_id.in_(list(var_ids.values())),
            )
        ).all()
        by_id = {v: k for k, v in var_ids.items()}
        lookup = {(a, v): m for a, v, m in means}
        for r in results:
            r["traits"] = {by_id[v]: lookup.get((r["id"], v)) for v in var_ids.values()}
    if rows:
        geno = set(
            session.scalars(
                select(Sample.accession_id)
                .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
                .where(Sample.accession_id.in_([a.id for a in rows]))
            )
        )
        for r in results:
            r["genotyped"] = r["id"] in geno
    return Page(total=total, page=query.page, page_size=query.page_size, results=results)


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


def get_accession(session: Session, ref: str | int) -> Accession:
    """Find one accession by database id, PUID, ``INSTCODE:ACCENUMB`` or a unique number.

    Raises
    ------
    NotFoundError
        If nothing matches, or an accession number is held by several institutes.
    """
    # A database id is ASCII digits up to MAX_ID: "²" passes str.isdigit() but not int(),
    # and a larger number overflows PostgreSQL; either can still be an accession number.
    ident = ref if isinstance(ref, int) else None
    if isinstance(ref, str) and ref.isascii() and ref.isdigit() and len(ref) <= 19:
        ident = int(ref)
    if ident is not None and 1 <= ident <= MAX_ID:
        acc = session.get(Accession, ident)
        if acc is not None:
            return acc
    ref = str(ref).strip()
    acc = session.scalars(select(Accession).where(Accession.puid == ref)).first()
    if acc is not None:
        return acc
    if ":" in ref:
        inst, num = ref.split(":", 1)
        acc = session.scalars(
            select(Accession)
            .join(Accession.institute)
            .where(Institute.code == inst.upper(), Accession.accenumb == num)
        ).first()
        if acc is not None:
            return acc
    found = (
        session.scalars(select(Accession).where(Accession.accenumb == ref).limit(2)).unique().all()
    )
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise NotFoundError(
            f"accession number {ref!r} is held by several institutes: use INSTCODE:{ref}"
        )
    raise NotFoundError(f"no accession {ref!r} (give an id, a PUID, INSTCODE:ACCENUMB or ACCENUMB)")


def accession_detail(
    session: Session, ref: str | int, *, viewer: Viewer | None = None
) -> dict[str, Any]:
    """Everything the accession page and ``breedhub germplasm show`` display.

    Parameters
    ----------
    session
        An open database session.
    ref
        A database id, a PUID, ``INSTCODE:ACCENUMB`` or a unique accession number.
    viewer
        Who is looking: studies of restricted trials, restricted genotype
        datasets and restricted model runs of other institutes are left out.
        None (the command line, run by the database's owner) shows everything.

    Returns
    -------
    dict
        ``passport`` (every MCPD field), ``names``, ``pedigree`` (parents),
        ``progeny``, ``traits`` (per variable n, mean, min, max, unit),
        ``observations_by_study``, ``samples``, ``genotype_datasets`` and
        ``predictions``.
    """
    from breedhub.germplasm.mcpd import accession_to_mcpd

    acc = get_accession(session, ref)
    out: dict[str, Any] = accession_summary(acc)
    out["passport"] = accession_to_mcpd(acc)
    out["ploidy"] = acc.ploidy or acc.species_row.ploidy
    out["common_name"] = acc.species_row.common_name_en
    out["names"] = [{"name": n.name, "kind": n.kind} for n in acc.names]

    ped = session.get(Pedigree, acc.id)
    out["pedigree"] = None
    if ped is not None:
        out["pedigree"] = {
            "female_parent": accession_summary(ped.female_parent) if ped.female_parent else None,
            "male_parent": accession_summary(ped.male_parent) if ped.male_parent else None,
            "cross_type": ped.cross_type,
            "generation": ped.generation,
            "cross_year": ped.cross_year,
            "pedigree_string": ped.pedigree_string,
        }
    children = (
        session.scalars(
            select(Accession)
            .join(Pedigree, Pedigree.accession_id == Accession.id)
            .where(or_(Pedigree.female_parent_id == acc.id, Pedigree.male_parent_id == acc.id))
            .order_by(Accession.accenumb)
            .limit(200)
        )
        .unique()
        .all()
    )
    out["progeny"] = [accession_summary(c) for c in children]

    traits = session.execute(
        select(ObservationVariable, TraitSummary)
        .join(TraitSummary, TraitSummary.variable_id == ObservationVariable.id)
        .where(TraitSummary.accession_id == acc.id)
        .order_by(ObservationVariable.name)
    ).all()
    out["traits"] = [
        {
            "variable": v.name,
            "trait": v.trait,
            "unit": v.unit,
            "n": s.n,
            "mean": s.mean,
            "min": s.min_value,
            "max": s.max_value,
        }
        for v, s in traits
    ]
    obs = session.execute(
        select(
            Study.name, ObservationVariable.name, func.count(), func.avg(Observation.numeric_value)
        )
        .select_from(Observation)
        .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
        .join(Study, Study.id == ObservationUnit.study_id)
        .join(Trial, Trial.id == Study.trial_id)
        .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
        .where(Observation.accession_id == acc.id, _visible(Trial, viewer))
        .group_by(Study.name, ObservationVariable.name)
        .order_by(Study.name, ObservationVariable.name)
    ).all()
    out["observations_by_study"] = [
        {"study": s, "variable": v, "n": n, "mean": m} for s, v, n, m in obs
    ]
    samples = session.scalars(select(Sample).where(Sample.accession_id == acc.id)).all()
    out["samples"] = [
        {"name": s.name, "tissue": s.tissue, "plate": s.plate, "well": s.well} for s in samples
    ]
    datasets = session.scalars(
        select(GenotypeDataset)
        .where(
            GenotypeDataset.id.in_(
                select(GenotypeDatasetSample.dataset_id)
                .join(Sample, Sample.id == GenotypeDatasetSample.sample_id)
                .where(Sample.accession_id == acc.id)
            ),
            _visible(GenotypeDataset, viewer),
        )
        .order_by(GenotypeDataset.name)
    ).all()
    out["genotype_datasets"] = [
        {"name": d.name, "n_variants": d.n_variants, "ploidy": d.ploidy} for d in datasets
    ]
    preds = session.execute(
        select(ModelRun, ObservationVariable, Prediction)
        .join(Prediction, Prediction.model_run_id == ModelRun.id)
        .join(ObservationVariable, ObservationVariable.id == Prediction.variable_id)
        .where(Prediction.accession_id == acc.id, _visible(ModelRun, viewer))
        .order_by(ModelRun.created_at.desc())
    ).all()
    out["predictions"] = [
        {
            "model_run": m.name,
            "method": m.method,
            "variable": v.name,
            "gebv": p.gebv,
            "reliability": p.reliability,
            "rank": p.rank,
            # "rank k of N": N as the run counted it when it ranked the trait
            "of_n": ((m.metrics or {}).get(v.name) or {}).get("n_ranked"),
            "direction": v.direction,
            "optimum": v.optimum,
        }
        for m, v, p in preds
    ]
    return out


def _visible(model: Any, viewer: Viewer | None) -> ColumnElement[bool]:
    return true() if viewer is None else visible_clause(model, viewer)


def accession_by_id(session: Session, accession_id: int) -> Accession | None:
    """The accession with database id ``accession_id``, or None (no other kind of reference).

    Parameters
    ----------
    session
        An open database session.
    accession_id
        ``accession.id``.

    Returns
    -------
    Accession or None
    """
    return session.get(Accession, accession_id)


def accession_ids_by_ref(session: Session, refs: Collection[str]) -> dict[str, int]:
    """``INSTCODE:ACCENUMB`` -> accession id, for those of ``refs`` that exist.

    Parameters
    ----------
    session
        An open database session.
    refs
        References ``INSTCODE:ACCENUMB``; others are ignored.

    Returns
    -------
    dict
        One query per 500 accession numbers.
    """
    numbers = sorted({r.split(":", 1)[1] for r in refs if ":" in r})
    out: dict[str, int] = {}
    for i in range(0, len(numbers), _CHUNK):
        rows = session.execute(
            select(Institute.code, Accession.accenumb, Accession.id)
            .join(Institute, Institute.id == Accession.institute_id)
            .where(Accession.accenumb.in_(numbers[i : i + _CHUNK]))
        ).all()
        out.update({f"{c}:{a}": acc for c, a, acc in rows if f"{c}:{a}" in refs})
    return out


def accession_species_by_ref(
    session: Session, refs: Collection[str]
) -> dict[str, tuple[int, str, str]]:
    """``INSTCODE:ACCENUMB`` -> (accession id, species key, scientific name).

    Parameters
    ----------
    session
        An open database session.
    refs
        References ``INSTCODE:ACCENUMB``; others are ignored.

    Returns
    -------
    dict
        Every accession holding one of the numbers in ``refs`` (whichever
        institute holds it), keyed by its own ``INSTCODE:ACCENUMB``: look
        each reference up in it. One query per 500 accession numbers.
    """
    numbers = sorted({r.split(":", 1)[1] for r in refs if ":" in r})
    found: dict[str, tuple[int, str, str]] = {}
    for i in range(0, len(numbers), _CHUNK):
        rows = session.execute(
            select(
                Institute.code, Accession.accenumb, Accession.id, SpeciesRow.key,
                SpeciesRow.scientific_name,
            )
            .join(Institute, Institute.id == Accession.institute_id)
            .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
            .where(Accession.accenumb.in_(numbers[i : i + _CHUNK]))
        ).all()  # fmt: skip
        for code, number, acc_id, key, scientific in rows:
            found[f"{code}:{number}"] = (acc_id, key, scientific)
    return found


def species_accession_ids(session: Session, species: str) -> dict[tuple[str, str], int]:
    """``(INSTCODE, ACCENUMB)`` -> accession id for every accession of a species.

    Parameters
    ----------
    session
        An open database session.
    species
        Species key (``rice``); an unknown key gives an empty mapping.

    Returns
    -------
    dict
    """
    rows = session.execute(
        select(Institute.code, Accession.accenumb, Accession.id)
        .join(Institute, Institute.id == Accession.institute_id)
        .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
        .where(SpeciesRow.key == species)
    ).all()
    return {(i, a): acc for i, a, acc in rows}
