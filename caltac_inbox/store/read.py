"""Every read query of the store, written once in plain SQL.

`source` is a SQLAlchemy Session (SQLite or PostgreSQL: the store's own path), the stdlib
sqlite3 connection of `store.light.open_sqlite_reader` (an existing SQLite file read
without importing SQLAlchemy) or a `PostgresSource` of store.light's PostgreSQL reader
(a database at the schema head, read with store.libpq or psycopg); all give the same
results. The queries take `:name` parameters; `rows` binds them for each driver, the one place
that knows their differences. Without SQLAlchemy's column types, values come back as
the driver has them, which `_instant`, `_json` and `_flag` accept in every form. The model and the timeline
package are imported by the timeline queries only: a poll that finds nothing new reads
its checkpoint here and imports neither.

The source's state:
- `imap_checkpoint`, `uidvalidity_changes`, `known_uids`, `recorded_by_message_id`
- `generations`, `timeline_behind`: whether the timeline is behind the stored facts
- `list_messages`, `archived_sizes`

The timeline (Entry JSON dicts: the docs/facts.md fields of the entry plus `id`, `uid`,
`status`, `sources` (list of {message_id, subject, sent}), `unverified`):
- `upcoming(source, as_of, days=60, kinds=(), programs=(), mailbox=None) -> list[dict]`
- `timeline(source, from_=None, to=None, kinds=(), programs=(), include_cancelled=False,
  mailbox=None) -> list[dict]`
- `timeline_entries(...)`: the same selection as `timeline.entry.Entry` objects (with id,
  sequence, updated_at); `iter_timeline_entries(...)` yields them in the same order a
  batch of rows at a time, for the .ics export (export.ics.calendar_stream)
- `show(source, entry_id_or_uid) -> dict | None`: adds `sequence`, `needs_review`,
  `history`, `updated_at` and `source_details` (every source fact with its evidence
  and notice)
- `timeline_version(source) -> (generation, changed_at)`: bumped by every refresh that
  changed an entry or its sources (the calendar feed's ETag and Last-Modified).

An entry covers a span (`timeline.kinds.span`); a query range selects the entries whose
span overlaps it. Dates given to the queries are calendar days in America/Los_Angeles.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
import sqlite3
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, Union, cast, overload

if TYPE_CHECKING:
    import psycopg

    from caltac_inbox.store import libpq
    from sqlalchemy.orm import Session

    from caltac_inbox.timeline.entry import Entry, SourceRef


class PostgresSource:
    """A connection inside one read-only transaction (store.light's PostgreSQL reader): a
    row source without SQLAlchemy. `connection` is a store.libpq Connection (`libpq`
    true) or a psycopg 3 one; both run the same SQL and give the same values."""

    def __init__(self, connection: "psycopg.Connection[Any] | libpq.Connection", *, libpq: bool = False) -> None:
        self.connection = connection
        self.libpq = libpq


# What the read queries run on: the store's Session, or one of store.light's readers.
RowSource = Union["Session", sqlite3.Connection, PostgresSource]

CANCELLED = "cancelled"
DISMISSED = "dismissed"  # timeline.corrections.DISMISSED: hidden unless asked for
# How far an entry's span can reach past its key_at (or a downtime's end_at): a
# checklist month (31 days) plus a DST hour, rounded up. The SQL date preselection
# widens the range by this; `Entry.overlaps` stays the exact test.
SPAN_REACH = timedelta(days=32)
# Every read query joins at most this many ids into one IN list (SQLite limits bound
# parameters; 500 stays far below every version's limit).
ID_CHUNK = 500
# The run_id prefix of the timeline changes a coordinator's correction made (cli.corrections):
# `changes --since last-poll` skips them.
CORRECTION_RUN = "correction-"


# ----------------------------------------------------------------------------- rows


def _dialect(source: RowSource) -> str:
    if isinstance(source, sqlite3.Connection):
        return "sqlite"
    if isinstance(source, PostgresSource):
        return "postgresql"
    return source.get_bind().dialect.name


def rows(source: RowSource, sql: str, params: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
    """The rows of `sql` as mappings (column name -> value); datetime parameters are
    bound the way the store writes timestamps on that backend."""
    params = params or {}
    if _dialect(source) == "sqlite":
        params = sqlite_params(params)
    if isinstance(source, sqlite3.Connection):
        cursor = source.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if isinstance(source, PostgresSource):
        names, found = _postgres_rows(source, sql, params)
        return [dict(zip(names, row, strict=True)) for row in found]
    from sqlalchemy import text

    return cast(list[Mapping[str, Any]], list(source.execute(text(sql), params).mappings()))


# A `:name` parameter as SQLAlchemy's text() finds it (not a `::type` cast, not `\\:`).
_NAMED_PARAMETER = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@functools.lru_cache(maxsize=256)
def pyformat_sql(sql: str) -> str:
    """`sql` with its `:name` parameters in psycopg's `%(name)s` style (a literal % doubled),
    bound as SQLAlchemy's text() binds them on the store's path."""
    return _NAMED_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


@functools.lru_cache(maxsize=256)
def dollar_sql(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with its `:name` parameters numbered as libpq binds them (`$1`, a name used
    twice keeps its number), and the names in that order."""
    order: dict[str, int] = {}

    def number(found: re.Match[str]) -> str:
        return f"${order.setdefault(found.group(1), len(order) + 1)}"

    return _NAMED_PARAMETER.sub(number, sql), tuple(order)


Rows = tuple[list[str], list[tuple[Any, ...]]]


def _postgres_rows(source: PostgresSource, sql: str, params: Mapping[str, Any]) -> Rows:
    """(column names, rows) of `sql` on store.light's reader, through either driver."""
    if source.libpq:
        text, order = dollar_sql(sql)
        return cast("libpq.Connection", source.connection).execute(text, [params[n] for n in order])
    found = cast("psycopg.Connection[Any]", source.connection).execute(pyformat_sql(sql), params)
    return [d.name for d in found.description or ()], found.fetchall()


_CURSOR_SERIAL = itertools.count(1)


def _postgres_batches(source: PostgresSource, sql: str, params: Mapping[str, Any]) -> Iterator[Rows]:
    """(column names, rows) of `sql` ID_CHUNK rows at a time, through a server-side cursor
    (unique, so two passes may be open at once)."""
    if source.libpq:
        text, order = dollar_sql(sql)
        yield from cast("libpq.Connection", source.connection).batches(text, [params[n] for n in order], ID_CHUNK)
        return
    connection = cast("psycopg.Connection[Any]", source.connection)
    with connection.cursor(name=f"caltac_rows_{next(_CURSOR_SERIAL)}") as server_cursor:
        server_cursor.execute(pyformat_sql(sql), params)
        names = [d.name for d in server_cursor.description or ()]
        while batch := server_cursor.fetchmany(ID_CHUNK):
            yield names, batch


def sqlite_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with each datetime as SQLite stores it (`sqlite_instant`)."""
    return {name: sqlite_instant(v) if isinstance(v, datetime) else v for name, v in params.items()}


def sqlite_instant(value: datetime) -> str:
    """How schema.Timestamp stores an instant on SQLite: naive UTC text with
    microseconds, whose text order is chronological (so comparisons use the indexes)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@overload
def _instant(value: datetime | str) -> datetime: ...
@overload
def _instant(value: datetime | str | None) -> datetime | None: ...
def _instant(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as an aware datetime: SQLite text is UTC (schema.Timestamp)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _json(value: Any) -> Any:
    """A JSON column: SQLite returns the text, psycopg the decoded value. (Our JSON
    columns hold objects, lists or null, never a bare string.)"""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _flag(value: Any) -> bool | None:
    """A boolean column: SQLite stores 0/1."""
    return None if value is None else bool(value)


def _in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """'(:prefix_0, :prefix_1, ...)' and its parameters (both drivers bind scalars only)."""
    names = [f"{prefix}_{i}" for i in range(len(values))]
    return "(" + ", ".join(f":{n}" for n in names) + ")", dict(zip(names, values, strict=True))


def _first(source: RowSource, sql: str, params: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
    found = rows(source, sql, params)
    return found[0] if found else None


# ----------------------------------------------------------------------------- source state


def imap_checkpoint(source: RowSource, mailbox: str, folder: str) -> tuple[int | None, int]:
    """(uidvalidity, last_uid) stored for the folder; (None, 0) when never polled."""
    row = _first(source, "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = :mailbox AND folder = :folder",
                 {"mailbox": mailbox, "folder": folder})
    return (None, 0) if row is None else (int(row["uidvalidity"]), int(row["last_uid"]))


def uidvalidity_changes(source: RowSource, mailbox: str, folder: str) -> int:
    """UIDVALIDITY changes since the folder was last scanned to the end unchanged."""
    row = _first(source, "SELECT uidvalidity_changes FROM imap_state WHERE mailbox = :mailbox AND folder = :folder",
                 {"mailbox": mailbox, "folder": folder})
    return 0 if row is None else int(row["uidvalidity_changes"] or 0)


def known_uids(source: RowSource, mailbox: str, folder: str, uidvalidity: int, above: int = 0) -> set[int]:
    """Every UID above `above` already recorded (stored, ignored or failed) under this UIDVALIDITY."""
    return {int(r["uid"]) for r in rows(
        source, "SELECT uid FROM imap_messages WHERE mailbox = :mailbox AND folder = :folder "
                "AND uidvalidity = :uidvalidity AND uid > :above",
        {"mailbox": mailbox, "folder": folder, "uidvalidity": uidvalidity, "above": above})}


def recorded_by_message_id(source: RowSource, mailbox: str,
                           message_ids: Sequence[str]) -> dict[tuple[str, int], tuple[int | None, str]]:
    """(message_id, size) -> (message_pk, status) of UIDs already recorded in `mailbox`
    (any folder, any UIDVALIDITY) with one of `message_ids`; archived copies win over
    ignored ones."""
    found: dict[tuple[str, int], tuple[int | None, str]] = {}
    for start in range(0, len(message_ids), ID_CHUNK):
        names, params = _in_list("message_id", sorted(set(message_ids[start:start + ID_CHUNK])))
        for r in rows(source, "SELECT message_id, size, message_pk, status FROM imap_messages "
                              f"WHERE mailbox = :mailbox AND message_id IN {names} AND size IS NOT NULL",
                      {"mailbox": mailbox, **params}):
            key = (r["message_id"], int(r["size"]))
            if key not in found or (found[key][0] is None and r["message_pk"] is not None):
                found[key] = (r["message_pk"], r["status"])
    return found


def generations(source: RowSource) -> tuple[int, int]:
    """(facts_generation, timeline_generation): different when the timeline is behind
    the stored facts (see store.write.facts_changed)."""
    row = _first(source, "SELECT facts_generation, timeline_generation FROM timeline_state WHERE id = 1")
    return (0, 0) if row is None else (int(row["facts_generation"]), int(row["timeline_generation"]))


def timeline_behind(source: RowSource) -> bool:
    """Whether facts or corrections changed since the timeline was last brought in line
    with them (a run died in between, or its refresh is still to come)."""
    facts_generation, timeline_generation = generations(source)
    # "*" only says the next refresh replays everything (facts stored before 0013 have no scope)
    return facts_generation != timeline_generation or _first(
        source, "SELECT 1 FROM timeline_pending WHERE scope <> '*' LIMIT 1") is not None


def archived_sizes(source: RowSource, *, failed_only: bool) -> list[tuple[int, int]]:
    """(id, size) of the archived mail messages (only those that failed to parse), by id."""
    where = " AND parse_status = 'failed'" if failed_only else ""
    return [(int(r["id"]), int(r["size"])) for r in rows(
        source, f"SELECT id, size FROM messages WHERE origin = 'mail'{where} ORDER BY id")]


_MESSAGE_COLUMNS = ("id", "sha256", "origin", "source", "mailbox", "message_id", "subject", "sender", "sent",
                    "forwarded_by", "authenticated", "parse_status", "parse_error", "size", "archived_at")


def list_messages(source: RowSource, *, failed: bool = False, mailbox: str | None = None,
                  search: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Archived messages (no raw bytes) with parse status and fact counts, oldest first.
    `search`: only those whose subject or sender contains it (any case); `limit`: only
    the `limit` archived last."""
    from caltac_inbox.timeline.time import in_los_angeles

    where: list[str] = []
    params: dict[str, Any] = {}
    if failed:
        where.append("m.parse_status IN ('failed', 'skipped')")
    if mailbox:
        where.append("m.mailbox = :mailbox")
        params["mailbox"] = mailbox
    if search:
        pattern = "%" + search.lower().replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        where.append("(lower(coalesce(m.subject, '')) LIKE :search ESCAPE '/' "
                     "OR lower(coalesce(m.sender, '')) LIKE :search ESCAPE '/')")
        params["search"] = pattern
    selected = ("SELECT " + ", ".join(f"m.{c}" for c in _MESSAGE_COLUMNS)
                + ", (SELECT count(f.id) FROM facts f WHERE f.message_pk = m.id) AS facts FROM messages m"
                + (" WHERE " + " AND ".join(where) if where else ""))
    if limit is not None:
        params["limit"] = limit
        sql = f"SELECT * FROM ({selected} ORDER BY m.id DESC LIMIT :limit) AS last ORDER BY id"
    else:
        sql = selected + " ORDER BY m.id"
    out = []
    for r in rows(source, sql, params):
        item = dict(r)
        sent = _instant(item["sent"])
        item["sent"] = in_los_angeles(sent).isoformat() if sent else None  # notices are read in California time
        item["archived_at"] = in_los_angeles(_instant(item["archived_at"])).isoformat()
        item["authenticated"] = _flag(item["authenticated"])
        out.append(item)
    return out


def known_mailboxes(source: RowSource) -> list[str]:
    """Every mailbox name a stored message or a coordinator's correction (an added entry) carries."""
    return [r["mailbox"] for r in rows(source, "SELECT mailbox FROM messages WHERE mailbox IS NOT NULL UNION "
                                                "SELECT mailbox FROM corrections WHERE mailbox IS NOT NULL "
                                                "ORDER BY mailbox")]


def archived_messages(source: RowSource, wanted: str) -> list[dict[str, Any]]:
    """The archived messages `wanted` names, with their raw bytes, oldest first: a
    Message-ID (with or without its <>, as `show` lists it), else an archive id (the `id`
    of `messages`). Copies of one notice share its Message-ID."""
    text = wanted.strip()
    bare = text.removeprefix("<").removesuffix(">")
    found = rows(source, f"SELECT {_ARCHIVED} FROM messages m WHERE m.message_id IN (:bare, :bracketed) ORDER BY m.id",
                 {"bare": bare, "bracketed": f"<{bare}>"})
    if not found and text.isdigit() and int(text) < 2**63:
        found = rows(source, f"SELECT {_ARCHIVED} FROM messages m WHERE m.id = :id", {"id": int(text)})
    return [_archived(r) for r in found]


_ARCHIVED = "m.id, m.raw, m.source, m.mailbox, m.message_id, m.subject, m.sender, m.sent, m.forwarded_by"


def _archived(row: Mapping[str, Any]) -> dict[str, Any]:
    item = dict(row)
    item["raw"], item["sent"] = bytes(item["raw"]), _instant(item["sent"])
    return item


def source_notice(source: RowSource, message_pk: int) -> dict[str, Any] | None:
    """The archived message `message_pk` (as archived_messages gives it) when a fact of
    the timeline came from it, else None."""
    if message_pk >= 2**63:
        return None
    found = rows(source, f"SELECT {_ARCHIVED} FROM messages m WHERE m.id = :id "
                         "AND EXISTS (SELECT 1 FROM facts f WHERE f.message_pk = m.id)", {"id": message_pk})
    return _archived(found[0]) if found else None


def last_digest(source: RowSource) -> datetime | None:
    """When the last digest was sent (`digest --send`), or None."""
    found = _first(source, "SELECT max(sent_at) AS sent_at FROM digests")
    return _instant(found["sent_at"]) if found else None


def mailbox_polls(source: RowSource) -> list[dict[str, Any]]:
    """Each mailbox's last poll attempt, its error and its last success (store.freshness),
    times aware; by mailbox name."""
    out = []
    for r in rows(source, "SELECT mailbox, attempted_at, succeeded_at, error FROM mailbox_polls ORDER BY mailbox"):
        item = dict(r)
        item["attempted_at"], item["succeeded_at"] = _instant(item["attempted_at"]), _instant(item["succeeded_at"])
        out.append(item)
    return out


def timeline_changes(source: RowSource, since: date | None, mailbox: str | None = None) -> list[dict[str, Any]]:
    """Recorded timeline changes (store.write.refresh_timeline), oldest first: those
    recorded on or after the Los Angeles day `since`, or with `since` None those of the
    last poll or ingest that recorded any. `recorded_at` in Los Angeles time."""
    from caltac_inbox.timeline.time import in_los_angeles, instant

    where: list[str] = []
    params: dict[str, Any] = {}
    if mailbox:
        where.append("c.mailbox = :mailbox")
        params["mailbox"] = mailbox
    if since is not None:
        where.append("c.recorded_at >= :since")
        params["since"] = instant(since)
    else:
        # the last poll or ingest: a coordinator's correction is not one (CORRECTION_RUN)
        scope = " AND mailbox = :mailbox" if mailbox else ""
        where.append(f"c.run_id = (SELECT run_id FROM timeline_changes WHERE run_id NOT LIKE :correction{scope} "
                     "ORDER BY id DESC LIMIT 1)")
        params["correction"] = CORRECTION_RUN + "%"
    sql = ("SELECT c.id, c.run_id, c.generation, c.mailbox, c.uid, c.kind, c.change, c.summary, c.reason, "
           "c.program, c.entry_when, c.before, c.after, c.recorded_at FROM timeline_changes c WHERE "
           + " AND ".join(where) + " ORDER BY c.id")
    out = []
    for r in rows(source, sql, params):
        item = dict(r)
        item["before"], item["after"] = _json(item["before"]) or {}, _json(item["after"]) or {}
        item["recorded_at"] = in_los_angeles(_instant(item["recorded_at"])).isoformat()
        item["program"] = _json(item["program"]) or []
        item["when"] = item.pop("entry_when")
        out.append(item)
    return out


# ----------------------------------------------------------------------------- the timeline


def upcoming(
    source: RowSource,
    as_of: date | datetime | None = None,
    days: int = 60,
    kinds: Iterable[str] = (),
    programs: Iterable[str] = (),
    mailbox: str | None = None,
    include_dismissed: bool = False,
    include_done: bool = False,
) -> list[dict[str, Any]]:
    """Entries not cancelled (nor dismissed, nor done unless asked) whose span overlaps
    [as_of, as_of + days]; as_of defaults to now (a date means 00:00 that day). A
    downtime that began earlier and is still going shows; one that ended does not."""
    from caltac_inbox.timeline.time import LOS_ANGELES, instant

    if as_of is None:
        lower = datetime.now(LOS_ANGELES)
        upper = lower + timedelta(days=days)
    elif isinstance(as_of, datetime):
        lower = instant(as_of)
        upper = lower + timedelta(days=days)
    else:  # a day: from its start through the whole last day
        lower = instant(as_of)
        upper = instant(as_of + timedelta(days=days + 1))
    entries = _select(source, kinds, programs, mailbox, include_cancelled=False, lower=lower, upper=upper,
                      include_dismissed=include_dismissed)
    return [e.to_json() for e in entries if e.overlaps(lower, upper) and (include_done or not e.done)]


def timeline(source: RowSource, *selection: Any, **named: Any) -> list[dict[str, Any]]:
    """The entries `timeline_entries` selects, as JSON dicts."""
    return [e.to_json() for e in timeline_entries(source, *selection, **named)]


def timeline_entries(
    source: RowSource,
    from_: date | datetime | None = None,
    to: date | datetime | None = None,
    kinds: Iterable[str] = (),
    programs: Iterable[str] = (),
    include_cancelled: bool = False,
    mailbox: str | None = None,
    include_dismissed: bool = False,
) -> list[Entry]:
    """All entries in date order, `from_`/`to` inclusive days (the kinds and programs
    given, or all; cancelled ones only when asked). Undated entries come last and only
    when no range is given."""
    lower, upper = _day_range(from_, to)
    entries = _select(source, kinds, programs, mailbox, include_cancelled=include_cancelled, lower=lower,
                      upper=upper, include_dismissed=include_dismissed)
    return [e for e in entries if e.overlaps(lower, upper)]


def iter_timeline_entries(
    source: RowSource,
    from_: date | datetime | None = None,
    to: date | datetime | None = None,
    kinds: Iterable[str] = (),
    programs: Iterable[str] = (),
    include_cancelled: bool = False,
    mailbox: str | None = None,
    include_dismissed: bool = False,
    *,
    dates_only: bool = False,
) -> Iterator[Entry]:
    """`timeline_entries`' entries in the same order, read as they are asked for: the
    query is read a batch of rows at a time (a server-side cursor on PostgreSQL), so
    memory does not grow with the timeline. `source` must stay open while this runs.

    SQL orders by key_at (which is `instant(entry.key_date)`, store.write); entries of
    one key_at are put in `entry_sort_key` order here. `dates_only`: entries with what
    their dates need and no more (no history; sources only for a downtime whose start
    no notice gave, whose calendar span starts at its earliest notice), for a pass that
    only looks at dates (export.ics.timed_years): the fact's date fields are read from
    its JSON by the query, the rest of the JSON is not read at all, and the entries of
    one key_at come in the query's order (no updated_at, sequence or flags either)."""
    from caltac_inbox.timeline.entry import entry_sort_key

    lower, upper = _day_range(from_, to)
    sql, params = _entries_query(kinds, mailbox, include_cancelled=include_cancelled, lower=lower, upper=upper,
                                 include_dismissed=include_dismissed,
                                 columns=_date_entry_columns(source) if dates_only else ENTRY_COLUMNS)
    shown = _in_range(lower, upper)
    batches = _entry_batches(source, sql + " ORDER BY e.key_at IS NULL, e.key_at", params, programs, dates_only)
    if dates_only:  # in key_at order: how entries of one key_at are ordered says nothing of dates
        for _batch, entries in batches:
            yield from filter(shown, entries)
        return
    group: list[Entry] = []
    group_key: Any = None
    for batch, entries in batches:
        for row, entry in zip(batch, entries, strict=True):
            if row["key_at"] != group_key or not group:
                group.sort(key=entry_sort_key)
                yield from filter(shown, group)
                group, group_key = [], row["key_at"]
            group.append(entry)
    group.sort(key=entry_sort_key)
    yield from filter(shown, group)


def _in_range(lower: datetime | None, upper: datetime | None) -> Callable[[Entry], bool]:
    """Whether an entry overlaps [lower, upper) (Entry.overlaps, always true without bounds)."""
    if lower is None and upper is None:
        return lambda entry: True
    return lambda entry: entry.overlaps(lower, upper)


def _entry_batches(source: RowSource, sql: str, params: Mapping[str, Any], programs: Iterable[str],
                   dates_only: bool) -> Iterator[tuple[list[Mapping[str, Any]], list[Entry]]]:
    """(rows, their entries) of `sql` a batch at a time, the rows of `programs` only."""
    for batch in _row_batches(source, sql, params):
        batch = _of_programs(batch, programs)
        yield batch, _to_entries(source, batch, dates_only=dates_only)


def _of_programs(found: list[Mapping[str, Any]], programs: Iterable[str]) -> list[Mapping[str, Any]]:
    """The entry rows of `programs` (all rows when none is given); an entry naming no
    program applies to every program and always shows."""
    wanted = {p.upper() for p in programs or ()}
    if not wanted:
        return found
    return [r for r in found if not (program := _json(r["program"])) or wanted & {p.upper() for p in program}]


def _day_range(from_: date | datetime | None, to: date | datetime | None) -> tuple[datetime | None, datetime | None]:
    """[lower, upper) of the inclusive days `from_`..`to` (None: unbounded)."""
    from caltac_inbox.timeline.time import instant

    lower = instant(from_) if from_ is not None else None
    upper = None
    if to is not None:
        upper = to if isinstance(to, datetime) and to.tzinfo else instant(to) + timedelta(days=1)
    return lower, upper


def _row_batches(source: RowSource, sql: str, params: Mapping[str, Any]) -> Iterator[list[Mapping[str, Any]]]:
    """The rows of `sql`, ID_CHUNK at a time, never all of them at once: sqlite3's cursor
    steps through the result; on PostgreSQL a server-side cursor (stream_results) does."""
    if _dialect(source) == "sqlite":
        params = sqlite_params(params)
    if isinstance(source, sqlite3.Connection):
        cursor = source.execute(sql, params)
        names = [d[0] for d in cursor.description]
        while chunk := cursor.fetchmany(ID_CHUNK):
            yield [dict(zip(names, row, strict=True)) for row in chunk]
        return
    if isinstance(source, PostgresSource):
        for names, batch in _postgres_batches(source, sql, params):
            yield [dict(zip(names, row, strict=True)) for row in batch]
        return
    from sqlalchemy import text

    result = source.execute(text(sql).execution_options(stream_results=True, max_row_buffer=ID_CHUNK), params)
    try:
        for part in result.mappings().partitions(ID_CHUNK):
            yield cast(list[Mapping[str, Any]], list(part))
    finally:
        result.close()


def show(source: RowSource, entry_id_or_uid: str | int) -> dict[str, Any] | None:
    """One entry with its history and the evidence of every source, or None. Times are
    Los Angeles time, as everything a user reads."""
    from caltac_inbox.timeline.time import in_los_angeles

    wanted = str(entry_id_or_uid).strip().removesuffix("@caltac-inbox")
    if wanted.isdigit() and int(wanted) < 2**63:  # a longer number fits no id column (nor sqlite3's binding)
        found = rows(source, f"SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.id = :id OR e.uid = :uid ORDER BY e.id",
                     {"id": int(wanted), "uid": wanted})
    else:
        found = rows(source, f"SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.uid = :uid", {"uid": wanted})
    row = found[0] if found else None
    if row is None and len(wanted) >= 6:  # a unique uid prefix is enough
        pattern = wanted.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        found = rows(source, f"SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.uid LIKE :pattern ESCAPE '/' LIMIT 2",
                     {"pattern": pattern})
        row = found[0] if len(found) == 1 else None
    if row is None:
        return None
    entry = _to_entries(source, [row])[0]
    out = entry.to_json()
    out.update(
        sequence=entry.sequence,
        needs_review=entry.needs_review,
        history=[c.to_json() for c in entry.history],
        updated_at=in_los_angeles(entry.updated_at).isoformat() if entry.updated_at else None,
        source_details=_source_details(source, row["id"]) or [
            {"evidence": s.evidence, "mailbox": None, "unverified": s.unverified, "message_pk": s.message_pk,
             "source": None, "message_id": s.message_id, "subject": s.subject, "sender": None,
             "sent": s.sent.isoformat() if s.sent else None, "forwarded_by": s.forwarded_by, "fact_id": None}
            for s in entry.sources],  # an entry added from a lead: the lead's notice
    )
    return out


# The entry columns `_to_entries` reads, from `entries e`.
ENTRY_COLUMNS = ("e.id, e.uid, e.kind, e.program, e.key_at, e.status, e.fields, e.sequence, e.history, "
                 "e.unverified, e.needs_review, e.updated_at")
# The fields of a fact its dates come from (timeline.kinds.key_date, span, dated_by_notice).
_DATES = ("kind", "start", "end", "due", "at", "month")


def _date_entry_columns(source: RowSource) -> str:
    """The columns `_to_entries(..., dates_only=True)` reads: an entry's id, uid,
    program, key_at and status, each of _DATES read from the fields' JSON by the database (`date_<name>`,
    its text or null), and the whole fields only of a downtime without a start (whose
    span reads its sources, and those of an entry added from a lead its correction)."""
    if _dialect(source) == "postgresql":
        field = "e.fields ->> '{}'".format
    else:
        field = "json_extract(e.fields, '$.{}')".format
    dates = ", ".join(f"{field(name)} AS date_{name}" for name in _DATES)
    return (f"e.id, e.uid, e.program, e.key_at, e.status, {dates}, "
            f"CASE WHEN {field('start')} IS NULL THEN e.fields END AS fields")


def _select(
    source: RowSource,
    kinds,
    programs,
    mailbox,
    *,
    include_cancelled: bool,
    lower: datetime | None = None,
    upper: datetime | None = None,
    include_dismissed: bool = False,
) -> list[Entry]:
    """Entries that may overlap [lower, upper), in timeline order: a superset that the
    caller narrows with `Entry.overlaps`."""
    from caltac_inbox.timeline.entry import entry_sort_key

    found = rows(source, *_entries_query(kinds, mailbox, include_cancelled=include_cancelled, lower=lower,
                                         upper=upper, include_dismissed=include_dismissed))
    return sorted(_to_entries(source, _of_programs(found, programs)), key=entry_sort_key)


def _entries_query(
    kinds: Iterable[str],
    mailbox: str | None,
    *,
    include_cancelled: bool,
    lower: datetime | None,
    upper: datetime | None,
    include_dismissed: bool = False,
    columns: str = ENTRY_COLUMNS,
) -> tuple[str, dict[str, Any]]:
    """The SQL of `_select` (reading `columns`) and its parameters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if lower is not None or upper is not None:
        condition, bounds = _may_overlap(lower, upper)
        where.append(condition)
        params.update(bounds)
    if not include_cancelled:
        where.append("e.status != :cancelled")
        params["cancelled"] = CANCELLED
    if not include_dismissed:
        where.append("e.status != :dismissed")
        params["dismissed"] = DISMISSED
    kinds = list(kinds or ())
    if kinds:
        names, values = _in_list("kind", kinds)
        where.append(f"e.kind IN {names}")
        params.update(values)
    if mailbox:
        where.append("(EXISTS (SELECT 1 FROM entry_sources es JOIN facts f ON f.id = es.fact_id "
                     "WHERE es.entry_id = e.id AND f.mailbox = :mailbox)"
                     # an entry the coordinator added for this mailbox
                     " OR EXISTS (SELECT 1 FROM corrections c WHERE c.target = e.uid AND c.action = 'add' "
                     "AND c.mailbox = :mailbox))")
        params["mailbox"] = mailbox
    return f"SELECT {columns} FROM entries e" + (" WHERE " + " AND ".join(where) if where else ""), params


def _may_overlap(lower: datetime | None, upper: datetime | None) -> tuple[str, dict[str, datetime | None]]:
    """SQL preselection for `Entry.overlaps` (over `entries e`) and its parameters: an
    entry's span starts at key_at and ends at most SPAN_REACH after key_at (or after
    end_at for a downtime). Undated entries overlap only an unbounded range (never
    this one). Spelled as an OR of two ranges so SQLite and PostgreSQL can use the
    key_at and end_at indexes, one per branch.

    Each branch has parameters of its own: SQLite factors a term that is literally the
    same in both branches (`key_at <= :upper`) out of the OR and then scans that one
    index range, which is all the history before the range."""
    if lower is None:
        return "e.key_at <= :upper", {"upper": upper}
    since = lower - SPAN_REACH
    if upper is None:
        return "(e.key_at >= :key_since OR e.end_at >= :end_since)", {"key_since": since, "end_since": since}
    return ("((e.key_at >= :key_since AND e.key_at <= :key_upper)"
            " OR (e.end_at >= :end_since AND e.key_at <= :end_upper))",
            {"key_since": since, "key_upper": upper, "end_since": since, "end_upper": upper})


def _date_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The _DATES fields of a row of `_date_entry_columns` as Fact.from_json reads them
    (a When field's text parsed, a missing or null field left out)."""
    from caltac_inbox.model import WHEN_FIELDS, parse_when

    out = {}
    for name in _DATES:
        value = row["date_" + name]
        if value is not None:
            out[name] = parse_when(value) if name in WHEN_FIELDS and isinstance(value, str) else value
    return out


def _to_entries(source: RowSource, found: list[Mapping[str, Any]], *, dates_only: bool = False) -> list[Entry]:
    """The entries of `found`: rows of ENTRY_COLUMNS, or with `dates_only` rows of
    `_date_entry_columns` (`_date_entries`)."""
    from caltac_inbox.model import Fact
    from caltac_inbox.timeline.entry import Change, Entry, PendingChange
    from caltac_inbox.timeline.kinds import dated_by_notice
    from caltac_inbox.timeline.time import local_date

    if dates_only:
        return _date_entries(source, found)
    all_fields = [dict(_json(row["fields"])) for row in found]
    facts = [Fact.from_json(fields) for fields in all_fields]
    sources = _entry_sources(source, found)
    out = []
    for row, fields, fact in zip(found, all_fields, facts, strict=True):
        key_at = _instant(row["key_at"])
        out.append(
            Entry(
                uid=row["uid"],
                fact=fact,
                status=row["status"],
                sources=tuple(sources.get(row["id"], [])),
                history=tuple(Change.from_stored(c) for c in _json(row["history"]) or []),
                unverified=bool(row["unverified"]),
                needs_review=bool(row["needs_review"]),
                # the entry's key date, stored as key_at, is then its notice's day
                reminder_date=local_date(key_at) if dated_by_notice(fact) and key_at is not None else None,
                corrections=tuple(fields.get("corrections") or ()),
                pending=tuple(PendingChange.from_json(p) for p in fields.get("pending") or ()),
                done=bool(fields.get("done")),
                entry_id=row["id"],
                sequence=row["sequence"] or 0,
                updated_at=_utc(_instant(row["updated_at"])),
            )
        )
    return out


def _date_entries(source: RowSource, found: list[Mapping[str, Any]]) -> list[Entry]:
    """Entries with what their key date and span read (timeline.kinds, export.ics._span)
    and no more: their facts hold the date fields alone, their sources are read only
    where `_needing_sources`; no history, corrections, flags or updated_at."""
    from caltac_inbox.model import Fact
    from caltac_inbox.timeline.entry import Entry
    from caltac_inbox.timeline.kinds import dated_by_notice
    from caltac_inbox.timeline.time import local_date

    facts = [Fact(evidence="", **_date_fields(row)) for row in found]
    sources = _entry_sources(source, _needing_sources(found, facts))
    out = []
    for row, fact in zip(found, facts, strict=True):
        key_at = row["key_at"]
        out.append(Entry(
            uid=row["uid"], fact=fact, status=row["status"], sources=tuple(sources.get(row["id"], ())), history=(),
            # the entry's key date, stored as key_at, is then its notice's day
            reminder_date=local_date(_instant(key_at)) if key_at is not None and dated_by_notice(fact) else None,
            entry_id=row["id"]))
    return out


def _needing_sources(found: list[Mapping[str, Any]], facts: list[Any]) -> list[Mapping[str, Any]]:
    """The rows whose dates read their sources: a window with no start runs from its
    earliest notice (export.ics._span)."""
    return [row for row, fact in zip(found, facts, strict=True) if fact.kind == "downtime" and fact.start is None]


def _entry_sources(source: RowSource, found: list[Mapping[str, Any]]) -> dict[int, list[SourceRef]]:
    """The sources of the entries `found`, by entry id (an entry added from a lead: the lead's notice)."""
    sources = _source_refs(source, [r["id"] for r in found])
    _add_lead_notices(source, found, sources)
    return sources


def _lead_notice(row: Mapping[str, Any]) -> int | None:
    """The notice (message row) of the lead an entry was added from (`add --from-lead`)."""
    for mark in (_json(row["fields"]) or {}).get("corrections") or ():
        if mark.get("action") == "add" and mark.get("notice") is not None:
            return int(mark["notice"])
    return None


def _add_lead_notices(source: RowSource, found: list[Mapping[str, Any]], sources: dict[int, list[SourceRef]]) -> None:
    """An entry added from a lead rests on the lead's notice: its one source."""
    from caltac_inbox.timeline.entry import SourceRef
    from caltac_inbox.timeline.time import in_los_angeles

    wanted = {row["id"]: pk for row in found if not sources.get(row["id"]) and (pk := _lead_notice(row)) is not None}
    if not wanted:
        return
    names, params = _in_list("message", sorted(set(wanted.values())))
    notices = {r["id"]: r for r in rows(source, "SELECT id, message_id, subject, sent, forwarded_by, authenticated "
                                                f"FROM messages WHERE id IN {names}", params)}
    for row in found:
        notice = notices.get(wanted.get(row["id"], -1))
        if notice is not None:
            sources[row["id"]] = [SourceRef(
                fact_id=None, message_pk=notice["id"], message_id=notice["message_id"], subject=notice["subject"],
                sent=in_los_angeles(_instant(notice["sent"])), forwarded_by=notice["forwarded_by"],
                evidence=(_json(row["fields"]) or {}).get("evidence") or "",
                unverified=not _flag(notice["authenticated"]))]


def _utc(value: datetime | None) -> datetime | None:
    """`entries.updated_at` is written in UTC; SQLite returns it naive."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _source_refs(source: RowSource, entry_ids: list[int]) -> dict[int, list[SourceRef]]:
    from caltac_inbox.timeline.entry import SourceRef
    from caltac_inbox.timeline.time import in_los_angeles

    out: dict[int, list[SourceRef]] = {}
    for start in range(0, len(entry_ids), ID_CHUNK):
        names, params = _in_list("entry", entry_ids[start:start + ID_CHUNK])
        found = rows(source, "SELECT es.entry_id, f.id AS fact_id, f.evidence, f.unverified, m.id AS message_pk, "
                             "m.message_id, m.subject, m.sent, m.forwarded_by "
                             "FROM entry_sources es JOIN facts f ON f.id = es.fact_id "
                             "JOIN messages m ON m.id = f.message_pk "
                             f"WHERE es.entry_id IN {names}", params)
        for r in found:
            out.setdefault(r["entry_id"], []).append(
                SourceRef(fact_id=r["fact_id"], message_pk=r["message_pk"], message_id=r["message_id"],
                          subject=r["subject"], sent=in_los_angeles(_instant(r["sent"])),
                          forwarded_by=r["forwarded_by"], evidence=r["evidence"] or "",
                          unverified=bool(r["unverified"]))
            )
    for refs in out.values():  # the notices' own order, as reconcile replays them
        refs.sort(key=lambda s: (s.sent is None, s.sent.timestamp() if s.sent else 0, s.message_id or "",
                                 s.message_pk or 0, s.fact_id or 0))
    return out


def _source_details(source: RowSource, entry_id: int) -> list[dict[str, Any]]:
    from caltac_inbox.timeline.entry import notice_key
    from caltac_inbox.timeline.time import in_los_angeles

    found = rows(source, "SELECT f.evidence, f.mailbox, f.unverified, m.id AS message_pk, m.source, m.message_id, "
                         "m.subject, m.sender, m.sent, m.forwarded_by, f.id AS fact_id "
                         "FROM facts f JOIN entry_sources es ON es.fact_id = f.id "
                         "JOIN messages m ON m.id = f.message_pk "
                         "WHERE es.entry_id = :entry_id", {"entry_id": entry_id})
    out = []
    for r in found:
        item = dict(r)  # the keys in this order are the JSON of `show`
        item["unverified"] = _flag(item["unverified"])
        sent = in_los_angeles(_instant(item["sent"]))
        item["sent"] = sent.isoformat() if sent else None
        out.append(item)
    out.sort(key=lambda i: (i["sent"] is None, datetime.fromisoformat(i["sent"]).timestamp() if i["sent"] else 0,
                            i["message_pk"], i["fact_id"]))
    firsts: dict[Any, dict[str, Any]] = {}  # one per notice, as Entry.notice_sources
    for item in out:
        firsts.setdefault(notice_key(item["message_id"], item["message_pk"], item["subject"], item["sent"]), item)
    return list(firsts.values())


def timeline_version(source: RowSource) -> tuple[int, datetime | None]:
    """(generation, when the timeline last changed): what a feed's ETag and Last-Modified
    come from. (0, None) before the first refresh of a database emptied by hand."""
    found = rows(source, "SELECT generation, changed_at FROM timeline_state WHERE id = 1", {})
    if not found:
        return 0, None
    return int(found[0]["generation"]), _instant(found[0]["changed_at"])


__all__ = ["PostgresSource", "RowSource", "archived_messages", "archived_sizes", "generations", "imap_checkpoint",
           "iter_timeline_entries", "known_uids", "last_digest", "list_messages", "mailbox_polls", "rows",
           "source_notice", "recorded_by_message_id", "show", "timeline", "timeline_behind", "timeline_entries",
           "timeline_version", "uidvalidity_changes", "upcoming"]
