"""The inbox page in headless Chromium with alerts in it (issue 15 points 3 and 5): a unit's head finds the count
in the header, opens the inbox by clicking, reads it on a 375 px phone without sideways scrolling, axe-core finds
no serious or critical violation in it at 1366 and 375 px, marks an item read by keyboard alone, and follows an
item to the report it is about.

The module runs on a stack of its own: it moves the clock past the H1 deadline, which the session's stack must not
see (tests/browser/test_accessibility.py checks the inbox there too, empty).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from shared.settings import ROOT
from tests.browser.conftest import login
from tests.browser.test_accessibility import _axe_script, _context_page, _serious
from tests.support import TestStack, make_officer, own_stack, wait_for, wait_quiet

PASSWORD = "Hộp thư Trà Cú 2019!"
HEAD = "thutruong.h-tracu@travinh.example"  # the plan's head of H_TRACU: the overdue level reaches this inbox
ARTIFACTS = ROOT / "var" / "test" / "artifacts" / "inbox"  # screenshots for people, not assertions


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    """A stack whose clock moved to 12/06/2019, past the H1 deadline: H_TRACU's head has its alerts."""
    with own_stack("ibx") as s:
        make_officer(s, HEAD, "H_TRACU", "Thủ trưởng đơn vị", PASSWORD)
        s.set_clock("2019-06-12T09:00:00+07:00")
        wait_for(lambda: len(_inbox(s)) >= 2, timeout=180, interval=1.0, what="two alerts in the head's inbox")
        wait_quiet(s)  # the consumers have caught up: no alert arrives while a test counts
        yield s


def _auth(stack: TestStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token('agency', 'H_TRACU', sub=HEAD)}"}


def _inbox(stack: TestStack) -> list[dict[str, object]]:
    return stack.items("notifier", "/api/v1/inbox", auth=_auth(stack))


def _unread(stack: TestStack) -> int:
    resp = requests.get(stack.url("notifier", "/api/v1/inbox/unread"), headers=_auth(stack), timeout=15)
    assert resp.status_code == 200, resp.text
    count: int = resp.json()["unread"]
    return count


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_the_head_reads_the_inbox_on_a_phone_marks_an_item_read_by_keyboard_and_opens_the_report(
    page: Page, stack: TestStack
) -> None:
    unread = _unread(stack)
    assert unread >= 2
    page.set_viewport_size({"width": 375, "height": 740})
    login(page, stack, HEAD, PASSWORD)
    expect(page.locator("#nav-inbox")).to_have_text(f"Hộp thư ({unread})")
    expect(page.locator("#nav-inbox")).to_have_attribute("aria-describedby", "nav-inbox-unread")
    expect(page.locator("#nav-inbox-unread")).to_have_text(f"{unread} thông báo chưa đọc")
    page.click("#nav-inbox")
    expect(page.locator("#inbox-title")).to_be_visible()
    items = page.locator("#inbox-items > li")
    expect(items).to_have_count(len(_inbox(stack)))
    expect(page.locator("#inbox-items .state-unread")).to_have_count(unread)
    expect(page.locator("#inbox-items .text").first).to_contain_text("Kính gửi: ")
    assert _scroll_width(page) <= 375
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "head-phone-unread.png"), full_page=True)
    first = items.first
    first_id = first.get_attribute("data-id")
    first.locator("button.mark-read").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f'#inbox-items > li[data-id="{first_id}"]')).to_have_attribute("data-read", "true")
    expect(page.locator(f'#inbox-items > li[data-id="{first_id}"] .state-read')).to_have_text("Đã đọc")
    expect(page.locator("#nav-inbox")).to_have_text(f"Hộp thư ({unread - 1})")
    assert _unread(stack) == unread - 1
    page.screenshot(path=str(ARTIFACTS / "head-phone-one-read.png"), full_page=True)
    link = page.locator("#inbox-items a.obligation").first
    expect(link).to_have_attribute("href", re.compile(r"/reports/2019-(H1|STAFF)$"))
    link.click()
    expect(page.locator("main h1").first).to_be_visible()
    assert re.search(r"/reports/2019-(H1|STAFF)$", page.url), page.url


def test_axe_finds_no_serious_or_critical_violation_in_an_inbox_with_alerts(browser: Browser, stack: TestStack) -> None:
    script = _axe_script()
    page = _context_page(browser, bypass_csp=True)
    try:
        login(page, stack, HEAD, PASSWORD)
        page.goto(stack.public("/inbox"))
        expect(page.locator("#inbox-items > li").first).to_be_visible()
        problems = {}
        for width in (1366, 375):
            page.set_viewport_size({"width": width, "height": 800})
            found = _serious(page, script)
            if found:
                problems[width] = found
            assert _scroll_width(page) <= width
        assert problems == {}
    finally:
        page.context.close()
