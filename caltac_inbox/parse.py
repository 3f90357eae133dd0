"""Raw mail bytes -> Notice: headers, clean text, forwarded-notice unwrapping.

Pure (no I/O). mail-parser builds the message and decodes the common headers; the
stdlib `email` package is the fallback for whatever mail-parser rejects, and also walks
the MIME tree (mail-parser flattens attached messages into the outer text, but a
forwarded notice must stay separate from the forwarder's note). beautifulsoup4 turns
HTML into lines.

A forwarded notice is unwrapped to the innermost original: its sender, sent date and
subject become the notice's, the outermost sender becomes `forwarded_by`, and the
forwarders' own words become `forward_note` (never part of `text`).

`parse_message` raises nothing but `ParseError`: mail in the wild is truncated,
mislabelled, nested absurdly deep or simply not mail.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.message import Message
from typing import Any, Callable, Sequence

from caltac_inbox.errors import ParseError
from caltac_inbox.model import Notice
from caltac_inbox.timeline.time import LOS_ANGELES


# mail-parser logs a WARNING for every part type it does not handle (text/calendar, ...);
# without a handler Python prints those on stderr, in the middle of `extract` output.
logging.getLogger("mailparser").addHandler(logging.NullHandler())

# Above this we refuse to parse (ingest and poll archive anything over their max size unparsed).
MAX_RAW_BYTES = 64 * 2**20
MAILPARSER_MAX_BYTES = 4 * 2**20  # bigger messages go straight to the stdlib parser
MAX_PART_BYTES = 8 * 2**20  # decoded bytes of one text part that we look at
MAX_TEXT_CHARS = 1_000_000  # clean text kept per message (a notice is ~10 kB)
MAX_HTML_CHARS = 1_000_000  # HTML we render
MAX_HTML_TAGS = 20_000  # beyond this, a coarse regex rendering instead of beautifulsoup
MAX_MIME_DEPTH = 64  # deeper multipart levels are ignored
MAX_MIME_PARTS = 1_000
MAX_FORWARD_DEPTH = 8  # forwards of forwards of ...
STUB_PLAIN_CHARS = 200  # a text/plain part shorter than this may be a "see HTML" stub

_EARLIEST_YEAR, _LATEST_YEAR = 1900, 2100  # RFC 5322: years from 1900


# --------------------------------------------------------------------------- entry point


def parse_message(raw: bytes, source: str, authserv_ids: Sequence[str] = (),
                  trusted_forwarders: Sequence[str] = ()) -> Notice:
    """Parse one raw RFC 5322 message into a Notice (the innermost forwarded notice).

    `authenticated` comes only from Authentication-Results headers written by a server
    named in `authserv_ids` (see authres); with none named it is None. A forwarded
    notice keeps that verdict only when its forwarder is one of `trusted_forwarders`
    (domains or addresses); a forward by anyone else is not verified."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise ParseError(f"{source}: message is {type(raw).__name__}, not bytes")
    raw = bytes(raw)
    if not raw.strip():
        raise ParseError(f"{source}: empty message")
    if len(raw) > MAX_RAW_BYTES:
        raise ParseError(
            f"{source}: message is {len(raw) / 2**20:.0f} MB, over the "
            f"{MAX_RAW_BYTES // 2**20} MB parse limit"
        )
    try:
        return _parse(raw, source, tuple(authserv_ids), tuple(trusted_forwarders))
    except ParseError:
        raise
    except RecursionError:
        raise ParseError(f"{source}: MIME structure nested too deep to parse") from None
    except Exception as exc:  # last line of defence: a library bug must not become a traceback
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ParseError(f"{source}: cannot parse message ({detail})") from exc


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class _Layer:
    """One message level: its own headers and its chosen clean text."""

    subject: str | None
    sender: str | None
    sender_name: str | None
    sent: datetime | None
    message_id: str | None
    text: str
    html: bool


_MAIL_HEADERS = (
    "From", "Date", "Subject", "Message-ID", "To", "Content-Type", "MIME-Version",
    "Received", "Return-Path", "Sender", "Reply-To",
)


def _parse(raw: bytes, source: str, authserv_ids: tuple[str, ...], trusted_forwarders: tuple[str, ...] = ()) -> Notice:
    raw, damage = repair_header_block(raw)
    msg = _bounded_message(raw)
    if len(raw) <= MAILPARSER_MAX_BYTES and _headers_suffice(msg):
        try:
            return _notice(raw, source, msg, _HeaderView(msg), authserv_ids, trusted_forwarders, damage)
        except _FullParseNeeded:
            pass  # the reading above only read msg: the full parse starts from it
    msg, mp = _build_message(raw, msg)
    return _notice(raw, source, msg, mp, authserv_ids, trusted_forwarders, damage)


def _notice(raw: bytes, source: str, msg: Message, mp: Any, authserv_ids: tuple[str, ...],
            trusted_forwarders: tuple[str, ...], damage: str | None) -> Notice:
    """The Notice of `msg`, whose mail-parser view is `mp` (a MailParser, a _HeaderView
    or None)."""
    if not any(msg.get(name) is not None for name in _MAIL_HEADERS):
        return _parse_headerless(raw, source)
    outer_sender = _sender_of(msg, mp)[0]
    authenticated = _authenticated(msg, outer_sender, authserv_ids)
    layer, notes, forwarded = _unwrap(msg, mp, depth=0)
    if forwarded:
        from caltac_inbox.authres import forwarder_trusted

        authenticated = forwarder_trusted(outer_sender, authenticated, trusted_forwarders)
    return Notice(
        source=source,
        text=layer.text,
        subject=layer.subject,
        sender=layer.sender,
        sender_name=layer.sender_name,
        sent=layer.sent,
        message_id=layer.message_id,
        forwarded_by=outer_sender if forwarded else None,
        forward_note=_join_notes(notes),
        authenticated=authenticated,
        html=layer.html,
        damage=damage,
    )


_FIELD_LINE = re.compile(rb"^[!-9;-~]+:")  # an RFC 5322 field name and its colon
_HEADER_SCAN_LINES = 2000


def repair_header_block(raw: bytes) -> tuple[bytes, str | None]:
    """`raw` without the damaged lines of its header block (a line that is neither a
    field nor a continuation, with fields after it), and what was skipped; the email
    package would end the headers at such a line and lose the From, Subject and Date
    below it."""
    lines = raw.split(b"\n", _HEADER_SCAN_LINES)
    damaged: list[int] = []
    for number, line in enumerate(lines[:_HEADER_SCAN_LINES]):
        text = line.rstrip(b"\r")
        if not text:
            break  # the end of the header block
        if _FIELD_LINE.match(text) or text[:1] in (b" ", b"\t") or (number == 0 and text.startswith(b"From ")):
            continue
        if number == 0 or not _fields_follow(lines, number + 1):
            # the first line: a saved body (see _parse_headerless), which the email package
            # handles; else the body, after a header block that lacks its blank line
            break
        damaged.append(number)
    if not damaged:
        return raw, None
    kept = [line for number, line in enumerate(lines) if number not in set(damaged)]
    first = lines[damaged[0]].rstrip(b"\r").decode("utf-8", "replace")[:60]
    more = f" and {len(damaged) - 1} more" if len(damaged) > 1 else ""
    return b"\n".join(kept), f"damaged header line {damaged[0] + 1} skipped ({first!r}){more}"


def _fields_follow(lines: list[bytes], start: int) -> bool:
    """A header field comes before the blank line in the next few lines."""
    for line in lines[start:start + 20]:
        text = line.rstrip(b"\r")
        if not text:
            return False
        if _FIELD_LINE.match(text):
            return True
    return False


def _build_message(raw: bytes, msg: Message) -> tuple[Message, Any]:
    """`msg` (parsed from `raw`, every header value cut, see mailheaders) plus the
    mail-parser view of it (None when mail-parser gave up)."""
    if len(raw) > MAILPARSER_MAX_BYTES:
        # mail-parser re-encodes every attachment (seconds for a 12 MB file); the notice
        # text and headers need none of that.
        return msg, None
    import mailparser
    from mailparser.exceptions import MailParserRecursionError

    try:
        mp = mailparser.MailParser(msg)
        if mp.message is not None:
            return mp.message, mp
    except (RecursionError, MailParserRecursionError):
        raise RecursionError from None  # the stdlib parser would fail the same way
    except Exception:  # noqa: BLE001 - fall back to the stdlib parser below
        pass
    return _bounded_message(raw), None  # afresh: mail-parser may have failed half-way through msg


# --------------------------------------------------------------------------- headers first
#
# Of mail-parser's full parse (a MIME walk that decodes every part and header, ~40 % of
# parse_message's time) this module reads two things: the From addresses and, when the
# stdlib finds no Subject, its Subject. Both are its header functions applied to the
# headers alone, so _HeaderView computes them without the walk. What the walk decides
# is whether mail-parser fails: then the sender is the stdlib's reading of From (and a
# RecursionError fails the whole parse). The headers-first reading therefore stands only
# where that cannot change the notice: a structure the walk cannot fail on by recursion
# (_headers_suffice), and, at each message level, a sender on which mail-parser and the
# stdlib agree and a Subject the stdlib found. Anything else raises _FullParseNeeded
# and the message is parsed as before. tests/unit/test_parse_headers_first.py compares
# the two on every message shape the tests know.

_VIEW_MAX_DEPTH = 16  # MIME levels; mail-parser's walk recurses once (two frames) per level
_CACHED_FROM_CHARS = 300  # a From field longer than this is read afresh (the cache stays small)


class _FullParseNeeded(Exception):
    """Only mail-parser's full parse can tell what this message's notice is."""


def _headers_suffice(msg: Message) -> bool:
    """The MIME tree is shallow: mail-parser's walk recurses, and a RecursionError in the
    full parse fails parse_message. (Its other failures leave the stdlib's sender: see
    _HeaderView.sender. Flattening an attached multipart that has an empty boundary
    writes a new one into that part's Content-Type, which nothing here reads.)"""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > _VIEW_MAX_DEPTH:
            return False
        if part.is_multipart():
            stack.extend((p, depth + 1) for p in part.get_payload() if isinstance(p, Message))
    return True


class _HeaderView:
    """What this module reads of a MailParser (`from_`, `subject`), computed as MailParser
    computes them, from the first From and every Subject field; and the sender that
    parse_message gives whether or not mail-parser's full parse would have failed."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self._sender: tuple[str | None, str | None] | None = None

    @property
    def from_(self) -> list[tuple[str, str]]:
        values = self.msg.get_all("From")
        return _mailparser_from(values[0]) if values else []

    @property
    def subject(self) -> Any:
        from mailparser.utils import decode_headers

        return decode_headers(self.msg.get_all("Subject"))

    def sender(self) -> tuple[str | None, str | None]:
        if self._sender is None:
            try:
                first = next((v for k, v in self.msg.raw_items() if k.lower() == "from"), None)
            except Exception:  # noqa: BLE001 - malformed header block
                raise _FullParseNeeded from None
            if isinstance(first, str) and len(first) <= _CACHED_FROM_CHARS and _is_unicode(first):
                # The field as written is then all that both readings depend on (compat32
                # hands mail-parser the same string), and a mailbox has few senders.
                self._sender = _sender_of_field(first)
            else:
                self._sender = _agreed_sender(lambda: self.from_, lambda: _stdlib_sender(self.msg))
        return self._sender


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes of raw 8-bit bytes
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _sender_of_field(value: str) -> tuple[str | None, str | None]:
    """_HeaderView.sender() of a message whose first From field is `value`."""
    return _agreed_sender(lambda: _mailparser_from(value), lambda: _sender_in(_decoded_field("From", value)))


def _mailparser_from(value: Any) -> list[tuple[str, str]]:
    """MailParser's `from_` for a message whose first From field is `value` (a str, or the
    Header that compat32 makes of raw 8-bit bytes), as MailParser computes it."""
    from mailparser.utils import get_addresses

    return [("" if name == address else name, address)
            for name, address in get_addresses(value, defects=[], decode_names=True) if address]


def _agreed_sender(from_mailparser_of: Callable[[], Any], from_stdlib: Callable[[], tuple[str | None, str | None]]
                   ) -> tuple[str | None, str | None]:
    """The stdlib's sender where mail-parser's, whether or not its full parse succeeds,
    is the same; else _FullParseNeeded."""
    try:
        from_mailparser = _mailparser_sender(from_mailparser_of())
    except Exception:  # noqa: BLE001 - MailParser fails on it: as it does, in full
        raise _FullParseNeeded from None
    sender = from_stdlib()
    if from_mailparser is not None and from_mailparser != sender:
        raise _FullParseNeeded  # which of the two depends on the full parse's success
    return sender


def _bounded_message(raw: bytes) -> Message:
    import email

    from caltac_inbox.mailheaders import bound_message

    return bound_message(email.message_from_bytes(raw))


def _unwrap(msg: Message, mp: Any, depth: int) -> tuple[_Layer, list[str], bool]:
    """This message's innermost notice, the forwarders' notes (outer first), forwarded?"""
    sender, sender_name = _sender_of(msg, mp)
    subject = _subject_of(msg, mp)
    message_id = _message_id_of(msg)
    plain, html, attached = _collect_parts(msg)
    text, from_html = _choose_text(plain, html)

    if attached and depth < MAX_FORWARD_DEPTH and _attachment_is_forward(subject, text, attached[0]):
        inner_mp = _inner_view(attached[0], mp)
        inner, inner_notes, _ = _unwrap(attached[0], inner_mp, depth + 1)
        if inner.message_id is None:
            inner = replace(inner, message_id=message_id)
        if inner.subject is None:
            inner = replace(inner, subject=_strip_forward_prefix(subject))
        return inner, [text, *inner_notes], True

    layer = _Layer(
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        sent=_date_header(msg.get("Date")),
        message_id=message_id,
        text=text,
        html=from_html,
    )
    notes: list[str] = []
    forwarded = False
    for _ in range(depth, MAX_FORWARD_DEPTH):
        split = _split_inline_forward(layer.text)
        if split is None:
            break
        note, fields, inner_text = split
        notes.append(note)
        layer = _inline_layer(fields, inner_text, layer)
        forwarded = True
    return layer, notes, forwarded


def _inner_view(msg: Message, outer: Any) -> Any:
    """The mail-parser view of an attached message, of the same kind as its outer one's."""
    if outer is None:
        return None
    if isinstance(outer, _HeaderView):
        return _HeaderView(msg)
    try:
        import mailparser

        return mailparser.MailParser(msg)
    except Exception:  # noqa: BLE001 - stdlib header decoding is the fallback
        return None


def _attachment_is_forward(subject: str | None, outer_text: str, attached: Message) -> bool:
    if attached.get("From") is None and attached.get("Subject") is None:
        return False
    return bool(_FORWARD_PREFIX.match(subject or "")) or len(outer_text) < 3000


def _parse_headerless(raw: bytes, source: str) -> Notice:
    """No mail headers at all: accept only a saved body that holds a forwarded notice."""
    text = normalize_text(_decode_bytes(raw[:MAX_PART_BYTES], None))
    split = _split_inline_forward(text)
    if split is None:
        raise ParseError(f"{source}: no mail headers (From, Date, Subject) found; not an email message?")
    note, fields, inner_text = split
    blank = _Layer(None, None, None, None, None, "", False)
    layer = _inline_layer(fields, inner_text, blank)
    return Notice(
        source=source,
        text=layer.text,
        subject=layer.subject,
        sender=layer.sender,
        sender_name=layer.sender_name,
        sent=layer.sent,
        forward_note=note,
    )


def _join_notes(notes: list[str]) -> str:
    return "\n\n".join(n for n in (n.strip() for n in notes) if n)[:MAX_TEXT_CHARS]


# --------------------------------------------------------------------------- headers


def _header_str(msg: Message, name: str) -> str | None:
    """A header decoded (RFC 2047, raw 8-bit) to clean one-line text, None when absent."""
    try:
        # raw_items(): compat32's get() turns raw 8-bit bytes into U+FFFD
        wanted = name.lower()
        value = next((v for k, v in msg.raw_items() if k.lower() == wanted), None)
    except Exception:  # noqa: BLE001 - malformed header block
        return None
    if value is None:
        return None
    return _decoded_field(name, value)


def _decoded_field(name: str, value: Any) -> str:
    from caltac_inbox.mailheaders import decoded

    text = decoded(name, _fix_surrogates(str(value)), _decode_bytes)
    return _one_line(text)


def _one_line(text: str) -> str:
    return " ".join(_fix_surrogates(text).replace("\x00", "").split())


def _subject_of(msg: Message, mp: Any) -> str | None:
    subject = _header_str(msg, "Subject")
    if not subject and mp is not None:
        try:
            subject = _one_line(str(mp.subject or "")) or None
        except Exception:  # noqa: BLE001
            if isinstance(mp, _HeaderView):
                raise _FullParseNeeded from None
            subject = None
        if subject and isinstance(mp, _HeaderView):
            raise _FullParseNeeded  # mail-parser's Subject, if its full parse succeeds
    return subject[:1000] if subject else None


def _sender_of(msg: Message, mp: Any) -> tuple[str | None, str | None]:
    """(bare address, display name) of the From header."""
    if isinstance(mp, _HeaderView):
        return mp.sender()
    if mp is not None:
        try:
            chosen = _mailparser_sender(mp.from_)
        except Exception:  # noqa: BLE001
            chosen = None
        if chosen is not None:
            return chosen
    return _stdlib_sender(msg)


def _mailparser_sender(from_: Any) -> tuple[str, str | None] | None:
    """The first address of mail-parser's From that holds an "@", with its name."""
    try:
        for name, address in from_ or ():
            address = _one_line(str(address or ""))
            if "@" in address:
                return address, _one_line(str(name or "")) or None
    except Exception:  # noqa: BLE001
        pass
    return None


def _stdlib_sender(msg: Message) -> tuple[str | None, str | None]:
    return _sender_in(_header_str(msg, "From"))


def _sender_in(value: str | None) -> tuple[str | None, str | None]:
    """(address, display name) of a decoded From value."""
    if not value:
        return None, None
    from email.utils import parseaddr

    try:
        name, address = parseaddr(value)
    except Exception:  # noqa: BLE001
        name, address = "", ""
    if "@" not in address:
        return _address_in(value)
    return address, _one_line(name) or None


def _message_id_of(msg: Message) -> str | None:
    value = _header_str(msg, "Message-ID")
    return value[:998] if value else None


def _date_header(value: Any) -> datetime | None:
    """The Date header as an aware datetime in America/Los_Angeles; None if impossible."""
    if value is None:
        return None
    from email.utils import parsedate_to_datetime

    text = _one_line(str(value))
    if not text:
        return None
    if _AM_PM.search(text):  # not RFC 5322; parsedate would drop the "PM"
        return _loose_datetime(text)
    try:
        when = parsedate_to_datetime(text)
    except Exception:  # noqa: BLE001 - unparseable or impossible date
        return _loose_datetime(text)
    if when is None:
        return None
    if when.tzinfo is None:
        # RFC 5322 "-0000" means UTC with the sender's zone unknown; no zone at all is local.
        when = when.replace(tzinfo=timezone.utc if re.search(r"-0000\b", text) else LOS_ANGELES)
    return _in_pacific(when)


def _in_pacific(when: datetime) -> datetime | None:
    if not _EARLIEST_YEAR <= when.year <= _LATEST_YEAR:
        return None
    try:
        return when.astimezone(LOS_ANGELES)
    except (OverflowError, ValueError):
        return None


# --------------------------------------------------------------------------- authentication


def _authenticated(msg: Message, sender: str | None, authserv_ids: Sequence[str]) -> bool | None:
    """What our receiving server's Authentication-Results say of the From domain (authres)."""
    from caltac_inbox.authres import authenticated

    try:
        fields = [(str(name), str(value)) for name, value in msg.raw_items()]
    except Exception:  # noqa: BLE001 - malformed header block
        return None
    return authenticated(fields, sender, authserv_ids)


# --------------------------------------------------------------------------- MIME parts


def _collect_parts(msg: Message) -> tuple[list[str], list[str], list[Message]]:
    """Inline text/plain and text/html bodies in order, plus attached messages."""
    plain: list[str] = []
    html: list[str] = []
    attached: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack and seen < MAX_MIME_PARTS:
        part, depth = stack.pop()
        seen += 1
        try:
            ctype = part.get_content_type()
        except Exception:  # noqa: BLE001
            ctype = "text/plain"
        payload = part.get_payload()
        if ctype == "message/rfc822" or (ctype.startswith("message/") and isinstance(payload, list)):
            inner = _encoded_message(part, payload) if ctype == "message/rfc822" else None
            if inner is not None:
                attached.append(inner)
            elif isinstance(payload, list) and payload and isinstance(payload[0], Message):
                attached.append(payload[0])
            continue
        if isinstance(payload, list):
            if depth < MAX_MIME_DEPTH:
                stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))
            continue
        if ctype not in ("text/plain", "text/html") or _is_attachment(part):
            continue
        text = _part_text(part)
        if ctype == "text/html":
            html.append(text)
        else:
            plain.append(_unflow(text, part))
    return plain, html, attached


def _encoded_message(part: Message, payload: Any) -> Message | None:
    """An attached message sent with a base64 or quoted-printable transfer encoding,
    which the email package parses as a headerless text: decoded and parsed. None
    for an attached message sent as it is."""
    encoding = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
    if encoding not in ("base64", "quoted-printable"):
        return None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        encoded = payload[0].get_payload()
        if not isinstance(encoded, str):
            return None
    elif isinstance(payload, str):
        encoded = payload
    else:
        return None
    try:
        data = encoded.encode("ascii", "ignore")
        if encoding == "base64":
            import binascii

            data = binascii.a2b_base64(data)
        else:
            import quopri

            data = quopri.decodestring(data)
    except (ValueError, TypeError):
        return None
    if not data.strip() or len(data) > MAX_RAW_BYTES:
        return None
    inner = _bounded_message(data)
    return inner if any(inner.get(name) is not None for name in _MAIL_HEADERS) else None


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        return disposition == "attachment" or (disposition != "inline" and bool(part.get_filename()))
    except Exception:  # noqa: BLE001 - unparseable disposition: treat as body
        return False


def _part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    return _decode_bytes(data[:MAX_PART_BYTES], charset if isinstance(charset, str) else None)


def _param_text(part: Message, name: str) -> str:
    """A Content-Type parameter in lower case ('' when absent or RFC 2231-encoded)."""
    value = part.get_param(name)
    return value.lower() if isinstance(value, str) else ""


def _unflow(text: str, part: Message) -> str:
    """Undo format=flowed soft line breaks (RFC 3676)."""
    try:
        if _param_text(part, "format") != "flowed":
            return text
        delsp = _param_text(part, "delsp") == "yes"
    except Exception:  # noqa: BLE001
        return text
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    buf = ""
    for line in lines:
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" ") and line.rstrip() != "--":
            buf += line[:-1] if delsp else line
        else:
            out.append(buf + line)
            buf = ""
    if buf:
        out.append(buf)
    return "\n".join(out)


def _choose_text(plain: list[str], html: list[str]) -> tuple[str, bool]:
    """text/plain unless it is missing or a stub; else the HTML rendered as lines."""
    plain_text = normalize_text("\n\n".join(plain)) if plain else ""
    if not html or (len(plain_text) >= STUB_PLAIN_CHARS and not _is_stub(plain_text)):
        return plain_text, False
    html_text = html_to_text("\n".join(html))
    if plain_text and not _is_stub(plain_text) and len(html_text) <= 3 * len(plain_text):
        return plain_text, False
    if not html_text:
        return plain_text, False
    return html_text, True


_STUB_PHRASES = re.compile(
    r"view (?:this|it) (?:e-?mail|message) (?:in|on) (?:a|your) (?:web )?browser"
    r"|(?:requires|supports?|needs) (?:an )?html|html (?:version|format|viewer)"
    r"|does not support html",
    re.I,
)


def _is_stub(plain_text: str) -> bool:
    return not plain_text or (len(plain_text) < 600 and bool(_STUB_PHRASES.search(plain_text)))


# --------------------------------------------------------------------------- charsets


_UTF8_FIRST = {"ascii", "latin-1", "iso8859-1", "iso8859-15", "cp1252"}


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset when it fits, else utf-8, else cp1252, else utf-8 lossy.

    Valid UTF-8 wins over a declared Western single-byte charset: multi-byte UTF-8
    sequences almost never occur in genuine Latin-1 text, while mislabelled UTF-8 is common.
    """
    import codecs

    declared = None
    if charset:
        try:
            info = codecs.lookup(charset.strip().strip("\"'"))
            if getattr(info, "_is_text_encoding", True):
                declared = info.name
        except (LookupError, ValueError, TypeError):
            declared = None
    order = ["utf-8", declared, "cp1252"] if declared in _UTF8_FIRST or declared is None else [
        declared, "utf-8", "cp1252"]
    for encoding in order:
        if encoding is None:
            continue
        try:
            text = data.decode(encoding)
            text.encode("utf-8")  # some codecs yield lone surrogates
            return text
        except Exception:  # noqa: BLE001 - next candidate
            continue
    return data.decode("utf-8", "replace")


def _fix_surrogates(text: str) -> str:
    """Headers with raw 8-bit bytes arrive as surrogate escapes; decode them properly."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return _decode_bytes(text.encode("utf-8", "surrogateescape"), None)
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


# --------------------------------------------------------------------------- text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\f\v\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_NESTED_ITEM = re.compile(r"(?:[-*•·▪◦o]|\d{1,2}[.)]|[a-z][.)])\s")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")


def normalize_text(text: str) -> str:
    """One clean line per source line: spaces collapsed (a nested list item keeps its indent),
    no blank runs, no control chars."""
    text = text[:MAX_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n")
    text = _INVISIBLE.sub("", _CONTROL.sub("", text))
    out: list[str] = []
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" \t\xa0"))
        line = _SPACES.sub(" ", line).strip()
        if indent and _NESTED_ITEM.match(line):
            # a nested list item keeps its depth: two spaces per level, at most four levels
            line = "  " * min(4, (indent + 1) // 2) + line
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


_SKIP_TAGS = {"script", "style", "head", "title", "meta", "link", "noscript", "template", "svg", "object"}
_PARAGRAPH_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "dl", "pre",
    "hr", "address", "figure", "center", "form", "fieldset", "section", "article", "header",
    "footer", "main", "nav", "aside",
}
_LINE_TAGS = {"div", "li", "tr", "dt", "dd", "caption", "figcaption", "option"}


_HTML_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")


class _LineWriter:
    """Collects lines; tracks the current line's content incrementally (no re-joining)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.last_char = ""  # last non-space character of the current line, "" if none

    def text(self, s: str) -> None:
        self.buf.append(s)
        stripped = s.rstrip()
        if stripped:
            self.last_char = stripped[-1]

    def line_break(self) -> None:
        self.lines.append("".join(self.buf))
        self.buf = []
        self.last_char = ""

    def end_line(self) -> None:
        if self.last_char:
            self.line_break()
        self.buf = []

    def paragraph(self) -> None:
        self.end_line()
        if self.lines and self.lines[-1].strip():
            self.lines.append("")


def html_to_text(html: str) -> str:
    """HTML -> lines: blocks on their own lines, list items "- " (or "1. "), cells joined."""
    html = html[:MAX_HTML_CHARS]
    opened = html.count("<")
    if opened > MAX_HTML_TAGS or opened - html.count(">") > 100:
        # html.parser/beautifulsoup turn superlinear on absurd nesting or unclosed markup
        return _html_to_text_by_regex(html)
    from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction

    soup = BeautifulSoup(html, "html.parser")
    walk = _HtmlLines()
    stack: list[tuple[Any, bool]] = [(soup, False)]
    while stack:  # iterative walk: HTML nested thousands deep must not hit the recursion limit
        node, closing = stack.pop()
        if isinstance(node, NavigableString):
            if not isinstance(node, (Comment, Declaration, Doctype, ProcessingInstruction)):
                walk.out.text(_HTML_WHITESPACE.sub(" ", str(node)))
            continue
        name = (node.name or "").lower()
        if closing:
            walk.close(name)
        elif walk.open(node, name):
            stack.append((node, True))
            children = getattr(node, "contents", None) or []
            stack.extend((child, False) for child in reversed(children))
    walk.out.end_line()
    return normalize_text("\n".join(walk.out.lines))


class _HtmlLines:
    """What html_to_text's walk writes as each element opens and closes."""

    def __init__(self) -> None:
        self.out = _LineWriter()
        self.ol_counters: dict[int, int] = {}
        self.row_sizes: dict[int, int] = {}
        self.open_items = 0  # <li> elements we are inside (nested lists are not paragraphs)

    def open(self, node: Any, name: str) -> bool:
        """The element `node` (named `name`) begins; whether to walk into it."""
        if name in _SKIP_TAGS:
            return False
        if name == "br":
            self.out.line_break()
            return False
        self._block(name)
        if name == "ol":
            self.ol_counters[id(node)] = _int_attr(node.get("start"), 1) - 1
        elif name == "li":
            self._item(node)
        elif name in ("td", "th"):
            _cell_separator(node, self.out, self.row_sizes)
        return True

    def close(self, name: str) -> None:
        if name == "li":
            self.open_items -= 1
        self._block(name)

    def _block(self, name: str) -> None:
        if name in _PARAGRAPH_TAGS and not (name in ("ul", "ol") and self.open_items):
            self.out.paragraph()
        elif name in _PARAGRAPH_TAGS or name in _LINE_TAGS:
            self.out.end_line()

    def _item(self, node: Any) -> None:
        self.open_items += 1
        if self.open_items > 1:
            self.out.text("  " * min(4, self.open_items - 1))  # nested: kept by normalize_text
        parent = node.parent
        if parent is not None and parent.name == "ol":
            self.ol_counters[id(parent)] = self.ol_counters.get(id(parent), 0) + 1
            self.out.text(f"{self.ol_counters[id(parent)]}. ")
        else:
            self.out.text("- ")


_RE_ITEM = re.compile(r"<li\b[^<>]{0,2000}>", re.I)
_RE_BLOCK = re.compile(
    r"</?(?:p|h[1-6]|blockquote|table|ul|ol|dl|pre|hr|div|tr|dt|dd|br|section|article|header|footer)"
    r"\b[^<>]{0,2000}>",
    re.I,
)
_RE_CELL = re.compile(r"<t[dh]\b[^<>]{0,2000}>", re.I)
_RE_TAG = re.compile(r"<[^<>]{0,2000}>")  # bounded: a "<" without ">" must not rescan the rest
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


_RE_SECTION_START = re.compile(r"<(?:!--|(script|style|head|title)(?![a-z0-9]))")


def _drop_sections(html: str) -> str:
    """Remove comments and script/style/head/title elements in one linear pass."""
    lower = html.translate(_ASCII_LOWER)  # same length as html, unlike str.lower()
    out: list[str] = []
    pos = 0
    while (m := _RE_SECTION_START.search(lower, pos)) is not None:
        out.append(html[pos:m.start()])
        end_marker = f"</{m.group(1)}" if m.group(1) else "-->"
        close = lower.find(end_marker, m.end())
        if close < 0:
            return "".join(out)
        gt = lower.find(">", close)
        if gt < 0:
            return "".join(out)
        pos = gt + 1
    out.append(html[pos:])
    return "".join(out)


def _html_to_text_by_regex(html: str) -> str:
    """Coarse, linear-time rendering for HTML too large or too nested for beautifulsoup."""
    import html as html_lib

    text = _drop_sections(html)
    text = _RE_ITEM.sub("\n- ", text)
    text = _RE_BLOCK.sub("\n", text)
    text = _RE_CELL.sub(" | ", text)
    text = _RE_TAG.sub("", text)
    return normalize_text(html_lib.unescape(text))


def _cell_separator(cell: Any, out: _LineWriter, row_sizes: dict[int, int]) -> None:
    row = cell.parent
    if row is None or not out.last_char:
        return  # nothing before this cell on the line: no separator
    size = row_sizes.get(id(row))
    if size is None:  # counted once per row: rows with many cells stay linear
        size = row_sizes[id(row)] = len(row.find_all(["td", "th"], recursive=False))
    if size == 2:
        out.text(" " if out.last_char == ":" else ": ")
    else:
        out.text(" | ")


def _int_attr(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- inline forwards


_HEADER_KEYS = {
    "from": "from", "de": "from", "von": "from",
    "sent": "sent", "date": "sent", "enviado": "sent", "enviado el": "sent", "fecha": "sent",
    "to": "to", "para": "to",
    "cc": "cc", "bcc": "bcc",
    "subject": "subject", "asunto": "subject",
    "reply-to": "reply-to", "importance": "importance", "attachments": "attachments",
}
_HEADER_LINE = re.compile(
    r"^[>\s]*(?:[*_]{1,2}\s*)?(?P<key>"
    + "|".join(sorted((re.escape(k) for k in _HEADER_KEYS), key=len, reverse=True))
    + r")\s*(?:[*_]{1,2})?\s*:\s*(?:[*_]{1,2})?\s*(?P<value>.*?)\s*$",
    re.I,
)
_SEPARATOR = re.compile(
    r"^[>\s]*(?:[-=_* ]*\b(?:original message|forwarded message|forwarded e-?mail|"
    r"mensaje original|mensaje reenviado)\b[-=_* ]*|begin forwarded message:?|[-_=*]{3,})\s*$",
    re.I,
)
_FORWARD_PREFIX = re.compile(r"^\s*(?:(?:fwd?|fw|tr|rv|wg)\s*:\s*)+", re.I)
_AM_PM = re.compile(r"\d\s*[ap]\.?\s?m\b\.?", re.I)
_TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\b")


def _split_inline_forward(text: str) -> tuple[str, dict[str, str], str] | None:
    """(note above, header fields, notice below) for the first forwarded-header block."""
    if not text:
        return None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if len(line) > 2000 or not line.lstrip("> *_").lower().startswith(("from", "de", "von")):
            continue
        m = _HEADER_LINE.match(line)
        if m is None or _HEADER_KEYS[m.group("key").lower()] != "from":
            continue
        fields, end = _header_block(lines, i)
        if "from" not in fields or "sent" not in fields:
            continue
        separated = i > 0 and _SEPARATOR.match(_previous_nonblank(lines, i)[1] or "") is not None
        if not (separated or "@" in fields["from"] or _TIME_OF_DAY.search(fields["sent"])):
            continue  # a memo-style "From:/Date:" block inside a notice, not a forward
        above = lines[:i]
        while above and (not above[-1].strip() or _SEPARATOR.match(above[-1])):
            above.pop()
        return "\n".join(above).strip(), fields, "\n".join(lines[end:]).strip()
    return None


def _header_block(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    fields: dict[str, str] = {}
    j = start
    while j < len(lines):
        if not lines[j].strip():
            k = j
            while k < len(lines) and not lines[k].strip():
                k += 1
            nxt = _HEADER_LINE.match(lines[k]) if k < len(lines) else None
            if nxt is None or _HEADER_KEYS[nxt.group("key").lower()] in fields:
                break
            j = k
            continue
        m = _HEADER_LINE.match(lines[j])
        if m is None:
            break
        key = _HEADER_KEYS[m.group("key").lower()]
        if key in fields:
            break
        fields[key] = _strip_markdown(m.group("value"))
        j += 1
    return fields, j


def _previous_nonblank(lines: list[str], i: int) -> tuple[int, str | None]:
    for k in range(i - 1, -1, -1):
        if lines[k].strip():
            return k, lines[k]
    return -1, None


def _strip_markdown(value: str) -> str:
    value = re.sub(r"\[([^\]]*)\]\((?:mailto:)?[^)]*\)", r"\1", value)  # [text](link)
    value = value.replace("**", "").replace("__", "")
    return " ".join(value.split())


def _inline_layer(fields: dict[str, str], inner_text: str, outer: _Layer) -> _Layer:
    sender, sender_name = _address_in(fields.get("from", ""))
    subject = fields.get("subject") or _strip_forward_prefix(outer.subject)
    return _Layer(
        subject=subject or None,
        sender=sender,
        sender_name=sender_name,
        sent=_loose_datetime(fields.get("sent", "")),
        message_id=outer.message_id,
        text=inner_text,
        html=outer.html,
    )


_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def _address_in(value: str) -> tuple[str | None, str | None]:
    """(address, display name) from 'Name <a@b>', 'Name [mailto:a@b]', 'a@b' or 'Name'."""
    value = _strip_markdown(value)
    m = _EMAIL.search(value)
    address = m.group(0) if m else None
    name = value
    if address:
        name = name.replace(address, " ")
    name = re.sub(r"mailto:|[<>\[\]()]", " ", name)
    name = " ".join(name.split()).strip(" \"',;")
    return address, (name or None)


def _strip_forward_prefix(subject: str | None) -> str | None:
    if not subject:
        return subject
    return _FORWARD_PREFIX.sub("", subject).strip() or None


# --------------------------------------------------------------------------- loose dates


_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_ZONES = {
    "utc": timezone.utc, "gmt": timezone.utc, "z": timezone.utc,
    "pst": LOS_ANGELES, "pdt": LOS_ANGELES, "pt": LOS_ANGELES,
    "mst": timezone(timedelta(hours=-7)), "mdt": timezone(timedelta(hours=-6)),
    "cst": timezone(timedelta(hours=-6)), "cdt": timezone(timedelta(hours=-5)),
    "est": timezone(timedelta(hours=-5)), "edt": timezone(timedelta(hours=-4)),
}
_TIME = (
    r"(?:,?\s*(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?)?)?"
    r"(?:\s*\(?(?P<tz>utc|gmt|[pmce][sd]?t|z|[+-]\d{2}:?\d{2})\b\)?)?"
)
_LOOSE_DATES = [
    re.compile(  # Tuesday, September 3, 2019 10:33 AM / Tue, May 2, 2017 at 6:25 PM
        r"(?P<mon>[a-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME, re.I
    ),
    re.compile(  # 3 September 2019 10:33
        r"(?P<day>\d{1,2})\s+(?P<mon>[a-z]{3,9})\.?,?\s+(?P<year>\d{4})" + _TIME, re.I
    ),
    re.compile(  # 9/3/2019 10:33:12 AM (US order)
        r"(?P<monnum>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})" + _TIME, re.I
    ),
    re.compile(  # 2019-09-03 10:33
        r"(?P<year>\d{4})-(?P<monnum>\d{1,2})-(?P<day>\d{1,2})" + _TIME.replace(r"(?:at\s+)?", r"(?:at\s+|T)?"),
        re.I,
    ),
]


def _loose_datetime(text: str) -> datetime | None:
    """A forwarded block's 'Sent:'/'Date:' value; no zone means America/Los_Angeles."""
    text = " ".join(_strip_markdown(text or "").split())[:200]
    if not text:
        return None
    for pattern in _LOOSE_DATES:
        for m in pattern.finditer(text):
            when = _datetime_from_match(m)
            if when is not None:
                return _in_pacific(when)
    if _AM_PM.search(text):
        return None  # the RFC 5322 parser would silently drop "PM"
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except Exception:  # noqa: BLE001 - not a date we can read
        return None
    return _in_pacific(when if when.tzinfo else when.replace(tzinfo=LOS_ANGELES))


def _datetime_from_match(m: re.Match[str]) -> datetime | None:
    parts = m.groupdict()
    month: int | None
    if parts.get("monnum"):
        month = int(parts["monnum"])
    else:
        month = _MONTHS.get((parts.get("mon") or "")[:4].lower().rstrip(".")) or _MONTHS.get(
            (parts.get("mon") or "")[:3].lower()
        )
        if month is None:
            return None
    hour = int(parts["hour"]) if parts.get("hour") else 0
    minute = int(parts["minute"]) if parts.get("minute") else 0
    second = int(parts["second"]) if parts.get("second") else 0
    ampm = (parts.get("ampm") or "").lower().replace(".", "").replace(" ", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    zone = _zone(parts.get("tz"))
    if zone is None:
        return None
    try:
        return datetime(int(parts["year"]), month, int(parts["day"]), hour, minute, second, tzinfo=zone)
    except (ValueError, OverflowError):
        return None


def _zone(name: str | None) -> Any:
    if not name:
        return LOS_ANGELES
    name = name.lower()
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        if offset >= timedelta(hours=24):
            return None  # impossible offset: no date rather than a wrong one
        return timezone(offset if name[0] == "+" else -offset)
    return _ZONES.get(name, LOS_ANGELES)


__all__ = ["html_to_text", "normalize_text", "parse_message"]
