"""Whether a message's sender is authenticated, from the Authentication-Results header
(RFC 8601) written by the server that received it for us, and by no one else.

Anyone can write an Authentication-Results header into a message they send, also one
with our server's name, placed right below our server's real one. Only the header(s)
carrying the authserv-id of our own receiving server count, and of those only the
topmost run (a receiving server prepends its own above whatever the message brought;
the run ends at the first other header). Within the run:
- Gmail and Microsoft 365 write exactly one header per message: a second one of theirs
  is the sender's, and it and everything below it are ignored;
- a server with one header per filter (OpenDKIM, OpenDMARC) reports each method once:
  a method is read from the topmost header that reports it, never from one below;
- `dmarc=fail` says the From domain was not authenticated, whatever else passes.
A pass is DKIM with a signing domain (header.d, or header.i) aligned with the From
domain, or DMARC with header.from aligned with it; `dkim=pass` without a domain is not
a pass.

Pure functions over header values; the trusted authserv-ids come from the configuration.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

GMAIL = "mx.google.com"
# Exchange Online (Microsoft 365, Outlook.com) writes its Authentication-Results with no
# authserv-id at all ("spf=pass (...) smtp.mailfrom=...; dkim=pass ..."): this name
# trusts the topmost such header.
MICROSOFT_365 = "microsoft365"
HOST_DEFAULTS = {
    "imap.gmail.com": (GMAIL,),
    "imap.googlemail.com": (GMAIL,),
    "outlook.office365.com": (MICROSOFT_365,),
    "outlook.office.com": (MICROSOFT_365,),
    "imap-mail.outlook.com": (MICROSOFT_365,),
}
HEADER = "authentication-results"
# servers that write exactly one Authentication-Results header per message they receive
ONE_HEADER_SERVERS = frozenset((GMAIL, MICROSOFT_365))

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"\s*([a-z0-9_-]+)\s*=\s*([a-z]+)", re.I)
_PROPERTY = re.compile(r"\b(header|smtp|policy|body)\.([a-z0-9_-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.I)


def default_authserv_ids(host: str) -> tuple[str, ...]:
    """The receiving server's authserv-id(s) for a well-known IMAP host, else none."""
    return HOST_DEFAULTS.get(host.strip().lower().rstrip("."), ())


@dataclass(frozen=True)
class Result:
    method: str  # "dkim", "dmarc", "spf", ...
    result: str  # "pass", "fail", ...
    properties: tuple[tuple[str, str], ...]  # ("header.d", "ets.org"), ...

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True)
class AuthenticationResults:
    """One header: who wrote it (None: it names no authserv-id) and its results."""

    authserv_id: str | None
    results: tuple[Result, ...]


def parse_header(value: str) -> AuthenticationResults:
    text = " ".join(value.split())
    for _ in range(8):  # nested comments, innermost first
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    segments = text.split(";")
    first = segments[0].strip()
    authserv_id = None
    if "=" not in first:
        authserv_id = first.split()[0].lower() if first else None
        segments = segments[1:]
    results = []
    for segment in segments:
        m = _RESULT.match(segment)
        if m is None:
            continue
        properties = tuple((f"{p.lower()}.{name.lower()}", v.strip('"').lower())
                           for p, name, v in _PROPERTY.findall(segment[m.end():]))
        results.append(Result(m.group(1).lower(), m.group(2).lower(), properties))
    return AuthenticationResults(authserv_id, tuple(results))


def _writer(header: AuthenticationResults) -> str:
    return header.authserv_id if header.authserv_id is not None else MICROSOFT_365


def trusted_headers(fields: Iterable[tuple[str, str]], trusted: Sequence[str]) -> list[AuthenticationResults]:
    """The topmost run of consecutive Authentication-Results fields written by a trusted
    server, from a message's header fields (name, value) in their order; for a server
    that writes one header per message (ONE_HEADER_SERVERS), only its first."""
    wanted = tuple(t.strip().lower() for t in trusted)
    run: list[AuthenticationResults] = []
    for name, value in fields:
        if name.strip().lower() != HEADER:
            if run:
                break
            continue
        header = parse_header(value)
        writer = _writer(header)
        if writer not in wanted or (writer in ONE_HEADER_SERVERS and any(_writer(h) == writer for h in run)):
            if run:
                break
            continue
        run.append(header)
    return run


def counted_results(headers: Sequence[AuthenticationResults]) -> list[Result]:
    """The results of a run of headers, each method from the topmost header reporting it:
    a header below may add a method, never overrule one reported above it."""
    seen: set[str] = set()
    out: list[Result] = []
    for header in headers:
        reported = {r.method for r in header.results}
        out.extend(r for r in header.results if r.method not in seen)
        seen |= reported
    return out


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: one domain is the other or a parent of it (never a bare TLD)."""
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    if "." not in domain or "." not in from_domain:
        return False
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


def _passes(result: Result, from_domain: str) -> bool:
    if result.result != "pass":
        return False
    if result.method == "dmarc":
        domain = result.get("header.from")
    elif result.method == "dkim":
        domain = result.get("header.d")
        if domain is None and "@" in (result.get("header.i") or ""):
            domain = result.get("header.i").rsplit("@", 1)[1]
    else:
        return False
    return domain is not None and aligned(domain, from_domain)


def sender_matches(address: str | None, senders: Sequence[str]) -> bool:
    """`address` is one of `senders`: an exact address, or a domain incl. its subdomains."""
    if not address or "@" not in address:
        return False
    address = address.strip().strip("<>").lower()
    domain = address.rsplit("@", 1)[1]
    for wanted in senders:
        wanted = wanted.lower().lstrip("@")
        if "@" in wanted:
            if address == wanted:
                return True
        elif domain == wanted or domain.endswith("." + wanted):
            return True
    return False


def forwarder_trusted(forwarded_by: str | None, outer_authenticated: bool | None,
                      trusted_forwarders: Sequence[str]) -> bool | None:
    """The verdict of a forwarded notice: the outer message's, when a trusted internal
    sender forwarded it; else False (a forward by anyone else is never verified; the
    original's own signature cannot be checked once forwarded) and None stays None."""
    if outer_authenticated is True and not sender_matches(forwarded_by, trusted_forwarders):
        return False
    return outer_authenticated


def authenticated(fields: Iterable[tuple[str, str]], sender: str | None, trusted: Sequence[str]) -> bool | None:
    """True when our receiving server reports an aligned DKIM or DMARC pass for the From
    address `sender`; False when it reports none; None when no trusted server is named
    or no header of one is present (then nothing can be said)."""
    if not trusted:
        return None
    headers = trusted_headers(fields, trusted)
    if not headers:
        return None
    from_domain = sender.rsplit("@", 1)[1].strip(" .>") if sender and "@" in sender else ""
    results = counted_results(headers)
    if any(r.method == "dmarc" and r.result == "fail" for r in results):
        return False
    return bool(from_domain) and any(_passes(r, from_domain) for r in results)


__all__ = ["GMAIL", "MICROSOFT_365", "ONE_HEADER_SERVERS", "AuthenticationResults", "aligned", "authenticated",
           "counted_results", "default_authserv_ids", "forwarder_trusted", "parse_header", "sender_matches",
           "trusted_headers"]
