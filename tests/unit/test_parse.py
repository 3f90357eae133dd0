"""parse_message: headers, clean text, forward unwrapping, and survival of bad mail."""
from __future__ import annotations

import json
import random
import re
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caltac_inbox.errors import ParseError
from caltac_inbox.model import Extraction, Notice
from caltac_inbox.parse import (
    MAX_TEXT_CHARS,
    html_to_text,
    normalize_text,
    parse_message,
)
from caltac_inbox.timeline.time import LOS_ANGELES
from tests.shared import SHARED, needs_shared

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
CORPUS = SHARED / "corpus"


def mail(headers: str, body: str, charset: str = "utf-8") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode(charset)


HEAD = """\
From: CalTAC <CalTAC@info.ets.org>
To: LEA Coordinator <coordinator@district.k12.ca.us>
Subject: CAASPP: A notice
Date: Tue, 03 Sep 2019 10:33:00 -0700
Message-ID: <abc@info.ets.org>
MIME-Version: 1.0
"""


def parse_or_error(raw: bytes) -> Notice | None:
    """parse_message may raise ParseError and nothing else; a Notice must be serialisable."""
    try:
        notice = parse_message(raw, "mutant.eml")
    except ParseError as exc:
        assert "\n" not in str(exc) and str(exc)
        return None
    assert isinstance(notice.text, str) and "\x00" not in notice.text
    assert len(notice.text) <= MAX_TEXT_CHARS
    json.dumps(Extraction(source="mutant.eml", notice=notice).to_json()).encode("utf-8")
    notice.text.encode("utf-8")
    notice.forward_note.encode("utf-8")
    if notice.sent is not None:
        assert notice.sent.tzinfo is not None
    return notice


# --------------------------------------------------------------------------- headers


def test_headers_of_a_direct_notice():
    raw = mail(HEAD + "Content-Type: text/plain; charset=utf-8\n", "Dear LEA CAASPP Coordinator:\n")
    n = parse_message(raw, "x.eml")
    assert n.source == "x.eml"
    assert n.sender == "CalTAC@info.ets.org"
    assert n.sender_name == "CalTAC"
    assert n.subject == "CAASPP: A notice"
    assert n.sent == datetime(2019, 9, 3, 10, 33, tzinfo=LOS_ANGELES)
    assert n.sent.isoformat() == "2019-09-03T10:33:00-07:00"
    assert n.message_id == "<abc@info.ets.org>"
    assert n.forwarded_by is None and n.forward_note == ""
    assert n.authenticated is None
    assert n.text == "Dear LEA CAASPP Coordinator:"


def test_encoded_subject_keeps_the_space_after_an_encoded_word():
    head = HEAD.replace(
        "Subject: CAASPP: A notice",
        "Subject: ELPAC: Preparing to Transition to the =?utf-8?q?2023=E2=80=9324?=\n Administration",
    )
    n = parse_message(mail(head, "x\n"), "x.eml")
    assert n.subject == "ELPAC: Preparing to Transition to the 2023–24 Administration"


@pytest.mark.parametrize(
    ("date_header", "expected"),
    [
        ("Wed, 15 Jul 2020 12:39:00 -0700", "2020-07-15T12:39:00-07:00"),
        ("Wed, 15 Jul 2020 19:39:00 +0000", "2020-07-15T12:39:00-07:00"),  # shown in Pacific time
        ("Wed, 15 Jul 2020 12:39:00", "2020-07-15T12:39:00-07:00"),  # no zone: Pacific
        ("Tue, 10 Dec 2019 09:00:00", "2019-12-10T09:00:00-08:00"),
        ("Wed, 15 Jul 2020 19:39:00 -0000", "2020-07-15T12:39:00-07:00"),  # -0000 is UTC
        ("Wednesday, July 15, 2020 12:39 PM", "2020-07-15T12:39:00-07:00"),  # broken mailer
    ],
)
def test_date_header(date_header, expected):
    n = parse_message(mail(HEAD.replace("Tue, 03 Sep 2019 10:33:00 -0700", date_header), "x\n"), "x.eml")
    assert n.sent is not None and n.sent.isoformat() == expected


@pytest.mark.parametrize(
    "date_header",
    ["Mon, 31 Feb 2020 10:00:00 -0800", "Tue, 03 Sep 2019 27:61:00 -0700", "yesterday", "",
     "Tue, 03 Sep 99999 10:00:00 -0700", "Tue, 03 Sep 2019 10:00:00 +9999"],
)
def test_impossible_date_header_is_none_not_an_error(date_header):
    n = parse_message(mail(HEAD.replace("Tue, 03 Sep 2019 10:33:00 -0700", date_header), "x\n"), "x.eml")
    assert n.sent is None


def test_raw_8bit_header_is_decoded():
    raw = HEAD.replace("A notice", "Año – notice").encode("utf-8") + b"\nbody\n"
    n = parse_message(raw, "x.eml")
    assert n.subject == "CAASPP: Año – notice"


# --------------------------------------------------------------------------- authentication

OUR_SERVER = ("mx.district.k12.ca.us",)  # the receiving server the test messages name


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("mx.district.k12.ca.us; dkim=pass header.d=info.ets.org; spf=pass", True),
        ("mx.district.k12.ca.us; dkim=pass header.d=ets.org", True),  # relaxed alignment
        ("mx.district.k12.ca.us; dkim=fail header.d=info.ets.org; dmarc=pass header.from=info.ets.org", True),
        ("mx.district.k12.ca.us; dkim=pass header.d=mailer.example.com; dmarc=fail", False),
        ("mx.district.k12.ca.us; dkim=fail header.d=info.ets.org; spf=pass; dmarc=fail", False),
        ("mx.district.k12.ca.us; none", False),
        ("mx.district.k12.ca.us; dkim=pass (good signature)\n header.d=info.ets.org", True),
    ],
)
def test_authenticated(header, expected):
    raw = mail(HEAD + f"Authentication-Results: {header}\n", "x\n")
    assert parse_message(raw, "x.eml", authserv_ids=OUR_SERVER).authenticated is expected


def test_only_the_topmost_authentication_results_counts():
    raw = mail(
        HEAD
        + "Authentication-Results: mx.district.k12.ca.us; dkim=fail header.d=info.ets.org; dmarc=fail\n"
        + "Authentication-Results: forged.example; dkim=pass header.d=info.ets.org\n",
        "x\n",
    )
    assert parse_message(raw, "x.eml", authserv_ids=OUR_SERVER).authenticated is False


# --------------------------------------------------------------------------- text


def test_html_to_text_blocks_lists_tables_entities():
    html = """<html><head><style>p{color:red}</style><script>var x = 1;</script></head><body>
    <h4>Prior to   Downtime</h4><p>Systems are down <strong>from Friday,
    August 14</strong>&nbsp;at 5&nbsp;p.m. &amp; more&hellip;</p>
    <ul><li>Test Operations Management System (TOMS)</li><li>ORS</li></ul>
    <ol><li>First</li><li>Second</li></ol>
    <div>one<br>two</div>
    <table><tr><th>System</th><td>Down</td></tr><tr><td>a</td><td>b</td><td>c</td></tr></table>
    <!-- a comment --></body></html>"""
    assert html_to_text(html).split("\n") == [
        "Prior to Downtime",
        "",
        "Systems are down from Friday, August 14 at 5 p.m. & more…",
        "",
        "- Test Operations Management System (TOMS)",
        "- ORS",
        "",
        "1. First",
        "2. Second",
        "",
        "one",
        "two",
        "",
        "System: Down",
        "a | b | c",
    ]


def test_html_to_text_survives_thousands_of_nested_elements():
    html = "<div>" * 5000 + "deep text" + "</div>" * 5000
    assert html_to_text(html) == "deep text"


def test_normalize_text():
    text = "  a\t\tb\u00a0 c  \r\n\r\n\r\n\r\nd\x00e\u200b\n\n"
    assert normalize_text(text) == "a b c\n\nde"


def test_plain_part_preferred_over_html():
    msg = EmailMessage(policy=policy.default)
    for k, v in (("From", "CalTAC <CalTAC@info.ets.org>"), ("Subject", "s"), ("Date", "Tue, 03 Sep 2019 10:33:00 -0700")):
        msg[k] = v
    plain = "Plain version of the notice. " * 10
    msg.set_content(plain)
    msg.add_alternative("<p>HTML version</p>", subtype="html")
    n = parse_message(msg.as_bytes(), "x.eml")
    assert n.text == plain.strip() and n.html is False


def test_stub_plain_part_gives_way_to_html():
    msg = EmailMessage(policy=policy.default)
    msg["From"] = "CalTAC <CalTAC@info.ets.org>"
    msg["Subject"] = "s"
    msg.set_content("To view this message in a browser, please use an HTML capable client.")
    msg.add_alternative("<p>" + "The downtime starts Friday, August 14 at 5 p.m. " * 5 + "</p>", subtype="html")
    n = parse_message(msg.as_bytes(), "x.eml")
    assert n.html is True and n.text.startswith("The downtime starts Friday, August 14")


def test_format_flowed_is_unwrapped():
    raw = mail(
        HEAD + 'Content-Type: text/plain; charset=utf-8; format=flowed\n',
        "The downtime runs from Friday, August 14 at 5 p.m. \nthrough Thursday, August 20.\n",
    )
    assert parse_message(raw, "x.eml").text == (
        "The downtime runs from Friday, August 14 at 5 p.m. through Thursday, August 20."
    )


@pytest.mark.parametrize(
    ("charset", "payload", "expected"),
    [
        ("utf-8", "2019–20 test administration".encode("utf-8"), "2019–20 test administration"),
        ("iso-8859-1", "2019–20 it’s".encode("utf-8"), "2019–20 it’s"),  # lying: really UTF-8
        ("utf-8", "2019–20 it’s".encode("cp1252"), "2019–20 it’s"),  # lying: really cp1252
        ("x-klingon", "2019–20".encode("utf-8"), "2019–20"),  # unknown charset
        ("us-ascii", "caf\xe9".encode("latin-1"), "café"),
        ("base64", b"plain ascii", "plain ascii"),  # a codec that is not a text encoding
    ],
)
def test_charsets(charset, payload, expected):
    raw = (HEAD + f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n").encode() + payload
    assert parse_message(raw, "x.eml").text == expected


# --------------------------------------------------------------------------- forwards

NOTICE_BODY = "Dear LEA CAASPP Coordinator:\n\nThe downtime runs from Friday, August 14 at 5 p.m.\n"
FORWARD_HEAD = """\
From: Derek Huang <dhuang@district.k12.ca.us>
To: LEA Coordinator <coordinator@district.k12.ca.us>
Subject: FW: CAASPP: Preparing to Transition
Date: Mon, 02 Nov 2020 08:05:00 -0800
Message-ID: <fw1@district.k12.ca.us>
Authentication-Results: mx.district.k12.ca.us; dkim=pass header.d=district.k12.ca.us
Content-Type: text/plain; charset=utf-8
"""


@pytest.mark.parametrize(
    "block",
    [
        # Outlook, underscore rule
        "________________________________\nFrom: CAASPP <Do-Not-Reply@info.ets.org>\n"
        "Sent: Wednesday, July 15, 2020 12:39 PM\nTo: LEA Coordinator <c@d.org>\n"
        "Subject: CAASPP: Preparing to Transition to the 2020-21 Administration\n",
        # Outlook, classic
        "-----Original Message-----\nFrom: CAASPP [mailto:Do-Not-Reply@info.ets.org]\n"
        "Sent: Wednesday, July 15, 2020 12:39 PM\nTo: c@d.org\n"
        "Subject: CAASPP: Preparing to Transition to the 2020-21 Administration\n",
        # Outlook header block alone, bold markdown-ish
        "**From:** CAASPP <Do-Not-Reply@info.ets.org>  \n**Sent:** Wednesday, July 15, 2020 12:39 PM  \n"
        "**To:**  \n**Subject:** CAASPP: Preparing to Transition to the 2020-21 Administration\n",
        "*From:* CAASPP <Do-Not-Reply@info.ets.org>\n*Sent:* Wednesday, July 15, 2020 12:39 PM\n"
        "*Subject:* CAASPP: Preparing to Transition to the 2020-21 Administration\n",
        # Gmail
        "---------- Forwarded message ---------\nFrom: CAASPP <Do-Not-Reply@info.ets.org>\n"
        "Date: Wed, Jul 15, 2020 at 12:39 PM\n"
        "Subject: CAASPP: Preparing to Transition to the 2020-21 Administration\nTo: <c@d.org>\n",
        # Outlook with blank lines between the header lines
        "From: CAASPP <Do-Not-Reply@info.ets.org>\n\nSent: Wednesday, July 15, 2020 12:39 PM\n\n"
        "Subject: CAASPP: Preparing to Transition to the 2020-21 Administration\n",
    ],
)
def test_inline_forward_is_unwrapped(block):
    note = "For the binder - see the dates below."
    raw = mail(FORWARD_HEAD, f"{note}\n\n{block}\n{NOTICE_BODY}")
    n = parse_message(raw, "x.eml", authserv_ids=OUR_SERVER, trusted_forwarders=("district.k12.ca.us",))
    assert n.sender == "Do-Not-Reply@info.ets.org"
    assert n.sender_name == "CAASPP"
    assert n.sent == datetime(2020, 7, 15, 12, 39, tzinfo=LOS_ANGELES)
    assert n.subject == "CAASPP: Preparing to Transition to the 2020-21 Administration"
    assert n.forwarded_by == "dhuang@district.k12.ca.us"
    assert n.forward_note == note
    assert n.text == normalize_text(NOTICE_BODY)
    assert n.authenticated is True  # describes the outer message, from a trusted forwarder
    assert n.message_id == "<fw1@district.k12.ca.us>"
    assert parse_message(raw, "x.eml", authserv_ids=OUR_SERVER).authenticated is False  # no forwarder trusted


def test_outlook_html_forward_without_plain_part():
    html = (
        "<html><body><div>FYI below</div><hr><div id=divRplyFwdMsg><font face=Calibri>"
        "<b>From:</b> CalTAC &lt;CalTAC@info.ets.org&gt;<br><b>Sent:</b> Tuesday, September 3, 2019 10:33 AM<br>"
        "<b>To:</b> Someone<br><b>Subject:</b> CAASPP--You Have Been Designated</font></div>"
        "<p>Dear LEA Superintendent:</p><p>The deadline was July 1, 2019.</p></body></html>"
    )
    raw = mail(FORWARD_HEAD.replace("text/plain", "text/html"), html)
    n = parse_message(raw, "x.eml")
    assert (n.sender, n.subject, n.forwarded_by, n.forward_note) == (
        "CalTAC@info.ets.org", "CAASPP--You Have Been Designated", "dhuang@district.k12.ca.us", "FYI below")
    assert n.sent.isoformat() == "2019-09-03T10:33:00-07:00"
    assert n.text == "Dear LEA Superintendent:\n\nThe deadline was July 1, 2019."
    assert n.html is True


def test_nested_forwards_unwrap_to_the_innermost_notice():
    body = (
        "Outer note.\n\n-----Original Message-----\nFrom: Maria Lopez <mlopez@district.k12.ca.us>\n"
        "Sent: Friday, October 2, 2020 9:00 AM\nSubject: FW: CAASPP: Transition\n\nInner note.\n\n"
        "________________________________\nFrom: CAASPP <Do-Not-Reply@info.ets.org>\n"
        "Sent: Wednesday, July 15, 2020 12:39 PM\nSubject: CAASPP: Transition\n\n" + NOTICE_BODY
    )
    n = parse_message(mail(FORWARD_HEAD, body), "x.eml")
    assert n.sender == "Do-Not-Reply@info.ets.org"
    assert n.sent.isoformat() == "2020-07-15T12:39:00-07:00"
    assert n.subject == "CAASPP: Transition"
    assert n.forwarded_by == "dhuang@district.k12.ca.us"
    assert n.forward_note == "Outer note.\n\nInner note."
    assert n.text == normalize_text(NOTICE_BODY)


def test_memo_header_inside_a_notice_is_not_a_forward():
    body = (
        "Dear Superintendent:\n\nDate: July 1, 2019\nTo: County and District Superintendents\n"
        "From: Assessment Development and Administration Division\nSubject: Designation\n\nText.\n"
    )
    n = parse_message(mail(HEAD, body), "x.eml")
    assert n.forwarded_by is None and n.sender == "CalTAC@info.ets.org"
    assert "Date: July 1, 2019" in n.text


def _attached_forward(inner: EmailMessage, note: str = "See the attached notice.") -> bytes:
    outer = EmailMessage(policy=policy.default)
    outer["From"] = "Angela Brooks <abrooks@district.k12.ca.us>"
    outer["Subject"] = "FW: " + str(inner["Subject"])
    outer["Date"] = "Mon, 06 Feb 2017 15:55:00 -0800"
    outer["Message-ID"] = "<outer@district.k12.ca.us>"
    outer.set_content(note + "\n")
    outer.add_attachment(inner, filename="notice.eml")
    return outer.as_bytes()


def _inner_notice() -> EmailMessage:
    inner = EmailMessage(policy=policy.default)
    inner["From"] = "CalTac <CalTAC@info.ets.org>"
    inner["Subject"] = "Extended Downtime of the CAASPP Systems"
    inner["Date"] = "Fri, 09 Sep 2016 17:11:00 -0700"
    inner["Message-ID"] = "<inner@info.ets.org>"
    inner.set_content("We extended the downtime period through 11:59 p.m. on Tuesday, September 13, 2016.\n")
    return inner


def test_attached_message_is_the_notice():
    n = parse_message(_attached_forward(_inner_notice()), "x.eml")
    assert n.sender == "CalTAC@info.ets.org"
    assert n.sent.isoformat() == "2016-09-09T17:11:00-07:00"
    assert n.subject == "Extended Downtime of the CAASPP Systems"
    assert n.forwarded_by == "abrooks@district.k12.ca.us"
    assert n.forward_note == "See the attached notice."
    assert n.text == "We extended the downtime period through 11:59 p.m. on Tuesday, September 13, 2016."
    assert n.message_id == "<inner@info.ets.org>"
    assert n.authenticated is None


def test_attached_message_nested_twice():
    twice_bytes = _attached_forward(_inner_notice(), note="first forward")
    from email import message_from_bytes

    once = message_from_bytes(twice_bytes, policy=policy.default)
    n = parse_message(_attached_forward(once, note="second forward"), "x.eml")
    assert n.sender == "CalTAC@info.ets.org"
    assert n.forward_note == "second forward\n\nfirst forward"


def test_headerless_saved_body_with_a_forward_block():
    raw = (
        "From: CalTAC <CalTAC@info.ets.org>\nSent: Monday, March 18, 2019 2:18 PM\nTo:\n"
        "Subject: California Assessment Systems Electronic Reporting Credentialing Reminder\n\nDear LEA:\n"
    ).encode()
    n = parse_message(raw, "x.eml")  # "From:" etc. parse as headers: a plain direct message
    assert n.sender == "CalTAC@info.ets.org" and n.forwarded_by is None
    markdown = b"\n\n---\n\n**From:** CalTAC <CalTAC@info.ets.org>  \n**Sent:** Monday, March 18, 2019 2:18 PM  \n**To:**  \n**Subject:** Reminder\n\nDear LEA:\n"
    n = parse_message(markdown, "seed.txt")
    assert (n.sender, n.subject, n.text) == ("CalTAC@info.ets.org", "Reminder", "Dear LEA:")
    assert n.sent.isoformat() == "2019-03-18T14:18:00-07:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tuesday, September 3, 2019 10:33 AM", "2019-09-03T10:33:00-07:00"),
        ("Friday, September 09, 2016 5:11 PM", "2016-09-09T17:11:00-07:00"),
        ("Tue, May 2, 2017 at 6:25 PM", "2017-05-02T18:25:00-07:00"),
        ("Tue, Dec 10, 2019 at 12:05 AM", "2019-12-10T00:05:00-08:00"),
        ("Wed, 12 Aug 2020 15:30:00 -0700", "2020-08-12T15:30:00-07:00"),
        ("September 3, 2019 at 10:33:12 AM EDT", "2019-09-03T07:33:12-07:00"),
        ("9/3/2019 10:33 AM", "2019-09-03T10:33:00-07:00"),
    ],
)
def test_forwarded_sent_formats(value, expected):
    block = f"From: CalTAC <CalTAC@info.ets.org>\nSent: {value}\nSubject: s\n\n"
    n = parse_message(mail(FORWARD_HEAD, block + NOTICE_BODY), "x.eml")
    assert n.sent.isoformat() == expected


# --------------------------------------------------------------------------- corpus


def _corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.eml")) if CORPUS.is_dir() else []


@needs_shared("corpus")
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name[:40])
def test_corpus_notice_headers(path):
    from email import message_from_bytes
    from email.utils import parseaddr

    raw = path.read_bytes()
    n = parse_message(raw, str(path))
    outer_from = parseaddr(str(message_from_bytes(raw, policy=policy.default)["From"]))[1]
    # Most notices come from ETS or the CDE; a district's own notice (corpus 2017-08-23)
    # comes from the district, so only a whole address is required here.
    assert n.sender and "." in n.sender.partition("@")[2]
    # The file name starts with the notice's own date (Pacific time).
    assert n.sent is not None
    assert n.sent.date() == date.fromisoformat(path.name[:10])
    assert n.subject and not re.match(r"(?i)fwd?:", n.subject)
    if outer_from.endswith("district.k12.ca.us"):
        assert n.forwarded_by == outer_from
        assert n.forward_note and n.forward_note not in n.text
    else:
        assert n.forwarded_by is None and n.forward_note == ""
    assert "From:" not in n.text.split("\n")[0]
    assert len(n.text) > 200


@needs_shared("corpus")
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2022-09-01-caaspp-september-monthly.eml", False),
        ("2024-05-17-results-available-may-20.eml", False),
        ("2023-06-30-spotlight-237-downtime-begins-today.eml", None),
        ("2020-08-12-elpac-remote-testing-zoom-meeting.eml", None),  # inner has none either
        ("2022-06-01-caaspp-june-monthly.eml", True),
        ("2022-04-01-ets-caaspp-april-monthly.eml", True),
    ],
)
def test_corpus_authentication(name, expected):
    raw = (CORPUS / name).read_bytes()
    n = parse_message(raw, name, authserv_ids=OUR_SERVER, trusted_forwarders=("district.k12.ca.us",))
    assert n.authenticated is expected
    if n.forwarded_by:  # the same forward from a sender not trusted to forward is never verified
        untrusted = parse_message(raw, name, authserv_ids=OUR_SERVER, trusted_forwarders=("other.k12.ca.us",))
        assert untrusted.authenticated is (False if expected else expected)


# --------------------------------------------------------------------------- robustness (issue 7)


def _sample_bytes() -> list[bytes]:
    return [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))]


SAMPLE_BYTES = _sample_bytes()


def test_samples_exist_for_the_mutation_suite():
    assert len(SAMPLE_BYTES) >= 8


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
def test_truncated_messages(fraction):
    for raw in SAMPLE_BYTES:
        parse_or_error(raw[: int(len(raw) * fraction)])


@pytest.mark.parametrize("seed", range(8))
def test_flipped_bytes(seed):
    rng = random.Random(seed)
    for raw in SAMPLE_BYTES:
        data = bytearray(raw)
        for _ in range(40):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        parse_or_error(bytes(data))


@pytest.mark.parametrize("charset", ["x-unknown-charset", "utf-16", "utf-32", "us-ascii", "iso-2022-jp", "base64", "", "\"", "utf-8\x00"])
def test_unknown_or_lying_charsets(charset):
    for raw in SAMPLE_BYTES:
        notice = parse_or_error(raw.replace(b'charset="utf-8"', f'charset="{charset}"'.encode()))
        assert notice is not None


def test_invalid_base64_and_quoted_printable():
    bad_b64 = mail(HEAD + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
                   "RGVhciBMRUEg!!!not*base64===\nQ29vcmRpbmF0b3I\n")
    assert parse_or_error(bad_b64) is not None
    bad_qp = mail(HEAD + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n",
                  "Dear =ZZ LEA =E2=80 Coordinator=\n=\n=4")
    notice = parse_or_error(bad_qp)
    assert notice is not None and "Dear" in notice.text
    unknown_cte = mail(HEAD + "Content-Type: text/plain\nContent-Transfer-Encoding: x-rot13\n", "Dear LEA\n")
    assert parse_or_error(unknown_cte) is not None


def test_missing_closing_boundary():
    for raw in SAMPLE_BYTES:
        boundaries = re.findall(rb'boundary="([^"]+)"', raw)
        cut = raw
        for b in boundaries:
            cut = cut.replace(b"--" + b + b"--", b"")
        notice = parse_or_error(cut)
        assert notice is not None and notice.text


def _nested(depth: int) -> bytes:
    body = "Content-Type: text/plain; charset=utf-8\n\nhello from the bottom\n"
    for i in range(depth):
        body = f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n{body}\n--b{i}--\n'
    return (HEAD + body).encode()


def test_multiparts_nested_hundreds_deep():
    notice = parse_or_error(_nested(300))
    assert notice is not None and notice.sender == "CalTAC@info.ets.org"
    parse_or_error(_nested(3000))  # ParseError is acceptable here; nothing else is


def test_four_megabyte_single_line():
    line = ("The downtime runs from Friday, August 14 at 5 p.m. " * 80_000)[: 4 * 2**20]
    notice = parse_or_error(mail(HEAD + "Content-Type: text/plain; charset=utf-8\n", line))
    assert notice is not None and notice.text.startswith("The downtime runs")
    html_line = mail(HEAD + "Content-Type: text/html; charset=utf-8\n", "<p>" + line + "</p>")
    assert parse_or_error(html_line) is not None


def test_nul_bytes():
    for raw in SAMPLE_BYTES:
        notice = parse_or_error(raw.replace(b"\n", b"\x00\n", 40).replace(b"Dear", b"De\x00ar"))
        assert notice is not None


def test_no_headers_at_all():
    with pytest.raises(ParseError):
        parse_message(b"\n\nDear LEA CAASPP Coordinator:\nThe downtime is coming.\n", "x.eml")
    with pytest.raises(ParseError):
        parse_message(b"", "x.eml")
    with pytest.raises(ParseError, match="x.eml"):
        parse_message(b"just some words without any colon", "x.eml")


def test_impossible_date_in_samples():
    for raw in SAMPLE_BYTES:
        mutated = re.sub(rb"^Date: .*$", b"Date: Thu, 45 Smarch 20199 99:99:99 +4567", raw, flags=re.M)
        notice = parse_or_error(mutated)
        assert notice is not None


def test_twelve_megabyte_attachment():
    raw = (SAMPLES / "2019-09-03-designated-lea-coordinator.eml").read_bytes()
    original = parse_message(raw, "x.eml")
    from email import message_from_bytes

    msg = message_from_bytes(raw, policy=policy.default)
    mixed = EmailMessage(policy=policy.default)
    for key in ("From", "To", "Subject", "Date", "Message-ID", "Authentication-Results"):
        mixed[key] = str(msg[key])
    mixed.make_mixed()
    mixed.attach(msg.get_body(("plain",)))
    mixed.add_attachment(random.Random(1).randbytes(12 * 2**20), maintype="application",
                         subtype="octet-stream", filename="scores.zip")
    big = mixed.as_bytes()
    assert len(big) > 12 * 2**20
    notice = parse_or_error(big)
    assert notice is not None and notice.text == original.text


def test_not_bytes_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_message("text, not bytes", "x.eml")  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise_anything_but_parse_error(data):
    parse_or_error(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_samples_never_raise_anything_but_parse_error(data):
    raw = bytearray(data.draw(st.sampled_from(SAMPLE_BYTES)))
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        at = data.draw(st.integers(0, len(raw)))
        chunk = data.draw(st.binary(min_size=1, max_size=40) | st.sampled_from(
            [b"\n--", b"=?utf-8?b?!!?=", b"Content-Type: multipart/mixed; boundary=x\n", b"\x00", b"=\n", b"<li>"]))
        if op == "insert":
            raw[at:at] = chunk
        elif op == "delete":
            del raw[at:at + len(chunk)]
        else:
            raw[at:at + len(chunk)] = chunk
    parse_or_error(bytes(raw))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_html_renders(html):
    text = html_to_text(html)
    assert "\x00" not in text
    assert text == normalize_text(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_parse_and_classify_survive_mutated_samples(data):
    """Issue 7: the whole pure path survives, and evidence is always text of the notice."""
    classify = pytest.importorskip("caltac_inbox.classify").classify
    raw = bytearray(data.draw(st.sampled_from(SAMPLE_BYTES)))
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(raw)))
        chunk = data.draw(st.binary(min_size=1, max_size=20) | st.sampled_from(
            [b" 2020", b"Friday, August 14", b" through ", b"\n\n", b"July 1, 2019", b"=\n", b"<p>"]))
        raw[at:at + data.draw(st.integers(0, 20))] = chunk
    notice = parse_or_error(bytes(raw))
    if notice is None:
        return
    collapsed = " ".join(notice.text.split())
    for fact in classify(notice):
        assert all(" ".join(piece.split()) in collapsed for piece in fact.evidence.split(" … "))
        json.dumps(fact.to_json())


def test_library_warnings_do_not_reach_stderr():
    import subprocess
    import sys

    raw = (b"From: a@b.c\nSubject: s\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"
           b"Content-Type: text/calendar\n\nBEGIN:VCALENDAR\n--x\nContent-Type: text/plain\n\nhi\n--x--\n")
    code = "import sys; from caltac_inbox.parse import parse_message; parse_message(sys.stdin.buffer.read(), 'x')"
    result = subprocess.run([sys.executable, "-c", code], input=raw, capture_output=True, timeout=60)
    assert result.returncode == 0 and result.stderr == b""


def test_forward_block_with_display_name_only_and_unreadable_date():
    block = "-----Original Message-----\nFrom: CalTAC\nSent: sometime last spring\nSubject: CAASPP: Notice\n\n"
    n = parse_message(mail(FORWARD_HEAD, "note\n\n" + block + NOTICE_BODY), "x.eml")
    assert (n.sender, n.sender_name, n.subject) == (None, "CalTAC", "CAASPP: Notice")
    assert n.sent is None  # never the forward's own date
    assert n.forwarded_by == "dhuang@district.k12.ca.us"
