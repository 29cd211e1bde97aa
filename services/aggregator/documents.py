"""Documents of F12 as bytes: the consolidated report and the urging letter (DOCX), the tables (XLSX, CSV).

Pure builders: plain dataclasses in, bytes out, nothing read or written outside in-memory buffers. The DOCX
layout follows Nghị định 30/2020/NĐ-CP (DOMAIN.md §5): A4, margins 20/20/30/15 mm, Times New Roman, the
two-column header block, number/date/signer left blank for the văn thư unless given, "Nơi nhận" bottom left.
Figures are shown the Vietnamese way (1.234; 95,5%; dd/mm/yyyy) through `shared.formatting`; every text is
written in Unicode NFC. Percentages in the inputs are on the 0-100 scale (the aggregator's REPORTING_RATE and
the catalogue's "%" indicators); `None` always means "not reported" and is shown as a blank cell, never 0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Length, Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from shared.formatting import content_disposition, vn_date, vn_number
from shared.plan import Indicator, nfc

Number = int | float

FONT = "Times New Roman"
BODY_STYLE = "DVCQ Body"
TABLE_STYLE = "DVCQ Table Text"
PAGE_MM = (210, 297)
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
FIRST_LINE_INDENT = Cm(1.27)
TEXT_WIDTH_MM = PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]  # 165 mm portrait
LANDSCAPE_TEXT_WIDTH_MM = PAGE_MM[1] - MARGINS_MM["left"] - MARGINS_MM["right"]  # 252 mm landscape
PERCENT_UNIT = "%"

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
LETTER_RECIPIENTS = (
    "Như trên;",
    "UBND tỉnh (b/c);",
    "Ban Dân vận Tỉnh ủy;",
    "Giám đốc Sở (b/c);",
    "Lưu: VT, CCVC.",
)
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
DOWNLOAD_NAMES = {
    "report": ("Báo cáo dân vận chính quyền {period}", "docx"),
    "urging_letter": ("Công văn đôn đốc báo cáo dân vận chính quyền {period}", "docx"),
    "xlsx": ("Số liệu dân vận chính quyền {period}", "xlsx"),
    "csv": ("Phụ lục I số liệu dân vận chính quyền {period}", "csv"),
}

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


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Issuer:
    """Who issues the documents: the header block's bodies, document symbols, the place and the addressee."""

    parent_body: str = "UBND TỈNH TRÀ VINH"
    issuing_body: str = "SỞ NỘI VỤ"
    name: str = "Sở Nội vụ"  # the issuing body in running text
    place: str = "Trà Vinh"
    addressee: str = "Ủy ban nhân dân tỉnh Trà Vinh"
    territory: str = "tỉnh Trà Vinh"  # "trên địa bàn ..."
    report_symbol: str = "BC-SNV"
    letter_symbol: str = "SNV-CCVC"


@dataclass(frozen=True)
class Signer:
    """The signature block: authority line ("KT. GIÁM ĐỐC", or None when the head signs), title, name."""

    name: str = ""
    title: str = "PHÓ GIÁM ĐỐC"
    authority: str | None = "KT. GIÁM ĐỐC"


@dataclass(frozen=True)
class ComplianceFigures:
    """DHIS2-style figures of a period: expected, received and on-time reports; rates derived (0-100, 1 decimal)."""

    expected: int
    actual: int
    on_time: int

    @property
    def late(self) -> int:
        """Reports received after the deadline."""
        return self.actual - self.on_time

    @property
    def missing(self) -> int:
        """Expected reports not received."""
        return self.expected - self.actual

    @property
    def reporting_rate(self) -> float | None:
        """REPORTING_RATE: received ÷ expected × 100, as the aggregator computes it; None with nothing expected."""
        return round(100.0 * self.actual / self.expected, 1) if self.expected else None

    @property
    def reporting_rate_on_time(self) -> float | None:
        """REPORTING_RATE_ON_TIME: on time ÷ expected × 100."""
        return round(100.0 * self.on_time / self.expected, 1) if self.expected else None


@dataclass(frozen=True)
class TotalRow:
    """One indicator's province total for the period and for the same period of the previous year (None: none)."""

    label: str
    unit: str
    total: Number | None
    previous: Number | None = None

    @property
    def change(self) -> Number | None:
        """Total minus the previous year's, when both exist."""
        if self.total is None or self.previous is None:
            return None
        return self.total - self.previous


@dataclass(frozen=True)
class AreaTotals:
    """A content area of the plan (1 to 5): its name, an optional summary written by Sở Nội vụ, its totals."""

    number: int
    name: str
    rows: Sequence[TotalRow] = ()
    summary: str | None = None


@dataclass(frozen=True)
class Standout:
    """A unit that stands out, chosen by Sở Nội vụ, with a short reason."""

    name: str
    reason: str


@dataclass(frozen=True)
class UnitText:
    """A passage gathered from one unit's report (assessment, difficulties, tasks, recommendations)."""

    unit: str
    text: str


@dataclass(frozen=True)
class IndicatorColumn:
    """A column of Annex I: indicator key, Vietnamese label, unit of measure, content area (groups the tables)."""

    key: str
    label: str
    unit: str = ""
    area: int | None = None


@dataclass(frozen=True)
class UnitRow:
    """A row of Annex I: one expected unit and its values by indicator key (missing key or None: blank)."""

    name: str
    values: Mapping[str, Number | None] = field(default_factory=dict)
    code: str | None = None

    def value(self, key: str) -> Number | None:
        """The unit's value for an indicator, None when not reported."""
        return self.values.get(key)


@dataclass(frozen=True)
class LateUnit:
    """Annex II: a unit whose report arrived after the deadline."""

    name: str
    received_on: date
    days_late: int


@dataclass(frozen=True)
class MissingUnit:
    """Annex II and the urging letter: a unit whose report has not arrived, and by how many days it is overdue."""

    name: str
    days_overdue: int


@dataclass(frozen=True)
class ConsolidatedData:
    """Everything the consolidated report and the tables show for one period (F12).

    `period_name` is the period in words without "Báo cáo" ("6 tháng đầu năm 2019"). The annex rows are the
    expected units in official order; late and missing units are listed as given. Texts gathered from units go
    to section II (strengths, difficulties, causes), III (next tasks) and IV (recommendations).
    """

    plan_title: str
    plan_issuer: str
    plan_issued_on: date
    period_key: str
    period_name: str
    year: int
    compliance: ComplianceFigures
    issuer: Issuer = Issuer()
    deadline_day: date | None = None
    as_of: date | None = None
    data_window: tuple[date, date] | None = None
    estimate_note: str | None = None
    areas: Sequence[AreaTotals] = ()
    standouts: Sequence[Standout] = ()
    assessment: str | None = None
    strengths: Sequence[UnitText] = ()
    difficulties: Sequence[UnitText] = ()
    causes: Sequence[UnitText] = ()
    next_tasks: Sequence[UnitText] = ()
    recommendations: Sequence[UnitText] = ()
    annex_columns: Sequence[IndicatorColumn] = ()
    annex_rows: Sequence[UnitRow] = ()
    late: Sequence[LateUnit] = ()
    missing: Sequence[MissingUnit] = ()

    @property
    def subject(self) -> str:
        """The report's subject line."""
        return f"Kết quả thực hiện công tác dân vận chính quyền {self.period_name}"


@dataclass(frozen=True)
class UrgingLetterData:
    """What the công văn đôn đốc needs: the plan, the period, its deadline and the units still overdue."""

    plan_title: str
    plan_issuer: str
    plan_issued_on: date
    period_key: str
    period_name: str
    year: int
    overdue: Sequence[MissingUnit]
    deadline_day: date | None = None
    issuer: Issuer = Issuer()

    @classmethod
    def from_consolidated(cls, data: ConsolidatedData) -> UrgingLetterData:
        """The letter's data taken from a period's consolidated data (its missing units)."""
        return cls(
            plan_title=data.plan_title,
            plan_issuer=data.plan_issuer,
            plan_issued_on=data.plan_issued_on,
            period_key=data.period_key,
            period_name=data.period_name,
            year=data.year,
            overdue=tuple(data.missing),
            deadline_day=data.deadline_day,
            issuer=data.issuer,
        )


def indicator_columns(indicators: Iterable[Indicator]) -> tuple[IndicatorColumn, ...]:
    """Annex I columns for a plan's numeric indicators (content areas 1-5, list-shaped ones left out), in order."""
    return tuple(
        IndicatorColumn(key=i.key, label=i.label, unit=i.unit, area=i.area)
        for i in indicators
        if i.area >= 1 and i.kind != "list"
    )


# ------------------------------------------------------------------------------------ text helpers


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


def vn_percent(value: float | None) -> str:
    """95,5% (a whole number without decimals: 100%); blank for None."""
    if value is None:
        return ""
    text = vn_number(value, 1)
    return (text[:-2] if text.endswith(",0") else text) + "%"


def vn_value(value: Number | None, unit: str = "") -> str:
    """An indicator value for a table: 1.234, 12,5; percentages with one decimal; blank for None."""
    if value is None:
        return ""
    if unit == PERCENT_UNIT:
        return vn_number(value, 1)
    if isinstance(value, int) or float(value).is_integer():
        return vn_number(value)
    return vn_number(value, 1)


def _signed(value: Number | None, unit: str) -> str:
    text = vn_value(value, unit)
    return f"+{text}" if value is not None and value > 0 else text


def download_filename(kind: str, period_key: str) -> str:
    """The Vietnamese file name of a download: kind is report, urging_letter, xlsx or csv."""
    stem, ext = DOWNLOAD_NAMES[kind]
    return nfc(f"{stem.format(period=period_key)}.{ext}")


def download_disposition(kind: str, period_key: str) -> str:
    """The Content-Disposition header of a download (ASCII name and RFC 5987 `filename*`)."""
    return content_disposition(download_filename(kind, period_key))


# ----------------------------------------------------------------------------------- DOCX plumbing


def _set_rfonts(rpr: object) -> None:
    """Times New Roman on every script slot (ascii, hAnsi, eastAsia, cs), with theme fonts removed."""
    rfonts = rpr.find(qn("w:rFonts"))  # type: ignore[attr-defined]
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)  # type: ignore[attr-defined]
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(slot), FONT)


def _new_document() -> DocxDocument:
    """A python-docx document whose every style is Times New Roman, with the body and table styles added."""
    doc = Document()
    styles = doc.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_rfonts(rpr)
    lang = rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:val"), "vi-VN")
        lang.set(qn("w:eastAsia"), "vi-VN")
    for style in styles:
        srpr = style.element.find(qn("w:rPr"))
        if srpr is not None and srpr.find(qn("w:rFonts")) is not None:
            _set_rfonts(srpr)

    normal = styles["Normal"]
    normal.font.size = Pt(14)
    _set_rfonts(normal.element.get_or_add_rPr())
    fmt = normal.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0

    body = styles.add_style(BODY_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    body.base_style = normal
    body.font.size = Pt(14)
    _set_rfonts(body.element.get_or_add_rPr())
    fmt = body.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.first_line_indent = FIRST_LINE_INDENT
    fmt.space_before = Pt(6)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0

    for name in ("Heading 1", "Heading 2"):
        heading = styles[name]
        heading.base_style = body
        heading.font.size = Pt(14)
        heading.font.bold = True
        heading.font.italic = False
        heading.font.color.rgb = RGBColor(0, 0, 0)
        _set_rfonts(heading.element.get_or_add_rPr())
        fmt = heading.paragraph_format
        fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        fmt.first_line_indent = FIRST_LINE_INDENT
        fmt.space_before = Pt(6)
        fmt.space_after = Pt(0)
        fmt.keep_with_next = True

    table_text = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    table_text.base_style = normal
    table_text.font.size = Pt(12)
    _set_rfonts(table_text.element.get_or_add_rPr())
    table_text.paragraph_format.first_line_indent = Cm(0)
    table_text.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT

    _page_setup(doc.sections[0], landscape=False)
    return doc


def _page_setup(section: object, *, landscape: bool) -> None:
    """A4 (portrait or landscape) with the NĐ 30 margins."""
    width, height = (Mm(PAGE_MM[1]), Mm(PAGE_MM[0])) if landscape else (Mm(PAGE_MM[0]), Mm(PAGE_MM[1]))
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT  # type: ignore[attr-defined]
    section.page_width = width  # type: ignore[attr-defined]
    section.page_height = height  # type: ignore[attr-defined]
    section.top_margin = Mm(MARGINS_MM["top"])  # type: ignore[attr-defined]
    section.bottom_margin = Mm(MARGINS_MM["bottom"])  # type: ignore[attr-defined]
    section.left_margin = Mm(MARGINS_MM["left"])  # type: ignore[attr-defined]
    section.right_margin = Mm(MARGINS_MM["right"])  # type: ignore[attr-defined]
    section.header_distance = Mm(10)  # type: ignore[attr-defined]
    section.footer_distance = Mm(10)  # type: ignore[attr-defined]


def _page_numbers(doc: DocxDocument) -> None:
    """Page numbers centred in the top margin from page 2: a PAGE field in the header, none on the first page."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    para = section.header.paragraphs[0]
    para.style = doc.styles[TABLE_STYLE]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None), ("text", "2"), ("end", None)):
        run = para.add_run()
        run.font.size = Pt(13)
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        elif kind == "text":
            run.text = text or ""
        else:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)


def _add_section(doc: DocxDocument, *, landscape: bool) -> None:
    """A new page section (annexes) whose header, linked to the first section's, keeps numbering pages."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _page_setup(section, landscape=landscape)
    section.different_first_page_header_footer = False


def _para(
    container: object,
    text: str = "",
    *,
    style: str = BODY_STYLE,
    align: WD_ALIGN_PARAGRAPH | None = None,
    bold: bool = False,
    italic: bool = False,
    size: float | None = None,
    indent: Length | None = None,
    space_before: float | None = None,
) -> Paragraph:
    """A paragraph with one run of NFC text; `indent` overrides the first-line indent."""
    para = container.add_paragraph(style=style)  # type: ignore[attr-defined]
    if align is not None:
        para.alignment = align
    if indent is not None:
        para.paragraph_format.first_line_indent = indent
    if space_before is not None:
        para.paragraph_format.space_before = Pt(space_before)
    if text:
        _run(para, text, bold=bold, italic=italic, size=size)
    return para


def _run(para: Paragraph, text: str, *, bold: bool = False, italic: bool = False, size: float | None = None) -> None:
    run = para.add_run(nfc(text))
    if bold:
        run.bold = True
    if italic:
        run.italic = True
    if size is not None:
        run.font.size = Pt(size)


def _centered(container: object, text: str, *, bold: bool = False, italic: bool = False, size: float = 14) -> None:
    _para(container, text, style=TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=bold, italic=italic, size=size)


def _rule(container: object, *, length_mm: float, cell_mm: float) -> None:
    """A short rule centred in a cell or on the page: a tiny paragraph with a top border, narrowed by indents."""
    para = container.add_paragraph(style=TABLE_STYLE)  # type: ignore[attr-defined]
    side = Mm(max((cell_mm - length_mm) / 2, 0))
    fmt = para.paragraph_format
    fmt.left_indent = side
    fmt.right_indent = side
    fmt.space_before = Pt(3)
    ppr = para._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    border.append(top)
    ppr.insert_element_before(
        border, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc", "w:rPr", "w:sectPr"
    )
    run = para.add_run("")
    run.font.size = Pt(2)
    para.paragraph_format.line_spacing = Pt(2)


def _table(
    container: object, rows: int, widths_mm: Sequence[float], *, borders: bool, style: str | None = None
) -> Table:
    """A fixed-layout table of the given column widths, with single borders or none."""
    table = container.add_table(rows=rows, cols=len(widths_mm))  # type: ignore[attr-defined]
    if borders:
        table.style = "Table Grid"
    table.autofit = False
    for col, width in zip(table.columns, widths_mm, strict=True):
        col.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)
    if not borders:
        tbl_borders = OxmlElement("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            el = OxmlElement(f"w:{edge}")
            el.set(qn("w:val"), "nil")
            tbl_borders.append(el)
        table._tbl.tblPr.insert_element_before(
            tbl_borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription"
        )
    return table


def _cell(
    cell: _Cell,
    text: str,
    *,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    bold: bool = False,
    size: float = 12,
) -> None:
    """Write NFC text in a table cell's first paragraph (blank text leaves the cell empty)."""
    para = cell.paragraphs[0]
    para.style = TABLE_STYLE
    para.alignment = align
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    if text:
        _run(para, text, bold=bold, size=size)


def _repeat_header(table: Table) -> None:
    """The first row repeats at the top of every page the table spans."""
    trpr = table.rows[0]._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))


def _data_table(
    container: object,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_mm: Sequence[float],
    *,
    size: float = 12,
    numeric_from: int = 2,
) -> Table:
    """A bordered table: bold centred header row, STT centred, text left, figures (from `numeric_from`) right."""
    table = _table(container, 1 + len(rows), widths_mm, borders=True)
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=size)
    for tr, values in zip(table.rows[1:], rows, strict=True):
        for i, (cell, text) in enumerate(zip(tr.cells, values, strict=True)):
            if i == 0:
                align = WD_ALIGN_PARAGRAPH.CENTER
            elif i >= numeric_from:
                align = WD_ALIGN_PARAGRAPH.RIGHT
            else:
                align = WD_ALIGN_PARAGRAPH.LEFT
            _cell(cell, text, align=align, size=size)
        tr._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a unit's row stays on one page
    _repeat_header(table)
    return table


def _header_block(
    doc: DocxDocument, issuer: Issuer, number_line: str, place_date: str, subject_line: str | None = None
) -> None:
    """The NĐ 30 header: bodies and number on the left, national title, motto and place-date on the right."""
    left_mm, right_mm = 62.0, TEXT_WIDTH_MM - 62.0
    table = _table(doc, 2, (left_mm, right_mm), borders=False)
    (body_cell, nation_cell), (number_cell, date_cell) = (r.cells for r in table.rows)

    _cell(body_cell, issuer.parent_body.upper(), align=WD_ALIGN_PARAGRAPH.CENTER, size=13)
    _centered(body_cell, issuer.issuing_body.upper(), bold=True, size=13)
    _rule(body_cell, length_mm=14, cell_mm=left_mm)

    _cell(nation_cell, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=12)
    _centered(nation_cell, "Độc lập - Tự do - Hạnh phúc", bold=True, size=13)
    _rule(nation_cell, length_mm=62, cell_mm=right_mm)

    _cell(number_cell, number_line, align=WD_ALIGN_PARAGRAPH.CENTER, size=13)
    if subject_line:
        _centered(number_cell, subject_line, size=12)
    _cell(date_cell, place_date, align=WD_ALIGN_PARAGRAPH.CENTER, size=14)
    date_cell.paragraphs[0].runs[0].italic = True
    for cell in (number_cell, date_cell):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP


def _signature_block(doc: DocxDocument, signer: Signer, recipients: Sequence[str]) -> None:
    """The recipients ("Nơi nhận:" 12 bold italic, items 11) bottom left; the signer's block on the right."""
    _para(doc, "", space_before=6)
    table = _table(doc, 1, (80.0, TEXT_WIDTH_MM - 80.0), borders=False)
    left, right = table.rows[0].cells
    left.vertical_alignment = right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
    para = left.paragraphs[0]
    para.style = TABLE_STYLE
    _run(para, "Nơi nhận:", bold=True, italic=True, size=12)
    for item in recipients:
        _para(left, f"- {item}", style=TABLE_STYLE, size=11)

    first = True
    for line in (signer.authority, signer.title):
        if not line:
            continue
        if first:
            _cell(right, line.upper(), align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=14)
            first = False
        else:
            _centered(right, line.upper(), bold=True)
    for _ in range(4):
        _centered(right, "")
    _centered(right, signer.name, bold=True)


def _gathered(doc: DocxDocument, items: Sequence[UnitText], empty: str) -> None:
    """Passages gathered from units: "- Unit: text", further lines of a passage as paragraphs of their own."""
    if not items:
        _para(doc, empty, italic=True)
        return
    for item in items:
        lines = [line.strip() for line in nfc(item.text).splitlines() if line.strip()] or [""]
        para = _para(doc, f"- {item.unit}: ", italic=True)
        _run(para, lines[0])
        for line in lines[1:]:
            _para(doc, line)


def _save(doc: DocxDocument) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _core_properties(doc: DocxDocument, title: str, issuer: Issuer) -> None:
    props = doc.core_properties
    props.title = nfc(title)
    props.author = nfc(issuer.name)
    props.last_modified_by = nfc(issuer.name)
    props.language = "vi-VN"


# ---------------------------------------------------------------------------------- the report


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
    doc = _new_document()
    _core_properties(doc, f"Báo cáo {data.subject}", issuer)
    _page_numbers(doc)
    number_line = document_number(number, issuer.report_symbol)
    _header_block(doc, issuer, number_line, vn_place_date(issuer.place, issued_on, data.year))

    _para(doc, "BÁO CÁO", style=TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=14, space_before=18)
    _para(doc, data.subject, style=TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=14)
    _rule(doc, length_mm=45, cell_mm=TEXT_WIDTH_MM)
    _para(
        doc,
        f"Kính gửi: {issuer.addressee}.",
        style=TABLE_STYLE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        size=14,
        space_before=12,
    )

    intro = (
        f"Thực hiện {data.plan_title} (ban hành ngày {vn_date(data.plan_issued_on)}) của {data.plan_issuer}, "
        f"{issuer.name} báo cáo kết quả thực hiện công tác dân vận chính quyền {data.period_name} "
        f"trên địa bàn {issuer.territory} như sau:"
    )
    _para(doc, intro, space_before=12)

    _report_results(doc, data)
    _report_assessment(doc, data)

    doc.add_heading(nfc(SECTION_TITLES[2]), level=1)
    _gathered(doc, data.next_tasks, "Các cơ quan, đơn vị, địa phương chưa nêu nhiệm vụ kỳ tới.")
    doc.add_heading(nfc(SECTION_TITLES[3]), level=1)
    _gathered(doc, data.recommendations, "Các cơ quan, đơn vị, địa phương không có kiến nghị, đề xuất.")

    _para(
        doc,
        f"Trên đây là báo cáo kết quả thực hiện công tác dân vận chính quyền {data.period_name} trên địa bàn "
        f"{issuer.territory}, {issuer.name} kính báo cáo {issuer.addressee} xem xét, chỉ đạo./.",
    )
    _signature_block(doc, signer, recipients)

    annex_ref = _annex_reference(data, number, issued_on)
    _add_section(doc, landscape=True)
    _annex_one(doc, data, annex_ref, annex_columns_per_table)
    _add_section(doc, landscape=False)
    _annex_two(doc, data, annex_ref)
    return _save(doc)


def _annex_reference(data: ConsolidatedData, number: str | None, issued_on: date | None) -> str:
    """The annexes' reference line "(Kèm theo Báo cáo số ... ngày ... của Sở Nội vụ)", blanks as in the header."""
    number_part = document_number(number, data.issuer.report_symbol).removeprefix("Số:").strip()
    number_part = number_part if number else f"     /{data.issuer.report_symbol}"
    day_part = vn_place_date("", issued_on, data.year).removeprefix(", ")
    return f"(Kèm theo Báo cáo số {number_part} {day_part} của {data.issuer.name})"


def _report_results(doc: DocxDocument, data: ConsolidatedData) -> None:
    """Section I: compliance, then totals by content area, then the units that stand out."""
    doc.add_heading(nfc(SECTION_TITLES[0]), level=1)
    c = data.compliance
    as_of = f"Tính đến ngày {vn_date(data.as_of)}, " if data.as_of else ""
    rate = f" (đạt {vn_percent(c.reporting_rate)})" if c.reporting_rate is not None else ""
    on_time_rate = f" ({vn_percent(c.reporting_rate_on_time)})" if c.reporting_rate_on_time is not None else ""
    text = (
        f"{as_of}{data.issuer.name} nhận được {vn_number(c.actual)}/{vn_number(c.expected)} báo cáo của các cơ quan, "
        f"đơn vị, địa phương{rate}, trong đó {vn_number(c.on_time)} báo cáo đúng hạn{on_time_rate}, "
        f"{vn_number(c.late)} báo cáo trễ hạn; {vn_number(c.missing)} cơ quan, đơn vị, địa phương chưa gửi báo cáo "
        "(chi tiết tại Phụ lục II)."
    )
    deadline = f" Hạn gửi báo cáo: ngày {vn_date(data.deadline_day)}." if data.deadline_day else ""
    _para(doc, text + deadline)
    if data.data_window:
        start, end = data.data_window
        note = f" {data.estimate_note}" if data.estimate_note else ""
        _para(doc, f"Số liệu tổng hợp tính từ ngày {vn_date(start)} đến ngày {vn_date(end)}.{note}")

    for area in data.areas:
        doc.add_heading(nfc(f"{area.number}. {area.name}"), level=2)
        if area.summary:
            for line in nfc(area.summary).splitlines():
                if line.strip():
                    _para(doc, line.strip())
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
            _data_table(doc, header, rows, (13, 70, 22, 20, 20, 20), numeric_from=3)

    heading_no = max((a.number for a in data.areas), default=0) + 1
    doc.add_heading(nfc(f"{heading_no}. Các cơ quan, đơn vị, địa phương tiêu biểu"), level=2)
    if not data.standouts:
        _para(doc, "Chưa có cơ quan, đơn vị, địa phương được lựa chọn.", italic=True)
    for standout in data.standouts:
        para = _para(doc, f"- {standout.name}: ", bold=True)
        _run(para, standout.reason)


def _report_assessment(doc: DocxDocument, data: ConsolidatedData) -> None:
    """Section II: Sở Nội vụ's own assessment if any, then strengths, difficulties and causes from the units."""
    doc.add_heading(nfc(SECTION_TITLES[1]), level=1)
    if data.assessment:
        for line in nfc(data.assessment).splitlines():
            if line.strip():
                _para(doc, line.strip())
    parts = (
        ("1. Ưu điểm", data.strengths, "Các cơ quan, đơn vị, địa phương chưa nêu ưu điểm."),
        ("2. Hạn chế, khó khăn", data.difficulties, "Các cơ quan, đơn vị, địa phương không nêu hạn chế, khó khăn."),
        ("3. Nguyên nhân", data.causes, "Các cơ quan, đơn vị, địa phương chưa nêu nguyên nhân."),
    )
    for title, items, empty in parts:
        doc.add_heading(nfc(title), level=2)
        _gathered(doc, items, empty)


def _annex_title(doc: DocxDocument, number: str, title: str, reference: str) -> None:
    _para(doc, f"Phụ lục {number}", style=TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    _para(doc, title.upper(), style=TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    _para(doc, reference, style=TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, italic=True)


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


def _column_header(column: IndicatorColumn) -> str:
    return f"{column.label} ({column.unit})" if column.unit else column.label


def _annex_one(doc: DocxDocument, data: ConsolidatedData, reference: str, per_table: int) -> None:
    """Annex I: indicators per unit, one row per expected unit in the given order, blank cells for None."""
    _annex_title(
        doc,
        "I",
        "Số liệu kết quả thực hiện công tác dân vận chính quyền của các cơ quan, đơn vị, địa phương",
        reference,
    )
    if not data.annex_columns or not data.annex_rows:
        _para(doc, "Không có số liệu.", italic=True, space_before=12)
        return
    area_names = {a.number: a.name for a in data.areas}
    for index, (area, columns) in enumerate(annex_one_blocks(data.annex_columns, per_table), start=1):
        caption = f"Bảng {index}"
        if area is not None:
            caption += f". Lĩnh vực {area}" + (f": {area_names[area]}" if area in area_names else "")
        title = _para(doc, caption, style=TABLE_STYLE, bold=True, size=12, space_before=12)
        title.paragraph_format.keep_with_next = True  # never a title alone at the foot of a page
        fixed = (13.0, 52.0)
        each = (LANDSCAPE_TEXT_WIDTH_MM - sum(fixed)) / max(len(columns), per_table, 1)
        header = ["STT", "Cơ quan, đơn vị, địa phương", *(_column_header(c) for c in columns)]
        rows = [
            [str(i), unit.name, *(vn_value(unit.value(c.key), c.unit) for c in columns)]
            for i, unit in enumerate(data.annex_rows, start=1)
        ]
        _data_table(doc, header, rows, (*fixed, *([each] * len(columns))), size=10)


def _annex_two(doc: DocxDocument, data: ConsolidatedData, reference: str) -> None:
    """Annex II: units that reported late, units that have not reported."""
    _annex_title(doc, "II", "Danh sách cơ quan, đơn vị, địa phương gửi báo cáo trễ hạn, chưa gửi báo cáo", reference)
    if data.deadline_day:
        _para(
            doc,
            f"Hạn gửi báo cáo: ngày {vn_date(data.deadline_day)}.",
            style=TABLE_STYLE,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
    _para(doc, "1. Cơ quan, đơn vị, địa phương gửi báo cáo trễ hạn", bold=True, indent=Cm(0), space_before=12)
    if data.late:
        rows = [
            [str(i), u.name, vn_date(u.received_on), vn_number(u.days_late)] for i, u in enumerate(data.late, start=1)
        ]
        _data_table(
            doc, ["STT", "Cơ quan, đơn vị, địa phương", "Ngày nhận báo cáo", "Số ngày trễ hạn"], rows, (13, 92, 30, 30)
        )
    else:
        _para(doc, "Không có.", italic=True)
    _para(doc, "2. Cơ quan, đơn vị, địa phương chưa gửi báo cáo", bold=True, indent=Cm(0), space_before=12)
    if data.missing:
        rows = [[str(i), u.name, vn_number(u.days_overdue)] for i, u in enumerate(data.missing, start=1)]
        _data_table(doc, ["STT", "Cơ quan, đơn vị, địa phương", "Số ngày quá hạn"], rows, (13, 122, 30))
    else:
        _para(doc, "Không có.", italic=True)


# ---------------------------------------------------------------------------------- the urging letter


def urging_letter_docx(
    data: UrgingLetterData,
    *,
    number: str | None = None,
    issued_on: date | None = None,
    signer: Signer | None = None,
    respond_by: date | None = None,
    recipients: Sequence[str] = LETTER_RECIPIENTS,
) -> bytes:
    """The công văn đôn đốc to the units still overdue, as DOCX (same header; number, date, name blank by default).

    Raises ValueError when no unit is overdue: there is nobody to write to.
    """
    if not data.overdue:
        raise ValueError("no overdue unit: there is nobody to urge")
    issuer = data.issuer
    signer = signer or Signer()
    doc = _new_document()
    subject = f"V/v đôn đốc gửi báo cáo kết quả thực hiện công tác dân vận chính quyền {data.period_name}"
    _core_properties(doc, subject, issuer)
    _page_numbers(doc)
    _header_block(
        doc,
        issuer,
        document_number(number, issuer.letter_symbol),
        vn_place_date(issuer.place, issued_on, data.year),
        subject_line=subject,
    )

    names = [u.name for u in data.overdue]
    if len(names) == 1:
        _para(
            doc,
            f"Kính gửi: {names[0]}.",
            style=TABLE_STYLE,
            align=WD_ALIGN_PARAGRAPH.CENTER,
            size=14,
            space_before=18,
        )
    else:
        _para(doc, "Kính gửi:", style=TABLE_STYLE, size=14, space_before=18).paragraph_format.left_indent = Cm(3)
        for i, name in enumerate(names):
            end = "." if i == len(names) - 1 else ";"
            _para(doc, f"- {name}{end}", style=TABLE_STYLE, size=14).paragraph_format.left_indent = Cm(5)

    deadline = f" chậm nhất ngày {vn_date(data.deadline_day)}" if data.deadline_day else ""
    _para(
        doc,
        f"Thực hiện {data.plan_title} (ban hành ngày {vn_date(data.plan_issued_on)}) của {data.plan_issuer}, các cơ "
        "quan, đơn vị, địa phương có trách nhiệm gửi báo cáo kết quả thực hiện công tác dân vận chính quyền "
        f"{data.period_name} về {issuer.name}{deadline} để tổng hợp, báo cáo {issuer.addressee}.",
        space_before=12,
    )
    days = sorted({u.days_overdue for u in data.overdue})
    overdue = ""
    if days and days[-1] > 0:
        overdue = f" (quá hạn {days[0]} ngày)" if len(days) == 1 else f" (quá hạn từ {days[0]} đến {days[-1]} ngày)"
    whom = "cơ quan, đơn vị, địa phương" if len(names) == 1 else "các cơ quan, đơn vị, địa phương"
    _para(doc, f"Tuy nhiên, đến nay {issuer.name} vẫn chưa nhận được báo cáo của {whom} nêu trên{overdue}.")
    when = f"trước ngày {vn_date(respond_by)}" if respond_by else "ngay khi nhận được Công văn này"
    _para(
        doc,
        f"Để kịp thời tổng hợp, báo cáo {issuer.addressee}, {issuer.name} đề nghị Thủ trưởng {whom} khẩn trương "
        f"chỉ đạo hoàn thành và gửi báo cáo về {issuer.name} {when} (gửi trên hệ thống báo cáo trực tuyến hoặc "
        "bằng văn bản).",
    )
    _para(doc, f"{issuer.name} đề nghị Thủ trưởng {whom} quan tâm, thực hiện./.")
    _signature_block(doc, signer, recipients)
    return _save(doc)


# -------------------------------------------------------------------------------------- XLSX and CSV


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
    header = [*fixed, *(_column_header(col) for col in data.annex_columns)]
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
    columns = [_column_header(c) if header == "label" else c.key for c in data.annex_columns]
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
