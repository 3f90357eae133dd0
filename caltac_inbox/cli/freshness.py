"""Freshness under a listing (`upcoming`, `timeline`) and in `digest`: how long ago each
mailbox was polled (caltac_inbox.freshness), said the same way everywhere."""
from __future__ import annotations

from typing import Any

import click

from caltac_inbox.display import printable


def mailbox_freshness(app: Any, polls: list[dict[str, Any]]) -> list[Any]:
    """caltac_inbox.freshness.assess of the stored polls (store.read.mailbox_polls), with
    the configuration's mailboxes and max_age, now."""
    from datetime import datetime, timezone

    from caltac_inbox.errors import UserError
    from caltac_inbox.freshness import DEFAULT_MAX_AGE, assess, records_from_rows

    try:
        config = app.config()
    except (UserError, OSError):  # a listing given --db needs no configuration: the polled mailboxes count
        return assess(records_from_rows(polls), [], datetime.now(timezone.utc), DEFAULT_MAX_AGE)
    return assess(records_from_rows(polls), [mb.name for mb in config.mailboxes], datetime.now(timezone.utc),
                  config.max_age)


def tell_freshness(app: Any, polls: list[dict[str, Any]], output: str) -> None:
    """After a listing: a warning on stderr per stale mailbox; under a table, "mail
    checked 3 hours ago". Nothing for someone without mailboxes (files only)."""
    if not polls:
        # No mailbox was ever polled: none is stale and none was checked, whatever the
        # configuration names (freshness.assess), so the configuration is not read.
        return
    from caltac_inbox.freshness import checked_line, warning_lines

    states = mailbox_freshness(app, polls)
    for line in warning_lines(states):
        click.echo(f"caltac-inbox: warning: {printable(line)}", err=True)
    checked = checked_line(states)
    if checked and output == "table":
        click.echo(checked)


__all__ = ["mailbox_freshness", "tell_freshness"]
