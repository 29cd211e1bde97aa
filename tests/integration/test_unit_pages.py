"""The unit's form page over real processes, against tampered and repeated posts: a 4xx or the form again
with the field named, never a 500; the same submission twice makes one revision; a submitted draft is gone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

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
