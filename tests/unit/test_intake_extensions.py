"""Intake's own on-time answer counts the extensions it learnt from `obligation.extended` (fakes, no network)."""

from __future__ import annotations

import json
from datetime import datetime

from services.intake import handlers as intake
from shared.auth import Principal
from shared.catalogue import validate_envelope
from shared.clock import FixedClock
from shared.events import Event, obligation_subject
from shared.plan import load_plan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ
from tests.unit.fakes import FakeExtensionStore, FakeReportStore

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
AGENCY = "H_CAUKE"
PERIOD = "2019-H1"  # the plan's deadline day is 10/06/2019: late from 11/06 00:00
OFFICER = Principal(sub="daumoi.h-cauke@travinh.example", role="agency", agency=AGENCY)
SNV = Principal(sub="chuyenvien@snv.travinh.example", role="home_affairs")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def extended(
    *, day_after: datetime, granted_at: datetime, generation: int = 2, agency: str = AGENCY, period: str = PERIOD
) -> Event:
    """`obligation.extended` as the scheduler's decide_extension emits it, received through the broker (JSON)."""
    event = Event(
        id=f"{obligation_subject(agency, period)}:g{generation}:extended",
        type="obligation.extended",
        subject=obligation_subject(agency, period),
        subject_version=int(granted_at.timestamp() * 1_000_000),
        producer="scheduler",
        occurred_at=granted_at,
        data={
            "agency": agency,
            "period": period,
            "generation": generation,
            "due_before": day_after.isoformat(),
            "effective_from": granted_at.isoformat(),
            "request_id": f"req-{generation}",
            "reason": None,
            "decided_by": SNV.sub,
        },
    )
    return validate_envelope(json.loads(json.dumps(event.to_dict())))


def learnt(*events: Event) -> FakeExtensionStore:
    store = FakeExtensionStore()
    for event in events:
        intake.on_obligation_extended(event, extensions=store)
    return store


def submit(
    at: datetime,
    extensions: FakeExtensionStore | None,
    *,
    agency: str = AGENCY,
    principal: Principal = OFFICER,
    received_at: datetime | None = None,
) -> tuple[intake.Report, FakeReportStore]:
    reports = FakeReportStore()
    cmd = intake.SubmitReport(
        agency, PERIOD, {"narratives": {"area_1": "Kết quả."}}, source="api", received_at=received_at
    )
    report = intake.submit_report(
        cmd, principal, reports=reports, plan=PLAN, clock=FixedClock(at), extensions=extensions
    )
    return report, reports


# generation 2: deadline day 14/06 (late from 15/06 00:00), granted on 07/06 at 10:00
TO_14_JUNE = extended(day_after=local(2019, 6, 15), granted_at=local(2019, 6, 7, 10, 0))


def test_report_within_a_granted_extension_is_on_time_for_intake():
    report, reports = submit(local(2019, 6, 13, 10, 0), learnt(TO_14_JUNE))
    assert report.on_time is True
    ((_, event),) = reports.add_first_calls
    assert event.data["on_time"] is True  # report.submitted carries intake's answer


def test_the_same_report_without_the_extension_is_late():
    report, reports = submit(local(2019, 6, 13, 10, 0), FakeExtensionStore())
    assert report.on_time is False
    assert reports.add_first_calls[0][1].data["on_time"] is False


def test_a_caller_that_passes_no_extension_store_gets_the_plans_deadline_only():
    report, _ = submit(local(2019, 6, 13, 10, 0), None)
    assert report.on_time is False


def test_report_after_the_extended_deadline_is_late():
    report, _ = submit(local(2019, 6, 15, 0, 0), learnt(TO_14_JUNE))
    assert report.on_time is False


def test_paper_report_received_before_the_grant_keeps_the_plans_deadline():
    granted_13_june = extended(day_after=local(2019, 6, 21), granted_at=local(2019, 6, 13, 9, 0))
    report, _ = submit(
        local(2019, 6, 14, 9, 0), learnt(granted_13_june), principal=SNV, received_at=local(2019, 6, 12, 0, 0)
    )
    assert report.on_time is False  # the generation in force on 12/06 is the plan's


def test_another_units_extension_does_not_count():
    officer = Principal(sub="daumoi.h-tieucan@travinh.example", role="agency", agency="H_TIEUCAN")
    report, _ = submit(local(2019, 6, 13, 10, 0), learnt(TO_14_JUNE), agency="H_TIEUCAN", principal=officer)
    assert report.on_time is False


def test_the_same_extended_event_twice_is_stored_once():
    store = FakeExtensionStore()
    assert intake.on_obligation_extended(TO_14_JUNE, extensions=store) is True
    assert intake.on_obligation_extended(TO_14_JUNE, extensions=store) is False
    (deadline,) = store.deadlines(AGENCY, PERIOD)
    assert (deadline.generation, deadline.due_before, deadline.effective_from) == (
        2,
        local(2019, 6, 15),
        local(2019, 6, 7, 10, 0),
    )


def test_generations_learnt_out_of_order_each_count_from_their_grant():
    third = extended(day_after=local(2019, 6, 25), granted_at=local(2019, 6, 14, 16, 0), generation=3)
    store = learnt(third, TO_14_JUNE)
    assert [d.generation for d in store.deadlines(AGENCY, PERIOD)] == [2, 3]
    assert submit(local(2019, 6, 20, 10, 0), store)[0].on_time is True  # generation 3 in force
    assert intake.deadlines_for(PLAN, AGENCY, PERIOD, extensions=store)[0].due_before == local(2019, 6, 11)
