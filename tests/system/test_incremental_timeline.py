"""The incremental timeline (store.incremental) gives exactly what the full replay gives.

Two stores receive the same random history of ingests (notices sent in any order,
forwards of earlier ones), reparses that change a notice's facts, and corrections
(dismiss, correct, add, undo); one refreshes only what each step marked pending, the
other replays every stored fact after each step. Their entries, sources, recorded
changes, corrections and calendars are byte-identical, and a full rebuild of the
incremental store changes nothing.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from caltac_inbox.model import Fact, RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.store import corrections, write
from caltac_inbox.store.schema import MessageRow
from caltac_inbox.store.writer import Store, open_store
from tests import queries
from tests.fakes import fake_classify, fake_parse, make_eml

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
FIRST = date(2021, 3, 1)
# days close enough to restate, extend, reschedule or cancel each other, and far ones
OFFSETS = (0, 1, 3, 20, 44, 47, 95, 300)
PROGRAMS: tuple[Any, ...] = (None, "CAASPP", "ELPAC", ["CAASPP", "ELPAC"])
SYSTEMS = ([], ["TOMS"], ["ORS"], ["TOMS", "ORS"])
ACTIONS = ("submit the plan", "submit the test plan", "order materials", "verify enrollment")


def _day(offset: int) -> date:
    return FIRST + timedelta(days=offset)


@st.composite
def downtimes(draw: st.DrawFn) -> dict[str, Any]:
    start = _day(draw(st.sampled_from(OFFSETS)))
    end = start + timedelta(days=draw(st.sampled_from((0, 2, 30))))
    timed = draw(st.booleans())
    fact: dict[str, Any] = {
        "kind": "downtime", "program": draw(st.sampled_from(PROGRAMS)), "systems": draw(st.sampled_from(SYSTEMS)),
        "start": f"{start.isoformat()}T17:00:00-08:00" if timed else start.isoformat(),
        "end": f"{end.isoformat()}T08:00:00-08:00" if timed else end.isoformat(),
        "status": draw(st.sampled_from(("scheduled", "scheduled", "extended", "rescheduled", "cancelled"))),
    }
    if fact["status"] in ("extended", "cancelled") and draw(st.booleans()):
        fact.pop("start")
    return fact


@st.composite
def dated_facts(draw: st.DrawFn) -> dict[str, Any]:
    due = _day(draw(st.sampled_from(OFFSETS))).isoformat()
    program = draw(st.sampled_from(PROGRAMS))
    year = draw(st.sampled_from(("2020-21", "2021-22", None)))
    return draw(st.sampled_from([
        {"kind": "deadline", "program": program, "due": due, "action": draw(st.sampled_from(ACTIONS))},
        {"kind": "designation", "program": program, "due": due, "school_year": year},
        {"kind": "credential", "program": program, "school_year": year or "2021-22",
         **({"due": due} if draw(st.booleans()) else {})},
        {"kind": "retention", "program": program, "at": due, "data": "score files",
         "system": draw(st.sampled_from((None, "TOMS")))},
    ]))


facts = st.lists(st.one_of(downtimes(), downtimes(), dated_facts()), min_size=0, max_size=3)
WINDOW = {"kind": "downtime", "program": "CAASPP", "systems": ["TOMS"], "start": "2021-03-01", "end": "2021-03-03",
          "status": "scheduled"}
# an extension and a reschedule whose days are weeks from the window's: one group all the same
EXTENDED = {**WINDOW, "end": "2021-03-30", "status": "extended"}
MOVED = {**WINDOW, "start": "2021-04-10", "end": "2021-04-11", "status": "rescheduled"}
steps = st.lists(st.one_of(
    st.tuples(st.just("ingest"), facts, st.integers(0, 400), st.integers(0, 3)),
    st.tuples(st.just("reparse"), st.integers(0, 50), facts),
    st.tuples(st.just("correct"), st.integers(0, 50), st.sampled_from(("dismiss", "correct", "add", "undo"))),
), min_size=1, max_size=9)


class _History:
    """Applies the steps to one store; `full` replays everything at every refresh."""

    def __init__(self, store: Store, full: bool, monkeypatch: pytest.MonkeyPatch) -> None:
        self.store, self.full, self.monkeypatch = store, full, monkeypatch
        self.serial = 0
        self.fell_back = 0  # incremental refreshes that gave way to the full replay

    @contextlib.contextmanager
    def _mode(self) -> Iterator[None]:
        with self.monkeypatch.context() as patch:
            if self.full:
                patch.setattr(write, "refresh_pending_scopes", lambda *a, **k: None)
            else:
                patch.setattr(write, "refresh_pending_scopes", self._counting(write.refresh_pending_scopes))
            patch.setattr(write, "utcnow", lambda: NOW)
            patch.setattr(corrections, "datetime", _FixedClock)
            yield

    def _counting(self, refresh: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            done = refresh(*args, **kwargs)
            self.fell_back += done is None
            return done
        return counted

    def apply(self, step: tuple[Any, ...]) -> None:
        with self._mode():
            getattr(self, "_" + step[0])(*step[1:])

    def _ingest(self, found: list[dict[str, Any]], minutes: int, copy_of: int) -> None:
        self.serial += 1
        # a forward of an earlier notice keeps its Message-ID and sent date
        number = self.serial - copy_of if 0 < copy_of < self.serial else self.serial
        sent = datetime(2021, 1, 1, tzinfo=timezone.utc) + timedelta(hours=7 * number + minutes * (copy_of == 0))
        raw = make_eml(message_id=f"<n{number}@x>", sent=sent, facts=[{**f, "evidence": f"e{self.serial}"} for f in found],
                       body=f"copy {self.serial}")
        ingest(self.store, [RawMessage(raw, f"m{self.serial}.eml")], parser=fake_parse, classifier=fake_classify,
               workers=0)

    def _reparse(self, which: int, found: list[dict[str, Any]]) -> None:
        with self.store.session() as s:
            pks = s.execute(sa.select(MessageRow.id).order_by(MessageRow.id)).scalars().all()
            if not pks:
                return
            new = [Fact.from_json({**f, "evidence": "reparsed"}) for f in found]
            write.replace_facts(s, pks[which % len(pks)], new, mailbox=None, unverified=False)
            write.facts_changed(s)
        self.store.refresh_timeline()

    def _correct(self, which: int, action: str) -> None:
        with self.store.session() as s:
            uids = s.execute(sa.text("SELECT uid, kind FROM entries ORDER BY uid")).all()
            made = s.execute(sa.text("SELECT id FROM corrections WHERE state = 'active' ORDER BY id")).scalars().all()
            if action == "undo":
                if made:
                    corrections.undo(s, made[which % len(made)])
            elif action == "add":
                corrections.add_correction(s, target="", action="add", made_by="t", mailbox=None, new_values={
                    "kind": "deadline", "due": _day(OFFSETS[which % len(OFFSETS)]).isoformat(), "action": "call"})
            elif uids:
                uid, kind = uids[which % len(uids)]
                values = ({"due": _day(which).isoformat()} if kind != "downtime"
                          else {"end": _day(which + 400).isoformat()})
                corrections.add_correction(s, target=uid, action=action, made_by="t", mailbox=None,
                                           new_values=values if action == "correct" else {},
                                           old_values={}, basis_sent=datetime(2021, 1, 2, tzinfo=timezone.utc))
        self.store.refresh_timeline()


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> "_FixedClock":  # type: ignore[override]
        return cls.fromtimestamp(NOW.timestamp(), tz)


def _state(store: Store) -> dict[str, Any]:
    tables = {
        "entries": "SELECT * FROM entries ORDER BY id",
        "entry_sources": "SELECT * FROM entry_sources ORDER BY entry_id, fact_id",
        "changes": "SELECT run_id, generation, uid, kind, change, summary, before, after FROM timeline_changes "
                   "ORDER BY id",
        "corrections": "SELECT id, target, state, superseded_by FROM corrections ORDER BY id",
        "state": "SELECT generation, facts_generation = timeline_generation FROM timeline_state",
        "pending": "SELECT scope FROM timeline_pending WHERE scope <> '*'",
    }
    with store.engine.connect() as conn:
        out: dict[str, Any] = {name: [tuple(row) for row in conn.execute(sa.text(sql))] for name, sql in tables.items()}
    out["timeline"] = json.dumps(queries.timeline(store, include_dismissed=True), sort_keys=True, default=str)
    out["calendar"] = queries.calendar(store)
    return out


@settings(max_examples=40, deadline=None, report_multiple_bugs=False, phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(history=steps)
@example(history=[("ingest", [WINDOW], 0, 0), ("ingest", [EXTENDED], 5, 0), ("correct", 0, "correct"),
                  ("ingest", [MOVED], 9, 0), ("reparse", 1, []), ("ingest", [WINDOW], 1, 3)])
def test_incremental_and_full_refresh_give_the_same_timeline(history: list[tuple[Any, ...]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with open_store(f"sqlite:///{Path(tmp) / 'inc.db'}") as inc, \
                open_store(f"sqlite:///{Path(tmp) / 'full.db'}") as full:
            histories = [_History(inc, False, monkeypatch), _History(full, True, monkeypatch)]
            for number, step in enumerate(history):
                for applied in histories:
                    applied.store.run_id = f"run{number}"
                    applied.apply(step)
            assert _state(inc) == _state(full)
            # a reparse that changed no fact (it says facts changed, not where) and a uid numbered
            # in the whole replay's order are the only reasons to replay everything here
            assert histories[0].fell_back <= sum(step[0] == "reparse" for step in history) + len(history) // 3
            with inc.session() as s:
                assert write.refresh_timeline(s, NOW, full=True).count == 0


def _deadline_notice(number: int, due: date, action: str = "submit the plan") -> RawMessage:
    fact = {"kind": "deadline", "program": "CAASPP", "due": due.isoformat(), "action": action, "evidence": "x"}
    return RawMessage(make_eml(message_id=f"<d{number}@x>", facts=[fact], body=f"notice {number}"), f"d{number}.eml")


def test_one_new_notice_reads_only_the_facts_of_its_group(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(store, [_deadline_notice(n, _day(3 * n)) for n in range(40)], parser=fake_parse,
           classifier=fake_classify, workers=0)
    loaded: list[int] = []
    load = write.load_sourced_facts
    monkeypatch.setattr(write, "load_sourced_facts", lambda s, where=None: loaded.append(len(found := load(s, where)))
                        or found)
    report = ingest(store, [_deadline_notice(99, _day(6), "submit the test plan")], parser=fake_parse,
                    classifier=fake_classify, workers=0)
    assert loaded == [2]  # the new fact and the one it restates, not the 41 stored
    assert report.new == 1
    [entry] = [e for e in queries.timeline(store) if e["due"] == _day(6).isoformat()]
    assert len(queries.show(store, entry["uid"])["sources"]) == 2
    with store.session() as s:
        assert write.refresh_timeline(s, full=True).count == 0


def test_a_correction_recomputes_its_entry_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(store, [_deadline_notice(n, _day(3 * n)) for n in range(10)], parser=fake_parse,
           classifier=fake_classify, workers=0)
    [entry] = [e for e in queries.timeline(store) if e["due"] == _day(9).isoformat()]
    loaded: list[int] = []
    load = write.load_sourced_facts
    monkeypatch.setattr(write, "load_sourced_facts", lambda s, where=None: loaded.append(len(found := load(s, where)))
                        or found)
    with store.session() as s:
        corrections.add_correction(s, target=entry["uid"], action="dismiss", made_by="t", mailbox=None)
    assert store.refresh_timeline().count == 1 and loaded == [1]
    assert entry["uid"] not in {e["uid"] for e in queries.timeline(store)}


def test_facts_from_before_the_migration_get_their_scope_from_one_full_rebuild(store: Store) -> None:
    ingest(store, [_deadline_notice(n, _day(3 * n)) for n in range(5)], parser=fake_parse,
           classifier=fake_classify, workers=0)
    with store.engine.begin() as conn:  # what migration 0013 finds and leaves
        conn.execute(sa.text("UPDATE facts SET scope = NULL"))
        conn.execute(sa.text("INSERT INTO timeline_pending (scope, span_first, span_last) VALUES ('*', '', '')"))
    assert not store.timeline_behind()
    ingest(store, [_deadline_notice(7, _day(60))], parser=fake_parse, classifier=fake_classify, workers=0)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM facts WHERE scope IS NULL")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM timeline_pending")).scalar_one() == 0
    assert len(queries.timeline(store)) == 6


def test_db_rebuild_timeline_replays_everything(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from caltac_inbox.cli import main

    url = f"sqlite:///{tmp_path / 'x.db'}"
    with open_store(url) as store:
        ingest(store, [_deadline_notice(n, _day(3 * n)) for n in range(3)], parser=fake_parse,
               classifier=fake_classify, workers=0)
        with store.engine.begin() as conn:  # an entry that no fact stands for any more
            conn.execute(sa.text("DELETE FROM facts WHERE id = 1"))
    result = CliRunner().invoke(main, ["--db", url, "db", "rebuild-timeline"])
    assert result.exit_code == 0 and result.output == "timeline rebuilt: 1 entry changed\n"
    result = CliRunner().invoke(main, ["--db", url, "db", "rebuild-timeline"])
    assert result.output == "timeline rebuilt: 0 entries changed\n"


def test_a_long_chain_of_downtime_windows_is_one_group(store: Store) -> None:
    """Hundreds of windows, each extended into the next one's days: one group, read with a
    query of a few terms (SQLite refuses an expression of a thousand)."""
    notices = []
    for n in range(150):
        start = _day(10 * n)
        window = {"kind": "downtime", "program": "CAASPP", "systems": ["TOMS"], "start": start.isoformat(),
                  "end": (start + timedelta(days=1)).isoformat(), "status": "scheduled", "evidence": "w"}
        extension = {**window, "end": (start + timedelta(days=12)).isoformat(), "status": "extended"}
        notices.append(RawMessage(make_eml(message_id=f"<w{n}@x>", facts=[window, extension], body=f"w {n}"),
                                  f"w{n}.eml"))
    ingest(store, notices[:-1], parser=fake_parse, classifier=fake_classify, workers=0)
    ingest(store, notices[-1:], parser=fake_parse, classifier=fake_classify, workers=0)
    with store.session() as s:
        assert write.refresh_timeline(s, full=True).count == 0
