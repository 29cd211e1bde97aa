"""plans/vinh-long-2026, today's province as a second plan (issue 14, point 6), and the end of the Trà Vinh plan.

The units are checked against the plan's own copy of the research list, plans/vinh-long-2026/units.csv (from
../shared/domain/vinh_long_2026_units.csv: NQ 1687/NQ-UBTVQH15 names, CV 1027/CTK-CSCL codes).
"""

from __future__ import annotations

import copy
import csv
import json
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shared.calendar_rules import CalendarRuleError, Period
from shared.plan import UNIT_TYPES, Plan, Unit, load_plan, parse_plan
from shared.settings import ROOT
from shared.timerules import local_iso

PLAN_DIR = ROOT / "plans" / "vinh-long-2026"
TRA_VINH_DIR = ROOT / "plans" / "tra-vinh-2019"
PLAN = load_plan(PLAN_DIR)
TRA_VINH = load_plan(TRA_VINH_DIR)
DEPARTMENTS = [
    ("VL_SNV", "Sở Nội vụ tỉnh Vĩnh Long", ("SO", "SNV")),
    ("VL_SDTTG", "Sở Dân tộc và Tôn giáo tỉnh Vĩnh Long", ("SO",)),
]
ENDS = date(2025, 7, 1)
MERGED_IN_MARCH = {
    "SKHDT": "STC",
    "SGTVT": "SXD",
    "STTTT": "SKHCN",
    "SLDTBXH": "SNV",
    "SNNPTNT": None,
    "STNMT": None,
    "BDT": None,
}


def csv_rows(path: Path = PLAN_DIR / "units.csv") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def unit_of(plan: Plan, code: str) -> Unit:
    found = plan.unit(code)
    assert found is not None, code
    return found


def communes(plan: Plan = PLAN) -> list[Unit]:
    return sorted((u for u in plan.units if "XA" in u.types), key=lambda u: u.order or 0)


def rows(periods: tuple[Period, ...]) -> dict[str, tuple[Any, ...]]:
    return {
        p.key: (
            p.kind,
            p.applicable,
            p.deadline_day,
            local_iso(p.due_before) if p.due_before else None,
            p.data_window,
            p.serves,
            p.served_by,
            p.not_applicable_reason,
        )
        for p in periods
    }


def test_the_plan_loads_as_the_merged_provinces_regime_from_1_january_2026() -> None:
    assert (PLAN.id, PLAN.year, PLAN.issuer, PLAN.receiver) == (
        "vinh-long-2026",
        2026,
        "Ủy ban nhân dân tỉnh Vĩnh Long",
        "VL_SNV",
    )
    receiver = PLAN.unit(PLAN.receiver)
    assert receiver is not None and "SNV" in receiver.types and receiver.reports
    rules = PLAN.calendar_rules
    assert rules is not None and (rules.effective_from, rules.effective_until) == (date(2026, 1, 1), None)
    assert local_iso(PLAN.issued_at) == "2026-01-01T00:00:00+07:00"
    assert PLAN.successor_plan is None


def test_the_deadline_rules_are_the_2019_ones_marked_as_carried_over() -> None:
    rules, seed = PLAN.calendar_rules, TRA_VINH.calendar_rules
    assert rules is not None and seed is not None
    assert rules.carried_over_from == TRA_VINH.id == "tra-vinh-2019" and seed.carried_over_from is None
    assert rules.source.startswith("Kế thừa, chưa có văn bản năm 2026") and "14/3/2019" in rules.source
    kept = ("quarterly_day", "semiannual", "annual", "cutoff_day", "window_basis")
    assert [getattr(rules, f) for f in kept] == [getattr(seed, f) for f in kept]
    assert rules.one_off == () and seed.one_off  # the 2019 staff list was a one-off of 2019, not carried over


def test_its_2026_calendar_is_generated_from_the_rules_with_q1_demanded() -> None:
    window_year = (date(2025, 12, 15), date(2026, 12, 14))
    assert rows(PLAN.calendar) == {
        "2026-Q1": ("quarterly", True, date(2026, 3, 10), "2026-03-11T00:00:00+07:00",
                    (date(2025, 12, 15), date(2026, 3, 14)), (), None, None),
        "2026-H1": ("semiannual", True, date(2026, 6, 10), "2026-06-11T00:00:00+07:00",
                    (date(2025, 12, 15), date(2026, 6, 14)), ("2026-Q2",), None, None),
        "2026-Q2": ("quarterly", False, date(2026, 6, 10), None, None, (), "2026-H1",
                    "Báo cáo 6 tháng đầu năm thay cho báo cáo quý II."),
        "2026-Q3": ("quarterly", True, date(2026, 9, 10), "2026-09-11T00:00:00+07:00",
                    (date(2026, 6, 15), date(2026, 9, 14)), (), None, None),
        "2026-FY": ("annual", True, date(2026, 12, 10), "2026-12-11T00:00:00+07:00", window_year, ("2026-Q4",), None,
                    None),
        "2026-Q4": ("quarterly", False, date(2026, 12, 10), None, None, (), "2026-FY",
                    "Báo cáo năm thay cho báo cáo quý IV."),
    }  # fmt: skip
    assert PLAN.calendar == PLAN.calendar_for(2026)
    assert [p.key for p in PLAN.obligation_periods()] == ["2026-Q1", "2026-H1", "2026-Q3", "2026-FY"]
    assert PLAN.calendar_for(2025) == ()  # nothing before the plan takes effect
    assert [p.key for p in PLAN.calendar_for(2027) if p.applicable] == ["2027-Q1", "2027-H1", "2027-Q3", "2027-FY"]


def test_exactly_124_communes_and_wards_with_the_names_and_codes_of_the_csv_row_for_row() -> None:
    source = csv_rows()
    assert len(source) == 124 == len(communes())
    assert [(u.code, u.name) for u in communes()] == [(f"X_{r['ma_so']}", r["ten"]) for r in source]
    assert [int(r["stt_1027"]) for r in source] == list(range(2929, 3053))  # CV 1027's own order
    assert [u.name.split()[0] for u in communes()].count("Phường") == 19
    for unit in communes():
        assert unicodedata.is_normalized("NFC", unit.name)
        assert (unit.types, unit.reports, unit.valid_from, unit.valid_until) == (("XA",), True, date(2025, 7, 1), None)


def test_the_units_come_in_official_order_the_departments_first() -> None:
    reporting = sorted((u for u in PLAN.units if u.reports), key=lambda u: u.order or 0)
    assert [u.order for u in reporting] == list(range(1, 127))
    assert [(u.code, u.name, u.types) for u in reporting[:2]] == DEPARTMENTS
    assert reporting[2:] == communes()
    q1 = PLAN.period("2026-Q1")
    assert q1 is not None and list(PLAN.expected_units(q1)) == reporting


def test_only_the_departments_the_research_confirms_are_seeded() -> None:
    departments = [(u.code, u.name, u.types) for u in PLAN.units if u.reports and "XA" not in u.types]
    assert departments == DEPARTMENTS
    others = [u for u in PLAN.units if not u.reports]
    assert [(u.code, u.name) for u in others] == [("VL_UBND_TINH", "Ủy ban nhân dân tỉnh Vĩnh Long")]
    assert all(u.not_reporting_reason for u in others)


def test_every_unit_code_is_unique_here_and_across_the_two_plans() -> None:
    codes = [u.code for u in PLAN.units]
    assert len(codes) == len(set(codes)) == 127
    assert not set(codes) & {u.code for u in TRA_VINH.units}  # agency codes key reports and obligations


def test_every_units_types_are_known_and_each_reporting_unit_has_indicators_to_report() -> None:
    reporters = {t for i in PLAN.indicators for t in i.reporters}
    for unit in PLAN.units:
        assert set(unit.types) <= set(UNIT_TYPES) and set(unit.types) <= reporters, unit.code
        if unit.reports:
            template = PLAN.template_for(unit.code, "2026-H1")
            assert template is not None and template.indicators, unit.code


def test_a_commune_reports_what_a_district_committee_reported_in_2019() -> None:
    commune = PLAN.template_for("X_29308", "2026-Q3")  # Xã Cầu Kè
    district = TRA_VINH.template_for("H_CAUKE", "2019-Q3")
    assert commune is not None and district is not None
    assert commune.indicator_keys() == district.indicator_keys()
    assert "tcd_doan_dong_nguoi" in commune.indicator_keys() and "chuyen_muc_pt_th" not in commune.indicator_keys()
    assert commune.rules == district.rules and commune.data_window == (date(2026, 6, 15), date(2026, 9, 14))
    assert (PLAN.areas, PLAN.sections) == (TRA_VINH.areas, TRA_VINH.sections)
    assert PLAN.estimate_note == TRA_VINH.estimate_note


def test_the_catalogue_is_the_2019_one_with_xa_beside_every_huyen() -> None:
    ours = json.loads((PLAN_DIR / "indicators.json").read_text(encoding="utf-8"))
    seed = json.loads((TRA_VINH_DIR / "indicators.json").read_text(encoding="utf-8"))
    assert len(ours) == len(seed)
    for line, old in zip(ours, seed, strict=True):
        expected = copy.deepcopy(old)
        if "HUYEN" in old.get("reporters", []):
            expected["reporters"].insert(old["reporters"].index("HUYEN") + 1, "XA")
        assert line == expected
    assert sum("XA" in i.reporters for i in PLAN.indicators) == sum("HUYEN" in i.reporters for i in TRA_VINH.indicators)


def test_the_ladder_is_the_2019_one_and_contacts_and_recipients_are_marked_placeholders() -> None:
    assert PLAN.escalation == TRA_VINH.escalation
    assert [r["role"] for r in PLAN.recipients] == [r["role"] for r in TRA_VINH.recipients]
    assert all("Vĩnh Long" in r["name"] and r["email"].endswith("@vinhlong.example") for r in PLAN.recipients)
    for unit in (u for u in PLAN.units if u.reports):
        assert {c.alert_role for c in unit.contacts} == {"focal", "head"}, unit.code
        for contact in unit.contacts:
            assert contact.email and contact.email.endswith("@vinhlong.example")
            assert "giữ chỗ" in contact.name and contact.phone is None
    emails = [c.email for u in PLAN.units for c in u.contacts]
    assert len(emails) == len(set(emails))


def test_the_tra_vinh_plan_ends_on_30_june_2025_and_names_vinh_long_as_its_successor() -> None:
    assert TRA_VINH.successor_plan == PLAN.id
    assert TRA_VINH.calendar_rules is not None and TRA_VINH.calendar_rules.effective_until == ENDS
    assert all(u.valid_until is not None and u.valid_until <= ENDS for u in TRA_VINH.units)
    march = {u.code for u in TRA_VINH.units if u.valid_until == date(2025, 3, 1)}
    assert march == set(MERGED_IN_MARCH)
    # Its 2019 year is untouched: every unit is still valid on every 2019 day.
    assert all(u.valid_at(date(2019, 12, 31)) for u in TRA_VINH.units)


def test_each_ending_tra_vinh_unit_names_successors_that_exist_or_says_why_not() -> None:
    def resolve(code: str) -> Unit | None:
        return TRA_VINH.unit(code) or PLAN.unit(code)

    for unit in TRA_VINH.units:
        assert unit.valid_until is not None
        if not unit.successors:
            assert unit.successors_note and unicodedata.is_normalized("NFC", unit.successors_note), unit.code
        for code in unit.successors:
            successor = resolve(code)
            assert successor is not None, (unit.code, code)
            # A successor takes over on the day the unit ceases: it exists that day, and does not cease with it.
            assert successor.valid_at(unit.valid_until), (unit.code, code)
    for code, successor in MERGED_IN_MARCH.items():
        unit = TRA_VINH.unit(code)
        assert unit is not None and unit.successors == ((successor,) if successor else ())
    assert [unit_of(TRA_VINH, c).successors for c in ("SNV", "UBND_TINH")] == [("VL_SNV",), ("VL_UBND_TINH",)]


def test_the_district_committees_successors_are_the_41_communes_and_wards_on_their_former_territory() -> None:
    districts = [u for u in TRA_VINH.units if "HUYEN" in u.types]
    assert len(districts) == 9
    former = {f"X_{r['ma_so']}" for r in csv_rows() if r["tinh_cu"] == "Trà Vinh"}
    assert len(former) == 41
    assert {code for d in districts for code in d.successors} == former
    for district in districts:
        assert all(unit_of(PLAN, code).types == ("XA",) for code in district.successors)
        assert district.successors_note and "1687/NQ-UBTVQH15" in district.successors_note
    names = {d.code: [unit_of(PLAN, c).name for c in d.successors] for d in districts}
    assert names["H_CAUKE"] == ["Xã Cầu Kè", "Xã Phong Thạnh", "Xã An Phú Tân", "Xã Tam Ngãi"]
    assert names["TP_TRAVINH"] == ["Phường Trà Vinh", "Phường Long Đức", "Phường Nguyệt Hóa", "Phường Hòa Thuận"]
    # A ward that straddles two former districts succeeds both (many-to-many territory links).
    assert "Phường Nguyệt Hóa" in names["H_CHAUTHANH"] and "Xã Ngũ Lạc" in names["H_CAUNGANG"]
    assert "Xã Ngũ Lạc" in names["H_DUYENHAI"]


def test_the_tra_vinh_reporters_of_2025_follow_the_march_mergers() -> None:
    h1 = next(p for p in TRA_VINH.calendar_for(2025) if p.key == "2025-H1")
    expected = [u.code for u in TRA_VINH.expected_units(h1)]
    assert len(expected) == 29 - len(MERGED_IN_MARCH)
    assert not set(expected) & set(MERGED_IN_MARCH) and {"STC", "SXD", "SKHCN", "SNV"} <= set(expected)
    h1_2019 = TRA_VINH.period("2019-H1")
    assert h1_2019 is not None and len(TRA_VINH.expected_units(h1_2019)) == 29


def raw_plan() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    raw = json.loads((PLAN_DIR / "plan.json").read_text(encoding="utf-8"))
    return raw, json.loads((PLAN_DIR / "indicators.json").read_text(encoding="utf-8"))


def test_a_plan_without_a_calendar_gets_every_year_from_its_effect_to_its_first_year() -> None:
    raw, indicators = raw_plan()
    assert "calendar" not in raw
    raw["calendar_rules"]["effective_from"] = "2025-07-01"
    plan = parse_plan(raw, indicators)
    assert [p.key for p in plan.calendar] == [p.key for p in (*plan.calendar_for(2025), *plan.calendar_for(2026))]
    assert [p.key for p in plan.calendar if p.applicable][:3] == ["2025-Q3", "2025-FY", "2026-Q1"]
    q1 = plan.calendar[0]
    assert (q1.key, q1.applicable) == ("2025-Q1", False)
    assert q1.not_applicable_reason and "ngày Kế hoạch có hiệu lực (1/7/2025)" in q1.not_applicable_reason
    del raw["calendar_rules"]
    with pytest.raises(ValueError, match="neither a calendar nor calendar_rules"):
        parse_plan(raw, indicators)


def test_carried_over_from_must_name_a_plan() -> None:
    raw, indicators = raw_plan()
    raw["calendar_rules"]["carried_over_from"] = "  "
    with pytest.raises(CalendarRuleError, match="calendar_rules.carried_over_from"):
        parse_plan(raw, indicators)
    raw["calendar_rules"]["carried_over_from"] = None
    rules = parse_plan(raw, indicators).calendar_rules
    assert rules is not None and rules.carried_over_from is None
