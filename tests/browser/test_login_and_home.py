"""Login, the home page and logout in headless Chromium (F13 and the unit's pages): page state, not screenshots."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.support import TestStack, make_officer

AGENCY = "H_CAUKE"
OFFICER = "browser.cauke@travinh.gov.vn"
OFFICER_NAME = "Thạch Thị Ngọc Hường"
WRONG_PW_OFFICER = "browser.sai.mat.khau@travinh.gov.vn"
PASSWORD = "Dân vận Cầu Kè 2019!"
PHONE = {"width": 375, "height": 667}


@pytest.fixture(scope="module", autouse=True)
def officers(stack: TestStack) -> Iterator[None]:
    """Cầu Kè's officer, and a second one of the same unit whose wrong-password attempt locks no one else."""
    make_officer(stack, OFFICER, AGENCY, OFFICER_NAME, PASSWORD)
    make_officer(stack, WRONG_PW_OFFICER, AGENCY, "Kim Văn Sơn", PASSWORD)
    yield


def _path(page: Page) -> str:
    return urllib.parse.urlsplit(page.url).path


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_an_officer_logs_in_and_is_greeted_by_name_also_on_a_phone(page: Page, stack: TestStack) -> None:
    page.set_viewport_size(PHONE)
    page.goto(stack.public("/login"))
    expect(page.locator("#email")).to_be_visible()
    assert _scroll_width(page) <= PHONE["width"], "the login page scrolls sideways on a phone"

    login(page, stack, OFFICER, PASSWORD)

    assert _path(page) == "/"
    greeting = page.locator("#greeting")
    expect(greeting).to_contain_text(OFFICER_NAME)
    assert OFFICER_NAME in greeting.inner_text()  # the diacritics arrive intact, not as mojibake or escapes
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert _scroll_width(page) <= PHONE["width"], "the home page scrolls sideways on a phone"


def test_a_wrong_password_shows_a_vietnamese_error_and_stays_on_the_login_page(page: Page, stack: TestStack) -> None:
    page.goto(stack.public("/login"))
    page.fill("#email", WRONG_PW_OFFICER)
    page.fill("#password", "sai mật khẩu")
    page.click("button[type=submit]")

    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("không đúng")
    assert _path(page) == "/login"
    expect(page.locator("#greeting")).to_have_count(0)
    expect(page.locator("#email")).to_have_value(WRONG_PW_OFFICER)  # the address is kept for the next try
    assert not any(c["name"] == "dvcq_session" for c in page.context.cookies())


def test_logout_returns_to_the_login_page_and_home_then_asks_to_log_in(page: Page, stack: TestStack) -> None:
    login(page, stack, OFFICER, PASSWORD)
    assert any(c["name"] == "dvcq_session" for c in page.context.cookies())

    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#email")).to_be_visible()
    assert not any(c["name"] == "dvcq_session" for c in page.context.cookies())

    page.goto(stack.public("/"))
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#greeting")).to_have_count(0)
    expect(page.locator("#email")).to_be_visible()
