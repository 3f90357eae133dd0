"""An archived notice as a person reads it (`read`, the web page's notice view). Pure.

`readable_notice(raw)` parses the archived bytes the way ingest does (caltac_inbox.parse:
HTML rendered to text, forwarded notices unwrapped to the original) and gives its From,
To, Date (America/Los_Angeles) and Subject, who forwarded it, and the body as text.
Control characters and terminal escape sequences are removed from all of it: the text
comes from whoever sent the mail. A message that cannot be parsed is shown as its
decoded bytes, with the parse error.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

from caltac_inbox.display import printable
from caltac_inbox.errors import ParseError
from caltac_inbox.timeline.time import LOS_ANGELES


@dataclass(frozen=True)
class ReadableNotice:
    headers: tuple[tuple[str, str], ...]  # (name, value), in reading order
    body: str
    problem: str | None = None  # why the message could not be parsed (body is then its bytes decoded)

    def text(self) -> str:
        """The notice as `read` prints it: headers, a blank line, the body."""
        head = "\n".join(f"{name}: {value}" for name, value in self.headers)
        note = f"(cannot be parsed: {self.problem}; shown as stored)\n\n" if self.problem else ""
        return f"{head}\n\n{note}{self.body.rstrip()}\n"


def readable_notice(raw: bytes, source: str = "archived message") -> ReadableNotice:
    from caltac_inbox.parse import parse_message

    to = _header(raw, "To")
    try:
        notice = parse_message(raw, source)
    except ParseError as exc:
        body = raw.decode("utf-8", "replace")
        return ReadableNotice(headers=(("To", to),) if to else (), body=printable(body, multiline=True),
                              problem=printable(str(exc)))
    sender = f"{notice.sender_name} <{notice.sender}>" if notice.sender_name and notice.sender else notice.sender
    headers = [("From", sender or "(unknown)"), ("To", to or "(not given)"),
               ("Date", readable_time(notice.sent) if notice.sent else "(not given)"),
               ("Subject", notice.subject or "(no subject)")]
    if notice.forwarded_by:
        headers.append(("Forwarded by", notice.forwarded_by))
    body = notice.text
    if notice.forward_note.strip():
        body = f"{body.rstrip()}\n\n-- the forwarder's note --\n{notice.forward_note.strip()}"
    return ReadableNotice(headers=tuple((name, printable(value)) for name, value in headers),
                          body=printable(body, multiline=True))


def readable_time(at: datetime) -> str:
    """'Wed, Jul 15, 2020 12:39 PM PDT': an instant as a person reads it, in Los Angeles."""
    local = at.astimezone(LOS_ANGELES)
    return f"{local:%a, %b} {local.day}, {local.year} {local.hour % 12 or 12}:{local:%M} " \
           f"{'AM' if local.hour < 12 else 'PM'} {local.tzname()}"


def _header(raw: bytes, name: str) -> str | None:
    """The outer message's header `name`, decoded (RFC 2047), on one line."""
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(raw[:256 * 1024]).get(name)
        if value is None:
            return None
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except Exception:  # noqa: BLE001 - a mangled header is shown as missing, never a traceback
        return None


__all__ = ["ReadableNotice", "readable_notice", "readable_time"]
