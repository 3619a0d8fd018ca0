"""Tests of germplasm/genotype_datasets.py: recording stores with their samples, finding them."""

import pytest

from breedhub.germplasm import DuplicateError, NotFoundError, transaction
from breedhub.germplasm.genotype_datasets import (
    add_genotype_dataset,
    dataset_accession_ids,
    dataset_samples,
    find_genotype_dataset,
    genotype_dataset_names,
    replace_genotype_dataset,
    sample_accession_ids,
)
from breedhub.germplasm.passport import import_passport
from tests.conftest import DATA


@pytest.fixture
def stocked(engine, registry):
    import_passport(engine, DATA / "mcpd_valid.csv", registry=registry)
    return engine


def _add(engine, name="rice-a", samples=(("S1", 1), ("S2", 3), ("S3", 1))):
    with transaction(engine) as s:
        return add_genotype_dataset(
            s, name=name, species="rice", path=f"/x/{name}.h5", ploidy=2, samples=list(samples),
            n_variants=10,
        )  # fmt: skip


def test_add_genotype_dataset__samples_in_column_order(stocked):
    ds = _add(stocked)
    with transaction(stocked) as s:
        assert find_genotype_dataset(s, "rice-a").id == ds
        assert find_genotype_dataset(s, "nope") is None
        assert dataset_samples(s, ds) == [
            ("S1", 1, "CHN001:R0001"), ("S2", 3, "CHN001:R0003"), ("S3", 1, "CHN001:R0001"),
        ]  # fmt: skip
        assert dataset_accession_ids(s, ds) == [1, 3]
        assert sample_accession_ids(s, ["S2", "S1", "S9"]) == {"S1": 1, "S2": 3}


def test_add_genotype_dataset__refuses_a_name_twice_and_a_sample_of_another_accession(stocked):
    _add(stocked)
    with pytest.raises(DuplicateError, match="'rice-a' exists"):
        _add(stocked)
    with pytest.raises(DuplicateError, match="sample 'S1' belongs to another accession"):
        _add(stocked, name="rice-b", samples=[("S1", 2)])
    with pytest.raises(NotFoundError, match="unknown species"), transaction(stocked) as s:
        add_genotype_dataset(
            s, name="x", species="unicorn", path="/x.h5", ploidy=2, samples=[], n_variants=0
        )
    with transaction(stocked) as s:
        assert genotype_dataset_names(s) == ["rice-a"]


def test_replace_genotype_dataset__keeps_the_id(stocked):
    ds = _add(stocked)
    with transaction(stocked) as s:
        assert replace_genotype_dataset(
            s, ds, path="/y.h5", ploidy=2, samples=[("S2", 3)], n_variants=5
        ) == ds  # fmt: skip
    with transaction(stocked) as s:
        assert find_genotype_dataset(s, "rice-a").path == "/y.h5"
        assert dataset_samples(s, ds) == [("S2", 3, "CHN001:R0003")]
    with pytest.raises(NotFoundError), transaction(stocked) as s:
        replace_genotype_dataset(s, ds + 9, path="/z.h5", ploidy=2, samples=[], n_variants=0)
