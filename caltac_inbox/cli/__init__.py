"""caltac-inbox command line: thin click commands over pipeline and store.

Global options come before the command: `caltac-inbox [--db URL] [--config FILE]
[--debug] COMMAND ...`. Commands get what they need from `ctx.obj` (an `App`, cli.app):
`app.open_store()` for a migrated Store, `app.config()` for the loaded configuration.
The timeline queries go through `cli.app.read_timeline(app, query)`, which skips
SQLAlchemy for an existing SQLite file.

The package, bottom up: `options` (the leaf: the error line, common options, output
formats and `emit`), `selection` (the options that choose entries, dates as typed),
`app` (App, read_timeline) and `columns` (how rows show), then one module per command
group: `notices` (extract, ingest, messages, reparse), `timeline` (upcoming, timeline,
show), `calendar` (export-ics), `corrections` (dismiss, correct, add, undo, corrections, review,
confirm, reject), `mailbox` (poll, doctor, db), `changes`, `feeds` (serve, feed), `editors` (editor),
`checklist` and `week` (done, read, digest). This
module holds the root group only: a lazy group (click's "Lazily Loading Subcommands")
that imports a command's module when the command runs, so `caltac-inbox --help`
imports none of them. `LAZY_COMMANDS` names each command's module and the first
paragraph of its help, which the root `--help` lists (tests/system/test_cli.py holds
them equal to the commands' own).

Errors: a `caltac_inbox.errors.UserError` becomes `caltac-inbox: error: <message>` on
stderr and its exit code; anything unexpected becomes one line plus a hint to rerun
with --debug (which shows the traceback).
"""
from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any, NamedTuple

import click

from caltac_inbox.cli.options import PROG, print_error
from caltac_inbox.errors import UserError


class LazyCommand(NamedTuple):
    """Where a command lives ("module:attribute") and the first paragraph of its help."""

    path: str
    summary: str


LAZY_COMMANDS: dict[str, LazyCommand] = {
    "add": LazyCommand("caltac_inbox.cli.corrections:add",
                       "Add an entry no notice gave (an attachment, a phone call, a lead)."),
    "changes": LazyCommand("caltac_inbox.cli.changes:changes_command",
                           "Show again what polls and ingests changed in the timeline."),
    "checklist": LazyCommand("caltac_inbox.cli.checklist:checklist",
                             "The CDE LEA CAASPP Coordinator Checklist, month by month."),
    "confirm": LazyCommand("caltac_inbox.cli.corrections:confirm",
                           "Accept what unverified notices changed on an entry (flagged \"... by an unverified "
                           "notice: check\")."),
    "correct": LazyCommand("caltac_inbox.cli.corrections:correct", "Override fields of an entry the tool got wrong."),
    "corrections": LazyCommand("caltac_inbox.cli.corrections:corrections",
                               "List every correction, dismissal and added entry, with its state."),
    "db": LazyCommand("caltac_inbox.cli.mailbox:db", "Database maintenance."),
    "dismiss": LazyCommand("caltac_inbox.cli.corrections:dismiss",
                           "Hide an entry (or a lead) that does not concern this LEA."),
    "digest": LazyCommand("caltac_inbox.cli.week:digest",
                          "A weekly summary: what is coming, what changed, what needs a look."),
    "done": LazyCommand("caltac_inbox.cli.week:done", "Check off an entry: what it asks is done."),
    "doctor": LazyCommand("caltac_inbox.cli.mailbox:doctor_command",
                          "Check the configuration, the database, the calendar feeds and every mailbox, and say "
                          "what to fix."),
    "editor": LazyCommand("caltac_inbox.cli.editors:editor_group",
                          "People who may act from the web page: mark done, dismiss, correct, add, review."),
    "export-ics": LazyCommand("caltac_inbox.cli.calendar:export_ics",
                              "Write the timeline as an iCalendar (.ics) file to subscribe to."),
    "extract": LazyCommand("caltac_inbox.cli.notices:extract", "Print the facts in notices without storing anything."),
    "feed": LazyCommand("caltac_inbox.cli.feeds:feed_group",
                        "Private calendar feeds that calendar apps subscribe to."),
    "ingest": LazyCommand("caltac_inbox.cli.notices:ingest", "Archive notices and store their facts in the database."),
    "messages": LazyCommand("caltac_inbox.cli.notices:messages",
                            "List archived messages with their parse status and error, oldest first."),
    "poll": LazyCommand("caltac_inbox.cli.mailbox:poll_command",
                        "Fetch new notices from the configured IMAP mailboxes."),
    "read": LazyCommand("caltac_inbox.cli.week:read_command",
                        "Read a stored notice: From, To, Date, Subject, then its text."),
    "reparse": LazyCommand("caltac_inbox.cli.notices:reparse",
                           "Parse and classify archived messages again (after an upgrade or a fix)."),
    "reject": LazyCommand("caltac_inbox.cli.corrections:reject",
                          "Refuse what unverified notices changed on an entry; it keeps its verified values."),
    "review": LazyCommand("caltac_inbox.cli.corrections:review",
                          "Dated sentences of recent notices that gave no entry: what the tool was unsure of."),
    "serve": LazyCommand("caltac_inbox.cli.feeds:serve_command",
                         "Serve calendar feeds and the web timeline; editors can act on the page."),
    "show": LazyCommand("caltac_inbox.cli.timeline:show",
                        "Show one timeline entry: its fields, evidence, sources and history."),
    "timeline": LazyCommand("caltac_inbox.cli.timeline:timeline",
                            "Every timeline entry in date order, optionally within a date range."),
    "undo": LazyCommand("caltac_inbox.cli.corrections:undo",
                        "Revert a correction, dismissal or added entry (ids from `corrections`)."),
    "upcoming": LazyCommand("caltac_inbox.cli.timeline:upcoming",
                            "What is coming: entries starting or due in the next N days."),
}


def handle_cli_error(exc: BaseException, debug: bool = False) -> int:
    """Report `exc` on stderr (never a traceback unless `debug`); return the exit code."""
    import traceback  # here: only a failing command needs it

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


def load_command(name: str) -> click.Command:
    """The command `name` of LAZY_COMMANDS, its module imported now."""
    module_name, attribute = LAZY_COMMANDS[name].path.split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{LAZY_COMMANDS[name].path} is not a click command")
    return command


class CaltacGroup(click.Group):
    """The root group. Lazy: a command's module is imported when the command runs (or
    its own help is asked for); the command list of `--help` comes from LAZY_COMMANDS.
    It also turns exceptions from any command into a message and exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list as click writes it, each line from its summary: no command
        module is imported to show it."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in LAZY_COMMANDS and name not in self.commands:
                shown = click.Command(name, help=LAZY_COMMANDS[name].summary).get_short_help_str(limit)
            else:
                shown = self.commands[name].get_short_help_str(limit)
            rows.append((name, shown))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
            with contextlib.suppress(OSError):
                sys.stdout = open("/dev/null", "w")  # noqa: SIM115 - left open until the process exits
            ctx.exit(0)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the one place that does this
            ctx.exit(handle_cli_error(exc, debug=bool(ctx.params.get("debug"))))


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
              help="Database URL: sqlite:///path.db (or just the path) or postgresql+psycopg://user@host/dbname. "
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
    # Here, not at the top: `--help` and `--version` never reach this callback and so
    # never import the configuration and store modules App needs.
    from caltac_inbox.cli.app import App
    from caltac_inbox.private_files import private_umask

    # Whatever a command creates (database, WAL, locks, state) is readable by its owner only.
    ctx.with_resource(private_umask())
    ctx.obj = App(db_option=db, config_option=config_path, debug=debug)


__all__ = ["LAZY_COMMANDS", "CaltacGroup", "handle_cli_error", "load_command", "main", "version_line"]
