"""Intake's template-built report schema (Vietnamese messages, nulls, trimming) and completeness."""

from pathlib import Path

import pytest
from marshmallow import ValidationError

from services.intake.domain import completeness
from services.intake.schemas import build_report_schema, load_report
from shared.plan import load_plan
from shared.web import flatten_errors

PLAN = load_plan(Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019")
H1_TEMPLATE = PLAN.template_for("H_CAUKE", "2019-H1")
STAFF_TEMPLATE = PLAN.template_for("H_CAUKE", "2019-STAFF")
UNKNOWN = "Trường không có trong biểu mẫu."
TCD_LUOT_LABEL = H1_TEMPLATE.label("tcd_luot")


@pytest.fixture(scope="module")
def schema():
    return build_report_schema(H1_TEMPLATE)


@pytest.fixture(scope="module")
def staff_schema():
    return build_report_schema(STAFF_TEMPLATE)


def body(**parts: object) -> dict:
    return {"agency": "H_CAUKE", "period": "2019-H1", **parts}


def errors_of(schema, data: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        load_report(schema, data)
    return caught.value.messages


def test_label_of_the_indicator_under_test_is_vietnamese():
    assert TCD_LUOT_LABEL != "tcd_luot"
    assert any(ord(ch) > 127 for ch in TCD_LUOT_LABEL)


def test_minimal_report_is_accepted_with_every_indicator_null(schema):
    data = load_report(schema, body())
    assert set(data["indicators"]) == set(H1_TEMPLATE.indicator_keys())
    assert all(value is None for value in data["indicators"].values())


def test_counts_are_kept_as_integers_including_zero(schema):
    data = load_report(schema, body(indicators={"tcd_luot": 0, "tcd_nguoi": 12}))
    assert data["indicators"]["tcd_luot"] == 0
    assert data["indicators"]["tcd_nguoi"] == 12


def test_unknown_top_level_field_is_rejected_in_vietnamese(schema):
    assert errors_of(schema, body(tong_ket="x")) == {"tong_ket": UNKNOWN}


def test_unknown_indicator_is_rejected_in_vietnamese(schema):
    assert errors_of(schema, body(indicators={"chuyen_muc_pt_th": 2})) == {"indicators.chuyen_muc_pt_th": UNKNOWN}


def test_unknown_narrative_key_is_rejected(schema):
    assert errors_of(schema, body(narratives={"area_6": "x"})) == {"narratives.area_6": UNKNOWN}


@pytest.mark.parametrize("bad", [-1, 1.5, True, False, "3", [3], {"n": 3}])
def test_value_that_is_not_a_non_negative_integer_is_rejected_naming_the_label(schema, bad):
    errors = errors_of(schema, body(indicators={"tcd_luot": bad}))
    assert list(errors) == ["indicators.tcd_luot"]
    assert TCD_LUOT_LABEL in errors["indicators.tcd_luot"]


def test_null_indicator_stays_null_never_zero(schema):
    assert load_report(schema, body(indicators={"tcd_luot": None}))["indicators"]["tcd_luot"] is None


def test_empty_string_indicator_becomes_null(schema):
    assert load_report(schema, body(indicators={"tcd_luot": ""}))["indicators"]["tcd_luot"] is None


def test_count_too_large_for_the_store_is_rejected_naming_the_label(schema):
    errors = errors_of(schema, body(indicators={"tcd_luot": 2**70}))
    assert TCD_LUOT_LABEL in errors["indicators.tcd_luot"]


def test_text_is_trimmed(schema):
    data = load_report(schema, body(narratives={"area_1": "  Đã quán triệt.  \n"}, recommendations="\tKiến nghị "))
    assert data["narratives"]["area_1"] == "Đã quán triệt."
    assert data["recommendations"] == "Kiến nghị"


def test_null_text_is_null(schema):
    data = load_report(schema, body(narratives={"area_1": None}, next_tasks=None))
    assert data["narratives"]["area_1"] is None
    assert data["next_tasks"] is None


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_blank_text_becomes_null(schema, blank):
    data = load_report(schema, body(narratives={"area_2": blank}, next_tasks=blank))
    assert data["narratives"]["area_2"] is None
    assert data["next_tasks"] is None


def test_text_that_is_not_a_string_is_rejected(schema):
    errors = errors_of(schema, body(narratives={"area_1": 5}))
    assert "narratives.area_1" in errors


def test_missing_agency_and_period_are_reported_in_vietnamese(schema):
    errors = errors_of(schema, {})
    assert "bắt buộc" in errors["agency"]
    assert "bắt buộc" in errors["period"]


def test_flatten_errors_gives_dotted_paths():
    nested = {"indicators": {"tcd_luot": ["a", "b"]}, "staff": {0: {"ho_ten": ["c"]}}, "x": ["d"]}
    assert flatten_errors(nested) == {"indicators.tcd_luot": "a b", "staff.0.ho_ten": "c", "x": "d"}


def test_load_report_flattens_several_errors(schema):
    errors = errors_of(schema, body(indicators={"tcd_luot": -1, "don_to_cao": "x"}, extra=1))
    assert set(errors) == {"indicators.tcd_luot", "indicators.don_to_cao", "extra"}


def test_every_narrative_and_assessment_part_filled_is_complete():
    content = {
        "narratives": {f"area_{a}": f"Nội dung {a}" for a in range(1, 6)},
        "assessment": {"strengths": "Ưu điểm", "limitations": "Hạn chế", "causes": "Nguyên nhân"},
    }
    assert completeness(H1_TEMPLATE, content) == 1.0


def test_one_narrative_of_eight_required_parts_is_an_eighth_complete():
    assert completeness(H1_TEMPLATE, {"narratives": {"area_1": "Nội dung"}}) == 0.125


def test_empty_report_is_zero_complete():
    assert completeness(H1_TEMPLATE, {}) == 0.0
    assert completeness(H1_TEMPLATE, {"narratives": None, "assessment": None}) == 0.0


def test_blank_narratives_do_not_count_as_filled():
    content = {"narratives": {"area_1": "   ", "area_2": None}, "assessment": {"causes": "Nguyên nhân"}}
    assert completeness(H1_TEMPLATE, content) == 0.125


def test_next_tasks_and_recommendations_are_not_required_for_completeness():
    assert completeness(H1_TEMPLATE, {"next_tasks": "x", "recommendations": "y"}) == 0.0


def test_staff_list_is_complete_when_it_names_someone():
    assert completeness(STAFF_TEMPLATE, {"staff": [{"ho_ten": "Nguyễn Văn A"}]}) == 1.0
    assert completeness(STAFF_TEMPLATE, {"staff": []}) == 0.0


def staff_body(*members: dict) -> dict:
    return {"agency": "H_CAUKE", "period": "2019-STAFF", "staff": list(members)}


def test_staff_list_with_name_and_alert_role_is_accepted(staff_schema):
    data = load_report(staff_schema, staff_body({"ho_ten": " Nguyễn Văn A ", "alert_role": "focal"}))
    member = data["staff"][0]
    assert member["ho_ten"] == "Nguyễn Văn A"
    assert member["alert_role"] == "focal"
    assert set(member) == set(STAFF_TEMPLATE.staff_fields)


def test_staff_member_without_a_name_is_rejected(staff_schema):
    errors = errors_of(staff_schema, staff_body({"alert_role": "head"}))
    assert errors == {"staff.0.ho_ten": "Họ và tên: bắt buộc."}


def test_staff_member_with_a_blank_name_is_rejected(staff_schema):
    errors = errors_of(staff_schema, staff_body({"ho_ten": "   ", "alert_role": "head"}))
    assert list(errors) == ["staff.0.ho_ten"]


def test_staff_member_with_an_unknown_alert_role_is_rejected(staff_schema):
    members = ({"ho_ten": "A", "alert_role": "focal"}, {"ho_ten": "B", "alert_role": "boss"})
    errors = errors_of(staff_schema, staff_body(*members))
    assert list(errors) == ["staff.1.alert_role"]
    assert "focal, head hoặc other" in errors["staff.1.alert_role"]


def test_staff_member_without_an_alert_role_is_rejected(staff_schema):
    errors = errors_of(staff_schema, staff_body({"ho_ten": "A"}))
    assert list(errors) == ["staff.0.alert_role"]


def test_staff_member_with_an_unknown_field_is_rejected(staff_schema):
    errors = errors_of(staff_schema, staff_body({"ho_ten": "A", "alert_role": "other", "luong": 1}))
    assert errors == {"staff.0.luong": UNKNOWN}


def test_empty_staff_list_is_rejected(staff_schema):
    assert list(errors_of(staff_schema, staff_body())) == ["staff"]


def test_staff_list_period_does_not_accept_indicators(staff_schema):
    errors = errors_of(staff_schema, {**staff_body({"ho_ten": "A", "alert_role": "focal"}), "indicators": {}})
    assert errors == {"indicators": UNKNOWN}


def test_blank_optional_staff_field_becomes_null(staff_schema):
    data = load_report(staff_schema, staff_body({"ho_ten": "A", "alert_role": "focal", "chuc_vu": "  "}))
    assert data["staff"][0]["chuc_vu"] is None


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("nguyễn văn@x", "không được có dấu cách"),
        ("nguyễn@travinh.gov.vn", "phần trước @ không được có chữ có dấu"),
        ("lan.nt@x", "tên miền sau @ phải có dấu chấm, ví dụ travinh.gov.vn"),
        ("lan.nt", "phải có dạng ten@donvi.gov.vn"),
        ("lan..nt@travinh.gov.vn", "sai cú pháp"),
    ],
)
def test_a_staff_e_mail_that_is_not_an_address_is_refused_on_its_field_in_vietnamese(staff_schema, typed, why):
    errors = errors_of(staff_schema, staff_body({"ho_ten": "Nguyễn Văn A", "alert_role": "head", "email": typed}))
    assert errors == {"staff.0.email": f"Thư điện tử: không hợp lệ ({why})."}


def test_a_staff_e_mail_is_kept_trimmed_and_lower_case_and_an_idn_domain_in_ascii(staff_schema):
    members = [
        {"ho_ten": "A", "alert_role": "focal", "email": " Lan.NT@TraCu.TraVinh.gov.vn "},
        {"ho_ten": "B", "alert_role": "head", "email": "hung@sởnộivụ.vn"},
        {"ho_ten": "C", "alert_role": "other", "email": ""},
    ]
    staff = load_report(staff_schema, staff_body(*members))["staff"]
    assert [m["email"] for m in staff] == ["lan.nt@tracu.travinh.gov.vn", "hung@xn--sniv-6y5a8a8b.vn", None]


@pytest.mark.parametrize("typed", ["0912 345 678", "+84 912 345 678", "84912345678", "(+84) 912.345.678", "0912345678"])
def test_a_vietnamese_mobile_number_is_kept_in_e164(staff_schema, typed):
    member = {"ho_ten": "A", "alert_role": "head", "dien_thoai": typed}
    assert load_report(staff_schema, staff_body(member))["staff"][0]["dien_thoai"] == "+84912345678"


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("0294 3852 123", "phải là số điện thoại di động"),  # a Trà Vinh landline: no SMS
        ("091234567", "không phải số điện thoại di động Việt Nam hợp lệ"),
        ("+1 650 253 0000", "không phải số điện thoại di động Việt Nam hợp lệ"),
        ("gọi văn thư", "không phải số điện thoại"),
    ],
)
def test_a_phone_that_is_not_a_vietnamese_mobile_is_refused_on_its_field(staff_schema, typed, why):
    errors = errors_of(staff_schema, staff_body({"ho_ten": "A", "alert_role": "head", "dien_thoai": typed}))
    assert list(errors) == ["staff.0.dien_thoai"] and errors["staff.0.dien_thoai"].startswith(f"Điện thoại: {why}")
