"""Editor sessions and their CSRF tokens. Pure: no I/O, no web framework.

A session is a signed cookie value: the session's random id, whom it belongs to (an
editor's number, or the user name a trusted proxy gave) and when it ends, as base64url
JSON, then an HMAC-SHA256 of it under the server's key. Nothing in it is secret; the
signature makes it unforgeable, the end time makes it expire, and the server still
checks at each request that the editor was not revoked since.

A session's CSRF token is an HMAC of its id under the same key (with another label), so
it needs no storage, differs for every session, and a token taken from one session is
worthless in another. Every comparison is constant-time (hmac.compare_digest).

The key comes from CALTAC_INBOX_SESSION_KEY when set (so sessions outlive a restart of
`serve`), else it is drawn at random when the server starts (a restart signs everyone
out; the sign-in link signs them in again).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

SESSION_KEY_ENV = "CALTAC_INBOX_SESSION_KEY"
MIN_KEY_CHARS = 32
SESSION_SECONDS = 12 * 3600
MAX_COOKIE_CHARS = 1000


class SessionKeyError(ValueError):
    """A session key too short to sign with."""


@dataclass(frozen=True)
class EditorSession:
    id: str
    editor: int | None  # editors.id, for a sign-in link's session
    user: str | None  # the trusted proxy's user name, for a proxy's session
    expires: int  # Unix seconds

    def belongs_to(self, editor: int | None, user: str | None) -> bool:
        return self.editor == editor and self.user == user


def session_key(configured: str | None) -> bytes:
    """The signing key: the configured one (at least MIN_KEY_CHARS characters), else a new random one."""
    if configured is None or configured == "":
        return secrets.token_bytes(32)
    if len(configured) < MIN_KEY_CHARS:
        raise SessionKeyError(f"{SESSION_KEY_ENV} must be at least {MIN_KEY_CHARS} characters (try `python3 -c "
                              "'import secrets; print(secrets.token_urlsafe(32))'`)")
    return configured.encode("utf-8", "surrogateescape")


class SessionSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def new_session(self, now: float, *, editor: int | None = None, user: str | None = None,
                    seconds: int = SESSION_SECONDS) -> EditorSession:
        return EditorSession(id=secrets.token_urlsafe(18), editor=editor, user=user, expires=int(now) + seconds)

    def dumps(self, session: EditorSession) -> str:
        payload = _b64(json.dumps({"s": session.id, "e": session.editor, "u": session.user, "x": session.expires},
                                  separators=(",", ":")).encode())
        return f"{payload}.{self._mac(b'session', payload.encode())}"

    def loads(self, value: str | None, now: float) -> EditorSession | None:
        """The session of a cookie value, or None when it is forged, damaged or expired."""
        if not value or len(value) > MAX_COOKIE_CHARS or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(b"session", payload.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session = EditorSession(id=str(data["s"]), editor=data["e"], user=data["u"], expires=int(data["x"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        return session if session.expires > now else None

    def csrf_token(self, session: EditorSession) -> str:
        return self._mac(b"csrf", session.id.encode())

    def csrf_ok(self, session: EditorSession, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given), self.csrf_token(session))

    def _mac(self, label: bytes, message: bytes) -> str:
        return _b64(hmac.new(self._key, label + b":" + message, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def same_origin(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a POST's Origin header is one of ours. A POST without one is refused:
    every browser that can run this page sends it on a form's POST."""
    if not origin:
        return False
    return origin.rstrip("/").lower() in {a.rstrip("/").lower() for a in allowed}


def safe_return_path(path: str | None, default: str = "/") -> str:
    """Where an action sends the browser back to: a path of ours, never another site."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 500:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in path):
        return default
    first = path.split("?", 1)[0].split("#", 1)[0]
    return path if first in ("/", "/review") else default


__all__ = ["EditorSession", "SESSION_KEY_ENV", "SESSION_SECONDS", "SessionKeyError", "SessionSigner",
           "safe_return_path", "same_origin", "session_key"]
