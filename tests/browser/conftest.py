"""Browser tests: headless Chromium (Debian's package, driven by Playwright) against the session's real stack, at its
one public address (the reverse proxy, shared.edge), as a person uses it.

The browser is Debian's `chromium` (deploy/test.sh installs it; `DVCQ_CHROMIUM` names another binary);
Playwright's own browser download is never used. Each test gets a fresh context (no cookies), in Vietnamese
with the province's time zone. A failing test leaves a screenshot and the page's HTML under
var/test/browser-failures/ for whoever debugs it; no test asserts on them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shared.settings import ROOT
from tests.support import TestStack

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000
FAILURES = ROOT / "var" / "test" / "browser-failures"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so the `page` fixture knows whether its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session."""
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("DVCQ_CHROMIUM", "/usr/bin/chromium"), headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


def _save_failure(page: Page, name: str) -> None:
    """A screenshot and the HTML of the page a test failed on (for debugging only)."""
    FAILURES.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:150]
    try:
        page.screenshot(path=str(FAILURES / f"{stem}.png"), full_page=True)
        (FAILURES / f"{stem}.html").write_text(page.content(), encoding="utf-8")
    except Exception as exc:  # the page may be gone; the test's own failure is what matters
        (FAILURES / f"{stem}.txt").write_text(f"could not save the page: {exc!r}\n", encoding="utf-8")


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh context (vi-VN, Asia/Ho_Chi_Minh, the local certificate accepted), 15 s default timeout."""
    # the stack's one address has a certificate of its own local CA: accepted, as a person does once
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", ignore_https_errors=True)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    pg = context.new_page()
    try:
        yield pg
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            _save_failure(pg, request.node.nodeid)
        context.close()


def login(page: Page, stack: TestStack, email: str, password: str) -> None:
    """Log in through the login page at the stack's public address and wait for the role's landing page (the
    header's logout button shows on every page of a logged-in person)."""
    page.goto(stack.public("/login"))
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#logout")
