"""The BrAPI genotyping queries: samples, genotype datasets (variant sets) and their columns (call sets).

Every function takes the :class:`~germplasm.access.Viewer` the request acts
for: a restricted genotype dataset is invisible to other institutes and to
anonymous visitors (:func:`germplasm.access.visible_clause`), and so are its
columns; a sample is hidden when every dataset it is in is hidden (a sample
in no dataset is seen by all, as its accession is). Lists are paged in SQL
(``LIMIT``/``OFFSET`` and a ``COUNT``) in a stable order.

A filter given as ``None`` is not applied; an empty list matches nothing
(the caller passes ``[]`` when every DbId it was given cannot be ours).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.models import (
    Accession,
    GenotypeDataset,
    GenotypeDatasetSample,
    Sample,
    SpeciesRow,
)

__all__ = [
    "CallSetFilter",
    "CallSetRow",
    "DatasetRow",
    "SampleFilter",
    "SampleRow",
    "callsets_page",
    "dataset_callsets",
    "datasets_page",
    "get_dataset",
    "get_sample",
    "samples_page",
    "visible_datasets",
]


@dataclass(frozen=True)
class DatasetRow:
    """A genotype dataset as BrAPI shows it (a ``VariantSet``, and its ``ReferenceSet``)."""

    id: int
    name: str
    path: str
    ploidy: int
    reference: str
    n_variants: int
    n_samples: int
    created_at: dt.datetime | None
    species_key: str
    scientific_name: str
    common_name: str
    provenance: dict[str, Any]


@dataclass(frozen=True)
class CallSetRow:
    """A sample in a dataset: one column of its store (a BrAPI ``CallSet``)."""

    dataset_id: int
    dataset_name: str
    sample_id: int
    sample_name: str
    column_index: int
    accession_id: int
    created_at: dt.datetime | None


@dataclass(frozen=True)
class SampleRow:
    """A sample and the accession it was taken from (a BrAPI ``Sample``)."""

    id: int
    name: str
    accession_id: int
    tissue: str
    sample_date: dt.date | None
    plate: str
    well: str
    notes: str
    species_key: str


@dataclass(frozen=True)
class CallSetFilter:
    """Which call sets to list; ``None`` applies no filter, ``[]`` matches nothing."""

    dataset_ids: Sequence[int] | None = None
    pairs: Sequence[tuple[int, int]] | None = None  # (dataset id, sample id)
    sample_ids: Sequence[int] | None = None
    sample_names: Sequence[str] | None = None
    germplasm_ids: Sequence[int] | None = None
    germplasm_names: Sequence[str] | None = None
    germplasm_puis: Sequence[str] | None = None


@dataclass(frozen=True)
class SampleFilter:
    """Which samples to list; ``None`` applies no filter, ``[]`` matches nothing."""

    sample_ids: Sequence[int] | None = None
    sample_names: Sequence[str] | None = None
    germplasm_ids: Sequence[int] | None = None
    germplasm_names: Sequence[str] | None = None
    plate_names: Sequence[str] | None = None
    crops: Sequence[str] | None = None
    #: Filters on what breedhub does not record (studies, plates as records, ...): given, match nothing.
    unknown: Sequence[str] = field(default_factory=tuple)


def _in(column: Any, values: Sequence[Any] | None) -> ColumnElement[bool]:
    if values is None:
        return true()
    if not values:
        return false()
    return column.in_(list(values))


# ---------------------------------------------------------------------------
# Datasets


def _dataset_select(
    viewer: Viewer, dataset_ids: Sequence[int] | None, crops: Sequence[str] | None = None
) -> Any:
    query = (
        select(GenotypeDataset, SpeciesRow)
        .join(SpeciesRow, SpeciesRow.id == GenotypeDataset.species_id)
        .where(visible_clause(GenotypeDataset, viewer), _in(GenotypeDataset.id, dataset_ids))
    )
    if crops is not None:
        query = query.where(or_(_in(SpeciesRow.key, crops), _in(SpeciesRow.common_name_en, crops)))
    return query


def _dataset_row(ds: GenotypeDataset, sp: SpeciesRow) -> DatasetRow:
    return DatasetRow(
        id=ds.id, name=ds.name, path=ds.path, ploidy=ds.ploidy, reference=ds.reference or "",
        n_variants=ds.n_variants, n_samples=ds.n_samples, created_at=ds.created_at,
        species_key=sp.key, scientific_name=sp.scientific_name, common_name=sp.common_name_en,
        provenance=dict(ds.provenance or {}),
    )  # fmt: skip


def datasets_page(
    session: Session,
    viewer: Viewer,
    *,
    dataset_ids: Sequence[int] | None = None,
    crops: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 1000,
) -> tuple[list[DatasetRow], int]:
    """A page of the genotype datasets ``viewer`` sees, by id, and how many there are.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    dataset_ids
        Only these datasets (None: all).
    crops
        Only datasets of these species (registry key or English common name; None: all).
    offset, limit
        The page.

    Returns
    -------
    tuple
        ``(rows, total)``.
    """
    query = _dataset_select(viewer, dataset_ids, crops)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(GenotypeDataset.id).offset(offset).limit(limit)).all()
    return [_dataset_row(ds, sp) for ds, sp in rows], int(total)


def visible_datasets(
    session: Session, viewer: Viewer, dataset_ids: Sequence[int] | None = None
) -> list[DatasetRow]:
    """Every genotype dataset ``viewer`` sees (among ``dataset_ids``), by id.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    dataset_ids
        Only these datasets (None: all).

    Returns
    -------
    list of DatasetRow
    """
    rows = session.execute(_dataset_select(viewer, dataset_ids).order_by(GenotypeDataset.id))
    return [_dataset_row(ds, sp) for ds, sp in rows.all()]


def get_dataset(session: Session, viewer: Viewer, dataset_id: int) -> DatasetRow | None:
    """The dataset ``dataset_id`` if ``viewer`` sees it, else None.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    dataset_id
        The dataset's id.

    Returns
    -------
    DatasetRow or None
    """
    found = visible_datasets(session, viewer, [dataset_id])
    return found[0] if found else None


# ---------------------------------------------------------------------------
# Call sets: the columns of datasets


def _callset_select(viewer: Viewer, flt: CallSetFilter) -> Any:
    gds = GenotypeDatasetSample
    query = (
        select(
            gds.dataset_id,
            GenotypeDataset.name,
            gds.sample_id,
            Sample.name,
            gds.column_index,
            Sample.accession_id,
            GenotypeDataset.created_at,
        )  # fmt: skip
        .join(GenotypeDataset, GenotypeDataset.id == gds.dataset_id)
        .join(Sample, Sample.id == gds.sample_id)
        .where(
            visible_clause(GenotypeDataset, viewer),
            _in(gds.dataset_id, flt.dataset_ids),
            _in(gds.sample_id, flt.sample_ids),
            _in(Sample.name, flt.sample_names),
            _in(Sample.accession_id, flt.germplasm_ids),
        )
    )
    if flt.pairs is not None:
        query = query.where(
            tuple_(gds.dataset_id, gds.sample_id).in_(list(flt.pairs)) if flt.pairs else false()
        )
    if flt.germplasm_names is not None or flt.germplasm_puis is not None:
        query = query.join(Accession, Accession.id == Sample.accession_id)
        if flt.germplasm_names is not None:
            names = list(flt.germplasm_names)
            query = query.where(
                or_(Accession.name.in_(names), Accession.accenumb.in_(names)) if names else false()
            )
        query = query.where(_in(Accession.puid, flt.germplasm_puis))
    return query


def _callset_rows(rows: Sequence[Any]) -> list[CallSetRow]:
    return [CallSetRow(*row) for row in rows]


def callsets_page(
    session: Session, viewer: Viewer, flt: CallSetFilter, *, offset: int = 0, limit: int = 1000
) -> tuple[list[CallSetRow], int]:
    """A page of the call sets (dataset columns) ``viewer`` sees, by dataset then column.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    flt
        Which call sets.
    offset, limit
        The page.

    Returns
    -------
    tuple
        ``(rows, total)``.
    """
    query = _callset_select(viewer, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    gds = GenotypeDatasetSample
    rows = session.execute(
        query.order_by(gds.dataset_id, gds.column_index).offset(offset).limit(limit)
    ).all()
    return _callset_rows(rows), int(total)


def dataset_callsets(
    session: Session, viewer: Viewer, dataset_id: int, flt: CallSetFilter | None = None
) -> list[CallSetRow]:
    """Every call set of one dataset that ``viewer`` sees and ``flt`` keeps, in column order.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    dataset_id
        The dataset.
    flt
        Further filters (its ``dataset_ids`` is ignored).

    Returns
    -------
    list of CallSetRow
    """
    base = flt or CallSetFilter()
    flt = CallSetFilter(
        dataset_ids=[dataset_id], pairs=base.pairs, sample_ids=base.sample_ids,
        sample_names=base.sample_names, germplasm_ids=base.germplasm_ids,
        germplasm_names=base.germplasm_names, germplasm_puis=base.germplasm_puis,
    )  # fmt: skip
    query = _callset_select(viewer, flt).order_by(GenotypeDatasetSample.column_index)
    return _callset_rows(session.execute(query).all())


# ---------------------------------------------------------------------------
# Samples


def _sample_visible(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_admin:
        return true()
    gds = GenotypeDatasetSample
    in_any = exists().where(gds.sample_id == Sample.id)
    in_visible = exists().where(
        gds.sample_id == Sample.id,
        gds.dataset_id == GenotypeDataset.id,
        visible_clause(GenotypeDataset, viewer),
    )
    return or_(~in_any, in_visible)


def _sample_select(viewer: Viewer, flt: SampleFilter) -> Any:
    query = (
        select(
            Sample.id,
            Sample.name,
            Sample.accession_id,
            Sample.tissue,
            Sample.sample_date,
            Sample.plate,
            Sample.well,
            Sample.notes,
            SpeciesRow.key,
        )  # fmt: skip
        .join(Accession, Accession.id == Sample.accession_id)
        .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
        .where(
            _sample_visible(viewer),
            _in(Sample.id, flt.sample_ids),
            _in(Sample.name, flt.sample_names),
            _in(Sample.accession_id, flt.germplasm_ids),
            _in(Sample.plate, flt.plate_names),
        )
    )
    if flt.germplasm_names is not None:
        names = list(flt.germplasm_names)
        query = query.where(
            or_(Accession.name.in_(names), Accession.accenumb.in_(names)) if names else false()
        )
    if flt.crops is not None:
        crops = list(flt.crops)
        query = query.where(
            or_(SpeciesRow.key.in_(crops), SpeciesRow.common_name_en.in_(crops))
            if crops
            else false()
        )
    if flt.unknown:
        query = query.where(false())
    return query


def samples_page(
    session: Session, viewer: Viewer, flt: SampleFilter, *, offset: int = 0, limit: int = 1000
) -> tuple[list[SampleRow], int]:
    """A page of the samples ``viewer`` sees, by id, and how many there are.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    flt
        Which samples.
    offset, limit
        The page.

    Returns
    -------
    tuple
        ``(rows, total)``.
    """
    query = _sample_select(viewer, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Sample.id).offset(offset).limit(limit)).all()
    return [SampleRow(*row) for row in rows], int(total)


def get_sample(session: Session, viewer: Viewer, sample_id: int) -> SampleRow | None:
    """The sample ``sample_id`` if ``viewer`` sees it, else None.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking.
    sample_id
        The sample's id.

    Returns
    -------
    SampleRow or None
    """
    rows, _ = samples_page(session, viewer, SampleFilter(sample_ids=[sample_id]), limit=1)
    return rows[0] if rows else None
