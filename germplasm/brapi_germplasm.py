"""BrAPI v2.1 germplasm module, read side: germplasm, MCPD, pedigree, crosses, attributes.

Our records map to BrAPI as follows (nothing is invented; what we do not
hold is ``null``, or ``[]`` for lists):

- **germplasm** is an :class:`~germplasm.models.Accession`: its MCPD passport
  gives every MCPD-based field (codes as codes), ``synonyms`` are the names
  after the first in ACCENAME (``type`` ``"ACCENAME"``) and the OTHERNUMB
  entries (``type`` ``"OTHERNUMB"``); ``externalReferences`` are the PUID
  (source ``"PUID"``) and the OTHERNUMB entries (source: their institute
  code); ``commonCropName`` names the species; ``collection`` and
  ``familyCode`` are not held (a filter on them matches nothing).
- **pedigree** nodes, **crosses** and **breeding methods** come from our
  :class:`~germplasm.models.Pedigree` records: a cross is the pedigree of
  the accession it produced (``crossDbId`` = that accession's DbId), the
  breeding method is the cross type (``breedingMethodDbId`` = the code of
  :data:`~germplasm.models.CROSS_TYPES`).
- **crossing projects**: we keep no crossing projects; each breeding
  programme that holds accessions with a pedigree is one (``crossingProjectDbId``
  = ``programDbId``), its crosses are those pedigrees, its potential parents
  their parents.
- **attributes / attribute values**: the one thing we hold per accession
  beside its passport is its trait summary (mean, n, min, max of every
  variable over all its trial observations, the figure the portal shows on
  the accession page). An attribute is an observation variable that has
  summaries (``attributeDbId`` = the variable's id, method "accession mean
  over trial observations"); a value is one accession's mean
  (``attributeValueDbId`` = ``"<germplasmDbId>-<attributeDbId>"``).

Every list is paged in SQL and every page is loaded in a fixed number of
queries (no N+1), on the indexes of :mod:`germplasm.models`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session, lazyload

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.brapi_core import common_crop_name, crop_keys
from breedhub.germplasm.mcpd import COLLSRC, SAMPSTAT, STORAGE, format_float
from breedhub.germplasm.models import (
    CROSS_TYPES,
    Accession,
    AccessionName,
    Institute,
    ObservationUnit,
    Pedigree,
    SpeciesRow,
    Study,
    Trial,
)
from breedhub.germplasm.names import search_key
from breedhub.germplasm.queries import MAX_ID

__all__ = [
    "BREEDING_METHODS",
    "GermplasmFilter",
    "germplasm_mcpd",
    "germplasm_one",
    "germplasm_page",
    "parse_ids",
    "pedigree_of",
    "pedigree_page",
    "progeny_of",
]

#: BrAPI breeding methods: our cross types, code -> (name, description).
BREEDING_METHODS: dict[str, tuple[str, str]] = {
    "BIPARENTAL": ("Biparental cross", "A cross between two different parents."),
    "SELF": ("Self-pollination", "Progeny of a parent crossed with itself."),
    "OPEN_POLLINATED": ("Open pollination", "A known mother pollinated by unknown fathers."),
    "BULK": ("Bulk", "Progeny of several parents harvested together."),
    "BULK_SELFED": ("Bulk, selfed", "A bulk of plants each self-pollinated."),
    "BULK_OPEN_POLLINATED": ("Bulk, open-pollinated", "A bulk pollinated by unknown fathers."),
    "DOUBLE_HAPLOID": ("Doubled haploid", "A haploid of the mother with its genome doubled."),
    "BACKCROSS": ("Backcross", "A cross of a hybrid with one of its parents."),
    "CLONAL": ("Clonal propagation", "A clone of its parent."),
    "MUTANT": ("Mutant", "A mutant of its parent."),
    "UNKNOWN": ("Unknown", "The cross type is not recorded."),
}
assert tuple(BREEDING_METHODS) == CROSS_TYPES
#: Cross types of ours that BrAPI's Cross.crossType enumerates (BACKCROSS is biparental).
_BRAPI_CROSS_TYPE = {t: t for t in CROSS_TYPES[:7]} | {"BACKCROSS": "BIPARENTAL"}
_PARENT_TYPE = {"SELF": "SELF", "CLONAL": "CLONAL"}
_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


def parse_ids(raw: Sequence[str]) -> list[int]:
    """The DbIds among ``raw`` that can be ours (ASCII digits, 1..MAX_ID); others match nothing."""
    out = []
    for r in raw:
        if r.isascii() and r.isdigit() and len(r) <= 10 and 1 <= int(r) <= MAX_ID:
            out.append(int(r))
    return out


@dataclass(frozen=True)
class GermplasmFilter:
    """The filters of ``GET /germplasm``, ``/pedigree`` and ``POST /search/germplasm``.

    Every field is a list of texts as received; an empty list does not
    filter; filters combine with AND, the values of one filter with OR.
    """

    germplasm_ids: Sequence[str] = ()
    names: Sequence[str] = ()
    puis: Sequence[str] = ()
    accession_numbers: Sequence[str] = ()
    crops: Sequence[str] = ()
    genus: Sequence[str] = ()
    species: Sequence[str] = ()
    binomial_names: Sequence[str] = ()
    synonyms: Sequence[str] = ()
    institute_codes: Sequence[str] = ()
    parent_ids: Sequence[str] = ()
    progeny_ids: Sequence[str] = ()
    program_ids: Sequence[str] = ()
    trial_ids: Sequence[str] = ()
    study_ids: Sequence[str] = ()
    external_ids: Sequence[str] = ()
    external_sources: Sequence[str] = ()
    collections: Sequence[str] = ()
    family_codes: Sequence[str] = ()


def _crop_species(rows: Sequence[SpeciesRow], crops: Sequence[str]) -> list[int]:
    """The ids of the species that the BrAPI crop names ``crops`` mean."""
    keys = set(crop_keys(crops))
    return [sp.id for sp in rows if common_crop_name(sp) in keys]


def _species_ids(session: Session, f: GermplasmFilter) -> list[ColumnElement[bool]]:
    """Crop, genus, species and binomial filters, resolved on the small species table."""
    if not (f.crops or f.genus or f.species or f.binomial_names):
        return []
    rows = session.scalars(select(SpeciesRow)).all()
    keep = {sp.id for sp in rows}
    if f.crops:
        keep &= set(_crop_species(rows, f.crops))
    if f.genus:
        keep &= {sp.id for sp in rows if sp.genus.lower() in {g.lower() for g in f.genus}}
    if f.species:
        keep &= {sp.id for sp in rows if sp.species.lower() in {s.lower() for s in f.species}}
    if f.binomial_names:
        wanted = {" ".join(b.lower().split()) for b in f.binomial_names}
        keep &= {sp.id for sp in rows if f"{sp.genus} {sp.species}".lower() in wanted}
    return [Accession.species_id.in_(sorted(keep))]


def _in_ids(column: Any, raw: Sequence[str]) -> ColumnElement[bool]:
    ids = parse_ids(raw)
    return column.in_(ids) if ids else false()


def _external(f: GermplasmFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    sources = set(f.external_sources)
    if f.external_ids:
        by_puid = Accession.puid.in_(list(f.external_ids))
        keys = [k for k in (search_key(i) for i in f.external_ids) if k]
        by_number = Accession.id.in_(
            select(AccessionName.accession_id).where(
                AccessionName.key.in_(keys or [""]),
                AccessionName.kind == "othernumb",
                AccessionName.name.in_(list(f.external_ids)),
            )
        )
        if sources == {"PUID"}:
            conds.append(by_puid)
        elif "PUID" in sources or not sources:
            conds.append(or_(by_puid, by_number))
        else:
            conds.append(by_number)
    others = sorted(sources - {"PUID"})
    if others and "PUID" not in sources:
        conds.append(or_(*(Accession.othernumb.contains(f"{s}:", autoescape=True) for s in others)))
    return conds


def germplasm_conditions(
    session: Session, f: GermplasmFilter, viewer: Viewer
) -> list[ColumnElement[bool]]:
    """The WHERE clauses on ``accession`` for the filters ``f``, each served by an index."""
    conds = _species_ids(session, f)
    if f.germplasm_ids:
        conds.append(_in_ids(Accession.id, f.germplasm_ids))
    if f.names:
        conds.append(Accession.name.in_(list(f.names)))
    if f.puis:
        conds.append(Accession.puid.in_(list(f.puis)))
    if f.accession_numbers:
        conds.append(Accession.accenumb.in_(list(f.accession_numbers)))
    if f.synonyms:
        keys = [k for k in (search_key(s) for s in f.synonyms) if k]
        sub = select(AccessionName.accession_id).where(AccessionName.key.in_(keys or [""]))
        conds.append(Accession.id.in_(sub))
    if f.institute_codes:
        codes = [c.upper() for c in f.institute_codes]
        sub = select(Institute.id).where(Institute.code.in_(codes))
        conds.append(Accession.institute_id.in_(sub))
    if f.parent_ids:
        ids = parse_ids(f.parent_ids) or [0]
        sub = select(Pedigree.accession_id).where(
            or_(Pedigree.female_parent_id.in_(ids), Pedigree.male_parent_id.in_(ids))
        )
        conds.append(Accession.id.in_(sub))
    if f.progeny_ids:
        ids = parse_ids(f.progeny_ids) or [0]
        fem = select(Pedigree.female_parent_id).where(Pedigree.accession_id.in_(ids))
        mal = select(Pedigree.male_parent_id).where(Pedigree.accession_id.in_(ids))
        conds.append(or_(Accession.id.in_(fem), Accession.id.in_(mal)))
    if f.program_ids:
        conds.append(_in_ids(Accession.program_id, f.program_ids))
    if f.trial_ids or f.study_ids:
        sub = (
            select(ObservationUnit.accession_id)
            .join(Study, Study.id == ObservationUnit.study_id)
            .join(Trial, Trial.id == Study.trial_id)
            .where(visible_clause(Trial, viewer))
        )
        if f.trial_ids:
            sub = sub.where(_in_ids(Trial.id, f.trial_ids))
        if f.study_ids:
            sub = sub.where(_in_ids(Study.id, f.study_ids))
        conds.append(Accession.id.in_(sub))
    conds += _external(f)
    if f.collections or f.family_codes:
        conds.append(false())  # we hold no collections or family codes
    return conds


def _page_of_accessions(
    session: Session, conds: list[ColumnElement[bool]], offset: int, limit: int
) -> tuple[list[Accession], int]:
    """One page of accessions (by id) and the total count: three queries."""
    total = session.scalar(select(func.count()).select_from(Accession).where(*conds)) or 0
    ids = list(
        session.scalars(
            select(Accession.id).where(*conds).order_by(Accession.id).limit(limit).offset(offset)
        )
    )
    return _accessions(session, ids), total


def _accessions(session: Session, ids: list[int]) -> list[Accession]:
    if not ids:
        return []
    loaded = {
        a.id: a
        for a in session.scalars(
            select(Accession).options(lazyload(Accession.names)).where(Accession.id.in_(ids))
        ).unique()
    }
    return [loaded[i] for i in ids if i in loaded]


def _pedigrees(session: Session, ids: list[int]) -> dict[int, Pedigree]:
    if not ids:
        return {}
    rows = session.scalars(select(Pedigree).where(Pedigree.accession_id.in_(ids)))
    return {p.accession_id: p for p in rows}


def _text(value: str | None) -> str | None:
    return value if value else None


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def iso_date(mcpd: str | None) -> str | None:
    """An MCPD date YYYYMMDD as ISO 8601; ``None`` when empty or partial (``1985----``)."""
    m = _DATE.fullmatch(mcpd or "")
    if m is None or m.group(2) == "00" or m.group(3) == "00":
        return None
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"


def _references(acc: Accession) -> list[dict[str, str | None]]:
    refs: list[tuple[str, str]] = [("PUID", acc.puid)]
    for entry in _split(acc.othernumb):
        source, _, ident = entry.rpartition(":")
        refs.append((source or "OTHERNUMB", ident))
    return [{"referenceId": i, "referenceID": i, "referenceSource": s} for s, i in refs]


def _origin(acc: Accession) -> list[dict[str, Any]]:
    if acc.declatitude is None or acc.declongitude is None:
        return []
    point = {"type": "Point", "coordinates": [acc.declongitude, acc.declatitude]}
    uncert = str(acc.coorduncert) if acc.coorduncert is not None else None
    return [
        {"coordinateUncertainty": uncert, "coordinates": {"type": "Feature", "geometry": point}}
    ]


def germplasm_object(acc: Accession, ped: Pedigree | None) -> dict[str, Any]:
    """The BrAPI ``Germplasm`` of an accession (and its pedigree record, if any)."""
    names = _split(acc.accename)
    synonyms = [{"synonym": n, "type": "ACCENAME"} for n in names[1:]]
    synonyms += [{"synonym": o, "type": "OTHERNUMB"} for o in _split(acc.othernumb)]
    extra = {}
    if acc.acqdate and iso_date(acc.acqdate) is None:
        extra["ACQDATE"] = acc.acqdate
    if acc.cropname:
        extra["CROPNAME"] = acc.cropname
    donors = []
    if acc.donorcode or acc.donornumb:
        donors = [
            {
                "donorAccessionNumber": _text(acc.donornumb),
                "donorInstituteCode": _text(acc.donorcode),
            }
        ]
    status = acc.sampstat
    return {
        "additionalInfo": extra,
        "accessionNumber": acc.accenumb,
        "acquisitionDate": iso_date(acc.acqdate),
        "biologicalStatusOfAccessionCode": str(status) if status in SAMPSTAT else None,
        "biologicalStatusOfAccessionDescription": SAMPSTAT.get(status) if status else None,
        "breedingMethodDbId": ped.cross_type if ped else None,
        "breedingMethodName": BREEDING_METHODS[ped.cross_type][0] if ped else None,
        "collection": None,
        "commonCropName": common_crop_name(acc.species_row),
        "countryOfOriginCode": _text(acc.origcty),
        "defaultDisplayName": acc.name or acc.accenumb,
        "documentationURL": None,
        "donors": donors,
        "genus": acc.genus,
        "germplasmDbId": str(acc.id),
        "germplasmName": acc.name or acc.accenumb,
        "germplasmPUI": acc.puid,
        "species": acc.species_epithet,
        "instituteCode": acc.institute.code,
        "instituteName": _text(acc.institute.name),
        "pedigree": _text(ped.pedigree_string if ped and ped.pedigree_string else acc.ancest),
        "seedSource": None,
        "speciesAuthority": _text(acc.spauthor),
        "subtaxa": _text(acc.subtaxa),
        "subtaxaAuthority": _text(acc.subtauthor),
        "synonyms": synonyms,
        "taxonIds": [],
        "storageTypes": [
            {"code": c, "description": STORAGE.get(int(c))}
            for c in _split(acc.storage)
            if c.isdigit() and int(c) in STORAGE
        ],
        "germplasmPreprocessing": None,
        "seedSourceDescription": None,
        "germplasmOrigin": _origin(acc),
        "externalReferences": _references(acc),
    }


def germplasm_page(
    session: Session, f: GermplasmFilter, viewer: Viewer, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI ``Germplasm`` matching ``f`` (by DbId) and the total: four queries."""
    accs, total = _page_of_accessions(
        session, germplasm_conditions(session, f, viewer), offset, limit
    )
    peds = _pedigrees(session, [a.id for a in accs])
    return [germplasm_object(a, peds.get(a.id)) for a in accs], total


def germplasm_one(session: Session, germplasm_id: int) -> dict[str, Any] | None:
    """The BrAPI ``Germplasm`` with this DbId, or ``None``."""
    accs = _accessions(session, [germplasm_id])
    if not accs:
        return None
    return germplasm_object(accs[0], _pedigrees(session, [germplasm_id]).get(germplasm_id))


def _institutes(codes: list[str], name: str | None, address: str | None = None) -> list[Any]:
    """MCPD's institute code list (and one name) as BrAPI institute objects."""
    if not codes and not name:
        return []
    codes = codes or [""]
    one = len(codes) == 1
    out = []
    for code in codes:
        item = {"instituteCode": _text(code), "instituteName": name if one else None}
        if address is not None or not one:
            item["instituteAddress"] = address if one else None
        out.append(item)
    return out


def germplasm_mcpd(session: Session, germplasm_id: int) -> dict[str, Any] | None:
    """The BrAPI ``GermplasmMCPD`` of an accession: every MCPD field we store, or ``None``."""
    accs = _accessions(session, [germplasm_id])
    if not accs:
        return None
    a = accs[0]
    n = lambda v: None if v is None else str(v)  # noqa: E731
    site = {
        "coordinateUncertainty": n(a.coorduncert),
        "elevation": n(a.elevation),
        "georeferencingMethod": _text(a.georefmeth),
        "latitudeDecimal": None if a.declatitude is None else format_float(a.declatitude),
        "latitudeDegrees": _text(a.latitude),
        "locationDescription": _text(a.collsite),
        "longitudeDecimal": None if a.declongitude is None else format_float(a.declongitude),
        "longitudeDegrees": _text(a.longitude),
        "spatialReferenceSystem": _text(a.coorddatum),
    }
    collectors = _institutes(_split(a.collcode), _text(a.collname), _text(a.collinstaddress))
    for c in collectors:
        c.setdefault("instituteAddress", None)
    return {
        "accessionNames": _split(a.accename),
        "accessionNumber": a.accenumb,
        "acquisitionDate": iso_date(a.acqdate),
        "acquisitionSourceCode": str(a.collsrc) if a.collsrc in COLLSRC else None,
        "alternateIDs": _split(a.othernumb),
        "ancestralData": _text(a.ancest),
        "biologicalStatusOfAccessionCode": str(a.sampstat) if a.sampstat in SAMPSTAT else None,
        "breedingInstitutes": _institutes(_split(a.bredcode), _text(a.bredname)),
        "collectingInfo": {
            "collectingDate": iso_date(a.colldate),
            "collectingInstitutes": collectors,
            "collectingMissionIdentifier": _text(a.collmissid),
            "collectingNumber": _text(a.collnumb),
            "collectingSite": site,
        },
        "commonCropName": a.cropname or common_crop_name(a.species_row),
        "countryOfOrigin": _text(a.origcty),
        "donorInfo": {
            "donorAccessionPui": None,
            "donorAccessionNumber": _text(a.donornumb),
            "donorInstitute": {
                "instituteCode": _text(a.donorcode),
                "instituteName": _text(a.donorname),
            },
        },
        "genus": a.genus,
        "germplasmDbId": str(a.id),
        "germplasmPUI": a.puid,
        "instituteCode": a.institute.code,
        "mlsStatus": str(a.mlsstat) if a.mlsstat in (0, 1, 99) else None,
        "remarks": _text(a.remarks),
        "safetyDuplicateInstitutes": _institutes(_split(a.duplsite), _text(a.duplinstname)),
        "species": a.species_epithet,
        "speciesAuthority": _text(a.spauthor),
        "storageTypeCodes": [c for c in _split(a.storage) if c.isdigit() and int(c) in STORAGE],
        "subtaxon": _text(a.subtaxa),
        "subtaxonAuthority": _text(a.subtauthor),
    }


# --- pedigree -------------------------------------------------------------------------------


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    """DbId -> germplasmName (name, else accession number) of these accessions: one query."""
    ids.discard(None)  # type: ignore[arg-type]
    if not ids:
        return {}
    rows = session.execute(
        select(Accession.id, Accession.name, Accession.accenumb).where(Accession.id.in_(ids))
    )
    return {i: name or number for i, name, number in rows}


def _parents(ped: Pedigree | None, names: dict[int, str]) -> list[dict[str, Any]]:
    if ped is None:
        return []
    out = []
    for pid, default in ((ped.female_parent_id, "FEMALE"), (ped.male_parent_id, "MALE")):
        if pid is not None:
            kind = _PARENT_TYPE.get(ped.cross_type, default)
            out.append(
                {"germplasmDbId": str(pid), "germplasmName": names.get(pid), "parentType": kind}
            )
    return out


def _progeny_rows(
    session: Session, ids: list[int]
) -> list[tuple[int, int | None, int | None, str]]:
    """(child, female, male, cross type) of every pedigree naming one of ``ids`` as a parent."""
    if not ids:
        return []
    rows = session.execute(
        select(
            Pedigree.accession_id,
            Pedigree.female_parent_id,
            Pedigree.male_parent_id,
            Pedigree.cross_type,
        )
        .where(or_(Pedigree.female_parent_id.in_(ids), Pedigree.male_parent_id.in_(ids)))
        .order_by(Pedigree.accession_id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _progeny(rows: list[tuple[int, Any, Any, str]], pid: int, names: dict[int, str]) -> list[Any]:
    out = []
    for child, fem, mal, cross_type in rows:
        for parent, default in ((fem, "FEMALE"), (mal, "MALE")):
            if parent == pid:
                kind = _PARENT_TYPE.get(cross_type, default)
                out.append(
                    {
                        "germplasmDbId": str(child),
                        "germplasmName": names.get(child),
                        "parentType": kind,
                    }
                )
                break
    return out


def _siblings(session: Session, peds: dict[int, Pedigree]) -> dict[int, list[int]]:
    """Accession -> the accessions sharing a parent with it (one query for the page)."""
    parents = {p for ped in peds.values() for p in (ped.female_parent_id, ped.male_parent_id) if p}
    rows = _progeny_rows(session, sorted(parents))
    out: dict[int, list[int]] = {}
    for acc_id, ped in peds.items():
        mine = {ped.female_parent_id, ped.male_parent_id} - {None}
        out[acc_id] = [c for c, f, m, _ in rows if c != acc_id and ({f, m} & mine)]
    return out


def pedigree_of(session: Session, germplasm_id: int, *, siblings: bool) -> dict[str, Any] | None:
    """The BrAPI ``PedigreeNodeDEP`` of ``GET /germplasm/{id}/pedigree``, or ``None``."""
    accs = _accessions(session, [germplasm_id])
    if not accs:
        return None
    peds = _pedigrees(session, [germplasm_id])
    ped = peds.get(germplasm_id)
    sibs = _siblings(session, peds).get(germplasm_id, []) if siblings else []
    ids = set(sibs) | ({ped.female_parent_id, ped.male_parent_id} if ped else set())
    names = _names(session, {i for i in ids if i})
    acc = accs[0]
    return {
        "crossingProjectDbId": str(acc.program_id) if ped and acc.program_id else None,
        "crossingYear": ped.cross_year if ped else None,
        "familyCode": None,
        "germplasmDbId": str(acc.id),
        "germplasmName": acc.name or acc.accenumb,
        "pedigree": _text(ped.pedigree_string if ped and ped.pedigree_string else acc.ancest),
        "parents": _parents(ped, names),
        "siblings": [{"germplasmDbId": str(s), "germplasmName": names.get(s)} for s in sibs]
        if siblings
        else None,
    }


def progeny_of(session: Session, germplasm_id: int) -> dict[str, Any] | None:
    """The BrAPI ``ProgenyNodeDEP`` of ``GET /germplasm/{id}/progeny``, or ``None``."""
    accs = _accessions(session, [germplasm_id])
    if not accs:
        return None
    rows = _progeny_rows(session, [germplasm_id])
    names = _names(session, {r[0] for r in rows})
    acc = accs[0]
    return {
        "germplasmDbId": str(acc.id),
        "germplasmName": acc.name or acc.accenumb,
        "progeny": _progeny(rows, germplasm_id, names),
    }


@dataclass(frozen=True)
class PedigreeOptions:
    """What ``GET /pedigree`` adds to each node."""

    parents: bool = True
    progeny: bool = False
    siblings: bool = False


def pedigree_page(
    session: Session,
    f: GermplasmFilter,
    viewer: Viewer,
    options: PedigreeOptions,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI ``PedigreeNode``: the germplasm matching ``f`` with their edges.

    Parents, progeny and siblings of the whole page are read in one query each.
    """
    accs, total = _page_of_accessions(
        session, germplasm_conditions(session, f, viewer), offset, limit
    )
    ids = [a.id for a in accs]
    peds = _pedigrees(session, ids)
    kids = _progeny_rows(session, ids) if options.progeny else []
    sibs = _siblings(session, peds) if options.siblings else {}
    wanted = {p for ped in peds.values() for p in (ped.female_parent_id, ped.male_parent_id) if p}
    wanted |= {r[0] for r in kids} | {s for v in sibs.values() for s in v}
    names = _names(session, wanted)
    out = []
    for a in accs:
        ped = peds.get(a.id)
        out.append(
            {
                "additionalInfo": {"generation": ped.generation} if ped and ped.generation else {},
                "externalReferences": _references(a),
                "germplasmName": a.name or a.accenumb,
                "germplasmDbId": str(a.id),
                "germplasmPUI": a.puid,
                "defaultDisplayName": a.name or a.accenumb,
                "crossingProjectDbId": str(a.program_id) if ped and a.program_id else None,
                "crossingYear": ped.cross_year if ped else None,
                "familyCode": None,
                "breedingMethodDbId": ped.cross_type if ped else None,
                "breedingMethodName": BREEDING_METHODS[ped.cross_type][0] if ped else None,
                "pedigreeString": _text(
                    ped.pedigree_string if ped and ped.pedigree_string else a.ancest
                ),
                "parents": _parents(ped, names) if options.parents else None,
                "siblings": [
                    {"germplasmDbId": str(s), "germplasmName": names.get(s)}
                    for s in sibs.get(a.id, [])
                ]
                if options.siblings
                else None,
                "progeny": _progeny(kids, a.id, names) if options.progeny else None,
            }
        )
    return out, total
