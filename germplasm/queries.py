"""Reading germplasm: one accession and its page, and look-ups by reference.

The queries behind the CLI, portal and BrAPI. Every query is a fixed number
of SQL statements whatever the page size (no N+1). The search itself lives in
:mod:`germplasm.queries_search` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.exceptions import NotFoundError
from breedhub.germplasm.models import (
    Accession,
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
from breedhub.germplasm.queries_search import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    MAX_RESULTS,
    SORT_KEYS,
    AccessionQuery,
    Page,
    TraitRange,
    accession_summary,
    search_accessions,
    text_keys,
)

__all__ = [
    "MAX_ID",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_RESULTS",
    "SORT_KEYS",
    "AccessionQuery",
    "Page",
    "TraitRange",
    "accession_by_id",
    "accession_detail",
    "accession_ids_by_ref",
    "accession_species_by_ref",
    "accession_summary",
    "get_accession",
    "search_accessions",
    "species_accession_ids",
    "text_keys",
]

#: The largest database id: ids are INTEGER columns, 32-bit on PostgreSQL (SQLAlchemy
#: casts a bound id to INTEGER there, so a larger one is an "integer out of range" error).
MAX_ID = 2**31 - 1
_CHUNK = 500  # ids per IN (...) list


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
