"""The Vietnamese texts of every notification (alerts, receipts, the daily digest): pure functions, no I/O."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import formataddr
from html import escape

from shared.events import SchedulerLadderHeld, SchedulerLadderResumed
from shared.formatting import status_label, vn_count, vn_date, vn_datetime, vn_rate
from shared.ladder import DIGEST_LEVEL_LABELS, ESCALATED_TO_NAMES, LADDER_LEVELS

SIGNATURE = "Sở Nội vụ tỉnh Trà Vinh – Hệ thống theo dõi báo cáo dân vận chính quyền"
AUTOMATIC_NOTE = "Đây là thư gửi tự động từ hệ thống, vui lòng không trả lời thư này."

RECEIPT_KINDS = ("submitted", "extended", "refused", "waived")


@dataclass(frozen=True)
class Message:
    """One notification's texts: a one-line subject, a plain-text body and an HTML body, all NFC."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class DigestRow:
    """One late unit in a digest: its report, the deadline day in force, days overdue and ladder level."""

    unit_name: str
    period_name: str
    deadline: date
    days_overdue: int
    level: str


@dataclass(frozen=True)
class _Para:
    text: str


@dataclass(frozen=True)
class _Link:
    label: str
    url: str


@dataclass(frozen=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    text_lines: tuple[str, ...]


_Block = _Para | _Link | _Table


def alert_message(
    *,
    level: str,
    unit_name: str,
    period_name: str,
    deadline: date,
    days_overdue: int,
    form_url: str,
    recipient_name: str,
    escalated_to: str | None = None,
) -> Message:
    """The alert of one ladder level (F7) for one unit's report, to one recipient."""
    if level not in LADDER_LEVELS:
        raise ValueError(f"unknown alert level: {level!r}")
    unit, period, due = _line(unit_name), _line(period_name), vn_date(deadline)
    what = f"{period} - {unit}"
    blocks: list[_Block] = [_Para(f"Kính gửi: {_line(recipient_name)}.")]
    if level == "reminder_7":
        subject = f"[Nhắc hạn] {what}: hạn {due}"
        blocks += [
            _Para(f"{period} của {unit} có hạn nộp là ngày {due}."),
            _Para("Đề nghị đơn vị hoàn thành và gửi báo cáo về Sở Nội vụ đúng thời hạn nêu trên."),
        ]
    elif level == "reminder_1":
        subject = f"[Sắp đến hạn] {what}: hạn {due}"
        blocks += [
            _Para(f"{period} của {unit} sắp đến hạn: hạn nộp là ngày làm việc kế tiếp, ngày {due}."),
            _Para("Đề nghị đơn vị khẩn trương hoàn thành và gửi báo cáo về Sở Nội vụ trước thời hạn nêu trên."),
        ]
    elif level == "overdue":
        subject = f"[Quá hạn {days_overdue} ngày] {what}: hạn {due}"
        blocks += [
            _Para(
                f"{period} của {unit} (hạn nộp ngày {due}) đến nay đã quá hạn {days_overdue} ngày "
                "nhưng Sở Nội vụ chưa nhận được."
            ),
            _Para("Đề nghị đơn vị gửi báo cáo ngay."),
        ]
    else:
        to = _escalated_to(level, escalated_to)
        subject = f"[Báo cáo chậm - đã báo cáo {to}] {what}: hạn {due}, quá hạn {days_overdue} ngày"
        blocks += [
            _Para(
                f"{period} của {unit} (hạn nộp ngày {due}) đến nay đã quá hạn {days_overdue} ngày "
                "nhưng Sở Nội vụ chưa nhận được."
            ),
            _Para(f"Sở Nội vụ đã báo cáo {_as_said_by_snv(to)} về việc đơn vị chậm báo cáo."),
            _Para("Đề nghị Thủ trưởng đơn vị chỉ đạo gửi báo cáo ngay."),
        ]
    blocks.append(_Link("Nộp báo cáo tại:", form_url))
    return _render(subject, blocks)


def leadership_message(
    *, level: str, unit_name: str, period_name: str, deadline: date, days_overdue: int, recipient_name: str
) -> Message:
    """A late unit as it reaches the inbox of Sở Nội vụ or the leadership (the level's `digest` roles): what
    the unit was told, for information; the daily digest gathers the same units by mail."""
    if level not in DIGEST_LEVEL_LABELS:
        raise ValueError(f"unknown digest level: {level!r}")
    unit, period, due = _line(unit_name), _line(period_name), vn_date(deadline)
    subject = f"[{DIGEST_LEVEL_LABELS[level]}] {period} - {unit}: hạn {due}, quá hạn {days_overdue} ngày"
    blocks: list[_Block] = [
        _Para(f"Kính gửi: {_line(recipient_name)}."),
        _Para(
            f"{period} của {unit} (hạn nộp ngày {due}) đến nay đã quá hạn {days_overdue} ngày "
            "nhưng Sở Nội vụ chưa nhận được."
        ),
        _Para("Hệ thống đã gửi thông báo đến Thủ trưởng đơn vị."),
        _Para("Thư tổng hợp hằng ngày liệt kê các đơn vị chậm báo cáo."),
    ]
    return _render(subject, blocks)


def receipt_message(
    *,
    kind: str,
    unit_name: str,
    period_name: str,
    recipient_name: str,
    form_url: str,
    received_at: datetime | None = None,
    on_time: bool | None = None,
    new_deadline: date | None = None,
    reason: str | None = None,
) -> Message:
    """A unit's receipt (F9): its submission received, or its extension granted or refused, or its waiver."""
    if kind not in RECEIPT_KINDS:
        raise ValueError(f"unknown receipt kind: {kind!r}")
    if received_at is not None and received_at.tzinfo is None:
        raise ValueError("received_at must carry a time zone")
    unit, period = _line(unit_name), _line(period_name)
    what = f"{period} - {unit}"
    blocks: list[_Block] = [_Para(f"Kính gửi: {_line(recipient_name)}.")]
    why = _line(reason)
    reason_para = [_Para(f"Lý do: {why}" + ("" if why.endswith((".", "!", "?", "…")) else "."))] if why else []
    if kind == "submitted":
        verdict = {True: "đúng hạn", False: "trễ hạn", None: ""}[on_time]
        subject = f"[Đã nhận báo cáo] {what}" + (f": {verdict}" if verdict else "")
        when = f" lúc {vn_datetime(received_at)}" if received_at is not None else ""
        blocks.append(_Para(f"Sở Nội vụ đã nhận {period} của {unit}{when}."))
        if on_time is not None:
            status = status_label("submitted_on_time" if on_time else "submitted_late")
            blocks.append(_Para(f"Tình trạng: {status}."))
        blocks.append(_Link("Xem báo cáo tại:", form_url))
    elif kind == "extended":
        if new_deadline is None:
            raise ValueError("an extension receipt needs new_deadline")
        due = vn_date(new_deadline)
        subject = f"[Gia hạn] {what}: hạn mới {due}"
        blocks += [
            _Para(f"Sở Nội vụ đồng ý gia hạn nộp {period} của {unit}."),
            _Para(f"Hạn nộp mới: ngày {due}."),
            *reason_para,
            _Link("Nộp báo cáo tại:", form_url),
        ]
    elif kind == "refused":
        subject = f"[Không chấp thuận gia hạn] {what}"
        blocks += [
            _Para(f"Sở Nội vụ không chấp thuận đề nghị gia hạn nộp {period} của {unit}."),
            *reason_para,
            _Para("Đề nghị đơn vị gửi báo cáo theo thời hạn đã quy định."),
            _Link("Nộp báo cáo tại:", form_url),
        ]
    else:
        subject = f"[Miễn báo cáo] {what}"
        blocks += [
            _Para(f"Sở Nội vụ đồng ý miễn nộp {period} cho {unit} (tình trạng: {status_label('waived')})."),
            *reason_para,
            _Para("Đơn vị không phải gửi báo cáo này."),
            _Link("Xem chi tiết tại:", form_url),
        ]
    return _render(subject, blocks)


def digest_message(
    *, recipient_name: str, day: date, rows: list[DigestRow], expected: Mapping[str, int] | None = None
) -> Message:
    """The daily digest of late units (F7) for leadership or Sở Nội vụ, rows kept in the order given; with
    `expected` (reports due per period name), each period's late units as a share of them."""
    for row in rows:
        if row.level not in DIGEST_LEVEL_LABELS:
            raise ValueError(f"unknown digest level: {row.level!r}")
    today = vn_date(day)
    subject = f"Tổng hợp đơn vị chậm báo cáo ngày {today}"
    cells = tuple(
        (
            str(n),
            _line(row.unit_name),
            _line(row.period_name),
            vn_date(row.deadline),
            f"{vn_count(row.days_overdue)} ngày",
            DIGEST_LEVEL_LABELS[row.level],
        )
        for n, row in enumerate(rows, start=1)
    )
    lines = tuple(
        f"{n}. {unit} – {period} – hạn {due} – quá hạn {days} – {lvl}" for n, unit, period, due, days, lvl in cells
    )
    blocks: list[_Block] = [_Para(f"Kính gửi: {_line(recipient_name)}.")]
    if rows:
        blocks += [
            _Para(f"Sở Nội vụ tổng hợp các đơn vị chưa nộp báo cáo đã quá hạn, tính đến ngày {today}:"),
            _Table(("STT", "Đơn vị", "Báo cáo", "Hạn nộp", "Quá hạn", "Tình trạng"), cells, lines),
        ]
    else:
        blocks.append(_Para(f"Tính đến ngày {today}, không có đơn vị nào chậm báo cáo."))
    late: dict[str, int] = {}
    for row in rows:
        late[_line(row.period_name)] = late.get(_line(row.period_name), 0) + 1
    for period, count in late.items():
        due = (expected or {}).get(period)
        if due:
            share = vn_rate(100 * count / due)
            blocks.append(_Para(f"{period}: {vn_count(count)}/{vn_count(due)} đơn vị chậm báo cáo ({share})."))
    blocks.append(_Para(f"Tổng số: {vn_count(len(rows))} đơn vị chậm báo cáo."))
    return _render(subject, blocks)


def mailbox(name: str, address: str) -> str:
    """A From/To header value "Display Name <addr>", the non-ASCII display name RFC 2047-encoded in UTF-8."""
    # One encoded-word, as formataddr makes it: an EmailMessage (default policy) parses it exactly and refolds it
    # into RFC-sized words on output; several words here would come back from that parser with a stray space.
    address = address.strip()
    if not address.isascii() or any(c in address for c in '\r\n<>" '):
        raise ValueError(f"not a plain ASCII e-mail address: {address!r}")
    return formataddr((_line(name), address), charset="utf-8")


def _escalated_to(level: str, escalated_to: str | None) -> str:
    """The display name of who the lateness was reported to; the plan's role codes become names."""
    if escalated_to is None or not escalated_to.strip():
        return ESCALATED_TO_NAMES[level]
    return ESCALATED_TO_NAMES.get(escalated_to.strip(), _line(escalated_to))


def _as_said_by_snv(name: str) -> str:
    """A title as Sở Nội vụ says it of its own people: "Sở Nội vụ đã báo cáo Giám đốc Sở", never "... Giám
    đốc Sở Nội vụ" after "Sở Nội vụ" (the subject keeps the full title: it is read out of that sentence)."""
    return name.removesuffix(" Nội vụ") if name.endswith(" Sở Nội vụ") else name


def _line(value: str | None) -> str:
    """NFC, on one line: runs of whitespace (line breaks included) become one space, so no header can be split."""
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _render(subject: str, blocks: list[_Block]) -> Message:
    """Both bodies from the same blocks, the signature appended; every value escaped in the HTML."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    for block in blocks:
        if isinstance(block, _Para):
            text_parts.append(block.text)
            html_parts.append("<p>" + escape(block.text) + "</p>")
        elif isinstance(block, _Link):
            url = _line(block.url)
            text_parts.append(block.label + " " + url)
            html_parts.append("<p>" + escape(block.label) + " " + _anchor(url) + "</p>")
        else:
            text_parts.append("\n".join(block.text_lines))
            head = "".join("<th>" + escape(h) + "</th>" for h in block.header)
            body = "".join(
                "<tr>" + "".join("<td>" + escape(cell) + "</td>" for cell in row) + "</tr>" for row in block.rows
            )
            html_parts.append(
                '<table border="1" cellpadding="4" cellspacing="0">'
                + "<thead><tr>"
                + head
                + "</tr></thead><tbody>"
                + body
                + "</tbody></table>"
            )
    text_parts.append("-- \n" + SIGNATURE + "\n" + AUTOMATIC_NOTE)
    html_parts.append("<hr><p>" + escape(SIGNATURE) + "<br><small>" + escape(AUTOMATIC_NOTE) + "</small></p>")
    subject = _line(subject)
    html = (
        '<html lang="vi"><head><meta charset="utf-8"><title>'
        + escape(subject)
        + "</title></head><body>"
        + "".join(html_parts)
        + "</body></html>"
    )
    return Message(subject=_nfc(subject), text=_nfc("\n\n".join(text_parts) + "\n"), html=_nfc(html))


def _anchor(url: str) -> str:
    """A link for http(s) addresses only; anything else (javascript:, data:) is shown as inert text."""
    if url.lower().startswith(("http://", "https://")):
        return '<a href="' + escape(url) + '">' + escape(url) + "</a>"
    return escape(url)


def ladder_message(data: SchedulerLadderHeld | SchedulerLadderResumed, *, recipient_name: str) -> Message:
    """The Vietnamese texts of a hold (since when and why) or of its end."""
    since = vn_datetime(data.held_since)
    blocks = [_Para(f"Kính gửi: {recipient_name}.")]
    if isinstance(data, SchedulerLadderHeld):
        subject = f"[Tạm dừng cảnh báo] Hệ thống tạm dừng nhắc nhở, đôn đốc báo cáo từ {since}"
        blocks += [
            _Para(
                f"Từ {since}, hệ thống tạm dừng gửi các thông báo nhắc nhở, quá hạn và đôn đốc đến các đơn vị, "
                "để không báo sai cho những đơn vị đã nộp báo cáo."
            ),
            _Para(f"Lý do: {data.reason}"),
            _Para(
                "Các báo cáo đơn vị đã gửi vẫn được lưu đầy đủ. Trong thời gian này, đề nghị không đôn đốc đơn vị "
                "theo bảng theo dõi; bộ phận kỹ thuật cần kiểm tra hàng đợi thông điệp và các tiến trình của hệ "
                "thống. Hệ thống sẽ gửi thông báo khi hoạt động lại."
            ),
        ]
    else:
        resumed = vn_datetime(data.resumed_at)
        subject = f"[Hoạt động lại] Hệ thống đã tiếp tục nhắc nhở, đôn đốc báo cáo từ {resumed}"
        blocks += [
            _Para(
                f"Luồng dữ liệu báo cáo đã phục hồi. Các thông báo nhắc nhở, quá hạn và đôn đốc tạm dừng từ {since} "
                f"đã được xét lại lúc {resumed} với mọi báo cáo hệ thống đã nhận."
            ),
            _Para(
                "Đơn vị chưa nộp chỉ nhận mức thông báo cao nhất đến hạn; các mức cũ hơn được bỏ qua, đơn vị đã nộp "
                "không nhận thông báo quá hạn."
            ),
        ]
    return _render(subject, list(blocks))
