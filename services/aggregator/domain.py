"""Aggregator's domain: the compliance board of a period and its DHIS2-style figures (plain Python)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.plan import Plan
from shared.timerules import days_overdue, local_date, local_iso, parse_instant

FINAL_STATUSES = ("submitted_on_time", "submitted_late", "waived", "closed_by_reorganisation")
NOT_EXPECTED = ("waived", "closed_by_reorganisation")
LEVEL_EVENTS = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")
FINAL_EVENTS = ("obligation.fulfilled", "obligation.waived", "obligation.closed")


def board_id(plan_id: str, period: str) -> str:
    """The `_id` of a period's compliance document."""
    return f"compliance:{plan_id}:{period}"


def new_board(plan_id: str, period: str) -> dict[str, Any]:
    """An empty compliance document for a period."""
    return {"_id": board_id(plan_id, period), "plan": plan_id, "period": period, "units": {}}


def apply_obligation_event(board: dict[str, Any], event_type: str, version: int, data: dict[str, Any]) -> bool:
    """Apply one obligation event to the board; True if it changed anything.

    Applied only when its `subject_version` is newer than the unit's; final statuses stick, so the same
    event twice, or an old one after a newer, changes nothing. The first final status (fulfilled, waived,
    closed) is applied whatever its version: a report received before the deadline but delivered after
    that day's `obligation.overdue` (a broker outage) still ends as submitted on time.
    """
    units = board["units"]
    agency = data["agency"]
    entry = units.get(agency)
    first_final = event_type in FINAL_EVENTS and (entry is None or entry["status"] not in FINAL_STATUSES)
    if entry is not None and version <= entry["version"] and not first_final:
        return False
    entry = dict(entry or {"status": "pending", "level": None, "received_at": None, "days_late": None})
    final = entry["status"] in FINAL_STATUSES
    if event_type == "obligation.created":
        entry.setdefault("due_before", data["due_before"])
        entry.setdefault("generation", data["generation"])
    elif event_type == "obligation.fulfilled" and not final:
        entry.update(
            status=data["status"],
            received_at=data["received_at"],
            days_late=data["days_late"],
            due_before=data["due_before"],
            generation=data["generation"],
        )
    elif event_type == "obligation.extended" and not final:
        entry.update(due_before=data["due_before"], generation=data["generation"], extended=True)
    elif event_type == "obligation.waived" and not final:
        entry.update(status="waived")
    elif event_type == "obligation.closed" and not final:
        entry.update(status="closed_by_reorganisation")
    elif event_type in LEVEL_EVENTS:
        entry.update(level=data["level"])
        entry.setdefault("due_before", data["due_before"])  # an alert may arrive before obligation.created
        entry.setdefault("generation", data["generation"])
    entry["version"] = max(version, entry.get("version", 0))
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
