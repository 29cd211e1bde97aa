"""Aggregator's use cases: one function per event or query."""

from __future__ import annotations

from typing import Any, Protocol

from services.aggregator.domain import apply_obligation_event, compliance_view, new_board
from shared.events import Event
from shared.plan import Plan
from shared.timerules import Clock


class BoardStore(Protocol):
    """Compliance documents, one per period, read and written by `_id`."""

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        """A period's compliance document."""
        ...

    def put(self, board: dict[str, Any]) -> None:
        """Replace a period's compliance document."""
        ...


def on_obligation_event(event: Event, *, boards: BoardStore, plan: Plan) -> bool:
    """Fold an obligation event into its period's compliance document."""
    period = event.data["period"]
    board = boards.get(plan.id, period) or new_board(plan.id, period)
    changed = apply_obligation_event(board, event.type, event.subject_version, event.data)
    if changed:
        boards.put(board)
    return changed


def get_compliance(period: str, *, boards: BoardStore, plan: Plan, clock: Clock) -> dict[str, Any] | None:
    """The compliance of a period, or None when the plan has no such period."""
    entry = plan.period(period)
    if entry is None:
        return None
    view = compliance_view(boards.get(plan.id, period) or new_board(plan.id, period), plan, clock.now())
    view["period_name"] = entry.name
    view["applicable"] = entry.applicable
    view["not_applicable_reason"] = entry.not_applicable_reason
    return view
