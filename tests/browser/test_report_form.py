"""The unit's report form in headless Chromium: two templates filled, drafted and submitted; each cross-field
rule's Vietnamese message shown on its field; a warning kept with the report and shown on the receipt."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.support import ERROR_RULES, TestStack, make_officer

PASSWORD = "Dân vận 2019!"
PERIOD = "2019-H1"
OFFICERS = {
    "H_CANGLONG": ("daumoi@canglong.travinh.example", "Nguyễn Thị Thu Hằng"),
    "DAI_PTTH": ("daumoi@daipt-th.travinh.example", "Kiên Thị Sóc Phia"),
    "TX_DUYENHAI": ("daumoi@txduyenhai.travinh.example", "Trần Văn Lực"),
    "SGTVT": ("daumoi@sgtvt.travinh.example", "Lê Thị Mỹ Xuyên"),
}
# Every indicator consistent with every rule of DOMAIN.md §4; indicators not listed get 1.
CONSISTENT = {
    "don_tiep_nhan_tong": 10, "vu_viec_thuoc_tham_quyen": 10, "tcd_luot": 3, "tcd_nguoi": 5,
    "tthc_ton_ky_truoc": 2, "tthc_tiep_nhan_moi": 20, "tthc_tiep_nhan_truc_tuyen": 5,
    "tthc_da_giai_quyet_truoc_han": 10, "tthc_da_giai_quyet_dung_han": 6, "tthc_da_giai_quyet_tre_han": 2,
    "tthc_dang_giai_quyet_trong_han": 2, "tthc_dang_giai_quyet_qua_han": 1, "tthc_tra_lai_rut": 1,
    "tong_so_cbccvc": 100, "dvk_dang_ky_tap_the": 2, "dvk_dang_ky_ca_nhan": 1, "dvk_cong_nhan": 2,
}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def officers(stack: TestStack) -> None:
    """The units' officers, and a business day before the H1 deadline."""
    for agency, (email, name) in OFFICERS.items():
        make_officer(stack, email, agency, name, PASSWORD)
    stack.set_clock("2019-06-05T09:00:00+07:00")


def _open_form(page: Page, stack: TestStack, agency: str) -> None:
    email, _ = OFFICERS[agency]
    login(page, stack, email, PASSWORD)
    page.locator(f'#obligations tr[data-period="{PERIOD}"] a.open-form').click()
    expect(page.locator("#form-title")).to_have_text("Báo cáo 6 tháng đầu năm 2019")


def _fill_all(page: Page) -> dict[str, int]:
    filled = {}
    for field in page.locator('#report-form input[type="number"]').all():
        key = (field.get_attribute("name") or "").removeprefix("indicators.")
        filled[key] = CONSISTENT.get(key, 1)
        field.fill(str(filled[key]))
    for area in range(1, 6):
        page.fill(f"#f-narratives-{area}", f"Kết quả nội dung {area}: đã triển khai đầy đủ.")
    for key in ("strengths", "limitations", "causes"):
        page.fill(f"#f-assessment-{key}", "Đã có đánh giá.")
    page.fill("#f-next_tasks", "Tiếp tục thực hiện Kế hoạch.")
    page.fill("#f-recommendations", "Không có.")
    return filled


@pytest.mark.parametrize(
    ("agency", "has", "lacks"),
    [
        ("H_CANGLONG", "tcd_doan_dong_nguoi", "chuyen_muc_pt_th"),
        ("DAI_PTTH", "chuyen_muc_pt_th", "tcd_doan_dong_nguoi"),
    ],
)
def test_an_officer_fills_every_indicator_saves_a_draft_submits_and_sees_the_receipt(
    page: Page, stack: TestStack, agency: str, has: str, lacks: str
) -> None:
    _open_form(page, stack, agency)
    expect(page.locator(f"#f-{has}")).to_be_visible()
    expect(page.locator(f"#f-{lacks}")).to_have_count(0)
    expect(page.locator("#data-window")).to_contain_text("15/12/2018")
    filled = _fill_all(page)
    template = stack.get("intake", f"/api/v1/templates/{agency}/{PERIOD}").json()
    assert set(filled) == {i["key"] for a in template["areas"] for i in a["indicators"]}

    page.click("#save-draft")
    expect(page.locator("#notice")).to_contain_text("Đã lưu bản nháp")
    expect(page.locator(f"#f-{has}")).to_have_value(str(filled[has]))
    assert stack.reports_of(agency) == []

    page.click("#submit-report")
    expect(page.locator("#receipt h1")).to_have_text("Đã nhận báo cáo")
    expect(page.locator('[data-receipt="on_time"]')).to_have_text("Đúng hạn")
    expect(page.locator('[data-receipt="revision"]')).to_have_text("1")
    expect(page.locator('[data-receipt="received_at"]')).to_have_text("09:00 05/06/2019")
    expect(page.locator('[data-receipt="completeness"]')).to_have_text("100,0%")

    stored = stack.reports_of(agency)[0]["content"]
    assert stored["indicators"] == filled
    assert all(type(v) is int for v in stored["indicators"].values())
    assert stored["narratives"]["area_1"] == "Kết quả nội dung 1: đã triển khai đầy đủ."


@pytest.mark.parametrize(("values", "field", "message"), ERROR_RULES)
def test_each_error_rule_shows_its_vietnamese_message_on_its_field(
    page: Page, stack: TestStack, values: dict[str, int], field: str, message: str
) -> None:
    _open_form(page, stack, "TX_DUYENHAI")
    for key, value in values.items():
        page.fill(f"#f-{key}", str(value))
    page.click("#submit-report")
    expect(page.locator("#form-errors")).to_be_visible()
    errors = page.locator(".field-error")
    expect(errors).to_have_count(1)
    expect(page.locator(f'.field-error[data-field="indicators.{field}"]')).to_have_text(message)
    for key, value in values.items():  # what the officer typed is kept
        expect(page.locator(f"#f-{key}")).to_have_value(str(value))
    assert stack.reports_of("TX_DUYENHAI") == []


def test_the_warning_rules_store_the_report_and_show_their_warnings(page: Page, stack: TestStack) -> None:
    _open_form(page, stack, "SGTVT")
    values = {
        "dvk_dang_ky_tap_the": 1, "dvk_dang_ky_ca_nhan": 0, "dvk_cong_nhan": 2,
        "tthc_ton_ky_truoc": 5, "tthc_tiep_nhan_moi": 40, "tthc_da_giai_quyet_truoc_han": 20,
        "tthc_da_giai_quyet_dung_han": 10, "tthc_da_giai_quyet_tre_han": 2, "tthc_dang_giai_quyet_trong_han": 3,
        "tthc_dang_giai_quyet_qua_han": 1, "tthc_tra_lai_rut": 0,
    }  # fmt: skip
    for key, value in values.items():
        page.fill(f"#f-{key}", str(value))
    page.click("#submit-report")
    expect(page.locator("#receipt h1")).to_have_text("Đã nhận báo cáo")
    warning = page.locator('#receipt-warnings [data-field="indicators.dvk_cong_nhan"]')
    expect(warning).to_contain_text("Số mô hình được công nhận (2) lớn hơn số đăng ký trong kỳ (1)")
    balance = page.locator('#receipt-warnings [data-field="indicators.tthc_tiep_nhan_moi"]')
    expect(balance).to_contain_text("Hồ sơ tồn kỳ trước + tiếp nhận mới (45) không bằng")
    expect(balance).to_contain_text("(36)")
    stored = stack.reports_of("SGTVT")
    assert len(stored) == 1
    assert set(stored[0]["warnings"]) == {"indicators.dvk_cong_nhan", "indicators.tthc_tiep_nhan_moi"}
