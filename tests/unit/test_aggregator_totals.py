"""Aggregator's indicator totals (F11): sums, nulls, derived rates, splits, so với cùng kỳ, units that stand out."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from services.aggregator.totals.formula import FormulaError, evaluate_formula, parse_formula
from services.aggregator.totals.standouts import suggest_standouts
from services.aggregator.totals.sums import (
    ABSENT,
    BLANK,
    REPORTED,
    PeriodNotSummarisable,
    period_totals,
    primary_type,
    same_period_last_year,
)
from shared.plan import Plan, load_plan

PLAN = load_plan(Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019")
PERIOD = "2019-H1"
# Official order: SNV 2, TTR 17, DAI_PTTH 19, TP_TRAVINH 21, H_CAUKE 24, H_TRACU 28 (expected, never reports).
EXPECTED = ("H_TRACU", "TP_TRAVINH", "SNV", "H_CAUKE", "DAI_PTTH", "TTR")
OFFICIAL = ("SNV", "TTR", "DAI_PTTH", "TP_TRAVINH", "H_CAUKE", "H_TRACU")


def content(agency: str, period: str = PERIOD, **values: Any) -> dict[str, Any]:
    """A report's content as intake stores it: every template indicator present, null unless given."""
    template = PLAN.template_for(agency, period)
    assert template is not None
    indicators: dict[str, Any] = dict.fromkeys(template.indicator_keys())
    unknown = set(values) - set(indicators)
    assert not unknown, unknown
    indicators.update(values)
    return {
        "indicators": indicators,
        "narratives": {f"area_{a}": "Đã triển khai." for a in template.areas},
        "assessment": {"strengths": "Tốt.", "limitations": None, "causes": None},
        "next_tasks": "Tiếp tục.",
        "recommendations": None,
    }


def h1_reports() -> dict[str, dict[str, Any]]:
    """Five units of different types; deliberately not in official order."""
    return {
        "H_CAUKE": content(
            "H_CAUKE",
            tcd_luot=None,
            tthc_da_giai_quyet_truoc_han=5,
            tthc_da_giai_quyet_dung_han=4,
            tthc_da_giai_quyet_tre_han=1,
            vu_viec_da_giai_quyet=None,
            vu_viec_thuoc_tham_quyen=4,
            dvk_cong_nhan=1,
            dvk_dang_ky_tap_the=0,
            dvk_dang_ky_ca_nhan=0,
            tong_so_cbccvc=40,
        ),
        "TP_TRAVINH": content(
            "TP_TRAVINH",
            tcd_luot=50,
            tthc_da_giai_quyet_truoc_han=300,
            tthc_da_giai_quyet_dung_han=100,
            tthc_da_giai_quyet_tre_han=100,
            vu_viec_da_giai_quyet=8,
            vu_viec_thuoc_tham_quyen=10,
            dvk_cong_nhan=6,
            dvk_dang_ky_tap_the=4,
            dvk_dang_ky_ca_nhan=2,
            tong_so_cbccvc=250,
        ),
        "SNV": content(
            "SNV",
            tcd_luot=10,
            tthc_da_giai_quyet_truoc_han=90,
            tthc_da_giai_quyet_dung_han=0,
            tthc_da_giai_quyet_tre_han=10,
            vu_viec_da_giai_quyet=0,
            vu_viec_thuoc_tham_quyen=0,
            dvk_cong_nhan=2,
            dvk_dang_ky_tap_the=3,
            dvk_dang_ky_ca_nhan=1,
            tong_so_cbccvc=60,
            tap_huan_so_lop=3,
        ),
        "TTR": content(
            "TTR",
            tcd_luot=200,
            tthc_da_giai_quyet_truoc_han=1,
            tthc_da_giai_quyet_dung_han=0,
            tthc_da_giai_quyet_tre_han=1,
            vu_viec_da_giai_quyet=45,
            vu_viec_thuoc_tham_quyen=50,
        ),
        "DAI_PTTH": content(
            "DAI_PTTH",
            chuyen_muc_pt_th=12,
            vu_viec_da_giai_quyet=3,
            vu_viec_thuoc_tham_quyen=3,
            dvk_cong_nhan=1,
            dvk_dang_ky_tap_the=1,
        ),
    }


def h1(**kwargs: Any):
    return period_totals(PLAN, PERIOD, h1_reports(), expected=EXPECTED, **kwargs)


def plan_2018() -> Plan:
    """The same registry and catalogue with the calendar one year earlier (a 2018 plan to compare with), stated as
    an explicit calendar only (the 2019 plan's rules would give 2018 nothing)."""
    calendar = tuple(
        replace(
            p,
            key=p.key.replace("2019", "2018"),
            deadline_day=p.deadline_day.replace(year=2018),
            due_before=p.due_before.replace(year=2018) if p.due_before else None,
        )
        for p in PLAN.calendar
    )
    return replace(
        PLAN,
        id="tra-vinh-2018",
        year=2018,
        issued_on=PLAN.issued_on.replace(year=2018),
        calendar=calendar,
        calendar_rules=None,
    )


# --- sums and nulls ------------------------------------------------------------------------------------------


def test_sum_leaves_out_nulls_and_counts_them_as_missing():
    line = h1().indicator("tcd_luot")
    assert line.total == 10 + 200 + 50
    assert line.reported == 3
    assert line.missing == 3  # DAI_PTTH and H_CAUKE left it blank, H_TRACU sent nothing
    assert line.absent == 1
    statuses = {row.agency: row.status for row in line.by_unit}
    assert statuses == {
        "SNV": REPORTED,
        "TTR": REPORTED,
        "DAI_PTTH": BLANK,
        "TP_TRAVINH": REPORTED,
        "H_CAUKE": BLANK,
        "H_TRACU": ABSENT,
    }


def test_total_is_none_when_every_unit_left_it_blank():
    line = h1().indicator("giam_sat_cuoc")
    assert line.total is None
    assert (line.reported, line.missing, line.absent) == (0, 6, 1)


def test_indicator_only_counts_units_whose_template_holds_it():
    line = h1().indicator("chuyen_muc_pt_th")  # BAO_DAI only
    assert [row.agency for row in line.by_unit] == ["DAI_PTTH"]
    assert (line.total, line.reported, line.missing) == (12, 1, 0)
    snv_only = h1().indicator("tap_huan_so_lop")  # SO, HUYEN and SNV: every unit here
    assert (snv_only.total, snv_only.reported, snv_only.missing) == (3, 1, 5)


def test_default_expected_units_are_the_plans_reporters_at_the_deadline():
    totals = period_totals(PLAN, PERIOD, h1_reports())
    assert len(totals.expected) == 29
    line = totals.indicator("tcd_luot")
    assert (line.reported, line.missing, line.absent) == (3, 26, 24)
    assert line.reported + line.missing == len(line.by_unit) == 29


def test_reports_of_units_outside_the_plans_reporters_are_ignored_and_listed():
    reports = {**h1_reports(), "UBND_TINH": {"indicators": {"tcd_luot": 5}}, "XYZ": {"indicators": {"tcd_luot": 7}}}
    totals = period_totals(PLAN, PERIOD, reports, expected=EXPECTED)
    assert totals.ignored == ("UBND_TINH", "XYZ")
    assert totals.indicator("tcd_luot").total == 260


def test_non_numeric_fields_and_entered_derived_values_are_not_figures():
    reports = h1_reports()
    reports["SNV"]["indicators"].update(tcd_luot="10", tthc_ty_le_dung_truoc_han=99.0)
    totals = period_totals(PLAN, PERIOD, reports, expected=EXPECTED)
    assert totals.indicator("tcd_luot").total == 250
    snv = next(r for r in totals.indicator("tthc_ty_le_dung_truoc_han").by_unit if r.agency == "SNV")
    assert snv.value == 90.0


def test_a_bare_mapping_of_indicators_is_read_as_the_figures():
    reports = {code: report["indicators"] for code, report in h1_reports().items()}
    assert period_totals(PLAN, PERIOD, reports, expected=EXPECTED).indicator("tcd_luot").total == 260


def test_stocks_of_one_period_are_summed_across_units():
    line = h1().indicator("tong_so_cbccvc")
    assert line.measure == "stock"
    assert line.total == 40 + 250 + 60


# --- derived indicators --------------------------------------------------------------------------------------


def test_on_time_rate_is_recomputed_from_summed_parts_not_averaged():
    line = h1().indicator("tthc_ty_le_dung_truoc_han")
    unit_rates = [row.value for row in line.by_unit if row.value is not None]
    assert sorted(unit_rates) == [50.0, 80.0, 90.0, 90.0]
    assert sum(unit_rates) / len(unit_rates) == 77.5
    # (90 + 1 + 400 + 9) / (100 + 2 + 500 + 10)
    assert line.total == 50000 / 612
    assert line.total != 77.5
    assert (line.reported, line.missing) == (4, 2)


def test_derived_rate_rests_on_units_that_gave_every_part():
    totals = h1()
    line = totals.indicator("ty_le_giai_quyet_kntc")
    # H_CAUKE gave 4 cases but no resolved count: its 4 stay out of the rate, not only out of the numerator.
    assert totals.indicator("vu_viec_thuoc_tham_quyen").total == 67
    assert line.total == 5600 / 63
    snv = next(r for r in line.by_unit if r.agency == "SNV")
    assert (snv.status, snv.value) == (REPORTED, None)  # 0 / 0: reported, no rate
    cauke = next(r for r in line.by_unit if r.agency == "H_CAUKE")
    assert (cauke.status, cauke.value) == (BLANK, None)


def test_derived_rate_per_type_comes_from_the_types_summed_parts():
    line = h1().indicator("tthc_ty_le_dung_truoc_han")
    by_type = {t.type: t for t in line.by_type}
    assert by_type["SO"].total == 9100 / 102  # SNV + TTR: 91 / 102
    assert by_type["HUYEN"].total == 40900 / 510  # TP_TRAVINH + H_CAUKE: 409 / 510
    assert (by_type["HUYEN"].reported, by_type["HUYEN"].missing) == (2, 1)


def test_derived_rate_with_zero_denominator_everywhere_is_none():
    reports = {"SNV": content("SNV", vu_viec_da_giai_quyet=0, vu_viec_thuoc_tham_quyen=0)}
    line = period_totals(PLAN, PERIOD, reports, expected=("SNV",)).indicator("ty_le_giai_quyet_kntc")
    assert (line.total, line.reported) == (None, 1)


# --- splits, order, areas ------------------------------------------------------------------------------------


def test_by_type_and_by_unit_splits_add_up_to_the_total():
    totals = h1()
    for line in totals.lines():
        assert sum(t.reported for t in line.by_type) == line.reported
        assert sum(t.missing for t in line.by_type) == line.missing
        if line.derived:
            continue
        type_totals = [t.total for t in line.by_type if t.total is not None]
        unit_values = [r.value for r in line.by_unit if r.value is not None]
        expected = line.total if line.total is not None else 0
        assert sum(type_totals) == sum(unit_values) == expected, line.key
    tcd = {t.type: (t.total, t.reported, t.missing) for t in totals.indicator("tcd_luot").by_type}
    assert tcd == {"SO": (210, 2, 1), "HUYEN": (50, 1, 2)}


def test_each_unit_counts_under_one_type():
    assert primary_type(PLAN.unit("TTR")) == "SO"
    assert primary_type(PLAN.unit("SNV")) == "SO"
    assert primary_type(PLAN.unit("DAI_PTTH")) == "SO"
    assert primary_type(PLAN.unit("H_CAUKE")) == "HUYEN"
    assert [t.type for t in h1().indicator("tcd_luot").by_type] == ["SO", "HUYEN"]
    assert [t.label for t in h1().indicator("tcd_luot").by_type] == ["Sở, ngành thuộc UBND tỉnh", "UBND cấp huyện"]


def test_units_are_listed_in_official_order():
    totals = h1()
    assert totals.expected == OFFICIAL
    assert totals.received == OFFICIAL[:-1]
    assert tuple(r.agency for r in totals.indicator("tcd_luot").by_unit) == OFFICIAL
    assert [r.order for r in totals.indicator("tcd_luot").by_unit] == [2, 17, 19, 21, 24, 28]


def test_areas_follow_the_plan_and_indicators_the_catalogue():
    totals = h1()
    assert [(a.area, a.name) for a in totals.areas] == sorted(PLAN.areas.items())
    catalogue = [i.key for i in PLAN.indicators if i.area in PLAN.areas]
    assert [line.key for line in totals.lines()] == catalogue
    first = [line.key for line in totals.areas[0].indicators]
    assert first.index("quan_triet_ty_le_cbccvc") == first.index("tong_so_cbccvc") + 1
    assert "ds_can_bo_phu_trach_dan_van" not in {line.key for line in totals.lines()}


def test_a_period_without_figures_of_its_own_is_refused():
    with pytest.raises(PeriodNotSummarisable, match="2019-H1"):
        period_totals(PLAN, "2019-Q2", {})  # served by the 6-month report: never H1 − Q1
    with pytest.raises(PeriodNotSummarisable):
        period_totals(PLAN, "2019-STAFF", {})
    with pytest.raises(PeriodNotSummarisable):
        period_totals(PLAN, "2019-Q1", {})
    with pytest.raises(PeriodNotSummarisable):
        period_totals(PLAN, "2018-H1", {})  # before the plan took effect: no such period


def test_the_yearly_figure_is_what_the_yearly_reports_say():
    fy = {"SNV": content("SNV", "2019-FY", tcd_luot=35)}
    totals = period_totals(PLAN, "2019-FY", fy, expected=("SNV",))
    assert totals.indicator("tcd_luot").total == 35  # not the H1 10 + Q3 anything
    assert totals.period_name == "Báo cáo năm 2019"


# --- so với cùng kỳ ------------------------------------------------------------------------------------------


def test_comparison_with_the_same_period_a_year_earlier():
    previous = {
        "SNV": content(
            "SNV",
            tcd_luot=40,
            tthc_da_giai_quyet_truoc_han=80,
            tthc_da_giai_quyet_dung_han=0,
            tthc_da_giai_quyet_tre_han=20,
        ),
        "TP_TRAVINH": content("TP_TRAVINH", tcd_luot=60, tthc_da_giai_quyet_dung_han=0),
    }
    totals = h1(previous=previous, previous_plan=plan_2018())
    assert totals.previous_period == "2018-H1"
    tcd = totals.indicator("tcd_luot")
    assert (tcd.previous, tcd.change) == (100, 160)
    rate = totals.indicator("tthc_ty_le_dung_truoc_han")
    assert rate.previous == 80.0  # TP_TRAVINH gave only one part: left out of last year's rate
    assert rate.change == 50000 / 612 - 80.0
    dvk = totals.indicator("dvk_cong_nhan")
    assert (dvk.total, dvk.previous, dvk.change) == (10, None, None)
    chuyen_muc = totals.indicator("chuyen_muc_pt_th")
    assert (chuyen_muc.total, chuyen_muc.previous, chuyen_muc.change) == (12, None, None)


def test_2020_h1_compares_with_2019_h1_of_the_same_plan():
    previous = {"SNV": content("SNV", tcd_luot=40), "TTR": content("TTR", tcd_luot=2)}
    current = {"SNV": content("SNV", "2020-H1", tcd_luot=55)}
    totals = period_totals(PLAN, "2020-H1", current, previous=previous, expected=EXPECTED)
    assert (totals.period, totals.period_name, totals.previous_period) == (
        "2020-H1",
        "Báo cáo 6 tháng đầu năm 2020",
        "2019-H1",
    )
    tcd = totals.indicator("tcd_luot")
    assert (tcd.total, tcd.previous, tcd.change) == (55, 42, 13)


def test_no_comparison_without_the_previous_period():
    plain = h1()
    assert plain.previous_period is None
    assert all(line.previous is None and line.change is None for line in plain.lines())
    # 2018-H1 is no period of the 2019 plan: reports handed in for it are not compared
    not_in_plan = h1(previous={"SNV": content("SNV", tcd_luot=40)})
    assert not_in_plan.previous_period is None
    assert not_in_plan.indicator("tcd_luot").previous is None


def test_same_period_last_year_keys():
    assert same_period_last_year("2019-H1") == "2018-H1"
    assert same_period_last_year("2020-FY") == "2019-FY"
    assert same_period_last_year("H1") is None


# --- units that stand out ------------------------------------------------------------------------------------


def test_standouts_rank_units_by_ratio_with_parts_and_exclusions():
    suggestions = {s.key: s for s in suggest_standouts(h1())}
    assert list(suggestions) == ["tthc_ty_le_dung_truoc_han", "ty_le_giai_quyet_kntc", "dvk_ty_le_cong_nhan"]

    tthc = suggestions["tthc_ty_le_dung_truoc_han"]
    # SNV and H_CAUKE tie at 90%: the larger denominator (100 dossiers against 10) goes first, same rank
    assert [(c.rank, c.agency, c.value) for c in tthc.candidates] == [
        (1, "SNV", 90.0),
        (1, "H_CAUKE", 90.0),
        (3, "TP_TRAVINH", 80.0),
        (4, "TTR", 50.0),
    ]
    snv = tthc.candidates[0]
    assert (snv.numerator, snv.denominator) == (90.0, 100.0)
    assert dict(snv.parts) == {
        "tthc_da_giai_quyet_truoc_han": 90,
        "tthc_da_giai_quyet_dung_han": 0,
        "tthc_da_giai_quyet_tre_han": 10,
    }
    assert tthc.excluded == ("DAI_PTTH", "H_TRACU")

    kntc = suggestions["ty_le_giai_quyet_kntc"]
    assert [(c.agency, c.value) for c in kntc.candidates] == [("DAI_PTTH", 100.0), ("TTR", 90.0), ("TP_TRAVINH", 80.0)]
    assert kntc.excluded == ("SNV", "H_CAUKE", "H_TRACU")  # 0 cases; a blank part; no report

    dvk = suggestions["dvk_ty_le_cong_nhan"]
    ranked = [(c.agency, c.value, c.denominator) for c in dvk.candidates]
    assert ranked == [("TP_TRAVINH", 100.0, 6.0), ("SNV", 50.0, 4.0)]
    assert dvk.excluded == ("TTR", "DAI_PTTH", "H_CAUKE", "H_TRACU")


def test_standouts_can_require_a_minimum_denominator():
    tthc = suggest_standouts(h1(), ratios=("tthc_ty_le_dung_truoc_han",), min_denominator=5)[0]
    assert [c.agency for c in tthc.candidates] == ["SNV", "H_CAUKE", "TP_TRAVINH"]
    assert "TTR" in tthc.excluded


def test_standouts_skip_ratios_outside_the_catalogue():
    assert suggest_standouts(h1(), ratios=("no_such_rate", "tcd_luot")) == ()


# --- formulas ------------------------------------------------------------------------------------------------


def test_every_catalogue_formula_parses_over_catalogue_keys():
    keys = {i.key for i in PLAN.indicators}
    formulas = [i.formula for i in PLAN.indicators if i.derived]
    assert len(formulas) == 3
    for text in formulas:
        assert set(parse_formula(text).names) <= keys


def test_formula_evaluator():
    assert evaluate_formula("a / b * 100", {"a": 1, "b": 4}) == 25.0
    assert evaluate_formula("(a + b) / (a + b + c) * 100", {"a": 1, "b": 2, "c": 1}) == 75.0
    assert evaluate_formula("a + b * 2", {"a": 1, "b": 3}) == 7.0
    assert evaluate_formula("a - b - c", {"a": 10, "b": 3, "c": 2}) == 5.0
    assert evaluate_formula("a / b / c", {"a": 12, "b": 3, "c": 2}) == 2.0
    assert evaluate_formula("a / b * 100", {"a": 1, "b": 3}) == 100 / 3
    assert evaluate_formula("x * 1.5", {"x": 2}) == 3.0
    assert parse_formula("(a + b) / (a + b + c) * 100").names == ("a", "b", "c")


def test_formula_division_by_zero_or_a_missing_part_is_none():
    assert evaluate_formula("a / b * 100", {"a": 0, "b": 0}) is None
    assert evaluate_formula("a / (b - c)", {"a": 1, "b": 2, "c": 2}) is None
    assert evaluate_formula("a / b * 100", {"a": 1, "b": None}) is None
    assert evaluate_formula("a / b * 100", {"a": 1}) is None
    assert evaluate_formula("a / b * 100", {"a": 1, "b": "2"}) is None
    assert evaluate_formula("a / b * 100", {"a": True, "b": 2}) is None


@pytest.mark.parametrize("text", ["a +", "a ** b", "a b", "(a + b", "a + b)", "__import__('os')", "a % b", "", "-a"])
def test_formula_outside_the_syntax_is_refused(text):
    with pytest.raises(FormulaError):
        parse_formula(text)
