"""reparse (issue 15): parses outside the write transaction, in batches, in worker
processes within the budget; a concurrent ingest never fails with "database is locked"."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from caltac_inbox.budget import ReadBudget
from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import ingest, reparse
from caltac_inbox.store.writer import open_store
from tests.fakes import DOWNTIME, RETENTION, fake_classify, fake_parse, make_eml

FAKES = dict(parser=fake_parse, classifier=fake_classify)
MARKER_ENV = "CALTAC_TEST_REPARSE_MARKER"
MAIN_PID = os.getpid()


def parse_slowly_after_saying_so(raw: bytes, source: str):
    """fake_parse; a message marked SLOW-REPARSE first creates the file named by
    $CALTAC_TEST_REPARSE_MARKER, then takes 3 s."""
    if b"SLOW-REPARSE" in raw and os.environ.get(MARKER_ENV):
        Path(os.environ[MARKER_ENV]).touch()
        time.sleep(3)
    return fake_parse(raw, source)


def parse_noting_pid(raw: bytes, source: str):
    notice = fake_parse(raw, source)
    return type(notice)(**{**notice.__dict__, "subject": str(os.getpid())})


def _messages(n: int, marked: int | None = None) -> list[RawMessage]:
    return [RawMessage(make_eml(message_id=f"<r{i}@x>", body="SLOW-REPARSE" if i == marked else f"notice {i}",
                                facts=[DOWNTIME if i % 2 else RETENTION]), f"r{i}.eml") for i in range(n)]


def test_a_concurrent_ingest_is_not_locked_out_while_reparse_parses(tmp_path, monkeypatch):
    from caltac_inbox.store import db

    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 500)  # a writer that waits longer than this fails
    marker = tmp_path / "parsing"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with open_store(url) as store:
        ingest(store, _messages(4, marked=2), **FAKES)
    outcome: dict[str, object] = {}

    def reparse_slowly() -> None:
        with open_store(url) as store:
            try:
                outcome["report"] = reparse(store, failed_only=False, parser=parse_slowly_after_saying_so,
                                            classifier=fake_classify)
            except Exception as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

    thread = threading.Thread(target=reparse_slowly)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():  # the slow message is being parsed now
            assert time.monotonic() < deadline and thread.is_alive(), outcome
            time.sleep(0.02)
        with open_store(url) as other:
            report = ingest(other, [RawMessage(make_eml(message_id="<new@x>", facts=[DOWNTIME]), "new.eml")],
                            **FAKES)
        assert report.new == 1  # it did not wait for the parsing (3 s) and fail after 0.5 s
    finally:
        thread.join(60)
    assert "error" not in outcome, outcome
    assert outcome["report"].ok == 4


def test_reparse_reads_in_worker_processes_and_stores_in_batches(store):
    ingest(store, _messages(150), **FAKES)
    commits = []
    sa.event.listen(store.engine, "commit", lambda conn: commits.append(1))
    report = reparse(store, failed_only=False, parser=parse_noting_pid, classifier=fake_classify)
    assert (report.messages, report.ok, report.facts_added, report.facts_removed) == (150, 150, 0, 0)
    readers = {int(m["subject"]) for m in store.messages()}
    assert MAIN_PID not in readers
    assert len(commits) <= 20  # batches of 1, 2, 4 ... 100 messages, their reads and the refresh; not 150


def test_reparse_keeps_to_the_budget_and_records_why(store):
    from tests.system.test_budget import classify_slowly

    tight = ReadBudget(seconds=1, memory_mb=256)
    ingest(store, _messages(3), **FAKES)
    slow = make_eml(message_id="<slow@x>", body="SLOW-CLASSIFY", facts=[DOWNTIME])
    ingest(store, [RawMessage(slow, "slow.eml")], budget=tight, **FAKES)
    report = reparse(store, failed_only=False, parser=fake_parse, classifier=classify_slowly, budget=tight)
    assert (report.messages, report.ok, report.failed) == (4, 3, 1)
    [failed] = store.messages(failed=True)
    assert failed["source"] == "slow.eml" and failed["parse_error"] == "classify timed out after 1 s"
    assert report.facts_removed == 1  # its fact went with it; the others stay
