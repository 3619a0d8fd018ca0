import pytest

from breedhub.germplasm import RegistryError, UnknownSpeciesError, load_registry

DESIGN_TABLE = {
    # key: (scientific name, ploidy called, 2n) as DESIGN.md states them
    "rice": ("Oryza sativa", 2, 24),
    "rapeseed": ("Brassica napus", 2, 38),
    "pepper": ("Capsicum annuum", 2, 24),
    "pig": ("Sus scrofa", 2, 38),
    "grass_carp": ("Ctenopharyngodon idella", 2, 48),
    "tea": ("Camellia sinensis", 2, 30),
    "oil_tea": ("Camellia oleifera", 6, 90),
    "dendrobium": ("Dendrobium officinale", 2, 38),
}


def test_load_registry__has_the_eight_species_of_the_design():
    reg = load_registry()
    assert len(reg) == 8
    for key, (name, ploidy, two_n) in DESIGN_TABLE.items():
        sp = reg[key]
        assert (sp.scientific_name, sp.ploidy, sp.chromosome_number) == (name, ploidy, two_n)
        assert sp.common_name_zh and sp.reference_assembly.name and sp.genome_size_mb > 100


def test_load_registry__lookup_by_mcpd_name_and_common_name():
    reg = load_registry()
    assert reg.by_name("camellia", "OLEIFERA").key == "oil_tea"
    assert reg.find("grass carp").key == "grass_carp"
    with pytest.raises(UnknownSpeciesError, match="known: .*rice"):
        reg["wheat"]


NINTH = """
species:
  - key: chicken
    scientific_name: Gallus gallus
    genus: Gallus
    species: gallus
    common_name_en: chicken
    common_name_zh: 鸡
    field: livestock and poultry
    kingdom: animal
    ploidy: 2
    chromosome_number: 78
    genome_size_mb: 1050
    reference_assembly: {name: GRCg7b}
    mating_system: outcrossing
    propagation: sexual
"""


def test_load_registry__a_ninth_species_is_a_data_change(tmp_path):
    extra = tmp_path / "species.yaml"
    extra.write_text(NINTH)
    reg = load_registry(extra)
    assert len(reg) == 9 and reg["chicken"].chromosome_number == 78


@pytest.mark.parametrize(
    "change, message",
    [
        ("ploidy: 2", "ploidy: 0"),
        ("mating_system: outcrossing", "mating_system: sometimes"),
        ("scientific_name: Gallus gallus", "scientific_name: Gallus domesticus"),
        ("propagation: sexual", "propagation: sexual\n    colour: red"),
    ],
)
def test_load_registry__rejects_bad_entries(tmp_path, change, message):
    extra = tmp_path / "species.yaml"
    extra.write_text(NINTH.replace(*((change, message))))
    with pytest.raises(RegistryError, match="chicken"):
        load_registry(extra)
