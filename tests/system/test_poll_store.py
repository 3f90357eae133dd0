"""The store a poll uses (cli.mailbox.LazyPollStore): checkpoints read without SQLAlchemy
(store.light) while the database exists at head, a SQLite file or a PostgreSQL database,
the SQLAlchemy Store opened only to write or when the light reader cannot serve (new
file or database, old schema).
(That a no-op poll then imports no SQLAlchemy is checked end to end in
test_imap_dovecot.py.)"""
from __future__ import annotations

import sqlite3

import pytest

from caltac_inbox.errors import DatabaseError
from caltac_inbox.model import Checkpoint, RawMessage
from caltac_inbox.pipeline import open_store
from caltac_inbox.cli.mailbox import LazyPollStore
from caltac_inbox.store import db, write
from tests import queries
from tests.fakes import fake_classify, fake_parse, make_eml


@pytest.fixture
def migrated_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    with open_store(url) as store, store.session() as s:
        write.advance_imap_state(s, "coordinator", "INBOX", 7, 41)
    return url


def test_reads_need_no_full_store_and_the_first_write_opens_it(migrated_url):
    store = LazyPollStore.open(migrated_url)
    try:
        assert store.imap_checkpoint("coordinator", "INBOX") == (7, 41)
        assert store.imap_checkpoint("coordinator", "Other") == (None, 0)
        assert not store.is_full_store_open

        store.ingest([Checkpoint("coordinator", "INBOX", 7, 45)])  # what a poll stores
        assert store.is_full_store_open
        assert store.imap_checkpoint("coordinator", "INBOX") == (7, 45)
        assert store.known_uids("coordinator", "INBOX", 7) == set()
    finally:
        store.close()
    with open_store(migrated_url) as full:
        assert queries.read_state(full, "imap_checkpoint", "coordinator", "INBOX") == (7, 45)


@pytest.mark.postgres
def test_postgresql_at_head_is_read_without_the_full_store_and_a_new_one_is_created_at_once():
    from tests.conftest import pg_database

    with pg_database() as url:
        store = LazyPollStore.open(url)
        try:
            assert store.is_full_store_open  # a new database: created before any IMAP traffic
        finally:
            store.close()
        with open_store(url) as full, full.session() as s:
            write.advance_imap_state(s, "coordinator", "INBOX", 7, 41)
        store = LazyPollStore.open(url)
        try:
            assert store.imap_checkpoint("coordinator", "INBOX") == (7, 41)
            assert store.known_uids("coordinator", "INBOX", 7) == set()
            store.catch_up_timeline()
            assert not store.is_full_store_open  # psycopg alone
            store.record_poll("coordinator", None)  # a write: the full store
            assert store.is_full_store_open
        finally:
            store.close()


def test_ingest_opens_the_full_store_and_passes_the_options(migrated_url):
    raw = make_eml()
    message = RawMessage(raw=raw, source="imap://coordinator/INBOX;uidvalidity=7;uid=42",
                         mailbox="coordinator", folder="INBOX", uidvalidity=7, uid=42)
    store = LazyPollStore.open(migrated_url)
    try:
        report = store.ingest([message], max_size=len(raw) - 1, parser=fake_parse, classifier=fake_classify)
        assert store.is_full_store_open
        assert (report.new, report.failed) == (1, 1)  # over the limit: archived, not parsed
        assert store.known_uids("coordinator", "INBOX", 7) == {42}  # recorded: the next poll passes it
    finally:
        store.close()


def test_new_database_is_created_at_once(tmp_path):
    path = tmp_path / "sub" / "new.db"
    store = LazyPollStore.open(f"sqlite:///{path}")
    try:
        assert store.is_full_store_open  # created and migrated before any IMAP traffic
        assert store.imap_checkpoint("m", "INBOX") == (None, 0)
    finally:
        store.close()
    assert path.is_file()


def test_old_schema_is_migrated_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        db.downgrade(engine, "base")
    finally:
        engine.dispose()
    store = LazyPollStore.open(url)
    try:
        assert store.is_full_store_open
        assert store.imap_checkpoint("m", "INBOX") == (None, 0)
    finally:
        store.close()


def test_a_failing_light_read_is_reported_by_the_full_store(migrated_url, tmp_path):
    conn = sqlite3.connect(tmp_path / "caltac.db")
    conn.execute("DROP TABLE imap_state")  # still stamped at head, so the light reader opens
    conn.commit()
    conn.close()
    store = LazyPollStore.open(migrated_url)
    try:
        assert not store.is_full_store_open
        with pytest.raises(DatabaseError) as info:  # exit 5 with the usual message, not sqlite3.Error
            store.imap_checkpoint("coordinator", "INBOX")
        assert info.value.exit_code == 5 and "imap_state" in str(info.value)
    finally:
        store.close()


def test_bad_url_fails_before_polling():
    with pytest.raises(DatabaseError):
        LazyPollStore.open("nosuchdb://x")


def test_sqlite_path_without_sqlalchemy_matches_sqlalchemys_reading(tmp_path):
    for url in (f"sqlite:///{tmp_path / 'a b.db'}", f"sqlite:///{tmp_path}/a%20b.db", "sqlite:///rel/x.db",
                f"sqlite+pysqlite:///{tmp_path / 'x.db'}", f"sqlite:///{tmp_path / 'x.db'}?timeout=5",
                "postgresql://u@localhost/caltac"):
        plain = db.plain_sqlite_file(url)
        assert plain is None or plain == _sqlalchemy_path(url), url
        assert db.sqlite_path(url) == _sqlalchemy_path(url), url


def _sqlalchemy_path(url):
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(db.resolve_url(url))
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None
