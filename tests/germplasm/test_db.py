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
