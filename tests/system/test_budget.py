"""A budget per message (issue 15): parse and classify get a time and a memory limit. A
message that exceeds either is archived with its raw bytes and the reason, `messages
--failed` lists it, ingest goes on with the next message, and the IMAP checkpoint moves
past it. The stand-ins sleep, allocate or hang far beyond limits of 1 s and 256 MB, so
no outcome depends on the machine's speed."""
from __future__ import annotations

import itertools
import time

import pytest
import sqlalchemy as sa

from caltac_inbox.budget import ReadBudget
from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import ingest
from tests.dovecot import dovecot  # noqa: F401 - fixture
from tests.fakes import DOWNTIME, RETENTION, fake_classify, fake_parse, make_eml
from tests.system.test_cli import run  # noqa: F401 - fixture
from tests import queries

TIGHT = ReadBudget(seconds=1, memory_mb=256)


# Module-level stand-ins: worker processes get them by reference.
def parse_slowly(raw: bytes, source: str):
    if b"SLOW-PARSE" in raw:
        time.sleep(600)
    return fake_parse(raw, source)


def classify_slowly(notice):
    if "SLOW-CLASSIFY" in notice.text:
        time.sleep(600)
    return fake_classify(notice)


def classify_greedily(notice):
    if "GREEDY" in notice.text:
        hog = [bytes(2**26) for _ in range(100)]  # 6.4 GB of address space, 64 MB at a time (calloc: untouched)
        return (len(hog),)
    return fake_classify(notice)


def parse_stuck_in_c(raw: bytes, source: str):
    if b"STUCK" in raw:
        sum(itertools.repeat(1, 10**12))  # one C call: no signal handler runs until it returns
    return fake_parse(raw, source)


def _imap_messages(*bodies: str) -> list[RawMessage]:
    return [RawMessage(make_eml(message_id=f"<m{uid}@x>", body=body, facts=[DOWNTIME] if uid % 2 else [RETENTION]),
                       f"coordinator/INBOX/9/{uid}", mailbox="coordinator", folder="INBOX", uidvalidity=9, uid=uid)
            for uid, body in enumerate(bodies, start=1)]


def _ingest_within(store, raws, budget=TIGHT, **stand_ins):
    started = time.monotonic()
    report = ingest(store, raws, budget=budget, **{"parser": fake_parse, "classifier": fake_classify, **stand_ins})
    return report, time.monotonic() - started


def _assert_recorded_and_passed(store, report, raws, bad_uid: int, reason: str) -> None:
    total = len(raws)
    assert report.new == total and report.failed == 1 and report.facts == total - 1
    [(source, error)] = report.errors
    assert source.endswith(f"/{bad_uid}") and reason in error
    [failed] = store.messages(failed=True)
    assert failed["source"] == source and reason in failed["parse_error"]
    with store.session() as s:
        raw = s.execute(sa.text("SELECT raw FROM messages WHERE id = :id"), {"id": failed["id"]}).scalar_one()
        statuses = dict(s.execute(sa.text("SELECT uid, status FROM imap_messages")).all())
    assert bytes(raw) == raws[bad_uid - 1].raw  # archived with its raw bytes: reparse can retry it
    # every UID recorded, so a poll passes it (the poll's Checkpoints move the checkpoint)
    assert statuses[bad_uid] == "failed" and set(statuses) == set(range(1, total + 1))
    others = {"downtime" if uid % 2 else "retention" for uid in range(1, total + 1) if uid != bad_uid}
    assert {e["kind"] for e in queries.timeline(store)} == others  # the others were stored


def test_a_classify_over_the_time_limit_is_archived_with_the_reason(store):
    raws = _imap_messages("one", "SLOW-CLASSIFY", "three", "four")
    report, seconds = _ingest_within(store, raws, classifier=classify_slowly)
    _assert_recorded_and_passed(store, report, raws, 2, "classify timed out after 1 s")
    assert seconds < 60
    [failed] = store.messages(failed=True)
    assert failed["subject"] == "CAASPP notice"  # it was parsed: what is known of it is kept


def test_a_parse_over_the_time_limit_is_archived_with_the_reason(store):
    raws = _imap_messages("SLOW-PARSE", "two", "three")
    report, _ = _ingest_within(store, raws, parser=parse_slowly)
    _assert_recorded_and_passed(store, report, raws, 1, "parse timed out after 1 s")


def test_a_classify_over_the_memory_limit_is_archived_with_the_reason(store):
    raws = _imap_messages("one", "two", "GREEDY")
    # time enough that the memory limit, not the clock, stops it on a loaded machine
    report, _ = _ingest_within(store, raws, budget=ReadBudget(seconds=60, memory_mb=256),
                               classifier=classify_greedily)
    _assert_recorded_and_passed(store, report, raws, 3, "classify exceeded 256 MB")


def test_a_read_stuck_in_one_c_call_is_stopped(tmp_path):
    from caltac_inbox.store.writer import open_store

    with open_store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        raws = _imap_messages("one", "STUCK", "three")
        report, seconds = _ingest_within(store, raws, parser=parse_stuck_in_c)
        _assert_recorded_and_passed(store, report, raws, 2, "timed out after 1 s (the worker process reading it "
                                                            "was stopped")
    assert seconds < 60


def test_the_budget_holds_through_the_command_line(run, tmp_path, monkeypatch):  # noqa: F811
    import caltac_inbox.pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_parser", lambda: fake_parse)
    monkeypatch.setattr(pipeline, "default_classifier", lambda: classify_slowly)
    for i, body in enumerate(("one", "SLOW-CLASSIFY", "three")):
        (tmp_path / f"{i}.eml").write_bytes(make_eml(message_id=f"<{i}@x>", body=body, facts=[DOWNTIME]))
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run("--db", url, "ingest", "--time-limit", "1", *(tmp_path / f"{i}.eml" for i in range(3)))
    assert result.exit_code == 1 and "3 new" in result.stdout and "1 failed to parse" in result.stdout
    assert "1.eml: classify timed out after 1 s" in result.stderr
    failed = run("--db", url, "messages", "--failed", "--csv").output
    assert "classify timed out after 1 s" in failed
    # reparse keeps to the budget as well
    again = run("--db", url, "reparse", "--time-limit", "1")
    assert again.exit_code == 1 and "classify timed out after 1 s" in again.stderr


@pytest.mark.parametrize("option, value", [("--time-limit", "0"), ("--memory-limit", "0"), ("--time-limit", "1e9")])
def test_budget_options_are_checked(run, tmp_path, option, value):  # noqa: F811
    result = run("--db", f"sqlite:///{tmp_path / 'x.db'}", "ingest", option, value, tmp_path)
    assert result.exit_code == 2 and option in result.stderr


def test_nothing_to_read_starts_no_process(store, monkeypatch):
    import caltac_inbox.workers as workers

    started = []
    for name in ("ProcessPoolExecutor", "_Isolation"):
        monkeypatch.setattr(workers, name, lambda *a, **k: started.append(1) or pytest.fail("a process started"))
    from caltac_inbox.sources.files import SourceError

    report = ingest(store, [], parser=fake_parse, classifier=fake_classify)
    assert report.fetched == 0
    report = ingest(store, [SourceError("x", "unreadable"), RawMessage(b"x" * 100, "big.eml")],
                    parser=fake_parse, classifier=fake_classify, max_size=10)
    assert report.failed == 1 and started == []


def test_extract_keeps_to_the_budget_too(run, tmp_path, monkeypatch):  # noqa: F811
    import caltac_inbox.pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_parser", lambda: parse_slowly)
    monkeypatch.setattr(pipeline, "default_classifier", lambda: fake_classify)
    for i, body in enumerate(("SLOW-PARSE", "two")):
        (tmp_path / f"{i}.eml").write_bytes(make_eml(message_id=f"<{i}@x>", body=body, facts=[DOWNTIME]))
    result = run("extract", "--time-limit", "1", "--json", tmp_path)
    assert result.exit_code == 1 and "0.eml: parse timed out after 1 s" in result.stderr
    assert len(result.stdout.splitlines()) == 2  # the other message is still extracted


@pytest.mark.dovecot
def test_a_poll_archives_a_message_over_the_budget_and_moves_on(tmp_path, dovecot):  # noqa: F811
    """The real poller against Dovecot, with [limits] from the configuration file and a
    classifier that hangs on one message (injected into the CLI process)."""
    import json
    import subprocess
    import sys

    from tests.system.test_imap_dovecot import Poller

    poller = Poller(tmp_path, dovecot)
    poller.config_file.write_text(dovecot.mailbox_toml() + "[limits]\nmessage_seconds = 1\n")
    dovecot.append([make_eml(message_id=f"<p{i}@info.ets.org>", body=body, facts=[DOWNTIME])
                    for i, body in enumerate(("one", "SLOW-CLASSIFY", "three"))])
    cli = ("import caltac_inbox.pipeline as p; from tests.system import test_budget as b; "
           "p.default_classifier = lambda: b.classify_slowly; from caltac_inbox.cli import main; main()")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", cli, "poll", "--json"], env=poller.env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert time.monotonic() - started < 60
    report = json.loads(done.stdout)
    assert done.returncode == 1 and (report["new"], report["errors"]) == (3, 1), (done.stdout, done.stderr)
    assert ";uid=2: classify timed out after 1 s" in done.stderr
    assert poller.query("SELECT last_uid FROM imap_state") == [(3,)]  # moved past it
    assert poller.query("SELECT parse_error FROM messages WHERE parse_status = 'failed'") == [
        ("classify timed out after 1 s",)]
    again = subprocess.run([sys.executable, "-c", cli, "poll", "--json"], env=poller.env, capture_output=True,
                           text=True, timeout=120, cwd=tmp_path)
    assert json.loads(again.stdout)["fetched"] == 0  # not fetched again: the poll is not stuck on it
