"""The F7 ladder and the scheduler's pass, with recording fakes: levels on working days at 08:00 local,
one event per (obligation, generation, level), skipped levels after a jump, none after a report."""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, datetime

import pytest

from services.scheduler import handlers as scheduler
from shared.auth import Principal
from shared.catalogue import check_event
from shared.clock import FixedClock
from shared.events import Event
from shared.plan import Plan, load_plan
from shared.plan_versions import VersionedPlan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ, ladder
from tests.unit.fakes import FakeObligationStore, FakePassStore

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
ONLY_PLAN = lambda: [VersionedPlan(PLAN)]  # noqa: E731  (the scheduler's plans, read when needed)
VERSIONED = VersionedPlan(PLAN)  # the plan without published versions
POLICY = [
    {"level": lv.level, "event": lv.event, "offset_days": lv.offset_days, "shift": lv.shift} for lv in PLAN.escalation
]


def at8(day: int, month: int) -> datetime:
    return datetime(2019, month, day, 8, 0, tzinfo=LOCAL_TZ)


def rungs(deadline: date) -> dict[str, datetime]:
    return {r.level: r.at for r in ladder(deadline, POLICY, PLAN.holidays, "08:00")}


def test_the_h1_ladder_moves_levels_off_weekends() -> None:
    assert rungs(date(2019, 6, 10)) == {
        "reminder_7": at8(3, 6),
        "reminder_1": at8(7, 6),  # 09/06 is a Sunday
        "overdue": at8(11, 6),
        "escalation_1": at8(17, 6),  # 15/06 is a Saturday
        "escalation_2": at8(20, 6),
    }


def test_the_staff_list_ladder_matches_the_plan() -> None:
    assert rungs(date(2019, 3, 29)) == {
        "reminder_7": at8(22, 3),
        "reminder_1": at8(28, 3),
        "overdue": at8(1, 4),
        "escalation_1": at8(3, 4),
        "escalation_2": at8(8, 4),
    }


@pytest.mark.parametrize(
    ("deadline", "overdue"),
    [(date(2019, 4, 26), at8(2, 5)), (date(2019, 4, 12), at8(16, 4))],  # 27/4-1/5 and 15/4 are holidays
)
def test_overdue_moves_over_the_plans_holidays(deadline: date, overdue: datetime) -> None:
    assert rungs(deadline)["overdue"] == overdue


def _run(obligations: FakeObligationStore, when: datetime) -> list[Event]:
    before = {e.id for e in obligations.events()}
    scheduler.run_pass(plans=[VERSIONED], obligations=obligations, passes=FakePassStore(), clock=FixedClock(when))
    return [e for e in obligations.events() if e.id not in before]


def _synced() -> FakeObligationStore:
    obligations = FakeObligationStore()
    scheduler.sync_plan(PLAN, obligations=obligations, clock=FixedClock(datetime(2019, 3, 14, tzinfo=LOCAL_TZ)))
    return obligations


def _of(events: list[Event], agency: str = "H_CAUKE", period: str = "2019-H1") -> list[str]:
    return [e.data["level"] for e in events if e.subject == f"obligation:{agency}:{period}"]


def test_stepping_through_h1_emits_each_level_once_at_its_time() -> None:
    obligations = _synced()
    seen = []
    for step in [at8(2, 6), at8(3, 6), at8(3, 6), at8(6, 6), at8(7, 6), at8(10, 6), at8(11, 6), at8(14, 6),
                 at8(17, 6), at8(19, 6), at8(20, 6), at8(25, 6)]:  # fmt: skip
        new = _of(_run(obligations, step))
        seen += [(level, step) for level in new]
    assert seen == [
        ("reminder_7", at8(3, 6)),
        ("reminder_1", at8(7, 6)),
        ("overdue", at8(11, 6)),
        ("escalation_1", at8(17, 6)),
        ("escalation_2", at8(20, 6)),
    ]
    emitted = [e for e in obligations.events() if e.subject == "obligation:H_CAUKE:2019-H1" and "level" in e.data]
    for event in emitted:
        check_event(event)
    assert [e.data["days_overdue"] for e in emitted] == [0, 0, 1, 7, 10]
    assert [e.type for e in emitted] == ["obligation.reminder_due"] * 2 + ["obligation.overdue"] + [
        "obligation.escalated"
    ] * 2


def test_a_jump_emits_only_the_highest_level_and_records_the_rest_as_skipped() -> None:
    obligations = _synced()
    _run(obligations, at8(2, 6))
    events = [e for e in _run(obligations, at8(18, 6)) if e.subject == "obligation:H_CAUKE:2019-H1"]
    assert [(e.data["level"], e.data["skipped"]) for e in events] == [
        ("escalation_1", ["reminder_7", "reminder_1", "overdue"])
    ]
    (state,) = scheduler.list_obligations(
        Principal("x", "admin"), obligations=obligations, clock=FixedClock(at8(18, 6)),
        agency="H_CAUKE", period="2019-H1",
    ).items  # fmt: skip
    assert state.emitted == ("g1:escalation_1",)
    assert set(state.skipped) == {"g1:reminder_7", "g1:reminder_1", "g1:overdue"}
    assert _of(_run(obligations, at8(18, 6))) == []  # nothing twice


def _report(obligations: FakeObligationStore, agency: str, received: datetime) -> None:
    data = {
        "report_id": f"{agency}:2019-H1", "agency": agency, "period": "2019-H1", "revision": 1,
        "received_at": received.isoformat(), "on_time": None, "completeness": 1.0, "source": "api",
        "submitted_by": "x", "content": {},
    }  # fmt: skip
    event = Event(type="report.submitted", subject=f"report:{agency}:2019-H1", subject_version=1,
                  producer="intake", occurred_at=received, data=data)  # fmt: skip
    scheduler.on_report_submitted(event, obligations=obligations, plans=ONLY_PLAN)


def test_units_that_report_get_no_further_level() -> None:
    obligations = _synced()
    levels: dict[str, list[str]] = {"H_CAUKE": [], "H_TIEUCAN": []}
    for step in [at8(3, 6), at8(5, 6), at8(7, 6), at8(11, 6), at8(17, 6), at8(18, 6), at8(20, 6), at8(28, 6)]:
        if step == at8(5, 6):
            _report(obligations, "H_CAUKE", datetime(2019, 6, 5, 10, tzinfo=LOCAL_TZ))
        if step == at8(18, 6):
            _report(obligations, "H_TIEUCAN", datetime(2019, 6, 18, 10, tzinfo=LOCAL_TZ))
        new = _run(obligations, step)
        for agency in levels:
            levels[agency] += _of(new, agency)
    assert levels == {"H_CAUKE": ["reminder_7"], "H_TIEUCAN": ["reminder_7", "reminder_1", "overdue", "escalation_1"]}
    fulfilled = {e.data["agency"]: e.data["status"] for e in obligations.events("obligation.fulfilled")}
    assert fulfilled == {"H_CAUKE": "submitted_on_time", "H_TIEUCAN": "submitted_late"}


def test_the_pass_records_processed_up_to() -> None:
    passes = FakePassStore()
    scheduler.run_pass(plans=[VERSIONED], obligations=_synced(), passes=passes, clock=FixedClock(at8(3, 6)))
    assert passes.processed_up_to() == at8(3, 6)


SNV = Principal("chuyenvien@snv", "home_affairs")


def _extend(obligations: FakeObligationStore, agency: str, granted: datetime, day: date) -> None:
    officer = Principal(f"canbo@{agency}", "agency", agency)
    clock = FixedClock(granted)
    req = scheduler.request_extension(
        agency, "2019-H1", "Thiếu số liệu cơ sở", day, officer, obligations=obligations, clock=clock, request_id=agency
    )
    scheduler.decide_extension(req.id, True, "", None, SNV, obligations=obligations, clock=clock)


def test_an_extension_starts_a_new_generation_whose_past_levels_are_skipped() -> None:
    obligations = _synced()
    levels: dict[str, list[tuple[str, int, datetime]]] = {"H_CAUKE": [], "H_TIEUCAN": []}
    steps = [at8(3, 6), at8(7, 6), datetime(2019, 6, 7, 10, 0, tzinfo=LOCAL_TZ), at8(11, 6), at8(13, 6),
             datetime(2019, 6, 13, 10, 0, tzinfo=LOCAL_TZ), at8(14, 6), at8(17, 6), at8(19, 6), at8(20, 6), at8(24, 6),
             at8(30, 6)]  # fmt: skip
    for step in steps:
        if step.hour == 10 and step.day == 7:
            for agency in levels:
                _extend(obligations, agency, step, date(2019, 6, 14))
        if step.hour == 10 and step.day == 13:
            _report(obligations, "H_TIEUCAN", step)
        for event in _run(obligations, step):
            if event.data.get("level") and event.data["agency"] in levels and event.data["period"] == "2019-H1":
                levels[event.data["agency"]].append((event.data["level"], event.data["generation"], step))
    assert levels["H_CAUKE"] == [
        ("reminder_7", 1, at8(3, 6)),
        ("reminder_1", 1, at8(7, 6)),
        ("reminder_1", 2, at8(13, 6)),
        ("overdue", 2, at8(17, 6)),
        ("escalation_1", 2, at8(19, 6)),
        ("escalation_2", 2, at8(24, 6)),
    ]
    assert levels["H_TIEUCAN"][-1] == ("reminder_1", 2, at8(13, 6))
    g2_reminder = next(e for e in obligations.events() if e.id == "obligation:H_CAUKE:2019-H1:g2:reminder_1")
    assert g2_reminder.data["skipped"] == ["reminder_7"]  # g2's reminder_7 (07/06 08:00) predates the grant
    fulfilled = {e.data["agency"]: e.data for e in obligations.events("obligation.fulfilled")}
    assert fulfilled["H_TIEUCAN"]["status"] == "submitted_on_time" and fulfilled["H_TIEUCAN"]["generation"] == 2


def test_a_refused_request_changes_nothing_but_is_recorded() -> None:
    obligations = _synced()
    officer = Principal("canbo@cauke", "agency", "H_CAUKE")
    clock = FixedClock(at8(5, 6))
    req = scheduler.request_extension(
        "H_CAUKE", "2019-H1", "Lý do", date(2019, 6, 20), officer, obligations=obligations, clock=clock, request_id="r1"
    )
    decided = scheduler.decide_extension(
        req.id, False, "Không đủ căn cứ", None, SNV, obligations=obligations, clock=clock
    )
    assert (decided.decision, decided.decided_reason) == ("refused", "Không đủ căn cứ")
    assert [e.type for e in obligations.events("obligation.extension_refused")] == ["obligation.extension_refused"]
    assert _of(_run(obligations, at8(11, 6))) == ["overdue"]  # generation 1's ladder stands
    with pytest.raises(scheduler.ExtensionAlreadyDecided):
        scheduler.decide_extension(req.id, True, "", None, SNV, obligations=obligations, clock=clock)


def test_a_waived_obligation_gets_no_further_level() -> None:
    obligations = _synced()
    _run(obligations, at8(3, 6))
    scheduler.waive_obligation(
        "H_CAUKE", "2019-H1", "Đơn vị sáp nhập", SNV, obligations=obligations, clock=FixedClock(at8(4, 6))
    )
    later = [_of(_run(obligations, step)) for step in (at8(7, 6), at8(11, 6), at8(20, 6))]
    assert later == [[], [], []]
    (state,) = scheduler.list_obligations(SNV, obligations=obligations, clock=FixedClock(at8(20, 6)),
                                          agency="H_CAUKE", period="2019-H1").items  # fmt: skip
    assert state.status == "waived"
    with pytest.raises(scheduler.ObligationEnded):
        scheduler.waive_obligation(
            "H_CAUKE", "2019-H1", "lại", SNV, obligations=obligations, clock=FixedClock(at8(21, 6))
        )


def test_a_unit_cannot_ask_for_another_units_extension() -> None:
    with pytest.raises(scheduler.NotYourObligation):
        scheduler.request_extension(
            "H_TRACU", "2019-H1", "x", date(2019, 6, 20), Principal("a", "agency", "H_CAUKE"),
            obligations=_synced(), clock=FixedClock(at8(5, 6)), request_id="x",
        )  # fmt: skip


def test_the_pass_reads_only_obligations_with_an_agenda_entry_in_its_window() -> None:
    obligations, passes = _synced(), FakePassStore()
    run = functools.partial(scheduler.run_pass, plans=[VERSIONED], obligations=obligations, passes=passes)
    run(clock=FixedClock(at8(3, 6)))  # the first pass looks at every obligation (sync's entries)
    h1 = {key for key in obligations.obligations if key.endswith(":2019-H1")}
    assert {obligations.next_action(key, at8(3, 6)) for key in h1} == {at8(7, 6)}  # reminder_1 on Friday 07/06
    assert obligations.due(at8(3, 6), datetime(2019, 6, 6, 23, 59, tzinfo=LOCAL_TZ)) == []
    _report(obligations, "H_CAUKE", datetime(2019, 6, 5, 10, tzinfo=LOCAL_TZ))
    run(clock=FixedClock(at8(7, 6)))
    assert obligations.next_action("H_CAUKE:2019-H1", at8(7, 6)) is None  # fulfilled: nothing more to do
    assert obligations.next_action("H_TIEUCAN:2019-H1", at8(7, 6)) == at8(11, 6)
    assert _of(_run(obligations, at8(7, 6)), "H_TIEUCAN") == []


def test_a_granted_extension_wakes_the_obligation_for_its_new_ladder() -> None:
    obligations, passes = _synced(), FakePassStore()
    run = functools.partial(scheduler.run_pass, plans=[VERSIONED], obligations=obligations, passes=passes)
    run(clock=FixedClock(at8(3, 6)))
    assert obligations.next_action("H_CAUKE:2019-H1", at8(3, 6)) == at8(7, 6)
    granted = datetime(2019, 6, 3, 10, tzinfo=LOCAL_TZ)
    _extend(obligations, "H_CAUKE", granted, date(2019, 6, 11))
    assert obligations.next_action("H_CAUKE:2019-H1", at8(3, 6)) == granted + scheduler.WAKE_AFTER
    before = {e.id for e in obligations.events()}
    run(clock=FixedClock(datetime(2019, 6, 4, 8, 0, tzinfo=LOCAL_TZ)))
    assert _of([e for e in obligations.events() if e.id not in before]) == ["reminder_7"]  # g2's, on 04/06
    assert obligations.next_action("H_CAUKE:2019-H1", at8(4, 6)) == at8(7, 6)  # the old entry stands: harmless


@pytest.mark.parametrize("day", [date(2019, 6, 10), date(2019, 6, 1)])
def test_an_extension_must_move_the_deadline_later(day: date) -> None:
    obligations = _synced()
    officer = Principal("canbo@cauke", "agency", "H_CAUKE")
    with pytest.raises(scheduler.ExtensionNotLater) as err:
        scheduler.request_extension(
            "H_CAUKE", "2019-H1", "Lý do", day, officer, obligations=obligations, clock=FixedClock(at8(5, 6)),
            request_id="r1",
        )  # fmt: skip
    assert err.value.field == "proposed_date" and "10/06/2019" in err.value.message
    assert obligations.events("obligation.extension_requested") == []


def _ceasing(code: str, until: date, successors: tuple[str, ...] = ()) -> Plan:
    units = tuple(
        dataclasses.replace(u, valid_until=until, successors=successors) if u.code == code else u for u in PLAN.units
    )
    return dataclasses.replace(PLAN, units=units)


def test_a_ceasing_units_later_obligations_close_at_its_valid_until_and_never_escalate() -> None:
    plan = _ceasing("H_CAUKE", date(2019, 6, 5), ("H_TRACU",))
    obligations = FakeObligationStore()
    scheduler.sync_plan(plan, obligations=obligations, clock=FixedClock(datetime(2019, 3, 14, tzinfo=LOCAL_TZ)))
    periods = sorted(ob.period for ob in obligations.all() if ob.agency == "H_CAUKE")
    assert periods == ["2019-FY", "2019-H1", "2019-STAFF"]  # Q3 opens 15/06, after it ceased
    emitted: list[Event] = []
    for step in (at8(3, 6), at8(4, 6), datetime(2019, 6, 5, 0, 0, tzinfo=LOCAL_TZ), at8(7, 6), at8(30, 12)):
        before = {e.id for e in obligations.events()}
        scheduler.run_pass(
            plans=[VersionedPlan(plan)], obligations=obligations, passes=FakePassStore(), clock=FixedClock(step)
        )
        emitted += [
            e
            for e in obligations.events()
            if e.id not in before and "H_CAUKE" in e.subject and "STAFF" not in e.subject
        ]
    assert [(e.type, e.subject, e.occurred_at) for e in emitted] == [
        ("obligation.reminder_due", "obligation:H_CAUKE:2019-H1", at8(3, 6)),
        ("obligation.closed", "obligation:H_CAUKE:2019-FY", datetime(2019, 6, 5, tzinfo=LOCAL_TZ)),
        ("obligation.closed", "obligation:H_CAUKE:2019-H1", datetime(2019, 6, 5, tzinfo=LOCAL_TZ)),
        ("unit.changed", "unit:H_CAUKE", datetime(2019, 6, 5, tzinfo=LOCAL_TZ)),
    ]
    for event in emitted:
        check_event(event)
    tracu = plan.unit("H_TRACU")
    assert tracu is not None and tracu.name in emitted[1].data["reason"] and "05/06/2019" in emitted[1].data["reason"]
    assert emitted[3].data["successors"] == ["H_TRACU"]
    clock = FixedClock(at8(30, 12))
    states = scheduler.list_obligations(SNV, obligations=obligations, clock=clock, agency="H_CAUKE").items
    assert {s.obligation.period: s.status for s in states} == {
        "2019-STAFF": "overdue",
        "2019-H1": "closed_by_reorganisation",
        "2019-FY": "closed_by_reorganisation",
    }
    assert not plan.is_expected("H_CAUKE", "2019-H1") and PLAN.is_expected("H_CAUKE", "2019-H1")


def test_a_request_and_its_decision_at_the_same_instant_still_grow_the_version() -> None:
    obligations = _synced()
    _extend(obligations, "H_CAUKE", datetime(2019, 6, 7, 10, tzinfo=LOCAL_TZ), date(2019, 6, 14))
    versions = [
        e.subject_version
        for e in obligations.events()
        if e.subject == "obligation:H_CAUKE:2019-H1" and e.type.startswith("obligation.exten")
    ]
    assert len(versions) == 2 and versions[0] < versions[1]
