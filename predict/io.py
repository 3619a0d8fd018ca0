"""Reading genotype matrices and phenotype tables for the ``breedhub predict`` commands.

Genotypes (samples x markers dosages) from:

- ``.npz``: arrays ``X`` (or ``dosage``), ``sample_ids``, ``marker_ids``;
- ``.csv`` / ``.tsv``: first column the sample id, one column per marker;
- ``.vcf``, ``.vcf.gz``, ``.bcf``: GT of any ploidy, read with scikit-allel;
  the dosage is the count of non-reference alleles;
- ``.bed`` (PLINK 1, with its ``.bim`` and ``.fam``): count of allele A1;
- ``.h5`` / ``.hdf5``: the genotype store (scikit-allel's layout:
  ``samples``, ``variants/ID`` or ``variants/POS``, ``calldata/GT``; a
  ``calldata/dosage`` or ``dosage`` dataset is used when present).

Missing genotypes are an error (impute first) unless ``impute="mean"``,
which replaces each missing dosage by its marker's mean and says how many.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from breedhub.predict.exceptions import InputError

log = logging.getLogger(__name__)


@dataclass
class GenotypeMatrix:
    """Dosages with their sample and marker ids."""

    dosages: np.ndarray  # (samples, markers), float32, NaN where missing
    sample_ids: list[str]
    marker_ids: list[str]
    ploidy: int | None = None
    source: str = ""


def _finish(
    X: np.ndarray, samples: Any, markers: Any, ploidy: int | None, src: str, impute: str | None
) -> GenotypeMatrix:
    X = np.asarray(X, dtype=np.float32)
    samples = [str(s) for s in samples]
    markers = [str(m) for m in markers]
    if X.shape != (len(samples), len(markers)):
        raise InputError(
            f"{src}: matrix shape {X.shape} does not match {len(samples)} samples x {len(markers)} markers"
        )
    dupes = (
        sorted({s for s in samples if samples.count(s) > 1})
        if len(set(samples)) != len(samples)
        else []
    )
    if dupes:
        raise InputError(f"{src}: duplicated sample ids {', '.join(dupes[:10])}")
    missing = np.isnan(X)
    if missing.any():
        if impute != "mean":
            rows = np.unique(np.nonzero(missing)[0])
            raise InputError(
                f"{src}: {int(missing.sum())} missing genotypes in {len(rows)} samples "
                f"(e.g. {', '.join(samples[i] for i in rows[:5])}): impute them first, "
                "or pass --impute mean"
            )
        means = np.nanmean(X, axis=0)
        means = np.where(np.isnan(means), 0.0, means)
        X = np.where(missing, means[None, :], X).astype(np.float32)
        log.warning(
            "%s: imputed %d missing dosages with their marker means", src, int(missing.sum())
        )
    return GenotypeMatrix(X, samples, markers, ploidy, src)


def vcf_ploidy(path: Path) -> int:
    """The largest GT length in the first records (scikit-allel would assume 2)."""
    import pysam

    try:
        with pysam.VariantFile(str(path)) as vf:
            ploidy = 0
            for i, rec in enumerate(vf):
                ploidy = max([ploidy, *(len(s.get("GT") or ()) for s in rec.samples.values())])
                if i >= 100:
                    break
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read VCF: {exc}") from None
    if ploidy == 0:
        raise InputError(f"{path}: no genotypes (GT) found")
    return ploidy


def _read_vcf(path: Path) -> tuple[np.ndarray, list[str], list[str], int]:
    import allel

    ploidy = vcf_ploidy(path)
    try:
        data = allel.read_vcf(
            str(path),
            fields=["samples", "calldata/GT", "variants/ID", "variants/CHROM", "variants/POS"],
            numbers={"calldata/GT": ploidy},
        )
    except Exception as exc:  # scikit-allel raises plain exceptions for broken files
        raise InputError(f"{path}: cannot read VCF: {exc}") from None
    if data is None:
        raise InputError(f"{path}: no variants")
    gt = data["calldata/GT"]  # (variants, samples, ploidy)
    miss = (gt < 0).any(axis=2)
    dos = (gt > 0).sum(axis=2).astype(np.float32)
    dos[miss] = np.nan
    ids = [
        i if i not in ("", ".") else f"{c}:{p}"
        for i, c, p in zip(
            data["variants/ID"], data["variants/CHROM"], data["variants/POS"], strict=True
        )
    ]
    return dos.T, list(data["samples"]), ids, ploidy


def _read_bed(path: Path) -> tuple[np.ndarray, list[str], list[str]]:
    stem = path.with_suffix("")
    bim, fam = Path(f"{stem}.bim"), Path(f"{stem}.fam")
    for f in (bim, fam):
        if not f.exists():
            raise InputError(f"{path}: PLINK needs {f.name} beside the .bed")
    samples = [line.split()[1] for line in fam.read_text().splitlines() if line.strip()]
    markers = [line.split()[1] for line in bim.read_text().splitlines() if line.strip()]
    raw = np.fromfile(path, dtype=np.uint8)
    if raw[:3].tolist() != [0x6C, 0x1B, 0x01]:
        raise InputError(f"{path}: not a SNP-major PLINK 1 .bed file (bad magic bytes)")
    n, m = len(samples), len(markers)
    per = (n + 3) // 4
    if raw.size - 3 != per * m:
        raise InputError(f"{path}: size does not match {n} samples x {m} markers (truncated?)")
    codes = np.unpackbits(raw[3:].reshape(m, per)[:, :, None], axis=2, bitorder="little")
    codes = codes.reshape(m, per * 4, 2)[:, :n]
    two = codes[:, :, 0] + 2 * codes[:, :, 1]  # 0 hom A1, 1 missing, 2 het, 3 hom A2
    lookup = np.array([2.0, np.nan, 1.0, 0.0], dtype=np.float32)
    return lookup[two].T, samples, markers


def _read_h5(path: Path) -> tuple[np.ndarray, list[str], list[str], int | None]:
    import h5py

    with h5py.File(path, "r") as f:
        samples = [s.decode() if isinstance(s, bytes) else str(s) for s in f["samples"][:]]
        v = f.get("variants")
        n_var = None
        for name in ("calldata/dosage", "dosage"):
            if name in f:
                D = f[name][:].astype(np.float32)
                D[D < 0] = np.nan
                if D.shape[0] != len(samples):  # stored variants x samples
                    D = D.T
                ploidy = f.attrs.get("ploidy")
                n_var = D.shape[1]
                break
        else:
            gt = f["calldata/GT"][:]
            ploidy = gt.shape[2]
            miss = (gt < 0).any(axis=2)
            D = (gt > 0).sum(axis=2).astype(np.float32)
            D[miss] = np.nan
            D = D.T
            n_var = D.shape[1]

        def text(values: Any) -> list[str]:
            return [x.decode() if isinstance(x, bytes) else str(x) for x in values]

        chrom = text(v["CHROM"][:]) if v is not None and "CHROM" in v else ["?"] * n_var
        pos = text(v["POS"][:]) if v is not None and "POS" in v else [str(i) for i in range(n_var)]
        ids = text(v["ID"][:]) if v is not None and "ID" in v else [""] * n_var
        markers = [
            i if i not in ("", ".") else f"{c}:{p}" for i, c, p in zip(ids, chrom, pos, strict=True)
        ]
    return D, samples, markers, int(ploidy) if ploidy is not None else None


def read_genotypes(path: str | os.PathLike[str], *, impute: str | None = None) -> GenotypeMatrix:
    """Read a genotype file of any supported format (see the module docstring).

    Raises
    ------
    InputError
        For a missing or unreadable file, duplicated samples, missing
        genotypes without ``impute="mean"``, or an unknown format.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: file not found")
    name = p.name.lower()
    ploidy: int | None = None
    if name.endswith(".npz"):
        with np.load(p, allow_pickle=False) as z:
            key = next((k for k in ("X", "dosage", "genotypes") if k in z.files), None)
            if key is None or "sample_ids" not in z.files:
                raise InputError(f"{p}: an .npz needs arrays X (or dosage) and sample_ids")
            X = z[key]
            markers = (
                z["marker_ids"] if "marker_ids" in z.files else [f"m{i}" for i in range(X.shape[1])]
            )
            X, samples = X.astype(np.float32), z["sample_ids"]
            if "ploidy" in z.files:
                ploidy = int(z["ploidy"])
    elif name.endswith((".csv", ".tsv", ".txt")):
        sep = "\t" if name.endswith((".tsv", ".txt")) else ","
        try:
            df = pl.read_csv(p, separator=sep, infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"{p}: cannot read: {str(exc).splitlines()[0]}") from None
        samples = df[:, 0].to_list()
        body = df[:, 1:]
        try:
            X = body.select(
                pl.all().replace({"": None, "NA": None, ".": None}).cast(pl.Float32)
            ).to_numpy()
        except pl.exceptions.PolarsError:
            raise InputError(f"{p}: genotype values must be numbers (dosages)") from None
        markers = body.columns
    elif name.endswith((".vcf", ".vcf.gz", ".bcf")):
        X, samples, markers, ploidy = _read_vcf(p)
    elif name.endswith(".bed"):
        X, samples, markers = _read_bed(p)
        ploidy = 2
    elif name.endswith((".h5", ".hdf5")):
        X, samples, markers, ploidy = _read_h5(p)
    else:
        raise InputError(
            f"{p}: unknown genotype format; use .npz, .csv, .tsv, .vcf(.gz), .bcf, .bed or .h5"
        )
    return _finish(X, samples, markers, ploidy, str(p), impute)


def read_phenotypes(path: str | os.PathLike[str], *, id_column: str | None = None) -> pl.DataFrame:
    """A phenotype table with its sample id column first, as text.

    The id column is ``id_column``, else ``sample_id`` if present, else the first column.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: file not found")
    sep = "\t" if p.suffix.lower() in (".tsv", ".txt") else ","
    try:
        df = pl.read_csv(p, separator=sep, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{p}: cannot read: {str(exc).splitlines()[0]}") from None
    col = id_column or ("sample_id" if "sample_id" in df.columns else df.columns[0])
    if col not in df.columns:
        raise InputError(f"{p}: no column {col!r}; columns are {', '.join(df.columns)}")
    return df.select(col, pl.exclude(col)).rename({col: "sample_id"})


def trait_vector(
    pheno: pl.DataFrame,
    trait: str,
    sample_ids: list[str],
    *,
    source: str = "phenotypes",
    allow_unmatched: bool = False,
) -> np.ndarray:
    """The trait's values in the genotypes' sample order (NaN where not phenotyped).

    Raises
    ------
    InputError
        For an unknown trait, non-numeric values (naming the rows), duplicated
        sample ids, or phenotyped samples absent from the genotypes (unless
        ``allow_unmatched``: then they are dropped and logged).
    """
    if trait not in pheno.columns:
        raise InputError(
            f"{source}: no trait {trait!r}; columns are {', '.join(pheno.columns[1:])}"
        )
    ids = pheno["sample_id"].to_list()
    dupes = sorted({s for s in ids if ids.count(s) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise InputError(f"{source}: samples listed twice: {', '.join(dupes[:10])}")
    raw = pheno[trait].replace({"": None, "NA": None, "NaN": None, ".": None})
    values = raw.cast(pl.Float64, strict=False)
    bad = [
        i + 1
        for i, (a, b) in enumerate(zip(raw.to_list(), values.to_list(), strict=True))
        if a is not None and b is None
    ]
    if bad:
        raise InputError(
            f"{source}: trait {trait!r} has non-numeric values in rows {', '.join(map(str, bad[:10]))}"
        )
    index = {s: i for i, s in enumerate(sample_ids)}
    absent = [
        s for s, v in zip(ids, values.to_list(), strict=True) if s not in index and v is not None
    ]
    if absent:
        msg = f"{source}: {len(absent)} phenotyped samples are not in the genotypes: {', '.join(absent[:10])}"
        if not allow_unmatched:
            raise InputError(msg + " (pass --allow-unmatched to drop them)")
        log.warning("%s; dropped", msg)
    y = np.full(len(sample_ids), np.nan)
    for s, v in zip(ids, values.to_list(), strict=True):
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
