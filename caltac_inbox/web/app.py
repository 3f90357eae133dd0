"""The read-only web server: calendar feeds, the web timeline and a health check.

    GET /calendar/<token>.ics   the calendar of `export-ics` for that feed (kind, program,
                                mailbox narrow it), with ETag / Last-Modified and 304s
    GET /?token=<token>         the timeline page; the token moves into a cookie
    GET /notice/<id>            a source notice as text (same token as the page)
    GET /healthz                database reachable and at the schema head, each mailbox's
                                last successful poll and whether it is stale (JSON)
    GET /static/...             CSS, the page's scripts, the icon
    /sign-in, /review, /edit/*  an editor's session and actions (web/actions.py)

`create_app(settings)` builds the ASGI application (Starlette under AccessLog); `serve`
in cli/feeds.py runs it on uvicorn. Handlers are plain functions (Starlette runs them in
its thread pool, so a slow query never blocks another request); what they compute is
in web/http.py and web/view.py.
"""
from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from caltac_inbox.config import DEFAULT_MAX_AGE
from caltac_inbox.model import KINDS, PROGRAMS
from caltac_inbox.errors import DatabaseError
from caltac_inbox.export.ics import IcsOptions, calendar_chunks, calendar_stream
from caltac_inbox.export.notice import readable_notice
from caltac_inbox.freshness import MailboxFreshness, assess, checked_line, records_from_rows, warning_lines
from caltac_inbox.display import printable
from caltac_inbox.timeline.time import LOS_ANGELES, instant
from caltac_inbox.store.feeds import FeedFilter, find_feed
from caltac_inbox.store.read import mailbox_polls, source_notice, timeline_entries, timeline_version
from caltac_inbox.web.access import LOG_NOTES, AccessLog, HostGuard
from caltac_inbox.web.actions import EditorRoutes, saved_change
from caltac_inbox.web.editing import (ADD_KINDS, EditorSettings, Editors, SignedIn, correct_fields, for_editor,
                                      set_session_cookie, undo_buttons)
from caltac_inbox.web.http import (FEED_HORIZON_MONTHS, BadRequest, FeedValidators, feed_start, feed_validators,
                                   narrow, not_modified, requested_filter, without_param)
from caltac_inbox.web.reader import TimelineReader
from caltac_inbox.web.session import SessionSigner, session_key
from caltac_inbox.web.view import build_weeks

COOKIE = "caltac_token"
COOKIE_MAX_AGE = 30 * 24 * 3600
CALENDAR_TYPE = "text/calendar; charset=utf-8"
CALENDAR_FILENAME = "caltac-inbox.ics"
DEFAULT_DAYS = 60
DAY_CHOICES = (30, 60, 90, 180, 365)
CACHED_CALENDARS = 8  # rendered calendars kept, by ETag (a feed per district, a few filters each)


@dataclass(frozen=True)
class ServeSettings:
    db_url: str | None = None
    open_access: bool = False  # the page without a token (a trusted LAN); feeds always need one
    base_url: str | None = None  # of subscription links; default: the URL the request came to
    # freshness (caltac_inbox.freshness): the configured mailboxes and how old their last poll may be
    mailboxes: tuple[str, ...] = ()
    max_age: timedelta = DEFAULT_MAX_AGE
    allowed_hosts: frozenset[str] | None = None  # Host header names answered (web.http.allowed_hosts); None: any
    trusted_user_header: str | None = None  # set by a proxy that signs users in (X-Forwarded-User)
    editors: tuple[str, ...] = ()  # that header's users who may act on the page
    session_key: str | None = None  # signs editor sessions (CALTAC_INBOX_SESSION_KEY); default: random
    # how far back a feed goes unless ?from= says (None: all of it); everything ahead is in it
    feed_horizon_months: int | None = FEED_HORIZON_MONTHS


class SharedRender:
    """One calendar being written (or written): a thread of its own writes it, from the
    read query to the last piece, at its own pace (so no slow client keeps the read
    transaction open), and keeps the pieces; every request for it streams them as they
    come. So any number of clients after a change cost one render and one copy of the
    calendar's bytes (never its entries: see export.ics.calendar_stream)."""

    def __init__(self, validators: FeedValidators, pieces: Iterator[bytes]) -> None:
        self.validators = validators
        self._pieces: list[bytes] = []
        self._error: BaseException | None = None
        self._done = False
        self._changed = threading.Condition()
        self.size = 0
        threading.Thread(target=self._write, args=(pieces,), name="caltac-feed-render", daemon=True).start()

    @property
    def done(self) -> bool:
        with self._changed:
            return self._done and self._error is None

    def _write(self, pieces: Iterator[bytes]) -> None:
        try:
            for piece in pieces:
                with self._changed:
                    self._pieces.append(piece)
                    self.size += len(piece)
                    self._changed.notify_all()
        except Exception as exc:  # noqa: BLE001 - raised to every client reading the calendar instead
            with self._changed:
                self._error = exc
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def _piece(self, index: int) -> bytes | None:
        with self._changed:
            self._changed.wait_for(lambda: index < len(self._pieces) or self._done)
            if index < len(self._pieces):
                return self._pieces[index]
            if self._error is not None:
                raise self._error
            return None

    def stream(self) -> Iterator[bytes]:
        index = 0
        while (piece := self._piece(index)) is not None:
            yield piece
            index += 1

    def body(self) -> bytes:
        return b"".join(self.stream())


class CalendarCache:
    """Rendered calendars by ETag (the ETag names the content, so an entry never goes
    stale), each rendered once however many clients ask for it at the same time, and
    streamed to them as it is written."""

    def __init__(self, size: int = CACHED_CALENDARS) -> None:
        self._size = size
        self._items: OrderedDict[str, SharedRender] = OrderedDict()
        self._lock = threading.Lock()
        self._rendering: dict[str, threading.Lock] = {}

    def get(self, etag: str) -> SharedRender | None:
        with self._lock:
            found = self._items.get(etag)
            if found is not None:
                self._items.move_to_end(etag)
            return found

    def rendered(self, etag: str, render: Callable[[], tuple[FeedValidators, Iterator[bytes]]]) -> SharedRender:
        """The calendar cached under `etag`, else the one `render()` starts (with its own
        validators: the timeline may have moved on since `etag` was computed)."""
        found = self.get(etag)
        if found is not None:
            return found
        with self._lock:
            turn = self._rendering.setdefault(etag, threading.Lock())
        try:
            with turn:  # a second request for this calendar waits for the first one's entries
                found = self.get(etag)
                if found is None:
                    found = SharedRender(*render())
                    self._put(found)
                return found
        finally:
            with self._lock:
                self._rendering.pop(etag, None)

    def _put(self, shared: SharedRender) -> None:
        with self._lock:
            self._items[shared.validators.etag] = shared
            self._items.move_to_end(shared.validators.etag)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def templates() -> Environment:
    """Autoescaped everywhere, and every printed value loses its control characters first
    (but a macro's output, already escaped markup, is printed as it is)."""
    return Environment(loader=PackageLoader("caltac_inbox.web", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       finalize=lambda value: printable(value) if isinstance(value, str) and not isinstance(
                           value, Markup) else value)


def not_found(request: Request | None = None, exc: Exception | None = None) -> Response:
    """The one 404: a missing path, an unknown token and a revoked token look the same."""
    return PlainTextResponse("Not Found", status_code=404)


def create_app(settings: ServeSettings, reader: TimelineReader | None = None) -> AccessLog:
    """The application. `reader` defaults to one opened on settings.db_url (it raises a
    DatabaseError when the database is missing or not at the schema head)."""
    reader = reader or TimelineReader(settings.db_url)
    env = templates()
    cache = CalendarCache()
    editors = Editors(EditorSettings(settings.trusted_user_header, settings.editors), reader,
                      SessionSigner(session_key(settings.session_key)))

    def note(request: Request, **fields: object) -> None:
        request.scope.setdefault(LOG_NOTES, {}).update(fields)

    def calendar(request: Request) -> Response:
        name = request.path_params["name"]
        if not name.endswith(".ics"):
            return not_found()
        try:
            requested = requested_filter(request.query_params.multi_items())
            start = feed_start(request.query_params.multi_items(), datetime.now(LOS_ANGELES).date(),
                               settings.feed_horizon_months)
        except BadRequest as exc:
            return PlainTextResponse(str(exc), status_code=400)
        with reader.snapshot() as source:
            feed = find_feed(source, name.removesuffix(".ics"))
            if feed is None:
                return not_found()
            note(request, feed=feed.id)
            selection = narrow(feed.filter, requested)
            validators = feed_validators(*timeline_version(source), selection, start)
        if not_modified(validators, request.headers.get("if-none-match"), request.headers.get("if-modified-since")):
            return Response(status_code=304, headers=feed_headers(validators))
        shared = cache.rendered(validators.etag, lambda: render_feed(reader, selection, start))
        if shared.done:
            return Response(shared.body(), media_type=CALENDAR_TYPE, headers=feed_headers(shared.validators))
        return StreamingResponse(shared.stream(), media_type=CALENDAR_TYPE, headers=feed_headers(shared.validators))

    def page(request: Request) -> Response:
        params = request.query_params.multi_items()
        if "token" in request.query_params:
            return take_token(request, params)
        signed = editors.signed_in(request)
        token = request.cookies.get(COOKIE)
        if not token and not settings.open_access and signed is None:
            return html(env, "locked.html", status=401)
        try:
            form = PageForm.parse(params)
        except BadRequest as exc:
            return html(env, "locked.html", status=400, problem=str(exc))
        with reader.snapshot() as source:
            feed = find_feed(source, token) if token else None
            if token and feed is None and signed is None:
                return forget_token(not_found())
            granted = feed.filter if feed else FeedFilter()
            if signed is not None:  # an editor sees what they may change (all, or their mailbox)
                granted = FeedFilter(mailbox=signed.mailbox)
            selection = narrow(granted, form.filter)
            entries = [] if selection is None else timeline_entries(
                source, form.as_of, form.last_day, selection.kinds, selection.programs, False, selection.mailbox,
                include_dismissed=signed is not None)
            freshness = mailbox_freshness(source, settings)
        if feed is not None:
            note(request, feed=feed.id)
        if signed is not None:
            note(request, editor=signed.log_id)
        base = (settings.base_url or f"{request.url.scheme}://{request.url.netloc}").rstrip("/")
        response = html(env, "timeline.html", weeks=build_weeks(entries, *form.range), form=form, feed=feed,
                        kinds=feed.filter.kinds if feed and feed.filter.kinds and signed is None else KINDS,
                        programs=PROGRAMS, day_choices=DAY_CHOICES,
                        subscription=subscription(base, token, form.filter) if token and feed else None,
                        checked=checked_line(freshness), stale=warning_lines(freshness), tab="timeline",
                        **editor_context(request, signed, entries))
        if signed is not None:
            for_editor(response)
            if signed.new_cookie:
                set_session_cookie(response, request, signed.new_cookie)
        return response

    def editor_context(request: Request, signed: SignedIn | None, entries: list[Any]) -> dict[str, Any]:
        """What the page's forms need: nothing for a viewer."""
        if signed is None:
            return {"editor": None}
        return {"editor": signed, "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                "edit_fields": {e.uid: correct_fields(e.kind, e.fact.to_json()) for e in entries},
                "undo_buttons": {e.uid: undo_buttons(e) for e in entries}, "add_kinds": ADD_KINDS,
                "saved": saved_change(reader, request, signed)}

    def notice(request: Request) -> Response:
        """One source notice as text, under the page's token or an editor's session: only a
        notice some entry rests on, and of the feed's (or the editor's) mailbox when it has one."""
        token = request.cookies.get(COOKIE)
        signed = editors.signed_in(request)
        if not token and not settings.open_access and signed is None:
            return html(env, "locked.html", status=401)
        wanted = request.path_params["message"]
        if not wanted.isdigit() or len(wanted) > 18:
            return not_found()
        with reader.snapshot() as source:
            feed = find_feed(source, token) if token else None
            if token and feed is None and signed is None:
                return forget_token(not_found())
            found = source_notice(source, int(wanted))
        limit = signed.mailbox if signed is not None else feed.filter.mailbox if feed is not None else None
        if found is None or (limit and found["mailbox"] != limit):
            return not_found()
        if feed is not None:
            note(request, feed=feed.id)
        readable = readable_notice(found["raw"], f"message {found['id']}")
        subject = dict(readable.headers).get("Subject") or "Notice"
        response = html(env, "notice.html", notice=readable, notice_subject=subject, editor=signed)
        return for_editor(response) if signed is not None else response

    def take_token(request: Request, params: list[tuple[str, str]]) -> Response:
        """A valid ?token= goes into a cookie and out of the URL: off the address bar, the
        history and any Referer."""
        given = request.query_params["token"]
        with reader.snapshot() as source:
            feed = find_feed(source, given)
        if feed is None:
            return forget_token(not_found())
        note(request, feed=feed.id)
        rest = without_param(params, "token")
        moved = RedirectResponse("/" + (f"?{rest}" if rest else ""), status_code=303)
        moved.set_cookie(COOKIE, given, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax",
                         secure=request.url.scheme == "https", path="/")
        return moved

    def healthz(request: Request) -> Response:
        health = reader.health()
        report = health.to_json()
        if health.ok:  # each mailbox's last successful poll: the data's health, apart from the server's
            try:
                with reader.snapshot() as source:
                    freshness = mailbox_freshness(source, settings)
                report["mailboxes"] = [state.to_json() for state in freshness]
                report["stale"] = any(state.stale for state in freshness)
            except DatabaseError as exc:
                note(request, error=str(exc))
        return Response(json.dumps(report), status_code=200 if health.ok else 503,
                        media_type="application/json", headers={"Cache-Control": "no-store"})

    editor_routes = EditorRoutes(env, reader, editors, settings.base_url, note, not_found)
    app = Starlette(
        routes=[
            *editor_routes.routes(),
            Route("/", page, methods=["GET"]),
            Route("/calendar/{name}", calendar, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/notice/{message}", notice, methods=["GET"]),
            Mount("/static", StaticFiles(packages=[("caltac_inbox.web", "static")]), name="static"),
        ],
        exception_handlers={404: not_found, HTTPException: http_error, DatabaseError: unavailable},
    )
    return AccessLog(HostGuard(app, settings.allowed_hosts))


def mailbox_freshness(source: object, settings: ServeSettings) -> list[MailboxFreshness]:
    return assess(records_from_rows(mailbox_polls(source)), settings.mailboxes,  # type: ignore[arg-type]
                  datetime.now(LOS_ANGELES), settings.max_age)


def unavailable(request: Request, exc: Exception) -> Response:
    """The database went away or moved on to another schema: 503, and the one-line reason
    (which names the database, never a token) in the access log."""
    request.scope.setdefault(LOG_NOTES, {})["error"] = str(exc)
    return PlainTextResponse("Service Unavailable", status_code=503, headers={"Retry-After": "60"})


def http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    if status == 404:
        return not_found()
    return PlainTextResponse(str(getattr(exc, "detail", "")) or "Error", status_code=status,
                             headers=getattr(exc, "headers", None))


def render_feed(reader: TimelineReader, selection: FeedFilter | None,
                start: date | None = None) -> tuple[FeedValidators, Iterator[bytes]]:
    """The calendar of `export-ics` with the same filters (`--kind task` includes the
    tasks) from the day `start` on, and its validators, read from one snapshot, which
    stays open while the pieces are written (each event as it is read: export.ics.calendar_stream)
    and closes after the last one (SharedRender writes them all, whatever the clients do)."""
    snapshot = contextlib.ExitStack()
    with snapshot:
        source = snapshot.enter_context(reader.snapshot())
        validators = feed_validators(*timeline_version(source), selection, start)
        opened = snapshot.pop_all()
    options = IcsOptions(tasks=selection is not None and "task" in selection.kinds)

    def pieces() -> Iterator[bytes]:
        with opened:
            if selection is None:
                yield from calendar_chunks((), options)
                return
            yield from calendar_stream(source, options, kinds=selection.kinds, programs=selection.programs,
                                       mailbox=selection.mailbox, from_=start)

    return validators, pieces()


def feed_headers(validators: FeedValidators) -> dict[str, str]:
    return {**validators.headers(), "Content-Disposition": f'attachment; filename="{CALENDAR_FILENAME}"'}


def forget_token(response: Response) -> Response:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def html(env: Environment, template: str, status: int = 200, **context: object) -> HTMLResponse:
    body = env.get_template(template).render(**context)
    # the page may carry the token (the subscription link): no cache keeps it
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class Subscription:
    url: str
    webcal: str


def subscription(base: str, token: str, page_filter: FeedFilter) -> Subscription:
    query = urlencode([*(("kind", k) for k in page_filter.kinds), *(("program", p) for p in page_filter.programs)])
    url = f"{base}/calendar/{token}.ics" + (f"?{query}" if query else "")
    return Subscription(url=url, webcal="webcal://" + url.split("://", 1)[-1])


@dataclass(frozen=True)
class PageForm:
    """The page's query parameters: from which day, how many days, kinds, programs."""

    as_of: date
    days: int
    filter: FeedFilter

    @property
    def last_day(self) -> date:
        return self.as_of + timedelta(days=self.days)

    @property
    def range(self) -> tuple[datetime, datetime]:
        """[00:00 on as_of, 00:00 after the last day) in Los Angeles, as `upcoming` takes it."""
        return instant(self.as_of), instant(self.last_day + timedelta(days=1))

    @classmethod
    def parse(cls, params: list[tuple[str, str]]) -> "PageForm":
        given = dict(params)
        as_of_text, days_text = given.get("as_of", "").strip(), given.get("days", "").strip()
        try:
            as_of = date.fromisoformat(as_of_text) if as_of_text else datetime.now(LOS_ANGELES).date()
        except ValueError:
            raise BadRequest("as_of must be a day, YYYY-MM-DD") from None
        if days_text and not (days_text.isdigit() and 1 <= int(days_text) <= 366):
            raise BadRequest("days must be a number from 1 to 366")
        requested = requested_filter([(k, v) for k, v in params if k in ("kind", "program")])
        return cls(as_of=as_of, days=int(days_text) if days_text else DEFAULT_DAYS, filter=requested)


__all__ = ["COOKIE", "ServeSettings", "create_app", "not_found"]
