"""The services' use-case handlers over the Trà Vinh 2019 plan, with the recording fakes of tests/unit/fakes.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.aggregator import handlers as aggregator
from services.intake import handlers as intake
from services.intake.domain import AgencyMismatch, PeriodNotOpen, ReportAlreadySubmitted, ReportNotFound, UnknownAgency
from services.intake.schemas import build_report_schema, load_report
from services.notifier import handlers as notifier
from services.notifier.domain import notification_id
from services.scheduler import handlers as scheduler
from services.scheduler.domain import obligations_for_plan, version_at
from shared.auth import Principal
from shared.catalogue import check_event, validate_envelope
from shared.clock import FixedClock
from shared.events import Event, obligation_subject
from shared.paging import Page, PageRequest
from shared.plan import load_plan
from shared.plan_versions import VersionedPlan, with_units
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ, parse_instant
from tests.unit.fakes import (
    FakeBoardStore,
    FakeLedgerStore,
    FakeObligationStore,
    FakePassStore,
    FakeReportStore,
)

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
ONLY_PLAN = lambda: [VersionedPlan(PLAN)]  # noqa: E731  (the scheduler's plans, read when needed)
VERSIONED = VersionedPlan(PLAN)  # the plan without published versions
AGENCY = "H_CAUKE"
PERIOD = "2019-H1"
DUE_BEFORE = datetime(2019, 6, 11, 0, 0, tzinfo=LOCAL_TZ)
FOCAL_EMAIL = "daumoi.h-cauke@travinh.example"
HEAD_EMAIL = "thutruong.h-cauke@travinh.example"
SNV_DIGEST_EMAIL = "dvcq.snv@travinh.example"  # the plan's recipients: Sở Nội vụ and its director
DIRECTOR_EMAIL = "giamdoc.snv@travinh.example"
OFFICER = Principal(sub="daumoi.h-cauke@travinh.example", role="agency", agency=AGENCY)
OTHER_OFFICER = Principal(sub="daumoi.h-tracu@travinh.example", role="agency", agency="H_TRACU")
SNV = Principal(sub="chuyenvien@snv.travinh.example", role="home_affairs")
ISSUED = datetime(2019, 3, 14, 8, 0, tzinfo=LOCAL_TZ)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def delivered(event: Event) -> Event:
    """The event as a consumer receives it: JSON over the broker, checked against the catalogue."""
    return validate_envelope(json.loads(json.dumps(event.to_dict())))


def h1_content() -> dict:
    """A full H1 report of H_CAUKE, validated by the unit's template schema as the intake view does."""
    schema = build_report_schema(PLAN.template_for(AGENCY, PERIOD))
    body = {
        "agency": AGENCY,
        "period": PERIOD,
        "indicators": {"tcd_luot": 12, "tcd_nguoi": 30},
        "narratives": {f"area_{a}": f"Kết quả nội dung {a}." for a in range(1, 6)},
        "assessment": {"strengths": "Ưu điểm.", "limitations": "Hạn chế.", "causes": "Nguyên nhân."},
        "next_tasks": "Nhiệm vụ kỳ tới.",
        "recommendations": "Không.",
    }
    data = load_report(schema, body)
    return {k: v for k, v in data.items() if k not in ("agency", "period")}


def submit(
    at: datetime,
    *,
    reports: FakeReportStore | None = None,
    principal: Principal = OFFICER,
    agency: str = AGENCY,
    period: str = PERIOD,
    content: dict | None = None,
):
    store = reports if reports is not None else FakeReportStore()
    cmd = intake.SubmitReport(agency, period, content if content is not None else h1_content(), source="api")
    return intake.submit_report(cmd, principal, reports=store, plan=PLAN, clock=FixedClock(at)), store


def submitted_event(received_at: datetime, *, agency: str = AGENCY, period: str = PERIOD) -> Event:
    """A `report.submitted` event shaped exactly as intake's submit_report builds it (any unit and period)."""
    return Event(
        id=f"report:{agency}:{period}:r1:submitted",
        type="report.submitted",
        subject=f"report:{agency}:{period}",
        subject_version=1,
        producer="intake",
        occurred_at=received_at,
        correlation_id="req-1",
        data={
            "report_id": f"{agency}:{period}",
            "agency": agency,
            "period": period,
            "revision": 1,
            "received_at": received_at.isoformat(),
            "on_time": received_at < DUE_BEFORE,
            "completeness": 1.0,
            "source": "api",
            "submitted_by": OFFICER.sub,
            "content": {"narratives": {"area_1": "Kết quả."}},
        },
    )


def synced(at: datetime = ISSUED) -> FakeObligationStore:
    obligations = FakeObligationStore()
    scheduler.sync_plan(PLAN, obligations=obligations, clock=FixedClock(at))
    return obligations


def extended_event(version: int = 2) -> Event:
    """A granted extension of H_CAUKE 2019-H1 to 14/06 (late from 15/06 00:00), granted on 07/06 10:00."""
    return Event(
        id=f"{obligation_subject(AGENCY, PERIOD)}:g2:extended",
        type="obligation.extended",
        subject=obligation_subject(AGENCY, PERIOD),
        subject_version=version,
        producer="scheduler",
        occurred_at=local(2019, 6, 7, 10, 0),
        data={
            "agency": AGENCY,
            "period": PERIOD,
            "generation": 2,
            "due_before": local(2019, 6, 15, 0, 0).isoformat(),
            "effective_from": local(2019, 6, 7, 10, 0).isoformat(),
            "request_id": "req-h-cauke-h1",
        },
    )


def level_event(level: str, *, version: int = 2, event_type: str | None = None) -> Event:
    """An alert of the F7 ladder for H_CAUKE 2019-H1; its id is (obligation, generation, level)."""
    kind = event_type or ("obligation.overdue" if level == "overdue" else "obligation.reminder_due")
    return Event(
        id=f"{obligation_subject(AGENCY, PERIOD)}:g1:{level}",
        type=kind,
        subject=obligation_subject(AGENCY, PERIOD),
        subject_version=version,
        producer="scheduler",
        occurred_at=local(2019, 6, 11, 8, 0),
        data={
            "agency": AGENCY,
            "period": PERIOD,
            "level": level,
            "generation": 1,
            "due_before": DUE_BEFORE.astimezone(UTC).isoformat(),
            "days_overdue": 1 if level == "overdue" else 0,
            "skipped": [],
        },
    )


def fulfilled_event(received_at: datetime) -> Event:
    """The scheduler's `obligation.fulfilled` for H_CAUKE 2019-H1, produced by its own handler."""
    obligations = synced()
    scheduler.on_report_submitted(delivered(submitted_event(received_at)), obligations=obligations, plans=ONLY_PLAN)
    (event,) = obligations.events("obligation.fulfilled")
    return event


def created_event_of(agency: str = AGENCY, period: str = PERIOD) -> Event:
    ob = next(o for o in obligations_for_plan(PLAN) if o.agency == agency and o.period == period)
    return scheduler.created_event(ob, ISSUED)


# intake: submit_report


def test_report_at_the_last_second_of_the_deadline_day_is_on_time():
    report, reports = submit(local(2019, 6, 10, 23, 59, 59))
    assert report.on_time is True
    assert reports.revisions(AGENCY, PERIOD)[-1] == report


def test_report_at_local_midnight_after_the_deadline_day_is_late():
    report, reports = submit(local(2019, 6, 11, 0, 0, 0))
    assert report.on_time is False
    assert reports.revisions(AGENCY, PERIOD)[-1].on_time is False


def test_submission_stores_the_report_and_its_event_in_one_write():
    at = local(2019, 6, 5, 9, 30)
    content = h1_content()
    report, reports = submit(at, content=content)
    assert len(reports.add_first_calls) == 1
    stored, event = reports.add_first_calls[0]
    assert stored == report
    assert (report.agency, report.period, report.revision, report.received_at) == (AGENCY, PERIOD, 1, at)
    assert report.completeness == 1.0
    assert report.submitted_by == OFFICER.sub
    assert event.type == "report.submitted"
    assert event.subject == "report:H_CAUKE:2019-H1"
    assert event.subject_version == 1
    assert event.producer == "intake"
    assert parse_instant(event.data["received_at"]) == at
    assert event.occurred_at == at
    assert event.data["content"] == content
    assert event.data["on_time"] is True
    assert event.data["report_id"] == report.report_id == "H_CAUKE:2019-H1"
    assert reports.pending_events == [event]


def test_submission_event_passes_the_event_catalogue():
    _, reports = submit(local(2019, 6, 5, 9, 30))
    (event,) = reports.pending_events
    assert check_event(event).data["agency"] == AGENCY
    assert delivered(event) == event


def test_test_builder_of_report_submitted_matches_what_intake_emits():
    _, reports = submit(local(2019, 6, 5, 9, 30))
    (emitted,) = reports.pending_events
    built = submitted_event(local(2019, 6, 5, 9, 30))
    check_event(built)
    assert set(built.data) == set(emitted.data)
    assert (built.id, built.subject, built.subject_version) == (emitted.id, emitted.subject, emitted.subject_version)


def test_second_submission_is_refused_and_stores_nothing_new():
    first, reports = submit(local(2019, 6, 5, 9, 30))
    with pytest.raises(ReportAlreadySubmitted) as caught:
        submit(local(2019, 6, 6, 9, 30), reports=reports, content={"narratives": {"area_1": "Bản khác."}})
    assert caught.value.field == "period"
    assert reports.revisions(AGENCY, PERIOD)[-1] == first
    assert len(reports.pending_events) == 1
    assert reports.pending_events[0].data["received_at"] == first.received_at.isoformat()


def test_officer_cannot_submit_for_another_unit():
    reports = FakeReportStore()
    with pytest.raises(AgencyMismatch) as caught:
        submit(local(2019, 6, 5, 9, 30), reports=reports, principal=OTHER_OFFICER)
    assert caught.value.field == "agency"
    assert reports.add_first_calls == []


def test_first_quarter_accepts_no_report():
    reports = FakeReportStore()
    with pytest.raises(PeriodNotOpen) as caught:
        submit(local(2019, 3, 20, 9, 0), reports=reports, period="2019-Q1", content={})
    assert caught.value.field == "period"
    assert reports.add_first_calls == []


def test_second_quarter_is_served_by_the_half_year_report_and_accepts_none():
    with pytest.raises(PeriodNotOpen) as caught:
        submit(local(2019, 6, 5, 9, 0), period="2019-Q2", content={})
    assert caught.value.field == "period"


def test_unknown_period_is_not_open():
    with pytest.raises(PeriodNotOpen) as caught:
        submit(local(2019, 6, 5, 9, 0), period="2019-Q9", content={})
    assert caught.value.field == "period"


def test_non_reporting_unit_is_an_unknown_agency():
    reports = FakeReportStore()
    with pytest.raises(UnknownAgency) as caught:
        submit(local(2019, 6, 5, 9, 0), reports=reports, principal=SNV, agency="BDV_TU", content={})
    assert caught.value.field == "agency"
    assert reports.add_first_calls == []


# intake: get_report


def test_officer_of_another_unit_does_not_find_the_report():
    _, reports = submit(local(2019, 6, 5, 9, 30))
    with pytest.raises(ReportNotFound):
        intake.get_report(AGENCY, PERIOD, OTHER_OFFICER, reports=reports)


def test_home_affairs_sees_any_units_report():
    report, reports = submit(local(2019, 6, 5, 9, 30))
    assert intake.get_report(AGENCY, PERIOD, SNV, reports=reports) == report
    assert intake.get_report(AGENCY, PERIOD, OFFICER, reports=reports) == report


def test_report_never_sent_is_not_found():
    with pytest.raises(ReportNotFound):
        intake.get_report(AGENCY, PERIOD, SNV, reports=FakeReportStore())


# scheduler: sync_plan


def test_first_sync_creates_every_obligation_of_the_plan_once_and_announces_each():
    obligations = FakeObligationStore()
    assert scheduler.sync_plan(PLAN, obligations=obligations, clock=FixedClock(ISSUED)) == 116
    created = obligations.events("obligation.created")
    assert len(obligations.all()) == 116
    assert len(created) == 116
    assert len({e.subject for e in created}) == 116
    assert {e.data["period"] for e in created} == {"2019-STAFF", "2019-H1", "2019-Q3", "2019-FY"}


def test_second_sync_creates_nothing_and_announces_nothing_again():
    obligations = synced()
    assert scheduler.sync_plan(PLAN, obligations=obligations, clock=FixedClock(ISSUED + timedelta(days=1))) == 0
    assert len(obligations.all()) == 116
    assert len(obligations.events("obligation.created")) == 116


def test_created_event_carries_the_obligations_deadline_and_passes_the_catalogue():
    obligations = synced()
    (event,) = [e for e in obligations.events("obligation.created") if e.subject == "obligation:H_CAUKE:2019-H1"]
    check_event(event)
    assert event.subject_version == 1
    assert parse_instant(event.data["due_before"]) == DUE_BEFORE
    assert event.data["deadline_day"] == "2019-06-10"
    assert (event.data["generation"], event.data["status"]) == (1, "pending")
    assert event.occurred_at == ISSUED


# scheduler: on_report_submitted


def test_report_received_before_the_deadline_fulfils_the_obligation_on_time():
    obligations = synced()
    report = delivered(submitted_event(local(2019, 6, 10, 23, 59)))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    (event,) = obligations.events("obligation.fulfilled")
    check_event(event)
    assert event.subject == "obligation:H_CAUKE:2019-H1"
    assert event.subject_version == version_at(local(2019, 6, 10, 23, 59))  # the change's business instant
    assert event.data["status"] == "submitted_on_time"
    assert event.data["days_late"] == 0
    assert event.data["generation"] == 1
    assert parse_instant(event.data["due_before"]) == DUE_BEFORE
    assert parse_instant(event.data["received_at"]) == local(2019, 6, 10, 23, 59)
    assert event.data["report_id"] == "H_CAUKE:2019-H1"
    assert event.correlation_id == "req-1"
    # the wire layout of every release: these keys in this order, instants as UTC ISO text
    assert list(event.data) == [
        "agency", "period", "status", "received_at", "due_before", "generation", "days_late", "report_id"
    ]  # fmt: skip
    assert event.data["received_at"] == local(2019, 6, 10, 23, 59).astimezone(UTC).isoformat()


def test_report_received_two_local_days_after_the_deadline_day_is_late_by_two_days():
    obligations = synced()
    report = delivered(submitted_event(local(2019, 6, 12, 9, 0)))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    (event,) = obligations.events("obligation.fulfilled")
    assert event.data["status"] == "submitted_late"
    assert event.data["days_late"] == 2


def test_report_at_local_midnight_after_the_deadline_day_is_late_by_one_local_day():
    obligations = synced()
    report = delivered(submitted_event(local(2019, 6, 11, 0, 0)))  # still 10/06 in UTC
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    (event,) = obligations.events("obligation.fulfilled")
    assert (event.data["status"], event.data["days_late"]) == ("submitted_late", 1)


def test_same_report_event_delivered_twice_fulfils_once():
    obligations = synced()
    report = delivered(submitted_event(local(2019, 6, 5, 9, 0)))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    assert len(obligations.events("obligation.fulfilled")) == 1


def test_report_for_the_first_quarter_is_ignored():
    obligations = synced()
    before = len(obligations.outbox)
    report = delivered(submitted_event(local(2019, 3, 20, 9, 0), period="2019-Q1"))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    assert len(obligations.outbox) == before
    assert obligations.get(AGENCY, "2019-Q1") is None


def test_report_of_a_non_reporting_unit_is_ignored():
    obligations = synced()
    before = len(obligations.outbox)
    report = delivered(submitted_event(local(2019, 6, 5, 9, 0), agency="BDV_TU"))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    assert len(obligations.outbox) == before
    assert obligations.get("BDV_TU", PERIOD) is None


def test_report_arriving_before_the_first_sync_creates_and_fulfils_its_obligation():
    obligations = FakeObligationStore()
    report = delivered(submitted_event(local(2019, 6, 5, 9, 0)))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    assert obligations.get(AGENCY, PERIOD) is not None
    assert [(e.type, e.subject_version) for e in obligations.events()] == [
        ("obligation.created", 1),
        ("obligation.fulfilled", version_at(local(2019, 6, 5, 9, 0))),
    ]
    assert obligations.events("obligation.fulfilled")[0].data["status"] == "submitted_on_time"
    assert scheduler.sync_plan(PLAN, obligations=obligations, clock=FixedClock(local(2019, 6, 6))) == 115
    assert len(obligations.events("obligation.created")) == 116


def test_report_within_a_granted_extension_is_on_time():
    obligations = synced()
    assert obligations.record(extended_event(version=2))
    report = delivered(submitted_event(local(2019, 6, 13, 9, 0)))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    (event,) = obligations.events("obligation.fulfilled")
    assert event.data["status"] == "submitted_on_time"
    assert event.data["days_late"] == 0
    assert event.data["generation"] == 2
    assert parse_instant(event.data["due_before"]) == local(2019, 6, 15, 0, 0)
    assert event.subject_version == version_at(local(2019, 6, 13, 9, 0))


def test_report_received_before_the_extension_was_granted_keeps_the_first_deadline():
    obligations = synced()
    obligations.record(
        Event.from_dict(
            {
                **extended_event().to_dict(),
                "data": {**extended_event().data, "effective_from": local(2019, 6, 12, 10, 0).isoformat()},
            }
        )
    )
    report = delivered(submitted_event(local(2019, 6, 11, 9, 0)))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    (event,) = obligations.events("obligation.fulfilled")
    assert (event.data["status"], event.data["generation"], event.data["days_late"]) == ("submitted_late", 1, 1)


# scheduler: list_obligations and run_pass


def test_officer_lists_only_their_own_units_obligations():
    obligations = synced()
    states = scheduler.list_obligations(
        OFFICER, obligations=obligations, clock=FixedClock(ISSUED), agency="H_TRACU"
    ).items
    assert {s.obligation.agency for s in states} == {AGENCY}
    assert sorted(s.obligation.period for s in states) == ["2019-FY", "2019-H1", "2019-Q3", "2019-STAFF"]


def test_home_affairs_lists_every_units_obligations_for_a_period_page_by_page():
    obligations = synced()

    def page(asked: PageRequest) -> Page[Any]:
        clock = FixedClock(ISSUED)
        return scheduler.list_obligations(SNV, obligations=obligations, clock=clock, period=PERIOD, asked=asked)

    first = page(PageRequest(20))
    rest = page(PageRequest(20, first.next))
    keys = [s.obligation.key for s in first.items + rest.items]
    assert (len(first.items), len(rest.items), rest.next) == (20, 9, None)
    assert keys == sorted(set(keys)) and {s.obligation.period for s in first.items + rest.items} == {PERIOD}


def test_status_filter_follows_the_clock_from_pending_to_overdue():
    obligations = synced()

    def periods(status: str, at: datetime) -> list[str]:
        states = scheduler.list_obligations(OFFICER, obligations=obligations, clock=FixedClock(at), status=status).items
        return sorted(s.obligation.period for s in states)

    last_second = local(2019, 6, 10, 23, 59, 59)
    assert periods("pending", last_second) == ["2019-FY", "2019-H1", "2019-Q3"]
    assert periods("overdue", last_second) == ["2019-STAFF"]
    assert periods("pending", DUE_BEFORE) == ["2019-FY", "2019-Q3"]
    assert periods("overdue", DUE_BEFORE) == ["2019-H1", "2019-STAFF"]


def test_fulfilled_obligation_is_listed_with_its_verdict_not_as_overdue():
    obligations = synced()
    report = delivered(submitted_event(local(2019, 6, 12, 9, 0)))
    scheduler.on_report_submitted(report, obligations=obligations, plans=ONLY_PLAN)
    (state,) = scheduler.list_obligations(
        OFFICER, obligations=obligations, clock=FixedClock(local(2019, 6, 20)), period=PERIOD
    ).items
    assert (state.status, state.days_late) == ("submitted_late", 2)
    assert state.version == version_at(local(2019, 6, 12, 9, 0))
    overdue = scheduler.list_obligations(
        OFFICER, obligations=obligations, clock=FixedClock(local(2019, 6, 20)), period=PERIOD, status="overdue"
    )
    assert overdue.items == []


def test_granted_extension_keeps_the_obligation_pending_until_the_new_deadline():
    obligations = synced()
    obligations.record(extended_event())

    def state_at(at: datetime):
        found = scheduler.list_obligations(OFFICER, obligations=obligations, clock=FixedClock(at), period=PERIOD)
        (state,) = found.items
        return state

    assert (state_at(local(2019, 6, 12, 9, 0)).status, state_at(local(2019, 6, 12, 9, 0)).generation) == ("pending", 2)
    assert state_at(local(2019, 6, 15, 0, 0)).status == "overdue"


def test_report_after_a_waiver_does_not_fulfil_the_obligation():
    obligations = synced()
    waived = Event(
        id=f"{obligation_subject(AGENCY, PERIOD)}:waived",
        type="obligation.waived",
        subject=obligation_subject(AGENCY, PERIOD),
        subject_version=2,
        producer="scheduler",
        occurred_at=local(2019, 6, 3, 9, 0),
        data={"agency": AGENCY, "period": PERIOD, "reason": "Sáp nhập đơn vị."},
    )
    assert obligations.record(waived)
    scheduler.on_report_submitted(
        delivered(submitted_event(local(2019, 6, 5))), obligations=obligations, plans=ONLY_PLAN
    )
    assert obligations.events("obligation.fulfilled") == []
    (state,) = scheduler.list_obligations(
        OFFICER, obligations=obligations, clock=FixedClock(local(2019, 6, 20)), period=PERIOD
    ).items
    assert state.status == "waived"


def test_pass_records_processed_up_to_as_the_clocks_now():
    passes = FakePassStore()
    clock = FixedClock(local(2019, 6, 11, 8, 0))
    done = scheduler.run_pass(plans=[VERSIONED], obligations=synced(), passes=passes, clock=clock)
    assert done == clock.now()
    assert passes.processed_up_to() == clock.now()
    clock.advance(timedelta(minutes=5))
    scheduler.run_pass(plans=[VERSIONED], obligations=synced(), passes=passes, clock=clock)
    assert passes.processed_up_to() == local(2019, 6, 11, 8, 5)


# notifier: on_obligation_event


def notify(event: Event, ledger: FakeLedgerStore | None = None) -> FakeLedgerStore:
    store = ledger if ledger is not None else FakeLedgerStore()
    notifier.on_obligation_event(
        delivered(event),
        ledger=store,
        plan=PLAN,
        clock=FixedClock(local(2019, 6, 11, 8, 0, 5)),
        wall=FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
    )
    return store


def by_channel(ledger: FakeLedgerStore, channel: str) -> list[tuple[str, str]]:
    """(role, recipient) of the ledger's notifications on one channel, sorted."""
    return sorted((n.recipient_role, n.recipient) for n in ledger.find(channel=channel))


def test_overdue_alert_goes_to_the_units_head_only():
    event = level_event("overdue")
    check_event(event)
    ledger = notify(event)
    (n,) = ledger.find(channel="email")
    assert (n.recipient, n.recipient_role, n.level, n.channel) == (HEAD_EMAIL, "head", "overdue", "email")
    assert (n.agency, n.period, n.event_id, n.event_type) == (AGENCY, PERIOD, event.id, "obligation.overdue")
    assert (n.status, n.attempts) == ("pending", 0)
    # the head's inbox copy, and Sở Nội vụ's inbox (the overdue level's digest role), never its mailbox
    assert by_channel(ledger, "inbox") == [("head", HEAD_EMAIL), ("snv", SNV_DIGEST_EMAIL)]
    assert {n.channel for n in ledger.find()} == {"email", "inbox"}
    assert {n.level for n in ledger.find()} == {"overdue"}


def test_last_reminder_goes_to_focal_officer_and_head():
    ledger = notify(level_event("reminder_1"))
    expected = [("focal", FOCAL_EMAIL), ("head", HEAD_EMAIL)]
    assert by_channel(ledger, "email") == expected
    assert by_channel(ledger, "inbox") == expected  # a reminder is not in any digest: no leadership copy
    assert len(ledger.find()) == 4
    assert {n.level for n in ledger.find()} == {"reminder_1"}


def test_first_reminder_goes_to_focal_officer_only():
    ledger = notify(level_event("reminder_7"))
    assert [n.recipient for n in ledger.find(channel="email")] == [FOCAL_EMAIL]
    assert [n.recipient for n in ledger.find(channel="inbox")] == [FOCAL_EMAIL]
    assert len(ledger.find()) == 2


def test_escalation_goes_to_the_head():
    ledger = notify(level_event("escalation_1", event_type="obligation.escalated"))
    assert [(n.recipient, n.level) for n in ledger.find(channel="email")] == [(HEAD_EMAIL, "escalation_1")]
    assert by_channel(ledger, "inbox") == [
        ("head", HEAD_EMAIL),
        ("snv", SNV_DIGEST_EMAIL),
        ("snv_director", DIRECTOR_EMAIL),
    ]


def test_fulfilled_obligation_sends_a_receipt_to_the_focal_officer():
    ledger = notify(fulfilled_event(local(2019, 6, 5, 9, 0)))
    (n,) = ledger.find(channel="email")
    assert (n.recipient, n.level, n.event_type) == (FOCAL_EMAIL, "receipt", "obligation.fulfilled")
    (box,) = ledger.find(channel="inbox")  # a receipt reaches no leadership inbox
    assert (box.recipient, box.level, box.event_type, box.kind) == (
        FOCAL_EMAIL,
        "receipt",
        "obligation.fulfilled",
        "submitted",
    )
    assert len(ledger.find()) == 2


def test_created_obligation_notifies_nobody():
    ledger = notify(created_event_of())
    assert ledger.find() == []
    assert ledger.record_calls == 0


def test_same_alert_delivered_twice_is_recorded_once_per_recipient():
    event = level_event("reminder_1")
    ledger = notify(event)
    first = {n.id: n for n in ledger.find()}
    notify(event, ledger)
    assert {n.id: n for n in ledger.find()} == first and len(first) == 4  # 2 people x (email, inbox)
    assert ledger.record_calls == 8
    assert len(ledger.attempts) == 2  # each inbox item's one attempt, recorded once


def test_notification_id_is_event_recipient_and_channel():
    reminder, overdue = level_event("reminder_1"), level_event("overdue", version=3)
    ledger = notify(overdue, notify(reminder))
    assert set(ledger.notifications) == {
        notification_id(reminder.id, FOCAL_EMAIL, "email"),
        notification_id(reminder.id, FOCAL_EMAIL, "inbox"),
        notification_id(reminder.id, HEAD_EMAIL, "email"),
        notification_id(reminder.id, HEAD_EMAIL, "inbox"),
        notification_id(overdue.id, HEAD_EMAIL, "email"),
        notification_id(overdue.id, HEAD_EMAIL, "inbox"),
        notification_id(overdue.id, SNV_DIGEST_EMAIL, "inbox"),
    }
    assert notification_id(overdue.id, HEAD_EMAIL, "email") == f"{overdue.id}|{HEAD_EMAIL}|email"
    assert notification_id(overdue.id, HEAD_EMAIL, "inbox") == f"{overdue.id}|{HEAD_EMAIL}|inbox"


# aggregator: on_obligation_event and get_compliance


def fold(event: Event, boards: FakeBoardStore) -> bool:
    return aggregator.on_obligation_event(delivered(event), boards=boards, plan=PLAN)


def compliance(boards: FakeBoardStore, period: str = PERIOD, at: datetime | None = None) -> dict | None:
    clock = FixedClock(at or local(2019, 6, 20, 9, 0))
    return aggregator.get_compliance(period, boards=boards, plan=PLAN, clock=clock)


def test_created_then_fulfilled_shows_the_unit_on_time_on_the_board():
    boards = FakeBoardStore()
    assert fold(created_event_of(), boards)
    assert fold(fulfilled_event(local(2019, 6, 10, 23, 59)), boards)
    view = compliance(boards)
    (row,) = view["units"]
    assert (row["agency"], row["status"], row["days_late"]) == (AGENCY, "submitted_on_time", 0)
    assert parse_instant(row["received_at"]) == local(2019, 6, 10, 23, 59)
    assert (view["EXPECTED_REPORTS"], view["ACTUAL_REPORTS"], view["ACTUAL_REPORTS_ON_TIME"]) == (1, 1, 1)
    assert view["REPORTING_RATE_ON_TIME"] == 100.0
    assert view["overdue"] == []


def test_same_obligation_event_twice_changes_the_board_once():
    boards = FakeBoardStore()
    event = created_event_of()
    assert fold(event, boards) is True
    assert fold(event, boards) is False
    assert len(boards.puts) == 1


def test_an_event_folds_into_its_units_row_only():
    boards = FakeBoardStore()
    for event in synced().events("obligation.created"):
        fold(event, boards)
    boards.puts.clear()
    assert fold(fulfilled_event(local(2019, 6, 10, 9, 0)), boards)
    (put,) = boards.puts
    assert (put["_id"], put["board"], put["status"]) == (
        f"{PLAN.id}:{PERIOD}:{AGENCY}",
        f"{PLAN.id}:{PERIOD}",
        "submitted_on_time",
    )
    assert len(boards.rows(PLAN.id, PERIOD)) == 29


def test_the_overdue_list_names_each_periods_units_by_the_list_in_force_on_its_deadline_day():
    boards = FakeBoardStore()
    fold(created_event_of(), boards)
    renamed = with_units(PLAN, [replace(u, name="Tên mới") if u.code == AGENCY else u for u in PLAN.units])
    clock = FixedClock(local(2019, 6, 12, 9, 0))
    in_force = aggregator.overdue(boards=boards, plan=renamed, clock=clock, plan_for=lambda period: PLAN)
    assert [(r["agency"], r["period"], r["name"]) for r in in_force] == [(AGENCY, PERIOD, PLAN.unit(AGENCY).name)]
    assert [r["name"] for r in aggregator.overdue(boards=boards, plan=renamed, clock=clock)] == ["Tên mới"]


def test_older_event_after_a_newer_one_changes_nothing():
    boards = FakeBoardStore()
    fold(fulfilled_event(local(2019, 6, 12, 9, 0)), boards)
    assert fold(created_event_of(), boards) is False
    assert compliance(boards)["units"][0]["status"] == "submitted_late"
    assert len(boards.puts) == 1


def test_unit_never_reporting_is_overdue_on_the_board_after_its_deadline():
    boards = FakeBoardStore()
    fold(created_event_of(), boards)
    view = compliance(boards, at=local(2019, 6, 12, 6, 30))  # still 11/06 in UTC: days count in local dates
    assert [(r["agency"], r["status"], r["days_overdue"]) for r in view["overdue"]] == [(AGENCY, "overdue", 2)]
    assert compliance(boards, at=local(2019, 6, 10, 9, 0))["units"][0]["status"] == "pending"


def test_every_created_obligation_of_a_period_is_expected_on_the_board():
    boards = FakeBoardStore()
    for event in synced().events("obligation.created"):
        fold(event, boards)
    view = compliance(boards, at=local(2019, 6, 1))
    assert view["EXPECTED_REPORTS"] == 29
    assert view["ACTUAL_REPORTS"] == 0
    assert view["REPORTING_RATE"] == 0.0


def test_granted_extension_moves_the_units_deadline_on_the_board():
    boards = FakeBoardStore()
    fold(created_event_of(), boards)
    assert fold(extended_event(), boards)
    (row,) = compliance(boards, at=local(2019, 6, 12, 9, 0))["units"]
    assert (row["status"], row["generation"], row["extended"]) == ("pending", 2, True)
    assert parse_instant(row["due_before"]) == local(2019, 6, 15, 0, 0)


def test_compliance_of_an_unknown_period_is_none():
    assert compliance(FakeBoardStore(), period="2019-Q9") is None


def test_compliance_of_a_period_without_events_is_an_empty_board():
    view = compliance(FakeBoardStore())
    assert view["period"] == PERIOD
    assert view["units"] == []
    assert view["EXPECTED_REPORTS"] == 0
    assert view["REPORTING_RATE"] is None
    assert view["applicable"] is True


# the fakes themselves: a fake weaker than its adapter would let a broken handler pass


def test_fake_board_store_hands_out_copies():
    boards = FakeBoardStore()
    fold(created_event_of(), boards)
    boards.get(PLAN.id, PERIOD, AGENCY)["status"] = "waived"
    boards.rows(PLAN.id, PERIOD)[0]["status"] = "waived"
    assert boards.get(PLAN.id, PERIOD, AGENCY)["status"] == "pending"


def test_fake_obligation_store_records_an_event_id_once():
    obligations = FakeObligationStore()
    event = extended_event()
    assert obligations.record(event) is True
    assert obligations.record(event) is False
    assert len(obligations.events()) == 1
