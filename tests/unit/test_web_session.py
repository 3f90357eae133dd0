"""Editor sessions and CSRF tokens (web/session.py): signed, expiring, bound to one session."""
from __future__ import annotations

import pytest

from caltac_inbox.web.session import (SESSION_SECONDS, SessionKeyError, SessionSigner, safe_return_path, same_origin,
                                      session_key)

NOW = 1_800_000_000.0


@pytest.fixture
def signer():
    return SessionSigner(b"k" * 32)


def test_a_session_round_trips_until_it_expires(signer):
    session = signer.new_session(NOW, editor=3)
    cookie = signer.dumps(session)
    assert signer.loads(cookie, NOW + 10) == session
    assert session.expires == int(NOW) + SESSION_SECONDS
    assert signer.loads(cookie, NOW + SESSION_SECONDS) is None  # expired


@pytest.mark.parametrize("damage", [
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # another signature
    lambda c: c.replace(".", ".."),
    lambda c: "x" + c,  # another payload
    lambda c: c.split(".")[0],  # no signature
    lambda c: "",
    lambda c: c + "." + c,
])
def test_a_damaged_or_forged_cookie_is_no_session(signer, damage):
    assert signer.loads(damage(signer.dumps(signer.new_session(NOW, editor=3))), NOW) is None


def test_a_cookie_signed_with_another_key_is_no_session(signer):
    other = SessionSigner(b"o" * 32)
    assert signer.loads(other.dumps(other.new_session(NOW, editor=3)), NOW) is None


def test_csrf_tokens_belong_to_one_session(signer):
    first, second = signer.new_session(NOW, editor=3), signer.new_session(NOW, editor=3)
    token = signer.csrf_token(first)
    assert signer.csrf_ok(first, token)
    assert not signer.csrf_ok(second, token)  # replayed in another session of the same editor
    assert not signer.csrf_ok(first, None) and not signer.csrf_ok(first, "")
    assert token != signer.dumps(first).split(".")[1]  # not the cookie's signature


def test_session_key_from_the_environment_or_random():
    assert session_key("s" * 32) == b"s" * 32
    assert session_key(None) != session_key(None) and len(session_key("")) == 32
    with pytest.raises(SessionKeyError, match="at least 32 characters"):
        session_key("short")


def test_origin_must_be_ours():
    assert same_origin("http://testserver", ("http://testserver",))
    assert same_origin("https://Caltac.example.org", ("http://127.0.0.1:8025", "https://caltac.example.org"))
    assert not same_origin("https://evil.example", ("http://testserver",))
    assert not same_origin(None, ("http://testserver",)) and not same_origin("null", ("http://testserver",))


@pytest.mark.parametrize("given, expected", [
    ("/?as_of=2020-08-01", "/?as_of=2020-08-01"),
    ("/review?days=365", "/review?days=365"),
    ("//evil.example/", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("/calendar/x.ics", "/"),
    ("/?a=\r\nSet-Cookie:x", "/"),
    (None, "/"),
])
def test_actions_return_only_to_our_pages(given, expected):
    assert safe_return_path(given) == expected
