"""`caltac-inbox changes`: what polls and ingests changed in the timeline, shown again.

Each line is the line the poll or ingest printed (export.notify.change_lines), preceded
by when it was recorded.
"""
from __future__ import annotations

from datetime import datetime

import click

from caltac_inbox.cli.app import read_timeline
from caltac_inbox.display import json_line, printable
from caltac_inbox.store import read as queries
from caltac_inbox.timeline.changes import TimelineChange, change_line
from caltac_inbox.timeline.time import LOS_ANGELES
from caltac_inbox.user_dates import read_user_date


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
    app = ctx.find_root().obj
    since_day = None
    if since.strip().lower() not in ("last-poll", "last"):
        try:
            since_day = read_user_date(since, datetime.now(LOS_ANGELES).date()).day
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--since'") from None
    rows = read_timeline(app, lambda source: queries.timeline_changes(source, since_day, mailbox))
    if json_output:
        for row in rows:
            click.echo(json_line(row))
        return
    for row in rows:
        click.echo(printable(f"{row['recorded_at'][:16].replace('T', ' ')}  {change_line(TimelineChange.from_json(row))}"))
