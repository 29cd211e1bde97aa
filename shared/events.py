"""The event envelope and the typed data of each event type: plain data shared by every producer and consumer
(their wire schemas live in shared.catalogue).

`subject` is the aggregate an event is about (`report:<unit>:<period>`, `obligation:<unit>:<period>`,
`unit:<code>`) and `subject_version` grows with each change of it; consumers apply an event only when its
`subject_version` is newer than what they hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, date, datetime
from types import UnionType
from typing import Any, ClassVar, Protocol, Self, TypeAlias, TypeVar, get_args, get_origin, get_type_hints

from shared.timerules import parse_instant

EVENT_TYPES = (
    "report.submitted",
    "report.amended",
    "obligation.created",
    "obligation.reminder_due",
    "obligation.overdue",
    "obligation.escalated",
    "obligation.extension_requested",
    "obligation.extension_refused",
    "obligation.extended",
    "obligation.fulfilled",
    "obligation.waived",
    "obligation.closed",
    "unit.changed",
    "unit.contacts_changed",
    "notification.delivered",
    "notification.failed",
    "intake.watermark",
    "scheduler.ladder_held",
    "scheduler.ladder_resumed",
    "plan.published",
)


@dataclass(frozen=True)
class Event:
    """One event as it travels on the broker and is kept by its producer."""

    type: str
    subject: str
    subject_version: int
    data: dict[str, Any]
    producer: str
    occurred_at: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str | None = None
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready envelope (instants as ISO 8601 strings in UTC)."""
        out = asdict(self)
        out["occurred_at"] = self.occurred_at.astimezone(UTC).isoformat()
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        """Rebuild an envelope already validated by shared.catalogue."""
        occurred = raw["occurred_at"]
        if isinstance(occurred, str):
            occurred = datetime.fromisoformat(occurred.replace("Z", "+00:00"))
        return cls(
            id=raw["id"],
            type=raw["type"],
            version=raw.get("version", 1),
            occurred_at=occurred,
            producer=raw["producer"],
            correlation_id=raw.get("correlation_id"),
            subject=raw["subject"],
            subject_version=int(raw["subject_version"]),
            data=dict(raw["data"]),
        )


def obligation_subject(agency: str, period: str) -> str:
    """The subject of an obligation's events."""
    return f"obligation:{agency}:{period}"


def report_subject(agency: str, period: str) -> str:
    """The subject of a report's events."""
    return f"report:{agency}:{period}"


# --- the typed events: one frozen dataclass per event type, named after it ------------------------------


class Enveloped(Protocol):
    """Anything that carries an event's type and its JSON data: an Event, or a stored copy of one."""

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> Mapping[str, object]: ...


class MalformedEvent(ValueError):
    """A message that is not a valid event of the catalogue: it goes to the dead-letter queue."""


@dataclass(frozen=True)
class EventData:
    """The typed `data` of one event type, TYPE its routing key; shared.catalogue holds the schema that
    validates it on the wire (DATA_SCHEMAS, a test keeps the two field for field).

    The wire format stays the envelope above with `data` as a JSON object; a consumer's EVENT_HANDLERS table
    is keyed by these classes, and a handler reads its envelope's data with `of`. Plain Python on purpose:
    domain and handler modules use these classes and import no schema library.
    """

    TYPE: ClassVar[str]

    @classmethod
    def of(cls, event: Enveloped) -> Self:
        """The typed data of an envelope of this class's type, already validated by shared.catalogue at the
        edge: instants become aware UTC datetimes (shared.timerules.parse_instant, the one reading of an
        instant), days dates; MalformedEvent for another type."""
        if event.type != cls.TYPE:
            raise MalformedEvent(f"{event.type} is not {cls.TYPE}")
        return _load(cls, event.data)

    def to_data(self) -> dict[str, Any]:
        """The JSON `data` a producer publishes, field by field in declaration order (instants and days in ISO
        8601 as `isoformat` writes them), so what is published and what `of` reads have one definition."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}


_T = TypeVar("_T")


def typed(event: Enveloped) -> EventData:
    """The typed data of any envelope, by its type (EVENT_CLASSES)."""
    cls = EVENT_CLASSES.get(event.type)
    if cls is None:
        raise MalformedEvent(f"unknown event type {event.type!r}")
    return cls.of(event)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    # Resolving the annotations costs a millisecond per call: once per class, not once per event folded.
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _load(cls: type[_T], data: Mapping[str, object]) -> _T:
    """A dataclass from validated JSON data: each field converted by its annotation, absent ones defaulted."""
    hints = _hints(cls)
    values = {f.name: _value(hints[f.name], data[f.name]) for f in fields(cls) if f.name in data}  # type: ignore[arg-type]
    return cls(**values)


def _json(value: object) -> object:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, list):
        return [_json(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in fields(value)}
    return value


def _value(hint: object, value: object) -> object:
    if value is None:
        return None
    kinds = get_args(hint) if isinstance(hint, UnionType) else (hint,)
    if isinstance(value, str) and datetime in kinds:
        return parse_instant(value)
    if isinstance(value, str) and date in kinds:
        return date.fromisoformat(value)
    if hint is float and isinstance(value, int):
        return float(value)
    if get_origin(hint) is list and isinstance(item := get_args(hint)[0], type) and is_dataclass(item):
        assert isinstance(value, list)
        return [_load(item, v) for v in value]
    return value


@dataclass(frozen=True)
class _ReportData(EventData):
    report_id: str
    agency: str
    period: str
    revision: int
    received_at: datetime
    on_time: bool | None
    completeness: float
    source: str
    submitted_by: str
    content: dict[str, Any]


@dataclass(frozen=True)
class ReportSubmitted(_ReportData):
    """A unit's report was accepted (its first revision)."""

    TYPE = "report.submitted"


@dataclass(frozen=True)
class ReportAmended(_ReportData):
    """A unit replaced its report with a new revision."""

    TYPE = "report.amended"
    previous_revision: int
    amended_at: datetime


@dataclass(frozen=True)
class ObligationCreated(EventData):
    """A unit owes a report for a period."""

    TYPE = "obligation.created"
    agency: str
    period: str
    generation: int
    due_before: datetime
    deadline_day: date
    unit_name: str
    unit_order: int | None
    unit_types: list[str]
    status: str


@dataclass(frozen=True)
class ObligationLevel(EventData):
    agency: str
    period: str
    level: str
    generation: int
    due_before: datetime
    days_overdue: int
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ObligationReminderDue(ObligationLevel):
    """A reminder level of the ladder was reached."""

    TYPE = "obligation.reminder_due"


@dataclass(frozen=True)
class ObligationOverdue(ObligationLevel):
    """The deadline passed without a report."""

    TYPE = "obligation.overdue"


@dataclass(frozen=True)
class ObligationEscalated(ObligationLevel):
    """An escalation level of the ladder was reached."""

    TYPE = "obligation.escalated"


@dataclass(frozen=True)
class ObligationExtensionRequested(EventData):
    """A unit asked for a later deadline."""

    TYPE = "obligation.extension_requested"
    agency: str
    period: str
    request_id: str
    reason: str
    proposed_date: date
    requested_by: str | None = None


@dataclass(frozen=True)
class ObligationExtensionRefused(EventData):
    """Sở Nội vụ refused a requested extension."""

    TYPE = "obligation.extension_refused"
    agency: str
    period: str
    request_id: str
    reason: str
    decided_by: str | None = None


@dataclass(frozen=True)
class ObligationExtended(EventData):
    """The obligation's deadline moved (a granted extension)."""

    TYPE = "obligation.extended"
    agency: str
    period: str
    generation: int
    due_before: datetime
    effective_from: datetime
    request_id: str | None = None
    reason: str | None = None
    decided_by: str | None = None


@dataclass(frozen=True)
class ObligationFulfilled(EventData):
    """A report fulfilled the obligation, on time or late."""

    TYPE = "obligation.fulfilled"
    agency: str
    period: str
    status: str
    received_at: datetime
    due_before: datetime
    generation: int
    days_late: int
    report_id: str


@dataclass(frozen=True)
class ObligationWaived(EventData):
    """Sở Nội vụ waived the obligation."""

    TYPE = "obligation.waived"
    agency: str
    period: str
    reason: str
    waived_by: str | None = None


@dataclass(frozen=True)
class ObligationClosed(EventData):
    """The obligation was closed by a reorganisation of units."""

    TYPE = "obligation.closed"
    agency: str
    period: str
    status: str
    reason: str


@dataclass(frozen=True)
class UnitChanged(EventData):
    """A unit of the plan was created, renamed, merged or dissolved."""

    TYPE = "unit.changed"
    code: str
    name: str
    valid_from: date | None
    valid_until: date | None
    successors: list[str]


@dataclass(frozen=True)
class ContactData:
    """One person of a unit's staff list as `unit.contacts_changed` carries it."""

    alert_role: str
    name: str
    title: str = ""
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class UnitContactsChanged(EventData):
    """A unit's staff list (who is alerted) changed."""

    TYPE = "unit.contacts_changed"
    agency: str
    contacts: list[ContactData]


@dataclass(frozen=True)
class _NotificationOutcome(EventData):
    notification_id: str
    event_id: str
    recipient: str
    channel: str
    attempt: int
    error: str | None = None


@dataclass(frozen=True)
class NotificationDelivered(_NotificationOutcome):
    """A notification reached its recipient."""

    TYPE = "notification.delivered"


@dataclass(frozen=True)
class NotificationFailed(_NotificationOutcome):
    """A notification could not be delivered (after its retries)."""

    TYPE = "notification.failed"


@dataclass(frozen=True)
class IntakeWatermark(EventData):
    """Every report accepted before `received_before` has been published (F17)."""

    TYPE = "intake.watermark"
    received_before: datetime


@dataclass(frozen=True)
class SchedulerLadderHeld(EventData):
    """The scheduler holds the ladder while intake's watermark lags."""

    TYPE = "scheduler.ladder_held"
    held_since: datetime
    watermark: datetime | None
    limit_seconds: int
    reason: str


@dataclass(frozen=True)
class SchedulerLadderResumed(EventData):
    """The scheduler resumed the ladder."""

    TYPE = "scheduler.ladder_resumed"
    held_since: datetime
    resumed_at: datetime
    watermark: datetime


@dataclass(frozen=True)
class PlanPublished(EventData):
    """Sở Nội vụ published a new version of a plan's unit list (shared.plan_versions): its number, the day it
    takes effect and the codes it changes. The list itself is read from the scheduler
    (`GET /api/v1/plan/versions/<number>`), so the event stays small whatever the province's size."""

    TYPE = "plan.published"
    plan: str
    number: int
    effective_from: date
    published_by: str
    added: list[str]
    ended: list[str]
    renamed: list[str]
    changed: list[str]


def plan_subject(plan: str) -> str:
    """The subject of a plan's events (`plan.published`); its `subject_version` is the version number."""
    return f"plan:{plan}"


EVENT_CLASSES: dict[str, type[EventData]] = {
    cls.TYPE: cls
    for cls in (
        ReportSubmitted,
        ReportAmended,
        ObligationCreated,
        ObligationReminderDue,
        ObligationOverdue,
        ObligationEscalated,
        ObligationExtensionRequested,
        ObligationExtensionRefused,
        ObligationExtended,
        ObligationFulfilled,
        ObligationWaived,
        ObligationClosed,
        UnitChanged,
        UnitContactsChanged,
        NotificationDelivered,
        NotificationFailed,
        IntakeWatermark,
        SchedulerLadderHeld,
        SchedulerLadderResumed,
        PlanPublished,
    )
}
# The data of any obligation.* event (what the `obligation.*` binding of earlier releases matched) and of any
# report event: handlers that take several types read them with `typed` and tell them apart by class.
ObligationData: TypeAlias = (
    ObligationCreated
    | ObligationReminderDue
    | ObligationOverdue
    | ObligationEscalated
    | ObligationExtensionRequested
    | ObligationExtensionRefused
    | ObligationExtended
    | ObligationFulfilled
    | ObligationWaived
    | ObligationClosed
)
ReportData: TypeAlias = ReportSubmitted | ReportAmended
# The obligation events that carry the deadline in force (`due_before` of a `generation`).
DeadlineData: TypeAlias = ObligationCreated | ObligationLevel | ObligationExtended | ObligationFulfilled
OBLIGATION_EVENTS: tuple[type[EventData], ...] = get_args(ObligationData)
assert {cls.TYPE for cls in OBLIGATION_EVENTS} == {t for t in EVENT_CLASSES if t.startswith("obligation.")}
assert set(EVENT_CLASSES) == set(EVENT_TYPES), "the catalogue names every event type once"
