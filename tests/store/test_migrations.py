"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations


def test_migrations_match_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from taperwise.store.engine import make_engine
    from taperwise.store.migrate import current_revision, upgrade
    from taperwise.store.models import Base

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        assert current_revision(engine) == "0002"
    finally:
        engine.dispose()
