"""Notifier's use cases: one function per event (deciding), one per delivery step (sending), one per command."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from services.notifier.domain import (
    DEAD,
    DELIVERED,
    DIGEST_LEVEL,
    EMAIL,
    FACT_EVENTS,
    FAILED,
    INBOX,
    PENDING,
    RECEIPT_KINDS,
    WEBHOOK,
    Attempt,
    Claim,
    DeliveryFailed,
    Fact,
    MailContext,
    Notification,
    NotificationNotDead,
    NotificationNotFound,
    Outcome,
    RetryPolicy,
    after_attempt,
    attempt_id,
    audience,
    channels,
    delivery_id_for,
    digest_event_id,
    digest_for,
    digest_instant,
    escalated_to_name,
    expected_at,
    fact_of,
    leadership,
    message_id_for,
    notification_id,
    overdue_at,
    recipients,
    unit_contacts,
)
from services.notifier.messages import (
    DigestRow,
    Message,
    alert_message,
    digest_message,
    leadership_message,
    receipt_message,
)
from shared.events import (
    Event,
    MalformedEvent,
    ObligationData,
    ObligationExtended,
    ObligationExtensionRefused,
    ObligationFulfilled,
    ObligationLevel,
    ObligationWaived,
    UnitContactsChanged,
    typed,
)
from shared.failpoints import failpoint
from shared.paging import Page, PageRequest
from shared.plan import Contact, Plan
from shared.retention import DayPruner, cutoff_day
from shared.timerules import Clock, days_overdue, deadline_day, local_date

FIRST_PAGE = PageRequest()
MAX_EVENT_ID = 200  # the envelope's limit
log = logging.getLogger(__name__)


class LedgerStore(Protocol):
    """The ledger: notifications (inserted once, then updated only by the sender) and their attempts."""

    def record(self, notification: Notification) -> bool:
        """Store a notification once (its id is unique); False if it was already there."""
        ...

    def record_many(self, notifications: Sequence[Notification]) -> int:
        """Store each notification once, in bulk; return how many were new."""
        ...

    def page(self, filters: dict[str, str], asked: PageRequest, *, newest_first: bool = False) -> Page[Notification]:
        """A page of the notifications matching the equality `filters`, in decision order (then id)."""
        ...

    def count(self, filters: dict[str, str]) -> int:
        """How many notifications match the equality `filters` (at least one)."""
        ...

    def get(self, notification_id: str) -> Notification | None:
        """One notification by id, with its bodies."""
        ...

    def with_bodies(self, notification: Notification) -> Notification:
        """The notification (as `due` gave it) with its text and HTML bodies."""
        ...

    def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending or failed notifications whose next attempt is due at `now` (wall clock), oldest first; their
        bodies may be left out (`get` has them)."""
        ...

    def attempt(self, attempt_id: str) -> Attempt | None:
        """One recorded attempt by id."""
        ...

    def claim(self, claim: Claim) -> bool:
        """Hold one attempt of a notification for one sender (insert-once, taken over once its lease ran
        out); True when this sender holds it now."""
        ...

    def record_attempt(self, attempt: Attempt, event: Event) -> bool:
        """Append an attempt once, carrying its `notification.*` event to the outbox relay."""
        ...

    def record_attempts(self, attempts: Sequence[tuple[Attempt, Event]]) -> int:
        """Append attempts once each, in bulk; return how many were new."""
        ...

    def apply(self, notification_id: str, outcome: Outcome) -> None:
        """Write the state a notification reached after an attempt (by the sender holding that attempt)."""
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


class FactStore(Protocol):
    """The obligation facts the daily digest folds, one per event (inserted once)."""

    def add(self, fact: Fact) -> bool:
        """Store a fact once (by its event id); False if it was already there."""
        ...

    def all(self) -> list[Fact]:
        """Every fact kept."""
        ...


class InboxStore(Protocol):
    """Which inbox items their person has read (one record per item, inserted once)."""

    def mark_read(self, notification_id: str, *, by: str, at: datetime) -> bool:
        """Record once that `by` read the item; False if it was already read."""
        ...

    def first_read(self, notification_id: str) -> datetime | None:
        """When the item was first read, or None."""
        ...

    def read_at(self, notification_ids: Sequence[str]) -> dict[str, datetime]:
        """When each of these items was first read (absent: unread)."""
        ...

    def read_by(self, person: str) -> int:
        """How many items `person` has read."""
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
    facts: FactStore | None = None,
) -> list[Notification]:
    """Decide who hears of an obligation event and insert one pending notification per (recipient, channel),
    each once (redelivering the event inserts nothing new).

    Levels go to the unit's contacts by the plan's roles for that level; receipts (submission, extension
    granted or refused, waiver) to its focal officers; each by e-mail and to the person's inbox, and a level by
    webhook too when a gateway is configured (`MailContext.webhook`). The unit's latest staff list replaces
    the plan's contacts. A level that the plan's digest carries (overdue and the escalations) also goes to the
    inbox of the leadership roles named for it, never to their mailbox. The event's fact is kept for the daily
    digest. The first attempt is due at once on the wall clock (`wall`); `decided_at` is business time.
    """
    data = typed(event)
    if not isinstance(data, ObligationData):
        raise MalformedEvent(f"{event.type} is not an obligation event")
    if facts is not None and event.type in FACT_EVENTS:
        facts.add(fact_of(event.id, event.occurred_at, data))
    level, roles = audience(plan, data)
    if not roles:
        return []
    agency, period = data.agency, data.period
    people = recipients(unit_contacts(plan, agency, contacts.latest(agency) if contacts else None), roles)
    mail = mail or MailContext(intake_url="")
    decided_at, due_at = clock.now(), wall.now()
    today = local_date(decided_at)
    out: list[Notification] = []
    shelved: list[tuple[Attempt, Event]] = []

    def decide(channel: str, email: str, role: str, name: str, phone: str | None, message: Message) -> None:
        email = email.strip().lower()  # as logins are kept: the inbox finds a person by their login
        nid = notification_id(event.id, email, channel)
        text = message.text
        if channel == WEBHOOK:
            assert isinstance(data, ObligationLevel), "only the ladder's levels go to the gateway"
            text = webhook_body(
                event, data, nid, email=email, role=role, name=name, phone=phone, message=message, today=today
            )
        notification = Notification(
            id=nid,
            event_id=event.id,
            event_type=event.type,
            agency=agency,
            period=period,
            level=level,
            recipient=email,
            recipient_role=role,
            recipient_name=name,
            channel=channel,
            status=PENDING,
            decided_at=decided_at,
            subject=message.subject,
            text=text,
            html="" if channel == WEBHOOK else message.html,
            message_id=delivery_id_for(nid) if channel == WEBHOOK else message_id_for(nid, mail.message_domain),
            attempts=0,
            next_attempt_at=due_at,
            kind=RECEIPT_KINDS.get(event.type),
            recipient_phone=phone,
        )
        if channel == INBOX:
            notification = inbox_delivered(notification, at=due_at)
            attempt = Attempt(attempt_id(nid, 1), nid, 1, due_at, INBOX, email, DELIVERED)
            shelved.append((attempt, outcome_event(notification, attempt)))
        out.append(notification)

    for contact in people:
        assert contact.email is not None
        message = _render(data, contact, plan=plan, mail=mail, today=today)
        for channel in channels(event.type, webhook=mail.webhook):
            decide(channel, contact.email, contact.alert_role, contact.name, contact.phone, message)
    if isinstance(data, ObligationLevel):
        for person in leadership(plan, level):
            message = leadership_message(
                level=level,
                unit_name=_unit_name(plan, agency),
                period_name=_period_name(plan, period),
                deadline=deadline_day(data.due_before),
                days_overdue=told_days_overdue(data, today),
                recipient_name=str(person.get("name") or ""),
            )
            decide(INBOX, person["email"].strip(), person["role"], str(person.get("name") or ""), None, message)
    # Two or three round trips per event, whatever the number of people and channels; a redelivered event
    # inserts nothing new, and an inbox item's attempt is inserted once after its item.
    ledger.record_many(out)
    ledger.record_attempts(shelved)
    return out


def inbox_delivered(notification: Notification, *, at: datetime) -> Notification:
    """An inbox item is delivered when it is decided: the stored notification is the item, so there is nothing
    for the sender to do. Its one attempt is recorded at once, with its `notification.delivered`."""
    return replace(notification, status=DELIVERED, attempts=1, next_attempt_at=None, delivered_at=at)


def told_days_overdue(data: ObligationLevel, today: date) -> int:
    """The days overdue an alert states: the local date it is decided on (business time) minus the deadline
    day D (SPEC "Time rules"), not those of the level's own day. After a clock jump or downtime, the FY
    `escalation_1` of 16/12/2019 decided on 17/12 says 7 days, not 6."""
    return days_overdue(today, data.due_before)


def webhook_body(
    event: Event,
    data: ObligationLevel,
    nid: str,
    *,
    email: str,
    role: str,
    name: str,
    phone: str | None,
    message: Message,
    today: date,
) -> str:
    """The JSON a gateway (SMS, Zalo) receives for one alert, fixed at decision time so every attempt posts the
    same bytes: the delivery id, what happened to which unit's report, the person (with the phone number the
    staff list gives, if any), a one-line Vietnamese text and the link to the unit's form."""
    body = {
        "delivery_id": delivery_id_for(nid),
        "notification_id": nid,
        "event_id": event.id,
        "event_type": event.type,
        "level": data.level,
        "agency": data.agency,
        "period": data.period,
        "deadline": deadline_day(data.due_before).isoformat(),
        "days_overdue": told_days_overdue(data, today),
        "recipient": {"name": name, "role": role, "email": email, "phone": phone},
        "text": message.subject,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def _unit_name(plan: Plan, agency: str) -> str:
    unit = plan.unit(agency)
    return unit.name if unit else agency


def _period_name(plan: Plan, key: str) -> str:
    period = plan.period(key)
    return period.name if period else key


def _render(data: ObligationData, contact: Contact, *, plan: Plan, mail: MailContext, today: date) -> Message:
    """The Vietnamese texts of one notification (services.notifier.messages) about a level or a receipt."""
    common: dict[str, Any] = {
        "unit_name": _unit_name(plan, data.agency),
        "period_name": _period_name(plan, data.period),
        "recipient_name": contact.name,
        "form_url": f"{mail.intake_url}/reports/{data.period}",
    }
    if isinstance(data, ObligationLevel):
        return alert_message(
            level=data.level,
            deadline=deadline_day(data.due_before),
            days_overdue=told_days_overdue(data, today),
            escalated_to=escalated_to_name(plan, data.level),
            **common,
        )
    kind = RECEIPT_KINDS[data.TYPE]
    if isinstance(data, ObligationFulfilled):
        return receipt_message(
            kind=kind, received_at=data.received_at, on_time=data.status == "submitted_on_time", **common
        )
    if isinstance(data, ObligationExtended):
        return receipt_message(kind=kind, new_deadline=deadline_day(data.due_before), reason=data.reason, **common)
    if isinstance(data, (ObligationExtensionRefused, ObligationWaived)):
        return receipt_message(kind=kind, reason=data.reason, **common)
    raise ValueError(f"{data.TYPE} alerts nobody")


def on_contacts_changed(event: Event, *, contacts: ContactStore) -> bool:
    """Keep a version of a unit's staff list (insert once by `<agency>:<subject_version>`); later alerts go to
    the people of its highest version."""
    data = UnitContactsChanged.of(event)
    people = [
        Contact(
            alert_role=c.alert_role,
            name=c.name,
            title=c.title or "",
            email=(c.email or "").strip() or None,
            phone=c.phone,
        )
        for c in data.contacts
    ]
    return contacts.add(data.agency, event.subject_version, people, event.occurred_at)


# --- the daily digest (the digest process) ----------------------------------------------------------------


def compose_digest(
    *, plan: Plan, facts: FactStore, ledger: LedgerStore, clock: Clock, wall: Clock, mail: MailContext
) -> date | None:
    """Today's digest, once its time (07:30 local on a working day) has come: one mail per plan recipient
    whose role the overdue obligations' levels carry, listing them as they stood at 07:30; nothing for a
    recipient with nothing to read. Returns the local date covered (None before the time or on a day off).

    Each mail's id is `digest:<plan>:<date>|<e-mail>|email`, inserted once: any number of replicas, each
    composing on every tick, make one digest per (recipient, local date). A day the clock jumps over gets no
    digest of its own; the next digest lists everything still overdue. On a stack that runs several plans each
    has its own digest, of its own units' obligations.
    """
    at = digest_instant(plan, clock.now())
    if at is None:
        return None
    day = local_date(at)
    known = [fact for fact in facts.all() if plan.unit(fact.agency) is not None]
    entries = overdue_at(plan, known, at)
    expected = {_period_name(plan, period): count for period, count in expected_at(known, at).items()}
    event_id = digest_event_id(plan, day)
    due_at = wall.now()
    for person in plan.recipients:
        email = (person.get("email") or "").strip()
        rows = digest_for(plan, str(person.get("role")), entries)
        if not email or not rows:
            continue
        name = str(person.get("name") or "")
        message = digest_message(
            recipient_name=name,
            day=day,
            expected=expected,
            rows=[
                DigestRow(
                    unit_name=e.unit_name,
                    period_name=_period_name(plan, e.period),
                    deadline=e.deadline,
                    days_overdue=e.days_overdue,
                    level=e.level,
                )
                for e in rows
            ],
        )
        nid = notification_id(event_id, email, EMAIL)
        ledger.record(
            Notification(
                id=nid,
                event_id=event_id,
                event_type="digest",
                agency="",
                period="",
                level=DIGEST_LEVEL,
                recipient=email,
                recipient_role=str(person.get("role")),
                recipient_name=name,
                channel=EMAIL,
                status=PENDING,
                decided_at=at,
                subject=message.subject,
                text=message.text,
                html=message.html,
                message_id=message_id_for(nid, mail.message_domain),
                next_attempt_at=due_at,
                kind="digest",
            )
        )
    return day


# --- the inbox (HTTP) -------------------------------------------------------------------------------------


def inbox(
    person: str, *, ledger: LedgerStore, reads: InboxStore, asked: PageRequest = FIRST_PAGE
) -> Page[tuple[Notification, datetime | None]]:
    """A page of a person's inbox: the alerts addressed to their e-mail on the inbox channel, newest first, each
    with its text and when it was read."""
    found = ledger.page({"recipient": person.strip().lower(), "channel": INBOX}, asked, newest_first=True)
    read = reads.read_at([n.id for n in found.items])
    # the ledger's page leaves the bodies out; an inbox item's text is what the person reads (one `_id` read each)
    return Page([(ledger.with_bodies(n), read.get(n.id)) for n in found.items], found.next)


def mark_read(
    notification_id: str, *, person: str, ledger: LedgerStore, reads: InboxStore, wall: Clock
) -> tuple[Notification, datetime]:
    """Mark one item of the caller's inbox read (again: no change). Someone else's item is "not found", so
    the answer does not show that it exists."""
    who = person.strip().lower()
    item = ledger.get(notification_id)
    if item is None or item.channel != INBOX or item.recipient.lower() != who:
        raise NotificationNotFound("Không tìm thấy thông báo trong hộp thư của bạn.", field="id")
    now = wall.now()
    reads.mark_read(notification_id, by=who, at=now)  # as `unread_count` counts them: by the item's recipient
    return item, reads.first_read(notification_id) or now  # the first read stands (as the store rounds it)


def unread_count(person: str, *, ledger: LedgerStore, reads: InboxStore) -> int:
    """How many items of a person's inbox are unread: their items less those they have read, two counts by
    equality whatever the inbox's size (a read mark is only ever of its reader's own item, `mark_read`)."""
    who = person.strip().lower()
    return max(0, ledger.count({"recipient": who, "channel": INBOX}) - reads.read_by(who))


# --- sending (the sender process) -----------------------------------------------------------------------


class ByChannel:
    """The sender's transport: each notification goes out on the transport of its channel."""

    def __init__(self, transports: dict[str, Transport]) -> None:
        self.transports = transports

    def send(self, notification: Notification) -> None:
        """Hand the notification to its channel's transport; an unconfigured channel is a permanent failure."""
        transport = self.transports.get(notification.channel)
        if transport is None:
            raise DeliveryFailed(f"no transport for channel {notification.channel!r}", permanent=True)
        transport.send(notification)


def deliver_due(
    *,
    ledger: LedgerStore,
    transport: Transport,
    wall: Clock,
    policy: RetryPolicy,
    holder: str = "sender",
    limit: int = 50,
) -> int:
    """Try every notification due now (wall clock) that no other sender holds; return how many were tried.

    Each is tried on its own: whatever one notification raises while it is built or sent is recorded against
    it alone, and the batch goes on.
    """
    due = ledger.due(wall.now(), limit)
    # Each sender starts the batch at its own place, so senders reading the same batch rarely meet on one item.
    start = int(hashlib.sha256(holder.encode("utf-8")).hexdigest(), 16) % len(due) if due else 0
    tried = 0
    for notification in due[start:] + due[:start]:
        tried += (
            deliver(notification, ledger=ledger, transport=transport, wall=wall, policy=policy, holder=holder)
            is not None
        )
    return tried


def deliver(
    notification: Notification,
    *,
    ledger: LedgerStore,
    transport: Transport,
    wall: Clock,
    policy: RetryPolicy,
    holder: str = "sender",
) -> Outcome | None:
    """One attempt, by whichever sender claims it: claim attempt n, send, record the attempt (with its
    `notification.delivered`/`failed` event), then the state. None when there was nothing for this sender to
    do (another sender holds the attempt, or the copy from the batch is out of date).

    Any number of senders run this on the same ledger. Attempt n is claimed by an insert-once document before
    anything is sent (`LedgerStore.claim`), so one sender sends it; a sender that died holding it is replaced
    once its lease ran out. An attempt already recorded is respected: its outcome is applied, nothing is sent.
    A crash between the channel's acceptance and the attempt record (failpoint `notifier.after_send`) sends
    once more after the lease, with the same Message-ID.
    """
    number = notification.attempts + 1
    aid = attempt_id(notification.id, number)
    now = wall.now()
    if not ledger.claim(
        Claim(aid, notification.id, number, holder, now, now + timedelta(seconds=policy.lease_seconds))
    ):
        # Held by another sender. If it recorded the attempt and died before writing the state, that outcome
        # stands (applying it twice writes the same state).
        done = ledger.attempt(aid)
        return _settle(ledger.get(notification.id), done, ledger=ledger, policy=policy) if done else None
    # Recorded by this holder before a store error, or by one whose lease ran out, or this batch's copy is out
    # of date (every change of a sendable notification's state follows a recorded attempt): nothing to send.
    done = ledger.attempt(aid)
    if done is not None:
        return _settle(ledger.get(notification.id), done, ledger=ledger, policy=policy)
    current = ledger.with_bodies(notification)
    failure: DeliveryFailed | None = None
    try:
        transport.send(current)
        failpoint("notifier.after_send")
    except DeliveryFailed as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001 - one notification's fault (a bug, bad data) must not stop the rest
        log.exception("building or sending a notification failed", extra={"notification": current.id})
        failure = DeliveryFailed(f"Lỗi khi tạo hoặc gửi thông báo: {type(exc).__name__}: {exc}"[:500])
    now = wall.now()
    outcome = after_attempt(current, error=failure, now=now, policy=policy)
    attempt = Attempt(
        id=aid,
        notification_id=current.id,
        number=number,
        at=now,
        channel=current.channel,
        recipient=current.recipient,
        outcome=DELIVERED if failure is None else FAILED,
        error=outcome.last_error,
        permanent=bool(failure and failure.permanent),
    )
    if failure is not None:
        log.warning(
            "delivery attempt failed",
            extra={
                "notification": current.id,
                "attempt": number,
                "error": outcome.last_error,
                "status": outcome.status,
            },
        )
    if not ledger.record_attempt(attempt, outcome_event(current, attempt)):
        # A sender that took the claim over after this one's lease ran out recorded the attempt first.
        recorded = ledger.attempt(aid)
        return _settle(current, recorded, ledger=ledger, policy=policy) if recorded else None
    ledger.apply(current.id, outcome)
    return outcome


def _settle(current: Notification | None, done: Attempt, *, ledger: LedgerStore, policy: RetryPolicy) -> Outcome | None:
    """Apply an attempt's recorded outcome, unless the notification has already moved past it."""
    if current is None or current.attempts >= done.number:
        return None
    error = None if done.outcome == DELIVERED else DeliveryFailed(done.error or "", permanent=done.permanent)
    outcome = after_attempt(replace(current, attempts=done.number - 1), error=error, now=done.at, policy=policy)
    ledger.apply(current.id, outcome)
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


def trim_attempt_logs(pruner: DayPruner, *, wall: Clock, keep: timedelta, real_now: float) -> bool:
    """Trim one batch of the attempt logs of notifications delivered more than `keep` ago on the wall clock (the
    time deliveries run on); the ledger keeps each notification; False when there was nothing to do."""
    return pruner.step(lambda: cutoff_day(wall.now(), keep), real_now)


# --- commands (HTTP) ------------------------------------------------------------------------------------


def resend(notification_id: str, *, by: str, ledger: LedgerStore, wall: Clock) -> Notification:
    """Sở Nội vụ re-sends a dead notification: pending again, due now, attempts kept (the same Message-ID).

    The re-send is recorded once per dead spell (`<id>#resend<attempts>`, who and when), and only the request
    whose record was inserted reopens the notification: a double click, or two people at once, re-send it
    once (the other request answers with the state as it is). Senders never touch a dead notification, so the
    reopening has no other writer.
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
    if ledger.record_resend(notification_id, notification.attempts, by=by, at=now):
        ledger.reopen(notification_id, at=now)
    return ledger.get(notification_id) or notification
