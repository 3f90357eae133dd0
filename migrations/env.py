"""Alembic environment for caltac-inbox.

Normally run through `caltac-inbox db upgrade` (or automatically on first use), which
passes an open connection in `config.attributes["connection"]`. Plain `alembic`
also works from the repo root: `alembic -c migrations/alembic.ini upgrade head`, with
the database taken from CALTAC_INBOX_DB (or sqlalchemy.url in that file).
"""
from __future__ import annotations

import os

from alembic import context

from caltac_inbox.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    url = os.environ.get("CALTAC_INBOX_DB") or config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from caltac_inbox.store.db import make_engine, resolve_url

    url = os.environ.get("CALTAC_INBOX_DB") or config.get_main_option("sqlalchemy.url")
    engine = make_engine(resolve_url(url))
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
