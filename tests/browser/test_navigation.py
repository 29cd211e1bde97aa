"""Navigation by role at the one address (issue 15 points 1-2), in Chromium at 1366 px and on a 375 px phone:
a person opens the public address, logs in, lands where their role works, and reaches every page of the header
by clicking, never typing an address; a page asked for before the login is where the login returns. Each page
visited is kept as a screenshot under var/test/artifacts/navigation/ (artifacts for people, not assertions)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from shared.settings import ROOT
from tests.support import TestStack, make_account, make_officer

ARTIFACTS = ROOT / "var" / "test" / "artifacts" / "navigation"
PASSWORD = "Điều hướng 2019!"
PEOPLE = {
    "officer": ("nav.officer@travinh.gov.vn", "agency", "/", ["home", "reports", "inbox"]),
    "home_affairs": ("nav.snv@travinh.gov.vn", "home_affairs", "/board", ["board", "plan", "inbox"]),
    "observer": ("nav.observer@travinh.gov.vn", "observer", "/board", ["board", "plan", "inbox"]),
    "leadership": ("nav.lanhdao@travinh.gov.vn", "leadership", "/overview", ["overview", "board", "inbox"]),
}
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 740}}
LANDMARK = {
    "home": "#greeting",
    "reports": "main h1",
    "board": "#period-title",
    "plan": "#plan-title",
    "overview": "#overview-title",
    "inbox": "#inbox-title",
}


@pytest.fixture(scope="module", autouse=True)
def people(stack: TestStack) -> Iterator[None]:
    make_officer(stack, PEOPLE["officer"][0], "H_CAUKE", "Cán bộ điều hướng", PASSWORD)
    for key in ("home_affairs", "observer", "leadership"):
        email, role, _, _ = PEOPLE[key]
        make_account(stack, email, f"Người dùng {key}", PASSWORD, role=role)
    yield


def _path(page: Page) -> str:
    return urllib.parse.urlsplit(page.url).path


def _wide(page: Page) -> list[str]:
    """The elements that stick out past the viewport's right edge (what makes a page scroll sideways)."""
    script = """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 8).map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""
    return [str(item) for item in page.evaluate(script)]


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("person", PEOPLE)
def test_each_role_lands_where_it_works_and_reaches_every_page_of_its_header(
    page: Page, stack: TestStack, person: str, width: str
) -> None:
    email, _, lands, keys = PEOPLE[person]
    page.set_viewport_size(WIDTHS[width])
    page.goto(stack.public("/"))  # the one printed address
    expect(page).to_have_url(re.compile(r"/login$"))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#logout")).to_be_visible()
    assert page.url == stack.public(lands)
    assert [a.get_attribute("id") for a in page.locator("#main-nav a").all()] == [f"nav-{k}" for k in keys]
    for key in keys:
        page.click(f"#nav-{key}")
        expect(page.locator(LANDMARK[key]).first).to_be_visible()
        expect(page.locator(f"#nav-{key}")).to_have_attribute("aria-current", "page")
        assert urllib.parse.urlsplit(page.url).netloc == urllib.parse.urlsplit(stack.public_url).netloc
        assert int(page.evaluate("document.documentElement.scrollWidth")) <= WIDTHS[width]["width"], _wide(page)
        _shot(page, f"{person}-{width}-{key}")
    page.click("#nav-account")  # beside the person's name: their account page, whatever the role
    expect(page.locator("#account-title")).to_be_visible()
    expect(page.locator("#nav-account")).to_have_attribute("aria-current", "page")
    assert _path(page) == "/account"
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= WIDTHS[width]["width"], _wide(page)
    _shot(page, f"{person}-{width}-account")
    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_login_returns_to_the_page_asked_for(page: Page, stack: TestStack) -> None:
    page.goto(stack.public("/board?period=2019-H1"))
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#email", PEOPLE["home_affairs"][0])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#period-title")).to_have_attribute("data-period", "2019-H1")
    assert page.url == stack.public("/board?period=2019-H1")
