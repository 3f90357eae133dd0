"""An editor on the web page in a real browser: Debian's Chromium, headless, driven by
Playwright, against a real `caltac-inbox serve` on the sample database. The editor signs
in with the link (also from a page of another site, where a SameSite=Strict cookie is
easily lost), marks the 2020-08-14 downtime done, corrects the designation's time and
dismisses a lead; the page shows each change, `show` and `corrections` name the editor, the feed's
SEQUENCE goes up. A viewer sees no forms; forged POSTs get 403 and change nothing.
Screenshots at phone and desktop widths go to out/screenshots/web-editor-*.png.
"""
from __future__ import annotations

import json
import re
import urllib.request

import icalendar
import pytest

from tests.system.test_web_browser import SCREENSHOTS, VIEWPORTS, browser, watch  # noqa: F401 - fixture
from tests.web import add_editor, cli, create_feed, ingest, serving

pytestmark = pytest.mark.slow

DESIGNATION_AS_OF = "2019-06-01"
DOWNTIME_AS_OF = "2020-08-01"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("editor-browser")
    url = f"sqlite:///{root / 'samples.db'}"
    ingest(url, SAMPLES_PATH)
    feed = create_feed(url, "--name", "viewer")
    with serving(url, root / "serve.log") as running:
        editor = add_editor(url, "Pat Lee", "--base-url", running.base)
        yield running, url, feed, editor
        log = running.log_text()
    assert feed["token"] not in log and editor["token"] not in log


from tests.demo import SAMPLES as SAMPLES_PATH  # noqa: E402


def timeline(db_url: str) -> list[dict]:
    return [json.loads(line) for line in cli(db_url, "timeline", "--json", "--include-dismissed").splitlines()]


def sequences(base: str, feed: dict) -> dict[str, int]:
    with urllib.request.urlopen(base + feed["path"] + "?from=all", timeout=30) as answer:
        calendar = icalendar.Calendar.from_ical(answer.read())
    return {str(e["UID"]).removesuffix("@caltac-inbox"): int(e.get("SEQUENCE", 0)) for e in calendar.walk("VEVENT")}


def test_an_editor_acts_from_the_page(browser, site):  # noqa: F811 - the fixture
    from playwright.sync_api import expect

    running, db_url, feed, editor = site
    entries = timeline(db_url)
    designation = next(e for e in entries if e["kind"] == "designation")
    downtime = next(e for e in entries if e["kind"] == "downtime" and (e["start"] or "").startswith("2020-08-14"))
    sequence_before = sequences(running.base, feed)

    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    problems = watch(page)
    # the link opened from another site's page (a mail in a webmail): the session must survive
    page.set_content(f'<a href="{editor["url"]}">Sign in to CalTAC notices</a>')
    page.get_by_role("link", name="Sign in to CalTAC notices").click()
    page.wait_for_url(running.base + "/")
    assert editor["token"] not in page.url
    expect(page.locator("header .who")).to_have_text("Signed in as Pat Lee")

    # correct the designation's time
    page.goto(f"{running.base}/?as_of={DESIGNATION_AS_OF}&days=90")
    entry = page.locator(f"#entry-{designation['id']}")
    entry.locator("summary").click()
    entry.get_by_label("Due").fill("2019-07-01 17:00")
    entry.get_by_label("Reason").last.fill("CalTAC phone call")
    entry.get_by_role("button", name="Save the correction").click()
    expect(page.locator(".saved")).to_contain_text("Corrected the entry")
    expect(entry.locator("summary")).to_contain_text("Mon, Jul 1, 2019, 5:00 p.m.")
    expect(entry.locator("summary")).to_contain_text("corrected")

    # mark the 2020-08-14 downtime done
    page.goto(f"{running.base}/?as_of={DOWNTIME_AS_OF}")
    entry = page.locator(f"#entry-{downtime['id']}")
    entry.locator("summary").click()
    entry.get_by_label("Note").fill("told the test sites")
    entry.get_by_role("button", name="Mark done").click()
    expect(page.locator(".saved")).to_contain_text("Marked the entry done")
    expect(entry.locator("summary .flag").first).to_have_text("done")  # in words, not only a colour

    # dismiss a lead on the Review tab
    page.get_by_role("link", name="Review").click()
    page.goto(f"{running.base}/review?as_of={DOWNTIME_AS_OF}&days=365")
    first_lead = page.locator("li.lead").first
    lead_id = first_lead.get_attribute("id").removeprefix("lead-")
    first_lead.get_by_label("Reason").fill("not a date for us")
    first_lead.get_by_role("button", name="Dismiss the lead").click()
    expect(page.locator(".saved")).to_contain_text(f"Dismissed lead {lead_id}")
    expect(page.locator(f"#lead-{lead_id}")).to_have_count(0)

    shown = json.loads(cli(db_url, "show", str(designation["id"]), "--json"))
    assert shown["due"] == "2019-07-01T17:00:00-07:00" and shown["corrections"][0]["by"] == "Pat Lee"
    made = [json.loads(line) for line in cli(db_url, "corrections", "--json").splitlines()]
    assert [(c["action"], c["entry"], c["by"]) for c in made] == [
        ("correct", designation["uid"], "Pat Lee"), ("done", downtime["uid"], "Pat Lee"),
        ("dismiss", lead_id, "Pat Lee")]
    assert "Pat Lee" in cli(db_url, "corrections")
    sequence_after = sequences(running.base, feed)
    assert sequence_after[designation["uid"]] > sequence_before[designation["uid"]]
    assert json.loads(cli(db_url, "show", str(downtime["id"]), "--json"))["done"] is True

    # forged POSTs: no CSRF token, another site's Origin; nothing changes
    csrf = page.locator('form.sign-out input[name="csrf"]').get_attribute("value")
    action = f"{running.base}/edit/undo"
    origin = {"Origin": running.base}
    assert context.request.post(action, form={"correction": "2"}, headers=origin).status == 403
    assert context.request.post(action, form={"correction": "2", "csrf": csrf},
                                headers={"Origin": "https://evil.example"}).status == 403

    # a viewer: no forms, and a POST with the editor's token still 403
    viewer = browser.new_context(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True)
    viewer_page = viewer.new_page()
    problems += watch(viewer_page)
    viewer_page.goto(f"{running.base}/?token={feed['token']}&as_of={DOWNTIME_AS_OF}")
    expect(viewer_page.locator("li.entry").first).to_be_visible()
    expect(viewer_page.locator('form[method="post"]')).to_have_count(0)
    expect(viewer_page.locator("header .who")).to_have_count(0)
    assert viewer.request.post(action, form={"correction": "2", "csrf": csrf}, headers=origin).status == 403
    viewer.close()
    assert len([json.loads(line) for line in cli(db_url, "corrections", "--json").splitlines()]) == 3
    assert json.loads(cli(db_url, "show", str(downtime["id"]), "--json"))["done"] is True

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.goto(f"{running.base}/?as_of={DOWNTIME_AS_OF}")
        fold = page.locator("details.filters-fold")
        if width == "phone":  # folded away, one tap opens it
            expect(fold).not_to_have_attribute("open", re.compile(".*"))
            page.screenshot(path=str(SCREENSHOTS / "web-editor-phone-first-screen.png"))
            fold.locator("summary").click()
        expect(page.locator("#program")).to_be_visible()
        # labels beside their fields; the kinds' hint is their description; bar labels break between words
        label, field = page.locator('label[for="program"]').bounding_box(), page.locator("#program").bounding_box()
        assert field["x"] > label["x"] + label["width"] - 1 and abs(label["y"] - field["y"]) < field["height"]
        expect(page.get_by_role("checkbox", name="downtime")).to_have_accessible_description(
            "No kind ticked shows every kind.")
        assert page.locator(".bar").first.evaluate("e => getComputedStyle(e).overflowWrap") == "normal"
        entry = page.locator(f"#entry-{downtime['id']}")
        entry.locator("summary").click()
        expect(entry.get_by_role("button", name="Reopen (undo done)")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / f"web-editor-{width}.png"), full_page=True)
        page.goto(f"{running.base}/review?as_of={DOWNTIME_AS_OF}&days=365")
        page.screenshot(path=str(SCREENSHOTS / f"web-editor-review-{width}.png"), full_page=True)

    page.locator("form.sign-out").get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("You are signed out")
    context.close()
    # a request the browser itself cancelled because the page moved on (the icon, under load) is no fault
    assert [p for p in problems if not p.endswith("net::ERR_ABORTED")] == []
