"""PostgreSQL: the read queries and the incremental refresh's queries have an index to
use (EXPLAIN with sequential scans priced out shows none on the big tables), and an
ingest that changed a good part of a table leaves it analyzed."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.store.writer import Store, open_store
from caltac_inbox.store import read
from caltac_inbox.store.incremental import _scope_condition
from caltac_inbox.store.schema import EntryRow, EntrySourceRow, FactRow
from caltac_inbox.timeline.time import LOS_ANGELES, instant
from tests.conftest import pg_database
from tests.fakes import fake_classify, fake_parse, make_eml

pytestmark = pytest.mark.postgres
BIG_TABLES = ("entries", "facts", "entry_sources", "messages", "corrections", "timeline_pending")


def _notices(count: int) -> list[RawMessage]:
    first = date(2021, 1, 4)
    out = []
    for n in range(count):
        day = first + timedelta(days=n)
        facts = [{"kind": "deadline", "program": "CAASPP", "due": day.isoformat(), "action": f"task {n}"},
                 {"kind": "downtime", "program": "ELPAC", "start": day.isoformat(),
                  "end": (day + timedelta(days=1)).isoformat(), "systems": ["TOMS"]}]
        out.append(RawMessage(make_eml(message_id=f"<p{n}@x>", facts=[{**f, "evidence": "e"} for f in facts],
                                       body=f"notice {n}"), f"p{n}.eml"))
    return out


@pytest.fixture(scope="module")
def filled() -> Any:
    with pg_database() as url:
        store = open_store(url)
        ingest(store, _notices(300), parser=fake_parse, classifier=fake_classify, workers=0)
        yield store
        store.close()


def _plan(store: Store, sql: str, params: dict[str, Any] | None = None) -> str:
    with store.engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        return "\n".join(row[0] for row in conn.execute(sa.text("EXPLAIN " + sql), params or {}))


def _compiled(store: Store, statement: Any) -> str:
    return str(statement.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))


def _no_scan(plan: str) -> None:
    scanned = [t for t in BIG_TABLES if f"Seq Scan on {t} " in plan + " "]
    assert not scanned, plan


def test_the_read_queries_use_indexes(filled: Store) -> None:
    lower = instant(date(2021, 3, 1))
    for kinds, mailbox in (((), None), (("deadline",), None), ((), "district")):
        sql, params = read._entries_query(kinds, mailbox, include_cancelled=False, lower=lower,
                                          upper=lower + timedelta(days=60))
        _no_scan(_plan(filled, sql, params))
    sql, params = read._entries_query((), None, include_cancelled=True, lower=lower, upper=None)
    _no_scan(_plan(filled, sql, params))  # a feed's horizon: everything from a day on
    _no_scan(_plan(filled, f"SELECT {read.ENTRY_COLUMNS} FROM entries e WHERE e.uid = :uid", {"uid": "x"}))
    _no_scan(_plan(filled, "SELECT es.entry_id, f.id, f.evidence, m.subject FROM entry_sources es "
                           "JOIN facts f ON f.id = es.fact_id JOIN messages m ON m.id = f.message_pk "
                           "WHERE es.entry_id IN (1, 2, 3)"))


def test_the_incremental_refresh_queries_use_indexes(filled: Store) -> None:
    condition = _scope_condition({'["deadline", "2021-03-01"]'}, [(date(2021, 3, 1), date(2021, 3, 2), False), (date(2021, 4, 1), date(2021, 4, 2), True)])
    _no_scan(_plan(filled, _compiled(filled, sa.select(FactRow.id).where(condition))))
    entries = sa.select(EntrySourceRow.entry_id).join(FactRow, FactRow.id == EntrySourceRow.fact_id).where(condition)
    _no_scan(_plan(filled, _compiled(filled, sa.select(EntryRow.id).where(EntryRow.id.in_(entries)))))
    _no_scan(_plan(filled, _compiled(filled, sa.select(EntryRow.id).where(EntryRow.uid.in_(["a", "b"])))))
    _no_scan(_plan(filled, _compiled(filled, sa.select(EntrySourceRow.entry_id).where(EntrySourceRow.fact_id.in_([1, 2])))))
    _no_scan(_plan(filled, "SELECT scope FROM timeline_pending WHERE scope <> '*' LIMIT 1"))


def test_an_ingest_that_changes_much_of_a_table_analyzes_it() -> None:
    with pg_database() as url:
        store = open_store(url)
        try:
            ingest(store, _notices(40), parser=fake_parse, classifier=fake_classify, workers=0)

            def analyzed() -> dict[str, datetime | None]:
                with store.engine.connect() as conn:
                    return dict(conn.execute(sa.text("SELECT relname, last_analyze FROM pg_stat_user_tables")).all())

            first = analyzed()
            assert all(first[t] is not None for t in ("messages", "facts", "entries", "entry_sources"))
            ingest(store, _notices(41)[40:], parser=fake_parse, classifier=fake_classify, workers=0)
            assert analyzed()["facts"] == first["facts"]  # one notice in 41: 2.4 %, not analyzed again
            ingest(store, _notices(60)[41:], parser=fake_parse, classifier=fake_classify, workers=0)
            assert analyzed()["facts"] > first["facts"].astimezone(LOS_ANGELES)
        finally:
            store.close()
