"""`read` and `read --raw` end to end on SQLite and PostgreSQL, `show`'s pointers to it,
and the web page's read-only view of a source notice."""
from __future__ import annotations

import json
import re

from click.testing import CliRunner
from starlette.testclient import TestClient

from caltac_inbox.cli import main
from caltac_inbox.web.app import ServeSettings, create_app
from tests.system import test_corrections
from tests.system.test_corrections import SAMPLES, _entry
from tests.web import HOSTILE_SUBJECT, create_feed, hostile_notice

cli = test_corrections.cli  # the same fixture: the CLI on each backend's empty database
HTML = SAMPLES / "2020-07-15-transition-downtime-html.eml"
HTML_ID = "caltac-inbox-sample.002.html.202007151239@info.ets.org"


def _raw(db_url: str, *args: str) -> bytes:
    result = CliRunner().invoke(main, ["--db", db_url, "read", "--raw", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_read_prints_the_notice_as_a_person_reads_it_and_raw_is_the_ingested_file(cli, db_url):
    cli("ingest", SAMPLES)
    text = cli("read", HTML_ID)
    head, body = text.split("\n\n", 1)
    assert head.splitlines() == [
        "From: CAASPP <Do-Not-Reply@info.ets.org>",
        "To: LEA Coordinator <coordinator@district.k12.ca.us>",
        "Date: Wed, Jul 15, 2020 12:39 PM PDT",
        "Subject: CAASPP: Preparing to Transition to the 2020-21 Administration"]
    assert "from Friday, August 14 at 5 p.m. through Thursday, August 20, 2020, at 8 a.m." in body
    assert "<" not in body.split("Coordinators can then upload")[0] and "</p>" not in body  # HTML rendered as text
    assert cli("read", f"<{HTML_ID}>") == text  # as `show` lists it, brackets and all
    assert _raw(db_url, HTML_ID) == HTML.read_bytes()
    for path in sorted(SAMPLES.glob("*.eml")):  # every sample comes back byte for byte
        archive_id = next(m["id"] for m in map(json.loads, cli("messages", "--json").splitlines())
                          if m["source"].endswith(path.name))
        assert _raw(db_url, str(archive_id)) == path.read_bytes(), path.name


def test_read_unwraps_a_forward_and_show_says_how_to_read_each_source(cli):
    cli("ingest", SAMPLES)
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    shown = cli("show", downtime["id"])
    commands = re.findall(r"read it: caltac-inbox read (\S+)", shown)
    sources = shown.split("\nSources:\n")[1].split("\nHistory:")[0]
    assert HTML_ID in commands and len(commands) == len(re.findall(r"^  - ", sources, re.M))
    texts = [cli("read", c) for c in commands]
    forwarded = [t for t in texts if "Forwarded by: " in t]
    assert forwarded and all(t.startswith("From: CAASPP <Do-Not-Reply@info.ets.org>\n") for t in forwarded)
    assert "-----Original Message-----" not in forwarded[0].split("-- the forwarder's note --")[0]


def test_read_removes_control_characters_and_unknown_ids_are_one_line_errors(cli, tmp_path):
    (tmp_path / "hostile.eml").write_bytes(hostile_notice())
    cli("ingest", tmp_path / "hostile.eml")
    text = cli("read", "hostile@info.ets.org")
    assert "\x1b" not in text and "\x07" not in text
    assert "Subject: <script>alert(1)</script> Downtime & <b>" in text
    missing = cli("read", "no-such-notice@example.org", code=1)
    assert "no stored message with Message-ID or archive id 'no-such-notice@example.org'" in missing


def test_the_web_page_links_each_source_to_its_escaped_text_under_the_same_token(cli, db_url, tmp_path):
    cli("ingest", SAMPLES)
    (tmp_path / "hostile.eml").write_bytes(hostile_notice())
    cli("ingest", tmp_path / "hostile.eml")
    feed = create_feed(db_url, "--name", "office")
    with TestClient(create_app(ServeSettings(db_url=db_url))) as client:
        assert client.get("/notice/1").status_code == 401  # no token, no notice
        client.get("/", params={"token": feed["token"]})
        page = client.get("/", params={"as_of": "2016-08-01", "days": "366"}).text
        links = sorted(set(re.findall(r'href="/notice/(\d+)"', page)))
        assert links
        notice = client.get(f"/notice/{links[0]}")
        assert notice.status_code == 200 and "<pre class=\"notice-body\">" in notice.text
        hostile_id = next(m["id"] for m in map(json.loads, cli("messages", "--json").splitlines())
                          if m["message_id"] and "hostile" in m["message_id"])
        hostile = client.get(f"/notice/{hostile_id}").text
        assert "<script>alert" not in hostile and "&lt;script&gt;alert" in hostile and "\x1b" not in hostile
        assert client.get("/notice/999999").status_code == 404
        assert client.get("/notice/abc").status_code == 404
    assert HOSTILE_SUBJECT  # the subject the hostile notice carries
