"""The trait registry: every variable says its breeding goal, which orders every ranking."""

import re

import pytest

from breedhub.germplasm import RegistryError, load_registry
from breedhub.germplasm.traits import DIRECTIONS, load_traits

EXTRA = """\
variables:
- species: rice
  name: LodgingScore_1_9
  trait: Lodging
  trait_class: agronomic
  description: Lodging at maturity.
  method: Visual score of the plot.
  scale: score
  unit: ""
  data_type: numerical
  min: 1
  max: 9
  categories: []
  mean: 3
  sd: 1.5
  heritability: 0.4
  direction: lower
"""


def test_load_traits__every_variable_has_a_breeding_goal():
    variables = load_traits(load_registry())
    assert {v.direction for v in variables} <= set(DIRECTIONS)
    by_name = {v.name: v for v in variables}
    assert by_name["DaysToHeading_d"].direction == "lower"
    assert by_name["BackfatThickness_mm"].direction == "lower"
    assert by_name["GrainYield_t_ha"].direction == "higher"
    assert (by_name["PlantHeight_cm"].direction, by_name["PlantHeight_cm"].optimum) == (
        "optimum",
        100,
    )
    assert all((v.optimum is not None) == (v.direction == "optimum") for v in variables)


def test_load_traits__an_institute_adds_a_trait_with_its_goal(tmp_path):
    extra = tmp_path / "traits.yaml"
    extra.write_text(EXTRA)
    added = {v.name: v for v in load_traits(load_registry(), extra)}["LodgingScore_1_9"]
    assert added.direction == "lower" and added.optimum is None


@pytest.mark.parametrize(
    "change, message, expected",
    [
        ("  direction: lower\n", "", r"direction"),  # missing: no silent default
        ("direction: lower", "direction: down", r"direction must be one of higher, lower, optimum"),
        ("direction: lower", "direction: optimum", r"give optimum .* exactly when"),
        ("direction: lower", "direction: higher\n  optimum: 5", r"give optimum .* exactly when"),
        ("direction: lower", "direction: optimum\n  optimum: 12", r"optimum 12 lies outside"),
    ],
)
def test_load_traits__a_bad_goal_is_named(tmp_path, change, message, expected):
    extra = tmp_path / "traits.yaml"
    extra.write_text(EXTRA.replace(change, message))
    with pytest.raises(RegistryError, match="LodgingScore_1_9") as err:
        load_traits(load_registry(), extra)
    assert re.search(expected, str(err.value)), str(err.value)
