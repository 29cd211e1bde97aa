"""Scheduler's domain: the plan's obligations, their derived state and the authoritative on-time verdict."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services.scheduler.domain import Transition, derive_state, obligations_for_plan, verdict
from shared.plan import load_plan
from shared.timerules import LOCAL_TZ

PLAN = load_plan(Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019")
OBLIGATIONS = obligations_for_plan(PLAN)
OB = next(o for o in OBLIGATIONS if o.agency == "H_CAUKE" and o.period == "2019-H1")
DUE = datetime(2019, 6, 11, 0, 0, tzinfo=LOCAL_TZ)
NEW_DUE = datetime(2019, 6, 21, 0, 0, tzinfo=LOCAL_TZ)
GRANTED = datetime(2019, 6, 12, 9, 0, tzinfo=LOCAL_TZ)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def transition(event_type: str, version: int, **data: object) -> Transition:
    return Transition(
        id=f"{OB.subject}:{event_type}:{version}",
        type=event_type,
        subject_version=version,
        occurred_at=datetime(2019, 6, 1, tzinfo=UTC),
        data={"agency": OB.agency, "period": OB.period, **data},
    )


def extended(version: int = 2, *, due_before: datetime = NEW_DUE, effective_from: datetime = GRANTED) -> Transition:
    return transition(
        "obligation.extended",
        version,
        generation=2,
        due_before=due_before.isoformat(),
        effective_from=effective_from.isoformat(),
    )


EARLY = datetime(2019, 6, 5, tzinfo=LOCAL_TZ)


def fulfilled(version: int, status: str = "submitted_on_time", received_at: datetime = EARLY) -> Transition:
    return transition(
        "obligation.fulfilled",
        version,
        status=status,
        received_at=received_at.isoformat(),
        due_before=DUE.isoformat(),
        generation=1,
        days_late=0,
        report_id="H_CAUKE:2019-H1",
    )


def test_plan_creates_29_times_4_obligations():
    assert len(OBLIGATIONS) == 29 * 4
    assert len({o.key for o in OBLIGATIONS}) == 29 * 4


def test_each_reporting_unit_owes_staff_h1_q3_and_fy():
    per_period = Counter(o.period for o in OBLIGATIONS)
    assert per_period == {"2019-STAFF": 29, "2019-H1": 29, "2019-Q3": 29, "2019-FY": 29}


def test_no_obligation_for_non_reporting_units_or_the_first_quarter():
    agencies = {o.agency for o in OBLIGATIONS}
    assert agencies == {u.code for u in PLAN.units if u.reports}
    assert not agencies & {"UBND_TINH", "BDV_TU", "BAO_TRAVINH", "MTTQ"}
    assert not {o.period for o in OBLIGATIONS} & {"2019-Q1", "2019-Q2", "2019-Q4"}


def test_obligation_carries_the_period_deadline_and_the_policy_of_the_plan():
    assert OB.due_before == DUE
    assert OB.deadline_day == date(2019, 6, 10)
    assert OB.data_window == (date(2018, 12, 15), date(2019, 6, 14))
    assert OB.unit_order == 24
    assert [level["level"] for level in OB.policy] == [
        "reminder_7",
        "reminder_1",
        "overdue",
        "escalation_1",
        "escalation_2",
    ]
    assert OB.subject == "obligation:H_CAUKE:2019-H1"


def test_obligation_is_pending_before_due_before():
    state = derive_state(OB, [], DUE - timedelta(microseconds=1))
    assert state.status == "pending"
    assert state.generation == 1
    assert state.due_before == DUE
    assert state.version == 0


def test_obligation_is_overdue_from_due_before_on():
    assert derive_state(OB, [], DUE).status == "overdue"
    assert derive_state(OB, [], DUE + timedelta(days=30)).status == "overdue"


def test_extension_keeps_the_obligation_pending_until_the_new_deadline():
    state = derive_state(OB, [extended()], local(2019, 6, 15))
    assert (state.status, state.generation, state.due_before) == ("pending", 2, NEW_DUE)
    assert derive_state(OB, [extended()], NEW_DUE).status == "overdue"


def test_fulfilled_status_is_kept_with_its_received_at():
    state = derive_state(OB, [fulfilled(2)], DUE + timedelta(days=3))
    assert state.status == "submitted_on_time"
    assert state.received_at == local(2019, 6, 5)
    assert state.days_late == 0
    assert state.version == 2


def test_fulfilled_status_sticks_after_a_later_waive():
    transitions = [fulfilled(2), transition("obligation.waived", 3, reason="Miễn")]
    state = derive_state(OB, transitions, DUE + timedelta(days=3))
    assert state.status == "submitted_on_time"
    assert state.version == 3


def test_the_first_final_status_wins_whatever_order_transitions_are_listed_in():
    transitions = [fulfilled(3, status="submitted_late"), transition("obligation.waived", 2, reason="Miễn")]
    assert derive_state(OB, transitions, DUE).status == "waived"


def test_closed_obligation_is_not_overdue():
    closed = transition("obligation.closed", 2, status="closed_by_reorganisation", reason="Giải thể")
    assert derive_state(OB, [closed], DUE + timedelta(days=400)).status == "closed_by_reorganisation"


def test_emitted_and_skipped_levels_are_recorded_per_generation():
    overdue = transition(
        "obligation.overdue",
        2,
        level="overdue",
        generation=1,
        due_before=DUE.isoformat(),
        days_overdue=1,
        skipped=["reminder_7", "reminder_1"],
    )
    state = derive_state(OB, [overdue], DUE + timedelta(days=1))
    assert state.emitted == ("g1:overdue",)
    assert state.skipped == ("g1:reminder_7", "g1:reminder_1")


def test_verdict_on_the_deadline_day_is_on_time():
    status, late, in_force = verdict(OB, [], local(2019, 6, 10, 23, 59, 59))
    assert (status, late, in_force.generation) == ("submitted_on_time", 0, 1)


def test_verdict_after_the_deadline_is_late_by_local_days():
    status, late, _ = verdict(OB, [], local(2019, 6, 13, 8, 0))
    assert (status, late) == ("submitted_late", 3)


def test_verdict_uses_the_extension_in_force_at_received_at():
    status, late, in_force = verdict(OB, [extended()], local(2019, 6, 15, 10, 0))
    assert (status, late) == ("submitted_on_time", 0)
    assert (in_force.generation, in_force.due_before) == (2, NEW_DUE)


def test_verdict_ignores_an_extension_granted_after_received_at():
    status, late, in_force = verdict(OB, [extended()], local(2019, 6, 11, 8, 0))
    assert (status, late, in_force.generation) == ("submitted_late", 1, 1)


def test_verdict_after_the_extended_deadline_counts_days_from_the_new_deadline_day():
    status, late, in_force = verdict(OB, [extended()], local(2019, 6, 22, 8, 0))
    assert (status, late, in_force.generation) == ("submitted_late", 2, 2)
