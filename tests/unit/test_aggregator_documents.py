"""F12 documents: the consolidated report and urging letter (DOCX), the tables (XLSX, CSV), read back."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from datetime import date

import docx
import openpyxl
import pytest
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from services.aggregator.documents.consolidated import annex_one_blocks, consolidated_report_docx
from services.aggregator.documents.model import (
    AreaTotals,
    ComplianceFigures,
    ConsolidatedData,
    IndicatorColumn,
    LateUnit,
    MissingUnit,
    Signer,
    Standout,
    TotalRow,
    UnitRow,
    UnitText,
    UrgingLetterData,
)
from services.aggregator.documents.naming import download_disposition
from services.aggregator.documents.nd30 import document_number, vn_place_date
from services.aggregator.documents.tables import SHEET_NAMES, tables_csv, tables_xlsx
from services.aggregator.documents.urging import urging_letter_docx

FONT = "Times New Roman"


def nfd(text: str) -> str:
    """Decomposed input, as some browsers and copy-pastes send it: the documents must still be NFC."""
    return unicodedata.normalize("NFD", text)


COLUMNS = (
    IndicatorColumn("tcd_luot", nfd("Số lượt tiếp công dân"), "lượt", 3),
    IndicatorColumn("tcd_nguoi", nfd("Số người được tiếp"), "người", 3),
    IndicatorColumn("tthc_ty_le", nfd("Tỷ lệ hồ sơ giải quyết trước và đúng hạn"), "%", 4),
)
UNITS = (
    UnitRow(
        nfd("Văn phòng Ủy ban nhân dân tỉnh"), {"tcd_luot": 1234, "tcd_nguoi": 1500, "tthc_ty_le": 95.5}, "VP_UBND"
    ),
    UnitRow(nfd("Sở Nội vụ"), {"tcd_luot": None, "tcd_nguoi": 12, "tthc_ty_le": 100.0}, "SNV"),
    UnitRow(nfd("Sở Tư pháp"), {"tcd_luot": 7}, "STP"),
    UnitRow(nfd("Ủy ban nhân dân huyện Cầu Kè"), {"tcd_luot": 0, "tcd_nguoi": 0, "tthc_ty_le": 87.25}, "H_CAUKE"),
)
LATE = (LateUnit(nfd("Sở Xây dựng"), date(2019, 6, 13), 3), LateUnit(nfd("Sở Y tế"), date(2019, 6, 17), 7))
MISSING = (MissingUnit(nfd("Thanh tra tỉnh"), 10), MissingUnit(nfd("Ủy ban nhân dân huyện Trà Cú"), 10))


def make_data(**changes: object) -> ConsolidatedData:
    """A 2019-H1 consolidated data set with decomposed (NFD) Vietnamese input."""
    fields: dict[str, object] = {
        "plan_title": nfd("Kế hoạch thực hiện công tác dân vận chính quyền trên địa bàn tỉnh Trà Vinh năm 2019"),
        "plan_issuer": nfd("Ủy ban nhân dân tỉnh Trà Vinh"),
        "plan_issued_on": date(2019, 3, 14),
        "period_key": "2019-H1",
        "period_name": nfd("6 tháng đầu năm 2019"),
        "year": 2019,
        "compliance": ComplianceFigures(expected=29, actual=27, on_time=25),
        "deadline_day": date(2019, 6, 10),
        "as_of": date(2019, 6, 20),
        "data_window": (date(2018, 12, 15), date(2019, 6, 14)),
        "estimate_note": nfd("Số liệu từ ngày báo cáo đến hết kỳ (ngày 14) là số ước thực hiện."),
        "areas": (
            AreaTotals(
                3,
                nfd("Thực hiện Quy chế dân chủ ở cơ sở"),
                (TotalRow(nfd("Số lượt tiếp công dân"), "lượt", 1241, 1000), TotalRow("Số đoàn", "đoàn", None, 2)),
                summary=nfd("Các đơn vị thực hiện nghiêm túc việc tiếp công dân."),
            ),
            AreaTotals(4, nfd("Tăng cường công tác cải cách hành chính"), (TotalRow("Tỷ lệ", "%", 95.5, 90.0),)),
        ),
        "standouts": (Standout(nfd("Sở Tư pháp"), nfd("Tỷ lệ hồ sơ đúng hạn 100%")),),
        "assessment": nfd("Nhìn chung, các cơ quan thực hiện tốt."),
        "strengths": (UnitText(nfd("Sở Y tế"), nfd("Quán triệt đầy đủ.\nTuyên truyền sâu rộng.")),),
        "difficulties": (UnitText(nfd("Ủy ban nhân dân huyện Cầu Kè"), nfd("Thiếu cán bộ chuyên trách.")),),
        "causes": (),
        "next_tasks": (UnitText(nfd("Sở Nội vụ"), nfd("Tiếp tục kiểm tra, đôn đốc.")),),
        "recommendations": (UnitText(nfd("Sở Tư pháp"), nfd("Đề nghị mở lớp tập huấn kỹ năng dân vận.")),),
        "annex_columns": COLUMNS,
        "annex_rows": UNITS,
        "late": LATE,
        "missing": MISSING,
    }
    fields.update(changes)
    return ConsolidatedData(**fields)  # type: ignore[arg-type]


def open_docx(content: bytes) -> DocxDocument:
    return docx.Document(io.BytesIO(content))


def all_paragraphs(doc: DocxDocument) -> Iterator[Paragraph]:
    """Every paragraph: body, table cells (nested too), headers of every section."""

    def in_tables(tables: list[Table]) -> Iterator[Paragraph]:
        for table in tables:
            for row in table.rows:
                for cell in row.cells:
                    yield from cell.paragraphs
                    yield from in_tables(cell.tables)

    yield from doc.paragraphs
    yield from in_tables(doc.tables)
    for section in doc.sections:
        for part in (section.header, section.first_page_header):
            yield from part.paragraphs


def all_text(doc: DocxDocument) -> str:
    return "\n".join(p.text for p in all_paragraphs(doc))


def body_texts(doc: DocxDocument) -> list[str]:
    return [p.text for p in doc.paragraphs]


def rows_of(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def tables_with_header(doc: DocxDocument, *first: str) -> list[Table]:
    return [t for t in doc.tables if tuple(c.text for c in t.rows[0].cells[: len(first)]) == first]


def annex_one_tables(doc: DocxDocument) -> list[Table]:
    """Annex I's tables: STT, unit, then indicators (Annex II's tables have their own third headers)."""
    annex_two = ("Ngày nhận báo cáo", "Số ngày quá hạn")
    tables = tables_with_header(doc, "STT", "Cơ quan, đơn vị, địa phương")
    return [t for t in tables if t.rows[0].cells[2].text not in annex_two]


@pytest.fixture(scope="module")
def report() -> DocxDocument:
    return open_docx(consolidated_report_docx(make_data()))


@pytest.fixture(scope="module")
def signed_report() -> DocxDocument:
    content = consolidated_report_docx(
        make_data(), number="125", issued_on=date(2019, 2, 5), signer=Signer(name=nfd("Nguyễn Văn Bình"))
    )
    return open_docx(content)


# ------------------------------------------------------------------------------------------- page layout


def test_report_is_a4_portrait_with_the_decree_margins(report: DocxDocument) -> None:
    section = report.sections[0]
    assert section.orientation == WD_ORIENT.PORTRAIT
    assert section.page_width.mm == pytest.approx(210, abs=0.5)
    assert section.page_height.mm == pytest.approx(297, abs=0.5)
    assert section.top_margin.mm == pytest.approx(20, abs=0.5)
    assert section.bottom_margin.mm == pytest.approx(20, abs=0.5)
    assert section.left_margin.mm == pytest.approx(30, abs=0.5)
    assert section.right_margin.mm == pytest.approx(15, abs=0.5)


def test_annex_one_is_landscape_a4_and_annex_two_portrait(report: DocxDocument) -> None:
    _, annex_one, annex_two = report.sections
    assert annex_one.orientation == WD_ORIENT.LANDSCAPE
    assert (annex_one.page_width.mm, annex_one.page_height.mm) == (
        pytest.approx(297, abs=0.5),
        pytest.approx(210, abs=0.5),
    )
    assert annex_two.orientation == WD_ORIENT.PORTRAIT
    assert annex_two.page_width.mm == pytest.approx(210, abs=0.5)
    for section in (annex_one, annex_two):
        assert section.left_margin.mm == pytest.approx(30, abs=0.5)
        assert section.top_margin.mm == pytest.approx(20, abs=0.5)


def test_times_new_roman_on_defaults_styles_and_runs(report: DocxDocument) -> None:
    defaults = report.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    rfonts = defaults.find(qn("w:rFonts"))
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        assert rfonts.get(qn(slot)) == FONT
    assert rfonts.get(qn("w:asciiTheme")) is None and rfonts.get(qn("w:eastAsiaTheme")) is None
    for style in report.styles:
        style_fonts = style.element.find(qn("w:rPr"))
        style_fonts = style_fonts.find(qn("w:rFonts")) if style_fonts is not None else None
        if style_fonts is not None:
            assert style_fonts.get(qn("w:eastAsia")) == FONT, style.name
            assert style_fonts.get(qn("w:ascii")) == FONT, style.name
            assert style_fonts.get(qn("w:asciiTheme")) is None, style.name
    normal = report.styles["Normal"]
    assert normal.font.name == FONT
    runs = [run for p in all_paragraphs(report) for run in p.runs]
    assert runs
    for run in runs:
        assert run.font.name in (None, FONT)
        style = run._parent.style
        while style is not None and style.font.name is None:
            style = style.base_style
        assert style is not None and style.font.name == FONT


def test_body_is_14pt_justified_with_first_line_indent(report: DocxDocument) -> None:
    body = [p for p in report.paragraphs if p.style.name == "DVCQ Body" and p.text]
    assert len(body) > 5
    style = report.styles["DVCQ Body"]
    assert style.font.size == Pt(14)
    assert style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert style.paragraph_format.first_line_indent.cm == pytest.approx(1.27, abs=0.01)
    assert any(p.text.startswith(unicodedata.normalize("NFC", "Thực hiện Kế hoạch")) for p in body)


def test_page_numbers_centred_in_the_header_from_page_two(report: DocxDocument) -> None:
    first = report.sections[0]
    assert first.different_first_page_header_footer
    instructions = [e.text.strip() for e in first.header._element.iter(qn("w:instrText"))]
    assert instructions == ["PAGE"]
    assert any(p.alignment == WD_ALIGN_PARAGRAPH.CENTER for p in first.header.paragraphs)
    assert not list(first.first_page_header._element.iter(qn("w:instrText")))
    for annex in report.sections[1:]:
        assert annex.header.is_linked_to_previous
        assert not annex.different_first_page_header_footer


# ------------------------------------------------------------------------------------------- header block


def test_header_block_is_a_borderless_two_column_table(report: DocxDocument) -> None:
    table = report.tables[0]
    (bodies, nation), (number, place_date) = rows_of(table)
    assert bodies.split("\n")[:2] == ["UBND TỈNH TRÀ VINH", "SỞ NỘI VỤ"]
    assert nation.split("\n")[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert number == "Số:      /BC-SNV"
    assert place_date == "Trà Vinh, ngày    tháng    năm 2019"
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders is not None and {e.get(qn("w:val")) for e in borders} == {"nil"}
    cells = table.rows[0].cells
    assert cells[1].paragraphs[0].runs[0].bold and cells[0].paragraphs[1].runs[0].bold
    assert not cells[0].paragraphs[0].runs[0].bold
    assert table.rows[1].cells[1].paragraphs[0].runs[0].italic
    # the short rules under the issuing body and the motto are paragraph top borders
    assert table.rows[0].cells[0]._element.xml.count("<w:pBdr>") == 1
    assert table.rows[0].cells[1]._element.xml.count("<w:pBdr>") == 1


def test_number_and_date_filled_when_given(signed_report: DocxDocument) -> None:
    (_, _), (number, place_date) = rows_of(signed_report.tables[0])
    assert number == "Số: 125/BC-SNV"
    assert place_date == "Trà Vinh, ngày 05 tháng 02 năm 2019"
    assert "(Kèm theo Báo cáo số 125/BC-SNV ngày 05 tháng 02 năm 2019 của Sở Nội vụ)" in body_texts(signed_report)


def test_place_date_leading_zero_rule() -> None:
    assert vn_place_date("Trà Vinh", date(2019, 6, 20), 2019) == "Trà Vinh, ngày 20 tháng 6 năm 2019"
    assert vn_place_date("Trà Vinh", date(2019, 12, 9), 2019) == "Trà Vinh, ngày 09 tháng 12 năm 2019"
    assert vn_place_date("Trà Vinh", date(2019, 1, 31), 2019) == "Trà Vinh, ngày 31 tháng 01 năm 2019"
    assert vn_place_date("Trà Vinh", date(2020, 2, 1), 2019) == "Trà Vinh, ngày 01 tháng 02 năm 2020"
    assert vn_place_date("Trà Vinh", date(2019, 3, 10), 2019) == "Trà Vinh, ngày 10 tháng 3 năm 2019"
    assert vn_place_date("Trà Vinh", None, 2019) == "Trà Vinh, ngày    tháng    năm 2019"


def test_document_number_blank_or_given() -> None:
    assert document_number(None, "BC-SNV") == "Số:      /BC-SNV"
    assert document_number("", "BC-SNV") == "Số:      /BC-SNV"
    assert document_number("07", "BC-SNV") == "Số: 07/BC-SNV"
    assert document_number("07/BC-SNV", "BC-SNV") == "Số: 07/BC-SNV"


def test_title_subject_and_addressee(report: DocxDocument) -> None:
    texts = body_texts(report)
    title = texts.index("BÁO CÁO")
    assert texts[title + 1] == "Kết quả thực hiện công tác dân vận chính quyền 6 tháng đầu năm 2019"
    assert "Kính gửi: Ủy ban nhân dân tỉnh Trà Vinh." in texts
    bold = [p for p in report.paragraphs[title : title + 2]]
    assert all(p.runs[0].bold and p.alignment == WD_ALIGN_PARAGRAPH.CENTER for p in bold)


# ------------------------------------------------------------------------------------------------ body


def test_sections_one_to_four_in_order(report: DocxDocument) -> None:
    headings = [p.text for p in report.paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "I. KẾT QUẢ THỰC HIỆN",
        "II. ĐÁNH GIÁ CHUNG",
        "III. NHIỆM VỤ TRỌNG TÂM KỲ TỚI",
        "IV. KIẾN NGHỊ, ĐỀ XUẤT",
    ]
    assert report.styles["Heading 1"].font.color.rgb == docx.shared.RGBColor(0, 0, 0)


def test_results_show_compliance_totals_and_standouts_vietnamese_style(report: DocxDocument) -> None:
    text = "\n".join(body_texts(report))
    assert "Tính đến ngày 20/06/2019, Sở Nội vụ nhận được 27/29 báo cáo" in text
    assert "(đạt 93,1%)" in text and "25 báo cáo đúng hạn (86,2%)" in text and "2 báo cáo trễ hạn" in text
    assert "Hạn gửi báo cáo: ngày 10/06/2019." in text
    assert "3. Thực hiện Quy chế dân chủ ở cơ sở" in text
    assert "5. Các cơ quan, đơn vị, địa phương tiêu biểu" in text
    assert "- Sở Tư pháp: Tỷ lệ hồ sơ đúng hạn 100%" in text
    (totals_3, totals_4) = tables_with_header(report, "STT", "Chỉ tiêu")
    assert rows_of(totals_3)[1] == ["1", "Số lượt tiếp công dân", "lượt", "1.241", "1.000", "+241"]
    assert rows_of(totals_3)[2] == ["2", "Số đoàn", "đoàn", "", "2", ""]
    assert rows_of(totals_4)[1] == ["1", "Tỷ lệ", "%", "95,5", "90,0", "+5,5"]


def test_gathered_texts_name_their_unit(report: DocxDocument) -> None:
    texts = body_texts(report)
    assert "- Sở Y tế: Quán triệt đầy đủ." in texts
    assert texts[texts.index("- Sở Y tế: Quán triệt đầy đủ.") + 1] == "Tuyên truyền sâu rộng."
    assert "- Ủy ban nhân dân huyện Cầu Kè: Thiếu cán bộ chuyên trách." in texts
    assert "- Sở Tư pháp: Đề nghị mở lớp tập huấn kỹ năng dân vận." in texts
    assert "Các cơ quan, đơn vị, địa phương chưa nêu nguyên nhân." in texts  # no cause given


def test_signature_and_recipients(report: DocxDocument, signed_report: DocxDocument) -> None:
    signature = next(t for t in report.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    left, right = (c.text.split("\n") for c in signature.rows[0].cells)
    assert left[0] == "Nơi nhận:" and left[1] == "- Như trên;" and left[-1].startswith("- Lưu: VT")
    assert right[:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    assert right[-1] == ""
    signed = next(t for t in signed_report.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    assert signed.rows[0].cells[1].text.split("\n")[-1] == "Nguyễn Văn Bình"
    head_signs = open_docx(consolidated_report_docx(make_data(), signer=Signer("Lê Văn C", "GIÁM ĐỐC", None)))
    sig = next(t for t in head_signs.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    assert sig.rows[0].cells[1].text.split("\n")[0] == "GIÁM ĐỐC"


# ------------------------------------------------------------------------------------------------ annexes


def test_annex_one_has_one_row_per_unit_in_order_with_blanks(report: DocxDocument) -> None:
    annex_one = annex_one_tables(report)
    assert len(annex_one) == 2  # area 3 (two columns) and area 4 (one column)
    names = [unicodedata.normalize("NFC", u.name) for u in UNITS]
    for table in annex_one:
        rows = rows_of(table)
        assert [r[1] for r in rows[1:]] == names
        assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    area3 = rows_of(annex_one[0])
    assert area3[0][2:] == ["Số lượt tiếp công dân (lượt)", "Số người được tiếp (người)"]
    assert area3[1][2:] == ["1.234", "1.500"]
    assert area3[2][2:] == ["", "12"]
    assert area3[3][2:] == ["7", ""]
    assert area3[4][2:] == ["0", "0"]
    area4 = rows_of(annex_one[1])
    assert [r[2] for r in area4[1:]] == ["95,5", "100,0", "", "87,2"]  # one decimal, half to even
    assert "Bảng 1. Lĩnh vực 3: Thực hiện Quy chế dân chủ ở cơ sở" in body_texts(report)
    header_row = annex_one[0].rows[0]._tr
    assert header_row.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None


def test_annex_one_splits_wide_areas_into_tables_of_bounded_width() -> None:
    columns = [IndicatorColumn(f"k{i}", f"Chỉ tiêu {i}", "lượt", 1) for i in range(23)] + [
        IndicatorColumn("x", "X", "", 2)
    ]
    blocks = annex_one_blocks(columns, 10)
    assert [(area, len(cols)) for area, cols in blocks] == [(1, 8), (1, 8), (1, 7), (2, 1)]  # shared evenly
    doc = open_docx(consolidated_report_docx(make_data(annex_columns=columns), annex_columns_per_table=10))
    annex = annex_one_tables(doc)
    assert [len(t.columns) for t in annex] == [10, 10, 9, 3]  # STT and the unit, then the columns
    for table in annex:
        assert len(table.rows) == 1 + len(UNITS)


def test_annex_two_lists_exactly_the_late_and_missing_units(report: DocxDocument) -> None:
    (late,) = tables_with_header(report, "STT", "Cơ quan, đơn vị, địa phương", "Ngày nhận báo cáo")
    assert rows_of(late) == [
        ["STT", "Cơ quan, đơn vị, địa phương", "Ngày nhận báo cáo", "Số ngày trễ hạn"],
        ["1", "Sở Xây dựng", "13/06/2019", "3"],
        ["2", "Sở Y tế", "17/06/2019", "7"],
    ]
    (missing,) = tables_with_header(report, "STT", "Cơ quan, đơn vị, địa phương", "Số ngày quá hạn")
    assert rows_of(missing) == [
        ["STT", "Cơ quan, đơn vị, địa phương", "Số ngày quá hạn"],
        ["1", "Thanh tra tỉnh", "10"],
        ["2", "Ủy ban nhân dân huyện Trà Cú", "10"],
    ]


def test_annex_two_without_late_or_missing_units_says_so() -> None:
    doc = open_docx(consolidated_report_docx(make_data(late=(), missing=())))
    assert not tables_with_header(doc, "STT", "Cơ quan, đơn vị, địa phương", "Ngày nhận báo cáo")
    assert not tables_with_header(doc, "STT", "Cơ quan, đơn vị, địa phương", "Số ngày quá hạn")
    texts = body_texts(doc)
    start = texts.index("1. Cơ quan, đơn vị, địa phương gửi báo cáo trễ hạn")
    assert texts[start + 1] == "Không có."
    assert texts[texts.index("2. Cơ quan, đơn vị, địa phương chưa gửi báo cáo") + 1] == "Không có."


def test_report_text_is_nfc(report: DocxDocument) -> None:
    text = all_text(report)
    assert "Ủy ban nhân dân huyện Cầu Kè" in text
    assert unicodedata.is_normalized("NFC", text)


# ------------------------------------------------------------------------------------------ urging letter


def letter(**kwargs: object) -> DocxDocument:
    return open_docx(urging_letter_docx(UrgingLetterData.from_consolidated(make_data()), **kwargs))  # type: ignore[arg-type]


def test_urging_letter_header_subject_and_addressees() -> None:
    doc = letter()
    section = doc.sections[0]
    assert section.page_width.mm == pytest.approx(210, abs=0.5)
    assert section.left_margin.mm == pytest.approx(30, abs=0.5)
    (bodies, _), (number, place_date) = rows_of(doc.tables[0])
    assert bodies.split("\n")[:2] == ["UBND TỈNH TRÀ VINH", "SỞ NỘI VỤ"]
    assert number.split("\n") == [
        "Số:      /SNV-CCVC",
        "V/v đôn đốc gửi báo cáo kết quả thực hiện công tác dân vận chính quyền 6 tháng đầu năm 2019",
    ]
    assert place_date == "Trà Vinh, ngày    tháng    năm 2019"
    texts = body_texts(doc)
    start = texts.index("Kính gửi:")
    assert texts[start + 1 : start + 3] == ["- Thanh tra tỉnh;", "- Ủy ban nhân dân huyện Trà Cú."]
    text = "\n".join(texts)
    assert "chậm nhất ngày 10/06/2019" in text
    assert "(quá hạn 10 ngày)" in text
    assert "ngay khi nhận được Công văn này" in text
    assert text.rstrip().count("./.") == 1
    assert unicodedata.is_normalized("NFC", all_text(doc))
    signature = next(t for t in doc.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    assert signature.rows[0].cells[1].text.split("\n")[:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]


def test_urging_letter_number_date_and_reply_date_when_given() -> None:
    doc = letter(number="41", issued_on=date(2019, 6, 14), respond_by=date(2019, 6, 19), signer=Signer("Trần Thị D"))
    (_, _), (number, place_date) = rows_of(doc.tables[0])
    assert number.startswith("Số: 41/SNV-CCVC\n")
    assert place_date == "Trà Vinh, ngày 14 tháng 6 năm 2019"
    assert "trước ngày 19/06/2019" in "\n".join(body_texts(doc))
    assert "Trần Thị D" in all_text(doc)


def test_urging_letter_to_a_single_unit_and_to_nobody() -> None:
    one = UrgingLetterData.from_consolidated(make_data(missing=(MissingUnit("Sở Y tế", 3),)))
    assert "Kính gửi: Sở Y tế." in body_texts(open_docx(urging_letter_docx(one)))
    with pytest.raises(ValueError):
        urging_letter_docx(UrgingLetterData.from_consolidated(make_data(missing=())))


# ------------------------------------------------------------------------------------------------- XLSX


@pytest.fixture(scope="module")
def workbook() -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(tables_xlsx(make_data())))


def test_xlsx_has_the_expected_sheets(workbook: openpyxl.Workbook) -> None:
    assert workbook.sheetnames == list(SHEET_NAMES.values())
    for ws in workbook.worksheets:
        assert len(ws.title) <= 31
        assert ws.freeze_panes in ("A2", "D2")
        assert all(cell.font.bold for cell in ws[1])
        assert ws.column_dimensions["B"].width and ws.column_dimensions["B"].width > 6


def test_xlsx_numbers_are_numbers_with_vietnamese_formats(workbook: openpyxl.Workbook) -> None:
    summary = {row[0]: (row[1], f) for row, f in _rows_with_format(workbook["Tổng hợp"])}
    assert summary["Số báo cáo phải gửi"] == (29, "#,##0")
    assert summary["Số báo cáo trễ hạn"] == (2, "#,##0")
    value, fmt = summary["Tỷ lệ gửi báo cáo"]
    assert isinstance(value, float) and value == pytest.approx(0.931) and fmt == "0.0%"

    totals = list(workbook["Số liệu theo lĩnh vực"].iter_rows(min_row=2, values_only=True))
    assert totals[0] == (3, "Thực hiện Quy chế dân chủ ở cơ sở", "Số lượt tiếp công dân", "lượt", 1241, 1000, 241)
    assert totals[1][4:] == (None, 2, None)
    assert totals[2][4] == pytest.approx(0.955)

    annex = workbook["Phụ lục I"]
    assert annex.freeze_panes == "D2"
    rows = list(annex.iter_rows(values_only=True))
    assert rows[0] == (
        "STT",
        "Mã đơn vị",
        "Cơ quan, đơn vị, địa phương",
        "Số lượt tiếp công dân (lượt)",
        "Số người được tiếp (người)",
        "Tỷ lệ hồ sơ giải quyết trước và đúng hạn (%)",
    )
    assert [r[2] for r in rows[1:]] == [unicodedata.normalize("NFC", u.name) for u in UNITS]
    assert rows[1][3:5] == (1234, 1500) and rows[1][5] == pytest.approx(0.955)
    assert rows[2][3] is None and rows[3][4:] == (None, None)
    assert annex["D2"].number_format == "#,##0" and annex["F2"].number_format == "0.0%"
    for ws in workbook.worksheets:
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if cell.value is not None and cell.number_format in ("#,##0", "#,##0.0", "0.0%"):
                    assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
                if isinstance(cell.value, str):
                    assert not cell.value.replace(".", "").replace(",", "").isdigit(), cell.coordinate


def _rows_with_format(ws: object) -> Iterator[tuple[tuple[object, ...], str]]:
    for row in ws.iter_rows(min_row=2):  # type: ignore[attr-defined]
        yield tuple(c.value for c in row), row[1].number_format


def test_xlsx_annex_two_sheets(workbook: openpyxl.Workbook) -> None:
    late = list(workbook["Phụ lục II - Trễ hạn"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2].date(), r[3]) for r in late] == [
        (1, "Sở Xây dựng", date(2019, 6, 13), 3),
        (2, "Sở Y tế", date(2019, 6, 17), 7),
    ]
    assert workbook["Phụ lục II - Trễ hạn"]["C2"].number_format == "dd/mm/yyyy"
    missing = list(workbook["Phụ lục II - Chưa gửi"].iter_rows(min_row=2, values_only=True))
    assert missing == [(1, "Thanh tra tỉnh", 10), (2, "Ủy ban nhân dân huyện Trà Cú", 10)]


def test_xlsx_text_is_nfc(workbook: openpyxl.Workbook) -> None:
    for ws in workbook.worksheets:
        assert unicodedata.is_normalized("NFC", ws.title)
        for row in ws.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    assert unicodedata.is_normalized("NFC", value)


# -------------------------------------------------------------------------------------------------- CSV


def test_csv_is_utf8_with_bom_and_round_trips() -> None:
    content = tables_csv(make_data())
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert unicodedata.is_normalized("NFC", text)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [
        "STT",
        "Mã đơn vị",
        "Cơ quan, đơn vị, địa phương",
        "Số lượt tiếp công dân (lượt)",
        "Số người được tiếp (người)",
        "Tỷ lệ hồ sơ giải quyết trước và đúng hạn (%)",
    ]
    assert rows[1:] == [
        ["1", "VP_UBND", "Văn phòng Ủy ban nhân dân tỉnh", "1234", "1500", "95.5"],
        ["2", "SNV", "Sở Nội vụ", "", "12", "100"],
        ["3", "STP", "Sở Tư pháp", "7", "", ""],
        ["4", "H_CAUKE", "Ủy ban nhân dân huyện Cầu Kè", "0", "0", "87.25"],
    ]
    assert b"\r\n" in content


def test_csv_can_be_headed_by_indicator_keys_and_omits_codes_when_none() -> None:
    rows_without_codes = tuple(UnitRow(u.name, u.values) for u in UNITS)
    text = tables_csv(make_data(annex_rows=rows_without_codes), header="key").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["STT", "Cơ quan, đơn vị, địa phương", "tcd_luot", "tcd_nguoi", "tthc_ty_le"]
    assert len(rows) == 1 + len(UNITS)


# -------------------------------------------------------------------------------------------- downloads


def test_download_header_has_ascii_name_and_rfc5987_name() -> None:
    header = download_disposition("report", "2019-H1")
    assert header.startswith('attachment; filename="Bao-cao-dan-van-chinh-quyen-2019-H1.docx"')
    assert "filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20d%C3%A2n%20v%E1%BA%ADn" in header
    assert header.isascii()
    assert download_disposition("csv", "2019-FY").split('"')[1].endswith("2019-FY.csv")


def test_compliance_rates_follow_the_aggregator_formula() -> None:
    figures = ComplianceFigures(expected=29, actual=27, on_time=25)
    assert (figures.reporting_rate, figures.reporting_rate_on_time, figures.late, figures.missing) == (93.1, 86.2, 2, 2)
    assert ComplianceFigures(0, 0, 0).reporting_rate is None
