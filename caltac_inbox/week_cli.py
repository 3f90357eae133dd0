"""A coordinator's week: `done`, `read`, `digest`.

Thin: each command reads its options, calls the logic (store.corrections for `done`,
store.notice for `read`, export.digest for `digest`) and prints. Registered on the root
group in cli.py (issue 24 moves the commands into the cli package).
"""
from __future__ import annotations

from typing import Any, Callable

import click

from caltac_inbox.corrections_cli import ENTRY_HINT, _by, _by_option, _json_option, _say, _store_and_refresh
from caltac_inbox.display import printable
from caltac_inbox.errors import InputError


def mailbox_freshness(app: Any, polls: list[dict[str, Any]]) -> list[Any]:
    """caltac_inbox.freshness.assess of the stored polls (store.read.mailbox_polls), with
    the configuration's mailboxes and max_age, now."""
    from datetime import datetime, timezone

    from caltac_inbox.freshness import assess, records_from_rows

    config = app.config()
    return assess(records_from_rows(polls), [mb.name for mb in config.mailboxes], datetime.now(timezone.utc),
                  config.max_age)


def tell_freshness(app: Any, polls: list[dict[str, Any]], output: str) -> None:
    """After a listing: a warning on stderr per stale mailbox; under a table, "mail
    checked 3 hours ago". Nothing for someone without mailboxes (files only)."""
    from caltac_inbox.freshness import checked_line, warning_lines

    states = mailbox_freshness(app, polls)
    for line in warning_lines(states):
        click.echo(f"caltac-inbox: warning: {printable(line)}", err=True)
    checked = checked_line(states)
    if checked and output == "table":
        click.echo(checked)


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

    @click.command("read")
    @click.argument("message", metavar="MESSAGE_ID")
    @click.option("--raw", is_flag=True, help="Write the archived bytes unchanged (an .eml file).")
    @pass_app
    def read_command(app: Any, message: str, raw: bool) -> None:
        """Read a stored notice: From, To, Date, Subject, then its text.

        MESSAGE_ID is a Message-ID as `show ID` lists it under Sources (with or
        without <>), or an archive id from `messages`. Dates are in Los Angeles
        time; an HTML notice is shown as text, a forwarded notice as the
        original (who forwarded it is named). `--raw` writes the message exactly
        as it was archived, to save as .eml or open in a mail program.

        \b
        Example:
          caltac-inbox read caltac-inbox-sample.002.direct.202007151239@info.ets.org
          caltac-inbox read 4 --raw > notice.eml
        """
        from caltac_inbox.cli import read_timeline
        from caltac_inbox.export.notice import readable_notice
        from caltac_inbox.store.read import archived_messages

        found = read_timeline(app, lambda source: archived_messages(source, message))
        if not found:
            raise InputError(f"no stored message with Message-ID or archive id {message!r}; `caltac-inbox show ID` "
                             "lists an entry's sources, `caltac-inbox messages --search TEXT` finds others")
        first = found[0]
        if len(found) > 1:
            others = ", ".join(str(m["id"]) for m in found[1:])
            click.echo(f"caltac-inbox: {len(found)} stored copies share this Message-ID; showing archive id "
                       f"{first['id']} (others: {others})", err=True)
        if raw:
            import sys

            sys.stdout.flush()
            sys.stdout.buffer.write(first["raw"])
            sys.stdout.buffer.flush()
            return
        click.echo(readable_notice(first["raw"], first["source"] or f"message {first['id']}").text(), nl=False)

    return [done, read_command]


__all__ = ["make_commands"]
