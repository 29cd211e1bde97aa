"""Notifier's use cases: one function per event (deciding), one per delivery step (sending), one per command."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from services.notifier.domain import (
    DEAD,
    DELIVERED,
    EMAIL,
    FAILED,
    LEVEL_EVENTS,
    PENDING,
    RECEIPT_KINDS,
    Attempt,
    DeliveryFailed,
    MailContext,
    Notification,
    NotificationNotDead,
    NotificationNotFound,
    Outcome,
    RetryPolicy,
    after_attempt,
    attempt_id,
    audience,
    escalated_to_name,
    message_id_for,
    notification_id,
    recipients,
    unit_contacts,
)
from services.notifier.messages import Message, alert_message, receipt_message
from shared.events import Event
from shared.failpoints import failpoint
from shared.plan import Contact, Plan
from shared.timerules import Clock, deadline_day, parse_instant

MAX_EVENT_ID = 200  # the envelope's limit


class LedgerStore(Protocol):
    """The ledger: notifications (inserted once, then updated only by the sender) and their attempts."""

    def record(self, notification: Notification) -> bool:
        """Store a notification once (its id is unique); False if it was already there."""
        ...

    def find(self, **filters: Any) -> list[Notification]:
        """Notifications matching the filters."""
        ...

    def get(self, notification_id: str) -> Notification | None:
        """One notification by id, with its bodies."""
        ...

    def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending or failed notifications whose next attempt is due at `now` (wall clock), oldest first; their
        bodies may be left out (`get` has them)."""
        ...

    def attempt(self, attempt_id: str) -> Attempt | None:
        """One recorded attempt by id."""
        ...

    def record_attempt(self, attempt: Attempt, event: Event) -> bool:
        """Append an attempt once, carrying its `notification.*` event to the outbox relay."""
        ...

    def apply(self, notification_id: str, outcome: Outcome) -> None:
        """Write the state a notification reached after an attempt (the sender is its only writer)."""
        ...

    def record_resend(self, notification_id: str, attempts: int, *, by: str, at: datetime) -> bool:
        """Record once that Sở Nội vụ re-sent a dead notification after `attempts` attempts."""
        ...

    def reopen(self, notification_id: str, *, at: datetime) -> None:
        """Make a dead notification pending again, due at `at`, its attempts kept."""
        ...


class ContactStore(Protocol):
    """The units' staff lists (F6), one document per version."""

    def add(self, agency: str, version: int, contacts: Sequence[Contact], received_at: datetime) -> bool:
        """Store a version of a unit's staff list once; False if that version was already there."""
        ...

    def latest(self, agency: str) -> list[Contact] | None:
        """The people of the unit's highest staff-list version, or None when none arrived."""
        ...


class Transport(Protocol):
    """A delivery channel (SMTP for e-mail)."""

    def send(self, notification: Notification) -> None:
        """Hand the message to the channel; raise DeliveryFailed when it is not accepted."""
        ...


# --- deciding (the consumer) ----------------------------------------------------------------------------


def on_obligation_event(
    event: Event,
    *,
    ledger: LedgerStore,
    plan: Plan,
    clock: Clock,
    wall: Clock,
    contacts: ContactStore | None = None,
    mail: MailContext | None = None,
) -> list[Notification]:
    """Decide who hears of an obligation event and insert one pending e-mail notification per recipient, each
    once (redelivering the event inserts nothing new).

    Levels go to the unit's contacts by the plan's roles for that level; receipts (submission, extension
    granted or refused, waiver) to its focal officers. The unit's latest staff list replaces the plan's
    contacts. The first attempt is due at once on the wall clock (`wall`); `decided_at` is business time.
    """
    level, roles = audience(plan, event.type, event.data)
    if not roles:
        return []
    agency, period = event.data["agency"], event.data["period"]
    people = recipients(unit_contacts(plan, agency, contacts.latest(agency) if contacts else None), roles)
    mail = mail or MailContext(intake_url="")
    decided_at, due_at = clock.now(), wall.now()
    out = []
    for contact in people:
        assert contact.email is not None
        nid = notification_id(event.id, contact.email, EMAIL)
        message = _render(event, level, contact, plan=plan, mail=mail)
        notification = Notification(
            id=nid,
            event_id=event.id,
            event_type=event.type,
            agency=agency,
            period=period,
            level=level,
            recipient=contact.email,
            recipient_role=contact.alert_role,
            recipient_name=contact.name,
            channel=EMAIL,
            status=PENDING,
            decided_at=decided_at,
            subject=message.subject,
            text=message.text,
            html=message.html,
            message_id=message_id_for(nid, mail.message_domain),
            attempts=0,
            next_attempt_at=due_at,
            kind=RECEIPT_KINDS.get(event.type),
        )
        ledger.record(notification)
        out.append(notification)
    return out


def _render(event: Event, level: str, contact: Contact, *, plan: Plan, mail: MailContext) -> Message:
    """The Vietnamese texts of one notification (services.notifier.messages)."""
    data = event.data
    unit = plan.unit(data["agency"])
    period = plan.period(data["period"])
    common = {
        "unit_name": unit.name if unit else data["agency"],
        "period_name": period.name if period else data["period"],
        "recipient_name": contact.name,
        "form_url": f"{mail.intake_url}/reports/{data['period']}",
    }
    if event.type in LEVEL_EVENTS:
        # The days overdue are the event's: those of the level's own day (rung.at), whenever it is decided, so a
        # lagging consumer writes the same text as a prompt one.
        return alert_message(
            level=level,
            deadline=deadline_day(parse_instant(data["due_before"])),
            days_overdue=int(data["days_overdue"]),
            escalated_to=escalated_to_name(plan, level),
            **common,
        )
    kind = RECEIPT_KINDS[event.type]
    if kind == "submitted":
        return receipt_message(
            kind=kind,
            received_at=parse_instant(data["received_at"]),
            on_time=data["status"] == "submitted_on_time",
            **common,
        )
    if kind == "extended":
        return receipt_message(
            kind=kind,
            new_deadline=deadline_day(parse_instant(data["due_before"])),
            reason=data.get("reason"),
            **common,
        )
    return receipt_message(kind=kind, reason=data.get("reason"), **common)


def on_contacts_changed(event: Event, *, contacts: ContactStore) -> bool:
    """Keep a version of a unit's staff list (insert once by `<agency>:<subject_version>`); later alerts go to
    the people of its highest version."""
    people = [
        Contact(
            alert_role=c["alert_role"],
            name=c["name"],
            title=c.get("title") or "",
            email=(c.get("email") or "").strip() or None,
            phone=c.get("phone"),
        )
        for c in event.data["contacts"]
    ]
    return contacts.add(event.data["agency"], event.subject_version, people, event.occurred_at)


# --- sending (the sender process) -----------------------------------------------------------------------


def deliver_due(*, ledger: LedgerStore, transport: Transport, wall: Clock, policy: RetryPolicy, limit: int = 50) -> int:
    """Try every notification due now (wall clock); return how many were tried."""
    due = ledger.due(wall.now(), limit)
    for notification in due:
        deliver(notification, ledger=ledger, transport=transport, wall=wall, policy=policy)
    return len(due)


def deliver(
    notification: Notification, *, ledger: LedgerStore, transport: Transport, wall: Clock, policy: RetryPolicy
) -> Outcome:
    """One attempt: send, record the attempt (with its `notification.delivered`/`failed` event), then the state.

    If a previous run recorded this attempt but died before updating the notification, the recorded outcome
    is applied without sending again. A crash between the channel's acceptance and the attempt record
    (failpoint `notifier.after_send`) sends once more on restart, with the same Message-ID.
    """
    number = notification.attempts + 1
    done = ledger.attempt(attempt_id(notification.id, number))
    if done is not None:
        error = None if done.outcome == DELIVERED else DeliveryFailed(done.error or "", permanent=done.permanent)
        outcome = after_attempt(notification, error=error, now=done.at, policy=policy)
        ledger.apply(notification.id, outcome)
        return outcome
    failure: DeliveryFailed | None = None
    try:
        transport.send(ledger.get(notification.id) or notification)  # with its bodies
        failpoint("notifier.after_send")
    except DeliveryFailed as exc:
        failure = exc
    now = wall.now()
    outcome = after_attempt(notification, error=failure, now=now, policy=policy)
    attempt = Attempt(
        id=attempt_id(notification.id, number),
        notification_id=notification.id,
        number=number,
        at=now,
        channel=notification.channel,
        recipient=notification.recipient,
        outcome=DELIVERED if failure is None else FAILED,
        error=outcome.last_error,
        permanent=bool(failure and failure.permanent),
    )
    ledger.record_attempt(attempt, outcome_event(notification, attempt))
    ledger.apply(notification.id, outcome)
    return outcome


def outcome_event(notification: Notification, attempt: Attempt) -> Event:
    """`notification.delivered` or `notification.failed` for one attempt (id = the attempt's, unique)."""
    event_id = attempt.id
    if len(event_id) > MAX_EVENT_ID:
        event_id = f"notification:{hashlib.sha256(attempt.id.encode('utf-8')).hexdigest()}#{attempt.number}"
    return Event(
        id=event_id,
        type="notification.delivered" if attempt.outcome == DELIVERED else "notification.failed",
        subject=f"notification:{notification.id}",
        subject_version=attempt.number,
        producer="notifier",
        occurred_at=attempt.at,
        correlation_id=notification.event_id,
        data={
            "notification_id": notification.id,
            "event_id": notification.event_id,
            "recipient": notification.recipient,
            "channel": notification.channel,
            "attempt": attempt.number,
            "error": attempt.error,
        },
    )


# --- commands (HTTP) ------------------------------------------------------------------------------------


def resend(notification_id: str, *, by: str, ledger: LedgerStore, wall: Clock) -> Notification:
    """Sở Nội vụ re-sends a dead notification: pending again, due now, attempts kept (the same Message-ID).

    The re-send is recorded once per dead spell (`<id>#resend<attempts>`, who and when); the sender is the
    only writer once the notification is pending again, since it never touches a dead one.
    """
    notification = ledger.get(notification_id)
    if notification is None:
        raise NotificationNotFound("Không tìm thấy thông báo.", field="id")
    if notification.status != DEAD:
        raise NotificationNotDead(
            f"Chỉ gửi lại được thông báo đã hết số lần thử (trạng thái dead); thông báo này đang ở trạng thái "
            f"{notification.status}.",
            field="status",
        )
    now = wall.now()
    ledger.record_resend(notification_id, notification.attempts, by=by, at=now)
    ledger.reopen(notification_id, at=now)
    return ledger.get(notification_id) or notification
