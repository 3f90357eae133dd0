"""Issue 7 leftovers: secrets never leak, kill -9 during ingest, database faults,
and unauthenticated notices shown as unverified everywhere.

Each test goes through the real CLI (a subprocess where a crash or another user is
needed) and fails when the protection it names is removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from caltac_inbox import cli
from tests.dovecot import dovecot  # noqa: F401 - fixture
from tests.fakes import DESIGNATION, DOWNTIME, fake_classify, make_eml

ROOT = Path(__file__).resolve().parents[2]
# The real CLI with the stand-in parser/classifier, so every message stores (fast, deterministic).
FAKE_CLI = [sys.executable, "-c",
            "import caltac_inbox.pipeline as p; from tests import fakes; "
            "p.default_parser = lambda: fakes.fake_parse; p.default_classifier = lambda: fakes.fake_classify; "
            "from caltac_inbox.cli import main; main()"]


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def stored_hashes(db_file: Path) -> list[str]:
    if not db_file.exists():
        return []
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
    try:
        return [r[0] for r in conn.execute("SELECT sha256 FROM messages")]
    except sqlite3.OperationalError:  # being created
        return []
    finally:
        conn.close()


def secret_forms(secret: str, user: str) -> list[bytes]:
    """The ways a secret could be written down: as text, UTF-16, and base64 of the secret
    and of the SASL strings that carry it (XOAUTH2, PLAIN)."""
    import base64

    sasl = [f"user={user}\x01auth=Bearer {secret}\x01\x01", f"\x00{user}\x00{secret}"]
    return [secret.encode(), secret.encode("utf-16-le"), base64.b64encode(secret.encode()),
            *(base64.b64encode(s.encode()) for s in sasl)]


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               CALTAC_INBOX_CONFIG=str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("")
    env.pop("CALTAC_INBOX_DB", None)
    env.update(extra)
    return env


def generated_mail(directory: Path, n: int) -> list[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    raws = []
    for i in range(n):
        raw = make_eml(message_id=f"<gen{i}@x>", facts=[DOWNTIME] if i % 2 else [DESIGNATION], body=f"notice {i}")
        (directory / f"{i:04d}.eml").write_bytes(raw)
        raws.append(raw)
    return raws


# -- interruptions ----------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun_stores_every_message_exactly_once(tmp_path):
    mail = tmp_path / "mail"
    raws = generated_mail(mail, 400)
    db_file = tmp_path / "caltac.db"
    args = [*FAKE_CLI, "--db", f"sqlite:///{db_file}", "ingest", str(mail)]
    env = cli_env(tmp_path)
    proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(stored_hashes(db_file)) < 5:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "ingest did not start storing"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    at_kill = stored_hashes(db_file)
    assert 0 < len(at_kill) < len(raws), "the ingest was not interrupted in the middle"

    rerun = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    hashes = stored_hashes(db_file)
    assert len(hashes) == len(set(hashes))
    assert sorted(hashes) == sorted(sha(r) for r in raws)


# -- database faults ----------------------------------------------------------------------


def _one_line_db_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 5, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caltac-inbox: error: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


def _run_as_unprivileged(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run as `nobody` when we are root: root ignores file permissions, nobody does not."""
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        args = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *args]
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def populated_db():
    """A SQLite database holding one message, in its own directory. Not pytest's tmp_path:
    the child may run as nobody, who cannot enter /tmp/pytest-of-root."""
    base = Path(tempfile.mkdtemp(prefix="caltac-robust-"))
    os.chmod(base, 0o755)
    place = base / "dbdir"
    place.mkdir()
    db_file = place / "caltac.db"
    (base / "first").mkdir()
    (base / "first" / "a.eml").write_bytes(make_eml(message_id="<first@x>", facts=[DESIGNATION]))
    (base / "second").mkdir()
    (base / "second" / "b.eml").write_bytes(make_eml(message_id="<second@x>", facts=[DOWNTIME]))
    env = cli_env(base, HOME=str(base))
    done = subprocess.run([*FAKE_CLI, "--db", f"sqlite:///{db_file}", "ingest", str(base / "first")],
                          env=env, cwd=base, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # checkpoint the WAL into the main file and drop -wal/-shm, as after a clean close
    conn = sqlite3.connect(db_file)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    yield base, db_file, env
    os.chmod(place, 0o755)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("what", ["read-only file", "read-only directory (disk full)", "new file in read-only directory"])
def test_unwritable_sqlite_is_exit_5_one_line_nothing_written(populated_db, what):
    tmp_path, db_file, env = populated_db
    place = db_file.parent
    if what == "new file in read-only directory":
        db_file.unlink()
    before = {p.name: p.read_bytes() for p in place.iterdir()}
    if os.geteuid() == 0:
        os.chown(place, 65534, 65534)
        if db_file.exists():
            os.chown(db_file, 65534, 65534)
    if what == "read-only file":
        os.chmod(db_file, 0o444)
    else:
        # the file is writable but nothing can be created beside it (its -wal/-shm, a new db)
        os.chmod(place, 0o555)
    try:
        done = _run_as_unprivileged([*FAKE_CLI, "--db", f"sqlite:///{db_file}", "ingest", str(tmp_path / "second")],
                                    env, tmp_path)
    finally:
        os.chmod(place, 0o755)
    line = _one_line_db_error(done)
    assert str(place) in line
    assert {p.name: p.read_bytes() for p in place.iterdir()} == before


def test_locked_sqlite_is_exit_5_one_line_nothing_written(tmp_path, monkeypatch):
    import caltac_inbox.pipeline as pipeline
    from caltac_inbox.store import db
    from tests.fakes import fake_parse

    monkeypatch.setattr(pipeline, "default_parser", lambda: fake_parse)
    monkeypatch.setattr(pipeline, "default_classifier", lambda: fake_classify)
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("")
    db_file = tmp_path / "caltac.db"
    url = f"sqlite:///{db_file}"
    for name, facts in (("first", [DESIGNATION]), ("second", [DOWNTIME])):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.eml").write_bytes(make_eml(message_id=f"<{name}@x>", facts=facts))
    runner = CliRunner()
    assert runner.invoke(cli.main, ["--db", url, "ingest", str(tmp_path / "first")]).exit_code == 0

    holder = sqlite3.connect(db_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = runner.invoke(cli.main, ["--db", url, "ingest", str(tmp_path / "second")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.exit_code == 5, locked.output
    lines = locked.stderr.strip().splitlines()
    assert len(lines) == 1 and "locked" in lines[0] and str(db_file) in lines[0], locked.stderr
    assert len(stored_hashes(db_file)) == 1

    again = runner.invoke(cli.main, ["--db", url, "ingest", str(tmp_path / "second")])
    assert again.exit_code == 0, again.output
    assert len(stored_hashes(db_file)) == 2


@pytest.mark.postgres  # psycopg, to reach a port where no server listens
def test_postgres_down_is_exit_5_one_line(tmp_path):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(make_eml(facts=[DESIGNATION]))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://caltac:Pg-Secret-77@127.0.0.1:{port}/caltac?connect_timeout=3"
    for command in (["ingest", str(tmp_path / "mail")], ["upcoming"]):
        done = subprocess.run([*FAKE_CLI, "--db", url, *command], env=cli_env(tmp_path), cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        line = _one_line_db_error(done)
        assert f"127.0.0.1:{port}" in line and "Pg-Secret-77" not in done.stdout + done.stderr


# -- unverified notices ------------------------------------------------------------------------


def _with_header(raw: bytes, line: str) -> bytes:
    """`raw` with a header field added on top (as a server, or a forger, would)."""
    return line.encode() + b"\r\n" + raw


FORGED = {  # name -> (message, whether `ingest --authserv-id mx.district.example` may verify it)
    "no-header": (make_eml(message_id="<no-header@x>", facts=[DOWNTIME]), False),
    "forged-by-sender": (_with_header(make_eml(message_id="<forged@x>", facts=[DOWNTIME]),
                                      "Authentication-Results: mx.attacker.example; dkim=pass header.d=info.ets.org; "
                                      "dmarc=pass header.from=info.ets.org"), False),
    "dkim-pass-without-domain": (make_eml(message_id="<no-d@x>", facts=[DOWNTIME], auth="dkim=pass"), False),
    "ours-below-forged-pass": (_with_header(
        _with_header(make_eml(message_id="<below@x>", facts=[DOWNTIME]),
                     "Authentication-Results: mx.district.example; dkim=pass header.d=info.ets.org"),
        "Authentication-Results: mx.district.example; dkim=fail header.d=info.ets.org; dmarc=fail "
        "header.from=info.ets.org\r\nReceived: by mx.district.example"), False),
    "genuine": (make_eml(message_id="<genuine@x>", facts=[DESIGNATION],
                         auth="dkim=pass header.d=info.ets.org; dmarc=pass header.from=info.ets.org"), True),
}


@pytest.mark.parametrize("authserv", [None, "mx.district.example"])
def test_a_forged_sender_is_unverified(tmp_path, monkeypatch, authserv):
    """Ingested with the real parser: only our receiving server's verdict (named by
    --authserv-id) verifies a sender; without it, or without its header, nothing does."""
    import caltac_inbox.pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_classifier", lambda: fake_classify)
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("")
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    for name, (raw, _) in FORGED.items():
        (tmp_path / f"{name}.eml").write_bytes(raw)
    trust = ["--authserv-id", authserv] if authserv else []
    done = CliRunner().invoke(cli.main, ["--db", url, "ingest", *trust, *(str(tmp_path / f"{n}.eml") for n in FORGED)])
    assert done.exit_code == 0, done.output
    conn = sqlite3.connect(tmp_path / "caltac.db")
    try:
        unverified = dict(conn.execute(
            "SELECT m.source, min(f.unverified) FROM facts f JOIN messages m ON m.id = f.message_pk GROUP BY m.id"))
    finally:
        conn.close()
    assert {Path(source).stem: bool(flag) for source, flag in unverified.items()} == {
        name: not (authserv and verifiable) for name, (_, verifiable) in FORGED.items()}


def test_unauthenticated_notice_is_shown_unverified_in_upcoming_show_and_ics(tmp_path, monkeypatch):
    """Real parser (reads Authentication-Results), stand-in classifier (facts from the body)."""
    import caltac_inbox.pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_classifier", lambda: fake_classify)
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("")
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "spoofed.eml").write_bytes(make_eml(
        message_id="<spoof@x>", facts=[DOWNTIME],
        auth="dkim=fail header.d=info.ets.org; spf=fail; dmarc=fail header.from=info.ets.org"))
    (mail / "genuine.eml").write_bytes(make_eml(
        message_id="<real@x>", facts=[DESIGNATION],
        auth="dkim=pass header.d=info.ets.org; spf=pass; dmarc=pass header.from=info.ets.org"))
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(cli.main, ["--db", url, *args])
        assert done.exit_code == 0, done.output
        return done.stdout

    run("ingest", "--authserv-id", "mx.district.example", str(mail))
    rows = {r["kind"]: r for r in map(json.loads, run("timeline", "--json").splitlines())}
    assert rows["downtime"]["unverified"] is True and rows["designation"]["unverified"] is False

    up = [json.loads(x) for x in run("upcoming", "--as-of", "2020-08-01", "--json").splitlines()]
    assert [(r["kind"], r["unverified"]) for r in up] == [("downtime", True)]
    table = run("upcoming", "--as-of", "2020-08-01")
    assert "unverified" in table

    shown = run("show", str(rows["downtime"]["id"]))
    assert "unverified: yes" in shown and "UNVERIFIED" in shown
    assert json.loads(run("show", str(rows["downtime"]["id"]), "--json"))["unverified"] is True
    genuine = run("show", str(rows["designation"]["id"]))
    assert "unverified: no" in genuine and "UNVERIFIED" not in genuine

    ics = run("export-ics")
    summaries = [line for line in ics.splitlines() if line.startswith("SUMMARY:")]
    assert any(s.startswith("SUMMARY:[unverified] ") for s in summaries), summaries
    assert any(not s.startswith("SUMMARY:[unverified]") for s in summaries), summaries

    # the same notice arriving authenticated makes the entry verified
    (mail / "genuine-copy.eml").write_bytes(make_eml(
        message_id="<spoof-genuine@x>", facts=[DOWNTIME], body="copy",
        auth="dkim=pass header.d=info.ets.org; dmarc=pass header.from=info.ets.org"))
    run("ingest", "--authserv-id", "mx.district.example", str(mail))
    up = [json.loads(x) for x in run("upcoming", "--as-of", "2020-08-01", "--json").splitlines()]
    assert [(r["kind"], r["unverified"]) for r in up] == [("downtime", False)]


# -- secrets --------------------------------------------------------------------------------


@pytest.mark.dovecot
@pytest.mark.parametrize("source", ["password_env", "password_command", "oauth2_token_command"])
def test_the_imap_secret_is_nowhere_in_output_logs_or_database(tmp_path, dovecot, source):  # noqa: F811
    """The IMAP password, or the OAuth2 access token (Dovecot's XOAUTH2 checks the bearer
    token against its passdb, so the static password is the one valid token)."""
    from tests.system.test_imap_dovecot import WRONG_PASSWORD, Poller, sample_bytes

    poller = Poller(tmp_path, dovecot)
    secret = dovecot.password
    if source != "password_env":
        poller.env.pop("CALTAC_TEST_IMAP_PASSWORD")
        poller.env["CALTAC_TEST_SECRET_SOURCE"] = secret
        command = json.dumps([sys.executable, "-c", "import os; print(os.environ['CALTAC_TEST_SECRET_SOURCE'])"])
        poller.config_file.write_text(poller.config_file.read_text().replace(
            'password_env = "CALTAC_TEST_IMAP_PASSWORD"', f"{source} = {command}"))
    assert secret not in poller.config_file.read_text()
    dovecot.append(sample_bytes())

    runs = {
        "poll --json": poller.run("--json"),
        "--debug poll": poller.run("poll", command="--debug"),
        "doctor": poller.run(command="doctor"),
        "messages --json": poller.run("--json", command="messages"),
    }
    # exit 1 would only mean a classifier error, which is not what this test is about
    assert runs["poll --json"].returncode in (0, 1), runs["poll --json"].stderr
    assert json.loads(runs["poll --json"].stdout)["new"] == len(sample_bytes())
    assert poller.stored_count() == len(sample_bytes())

    if source == "oauth2_token_command":
        assert "method=XOAUTH2" in dovecot.log()
    env_name = "CALTAC_TEST_IMAP_PASSWORD" if source == "password_env" else "CALTAC_TEST_SECRET_SOURCE"
    poller.env[env_name] = WRONG_PASSWORD
    dovecot.append(sample_bytes()[:1])
    runs["wrong poll"] = poller.run()
    runs["wrong poll --json"] = poller.run("--json")
    runs["wrong --debug poll"] = poller.run("poll", "--json", command="--debug")
    runs["wrong doctor"] = poller.run(command="doctor")
    for name in ("wrong poll", "wrong poll --json", "wrong doctor"):
        assert runs[name].returncode == 3, (name, runs[name].stderr)
        assert "Traceback" not in runs[name].stderr

    for name, done in runs.items():
        for secret_text in (secret, WRONG_PASSWORD):
            assert secret_text not in done.stdout + done.stderr, name
    # logs, state, lock files, the database and its WAL: the raw bytes, whatever they hold
    db_files = [p for p in (poller.db_file, Path(f"{poller.db_file}-wal"), Path(f"{poller.db_file}-shm"))
                if p.exists()]
    assert poller.db_file in db_files
    for path in {*poller.tmp.rglob("*"), *db_files}:
        if path.is_file():
            data = path.read_bytes()
            for secret_text in (secret, WRONG_PASSWORD):
                for form in secret_forms(secret_text, dovecot.user):
                    assert form not in data, (path, form)
