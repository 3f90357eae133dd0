"""reconcile's indexed scan of live downtime windows (`_Replay.live`) against the scan it
replaced, kept here as the oracle: every downtime filtered in creation order."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caltac_inbox.model import Fact
from caltac_inbox.timeline import reconcile as reconcile_module
from caltac_inbox.timeline.entry import SourcedFact
from caltac_inbox.timeline.kinds import programs_compatible
from caltac_inbox.timeline.reconcile import reconcile

LA = ZoneInfo("America/Los_Angeles")
FIRST = date(2020, 3, 1)
SYSTEMS = ((), ("TOMS",), ("TOMS", "ORS"), ("ORS",), ("ALL",), ("TDS",))
PROGRAMS = ((), ("CAASPP",), ("ELPAC",), ("CAASPP", "ELPAC"))


def old_live(working: Any, f: Fact, status: str) -> list[Any]:
    """The scan before the index: every downtime, filtered (quadratic in a group's downtimes)."""
    return [w for w in working.downtimes if w.status != "cancelled"
            and programs_compatible(w.fact, f) and reconcile_module._systems_overlap(w.fact, f)]


def with_old_scan(facts: list[SourcedFact], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    with monkeypatch.context() as patched:
        patched.setattr(reconcile_module._Replay, "live", old_live)
        return reconcile(facts)


def _when(day: int, minutes: int | None, zone: Any) -> date | datetime:
    """A day after FIRST, as a date or (minutes given) a time that day: in Los Angeles,
    in UTC (another offset for the same instants) or, rarely, naive."""
    value = FIRST + timedelta(days=day)
    if minutes is None:
        return value
    moment = datetime(value.year, value.month, value.day, tzinfo=LA) + timedelta(minutes=minutes)
    return moment.astimezone(zone) if zone is not None else moment.replace(tzinfo=None)


@st.composite
def whens(draw: st.DrawFn, around: int) -> date | datetime:
    day = max(0, around + draw(st.integers(-50, 50)))
    minutes = draw(st.one_of(st.none(), st.sampled_from((0, 17 * 60, 23 * 60 + 59, 24 * 60 - 1))))
    zone = draw(st.sampled_from((LA, LA, ZoneInfo("UTC"), None)))
    return _when(day, minutes, zone)


@st.composite
def downtime_notices(draw: st.DrawFn, count: int) -> list[SourcedFact]:
    """A group of downtimes a few days apart, most of them extensions, reschedules and
    cancellations of each other (same or near days, both precisions)."""
    out = []
    for i in range(count):
        around = draw(st.integers(0, 120))
        status = draw(st.sampled_from(("scheduled", "extended", "extended", "rescheduled", "cancelled", None)))
        start = draw(st.one_of(st.none(), whens(around))) if status in ("extended", "cancelled") \
            else draw(whens(around))
        end = draw(st.one_of(st.none(), whens(around + draw(st.integers(0, 45)))))
        fact = Fact(kind="downtime", evidence=f"window {i}", program=draw(st.sampled_from(PROGRAMS)),
                    start=start, end=end, systems=draw(st.sampled_from(SYSTEMS)), status=status)
        sent = datetime(2020, 1, 1, tzinfo=LA) + timedelta(hours=draw(st.integers(0, 24 * 150)))
        out.append(SourcedFact(fact=fact, fact_id=i + 1, message_pk=i + 1, message_id=f"<n{i}@x>",
                               subject=f"notice {i}", sent=sent, unverified=draw(st.booleans()) and i % 3 == 0))
    return out


@pytest.mark.slow  # 300 random groups replayed twice (about 12 s): make test runs it
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 40).flatmap(downtime_notices))
def test_indexed_scan_gives_what_the_full_scan_gave(monkeypatch: pytest.MonkeyPatch,
                                                    notices: list[SourcedFact]) -> None:
    assert reconcile(notices) == with_old_scan(notices, monkeypatch)


def test_the_oracle_differs_from_a_scan_that_misses_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: a scan that finds no live window loses the extension."""
    window = Fact(kind="downtime", evidence="w", program=("CAASPP",), start=date(2020, 5, 1), end=date(2020, 5, 3),
                  systems=("TOMS",), status="scheduled")
    extension = Fact(kind="downtime", evidence="e", program=("CAASPP",), end=date(2020, 5, 10),
                     systems=("TOMS",), status="extended")
    notices = [SourcedFact(fact=window, message_id="<a@x>", sent=datetime(2020, 4, 1, tzinfo=LA)),
               SourcedFact(fact=extension, message_id="<b@x>", sent=datetime(2020, 5, 2, tzinfo=LA))]
    with monkeypatch.context() as patched:
        patched.setattr(reconcile_module._Replay, "live", lambda working, f, status: [])
        blind = reconcile(notices)
    assert reconcile(notices) == with_old_scan(notices, monkeypatch) != blind


@pytest.mark.slow  # a 300-window chain replayed by both scans (about 4 s): make test runs it
def test_a_chain_of_extensions_every_few_days_matches_the_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shape that was quadratic (bench/run.py's history): a window every few days, each
    extended, every extension reaching the windows before it."""
    notices = []
    for i in range(300):
        day = FIRST + timedelta(days=3 * i)
        sent = datetime(2019, 1, 1, tzinfo=LA) + timedelta(days=3 * i)
        notices.append(SourcedFact(
            fact=Fact(kind="downtime", evidence=f"w{i}", program=("CAASPP",), start=day, end=day + timedelta(days=2),
                      systems=("TOMS",), status="scheduled"), message_id=f"<w{i}@x>", sent=sent))
        notices.append(SourcedFact(
            fact=Fact(kind="downtime", evidence=f"e{i}", program=("CAASPP",), end=day + timedelta(days=9),
                      systems=("TOMS", "ORS"), status="extended"),
            message_id=f"<e{i}@x>", sent=sent + timedelta(hours=1)))
    assert reconcile(notices) == with_old_scan(notices, monkeypatch)
