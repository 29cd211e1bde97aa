"""Notifier's domain: recipients by alert role, and the notification a decision produces (plain Python)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.plan import Contact, Plan

LEVEL_EVENTS = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")
RECEIPT_EVENTS = ("obligation.fulfilled",)


@dataclass(frozen=True)
class Notification:
    """One message to one recipient on one channel; its id is (event, recipient, channel)."""

    id: str
    event_id: str
    event_type: str
    agency: str
    period: str
    level: str
    recipient: str
    recipient_role: str
    recipient_name: str
    channel: str
    status: str
    decided_at: datetime


def notification_id(event_id: str, recipient: str, channel: str) -> str:
    """The identity of a notification: the same alert to the same person on the same channel."""
    return f"{event_id}|{recipient}|{channel}"


def recipients(plan: Plan, agency: str, roles: tuple[str, ...]) -> list[Contact]:
    """The unit's contacts whose `alert_role` is one of `roles` and who have an e-mail address."""
    unit = plan.unit(agency)
    if unit is None:
        return []
    return [c for c in unit.contacts if c.alert_role in roles and c.email]


def audience(plan: Plan, event_type: str, data: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(level, alert roles) an obligation event is meant for; no roles when it alerts nobody."""
    if event_type in LEVEL_EVENTS:
        level = data["level"]
        rung = next((lv for lv in plan.escalation if lv.level == level), None)
        return level, rung.to if rung else ()
    if event_type in RECEIPT_EVENTS:
        return "receipt", ("focal",)
    return "none", ()
