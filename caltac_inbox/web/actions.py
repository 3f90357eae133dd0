"""The editor's routes: sign in and out, the Review tab, and one POST route per action.

    GET  /sign-in?token=T   a sign-in link: starts a session, then 303 (the token leaves the
                            address bar, the history and any Referer at once)
    GET  /signed-in         a page that moves on to the timeline (see `signed_in`)
    POST /sign-out          ends the session
    GET  /review            leads as `caltac-inbox review` lists them, with their forms
    POST /edit/ACTION       done, dismiss, undo, correct, add, dismiss-lead, confirm, reject

What each action does is in store.edits (shared with the command line); who may act is
decided in web/editing.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Callable, Mapping

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from caltac_inbox.model import PROGRAMS
from caltac_inbox.store import edits
from caltac_inbox.timeline.corrections import CorrectionError
from caltac_inbox.web.editing import (ADD_KINDS, LEAD_DAYS, ActionError, Editors, FormError, Outcome, SignedIn,
                                      back_with, check_post, for_editor, forbidden, forget_session, read_form,
                                      render_problem, run_in_threadpool, safe_return_path, set_session_cookie,
                                      text_field, today, web_message)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jinja2 import Environment

    from caltac_inbox.web.reader import TimelineReader

WHEN_OPTIONS = ("start", "end", "due", "at", "systems", "what")
# The fields each action's form has, in order: shown again (escaped) when it is not saved.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "dismiss": ("entry", "reason"),
    "done": ("entry", "note"),
    "undo": ("correction",),
    "correct": ("entry", *WHEN_OPTIONS, "reason"),
    "add": ("lead", "kind", *WHEN_OPTIONS, "program", "reason"),
    "dismiss-lead": ("lead", "reason"),
    "confirm": ("entry", "reason"),
    "reject": ("entry", "reason"),
}
HIDDEN_FIELDS = frozenset({"entry", "correction", "lead"})
ACTION_TITLES = {"dismiss": "Dismiss", "done": "Mark done", "undo": "Undo", "correct": "Correct", "add": "Add an entry",
                 "dismiss-lead": "Dismiss the lead", "confirm": "Confirm the change", "reject": "Reject the change"}

Action = Callable[["Session", SignedIn, Mapping[str, str]], Outcome]


def _given(form: Mapping[str, str]) -> edits.Given:
    return edits.read_given({o: text_field(form, o) for o in WHEN_OPTIONS}, today())


def dismiss(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    data, what = edits.dismiss(session, form.get("entry", ""), signed.name, text_field(form, "reason"),
                               signed.mailbox)
    return Outcome(data, "#entry-" + what.removeprefix("entry ") if what.startswith("entry ") else "")


def done(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    """Mark the entry done (`caltac-inbox done`); undoing the mark reopens it."""
    from caltac_inbox.store import corrections as stored

    item = edits.find_entry(session, form.get("entry", ""), signed.mailbox)
    row, _ = stored.mark_done(session, str(item["id"]), made_by=signed.name, note=text_field(form, "note"))
    return Outcome(stored.correction_json(row), f"#entry-{item['id']}")


def dismiss_lead(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    data, _ = edits.dismiss_lead(session, form.get("lead", ""), signed.name, text_field(form, "reason"),
                                 signed.mailbox)
    return Outcome(data)


def undo(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    return Outcome(edits.undo(session, form.get("correction", ""), signed.mailbox))


def correct(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    given = _given(form)
    if given.empty():
        raise CorrectionError("say what to correct: a new start, end, due date, removal date, systems or what")
    data, entry_id = edits.correct(session, form.get("entry", ""), given, signed.name, text_field(form, "reason"),
                                   signed.mailbox)
    return Outcome(data, f"#entry-{entry_id}")


def add(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    kind = form.get("kind", "")
    if kind not in ADD_KINDS:
        raise CorrectionError("choose the kind of entry to add: " + ", ".join(ADD_KINDS))
    program = form.get("program", "")
    data, _ = edits.add(session, kind, _given(form), signed.name, programs=[program] if program in PROGRAMS else [],
                        from_lead=text_field(form, "lead"), reason=text_field(form, "reason"), within=signed.mailbox)
    return Outcome(data, added=data["target"])


def confirm(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    return _decide(session, signed, form, "confirm")


def reject(session: Session, signed: SignedIn, form: Mapping[str, str]) -> Outcome:
    return _decide(session, signed, form, "reject")


def _decide(session: Session, signed: SignedIn, form: Mapping[str, str], action: str) -> Outcome:
    data, entry_id = edits.decide(session, form.get("entry", ""), action, signed.name, text_field(form, "reason"),
                                  signed.mailbox)
    return Outcome(data, f"#entry-{entry_id}")


ACTIONS: dict[str, Action] = {"dismiss": dismiss, "done": done, "undo": undo, "correct": correct, "add": add,
                              "dismiss-lead": dismiss_lead, "confirm": confirm, "reject": reject}


@dataclass(frozen=True)
class EditorRoutes:
    env: Environment
    reader: TimelineReader
    editors: Editors
    base_url: str | None
    note: Callable[..., None]
    not_found: Callable[[], Response]

    def routes(self) -> list[Route]:
        return [
            Route("/sign-in", self.sign_in, methods=["GET"]),
            Route("/signed-in", self.signed_in, methods=["GET"]),
            Route("/sign-out", self.sign_out, methods=["POST"]),
            Route("/review", self.review, methods=["GET"]),
            Route("/edit/{action}", self.act, methods=["POST"]),
        ]

    def sign_in(self, request: Request) -> Response:
        started = self.editors.sign_in(request.query_params.get("token", ""))
        if started is None:
            return forget_session(self.not_found(), request)
        number, cookie = started
        self.note(request, editor=number, action="sign-in")
        moved = RedirectResponse("/signed-in", status_code=303, headers={"Cache-Control": "no-store"})
        set_session_cookie(moved, request, cookie)
        return moved

    def signed_in(self, request: Request) -> Response:
        """A page of its own, not the timeline, because the session's cookie is SameSite=Strict:
        a browser does not send it along a redirect chain that began on another site (a link in
        a mail), but does on this page's own move to the timeline."""
        return html(self.env, "signed_in.html", signed_out=False)

    async def sign_out(self, request: Request) -> Response:
        refused, signed, _ = await self._checked(request)
        if refused is not None:
            return refused
        assert signed is not None
        self.editors.end(signed.session)
        self.note(request, editor=signed.log_id, action="sign-out")
        return forget_session(html(self.env, "signed_in.html", signed_out=True), request)

    def review(self, request: Request) -> Response:
        signed = self.editors.signed_in(request)
        if signed is None:
            return forbidden("only a signed-in editor can review leads")
        days_text = request.query_params.get("days", "")
        days = int(days_text) if days_text.isdigit() and int(days_text) in LEAD_DAYS else LEAD_DAYS[0]
        as_of = _day(request.query_params.get("as_of", "")) or today()
        from caltac_inbox.store import corrections as stored

        with self.reader.store.session(readonly=True) as session:
            leads = stored.review(session, as_of=as_of, days=days, mailbox=signed.mailbox)
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        saved = saved_change(self.reader, request, signed)
        response = for_editor(html(self.env, "review.html", editor=signed, leads=leads, days=days,
                        day_choices=LEAD_DAYS, as_of=as_of, since=as_of - timedelta(days=days), back=back,
                        kinds=ADD_KINDS, saved=saved, tab="review"))
        if signed.new_cookie:
            set_session_cookie(response, request, signed.new_cookie)
        return response

    async def act(self, request: Request) -> Response:
        name = request.path_params["action"]
        action = ACTIONS.get(name)
        if action is None:
            return self.not_found()
        refused, signed, form = await self._checked(request)
        if refused is not None:
            return refused
        assert signed is not None
        self.note(request, editor=signed.log_id, action=name)
        return await run_in_threadpool(self._perform, request, name, action, signed, form)

    async def _checked(self, request: Request) -> tuple[Response | None, SignedIn | None, dict[str, str]]:
        """(a refusal, or None; the editor; the form) of a POST."""
        try:
            form = await read_form(request)
        except FormError as exc:
            return PlainTextResponse(str(exc), status_code=exc.status), None, {}
        signed = await run_in_threadpool(self.editors.signed_in, request)
        why = check_post(self.editors, signed, request, form, self.base_url)
        if why is not None:
            self.note(request, refused=why.split(";")[0])
            return forbidden(why), None, form
        return None, signed, form

    def _perform(self, request: Request, name: str, action: Action, signed: SignedIn,
                 form: Mapping[str, str]) -> Response:
        back = safe_return_path(form.get("back"))
        store = self.reader.store
        try:
            with store.session() as session:
                outcome = action(session, signed, form)
        except ActionError as exc:
            self.note(request, problem=type(exc).__name__)
            return render_problem(self.env, "action.html", 400, editor=signed, action=name,
                                  title=ACTION_TITLES[name], problem=web_message(exc), back=back,
                                  fields=_echoed(name, form), kinds=ADD_KINDS, programs=PROGRAMS)
        store.refresh_timeline()
        anchor = outcome.anchor
        if outcome.added is not None:  # the entry exists once the timeline is rebuilt
            from caltac_inbox.store import corrections as stored

            with store.session(readonly=True) as session:
                anchor = f"#entry-{stored.find_entry(session, outcome.added)['id']}"
        self.note(request, correction=outcome.correction["id"])
        return RedirectResponse(back_with(back, saved=outcome.correction["id"]) + anchor, status_code=303)


@dataclass(frozen=True)
class EchoedField:
    name: str
    label: str
    value: str
    hidden: bool


LABELS = {"entry": "Entry", "note": "Note", "correction": "Correction", "lead": "Lead", "reason": "Reason",
          "kind": "Kind", "program": "Program", "start": "Start", "end": "End", "due": "Due", "at": "Removed on",
          "systems": "Systems", "what": "What"}


def _echoed(action: str, form: Mapping[str, str]) -> list[EchoedField]:
    """The action's fields as they were sent (only those the form had), to send again."""
    return [EchoedField(name, LABELS[name], form[name][:2000], name in HIDDEN_FIELDS)
            for name in ACTION_FIELDS[action] if name in form]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Saved:
    id: int
    text: str
    undoable: bool


def saved_change(reader: TimelineReader, request: Request, signed: SignedIn) -> Saved | None:
    """The change an action just saved (?saved=ID), to say so at the top of the page."""
    text = request.query_params.get("saved", "")
    if not text.isdigit() or len(text) > 18:
        return None
    from caltac_inbox.store.read import rows

    with reader.snapshot() as source:
        found = rows(source, "SELECT id, action, target, state, made_by, mailbox, new_values FROM corrections "
                             "WHERE id = :id", {"id": int(text)})
    if not found or (signed.mailbox and found[0]["mailbox"] != signed.mailbox):
        return None
    row = found[0]
    return Saved(int(row["id"]), saved_text(row["action"], row["target"], row["state"]), row["state"] == "active")


def saved_text(action: str, target: str, state: str) -> str:
    from caltac_inbox.store.corrections import LEAD_TARGET, lead_label

    what = f"lead {lead_label(target.removeprefix(LEAD_TARGET))}" if target.startswith(LEAD_TARGET) else "the entry"
    done = {"done": "Marked the entry done", "dismiss": f"Dismissed {what}", "correct": "Corrected the entry",
            "add": "Added the entry",
            "confirm": "Confirmed the change from an unverified notice",
            "reject": "Rejected the change from an unverified notice"}
    if state == "undone":
        return {"done": "Reopened the entry", "dismiss": f"Undid the dismissal of {what}",
                "correct": "Undid the correction",
                "add": "Removed the added entry", "confirm": "Undid the confirmation",
                "reject": "Undid the rejection"}.get(action, "Undone")
    return done.get(action, "Saved")


def html(env: Environment, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = env.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


__all__ = ["ACTIONS", "EditorRoutes", "saved_change", "saved_text"]
