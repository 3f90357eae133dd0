"""`caltac-inbox export-ics`: the timeline as an iCalendar file. A module of its own, so
`upcoming` and `timeline` never import the calendar writer."""
from __future__ import annotations

import os
import sys
import tempfile
from typing import IO, TYPE_CHECKING, Any, Callable

import click

from caltac_inbox.cli.app import App, pass_app, read_timeline
from caltac_inbox.cli.selection import (DATE, DATE_FORMS, GivenDate, check_range, day_of, kind_option, mailbox_option,
                                        program_option, tell_dates)
from caltac_inbox.errors import ConfigError, InputError
from caltac_inbox.export.ics import IcsOptions, calendar_stream, parse_alarm

if TYPE_CHECKING:
    from caltac_inbox.store.read import RowSource


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
    selection: dict[str, Any] = dict(kinds=[k.lower() for k in kinds], programs=[p.upper() for p in programs],
                                     from_=day_of(from_), to=day_of(to), mailbox=mailbox)

    def write(fh: IO[bytes]) -> None:
        """The calendar written to `fh` as it is read (export.ics.calendar_stream)."""
        def write_events(source: RowSource) -> None:
            # write(), not writelines(): a stream that overrides only write() (click's test
            # runner copies stdout that way) must see every piece
            for piece in calendar_stream(source, options, **selection):
                fh.write(piece)

        read_timeline(app, write_events)

    if output_path == "-":
        sys.stdout.flush()
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    target = os.path.abspath(output_path)
    try:
        # Write next to the target and rename: a calendar fetching the file never sees half of it.
        fd, tmp = tempfile.mkstemp(prefix=".caltac-ics-", dir=os.path.dirname(target))
    except OSError as exc:
        raise InputError(f"cannot write {output_path}: {exc.strerror}; choose another path with -o") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"cannot write {output_path}: {exc.strerror}; choose another path with -o") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
