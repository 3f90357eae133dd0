"""What a poll or ingest changed in the timeline: the lines it prints, the notify command
it runs, and `caltac-inbox changes` that shows them again later.

A change is a timeline.changes.TimelineChange (or its JSON). Under cron, these lines are
the whole output of a poll that changed something, and nothing is printed otherwise.
`--notify-command CMD` (or `notify_command` in the config file) runs CMD, split like a
shell would but without one, with the changes as a JSON array on stdin, only when there
are changes; the command takes any secret it needs from its environment.

Light to import (click only): poll and ingest import it on every run.
"""
from __future__ import annotations

import json
import subprocess
from typing import Any, Sequence

import click

from caltac_inbox.display import json_line, printable
from caltac_inbox.errors import UserError

NOTIFY_TIMEOUT_SECONDS = 120


class NotifyError(UserError):
    """The notify command could not be run or failed; the changes are stored all the same."""

    exit_code = 1


def change_lines(changes: Sequence[Any]) -> list[str]:
    from caltac_inbox.timeline.changes import change_line

    return [printable(change_line(c)) for c in changes]


def print_changes(changes: Sequence[Any]) -> None:
    for line in change_lines(changes):
        click.echo(line)


def notify_option(f: Any) -> Any:
    return click.option("--notify-command", "notify_command", metavar="CMD",
                        help="Run CMD (split like a shell would, no shell) with the timeline changes as a JSON "
                             "array on stdin, only when something changed. Default: notify_command in the "
                             "config file. Secrets for it come from its environment.")(f)


def verbose_option(f: Any) -> Any:
    return click.option("--verbose", "-v", is_flag=True,
                        help="Also print the counts when stdout is not a terminal (cron).")(f)


def resolve_notify(option: str | None, config: Any) -> tuple[str, ...] | None:
    """--notify-command, else the config file's notify_command, else None."""
    if option is not None:
        from caltac_inbox.config import notify_argv

        return notify_argv(option, "--notify-command")
    return getattr(config, "notify_command", None)


def notify(argv: Sequence[str] | None, changes: Sequence[tuple[str | None, Any]]) -> None:
    """Run the notify command with `changes` ((mailbox, TimelineChange) pairs) as one JSON
    array on stdin, if there are any; each object carries its mailbox as `changes --json`
    does. Raises NotifyError (one line) when it cannot be run or exits non-zero."""
    if not argv or not changes:
        return
    payload = json.dumps([{**c.to_json(), "mailbox": mailbox} for mailbox, c in changes], ensure_ascii=False).encode()
    name = argv[0]
    try:
        done = subprocess.run(list(argv), input=payload, timeout=NOTIFY_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise NotifyError(f"notify command {name!r} not found; check --notify-command or notify_command "
                          "(the changes are stored: `caltac-inbox changes --since last-poll`)") from None
    except PermissionError:
        raise NotifyError(f"notify command {name!r} is not executable; check its permissions "
                          "(the changes are stored: `caltac-inbox changes --since last-poll`)") from None
    except subprocess.TimeoutExpired:
        raise NotifyError(f"notify command {name!r} did not finish within {NOTIFY_TIMEOUT_SECONDS} s; it was "
                          "stopped (the changes are stored: `caltac-inbox changes --since last-poll`)") from None
    except OSError as exc:
        raise NotifyError(f"cannot run notify command {name!r}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise NotifyError(f"notify command {name!r} failed with exit status {done.returncode} (the changes are "
                          "stored: `caltac-inbox changes --since last-poll`)")


@click.command("changes")
@click.option("--since", required=True, metavar="DATE|last-poll",
              help="Changes recorded on or after this day (YYYY-MM-DD, today, +7d, ...), or `last-poll` for "
                   "the changes of the last poll or ingest that changed something.")
@click.option("--mailbox", metavar="NAME", help="Only changes recorded by a poll or ingest of this mailbox.")
@click.option("--json", "json_output", is_flag=True, help="JSON Lines: one change per line.")
@click.pass_context
def changes_command(ctx: click.Context, since: str, mailbox: str | None, json_output: bool) -> None:
    """Show again what polls and ingests changed in the timeline.

    Each line is one new, changed, cancelled or removed entry, as the poll or
    ingest printed it, preceded by when it was recorded (Los Angeles time).

    \b
    Example:
      caltac-inbox changes --since last-poll
      caltac-inbox changes --since 2026-09-01 --json
    """
    from caltac_inbox.store import read as queries

    app = ctx.find_root().obj
    since_day = None
    if since.strip().lower() not in ("last-poll", "last"):
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from caltac_inbox.user_dates import read_user_date

        try:
            since_day = read_user_date(since, datetime.now(ZoneInfo("America/Los_Angeles")).date()).day
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--since'") from None
    from caltac_inbox.cli import read_timeline

    rows = read_timeline(app, lambda source: queries.timeline_changes(source, since_day, mailbox))
    if json_output:
        for row in rows:
            click.echo(json_line(row))
        return
    from caltac_inbox.timeline.changes import TimelineChange, change_line

    for row in rows:
        click.echo(printable(f"{row['recorded_at'][:16].replace('T', ' ')}  {change_line(TimelineChange.from_json(row))}"))


__all__ = ["NotifyError", "change_lines", "changes_command", "notify", "notify_option", "print_changes",
           "resolve_notify", "verbose_option"]
