"""The weekly digest: what is coming, what changed since the last digest, what needs a look.

`collect_digest(session, ...)` reads what goes in (store.read, store.corrections);
`Digest` is pure and says it as plain text (`text()`) and as a mail-friendly HTML part
(`html()`, every value escaped, inline styles only); `digest_message` puts both in one
multipart/alternative message for `digest --send` (caltac_inbox.mail_out sends it).

"What needs a look" is whatever the coordinator should check before trusting the list:
mailboxes not polled within max_age (caltac_inbox.freshness), entries that rest only on
notices whose sender could not be verified, pending changes from unverified notices
(`pending`, until `confirm` or `reject`), and leads (dated sentences that gave no entry, as
`review` lists them).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html import escape
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from caltac_inbox.timeline.changes import TimelineChange, change_line, short
from caltac_inbox.timeline.time import LOS_ANGELES

if TYPE_CHECKING:
    from email.message import EmailMessage

    from sqlalchemy.orm import Session

FIRST_DIGEST_LOOKBACK = timedelta(days=7)  # without an earlier digest: the changes of the last week
LEAD_DAYS = 30  # leads of the notices sent in this many days before the digest's day
LISTED_LEADS = 10  # leads listed by sentence; `review` lists them all


@dataclass(frozen=True)
class Digest:
    as_of: date
    days: int
    coming: tuple[dict[str, Any], ...]  # entries as store.read.upcoming gives them (not done, not dismissed)
    changes: tuple[dict[str, Any], ...]  # store.read.timeline_changes rows since `changes_since`
    changes_since: datetime  # the last digest sent, else a week before now
    since_last_digest: bool
    stale: tuple[str, ...] = ()  # freshness.warning_lines
    leads: tuple[dict[str, Any], ...] = ()  # store.corrections.review rows
    pending: tuple[dict[str, Any], ...] = ()  # pending_changes: what unverified notices asked of verified entries

    @property
    def unverified(self) -> tuple[dict[str, Any], ...]:
        return tuple(e for e in self.coming if e.get("unverified"))

    @property
    def needs_a_look(self) -> bool:
        return bool(self.stale or self.unverified or self.pending or self.leads)

    def subject(self) -> str:
        parts = [f"{len(self.coming)} coming up", f"{len(self.changes)} changed"]
        if self.needs_a_look:
            parts.append("needs a look")
        return f"CalTAC notices for the week of {_day(self.as_of)}: " + ", ".join(parts)

    def sections(self) -> list[tuple[str, list[str]]]:
        """(heading, lines) in reading order; the same words for the text and the HTML part."""
        until = self.as_of + timedelta(days=self.days)
        since = (f"since the last digest on {_moment(self.changes_since)}" if self.since_last_digest
                 else f"in the last 7 days, since {_moment(self.changes_since)}")
        sections = [
            (f"Coming up from {_day(self.as_of)} to {_day(until)} ({len(self.coming)})",
             [entry_line(e) for e in self.coming] or ["Nothing is due and no downtime is planned."]),
            (f"Changed {since} ({len(self.changes)})",
             [change_line(TimelineChange.from_json(c)) for c in self.changes] or ["No notice changed anything."]),
        ]
        look: list[str] = list(self.stale)
        look += [f"Unverified sender: {entry_line(e)}" for e in self.unverified]
        look += [f"Pending change from an unverified notice: {p.get('line') or p}" for p in self.pending]
        if self.leads:
            # copies of one notice (direct, forwarded, HTML) repeat a sentence: list it once
            firsts = {(lead.get("when"), lead["sentence"]): lead for lead in reversed(self.leads)}
            sentences = list(firsts.values())[::-1]
            look.append(f"{len(sentences)} dated sentence(s) in recent notices gave no entry; check them with "
                        "`caltac-inbox review`:")
            look += [f"  {lead['id']}  {lead.get('when') or '?'}  {lead['sentence']}"
                     for lead in sentences[:LISTED_LEADS]]
        sections.append(("Needs a look", look or ["Nothing: mail is current and every entry is verified."]))
        return sections

    def text(self) -> str:
        out = [f"CalTAC, ETS and CDE notices: digest for {_day(self.as_of)}", ""]
        for heading, lines in self.sections():
            out += [heading, *(f"  {line}" for line in lines), ""]
        out.append("Mark an entry done: caltac-inbox done ID.  Read a notice: caltac-inbox show ID, then "
                   "caltac-inbox read MESSAGE_ID.")
        return "\n".join(out) + "\n"

    def html(self) -> str:
        title = f"CalTAC, ETS and CDE notices: digest for {_day(self.as_of)}"
        parts = ['<!doctype html><html><body style="font-family:sans-serif;line-height:1.4">',
                 f"<h1 style=\"font-size:1.3em\">{escape(title)}</h1>"]
        for heading, lines in self.sections():
            parts.append(f"<h2 style=\"font-size:1.1em\">{escape(heading)}</h2><ul>")
            parts += [f"<li>{escape(line)}</li>" for line in lines]
            parts.append("</ul>")
        parts.append("<p>Mark an entry done: <code>caltac-inbox done ID</code>. Read a notice: "
                     "<code>caltac-inbox show ID</code>, then <code>caltac-inbox read MESSAGE_ID</code>.</p>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def entry_line(entry: Mapping[str, Any]) -> str:
    """'#5  2020-08-14 17:00 → 2020-08-20 08:00  downtime  systems unavailable (CAASPP)'."""
    from caltac_inbox.model import Fact
    from caltac_inbox.timeline.kinds import what

    when = entry.get("start") or entry.get("due") or entry.get("at") or entry.get("reminder_date") or entry.get("month")
    until = f" → {short(entry['end'])}" if entry.get("kind") == "downtime" and entry.get("end") else ""
    if entry.get("kind") == "downtime" and not entry.get("start"):
        when, until = "", f"until {short(entry.get('end'))}"
    program = entry.get("program")
    programs = ", ".join(program) if isinstance(program, list) else (program or "")
    summary = what(Fact.from_json(dict(entry)))
    return (f"#{entry.get('id')}  {short(when) if when else ''}{until}  {entry.get('kind')}  {summary}"
            + (f" ({programs})" if programs else ""))


def _day(day: date) -> str:
    return f"{day:%A, %B} {day.day}, {day.year}"


def _moment(at: datetime) -> str:
    from caltac_inbox.export.notice import readable_time

    return readable_time(at)


def collect_digest(session: Session, *, as_of: date, days: int, freshness_lines: Sequence[str] = (),
                   now: datetime | None = None) -> Digest:
    """What the digest for `as_of` says, read in `session`."""
    from caltac_inbox.store import corrections, read

    now = now or datetime.now(timezone.utc)
    last = read.last_digest(session)
    since = last if last is not None else now - FIRST_DIGEST_LOOKBACK
    changes = [c for c in read.timeline_changes(session, since.astimezone(LOS_ANGELES).date())
               if datetime.fromisoformat(c["recorded_at"]) > since]
    return Digest(as_of=as_of, days=days, coming=tuple(read.upcoming(session, as_of, days)), changes=tuple(changes),
                  changes_since=since, since_last_digest=last is not None, stale=tuple(freshness_lines),
                  leads=tuple(corrections.review(session, as_of=as_of, days=LEAD_DAYS)),
                  pending=tuple(pending_changes(session, as_of)))


def pending_changes(session: Session, as_of: date) -> list[dict[str, Any]]:
    """Changes unverified notices asked of verified entries that still matter (the entry
    has not ended before `as_of`), held until `confirm`/`reject` or a verified notice:
    each change's JSON with a readable `line` ('#5 ... downtime ...: cancelled by an
    unverified notice: check (confirm 5 / reject 5)')."""
    from caltac_inbox.store import read

    out: list[dict[str, Any]] = []
    for entry in read.timeline_entries(session, from_=as_of, include_cancelled=True):
        for change in entry.pending:
            line = (f"{entry_line(entry.to_json())}: {change.note()} "
                    f"(caltac-inbox confirm {entry.entry_id} / reject {entry.entry_id})")
            out.append({**change.to_json(), "entry": entry.entry_id, "line": line})
    return out


def digest_message(digest: Digest, *, sender: str, to: Sequence[str]) -> EmailMessage:
    """The digest as one multipart/alternative mail: the text, then the HTML part."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["Subject"] = digest.subject()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    message.set_content(digest.text())
    message.add_alternative(digest.html(), subtype="html")
    return message


__all__ = ["Digest", "collect_digest", "digest_message", "entry_line", "pending_changes"]
