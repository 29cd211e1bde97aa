"""The unit's pages over real processes: the form page against tampered and repeated posts (a 4xx or the form
again with the field named, never a 500; the same submission twice makes one revision; a submitted draft is gone),
and the extension-request page (F8), whose requests reach the scheduler with the officer's own token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from shared.timerules import deadline_day, parse_instant
from tests.support import TestStack, make_officer

EMAIL, PASSWORD, AGENCY = "daumoi@snnptnt.travinh.example", "Dân vận 2019!", "SNNPTNT"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def browser_session(stack: TestStack) -> Iterator[requests.Session]:
    """A logged-in officer's cookie session (what a browser holds)."""
    make_officer(stack, EMAIL, AGENCY, "Thạch Thị Sa Rươl", PASSWORD)
    stack.set_clock("2019-06-05T09:00:00+07:00")
    session = requests.Session()
    page = session.get(stack.url("intake", "/login"), timeout=15).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    session.post(
        stack.url("intake", "/login"),
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
        headers=HTML,
        allow_redirects=False,  # the landing page is at the public address
        timeout=15,
    )
    yield session
    session.close()


def _form(stack: TestStack, session: requests.Session, period: str = "2019-H1") -> dict[str, str]:
    page = session.get(stack.url("intake", f"/reports/{period}"), timeout=15).text
    return dict(re.findall(r'name="(csrf_token|submission_key)" value="([^"]*)"', page))


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("indicators.tcd_luot", "²", "indicators.tcd_luot"),
        ("indicators.", "5", None),
        ("indicators", "5", "indicators"),
        ("narratives", "x", "narratives"),
        ("khong_co", "1", "khong_co"),
    ],
)
def test_a_tampered_form_gets_the_form_back_with_the_field_named(
    stack: TestStack, browser_session: requests.Session, field: str, value: str, named: str | None
) -> None:
    controls = _form(stack, browser_session)
    resp = browser_session.post(
        stack.url("intake", "/reports/2019-H1"), data={**controls, "action": "submit", field: value}, timeout=15
    )
    assert resp.status_code in (200, 303, 409, 422), resp.text[:500]
    if named:
        assert resp.status_code == 422 and f'data-field="{named}' in resp.text


@pytest.mark.parametrize("field", ["staff-x-y", "staff-0", "staff-99999999-ho_ten"])
def test_tampered_staff_rows_are_not_a_crash(stack: TestStack, browser_session: requests.Session, field: str) -> None:
    controls = _form(stack, browser_session, "2019-STAFF")
    resp = browser_session.post(
        stack.url("intake", "/reports/2019-STAFF"),
        data={**controls, "action": "draft", field: "Nguyễn Văn A"},
        timeout=15,
    )
    assert resp.status_code in (200, 422), resp.text[:500]


def test_the_same_submission_twice_makes_one_revision_and_clears_the_draft(
    stack: TestStack, browser_session: requests.Session
) -> None:
    controls = _form(stack, browser_session, "2019-Q3")
    url = stack.url("intake", "/reports/2019-Q3")
    draft = {**controls, "action": "draft", "indicators.tcd_luot": "7", "narratives.area_1": "Hoa\u0300 thuận"}
    assert browser_session.post(url, data=draft, timeout=15).status_code == 200
    submitted = {**draft, "action": "submit", "indicators.tcd_luot": "9"}
    first = browser_session.post(url, data=submitted, timeout=15)
    again = browser_session.post(url, data=submitted, timeout=15)
    assert first.status_code == again.status_code == 200  # both land on the receipt
    assert first.url == again.url and first.url.endswith("/reports/2019-Q3/receipt?revision=1")
    revisions = stack.get("intake", f"/api/v1/reports/{AGENCY}/2019-Q3/revisions").json()["items"]
    assert len(revisions) == 1
    stored = stack.get("intake", f"/api/v1/reports/{AGENCY}/2019-Q3").json()["content"]
    assert stored["narratives"]["area_1"] == "Ho\u00e0 thuận"  # composed (NFC) on the form path too
    reopened = browser_session.get(url, timeout=15).text
    assert 'value="9"' in reopened and "bản nháp" not in reopened


# --- extension requests from the unit's pages (F8) ---
XR_EMAIL, XR_PASSWORD, XR_AGENCY = "daumoi@tptravinh.travinh.example", "Gia hạn 2019!", "TP_TRAVINH"
XR_OTHER = "H_CAUNGANG"
OPEN = ("pending", "overdue")


def _login(stack: TestStack, email: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(stack.url("intake", "/login"), timeout=15).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    login = session.post(
        stack.url("intake", "/login"),
        data={"email": email, "password": password, "csrf_token": token},
        headers=HTML,
        allow_redirects=False,  # the landing page is at the public address
        timeout=15,
    )
    assert login.status_code == 303, login.text[:500]
    resp = session.get(stack.url("intake", "/"), headers=HTML, timeout=15)
    assert resp.status_code == 200 and "Xin chào" in resp.text, resp.text[:500]
    return session


@pytest.fixture(scope="module")
def unit_session(stack: TestStack) -> Iterator[requests.Session]:
    """The officer of a unit no other test asks extensions for, logged in; the clock is left where it is."""
    make_officer(stack, XR_EMAIL, XR_AGENCY, "Kim Thị Sóc Kha", XR_PASSWORD)
    session = _login(stack, XR_EMAIL, XR_PASSWORD)
    yield session
    session.close()


def _open_obligation(stack: TestStack, agency: str) -> tuple[str, date]:
    """A period whose obligation is open at the stack's current (shared) clock, and its deadline day."""
    items = stack.items("scheduler", "/api/v1/obligations", agency=agency)
    open_ = sorted((ob for ob in items if ob["status"] in OPEN), key=lambda ob: ob["period"] != "2019-H1")
    assert open_, f"no open obligation of {agency} at {stack.clock()['now']}: {items}"
    return open_[0]["period"], deadline_day(parse_instant(open_[0]["due_before"]))


def _requests_of(stack: TestStack, agency: str, role: str = "home_affairs") -> list[dict[str, Any]]:
    """Extension requests as the scheduler lists them (as Sở Nội vụ by default), of one unit."""
    headers = stack.auth(role, agency if role == "agency" else None)
    return [r for r in stack.items("scheduler", "/api/v1/extension-requests", auth=headers) if r["agency"] == agency]


def _csrf(stack: TestStack, session: requests.Session, period: str) -> str:
    page = session.get(stack.url("intake", f"/reports/{period}/extension"), timeout=15)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def _ask_by_api(stack: TestStack, agency: str, period: str, reason: str, day: date) -> dict[str, Any]:
    resp = requests.post(
        stack.url("scheduler", f"/api/v1/obligations/{agency}/{period}/extension-requests"),
        json={"reason": reason, "proposed_date": day.isoformat()},
        headers=stack.auth("agency", agency),
        timeout=15,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_an_officer_asks_for_an_extension_from_the_page_and_so_noi_vu_sees_it(
    stack: TestStack, unit_session: requests.Session
) -> None:
    period, deadline = _open_obligation(stack, XR_AGENCY)
    home = unit_session.get(stack.url("intake", "/"), headers=HTML, timeout=15).text
    assert f'href="/reports/{period}/extension">Xin gia hạn</a>' in home
    page = unit_session.get(stack.url("intake", f"/reports/{period}/extension"), timeout=15)
    assert page.status_code == 200
    assert f'data-obligation="deadline">{deadline:%d/%m/%Y}<' in page.text

    proposed = deadline + timedelta(days=7)
    reason = "Chờ số liệu tổng hợp của các phường, xã"
    form = {"csrf_token": _csrf(stack, unit_session, period), "reason": reason, "proposed_date": proposed.isoformat()}
    sent = unit_session.post(stack.url("intake", f"/reports/{period}/extension"), data=form, timeout=15)

    assert sent.status_code == 200 and 'id="notice"' in sent.text, sent.text[:500]
    (stored,) = [r for r in _requests_of(stack, XR_AGENCY) if r["reason"] == reason]
    assert stored["period"] == period and stored["proposed_date"] == proposed.isoformat()
    assert stored["status"] == "pending" and stored["requested_by"] == XR_EMAIL
    row = re.search(rf'<tr data-request="{stored["id"]}".*?</tr>', sent.text, re.S)
    assert row and f"{proposed:%d/%m/%Y}" in row.group(0) and "Chờ xử lý" in row.group(0)


def test_a_refused_request_shows_the_reason_on_the_page(stack: TestStack, unit_session: requests.Session) -> None:
    period, deadline = _open_obligation(stack, XR_AGENCY)
    asked = _ask_by_api(stack, XR_AGENCY, period, "Thay đổi nhân sự phụ trách", deadline + timedelta(days=3))
    refused = requests.post(
        stack.url("scheduler", f"/api/v1/extension-requests/{asked['id']}/decision"),
        json={"decision": "refuse", "reason": "Thời hạn còn đủ để tổng hợp"},
        headers=stack.auth("home_affairs"),
        timeout=15,
    )
    assert refused.status_code == 200, refused.text
    page = unit_session.get(stack.url("intake", f"/reports/{period}/extension"), timeout=15).text
    row = re.search(rf'<tr data-request="{asked["id"]}".*?</tr>', page, re.S)
    assert row and "Không chấp nhận: Thời hạn còn đủ để tổng hợp" in row.group(0)


def test_a_unit_token_lists_only_its_own_extension_requests(stack: TestStack) -> None:
    period, deadline = _open_obligation(stack, XR_AGENCY)
    mine = _ask_by_api(stack, XR_AGENCY, period, "Lý do của thành phố", deadline + timedelta(days=10))
    period, deadline = _open_obligation(stack, XR_OTHER)
    theirs = _ask_by_api(stack, XR_OTHER, period, "Lý do của huyện", deadline + timedelta(days=10))
    everyone = stack.items("scheduler", "/api/v1/extension-requests", role="home_affairs")
    assert {mine["id"], theirs["id"]} <= {r["id"] for r in everyone}

    for agency, own, foreign in ((XR_AGENCY, mine, theirs), (XR_OTHER, theirs, mine)):
        for query in ({}, {"status": "pending"}):
            items = stack.items("scheduler", "/api/v1/extension-requests", auth=stack.auth("agency", agency), **query)
            assert {r["agency"] for r in items} == {agency}
            assert own["id"] in {r["id"] for r in items} and foreign["id"] not in {r["id"] for r in items}


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2019-02-30", "Ngày hạn đề nghị: không phải ngày hợp lệ"),  # refused at the page
        ("2031-01-01", "Ngoài năm kế hoạch."),  # refused by the scheduler, its message shown
    ],
)
def test_a_bad_proposed_date_shows_the_message_and_creates_nothing(
    stack: TestStack, unit_session: requests.Session, day: str, message: str
) -> None:
    period, _ = _open_obligation(stack, XR_AGENCY)
    before = _requests_of(stack, XR_AGENCY)
    reason = f"Lý do giữ nguyên khi sửa ngày {day}"
    form = {"csrf_token": _csrf(stack, unit_session, period), "reason": reason, "proposed_date": day}
    resp = unit_session.post(stack.url("intake", f"/reports/{period}/extension"), data=form, timeout=15)
    assert resp.status_code == 422, resp.text[:500]
    shown = re.search(r'<p class="field-error"[^>]*data-field="proposed_date"[^>]*>([^<]*)</p>', resp.text)
    assert shown and message in shown.group(1)
    assert f">{reason}</textarea>" in resp.text and f'value="{day}"' in resp.text  # what was typed is kept
    assert _requests_of(stack, XR_AGENCY) == before


@pytest.mark.parametrize(
    ("tamper", "status", "words"),
    [
        ({"csrf_token": None}, 403, "CSRF"),
        ({"csrf_token": "sai"}, 403, "CSRF"),
        ({"khong_co": "1"}, 422, 'data-field="khong_co"'),
    ],
)
def test_a_tampered_extension_form_is_refused_and_creates_nothing(
    stack: TestStack, unit_session: requests.Session, tamper: dict[str, str | None], status: int, words: str
) -> None:
    period, deadline = _open_obligation(stack, XR_AGENCY)
    before = _requests_of(stack, XR_AGENCY)
    form: dict[str, str | None] = {
        "csrf_token": _csrf(stack, unit_session, period),
        "reason": "Đề nghị từ một biểu mẫu bị sửa",
        "proposed_date": (deadline + timedelta(days=5)).isoformat(),
        **tamper,
    }
    data = {k: v for k, v in form.items() if v is not None}
    resp = unit_session.post(stack.url("intake", f"/reports/{period}/extension"), data=data, timeout=15)
    assert resp.status_code == status and words in resp.text, resp.text[:500]
    assert _requests_of(stack, XR_AGENCY) == before
