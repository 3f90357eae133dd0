"""Pure HTTP logic of the web server: filters from query parameters, the feed's ETag and
conditional requests, and request targets fit for a log (no token).

No I/O and no web framework here: the handlers in web/app.py call these.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Iterable
from urllib.parse import parse_qsl, urlencode

from caltac_inbox import __version__
from caltac_inbox.model import KINDS, PROGRAMS
from caltac_inbox.store.feeds import FeedFilter, normalized_filter

# query parameters whose values a log may show; any other parameter's value is hidden
LOGGABLE_PARAMS = frozenset({"kind", "program", "mailbox", "as_of", "days", "from"})
REDACTED = "[redacted]"
# A run of token characters this long could be a token pasted into the wrong place.
SECRET_LIKE = re.compile(r"[A-Za-z0-9_\-]{20,}")
# A feed token (secrets.token_urlsafe(32): 43 characters) inside free text such as a
# User-Agent, where shorter runs ("Google-Calendar-Importer") are ordinary words.
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-]{32,}")
_FEED_PATH = re.compile(r"^/+calendar/")


class BadRequest(ValueError):
    """A query parameter we cannot use; the message is one line for the response."""


@dataclass(frozen=True)
class FeedValidators:
    etag: str
    last_modified: datetime | None  # whole seconds, UTC

    def headers(self) -> dict[str, str]:
        out = {"ETag": self.etag, "Cache-Control": "private, no-cache"}
        if self.last_modified is not None:
            out["Last-Modified"] = format_datetime(self.last_modified, usegmt=True)
        return out


def values(params: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every value of `name`, repeated (`kind=a&kind=b`) or comma-separated (`kind=a,b`)."""
    return [v.strip() for key, value in params if key == name for v in value.split(",") if v.strip()]


def requested_filter(params: Iterable[tuple[str, str]]) -> FeedFilter:
    """kind / program / mailbox query parameters as a filter, or BadRequest."""
    params = list(params)
    kinds = [k.lower() for k in values(params, "kind")]
    programs = [p.upper() for p in values(params, "program")]
    unknown = sorted({k for k in kinds if k not in KINDS} | {p for p in programs if p not in PROGRAMS})
    if unknown:
        named = ", ".join(unknown)[:80]
        raise BadRequest(f"unknown kind or program {named}; kinds: {', '.join(KINDS)}; programs: {', '.join(PROGRAMS)}")
    mailboxes = values(params, "mailbox")
    if len(set(mailboxes)) > 1:
        raise BadRequest("give at most one mailbox")
    return normalized_filter(kinds, programs, mailboxes[0] if mailboxes else None)


FEED_HORIZON_MONTHS = 12  # a feed shows this many months back (and everything ahead) unless ?from= says


def feed_start(params: Iterable[tuple[str, str]], today: date,
               horizon_months: int | None = FEED_HORIZON_MONTHS) -> date | None:
    """The first day a feed shows: `?from=YYYY-MM-DD`, `?from=all` (None: everything), by
    default the first day of the month `horizon_months` before `today` (so the feed, and
    its ETag, changes once a month, not every day; None: everything). BadRequest for
    anything else."""
    given = values(list(params), "from")
    if len(set(given)) > 1:
        raise BadRequest("give at most one from")
    if not given:
        if horizon_months is None:
            return None
        months = today.year * 12 + today.month - 1 - horizon_months
        return date(months // 12, months % 12 + 1, 1)
    if given[0].strip().lower() == "all":
        return None
    try:
        return date.fromisoformat(given[0].strip())
    except ValueError:
        raise BadRequest("from: give a day as YYYY-MM-DD, or all") from None


def narrow(granted: FeedFilter, requested: FeedFilter) -> FeedFilter | None:
    """What a request may see: the feed's own filter narrowed by the request's, never
    widened. None when the two exclude each other (an empty calendar)."""
    kinds = _intersect(granted.kinds, requested.kinds)
    programs = _intersect(granted.programs, requested.programs)
    if kinds is None or programs is None:
        return None
    if granted.mailbox and requested.mailbox and granted.mailbox != requested.mailbox:
        return None
    return FeedFilter(kinds=kinds, programs=programs, mailbox=granted.mailbox or requested.mailbox)


def _intersect(granted: tuple[str, ...], requested: tuple[str, ...]) -> tuple[str, ...] | None:
    if not granted or not requested:
        return granted or requested
    both = tuple(sorted(set(granted) & set(requested)))
    return both or None


def feed_validators(generation: int, changed_at: datetime | None, selection: FeedFilter | None,
                    start: date | None = None) -> FeedValidators:
    """ETag and Last-Modified of a feed, from the timeline's generation, the selection and
    the first day shown alone: the calendar is a function of the stored timeline (which
    the generation names), of these and of this version's rendering, so nothing is
    rendered to tell whether it changed."""
    shape = json.dumps([__version__, None if selection is None else
                        [selection.kinds, selection.programs, selection.mailbox]]
                       + ([start.isoformat()] if start is not None else []))
    digest = hashlib.sha256(shape.encode()).hexdigest()[:16]
    last_modified = changed_at.astimezone(timezone.utc).replace(microsecond=0) if changed_at else None
    return FeedValidators(etag=f'"{generation}-{digest}"', last_modified=last_modified)


def not_modified(validators: FeedValidators, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present (weak comparison); else
    If-Modified-Since, when it parses."""
    if if_none_match is not None:
        wanted = validators.etag.removeprefix("W/")
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or wanted in tags
    if not if_modified_since or validators.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return validators.last_modified <= since


def loggable_target(path: str, query_string: str) -> str:
    """The request target with every secret replaced: the token of a feed path, the
    `token` parameter, any other parameter's value but the filters, and any path segment
    long enough to be a token."""
    if _FEED_PATH.match(path):  # also "//calendar/...", which the router does not match
        shown = "/calendar/" + REDACTED + (".ics" if path.endswith(".ics") else "")
    else:
        shown = SECRET_LIKE.sub(REDACTED, path)
    if not query_string:
        return shown
    pairs = parse_qsl(query_string, keep_blank_values=True)
    safe = [(k if k in LOGGABLE_PARAMS or k == "token" else REDACTED, v if k in LOGGABLE_PARAMS else REDACTED)
            for k, v in pairs]
    return f"{shown}?{urlencode(safe, safe='[]')}"


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_ANY_ADDRESS = frozenset({"", "0.0.0.0", "::"})


def allowed_hosts(base_url: str | None, listen_host: str, open_access: bool) -> frozenset[str] | None:
    """The Host header names the server answers, None for any. With --open (no token
    guards the page) a web page on another site could otherwise reach the server through
    a DNS name it points at this address (DNS rebinding): only the --base-url's host,
    the address it listens on and, on loopback, the loopback names are answered; an IP
    address given as the Host is always fine (rebinding needs a name)."""
    if not open_access and not base_url:
        return None
    from urllib.parse import urlsplit

    names = set(LOOPBACK_NAMES) if listen_host in LOOPBACK_NAMES or listen_host in _ANY_ADDRESS else set()
    if listen_host not in _ANY_ADDRESS:
        names.add(listen_host.strip("[]").lower())
    if base_url:
        host = urlsplit(base_url).hostname
        if host:
            names.add(host.lower())
    return frozenset(names)


def host_allowed(host_header: str | None, allowed: frozenset[str] | None) -> bool:
    """Whether a request's Host header (name[:port]) names this server (see allowed_hosts)."""
    if allowed is None:
        return True
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [IPv6]:port
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in allowed:
        return True
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def loggable_text(text: str) -> str:
    """Free text for the log (a User-Agent) with anything token-shaped replaced."""
    return TOKEN_LIKE.sub(REDACTED, text)


def without_param(params: Iterable[tuple[str, str]], name: str) -> str:
    """The query string of `params` less every `name` parameter ('' when none is left)."""
    kept = [(k, v) for k, v in params if k != name]
    return urlencode(kept)


__all__ = ["BadRequest", "FEED_HORIZON_MONTHS", "FeedValidators", "allowed_hosts", "feed_start", "feed_validators",
           "host_allowed", "loggable_target", "loggable_text", "narrow",
           "not_modified", "requested_filter", "values", "without_param"]
