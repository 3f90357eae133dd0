"""One notice, one archive entry (issue 15, DESIGN.md IMAP rule 3): the same message read
by two routes (an mbox export with LF line ends, then the IMAP copy with CRLF; mbox
">From " quoting; a trailing newline more or less) is archived once and listed once
as a source. Two different messages that share a Message-ID are both archived, and
their entry lists that notice once."""
from __future__ import annotations

import json

import sqlalchemy as sa

from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.sources.files import iter_paths
from tests.fakes import DOWNTIME, fake_classify, fake_parse, make_eml
from tests.system.test_cli import fakes, run  # noqa: F401 - fixtures
from tests import queries

FAKES = dict(parser=fake_parse, classifier=fake_classify)
BODY = "Dear coordinator,\r\nFrom the CAASPP team: TOMS will be down.\r\n"


def _imap_copy() -> bytes:
    return make_eml(message_id="<notice-1@ets.org>", body=BODY, facts=[DOWNTIME])


def _mbox_export(tmp_path):
    """The same message as a mail program exports it: LF, an envelope line, status
    headers, the body's "From " line quoted, a blank line more at the end."""
    lf = _imap_copy().replace(b"\r\n", b"\n")
    head, _, body = lf.partition(b"\n\n")
    body = body.replace(b"\nFrom the", b"\n>From the")
    message = head + b"\nStatus: RO\nX-Mozilla-Status: 0001\n\n" + body + b"\n"
    path = tmp_path / "export.mbox"
    path.write_bytes(b"From MAILER-DAEMON Tue Jul 14 12:00:00 2020\n" + message + b"\n")
    return path


def _archived(store) -> list[dict]:
    return store.messages()


def test_an_mbox_export_and_the_imap_copy_are_one_archive_entry(store, tmp_path):
    first = ingest(store, iter_paths([str(_mbox_export(tmp_path))]), **FAKES)
    assert (first.new, first.facts) == (1, 1)
    imap = RawMessage(_imap_copy(), "coordinator/INBOX/7/42", mailbox="coordinator", folder="INBOX",
                      uidvalidity=7, uid=42)
    second = ingest(store, [imap], **FAKES)
    assert (second.new, second.duplicates, second.facts) == (0, 1, 0)
    [message] = _archived(store)
    assert message["source"].endswith("export.mbox#1")
    with store.session() as s:  # the IMAP UID is recorded against the archived copy: the checkpoint moves on
        rows = s.execute(sa.text("SELECT uid, message_pk, status FROM imap_messages")).all()
    assert [tuple(r) for r in rows] == [(42, message["id"], "stored")]
    [entry] = queries.timeline(store)
    assert len(entry["sources"]) == 1
    assert len(queries.show(store, entry["id"])["source_details"]) == 1


def test_the_other_order_and_a_trailing_newline_too(store):
    crlf = _imap_copy()
    variants = [crlf, crlf.replace(b"\r\n", b"\n"), crlf + b"\r\n", crlf.rstrip(b"\r\n"),
                crlf.replace(b"\r\nFrom the", b"\r\n>From the")]
    report = ingest(store, [RawMessage(raw, f"copy{i}.eml") for i, raw in enumerate(variants)], **FAKES)
    assert (report.new, report.duplicates) == (1, len(variants) - 1)
    assert len(_archived(store)) == 1


def test_through_the_command_line(run, fakes, tmp_path, db_url):  # noqa: F811
    mbox = _mbox_export(tmp_path)
    copy = tmp_path / "imap-copy.eml"
    copy.write_bytes(_imap_copy())
    assert "1 new" in run("--db", db_url, "ingest", mbox).output
    assert "nothing new stored" in run("--db", db_url, "ingest", copy).output
    assert len(run("--db", db_url, "messages", "--json").output.splitlines()) == 1


def test_different_messages_sharing_a_message_id_are_both_archived_and_listed_once(store, run, tmp_path):  # noqa: F811
    original = make_eml(message_id="<notice-1@ets.org>", body="TOMS will be down.", facts=[DOWNTIME])
    resent = make_eml(message_id="<notice-1@ets.org>", body="TOMS will be down. (resent)", facts=[DOWNTIME])
    report = ingest(store, [RawMessage(original, "a.eml"), RawMessage(resent, "b.eml")], **FAKES)
    assert report.new == 2 and len(_archived(store)) == 2
    [entry] = queries.timeline(store)
    assert [s["message_id"] for s in entry["sources"]] == ["<notice-1@ets.org>"]
    assert len(queries.show(store, entry["id"])["source_details"]) == 1
    ics = run("--db", str(store.engine.url.render_as_string(hide_password=False)), "export-ics").output
    assert ics.count("Notice: CAASPP notice") == 1


def test_copies_archived_before_the_migration_stay_and_the_next_copy_is_a_duplicate(db_url):
    from caltac_inbox.store.writer import open_store
    from caltac_inbox.store import db

    crlf = _imap_copy()
    with open_store(db_url) as store:
        ingest(store, [RawMessage(crlf, "a.eml")], **FAKES)
        db.downgrade(store.engine, "0004")
        with store.engine.begin() as conn:  # what 0004 did with the LF copy: a second row
            conn.execute(sa.text(
                "INSERT INTO messages (sha256, raw, size, origin, source, message_id, parse_status, archived_at) "
                "SELECT 'lf-copy', :raw, size, origin, 'b.mbox#1', message_id, parse_status, archived_at "
                "FROM messages"), {"raw": crlf.replace(b"\r\n", b"\n")})
        db.upgrade(store.engine)
        with store.session() as s:
            identities = s.execute(sa.text("SELECT source, identity FROM messages ORDER BY id")).all()
        assert identities[0][1] is not None and identities[1] == ("b.mbox#1", None)  # kept, not deleted
        report = ingest(store, [RawMessage(crlf + b"\r\n", "c.eml")], **FAKES)
        assert report.duplicates == 1 and len(store.messages()) == 2
        assert json.dumps(store.messages()[1]["source"]) == '"b.mbox#1"'
