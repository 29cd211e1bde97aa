"""Aggregator's domain: a period's compliance board, one row per unit, and its DHIS2 figures (plain Python)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.events import (
    DeadlineData,
    ObligationClosed,
    ObligationData,
    ObligationExtended,
    ObligationFulfilled,
    ObligationLevel,
    ObligationWaived,
    ReportAmended,
    ReportData,
)
from shared.plan import Plan
from shared.timerules import days_overdue, local_date, local_iso, parse_instant

FINAL_STATUSES = ("submitted_on_time", "submitted_late", "waived", "closed_by_reorganisation")
NOT_EXPECTED = ("waived", "closed_by_reorganisation")


def board_key(plan_id: str, period: str) -> str:
    """A period's board (`<plan>:<period>`): the equality field `board` of its rows, on the board and the reports."""
    return f"{plan_id}:{period}"


def row_id(plan_id: str, period: str, agency: str) -> str:
    """The `_id` of one unit's row of a period (`<plan>:<period>:<unit>`), on the board and the reports."""
    return f"{board_key(plan_id, period)}:{agency}"


def _new_row(plan_id: str, period: str, agency: str) -> dict[str, Any]:
    return {
        "_id": row_id(plan_id, period, agency),
        "board": board_key(plan_id, period),
        "plan": plan_id,
        "period": period,
        "agency": agency,
    }


def new_board_row(plan_id: str, period: str, agency: str) -> dict[str, Any]:
    """A unit's compliance row of a period before any event: pending."""
    return {
        **_new_row(plan_id, period, agency),
        "status": "pending",
        "level": None,
        "received_at": None,
        "days_late": None,
        "version": 0,
    }


def apply_obligation_event(row: dict[str, Any], data: ObligationData, version: int) -> bool:
    """Apply one obligation event to its unit's row (`new_board_row` or as stored); True if it changed anything.

    Each field is kept from the event that decides it whatever the delivery order, so the same events delivered
    twice or in any order leave the board a rebuild would make:
    - the status: the first final event (fulfilled, waived, closed) wins and sticks, whatever its version: a
      report received before the deadline but delivered after that day's `obligation.overdue` (a broker
      outage) still ends as submitted on time;
    - the deadline in force (`due_before`, `generation`): from the event of the highest (generation, version)
      that carries one; `extended` once any extension is seen;
    - the level: from the level event of the highest version.
    """
    entry = dict(row)
    if isinstance(data, DeadlineData):
        key = (data.generation, version)
        if key > (entry.get("deadline_generation", 0), entry.get("deadline_version", 0)):
            entry.update(
                due_before=data.due_before.isoformat(),
                generation=data.generation,
                deadline_generation=key[0],
                deadline_version=key[1],
            )
    if isinstance(data, ObligationExtended):
        entry["extended"] = True
    if isinstance(data, ObligationLevel) and version > entry.get("level_version", 0):
        entry.update(level=data.level, level_version=version)
    if entry["status"] not in FINAL_STATUSES:
        if isinstance(data, ObligationFulfilled):
            entry.update(status=data.status, received_at=data.received_at.isoformat(), days_late=data.days_late)
        elif isinstance(data, ObligationWaived):
            entry.update(status="waived")
        elif isinstance(data, ObligationClosed):
            entry.update(status="closed_by_reorganisation")
    entry["version"] = max(version, entry.get("version", 0))
    if entry == row:
        return False
    row.update(entry)
    return True


def figures(statuses: Iterable[str]) -> dict[str, Any]:
    """The five DHIS2 figures of a board from its rows' statuses (`overdue` counts as pending)."""
    counts = Counter(statuses)
    expected = sum(n for status, n in counts.items() if status not in NOT_EXPECTED)
    actual = counts["submitted_on_time"] + counts["submitted_late"]
    on_time = counts["submitted_on_time"]

    def rate(part: int) -> float | None:
        return round(100.0 * part / expected, 1) if expected else None

    return {
        "EXPECTED_REPORTS": expected,
        "ACTUAL_REPORTS": actual,
        "ACTUAL_REPORTS_ON_TIME": on_time,
        "REPORTING_RATE": rate(actual),
        "REPORTING_RATE_ON_TIME": rate(on_time),
    }


def compliance_view(plan: Plan, period: str, board: Iterable[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The board as shown from its rows (`new_board_row` folded): every expected unit in official order, and
    the DHIS2 figures."""
    rows = [board_row(plan, entry, now) for entry in board]
    rows.sort(key=lambda r: (r["order"] is None, r["order"] or 0, r["agency"]))
    return {
        "plan": plan.id,
        "period": period,
        "as_of": local_iso(now),
        **figures(r["status"] for r in rows),
        "units": rows,
        "overdue": sorted(
            (r for r in rows if r["status"] == "overdue"), key=lambda r: (-(r["days_overdue"] or 0), r["order"] or 0)
        ),
    }


def board_row(plan: Plan, entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One unit's row of the board as shown at `now` (a `pending` row past its deadline shows `overdue`)."""
    agency = entry["agency"]
    unit = plan.unit(agency)
    status = row_status(entry, now)
    due_before = parse_instant(entry["due_before"]) if entry.get("due_before") else None
    return {
        "agency": agency,
        "name": unit.name if unit else agency,
        "order": unit.order if unit else None,
        "types": list(unit.types) if unit else [],
        "status": status,
        "received_at": local_iso(parse_instant(entry["received_at"])) if entry.get("received_at") else None,
        "days_late": entry.get("days_late"),
        "days_overdue": days_overdue(local_date(now), due_before) if status == "overdue" and due_before else None,
        "due_before": local_iso(due_before),
        "generation": entry.get("generation", 1),
        "extended": bool(entry.get("extended")),
        "level": entry.get("level"),
    }


def row_status(entry: dict[str, Any], now: datetime) -> str:
    """A board row's status at `now`: as stored, but `overdue` for a `pending` row past its deadline."""
    status: str = entry["status"]
    if status == "pending" and entry.get("due_before") and now >= parse_instant(entry["due_before"]):
        return "overdue"
    return status


# --- the reports of a period (F11, F12) and closing it (chốt số liệu) ----------------------------------------


def new_report_row(plan_id: str, period: str, agency: str) -> dict[str, Any]:
    """A unit's reports row of a period before any revision arrived."""
    return {**_new_row(plan_id, period, agency), "revision": 0, "after_close": []}


def closing_id(plan_id: str, period: str) -> str:
    """The `_id` of a period's closing (inserted once: a period is closed once)."""
    return f"closing:{plan_id}:{period}"


def revision_instant(data: ReportData) -> datetime:
    """When a revision arrived: the amendment's instant, else the first submission's receipt."""
    return data.amended_at if isinstance(data, ReportAmended) else data.received_at


def apply_report_event(row: dict[str, Any], data: ReportData, closed_at: datetime | None) -> bool:
    """Keep a unit's latest revision (content, receipt, source) in its reports row (`new_report_row` or as
    stored); True if it changed.

    Applied only when the revision is newer than the one kept, so a revision delivered twice or after a newer
    one changes nothing, and an amendment that arrives before its submission is kept and the submission then
    ignored (the receipt time travels in every revision). Every revision that arrived after the period was
    closed is listed in `after_close` (decided by its own instant against the closing's, so a rebuild decides
    the same).
    """
    revision = data.revision
    late = sorted(set(row["after_close"]))
    if closed_at is not None and revision_instant(data) > closed_at and revision not in late:
        late = sorted([*late, revision])
    if revision <= row["revision"]:
        if late == row["after_close"]:
            return False
        row["after_close"] = late
        return True
    row.update(
        revision=revision,
        received_at=data.received_at.isoformat(),
        revised_at=local_iso(revision_instant(data)),
        source=data.source,
        content=data.content or {},
        after_close=late,
    )
    return True
