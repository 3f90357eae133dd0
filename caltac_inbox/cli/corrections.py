"""The coordinator's last word: `dismiss`, `correct`, `add`, `undo`, `corrections`, `review`,
and `confirm`/`reject` of what an unverified notice asked of a verified entry.

Thin: read the options, store a correction (caltac_inbox.store.corrections), rebuild the
timeline (which applies every correction on top of the notices: timeline.corrections),
print what happened. The store's correction queries (SQLAlchemy) are imported by the
commands that run them, so `--help` stays light.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import click

from caltac_inbox.cli.app import pass_app
from caltac_inbox.cli.correcting import open_existing, read_when, store_and_refresh, today
from caltac_inbox.cli.options import by_option, decided_by, emit, json_option, output_options, say
from caltac_inbox.cli.selection import mailbox_option, program_option
from caltac_inbox.model import FACT_KINDS
from caltac_inbox.timeline.corrections import CorrectionError
from caltac_inbox.timeline.wording import short_when


def _given(**texts: str | None) -> Any:
    """The values typed, read as `correct` and `add` read them (a usage error when one cannot be)."""
    from caltac_inbox.store.edits import read_given

    try:
        return read_given(texts, today())
    except CorrectionError as exc:
        raise click.UsageError(str(exc)) from None


def _usage_errors(work: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`work`, with values that do not fit the entry reported as a usage error."""

    def guarded(session: Any) -> Any:
        try:
            return work(session)
        except CorrectionError as exc:
            raise click.UsageError(str(exc)) from None

    return guarded


@click.command()
@click.argument("entry", metavar="ID")
@click.option("--reason", metavar="TEXT", help="Why (kept with the dismissal).")
@by_option
@json_option
@pass_app
def dismiss(app: Any, entry: str, reason: str | None, by: str | None, json_output: bool) -> None:
    """Hide an entry (or a lead) that does not concern this LEA.

    The entry leaves `upcoming`, `timeline` and the calendar; `timeline
    --include-dismissed` still lists it, and `undo` brings it back. ID is an
    entry's id or uid, or a lead's id from `review` (L...). Reparsing never
    brings a dismissed entry back.

    \b
    Example:
      caltac-inbox dismiss 7 --reason "not our district"
      caltac-inbox dismiss L3f2a9c01
    """
    from caltac_inbox.store import edits

    (data, what), _ = store_and_refresh(app, lambda session: edits.dismiss(session, entry, decided_by(by), reason))
    say(json_output, data, f"dismissed {what} (correction {data['id']}; `caltac-inbox undo {data['id']}` "
                           "reverts it)")


@click.command()
@click.argument("entry", metavar="ID")
@click.option("--start", metavar="WHEN", help="Downtime start: YYYY-MM-DD or \"YYYY-MM-DD HH:MM\" (Los Angeles).")
@click.option("--end", metavar="WHEN", help="Downtime end: YYYY-MM-DD or \"YYYY-MM-DD HH:MM\" (Los Angeles).")
@click.option("--due", metavar="WHEN", help="Due date of a deadline, designation or credential.")
@click.option("--at", "at", metavar="WHEN", help="When retention data is removed.")
@click.option("--systems", metavar="LIST", help="Downtime systems, comma-separated.")
@click.option("--what", metavar="TEXT", help="What a deadline asks (its action), what retention removes.")
@click.option("--reason", metavar="TEXT", help="Why (kept with the correction).")
@by_option
@json_option
@pass_app
def correct(app: Any, entry: str, start: str | None, end: str | None, due: str | None, at: str | None,
            systems: str | None, what: str | None, reason: str | None, by: str | None,
            json_output: bool) -> None:
    """Override fields of an entry the tool got wrong.

    The entry shows the corrected values, marked as corrected (table, JSON,
    calendar DESCRIPTION); its calendar UID stays and its SEQUENCE goes up.
    If a later notice changes a corrected field (an extension), the notice
    wins and the correction is marked superseded. Reparsing keeps it.

    \b
    Example:
      caltac-inbox correct 5 --end "2016-09-13 23:59"
      caltac-inbox correct 3 --due 2020-08-21 --reason "CalTAC phone call"
    """
    from caltac_inbox.store import edits

    given = _given(start=start, end=end, due=due, at=at, systems=systems, what=what)
    if given.empty():
        raise click.UsageError("say what to correct: --start, --end, --due, --at, --systems or --what")

    (data, entry_id), _ = store_and_refresh(
        app, _usage_errors(lambda session: edits.correct(session, entry, given, decided_by(by), reason)))
    changes = ", ".join(f"{k} {_plain(data['before'].get(k))} -> {_plain(v)}" for k, v in data["values"].items())
    say(json_output, data, f"corrected entry {entry_id}: {changes} (correction {data['id']})")


@click.command()
@click.option("--kind", "kind", type=click.Choice(FACT_KINDS, case_sensitive=False), help="What kind of entry.")
@click.option("--start", metavar="WHEN", help="Downtime start: YYYY-MM-DD or \"YYYY-MM-DD HH:MM\".")
@click.option("--end", metavar="WHEN", help="Downtime end: YYYY-MM-DD or \"YYYY-MM-DD HH:MM\".")
@click.option("--due", metavar="WHEN", help="Due date (deadline, designation, credential).")
@click.option("--at", "at", metavar="WHEN", help="When retention data is removed.")
@click.option("--systems", metavar="LIST", help="Downtime systems, comma-separated.")
@click.option("--what", metavar="TEXT", help="What is due (a deadline's action) or removed (retention).")
@click.option("--from-lead", "from_lead", metavar="LEAD_ID",
              help="The lead (from `review`) this entry comes from; its date is the default.")
@click.option("--reason", metavar="TEXT", help="Where the date came from (an attachment, a call).")
@program_option
@mailbox_option
@by_option
@json_option
@pass_app
def add(app: Any, kind: str | None, start: str | None, end: str | None, due: str | None, at: str | None,
        systems: str | None, what: str | None, from_lead: str | None, reason: str | None,
        programs: tuple[str, ...], mailbox: str | None, by: str | None, json_output: bool) -> None:
    """Add an entry no notice gave (an attachment, a phone call, a lead).

    \b
    Example:
      caltac-inbox add --kind deadline --due 2026-12-01 --what "submit the test site list"
      caltac-inbox add --from-lead L3f2a9c01 --kind deadline --what "return the survey"
    """
    from caltac_inbox.store import corrections as stored
    from caltac_inbox.store import edits

    if kind is None:
        raise click.UsageError("say which --kind of entry to add")
    kind = kind.lower()
    given = _given(start=start, end=end, due=due, at=at, systems=systems, what=what)

    (data, repeats), _ = store_and_refresh(app, _usage_errors(lambda session: edits.add(
        session, kind, given, decided_by(by), programs=programs, from_lead=from_lead, mailbox=mailbox, reason=reason)))
    for other in repeats:  # the same date from another sentence of the same notice
        click.echo(f"caltac-inbox: note: entry {other['id']} ({other.get('kind')}) is on the same day from the "
                   f"same notice; compare with `caltac-inbox show {other['id']}`, and `caltac-inbox undo "
                   f"{data['id']}` if the new entry repeats it", err=True)
    with open_existing(app) as store, store.session(readonly=True) as session:
        data["entry_id"] = stored.find_entry(session, data["target"])["id"]
    say(json_output, data, f"added {kind} entry {data['entry_id']} ({data['target']}; correction "
                           f"{data['id']})")


@click.command()
@click.argument("correction_id", metavar="CORRECTION_ID")
@json_option
@pass_app
def undo(app: Any, correction_id: str, json_output: bool) -> None:
    """Revert a correction, dismissal or added entry (ids from `corrections`).

    \b
    Example:
      caltac-inbox undo 4
    """
    from caltac_inbox.store import edits

    data, _ = store_and_refresh(app, lambda session: edits.undo(session, correction_id))
    say(json_output, data, f"undid correction {data['id']} ({data['action']} of {data['target']})")


def _decide(app: Any, entry: str, action: str, reason: str | None, by: str | None, json_output: bool) -> None:
    """Store the coordinator's `action` (confirm or reject) on the entry's pending changes."""
    from caltac_inbox.store import edits

    (data, entry_id), _ = store_and_refresh(app, lambda session: edits.decide(session, entry, action, decided_by(by),
                                                                                reason))
    changes = "; ".join(data["values"].get("changes") or [])
    say(json_output, data, f"{action}ed on entry {entry_id}: {changes} (correction {data['id']}; "
                           f"`caltac-inbox undo {data['id']}` reverts it)")


def _decision(f: Callable) -> click.Command:
    """A command on an entry's pending changes: ID, --reason, --by, --json."""
    for option in (pass_app, json_option, by_option,
                   click.option("--reason", metavar="TEXT", help="Why (kept with the decision)."),
                   click.argument("entry", metavar="ID")):
        f = option(f)
    return click.command()(f)


@_decision
def confirm(app: Any, entry: str, reason: str | None, by: str | None, json_output: bool) -> None:
    """Accept what unverified notices changed on an entry (flagged "... by an unverified notice: check").

    The entry then shows the change (cancelled, extended, moved) as if a
    verified notice had said it. Reparsing keeps the decision; `undo` reverts it.

    \b
    Example:
      caltac-inbox confirm 7 --reason "CalTAC confirmed by phone"
    """
    _decide(app, entry, "confirm", reason, by, json_output)


@_decision
def reject(app: Any, entry: str, reason: str | None, by: str | None, json_output: bool) -> None:
    """Refuse what unverified notices changed on an entry; it keeps its verified values.

    The flag goes away; the notice stays listed as a source. Reparsing keeps
    the decision; `undo` reverts it.

    \b
    Example:
      caltac-inbox reject 7 --reason "forged: CalTAC never sent it"
    """
    _decide(app, entry, "reject", reason, by, json_output)


@click.command("corrections")
@mailbox_option
@output_options
@pass_app
def corrections(app: Any, mailbox: str | None, output: str) -> None:
    """List every correction, dismissal and added entry, with its state.

    State is active, undone, or superseded (a later notice changed what was
    corrected, or a later correction replaced it).

    \b
    Example:
      caltac-inbox corrections
      caltac-inbox corrections --json
    """
    from caltac_inbox.store import corrections as stored

    with open_existing(app) as store, store.session(readonly=True) as session:
        rows = stored.list_corrections(session, mailbox=mailbox)
    emit(rows, output, CORRECTION_COLUMNS, empty="No corrections.")


@click.command()
@click.option("--days", type=click.IntRange(min=0, max=36_525), default=30, show_default=True,
              help="Leads of the notices sent in this many days.")
@click.option("--as-of", "as_of", metavar="DATE", help="Count back from this day (default today).")
@click.option("--include-dismissed", is_flag=True, help="Also list dismissed leads and those added.")
@mailbox_option
@output_options
@pass_app
def review(app: Any, days: int, as_of: str | None, include_dismissed: bool, mailbox: str | None,
           output: str) -> None:
    """Dated sentences of recent notices that gave no entry: what the tool was unsure of.

    Newest notice first. Turn one into an entry with `add --from-lead ID`, or
    hide it with `dismiss ID`. Reparsing rebuilds the leads and keeps what you
    decided.

    \b
    Example:
      caltac-inbox review
      caltac-inbox review --days 90 --json
    """
    from caltac_inbox.store import corrections as stored

    given = read_when(as_of, "--as-of") if as_of else today()
    day = given.date() if isinstance(given, datetime) else given or today()
    with open_existing(app) as store, store.session(readonly=True) as session:
        rows = stored.review(session, as_of=day, days=days, mailbox=mailbox,
                             include_dismissed=include_dismissed)
    emit(rows, output, LEAD_COLUMNS, empty=f"No leads in the {days} days to {day}.")


def _plain(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


CORRECTION_COLUMNS = [
    ("id", lambda c: c["id"]),
    ("action", lambda c: c["action"]),
    ("entry", lambda c: c["entry"]),
    ("state", lambda c: c["state"] + (f" by {c['superseded_by']}" if c.get("superseded_by") else "")),
    ("by", lambda c: c["by"]),
    ("at", lambda c: short_when(c["at"])),
    ("values", lambda c: "; ".join(f"{k} {_plain(v)}" for k, v in c["values"].items()
                                   if k not in ("evidence", "pending"))
     or c.get("reason") or ""),
]

LEAD_COLUMNS = [
    ("id", lambda r: r["id"]),
    ("sent", lambda r: short_when(r["sent"])),
    ("date", lambda r: short_when(r["when"]) or "?"),
    ("reason", lambda r: r["reason"]),
    ("sentence", lambda r: r["sentence"]),
]


__all__ = ["add", "confirm", "correct", "corrections", "dismiss", "reject", "review", "undo"]
