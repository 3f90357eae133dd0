"""How fresh the timeline is: when each mailbox was last polled successfully. Pure.

A cron job that breaks quietly (an expired app password, a full disk) leaves a confident,
stale calendar. Each poll stores its mailbox's last attempt, its error and its last
success (store.freshness); `assess` turns them into one `MailboxFreshness` per mailbox,
stale when the last success is older than `max_age` (config `max_age`, default 26 hours:
a daily cron job plus slack) or when polls were made and none succeeded. A mailbox never
polled at all (a new setup) is not stale yet. `upcoming`, `timeline`, the web page,
/healthz and `doctor` all say it the same way (`checked_line`, `warning_lines`).

Which mailboxes count: the configured ones; without a configured mailbox, those ever
polled (a web server started without the poller's configuration). Someone who only
ingests files has none, and sees no line at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

# How old the last successful poll may be before the timeline counts as stale: a daily cron
# job plus slack (the configuration's `max_age`, caltac_inbox.config, defaults to it). It
# lives here, not in config, so a listing imports config only when it reads the file.
DEFAULT_MAX_AGE = timedelta(hours=26)


@dataclass(frozen=True)
class PollRecord:
    """What store.freshness keeps of a mailbox's polls."""

    mailbox: str
    attempted_at: datetime
    succeeded_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class MailboxFreshness:
    mailbox: str
    checked_at: datetime | None  # the last successful poll
    attempted_at: datetime | None  # the last poll, successful or not
    error: str | None  # why the last attempt failed (None: it succeeded, or none was made)
    age: timedelta | None  # since the last successful poll
    stale: bool
    max_age: timedelta

    def to_json(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "checked_at": _shown(self.checked_at),
                "age_seconds": int(self.age.total_seconds()) if self.age is not None else None,
                "stale": self.stale, "max_age_seconds": int(self.max_age.total_seconds()),
                "last_attempt_at": _shown(self.attempted_at), "last_error": self.error}


def _shown(at: datetime | None) -> str | None:
    # imported here: config imports this module, and a no-op poll reads config but must not
    # load the model and the timeline (tests/system/test_imap_dovecot.py, the no-op poll)
    from caltac_inbox.timeline.time import LOS_ANGELES

    return at.astimezone(LOS_ANGELES).isoformat(timespec="seconds") if at is not None else None


def assess(records: Iterable[PollRecord], configured: Sequence[str], now: datetime,
           max_age: timedelta = DEFAULT_MAX_AGE) -> list[MailboxFreshness]:
    """One entry per mailbox that counts (module docstring), in name order."""
    by_name = {r.mailbox: r for r in records}
    names = sorted(set(configured)) if configured else sorted(by_name)
    out = []
    for name in names:
        record = by_name.get(name)
        checked = record.succeeded_at if record else None
        age = max(now - checked, timedelta(0)) if checked is not None else None
        out.append(MailboxFreshness(
            mailbox=name, checked_at=checked, attempted_at=record.attempted_at if record else None,
            error=record.error if record else None, age=age,
            # never attempted: a new setup before its first poll, not a broken one
            stale=record is not None and (age is None or age > max_age), max_age=max_age))
    return out


def ago(delta: timedelta) -> str:
    """'just now', '12 minutes', '5 hours', '3 days' (rounded down)."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "less than a minute"
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    raise AssertionError("unreachable")  # pragma: no cover


def checked_line(states: Sequence[MailboxFreshness]) -> str | None:
    """'mail checked 3 hours ago' (the mailbox checked longest ago, named when there are
    several); None without mailboxes or when none was ever checked."""
    checked = [s for s in states if s.age is not None]
    if not checked:
        return None
    oldest = max(checked, key=lambda s: s.age or timedelta(0))
    assert oldest.age is not None
    where = f" (mailbox {oldest.mailbox})" if len(states) > 1 else ""
    return f"mail checked {ago(oldest.age)} ago{where}"


def warning_lines(states: Sequence[MailboxFreshness]) -> list[str]:
    """One line per stale mailbox: how old its notices are and why the last poll failed."""
    lines = []
    for s in states:
        if not s.stale:
            continue
        if s.age is None:
            head = f"mailbox {s.mailbox} has never been polled successfully"
        else:
            head = f"mail of mailbox {s.mailbox} last checked {ago(s.age)} ago (more than {ago(s.max_age)})"
        failure = f"; the last poll failed: {s.error}" if s.error else ""
        lines.append(f"{head}{failure}: the timeline may be out of date; check the cron job and run "
                     "`caltac-inbox poll` (`caltac-inbox doctor` says what is wrong)")
    return lines


def records_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[PollRecord]:
    """store.read.mailbox_polls' rows as records."""
    return [PollRecord(mailbox=r["mailbox"], attempted_at=r["attempted_at"], succeeded_at=r["succeeded_at"],
                       error=r["error"]) for r in rows]


__all__ = ["DEFAULT_MAX_AGE", "MailboxFreshness", "PollRecord", "ago", "assess", "checked_line",
           "records_from_rows", "warning_lines"]
