"""The event catalogue of SPEC "Events": one typed class per event type with its marshmallow schema, used by
producers and consumers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Self

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.events import EVENT_TYPES, Event
from shared.ladder import LADDER_LEVELS

STATUSES = ("pending", "submitted_on_time", "submitted_late", "overdue", "waived", "closed_by_reorganisation")
LEVELS = LADDER_LEVELS


class MalformedEvent(ValueError):
    """A message that is not a valid event of the catalogue: it goes to the dead-letter queue."""


class _Data(Schema):
    class Meta:
        unknown = RAISE


class _ObligationRef(_Data):
    agency = fields.String(required=True)
    period = fields.String(required=True)


class ReportSubmittedSchema(_Data):
    report_id = fields.String(required=True)
    agency = fields.String(required=True)
    period = fields.String(required=True)
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    received_at = fields.AwareDateTime(required=True)
    on_time = fields.Boolean(required=True, allow_none=True)
    completeness = fields.Float(required=True)
    source = fields.String(required=True, validate=validate.OneOf(["api", "form", "on_behalf"]))
    submitted_by = fields.String(required=True)
    content = fields.Dict(required=True)


class ReportAmendedSchema(ReportSubmittedSchema):
    previous_revision = fields.Integer(required=True, strict=True)
    amended_at = fields.AwareDateTime(required=True)


class ObligationCreatedSchema(_ObligationRef):
    generation = fields.Integer(required=True, strict=True)
    due_before = fields.AwareDateTime(required=True)
    deadline_day = fields.Date(required=True)
    unit_name = fields.String(required=True)
    unit_order = fields.Integer(required=True, allow_none=True)
    unit_types = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class ObligationLevelSchema(_ObligationRef):
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    generation = fields.Integer(required=True, strict=True)
    due_before = fields.AwareDateTime(required=True)
    days_overdue = fields.Integer(required=True, strict=True)
    skipped = fields.List(fields.String(), load_default=list)


class ObligationFulfilledSchema(_ObligationRef):
    status = fields.String(required=True, validate=validate.OneOf(["submitted_on_time", "submitted_late"]))
    received_at = fields.AwareDateTime(required=True)
    due_before = fields.AwareDateTime(required=True)
    generation = fields.Integer(required=True, strict=True)
    days_late = fields.Integer(required=True, strict=True)
    report_id = fields.String(required=True)


class ExtensionRequestedSchema(_ObligationRef):
    request_id = fields.String(required=True)
    reason = fields.String(required=True)
    proposed_date = fields.Date(required=True)
    requested_by = fields.String(load_default=None, allow_none=True)


class ExtensionRefusedSchema(_ObligationRef):
    request_id = fields.String(required=True)
    reason = fields.String(required=True)
    decided_by = fields.String(load_default=None, allow_none=True)


class ObligationExtendedSchema(_ObligationRef):
    generation = fields.Integer(required=True, strict=True)
    due_before = fields.AwareDateTime(required=True)
    effective_from = fields.AwareDateTime(required=True)
    request_id = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)
    decided_by = fields.String(load_default=None, allow_none=True)


class ObligationWaivedSchema(_ObligationRef):
    reason = fields.String(required=True)
    waived_by = fields.String(load_default=None, allow_none=True)


class ObligationClosedSchema(_ObligationRef):
    status = fields.String(required=True, validate=validate.Equal("closed_by_reorganisation"))
    reason = fields.String(required=True)


class UnitChangedSchema(_Data):
    code = fields.String(required=True)
    name = fields.String(required=True)
    valid_from = fields.Date(required=True, allow_none=True)
    valid_until = fields.Date(required=True, allow_none=True)
    successors = fields.List(fields.String(), required=True)


class ContactSchema(_Data):
    alert_role = fields.String(required=True, validate=validate.OneOf(["focal", "head", "other"]))
    name = fields.String(required=True)
    title = fields.String(load_default="")
    email = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)


class ContactsChangedSchema(_Data):
    agency = fields.String(required=True)
    contacts = fields.List(fields.Nested(ContactSchema), required=True)


class NotificationOutcomeSchema(_Data):
    notification_id = fields.String(required=True)
    event_id = fields.String(required=True)
    recipient = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(["email", "webhook", "inbox"]))
    attempt = fields.Integer(required=True, strict=True)
    error = fields.String(load_default=None, allow_none=True)


class IntakeWatermarkSchema(_Data):
    """Every report intake accepted before `received_before` is in an event published before this one (F17)."""

    received_before = fields.AwareDateTime(required=True)


class LadderHeldSchema(_Data):
    """The scheduler holds the ladder: the intake watermark lags business time by more than `limit_seconds`."""

    held_since = fields.AwareDateTime(required=True)
    watermark = fields.AwareDateTime(required=True, allow_none=True)
    limit_seconds = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True)


class LadderResumedSchema(_Data):
    """The intake watermark caught up: the held levels are applied (with the usual skip rule)."""

    held_since = fields.AwareDateTime(required=True)
    resumed_at = fields.AwareDateTime(required=True)
    watermark = fields.AwareDateTime(required=True)


# --- the typed events: one frozen dataclass per event type, named after it, with its schema ----------------


@dataclass(frozen=True)
class EventData:
    """The typed `data` of one event type: TYPE is its routing key, SCHEMA what validates it on the wire.

    The wire format stays the envelope of shared.events with `data` as a JSON object; a consumer's
    EVENT_HANDLERS table is keyed by these classes and `of` reads an envelope's data as one of them.
    """

    TYPE: ClassVar[str]
    SCHEMA: ClassVar[type[Schema]]

    @classmethod
    def of(cls, event: Event) -> Self:
        """The typed data of an envelope of this class's type (loaded through its schema)."""
        if event.type != cls.TYPE:
            raise MalformedEvent(f"{event.type} is not {cls.TYPE}")
        try:
            return cls(**cls.SCHEMA().load(event.data))
        except ValidationError as exc:
            raise MalformedEvent(str(exc.messages)) from exc


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
    SCHEMA = ReportSubmittedSchema


@dataclass(frozen=True)
class ReportAmended(_ReportData):
    """A unit replaced its report with a new revision."""

    TYPE = "report.amended"
    SCHEMA = ReportAmendedSchema
    previous_revision: int
    amended_at: datetime


@dataclass(frozen=True)
class ObligationCreated(EventData):
    """A unit owes a report for a period."""

    TYPE = "obligation.created"
    SCHEMA = ObligationCreatedSchema
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
class _ObligationLevel(EventData):
    agency: str
    period: str
    level: str
    generation: int
    due_before: datetime
    days_overdue: int
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ObligationReminderDue(_ObligationLevel):
    """A reminder level of the ladder was reached."""

    TYPE = "obligation.reminder_due"
    SCHEMA = ObligationLevelSchema


@dataclass(frozen=True)
class ObligationOverdue(_ObligationLevel):
    """The deadline passed without a report."""

    TYPE = "obligation.overdue"
    SCHEMA = ObligationLevelSchema


@dataclass(frozen=True)
class ObligationEscalated(_ObligationLevel):
    """An escalation level of the ladder was reached."""

    TYPE = "obligation.escalated"
    SCHEMA = ObligationLevelSchema


@dataclass(frozen=True)
class ObligationExtensionRequested(EventData):
    """A unit asked for a later deadline."""

    TYPE = "obligation.extension_requested"
    SCHEMA = ExtensionRequestedSchema
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
    SCHEMA = ExtensionRefusedSchema
    agency: str
    period: str
    request_id: str
    reason: str
    decided_by: str | None = None


@dataclass(frozen=True)
class ObligationExtended(EventData):
    """The obligation's deadline moved (a granted extension)."""

    TYPE = "obligation.extended"
    SCHEMA = ObligationExtendedSchema
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
    SCHEMA = ObligationFulfilledSchema
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
    SCHEMA = ObligationWaivedSchema
    agency: str
    period: str
    reason: str
    waived_by: str | None = None


@dataclass(frozen=True)
class ObligationClosed(EventData):
    """The obligation was closed by a reorganisation of units."""

    TYPE = "obligation.closed"
    SCHEMA = ObligationClosedSchema
    agency: str
    period: str
    status: str
    reason: str


@dataclass(frozen=True)
class UnitChanged(EventData):
    """A unit of the plan was created, renamed, merged or dissolved."""

    TYPE = "unit.changed"
    SCHEMA = UnitChangedSchema
    code: str
    name: str
    valid_from: date | None
    valid_until: date | None
    successors: list[str]


@dataclass(frozen=True)
class UnitContactsChanged(EventData):
    """A unit's staff list (who is alerted) changed."""

    TYPE = "unit.contacts_changed"
    SCHEMA = ContactsChangedSchema
    agency: str
    contacts: list[dict[str, Any]]


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
    SCHEMA = NotificationOutcomeSchema


@dataclass(frozen=True)
class NotificationFailed(_NotificationOutcome):
    """A notification could not be delivered (after its retries)."""

    TYPE = "notification.failed"
    SCHEMA = NotificationOutcomeSchema


@dataclass(frozen=True)
class IntakeWatermark(EventData):
    """Every report accepted before `received_before` has been published (F17)."""

    TYPE = "intake.watermark"
    SCHEMA = IntakeWatermarkSchema
    received_before: datetime


@dataclass(frozen=True)
class SchedulerLadderHeld(EventData):
    """The scheduler holds the ladder while intake's watermark lags."""

    TYPE = "scheduler.ladder_held"
    SCHEMA = LadderHeldSchema
    held_since: datetime
    watermark: datetime | None
    limit_seconds: int
    reason: str


@dataclass(frozen=True)
class SchedulerLadderResumed(EventData):
    """The scheduler resumed the ladder."""

    TYPE = "scheduler.ladder_resumed"
    SCHEMA = LadderResumedSchema
    held_since: datetime
    resumed_at: datetime
    watermark: datetime


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
    )
}
# Every obligation.* event (what the `obligation.*` binding of earlier releases matched).
OBLIGATION_EVENTS: tuple[type[EventData], ...] = tuple(
    cls for event_type, cls in EVENT_CLASSES.items() if event_type.startswith("obligation.")
)
DATA_SCHEMAS: dict[str, type[Schema]] = {event_type: cls.SCHEMA for event_type, cls in EVENT_CLASSES.items()}
assert set(EVENT_CLASSES) == set(EVENT_TYPES), "the catalogue names every event type once"


class EnvelopeSchema(Schema):
    """The envelope every event shares."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    version = fields.Integer(required=True, strict=True, validate=validate.Equal(1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True)
    correlation_id = fields.String(required=True, allow_none=True)
    subject = fields.String(required=True)
    subject_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    data = fields.Dict(required=True)


def validate_envelope(raw: Any) -> Event:
    """Check a decoded message against the envelope and its type's schema; raise MalformedEvent if not valid."""
    if not isinstance(raw, dict):
        raise MalformedEvent("an event is a JSON object")
    try:
        EnvelopeSchema().load(raw)
        DATA_SCHEMAS[raw["type"]]().load(raw["data"])
    except ValidationError as exc:
        raise MalformedEvent(str(exc.messages)) from exc
    return Event.from_dict(raw)


def check_event(event: Event) -> Event:
    """Validate an event a producer is about to store (the producer side of "validated on both sides")."""
    return validate_envelope(event.to_dict())
