"""Slices of a genotype store (genomics.store_slices) against h5py and scikit-allel reading the same file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.store_slices import (
    intersect_runs,
    merge_runs,
    page_runs,
    read_runs,
    read_slice,
    region_runs,
    runs_length,
    store_contigs,
    store_shape,
)
from breedhub.genomics.store_write import write_genotype_store


@pytest.fixture
def hexaploid(tmp_path):
    """A hexaploid store of 300 samples x 50 variants on two contigs, in 8-variant chunks."""
    rng = np.random.default_rng(7)
    gt = rng.integers(-1, 3, size=(50, 300, 6)).astype(np.int8)
    chrom = np.array(["c1"] * 30 + ["c2"] * 20)
    pos = np.r_[np.arange(1, 31) * 10, np.arange(1, 21) * 7]
    path = write_genotype_store(
        tmp_path / "hex.h5", samples=[f"s{i}" for i in range(300)], chrom=chrom, pos=pos, gt=gt,
        ids=[f"m{i}" for i in range(50)], alt=["G,T"] * 50, chunk_variants=8,
    )  # fmt: skip
    return path, gt


def test_read_slice__equals_h5py_for_the_same_rows_and_columns(hexaploid):
    path, gt = hexaploid
    cols = [250, 3, 4, 5, 3, 0]
    part = read_slice(path, 10, 27, cols)
    with h5py.File(path) as f:
        expected = f["calldata/GT"][10:27][:, cols]
    assert part.gt.shape == (17, 6, 6)
    np.testing.assert_array_equal(part.gt, expected)
    np.testing.assert_array_equal(part.gt, gt[10:27][:, cols])
    assert part.rows.tolist() == list(range(10, 27))
    assert part.ploidy == 6
    assert part.variant_id[0] == "m10" and part.alt[0] == ("G", "T")


def test_read_slice__equals_scikit_allel(hexaploid):
    allel = pytest.importorskip("allel")
    path, _ = hexaploid
    with h5py.File(path) as f:
        expected = allel.GenotypeArray(f["calldata/GT"][:])
    part = read_slice(path, 30, 50, [1, 200])
    np.testing.assert_array_equal(part.gt, expected[30:50].subset(sel1=[1, 200]).values)


def test_read_runs__concatenates_runs_and_clips_to_the_store(hexaploid):
    path, gt = hexaploid
    part = read_runs(path, [(0, 2), (29, 31), (48, 99)], [7])
    assert part.rows.tolist() == [0, 1, 29, 30, 48, 49]
    np.testing.assert_array_equal(part.gt[:, 0], gt[[0, 1, 29, 30, 48, 49], 7])
    assert part.contig == ("c1", "c1", "c1", "c2", "c2", "c2")


def test_read_runs__no_rows_or_no_columns_is_empty(hexaploid):
    path, _ = hexaploid
    assert read_runs(path, [], [1, 2]).gt.shape == (0, 2, 6)
    assert read_slice(path, 0, 4, []).gt.shape == (4, 0, 6)


def test_read_slice__column_outside_the_store_is_an_index_error(hexaploid):
    path, _ = hexaploid
    with pytest.raises(IndexError):
        read_slice(path, 0, 1, [300])


def test_read_slice__missing_file_is_named(tmp_path):
    with pytest.raises(InputFileError):
        read_slice(tmp_path / "none.h5", 0, 1, [0])


def test_store_shape_and_contigs__read_the_metadata(hexaploid):
    path, _ = hexaploid
    assert store_shape(path).n_variants == 50
    assert store_shape(path).ploidy == 6
    assert [(c.name, c.start, c.stop) for c in store_contigs(path)] == [
        ("c1", 0, 30),
        ("c2", 30, 50),
    ]


def test_region_runs__finds_rows_of_regions(hexaploid):
    path, _ = hexaploid
    assert region_runs(path, ["c1:15-45", "c2"]) == [(1, 4), (30, 50)]
    with pytest.raises(ValueError):
        region_runs(path, ["nowhere:1-5"])


def test_runs__merge_intersect_page_and_count():
    runs = merge_runs([(4, 6), (0, 2), (1, 3), (6, 8)])
    assert runs == [(0, 3), (4, 8)]
    assert runs_length(runs) == 7
    assert intersect_runs(runs, [(2, 5)]) == [(2, 3), (4, 5)]
    assert page_runs(runs, 2, 3) == [(2, 3), (4, 6)]
    assert page_runs(runs, 7, 3) == []
