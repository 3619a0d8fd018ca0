"""Tests of germplasm/queries_registry.py: species, institutes, variables and trials."""

import pytest

from breedhub.germplasm import NotFoundError, session_factory
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.phenotypes import import_observations
from breedhub.germplasm.queries_registry import (
    accession_counts_by_species,
    get_species_row,
    institute_codes,
    list_species,
    list_variables,
    species_id,
    species_key_of,
    species_keys,
    trials_by_name,
    variable_ids,
    variables_by_name,
)
from tests.conftest import DATA


@pytest.fixture
def session(engine, registry):
    import_passport(engine, DATA / "mcpd_valid.csv", registry=registry)
    import_observations(engine, DATA / "observations_wide.csv")
    with session_factory(engine)() as s:
        yield s


def test_species__keys_ids_and_rows_agree(session, registry):
    rows = list_species(session)
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert species_keys(session) == {r.key for r in rows} >= {sp.key for sp in registry}
    rice = get_species_row(session, "rice")
    assert species_id(session, "rice") == rice.id
    assert species_key_of(session, rice.id) == "rice"


def test_species__unknown_key(session):
    assert species_id(session, "unicorn") is None
    with pytest.raises(NotFoundError, match="unknown species 'unicorn'"):
        get_species_row(session, "unicorn")


def test_accession_counts_by_species__one_count_per_species_with_accessions(session):
    counts = accession_counts_by_species(session)
    rice, rapeseed = species_id(session, "rice"), species_id(session, "rapeseed")
    assert counts[rice] == 3 and counts[rapeseed] == 1
    assert sum(counts.values()) == 4


def test_institute_codes__sorted(session):
    codes = institute_codes(session)
    assert codes == sorted(codes) and {"CHN001", "CHN002"} <= set(codes)


def test_variables__by_species_and_by_name(session):
    rice = species_id(session, "rice")
    own = list_variables(session, species_row_id=rice)
    assert own and all(v.species_id == rice for v in own)
    assert len(list_variables(session)) > len(own)
    names = ["GrainYield_t_ha", "NoSuchTrait"]
    assert set(variables_by_name(session, names)) == {"GrainYield_t_ha"}
    ids = variable_ids(session, names)
    assert list(ids) == ["GrainYield_t_ha"]
    assert ids["GrainYield_t_ha"] == variables_by_name(session, names)["GrainYield_t_ha"].id


def test_trials_by_name__leaves_unknown_out(session):
    trials = trials_by_name(session, ["RICE-2024", "NOPE"])
    assert list(trials) == ["RICE-2024"]
    assert trials["RICE-2024"].species_id == species_id(session, "rice")
