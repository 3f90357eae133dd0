"""The store a poll uses (cli.mailbox.LazyPollStore): checkpoints read without SQLAlchemy
(store.light) while the database exists at head, a SQLite file or a PostgreSQL database,
the SQLAlchemy Store opened only to write or when the light reader cannot serve (new
file or database, old schema).
Whether the SQLAlchemy Store is open shows in a fresh interpreter (`in_a_fresh_poll`):
SQLAlchemy is imported then and only then. (That a no-op poll imports no SQLAlchemy is
also checked end to end in test_imap_dovecot.py.)"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from caltac_inbox.cli.mailbox import LazyPollStore
from caltac_inbox.errors import DatabaseError
from caltac_inbox.model import RawMessage
from caltac_inbox.store import db, write
from caltac_inbox.store.writer import open_store
from tests import queries
from tests.fakes import fake_classify, fake_parse, make_eml
from tests.system.test_startup import run_listing_modules

# In the scripts in_a_fresh_poll runs: whether the SQLAlchemy Store is still unopened.
LIGHT = "def light():\n    import sys\n    return 'sqlalchemy' not in sys.modules\n"


def in_a_fresh_poll(code: str) -> list[str]:
    """The lines `code` prints, run in a fresh interpreter with `light()` defined."""
    import textwrap

    return run_listing_modules(LIGHT + textwrap.dedent(code))[1].splitlines()


def stamped_schema(path: Path) -> list[str]:
    """The migration a SQLite file is stamped at, read with the standard library."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    finally:
        conn.close()


@pytest.fixture
def migrated_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    with open_store(url) as store, store.session() as s:
        write.advance_imap_state(s, "coordinator", "INBOX", 7, 41)
    return url


def test_reads_need_no_full_store_and_the_first_write_opens_it(migrated_url):
    assert in_a_fresh_poll(f"""
        from caltac_inbox.cli.mailbox import LazyPollStore
        from caltac_inbox.model import Checkpoint

        store = LazyPollStore.open({migrated_url!r})
        print(store.imap_checkpoint("coordinator", "INBOX"), store.imap_checkpoint("coordinator", "Other"))
        print("light:", light())
        store.ingest([Checkpoint("coordinator", "INBOX", 7, 45)])  # what a poll stores
        print("light:", light())
        print(store.imap_checkpoint("coordinator", "INBOX"), store.known_uids("coordinator", "INBOX", 7))
        store.close()
    """) == ["(7, 41) (None, 0)", "light: True", "light: False", "(7, 45) set()"]
    with open_store(migrated_url) as full:
        assert queries.read_state(full, "imap_checkpoint", "coordinator", "INBOX") == (7, 45)


@pytest.mark.postgres
def test_postgresql_at_head_is_read_without_the_full_store_and_a_new_one_is_created_at_once():
    from caltac_inbox.store import light as light_readers
    from tests.conftest import pg_database

    with pg_database() as url:
        assert light_readers.open_postgres_reader(url) is None  # nothing there yet
        LazyPollStore.open(url).close()
        reader = light_readers.open_postgres_reader(url)  # created and migrated before any IMAP traffic
        assert reader is not None
        reader.close()
        with open_store(url) as full, full.session() as s:
            write.advance_imap_state(s, "coordinator", "INBOX", 7, 41)
        assert in_a_fresh_poll(f"""
            from caltac_inbox.cli.mailbox import LazyPollStore

            store = LazyPollStore.open({url!r})
            print(store.imap_checkpoint("coordinator", "INBOX"), store.known_uids("coordinator", "INBOX", 7))
            store.catch_up_timeline()
            print("light:", light())  # psycopg alone
            store.record_poll("coordinator", None)  # a write: the full store
            print("light:", light())
            store.close()
        """) == ["(7, 41) set()", "light: True", "light: False"]


def test_ingest_opens_the_full_store_and_passes_the_options(migrated_url):
    raw = make_eml()
    message = RawMessage(raw=raw, source="imap://coordinator/INBOX;uidvalidity=7;uid=42",
                         mailbox="coordinator", folder="INBOX", uidvalidity=7, uid=42)
    store = LazyPollStore.open(migrated_url)
    try:
        report = store.ingest([message], max_size=len(raw) - 1, parser=fake_parse, classifier=fake_classify)
        assert (report.new, report.failed) == (1, 1)  # over the limit: archived (by the full store), not parsed
        assert store.known_uids("coordinator", "INBOX", 7) == {42}  # recorded: the next poll passes it
    finally:
        store.close()


def test_new_database_is_created_at_once(tmp_path):
    path = tmp_path / "sub" / "new.db"
    store = LazyPollStore.open(f"sqlite:///{path}")
    try:
        assert stamped_schema(path) == [db.SCHEMA_HEAD]  # created and migrated before any IMAP traffic
        assert store.imap_checkpoint("m", "INBOX") == (None, 0)
    finally:
        store.close()


def test_old_schema_is_migrated_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        db.downgrade(engine, "base")
    finally:
        engine.dispose()
    assert stamped_schema(tmp_path / "old.db") == []
    store = LazyPollStore.open(url)
    try:
        assert stamped_schema(tmp_path / "old.db") == [db.SCHEMA_HEAD]  # before any IMAP traffic
        assert store.imap_checkpoint("m", "INBOX") == (None, 0)
    finally:
        store.close()


def test_a_failing_light_read_is_reported_by_the_full_store(migrated_url, tmp_path):
    conn = sqlite3.connect(tmp_path / "caltac.db")
    conn.execute("DROP TABLE imap_state")  # still stamped at head, so the light reader opens
    conn.commit()
    conn.close()
    assert in_a_fresh_poll(f"""
        from caltac_inbox.cli.mailbox import LazyPollStore
        from caltac_inbox.errors import DatabaseError

        store = LazyPollStore.open({migrated_url!r})
        print("light:", light())
        try:
            store.imap_checkpoint("coordinator", "INBOX")
        except DatabaseError as exc:  # exit 5 with the usual message, not sqlite3.Error
            print(exc.exit_code, "imap_state" in str(exc))
        store.close()
    """) == ["light: True", "5 True"]


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
