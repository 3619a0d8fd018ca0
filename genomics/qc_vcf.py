"""VCF input and output shared by the QC, imputation and population stages: checked paths, headers, genotype chunks, indexes and JSON."""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.files import atomic_output
from breedhub.base.provenance import jsonable
from breedhub.genomics.exceptions import InputFileError


def check_vcf_paths(vcf: object, out_vcf: object) -> tuple[Path, Path]:
    """Check an input VCF exists and an output is a distinct ``.vcf.gz``; return both."""
    for name, value in (("vcf", vcf), ("out_vcf", out_vcf)):
        if not isinstance(value, str | os.PathLike):
            raise TypeError(f"{name} must be a path, not {type(value).__name__}")
    src, dst = Path(vcf), Path(out_vcf)  # type: ignore[arg-type]
    if not src.is_file():
        raise InputFileError(src, "no such file")
    if not dst.name.endswith(".vcf.gz"):
        raise ValueError(f"out_vcf must end in .vcf.gz (it is bgzipped and indexed), not {dst}")
    if dst.resolve() == src.resolve():
        raise ValueError("out_vcf must differ from vcf: the input is read while writing")
    return src, dst


@contextlib.contextmanager
def _quiet_allel() -> Iterator[None]:
    """Hide scikit-allel's warnings about header lines bcftools writes (VDB's Version=)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="invalid (INFO|FORMAT|FILTER) header")
        yield


def read_headers(vcf: Path) -> Any:
    """scikit-allel's parsed header of ``vcf``, with FORMAT/GT and samples checked."""
    import allel

    try:
        with _quiet_allel():
            headers = allel.read_vcf_headers(str(vcf))
    except (RuntimeError, ValueError, OSError, UnicodeDecodeError) as e:
        raise InputFileError(vcf, f"not a readable VCF: {e}") from e
    if "GT" not in headers.formats:
        raise InputFileError(vcf, "no FORMAT/GT in the header: there are no genotypes to read")
    if not headers.samples:
        raise InputFileError(vcf, "no samples in the #CHROM line")
    return headers


def iter_genotype_chunks(
    vcf: Path,
    *,
    ploidy: int,
    fields: Sequence[str],
    samples: Sequence[str] | None = None,
    chunk_length: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Chunks of a VCF as scikit-allel arrays; ``calldata/GT`` is (variants, samples, ploidy).

    ``chunk_length`` variants are read at a time; by default as many as keep
    a chunk's genotypes near 32 MB.

    Raises
    ------
    InputFileError
        If a call has more alleles than ``ploidy``, or most calls have fewer
        (the ploidy is wrong), or the file cannot be parsed.
    """
    import allel

    fields = list(dict.fromkeys(["variants/CHROM", "variants/POS", "calldata/GT", *fields]))
    if chunk_length is None:
        n_samples = len(samples) if samples is not None else len(read_headers(vcf).samples)
        chunk_length = int(np.clip((1 << 25) // max(1, n_samples * (ploidy + 3)), 64, 8192))
    try:
        with _quiet_allel():
            _, _, _, it = allel.iter_vcf_chunks(
                str(vcf),
                fields=fields,
                numbers={"calldata/GT": ploidy + 1},
                samples=list(samples) if samples is not None else None,
                chunk_length=chunk_length,
            )
        for chunk, _n, _c, _p in it:
            gt = chunk["calldata/GT"]
            extra = (gt[:, :, ploidy] >= 0).any(axis=1)
            if extra.any():
                i = int(np.flatnonzero(extra)[0])
                raise InputFileError(
                    vcf,
                    f"a genotype has more than ploidy={ploidy} alleles; pass the species' ploidy",
                    record=f"{chunk['variants/CHROM'][i]}:{chunk['variants/POS'][i]}",
                )
            gt = gt[:, :, :ploidy]
            some = (gt >= 0).any(axis=2)
            full = (gt >= 0).all(axis=2)
            if ploidy > 1 and (some & ~full).sum() > full.sum():
                raise InputFileError(
                    vcf,
                    f"most genotypes have fewer than ploidy={ploidy} alleles; "
                    "pass the species' ploidy",
                )
            chunk["calldata/GT"] = gt
            yield chunk
    except (RuntimeError, ValueError) as e:
        if isinstance(e, InputFileError):
            raise
        raise InputFileError(vcf, f"cannot be parsed as VCF: {e}") from e


def called_mask(gt: np.ndarray) -> np.ndarray:
    """(variants, samples) True where every allele of the call is known."""
    return np.asarray((gt >= 0).all(axis=2))


def dosage_of(gt: np.ndarray) -> np.ndarray:
    """(variants, samples) count of non-reference alleles, -1 where not called."""
    d = (gt > 0).sum(axis=2, dtype=np.int16)
    d[~called_mask(gt)] = -1
    return d


def open_vcf_reader(vcf: Path, contigs: Sequence[str]) -> Any:
    """A pysam reader whose header declares ``contigs`` (so a writer can share it)."""
    import pysam

    verbosity = pysam.set_verbosity(0)  # no "could not retrieve index" on unindexed input
    try:
        reader = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as e:
        raise InputFileError(vcf, f"pysam cannot open it: {e}") from e
    finally:
        pysam.set_verbosity(verbosity)
    for c in contigs:
        if c not in reader.header.contigs:
            reader.header.contigs.add(c)
    return reader


def index_vcf(tmp_vcf: Path, tmp_index: Path, source: Path) -> None:
    """Tabix-index a bgzipped VCF written at a temporary name; move the index to ``tmp_index``."""
    import pysam

    try:
        pysam.tabix_index(str(tmp_vcf), preset="vcf", force=True)
    except (OSError, ValueError) as e:
        raise InputFileError(
            source, f"the output cannot be indexed ({e}); sort the input by contig and position"
        ) from e
    os.replace(f"{tmp_vcf}.tbi", tmp_index)


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``data`` as indented JSON through :func:`atomic_output`."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(jsonable(data), indent=2) + "\n")
