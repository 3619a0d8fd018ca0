"""Tests of germplasm/queries_traits.py: accession means, their spread, phenotype means."""

import pytest

from breedhub.germplasm import session_factory
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.phenotypes import import_observations
from breedhub.germplasm.queries_registry import trials_by_name, variable_ids
from breedhub.germplasm.queries_traits import (
    numerical_trait_means,
    phenotype_means,
    trait_mean_ranges,
)
from tests.conftest import DATA

# observations_wide.csv: GrainYield 6.8 and 7.2 (R0001), 5.1 (R0002), 8.0 (R0003);
# PlantHeight 95 and 98 (R0001), 102.5 (R0003). Accession ids 1, 2, 3 in that order.


@pytest.fixture
def session(engine, registry):
    import_passport(engine, DATA / "mcpd_valid.csv", registry=registry)
    import_observations(engine, DATA / "observations_wide.csv")
    with session_factory(engine)() as s:
        yield s


def test_trait_mean_ranges__min_max_mean_count_of_accession_means(session):
    got = trait_mean_ranges(session, ["GrainYield_t_ha", "PlantHeight_cm", "NoSuchTrait"])
    lo, hi, avg, n = got["GrainYield_t_ha"]
    assert (lo, hi, n) == (pytest.approx(5.1), pytest.approx(8.0), 3)
    assert avg == pytest.approx((7.0 + 5.1 + 8.0) / 3)
    assert got["PlantHeight_cm"][3] == 2 and "NoSuchTrait" not in got
    assert trait_mean_ranges(session, []) == {}


def test_phenotype_means__per_variable_per_accession(session):
    ids = variable_ids(session, ["GrainYield_t_ha", "PlantHeight_cm"])
    means = phenotype_means(session, [1, 2, 3], list(ids.values()), None)
    grain = means[ids["GrainYield_t_ha"]]
    assert grain[1] == (pytest.approx(7.0), 2) and grain[2] == (pytest.approx(5.1), 1)
    assert set(means[ids["PlantHeight_cm"]]) == {1, 3}  # R0002 has no height


def test_phenotype_means__only_the_trials_given(session):
    ids = variable_ids(session, ["GrainYield_t_ha"])
    trial = trials_by_name(session, ["RICE-2024"])["RICE-2024"]
    assert phenotype_means(session, [1], list(ids.values()), [trial.id])[ids["GrainYield_t_ha"]]
    assert phenotype_means(session, [1], list(ids.values()), [trial.id + 99]) == {}


def test_numerical_trait_means__from_the_summaries(session):
    got = numerical_trait_means(session, [1, 3])
    assert got["GrainYield_t_ha"] == {1: pytest.approx(7.0), 3: pytest.approx(8.0)}
    assert got["PlantHeight_cm"] == {1: pytest.approx(96.5), 3: pytest.approx(102.5)}
