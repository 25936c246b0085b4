"""Alembic environment: runs migrations on the engine ctcollab hands over."""

from __future__ import annotations

from alembic import context

from schemas.tables import metadata

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite", compare_type=True)
    context.run_migrations()
