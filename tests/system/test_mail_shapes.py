"""Mail in other shapes gives the same facts as the .eml (issue 25): a Thunderbird-style
mbox whose notice has an unescaped "From 5 p.m. ..." line, an mboxcl2 file that relies on
Content-Length, a forward attached as base64 message/rfc822. Every shape is built here
from samples/."""
from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

from caltac_inbox.classify import classify
from caltac_inbox.model import RawMessage
from caltac_inbox.parse import parse_message
from caltac_inbox.sources.files import iter_paths

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
POSTMARK = b"From - Fri Sep 09 17:11:00 2016\n"


def facts_of(raw: bytes) -> tuple:
    return classify(parse_message(raw, "test"))


def lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def plain_notice_with_from_line() -> bytes:
    """The 2020 transition downtime notice as 8-bit text/plain, one line of it starting
    with "From 5 p.m." after a blank line, as Thunderbird stores it (unescaped)."""
    sample = email.message_from_bytes((SAMPLES / "2020-07-15-transition-downtime.eml").read_bytes(),
                                      policy=email.policy.default)
    text = sample.get_body(("plain",)).get_content()
    text = text.replace("This email serves as a reminder of upcoming CAASPP system downtime from Friday, "
                        "August 14 at 5 p.m.",
                        "This email serves as a reminder of upcoming CAASPP system downtime.\n\n"
                        "From 5 p.m. on Friday, August 14", 1)
    assert "\n\nFrom 5 p.m. on Friday" in text
    head = b"".join(f"{name}: {sample[name]}\n".encode() for name in
                    ("From", "To", "Subject", "Date", "Message-ID"))
    return (head + b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: 8bit\n\n" + text.encode("utf-8"))


def messages_in(path: Path) -> list[RawMessage]:
    found = list(iter_paths([str(path)]))
    assert all(isinstance(m, RawMessage) for m in found), found
    return found  # type: ignore[return-value]


def test_an_unescaped_from_line_inside_a_notice_does_not_split_the_mbox(tmp_path):
    notice = plain_notice_with_from_line()
    others = [lf((SAMPLES / name).read_bytes()) for name in
              ("2016-09-09-extended-downtime.eml", "2019-03-18-credential-reminder.eml")]
    mbox = tmp_path / "Inbox"  # Thunderbird's file name, no extension
    mbox.write_bytes(b"".join(POSTMARK + m.rstrip(b"\n") + b"\n\n" for m in [others[0], notice, others[1]]))
    got = messages_in(mbox)
    assert len(got) == 3
    expected = facts_of(notice)
    assert expected and facts_of(got[1].raw) == expected
    assert [facts_of(m.raw) for m in (got[0], got[2])] == [facts_of(o) for o in others]


def test_an_mboxcl2_file_is_split_by_content_length(tmp_path):
    notices = [lf((SAMPLES / name).read_bytes()) for name in sorted(p.name for p in SAMPLES.glob("*.eml"))]
    notices.insert(1, plain_notice_with_from_line())
    parts = []
    for raw in notices:
        head, body = raw.split(b"\n\n", 1)
        # mboxcl2: no escaping, no blank line between messages, the length says where one ends
        body = body.rstrip(b"\n") + b"\n"
        parts.append(POSTMARK + head + b"\nContent-Length: %d\n\n" % len(body) + body)
    mbox = tmp_path / "archive.mbox"
    mbox.write_bytes(b"".join(parts))
    got = messages_in(mbox)
    assert len(got) == len(notices)
    for raw, message in zip(notices, got):
        assert facts_of(message.raw) == facts_of(raw)
    assert any(facts_of(raw) for raw in notices)


def test_a_wrong_content_length_is_ignored(tmp_path):
    notices = [lf((SAMPLES / name).read_bytes()) for name in
               ("2016-09-09-extended-downtime.eml", "2019-03-18-credential-reminder.eml")]
    head, body = notices[0].split(b"\n\n", 1)
    mbox = tmp_path / "archive.mbox"
    mbox.write_bytes(POSTMARK + head + b"\nContent-Length: 17\n\n" + body.rstrip(b"\n") + b"\n\n"
                     + POSTMARK + notices[1])
    got = messages_in(mbox)
    assert len(got) == 2 and facts_of(got[0].raw) == facts_of(notices[0])


def test_a_forward_attached_as_base64_message_rfc822_is_decoded():
    attached = (SAMPLES / "2016-09-09-extended-downtime-attached.eml").read_bytes()
    original = (SAMPLES / "2016-09-09-extended-downtime.eml").read_bytes()
    outer = email.message_from_bytes(attached)
    inner = next(p for p in outer.walk() if p.get_content_type() == "message/rfc822")
    raw_inner = inner.get_payload()[0].as_bytes()
    encoded = base64.encodebytes(raw_inner).decode()
    # rewrite the attachment with a base64 transfer encoding, as some clients send it
    text = attached.decode("utf-8", "surrogateescape")
    head, _, rest = text.partition("Content-Type: message/rfc822")
    part_headers, _, _ = rest.partition("\n\n")
    boundary = outer.get_boundary()
    assert "Content-Transfer-Encoding: 8bit" in part_headers
    part_headers = part_headers.replace("Content-Transfer-Encoding: 8bit", "Content-Transfer-Encoding: base64")
    rebuilt = head + "Content-Type: message/rfc822" + part_headers + "\n\n" + encoded + f"\n--{boundary}--\n"
    expected = facts_of(original)
    assert expected and facts_of(attached) == expected
    assert facts_of(rebuilt.encode("utf-8", "surrogateescape")) == expected


def test_directory_ingest_tries_every_file_reads_a_bom_and_says_what_it_skipped(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from caltac_inbox import cli

    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "no-config.toml").write_text("")
    mail = tmp_path / "mail"
    mail.mkdir()
    downtime = (SAMPLES / "2016-09-09-extended-downtime.eml").read_bytes()
    (mail / "notice.txt").write_bytes(downtime)  # mail under another name
    (mail / "0042").write_bytes((SAMPLES / "2019-03-18-credential-reminder.eml").read_bytes())
    (mail / "bom.eml").write_bytes(b"\xef\xbb\xbf" + (SAMPLES / "2019-09-03-designated-lea-coordinator.eml"
                                                       ).read_bytes())
    (mail / "notes.txt").write_text("Things to ask CalTAC about.\n")
    (mail / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    db = f"sqlite:///{tmp_path / 'caltac.db'}"
    result = CliRunner().invoke(cli.main, ["--db", db, "ingest", "--json", str(mail)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["new"] == 3 and report["failed"] == 0 and report["facts"] > 0
    assert sorted(report["skipped"]) == [str(mail / "notes.txt"), str(mail / "picture.png")]
    [warning] = result.stderr.splitlines()
    assert warning.startswith("caltac-inbox: warning: skipped 2 file(s)") and "notes.txt" in warning



def test_a_damaged_header_line_is_skipped_and_the_message_stored_as_partial(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from caltac_inbox import cli

    raw = lf((SAMPLES / "2019-03-18-credential-reminder.eml").read_bytes())
    head, body = raw.split(b"\n\n", 1)
    first, rest = head.split(b"\n", 1)
    damaged = first + b"\nthis line lost its colon\n" + rest + b"\n\n" + body
    notice = parse_message(damaged, "damaged.eml")
    assert notice.sender and notice.subject and notice.sent
    assert notice.damage and "damaged header line 2" in notice.damage
    assert facts_of(damaged) == facts_of(raw)
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "no-config.toml").write_text("")
    (tmp_path / "damaged.eml").write_bytes(damaged)
    db = f"sqlite:///{tmp_path / 'caltac.db'}"
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--db", db, "ingest", str(tmp_path / "damaged.eml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli.main, ["--db", db, "messages", "--json"], catch_exceptions=False)
    [row] = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()] \
        if not listed.stdout.lstrip().startswith("[") else json.loads(listed.stdout)
    assert row["parse_status"] == "partial" and "damaged header line 2" in row["parse_error"]


def test_a_date_before_1970_is_kept():
    raw = b"From: CalTAC <caltac@ets.org>\nSubject: Old\nDate: Fri, 1 Jan 1965 10:00:00 -0800\n\nhello\n"
    sent = parse_message(raw, "old.eml").sent
    assert sent is not None and (sent.year, sent.month, sent.day, sent.hour) == (1965, 1, 1, 10)


def test_an_encoded_word_with_raw_8bit_bytes_is_decoded():
    raw = ("From: CalTAC <caltac@ets.org>\nSubject: =?utf-8?Q?R\u00e9union_TOMS_=E2=80=93_downtime?=\n"
           "Date: Tue, 1 Jan 2019 10:00:00 -0800\n\nhello\n").encode("utf-8")
    assert parse_message(raw, "x").subject == "R\u00e9union TOMS \u2013 downtime"
    latin = ("From: CalTAC <caltac@ets.org>\nSubject: =?iso-8859-1?Q?d\u00e9j\u00e0_vu?=\n"
             "Date: Tue, 1 Jan 2019 10:00:00 -0800\n\nhello\n").encode("latin-1")
    assert parse_message(latin, "x").subject == "d\u00e9j\u00e0 vu"


def test_a_file_that_looks_like_mail_below_a_damaged_first_line_is_archived(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from caltac_inbox import cli

    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "no-config.toml").write_text("")
    raw = lf((SAMPLES / "2019-03-18-credential-reminder.eml").read_bytes())
    (tmp_path / "saved.msg").write_bytes(b"%%% exported by some mail client %%%\n" + raw)
    db = f"sqlite:///{tmp_path / 'caltac.db'}"
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--db", db, "ingest", str(tmp_path / "saved.msg")], catch_exceptions=False)
    assert result.exit_code == 1 and "saved.msg" in result.stderr  # it fails to parse ...
    listed = runner.invoke(cli.main, ["--db", db, "messages", "--failed", "--json"], catch_exceptions=False)
    rows = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    [row] = rows if isinstance(rows[0], dict) else rows[0]
    assert row["parse_status"] == "failed" and row["source"].endswith("saved.msg")  # ... but it is archived
    reparsed = runner.invoke(cli.main, ["--db", db, "reparse", "--failed"], catch_exceptions=False)
    assert "saved.msg" in reparsed.output  # and reparse sees it
