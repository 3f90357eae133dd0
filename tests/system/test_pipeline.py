"""Pipeline: ingest/extract/reparse with stand-in parser and classifier, on both backends."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import extract, ingest, reparse
from caltac_inbox.sources.files import SourceError
from caltac_inbox.store.schema import EntryRow, FactRow, ImapMessageRow, MessageRow
from tests.fakes import DESIGNATION, DOWNTIME, RETENTION, fake_classify, fake_parse, make_eml
from tests import queries

FAKES = dict(parser=fake_parse, classifier=fake_classify)


def _raws():
    return [
        RawMessage(make_eml(message_id="<a@x>", facts=[DOWNTIME, DESIGNATION]), "a.eml"),
        RawMessage(make_eml(message_id="<b@x>", sent="2020-07-20T09:00:00-07:00", facts=[DOWNTIME, RETENTION]),
                   "b.eml"),
    ]


def _count(store, model) -> int:
    with store.session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_ingest_twice_stores_each_message_and_fact_once(store):
    first = ingest(store, _raws(), **FAKES)
    assert (first.fetched, first.new, first.duplicates, first.facts, first.errors) == (2, 2, 0, 4, [])
    second = ingest(store, _raws(), **FAKES)
    assert (second.fetched, second.new, second.duplicates, second.facts) == (2, 0, 2, 0)
    assert second.summary().startswith("nothing new stored")
    assert _count(store, MessageRow) == 2
    assert _count(store, FactRow) == 4


def test_same_fact_in_two_messages_is_one_entry_with_two_sources(store):
    ingest(store, _raws(), **FAKES)
    entries = queries.timeline(store)
    downtimes = [e for e in entries if e["kind"] == "downtime"]
    assert len(downtimes) == 1
    assert [s["message_id"] for s in downtimes[0]["sources"]] == ["<a@x>", "<b@x>"]
    assert {e["kind"] for e in entries} == {"downtime", "designation", "retention"}
    for e in entries:
        assert {"id", "uid", "status", "sources", "unverified"} <= set(e)


def test_entry_uids_are_stable_across_databases(tmp_path):
    from caltac_inbox.store.writer import open_store

    uids = []
    for name, order in (("one", _raws()), ("two", list(reversed(_raws())))):
        with open_store(f"sqlite:///{tmp_path / name}.db") as s:
            ingest(s, order, **FAKES)
            uids.append(sorted(e["uid"] for e in queries.timeline(s)))
    assert uids[0] == uids[1]


def test_queries_filter_by_date_kind_program_and_mailbox(store):
    raws = _raws()
    raws[1] = RawMessage(raws[1].raw, raws[1].source, mailbox="county")
    ingest(store, raws, **FAKES)
    soon = queries.upcoming(store, date(2020, 8, 1), days=30)
    assert {e["kind"] for e in soon} == {"downtime", "retention"}  # designation was due July 1
    assert [e["kind"] for e in queries.upcoming(store, date(2020, 8, 1), days=30, kinds=["retention"])] == ["retention"]
    assert {e["kind"] for e in queries.upcoming(store, date(2020, 8, 1), days=30, programs=["ELPAC"])} == {"retention"}
    assert queries.upcoming(store, date(2020, 6, 1), days=10) == []
    # an open window still shows after it started
    assert [e["kind"] for e in queries.upcoming(store, date(2020, 8, 17), days=1)] == ["downtime"]
    in_july = queries.timeline(store, date(2020, 7, 1), date(2020, 7, 31))
    assert [e["kind"] for e in in_july] == ["designation"]
    assert {e["kind"] for e in queries.timeline(store, mailbox="county")} == {"downtime", "retention"}
    assert queries.timeline(store, mailbox="nowhere") == []


def test_cancelled_entries_are_hidden_unless_asked(store):
    cancelled = dict(DOWNTIME, status="cancelled", start="2020-09-01T17:00:00-07:00",
                     end="2020-09-02T08:00:00-07:00", systems=["TDS"])
    ingest(store, [RawMessage(make_eml(facts=[cancelled]), "c.eml")], **FAKES)
    assert queries.upcoming(store, date(2020, 8, 25), days=30) == []
    assert queries.timeline(store) == []
    shown = queries.timeline(store, include_cancelled=True)
    assert [e["status"] for e in shown] == ["cancelled"]


def test_show_by_id_and_uid(store):
    ingest(store, _raws(), **FAKES)
    entry = queries.timeline(store, kinds=["designation"])[0]
    by_id = queries.show(store, str(entry["id"]))
    by_uid = queries.show(store, entry["uid"])
    assert by_id["uid"] == by_uid["uid"] == entry["uid"]
    assert by_id["history"] and by_id["evidence"] == "Designate by July 1."
    assert queries.show(store, "999999") is None


def test_parse_failure_is_archived_and_reparse_fixes_it_idempotently(store):
    broken = RawMessage(b"Subject: no sender\r\n\r\nhello", "bad.eml")
    report = ingest(store, [broken, *_raws()], **FAKES)
    assert report.failed == 1 and report.new == 3
    assert report.errors == [("bad.eml", "bad.eml: no From header; not a mail message")]
    failed = store.messages(failed=True)
    assert [m["source"] for m in failed] == ["bad.eml"]
    assert failed[0]["parse_error"].startswith("bad.eml: no From header")

    # still failing: reported again, nothing changes
    again = reparse(store, failed_only=True, **FAKES)
    assert (again.messages, again.failed) == (1, 1)

    def lenient_parse(raw, source):
        return fake_parse(b"From: someone@ets.org\r\n" + raw, source)

    fixed = reparse(store, failed_only=True, parser=lenient_parse, classifier=fake_classify)
    assert (fixed.messages, fixed.ok, fixed.failed) == (1, 1, 0)
    assert store.messages(failed=True) == []

    before = {e["uid"]: e for e in queries.timeline(store)}
    with store.session() as s:
        seq_before = dict(s.execute(sa.select(EntryRow.uid, EntryRow.sequence)).all())
    rerun = reparse(store, failed_only=False, **FAKES)
    assert (rerun.messages, rerun.facts_added, rerun.facts_removed) == (3, 0, 0)
    assert {e["uid"]: e for e in queries.timeline(store)} == before
    with store.session() as s:
        assert dict(s.execute(sa.select(EntryRow.uid, EntryRow.sequence)).all()) == seq_before


def test_reparse_replaces_changed_facts(store):
    ingest(store, _raws(), **FAKES)
    assert _count(store, FactRow) == 4

    def no_retention(notice):
        return tuple(f for f in fake_classify(notice) if f.kind != "retention")

    report = reparse(store, failed_only=False, parser=fake_parse, classifier=no_retention)
    assert report.facts_removed == 1
    assert {e["kind"] for e in queries.timeline(store)} == {"downtime", "designation"}


def test_accept_rejects_are_recorded_as_ignored_not_archived(store):
    imap = dict(mailbox="district", folder="INBOX", uidvalidity=11)
    raws = [
        RawMessage(make_eml(sender="spam@example.com", facts=[DOWNTIME]), "imap1", uid=1, **imap),
        RawMessage(make_eml(facts=[DESIGNATION]), "imap2", uid=2, **imap),
    ]
    report = ingest(store, raws, accept=lambda n: n.sender.endswith("ets.org"), **FAKES)
    assert (report.ignored, report.new, report.facts) == (1, 1, 1)
    assert _count(store, MessageRow) == 1
    with store.session() as s:
        rows = s.execute(sa.select(ImapMessageRow.uid, ImapMessageRow.status, ImapMessageRow.message_pk)
                         .order_by(ImapMessageRow.uid)).all()
    assert [(r.uid, r.status, r.message_pk is None) for r in rows] == [(1, "ignored", True), (2, "stored", False)]
    # recorded; the checkpoint moves only with the poll's Checkpoints (issue 25)
    assert queries.read_state(store, "imap_checkpoint", "district", "INBOX") == (None, 0)
    assert queries.read_state(store, "known_uids", "district", "INBOX", 11) == {1, 2}
    with store.session() as s:
        assert s.execute(sa.select(FactRow.mailbox)).scalars().all() == ["district"]


def test_oversize_messages_are_archived_but_not_parsed(store):
    raw = RawMessage(make_eml(facts=[DOWNTIME]), "big.eml", mailbox="m", folder="INBOX", uidvalidity=1, uid=9)
    report = ingest(store, [raw], max_size=100, **FAKES)
    assert report.new == 1 and report.failed == 1 and report.facts == 0
    assert len(report.errors) == 1 and "big.eml" in report.errors[0][1] and "size limit" in report.errors[0][1]
    with store.session() as s:
        [row] = s.execute(sa.select(MessageRow)).scalars().all()
        assert row.raw == raw.raw and row.parse_status == "skipped" and "size limit" in row.parse_error
    assert queries.read_state(store, "known_uids", "m", "INBOX", 1) == {9}  # recorded, so a poll moves on
    assert ingest(store, [raw], max_size=100, **FAKES).duplicates == 1


def test_unauthenticated_notice_marks_facts_unverified(store):
    raws = [RawMessage(make_eml(facts=[DESIGNATION], auth="dkim=fail"), "u.eml")]
    ingest(store, raws, **FAKES)
    [entry] = queries.timeline(store)
    assert entry["unverified"] is True


def test_source_errors_are_reported_and_not_counted_as_fetched(store):
    report = ingest(store, [SourceError("missing.eml", "no such file"), *_raws()], **FAKES)
    assert report.fetched == 2
    assert report.errors == [("missing.eml", "missing.eml: no such file")]


def test_extract_needs_no_database_and_keeps_input_order():
    items = [*_raws(), SourceError("nope", "not mail"), RawMessage(b"Subject: x\r\n\r\nhi", "bad.eml")]
    out = list(extract(items, **FAKES))
    assert [e.source for e in out] == ["a.eml", "b.eml", "nope", "bad.eml"]
    assert out[0].to_json()["kinds"] == ["designation", "downtime"]
    assert out[2].error == "nope: not mail" and out[2].to_json()["facts"] == []
    assert out[3].error.startswith("bad.eml: no From header")


def test_classifier_crash_keeps_the_message_for_reparse(store):
    def crash(notice):
        raise RuntimeError("boom")

    report = ingest(store, _raws()[:1], parser=fake_parse, classifier=crash)
    assert report.failed == 1 and "boom" in report.errors[0][1]
    assert reparse(store, failed_only=True, **FAKES).ok == 1


def test_interrupted_ingest_still_refreshes_the_timeline(store):
    import pytest

    def interrupted():
        yield _raws()[0]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(store, interrupted(), **FAKES)
    assert {e["kind"] for e in queries.timeline(store)} == {"downtime", "designation"}


# -- batches and worker processes ------------------------------------------------------------

MAIN_PID = __import__("os").getpid()


def parse_noting_pid(raw, source):
    """fake_parse, with the reading process's id as the subject."""
    import os

    notice = fake_parse(raw, source)
    return type(notice)(**{**notice.__dict__, "subject": str(os.getpid())})


def parse_dying_on_poison(raw, source):
    import os

    if b"poison" in raw and os.getpid() != MAIN_PID:
        os._exit(3)  # the worker process dies (a crash, the OOM killer), no exception
    return fake_parse(raw, source)


def _many(n: int, **kw) -> list[RawMessage]:
    return [RawMessage(make_eml(message_id=f"<m{i}@x>", facts=[DOWNTIME] if i % 2 else [DESIGNATION],
                                body=f"notice {i}", **kw), f"m{i}.eml") for i in range(n)]


def test_messages_commit_in_batches_that_start_small(store):
    commits = []
    sa.event.listen(store.engine, "commit", lambda conn: commits.append(1))
    seen = []

    def watching():
        for i, raw in enumerate(_many(250)):
            if i == 1:  # the first message is committed before the second is even read
                seen.append(_count(store, MessageRow))
            yield raw

    report = ingest(store, watching(), workers=0, **FAKES)
    assert report.new == 250 and seen == [1]
    assert len(commits) <= 12  # 1, 2, 4, ..., 100 messages per transaction (and the timeline's)


def test_a_message_whose_rows_cannot_be_stored_is_kept_with_the_reason_and_its_batch_commits(store):
    from caltac_inbox.model import Fact

    def classify_one_badly(notice):
        if "notice 4" in notice.text:  # 4 shares its transaction with 3, 5 and 6
            return (Fact(kind="deadline", evidence="x", due=date(2020, 7, 1), action=object()),)
        return fake_classify(notice)

    raws = _many(7)
    report = ingest(store, raws, parser=fake_parse, classifier=classify_one_badly)
    assert (report.new, report.failed, report.facts) == (7, 1, 6)
    assert report.errors == [("m4.eml", report.errors[0][1])] and "cannot store it" in report.errors[0][1]
    assert _count(store, MessageRow) == 7 and _count(store, FactRow) == 6
    [failed] = store.messages(failed=True)
    assert failed["source"] == "m4.eml" and "cannot store it: TypeError" in failed["parse_error"]


def test_workers_store_the_same_as_this_process_in_input_order(tmp_path):
    from caltac_inbox.store.writer import open_store

    results = []
    for workers in (0, 2):
        with open_store(f"sqlite:///{tmp_path / f'w{workers}.db'}") as s:
            heard = []
            report = ingest(s, _many(200), parser=parse_noting_pid, classifier=fake_classify, workers=workers,
                            progress=lambda done: heard.append((done.source, done.outcome)))
            rows = s.messages()
            results.append((report.to_json(), heard, [r["source"] for r in rows],
                            sorted(e["uid"] for e in queries.timeline(s))))
            readers = {int(r["subject"]) for r in rows}
            assert (readers == {MAIN_PID}) is (workers == 0)
    assert results[0] == results[1]
    assert results[0][1] == [(f"m{i}.eml", "new") for i in range(200)]


def test_a_worker_that_dies_fails_only_its_message(store):
    raws = _many(120)
    raws[100] = RawMessage(raws[100].raw.replace(b"notice 100", b"poison"), "m100.eml")
    report = ingest(store, raws, parser=parse_dying_on_poison, classifier=fake_classify, workers=2)
    assert (report.new, report.failed) == (120, 1)
    assert report.errors[0][0] == "m100.eml" and "worker process reading it died" in report.errors[0][1]
    assert [m["source"] for m in store.messages(failed=True)] == ["m100.eml"]
