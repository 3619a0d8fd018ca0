"""BrAPI v2.1 objects to the rows of our passport, pedigree and observation imports.

The BrAPI client (:mod:`germplasm.brapi_import`) fetches ``Germplasm``,
``GermplasmMCPD``, ``PedigreeNode``, ``Trial``, ``Study``,
``ObservationUnit`` and ``Observation`` objects; this module turns them into
exactly the tables that :mod:`germplasm.passport`, :mod:`germplasm.pedigree`
and :mod:`germplasm.phenotypes` read from files, so the same validation rules
and messages apply. Every row remembers the BrAPI object it came from
(:class:`Origin`) and every column the BrAPI field that filled it, so a
problem found by an importer names the object and the field, not a row of a
file nobody has seen.

The mapping follows the specification (``components/schemas`` of
``brapi_v2.1_all_openapi.yaml``) and the MCPD v2.1 correspondence of
``GermplasmMCPD``; a value the MCPD object does not give is taken from the
``Germplasm`` object when that has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from breedhub.germplasm.exceptions import Problem
from breedhub.germplasm.models import CROSS_TYPES
from breedhub.germplasm.pedigree import COLUMNS as PEDIGREE_COLUMNS
from breedhub.germplasm.phenotypes import LONG_COLUMNS

__all__ = [
    "OBSERVATION_FIELDS",
    "PASSPORT_FIELDS",
    "PEDIGREE_FIELDS",
    "BrapiProblem",
    "Origin",
    "Table",
    "accession_ref",
    "observation_rows",
    "passport_row",
    "pedigree_row",
]

JSON = Mapping[str, Any]

#: MCPD column -> the BrAPI field (of GermplasmMCPD, else Germplasm) it comes from.
PASSPORT_FIELDS: dict[str, str] = {
    "PUID": "germplasmPUI",
    "INSTCODE": "instituteCode",
    "ACCENUMB": "accessionNumber",
    "COLLNUMB": "collectingInfo.collectingNumber",
    "COLLCODE": "collectingInfo.collectingInstitutes[].instituteCode",
    "COLLNAME": "collectingInfo.collectingInstitutes[].instituteName",
    "COLLINSTADDRESS": "collectingInfo.collectingInstitutes[].instituteAddress",
    "COLLMISSID": "collectingInfo.collectingMissionIdentifier",
    "GENUS": "genus",
    "SPECIES": "species",
    "SPAUTHOR": "speciesAuthority",
    "SUBTAXA": "subtaxa",
    "SUBTAUTHOR": "subtaxaAuthority",
    "CROPNAME": "commonCropName",
    "ACCENAME": "accessionNames (germplasmName, synonyms)",
    "ACQDATE": "acquisitionDate",
    "ORIGCTY": "countryOfOriginCode",
    "COLLSITE": "collectingInfo.collectingSite.locationDescription",
    "DECLATITUDE": "collectingInfo.collectingSite.latitudeDecimal",
    "LATITUDE": "collectingInfo.collectingSite.latitudeDegrees",
    "DECLONGITUDE": "collectingInfo.collectingSite.longitudeDecimal",
    "LONGITUDE": "collectingInfo.collectingSite.longitudeDegrees",
    "COORDUNCERT": "collectingInfo.collectingSite.coordinateUncertainty",
    "COORDDATUM": "collectingInfo.collectingSite.spatialReferenceSystem",
    "GEOREFMETH": "collectingInfo.collectingSite.georeferencingMethod",
    "ELEVATION": "collectingInfo.collectingSite.elevation",
    "COLLDATE": "collectingInfo.collectingDate",
    "BREDCODE": "breedingInstitutes[].instituteCode",
    "BREDNAME": "breedingInstitutes[].instituteName",
    "SAMPSTAT": "biologicalStatusOfAccessionCode",
    "ANCEST": "ancestralData",
    "COLLSRC": "acquisitionSourceCode",
    "DONORCODE": "donorInfo.donorInstitute.instituteCode",
    "DONORNAME": "donorInfo.donorInstitute.instituteName",
    "DONORNUMB": "donorInfo.donorAccessionNumber",
    "OTHERNUMB": "alternateIDs",
    "DUPLSITE": "safetyDuplicateInstitutes[].instituteCode",
    "DUPLINSTNAME": "safetyDuplicateInstitutes[].instituteName",
    "STORAGE": "storageTypeCodes",
    "MLSSTAT": "mlsStatus",
    "REMARKS": "remarks",
    "GENUS/SPECIES": "genus, species",
}

#: Pedigree column -> the PedigreeNode field.
PEDIGREE_FIELDS: dict[str, str] = {
    "INSTCODE": "germplasmDbId (its instituteCode)",
    "ACCENUMB": "germplasmDbId",
    "FEMALE_PARENT": "parents[FEMALE].germplasmDbId",
    "MALE_PARENT": "parents[MALE].germplasmDbId",
    "CROSS_TYPE": "breedingMethodDbId/breedingMethodName",
    "GENERATION": "additionalInfo.generation",
    "CROSS_YEAR": "crossingYear",
    "PEDIGREE": "pedigreeString",
}

#: Observation column -> the field of the Observation (or its unit, study, trial).
OBSERVATION_FIELDS: dict[str, str] = {
    "trial": "trialName (of its trial)",
    "study": "studyName (of its study)",
    "location": "locationName (of its study)",
    "year": "season.year",
    "season": "season.seasonName",
    "instcode": "germplasmDbId (its instituteCode)",
    "accenumb": "germplasmDbId",
    "unit": "observationUnitName (of its unit)",
    "replicate": "observationUnitPosition.observationLevelRelationships[rep].levelCode",
    "block": "observationUnitPosition.observationLevelRelationships[block].levelCode",
    "row": "observationUnitPosition.positionCoordinateY",
    "col": "observationUnitPosition.positionCoordinateX",
    "date": "observationTimeStamp",
    "variable": "observationVariableName",
    "value": "value",
}


@dataclass(frozen=True)
class Origin:
    """The BrAPI object a row came from: its kind, DbId and a readable label."""

    kind: str
    db_id: str
    label: str = ""

    def __str__(self) -> str:
        label = f" ({self.label})" if self.label else ""
        return f"{self.kind} {self.db_id!r}{label}"


@dataclass(frozen=True)
class BrapiProblem(Problem):
    """A :class:`~germplasm.exceptions.Problem` that names a BrAPI object and field.

    ``row`` orders the problems (the row of the import table), ``column`` is
    the BrAPI field, ``brapi_object`` the object (``germplasm '17' (PHL001:IR 64)``).
    """

    brapi_object: str = ""

    def __str__(self) -> str:
        val = f" ({self.value!r})" if self.value != "" else ""
        field_ = f", field {self.column}" if self.column else ""
        return f"{self.brapi_object}{field_}{val}: {self.reason}"


@dataclass
class Table:
    """Rows for one importer (text values by column) and each row's BrAPI origin."""

    columns: Sequence[str]
    fields: Mapping[str, str]
    rows: list[dict[str, str]] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)

    def add(self, row: Mapping[str, str], origin: Origin) -> None:
        self.rows.append({c: row.get(c, "") for c in self.columns})
        self.origins.append(origin)

    def problem(self, p: Problem) -> BrapiProblem:
        """An importer's problem at a row of this table, told in BrAPI terms."""
        where = self.origins[p.row - 1] if 1 <= p.row <= len(self.origins) else None
        columns = p.column.split("/") if p.column else []
        fields = ", ".join(self.fields.get(c, c) for c in columns)
        return BrapiProblem(
            p.row, fields, p.value, p.reason, str(where) if where else "the imported objects"
        )


def text(value: object) -> str:
    """A BrAPI value as the text an import file would hold ("" for null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(value)
    return str(value).strip()


_ISO = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


def mcpd_date(value: object) -> str:
    """A BrAPI date (``1985-06-01``, ``1985-06``, ``1985``) as MCPD ``YYYYMMDD``.

    Missing month or day become ``--``, as MCPD writes them; text that is not
    an ISO date is kept as it is, for the passport validation to report.

    Examples
    --------
    >>> mcpd_date("1985-06-01"), mcpd_date("1985-06"), mcpd_date("1985")
    ('19850601', '198506--', '1985----')
    """
    raw = text(value)
    m = _ISO.match(raw)
    if not m or (len(raw) > 10 and raw[10] not in "T "):
        return raw
    y, mo, d = m.groups()
    return f"{y}{mo or '--'}{d or '--'}"


def _get(obj: JSON | None, path: str) -> Any:
    """``obj["a"]["b"]`` for ``path`` ``"a.b"``; None where anything is missing."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _joined(items: Iterable[object], key: str | None = None) -> str:
    out = []
    for item in items:
        v = item.get(key) if key and isinstance(item, Mapping) else item
        if text(v):
            out.append(text(v))
    return ";".join(out)


def accession_ref(germplasm: JSON) -> tuple[str, str]:
    """(INSTCODE, ACCENUMB) of a Germplasm object, upper-cased institute code."""
    return text(germplasm.get("instituteCode")).upper(), text(germplasm.get("accessionNumber"))


def germplasm_origin(germplasm: JSON) -> Origin:
    inst, num = accession_ref(germplasm)
    label = f"{inst}:{num}" if inst or num else text(germplasm.get("germplasmName"))
    return Origin("germplasm", text(germplasm.get("germplasmDbId")), label)


def _names(g: JSON, m: JSON | None) -> str:
    names = [text(n) for n in _list(_get(m, "accessionNames")) if text(n)]
    if not names:
        names = [text(g.get("germplasmName"))] if text(g.get("germplasmName")) else []
        for s in _list(g.get("synonyms")):
            syn = text(s.get("synonym")) if isinstance(s, Mapping) else text(s)
            if syn and syn not in names:
                names.append(syn)
    return ";".join(names)


_WIEWS = re.compile(r"^[A-Z]{3}[0-9]{3,4}$")


def _other_numbers(g: JSON, m: JSON | None, puid: str, accenumb: str) -> str:
    """MCPD OTHERNUMB (``INSTCODE:NUMBER;...``) from alternateIDs or externalReferences."""
    skip = {puid, accenumb, text(g.get("germplasmDbId")), ""}
    ids = [text(a) for a in _list(_get(m, "alternateIDs")) if text(a) not in skip]
    if not ids:
        for ref in _list(g.get("externalReferences")):
            if not isinstance(ref, Mapping):
                continue
            src = text(ref.get("referenceSource"))
            ref_id = text(ref.get("referenceId") or ref.get("referenceID"))
            if ref_id and ref_id not in skip and _WIEWS.match(src):
                ids.append(f"{src}:{ref_id}")
    return ";".join(dict.fromkeys(ids))


def passport_row(germplasm: JSON, mcpd: JSON | None = None) -> dict[str, str]:
    """The MCPD row (column code -> text) of a Germplasm and its GermplasmMCPD object.

    Parameters
    ----------
    germplasm
        A BrAPI ``Germplasm`` object.
    mcpd
        Its ``GermplasmMCPD`` object (``GET /germplasm/{id}/mcpd``), or None
        when the server has none: the row is then filled from ``germplasm`` only.

    Examples
    --------
    >>> row = passport_row({"instituteCode": "PHL001", "accessionNumber": "IRGC 1",
    ...     "genus": "Oryza", "species": "sativa", "acquisitionDate": "1985-06-01"})
    >>> row["INSTCODE"], row["ACCENUMB"], row["ACQDATE"]
    ('PHL001', 'IRGC 1', '19850601')
    """
    g, m = germplasm, mcpd

    def pick(mcpd_path: str, germplasm_path: str | None = None) -> str:
        value = text(_get(m, mcpd_path))
        if value == "" and germplasm_path is not None:
            value = text(_get(g, germplasm_path))
        return value

    site = "collectingInfo.collectingSite."
    colls = _list(_get(m, "collectingInfo.collectingInstitutes"))
    breds = _list(_get(m, "breedingInstitutes"))
    dupls = _list(_get(m, "safetyDuplicateInstitutes"))
    donors = _list(g.get("donors"))
    donor0 = donors[0] if donors and isinstance(donors[0], Mapping) else {}
    storage = [text(c) for c in _list(_get(m, "storageTypeCodes"))]
    if not any(storage):
        storage = [
            text(s.get("code")) if isinstance(s, Mapping) else text(s)
            for s in _list(g.get("storageTypes"))
        ]
    inst, accenumb = (
        text(pick("instituteCode", "instituteCode")).upper(),
        pick("accessionNumber", "accessionNumber"),
    )
    puid = pick("germplasmPUI", "germplasmPUI")
    return {
        "PUID": puid,
        "INSTCODE": inst,
        "ACCENUMB": accenumb,
        "COLLNUMB": pick("collectingInfo.collectingNumber"),
        "COLLCODE": _joined(colls, "instituteCode"),
        "COLLNAME": _joined(colls, "instituteName"),
        "COLLINSTADDRESS": _joined(colls, "instituteAddress"),
        "COLLMISSID": pick("collectingInfo.collectingMissionIdentifier"),
        "GENUS": pick("genus", "genus"),
        "SPECIES": pick("species", "species"),
        "SPAUTHOR": pick("speciesAuthority", "speciesAuthority"),
        "SUBTAXA": pick("subtaxon", "subtaxa"),
        "SUBTAUTHOR": pick("subtaxonAuthority", "subtaxaAuthority"),
        "CROPNAME": pick("commonCropName", "commonCropName"),
        "ACCENAME": _names(g, m),
        "ACQDATE": mcpd_date(pick("acquisitionDate", "acquisitionDate")),
        "ORIGCTY": pick("countryOfOrigin", "countryOfOriginCode").upper(),
        "COLLSITE": pick(site + "locationDescription"),
        "DECLATITUDE": pick(site + "latitudeDecimal"),
        "LATITUDE": pick(site + "latitudeDegrees"),
        "DECLONGITUDE": pick(site + "longitudeDecimal"),
        "LONGITUDE": pick(site + "longitudeDegrees"),
        "COORDUNCERT": pick(site + "coordinateUncertainty"),
        "COORDDATUM": pick(site + "spatialReferenceSystem"),
        "GEOREFMETH": pick(site + "georeferencingMethod"),
        "ELEVATION": pick(site + "elevation"),
        "COLLDATE": mcpd_date(pick("collectingInfo.collectingDate")),
        "BREDCODE": _joined(breds, "instituteCode"),
        "BREDNAME": _joined(breds, "instituteName"),
        "SAMPSTAT": pick("biologicalStatusOfAccessionCode", "biologicalStatusOfAccessionCode"),
        "ANCEST": pick("ancestralData"),
        "COLLSRC": pick("acquisitionSourceCode"),
        "DONORCODE": pick("donorInfo.donorInstitute.instituteCode")
        or text(donor0.get("donorInstituteCode")),
        "DONORNAME": pick("donorInfo.donorInstitute.instituteName"),
        "DONORNUMB": pick("donorInfo.donorAccessionNumber")
        or text(donor0.get("donorAccessionNumber")),
        "OTHERNUMB": _other_numbers(g, m, puid, accenumb),
        "DUPLSITE": _joined(dupls, "instituteCode"),
        "DUPLINSTNAME": _joined(dupls, "instituteName"),
        "STORAGE": ";".join(s for s in storage if s),
        "MLSSTAT": pick("mlsStatus"),
        "REMARKS": pick("remarks"),
    }


def _parents(node: JSON) -> list[tuple[str, str]]:
    """(germplasmDbId, parentType) of a PedigreeNode (or of a v2.0 ``Pedigree``)."""
    out = [
        (text(p.get("germplasmDbId")), text(p.get("parentType")).upper())
        for p in _list(node.get("parents"))
        if isinstance(p, Mapping) and text(p.get("germplasmDbId"))
    ]
    for i in (1, 2):
        pid = text(node.get(f"parent{i}DbId"))
        if pid:
            out.append((pid, text(node.get(f"parent{i}Type")).upper()))
    return out


def pedigree_row(
    node: JSON, refs: Mapping[str, tuple[str, str]]
) -> tuple[dict[str, str] | None, list[tuple[str, str]]]:
    """The pedigree row of a PedigreeNode, and the parents it names that ``refs`` lacks.

    Parameters
    ----------
    node
        A BrAPI ``PedigreeNode``.
    refs
        germplasmDbId -> (INSTCODE, ACCENUMB) of every germplasm fetched.

    Returns
    -------
    tuple
        The row (None when the node says nothing: no parents, cross, year or
        pedigree string), and (field, germplasmDbId) of each unknown parent.
    """
    child = refs.get(text(node.get("germplasmDbId")))
    parents = _parents(node)
    female = next((p for p, t in parents if t == "FEMALE"), "")
    male = next((p for p, t in parents if t == "MALE"), "")
    kinds = {t for _, t in parents}
    if not female and not male and parents:
        female = parents[0][0]
        if "SELF" in kinds:
            male = female
    unknown = [
        (PEDIGREE_FIELDS[col], pid)
        for col, pid in (("FEMALE_PARENT", female), ("MALE_PARENT", male))
        if pid and pid not in refs
    ]
    info = node.get("additionalInfo")
    extra: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    methods = [
        text(node.get(k)).upper().replace(" ", "_").replace("-", "_")
        for k in ("breedingMethodDbId", "breedingMethodName")
    ]
    cross = next((m for m in methods if m in CROSS_TYPES), text(extra.get("crossType")).upper())
    if not cross:
        by_kind = {"SELF": "SELF", "CLONAL": "CLONAL", "POPULATION": "OPEN_POLLINATED"}
        cross = next((by_kind[k] for k in ("SELF", "CLONAL", "POPULATION") if k in kinds), "")
        if not cross and female and male:
            cross = "BIPARENTAL"
    year, ped = text(node.get("crossingYear")), text(node.get("pedigreeString"))
    if child is None or not (parents or year or ped or text(extra.get("generation"))):
        return None, unknown

    def ref(pid: str) -> str:
        return ":".join(refs[pid]) if pid in refs else ""

    row = {
        "INSTCODE": child[0],
        "ACCENUMB": child[1],
        "FEMALE_PARENT": ref(female),
        "MALE_PARENT": ref(male),
        "CROSS_TYPE": cross,
        "GENERATION": text(extra.get("generation")),
        "CROSS_YEAR": year,
        "PEDIGREE": ped,
    }
    return row, unknown


_REP = {"rep", "replicate", "replication"}


def _position(unit: JSON) -> dict[str, str]:
    """replicate, block, row and col of an ObservationUnit's position."""
    pos = unit.get("observationUnitPosition")
    pos = pos if isinstance(pos, Mapping) else {}
    out = {"replicate": "", "block": "", "row": "", "col": ""}
    for rel in _list(pos.get("observationLevelRelationships")):
        if not isinstance(rel, Mapping):
            continue
        name = text(rel.get("levelName")).lower()
        if name in _REP:
            out["replicate"] = text(rel.get("levelCode"))
        elif name == "block":
            out["block"] = text(rel.get("levelCode"))
    for axis in ("X", "Y"):
        kind = text(pos.get(f"positionCoordinate{axis}Type")).upper()
        value = text(pos.get(f"positionCoordinate{axis}"))
        if kind.endswith("_ROW"):
            out["row"] = value
        elif kind.endswith("_COL"):
            out["col"] = value
        elif value and not kind:
            out["col" if axis == "X" else "row"] = value
    return out


@dataclass
class Design:
    """The trials, studies, units and seasons an observation refers to, by DbId."""

    trials: Mapping[str, JSON]
    studies: Mapping[str, JSON]
    units: Mapping[str, JSON]
    seasons: Mapping[str, JSON]
    refs: Mapping[str, tuple[str, str]]


def _season(obs: JSON, study: JSON, seasons: Mapping[str, JSON]) -> tuple[str, str]:
    season = obs.get("season")
    if not isinstance(season, Mapping) or not (season.get("year") or season.get("seasonDbId")):
        ids = [text(s) for s in _list(study.get("seasons"))]
        season = seasons.get(ids[0], {}) if ids else {}
    elif not season.get("year") and text(season.get("seasonDbId")) in seasons:
        season = seasons[text(season.get("seasonDbId"))]
    name = text(season.get("seasonName") or season.get("season"))
    return text(season.get("year")), name


def observation_rows(
    observations: Iterable[JSON], design: Design, table: Table
) -> tuple[list[BrapiProblem], int]:
    """Add the long-layout rows of ``observations`` to ``table``.

    Returns the problems an importer could not name well (an observation
    whose unit, study or germplasm was not fetched) and the number of
    observations skipped because they hold no value.
    """
    problems: list[BrapiProblem] = []
    skipped = 0
    for obs in observations:
        origin = Origin(
            "observation",
            text(obs.get("observationDbId")),
            text(obs.get("observationVariableName")),
        )
        value = text(obs.get("value"))
        if value == "":
            skipped += 1
            continue
        unit = design.units.get(text(obs.get("observationUnitDbId")), {})
        study_id = text(unit.get("studyDbId") or obs.get("studyDbId"))
        study = design.studies.get(study_id)
        germ = text(unit.get("germplasmDbId") or obs.get("germplasmDbId"))
        n = len(table.rows) + len(problems) + 1
        if not unit and not text(obs.get("observationUnitName")):
            problems.append(
                BrapiProblem(
                    n,
                    "observationUnitDbId",
                    text(obs.get("observationUnitDbId")),
                    "no such observation unit on the server",
                    str(origin),
                )
            )
            continue
        if study is None:
            problems.append(
                BrapiProblem(
                    n, "studyDbId", study_id, "no such study among those fetched", str(origin)
                )
            )
            continue
        if germ not in design.refs:
            problems.append(
                BrapiProblem(
                    n,
                    "germplasmDbId",
                    germ,
                    "no such germplasm among those fetched from the server",
                    str(origin),
                )
            )
            continue
        trial = design.trials.get(text(study.get("trialDbId")), {})
        year, season = _season(obs, study, design.seasons)
        stamp = text(obs.get("observationTimeStamp"))
        row = {
            "trial": text(trial.get("trialName") or study.get("trialName")),
            "study": text(study.get("studyName")),
            "location": text(study.get("locationName")),
            "year": year,
            "season": season,
            "instcode": design.refs[germ][0],
            "accenumb": design.refs[germ][1],
            "unit": text(unit.get("observationUnitName") or obs.get("observationUnitName")),
            **_position(unit),
            "date": stamp[:10],
            "variable": text(obs.get("observationVariableName")),
            "value": value,
        }
        table.add(row, origin)
    return problems, skipped


def passport_table() -> Table:
    from breedhub.germplasm.mcpd import COLUMNS

    return Table(COLUMNS, PASSPORT_FIELDS)


def pedigree_table() -> Table:
    return Table(PEDIGREE_COLUMNS, PEDIGREE_FIELDS)


def observation_table() -> Table:
    return Table(LONG_COLUMNS, OBSERVATION_FIELDS)
