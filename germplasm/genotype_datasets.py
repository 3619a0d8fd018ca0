"""Genotype datasets: recording HDF5 genotype stores with their samples, and finding them.

A dataset is one store (``<home>/genotypes/<name>.h5``) whose columns are
samples, each sample taken from one accession. These functions work inside
a session the caller opened (:func:`germplasm.db.transaction`), and read
lists of samples with one ``IN`` query per 500 names, never one per sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from breedhub.germplasm.exceptions import DuplicateError, NotFoundError
from breedhub.germplasm.models import (
    Accession,
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    Sample,
)
from breedhub.germplasm.queries_registry import get_species_row

__all__ = [
    "add_genotype_dataset",
    "dataset_accession_ids",
    "dataset_samples",
    "find_genotype_dataset",
    "genotype_dataset_names",
    "get_genotype_dataset",
    "replace_genotype_dataset",
    "sample_accession_ids",
]

_CHUNK = 500


def add_genotype_dataset(
    session: Session,
    *,
    name: str,
    species: str,
    path: str,
    ploidy: int,
    samples: Sequence[tuple[str, int]],
    n_variants: int,
    reference: str = "",
    provenance: Mapping[str, Any] | None = None,
) -> int:
    """Record an HDF5 genotype store and its samples; return the dataset id.

    Parameters
    ----------
    session
        An open session; the caller commits.
    name
        The dataset's unique name.
    species
        Species key (``rice``).
    path
        Where the store lies.
    ploidy
        The store's ploidy.
    samples
        ``(sample name, accession id)`` in the store's column order; samples
        are created when new, and must belong to the same accession when not.
    n_variants
        Number of variants in the store.
    reference
        The reference assembly's name.
    provenance
        What made the store.

    Returns
    -------
    int
        The new dataset's id.

    Raises
    ------
    DuplicateError
        If a dataset of that name exists, or a sample name belongs to another accession.
    NotFoundError
        If the species is unknown.
    """
    sp = get_species_row(session, species)
    if find_genotype_dataset(session, name) is not None:
        raise DuplicateError(f"a genotype dataset named {name!r} exists")
    ds = GenotypeDataset(
        name=name, species_id=sp.id, path=path, ploidy=ploidy, reference=reference,
        n_variants=n_variants, n_samples=len(samples), provenance=dict(provenance or {}),
    )  # fmt: skip
    session.add(ds)
    session.flush()
    _link_samples(session, ds.id, samples)
    return ds.id


def replace_genotype_dataset(
    session: Session,
    dataset_id: int,
    *,
    path: str,
    ploidy: int,
    samples: Sequence[tuple[str, int]],
    n_variants: int,
    reference: str = "",
    provenance: Mapping[str, Any] | None = None,
) -> int:
    """Replace what a recorded dataset holds, keeping its id (and the model runs made on it).

    Parameters
    ----------
    session
        An open session; the caller commits.
    dataset_id
        The dataset to replace.
    path, ploidy, samples, n_variants, reference, provenance
        As in :func:`add_genotype_dataset`.

    Returns
    -------
    int
        ``dataset_id``.

    Raises
    ------
    NotFoundError
        If there is no such dataset.
    DuplicateError
        If a sample name belongs to another accession.
    """
    ds = session.get(GenotypeDataset, dataset_id)
    if ds is None:
        raise NotFoundError(f"no genotype dataset {dataset_id}")
    ds.path, ds.ploidy, ds.reference = path, ploidy, reference
    ds.n_variants, ds.n_samples = n_variants, len(samples)
    ds.provenance = dict(provenance or {})
    session.execute(delete(GenotypeDatasetSample).where(GenotypeDatasetSample.dataset_id == ds.id))
    _link_samples(session, ds.id, samples)
    return ds.id


def _link_samples(session: Session, dataset_id: int, samples: Sequence[tuple[str, int]]) -> None:
    """Make ``samples`` the dataset's columns, creating the samples that are new."""
    existing = {
        smp.name: smp
        for smp in session.scalars(select(Sample).where(Sample.name.in_([n for n, _ in samples])))
    }
    for col, (sample_name, acc_id) in enumerate(samples):
        smp = existing.get(sample_name)
        if smp is None:
            smp = Sample(name=sample_name, accession_id=acc_id, tissue="leaf")
            session.add(smp)
            session.flush()
        elif smp.accession_id != acc_id:
            raise DuplicateError(f"sample {sample_name!r} belongs to another accession")
        session.add(
            GenotypeDatasetSample(dataset_id=dataset_id, sample_id=smp.id, column_index=col)
        )


def find_genotype_dataset(session: Session, name: str) -> GenotypeDataset | None:
    """The genotype dataset called ``name``, or None.

    Parameters
    ----------
    session
        An open database session.
    name
        The dataset's name.

    Returns
    -------
    GenotypeDataset or None
    """
    return session.scalars(select(GenotypeDataset).where(GenotypeDataset.name == name)).first()


def get_genotype_dataset(session: Session, name: str) -> GenotypeDataset:
    """The genotype dataset called ``name``.

    Raises
    ------
    NotFoundError
        If there is none.
    """
    ds = find_genotype_dataset(session, name)
    if ds is None:
        raise NotFoundError(f"no genotype dataset named {name!r}")
    return ds


def genotype_dataset_names(session: Session) -> list[str]:
    """The names of every genotype dataset, sorted.

    Parameters
    ----------
    session
        An open database session.

    Returns
    -------
    list of str
    """
    return list(session.scalars(select(GenotypeDataset.name).order_by(GenotypeDataset.name)))


def dataset_accession_ids(session: Session, dataset_id: int) -> list[int]:
    """The ids of the accessions genotyped in a dataset, sorted, each once.

    Parameters
    ----------
    session
        An open database session.
    dataset_id
        The genotype dataset.

    Returns
    -------
    list of int
    """
    return sorted(
        set(
            session.scalars(
                select(Sample.accession_id)
                .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
                .where(GenotypeDatasetSample.dataset_id == dataset_id)
            ).all()
        )
    )


def dataset_samples(session: Session, dataset_id: int) -> list[tuple[str, int, str]]:
    """The samples of a dataset in the store's column order.

    Parameters
    ----------
    session
        An open database session.
    dataset_id
        The genotype dataset.

    Returns
    -------
    list of tuple
        ``(sample name, accession id, INSTCODE:ACCENUMB)`` per column.
    """
    rows = session.execute(
        select(Sample.name, Sample.accession_id, Institute.code, Accession.accenumb)
        .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
        .join(Accession, Accession.id == Sample.accession_id)
        .join(Institute, Institute.id == Accession.institute_id)
        .where(GenotypeDatasetSample.dataset_id == dataset_id)
        .order_by(GenotypeDatasetSample.column_index)
    ).all()
    return [(n, a, f"{c}:{e}") for n, a, c, e in rows]


def sample_accession_ids(session: Session, names: Sequence[str]) -> dict[str, int]:
    """The accession each existing sample of ``names`` was taken from.

    Parameters
    ----------
    session
        An open database session.
    names
        Sample names; those not in the database are left out.

    Returns
    -------
    dict
        sample name -> accession id.
    """
    out: dict[str, int] = {}
    for i in range(0, len(names), _CHUNK):
        out.update(
            session.execute(
                select(Sample.name, Sample.accession_id).where(
                    Sample.name.in_(list(names[i : i + _CHUNK]))
                )
            )
            .tuples()
            .all()
        )
    return out
