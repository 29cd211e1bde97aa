"""The test plan tests/plans/merger-2025 (a 2025-style merger on a few units, DOMAIN.md §2) parses, and its
expected reporters per period are the units valid on the period's deadline day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.plan import Plan, load_plan
from shared.settings import ROOT
from shared.timerules import local_iso

PLAN_DIR = Path(__file__).resolve().parents[1] / "plans" / "merger-2025"
CEASE_ON_1_MARCH = ("S_KHDT", "S_NNPTNT", "S_TNMT")
DISTRICTS = ("H_CANGLONG", "H_CAUKE")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN_DIR)


def test_the_merger_plan_parses_with_the_2019_catalogue_and_templates(plan: Plan) -> None:
    assert (plan.id, plan.year, plan.issued_on, plan.receiver) == ("merger-2025", 2025, date(2025, 1, 2), "SNV")
    assert "test plan" in plan.title
    assert local_iso(plan.issued_at) == "2025-01-02T00:00:00+07:00"
    assert plan.indicators and sorted(plan.areas) == [1, 2, 3, 4, 5]
    tra_vinh = load_plan(ROOT / "plans" / "tra-vinh-2019")
    assert (plan.escalation, plan.recipients) == (tra_vinh.escalation, tra_vinh.recipients)
    assert plan.indicators == tra_vinh.indicators and plan.rules == tra_vinh.rules
    so = plan.template_for("S_TC", "2025-Q1")
    huyen = plan.template_for("H_CAUKE", "2025-Q1")
    assert so is not None and huyen is not None and so.indicators and huyen.indicators
    assert so.data_window == (date(2024, 12, 15), date(2025, 3, 14)) and so.estimate_note


def test_the_units_their_types_dates_and_successors(plan: Plan) -> None:
    rows = [(u.order, u.code, u.types, u.reports, u.valid_from, u.valid_until, u.successors) for u in plan.units]
    old, march, july = date(2024, 1, 1), date(2025, 3, 1), date(2025, 7, 1)
    assert rows == [
        (1, "SNV", ("SO", "SNV"), True, old, None, ()),
        (2, "S_TC", ("SO",), True, old, None, ()),
        (3, "S_KHDT", ("SO",), True, old, march, ("S_TC",)),
        (4, "S_NNPTNT", ("SO",), True, old, march, ("S_NNMT",)),
        (5, "S_TNMT", ("SO",), True, old, march, ("S_NNMT",)),
        (6, "S_NNMT", ("SO",), True, march, None, ()),
        (7, "H_CANGLONG", ("HUYEN",), True, old, july, ()),
        (8, "H_CAUKE", ("HUYEN",), True, old, july, ()),
    ]
    names = {u.code: u.name for u in plan.units}
    assert names["S_NNMT"] == "Sở Nông nghiệp và Môi trường" and names["H_CAUKE"] == "Ủy ban nhân dân huyện Cầu Kè"
    for unit in plan.units:
        assert all(plan.unit(s) is not None for s in unit.successors)
        assert {c.alert_role for c in unit.contacts} == {"focal", "head"}
        assert all(c.email and c.email.endswith("@travinh.example") for c in unit.contacts)


def test_a_unit_is_valid_from_its_first_day_until_the_day_before_valid_until(plan: Plan) -> None:
    khdt, nnmt, cauke = plan.unit("S_KHDT"), plan.unit("S_NNMT"), plan.unit("H_CAUKE")
    assert khdt is not None and nnmt is not None and cauke is not None
    assert khdt.valid_at(date(2025, 2, 28)) and not khdt.valid_at(date(2025, 3, 1))
    assert not nnmt.valid_at(date(2025, 2, 28)) and nnmt.valid_at(date(2025, 3, 1))
    assert cauke.valid_at(date(2025, 6, 30)) and not cauke.valid_at(date(2025, 7, 1))


def test_the_calendar_deadlines_windows_and_q2_served_by_h1(plan: Plan) -> None:
    rows = {
        p.key: (p.kind, p.applicable, p.deadline_day, local_iso(p.due_before), p.data_window, p.serves, p.served_by)
        for p in plan.calendar
    }
    assert rows == {
        "2025-Q1": (
            "quarterly", True, date(2025, 3, 10), "2025-03-11T00:00:00+07:00",
            (date(2024, 12, 15), date(2025, 3, 14)), (), None,
        ),
        "2025-H1": (
            "semiannual", True, date(2025, 6, 10), "2025-06-11T00:00:00+07:00",
            (date(2024, 12, 15), date(2025, 6, 14)), ("2025-Q2",), None,
        ),
        "2025-Q2": ("quarterly", False, date(2025, 6, 10), None, None, (), "2025-H1"),
        "2025-Q3": (
            "quarterly", True, date(2025, 9, 10), "2025-09-11T00:00:00+07:00",
            (date(2025, 6, 15), date(2025, 9, 14)), (), None,
        ),
    }  # fmt: skip
    assert [p.key for p in plan.obligation_periods()] == ["2025-Q1", "2025-H1", "2025-Q3"]
    assert not any(p.kind == "staff_list" for p in plan.calendar)


def test_the_2025_holidays(plan: Plan) -> None:
    assert len(plan.holidays) == 18
    assert {date(2025, 1, 1), date(2025, 1, 25), date(2025, 2, 2), date(2025, 4, 7)} <= plan.holidays
    assert {date(2025, 4, 30), date(2025, 5, 4), date(2025, 9, 1), date(2025, 9, 2)} <= plan.holidays
    assert date(2025, 1, 24) not in plan.holidays and date(2025, 2, 3) not in plan.holidays


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2025-Q1", ["SNV", "S_TC", "S_NNMT", "H_CANGLONG", "H_CAUKE"]),
        ("2025-H1", ["SNV", "S_TC", "S_NNMT", "H_CANGLONG", "H_CAUKE"]),
        ("2025-Q2", []),
        ("2025-Q3", ["SNV", "S_TC", "S_NNMT"]),
    ],
)
def test_expected_units_are_those_valid_on_the_deadline_day(plan: Plan, period: str, expected: list[str]) -> None:
    found = plan.period(period)
    assert found is not None
    assert [u.code for u in plan.expected_units(found)] == expected
    assert all(plan.is_expected(code, period) for code in expected)
    assert not any(plan.is_expected(code, period) for code in CEASE_ON_1_MARCH)
    if period == "2025-Q3":
        assert not any(plan.is_expected(code, period) for code in DISTRICTS)
