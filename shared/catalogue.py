"""The event catalogue of SPEC "Events": the marshmallow schema of each event type's data (its typed class is in
shared.events) and of the envelope, checked by producers before they store an event and by consumers on
receipt."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.events import (
    EVENT_TYPES,
    Event,
    IntakeWatermark,
    MalformedEvent,
    NotificationDelivered,
    NotificationFailed,
    ObligationClosed,
    ObligationCreated,
    ObligationEscalated,
    ObligationExtended,
    ObligationExtensionRefused,
    ObligationExtensionRequested,
    ObligationFulfilled,
    ObligationOverdue,
    ObligationReminderDue,
    ObligationWaived,
    PlanPublished,
    ReportAmended,
    ReportSubmitted,
    SchedulerLadderHeld,
    SchedulerLadderResumed,
    UnitChanged,
    UnitContactsChanged,
)
from shared.ladder import LADDER_LEVELS

STATUSES = ("pending", "submitted_on_time", "submitted_late", "overdue", "waived", "closed_by_reorganisation")
LEVELS = LADDER_LEVELS


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


class PlanPublishedSchema(_Data):
    """A new version of a plan's unit list: the list is read from the scheduler by its number."""

    plan = fields.String(required=True)
    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    effective_from = fields.Date(required=True)
    published_by = fields.String(required=True)
    added = fields.List(fields.String(), required=True)
    ended = fields.List(fields.String(), required=True)
    renamed = fields.List(fields.String(), required=True)
    changed = fields.List(fields.String(), required=True)


DATA_SCHEMAS: dict[str, type[Schema]] = {
    ReportSubmitted.TYPE: ReportSubmittedSchema,
    ReportAmended.TYPE: ReportAmendedSchema,
    ObligationCreated.TYPE: ObligationCreatedSchema,
    ObligationReminderDue.TYPE: ObligationLevelSchema,
    ObligationOverdue.TYPE: ObligationLevelSchema,
    ObligationEscalated.TYPE: ObligationLevelSchema,
    ObligationExtensionRequested.TYPE: ExtensionRequestedSchema,
    ObligationExtensionRefused.TYPE: ExtensionRefusedSchema,
    ObligationExtended.TYPE: ObligationExtendedSchema,
    ObligationFulfilled.TYPE: ObligationFulfilledSchema,
    ObligationWaived.TYPE: ObligationWaivedSchema,
    ObligationClosed.TYPE: ObligationClosedSchema,
    UnitChanged.TYPE: UnitChangedSchema,
    UnitContactsChanged.TYPE: ContactsChangedSchema,
    NotificationDelivered.TYPE: NotificationOutcomeSchema,
    NotificationFailed.TYPE: NotificationOutcomeSchema,
    IntakeWatermark.TYPE: IntakeWatermarkSchema,
    SchedulerLadderHeld.TYPE: LadderHeldSchema,
    SchedulerLadderResumed.TYPE: LadderResumedSchema,
    PlanPublished.TYPE: PlanPublishedSchema,
}
assert set(DATA_SCHEMAS) == set(EVENT_TYPES), "the catalogue gives every event type a schema"


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
