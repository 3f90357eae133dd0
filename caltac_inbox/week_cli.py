"""A coordinator's week: `done`, `read`, `digest`.

Thin: each command reads its options, calls the logic (store.corrections for `done`,
store.notice for `read`, export.digest for `digest`) and prints. Registered on the root
group in cli.py (issue 24 moves the commands into the cli package).
"""
from __future__ import annotations

from typing import Any, Callable

import click

from caltac_inbox.corrections_cli import ENTRY_HINT, _by, _by_option, _json_option, _say, _store_and_refresh
from caltac_inbox.errors import InputError


def make_commands(pass_app: Callable) -> list[click.Command]:
    """The commands, given cli.py's pass_app (no import cycle with cli.py)."""

    @click.command()
    @click.argument("entry", metavar="ID")
    @click.option("--note", metavar="TEXT", help="What was done (kept with the mark).")
    @_by_option
    @_json_option
    @pass_app
    def done(app: Any, entry: str, note: str | None, by: str | None, json_output: bool) -> None:
        """Check off an entry: what it asks is done.

        `upcoming` then leaves it out (`--include-done` lists it), tables show
        its status as done, and the calendar keeps it with "Done" in its
        description. Reparsing keeps the mark; `undo` removes it. If a later
        notice moves its date, the entry is reopened and the change lines say so.

        \b
        Example:
          caltac-inbox done 12
          caltac-inbox done 12 --note "designation submitted in TOMS"
        """
        from caltac_inbox.store import corrections as stored
        from caltac_inbox.timeline.corrections import CorrectionError

        def work(session: Any) -> Any:
            try:
                row, item = stored.mark_done(session, entry, made_by=_by(by), note=note)
            except stored.NotFound:
                raise InputError(f"no timeline entry with id or uid {entry!r}; {ENTRY_HINT}") from None
            except CorrectionError as exc:
                raise InputError(str(exc)) from None
            return stored.correction_json(row), item["id"]

        (data, entry_id), _ = _store_and_refresh(app, work)
        _say(app, json_output, data, f"marked entry {entry_id} done (correction {data['id']}; "
                                     f"`caltac-inbox undo {data['id']}` reopens it)")

    return [done]


__all__ = ["make_commands"]
