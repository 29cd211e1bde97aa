"""python-docx plumbing: a Times New Roman A4 document with the NĐ 30 margins, paragraphs, tables, fields."""

from __future__ import annotations

import io
from collections.abc import Sequence

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

from services.aggregator.documents.model import Issuer
from shared.plan import nfc

FONT = "Times New Roman"
BODY_STYLE = "DVCQ Body"
TABLE_STYLE = "DVCQ Table Text"
PAGE_MM = (210, 297)
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
FIRST_LINE_INDENT = Cm(1.27)
TEXT_WIDTH_MM = PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]  # 165 mm portrait
LANDSCAPE_TEXT_WIDTH_MM = PAGE_MM[1] - MARGINS_MM["left"] - MARGINS_MM["right"]  # 252 mm landscape


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


def new_document() -> DocxDocument:
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

    page_setup(doc.sections[0], landscape=False)
    return doc


def page_setup(section: object, *, landscape: bool) -> None:
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


def page_numbers(doc: DocxDocument) -> None:
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


def add_section(doc: DocxDocument, *, landscape: bool) -> None:
    """A new page section (annexes) whose header, linked to the first section's, keeps numbering pages."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    page_setup(section, landscape=landscape)
    section.different_first_page_header_footer = False


def paragraph(
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
        add_run(para, text, bold=bold, italic=italic, size=size)
    return para


def add_run(para: Paragraph, text: str, *, bold: bool = False, italic: bool = False, size: float | None = None) -> None:
    """Add one run of NFC text to a paragraph, bold, italic or sized as asked."""
    run = para.add_run(nfc(text))
    if bold:
        run.bold = True
    if italic:
        run.italic = True
    if size is not None:
        run.font.size = Pt(size)


def centered(container: object, text: str, *, bold: bool = False, italic: bool = False, size: float = 14) -> None:
    """A centred table-text paragraph (the header and signature blocks' lines)."""
    paragraph(container, text, style=TABLE_STYLE, align=WD_ALIGN_PARAGRAPH.CENTER, bold=bold, italic=italic, size=size)


def rule(container: object, *, length_mm: float, cell_mm: float) -> None:
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


def new_table(
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


def write_cell(
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
        add_run(para, text, bold=bold, size=size)


def repeat_header(table: Table) -> None:
    """The first row repeats at the top of every page the table spans."""
    trpr = table.rows[0]._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))


def data_table(
    container: object,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_mm: Sequence[float],
    *,
    size: float = 12,
    numeric_from: int = 2,
) -> Table:
    """A bordered table: bold centred header row, STT centred, text left, figures (from `numeric_from`) right."""
    table = new_table(container, 1 + len(rows), widths_mm, borders=True)
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        write_cell(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=size)
    for tr, values in zip(table.rows[1:], rows, strict=True):
        for i, (cell, text) in enumerate(zip(tr.cells, values, strict=True)):
            if i == 0:
                align = WD_ALIGN_PARAGRAPH.CENTER
            elif i >= numeric_from:
                align = WD_ALIGN_PARAGRAPH.RIGHT
            else:
                align = WD_ALIGN_PARAGRAPH.LEFT
            write_cell(cell, text, align=align, size=size)
        tr._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a unit's row stays on one page
    repeat_header(table)
    return table


def save(doc: DocxDocument) -> bytes:
    """The document as DOCX bytes."""
    """The document as DOCX bytes."""
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def core_properties(doc: DocxDocument, title: str, issuer: Issuer) -> None:
    """Title, author and language of the file's properties."""
    props = doc.core_properties
    props.title = nfc(title)
    props.author = nfc(issuer.name)
    props.last_modified_by = nfc(issuer.name)
    props.language = "vi-VN"
