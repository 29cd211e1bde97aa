"""Notifier's use cases: one function per event."""

from __future__ import annotations

from typing import Any, Protocol

from services.notifier.domain import Notification, audience, notification_id, recipients
from shared.events import Event
from shared.plan import Plan
from shared.timerules import Clock


class LedgerStore(Protocol):
    """The ledger of notifications."""

    def record(self, notification: Notification) -> bool:
        """Store a notification once (its id is unique); False if it was already there."""
        ...

    def find(self, **filters: Any) -> list[Notification]:
        """Notifications matching the filters."""
        ...


def on_obligation_event(event: Event, *, ledger: LedgerStore, plan: Plan, clock: Clock) -> list[Notification]:
    """Decide who should hear of an obligation event and record one intended notification per recipient."""
    level, roles = audience(plan, event.type, event.data)
    out = []
    for contact in recipients(plan, event.data["agency"], roles):
        assert contact.email is not None
        notification = Notification(
            id=notification_id(event.id, contact.email, "email"),
            event_id=event.id,
            event_type=event.type,
            agency=event.data["agency"],
            period=event.data["period"],
            level=level,
            recipient=contact.email,
            recipient_role=contact.alert_role,
            recipient_name=contact.name,
            channel="email",
            status="intended",
            decided_at=clock.now(),
        )
        ledger.record(notification)
        out.append(notification)
    return out
