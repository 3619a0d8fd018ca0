"""Creating or upgrading a breedhub database and loading its registries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from breedhub.germplasm.db import transaction, upgrade
from breedhub.germplasm.models import ObservationVariable, SpeciesRow
from breedhub.germplasm.species import SpeciesRegistry
from breedhub.germplasm.traits import Variable


@dataclass
class InitReport:
    """What :func:`init_database` did."""

    revision_before: str | None
    revision_after: str
    species_added: int
    variables_added: int


def init_database(
    engine: Engine, registry: SpeciesRegistry, variables: list[Variable]
) -> InitReport:
    """Migrate the schema to the newest revision, then add registry species and variables.

    Safe to run again: existing species and variables are updated in place,
    nothing is deleted.
    """
    before, after = upgrade(engine)
    added_sp = added_var = 0
    with transaction(engine) as s:
        rows = {r.key: r for r in s.scalars(select(SpeciesRow))}
        for sp in registry:
            row = rows.get(sp.key)
            if row is None:
                row = SpeciesRow(key=sp.key)
                s.add(row)
                rows[sp.key] = row
                added_sp += 1
            row.scientific_name = sp.scientific_name
            row.genus, row.species = sp.genus, sp.species
            row.common_name_en, row.common_name_zh = sp.common_name_en, sp.common_name_zh
            row.ploidy, row.chromosome_number = sp.ploidy, sp.chromosome_number
        s.flush()
        have = {v.name: v for v in s.scalars(select(ObservationVariable))}
        for var in variables:
            ov = have.get(var.name)
            if ov is None:
                ov = ObservationVariable(name=var.name)
                s.add(ov)
                added_var += 1
            ov.species_id = rows[var.species].id
            ov.trait, ov.trait_class, ov.description = var.trait, var.trait_class, var.description
            ov.method, ov.scale, ov.unit = var.method, var.scale, var.unit
            ov.data_type, ov.min_value, ov.max_value = var.data_type, var.min, var.max
            ov.categories = list(var.categories)
            ov.ontology_id = var.ontology_id
            ov.direction, ov.optimum = var.direction, var.optimum
    return InitReport(before, after, added_sp, added_var)
