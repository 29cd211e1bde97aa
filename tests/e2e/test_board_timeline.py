"""The pictures of issue 15 point 4, over real processes: the clock is stepped through 2019-H1 while five units
report (three on time, two late); at each step the compliance API's figures are kept. Then:
- the board's chart of the period's submissions over time (Done-when 4): for each of those days, its on-time, late
  and missing counts equal what the API said that day;
- the board's unit × period grid of the year: every cell is the unit's status in that period as the API says it;
- the leadership's one-page summary: each period's rates in its SVG are the API's, and a leadership account lands
  there after login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support import TestStack, make_account, own_stack, wait_for

pytestmark = pytest.mark.timeout(600)

PERIOD = "2019-H1"
EMAIL, PASSWORD = "chuyenvien.bieudo@snv.travinh.example", "Biểu đồ 2019!"
LEADER = "pct.ubnd@travinh.example"  # the plan's UBND tỉnh vice-chairman
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
        make_account(s, LEADER, "Phó Chủ tịch UBND tỉnh", PASSWORD, role="leadership")
        for day, agency in STEPS.items():
            s.set_clock(f"{day}T09:00:00+07:00")
            resp = s.post_report(agency, PERIOD)
            assert resp.status_code == 201, resp.text
            s.wait_status(PERIOD, agency, "submitted_on_time" if day <= "2019-06-10" else "submitted_late")
            board: dict[str, Any] = wait_for(lambda: s.compliance(PERIOD), what="the board")
            late = board["ACTUAL_REPORTS"] - board["ACTUAL_REPORTS_ON_TIME"]
            seen[day] = (board["ACTUAL_REPORTS_ON_TIME"], late, board["EXPECTED_REPORTS"] - board["ACTUAL_REPORTS"])
        yield s, seen


def _logged_in(s: TestStack, email: str) -> tuple[requests.Session, str]:
    """A session at the one address logged in as `email`, and where the login landed."""
    session, login = s.public_login(email, PASSWORD)
    assert login.status_code == 200, login.text[:300]
    return session, login.url


def _page(s: TestStack, path: str, email: str = EMAIL) -> tuple[str, str]:
    """A page at the one address after logging in as `email`: (where the login landed, the page's HTML)."""
    session, landed = _logged_in(s, email)
    with session:
        page = session.get(s.public(path), headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200, page.text[:300]
    return landed, page.text


def _board_html(s: TestStack) -> str:
    return _page(s, f"/periods/{PERIOD}")[1]


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


def _open_periods(s: TestStack) -> list[str]:
    """The 2019 periods the board's year grid shows, as its header lists them."""
    html = _board_html(s)
    grid = html[html.index('id="year-grid"') :]
    return re.findall(r'<th scope="col" data-period="([^"]+)"', grid[: grid.index("</thead>")])


def test_the_year_grid_shows_each_units_status_in_each_period_as_the_compliance_api_says(stepped) -> None:
    s, _ = stepped
    periods = _open_periods(s)
    assert periods[:2] == ["2019-STAFF", "2019-H1"] and len(periods) >= 3  # the year's periods so far, in order
    html = _board_html(s)
    grid = html[html.index('id="year-grid"') : html.index("</table>", html.index('id="year-grid"'))]
    cells = {
        (agency, period): status
        for agency, row in re.findall(r'<tr data-agency="([^"]+)">(.*?)</tr>', grid, re.S)
        for period, status in re.findall(r'<td data-period="([^"]+)" data-status="([a-z_]*)"', row)
    }
    expected = {(u["agency"], p): u["status"] for p in periods for u in s.compliance(p)["items"]}
    assert expected and cells == expected
    assert cells[("SXD", PERIOD)] == "submitted_late" and cells[("SNV", PERIOD)] == "submitted_on_time"


def test_the_leadership_lands_on_a_summary_whose_rates_per_period_are_the_compliance_apis(stepped) -> None:
    s, _ = stepped
    landed, html = _page(s, "/overview", LEADER)
    assert landed == s.public("/overview")  # the leadership's landing page
    assert 'id="nav-overview" aria-current="page"' in html and 'id="nav-board"' in html
    assert 'id="nav-plan"' not in html  # the plan's pages are Sở Nội vụ's
    drawn = {
        period: (int(expected), rate, on_time)
        for period, expected, rate, on_time in re.findall(
            r'<g class="period-rates" data-period="([^"]+)" data-expected="(\d+)" '
            r'data-reporting-rate="([0-9.]*)" data-on-time-rate="([0-9.]*)"',
            html,
        )
    }
    assert list(drawn) == _open_periods(s)
    for period, (expected, rate, on_time) in drawn.items():
        api = s.compliance(period)
        assert expected == api["EXPECTED_REPORTS"], period
        assert (float(rate) if rate else None) == api["REPORTING_RATE"], period
        assert (float(on_time) if on_time else None) == api["REPORTING_RATE_ON_TIME"], period
    assert drawn[PERIOD][0] == 29 and float(drawn[PERIOD][1]) == round(100 * 5 / 29, 1)


def test_the_summary_sends_a_stranger_to_the_login_and_has_no_year_the_plan_has_not_opened(stepped) -> None:
    s, _ = stepped
    with s.public_session() as session:
        resp = session.get(s.public("/overview"), headers={"Accept": "text/html"}, timeout=30)
    assert resp.history and resp.url == s.public("/login?next=%2Foverview")  # to the login, and back after it
    session, _ = _logged_in(s, LEADER)
    with session:
        missing = session.get(s.public("/overview?year=2031"), headers={"Accept": "text/html"}, timeout=30)
        shown = session.get(s.public("/overview?year=2019"), headers={"Accept": "text/html"}, timeout=30)
    assert missing.status_code == 404 and "năm 2031" in missing.text
    assert shown.status_code == 200 and 'data-year="2019"' in shown.text
