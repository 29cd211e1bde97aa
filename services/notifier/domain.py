"""Notifier's domain: recipients by alert role, the notification a decision produces, its delivery attempts
and the retry schedule (plain Python).

A notification is one message to one person on one channel; its id is (event, recipient, channel), so the same
alert is decided once however often its event is delivered. Its Message-ID is fixed at decision time from that
id, so every attempt, a re-send after a crash and a re-send by Sở Nội vụ all carry the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.plan import ALERT_ROLES, Contact, Plan

LEVEL_EVENTS = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")
RECEIPT_KINDS = {
    "obligation.fulfilled": "submitted",
    "obligation.extended": "extended",
    "obligation.extension_refused": "refused",
    "obligation.waived": "waived",
}
RECEIPT_EVENTS = tuple(RECEIPT_KINDS)
RECEIPT_LEVEL = "receipt"
LEVELS = ("reminder_7", "reminder_1", "overdue", "escalation_1", "escalation_2", RECEIPT_LEVEL)
EMAIL = "email"

PENDING, FAILED, DELIVERED, DEAD = "pending", "failed", "delivered", "dead"
STATUSES = (PENDING, FAILED, DELIVERED, DEAD)
SENDABLE = (PENDING, FAILED)


class NotifierError(Exception):
    """Base of the notifier's domain errors; `message` is Vietnamese, `field` names what it is about."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotificationNotFound(NotifierError):
    """No notification has this id."""


class NotificationNotDead(NotifierError):
    """Only a notification whose retries are exhausted (`dead`) can be re-sent."""


@dataclass(frozen=True)
class Notification:
    """One message to one recipient on one channel, as the ledger holds it.

    `decided_at` is business time (the clock the ladder runs on); `next_attempt_at`, `delivered_at` and every
    attempt's time are wall-clock UTC: delivery retries wait real seconds whatever the simulated clock does.
    """

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
    subject: str = ""
    text: str = ""
    html: str = ""
    message_id: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One try at delivering a notification (append-only): who, what, when, channel, outcome."""

    id: str
    notification_id: str
    number: int
    at: datetime
    channel: str
    recipient: str
    outcome: str
    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap, in real seconds, and the number of attempts before `dead`."""

    base_seconds: float = 30.0
    cap_seconds: float = 1800.0
    max_attempts: int = 6

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure: base x 2^(attempts-1), at most the cap."""
        return float(min(self.base_seconds * 2 ** max(attempts - 1, 0), self.cap_seconds))


@dataclass(frozen=True)
class Outcome:
    """The ledger state a notification reaches after one attempt."""

    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class MailContext:
    """What deciding a mail needs beyond the event: where the unit's form lives, the Message-ID domain."""

    intake_url: str
    message_domain: str = "dvcq.invalid"


class DeliveryFailed(Exception):
    """A channel refused or could not take a message; `permanent` when retrying cannot help (SMTP 5xx)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def notification_id(event_id: str, recipient: str, channel: str) -> str:
    """The identity of a notification: the same alert to the same person on the same channel."""
    return f"{event_id}|{recipient}|{channel}"


def message_id_for(notification: str, domain: str) -> str:
    """The Message-ID of a notification, a pure function of its id: every attempt carries the same one."""
    return f"<{hashlib.sha256(notification.encode('utf-8')).hexdigest()[:32]}@{domain}>"


def attempt_id(notification: str, number: int) -> str:
    """The id of a notification's `number`-th attempt (inserted once)."""
    return f"{notification}#{number}"


def recipients(contacts: Iterable[Contact], roles: Iterable[str]) -> list[Contact]:
    """The contacts whose `alert_role` is one of `roles` and who have an e-mail address, each address once.

    Only a unit's own alert roles (focal, head, other) are honoured: the plan's leadership recipients (Sở Nội
    vụ, its director, the UBND tỉnh vice-chairman) never get a per-unit mail, even if a policy names them.
    """
    wanted = set(roles) & set(ALERT_ROLES)
    out: list[Contact] = []
    seen: set[str] = set()
    for contact in contacts:
        address = (contact.email or "").strip()
        if contact.alert_role in wanted and address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(contact)
    return out


def unit_contacts(plan: Plan, agency: str, staff_list: Sequence[Contact] | None) -> tuple[Contact, ...]:
    """The people to alert for a unit: its latest staff list (F6) once one arrived, else the plan's contacts."""
    if staff_list is not None:
        return tuple(staff_list)
    unit = plan.unit(agency)
    return unit.contacts if unit else ()


def audience(plan: Plan, event_type: str, data: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(level, alert roles) an obligation event is meant for; no roles when it alerts nobody."""
    if event_type in LEVEL_EVENTS:
        level = data["level"]
        rung = next((lv for lv in plan.escalation if lv.level == level), None)
        return level, rung.to if rung else ()
    if event_type in RECEIPT_EVENTS:
        return RECEIPT_LEVEL, ("focal",)
    return "none", ()


def escalated_to_name(plan: Plan, level: str) -> str | None:
    """The display name of the plan recipient a level escalates to (e.g. "Giám đốc Sở Nội vụ"), if any."""
    rung = next((lv for lv in plan.escalation if lv.level == level), None)
    if rung is None or not rung.escalated_to:
        return None
    person = next((r for r in plan.recipients if r.get("role") == rung.escalated_to), None)
    return str(person.get("name") or rung.escalated_to) if person else rung.escalated_to


def after_attempt(
    notification: Notification, *, error: DeliveryFailed | None, now: datetime, policy: RetryPolicy
) -> Outcome:
    """The state after one more attempt: delivered; failed with the next try after the backoff; `dead` after
    the last allowed attempt or a permanent refusal."""
    attempts = notification.attempts + 1
    if error is None:
        return Outcome(DELIVERED, attempts, None, None, delivered_at=now)
    message = str(error)[:500]
    if error.permanent or attempts >= policy.max_attempts:
        return Outcome(DEAD, attempts, None, message)
    return Outcome(FAILED, attempts, now + timedelta(seconds=policy.delay(attempts)), message)
