"""The inputs of a model fit from files: phenotype tables, trait vectors, and genotypes aligned with them.

Genotypes are read by :func:`breedhub.genomics.read_genotypes` (every format,
ploidy required); phenotypes are a CSV/TSV with a sample id column, read as
text and checked trait by trait (:func:`read_phenotypes`, :func:`trait_vector`).
:func:`load_training_data` does both and lines the trait up with the
genotypes by sample id, ready for :mod:`breedhub.predict`.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from breedhub.base.errors import InputFileError
from breedhub.genomics.genotypes import Genotypes, MissingPolicy, read_genotypes

log = logging.getLogger(__name__)

_MISSING = {"": None, "NA": None, "NaN": None, ".": None}


def read_phenotypes(path: str | os.PathLike[str], *, id_column: str | None = None) -> pl.DataFrame:
    """A phenotype table with its sample id column first, named ``sample_id``, as text.

    The id column is ``id_column``, else ``sample_id`` if present, else the
    first column. A ``.tsv`` or ``.txt`` is tab-separated, anything else
    comma-separated.

    Raises
    ------
    InputFileError
        For a missing or unreadable file, or an ``id_column`` it does not have.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = p.write_text("yield,line\\n4.5,a\\n")
    >>> read_phenotypes(p, id_column="line").columns
    ['sample_id', 'yield']
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    sep = "\t" if p.suffix.lower() in (".tsv", ".txt") else ","
    try:
        df = pl.read_csv(p, separator=sep, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputFileError(p, f"cannot read: {str(exc).splitlines()[0]}") from None
    col = id_column or ("sample_id" if "sample_id" in df.columns else df.columns[0])
    if col not in df.columns:
        raise InputFileError(p, f"no column {col!r}; columns are {', '.join(df.columns)}")
    return df.select(col, pl.exclude(col)).rename({col: "sample_id"})


def trait_vector(
    pheno: pl.DataFrame,
    trait: str,
    sample_ids: Sequence[str],
    *,
    source: str = "phenotypes",
    allow_unmatched: bool = False,
) -> np.ndarray:
    """The trait's values in the order of ``sample_ids`` (NaN where not phenotyped).

    Parameters
    ----------
    pheno
        A table from :func:`read_phenotypes`.
    trait
        One of its columns.
    sample_ids
        The genotyped samples, in the genotypes' order.
    source
        The phenotype file, for messages.
    allow_unmatched
        Drop (and log) phenotyped samples that have no genotypes, instead of
        raising.

    Raises
    ------
    InputFileError
        For an unknown trait, non-numeric values (naming the rows), duplicated
        sample ids, or phenotyped samples absent from the genotypes (unless
        ``allow_unmatched``).

    Examples
    --------
    >>> pheno = pl.DataFrame({"sample_id": ["b", "a"], "yield": ["5.5", "NA"]})
    >>> trait_vector(pheno, "yield", ["a", "b", "c"]).tolist()
    [nan, 5.5, nan]
    """
    if trait not in pheno.columns:
        raise InputFileError(
            source, f"no trait {trait!r}; columns are {', '.join(pheno.columns[1:])}"
        )
    ids = [str(s) for s in pheno["sample_id"].to_list()]
    twice = sorted(s for s, n in Counter(ids).items() if n > 1)
    if twice:
        raise InputFileError(source, f"samples listed twice: {', '.join(twice[:10])}")
    raw = pheno[trait].replace(_MISSING)
    values = raw.cast(pl.Float64, strict=False).to_list()
    bad = [
        i + 1 for i, (a, b) in enumerate(zip(raw.to_list(), values, strict=True)) if a is not None and b is None
    ]  # fmt: skip
    if bad:
        raise InputFileError(
            source,
            f"trait {trait!r} has non-numeric values in rows {', '.join(map(str, bad[:10]))}",
        )
    index = {str(s): i for i, s in enumerate(sample_ids)}
    absent = [s for s, v in zip(ids, values, strict=True) if s not in index and v is not None]
    if absent:
        problem = (
            f"{len(absent)} phenotyped samples are not in the genotypes: {', '.join(absent[:10])}"
        )
        if not allow_unmatched:
            raise InputFileError(source, problem + " (pass --allow-unmatched to drop them)")
        log.warning("%s: %s; dropped", source, problem)
    y = np.full(len(index), np.nan)
    for s, v in zip(ids, values, strict=True):
        if s in index and v is not None:
            y[index[s]] = v
    not_phenotyped = int(np.isnan(y).sum())
    if not_phenotyped:
        log.info(
            "%s: %d genotyped samples have no %s value: they are predicted, not used to fit",
            source,
            not_phenotyped,
            trait,
        )
    return y


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Genotypes and a trait, lined up by sample id (:func:`load_training_data`).

    Attributes
    ----------
    genotypes
        Every genotyped sample, in the genotype file's order.
    dosages
        ``genotypes.dosage_matrix(missing=...)``: (samples, markers) float32.
    phenotypes
        The phenotype table, or None when none was given.
    y
        The trait in the genotypes' sample order, NaN where a sample has no
        value (it is predicted, not fitted); None without phenotypes.
    """

    genotypes: Genotypes
    dosages: np.ndarray
    phenotypes: pl.DataFrame | None
    y: np.ndarray | None

    @property
    def ploidy(self) -> int:
        """The genotypes' ploidy."""
        return self.genotypes.ploidy

    @property
    def sample_id(self) -> list[str]:
        """The samples, in row order of :attr:`dosages` and :attr:`y`."""
        return list(self.genotypes.sample_id)

    @property
    def variant_id(self) -> list[str]:
        """The markers, in column order of :attr:`dosages`."""
        return list(self.genotypes.variant_id)


def load_training_data(
    genotypes: str | os.PathLike[str],
    phenotypes: str | os.PathLike[str] | None = None,
    trait: str | None = None,
    *,
    ploidy: int | None = None,
    id_column: str | None = None,
    missing: MissingPolicy = "error",
    allow_unmatched: bool = False,
) -> TrainingData:
    """Read a genotype file and a phenotype table and line the trait up by sample id.

    Parameters
    ----------
    genotypes
        Any format of :func:`breedhub.genomics.read_genotypes`.
    phenotypes, trait
        A CSV/TSV with a sample id column, and the trait's column; both or
        neither.
    ploidy
        Required where the genotype file does not state its ploidy; must agree
        with it where it does.
    id_column
        The phenotypes' sample id column (default ``sample_id``, else the first).
    missing
        Missing genotypes: ``"error"``, or ``"mean"`` imputation (logged with
        its count).
    allow_unmatched
        Drop phenotyped samples that have no genotypes instead of raising.

    Raises
    ------
    InputFileError
        From either reader, naming the file and the problem.
    ValueError
        For phenotypes without a trait or the other way round.
    """
    if (phenotypes is None) != (trait is None):
        raise ValueError("give both phenotypes and trait, or neither")
    geno = read_genotypes(genotypes, ploidy=ploidy)
    X = geno.dosage_matrix(missing=missing)
    if phenotypes is None or trait is None:
        return TrainingData(geno, X, None, None)
    pheno = read_phenotypes(phenotypes, id_column=id_column)
    y = trait_vector(
        pheno, trait, geno.sample_id, source=str(phenotypes), allow_unmatched=allow_unmatched
    )
    return TrainingData(geno, X, pheno, y)
