"""The light read path: `upcoming`, `timeline`, `show` and `export-ics` over a plain
sqlite3 connection or a psycopg one (store.light) give exactly what the SQLAlchemy store
gives, fall back to the store when they cannot be used, and report database faults in
one line."""
from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from caltac_inbox import cli
from caltac_inbox.cli.app import App
from caltac_inbox.export.ics import calendar_entries, calendar_ics
from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.store.writer import open_store
from caltac_inbox import store as store_package
from caltac_inbox.store import db, light, open_reader
from caltac_inbox.store import read as queries
from caltac_inbox.timeline.time import instant
from tests.conftest import pg_database
from tests.fakes import fake_classify, fake_parse, make_eml
from tests.system.test_timeline import CANCEL, EXTENDED, OTHER, UPDATE_164

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
LA = ZoneInfo("America/Los_Angeles")

LONG_WINDOW = {"kind": "downtime", "program": "ELPAC", "start": "2016-03-01", "end": "2016-11-30",
               "systems": ["CERS"], "status": "scheduled", "evidence": "CERS is down March through November."}
REMINDER = {"kind": "credential", "program": "CAASPP", "school_year": "2016-17",
            "evidence": "Remember to generate vendor credentials."}
MONTH_TASK = {"kind": "task", "program": None, "month": "2016-09", "section": "Fall", "text": "Order materials",
              "evidence": "September: order materials."}
MORE = make_eml(subject="More", facts=[LONG_WINDOW, REMINDER, MONTH_TASK], message_id="<more@ets>",
                sent="2016-08-01T08:00:00-07:00")


def fill(url: str) -> str:
    """The samples (some under mailbox "county", read by the real parser) and stand-in
    notices: an extension, a cancellation, a long window, an undated reminder, a
    checklist month."""
    samples = sorted(SAMPLES.glob("*.eml"))
    with open_store(url) as store:
        ingest(store, [RawMessage(raw=p.read_bytes(), source=p.name, mailbox="county") for p in samples[:4]])
        ingest(store, [RawMessage(raw=p.read_bytes(), source=p.name) for p in samples[4:]])
        ingest(store, [RawMessage(raw=m, source=f"m{i}.eml", mailbox="fakes" if i % 2 else None)
                for i, m in enumerate([UPDATE_164, EXTENDED, OTHER, CANCEL, MORE])],
               parser=fake_parse, classifier=fake_classify)
    return url


@pytest.fixture(scope="module")
def filled_url(tmp_path_factory) -> str:
    """A SQLite store, filled."""
    return fill(f"sqlite:///{tmp_path_factory.mktemp('light') / 'filled.db'}")


@pytest.fixture(scope="module")
def filled_pg_url() -> Iterator[str]:
    """A PostgreSQL store, filled alike."""
    with pg_database() as url:
        yield fill(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("postgresql-psycopg", marks=pytest.mark.postgres)])
def filled_any_url(request, monkeypatch) -> str:
    """Each filled store; PostgreSQL read by store.libpq, and by psycopg (the fallback where
    no libpq loads, forced by CALTAC_INBOX_PG_DRIVER)."""
    if request.param == "postgresql-psycopg":
        monkeypatch.setenv(light.DRIVER_VARIABLE, "psycopg")
    else:
        monkeypatch.delenv(light.DRIVER_VARIABLE, raising=False)
    return request.getfixturevalue("filled_pg_url" if request.param.startswith("postgresql") else "filled_url")


def _queries(everything: list[dict]) -> list[tuple[str, tuple, dict]]:
    """(function name, args, kwargs) covering ranges, kinds, programs, mailboxes, show."""
    calls: list[tuple[str, tuple, dict]] = [("timeline", (), {}), ("timeline", (), {"include_cancelled": True})]
    for first in (date(2016, 1, 1), date(2016, 8, 27), date(2016, 9, 13), date(2016, 12, 25), date(2019, 3, 18),
                  date(2020, 8, 1), date(2020, 8, 20), date(2030, 1, 1)):
        for days in (0, 1, 30, 400):
            calls.append(("upcoming", (first, days), {}))
            calls.append(("timeline", (first, first + timedelta(days=days)), {"include_cancelled": True}))
        calls.append(("upcoming", (datetime.combine(first, datetime.min.time(), tzinfo=LA).replace(hour=12), 3), {}))
        calls.append(("timeline", (first, None), {}))
        calls.append(("timeline", (None, first), {"include_cancelled": True}))
    for kinds in (["downtime"], ["designation", "credential"], ["task"], ["retention", "deadline"]):
        calls.append(("timeline", (), {"kinds": kinds, "include_cancelled": True}))
        calls.append(("upcoming", (date(2016, 9, 1), 60), {"kinds": kinds}))
    for programs in (["CAASPP"], ["ELPAC"], ["caaspp", "ELPAC"]):
        calls.append(("timeline", (), {"programs": programs}))
        calls.append(("upcoming", (date(2020, 7, 1), 90), {"programs": programs}))
    for mailbox in ("county", "fakes", "nowhere"):
        calls.append(("timeline", (), {"mailbox": mailbox, "include_cancelled": True}))
        calls.append(("upcoming", (date(2016, 9, 1), 60), {"mailbox": mailbox, "kinds": ["downtime"]}))
    for entry in everything:
        calls += [("show", (entry["id"],), {}), ("show", (entry["uid"],), {}), ("show", (entry["uid"][:12],), {}),
                  ("show", (f"{entry['uid']}@caltac-inbox",), {})]
    calls += [("show", ("no-such-entry",), {}), ("show", ("99999",), {}), ("show", ("9" * 30,), {}),
              ("show", ("down",), {}), ("show", ("downtime%",), {})]
    return calls


CALENDARS = [{}, {"kinds": ["downtime"]}, {"programs": ["ELPAC"], "from_": date(2016, 1, 1)},
             {"mailbox": "county", "to": date(2020, 12, 31)}]


def test_light_reader_gives_the_same_json_as_the_store(filled_any_url):
    url = filled_any_url
    with open_store(url) as store, store.session(readonly=True) as session:
        everything = queries.timeline(session, include_cancelled=True)
        assert len(everything) >= 10 and {e["kind"] for e in everything} >= {
            "downtime", "designation", "credential", "task"}
        assert any(e["status"] == "cancelled" for e in everything)
        expected = [json.dumps(getattr(queries, name)(session, *args, **kwargs))
                    for name, args, kwargs in _queries(everything)]
        calendars = [calendar_ics(calendar_entries(session, **selection)) for selection in CALENDARS]
    with open_reader(url) as reader, reader.snapshot() as source:
        assert reader.light and type(source) is (sqlite3.Connection if url.startswith("sqlite") else
                                                 queries.PostgresSource)
        if isinstance(source, queries.PostgresSource):  # libpq unless psycopg is asked for
            assert source.libpq is (os.environ.get(light.DRIVER_VARIABLE) != "psycopg")
        got = [json.dumps(getattr(queries, name)(source, *args, **kwargs))
               for name, args, kwargs in _queries(everything)]
        assert [calendar_ics(calendar_entries(source, **selection)) for selection in CALENDARS] == calendars
    for call, want, have in zip(_queries(everything), expected, got):
        assert have == want, call
    assert sum(w not in ("[]", "null") for w in expected) > len(expected) // 2  # most queries found something


def test_show_prefix_is_a_prefix_not_a_pattern(filled_url):
    conn = light.open_sqlite_reader(filled_url)
    with light.read_snapshot(conn, filled_url) as source:
        uid = queries.timeline(source, kinds=["credential"])[0]["uid"]  # "credential-..."
        assert queries.show(source, uid[:-3])["uid"] == uid
        assert queries.show(source, uid[:-3].replace("-", "_")) is None  # "_" is no LIKE wildcard here
        assert queries.show(source, "%" * 8) is None


def _cli(*args: str):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


@pytest.fixture
def no_config(monkeypatch, tmp_path):
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")


COMMANDS = [
    ["upcoming", "--as-of", "2016-09-01", "--json"],
    ["upcoming", "--as-of", "2016-09-01", "--days", "400"],
    ["upcoming", "--as-of", "2016-09-01", "--kind", "downtime", "--program", "elpac", "--csv"],
    ["timeline", "--json", "--include-cancelled"],
    ["timeline", "--from", "2016-09-01", "--to", "2016-12-31", "--mailbox", "fakes"],
    ["export-ics", "--tasks"],
    ["export-ics", "--kind", "downtime", "--from", "2016-01-01", "--to", "2016-12-31"],
]


def test_cli_reads_an_existing_database_without_the_store(filled_any_url, no_config, monkeypatch):
    filled_url = filled_any_url
    listed = _cli("--db", filled_url, "timeline", "--json", "--include-cancelled").stdout.splitlines()
    ids = [str(json.loads(line)["id"]) for line in listed]
    prefix = json.loads(listed[-1])["uid"][:-3]
    commands = COMMANDS + [["show", i, "--json"] for i in ids[:3]] + [["show", i] for i in ids[3:6]] + [
        ["show", prefix]]
    light_outputs = []
    with monkeypatch.context() as m:
        def no_store(app):
            raise AssertionError("the light path must not open the SQLAlchemy store")

        m.setattr(App, "open_store", no_store)
        for args in commands:
            result = _cli("--db", filled_url, *args)
            light_outputs.append((result.exit_code, result.stdout_bytes, result.stderr))
    monkeypatch.setattr(store_package, "open_sqlite_reader", lambda url: None)  # force the store path
    monkeypatch.setattr(store_package, "open_postgres_reader", lambda url, **timeouts: None)
    opened = []
    monkeypatch.setattr(App, "open_store", lambda app, real=App.open_store: opened.append(1) or real(app))
    for args, (code, out, err) in zip(commands, light_outputs):
        result = _cli("--db", filled_url, *args)
        assert (code, out, err) == (result.exit_code, result.stdout_bytes, result.stderr), args
        assert code == 0 and out, args
    assert len(opened) == len(commands)  # each read through the store


def test_missing_database_is_an_error_and_a_write_creates_it(tmp_path, no_config):
    path = tmp_path / "new" / "caltac.db"
    url = f"sqlite:///{path}"
    assert light.open_sqlite_reader(url) is None and not path.exists()
    result = _cli("--db", url, "upcoming")  # reading never creates a database (issue 17)
    assert result.exit_code == 5 and f"no database at {path}" in result.output
    assert not path.exists()
    assert _cli("--db", url, "db", "upgrade").exit_code == 0
    result = _cli("--db", url, "upcoming")
    assert result.exit_code == 0 and result.output.startswith("Nothing coming up between ")
    conn = light.open_sqlite_reader(url)  # at head: queries take the light path
    assert conn is not None
    conn.close()


def test_database_behind_head_falls_back_to_the_store_which_migrates_it(filled_url, tmp_path, no_config):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Path(url.removeprefix("sqlite:///")).write_bytes(Path(filled_url.removeprefix("sqlite:///")).read_bytes())
    engine = db.make_engine(url)
    try:
        db.downgrade(engine, "-1")
        assert db.stamped_revisions(engine) not in (None, [db.script_head()])
    finally:
        engine.dispose()
    assert light.open_sqlite_reader(url) is None
    result = _cli("--db", url, "timeline", "--json")
    assert result.exit_code == 0 and len(result.output.splitlines()) >= 8
    engine = db.make_engine(url)
    try:
        assert db.stamped_revisions(engine) == [db.script_head()]
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["postgresql+psycopg://postgres@127.0.0.1:5432/x", "sqlite://", "sqlite:///:memory:",
                                 "sqlite:///x.db?mode=ro"])
def test_other_urls_take_the_store_path(url):
    assert light.open_sqlite_reader(url) is None


@pytest.mark.parametrize("command", [["upcoming"], ["timeline"], ["show", "1"], ["export-ics"]])
def test_database_fault_on_the_light_path_is_one_line_exit_5(filled_url, tmp_path, no_config, command):
    path = tmp_path / "damaged.db"
    path.write_bytes(Path(filled_url.removeprefix("sqlite:///")).read_bytes())
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE entry_sources")
        conn.execute("DROP TABLE entries")
    assert light.open_sqlite_reader(f"sqlite:///{path}") is not None  # stamped at head: the light path
    result = CliRunner().invoke(cli.main, ["--db", f"sqlite:///{path}", *command])
    assert result.exit_code == 5, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"caltac-inbox: error: cannot read database {path}: no such table")
    assert "--db" in lines[0]


def test_file_that_is_not_a_database_is_one_line_exit_5(tmp_path, no_config):
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 100)
    assert light.open_sqlite_reader(f"sqlite:///{path}") is None
    result = CliRunner().invoke(cli.main, ["--db", f"sqlite:///{path}", "upcoming"])
    assert result.exit_code == 5 and len(result.stderr.splitlines()) == 1, result.output


def test_reader_does_not_wait_for_a_writer(filled_url, tmp_path, no_config):
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    path.write_bytes(Path(filled_url.removeprefix("sqlite:///")).read_bytes())
    db.connect(url).dispose()  # the store's settings: WAL
    before = _cli("--db", url, "timeline", "--json").stdout
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("DELETE FROM entry_sources")
        writer.execute("DELETE FROM entries")
        started = time.monotonic()
        during = _cli("--db", url, "timeline", "--json")
        assert time.monotonic() - started < 5  # the busy timeout is 30 s
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert during.exit_code == 0 and during.stdout == before  # the last committed state


def test_sqlite_parameters_are_written_like_the_store_writes_timestamps(filled_url):
    conn = sqlite3.connect(filled_url.removeprefix("sqlite:///"))
    stored = [r[0] for r in conn.execute("SELECT key_at FROM entries WHERE key_at IS NOT NULL UNION "
                                         "SELECT end_at FROM entries WHERE end_at IS NOT NULL UNION "
                                         "SELECT sent FROM messages WHERE sent IS NOT NULL")]
    conn.close()
    assert len(stored) >= 10
    for text in stored:
        aware = queries._instant(text)
        assert aware.utcoffset() == timedelta(0)
        assert queries.sqlite_instant(aware) == text
        assert queries.sqlite_instant(aware.astimezone(LA)) == text


def _plan(conn: sqlite3.Connection, sql: str, params: dict) -> str:
    return "\n".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, queries.sqlite_params(params)))


def test_date_preselection_uses_the_key_at_and_end_at_indexes(filled_url):
    conn = sqlite3.connect(filled_url.removeprefix("sqlite:///"))
    lower, upper = instant(date(2020, 8, 1)), instant(date(2020, 10, 1))
    both = _plan(conn, *queries._entries_query((), None, include_cancelled=False, lower=lower, upper=upper))
    # one bounded key_at range per branch: not every entry before `upper`
    assert "ix_entries_key_at (key_at>? AND key_at<?)" in both and "ix_entries_end_at (end_at>?)" in both, both
    since = _plan(conn, *queries._entries_query((), "county", include_cancelled=True, lower=lower, upper=None))
    assert "ix_entries_key_at (key_at>?)" in since and "ix_entries_end_at (end_at>?)" in since, since
    until = _plan(conn, *queries._entries_query((), None, include_cancelled=True, lower=None, upper=upper))
    assert "ix_entries_key_at (key_at<?)" in until, until
    # with kinds, each branch is bounded below too: not the kind's whole history
    kinds = _plan(conn, *queries._entries_query(("downtime",), None, include_cancelled=False, lower=lower,
                                                upper=upper))
    assert "(kind=? AND key_at>? AND key_at<?)" in kinds and "ix_entries_kind_end_at (kind=? AND end_at>?)" in kinds, \
        kinds
    for plan in (both, since, until, kinds):
        assert "SCAN e" not in plan, plan
    conn.close()
