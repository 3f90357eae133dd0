"""Header values cut to a bounded size before anything decodes them.

CPython's header decoding is quadratic on long values: `email.policy` in memory on
many RFC 2047 encoded words (cpython issue 136063: 420 KB of Subject took 4.2 GB),
`email.header.decode_header` and the compat32 parameter parser in time. No notice
needs more than a few KB of any header, so every header value of every MIME part is
cut here, in one place, before the poller's header summary, the parser or mail-parser
decodes it. Standard library only, imported where headers are read.
"""
from __future__ import annotations

import re
from email.message import Message
from typing import Callable, Iterator

MAX_HEADER_CHARS = 4096  # a notice's longest header is a few hundred characters
MAX_ENCODED_WORDS = 64  # a 4 KB subject in UTF-8 base64 needs about 55
MAX_HEADER_FIELDS = 1000  # per part; mail-parser looks each name up over all fields


def bounded(value: str) -> str:
    """`value` cut to MAX_HEADER_CHARS characters and before its (MAX_ENCODED_WORDS+1)th
    encoded word."""
    value = value[:MAX_HEADER_CHARS]
    start = -1
    for _ in range(MAX_ENCODED_WORDS + 1):
        start = value.find("=?", start + 1)
        if start < 0:
            return value
    return value[:start]


def _too_long(value: object) -> bool:
    return isinstance(value, str) and (len(value) > MAX_HEADER_CHARS or value.count("=?") > MAX_ENCODED_WORDS)


def _parts(msg: Message) -> Iterator[Message]:
    """Every part, attached messages included, without recursion (nesting is the sender's choice)."""
    stack = [msg]
    while stack:
        part = stack.pop()
        yield part
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))


def bound_message(msg: Message) -> Message:
    """Cut, in place, the header values (and the number of fields) of every part of a
    message parsed with the compat32 policy, which keeps them as undecoded strings."""
    for part in _parts(msg):
        # The parser's own list of (name, raw value): Message has no public setter for it.
        fields = part._headers  # type: ignore[attr-defined]
        if len(fields) > MAX_HEADER_FIELDS or any(_too_long(value) for _, value in fields):
            part._headers = [(name, bounded(value) if isinstance(value, str) else value)  # type: ignore[attr-defined]
                             for name, value in fields[:MAX_HEADER_FIELDS]]
    return msg


def decoded(name: str, value: str, decode_bytes: Callable[[bytes, str | None], str] | None = None) -> str:
    """A header value with its RFC 2047 encoded words decoded, cut first (see module doc).
    `decode_bytes(chunk, charset)` decodes the words the fallback decoder returns as bytes."""
    value = _escape_raw_8bit_words(bounded(value))
    plain = _without_parsing(name, value)
    if plain is not None:
        return plain
    try:
        # policy.default keeps the space after an encoded word on a folded line, which
        # email.header.decode_header (and mail-parser) drop: "2023–24Administration".
        from email import policy

        return str(policy.default.header_fetch_parse(name, value))
    except Exception:  # noqa: BLE001 - fall back to the older decoder
        pass
    try:
        from email.header import decode_header

        return "".join(
            (decode_bytes or _decode_chunk)(chunk, charset) if isinstance(chunk, bytes) else chunk
            for chunk, charset in decode_header(value)
        )
    except Exception:  # noqa: BLE001 - undecodable encoded word: keep it as written
        return value


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_PLAIN_MESSAGE_ID = re.compile(rf"[ \t]*<{_DOT_ATOM}@{_DOT_ATOM}>[ \t]*")
_LINE_ENDS = re.compile(r"\n|\r")  # what email.policy removes before it parses a field


def _without_parsing(name: str, value: str) -> str | None:
    """What policy.default's header_fetch_parse gives for the two fields the parser reads
    of every message, without its parser, where that is the value as written, line ends
    removed (None elsewhere): a Subject without an encoded word (unstructured text is
    kept verbatim) and a Message-ID of one plain "<dot-atom@dot-atom>".
    tests/unit/test_parse_headers_first.py holds this against policy.default."""
    kind = name.lower()
    if kind not in ("subject", "message-id") or "=?" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes: policy.default replaces them
        return None
    value = _LINE_ENDS.sub("", value)
    if kind == "message-id" and _PLAIN_MESSAGE_ID.fullmatch(value) is None:
        return None
    return value


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")


def _escape_raw_8bit_words(value: str) -> str:
    """Encoded words with raw 8-bit text inside ("=?utf-8?Q?réunion?=", which no decoder
    accepts) rewritten as proper Q words, the raw characters encoded in the word's own
    charset (UTF-8 when that cannot hold them)."""
    if value.isascii():
        return value

    def escape(match: re.Match[str]) -> str:
        charset, kind, text = match.groups()
        if text.isascii():
            return match.group(0)
        if kind in "Bb":  # base64 cannot hold raw text: take the raw part as it is
            return text
        try:
            "".encode(charset)
            encoding = charset
        except LookupError:
            encoding = "utf-8"

        def byte_escapes(char: str) -> str:
            if char.isascii():
                return char
            try:
                data = char.encode(encoding)
            except UnicodeEncodeError:
                data = char.encode("utf-8")
            return "".join(f"={b:02X}" for b in data)

        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            try:
                text.encode(encoding)
            except UnicodeEncodeError:
                charset = encoding = "utf-8"
        return f"=?{charset}?Q?{''.join(byte_escapes(c) for c in text)}?="

    return _ENCODED_WORD.sub(escape, value)


def _decode_chunk(chunk: bytes, charset: str | None) -> str:
    for encoding in (charset, "utf-8", "cp1252"):
        if encoding:
            try:
                return chunk.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return chunk.decode("utf-8", "replace")


__all__ = ["MAX_ENCODED_WORDS", "MAX_HEADER_CHARS", "bound_message", "bounded", "decoded"]
