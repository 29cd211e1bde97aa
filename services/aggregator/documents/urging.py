"""The công văn đôn đốc: the letter urging the units still overdue to send their report, as DOCX."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm

from services.aggregator.documents import docx_kit as kit
from services.aggregator.documents import nd30
from services.aggregator.documents.model import Signer, UrgingLetterData
from shared.formatting import vn_date

LETTER_RECIPIENTS = (
    "Như trên;",
    "UBND tỉnh (b/c);",
    "Ban Dân vận Tỉnh ủy;",
    "Giám đốc Sở (b/c);",
    "Lưu: VT, CCVC.",
)


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
    doc = kit.new_document()
    subject = f"V/v đôn đốc gửi báo cáo kết quả thực hiện công tác dân vận chính quyền {data.period_name}"
    kit.core_properties(doc, subject, issuer)
    kit.page_numbers(doc)
    nd30.header_block(
        doc,
        issuer,
        nd30.document_number(number, issuer.letter_symbol),
        nd30.vn_place_date(issuer.place, issued_on, data.year),
        subject_line=subject,
    )

    names = [u.name for u in data.overdue]
    if len(names) == 1:
        kit.paragraph(
            doc,
            f"Kính gửi: {names[0]}.",
            style=kit.TABLE_STYLE,
            align=WD_ALIGN_PARAGRAPH.CENTER,
            size=14,
            space_before=18,
        )
    else:
        to = kit.paragraph(doc, "Kính gửi:", style=kit.TABLE_STYLE, size=14, space_before=18)
        to.paragraph_format.left_indent = Cm(3)
        for i, name in enumerate(names):
            end = "." if i == len(names) - 1 else ";"
            item = kit.paragraph(doc, f"- {name}{end}", style=kit.TABLE_STYLE, size=14)
            item.paragraph_format.left_indent = Cm(5)

    deadline = f" chậm nhất ngày {vn_date(data.deadline_day)}" if data.deadline_day else ""
    kit.paragraph(
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
    kit.paragraph(doc, f"Tuy nhiên, đến nay {issuer.name} vẫn chưa nhận được báo cáo của {whom} nêu trên{overdue}.")
    when = f"trước ngày {vn_date(respond_by)}" if respond_by else "ngay khi nhận được Công văn này"
    kit.paragraph(
        doc,
        f"Để kịp thời tổng hợp, báo cáo {issuer.addressee}, {issuer.name} đề nghị Thủ trưởng {whom} khẩn trương "
        f"chỉ đạo hoàn thành và gửi báo cáo về {issuer.name} {when} (gửi trên hệ thống báo cáo trực tuyến hoặc "
        "bằng văn bản).",
    )
    kit.paragraph(doc, f"{issuer.name} đề nghị Thủ trưởng {whom} quan tâm, thực hiện./.")
    nd30.signature_block(doc, signer, recipients)
    return kit.save(doc)
