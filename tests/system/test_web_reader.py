"""The web server opens the store through store.open_reader, as the command line does: a
SQLite file or a PostgreSQL database at the schema head is read without SQLAlchemy
(sqlite3, store.libpq), with the server's PostgreSQL timeouts, and a timeline a dead ingest
left behind is still repaired (at start and, from /healthz, in the background)."""
from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from caltac_inbox.store import db
from caltac_inbox.store import read as queries
from caltac_inbox.web import reader as web_reader
from caltac_inbox.web.app import ServeSettings, create_app
from caltac_inbox.web.reader import TimelineReader
from tests.web import create_feed


def _leave_timeline_behind(url: str) -> None:
    """What an ingest killed between storing its facts and rebuilding the timeline leaves."""
    engine = db.make_engine(url)
    try:
        import sqlalchemy as sa

        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM entry_sources"))
            conn.execute(sa.text("DELETE FROM entries"))
            conn.execute(sa.text("UPDATE timeline_state SET facts_generation = timeline_generation + 1"))
    finally:
        engine.dispose()


def _entries(reader: TimelineReader) -> int:
    with reader.snapshot() as source:
        return len(queries.timeline(source, include_cancelled=True))


def test_reads_go_through_the_light_readers_with_the_server_timeouts(samples_db):
    reader = TimelineReader(samples_db)
    try:
        with reader.snapshot() as source:
            if samples_db.startswith("sqlite"):
                assert isinstance(source, sqlite3.Connection)
            else:
                assert isinstance(source, queries.PostgresSource)
                assert queries.rows(source, "SHOW statement_timeout")[0]["statement_timeout"] == \
                    f"{web_reader.STATEMENT_SECONDS:g}s"
                connection: Any = source.connection
                assert source.libpq  # psycopg only where no libpq loads (test_light_postgres.py runs both)
                assert connection.settings()["connect_timeout"] == str(round(web_reader.CONNECT_SECONDS))
            assert queries.timeline(source)
    finally:
        reader.close()


def test_the_page_and_feed_are_those_of_the_store(samples_db):
    feed = create_feed(samples_db)
    with TestClient(create_app(ServeSettings(db_url=samples_db, feed_horizon_months=None))) as client:
        light_page = client.get("/", params={"token": feed["token"], "as_of": "2020-08-01"})
        light_feed = client.get(f"/calendar/{feed['token']}.ics")
    assert light_page.status_code == light_feed.status_code == 200 and "BEGIN:VEVENT" in light_feed.text
    with pytest.MonkeyPatch.context() as m:  # the SQLAlchemy store's snapshots instead
        from caltac_inbox import store

        m.setattr(store, "open_sqlite_reader", lambda url: None)
        m.setattr(store, "open_postgres_reader", lambda url, **timeouts: None)
        reader = TimelineReader(samples_db)
        with reader.snapshot() as source:
            assert not isinstance(source, (sqlite3.Connection, queries.PostgresSource))
        with TestClient(create_app(ServeSettings(db_url=samples_db, feed_horizon_months=None), reader)) as client:
            full_page = client.get("/", params={"token": feed["token"], "as_of": "2020-08-01"})
            full_feed = client.get(f"/calendar/{feed['token']}.ics")
    assert full_page.text == light_page.text and full_feed.content == light_feed.content


def test_a_timeline_left_behind_is_repaired_at_start(samples_db):
    reader = TimelineReader(samples_db)
    try:
        entries = _entries(reader)
    finally:
        reader.close()
    assert entries > 0
    _leave_timeline_behind(samples_db)
    reader = TimelineReader(samples_db)
    try:
        assert _entries(reader) == entries
        assert reader.health().ok
    finally:
        reader.close()


def test_a_timeline_left_behind_while_serving_is_repaired_in_the_background(samples_db, monkeypatch):
    monkeypatch.setattr(web_reader, "STALE_SECONDS", 0.0)
    reader = TimelineReader(samples_db)
    try:
        entries = _entries(reader)
        _leave_timeline_behind(samples_db)
        health = reader.health()  # behind: a repair starts
        assert (health.ok, health.timeline) == (False, "behind")
        deadline = time.monotonic() + 30
        while _entries(reader) != entries and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _entries(reader) == entries
        while not reader.health().ok and time.monotonic() < deadline:
            time.sleep(0.1)
        assert reader.health().timeline == "current"
    finally:
        reader.close()
