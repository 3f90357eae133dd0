"""Migration 0014 converts the history of the entries already stored, both ways: a
database from before it (history steps as the JSON text) reads the same after the
upgrade, and a downgrade gives back exactly that text. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from caltac_inbox.store import db, read
from caltac_inbox.store.schema import EntryRow
from caltac_inbox.timeline.entry import Change
from caltac_inbox.timeline.history import Window
from caltac_inbox.timeline.time import LOS_ANGELES as LA
from tests.system.test_store_contract import _fill


# steps as a database before 0014 holds them, with what each value is
OLD_STEPS = [
    ({"at": "2016-09-09T17:11:00-07:00", "change": "announced", "from": None,
      "to": "None to 2016-09-13T23:59:00-07:00 (TOMS, Path to Proficiency)", "message_id": "<a@cde>", "subject": "A"},
     None, Window(None, datetime(2016, 9, 13, 23, 59, tzinfo=LA), ("TOMS", "Path to Proficiency"))),
    ({"at": "2016-09-10T08:00:00-07:00", "change": "extended", "from": "2016-09-06",
      "to": "2016-09-13T23:59:00-07:00", "message_id": "<b@cde>", "subject": "B"},
     date(2016, 9, 6), datetime(2016, 9, 13, 23, 59, tzinfo=LA)),
    ({"at": None, "change": "rescheduled", "from": "2016-09-06 to 2016-09-07",
      "to": "2016-09-13T17:00:00-07:00 to None", "message_id": None, "subject": None},
     Window(date(2016, 9, 6), date(2016, 9, 7)), Window(datetime(2016, 9, 13, 17, tzinfo=LA), None)),
    ({"at": "2016-09-11T08:00:00-07:00", "change": "cancelled", "from": "extended", "to": "cancelled",
      "message_id": "<c@cde>", "subject": "C"}, "extended", "cancelled"),
    ({"at": "2016-09-12T08:00:00-07:00", "change": "restated", "from": "", "to": "2026-27",
      "message_id": "<d@cde>", "subject": "D"}, "", "2026-27"),
]


def _history(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {uid: history for uid, history in conn.execute(sa.select(EntryRow.uid, EntryRow.history))}


def _shown(engine: sa.Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return {uid: read.show(session, uid) for uid in _history(engine)}


def test_history_converts_both_ways_and_old_rows_read_the_same(db_url):
    _fill(db_url)
    engine = db.make_engine(db_url)
    try:
        typed, shown = _history(engine), _shown(engine)
        assert any(step["change"] == "extended" for steps in typed.values() for step in steps)
        assert all(isinstance(step["to"], dict) for steps in typed.values() for step in steps)

        db.downgrade(engine, "0013")
        # what a database before 0014 held: the text the JSON output shows
        assert _history(engine) == {uid: item["history"] for uid, item in shown.items()}
        odd = sorted(typed)[0]
        with engine.begin() as conn:
            conn.execute(sa.update(EntryRow).where(EntryRow.uid == odd).values(history=[s for s, _, _ in OLD_STEPS]))

        engine.dispose()
        db.connect(db_url).dispose()  # an old database is upgraded when it is opened
        after = _history(engine)
        assert {uid: h for uid, h in after.items() if uid != odd} == {uid: h for uid, h in typed.items() if uid != odd}
        assert [Change.from_stored(step) for step in after[odd]] == [
            Change(datetime.fromisoformat(s["at"]) if s["at"] else None, s["change"], before, to, s["message_id"],
                   s["subject"]) for s, before, to in OLD_STEPS]
        now_shown = _shown(engine)
        assert now_shown[odd]["history"] == [s for s, _, _ in OLD_STEPS]  # the JSON output as it was
        assert {u: i for u, i in now_shown.items() if u != odd} == {u: i for u, i in shown.items() if u != odd}

        db.downgrade(engine, "0013")
        assert _history(engine)[odd] == [s for s, _, _ in OLD_STEPS]
    finally:
        engine.dispose()
