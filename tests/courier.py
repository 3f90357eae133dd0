"""A private Courier-IMAP for tests: its `imapd` from the Debian packages, extracted (not
installed: installing courier-imap removes dovecot-imapd) by `make test` into
.venv/courier, or found under $CALTAC_TEST_COURIER.

Courier's imapd runs already logged in on its standard input and output (its login
normally comes from courier-authlib's daemon). A small loopback server stands in for
that: it answers CAPABILITY and LOGIN itself, then starts one imapd per connection on
a Maildir and passes the bytes through. It counts the message bodies imapd sends, so
a test sees what the poller downloaded from the server's side.

Courier gives a folder that was never opened read-write a new UIDVALIDITY on every
read-only session; that is what these tests are for.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
USER = "coordinator@district.example"
PASSWORD = "Courier-Test-Pa55w0rd-9q2x"
_LITERAL_BODY = re.compile(rb" BODY\[\] \{")


def courier_root() -> Path | None:
    for candidate in (os.environ.get("CALTAC_TEST_COURIER"), ROOT / ".venv" / "courier"):
        if candidate and (Path(candidate) / "usr" / "bin" / "imapd").is_file():
            return Path(candidate)
    return None


class CourierServer:
    host = "127.0.0.1"
    user = USER
    password = PASSWORD

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.maildir = home / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        libs = [root / "usr" / "lib", root / "usr" / "lib" / "x86_64-linux-gnu"]
        self.env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(map(str, libs)), IMAP_ENHANCEDIDLE="0",
                        HOME=str(home))
        self.bodies = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def deliver(self, raw: bytes, name: str) -> None:
        """A message file straight into the Maildir (as a delivery agent would)."""
        (self.maildir / "cur" / f"{name}:2,").write_bytes(raw.replace(b"\r\n", b"\n"))

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()

    def mailbox_toml(self, name: str = "coordinator", extra: str = "") -> str:
        return "\n".join([
            "[[mailbox]]", f'name = "{name}"', f'host = "{self.host}"', f"port = {self.port}",
            'security = "plain"', f'username = "{self.user}"', 'password_env = "CALTAC_TEST_IMAP_PASSWORD"',
            "connect_timeout = 5", "read_timeout = 10", "retries = 1", "retry_delay = 0.1",
            'authserv_id = "mx.district.k12.ca.us"', 'trusted_forwarders = ["district.k12.ca.us"]', extra, ""])

    # -- the stand-in for courier-authlib ------------------------------------------------

    def _serve(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1] test login ready\r\n")
            while True:
                line = reader.readline()
                if not line:
                    return
                tag, _, rest = line.decode("ascii", "replace").strip().partition(" ")
                command = rest.split(" ", 1)[0].upper()
                if command == "CAPABILITY":
                    conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + f"{tag} OK done\r\n".encode())
                elif command == "LOGOUT":
                    conn.sendall(b"* BYE\r\n" + f"{tag} OK bye\r\n".encode())
                    return
                elif command == "LOGIN" and self.password in rest:
                    conn.sendall(f"{tag} OK logged in\r\n".encode())
                    break
                elif command == "LOGIN":
                    conn.sendall(f"{tag} NO [AUTHENTICATIONFAILED] wrong password\r\n".encode())
                else:
                    conn.sendall(f"{tag} BAD log in first\r\n".encode())
            imapd = subprocess.Popen([str(self.root / "usr" / "bin" / "imapd"), str(self.maildir)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=self.env, cwd=self.maildir.parent)
            try:
                while not imapd.stdout.readline().startswith(b"* PREAUTH"):  # its greeting is ours to skip
                    pass
                threading.Thread(target=self._to_imapd, args=(reader, imapd), daemon=True).start()
                self._from_imapd(imapd, conn)
            finally:
                imapd.kill()
                imapd.wait()

    @staticmethod
    def _to_imapd(reader, imapd: subprocess.Popen) -> None:
        try:
            while chunk := reader.read1(65536):
                imapd.stdin.write(chunk)
                imapd.stdin.flush()
        except (OSError, ValueError):
            pass
        finally:
            try:
                imapd.stdin.close()
            except OSError:
                pass

    def _from_imapd(self, imapd: subprocess.Popen, conn: socket.socket) -> None:
        carry = b""
        while chunk := imapd.stdout.read1(65536):
            seen = carry + chunk
            with self._lock:
                self.bodies += len(_LITERAL_BODY.findall(seen)) - len(_LITERAL_BODY.findall(carry))
            carry = seen[-16:]
            try:
                conn.sendall(chunk)
            except OSError:
                return


@pytest.fixture
def courier() -> Iterator[CourierServer]:
    root = courier_root()
    if root is None:
        pytest.skip("Courier-IMAP not extracted (`make test` extracts it into .venv/courier when apt-get "
                    "can download it; or set CALTAC_TEST_COURIER to a dpkg-deb -x of courier-imap)")
    home = Path(tempfile.mkdtemp(prefix="caltac-courier-"))
    server = CourierServer(root, home)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
