"""The period's tables as XLSX (typed cells, Vietnamese formats) and Annex I as CSV (machine numbers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.aggregator.documents.model import ConsolidatedData, Number, column_header
from shared.formatting import PERCENT_UNIT, vn_number
from shared.plan import nfc

# XLSX number formats. Excel takes the grouping and decimal separators of '#,##0' and '0.0%' from the reader's
# locale, so a Vietnamese Excel shows 1.234 and 95,5% while the cell keeps a real number; a format with literal
# '.' or ',' would show wrong digits everywhere else. Percentages are stored as fractions (95.5 -> 0.955) so that
# Excel's own percentage arithmetic works; that is the one scale change from the inputs.
XLSX_INT_FORMAT = "#,##0"
XLSX_FLOAT_FORMAT = "#,##0.0"
XLSX_PERCENT_FORMAT = "0.0%"
XLSX_DATE_FORMAT = "dd/mm/yyyy"
SHEET_NAMES = {
    "summary": "Tổng hợp",
    "totals": "Số liệu theo lĩnh vực",
    "annex_1": "Phụ lục I",
    "late": "Phụ lục II - Trễ hạn",
    "missing": "Phụ lục II - Chưa gửi",
}


def _xlsx_number(cell: object, value: Number | None, unit: str = "") -> None:
    """A typed numeric cell (percentages as fractions), or an empty cell for None."""
    if value is None:
        return
    if unit == PERCENT_UNIT:
        cell.value = value / 100  # type: ignore[attr-defined]
        cell.number_format = XLSX_PERCENT_FORMAT  # type: ignore[attr-defined]
    elif isinstance(value, int):
        cell.value = value  # type: ignore[attr-defined]
        cell.number_format = XLSX_INT_FORMAT  # type: ignore[attr-defined]
    else:
        cell.value = float(value)  # type: ignore[attr-defined]
        cell.number_format = XLSX_INT_FORMAT if float(value).is_integer() else XLSX_FLOAT_FORMAT  # type: ignore[attr-defined]


def _sheet(wb: Workbook, title: str, header: Sequence[str], freeze: str = "A2") -> Worksheet:
    """A sheet with a bold, wrapped, frozen header row."""
    ws = wb.create_sheet(nfc(title)[:31])
    ws.append([nfc(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = freeze
    return ws


def _fit_columns(ws: Worksheet, *, maximum: int = 60, header_maximum: int = 18) -> None:
    """Column widths from the longest value (header labels wrap, so they count up to `header_maximum`)."""
    for index, column in enumerate(ws.iter_cols(), start=1):
        header = len(str(column[0].value or ""))
        width = min(header, header_maximum)
        for cell in column[1:]:
            if cell.value is None:
                continue
            if isinstance(cell.value, int | float):
                text = vn_number(cell.value, 1)
            elif isinstance(cell.value, date):
                text = "dd/mm/yyyy"
            else:
                text = str(cell.value)
            width = max(width, len(text) + 1)
        ws.column_dimensions[get_column_letter(index)].width = max(6, min(width + 2, maximum))


def tables_xlsx(data: ConsolidatedData) -> bytes:
    """The period's tables as XLSX: compliance summary, totals by area, Annex I, Annex II late and missing.

    Numbers are int/float cells (blank for None) with '#,##0', '#,##0.0' and '0.0%' formats (percentages stored as
    fractions), dates are date cells shown dd/mm/yyyy; each sheet has a bold frozen header row.
    """
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = nfc(f"Số liệu {data.subject}")
    wb.properties.creator = nfc(data.issuer.name)
    wb.properties.language = "vi-VN"

    c = data.compliance
    ws = _sheet(wb, SHEET_NAMES["summary"], ["Chỉ số", "Giá trị"])
    summary: list[tuple[str, Number | None, str]] = [
        ("Số báo cáo phải gửi", c.expected, ""),
        ("Số báo cáo đã nhận", c.actual, ""),
        ("Số báo cáo đúng hạn", c.on_time, ""),
        ("Số báo cáo trễ hạn", c.late, ""),
        ("Số đơn vị chưa gửi báo cáo", c.missing, ""),
        ("Tỷ lệ gửi báo cáo", c.reporting_rate, PERCENT_UNIT),
        ("Tỷ lệ gửi báo cáo đúng hạn", c.reporting_rate_on_time, PERCENT_UNIT),
    ]
    for label, value, unit in summary:
        ws.append([nfc(label)])
        _xlsx_number(ws.cell(ws.max_row, 2), value, unit)
    _fit_columns(ws, header_maximum=40)

    ws = _sheet(
        wb,
        SHEET_NAMES["totals"],
        ["Lĩnh vực", "Tên lĩnh vực", "Chỉ tiêu", "Đơn vị tính", "Kỳ này", "Cùng kỳ năm trước", "Tăng, giảm"],
    )
    for area in data.areas:
        for row in area.rows:
            ws.append([area.number, nfc(area.name), nfc(row.label), nfc(row.unit)])
            r = ws.max_row
            ws.cell(r, 1).number_format = XLSX_INT_FORMAT
            _xlsx_number(ws.cell(r, 5), row.total, row.unit)
            _xlsx_number(ws.cell(r, 6), row.previous, row.unit)
            _xlsx_number(ws.cell(r, 7), row.change, row.unit)
    _fit_columns(ws)

    with_codes = any(u.code for u in data.annex_rows)
    fixed = ["STT", *(["Mã đơn vị"] if with_codes else []), "Cơ quan, đơn vị, địa phương"]
    header = [*fixed, *(column_header(col) for col in data.annex_columns)]
    ws = _sheet(wb, SHEET_NAMES["annex_1"], header, freeze=f"{get_column_letter(len(fixed) + 1)}2")
    for i, unit in enumerate(data.annex_rows, start=1):
        ws.append([i, *([unit.code or None] if with_codes else []), nfc(unit.name)])
        for j, col in enumerate(data.annex_columns, start=len(fixed) + 1):
            _xlsx_number(ws.cell(ws.max_row, j), unit.value(col.key), col.unit)
    _fit_columns(ws)

    ws = _sheet(wb, SHEET_NAMES["late"], ["STT", "Cơ quan, đơn vị, địa phương", "Ngày nhận báo cáo", "Số ngày trễ hạn"])
    for i, late in enumerate(data.late, start=1):
        ws.append([i, nfc(late.name), late.received_on, late.days_late])
        ws.cell(ws.max_row, 3).number_format = XLSX_DATE_FORMAT
        ws.cell(ws.max_row, 4).number_format = XLSX_INT_FORMAT
    _fit_columns(ws)

    ws = _sheet(wb, SHEET_NAMES["missing"], ["STT", "Cơ quan, đơn vị, địa phương", "Số ngày quá hạn"])
    for i, missing in enumerate(data.missing, start=1):
        ws.append([i, nfc(missing.name), missing.days_overdue])
        ws.cell(ws.max_row, 3).number_format = XLSX_INT_FORMAT
    _fit_columns(ws)

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _csv_number(value: Number | None) -> str:
    """A machine number: 1234, 95.5 ('.' decimal, no grouping); whole floats without '.0'; blank for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def tables_csv(data: ConsolidatedData, *, header: Literal["label", "key"] = "label") -> bytes:
    """Annex I as CSV: UTF-8 with a BOM (Excel then reads Vietnamese right), one row per unit, CRLF lines.

    Columns: STT, Mã đơn vị (only when some unit has a code), unit name, then one per indicator headed by its
    Vietnamese label and unit ("label") or its key ("key"). Figures are plain machine numbers on the inputs'
    scale (1234, 95.5: no thousands separator, '.' for decimals); a blank field is "not reported", never 0.
    """
    with_codes = any(u.code for u in data.annex_rows)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = [column_header(c) if header == "label" else c.key for c in data.annex_columns]
    writer.writerow(
        [nfc(h) for h in ["STT", *(["Mã đơn vị"] if with_codes else []), "Cơ quan, đơn vị, địa phương"]]
        + [nfc(c) for c in columns]
    )
    for i, unit in enumerate(data.annex_rows, start=1):
        writer.writerow(
            [str(i), *([unit.code or ""] if with_codes else []), nfc(unit.name)]
            + [_csv_number(unit.value(c.key)) for c in data.annex_columns]
        )
    return buffer.getvalue().encode("utf-8-sig")
