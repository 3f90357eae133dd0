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
import shutil
from pathlib import Path
from typing import Callable, Iterator

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


class Snapshots:
    """Databases built once per test session (once per pytest-xdist worker) and copied into
    a test's own empty database: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on
    PostgreSQL. A test then starts from, say, the ingested samples without paying for the
    ingest again; what it changes stays in its own copy."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[tuple[str, str], str] = {}  # (name, backend) -> file path or template database

    def restore(self, name: str, db_url: str, build: Callable[[str], None]) -> None:
        """Make the empty database `db_url` a copy of snapshot `name`, built by `build(url)`
        the first time it is asked for on this backend."""
        if db_url.startswith("sqlite:///"):
            self._restore_sqlite(name, Path(db_url.removeprefix("sqlite:///")), build)
        else:
            self._restore_postgres(name, db_url, build)

    def _restore_sqlite(self, name: str, target: Path, build: Callable[[str], None]) -> None:
        key = (name, "sqlite")
        if key not in self.built:
            source = self.folder / f"{name}.db"
            build(f"sqlite:///{source}")
            self.built[key] = str(source)
        source = Path(self.built[key])
        for suffix in ("", "-wal"):  # a closed database has no -wal left; copy one if it has
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
                os.chmod(f"{target}{suffix}", Path(f"{source}{suffix}").stat().st_mode & 0o777)

    def _restore_postgres(self, name: str, db_url: str, build: Callable[[str], None]) -> None:
        import psycopg

        key = (name, "postgresql")
        if key not in self.built:
            template = f"caltac_snapshot_{secrets.token_hex(6)}"
            with psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'CREATE DATABASE "{template}"')
            self.built[key] = template
            build(f"{PG_SERVER}/{template}")
        database = db_url.rsplit("/", 1)[1]
        with psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{database}" TEMPLATE "{self.built[key]}"')

    def drop(self) -> None:
        templates = [template for (_, backend), template in self.built.items() if backend == "postgresql"]
        if not templates:
            return
        import psycopg

        with psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=5) as admin:
            for template in templates:
                admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory) -> Iterator[Snapshots]:
    kept = Snapshots(tmp_path_factory.mktemp("snapshots"))
    yield kept
    kept.drop()


@pytest.fixture
def samples_db(db_url, snapshots):
    """`db_url` holding the samples as `caltac-inbox ingest samples/*` stores them."""
    from tests.demo import SAMPLES
    from tests.web import ingest

    snapshots.restore("samples", db_url, lambda url: ingest(url, SAMPLES))
    return db_url


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
