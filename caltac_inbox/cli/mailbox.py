"""The `poll`, `doctor` and `db` commands: configuration + store + IMAP source, and their output.

`poll_mailbox` is the poll's pipeline: the IMAP source yields messages and checkpoints,
`pipeline.ingest` parses, classifies and stores them with the checkpoints and refreshes
the timeline. A poll that finds nothing new never imports SQLAlchemy (LazyPollStore).
"""
from __future__ import annotations

import itertools
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import click

from caltac_inbox.budget import DEFAULT_BUDGET, FETCH_BYTES, ReadBudget
from caltac_inbox.cli.app import App, pass_app
from caltac_inbox.cli.options import notify_option, verbose_option
from caltac_inbox.config import Config, MailboxConfig, config_path, load_config
from caltac_inbox.display import json_line, printable
from caltac_inbox.errors import ConfigError, DatabaseError, UserError
from caltac_inbox.export.notify import change_lines, notify, resolve_notify
from caltac_inbox.lock import LockHeld, lock_path, mailbox_lock
from caltac_inbox.sources.imap import (DEADLINE_EXIT, MailboxReport, check_mailbox, finish, list_folders,
                                       mailbox_messages, sender_filter)
from caltac_inbox.store import db as dbmod
from caltac_inbox.store import read
from caltac_inbox.store import Reader, open_reader, open_writer
from caltac_inbox.web.doctor import feed_doctor_lines

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from caltac_inbox.store.writer import IngestReport, Store, Stored

PROGRESS_MIN = 50  # new UIDs in a folder before a progress bar is worth showing
LOCK_HUNG = "another poll holds the lock past its deadline; not polled"


def _global_options(ctx: click.Context) -> tuple[str | None, str | None]:
    """(--config FILE, --db URL) given before the command, kept in the root's App."""
    app = ctx.find_root().obj
    return getattr(app, "config_option", None), getattr(app, "db_option", None)


def database_url(db_option: str | None, config: "Config") -> str | None:
    """--db (or $CALTAC_INBOX_DB), else [database] url, else None (the default file)."""
    from caltac_inbox.store.db import as_database_url

    return as_database_url(db_option or os.environ.get("CALTAC_INBOX_DB") or config.database.url)


def _fail(error: UserError) -> None:
    click.echo(f"caltac-inbox: error: {printable(str(error))}", err=True)
    sys.exit(error.exit_code)


class _ProgressBars:
    """click progress bars, one per long folder backfill, only on a terminal."""

    def __init__(self) -> None:
        self._bar: ProgressBar[int] | None = None

    def __call__(self, total: int, label: str) -> Callable[[int], None]:
        self.close()
        if total < PROGRESS_MIN:
            return lambda n: None
        self._bar = click.progressbar(length=total, label=label)
        self._bar.__enter__()
        return self._bar.update

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


class LazyPollStore:
    """The store as the poller uses it, opened in full only when the poll must write.

    While the database exists at the head migration, the poll's reads (store.read) run
    on store.open_reader's light snapshots (sqlite3, or psycopg for PostgreSQL), so a
    poll that finds nothing new on SQLite never imports SQLAlchemy (~0.25 s of a ~0.4 s
    run). The SQLAlchemy Store is opened at the first write (ingest; on PostgreSQL
    also recording the poll) and then serves every read. Anything else (a new file or
    database, an old schema, a server that does not answer) opens it at once, which
    creates or migrates the database and reports a bad URL before any IMAP traffic.
    """

    def __init__(self, url: str | None, reader: Reader | None, store: "Store | None") -> None:
        self._url = url
        self._reader = reader
        self._store = store

    @classmethod
    def open(cls, url: str | None) -> "LazyPollStore":
        try:
            reader: Reader | None = open_reader(url)
        except DatabaseError:  # no database yet: the writer creates it
            reader = None
        if reader is not None and not reader.light:
            reader.close()
            reader = None
        return cls(url, reader, None if reader is not None else open_writer(url))

    # imap.MailState: what the IMAP source reads
    def imap_checkpoint(self, mailbox: str, folder: str) -> tuple[int | None, int]:
        return self._read("imap_checkpoint", mailbox, folder)

    def uidvalidity_changes(self, mailbox: str, folder: str) -> int:
        return self._read("uidvalidity_changes", mailbox, folder)

    def known_uids(self, mailbox: str, folder: str, uidvalidity: int, above: int = 0) -> set[int]:
        return self._read("known_uids", mailbox, folder, uidvalidity, above)

    def recorded_by_message_id(self, mailbox: str, message_ids: Sequence[str]
                               ) -> dict[tuple[str, int], tuple[int | None, str]]:
        return self._read("recorded_by_message_id", mailbox, message_ids)

    def _read(self, query: str, *args: Any) -> Any:
        """store.read's `query` on the light reader while it is open, else in a read-only
        session of the full store."""
        if self._reader is not None:
            try:
                with self._reader.snapshot() as source:
                    return getattr(read, query)(source, *args)
            except DatabaseError:
                pass  # the full store reports it as a DatabaseError (exit 5), or copes
        with self._full().session(readonly=True) as session:
            return getattr(read, query)(session, *args)

    def ingest(self, items: Iterable[Any], **options: Any) -> "IngestReport":
        from caltac_inbox.pipeline import ingest  # parsing and classifying: only when there is mail

        return ingest(self._full(), items, **options)

    def catch_up_timeline(self) -> None:
        """Rebuild the timeline if an earlier run died before refreshing it (a poll
        that finds nothing new would otherwise leave it behind until the next notice)."""
        if self._reader is not None:
            try:
                with self._reader.snapshot() as source:
                    if not read.timeline_behind(source):
                        return
            except DatabaseError:
                pass  # the full store reports it, or copes
        self._full().catch_up_timeline()

    def record_poll(self, mailbox: str, error: str | None, now: datetime | None = None) -> None:
        """Store this poll of `mailbox` (store.freshness): on the light reader's file while
        only it is open, so a quiet poll stays free of SQLAlchemy."""
        from caltac_inbox.store.freshness import record_poll, record_poll_sqlite

        at = now or datetime.now(timezone.utc)
        if self._reader is not None:
            from caltac_inbox.store.db import plain_sqlite_file

            path = plain_sqlite_file(self._url)
            if path is not None:
                record_poll_sqlite(path, mailbox, at, error)
                return
        with self._full().session() as session:
            record_poll(session, mailbox, at, error)

    def close(self) -> None:
        self._close_reader()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _full(self) -> "Store":
        if self._store is None:
            self._close_reader()
            self._store = open_writer(self._url)
        return self._store

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def poll_mailbox(store: LazyPollStore, mb: "MailboxConfig", *,
                 progress: Callable[[int, str], Callable[[int], None]] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 body_budget: int = FETCH_BYTES, budget: ReadBudget = DEFAULT_BUDGET) -> "MailboxReport":
    """One mailbox: the IMAP source's messages and checkpoints (sources.imap) stored by
    the pipeline (parse, classify within `budget`, store, refresh), counted per folder. Never raises a
    UserError: the reason the poll stopped is in report.error/exit_code."""
    report = MailboxReport(mailbox=mb.name)
    items = mailbox_messages(store, mb, report, progress=progress, clock=clock, sleep=sleep,
                             body_budget=body_budget)
    first = next(items, None)
    if first is None:  # nothing new: the store is not opened for writing
        return finish(report, mb)
    folders = {f.folder: f for f in report.folders}

    def count(stored: "Stored") -> None:
        assert stored.folder is not None  # every message of an IMAP source comes from a folder
        folder = folders[stored.folder]
        folder.new += stored.outcome in ("new", "failed")
        folder.duplicates += stored.outcome == "duplicate"
        folder.ignored += stored.outcome == "ignored"
        folder.facts += stored.facts
        if stored.error:
            folder.errors.append((stored.source, stored.error))

    try:
        ingested = store.ingest(itertools.chain([first], items), accept=sender_filter(mb.senders, mb.forwarders),
                                max_size=mb.max_message_bytes, progress=count, budget=budget)
        report.changes = list(ingested.changes)
    except UserError as exc:
        report.error, report.exit_code = str(exc), exc.exit_code
        return report
    finally:
        items.close()  # done, or the store failed: the IMAP connection is closed
    return finish(report, mb)


def run_poll(config: "Config", db_url: str | None, *, only: Sequence[str] = (), as_json: bool = False,
             interactive: bool | None = None, verbose: bool = False,
             notify_command: Sequence[str] | None = None) -> int:
    """Poll the configured mailboxes; prints the report(s) and the timeline changes, runs
    `notify_command` with the changes (if any); returns the exit code."""
    if interactive is None:
        interactive = sys.stdout.isatty()
    if not config.mailboxes:
        where = config.path or "the configuration file"
        raise ConfigError(f"no [[mailbox]] configured in {where}; add one (see README, "
                          "'Configuring a mailbox') or pass --config FILE")
    mailboxes = [config.mailbox(name) for name in only] if only else list(config.mailboxes)
    budget = ReadBudget(config.limits.message_seconds, config.limits.message_memory_mb)
    store = LazyPollStore.open(db_url)
    code = 0
    changes: list[Any] = []
    try:
        sqlite_file = dbmod.sqlite_path(db_url)
        for mb in mailboxes:
            bars = _ProgressBars() if interactive and not as_json else None
            try:
                with mailbox_lock(lock_path(mb.name, sqlite_file), deadline=mb.deadline):
                    report = poll_mailbox(store, mb, progress=bars, budget=budget)
            except LockHeld as held:
                if held.overdue:
                    report = MailboxReport(mailbox=mb.name, skipped=LOCK_HUNG,
                                           error=f"mailbox {mb.name!r}: {held.hung()}", exit_code=DEADLINE_EXIT)
                else:
                    report = MailboxReport(mailbox=mb.name, skipped=held.skipping())
            finally:
                if bars:
                    bars.close()
            if report.skipped is None or report.error:  # a poll another run holds the lock for is its to record
                _record_poll(store, mb.name, report)
            _print_report(report, as_json=as_json, interactive=interactive, verbose=verbose)
            changes.extend((mb.name, c) for c in report.changes)
            code = max(code, report.exit_code, 1 if report.message_errors else 0)
        store.catch_up_timeline()
    finally:
        store.close()
    if changes and notify_command:
        try:
            notify(notify_command, changes)
        except UserError as exc:
            click.echo(f"caltac-inbox: error: {printable(str(exc))}", err=True)
            code = max(code, exc.exit_code)
    return code


def _record_poll(store: LazyPollStore, mailbox: str, report: "MailboxReport") -> None:
    """Keep when `mailbox` was polled and how it went; a database that cannot take it
    is said on stderr, and the poll's own outcome stands."""
    error = (report.error or f"the poll stopped with exit code {report.exit_code}") if report.exit_code else None
    try:
        store.record_poll(mailbox, error)
    except Exception as exc:  # noqa: BLE001 - freshness is a note; the poll's outcome is reported anyway
        click.echo(f"caltac-inbox: warning: cannot record the poll of mailbox {mailbox!r}: "
                   f"{printable(' '.join(str(exc).split()))}", err=True)


def _print_report(report: "MailboxReport", *, as_json: bool, interactive: bool, verbose: bool = False) -> None:
    for _source, message in report.message_errors:
        click.echo(f"caltac-inbox: {printable(message)}", err=True)
    for warning in report.warnings:
        click.echo(f"caltac-inbox: warning: {printable(warning)}", err=True)
    for problem in report.problems:
        click.echo(f"caltac-inbox: error: {printable(problem)}", err=True)
    if as_json:
        click.echo(json_line(report.to_json()))
        return
    if report.changes:
        for line in change_lines(report.changes):
            click.echo(line)
    if report.skipped:
        # Another poll holds the lock: normal during a long backfill, so cron stays quiet.
        if interactive or verbose:
            click.echo(printable(report.summary_line()))
    elif interactive or verbose or report.deadline_reached:
        # Under cron (no terminal) the changes are the output: counts only on request.
        click.echo(printable(report.summary_line()))


POLL_HELP = """Fetch new notices from the configured IMAP mailboxes.

Reads only: folders are opened read-only, bodies fetched with BODY.PEEK, nothing is
flagged, moved or deleted. Each run continues after the last UID it stored; run it
from cron or a systemd timer. It prints each timeline entry the poll created, changed
or cancelled, one line each; otherwise nothing (counts too on a terminal or with
--verbose), so cron mails only news and failures. --notify-command CMD (or
notify_command in the config file) gets the same changes as JSON on stdin.

Exit codes: 0 ok (also when another poll holds the lock within its deadline), 1 some
messages failed to parse (they are stored; see `caltac-inbox messages --failed`), the
poll stopped at its deadline (the next run continues) or another poll has held the
lock past its deadline (it may be hung), 2 configuration (also a configured folder that
cannot be opened; the other folders are still polled), 3 authentication, 4 connection,
5 database.

\b
Example:
  caltac-inbox --config ~/.config/caltac-inbox/config.toml poll
  caltac-inbox poll --mailbox coordinator --json
"""


@click.command("poll", help=POLL_HELP)
@click.option("--mailbox", "mailboxes", multiple=True, metavar="NAME",
              help="Poll only this configured mailbox (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per mailbox per line, with its counts and timeline changes.")
@verbose_option
@notify_option
@click.pass_context
def poll_command(ctx: click.Context, mailboxes: tuple[str, ...], as_json: bool, verbose: bool,
                 notify_command: str | None) -> None:
    try:
        config_option, db_option = _global_options(ctx)
        config = load_config(config_option)
        code = run_poll(config, database_url(db_option, config), only=mailboxes, as_json=as_json, verbose=verbose,
                        notify_command=resolve_notify(notify_command, config))
    except UserError as exc:
        _fail(exc)
        return
    sys.exit(code)


# -- doctor -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    detail: str
    exit_code: int = 0

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.what}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "what": self.what, "detail": self.detail, "exit_code": self.exit_code}


def doctor_checks(config_arg: str | None, db_arg: str | None) -> list[Check]:
    """Every check, in order, each with what to fix. Reads only (EXAMINE, no migration)."""
    checks: list[Check] = []
    file, _named = config_path(config_arg)
    try:
        config = load_config(config_arg)
    except ConfigError as exc:
        return [Check(False, "config", str(exc), exc.exit_code)]
    if config.path is None:  # someone who only ingests files needs none
        checks.append(Check(True, "config", f"no configuration file at {file}; no mailbox configured (poll needs "
                            "one: see README, 'Configuring a mailbox')"))
    elif not config.mailboxes:
        checks.append(Check(True, "config", f"{config.path}: no mailbox configured (poll needs one: add a "
                            "[[mailbox]] table)"))
    else:
        names = ", ".join(mb.name for mb in config.mailboxes)
        checks.append(Check(True, "config", f"{config.path}: mailboxes {names}"))
    checks.append(_check_migrations())
    url = database_url(db_arg, config)
    checks.append(database := _check_database(url))
    if database.ok:
        checks.extend(_check_feeds(url))
    for mb in config.mailboxes:
        checks.extend(_check_mailbox(mb))
        checks.append(_check_authserv_id(mb))
    if database.ok and config.mailboxes:
        checks.extend(_check_freshness(config, url))
    return checks


STALE_EXIT = 1


def _check_freshness(config: "Config", url: str | None) -> list[Check]:
    """A mailbox not polled successfully within max_age fails: a monitoring job (or a
    second cron line running doctor) then alerts before the calendar goes quietly stale."""
    from datetime import datetime, timezone

    from caltac_inbox.freshness import ago, assess, records_from_rows, warning_lines

    try:
        polls = _stored_polls(url)
    except Exception as exc:  # noqa: BLE001 - the database check above says what is wrong with it
        return [Check(False, "freshness", f"cannot read the poll times: {' '.join(str(exc).split())}", 5)]
    states = assess(records_from_rows(polls), [mb.name for mb in config.mailboxes], datetime.now(timezone.utc),
                    config.max_age)
    checks = []
    for state in states:
        what = f"mailbox {state.mailbox} freshness"
        if state.stale:
            checks.append(Check(False, what, warning_lines([state])[0], STALE_EXIT))
        elif state.attempted_at is None:
            checks.append(Check(True, what, "not polled yet; each poll records its time here"))
        else:
            assert state.age is not None
            checks.append(Check(True, what, f"polled successfully {ago(state.age)} ago (max_age "
                                            f"{ago(state.max_age)})"))
    return checks


def _stored_polls(url: str | None) -> list[dict[str, Any]]:
    """store.read.mailbox_polls, without creating or migrating anything: none before the
    table exists."""
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    from caltac_inbox.store import db
    from caltac_inbox.store.read import mailbox_polls

    resolved = db.resolve_url(url)
    path = db.sqlite_path(resolved)
    if path is not None and not path.exists():
        return []
    engine = db.make_engine(resolved)
    try:
        if not inspect(engine).has_table("mailbox_polls"):
            return []
        with Session(engine) as session:
            return mailbox_polls(session)
    finally:
        engine.dispose()


def _check_migrations() -> Check:
    try:
        head = dbmod.installed_schema_head()
    except UserError as exc:
        return Check(False, "migrations", str(exc), exc.exit_code)
    return Check(True, "migrations", f"{dbmod.migrations_dir()}: up to revision {head}, as this version expects")


def _check_authserv_id(mb: MailboxConfig) -> Check:
    what = f"mailbox {mb.name} sender verification"
    if mb.authserv_ids:
        return Check(True, what, "trusting the Authentication-Results written by " + ", ".join(mb.authserv_ids))
    return Check(False, what, f"authserv_id is not set and {mb.host} has no default, so every notice from this "
                 "mailbox is shown unverified; set authserv_id to the first word of the Authentication-Results "
                 "header your server adds to received mail (see README, 'Verified senders')", ConfigError.exit_code)


def _check_database(url: str | None) -> Check:
    try:
        resolved = dbmod.resolve_url(url)
    except ConfigError as exc:
        return Check(False, "database", str(exc), exc.exit_code)
    shown = dbmod.display_url(resolved)
    try:
        path = dbmod.sqlite_path(resolved)
    except Exception:  # noqa: BLE001 - whatever SQLAlchemy's URL parser raises, the URL is invalid
        return Check(False, "database", f"invalid URL {shown}; use sqlite:///PATH or postgresql+psycopg://...", 5)
    if path is not None and not path.exists():
        parent = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK):
            return Check(False, "database", f"{path} does not exist and {parent} is not writable; "
                         "choose a writable place with --db or [database] url", 5)
        return Check(True, "database", f"{shown}: not created yet; the first ingest or poll creates it")
    try:
        current = dbmod.revision_of(dbmod.make_engine(resolved))
        head = dbmod.head_revision()
    except UserError as exc:
        return Check(False, "database", str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - driver errors: unreachable server, unreadable file
        return Check(False, "database", str(dbmod.describe_db_error(resolved, exc, "open")), 5)
    if current == head:
        return Check(True, "database", f"{shown}: reachable, schema up to date ({head})")
    return Check(True, "database", f"{shown}: reachable, schema at {current or 'empty'}, code expects {head}; "
                 "it is upgraded on next use, or run `caltac-inbox db upgrade` now")


def _check_feeds(url: str | None) -> list[Check]:
    return [Check(ok, "feeds", detail, code) for ok, detail, code in feed_doctor_lines(url)]


def _check_mailbox(mb: MailboxConfig) -> list[Check]:
    what = f"mailbox {mb.name}"
    try:
        folders = check_mailbox(mb)
    except UserError as exc:
        return [Check(False, what, str(exc), exc.exit_code)]
    checks = [Check(True, what, f"logged in as {mb.username} at {mb.host}:{mb.port} ({mb.security})")]
    for folder in folders:
        checks.append(Check(folder.ok, f"{what} folder {folder.folder}", folder.detail,
                            0 if folder.ok else ConfigError.exit_code))
    if any(not f.ok for f in folders):
        try:
            names = ", ".join(list_folders(mb))
            checks.append(Check(False, what, f"folders on the server: {names}", ConfigError.exit_code))
        except Exception:  # noqa: BLE001 - the folder list only helps; the failing check stands
            pass
    return checks


DOCTOR_HELP = """Check the configuration, the database, the calendar feeds and every mailbox, and say
what to fix.

Logs in to each configured mailbox and opens each folder read-only (EXAMINE); changes
nothing. Exits non-zero when a check fails (2 configuration, 3 authentication,
4 connection, 5 database).

\b
Example:
  caltac-inbox --config /etc/caltac-inbox/config.toml doctor
"""


@click.command("doctor", help=DOCTOR_HELP)
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object: {"ok": ..., "checks": [{"ok", "what", "detail", "exit_code"}, ...]}.')
@click.pass_context
def doctor_command(ctx: click.Context, as_json: bool) -> None:
    checks = doctor_checks(*_global_options(ctx))
    if as_json:
        failed = [c for c in checks if not c.ok]
        click.echo(json_line({"ok": not failed, "checks": [c.to_json() for c in checks]}))
        if failed:
            sys.exit(max(c.exit_code for c in failed) or 1)
        return
    for check in checks:
        click.echo(printable(check.line()))  # folder names and server replies come from the server
    failed = [c for c in checks if not c.ok]
    if failed:
        click.echo(f"{len(failed)} problem(s) found; fix them and run `caltac-inbox doctor` again", err=True)
        sys.exit(max(c.exit_code for c in failed) or 1)
    click.echo("all checks passed")


# -- db ---------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """Database maintenance.

    \b
    Example:
      caltac-inbox --db postgresql+psycopg://me@dbhost/caltac db upgrade
    """


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Create or migrate the database schema to the latest version.

    Runs automatically on first use; run it explicitly after an upgrade or to
    check that the database is reachable.

    \b
    Example:
      caltac-inbox db upgrade
      caltac-inbox --db sqlite:///out/demo.db db upgrade
    """
    url = dbmod.resolve_url(app.db_url())
    revision = dbmod.revision_of(dbmod.connect(url))
    click.echo(f"database {dbmod.display_url(url)} is at revision {revision} (latest)")


@db.command("rebuild-timeline")
@pass_app
def db_rebuild_timeline(app: App) -> None:
    """Rebuild the whole timeline from the stored facts and corrections.

    Every ingest, poll and correction already updates the entries it touches;
    this replays everything, the way `reparse --all` ends. It prints how many
    entries changed (0 when the timeline was in line with the facts).

    \b
    Example:
      caltac-inbox db rebuild-timeline
    """
    from caltac_inbox.store.light import missing_database_error

    missing = missing_database_error(app.db_url())
    if missing is not None:
        raise missing
    with app.open_store() as store:
        refreshed = store.refresh_timeline(full=True)
    click.echo(f"timeline rebuilt: {refreshed.count} entr{'y' if refreshed.count == 1 else 'ies'} changed")
