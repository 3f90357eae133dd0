"""Read new notices from an IMAP mailbox without changing it.

Planning (which UIDs are new, which headers make a message worth downloading, what a
RawMessage's source is) is pure and tested on its own; `mailbox_messages` does the
I/O and yields, storing nothing itself (caltac_inbox.poll stores what it yields):

  connect (TLS always verified) -> LOGIN or XOAUTH2 -> per folder: EXAMINE (read-only)
  -> checkpoint (uidvalidity, last_uid) read from the store -> UID SEARCH UID last+1:*
  (SINCE `since` on every scan), in UID ranges of SEARCH_CHUNK messages in a large
  folder (cut at the UIDs of every SEARCH_CHUNK-th message) -> drop UIDs <= last (`n:*`
  always matches the highest message) and UIDs already recorded -> headers and
  RFC822.SIZE of the new UIDs ->
  after a UIDVALIDITY change, a Checkpoint recording the UIDs whose Message-ID and size
  match a UID recorded before, without a download -> bodies (BODY.PEEK[]) of the
  candidates in FETCHes bounded by count and by declared bytes (`body_fetch_groups`),
  yielded as RawMessages -> a Checkpoint past the examined UIDs, which the pipeline
  stores in the transaction of the messages before it. A UID the server's replies left
  out (no reply, no body, another UID) and still lists is reported and held: no
  Checkpoint passes it, so the next poll asks for it again.

Nothing here stores flags, moves, deletes or expunges. Transient faults (connection
reset, timeout, server gone) reconnect with backoff and resume from the checkpoint.
The whole mailbox has a deadline, checked before every command and between every two
messages, and a total budget for every read from the socket (_DeadlineReader). A folder that cannot be opened is
reported and the others are still polled. Secrets are fetched at login and never kept.
"""
from __future__ import annotations

import contextlib
import io
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, Iterator, Mapping, Protocol, Sequence
from urllib.parse import quote

from caltac_inbox.authres import sender_matches
from caltac_inbox.budget import FETCH_BYTES
from caltac_inbox.config import MailboxConfig, fetch_secret
from caltac_inbox.errors import AuthError, ConfigError, ConnectionFailure, UserError

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from caltac_inbox.model import Checkpoint, Notice, RawMessage

# A poll that finds nothing new must stay light (tests/system/test_imap_dovecot.py checks its imports):
# header parsing and caltac_inbox.model are imported where messages are read.

HEADER_FIELDS = "FROM SUBJECT DATE MESSAGE-ID CONTENT-TYPE"
FETCH_HEADERS = f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]".encode()
FETCH_BODY = b"BODY.PEEK[]"
SNIFF_BYTES = 8192
FETCH_SNIFF = f"BODY.PEEK[TEXT]<0.{SNIFF_BYTES}>".encode()
BODY_KEY = b"BODY[]"
FETCH_SIZE = b"RFC822.SIZE"  # unlike RFC822, sets no \Seen
HEADER_BATCH = 500  # UIDs per header FETCH (headers are small)

# Subject prefixes of a forward in the mail clients districts use (English first).
_FORWARD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)*(?:(?:re|aw|sv)\s*:\s*)*(?:fw|fwd|fwd\(\d+\)|tr|wg|rv|enc|doorst)\s*:",
    re.IGNORECASE,
)
# Words that mark a notice even when a colleague retyped the subject.
_NOTICE_SUBJECT = re.compile(r"\b(?:caaspp|elpac|caltac|toms|calpads|smarter balanced|cast)\b", re.IGNORECASE)


# -- pure planning -------------------------------------------------------------------


def sender_filter(senders: Sequence[str], forwarders: Sequence[str] = ()) -> Callable[[Notice], bool]:
    """The `accept` for pipeline.ingest: judged on the ORIGINAL notice after forward unwrapping
    when a trusted forwarder (a colleague) forwarded it, so their forward of a CalTAC
    notice passes and their own mail not; a forward by anyone else is judged by its outer
    (delivering) sender, so an outsider cannot bring in a notice by forwarding it."""
    wanted, trusted = tuple(senders), tuple(forwarders)

    def accept(notice: Notice) -> bool:
        if notice.forwarded_by and not sender_matches(notice.forwarded_by, trusted):
            return sender_matches(notice.forwarded_by, wanted)
        return sender_matches(notice.sender, wanted)

    return accept


@dataclass(frozen=True)
class HeaderSummary:
    sender: str | None
    subject: str
    content_type: str
    message_id: str | None = None


def summarize_headers(raw: bytes) -> HeaderSummary | None:
    """From/Subject/Content-Type of a header block; None when it cannot be read."""
    import email.parser
    from email.utils import getaddresses

    from caltac_inbox.mailheaders import bound_message, decoded  # a no-op poll never needs them

    try:
        headers = bound_message(email.parser.BytesHeaderParser().parsebytes(raw))
        addresses = [addr for _, addr in getaddresses([decoded("from", v) for v in headers.get_all("from", [])])
                     if addr]
        subject = decoded("subject", headers.get("subject", "") or "")
        content_type = headers.get_content_type() if headers.get("content-type") else "text/plain"
        message_id = " ".join(str(headers.get("message-id", "") or "").split())[:998] or None
    except Exception:  # noqa: BLE001 - damaged or exotic headers: let the full parser decide
        return None
    return HeaderSummary(sender=addresses[0].lower() if addresses else None,
                         subject=" ".join(subject.split()), content_type=content_type.lower(),
                         message_id=message_id)


def is_candidate(header_block: bytes | None, senders: Sequence[str]) -> bool:
    """Whether a message's body is worth downloading, judged from its headers alone.

    Yes when From matches the senders, and also when it could carry a forwarded
    notice (a forward subject, a notice word in the subject, no subject at all, an
    attachment-bearing multipart/mixed or a message/rfc822): the sender filter proper
    runs after parsing, on the unwrapped notice. When in doubt, download."""
    return summary_is_candidate(summarize_headers(header_block) if header_block else None, senders)


def summary_is_candidate(summary: HeaderSummary | None, senders: Sequence[str]) -> bool:
    """is_candidate() of headers already summarized (None: unreadable or missing)."""
    if summary is None:
        return True
    if sender_matches(summary.sender, senders):
        return True
    if not summary.subject:
        return True
    if _FORWARD_SUBJECT.search(summary.subject) or _NOTICE_SUBJECT.search(summary.subject):
        return True
    return summary.content_type in ("multipart/mixed", "message/rfc822")


_FORWARD_TEXT = re.compile(
    rb"forwarded message|original message|begin forwarded|^\s*(?:from|sent|de|von)\s*:.*$\s*^\s*(?:sent|date|to)\s*:"
    rb"|caaspp|elpac|caltac|content-transfer-encoding:\s*base64",
    re.IGNORECASE | re.MULTILINE,
)


def sniff_is_candidate(text_start: bytes | None, senders: Sequence[str]) -> bool:
    """Second look at a message the headers did not pick: the first bytes of its body.
    A forward block, a notice word or a sender domain in them (or base64 we cannot
    read cheaply) makes it a candidate after all."""
    if not text_start:
        return False
    if _FORWARD_TEXT.search(text_start):
        return True
    lowered = text_start.lower()
    return any(s.lower().lstrip("@").encode("ascii", "ignore") in lowered for s in senders)


def search_criteria(last_uid: int, since: date | None, up_to: int | None = None) -> list[Any]:
    """UID SEARCH criteria for everything after `last_uid` (up to UID `up_to`, else to the
    end) delivered on or after `since`. SINCE is kept on every scan, not only the first:
    a message delivered (or moved into the folder) with an older date after the
    checkpoint passed still gets a higher UID."""
    criteria: list[Any] = ["UID", f"{last_uid + 1}:{'*' if up_to is None else up_to}"]
    if since is not None:
        criteria += ["SINCE", since]
    return criteria


def new_uids(found: Iterable[int], last_uid: int) -> list[int]:
    """Sorted UIDs above the checkpoint. `UID n:*` also returns the highest UID when it
    is below n, so the server's answer alone is not enough."""
    return sorted({int(uid) for uid in found if int(uid) > last_uid})


MAX_UID = 2 ** 32 - 1  # RFC 9051: a UID is a 32-bit number
SEARCH_CHUNK = 20_000  # messages per UID SEARCH reply: ~220 KB, far below imaplib's 1 MB line limit


def boundary_sequence_numbers(exists: int, chunk: int = SEARCH_CHUNK) -> list[int]:
    """Message sequence numbers chunk, 2*chunk, ... below `exists`: the UIDs of these
    messages cut the folder into UID ranges of at most `chunk` messages each."""
    return list(range(chunk, exists, chunk))


def uid_ranges(last_uid: int, boundaries: Sequence[int]) -> list[tuple[int, int | None]]:
    """(after, up_to) UID ranges covering everything above `last_uid`, cut at the
    `boundaries` (UIDs, ascending); the last range is open (`up_to` None)."""
    ranges: list[tuple[int, int | None]] = []
    after = last_uid
    for boundary in sorted(boundaries):
        if boundary > after:
            ranges.append((after, boundary))
            after = boundary
    ranges.append((after, None))
    return ranges


def invalid_uid(uids: Iterable[int]) -> int | None:
    """The first UID in `uids` that no IMAP server may send (0, negative, over 32 bits)."""
    return next((uid for uid in uids if not 0 < uid <= MAX_UID), None)


def resume_point(stored: tuple[int | None, int], uidvalidity: int) -> tuple[int, bool]:
    """(last_uid to continue after, whether this is a rescan after a UIDVALIDITY change)."""
    stored_validity, last_uid = stored
    if stored_validity is None:
        return 0, False
    if stored_validity != uidvalidity:
        return 0, True
    return last_uid, False


def chunked(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def body_fetch_groups(uids: Sequence[int], sizes: Mapping[int, int], budget: int,
                      max_count: int) -> list[list[int]]:
    """`uids`, in order, cut into FETCH groups of at most `max_count` UIDs whose declared
    sizes add up to at most `budget` bytes. A message larger than the budget, or whose
    size the server did not declare, is a group of its own."""
    groups: list[list[int]] = []
    group: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid)
        if size is None or size > budget:
            if group:
                groups.append(group)
            groups.append([uid])
            group, total = [], 0
            continue
        if group and (len(group) >= max_count or total + size > budget):
            groups.append(group)
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        groups.append(group)
    return groups


def message_source(mailbox: str, folder: str, uidvalidity: int, uid: int) -> str:
    return f"imap://{quote(mailbox, safe='@')}/{quote(folder, safe='/')};uidvalidity={uidvalidity};uid={uid}"


def scrub(text: str, secret: str | None) -> str:
    """`text` with the secret blanked out (defence in depth for server-echoed errors)."""
    if secret and len(secret) >= 3 and secret in text:
        text = text.replace(secret, "***")
    return text


# -- reports ---------------------------------------------------------------------------


@dataclass
class FolderReport:
    folder: str
    uidvalidity: int | None = None
    rescan: bool = False
    examined: int = 0  # new UIDs whose headers were read
    fetched: int = 0  # bodies downloaded
    new: int = 0
    duplicates: int = 0
    ignored: int = 0  # not a candidate, or rejected by the sender filter after parsing
    facts: int = 0
    recognised: int = 0  # after a UIDVALIDITY change: recorded by Message-ID and size, not downloaded
    errors: list[tuple[str, str]] = field(default_factory=list)
    deadline_reached: bool = False
    error: str | None = None  # the folder could not be polled (the others were)
    warning: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "folder": self.folder, "uidvalidity": self.uidvalidity, "rescan": self.rescan,
            "examined": self.examined, "fetched": self.fetched, "new": self.new,
            "duplicates": self.duplicates, "ignored": self.ignored, "facts": self.facts,
            "recognised": self.recognised, "errors": len(self.errors), "deadline_reached": self.deadline_reached,
        }
        for key in ("error", "warning"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass
class MailboxReport:
    mailbox: str
    folders: list[FolderReport] = field(default_factory=list)
    error: str | None = None  # the one-line reason the poll stopped, if it did
    exit_code: int = 0
    skipped: str | None = None  # e.g. another poll holds the lock
    changes: list[Any] = field(default_factory=list)  # timeline.changes.TimelineChange of this poll

    def _sum(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.folders)

    @property
    def fetched(self) -> int:
        return self._sum("fetched")

    @property
    def new(self) -> int:
        return self._sum("new")

    @property
    def facts(self) -> int:
        return self._sum("facts")

    @property
    def ignored(self) -> int:
        return self._sum("ignored")

    @property
    def duplicates(self) -> int:
        return self._sum("duplicates")

    @property
    def message_errors(self) -> list[tuple[str, str]]:
        return [e for f in self.folders for e in f.errors]

    @property
    def deadline_reached(self) -> bool:
        return any(f.deadline_reached for f in self.folders)

    @property
    def problems(self) -> list[str]:
        """One line per folder that could not be polled, then the reason the poll stopped."""
        return [f.error for f in self.folders if f.error] + ([self.error] if self.error else [])

    @property
    def warnings(self) -> list[str]:
        return [f.warning for f in self.folders if f.warning]

    def summary_line(self) -> str:
        if self.skipped:
            return f"{self.mailbox}: {self.skipped}"
        line = (f"{self.mailbox}: fetched {self.fetched}, new {self.new}, facts {self.facts}, "
                f"errors {len(self.message_errors)}")
        if self.deadline_reached:
            line += " (deadline reached; the next run continues)"
        return line

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mailbox": self.mailbox, "fetched": self.fetched, "new": self.new, "facts": self.facts,
            "errors": len(self.message_errors), "ignored": self.ignored, "duplicates": self.duplicates,
            "folders": [f.to_json() for f in self.folders],
            "changes": [c.to_json() for c in self.changes],
        }
        if self.skipped:
            out["skipped"] = self.skipped
        if self.error:
            out["error"] = self.error
        if self.exit_code:
            out["exit_code"] = self.exit_code
        return out


# -- connection ---------------------------------------------------------------------


class TransientFault(Exception):
    """The connection broke or timed out; reconnecting may help."""


def ssl_context(mb: MailboxConfig) -> ssl.SSLContext:
    """Always verifying (certificate and host name); `ca_file` adds trusted CAs."""
    return ssl.create_default_context(cafile=mb.ca_file)


def _where(mb: MailboxConfig) -> str:
    return f"mailbox {mb.name!r} ({mb.host}:{mb.port}, {mb.security})"


def _is_transient(exc: BaseException) -> bool:
    import imaplib

    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    return isinstance(exc, (OSError, imaplib.IMAP4.abort, EOFError))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or type(exc).__name__ == "timeout":
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(server_text(str(text)).split())


def server_text(text: str) -> str:
    """What the server said: imaplib reports a server's reply as bytes, which imapclient
    and str() turn into "b'[AUTHENTICATIONFAILED] ...'"; decode that back to its text."""
    import ast

    stripped = text.strip()
    if len(stripped) >= 3 and stripped[0] == "b" and stripped[1] in "'\"" and stripped[-1] == stripped[1]:
        try:
            value = ast.literal_eval(stripped)
        except (SyntaxError, ValueError):
            return text
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
    return text


def _host_not_found(exc: BaseException) -> bool:
    """DNS says the name does not exist: retrying cannot help (a temporary DNS failure,
    EAI_AGAIN, still is retried)."""
    import socket

    permanent = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)}
    return isinstance(exc, socket.gaierror) and exc.errno in permanent


def _certificate_error(mb: MailboxConfig, exc: ssl.SSLCertVerificationError) -> ConnectionFailure:
    detail = exc.verify_message or _reason(exc)
    hint = ("set ca_file to the PEM file of the CA that signed the server certificate"
            if mb.ca_file is None else f"ca_file {mb.ca_file} does not vouch for this server; check it")
    return ConnectionFailure(f"{_where(mb)}: the server certificate was not accepted ({detail}); {hint}")


def open_connection(mb: MailboxConfig) -> "IMAPClient":
    """Connected (and TLS-protected unless plain-to-loopback), not yet logged in.
    Raises TransientFault for faults worth retrying, ConnectionFailure otherwise."""
    from imapclient import IMAPClient, SocketTimeout
    from imapclient.exceptions import CapabilityError, IMAPClientError

    timeout = SocketTimeout(connect=mb.connect_timeout, read=mb.read_timeout)
    client = None
    try:
        if mb.security == "ssl":
            return IMAPClient(mb.host, mb.port, ssl=True, ssl_context=ssl_context(mb), timeout=timeout)
        client = IMAPClient(mb.host, mb.port, ssl=False, timeout=timeout)
        if mb.security == "starttls":
            client.starttls(ssl_context(mb))
        return client
    except ssl.SSLCertVerificationError as exc:
        _close(client)
        raise _certificate_error(mb, exc) from None
    except CapabilityError:
        _close(client)
        raise ConnectionFailure(f"{_where(mb)}: the server does not offer STARTTLS; "
                                "use security = \"ssl\" (usually port 993)") from None
    except ssl.SSLError as exc:
        _close(client)
        raise ConnectionFailure(f"{_where(mb)}: TLS handshake failed ({_reason(exc)}); "
                                "check port and security (ssl is usually 993, starttls 143)") from None
    except Exception as exc:
        _close(client)
        if _host_not_found(exc):
            raise ConnectionFailure(f"{_where(mb)}: host {mb.host!r} not found ({_reason(exc)}); check host "
                                    "in the configuration file") from None
        if _is_transient(exc):
            raise TransientFault(f"cannot connect: {_reason(exc)}") from exc
        if isinstance(exc, IMAPClientError):
            raise ConnectionFailure(f"{_where(mb)}: the server answered unexpectedly: {_reason(exc)}") from None
        raise


def login(client: "IMAPClient", mb: MailboxConfig) -> None:
    """LOGIN, or AUTHENTICATE XOAUTH2 with a token from oauth2_token_command."""
    from imapclient.exceptions import LoginError

    secret = fetch_secret(mb)
    try:
        if mb.uses_oauth2:
            client.oauth2_login(mb.username, secret)
        else:
            client.login(mb.username, secret)
    except LoginError as exc:
        said = scrub(_reason(exc), secret)
        hint = ("check that oauth2_token_command prints a current access token with IMAP scope"
                if mb.uses_oauth2 else
                f"check username and the password from {mb.secret_origin} (Gmail and Microsoft 365 "
                "need an app password or OAuth2)")
        raise AuthError(f"{_where(mb)}: login as {mb.username} refused ({said}); {hint}") from None
    except Exception as exc:
        if _is_transient(exc):
            raise TransientFault(scrub(f"connection lost during login: {_reason(exc)}", secret)) from exc
        raise ConnectionFailure(scrub(f"{_where(mb)}: login failed: {_reason(exc)}", secret)) from None
    finally:
        del secret


class FolderUnavailable(ConfigError):
    """A configured folder cannot be opened (it does not exist, or no longer does)."""


def examine(client: "IMAPClient", mb: MailboxConfig, folder: str) -> dict[bytes, Any]:
    """Read-only SELECT; a folder the server refuses is a FolderUnavailable."""
    import imaplib

    try:
        return client.select_folder(folder, readonly=True)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise FolderUnavailable(f"{_where(mb)}: folder {folder!r} cannot be opened ({_reason(exc)}); "
                                "fix 'folders' in the configuration (`caltac-inbox doctor` lists them)") from None
    except ValueError as exc:  # imapclient could not read a number in the reply
        raise ConnectionFailure(f"{_where(mb)}: folder {folder!r}: the server's answer to EXAMINE cannot be read "
                                f"(a UIDVALIDITY, EXISTS or UIDNEXT that is not a number: {_reason(exc)[:80]}); "
                                "ask the server's administrator") from None


def search_uids(client: "IMAPClient", criteria: list[Any], charset: str | None = None) -> list[int]:
    """UID SEARCH; without CHARSET for ASCII criteria, and again without it on BADCHARSET."""
    import imaplib

    if charset is None and not all(_is_ascii(item) for item in criteria):
        charset = "UTF-8"
    try:
        return list(client.search(criteria, charset=charset))
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        if charset and "BADCHARSET" in str(exc).upper():
            ascii_criteria = [item for item in criteria if _is_ascii(item)]
            return list(client.search(ascii_criteria, charset=None))
        raise


def _is_ascii(item: Any) -> bool:
    return not isinstance(item, str) or item.isascii()


LOGOUT_TIMEOUT = 5.0  # a server that stopped answering must not hold the poll at its end


def _close(client: "IMAPClient | None") -> None:
    if client is None:
        return
    with contextlib.suppress(Exception):
        client.socket().settimeout(LOGOUT_TIMEOUT)
        client.logout()
    with contextlib.suppress(Exception):
        client.shutdown()


# -- the poll ---------------------------------------------------------------------------


class DeadlineReached(Exception):
    """The poll's deadline passed before a command could be sent or while it was answered."""


class _Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.at = clock() + seconds

    def passed(self) -> bool:
        return self.clock() >= self.at

    def remaining(self) -> float:
        return self.at - self.clock()


class _DeadlineReader(io.RawIOBase):
    """The socket as imaplib reads it, each read bounded by read_timeout and by what is
    left of the deadline: a total budget across reads, so a server that trickles a
    byte at a time cannot keep a reply (or the poll) going past the deadline."""

    def __init__(self, sock: socket.socket, read_timeout: float, deadline: _Deadline) -> None:
        self._sock = sock
        self._read_timeout = read_timeout
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("the poll's deadline passed while the server was still answering")
        self._sock.settimeout(min(self._read_timeout, remaining))
        return self._sock.recv_into(buffer)


@contextlib.contextmanager
def _alarm_at(deadline: _Deadline) -> Iterator[None]:
    """Hold the connect, the greeting and STARTTLS to the deadline too. They happen inside
    IMAPClient's constructor, before _bound_reads can wrap the socket, so a server that
    trickles its greeting a byte at a time would see only the per-read timeout: a SIGALRM
    at the deadline raises DeadlineReached instead. Only the main thread gets signals; a
    poll run from another thread keeps the per-read timeout alone there."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    remaining = deadline.remaining()
    if remaining <= 0:
        raise DeadlineReached

    def expire(signum: int, frame: object) -> None:
        raise DeadlineReached

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, remaining)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _bound_reads(client: "IMAPClient", mb: MailboxConfig, deadline: _Deadline) -> None:
    """Make every read of `client` go through a _DeadlineReader (after the greeting and
    STARTTLS, when nothing of the server's is buffered yet)."""
    import imaplib

    imap = client._imap
    reader = io.BufferedReader(_DeadlineReader(imap.sock, mb.read_timeout, deadline))

    def readline() -> bytes:
        line = reader.readline(imaplib._MAXLINE + 1)  # type: ignore[attr-defined]
        if len(line) > imaplib._MAXLINE:  # type: ignore[attr-defined]
            raise imap.error(f"got more than {imaplib._MAXLINE} bytes")  # type: ignore[attr-defined]
        return line

    imap.readline = readline
    imap.read = reader.read


def _arm(client: "IMAPClient", mb: MailboxConfig, deadline: _Deadline) -> None:
    """Before a command: no reply may take longer than read_timeout or what is left of the
    deadline, so a server that stalls in the middle of a long FETCH cannot hold the poll."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise DeadlineReached
    client.socket().settimeout(min(mb.read_timeout, remaining))


@dataclass(frozen=True)
class Declared:
    """What the header FETCH said about a UID before its body was downloaded."""

    message_id: str | None
    size: int | None


class MailState(Protocol):
    """What the poll reads of the store (store.read on its reader): where each folder
    stands, and what is already recorded. The poll writes nothing: it yields."""

    def imap_checkpoint(self, mailbox: str, folder: str) -> tuple[int | None, int]: ...

    def uidvalidity_changes(self, mailbox: str, folder: str) -> int: ...

    def known_uids(self, mailbox: str, folder: str, uidvalidity: int, above: int = 0) -> set[int]: ...

    def recorded_by_message_id(self, mailbox: str,
                               message_ids: Sequence[str]) -> dict[tuple[str, int], tuple[int | None, str]]: ...


def uidvalidity_churn(mb: MailboxConfig, folder: str, changes: int) -> str:
    return (f"mailbox {mb.name!r} folder {folder!r}: UIDVALIDITY changed again before the folder was "
            f"scanned to the end ({changes} changes in a row): the server renumbers the folder on every "
            "read-only session, as Courier-IMAP does for a folder never opened read-write (open it "
            "read-write once, e.g. in a mail client); each poll rescans it, recognising archived "
            "messages by Message-ID and size without downloading them")


@dataclass
class _Yielded:
    """How far this run's stream has got per folder, (uidvalidity, last UID): what it
    yielded is stored by the consumer, so a reconnect resumes from here even before
    the store has committed it. And which folders this run scans recognising copies."""

    last: dict[str, tuple[int, int]] = field(default_factory=dict)
    recognising: set[str] = field(default_factory=set)
    # folder -> (uidvalidity, the lowest UID the server left out of a reply this run):
    # no checkpoint may pass it, so the next poll asks for it again
    held: dict[str, tuple[int, int]] = field(default_factory=dict)

    def hold(self, folder: str, uidvalidity: int, uid: int) -> None:
        stood = self.held.get(folder)
        if stood is None or stood[0] != uidvalidity or uid < stood[1]:
            self.held[folder] = (uidvalidity, uid)

    def below_held(self, folder: str, uidvalidity: int, uid: int) -> int:
        stood = self.held.get(folder)
        return uid if stood is None or stood[0] != uidvalidity else min(uid, stood[1] - 1)

    def passed(self, folder: str, uidvalidity: int, uid: int) -> None:
        stood = self.last.get(folder)
        if stood is None or stood[0] != uidvalidity or stood[1] < uid:
            self.last[folder] = (uidvalidity, uid)


def _folder_items(client: "IMAPClient", state: MailState, mb: MailboxConfig, folder: str, report: FolderReport,
                  deadline: _Deadline, progress: Callable[[int, str], Callable[[int], None]] | None,
                  body_budget: int, yielded: _Yielded) -> Iterator[RawMessage | Checkpoint]:
    """What is new in one folder, then its Checkpoints; counts go into `report` (which
    survives a reconnect, so a resumed folder keeps adding to it). One body FETCH
    brings in at most `body_budget` declared bytes, or a single larger message.

    After a UIDVALIDITY change, and until the renumbered folder has been scanned to the
    end, a UID whose Message-ID and RFC822.SIZE match one already recorded in the mailbox
    is recorded like that one without downloading its body."""
    _arm(client, mb, deadline)
    info = examine(client, mb, folder)
    uidvalidity = _uidvalidity(info, mb, folder)
    last_uid, rescan = resume_point(yielded.last.get(folder) or state.imap_checkpoint(mb.name, folder), uidvalidity)
    changes = state.uidvalidity_changes(mb.name, folder)
    report.uidvalidity = uidvalidity
    report.rescan = report.rescan or rescan
    if rescan and changes:
        report.warning = uidvalidity_churn(mb, folder, changes + 1)
    if rescan or changes > 0:
        yielded.recognising.add(folder)
    scan = _FolderScan(client, state, mb, folder, uidvalidity, report, deadline, progress, body_budget, yielded,
                       recognise=folder in yielded.recognising)
    finished = yield from scan.run(last_uid, exists=int(info.get(b"EXISTS", 1)))
    if finished and changes and not rescan:
        yield scan.checkpoint(settled=True)


def _uidvalidity(info: Mapping[bytes, Any], mb: MailboxConfig, folder: str) -> int:
    try:
        value = int(info[b"UIDVALIDITY"])
    except (KeyError, TypeError, ValueError):
        value = 0
    if not 0 < value <= MAX_UID:
        said = info.get(b"UIDVALIDITY")
        raise ConnectionFailure(f"{_where(mb)}: folder {folder!r}: the server sent no valid UIDVALIDITY "
                                f"({server_text(str(said))[:40]!r}); without it the poll cannot tell new "
                                "messages from old ones; ask the server's administrator")
    return value


@dataclass
class _FolderScan:
    client: "IMAPClient"
    state: MailState
    mb: MailboxConfig
    folder: str
    uidvalidity: int
    report: FolderReport
    deadline: _Deadline
    progress: Callable[[int, str], Callable[[int], None]] | None
    body_budget: int
    yielded: _Yielded
    recognise: bool  # match Message-ID and size before downloading

    def checkpoint(self, last_uid: int | None = None, **what: Any) -> Checkpoint:
        from caltac_inbox.model import Checkpoint

        if last_uid is not None:
            self.yielded.passed(self.folder, self.uidvalidity, last_uid)
            last_uid = self.yielded.below_held(self.folder, self.uidvalidity, last_uid)
        return Checkpoint(self.mb.name, self.folder, self.uidvalidity, last_uid, **what)

    def run(self, last_uid: int, exists: int) -> Generator[RawMessage | Checkpoint, None, bool]:
        """Everything above `last_uid`, one UID range of at most SEARCH_CHUNK messages at a
        time (so a folder of any size is searched in bounded replies, and held in bounded
        memory); returns False when the deadline stopped it."""
        if exists == 0:
            return True
        ranges = uid_ranges(last_uid, self._boundaries(exists))
        recorded: set[int] | None = None
        tick: Callable[[int], None] | None = None
        for after, up_to in ranges:
            _arm(self.client, self.mb, self.deadline)
            uids = self._valid(new_uids(search_uids(self.client, search_criteria(after, self.mb.since, up_to)),
                                        after))
            if not uids:
                continue
            if recorded is None:  # recognised by an interrupted rescan, without the checkpoint passing them yet
                recorded = self.state.known_uids(self.mb.name, self.folder, self.uidvalidity, above=last_uid)
            todo = [uid for uid in uids if uid not in recorded]
            if not todo:
                yield self.checkpoint(uids[-1])
                continue
            if tick is None:
                total = len(todo) + SEARCH_CHUNK * (len(ranges) - 1 - ranges.index((after, up_to)))
                tick = self.progress(total, f"{self.mb.name}/{self.folder}") if self.progress else (lambda n: None)
            for header_batch in chunked(todo, HEADER_BATCH):
                if self.deadline.passed() or not (yield from self._batch(header_batch, tick)):
                    self.report.deadline_reached = True
                    return False
            if todo[-1] != uids[-1]:  # recorded before, above the last one fetched now
                yield self.checkpoint(uids[-1])
        return True

    def _boundaries(self, exists: int) -> list[int]:
        """The UIDs of every SEARCH_CHUNK-th message (none in a folder smaller than that)."""
        numbers = boundary_sequence_numbers(exists, SEARCH_CHUNK)
        if not numbers:
            return []
        _arm(self.client, self.mb, self.deadline)
        return self._valid(search_uids(self.client, [",".join(str(n) for n in numbers)]))

    def _valid(self, uids: list[int]) -> list[int]:
        bad = invalid_uid(uids)
        if bad is not None:
            raise ConnectionFailure(f"{_where(self.mb)}: folder {self.folder!r}: the server answered UID SEARCH "
                                    f"with {str(bad)[:30]}, which is not an IMAP UID; ask the server's "
                                    "administrator (the next run tries again)")
        return uids

    def _batch(self, header_batch: list[int], tick: Callable[[int], None]) -> Generator[Any, None, bool]:
        """Headers, then bodies of the candidates; False when the deadline cut it short."""
        mb, report = self.mb, self.report
        _arm(self.client, mb, self.deadline)
        headers = self.client.fetch(header_batch, [FETCH_HEADERS, FETCH_SIZE])
        candidates: list[int] = []
        doubtful: list[int] = []
        declared: dict[int, Declared] = {}
        sizes: dict[int, int] = {}
        absent: dict[int, str] = {}
        for uid in header_batch:
            data = headers.get(uid)
            if data is None:  # expunged meanwhile, or left out by the server: checked below
                absent[uid] = "no FETCH reply for its UID"
                tick(1)
                continue
            block = _item(data, b"BODY[HEADER")
            summary = summarize_headers(block) if block else None
            size = int(data[FETCH_SIZE]) if data.get(FETCH_SIZE) is not None else None
            declared[uid] = Declared(summary.message_id if summary else None, size)
            if size is not None:
                sizes[uid] = size
            (candidates if summary_is_candidate(summary, mb.senders) else doubtful).append(uid)
        if self.recognise:
            known = yield from self._recognised(declared, tick)
            candidates = [uid for uid in candidates if uid not in known]
            doubtful = [uid for uid in doubtful if uid not in known]
        if doubtful:
            _arm(self.client, mb, self.deadline)
            starts = self.client.fetch(doubtful, [FETCH_SNIFF])
            for uid in doubtful:
                if sniff_is_candidate(_item(starts.get(uid, {}), b"BODY[TEXT]"), mb.senders):
                    candidates.append(uid)
                else:
                    report.ignored += 1
                    tick(1)
            candidates.sort()
        report.examined += len(header_batch)
        if candidates:
            groups = body_fetch_groups(candidates, sizes, self.body_budget, mb.batch_size)
            if not (yield from self._bodies(groups, declared, tick, absent)):
                return False
        self._hold_left_out(absent)
        # Every UID of this batch is now stored, ignored or recorded, or held for the next
        # poll: move past all of them up to the first one held.
        yield self.checkpoint(header_batch[-1])
        return True

    def _hold_left_out(self, absent: Mapping[int, str]) -> None:
        """UIDs the server's replies left out: those it still lists were not expunged
        meanwhile, so they are reported and held (the checkpoint stops before them)."""
        if not absent:
            return
        _arm(self.client, self.mb, self.deadline)
        still_there = set(search_uids(self.client, ["UID", ",".join(str(uid) for uid in sorted(absent))]))
        for uid in sorted(still_there & set(absent)):
            self.yielded.hold(self.folder, self.uidvalidity, uid)
            source = message_source(self.mb.name, self.folder, self.uidvalidity, uid)
            self.report.errors.append((source, (f"{source}: the server's answer left this message out "
                                                f"({absent[uid]}); the next poll asks for it again")))

    def _bodies(self, groups: list[list[int]], declared: Mapping[int, Declared],
                tick: Callable[[int], None], absent: dict[int, str]) -> Generator[RawMessage | Checkpoint, None, bool]:
        """The bodies of the candidate UIDs, one FETCH per group (see body_fetch_groups);
        False when it stopped at the first message boundary after the deadline."""
        from caltac_inbox.model import RawMessage

        last = 0  # the last UID handed on

        def stopped() -> Checkpoint | None:
            """At the deadline: past what was handed on, up to the first UID left out."""
            upto = min([last, *(uid - 1 for uid in absent)])
            return self.checkpoint(upto) if upto > 0 else None

        for group in groups:
            try:
                _arm(self.client, self.mb, self.deadline)
            except DeadlineReached:
                if (checkpoint := stopped()) is not None:
                    yield checkpoint
                return False
            response = self.client.fetch(group, [FETCH_BODY])
            for uid in group:
                if self.deadline.passed():
                    if (checkpoint := stopped()) is not None:
                        yield checkpoint
                    return False
                # popped: the response must not keep a body alive once it is stored
                data = response.pop(uid, None)
                raw = None if data is None else data.get(BODY_KEY)
                tick(1)
                if raw is None:  # expunged meanwhile, or left out by the server: checked after the batch
                    absent[uid] = "no FETCH reply for its UID" if data is None else "a FETCH reply without its body"
                    continue
                self.report.fetched += 1
                self.yielded.passed(self.folder, self.uidvalidity, uid)
                last = uid
                found = declared.get(uid, Declared(None, None))
                yield RawMessage(
                    raw=bytes(raw),
                    source=message_source(self.mb.name, self.folder, self.uidvalidity, uid),
                    mailbox=self.mb.name, folder=self.folder, uidvalidity=self.uidvalidity, uid=uid,
                    declared_message_id=found.message_id, declared_size=found.size,
                    authserv_ids=self.mb.authserv_ids, trusted_forwarders=self.mb.forwarders,
                )
        return True

    def _recognised(self, declared: Mapping[int, Declared],
                    tick: Callable[[int], None]) -> Generator[Checkpoint, None, set[int]]:
        """The UIDs whose Message-ID and size match a UID recorded before, yielded to be
        recorded like it; their UIDs."""
        ids = [d.message_id for d in declared.values() if d.message_id and d.size is not None]
        if not ids:
            return set()
        earlier = self.state.recorded_by_message_id(self.mb.name, ids)
        rows = []
        for uid, d in declared.items():
            match = earlier.get((d.message_id, d.size)) if d.message_id and d.size is not None else None
            if match is not None:
                rows.append((uid, d.message_id, d.size, *match))
        if rows:
            yield self.checkpoint(recognised=tuple(rows))
        for *_, status in rows:
            self.report.recognised += 1
            if status == "ignored":
                self.report.ignored += 1
            else:
                self.report.duplicates += 1
            tick(1)
        return {row[0] for row in rows}


def _item(data: dict[bytes, Any], prefix: bytes) -> bytes | None:
    value = next((v for k, v in data.items() if k.startswith(prefix)), None)
    return bytes(value) if value is not None else None


DEADLINE_EXIT = 1  # the poll stopped early; what it fetched is stored, the next run continues


def finish(report: MailboxReport, mb: MailboxConfig) -> MailboxReport:
    """The exit code and reason of a poll that got through (part of) its folders, once
    what it fetched is stored (the reason counts it)."""
    if report.exit_code and report.error and not report.deadline_reached:
        return report  # stopped by a fault: said already
    if report.deadline_reached and report.error is None:
        report.error = (f"{_where(mb)}: stopped at its deadline ({mb.deadline:g} s) after storing "
                        f"{report.new} new message(s); the next run continues where this one stopped "
                        "(for a long backfill, raise `deadline` or run `caltac-inbox poll` by hand)")
        report.exit_code = max(report.exit_code, DEADLINE_EXIT)
    if any(f.error for f in report.folders):
        report.exit_code = max(report.exit_code, FolderUnavailable.exit_code)
    return report


def mailbox_messages(state: MailState, mb: MailboxConfig, report: MailboxReport, *,
                     progress: Callable[[int, str], Callable[[int], None]] | None = None,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep,
                     body_budget: int = FETCH_BYTES) -> Generator[RawMessage | Checkpoint, None, None]:
    """The new messages of every configured folder of `mb`, each folder's Checkpoints
    after the messages they pass. Reconnects after a transient fault and goes on where
    the stream stood. Never raises a UserError: the reason the poll stopped goes into
    report.error/exit_code (auth 3, connection 4, config 2); a folder that cannot be
    opened is reported in its FolderReport and the others are still polled. `finish`
    completes the report once the stream is stored."""
    deadline = _Deadline(mb.deadline, clock)
    folder_reports = {folder: FolderReport(folder) for folder in mb.folders}
    report.folders = list(folder_reports.values())
    yielded = _Yielded()
    done: set[str] = set()
    attempt = 0
    progress_at_fault = -1

    def stop_at_deadline() -> None:
        pending = [f for f in mb.folders if f not in done]
        if pending and not report.deadline_reached:
            folder_reports[pending[0]].deadline_reached = True  # not (fully) polled

    while True:
        client = None
        try:
            with _alarm_at(deadline):
                client = open_connection(mb)
            _bound_reads(client, mb, deadline)
            login(client, mb)
            yield from _poll_folders(client, state, mb, folder_reports, done, deadline, progress, body_budget,
                                     yielded)
            _close(client)
            if deadline.passed():
                stop_at_deadline()
            return
        except GeneratorExit:  # the consumer stopped early (its database failed)
            _close(client)
            raise
        except DeadlineReached:
            _close(client)
            stop_at_deadline()
            return
        except UserError as exc:
            _close(client)
            report.error, report.exit_code = str(exc), exc.exit_code
            return
        except Exception as exc:  # noqa: BLE001 - a transient fault is retried, a refusal reported, the rest raised
            _close(client)
            if deadline.passed():  # the socket timed out on what was left of the deadline
                stop_at_deadline()
                return
            if not (isinstance(exc, TransientFault) or _is_transient(exc)):
                report.error = _refused_command(exc, mb)  # anything else is raised again
                report.exit_code = ConnectionFailure.exit_code
                return
            # A connection that keeps breaking but moves forward each time may go on
            # (the deadline bounds it); one that makes no progress gets `retries` tries.
            made = sum(f.fetched for f in report.folders)
            attempt = 1 if made != progress_at_fault else attempt + 1
            progress_at_fault = made
            if attempt > mb.retries:
                report.error = _gave_up(exc, mb, attempt)
                report.exit_code = ConnectionFailure.exit_code
                return
            sleep(min(mb.retry_delay * 2 ** (attempt - 1), max(0.0, deadline.at - clock())))


def _poll_folders(client: Any, state: MailState, mb: MailboxConfig, folder_reports: dict[str, FolderReport],
                  done: set[str], deadline: _Deadline, progress: Callable[[int, str], Callable[[int], None]] | None,
                  body_budget: int, yielded: _Yielded) -> Iterator[RawMessage | Checkpoint]:
    """The folders not `done` yet, in order, on one connection; a folder that cannot be
    opened is reported in its FolderReport, one whose deadline came stops the run."""
    for folder in mb.folders:
        if folder in done:
            continue
        try:
            yield from _folder_items(client, state, mb, folder, folder_reports[folder], deadline, progress,
                                     body_budget, yielded)
        except FolderUnavailable as exc:
            folder_reports[folder].error = str(exc)
        if folder_reports[folder].deadline_reached:
            break
        done.add(folder)


def _refused_command(exc: Exception, mb: MailboxConfig) -> str:
    """The report of a NO/BAD the poll did not expect; any other exception is raised again."""
    import imaplib

    if isinstance(exc, imaplib.IMAP4.error):
        return (f"{_where(mb)}: the server refused a command ({_reason(exc)}); "
                "the next run continues where this one stopped")
    raise exc


def _gave_up(exc: Exception, mb: MailboxConfig, attempt: int) -> str:
    """The report of a transient fault that came back `attempt` times without progress."""
    cause = exc.__cause__ if isinstance(exc, TransientFault) and exc.__cause__ else exc
    reason = str(exc) if isinstance(exc, TransientFault) else f"connection lost: {_reason(cause)}"
    tries = f" after {attempt} attempt{'s' if attempt > 1 else ''}"
    return (f"{_where(mb)}: {reason}{tries}; check that the server is reachable "
            "(`caltac-inbox doctor`); the next run continues where this one stopped")


# -- doctor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderCheck:
    folder: str
    ok: bool
    detail: str


def check_mailbox(mb: MailboxConfig) -> list[FolderCheck]:
    """Connect, log in and EXAMINE each folder once (no retries). Raises UserError for a
    connection or login problem; folder problems come back as failed checks."""
    try:
        client = open_connection(mb)
    except TransientFault as exc:
        raise ConnectionFailure(f"{_where(mb)}: {exc}; check host, port and firewall") from None
    try:
        try:
            login(client, mb)
        except TransientFault as exc:
            raise ConnectionFailure(f"{_where(mb)}: {exc}") from None
        checks = []
        for folder in mb.folders:
            try:
                info = examine(client, mb, folder)
            except FolderUnavailable as exc:
                checks.append(FolderCheck(folder, False, str(exc)))
                continue
            checks.append(FolderCheck(folder, True, f"{int(info.get(b'EXISTS', 0))} messages, "
                                                    f"UIDVALIDITY {int(info[b'UIDVALIDITY'])}"))
        return checks
    finally:
        _close(client)


def list_folders(mb: MailboxConfig) -> list[str]:
    """Folder names on the server (for doctor's hint when a folder is missing)."""
    client = open_connection(mb)
    try:
        login(client, mb)
        return [name for _flags, _delim, name in client.list_folders()]
    finally:
        _close(client)


__all__ = [
    "DeadlineReached",
    "FolderReport",
    "FolderUnavailable",
    "MailboxReport",
    "body_fetch_groups",
    "check_mailbox",
    "is_candidate",
    "new_uids",
    "finish",
    "mailbox_messages",
    "resume_point",
    "search_criteria",
    "sender_filter",
    "sender_matches",
]
