"""The administrative form of Nghị định 30/2020/NĐ-CP: number line, place and date, header and signature blocks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from docx.document import Document as DocxDocument
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH

from services.aggregator.documents import docx_kit as kit
from services.aggregator.documents.model import Issuer, Signer
from shared.plan import nfc


def vn_place_date(place: str, day: date | None, year: int) -> str:
    """The place and date line, e.g. "Trà Vinh, ngày 05 tháng 02 năm 2019"; blank day and month when no day.

    NĐ 30/2020: a leading zero for days below 10 and for months 1 and 2.
    """
    if day is None:
        return nfc(f"{place}, ngày    tháng    năm {year}")
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return nfc(f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}")


def document_number(number: str | None, symbol: str) -> str:
    """The number line: "Số: 125/BC-SNV", or "Số:      /BC-SNV" left for the văn thư.

    The number is used as given (no padding); one holding '/' is taken as the whole "number/symbol".
    """
    if not number:
        return f"Số:      /{symbol}"
    number = nfc(number.strip())
    return f"Số: {number}" if "/" in number else f"Số: {number}/{symbol}"


def header_block(
    doc: DocxDocument, issuer: Issuer, number_line: str, place_date: str, subject_line: str | None = None
) -> None:
    """The NĐ 30 header: bodies and number on the left, national title, motto and place-date on the right."""
    left_mm, right_mm = 62.0, kit.TEXT_WIDTH_MM - 62.0
    table = kit.new_table(doc, 2, (left_mm, right_mm), borders=False)
    (body_cell, nation_cell), (number_cell, date_cell) = (r.cells for r in table.rows)

    kit.write_cell(body_cell, issuer.parent_body.upper(), align=WD_ALIGN_PARAGRAPH.CENTER, size=13)
    kit.centered(body_cell, issuer.issuing_body.upper(), bold=True, size=13)
    kit.rule(body_cell, length_mm=14, cell_mm=left_mm)

    kit.write_cell(
        nation_cell, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=12
    )
    kit.centered(nation_cell, "Độc lập - Tự do - Hạnh phúc", bold=True, size=13)
    kit.rule(nation_cell, length_mm=62, cell_mm=right_mm)

    kit.write_cell(number_cell, number_line, align=WD_ALIGN_PARAGRAPH.CENTER, size=13)
    if subject_line:
        kit.centered(number_cell, subject_line, size=12)
    kit.write_cell(date_cell, place_date, align=WD_ALIGN_PARAGRAPH.CENTER, size=14)
    date_cell.paragraphs[0].runs[0].italic = True
    for cell in (number_cell, date_cell):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP


def signature_block(doc: DocxDocument, signer: Signer, recipients: Sequence[str]) -> None:
    """The recipients ("Nơi nhận:" 12 bold italic, items 11) bottom left; the signer's block on the right."""
    kit.paragraph(doc, "", space_before=6)
    table = kit.new_table(doc, 1, (80.0, kit.TEXT_WIDTH_MM - 80.0), borders=False)
    left, right = table.rows[0].cells
    left.vertical_alignment = right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
    para = left.paragraphs[0]
    para.style = kit.TABLE_STYLE
    kit.add_run(para, "Nơi nhận:", bold=True, italic=True, size=12)
    for item in recipients:
        kit.paragraph(left, f"- {item}", style=kit.TABLE_STYLE, size=11)

    first = True
    for line in (signer.authority, signer.title):
        if not line:
            continue
        if first:
            kit.write_cell(right, line.upper(), align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=14)
            first = False
        else:
            kit.centered(right, line.upper(), bold=True)
    for _ in range(4):
        kit.centered(right, "")
    kit.centered(right, signer.name, bold=True)
