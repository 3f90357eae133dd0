"""Store layer: migrations on both backends, schema/migration agreement, writes."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from caltac_inbox.errors import DatabaseError
from caltac_inbox.model import Fact, RawMessage
from caltac_inbox.store import db, write
from tests import queries
from caltac_inbox.timeline.kinds import fact_identity
from caltac_inbox.timeline.time import instant
from caltac_inbox.store.schema import Base, FactRow, MessageRow

LA = ZoneInfo("America/Los_Angeles")
TABLES = {"messages", "facts", "entries", "entry_sources", "imap_messages", "imap_state", "feed_tokens",
          "timeline_state", "timeline_changes", "corrections", "leads", "editors", "timeline_pending",
          "mailbox_polls", "digests"}


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_downgrade_and_up_again(db_url):
    engine = db.make_engine(db_url)
    try:
        assert _tables(engine) == set()
        db.upgrade(engine)
        assert _tables(engine) == TABLES
        with engine.connect() as conn:
            assert db.current_revision(conn) == db.head_revision()
        db.downgrade(engine, "base")
        assert _tables(engine) == set()
        with engine.connect() as conn:
            assert db.current_revision(conn) is None
        db.upgrade(engine)
        assert _tables(engine) == TABLES
    finally:
        engine.dispose()


def test_models_and_migrations_agree(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = db.connect(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_connect_migrates_automatically_and_is_idempotent(db_url):
    for _ in range(2):
        engine = db.connect(db_url)
        assert _tables(engine) == TABLES
        engine.dispose()


@pytest.mark.postgres  # psycopg, to reach a port where no server listens
def test_unreachable_postgres_is_a_database_error_without_password():
    with pytest.raises(DatabaseError) as info:
        db.connect("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nothing?connect_timeout=2")
    assert info.value.exit_code == 5
    assert "hunter2" not in str(info.value)
    assert "\n" not in str(info.value)
    assert "CALTAC_INBOX_DB" in str(info.value)


def test_unwritable_sqlite_location_is_a_database_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseError) as info:
        db.connect(f"sqlite:///{blocker}/sub/x.db")
    assert str(blocker) in str(info.value)


def test_invalid_url_is_a_database_error():
    with pytest.raises(DatabaseError):
        db.connect("nosuchdb://x")


def test_plain_postgresql_url_uses_psycopg3():
    assert db.resolve_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.resolve_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.resolve_url(None).startswith("sqlite:///")


def test_sqlite_uses_wal_and_busy_timeout(tmp_path):
    engine = db.connect(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()


def test_fact_identity_ignores_evidence_flags_and_position_only():
    a = Fact(kind="designation", evidence="one", due=date(2020, 7, 1))
    assert fact_identity(a) == fact_identity(a.with_changes(evidence="two", unverified=True, needs_review=True))
    task = Fact(kind="task", evidence="t", month="2026-11", section="Training", text="Attend", position=3)
    assert fact_identity(task) == fact_identity(task.with_changes(position=9))
    assert fact_identity(a) != fact_identity(a.with_changes(due=date(2020, 7, 2)))
    assert fact_identity(a) != fact_identity(a.with_changes(kind="deadline"))


def test_date_only_values_are_midnight_los_angeles():
    assert instant(date(2020, 7, 1)) == datetime(2020, 7, 1, tzinfo=LA)
    when = datetime(2020, 8, 14, 17, tzinfo=LA)
    assert instant(when) == when


def _archive(session, raw: bytes, **kw):
    return write.archive_message(session, RawMessage(raw, "x.eml", **kw), notice=None, parse_status="ok")


def test_archive_is_idempotent_and_timestamps_round_trip(store):
    fact = Fact(kind="downtime", evidence="e", start=datetime(2020, 8, 14, 17, tzinfo=LA),
                end=date(2020, 8, 20), systems=("TOMS",))
    with store.session() as s:
        pk, new = _archive(s, b"From: a\r\n\r\nhello")
        assert new
        assert write.insert_facts(s, pk, [fact, fact.with_changes(evidence="other")], mailbox=None, unverified=False) == 1
    with store.session() as s:
        pk2, new2 = _archive(s, b"From: a\r\n\r\nhello")
        assert (pk2, new2) == (pk, False)
        assert write.insert_facts(s, pk, [fact], mailbox=None, unverified=False) == 0
        row = s.execute(sa.select(FactRow)).scalar_one()
        assert row.fields["start"] == "2020-08-14T17:00:00-07:00"
        assert row.fields["end"] == "2020-08-20"
        archived_at = s.execute(sa.select(MessageRow.archived_at)).scalar_one()
        assert archived_at.tzinfo is not None


def test_imap_checkpoint_advances_and_resets_on_uidvalidity_change(store):
    def record(uidvalidity, uid, status="stored"):
        with store.session() as s:
            pk, _ = _archive(s, f"From: a\r\n\r\n{uidvalidity}/{uid}".encode(),
                             mailbox="district", folder="INBOX", uidvalidity=uidvalidity, uid=uid)
            raw = RawMessage(b"", "imap", mailbox="district", folder="INBOX", uidvalidity=uidvalidity, uid=uid)
            write.record_imap_uid(s, raw, message_pk=pk, status=status)
            # recording a UID does not move the checkpoint (issue 25): the poll's Checkpoint does
            write.advance_imap_state(s, "district", "INBOX", uidvalidity, uid)

    assert queries.read_state(store, "imap_checkpoint", "district", "INBOX") == (None, 0)
    record(7, 5)
    record(7, 3)  # an older UID never moves the checkpoint back
    record(7, 3)  # recorded once
    assert queries.read_state(store, "imap_checkpoint", "district", "INBOX") == (7, 5)
    assert queries.read_state(store, "known_uids", "district", "INBOX", 7) == {3, 5}
    record(4_000_000_000, 2)  # UIDVALIDITY changed (and beyond signed 32-bit)
    assert queries.read_state(store, "imap_checkpoint", "district", "INBOX") == (4_000_000_000, 2)
    assert queries.read_state(store, "known_uids", "district", "INBOX", 7) == {3, 5}
    assert queries.read_state(store, "known_uids", "district", "INBOX", 4_000_000_000) == {2}
    assert queries.read_state(store, "imap_checkpoint", "district", "Other") == (None, 0)


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path):
    import threading

    from caltac_inbox.store.writer import open_store

    url = f"sqlite:///{tmp_path / 'rw.db'}"
    writer, reader = open_store(url), open_store(url)
    result: dict = {}
    with writer.session() as s:  # holds the write lock until the block ends
        _archive(s, b"From: a\r\n\r\nwriting")

        def read():
            try:
                result["messages"] = reader.messages()
            except Exception as exc:  # pragma: no cover - reported below
                result["error"] = exc

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "reader blocked by the open write transaction"
    assert result == {"messages": []}  # it saw the committed state, without the pending write
    assert len(reader.messages()) == 1
    writer.close()
    reader.close()


def test_database_from_a_newer_version_is_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'future.db'}"
    db.connect(url).dispose()
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(DatabaseError) as info:
        db.connect(url)
    assert "9999" in str(info.value) and "upgrade caltac-inbox" in str(info.value)


def test_a_read_session_sees_one_snapshot_while_a_writer_commits(store, db_url):
    """Every query of one read session answers from the same snapshot: the calendar reads its
    dates, then its events (export.ics.calendar_stream), and a poll committing in between
    must not give it a year of events whose time zone rules it did not write. PostgreSQL
    reads REPEATABLE READ; a SQLite reader's deferred transaction keeps its first snapshot."""
    from datetime import timezone

    from caltac_inbox.store.schema import MailboxPollRow

    polls = sa.select(sa.func.count()).select_from(MailboxPollRow)
    with store.session(readonly=True) as reading:
        before = reading.execute(polls).scalar_one()
        with store.session() as writing:
            writing.add(MailboxPollRow(mailbox="coordinator", attempted_at=datetime.now(timezone.utc)))
        assert reading.execute(polls).scalar_one() == before
    with store.session(readonly=True) as reading:
        assert reading.execute(polls).scalar_one() == before + 1
