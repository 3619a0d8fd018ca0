"""germplasm: the system of record of breedhub.

Accessions with their MCPD passports, pedigrees, trials and phenotypes,
samples, genotype datasets, model runs and users, in a SQLAlchemy database
(SQLite embedded, PostgreSQL in production); the species and trait
registries; import and export of passport, pedigree and phenotype files; and
the queries behind the command line, the portal and BrAPI.
"""

from breedhub.germplasm.bootstrap import InitReport, init_database
from breedhub.germplasm.db import check_schema, make_engine, session_factory, transaction
from breedhub.germplasm.exceptions import (
    DatabaseSetupError,
    DuplicateError,
    GermplasmError,
    NotFoundError,
    Problem,
    RegistryError,
    UnknownSpeciesError,
    ValidationError,
)
from breedhub.germplasm.queries import (
    AccessionQuery,
    Page,
    TraitRange,
    accession_detail,
    get_accession,
    search_accessions,
)
from breedhub.germplasm.species import Species, SpeciesRegistry, default_registry, load_registry
from breedhub.germplasm.traits import Variable, load_traits

__all__ = [
    "AccessionQuery",
    "DatabaseSetupError",
    "DuplicateError",
    "GermplasmError",
    "InitReport",
    "NotFoundError",
    "Page",
    "Problem",
    "RegistryError",
    "Species",
    "SpeciesRegistry",
    "TraitRange",
    "UnknownSpeciesError",
    "ValidationError",
    "Variable",
    "accession_detail",
    "check_schema",
    "default_registry",
    "get_accession",
    "init_database",
    "load_registry",
    "load_traits",
    "make_engine",
    "search_accessions",
    "session_factory",
    "transaction",
]
