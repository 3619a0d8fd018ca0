"""Tests of germplasm/simulate.py: the seeded germplasm simulator."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from breedhub.germplasm import load_registry, load_traits
from breedhub.germplasm.mcpd import COLUMNS, validate_passport
from breedhub.germplasm.simulate import (
    CROSS_TYPES,
    OBSERVATION_COLUMNS,
    PEDIGREE_COLUMNS,
    SimulatedGermplasm,
    simulate_germplasm,
)
from breedhub.germplasm.tabular import ROW

REGISTRY = load_registry()
TRAITS = load_traits(REGISTRY)
KEYS = [sp.key for sp in REGISTRY]


@pytest.fixture(scope="module")
def sims() -> dict[str, SimulatedGermplasm]:
    return {key: simulate_germplasm(REGISTRY[key], TRAITS, seed=7) for key in KEYS}


def _as_read(df: pl.DataFrame) -> pl.DataFrame:
    """The table as read_table would give it: text columns plus an Int64 row number from 1."""
    return df.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def test_simulate_germplasm__same_seed_same_output():
    a = simulate_germplasm(REGISTRY["rice"], TRAITS, n_accessions=80, seed=3)
    b = simulate_germplasm(REGISTRY["rice"], TRAITS, n_accessions=80, seed=3)
    c = simulate_germplasm(REGISTRY["rice"], TRAITS, n_accessions=80, seed=4)
    for name in ("passport", "pedigree", "observations", "genetic_values", "institutes"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert not a.genetic_values.equals(c.genetic_values)
    assert a.provenance["parameters"]["seed"] == 3


@pytest.mark.parametrize("key", KEYS)
def test_simulate_germplasm__passport_validates(sims, key):
    sim = sims[key]
    sp = REGISTRY[key]
    assert sim.species == key
    assert sim.passport.columns == list(COLUMNS)
    assert all(t == pl.String for t in sim.passport.dtypes)
    assert sim.passport.null_count().sum_horizontal().item() == 0
    problems, warnings = validate_passport(
        _as_read(sim.passport), REGISTRY, today=dt.date(2025, 1, 1)
    )
    assert problems == []
    assert warnings == []
    assert set(sim.passport["GENUS"]) == {sp.genus}
    assert set(sim.passport["SPECIES"]) == {sp.species}
    assert set(sim.passport["SPAUTHOR"]) == {sp.authority}
    assert set(sim.passport["INSTCODE"]) <= set(sim.institutes["code"])
    assert 2 <= sim.passport["INSTCODE"].n_unique() <= 3


def test_simulate_germplasm__ids_unique_across_species(sims):
    passports = pl.concat([s.passport for s in sims.values()])
    assert passports["PUID"].n_unique() == passports.height
    assert passports.select("INSTCODE", "ACCENUMB").is_unique().all()
    studies = pl.concat([s.observations.select("study").unique() for s in sims.values()])
    assert studies["study"].n_unique() == studies.height


@pytest.mark.parametrize("key", KEYS)
def test_simulate_germplasm__parents_precede_children(sims, key):
    ped = sims[key].pedigree
    assert ped.columns == list(PEDIGREE_COLUMNS)
    pos = {
        (inst, num): i
        for i, (inst, num) in enumerate(ped.select("INSTCODE", "ACCENUMB").iter_rows())
    }
    assert len(pos) == ped.height
    n_progeny = 0
    for i, row in enumerate(ped.iter_rows(named=True)):
        assert row["CROSS_TYPE"] in ("", *CROSS_TYPES)
        for col in ("FEMALE_PARENT", "MALE_PARENT"):
            ref = row[col]
            if not ref:
                continue
            inst, num = ref.split(":", 1) if ":" in ref else (row["INSTCODE"], ref)
            assert (inst, num) in pos, f"row {i}: {col} {ref} does not exist"
            assert pos[(inst, num)] < i, f"row {i}: {col} {ref} is not an earlier row"
        n_progeny += bool(row["FEMALE_PARENT"] or row["MALE_PARENT"])
        if row["CROSS_YEAR"]:
            assert 1900 < int(row["CROSS_YEAR"]) <= 2024
    assert n_progeny > ped.height / 2  # most accessions descend from crosses


def test_simulate_germplasm__biology_of_the_species(sims):
    rice = sims["rice"].pedigree
    assert (
        rice.filter(pl.col("CROSS_TYPE") == "BIPARENTAL")["GENERATION"]
        .str.contains("^F[5-8]$")
        .mean()
        > 0.9
    )
    assert (rice["CROSS_TYPE"] == "CLONAL").sum() == 0
    tea = sims["tea"].pedigree.filter(pl.col("CROSS_TYPE") == "CLONAL")
    assert tea.height > 0 and (tea["MALE_PARENT"] == "").all()
    carp = sims["grass_carp"].pedigree.filter(pl.col("FEMALE_PARENT") != "")
    family_sizes = carp.group_by("FEMALE_PARENT", "MALE_PARENT").len()["len"]
    assert family_sizes.max() >= 4  # full-sib families
    pig = sims["pig"]
    sex = dict(
        zip(pig.passport["ACCENUMB"], pig.passport["REMARKS"].str.extract(r"sex=(\w)"), strict=True)
    )
    for dam, sire in pig.pedigree.select("FEMALE_PARENT", "MALE_PARENT").iter_rows():
        if dam:
            assert sex[dam.split(":")[-1]] == "F"
        if sire:
            assert sex[sire.split(":")[-1]] == "M"
    gv = sims["tea"].genetic_values.pivot(
        "variable", index=["instcode", "accenumb"], values="genetic_value"
    )
    clones = tea.join(gv, left_on=["INSTCODE", "ACCENUMB"], right_on=["instcode", "accenumb"])
    parent_ref = clones["FEMALE_PARENT"].str.split(":").list.last()
    parents = gv.filter(pl.col("accenumb").is_in(parent_ref.implode()))
    assert parents.height > 0  # clonal copies carry their parent's value
    by_num = {r["accenumb"]: r for r in gv.iter_rows(named=True)}
    for row, ref in zip(clones.iter_rows(named=True), parent_ref, strict=True):
        assert row["FreshLeafYield_t_ha"] == by_num[ref]["FreshLeafYield_t_ha"]


@pytest.mark.parametrize("key", ["rice", "pig", "oil_tea"])
def test_simulate_germplasm__phenotypes_track_genetic_values(sims, key):
    sim = sims[key]
    obs = sim.observations
    assert obs.columns == list(OBSERVATION_COLUMNS)
    assert all(t == pl.String for t in obs.dtypes)
    variable = next(v for v in TRAITS if v.species == key and v.data_type == "numerical")
    means = (
        obs.filter(pl.col("variable") == variable.name)
        .group_by("instcode", "accenumb")
        .agg(pl.col("value").cast(pl.Float64).mean())
        .join(
            sim.genetic_values.filter(pl.col("variable") == variable.name),
            on=["instcode", "accenumb"],
        )
    )
    assert means.height > 100
    r = np.corrcoef(means["value"], means["genetic_value"])[0, 1]
    assert r > 0.3
    values = obs.filter(pl.col("variable") == variable.name)["value"].cast(pl.Float64)
    assert values.min() >= variable.min and values.max() <= variable.max


def test_simulate_germplasm__trials_and_units(sims):
    obs = sims["rice"].observations
    assert obs["trial"].str.starts_with("RICE-").all()
    assert obs.select("study", "unit", "variable").is_unique().all()
    assert obs["date"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    per_study = obs.group_by("study").agg(pl.col("accenumb").n_unique())["accenumb"]
    assert ((per_study >= 0.5 * 300) & (per_study <= 0.85 * 300)).all()
    assert set(obs["replicate"]) == {"1", "2"}
    pig = sims["pig"].observations
    assert set(pig["replicate"]) == {"1"}
    assert (pig["unit"] == pig["accenumb"]).all()
    pepper = sims["pepper"].observations.filter(pl.col("variable") == "Pungency_score")
    assert set(pepper["value"]) <= {"1", "2", "3", "4", "5"}


def test_simulate_germplasm__hexaploid_oil_tea():
    sp = REGISTRY["oil_tea"]
    assert sp.ploidy == 6
    sim = simulate_germplasm(sp, TRAITS, n_accessions=40, n_trials=1, n_reps=1, seed=11)
    assert sim.passport.height == 40
    assert set(sim.genetic_values["variable"]) == {v.name for v in TRAITS if v.species == "oil_tea"}
    assert sim.genetic_values.height == 40 * 4
    assert set(sim.passport["STORAGE"].str.split(";").explode()) <= {"20", "50"}
    assert sim.observations.height > 0


def test_simulate_germplasm__no_variables_and_no_trials():
    sim = simulate_germplasm(REGISTRY["pepper"], [], n_accessions=10, n_trials=0)
    assert sim.passport.height == 10
    assert sim.observations.height == 0 and sim.observations.columns == list(OBSERVATION_COLUMNS)
    assert sim.genetic_values.height == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_accessions": 9}, ValueError, "n_accessions"),
        ({"n_accessions": 10.0}, TypeError, "n_accessions"),
        ({"n_accessions": True}, TypeError, "n_accessions"),
        ({"n_trials": -1}, ValueError, "n_trials"),
        ({"n_reps": 0}, ValueError, "n_reps"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "1"}, TypeError, "seed"),
    ],
)
def test_simulate_germplasm__bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_germplasm(REGISTRY["rice"], TRAITS, **kwargs)


def test_simulate_germplasm__bad_species_or_variables():
    with pytest.raises(TypeError, match="species"):
        simulate_germplasm("rice", TRAITS)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="variables"):
        simulate_germplasm(REGISTRY["rice"], "GrainYield_t_ha")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"variables\[1\]"):
        simulate_germplasm(REGISTRY["rice"], [TRAITS[0], "x"])  # type: ignore[list-item]


def test_simulate_germplasm__species_added_to_the_registry():
    import dataclasses

    from breedhub.germplasm import SpeciesRegistry

    chicken = dataclasses.replace(
        REGISTRY["pig"], key="chicken", scientific_name="Gallus gallus", genus="Gallus",
        species="gallus", common_name_en="Chicken",
    )  # fmt: skip
    sim = simulate_germplasm(chicken, TRAITS, n_accessions=40)
    registry = SpeciesRegistry([*REGISTRY, chicken])
    problems, _ = validate_passport(_as_read(sim.passport), registry, today=dt.date(2025, 1, 1))
    assert problems == []
    assert sim.genetic_values.height == 0  # no chicken variables in the built-in traits
    assert (sim.pedigree["CROSS_TYPE"] == "BIPARENTAL").sum() > 20
