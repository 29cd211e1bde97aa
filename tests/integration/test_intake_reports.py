"""Intake over real processes: cross-field rules, revisions and their diff, Idempotency-Key, paper reports
recorded by Sở Nội vụ, and the staff list becoming the unit's contacts (F4, F5, F6)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support import ERROR_RULES, TestStack, local, wait_for

PERIOD = "2019-H1"


@pytest.fixture(scope="module", autouse=True)
def mid_june(stack: TestStack) -> None:
    """These tests run on 12/06/2019: after the H1 deadline, when paper reports reach Sở Nội vụ."""
    stack.set_clock("2019-06-12T09:00:00+07:00")


def _put(stack: TestStack, agency: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
    headers = stack.auth("agency", agency) | ({"Idempotency-Key": key} if key else {})
    return requests.put(
        stack.url("intake", f"/api/v1/reports/{agency}/{PERIOD}"), json=body, headers=headers, timeout=15
    )


def _events(stack: TestStack, event_type: str) -> list[dict[str, Any]]:
    items = stack.get("intake", "/api/v1/events?limit=1000").json()["items"]
    return [e for e in items if e["type"] == event_type]


@pytest.mark.parametrize(("indicators", "field", "message"), ERROR_RULES)
def test_each_error_rule_is_422_with_its_vietnamese_message_on_its_field(
    stack: TestStack, indicators: dict[str, int], field: str, message: str
) -> None:
    resp = stack.post_report("VP_UBND", PERIOD, {"indicators": indicators})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["fields"] == {f"indicators.{field}": message}
    assert stack.reports_of("VP_UBND") == []


def test_a_rule_with_a_blank_field_is_not_evaluated(stack: TestStack) -> None:
    resp = stack.post_report("STC", PERIOD, {"indicators": {"tcd_luot": 10, "tcd_nguoi": None}})
    assert resp.status_code == 201, resp.text
    assert resp.json()["warnings"] == {}


def test_warning_rules_store_the_report_and_show_the_warnings(stack: TestStack) -> None:
    indicators = {
        "dvk_dang_ky_tap_the": 1, "dvk_dang_ky_ca_nhan": 1, "dvk_cong_nhan": 3,
        "tthc_ton_ky_truoc": 10, "tthc_tiep_nhan_moi": 90, "tthc_da_giai_quyet_truoc_han": 20,
        "tthc_da_giai_quyet_dung_han": 60, "tthc_da_giai_quyet_tre_han": 5, "tthc_dang_giai_quyet_trong_han": 3,
        "tthc_dang_giai_quyet_qua_han": 1, "tthc_tra_lai_rut": 0,
    }  # fmt: skip
    resp = stack.post_report("SGDDT", PERIOD, {"indicators": indicators})
    assert resp.status_code == 201, resp.text
    warnings = resp.json()["warnings"]
    assert set(warnings) == {"indicators.dvk_cong_nhan", "indicators.tthc_tiep_nhan_moi"}
    assert "(3) lớn hơn số đăng ký trong kỳ (2)" in warnings["indicators.dvk_cong_nhan"]
    assert (
        "(100) không bằng" in warnings["indicators.tthc_tiep_nhan_moi"]
        and "(89)" in warnings["indicators.tthc_tiep_nhan_moi"]
    )
    stored = stack.reports_of("SGDDT")
    assert len(stored) == 1 and stored[0]["warnings"] == warnings


def test_a_second_revision_keeps_the_first_and_the_diff_lists_exactly_the_changed_fields(stack: TestStack) -> None:
    first = stack.post_report("SYT", PERIOD, {"indicators": {"tcd_luot": 5, "tcd_nguoi": 6}, "next_tasks": "Tiếp tục"})
    assert first.status_code == 201, first.text
    stack.wait_status(PERIOD, "SYT", "submitted_late")
    second = _put(
        stack, "SYT", {"indicators": {"tcd_luot": 7, "tcd_nguoi": 8, "hoi_nghi_cbccvc": 2}, "next_tasks": "Tiếp tục"}
    )
    assert second.status_code == 200, second.text
    receipt = second.json()
    assert receipt["revision"] == 2
    assert receipt["on_time"] is first.json()["on_time"] is False
    assert receipt["received_at"] == first.json()["received_at"]
    assert local(receipt["amended_at"]) == local("2019-06-12T09:00:00+07:00")

    one = stack.get("intake", f"/api/v1/reports/SYT/{PERIOD}?revision=1").json()
    assert one["revision"] == 1 and one["content"]["indicators"]["tcd_luot"] == 5
    assert stack.get("intake", f"/api/v1/reports/SYT/{PERIOD}").json()["content"]["indicators"]["tcd_luot"] == 7
    diff = stack.get("intake", f"/api/v1/reports/SYT/{PERIOD}/diff?from=1&to=2").json()
    assert diff["changes"] == [
        {"field": "indicators.hoi_nghi_cbccvc", "from": None, "to": 2},
        {"field": "indicators.tcd_luot", "from": 5, "to": 7},
        {"field": "indicators.tcd_nguoi", "from": 6, "to": 8},
    ]
    history = stack.get("intake", f"/api/v1/reports/SYT/{PERIOD}/revisions").json()["items"]
    assert [(h["revision"], h["submitted_by"]) for h in history] == [(1, "agency@SYT"), (2, "agency@SYT")]

    amended = wait_for(lambda: _events(stack, "report.amended") and [
        e for e in _events(stack, "report.amended") if e["data"]["agency"] == "SYT"
    ], what="report.amended published")  # fmt: skip
    assert len(amended) == 1
    assert amended[0]["subject_version"] == 2 and amended[0]["data"]["previous_revision"] == 1
    assert amended[0]["data"]["content"]["indicators"]["tcd_luot"] == 7
    assert amended[0]["data"]["content"]["indicators"]["hoi_nghi_cbccvc"] == 2
    obligation = stack.get("scheduler", f"/api/v1/obligations?agency=SYT&period={PERIOD}").json()["items"][0]
    assert obligation["status"] == "submitted_late"  # the verdict of the first submission stands


def test_the_same_idempotency_key_returns_the_first_answer(stack: TestStack) -> None:
    headers = stack.auth("agency", "SVHTTDL") | {"Idempotency-Key": "phieu-001"}
    body = {"agency": "SVHTTDL", "period": PERIOD, "indicators": {"tcd_luot": 1}}
    url = stack.url("intake", "/api/v1/reports")
    first = requests.post(url, json=body, headers=headers, timeout=15)
    again = requests.post(url, json=body, headers=headers, timeout=15)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = requests.post(url, json=body, headers=stack.auth("agency", "SVHTTDL"), timeout=15)
    assert other.status_code == 409
    assert len(stack.get("intake", f"/api/v1/reports/SVHTTDL/{PERIOD}/revisions").json()["items"]) == 1


@pytest.mark.parametrize(("agency", "received_on", "on_time", "status"), [
    ("SCT", "2019-06-10", True, "submitted_on_time"),
    ("SXD", "2019-06-11", False, "submitted_late"),
])  # fmt: skip
def test_a_paper_report_recorded_by_so_noi_vu_takes_the_received_date(
    stack: TestStack, agency: str, received_on: str, on_time: bool, status: str
) -> None:
    body = {
        "received_on": received_on,
        "channel": "paper",
        "document_number": "45/BC-UBND",
        "document_date": "2019-06-08",
        "signer": "Nguyễn Văn A",
        "report": {"indicators": {"tcd_luot": 4}},
    }
    resp = requests.post(
        stack.url("intake", f"/api/v1/reports/{agency}/{PERIOD}/on-behalf"),
        json=body,
        headers={"Authorization": f"Bearer {stack.token('home_affairs', sub='chuyenvien@snv')}"},
        timeout=15,
    )
    assert resp.status_code == 201, resp.text
    record = resp.json()
    assert record["on_time"] is on_time
    assert local(record["received_at"]) == local(f"{received_on}T00:00:00+07:00")
    assert record["recorded_by"] == "chuyenvien@snv" and record["source"] == "on_behalf"
    assert local(record["recorded_at"]) == local("2019-06-12T09:00:00+07:00")
    assert record["document"] == {
        "channel": "paper",
        "number": "45/BC-UBND",
        "date": "2019-06-08",
        "signer": "Nguyễn Văn A",
    }
    stack.wait_status(PERIOD, agency, status)


def test_a_unit_cannot_record_a_paper_report(stack: TestStack) -> None:
    resp = requests.post(
        stack.url("intake", f"/api/v1/reports/SNV/{PERIOD}/on-behalf"),
        json={"received_on": "2019-06-10", "channel": "paper", "report": {}},
        headers=stack.auth("agency", "SNV"),
        timeout=15,
    )
    assert resp.status_code == 403


def test_a_staff_list_becomes_the_units_contacts(stack: TestStack) -> None:
    staff = [
        {"ho_ten": "Trần Thị Bích", "chuc_vu": "Chuyên viên", "don_vi": "Văn phòng Sở", "dien_thoai": "0912 345 001",
         "email": "bich@skhcn.travinh.example", "nhiem_vu": "Đầu mối dân vận chính quyền", "alert_role": "focal"},
        {"ho_ten": "Lê Văn Cường", "chuc_vu": "Phó Giám đốc", "don_vi": "Ban Giám đốc", "dien_thoai": None,
         "email": "cuong@skhcn.travinh.example", "nhiem_vu": "Phụ trách", "alert_role": "head"},
    ]  # fmt: skip
    resp = stack.post_report("SKHCN", "2019-STAFF", {"staff": staff})
    assert resp.status_code == 201, resp.text
    changed = wait_for(
        lambda: [e for e in _events(stack, "unit.contacts_changed") if e["data"]["agency"] == "SKHCN"],
        what="unit.contacts_changed published",
    )
    assert len(changed) == 1 and changed[0]["subject"] == "unit:SKHCN"
    assert changed[0]["data"]["contacts"] == [
        {"alert_role": "focal", "name": "Trần Thị Bích", "title": "Chuyên viên",
         "email": "bich@skhcn.travinh.example", "phone": "+84912345001"},
        {"alert_role": "head", "name": "Lê Văn Cường", "title": "Phó Giám đốc",
         "email": "cuong@skhcn.travinh.example", "phone": None},
    ]  # fmt: skip


def test_a_draft_is_kept_apart_with_no_event_and_no_report(stack: TestStack) -> None:
    url = stack.url("intake", f"/api/v1/drafts/BQL_KKT/{PERIOD}")
    body = {"indicators": {"tcd_luot": 10, "tcd_nguoi": 9}, "narratives": {"area_1": "  Đang soạn  "}}
    saved = requests.put(url, json=body, headers=stack.auth("agency", "BQL_KKT"), timeout=15)
    assert saved.status_code == 200, saved.text
    draft = saved.json()
    assert draft["content"]["narratives"]["area_1"] == "Đang soạn"
    assert list(draft["rule_errors"]) == ["indicators.tcd_nguoi"]  # reported, not enforced, on a draft
    again = requests.get(url, headers=stack.auth("agency", "BQL_KKT"), timeout=15).json()
    assert again["content"] == draft["content"]
    assert requests.get(url, headers=stack.auth("agency", "BDT"), timeout=15).status_code == 404
    assert stack.reports_of("BQL_KKT") == []
    published = stack.get("intake", "/api/v1/events?limit=1000").json()["items"]
    assert not [e for e in published if e["subject"] == f"report:BQL_KKT:{PERIOD}"]
    bad = requests.put(url, json={"indicators": {"tcd_luot": -1}}, headers=stack.auth("agency", "BQL_KKT"), timeout=15)
    assert bad.status_code == 422 and "indicators.tcd_luot" in bad.json()["error"]["fields"]


def test_a_signed_pdf_is_attached_once_and_downloaded_with_its_vietnamese_name(stack: TestStack) -> None:
    assert stack.post_report("STNMT", PERIOD, {"indicators": {"tcd_luot": 2}}).status_code == 201
    url = stack.url("intake", f"/api/v1/reports/STNMT/{PERIOD}/pdf")
    officer = stack.auth("agency", "STNMT")
    pdf = b"%PDF-1.7\n% chu ky so\n1 0 obj << >> endobj\n%%EOF\n"

    def put(data: bytes, content_type: str = "application/pdf") -> requests.Response:
        return requests.put(url, data=data, headers={**officer, "Content-Type": content_type}, timeout=30)

    assert put(b"not a pdf").status_code == 422
    assert put(pdf, "application/json").status_code == 415
    assert put(b"%PDF-" + b"0" * (10 * 1024 * 1024 + 1)).status_code == 413
    stored = put(pdf)
    assert stored.status_code == 201 and stored.json()["revision"] == 1
    assert put(pdf).status_code == 409  # one signed PDF per revision

    got = requests.get(url, headers=stack.auth("home_affairs"), timeout=15)
    assert got.status_code == 200 and got.content == pdf
    assert got.headers["Content-Type"] == "application/pdf"
    disposition = got.headers["Content-Disposition"]
    assert 'filename="Bao-cao-2019-H1-So-Tai-nguyen-va-Moi-truong-ban-1.pdf"' in disposition
    assert "filename*=UTF-8''B%C3%A1o%20c%C3%A1o" in disposition
    assert requests.get(url, headers=stack.auth("agency", "SYT"), timeout=15).status_code == 404


def test_a_late_correction_keeps_the_on_time_verdict(stack: TestStack) -> None:
    stack.set_clock("2019-06-05T09:00:00+07:00")
    try:
        first = stack.post_report("SNV", PERIOD, {"indicators": {"tcd_luot": 1}})
        assert first.status_code == 201 and first.json()["on_time"] is True
        stack.wait_status(PERIOD, "SNV", "submitted_on_time")
        stack.set_clock("2019-06-12T09:00:00+07:00")
        amended = _put(stack, "SNV", {"indicators": {"tcd_luot": 2}})
        assert amended.status_code == 200 and amended.json()["on_time"] is True
        assert amended.json()["received_at"] == first.json()["received_at"]
        obligation = stack.get("scheduler", f"/api/v1/obligations?agency=SNV&period={PERIOD}").json()["items"][0]
        assert obligation["status"] == "submitted_on_time"
        stack.wait_status(PERIOD, "SNV", "submitted_on_time")
    finally:
        stack.set_clock("2019-06-12T09:00:00+07:00")
