"""The genotype store's layout: dataset paths, attributes, chunking, compression, and the value objects its readers return.

The layout is scikit-allel's (see :mod:`genomics.store`); the paths and their
meanings are in :mod:`genomics.variables`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from breedhub.base.provenance import jsonable, provenance
from breedhub.genomics.variables import BY_NAME

STRING = h5py.string_dtype()

#: Columns of ``variants/ALT`` (scikit-allel's ``alt_number``); more are dropped with a warning.
ALT_NUMBER = 3
#: The FORMAT fields stored besides GT when the header declares them Integer: ID -> Number.
FORMAT_FIELDS: dict[str, str] = {"AD": "R", "DP": "1", "GQ": "1"}
#: Root attribute: JSON ``{contig: {"length": int | null, "start": i, "stop": j}}`` in
#: header order; ``start``/``stop`` bound the contig's variant indexes (absent when none).
CONTIGS_ATTRIBUTE = "contigs"
#: Filter of every chunked dataset. On 200 samples x 100,000 random diploid SNPs,
#: writing GT and dosage took 0.05 s CPU uncompressed (82 MB), 0.5 s with LZF
#: (27 MB) and 0.8 s with gzip level 1 (14 MB), reading back 0.05, 0.37 and 0.33 s.
#: gzip 1 it is: half LZF's size, reads as fast, and every HDF5 reader (R's
#: rhdf5, h5dump, Java) decodes it, where LZF needs h5py's own filter.
COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1}

_PATH = {v.name: v.path for v in BY_NAME.values()}
SAMPLES = _PATH["sample_id"]
CHROM, POS, ID = _PATH["variant_contig"], _PATH["variant_position"], _PATH["variant_id"]
REF, ALT, QUAL = _PATH["variant_ref"], _PATH["variant_alt"], _PATH["variant_qual"]
GT, DOSAGE = _PATH["call_genotype"], _PATH["call_dosage"]
CALL_FIELDS = {
    "AD": _PATH["call_allele_depth"],
    "DP": _PATH["call_depth"],
    "GQ": _PATH["call_genotype_quality"],
}

_CHUNK_BYTES = 1 << 22  # target size of one HDF5 chunk (before compression)
_INT16_MAX = np.iinfo(np.int16).max
_FIXED_COLUMNS = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
_TAB, _NL, _COLON, _COMMA, _DOT, _SLASH, _PIPE = (ord(c) for c in "\t\n:,./|")


# ---------------------------------------------------------------------------
# Value objects


@dataclass(frozen=True)
class StoreSummary:
    """What :func:`vcf_to_store` wrote."""

    path: Path
    n_samples: int
    n_variants: int
    ploidy: int
    seconds: float


@dataclass(frozen=True)
class StoreInfo:
    """A store's metadata, read without its genotypes (:func:`store_info`)."""

    path: Path
    samples: list[str]
    n_variants: int
    ploidy: int
    species: str
    reference: str
    provenance: dict[str, Any]
    contigs: dict[str, int | None]  # contig -> length (None when unknown), in order


# ---------------------------------------------------------------------------
# Writing: one writer for every path into a store


def _dosage(gt: np.ndarray) -> np.ndarray:
    """Count of non-reference alleles per call, -1 where any allele is missing."""
    dosage = np.zeros(gt.shape[:2], dtype=np.int8)
    missing = np.zeros(gt.shape[:2], dtype=bool)
    for k in range(gt.shape[2]):  # a loop over the short ploidy axis beats a reduction
        allele = gt[:, :, k]
        dosage += allele > 0
        missing |= allele < 0
    dosage[missing] = -1
    return dosage


def _provenance(command: str, extra: dict[str, Any] | None, **fields: Any) -> str:
    """The store's ``provenance`` attribute: the shared record, with the caller's ``extra`` added."""
    record = provenance(command, **fields)
    if extra:
        record = dataclasses.replace(record, extra={**record.extra, **jsonable(extra)})
    return record.to_json()
