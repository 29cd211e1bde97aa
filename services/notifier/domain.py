"""Notifier's domain: recipients by alert role, the notification a decision produces, its delivery attempts
and the retry schedule (plain Python).

A notification is one message to one person on one channel; its id is (event, recipient, channel), so the same
alert is decided once however often its event is delivered. Its Message-ID is fixed at decision time from that
id, so every attempt, a re-send after a crash and a re-send by Sở Nội vụ all carry the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.errors import DomainError
from shared.events import (
    DeadlineData,
    ObligationClosed,
    ObligationCreated,
    ObligationData,
    ObligationExtended,
    ObligationFulfilled,
    ObligationLevel,
)
from shared.ladder import LADDER_LEVELS
from shared.plan import ALERT_ROLES, Contact, Plan
from shared.timerules import at_local, deadline_day, is_working_day, ladder, local_date

LEVEL_EVENTS = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")
RECEIPT_KINDS = {
    "obligation.fulfilled": "submitted",
    "obligation.extended": "extended",
    "obligation.extension_refused": "refused",
    "obligation.waived": "waived",
}
RECEIPT_EVENTS = tuple(RECEIPT_KINDS)
RECEIPT_LEVEL = "receipt"
DIGEST_LEVEL = "digest"
OPERATIONAL_LEVELS = ("ladder_held", "ladder_resumed")  # F17, services.notifier.operations
LEVELS = (*LADDER_LEVELS, RECEIPT_LEVEL, DIGEST_LEVEL, *OPERATIONAL_LEVELS)
EMAIL, WEBHOOK, INBOX = "email", "webhook", "inbox"
CHANNELS = (EMAIL, WEBHOOK, INBOX)
# The obligation events whose facts the digest folds (created, a new deadline, an end).
FACT_EVENTS = ("obligation.created", "obligation.extended", "obligation.fulfilled", "obligation.waived",
               "obligation.closed")  # fmt: skip

PENDING, FAILED, DELIVERED, DEAD = "pending", "failed", "delivered", "dead"
STATUSES = (PENDING, FAILED, DELIVERED, DEAD)
SENDABLE = (PENDING, FAILED)


class NotifierError(DomainError):
    """Base of the notifier's domain errors."""


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
    recipient_phone: str | None = None


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
    """Exponential backoff with a cap, in real seconds, the number of attempts before `dead`, and how long a
    sender's claim on an attempt holds before another sender may take it over (longer than one send)."""

    base_seconds: float = 30.0
    cap_seconds: float = 1800.0
    max_attempts: int = 6
    lease_seconds: float = 120.0

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
    webhook: bool = False  # a gateway is configured (DVCQ_WEBHOOK_URL): ladder alerts go to it too


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
    return f"<{delivery_id_for(notification)}@{domain}>"


def delivery_id_for(notification: str) -> str:
    """The webhook delivery id of a notification (and the local part of its Message-ID): stable across
    attempts, re-sends and restarts, so a gateway can drop a repeat."""
    return hashlib.sha256(notification.encode("utf-8")).hexdigest()[:32]


def attempt_id(notification: str, number: int) -> str:
    """The id of a notification's `number`-th attempt (inserted once), and of its claim."""
    return f"{notification}#{number}"


def takeover_id(attempt: str, k: int) -> str:
    """The id of the `k`-th takeover of an attempt's claim (`<attempt id>#t<k>`; k = 0 is the claim itself)."""
    return attempt if k == 0 else f"{attempt}#t{k}"


@dataclass(frozen=True)
class Claim:
    """A sender's hold on one attempt of one notification, inserted once before it sends (`_id` = the attempt id,
    or a takeover id once the previous holder's lease ran out): exactly one sender holds an attempt at a time.

    `holder` names the sender process; `lease_until` is wall-clock UTC, longer than any one send can take
    (`DVCQ_NOTIFY_CLAIM_LEASE_SECONDS`): a holder that died is replaced after it, never before.
    """

    id: str
    notification_id: str
    number: int
    holder: str
    at: datetime
    lease_until: datetime


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


def audience(plan: Plan, data: ObligationData) -> tuple[str, tuple[str, ...]]:
    """(level, alert roles) an obligation event is meant for; no roles when it alerts nobody."""
    if isinstance(data, ObligationLevel):
        rung = next((lv for lv in plan.escalation if lv.level == data.level), None)
        return data.level, rung.to if rung else ()
    if data.TYPE in RECEIPT_EVENTS:
        return RECEIPT_LEVEL, ("focal",)
    return "none", ()


def channels(event_type: str, *, webhook: bool) -> tuple[str, ...]:
    """The channels an obligation event reaches a unit's people on: every alert and receipt by e-mail and in
    their inbox; the ladder's alerts also by webhook (the SMS/Zalo gateway) when one is configured. Receipts
    stay off the gateway: a text message is for what needs doing, and the receipt is in the mail and inbox."""
    if event_type in LEVEL_EVENTS and webhook:
        return (EMAIL, WEBHOOK, INBOX)
    return (EMAIL, INBOX)


def leadership(plan: Plan, level: str) -> list[dict[str, Any]]:
    """The plan recipients (Sở Nội vụ, its director, the UBND tỉnh vice-chairman) whose inbox and digest carry
    a level: those of the level's `digest` roles, with an e-mail address."""
    rung = next((lv for lv in plan.escalation if lv.level == level), None)
    roles = set(rung.digest) if rung else set()
    return [r for r in plan.recipients if r.get("role") in roles and (r.get("email") or "").strip()]


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


# --- the daily digest (F7) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One obligation event as the digest needs it: what happened to which obligation, and at what business
    instant (a fulfilment counts from its report's receipt, an extension from its `effective_from`)."""

    event_id: str
    type: str
    agency: str
    period: str
    at: datetime
    due_before: datetime | None = None
    unit_name: str | None = None
    unit_order: int | None = None
    status: str | None = None


def fact_of(event_id: str, occurred_at: datetime, data: ObligationData) -> Fact:
    """The fact an obligation event carries (instants as aware datetimes)."""
    at = occurred_at
    if isinstance(data, ObligationFulfilled):
        at = data.received_at
    elif isinstance(data, ObligationExtended):
        at = data.effective_from
    created = data if isinstance(data, ObligationCreated) else None
    return Fact(
        event_id=event_id,
        type=data.TYPE,
        agency=data.agency,
        period=data.period,
        at=at,
        due_before=data.due_before if isinstance(data, DeadlineData) else None,
        unit_name=created.unit_name if created else None,
        unit_order=created.unit_order if created else None,
        status=data.status if isinstance(data, (ObligationCreated, ObligationFulfilled, ObligationClosed)) else None,
    )


@dataclass(frozen=True)
class DigestEntry:
    """One obligation overdue at the digest's instant: the deadline day in force, days overdue, level."""

    agency: str
    period: str
    unit_name: str
    unit_order: int | None
    deadline: date
    days_overdue: int
    level: str


def digest_instant(plan: Plan, now: datetime) -> datetime | None:
    """The instant of today's digest (`digest_local_time`, 07:30 local) once it has come, on a working day;
    None on days that are not working days (weekends not made up, days off) and before that time."""
    day = local_date(now)
    if not is_working_day(day, plan.working_days):
        return None
    hh, mm = (int(x) for x in plan.digest_local_time.split(":"))
    at = at_local(day, hh, mm)
    return at if now >= at else None


def expected_at(facts: Iterable[Fact], at: datetime) -> dict[str, int]:
    """Per period, the obligations expected at `at`: created open (pending or overdue), not waived or closed by
    then. The digest shows its late units as a share of them."""
    created: dict[tuple[str, str], bool] = {}
    for fact in facts:
        if fact.at > at:
            continue
        key = (fact.agency, fact.period)
        if fact.type == "obligation.created" and fact.status in (None, "pending", "overdue"):
            created.setdefault(key, True)
        elif fact.type in ("obligation.waived", "obligation.closed"):
            created[key] = False
    out: dict[str, int] = {}
    for (_, period), expected in created.items():
        if expected:
            out[period] = out.get(period, 0) + 1
    return out


def overdue_at(plan: Plan, facts: Iterable[Fact], at: datetime) -> list[DigestEntry]:
    """Every obligation overdue at `at`, each once, in the official order (period by deadline, then unit).

    An obligation counts when, at `at`, it has not ended (report received, waived, closed) and the highest
    rung of the plan's ladder for the deadline in force (the latest extension effective by then) that has come
    is one the digest carries (`overdue`, `escalation_1`, `escalation_2`). Computed from the rules, not from the
    level events received, so it does not depend on when the scheduler's pass ran: at 07:30 the 08:00 rung of
    that day has not come yet.
    """
    policy = [asdict(lv) for lv in plan.escalation]
    carried = {lv.level for lv in plan.escalation if lv.digest}
    by_key: dict[tuple[str, str], list[Fact]] = {}
    for fact in facts:
        if fact.at <= at:
            by_key.setdefault((fact.agency, fact.period), []).append(fact)
    out = []
    for (agency, period), items in by_key.items():
        created = next((f for f in items if f.type == "obligation.created"), None)
        if created is None or created.due_before is None or created.status not in (None, "pending", "overdue"):
            continue
        if any(f.type in ("obligation.fulfilled", "obligation.waived", "obligation.closed") for f in items):
            continue
        extensions = sorted((f for f in items if f.type == "obligation.extended"), key=lambda f: f.at)
        due_before = extensions[-1].due_before if extensions else created.due_before
        assert due_before is not None
        day = deadline_day(due_before)
        came = [r for r in ladder(day, policy, plan.working_days, plan.escalation_local_time) if r.at <= at]
        if not came or came[-1].level not in carried:
            continue
        out.append(
            DigestEntry(
                agency=agency,
                period=period,
                unit_name=created.unit_name or agency,
                unit_order=created.unit_order,
                deadline=day,
                days_overdue=(local_date(at) - day).days,
                level=came[-1].level,
            )
        )

    def deadline_of(key: str) -> date:
        found = plan.period(key)  # any year of the plan
        return found.deadline_day if found else date.max

    return sorted(
        out,
        key=lambda e: (deadline_of(e.period), e.period, e.unit_order or 10**6, e.agency),
    )


def digest_for(plan: Plan, role: str, entries: Iterable[DigestEntry]) -> list[DigestEntry]:
    """The entries a recipient role's digest carries: those whose level names the role among its `digest`."""
    roles = {lv.level: set(lv.digest) for lv in plan.escalation}
    return [e for e in entries if role in roles.get(e.level, set())]


def digest_event_id(plan: Plan, day: date) -> str:
    """The id of a day's digest (the notifications' event): one per plan and local date."""
    return f"digest:{plan.id}:{day.isoformat()}"
