"""What the commands that record a coordinator's decision share (cli/corrections.py and
`done`, `digest` in cli/week.py): the day typed dates are read from, opening a database
that exists, and storing a correction with the timeline rebuilt after it.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable

import click

from caltac_inbox.store.light import missing_database_error
from caltac_inbox.timeline.time import LOS_ANGELES
from caltac_inbox.user_dates import DateInputError, read_day_or_time

# also store.edits's (which cli/week.py must not import at start-up: it loads SQLAlchemy)
ENTRY_HINT = "list entries with `caltac-inbox timeline --include-dismissed`"


def today() -> date:
    return datetime.now(LOS_ANGELES).date()


def read_when(text: str | None, option: str) -> date | datetime | None:
    """A day (the rules of `--as-of`: YYYY-MM-DD, today, +7d, next monday ...) or
    "YYYY-MM-DD HH:MM" in America/Los_Angeles. A usage error when it cannot be read."""
    if text is None:
        return None
    try:
        return read_day_or_time(text, today())
    except DateInputError as exc:
        raise click.UsageError(f"{option}: {exc}") from None


def open_existing(app: Any) -> Any:
    """The store of a database that exists: a correction, like a query, never creates
    one (a mistyped --db must not look like an empty timeline)."""
    missing = missing_database_error(app.db_url())
    if missing is not None:
        raise missing
    return app.open_store()


def store_and_refresh(app: Any, work: Callable[[Any], Any]) -> tuple[Any, int]:
    """`work(session)` in one transaction, then the timeline rebuilt with it."""
    from caltac_inbox.store.corrections import NotFound
    from caltac_inbox.store.read import CORRECTION_RUN

    with open_existing(app) as store:
        try:
            with store.session() as session:
                result = work(session)
        except NotFound:
            raise
        store.run_id = CORRECTION_RUN + store.run_id  # not a poll: `changes --since last-poll` skips it
        changes = store.refresh_timeline().count
    return result, changes


__all__ = ["ENTRY_HINT", "open_existing", "read_when", "store_and_refresh", "today"]
