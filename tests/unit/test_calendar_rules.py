"""The calendar generated from a plan's rules (issue 14, point 1): the explicit 2019 calendar of the Trà Vinh plan is
its oracle, and the same rules give every later year, end a plan mid-year, and refuse malformed rules."""

from __future__ import annotations

import copy
import json
import unicodedata
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.calendar_rules import CalendarRuleError, CalendarRules, Period, parse_calendar_rules, year_of_key
from shared.plan import Plan, load_plan, parse_plan
from shared.timerules import local_iso

ROOT = Path(__file__).resolve().parents[2]
PLAN_DIR = ROOT / "plans" / "tra-vinh-2019"
PLAN = load_plan(PLAN_DIR)
RAW = json.loads((PLAN_DIR / "plan.json").read_text(encoding="utf-8"))
SEED_RULES: dict[str, Any] = RAW["calendar_rules"]
ISSUED = date(2019, 3, 14)


def rules(issued_on: date = ISSUED, **changes: Any) -> CalendarRules:
    """The Trà Vinh rules with some top-level keys replaced (None removes nothing: it is a value)."""
    raw = copy.deepcopy(SEED_RULES)
    raw.update(changes)
    return parse_calendar_rules(raw, issued_on=issued_on)


def by_key(periods: tuple[Period, ...]) -> dict[str, Period]:
    return {p.key: p for p in periods}


def test_the_rules_reproduce_every_period_of_the_explicit_2019_calendar_field_by_field() -> None:
    generated = by_key(PLAN.calendar_for(2019))
    explicit = by_key(PLAN.calendar)
    assert (
        sorted(generated)
        == sorted(explicit)
        == sorted(["2019-STAFF", "2019-Q1", "2019-H1", "2019-Q2", "2019-Q3", "2019-Q4", "2019-FY"])
    )
    for key, period in explicit.items():
        assert generated[key] == period, key  # every field of Period, reasons and rule texts included
    # The oracle itself holds the DOMAIN.md §3 values, so both sides cannot drift together.
    q1 = generated["2019-Q1"]
    assert q1.not_applicable_reason == (
        "Hạn báo cáo (10/3/2019) trước ngày ban hành Kế hoạch (14/3/2019); "
        "kết quả quý I được tổng hợp trong báo cáo 6 tháng đầu năm."
    )
    staff = generated["2019-STAFF"]
    assert (staff.rule, staff.deadline_day, local_iso(staff.due_before)) == (
        "trước 30/3/2019",
        date(2019, 3, 29),
        "2019-03-30T00:00:00+07:00",
    )
    assert generated["2019-H1"].data_window == (date(2018, 12, 15), date(2019, 6, 14))
    assert generated["2019-FY"].data_window == (date(2018, 12, 15), date(2019, 12, 14))


def test_2020_q1_is_demanded_due_before_11_march_2020_with_the_window_from_15_december() -> None:
    q1 = PLAN.period("2020-Q1")
    assert q1 is not None and q1 in PLAN.calendar_for(2020)
    assert (q1.kind, q1.name, q1.rule) == ("quarterly", "Báo cáo quý I năm 2020", "ngày 10 của tháng cuối quý")
    assert q1.applicable and q1.not_applicable_reason is None and q1.served_by is None
    assert q1.deadline_day == date(2020, 3, 10)
    assert local_iso(q1.due_before) == "2020-03-11T00:00:00+07:00"
    assert q1.data_window == (date(2019, 12, 15), date(2020, 3, 14))
    # It follows the FY 2019 window without gap or overlap.
    fy_2019 = PLAN.period("2019-FY")
    assert fy_2019 is not None and fy_2019.data_window is not None
    assert (q1.data_window[0] - fy_2019.data_window[1]).days == 1
    expected = PLAN.expected_units(q1)
    assert len(expected) == 29 and all(u.valid_at(date(2020, 3, 10)) for u in expected)


def test_2020_h1_serves_q2_and_2020_fy_serves_q4() -> None:
    periods = by_key(PLAN.calendar_for(2020))
    assert sorted(periods) == ["2020-FY", "2020-H1", "2020-Q1", "2020-Q2", "2020-Q3", "2020-Q4"]
    h1, q2, fy, q4 = periods["2020-H1"], periods["2020-Q2"], periods["2020-FY"], periods["2020-Q4"]
    assert (h1.name, h1.applicable, h1.serves, local_iso(h1.due_before)) == (
        "Báo cáo 6 tháng đầu năm 2020",
        True,
        ("2020-Q2",),
        "2020-06-11T00:00:00+07:00",
    )
    assert h1.data_window == (date(2019, 12, 15), date(2020, 6, 14))
    assert (q2.applicable, q2.served_by, q2.due_before, q2.data_window, q2.deadline_day) == (
        False,
        "2020-H1",
        None,
        None,
        date(2020, 6, 10),
    )
    assert q2.not_applicable_reason == "Báo cáo 6 tháng đầu năm thay cho báo cáo quý II."
    assert (fy.name, fy.applicable, fy.serves, local_iso(fy.due_before)) == (
        "Báo cáo năm 2020",
        True,
        ("2020-Q4",),
        "2020-12-11T00:00:00+07:00",
    )
    assert fy.data_window == (date(2019, 12, 15), date(2020, 12, 14))
    assert (q4.applicable, q4.served_by, q4.not_applicable_reason) == (
        False,
        "2020-FY",
        "Báo cáo năm thay cho báo cáo quý IV.",
    )
    q3 = periods["2020-Q3"]
    assert q3.applicable and q3.data_window == (date(2020, 6, 15), date(2020, 9, 14))


def test_every_later_year_repeats_the_pattern_and_the_one_off_staff_list_stays_in_2019() -> None:
    for year in range(2020, 2025):
        periods = PLAN.calendar_for(year)
        assert [p.key for p in periods] == [f"{year}-{s}" for s in ("Q1", "H1", "Q2", "Q3", "FY", "Q4")]
        assert [p.key for p in periods if p.applicable] == [f"{year}-{s}" for s in ("Q1", "H1", "Q3", "FY")]
        for p in periods:
            assert year_of_key(p.key) == year and p.deadline_day.year == year
            assert unicodedata.is_normalized("NFC", p.name)
            if p.applicable:
                assert p.due_before is not None and p.data_window is not None
                next_day = p.deadline_day + timedelta(days=1)
                assert local_iso(p.due_before) == f"{next_day.isoformat()}T00:00:00+07:00"
                assert p.data_window[0] < p.deadline_day < p.data_window[1]
    assert PLAN.calendar_for(2018) == ()
    assert PLAN.period("2020-STAFF") is None


def test_the_tra_vinh_plan_ends_on_30_june_2025_after_its_last_h1() -> None:
    assert PLAN.calendar_rules is not None and PLAN.calendar_rules.effective_until == date(2025, 7, 1)
    last = PLAN.calendar_for(2025)
    assert [(p.key, p.applicable) for p in last] == [("2025-Q1", True), ("2025-H1", True), ("2025-Q2", False)]
    assert local_iso(by_key(last)["2025-H1"].due_before) == "2025-06-11T00:00:00+07:00"
    assert all(PLAN.calendar_for(year) == () for year in range(2026, 2031))


def test_the_generated_calendar_is_ordered_by_deadline_with_the_serving_report_first() -> None:
    assert [p.key for p in PLAN.calendar_for(2019)] == [
        "2019-Q1",
        "2019-STAFF",
        "2019-H1",
        "2019-Q2",
        "2019-Q3",
        "2019-FY",
        "2019-Q4",
    ]


def test_the_services_read_every_year_from_the_rules_and_the_explicit_calendar_stays_the_oracle() -> None:
    assert PLAN.calendar_rules is not None
    assert PLAN.period("2020-Q1") is by_key(PLAN.calendar_for(2020))["2020-Q1"]
    assert PLAN.period("2019-Q3") == by_key(PLAN.calendar)["2019-Q3"]  # 2019 is what it was, field by field
    assert PLAN.period("2018-H1") is None and PLAN.period("2020-STAFF") is None and PLAN.period("H1") is None
    assert [p.key for p in PLAN.obligation_periods()] == ["2019-STAFF", "2019-H1", "2019-Q3", "2019-FY"]
    assert [p.key for p in PLAN.obligation_periods(2021)] == ["2021-Q1", "2021-H1", "2021-Q3", "2021-FY"]
    assert [p.key for p in PLAN.calendar] == [
        "2019-STAFF",
        "2019-Q1",
        "2019-H1",
        "2019-Q2",
        "2019-Q3",
        "2019-Q4",
        "2019-FY",
    ]


def test_a_year_is_generated_once_per_plan() -> None:
    assert PLAN.calendar_for(2023) is PLAN.calendar_for(2023)
    assert PLAN.period("2023-Q3") is PLAN.period("2023-Q3")


def test_a_plan_ending_mid_year_generates_no_period_due_after_its_end() -> None:
    ends_30_june = rules(effective_until="2025-07-01")
    assert [p.key for p in ends_30_june.calendar_for(2025)] == ["2025-Q1", "2025-H1", "2025-Q2"]
    assert all(p.deadline_day < date(2025, 7, 1) for p in ends_30_june.calendar_for(2025))
    assert ends_30_june.in_force_in(2025) and not ends_30_june.in_force_in(2026)
    assert ends_30_june.calendar_for(2026) == ()
    # The last day in force is the day before effective_until: a deadline on it is demanded, not after.
    h1_is_last = rules(effective_until="2025-06-11").calendar_for(2025)
    assert [p.key for p in h1_is_last] == ["2025-Q1", "2025-H1", "2025-Q2"] and h1_is_last[1].applicable
    ends_on_9_june = rules(effective_until="2025-06-10").calendar_for(2025)
    assert [p.key for p in ends_on_9_june] == ["2025-Q1"]
    # A plan ending on 31/12 keeps its yearly report; the next year has nothing.
    whole_year = rules(effective_until="2021-01-01")
    assert "2020-FY" in by_key(whole_year.calendar_for(2020)) and whole_year.calendar_for(2021) == ()


def test_a_quarter_whose_serving_report_falls_after_the_end_is_demanded_on_its_own() -> None:
    late_h1 = rules(effective_until="2025-07-01", semiannual={"day": 10, "month": 7, "serves": ["Q2"]})
    periods = by_key(late_h1.calendar_for(2025))
    assert sorted(periods) == ["2025-Q1", "2025-Q2"]
    q2 = periods["2025-Q2"]
    assert q2.applicable and q2.served_by is None and q2.data_window == (date(2025, 3, 15), date(2025, 6, 14))
    in_force = by_key(late_h1.calendar_for(2024))
    assert in_force["2024-Q2"].served_by == "2024-H1" and in_force["2024-H1"].serves == ("2024-Q2",)


def test_a_plan_taking_effect_after_its_issue_date_says_so_in_the_reason() -> None:
    # KH 19/KH-UBND of 2020 was issued on 6/4/2020, after the Q1 deadline.
    kh19 = rules(issued_on=date(2020, 4, 6), effective_from="2020-04-06", one_off=[])
    periods = by_key(kh19.calendar_for(2020))
    assert periods["2020-Q1"].not_applicable_reason == (
        "Hạn báo cáo (10/3/2020) trước ngày ban hành Kế hoạch (6/4/2020); "
        "kết quả quý I được tổng hợp trong báo cáo 6 tháng đầu năm."
    )
    assert kh19.calendar_for(2019) == ()
    later = rules(effective_from="2019-04-01")
    assert by_key(later.calendar_for(2019))["2019-Q1"].not_applicable_reason == (
        "Hạn báo cáo (10/3/2019) trước ngày Kế hoạch có hiệu lực (1/4/2019); "
        "kết quả quý I được tổng hợp trong báo cáo 6 tháng đầu năm."
    )


def test_a_plan_taking_effect_after_10_june_points_the_first_half_to_the_yearly_report() -> None:
    periods = by_key(rules(effective_from="2019-07-01", one_off=[]).calendar_for(2019))
    reason = (
        "Hạn báo cáo ({d}) trước ngày Kế hoạch có hiệu lực (1/7/2019); kết quả {what} được tổng hợp trong báo cáo năm."
    )
    assert periods["2019-Q1"].not_applicable_reason == reason.format(d="10/3/2019", what="quý I")
    assert periods["2019-H1"].not_applicable_reason == reason.format(d="10/6/2019", what="6 tháng đầu năm")
    q2 = periods["2019-Q2"]
    assert q2.not_applicable_reason == reason.format(d="10/6/2019", what="quý II") and q2.served_by == "2019-H1"
    assert [p.key for p in periods.values() if p.applicable] == ["2019-Q3", "2019-FY"]
    # After the yearly deadline nothing of the year covers the quarter: the reason says only why.
    december = by_key(rules(effective_from="2019-12-20", one_off=[]).calendar_for(2019))
    assert not any(p.applicable for p in december.values())
    assert december["2019-Q3"].not_applicable_reason == (
        "Hạn báo cáo (10/9/2019) trước ngày Kế hoạch có hiệu lực (20/12/2019)."
    )
    assert by_key(rules(effective_from="2019-12-20", one_off=[]).calendar_for(2020))["2020-Q1"].applicable


def test_a_deadline_on_the_effective_day_is_demanded() -> None:
    periods = by_key(rules(effective_from="2019-06-10", one_off=[]).calendar_for(2019))
    assert periods["2019-H1"].applicable and not periods["2019-Q1"].applicable


def test_leap_years_and_year_boundaries() -> None:
    leap = rules(
        one_off=[
            {"key": "STAFF", "kind": "staff_list", "name": "Danh sách cán bộ", "before": "2024-03-01"},
            {"key": "STAFF", "kind": "staff_list", "name": "Danh sách cán bộ", "before": "2023-03-01"},
            {"key": "NEWYEAR", "kind": "staff_list", "name": "Danh sách cuối năm", "before": "2025-01-01"},
        ]
    )
    y2024, y2023, y2025 = (
        by_key(leap.calendar_for(2024)),
        by_key(leap.calendar_for(2023)),
        by_key(leap.calendar_for(2025)),
    )
    staff = y2024["2024-STAFF"]
    assert (staff.deadline_day, staff.rule, local_iso(staff.due_before)) == (
        date(2024, 2, 29),
        "trước 1/3/2024",
        "2024-03-01T00:00:00+07:00",
    )
    assert y2023["2023-STAFF"].deadline_day == date(2023, 2, 28)
    # A one-off due on 31/12 belongs to that year, not to the year its `before` falls in.
    assert y2024["2024-NEWYEAR"].deadline_day == date(2024, 12, 31)
    assert local_iso(y2024["2024-NEWYEAR"].due_before) == "2025-01-01T00:00:00+07:00"
    assert "2025-NEWYEAR" not in y2025
    # Windows cross the year boundary the same way in leap and common years.
    assert y2024["2024-Q1"].data_window == (date(2023, 12, 15), date(2024, 3, 14))
    assert y2024["2024-FY"].data_window == (date(2023, 12, 15), date(2024, 12, 14))
    assert y2025["2025-Q1"].data_window == (date(2024, 12, 15), date(2025, 3, 14))
    # A plan in force from New Year's Day demands that year's Q1 in full, window from the previous December.
    new_year = rules(effective_from="2020-01-01", one_off=[])
    assert new_year.calendar_for(2019) == () and not new_year.in_force_in(2019)
    q1 = by_key(new_year.calendar_for(2020))["2020-Q1"]
    assert q1.applicable and q1.data_window == (date(2019, 12, 15), date(2020, 3, 14))


def test_a_plan_without_rules_answers_from_its_explicit_calendar() -> None:
    merger = load_plan(ROOT / "tests" / "plans" / "merger-2025")
    assert merger.calendar_rules is None
    assert merger.calendar_for(2025) == merger.calendar and merger.calendar_for(2026) == ()
    assert [merger.period(p.key) for p in merger.calendar] == list(merger.calendar)
    assert merger.period("2026-Q1") is None and merger.period("bogus") is None


def test_year_of_key() -> None:
    assert [year_of_key(k) for k in ("2020-Q1", "2019-STAFF", "2031-FY")] == [2020, 2019, 2031]
    assert [year_of_key(k) for k in ("Q1", "2020Q1", "20-Q1", "2020-q1", "2020-")] == [None] * 5


BAD_RULES: list[tuple[dict[str, Any], str]] = [
    ({"effective_from": None}, "calendar_rules.effective_from"),
    ({"effective_from": "14/3/2019"}, "calendar_rules.effective_from: '14/3/2019' không phải ngày hợp lệ"),
    ({"effective_until": "2019-03-14"}, "calendar_rules.effective_until: ngày hết hiệu lực"),
    ({"quartely": {"day": 10}}, "trường không được hỗ trợ: quartely"),
    ({"quarterly": {"day": 31}}, "calendar_rules.quarterly.day: phải là số nguyên từ 1 đến 30"),
    ({"quarterly": {"day": "10"}}, "calendar_rules.quarterly.day"),
    ({"quarterly": {"day": True}}, "calendar_rules.quarterly.day"),
    ({"quarterly": {"day": 0}}, "calendar_rules.quarterly.day"),
    ({"quarterly": {"day": 10, "month": 3}}, "calendar_rules.quarterly: trường không được hỗ trợ: month"),
    ({"semiannual": {"day": 29, "month": 2}}, "calendar_rules.semiannual.day: phải là số nguyên từ 1 đến 28"),
    ({"semiannual": {"day": 10, "month": 13}}, "calendar_rules.semiannual.month"),
    ({"semiannual": {"day": 10, "month": 6, "serves": ["Q3"]}}, "'Q3' không phải quý nằm trong kỳ báo cáo"),
    ({"semiannual": {"day": 10, "month": 6, "serves": "Q2"}}, "calendar_rules.semiannual.serves"),
    ({"annual": {"day": 10, "month": 12, "serves": ["Q2"]}}, "calendar_rules.annual.serves: Q2 đã được báo cáo khác"),
    ({"annual": {"day": 10, "month": 12, "serves": ["Q4", "Q4"]}}, "một quý được nêu hai lần"),
    ({"quarterly": None}, "kế hoạch không có báo cáo quý để thay thế"),
    ({"data_window": {"cutoff_day": 31}}, "calendar_rules.data_window.cutoff_day"),
    ({"data_window": {"cutoff": 14}}, "calendar_rules.data_window: trường không được hỗ trợ: cutoff"),
    ({"one_off": {"key": "STAFF"}}, "calendar_rules.one_off: phải là danh sách"),
    ({"one_off": [{"key": "Q1", "kind": "staff_list", "name": "x", "before": "2019-03-30"}]}, "one_off[0].key"),
    ({"one_off": [{"key": "staff", "kind": "staff_list", "name": "x", "before": "2019-03-30"}]}, "one_off[0].key"),
    ({"one_off": [{"key": "X", "kind": "quarterly", "name": "x", "before": "2019-03-30"}]}, "one_off[0].kind"),
    ({"one_off": [{"key": "X", "kind": "staff_list", "name": " ", "before": "2019-03-30"}]}, "one_off[0].name"),
    ({"one_off": [{"key": "X", "kind": "staff_list", "name": "x"}]}, "one_off[0].before: thiếu ngày"),
    (
        {
            "effective_until": "2019-03-29",
            "one_off": [{"key": "X", "kind": "staff_list", "name": "x", "before": "2019-03-30"}],
        },
        "one_off[0].before: hạn báo cáo sau ngày Kế hoạch hết hiệu lực",
    ),
    (
        {"one_off": [{"key": "X", "kind": "staff_list", "name": "x", "before": "2019-03-30"}] * 2},
        "one_off[1].key: hai báo cáo một lần cùng mã X trong năm 2019",
    ),
    ({"quarterly": None, "semiannual": None, "annual": None, "one_off": []}, "ít nhất một loại báo cáo"),
]


@pytest.mark.parametrize(("change", "message"), BAD_RULES)
def test_malformed_rules_are_refused_with_the_field_and_the_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(CalendarRuleError) as refused:
        rules(**change)
    assert message in str(refused.value)


def test_a_plan_file_with_malformed_rules_does_not_load() -> None:
    raw = copy.deepcopy(RAW)
    raw["calendar_rules"]["annual"]["day"] = 32
    indicators = json.loads((PLAN_DIR / "indicators.json").read_text(encoding="utf-8"))
    with pytest.raises(CalendarRuleError, match=r"calendar_rules\.annual\.day"):
        parse_plan(raw, indicators)
    raw["calendar_rules"] = ["not", "an", "object"]
    with pytest.raises(CalendarRuleError, match="phải là một đối tượng JSON"):
        parse_plan(raw, indicators)


def test_the_rules_keep_their_sources_in_nfc() -> None:
    seed = PLAN.calendar_rules
    assert isinstance(PLAN, Plan) and seed is not None
    assert "ngày 10 của tháng cuối quý" in seed.source and "trước 30/3/2019" in seed.source
    assert "09/2019/NĐ-CP" in seed.window_basis
    assert all(unicodedata.is_normalized("NFC", t) for t in (seed.source, seed.window_basis))
    assert (seed.effective_from, seed.effective_until, seed.issued_on) == (ISSUED, date(2025, 7, 1), ISSUED)
