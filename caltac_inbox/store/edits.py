"""The coordinator's decisions, each in one session: dismiss an entry or a lead, correct,
add, undo. `caltac-inbox dismiss|correct|add|undo` and the web page's editor actions both
call these, so they read dates alike, validate alike and store alike (`by` is the OS user
or `--by` on the command line, the signed-in editor's name on the web page).

Raises InputError when the entry, lead or correction does not exist (or lies outside the
`mailbox` an editor is limited to) and CorrectionError when the values do not fit (a
field the kind does not have, an end before the start, a date that cannot be read).
Nothing here commits or rebuilds the timeline: the caller owns both.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from caltac_inbox.errors import InputError
from caltac_inbox.store import corrections as stored
from caltac_inbox.timeline.corrections import (DATE_FIELD, CorrectionError, added_fact, corrected_fact,
                                               field_values)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ENTRY_HINT = "list entries with `caltac-inbox timeline --include-dismissed`"
LEAD_HINT = "list leads with `caltac-inbox review`"
CORRECTION_HINT = "list them with `caltac-inbox corrections`"
DATE_OPTIONS = ("start", "end", "due", "at")


@dataclass(frozen=True)
class Given:
    """The values a person gave, by option name (None: not given)."""

    start: date | datetime | None = None
    end: date | datetime | None = None
    due: date | datetime | None = None
    at: date | datetime | None = None
    systems: tuple[str, ...] | None = None
    what: str | None = None

    def options(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "due": self.due, "at": self.at, "systems": self.systems,
                "what": self.what}

    def empty(self) -> bool:
        return all(v is None for v in self.options().values())


def read_given(texts: Mapping[str, str | None], today: date) -> Given:
    """Typed text by option name -> Given. Dates take the forms of user_dates.read_day_or_time;
    systems are comma-separated. Raises CorrectionError naming the option."""
    from caltac_inbox.user_dates import DateInputError, read_day_or_time

    days: dict[str, date | datetime | None] = {}
    for option in DATE_OPTIONS:
        text = texts.get(option)
        try:
            days[option] = read_day_or_time(text, today) if text is not None else None
        except DateInputError as exc:
            raise CorrectionError(f"--{option}: {exc}") from None
    systems = texts.get("systems")
    return Given(**days, systems=tuple(s.strip() for s in systems.split(",") if s.strip()) if systems is not None
                 else None, what=texts.get("what"))


def entry_mailboxes(item: dict[str, Any]) -> list[str]:
    return sorted({s.get("mailbox") for s in item.get("source_details") or [] if s.get("mailbox")})


_mailbox_of = stored.mailbox_of  # the mailbox a correction of the entry is recorded under


def find_entry(session: Session, entry: str, mailbox: str | None = None) -> dict[str, Any]:
    """The entry as `show` gives it; within `mailbox` when given (its notices came to it,
    or it was added for it)."""
    try:
        item = stored.find_entry(session, entry)
    except stored.NotFound:
        raise InputError(f"no timeline entry with id or uid {entry!r}; {ENTRY_HINT}") from None
    if mailbox and mailbox not in entry_mailboxes(item) and not any(
            c["action"] == "add" and c["mailbox"] == mailbox
            for c in stored.list_corrections(session, target=item["uid"])):
        raise InputError(f"no timeline entry with id or uid {entry!r}; {ENTRY_HINT}")
    return item


def find_lead(session: Session, lead_id: str, mailbox: str | None = None) -> dict[str, Any]:
    try:
        lead = stored.find_lead(session, lead_id) if stored.is_lead_id(lead_id) else None
    except stored.NotFound:
        lead = None
    if lead is None or (mailbox and lead["mailbox"] != mailbox):
        raise InputError(f"no lead with id {lead_id!r}; {LEAD_HINT}")
    return lead


def dismiss_lead(session: Session, lead_id: str, by: str, reason: str | None,
                 mailbox: str | None = None) -> tuple[dict[str, Any], str]:
    """The correction (as `corrections --json` shows it) and what was dismissed ("lead L...")."""
    lead = find_lead(session, lead_id, mailbox)
    row = stored.add_correction(session, target=stored.LEAD_TARGET + lead["identity"], action="dismiss",
                                made_by=by, mailbox=lead["mailbox"], reason=reason,
                                old_values={"sentence": lead["sentence"], "when": lead["when"]})
    return stored.correction_json(row), f"lead {lead['id']}"


def dismiss(session: Session, entry: str, by: str, reason: str | None,
            mailbox: str | None = None) -> tuple[dict[str, Any], str]:
    """Dismiss an entry, or a lead when `entry` is a lead id (L...)."""
    if stored.is_lead_id(entry):
        return dismiss_lead(session, entry, by, reason, mailbox)
    item = find_entry(session, entry, mailbox)
    if item["status"] == "dismissed":
        raise InputError(f"entry {entry} is already dismissed; `caltac-inbox corrections` lists the "
                         "dismissal, `caltac-inbox undo ID` reverts it")
    row = stored.add_correction(session, target=item["uid"], action="dismiss", made_by=by,
                                mailbox=_mailbox_of(item), reason=reason,
                                old_values={"status": item["status"]}, basis_sent=stored.newest_sent(item))
    return stored.correction_json(row), f"entry {item['id']}"


def correct(session: Session, entry: str, given: Given, by: str, reason: str | None,
            mailbox: str | None = None) -> tuple[dict[str, Any], int]:
    """Correct fields of an entry; the correction and the entry's id."""
    from caltac_inbox.model import Fact

    item = find_entry(session, entry, mailbox)
    values = field_values(item["kind"], given.options())
    corrected_fact(Fact.from_json(item), values)  # an end before the start stops here
    row = stored.add_correction(session, target=item["uid"], action="correct", made_by=by,
                                mailbox=_mailbox_of(item), new_values=values,
                                old_values={k: item.get(k) for k in values},
                                basis_sent=stored.newest_sent(item), reason=reason)
    return stored.correction_json(row), item["id"]


def add(session: Session, kind: str, given: Given, by: str, *, programs: Sequence[str] = (),
        from_lead: str | None = None, mailbox: str | None = None, reason: str | None = None,
        within: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Add an entry (from a lead, whose date is the default for the kind's date field, whose
    notice's programs are the default programs, and whose notice becomes its source);
    `within`: the mailbox an editor is limited to (the entry is added for it). The
    correction, and the entries of the lead's notice on the same day (it may repeat one)."""
    options = given.options()
    lead = None
    if from_lead is not None:
        lead = find_lead(session, from_lead, within)
        option = DATE_FIELD.get(kind)
        if option and options.get(option) is None and lead["when"]:
            from caltac_inbox.model import parse_when

            options[option] = parse_when(lead["when"])
    chosen = [p.upper() for p in programs] or (stored.lead_programs(session, lead) if lead else [])
    values = field_values(kind, options)
    fact = added_fact(kind, values, chosen)
    new_values = {k: v for k, v in fact.to_json().items() if k != "evidence"}
    repeats: list[dict[str, Any]] = []
    if lead is not None:
        new_values["evidence"] = lead["sentence"]
        key = next((str(new_values[n]) for n in ("due", "start", "at") if new_values.get(n)), None)
        repeats = stored.same_notice_entries(session, lead, key)
    row = stored.add_correction(session, target="", action="add", made_by=by,
                                mailbox=within or mailbox or (lead["mailbox"] if lead else None),
                                new_values=new_values, reason=reason,
                                old_values={"notice": lead["message"]} if lead else None,
                                lead=lead["identity"] if lead else None)
    return stored.correction_json(row), repeats


def decide(session: Session, entry: str, action: str, by: str, reason: str | None,
           mailbox: str | None = None) -> tuple[dict[str, Any], int]:
    """Confirm or reject (`action`) what unverified notices asked of an entry and is held
    as pending; the correction and the entry's id."""
    item = find_entry(session, entry, mailbox)
    try:
        row = stored.decide_pending(session, item, action, made_by=by, mailbox=_mailbox_of(item), reason=reason)
    except stored.NothingPending:
        raise InputError(f"entry {entry} has no change from an unverified notice to {action}; "
                         "`caltac-inbox show ID` lists what an entry has pending") from None
    return stored.correction_json(row), item["id"]


def undo(session: Session, correction_id: str, mailbox: str | None = None) -> dict[str, Any]:
    """Undo a correction (`mailbox`: only one made for that mailbox)."""
    from caltac_inbox.store.schema import CorrectionRow

    wanted = correction_id.strip()
    missing = InputError(f"no correction with id {correction_id!r}; {CORRECTION_HINT}")
    if not wanted.isdigit() or len(wanted) > 18:
        raise missing
    if mailbox:
        row = session.get(CorrectionRow, int(wanted))
        if row is None or row.mailbox != mailbox:
            raise missing
    try:
        return stored.correction_json(stored.undo(session, int(wanted)))
    except CorrectionError as exc:  # already undone
        raise InputError(str(exc)) from None
    except stored.NotFound:
        raise missing from None


__all__ = ["ENTRY_HINT", "Given", "LEAD_HINT", "add", "correct", "decide", "dismiss", "dismiss_lead", "entry_mailboxes",
           "find_entry", "find_lead", "read_given", "undo"]
