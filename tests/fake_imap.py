"""A scripted IMAP server on loopback for the protocol misbehaviours a real Dovecot never
shows: FETCH replies that leave a message out, drop its body or answer under another
UID, a server that trickles its reply a byte at a time, a folder too large for one
UID SEARCH reply, a UIDVALIDITY that is not a number, a UID over 32 bits.

It speaks just enough IMAP4rev1 for caltac-inbox's poll (CAPABILITY, LOGIN, EXAMINE,
UID SEARCH, UID FETCH, LOGOUT). Every connection is served by a daemon thread; a
trickle stops by itself after `trickle_for` seconds, so no test can hang on it.
"""
from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

PASSWORD = "fake-imap-pass"


@dataclass
class Script:
    """What the server holds and how it misbehaves."""

    uids: Sequence[int]  # ascending; message i (1-based sequence number) has uids[i-1]
    body: Callable[[int], bytes]  # the message of a UID
    uidvalidity: bytes = b"1700000000"
    omit: set[int] = field(default_factory=set)  # body FETCH replies leave these UIDs out
    no_body: set[int] = field(default_factory=set)  # body FETCH replies for these carry no BODY[]
    renumber: dict[int, int] = field(default_factory=dict)  # body FETCH replies name another UID
    search_extra: Sequence[bytes] = ()  # more numbers in every UID SEARCH reply
    trickle_bodies: bool = False  # body FETCH replies go out a byte at a time ...
    trickle_greeting: bool = False  # the greeting too (before any command) ...
    trickle_for: float = 60.0  # ... for up to this many seconds, then the connection is closed
    trickle_gap: float = 0.05
    commands: list[bytes] = field(default_factory=list)  # every command line received


def _parse_set(text: str, highest: int) -> Callable[[int], bool]:
    parts = []
    for piece in text.split(","):
        low, _, high = piece.partition(":")
        lo = highest if low == "*" else int(low)
        hi = lo if not high else (highest if high == "*" else int(high))
        parts.append((min(lo, hi), max(lo, hi)))
    return lambda n: any(lo <= n <= hi for lo, hi in parts)


class FakeImapServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()

    def __enter__(self) -> "FakeImapServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mailbox_toml(self, **extra: object) -> str:
        lines = ['[[mailbox]]', 'name = "fake"', 'host = "127.0.0.1"', f"port = {self.port}",
                 'security = "plain"', 'username = "coordinator"', 'password_env = "CALTAC_FAKE_IMAP_PASSWORD"',
                 'senders = ["ets.org", "cde.ca.gov"]', "retries = 0", "connect_timeout = 5"]
        for key, value in extra.items():
            lines.append(f"{key} = {value!r}" if isinstance(value, str) else f"{key} = {value}")
        return "\n".join(lines).replace("'", '"') + "\n"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _send(self, conn: socket.socket, data: bytes, slow: bool = False) -> None:
        script = self.script
        if slow:
            until = time.monotonic() + script.trickle_for
            for i in range(len(data)):
                if time.monotonic() > until or self._stop.is_set():
                    raise ConnectionError("trickled long enough")
                conn.sendall(data[i:i + 1])
                time.sleep(script.trickle_gap)
            return
        conn.sendall(data)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            file = conn.makefile("rb")
            try:
                self._send(conn, b"* OK [CAPABILITY IMAP4rev1] fake ready" + b" " * 2000 + b"\r\n",
                           slow=self.script.trickle_greeting)
                while not self._stop.is_set():
                    line = file.readline()
                    if not line:
                        return
                    self.script.commands.append(line)
                    if not self._answer(conn, line.rstrip(b"\r\n").decode("ascii", "replace")):
                        return
            except (OSError, ConnectionError):
                return

    def _answer(self, conn: socket.socket, line: str) -> bool:
        tag, _, rest = line.partition(" ")
        verb, _, args = rest.partition(" ")
        verb = verb.upper()
        if verb == "CAPABILITY":
            self._send(conn, b"* CAPABILITY IMAP4rev1\r\n" + f"{tag} OK done\r\n".encode())
        elif verb == "LOGIN":
            ok = args.split()[-1].strip('"') == PASSWORD
            self._send(conn, f"{tag} {'OK' if ok else 'NO [AUTHENTICATIONFAILED]'} login\r\n".encode())
        elif verb in ("EXAMINE", "SELECT"):
            uids = self.script.uids
            nxt = (uids[-1] + 1) if uids else 1
            self._send(conn, b"* FLAGS (\\Seen)\r\n* %d EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY %s]\r\n"
                             b"* OK [UIDNEXT %d]\r\n%s OK [READ-ONLY] done\r\n"
                       % (len(uids), self.script.uidvalidity, nxt, tag.encode()))
        elif verb == "UID":
            sub, _, args = args.partition(" ")
            if sub.upper() == "SEARCH":
                self._search(conn, tag, args)
            elif sub.upper() == "FETCH":
                self._fetch(conn, tag, args)
            else:
                self._send(conn, f"{tag} BAD unknown\r\n".encode())
        elif verb == "LOGOUT":
            self._send(conn, f"* BYE bye\r\n{tag} OK done\r\n".encode())
            return False
        elif verb == "NOOP":
            self._send(conn, f"{tag} OK done\r\n".encode())
        else:
            self._send(conn, f"{tag} BAD unknown command\r\n".encode())
        return True

    def _search(self, conn: socket.socket, tag: str, args: str) -> None:
        uids = self.script.uids
        highest_uid = uids[-1] if uids else 0
        tokens = args.split()
        keep_uid: Callable[[int], bool] = lambda n: True
        keep_seq: Callable[[int], bool] = lambda n: True
        i = 0
        while i < len(tokens):
            token = tokens[i].upper()
            if token == "UID":
                keep_uid = _parse_set(tokens[i + 1], highest_uid)
                i += 2
            elif token in ("SINCE", "CHARSET"):
                i += 2
            elif re.fullmatch(r"[0-9*:,]+", token):
                keep_seq = _parse_set(token, len(uids))
                i += 1
            else:
                i += 1
        found = [uid for seq, uid in enumerate(uids, 1) if keep_seq(seq) and keep_uid(uid)]
        reply = b"* SEARCH" + b"".join(b" %d" % uid for uid in found)
        reply += b"".join(b" " + extra for extra in self.script.search_extra)
        self._send(conn, reply + b"\r\n" + f"{tag} OK done\r\n".encode())

    def _fetch(self, conn: socket.socket, tag: str, args: str) -> None:
        uid_set, _, items = args.partition(" ")
        uids = self.script.uids
        if ":" in uid_set:
            wanted = _parse_set(uid_set, uids[-1] if uids else 0)
            asked = [(seq, uid) for seq, uid in enumerate(uids, 1) if wanted(uid)]
        else:  # a list of UIDs (what the poll sends): no scan of a large folder
            where = {uid: seq for seq, uid in enumerate(uids, 1)} if len(uids) < 1000 else None
            listed = sorted({int(n) for n in uid_set.split(",")})
            if where is None:
                import bisect

                asked = [(bisect.bisect_left(uids, n) + 1, n) for n in listed
                         if bisect.bisect_left(uids, n) < len(uids) and uids[bisect.bisect_left(uids, n)] == n]
            else:
                asked = [(where[n], n) for n in listed if n in where]
        body = "BODY.PEEK[]" in items.upper()
        out = []
        for seq, uid in asked:
            raw = self.script.body(uid)
            if body:
                if uid in self.script.omit:
                    continue
                named = self.script.renumber.get(uid, uid)
                if uid in self.script.no_body:
                    out.append(b"* %d FETCH (UID %d FLAGS ())\r\n" % (seq, named))
                    continue
                out.append(b"* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n" % (seq, named, len(raw), raw))
            elif "HEADER.FIELDS" in items.upper():
                head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
                out.append(b"* %d FETCH (UID %d RFC822.SIZE %d BODY[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID "
                           b"CONTENT-TYPE)] {%d}\r\n%s)\r\n" % (seq, uid, len(raw), len(head), head))
            else:  # the first bytes of the text
                text = raw.split(b"\r\n\r\n", 1)[-1][:8192]
                out.append(b"* %d FETCH (UID %d BODY[TEXT]<0> {%d}\r\n%s)\r\n" % (seq, uid, len(text), text))
        self._send(conn, b"".join(out) + f"{tag} OK done\r\n".encode(), slow=body and self.script.trickle_bodies)
