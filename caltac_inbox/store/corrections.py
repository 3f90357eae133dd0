"""The coordinator's corrections and the leads to review: stored, listed, undone.

Corrections live in their own table (schema.CorrectionRow), never written by ingest or
reparse; `write.refresh_timeline` applies them on top of reconciliation
(timeline.corrections). Leads (schema.LeadRow) are rebuilt with each message's facts; a
lead is named by its identity (message and sentence), shown as "L" + its first 8
characters, so a dismissal outlives every reparse.

Nothing here commits: the caller owns the session's transaction.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caltac_inbox.store import read
from caltac_inbox.store.schema import CorrectionRow, LeadRow, MessageRow

LEAD_PREFIX = "L"
LEAD_TARGET = "lead:"
PENDING_ACTIONS = ("confirm", "reject")  # the coordinator's word on a change an unverified notice asked


class NotFound(LookupError):
    """No entry, lead or correction with that id."""


def lead_label(identity: str) -> str:
    return LEAD_PREFIX + identity[:8]


def is_lead_id(text: str) -> bool:
    t = text.strip()
    return len(t) >= 5 and t[0] in "Ll" and all(c in "0123456789abcdef" for c in t[1:].lower())


def find_lead(session: Session, lead_id: str) -> dict[str, Any]:
    """The lead `L1a2b3c4d` (a unique prefix of its identity), with its notice."""
    prefix = lead_id.strip()[1:].lower()
    found = session.execute(
        select(LeadRow, MessageRow.subject, MessageRow.sent, MessageRow.mailbox)
        .join(MessageRow, MessageRow.id == LeadRow.message_pk)
        .where(LeadRow.identity.startswith(prefix)).order_by(MessageRow.sent.desc(), LeadRow.id).limit(20)).all()
    if len({r.LeadRow.identity for r in found}) != 1:  # none, or the prefix is not unique
        raise NotFound(lead_id)
    return _lead_json(found[0])


def _lead_json(row: Any) -> dict[str, Any]:
    from caltac_inbox.timeline.time import in_los_angeles

    lead: LeadRow = row.LeadRow
    sent = in_los_angeles(row.sent) if row.sent else None
    return {"id": lead_label(lead.identity), "identity": lead.identity, "message": lead.message_pk,
            "sent": sent.isoformat() if sent else None, "subject": row.subject, "mailbox": lead.mailbox,
            "when": lead.when, "sentence": lead.sentence, "reason": lead.reason}


def handled_leads(session: Session) -> set[str]:
    """Identities of the leads dismissed or turned into entries (and not undone)."""
    dismissed = session.execute(select(CorrectionRow.target).where(
        CorrectionRow.target.startswith(LEAD_TARGET), CorrectionRow.state == "active")).scalars()
    added = session.execute(select(CorrectionRow.lead).where(
        CorrectionRow.lead.is_not(None), CorrectionRow.state != "undone")).scalars()
    return {t.removeprefix(LEAD_TARGET) for t in dismissed} | {lead for lead in added if lead is not None}


def review(session: Session, *, as_of: date, days: int, mailbox: str | None = None,
           include_dismissed: bool = False) -> list[dict[str, Any]]:
    """Leads of the notices sent (else archived) in the `days` days up to `as_of` (inclusive), newest
    notice first, text order within a notice; dismissed ones only when asked."""
    from caltac_inbox.timeline.time import instant

    lower = instant(as_of - timedelta(days=days))
    upper = instant(as_of + timedelta(days=1))
    received = func.coalesce(MessageRow.sent, MessageRow.archived_at)  # a notice without a date: when it came
    query = (select(LeadRow, MessageRow.subject, MessageRow.sent, MessageRow.mailbox)
             .join(MessageRow, MessageRow.id == LeadRow.message_pk)
             .where(received >= lower, received < upper)
             .order_by(received.desc(), MessageRow.id.desc(), LeadRow.id))
    if mailbox:
        query = query.where(LeadRow.mailbox == mailbox)
    handled = set() if include_dismissed else handled_leads(session)
    out, seen = [], set(handled)
    for r in session.execute(query).all():
        if r.LeadRow.identity not in seen:  # copies and forwards of a notice: its newest copy
            seen.add(r.LeadRow.identity)
            out.append(_lead_json(r))
    return out


def lead_programs(session: Session, lead: dict[str, Any]) -> list[str]:
    """The programs a lead's notice is about: those of the facts read from it, else those
    its subject and sentence name (classify.context.programs_in)."""
    from caltac_inbox.classify.context import programs_in
    from caltac_inbox.store.schema import FactRow

    found: set[str] = set()
    for program in session.execute(select(FactRow.program).where(FactRow.message_pk == lead["message"])).scalars():
        found.update(program or ())
    if not found:
        found.update(programs_in(f"{lead.get('subject') or ''}\n{lead['sentence']}"))
    return sorted(found)


def same_notice_entries(session: Session, lead: dict[str, Any], key: str | None) -> list[dict[str, Any]]:
    """Entries on the day of `key` (an ISO date or time) that rest on the lead's notice:
    what an entry added from the lead may repeat."""
    if not key:
        return []
    from caltac_inbox.store.schema import EntryRow, EntrySourceRow, FactRow

    rows = session.execute(select(EntryRow.id, EntryRow.fields)
                           .join(EntrySourceRow, EntrySourceRow.entry_id == EntryRow.id)
                           .join(FactRow, FactRow.id == EntrySourceRow.fact_id)
                           .where(FactRow.message_pk == lead["message"])).all()
    out, seen = [], set()
    for entry_id, fields in rows:
        when = next((fields.get(n) for n in ("due", "start", "at") if fields.get(n)), None)
        if when and str(when)[:10] == key[:10] and entry_id not in seen:
            seen.add(entry_id)
            out.append({"id": entry_id, **fields})
    return out


def find_entry(session: Session, entry_id: str) -> dict[str, Any]:
    """The entry as `show` gives it (dismissed ones too)."""
    item = read.show(session, entry_id)
    if item is None:
        raise NotFound(entry_id)
    return item


def newest_sent(item: dict[str, Any]) -> datetime | None:
    sent = [datetime.fromisoformat(s["sent"]) for s in item.get("source_details") or item.get("sources") or []
            if s.get("sent")]
    return max(sent) if sent else None


def add_correction(session: Session, *, target: str, action: str, made_by: str, mailbox: str | None,
                   new_values: dict[str, Any] | None = None, old_values: dict[str, Any] | None = None,
                   basis_sent: datetime | None = None, reason: str | None = None,
                   lead: str | None = None) -> CorrectionRow:
    now = datetime.now(timezone.utc)
    if action == "correct":
        # a later correction of the same fields replaces the earlier one
        for earlier in session.execute(select(CorrectionRow).where(
                CorrectionRow.target == target, CorrectionRow.action == "correct",
                CorrectionRow.state == "active")).scalars():
            if set(earlier.new_values) <= set(new_values or {}):
                earlier.state, earlier.changed_at = "superseded", now
                earlier.superseded_by = "a later correction"
    row = CorrectionRow(target=target, action=action, mailbox=mailbox, made_by=made_by, made_at=now,
                     new_values=new_values or {}, old_values=old_values or {}, basis_sent=basis_sent,
                     reason=reason, lead=lead, state="active")
    session.add(row)
    session.flush()
    if action == "add" and target == "":
        row.target = f"manual-{row.id}"
        session.flush()
    _entry_changed(session, row.target)
    return row


def _entry_changed(session: Session, target: str) -> None:
    """The corrected entry is recomputed by the next timeline refresh (store.incremental)."""
    from caltac_inbox.store.pending import mark_entries_pending

    if not target.startswith(LEAD_TARGET):
        mark_entries_pending(session, [target])


class NothingPending(LookupError):
    """The entry has no change from an unverified notice waiting for a decision."""


def decide_pending(session: Session, item: dict[str, Any], action: str, *, made_by: str,
                   mailbox: str | None = None, reason: str | None = None) -> CorrectionRow:
    """Confirm or reject (`action`) every change unverified notices asked of the entry
    `item` (as find_entry gives it) and that is still pending: a correction naming them by
    their pending keys, so the decision outlives reparses (timeline.reconcile applies it)."""
    pending = item.get("pending") or []
    if not pending:
        raise NothingPending(str(item.get("id")))
    row = add_correction(session, target=item["uid"], action=action, made_by=made_by, mailbox=mailbox,
                         new_values={"pending": [p["key"] for p in pending],
                                     "changes": [str(p["note"]).removesuffix(": check") for p in pending]},
                         old_values={"status": item.get("status"), "start": item.get("start"), "end": item.get("end")},
                         basis_sent=newest_sent(item), reason=reason)
    return row


def decisions(session: Session) -> dict[str, str]:
    """The coordinator's word on pending changes: pending key -> "confirm" | "reject" (a
    later decision on the same change wins)."""
    out: dict[str, str] = {}
    for action, values in session.execute(
            select(CorrectionRow.action, CorrectionRow.new_values).where(
                CorrectionRow.action.in_(PENDING_ACTIONS), CorrectionRow.state == "active").order_by(CorrectionRow.id)):
        for key in (values or {}).get("pending") or []:
            out[str(key)] = action
    return out


def undo(session: Session, correction_id: int) -> CorrectionRow:
    """Mark the correction undone. Raises NotFound, or CorrectionError when it already is."""
    from caltac_inbox.timeline.corrections import CorrectionError

    row = session.get(CorrectionRow, correction_id)
    if row is None:
        raise NotFound(str(correction_id))
    if row.state == "undone":
        raise CorrectionError(f"correction {correction_id} is already undone; nothing changed "
                              "(`caltac-inbox corrections` lists what is in force)")
    row.state, row.changed_at = "undone", datetime.now(timezone.utc)
    session.flush()
    _entry_changed(session, row.target)
    return row


def mailbox_of(item: dict[str, Any]) -> str | None:
    """The mailbox an entry (as `show` gives it) came from: its first source's, by name."""
    mailboxes = sorted({s.get("mailbox") for s in item.get("source_details") or [] if s.get("mailbox")})
    return mailboxes[0] if mailboxes else None


def mark_done(session: Session, entry_id: str, *, made_by: str, note: str | None = None
              ) -> tuple[CorrectionRow, dict[str, Any]]:
    """Store a `done` correction of the entry `entry_id` (an id or uid) and return it with
    the entry as it was. Raises NotFound, or CorrectionError when the entry is done
    already. The mark rests on the entry's dates now (timeline.corrections.done_basis):
    a later notice that changes them reopens the entry."""
    from caltac_inbox.timeline.corrections import CorrectionError, done_basis

    item = find_entry(session, entry_id)
    if item.get("done"):
        raise CorrectionError(f"entry {item['id']} is already done; `caltac-inbox corrections` lists the mark, "
                              "`caltac-inbox undo ID` reopens it")
    row = add_correction(session, target=item["uid"], action="done", made_by=made_by, mailbox=mailbox_of(item),
                         old_values=done_basis(item), basis_sent=newest_sent(item), reason=note)
    return row, item


def _shown(at: datetime) -> str:
    from caltac_inbox.timeline.time import in_los_angeles

    shown = in_los_angeles(at)
    assert shown is not None
    return shown.isoformat()


def correction_json(row: CorrectionRow) -> dict[str, Any]:
    entry = lead_label(row.target.removeprefix(LEAD_TARGET)) if row.target.startswith(LEAD_TARGET) else row.target
    return {"id": row.id, "action": row.action, "target": row.target, "entry": entry, "state": row.state,
            "superseded_by": row.superseded_by, "by": row.made_by, "at": _shown(row.made_at),
            "mailbox": row.mailbox, "values": dict(row.new_values), "before": dict(row.old_values),
            "reason": row.reason, "lead": lead_label(row.lead) if row.lead else None}


def list_corrections(session: Session, *, target: str | None = None, mailbox: str | None = None
                     ) -> list[dict[str, Any]]:
    query = select(CorrectionRow).order_by(CorrectionRow.id)
    if target is not None:
        query = query.where(CorrectionRow.target == target)
    if mailbox:
        query = query.where(CorrectionRow.mailbox == mailbox)
    return [correction_json(r) for r in session.execute(query).scalars()]


__all__ = ["LEAD_TARGET", "NotFound", "NothingPending", "PENDING_ACTIONS", "add_correction", "correction_json",
           "decide_pending", "decisions", "find_entry", "find_lead", "handled_leads", "is_lead_id", "lead_label",
           "lead_programs", "list_corrections", "mailbox_of", "mark_done", "newest_sent", "review",
           "same_notice_entries", "undo"]
