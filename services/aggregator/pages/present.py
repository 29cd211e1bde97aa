"""What the board shows, in Vietnamese: a unit's row, the compliance figures, the totals' lines, a report's content."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.aggregator.pages.charts import bar_width, largest_count
from services.aggregator.totals.sums import TYPE_LABELS, PeriodTotals
from shared.formatting import STAFF_LABELS, vn_change, vn_count, vn_date, vn_datetime, vn_figure, vn_rate
from shared.ladder import LEVEL_LABELS
from shared.plan import Period, Template
from shared.timerules import deadline_day, parse_instant

FIGURES = (
    ("EXPECTED_REPORTS", "Số báo cáo phải nộp"),
    ("ACTUAL_REPORTS", "Số báo cáo đã nộp"),
    ("ACTUAL_REPORTS_ON_TIME", "Số báo cáo nộp đúng hạn"),
    ("REPORTING_RATE", "Tỷ lệ đã nộp"),
    ("REPORTING_RATE_ON_TIME", "Tỷ lệ nộp đúng hạn"),
)
RATES = ("REPORTING_RATE", "REPORTING_RATE_ON_TIME")


SHORT_KINDS = {"staff_list": "Danh sách cán bộ", "semiannual": "6 tháng đầu năm", "annual": "Cả năm"}
QUARTERS = {"Q1": "Quý I", "Q2": "Quý II", "Q3": "Quý III", "Q4": "Quý IV"}


def short_period(period: Period) -> str:
    """A period's name short enough for a column of the year's grid (the year is the grid's): "Quý III",
    "6 tháng đầu năm", "Cả năm", "Danh sách cán bộ"; its full name for a kind without a short one."""
    if period.kind == "quarterly":
        return QUARTERS.get(period.key.rsplit("-", 1)[-1], period.name)
    return SHORT_KINDS.get(period.kind, period.name)


def when(text: str | None) -> str:
    """A stored ISO instant shown in local time (HH:MM dd/mm/yyyy, as every dvcq page)."""
    return vn_datetime(parse_instant(text)) if text else ""


def deadline(due_before: str | None) -> str:
    """The deadline day (dd/mm/yyyy) of a stored due-before instant."""
    return vn_date(deadline_day(parse_instant(due_before))) if due_before else ""


def day(text: str | None) -> str:
    """A stored YYYY-MM-DD day as dd/mm/yyyy (kept as given when it is not a day)."""
    try:
        return vn_date(date.fromisoformat(text)) if text else ""
    except ValueError:
        return text or ""


def number(value: Any, unit: str = "") -> str:
    """A reported figure the Vietnamese way (1.234; 95,5%); "—" when not reported; anything else as typed."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        return str(value)
    return vn_figure(value, unit)


def row(found: dict[str, Any]) -> dict[str, Any]:
    """A board row with what the page shows: deadline, receipt, days late or overdue, extension, level."""
    status = found["status"]
    delay = ""
    if status == "submitted_late" and found.get("days_late"):
        delay = f"Trễ {found['days_late']} ngày"
    elif status == "overdue" and found.get("days_overdue") is not None:
        delay = f"Quá hạn {found['days_overdue']} ngày"
    extension = ""
    if found.get("extended"):
        extension = f"Đã gia hạn đến {deadline(found.get('due_before'))}"
    return {
        **found,
        "deadline": deadline(found.get("due_before")),
        "received": when(found.get("received_at")),
        "delay": delay,
        "extension": extension,
        "level_label": LEVEL_LABELS.get(found.get("level") or "", found.get("level") or ""),
        "type_labels": [TYPE_LABELS.get(t, t) for t in found.get("types") or []],
    }


def figures(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The period's compliance figures, labelled: counts, then rates with one decimal ("—" with nothing expected)."""
    out = []
    for key, label in FIGURES:
        value = view.get(key)
        shown = vn_rate(value) if key in RATES else vn_count(value)
        out.append({"key": key, "label": label, "value": shown})
    return out


def totals_lines(totals: PeriodTotals) -> list[dict[str, Any]]:
    """Each content area's lines with a bar: counts scaled to the area's largest total, rates to 100%."""
    areas = []
    for area in totals.areas:
        largest = largest_count([(line.total, line.unit) for line in area.indicators])
        lines = []
        for line in area.indicators:
            lines.append(
                {
                    "key": line.key,
                    "label": line.label,
                    "unit": line.unit,
                    "total": number(line.total, line.unit),
                    "reported": line.reported,
                    "missing": line.missing,
                    "previous": number(line.previous, line.unit) if line.previous is not None else "",
                    "change": vn_change(line.change, line.unit) if line.change is not None else "",
                    "width": bar_width(line.total, line.unit, largest),
                    "derived": line.derived,
                }
            )
        areas.append({"area": area.area, "name": area.name, "lines": lines})
    return areas


def content_sections(template: Template | None, content: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's content as the page shows it: per content area its indicators (label, figure, unit) and
    narrative, then sections II-IV."""
    if template is None or template.staff_fields:
        return []
    values = content.get("indicators") if isinstance(content.get("indicators"), dict) else {}
    narratives = content.get("narratives") if isinstance(content.get("narratives"), dict) else {}
    assessment = content.get("assessment") if isinstance(content.get("assessment"), dict) else {}
    out = []
    for area, name in sorted(template.areas.items()):
        lines = [
            {"key": i.key, "label": i.label, "unit": i.unit, "value": number(values.get(i.key), i.unit)}
            for i in template.indicators
            if i.area == area
        ]
        out.append({"title": f"{area}. {name}", "lines": lines, "text": narratives.get(f"area_{area}") or ""})
    texts = [
        (template.sections.get("strengths", "Ưu điểm"), assessment.get("strengths")),
        (template.sections.get("limitations", "Hạn chế"), assessment.get("limitations")),
        (template.sections.get("causes", "Nguyên nhân"), assessment.get("causes")),
        (template.sections.get("next_tasks", "III."), content.get("next_tasks")),
        (template.sections.get("recommendations", "IV."), content.get("recommendations")),
    ]
    out.append(
        {
            "title": template.sections.get("assessment", "II. Đánh giá chung"),
            "lines": [],
            "texts": [(label, text or "") for label, text in texts],
        }
    )
    return out


def staff(template: Template | None, content: dict[str, Any]) -> dict[str, Any] | None:
    """The staff list of a staff-template report: its columns (labelled) and people; None for other reports."""
    if template is None or not template.staff_fields:
        return None
    people = [p for p in content.get("staff") or [] if isinstance(p, dict)]
    columns = [(f, STAFF_LABELS.get(f, f)) for f in template.staff_fields]
    return {"columns": columns, "people": people}
