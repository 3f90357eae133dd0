"""store.libpq, the ctypes libpq client of store.light's PostgreSQL reader, against a real
server: each column type it reads gives what psycopg gives, parameters are sent as psycopg
sends them, a type it does not know is a clear error, cursors stream, and failures read
as psycopg's (one line through the reader, never with the password). Its answers to the
store's queries are compared with the SQLAlchemy store's in test_light.py and
test_store_contract.py."""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterator
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
from click.testing import CliRunner

from caltac_inbox import cli
from caltac_inbox.errors import DatabaseError
from caltac_inbox.store import db, libpq, light
from caltac_inbox.store import read as queries
from tests.conftest import _pg_admin_conninfo, pg_database

pytestmark = pytest.mark.postgres

BEGIN = light.BEGIN

# (SQL expression, what it is) for every type the reader handles, NULLs and edge values included.
VALUES = [
    "(-32768)::int2", "32767::int2", "NULL::int2", "(-2147483648)::int4", "2147483647::int4",
    "(-9223372036854775808)::int8", "9223372036854775807::int8", "4294967295::oid", "count(*)",
    "true", "false", "NULL::bool",
    "''::text", "'héllo ☃'::text", "E'two\\nlines\\ttab'::text", "NULL::text", "'x'::varchar",
    "'ab'::char(4)", "'nm'::name", "'c'::\"char\"", "'literal'",
    "'{\"a\": [1, 2.5, null, \"é\"], \"b\": {}}'::json", "'null'::json", "NULL::json",
    "'[1, \"two\", true]'::jsonb", "'\"text\"'::jsonb", "'{\"big\": 12345678901234567890}'::jsonb",
    "'2020-02-29'::date", "'0001-01-01'::date", "'9999-12-31'::date", "NULL::date",
    "'2020-01-02 03:04:05'::timestamp", "'2020-01-02 03:04:05.000001'::timestamp",
    "'0001-01-01 00:00:00'::timestamp", "'9999-12-31 23:59:59.999999'::timestamp",
    "'2020-01-02 03:04:05+00'::timestamptz", "'2020-07-01 12:00:00.5-07'::timestamptz",
    "'2020-03-08 10:30:00+00'::timestamptz", "'1883-11-18 12:00:00+00'::timestamptz",
    "'1900-01-01 00:00:00+00'::timestamptz", "NULL::timestamptz",
    "1.5::float8", "(-0.0)::float8", "'NaN'::float8", "'Infinity'::float8", "'-Infinity'::float8", "1.25::float4",
    "1.50::numeric", "12345678901234567890.123::numeric", "'NaN'::numeric", "(-0.001)::numeric(5,3)",
    "'\\x00ff10'::bytea", "''::bytea", "NULL::bytea",
]
SETTINGS = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Etc/GMT+3"]


@pytest.fixture(scope="module")
def conninfo() -> Iterator[str]:
    with pg_database() as url:
        yield url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def lib() -> Any:
    found = libpq.load()
    assert found is not None, "no libpq loads (psycopg-binary installs one)"
    return found


@pytest.fixture
def conn(lib, conninfo) -> Iterator[libpq.Connection]:
    connection = libpq.Connection(lib, conninfo, {}, BEGIN)
    try:
        yield connection
    finally:
        connection.close()


def _psycopg(conninfo: str, zone: str | None = None) -> Any:
    """What psycopg reads in store.light (the same transaction mode), in TimeZone `zone`
    (None: the server's)."""
    connection = psycopg.connect(conninfo, **({"options": f"-c TimeZone={zone}"} if zone else {}))
    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    connection.read_only = True
    return connection


@pytest.mark.parametrize("zone", SETTINGS)
def test_each_type_reads_as_psycopg_reads_it(lib, conninfo, zone):
    sql = "SELECT " + ", ".join(f"{value} AS c{i}" for i, value in enumerate(VALUES)) + " FROM (SELECT 1) AS one"
    connection = libpq.Connection(lib, conninfo, {"options": f"-c TimeZone={zone}"}, BEGIN)
    try:
        names, found = connection.execute(sql)
    finally:
        connection.close()
    with _psycopg(conninfo, zone) as reference:
        cursor = reference.execute(sql)
        expected = cursor.fetchall()
        assert names == [d.name for d in cursor.description or ()]
    assert len(found) == 1 and len(found[0]) == len(VALUES)
    for value, have, want in zip(VALUES, found[0], expected[0], strict=True):
        # repr: the same type, NaN as NaN, the same tzinfo (psycopg's connection zone)
        assert (type(have), repr(have)) == (type(want), repr(want)), value
    aware = [v for v in found[0] if isinstance(v, datetime) and v.tzinfo is not None]
    assert aware and all(v.tzinfo == (timezone.utc if zone == "UTC" else ZoneInfo(zone)) for v in aware)


PARAMETERS: list[Any] = [None, 0, -32769, 40000, 2**40, -(2**63), 2**70, True, False, 1.5, float("inf"),
                         Decimal("1.50"), "", "text ☃ with 'quotes' and $1 and %s", date(2020, 2, 29),
                         datetime(2020, 1, 2, 3, 4, 5, 6), datetime(2020, 7, 1, 12, tzinfo=ZoneInfo("America/Los_Angeles")),
                         datetime(2020, 7, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))), b"\x00\xffx", b""]


def _outcome(run: Any, sql: str) -> Any:
    try:
        return run(sql)
    except (libpq.Error, psycopg.Error) as exc:
        return str(exc)


@pytest.mark.parametrize("value", PARAMETERS, ids=repr)
def test_parameters_are_sent_as_psycopg_sends_them(conn, conninfo, value):
    """The same type (what the server infers a query's types from) and the same value; a
    string or None the server cannot type alone is the same error."""
    typed = "SELECT pg_typeof(:v)::text AS type, :v::text AS value, :v IS NULL AS null"
    with _psycopg(conninfo) as reference:
        for sql in (typed, "SELECT :v AS alone", "SELECT 'x' || :v AS text, :v = '' AS empty"):
            have = _outcome(lambda q: conn.execute(queries.dollar_sql(q)[0], [value])[1], sql)
            conn.rollback()
            want = _outcome(lambda q: reference.execute(queries.pyformat_sql(q), {"v": value}).fetchall(), sql)
            reference.rollback()
            assert repr(have) == repr(want), sql


def test_a_type_it_does_not_read_is_a_clear_error_and_the_connection_goes_on(lib, migrated):
    url, _ = migrated
    reader = light.open_postgres_reader(url)
    assert reader is not None and reader.lib is not None
    try:
        with pytest.raises(DatabaseError, match="type OID 1186 is not handled by the libpq reader"), \
                reader.snapshot() as source:
            queries.rows(source, "SELECT '1 day'::interval AS wait")
        with reader.snapshot() as source:
            assert queries.rows(source, "SELECT 1 AS one") == [{"one": 1}]
    finally:
        reader.close()


def test_a_cursor_reads_in_batches_and_is_closed_when_left(conn):
    sql = "SELECT g, g::text AS t FROM generate_series(1, $1) AS g WHERE g % $2 = 0"
    batches = list(conn.batches(sql, [10, 1], 4))
    assert [len(found) for _, found in batches] == [4, 4, 2]
    assert [row for _, found in batches for row in found] == [(g, str(g)) for g in range(1, 11)]
    assert {tuple(names) for names, _ in batches} == {("g", "t")}
    open_cursors = "SELECT count(*) FROM pg_cursors WHERE name LIKE 'caltac%'"
    assert conn.execute(open_cursors)[1] == [(0,)]  # read to the end: closed
    left = conn.batches(sql, [1000, 1], 10)
    next(left)
    assert conn.execute(open_cursors)[1] == [(1,)]
    left.close()  # abandoned: its cursor is closed
    assert conn.execute(open_cursors)[1] == [(0,)]
    first, second = conn.batches(sql, [6, 2], 2), conn.batches(sql, [6, 3], 2)  # two at once
    assert [next(first)[1], next(second)[1], next(first)[1]] == [[(2, "2"), (4, "4")], [(3, "3"), (6, "6")],
                                                                 [(6, "6")]]
    second.close()
    conn.rollback()
    with pytest.raises(libpq.Error, match="does not exist"):  # as psycopg: ended with its transaction
        next(first)
    conn.rollback()
    first.close()  # nothing left to close
    assert conn.execute(open_cursors)[1] == [(0,)]


def test_transactions_are_those_of_psycopg_in_the_reader_mode(conn):
    assert conn.execute("SHOW transaction_isolation")[1] == [("repeatable read",)]
    assert conn.execute("SHOW transaction_read_only")[1] == [("on",)]
    with pytest.raises(libpq.Error, match="read-only transaction") as info:
        conn.execute("CREATE TABLE nothing (id int)")
    assert not isinstance(info.value, libpq.OperationalError)
    with pytest.raises(libpq.Error, match="current transaction is aborted"):
        conn.execute("SELECT 1")
    conn.rollback()
    assert conn.execute("SELECT 1 AS one") == (["one"], [(1,)])
    conn.rollback()
    conn.rollback()  # nothing open: nothing to do
    conn.close()
    conn.close()
    assert conn.closed
    with pytest.raises(libpq.OperationalError, match="closed"):
        conn.execute("SELECT 1")


def test_messages_are_psycopg_s(lib, conninfo):
    refused = "postgresql://postgres:hunter2@127.0.0.1:1/nothing?connect_timeout=2"
    missing = conninfo.rsplit("/", 1)[0] + "/no_such_database_here"
    for target in (refused, missing):
        with pytest.raises(libpq.OperationalError) as ours:
            libpq.Connection(lib, target, {}, BEGIN)
        with pytest.raises(psycopg.OperationalError) as theirs:
            psycopg.connect(target)
        assert str(ours.value) == str(theirs.value) and "hunter2" not in str(ours.value)
    connection = libpq.Connection(lib, conninfo, {"options": "-c statement_timeout=100"}, BEGIN)
    try:
        for sql, kind in [("SELECT nothing FROM no_such_table", libpq.Error),
                          ("SELECT 1/0 AS x", libpq.Error),
                          ("SELECT pg_sleep(2)::text AS x", libpq.OperationalError)]:  # QueryCanceled
            with pytest.raises(kind) as ours:
                connection.execute(sql)
            connection.rollback()
            with _psycopg(conninfo) as reference:
                reference.execute("SET statement_timeout = 100")
                with pytest.raises(psycopg.Error) as theirs:
                    reference.execute(sql)
            assert str(ours.value) == str(theirs.value), sql
            assert isinstance(theirs.value, psycopg.OperationalError) is (kind is libpq.OperationalError)
    finally:
        connection.close()


def test_the_connection_takes_the_reader_settings(lib, conninfo):
    connection = libpq.Connection(lib, conninfo + "?application_name=mine&options=-c%20work_mem%3D1MB",
                                  {"connect_timeout": "3", "options": "-c statement_timeout=2500"}, BEGIN)
    try:
        settings = connection.settings()
        assert settings["connect_timeout"] == "3" and settings["application_name"] == "mine"
        assert settings["options"] == "-c statement_timeout=2500"  # the reader's, as psycopg's keywords
        assert connection.execute("SHOW statement_timeout")[1] == [("2500ms",)]
        assert connection.parameter("client_encoding") == "UTF8"
        assert connection.backend_pid == connection.execute("SELECT pg_backend_pid()")[1][0][0]
    finally:
        connection.close()


def test_without_a_libpq_the_reader_is_psycopg_s(monkeypatch, migrated):
    url, _ = migrated
    monkeypatch.delenv(light.DRIVER_VARIABLE, raising=False)
    monkeypatch.setattr(libpq, "_loaded", False)
    monkeypatch.setattr(libpq, "_lib", None)
    monkeypatch.setattr(libpq, "_candidates", lambda: ["/nonexistent/libpq-none.so.5"])
    assert libpq.load() is None
    reader = light.open_postgres_reader(url)
    assert reader is not None and reader.lib is None
    try:
        with reader.snapshot() as source:
            assert not source.libpq and queries.timeline(source) == []
    finally:
        reader.close()


def test_the_libpq_of_psycopg_binary_comes_first():
    from importlib.util import find_spec

    candidates = libpq._candidates()
    assert candidates[-1] == "libpq.so.5"
    if find_spec("psycopg_binary") is not None:
        assert "psycopg_binary.libs/libpq-" in candidates[0]
        loaded = libpq.load()
        assert loaded is not None and "psycopg_binary.libs/libpq-" in loaded._name


@pytest.fixture
def migrated() -> Iterator[tuple[str, str]]:
    """(URL, database name) of a database at the schema head."""
    with pg_database() as url:
        db.connect(url).dispose()
        yield url, urlsplit(url).path.lstrip("/")


def _with_password(url: str) -> str:
    return url.replace("://postgres@", "://postgres:hunter2@")


def test_failures_through_the_reader_are_one_line_the_same_on_both_drivers(migrated, monkeypatch):
    """A query that fails, and a connection that cannot be made again (the database
    renamed away meanwhile): the same DatabaseError on both drivers, without the password."""
    url, name = migrated
    monkeypatch.setattr(light, "FIRST_SNAPSHOT_SECONDS", 0.0)  # every snapshot checks its connection
    said: dict[str, list[str]] = {}
    for driver in ("libpq", "psycopg"):
        monkeypatch.setenv(light.DRIVER_VARIABLE, driver)
        reader = light.open_postgres_reader(_with_password(url))
        assert reader is not None and (reader.lib is None) is (driver == "psycopg")
        messages = said.setdefault(driver, [])
        try:
            with pytest.raises(DatabaseError) as info, reader.snapshot() as source:
                queries.rows(source, "SELECT 'hunter2' AS secret FROM no_such_table")
            messages.append(str(info.value))
            with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
                admin.execute(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"')
            try:
                with pytest.raises(DatabaseError) as info, reader.snapshot():
                    pass
                messages.append(str(info.value))
            finally:
                with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"')
        finally:
            reader.close()
    assert said["libpq"] == said["psycopg"] and len(said["libpq"]) == 2
    for message in said["libpq"]:
        assert "hunter2" not in message and "\n" not in message and "postgres:***@" in message, message
    assert "no_such_table" in said["libpq"][0] and f'database "{name}" does not exist' in said["libpq"][1]


@pytest.mark.parametrize("target", ["postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nothing?connect_timeout=2",
                                    "wrong database"])
def test_a_database_that_cannot_be_opened_reads_as_before(target, monkeypatch, tmp_path, conninfo):
    """Refused, or no such database: the store's one line (exit 5), whichever driver."""
    if target == "wrong database":
        target = _with_password(conninfo.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                                + "/no_such_database_here")
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    outputs = []
    for driver in ("libpq", "psycopg"):
        monkeypatch.setenv(light.DRIVER_VARIABLE, driver)
        assert light.open_postgres_reader(target) is None  # the store reports it
        result = CliRunner().invoke(cli.main, ["--db", target, "upcoming"])
        outputs.append((result.exit_code, result.stdout, result.stderr))
    assert outputs[0] == outputs[1]
    code, stdout, stderr = outputs[0]
    assert code == 5 and not stdout and len(stderr.splitlines()) == 1 and "cannot open database" in stderr
    assert "hunter2" not in stderr and "postgres:***@" in stderr, stderr
    assert os.environ[light.DRIVER_VARIABLE] == "psycopg"
