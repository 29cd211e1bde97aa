"""The unit list as Sở Nội vụ keeps it in a spreadsheet (issue 14, F2, F18): read it from XLSX, write it back.

One sheet, a Vietnamese header row (`HEADERS`, in that order when dvcq writes it; read by header text, so the
columns may be moved), then one row per unit in official order (the row order is the `order` of the units):

| header | field | rule |
| --- | --- | --- |
| Mã đơn vị | code | required, unique in the file: upper-case letters, digits, `_` |
| Tên đơn vị | name | required |
| Loại đơn vị | types | `shared.plan.UNIT_TYPES` codes, comma-separated (`SO, SNV`); blank: the unit does not report |
| Hiệu lực từ ngày | valid_from | required date (dd/mm/yyyy, yyyy-mm-dd or a date cell) |
| Hết hiệu lực từ ngày | valid_until | optional date: the first day the unit no longer exists (as `Unit.valid_until`) |
| Đơn vị kế thừa | successors | codes separated by commas: units of the file, or of another plan dvcq knows |
| Đầu mối: họ tên / thư điện tử / điện thoại | the focal officer | a reporting unit needs a name and an e-mail |
| Thủ trưởng: họ tên / thư điện tử / điện thoại | the head | a reporting unit needs a name and an e-mail |

E-mails and phones are checked and normalised by `shared.addresses` (the staff list's own rules). Every bad row
is reported (`UnitListError`: row, column, why, in Vietnamese), and nothing is returned to apply unless the
whole file is clean. Choices where the issue is silent:
- The file is the whole list: a unit of the plan in force that the file lacks is an error, since a unit is never
  deleted (its history stays readable); it is ended by a "Hết hiệu lực từ ngày".
- What the sheet has no column for is kept from the unit of the same code in the plan in force: a non-reporting
  unit's reason, the successors' note, the contacts' titles and the `other` contacts. A new non-reporting unit
  gets a generic reason.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.addresses import InvalidAddress, normalise_email, normalise_mobile
from shared.formatting import nfc, vn_date
from shared.plan import UNIT_TYPES, Contact, Unit

SHEET_TITLE = "Danh sách đơn vị"
HEADERS: tuple[tuple[str, str], ...] = (
    ("code", "Mã đơn vị"),
    ("name", "Tên đơn vị"),
    ("types", "Loại đơn vị"),
    ("valid_from", "Hiệu lực từ ngày"),
    ("valid_until", "Hết hiệu lực từ ngày"),
    ("successors", "Đơn vị kế thừa"),
    ("focal_name", "Đầu mối: họ tên"),
    ("focal_email", "Đầu mối: thư điện tử"),
    ("focal_phone", "Đầu mối: điện thoại"),
    ("head_name", "Thủ trưởng: họ tên"),
    ("head_email", "Thủ trưởng: thư điện tử"),
    ("head_phone", "Thủ trưởng: điện thoại"),
)
LABELS = dict(HEADERS)
MAX_ROWS = 5000
MAX_COLUMNS = 40  # the layout has 12; columns past this are never read
NOT_REPORTING = "Không thuộc diện báo cáo (theo danh sách đơn vị do Sở Nội vụ nhập)."
_DEFAULT_TITLES = {"focal": "Cán bộ đầu mối", "head": "Thủ trưởng đơn vị"}
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_DATE_TEXT = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")


@dataclass(frozen=True)
class UnitListError:
    """One problem of the file: its row (1 = the header row; None for the file as a whole), the column's header
    (None when it concerns the row or the file) and why, in Vietnamese."""

    row: int | None
    column: str | None
    message: str

    def letter(self) -> str | None:
        """The spreadsheet letter of the column in dvcq's own layout (A for 'Mã đơn vị'), if it has one."""
        keys = [label for _, label in HEADERS]
        return chr(ord("A") + keys.index(self.column)) if self.column in keys else None

    def text(self) -> str:
        """One line for people: 'Dòng 5, cột C (Loại đơn vị): ...'."""
        where = []
        if self.row is not None:
            where.append(f"Dòng {self.row}")
        if self.column is not None:
            letter = self.letter()
            where.append(f"cột {letter} ({self.column})" if letter else f"cột {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def to_json(self) -> dict[str, Any]:
        """The error as the API returns it."""
        return {"row": self.row, "column": self.column, "message": self.message, "text": self.text()}


@dataclass(frozen=True)
class UnitListImport:
    """The outcome of reading a file: the units when it is clean, else every error (and no units)."""

    units: tuple[Unit, ...] = ()
    errors: tuple[UnitListError, ...] = ()
    rows: int = 0

    @property
    def ok(self) -> bool:
        """True when the file is clean and its units may be applied."""
        return not self.errors


class UnreadableFile(ValueError):
    """The upload is not an XLSX workbook dvcq can read; the message is Vietnamese."""


@dataclass
class _Row:
    number: int
    cells: dict[str, Any]
    errors: list[UnitListError] = field(default_factory=list)

    def fail(self, key: str | None, message: str) -> None:
        self.errors.append(UnitListError(self.number, LABELS[key] if key else None, message))

    def text(self, key: str) -> str:
        value = self.cells.get(key)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return " ".join(nfc(str(value)).split())


def read_unit_list(
    data: bytes,
    *,
    in_force: Sequence[Unit] = (),
    other_codes: Iterable[str] = (),
    taken_codes: Mapping[str, str] | None = None,
) -> UnitListImport:
    """Read an XLSX unit list and check every row against the plan in force (`in_force`, for the units it must
    keep and the fields the sheet has no column for) and the codes of other plans (`other_codes`, allowed as
    successors). `taken_codes`: the codes of the other plans the stack runs, by plan id; a row may not take one
    (a code is one unit of one plan: `shared.plan.load_plans`). Raise `UnreadableFile` when the bytes are no
    workbook."""
    rows = _sheet_rows(data)
    if not rows:
        return UnitListImport(errors=(UnitListError(None, None, "Tệp không có dữ liệu."),))
    columns, errors = _columns(rows[0])
    if errors:
        return UnitListImport(errors=tuple(errors))
    body = [
        _Row(number, {key: values[i] if i < len(values) else None for key, i in columns.items()})
        for number, values in enumerate(rows[1:], start=2)
    ]
    body = [r for r in body if any(r.text(key) for key in columns)]
    if not body:
        return UnitListImport(errors=(UnitListError(None, None, "Tệp không có dòng đơn vị nào."),))
    if len(body) > MAX_ROWS:
        return UnitListImport(errors=(UnitListError(None, None, f"Tệp có quá {MAX_ROWS} đơn vị."),))
    previous = {u.code: u for u in in_force}
    codes = _codes(body)
    for row in body:
        plan = (taken_codes or {}).get(row.text("code"))
        if plan is not None:
            row.fail("code", f"Mã {row.text('code')} là đơn vị của kế hoạch {plan}: mỗi mã chỉ thuộc một kế hoạch.")
    known = set(codes) | set(previous) | set(other_codes)
    units = [_unit(row, order, previous, known) for order, row in enumerate(body, start=1)]
    all_errors = [e for row in body for e in row.errors]
    for code, unit in previous.items():
        if code not in codes:
            all_errors.append(
                UnitListError(
                    None,
                    LABELS["code"],
                    f"Đơn vị {code} ({unit.name}) đang có trong kế hoạch nhưng không có trong tệp. Không xóa đơn vị "
                    "khỏi danh sách: để chấm dứt, ghi ngày ở cột Hết hiệu lực từ ngày.",
                )
            )
    if all_errors:
        return UnitListImport(errors=tuple(all_errors), rows=len(body))
    return UnitListImport(units=tuple(u for u in units if u is not None), rows=len(body))


def _sheet_rows(data: bytes) -> list[tuple[Any, ...]]:
    """Every row of the workbook's first sheet (values only), or UnreadableFile."""
    from openpyxl import load_workbook  # openpyxl is heavy: loaded only by the process that reads a file

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnreadableFile("Tệp không phải bảng tính Excel (.xlsx).")
    unreadable = "Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không đúng định dạng."
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign file
        raise UnreadableFile(unreadable) from exc
    try:
        if not book.worksheets:
            raise UnreadableFile("Tệp Excel không có trang tính nào.")
        rows = []
        # read row by row, at most MAX_COLUMNS wide, stopping past MAX_ROWS: a small upload may unpack to a huge sheet
        for values in book.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True):
            rows.append(tuple(values))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except UnreadableFile:
        raise
    except Exception as exc:  # a sheet that breaks while it is read
        raise UnreadableFile(unreadable) from exc
    finally:
        book.close()


def _columns(header: tuple[Any, ...]) -> tuple[dict[str, int], list[UnitListError]]:
    """Where each known header is (by its text, ignoring case and spaces); errors for the missing ones."""
    wanted = {_folded(label): key for key, label in HEADERS}
    found: dict[str, int] = {}
    errors: list[UnitListError] = []
    for i, cell in enumerate(header):
        key = wanted.get(_folded(str(cell))) if cell is not None else None
        if key is not None:
            if key in found:
                errors.append(UnitListError(1, LABELS[key], "Tiêu đề cột bị lặp lại."))
            found[key] = i
    for key, label in HEADERS:
        if key not in found:
            errors.append(UnitListError(1, label, f"Thiếu cột có tiêu đề “{label}” ở dòng tiêu đề."))
    return found, errors


def _folded(text: str) -> str:
    return " ".join(nfc(text).split()).casefold()


def _codes(body: list[_Row]) -> dict[str, int]:
    """The valid codes of the file and their first row; flags missing, malformed and duplicate codes."""
    seen: dict[str, int] = {}
    for row in body:
        code = row.text("code")
        if not code:
            row.fail("code", "Thiếu mã đơn vị.")
        elif not _CODE.match(code):
            row.fail(
                "code", f"Mã “{code}” không hợp lệ: chỉ gồm chữ in hoa không dấu, chữ số và dấu _, bắt đầu bằng chữ."
            )
        elif code in seen:
            row.fail("code", f"Mã {code} trùng với dòng {seen[code]}.")
        else:
            seen[code] = row.number
    return seen


def _unit(row: _Row, order: int, previous: dict[str, Unit], known: set[str]) -> Unit | None:
    """The row as a Unit, or None after recording its errors on the row."""
    code = row.text("code")
    name = row.text("name")
    if not name:
        row.fail("name", "Thiếu tên đơn vị.")
    types = tuple(t.strip().upper() for t in re.split(r"[,;]", row.text("types")) if t.strip())
    unknown = [t for t in types if t not in UNIT_TYPES]
    if unknown:
        row.fail("types", f"Loại đơn vị không có: {', '.join(unknown)}. Các loại được dùng: {', '.join(UNIT_TYPES)}.")
    if len(set(types)) != len(types):
        row.fail("types", "Một loại đơn vị được ghi hai lần.")
    valid_from = _date(row, "valid_from", required=True)
    valid_until = _date(row, "valid_until", required=False)
    if valid_from and valid_until and valid_until <= valid_from:
        row.fail(
            "valid_until",
            f"Ngày hết hiệu lực ({vn_date(valid_until)}) phải sau ngày bắt đầu hiệu lực ({vn_date(valid_from)}).",
        )
    successors = tuple(s.strip().upper() for s in re.split(r"[,;]", row.text("successors")) if s.strip())
    for successor in successors:
        if successor == code:
            row.fail("successors", "Đơn vị không thể kế thừa chính mình.")
        elif successor not in known:
            row.fail("successors", f"Đơn vị kế thừa {successor} không có trong tệp hay trong kế hoạch nào.")
    if successors and valid_until is None:
        row.fail("successors", "Chỉ ghi đơn vị kế thừa khi đơn vị có ngày hết hiệu lực.")
    reports = bool(types)
    before = previous.get(code)
    contacts = tuple(c for role in ("focal", "head") if (c := _contact(row, role, reports, before)) is not None)
    if row.errors:
        return None
    assert valid_from is not None
    kept = tuple(c for c in before.contacts if c.alert_role == "other") if before else ()
    return Unit(
        code=code,
        name=name,
        order=order,
        types=types,
        reports=reports,
        valid_from=valid_from,
        valid_until=valid_until,
        successors=successors,
        contacts=contacts + kept,
        not_reporting_reason=None if reports else ((before.not_reporting_reason if before else None) or NOT_REPORTING),
        successors_note=before.successors_note if before else None,
    )


def _date(row: _Row, key: str, *, required: bool) -> date | None:
    value = row.cells.get(key)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = row.text(key)
    if not text:
        if required:
            row.fail(key, "Thiếu ngày (dạng dd/mm/yyyy).")
        return None
    match = _DATE_TEXT.match(text)
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(text)
    except ValueError:
        pass
    row.fail(key, f"“{text}” không phải ngày hợp lệ (dạng dd/mm/yyyy, ví dụ 01/07/2026).")
    return None


def _contact(row: _Row, role: str, reports: bool, before: Unit | None) -> Contact | None:
    name, email, phone = row.text(f"{role}_name"), row.text(f"{role}_email"), row.text(f"{role}_phone")
    who = "đầu mối" if role == "focal" else "thủ trưởng"
    if not (name or email or phone):
        if reports:
            row.fail(f"{role}_name", f"Đơn vị có báo cáo cần họ tên và thư điện tử của {who}.")
        return None
    if not name:
        row.fail(f"{role}_name", f"Thiếu họ tên {who}.")
    if reports and not email:
        row.fail(f"{role}_email", f"Thiếu thư điện tử của {who} (để nhận nhắc hạn).")
    checked_email = checked_phone = None
    if email:
        try:
            checked_email = normalise_email(email)
        except InvalidAddress as exc:
            row.fail(f"{role}_email", f"Thư điện tử “{email}” {exc}")
    if phone:
        try:
            checked_phone = normalise_mobile(phone)
        except InvalidAddress as exc:
            row.fail(f"{role}_phone", f"Số điện thoại “{phone}” {exc}")
    earlier = next((c for c in before.contacts if c.alert_role == role), None) if before else None
    title = earlier.title if earlier and earlier.title else _DEFAULT_TITLES[role]
    return Contact(alert_role=role, name=name, title=title, email=checked_email, phone=checked_phone)


def unit_list_rows(units: Iterable[Unit]) -> list[list[Any]]:
    """The header row and one row per unit, in official order, as the workbook holds them."""
    ordered = sorted(units, key=lambda u: (u.order is None, u.order or 0, u.code))
    out: list[list[Any]] = [[label for _, label in HEADERS]]
    for unit in ordered:
        by_role = {c.alert_role: c for c in reversed(unit.contacts)}
        row: list[Any] = [
            unit.code,
            unit.name,
            ", ".join(unit.types),
            unit.valid_from if unit.valid_from != date.min else None,
            unit.valid_until,
            ", ".join(unit.successors),
        ]
        for role in ("focal", "head"):
            person = by_role.get(role)
            row += [person.name, person.email, person.phone] if person else [None, None, None]
        out.append(row)
    return out


def unit_list_workbook(units: Iterable[Unit]) -> bytes:
    """The unit list as an XLSX file in the layout `read_unit_list` reads (dates as date cells, dd/mm/yyyy): the
    template Sở Nội vụ downloads, edits and uploads again."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    for row in unit_list_rows(units):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in ("D", "E"):
        for cell in sheet[column][1:]:
            cell.number_format = "DD/MM/YYYY"
    widths = (14, 48, 14, 16, 18, 22, 28, 30, 16, 28, 30, 16)
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
