"""The scheduler's registry, calendar and obligations match DOMAIN.md §1 and §3 (over real processes)."""

from __future__ import annotations

from collections import defaultdict

import requests

from tests.support import TestStack, all_obligations, local

REPORTING = [
    "VP_UBND", "SNV", "STP", "SKHDT", "STC", "SCT", "SNNPTNT", "SGTVT", "SXD", "STNMT", "STTTT", "SLDTBXH",
    "SVHTTDL", "SKHCN", "SGDDT", "SYT", "TTR", "BDT", "DAI_PTTH", "BQL_KKT", "TP_TRAVINH", "TX_DUYENHAI",
    "H_CANGLONG", "H_CAUKE", "H_TIEUCAN", "H_CHAUTHANH", "H_CAUNGANG", "H_TRACU", "H_DUYENHAI",
]  # fmt: skip
NON_REPORTING = {"UBND_TINH", "BDV_TU", "BAO_TRAVINH", "MTTQ"}
DUE_BEFORE = {
    "2019-STAFF": "2019-03-30T00:00:00+07:00",
    "2019-H1": "2019-06-11T00:00:00+07:00",
    "2019-Q3": "2019-09-11T00:00:00+07:00",
    "2019-FY": "2019-12-11T00:00:00+07:00",
}


def test_registry_lists_29_reporting_units_in_official_order_and_the_non_reporting_ones(stack: TestStack) -> None:
    units = stack.items("scheduler", "/api/v1/units")
    reporting = [u for u in units if u["reports"]]
    assert [u["code"] for u in reporting] == REPORTING
    assert [u["order"] for u in reporting] == list(range(1, 30))
    others = {u["code"]: u for u in units if not u["reports"]}
    assert set(others) == NON_REPORTING
    assert all(u["not_reporting_reason"] for u in others.values())
    assert next(u for u in units if u["code"] == "SVHTTDL")["name"] == "Sở Văn hóa, Thể thao và Du lịch"


def test_calendar_gives_each_period_its_due_before_and_q1_is_not_applicable(stack: TestStack) -> None:
    cal = stack.get("scheduler", "/api/v1/calendar?year=2019").json()
    periods = {p["period"]: p for p in cal["periods"]}
    for key, due in DUE_BEFORE.items():
        assert periods[key]["applicable"] is True
        assert local(periods[key]["due_before"]) == local(due), key
        assert periods[key]["expected_reports"] == 29
    assert periods["2019-H1"]["deadline_day"] == "2019-06-10"
    assert periods["2019-H1"]["data_window"] == {"from": "2018-12-15", "to": "2019-06-14"}
    assert periods["2019-H1"]["serves"] == ["2019-Q2"] and periods["2019-FY"]["serves"] == ["2019-Q4"]
    q1 = periods["2019-Q1"]
    assert q1["applicable"] is False and q1["expected_reports"] == 0 and q1["due_before"] is None
    assert "14/3/2019" in q1["not_applicable_reason"]
    assert periods["2019-Q2"]["served_by"] == "2019-H1" and periods["2019-Q4"]["served_by"] == "2019-FY"


def test_each_reporting_unit_owes_exactly_four_reports_with_exact_deadlines(stack: TestStack) -> None:
    items = all_obligations(stack)
    by_unit: dict[str, dict[str, str]] = defaultdict(dict)
    for ob in items:
        by_unit[ob["agency"]][ob["period"]] = ob["due_before"]
    assert sorted(by_unit) == sorted(REPORTING)
    assert not NON_REPORTING & set(by_unit)
    for agency, periods in by_unit.items():
        assert set(periods) == set(DUE_BEFORE), agency
        for period, due in periods.items():
            assert local(due) == local(DUE_BEFORE[period]), (agency, period)
    assert len(items) == 29 * 4


def test_a_unit_sees_only_its_own_obligations(stack: TestStack) -> None:
    resp = requests.get(
        stack.url("scheduler", "/api/v1/obligations"), headers=stack.auth("agency", "H_CAUKE"), timeout=15
    )
    assert resp.status_code == 200
    assert {ob["agency"] for ob in resp.json()["items"]} == {"H_CAUKE"}
    assert len(resp.json()["items"]) == 4
