"""The event catalogue: every type's envelope and data are checked, anything else is a MalformedEvent."""

import copy
import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.scheduler.domain import obligations_for_plan
from services.scheduler.handlers import created_event
from shared.catalogue import DATA_SCHEMAS, ContactSchema, check_event, validate_envelope
from shared.events import (
    EVENT_CLASSES,
    EVENT_TYPES,
    ContactData,
    Event,
    MalformedEvent,
    ObligationOverdue,
    ReportSubmitted,
    UnitContactsChanged,
    typed,
)
from shared.plan import load_plan

OB = {"agency": "H_CAUKE", "period": "2019-H1"}
DUE = "2019-06-10T17:00:00+00:00"
REPORT = {
    "report_id": "H_CAUKE:2019-H1",
    **OB,
    "revision": 1,
    "received_at": "2019-06-10T03:00:00+00:00",
    "on_time": True,
    "completeness": 1.0,
    "source": "api",
    "submitted_by": "canbo@cauke.example",
    "content": {"indicators": {"tcd_luot": 3}},
}
LEVEL = {**OB, "level": "overdue", "generation": 1, "due_before": DUE, "days_overdue": 1}
OUTCOME = {
    "notification_id": "n-1",
    "event_id": "e-1",
    "recipient": "head@example",
    "channel": "email",
    "attempt": 1,
}

MINIMAL_DATA = {
    "report.submitted": REPORT,
    "report.amended": {**REPORT, "revision": 2, "previous_revision": 1, "amended_at": "2019-06-12T02:00:00+00:00"},
    "obligation.created": {
        **OB,
        "generation": 1,
        "due_before": DUE,
        "deadline_day": "2019-06-10",
        "unit_name": "Ủy ban nhân dân huyện Cầu Kè",
        "unit_order": 24,
        "unit_types": ["HUYEN"],
        "status": "pending",
    },
    "obligation.reminder_due": {**LEVEL, "level": "reminder_7"},
    "obligation.overdue": LEVEL,
    "obligation.escalated": {**LEVEL, "level": "escalation_1", "skipped": ["overdue"]},
    "obligation.extension_requested": {**OB, "request_id": "r-1", "reason": "Lý do", "proposed_date": "2019-06-20"},
    "obligation.extension_refused": {**OB, "request_id": "r-1", "reason": "Không đủ căn cứ"},
    "obligation.extended": {
        **OB,
        "generation": 2,
        "due_before": "2019-06-20T17:00:00+00:00",
        "effective_from": "2019-06-05T03:00:00+00:00",
    },
    "obligation.fulfilled": {
        **OB,
        "status": "submitted_on_time",
        "received_at": "2019-06-10T03:00:00+00:00",
        "due_before": DUE,
        "generation": 1,
        "days_late": 0,
        "report_id": "H_CAUKE:2019-H1",
    },
    "obligation.waived": {**OB, "reason": "Miễn báo cáo"},
    "obligation.closed": {**OB, "status": "closed_by_reorganisation", "reason": "Sáp nhập"},
    "unit.changed": {
        "code": "SKHDT",
        "name": "Sở Kế hoạch và Đầu tư",
        "valid_from": "2019-01-01",
        "valid_until": "2025-03-01",
        "successors": ["STC"],
    },
    "unit.contacts_changed": {
        "agency": "H_CAUKE",
        "contacts": [{"alert_role": "focal", "name": "Nguyễn Văn A"}],
    },
    "notification.delivered": OUTCOME,
    "notification.failed": {**OUTCOME, "error": "smtp 451"},
    "intake.watermark": {"received_before": "2019-06-10T16:59:00+00:00"},
    "scheduler.ladder_held": {
        "held_since": "2019-06-11T03:00:00+00:00",
        "watermark": "2019-06-10T16:00:00+00:00",
        "limit_seconds": 600,
        "reason": "Luồng báo cáo từ hệ thống tiếp nhận bị chậm.",
    },
    "scheduler.ladder_resumed": {
        "held_since": "2019-06-11T03:00:00+00:00",
        "resumed_at": "2019-06-12T02:00:00+00:00",
        "watermark": "2019-06-12T02:00:00+00:00",
    },
    "plan.published": {
        "plan": "vinh-long-2026",
        "number": 1,
        "effective_from": "2026-07-01",
        "published_by": "chuyenvien@snv",
        "added": ["VL_STP"],
        "ended": ["VL_SDTTG"],
        "renamed": [],
        "changed": [],
    },
}


def envelope(event_type: str, data: dict | None = None) -> dict:
    return {
        "id": f"{event_type}:1",
        "type": event_type,
        "version": 1,
        "occurred_at": "2019-06-10T03:00:00+00:00",
        "producer": "scheduler",
        "correlation_id": None,
        "subject": "obligation:H_CAUKE:2019-H1",
        "subject_version": 1,
        "data": copy.deepcopy(MINIMAL_DATA[event_type] if data is None else data),
    }


def test_minimal_data_covers_every_event_type():
    assert set(MINIMAL_DATA) == set(EVENT_TYPES) == set(DATA_SCHEMAS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_envelope_of_each_type_is_accepted(event_type):
    event = validate_envelope(envelope(event_type))
    assert isinstance(event, Event)
    assert event.type == event_type
    assert event.occurred_at == datetime(2019, 6, 10, 3, 0, tzinfo=UTC)
    assert event.data == MINIMAL_DATA[event_type]


def test_unknown_envelope_key_is_malformed():
    raw = envelope("obligation.waived")
    raw["extra"] = 1
    with pytest.raises(MalformedEvent):
        validate_envelope(raw)


@pytest.mark.parametrize("version", [2, 0, "1", True])
def test_wrong_envelope_version_is_malformed(version):
    raw = envelope("obligation.waived")
    raw["version"] = version
    with pytest.raises(MalformedEvent):
        validate_envelope(raw)


def test_naive_occurred_at_is_malformed():
    raw = envelope("obligation.waived")
    raw["occurred_at"] = "2019-06-10T03:00:00"
    with pytest.raises(MalformedEvent):
        validate_envelope(raw)


def test_unknown_event_type_is_malformed():
    raw = envelope("obligation.waived")
    raw["type"] = "obligation.vanished"
    with pytest.raises(MalformedEvent):
        validate_envelope(raw)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_data_with_an_unknown_field_is_malformed(event_type):
    data = {**MINIMAL_DATA[event_type], "surprise": 1}
    with pytest.raises(MalformedEvent):
        validate_envelope(envelope(event_type, data))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_data_missing_a_required_field_is_malformed(event_type):
    data = dict(MINIMAL_DATA[event_type])
    data.pop(next(iter(data)))
    with pytest.raises(MalformedEvent):
        validate_envelope(envelope(event_type, data))


@pytest.mark.parametrize("raw", [None, [], "event", 42, b"{}"])
def test_a_message_that_is_not_an_object_is_malformed(raw):
    with pytest.raises(MalformedEvent):
        validate_envelope(raw)


def test_missing_envelope_key_is_malformed():
    raw = envelope("obligation.waived")
    del raw["subject_version"]
    with pytest.raises(MalformedEvent):
        validate_envelope(raw)


def test_data_that_is_not_an_object_is_malformed():
    with pytest.raises(MalformedEvent):
        validate_envelope(envelope("obligation.waived", ["not", "a", "dict"]))


def test_fulfilled_status_must_be_a_submission_status():
    data = {**MINIMAL_DATA["obligation.fulfilled"], "status": "waived"}
    with pytest.raises(MalformedEvent):
        validate_envelope(envelope("obligation.fulfilled", data))


def test_event_round_trips_through_to_dict_and_check_event():
    event = Event(
        type="obligation.waived",
        subject="obligation:H_CAUKE:2019-H1",
        subject_version=3,
        data=dict(MINIMAL_DATA["obligation.waived"]),
        producer="scheduler",
        occurred_at=datetime(2019, 6, 12, 2, 0, tzinfo=UTC),
    )
    assert check_event(event) == event


def test_scheduler_created_event_passes_the_catalogue():
    plan = load_plan(Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019")
    ob = next(o for o in obligations_for_plan(plan) if o.agency == "H_CAUKE" and o.period == "2019-H1")
    event = check_event(created_event(ob, datetime(2019, 3, 14, 1, 0, tzinfo=UTC)))
    assert event.data["due_before"] == DUE
    assert event.data["deadline_day"] == date(2019, 6, 10).isoformat()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_event_type_has_a_class_of_its_name_with_the_fields_of_its_schema(event_type):
    cls = EVENT_CLASSES[event_type]
    thing, happened = event_type.split(".")
    assert cls.__name__ == thing.capitalize() + "".join(w.capitalize() for w in happened.split("_"))
    assert cls.TYPE == event_type
    assert {f.name for f in dataclasses.fields(cls)} == set(DATA_SCHEMAS[event_type]().fields)


def test_a_staff_list_contact_has_the_fields_of_its_schema():
    assert {f.name for f in dataclasses.fields(ContactData)} == set(ContactSchema().fields)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_an_envelopes_data_reads_as_its_typed_event(event_type):
    event = validate_envelope(envelope(event_type))
    data = EVENT_CLASSES[event_type].of(event)
    assert data.TYPE == event_type and typed(event) == data
    assert {f.name for f in dataclasses.fields(data)} >= set(MINIMAL_DATA[event_type])


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_typed_data_equals_what_the_schema_loads(event_type):
    """The plain reading of `of` and the schema agree value for value (defaults included)."""
    event = validate_envelope(envelope(event_type))
    loaded = DATA_SCHEMAS[event_type]().load(event.data)
    if event_type == "unit.contacts_changed":
        loaded["contacts"] = [ContactData(**c) for c in loaded["contacts"]]
    assert EVENT_CLASSES[event_type].of(event) == EVENT_CLASSES[event_type](**loaded)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_typed_data_writes_what_the_schema_dumps_and_reads_back(event_type):
    """`to_data`, what producers publish, is the schema's own JSON for it, and `of` reads it back unchanged."""
    event = validate_envelope(envelope(event_type))
    data = EVENT_CLASSES[event_type].of(event)
    schema = DATA_SCHEMAS[event_type]()
    assert data.to_data() == schema.dump(schema.load(event.data))
    again = validate_envelope({**envelope(event_type), "data": data.to_data()})
    assert EVENT_CLASSES[event_type].of(again) == data


def test_a_staff_list_reads_as_typed_contacts_with_their_defaults():
    contacts = UnitContactsChanged.of(validate_envelope(envelope("unit.contacts_changed"))).contacts
    assert contacts == [ContactData(alert_role="focal", name="Nguyễn Văn A", title="", email=None, phone=None)]


def test_typed_event_fields_carry_python_values():
    report = ReportSubmitted.of(validate_envelope(envelope("report.submitted")))
    assert report.received_at == datetime(2019, 6, 10, 3, 0, tzinfo=UTC) and report.revision == 1
    level = ObligationOverdue.of(validate_envelope(envelope("obligation.overdue")))
    assert (level.agency, level.days_overdue, level.skipped) == ("H_CAUKE", 1, [])


def test_reading_an_envelope_as_another_type_is_malformed():
    with pytest.raises(MalformedEvent):
        ReportSubmitted.of(validate_envelope(envelope("report.amended")))
