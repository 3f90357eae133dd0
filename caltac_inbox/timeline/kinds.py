"""What each kind of fact means, in one place: its key date and span, its identity, when
two facts say the same thing, where it sorts, and the words that name it.

Kinds (docs/facts.md): downtime (a window of systems down), designation (a coordinator
to designate by a date), credential (SIS vendor credentials for a school year),
retention (data removed on a date), deadline (an action due by a date) and task (a
checklist item of a month). Pure.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from caltac_inbox.model import PROGRAMS, Fact, When
from caltac_inbox.timeline.time import after, instant, iso, local_date

# Fields that say nothing about what a fact states, only where and how it was said:
# left out of its identity (so one fact read again with other words is the same fact).
NOT_IDENTITY = ("evidence", "unverified", "needs_review", "review_reason", "position")


# --- dates ---------------------------------------------------------------------------


def key_date(fact: Fact) -> When | None:
    """The date a timeline sorts and selects a fact by: a downtime's start (its end when
    only that is known), a task's month (its first day), anything else its due date or
    removal date. None: undated (an ongoing task, a credential without due date)."""
    if fact.kind == "downtime":
        return fact.start or fact.end
    if fact.kind == "task":
        return date.fromisoformat(fact.month + "-01") if fact.month else None
    return fact.due or fact.at


def dated_by_notice(fact: Fact) -> bool:
    """A credential reminder that names no due date is placed on the day of its notice."""
    return fact.kind == "credential" and fact.due is None


def span(fact: Fact, key: When | None) -> tuple[datetime, datetime] | None:
    """[first instant, first instant after) that an entry with this fact and key date
    covers: a downtime from start to end, a task its whole month, anything else its key
    day (a date) or instant (a time). None when it has no date."""
    if fact.kind == "downtime" and (fact.start is not None or fact.end is not None):
        start = fact.start if fact.start is not None else fact.end
        end = fact.end if fact.end is not None else fact.start
        assert start is not None and end is not None  # one of them is set: the condition above
        return instant(start), after(end)
    if key is None:
        return None
    if fact.kind == "task" and fact.month:
        first = date.fromisoformat(fact.month + "-01")
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return instant(first), instant(following)
    return instant(key), after(key)


def sort_position(fact: Fact) -> int:
    """Among entries of one kind and instant: a checklist task by its place in the list."""
    return fact.position if fact.kind == "task" and fact.position is not None else 0


# --- identity and matching -----------------------------------------------------------


def canonical_json(fact: Fact, leave_out: tuple[str, ...] = NOT_IDENTITY) -> str:
    """The docs/facts.md JSON of a fact, keys sorted, without the fields `leave_out`
    (by default: what it states, its identity)."""
    data = {k: v for k, v in fact.to_json().items() if k not in leave_out}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fact_identity(fact: Fact) -> str:
    """sha256 of canonical_json: one stored fact per message and identity."""
    import hashlib  # here: only writing makes identities; a listing need not load OpenSSL (~2 ms)

    return hashlib.sha256(canonical_json(fact).encode("utf-8")).hexdigest()


def digest(payload: Any) -> str:
    """sha256 of `payload` as sorted JSON (what entry uids and content hashes are made of)."""
    import hashlib  # as in fact_identity

    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def uid_base(fact: Fact, sent: datetime | None) -> str:
    """An entry's uid from the earliest fact it rests on and that notice's sent time,
    never a row id: "<kind>-<key date digits>-<10 hex digits>"."""
    key: Any = key_date(fact) if fact.kind != "task" else fact.month
    if key is None and fact.kind != "task" and sent is not None:
        key = local_date(sent)
    identity = [fact.kind, sorted(fact.program), iso(fact.start), iso(fact.end), iso(fact.due), iso(fact.at),
                fact.school_year, norm_text(fact.action), norm_text(fact.data), fact.system,
                fact.month, fact.section, norm_text(fact.text)]
    if fact.kind == "downtime" and fact.start is None:
        identity.append(fact.status)
    if fact.kind == "credential":
        identity.append(iso(sent))
    stamp = re.sub(r"[^0-9]", "", str(key))[:12] if key else "undated"
    return f"{fact.kind}-{stamp}-{digest(identity)[:10]}"


def match_key(fact: Fact) -> tuple:
    """Facts that can be one entry share this (key dates compare by their day)."""
    if fact.kind == "credential":
        return (fact.kind, fact.school_year)
    if fact.kind == "task":
        return (fact.kind, fact.month)
    key = key_date(fact)
    return (fact.kind, local_date(key) if key is not None else None)


def same_thing(a: Fact, b: Fact) -> bool:
    """Whether `b` restates `a` (two facts of one kind other than downtime, whose
    windows reconcile matches on its own terms)."""
    if not programs_compatible(a, b):
        return False
    if a.kind == "designation":
        return same_when(a.due, b.due) and _optional_equal(a.school_year, b.school_year)
    if a.kind == "deadline":
        return same_when(a.due, b.due) and _similar(a.action, b.action, 0.5)
    if a.kind == "credential":
        return (a.school_year == b.school_year and _optional_equal(a.action, b.action)
                and (a.due is None or b.due is None or same_when(a.due, b.due)))
    if a.kind == "retention":
        if not (same_when(a.at, b.at) and _optional_equal(a.school_year, b.school_year)):
            return False
        if a.system and b.system:
            return a.system == b.system
        return _similar(a.data, b.data, 0.5)
    if a.kind == "task":
        # school_year keeps each checklist edition's ongoing tasks (month None) apart.
        return ((a.month, a.section, a.school_year, norm_text(a.text))
                == (b.month, b.section, b.school_year, norm_text(b.text)))
    return canonical_json(a) == canonical_json(b)


def same_when(a: When | None, b: When | None) -> bool:
    """Equal at the coarser precision of the two: a date matches any time that day."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b
    return local_date(a) == local_date(b)


def programs_compatible(a: Fact, b: Fact) -> bool:
    """Programs overlap, or one of the facts names none (it applies to every program)."""
    return not a.program or not b.program or bool(set(a.program) & set(b.program))


def union_programs(a: Fact, b: Fact) -> tuple[str, ...]:
    both = set(a.program) | set(b.program)
    return tuple(p for p in PROGRAMS if p in both) + tuple(sorted(both - set(PROGRAMS)))


def _optional_equal(a: Any, b: Any) -> bool:
    return a is None or b is None or a == b


_STOPWORDS = frozenset("a an the to of in for and or on by with your all be is are".split())


def _tokens(text: str | None) -> set[str]:
    return {t for t in re.findall(r"[a-z0-9]+", (text or "").lower()) if t not in _STOPWORDS}


def _similar(a: str | None, b: str | None, threshold: float) -> bool:
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return not ta and not tb
    if ta <= tb or tb <= ta:
        return True
    return len(ta & tb) / len(ta | tb) >= threshold


def norm_text(text: str | None) -> str | None:
    return " ".join(sorted(_tokens(text))) if text else None


__all__ = ["NOT_IDENTITY", "dated_by_notice", "digest", "fact_identity", "canonical_json", "key_date", "match_key",
           "norm_text", "programs_compatible", "same_thing", "same_when", "sort_position", "span", "uid_base",
           "union_programs"]
