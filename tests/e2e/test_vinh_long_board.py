"""Today's province over real processes (issue 14, Done-when 5): a stack running `plans/vinh-long-2026/` opens 2026
from the plan's rules, and the board of 2026-Q1 lists the 124 communes and wards of the merged Vĩnh Long province
by their official names (NQ 1687/NQ-UBTVQH15) and statistical codes (CV 1027/CTK-CSCL), every one checked against
the plan's copy of the research list (`plans/vinh-long-2026/units.csv`), beside the departments the plan has.

The clock starts on the plan's issue day (01/01/2026) and is stepped to 12/03/2026, past Q1's deadline: every unit
that has not reported is overdue.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator

import pytest
import requests

from shared.settings import ROOT
from tests.support import TestStack, make_account, own_stack, wait_for

pytestmark = pytest.mark.timeout(600)

PLAN_DIR = ROOT / "plans" / "vinh-long-2026"
PERIOD = "2026-Q1"
EMAIL, PASSWORD = "chuyenvien@snv.vinhlong.example", "Dân vận Vĩnh Long 2026!"
HTML = {"Accept": "text/html"}
ROW = re.compile(r'<tr data-agency="([A-Z0-9_]+)" data-status="([a-z_]+)">.*?class="unit-link">([^<]+)</a>', re.S)


def official() -> dict[str, str]:
    """The 124 communes and wards of the research list: code `X_<statistical code>` to official name."""
    with (PLAN_DIR / "units.csv").open(encoding="utf-8", newline="") as f:
        return {f"X_{row['ma_so']}": unicodedata.normalize("NFC", row["ten"]) for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    with own_stack("vl", env={"DVCQ_PLAN": str(PLAN_DIR)}) as s:
        make_account(s, EMAIL, "Chuyên viên Sở Nội vụ tỉnh Vĩnh Long", PASSWORD, role="home_affairs")
        s.set_clock("2026-03-12T09:00:00+07:00")
        yield s


def test_the_2026_calendar_is_generated_from_the_rules(stack: TestStack) -> None:
    calendar = stack.get("scheduler", "/api/v1/calendar").json()
    assert calendar["years"] == [2026]
    due = {p["period"]: p["due_before"] for p in calendar["periods"] if p["applicable"]}
    assert due["2026-Q1"] == "2026-03-11T00:00:00+07:00"
    assert due["2026-H1"] == "2026-06-11T00:00:00+07:00"
    assert due["2026-FY"] == "2026-12-11T00:00:00+07:00"


def test_the_board_lists_the_124_communes_and_wards_by_their_official_names(stack: TestStack) -> None:
    communes = official()
    assert len(communes) == 124
    wait_for(
        lambda: {u["agency"] for u in stack.compliance(PERIOD)["items"]} >= set(communes),
        timeout=180,
        what="the 124 communes and wards on the 2026-Q1 board",
    )
    items = {u["agency"]: u for u in stack.compliance(PERIOD)["items"]}
    assert {"VL_SNV", "VL_SDTTG"} <= set(items)

    session = requests.Session()
    login = session.get(stack.url("intake", "/login"), timeout=15).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    session.post(stack.url("intake", "/login"), data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
                 headers=HTML, allow_redirects=False, timeout=15)  # fmt: skip
    page = session.get(stack.url("aggregator", f"/periods/{PERIOD}"), headers=HTML, timeout=30)
    session.close()
    assert page.status_code == 200, page.text[:300]
    assert "Báo cáo quý I năm 2026" in page.text
    shown = {code: (status, name.strip()) for code, status, name in ROW.findall(page.text)}
    on_board = {code: name for code, (_, name) in shown.items() if code.startswith("X_")}
    assert on_board == communes  # every code, every official name, nothing else
    assert {status for code, (status, _) in shown.items() if code in communes} == {"overdue"}
    assert len(shown) == len(items)
