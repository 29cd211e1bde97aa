"""The consolidated report (BÁO CÁO) of a period as DOCX, with Annex I (indicators per unit) and Annex II."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm

from services.aggregator.documents import docx_kit as kit
from services.aggregator.documents import nd30
from services.aggregator.documents.model import (
    ConsolidatedData,
    IndicatorColumn,
    Number,
    Signer,
    UnitText,
    column_header,
)
from shared.formatting import PERCENT_UNIT, vn_count, vn_date, vn_rate
from shared.plan import nfc

SECTION_TITLES = (
    "I. KẾT QUẢ THỰC HIỆN",
    "II. ĐÁNH GIÁ CHUNG",
    "III. NHIỆM VỤ TRỌNG TÂM KỲ TỚI",
    "IV. KIẾN NGHỊ, ĐỀ XUẤT",
)
REPORT_RECIPIENTS = (
    "Như trên;",
    "Ban Dân vận Tỉnh ủy;",
    "Giám đốc, các Phó Giám đốc Sở;",
    "Lưu: VT, CCVC.",
)


def vn_value(value: Number | None, unit: str = "") -> str:
    """An indicator value for a table whose unit column names the unit: 1.234, 12,5, a rate's 95,5; blank for
    None (a table leaves "not reported" blank: shared.formatting)."""
    if value is None:
        return ""
    return vn_rate(value, sign=False) if unit == PERCENT_UNIT else vn_count(value)


def _signed(value: Number | None, unit: str) -> str:
    text = vn_value(value, unit)
    return f"+{text}" if value is not None and value > 0 else text


def _gathered(doc: DocxDocument, items: Sequence[UnitText], empty: str) -> None:
    """Passages gathered from units: "- Unit: text", further lines of a passage as paragraphs of their own."""
    if not items:
        kit.paragraph(doc, empty, italic=True)
        return
    for item in items:
        lines = [line.strip() for line in nfc(item.text).splitlines() if line.strip()] or [""]
        para = kit.paragraph(doc, f"- {item.unit}: ", italic=True)
        kit.add_run(para, lines[0])
        for line in lines[1:]:
            kit.paragraph(doc, line)


def consolidated_report_docx(
    data: ConsolidatedData,
    *,
    number: str | None = None,
    issued_on: date | None = None,
    signer: Signer | None = None,
    recipients: Sequence[str] = REPORT_RECIPIENTS,
    annex_columns_per_table: int = 10,
) -> bytes:
    """The consolidated report (BÁO CÁO) of a period as DOCX, NĐ 30/2020 layout, with Annex I and Annex II.

    Number, date and signer's name stay blank for the văn thư unless given. Annex I is printed landscape, one
    table per content area, at most `annex_columns_per_table` indicator columns each (STT and unit repeated).
    """
    issuer = data.issuer
    signer = signer or Signer()
    doc = kit.new_document()
    kit.core_properties(doc, f"Báo cáo {data.subject}", issuer)
    kit.page_numbers(doc)
    number_line = nd30.document_number(number, issuer.report_symbol)
    nd30.header_block(doc, issuer, number_line, nd30.vn_place_date(issuer.place, issued_on, data.year))

    kit.paragraph(
        doc, "BÁO CÁO", style=kit.TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=14, space_before=18
    )
    kit.paragraph(doc, data.subject, style=kit.TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=14)
    kit.rule(doc, length_mm=45, cell_mm=kit.TEXT_WIDTH_MM)
    kit.paragraph(
        doc,
        f"Kính gửi: {issuer.addressee}.",
        style=kit.TABLE_STYLE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        size=14,
        space_before=12,
    )

    intro = (
        f"Thực hiện {data.plan_title} (ban hành ngày {vn_date(data.plan_issued_on)}) của {data.plan_issuer}, "
        f"{issuer.name} báo cáo kết quả thực hiện công tác dân vận chính quyền {data.period_name} "
        f"trên địa bàn {issuer.territory} như sau:"
    )
    kit.paragraph(doc, intro, space_before=12)

    _report_results(doc, data)
    _report_assessment(doc, data)

    doc.add_heading(nfc(SECTION_TITLES[2]), level=1)
    _gathered(doc, data.next_tasks, "Các cơ quan, đơn vị, địa phương chưa nêu nhiệm vụ kỳ tới.")
    doc.add_heading(nfc(SECTION_TITLES[3]), level=1)
    _gathered(doc, data.recommendations, "Các cơ quan, đơn vị, địa phương không có kiến nghị, đề xuất.")

    kit.paragraph(
        doc,
        f"Trên đây là báo cáo kết quả thực hiện công tác dân vận chính quyền {data.period_name} trên địa bàn "
        f"{issuer.territory}, {issuer.name} kính báo cáo {issuer.addressee} xem xét, chỉ đạo./.",
    )
    nd30.signature_block(doc, signer, recipients)

    annex_ref = _annex_reference(data, number, issued_on)
    kit.add_section(doc, landscape=True)
    _annex_one(doc, data, annex_ref, annex_columns_per_table)
    kit.add_section(doc, landscape=False)
    _annex_two(doc, data, annex_ref)
    return kit.save(doc)


def _annex_reference(data: ConsolidatedData, number: str | None, issued_on: date | None) -> str:
    """The annexes' reference line "(Kèm theo Báo cáo số ... ngày ... của Sở Nội vụ)", blanks as in the header."""
    number_part = nd30.document_number(number, data.issuer.report_symbol).removeprefix("Số:").strip()
    number_part = number_part if number else f"     /{data.issuer.report_symbol}"
    day_part = nd30.vn_place_date("", issued_on, data.year).removeprefix(", ")
    return f"(Kèm theo Báo cáo số {number_part} {day_part} của {data.issuer.name})"


def _report_results(doc: DocxDocument, data: ConsolidatedData) -> None:
    """Section I: compliance, then totals by content area, then the units that stand out."""
    doc.add_heading(nfc(SECTION_TITLES[0]), level=1)
    c = data.compliance
    as_of = f"Tính đến ngày {vn_date(data.as_of)}, " if data.as_of else ""
    rate = f" (đạt {vn_rate(c.reporting_rate)})" if c.reporting_rate is not None else ""
    on_time_rate = f" ({vn_rate(c.reporting_rate_on_time)})" if c.reporting_rate_on_time is not None else ""
    text = (
        f"{as_of}{data.issuer.name} nhận được {vn_count(c.actual)}/{vn_count(c.expected)} báo cáo của các cơ quan, "
        f"đơn vị, địa phương{rate}, trong đó {vn_count(c.on_time)} báo cáo đúng hạn{on_time_rate}, "
        f"{vn_count(c.late)} báo cáo trễ hạn; {vn_count(c.missing)} cơ quan, đơn vị, địa phương chưa gửi báo cáo "
        "(chi tiết tại Phụ lục II)."
    )
    deadline = f" Hạn gửi báo cáo: ngày {vn_date(data.deadline_day)}." if data.deadline_day else ""
    kit.paragraph(doc, text + deadline)
    if data.data_window:
        start, end = data.data_window
        note = f" {data.estimate_note}" if data.estimate_note else ""
        kit.paragraph(doc, f"Số liệu tổng hợp tính từ ngày {vn_date(start)} đến ngày {vn_date(end)}.{note}")

    for area in data.areas:
        doc.add_heading(nfc(f"{area.number}. {area.name}"), level=2)
        if area.summary:
            for line in nfc(area.summary).splitlines():
                if line.strip():
                    kit.paragraph(doc, line.strip())
        if area.rows:
            rows = [
                [
                    str(i),
                    r.label,
                    r.unit,
                    vn_value(r.total, r.unit),
                    vn_value(r.previous, r.unit),
                    _signed(r.change, r.unit),
                ]
                for i, r in enumerate(area.rows, start=1)
            ]
            header = ["STT", "Chỉ tiêu", "Đơn vị tính", "Kỳ này", "Cùng kỳ năm trước", "Tăng (+), giảm (-)"]
            kit.data_table(doc, header, rows, (13, 70, 22, 20, 20, 20), numeric_from=3)

    heading_no = max((a.number for a in data.areas), default=0) + 1
    doc.add_heading(nfc(f"{heading_no}. Các cơ quan, đơn vị, địa phương tiêu biểu"), level=2)
    if not data.standouts:
        kit.paragraph(doc, "Chưa có cơ quan, đơn vị, địa phương được lựa chọn.", italic=True)
    for standout in data.standouts:
        para = kit.paragraph(doc, f"- {standout.name}: ", bold=True)
        kit.add_run(para, standout.reason)


def _report_assessment(doc: DocxDocument, data: ConsolidatedData) -> None:
    """Section II: Sở Nội vụ's own assessment if any, then strengths, difficulties and causes from the units."""
    doc.add_heading(nfc(SECTION_TITLES[1]), level=1)
    if data.assessment:
        for line in nfc(data.assessment).splitlines():
            if line.strip():
                kit.paragraph(doc, line.strip())
    parts = (
        ("1. Ưu điểm", data.strengths, "Các cơ quan, đơn vị, địa phương chưa nêu ưu điểm."),
        ("2. Hạn chế, khó khăn", data.difficulties, "Các cơ quan, đơn vị, địa phương không nêu hạn chế, khó khăn."),
        ("3. Nguyên nhân", data.causes, "Các cơ quan, đơn vị, địa phương chưa nêu nguyên nhân."),
    )
    for title, items, empty in parts:
        doc.add_heading(nfc(title), level=2)
        _gathered(doc, items, empty)


def _annex_title(doc: DocxDocument, number: str, title: str, reference: str) -> None:
    kit.paragraph(doc, f"Phụ lục {number}", style=kit.TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    kit.paragraph(doc, title.upper(), style=kit.TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    kit.paragraph(doc, reference, style=kit.TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, italic=True)


def annex_one_blocks(
    columns: Sequence[IndicatorColumn], per_table: int
) -> list[tuple[int | None, list[IndicatorColumn]]]:
    """Annex I's tables: consecutive columns of one content area, at most `per_table` columns each, an area's
    columns shared evenly between its tables (21 columns at 10 a table: 7 + 7 + 7, not 10 + 10 + 1)."""
    areas: list[tuple[int | None, list[IndicatorColumn]]] = []
    for column in columns:
        if areas and areas[-1][0] == column.area:
            areas[-1][1].append(column)
        else:
            areas.append((column.area, [column]))
    per_table = max(per_table, 1)
    blocks: list[tuple[int | None, list[IndicatorColumn]]] = []
    for area, items in areas:
        count = -(-len(items) // per_table)  # tables needed
        size, extra = divmod(len(items), count)
        start = 0
        for i in range(count):
            end = start + size + (1 if i < extra else 0)
            blocks.append((area, items[start:end]))
            start = end
    return blocks


def _annex_one(doc: DocxDocument, data: ConsolidatedData, reference: str, per_table: int) -> None:
    """Annex I: indicators per unit, one row per expected unit in the given order, blank cells for None."""
    _annex_title(
        doc,
        "I",
        "Số liệu kết quả thực hiện công tác dân vận chính quyền của các cơ quan, đơn vị, địa phương",
        reference,
    )
    if not data.annex_columns or not data.annex_rows:
        kit.paragraph(doc, "Không có số liệu.", italic=True, space_before=12)
        return
    area_names = {a.number: a.name for a in data.areas}
    for index, (area, columns) in enumerate(annex_one_blocks(data.annex_columns, per_table), start=1):
        caption = f"Bảng {index}"
        if area is not None:
            caption += f". Lĩnh vực {area}" + (f": {area_names[area]}" if area in area_names else "")
        title = kit.paragraph(doc, caption, style=kit.TABLE_STYLE, bold=True, size=12, space_before=12)
        title.paragraph_format.keep_with_next = True  # never a title alone at the foot of a page
        fixed = (13.0, 52.0)
        each = (kit.LANDSCAPE_TEXT_WIDTH_MM - sum(fixed)) / max(len(columns), per_table, 1)
        header = ["STT", "Cơ quan, đơn vị, địa phương", *(column_header(c) for c in columns)]
        rows = [
            [str(i), unit.name, *(vn_value(unit.value(c.key), c.unit) for c in columns)]
            for i, unit in enumerate(data.annex_rows, start=1)
        ]
        kit.data_table(doc, header, rows, (*fixed, *([each] * len(columns))), size=10)


def _annex_two(doc: DocxDocument, data: ConsolidatedData, reference: str) -> None:
    """Annex II: units that reported late, units that have not reported."""
    _annex_title(doc, "II", "Danh sách cơ quan, đơn vị, địa phương gửi báo cáo trễ hạn, chưa gửi báo cáo", reference)
    if data.deadline_day:
        kit.paragraph(
            doc,
            f"Hạn gửi báo cáo: ngày {vn_date(data.deadline_day)}.",
            style=kit.TABLE_STYLE,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
    kit.paragraph(doc, "1. Cơ quan, đơn vị, địa phương gửi báo cáo trễ hạn", bold=True, indent=Cm(0), space_before=12)
    if data.late:
        rows = [
            [str(i), u.name, vn_date(u.received_on), vn_count(u.days_late)] for i, u in enumerate(data.late, start=1)
        ]
        kit.data_table(
            doc, ["STT", "Cơ quan, đơn vị, địa phương", "Ngày nhận báo cáo", "Số ngày trễ hạn"], rows, (13, 92, 30, 30)
        )
    else:
        kit.paragraph(doc, "Không có.", italic=True)
    kit.paragraph(doc, "2. Cơ quan, đơn vị, địa phương chưa gửi báo cáo", bold=True, indent=Cm(0), space_before=12)
    if data.missing:
        rows = [[str(i), u.name, vn_count(u.days_overdue)] for i, u in enumerate(data.missing, start=1)]
        kit.data_table(doc, ["STT", "Cơ quan, đơn vị, địa phương", "Số ngày quá hạn"], rows, (13, 122, 30))
    else:
        kit.paragraph(doc, "Không có.", italic=True)
