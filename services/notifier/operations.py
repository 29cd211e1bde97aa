"""Operational alerts to Sở Nội vụ (F17): the scheduler held the ladder, or resumed it.

Kept apart from the alerts about units (handlers.on_obligation_event): these are about the platform itself.
Sở Nội vụ (the plan recipients of role `snv`) gets each by e-mail and in its inbox, once per hold and person:
the scheduler inserts each event once (`ladder:hold:<n>:held` / `:resumed`) and the notification ids follow
from it, so a redelivered event inserts nothing new.
"""

from __future__ import annotations

from services.notifier.domain import (
    DELIVERED,
    EMAIL,
    INBOX,
    PENDING,
    Attempt,
    MailContext,
    Notification,
    attempt_id,
    message_id_for,
    notification_id,
)
from services.notifier.handlers import LedgerStore, inbox_delivered, outcome_event
from services.notifier.messages import ladder_message
from shared.events import Event, MalformedEvent, SchedulerLadderHeld, SchedulerLadderResumed, typed
from shared.plan import Plan
from shared.timerules import Clock

LADDER_EVENTS = {"scheduler.ladder_held": "ladder_held", "scheduler.ladder_resumed": "ladder_resumed"}
OPERATIONS_ROLE = "snv"


def on_ladder_event(
    event: Event, *, ledger: LedgerStore, plan: Plan, clock: Clock, wall: Clock, mail: MailContext
) -> list[Notification]:
    """Tell Sở Nội vụ that alerts are held (and why) or have resumed: one e-mail and one inbox item per person."""
    data = typed(event)
    if not isinstance(data, (SchedulerLadderHeld, SchedulerLadderResumed)):
        raise MalformedEvent(f"{event.type} is not a ladder event")
    level = LADDER_EVENTS[event.type]
    people = [r for r in plan.recipients if r.get("role") == OPERATIONS_ROLE and (r.get("email") or "").strip()]
    decided_at, due_at = clock.now(), wall.now()
    out: list[Notification] = []
    shelved: list[tuple[Attempt, Event]] = []
    for person in people:
        email, name = person["email"].strip().lower(), str(person.get("name") or "")
        message = ladder_message(data, recipient_name=name)
        for channel in (EMAIL, INBOX):
            nid = notification_id(event.id, email, channel)
            notification = Notification(
                id=nid,
                event_id=event.id,
                event_type=event.type,
                agency="",
                period="",
                level=level,
                recipient=email,
                recipient_role=OPERATIONS_ROLE,
                recipient_name=name,
                channel=channel,
                status=PENDING,
                decided_at=decided_at,
                subject=message.subject,
                text=message.text,
                html=message.html,
                message_id=message_id_for(nid, mail.message_domain),
                attempts=0,
                next_attempt_at=due_at,
            )
            if channel == INBOX:
                notification = inbox_delivered(notification, at=due_at)
                attempt = Attempt(attempt_id(nid, 1), nid, 1, due_at, INBOX, email, DELIVERED)
                shelved.append((attempt, outcome_event(notification, attempt)))
            out.append(notification)
    ledger.record_many(out)
    ledger.record_attempts(shelved)
    return out
