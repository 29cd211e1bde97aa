"""A consumer's EVENT_HANDLERS table: handlers get their dependencies by name, and an event type no handler
takes is logged and counted in `dvcq_unhandled_events_total`, not silently acked."""

import logging
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from shared.events import Event, IntakeWatermark, ReportSubmitted
from shared.messaging import Live, bind_handlers, dispatch


def _event(event_type: str) -> Event:
    return Event(
        type=event_type,
        subject="report:H_CAUKE:2019-H1",
        subject_version=1,
        data={},
        producer="intake",
        occurred_at=datetime(2019, 6, 10, 3, 0, tzinfo=UTC),
    )


class RecordingHandlers:
    """Two handlers that record what they were called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def on_report_submitted(self, event: Event, *, reports: object, clock: object = None) -> None:
        self.calls.append(("report", event.type, (reports, clock)))

    def on_intake_watermark(self, event: Event, *, passes: object) -> None:
        self.calls.append(("watermark", event.type, passes))


def _unhandled(service: str, event_type: str) -> float:
    return REGISTRY.get_sample_value("dvcq_unhandled_events_total", {"service": service, "type": event_type}) or 0.0


def test_each_event_goes_to_its_handlers_with_their_dependencies_by_name():
    rec = RecordingHandlers()
    bound = bind_handlers(
        {ReportSubmitted: [rec.on_report_submitted], IntakeWatermark: [rec.on_intake_watermark]},
        {"reports": "the reports", "passes": "the passes", "unused": object()},
    )
    dispatch("probe", _event("report.submitted"), bound)
    dispatch("probe", _event("intake.watermark"), bound)
    assert rec.calls == [
        ("report", "report.submitted", ("the reports", None)),  # a defaulted dependency may be absent
        ("watermark", "intake.watermark", "the passes"),
    ]


def test_a_handler_whose_dependency_is_missing_fails_at_start():
    rec = RecordingHandlers()
    with pytest.raises(TypeError, match="passes"):
        bind_handlers({IntakeWatermark: [rec.on_intake_watermark]}, {"reports": 1})


def test_an_unhandled_event_type_is_logged_and_counted(caplog):
    rec = RecordingHandlers()
    bound = bind_handlers({ReportSubmitted: [rec.on_report_submitted]}, {"reports": 1})
    before = _unhandled("probe-unhandled", "unit.changed")
    with caplog.at_level(logging.WARNING, logger="shared.messaging"):
        dispatch("probe-unhandled", _event("unit.changed"), bound)
    assert _unhandled("probe-unhandled", "unit.changed") == before + 1
    assert _unhandled("probe-unhandled", "report.submitted") == 0
    assert rec.calls == []
    assert any(r.getMessage() == "event with no handler acked" for r in caplog.records)


def test_a_live_dependency_is_read_again_for_each_event_from_the_event():
    rec = RecordingHandlers()
    plans = iter(["plan v0", "plan v1"])
    read = Live(lambda event: f"{next(plans)} for {event.type}")
    bound = bind_handlers({IntakeWatermark: [rec.on_intake_watermark]}, {"passes": read})
    dispatch("probe", _event("intake.watermark"), bound)
    dispatch("probe", _event("intake.watermark"), bound)
    assert rec.calls == [
        ("watermark", "intake.watermark", "plan v0 for intake.watermark"),
        ("watermark", "intake.watermark", "plan v1 for intake.watermark"),
    ]
