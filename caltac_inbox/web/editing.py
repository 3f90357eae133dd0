"""Editors on the web page: signing in, sessions, and the actions (dismiss, undo, correct,
add, dismiss a lead, turn a lead into an entry).

Who is an editor: whoever opened a sign-in link of `caltac-inbox editor add` (a session
cookie names their number; a revoked editor's session ends at its next request), or,
behind a proxy that signs users in (`serve --trust-user-header H --editors a,b`), a user
the proxy names in header H who is on the --editors list. Everyone else is a viewer.

Every action is a POST form. It is carried out only when the request comes from an
editor's session, its Origin is this server, and it carries the session's CSRF token;
else 403 and nothing changes. Actions go through store.edits, the code of `caltac-inbox
dismiss|correct|add|undo`, with the editor's name as `by`, then the timeline is rebuilt
as after those commands (so `corrections`, `show`, the calendar's SEQUENCE and `changes`
see them). The access log names the editor by number (or the proxy's user name) and the
action, never a token.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from caltac_inbox.errors import InputError
from caltac_inbox.store.editors import active_editor, find_editor_by_token
from caltac_inbox.timeline.corrections import FIELDS, CorrectionError
from caltac_inbox.timeline.entry import Entry
from caltac_inbox.timeline.time import LOS_ANGELES
from caltac_inbox.web.session import (SESSION_SECONDS, EditorSession, SessionSigner, safe_return_path,
                                      same_origin)

if TYPE_CHECKING:
    from jinja2 import Environment

    from caltac_inbox.web.reader import TimelineReader

EDITOR_COOKIE = "caltac_editor"
EDITOR_REFERRER_POLICY = "same-origin"
MAX_FORM_BYTES = 32_768
MAX_FIELDS = 40
MAX_TEXT = 500
FORM_TYPE = "application/x-www-form-urlencoded"
FIELD_LABELS = {"start": "Start", "end": "End", "due": "Due", "at": "Removed on", "systems": "Systems",
                "what": "What"}
ADD_KINDS = tuple(FIELDS)
LEAD_DAYS = (30, 60, 90, 365)
UNDO_LABELS = {"done": "Reopen (undo done)", "dismiss": "Undo the dismissal", "add": "Remove this added entry",
               "confirm": "Undo the confirmation", "reject": "Undo the rejection"}
# fact field -> what the page calls it
FIELD_NAMES = {"start": "start", "end": "end", "due": "due date", "at": "removal date", "systems": "systems",
               "data": "what", "action": "what"}


@dataclass(frozen=True)
class SignedIn:
    """The editor of a request."""

    name: str  # what their corrections record as `by`
    number: int | None  # editors.id; None for a trusted proxy's user
    mailbox: str | None  # all they see and change, when set
    session: EditorSession
    csrf: str
    new_cookie: str | None = None  # a session just started for a proxy's user: to set on the response

    @property
    def log_id(self) -> int | str:
        return self.number if self.number is not None else self.name


@dataclass(frozen=True)
class EditorSettings:
    trusted_user_header: str | None = None
    editors: tuple[str, ...] = ()  # the proxy's user names that may edit


@dataclass
class Editors:
    """Who is signed in, and sessions ended by signing out (kept until they expire)."""

    settings: EditorSettings
    reader: TimelineReader
    signer: SessionSigner
    clock: Callable[[], float] = time.time
    _ended: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def signed_in(self, request: Request) -> SignedIn | None:
        """The request's editor, or None (a viewer). Reads the database for a link's session."""
        now = self.clock()
        session = self.signer.loads(request.cookies.get(EDITOR_COOKIE), now)
        if session is not None and self._is_ended(session.id):
            session = None
        user = self._proxy_user(request)
        if user is not None:
            if session is None or not session.belongs_to(None, user):
                fresh = self.signer.new_session(now, user=user)
                return SignedIn(user, None, None, fresh, self.signer.csrf_token(fresh), self.signer.dumps(fresh))
            return SignedIn(user, None, None, session, self.signer.csrf_token(session))
        if session is None or session.editor is None:
            return None
        with self.reader.snapshot() as source:
            editor = active_editor(source, session.editor)
        if editor is None:
            return None
        return SignedIn(editor.name, editor.id, editor.mailbox, session, self.signer.csrf_token(session))

    def sign_in(self, token: str) -> tuple[int, str] | None:
        """(editor number, cookie value) of a new session for a valid sign-in token."""
        with self.reader.snapshot() as source:
            editor = find_editor_by_token(source, token)
        if editor is None:
            return None
        return editor.id, self.signer.dumps(self.signer.new_session(self.clock(), editor=editor.id))

    def end(self, session: EditorSession) -> None:
        now = self.clock()
        with self._lock:
            for sid in [s for s, expires in self._ended.items() if expires <= now]:
                del self._ended[sid]
            self._ended[session.id] = session.expires

    def _is_ended(self, sid: str) -> bool:
        with self._lock:
            return sid in self._ended

    def _proxy_user(self, request: Request) -> str | None:
        header = self.settings.trusted_user_header
        if not header:
            return None
        user = request.headers.get(header, "").strip()
        return user if user and user in self.settings.editors else None


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(EDITOR_COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")


def for_editor(response: Response) -> Response:
    """An editor's page: its forms' POSTs must carry their Origin, which a browser replaces
    with "null" under Referrer-Policy no-referrer; same-origin still tells other sites nothing."""
    response.headers["Referrer-Policy"] = EDITOR_REFERRER_POLICY
    return response


def forget_session(response: Response, request: Request) -> Response:
    response.delete_cookie(EDITOR_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


def origins(request: Request, base_url: str | None) -> tuple[str, ...]:
    """The origins a form of ours is posted from: this request's, and the public URL's."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    if not base_url:
        return (own,)
    scheme, _, rest = base_url.partition("://")
    return own, f"{scheme}://{rest.split('/', 1)[0]}"


class FormError(ValueError):
    """A POST body that is not one of our forms (status and one-line text)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form (the last of a repeated name), at most MAX_FORM_BYTES."""
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != FORM_TYPE:
        raise FormError(415, f"send the form as {FORM_TYPE}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError(413, "the form is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "the form could not be read") from None
    return {k: v for k, v in pairs}


def text_field(form: Mapping[str, str], name: str) -> str | None:
    """A field's text, one line and stripped; None when empty."""
    value = " ".join(form.get(name, "").split())
    return value[:MAX_TEXT] or None


def web_message(exc: Exception) -> str:
    """A command line error for the page: option names without their dashes."""
    return str(exc).replace("--", "")


# ----------------------------------------------------------------------------- forms on the page


@dataclass(frozen=True)
class FieldView:
    option: str  # the form field's name, as the command line option
    label: str
    current: str  # what the entry says now ('' when nothing)


def field_text(value: Any) -> str:
    """A stored value as the forms take it: "YYYY-MM-DD HH:MM" (Los Angeles), a day, a list."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(LOS_ANGELES)
        return moment.strftime("%Y-%m-%d %H:%M")
    return str(value)


def correct_fields(kind: str, fact: Mapping[str, Any]) -> tuple[FieldView, ...]:
    """The fields `correct` takes for an entry of `kind`, with the entry's values now."""
    return tuple(FieldView(option, FIELD_LABELS[option], field_text(fact.get(name)))
                 for option, name in FIELDS.get(kind, {}).items())


@dataclass(frozen=True)
class UndoButton:
    correction: int
    label: str


def undo_buttons(entry: Entry) -> tuple[UndoButton, ...]:
    """One button per correction still in force on the entry."""
    out = []
    for mark in entry.corrections:
        if mark.get("state") != "active" or not isinstance(mark.get("correction"), int):
            continue
        action = mark.get("action")
        if action == "correct":
            label = "Undo the correction of " + ", ".join(FIELD_NAMES.get(f, f) for f in mark.get("fields") or [])
        else:
            label = UNDO_LABELS.get(str(action), "Undo")
        out.append(UndoButton(mark["correction"], label))
    return tuple(out)


def back_with(path: str, **params: str | int) -> str:
    """`path` with `params` added to its query (replacing any of the same name)."""
    base, _, query = path.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in params]
    return base + "?" + urlencode([*kept, *((k, str(v)) for k, v in params.items())])


def today() -> date:
    return datetime.now(LOS_ANGELES).date()


def forbidden(text: str) -> Response:
    return PlainTextResponse(f"Forbidden: {text}", status_code=403, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class Outcome:
    """What an action did: the correction (as `corrections --json` shows it) and where to go."""

    correction: dict[str, Any]
    anchor: str = ""
    added: str | None = None  # the uid of an entry the action added


def check_post(editors: Editors, signed: SignedIn | None, request: Request, form: Mapping[str, str],
               base_url: str | None) -> str | None:
    """Why this POST may not act (None: it may)."""
    if signed is None:
        return "only a signed-in editor can change the timeline"
    if signed.new_cookie is not None:
        return "no session yet; open the page first"
    if not same_origin(request.headers.get("origin"), origins(request, base_url)):
        return "the form was not sent from this site"
    if not editors.signer.csrf_ok(signed.session, form.get("csrf")):
        return "the form's security token is missing or out of date; reload the page and try again"
    return None


def render_problem(env: Environment, template: str, status: int, **context: Any) -> Response:
    from starlette.responses import HTMLResponse

    body = env.get_template(template).render(**context)
    return for_editor(HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"}))


ActionError = (InputError, CorrectionError)


__all__ = ["ADD_KINDS", "ActionError", "EDITOR_COOKIE", "EditorSettings", "Editors", "FieldView", "FormError",
           "Outcome", "SignedIn", "back_with", "check_post", "correct_fields", "field_text", "for_editor", "forbidden",
           "forget_session", "origins", "read_form", "render_problem", "safe_return_path",
           "set_session_cookie", "text_field", "today", "undo_buttons", "web_message", "run_in_threadpool"]
