"""The schema comes only from the migrations, and matches the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from breedhub.germplasm import DatabaseSetupError, check_schema, init_database, make_engine
from breedhub.germplasm.db import current_revision, head_revision
from breedhub.germplasm.models import Base


def test_migrations__match_the_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_check_schema__refuses_an_empty_database(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(DatabaseSetupError, match="breedhub init"):
        check_schema(eng)


def test_init_database__is_idempotent(engine, registry, variables):
    assert current_revision(engine) == head_revision(engine)
    report = init_database(engine, registry, variables)
    assert (report.species_added, report.variables_added) == (0, 0)
    check_schema(engine)


def test_init_database__creates_from_scratch(tmp_path, registry, variables):
    eng = make_engine(f"sqlite:///{tmp_path / 'new.sqlite'}")
    report = init_database(eng, registry, variables)
    assert report.revision_before is None
    assert report.species_added == 8 and report.variables_added == len(variables)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade__0001_database_with_data_gains_breeding_goals(
    kind, tmp_path, postgres, registry, variables
):
    # an institute's database made by the first release, holding its variables
    import os

    from alembic import command
    from sqlalchemy import text

    from breedhub.germplasm.db import _alembic_config, upgrade

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    elif postgres is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but PostgreSQL is not available")
        pytest.skip("PostgreSQL binaries not found")
    else:
        url = postgres.create_database(f"old_{os.getpid()}")
    eng = make_engine(url)
    cfg = _alembic_config(eng)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO species (key, scientific_name, genus, species, common_name_en, "
                          "common_name_zh, ploidy, chromosome_number) VALUES "
                          "('rice', 'Oryza sativa', 'Oryza', 'sativa', 'rice', '', 2, 24)"))  # fmt: skip
        conn.execute(text("INSERT INTO observation_variable (name, species_id, trait, trait_class, "
                          "description, method, scale, unit, data_type, categories, ontology_id) "
                          "SELECT 'DaysToHeading_d', id, 'Days to heading', '', '', '', '', 'd', "
                          "'numerical', '[]', '' FROM species"))  # fmt: skip
    assert upgrade(eng) == ("0001", head_revision(eng))
    with (
        eng.connect() as conn
    ):  # the old rows kept, with the default goal until init re-reads the registry
        assert conn.execute(text("SELECT direction FROM observation_variable")).scalar() == "higher"
    init_database(eng, registry, variables)
    with eng.connect() as conn:
        row = conn.execute(
            text(
                "SELECT direction, optimum FROM observation_variable WHERE name = 'DaysToHeading_d'"
            )
        ).one()
    assert tuple(row) == ("lower", None)
    eng.dispose()
