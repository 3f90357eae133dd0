"""reparse recomputes only what its messages' extraction changed: a reparse that changes
nothing marks no group and replays nothing (`reparse`, i.e. --failed), and one changed
fact changes exactly its entry. `reparse --all` still ends in the full replay its help
and the README promise (`db rebuild-timeline`)."""
from __future__ import annotations

import json
import os
from typing import Any

import pytest
import sqlalchemy as sa

from caltac_inbox.errors import ParseError
from caltac_inbox.model import Fact, RawMessage
from caltac_inbox.pipeline import ingest, reparse
from caltac_inbox.store import write
from tests.fakes import DESIGNATION, DOWNTIME, RETENTION, fake_classify, fake_parse, make_eml

FAKES = dict(parser=fake_parse, classifier=fake_classify)
CHANGED_ENV = "CALTAC_TEST_REPARSE_CHANGED"  # (set in the test) the classifier rewords one retention


def refusing_flaky(raw: bytes, source: str, authserv_ids: Any = ()) -> Any:
    """fake_parse, except that the message marked FLAKY fails to parse."""
    if b"FLAKY" in raw:
        raise ParseError(f"{source}: cannot read it today")
    return fake_parse(raw, source, authserv_ids)


def classify_rewording(notice: Any) -> tuple[Fact, ...]:
    """fake_classify; with $CALTAC_TEST_REPARSE_CHANGED set, the retention of the message
    it names says something else (same identity: a kept fact with new evidence)."""
    facts = fake_classify(notice)
    if os.environ.get(CHANGED_ENV) == notice.message_id:
        return tuple(f.with_changes(evidence="Files will be removed at 5 p.m.") if f.kind == "retention" else f
                     for f in facts)
    return facts


def _archive() -> list[RawMessage]:
    notices = [
        ("<d1@x>", "2020-07-01T09:00:00-07:00", [DOWNTIME]),
        ("<d2@x>", "2020-07-02T09:00:00-07:00", [DESIGNATION]),
        ("<r1@x>", "2020-07-03T09:00:00-07:00", [RETENTION]),
        ("<r2@x>", "2020-07-04T09:00:00-07:00", [{**RETENTION, "at": "2021-08-14T17:00:00-07:00"}]),
        ("<t1@x>", "2020-07-05T09:00:00-07:00", [{**DESIGNATION, "due": "2021-07-01", "school_year": "2021-22"}]),
    ]
    raws = [RawMessage(make_eml(message_id=mid, sent=sent, facts=facts, auth="dkim=pass"), f"{mid[1:3]}.eml")
            for mid, sent, facts in notices]
    flaky = make_eml(message_id="<f1@x>", sent="2020-07-06T09:00:00-07:00", body="FLAKY",
                     facts=[{**DOWNTIME, "start": "2021-01-04", "end": "2021-01-05"}], auth="dkim=pass")
    return [*raws, RawMessage(flaky, "f1.eml")]


def _timeline(store: Any) -> dict[str, tuple]:
    """Every entry as stored (with its sequence, updated_at and sources), by uid."""
    with store.session(readonly=True) as s:
        entries = s.execute(sa.text("SELECT id, uid, sequence, updated_at, content_hash, status, fields, history "
                                    "FROM entries")).all()
        sources = s.execute(sa.text("SELECT entry_id, fact_id FROM entry_sources")).all()
    linked: dict[int, list[int]] = {}
    for entry_id, fact_id in sources:
        linked.setdefault(entry_id, []).append(fact_id)
    return {e.uid: (e.sequence, str(e.updated_at), e.content_hash, e.status, json.dumps(e.fields, sort_keys=True),
                    json.dumps(e.history, sort_keys=True), sorted(linked.get(e.id, ())))
            for e in entries}


def _state(store: Any) -> tuple:
    with store.session(readonly=True) as s:
        return tuple(s.execute(sa.text("SELECT generation, facts_generation, timeline_generation, changed_at "
                                       "FROM timeline_state")).one())


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each full replay (store.write.refresh_all), and what was pending at each refresh."""
    calls: list[Any] = []
    replay = write.refresh_all

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return replay(*args, **kwargs)

    monkeypatch.setattr(write, "refresh_all", counted)
    return calls


@pytest.fixture
def pending_at_refresh(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The timeline_pending scopes each refresh found."""
    seen: list[list[str]] = []
    refresh = write.refresh_timeline

    def noting(session: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(sorted(session.execute(sa.text("SELECT scope FROM timeline_pending")).scalars()))
        return refresh(session, *args, **kwargs)

    monkeypatch.setattr(write, "refresh_timeline", noting)
    return seen


def test_a_reparse_that_changes_nothing_replays_nothing(store, replays, pending_at_refresh):
    ingest(store, _archive(), parser=refusing_flaky, classifier=fake_classify)
    assert [m["source"] for m in store.messages(failed=True)] == ["f1.eml"]
    before, state = _timeline(store), _state(store)
    replays.clear()
    pending_at_refresh.clear()
    report = reparse(store, parser=refusing_flaky, classifier=fake_classify)  # `reparse`: the failed one, again
    assert (report.messages, report.failed) == (1, 1)
    assert replays == [] and pending_at_refresh == [[]]
    assert _timeline(store) == before and _state(store) == state


def test_reparse_all_that_changes_nothing_marks_nothing_then_replays_as_documented(store, replays,
                                                                                   pending_at_refresh):
    ingest(store, _archive(), **FAKES)
    before = _timeline(store)
    replays.clear()
    pending_at_refresh.clear()
    report = reparse(store, failed_only=False, **FAKES)
    assert (report.messages, report.ok, report.facts_added, report.facts_removed) == (6, 6, 0, 0)
    assert pending_at_refresh == [[]]  # no group marked, nothing counted as changed
    assert replays == [1]  # `reparse --all` ends in the full replay (README, --help)
    assert _timeline(store) == before


def test_a_reparse_that_changes_one_fact_changes_exactly_its_entry(store, replays, pending_at_refresh, monkeypatch):
    ingest(store, _archive(), **FAKES)
    before = _timeline(store)
    pending_at_refresh.clear()
    monkeypatch.setenv(CHANGED_ENV, "<r2@x>")
    reparse(store, failed_only=False, parser=fake_parse, classifier=classify_rewording)
    [marked] = pending_at_refresh
    assert len(marked) == 1 and marked[0].startswith('["retention"')  # the one changed fact's group
    after = _timeline(store)
    changed = [uid for uid in before if after.get(uid) != before[uid]]
    assert set(after) == set(before) and len(changed) == 1
    sequence, _, _, _, fields, _, _ = after[changed[0]]
    assert sequence == before[changed[0]][0] + 1 and "5 p.m." in fields


def test_reparse_of_a_message_that_now_parses_adds_its_entry_incrementally(store, replays):
    ingest(store, _archive(), parser=refusing_flaky, classifier=fake_classify)
    before = _timeline(store)
    replays.clear()
    report = reparse(store, **FAKES)  # `reparse`: the failed message, which parses now
    assert (report.messages, report.ok, report.facts_added) == (1, 1, 1)
    assert replays == []
    after = _timeline(store)
    assert {uid: after[uid] for uid in before} == before and len(after) == len(before) + 1
