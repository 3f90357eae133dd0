"""Shared fixtures.

`db_url` runs a test once per backend: "sqlite" (a temporary file) and "postgresql"
(a fresh database caltac_test_<random> on postgresql+psycopg://postgres@127.0.0.1:5432/,
trust authentication, dropped afterwards). When PostgreSQL cannot be reached the
postgresql variant skips with the reason, or fails under CI=true.
Override the server with CALTAC_TEST_PG (a postgresql+psycopg:// URL without database).
"""
from __future__ import annotations

import contextlib
import os
import secrets
from typing import Iterator

import pytest

PG_SERVER = os.environ.get("CALTAC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _pg_admin_conninfo() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_SERVER + "/postgres")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL at {PG_SERVER} is required under CI=true: {reason}")
    pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {reason}")


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, dropped afterwards (skips, or fails under
    CI=true, when the server cannot be reached)."""
    import psycopg

    name = f"caltac_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        _pg_unavailable(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A database URL of an empty database, one per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with pg_database() as url:
        yield url


@pytest.fixture
def store(db_url):
    """An open, migrated Store on `db_url`."""
    from caltac_inbox.store.writer import open_store

    s = open_store(db_url)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _no_inherited_columns():
    """Tables fit COLUMNS (caltac_inbox.terminal), and a test runner may have it in its
    environment (exported by CI, or put there by GNU readline, where os.environ does
    not see it but subprocesses do): tests see the plain layout unless they set it."""
    os.environ.pop("COLUMNS", None)
    os.unsetenv("COLUMNS")
    yield
