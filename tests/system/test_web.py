"""The web server over HTTP (Starlette's TestClient, in process) on both backends: feeds
equal to export-ics, 304s, 404s for bad and revoked tokens, logs without tokens, the
timeline page and its escaping, /healthz, and the `feed` commands."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
from starlette.testclient import TestClient

from caltac_inbox.store import db
from caltac_inbox.store.feeds import token_digest
from caltac_inbox.web.access import ACCESS_LOGGER, CONTENT_SECURITY_POLICY
from caltac_inbox.web.app import COOKIE, ServeSettings, create_app
from tests.demo import SAMPLES
from tests.unit.test_ics import normalize
from tests.web import HOSTILE_SUBJECT, cli, create_feed, hostile_notice, ingest

SAMPLE_AS_OF = "2020-08-01"


@pytest.fixture
def feed(samples_db):
    return create_feed(samples_db, "--name", "district office")


@pytest.fixture
def client(samples_db):
    # the samples are from 2016 to 2020: the feeds show all of it, not the last 12 months
    with TestClient(create_app(ServeSettings(db_url=samples_db, feed_horizon_months=None))) as test_client:
        yield test_client


@pytest.fixture
def access_log(caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    return caplog


@pytest.fixture
def export_ics(tmp_path):
    def export(db_url: str, *args: str) -> bytes:
        """What `export-ics` writes, as bytes (CRLF and folded lines as they are)."""
        cli(db_url, "export-ics", "-o", str(tmp_path / "export.ics"), *args)
        return (tmp_path / "export.ics").read_bytes()

    return export


def test_feed_is_the_calendar_of_export_ics(client, feed, samples_db, export_ics):
    response = client.get(feed["path"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="caltac-inbox.ics"'
    assert normalize(response.content) == normalize(export_ics(samples_db))
    assert len(icalendar.Calendar.from_ical(response.content).walk("VEVENT")) == 7


def test_query_parameters_filter_as_export_ics_options_do(client, feed, samples_db, export_ics):
    response = client.get(feed["path"], params=[("kind", "downtime"), ("kind", "retention"), ("program", "caaspp")])
    expected = export_ics(samples_db, "--kind", "downtime", "--kind", "retention", "--program", "CAASPP")
    assert normalize(response.content) == normalize(expected)
    comma = client.get(feed["path"] + "?kind=downtime,retention&program=CAASPP")
    assert comma.content == response.content
    assert client.get(feed["path"] + "?kind=holiday").status_code == 400


def test_a_feed_s_own_filter_is_narrowed_never_widened(client, samples_db, export_ics):
    downtimes = create_feed(samples_db, "--kind", "downtime")
    only = client.get(downtimes["path"])
    assert normalize(only.content) == normalize(export_ics(samples_db, "--kind", "downtime"))
    widened = client.get(downtimes["path"], params={"kind": "designation"})
    assert icalendar.Calendar.from_ical(widened.content).walk("VEVENT") == []
    other_mailbox = create_feed(samples_db, "--mailbox", "elsewhere")
    assert icalendar.Calendar.from_ical(client.get(other_mailbox["path"]).content).walk("VEVENT") == []


def test_repeat_requests_answer_304_without_rendering(client, feed, monkeypatch):
    first = client.get(feed["path"])
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]

    import caltac_inbox.web.app as web_app

    monkeypatch.setattr(web_app, "render_feed", lambda *a: pytest.fail("a 304 rendered the calendar"))
    monkeypatch.setattr(web_app, "calendar_stream", lambda *a, **k: pytest.fail("a 304 read the entries"))
    again = client.get(feed["path"], headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert client.get(feed["path"], headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(feed["path"], headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = format_datetime(datetime.now(timezone.utc) - timedelta(days=3650), usegmt=True)
    assert client.get(feed["path"], headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified}) \
        .status_code != 304  # If-None-Match decides when present
    # a 200 without validators comes from the cache of renders (render_feed would fail)
    assert client.get(feed["path"], headers={"If-Modified-Since": earlier}).content == first.content


def test_filtered_feed_has_its_own_etag(client, feed):
    etag = client.get(feed["path"]).headers["etag"]
    filtered = client.get(feed["path"], params={"kind": "downtime"})
    assert filtered.status_code == 200 and filtered.headers["etag"] != etag


def test_bad_and_revoked_tokens_are_404_like_a_missing_path(client, feed, samples_db):
    missing = client.get("/no/such/path")
    assert (missing.status_code, missing.text) == (404, "Not Found")

    def same_as_missing(response) -> None:
        assert (response.status_code, response.content, response.headers["content-type"]) == \
            (missing.status_code, missing.content, missing.headers["content-type"])

    same_as_missing(client.get("/calendar/" + "x" * 43 + ".ics"))
    same_as_missing(client.get(feed["path"].removesuffix(".ics")))  # no .ics
    same_as_missing(client.get(feed["path"][:-6] + ".ics"))  # a shorter token
    assert client.get(feed["path"]).status_code == 200
    assert cli(samples_db, "feed", "revoke", str(feed["id"])) == f"feed {feed['id']} revoked (district office)\n"
    same_as_missing(client.get(feed["path"]))
    same_as_missing(client.get("/", params={"token": feed["token"]}, follow_redirects=False))


def test_no_token_in_the_access_log(client, feed, samples_db, access_log):
    token = feed["token"]
    client.get(feed["path"])
    client.get(feed["path"], params={"kind": "downtime", "token": token, "other": token})
    client.get("/", params={"token": token, "as_of": SAMPLE_AS_OF})  # then the cookie
    client.get("/calendar/" + token[:-1] + "X.ics")
    client.get("/typo/" + token)
    client.get("/healthz")
    records = [r.getMessage() for r in access_log.records if r.name == ACCESS_LOGGER]
    lines = [json.loads(text) for text in records]
    assert len(lines) >= 7
    for text in records:
        assert token not in text and token[:20] not in text and token[-20:] not in text
    targets = [line["target"] for line in lines]
    assert targets[0] == "/calendar/[redacted].ics"
    assert "/calendar/[redacted].ics?kind=downtime&token=[redacted]&[redacted]=[redacted]" in targets
    assert "/?token=[redacted]&as_of=2020-08-01" in targets
    assert "/typo/[redacted]" in targets
    assert {"time", "client", "method", "target", "status", "bytes", "ms"} <= set(lines[0])
    assert lines[0]["feed"] == feed["id"] and lines[0]["status"] == 200


def test_page_takes_the_token_into_an_httponly_cookie(client, feed):
    moved = client.get("/", params={"token": feed["token"], "as_of": SAMPLE_AS_OF}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/?as_of={SAMPLE_AS_OF}"
    cookie = moved.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={feed['token']};") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get(moved.headers["location"])  # the client sends the cookie back
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Week of Sun, Aug 9, 2020" in page.text and "Week of Sun, Aug 16, 2020" in page.text
    assert "Fri, Aug 14, 2020, 5:00 p.m. – Thu, Aug 20, 2020, 8:00 a.m." in page.text
    assert 'class="bar c6 s2 continues"' in page.text and 'class="bar c1 s5 continued"' in page.text
    assert "This email serves as a reminder of upcoming CAASPP system downtime" in page.text  # evidence
    assert "Forwarded by dhuang@district.k12.ca.us" in page.text  # a source as `show` lists it
    assert f'value="http://testserver{feed["path"]}"' in page.text  # the subscription link
    assert all(name in page.text for name in ("Outlook", "Google Calendar", "Apple Calendar"))


def test_the_cookie_is_secure_behind_https(samples_db, feed):
    with TestClient(create_app(ServeSettings(db_url=samples_db, feed_horizon_months=None)), base_url="https://caltac.example.org") as client:
        moved = client.get("/", params={"token": feed["token"]}, follow_redirects=False)
        page = client.get("/")
    assert "; Secure" in moved.headers["set-cookie"]
    assert f'value="https://caltac.example.org{feed["path"]}"' in page.text
    assert 'href="webcal://caltac.example.org/calendar/' in page.text


def test_page_filters_by_kind_and_program(client, feed):
    client.cookies.set(COOKIE, feed["token"])
    page = client.get("/", params=[("as_of", SAMPLE_AS_OF), ("kind", "retention")])
    assert page.text.count('<li class="entry kind-retention">') == 2 and "kind-downtime" not in page.text
    assert f'value="http://testserver{feed["path"]}?kind=retention"' in page.text
    assert client.get("/", params={"as_of": SAMPLE_AS_OF, "program": "CAASPP"}).text.count('class="entry ') == 4
    assert "Nothing is coming in that period." in client.get("/", params={"as_of": SAMPLE_AS_OF, "program": "ELPAC"}).text
    assert client.get("/", params={"as_of": "2020-13-01"}).status_code == 400


def test_page_needs_a_token_unless_open(samples_db, feed):
    with TestClient(create_app(ServeSettings(db_url=samples_db))) as closed:
        assert closed.get("/").status_code == 401
        closed.cookies.set(COOKIE, "not-a-token")
        assert closed.get("/").status_code == 404
    with TestClient(create_app(ServeSettings(db_url=samples_db, open_access=True))) as lan:
        page = lan.get("/", params={"as_of": SAMPLE_AS_OF})
        assert page.status_code == 200 and "Week of Sun, Aug 9, 2020" in page.text
        assert "caltac-inbox feed create" in page.text  # no token, so no subscription link
        assert lan.get(feed["path"].replace(feed["token"], "open")).status_code == 404  # feeds keep their tokens


def test_hostile_mail_text_is_escaped_everywhere(db_url, tmp_path):
    (tmp_path / "hostile.eml").write_bytes(hostile_notice())
    ingest(db_url, tmp_path / "hostile.eml")
    feed = create_feed(db_url)
    with TestClient(create_app(ServeSettings(db_url=db_url, feed_horizon_months=None))) as client:
        client.cookies.set(COOKIE, feed["token"])
        page = client.get("/", params={"as_of": "2016-08-01"})
        calendar = client.get(feed["path"])
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY and "script-src 'self'" in csp and "unsafe" not in csp
    body = page.text
    assert "<script>alert" not in body and "<b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in body
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", body)
    assert "[31m" not in body and "&lt;script&gt;" in body  # the escape sequence removed whole, not obeyed
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/copy.js" defer>',
                                                    '<script src="/static/page.js" defer>']  # no inline script
    assert "style=" not in body  # no inline style either
    ics = calendar.content.decode()
    assert "\x1b" not in ics and "\x07" not in ics and "[31m" not in ics and "<script>" in ics.replace("\r\n ", "")
    assert HOSTILE_SUBJECT.startswith("\x1b")


def test_the_page_marks_what_the_coordinator_corrected_or_added(db_url):
    ingest(db_url, SAMPLES / "2020-07-15-transition-downtime.eml")
    [downtime] = [e for e in map(json.loads, cli(db_url, "timeline", "--json").splitlines()) if e["kind"] == "downtime"]
    cli(db_url, "correct", str(downtime["id"]), "--end", "2020-08-21 08:00", "--by", "pat")
    cli(db_url, "add", "--kind", "deadline", "--due", "2020-08-10", "--what", "order braille booklets", "--by", "pat")
    feed = create_feed(db_url)
    with TestClient(create_app(ServeSettings(db_url=db_url, feed_horizon_months=None))) as client:
        client.cookies.set(COOKIE, feed["token"])
        body = client.get("/", params={"as_of": "2020-08-01"}).text
    assert '<span class="flag">corrected</span>' in body and '<span class="flag">added by hand</span>' in body
    assert "<h3>Corrections</h3>" in body and "Corrected by pat on " in body and "Added by pat" in body
    assert "Fri, Aug 21, 2020" in body  # the corrected end, not the notice's Aug 20


def test_static_files_and_security_headers(client):
    for path, kind in (("/static/app.css", "text/css"), ("/static/copy.js", "javascript"),
                       ("/static/favicon.svg", "image/svg+xml")):
        response = client.get(path)
        assert response.status_code == 200 and kind in response.headers["content-type"], path
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/nothing.css").text == "Not Found"


def test_healthz_reports_database_and_schema(client, samples_db):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "reachable", "schema": db.SCHEMA_HEAD,
                             "expected_schema": db.SCHEMA_HEAD, "timeline": "current", "mailboxes": [],
                             "stale": False}
    engine = db.make_engine(samples_db)
    try:
        db.downgrade(engine, "0004")
    finally:
        engine.dispose()
    behind = client.get("/healthz")
    assert behind.status_code == 503 and behind.json()["schema"] == "0004"


def test_serve_refuses_a_database_it_cannot_read_in_one_line(tmp_path, samples_db):
    from caltac_inbox.errors import DatabaseError
    from caltac_inbox.web.reader import TimelineReader

    with pytest.raises(DatabaseError, match=r"^database .*missing\.db does not exist; ingest or poll"):
        TimelineReader(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()  # the server writes nothing, a file neither
    engine = db.make_engine(samples_db)
    try:
        db.downgrade(engine, "0004")
    finally:
        engine.dispose()
    with pytest.raises(DatabaseError, match=rf"is at schema 0004, this caltac-inbox reads {db.SCHEMA_HEAD}; run `caltac-inbox db"):
        TimelineReader(samples_db)


def test_feed_commands_store_only_a_hash(samples_db):
    printed = cli(samples_db, "feed", "create", "--name", "board", "--kind", "downtime",
                  "--base-url", "https://caltac.example.org/")
    token = re.search(r"https://caltac\.example\.org/calendar/([A-Za-z0-9_-]{43})\.ics\n", printed).group(1)
    assert f"https://caltac.example.org/?token={token}\n" in printed
    listed = cli(samples_db, "feed", "list", "--json")
    assert token not in listed
    row = json.loads(listed.splitlines()[-1])
    assert (row["name"], row["kinds"], row["revoked_at"]) == ("board", ["downtime"], None)
    import sqlalchemy as sa

    engine = sa.create_engine(samples_db)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT * FROM feed_tokens")).all()
    finally:
        engine.dispose()
    assert token not in repr(stored) and token_digest(token) in repr(stored)
    assert cli(samples_db, "feed", "revoke", f"https://caltac.example.org/calendar/{token}.ics").startswith("feed ")
    assert "revoked" in cli(samples_db, "feed", "list")


def test_feed_revoke_of_an_unknown_feed_is_one_line_without_the_token(samples_db):
    from tests.demo import REPO, SOURCE_CLI, run

    done = run(SOURCE_CLI, "--db", samples_db, "feed", "revoke", "secret-token-that-is-wrong", cwd=REPO)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("caltac-inbox: error: no such feed; give the number that `caltac-inbox feed list` shows, "
                           "or the feed's URL\n")


def test_every_change_the_calendar_shows_moves_the_etag(client, feed, samples_db, tmp_path):
    """A re-sent notice (another Message-ID, the same words) changes no entry's content
    (no SEQUENCE bump) but adds a source to its DESCRIPTION: the generation still moves.
    (A second copy with the same Message-ID is listed once, so it would change nothing shown.)"""
    first = client.get(feed["path"])
    ingest(samples_db, SAMPLES)  # nothing new
    assert client.get(feed["path"], headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    copy = (SAMPLES / "2019-03-18-credential-reminder.eml").read_bytes().replace(
        b"<caltac-inbox-sample.003.direct.", b"<caltac-inbox-sample.003.resent.", 1)
    (tmp_path / "copy.eml").write_bytes(copy)
    ingest(samples_db, tmp_path / "copy.eml")
    after = client.get(feed["path"], headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
    assert after.content != first.content


def test_filters_narrow_and_validators_decide():
    from caltac_inbox.store.feeds import FeedFilter
    from caltac_inbox.web.http import feed_validators, loggable_target, narrow, not_modified

    granted = FeedFilter(kinds=("deadline", "downtime"), mailbox="north")
    assert narrow(granted, FeedFilter()) == granted
    assert narrow(granted, FeedFilter(kinds=("downtime", "task"), programs=("ELPAC",))) == \
        FeedFilter(kinds=("downtime",), programs=("ELPAC",), mailbox="north")
    assert narrow(granted, FeedFilter(kinds=("task",))) is None
    assert narrow(granted, FeedFilter(mailbox="south")) is None
    changed = datetime(2026, 11, 2, 8, 30, 15, 999, tzinfo=timezone.utc)
    validators = feed_validators(7, changed, granted)
    assert validators.etag.startswith('"7-') and validators != feed_validators(7, changed, FeedFilter())
    assert validators.headers()["Last-Modified"] == "Mon, 02 Nov 2026 08:30:15 GMT"
    assert not_modified(validators, "*", None)
    assert not not_modified(validators, '"7-other"', "Mon, 02 Nov 2026 08:30:15 GMT")
    assert not_modified(validators, None, "Mon, 02 Nov 2026 08:30:15 GMT")
    assert not not_modified(validators, None, "Mon, 02 Nov 2026 08:30:14 GMT")
    assert not not_modified(validators, None, "yesterday")
    assert loggable_target("/", "token=abc&as_of=2020-08-01") == "/?token=[redacted]&as_of=2020-08-01"
    assert loggable_target("/calendar/abc", "") == "/calendar/[redacted]"
    assert loggable_target("/static/app.css", "") == "/static/app.css"


def test_weeks_start_on_sunday_and_bars_split_at_week_ends():
    from caltac_inbox.model import Fact
    from caltac_inbox.timeline.entry import Entry
    from caltac_inbox.timeline.time import instant as day_start
    from caltac_inbox.web.view import build_weeks

    LA = ZoneInfo("America/Los_Angeles")
    window = Fact(kind="downtime", evidence="Down from Thursday through the next Tuesday.", program=("CAASPP",),
                  start=datetime(2020, 8, 13, 17, 0, tzinfo=LA), end=datetime(2020, 8, 18, 8, 0, tzinfo=LA))
    earlier = Fact(kind="downtime", evidence="Down since July.", program=("ELPAC",),
                   start=datetime(2020, 7, 28, 9, 0, tzinfo=LA), end=datetime(2020, 8, 3, 9, 0, tzinfo=LA))
    entries = [Entry(uid="a", fact=earlier, status="scheduled", sources=(), history=(), entry_id=1),
               Entry(uid="b", fact=window, status="scheduled", sources=(), history=(), entry_id=2)]
    weeks = build_weeks(entries, day_start(date(2020, 8, 1)), day_start(date(2020, 9, 1)))
    assert [w.start for w in weeks] == [date(2020, 7, 26), date(2020, 8, 2), date(2020, 8, 9), date(2020, 8, 16)]
    assert [e.anchor for e in weeks[0].entries] == ["entry-1"] and weeks[0].entries[0].began_earlier
    first, second = weeks[0].bars[0], weeks[1].bars[0]
    assert (first.column, first.span, first.continued, first.continues) == (7, 1, True, True)  # Aug 1 only shown
    assert (second.column, second.span, second.continued, second.continues) == (1, 2, True, False)
    assert [(b.column, b.span) for b in weeks[2].bars] == [(5, 3)] and weeks[2].entries[0].anchor == "entry-2"
    assert [(b.column, b.span) for b in weeks[3].bars] == [(1, 3)] and weeks[3].entries == ()


@pytest.fixture
def run_cli(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from caltac_inbox import cli as root

    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("")
    return lambda *args: CliRunner().invoke(root.main, list(args), catch_exceptions=False)


def test_doctor_checks_the_feeds(run_cli, samples_db, monkeypatch):
    assert "ok    feeds: none active; create one with `caltac-inbox feed create`" in \
        run_cli("--db", samples_db, "doctor").output
    create_feed(samples_db, "--name", "district office")
    assert "ok    feeds: 1 active: 1 (district office)" in run_cli("--db", samples_db, "doctor").output
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as in an install without the web extra
    doctor = run_cli("--db", samples_db, "doctor")
    assert "FAIL  feeds: feeds exist but the web server that serves them is not installed (no module uvicorn); " \
           "pip install 'caltac-inbox[web]'" in doctor.output
    assert doctor.exit_code == 2


def test_serve_without_the_web_extra_says_how_to_install_it(run_cli, samples_db, monkeypatch):
    monkeypatch.setitem(sys.modules, "starlette", None)
    done = run_cli("--db", samples_db, "serve")
    assert done.exit_code == 2
    assert done.output == ("caltac-inbox: error: the web server is not installed (no module starlette); "
                           "pip install 'caltac-inbox[web]' (with pipx: pipx inject caltac-inbox starlette uvicorn "
                           "jinja2)\n")


def test_a_calendar_is_rendered_once_for_simultaneous_requests():
    import threading
    import time

    from caltac_inbox.web.app import CalendarCache
    from caltac_inbox.web.http import FeedValidators

    cache, renders = CalendarCache(), []

    def pieces():
        for n in range(3):
            time.sleep(0.05)
            yield b"piece %d;" % n

    def render():
        renders.append(1)
        time.sleep(0.2)
        return FeedValidators('"1-x"', None), pieces()

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.rendered('"1-x"', render).body()))
               for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(renders) == 1 and results == [b"piece 0;piece 1;piece 2;"] * 5


def test_a_database_gone_mid_run_is_503_and_one_log_line(tmp_path, access_log):
    url = f"sqlite:///{tmp_path / 'gone.db'}"
    ingest(url, SAMPLES)
    feed = create_feed(url)
    with TestClient(create_app(ServeSettings(db_url=url, feed_horizon_months=None))) as client:
        assert client.get(feed["path"]).status_code == 200
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"gone.db{suffix}").unlink(missing_ok=True)
        gone = client.get(feed["path"])
        health = client.get("/healthz")
    assert (gone.status_code, gone.text, gone.headers["retry-after"]) == (503, "Service Unavailable", "60")
    assert health.status_code == 503 and health.json()["database"] == "unreachable"
    assert not (tmp_path / "gone.db").exists()  # nothing recreated it
    line = json.loads(access_log.records[-2].getMessage())
    assert line["status"] == 503 and line["error"].startswith("cannot read database ")
    assert "\n" not in line["error"] and feed["token"] not in access_log.text


def test_an_unexpected_error_is_a_500_and_one_log_line_without_secrets(access_log):
    from caltac_inbox.web.access import AccessLog

    secret = "Zx" * 22

    async def broken(scope, receive, send):
        if scope["type"] != "http":  # no lifespan
            return
        raise RuntimeError(f"boom at /calendar/{secret}.ics\nsecond line")

    response = TestClient(AccessLog(broken)).get(f"/calendar/{secret}.ics")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    (record,) = [r for r in access_log.records if r.name == ACCESS_LOGGER]
    line = json.loads(record.getMessage())
    assert line["error"] == "RuntimeError: boom at /calendar/[redacted].ics second line"
    assert secret not in access_log.text and "Traceback" not in access_log.text


def test_a_feed_shows_the_last_12_months_and_everything_ahead_unless_from_says(samples_db, feed, export_ics):
    from caltac_inbox.web.http import feed_start

    with TestClient(create_app(ServeSettings(db_url=samples_db))) as horizon_client:
        recent = horizon_client.get(feed["path"])
        assert recent.status_code == 200 and icalendar.Calendar.from_ical(recent.content).walk("VEVENT") == []
        since_2016 = horizon_client.get(feed["path"], params={"from": "2016-01-01"})
        everything = horizon_client.get(feed["path"], params={"from": "all"})
        assert normalize(since_2016.content) == normalize(everything.content) == normalize(export_ics(samples_db))
        since_2020 = icalendar.Calendar.from_ical(horizon_client.get(feed["path"], params={"from": "2020-01-01"})
                                                  .content).walk("VEVENT")
        assert 0 < len(since_2020) < 7
        assert len({recent.headers["etag"], since_2016.headers["etag"], everything.headers["etag"]}) == 3
        assert horizon_client.get(feed["path"], params={"from": "last year"}).status_code == 400
    assert feed_start([], date(2026, 12, 7)) == date(2025, 12, 1)
    assert feed_start([], date(2026, 1, 31)) == date(2025, 1, 1)


def test_a_bad_as_of_says_what_to_fix_not_to_open_a_private_link(samples_db):
    """D5: a 400 for a bad day is about the day, not about the token."""
    with TestClient(create_app(ServeSettings(db_url=samples_db, open_access=True))) as lan:
        page = lan.get("/", params={"as_of": "2020-13-01"})
    assert page.status_code == 400
    assert "Open your private link" not in page.text
    assert "<h1>This page cannot show that</h1>" in page.text and "as_of must be a day, YYYY-MM-DD" in page.text
