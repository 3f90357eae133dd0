#!/usr/bin/env python3
"""Rebuild samples/*.eml and samples/expected.jsonl from the seed notices.

Usage: python samples/build_samples.py [SEEDS_DIR]   (default: ../shared/seeds)

Each seed (markdown-ish text: a From/Sent/To/Subject block, then the notice) becomes
real mail in several delivery shapes, with the wording kept verbatim and the markdown
removed: delivered directly (multipart/alternative, text + HTML, DKIM pass), forwarded
by a colleague months later in Outlook style, plus one HTML-only copy and one copy
forwarded as an attached message/rfc822. Output is deterministic (fixed boundaries and
Message-IDs), so a rebuild reproduces the committed files byte for byte.

expected.jsonl holds, per sample file, the seed's labelled facts (seeds/labels.jsonl,
the same for every shape of a notice) plus what parsing must find: sender, sent,
subject, forwarded_by, authenticated and sentences the notice text must contain.
"""
from __future__ import annotations

import html
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
HERE = Path(__file__).resolve().parent
DEFAULT_SEEDS = HERE.parent.parent / "shared" / "seeds"
RECIPIENT = "LEA Coordinator <coordinator@district.k12.ca.us>"


@dataclass(frozen=True)
class Plan:
    seed: str  # seed file prefix
    slug: str
    forwarder: str  # "Name <address>"
    forwarded_at: datetime
    note: str
    fwd_style: str  # "outlook" | "original" | "starred"
    key_sentences: tuple[str, ...]
    extra: tuple[str, ...] = ()  # "html" and/or "attached"
    attached_at: datetime | None = None
    attached_by: str | None = None
    attached_note: str = ""


PLANS = (
    Plan(
        seed="000",
        slug="designated-lea-coordinator",
        forwarder="Maria Lopez <mlopez@district.k12.ca.us>",
        forwarded_at=datetime(2020, 1, 14, 9, 12, tzinfo=PACIFIC),
        note="Found this in the superintendent's inbox - looks like nobody was designated in time. Can you take it over?",
        fwd_style="outlook",
        key_sentences=(
            "The deadline for designating an LEA CAASPP coordinator was July 1, 2019.",
            "The LEA CAASPP coordinator is required to carry out the responsibilities through June 30, 2020.",
        ),
    ),
    Plan(
        seed="002",
        slug="transition-downtime",
        forwarder="Derek Huang <dhuang@district.k12.ca.us>",
        forwarded_at=datetime(2020, 11, 2, 8, 5, tzinfo=PACIFIC),
        note="For the binder - this is the summer transition notice we talked about.",
        fwd_style="original",
        key_sentences=(
            "This email serves as a reminder of upcoming CAASPP system downtime from Friday, August 14 at 5 p.m. through Thursday, August 20, 2020, at 8 a.m., to prepare for the transition to the CAASPP assessments for the 2020–2021 school year.",
            "Download the 2017–2018 student data file for the LEA's records.",
        ),
        extra=("html",),
    ),
    Plan(
        seed="003",
        slug="credential-reminder",
        forwarder="Priya Shah <pshah@district.k12.ca.us>",
        forwarded_at=datetime(2019, 6, 10, 14, 40, tzinfo=PACIFIC),
        note="Our SIS vendor is asking for the credentials again. See below.",
        fwd_style="outlook",
        key_sentences=(
            "Coordinators are encouraged to generate credentials now and securely provide them to their vendors in advance of 2018–19 reporting.",
            "Our records show that your local educational agency (LEA) designated Vendor 1 and Vendor 2 as your student information system or parent or student portal vendors.",
        ),
    ),
    Plan(
        seed="004",
        slug="extended-downtime",
        forwarder="Tom Alvarez <talvarez@district.k12.ca.us>",
        forwarded_at=datetime(2016, 12, 5, 10, 30, tzinfo=PACIFIC),
        note="Keeping this one on file for the fall timeline.",
        fwd_style="starred",
        key_sentences=(
            "Therefore, we extended the downtime period through 11:59 p.m. on Tuesday, September 13, 2016.",
            "- Interim Assessment Hand Scoring System (IAHSS)",
        ),
        extra=("attached",),
        attached_at=datetime(2017, 2, 6, 15, 55, tzinfo=PACIFIC),
        attached_by="Angela Brooks <abrooks@district.k12.ca.us>",
        attached_note="Attaching last year's extended downtime notice as an example of what to expect.",
    ),
)


# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class Seed:
    name: str
    sender: str  # "Name <address>"
    sent_text: str  # as the seed wrote it ("Tuesday, September 3, 2019 10:33 AM")
    sent: datetime
    subject: str
    body_md: str


def read_seed(path: Path) -> Seed:
    lines = path.read_text(encoding="utf-8").split("\n")
    fields: dict[str, str] = {}
    body_start = None
    for i, line in enumerate(lines):
        m = re.match(r"^\s*\**(From|Sent|To|Subject):\**\s*(.*?)\s*$", line)
        if m:
            fields[m.group(1).lower()] = m.group(2).replace("**", "").strip()
            if m.group(1) == "Subject":
                body_start = i + 1
                break
    if body_start is None:
        raise SystemExit(f"{path}: no From/Sent/Subject block")
    sent = datetime.strptime(fields["sent"], "%A, %B %d, %Y %I:%M %p").replace(tzinfo=PACIFIC)
    return Seed(
        name=path.name,
        sender=fields["from"],
        sent_text=fields["sent"],
        sent=sent,
        subject=fields["subject"],
        body_md="\n".join(lines[body_start:]).strip("\n"),
    )


# --------------------------------------------------------------------------- markdown


_NUMBERED = re.compile(r"^\d+\.\s+")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]*)\)")
_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\*)(.+?)(?<!\*)\*(?![*\w])")


def inline_plain(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _BOLD.sub(r"\1", text)
    return _ITALIC.sub(r"\1", text)


def inline_html(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"\[([^\]]+)\]\(([^)]*)\)", lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', out)
    out = re.sub(r"&lt;(https?://[^&]+)&gt;", r'<a href="\1">\1</a>', out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _ITALIC.sub(r"<em>\1</em>", out)


def blocks(md: str) -> list[list[str]]:
    result: list[list[str]] = []
    for chunk in re.split(r"\n\s*\n", md.strip()):
        lines = [line.rstrip("\n") for line in chunk.split("\n") if line.strip()]
        if lines:
            result.append(lines)
    return result


def to_plain(md: str) -> str:
    out: list[str] = []
    for block in blocks(md):
        rendered = []
        for line in block:
            line = re.sub(r"^#+\s*", "", line)
            rendered.append(inline_plain(line).rstrip())
        out.append("\n".join(rendered))
    return "\n\n".join(out) + "\n"


def to_html(md: str) -> str:
    parts: list[str] = []
    for block in blocks(md):
        first = block[0]
        if re.match(r"^#+\s", first):
            level = min(len(first) - len(first.lstrip("#")), 6)
            parts.append(f"<h{level}>{inline_html(first.lstrip('#').strip())}</h{level}>")
        elif all(re.match(r"^\d+\.\s", line) for line in block):
            items = "".join(f"<li>{inline_html(_NUMBERED.sub('', line))}</li>" for line in block)
            parts.append(f"<ol>{items}</ol>")
        elif all(line.startswith("- ") for line in block):
            items = "".join(f"<li>{inline_html(line[2:])}</li>" for line in block)
            parts.append(f"<ul>{items}</ul>")
        else:
            text = "<br>\n".join(inline_html(line.rstrip()) for line in block)
            parts.append(f'<p style="font-family:Calibri,Arial">{text}</p>')
    return "\n".join(parts)


def html_document(body: str) -> str:
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
        f"<body>\n{body}\n</body></html>\n"
    )


# --------------------------------------------------------------------------- messages


def message_id(seed: Seed, shape: str, domain: str) -> str:
    return f"<caltac-inbox-sample.{seed.name[:3]}.{shape}.{seed.sent:%Y%m%d%H%M}@{domain}>"


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1].rstrip(">")


def auth_results(domain: str) -> str:
    return (
        f"mx.district.k12.ca.us; dkim=pass header.d={domain}; "
        f"spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}"
    )


def base_message(sender: str, subject: str, when: datetime, msgid: str) -> EmailMessage:
    msg = EmailMessage(policy=policy.default)
    msg["From"] = sender
    msg["To"] = RECIPIENT
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msgid
    msg["Authentication-Results"] = auth_results(domain_of(sender))
    return msg


def direct(seed: Seed, shape: str = "direct", html_only: bool = False) -> EmailMessage:
    msg = base_message(seed.sender, seed.subject, seed.sent, message_id(seed, shape, domain_of(seed.sender)))
    if html_only:
        msg.set_content(html_document(to_html(seed.body_md)), subtype="html")
    else:
        msg.set_content(to_plain(seed.body_md))
        msg.add_alternative(html_document(to_html(seed.body_md)), subtype="html")
        msg.set_boundary(f"==caltac-sample-{seed.name[:3]}-{shape}-alt==")
    return msg


def forwarded(seed: Seed, plan: Plan) -> EmailMessage:
    sender = plan.forwarder
    msg = base_message(
        sender, f"FW: {seed.subject}", plan.forwarded_at, message_id(seed, "forwarded", domain_of(sender))
    )
    header_rows = (("From", seed.sender), ("Sent", seed.sent_text), ("To", RECIPIENT), ("Subject", seed.subject))
    if plan.fwd_style == "original":
        block = "-----Original Message-----\n" + "\n".join(f"{k}: {v}" for k, v in header_rows)
    elif plan.fwd_style == "starred":
        block = "________________________________\n" + "\n".join(f"*{k}:* {v}" for k, v in header_rows)
    else:
        block = "________________________________\n" + "\n".join(f"{k}: {v}" for k, v in header_rows)
    plain = f"{plan.note}\n\n{block}\n\n{to_plain(seed.body_md)}"
    html_rows = "<br>\n".join(f"<b>{k}:</b> {html.escape(v)}" for k, v in header_rows)
    html_body = (
        f'<div style="font-family:Calibri,Arial">{html.escape(plan.note)}</div>\n'
        '<div id="appendonsend"></div>\n<hr style="display:inline-block;width:98%" tabindex="-1">\n'
        f'<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt">'
        f"{html_rows}</font>\n<div>&nbsp;</div></div>\n{to_html(seed.body_md)}"
    )
    msg.set_content(plain)
    msg.add_alternative(html_document(html_body), subtype="html")
    msg.set_boundary(f"==caltac-sample-{seed.name[:3]}-forwarded-alt==")
    return msg


def attached(seed: Seed, plan: Plan) -> EmailMessage:
    assert plan.attached_by and plan.attached_at
    sender = plan.attached_by
    msg = base_message(
        sender, f"FW: {seed.subject}", plan.attached_at, message_id(seed, "attached", domain_of(sender))
    )
    msg.set_content(plan.attached_note + "\n")
    msg.add_attachment(direct(seed, "inner"), filename="notice.eml")
    msg.set_boundary(f"==caltac-sample-{seed.name[:3]}-attached-mixed==")
    return msg


# --------------------------------------------------------------------------- build


def bare(address: str) -> str:
    return address.rsplit("<", 1)[-1].rstrip(">").strip()


def build(seeds_dir: Path, out_dir: Path) -> list[str]:
    labels = {}
    for line in (seeds_dir / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels[row["file"][:3]] = row
    written: list[str] = []
    expected: list[dict] = []
    for plan in PLANS:
        seed_path = next(seeds_dir.glob(f"{plan.seed}_*.txt"))
        seed = read_seed(seed_path)
        label = labels[plan.seed]
        shapes: list[tuple[str, EmailMessage, str | None]] = [
            ("", direct(seed), None),
            ("-forwarded", forwarded(seed, plan), bare(plan.forwarder)),
        ]
        if "html" in plan.extra:
            shapes.append(("-html", direct(seed, "html", html_only=True), None))
        if "attached" in plan.extra:
            shapes.append(("-attached", attached(seed, plan), bare(plan.attached_by or "")))
        for suffix, msg, forwarded_by in shapes:
            name = f"{seed.sent:%Y-%m-%d}-{plan.slug}{suffix}.eml"
            (out_dir / name).write_bytes(msg.as_bytes(policy=policy.default))
            written.append(name)
            expected.append(
                {
                    "file": name,
                    "seed": seed.name,
                    "sender": bare(seed.sender),
                    "sent": seed.sent.isoformat(),
                    "subject": seed.subject,
                    "forwarded_by": forwarded_by,
                    "authenticated": True,
                    "text_contains": list(plan.key_sentences),
                    "kinds": label["kinds"],
                    "facts": label["facts"],
                }
            )
    with (out_dir / "expected.jsonl").open("w", encoding="utf-8") as fh:
        for row in expected:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return written


def main(argv: list[str]) -> int:
    seeds_dir = Path(argv[0]) if argv else DEFAULT_SEEDS
    if not (seeds_dir / "labels.jsonl").exists():
        print(f"build_samples: no seeds at {seeds_dir} (pass the seeds directory)", file=sys.stderr)
        return 2
    for name in build(seeds_dir, HERE):
        print(f"samples/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
