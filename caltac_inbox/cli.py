"""caltac-inbox command line: thin click commands over pipeline and store.

Global options come before the command: `caltac-inbox [--db URL] [--config FILE]
[--debug] COMMAND ...`. Commands get what they need from `ctx.obj` (an `App`):
`app.open_store()` for a migrated Store, `app.config()` for the loaded configuration.
The timeline queries (upcoming, timeline, show, export-ics) go through
`read_timeline(app, query)`, which skips SQLAlchemy for an existing SQLite file.

Listing commands share `@output_options` (`--json` JSON Lines, `--csv`, a readable
table by default) and print with `emit(rows, output, columns)`.

Errors: a `caltac_inbox.errors.UserError` becomes `caltac-inbox: error: <message>` on
stderr and its exit code; anything unexpected becomes one line plus a hint to rerun
with --debug (which shows the traceback). Keep this module import-light: sqlalchemy,
the parser and the pipeline are imported inside the command functions.
"""
from __future__ import annotations

import functools
import json
import sys
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Sequence, TypeVar

import click

from caltac_inbox.budget import MAX_MESSAGE_MB
from caltac_inbox.display import clip, csv_cell, fit_columns, json_line, printable, table_length
from caltac_inbox.changes_cli import notify, notify_option, print_changes, resolve_notify
from caltac_inbox.errors import InputError, UserError

PROG = "caltac-inbox"
# model.FACT_KINDS and "task", model.PROGRAMS: spelled out here because every command,
# a poll too, imports this module, and a poll that finds nothing new imports no model.
KINDS = ("downtime", "designation", "credential", "retention", "deadline", "task")
PROGRAMS = ("CAASPP", "ELPAC")


# ----------------------------------------------------------------------------- errors


def print_error(message: str) -> None:
    """One line on stderr in the house style (mail text in it cannot reach the terminal raw)."""
    click.echo(f"{PROG}: error: {printable(message)}", err=True)


def handle_cli_error(exc: BaseException, debug: bool = False) -> int:
    """Report `exc` on stderr (never a traceback unless `debug`); return the exit code."""
    if isinstance(exc, UserError):
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        print_error(str(exc))
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        print_error("interrupted")
        return 130
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    detail = " ".join(str(exc).split()) or "(no message)"
    print_error(f"unexpected {type(exc).__name__}: {detail} (rerun with --debug for the traceback and report it)")
    return 1


class CaltacGroup(click.Group):
    """The root group: turns exceptions from any command into a message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.UsageError as exc:
            # One line in the house style (click would print the usage block first).
            where = exc.ctx.command_path if exc.ctx else PROG
            print_error(f"{exc.format_message().rstrip('.')} (see `{where} --help`)")
            ctx.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # Output piped into `head` and closed: not an error. Silence the flush at exit.
            try:
                sys.stdout = open("/dev/null", "w")  # noqa: SIM115
            except OSError:
                pass
            ctx.exit(0)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the one place that does this
            ctx.exit(handle_cli_error(exc, debug=bool(ctx.params.get("debug"))))


# ----------------------------------------------------------------------------- app context


@dataclass
class App:
    """Global options, resolved lazily so `--help` and `extract` never touch config or DB."""

    db_option: str | None = None
    config_option: str | None = None
    debug: bool = False
    _config: Any = field(default=None, repr=False)

    def config(self) -> Any:
        """The loaded configuration (caltac_inbox.config.Config)."""
        if self._config is None:
            from caltac_inbox.config import load_config

            self._config = load_config(self.config_option)
        return self._config

    def db_url(self) -> str | None:
        """--db > CALTAC_INBOX_DB > config [database] url > None (the default SQLite file)."""
        if self.db_option:
            return self.db_option
        database = getattr(self.config(), "database", None)
        return getattr(database, "url", None) or None

    def budget(self, seconds: float | None = None, memory_mb: int | None = None) -> Any:
        """The ReadBudget of one message: the options given, else [limits] in the config file."""
        from caltac_inbox.budget import ReadBudget

        limits = self.config().limits
        return ReadBudget(seconds or limits.message_seconds, memory_mb or limits.message_memory_mb)

    def open_store(self, budget: Any = None):
        """A migrated caltac_inbox.pipeline.Store (reading within `budget`, default
        `self.budget()`); close it (or use `with`) when done."""
        from caltac_inbox.pipeline import open_store

        return open_store(self.db_url(), budget=budget or self.budget())


pass_app = click.make_pass_decorator(App)


# ----------------------------------------------------------------------------- output


def output_options(f: Callable) -> Callable:
    """Add --json / --csv to a listing command; the command receives `output`
    ("json", "csv" or "table") and prints with `emit`."""

    @click.option("--csv", "csv_output", is_flag=True, help="CSV with a header row.")
    @click.option("--json", "json_output", is_flag=True, help="JSON Lines: one object per line.")
    @functools.wraps(f)
    def wrapper(*args: Any, json_output: bool, csv_output: bool, **kwargs: Any) -> Any:
        if json_output and csv_output:
            raise click.UsageError("choose one of --json and --csv")
        output = "json" if json_output else "csv" if csv_output else "table"
        return f(*args, output=output, **kwargs)

    return wrapper


Column = tuple[str, Callable[[dict[str, Any]], Any]]


# The columns a table narrows to fit a terminal (display.fit_columns), first the first.
ELASTIC = ("what", "subject", "error", "source", "sender", "name", "flags", "kinds", "mailbox", "program", "status")
KEEP_END = frozenset({"source"})  # a path: cut from the left, so the file name shows
# How a coloured table shows a status (click.style arguments); headers are bold.
STYLES: dict[tuple[str, str], dict[str, Any]] = {
    ("status", "now"): {"fg": "yellow", "bold": True},
    ("status", "past"): {"dim": True},
    ("status", "cancelled"): {"fg": "red"},
}


def emit(rows: Iterable[dict[str, Any]], output: str, columns: Sequence[Column], *, empty: str = "",
         narrow: Sequence[Column] | None = None) -> None:
    """Print rows as JSON Lines (the whole dict), CSV or a table (the given columns).
    Mail text never reaches the terminal or a spreadsheet raw (see caltac_inbox.display).

    A table fits the terminal (or COLUMNS; caltac_inbox.terminal): when it is too
    wide it takes the `narrow` columns, if given, and cuts the ELASTIC ones; on a
    terminal it is coloured unless NO_COLOR is set. To a pipe or a file without
    COLUMNS it is printed as it always was, cells cut at 60 characters."""
    if output == "json":
        for row in rows:
            click.echo(json_line(row))
        return
    headers = [name for name, _ in columns]
    if output == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow([csv_cell(value, _cell(value)) for value in (get(row) for _, get in columns)])
        return
    rows = list(rows)
    cells = [[_cell(get(row)) for _, get in columns] for row in rows]
    if not cells:
        if empty:
            click.echo(printable(empty))
        return
    from caltac_inbox.terminal import colour_wanted, table_width

    width = table_width(sys.stdout)
    if width is None:
        limit = 60
        cells = [[c if len(c) <= limit else c[: limit - 1] + "…" for c in row] for row in cells]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
        for line in [headers, ["-" * w for w in widths], *cells]:
            click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        return
    natural = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    if narrow is not None and table_length(natural) > width:
        cells = [[_cell(get(row)) for _, get in narrow] for row in rows]
    fitted = fit_columns(headers, cells, width, ELASTIC)
    colour = colour_wanted(sys.stdout)
    shown = [(i, w) for i, w in enumerate(fitted) if w is not None]

    def line(texts: Sequence[str], style: Callable[[int, str], dict[str, Any] | None]) -> str:
        parts = []
        for i, w in shown:
            text = clip(texts[i], w, keep_end=headers[i] in KEEP_END)
            look = style(i, text) if colour else None
            parts.append((click.style(text, **look) if look else text) + " " * (w - len(text)))
        return "  ".join(parts).rstrip()

    click.echo(line(headers, lambda i, text: {"bold": True}))
    click.echo(line(["-" * (w or 0) for w in fitted], lambda i, text: None))
    for row in cells:
        click.echo(line(row, lambda i, text: STYLES.get((headers[i], text))))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return " ".join(printable(str(value)).split())


def short_when(value: str | None) -> str:
    """'2020-08-14T17:00:00-07:00' -> '2020-08-14 17:00'; dates unchanged."""
    if not value:
        return ""
    return value[:16].replace("T", " ") if len(value) > 10 else value


def entry_when(e: dict[str, Any]) -> str:
    kind = e.get("kind")
    if kind == "downtime":
        return short_when(e.get("start") or e.get("end"))
    if kind == "task":
        return e.get("month") or "ongoing"
    return short_when(e.get("due") or e.get("at") or e.get("reminder_date"))


def entry_summary(e: dict[str, Any]) -> str:
    """The "what" of an entry or fact (JSON): timeline.kinds.what."""
    from caltac_inbox.model import Fact
    from caltac_inbox.timeline.kinds import what

    return what(Fact.from_json(e))


def entry_until_narrow(e: dict[str, Any]) -> str:
    """A downtime's end as far as it differs from its start: '08:00' the same day,
    '08-20 08:00' the same year, else in full (a narrow table's `until`)."""
    until = short_when(e.get("end")) if e.get("kind") == "downtime" else ""
    when = entry_when(e)
    if len(until) > 10 and until[:10] == when[:10]:
        return until[11:]
    if until[:4] == when[:4] and len(when) >= 10:
        return until[5:]
    return until


def entry_status(e: dict[str, Any], at: datetime) -> str:
    """The status a table shows at the instant `at`: "now" while the entry's window
    (or due day or time) holds `at`, "past" once it is over, else the entry's own
    status; a cancelled entry stays cancelled."""
    status = e.get("status") or ""
    if status == "cancelled":
        return status
    from caltac_inbox.model import Fact
    from caltac_inbox.timeline import kinds

    fact = Fact.from_json(e)
    key = kinds.key_date(fact)
    if key is None and e.get("reminder_date"):
        key = date.fromisoformat(e["reminder_date"])
    span = kinds.span(fact, key)
    if span is None:
        return status
    first, after = span
    if at >= after:
        return "past"
    return "now" if at >= first else status


def _statuses_at(rows: list[dict[str, Any]], at: datetime, output: str) -> list[dict[str, Any]]:
    """Rows whose status follows time (entry_status) for a table or CSV; JSON keeps the
    entry's own status (docs/facts.md)."""
    if output == "json":
        return rows
    return [{**row, "status": entry_status(row, at)} for row in rows]


def _flags(e: dict[str, Any]) -> str:
    return ", ".join(f for f, on in (("unverified", e.get("unverified")), ("review", e.get("needs_review")),
                                     *_correction_flags(e)) if on)


def _correction_flags(e: dict[str, Any]) -> list[tuple[str, bool]]:
    """corrected, added, dismissed, superseded: what the coordinator's corrections did."""
    marks = e.get("corrections") or []
    active = {m.get("action") for m in marks if m.get("state") == "active"}
    return [("corrected", "correct" in active), ("added", "add" in active), ("dismissed", "dismiss" in active),
            ("superseded", any(m.get("state") == "superseded" for m in marks))]


ENTRY_COLUMNS: list[Column] = [
    ("id", lambda e: e.get("id")),
    ("when", entry_when),
    ("until", lambda e: short_when(e.get("end")) if e.get("kind") == "downtime" else ""),
    ("kind", lambda e: e.get("kind")),
    ("program", lambda e: e.get("program")),
    ("status", lambda e: e.get("status")),
    ("what", entry_summary),
    ("flags", _flags),
]

ENTRY_COLUMNS_NARROW: list[Column] = [
    (name, entry_until_narrow if name == "until" else get) for name, get in ENTRY_COLUMNS]


def _fact_when(f: dict[str, Any]) -> str:
    """A downtime notice that only moves the end (an extension) has no start of its own:
    its row shows the new end under `until` and the status, not a point in time."""
    if f.get("kind") == "downtime" and not f.get("start"):
        return ""
    return entry_when(f)


FACT_COLUMNS: list[Column] = [
    ("source", lambda f: f.get("source")),
    ("kind", lambda f: f.get("kind")),
    ("when", _fact_when),
    ("until", lambda f: short_when(f.get("end")) if f.get("kind") == "downtime" else ""),
    ("program", lambda f: f.get("program")),
    ("status", lambda f: f.get("status") if f.get("kind") == "downtime" else ""),
    ("what", entry_summary),
]

def _fact_until_narrow(f: dict[str, Any]) -> str:
    """A narrow table's `until`: shortened against `when`, in full when `when` is blank
    (an extension's new end is its only date)."""
    return entry_until_narrow(f) if _fact_when(f) else short_when(f.get("end")) if f.get("kind") == "downtime" else ""


FACT_COLUMNS_NARROW: list[Column] = [
    (name, _fact_until_narrow if name == "until" else get) for name, get in FACT_COLUMNS]

MESSAGE_COLUMNS: list[Column] = [
    ("id", lambda m: m.get("id")),
    ("status", lambda m: m.get("parse_status")),
    ("sent", lambda m: short_when(m.get("sent"))),
    ("sender", lambda m: m.get("sender")),
    ("subject", lambda m: m.get("subject")),
    ("facts", lambda m: m.get("facts")),
    ("error", lambda m: m.get("parse_error")),
]


# ----------------------------------------------------------------------------- root


def version_line() -> str:
    """'caltac-inbox 0.1.0 (schema 0009)': the version and the head revision of the
    installed migrations, read from their files (no SQLAlchemy or Alembic import)."""
    from caltac_inbox import __version__
    from caltac_inbox.store.db import script_head

    try:
        schema = f"schema {script_head() or 'unknown'}"
    except UserError:
        schema = "database migrations missing; run caltac-inbox doctor"
    return f"{PROG} {__version__} ({schema})"


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_line())
        ctx.exit()


@click.group(cls=CaltacGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", metavar="URL", envvar="CALTAC_INBOX_DB",
              help="Database URL: sqlite:///path.db or postgresql+psycopg://user@host/dbname. "
                   "Env: CALTAC_INBOX_DB; else [database] url in the config file; else a SQLite "
                   "file in the user data directory.")
@click.option("--config", "config_path", metavar="FILE",
              help="Configuration file (TOML). Env: CALTAC_INBOX_CONFIG; default: the first that exists of "
                   "$XDG_CONFIG_HOME/caltac-inbox/config.toml, caltac-inbox/config.toml in each "
                   "$XDG_CONFIG_DIRS (/etc/xdg), /etc/caltac-inbox/config.toml.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and the database schema it uses, and exit.")
@click.pass_context
def main(ctx: click.Context, db: str | None, config_path: str | None, debug: bool) -> None:
    """Keep the dates that CalTAC, ETS and CDE notices announce: downtimes,
    coordinator designations, credential reminders, data-retention cutoffs.

    Reads notices (files, mbox, Maildir, IMAP), keeps the raw messages, extracts
    dated facts with the sentence they came from, and answers "what is coming".

    \b
    Example:
      caltac-inbox ingest --authserv-id mx.district.k12.ca.us samples/
      caltac-inbox upcoming --as-of 2020-08-01
      caltac-inbox --db postgresql+psycopg://me@dbhost/caltac timeline --json
    """
    from caltac_inbox.private_files import private_umask

    # Whatever a command creates (database, WAL, locks, state) is readable by its owner only.
    ctx.with_resource(private_umask())
    ctx.obj = App(db_option=db, config_option=config_path, debug=debug)


# ----------------------------------------------------------------------------- extract / ingest


def _authserv_id_option(f: Callable) -> Callable:
    return click.option(
        "--authserv-id", "authserv_ids", multiple=True, metavar="ID",
        help="Trust Authentication-Results written by this receiving server (repeatable), e.g. "
             "mx.google.com; without one, senders are shown unverified (see README).")(f)


def _trusting(items: Iterable[Any], authserv_ids: Sequence[str] | None) -> Iterable[Any]:
    """Input items told which receiving server's Authentication-Results to trust."""
    if authserv_ids is None:
        return items
    from dataclasses import replace

    ids = tuple(a.lower() for a in authserv_ids)
    return (replace(i, authserv_ids=ids) if hasattr(i, "raw") else i for i in items)


def _budget_options(f: Callable) -> Callable:
    from caltac_inbox.budget import MESSAGE_MEMORY_MB_RANGE, MESSAGE_SECONDS_RANGE

    f = click.option("--memory-limit", "memory_limit", type=click.IntRange(*MESSAGE_MEMORY_MB_RANGE), metavar="MB",
                     help="Memory parsing and classifying one message may take; a message over it fails with "
                          "the reason (default 512; ingest and reparse: [limits] message_memory_mb).")(f)
    return click.option("--time-limit", "time_limit", type=click.FloatRange(*MESSAGE_SECONDS_RANGE),
                        metavar="SECONDS",
                        help="Time parsing and classifying one message may take; a message over it fails with "
                             "the reason (default 30; ingest and reparse: [limits] message_seconds).")(f)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_authserv_id_option
@output_options
@_budget_options
@click.pass_context
def extract(ctx: click.Context, paths: tuple[str, ...], authserv_ids: tuple[str, ...], output: str,
            time_limit: float | None, memory_limit: int | None) -> None:
    """Print the facts in notices without storing anything.

    PATH is an .eml file, a directory of them (recursive), an mbox file, a
    Maildir, or - for one message on standard input. With --json: one object
    per message, in input order, with its facts (fields: docs/facts.md in the
    source repository). A message that cannot be read is named on stderr and
    the exit code is 1 once all input is processed.

    \b
    Example:
      caltac-inbox extract samples/ --json
      caltac-inbox extract notice.eml
    """
    from caltac_inbox.budget import DEFAULT_BUDGET, ReadBudget
    from caltac_inbox.pipeline import extract as run_extract
    from caltac_inbox.sources.files import iter_paths

    failed = 0
    rows: list[dict[str, Any]] = []
    budget = ReadBudget(time_limit or DEFAULT_BUDGET.seconds, memory_limit or DEFAULT_BUDGET.memory_mb)
    for extraction in run_extract(_trusting(iter_paths(list(paths)), authserv_ids or None), budget=budget):
        if extraction.error:
            failed += 1
            print_error(extraction.error)
        if output == "json":
            click.echo(json_line(extraction.to_json()))
        else:
            rows.extend({"source": extraction.source, **fact.to_json()} for fact in extraction.facts)
    if output != "json":
        emit(rows, output, FACT_COLUMNS, empty="No facts found.", narrow=FACT_COLUMNS_NARROW)
    if failed:
        ctx.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--mailbox", metavar="NAME", help="Tag the stored messages and facts with this mailbox name.")
@click.option("--json", "json_output", is_flag=True, help="Print the counts as one JSON object.")
@click.option("--max-size", "max_size_mb", type=click.IntRange(min=1), default=MAX_MESSAGE_MB, show_default=True, metavar="MB",
              help="Messages larger than this are archived but not parsed.")
@_authserv_id_option
@_budget_options
@notify_option
@pass_app
@click.pass_context
def ingest(ctx: click.Context, app: App, paths: tuple[str, ...], mailbox: str | None, json_output: bool,
           max_size_mb: int, authserv_ids: tuple[str, ...], time_limit: float | None, memory_limit: int | None,
           notify_command: str | None) -> None:
    """Archive notices and store their facts in the database.

    Same inputs as extract. Every message is archived once (by its bytes, line
    endings and mbox quoting aside): ingesting the same files again, or the IMAP
    copy of an exported message, stores nothing new and says so. Messages that
    fail to parse, or take longer than --time-limit or more memory than
    --memory-limit to read, are kept with their error (see `messages --failed`,
    retry with `reparse`); the exit code is then 1. A sender counts as
    authenticated only by the Authentication-Results of the receiving server
    named by --authserv-id, else by `authserv_id` of the configured mailbox
    named by --mailbox, else by the top-level `authserv_id` of the
    configuration file; with none of these its facts are shown unverified.

    \b
    Example:
      caltac-inbox ingest --authserv-id mx.district.k12.ca.us samples/
      caltac-inbox --db sqlite:///out/demo.db ingest ~/mail/caltac.mbox
    """
    from dataclasses import replace

    from caltac_inbox.sources.files import iter_paths

    items = iter_paths(list(paths))
    if mailbox:
        items = (replace(i, mailbox=mailbox) if hasattr(i, "raw") else i for i in items)
    items = _trusting(items, authserv_ids or app.config().authserv_ids_for(mailbox))
    notify_argv = resolve_notify(notify_command, app.config())
    from caltac_inbox.terminal import IngestProgress

    progress = IngestProgress(paths)  # measures the input before the database file is created beside it
    with app.open_store(app.budget(time_limit, memory_limit)) as store, progress:
        report = store.ingest(progress.items(items), max_size=max_size_mb * 2**20, progress=progress.stored)
    for _source, message in report.errors:
        print_error(message)
    if json_output:
        click.echo(json.dumps(report.to_json()))
    else:
        print_changes(report.changes)
        click.echo(report.summary())
    try:
        notify(notify_argv, [(mailbox, c) for c in report.changes])
    except UserError as exc:
        print_error(str(exc))
        ctx.exit(exc.exit_code)
    if report.errors:
        ctx.exit(1)


# ----------------------------------------------------------------------------- queries


def _kind_option(f: Callable) -> Callable:
    return click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS, case_sensitive=False),
                        help="Only this kind (repeatable).")(f)


def _program_option(f: Callable) -> Callable:
    return click.option("--program", "programs", multiple=True,
                        type=click.Choice(PROGRAMS, case_sensitive=False),
                        help="Only entries for this program (repeatable); entries naming no program always show.")(f)


def _mailbox_option(f: Callable) -> Callable:
    return click.option("--mailbox", metavar="NAME", help="Only entries from notices of this mailbox.")(f)


def _include_dismissed_option(f: Callable) -> Callable:
    return click.option("--include-dismissed", is_flag=True,
                        help="Also list entries dismissed with `caltac-inbox dismiss`.")(f)


MAX_DAYS = 36_525  # a century ahead


@dataclass(frozen=True)
class GivenDate:
    """A day from the command line and how it was typed."""

    day: date
    text: str
    iso: bool  # typed as YYYY-MM-DD: nothing to tell back

    def told(self, label: str) -> str:
        """'as of Monday 2026-12-07 (next monday)'."""
        return f"{label} {self.day:%A} {self.day.isoformat()} ({' '.join(self.text.split())})"


class DateParam(click.ParamType):
    """A day as a person types it (caltac_inbox.user_dates): YYYY-MM-DD, today,
    tomorrow, a weekday, +7d/-2w, or words dateparser reads; "today" is the day in
    America/Los_Angeles. Anything else, or a day outside model.FIRST_DAY..LAST_DAY,
    is a usage error."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, GivenDate):
            return value
        from caltac_inbox.timeline.time import LOS_ANGELES
        from caltac_inbox.user_dates import DateInputError, read_user_date

        try:
            read = read_user_date(str(value), datetime.now(LOS_ANGELES).date())
        except DateInputError as exc:
            self.fail(str(exc), param, ctx)
        return GivenDate(read.day, str(value), read.iso)


DATE = DateParam()
DATE_FORMS = "YYYY-MM-DD, today, tomorrow, a weekday (next monday), +7d, -2w or words ('in 3 days')"


def _tell_dates(*given: tuple[str, GivenDate | None]) -> None:
    """Say on stderr which day a non-ISO date was read as (stdout stays the data)."""
    for label, value in given:
        if value is not None and not value.iso:
            click.echo(printable(value.told(label)), err=True)


def _check_range(from_: GivenDate | None, to: GivenDate | None) -> None:
    if from_ is not None and to is not None and from_.day > to.day:
        raise click.UsageError(f"--from {from_.day} is after --to {to.day}; give the earlier day to --from",
                               ctx=click.get_current_context())


T = TypeVar("T")


def read_timeline(app: App, query: Callable[[Any], T]) -> T:
    """`query(source)` with `source` a row source of caltac_inbox.store.read.

    An existing SQLite file at the current migration is read through the standard
    library's sqlite3 (store.light): importing SQLAlchemy, its ORM and our models would
    cost ~0.25 s, most of such a command's run. Anything else (PostgreSQL, a new or
    older database) goes through the store, which creates or migrates it first.

    A timeline behind the stored facts (a run died between storing facts and refreshing
    the timeline) is rebuilt first, or, when the database cannot be written, shown as it
    is with a warning.

    Reading never creates a database: a missing SQLite file is a DatabaseError naming
    it. A `mailbox` parameter of the current command (--mailbox) must name a mailbox
    the database or the configuration knows, else it is a usage error listing them."""
    from caltac_inbox.store.light import missing_database_error, open_sqlite_reader, read_snapshot
    from caltac_inbox.store.read import timeline_behind

    url = app.db_url()
    conn = open_sqlite_reader(url)
    if conn is None and (missing := missing_database_error(url)) is not None:
        raise missing
    ctx = click.get_current_context(silent=True)
    mailbox = ctx.params.get("mailbox") if ctx is not None else None
    if conn is not None:
        with read_snapshot(conn, url) as snapshot:
            if mailbox:
                _require_known_mailbox(app, snapshot, mailbox)
            if not timeline_behind(snapshot):
                return query(snapshot)
    with app.open_store() as store:
        if mailbox:
            with store.session(readonly=True) as session:
                _require_known_mailbox(app, session, mailbox)
        try:
            store.catch_up_timeline()
        except UserError as exc:
            click.echo(f"{PROG}: warning: the timeline is behind the stored notices (a run stopped before "
                       f"updating it) and cannot be rebuilt now; showing it as it is: {printable(str(exc))}",
                       err=True)
        with store.session(readonly=True) as session:
            return query(session)


def _selection_text(kinds: Sequence[str], programs: Sequence[str], mailbox: str | None,
                    include_cancelled: bool = False) -> str:
    """' (kind downtime or deadline, program ELPAC, mailbox x)': the filters an empty
    result was looked for with ('' without any)."""
    parts = []
    if kinds:
        parts.append("kind " + " or ".join(dict.fromkeys(k.lower() for k in kinds)))
    if programs:
        parts.append("program " + " or ".join(dict.fromkeys(p.upper() for p in programs)))
    if mailbox is not None:
        parts.append(f"mailbox {mailbox}")
    if include_cancelled:
        parts.append("cancelled included")
    return f" ({', '.join(parts)})" if parts else ""


def _require_known_mailbox(app: App, source: Any, mailbox: str) -> None:
    """A usage error unless `mailbox` is one the database stored notices for or the
    configuration names: a typo must not look like an empty timeline."""
    from caltac_inbox.store.read import known_mailboxes

    known = sorted(set(known_mailboxes(source)) | {mb.name for mb in app.config().mailboxes})
    if mailbox not in known:
        listed = ", ".join(known) if known else "none: no notice was stored with a mailbox name"
        raise click.UsageError(f"no mailbox named {mailbox!r} (known: {listed})")


def _day(value: GivenDate | None) -> date | None:
    return value.day if value else None


@main.command()
@click.option("--as-of", "as_of", type=DATE, metavar="DATE",
              help=f"Count from this day: {DATE_FORMS}; default today.")
@click.option("--days", type=click.IntRange(min=0, max=MAX_DAYS), default=60, show_default=True,
              help="How many days ahead.")
@_kind_option
@_program_option
@_mailbox_option
@_include_dismissed_option
@output_options
@pass_app
def upcoming(app: App, as_of: GivenDate | None, days: int, kinds: tuple[str, ...], programs: tuple[str, ...],
             mailbox: str | None, output: str, include_dismissed: bool = False) -> None:
    """What is coming: entries starting or due in the next N days.

    Windows that began earlier and are still open are included; cancelled
    entries are not. Dates are days in America/Los_Angeles.

    \b
    Example:
      caltac-inbox upcoming --as-of 2020-08-01 --days 30
      caltac-inbox upcoming --kind downtime --program ELPAC --json
    """
    from datetime import timedelta

    from caltac_inbox.store import read as queries
    from caltac_inbox.timeline.time import LOS_ANGELES, instant

    _tell_dates(("as of", as_of))
    rows = read_timeline(app, lambda source: queries.upcoming(
        source, _day(as_of), days, [k.lower() for k in kinds], [p.upper() for p in programs], mailbox,
        include_dismissed=include_dismissed))
    first = _day(as_of) or datetime.now(LOS_ANGELES).date()
    rows = _statuses_at(rows, instant(first) if as_of else datetime.now(LOS_ANGELES), output)
    empty = f"Nothing coming up between {first} and {first + timedelta(days=days)}"
    emit(rows, output, ENTRY_COLUMNS, narrow=ENTRY_COLUMNS_NARROW,
         empty=f"{empty}{_selection_text(kinds, programs, mailbox)}.")


@main.command()
@click.option("--from", "from_", type=DATE, metavar="DATE", help=f"First day, inclusive: {DATE_FORMS}.")
@click.option("--to", "to", type=DATE, metavar="DATE", help="Last day, inclusive (same forms as --from).")
@_kind_option
@_program_option
@click.option("--include-cancelled", is_flag=True, help="Also list cancelled entries.")
@_mailbox_option
@_include_dismissed_option
@output_options
@pass_app
def timeline(app: App, from_: GivenDate | None, to: GivenDate | None, kinds: tuple[str, ...],
             programs: tuple[str, ...], include_cancelled: bool, mailbox: str | None, output: str,
             include_dismissed: bool = False) -> None:
    """Every timeline entry in date order, optionally within a date range.

    \b
    Example:
      caltac-inbox timeline --from 2020-07-01 --to 2020-12-31
      caltac-inbox timeline --kind designation --include-cancelled --csv > dates.csv
    """
    from caltac_inbox.store import read as queries
    from caltac_inbox.timeline.time import LOS_ANGELES

    _check_range(from_, to)
    _tell_dates(("from", from_), ("to", to))
    rows = read_timeline(app, lambda source: queries.timeline(
        source, _day(from_), _day(to), [k.lower() for k in kinds], [p.upper() for p in programs], include_cancelled,
        mailbox, include_dismissed=include_dismissed))
    period = (f" from {from_.day} to {to.day}" if from_ and to else f" from {from_.day} on" if from_
              else f" up to {to.day}" if to else "")
    rows = _statuses_at(rows, datetime.now(LOS_ANGELES), output)
    emit(rows, output, ENTRY_COLUMNS, narrow=ENTRY_COLUMNS_NARROW,
         empty=f"No entries{period}{_selection_text(kinds, programs, mailbox, include_cancelled)}.")


@main.command()
@click.argument("entry", metavar="ID")
@click.option("--json", "json_output", is_flag=True, help="Print the entry as one JSON object.")
@pass_app
def show(app: App, entry: str, json_output: bool) -> None:
    """Show one timeline entry: its fields, evidence, sources and history.

    ID is the number in the `id` column or the entry's uid (a unique prefix of
    the uid is enough).

    \b
    Example:
      caltac-inbox show 3
      caltac-inbox show 3 --json
    """
    from caltac_inbox.store import read as queries

    item = read_timeline(app, lambda source: queries.show(source, entry))
    if item is None:
        raise InputError(f"no timeline entry with id or uid {entry!r}; list entries with `caltac-inbox timeline`")
    if json_output:
        click.echo(json_line(item))
        return

    def say(line: str) -> None:  # each line holds mail text: one printable line
        click.echo(printable(line).rstrip())

    skip = {"sources", "source_details", "history", "evidence", "id", "corrections"}
    say(f"Entry {item['id']}: {item.get('kind')} — {entry_summary(item)}")
    for key, value in item.items():
        if key not in skip and value not in (None, [], ""):
            say(f"  {key}: {_cell(value)}")
    if item.get("evidence"):
        say(f"  evidence: {item['evidence']}")
    details = item.get("source_details") or []
    say("Sources:")
    for src in details or item.get("sources", []):
        say(f"  - {short_when(src.get('sent'))}  {src.get('subject') or '(no subject)'}  {src.get('message_id') or ''}")
        if src.get("forwarded_by"):
            say(f"    forwarded by {src['forwarded_by']}")
        if src.get("unverified"):
            say("    UNVERIFIED: the sender could not be authenticated")
        if src.get("evidence"):
            say(f"    \"{src['evidence']}\"")
    history = item.get("history") or []
    if history:
        say("History:")
        for h in history:
            change = f"{h.get('change')}" + (f": {h.get('from')} -> {h.get('to')}" if h.get("from") else "")
            say(f"  - {short_when(h.get('at'))}  {change}")
    for line in correction_history(item.get("corrections") or []):
        say(line)


def correction_history(marks: list[dict[str, Any]]) -> list[str]:
    """`show`'s lines for the coordinator's corrections of an entry."""
    lines = ["Corrections:"] if marks else []
    for m in marks:
        what = m.get("action")
        if what == "correct":
            what = "corrected " + ", ".join(
                f"{name} {short_when(_cell((m.get('before') or {}).get(name))) or '(none)'} -> "
                f"{short_when(_cell((m.get('values') or {}).get(name)))}" for name in m.get("fields", ()))
        state = m.get("state")
        if m.get("superseded_by"):
            state = f"superseded by {m['superseded_by']}"
        lines.append(f"  - {short_when(m.get('at'))}  #{m.get('correction')} {what} by {m.get('by')}: {state}"
                     + (f" ({m['reason']})" if m.get("reason") else ""))
    return lines


@main.command()
@click.option("--failed", is_flag=True, help="Only messages that failed to parse.")
@click.option("--search", metavar="TEXT", help="Only messages whose subject or sender contains TEXT (any case).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the N archived last.")
@_mailbox_option
@output_options
@pass_app
def messages(app: App, failed: bool, search: str | None, limit: int | None, mailbox: str | None,
             output: str) -> None:
    """List archived messages with their parse status and error, oldest first.

    \b
    Example:
      caltac-inbox messages --failed
      caltac-inbox messages --search downtime --limit 20
      caltac-inbox messages --json
    """
    from caltac_inbox.store import read as queries

    rows = read_timeline(app, lambda source: queries.list_messages(source, failed=failed, mailbox=mailbox,
                                                                   search=search, limit=limit))
    empty = ("No archived message matches --search." if search else "No failed messages." if failed
             else "No messages archived yet.")
    emit(rows, output, MESSAGE_COLUMNS, empty=empty)


@main.command()
@click.option("--failed/--all", "failed_only", default=True, show_default=True,
              help="Retry only messages that failed to parse, or re-read every archived message.")
@_budget_options
@pass_app
@click.pass_context
def reparse(ctx: click.Context, app: App, failed_only: bool, time_limit: float | None,
            memory_limit: int | None) -> None:
    """Parse and classify archived messages again (after an upgrade or a fix).

    Works on the stored raw bytes, so nothing is fetched. Running it twice
    changes nothing the second time. Exit code 1 if a message still fails.

    \b
    Example:
      caltac-inbox reparse --failed
      caltac-inbox reparse --all
    """
    with app.open_store(app.budget(time_limit, memory_limit)) as store:
        report = store.reparse(failed_only=failed_only, trust=app.config().authserv_ids_for)
    for _source, message in report.errors:
        print_error(message)
    click.echo(report.summary())
    if report.errors:
        ctx.exit(1)


# ----------------------------------------------------------------------------- export-ics


def _alarm_option(name: str, default: str, what: str) -> Callable:
    return click.option(name, default=default, show_default=True, metavar="DURATION",
                        help=f"Reminder before each {what}: e.g. 1d, 12h, 30m, 2w; 'none' for no reminder.")


@main.command("export-ics")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              metavar="FILE", help="Write the calendar here (default: standard output).")
@_kind_option
@_program_option
@click.option("--from", "from_", type=DATE, metavar="DATE", help=f"First day, inclusive: {DATE_FORMS}.")
@click.option("--to", "to", type=DATE, metavar="DATE", help="Last day, inclusive (same forms as --from).")
@_alarm_option("--alarm-downtime", "1d", "downtime")
@_alarm_option("--alarm-deadline", "3d", "deadline, designation, credential and retention date")
@click.option("--tasks", is_flag=True, help="Include checklist tasks (all-day on the first of their month).")
@_mailbox_option
@pass_app
def export_ics(app: App, output_path: str, kinds: tuple[str, ...], programs: tuple[str, ...],
               from_: GivenDate | None, to: GivenDate | None, alarm_downtime: str, alarm_deadline: str,
               tasks: bool, mailbox: str | None) -> None:
    """Write the timeline as an iCalendar (.ics) file to subscribe to.

    Events keep their UID across exports and updates (SEQUENCE increases when an
    entry changes, cancellations are STATUS:CANCELLED), so a calendar that
    subscribes to the published file updates events in place. Exporting the same
    database twice gives the same bytes. Downtimes are timed events in
    America/Los_Angeles; date-only deadlines are all-day events.

    \b
    Example:
      caltac-inbox export-ics -o caltac.ics
      caltac-inbox export-ics --kind downtime --program CAASPP --alarm-downtime 2d > downtimes.ics
    """
    from caltac_inbox.errors import ConfigError
    from caltac_inbox.export.ics import IcsOptions, calendar_entries, calendar_ics, parse_alarm

    _check_range(from_, to)
    _tell_dates(("from", from_), ("to", to))
    try:
        options = IcsOptions(alarm_downtime=parse_alarm(alarm_downtime), alarm_deadline=parse_alarm(alarm_deadline),
                             tasks=tasks or "task" in [k.lower() for k in kinds])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    entries = read_timeline(app, lambda source: calendar_entries(
        source, kinds=[k.lower() for k in kinds], programs=[p.upper() for p in programs], from_=_day(from_),
        to=_day(to), mailbox=mailbox))
    data = calendar_ics(entries, options)
    if output_path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    import os
    import tempfile

    target = os.path.abspath(output_path)
    try:
        # Write next to the target and rename: a calendar fetching the file never sees half of it.
        fd, tmp = tempfile.mkstemp(prefix=".caltac-ics-", dir=os.path.dirname(target))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"cannot write {output_path}: {exc.strerror}; choose another path with -o") from None


# ----------------------------------------------------------------------------- db


@main.group()
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
    from caltac_inbox.store import db as dbmod

    url = dbmod.resolve_url(app.db_url())
    engine = dbmod.connect(url)
    try:
        with engine.connect() as conn:
            revision = dbmod.current_revision(conn)
    finally:
        engine.dispose()
    click.echo(f"database {dbmod.display_url(url)} is at revision {revision} (latest)")


from caltac_inbox.timeline_cli import rebuild_timeline_command  # noqa: E402 - light module (click only)

db.add_command(rebuild_timeline_command(pass_app))


# ----------------------------------------------------------------------------- poll / doctor

from caltac_inbox.poll import doctor_command, poll_command  # noqa: E402 - light module (click only)

main.add_command(poll_command)
main.add_command(doctor_command)

from caltac_inbox.checklist_cli import checklist as checklist_group  # noqa: E402 - light module (click only)

main.add_command(checklist_group)

from caltac_inbox.web.cli import feed_commands, serve_command  # noqa: E402 - light module (click only)

main.add_command(serve_command)
main.add_command(feed_commands(output_options, _kind_option, _program_option, _mailbox_option))

from caltac_inbox.corrections_cli import make_commands as correction_commands  # noqa: E402 - light module

for _command in correction_commands(output_options, emit, pass_app, _program_option, _mailbox_option, KINDS[:-1]):
    main.add_command(_command)

from caltac_inbox.changes_cli import changes_command  # noqa: E402 - light module (click only)

main.add_command(changes_command)


if __name__ == "__main__":  # pragma: no cover
    main()
