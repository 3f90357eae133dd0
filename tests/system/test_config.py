"""The configuration file: found in the right place, validated before any network I/O,
every error naming the key and the fix, secrets fetched only when used."""
from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import pytest

from caltac_inbox.config import (
    Config,
    config_path,
    fetch_secret,
    is_loopback,
    load_config,
    parse_config,
)
from caltac_inbox.errors import AuthError, ConfigError

GOOD = """
[database]
url = "sqlite:////var/lib/caltac-inbox/caltac.db"

[[mailbox]]
name = "coordinator"
host = "imap.example.org"
port = 993
security = "ssl"
username = "coordinator@district.k12.ca.us"
password_env = "CALTAC_IMAP_PASSWORD"
folders = ["INBOX", "CalTAC"]
senders = ["ets.org", "cde.ca.gov", "Someone@District.k12.ca.us"]
since = 2016-01-01
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


def test_full_example_loads(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.database.url == "sqlite:////var/lib/caltac-inbox/caltac.db"
    (mb,) = config.mailboxes
    assert mb.name == "coordinator" and mb.port == 993 and mb.security == "ssl"
    assert mb.folders == ("INBOX", "CalTAC")
    assert mb.senders == ("ets.org", "cde.ca.gov", "someone@district.k12.ca.us")
    assert mb.since == date(2016, 1, 1)
    assert mb.password_env == "CALTAC_IMAP_PASSWORD"


def test_defaults():
    config = parse_config({"mailbox": [{"name": "m", "host": "imap.example.org", "username": "u",
                                         "password_command": "pass show caltac"}]})
    (mb,) = config.mailboxes
    assert mb.folders == ("INBOX",)
    assert mb.senders == ("ets.org", "cde.ca.gov")
    assert mb.security == "ssl" and mb.port == 993
    assert mb.password_command == ("pass", "show", "caltac")
    assert mb.since is None and mb.ca_file is None
    assert mb.batch_size == 25
    assert mb.max_message_mb == 25 and mb.max_message_bytes == 25 * 2**20  # as `ingest --max-size`
    starttls = parse_config({"mailbox": [{"name": "m", "host": "h.example", "username": "u",
                                           "security": "starttls", "password_env": "P"}]})
    assert starttls.mailboxes[0].port == 143


def test_max_message_mb_per_mailbox(tmp_path):
    text = GOOD + "max_message_mb = 3\n"
    (mb,) = load_config(write(tmp_path, text)).mailboxes
    assert mb.max_message_mb == 3
    assert mb.max_message_bytes == 3 * 1024 * 1024


def test_since_as_string_and_mailbox_lookup():
    config = parse_config({"mailbox": [{"name": "m", "host": "h.example", "username": "u",
                                         "password_env": "P", "since": "2019-07-01"}]})
    assert config.mailboxes[0].since == date(2019, 7, 1)
    assert config.mailbox("m").name == "m"
    with pytest.raises(ConfigError, match="no mailbox named 'x'"):
        config.mailbox("x")


def test_search_order(tmp_path, monkeypatch):
    explicit = write(tmp_path, GOOD)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "env.toml"))
    assert config_path(explicit) == (Path(explicit), True)
    assert config_path(None) == (tmp_path / "env.toml", True)
    monkeypatch.delenv("CALTAC_INBOX_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path, named = config_path(None)
    assert not named and path.name == "config.toml" and "caltac-inbox" in str(path)


def test_missing_default_file_is_empty_config(tmp_path, monkeypatch):
    monkeypatch.delenv("CALTAC_INBOX_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nowhere"))
    assert load_config(None) == Config()


def test_missing_named_file_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "missing.toml"))
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="CALTAC_INBOX_CONFIG"):
        load_config(None)


def test_authserv_id_per_mailbox_with_defaults_for_gmail_and_microsoft_365():
    def ids(**table):
        return parse_config(mailbox(**table)).mailboxes[0].authserv_ids

    assert ids() == ()  # an unknown host: none unless configured
    assert ids(authserv_id="MX.District.K12.CA.US") == ("mx.district.k12.ca.us",)
    assert ids(authserv_id=["a.example", "b.example"]) == ("a.example", "b.example")
    assert ids(host="imap.gmail.com") == ("mx.google.com",)
    assert ids(host="outlook.office365.com") == ("microsoft365",)
    assert ids(host="imap.gmail.com", authserv_id="mx.district.k12.ca.us") == ("mx.district.k12.ca.us",)


def test_authserv_ids_for_a_message_of_a_mailbox_or_of_files():
    config = parse_config({**mailbox(host="imap.gmail.com"), "authserv_id": "mx.district.k12.ca.us"})
    assert config.authserv_ids_for("m") == ("mx.google.com",)
    assert config.authserv_ids_for(None) == ("mx.district.k12.ca.us",)  # files: the top-level key
    assert config.authserv_ids_for("other") == ("mx.district.k12.ca.us",)
    assert Config().authserv_ids_for(None) is None


def test_trusted_forwarders_per_mailbox_default_to_its_own_domain_and_for_files_to_none():
    def forwarders(**table):
        return parse_config(mailbox(**table)).mailboxes[0].forwarders

    assert forwarders(username="Coordinator@District.K12.CA.US") == ("district.k12.ca.us",)
    assert forwarders() == ()  # a username that is no address: nobody unless configured
    assert forwarders(trusted_forwarders=["District.k12.ca.us", "@county.k12.ca.us", "Pat@Other.org"]) == (
        "district.k12.ca.us", "county.k12.ca.us", "pat@other.org")
    assert forwarders(username="c@district.k12.ca.us", trusted_forwarders=[]) == ()
    config = parse_config({**mailbox(username="c@district.k12.ca.us"), "trusted_forwarders": ["county.k12.ca.us"]})
    assert config.trusted_forwarders_for("m") == ("district.k12.ca.us",)
    assert config.trusted_forwarders_for(None) == ("county.k12.ca.us",)  # files: the top-level key
    assert Config().trusted_forwarders_for(None) == ()


def test_invalid_toml(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[[mailbox]\nname = "))


def mailbox(**changes):
    table = {"name": "m", "host": "imap.example.org", "username": "u", "password_env": "P"}
    table.update(changes)
    return {"mailbox": [{k: v for k, v in table.items() if v is not None}]}


@pytest.mark.parametrize("data, words", [
    ({"databse": {}}, ["unknown key 'databse'", "did you mean 'database'"]),
    ({"database": {"uri": "x"}}, ["[database]", "unknown key 'uri'", "'url'"]),
    (mailbox(hots="x"), ["mailbox 'm'", "unknown key 'hots'", "'host'"]),
    (mailbox(host=None), ["missing required key 'host'"]),
    (mailbox(username=None), ["missing required key 'username'"]),
    (mailbox(port="993"), ["port", "whole number"]),
    (mailbox(port=99999), ["port", "between 1 and 65535"]),
    (mailbox(security="tls"), ["security", "ssl, starttls, plain"]),
    (mailbox(folders="INBOX"), ["folders", "must be a list"]),
    (mailbox(senders=[]), ["senders", "non-empty list"]),
    (mailbox(since="last year"), ["since", "date like 2016-01-01"]),
    (mailbox(batch_size=0), ["batch_size", "between 1"]),
    (mailbox(max_message_mb=0), ["mailbox 'm' max_message_mb", "between 1 and 1024, got 0"]),
    (mailbox(max_message_mb=-5), ["max_message_mb", "between 1 and 1024, got -5"]),
    (mailbox(max_message_mb="10MB"), ["max_message_mb", "whole number", "'10MB'"]),
    (mailbox(max_message_mb=2.5), ["max_message_mb", "whole number"]),
    (mailbox(max_message_mb=True), ["max_message_mb", "whole number", "true/false"]),
    (mailbox(max_mesage_mb=10), ["unknown key 'max_mesage_mb'", "did you mean 'max_message_mb'"]),
    (mailbox(read_timeout="slow"), ["read_timeout", "number of seconds"]),
    (mailbox(password_env=None), ["none of password_env, password_command, oauth2_token_command"]),
    (mailbox(password_command="pass x"), ["more than one of"]),
    (mailbox(password_env="hunter2!"), ["NAME of an environment variable"]),
    (mailbox(ca_file="/nonexistent/ca.pem"), ["ca_file", "does not exist"]),
    (mailbox(authserv_id=[]), ["authserv_id", "\"mx.google.com\""]),
    (mailbox(authserv_id="mx.example.org; dkim=pass"), ["authserv_id", "not an authserv-id", "first word"]),
    ({"authserv_id": 5}, ["authserv_id", "string like"]),
    (mailbox(trusted_forwarders="district.k12.ca.us"), ["trusted_forwarders", "must be a list"]),
    (mailbox(trusted_forwarders=["pat smith"]), ["trusted_forwarders", "not a domain or an address"]),
    ({"trusted_forwarders": ["localhost"]}, ["trusted_forwarders", "not a domain or an address"]),
    ({"mailbox": {"name": "m"}}, ["[[mailbox]] (double brackets)"]),
    ({"mailbox": [mailbox()["mailbox"][0], mailbox()["mailbox"][0]]}, ["two [[mailbox]] tables are named 'm'"]),
])
def test_bad_configuration_names_key_and_fix(data, words):
    with pytest.raises(ConfigError) as info:
        parse_config(data, "/etc/caltac.toml")
    message = str(info.value)
    assert message.startswith("/etc/caltac.toml: ")
    assert "\n" not in message
    for word in words:
        assert word in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("key", ["password", "token"])
def test_password_in_file_refused_with_how_to(key):
    with pytest.raises(ConfigError) as info:
        parse_config(mailbox(**{key: "Sup3r-Secret-Value"}))
    message = str(info.value)
    assert f"'{key}' is not allowed" in message
    assert "password_env" in message and "password_command" in message
    assert "Sup3r-Secret-Value" not in message


@pytest.mark.parametrize("host, ok", [
    ("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("imap.example.org", False), ("10.0.0.5", False), ("localhost.evil.example", False),
])
def test_plain_only_to_loopback(host, ok):
    assert is_loopback(host) is ok
    data = mailbox(host=host, security="plain")
    if ok:
        assert parse_config(data).mailboxes[0].security == "plain"
    else:
        with pytest.raises(ConfigError, match="only allowed to a loopback address"):
            parse_config(data)


def test_secret_from_env_fetched_at_use(monkeypatch):
    (mb,) = parse_config(mailbox(password_env="CALTAC_TEST_PW")).mailboxes
    monkeypatch.delenv("CALTAC_TEST_PW", raising=False)
    with pytest.raises(ConfigError, match=r"CALTAC_TEST_PW \(password_env\) is not set"):
        fetch_secret(mb)
    monkeypatch.setenv("CALTAC_TEST_PW", "s3cret-from-env")
    assert fetch_secret(mb) == "s3cret-from-env"
    assert "s3cret-from-env" not in repr(mb)


def test_secret_from_command_without_shell(tmp_path):
    marker = tmp_path / "not-created"
    command = [sys.executable, "-c", "import sys; print(sys.argv[1])", f"pw-$(touch {marker}) ;x"]
    (mb,) = parse_config(mailbox(password_env=None, password_command=command)).mailboxes
    # Printed verbatim: no shell expanded $(...) and stdout is stripped of the newline.
    assert fetch_secret(mb) == f"pw-$(touch {marker}) ;x"
    assert not marker.exists()


def test_secret_command_string_is_split_like_a_shell():
    (mb,) = parse_config(mailbox(password_env=None,
                                 oauth2_token_command=f"{sys.executable} -c 'print(\"tok en\")'")).mailboxes
    assert mb.uses_oauth2
    assert fetch_secret(mb) == "tok en"


def test_secret_command_failures_never_show_output():
    leaking = [sys.executable, "-c", "import sys; print('Leaky-S3cret'); print('Leaky-S3cret', file=sys.stderr); sys.exit(7)"]
    (mb,) = parse_config(mailbox(password_env=None, password_command=leaking)).mailboxes
    with pytest.raises(AuthError) as info:
        fetch_secret(mb)
    assert "exited with status 7" in str(info.value)
    assert "Leaky-S3cret" not in str(info.value)

    (empty,) = parse_config(mailbox(password_env=None, password_command=[sys.executable, "-c", "pass"])).mailboxes
    with pytest.raises(AuthError, match="printed nothing"):
        fetch_secret(empty)

    (missing,) = parse_config(mailbox(password_env=None, password_command="/nonexistent/pass-tool show x")).mailboxes
    with pytest.raises(ConfigError, match="not found"):
        fetch_secret(missing)


def test_without_a_user_config_the_xdg_dirs_then_etc_are_read(tmp_path, monkeypatch):
    import caltac_inbox.config as config_module

    monkeypatch.delenv("CALTAC_INBOX_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    first, second = tmp_path / "site1", tmp_path / "site2"
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{first}{os.pathsep}{second}")
    etc = tmp_path / "etc" / "caltac-inbox" / "config.toml"
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", etc)
    assert config_module.config_search_path() == [tmp_path / "home" / "caltac-inbox" / "config.toml",
                                                  first / "caltac-inbox" / "config.toml",
                                                  second / "caltac-inbox" / "config.toml", etc]
    assert config_path(None) == (tmp_path / "home" / "caltac-inbox" / "config.toml", False)  # none exists

    etc.parent.mkdir(parents=True)
    etc.write_text('[database]\nurl = "sqlite:////srv/etc.db"\n')
    assert load_config().database.url == "sqlite:////srv/etc.db"
    (second / "caltac-inbox").mkdir(parents=True)
    (second / "caltac-inbox" / "config.toml").write_text('[database]\nurl = "sqlite:////srv/second.db"\n')
    assert load_config().database.url == "sqlite:////srv/second.db"
    (first / "caltac-inbox").mkdir(parents=True)
    (first / "caltac-inbox" / "config.toml").write_text('[database]\nurl = "sqlite:////srv/first.db"\n')
    assert load_config().database.url == "sqlite:////srv/first.db"
    user = tmp_path / "home" / "caltac-inbox" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[database]\nurl = "sqlite:////srv/user.db"\n')
    assert load_config().database.url == "sqlite:////srv/user.db"


def test_default_xdg_config_dirs_is_etc_xdg(monkeypatch):
    import caltac_inbox.config as config_module

    monkeypatch.delenv("XDG_CONFIG_DIRS", raising=False)
    assert config_module.config_search_path()[1:] == [Path("/etc/xdg/caltac-inbox/config.toml"),
                                                      Path("/etc/caltac-inbox/config.toml")]
