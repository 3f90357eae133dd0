"""Editors on the web page over HTTP (Starlette's TestClient, in process) on both backends:
the `editor` commands, signing in and out, sessions that expire or are revoked, CSRF and
Origin checks, actions stored as the command line stores them, the Review tab, a
trusted proxy's user header, the access log, and escaping of everything a form echoes."""
from __future__ import annotations

import json
import logging
import re
import time

import icalendar
import pytest
from starlette.testclient import TestClient

from caltac_inbox.store.feeds import token_digest
from caltac_inbox.web.access import ACCESS_LOGGER
from caltac_inbox.web.app import COOKIE, ServeSettings, create_app
from caltac_inbox.web.editing import EDITOR_COOKIE
from caltac_inbox.web.session import SessionSigner
from tests.web import add_editor, cli, create_feed, ingest

AS_OF = "2020-08-01"
KEY = "k" * 40
HOSTILE = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>&amp;"


@pytest.fixture
def editor(samples_db):
    return add_editor(samples_db, "Pat Lee")


@pytest.fixture
def client(samples_db):
    with TestClient(create_app(ServeSettings(db_url=samples_db, session_key=KEY))) as test_client:
        yield test_client


@pytest.fixture
def access_log(caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    return caplog


def sign_in(client: TestClient, token: str) -> str:
    """Sign in with the link; the page's CSRF token."""
    moved = client.get("/sign-in", params={"token": token}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/signed-in"
    page = client.get("/", params={"as_of": AS_OF})
    assert page.status_code == 200 and "Signed in as <strong>Pat Lee</strong>" in page.text
    # its forms' POSTs carry their Origin (under no-referrer a browser sends "null")
    assert page.headers["referrer-policy"] == "same-origin" and 'content="same-origin"' in page.text
    assert "style=" not in page.text and re.findall(r"<script[^>]*>", page.text) == [
        '<script src="/static/copy.js" defer>', '<script src="/static/page.js" defer>']  # the CSP holds
    return csrf_of(page.text)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def post(client: TestClient, action: str, csrf: str | None, origin: str | None = "http://testserver", **fields):
    data = {"back": f"/?as_of={AS_OF}", **fields}
    if csrf is not None:
        data["csrf"] = csrf
    headers = {"Origin": origin} if origin else {}
    return client.post(f"/edit/{action}", data=data, headers=headers, follow_redirects=False)


def entries(db_url: str) -> dict[str, dict]:
    """The designation, the deadline, and as "downtime" the 2020-08-14 downtime, by kind."""
    found = {}
    for e in map(json.loads, cli(db_url, "timeline", "--json", "--include-dismissed").splitlines()):
        if e["kind"] != "downtime" or (e.get("start") or "").startswith("2020-08-14"):
            found.setdefault(e["kind"], e)
    return found


def corrections(db_url: str) -> list[dict]:
    return [json.loads(line) for line in cli(db_url, "corrections", "--json").splitlines()]


def sequences(client: TestClient, feed: dict) -> dict[str, int]:
    calendar = icalendar.Calendar.from_ical(client.get(feed["path"], params={"from": "all"}).content)
    return {str(e["UID"]): int(e.get("SEQUENCE", 0)) for e in calendar.walk("VEVENT")}


def test_editor_commands_store_only_a_hash(samples_db):
    printed = cli(samples_db, "editor", "add", "Pat Lee", "--base-url", "https://caltac.example.org/")
    token = re.search(r"sign-in link: https://caltac\.example\.org/sign-in\?token=([A-Za-z0-9_-]{43})\n",
                      printed).group(1)
    assert printed.startswith("Editor 1 (Pat Lee) added. Keep this sign-in link private; it is shown only now:")
    listed = cli(samples_db, "editor", "list", "--json")
    assert token not in listed
    assert json.loads(listed)["name"] == "Pat Lee" and json.loads(listed)["revoked_at"] is None
    import sqlalchemy as sa

    from caltac_inbox.store import db

    engine = db.make_engine(samples_db)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT token_sha256 FROM editors")).scalar_one()
            dumped = "\n".join(str(r) for r in conn.execute(sa.text("SELECT * FROM editors")))
    finally:
        engine.dispose()
    assert stored == token_digest(token) and token not in dumped
    assert cli(samples_db, "editor", "revoke", "1") == "editor 1 revoked (Pat Lee)\n"
    assert "revoked" in cli(samples_db, "editor", "list")
    second = add_editor(samples_db, "Site 4", "--mailbox", "site4")
    assert (second["id"], second["mailbox"]) == (2, "site4")
    assert cli(samples_db, "editor", "revoke", second["url"]) == "editor 2 revoked (Site 4)\n"


def test_sign_in_link_opens_a_strict_httponly_session_and_leaves_the_address_bar(client, editor, access_log):
    moved = client.get("/sign-in", params={"token": editor["token"]}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/signed-in"
    cookie = moved.headers["set-cookie"]
    assert cookie.startswith(f"{EDITOR_COOKIE}=") and editor["token"] not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http on this test server
    landing = client.get("/signed-in")
    assert '<meta http-equiv="refresh" content="0; url=/">' in landing.text
    page = client.get("/", params={"as_of": AS_OF})
    assert "Signed in as <strong>Pat Lee</strong>" in page.text and 'action="/sign-out"' in page.text
    assert client.get("/sign-in", params={"token": editor["token"][:-2] + "xx"}).status_code == 404
    assert editor["token"] not in access_log.text
    lines = [json.loads(r.getMessage()) for r in access_log.records if r.name == ACCESS_LOGGER]
    assert lines[0]["target"] == "/sign-in?token=[redacted]" and lines[0]["editor"] == editor["id"]


def test_the_session_cookie_is_secure_behind_https(samples_db, editor):
    with TestClient(create_app(ServeSettings(db_url=samples_db)), base_url="https://caltac.example.org") as client:
        moved = client.get("/sign-in", params={"token": editor["token"]}, follow_redirects=False)
    assert "; Secure" in moved.headers["set-cookie"]


def test_editor_actions_are_stored_as_the_cli_stores_them(client, editor, samples_db, access_log):
    feed = create_feed(samples_db)
    csrf = sign_in(client, editor["token"])
    before = entries(samples_db)
    sequence_before = sequences(client, feed)

    corrected = post(client, "correct", csrf, entry=str(before["designation"]["id"]), due="2020-08-21 17:00",
                     reason="CalTAC phone call")
    assert corrected.status_code == 303
    assert corrected.headers["location"] == f"/?as_of={AS_OF}&saved=1#entry-{before['designation']['id']}"
    page = client.get(corrected.headers["location"])
    assert "Corrected the entry (correction 1)." in page.text and "Corrected by Pat Lee" in page.text
    assert "Fri, Aug 21, 2020, 5:00 p.m." in page.text

    dismissed = post(client, "dismiss", csrf, entry=str(before["downtime"]["id"]), reason="not our district")
    assert dismissed.status_code == 303
    page = client.get(dismissed.headers["location"])
    assert "Dismissed the entry (correction 2)." in page.text
    assert '<span class="flag state-dismissed">dismissed</span>' in page.text  # an editor still sees it
    assert "Undo the dismissal" in page.text

    shown = json.loads(cli(samples_db, "show", str(before["designation"]["id"]), "--json"))
    assert shown["due"] == "2020-08-21T17:00:00-07:00"
    assert [c["by"] for c in shown["corrections"]] == ["Pat Lee"]
    listed = corrections(samples_db)
    assert [(c["action"], c["by"], c["reason"]) for c in listed] == [
        ("correct", "Pat Lee", "CalTAC phone call"), ("dismiss", "Pat Lee", "not our district")]
    after = sequences(client, feed)
    assert after[before["designation"]["uid"] + "@caltac-inbox"] > sequence_before[
        before["designation"]["uid"] + "@caltac-inbox"]
    assert before["downtime"]["uid"] + "@caltac-inbox" not in after  # dismissed: off the calendar
    changed = [json.loads(line) for line in cli(samples_db, "changes", "--since", "2000-01-01", "--json").splitlines()]
    assert any(c["uid"] == before["designation"]["uid"] and c["change"] == "changed" for c in changed)

    undone = post(client, "undo", csrf, correction="2")
    assert undone.status_code == 303
    assert "Undid the dismissal of the entry (correction 2)." in client.get(undone.headers["location"]).text
    assert entries(samples_db)["downtime"]["status"] == "scheduled"

    lines = [json.loads(r.getMessage()) for r in access_log.records if r.name == ACCESS_LOGGER]
    acted = [line for line in lines if line.get("action") in ("correct", "dismiss", "undo")]
    assert [(a["action"], a["editor"], a["status"]) for a in acted] == [
        ("correct", editor["id"], 303), ("dismiss", editor["id"], 303), ("undo", editor["id"], 303)]
    assert acted[0]["correction"] == 1
    assert editor["token"] not in access_log.text and csrf not in access_log.text


def test_add_an_entry_and_review_leads(client, editor, samples_db):
    csrf = sign_in(client, editor["token"])
    added = post(client, "add", csrf, kind="deadline", due="2020-08-10", what="order braille booklets",
                 program="CAASPP", reason="phone call")
    assert added.status_code == 303
    assert "Added by Pat Lee" in client.get(added.headers["location"]).text
    assert entries(samples_db)["deadline"]["action"] == "order braille booklets"

    review = client.get("/review", params={"as_of": "2020-08-01", "days": "365"})
    assert review.status_code == 200 and 'aria-current="page">Review' in review.text
    lead_ids = re.findall(r'<li class="lead" id="lead-(L[0-9a-f]+)">', review.text)
    expected = [json.loads(line)["id"] for line in
                cli(samples_db, "review", "--as-of", "2020-08-01", "--days", "365", "--json").splitlines()]
    assert lead_ids == expected and len(lead_ids) >= 2
    gone = post(client, "dismiss-lead", csrf, lead=lead_ids[0], reason="not a date for us")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/?as_of=")
    back = post(client, "dismiss-lead", csrf, lead=lead_ids[1], back="/review?as_of=2020-08-01&days=365")
    assert back.headers["location"].startswith("/review?as_of=2020-08-01&days=365&saved=")
    after = client.get(back.headers["location"])
    assert f"Dismissed lead {lead_ids[1]}" in after.text and f'id="lead-{lead_ids[1]}"' not in after.text
    assert [c["entry"] for c in corrections(samples_db)][-2:] == lead_ids[:2]

    turned = post(client, "add", csrf, lead=lead_ids[2], kind="deadline", what="return the survey")
    assert turned.status_code == 303, turned.text
    made = corrections(samples_db)[-1]
    assert (made["action"], made["lead"], made["by"]) == ("add", lead_ids[2], "Pat Lee")


def test_forged_posts_are_403_and_change_nothing(client, editor, samples_db, access_log):
    feed = create_feed(samples_db)
    csrf = sign_in(client, editor["token"])
    target = str(entries(samples_db)["downtime"]["id"])
    assert post(client, "dismiss", None, entry=target).status_code == 403  # no CSRF token
    assert post(client, "dismiss", "x" + csrf[1:], entry=target).status_code == 403  # a wrong one
    assert post(client, "dismiss", csrf, origin="https://evil.example", entry=target).status_code == 403
    assert post(client, "dismiss", csrf, origin=None, entry=target).status_code == 403  # no Origin
    with TestClient(create_app(ServeSettings(db_url=samples_db, session_key=KEY))) as viewer:
        viewer.cookies.set(COOKIE, feed["token"])
        page = viewer.get("/", params={"as_of": AS_OF})
        assert page.status_code == 200 and "<form" in page.text and 'method="post"' not in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "Signed in as" not in page.text and "/review" not in page.text
        refused = post(viewer, "dismiss", csrf, entry=target)  # a viewer's cookie, even with a token
        assert refused.status_code == 403 and refused.text.startswith("Forbidden: only a signed-in editor")
        assert viewer.get("/review").status_code == 403
    with TestClient(create_app(ServeSettings(db_url=samples_db, open_access=True, session_key=KEY))) as lan:
        assert 'method="post"' not in lan.get("/", params={"as_of": AS_OF}).text
        assert post(lan, "dismiss", csrf, entry=target).status_code == 403
    assert corrections(samples_db) == [] and entries(samples_db)["downtime"]["status"] == "scheduled"
    refusals = [json.loads(r.getMessage()) for r in access_log.records if r.name == ACCESS_LOGGER]
    assert sum(1 for line in refusals if line.get("refused")) == 6


def test_a_csrf_token_of_one_session_is_refused_in_another(samples_db, editor):
    target = None
    with TestClient(create_app(ServeSettings(db_url=samples_db, session_key=KEY))) as first, \
            TestClient(create_app(ServeSettings(db_url=samples_db, session_key=KEY))) as second:
        used = sign_in(first, editor["token"])
        target = str(entries(samples_db)["downtime"]["id"])
        assert post(first, "dismiss", used, entry=target).status_code == 303  # used once, in its session
        post(first, "undo", used, correction="1")
        other = sign_in(second, editor["token"])
        assert other != used
        replayed = post(second, "dismiss", used, entry=target)
        assert replayed.status_code == 403 and "security token" in replayed.text
    assert [c["action"] for c in corrections(samples_db)] == ["dismiss"]  # only the first session's


def test_expired_revoked_and_signed_out_sessions_end(samples_db, editor):
    signer = SessionSigner(KEY.encode())
    target = str(entries(samples_db)["downtime"]["id"])
    with TestClient(create_app(ServeSettings(db_url=samples_db, session_key=KEY))) as client:
        expired = signer.new_session(time.time() - 13 * 3600, editor=editor["id"])
        client.cookies.set(EDITOR_COOKIE, signer.dumps(expired))
        assert client.get("/").status_code == 401  # no longer an editor, and no feed token
        assert post(client, "dismiss", signer.csrf_token(expired), entry=target).status_code == 403
        forged = signer.dumps(signer.new_session(time.time(), editor=editor["id"])).replace(".", "x.", 1)
        client.cookies.set(EDITOR_COOKIE, forged)
        assert client.get("/").status_code == 401

        client.cookies.clear()
        csrf = sign_in(client, editor["token"])
        session_cookie = client.cookies.get(EDITOR_COOKIE)
        signed_out = client.post("/sign-out", data={"csrf": csrf}, headers={"Origin": "http://testserver"})
        assert signed_out.status_code == 200 and "You are signed out" in signed_out.text
        client.cookies.set(EDITOR_COOKIE, session_cookie)  # a copy of the cookie kept
        assert client.get("/").status_code == 401
        assert post(client, "dismiss", csrf, entry=target).status_code == 403

        client.cookies.clear()
        csrf = sign_in(client, editor["token"])
        cli(samples_db, "editor", "revoke", str(editor["id"]))
        assert client.get("/").status_code == 401
        assert post(client, "dismiss", csrf, entry=target).status_code == 403
        assert client.get("/sign-in", params={"token": editor["token"]}).status_code == 404
    assert corrections(samples_db) == []


@pytest.mark.parametrize("action, fields", [
    ("correct", ("entry", "start", "end", "systems", "reason")),
    ("correct", ("entry", "due", "what", "at")),
    ("dismiss", ("entry", "reason")),
    ("add", ("lead", "kind", "start", "end", "due", "at", "systems", "what", "program", "reason")),
    ("dismiss-lead", ("lead", "reason")),
    ("undo", ("correction",)),
    ("done", ("entry", "note")),
    ("confirm", ("entry", "reason")),
    ("reject", ("entry", "reason")),
])
def test_hostile_text_in_every_echoed_field_is_escaped(client, editor, samples_db, action, fields):
    csrf = sign_in(client, editor["token"])
    downtime = str(entries(samples_db)["downtime"]["id"])
    sent = {name: f"{name}:{HOSTILE}" for name in fields}
    if action == "correct":
        sent["entry"] = downtime  # a real entry, so the hostile dates are what fails
    answer = post(client, action, csrf, **sent)
    assert answer.status_code == 400, answer.text[:300]
    body = answer.text
    assert "<script>" not in body and "<img" not in body and "onerror=alert(1)>" not in body
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/copy.js" defer>',
                                                    '<script src="/static/page.js" defer>']
    assert "style=" not in body
    echoed = [name for name in fields if name not in ("kind", "program")]
    for name in echoed:
        if name == "entry" and action == "correct":
            continue
        escaped = f"{name}:&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;amp;"
        assert re.search(f'name="{name}"( type="text")? value="{re.escape(escaped)}"', body), name
    assert 'class="problem" role="alert"' in body
    assert corrections(samples_db) == []


def test_dates_are_read_as_the_cli_reads_them(client, editor, samples_db):
    csrf = sign_in(client, editor["token"])
    downtime = entries(samples_db)["downtime"]
    bad = post(client, "correct", csrf, entry=str(downtime["id"]), end="2020-08-13 08:00")
    assert bad.status_code == 400 and "the end 2020-08-13T08:00:00-07:00 is before the start" in bad.text
    wrong_field = post(client, "correct", csrf, entry=str(downtime["id"]), due="2020-08-21")
    assert wrong_field.status_code == 400
    assert "due does not belong to a downtime entry; a downtime takes start, end, systems" in wrong_field.text
    nothing = post(client, "correct", csrf, entry=str(downtime["id"]), reason="just because")
    assert nothing.status_code == 400 and "say what to correct" in nothing.text
    assert post(client, "correct", csrf, entry=str(downtime["id"]), end="2020-08-21 08:00",
                systems="TOMS, Test Delivery System").status_code == 303
    assert post(client, "correct", csrf, entry="999999", end="tomorrow").status_code == 400
    [made] = corrections(samples_db)
    assert made["values"] == {"end": "2020-08-21T08:00:00-07:00", "systems": ["TOMS", "Test Delivery System"]}


def test_an_editor_limited_to_a_mailbox_acts_only_there(samples_db, tmp_path):
    from tests.web import original_2016_notice

    (tmp_path / "site4.eml").write_bytes(original_2016_notice(message_id="site4"))
    cli(samples_db, "ingest", "--mailbox", "site4", "--authserv-id", "mx.district.k12.ca.us", str(tmp_path / "site4.eml"))
    limited = add_editor(samples_db, "Site 4", "--mailbox", "site4")
    other = str(entries(samples_db)["designation"]["id"])
    with TestClient(create_app(ServeSettings(db_url=samples_db, session_key=KEY))) as client:
        client.get("/sign-in", params={"token": limited["token"]})
        page = client.get("/", params={"as_of": "2016-08-01", "days": "365"})
        assert "(mailbox site4)" in page.text
        csrf = csrf_of(page.text)
        assert re.findall(r'<li class="entry kind-(\w+)">', page.text) == ["downtime"]
        refused = post(client, "dismiss", csrf, entry=other)
        assert refused.status_code == 400 and "no timeline entry with id or uid" in refused.text
        own = re.search(r'name="entry" value="(\d+)"', page.text).group(1)
        assert post(client, "dismiss", csrf, entry=own).status_code == 303
    [made] = corrections(samples_db)
    assert (made["by"], made["mailbox"]) == ("Site 4", "site4")


def test_a_trusted_proxy_names_the_editor(samples_db, access_log):
    settings = ServeSettings(db_url=samples_db, trusted_user_header="X-Forwarded-User",
                             editors=("pat@district.org",), session_key=KEY)
    target = str(entries(samples_db)["downtime"]["id"])
    with TestClient(create_app(settings), headers={"X-Forwarded-User": "pat@district.org"}) as client:
        first = client.get("/", params={"as_of": AS_OF})
        assert "Signed in as <strong>pat@district.org</strong>" in first.text
        assert "SameSite=strict" in first.headers["set-cookie"]
        csrf = csrf_of(first.text)
        assert post(client, "dismiss", csrf, entry=target, reason="proxy").status_code == 303
        # the same session's cookie, but another user in the header: not theirs
        other = client.post("/edit/undo", data={"csrf": csrf, "correction": "1"},
                            headers={"Origin": "http://testserver", "X-Forwarded-User": "someone@else.org"})
        assert other.status_code == 403
    with TestClient(create_app(settings), headers={"X-Forwarded-User": "mallory@district.org"}) as stranger:
        assert stranger.get("/").status_code == 401  # not on --editors: a viewer without a token
    with TestClient(create_app(settings), headers={"X-Forwarded-User": "pat@district.org"}) as fresh:
        assert post(fresh, "undo", csrf, correction="1").status_code == 403  # no session of its own yet
    [made] = corrections(samples_db)
    assert (made["by"], made["state"]) == ("pat@district.org", "active")
    acted = [json.loads(r.getMessage()) for r in access_log.records if r.name == ACCESS_LOGGER]
    assert any(line.get("editor") == "pat@district.org" and line.get("action") == "dismiss" for line in acted)


def test_serve_options_go_together(samples_db):
    from click.testing import CliRunner

    from caltac_inbox.cli import main

    done = CliRunner().invoke(main, ["--db", samples_db, "serve", "--trust-user-header", "X-Forwarded-User"])
    assert done.exit_code == 2 and "--trust-user-header and --editors go together" in done.output


def test_confirm_or_reject_a_change_held_from_an_unverified_notice(db_url, tmp_path):
    from tests.system.test_trust import EXTENDED_NOTE, FORGED_EXTENSION, VERIFIED

    ingest(db_url, VERIFIED)
    (tmp_path / "forged.eml").write_bytes(FORGED_EXTENSION)
    ingest(db_url, tmp_path / "forged.eml")
    editor = add_editor(db_url, "Pat Lee")
    downtime = str(entries(db_url)["downtime"]["id"])
    with TestClient(create_app(ServeSettings(db_url=db_url, session_key=KEY))) as client:
        csrf = sign_in(client, editor["token"])
        page = client.get("/", params={"as_of": AS_OF}).text
        assert f'<span class="flag warn">{EXTENDED_NOTE}</span>' in page and 'formaction="/edit/reject"' in page
        rejected = post(client, "reject", csrf, entry=downtime, reason="forged: CalTAC never sent it")
        assert rejected.status_code == 303
        page = client.get(rejected.headers["location"]).text
        assert "Rejected the change from an unverified notice (correction 1)." in page
        assert EXTENDED_NOTE not in page and "Undo the rejection" in page
        assert entries(db_url)["downtime"]["end"] == "2020-08-20T08:00:00-07:00"
        assert post(client, "undo", csrf, correction="1").status_code == 303
        assert EXTENDED_NOTE in client.get("/", params={"as_of": AS_OF}).text  # held again
        assert post(client, "confirm", csrf, entry=downtime, reason="CalTAC confirmed by phone").status_code == 303
        assert entries(db_url)["downtime"]["end"] == "2020-08-21T08:00:00-07:00"
        nothing = post(client, "confirm", csrf, entry=downtime)
        assert nothing.status_code == 400 and "has no change from an unverified notice to confirm" in nothing.text
    assert [(c["action"], c["by"], c["state"]) for c in corrections(db_url)] == [
        ("reject", "Pat Lee", "undone"), ("confirm", "Pat Lee", "active")]


def test_mark_done_and_reopen_from_the_page(client, editor, samples_db, access_log):
    csrf = sign_in(client, editor["token"])
    downtime = entries(samples_db)["downtime"]
    marked = post(client, "done", csrf, entry=str(downtime["id"]), note="told the test sites")
    assert marked.status_code == 303 and marked.headers["location"].endswith(f"#entry-{downtime['id']}")
    page = client.get(marked.headers["location"]).text
    assert "Marked the entry done (correction 1)." in page and '<span class="flag">done</span>' in page
    assert "Reopen (undo done)" in page
    shown = json.loads(cli(samples_db, "show", str(downtime["id"]), "--json"))
    assert shown["done"] is True and shown["corrections"][0]["by"] == "Pat Lee"
    again = post(client, "done", csrf, entry=str(downtime["id"]))
    assert again.status_code == 400 and "is already done" in again.text
    reopened = post(client, "undo", csrf, correction="1")
    assert "Reopened the entry (correction 1)." in client.get(reopened.headers["location"]).text
    assert not json.loads(cli(samples_db, "show", str(downtime["id"]), "--json")).get("done")
    assert [(c["action"], c["by"], c["state"]) for c in corrections(samples_db)] == [("done", "Pat Lee", "undone")]
