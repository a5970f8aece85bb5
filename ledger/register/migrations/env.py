"""Alembic environment: migrations run on the connection the register hands over."""

from __future__ import annotations

from alembic import context

from ledger.register.models import Base
from ledger.register.partitions import include_object_for

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic revision --autogenerate` from a developer's shell
    from sqlalchemy import create_engine

    url = context.config.get_main_option("sqlalchemy.url") or "sqlite://"
    connection = create_engine(url).connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=include_object_for(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
