"""Aggregator's domain: the compliance board of a period and its DHIS2-style figures (plain Python)."""

from __future__ import annotations

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


def board_id(plan_id: str, period: str) -> str:
    """The `_id` of a period's compliance document."""
    return f"compliance:{plan_id}:{period}"


def new_board(plan_id: str, period: str) -> dict[str, Any]:
    """An empty compliance document for a period."""
    return {"_id": board_id(plan_id, period), "plan": plan_id, "period": period, "units": {}}


def apply_obligation_event(board: dict[str, Any], data: ObligationData, version: int) -> bool:
    """Apply one obligation event to the board; True if it changed anything.

    Each field is kept from the event that decides it whatever the delivery order, so the same events delivered
    twice or in any order leave the board a rebuild would make:
    - the status: the first final event (fulfilled, waived, closed) wins and sticks, whatever its version: a
      report received before the deadline but delivered after that day's `obligation.overdue` (a broker
      outage) still ends as submitted on time;
    - the deadline in force (`due_before`, `generation`): from the event of the highest (generation, version)
      that carries one; `extended` once any extension is seen;
    - the level: from the level event of the highest version.
    """
    units = board["units"]
    agency = data.agency
    old = units.get(agency)
    entry = dict(old or {"status": "pending", "level": None, "received_at": None, "days_late": None, "version": 0})
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
    if entry == old:
        return False
    units[agency] = entry
    return True


def compliance_view(board: dict[str, Any], plan: Plan, now: datetime) -> dict[str, Any]:
    """The board as shown: every expected unit in official order, and the DHIS2 figures."""
    rows = []
    today = local_date(now)
    for agency, entry in board["units"].items():
        unit = plan.unit(agency)
        status = entry["status"]
        due_before = parse_instant(entry["due_before"]) if entry.get("due_before") else None
        if status == "pending" and due_before is not None and now >= due_before:
            status = "overdue"
        rows.append(
            {
                "agency": agency,
                "name": unit.name if unit else agency,
                "order": unit.order if unit else None,
                "types": list(unit.types) if unit else [],
                "status": status,
                "received_at": local_iso(parse_instant(entry["received_at"])) if entry.get("received_at") else None,
                "days_late": entry.get("days_late"),
                "days_overdue": days_overdue(today, due_before) if status == "overdue" and due_before else None,
                "due_before": local_iso(due_before),
                "generation": entry.get("generation", 1),
                "extended": bool(entry.get("extended")),
                "level": entry.get("level"),
            }
        )
    rows.sort(key=lambda r: (r["order"] is None, r["order"] or 0, r["agency"]))
    expected = sum(1 for r in rows if r["status"] not in NOT_EXPECTED)
    actual = sum(1 for r in rows if r["status"] in ("submitted_on_time", "submitted_late"))
    on_time = sum(1 for r in rows if r["status"] == "submitted_on_time")

    def rate(part: int) -> float | None:
        return round(100.0 * part / expected, 1) if expected else None

    return {
        "plan": board["plan"],
        "period": board["period"],
        "as_of": local_iso(now),
        "EXPECTED_REPORTS": expected,
        "ACTUAL_REPORTS": actual,
        "ACTUAL_REPORTS_ON_TIME": on_time,
        "REPORTING_RATE": rate(actual),
        "REPORTING_RATE_ON_TIME": rate(on_time),
        "units": rows,
        "overdue": sorted(
            (r for r in rows if r["status"] == "overdue"), key=lambda r: (-(r["days_overdue"] or 0), r["order"] or 0)
        ),
    }


# --- the reports of a period (F11, F12) and closing it (chốt số liệu) ----------------------------------------


def reports_id(plan_id: str, period: str) -> str:
    """The `_id` of a period's reports document (each unit's latest revision)."""
    return f"reports:{plan_id}:{period}"


def new_reports(plan_id: str, period: str) -> dict[str, Any]:
    """An empty reports document for a period."""
    return {"_id": reports_id(plan_id, period), "plan": plan_id, "period": period, "units": {}}


def closing_id(plan_id: str, period: str) -> str:
    """The `_id` of a period's closing (inserted once: a period is closed once)."""
    return f"closing:{plan_id}:{period}"


def revision_instant(data: ReportData) -> datetime:
    """When a revision arrived: the amendment's instant, else the first submission's receipt."""
    return data.amended_at if isinstance(data, ReportAmended) else data.received_at


def apply_report_event(doc: dict[str, Any], data: ReportData, closed_at: datetime | None) -> bool:
    """Keep a unit's latest revision (content, receipt, source) in its period's document; True if it changed.

    Applied only when the revision is newer than the one kept, so a revision delivered twice or after a newer
    one changes nothing, and an amendment that arrives before its submission is kept and the submission then
    ignored (the receipt time travels in every revision). Every revision that arrived after the period was
    closed is listed in `after_close` (decided by its own instant against the closing's, so a rebuild decides
    the same).
    """
    agency = data.agency
    entry = doc["units"].get(agency)
    revision = data.revision
    late = sorted(set((entry or {}).get("after_close", [])))
    if closed_at is not None and revision_instant(data) > closed_at and revision not in late:
        late = sorted([*late, revision])
    if entry is not None and revision <= entry["revision"]:
        if late == entry.get("after_close", []):
            return False
        doc["units"][agency] = {**entry, "after_close": late}
        return True
    doc["units"][agency] = {
        "revision": revision,
        "received_at": data.received_at.isoformat(),
        "revised_at": local_iso(revision_instant(data)),
        "source": data.source,
        "content": data.content or {},
        "after_close": late,
    }
    return True
