"""The web timeline in a real browser: Debian's Chromium, headless, driven by Playwright
(its Python package, given Chromium's path: it downloads no browser). On the sample
database it opens the page with a feed's token, checks that the 2020-08-14 downtime and
its evidence are visible, opens the entry by mouse and by keyboard, uses the copy button,
loads the page without JavaScript, and fails on any console error, page error, failed
request or HTTP error. Screenshots at phone and desktop widths go to out/screenshots/
(docs/web-timeline.png in the README is a copy of web-timeline-weeks.png).

`make test` installs Chromium when root; without it (or without playwright) the test
skips, except under CI=true, where it fails.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.demo import REPO, SAMPLES
from tests.web import ci, create_feed, ingest, serving

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CALTAC_TEST_CHROMIUM", "/usr/bin/chromium"))
# As root in a sandbox with no network: no sandbox, no GPU, nothing fetched in the background.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / "out" / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
EVIDENCE = ("This email serves as a reminder of upcoming CAASPP system downtime from Friday, August 14 at 5 p.m. "
            "through Thursday, August 20, 2020, at 8 a.m.")
WINDOW = "Fri, Aug 14, 2020, 5:00 p.m. – Thu, Aug 20, 2020, 8:00 a.m."


@pytest.fixture(scope="module")
def browser():
    problems = []
    if not CHROMIUM.is_file():
        problems.append(f"{CHROMIUM} is not installed (make test installs Debian's chromium when run as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problems.append("playwright is not installed (pip install -e '.[test]')")
    if problems:
        if ci():
            pytest.fail("CI=true but " + "; ".join(problems))
        pytest.skip("; ".join(problems))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'samples.db'}"
    ingest(url, SAMPLES)
    feed = create_feed(url, "--name", "browser test")
    with serving(url, root / "serve.log") as running:
        yield running, feed
    assert feed["token"] not in running.log_text()


def watch(page) -> list[str]:
    """Everything that went wrong on `page`, as it happens."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return problems


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_timeline_in_headless_chromium(browser, server, width, tmp_path):
    from playwright.sync_api import expect

    running, feed = server
    context = browser.new_context(viewport=VIEWPORTS[width], is_mobile=width == "phone",
                                  has_touch=width == "phone")
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{running.base}/?token={feed['token']}&as_of=2020-08-01")
    assert page.url == f"{running.base}/?as_of=2020-08-01"  # the token went into the cookie
    assert feed["token"] not in page.url

    downtime = page.locator("li.entry.kind-downtime details")
    expect(downtime.locator("summary")).to_contain_text(WINDOW)
    expect(downtime.locator("summary")).to_be_visible()
    expect(page.locator(".bar").first).to_be_visible()
    expect(page.locator(".bar").first).to_contain_text("CAASPP downtime")
    evidence = downtime.locator("blockquote.evidence")
    expect(evidence).to_be_hidden()
    if width == "desktop":  # by keyboard: the summary takes focus and Enter opens it
        downtime.locator("summary").focus()
        page.keyboard.press("Enter")
    else:
        downtime.locator("summary").tap()
    expect(evidence).to_be_visible()
    expect(evidence).to_contain_text(EVIDENCE)
    expect(downtime.locator("ol.sources > li")).to_have_count(3)
    expect(downtime.locator("ol.sources")).to_contain_text("CAASPP: Preparing to Transition to the 2020-21 Administration")

    copy = page.get_by_role("button", name="Copy subscription link")
    expect(copy).to_be_visible()  # shown by the script, so the script ran under the CSP
    copy.click()
    expect(page.locator(".copy-status")).not_to_have_text("")
    assert page.get_by_label("Subscription link").input_value() == running.base + feed["path"]

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"web-timeline-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, tmp_path / shot.name)
    if width == "desktop":  # the weeks without the subscription section: docs/web-timeline.png
        above = page.locator("section.subscribe").evaluate("s => s.getBoundingClientRect().top + window.scrollY")
        page.screenshot(path=str(SCREENSHOTS / "web-timeline-weeks.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": VIEWPORTS["desktop"]["width"], "height": above})
    context.close()
    assert problems == []


def test_timeline_without_javascript(browser, server):
    from playwright.sync_api import expect

    running, feed = server
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"])
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{running.base}/?token={feed['token']}&as_of=2020-08-01")
    downtime = page.locator("li.entry.kind-downtime details")
    downtime.locator("summary").click()  # <details> needs no script
    expect(downtime.locator("blockquote.evidence")).to_contain_text(EVIDENCE)
    expect(page.get_by_role("button", name="Copy subscription link")).to_be_hidden()
    expect(page.get_by_label("Subscription link")).to_be_visible()  # select and copy by hand
    page.get_by_label("Program").select_option("ELPAC")
    page.get_by_role("button", name="Update").click()  # a plain GET form
    expect(page.locator(".empty")).to_have_text("Nothing is coming in that period.")
    assert "program=ELPAC" in page.url
    context.close()
    assert problems == []
