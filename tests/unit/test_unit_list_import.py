"""Reading Sở Nội vụ's unit list from XLSX (shared/unit_list.py, issue 14 point 4): every bad row reported, in
Vietnamese, with row and column; nothing to apply unless the whole file is clean. Files are built in the test."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest

from shared.plan import Contact, Unit, load_plan
from shared.settings import ROOT
from shared.unit_list import (
    HEADERS,
    NOT_REPORTING,
    UnreadableFile,
    read_unit_list,
    unit_list_rows,
    unit_list_workbook,
)
from tests.unit.fakes import xlsx

VINH_LONG = load_plan(ROOT / "plans" / "vinh-long-2026")
TRA_VINH = load_plan(ROOT / "plans" / "tra-vinh-2019")
HEADER = [label for _, label in HEADERS]


def _unit(code: str, order: int, **kw: Any) -> Unit:
    base: dict[str, Any] = {
        "code": code,
        "name": f"Đơn vị {code}",
        "order": order,
        "types": ("SO",),
        "reports": True,
        "valid_from": date(2019, 1, 1),
        "valid_until": None,
        "contacts": (
            Contact("focal", "Nguyễn Văn A", "Chuyên viên", f"a.{code.lower()}@travinh.gov.vn"),
            Contact("head", "Trần Thị B", "Giám đốc", f"b.{code.lower()}@travinh.gov.vn"),
        ),
    }
    base.update(kw)
    return Unit(**base)


IN_FORCE = (_unit("SNV", 1, types=("SO", "SNV")), _unit("STP", 2))


def _row(code: str | None, name: str = "", **kw: Any) -> list[Any]:
    slug = (code or "x").lower()
    cells: dict[str, Any] = {
        "code": code,
        "name": name or f"Đơn vị {code}",
        "types": "SO",
        "valid_from": "01/01/2019",
        "focal_name": "Nguyễn Văn A",
        "focal_email": f"a.{slug}@travinh.gov.vn",
        "head_name": "Trần Thị B",
        "head_email": f"b.{slug}@travinh.gov.vn",
    }
    cells.update(kw)
    return [cells.get(key) for key, _ in HEADERS]


def test_a_clean_file_gives_units_in_row_order_with_normalised_contacts() -> None:
    data = xlsx(
        [
            HEADER,
            _row("SNV", types="SO, SNV", valid_from=date(2019, 1, 1)),
            _row("STP", valid_until="2026-07-01", successors="SXD"),
            _row(
                "SXD",
                "Sở  Xây dựng",
                valid_from="1/7/2026",
                focal_email=" Le.C@TraVinh.gov.vn ",
                focal_phone="0912 345 678",
            ),  # fmt: skip
            _row(
                "BDV_TU",
                "Ban Dân vận Tỉnh ủy",
                types=None,
                focal_name=None,
                focal_email=None,
                head_name=None,
                head_email=None,
            ),  # fmt: skip
        ]
    )
    result = read_unit_list(data, in_force=IN_FORCE)
    assert result.ok and result.errors == ()
    assert [(u.code, u.order) for u in result.units] == [("SNV", 1), ("STP", 2), ("SXD", 3), ("BDV_TU", 4)]
    snv, stp, sxd, bdv = result.units
    assert snv.types == ("SO", "SNV") and snv.valid_from == date(2019, 1, 1) and snv.reports
    assert snv.contacts[0].title == "Chuyên viên"  # kept from the plan in force: the sheet has no title column
    assert stp.valid_until == date(2026, 7, 1) and stp.successors == ("SXD",)
    assert sxd.valid_from == date(2026, 7, 1) and sxd.name == "Sở Xây dựng"
    assert sxd.contacts[0] == Contact("focal", "Nguyễn Văn A", "Cán bộ đầu mối", "le.c@travinh.gov.vn", "+84912345678")
    assert not bdv.reports and bdv.not_reporting_reason == NOT_REPORTING and bdv.contacts == ()


def test_every_bad_row_is_reported_with_row_column_and_reason_and_nothing_is_applied() -> None:
    data = xlsx(
        [
            HEADER,
            _row("SNV", types="SO, SNV"),
            _row("STP", types="SO, HUYEN_CU"),  # row 3: unknown type
            _row(None),  # row 4: missing code
            _row("SXD", valid_from="31/02/2026"),  # row 5: bad date
            _row("STC", valid_from="01/07/2026", valid_until="01/01/2026"),  # row 6: until before from
            _row("SYT", valid_until="01/07/2026", successors="SKHCN_MOI"),  # row 7: successor nowhere
            _row("SXD", "Sở Xây dựng (trùng)"),  # row 8: duplicate code
            _row("SCT", focal_email="nguyen van a@travinh"),  # row 9: bad e-mail
            _row("SGD", head_phone="0290 3855 123"),  # row 10: a landline, not a mobile
        ]
    )
    result = read_unit_list(data, in_force=IN_FORCE)
    assert not result.ok and result.units == ()
    found = {(e.row, e.column) for e in result.errors}
    assert found == {
        (3, "Loại đơn vị"),
        (4, "Mã đơn vị"),
        (5, "Hiệu lực từ ngày"),
        (6, "Hết hiệu lực từ ngày"),
        (7, "Đơn vị kế thừa"),
        (8, "Mã đơn vị"),
        (9, "Đầu mối: thư điện tử"),
        (10, "Thủ trưởng: điện thoại"),
    }
    by_row = {e.row: e for e in result.errors}
    assert "HUYEN_CU" in by_row[3].message
    assert by_row[3].text().startswith("Dòng 3, cột C (Loại đơn vị): Loại đơn vị không có: HUYEN_CU.")
    assert by_row[4].message == "Thiếu mã đơn vị."
    assert "31/02/2026" in by_row[5].message
    assert "01/01/2026" in by_row[6].message and "01/07/2026" in by_row[6].message
    assert "SKHCN_MOI" in by_row[7].message
    assert by_row[8].message == "Mã SXD trùng với dòng 5."
    assert "không hợp lệ" in by_row[9].message
    assert "di động" in by_row[10].message


def test_a_unit_of_the_plan_in_force_missing_from_the_file_is_an_error() -> None:
    result = read_unit_list(xlsx([HEADER, _row("SNV", types="SO, SNV")]), in_force=IN_FORCE)
    assert not result.ok
    (error,) = result.errors
    assert error.row is None and error.column == "Mã đơn vị"
    assert "STP" in error.message and "Hết hiệu lực từ ngày" in error.message


def test_a_successor_may_be_a_unit_of_another_plan() -> None:
    rows = [HEADER, _row("SNV", types="SO, SNV", valid_until="01/07/2025", successors="VL_SNV"), _row("STP")]
    assert not read_unit_list(xlsx(rows), in_force=IN_FORCE).ok
    assert read_unit_list(xlsx(rows), in_force=IN_FORCE, other_codes={"VL_SNV"}).ok


def test_a_reporting_unit_needs_its_focal_officer_and_head_by_name_and_email() -> None:
    rows = [HEADER, _row("SNV", head_name=None, head_email=None), _row("STP", focal_email=None)]
    errors = read_unit_list(xlsx(rows), in_force=IN_FORCE).errors
    assert {(e.row, e.column) for e in errors} == {(2, "Thủ trưởng: họ tên"), (3, "Đầu mối: thư điện tử")}


def test_a_missing_header_is_reported_on_row_1_and_columns_are_found_by_their_header() -> None:
    moved = [HEADER[1], HEADER[0], *HEADER[2:]]
    row = _row("SNV")
    ok = read_unit_list(xlsx([moved, [row[1], row[0], *row[2:]], _row("STP")]), in_force=IN_FORCE[:1])
    assert not ok.ok  # STP is read with its columns swapped back: its name is now its code
    swapped = xlsx([moved, [row[1], row[0], *row[2:]]])
    assert read_unit_list(swapped, in_force=IN_FORCE[:1]).ok
    without = read_unit_list(xlsx([HEADER[:-1], _row("SNV")[:-1]]), in_force=IN_FORCE[:1])
    assert [(e.row, e.column) for e in without.errors] == [(1, "Thủ trưởng: điện thoại")]


def test_a_file_that_is_not_a_workbook_is_refused() -> None:
    with pytest.raises(UnreadableFile):
        read_unit_list(b"code,name\nSNV,So Noi vu\n")
    with pytest.raises(UnreadableFile):
        read_unit_list(b"PK\x03\x04 not really a zip")
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnreadableFile):
        read_unit_list(other.getvalue())


def test_an_empty_sheet_is_an_error() -> None:
    assert not read_unit_list(xlsx([HEADER]), in_force=()).ok


@pytest.mark.parametrize("plan", [VINH_LONG, TRA_VINH], ids=lambda p: p.id)
def test_the_template_of_a_real_plan_reads_back_as_the_same_units(plan: Any) -> None:
    other = VINH_LONG if plan is TRA_VINH else TRA_VINH
    result = read_unit_list(
        unit_list_workbook(plan.units), in_force=plan.units, other_codes={u.code for u in other.units}
    )
    assert result.ok, [e.text() for e in result.errors][:5]
    before = {u.code: u for u in plan.units}
    assert len(result.units) == len(plan.units)
    for unit in result.units:
        old = before[unit.code]
        assert (unit.name, unit.types, unit.valid_from, unit.valid_until, unit.successors, unit.reports) == (
            old.name,
            old.types,
            old.valid_from,
            old.valid_until,
            old.successors,
            old.reports,
        )
        assert unit.contacts == old.contacts and unit.not_reporting_reason == old.not_reporting_reason
    assert unit_list_rows(plan.units)[0] == HEADER
