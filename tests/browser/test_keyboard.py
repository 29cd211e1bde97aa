"""A unit's officer submits a full report by keyboard alone (issue 15 point 5): log in, reach the period's form,
fill every indicator and every text and send it with Tab, typing and Enter only. The test reads which element has
the focus; it never clicks or fills."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_report_form import CONSISTENT  # every indicator consistent with DOMAIN.md §4's rules
from tests.support import TestStack, make_officer, own_stack

AGENCY, PERIOD = "SYT", "2019-H1"
EMAIL, PASSWORD = "banphim.syt@travinh.gov.vn", "Bàn phím 2019!"
FOCUSED = """() => { const e = document.activeElement;
    return {tag: e.tagName, type: e.type || '', id: e.id || '', name: e.name || '',
            open: e.matches('#obligations tr[data-period="2019-H1"] a.open-form')}; }"""


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    """A stack of its own: the report it sends must not meet the session stack's tests of the same unit."""
    with own_stack("kb") as s:
        make_officer(s, EMAIL, AGENCY, "Cán bộ dùng bàn phím", PASSWORD)
        yield s


def _tab_to(page: Page, wanted: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED)[wanted]:
            return
    raise AssertionError(f"Tab never reached {wanted}")


def test_an_officer_submits_a_full_report_by_keyboard_alone(page: Page, stack: TestStack) -> None:
    page.goto(stack.public("/login"))
    expect(page.locator("#email")).to_be_focused()  # the e-mail field takes the focus on arrival (autofocus)
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#greeting")).to_be_visible()

    _tab_to(page, "open")
    page.keyboard.press("Enter")
    expect(page.locator("#form-title")).to_be_visible()

    typed: dict[str, str] = {}
    for _ in range(400):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now["tag"] == "INPUT" and now["type"] == "number" and now["name"] not in typed:
            key = now["name"].removeprefix("indicators.")
            typed[now["name"]] = str(CONSISTENT.get(key, 1))
            page.keyboard.type(typed[now["name"]])
        elif now["tag"] == "TEXTAREA" and now["name"] not in typed:
            typed[now["name"]] = "Đã triển khai đầy đủ theo Kế hoạch."
            page.keyboard.type(typed[now["name"]])
        elif now["id"] == "submit-report":
            page.keyboard.press("Enter")
            break
    else:
        raise AssertionError("Tab never reached the send button")

    expect(page.locator("#receipt")).to_be_visible()
    template = stack.get("intake", f"/api/v1/templates/{AGENCY}/{PERIOD}").json()
    indicators = {f"indicators.{i['key']}" for area in template["areas"] for i in area["indicators"]}
    assert indicators <= set(typed)  # every indicator was typed
    kept = stack.reports_of(AGENCY)
    assert [r["period"] for r in kept] == [PERIOD]
