"""Alembic environment for the taperwise store (run programmatically by taperwise.store.migrate)."""

from __future__ import annotations

from alembic import context

from taperwise.store.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # pragma: no cover - only via taperwise.store.migrate
        raise RuntimeError("run migrations through taperwise.store.migrate.upgrade(engine)")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
