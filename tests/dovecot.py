"""A real Dovecot IMAP server for tests: configured in a temporary directory, started on
127.0.0.1 on free ports (one plain/STARTTLS listener, one implicit-TLS listener) with a
self-signed certificate, a Maildir and a static passdb, and stopped afterwards.

Use the `dovecot` fixture (import it in a test module or conftest):

    from tests.dovecot import dovecot  # noqa: F401

Without the dovecot binary the tests are skipped, except under CI=true where that is a
failure (`make test` installs dovecot-imapd when it runs as root).

Counting what the poller downloads is done on the server side: Dovecot logs, for every
session, `hdr_count=` and `body_count=` (messages whose headers / bodies were fetched),
so `body_fetches()` does not depend on any client-side hook.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

DOVECOT_PATHS = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
LOGIN_USER = "coordinator@district.example"
LOGIN_PASSWORD = "Dovecot-Test-Pa55w0rd-7f3k"


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    for path in DOVECOT_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


def require_dovecot() -> str:
    binary = dovecot_binary()
    reason = None
    if binary is None:
        reason = ("dovecot is not installed (Debian: apt-get install dovecot-imapd; "
                  "`make test` does it when run as root)")
    elif shutil.which("openssl") is None:
        reason = "openssl (the command) is not installed; it makes the test server's certificate"
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    assert binary is not None
    return binary


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_CERTIFICATE: dict[str, bytes] = {}  # one self-signed pair per test process: an RSA key costs 0.2-1 s


def _make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not _CERTIFICATE:
        with tempfile.TemporaryDirectory() as scratch:
            made = _new_certificate(Path(scratch))
            _CERTIFICATE.update(cert=made[0].read_bytes(), key=made[1].read_bytes())
    cert.write_bytes(_CERTIFICATE["cert"])
    key.write_bytes(_CERTIFICATE["key"])
    key.chmod(0o600)
    return cert, key


def _new_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class DovecotServer:
    host = "127.0.0.1"
    user = LOGIN_USER
    password = LOGIN_PASSWORD

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.port = free_port()  # plain IMAP, offers STARTTLS
        self.ssl_port = free_port()  # implicit TLS
        self.cert_file, self.key_file = _make_certificate(root)
        self.mail_dir = root / "mail"
        self.run_dir = root / "run"
        self.log_file = root / "dovecot.log"
        self.config_file = root / "dovecot.conf"
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        self.mail_dir.mkdir()
        self.run_dir.mkdir()
        me = pwd.getpwuid(os.getuid())
        if os.getuid() == 0:
            # Dovecot refuses mail access as uid 0: the mail processes run as nobody.
            mail_user = pwd.getpwnam("nobody")
            login_user, internal_user = "dovenull", "dovecot"
            try:
                pwd.getpwnam(login_user), pwd.getpwnam(internal_user)
            except KeyError:
                login_user = internal_user = "nobody"
            os.chown(self.mail_dir, mail_user.pw_uid, mail_user.pw_gid)
            self.root.chmod(0o755)
        else:
            mail_user = me
            login_user = internal_user = me.pw_name
        self.config_file.write_text(f"""\
base_dir = {self.run_dir}
instance_name = caltac-test-{self.port}
state_dir = {self.run_dir}/state
log_path = {self.log_file}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert_file}
ssl_key = <{self.key_file}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{self.mail_dir}/%u
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={self.mail_dir}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # no auth penalty: the wrong-password tests log in wrongly on purpose
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""")

    # -- lifecycle ---------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"dovecot exited with {self.process.returncode}: {err}\n{self.log()}")
            if self._accepting(self.port) and self._accepting(self.ssl_port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not start listening within {timeout} s\n{self.log()}")

    def stop(self, graceful: bool = True) -> None:
        """Stop the server: SIGTERM as an operator stops it (its master waits about 6 s for
        its children), or, for a server a test is done with, SIGKILL at once."""
        if self.process is None:
            return
        if self.process.poll() is None:
            # The master's process group also holds its imap/login children.
            try:
                os.killpg(self.process.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None
        # Wait until nothing listens any more, so a restart can bind the same ports.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (self._accepting(self.port) or self._accepting(self.ssl_port)):
            time.sleep(0.05)

    def _accepting(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    # -- talking to it as a test -----------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_file))

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.starttls(self.ssl_context())
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes | list[bytes], folder: str = "INBOX", flags: tuple[bytes, ...] = (),
               msg_time=None) -> None:
        """APPEND messages (line endings made CRLF, as on the wire, so the bytes a client
        fetches back are exactly these)."""
        messages = [raw] if isinstance(raw, bytes) else raw
        with self.client() as client:
            if folder != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            for message in messages:
                client.append(folder, crlf(message), flags=flags, msg_time=msg_time)

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(client.search("ALL"), ["FLAGS"]).items()}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate_folder(self, folder: str) -> None:
        """Delete and create `folder` again: the server gives it a new UIDVALIDITY."""
        old = self.uidvalidity(folder)
        with self.client() as client:
            client.delete_folder(folder)
        for _ in range(50):
            with self.client() as client:
                client.create_folder(folder)
            if self.uidvalidity(folder) != old:
                return
            with self.client() as client:
                client.delete_folder(folder)
            time.sleep(0.1)  # Dovecot derives UIDVALIDITY from the clock
        raise RuntimeError("Dovecot kept the same UIDVALIDITY")

    # -- what the server saw --------------------------------------------------------

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def sessions(self, settle: float = 5.0) -> list[dict[str, int]]:
        """Per finished IMAP session: hdr_count, body_count, ... from Dovecot's logout line.

        Waits (up to `settle` seconds) until every logged-in session has logged its end,
        since Dovecot's log process writes asynchronously."""
        deadline = time.monotonic() + settle
        while True:
            text = self.log()
            logins = len(re.findall(r"imap-login: Info: Login:", text))
            ends = re.findall(r"imap\([^)]*\)[^:]*: Info: (?:Disconnected|Logged out)[^\n]*", text)
            if len(ends) >= logins or time.monotonic() > deadline:
                return [{k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)} for line in ends]
            time.sleep(0.05)

    def body_fetches(self) -> int:
        """Messages whose full body was fetched, over all sessions so far."""
        return sum(s.get("body_count", 0) for s in self.sessions())

    # -- a caltac-inbox configuration for this server ---------------------------------

    def mailbox_toml(self, name: str = "coordinator", *, security: str = "starttls",
                     ca_file: bool = True, password_env: str = "CALTAC_TEST_IMAP_PASSWORD",
                     folders: tuple[str, ...] = ("INBOX",), extra: str = "") -> str:
        port = self.ssl_port if security == "ssl" else self.port
        folder_list = ", ".join(f'"{f}"' for f in folders)
        lines = [
            "[[mailbox]]",
            f'name = "{name}"',
            f'host = "{self.host}"',
            f"port = {port}",
            f'security = "{security}"',
            f'username = "{self.user}"',
            f'password_env = "{password_env}"',
            f"folders = [{folder_list}]",
            "connect_timeout = 5",
            "read_timeout = 10",
            "retries = 1",
            "retry_delay = 0.1",
            'authserv_id = "mx.district.k12.ca.us"',  # the receiving server the samples name
            'trusted_forwarders = ["district.k12.ca.us"]',  # the samples' colleagues who forward notices
        ]
        if ca_file:
            lines.append(f'ca_file = "{self.cert_file}"')
        return "\n".join(lines) + "\n" + extra + "\n"


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    binary = require_dovecot()
    # Not pytest's tmp_path: when run as root the mail processes run as nobody and must
    # be able to reach the Maildir; unix socket paths under base_dir must also stay short.
    root = Path(tempfile.mkdtemp(prefix="caltac-dovecot-"))
    server = DovecotServer(binary, root)
    try:
        server.start()
        yield server
    finally:
        server.stop(graceful=False)
        shutil.rmtree(root, ignore_errors=True)
