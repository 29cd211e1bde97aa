"""The board's chart of a period's submissions over time (issue 15 point 4, Done-when 4), over real processes: the
clock is stepped through 2019-H1 while five units report (three on time, two late); at each step the compliance
API's figures are kept; then the board's SVG is read and, for each of those days, its on-time, late and missing
counts equal what the API said that day."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import TestStack, make_account, own_stack, wait_for

pytestmark = pytest.mark.timeout(600)

PERIOD = "2019-H1"
EMAIL, PASSWORD = "chuyenvien.bieudo@snv.travinh.example", "Biểu đồ 2019!"
STEPS = {  # the clock, and the unit reporting then
    "2019-05-28": "SNV",
    "2019-06-05": "TTR",
    "2019-06-10": "STP",
    "2019-06-12": "SCT",
    "2019-06-20": "SXD",
}
DAY = re.compile(
    r'<rect class="day"[^>]*data-day="([0-9-]+)" data-on-time="(\d+)" data-late="(\d+)" data-missing="(\d+)"'
)


@pytest.fixture(scope="module")
def stepped() -> Iterator[tuple[TestStack, dict[str, tuple[int, int, int]]]]:
    seen: dict[str, tuple[int, int, int]] = {}
    with own_stack("timeline") as s:
        make_account(s, EMAIL, "Chuyên viên biểu đồ", PASSWORD, role="home_affairs")
        for day, agency in STEPS.items():
            s.set_clock(f"{day}T09:00:00+07:00")
            resp = s.post_report(agency, PERIOD)
            assert resp.status_code == 201, resp.text
            s.wait_status(PERIOD, agency, "submitted_on_time" if day <= "2019-06-10" else "submitted_late")
            board: dict[str, Any] = wait_for(lambda: s.compliance(PERIOD), what="the board")
            late = board["ACTUAL_REPORTS"] - board["ACTUAL_REPORTS_ON_TIME"]
            seen[day] = (board["ACTUAL_REPORTS_ON_TIME"], late, board["EXPECTED_REPORTS"] - board["ACTUAL_REPORTS"])
        yield s, seen


def _board_html(s: TestStack) -> str:
    session = s.public_session()
    try:
        form = session.get(s.public("/login"), timeout=15).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        session.post(s.public("/login"), data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}, timeout=15)
        page = session.get(s.public(f"/periods/{PERIOD}"), headers={"Accept": "text/html"}, timeout=30)
    finally:
        session.close()
    assert page.status_code == 200, page.text[:300]
    return page.text


def test_the_chart_shows_each_days_counts_as_the_compliance_api_said_that_day(stepped) -> None:
    s, seen = stepped
    chart = {day: (int(a), int(b), int(c)) for day, a, b, c in DAY.findall(_board_html(s))}
    assert seen["2019-06-20"] == (3, 2, 24)  # 29 units expected: three on time, two late
    assert {day: chart.get(day) for day in seen} == seen
    assert chart["2019-05-27"] == (0, 0, 29)  # the day before the first report
    assert min(chart) == "2019-05-27" and max(chart) == "2019-06-20"  # from 14 days before the deadline to today


def test_the_chart_draws_three_lines_the_deadline_and_says_what_it_shows(stepped) -> None:
    s, _ = stepped
    html = _board_html(s)
    assert sorted(re.findall(r'data-series="([a-z_]+)"', html)) == ["late", "missing", "on_time"]
    assert '<line class="deadline"' in html and "Hạn 10/06/2019" in html
    assert "Ngày 20/06/2019: 3 đúng hạn, 2 muộn hạn, 24 chưa nộp." in html  # the text alternative
