"""The germplasm database: SQLAlchemy 2 models of the system of record.

Shaped after BrAPI v2.1 so that the API is a mapping: an :class:`Accession` is
a BrAPI *germplasm* carrying every MCPD v2.1 passport field, :class:`Trial` /
:class:`Study` / :class:`ObservationUnit` / :class:`Observation` /
:class:`ObservationVariable` are their BrAPI namesakes, :class:`Sample` and
:class:`GenotypeDataset` map to BrAPI genotyping ``samples`` and
``variantsets``. The schema is created and upgraded only by the Alembic
migrations in ``germplasm/migrations``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("breeder", "bioinformatician", "uploader", "admin")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
#: Who sees a trial, genotype dataset, model run, selection list or index:
#: everyone, or only the members of its institute (and admins).
VISIBILITY = ("public", "restricted")
CROSS_TYPES = (
    "BIPARENTAL",
    "SELF",
    "OPEN_POLLINATED",
    "BULK",
    "BULK_SELFED",
    "BULK_OPEN_POLLINATED",
    "DOUBLE_HAPLOID",
    "BACKCROSS",
    "CLONAL",
    "MUTANT",
    "UNKNOWN",
)


# JSONB on PostgreSQL: comparable, indexable and compact; plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that ``column`` takes one of ``values`` (from the tuples above)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


class SpeciesRow(Base):
    """A species of the registry, mirrored into the database for integrity."""

    __tablename__ = "species"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    scientific_name: Mapped[str] = mapped_column(String(200))
    genus: Mapped[str] = mapped_column(String(100))
    species: Mapped[str] = mapped_column(String(100))
    common_name_en: Mapped[str] = mapped_column(String(200))
    common_name_zh: Mapped[str] = mapped_column(String(200), default="")
    ploidy: Mapped[int] = mapped_column(Integer)
    chromosome_number: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("genus", "species"),)


class Institute(Base):
    """A holding, breeding, collecting or donor institute (FAO WIEWS code)."""

    __tablename__ = "institute"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    country: Mapped[str] = mapped_column(String(3), default="")


class BreedingProgram(Base):
    """A breeding programme of an institute (BrAPI ``programs``)."""

    __tablename__ = "breeding_program"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    abbreviation: Mapped[str] = mapped_column(String(50), default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    leader: Mapped[str] = mapped_column(String(200), default="")
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"))
    species_id: Mapped[int | None] = mapped_column(ForeignKey("species.id"))


class Accession(Base):
    """A germplasm accession with its full MCPD v2.1 passport.

    Column names follow the MCPD descriptor codes in lowercase; coded fields
    (SAMPSTAT, COLLSRC, MLSSTAT) are integers, multi-valued ones
    (STORAGE, COLLCODE, DUPLSITE, ACCENAME, OTHERNUMB) keep MCPD's
    ``;``-separated text.
    """

    __tablename__ = "accession"

    id: Mapped[int] = mapped_column(primary_key=True)
    institute_id: Mapped[int] = mapped_column(ForeignKey("institute.id"))
    species_id: Mapped[int] = mapped_column(ForeignKey("species.id"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("breeding_program.id"))
    accenumb: Mapped[str] = mapped_column(String(100), index=True)
    puid: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(300), default="", index=True)
    # MCPD descriptors
    collnumb: Mapped[str] = mapped_column(String(100), default="")
    collcode: Mapped[str] = mapped_column(String(200), default="")
    collname: Mapped[str] = mapped_column(String(300), default="")
    collinstaddress: Mapped[str] = mapped_column(String(500), default="")
    collmissid: Mapped[str] = mapped_column(String(100), default="")
    genus: Mapped[str] = mapped_column(String(100))
    species_epithet: Mapped[str] = mapped_column(String(100))
    spauthor: Mapped[str] = mapped_column(String(200), default="")
    subtaxa: Mapped[str] = mapped_column(String(200), default="")
    subtauthor: Mapped[str] = mapped_column(String(200), default="")
    cropname: Mapped[str] = mapped_column(String(200), default="")
    accename: Mapped[str] = mapped_column(Text, default="")
    acqdate: Mapped[str] = mapped_column(String(8), default="")
    origcty: Mapped[str] = mapped_column(String(3), default="")
    collsite: Mapped[str] = mapped_column(Text, default="")
    declatitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[str] = mapped_column(String(8), default="")
    declongitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[str] = mapped_column(String(9), default="")
    coorduncert: Mapped[int | None] = mapped_column(Integer)
    coorddatum: Mapped[str] = mapped_column(String(50), default="")
    georefmeth: Mapped[str] = mapped_column(String(100), default="")
    elevation: Mapped[int | None] = mapped_column(Integer)
    colldate: Mapped[str] = mapped_column(String(8), default="")
    bredcode: Mapped[str] = mapped_column(String(100), default="")
    bredname: Mapped[str] = mapped_column(String(300), default="")
    sampstat: Mapped[int | None] = mapped_column(Integer)
    ancest: Mapped[str] = mapped_column(Text, default="")
    collsrc: Mapped[int | None] = mapped_column(Integer)
    donorcode: Mapped[str] = mapped_column(String(100), default="")
    donorname: Mapped[str] = mapped_column(String(300), default="")
    donornumb: Mapped[str] = mapped_column(String(100), default="")
    othernumb: Mapped[str] = mapped_column(Text, default="")
    duplsite: Mapped[str] = mapped_column(String(200), default="")
    duplinstname: Mapped[str] = mapped_column(String(500), default="")
    storage: Mapped[str] = mapped_column(String(100), default="")
    mlsstat: Mapped[int | None] = mapped_column(Integer)
    remarks: Mapped[str] = mapped_column(Text, default="")
    # breedhub additions
    ploidy: Mapped[int | None] = mapped_column(Integer)  # overrides the species' ploidy
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)

    institute: Mapped[Institute] = relationship(lazy="joined", innerjoin=True)
    species_row: Mapped[SpeciesRow] = relationship(lazy="joined", innerjoin=True)
    names: Mapped[list[AccessionName]] = relationship(
        back_populates="accession", cascade="all, delete-orphan", lazy="selectin"
    )
    pedigree: Mapped[Pedigree | None] = relationship(
        foreign_keys="Pedigree.accession_id", back_populates="accession", uselist=False
    )

    __table_args__ = (
        UniqueConstraint("institute_id", "accenumb"),
        UniqueConstraint("puid"),
        Index("ix_accession_species_accenumb", "species_id", "accenumb", "id"),
        Index("ix_accession_origcty", "origcty", "accenumb", "id"),
        Index("ix_accession_sampstat", "sampstat", "accenumb", "id"),
        Index("ix_accession_species_name", "species_id", "name", "id"),
        # The breeder's usual narrowing: a species, origin and status; sorted by number.
        Index("ix_accession_species_origin", "species_id", "origcty", "sampstat", "accenumb", "id"),
        CheckConstraint("ploidy IS NULL OR ploidy >= 1", name="ploidy_positive"),
    )


class AccessionName(Base):
    """A name an accession is searched by: its number, names, synonyms, other numbers.

    ``key`` is the name normalised for search (lowercase, only letters and
    digits), so that "IR 64", "ir-64" and "IR64" all find the same accession
    by an indexed prefix match on both SQLite and PostgreSQL.
    """

    __tablename__ = "accession_name"

    id: Mapped[int] = mapped_column(primary_key=True)
    accession_id: Mapped[int] = mapped_column(
        ForeignKey("accession.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # accenumb, name, synonym, othernumb
    # Byte order ("C" collation) so that a prefix is an index range on PostgreSQL too.
    key: Mapped[str] = mapped_column(
        String(300).with_variant(String(300, collation="C"), "postgresql")
    )

    accession: Mapped[Accession] = relationship(back_populates="names")

    __table_args__ = (
        UniqueConstraint("accession_id", "kind", "name"),
        # (key, accession_id): a prefix search is answered from the index alone.
        Index("ix_accession_name_key", "key", "accession_id"),
    )


class Pedigree(Base):
    """The parents of an accession (BrAPI ``pedigree``); unknown parents are NULL."""

    __tablename__ = "pedigree"

    accession_id: Mapped[int] = mapped_column(
        ForeignKey("accession.id", ondelete="CASCADE"), primary_key=True
    )
    female_parent_id: Mapped[int | None] = mapped_column(ForeignKey("accession.id"), index=True)
    male_parent_id: Mapped[int | None] = mapped_column(ForeignKey("accession.id"), index=True)
    cross_type: Mapped[str] = mapped_column(String(30), default="UNKNOWN")
    generation: Mapped[str] = mapped_column(String(20), default="")
    cross_year: Mapped[int | None] = mapped_column(Integer)
    pedigree_string: Mapped[str] = mapped_column(Text, default="")

    accession: Mapped[Accession] = relationship(
        foreign_keys=[accession_id], back_populates="pedigree"
    )
    female_parent: Mapped[Accession | None] = relationship(foreign_keys=[female_parent_id])
    male_parent: Mapped[Accession | None] = relationship(foreign_keys=[male_parent_id])


class Location(Base):
    """A field station, farm or pond where studies take place."""

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    abbreviation: Mapped[str] = mapped_column(String(50), default="")
    country: Mapped[str] = mapped_column(String(3), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    location_type: Mapped[str] = mapped_column(String(50), default="")


class Season(Base):
    """A year and season name ("2025", "wet")."""

    __tablename__ = "season"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50), default="")

    __table_args__ = (UniqueConstraint("year", "name"),)


class Trial(Base):
    """A set of studies with a common purpose (BrAPI ``trials``)."""

    __tablename__ = "trial"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    species_id: Mapped[int] = mapped_column(ForeignKey("species.id"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("breeding_program.id"))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="public")

    studies: Mapped[list[Study]] = relationship(back_populates="trial")

    __table_args__ = (CheckConstraint(_one_of("visibility", VISIBILITY), name="visibility_known"),)


class Study(Base):
    """One trial at one location in one season (BrAPI ``studies``)."""

    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    season_id: Mapped[int | None] = mapped_column(ForeignKey("season.id"))
    design: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    trial: Mapped[Trial] = relationship(back_populates="studies")
    location: Mapped[Location | None] = relationship()
    season: Mapped[Season | None] = relationship()


class ObservationVariable(Base):
    """A trait measured by a method on a scale (Crop Ontology / BrAPI variable)."""

    __tablename__ = "observation_variable"
    __table_args__ = (
        CheckConstraint("direction IN ('higher', 'lower', 'optimum')", name="direction_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    species_id: Mapped[int | None] = mapped_column(ForeignKey("species.id"))
    trait: Mapped[str] = mapped_column(String(200))
    trait_class: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(Text, default="")
    scale: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(50), default="")
    data_type: Mapped[str] = mapped_column(String(20), default="numerical")
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    categories: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    ontology_id: Mapped[str] = mapped_column(String(100), default="")
    direction: Mapped[str] = mapped_column(String(10), default="higher", server_default="higher")
    optimum: Mapped[float | None] = mapped_column(Float)


class ObservationUnit(Base):
    """A plot, plant, animal or tank observed in a study (BrAPI ``observationunits``)."""

    __tablename__ = "observation_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    accession_id: Mapped[int] = mapped_column(ForeignKey("accession.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(30), default="plot")
    replicate: Mapped[int | None] = mapped_column(Integer)
    block: Mapped[int | None] = mapped_column(Integer)
    row: Mapped[int | None] = mapped_column(Integer)
    col: Mapped[int | None] = mapped_column(Integer)
    entry_type: Mapped[str] = mapped_column(String(20), default="TEST")

    study: Mapped[Study] = relationship()
    accession: Mapped[Accession] = relationship()

    __table_args__ = (UniqueConstraint("study_id", "name"),)


class Observation(Base):
    """One value of one variable on one unit at one time.

    ``accession_id`` repeats the unit's accession so that the trait filters of
    the search reach accessions without a join through units.
    """

    __tablename__ = "observation"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    observation_unit_id: Mapped[int] = mapped_column(ForeignKey("observation_unit.id"))
    variable_id: Mapped[int] = mapped_column(ForeignKey("observation_variable.id"))
    accession_id: Mapped[int] = mapped_column(ForeignKey("accession.id"), index=True)
    value: Mapped[str] = mapped_column(String(200))
    numeric_value: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[str] = mapped_column(String(32), default="")  # ISO 8601 or ""
    collector: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("observation_unit_id", "variable_id", "observed_at"),)


class TraitSummary(Base):
    """Per accession and variable: count, mean, min and max of its observations.

    Kept up to date by the observation import; it makes the trait-range
    filters of the search and the accession page cheap at millions of rows.
    """

    __tablename__ = "trait_summary"

    accession_id: Mapped[int] = mapped_column(
        ForeignKey("accession.id", ondelete="CASCADE"), primary_key=True
    )
    variable_id: Mapped[int] = mapped_column(
        ForeignKey("observation_variable.id"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float | None] = mapped_column(Float)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (  # (variable, mean, accession): a range, sorted, from the index alone
        Index("ix_trait_summary_variable_mean", "variable_id", "mean", "accession_id"),
    )


class Sample(Base):
    """A DNA (or tissue) sample taken from an accession."""

    __tablename__ = "sample"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    accession_id: Mapped[int] = mapped_column(ForeignKey("accession.id"), index=True)
    tissue: Mapped[str] = mapped_column(String(100), default="")
    sample_date: Mapped[dt.date | None] = mapped_column(Date)
    plate: Mapped[str] = mapped_column(String(100), default="")
    well: Mapped[str] = mapped_column(String(10), default="")
    ploidy: Mapped[int | None] = mapped_column(Integer)  # overrides accession and species
    notes: Mapped[str] = mapped_column(Text, default="")

    accession: Mapped[Accession] = relationship()


class DataFile(Base):
    """A file in the object store (``objects/`` by sha256)."""

    __tablename__ = "data_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(String(500), default="")
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"), index=True)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    read_number: Mapped[int | None] = mapped_column(Integer)  # 1 or 2 of a read pair
    library: Mapped[str] = mapped_column(String(200), default="")
    platform: Mapped[str] = mapped_column(String(100), default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("upload_batch.id"))


class GenotypeDataset(Base):
    """An HDF5 genotype store and the samples it holds (BrAPI ``variantsets``)."""

    __tablename__ = "genotype_dataset"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    species_id: Mapped[int] = mapped_column(ForeignKey("species.id"))
    path: Mapped[str] = mapped_column(String(500))
    ploidy: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(200), default="")
    n_variants: Mapped[int] = mapped_column(Integer, default=0)
    n_samples: Mapped[int] = mapped_column(Integer, default=0)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="public")

    __table_args__ = (CheckConstraint(_one_of("visibility", VISIBILITY), name="visibility_known"),)


class GenotypeDatasetSample(Base):
    """Which sample is which column of a genotype dataset."""

    __tablename__ = "genotype_dataset_sample"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("genotype_dataset.id", ondelete="CASCADE"), primary_key=True
    )
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"), primary_key=True, index=True)
    column_index: Mapped[int] = mapped_column(Integer)


class ModelRun(Base):
    """One fitted genomic-prediction model and how it was made."""

    __tablename__ = "model_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(50))
    species_id: Mapped[int] = mapped_column(ForeignKey("species.id"))
    genotype_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("genotype_dataset.id"))
    status: Mapped[str] = mapped_column(String(20), default="done")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    model_path: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="public")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __table_args__ = (CheckConstraint(_one_of("visibility", VISIBILITY), name="visibility_known"),)


class Prediction(Base):
    """A genomic estimated breeding value of one accession for one trait."""

    __tablename__ = "prediction"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_run.id", ondelete="CASCADE"))
    accession_id: Mapped[int] = mapped_column(ForeignKey("accession.id"), index=True)
    variable_id: Mapped[int] = mapped_column(ForeignKey("observation_variable.id"))
    gebv: Mapped[float] = mapped_column(Float)
    reliability: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("model_run_id", "accession_id", "variable_id"),
        # A ranking page reads one run's trait in rank order.
        Index("ix_prediction_run_variable_rank", "model_run_id", "variable_id", "rank"),
    )


class User(Base):
    """A person or service account; its role says what it may do."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"))
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)

    institute: Mapped[Institute | None] = relationship()

    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role_known"),)


class ApiToken(Base):
    """An API token; only its sha256 is stored, never the token itself."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()


class Job(Base):
    """Long work recorded by the web process and run by a worker or Snakemake."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Set by a running job as it goes; a running job whose heartbeat is old lost its worker.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="public")

    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_STATES), name="status_known"),
        CheckConstraint(_one_of("visibility", VISIBILITY), name="visibility_known"),
    )


class SelectionList(Base):
    """A breeder's named list of candidates, for comparing, crossing and export."""

    __tablename__ = "selection_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="public")

    items: Mapped[list[SelectionListItem]] = relationship(
        cascade="all, delete-orphan", order_by="SelectionListItem.position"
    )

    __table_args__ = (
        UniqueConstraint("owner_id", "name"),
        CheckConstraint(_one_of("visibility", VISIBILITY), name="visibility_known"),
    )


class SelectionListItem(Base):
    """One candidate in a selection list."""

    __tablename__ = "selection_list_item"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("selection_list.id", ondelete="CASCADE"), primary_key=True
    )
    accession_id: Mapped[int] = mapped_column(
        ForeignKey("accession.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class SelectionIndex(Base):
    """A saved selection index: economic weights or desired gains over a model run's traits."""

    __tablename__ = "selection_index"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    species_id: Mapped[int] = mapped_column(ForeignKey("species.id"))
    model_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_run.id", ondelete="SET NULL")
    )
    mode: Mapped[str] = mapped_column(String(10), default="weights")
    #: trait (variable name) -> economic weight or desired gain
    weights: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    proportion: Mapped[float] = mapped_column(Float, default=0.1)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="public")

    __table_args__ = (
        CheckConstraint("mode IN ('weights', 'gains')", name="mode_known"),
        CheckConstraint(_one_of("visibility", VISIBILITY), name="visibility_known"),
    )


__all__ = [
    "Accession",
    "AccessionName",
    "ApiToken",
    "Base",
    "BreedingProgram",
    "DataFile",
    "GenotypeDataset",
    "GenotypeDatasetSample",
    "Institute",
    "Job",
    "Location",
    "ModelRun",
    "Observation",
    "ObservationUnit",
    "ObservationVariable",
    "Pedigree",
    "Prediction",
    "Sample",
    "Season",
    "SelectionIndex",
    "SelectionList",
    "SelectionListItem",
    "SpeciesRow",
    "Study",
    "TraitSummary",
    "Trial",
    "User",
]


# Tables kept in modules of their own, on the same metadata (imported last: they import this).
from breedhub.germplasm import models_audit, models_exchange, models_uploads  # noqa: E402, F401
