"""The timeline: `upcoming`, `timeline`, `show`, `export-ics`."""
from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime, timedelta
from typing import Any, Callable

import click

from caltac_inbox.cli.app import App, pass_app, read_timeline
from caltac_inbox.cli.columns import (ENTRY_COLUMNS, ENTRY_COLUMNS_COMPACT, ENTRY_COLUMNS_NARROW, entry_summary,
                                      short_when, statuses_at)
from caltac_inbox.cli.options import cell, emit, output_options
from caltac_inbox.cli.freshness import tell_freshness
from caltac_inbox.cli.selection import (DATE, DATE_FORMS, MAX_DAYS, GivenDate, check_range, day_of,
                                        include_dismissed_option, kind_option, mailbox_option, program_option,
                                        selection_text, tell_dates)
from caltac_inbox.display import json_line, printable
from caltac_inbox.errors import ConfigError, InputError
from caltac_inbox.export.ics import IcsOptions, calendar_entries, calendar_ics, parse_alarm
from caltac_inbox.store import read as queries
from caltac_inbox.timeline.time import LOS_ANGELES, instant


@click.command()
@click.option("--as-of", "as_of", type=DATE, metavar="DATE",
              help=f"Count from this day: {DATE_FORMS}; default today.")
@click.option("--days", type=click.IntRange(min=0, max=MAX_DAYS), default=60, show_default=True,
              help="How many days ahead.")
@kind_option
@program_option
@mailbox_option
@include_dismissed_option
@click.option("--include-done", is_flag=True, help="Also list entries marked done.")
@output_options
@pass_app
def upcoming(app: App, as_of: GivenDate | None, days: int, kinds: tuple[str, ...], programs: tuple[str, ...],
             mailbox: str | None, output: str, include_dismissed: bool = False, include_done: bool = False) -> None:
    """What is coming: entries starting or due in the next N days.

    Windows that began earlier and are still open are included; cancelled
    entries are not. Dates are days in America/Los_Angeles.

    \b
    Example:
      caltac-inbox upcoming --as-of 2020-08-01 --days 30
      caltac-inbox upcoming --kind downtime --program ELPAC --json
    """
    tell_dates(("as of", as_of))
    rows, polls = read_timeline(app, lambda source: (queries.upcoming(
        source, day_of(as_of), days, [k.lower() for k in kinds], [p.upper() for p in programs], mailbox,
        include_dismissed=include_dismissed, include_done=include_done), queries.mailbox_polls(source)))
    first = day_of(as_of) or datetime.now(LOS_ANGELES).date()
    rows = statuses_at(rows, instant(first) if as_of else datetime.now(LOS_ANGELES), output)
    empty = f"Nothing coming up between {first} and {first + timedelta(days=days)}"
    emit(rows, output, ENTRY_COLUMNS, narrow=ENTRY_COLUMNS_NARROW, compact=ENTRY_COLUMNS_COMPACT,
         empty=f"{empty}{selection_text(kinds, programs, mailbox)}.")
    tell_freshness(app, polls, output)


@click.command()
@click.option("--from", "from_", type=DATE, metavar="DATE", help=f"First day, inclusive: {DATE_FORMS}.")
@click.option("--to", "to", type=DATE, metavar="DATE", help="Last day, inclusive (same forms as --from).")
@kind_option
@program_option
@click.option("--include-cancelled", is_flag=True, help="Also list cancelled entries.")
@mailbox_option
@include_dismissed_option
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
    check_range(from_, to)
    tell_dates(("from", from_), ("to", to))
    rows, polls = read_timeline(app, lambda source: (queries.timeline(
        source, day_of(from_), day_of(to), [k.lower() for k in kinds], [p.upper() for p in programs], include_cancelled,
        mailbox, include_dismissed=include_dismissed), queries.mailbox_polls(source)))
    period = (f" from {from_.day} to {to.day}" if from_ and to else f" from {from_.day} on" if from_
              else f" up to {to.day}" if to else "")
    rows = statuses_at(rows, datetime.now(LOS_ANGELES), output)
    emit(rows, output, ENTRY_COLUMNS, narrow=ENTRY_COLUMNS_NARROW, compact=ENTRY_COLUMNS_COMPACT,
         empty=f"No entries{period}{selection_text(kinds, programs, mailbox, include_cancelled)}.")
    tell_freshness(app, polls, output)


@click.command()
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
    item = read_timeline(app, lambda source: queries.show(source, entry))
    if item is None:
        raise InputError(f"no timeline entry with id or uid {entry!r}; list entries with `caltac-inbox timeline`")
    if json_output:
        click.echo(json_line(item))
        return

    def say(line: str) -> None:  # each line holds mail text: one printable line
        click.echo(printable(line).rstrip())

    skip = {"sources", "source_details", "history", "evidence", "id", "corrections", "pending"}
    say(f"Entry {item['id']}: {item.get('kind')} — {entry_summary(item)}")
    for key, value in item.items():
        if key not in skip and value not in (None, [], ""):
            say(f"  {key}: {cell(value)}")
    if item.get("evidence"):
        say(f"  evidence: {item['evidence']}")
    details = item.get("source_details") or []
    say("Sources:")
    for src in details or item.get("sources", []):
        for line in source_lines(src):
            say(line)
    for line in [*history_lines(item.get("history") or []), *pending_lines(item.get("pending") or []),
                 *correction_history(item.get("corrections") or [])]:
        say(line)


def source_lines(src: dict[str, Any]) -> list[str]:
    """`show`'s lines for one source notice, ending with the command that prints it."""
    lines = [f"  - {short_when(src.get('sent'))}  {src.get('subject') or '(no subject)'}  {src.get('message_id') or ''}"]
    if src.get("forwarded_by"):
        lines.append(f"    forwarded by {src['forwarded_by']}")
    if src.get("unverified"):
        lines.append("    UNVERIFIED: the sender could not be authenticated")
    if src.get("evidence"):
        lines.append(f"    \"{src['evidence']}\"")
    if src.get("message_id") or src.get("message_pk"):
        lines.append(f"    read it: caltac-inbox read {(src.get('message_id') or '').strip('<>') or src['message_pk']}")
    return lines


def history_lines(history: list[dict[str, Any]]) -> list[str]:
    """`show`'s lines for how the notices changed an entry."""
    lines = ["History:"] if history else []
    for h in history:
        change = f"{h.get('change')}" + (f": {h.get('from')} -> {h.get('to')}" if h.get("from") else "")
        lines.append(f"  - {short_when(h.get('at'))}  {change}")
    return lines


def pending_lines(pending: list[dict[str, Any]]) -> list[str]:
    """`show`'s lines for the changes unverified notices asked of a verified entry."""
    lines = ["Pending (the values above are the verified ones; `caltac-inbox confirm ID` or `reject ID`):"
             ] if pending else []
    for p in pending:
        lines.append(f"  - {short_when(p.get('sent'))}  {p.get('note')}  \"{p.get('subject') or '(no subject)'}\" "
                     f"{p.get('message_id') or ''}")
    return lines


def correction_history(marks: list[dict[str, Any]]) -> list[str]:
    """`show`'s lines for the coordinator's corrections of an entry."""
    lines = ["Corrections:"] if marks else []
    for m in marks:
        what = m.get("action")
        if what in ("confirm", "reject"):
            what = f"{what}ed " + "; ".join(m.get("changes") or [])
        if what == "correct":
            what = "corrected " + ", ".join(
                f"{name} {short_when(cell((m.get('before') or {}).get(name))) or '(none)'} -> "
                f"{short_when(cell((m.get('values') or {}).get(name)))}" for name in m.get("fields", ()))
        state = m.get("state")
        if m.get("superseded_by"):
            state = f"superseded by {m['superseded_by']}"
        lines.append(f"  - {short_when(m.get('at'))}  #{m.get('correction')} {what} by {m.get('by')}: {state}"
                     + (f" ({m.get('reason') or m.get('note')})" if m.get("reason") or m.get("note") else ""))
    return lines


def _alarm_option(name: str, default: str, what: str) -> Callable:
    return click.option(name, default=default, show_default=True, metavar="DURATION",
                        help=f"Reminder before each {what}: e.g. 1d, 12h, 30m, 2w; 'none' for no reminder.")


@click.command("export-ics")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              metavar="FILE", help="Write the calendar here (default: standard output).")
@kind_option
@program_option
@click.option("--from", "from_", type=DATE, metavar="DATE", help=f"First day, inclusive: {DATE_FORMS}.")
@click.option("--to", "to", type=DATE, metavar="DATE", help="Last day, inclusive (same forms as --from).")
@_alarm_option("--alarm-downtime", "1d", "downtime")
@_alarm_option("--alarm-deadline", "3d", "deadline, designation, credential and retention date")
@click.option("--tasks", is_flag=True, help="Include checklist tasks (all-day on the first of their month).")
@mailbox_option
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
    check_range(from_, to)
    tell_dates(("from", from_), ("to", to))
    try:
        options = IcsOptions(alarm_downtime=parse_alarm(alarm_downtime), alarm_deadline=parse_alarm(alarm_deadline),
                             tasks=tasks or "task" in [k.lower() for k in kinds])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    entries = read_timeline(app, lambda source: calendar_entries(
        source, kinds=[k.lower() for k in kinds], programs=[p.upper() for p in programs], from_=day_of(from_),
        to=day_of(to), mailbox=mailbox))
    data = calendar_ics(entries, options)
    if output_path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
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

