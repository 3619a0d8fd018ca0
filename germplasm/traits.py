"""The built-in observation variables: each species' main breeding traits.

Like the species registry this is data (``germplasm/data/traits.yaml``):
Crop-Ontology-style variables (trait + method + scale) with the hard limits of
their scale, which the phenotype import enforces, and the population mean,
SD and heritability that the demo simulator draws from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from breedhub.germplasm.exceptions import RegistryError
from breedhub.germplasm.species import SpeciesRegistry

DATA_TYPES = ("numerical", "ordinal", "nominal")
#: Breeding goals: which way every ranking of a trait runs.
DIRECTIONS = ("higher", "lower", "optimum")


@dataclass(frozen=True)
class Variable:
    """One observation variable of the trait registry."""

    species: str
    name: str
    trait: str
    trait_class: str
    description: str
    method: str
    scale: str
    unit: str
    data_type: str
    min: float | None
    max: float | None
    mean: float
    sd: float
    heritability: float
    direction: str
    optimum: float | None = None
    ontology_id: str = ""
    #: The trait's name in Chinese, shown by the portal in Chinese mode ("" when none).
    name_zh: str = ""
    categories: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def validate(self, registry: SpeciesRegistry) -> None:
        """Raise :class:`RegistryError` naming the bad field."""
        where = f"variable {self.name!r}"
        if self.species not in registry:
            raise RegistryError(f"{where}: unknown species {self.species!r}")
        if self.data_type not in DATA_TYPES:
            raise RegistryError(f"{where}: data_type must be one of {', '.join(DATA_TYPES)}")
        if self.min is not None and self.max is not None and not self.min < self.max:
            raise RegistryError(f"{where}: min must be below max")
        if not 0 <= self.heritability <= 1:
            raise RegistryError(f"{where}: heritability must lie in [0, 1]")
        if self.direction not in DIRECTIONS:
            raise RegistryError(
                f"{where}: direction must be one of {', '.join(DIRECTIONS)} (the breeding goal), "
                f"not {self.direction!r}"
            )
        if (self.direction == "optimum") != (self.optimum is not None):
            raise RegistryError(
                f"{where}: give optimum (the target value) exactly when direction is 'optimum'"
            )
        if self.optimum is not None and not (
            (self.min is None or self.min <= self.optimum)
            and (self.max is None or self.optimum <= self.max)
        ):
            raise RegistryError(f"{where}: optimum {self.optimum} lies outside [min, max]")
        if self.data_type != "numerical" and not self.categories:
            raise RegistryError(f"{where}: an {self.data_type} variable needs categories")


def load_traits(registry: SpeciesRegistry, *extra: str | os.PathLike[str]) -> list[Variable]:
    """Load and validate the built-in variables plus any extra ``traits.yaml`` files.

    Raises
    ------
    RegistryError
        On invalid YAML, unknown keys, a duplicate name or a bad value.
    """
    sources: list[tuple[str, str]] = [
        (
            "traits.yaml",
            (resources.files("breedhub.germplasm") / "data" / "traits.yaml").read_text("utf-8"),
        )
    ]
    sources += [(str(p), Path(p).read_text("utf-8")) for p in extra]
    known = {f.name for f in fields(Variable)}
    out: dict[str, Variable] = {}
    for src, text in sources:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RegistryError(f"{src}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("variables"), list):
            raise RegistryError(f"{src}: expected a top-level 'variables:' list")
        for entry in doc["variables"]:
            unknown = sorted(set(entry) - known)
            if unknown:
                raise RegistryError(
                    f"{src}: variable {entry.get('name')!r} has unknown keys {unknown}"
                )
            try:
                var = Variable(**{**entry, "categories": tuple(entry.get("categories") or ())})
            except TypeError as exc:
                raise RegistryError(f"{src}: variable {entry.get('name')!r}: {exc}") from None
            var.validate(registry)
            if var.name in out and src == "traits.yaml":
                raise RegistryError(f"{src}: variable {var.name!r} is defined twice")
            out[var.name] = var
    return list(out.values())
