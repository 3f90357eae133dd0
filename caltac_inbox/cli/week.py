"""A coordinator's week: `done`, `read`, `digest`.

Thin: each command reads its options, calls the logic (store.corrections for `done`,
store.read and export.notice for `read`, export.digest and mail_out for `digest`) and
prints.
"""
from __future__ import annotations

from typing import Any

import click

from caltac_inbox.cli.app import pass_app
from caltac_inbox.cli.correcting import ENTRY_HINT, store_and_refresh
from caltac_inbox.cli.freshness import mailbox_freshness
from caltac_inbox.cli.options import by_option, decided_by, json_option, say
from caltac_inbox.errors import InputError


@click.command()
@click.argument("entry", metavar="ID")
@click.option("--note", metavar="TEXT", help="What was done (kept with the mark).")
@by_option
@json_option
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
            row, item = stored.mark_done(session, entry, made_by=decided_by(by), note=note)
        except stored.NotFound:
            raise InputError(f"no timeline entry with id or uid {entry!r}; {ENTRY_HINT}") from None
        except CorrectionError as exc:
            raise InputError(str(exc)) from None
        return stored.correction_json(row), item["id"]

    (data, entry_id), _ = store_and_refresh(app, work)
    say(json_output, data, f"marked entry {entry_id} done (correction {data['id']}; "
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
    from caltac_inbox.cli.app import read_timeline
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

@click.command()
@click.option("--days", type=click.IntRange(min=1, max=366), default=14, show_default=True,
              help="List what is coming in this many days.")
@click.option("--as-of", "as_of", metavar="DATE", help="Count from this day (default today): YYYY-MM-DD, today, "
                                                        "next monday, +7d ...")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part (for a mail) instead of the text.")
@click.option("--send", is_flag=True, help="Mail it as [digest] in the configuration says (SMTP or sendmail).")
@pass_app
def digest(app: Any, days: int, as_of: str | None, as_html: bool, send: bool) -> None:
    """A weekly summary: what is coming, what changed, what needs a look.

    Coming up: the entries of the next --days days that are not done.
    Changed: what polls and ingests changed since the last digest sent
    (the first time, in the last 7 days). Needs a look: mailboxes not
    polled within max_age, entries whose sender could not be verified,
    and leads (`review`). `--send` mails the text and HTML parts to
    [digest] `to`; see README, "A coordinator's week", for the cron line.

    \b
    Example:
      caltac-inbox digest
      caltac-inbox digest --as-of 2020-08-10 --html > digest.html
      caltac-inbox digest --send
    """
    from datetime import datetime, timezone

    from caltac_inbox.cli.correcting import open_existing, read_when, today
    from caltac_inbox.export.digest import collect_digest, digest_message
    from caltac_inbox.freshness import warning_lines
    from caltac_inbox.store.read import mailbox_polls

    given = read_when(as_of, "--as-of") if as_of else None
    day = (given.date() if isinstance(given, datetime) else given) or today()
    config = app.config() if send else None
    if config is not None and config.digest is None:
        from caltac_inbox.errors import ConfigError

        raise ConfigError(f"{config.path or 'the configuration file'}: no [digest] table; add one with to, from "
                          "and host (or sendmail) to send the digest (see README, \"A coordinator's week\")")
    with open_existing(app) as store:
        with store.session(readonly=True) as session:
            stale = warning_lines(mailbox_freshness(app, mailbox_polls(session)))
            made = collect_digest(session, as_of=day, days=days, freshness_lines=stale)
        if not send:
            click.echo(made.html() if as_html else made.text(), nl=False)
            return
        from caltac_inbox.mail_out import send as send_mail
        from caltac_inbox.store.freshness import record_digest

        assert config is not None and config.digest is not None
        how = send_mail(digest_message(made, sender=config.digest.sender, to=config.digest.to), config.digest)
        with store.session() as session:
            record_digest(session, sent_at=datetime.now(timezone.utc), as_of=day.isoformat(),
                          recipients=list(config.digest.to))
    click.echo(f"digest for {day} sent to {', '.join(config.digest.to)} through {how}")


__all__ = ["digest", "done", "read_command"]
