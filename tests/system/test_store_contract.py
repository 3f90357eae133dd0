"""One contract for every path the store is read on: SQLite through the standard library
(store.light, as the CLI's queries and a poll's checkpoint read it), SQLite through
SQLAlchemy, PostgreSQL through SQLAlchemy and through psycopg alone (store.light). The
same data, stored through the pipeline, gives the same answer to every checkpoint and
read query (store.read) on each."""
from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from caltac_inbox.model import Checkpoint, RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.store.writer import open_store
from caltac_inbox.store import light, read
from tests.conftest import pg_database
from tests.fakes import fake_classify, fake_parse
from tests.system.test_light import MORE
from tests.system.test_timeline import CANCEL, EXTENDED, OTHER, UPDATE_164

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PATHS = ["sqlite-light", "sqlite-full", pytest.param("postgresql", marks=pytest.mark.postgres),
         pytest.param("postgresql-light", marks=pytest.mark.postgres),
         pytest.param("postgresql-light-psycopg", marks=pytest.mark.postgres)]


def _imap(raw: bytes, uid: int, folder: str = "INBOX", uidvalidity: int = 7) -> RawMessage:
    return RawMessage(raw=raw, source=f"imap://coordinator/{folder};uidvalidity={uidvalidity};uid={uid}",
                      mailbox="coordinator", folder=folder, uidvalidity=uidvalidity, uid=uid,
                      declared_message_id=f"<{folder}-{uid}@ets>", declared_size=len(raw))


def _fill(url: str) -> None:
    """Samples (read by the real parser), stand-in notices polled from two folders, and
    the checkpoints a poll stores."""
    samples = sorted(SAMPLES.glob("*.eml"))
    fakes = [UPDATE_164, EXTENDED, OTHER, CANCEL, MORE]
    with open_store(url) as store:
        ingest(store, [RawMessage(raw=p.read_bytes(), source=p.name) for p in samples], workers=0)
        ingest(store, [_imap(raw, uid) for uid, raw in enumerate(fakes[:3], start=40)]
               + [Checkpoint("coordinator", "INBOX", 7, 45),
                  Checkpoint("coordinator", "INBOX", 7, 44),  # never backwards
                  Checkpoint("coordinator", "INBOX", 7, recognised=((50, "<seen@ets>", 1234, None, "ignored"),))]
               + [_imap(raw, uid, "Other", 9) for uid, raw in enumerate(fakes[3:], start=1)]
               + [Checkpoint("coordinator", "Other", 9, 2),  # a poll's checkpoint moves the folder, not a UID
                  Checkpoint("coordinator", "Other", 10, 1)],  # a new UIDVALIDITY
               parser=fake_parse, classifier=fake_classify, workers=0)


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'filled.db'}"
    _fill(url)
    return url


@pytest.fixture(scope="module")
def postgresql_url() -> Iterator[str]:
    with pg_database() as url:
        _fill(url)
        yield url


@contextlib.contextmanager
def _reading(path: str, url: str) -> Iterator[read.RowSource]:
    if path == "sqlite-light":
        conn = light.open_sqlite_reader(url)
        assert conn is not None  # an existing file at head: the light path
        with light.read_snapshot(conn, url) as source:
            yield source
        return
    if path.startswith("postgresql-light"):
        reader = light.open_postgres_reader(url)
        assert reader is not None  # an existing database at head: the light path, libpq (or psycopg) alone
        assert (reader.lib is None) is path.endswith("psycopg")
        try:
            with reader.snapshot() as source:
                yield source
        finally:
            reader.close()
        return
    with open_store(url) as store, store.session(readonly=True) as session:
        yield session


@pytest.fixture(params=PATHS)
def source(request, monkeypatch) -> Iterator[read.RowSource]:
    url = request.getfixturevalue("postgresql_url" if request.param.startswith("postgresql") else "sqlite_url")
    if request.param.endswith("psycopg"):  # the fallback where no libpq loads
        monkeypatch.setenv(light.DRIVER_VARIABLE, "psycopg")
    else:
        monkeypatch.delenv(light.DRIVER_VARIABLE, raising=False)
    with _reading(request.param, url) as found:
        yield found


def _answers(source: read.RowSource) -> dict[str, Any]:
    """Every read query's answer, with what differs by nature between two databases
    filled alike (write times) left out."""
    everything = read.timeline(source, include_cancelled=True)
    out: dict[str, Any] = {"timeline": everything, "timeline-current": read.timeline(source)}
    for first in (date(2016, 8, 1), date(2016, 9, 13), date(2020, 8, 1)):
        out[f"upcoming {first}"] = read.upcoming(source, first, 60)
        out[f"range {first}"] = read.timeline(source, first, first + timedelta(days=30), include_cancelled=True)
    out["by kind"] = read.timeline(source, kinds=["downtime", "task"], programs=["ELPAC"], include_cancelled=True)
    out["by mailbox"] = read.timeline(source, mailbox="coordinator", include_cancelled=True)
    out["show"] = [{k: v for k, v in (read.show(source, e["uid"]) or {}).items() if k != "updated_at"}
                   for e in everything]
    out["messages"] = [{k: v for k, v in m.items() if k != "archived_at"} for m in read.list_messages(source)]
    out["failed messages"] = read.list_messages(source, failed=True, mailbox="coordinator")
    out["sizes"] = read.archived_sizes(source, failed_only=False)
    return json.loads(json.dumps(out))


@pytest.fixture(scope="module")
def reference(sqlite_url) -> dict[str, Any]:
    with _reading("sqlite-full", sqlite_url) as source:
        return _answers(source)


class TestStoreContract:
    def test_checkpoints(self, source):
        assert read.imap_checkpoint(source, "coordinator", "INBOX") == (7, 45)
        assert read.imap_checkpoint(source, "coordinator", "Other") == (10, 1)
        assert read.imap_checkpoint(source, "coordinator", "Nowhere") == (None, 0)
        assert read.imap_checkpoint(source, "elsewhere", "INBOX") == (None, 0)
        assert read.uidvalidity_changes(source, "coordinator", "INBOX") == 0
        assert read.uidvalidity_changes(source, "coordinator", "Other") == 1
        assert read.uidvalidity_changes(source, "coordinator", "Nowhere") == 0

    def test_recorded_uids(self, source):
        assert read.known_uids(source, "coordinator", "INBOX", 7) == {40, 41, 42, 50}
        assert read.known_uids(source, "coordinator", "INBOX", 7, above=45) == {50}
        assert read.known_uids(source, "coordinator", "Other", 9) == {1, 2}
        assert read.known_uids(source, "coordinator", "Other", 10) == set()
        found = read.recorded_by_message_id(source, "coordinator", ["<seen@ets>", "<INBOX-41@ets>", "<none@ets>"])
        assert set(found) == {("<seen@ets>", 1234), ("<INBOX-41@ets>", len(EXTENDED))}
        assert found[("<seen@ets>", 1234)] == (None, "ignored")
        assert found[("<INBOX-41@ets>", len(EXTENDED))][1] == "stored"
        assert read.recorded_by_message_id(source, "elsewhere", ["<seen@ets>"]) == {}

    def test_the_timeline_is_not_behind(self, source):
        facts_generation, timeline_generation = read.generations(source)
        assert facts_generation == timeline_generation > 0
        assert not read.timeline_behind(source)

    def test_every_read_query_answers_as_on_sqlite_through_sqlalchemy(self, source, reference):
        got = _answers(source)
        assert len(got["timeline"]) >= 10 and got["show"][0]["source_details"]
        assert got == reference
