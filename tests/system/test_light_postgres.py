"""store.light's PostgreSQL reader (store.libpq, or psycopg alone): used only for a database
that answers at the schema head, with the timeouts it is given, read-only, one snapshot per
transaction, recovering from a connection the server dropped, and never showing a
password. Every test runs on both drivers. Its answers are compared with the SQLAlchemy
store's in test_light.py and test_store_contract.py."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from caltac_inbox import cli
from caltac_inbox.errors import DatabaseError
from caltac_inbox.store import db, light, open_reader
from caltac_inbox.store import read as queries
from tests.conftest import pg_database

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True, params=["libpq", "psycopg"])
def driver(request, monkeypatch) -> str:
    """Each test on store.libpq and on the psycopg fallback (CALTAC_INBOX_PG_DRIVER)."""
    if request.param == "psycopg":
        monkeypatch.setenv(light.DRIVER_VARIABLE, "psycopg")
    else:
        monkeypatch.delenv(light.DRIVER_VARIABLE, raising=False)
    return str(request.param)


def _backend_pid(source: queries.PostgresSource) -> int:
    connection: Any = source.connection
    return connection.backend_pid if source.libpq else connection.info.backend_pid


def _connect_timeout(source: queries.PostgresSource) -> str:
    connection: Any = source.connection
    return (connection.settings() if source.libpq else connection.info.get_parameters())["connect_timeout"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


@pytest.fixture
def migrated_url(pg_url) -> str:
    db.connect(pg_url).dispose()
    return pg_url


def _with_password(url: str, password: str) -> str:
    """The same database with a password in the URL (the test server trusts 127.0.0.1, so
    the password is never checked: it only has to stay out of every message)."""
    scheme, rest = url.split("://", 1)
    user, at, host = rest.partition("@")
    return f"{scheme}://{user}:{password}@{host}" if at else url


@pytest.fixture
def no_config(monkeypatch, tmp_path):
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")


def _stamp(url: str, revision: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = %s", (revision,))


def test_a_new_database_takes_the_store_path_which_creates_it(pg_url, no_config):
    assert light.open_postgres_reader(pg_url) is None  # no alembic_version yet
    result = CliRunner().invoke(cli.main, ["--db", pg_url, "upcoming"])
    assert result.exit_code == 0 and result.output.startswith("Nothing coming up between "), result.output
    reader = light.open_postgres_reader(pg_url)  # now at head
    assert reader is not None
    reader.close()


def test_a_database_behind_head_takes_the_store_path_which_migrates_it(migrated_url, no_config):
    engine = db.make_engine(migrated_url)
    try:
        db.downgrade(engine, "-1")
        assert db.stamped_revisions(engine) != [db.SCHEMA_HEAD]
    finally:
        engine.dispose()
    assert light.open_postgres_reader(migrated_url) is None
    with open_reader(migrated_url) as reader:
        assert not reader.light
    result = CliRunner().invoke(cli.main, ["--db", migrated_url, "timeline", "--json"])
    assert result.exit_code == 0, result.output
    engine = db.make_engine(migrated_url)
    try:
        assert db.stamped_revisions(engine) == [db.SCHEMA_HEAD]
    finally:
        engine.dispose()


def test_unreachable_server_is_reported_by_the_store_without_the_password(no_config):
    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nothing?connect_timeout=2"
    assert light.open_postgres_reader(url) is None
    result = CliRunner().invoke(cli.main, ["--db", url, "upcoming"])
    assert result.exit_code == 5 and "hunter2" not in result.output, result.output
    assert len(result.stderr.splitlines()) == 1 and "cannot open database" in result.stderr


def test_timeouts_are_set_and_the_snapshot_is_read_only_and_repeatable(migrated_url, driver):
    reader = light.open_postgres_reader(migrated_url, connect_timeout=2.6, statement_timeout=2.5)
    assert reader is not None
    assert (reader.lib is not None) is (driver == "libpq")
    try:
        with reader.snapshot() as source:
            assert isinstance(source, queries.PostgresSource) and source.libpq is (driver == "libpq")
            assert queries.rows(source, "SHOW statement_timeout")[0]["statement_timeout"] == "2500ms"
            assert _connect_timeout(source) == "3"
            assert queries.rows(source, "SHOW transaction_read_only")[0]["transaction_read_only"] == "on"
            assert queries.rows(source, "SHOW transaction_isolation")[0]["transaction_isolation"] == "repeatable read"
        with pytest.raises(DatabaseError) as info, reader.snapshot() as source:
            queries.rows(source, "DELETE FROM entries")
        assert "read-only transaction" in str(info.value) and "\n" not in str(info.value)
        with reader.snapshot() as source:  # the connection is good again after the failed one
            assert queries.timeline_version(source) == queries.timeline_version(source)
    finally:
        reader.close()
    with open_reader(migrated_url) as plain, plain.snapshot() as source:  # the CLI gives none
        assert queries.rows(source, "SHOW statement_timeout")[0]["statement_timeout"] == "0"


def test_a_connection_the_server_dropped_is_replaced(migrated_url):
    import psycopg

    reader = light.open_postgres_reader(migrated_url)
    assert reader is not None
    try:
        with reader.snapshot() as source:
            pid = _backend_pid(source)
        with psycopg.connect(migrated_url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with reader.snapshot() as source:
            assert _backend_pid(source) != pid
            assert queries.generations(source) == queries.generations(source)
    finally:
        reader.close()


def test_a_schema_changed_while_open_and_faults_are_one_line_without_the_password(migrated_url):
    url = _with_password(migrated_url, "hunter2")
    reader = light.open_postgres_reader(url)
    assert reader is not None
    try:
        with pytest.raises(DatabaseError) as info, reader.snapshot() as source:
            queries.rows(source, "SELECT nothing FROM no_such_table WHERE note = 'hunter2'")
        assert "no_such_table" in str(info.value) and "hunter2" not in str(info.value), info.value
        assert "postgres:***@" in str(info.value) and "\n" not in str(info.value)
        _stamp(migrated_url, "9999")  # a newer caltac-inbox migrated it meanwhile
        with pytest.raises(DatabaseError) as info, reader.snapshot():
            pass
        assert f"at schema {db.SCHEMA_HEAD} (it is at 9999)" in str(info.value)
        assert "hunter2" not in str(info.value)
    finally:
        reader.close()


def test_the_first_snapshot_reads_in_the_checked_transaction_only_when_it_comes_at_once(migrated_url, monkeypatch):
    reader = light.open_postgres_reader(migrated_url)
    assert reader is not None
    try:
        _stamp(migrated_url, "9999")  # committed after the check: the check's snapshot still has the head
        with reader.snapshot() as source:
            assert queries.rows(source, "SELECT version_num FROM alembic_version") == [
                {"version_num": db.SCHEMA_HEAD}]
        with pytest.raises(DatabaseError, match="it is at 9999"), reader.snapshot():
            pass
    finally:
        reader.close()
    _stamp(migrated_url, db.SCHEMA_HEAD)
    monkeypatch.setattr(light, "FIRST_SNAPSHOT_SECONDS", 0.0)
    reader = light.open_postgres_reader(migrated_url)
    assert reader is not None
    try:
        _stamp(migrated_url, "9999")
        with pytest.raises(DatabaseError, match="it is at 9999"), reader.snapshot():
            pass  # late: checked afresh, no old snapshot held
    finally:
        reader.close()


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://u:hunter2@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
    ("postgresql+psycopg://u:hun@ter2@h/db", "postgresql+psycopg://u:***@h/db"),
    ("postgresql+psycopg://u@h/db?password=hunter2&sslmode=require",
     "postgresql+psycopg://u@h/db?password=***&sslmode=require"),
    ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
])
def test_passwords_are_hidden_without_sqlalchemy(url, shown):
    assert db.hide_password(url) == shown
    assert "hunter2" not in db.display_url(url) and "ter2" not in db.display_url(url)
