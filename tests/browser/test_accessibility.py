"""Every page, checked as people with assistive technology and plain browsers meet it (issue 15 point 5):
axe-core (npm `axe-core`, pinned and fetched by deploy/lib.sh `ensure_axe`) finds no serious or critical WCAG 2.1
A/AA violation on any page of any role, and no page logs a console error or fails a request (a missing favicon
was one) in a normal context, where the pages' strict CSP applies. axe is injected into a context that bypasses
the CSP, since the pages allow no script; nothing else differs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from shared.settings import ROOT
from tests.browser.conftest import TIMEOUT_MS, login
from tests.support import TestStack, make_account, make_officer

PASSWORD = "Tiếp cận 2019!"
OFFICER, SPECIALIST, OBSERVER = "a11y.cauke@travinh.gov.vn", "a11y.snv@travinh.gov.vn", "a11y.qsv@travinh.gov.vn"
LEADER = "a11y.lanhdao@travinh.gov.vn"
NOT_FOUND = "/periods/2099-Q1"
PAGES: dict[str | None, list[str]] = {
    None: ["/login"],
    OFFICER: [
        "/",
        "/account",
        "/reports",
        "/reports/2019-H1",
        "/reports/2019-H1/extension",
        "/reports/2019-STAFF",
        "/inbox",
    ],
    SPECIALIST: [
        "/board",
        "/periods/2019-H1",
        "/periods/2019-H1?status=pending",
        "/periods/2019-H1/units/H_CAUKE",
        "/plan",
        NOT_FOUND,  # the "no such period" page
        "/inbox",
    ],
    OBSERVER: ["/board", "/plan", "/inbox"],
    LEADER: ["/overview", "/board", "/inbox"],
}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _axe_script() -> str:
    version = re.search(r"^AXE_VERSION=(\S+)$", (ROOT / "deploy" / "lib.sh").read_text(), re.M)
    assert version, "deploy/lib.sh pins AXE_VERSION"
    path = ROOT / "var" / "bin" / f"axe-{version.group(1)}.min.js"
    assert path.exists(), f"{path} missing: deploy/test.sh fetches it (ensure_axe)"
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module", autouse=True)
def people(stack: TestStack) -> Iterator[None]:
    make_officer(stack, OFFICER, "H_CAUKE", "Cán bộ tiếp cận", PASSWORD)
    make_account(stack, SPECIALIST, "Chuyên viên tiếp cận", PASSWORD, role="home_affairs")
    make_account(stack, OBSERVER, "Quan sát viên tiếp cận", PASSWORD, role="observer")
    make_account(stack, LEADER, "Lãnh đạo tiếp cận", PASSWORD, role="leadership")
    yield


def _context_page(browser: Browser, **options: Any) -> Page:
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", ignore_https_errors=True, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _serious(page: Page, script: str) -> list[str]:
    page.add_script_tag(content=script)
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("who", list(PAGES), ids=lambda w: (w or "anonymous").split("@")[0])
def test_axe_finds_no_serious_or_critical_violation_on_any_page(browser: Browser, stack: TestStack, who) -> None:
    script = _axe_script()
    page = _context_page(browser, bypass_csp=True)
    try:
        if who:
            login(page, stack, who, PASSWORD)
        problems = {}
        for path in PAGES[who]:
            page.goto(stack.public(path))
            for width in (1366, 375):
                page.set_viewport_size({"width": width, "height": 800})
                found = _serious(page, script)
                if found:
                    problems[f"{path} at {width} px"] = found
        assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)
    finally:
        page.context.close()


def test_no_page_logs_a_console_error_or_fails_a_request(browser: Browser, stack: TestStack) -> None:
    page = _context_page(browser)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"{page.url}: {req.url} failed"))
    page.on("response", lambda resp: errors.append(f"{resp.url}: {resp.status}") if resp.status >= 400 else None)
    try:
        for who, paths in PAGES.items():
            page.context.clear_cookies()
            if who:
                login(page, stack, who, PASSWORD)
            for path in (p for p in paths if p != NOT_FOUND):  # a 404 page logs its own status
                page.goto(stack.public(path))
                page.wait_for_load_state("load")
        assert errors == []
    finally:
        page.context.close()
