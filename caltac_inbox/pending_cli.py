"""`confirm` and `reject`: the coordinator's word on a change an unverified notice asked of
a verified entry (a cancel, an extension, a move), which the timeline holds as pending.

Thin: the decision is stored as a correction (store.corrections.decide_pending), with who
and when, kept through reparses and undone with `undo`; the timeline rebuild applies it
(timeline.reconcile). Registered on the root group in cli.py.
"""
from __future__ import annotations

from typing import Any, Callable

import click

from caltac_inbox.corrections_cli import (
    ENTRY_HINT, _by, _by_option, _json_option, _mailbox_of, _say, _store_and_refresh,
)
from caltac_inbox.errors import InputError

_DONE = {"confirm": "confirmed", "reject": "rejected"}


def _decide(app: Any, entry: str, action: str, reason: str | None, by: str | None, json_output: bool) -> None:
    from caltac_inbox.store import corrections as stored

    def work(session: Any) -> Any:
        try:
            item = stored.find_entry(session, entry)
        except stored.NotFound:
            raise InputError(f"no timeline entry with id or uid {entry!r}; {ENTRY_HINT}") from None
        try:
            row = stored.decide_pending(session, item, action, made_by=_by(by), mailbox=_mailbox_of(item),
                                        reason=reason)
        except stored.NothingPending:
            raise InputError(f"entry {entry} has no change from an unverified notice to {action}; "
                             "`caltac-inbox show ID` lists what an entry has pending") from None
        return stored.correction_json(row), item["id"]

    (data, entry_id), _ = _store_and_refresh(app, work)
    changes = "; ".join(data["values"].get("changes") or [])
    _say(app, json_output, data, f"{_DONE[action]} on entry {entry_id}: {changes} (correction {data['id']}; "
                                 f"`caltac-inbox undo {data['id']}` reverts it)")


def make_pending_commands(pass_app: Callable) -> list[click.Command]:
    def decision(f: Callable) -> click.Command:
        """A command taking ID, --reason, --by and --json."""
        for option in (pass_app, _json_option, _by_option,
                       click.option("--reason", metavar="TEXT", help="Why (kept with the decision)."),
                       click.argument("entry", metavar="ID")):
            f = option(f)
        return click.command()(f)

    @decision
    def confirm(app: Any, entry: str, reason: str | None, by: str | None, json_output: bool) -> None:
        """Accept what unverified notices changed on an entry (shown "... by an unverified notice: check").

        The entry then shows the change (cancelled, extended, moved) as if a
        verified notice had said it. Reparsing keeps the decision; `undo` reverts it.

        \b
        Example:
          caltac-inbox confirm 7 --reason "CalTAC confirmed by phone"
        """
        _decide(app, entry, "confirm", reason, by, json_output)

    @decision
    def reject(app: Any, entry: str, reason: str | None, by: str | None, json_output: bool) -> None:
        """Refuse what unverified notices changed on an entry; it keeps its verified values.

        The flag goes away; the notice stays listed as a source. Reparsing keeps
        the decision; `undo` reverts it.

        \b
        Example:
          caltac-inbox reject 7 --reason "forged: CalTAC never sent it"
        """
        _decide(app, entry, "reject", reason, by, json_output)

    return [confirm, reject]


__all__ = ["make_pending_commands"]
