"""A timeline left behind the stored facts (issue 15: after a crash mid-refresh it stayed at
0 entries with 2,027 messages stored until the next ingest) is noticed and rebuilt by
the next command that reads it, or shown with a warning when it cannot be rebuilt."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.store.writer import open_store
from tests.fakes import DESIGNATION, DOWNTIME, RETENTION, fake_classify, fake_parse, make_eml
from tests.system.test_cli import fakes, run  # noqa: F401 - fixtures
from tests import queries

FAKES = dict(parser=fake_parse, classifier=fake_classify)


def _raws():
    return [RawMessage(make_eml(message_id="<a@x>", facts=[DOWNTIME, DESIGNATION]), "a.eml"),
            RawMessage(make_eml(message_id="<b@x>", facts=[RETENTION]), "b.eml")]


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def _crash_before_the_refresh(url: str, monkeypatch) -> None:
    """An ingest whose first batch commits and whose timeline refresh dies (kill -9, power
    cut): the last batch commits with the refresh, so only message a's facts stay."""
    import caltac_inbox.store.write as write

    def dies(session, now=None, **recording):
        raise SystemExit("killed")

    with monkeypatch.context() as patch, open_store(url) as store:
        patch.setattr(write, "refresh_timeline", dies)
        with pytest.raises(SystemExit):
            ingest(store, _raws(), **FAKES)
    assert _count(url, "facts") == 2 and _count(url, "entries") == 0


@pytest.mark.parametrize("command", [("upcoming", "--as-of", "2020-06-01", "--days", "120", "--json"), ("timeline", "--json"),
                                     ("export-ics",)])
def test_a_timeline_left_behind_by_a_crash_is_rebuilt_by_the_next_read(run, db_url, monkeypatch, command):  # noqa: F811
    _crash_before_the_refresh(db_url, monkeypatch)
    result = run("--db", db_url, *command)
    assert result.exit_code == 0 and result.stderr == ""
    assert _count(db_url, "entries") == 2
    if command[0] == "export-ics":
        assert result.output.count("BEGIN:VEVENT") == 2
    else:
        assert {json.loads(line)["kind"] for line in result.output.splitlines()} == {"downtime", "designation"}
    with open_store(db_url) as store:
        assert not store.timeline_behind()


def test_show_rebuilds_too(run, db_url, monkeypatch):  # noqa: F811
    _crash_before_the_refresh(db_url, monkeypatch)
    assert run("--db", db_url, "show", "1").exit_code == 0


def test_a_timeline_that_cannot_be_rebuilt_is_shown_with_a_warning(run, tmp_path, monkeypatch):  # noqa: F811
    from caltac_inbox.errors import DatabaseError
    from caltac_inbox.store.writer import Store

    url = f"sqlite:///{tmp_path / 'x.db'}"
    _crash_before_the_refresh(url, monkeypatch)

    def read_only(self):
        raise DatabaseError("cannot use database x.db: attempt to write a readonly database")

    monkeypatch.setattr(Store, "refresh_timeline", read_only)
    result = run("--db", url, "timeline")
    assert result.exit_code == 0 and "No entries.\n" == result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("caltac-inbox: warning: the timeline is behind") and "readonly" in line


def test_an_ingest_that_stores_nothing_new_still_catches_up(db_url, monkeypatch):
    _crash_before_the_refresh(db_url, monkeypatch)
    with open_store(db_url) as store:
        report = ingest(store, _raws()[:1], **FAKES)  # already archived
        assert report.duplicates == 1 and report.timeline_changes == 2
        assert len(queries.timeline(store)) == 2


def test_a_no_op_poll_catches_up(tmp_path, monkeypatch):
    from tests.system.test_poll_store import in_a_fresh_poll

    url = f"sqlite:///{tmp_path / 'x.db'}"
    _crash_before_the_refresh(url, monkeypatch)
    poll = f"""
        from caltac_inbox.cli.mailbox import LazyPollStore

        store = LazyPollStore.open({url!r})
        print("opened light:", light())
        store.catch_up_timeline()
        print("caught up light:", light())
        store.close()
    """
    # read through the light reader; the rebuild opens the SQLAlchemy store
    assert in_a_fresh_poll(poll) == ["opened light: True", "caught up light: False"]
    assert _count(url, "entries") == 2
    # nothing to do: SQLAlchemy never loaded
    assert in_a_fresh_poll(poll) == ["opened light: True", "caught up light: True"]


def test_the_migration_marks_a_timeline_missing_facts_as_behind(db_url):
    from caltac_inbox.store import db

    with open_store(db_url) as store:
        ingest(store, _raws(), **FAKES)
        engine = store.engine
        db.downgrade(engine, "0004")
        with engine.begin() as conn:  # what the crash of the issue left: facts, no entries
            conn.execute(sa.text("DELETE FROM entry_sources"))
            conn.execute(sa.text("DELETE FROM entries"))
        db.upgrade(engine)
        assert store.timeline_behind()
        assert store.catch_up_timeline() and len(queries.timeline(store)) == 3


def test_a_current_timeline_is_not_marked_behind_by_the_migration(db_url):
    from caltac_inbox.store import db

    with open_store(db_url) as store:
        ingest(store, _raws(), **FAKES)
        db.downgrade(store.engine, "0004")
        db.upgrade(store.engine)
        assert not store.timeline_behind()
