"""Freshness against a real Dovecot: a poll stores its time (and a failed one its error);
`upcoming` and `timeline` say when mail was checked and warn past max_age, `doctor`
exits non-zero, /healthz says stale, the web page warns."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from caltac_inbox.web.app import ServeSettings, create_app
from tests.dovecot import dovecot  # noqa: F401 - fixture
from tests.system.test_imap_dovecot import SAMPLES, WRONG_PASSWORD, Poller, sample_bytes


def _configure(poller: Poller, max_age: str | None) -> None:
    top = f"max_age = {max_age}\n" if max_age is not None else ""
    poller.config_file.write_text(top + poller.server.mailbox_toml())


@pytest.mark.dovecot
def test_a_poll_older_than_max_age_warns_everywhere_and_fails_doctor(tmp_path, dovecot):  # noqa: F811
    poller = Poller(tmp_path, dovecot)
    dovecot.append(sample_bytes())
    _configure(poller, None)
    assert poller.run().returncode == 0

    fresh = poller.run("--as-of", "2020-08-10", command="upcoming")
    assert fresh.returncode == 0 and "mail checked less than a minute ago" in fresh.stdout
    assert "warning" not in fresh.stderr
    doctor = poller.run(command="doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "ok    mailbox coordinator freshness: polled successfully less than a minute ago" in doctor.stdout
    [(attempted, succeeded, error)] = poller.query("SELECT attempted_at, succeeded_at, error FROM mailbox_polls")
    assert attempted == succeeded and error is None

    _configure(poller, '"0h"')  # every poll is now too old
    for command in ("upcoming", "timeline"):
        stale = poller.run("--as-of" if command == "upcoming" else "--from", "2020-08-10", command=command)
        assert stale.returncode == 0
        assert "caltac-inbox: warning: mail of mailbox coordinator last checked" in stale.stderr
        assert "the timeline may be out of date" in stale.stderr
    as_json = poller.run("--as-of", "2020-08-10", "--json", command="upcoming")
    assert all(json.loads(line) for line in as_json.stdout.splitlines())  # stdout stays JSON Lines
    assert "warning: mail of mailbox coordinator" in as_json.stderr
    doctor = poller.run(command="doctor")
    assert doctor.returncode == 1
    assert "FAIL  mailbox coordinator freshness: mail of mailbox coordinator last checked" in doctor.stdout

    settings = ServeSettings(db_url=f"sqlite:///{poller.db_file}", open_access=True, mailboxes=("coordinator",),
                             max_age=timedelta(0))
    with TestClient(create_app(settings)) as client:
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["stale"] is True
        [mailbox] = health["mailboxes"]
        assert mailbox["mailbox"] == "coordinator" and mailbox["stale"] is True and mailbox["age_seconds"] >= 0
        page = client.get("/", params={"as_of": "2020-08-10"}).text
        assert 'class="freshness">Mail checked' in page and 'class="stale warn" role="alert">Warning: mail' in page
    with TestClient(create_app(ServeSettings(db_url=settings.db_url, mailboxes=("coordinator",)))) as client:
        assert client.get("/healthz").json()["stale"] is False

    # a failed poll keeps the last success and says why it failed
    poller.env["CALTAC_TEST_IMAP_PASSWORD"] = WRONG_PASSWORD
    assert poller.run().returncode == 3
    [(attempted, kept, error)] = poller.query("SELECT attempted_at, succeeded_at, error FROM mailbox_polls")
    assert kept == succeeded and attempted > succeeded and "refused" in error
    assert WRONG_PASSWORD not in error
    warned = poller.run("--as-of", "2020-08-10", command="upcoming").stderr
    assert "the last poll failed: mailbox 'coordinator'" in warned


@pytest.mark.dovecot
def test_a_mailbox_whose_polls_all_failed_is_stale_and_files_only_users_see_nothing(tmp_path, dovecot):  # noqa: F811
    poller = Poller(tmp_path, dovecot)
    _configure(poller, None)
    assert poller.run(str(SAMPLES[0]), command="ingest").returncode == 0  # notices from a file, no poll
    assert "warning" not in poller.run(command="upcoming").stderr  # a new setup: not polled yet
    assert "not polled yet" in poller.run(command="doctor").stdout
    poller.env["CALTAC_TEST_IMAP_PASSWORD"] = WRONG_PASSWORD
    assert poller.run().returncode == 3
    done = poller.run(command="upcoming")
    assert "mailbox coordinator has never been polled successfully; the last poll failed" in done.stderr
    poller.config_file.write_text("")  # someone who only ingests files, into a database no poll wrote
    poller.env["CALTAC_INBOX_DB"] = f"sqlite:///{tmp_path / 'files-only.db'}"
    assert poller.run(str(SAMPLES[0]), command="ingest").returncode == 0
    quiet = poller.run(command="upcoming")
    assert "warning" not in quiet.stderr and "mail checked" not in quiet.stdout


def test_poll_records_keep_the_last_success_on_every_backend(store):
    """store.freshness on SQLite and PostgreSQL: a failure keeps the last success."""
    from datetime import datetime, timezone

    from caltac_inbox.store.freshness import record_poll
    from caltac_inbox.store.read import mailbox_polls

    first = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
    later = datetime(2026, 12, 8, 6, 0, tzinfo=timezone.utc)
    with store.session() as session:
        record_poll(session, "district", first)
    with store.session() as session:
        record_poll(session, "district", later, "mailbox 'district': login refused")
    with store.session(readonly=True) as session:
        [row] = mailbox_polls(session)
    assert (row["attempted_at"], row["succeeded_at"], row["error"]) == (later, first, "mailbox 'district': login refused")
