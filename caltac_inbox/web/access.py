"""The outermost layer of the web server: security headers on every response, one JSON
access-log line per request with its secrets removed, and one line (never a traceback)
for an error the application did not handle.

uvicorn's own access log is switched off by `serve`: it prints the raw request line,
which holds a feed's token.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, MutableMapping

from caltac_inbox.web.http import (
    REDACTED,
    SECRET_LIKE,
    host_allowed,
    loggable_target,
    loggable_text,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ACCESS_LOGGER = "caltac_inbox.web.access"
# Scripts only from our own files (no inline script, no eval); the page needs nothing
# else from anywhere.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
# What a handler may add to the log line, through scope["caltac.log"].
LOG_NOTES = "caltac.log"


class AccessLog:
    def __init__(self, app: ASGIApp, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        notes: dict[str, Any] = {}
        scope[LOG_NOTES] = notes
        response: dict[str, Any] = {"status": None, "bytes": 0}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((n, v) for n, v in SECURITY_HEADERS if n not in present)]
            elif message["type"] == "http.response.body":
                response["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - the one place that answers for the whole server
            # one line, and nothing token-shaped even if a message quoted a path
            notes["error"] = SECRET_LIKE.sub(REDACTED, f"{type(exc).__name__}: {' '.join(str(exc).split())}")[:300]
            if response["status"] is None:
                await send_with_headers({"type": "http.response.start", "status": 500,
                                         "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send_with_headers({"type": "http.response.body", "body": b"Internal Server Error"})
        finally:
            self.logger.info(json.dumps(access_record(scope, response["status"], response["bytes"],
                                                      time.perf_counter() - started, notes), ensure_ascii=False))


class HostGuard:
    """Answers 400 to a request whose Host header does not name this server (see
    web.http.allowed_hosts: DNS rebinding); `allowed` None lets every request through."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed is not None:
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if not host_allowed(host, self.allowed):
                scope.setdefault(LOG_NOTES, {})["error"] = "Host header names another server"
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": b"Invalid host header"})
                return
        await self.app(scope, receive, send)


def access_record(scope: Scope, status: int | None, size: int, seconds: float, notes: dict[str, Any]) -> dict[str, Any]:
    """The log line's fields. Never a header (Cookie holds the page's token), never the raw
    target (feed paths and ?token= hold one)."""
    client = scope.get("client")
    headers = dict(scope.get("headers") or [])
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "client": client[0] if client else None,
        "method": scope.get("method"),
        "target": loggable_target(scope.get("path", ""), scope.get("query_string", b"").decode("latin-1")),
        "status": status,
        "bytes": size,
        "ms": round(seconds * 1000, 2),
        "user_agent": loggable_text(headers.get(b"user-agent", b"").decode("latin-1"))[:200] or None,
        **notes,
    }


__all__ = ["ACCESS_LOGGER", "AccessLog", "HostGuard", "CONTENT_SECURITY_POLICY", "LOG_NOTES", "access_record"]
