"""The Store: a migrated database opened for writing, and what it writes.

The pipeline (caltac_inbox.pipeline) reads, parses and classifies; it hands the store
each message `Prepared` (its notice and facts, or why it was not read) in a `Batch`, and
`Store.store_batch` writes the batch in one transaction: the raw bytes archived, the
facts and leads, the IMAP rows and the source's checkpoints, a savepoint per message.
`Store.store_reparsed` writes what a reparse read again of the archived messages
(`Store.archived`). `open_store(url)` opens one (store.open_writer is the way in).

- `Store.refresh_timeline()` / `catch_up_timeline()`: the timeline in line with the facts.
- `Store.import_checklist(...)`: a checklist file archived with its facts.
- `Store.messages(...)`: the archive listing; every other query is in store.read, run
  on `Store.session(readonly=True)` or on store.light's reader.

Nothing here parses or classifies, and nothing imports the pipeline.
"""
from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from caltac_inbox.budget import BATCH_BYTES
from caltac_inbox.model import Fact, Notice, RawMessage

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

    from caltac_inbox.store.write import Refreshed

Progress = Callable[["Stored"], None]  # hears of each message once its batch has committed
# Stored messages commit in batches: one transaction per batch (with the batch's IMAP rows
# and checkpoint advance) instead of one per message, each message in its own savepoint.
# A crash loses at most the uncommitted batch; a poll fetches it again because its
# checkpoint was not committed either. The limits bound memory (budget.BATCH_BYTES), how
# long the write lock is held (SQLite: ~0.1 s) and how late a concurrent reader sees new
# messages. Batches start at one message and double: the first messages of a poll
# commit at once, a backfill soon commits by the hundred.
BATCH_MESSAGES = 100
BATCH_SECONDS = 1.0


def parse_status(notice: Notice | None) -> str:
    """"ok", or "partial" when the parser passed over something damaged (notice.damage)."""
    return "partial" if notice is not None and notice.damage else "ok"


def naming_source(source: str, message: str) -> str:
    """`message`, prefixed with the source unless it already names it."""
    return message if message.startswith(source) else f"{source}: {message}"


@dataclass(frozen=True)
class Prepared:
    """One input item, read, before it is stored. `action`: "error" (a SourceError,
    nothing stored), "skipped" (a file in a directory that is not mail), "skip" (over the
    size limit: archived unparsed), "ignore" (rejected by `accept`: only its IMAP UID is
    recorded), "store", "checkpoint" (a source's
    Checkpoint, stored with the messages before it)."""

    item: Any
    action: str
    notice: Notice | None = None
    facts: tuple[Fact, ...] = ()
    error: str | None = None  # the source error, the size-limit reason, or why reading failed


@dataclass(frozen=True)
class Archived(RawMessage):
    """An archived message read again by reparse: its row id travels with it."""

    pk: int = 0


def _groups(sized: list[tuple[int, int]], most: int, most_bytes: int) -> Iterator[list[int]]:
    """The ids of (id, size) pairs in groups of at most `most` ids and, unless one is
    bigger, `most_bytes` bytes."""
    group: list[int] = []
    held = 0
    for pk, size in sized:
        if group and (len(group) >= most or held + size > most_bytes):
            yield group
            group, held = [], 0
        group.append(pk)
        held += size
    if group:
        yield group


@dataclass
class Batch:
    """Prepared items waiting for their transaction."""

    items: list[Prepared] = field(default_factory=list)
    size: int = 0
    started: float = 0.0
    limit: int = 1  # messages in this batch before it commits

    def add(self, prepared: Prepared) -> None:
        if not self.items:
            self.started = time.monotonic()
        self.items.append(prepared)
        self.size += len(prepared.item.raw) if isinstance(prepared.item, RawMessage) else 0

    def full(self) -> bool:
        return (len(self.items) >= self.limit or self.size >= BATCH_BYTES
                or time.monotonic() - self.started >= BATCH_SECONDS)

    def take(self) -> list[Prepared]:
        items, self.items, self.size = self.items, [], 0
        self.limit = min(2 * self.limit, BATCH_MESSAGES)
        return items


@dataclass(frozen=True)
class Stored:
    """What became of one message. `outcome`: "new", "duplicate", "ignored", "failed"
    (stored, parse failed), "error" (not stored: unreadable or too large); reparse: "ok"
    or "failed"."""

    source: str
    outcome: str
    facts: int = 0  # facts stored with it
    error: str | None = None  # for the report, naming the source
    folder: str | None = None  # the IMAP folder it came from


def _is_connection_error(exc: BaseException) -> bool:
    """A database or connection failure (locked, disk full, connection lost): the
    whole batch fails. Anything else went wrong with one message's data."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError, InternalError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


@dataclass
class IngestReport:
    fetched: int = 0  # messages read from the source (SourceErrors not counted)
    new: int = 0  # archived by this run (including ones whose parse failed)
    duplicates: int = 0  # already archived (same sha256)
    ignored: int = 0  # rejected by `accept` (not archived)
    facts: int = 0  # facts stored by this run
    failed: int = 0  # archived with parse_status "failed"
    errors: list[tuple[str, str]] = field(default_factory=list)  # (source, one-line message)
    skipped: list[str] = field(default_factory=list)  # files in a directory that are not mail
    timeline_changes: int = 0
    changes: list[Any] = field(default_factory=list)  # timeline.changes.TimelineChange a reader sees

    def summary(self) -> str:
        if self.fetched and not self.new and not self.ignored:
            head = f"nothing new stored: {self.fetched} message(s) read, all already archived"
        else:
            head = (f"{self.fetched} message(s) read: {self.new} new, {self.duplicates} already archived, "
                    f"{self.ignored} ignored; {self.facts} fact(s) stored")
        if self.failed:
            head += f"; {self.failed} failed to parse (see `caltac-inbox messages --failed`)"
        if self.errors and len(self.errors) > self.failed:
            head += f"; {len(self.errors) - self.failed} input error(s)"
        if self.skipped:
            head += f"; {len(self.skipped)} file(s) skipped (not mail)"
        return head

    def skipped_warning(self) -> str | None:
        """One line naming the files skipped as not mail, None when there are none."""
        if not self.skipped:
            return None
        shown = ", ".join(self.skipped[:3]) + (f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else "")
        return (f"skipped {len(self.skipped)} file(s) that are neither mail nor an mbox: {shown}; "
                "save a notice as .eml (or an mbox) to ingest it")

    def to_json(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched, "new": self.new, "duplicates": self.duplicates,
            "ignored": self.ignored, "facts": self.facts, "failed": self.failed,
            "errors": [{"source": s, "error": m} for s, m in self.errors],
            "skipped": list(self.skipped),
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass
class ReparseReport:
    messages: int = 0
    ok: int = 0
    failed: int = 0
    facts_added: int = 0
    facts_removed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"reparsed {self.messages} message(s): {self.ok} ok, {self.failed} failed; "
                f"{self.facts_added} fact(s) added, {self.facts_removed} removed")


class Store:
    """A migrated database. Use `with store.session() as s:` for reads. What reading a
    message may take is the pipeline's (pipeline.ingest's and reparse's `budget`)."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        from sqlalchemy.orm import sessionmaker

        from caltac_inbox.store.db import READONLY_OPTION

        import uuid

        # names this run's rows in timeline_changes (`caltac-inbox changes --since last-poll`)
        self.run_id = uuid.uuid4().hex
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        read_options: dict[str, Any] = {READONLY_OPTION: True}
        if engine.dialect.name == "postgresql":
            # one snapshot per read session, as a SQLite reader has: the calendar reads its
            # dates, then its events, and a commit in between must not split them
            read_options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self._read_sessions = sessionmaker(engine.execution_options(**read_options), expire_on_commit=False)

    @property
    def url(self) -> str:
        from caltac_inbox.store.db import display_url

        return display_url(str(self.engine.url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextlib.contextmanager
    def session(self, *, readonly: bool = False) -> Iterator["Session"]:
        """A session whose transaction commits on success; driver errors -> DatabaseError.

        `readonly=True` for queries: on SQLite they then never wait for a writer.
        """
        from sqlalchemy.exc import SQLAlchemyError

        from caltac_inbox.store.db import describe_db_error

        factory = self._read_sessions if readonly else self._sessions
        try:
            with factory.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise describe_db_error(str(self.engine.url), exc, "use") from None

    # ------------------------------------------------------------------ writes

    def analyze(self, **changed: int) -> None:
        """Fresh planner statistics after a run that changed a good part of a table (PostgreSQL)."""
        from sqlalchemy.exc import SQLAlchemyError

        from caltac_inbox.store.db import analyze_changed

        with contextlib.suppress(SQLAlchemyError):  # statistics are an optimisation: the run itself succeeded
            analyze_changed(self.engine, changed)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator["Connection"]:
        """A Core connection in a transaction (the write path needs no ORM session, and
        its savepoints cost a third of what the session's do); errors -> DatabaseError."""
        from sqlalchemy.exc import SQLAlchemyError

        from caltac_inbox.store.db import describe_db_error

        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise describe_db_error(str(self.engine.url), exc, "use") from None

    @staticmethod
    def prepare_writes() -> None:
        """Load what storing a batch and refreshing the timeline use (the write path's
        modules, the models' mappers) ahead of the first batch: the pipeline calls it while
        a worker process reads the first message."""
        import importlib

        from sqlalchemy.orm import configure_mappers

        for name in ("caltac_inbox.store.write", "caltac_inbox.store.read"):
            importlib.import_module(name)
        configure_mappers()

    def store_batch(self, batch: list[Prepared], report: IngestReport, note: Progress, origin: str,
                    refresh: bool = False, mailbox: str | None = None) -> Refreshed | None:
        """Store the batch in one transaction; with `refresh` also the timeline refresh of
        everything pending, its changes recorded for `mailbox` (store.write.Refreshed, else None)."""
        from sqlalchemy.orm import Session

        from caltac_inbox.store import write

        refreshed = None
        with self._transaction() as conn:
            stored = [self._store_one(conn, prepared, origin) for prepared in batch]
            if any(done.facts for done in stored if done is not None):
                write.facts_changed(conn)
            if refresh:
                from caltac_inbox.store.read import timeline_behind

                with Session(bind=conn) as session:
                    if timeline_behind(session):
                        refreshed = write.refresh_timeline(session, run_id=self.run_id, mailbox=mailbox)
        for done in stored:  # committed: count and tell
            if done is None:  # a checkpoint
                continue
            if done.outcome == "skipped":
                report.skipped.append(done.source)
                note(done)
                continue
            if done.outcome != "error":
                report.fetched += 1
            if done.outcome in ("new", "failed"):
                report.new += 1
            report.facts += done.facts
            report.duplicates += done.outcome == "duplicate"
            report.ignored += done.outcome == "ignored"
            report.failed += done.outcome == "failed"
            if done.error:
                report.errors.append((done.source, done.error))
            note(done)
        return refreshed

    @staticmethod
    def _store_one(conn: "Connection", prepared: Prepared, origin: str) -> Stored | None:
        from caltac_inbox.store import write

        if prepared.action == "checkpoint":
            write.record_checkpoint(conn, prepared.item)
            return None
        raw: RawMessage = prepared.item
        stored = functools.partial(Stored, raw.source, folder=getattr(raw, "folder", None))
        if prepared.action in ("error", "skipped"):
            return stored(prepared.action, error=prepared.error)
        if prepared.action == "ignore":
            with conn.begin_nested():
                write.record_imap_uid(conn, raw, message_pk=None, status="ignored")
            return stored("ignored")
        try:
            with conn.begin_nested():
                if prepared.action == "skip":
                    pk, is_new = write.archive_message(
                        conn, raw, notice=None, origin=origin, parse_status="skipped", parse_error=prepared.error)
                    write.record_imap_uid(conn, raw, message_pk=pk, status="failed")
                    return stored("failed", error=naming_source(raw.source, prepared.error or "")) if is_new \
                        else stored("duplicate")
                notice, error = prepared.notice, prepared.error
                pk, is_new = write.archive_message(
                    conn, raw, notice=notice, origin=origin,
                    parse_status="failed" if error else parse_status(notice),
                    parse_error=error or (notice.damage if notice is not None else None),
                )
                facts = 0
                if is_new and not error:
                    assert notice is not None  # read without an error
                    facts = write.insert_facts(
                        conn, pk, prepared.facts, mailbox=raw.mailbox, unverified=notice.authenticated is not True
                    )
                    write.replace_leads(conn, pk, getattr(prepared.facts, "leads", ()), mailbox=raw.mailbox,
                                        message_id=notice.message_id, new=True)
                write.record_imap_uid(conn, raw, message_pk=pk, status="failed" if error else "stored")
        except Exception as exc:
            if _is_connection_error(exc):
                raise
            # This message alone cannot be stored: keep its bytes with the reason (reparse retries).
            error = naming_source(raw.source, "cannot store it: " + " ".join(
                f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}".split())[:300])
            with conn.begin_nested():
                pk, is_new = write.archive_message(
                    conn, raw, notice=None, origin=origin, parse_status="failed", parse_error=error)
                write.record_imap_uid(conn, raw, message_pk=pk, status="failed")
            return stored("failed", error=error) if is_new else stored("duplicate")
        if not is_new:
            return stored("duplicate")
        if error:
            return stored("failed", error=naming_source(raw.source, error))
        return stored("new", facts=facts)

    def import_checklist(
        self, raw: bytes, source: str, facts: Sequence[Fact], *, subject: str | None = None
    ) -> IngestReport:
        """Archive a checklist file like a notice (origin "checklist", identity = sha256 of
        its bytes) with its facts in one transaction, then refresh the timeline. The same
        bytes again store nothing."""
        from caltac_inbox.store import write

        notice = Notice(source=source, text="", subject=subject) if subject else None
        report = IngestReport(fetched=1)
        with self.session() as s:
            pk, is_new = write.archive_message(
                s, RawMessage(raw=raw, source=source), notice=notice, origin="checklist", parse_status="ok"
            )
            if is_new:
                report.facts = write.insert_facts(s, pk, facts, mailbox=None, unverified=False)
                if report.facts:
                    write.facts_changed(s)
        if is_new:
            report.new = 1
            refreshed = self.refresh_timeline()
            report.timeline_changes, report.changes = refreshed.count, list(refreshed.changes)
        else:
            report.duplicates = 1
        return report

    def refresh_timeline(self, *, mailbox: str | None = None, full: bool = False) -> Refreshed:
        """Bring the timeline in line in one transaction (serialized across processes),
        recording what a reader sees change (store.write.Refreshed): the groups marked
        pending, or with `full` every stored fact replayed."""
        from caltac_inbox.store.write import refresh_timeline

        with self.session() as s:
            return refresh_timeline(s, run_id=self.run_id, mailbox=mailbox, full=full)

    def timeline_behind(self) -> bool:
        """Whether facts were stored since the timeline was last rebuilt (a run died
        in between)."""
        from caltac_inbox.store.read import timeline_behind

        with self.session(readonly=True) as s:
            return timeline_behind(s)

    def catch_up_timeline(self) -> bool:
        """Rebuild the timeline if it is behind the facts; whether it was. Raises
        DatabaseError when the database cannot be written."""
        if not self.timeline_behind():
            return False
        self.refresh_timeline()
        return True

    def archived(self, wanted: list[tuple[int, int]],
                 trust: Callable[[str | None], tuple[str, ...] | None] | None,
                 forwarders: Callable[[str | None], tuple[str, ...]] | None = None) -> Iterator["Archived"]:
        """The archived messages (id, size) `wanted`, loaded a batch at a time, each told
        which receiving server's Authentication-Results to trust."""
        from sqlalchemy import select

        from caltac_inbox.store.schema import MessageRow

        for group in _groups(wanted, BATCH_MESSAGES, BATCH_BYTES):
            with self.session(readonly=True) as s:
                rows = s.execute(select(MessageRow.id, MessageRow.raw, MessageRow.source, MessageRow.mailbox)
                                 .where(MessageRow.id.in_(group)).order_by(MessageRow.id)).all()
            for row in rows:
                yield Archived(raw=bytes(row.raw), source=row.source, mailbox=row.mailbox, pk=row.id,
                                authserv_ids=trust(row.mailbox) if trust else None,
                                trusted_forwarders=forwarders(row.mailbox) if forwarders else ())

    def store_reparsed(self, batch: list[Prepared], report: ReparseReport, progress: Progress | None) -> None:
        from sqlalchemy import select

        from caltac_inbox.store import write
        from caltac_inbox.store.schema import MessageRow

        done: list[Stored] = []
        changed = False  # a reparse that changed no fact leaves the timeline as it is
        with self.session() as s:
            for prepared in batch:
                item: Archived = prepared.item
                # locked: a concurrent reparse of the same message waits (PostgreSQL)
                msg = s.execute(select(MessageRow).where(MessageRow.id == item.pk)
                                .with_for_update()).scalar_one_or_none()
                if msg is None:  # deleted meanwhile
                    continue
                report.messages += 1
                notice, error = prepared.notice, prepared.error
                if notice is not None and item.authserv_ids is None:
                    notice = replace(notice, authenticated=msg.authenticated)  # nothing to judge it by anew
                notice_changed = False  # the message's own columns (subject, sent date...) are rewritten
                if error or notice is None:
                    msg.parse_status, msg.parse_error = "failed", error
                    report.failed += 1
                    report.errors.append((msg.source, naming_source(msg.source, error or "")))
                    replaced = write.replace_facts(s, item.pk, (), mailbox=msg.mailbox, unverified=False)
                    write.replace_leads(s, item.pk, (), mailbox=msg.mailbox)
                else:
                    msg.parse_status, msg.parse_error = parse_status(notice), notice.damage
                    columns = write.notice_columns(notice)
                    notice_changed = any(getattr(msg, key) != value for key, value in columns.items())
                    for key, value in columns.items():
                        setattr(msg, key, value)
                    report.ok += 1
                    replaced = write.replace_facts(
                        s, item.pk, prepared.facts, mailbox=msg.mailbox, unverified=notice.authenticated is not True,
                        notice_changed=notice_changed)
                    write.replace_leads(s, item.pk, getattr(prepared.facts, "leads", ()), mailbox=msg.mailbox,
                                        message_id=notice.message_id)
                report.facts_added += replaced.added
                report.facts_removed += replaced.removed
                changed = changed or replaced.changed or notice_changed
                done.append(Stored(msg.source, "failed" if error else "ok", facts=replaced.added))
            if changed:
                write.facts_changed(s)
        for stored in done:  # committed: tell
            if progress:
                progress(stored)

    # ------------------------------------------------------------------ queries

    def messages(self, *, failed: bool = False, mailbox: str | None = None) -> list[dict[str, Any]]:
        from caltac_inbox.store import read

        with self.session(readonly=True) as s:
            return read.list_messages(s, failed=failed, mailbox=mailbox)


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """A Store on `url` (default: SQLite in the user data dir), migrated on first use."""
    from caltac_inbox.store.db import connect

    return Store(connect(url, migrate=migrate))


__all__ = ["BATCH_MESSAGES", "Archived", "Batch", "IngestReport", "Prepared", "Progress", "ReparseReport", "Store",
           "Stored", "naming_source", "open_store", "parse_status"]
