"""How `serve` holds up under load: a cap on open connections, a time limit for a
connection to send its request head, and logs that cannot flood.

uvicorn closes a kept-alive connection after `timeout_keep_alive`, but a connection
that never completes a request (slowloris: open many, send a byte now and then) it
keeps forever, and once the process runs out of file descriptors asyncio logs a
traceback for every failed accept(). Here:

- `guarded_protocol()`: uvicorn's h11 protocol, closing a connection that has not sent
  a complete request head within `head_timeout` seconds, and refusing (closing at once)
  connections beyond `max_connections`, with one log line per second at most;
- `raise_open_files_limit()`: the soft limit on open files up to the hard one, so the
  cap, not the kernel, decides;
- `quiet_accept_errors()`: asyncio's accept() errors as one line a second, no traceback.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

DEFAULT_MAX_CONNECTIONS = 4000
HEAD_TIMEOUT = 10.0  # seconds for a (new or kept-alive) connection to send a request head
KEEP_ALIVE_TIMEOUT = 5  # uvicorn's timeout_keep_alive
MAX_REQUEST_HEAD = 16 * 1024  # h11_max_incomplete_event_size: request line + headers
RESERVED_FILES = 64  # descriptors kept for the database, logs and the listening socket
SERVER_LOGGER = "caltac_inbox.web.server"


class OncePerSecond(logging.Filter):
    """Lets one record through per `interval` seconds, its traceback dropped."""

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__()
        self.interval = interval
        self._last = -interval

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._last < self.interval:
            return False
        self._last = now
        record.exc_info = None
        record.exc_text = None
        return True


def raise_open_files_limit(wanted: int) -> int:
    """The soft RLIMIT_NOFILE raised towards `wanted` (never above the hard limit); the
    number of connections the server can then hold."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + RESERVED_FILES if hard == resource.RLIM_INFINITY else min(hard, wanted + RESERVED_FILES)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(1, min(wanted, soft - RESERVED_FILES))


def quiet_accept_errors() -> None:
    """asyncio's "socket.accept() out of system resource" (and anything else it logs)
    at most once a second, without its traceback."""
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, OncePerSecond) for f in asyncio_log.filters):
        asyncio_log.addFilter(OncePerSecond())


def guarded_protocol(max_connections: int, head_timeout: float = HEAD_TIMEOUT) -> type:
    """uvicorn's H11Protocol with a connection cap and a request-head time limit."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    refusals = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, OncePerSecond) for f in refusals.filters):
        refusals.addFilter(OncePerSecond())

    class GuardedH11Protocol(H11Protocol):  # type: ignore[misc]
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                refusals.warning(f"caltac-inbox: warning: {len(self.connections) - 1} connections open (the most "
                                 f"allowed is {max_connections}); refusing new ones")
                transport.close()
                return
            self._start_head_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._stop_head_timer()  # a request head arrived: the handler's time now
            elif self._head_timer is None:
                self._start_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._start_head_timer()  # a kept-alive connection has as long for its next request

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def _start_head_timer(self) -> None:
            self._stop_head_timer()
            self._head_timer = self.loop.call_later(head_timeout, self._head_too_slow)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

    return GuardedH11Protocol


__all__ = ["DEFAULT_MAX_CONNECTIONS", "HEAD_TIMEOUT", "KEEP_ALIVE_TIMEOUT", "MAX_REQUEST_HEAD", "guarded_protocol",
           "quiet_accept_errors", "raise_open_files_limit"]
