"""The poller against Courier-IMAP (tests/courier.py), the server whose UIDVALIDITY quirk
issue 15 found: a folder never opened read-write gets a new UIDVALIDITY on every
read-only session, so every poll is a rescan. It must download no body twice and say why."""
from __future__ import annotations

from tests.courier import courier  # noqa: F401 - fixture
from tests.system.test_imap_dovecot import Poller, assert_exactly_once, sample_bytes


def test_courier_renumbers_on_every_poll_nothing_is_downloaded_twice_and_it_is_named(tmp_path, courier):  # noqa: F811
    samples = sample_bytes()[:4]
    for i, raw in enumerate(samples):
        courier.deliver(raw, f"17000000{i}.M{i}P1.caltac")
    poller = Poller(tmp_path, courier)

    code, first, err = poller.poll_json()
    assert (code, first["new"], first["fetched"]) == (0, len(samples), len(samples)), err
    assert courier.bodies == len(samples)  # counted by the server side

    code, second, err = poller.poll_json()
    assert code == 0 and "warning" not in err, err
    assert courier.bodies == len(samples)  # a rescan, and nothing downloaded again
    folder = second["folders"][0]
    assert folder["rescan"] is True and folder["uidvalidity"] != first["folders"][0]["uidvalidity"]
    assert (second["fetched"], folder["recognised"], second["duplicates"]) == (0, len(samples), len(samples))

    code, third, err = poller.poll_json()
    assert code == 0, err
    assert third["folders"][0]["rescan"] is True and third["fetched"] == 0
    assert "UIDVALIDITY changed again" in err and "Courier-IMAP" in err
    assert courier.bodies == len(samples)  # three polls, each body downloaded once
    assert_exactly_once(poller, samples)
