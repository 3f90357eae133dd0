"""Trust propagates, end to end on SQLite and PostgreSQL: a forged (unverified) cancel or
extension of a verified downtime leaves it in `upcoming` with a visible flag in the table,
`show`, the JSON, the .ics, `changes` and the notify command; `confirm`, `reject` and
`undo` settle it, and the decision survives `reparse --all`."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.system.test_corrections import cli  # noqa: F401 - fixture

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
VERIFIED = SAMPLES / "2020-07-15-transition-downtime.eml"  # A-R of mx.district.k12.ca.us: DKIM and DMARC pass
START = "2020-08-14T17:00:00-07:00"
CANCELLED_NOTE = "cancelled by an unverified notice: check"
EXTENDED_NOTE = "extended to 2020-08-21 08:00 by an unverified notice: check"


def notice(message_id: str, subject: str, sentence: str, *, sent: str = "Mon, 03 Aug 2020 09:00:00 -0700",
           auth: str = "dkim=fail header.d=info.ets.org; dmarc=fail header.from=info.ets.org") -> bytes:
    return "\r\n".join([
        "From: CAASPP <Do-Not-Reply@info.ets.org>", "To: LEA Coordinator <coordinator@district.k12.ca.us>",
        f"Subject: {subject}", f"Date: {sent}", f"Message-ID: <{message_id}@info.ets.org>",
        f"Authentication-Results: mx.district.k12.ca.us; {auth}",
        "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "",
        "Dear LEA CAASPP Coordinator:", "", sentence, ""]).encode()


FORGED_CANCEL = notice("forged-cancel", "CAASPP: Transition downtime cancelled",
                       "The CAASPP system downtime from Friday, August 14 at 5 p.m. through Thursday, August 20, "
                       "2020, at 8 a.m. has been cancelled. All CAASPP systems will remain available.")
FORGED_EXTENSION = notice("forged-ext", "CAASPP downtime extended",
                          "The CAASPP system downtime that began Friday, August 14, 2020, at 5 p.m. has been "
                          "extended through Friday, August 21, 2020, at 8 a.m.")


@pytest.fixture(autouse=True)
def _trusting_the_samples_server(cli, monkeypatch, tmp_path):  # noqa: F811 - after cli's empty configuration
    config = tmp_path / "caltac-inbox.toml"
    config.write_text('authserv_id = "mx.district.k12.ca.us"\n')
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(config))


def _write(tmp_path: Path, name: str, raw: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def _downtime(run, *args: str) -> dict:
    [entry] = [json.loads(line) for line in run(*args, "--json").splitlines()
               if json.loads(line)["kind"] == "downtime" and json.loads(line)["start"] == START]
    return entry


def _event(run, uid: str) -> str:
    text = run("export-ics").replace("\r\n", "\n").replace("\n ", "")
    return next(e for e in re.findall(r"BEGIN:VEVENT\n(.*?)END:VEVENT", text, re.S) if f"UID:{uid}@" in e)


def _page(db_url: str) -> str:
    from starlette.testclient import TestClient

    from caltac_inbox.web.app import ServeSettings, create_app

    with TestClient(create_app(ServeSettings(db_url=db_url, open_access=True))) as client:
        page = client.get("/", params={"as_of": "2020-08-01"})
    assert page.status_code == 200
    return page.text


@pytest.mark.slow
def test_a_forged_cancel_is_flagged_everywhere_and_the_coordinator_decides(cli, db_url, tmp_path):  # noqa: F811
    cli("ingest", VERIFIED)
    verified = _downtime(cli, "upcoming", "--as-of", "2020-08-01")
    assert verified["unverified"] is False and "pending" not in verified
    notified = tmp_path / "notified.json"
    catcher = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'wb').write(sys.stdin.buffer.read())\" {notified}"
    said = cli("ingest", _write(tmp_path, "cancel.eml", FORGED_CANCEL), "--notify-command", catcher)
    assert f"changed  downtime systems unavailable (CAASPP, from 2020-08-14 17:00): {CANCELLED_NOTE}" in said

    entry = _downtime(cli, "upcoming", "--as-of", "2020-08-01")  # still upcoming, still verified
    assert entry["uid"] == verified["uid"] and entry["status"] == "scheduled" and entry["unverified"] is False
    assert [p["note"] for p in entry["pending"]] == [CANCELLED_NOTE]
    assert re.search(rf"2020-08-20 08:00 .*scheduled .*{CANCELLED_NOTE}", cli("upcoming", "--as-of", "2020-08-01"))
    shown = cli("show", entry["id"])
    assert "status: scheduled" in shown and f"{CANCELLED_NOTE}  \"CAASPP: Transition downtime cancelled\"" in shown
    event = _event(cli, entry["uid"])
    assert "SUMMARY:[check] CAASPP downtime" in event and "Cancelled" not in event.split("DESCRIPTION")[0]
    assert "DTEND;TZID=America/Los_Angeles:20200820T080000" in event
    assert "Check: cancelled by an unverified notice (\"CAASPP: Transition downtime cancelled\"\\, 2020-08-03)" in event
    [change] = [json.loads(line) for line in cli("changes", "--since", "2000-01-01", "--json").splitlines()
                if json.loads(line)["after"].get("pending")]
    assert change["after"]["pending"][0]["note"] == CANCELLED_NOTE and change["change"] == "changed"
    [sent] = json.loads(notified.read_text())
    assert sent["uid"] == entry["uid"] and sent["after"]["pending"][0]["note"] == CANCELLED_NOTE
    assert CANCELLED_NOTE in _page(db_url)
    digest = cli("digest", "--as-of", "2020-08-10")
    assert re.search(rf"Pending change from an unverified notice: #{entry['id']} .*downtime.*{CANCELLED_NOTE} "
                     rf"\(caltac-inbox confirm {entry['id']} / reject {entry['id']}\)", digest)

    confirmed = json.loads(cli("confirm", entry["id"], "--by", "pat", "--json"))
    assert confirmed["action"] == "confirm" and confirmed["by"] == "pat"
    assert confirmed["values"]["changes"] == ["cancelled by an unverified notice"]
    assert verified["uid"] not in cli("upcoming", "--as-of", "2020-08-01", "--json")
    done = _downtime(cli, "timeline", "--include-cancelled")
    assert done["status"] == "cancelled" and "pending" not in done
    assert re.search(r"confirmed cancelled by an unverified notice by pat: active", cli("show", entry["id"]))
    everything = cli("timeline", "--include-cancelled", "--json")
    cli("reparse", "--all")
    assert cli("timeline", "--include-cancelled", "--json") == everything

    cli("undo", confirmed["id"])
    assert [p["note"] for p in _downtime(cli, "upcoming", "--as-of", "2020-08-01")["pending"]] == [CANCELLED_NOTE]
    cli("reject", entry["id"], "--reason", "CalTAC never sent it")
    rejected = _downtime(cli, "upcoming", "--as-of", "2020-08-01")
    assert rejected["status"] == "scheduled" and "pending" not in rejected
    assert re.search(r"scheduled .*rejected", cli("upcoming", "--as-of", "2020-08-01"))
    assert "Rejected by" in _event(cli, entry["uid"]) and "[check]" not in _event(cli, entry["uid"])
    assert "has no change from an unverified notice to reject" in cli("reject", entry["id"], code=1)
    assert "Pending change" not in cli("digest", "--as-of", "2020-08-10")


@pytest.mark.slow
def test_a_forged_extension_is_held_and_a_later_verified_notice_settles_it(cli, tmp_path):  # noqa: F811
    cli("ingest", VERIFIED)
    cli("ingest", _write(tmp_path, "ext.eml", FORGED_EXTENSION))
    entry = _downtime(cli, "upcoming", "--as-of", "2020-08-01")
    assert entry["end"] == "2020-08-20T08:00:00-07:00" and entry["status"] == "scheduled"
    assert [p["note"] for p in entry["pending"]] == [EXTENDED_NOTE]
    assert "DTEND;TZID=America/Los_Angeles:20200820T080000" in _event(cli, entry["uid"])

    real = notice("real-ext", "CAASPP downtime extended", "The CAASPP system downtime that began Friday, August 14, "
                  "2020, at 5 p.m. has been extended through Saturday, August 22, 2020, at 8 a.m.",
                  sent="Tue, 04 Aug 2020 09:00:00 -0700",
                  auth="dkim=pass header.d=info.ets.org; dmarc=pass header.from=info.ets.org")
    said = cli("ingest", _write(tmp_path, "real.eml", real))
    assert "no change from an unverified notice pending" in said
    settled = _downtime(cli, "upcoming", "--as-of", "2020-08-01")
    assert settled["end"] == "2020-08-22T08:00:00-07:00" and settled["status"] == "extended"
    assert "pending" not in settled


def test_an_outsiders_forward_of_a_forgery_is_unverified_and_only_flags_the_entry(cli, tmp_path):  # noqa: F811
    from tests.system.test_trust_dovecot import OUTSIDER_FORWARD

    cli("ingest", VERIFIED)
    cli("ingest", _write(tmp_path, "fw.eml", OUTSIDER_FORWARD))  # its own DKIM (outsider.example) passes
    entry = _downtime(cli, "upcoming", "--as-of", "2020-08-01")
    assert entry["end"] == "2020-08-20T08:00:00-07:00" and entry["status"] == "scheduled"
    assert [p["note"] for p in entry["pending"]] == [EXTENDED_NOTE]
    assert entry["pending"][0]["message_id"] == "<fw-forgery@outsider.example>"
    shown = cli("show", entry["id"])
    assert re.search(r"forwarded by friend@outsider.example\n    UNVERIFIED", shown)
