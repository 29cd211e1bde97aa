"""Several plans at once over real processes (issue 14, point 5): one stack runs the test plan
tests/plans/merger-2025 (8 units) beside a second plan of the same year written by this test, `communes-2025`
(3 units of its own codes, its own Sở Nội vụ recipients). Obligations, the board, the overdue list, the
documents and the digest are each plan's own; the APIs take `?plan=` and the board chooses plan and period.

The clock starts on the plans' issue day (02/01/2025); SNV (first plan) and B_XA (second plan) report 2025-Q1 on
03/03; the clock is stepped to 12/03/2025 09:00, past Q1's deadline and the next morning's digest (07:30).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openpyxl import load_workbook

from shared.settings import ROOT
from tests.support import OwnSmtp, TestStack, make_account, own_smtp, own_stack, wait_for, wait_quiet, wait_relayed

pytestmark = pytest.mark.timeout(900)

FIRST = "merger-2025"
FIRST_DIR = ROOT / "tests" / "plans" / FIRST
SECOND = "communes-2025"
PERIOD = "2025-Q1"
SECOND_UNITS = {
    "B_SNV": "Sở Nội vụ (kế hoạch thứ hai)",
    "B_XA": "Ủy ban nhân dân xã Thử Nghiệm",
    "B_PHUONG": "Ủy ban nhân dân phường Mẫu",
}
FIRST_SNV_DESK, SECOND_SNV_DESK = "dvcq.snv@travinh.example", "dvcq.snv@kehoach-hai.example"
EMAIL, PASSWORD = "chuyenvien.hai@snv.example", "Hai kế hoạch 2025!"
HTML = {"Accept": "text/html"}
ROW = re.compile(r'<tr data-agency="([A-Z0-9_]+)" data-status="([a-z_]+)">')


def write_second_plan(where: Path) -> Path:
    """The first plan's calendar, ladder and templates with three units of other codes and other recipients."""
    raw = json.loads((FIRST_DIR / "plan.json").read_text(encoding="utf-8"))
    model = next(u for u in raw["units"] if u["code"] == "S_TC")
    units = []
    for order, (code, name) in enumerate(SECOND_UNITS.items(), start=1):
        unit = json.loads(json.dumps(model))
        unit.update(code=code, name=name, order=order, types=["SO", "SNV"] if code == "B_SNV" else ["SO"])
        for contact in unit["contacts"]:
            contact["email"] = f"{contact['alert_role']}.{code.lower()}@kehoach-hai.example"
        units.append(unit)
    raw.update(id=SECOND, title="Kế hoạch thử nghiệm (test plan): kế hoạch thứ hai năm 2025", receiver="B_SNV")
    raw["units"] = units
    for recipient in raw["recipients"]:
        recipient["email"] = recipient["email"].replace("@travinh.example", "@kehoach-hai.example")
    source = (FIRST_DIR / raw["templates"]["indicators"]).resolve()
    raw["templates"]["indicators"] = "indicators.json"
    where.mkdir(parents=True, exist_ok=True)
    (where / "plan.json").write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.copy(source, where / "indicators.json")
    return where


def step(s: TestStack, when: str) -> None:
    s.set_clock(when)
    wait_relayed(s)
    wait_quiet(s, timeout=180)


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestStack, OwnSmtp]]:
    second = write_second_plan(tmp_path_factory.mktemp("plan") / SECOND)
    env = {"DVCQ_PLAN": f"{FIRST_DIR},{second}"}
    with own_smtp("two") as smtp, own_stack("two", env={**env, "SMTP_URL": smtp.url}) as s:
        assert s.clock()["now"] == "2025-01-02T00:00:00+07:00"
        make_account(s, EMAIL, "Chuyên viên Sở Nội vụ", PASSWORD, role="home_affairs")
        step(s, "2025-03-03T08:00:00+07:00")
        for agency in ("SNV", "B_XA"):
            resp = s.post_report(agency, PERIOD)
            assert resp.status_code == 201 and resp.json()["on_time"] is True, resp.text
        step(s, "2025-03-11T08:00:00+07:00")
        step(s, "2025-03-12T09:00:00+07:00")
        yield s, smtp


def _board(s: TestStack, plan: str) -> dict[str, Any]:
    head, items = s.walk("aggregator", "/api/v1/compliance", period=PERIOD, plan=plan)
    return {**head, "items": items}


def test_each_plan_has_its_units_and_an_unknown_plan_is_404(two) -> None:
    s, _ = two
    assert [u["code"] for u in s.items("scheduler", "/api/v1/units", plan=SECOND)] == list(SECOND_UNITS)
    first = [u["code"] for u in s.items("scheduler", "/api/v1/units", plan=FIRST)]
    assert len(first) == 8 and "SNV" in first and not set(first) & set(SECOND_UNITS)
    unknown = s.get("scheduler", "/api/v1/units?plan=khong-co")
    assert unknown.status_code == 404 and "plan" in unknown.json()["error"]["fields"], unknown.text
    calendar = s.get("scheduler", f"/api/v1/calendar?plan={SECOND}").json()
    due = {p["period"]: p["due_before"] for p in calendar["periods"] if p["applicable"]}
    assert due[PERIOD] == "2025-03-11T00:00:00+07:00"


def test_the_scheduler_holds_both_plans_obligations_of_the_period(two) -> None:
    s, _ = two
    obligations = {ob["agency"]: ob["status"] for ob in s.items("scheduler", "/api/v1/obligations", period=PERIOD)}
    assert {a: obligations.get(a) for a in SECOND_UNITS} == {
        "B_SNV": "overdue", "B_XA": "submitted_on_time", "B_PHUONG": "overdue",
    }  # fmt: skip
    assert obligations["SNV"] == "submitted_on_time" and obligations["S_TC"] == "overdue"


def test_each_plans_board_counts_its_own_units_only(two) -> None:
    s, _ = two
    second = _board(s, SECOND)
    assert second["plan"] == SECOND
    assert {r["agency"]: r["status"] for r in second["items"]} == {
        "B_SNV": "overdue", "B_XA": "submitted_on_time", "B_PHUONG": "overdue",
    }  # fmt: skip
    assert (second["EXPECTED_REPORTS"], second["ACTUAL_REPORTS"], second["ACTUAL_REPORTS_ON_TIME"]) == (3, 1, 1)
    first = _board(s, FIRST)
    assert first["plan"] == FIRST
    assert not {r["agency"] for r in first["items"]} & set(SECOND_UNITS)
    assert (first["EXPECTED_REPORTS"], first["ACTUAL_REPORTS"]) == (5, 1)  # three units closed on 1 March
    assert {r["agency"]: r["status"] for r in first["items"]}["SNV"] == "submitted_on_time"


def test_the_overdue_list_spans_both_plans_and_names_each_rows_plan(two) -> None:
    s, _ = two
    rows = {(r["plan"], r["agency"]) for r in s.items("aggregator", "/api/v1/overdue") if r["period"] == PERIOD}
    assert {(SECOND, "B_SNV"), (SECOND, "B_PHUONG"), (FIRST, "S_TC")} <= rows
    assert not {a for p, a in rows if p == FIRST} & set(SECOND_UNITS)
    only = {r["agency"] for r in s.items("aggregator", "/api/v1/overdue", plan=SECOND)}
    assert only == {"B_SNV", "B_PHUONG"}


def test_the_board_page_chooses_plan_and_period(two) -> None:
    s, _ = two
    session = requests.Session()
    login = session.get(s.url("intake", "/login"), timeout=15).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    session.post(s.url("intake", "/login"), data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
                 headers=HTML, allow_redirects=False, timeout=15)  # fmt: skip
    try:
        pages = {
            plan: session.get(s.url("aggregator", f"/periods/{PERIOD}?plan={plan}"), headers=HTML, timeout=30)
            for plan in (FIRST, SECOND)
        }
        chosen = session.get(s.url("aggregator", f"/?plan={SECOND}&period={PERIOD}"), headers=HTML, timeout=30)
        default = session.get(s.url("aggregator", f"/?period={PERIOD}"), headers=HTML, timeout=30)
        unit_page = session.get(s.url("aggregator", f"/periods/{PERIOD}/units/SNV"), headers=HTML, timeout=30)
        plan_page = session.get(s.url("aggregator", f"/plan?plan={SECOND}"), headers=HTML, timeout=30)
        template = session.get(s.url("aggregator", f"/plan/units.xlsx?plan={SECOND}"), timeout=30)
    finally:
        session.close()
    for plan, page in pages.items():
        assert page.status_code == 200, page.text[:300]
        assert f'data-plan="{plan}"' in page.text and '<select id="plan" name="plan">' in page.text
        assert f'<option value="{plan}" selected>' in page.text
    assert {a for a, _ in ROW.findall(pages[SECOND].text)} == set(SECOND_UNITS)
    assert not {a for a, _ in ROW.findall(pages[FIRST].text)} & set(SECOND_UNITS)
    assert f"/api/v1/exports/{PERIOD}.docx?plan={SECOND}" in pages[SECOND].text  # its documents are its own
    assert chosen.status_code == 200 and {a for a, _ in ROW.findall(chosen.text)} == set(SECOND_UNITS)
    # no plan named: the plan in force today (the last listed that took effect) when it has the period
    assert default.status_code == 200 and {a for a, _ in ROW.findall(default.text)} == set(SECOND_UNITS)
    assert unit_page.status_code == 200 and f'href="/periods/{PERIOD}?plan={FIRST}" id="back"' in unit_page.text
    # Sở Nội vụ's plan page: the chosen plan's units, and its unit list's template and upload
    assert plan_page.status_code == 200, plan_page.text[:300]
    assert f'<option value="{SECOND}" selected>' in plan_page.text
    assert all(name in plan_page.text for name in SECOND_UNITS.values()) and "Sở Tài chính" not in plan_page.text
    assert f'action="/plan/import?plan={SECOND}"' in plan_page.text
    assert template.status_code == 200
    listed = {str(c.value) for row in load_workbook(io.BytesIO(template.content)).active.iter_rows() for c in row}
    assert set(SECOND_UNITS) <= listed and "S_TC" not in listed


def test_documents_are_issued_and_kept_per_plan(two) -> None:
    s, _ = two
    hq = s.auth("home_affairs")
    url = s.url("aggregator", f"/api/v1/exports/{PERIOD}.xlsx")
    issued = requests.post(url, params={"plan": SECOND}, headers=hq, timeout=60)
    assert issued.status_code == 201, issued.text[:300]
    book = load_workbook(io.BytesIO(issued.content))
    cells = {str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row}
    assert set(SECOND_UNITS.values()) <= cells and "Sở Tài chính" not in cells
    assert requests.get(url, params={"plan": FIRST}, headers=hq, timeout=30).status_code == 404  # not issued there
    again = requests.get(url, params={"plan": SECOND}, headers=hq, timeout=30)
    assert again.status_code == 200 and again.content == issued.content


def test_each_plan_has_its_own_digest_of_its_own_units(two) -> None:
    s, smtp = two
    subject = "Tổng hợp đơn vị chậm báo cáo ngày 12/03/2025"

    def digests() -> dict[str, str] | None:
        found = {m.to: m.text for m in smtp.to(FIRST_SNV_DESK, SECOND_SNV_DESK) if m.subject == subject}
        return found if len(found) == 2 else None

    found = wait_for(digests, timeout=120, what="each plan's digest of 12/03/2025")
    second, first = found[SECOND_SNV_DESK], found[FIRST_SNV_DESK]
    assert SECOND_UNITS["B_SNV"] in second and SECOND_UNITS["B_PHUONG"] in second
    assert "Sở Tài chính" not in second and SECOND_UNITS["B_XA"] not in second
    assert "Sở Tài chính" in first and not any(name in first for name in SECOND_UNITS.values())
    assert len([m for m in smtp.to(SECOND_SNV_DESK) if m.subject == subject]) == 1
