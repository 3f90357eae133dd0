"""parse_message reads the headers first and runs mail-parser's full parse only where it
could change the notice (parse._HeaderView). Here the two are held against each other:
every field of the Notice (or the ParseError) is the same as the full parse gives, over
the corpus, the seeds, the samples and every message shape the parse, mail-shape and
robustness tests build, and over generated From, Subject and Message-ID fields.

"The full parse" is parse_message with the headers-first reading switched off
(`_headers_suffice` always False, mailheaders' shortcut for plain Subject and Message-ID
fields off): the code path every message took before. Where the headers-first reading
stands, it must also be what the full parse gives when mail-parser fails (its sender is
then the stdlib's), since that reading never learns whether mail-parser would have failed.
"""
from __future__ import annotations

import base64
import contextlib
import random
from dataclasses import fields
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caltac_inbox import mailheaders, parse
from caltac_inbox.errors import ParseError
from tests.properties import fast_and_full
from tests.shared import SHARED, needs_shared
from tests.unit.behaviour.generate import generate
from tests.unit.test_parse import FORWARD_HEAD, HEAD, NOTICE_BODY, SAMPLE_BYTES, _attached_forward, _inner_notice, mail

REPO = Path(__file__).resolve().parents[2]
OUR_SERVER = ("mx.district.k12.ca.us",)
TRUSTED = ("district.k12.ca.us",)


def outcome(raw: bytes) -> tuple[Any, ...]:
    """Every field of the Notice (repr: a datetime's zone counts), or the ParseError."""
    try:
        notice = parse.parse_message(raw, "m.eml", authserv_ids=OUR_SERVER, trusted_forwarders=TRUSTED)
    except ParseError as exc:
        return ("ParseError", str(exc))
    return tuple((f.name, repr(getattr(notice, f.name))) for f in fields(notice))


@contextlib.contextmanager
def full_parse(mailparser_fails: bool = False) -> Iterator[None]:
    """parse_message as before the headers-first reading; `mailparser_fails`: as when
    MailParser raises on every message."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(parse, "_headers_suffice", lambda msg: False))
        stack.enter_context(mock.patch.object(mailheaders, "_without_parsing", lambda name, value: None))
        if mailparser_fails:
            import mailparser

            def fails(*args: Any, **kwargs: Any) -> Any:
                raise ValueError("mail-parser gave up")

            stack.enter_context(mock.patch.object(mailparser, "MailParser", fails))
        yield


def headers_first_stood(raw: bytes) -> tuple[tuple[Any, ...], bool]:
    """parse_message's outcome, and whether it came without mail-parser's full parse."""
    calls = []
    build = parse._build_message

    def counted(*args: Any) -> Any:
        calls.append(1)
        return build(*args)

    with mock.patch.object(parse, "_build_message", counted):
        result = outcome(raw)
    return result, not calls


def assert_same(raw: bytes, name: str = "") -> bool:
    """The headers-first outcome is the full parse's; returns whether it stood."""
    fast, stood = headers_first_stood(raw)
    with full_parse():
        assert fast == outcome(raw), name
    if stood:
        with full_parse(mailparser_fails=True):
            assert fast == outcome(raw), f"{name}: differs from the full parse where mail-parser fails"
    return stood


# --------------------------------------------------------------------------- the inputs


def _files() -> list[tuple[str, bytes]]:
    paths = sorted((SHARED / "corpus").rglob("*.eml")) + sorted((SHARED / "seeds").glob("*.txt"))
    paths += sorted((REPO / "samples").glob("*.eml"))
    return [(str(p), p.read_bytes()) for p in paths]


@needs_shared("corpus")
def test_corpus_seeds_and_samples_parse_as_in_full_and_mostly_without_it():
    files = _files()
    stood = [name for name, raw in files if assert_same(raw, name)]
    mail_files = [name for name, raw in files if not name.endswith(".txt")]
    # the headers-first reading is what these messages take (else this test proves nothing)
    assert len(stood) >= 0.9 * len(mail_files), sorted(set(mail_files) - set(stood))


@fast_and_full(15, 60)
def test_behaviour_deliveries_plain_html_outlook_gmail(max_examples):
    variants = generate()
    chosen = {v.delivery: v for v in variants}  # the last of each delivery
    chosen_list = list(chosen.values()) + random.Random(28).sample(variants, max_examples)
    assert {v.delivery for v in chosen_list} == {"plain", "html", "outlook", "gmail"}
    stood = [v.name for v in chosen_list if assert_same(v.message(), v.name)]
    assert len(stood) == len(chosen_list)


def _nested(depth: int) -> bytes:
    body = "Content-Type: text/plain; charset=utf-8\n\nhello from the bottom\n"
    for i in range(depth):
        body = f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n{body}\n--b{i}--\n'
    return (HEAD + body).encode()


def _base64_forward() -> bytes:
    inner = _inner_notice().as_bytes()
    return (HEAD + 'Content-Type: multipart/mixed; boundary="x"\n\n--x\nContent-Type: text/plain\n\nSee below.\n'
            "--x\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
            + base64.encodebytes(inner).decode() + "--x--\n").encode()


def _empty_boundary_in_attachment() -> bytes:
    return (HEAD + 'Content-Type: multipart/mixed; boundary="x"\n\n--x\nContent-Type: text/plain\n\n'
            + NOTICE_BODY + '--x\nContent-Type: multipart/alternative; boundary=""\n'
            'Content-Disposition: attachment; filename="a.eml"\n\n--\nContent-Type: text/plain\n\ninner\n'
            "----\n--x--\n").encode()


INLINE_FORWARDS = [
    "________________________________\nFrom: CAASPP <Do-Not-Reply@info.ets.org>\n"
    "Sent: Wednesday, July 15, 2020 12:39 PM\nTo: LEA Coordinator <c@d.org>\nSubject: CAASPP: Transition\n",
    "-----Original Message-----\nFrom: CAASPP [mailto:Do-Not-Reply@info.ets.org]\n"
    "Sent: Wednesday, July 15, 2020 12:39 PM\nTo: c@d.org\nSubject: CAASPP: Transition\n",
    "---------- Forwarded message ---------\nFrom: CAASPP <Do-Not-Reply@info.ets.org>\n"
    "Date: Wed, Jul 15, 2020 at 12:39 PM\nSubject: CAASPP: Transition\nTo: <c@d.org>\n",
]


def _shapes() -> Iterator[tuple[str, bytes]]:
    """What the parse, mail-shape and robustness tests build, and a few more."""
    yield "plain", mail(HEAD + "Content-Type: text/plain; charset=utf-8\n", NOTICE_BODY)
    yield "html only", mail(HEAD + "Content-Type: text/html; charset=utf-8\n", f"<p>{NOTICE_BODY}</p>")
    for number, block in enumerate(INLINE_FORWARDS):
        yield f"inline forward {number}", mail(FORWARD_HEAD, f"For the binder.\n\n{block}\n{NOTICE_BODY}")
        yield f"inline forward {number} forwarded again", mail(
            FORWARD_HEAD, f"Again.\n\n{block}\nFYI\n\n{block}\n{NOTICE_BODY}")
    yield "attached forward", _attached_forward(_inner_notice())
    twice = EmailMessage(policy=policy.default)
    twice["From"], twice["Subject"] = "B <b@district.k12.ca.us>", "FW: FW: notice"
    twice.set_content("see attached\n")
    twice.add_attachment(_attached_forward(_inner_notice()), maintype="message", subtype="rfc822")
    yield "attached forward nested twice", twice.as_bytes()
    yield "attached forward in base64", _base64_forward()
    yield "empty boundary in an attached multipart", _empty_boundary_in_attachment()
    for depth in (3, 16, 17, 40, 300):
        yield f"multiparts nested {depth} deep", _nested(depth)
    yield "headerless saved body", ("\n\nFrom: CalTAC <CalTAC@info.ets.org>\nSent: Tuesday, September 3, 2019 "
                                    "10:33 AM\nSubject: x\n\n" + NOTICE_BODY).encode()
    yield "not mail", b"just some words\nand more\n"
    eight_bit = HEAD.replace("Subject: CAASPP: A notice", "Subject: =?utf-8?Q?r\xe9union?= =?iso-8859-1?q?caf\xe9?=")
    yield "raw 8-bit in encoded words", mail(eight_bit.replace("From: CalTAC", "From: =?utf-8?Q?Ren\xe9?= CalTAC"),
                                             NOTICE_BODY, "latin-1")
    yield "raw 8-bit From", (HEAD.replace("From: CalTAC", "From: Ren\xe9 CalTAC").encode("latin-1") + b"\n"
                             + NOTICE_BODY.encode())
    yield "huge headers", mail(HEAD.replace("Subject: CAASPP: A notice", "Subject: " + "=?utf-8?q?a?= " * 3000)
                               + "X-Big: " + "x" * 200_000 + "\n" + "".join(f"X-{i}: {i}\n" for i in range(3000)),
                               NOTICE_BODY)
    yield "no subject", mail(HEAD.replace("Subject: CAASPP: A notice\n", ""), NOTICE_BODY)
    yield "empty subject, encoded", mail(HEAD.replace("Subject: CAASPP: A notice", "Subject: =?utf-8?q??="),
                                         NOTICE_BODY)
    yield "two subjects", mail(HEAD + "Subject: another\n", NOTICE_BODY)
    # the stdlib reads the first (empty); mail-parser's Subject is then both, as a list
    yield "an empty subject, then another", mail(HEAD.replace("Subject: CAASPP: A notice", "Subject: ")
                                                 + "Subject: another\n", NOTICE_BODY)
    yield "two From fields", mail(HEAD + "From: Other <other@example.org>\n", NOTICE_BODY)
    yield "Message-ID with a comment", mail(HEAD.replace("<abc@info.ets.org>", "<abc@info.ets.org> (x)"), NOTICE_BODY)
    yield "Message-ID folded", mail(HEAD.replace("Message-ID: <abc@info.ets.org>", "Message-ID:\n <abc@info.ets.org>"),
                                    NOTICE_BODY)
    yield "Message-ID without brackets", mail(HEAD.replace("<abc@info.ets.org>", "abc@info.ets.org"), NOTICE_BODY)
    yield "Subject with CR", HEAD.replace("A notice", "A\rnotice").encode() + b"\n" + NOTICE_BODY.encode()
    for charset in ("x-unknown-charset", "utf-16", "iso-2022-jp", "base64", ""):
        yield f"charset {charset!r}", SAMPLE_BYTES[0].replace(b'charset="utf-8"', f'charset="{charset}"'.encode())
    rng = random.Random(28)
    for n, raw in enumerate(SAMPLE_BYTES):
        yield f"sample {n} truncated", raw[: int(len(raw) * rng.random())]
        flipped = bytearray(raw)
        for _ in range(40):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        yield f"sample {n} with flipped bits", bytes(flipped)
        yield f"sample {n} without closing boundaries", raw.replace(b"--\n", b"\n")
        yield f"sample {n} with NUL bytes", raw.replace(b"\n", b"\x00\n", 40)


# Senders on which mail-parser and the stdlib disagree: only the full parse can tell.
DISAGREEING_FROM = ["; a@b.org", "group:x@y.com\"\";a@b.org", "=?utf-8?b?w6k=?=a@b.org", '"Smith, J" .x@y.com']


def test_message_shapes_parse_as_in_full():
    stood = {name: assert_same(raw, name) for name, raw in _shapes()}
    assert stood["plain"] and stood["attached forward"] and stood["inline forward 0 forwarded again"]
    assert not stood["multiparts nested 300 deep"]  # mail-parser's walk recurses: the full parse decides
    assert not stood["an empty subject, then another"]  # only mail-parser reads a Subject


@pytest.mark.parametrize("value", DISAGREEING_FROM)
def test_a_sender_the_two_readings_disagree_on_takes_the_full_parse(value):
    raw = mail(HEAD.replace("From: CalTAC <CalTAC@info.ets.org>", f"From: {value}"), NOTICE_BODY)
    assert not assert_same(raw, value)


# --------------------------------------------------------------------------- generated fields


FROM_TOKENS = ["a@b.org", "x@y.com", '"Smith, J" ', "<", ">", " ", ",", ";", ":", "(", ")", '"', "\\", "Jo", "é",
               "=?utf-8?q?Ren=C3=A9?=", "=?utf-8?b?w6k=?=", "=?utf-8?Q?r\xe9union?=", "@", ".", "mailto:", "[", "]",
               "\t", "\n ", "group:", "<>", '""', "\udce9", "=?x-unknown?q?a?="]


@fast_and_full(60, 300)
def test_generated_senders_parse_as_in_full(max_examples):
    import mailparser

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(FROM_TOKENS), max_size=8), st.lists(st.sampled_from(FROM_TOKENS), max_size=4),
           st.sampled_from(["", "Received: from x (y [1.2.3.4]) by z; Mon, 1 Jan 2024 00:00:00 +0000\n",
                            "Date: garbage\n", "Subject: second\n", "From: second@x.org\n"]))
    def check(from_tokens, subject_tokens, extra):
        head = f"From: {''.join(from_tokens)}\nSubject: {''.join(subject_tokens)}\n{extra}Message-ID: <m@x.org>\n\n"
        raw = head.encode("utf-8", "surrogateescape") + NOTICE_BODY.encode()
        assert_same(raw)
        full = mailparser.MailParser(parse._bounded_message(raw))
        view = parse._HeaderView(parse._bounded_message(raw))
        assert (view.from_, view.subject) == (full.from_, full.subject)

    check()


FIELD_CHARS = st.sampled_from(list(" \t\r\n<>@.()\"\\,;:[]=?!#$%&'*+/^_`{|}~-aZ09é\udce9\x00\x0b"))


@fast_and_full(100, 500)
def test_plain_subject_and_message_id_read_as_policy_default_reads_them(max_examples):
    @settings(max_examples=max_examples, deadline=None)
    @given(st.sampled_from(["Subject", "Message-ID", "message-id", "SUBJECT"]),
           st.lists(st.one_of(FIELD_CHARS, st.sampled_from(["<a@b.c>", "=?utf-8?q?x?=", "=?", "abc.def"])),
                    max_size=12))
    def check(name, pieces):
        value = "".join(pieces)
        plain = mailheaders._without_parsing(name, value)
        if plain is not None:
            assert plain == str(policy.default.header_fetch_parse(name, value))

    check()


def test_plain_fields_take_the_shortcut():
    assert mailheaders._without_parsing("Subject", "CAASPP: A notice\r\n of 2019") == "CAASPP: A notice of 2019"
    assert mailheaders._without_parsing("Message-ID", " <abc.1@info.ets.org>") == " <abc.1@info.ets.org>"
    assert mailheaders._without_parsing("Message-ID", "<abc@info.ets.org> (x)") is None
    assert mailheaders._without_parsing("Subject", "=?utf-8?q?x?=") is None
