"""The one module that connects sources, the pure parser/classifiers, and the store.

- `extract(raws)`: RawMessage/SourceError items -> Extraction per message, no database.
- `open_store(url)`: a migrated Store (default: SQLite file in the user data directory).
- `Store.ingest(raws, ...)`: archive + parse + classify + store facts, one transaction
  per message (with its IMAP checkpoint), then refresh the timeline.
- `Store.reparse(...)`: re-run parse + classify over archived raw bytes.
- Read-only queries for the CLI: upcoming, timeline, show, messages.

`parser` / `classifier` parameters default to `caltac_inbox.parse.parse_message` and
`caltac_inbox.classify.classify`; tests pass stand-ins.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol, Sequence

from caltac_inbox.errors import DatabaseError, ParseError
from caltac_inbox.model import Extraction, Fact, Notice, RawMessage

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

Parser = Callable[[bytes, str], Notice]
Classifier = Callable[[Notice], Sequence[Fact]]
# progress(source, outcome): outcome is "new", "duplicate", "ignored", "failed" (stored,
# parse failed), "error" (not stored: unreadable or too large).
Progress = Callable[[str, str], None]
DEFAULT_MAX_SIZE = 25 * 2**20


class SourceErrorLike(Protocol):
    source: str
    message: str


def default_parser() -> Parser:
    from caltac_inbox.parse import parse_message

    return parse_message


def default_classifier() -> Classifier:
    from caltac_inbox.classify import classify

    return classify


def naming_source(source: str, message: str) -> str:
    """`message`, prefixed with the source unless it already names it."""
    return message if message.startswith(source) else f"{source}: {message}"


def _is_raw(item: Any) -> bool:
    return isinstance(item, RawMessage)


def read_notice(raw: RawMessage, parser: Parser, classifier: Classifier) -> tuple[Notice | None, tuple[Fact, ...], str | None]:
    """(notice, facts, error): parse then classify one message, never raising."""
    try:
        notice = parser(raw.raw, raw.source)
    except ParseError as exc:
        return None, (), str(exc)
    except Exception as exc:  # a parser bug must not lose the message; reparse retries it
        return None, (), f"unexpected parser error {type(exc).__name__}: {exc}"
    try:
        facts = tuple(classifier(notice))
    except Exception as exc:
        return notice, (), f"unexpected classifier error {type(exc).__name__}: {exc}"
    return notice, facts, None


def extract(
    raws: Iterable[Any],
    *,
    parser: Parser | None = None,
    classifier: Classifier | None = None,
) -> Iterator[Extraction]:
    """One Extraction per input item, in input order; errors become `error` (no raise)."""
    parser = parser or default_parser()
    classifier = classifier or default_classifier()
    for item in raws:
        if not _is_raw(item):
            yield Extraction(source=item.source, notice=None, error=naming_source(item.source, item.message))
            continue
        notice, facts, error = read_notice(item, parser, classifier)
        yield Extraction(
            source=item.source,
            notice=notice,
            facts=facts,
            error=naming_source(item.source, error) if error else None,
        )


@dataclass
class IngestReport:
    fetched: int = 0  # messages read from the source (SourceErrors not counted)
    new: int = 0  # archived by this run (including ones whose parse failed)
    duplicates: int = 0  # already archived (same sha256)
    ignored: int = 0  # rejected by `accept` (not archived)
    facts: int = 0  # facts stored by this run
    failed: int = 0  # archived with parse_status "failed"
    errors: list[tuple[str, str]] = field(default_factory=list)  # (source, one-line message)
    timeline_changes: int = 0

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
        return head

    def to_json(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched, "new": self.new, "duplicates": self.duplicates,
            "ignored": self.ignored, "facts": self.facts, "failed": self.failed,
            "errors": [{"source": s, "error": m} for s, m in self.errors],
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
    """A migrated database. Use `with store.session() as s:` for reads."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        from sqlalchemy.orm import sessionmaker

        from caltac_inbox.store.db import READONLY_OPTION

        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(engine.execution_options(**{READONLY_OPTION: True}),
                                           expire_on_commit=False)

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

    def ingest(
        self,
        raws: Iterable[Any],
        *,
        accept: Callable[[Notice], bool] | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        progress: Progress | None = None,
        parser: Parser | None = None,
        classifier: Classifier | None = None,
        origin: str = "mail",
    ) -> IngestReport:
        """Archive, parse, classify and store each message; then refresh the timeline.

        One transaction per message, including its imap_messages row and the
        imap_state.last_uid advance when the RawMessage carries IMAP coordinates, so
        an interrupted run loses nothing and duplicates nothing.
        """
        from caltac_inbox.store import repo

        parser = parser or default_parser()
        classifier = classifier or default_classifier()
        report = IngestReport()
        note = progress or (lambda source, outcome: None)

        try:
            for item in raws:
                if not _is_raw(item):
                    report.errors.append((item.source, naming_source(item.source, item.message)))
                    note(item.source, "error")
                    continue
                raw: RawMessage = item
                report.fetched += 1
                if len(raw.raw) > max_size:
                    # Kept, not parsed: the raw bytes stay for `reparse --all`.
                    reason = (f"message is {len(raw.raw)} bytes, over the {max_size}-byte size limit; "
                              "archived but not parsed (`caltac-inbox reparse --all` parses it)")
                    with self.session() as s:
                        pk, is_new = repo.archive_message(
                            s, raw, notice=None, origin=origin, parse_status="skipped", parse_error=reason,
                        )
                        repo.record_imap_uid(s, raw, message_pk=pk, status="failed")
                    if not is_new:
                        report.duplicates += 1
                        note(raw.source, "duplicate")
                        continue
                    report.new += 1
                    report.failed += 1
                    report.errors.append((raw.source, naming_source(raw.source, reason)))
                    note(raw.source, "failed")
                    continue

                notice, facts, error = read_notice(raw, parser, classifier)
                if error is None and notice is not None and accept is not None and not accept(notice):
                    with self.session() as s:
                        repo.record_imap_uid(s, raw, message_pk=None, status="ignored")
                    report.ignored += 1
                    note(raw.source, "ignored")
                    continue

                with self.session() as s:
                    pk, is_new = repo.archive_message(
                        s, raw, notice=notice, origin=origin,
                        parse_status="failed" if error else "ok", parse_error=error,
                    )
                    stored = 0
                    if is_new and not error:
                        stored = repo.insert_facts(
                            s, pk, facts, mailbox=raw.mailbox, unverified=notice.authenticated is False
                        )
                    repo.record_imap_uid(s, raw, message_pk=pk, status="failed" if error else "stored")
                if not is_new:
                    report.duplicates += 1
                    note(raw.source, "duplicate")
                elif error:
                    report.new += 1
                    report.failed += 1
                    report.errors.append((raw.source, naming_source(raw.source, error)))
                    note(raw.source, "failed")
                else:
                    report.new += 1
                    report.facts += stored
                    note(raw.source, "new")
        finally:
            # Also after an interruption: messages committed so far must reach the timeline.
            if report.new:
                report.timeline_changes = self.refresh()
        return report

    def import_checklist(
        self, raw: bytes, source: str, facts: Sequence[Fact], *, subject: str | None = None
    ) -> IngestReport:
        """Archive a checklist file like a notice (origin "checklist", identity = sha256 of
        its bytes) with its facts in one transaction, then refresh the timeline. The same
        bytes again store nothing. (Added by the CHECKLIST helper.)"""
        from caltac_inbox.store import repo

        notice = Notice(source=source, text="", subject=subject) if subject else None
        report = IngestReport(fetched=1)
        with self.session() as s:
            pk, is_new = repo.archive_message(
                s, RawMessage(raw=raw, source=source), notice=notice, origin="checklist", parse_status="ok"
            )
            if is_new:
                report.facts = repo.insert_facts(s, pk, facts, mailbox=None, unverified=False)
        if is_new:
            report.new = 1
            report.timeline_changes = self.refresh()
        else:
            report.duplicates = 1
        return report

    def refresh(self) -> int:
        """Rebuild the timeline in one transaction (serialized across processes)."""
        from caltac_inbox.store.timeline import refresh_timeline

        with self.session() as s:
            self._lock_timeline(s)
            return refresh_timeline(s)

    @staticmethod
    def _lock_timeline(session: "Session") -> None:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy import text

            from caltac_inbox.store.db import TIMELINE_LOCK_KEY

            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": TIMELINE_LOCK_KEY})
        # SQLite: BEGIN IMMEDIATE (see db.make_engine) already serializes writers.

    def reparse(
        self,
        *,
        failed_only: bool = True,
        parser: Parser | None = None,
        classifier: Classifier | None = None,
        progress: Progress | None = None,
    ) -> ReparseReport:
        """Re-run parse + classify over archived raw bytes; idempotent."""
        from sqlalchemy import select

        from caltac_inbox.store import repo
        from caltac_inbox.store.schema import Message

        parser = parser or default_parser()
        classifier = classifier or default_classifier()
        report = ReparseReport()
        with self.session() as s:
            ids = repo.iter_message_ids(s, failed_only=failed_only)
        for pk in ids:
            with self.session() as s:
                msg = s.execute(select(Message).where(Message.id == pk).with_for_update()).scalar_one_or_none()
                if msg is None:
                    continue
                raw = RawMessage(raw=msg.raw, source=msg.source, mailbox=msg.mailbox)
                notice, facts, error = read_notice(raw, parser, classifier)
                report.messages += 1
                if error:
                    msg.parse_status, msg.parse_error = "failed", error
                    report.failed += 1
                    report.errors.append((msg.source, naming_source(msg.source, error)))
                    added, removed = repo.replace_facts(s, pk, (), mailbox=msg.mailbox, unverified=False)
                else:
                    msg.parse_status, msg.parse_error = "ok", None
                    for key, value in repo.notice_columns(notice).items():
                        setattr(msg, key, value)
                    report.ok += 1
                    added, removed = repo.replace_facts(
                        s, pk, facts, mailbox=msg.mailbox, unverified=notice.authenticated is False
                    )
                report.facts_added += added
                report.facts_removed += removed
            if progress:
                progress(raw.source, "failed" if error else "ok")
        self.refresh()
        return report

    # ------------------------------------------------------------------ IMAP state

    def imap_checkpoint(self, mailbox: str, folder: str) -> tuple[int | None, int]:
        """(uidvalidity, last_uid) stored for the folder; (None, 0) when never polled."""
        from caltac_inbox.store import repo

        with self.session(readonly=True) as s:
            return repo.imap_checkpoint(s, mailbox, folder)

    def advance_checkpoint(self, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        """Move the checkpoint past UIDs that needed no download (headers showed no
        candidate). Never backwards within one UIDVALIDITY. (Added by the IMAP helper.)"""
        from caltac_inbox.store import repo

        with self.session() as s:
            repo.advance_imap_state(s, mailbox, folder, uidvalidity, last_uid)

    def known_uids(self, mailbox: str, folder: str, uidvalidity: int) -> set[int]:
        """Every UID already recorded (stored, ignored or failed) under this UIDVALIDITY."""
        from caltac_inbox.store import repo

        with self.session(readonly=True) as s:
            return repo.known_uids(s, mailbox, folder, uidvalidity)

    # ------------------------------------------------------------------ queries

    def upcoming(self, as_of: date | datetime | None = None, days: int = 60, kinds: Sequence[str] = (),
                 programs: Sequence[str] = (), mailbox: str | None = None) -> list[dict[str, Any]]:
        from caltac_inbox.store import timeline

        with self.session(readonly=True) as s:
            return timeline.upcoming(s, as_of, days, kinds, programs, mailbox)

    def timeline(self, from_: date | datetime | None = None, to: date | datetime | None = None,
                 kinds: Sequence[str] = (), programs: Sequence[str] = (), include_cancelled: bool = False,
                 mailbox: str | None = None) -> list[dict[str, Any]]:
        from caltac_inbox.store import timeline

        with self.session(readonly=True) as s:
            return timeline.timeline(s, from_, to, kinds, programs, include_cancelled, mailbox)

    def show(self, entry_id_or_uid: str | int) -> dict[str, Any] | None:
        from caltac_inbox.store import timeline

        with self.session(readonly=True) as s:
            return timeline.show(s, entry_id_or_uid)

    def messages(self, *, failed: bool = False, mailbox: str | None = None) -> list[dict[str, Any]]:
        from caltac_inbox.store import repo

        with self.session(readonly=True) as s:
            return repo.list_messages(s, failed=failed, mailbox=mailbox)


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """A Store on `url` (default: SQLite in the user data dir), migrated on first use."""
    from caltac_inbox.store.db import connect

    return Store(connect(url, migrate=migrate))


__all__ = ["IngestReport", "ReparseReport", "Store", "extract", "naming_source", "open_store", "read_notice"]
