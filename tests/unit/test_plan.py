"""The Trà Vinh 2019 plan file loaded as data: registry, calendar, holidays and templates (DOMAIN.md §1, §3)."""

import json
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

from shared.plan import load_plan, parse_plan
from shared.timerules import LOCAL_TZ

PLAN = load_plan(Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019")

REPORTING = [
    ("VP_UBND", "Văn phòng Ủy ban nhân dân tỉnh", ("SO",)),
    ("SNV", "Sở Nội vụ", ("SO", "SNV")),
    ("STP", "Sở Tư pháp", ("SO",)),
    ("SKHDT", "Sở Kế hoạch và Đầu tư", ("SO",)),
    ("STC", "Sở Tài chính", ("SO",)),
    ("SCT", "Sở Công Thương", ("SO",)),
    ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", ("SO",)),
    ("SGTVT", "Sở Giao thông vận tải", ("SO",)),
    ("SXD", "Sở Xây dựng", ("SO",)),
    ("STNMT", "Sở Tài nguyên và Môi trường", ("SO",)),
    ("STTTT", "Sở Thông tin và Truyền thông", ("SO", "TTTT")),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội", ("SO",)),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch", ("SO",)),
    ("SKHCN", "Sở Khoa học và Công nghệ", ("SO",)),
    ("SGDDT", "Sở Giáo dục và Đào tạo", ("SO",)),
    ("SYT", "Sở Y tế", ("SO",)),
    ("TTR", "Thanh tra tỉnh", ("SO", "TTR")),
    ("BDT", "Ban Dân tộc tỉnh", ("SO",)),
    ("DAI_PTTH", "Đài Phát thanh và Truyền hình Trà Vinh", ("SO", "BAO_DAI")),
    ("BQL_KKT", "Ban Quản lý Khu kinh tế tỉnh", ("SO",)),
    ("TP_TRAVINH", "Ủy ban nhân dân thành phố Trà Vinh", ("HUYEN",)),
    ("TX_DUYENHAI", "Ủy ban nhân dân thị xã Duyên Hải", ("HUYEN",)),
    ("H_CANGLONG", "Ủy ban nhân dân huyện Càng Long", ("HUYEN",)),
    ("H_CAUKE", "Ủy ban nhân dân huyện Cầu Kè", ("HUYEN",)),
    ("H_TIEUCAN", "Ủy ban nhân dân huyện Tiểu Cần", ("HUYEN",)),
    ("H_CHAUTHANH", "Ủy ban nhân dân huyện Châu Thành", ("HUYEN",)),
    ("H_CAUNGANG", "Ủy ban nhân dân huyện Cầu Ngang", ("HUYEN",)),
    ("H_TRACU", "Ủy ban nhân dân huyện Trà Cú", ("HUYEN",)),
    ("H_DUYENHAI", "Ủy ban nhân dân huyện Duyên Hải", ("HUYEN",)),
]
NON_REPORTING = ("UBND_TINH", "BDV_TU", "BAO_TRAVINH", "MTTQ")
OBLIGATION_PERIODS = ("2019-STAFF", "2019-H1", "2019-Q3", "2019-FY")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def test_plan_has_exactly_29_reporting_units():
    assert sum(1 for u in PLAN.units if u.reports) == 29


def test_reporting_units_have_the_codes_names_and_types_of_domain_section_1():
    reporting = sorted((u for u in PLAN.units if u.reports), key=lambda u: u.order)
    assert [(u.code, u.name, u.types) for u in reporting] == [(c, nfc(n), t) for c, n, t in REPORTING]


def test_reporting_units_are_numbered_1_to_29_in_official_order():
    reporting = [u for u in PLAN.units if u.reports]
    assert sorted(u.order for u in reporting) == list(range(1, 30))
    assert [PLAN.unit(code).order for code, _, _ in REPORTING] == list(range(1, 30))


def test_expected_units_of_a_period_come_in_official_order():
    h1 = PLAN.period("2019-H1")
    assert [u.code for u in PLAN.expected_units(h1)] == [code for code, _, _ in REPORTING]


def test_four_non_reporting_units_each_have_a_reason():
    others = [u for u in PLAN.units if not u.reports]
    assert sorted(u.code for u in others) == sorted(NON_REPORTING)
    for unit in others:
        assert unit.not_reporting_reason and unit.not_reporting_reason.strip()


def test_non_reporting_units_owe_nothing():
    for code in NON_REPORTING:
        for period in ("2019-STAFF", "2019-H1", "2019-Q3", "2019-FY"):
            assert PLAN.is_expected(code, period) is False
            assert PLAN.template_for(code, period) is None


def test_obligation_periods_are_staff_h1_q3_and_fy():
    assert tuple(p.key for p in PLAN.obligation_periods()) == OBLIGATION_PERIODS


def test_obligation_periods_are_due_at_local_midnight_after_their_deadline_day():
    expected = {
        "2019-STAFF": datetime(2019, 3, 30, 0, 0, tzinfo=LOCAL_TZ),
        "2019-H1": datetime(2019, 6, 11, 0, 0, tzinfo=LOCAL_TZ),
        "2019-Q3": datetime(2019, 9, 11, 0, 0, tzinfo=LOCAL_TZ),
        "2019-FY": datetime(2019, 12, 11, 0, 0, tzinfo=LOCAL_TZ),
    }
    for period in PLAN.obligation_periods():
        assert period.due_before == expected[period.key]
        local = period.due_before.astimezone(LOCAL_TZ)
        assert (local.hour, local.minute, local.second, local.utcoffset()) == (0, 0, 0, timedelta(hours=7))
        assert period.deadline_day == local.date() - timedelta(days=1)


def test_staff_list_deadline_day_is_the_day_before_30_march():
    assert PLAN.period("2019-STAFF").deadline_day == date(2019, 3, 29)


def test_first_quarter_is_not_applicable_because_its_deadline_precedes_the_issue_date():
    q1 = PLAN.period("2019-Q1")
    assert q1.applicable is False
    assert q1.due_before is None
    assert q1.deadline_day < PLAN.issued_on == date(2019, 3, 14)
    reason = q1.not_applicable_reason
    assert reason and "14/3/2019" in reason
    assert any(ord(ch) > 127 for ch in reason)  # written in Vietnamese
    assert PLAN.expected_units(q1) == ()


def test_second_quarter_is_served_by_h1_and_fourth_by_fy():
    assert PLAN.period("2019-Q2").served_by == "2019-H1"
    assert PLAN.period("2019-Q4").served_by == "2019-FY"
    assert "2019-Q2" in PLAN.period("2019-H1").serves
    assert "2019-Q4" in PLAN.period("2019-FY").serves
    assert PLAN.period("2019-Q2").applicable is False
    assert PLAN.period("2019-Q4").applicable is False


def test_holidays_include_the_2019_list():
    def span(first: date, last: date) -> set[date]:
        return {first + timedelta(days=i) for i in range((last - first).days + 1)}

    expected = (
        {date(2019, 1, 1), date(2019, 4, 15)}
        | span(date(2019, 2, 2), date(2019, 2, 10))
        | span(date(2019, 4, 27), date(2019, 5, 1))
        | span(date(2019, 8, 31), date(2019, 9, 2))
    )
    assert expected <= PLAN.holidays


def test_radio_tv_station_template_has_broadcast_programmes_but_not_district_only_indicators():
    unit = PLAN.unit("DAI_PTTH")
    assert set(unit.types) == {"SO", "BAO_DAI"}
    keys = PLAN.template_for("DAI_PTTH", "2019-H1").indicator_keys()
    assert "chuyen_muc_pt_th" in keys
    assert "tcd_doan_dong_nguoi" not in keys


def test_district_template_has_crowd_delegations_but_not_broadcast_programmes():
    keys = PLAN.template_for("H_CAUKE", "2019-H1").indicator_keys()
    assert "tcd_doan_dong_nguoi" in keys
    assert "chuyen_muc_pt_th" not in keys


def test_no_derived_indicator_is_in_any_template():
    derived = {i.key for i in PLAN.indicators if i.derived}
    assert derived  # the catalogue has some, so the check means something
    for unit in (u for u in PLAN.units if u.reports):
        for period in OBLIGATION_PERIODS:
            template = PLAN.template_for(unit.code, period)
            assert not derived.intersection(template.indicator_keys()), (unit.code, period)
            assert not any(i.derived for i in template.indicators)


def test_staff_list_template_has_the_staff_list_fields_and_no_indicators():
    template = PLAN.template_for("H_CAUKE", "2019-STAFF")
    assert template.staff_fields == ("ho_ten", "chuc_vu", "don_vi", "dien_thoai", "email", "nhiem_vu", "alert_role")
    assert template.indicators == ()


def test_periodic_template_has_no_staff_fields():
    assert PLAN.template_for("H_CAUKE", "2019-Q3").staff_fields == ()


def test_templates_have_five_content_areas_and_the_assessment_sections():
    template = PLAN.template_for("SNV", "2019-FY")
    assert sorted(template.areas) == [1, 2, 3, 4, 5]
    assert {"strengths", "limitations", "causes", "next_tasks", "recommendations"} <= set(template.sections)


def test_texts_of_the_plan_are_stored_in_nfc():
    texts = [PLAN.title, PLAN.issuer]
    texts += [u.name for u in PLAN.units]
    texts += [u.not_reporting_reason for u in PLAN.units if u.not_reporting_reason]
    texts += [p.name for p in PLAN.calendar]
    texts += [p.not_applicable_reason for p in PLAN.calendar if p.not_applicable_reason]
    texts += [i.label for i in PLAN.indicators]
    texts += list(PLAN.areas.values()) + list(PLAN.sections.values())
    for text in texts:
        assert unicodedata.is_normalized("NFC", text), text


def test_loader_normalises_decomposed_names_to_nfc():
    plan_dir = Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019"
    raw = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    indicators = json.loads((plan_dir / "indicators.json").read_text(encoding="utf-8"))
    svhttdl = next(u for u in raw["units"] if u["code"] == "SVHTTDL")
    svhttdl["name"] = unicodedata.normalize("NFD", "Sở Văn hoá, Thể thao và Du lịch")
    plan = parse_plan(raw, indicators)
    name = plan.unit("SVHTTDL").name
    assert unicodedata.is_normalized("NFC", name)
    assert name == unicodedata.normalize("NFC", "Sở Văn hoá, Thể thao và Du lịch")
