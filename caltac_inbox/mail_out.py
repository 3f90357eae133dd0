"""Sending mail the tool writes (the weekly digest): SMTP or a local sendmail.

SMTP as [digest] configures it: `ssl` (implicit TLS, port 465), `starttls` (587) or `plain`
(only to a loopback address, e.g. a local relay); a login when `username` is set, with
the password from `password_env` or `password_command` (config.secret_from), never from
the file, a log or an error message. Or `sendmail = "/usr/sbin/sendmail -t -oi"`: the
message on its standard input, no shell.
"""
from __future__ import annotations

import smtplib
import ssl
import subprocess
from typing import TYPE_CHECKING

from caltac_inbox.errors import AuthError, ConfigError, UserError

if TYPE_CHECKING:
    from email.message import EmailMessage

    from caltac_inbox.config import DigestConfig


class SendError(UserError):
    """The mail could not be handed over; the message says where and what to check."""

    exit_code = 4


def send(message: EmailMessage, config: DigestConfig) -> str:
    """Hand `message` to the configured server or sendmail; returns how ("SMTP host:port",
    "sendmail"). Raises SendError, AuthError or ConfigError (one line, no secret)."""
    if config.sendmail:
        return _sendmail(message, config)
    return _smtp(message, config)


def _sendmail(message: EmailMessage, config: DigestConfig) -> str:
    assert config.sendmail is not None
    name = config.sendmail[0]
    try:
        done = subprocess.run(list(config.sendmail), input=message.as_bytes(), capture_output=True,
                              timeout=config.timeout, check=False, shell=False)
    except FileNotFoundError:
        raise ConfigError(f"[digest] sendmail: program {name!r} not found; give its full path") from None
    except PermissionError:
        raise ConfigError(f"[digest] sendmail: program {name!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise SendError(f"[digest] sendmail {name!r} did not finish within {config.timeout:g} s") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.decode("utf-8", "replace").split())[:200]
        raise SendError(f"[digest] sendmail {name!r} failed with exit status {done.returncode}"
                        + (f": {detail}" if detail else ""))
    return "sendmail"


def _smtp(message: EmailMessage, config: DigestConfig) -> str:
    from caltac_inbox.config import secret_from

    assert config.host is not None
    where = f"{config.host}:{config.port}"
    password = None
    if config.username:
        if not (config.password_env or config.password_command):
            raise ConfigError("[digest]: username is set but no password_env or password_command says where its "
                              "password comes from")
        password = secret_from("[digest]", config.password_env, config.password_command)
    context = ssl.create_default_context()
    try:
        if config.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
        else:
            server = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with server:
            if config.security == "starttls":
                server.starttls(context=context)
            if config.username and password is not None:
                server.login(config.username, password)
            refused = server.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        origin = f"password_env ${config.password_env}" if config.password_env else "password_command"
        raise AuthError(f"[digest] SMTP server {where} refused the login as {config.username} ({exc.smtp_code}); "
                        f"check username and the password from {origin}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"[digest] SMTP server {where} refused every recipient: {', '.join(exc.recipients)}") from None
    except smtplib.SMTPException as exc:
        raise SendError(f"[digest] SMTP server {where}: {' '.join(str(exc).split())[:200]}") from None
    except ssl.SSLError as exc:
        raise SendError(f"[digest] TLS with {where} failed: {exc.reason or exc}; check security and port") from None
    except OSError as exc:
        raise SendError(f"[digest] cannot reach SMTP server {where}: {exc.strerror or exc}") from None
    if refused:
        raise SendError(f"[digest] SMTP server {where} refused: {', '.join(sorted(refused))}")
    return f"SMTP {where}"


__all__ = ["SendError", "send"]
