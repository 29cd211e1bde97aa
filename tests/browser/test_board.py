"""Sở Nội vụ's board in headless Chromium (F10, F8, F12): the compliance matrix of 2019-H1 with its filters, a unit's
report, granting a pending extension, closing the period; an observer sees it all without any action.

The module runs on a stack of its own: it moves the clock past the H1 deadline and closes the period, which the
session's shared stack must not see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.support import TestStack, make_account, make_officer, own_stack, wait_for

PERIOD = "2019-H1"
PASSWORD = "Sở Nội vụ Trà Vinh 2019!"
SPECIALIST = "chuyenvien.board@snv.travinh.example"
OBSERVER = "quansat.board@bandanvan.travinh.example"
OFFICER = "daumoi.board@cauke.travinh.example"
REPORTED = "H_CAUKE"  # reports on time, before the clock moves past the deadline
ASKING = "H_TIEUCAN"  # asks for an extension, which Sở Nội vụ grants on the board
HUYEN = (
    "TP_TRAVINH", "TX_DUYENHAI", "H_CANGLONG", "H_CAUKE", "H_TIEUCAN",
    "H_CHAUTHANH", "H_CAUNGANG", "H_TRACU", "H_DUYENHAI",
)  # fmt: skip
ROWS = "#matrix tbody tr[data-agency]"


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    """A stack of this module's own: on 05/06/2019 Cầu Kè reports and Tiểu Cần asks for an extension, then the
    clock moves to 12/06/2019, past the H1 deadline (10/06), and every other unit is overdue."""
    with own_stack("b") as s:
        make_account(s, SPECIALIST, "Nguyễn Thị Thanh Tâm", PASSWORD, role="home_affairs")
        make_account(s, OBSERVER, "Thạch Sô Phol", PASSWORD, role="observer")
        make_officer(s, OFFICER, REPORTED, "Lâm Văn Đức", PASSWORD)
        wait_for(lambda: len(s.compliance(PERIOD)["items"]) == 29, timeout=90, what="29 obligations of H1 on the board")
        s.set_clock("2019-06-05T09:00:00+07:00")
        body = {"indicators": {"tcd_luot": 1234, "tcd_nguoi": 1300}, "narratives": {"area_1": "Đã quán triệt."}}
        resp = s.post_report(REPORTED, PERIOD, body)
        assert resp.status_code == 201, resp.text
        resp = requests.post(
            s.url("scheduler", f"/api/v1/obligations/{ASKING}/{PERIOD}/extension-requests"),
            json={"reason": "Huyện đang tổng hợp số liệu các xã.", "proposed_date": "2019-06-20"},
            headers=s.auth("agency", ASKING),
            timeout=15,
        )
        assert resp.status_code == 201, resp.text
        s.wait_status(PERIOD, REPORTED, "submitted_on_time", timeout=180)  # generous: a busy machine
        s.set_clock("2019-06-12T09:00:00+07:00")
        wait_for(
            lambda: sum(u["status"] == "overdue" for u in s.compliance(PERIOD)["items"]) == 28,
            timeout=90,
            what="28 units overdue on the board",
        )
        yield s


def _board(page: Page, stack: TestStack, query: str = "") -> None:
    page.goto(stack.public(f"/board{query}"))
    expect(page.locator("#period-title")).to_have_attribute("data-period", PERIOD)


def _agencies(page: Page) -> list[str]:
    return [row.get_attribute("data-agency") or "" for row in page.locator(ROWS).all()]


def _reload_until(page: Page, check: Callable[[], bool], what: str) -> None:
    """Reload the page until `check` holds: the board follows events, a moment after the action."""

    def probe() -> bool:
        page.reload()
        return check()

    wait_for(probe, timeout=90, interval=0.5, what=what)


def _session_token(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "dvcq_session")


def test_without_a_session_the_board_sends_to_the_login_page_and_api_clients_get_json(
    page: Page, stack: TestStack
) -> None:
    page.goto(stack.public("/board"))
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert page.url == stack.public("/login?next=%2Fboard")  # the login at the one address, then back here
    expect(page.locator("#email")).to_be_visible()

    described = requests.get(stack.url("aggregator", "/"), timeout=15)
    assert described.status_code == 200
    assert described.json()["service"] == "aggregator"


def test_a_unit_officer_is_refused_the_board_in_vietnamese(page: Page, stack: TestStack) -> None:
    login(page, stack, OFFICER, PASSWORD)
    response = page.goto(stack.public("/board"))
    assert response is not None and response.status == 403
    expect(page.locator("#message-title")).to_have_text("Không có quyền truy cập")
    expect(page.locator("#matrix")).to_have_count(0)
    assert page.evaluate("document.documentElement.lang") == "vi"


def test_home_affairs_sees_29_units_filters_them_and_opens_a_report(page: Page, stack: TestStack) -> None:
    login(page, stack, SPECIALIST, PASSWORD)
    _board(page, stack)  # the default period: the latest whose deadline has passed

    expect(page.locator(ROWS)).to_have_count(29)
    assert _agencies(page)[:2] == ["VP_UBND", "SNV"]  # official order
    reported = page.locator(f'{ROWS}[data-agency="{REPORTED}"]')
    expect(reported.locator('[data-cell="status"]')).to_have_text("Đã nộp đúng hạn")
    expect(reported.locator('[data-cell="received"]')).to_have_text("09:00 05/06/2019")
    late = page.locator(f'{ROWS}[data-agency="H_TRACU"]')
    expect(late.locator('[data-cell="status"]')).to_have_text("Quá hạn")
    expect(late.locator('[data-cell="delay"]')).to_have_text("Quá hạn 2 ngày")
    expect(page.locator('[data-figure="EXPECTED_REPORTS"] .value')).to_have_text("29")
    expect(page.locator('[data-figure="ACTUAL_REPORTS"] .value')).to_have_text("1")
    expect(page.locator('[data-figure="REPORTING_RATE"] .value')).to_have_text("3,4%")
    expect(page.locator("#overdue tbody tr")).to_have_count(28)
    expect(page.locator('#totals tr[data-indicator="tcd_luot"] [data-cell="total"]')).to_have_text("1.234")
    expect(page.locator(f'{ROWS}[data-agency="{ASKING}"] a.waiting')).to_contain_text("1 đề nghị gia hạn")

    page.select_option("#status-filter", "overdue")
    page.click("#apply-filters")
    expect(page).to_have_url(re.compile(r"status=overdue"))
    expect(page.locator(ROWS)).to_have_count(28)
    assert REPORTED not in _agencies(page)
    assert {row.get_attribute("data-status") for row in page.locator(ROWS).all()} == {"overdue"}

    page.select_option("#type-filter", "HUYEN")
    page.click("#apply-filters")
    expect(page.locator(ROWS)).to_have_count(8)
    assert _agencies(page) == [a for a in HUYEN if a != REPORTED]

    page.select_option("#status-filter", "")
    page.click("#apply-filters")
    expect(page.locator(ROWS)).to_have_count(9)
    assert _agencies(page) == list(HUYEN)

    page.locator(f'{ROWS}[data-agency="{REPORTED}"] a.unit-link').click()
    expect(page.locator("#unit-title")).to_have_text("Ủy ban nhân dân huyện Cầu Kè")
    expect(page.locator('tr[data-indicator="tcd_luot"] [data-cell="value"]')).to_have_text("1.234")
    expect(page.locator('tr[data-indicator="tcd_doan_dong_nguoi"] [data-cell="value"]')).to_have_text("—")
    expect(page.locator("#report-facts [data-report='on_time']")).to_have_text("Đúng hạn")
    expect(page.locator("#revisions tbody tr")).to_have_count(1)
    expect(page.locator("#ended-note")).to_be_visible()  # a submitted report: nothing to grant or waive


def test_home_affairs_grants_the_pending_extension_and_the_board_shows_the_new_deadline(
    page: Page, stack: TestStack
) -> None:
    login(page, stack, SPECIALIST, PASSWORD)
    _board(page, stack)
    page.locator(f'{ROWS}[data-agency="{ASKING}"] a.unit-link').click()
    decision = page.locator("form.extension-decision")
    expect(decision).to_have_count(1)
    expect(decision).to_contain_text("20/06/2019")
    decision.locator('input[name="due_date"]').fill("2019-06-25")
    decision.locator("button.grant-extension").click()

    expect(page.locator("#notice")).to_contain_text("Đã gia hạn")
    expect(page.locator("#problem")).to_have_count(0)
    _board(page, stack)
    row = page.locator(f'{ROWS}[data-agency="{ASKING}"]')
    _reload_until(
        page,
        lambda: row.locator('[data-cell="extension"]').inner_text().startswith("Đã gia hạn đến 25/06/2019"),
        "the granted extension on the board",
    )
    expect(row.locator('[data-cell="deadline"]')).to_have_text("25/06/2019")
    expect(row.locator('[data-cell="status"]')).to_have_text("Chưa đến hạn")
    expect(row.locator("a.waiting")).to_have_count(0)


def test_a_granted_date_not_after_the_deadline_is_refused_with_the_schedulers_message(
    page: Page, stack: TestStack
) -> None:
    login(page, stack, SPECIALIST, PASSWORD)
    page.goto(stack.public(f"/periods/{PERIOD}/units/H_TRACU"))
    expect(page.locator("#no-pending")).to_be_visible()
    page.fill("#direct-due", "2019-06-05")
    page.fill("#direct-reason", "Đơn vị xin gia hạn bằng công văn.")
    page.click("#direct-grant")
    expect(page.locator("#problem")).to_be_visible()
    expect(page.locator('#form-errors [data-field="due_date"]')).to_contain_text("phải sau hạn hiện hành (10/06/2019)")
    expect(page.locator("#direct-reason")).to_have_value("Đơn vị xin gia hạn bằng công văn.")


def test_the_board_sends_a_strict_csp_and_its_style_sheet_still_applies(page: Page, stack: TestStack) -> None:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    login(page, stack, SPECIALIST, PASSWORD)
    response = page.goto(stack.public("/board"))
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    header = page.locator("header").first
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(139, 26, 26)"  # from board.css
    expect(page.locator('#status-chart rect[data-status="overdue"]')).to_have_count(1)
    assert not violations, violations


def test_home_affairs_issues_a_document_by_post_and_it_is_archived(page: Page, stack: TestStack) -> None:
    login(page, stack, SPECIALIST, PASSWORD)
    _board(page, stack)
    button = page.locator('#downloads button[data-export="2019-H1.xlsx"]')
    expect(button).to_be_visible()
    with page.expect_download() as issued:
        button.click()
    download = issued.value
    assert download.suggested_filename.endswith(".xlsx")
    assert download.path().stat().st_size > 0
    archive = stack.get("aggregator", f"/api/v1/documents?period={PERIOD}", role="observer").json()["items"]
    assert [(r["kind"], r["issued_by"]) for r in archive if r["kind"] == "xlsx"] == [("xlsx", SPECIALIST)]
    forged = page.request.post(stack.public(f"/api/v1/exports/{PERIOD}.xlsx"), form={"csrf_token": "x"})
    assert forged.status == 403 and forged.json()["error"]["code"] == "csrf"
    again = stack.get("aggregator", f"/api/v1/documents?period={PERIOD}", role="observer").json()["items"]
    assert len(again) == len(archive)  # the refused post archived nothing


def test_home_affairs_closes_the_period_and_the_board_marks_it_closed(page: Page, stack: TestStack) -> None:
    login(page, stack, SPECIALIST, PASSWORD)
    _board(page, stack)
    expect(page.locator("#open-badge")).to_be_visible()
    expect(page.locator('#downloads button[data-export="2019-H1.docx"]')).to_be_visible()
    page.click("#close-period")

    expect(page.locator("#notice")).to_contain_text("Đã chốt số liệu")
    expect(page.locator("#closed-badge")).to_have_text("Đã chốt số liệu")
    expect(page.locator("#closed-at")).to_contain_text(SPECIALIST)
    expect(page.locator("#close-form")).to_have_count(0)
    assert stack.compliance(PERIOD)["closed"]["closed_by"] == SPECIALIST


def test_an_observer_sees_the_board_without_any_action_and_cannot_close_the_period(
    page: Page, stack: TestStack
) -> None:
    login(page, stack, OBSERVER, PASSWORD)
    _board(page, stack)
    expect(page.locator(ROWS)).to_have_count(29)
    expect(page.locator("main form[method=post]")).to_have_count(0)
    assert not [t for t in page.locator("main button").all_inner_texts() if re.search("Chốt|gia hạn|Miễn", t, re.I)]
    expect(page.locator("#close-form, #downloads")).to_have_count(0)

    page.goto(stack.public(f"/periods/{PERIOD}/units/{ASKING}"))
    expect(page.locator("#unit-title")).to_have_text("Ủy ban nhân dân huyện Tiểu Cần")
    expect(page.locator("main form")).to_have_count(0)
    expect(page.locator("#actions")).to_have_count(0)

    token = _session_token(page)
    refused = requests.post(
        stack.url("aggregator", f"/api/v1/periods/{PERIOD}/close"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    form_post = page.request.post(stack.public(f"/periods/{PERIOD}/close"), form={"csrf_token": "x"})
    assert form_post.status == 403
    assert "Chỉ chuyên viên Sở Nội vụ" in form_post.text()

    page.click("#logout")  # intake's logout, from the board's header
    expect(page).to_have_url(re.compile(r"/login$"))
    assert not any(c["name"] == "dvcq_session" for c in page.context.cookies())
