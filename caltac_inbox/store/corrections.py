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
    return row


def undo(session: Session, correction_id: int) -> CorrectionRow:
    row = session.get(CorrectionRow, correction_id)
    if row is None:
        raise NotFound(str(correction_id))
    if row.state != "undone":
        row.state, row.changed_at = "undone", datetime.now(timezone.utc)
        session.flush()
    return row


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


__all__ = ["LEAD_TARGET", "NotFound", "add_correction", "correction_json", "find_entry", "find_lead",
           "handled_leads", "is_lead_id", "lead_label", "list_corrections", "newest_sent", "review", "undo"]
