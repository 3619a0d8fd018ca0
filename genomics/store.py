"""The HDF5 genotype store, laid out as scikit-allel's ``vcf_to_hdf5`` writes it.

``samples``; ``variants/CHROM``, ``POS``, ``ID``, ``REF``, ``ALT``;
``calldata/GT`` (variants x samples x ploidy, int8, -1 missing); plus
``calldata/dosage`` (variants x samples, int8 count of alternate alleles, -1
missing), chunked and compressed for models; attributes name the species,
ploidy, reference and provenance. scikit-allel reads the file as it is.

Files are written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

STRING = h5py.string_dtype()


def write_genotype_store(
    path: str | os.PathLike[str],
    *,
    samples: list[str],
    chrom: np.ndarray,
    pos: np.ndarray,
    gt: np.ndarray,
    ids: list[str] | None = None,
    ref: list[str] | None = None,
    alt: list[str] | None = None,
    species: str = "",
    reference: str = "",
    provenance: dict[str, Any] | None = None,
    chunk_variants: int = 4096,
) -> Path:
    """Write genotypes to an HDF5 store; return its path.

    Parameters
    ----------
    gt
        (variants, samples, ploidy) allele indexes, -1 for missing.

    Raises
    ------
    ValueError
        If the shapes of ``gt``, ``samples``, ``chrom`` and ``pos`` disagree.
    """
    from breedhub import __version__

    gt = np.asarray(gt, dtype=np.int8)
    if gt.ndim != 3:
        raise ValueError(f"gt must be (variants, samples, ploidy), not {gt.shape}")
    n_var, n_samp, ploidy = gt.shape
    if len(samples) != n_samp or len(chrom) != n_var or len(pos) != n_var:
        raise ValueError("samples, chrom and pos must match the shape of gt")
    missing = (gt < 0).any(axis=2)
    dosage = (gt > 0).sum(axis=2).astype(np.int8)
    dosage[missing] = -1
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    chunks = (min(chunk_variants, n_var), n_samp)
    try:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("samples", data=np.array(samples, dtype=object), dtype=STRING)
            v = f.create_group("variants")
            v.create_dataset(
                "CHROM", data=np.array([str(c) for c in chrom], dtype=object), dtype=STRING
            )
            v.create_dataset("POS", data=np.asarray(pos, dtype=np.int32))
            ids = ids or [f"{c}:{p}" for c, p in zip(chrom, pos, strict=True)]
            v.create_dataset("ID", data=np.array(ids, dtype=object), dtype=STRING)
            v.create_dataset("REF", data=np.array(ref or ["A"] * n_var, dtype=object), dtype=STRING)
            v.create_dataset(
                "ALT",
                data=np.array(alt or ["G"] * n_var, dtype=object).reshape(-1, 1),
                dtype=STRING,
            )
            c = f.create_group("calldata")
            c.create_dataset(
                "GT", data=gt, chunks=(*chunks, ploidy), compression="gzip", compression_opts=4
            )
            c.create_dataset(
                "dosage", data=dosage, chunks=chunks, compression="gzip", compression_opts=4
            )
            f.attrs["species"] = species
            f.attrs["ploidy"] = ploidy
            f.attrs["reference"] = reference
            f.attrs["provenance"] = json.dumps(
                {
                    "software": f"breedhub {__version__}",
                    "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    **(provenance or {}),
                }
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
