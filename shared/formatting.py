"""Vietnamese presentation, in one place: dates dd/mm/yyyy, numbers 1.234,5, statuses and levels in words."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from urllib.parse import quote

from shared.timerules import LOCAL_TZ

STATUS_LABELS = {
    "pending": "Chưa đến hạn",
    "overdue": "Quá hạn",
    "submitted_on_time": "Đã nộp đúng hạn",
    "submitted_late": "Đã nộp trễ hạn",
    "waived": "Được miễn",
    "closed_by_reorganisation": "Đóng do sắp xếp tổ chức",
}
STAFF_LABELS = {  # the columns of the staff list (danh sách cán bộ), in the form and on the board
    "ho_ten": "Họ và tên",
    "chuc_vu": "Chức vụ",
    "don_vi": "Đơn vị",
    "dien_thoai": "Điện thoại",
    "email": "Thư điện tử",
    "nhiem_vu": "Nhiệm vụ được phân công",
    "alert_role": "Vai trò nhận cảnh báo",
}
PERCENT_UNIT = "%"  # the catalogue's unit of a rate (0-100 scale)
LEVEL_LABELS = {
    "reminder_7": "Nhắc hạn (trước 7 ngày)",
    "reminder_1": "Nhắc hạn (trước 1 ngày)",
    "overdue": "Quá hạn",
    "escalation_1": "Đôn đốc lần 1 (Giám đốc Sở Nội vụ)",
    "escalation_2": "Đôn đốc lần 2 (Phó Chủ tịch UBND tỉnh)",
}


def vn_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy (a datetime is shown as its local date)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return value.strftime("%d/%m/%Y")


def vn_datetime(value: datetime | None) -> str:
    """HH:MM dd/mm/yyyy in local time."""
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")


def vn_number(value: float | int | None, decimals: int = 0) -> str:
    """1.234 and 95,5: '.' groups thousands, ',' marks decimals; blank for None."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def vn_figure(value: float | int | None, unit: str = "") -> str:
    """A total as shown: 1.234 for counts, 95,5% for a rate (one decimal); blank for None."""
    if value is None:
        return ""
    if unit == "%":
        return f"{vn_number(value, 1)}%"
    return vn_number(value, 0 if float(value).is_integer() else 1)


def vn_change(change: float | int | None, unit: str = "") -> str:
    """A difference with its sign: +12, -3, +2,5 điểm % for a rate; blank for None."""
    if change is None:
        return ""
    sign = "+" if change > 0 else "-" if change < 0 else ""
    text = f"{vn_number(abs(change), 1)} điểm %" if unit == "%" else vn_figure(abs(change), unit)
    return f"{sign}{text}"


def status_label(status: str) -> str:
    """An obligation status in Vietnamese words."""
    return STATUS_LABELS.get(status, status)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII file name (diacritics dropped) and the exact UTF-8 one in RFC 5987 `filename*`."""
    folded = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    ascii_name = re.sub(r"[^A-Za-z0-9._]+", "-", folded.encode("ascii", "ignore").decode()).strip("-") or "tai-lieu"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(unicodedata.normalize('NFC', filename))}"
