"""The configuration file: TOML -> frozen dataclasses, validated before any network I/O.

Found by `--config FILE`, else `$CALTAC_INBOX_CONFIG`, else the first file that exists
of `$XDG_CONFIG_HOME/caltac-inbox/config.toml` (default `~/.config/...`), then
`caltac-inbox/config.toml` in each of `$XDG_CONFIG_DIRS` (default /etc/xdg), then
/etc/caltac-inbox/config.toml (a system-wide file for a server's cron). Every problem
is reported as a ConfigError naming the file, the key and the fix.

Secrets never live in the file and never in a dataclass: a mailbox names where its
password or OAuth2 token comes from (`password_env`, `password_command`,
`oauth2_token_command`), and `fetch_secret()` fetches it at the moment of use (the
model is vdirsyncer's fetchparams).
"""
from __future__ import annotations

import difflib
import ipaddress
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from caltac_inbox.budget import DEFAULT_BUDGET, MAX_MESSAGE_MB, MESSAGE_MEMORY_MB_RANGE, MESSAGE_SECONDS_RANGE
from caltac_inbox.errors import AuthError, ConfigError
from caltac_inbox.freshness import DEFAULT_MAX_AGE

APP_NAME = "caltac-inbox"
CONFIG_ENV = "CALTAC_INBOX_CONFIG"
SECURITY_MODES = ("ssl", "starttls", "plain")
DEFAULT_SENDERS = ("ets.org", "cde.ca.gov")
DEFAULT_FOLDERS = ("INBOX",)
SECRET_KEYS = ("password_env", "password_command", "oauth2_token_command")
SECRET_COMMAND_TIMEOUT = 60.0
MAX_MESSAGE_MB_LIMIT = 1024


@dataclass(frozen=True)
class MailboxConfig:
    """One `[[mailbox]]` table. Holds where the secret comes from, never the secret."""

    name: str
    host: str
    username: str
    port: int = 993
    security: str = "ssl"  # ssl | starttls | plain (plain only to a loopback address)
    password_env: str | None = None
    password_command: tuple[str, ...] | None = None
    oauth2_token_command: tuple[str, ...] | None = None
    folders: tuple[str, ...] = DEFAULT_FOLDERS
    senders: tuple[str, ...] = DEFAULT_SENDERS
    since: date | None = None
    ca_file: str | None = None
    connect_timeout: float = 30.0
    read_timeout: float = 120.0
    batch_size: int = 25  # message bodies per FETCH
    retries: int = 3  # reconnect attempts after a transient fault
    retry_delay: float = 2.0  # seconds before the first retry; doubles each time
    deadline: float = 1800.0  # seconds for the whole poll of this mailbox
    max_message_mb: int = MAX_MESSAGE_MB  # larger messages are archived, not parsed
    authserv_id: tuple[str, ...] | None = None  # as configured; see authserv_ids
    trusted_forwarders: tuple[str, ...] | None = None  # as configured; see forwarders

    @property
    def forwarders(self) -> tuple[str, ...]:
        """Who may forward a notice into this mailbox and keep it verified (domains or
        addresses): as configured, else the domain of the mailbox's own address."""
        if self.trusted_forwarders is not None:
            return self.trusted_forwarders
        return (self.username.rsplit("@", 1)[1].lower(),) if "@" in self.username else ()

    @property
    def authserv_ids(self) -> tuple[str, ...]:
        """The receiving server(s) whose Authentication-Results are trusted: as configured,
        else the default for a well-known host (Gmail, Microsoft 365), else none."""
        if self.authserv_id is not None:
            return self.authserv_id
        from caltac_inbox.authres import default_authserv_ids

        return default_authserv_ids(self.host)

    @property
    def max_message_bytes(self) -> int:
        return self.max_message_mb * 2**20

    @property
    def uses_oauth2(self) -> bool:
        return self.oauth2_token_command is not None

    @property
    def secret_origin(self) -> str:
        """Where the secret comes from, for messages (never the secret itself)."""
        if self.password_env:
            return f"password_env ${self.password_env}"
        if self.password_command:
            return "password_command"
        return "oauth2_token_command"


@dataclass(frozen=True)
class DatabaseConfig:
    url: str | None = None


@dataclass(frozen=True)
class LimitsConfig:
    """[limits]: the budget of reading one message in ingest, poll and reparse."""

    message_seconds: float = DEFAULT_BUDGET.seconds
    message_memory_mb: int = DEFAULT_BUDGET.memory_mb


@dataclass(frozen=True)
class DigestConfig:
    """[digest]: where `digest --send` mails the weekly digest. Through SMTP (`host`), or
    through a local `sendmail` command. Holds where the password comes from, never it."""

    to: tuple[str, ...]
    sender: str  # the From address (key `from`)
    host: str | None = None
    port: int = 587
    security: str = "starttls"  # ssl | starttls | plain (plain only to a loopback address)
    username: str | None = None
    password_env: str | None = None
    password_command: tuple[str, ...] | None = None
    sendmail: tuple[str, ...] | None = None  # e.g. ("/usr/sbin/sendmail", "-t", "-oi")
    timeout: float = 60.0


@dataclass(frozen=True)
class Config:
    path: str | None = None  # the file it came from; None when no file exists
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    mailboxes: tuple[MailboxConfig, ...] = ()
    authserv_id: tuple[str, ...] | None = None  # top level: for notices ingested from files

    def authserv_ids_for(self, mailbox: str | None) -> tuple[str, ...] | None:
        """The authserv-ids trusted for a message of `mailbox`: the configured mailbox's,
        else the top-level `authserv_id`; None when the file names none."""
        for mb in self.mailboxes:
            if mb.name == mailbox:
                return mb.authserv_ids
        return self.authserv_id
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    # run after a poll or ingest that changed the timeline, the changes as JSON on its
    # stdin; its secrets come from its environment, never from this file
    notify_command: tuple[str, ...] | None = None
    trusted_forwarders: tuple[str, ...] = ()  # top level: for notices ingested from files

    def trusted_forwarders_for(self, mailbox: str | None) -> tuple[str, ...]:
        """Who may forward a notice of `mailbox` and keep it verified: the configured
        mailbox's forwarders, else the top-level `trusted_forwarders`."""
        for mb in self.mailboxes:
            if mb.name == mailbox:
                return mb.forwarders
        return self.trusted_forwarders
    max_age: timedelta = DEFAULT_MAX_AGE  # a mailbox polled longer ago is stale (caltac_inbox.freshness)
    digest: DigestConfig | None = None  # [digest]: where `digest --send` mails it

    def mailbox(self, name: str) -> MailboxConfig:
        for mb in self.mailboxes:
            if mb.name == name:
                return mb
        known = ", ".join(mb.name for mb in self.mailboxes) or "none"
        raise ConfigError(f"{self.path}: no mailbox named {name!r} (configured: {known})")


SYSTEM_CONFIG = Path("/etc/caltac-inbox/config.toml")


def default_config_path() -> Path:
    """The user's own configuration file (which may not exist)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def config_search_path() -> list[Path]:
    """Where a configuration file is looked for, in order (XDG Base Directory order, then
    the system-wide /etc/caltac-inbox/config.toml)."""
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    system = [Path(d).expanduser() / APP_NAME / "config.toml" for d in dirs.split(os.pathsep) if d.strip()]
    return [default_config_path(), *system, SYSTEM_CONFIG]


def config_path(path: str | None) -> tuple[Path, bool]:
    """The file to read and whether the user named it (then it must exist). Unnamed: the
    first of config_search_path() that exists, else the user's own (not there yet)."""
    if path:
        return Path(path).expanduser(), True
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser(), True
    search = config_search_path()
    return next((p for p in search if p.is_file()), search[0]), False


def load_config(path: str | None = None) -> Config:
    """Read and validate the configuration. No file at the default place is an empty Config."""
    import tomllib

    file, named = config_path(path)
    if not file.exists():
        if named:
            how = "--config" if path else f"${CONFIG_ENV}"
            raise ConfigError(f"{file}: configuration file not found (given by {how}); "
                              "check the path or create the file (see README, 'Configuring a mailbox')")
        return Config()
    try:
        with open(file, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start + 1} cannot be read); save the configuration "
                          "file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the configuration file: {exc.strerror}") from None
    return parse_config(data, str(file))


def parse_config(data: dict[str, Any], where: str = "config") -> Config:
    """Validate a parsed TOML document. Pure apart from checking that ca_file exists."""
    _reject_unknown(data, ("database", "mailbox", "authserv_id", "trusted_forwarders", "limits", "notify_command",
                           "max_age", "digest"),
                    where, "top level")
    database = DatabaseConfig()
    if "database" in data:
        table = _table(data["database"], "[database]", where)
        _reject_unknown(table, ("url",), where, "[database]")
        if "url" in table:
            database = DatabaseConfig(url=_str(table["url"], "[database] url", where))
    raw_mailboxes = data.get("mailbox", [])
    if isinstance(raw_mailboxes, dict):
        raise ConfigError(f"{where}: write each mailbox as [[mailbox]] (double brackets), not [mailbox]")
    if not isinstance(raw_mailboxes, list):
        raise ConfigError(f"{where}: 'mailbox' must be a list of [[mailbox]] tables")
    mailboxes: list[MailboxConfig] = []
    for index, raw in enumerate(raw_mailboxes, start=1):
        mb = _parse_mailbox(_table(raw, f"[[mailbox]] #{index}", where), index, where)
        if any(other.name == mb.name for other in mailboxes):
            raise ConfigError(f"{where}: two [[mailbox]] tables are named {mb.name!r}; give each a unique name")
        mailboxes.append(mb)
    authserv_id = _authserv_ids(data["authserv_id"], "authserv_id", where) if "authserv_id" in data else None
    notify = None
    if "notify_command" in data:
        notify = notify_argv(_str(data["notify_command"], "notify_command", where), f"{where}: notify_command")
    return Config(path=where, database=database, mailboxes=tuple(mailboxes), authserv_id=authserv_id,
                  limits=_parse_limits(_table(data.get("limits", {}), "[limits]", where), where),
                  notify_command=notify, max_age=_max_age(data.get("max_age"), where),
                  trusted_forwarders=_forwarders(data.get("trusted_forwarders", []), "trusted_forwarders", where),
                  digest=_parse_digest(_table(data["digest"], "[digest]", where), where) if "digest" in data else None)


def parse_max_age(value: Any) -> timedelta:
    """A `max_age` setting: a number of hours, or a string like "26h", "2d", "90m". Raises
    ValueError saying what is allowed."""
    if isinstance(value, bool):
        raise ValueError("must be a number of hours or a string like \"26h\", \"2d\", \"90m\"")
    if isinstance(value, (int, float)):
        hours = float(value)
    elif isinstance(value, str) and value.strip()[:-1].replace(".", "", 1).isdigit() and value.strip()[-1:] in "mhd":
        text = value.strip()
        hours = float(text[:-1]) * {"m": 1 / 60, "h": 1.0, "d": 24.0}[text[-1]]
    else:
        raise ValueError("must be a number of hours or a string like \"26h\", \"2d\", \"90m\"")
    if hours < 0:
        raise ValueError("must not be negative")
    return timedelta(hours=hours)


_DIGEST_KEYS = ("to", "from", "host", "port", "security", "username", "password_env", "password_command", "sendmail",
                "timeout")


def _digest_password_env(table: dict[str, Any], where: str) -> str | None:
    if "password_env" in table and "password_command" in table:
        raise ConfigError(f"{where}: [digest]: set one of password_env and password_command, not both")
    if "password_env" not in table:
        return None
    password_env = _str(table["password_env"], "[digest] password_env", where)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
        raise ConfigError(f"{where}: [digest]: password_env must be the NAME of an environment variable")
    return password_env


def _parse_digest(table: dict[str, Any], where: str) -> DigestConfig:
    label = "[digest]"
    for key in _FORBIDDEN_SECRET_KEYS:
        if key in table:
            raise ConfigError(f"{where}: {label}: '{key}' is not allowed, secrets are never stored in the "
                              "configuration file; set password_env = \"CALTAC_SMTP_PASSWORD\" (and export it) or "
                              "password_command = \"pass show smtp\"")
    _reject_unknown(table, _DIGEST_KEYS, where, label)
    for key in ("to", "from"):
        if key not in table:
            raise ConfigError(f"{where}: {label}: missing required key '{key}' (who gets the digest, who sends it)")
    to = (_str(table["to"], f"{label} to", where),) if isinstance(table["to"], str) else \
        _str_list(table["to"], f"{label} to", where)
    if "host" not in table and "sendmail" not in table:
        raise ConfigError(f"{where}: {label}: say how to send it: host = \"smtp.example.org\" (SMTP) or "
                          "sendmail = \"/usr/sbin/sendmail -t -oi\"")
    security = _str(table.get("security", "starttls"), f"{label} security", where).lower()
    if security not in SECURITY_MODES:
        raise ConfigError(f"{where}: {label}: security = {security!r} is not one of ssl, starttls, plain")
    host = _str(table["host"], f"{label} host", where) if "host" in table else None
    if host is not None and security == "plain" and not is_loopback(host):
        raise ConfigError(f"{where}: {label}: security = \"plain\" is only allowed to a loopback address, not "
                          f"{host!r}; use \"starttls\" (port 587) or \"ssl\" (port 465)")
    password_env = _digest_password_env(table, where)
    default_port = {"ssl": 465, "starttls": 587, "plain": 25}[security]
    return DigestConfig(
        to=to, sender=_str(table["from"], f"{label} from", where), host=host,
        port=_int(table.get("port", default_port), f"{label} port", where, 1, 65535), security=security,
        username=_str(table["username"], f"{label} username", where) if "username" in table else None,
        password_env=password_env,
        password_command=_command(table["password_command"], f"{label} password_command", where)
        if "password_command" in table else None,
        sendmail=_command(table["sendmail"], f"{label} sendmail", where) if "sendmail" in table else None,
        timeout=_number(table.get("timeout", 60.0), f"{label} timeout", where),
    )


def _max_age(value: Any, where: str) -> timedelta:
    if value is None:
        return DEFAULT_MAX_AGE
    try:
        return parse_max_age(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: max_age {exc}, e.g. max_age = \"26h\"") from None


def notify_argv(command: str, label: str) -> tuple[str, ...]:
    """A notify command line split like a shell would (no shell runs it)."""
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise ConfigError(f"{label}: cannot split {command!r}: {exc}; quote it as a shell would") from None
    if not argv:
        raise ConfigError(f"{label}: empty command; give the program to run, e.g. 'mail-changes --to me'")
    return argv


def _parse_limits(table: dict[str, Any], where: str) -> LimitsConfig:
    _reject_unknown(table, ("message_seconds", "message_memory_mb"), where, "[limits]")
    default = LimitsConfig()
    seconds = _number(table.get("message_seconds", default.message_seconds), "[limits] message_seconds", where,
                      MESSAGE_SECONDS_RANGE[0])
    if seconds > MESSAGE_SECONDS_RANGE[1]:
        raise ConfigError(f"{where}: [limits] message_seconds must be at most {MESSAGE_SECONDS_RANGE[1]:g}, "
                          f"got {seconds:g}")
    memory = _int(table.get("message_memory_mb", default.message_memory_mb), "[limits] message_memory_mb", where,
                  *MESSAGE_MEMORY_MB_RANGE)
    return LimitsConfig(message_seconds=seconds, message_memory_mb=memory)


_MAILBOX_KEYS = (
    "name", "host", "port", "security", "username", *SECRET_KEYS, "folders", "senders",
    "since", "ca_file", "connect_timeout", "read_timeout", "batch_size", "retries",
    "retry_delay", "deadline", "max_message_mb", "authserv_id", "trusted_forwarders",
)
_FORBIDDEN_SECRET_KEYS = ("password", "pass", "passwd", "secret", "token", "oauth2_token", "access_token")


def _parse_mailbox(table: dict[str, Any], index: int, where: str) -> MailboxConfig:
    label = f"[[mailbox]] #{index}"
    if isinstance(table.get("name"), str) and table["name"].strip():
        label = f"mailbox {table['name']!r}"
    for key in _FORBIDDEN_SECRET_KEYS:
        if key in table:
            raise ConfigError(
                f"{where}: {label}: '{key}' is not allowed, secrets are never stored in the "
                "configuration file; remove it and set password_env = \"CALTAC_IMAP_PASSWORD\" "
                "(and export that variable) or password_command = \"pass show caltac\" "
                "(or oauth2_token_command for OAuth2)"
            )
    _reject_unknown(table, _MAILBOX_KEYS, where, label)
    for key in ("name", "host", "username"):
        if key not in table:
            raise ConfigError(f"{where}: {label}: missing required key '{key}'")
    name = _str(table["name"], f"{label} name", where)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@+-]*", name):
        raise ConfigError(f"{where}: {label}: name {name!r} must be letters, digits and . _ @ + - "
                          "(it names the state and lock files)")
    host = _str(table["host"], f"{label} host", where)
    username = _str(table["username"], f"{label} username", where)

    security, port = _security_and_port(table, host, label, where)
    password_env, password_command, oauth2_token_command = _secret_source(table, label, where)
    folders = _str_list(table.get("folders", list(DEFAULT_FOLDERS)), f"{label} folders", where)
    senders = tuple(s.lower().lstrip("@") for s in _str_list(
        table.get("senders", list(DEFAULT_SENDERS)), f"{label} senders", where))
    since = _date(table["since"], f"{label} since", where) if "since" in table else None
    ca_file = _ca_file(table["ca_file"], label, where) if "ca_file" in table else None
    return MailboxConfig(
        name=name, host=host, username=username, port=port, security=security,
        password_env=password_env, password_command=password_command,
        oauth2_token_command=oauth2_token_command, folders=folders, senders=senders,
        since=since, ca_file=ca_file,
        connect_timeout=_number(table.get("connect_timeout", 30.0), f"{label} connect_timeout", where),
        read_timeout=_number(table.get("read_timeout", 120.0), f"{label} read_timeout", where),
        batch_size=_int(table.get("batch_size", 25), f"{label} batch_size", where, 1, 1000),
        retries=_int(table.get("retries", 3), f"{label} retries", where, 0, 20),
        retry_delay=_number(table.get("retry_delay", 2.0), f"{label} retry_delay", where, minimum=0.0),
        deadline=_number(table.get("deadline", 1800.0), f"{label} deadline", where),
        max_message_mb=_int(table.get("max_message_mb", MAX_MESSAGE_MB), f"{label} max_message_mb",
                            where, 1, MAX_MESSAGE_MB_LIMIT),
        authserv_id=_authserv_ids(table["authserv_id"], f"{label} authserv_id", where) if "authserv_id" in table
        else None,
        trusted_forwarders=_forwarders(table.get("trusted_forwarders"), f"{label} trusted_forwarders", where),
    )


def _security_and_port(table: dict[str, Any], host: str, label: str, where: str) -> tuple[str, int]:
    security = _str(table.get("security", "ssl"), f"{label} security", where).lower()
    if security not in SECURITY_MODES:
        raise ConfigError(f"{where}: {label}: security = {security!r} is not one of ssl, starttls, plain")
    if security == "plain" and not is_loopback(host):
        raise ConfigError(
            f"{where}: {label}: security = \"plain\" sends the password unencrypted and is only "
            f"allowed to a loopback address, not {host!r}; use security = \"ssl\" (port 993) "
            "or \"starttls\" (port 143)"
        )
    return security, _int(table.get("port", 993 if security == "ssl" else 143), f"{label} port", where, 1, 65535)


def _secret_source(table: dict[str, Any], label: str, where: str
                   ) -> tuple[str | None, tuple[str, ...] | None, tuple[str, ...] | None]:
    """(password_env, password_command, oauth2_token_command): exactly one of them given."""
    given = [key for key in SECRET_KEYS if key in table]
    if len(given) != 1:
        problem = "has none of" if not given else "has more than one of"
        raise ConfigError(
            f"{where}: {label}: {problem} password_env, password_command, oauth2_token_command; "
            "set exactly one, e.g. password_env = \"CALTAC_IMAP_PASSWORD\""
        )
    password_env = password_command = oauth2_token_command = None
    if "password_env" in table:
        password_env = _str(table["password_env"], f"{label} password_env", where)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
            raise ConfigError(
                f"{where}: {label}: password_env must be the NAME of an environment variable "
                "(like CALTAC_IMAP_PASSWORD), not the password itself"
            )
    if "password_command" in table:
        password_command = _command(table["password_command"], f"{label} password_command", where)
    if "oauth2_token_command" in table:
        oauth2_token_command = _command(table["oauth2_token_command"], f"{label} oauth2_token_command", where)
    return password_env, password_command, oauth2_token_command


def _ca_file(value: Any, label: str, where: str) -> str:
    ca_file = str(Path(_str(value, f"{label} ca_file", where)).expanduser())
    if not Path(ca_file).is_file():
        raise ConfigError(f"{where}: {label}: ca_file {ca_file!r} does not exist; "
                          "give the path of a PEM file with the CA certificate(s) to trust")
    return ca_file


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP literals. No DNS lookup (validation is offline)."""
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- secrets, fetched at use time ---------------------------------------------------


def fetch_secret(mb: MailboxConfig) -> str:
    """The password or OAuth2 token for `mb`, fetched now. Never logged, never in an error."""
    command = mb.password_command or mb.oauth2_token_command
    key = "password_command" if mb.password_command else "oauth2_token_command"
    return secret_from(f"mailbox {mb.name!r}", mb.password_env, command, key)


def secret_from(owner: str, password_env: str | None, command: tuple[str, ...] | None,
                key: str = "password_command") -> str:
    """A secret from the environment variable `password_env`, else printed by `command`
    (run without a shell). `owner` names what needs it in errors ("mailbox 'x'",
    "[digest]"); the secret is never in one."""
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise ConfigError(
                f"{owner}: environment variable {password_env} (password_env) is "
                "not set or empty; export it in the environment that runs caltac-inbox "
                "(for cron: in the crontab or an EnvironmentFile)"
            )
        return value
    assert command is not None
    try:
        done = subprocess.run(
            list(command), shell=False, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=SECRET_COMMAND_TIMEOUT, check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"{owner}: {key}: program {command[0]!r} not found; "
                          "give a full path or install it") from None
    except PermissionError:
        raise ConfigError(f"{owner}: {key}: program {command[0]!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise AuthError(f"{owner}: {key} did not finish within "
                        f"{SECRET_COMMAND_TIMEOUT:.0f} s; run it by hand to check") from None
    # stderr and stdout are deliberately not quoted: either may contain the secret.
    if done.returncode != 0:
        raise AuthError(f"{owner}: {key} {command[0]!r} exited with status "
                        f"{done.returncode}; run it by hand to see why")
    value = done.stdout.decode("utf-8", "replace").strip()
    if not value:
        raise AuthError(f"{owner}: {key} {command[0]!r} printed nothing; "
                        "it must print the secret on standard output")
    return value


# -- small validators ------------------------------------------------------------


def _reject_unknown(table: dict[str, Any], known: tuple[str, ...], where: str, label: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(known)
            raise ConfigError(f"{where}: {label}: unknown key '{key}'; {hint}")


def _table(value: Any, label: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {label} must be a table")
    return value


def _str(value: Any, label: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {label} must be a non-empty string (in double quotes), "
                          f"got {_type_name(value)}")
    return value.strip()


def _int(value: Any, label: str, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {label} must be a whole number, got {_type_name(value)}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}: {label} must be between {lo} and {hi}, got {value}")
    return value


def _number(value: Any, label: str, where: str, minimum: float = 0.001) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {label} must be a number of seconds, got {_type_name(value)}")
    if value < minimum:
        raise ConfigError(f"{where}: {label} must be at least {minimum}, got {value}")
    return float(value)


def _str_list(value: Any, label: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ConfigError(f"{where}: {label} must be a list like [{value!r}], not a single string")
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {label} must be a non-empty list of strings")
    return tuple(_str(item, label, where) for item in value)


def _forwarders(value: Any, label: str, where: str) -> Any:
    """Domains or addresses (a list, possibly empty; None: not configured), lowercase."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(f"{where}: {label} must be a list of domains or addresses like [\"district.k12.ca.us\"]")
    out = tuple(_str(item, label, where).strip().lower().lstrip("@") for item in value)
    for item in out:
        if not item or any(c.isspace() or c in ",;<>()" for c in item) or "." not in item:
            raise ConfigError(f"{where}: {label}: {item!r} is not a domain or an address; write "
                              "\"district.k12.ca.us\" or \"pat@district.k12.ca.us\"")
    return out


def _authserv_ids(value: Any, label: str, where: str) -> tuple[str, ...]:
    """One authserv-id or a list of them (the first word of the receiving server's
    Authentication-Results header, e.g. "mx.google.com")."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: {label} must be a string like \"mx.google.com\" or a list of them")
    ids = tuple(_str(item, label, where).lower() for item in values)
    for item in ids:
        if any(c.isspace() or c in ";=()" for c in item):
            raise ConfigError(f"{where}: {label}: {item!r} is not an authserv-id; give the first word of "
                              "your server's Authentication-Results header, like \"mx.google.com\"")
    return ids


def _command(value: Any, label: str, where: str) -> tuple[str, ...]:
    """A command line as a string (split like a shell would, but never run by one) or list."""
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {label}: cannot split the command: {exc}") from None
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        argv = list(value)
    else:
        raise ConfigError(f"{where}: {label} must be a command string or a list of strings")
    if not argv:
        raise ConfigError(f"{where}: {label} is empty; give the command that prints the secret")
    return tuple(argv)


def _date(value: Any, label: str, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: {label} must be a date like 2016-01-01, got {value!r}")


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list",
            dict: "a table"}.get(type(value), repr(value) if isinstance(value, str) else type(value).__name__)


__all__ = [
    "Config",
    "DatabaseConfig",
    "DigestConfig",
    "LimitsConfig",
    "MailboxConfig",
    "config_path",
    "config_search_path",
    "default_config_path",
    "fetch_secret",
    "is_loopback",
    "load_config",
    "parse_config",
    "parse_max_age",
    "secret_from",
]
