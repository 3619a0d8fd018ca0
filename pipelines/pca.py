"""A quick PCA of a genotype store for the portal: a sample of its columns and variants, cached.

:func:`store_pca` reads at most ``max_samples`` columns (samples) and a
random subset of at most ``max_variants`` rows (variants) of the store's
``calldata/dosage`` matrix with h5py, reading whole HDF5 chunks of rows (a
scattered row selection would decompress every chunk of the file), and hands
the dosages to :func:`breedhub.genomics.popgen.pca` (Patterson scaling, any
ploidy). :func:`dataset_pca` keeps the result in-process per (dataset id,
path, file modification time and size), so a rewritten store is read again.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.popgen import pca
from breedhub.genomics.store_layout import DOSAGE, GT, SAMPLES

__all__ = ["SamplePCA", "clear_pca_cache", "dataset_pca", "store_pca"]

#: Row chunks read for every chunk's worth of variants wanted: the variants are
#: drawn from this many chunks spread over the genome, not from one region.
_CHUNKS_PER_WANTED = 4
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[object, ...], SamplePCA] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class SamplePCA:
    """Principal components of (a sample of) a store's samples.

    Attributes
    ----------
    sample_id
        The samples analysed, in store order.
    coords
        (samples, components) coordinates.
    explained_variance_ratio
        (components,) share of the variance each component explains.
    n_samples, n_variants
        The store's size.
    variants_read, variants_used
        Variants read, and the polymorphic ones among them that the PCA used.
    """

    sample_id: tuple[str, ...]
    coords: np.ndarray
    explained_variance_ratio: np.ndarray
    n_samples: int
    n_variants: int
    variants_read: int
    variants_used: int


def _row_blocks(
    n_variants: int, chunk_rows: int, max_variants: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Row ranges to read: everything when small, else whole random chunks, in order."""
    if n_variants <= max_variants:
        return [(0, n_variants)]
    n_chunks = math.ceil(n_variants / chunk_rows)
    take = min(n_chunks, max(1, math.ceil(max_variants / chunk_rows) * _CHUNKS_PER_WANTED))
    chosen = np.sort(rng.choice(n_chunks, size=take, replace=False))
    return [(int(c) * chunk_rows, min(n_variants, (int(c) + 1) * chunk_rows)) for c in chosen]


def store_pca(
    path: str | os.PathLike[str],
    *,
    max_samples: int = 2000,
    max_variants: int = 5000,
    n_components: int = 2,
    seed: int = 0,
) -> SamplePCA:
    """PCA of at most ``max_samples`` samples on at most ``max_variants`` random variants.

    Parameters
    ----------
    path
        An HDF5 genotype store (:mod:`genomics.store_layout`); ``calldata/dosage``
        is read, or ``calldata/GT`` when a store lacks it.
    max_samples
        Samples analysed (a random subset, kept in store order, when there are more).
    max_variants
        Variants analysed (a random subset of whole chunks when there are more).
    n_components
        Components computed.
    seed
        Seed of the random subsets: the same store gives the same picture.

    Returns
    -------
    SamplePCA

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    ValueError
        For bad limits, or too few samples or polymorphic variants for
        ``n_components`` components.

    Examples
    --------
    >>> import tempfile
    >>> from breedhub.genomics.store_write import write_genotype_store
    >>> rng = np.random.default_rng(1)
    >>> gt = rng.integers(0, 2, size=(50, 6, 2))
    >>> p = write_genotype_store(Path(tempfile.mkdtemp()) / "g.h5", samples=list("abcdef"),
    ...     chrom=np.array(["1"] * 50), pos=np.arange(1, 51), gt=gt)
    >>> r = store_pca(p, max_variants=20)
    >>> r.coords.shape, r.variants_read, r.sample_id[:2]
    ((6, 2), 20, ('a', 'b'))
    """
    for name, value in (("max_samples", max_samples), ("max_variants", max_variants),
                        ("n_components", n_components)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of 1 or more, not {value!r}")
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    rng = np.random.default_rng(seed)
    try:
        f = h5py.File(p, "r", rdcc_nbytes=64 << 20)
    except OSError as exc:
        raise InputFileError(p, f"not an HDF5 file: {exc}") from None
    with f:
        if SAMPLES not in f or (DOSAGE not in f and GT not in f):
            raise InputFileError(p, f"not a genotype store: no {SAMPLES} or genotypes")
        names = [s.decode() if isinstance(s, bytes) else str(s) for s in f[SAMPLES][:]]
        ds = f[DOSAGE] if DOSAGE in f else f[GT]
        n_variants, n_samples = int(ds.shape[0]), int(ds.shape[1])
        if "ploidy" not in f.attrs and GT not in f:  # never a silent diploid
            raise InputFileError(p, "no ploidy: the store has no ploidy attribute and no GT")
        ploidy = int(f.attrs["ploidy"] if "ploidy" in f.attrs else f[GT].shape[2])
        if n_samples != len(names):
            raise InputFileError(p, f"{len(names)} sample names for {n_samples} genotype columns")
        if n_samples > max_samples:
            cols: np.ndarray | slice = np.sort(rng.choice(n_samples, max_samples, replace=False))
            kept = [names[i] for i in cols]  # type: ignore[union-attr]
        else:
            cols, kept = slice(None), names
        chunk_rows = int(ds.chunks[0]) if ds.chunks else max(1, n_variants)
        parts = []
        for a, b in _row_blocks(n_variants, chunk_rows, max_variants, rng):
            block = ds[a:b, cols]
            if ds.name.endswith("GT"):  # (variants, samples, ploidy) -> dosage, -1 missing
                called = (block >= 0).all(axis=2)
                block = np.where(called, (block > 0).sum(axis=2), -1).astype(np.int8)
            parts.append(block)
    dosage = np.concatenate(parts) if parts else np.empty((0, len(kept)), np.int8)
    if dosage.shape[0] > max_variants:
        rows = np.sort(rng.choice(dosage.shape[0], max_variants, replace=False))
        dosage = dosage[rows]
    if len(kept) < max(2, n_components):
        raise ValueError(f"{len(kept)} sample(s): a PCA needs at least {max(2, n_components)}")
    result = pca(dosage, n_components=min(n_components, len(kept)), ploidy=ploidy)
    return SamplePCA(
        tuple(kept), result.coords, result.explained_variance_ratio, n_samples, n_variants,
        int(dosage.shape[0]), int(result.variants_used.sum()),
    )  # fmt: skip


def dataset_pca(
    dataset_id: int,
    path: str | os.PathLike[str],
    *,
    max_samples: int = 2000,
    max_variants: int = 5000,
) -> SamplePCA:
    """:func:`store_pca` of a registered dataset, cached per (dataset, path, mtime, size).

    Parameters
    ----------
    dataset_id
        The dataset's id (part of the cache key).
    path
        Its store.
    max_samples, max_variants
        As in :func:`store_pca`.

    Returns
    -------
    SamplePCA

    Raises
    ------
    InputFileError, ValueError
        As :func:`store_pca` (failures are not cached).
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise InputFileError(p, "no such file") from None
    key = (dataset_id, str(p), st.st_mtime_ns, st.st_size, max_samples, max_variants)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    result = store_pca(p, max_samples=max_samples, max_variants=max_variants, seed=dataset_id)
    with _lock:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def clear_pca_cache() -> None:
    """Forget every cached PCA."""
    with _lock:
        _cache.clear()
