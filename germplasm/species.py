"""The species registry: which species breedhub knows, and their biology.

The registry is data (``germplasm/data/species.yaml``), validated on load, so an
institute adds a species by adding an entry, not code. An installation can add
or override entries with a ``species.yaml`` in its data directory.

Ploidy flows from here into calling, genotype storage, relationship matrices
and the portal: nothing in breedhub assumes diploidy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from breedhub.germplasm.exceptions import RegistryError, UnknownSpeciesError

MATING_SYSTEMS = ("selfing", "outcrossing", "mixed")
PROPAGATION = ("seed", "clonal", "seed_and_clonal", "sexual")
KINGDOMS = ("plant", "animal")


@dataclass(frozen=True)
class ReferenceAssembly:
    """The reference genome assembly a species is called against."""

    name: str
    accession: str = ""
    citation: str = ""


@dataclass(frozen=True)
class Species:
    """One species of the registry.

    Attributes
    ----------
    key
        Short identifier used everywhere in breedhub (``rice``, ``oil_tea``).
    ploidy
        Number of allele copies counted per locus when genotypes are called:
        dosages run from 0 to ``ploidy``.
    chromosome_number
        Somatic chromosome number, 2n.
    """

    key: str
    scientific_name: str
    genus: str
    species: str
    common_name_en: str
    common_name_zh: str
    field: str
    kingdom: str
    ploidy: int
    chromosome_number: int
    genome_size_mb: int
    reference_assembly: ReferenceAssembly
    mating_system: str
    propagation: str
    authority: str = ""
    genome_formula: str = ""
    base_chromosome_number: int | None = None
    inbred_lines: bool = False
    notes: str = ""
    sources: tuple[str, ...] = ()

    def validate(self) -> None:
        """Check the entry; raise :class:`RegistryError` naming the bad field."""

        def bad(name: str, why: str) -> RegistryError:
            return RegistryError(f"species {self.key!r}: {name} {why}")

        if not self.key.isidentifier() or self.key != self.key.lower():
            raise bad("key", "must be a lowercase identifier such as 'oil_tea'")
        if self.scientific_name != f"{self.genus} {self.species}":
            raise bad("scientific_name", f"must be '{self.genus} {self.species}' (genus species)")
        if not self.genus[:1].isupper():
            raise bad("genus", "must be capitalised")
        for name in ("ploidy", "chromosome_number", "genome_size_mb"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(name, f"must be a positive integer, not {value!r}")
        if self.chromosome_number % self.ploidy and self.kingdom == "plant":
            # 2n is a multiple of the called ploidy for euploid plants.
            raise bad("chromosome_number", f"{self.chromosome_number} is not a multiple of ploidy")
        if self.mating_system not in MATING_SYSTEMS:
            raise bad("mating_system", f"must be one of {', '.join(MATING_SYSTEMS)}")
        if self.propagation not in PROPAGATION:
            raise bad("propagation", f"must be one of {', '.join(PROPAGATION)}")
        if self.kingdom not in KINGDOMS:
            raise bad("kingdom", f"must be one of {', '.join(KINGDOMS)}")
        if not self.reference_assembly.name:
            raise bad("reference_assembly.name", "is required")

    @classmethod
    def from_mapping(cls, entry: dict[str, Any], source: str) -> Species:
        """Build a species from one YAML mapping, rejecting unknown keys."""
        if not isinstance(entry, dict):
            raise RegistryError(f"{source}: every species entry must be a mapping")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(entry) - known)
        key = entry.get("key", "?")
        if unknown:
            raise RegistryError(f"{source}: species {key!r} has unknown keys {unknown}")
        try:
            ref = entry.get("reference_assembly") or {}
            values = dict(entry)
            values["reference_assembly"] = ReferenceAssembly(**ref)
            values["sources"] = tuple(entry.get("sources") or ())
            sp = cls(**values)
        except TypeError as exc:
            raise RegistryError(f"{source}: species {key!r}: {exc}") from None
        sp.validate()
        return sp


class SpeciesRegistry:
    """The species known to this installation, looked up by key or by name.

    Examples
    --------
    >>> reg = load_registry()
    >>> reg["oil_tea"].ploidy
    6
    >>> reg.by_name("Oryza", "sativa").key
    'rice'
    """

    def __init__(self, species: list[Species]):
        self._by_key: dict[str, Species] = {}
        self._by_name: dict[tuple[str, str], Species] = {}
        for sp in species:
            self._by_key[sp.key] = sp
            self._by_name[(sp.genus.lower(), sp.species.lower())] = sp

    def __getitem__(self, key: str) -> Species:
        try:
            return self._by_key[key]
        except KeyError:
            raise UnknownSpeciesError(
                f"unknown species {key!r}; known: {', '.join(sorted(self._by_key))}"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Species]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def by_name(self, genus: str, species: str) -> Species:
        """Find a species by MCPD GENUS and SPECIES (case-insensitive)."""
        sp = self._by_name.get((genus.strip().lower(), species.strip().lower()))
        if sp is None:
            raise UnknownSpeciesError(f"unknown species '{genus} {species}'")
        return sp

    def find(self, text: str) -> Species:
        """Find a species by key, scientific name or English common name."""
        t = text.strip().lower().replace("-", "_")
        for sp in self:
            names = {
                sp.key,
                sp.scientific_name.lower(),
                sp.common_name_en.lower().replace("-", "_"),
            }
            if t in names or t.replace("_", " ") in names:
                return sp
        raise UnknownSpeciesError(
            f"unknown species {text!r}; known: {', '.join(sp.key for sp in self)}"
        )


def _read_entries(path: Path | Any, source: str) -> list[Species]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("species"), list):
        raise RegistryError(f"{source}: expected a top-level 'species:' list")
    return [Species.from_mapping(e, source) for e in doc["species"]]


def load_registry(*extra: str | os.PathLike[str]) -> SpeciesRegistry:
    """Load the built-in registry plus any extra files (later entries override).

    Parameters
    ----------
    *extra
        More ``species.yaml`` files; an entry with an existing key replaces it.

    Returns
    -------
    SpeciesRegistry

    Raises
    ------
    RegistryError
        If a file is not valid YAML or an entry fails validation.
    """
    entries = _read_entries(
        resources.files("breedhub.germplasm") / "data" / "species.yaml", "species.yaml"
    )
    for p in extra:
        entries += _read_entries(Path(p), str(p))
    merged: dict[str, Species] = {}
    for sp in entries:
        merged[sp.key] = sp
    return SpeciesRegistry(list(merged.values()))


@lru_cache(maxsize=1)
def default_registry() -> SpeciesRegistry:
    """The registry of this installation: built-in plus ``$BREEDHUB_HOME/species.yaml``."""
    home = os.environ.get("BREEDHUB_HOME")
    extra = Path(home) / "species.yaml" if home else None
    return load_registry(*([extra] if extra and extra.exists() else []))
