"""Tiny stand-ins for the real parser and classifiers, plus a message builder.

Store/pipeline tests use these so they test the store, not the parsing: a message's
body lines `FACT {json}` are its facts (docs/facts.md shape), and a message without a
From header fails to parse.
"""
from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from typing import Any, Sequence

from caltac_inbox.errors import ParseError
from caltac_inbox.model import Fact, Notice


def make_eml(
    *,
    subject: str = "CAASPP notice",
    facts: Sequence[dict[str, Any]] = (),
    message_id: str = "<n1@info.ets.org>",
    sent: datetime | str = "2020-07-15T12:39:00-07:00",
    sender: str = "Do-Not-Reply@info.ets.org",
    body: str = "Dear coordinator,",
    auth: str | None = None,
) -> bytes:
    if isinstance(sent, str):
        sent = datetime.fromisoformat(sent)
    lines = [
        f"From: CAASPP <{sender}>",
        "To: coordinator@district.example",
        f"Subject: {subject}",
        f"Date: {format_datetime(sent)}",
        f"Message-ID: {message_id}",
    ]
    if auth:
        lines.append(f"Authentication-Results: mx.district.example; {auth}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body]
    lines += ["FACT " + json.dumps(f) for f in facts]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def fake_parse(raw: bytes, source: str, authserv_ids=()) -> Notice:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not msg["From"]:
        raise ParseError(f"{source}: no From header; not a mail message")
    body = msg.get_body(("plain",))
    auth = msg.get("Authentication-Results")
    return Notice(
        source=source,
        text=body.get_content() if body else "",
        subject=msg["Subject"],
        sender=parseaddr(msg["From"])[1],
        sent=parsedate_to_datetime(msg["Date"]) if msg["Date"] else None,
        message_id=msg["Message-ID"],
        authenticated=None if auth is None else ("dkim=pass" in auth),
    )


def fake_classify(notice: Notice) -> tuple[Fact, ...]:
    return tuple(
        Fact.from_json(json.loads(line[5:]))
        for line in notice.text.splitlines()
        if line.startswith("FACT ")
    )


DOWNTIME = {"kind": "downtime", "program": "CAASPP", "start": "2020-08-14T17:00:00-07:00",
            "end": "2020-08-20T08:00:00-07:00", "systems": ["TOMS", "ORS"], "evidence": "TOMS will be down."}
DESIGNATION = {"kind": "designation", "program": ["CAASPP", "ELPAC"], "due": "2020-07-01",
               "school_year": "2020-21", "evidence": "Designate by July 1."}
RETENTION = {"kind": "retention", "program": "ELPAC", "at": "2020-08-14T17:00:00-07:00",
             "data": "student score data file", "evidence": "Files will be removed."}
