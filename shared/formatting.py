"""Vietnamese presentation, in one place, for pages, mails and documents alike: numbers, rates, dates, words.

The convention, everywhere a person reads a figure:
- '.' groups thousands and ',' marks decimals: 1.234 and 12,5.
- A count is whole: 1.234 (a value that is not whole keeps one decimal: 12,5).
- A rate (0-100 scale) always has one decimal and its sign: 95,5%, 100,0%, 0,0%; in a table whose unit column
  already says "%", the same digits without the sign (95,5). A change of a rate is in points: +2,5 điểm %.
- "—" means "no data" (not reported, nothing expected) and nothing else; never 0. Tables of the documents
  (DOCX, XLSX, CSV) leave such a cell blank instead, as official tables and spreadsheets do.
- Days are dd/mm/yyyy, instants HH:MM dd/mm/yyyy in Trà Vinh time; a plan's own texts (deadline rules, the reasons
  a period is not applicable) write days as the plan does, d/m/yyyy without leading zeros: 10/3/2019.
"""

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
NO_DATA = "—"
WEEKDAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def nfc(text: str) -> str:
    """Unicode NFC, the one normal form dvcq stores (composed and decomposed input compare equal).

    The old and new tone placements ('Hoá'/'Hóa') are different letters even in NFC: units are therefore
    identified by code, never by name.
    """
    return unicodedata.normalize("NFC", text)


def vn_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy (a datetime is shown as its local date)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return value.strftime("%d/%m/%Y")


def vn_day(value: date) -> str:
    """d/m/yyyy without leading zeros, as plan texts write a day: 10/3/2019, trước 30/3/2019."""
    return f"{value.day}/{value.month}/{value.year}"


def vn_weekday(value: date) -> str:
    """The day of the week in words, as written inside a sentence: "thứ Hai" ... "Chủ nhật"."""
    return WEEKDAY_NAMES[value.weekday()]


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


def vn_count(value: float | int | None) -> str:
    """A count: 1.234 (one decimal if not whole: 12,5); "—" for no data."""
    if value is None:
        return NO_DATA
    return vn_number(value, 0 if float(value).is_integer() else 1)


def vn_rate(value: float | int | None, *, sign: bool = True) -> str:
    """A rate on the 0-100 scale with one decimal: 95,5% (95,5 without its sign); "—" for no data."""
    if value is None:
        return NO_DATA
    return vn_number(value, 1) + ("%" if sign else "")


def vn_figure(value: float | int | None, unit: str = "") -> str:
    """An indicator's figure: a rate when its unit is "%", else a count; "—" for no data."""
    return vn_rate(value) if unit == PERCENT_UNIT else vn_count(value)


def vn_change(change: float | int | None, unit: str = "") -> str:
    """A difference with its sign: +12, -1.234, 0; a rate's in points: -3,5 điểm %; "—" for no data."""
    if change is None:
        return NO_DATA
    sign = "+" if change > 0 else "-" if change < 0 else ""
    text = f"{vn_rate(abs(change), sign=False)} điểm %" if unit == PERCENT_UNIT else vn_count(abs(change))
    return f"{sign}{text}"


def status_label(status: str) -> str:
    """An obligation status in Vietnamese words."""
    return STATUS_LABELS.get(status, status)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII file name (diacritics dropped) and the exact UTF-8 one in RFC 5987 `filename*`."""
    folded = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    ascii_name = re.sub(r"[^A-Za-z0-9._]+", "-", folded.encode("ascii", "ignore").decode()).strip("-") or "tai-lieu"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(nfc(filename))}"
