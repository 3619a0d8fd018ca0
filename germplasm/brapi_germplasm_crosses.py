"""BrAPI v2.1 crosses, crossing projects, breeding methods and germplasm attributes.

The mapping is explained in :mod:`germplasm.brapi_germplasm`: a cross is the
pedigree record of the accession it produced, a crossing project is a
breeding programme holding such records, a breeding method is a cross type,
an attribute is a variable with trait summaries and its values are the
accessions' means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from breedhub.germplasm.brapi_core import common_crop_name
from breedhub.germplasm.brapi_germplasm import (
    _BRAPI_CROSS_TYPE,
    BREEDING_METHODS,
    _crop_species,
    _in_ids,
    _names,
    _text,
    parse_ids,
)
from breedhub.germplasm.mcpd import format_float
from breedhub.germplasm.models import (
    Accession,
    BreedingProgram,
    ObservationVariable,
    Pedigree,
    SpeciesRow,
    TraitSummary,
)

__all__ = [
    "AttributeFilter",
    "CrossFilter",
    "attribute_values_page",
    "attributes_page",
    "breeding_method",
    "crosses_page",
    "crossing_projects_page",
]


# --- crosses, crossing projects, breeding methods -----------------------------------------


@dataclass(frozen=True)
class CrossFilter:
    """The filters of ``GET /crosses`` (lists of texts; empty: no filter)."""

    cross_ids: Sequence[str] = ()
    cross_names: Sequence[str] = ()
    project_ids: Sequence[str] = ()
    project_names: Sequence[str] = ()
    crops: Sequence[str] = ()
    program_ids: Sequence[str] = ()
    external_ids: Sequence[str] = ()


def _cross_parent(pid: int | None, kind: str, names: dict[int, str]) -> dict[str, Any] | None:
    if pid is None:
        return None
    return {
        "germplasmDbId": str(pid),
        "germplasmName": names.get(pid),
        "observationUnitDbId": None,
        "observationUnitName": None,
        "parentType": kind,
    }


def crosses_page(
    session: Session, f: CrossFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI ``Cross``: the pedigrees of our accessions (``crossDbId`` = the child's)."""
    child = aliased(Accession)
    program = aliased(BreedingProgram)
    conds: list[ColumnElement[bool]] = []
    if f.cross_ids:
        conds.append(_in_ids(Pedigree.accession_id, f.cross_ids))
    if f.cross_names:
        conds.append(Pedigree.pedigree_string.in_(list(f.cross_names)))
    if f.project_ids or f.program_ids:
        conds.append(_in_ids(child.program_id, [*f.project_ids, *f.program_ids]))
    if f.project_names:
        conds.append(program.name.in_(list(f.project_names)))
    if f.crops:
        species = session.scalars(select(SpeciesRow)).all()
        conds.append(child.species_id.in_(_crop_species(species, f.crops)))
    if f.external_ids:
        conds.append(false())  # crosses carry no external references here
    base = (
        select(Pedigree, child.name, child.accenumb, program.id, program.name)
        .join(child, child.id == Pedigree.accession_id)
        .outerjoin(program, program.id == child.program_id)
        .where(*conds)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(Pedigree.accession_id).limit(limit).offset(offset)).all()
    names = _names(
        session, {p for r in rows for p in (r[0].female_parent_id, r[0].male_parent_id) if p}
    )
    out = []
    for ped, name, number, prog_id, prog_name in rows:
        fem, mal = ped.female_parent_id, ped.male_parent_id
        if ped.cross_type == "SELF":
            parent1, parent2 = _cross_parent(fem or mal, "SELF", names), None
        else:
            parent1, parent2 = (
                _cross_parent(fem, "FEMALE", names),
                _cross_parent(mal, "MALE", names),
            )
        info = {"germplasmDbId": str(ped.accession_id), "germplasmName": name or number}
        info |= {"breedhubCrossType": ped.cross_type}
        if ped.cross_year is not None:
            info["crossingYear"] = str(ped.cross_year)
        if ped.generation:
            info["generation"] = ped.generation
        pair = "/".join(names.get(p) or "?" for p in (fem, mal) if p)
        out.append(
            {
                "additionalInfo": info,
                "crossingProjectDbId": None if prog_id is None else str(prog_id),
                "crossingProjectName": prog_name,
                "crossName": ped.pedigree_string or pair or (name or number),
                "plannedCrossDbId": None,
                "plannedCrossName": None,
                "crossType": _BRAPI_CROSS_TYPE.get(ped.cross_type),
                "parent1": parent1,
                "parent2": parent2,
                "pollinationTimeStamp": None,
                "pollinationEvents": [],
                "crossAttributes": [],
                "externalReferences": [],
                "crossDbId": str(ped.accession_id),
            }
        )
    return out, total


def crossing_projects_page(
    session: Session,
    project_ids: Sequence[str],
    project_names: Sequence[str],
    crops: Sequence[str],
    *,
    potential_parents: bool,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI ``CrossingProject``: the breeding programmes holding crosses."""
    has_crosses = (
        select(Pedigree.accession_id)
        .join(Accession, Accession.id == Pedigree.accession_id)
        .where(Accession.program_id == BreedingProgram.id)
        .exists()
    )
    conds: list[ColumnElement[bool]] = [has_crosses]
    if project_ids:
        conds.append(_in_ids(BreedingProgram.id, project_ids))
    if project_names:
        conds.append(BreedingProgram.name.in_(list(project_names)))
    if crops:
        species = session.scalars(select(SpeciesRow)).all()
        conds.append(BreedingProgram.species_id.in_(_crop_species(species, crops)))
    total = session.scalar(select(func.count()).select_from(BreedingProgram).where(*conds)) or 0
    programs = session.execute(
        select(BreedingProgram, SpeciesRow)
        .outerjoin(SpeciesRow, SpeciesRow.id == BreedingProgram.species_id)
        .where(*conds)
        .order_by(BreedingProgram.id)
        .limit(limit)
        .offset(offset)
    ).all()
    parents: dict[int, list[dict[str, Any]]] = {}
    if potential_parents and programs:
        rows = session.execute(
            select(Accession.program_id, Pedigree.female_parent_id, Pedigree.male_parent_id)
            .join(Pedigree, Pedigree.accession_id == Accession.id)
            .where(Accession.program_id.in_([p.id for p, _ in programs]))
        ).all()
        names = _names(session, {x for r in rows for x in r[1:] if x})
        seen: dict[int, dict[tuple[int, str], None]] = {}
        for prog, fem, mal in rows:
            for pid, kind in ((fem, "FEMALE"), (mal, "MALE")):
                if pid is not None:
                    seen.setdefault(prog, {})[(pid, kind)] = None
        for prog, pairs in seen.items():
            found = (_cross_parent(pid, kind, names) for pid, kind in sorted(pairs))
            parents[prog] = [p for p in found if p is not None]
    out = [
        {
            "additionalInfo": {},
            "crossingProjectName": p.name,
            "crossingProjectDescription": _text(p.objective),
            "programDbId": str(p.id),
            "programName": p.name,
            "commonCropName": common_crop_name(sp) if sp is not None else None,
            "potentialParents": parents.get(p.id, []) if potential_parents else [],
            "externalReferences": [],
            "crossingProjectDbId": str(p.id),
        }
        for p, sp in programs
    ]
    return out, total


def breeding_method(code: str) -> dict[str, Any] | None:
    """The BrAPI ``BreedingMethod`` of a cross type, or ``None``."""
    if code not in BREEDING_METHODS:
        return None
    name, description = BREEDING_METHODS[code]
    return {
        "abbreviation": code,
        "breedingMethodDbId": code,
        "breedingMethodName": name,
        "description": description,
    }


# --- attributes (trait summaries) ---------------------------------------------------------

_ATTRIBUTE_METHOD = "Accession mean over all its trial observations (trait summary)"


def _attribute(v: ObservationVariable, crop: str | None) -> dict[str, Any]:
    ontology: dict[str, Any] | None = None
    if v.ontology_id:
        ontology = {
            "documentationLinks": [],
            "ontologyDbId": v.ontology_id,
            "ontologyName": v.ontology_id.split(":", 1)[0],
            "version": None,
        }
    categories = [
        {"label": str(c.get("label", c.get("value"))), "value": str(c.get("value"))}
        if isinstance(c, dict)
        else {"label": str(c), "value": str(c)}
        for c in (v.categories or [])
    ]
    return {
        "additionalInfo": {},
        "contextOfUse": [],
        "commonCropName": crop,
        "defaultValue": None,
        "documentationURL": None,
        "growthStage": None,
        "institution": None,
        "language": "en",
        "method": {
            "additionalInfo": {},
            "methodClass": "Computation",
            "formula": "mean",
            "methodName": _ATTRIBUTE_METHOD,
            "methodPUI": None,
            "ontologyReference": None,
            "bibliographicalReference": None,
            "externalReferences": [],
            "description": f"Mean of: {v.method}" if v.method else None,
            "methodDbId": None,
        },
        "ontologyReference": ontology,
        "scale": {
            "additionalInfo": {},
            "dataType": "Numerical",
            "decimalPlaces": None,
            "ontologyReference": None,
            "scaleName": v.scale or v.unit or v.name,
            "scalePUI": None,
            "units": _text(v.unit),
            "validValues": {
                "categories": categories,
                "max": None,
                "min": None,
                "maximumValue": None if v.max_value is None else format_float(v.max_value),
                "minimumValue": None if v.min_value is None else format_float(v.min_value),
            },
            "externalReferences": [],
            "scaleDbId": str(v.id),
        },
        "scientist": None,
        "status": None,
        "submissionTimestamp": None,
        "synonyms": [],
        "trait": {
            "additionalInfo": {},
            "externalReferences": [],
            "alternativeAbbreviations": [],
            "mainAbbreviation": None,
            "synonyms": [],
            "ontologyReference": None,
            "status": None,
            "attribute": None,
            "attributePUI": None,
            "entity": None,
            "entityPUI": None,
            "traitName": v.trait,
            "traitPUI": None,
            "traitClass": _text(v.trait_class),
            "traitDescription": _text(v.description),
            "traitDbId": None,
        },
        "externalReferences": [],
        "attributeCategory": _text(v.trait_class),
        "attributeName": v.name,
        "attributePUI": _text(v.ontology_id),
        "attributeDescription": _text(v.description),
        "attributeDbId": str(v.id),
    }


@dataclass(frozen=True)
class AttributeFilter:
    """The filters of ``GET /attributes`` and ``GET /attributevalues``."""

    attribute_ids: Sequence[str] = ()
    names: Sequence[str] = ()
    categories: Sequence[str] = ()
    trait_names: Sequence[str] = ()
    scale_ids: Sequence[str] = ()
    crops: Sequence[str] = ()
    germplasm_ids: Sequence[str] = ()
    value_ids: Sequence[str] = ()
    nothing: bool = False  # a filter on something we do not hold (PUIs, programs, ...)


def _attribute_conditions(session: Session, f: AttributeFilter) -> list[ColumnElement[bool]]:
    v = ObservationVariable
    conds: list[ColumnElement[bool]] = [false()] if f.nothing else []
    if f.attribute_ids:
        conds.append(_in_ids(v.id, f.attribute_ids))
    if f.names:
        conds.append(v.name.in_(list(f.names)))
    if f.categories:
        conds.append(v.trait_class.in_(list(f.categories)))
    if f.trait_names:
        conds.append(v.trait.in_(list(f.trait_names)))
    if f.scale_ids:
        conds.append(_in_ids(v.id, f.scale_ids))
    if f.crops:
        species = session.scalars(select(SpeciesRow)).all()
        conds.append(v.species_id.in_(_crop_species(species, f.crops)))
    return conds


def attributes_page(
    session: Session, f: AttributeFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI ``GermplasmAttribute``: the variables that have trait summaries."""
    conds = _attribute_conditions(session, f)
    summary = select(TraitSummary.variable_id).where(
        TraitSummary.variable_id == ObservationVariable.id
    )
    if f.germplasm_ids:
        summary = summary.where(_in_ids(TraitSummary.accession_id, f.germplasm_ids))
    conds.append(summary.exists())
    total = session.scalar(select(func.count()).select_from(ObservationVariable).where(*conds))
    rows = session.execute(
        select(ObservationVariable, SpeciesRow)
        .outerjoin(SpeciesRow, SpeciesRow.id == ObservationVariable.species_id)
        .where(*conds)
        .order_by(ObservationVariable.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_attribute(v, common_crop_name(sp) if sp else None) for v, sp in rows], total or 0


def _value_ids(raw: Sequence[str]) -> ColumnElement[bool]:
    pairs = []
    for r in raw:
        acc, _, var = r.partition("-")
        ids = parse_ids([acc, var])
        if len(ids) == 2:
            pairs.append(
                and_(TraitSummary.accession_id == ids[0], TraitSummary.variable_id == ids[1])
            )
    return or_(*pairs) if pairs else false()


def attribute_values_page(
    session: Session, f: AttributeFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of BrAPI ``GermplasmAttributeValue``: one accession's mean of one variable."""
    conds = _attribute_conditions(session, f)
    if f.germplasm_ids:
        conds.append(_in_ids(TraitSummary.accession_id, f.germplasm_ids))
    if f.value_ids:
        conds.append(_value_ids(f.value_ids))
    base = (
        select(TraitSummary.accession_id)
        .join(ObservationVariable, ObservationVariable.id == TraitSummary.variable_id)
        .where(*conds)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        select(TraitSummary, ObservationVariable.name, Accession.name, Accession.accenumb)
        .join(ObservationVariable, ObservationVariable.id == TraitSummary.variable_id)
        .join(Accession, Accession.id == TraitSummary.accession_id)
        .where(*conds)
        .order_by(TraitSummary.accession_id, TraitSummary.variable_id)
        .limit(limit)
        .offset(offset)
    ).all()
    out = []
    for s, var_name, name, number in rows:
        info = {"n": str(s.n)}
        if s.min_value is not None:
            info |= {"min": format_float(s.min_value), "max": format_float(s.max_value)}
        out.append(
            {
                "additionalInfo": info,
                "attributeDbId": str(s.variable_id),
                "attributeName": var_name,
                "germplasmDbId": str(s.accession_id),
                "germplasmName": name or number,
                "determinedDate": None,
                "value": None if s.mean is None else format_float(round(s.mean, 6)),
                "externalReferences": [],
                "attributeValueDbId": f"{s.accession_id}-{s.variable_id}",
            }
        )
    return out, total
